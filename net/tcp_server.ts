/** Options for {@linkcode TcpServer}. */
export interface TcpServerOptions {
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port to listen on; 0 picks a free one (see `addr`).
   *
   * @default {0}
   */
  port?: number;
  /** A PEM certificate chain: with `key`, the server speaks TLS. */
  cert?: string;
  /** The PEM private key for `cert`. */
  key?: string;
  /** ALPN protocols to offer with TLS. */
  alpnProtocols?: string[];
  /**
   * The most connections handled at once. At the cap the server stops
   * accepting (new clients wait in the kernel's backlog) until one ends.
   *
   * @default {1024}
   */
  maxConnections?: number;
  /** Aborting it starts {@linkcode TcpServer.shutdown}. */
  signal?: AbortSignal;
  /**
   * Receives handler errors and accept errors. The server keeps running.
   *
   * @default {logs to console.error}
   */
  onError?: (error: unknown) => void;
}

/** What a {@linkcode TcpHandler} learns about its connection. */
export interface TcpConnectionInfo {
  /** The client's address. */
  remoteAddr: Deno.NetAddr;
  /** The local address the client reached. */
  localAddr: Deno.NetAddr;
  /** Aborted when the server starts shutting down: finish up and return. */
  signal: AbortSignal;
}

/** Serves one connection; the server closes `conn` when it settles. */
export type TcpHandler = (conn: Deno.Conn, info: TcpConnectionInfo) => void | Promise<void>;

/** Options for {@linkcode TcpServer.shutdown}. */
export interface TcpShutdownOptions {
  /**
   * Milliseconds to let handlers finish before their connections are closed.
   *
   * @default {5000}
   */
  timeout?: number;
}

const MIN_BACKOFF = 5;
const MAX_BACKOFF = 1000;

/**
 * A TCP (or TLS) server that runs a handler per connection, the modern
 * SocketServer: a connection cap, accept-error backoff that survives running
 * out of file descriptors, and a graceful shutdown that lets handlers finish
 * within a deadline.
 *
 * @example An echo server
 * ```ts
 * import { TcpServer } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = new TcpServer({ port: 0 }, async (conn) => {
 *   await conn.readable.pipeTo(conn.writable, { preventClose: true });
 * });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await conn.write(new TextEncoder().encode("ping"));
 * await conn.closeWrite();
 * assertEquals(await new Response(conn.readable).text(), "ping");
 * ```
 */
export class TcpServer implements AsyncDisposable {
  #listener: Deno.Listener;
  #handler: TcpHandler;
  #onError: (error: unknown) => void;
  #maxConnections: number;
  #conns = new Set<Deno.Conn>();
  #tasks = new Set<Promise<void>>();
  #shutdown = new AbortController();
  #slotFreed: (() => void) | null = null;
  #finished: Promise<void>;
  #shutdownPromise: Promise<void> | null = null;
  #signal: AbortSignal | undefined;
  #onSignal = () => void this.shutdown();

  /**
   * Starts listening at once.
   *
   * @param options Where to listen, TLS, limits.
   * @param handler Serves each connection.
   * @throws {RangeError} If `maxConnections` is not a positive integer.
   * @throws {Deno.errors.AddrInUse} And the other listen errors.
   */
  constructor(options: TcpServerOptions, handler: TcpHandler) {
    const maxConnections = options.maxConnections ?? 1024;
    if (!Number.isInteger(maxConnections) || maxConnections < 1) {
      throw new RangeError(`Cannot start server: maxConnections ${maxConnections} is not positive`);
    }
    this.#maxConnections = maxConnections;
    this.#handler = handler;
    this.#onError = options.onError ?? ((error) => console.error("TcpServer:", error));
    const hostname = options.hostname ?? "127.0.0.1";
    const port = options.port ?? 0;
    if (options.cert !== undefined || options.key !== undefined) {
      if (options.cert === undefined || options.key === undefined) {
        throw new TypeError("Cannot start TLS server: both cert and key are needed");
      }
      this.#listener = Deno.listenTls({
        hostname,
        port,
        cert: options.cert,
        key: options.key,
        alpnProtocols: options.alpnProtocols,
      });
    } else {
      this.#listener = Deno.listen({ hostname, port });
    }
    this.#signal = options.signal;
    if (options.signal?.aborted) queueMicrotask(this.#onSignal);
    options.signal?.addEventListener("abort", this.#onSignal, { once: true });
    this.#finished = this.#acceptLoop();
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr as Deno.NetAddr;
  }

  /** The number of connections being handled. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Settles when the server has shut down and every handler has ended. */
  get finished(): Promise<void> {
    return this.#finished;
  }

  async #acceptLoop(): Promise<void> {
    let backoff = 0;
    const stopped = this.#shutdown.signal;
    while (!stopped.aborted) {
      if (this.#conns.size >= this.#maxConnections) {
        await new Promise<void>((resolve) => (this.#slotFreed = resolve));
        this.#slotFreed = null;
        continue;
      }
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
        backoff = 0;
      } catch (error) {
        if (stopped.aborted || error instanceof Deno.errors.BadResource) break;
        // EMFILE and kin: wait and try again rather than spin or die.
        this.#onError(error);
        backoff = backoff === 0 ? MIN_BACKOFF : Math.min(backoff * 2, MAX_BACKOFF);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        continue;
      }
      if (stopped.aborted) {
        closeQuietly(conn);
        break;
      }
      this.#serve(conn);
    }
    await Promise.allSettled([...this.#tasks]);
  }

  #serve(conn: Deno.Conn): void {
    this.#conns.add(conn);
    const info: TcpConnectionInfo = {
      remoteAddr: conn.remoteAddr as Deno.NetAddr,
      localAddr: conn.localAddr as Deno.NetAddr,
      signal: this.#shutdown.signal,
    };
    const task: Promise<void> = this.#handle(conn, info).finally(() => {
      closeQuietly(conn);
      this.#conns.delete(conn);
      this.#tasks.delete(task);
      this.#slotFreed?.();
    });
    this.#tasks.add(task);
  }

  async #handle(conn: Deno.Conn, info: TcpConnectionInfo): Promise<void> {
    try {
      await this.#handler(conn, info);
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource && this.#shutdown.signal.aborted)) {
        this.#onError(error);
      }
    }
  }

  /**
   * Stops accepting, signals handlers through `info.signal`, waits for them up
   * to `timeout` milliseconds, then closes the connections still open and
   * waits for their handlers to end.
   *
   * @param options The grace period.
   */
  shutdown(options: TcpShutdownOptions = {}): Promise<void> {
    this.#shutdownPromise ??= this.#doShutdown(options.timeout ?? 5000);
    return this.#shutdownPromise;
  }

  async #doShutdown(timeout: number): Promise<void> {
    this.#signal?.removeEventListener("abort", this.#onSignal);
    this.#shutdown.abort();
    closeQuietly(this.#listener);
    this.#slotFreed?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)));
    await Promise.race([Promise.allSettled([...this.#tasks]), expired]);
    clearTimeout(timer);
    for (const conn of this.#conns) closeQuietly(conn);
    await this.#finished;
  }

  /** Shuts down with the default grace period. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // already closed
  }
}
