/**
 * The server side of STARTTLS, STLS and AUTH TLS. `Deno.startTls` is
 * client-only (its options take no certificate or key), so this one file
 * upgrades an accepted connection through the runtime's built-in `node:tls`
 * (`TLSSocket({ isServer: true })` over `Duplex.fromWeb(conn)`). It is the
 * only place in inetkit that imports `node:*`.
 *
 * @module
 */
import { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import type { DuplexConn } from "./duplex_conn.ts";
import { closeQuietly } from "./_io.ts";

/** Options for {@linkcode startTlsServer}. */
export interface StartTlsServerOptions {
  /** The PEM certificate chain. */
  cert: string;
  /** The PEM private key. */
  key: string;
  /** ALPN protocols to accept. */
  alpnProtocols?: string[];
  /**
   * The highest TLS version to negotiate. `"TLSv1.2"` sends no messages
   * after the handshake (TLS 1.3 sends session tickets then, which a client
   * that only writes never reads; its close then resets the connection and
   * drops what it had not sent yet: curl and lftp FTPS uploads).
   *
   * @default {"TLSv1.3"}
   */
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /**
   * Milliseconds the handshake may take; then the connection is closed.
   *
   * @default {10000}
   */
  timeout?: number;
  /** Aborts the handshake (the connection is closed). */
  signal?: AbortSignal;
}

/** A connection upgraded by {@linkcode startTlsServer}. */
export interface TlsServerConn extends DuplexConn {
  /** The negotiated protocol version, such as `"TLSv1.3"`. */
  readonly tlsVersion: string | null;
  /** The ALPN protocol agreed on, or `null`. */
  readonly alpnProtocol: string | null;
}

/**
 * Upgrades the server side of an accepted connection to TLS, after the
 * protocol said yes (`220 Ready to start TLS`, `+OK Begin TLS`, `234 AUTH TLS
 * OK`). The caller must have stopped reading the connection and checked
 * that the client sent nothing after its STARTTLS command (bytes pipelined
 * before the handshake are an injection attack; a server-side `TextConn`'s
 * `detach()` refuses them).
 *
 * @param conn The accepted connection, its streams not locked.
 * @param options The certificate, key, ALPN protocols and a handshake timeout.
 * @returns A duplex speaking TLS over `conn`; closing it closes `conn`.
 * @throws {DOMException} A `TimeoutError` when the handshake takes too long,
 *   or the signal's reason.
 * @throws {Error} The TLS error when the handshake fails (the connection is closed).
 *
 * @example Upgrading after a STARTTLS exchange
 * ```ts ignore
 * import { startTlsServer, TextConn } from "@inetkit/inetkit/net";
 *
 * const text = new TextConn(conn);
 * await text.writer.writeLine("220 Ready to start TLS");
 * const tls = await startTlsServer(text.detach(), { cert, key });
 * text.adoptTls(tls);
 * ```
 */
export async function startTlsServer(
  conn: DuplexConn,
  options: StartTlsServerOptions,
): Promise<TlsServerConn> {
  const plain = Duplex.fromWeb({ readable: conn.readable, writable: conn.writable });
  const socket = new TLSSocket(plain, {
    isServer: true,
    cert: options.cert,
    key: options.key,
    ALPNProtocols: options.alpnProtocols,
    ...(options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion }),
  });
  const timeout = options.timeout ?? 10000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const destroy = () => {
    socket.destroy();
    plain.destroy();
    closeQuietly(conn);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secure", () => resolve());
      socket.once("error", (error: Error) => reject(error));
      socket.once(
        "close",
        () => reject(new Error("Cannot start TLS: the peer closed the connection")),
      );
      timer = setTimeout(
        () =>
          reject(new DOMException(`TLS handshake timed out after ${timeout} ms`, "TimeoutError")),
        timeout,
      );
      const signal = options.signal;
      if (signal !== undefined) {
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  } catch (error) {
    destroy();
    throw error;
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) options.signal?.removeEventListener("abort", onAbort);
  }
  socket.removeAllListeners("close");
  socket.removeAllListeners("error");
  // Errors after the handshake surface through the streams.
  socket.on("error", () => {});
  const web = Duplex.toWeb(socket);
  const alpn = socket.alpnProtocol;
  return {
    readable: web.readable as ReadableStream<Uint8Array>,
    writable: web.writable as WritableStream<Uint8Array>,
    remoteAddr: conn.remoteAddr,
    localAddr: conn.localAddr,
    tlsVersion: socket.getProtocol() ?? null,
    alpnProtocol: typeof alpn === "string" ? alpn : null,
    close: destroy,
    closeWrite: () =>
      new Promise<void>((resolve) => {
        socket.end(() => resolve());
      }),
  };
}
