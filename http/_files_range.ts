/**
 * `Range` and conditional-request parsing for the static file server
 * (RFC 9110 §13 and §14).
 *
 * @module
 */

/** One satisfiable byte range, both ends inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The outcome of reading a `Range` header against a representation of
 * `size` bytes: `"ignore"` (absent, another unit, an empty set, too many
 * ranges or overlap amplification: send the whole, 200), `"unsatisfiable"`
 * (invalid or unsatisfiable: 416) or the ranges (206).
 */
export type RangeResult =
  | { kind: "ignore" }
  | { kind: "unsatisfiable" }
  | { kind: "ranges"; ranges: ByteRange[] };

const IGNORE: RangeResult = { kind: "ignore" };

function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function trimOws(text: string): string {
  let s = 0;
  let e = text.length;
  while (s < e && (text.charCodeAt(s) === 32 || text.charCodeAt(s) === 9)) s++;
  while (e > s && (text.charCodeAt(e - 1) === 32 || text.charCodeAt(e - 1) === 9)) e--;
  return text.slice(s, e);
}

/**
 * Parses a `Range` header (RFC 9110 §14.1.2). More than `maxRanges` ranges,
 * or ranges that together ask for more bytes than the file has (overlap
 * amplification), make the header ignored, as Go's file server does.
 */
export function parseRange(header: string | null, size: number, maxRanges: number): RangeResult {
  if (header === null) return IGNORE;
  const eq = header.indexOf("=");
  if (eq < 0 || trimOws(header.slice(0, eq)).toLowerCase() !== "bytes") return IGNORE;
  const specs = header.slice(eq + 1).split(",");
  // RFC 9110 §14.2: an invalid bytes range-set is answered like an
  // unsatisfiable one (416), as nginx and Go do.
  const INVALID: RangeResult = { kind: "unsatisfiable" };
  const ranges: ByteRange[] = [];
  let total = 0;
  let seen = 0;
  for (const raw of specs) {
    const spec = trimOws(raw);
    if (spec === "") continue; // empty list elements are allowed (RFC 9110 §5.6.1)
    if (++seen > maxRanges) return IGNORE;
    const dash = spec.indexOf("-");
    if (dash < 0) return INVALID;
    const first = spec.slice(0, dash);
    const last = spec.slice(dash + 1);
    if (first === "") {
      if (!isDigits(last)) return INVALID;
      const suffix = Number(last);
      if (suffix === 0 || size === 0) continue; // unsatisfiable
      ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
    } else {
      if (!isDigits(first) || (last !== "" && !isDigits(last))) return INVALID;
      const start = Number(first);
      const end = last === "" ? Infinity : Number(last);
      if (end < start) return INVALID;
      if (start >= size) continue; // unsatisfiable
      ranges.push({ start, end: Math.min(end, size - 1) });
    }
    total += ranges[ranges.length - 1]!.end - ranges[ranges.length - 1]!.start + 1;
  }
  if (seen === 0) return IGNORE;
  if (ranges.length === 0) return { kind: "unsatisfiable" };
  if (ranges.length > 1 && total > size) return IGNORE;
  return { kind: "ranges", ranges };
}

/** Splits an entity-tag list (`If-Match`, `If-None-Match`) into tags; `*` stays `*`. */
export function parseEtagList(header: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = header.length;
  while (i < n) {
    while (i < n && (header[i] === " " || header[i] === "\t" || header[i] === ",")) i++;
    if (i >= n) break;
    if (header[i] === "*") {
      out.push("*");
      i++;
      continue;
    }
    const start = i;
    if (header.startsWith("W/", i)) i += 2;
    if (header[i] !== '"') {
      // Not an entity-tag: skip to the next comma.
      while (i < n && header[i] !== ",") i++;
      continue;
    }
    const close = header.indexOf('"', i + 1);
    if (close < 0) break;
    out.push(header.slice(start, close + 1));
    i = close + 1;
  }
  return out;
}

function opaque(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}

/** RFC 9110 §8.8.3.2 strong comparison: both strong and identical. */
export function strongMatch(a: string, b: string): boolean {
  return !a.startsWith("W/") && !b.startsWith("W/") && a === b;
}

/** RFC 9110 §8.8.3.2 weak comparison: opaque tags identical. */
export function weakMatch(a: string, b: string): boolean {
  return opaque(a) === opaque(b);
}

/** Parses an HTTP-date (RFC 9110 §5.6.7); NaN when invalid. Milliseconds since the epoch. */
export function parseHttpDate(text: string | null): number {
  if (text === null || text.length > 64) return NaN;
  const s = text.trim();
  let time: number;
  if (/^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/.test(s)) {
    time = Date.parse(s + " GMT"); // asctime-date is in UTC
  } else if (/^[A-Za-z]{3,9}, \d\d[ -][A-Za-z]{3}[ -]\d{2,4} \d\d:\d\d:\d\d GMT$/.test(s)) {
    time = Date.parse(s); // IMF-fixdate and rfc850-date
  } else {
    return NaN;
  }
  return Number.isFinite(time) ? time : NaN;
}
