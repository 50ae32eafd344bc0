import { bufferBody, withProgress } from "./_body.ts";
import { HTTPError } from "./http_error.ts";
import { URLError } from "./url_error.ts";
import { UrlRequest, type UrlRequestInit } from "./url_request.ts";
import type { UrlResponse } from "./url_response.ts";

/**
 * One link of a {@linkcode UrlOpener}'s chain: urllib2's `BaseHandler`.
 * Every hook is optional. The opener calls the hooks of every handler whose
 * {@linkcode UrlHandler.protocols} include the request's scheme, in
 * {@linkcode UrlHandler.order}:
 *
 * 1. `preprocess` may change or replace the request (cookies, proxies,
 *    pre-emptive credentials);
 * 2. `open` opens it; the first handler that returns a response wins, and
 *    `null` passes to the next (a new scheme is one handler with `open`);
 * 3. `postprocess` may change or replace the response (cookies, and the
 *    error processor that sends non-2xx answers to step 4);
 * 4. `error`, through {@linkcode UrlOpener.error}, may turn an error
 *    response into another response, usually by opening a derived request
 *    (redirects, auth); when no handler does, the opener throws
 *    {@linkcode HTTPError};
 * 5. `failure` may recover from a {@linkcode URLError} raised while opening
 *    (retries).
 *
 * @example A handler for a made-up scheme
 * ```ts
 * import { buildOpener, type UrlHandler, UrlResponse } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const echo: UrlHandler = {
 *   protocols: ["echo:"],
 *   open: (request) => new UrlResponse(request.selector, { url: request.url }),
 * };
 * await using opener = buildOpener(echo);
 * assertEquals(await (await opener.open("echo:hello")).text(), "hello");
 * ```
 */
export interface UrlHandler {
  /**
   * Where the handler sits in the chain; lower runs first. urllib2's
   * `handler_order`.
   *
   * @default {500}
   */
  readonly order?: number;
  /**
   * The schemes (with colon, such as `"http:"`) whose requests this handler
   * sees; all schemes when absent.
   */
  readonly protocols?: readonly string[];
  /** Changes or replaces a request before it is opened. */
  preprocess?(
    request: UrlRequest,
    opener: UrlOpener,
  ): UrlRequest | void | Promise<UrlRequest | void>;
  /** Opens the request, or returns `null` to let the next handler try. */
  open?(request: UrlRequest, opener: UrlOpener): UrlResponse | null | Promise<UrlResponse | null>;
  /** Changes or replaces a response. */
  postprocess?(
    request: UrlRequest,
    response: UrlResponse,
    opener: UrlOpener,
  ): UrlResponse | Promise<UrlResponse>;
  /** Handles an error response, or returns `null` to pass it on. */
  error?(
    request: UrlRequest,
    response: UrlResponse,
    opener: UrlOpener,
  ): UrlResponse | null | Promise<UrlResponse | null>;
  /** Recovers from a failure to open, or returns `null` to let it throw. */
  failure?(
    request: UrlRequest,
    error: URLError,
    opener: UrlOpener,
  ): UrlResponse | null | Promise<UrlResponse | null>;
  /** Releases what the handler holds (connection pools). */
  close?(): void | Promise<void>;
}

/** Options for {@linkcode UrlOpener}. */
export interface UrlOpenerOptions {
  /**
   * Headers added to every HTTP request that does not set them itself
   * (urllib2's `addheaders`).
   *
   * @default {{ "User-Agent": "inetkit/0.1" }}
   */
  headers?: HeadersInit;
  /**
   * How many bytes of an error body are read into memory before
   * {@linkcode HTTPError} is thrown, so that the connection is released
   * when nobody reads the error. Longer bodies stay streaming.
   *
   * @default {1048576}
   */
  errorBodyBuffer?: number;
}

/** Options for {@linkcode UrlOpener.open} and {@linkcode urlopen}. */
export type UrlOpenOptions = UrlRequestInit;

/** The default `User-Agent` of an opener. */
export const DEFAULT_USER_AGENT = "inetkit/0.1";

/**
 * An opener: an ordered chain of {@linkcode UrlHandler}s that together open
 * URLs, urllib2's `OpenerDirector`. Build one with {@linkcode buildOpener}
 * (the default handlers plus yours) or from scratch with the constructor.
 * It owns its handlers' resources (connection pools): close it when done.
 *
 * @example An opener with only the data: handler
 * ```ts
 * import { DataHandler, UrlOpener } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * await using opener = new UrlOpener([new DataHandler()]);
 * const response = await opener.open("data:,Hello%2C%20World");
 * assertEquals(await response.text(), "Hello, World");
 * ```
 */
export class UrlOpener implements AsyncDisposable {
  /** Headers added to HTTP requests that lack them (`User-Agent`). */
  readonly headers: Headers;
  #handlers: UrlHandler[] = [];
  #errorBodyBuffer: number;
  #closed = false;

  /**
   * Creates an opener.
   *
   * @param handlers The chain, in any order (sorted by `order`, stable).
   * @param options Default headers and the error body buffer.
   * @throws {RangeError} If `errorBodyBuffer` is negative.
   */
  constructor(handlers?: Iterable<UrlHandler>, options?: UrlOpenerOptions) {
    this.headers = new Headers(options?.headers ?? { "User-Agent": DEFAULT_USER_AGENT });
    const buffer = options?.errorBodyBuffer ?? 1048576;
    if (!Number.isSafeInteger(buffer) || buffer < 0) {
      throw new RangeError(`Cannot create opener: errorBodyBuffer ${buffer} is not a size`);
    }
    this.#errorBodyBuffer = buffer;
    for (const handler of handlers ?? []) this.addHandler(handler);
  }

  /** The handlers in the order they run. */
  get handlers(): readonly UrlHandler[] {
    return [...this.#handlers];
  }

  /**
   * Adds a handler at its place in the chain (after handlers of the same
   * order).
   *
   * @param handler The handler.
   *
   * @example
   * ```ts
   * import { DataHandler, UrlOpener } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const opener = new UrlOpener();
   * opener.addHandler(new DataHandler());
   * assertEquals(opener.handlers.length, 1);
   * ```
   */
  addHandler(handler: UrlHandler): void {
    const order = handler.order ?? 500;
    let at = this.#handlers.length;
    while (at > 0 && (this.#handlers[at - 1]!.order ?? 500) > order) at--;
    this.#handlers.splice(at, 0, handler);
  }

  /**
   * Opens a URL through the chain.
   *
   * A web `Request` is carried over with {@linkcode UrlRequest.fromRequest}
   * (URL, method, headers, body, signal). A timeout (the `timeout` option,
   * or a handler's own connect or head timeout) rejects with a
   * {@linkcode URLError} whose `cause` is the `TimeoutError`, and is not
   * offered to `failure` hooks; an abort through the caller's `signal`
   * rejects with the signal's reason.
   *
   * @param url The URL, a {@linkcode UrlRequest}, or a web `Request`.
   * @param options For a URL: body, headers, method, timeout, signal and
   *   progress. For a request, only `timeout`, `signal` and `onProgress`
   *   apply (they replace the request's own).
   * @returns The response; its body streams.
   * @throws {HTTPError} For an HTTP error answer no handler resolved.
   * @throws {URLError} When the URL cannot be opened, or on timeout.
   * @throws {TypeError} For an invalid URL, method or header.
   * @throws {DOMException} The signal's reason on abort.
   *
   * @example
   * ```ts
   * import { buildOpener } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * await using opener = buildOpener();
   * const response = await opener.open("data:text/plain;base64,aGk=");
   * assertEquals(response.headers.get("content-type"), "text/plain");
   * assertEquals(await response.text(), "hi");
   * ```
   */
  async open(
    url: string | URL | UrlRequest | Request,
    options?: UrlOpenOptions,
  ): Promise<UrlResponse> {
    options ??= {};
    if (this.#closed) throw new TypeError("Cannot open URL: the opener is closed");
    let request: UrlRequest;
    if (url instanceof Request) {
      request = await UrlRequest.fromRequest(url, options);
    } else if (url instanceof UrlRequest) {
      request = url;
      if (options.timeout !== undefined) request.timeout = options.timeout;
      if (options.signal !== undefined) request.signal = options.signal;
      if (options.onProgress !== undefined) request.onProgress = options.onProgress;
    } else {
      request = new UrlRequest(url, options);
    }
    request.signal?.throwIfAborted();
    const onProgress = request.onProgress;
    const response = await this.#openOnce(request);
    return onProgress !== undefined && !request.derived
      ? withProgress(response, onProgress)
      : response;
  }

  async #openOnce(initial: UrlRequest): Promise<UrlResponse> {
    let request = initial;
    const protocol = request.protocol;
    for (const handler of this.#handlers) {
      if (handler.preprocess === undefined || !serves(handler, protocol)) continue;
      const replaced = await handler.preprocess(request, this);
      if (replaced) request = replaced;
    }
    let response: UrlResponse | null = null;
    try {
      for (const handler of this.#handlers) {
        if (handler.open === undefined || !serves(handler, protocol)) continue;
        response = await handler.open(request, this);
        if (response !== null) break;
      }
      if (response === null) {
        throw new URLError(`unknown url type: ${protocol.slice(0, -1)}`);
      }
    } catch (error) {
      if (error instanceof HTTPError) throw error;
      if (request.signal?.aborted && error === request.signal.reason) throw error;
      if (error instanceof DOMException && error.name === "TimeoutError") {
        throw URLError.fromTimeout(error);
      }
      if (error instanceof TypeError || error instanceof RangeError) throw error;
      const failure = error instanceof URLError
        ? error
        : new URLError(describe(error), { cause: error });
      for (const handler of this.#handlers) {
        if (handler.failure === undefined || !serves(handler, protocol)) continue;
        const recovered = await handler.failure(request, failure, this);
        if (recovered !== null) return recovered;
      }
      throw failure;
    }
    for (const handler of this.#handlers) {
      if (handler.postprocess === undefined || !serves(handler, protocol)) continue;
      response = await handler.postprocess(request, response, this);
    }
    return response;
  }

  /**
   * Offers an error response to the handlers' `error` hooks (urllib2's
   * `OpenerDirector.error`); the error processor calls it for non-2xx HTTP
   * answers.
   *
   * @param request The request that got the response.
   * @param response The error response.
   * @returns The response a handler produced instead.
   * @throws {HTTPError} When no handler takes it.
   *
   * @example
   * ```ts
   * import { HTTPError, UrlOpener, UrlRequest, UrlResponse } from "@inetkit/inetkit/url";
   * import { assertRejects } from "@std/assert";
   *
   * await using opener = new UrlOpener();
   * const request = new UrlRequest("http://h/");
   * const response = new UrlResponse("gone", { status: 410, url: request.url });
   * await assertRejects(() => opener.error(request, response), HTTPError);
   * ```
   */
  async error(request: UrlRequest, response: UrlResponse): Promise<UrlResponse> {
    const protocol = request.protocol;
    for (const handler of this.#handlers) {
      if (handler.error === undefined || !serves(handler, protocol)) continue;
      const handled = await handler.error(request, response, this);
      if (handled !== null) return handled;
    }
    throw new HTTPError(await bufferBody(response, this.#errorBodyBuffer));
  }

  /**
   * Wraps a response into an {@linkcode HTTPError} after buffering a small
   * body, for handlers that decide to stop (a redirect that may not be
   * followed).
   *
   * @param response The response.
   * @param detail Why it stops.
   * @returns The error, to throw.
   *
   * @example
   * ```ts
   * import { UrlOpener, UrlResponse } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * await using opener = new UrlOpener();
   * const error = await opener.httpError(
   *   new UrlResponse("", { status: 302, url: "http://h/" }),
   *   "redirect loop",
   * );
   * assertEquals(error.message, "Cannot open http://h/: HTTP 302: redirect loop");
   * ```
   */
  async httpError(response: UrlResponse, detail: string): Promise<HTTPError> {
    return new HTTPError(await bufferBody(response, this.#errorBodyBuffer), detail);
  }

  /**
   * Closes every handler (their connection pools). Further opens throw.
   *
   * @returns When every handler is closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const handler of this.#handlers) await handler.close?.();
  }

  /** Closes the opener. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function serves(handler: UrlHandler, protocol: string): boolean {
  return handler.protocols === undefined || handler.protocols.includes(protocol);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code)
      ? `${error.message} (${code})`
      : error.message;
  }
  return String(error);
}
