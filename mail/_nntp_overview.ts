/**
 * The overview database's wire forms (RFC 3977 §8.3, §8.4): the fields
 * listed by `LIST OVERVIEW.FMT` and the tab-separated lines of `OVER` /
 * `XOVER`, read by the client and written by the server.
 *
 * @module
 */
import { ProtocolError } from "../net/protocol_error.ts";
import type { NntpOverview, NntpOverviewField } from "./_nntp_types.ts";

/** The seven fields every overview line starts with, in order (RFC 3977 §8.4). */
export const DEFAULT_OVERVIEW_FORMAT: readonly NntpOverviewField[] = Object.freeze([
  { name: "Subject", metadata: false, full: false },
  { name: "From", metadata: false, full: false },
  { name: "Date", metadata: false, full: false },
  { name: "Message-ID", metadata: false, full: false },
  { name: "References", metadata: false, full: false },
  { name: ":bytes", metadata: true, full: false },
  { name: ":lines", metadata: true, full: false },
]);

/** What the server lists for `LIST OVERVIEW.FMT`: the seven and `Xref:full`. */
export const SERVER_OVERVIEW_FORMAT: readonly string[] = Object.freeze([
  "Subject:",
  "From:",
  "Date:",
  "Message-ID:",
  "References:",
  ":bytes",
  ":lines",
  "Xref:full",
]);

// Before RFC 3977, servers (INN among them) list "Bytes:" and "Lines:".
const LEGACY: Record<string, string> = { "bytes": ":bytes", "lines": ":lines" };

/**
 * Parses the lines of a `LIST OVERVIEW.FMT` response. The first seven
 * must be the standard fields (under their RFC 3977 or legacy names).
 *
 * @throws {ProtocolError} `"BAD_OVERVIEW_FORMAT"` when they are not.
 */
export function parseOverviewFormat(lines: readonly string[]): NntpOverviewField[] {
  const fields: NntpOverviewField[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "") continue;
    let field: NntpOverviewField;
    if (line.startsWith(":")) {
      const colon = line.indexOf(":", 1);
      const name = colon < 0 ? line : line.slice(0, colon);
      field = { name: name.toLowerCase(), metadata: true, full: false };
    } else {
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      const suffix = colon < 0 ? "" : line.slice(colon + 1).toLowerCase();
      const legacy = LEGACY[name.toLowerCase()];
      field = legacy !== undefined && fields.length < 7
        ? { name: legacy, metadata: true, full: false }
        : { name, metadata: false, full: suffix === "full" };
    }
    fields.push(field);
  }
  if (fields.length < DEFAULT_OVERVIEW_FORMAT.length) {
    throw new ProtocolError(
      "BAD_OVERVIEW_FORMAT",
      `Cannot read LIST OVERVIEW.FMT: ${fields.length} fields, fewer than the standard 7`,
    );
  }
  DEFAULT_OVERVIEW_FORMAT.forEach((want, i) => {
    const got = fields[i]!;
    if (got.name.toLowerCase() !== want.name.toLowerCase()) {
      throw new ProtocolError(
        "BAD_OVERVIEW_FORMAT",
        `Cannot read LIST OVERVIEW.FMT: field ${i + 1} is ${
          JSON.stringify(got.name)
        }, not ${want.name}`,
      );
    }
    fields[i] = { ...want };
  });
  return fields;
}

/** A run of 1 to 16 ASCII digits as a number, else `null` (no regex: this is per field). */
function digits(text: string): number | null {
  const length = text.length;
  if (length === 0 || length > 16) return null;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  return Number(text);
}

/** Whether `text` starts with the lower-case ASCII `prefix`, in any case. */
function startsWithIgnoringCase(text: string, prefix: string): boolean {
  if (text.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

interface CompiledField {
  key: string;
  full: boolean;
  prefix: string;
}

// The extra fields' keys and `Name:` prefixes, worked out once per format.
const compiled = new WeakMap<readonly NntpOverviewField[], CompiledField[]>();

function compile(format: readonly NntpOverviewField[]): CompiledField[] {
  let fields = compiled.get(format);
  if (fields === undefined) {
    fields = format.slice(7).map((f) => ({
      key: f.name.toLowerCase(),
      full: f.full,
      prefix: f.name.toLowerCase() + ":",
    }));
    compiled.set(format, fields);
  }
  return fields;
}

/**
 * Parses one `OVER` line with the server's format: the article number,
 * the seven standard fields, then the extra ones (a `:full` header field
 * carries its name, which is removed).
 *
 * @throws {ProtocolError} `"BAD_OVERVIEW"` when the article number is not
 *   a number.
 */
export function parseOverviewLine(
  line: string,
  format: readonly NntpOverviewField[],
): NntpOverview {
  const fields = line.split("\t");
  const number = digits(fields[0]!) ?? digits(fields[0]!.trim());
  if (number === null) {
    const shown = JSON.stringify(line.length > 60 ? line.slice(0, 60) + "..." : line);
    throw new ProtocolError(
      "BAD_OVERVIEW",
      `Cannot read overview: line ${shown} does not start with an article number`,
    );
  }
  const extra = new Map<string, string>();
  if (fields.length > 8) {
    const extras = compile(format);
    for (let i = 0; i < extras.length; i++) {
      let value = fields[i + 8];
      if (value === undefined) break;
      const field = extras[i]!;
      if (field.full) {
        const prefix = field.prefix;
        if (startsWithIgnoringCase(value, prefix)) {
          let at = prefix.length;
          while (value.charCodeAt(at) === 32 || value.charCodeAt(at) === 9) at++;
          value = value.slice(at);
        }
      }
      extra.set(field.key, value);
    }
  }
  return {
    number,
    subject: fields[1] ?? "",
    from: fields[2] ?? "",
    date: fields[3] ?? "",
    messageId: fields[4] ?? "",
    references: fields[5] ?? "",
    bytes: digits(fields[6] ?? ""),
    lines: digits(fields[7] ?? ""),
    extra,
  };
}

/**
 * Makes a header value fit in an overview field (RFC 3977 §8.3): folding
 * removed, and TAB, CR, LF and NUL replaced by spaces.
 */
export function overviewValue(value: string): string {
  // deno-lint-ignore no-control-regex
  return value.replace(/\r?\n(?=[ \t])/g, "").replace(/[\t\r\n\x00]/g, " ");
}
