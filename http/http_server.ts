import { ConnectionDeadline } from "../net/connection_deadline.ts";
import { DeadlineClock } from "../net/deadline_clock.ts";
import { type DuplexConn, localNetAddr, remoteNetAddr } from "../net/duplex_conn.ts";
import { closeQuietly } from "../net/_io.ts";
import { TcpServer } from "../net/tcp_server.ts";
import { requestLimits } from "./_limits.ts";
import { ServerClock, type ServerConfig, ServerConn } from "./_server_conn.ts";

export type {
  ServeHandler,
  ServeHandlerInfo,
  UpgradedConnection,
  UpgradeInit,
} from "./_server_types.ts";
import type { ServeHandler } from "./_server_types.ts";

/** Options for {@linkcode HttpServer} and `serve`. */
export interface ServeOptions {
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port to listen on; 0 picks a free one (see `addr`).
   *
   * @default {8000}
   */
  port?: number;
  /** A PEM certificate chain: with `key`, the server speaks HTTPS. */
  cert?: string;
  /** The PEM private key for `cert`. */
  key?: string;
  /** Aborting it starts a graceful shutdown. */
  signal?: AbortSignal;
  /** Called once the server listens (by `serve`). */
  onListen?: (addr: Deno.NetAddr) => void;
  /**
   * Turns an error thrown by the handler into a response. Details should
   * not reach the client.
   *
   * @default {logs the error and answers a plain 500}
   */
  onError?: (error: unknown) => Response | Promise<Response>;
  /**
   * Receives one Common Log Format line per request, with control bytes,
   * quotes and backslashes escaped.
   *
   * @default {no log}
   */
  accessLog?: (line: string) => void;
  /**
   * The most connections served at once.
   *
   * @default {1024}
   */
  maxConnections?: number;
  /**
   * The most connections from one client address at once; more are
   * answered `503 Service Unavailable` and closed. With `maxConnections`,
   * this keeps one slow client (slowloris) from taking every slot.
   *
   * @default {256, or maxConnections when that is smaller}
   */
  maxConnectionsPerAddress?: number;
  /**
   * Compress responses as `Deno.serve` does: gzip, brotli or deflate by the
   * request's `Accept-Encoding`, for text, JSON, XML, JavaScript, SVG and
   * the like at least `threshold` bytes long (streams of unknown length
   * too); never ranges, HEAD, bodies that already have a `Content-Encoding`
   * or `Cache-Control: no-transform`. `false` turns it off.
   *
   * @default {true, with threshold 1024}
   */
  compression?: boolean | { threshold?: number };
  /**
   * Listen with `SO_REUSEPORT` (Linux): several processes or workers can
   * serve one port, the kernel spreading connections over them.
   *
   * @default {false}
   */
  reusePort?: boolean;
  /**
   * Milliseconds for a whole request head, from its first byte (and for the
   * first request, from the accept). Then 408 and close (slowloris).
   *
   * @default {30000}
   */
  headersTimeout?: number;
  /**
   * Milliseconds an idle connection is kept between requests.
   *
   * @default {5000}
   */
  keepAliveTimeout?: number;
  /**
   * The most bytes in a request line; more is answered with 414.
   *
   * @default {8192}
   */
  maxRequestLineSize?: number;
  /**
   * The most bytes in a request's header section; more is answered with 431.
   *
   * @default {16384}
   */
  maxHeaderSize?: number;
  /**
   * The most header fields in a request; more is answered with 431.
   *
   * @default {100}
   */
  maxHeaderCount?: number;
  /**
   * The most bytes `request.text()`, `json()`, `bytes()`, `arrayBuffer()`,
   * `blob()` and `formData()` read; more throws `ProtocolError`
   * `"BODY_TOO_LARGE"`, answered with 413 if the handler lets it escape.
   * Streaming `request.body` is not capped (it keeps backpressure).
   *
   * @default {16777216}
   */
  maxBodySize?: number;
  /**
   * The most bytes of an unread request body the server reads and discards
   * to keep the connection; a longer one closes it.
   *
   * @default {65536}
   */
  maxDrainSize?: number;
}

/** Options for {@linkcode HttpServer.shutdown}. */
export interface HttpShutdownOptions {
  /**
   * Milliseconds to let requests in flight finish before their connections
   * are closed.
   *
   * @default {5000}
   */
  timeout?: number;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot start server: ${name} ${value} is not a non-negative integer`);
  }
  return value;
}

/**
 * An HTTP/1.1 server on {@linkcode TcpServer}, the modern BaseHTTPServer:
 * handlers take a web `Request` and return a web `Response`, as with
 * `Deno.serve`, on an engine of its own (RFC 9112): keep-alive, pipelining
 * answered in order, `Expect: 100-continue`, chunked bodies both ways,
 * request smuggling refused, every input bounded, slow clients timed out
 * (the whole head within `headersTimeout`; a body read or a response write
 * that makes no progress for 30 seconds, or `headersTimeout` if longer,
 * closes the connection), and a graceful shutdown. `serve()` is the
 * function form.
 *
 * @example Serving one request
 * ```ts
 * import { HttpServer } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = new HttpServer({ port: 0 }, (request) =>
 *   new Response(`You asked for ${new URL(request.url).pathname}`));
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/hello`);
 * assertEquals(await response.text(), "You asked for /hello");
 * ```
 */
export class HttpServer implements AsyncDisposable {
  #tcp!: TcpServer;
  #config: ServerConfig;
  #deadlines: DeadlineClock;
  #external = new Set<Promise<void>>();
  #externalConns = new Set<ServerConn>();
  #finished: Promise<void>;
  #shutdown: Promise<void> | null = null;

  /**
   * Starts listening at once.
   *
   * @param options Where to listen, TLS, limits and timeouts.
   * @param handler Answers each request.
   * @throws {RangeError} If a limit or timeout is not a valid number.
   * @throws {TypeError} If only one of `cert` and `key` is given.
   * @throws {Deno.errors.AddrInUse} And the other listen errors.
   */
  constructor(options: ServeOptions, handler: ServeHandler) {
    if (typeof handler !== "function") {
      throw new TypeError("Cannot start server: the handler is not a function");
    }
    const headersTimeout = nonNegative(options.headersTimeout ?? 30000, "headersTimeout");
    const keepAliveTimeout = nonNegative(options.keepAliveTimeout ?? 5000, "keepAliveTimeout");
    const clock = new ServerClock();
    // One timer for the clock, the Date header and every connection's
    // deadline: the TcpServer's clock, ticking even when idle.
    const deadlines = new DeadlineClock({
      persistent: true,
      resolution: Math.max(
        10,
        Math.min(1000, Math.floor(Math.min(headersTimeout || 1000, keepAliveTimeout || 1000) / 4)),
      ),
    });
    const maxConnections = options.maxConnections ?? 1024;
    deadlines.onTick = (now) => {
      clock.tick(now);
      // Near the connection cap, heads and idle keep-alive connections get
      // less time (as nginx and hyper do): slow clients make room sooner.
      const load = this.#tcp === undefined ? 0 : this.#tcp.connections / maxConnections;
      const pressure = load <= 0.5 ? 1 : Math.max(0.05, 2 * (1 - load));
      if (pressure < config.pressure) {
        for (const conn of config.conns) conn.tighten(pressure);
      }
      config.pressure = pressure;
    };
    this.#deadlines = deadlines;
    this.#config = {
      handler: handler as ServerConfig["handler"],
      onError: options.onError ?? defaultOnError,
      accessLog: options.accessLog ?? null,
      limits: requestLimits(options),
      headersTimeout,
      keepAliveTimeout,
      stallTimeout: Math.max(headersTimeout, 30000),
      maxBodySize: nonNegative(options.maxBodySize ?? 16 * 1024 * 1024, "maxBodySize"),
      maxDrainSize: nonNegative(options.maxDrainSize ?? 65536, "maxDrainSize"),
      scheme: options.cert !== undefined ? "https" : "http",
      clock,
      conns: new Set(),
      pressure: 1,
      compression: options.compression === false ? null : {
        threshold: nonNegative(
          (typeof options.compression === "object" ? options.compression.threshold : undefined) ??
            1024,
          "compression.threshold",
        ),
        encodings: ["gzip", "br", "deflate"],
      },
    };
    const config = this.#config;
    this.#tcp = new TcpServer({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 8000,
      cert: options.cert,
      key: options.key,
      maxConnections,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? Math.min(256, maxConnections),
      onOverload: answerOverload,
      overloadTimeout: 1000,
      reusePort: options.reusePort,
      clock: deadlines,
      onError: (error) => console.error("HttpServer: cannot accept:", error),
    }, async (conn, info) => {
      const served = new ServerConn(conn, info, config);
      config.conns.add(served);
      const onAbort = () => served.shutdown();
      if (info.signal.aborted) served.shutdown();
      else info.signal.addEventListener("abort", onAbort, { once: true });
      try {
        // A forced shutdown stops waiting for a handler that never returns.
        await Promise.race([served.run(), served.killed]);
      } finally {
        info.signal.removeEventListener("abort", onAbort);
        config.conns.delete(served);
      }
    });
    this.#finished = this.#tcp.finished.then(async () => {
      while (this.#external.size > 0) await Promise.allSettled([...this.#external]);
    }).finally(() => {
      deadlines.close();
      options.signal?.removeEventListener("abort", onAbort);
    });
    const onAbort = () => void this.shutdown();
    if (options.signal?.aborted) queueMicrotask(onAbort);
    else options.signal?.addEventListener("abort", onAbort, { once: true });
  }

  /**
   * Serves HTTP/1.1 on a connection that did not come through this server's
   * listener (a TLS stream upgraded elsewhere, a tunnel, an in-memory duplex
   * in a test), with the server's handler, limits and deadlines. It counts
   * for shutdown like the others.
   *
   * @param conn The connection; it is closed when serving ends.
   * @param addresses The addresses to report when the duplex has none.
   * @returns Settles when the connection is done.
   * @throws {TypeError} If the server is shutting down.
   */
  serveConnection(
    conn: DuplexConn,
    addresses?: { remoteAddr?: Deno.NetAddr; localAddr?: Deno.NetAddr },
  ): Promise<void> {
    addresses ??= {};
    if (this.#shutdown !== null) {
      closeQuietly(conn);
      return Promise.reject(new TypeError("Cannot serve connection: the server is shutting down"));
    }
    const unknown: Deno.NetAddr = { transport: "tcp", hostname: "0.0.0.0", port: 0 };
    const deadline = new ConnectionDeadline(this.#deadlines, {
      onExpire: () => closeQuietly(conn),
    });
    const served = new ServerConn(conn, {
      remoteAddr: addresses.remoteAddr ?? remoteNetAddr(conn) ?? unknown,
      localAddr: addresses.localAddr ?? localNetAddr(conn) ?? unknown,
      deadline,
    }, this.#config);
    this.#config.conns.add(served);
    this.#externalConns.add(served);
    const task: Promise<void> = Promise.race([served.run(), served.killed]).finally(() => {
      deadline.dispose();
      closeQuietly(conn);
      this.#config.conns.delete(served);
      this.#externalConns.delete(served);
      this.#external.delete(task);
    });
    this.#external.add(task);
    return task;
  }

  /**
   * Lets the process exit while the server is the only thing running (like
   * `Deno.serve`'s `unref()`); connections in progress are not affected.
   */
  unref(): void {
    this.#tcp.unref();
    this.#deadlines.unref();
  }

  /** Undoes {@linkcode HttpServer.unref}: the server keeps the process alive again. */
  ref(): void {
    this.#tcp.ref();
    this.#deadlines.ref();
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#tcp.addr;
  }

  /** The number of open connections. */
  get connections(): number {
    return this.#tcp.connections;
  }

  /** Settles when the server has shut down and every connection has ended. */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /**
   * Stops accepting, closes idle connections, lets requests in flight finish
   * (their responses carry `Connection: close`) for up to `timeout`
   * milliseconds, then closes what is left.
   *
   * @param options The grace period.
   */
  shutdown(options?: HttpShutdownOptions): Promise<void> {
    options ??= {};
    this.#shutdown ??= this.#doShutdown(options.timeout ?? 5000);
    return this.#shutdown;
  }

  async #doShutdown(timeout: number): Promise<void> {
    const conns = this.#config.conns;
    const timer = setTimeout(() => {
      for (const conn of conns) conn.kill();
    }, timeout);
    for (const served of this.#externalConns) served.shutdown();
    try {
      await this.#tcp.shutdown({ timeout });
      await this.#finished;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Shuts down with the default grace period. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

const OVERLOADED = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain;charset=utf-8\r\n" +
    "content-length: 20\r\nretry-after: 1\r\nconnection: close\r\n\r\nService Unavailable\n",
);

/** Over a connection cap: a short 503, then close (the server does). */
async function answerOverload(conn: Deno.Conn): Promise<void> {
  await conn.write(OVERLOADED);
  await conn.closeWrite().catch(() => {});
}

function defaultOnError(error: unknown): Response {
  console.error("HttpServer: the handler failed:", error);
  return new Response("Internal Server Error", { status: 500 });
}
