// CONNECT tunnels through an HTTP proxy (RFC 9110 §9.3.6), composed from the
// L1 head reader: the reply is capped, a non-2xx reply fails the request
// (407 is handed to the proxy auth handlers), bytes the proxy sends after a
// 2xx head and before the TLS handshake abort the tunnel, and nothing is
// ever sent in clear to the origin.
import { BufferedReader } from "../net/buffered_reader.ts";
import { closeQuietly, writeAll } from "../net/_io.ts";
import { upgradeClientTls } from "../net/_tls_upgrade.ts";
import { connectTcp } from "../net/connect_tcp.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { formatRequestHead } from "../http/request_head.ts";
import { readResponseHead, type ResponseHead } from "../http/response_head.ts";
import { URLError } from "./url_error.ts";

/** Options for {@linkcode openTunnel}. */
export interface TunnelOptions {
  /** The origin's host name (for SNI and the certificate). */
  hostname: string;
  port: number;
  /** Headers for the CONNECT request (Proxy-Authorization, User-Agent). */
  headers: Headers;
  caCerts?: string[];
  connectTimeout: number;
  /** The most bytes of the proxy's reply head. */
  maxHeaderSize: number;
  signal?: AbortSignal;
}

/** A refused CONNECT: the status and headers, body discarded. */
export interface TunnelRefusal {
  status: number;
  statusText: string;
  headers: Headers;
}

const encoder = new TextEncoder();
// A proxy sending endless 1xx replies to a CONNECT is cut off.
const MAX_INTERIM = 10;

/**
 * Opens a TLS connection to `hostname:port` through the proxy, or returns
 * the proxy's refusal. Throws URLError for anything else that goes wrong.
 */
export async function openTunnel(
  proxy: URL,
  options: TunnelOptions,
): Promise<{ conn: Deno.TlsConn } | { refusal: TunnelRefusal }> {
  if (proxy.protocol !== "http:") {
    throw new URLError(`CONNECT through a ${proxy.protocol} proxy is not supported`);
  }
  const authority = authorityOf(options.hostname, options.port);
  const proxyPort = proxy.port !== "" ? Number(proxy.port) : 80;
  const tcp = await connectTcp({
    hostname: bare(proxy.hostname),
    port: proxyPort,
    timeout: options.connectTimeout,
    signal: options.signal,
  }) as Deno.TcpConn;
  const abort = () => closeQuietly(tcp);
  options.signal?.addEventListener("abort", abort, { once: true });
  let closed = false;
  try {
    const fields = new Headers(options.headers);
    fields.set("Host", authority);
    const head = formatRequestHead({ method: "CONNECT", target: authority, fields });
    await writeAll(tcp, encoder.encode(head));
    const reader = new BufferedReader(tcp, { bufferSize: 4096 });
    let reply: ResponseHead;
    let interim = 0;
    try {
      do {
        reply = await readResponseHead(reader, { maxHeaderSize: options.maxHeaderSize });
      } while (reply.status < 200 && ++interim <= MAX_INTERIM);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new URLError("proxy sent a malformed CONNECT reply", { cause: error });
    }
    if (reply.status < 200 || reply.status > 299) {
      const headers = new Headers();
      for (const f of reply.fields) {
        try {
          headers.append(f.name, f.value);
        } catch {
          // A field Headers refuses is dropped.
        }
      }
      closed = true;
      tcp.close();
      return { refusal: { status: reply.status, statusText: reply.statusText, headers } };
    }
    if (reader.buffered > 0) {
      throw new URLError("proxy sent data before the TLS handshake", {
        cause: new ProtocolError(
          "TUNNEL_INJECTION",
          `Cannot open tunnel: ${reader.buffered} bytes arrived before the TLS handshake`,
        ),
      });
    }
    reader.release();
    closed = true;
    const tls = await upgradeClientTls(tcp, {
      hostname: options.hostname,
      caCerts: options.caCerts,
    }, options.signal);
    return { conn: tls };
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", abort);
    if (!closed) closeQuietly(tcp);
  }
}

function bare(host: string): string {
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

/** `host:port` with IPv6 hosts in brackets. */
export function authorityOf(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
