import { upgradeClientTls } from "./_tls_upgrade.ts";

/** TLS settings for a client connection. */
export interface TlsOptions {
  /**
   * The server name for SNI and certificate checks.
   *
   * @default {the hostname dialled}
   */
  hostname?: string;
  /** Extra trusted CA certificates in PEM, such as a test server's self-signed one. */
  caCerts?: string[];
  /** ALPN protocol names to offer. */
  alpnProtocols?: string[];
}

/** Options for {@linkcode connectTcp}. */
export interface ConnectTcpOptions {
  /**
   * The host to dial.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** The TCP port. */
  port: number;
  /** Dial with TLS from the first byte (`true` for the defaults). */
  tls?: boolean | TlsOptions;
  /**
   * How long the TCP connect and TLS handshake may take, in milliseconds.
   *
   * @default {30000}
   */
  timeout?: number;
  /** Cancels the attempt. */
  signal?: AbortSignal;
}

/**
 * Opens a TCP connection, or a TLS one, with a connect timeout and an
 * `AbortSignal`. The returned connection is no longer tied to the timeout or
 * the signal.
 *
 * @param options Where to connect and how.
 * @returns The open connection.
 * @throws {DOMException} The signal's reason (a `TimeoutError` on timeout).
 * @throws {RangeError} If the port is not an integer from 1 to 65535.
 * @throws {Deno.errors.ConnectionRefused} And the other network errors.
 *
 * @example Dialling a local server
 * ```ts
 * import { connectTcp } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const conn = await connectTcp({ port: listener.addr.port, timeout: 2000 });
 * (await accepted).close();
 * assertEquals(conn.remoteAddr.transport, "tcp");
 * conn.close();
 * ```
 */
export async function connectTcp(options: ConnectTcpOptions): Promise<Deno.Conn> {
  const { port } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot connect: port ${port} is not from 1 to 65535`);
  }
  const hostname = options.hostname ?? "127.0.0.1";
  const timeout = AbortSignal.timeout(options.timeout ?? 30000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  signal.throwIfAborted();
  const tcp = await Deno.connect({ hostname, port, signal });
  // Commands go out as written (TCP_NODELAY): with Nagle's algorithm a
  // command written after another (a BDAT chunk after its command, an
  // APPEND literal) waits for the server's delayed ACK.
  try {
    tcp.setNoDelay(true);
  } catch {
    // closed already: the first write says so
  }
  if (!options.tls) return tcp;
  const tls = options.tls === true ? {} : options.tls;
  return await upgradeClientTls(tcp, {
    hostname: tls.hostname ?? hostname,
    caCerts: tls.caCerts,
    alpnProtocols: tls.alpnProtocols,
  }, signal);
}
