import { ConnectionDeadline } from "./connection_deadline.ts";
import { DeadlineClock } from "./deadline_clock.ts";
import { closeQuietly } from "./_io.ts";

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
  /** A PEM certificate chain: with `key`, the server speaks TLS from the first byte. */
  cert?: string;
  /** The PEM private key for `cert`. */
  key?: string;
  /** ALPN protocols to offer with TLS. */
  alpnProtocols?: string[];
  /**
   * Listen with `SO_REUSEPORT` (Linux): several processes or workers may
   * listen on one port and the kernel spreads connections over them.
   *
   * @default {false}
   */
  reusePort?: boolean;
  /**
   * The most connections handled at once. At the cap the server stops
   * accepting (new clients wait in the kernel's backlog) until one ends,
   * unless `onOverload` is set: then it accepts and hands the extra
   * connection to `onOverload`, which can say why (`421`, `-ERR`, `* BYE`).
   *
   * @default {1024}
   */
  maxConnections?: number;
  /**
   * The most connections from one client address at once; more go to
   * `onOverload`, or are closed at once.
   *
   * @default {maxConnections}
   */
  maxConnectionsPerAddress?: number;
  /**
   * Answers a connection over a cap, then the server closes it (after
   * `overloadTimeout` at the latest). At most 64 run at once; beyond that,
   * extra connections are closed without a word.
   */
  onOverload?: (conn: Deno.Conn, info: TcpOverloadInfo) => void | Promise<void>;
  /**
   * Milliseconds `onOverload` may take.
   *
   * @default {2000}
   */
  overloadTimeout?: number;
  /**
   * Milliseconds a connection may be idle before it is closed: the handler
   * keeps it alive with `info.deadline.touch()` (a server-side `TextConn`
   * given `progress: info.deadline` does so on every read and write). 0 for
   * no idle timeout.
   *
   * @default {0}
   */
  idleTimeout?: number;
  /**
   * Milliseconds a connection may last in all; 0 for no limit.
   *
   * @default {0}
   */
  connectionTimeout?: number;
  /**
   * The clock that sweeps the connections' deadlines. Pass one to share it
   * (an HTTP server ticks its `Date` cache on it).
   *
   * @default {a clock with 100 ms resolution}
   */
  clock?: DeadlineClock;
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
  /**
   * The connection's idle, phase and total deadlines. At expiry the
   * connection is closed, unless the handler replaced `onExpire` to say
   * goodbye first (then it closes, or returns from the handler, itself).
   */
  deadline: ConnectionDeadline;
}

/** What `onOverload` learns about a connection over a cap. */
export interface TcpOverloadInfo {
  /** Which cap: the total number of connections, or those from one address. */
  reason: "connections" | "address";
  /** The client's address. */
  remoteAddr: Deno.NetAddr;
  /** The local address the client reached. */
  localAddr: Deno.NetAddr;
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
const MAX_OVERLOAD_HANDLERS = 64;

/**
 * A TCP (or TLS) server that runs a handler per connection, the modern
 * SocketServer: total and per-address connection caps with an overload
 * answer, per-connection idle and total deadlines swept by one timer,
 * accept-error backoff that survives running out of file descriptors, and a
 * graceful shutdown that lets handlers finish within a deadline.
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
 *
 * @example A busy answer at the cap
 * ```ts
 * import { TcpServer } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const encoder = new TextEncoder();
 * await using server = new TcpServer({
 *   port: 0,
 *   maxConnections: 1,
 *   onOverload: async (conn) => void await conn.write(encoder.encode("421 busy\r\n")),
 * }, async (conn, info) => {
 *   await new Promise((resolve) => info.signal.addEventListener("abort", resolve));
 * });
 * const first = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const second = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * assertEquals(await new Response(second.readable).text(), "421 busy\r\n");
 * first.close();
 * ```
 */
export class TcpServer implements AsyncDisposable {
  #listener: Deno.Listener;
  #handler: TcpHandler;
  #onError: (error: unknown) => void;
  #maxConnections: number;
  #maxPerAddress: number;
  #onOverload: TcpServerOptions["onOverload"];
  #overloadTimeout: number;
  #overloading = 0;
  #idleTimeout: number;
  #totalTimeout: number;
  #clock: DeadlineClock;
  #ownClock: boolean;
  #perAddress = new Map<string, number>();
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
   * @param options Where to listen, TLS, limits, deadlines.
   * @param handler Serves each connection.
   * @throws {RangeError} If a cap is not a positive integer or a timeout is negative.
   * @throws {Deno.errors.AddrInUse} And the other listen errors.
   */
  constructor(options: TcpServerOptions, handler: TcpHandler) {
    const maxConnections = options.maxConnections ?? 1024;
    if (!Number.isInteger(maxConnections) || maxConnections < 1) {
      throw new RangeError(`Cannot start server: maxConnections ${maxConnections} is not positive`);
    }
    const perAddress = options.maxConnectionsPerAddress ?? maxConnections;
    if (!Number.isInteger(perAddress) || perAddress < 1) {
      throw new RangeError(
        `Cannot start server: maxConnectionsPerAddress ${perAddress} is not positive`,
      );
    }
    this.#idleTimeout = nonNegative(options.idleTimeout ?? 0, "idleTimeout");
    this.#totalTimeout = nonNegative(options.connectionTimeout ?? 0, "connectionTimeout");
    this.#overloadTimeout = nonNegative(options.overloadTimeout ?? 2000, "overloadTimeout");
    this.#maxConnections = maxConnections;
    this.#maxPerAddress = perAddress;
    this.#onOverload = options.onOverload;
    this.#handler = handler;
    this.#onError = options.onError ?? ((error) => console.error("TcpServer:", error));
    const hostname = options.hostname ?? "127.0.0.1";
    const port = options.port ?? 0;
    if (options.cert !== undefined || options.key !== undefined) {
      if (options.cert === undefined || options.key === undefined) {
        throw new TypeError("Cannot start TLS server: both cert and key are needed");
      }
      this.#listener = Deno.listenTls(
        {
          hostname,
          port,
          cert: options.cert,
          key: options.key,
          alpnProtocols: options.alpnProtocols,
          reusePort: options.reusePort,
        } as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem,
      );
    } else {
      this.#listener = Deno.listen({ hostname, port, reusePort: options.reusePort });
    }
    this.#ownClock = options.clock === undefined;
    this.#clock = options.clock ?? new DeadlineClock({ resolution: 100 });
    this.#signal = options.signal;
    if (options.signal?.aborted) queueMicrotask(this.#onSignal);
    options.signal?.addEventListener("abort", this.#onSignal, { once: true });
    this.#finished = this.#acceptLoop();
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr as Deno.NetAddr;
  }

  /** The number of connections being handled (overload answers not counted). */
  get connections(): number {
    return this.#conns.size;
  }

  /** The connection cap. */
  get maxConnections(): number {
    return this.#maxConnections;
  }

  /** The clock that sweeps the connections' deadlines. */
  get clock(): DeadlineClock {
    return this.#clock;
  }

  /** Settles when the server has shut down and every handler has ended. */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /** Lets the process exit while only this server is running (like `Deno.Listener.unref`). */
  unref(): void {
    this.#listener.unref();
  }

  /** Undoes {@linkcode TcpServer.unref}. */
  ref(): void {
    this.#listener.ref();
  }

  async #acceptLoop(): Promise<void> {
    let backoff = 0;
    const stopped = this.#shutdown.signal;
    while (!stopped.aborted) {
      if (this.#conns.size >= this.#maxConnections && this.#onOverload === undefined) {
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
      // Replies go out as written (TCP_NODELAY): with Nagle's algorithm a
      // second small write waits for the ACK of the first, which a client
      // may delay by 40 ms (a reply written in pieces, the dot after a
      // listing, FTP's 226 after 150). Every protocol on this server wants that.
      try {
        (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
      } catch {
        // not a TCP socket, or already closed
      }
      const remote = conn.remoteAddr as Deno.NetAddr;
      const from = this.#perAddress.get(remote.hostname) ?? 0;
      if (this.#conns.size >= this.#maxConnections) this.#overload(conn, "connections");
      else if (from >= this.#maxPerAddress) this.#overload(conn, "address");
      else this.#serve(conn, remote);
    }
    await Promise.allSettled([...this.#tasks]);
    if (this.#ownClock) this.#clock.close();
  }

  #overload(conn: Deno.Conn, reason: TcpOverloadInfo["reason"]): void {
    const answer = this.#onOverload;
    if (answer === undefined || this.#overloading >= MAX_OVERLOAD_HANDLERS) {
      closeQuietly(conn);
      return;
    }
    this.#overloading++;
    const info: TcpOverloadInfo = {
      reason,
      remoteAddr: conn.remoteAddr as Deno.NetAddr,
      localAddr: conn.localAddr as Deno.NetAddr,
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#overloadTimeout);
    });
    const task: Promise<void> = Promise.race([
      (async () => await answer(conn, info))().catch(() => {}),
      expired,
    ]).finally(() => {
      clearTimeout(timer);
      closeQuietly(conn);
      this.#overloading--;
      this.#tasks.delete(task);
    });
    this.#tasks.add(task);
  }

  #serve(conn: Deno.Conn, remote: Deno.NetAddr): void {
    this.#conns.add(conn);
    const host = remote.hostname;
    this.#perAddress.set(host, (this.#perAddress.get(host) ?? 0) + 1);
    const deadline = new ConnectionDeadline(this.#clock, {
      idleTimeout: this.#idleTimeout,
      totalTimeout: this.#totalTimeout,
      onExpire: () => closeQuietly(conn),
    });
    const info: TcpConnectionInfo = {
      remoteAddr: remote,
      localAddr: conn.localAddr as Deno.NetAddr,
      signal: this.#shutdown.signal,
      deadline,
    };
    const task: Promise<void> = this.#handle(conn, info).finally(() => {
      deadline.dispose();
      closeQuietly(conn);
      this.#conns.delete(conn);
      const left = (this.#perAddress.get(host) ?? 1) - 1;
      if (left === 0) this.#perAddress.delete(host);
      else this.#perAddress.set(host, left);
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
  shutdown(options?: TcpShutdownOptions): Promise<void> {
    options ??= {};
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

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Cannot start server: ${name} ${value} is not a non-negative number`);
  }
  return value;
}
