/** A request body {@linkcode UrlRequest} accepts. */
export type UrlRequestBody =
  | string
  | Uint8Array
  | ArrayBuffer
  | URLSearchParams
  | Blob
  | ReadableStream<Uint8Array>;

/** Progress of a body transfer, for {@linkcode UrlRequestInit.onProgress}. */
export interface UrlProgress {
  /** Bytes received so far. */
  loaded: number;
  /** The expected total from `Content-Length` (or `Content-Range`), or `null`. */
  total: number | null;
  /** Whether the body has ended. */
  done: boolean;
}

/** Options for {@linkcode UrlRequest}. */
export interface UrlRequestInit {
  /**
   * The body. Giving one makes the default method `POST`, as in urllib2, and
   * the default `Content-Type` `application/x-www-form-urlencoded`. Strings
   * are sent as UTF-8. A `ReadableStream` is sent chunked and cannot be
   * replayed: a 307/308 redirect or an auth challenge then ends with the
   * response instead of a retry.
   *
   * @default {null}
   */
  data?: UrlRequestBody | null;
  /** Headers sent with this request and the requests redirects lead to. */
  headers?: HeadersInit;
  /** Headers sent with this request only, never after a redirect. */
  unredirectedHeaders?: HeadersInit;
  /**
   * The method.
   *
   * @default {"POST" with data, else "GET"}
   */
  method?: string;
  /**
   * Milliseconds to wait for a connection and for the response head, and
   * the longest pause allowed between body reads.
   *
   * @default {undefined (no timeout)}
   */
  timeout?: number;
  /** Aborts the request and the body. */
  signal?: AbortSignal;
  /** Called as the response body arrives, and once more at its end. */
  onProgress?: (progress: UrlProgress) => void;
}

const TOKEN_REGEXP = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const encoder = new TextEncoder();

/**
 * A request for {@linkcode urlopen}: Python's `urllib.request.Request`. It
 * is called `UrlRequest` because exporting a `Request` would shadow the web
 * `Request` wherever it is imported by name.
 *
 * The URL's fragment is kept apart (it is never sent) and given back on the
 * response URL. Handlers keep per-request bookkeeping (redirects followed,
 * auth attempts) that carries over to the requests they derive with
 * {@linkcode UrlRequest.derive}.
 *
 * @example Data implies POST
 * ```ts
 * import { UrlRequest } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const request = new UrlRequest("http://example.test/form#top", {
 *   data: new URLSearchParams({ q: "a b" }),
 *   headers: { "X-Test": "1" },
 * });
 * assertEquals(request.method, "POST");
 * assertEquals(request.url, "http://example.test/form");
 * assertEquals(request.fragment, "top");
 * assertEquals(request.selector, "/form");
 * assertEquals(request.headers.get("x-test"), "1");
 * ```
 */
export class UrlRequest {
  /** The absolute URL without its fragment. */
  readonly url: string;
  /** Headers sent with this request and the ones redirects lead to. */
  readonly headers: Headers;
  /** Headers sent with this request only (auth, cookies: set by handlers). */
  readonly unredirectedHeaders: Headers;
  /** Milliseconds for connect, head and each body read; see {@linkcode UrlRequestInit.timeout}. */
  timeout: number | undefined;
  /** Aborts the request and its body. */
  signal: AbortSignal | undefined;
  /** Called as the response body arrives. Derived requests do not inherit it. */
  onProgress: ((progress: UrlProgress) => void) | undefined;
  /**
   * The proxy this request goes through, set by a proxy handler with
   * {@linkcode UrlRequest.setProxy}, or `null`.
   */
  proxy: URL | null = null;
  /** The URLs of the responses redirects were followed from, oldest first. */
  redirectHistory: readonly string[] = [];
  /**
   * Counters that handlers keep per logical request (such as auth tries),
   * copied to the requests derived from this one.
   */
  readonly counters: Map<string, number>;

  #parsed: URL;
  #fragment: string;
  #method: string | undefined;
  #data: Uint8Array | Blob | ReadableStream<Uint8Array> | null;
  #defaultType: string | null = null;
  #derived = false;

  /**
   * Creates a request.
   *
   * @param url An absolute URL.
   * @param init Body, headers, method, timeout, signal and progress.
   * @throws {TypeError} If the URL is not absolute, the method is not a
   *   token, or a header name or value is invalid (CR, LF, NUL).
   * @throws {RangeError} If `timeout` is not a positive number.
   */
  constructor(url: string | URL, init?: UrlRequestInit) {
    init ??= {};
    if (typeof Request === "function" && (url as unknown) instanceof Request) {
      throw new TypeError(
        "Cannot create request: a web Request is not a URL; pass it to urlopen() or UrlRequest.fromRequest()",
      );
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (error) {
      throw new TypeError(
        `Cannot create request: ${JSON.stringify(String(url))} is not an absolute URL`,
        {
          cause: error,
        },
      );
    }
    const hash = parsed.hash;
    this.#fragment = hash.slice(1);
    // The URL keeps a lone "#" as an empty fragment: clear that too.
    if (hash !== "" || parsed.href.endsWith("#")) parsed.hash = "";
    this.#parsed = parsed;
    this.url = parsed.href;
    if (init.method !== undefined && !TOKEN_REGEXP.test(init.method)) {
      throw new TypeError(
        `Cannot create request: method ${JSON.stringify(init.method)} is not a token`,
      );
    }
    this.#method = init.method;
    if (init.timeout !== undefined && !(init.timeout > 0)) {
      throw new RangeError(`Cannot create request: timeout ${init.timeout} is not positive`);
    }
    this.timeout = init.timeout;
    this.signal = init.signal;
    this.onProgress = init.onProgress;
    this.headers = new Headers(init.headers);
    this.unredirectedHeaders = new Headers(init.unredirectedHeaders);
    this.counters = new Map();
    const data = init.data ?? null;
    if (data === null) {
      this.#data = null;
    } else if (typeof data === "string") {
      this.#data = encoder.encode(data);
    } else if (
      data instanceof Uint8Array || data instanceof ReadableStream || data instanceof Blob
    ) {
      this.#data = data;
      if (data instanceof Blob && data.type !== "") this.#defaultType = data.type;
    } else if (data instanceof ArrayBuffer) {
      this.#data = new Uint8Array(data);
    } else if (data instanceof URLSearchParams) {
      this.#data = encoder.encode(data.toString());
    } else {
      throw new TypeError("Cannot create request: unsupported data type");
    }
    if (this.#data !== null) this.#defaultType ??= "application/x-www-form-urlencoded";
  }

  /**
   * Makes a request from a web `Request`: its URL, method, headers, signal
   * and body. The body is read into memory first, so that it can be sent
   * with `Content-Length` and sent again after a 307/308 redirect or an auth
   * challenge; for a streamed upload, give a `ReadableStream` as
   * {@linkcode UrlRequestInit.data} instead. The `Request`'s `redirect`,
   * `credentials`, `cache` and `mode` have no counterpart and are ignored.
   *
   * @param request The web request; its body is consumed.
   * @param init `timeout`, `signal` (replacing the request's) and `onProgress`.
   * @returns The new request.
   * @throws {TypeError} If the body was already used, or the URL or a header
   *   is invalid.
   * @throws {RangeError} If `timeout` is not a positive number.
   *
   * @example Carrying a web Request over
   * ```ts
   * import { UrlRequest } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const request = await UrlRequest.fromRequest(
   *   new Request("http://example.test/form", { method: "PUT", body: "a=1", headers: { "X-A": "1" } }),
   * );
   * assertEquals([request.method, request.headers.get("x-a"), request.contentLength], ["PUT", "1", 3]);
   * assertEquals(request.headers.get("content-type"), "text/plain;charset=UTF-8");
   * ```
   */
  static async fromRequest(
    request: Request,
    init?: Pick<UrlRequestInit, "timeout" | "signal" | "onProgress">,
  ): Promise<UrlRequest> {
    if (request.bodyUsed) {
      throw new TypeError("Cannot create request: the web Request's body was already used");
    }
    const data = request.body === null ? null : new Uint8Array(await request.arrayBuffer());
    return new UrlRequest(request.url, {
      method: request.method,
      headers: request.headers,
      data,
      signal: init?.signal ?? request.signal,
      timeout: init?.timeout,
      onProgress: init?.onProgress,
    });
  }

  /** The fragment, without `#`, or `""`. */
  get fragment(): string {
    return this.#fragment;
  }

  /** The method: the one given, else `POST` when there is data, else `GET`. */
  get method(): string {
    return this.#method ?? (this.#data !== null ? "POST" : "GET");
  }

  /** The scheme with its colon, lower-case, such as `"https:"`. */
  get protocol(): string {
    return this.#parsed.protocol;
  }

  /** The host and port as in the URL (`example.test:8080`). */
  get host(): string {
    return this.#parsed.host;
  }

  /** The host name, without brackets for IPv6. */
  get hostname(): string {
    const h = this.#parsed.hostname;
    return h.startsWith("[") ? h.slice(1, -1) : h;
  }

  /** The port, the scheme's default when the URL has none (`0` when unknown). */
  get port(): number {
    if (this.#parsed.port !== "") return Number(this.#parsed.port);
    return DEFAULT_PORTS[this.#parsed.protocol] ?? 0;
  }

  /** The origin, such as `https://example.test`. */
  get origin(): string {
    return this.#parsed.origin;
  }

  /** The path and query: the request target for an origin server. */
  get selector(): string {
    return this.#parsed.pathname + this.#parsed.search;
  }

  /** The parsed URL (a copy). */
  get parsedUrl(): URL {
    return new URL(this.#parsed.href);
  }

  /** The body as given (strings and URLSearchParams already encoded), or `null`. */
  get data(): Uint8Array | Blob | ReadableStream<Uint8Array> | null {
    return this.#data;
  }

  /** Whether the body can be sent again (it is not a stream). */
  get replayable(): boolean {
    return !(this.#data instanceof ReadableStream);
  }

  /** The body's length in bytes, or `null` for a stream or no body. */
  get contentLength(): number | null {
    if (this.#data instanceof Uint8Array) return this.#data.length;
    if (this.#data instanceof Blob) return this.#data.size;
    return null;
  }

  /** The `Content-Type` sent when no header sets one, or `null` without a body. */
  get defaultContentType(): string | null {
    return this.#defaultType;
  }

  /** Whether this request was derived from another (a redirect, a retry). */
  get derived(): boolean {
    return this.#derived;
  }

  /**
   * Routes the request through a proxy (urllib's `set_proxy`).
   *
   * @param proxy The proxy URL (`http://host:port`, credentials allowed).
   * @throws {TypeError} If the proxy URL is not a valid http or https URL.
   *
   * @example
   * ```ts
   * import { UrlRequest } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const request = new UrlRequest("http://example.test/");
   * request.setProxy("http://proxy.test:3128");
   * assertEquals(request.proxy?.host, "proxy.test:3128");
   * ```
   */
  setProxy(proxy: string | URL | null): void {
    if (proxy === null) {
      this.proxy = null;
      return;
    }
    let url: URL;
    try {
      url = new URL(proxy);
    } catch (error) {
      throw new TypeError(`Cannot set proxy: ${JSON.stringify(String(proxy))} is not a URL`, {
        cause: error,
      });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Cannot set proxy: scheme ${url.protocol} is not http or https`);
    }
    this.proxy = url;
  }

  /**
   * Every header this request sends: the redirectable ones, then the
   * unredirected ones (which win on conflicts).
   *
   * @returns A new `Headers`.
   *
   * @example
   * ```ts
   * import { UrlRequest } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const request = new UrlRequest("http://h/", {
   *   headers: { a: "1" },
   *   unredirectedHeaders: { authorization: "Basic eDp5" },
   * });
   * assertEquals([...request.allHeaders()], [["a", "1"], ["authorization", "Basic eDp5"]]);
   * ```
   */
  allHeaders(): Headers {
    const all = new Headers(this.headers);
    for (const [k, v] of this.unredirectedHeaders) all.set(k, v);
    return all;
  }

  /**
   * Derives the next request of the same logical exchange (a redirect, a
   * retry with credentials): same headers (unless `init.headers` replaces
   * them), no unredirected headers, same timeout and signal, shared
   * counters, no progress callback, no proxy.
   *
   * @param url The new URL (relative to this one), or `this.url`.
   * @param init What changes; `data: null` drops the body.
   * @returns The new request.
   * @throws {TypeError} If the URL or a header is invalid.
   *
   * @example A 303 turns POST into GET
   * ```ts
   * import { UrlRequest } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const post = new UrlRequest("http://h/form", { data: "a=1" });
   * const next = post.derive("/done", { method: "GET", data: null });
   * assertEquals([next.method, next.url, next.data], ["GET", "http://h/done", null]);
   * ```
   */
  derive(
    url?: string | URL,
    init?: { method?: string; data?: UrlRequestBody | null; headers?: HeadersInit },
  ): UrlRequest {
    init ??= {};
    const target = new URL(url ?? this.url, this.url);
    const keepBody = !("data" in init);
    const next = new UrlRequest(target, {
      method: init.method ?? this.#method,
      headers: init.headers ?? this.headers,
      timeout: this.timeout,
      signal: this.signal,
      data: keepBody ? this.#data : init.data,
    });
    if (keepBody) next.#defaultType = this.#defaultType;
    // A fragment carries over to a URL that has none (RFC 9110 §10.2.2).
    if (next.#fragment === "") next.#fragment = this.#fragment;
    next.redirectHistory = this.redirectHistory;
    for (const [k, v] of this.counters) next.counters.set(k, v);
    next.#derived = true;
    return next;
  }
}

const DEFAULT_PORTS: Record<string, number> = {
  "http:": 80,
  "https:": 443,
  "ftp:": 21,
  "gopher:": 70,
  "ws:": 80,
  "wss:": 443,
};
