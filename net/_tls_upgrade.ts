/**
 * The one client-side TLS upgrade: `Deno.startTls` plus the handshake, with
 * an `AbortSignal` that ends a stalled handshake by closing the socket (the
 * handshake itself takes no signal). Used by `connectTcp`, `TextConn.startTls`
 * and the URL opener's CONNECT tunnels.
 *
 * @module
 */
import { closeQuietly } from "./_io.ts";

/** What the upgrade needs. */
export interface ClientTlsUpgrade {
  /** The server name for SNI and the certificate check. */
  hostname: string;
  /** Extra trusted CA certificates (PEM). */
  caCerts?: string[];
  /** ALPN protocols to offer. */
  alpnProtocols?: string[];
}

/**
 * Upgrades a TCP connection to TLS and completes the handshake. On any
 * failure the connection is closed; when `signal` aborted, its reason is
 * thrown.
 */
export async function upgradeClientTls(
  tcp: Deno.TcpConn,
  options: ClientTlsUpgrade,
  signal?: AbortSignal,
): Promise<Deno.TlsConn> {
  let tls: Deno.TlsConn | undefined;
  const abort = () => closeQuietly(tls ?? tcp);
  signal?.addEventListener("abort", abort, { once: true });
  try {
    signal?.throwIfAborted();
    tls = await Deno.startTls(tcp, {
      hostname: options.hostname,
      caCerts: options.caCerts,
      alpnProtocols: options.alpnProtocols,
    });
    signal?.throwIfAborted();
    await tls.handshake();
    return tls;
  } catch (error) {
    closeQuietly(tls ?? tcp);
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    signal?.removeEventListener("abort", abort);
  }
}
