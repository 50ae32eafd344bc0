import { BufferedReader } from "./buffered_reader.ts";
import type { TlsOptions } from "./connect_tcp.ts";
import { LineWriter } from "./line_writer.ts";
import { ProtocolError } from "./protocol_error.ts";

/**
 * A two-way byte connection: what protocol classes take. A `Deno.Conn`
 * is one; so is a scripted test peer.
 */
export interface DuplexConn {
  /** Bytes from the peer. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. */
  writable: WritableStream<Uint8Array>;
  /** Closes both directions. */
  close(): void;
}

/** Options for {@linkcode TextConn}. */
export interface TextConnOptions {
  /**
   * The reader's initial buffer size in bytes.
   *
   * @default {65536}
   */
  bufferSize?: number;
}

/** Options for {@linkcode TextConn.run}. */
export interface TextConnRunOptions {
  /** Aborts the command: the connection is closed and `run` rejects with the reason. */
  signal?: AbortSignal;
  /** Milliseconds the command may take; then it is aborted with a `TimeoutError`. */
  timeout?: number;
}

interface ReadWrite {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
}

function hasReadWrite(conn: unknown): conn is ReadWrite {
  const c = conn as Partial<ReadWrite>;
  return typeof c.read === "function" && typeof c.write === "function";
}

/**
 * A connection for line protocols: a duplex with a {@linkcode BufferedReader},
 * a {@linkcode LineWriter}, one command in flight at a time, per-command
 * timeouts, and in-place STARTTLS. Protocol clients (SMTP, FTP, POP3, ...)
 * are built on it.
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
 */
export class TextConn implements AsyncDisposable {
  #conn: DuplexConn;
  #reader: BufferedReader;
  #writer: LineWriter;
  #busy = false;
  #closed = false;
  #tls = false;
  #bufferSize: number | undefined;

  /**
   * Wraps a connection. A `Deno.Conn` is read and written directly through
   * its `read`/`write` methods; other duplexes through their streams.
   *
   * @param conn The connection; this object owns it from now on.
   * @param options The reader's buffer size.
   */
  constructor(conn: DuplexConn, options: TextConnOptions = {}) {
    this.#bufferSize = options.bufferSize;
    this.#conn = conn;
    this.#tls = isTlsConn(conn);
    [this.#reader, this.#writer] = this.#wrap(conn);
  }

  #wrap(conn: DuplexConn): [BufferedReader, LineWriter] {
    const options = { bufferSize: this.#bufferSize };
    if (hasReadWrite(conn)) {
      return [new BufferedReader(conn, options), new LineWriter(conn)];
    }
    return [new BufferedReader(conn.readable, options), new LineWriter(conn.writable)];
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

  /**
   * Runs one command: `fn` writes and reads on this connection while no other
   * command may start. When the signal aborts or the timeout passes, the
   * connection is closed (a half-read reply cannot be resumed) and `run`
   * rejects with the reason.
   *
   * @param fn The exchange.
   * @param options A signal and a timeout in milliseconds.
   * @returns What `fn` returns.
   * @throws {TypeError} If another command is running, or the connection is closed.
   */
  async run<T>(fn: () => Promise<T>, options: TextConnRunOptions = {}): Promise<T> {
    if (this.#closed) throw new TypeError("Cannot send command: the connection is closed");
    if (this.#busy) {
      throw new TypeError("Cannot send command while another is running: did you forget await?");
    }
    const signals: AbortSignal[] = [];
    if (options.signal) signals.push(options.signal);
    if (options.timeout !== undefined) signals.push(AbortSignal.timeout(options.timeout));
    const signal = signals.length === 0
      ? undefined
      : signals.length === 1
      ? signals[0]!
      : AbortSignal.any(signals);
    signal?.throwIfAborted();
    this.#busy = true;
    let onAbort: (() => void) | undefined;
    const aborted = signal === undefined ? undefined : new Promise<never>((_, reject) => {
      onAbort = () => {
        this.close();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const work = fn();
      if (aborted === undefined) return await work;
      // The work fails too once the connection closes; its error is not the news.
      work.catch(() => {});
      return await Promise.race([work, aborted]);
    } finally {
      if (onAbort) signal!.removeEventListener("abort", onAbort);
      this.#busy = false;
    }
  }

  /**
   * Upgrades the connection to TLS in place (STARTTLS, STLS, AUTH TLS). Call
   * it after the server agreed. Bytes the server sent before the handshake
   * are an injection attack (CVE-2011-0411 and kin): the connection is closed
   * and an error thrown.
   *
   * @param options Server name and trusted CAs.
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` when unread bytes are buffered.
   * @throws {TypeError} When the transport is not a `Deno.TcpConn`.
   */
  async startTls(options: TlsOptions = {}): Promise<void> {
    if (this.#reader.buffered > 0) {
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
    let tls: Deno.TlsConn;
    try {
      tls = await Deno.startTls(tcp, {
        hostname: options.hostname ?? hostnameOf(tcp),
        caCerts: options.caCerts,
        alpnProtocols: options.alpnProtocols,
      });
    } catch (error) {
      this.close();
      throw error;
    }
    // From here close() (a timeout in run(), say) closes the TLS connection,
    // which ends a stalled handshake.
    this.#conn = tls;
    this.#tls = true;
    [this.#reader, this.#writer] = this.#wrap(tls);
    if (this.#closed) {
      this.#closed = false;
      this.close();
    }
    try {
      await tls.handshake();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Closes the connection; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  /** Closes the connection. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

function isTcpConn(conn: DuplexConn): conn is Deno.TcpConn {
  const addr = (conn as Partial<Deno.Conn>).remoteAddr;
  return addr !== undefined && addr.transport === "tcp" && !isTlsConn(conn);
}

function isTlsConn(conn: DuplexConn): boolean {
  return typeof (conn as Partial<Deno.TlsConn>).handshake === "function";
}

function hostnameOf(conn: Deno.TcpConn): string {
  return conn.remoteAddr.hostname;
}
