import type { HeaderField } from "../net/mime_header.ts";
import { requestFraming, responseFraming } from "./_framing.ts";

export type { BodyFraming } from "./_framing.ts";
import type { BodyFraming } from "./_framing.ts";

/** What framing needs to know of a request head. */
export interface RequestFramingHead {
  /** `"HTTP/1.0"` or `"HTTP/1.1"`. */
  version: string;
  /** The header fields in order. */
  fields: readonly HeaderField[];
}

/** What framing needs to know of a response head. */
export interface ResponseFramingHead extends RequestFramingHead {
  /** The status code. */
  status: number;
}

/**
 * Decides how a request body is framed, refusing the shapes that let two
 * parsers disagree about where a request ends (request smuggling, RFC 9112
 * §6.1 and §6.3): `Transfer-Encoding` with `Content-Length`, a transfer
 * coding list that does not end in exactly one `chunked`, `Transfer-Encoding`
 * on HTTP/1.0, and `Content-Length` values that are not plain digits or
 * disagree.
 *
 * @param head The request's version and fields.
 * @returns The framing; `{ kind: "none" }` when the request has no body.
 * @throws {ProtocolError} `"AMBIGUOUS_FRAMING"`, `"BAD_TRANSFER_ENCODING"`,
 *   `"BAD_CONTENT_LENGTH"` (answer 400 and close), or `"NOT_IMPLEMENTED"` for
 *   a transfer coding other than chunked (answer 501).
 *
 * @example Refusing Content-Length with Transfer-Encoding
 * ```ts
 * import { requestBodyFraming } from "@inetkit/inetkit/http";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(
 *   requestBodyFraming({ version: "HTTP/1.1", fields: [{ name: "Content-Length", value: "5" }] }),
 *   { kind: "length", length: 5 },
 * );
 * assertThrows(() =>
 *   requestBodyFraming({
 *     version: "HTTP/1.1",
 *     fields: [
 *       { name: "Content-Length", value: "5" },
 *       { name: "Transfer-Encoding", value: "chunked" },
 *     ],
 *   })
 * );
 * ```
 */
export function requestBodyFraming(head: RequestFramingHead): BodyFraming {
  const { te, cl } = framingFields(head.fields);
  return requestFraming(head.version === "HTTP/1.0" ? 0 : 1, te, cl);
}

/**
 * Decides how a response body is framed (RFC 9112 §6.3), given the method of
 * the request it answers. Ambiguous but readable framings (both
 * `Transfer-Encoding` and `Content-Length`, or `Transfer-Encoding` on
 * HTTP/1.0) use the transfer coding and set `close`: such a connection must
 * not be reused.
 *
 * @param requestMethod The method of the request (`HEAD` responses have no body).
 * @param head The response's version, status and fields.
 * @returns The framing.
 * @throws {ProtocolError} `"BAD_CONTENT_LENGTH"` for an invalid
 *   `Content-Length`, `"BAD_TRANSFER_ENCODING"` for a malformed coding list.
 *
 * @example A response without length reads until close
 * ```ts
 * import { responseBodyFraming } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(responseBodyFraming("GET", { version: "HTTP/1.1", status: 200, fields: [] }), {
 *   kind: "close",
 * });
 * assertEquals(responseBodyFraming("HEAD", { version: "HTTP/1.1", status: 200, fields: [] }), {
 *   kind: "none",
 * });
 * ```
 */
export function responseBodyFraming(requestMethod: string, head: ResponseFramingHead): BodyFraming {
  const { te, cl } = framingFields(head.fields);
  return responseFraming(
    requestMethod,
    head.status,
    head.version === "HTTP/1.0" ? 0 : 1,
    te,
    cl,
  );
}

function framingFields(
  fields: readonly HeaderField[],
): { te: string[] | null; cl: string[] | null } {
  let te: string[] | null = null;
  let cl: string[] | null = null;
  for (const { name, value } of fields) {
    const lower = name.toLowerCase();
    if (lower === "transfer-encoding") (te ??= []).push(value);
    else if (lower === "content-length") (cl ??= []).push(value);
  }
  return { te, cl };
}
