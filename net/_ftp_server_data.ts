/**
 * The FTP server's data connections: one passive listener or one active
 * target per session, accepted only from (or dialled only to) the control
 * connection's peer, TLS under `PROT P`, read and written through the
 * connection's own `read`/`write` when plain.
 *
 * @module
 */
import { connectTcp } from "./connect_tcp.ts";
import type { FtpHostPort } from "./_ftp_address.ts";
import { closeQuietly, writeAll } from "./_io.ts";
import { startTlsServer, type TlsServerConn } from "./start_tls_server.ts";

/** A data connection as a transfer sees it. */
export interface FtpDataChannel {
  /** Reads up to `p.length` bytes; `null` at the end. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes all of `p` (the caller may reuse `p` afterwards). */
  write(p: Uint8Array): Promise<void>;
  /** Ends the connection in order (TLS close_notify) after the last write or read. */
  finish(): Promise<void>;
  /** Closes at once (also to interrupt a pending read or write). */
  close(): void;
}

/** Options for {@linkcode FtpDataConnections}. */
export interface FtpDataOptions {
  /** The control connection's peer address. */
  peer: string;
  /** The control connection's local address (passive listeners bind to it). */
  local: string;
  /** The passive port range, inclusive. */
  passivePorts?: readonly [number, number];
  /** Milliseconds to wait for the peer to connect, or to connect to it. */
  connectTimeout: number;
}

/** Options for {@linkcode FtpDataConnections.open}. */
export interface FtpDataOpenOptions {
  /** Abandons the wait and closes what was opened. */
  signal: AbortSignal;
  /**
   * Certificate and key when the channel must be TLS (`PROT P`), and the
   * highest version to negotiate.
   */
  tls: { cert: string; key: string; maxVersion?: "TLSv1.2" | "TLSv1.3" } | null;
}

type Pending =
  | { kind: "passive"; listener: Deno.Listener; accepted: Promise<Deno.TcpConn | null> }
  | { kind: "active"; target: FtpHostPort };

/**
 * The address as one form: an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`,
 * as dual-stack sockets report) as its IPv4 address, IPv6 lower-cased.
 */
export function plainHost(hostname: string): string {
  const lower = hostname.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped === null ? lower : mapped[1]!;
}

/** Whether two addresses name the same host. */
export function sameHost(a: string, b: string): boolean {
  return plainHost(a) === plainHost(b);
}

/** A plain TCP data connection, read and written directly. */
function tcpChannel(conn: Deno.Conn): FtpDataChannel {
  return {
    read: (p) => conn.read(p),
    write: (p) => writeAll(conn, p),
    finish: () => Promise.resolve(),
    close: () => closeQuietly(conn),
  };
}

/** How long a TLS data connection waits for the peer's close_notify after ours. */
const TLS_FINISH_WAIT = 2000;
/** The most decrypted bytes a TLS data connection holds ahead of the transfer. */
const TLS_READ_AHEAD = 1024 * 1024;
const RAW_CHUNK = 65536;
/** Milliseconds without decrypted bytes after the peer's FIN that end a TLS upload. */
const TLS_QUIET = 100;

/** Counts decrypted bytes not yet taken by the transfer; the raw reads wait on it. */
class ReadAheadGate {
  queued = 0;
  /** Resolves when the decrypted side ended (close_notify) or was closed; set after the handshake. */
  decryptedEnd: Promise<void> | null = null;
  /** Whether the peer closed the TCP connection. */
  rawEnded = false;
  /** When decrypted bytes last arrived (ms since the epoch). */
  lastDecrypted = 0;
  #waiters: (() => void)[] = [];

  /** Resolves once fewer than the cap are queued (or the gate is opened for good). */
  async room(): Promise<void> {
    while (this.queued >= TLS_READ_AHEAD) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Wakes the waiting raw read. */
  release(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/**
 * The encrypted side of a TLS data connection, read only when the
 * decrypted queue has room: backpressure is applied here, before TLS, so
 * the TLS socket itself is never paused (Deno 2.9's node:tls drops the
 * peer's close_notify, the end of an upload that Python's `unwrap()`
 * sends, when it arrives while the TLS socket is paused; the upload would
 * never end).
 */
function gatedReadable(conn: Deno.Conn, gate: ReadAheadGate): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await gate.room();
      const chunk = new Uint8Array(RAW_CHUNK);
      let n: number | null;
      try {
        n = await conn.read(chunk);
      } catch (error) {
        // A reset loses what the peer had not sent yet: the upload fails
        // (curl resets when it closes with our session tickets unread; vsftpd
        // answers 426 then too).
        controller.error(error);
        return;
      }
      if (n !== null) {
        controller.enqueue(chunk.subarray(0, n));
        return;
      }
      // The peer's FIN often follows its close_notify at once (lftp), or
      // comes without one (curl): ending the encrypted side before node:tls
      // has handed over everything decrypted makes it fail with a premature
      // close and drop the rest. Wait for the close_notify, or for the
      // decrypted bytes to stop coming.
      gate.rawEnded = true;
      const end = gate.decryptedEnd;
      if (end !== null) {
        let settled = false;
        void end.then(() => (settled = true));
        const started = Date.now();
        while (!settled && Date.now() - started < TLS_FINISH_WAIT) {
          if (Date.now() - Math.max(gate.lastDecrypted, started) >= TLS_QUIET) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
      controller.close();
    },
    cancel() {
      closeQuietly(conn);
    },
  }, { highWaterMark: 0 });
}

/**
 * A TLS data connection (node:tls through web streams), its decrypted
 * bytes read eagerly into a queue that the gate bounds.
 */
function tlsChannel(tls: TlsServerConn, gate: ReadAheadGate): FtpDataChannel {
  const reader = tls.readable.getReader();
  const writer = tls.writable.getWriter();
  const queue: Uint8Array[] = [];
  let ended = false;
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  let decryptedEnd!: () => void;
  gate.decryptedEnd = new Promise<void>((resolve) => (decryptedEnd = resolve));
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        queue.push(value);
        gate.queued += value.length;
        gate.lastDecrypted = Date.now();
        notify();
      }
    } catch (error) {
      // A TCP end without close_notify ends an upload, as vsftpd's default
      // (strict_ssl_read_eof=NO) has it: curl sends none.
      if (!gate.rawEnded) failure = { error };
    } finally {
      ended = true;
      decryptedEnd();
      notify();
    }
  })();
  const read = async (p: Uint8Array): Promise<number | null> => {
    while (queue.length === 0) {
      if (failure !== null) throw failure.error;
      if (ended) return null;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    const head = queue[0]!;
    const n = Math.min(p.length, head.length);
    p.set(head.subarray(0, n));
    if (n < head.length) queue[0] = head.subarray(n);
    else queue.shift();
    gate.queued -= n;
    gate.release();
    return n;
  };
  return {
    read,
    // The stream may hold the chunk after the promise settles.
    write: (p) => writer.write(p.slice()),
    finish: async () => {
      // Our close_notify, then the peer's (Python's unwrap() waits for ours
      // and sends its own); closing before reading it could reset the
      // connection under data the peer has not read yet. When the peer
      // ended first, node:tls has already ended our side (no half-open).
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, TLS_FINISH_WAIT)));
      const closing = writer.close().catch((error) => {
        if (!ended) throw error;
      });
      const drained = closing.then(async () => {
        const sink = new Uint8Array(16384);
        let total = 0;
        while (total < 65536) {
          const n = await read(sink);
          if (n === null) return;
          total += n;
        }
      });
      try {
        await Promise.race([drained, waited]);
      } finally {
        clearTimeout(timer);
        drained.catch(() => {});
      }
    },
    close: () => {
      reader.cancel().catch(() => {});
      tls.close();
      gate.queued = 0;
      gate.release();
      decryptedEnd();
      notify();
    },
  };
}

/**
 * The data connection of one FTP session: set up by `PASV`/`EPSV`
 * (listen) or `PORT`/`EPRT` (remember where to connect), used by the next
 * transfer command, then gone (one connection per `PASV`).
 */
export class FtpDataConnections {
  #options: FtpDataOptions;
  #pending: Pending | null = null;

  /**
   * Creates the manager for one control connection.
   *
   * @param options The peer and local addresses, the port range, the timeout.
   */
  constructor(options: FtpDataOptions) {
    this.#options = options;
  }

  /** What the next transfer will use, or `null` before PASV/PORT. */
  get pending(): "passive" | "active" | null {
    return this.#pending?.kind ?? null;
  }

  /**
   * Listens for a passive data connection (closing any earlier one) and
   * starts accepting: connections from other addresses than the control
   * peer's are closed at once; the first from the peer is kept and the
   * listener closed.
   *
   * @returns The port listened on.
   * @throws {Deno.errors.AddrInUse} If every port of the range is taken.
   */
  listen(): number {
    this.discard();
    const listener = this.#bind();
    const peer = this.#options.peer;
    const accepted = (async () => {
      try {
        for (;;) {
          const conn = await listener.accept();
          if (sameHost((conn.remoteAddr as Deno.NetAddr).hostname, peer)) {
            return conn as Deno.TcpConn;
          }
          closeQuietly(conn); // not the client: FTP bounce or port stealing
        }
      } catch {
        return null; // closed by discard()
      } finally {
        closeQuietly(listener);
      }
    })();
    this.#pending = { kind: "passive", listener, accepted };
    return (listener.addr as Deno.NetAddr).port;
  }

  #bind(): Deno.Listener {
    const hostname = this.#options.local;
    const range = this.#options.passivePorts;
    if (range === undefined) return Deno.listen({ hostname, port: 0 });
    const [from, to] = range;
    const count = to - from + 1;
    const start = Math.floor(Math.random() * count);
    for (let i = 0; i < count; i++) {
      try {
        return Deno.listen({ hostname, port: from + ((start + i) % count) });
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      }
    }
    throw new Deno.errors.AddrInUse(
      `Cannot listen for a data connection: ports ${from}-${to} are all in use`,
    );
  }

  /**
   * Remembers where to connect for the next transfer (`PORT`, `EPRT`); the
   * caller has checked the address.
   *
   * @param target The client's address and port.
   */
  connectTo(target: FtpHostPort): void {
    this.discard();
    this.#pending = { kind: "active", target };
  }

  /**
   * Takes the pending data connection: waits for the passive one (up to the
   * timeout) or connects to the active one.
   *
   * @param signal Abandons the wait and closes what was opened.
   * @returns The TCP connection; see {@linkcode FtpDataConnections.channel}.
   * @throws {TypeError} If nothing is pending.
   * @throws {DOMException} A `TimeoutError`, or the signal's reason.
   * @throws {Error} A connect error.
   */
  async open(signal: AbortSignal): Promise<Deno.Conn> {
    const pending = this.#pending;
    this.#pending = null;
    if (pending === null) throw new TypeError("Cannot open data connection: no PASV or PORT");
    const timeout = this.#options.connectTimeout;
    if (pending.kind === "active") {
      return await connectTcp({
        hostname: pending.target.hostname,
        port: pending.target.port,
        timeout,
        signal,
      });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DOMException(`No data connection within ${timeout} ms`, "TimeoutError")),
        timeout,
      );
      onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const accepted = await Promise.race([pending.accepted, stop]);
      if (accepted === null) throw new Deno.errors.BadResource("The data listener was closed");
      return accepted;
    } catch (error) {
      closeQuietly(pending.listener);
      pending.accepted.then((late) => closeQuietly(late), () => {});
      throw error;
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Makes the channel a transfer uses from an open data connection: TLS
   * (the server side of the handshake, which the client starts after the
   * `150` reply) when a certificate is given, plain otherwise.
   *
   * @param conn The connection from {@linkcode FtpDataConnections.open}.
   * @param options The abort signal and the TLS certificate.
   * @returns The channel.
   * @throws {Error} A TLS handshake error (the connection is closed).
   */
  async channel(conn: Deno.Conn, options: FtpDataOpenOptions): Promise<FtpDataChannel> {
    if (options.tls === null) return tcpChannel(conn);
    const gate = new ReadAheadGate();
    const gated = {
      readable: gatedReadable(conn, gate),
      writable: conn.writable,
      remoteAddr: conn.remoteAddr,
      localAddr: conn.localAddr,
      close: () => closeQuietly(conn),
    };
    const tls = await startTlsServer(gated, {
      cert: options.tls.cert,
      key: options.tls.key,
      maxVersion: options.tls.maxVersion,
      timeout: this.#options.connectTimeout,
      signal: options.signal,
    });
    return tlsChannel(tls, gate);
  }

  /** Drops the pending data connection, if any (closes a listener or an accepted connection). */
  discard(): void {
    const pending = this.#pending;
    this.#pending = null;
    if (pending?.kind === "passive") {
      closeQuietly(pending.listener);
      pending.accepted.then((late) => closeQuietly(late), () => {});
    }
  }
}
