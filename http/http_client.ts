import { connectTcp, type ConnectTcpOptions } from "../net/connect_tcp.ts";
import type { DuplexConn } from "../net/duplex_conn.ts";
import { ClientConn, clientSettings, StaleConnectionError } from "./_client_conn.ts";
import type { HttpConnectionOptions, HttpRequestInit } from "./_client_types.ts";

/** Options for {@linkcode HttpClient}. */
export interface HttpClientOptions extends Omit<HttpConnectionOptions, "host"> {
  /**
   * The most connections open to one origin; more requests wait for one.
   *
   * @default {16}
   */
  maxSocketsPerOrigin?: number;
  /**
   * Milliseconds an unused connection stays in the pool.
   *
   * @default {4000}
   */
  idleTimeout?: number;
  /**
   * Milliseconds for the TCP connect and TLS handshake.
   *
   * @default {30000}
   */
  connectTimeout?: number;
  /** Extra CA certificates (PEM) to trust for `https:` URLs. */
  caCerts?: string[];
  /**
   * Opens the connection for a new pooled connection. Replace it to pin the
   * addresses a name resolves to, to enforce egress rules (the proxy does),
   * or to record what would be dialled in tests.
   *
   * @default {connectTcp}
   */
  dial?: (options: ConnectTcpOptions) => Promise<DuplexConn>;
}

interface Waiter {
  resolve(conn: ClientConn | null): void;
  reject(error: unknown): void;
}

class Pool {
  idle: ClientConn[] = [];
  count = 0;
  waiters: Waiter[] = [];
}

/**
 * An HTTP/1.1 client with a keep-alive pool per origin, `fetch`-shaped:
 * `request(url, init)` resolves to a web `Response`. It does what a
 * protocol engine should and no more: no redirects, cookies or
 * decompression (the URL opener in `url/` adds those). A connection goes
 * back to the pool only when its response body was read to the end and its
 * framing was unambiguous; a request that finds a pooled connection closed
 * by the server before any response byte is retried once on a new one
 * (when its body can be sent again).
 *
 * @example Fetching through the pool
 * ```ts
 * import { HttpClient, serve } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serve({ port: 0 }, (request) => new Response(new URL(request.url).pathname));
 * await using client = new HttpClient();
 * const base = `http://127.0.0.1:${server.addr.port}`;
 * assertEquals(await (await client.request(`${base}/a`)).text(), "/a");
 * assertEquals(await (await client.request(`${base}/b`)).text(), "/b");
 * ```
 */
export class HttpClient implements AsyncDisposable {
  #options: HttpClientOptions;
  #max: number;
  #idleTimeout: number;
  #pools = new Map<string, Pool>();
  #closed = false;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #lastInput: string | null = null;
  #lastUrl: URL | null = null;

  /**
   * Creates a client; no connection is opened until a request needs one.
   *
   * @param options Pool size, timeouts, limits, extra CAs.
   * @throws {RangeError} If a size, limit or timeout is not a valid number.
   */
  constructor(options?: HttpClientOptions) {
    options ??= {};
    this.#options = options;
    this.#max = options.maxSocketsPerOrigin ?? 16;
    this.#idleTimeout = options.idleTimeout ?? 4000;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1) {
      throw new RangeError(
        `Cannot create client: maxSocketsPerOrigin ${this.#max} is not positive`,
      );
    }
    if (!Number.isSafeInteger(this.#idleTimeout) || this.#idleTimeout < 0) {
      throw new RangeError(`Cannot create client: idleTimeout ${this.#idleTimeout} is negative`);
    }
    clientSettings(options, "localhost");
  }

  /** The number of open connections, idle and busy, over all origins. */
  get connections(): number {
    let n = 0;
    for (const pool of this.#pools.values()) n += pool.count;
    return n;
  }

  /**
   * Sends a request and resolves to the response once its head arrived.
   * Read or cancel the body: only then does the connection return to the
   * pool.
   *
   * @param input An `http:` or `https:` URL, or a `Request` (its method,
   *   headers, body and signal are used unless `init` overrides them).
   * @param init Method, headers, body, signal, timeout.
   * @returns The response; `body` is null for HEAD, 204 and 304.
   * @throws {TypeError} For another scheme, invalid header text, or a
   *   closed client. Nothing is written then.
   * @throws {ProtocolError} For a malformed response, or when the server
   *   closed the connection before answering.
   * @throws {DOMException} The signal's reason, or a `TimeoutError`.
   */
  async request(input: string | URL | Request, init?: HttpRequestInit): Promise<Response> {
    init ??= {};
    if (this.#closed) throw new TypeError("Cannot send request: the client is closed");
    let requestInit: HttpRequestInit = init;
    let url: URL;
    if (input instanceof Request) {
      url = new URL(input.url);
      const method = init.method ?? input.method;
      requestInit = {
        method,
        headers: init.headers ?? input.headers,
        body: init.body !== undefined
          ? init.body
          : method === "GET" || method === "HEAD"
          ? null
          : input.body,
        signal: init.signal ?? input.signal,
        timeout: init.timeout,
        expectContinue: init.expectContinue,
      };
    } else if (input instanceof URL) {
      url = input;
    } else {
      // Requests often repeat a URL: keep the last parse (never handed out).
      if (input !== this.#lastInput) {
        this.#lastUrl = new URL(input);
        this.#lastInput = input;
      }
      url = this.#lastUrl!;
    }
    const tls = url.protocol === "https:";
    if (!tls && url.protocol !== "http:") {
      throw new TypeError(
        `Cannot request ${url.protocol} URL: only http: and https: are supported`,
      );
    }
    if (url.username !== "" || url.password !== "") {
      throw new TypeError("Cannot request a URL with credentials: send an Authorization header");
    }
    const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port === "" ? (tls ? 443 : 80) : Number(url.port);
    const key = `${url.protocol}//${url.host}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) this.#pools.set(key, pool = new Pool());
    const target = url.pathname + url.search;
    const replayable = !(requestInit.body instanceof ReadableStream);
    for (let attempt = 0;; attempt++) {
      const [conn, fresh] = await this.#acquire(pool, hostname, port, tls, url.host, requestInit);
      try {
        return await conn.request(
          target,
          requestInit,
          (reusable) => this.#release(pool, conn, reusable),
          url.href,
        );
      } catch (error) {
        if (error instanceof StaleConnectionError) {
          if (!fresh && attempt === 0 && replayable) continue;
          throw error.cause;
        }
        throw error;
      }
    }
  }

  async #acquire(
    pool: Pool,
    hostname: string,
    port: number,
    tls: boolean,
    host: string,
    init: HttpRequestInit,
  ): Promise<[ClientConn, boolean]> {
    const now = Date.now();
    while (pool.idle.length > 0) {
      const conn = pool.idle.pop()!;
      if (!conn.closed && now - conn.idleSince < this.#idleTimeout) return [conn, false];
      conn.close();
      pool.count--;
    }
    if (pool.count >= this.#max) {
      const handed = await new Promise<ClientConn | null>((resolve, reject) => {
        const waiter: Waiter = { resolve, reject };
        pool.waiters.push(waiter);
        const signal = init.signal;
        if (signal) {
          const onAbort = () => {
            const i = pool.waiters.indexOf(waiter);
            if (i >= 0) pool.waiters.splice(i, 1);
            reject(signal.reason);
          };
          if (signal.aborted) onAbort();
          else {
            signal.addEventListener("abort", onAbort, { once: true });
            waiter.resolve = (conn) => {
              signal.removeEventListener("abort", onAbort);
              resolve(conn);
            };
          }
        }
      });
      if (handed !== null) return [handed, false];
      // Handed a free slot (pool.count was kept for us): dial.
    } else {
      pool.count++;
    }
    try {
      const conn = await (this.#options.dial ?? connectTcp)({
        hostname,
        port,
        tls: tls ? { caCerts: this.#options.caCerts } : false,
        timeout: this.#options.connectTimeout,
        signal: init.signal,
      });
      return [new ClientConn(conn, clientSettings(this.#options, host)), true];
    } catch (error) {
      pool.count--;
      this.#wake(pool);
      throw error;
    }
  }

  /** Gives a freed slot to the first waiter, if any. */
  #wake(pool: Pool): void {
    const waiter = pool.waiters.shift();
    if (waiter !== undefined) {
      pool.count++;
      waiter.resolve(null);
    }
  }

  #release(pool: Pool, conn: ClientConn, reusable: boolean): void {
    if (reusable && !this.#closed) {
      const waiter = pool.waiters.shift();
      if (waiter !== undefined) {
        waiter.resolve(conn);
        return;
      }
      pool.idle.push(conn);
      conn.onIdleClose = () => {
        const at = pool.idle.indexOf(conn);
        if (at < 0) return;
        pool.idle.splice(at, 1);
        pool.count--;
        if (!this.#closed) this.#wake(pool);
      };
      this.#armSweep();
      return;
    }
    conn.close();
    pool.count--;
    if (!this.#closed) this.#wake(pool);
  }

  #armSweep(): void {
    if (this.#sweep !== undefined || this.#idleTimeout === 0) return;
    this.#sweep = setInterval(() => {
      const now = Date.now();
      let idle = 0;
      for (const pool of this.#pools.values()) {
        pool.idle = pool.idle.filter((conn) => {
          if (!conn.closed && now - conn.idleSince < this.#idleTimeout) return true;
          conn.close();
          pool.count--;
          return false;
        });
        idle += pool.idle.length;
      }
      if (idle === 0) {
        clearInterval(this.#sweep);
        this.#sweep = undefined;
      }
    }, Math.max(100, Math.floor(this.#idleTimeout / 2)));
    Deno.unrefTimer(this.#sweep as unknown as number);
  }

  /**
   * Closes the idle connections now and the busy ones when their bodies end;
   * requests waiting for a connection fail.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    for (const pool of this.#pools.values()) {
      for (const conn of pool.idle) {
        conn.close();
        pool.count--;
      }
      pool.idle = [];
      for (const waiter of pool.waiters.splice(0)) {
        waiter.reject(new TypeError("Cannot send request: the client is closed"));
      }
    }
  }

  /** Closes the client. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
