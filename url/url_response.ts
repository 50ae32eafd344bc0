import { HttpClientResponse } from "../http/http_client_response.ts";
/** Options for {@linkcode UrlResponse}. */
export interface UrlResponseInit {
  /**
   * The status code. Unlike `Response`, any integer from 100 to 999 is
   * accepted (servers do send 999); `ok` is true for 200 to 299.
   *
   * @default {200}
   */
  status?: number;
  /**
   * The reason phrase.
   *
   * @default {""}
   */
  statusText?: string;
  /** The response headers. */
  headers?: HeadersInit;
  /** The URL the response came from, after redirects. */
  url: string;
  /**
   * The most bytes the buffered helpers (`text()`, `json()`, ...) read from a
   * streamed body (see `HttpClientResponse`); `Infinity` for no limit.
   *
   * @default {16777216}
   */
  maxBodySize?: number;
  /**
   * Whether redirects were followed to get here.
   *
   * @default {false}
   */
  redirected?: boolean;
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

interface Extra {
  url: string;
  redirected: boolean;
  status: number;
}

// Kept in a WeakMap rather than #private fields so that `adopt()` can turn
// an engine's Response into a UrlResponse without copying it.
const extras = new WeakMap<Response, Extra>();
const statusOf = Object.getOwnPropertyDescriptor(Response.prototype, "status")!.get!;

function extra(response: Response): Extra {
  const found = extras.get(response);
  if (found === undefined) throw new TypeError("Cannot read response: not a UrlResponse");
  return found;
}

/**
 * What {@linkcode urlopen} returns: a web `Response` (streaming `body`,
 * `status`, `headers`, `text()`, `json()`, ...) whose `url` is the final URL,
 * which also answers the classic urllib names `code`, `reason`, `info()`
 * and `geturl()`.
 *
 * @example Reading a response
 * ```ts
 * import { UrlResponse } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const response = new UrlResponse("hello", {
 *   status: 200,
 *   statusText: "OK",
 *   headers: { "content-type": "text/plain" },
 *   url: "http://example.test/hello",
 * });
 * assertEquals(response.code, 200);
 * assertEquals(response.geturl(), "http://example.test/hello");
 * assertEquals(response.info().get("content-type"), "text/plain");
 * assertEquals(await response.text(), "hello");
 * ```
 */
export class UrlResponse extends HttpClientResponse {
  /**
   * Creates a response.
   *
   * @param body The body; ignored (treated as `null`) for 101, 103, 204, 205
   *   and 304, which cannot have one.
   * @param init Status, headers and the URL.
   * @throws {RangeError} If the status is not an integer from 100 to 999.
   * @throws {TypeError} If `url` is empty or a header is invalid.
   */
  constructor(body: BodyInit | Uint8Array | null, init: UrlResponseInit) {
    const status = init.status ?? 200;
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new RangeError(`Cannot create response: status ${status} is not from 100 to 999`);
    }
    if (typeof init.url !== "string" || init.url === "") {
      throw new TypeError("Cannot create response: the url is empty");
    }
    const nullBody = NULL_BODY_STATUSES.has(status);
    if (nullBody && body instanceof ReadableStream) body.cancel().catch(() => {});
    // Response itself takes only 200 to 599; the real status is kept aside.
    const webStatus = status >= 200 && status <= 599 ? status : 200;
    super(nullBody ? null : (body as BodyInit | null), {
      status: webStatus,
      statusText: init.statusText ?? "",
      headers: init.headers,
    }, {
      url: init.url,
      maxBodySize: init.maxBodySize,
      lengthKnown: !(body instanceof ReadableStream),
    });
    extras.set(this, { url: init.url, redirected: init.redirected ?? false, status });
  }

  /**
   * Turns a `Response` (from `fetch` or `HttpClient`) into a UrlResponse in
   * place, without copying its body or headers. The response must not be
   * used as a plain `Response` elsewhere afterwards.
   *
   * @param response The response to adopt.
   * @param init The final URL and whether redirects were followed.
   * @returns The same object, now a UrlResponse.
   * @throws {TypeError} If `url` is empty.
   *
   * @example
   * ```ts
   * import { UrlResponse } from "@inetkit/inetkit/url";
   * import { assertEquals, assertInstanceOf } from "@std/assert";
   *
   * const plain = new Response("hi", { status: 201 });
   * const adopted = UrlResponse.adopt(plain, { url: "http://h/x" });
   * assertInstanceOf(adopted, UrlResponse);
   * assertEquals([adopted.code, adopted.url, await adopted.text()], [201, "http://h/x", "hi"]);
   * ```
   */
  static adopt(response: Response, init: { url: string; redirected?: boolean }): UrlResponse {
    if (typeof init.url !== "string" || init.url === "") {
      throw new TypeError("Cannot adopt response: the url is empty");
    }
    if (response instanceof UrlResponse) {
      const e = extra(response);
      e.url = init.url;
      e.redirected = init.redirected ?? false;
      return response;
    }
    const status = statusOf.call(response) as number;
    Object.setPrototypeOf(response, UrlResponse.prototype);
    extras.set(response, { url: init.url, redirected: init.redirected ?? false, status });
    return response as UrlResponse;
  }

  /** The status code (any integer from 100 to 999). */
  override get status(): number {
    return extra(this).status;
  }

  /** Whether the status is from 200 to 299. */
  override get ok(): boolean {
    const status = extra(this).status;
    return status >= 200 && status <= 299;
  }

  /** The final URL, after redirects. */
  override get url(): string {
    return extra(this).url;
  }

  /** Whether redirects were followed. */
  override get redirected(): boolean {
    return extra(this).redirected;
  }

  /** The status code, urllib's name for it. */
  get code(): number {
    return extra(this).status;
  }

  /** The reason phrase, urllib's name for `statusText`. */
  get reason(): string {
    return this.statusText;
  }

  /**
   * The headers, urllib's `info()`.
   *
   * @returns The response headers.
   *
   * @example
   * ```ts
   * import { UrlResponse } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const response = new UrlResponse(null, { url: "data:,", headers: { a: "1" } });
   * assertEquals(response.info().get("a"), "1");
   * ```
   */
  info(): Headers {
    return this.headers;
  }

  /**
   * The final URL, urllib's `geturl()`.
   *
   * @returns The URL after redirects.
   *
   * @example
   * ```ts
   * import { UrlResponse } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new UrlResponse(null, { url: "data:,x" }).geturl(), "data:,x");
   * ```
   */
  geturl(): string {
    return extra(this).url;
  }

  /**
   * Copies the response, teeing the body.
   *
   * @returns A response with the same status, headers, URL and body.
   * @throws {TypeError} If the body was already read.
   *
   * @example
   * ```ts
   * import { UrlResponse } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const response = new UrlResponse("x", { url: "data:,x" });
   * const copy = response.clone();
   * assertEquals(await copy.text(), "x");
   * assertEquals(copy.url, "data:,x");
   * ```
   */
  override clone(): UrlResponse {
    const copy = super.clone();
    return new UrlResponse(copy.body, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
      url: this.url,
      redirected: this.redirected,
    });
  }

  /**
   * A response with the same status, headers and URL and another body, for
   * handlers that wrap the body (progress, decoding).
   *
   * @param body The new body.
   * @returns The new response.
   *
   * @example
   * ```ts
   * import { UrlResponse } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const response = new UrlResponse("x", { url: "data:,x", status: 201 });
   * const other = response.withBody("y");
   * assertEquals([other.status, await other.text()], [201, "y"]);
   * ```
   */
  withBody(body: BodyInit | Uint8Array | null): UrlResponse {
    return new UrlResponse(body, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
      url: this.url,
      redirected: this.redirected,
    });
  }
}
