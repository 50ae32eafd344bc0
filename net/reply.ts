import type { BufferedReader, LineEnding } from "./buffered_reader.ts";
import { ProtocolError } from "./protocol_error.ts";
import { ReplyError } from "./reply_error.ts";

/** A three-digit reply: `250-first` / `250 last`. */
export interface NumericReply {
  /** The reply code, 100 to 599. */
  code: number;
  /** The text of each line, without the code and separator. */
  lines: string[];
}

/** Options for {@linkcode readReply}. */
export interface ReadReplyOptions {
  /**
   * The expected code as a prefix, as Go's textproto does: `2` accepts 200 to
   * 299, `25` accepts 250 to 259, `250` only 250. Another code throws.
   */
  expect?: number;
  /**
   * The longest reply line in bytes.
   *
   * @default {4096}
   */
  maxLineLength?: number;
  /**
   * The most bytes in one whole reply.
   *
   * @default {65536}
   */
  maxReplySize?: number;
  /**
   * The most lines in one reply.
   *
   * @default {1000}
   */
  maxLines?: number;
  /**
   * FTP style (RFC 959 §4.2): lines between the first `123-` line and the
   * closing `123 ` line need not start with the code.
   *
   * @default {false}
   */
  lenientContinuation?: boolean;
  /**
   * The accepted line end.
   *
   * @default {"any"}
   */
  lineEnding?: LineEnding;
  /** Builds the error for an unexpected code; a {@linkcode ReplyError} by default. */
  error?: (code: number, lines: string[]) => Error;
}

const CODE_LINE_REGEXP = /^([1-5]\d\d)([ -]|$)/;
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Reads one reply of a three-digit protocol (SMTP, FTP, NNTP), single or
 * multi-line, with bounded line length, line count and total size.
 *
 * @param reader The connection's reader.
 * @param options The expected code and the limits.
 * @returns The code and the lines.
 * @throws {ProtocolError} `"BAD_REPLY"` for a malformed line, `"UNEXPECTED_EOF"`
 *   when the connection ends, `"LINE_TOO_LONG"` or `"REPLY_TOO_LARGE"`.
 * @throws {ReplyError} When `expect` is given and the code does not match.
 *
 * @example Reading an EHLO reply
 * ```ts
 * import { BufferedReader, readReply } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const text = "250-mail.example.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n";
 * const reader = new BufferedReader(ReadableStream.from([new TextEncoder().encode(text)]));
 * const reply = await readReply(reader, { expect: 25 });
 * assertEquals(reply, { code: 250, lines: ["mail.example.test", "PIPELINING", "SIZE 1000"] });
 * ```
 */
export async function readReply(
  reader: BufferedReader,
  options?: ReadReplyOptions,
): Promise<NumericReply> {
  options ??= {};
  const maxLineLength = options.maxLineLength ?? 4096;
  const maxReplySize = options.maxReplySize ?? 65536;
  const maxLines = options.maxLines ?? 1000;
  const lineOptions = { maxLength: maxLineLength, lineEnding: options.lineEnding };
  let code = 0;
  let size = 0;
  const lines: string[] = [];
  for (;;) {
    const bytes = await reader.readLineBytes(lineOptions);
    if (bytes === null) {
      throw new ProtocolError(
        "UNEXPECTED_EOF",
        lines.length === 0
          ? "Cannot read reply: connection closed"
          : `Cannot read reply: connection closed after ${lines.length} lines`,
      );
    }
    if (bytes.includes(0)) {
      throw new ProtocolError("BAD_REPLY", "Cannot read reply: line contains NUL");
    }
    // Count bytes, not UTF-16 units of the decoded text.
    size += bytes.length + 2;
    if (size > maxReplySize) {
      throw new ProtocolError(
        "REPLY_TOO_LARGE",
        `Cannot read reply: reply exceeds ${maxReplySize} bytes`,
      );
    }
    if (lines.length >= maxLines) {
      throw new ProtocolError(
        "REPLY_TOO_LARGE",
        `Cannot read reply: reply exceeds ${maxLines} lines`,
      );
    }
    const line = decoder.decode(bytes);
    const match = CODE_LINE_REGEXP.exec(line);
    if (lines.length === 0) {
      if (match === null) throw badReply(line);
      code = Number(match[1]);
    } else if (match === null || Number(match[1]) !== code) {
      if (!options.lenientContinuation) throw badReply(line);
      lines.push(line);
      continue;
    }
    lines.push(line.slice(4));
    if (match[2] !== "-") break;
  }
  if (options.expect !== undefined && !codeMatches(code, options.expect)) {
    throw options.error?.(code, lines) ?? new ReplyError(code, lines);
  }
  return { code, lines };
}

/**
 * Whether a reply code matches an expected code used as a prefix
 * (`2` matches 200-299, `25` matches 250-259, `250` matches 250).
 *
 * @param code The received code.
 * @param expect The expected prefix, one to three digits.
 * @returns True when the code starts with the expected digits.
 *
 * @example
 * ```ts
 * import { codeMatches } from "@inetkit/inetkit/net";
 * import { assert } from "@std/assert";
 *
 * assert(codeMatches(354, 3));
 * assert(!codeMatches(451, 25));
 * ```
 */
export function codeMatches(code: number, expect: number): boolean {
  if (expect >= 100) return code === expect;
  if (expect >= 10) return Math.floor(code / 10) === expect;
  return Math.floor(code / 100) === expect;
}

function badReply(line: string): ProtocolError {
  const shown = JSON.stringify(line.length > 80 ? line.slice(0, 80) + "..." : line);
  return new ProtocolError("BAD_REPLY", `Cannot read reply: malformed line ${shown}`);
}
