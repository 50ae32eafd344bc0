import { listenUdp } from "./_udp_support.ts";

/** Options for {@linkcode UdpServer}. */
export interface UdpServerOptions {
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
  /** Aborting it closes the server. */
  signal?: AbortSignal;
  /**
   * Receives handler errors and send errors; the server keeps running.
   *
   * @default {logs to console.error}
   */
  onError?: (error: unknown) => void;
}

/** Options for {@linkcode UdpServer.shutdown}. */
export interface UdpShutdownOptions {
  /**
   * Milliseconds to wait for running handlers before `shutdown()` resolves
   * (they are told through `Datagram.signal`; `finished` still waits for
   * them).
   *
   * @default {5000}
   */
  timeout?: number;
}

/** One received datagram. */
export interface Datagram {
  /** The payload; may be empty (zero-length datagrams are delivered). */
  data: Uint8Array;
  /** Who sent it. */
  remoteAddr: Deno.NetAddr;
  /** Aborted when the server shuts down. */
  signal: AbortSignal;
  /** Sends a datagram back to the sender. */
  reply(data: Uint8Array): Promise<void>;
}

/** Answers one datagram. */
export type UdpHandler = (datagram: Datagram) => void | Promise<void>;

/**
 * A UDP server over `Deno.listenDatagram`: iterate it with `for await` to
 * receive datagrams, or give it a handler. Each datagram carries a `reply`
 * helper. It stops like {@linkcode TcpServer}: `shutdown()` (or `close()`,
 * the same thing without waiting, or `await using`), and `finished`
 * settles once it has stopped and its handlers have ended.
 *
 * `Deno.listenDatagram` is an unstable API: Deno needs `--unstable-net`
 * (or `"unstable": ["net"]` in `deno.json`); without it the constructor
 * throws a `Deno.errors.NotSupported` that says so.
 *
 * @example An echo server driven by a handler
 * ```ts
 * import { UdpServer } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = new UdpServer({ port: 0 }, (d) => d.reply(d.data));
 * const client = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
 * await client.send(new TextEncoder().encode("ping"), server.addr);
 * const [data] = await client.receive();
 * client.close();
 * assertEquals(new TextDecoder().decode(data), "ping");
 * ```
 *
 * @example Stopping with shutdown()
 * ```ts
 * import { UdpServer } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const server = new UdpServer({ port: 0 }, (d) => d.reply(d.data));
 * await server.shutdown();
 * await server.finished;
 * assertEquals(server.closed, true);
 * ```
 */
export class UdpServer implements AsyncDisposable, AsyncIterable<Datagram> {
  #socket: Deno.DatagramConn;
  #onError: (error: unknown) => void;
  #closed = false;
  #stopping = new AbortController();
  #finished: Promise<void>;
  #signal: AbortSignal | undefined;
  #onSignal = () => void this.close();
  #tasks = new Set<Promise<void>>();

  /**
   * Binds the socket at once.
   *
   * @param options Where to listen.
   * @param handler Answers each datagram; without it, iterate the server.
   * @throws {Deno.errors.NotSupported} When Deno runs without `--unstable-net`.
   * @throws {Deno.errors.AddrInUse} And the other bind errors.
   */
  constructor(options?: UdpServerOptions, handler?: UdpHandler) {
    options ??= {};
    this.#socket = listenUdp(
      { hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 0 },
      "start UDP server",
    );
    this.#onError = options.onError ?? ((error) => console.error("UdpServer:", error));
    this.#signal = options.signal;
    if (options.signal?.aborted) queueMicrotask(this.#onSignal);
    options.signal?.addEventListener("abort", this.#onSignal, { once: true });
    this.#finished = handler ? this.#run(handler) : Promise.resolve();
  }

  /** The bound address. */
  get addr(): Deno.NetAddr {
    return this.#socket.addr as Deno.NetAddr;
  }

  /**
   * Settles when the server is closed and running handlers have ended (at
   * once for a server without a handler, which ends when it is closed).
   */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /** Whether the server was shut down or closed. */
  get closed(): boolean {
    return this.#closed;
  }

  async #run(handler: UdpHandler): Promise<void> {
    for await (const datagram of this) {
      const task = (async () => {
        try {
          await handler(datagram);
        } catch (error) {
          if (!this.#closed) this.#onError(error);
        }
      })();
      this.#tasks.add(task);
      task.finally(() => this.#tasks.delete(task));
    }
    await Promise.allSettled([...this.#tasks]);
  }

  /** Receives datagrams until the server is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<Datagram> {
    // One reused receive buffer (the largest UDP payload); each datagram is
    // copied out at its own size.
    const buffer = new Uint8Array(65536);
    while (!this.#closed) {
      let received: [Uint8Array, Deno.Addr];
      try {
        received = await this.#socket.receive(buffer);
      } catch (error) {
        if (this.#closed) return;
        // A transient receive error (for example an ICMP error surfaced
        // on the socket) must not stop the server.
        this.#onError(error);
        continue;
      }
      const [data, addr] = received;
      const remoteAddr = addr as Deno.NetAddr;
      yield {
        data: data.slice(),
        remoteAddr,
        signal: this.#stopping.signal,
        reply: async (bytes: Uint8Array) => {
          await this.#socket.send(bytes, remoteAddr);
        },
      };
    }
  }

  /**
   * Stops the server: closes the socket (iteration ends), aborts
   * `Datagram.signal`, and waits up to `timeout` milliseconds for running
   * handlers; `finished` settles when they have all ended. The same name
   * and shape as {@linkcode TcpServer.shutdown}.
   *
   * @param options The grace period for running handlers.
   * @returns When the handlers ended or the grace period ran out.
   */
  async shutdown(options?: UdpShutdownOptions): Promise<void> {
    this.close();
    const timeout = options?.timeout ?? 5000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)));
    await Promise.race([this.#finished, expired]);
    clearTimeout(timer);
  }

  /**
   * Closes the socket at once and tells running handlers, without waiting
   * for them: {@linkcode UdpServer.shutdown} without the wait (await
   * `finished` for that).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onSignal);
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
    this.#stopping.abort();
  }

  /** Closes the socket and waits for running handlers. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#finished;
  }
}
