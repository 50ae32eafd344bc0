import type { UrlHandler } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import { URLError } from "./url_error.ts";
import { UrlResponse } from "./url_response.ts";
import { unquote } from "./quote.ts";

const BASE64_REGEXP = /;[\t\n\f\r ]*base64[\t\n\f\r ]*$/i;
const WHITESPACE_REGEXP = /[\t\n\f\r ]/g;

/**
 * Opens `data:` URLs (RFC 2397), urllib's `DataHandler`: the body is the
 * decoded data, `Content-Type` the media type (default
 * `text/plain;charset=US-ASCII`) and `Content-Length` its size. Opened only
 * when asked for directly: the redirect handler never follows a server to a
 * `data:` URL.
 *
 * @example
 * ```ts
 * import { buildOpener } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * await using opener = buildOpener();
 * const response = await opener.open("data:;base64,SGVsbG8=");
 * assertEquals(response.headers.get("content-type"), "text/plain;charset=US-ASCII");
 * assertEquals(await response.text(), "Hello");
 * ```
 */
export class DataHandler implements UrlHandler {
  /** Only `data:`. */
  readonly protocols: readonly string[] = ["data:"];

  /**
   * Decodes the URL into a response.
   *
   * @param request A `data:` request.
   * @returns The response.
   * @throws {URLError} If there is no comma or the base64 is invalid.
   */
  open(request: UrlRequest): UrlResponse {
    const href = request.url;
    const comma = href.indexOf(",");
    if (comma < 0) throw new URLError("data URL has no comma");
    let type = href.slice("data:".length, comma).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "");
    const encoded = href.slice(comma + 1);
    let body: Uint8Array;
    if (BASE64_REGEXP.test(type)) {
      type = type.replace(BASE64_REGEXP, "");
      body = decodeBase64(unquote(encoded).replace(WHITESPACE_REGEXP, ""));
    } else {
      body = percentDecode(encoded);
    }
    if (type.startsWith(";")) type = "text/plain" + type;
    if (type === "") type = "text/plain;charset=US-ASCII";
    return new UrlResponse(body, {
      status: 200,
      statusText: "OK",
      headers: { "Content-Type": type, "Content-Length": String(body.length) },
      url: request.url,
    });
  }
}

function percentDecode(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[n++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      // The URL parser left only ASCII here.
      out[n++] = c & 0xff;
    }
  }
  return out.subarray(0, n);
}

function decodeBase64(text: string): Uint8Array {
  let clean = text;
  if (clean.length % 4 === 0 && clean.endsWith("==")) clean = clean.slice(0, -2);
  else if (clean.length % 4 === 0 && clean.endsWith("=")) clean = clean.slice(0, -1);
  if (clean.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(clean)) {
    throw new URLError("data URL has invalid base64");
  }
  const binary = atob(clean);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
