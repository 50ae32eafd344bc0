import type { BufferedReader } from "../net/buffered_reader.ts";
import type { HeaderField } from "../net/mime_header.ts";
import { checkHost, headFields, latin1, readHead, REQUEST } from "./_head_parser.ts";
import { requestLimits } from "./_limits.ts";
import { assertMethod, assertTarget, fieldPairs } from "./_validate.ts";

/** A parsed HTTP/1.x request line and header section. */
export interface RequestHead {
  /** The method, case-sensitive as sent (`"GET"`). */
  method: string;
  /** The request-target as sent: origin-form, absolute-form, authority-form or `"*"`. */
  target: string;
  /** The protocol version; HTTP/1.2 and later minors read as HTTP/1.1. */
  version: "HTTP/1.0" | "HTTP/1.1";
  /** The header fields in order, names as sent. */
  fields: HeaderField[];
}

/** Options for {@linkcode readRequestHead}. */
export interface ReadRequestHeadOptions {
  /**
   * The most bytes in the request line. More throws `"URI_TOO_LONG"` (414).
   *
   * @default {8192}
   */
  maxRequestLineSize?: number;
  /**
   * The most bytes in the header section. More throws `"HEADER_TOO_LARGE"` (431).
   *
   * @default {16384}
   */
  maxHeaderSize?: number;
  /**
   * The most header fields. More throws `"TOO_MANY_FIELDS"` (431).
   *
   * @default {100}
   */
  maxHeaderCount?: number;
}

/**
 * Reads one request head (RFC 9112 §3 and §5) with a strict grammar: a
 * single space between the parts of the request line, a token method, a
 * request-target of visible ASCII, `HTTP/1.x`, CRLF line ends, no white space
 * before a colon, no obs-fold, no control bytes in values, and exactly one
 * valid `Host` on HTTP/1.1. Empty lines before the request line are skipped
 * (RFC 9112 §2.2).
 *
 * @param reader The reader positioned at the start of a request.
 * @param options The limits.
 * @returns The head, or `null` when the stream ended cleanly before a request.
 * @throws {ProtocolError} `"URI_TOO_LONG"` (answer 414), `"HEADER_TOO_LARGE"`
 *   or `"TOO_MANY_FIELDS"` (431), `"VERSION_NOT_SUPPORTED"` (505),
 *   `"UNEXPECTED_EOF"`, and for 400: `"BAD_REQUEST_LINE"`, `"BAD_HEADER"`,
 *   `"BARE_LF"`, `"OBS_FOLD"`, `"BAD_HOST"`.
 *
 * @example Reading a request
 * ```ts
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { readRequestHead } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = "GET /index.html HTTP/1.1\r\nHost: example.test\r\nAccept: *\/*\r\n\r\n";
 * const reader = new BufferedReader(ReadableStream.from([new TextEncoder().encode(wire)]));
 * const head = await readRequestHead(reader);
 * assertEquals(head?.method, "GET");
 * assertEquals(head?.target, "/index.html");
 * assertEquals(head?.fields[1], { name: "Accept", value: "*\/*" });
 * ```
 */
export async function readRequestHead(
  reader: BufferedReader,
  options?: ReadRequestHeadOptions,
): Promise<RequestHead | null> {
  options ??= {};
  const p = await readHead(reader, REQUEST, requestLimits(options));
  if (p === null) return null;
  checkHost(p);
  return {
    method: p.method,
    target: latin1(p.buf, p.targetStart, p.targetEnd),
    version: p.minor === 0 ? "HTTP/1.0" : "HTTP/1.1",
    fields: headFields(p),
  };
}

/** What {@linkcode formatRequestHead} writes. */
export interface RequestHeadInit {
  /** The method. */
  method: string;
  /** The request-target. */
  target: string;
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
 * Serializes a request head, validating every part first.
 *
 * @param head The method, target, version and fields.
 * @returns The head as text, ending with the empty line.
 * @throws {TypeError} If the method or a field name is not a token, the
 *   target holds spaces, controls or non-ASCII, or a value holds CR, LF, NUL
 *   or another control.
 *
 * @example Serializing a request
 * ```ts
 * import { formatRequestHead } from "@inetkit/inetkit/http";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(
 *   formatRequestHead({ method: "GET", target: "/", fields: [["Host", "example.test"]] }),
 *   "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n",
 * );
 * assertThrows(() => formatRequestHead({ method: "GET", target: "/ HTTP/1.1\r\nX: y" }), TypeError);
 * ```
 */
export function formatRequestHead(head: RequestHeadInit): string {
  assertMethod(head.method);
  assertTarget(head.target);
  let text = `${head.method} ${head.target} ${head.version ?? "HTTP/1.1"}\r\n`;
  for (const [name, value] of fieldPairs(head.fields)) text += `${name}: ${value}\r\n`;
  return text + "\r\n";
}
