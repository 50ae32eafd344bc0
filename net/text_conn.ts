import { BufferedReader } from "./buffered_reader.ts";
import { type ChunkSource, chunkSourceStream } from "./chunk_source.ts";
import type { TlsOptions } from "./connect_tcp.ts";
import { clientClock, type DeadlineEntry } from "./deadline_clock.ts";
import type { DuplexConn } from "./duplex_conn.ts";
import { closeQuietly } from "./_io.ts";
import { LineWriter } from "./line_writer.ts";
import { ProtocolError } from "./protocol_error.ts";
import { upgradeClientTls } from "./_tls_upgrade.ts";

/** Options for {@linkcode TextConn}. */
export interface TextConnOptions {
  /**
   * The reader's initial buffer size in bytes.
   *
   * @default {65536}
   */
  bufferSize?: number;
  /**
   * What to do with bytes the peer sends while no command is running (after
   * the first lease was released): `"error"` makes the next
   * {@linkcode TextConn.acquire} close the connection and throw a
   * {@linkcode ProtocolError} `"UNSOLICITED"`, so a reply that arrived
   * before its command was sent is never read as that command's answer
   * (SMTP without pipelining, POP3, NNTP, FTP). `"allow"` leaves them for
   * the next command (IMAP's untagged data, server sides).
   *
   * @default {"allow"}
   */
  unsolicited?: "error" | "allow";
  /**
   * Milliseconds a lease may go without bytes moving before the connection
   * is closed; a lease's own `idleTimeout` overrides it. 0 turns it off.
   *
   * @default {0}
   */
  idleTimeout?: number;
  /**
   * Touched on every read and write: a server connection's deadline from
   * `TcpServer` (`info.deadline`), so that idle sessions time out while busy
   * ones never do.
   */
  progress?: { touch(): void };
}

/** Options for {@linkcode TextConn.acquire} and {@linkcode TextConn.run}. */
export interface TextConnRunOptions {
  /**
   * Aborts the command: the connection is closed (a half-read reply cannot
   * be resumed) and the command rejects with the signal's reason. To stop
   * waiting *without* closing, pass a signal to the reader's calls instead
   * (`lease.reader.readLine({ signal })`).
   */
  signal?: AbortSignal;
  /** Milliseconds the whole command may take; then it is aborted with a `TimeoutError`. */
  timeout?: number;
  /**
   * Milliseconds without any byte moving (either way) before the command is
   * aborted with a `TimeoutError`; every read and write, and
   * {@linkcode TextConnLease.touch}, starts it again. A 2 GiB download is not
   * killed by it as long as bytes keep coming.
   *
   * @default {the connection's idleTimeout}
   */
  idleTimeout?: number;
  /**
   * Wait for the command in flight to finish instead of throwing.
   *
   * @default {false}
   */
  queue?: boolean;
}

/** Options for {@linkcode TextConnLease.stream}. */
export interface LeaseStreamOptions {
  /**
   * Called after the body was read to its end and before the lease is
   * released (FTP reads its 226 here).
   */
  onEnd?: () => void | Promise<void>;
  /**
   * The most bytes a cancel drains to keep the connection; beyond it the
   * connection is closed.
   *
   * @default {65536}
   */
  drainLimit?: number;
  /**
   * Whether an error thrown by `onEnd` leaves the connection in step: a
   * refusal that was read in full (FTP's `426` or `451` after the data).
   * Then the lease is released and the connection stays open; otherwise it
   * is closed. The body errors with that error either way.
   *
   * @default {() => false}
   */
  intact?: (error: unknown) => boolean;
}

/**
 * The right to run one command on a {@linkcode TextConn}: its reader and
 * writer, until {@linkcode TextConnLease.release}. A lease can outlive the
 * call that took it: a streamed reply body (a POP3 RETR, an NNTP ARTICLE,
 * an IMAP literal, an FTP transfer) holds it until the body is consumed or
 * cancelled ({@linkcode TextConnLease.stream}), so the next command never
 * reads a stale tail.
 */
export class TextConnLease implements AsyncDisposable {
  #conn: TextConn;
  #released = false;
  #entry: DeadlineEntry | null = null;
  #idle: number;
  #controller = new AbortController();
  #cleanup: (() => void) | null = null;
  #streaming = false;

  /** @internal Use {@linkcode TextConn.acquire}. */
  constructor(conn: TextConn, options: TextConnRunOptions, idle: number) {
    this.#conn = conn;
    this.#idle = idle;
    const abort = (reason: unknown) => {
      if (this.#controller.signal.aborted) return;
      this.#controller.abort(reason);
      conn.close();
    };
    const signal = options.signal;
    if (signal !== undefined) {
      const onAbort = () => abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#cleanup = () => signal.removeEventListener("abort", onAbort);
    }
    const total = options.timeout;
    if (idle > 0 || (total !== undefined && total >= 0)) {
      const now = clientClock.now;
      const totalAt = total !== undefined && total >= 0 ? now + total : 0;
      const entry: DeadlineEntry & { totalAt: number } = {
        at: 0,
        totalAt,
        expire: () => {
          const overall = entry.totalAt !== 0 && clientClock.now >= entry.totalAt;
          abort(
            new DOMException(
              overall
                ? `Command timed out after ${total} ms`
                : `Command timed out after ${idle} ms without progress`,
              "TimeoutError",
            ),
          );
        },
      };
      this.#entry = entry;
      clientClock.add(entry);
      this.#arm();
    }
  }

  #arm(): void {
    const entry = this.#entry as (DeadlineEntry & { totalAt: number }) | null;
    if (entry === null) return;
    const idleAt = this.#idle > 0 ? clientClock.now + this.#idle : 0;
    entry.at = idleAt === 0
      ? entry.totalAt
      : entry.totalAt === 0
      ? idleAt
      : Math.min(idleAt, entry.totalAt);
  }

  /** The connection's reader (the TLS one after `startTls`). */
  get reader(): BufferedReader {
    return this.#conn.reader;
  }

  /** The connection's writer (the TLS one after `startTls`). */
  get writer(): LineWriter {
    return this.#conn.writer;
  }

  /** Aborted when the command's signal aborts or a timeout passes; the connection is closed then. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the lease was released. */
  get released(): boolean {
    return this.#released;
  }

  /** Whether a body stream holds the lease (see {@linkcode TextConnLease.stream}). */
  get streaming(): boolean {
    return this.#streaming;
  }

  /**
   * Counts progress made elsewhere (bytes on an FTP data connection), so
   * the idle timeout starts again.
   */
  touch(): void {
    if (this.#entry !== null && !this.#released) this.#arm();
  }

  /** Gives the connection back; the next command may start. Safe to repeat. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#cleanup?.();
    if (this.#entry !== null) clientClock.delete(this.#entry);
    this.#conn._released(this);
  }

  /**
   * Closes the connection (its state is unknown: a reply half read, a body
   * abandoned) and releases the lease.
   */
  fail(): void {
    this.#conn.close();
    this.release();
  }

  /**
   * Streams a reply body out of this lease: the lease is held until the
   * stream is read to its end (then `onEnd` runs and the lease is released)
   * or cancelled (then what is left is drained up to `drainLimit`, and the
   * connection is closed if that is not enough). An error closes it too,
   * unless it came from `onEnd` and `intact` says the connection is in step.
   *
   * @param source The body, e.g. a `BoundedReader` or `DotStuffedReader`.
   * @param options The end hook, the drain limit and the `intact` test.
   * @returns The body as a stream with backpressure.
   */
  stream(source: ChunkSource, options?: LeaseStreamOptions): ReadableStream<Uint8Array> {
    options ??= {};
    this.#streaming = true;
    return chunkSourceStream({
      read: () => this.#guard(source.read()),
      readInto: source.readInto === undefined
        ? undefined
        : (buffer) => this.#guard(source.readInto!(buffer)),
      drain: source.drain === undefined ? undefined : (limit) => source.drain!(limit),
    }, {
      drainLimit: options.drainLimit,
      onEnd: async () => {
        try {
          await this.#guard(Promise.resolve(options.onEnd?.()));
        } catch (error) {
          if (options.intact?.(error) === true && !this.#conn.closed) this.release();
          else this.fail();
          throw error;
        }
        this.release();
      },
      onAbandon: (inSync) => {
        if (inSync && !this.#conn.closed) this.release();
        else this.fail();
      },
    });
  }

  /** Replaces an error caused by this lease's abort with the abort's reason. */
  async #guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      if (this.#controller.signal.aborted) throw this.#controller.signal.reason;
      throw error;
    }
  }

  /** Releases the lease. */
  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}

/**
 * A connection for line protocols: a duplex with a {@linkcode BufferedReader},
 * a {@linkcode LineWriter}, one command in flight at a time (a
 * {@linkcode TextConnLease}), per-command total and idle timeouts, a guard
 * against replies nobody asked for, and in-place STARTTLS. Protocol clients
 * (SMTP, FTP, POP3, NNTP, ...) and the server sides are built on it.
 *
 * @example Running one command against a scripted server
 * ```ts
 * import { readReply, TextConn } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const written: string[] = [];
 * const conn = new TextConn({
 *   readable: ReadableStream.from([new TextEncoder().encode("250 OK\r\n")]),
 *   writable: new WritableStream({ write: (c) => void written.push(new TextDecoder().decode(c)) }),
 *   close() {},
 * });
 * const reply = await conn.run(async () => {
 *   await conn.writer.writeLine("NOOP");
 *   return await readReply(conn.reader, { expect: 250 });
 * }, { timeout: 1000 });
 * assertEquals(reply.code, 250);
 * assertEquals(written, ["NOOP\r\n"]);
 * conn.close();
 * ```
 *
 * @example A lease held by a streamed body
 * ```ts
 * import { BoundedReader, TextConn } from "@inetkit/inetkit/net";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const conn = new TextConn({
 *   readable: ReadableStream.from([new TextEncoder().encode("+OK 5\r\nhello")]),
 *   writable: new WritableStream(),
 *   close() {},
 * });
 * const lease = await conn.acquire();
 * const size = Number((await lease.reader.readLine())!.slice(4));
 * const body = lease.stream(new BoundedReader(lease.reader, size));
 * await assertRejects(() => conn.acquire(), TypeError); // still held
 * assertEquals(await new Response(body).text(), "hello");
 * (await conn.acquire()).release(); // free again
 * conn.close();
 * ```
 */
export class TextConn implements AsyncDisposable {
  #conn: DuplexConn;
  #reader: BufferedReader;
  #writer: LineWriter;
  #lease: TextConnLease | null = null;
  #queue: (() => void)[] = [];
  #closed = false;
  #tls = false;
  #bufferSize: number | undefined;
  #unsolicitedMode: "error" | "allow";
  #unsolicited = false;
  #watching = false;
  #idleTimeout: number;
  #progress: { touch(): void } | null;
  #onProgress = () => {
    this.#progress?.touch();
    this.#lease?.touch();
  };

  /**
   * Wraps a connection. A `Deno.Conn` is read and written directly through
   * its `read`/`write` methods; other duplexes through their streams.
   *
   * @param conn The connection; this object owns it from now on.
   * @param options The buffer size, the unsolicited-data rule, timeouts.
   * @throws {RangeError} If `idleTimeout` is negative.
   */
  constructor(conn: DuplexConn, options?: TextConnOptions) {
    options ??= {};
    this.#bufferSize = options.bufferSize;
    this.#unsolicitedMode = options.unsolicited ?? "allow";
    this.#idleTimeout = options.idleTimeout ?? 0;
    if (!Number.isFinite(this.#idleTimeout) || this.#idleTimeout < 0) {
      throw new RangeError(
        `Cannot use idleTimeout ${this.#idleTimeout}: not a non-negative number`,
      );
    }
    this.#progress = options.progress ?? null;
    this.#conn = conn;
    this.#tls = isTlsConn(conn);
    [this.#reader, this.#writer] = this.#wrap(conn);
  }

  #wrap(conn: DuplexConn): [BufferedReader, LineWriter] {
    const options = { bufferSize: this.#bufferSize, onRead: this.#onProgress };
    const writeOptions = { onWrite: this.#onProgress };
    if (hasReadWrite(conn)) {
      return [new BufferedReader(conn, options), new LineWriter(conn, writeOptions)];
    }
    return [
      new BufferedReader(conn.readable, options),
      new LineWriter(conn.writable, writeOptions),
    ];
  }

  /** The reader for what the peer sends. */
  get reader(): BufferedReader {
    return this.#reader;
  }

  /** The writer for what goes to the peer. */
  get writer(): LineWriter {
    return this.#writer;
  }

  /** The current transport: the TLS connection after {@linkcode TextConn.startTls}. */
  get conn(): DuplexConn {
    return this.#conn;
  }

  /** Whether the transport is TLS. */
  get tls(): boolean {
    return this.#tls;
  }

  /** Whether {@linkcode TextConn.close} was called or a command was aborted. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether a lease is held (a command, or a body being streamed, is in flight). */
  get busy(): boolean {
    return this.#lease !== null;
  }

  /**
   * Takes the connection for one command. Release the lease when the
   * command's reply has been read (or hand it to a streamed body with
   * {@linkcode TextConnLease.stream}); `await using` releases it at the end
   * of a block.
   *
   * @param options The closing signal, the total and idle timeouts, and
   *   whether to queue behind a command in flight.
   * @returns The lease.
   * @throws {TypeError} If another command is running (without `queue`), or
   *   the connection is closed.
   * @throws {ProtocolError} `"UNSOLICITED"` when, with `unsolicited:
   *   "error"`, the peer sent bytes while no command was running (the
   *   connection is closed), or `"UNEXPECTED_EOF"` when it hung up then.
   */
  async acquire(options?: TextConnRunOptions): Promise<TextConnLease> {
    options ??= {};
    this.#checkOpen();
    while (this.#lease !== null) {
      if (options.queue !== true) {
        throw new TypeError(
          "Cannot send command while another is running: did you forget await?",
        );
      }
      await new Promise<void>((resolve) => this.#queue.push(resolve));
      this.#checkOpen();
    }
    options.signal?.throwIfAborted();
    if (this.#unsolicited) {
      const preview = describeBytes(this.#reader.peekBuffered());
      const eof = this.#reader.buffered === 0 && this.#reader.eof;
      this.close();
      if (eof) {
        throw new ProtocolError(
          "UNEXPECTED_EOF",
          "Cannot send command: the server closed the connection",
        );
      }
      throw new ProtocolError(
        "UNSOLICITED",
        `Cannot send command: the server sent data before it was asked: ${preview}`,
      );
    }
    const lease = new TextConnLease(this, options, options.idleTimeout ?? this.#idleTimeout);
    this.#lease = lease;
    return lease;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TypeError("Cannot send command: the connection is closed");
  }

  /** @internal Called by a lease when it is released. */
  _released(lease: TextConnLease): void {
    if (this.#lease !== lease) return;
    this.#lease = null;
    if (this.#unsolicitedMode === "error" && !this.#closed) this.#watch();
    this.#queue.shift()?.();
  }

  /**
   * Keeps a read pending between commands: anything that arrives before the
   * next command answers no command of ours.
   */
  #watch(): void {
    const reader = this.#reader;
    if (reader.buffered > 0) {
      this.#unsolicited = true;
      return;
    }
    if (this.#watching) return;
    this.#watching = true;
    const settled = () => {
      this.#watching = false;
      if (this.#lease === null && !this.#closed && reader === this.#reader) {
        this.#unsolicited = true;
      }
    };
    reader.fill().then(settled, settled);
  }

  /**
   * Runs one command: `fn` writes and reads on this connection while no other
   * command may start. When the signal aborts or a timeout passes, the
   * connection is closed (a half-read reply cannot be resumed) and `run`
   * rejects with the reason.
   *
   * @param fn The exchange; it receives the lease. If it returns a body made
   *   with {@linkcode TextConnLease.stream}, the lease stays held until that
   *   body is consumed or cancelled.
   * @param options A signal, total and idle timeouts in milliseconds, queueing.
   * @returns What `fn` returns.
   * @throws {TypeError} If another command is running, or the connection is closed.
   */
  async run<T>(
    fn: (lease: TextConnLease) => Promise<T>,
    options?: TextConnRunOptions,
  ): Promise<T> {
    options ??= {};
    const lease = await this.acquire(options);
    const aborted = new Promise<never>((_, reject) => {
      if (lease.signal.aborted) reject(lease.signal.reason);
      lease.signal.addEventListener("abort", () => reject(lease.signal.reason), { once: true });
    });
    aborted.catch(() => {});
    try {
      const work = fn(lease);
      // The work fails too once the connection closes; its error is not the news.
      work.catch(() => {});
      return await Promise.race([work, aborted]);
    } finally {
      // A body stream made from the lease releases it when it ends.
      if (!lease.streaming) lease.release();
    }
  }

  /**
   * Upgrades the connection to TLS in place (STARTTLS, STLS, AUTH TLS). Call
   * it after the server agreed, while holding the command's lease. Bytes the
   * server sent before the handshake are an injection attack (CVE-2011-0411
   * and kin): the connection is closed and an error thrown.
   *
   * @param options Server name and trusted CAs.
   * @param signal Ends a stalled handshake (a lease's `signal`).
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` when unread bytes are buffered.
   * @throws {TypeError} When the transport is not a `Deno.TcpConn`.
   */
  async startTls(options?: TlsOptions, signal?: AbortSignal): Promise<void> {
    options ??= {};
    if (this.#reader.buffered > 0 || this.#reader.reading) {
      this.close();
      throw new ProtocolError(
        "STARTTLS_INJECTION",
        "Cannot start TLS: the server sent data before the handshake",
      );
    }
    const tcp = this.#conn;
    if (!isTcpConn(tcp)) {
      throw new TypeError("Cannot start TLS: the transport is not a TCP connection");
    }
    this.#reader.release();
    this.#writer.release();
    const lease = this.#lease;
    const abort = signal ?? lease?.signal;
    let tls: Deno.TlsConn;
    try {
      tls = await upgradeClientTls(tcp, {
        hostname: options.hostname ?? tcp.remoteAddr.hostname,
        caCerts: options.caCerts,
        alpnProtocols: options.alpnProtocols,
      }, abort);
    } catch (error) {
      this.#closed = true;
      throw error;
    }
    this.adoptTls(tls);
  }

  /**
   * Switches to a transport that was upgraded to TLS elsewhere (the server
   * side's `startTlsServer`): the reader and writer are replaced. The old
   * reader must hold no bytes (check before upgrading).
   *
   * @param conn The TLS duplex.
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` when unread bytes are buffered.
   */
  adoptTls(conn: DuplexConn): void {
    if (this.#reader.buffered > 0) {
      this.close();
      throw new ProtocolError(
        "STARTTLS_INJECTION",
        "Cannot start TLS: the peer sent data before the handshake",
      );
    }
    try {
      this.#reader.release();
      this.#writer.release();
    } catch {
      // released already by startTls
    }
    this.#conn = conn;
    this.#tls = true;
    [this.#reader, this.#writer] = this.#wrap(conn);
    if (this.#closed) closeQuietly(conn);
  }

  /**
   * Hands the transport over to its next owner (a server-side TLS upgrade):
   * releases the reader and writer and returns the connection, which this
   * object no longer reads or writes until {@linkcode TextConn.adoptTls}.
   *
   * @returns The transport.
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` when unread bytes are
   *   buffered (a client that pipelined past STARTTLS).
   */
  detach(): DuplexConn {
    if (this.#reader.buffered > 0 || this.#reader.reading) {
      this.close();
      throw new ProtocolError(
        "STARTTLS_INJECTION",
        "Cannot start TLS: the peer sent data before the handshake",
      );
    }
    this.#reader.release();
    this.#writer.release();
    return this.#conn;
  }

  /** Closes the connection; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
    for (const wake of this.#queue.splice(0)) wake();
  }

  /** Closes the connection. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

interface ReadWrite {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
}

function hasReadWrite(conn: unknown): conn is ReadWrite {
  const c = conn as Partial<ReadWrite>;
  return typeof c.read === "function" && typeof c.write === "function";
}

function isTcpConn(conn: DuplexConn): conn is Deno.TcpConn {
  const addr = conn.remoteAddr;
  return addr !== undefined && addr.transport === "tcp" && !isTlsConn(conn) &&
    typeof (conn as Partial<Deno.TcpConn>).read === "function";
}

function isTlsConn(conn: DuplexConn): boolean {
  return typeof (conn as Partial<Deno.TlsConn>).handshake === "function";
}

/** The first line of some bytes, printable and short, for error messages. */
function describeBytes(bytes: Uint8Array): string {
  let end = bytes.indexOf(10);
  if (end < 0) end = bytes.length;
  const text = new TextDecoder().decode(bytes.subarray(0, Math.min(end, 80)))
    // deno-lint-ignore no-control-regex
    .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return JSON.stringify(text);
}
