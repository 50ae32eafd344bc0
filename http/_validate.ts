/**
 * Checks on outgoing HTTP text: everything a caller hands us is validated
 * before a byte is written, so no value can smuggle a second message.
 *
 * @module
 */

const TOKEN_REGEXP = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TARGET_REGEXP = /^[\x21-\x7e]+$/;
// deno-lint-ignore no-control-regex
const BAD_VALUE_REGEXP = /[\0-\x08\x0a-\x1f\x7f]|[^\0-\xff]/;
const REASON_REGEXP = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Throws unless `method` is a token. */
export function assertMethod(method: string): void {
  if (!TOKEN_REGEXP.test(method)) {
    throw new TypeError(`Cannot send request: method ${JSON.stringify(method)} is not a token`);
  }
}

/** Throws unless `target` is visible ASCII without spaces. */
export function assertTarget(target: string): void {
  if (!TARGET_REGEXP.test(target)) {
    throw new TypeError(
      `Cannot send request: target ${JSON.stringify(target)} holds spaces, controls or non-ASCII`,
    );
  }
}

/** Throws unless `name` is a token. */
export function assertFieldName(name: string): void {
  if (!TOKEN_REGEXP.test(name)) {
    throw new TypeError(`Cannot send header: name ${JSON.stringify(name)} is not a token`);
  }
}

/** Throws if `value` holds CR, LF, NUL, another control but HTAB, or a char above U+00FF. */
export function assertFieldValue(name: string, value: string): void {
  if (BAD_VALUE_REGEXP.test(value)) {
    throw new TypeError(
      `Cannot send header ${JSON.stringify(name)}: value holds CR, LF, NUL or another control`,
    );
  }
}

/** Throws unless `text` is a valid reason phrase. */
export function assertReason(text: string): void {
  if (!REASON_REGEXP.test(text)) {
    throw new TypeError(`Cannot send status: reason ${JSON.stringify(text)} holds controls`);
  }
}

/** Trims spaces and tabs from both ends, as `Headers` does on input. */
export function trimOws(value: string): string {
  let s = 0;
  let e = value.length;
  while (s < e && (value.charCodeAt(s) === 32 || value.charCodeAt(s) === 9)) s++;
  while (e > s && (value.charCodeAt(e - 1) === 32 || value.charCodeAt(e - 1) === 9)) e--;
  return s === 0 && e === value.length ? value : value.slice(s, e);
}

/**
 * Header fields from any `HeadersInit`-like input, validated, as name/value
 * pairs in order (a `Headers` object yields its normalized entries).
 */
export function fieldPairs(
  init: HeadersInit | readonly { name: string; value: string }[] | undefined,
): [string, string][] {
  const out: [string, string][] = [];
  if (init === undefined || init === null) return out;
  if (init instanceof Headers) {
    init.forEach((value, name) => out.push([name, value]));
    return out;
  }
  if (Array.isArray(init)) {
    for (const item of init as readonly unknown[]) {
      if (Array.isArray(item)) {
        if (item.length !== 2) {
          throw new TypeError("Cannot send header: each pair needs a name and a value");
        }
        out.push(check(String(item[0]), String(item[1])));
      } else {
        const field = item as { name: string; value: string };
        out.push(check(String(field.name), String(field.value)));
      }
    }
    return out;
  }
  for (const [name, value] of Object.entries(init as Record<string, string>)) {
    out.push(check(name, String(value)));
  }
  return out;
}

function check(name: string, value: string): [string, string] {
  assertFieldName(name);
  const trimmed = trimOws(value);
  assertFieldValue(name, trimmed);
  return [name, trimmed];
}
