/**
 * FTP data connections for `FtpClient`: dialling the port of a passive
 * reply, listening for the server in active mode (one connection, from the
 * control connection's peer only), TLS on the data connection (`PROT P`),
 * and reading and writing it in large pieces.
 *
 * @module
 */
import { closeQuietly, writeAll } from "./_io.ts";
import { ProtocolError } from "./protocol_error.ts";
import { upgradeClientTls } from "./_tls_upgrade.ts";

/** TLS settings of protected data connections. */
export interface FtpDataTls {
  /** The name checked in the server's certificate. */
  hostname: string;
  /** Extra trusted CA certificates (PEM). */
  caCerts?: string[];
}

/** A data connection being set up. */
export interface FtpPendingData {
  /** Where the data goes or comes from, for messages. */
  readonly description: string;
  /**
   * Finishes the connection once the transfer command was sent: accepts the
   * server's connection (active mode) and does the TLS handshake. Rejects
   * when the signal aborts.
   */
  establish(signal: AbortSignal): Promise<Deno.Conn>;
  /** Gives up: closes the socket or the listener. */
  close(): void;
}

/** The size of one read from a data connection. */
export const DATA_CHUNK = 256 * 1024;

function dataConnectFailed(where: string, cause: unknown): ProtocolError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ProtocolError(
    "DATA_CONNECT_FAILED",
    `Cannot open data connection to ${where}: ${reason}`,
    { cause },
  );
}

/**
 * Dials the data port of a passive reply. The TLS handshake waits for
 * `establish`, after the command was sent: servers start it only then.
 * The wait is bounded by `signal`: the transfer's, which its idle timeout
 * (`dataTimeout`) aborts, so no timer of its own is armed per file.
 */
export async function connectPassive(
  hostname: string,
  port: number,
  options: { tls: FtpDataTls | null; signal: AbortSignal },
): Promise<FtpPendingData> {
  const where = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot open data connection to ${where}: port is out of range`);
  }
  let tcp: Deno.Conn;
  try {
    options.signal.throwIfAborted();
    tcp = await Deno.connect({ hostname, port, transport: "tcp", signal: options.signal });
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    if (error instanceof DOMException) throw error;
    throw dataConnectFailed(where, error);
  }
  let closed = false;
  return {
    description: where,
    async establish(signal) {
      if (closed) throw new TypeError("Cannot use data connection: it was closed");
      if (options.tls === null) return tcp;
      return await upgradeClientTls(tcp as Deno.TcpConn, options.tls, signal);
    },
    close() {
      closed = true;
      closeQuietly(tcp);
    },
  };
}

/** A listener for an active-mode data connection and the address to announce. */
export interface FtpActiveListener {
  /** The local address to send with `EPRT`/`PORT`. */
  hostname: string;
  /** The port listened on. */
  port: number;
  /** The connection to come. */
  pending: FtpPendingData;
}

function sameHost(a: string, b: string): boolean {
  const bare = (h: string) => h.toLowerCase().replace(/^\[|\]$/g, "").replace(/^::ffff:/, "");
  return bare(a) === bare(b);
}

/**
 * Listens on `hostname` (port 0) for the one connection the server opens
 * in active mode. Connections from any host other than `peer` (the control
 * connection's peer) are closed and the wait goes on, so nobody else can
 * feed or read the transfer (RFC 2577 §3); with `peer` `null` (a duplex
 * without an address) any host is accepted.
 */
export function listenActive(
  hostname: string,
  peer: string | null,
  options: { tls: FtpDataTls | null },
): FtpActiveListener {
  const listener = Deno.listen({ hostname, port: 0, transport: "tcp" });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    closeQuietly(listener);
  };
  const addr = listener.addr;
  return {
    hostname: addr.hostname,
    port: addr.port,
    pending: {
      description: `${addr.hostname}:${addr.port} (active mode)`,
      // The wait is bounded by the transfer's idle timeout (the signal).
      async establish(signal) {
        const stop = () => close();
        signal.addEventListener("abort", stop, { once: true });
        let conn: Deno.Conn | undefined;
        try {
          while (conn === undefined) {
            let accepted: Deno.Conn;
            try {
              accepted = await listener.accept();
            } catch (error) {
              if (signal.aborted) throw signal.reason;
              throw dataConnectFailed(`${addr.hostname}:${addr.port}`, error);
            }
            const from = (accepted.remoteAddr as Deno.NetAddr).hostname;
            if (peer !== null && !sameHost(from, peer)) {
              // Someone else connected first: not the server, never the data.
              closeQuietly(accepted);
              continue;
            }
            conn = accepted;
          }
        } finally {
          signal.removeEventListener("abort", stop);
          close();
        }
        if (options.tls === null) return conn;
        return await upgradeClientTls(conn as Deno.TcpConn, options.tls, signal);
      },
      close,
    },
  };
}

/**
 * Reads a data connection into `buffer`; `null` at its end. A peer that
 * closed without TLS close_notify (rustls's `UnexpectedEof`) counts as the
 * end: the final reply on the control connection says whether the data
 * was complete.
 */
export async function readDataInto(conn: Deno.Conn, buffer: Uint8Array): Promise<number | null> {
  try {
    return await conn.read(buffer);
  } catch (error) {
    if (error instanceof Deno.errors.UnexpectedEof) return null;
    throw error;
  }
}

/** The first read's size: a small file should not cost a large buffer. */
const FIRST_CHUNK = 16 * 1024;

/**
 * Reads a data connection in pieces that grow while the reads fill them
 * (16 KiB, doubling up to 256 KiB), so a small file costs a small buffer
 * and a large one is read in large pieces. Each piece is a new array.
 */
export class FtpDataReader {
  #conn: Deno.Conn;
  #size = FIRST_CHUNK;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next piece, or `null` at the end. */
  async read(): Promise<Uint8Array | null> {
    const size = this.#size;
    const buffer = new Uint8Array(size);
    const n = await readDataInto(this.#conn, buffer);
    if (n === null) return null;
    if (n === size && size < DATA_CHUNK) this.#size = size * 2;
    // A short read (a TLS record) should not pin a whole buffer.
    return n < size / 4 ? buffer.slice(0, n) : buffer.subarray(0, n);
  }
}

/**
 * Writes all of `bytes` to a data connection, calling `moved` after each
 * write the socket took (a large piece on a slow link is many writes, and
 * each one counts as progress for the idle timeout).
 */
export function writeData(
  conn: Deno.Conn,
  bytes: Uint8Array,
  moved: (n: number) => void,
): Promise<void> {
  return writeAll(conn, bytes, moved);
}

/**
 * Ends an upload's data connection: TLS says close_notify first (so the
 * server can tell the end from a cut), then the socket closes.
 */
export async function finishData(conn: Deno.Conn): Promise<void> {
  try {
    await conn.closeWrite();
  } catch {
    // already closed, or the server went first
  }
  closeQuietly(conn);
}

/**
 * Converts local line ends to the CR LF of TYPE A (RFC 959 §3.1.1.1): a LF
 * without a CR before it gets one; the state carries across chunks.
 */
export class FtpAsciiEncoder {
  #lastCr = false;

  /** Converts one chunk. */
  push(chunk: Uint8Array): Uint8Array {
    let bare = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 10 && (i === 0 ? !this.#lastCr : chunk[i - 1] !== 13)) bare++;
    }
    const lastCr = this.#lastCr;
    if (chunk.length > 0) this.#lastCr = chunk[chunk.length - 1] === 13;
    if (bare === 0) return chunk;
    const out = new Uint8Array(chunk.length + bare);
    let o = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 10 && (i === 0 ? !lastCr : chunk[i - 1] !== 13)) out[o++] = 13;
      out[o++] = b;
    }
    return out;
  }
}
