import type { BufferedReader } from "../net/buffered_reader.ts";
import type { HeaderField } from "../net/mime_header.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { headFields, latin1, readHead, RESPONSE } from "./_head_parser.ts";
import { responseLimits } from "./_limits.ts";
import { assertReason, fieldPairs } from "./_validate.ts";
import { STATUS_TEXT, type StatusCode } from "./status_code.ts";

/** A parsed HTTP/1.x status line and header section. */
export interface ResponseHead {
  /** The protocol version. */
  version: "HTTP/1.0" | "HTTP/1.1";
  /** The three-digit status code. */
  status: number;
  /** The reason phrase, possibly empty. */
  statusText: string;
  /** The header fields in order, names as sent, obs-fold replaced by a space. */
  fields: HeaderField[];
}

/** Options for {@linkcode readResponseHead}. */
export interface ReadResponseHeadOptions {
  /**
   * The most bytes in the status line or any one field line.
   *
   * @default {65536}
   */
  maxLineLength?: number;
  /**
   * The most bytes in the header section.
   *
   * @default {262144}
   */
  maxHeaderSize?: number;
  /**
   * The most header fields.
   *
   * @default {1000}
   */
  maxHeaderCount?: number;
}

/**
 * Reads one response head (RFC 9112 §4 and §5), interim (1xx) ones
 * included: the caller decides to skip them. Lenient where RFC 9112 allows a
 * recipient to be (a lone LF ends a line, obs-fold becomes a space, the
 * reason phrase may be missing) and strict where framing is at stake (bare
 * CR, NUL and other controls, white space before a colon).
 *
 * @param reader The reader positioned at the start of a response.
 * @param options The limits.
 * @returns The head.
 * @throws {ProtocolError} `"UNEXPECTED_EOF"` (also when the connection closed
 *   before any byte), `"BAD_STATUS_LINE"`, `"VERSION_NOT_SUPPORTED"`,
 *   `"BAD_HEADER"`, `"LINE_TOO_LONG"`, `"HEADER_TOO_LARGE"`,
 *   `"TOO_MANY_FIELDS"`.
 *
 * @example Reading a response head
 * ```ts
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { readResponseHead } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
 * const reader = new BufferedReader(ReadableStream.from([new TextEncoder().encode(wire)]));
 * const head = await readResponseHead(reader);
 * assertEquals([head.status, head.statusText], [404, "Not Found"]);
 * assertEquals(head.fields, [{ name: "Content-Length", value: "0" }]);
 * ```
 */
export async function readResponseHead(
  reader: BufferedReader,
  options?: ReadResponseHeadOptions,
): Promise<ResponseHead> {
  options ??= {};
  const p = await readHead(reader, RESPONSE, responseLimits(options));
  if (p === null) {
    throw new ProtocolError(
      "UNEXPECTED_EOF",
      "Cannot read response: connection closed before the status line",
    );
  }
  return {
    version: p.minor === 0 ? "HTTP/1.0" : "HTTP/1.1",
    status: p.status,
    statusText: latin1(p.buf, p.reasonStart, p.reasonEnd),
    fields: headFields(p),
  };
}

/** What {@linkcode formatResponseHead} writes. */
export interface ResponseHeadInit {
  /** The status code, 100 to 999. */
  status: number;
  /**
   * The reason phrase.
   *
   * @default {the phrase from STATUS_TEXT, or empty}
   */
  statusText?: string;
  /**
   * The version.
   *
   * @default {"HTTP/1.1"}
   */
  version?: "HTTP/1.0" | "HTTP/1.1";
  /** The header fields, as a `Headers`, pairs, a record or name/value records. */
  fields?: HeadersInit | readonly HeaderField[];
}

/**
 * Serializes a response head, validating every part first.
 *
 * @param head The status, reason, version and fields.
 * @returns The head as text, ending with the empty line.
 * @throws {RangeError} If the status is not an integer from 100 to 999.
 * @throws {TypeError} If the reason holds controls, a field name is not a
 *   token, or a value holds CR, LF, NUL or another control.
 *
 * @example Serializing an interim response
 * ```ts
 * import { formatResponseHead } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatResponseHead({ status: 100 }), "HTTP/1.1 100 Continue\r\n\r\n");
 * ```
 */
export function formatResponseHead(head: ResponseHeadInit): string {
  const { status } = head;
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError(`Cannot send status ${status}: not an integer from 100 to 999`);
  }
  const reason = head.statusText ?? STATUS_TEXT[status as StatusCode] ?? "";
  assertReason(reason);
  let text = `${head.version ?? "HTTP/1.1"} ${status} ${reason}\r\n`;
  for (const [name, value] of fieldPairs(head.fields)) text += `${name}: ${value}\r\n`;
  return text + "\r\n";
}
