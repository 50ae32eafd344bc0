/**
 * The POP3 wire pieces the client needs (RFC 1939 §3, RFC 2449): status
 * lines (`+OK`, `-ERR`, `+ ` challenges), multi-line responses read under
 * caps, capability lists and the APOP timestamp of a greeting.
 *
 * @module
 */
import type { BufferedReader } from "../net/buffered_reader.ts";
import { ProtocolError } from "../net/protocol_error.ts";

/** One status line. */
export type Pop3StatusLine =
  | { kind: "ok"; text: string }
  | { kind: "err"; text: string }
  | { kind: "challenge"; text: string };

/**
 * Parses a status line. `+OK` and `-ERR` are case-sensitive (RFC 1939 §3
 * says they are always sent in upper case); a line of `+` alone or `+ `
 * followed by base64 is a SASL challenge (RFC 5034 §4).
 */
export function parsePop3Status(line: string): Pop3StatusLine {
  if (line.startsWith("+OK") && (line.length === 3 || line[3] === " " || line[3] === "\t")) {
    return { kind: "ok", text: line.slice(4) };
  }
  if (line.startsWith("-ERR") && (line.length === 4 || line[4] === " " || line[4] === "\t")) {
    return { kind: "err", text: line.slice(5) };
  }
  if (line === "+" || line.startsWith("+ ")) return { kind: "challenge", text: line.slice(2) };
  throw new ProtocolError(
    "BAD_REPLY",
    `Cannot read POP3 reply: ${describe(line)} is neither +OK nor -ERR`,
  );
}

/** Reads one status line under the line cap. */
export async function readPop3Status(
  reader: BufferedReader,
  maxLineLength: number,
): Promise<Pop3StatusLine> {
  const line = await reader.readLine({ maxLength: maxLineLength });
  if (line === null) {
    throw new ProtocolError(
      "UNEXPECTED_EOF",
      "Cannot read POP3 reply: the server closed the connection",
    );
  }
  if (line.includes("\0")) {
    throw new ProtocolError("BAD_REPLY", "Cannot read POP3 reply: it holds NUL");
  }
  return parsePop3Status(line);
}

/**
 * Reads the lines of a multi-line response up to the `.` line, unstuffed
 * (RFC 1939 §3), at most `maxSize` bytes in all.
 */
export async function readPop3Lines(
  reader: BufferedReader,
  maxLineLength: number,
  maxSize: number,
): Promise<string[]> {
  const lines: string[] = [];
  let size = 0;
  for (;;) {
    const line = await reader.readLine({ maxLength: maxLineLength });
    if (line === null) {
      throw new ProtocolError(
        "UNEXPECTED_EOF",
        "Cannot read POP3 listing: the server closed the connection before the dot line",
      );
    }
    if (line === ".") return lines;
    size += line.length + 2;
    if (size > maxSize) {
      throw new ProtocolError(
        "LISTING_TOO_LARGE",
        `Cannot read POP3 listing: it exceeds ${maxSize} bytes`,
      );
    }
    lines.push(line.startsWith(".") ? line.slice(1) : line);
  }
}

/** Parses CAPA lines (RFC 2449 §5) into upper-cased names and their arguments. */
export function parsePop3Capabilities(lines: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of lines) {
    const [name, ...args] = line.trim().split(/\s+/);
    if (name === undefined || name === "") continue;
    const key = name.toUpperCase();
    if (!out.has(key)) out.set(key, args);
  }
  return out;
}

/** The APOP timestamp (`<1896.697170952@dbc.mtview.ca.us>`) in a greeting, or null. */
export function apopTimestamp(greeting: string): string | null {
  const match = /<[!-;=?-~]*@[!-;=?-~]*>/.exec(greeting) ?? /<[!-;=?-~]+>/.exec(greeting);
  return match === null ? null : match[0];
}

const NUMBER_REGEXP = /^[1-9]\d{0,15}$/;

/** A message number or size field of a scan listing, checked. */
export function parsePop3Number(text: string | undefined, what: string): number {
  if (text !== undefined && (NUMBER_REGEXP.test(text) || text === "0")) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
  }
  throw new ProtocolError(
    "BAD_REPLY",
    `Cannot read POP3 ${what}: ${describe(text ?? "")} is not a number`,
  );
}

/** A short, printable rendering of a peer's text for error messages. */
export function describe(text: string): string {
  // JSON escapes the C0 controls; DEL is the one left.
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text).replaceAll(
    "\x7f",
    "?",
  );
}
