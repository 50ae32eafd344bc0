import { URLError } from "./url_error.ts";
import type { UrlResponse } from "./url_response.ts";

/**
 * The error {@linkcode urlopen} throws for an HTTP answer no handler turned
 * into a success (404, 500, a 401 without usable credentials, a redirect
 * that may not be followed). As in Python's `urllib.error.HTTPError` it is a
 * response too: `code`, `reason`, `headers`, `url` and a readable body
 * (`text()`, `json()`, `bytes()`, `body`). When the body is not read, call
 * {@linkcode HTTPError.cancel} (or use `await using`) to free the
 * connection; the default opener already buffers small error bodies.
 *
 * @example Reading an error's body
 * ```ts
 * import { HTTPError, UrlResponse } from "@inetkit/inetkit/url";
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 *
 * const error = new HTTPError(
 *   new UrlResponse("no such page", { status: 404, statusText: "Not Found", url: "http://h/x" }),
 * );
 * assertEquals([error.code, error.reason], [404, "Not Found"]);
 * assertEquals(error.message, "Cannot open http://h/x: HTTP 404 Not Found");
 * assertEquals(await error.text(), "no such page");
 * assertInstanceOf(error, Error);
 * ```
 */
export class HTTPError extends URLError implements AsyncDisposable {
  /** The response itself. */
  readonly response: UrlResponse;
  /**
   * Why a handler stopped instead of following or retrying (a redirect to a
   * forbidden scheme, a loop), or `undefined` for a plain error answer.
   */
  readonly detail: string | undefined;

  /**
   * Creates an HTTP error around a response.
   *
   * @param response The error response.
   * @param detail Why it was not followed or retried, appended to the message.
   * @param options Standard error options.
   */
  constructor(response: UrlResponse, detail?: string, options?: ErrorOptions) {
    super(response.statusText, options);
    this.name = "HTTPError";
    this.response = response;
    this.detail = detail;
    const status = `HTTP ${response.status}${response.statusText ? " " + response.statusText : ""}`;
    this.message = `Cannot open ${response.url}: ${status}${detail ? `: ${detail}` : ""}`;
  }

  /** The status code. */
  get code(): number {
    return this.response.status;
  }

  /** The status code, `Response`'s name for it. */
  get status(): number {
    return this.response.status;
  }

  /** The response headers. */
  get headers(): Headers {
    return this.response.headers;
  }

  /** The URL that answered. */
  get url(): string {
    return this.response.url;
  }

  /** The body as a stream, or `null`. */
  get body(): ReadableStream<Uint8Array> | null {
    return this.response.body;
  }

  /**
   * The headers, urllib's `info()`.
   *
   * @returns The response headers.
   */
  info(): Headers {
    return this.response.headers;
  }

  /**
   * The URL that answered, urllib's `geturl()`.
   *
   * @returns The URL.
   */
  geturl(): string {
    return this.response.url;
  }

  /**
   * Reads the body as text.
   *
   * @returns The body decoded as UTF-8.
   */
  text(): Promise<string> {
    return this.response.text();
  }

  /**
   * Reads the body as JSON.
   *
   * @returns The parsed body.
   * @throws {SyntaxError} If the body is not JSON.
   */
  json(): Promise<unknown> {
    return this.response.json();
  }

  /**
   * Reads the body as bytes.
   *
   * @returns The body.
   */
  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.response.arrayBuffer());
  }

  /**
   * Discards the body, freeing the connection.
   *
   * @returns When the body is cancelled.
   */
  async cancel(): Promise<void> {
    if (this.response.body !== null && !this.response.bodyUsed) {
      await this.response.body.cancel().catch(() => {});
    }
  }

  /** Discards the body. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.cancel();
  }
}
