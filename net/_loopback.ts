/**
 * The loopback rule for secrets sent readable: a password may go in clear
 * only to this machine, judged by where the connection really goes, not by
 * the name the caller gave.
 *
 * @module
 */
import { type DuplexConn, remoteNetAddr } from "./duplex_conn.ts";

/** `localhost`, 127.0.0.0/8, `::1` (bracketed or not) and IPv4-mapped 127.0.0.0/8. */
const LOOPBACK_REGEXP = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\]|::ffff:127(\.\d{1,3}){3})$/i;

/** Whether a host name or address names this machine. */
export function isLoopbackName(name: string | undefined): boolean {
  return name !== undefined && LOOPBACK_REGEXP.test(name);
}

/**
 * Whether a connection goes to this machine: its peer address is loopback
 * and the server name, when there is one, is a loopback name or that very
 * address. On a transport without addresses (an in-memory duplex) the
 * server name decides. A loopback server name over a connection to another
 * host does not count.
 */
export function isLoopbackPeer(conn: DuplexConn, serverName: string | undefined): boolean {
  const peer = remoteNetAddr(conn)?.hostname;
  if (peer === undefined) return isLoopbackName(serverName);
  return isLoopbackName(peer) &&
    (serverName === undefined || serverName === peer || isLoopbackName(serverName));
}
