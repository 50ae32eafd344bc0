import type { BufferedReader, LineEnding } from "./buffered_reader.ts";
import { ProtocolError } from "./protocol_error.ts";

/** One header field as it came off the wire, in order. */
export interface HeaderField {
  /** The field name as sent (case preserved). */
  name: string;
  /** The value, unfolded, without leading and trailing spaces and tabs. */
  value: string;
}

/** Options for {@linkcode readHeaderBlock}. */
export interface ReadHeaderBlockOptions {
  /**
   * The most bytes in the whole block, line ends included.
   *
   * @default {65536}
   */
  maxBytes?: number;
  /**
   * The most fields in the block.
   *
   * @default {1000}
   */
  maxFields?: number;
  /**
   * What to do with a folded line (a line starting with space or tab):
   * `"unfold"` joins it to the field before (RFC 5322 §2.2.3); `"reject"`
   * throws `"OBS_FOLD"`, as an HTTP server must (RFC 9112 §5.2).
   *
   * @default {"unfold"}
   */
  folding?: "unfold" | "reject";
  /**
   * Which characters a field name may hold: `"token"` is HTTP's tchar set
   * (RFC 9110 §5.1); `"ftext"` is any printable ASCII but the colon
   * (RFC 5322 §3.6.8).
   *
   * @default {"ftext"}
   */
  nameSyntax?: "token" | "ftext";
  /**
   * How to turn value bytes into text: `"utf-8"` (RFC 6532 mail) or
   * `"latin1"` (each byte one character, as `Headers` wants).
   *
   * @default {"utf-8"}
   */
  decode?: "utf-8" | "latin1";
  /**
   * The accepted line end.
   *
   * @default {"any"}
   */
  lineEnding?: LineEnding;
  /**
   * Whether the end of the stream may end the block instead of an empty line
   * (a message that has no body).
   *
   * @default {false}
   */
  allowEof?: boolean;
}

const TOKEN_NAME_REGEXP = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FTEXT_NAME_REGEXP = /^[\x21-\x39\x3b-\x7e]+$/;
const BAD_VALUE_REGEXP = /[\0\r\n]/;
// Keep a BOM, so that a name starting with one is rejected, not read as the
// name without it.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Reads a header block (HTTP head fields, an RFC 5322 message header, an
 * NNTP article head) up to and including its empty line, within limits.
 * The one header reader for every protocol in inetkit.
 *
 * @param reader The reader positioned at the first field line.
 * @param options The limits and the syntax rules.
 * @returns The fields, in order.
 * @throws {ProtocolError} `"HEADER_TOO_LARGE"`, `"TOO_MANY_FIELDS"`,
 *   `"BAD_HEADER"` (no colon, bad name, white space before the colon, NUL or
 *   bare CR), `"OBS_FOLD"`, `"LINE_TOO_LONG"` or `"UNEXPECTED_EOF"`.
 *
 * @example Reading a folded mail header
 * ```ts
 * import { BufferedReader, readHeaderBlock } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const text = "Subject: a long\r\n  subject\r\nFrom: a@example.test\r\n\r\nbody\r\n";
 * const reader = new BufferedReader(ReadableStream.from([new TextEncoder().encode(text)]));
 * assertEquals(await readHeaderBlock(reader), [
 *   { name: "Subject", value: "a long  subject" },
 *   { name: "From", value: "a@example.test" },
 * ]);
 * assertEquals(await reader.readLine(), "body");
 * ```
 */
export async function readHeaderBlock(
  reader: BufferedReader,
  options?: ReadHeaderBlockOptions,
): Promise<HeaderField[]> {
  options ??= {};
  const maxBytes = options.maxBytes ?? 65536;
  const maxFields = options.maxFields ?? 1000;
  const nameRegexp = options.nameSyntax === "token" ? TOKEN_NAME_REGEXP : FTEXT_NAME_REGEXP;
  const decode = options.decode === "latin1" ? decodeLatin1 : (b: Uint8Array) => utf8.decode(b);
  const fields: HeaderField[] = [];
  let total = 0;
  let folded = false;
  for (;;) {
    const remaining = maxBytes - total;
    let bytes: Uint8Array | null;
    try {
      bytes = await reader.readLineBytes({
        maxLength: Math.max(0, remaining - 2),
        lineEnding: options.lineEnding,
      });
    } catch (error) {
      if (error instanceof ProtocolError && error.code === "LINE_TOO_LONG") {
        throw tooLarge(maxBytes, error);
      }
      throw error;
    }
    if (bytes === null) {
      if (options.allowEof) break;
      throw new ProtocolError(
        "UNEXPECTED_EOF",
        "Cannot read header: stream ended before the empty line",
      );
    }
    total += bytes.length + 2;
    if (total > maxBytes) throw tooLarge(maxBytes);
    if (bytes.length === 0) break;
    const line = decode(bytes);
    if (BAD_VALUE_REGEXP.test(line)) {
      throw new ProtocolError("BAD_HEADER", "Cannot read header: line contains NUL or bare CR");
    }
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) {
      if (options.folding === "reject") {
        throw new ProtocolError("OBS_FOLD", "Cannot read header: folded lines are not allowed");
      }
      const last = fields[fields.length - 1];
      if (last === undefined) {
        throw new ProtocolError(
          "BAD_HEADER",
          "Cannot read header: first line starts with white space",
        );
      }
      last.value += line;
      folded = true;
      continue;
    }
    if (folded) {
      const last = fields[fields.length - 1]!;
      last.value = trimOws(last.value);
      folded = false;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) throw badHeader(line);
    const name = line.slice(0, colon);
    if (!nameRegexp.test(name)) throw badHeader(line);
    if (fields.length >= maxFields) {
      throw new ProtocolError(
        "TOO_MANY_FIELDS",
        `Cannot read header: more than ${maxFields} fields`,
      );
    }
    fields.push({ name, value: trimOws(line.slice(colon + 1)) });
  }
  if (folded) {
    const last = fields[fields.length - 1]!;
    last.value = trimOws(last.value);
  }
  return fields;
}

/**
 * Decodes each byte as the code point of the same value. (`TextDecoder`'s
 * "latin1" is windows-1252, which maps 0x80-0x9F elsewhere, to characters
 * `Headers` refuses.)
 */
function decodeLatin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return out;
}

/** Strips spaces and tabs (OWS, RFC 9110 §5.6.3) and nothing else from both ends. */
function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

function tooLarge(maxBytes: number, cause?: unknown): ProtocolError {
  return new ProtocolError(
    "HEADER_TOO_LARGE",
    `Cannot read header: block exceeds ${maxBytes} bytes`,
    { cause },
  );
}

function badHeader(line: string): ProtocolError {
  const shown = JSON.stringify(line.length > 60 ? line.slice(0, 60) + "..." : line);
  return new ProtocolError("BAD_HEADER", `Cannot read header: malformed field line ${shown}`);
}
