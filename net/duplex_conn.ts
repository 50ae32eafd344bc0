/**
 * A two-way byte connection: what every protocol class takes. A `Deno.Conn`
 * is one (and is read and written directly through `read`/`write` when
 * present); so is a TLS stream upgraded on the server side, a scripted test
 * peer, or anything else with two web streams and `close()`.
 *
 * The optional members describe the transport where there is one: FTP uses
 * `remoteAddr` to ignore the address in a PASV reply and `localAddr` to build
 * EPRT; HTTP uses `closeWrite()` to half-close after a request.
 *
 * @example A duplex made from two streams
 * ```ts
 * import type { DuplexConn } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const sent: Uint8Array[] = [];
 * const conn: DuplexConn = {
 *   readable: ReadableStream.from([new TextEncoder().encode("hello")]),
 *   writable: new WritableStream({ write: (chunk) => void sent.push(chunk) }),
 *   close() {},
 * };
 * assertEquals(await new Response(conn.readable).text(), "hello");
 * ```
 */
export interface DuplexConn {
  /** Bytes from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. */
  readonly writable: WritableStream<Uint8Array>;
  /** Closes both directions. */
  close(): void;
  /** The peer's address, when the transport has one. */
  readonly remoteAddr?: Deno.Addr;
  /** The local address, when the transport has one. */
  readonly localAddr?: Deno.Addr;
  /** Ends the writing direction and keeps reading (a TCP half-close). */
  closeWrite?(): Promise<void>;
}

/**
 * The peer's address of a connection as a `Deno.NetAddr`, or `null` when
 * the transport has none (a scripted peer, a Unix socket).
 *
 * @param conn Any duplex.
 * @returns The TCP or UDP address, or `null`.
 *
 * @example A scripted duplex has no address
 * ```ts
 * import { remoteNetAddr } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const conn = { readable: new ReadableStream(), writable: new WritableStream(), close() {} };
 * assertEquals(remoteNetAddr(conn), null);
 * ```
 */
export function remoteNetAddr(conn: DuplexConn): Deno.NetAddr | null {
  return netAddr(conn.remoteAddr);
}

/**
 * The local address of a connection as a `Deno.NetAddr`, or `null` when the
 * transport has none.
 *
 * @param conn Any duplex.
 * @returns The TCP or UDP address, or `null`.
 *
 * @example A loopback connection
 * ```ts
 * import { localNetAddr } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * (await listener.accept()).close();
 * assertEquals(localNetAddr(conn)?.hostname, "127.0.0.1");
 * conn.close();
 * ```
 */
export function localNetAddr(conn: DuplexConn): Deno.NetAddr | null {
  return netAddr(conn.localAddr);
}

function netAddr(addr: Deno.Addr | undefined): Deno.NetAddr | null {
  if (addr === undefined) return null;
  // A Deno.TlsConn made by Deno.startTls reports { hostname, port } without
  // a transport: it is still TCP.
  const bare = addr as Partial<Deno.NetAddr>;
  if (bare.transport === undefined && typeof bare.hostname === "string") {
    if (typeof bare.port !== "number") return null;
    return { transport: "tcp", hostname: bare.hostname, port: bare.port };
  }
  if (addr.transport !== "tcp" && addr.transport !== "udp") return null;
  return addr;
}
