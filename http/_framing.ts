/**
 * The framing rules of RFC 9112 §6 on raw field values, shared by the
 * public framing functions, the server and the client.
 *
 * @module
 */
import { ProtocolError } from "../net/protocol_error.ts";

/**
 * How a message body is delimited on an HTTP/1.1 connection (RFC 9112 §6):
 * no body, a `Content-Length`, chunked transfer coding, or (responses only)
 * everything until the connection closes.
 */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked"; close?: boolean }
  | { kind: "close" };

const DIGITS_REGEXP = /^[0-9]{1,15}$/;
const TOKEN_REGEXP = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The request framing from the raw `Transfer-Encoding` and `Content-Length` values. */
export function requestFraming(
  minor: number,
  te: readonly string[] | null,
  cl: readonly string[] | null,
): BodyFraming {
  if (te !== null) {
    if (cl !== null) {
      throw new ProtocolError(
        "AMBIGUOUS_FRAMING",
        "Cannot frame request: both Transfer-Encoding and Content-Length",
      );
    }
    if (minor === 0) {
      throw new ProtocolError(
        "BAD_TRANSFER_ENCODING",
        "Cannot frame request: Transfer-Encoding in an HTTP/1.0 request",
      );
    }
    const codings = parseCodings(te);
    const last = codings[codings.length - 1]!;
    const chunkedCount = codings.filter((c) => c.name === "chunked").length;
    if (last.name !== "chunked" || chunkedCount !== 1 || last.params) {
      throw new ProtocolError(
        "BAD_TRANSFER_ENCODING",
        `Cannot frame request: Transfer-Encoding ${
          JSON.stringify(te.join(", "))
        } does not end in chunked`,
      );
    }
    if (codings.length > 1) {
      throw new ProtocolError(
        "NOT_IMPLEMENTED",
        `Cannot frame request: transfer coding ${
          JSON.stringify(codings[0]!.name)
        } is not supported`,
      );
    }
    return { kind: "chunked" };
  }
  if (cl !== null) {
    const length = parseContentLength(cl);
    return { kind: "length", length };
  }
  return { kind: "none" };
}

/** The response framing from the raw `Transfer-Encoding` and `Content-Length` values. */
export function responseFraming(
  requestMethod: string,
  status: number,
  minor: number,
  te: readonly string[] | null,
  cl: readonly string[] | null,
): BodyFraming {
  if (requestMethod === "HEAD" || status < 200 || status === 204 || status === 304) {
    return { kind: "none" };
  }
  if (requestMethod === "CONNECT" && status < 300) return { kind: "none" };
  if (te !== null) {
    const codings = parseCodings(te);
    const last = codings[codings.length - 1]!;
    const chunkedCount = codings.filter((c) => c.name === "chunked").length;
    if (last.name === "chunked" && chunkedCount === 1 && !last.params) {
      return cl !== null || minor === 0 ? { kind: "chunked", close: true } : { kind: "chunked" };
    }
    return { kind: "close" };
  }
  if (cl !== null) return { kind: "length", length: parseContentLength(cl) };
  return { kind: "close" };
}

interface Coding {
  name: string;
  params: boolean;
}

function parseCodings(values: readonly string[]): Coding[] {
  const out: Coding[] = [];
  for (const value of values) {
    for (const element of value.split(",")) {
      const trimmed = element.replace(/^[ \t]+|[ \t]+$/g, "");
      if (trimmed === "") continue;
      const semi = trimmed.indexOf(";");
      const name = (semi < 0 ? trimmed : trimmed.slice(0, semi)).replace(/[ \t]+$/, "");
      if (!TOKEN_REGEXP.test(name)) {
        throw new ProtocolError(
          "BAD_TRANSFER_ENCODING",
          `Cannot frame message: malformed transfer coding ${JSON.stringify(element)}`,
        );
      }
      out.push({ name: name.toLowerCase(), params: semi >= 0 });
    }
  }
  if (out.length === 0) {
    throw new ProtocolError(
      "BAD_TRANSFER_ENCODING",
      "Cannot frame message: empty Transfer-Encoding",
    );
  }
  return out;
}

/**
 * Parses `Content-Length` values: each a list of digits (RFC 9112 §6.3
 * item 5 allows a list of identical values), all the same.
 */
function parseContentLength(values: readonly string[]): number {
  let length = -1;
  for (const value of values) {
    for (const element of value.split(",")) {
      const trimmed = element.replace(/^[ \t]+|[ \t]+$/g, "");
      if (!DIGITS_REGEXP.test(trimmed)) {
        throw new ProtocolError(
          "BAD_CONTENT_LENGTH",
          `Cannot frame message: invalid Content-Length ${JSON.stringify(value)}`,
        );
      }
      const n = Number(trimmed);
      if (length >= 0 && n !== length) {
        throw new ProtocolError(
          "BAD_CONTENT_LENGTH",
          `Cannot frame message: conflicting Content-Length values ${length} and ${n}`,
        );
      }
      length = n;
    }
  }
  return length;
}
