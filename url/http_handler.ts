import { HttpClient } from "../http/http_client.ts";
import { HttpConnection } from "../http/http_connection.ts";
import { CONNECT_FAILURES } from "./_auth.ts";
import { ConnectionPool } from "./_connection_pool.ts";
import { authorityOf, openTunnel } from "./_tunnel.ts";
import { URLError } from "./url_error.ts";
import type { UrlHandler, UrlOpener } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import { UrlResponse } from "./url_response.ts";

/** Options for {@linkcode HttpUrlHandler}. */
export interface HttpHandlerOptions {
  /**
   * A client (connection pool) to share; it is not closed with the handler.
   *
   * @default {a new HttpClient with the options below}
   */
  client?: HttpClient;
  /**
   * Extra trusted CA certificates in PEM, for servers and tunnels. The same
   * as `tls.caCerts` (which wins when both are given), the shape
   * `connectTcp` and the mail clients take.
   */
  caCerts?: string[];
  /** TLS settings for `https:` servers, HTTPS proxies and tunnels. */
  tls?: {
    /** Extra trusted CA certificates in PEM. */
    caCerts?: string[];
  };
  /**
   * Connections kept per origin.
   *
   * @default {16}
   */
  maxSocketsPerOrigin?: number;
  /**
   * Milliseconds an idle keep-alive connection is kept.
   *
   * @default {4000}
   */
  idleTimeout?: number;
  /**
   * Milliseconds a TCP connect and TLS handshake may take.
   *
   * @default {30000}
   */
  connectTimeout?: number;
  /**
   * Milliseconds from the request being sent to the response head.
   *
   * @default {30000}
   */
  headersTimeout?: number;
  /**
   * The most bytes of a response head (and of a proxy's CONNECT reply).
   *
   * @default {262144}
   */
  maxHeaderSize?: number;
}

const encoder = new TextEncoder();

/**
 * Opens `http:` and `https:` URLs with inetkit's HTTP/1.1 engine
 * ({@linkcode HttpClient}: keep-alive pool, streaming bodies), urllib2's
 * `HTTPHandler` and `HTTPSHandler` in one. Requests that a proxy handler
 * routed go to the proxy: `http:` in absolute form, `https:` through a
 * CONNECT tunnel whose `Proxy-Authorization` is sent to the proxy only.
 * A tunnel the proxy refuses fails the request; a 407 goes to the proxy
 * auth handlers. `Proxy-Authorization` is never sent to an origin server.
 *
 * The request's `timeout` bounds the connect, the wait for the head, and
 * each pause in the body; running out rejects the open, or errors the body,
 * with a {@linkcode URLError} whose `cause` is the `TimeoutError`. Its
 * `signal` aborts both request and body with the signal's reason.
 *
 * @example
 * ```ts ignore
 * import { buildOpener, HttpUrlHandler } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const caCerts = [await Deno.readTextFile("/tmp/peers/tls/cert.pem")];
 * await using opener = buildOpener(new HttpUrlHandler({ caCerts }));
 * const response = await opener.open("http://127.0.0.1:8080/hello.txt");
 * assertEquals(await response.text(), "hello, world\n");
 * ```
 */
export class HttpUrlHandler implements UrlHandler {
  /** HTTP and HTTPS. */
  readonly protocols: readonly string[] = ["http:", "https:"];
  #client: HttpClient;
  #ownClient: boolean;
  #pool: ConnectionPool;
  #caCerts: string[] | undefined;
  #connectTimeout: number;
  #maxHeaderSize: number;

  /**
   * Creates the handler.
   *
   * @param options The pool, TLS trust and limits.
   */
  constructor(options?: HttpHandlerOptions) {
    options ??= {};
    const caCerts = options.tls?.caCerts ?? options.caCerts;
    this.#caCerts = caCerts;
    this.#connectTimeout = options.connectTimeout ?? 30000;
    this.#maxHeaderSize = options.maxHeaderSize ?? 262144;
    this.#ownClient = options.client === undefined;
    this.#client = options.client ?? new HttpClient({
      caCerts,
      maxSocketsPerOrigin: options.maxSocketsPerOrigin,
      idleTimeout: options.idleTimeout,
      connectTimeout: options.connectTimeout,
      headersTimeout: options.headersTimeout,
      maxHeaderSize: options.maxHeaderSize,
    });
    this.#pool = new ConnectionPool(options.idleTimeout ?? 4000);
  }

  /**
   * Sends the request and returns the answer with its body streaming.
   *
   * @param request An `http:` or `https:` request.
   * @param opener The opener, for its default headers.
   * @returns The response.
   * @throws {URLError} When a proxy refuses a tunnel, or misbehaves, or on
   *   timeout.
   * @throws {DOMException} The signal's reason.
   */
  async open(request: UrlRequest, opener: UrlOpener): Promise<UrlResponse> {
    const pairs = headerPairs(request, opener);
    const body = request.data as BodyInit | null;
    const timeout = request.timeout;
    let controller: AbortController | undefined;
    let signal = request.signal;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (timeout !== undefined) {
      controller = new AbortController();
      signal = signal === undefined
        ? controller.signal
        : AbortSignal.any([signal, controller.signal]);
      const c = controller;
      timer = setTimeout(() => c.abort(timedOut(request, timeout)), timeout);
    }
    let response: Response | UrlResponse;
    try {
      if (request.proxy === null) {
        response = await this.#client.request(request.url, {
          method: request.method,
          headers: pairs.filter(([name]) => name !== "proxy-authorization"),
          body,
          signal,
        });
      } else if (request.protocol === "http:") {
        response = await this.#viaProxy(request, request.proxy, new Headers(pairs), body, signal);
      } else {
        response = await this.#viaTunnel(request, request.proxy, new Headers(pairs), body, signal);
      }
    } catch (error) {
      const reason = signal?.aborted ? signal.reason : error;
      throw controller?.signal.aborted && reason === controller.signal.reason
        ? URLError.fromTimeout(reason)
        : reason;
    } finally {
      clearTimeout(timer);
    }
    if (response instanceof UrlResponse) return response;
    let responseBody: ReadableStream<Uint8Array> | null = response.body;
    if (responseBody !== null && controller !== undefined && timeout !== undefined) {
      responseBody = watchdog(responseBody, timeout, controller, request);
    }
    const init = { url: request.url, redirected: request.redirectHistory.length > 0 };
    if (responseBody === response.body) return UrlResponse.adopt(response, init);
    return new UrlResponse(responseBody, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
      ...init,
    });
  }

  async #viaProxy(
    request: UrlRequest,
    proxy: URL,
    headers: Headers,
    body: BodyInit | null,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    if (!headers.has("proxy-authorization")) {
      const credentials = userinfoBasic(proxy);
      if (credentials !== null) headers.set("Proxy-Authorization", credentials);
    }
    headers.set("Host", request.host);
    const key = `proxy ${proxy.origin}`;
    const response = await this.#send(
      key,
      request,
      request.url,
      headers,
      body,
      signal,
      () =>
        HttpConnection.connect({
          hostname: bare(proxy.hostname),
          port: proxy.port !== "" ? Number(proxy.port) : proxy.protocol === "https:" ? 443 : 80,
          tls: proxy.protocol === "https:" ? { caCerts: this.#caCerts } : false,
          timeout: this.#connectTimeout,
          signal,
          maxHeaderSize: this.#maxHeaderSize,
        }),
    );
    return response!;
  }

  async #viaTunnel(
    request: UrlRequest,
    proxy: URL,
    headers: Headers,
    body: BodyInit | null,
    signal: AbortSignal | undefined,
  ): Promise<Response | UrlResponse> {
    const proxyAuthorization = headers.get("proxy-authorization") ?? userinfoBasic(proxy);
    headers.delete("proxy-authorization");
    headers.set("Host", request.host);
    const authority = authorityOf(request.hostname, request.port);
    const key = `tunnel ${proxy.origin} ${authority}`;
    let refusal: UrlResponse | null = null;
    const response = await this.#send(
      key,
      request,
      request.selector,
      headers,
      body,
      signal,
      async () => {
        const connectHeaders = new Headers();
        const agent = headers.get("user-agent");
        if (agent !== null) connectHeaders.set("User-Agent", agent);
        if (proxyAuthorization !== null) {
          connectHeaders.set(
            "Proxy-Authorization",
            proxyAuthorization,
          );
        }
        const tunnel = await openTunnel(proxy, {
          hostname: request.hostname,
          port: request.port,
          headers: connectHeaders,
          caCerts: this.#caCerts,
          connectTimeout: this.#connectTimeout,
          maxHeaderSize: Math.min(this.#maxHeaderSize, 65536),
          signal,
        });
        if ("refusal" in tunnel) {
          const { status, statusText } = tunnel.refusal;
          if (status === 407) {
            refusal = new UrlResponse(null, {
              status,
              statusText,
              headers: tunnel.refusal.headers,
              url: request.url,
            });
            CONNECT_FAILURES.set(refusal, authority);
            return null;
          }
          throw new URLError(
            `proxy refused CONNECT to ${authority}: ${status}${statusText ? " " + statusText : ""}`,
          );
        }
        return new HttpConnection(tunnel.conn, { maxHeaderSize: this.#maxHeaderSize });
      },
    );
    return response ?? refusal!;
  }

  /** Sends on a pooled connection, retrying once on a fresh one when a reused one was stale. */
  async #send(
    key: string,
    request: UrlRequest,
    target: string,
    headers: Headers,
    body: BodyInit | null,
    signal: AbortSignal | undefined,
    dial: () => Promise<HttpConnection | null>,
  ): Promise<Response | null> {
    for (let attempt = 0;; attempt++) {
      let conn = attempt === 0 ? this.#pool.take(key) : undefined;
      const reused = conn !== undefined;
      conn ??= (await dial()) ?? undefined;
      if (conn === undefined) return null;
      let response: Response;
      try {
        response = await conn.request(target, { method: request.method, headers, body, signal });
      } catch (error) {
        this.#pool.discard(conn);
        if (reused && request.replayable && !signal?.aborted && !(body instanceof ReadableStream)) {
          continue;
        }
        throw error;
      }
      return new Response(this.#pool.track(key, conn, response.body), {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
  }

  /**
   * Closes the connection pools (a shared client is left open).
   */
  close(): void {
    if (this.#ownClient) this.#client.close();
    this.#pool.close();
  }
}

/**
 * The request's header fields as name/value pairs (lower-case names):
 * unredirected ones first, then the redirectable ones, then the opener's
 * defaults, each name once; plus the default Content-Type for a body.
 */
function headerPairs(request: UrlRequest, opener: UrlOpener): [string, string][] {
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  const add = (value: string, name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    pairs.push([name, value]);
  };
  request.unredirectedHeaders.forEach(add);
  request.headers.forEach(add);
  opener.headers.forEach(add);
  const type = request.defaultContentType;
  if (request.data !== null && type !== null) add(type, "content-type");
  return pairs;
}

function bare(host: string): string {
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

function userinfoBasic(proxy: URL): string | null {
  if (proxy.username === "" && proxy.password === "") return null;
  const text = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  let binary = "";
  for (const b of encoder.encode(text)) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

function timedOut(request: UrlRequest, timeout: number): DOMException {
  return new DOMException(`no answer from ${request.url} within ${timeout} ms`, "TimeoutError");
}

/** Aborts the exchange when the body pauses longer than `timeout`. */
function watchdog(
  body: ReadableStream<Uint8Array>,
  timeout: number,
  controller: AbortController,
  request: UrlRequest,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const timer = setTimeout(() => controller.abort(timedOut(request, timeout)), timeout);
      try {
        const { value, done } = await reader.read();
        if (done) c.close();
        else c.enqueue(value);
      } catch (error) {
        c.error(
          controller.signal.aborted ? URLError.fromTimeout(controller.signal.reason) : error,
        );
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
