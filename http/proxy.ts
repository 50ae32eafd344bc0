/**
 * A forwarding HTTP proxy as a request handler: absolute-form requests are
 * re-sent with {@linkcode HttpClient}, `CONNECT` opens a TCP tunnel. The
 * classic one-line proxy of the Python docs, grown up.
 *
 * @module
 */
import { connectTcp } from "../net/connect_tcp.ts";
import { HttpClient } from "./http_client.ts";

/** What {@linkcode serveProxy} needs from the server; an `HttpServer` handler's `info` fits. */
export interface ProxyConnectionInfo {
  /** The raw request-target: `http://host/path` for forwarding, `host:port` for CONNECT. */
  target?: string;
  /** The request's protocol version, for `Via`. */
  version?: string;
  /** Where the server listens, to refuse requests that would loop back to it. */
  localAddr?: Deno.NetAddr | Deno.Addr;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /** Takes over the connection for a CONNECT tunnel (`HttpServer` provides it). */
  upgrade?(init?: { status?: number; statusText?: string; headers?: HeadersInit }): Promise<{
    readable: ReadableStream<Uint8Array>;
    writable: WritableStream<Uint8Array>;
    close(): void;
  }>;
}

/** Options for {@linkcode serveProxy}. */
export interface ServeProxyOptions {
  /**
   * The client that forwards requests; share one to reuse upstream
   * connections. Without it, each request uses a fresh client whose
   * connection closes when the response body ends.
   */
  client?: HttpClient;
  /**
   * The ports `CONNECT` may reach, or `"any"`. Like Squid's `SSL_ports`,
   * the default keeps the proxy from being a relay to mail or other
   * services.
   *
   * @default {[443]}
   */
  connectPorts?: number[] | "any";
  /**
   * Decides whether a destination may be reached (forwarding and CONNECT);
   * return false for 403. Use it to keep clients away from internal
   * addresses.
   *
   * @default {() => true}
   */
  allowTarget?: (hostname: string, port: number) => boolean | Promise<boolean>;
  /**
   * The name this proxy gives itself in `Via` (RFC 9110 §7.6.3).
   *
   * @default {"inetkit"}
   */
  via?: string;
  /**
   * How long an upstream exchange may take until its response head, in
   * milliseconds (504 after it); also the CONNECT dial timeout.
   *
   * @default {30000}
   */
  timeout?: number;
  /**
   * How long a CONNECT tunnel may stay idle, in milliseconds, before both
   * sides are closed.
   *
   * @default {300000}
   */
  tunnelIdleTimeout?: number;
  /** Extra CA certificates (PEM) for `https://` targets forwarded by a per-request client. */
  caCerts?: string[];
}

// RFC 9110 §7.6.1 plus the proxy-only ones.
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];
const HOST_REGEXP = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$/;

function text(status: number, statusText: string, body?: string, close = false): Response {
  const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
  if (close) headers.connection = "close";
  return new Response(body ?? `${status} ${statusText}\n`, { status, statusText, headers });
}

/**
 * A refused CONNECT closes the connection: the client may already have sent
 * tunnel bytes, which must never be read as the next HTTP request.
 */
function refuse(status: number, statusText: string, body?: string): Response {
  return text(status, statusText, body, true);
}

/** Removes hop-by-hop fields, including those the `Connection` header names. */
function stripHopByHop(headers: Headers): Headers {
  const out = new Headers(headers);
  const listed = headers.get("connection");
  if (listed !== null) {
    for (const name of listed.split(",")) {
      const n = name.trim().toLowerCase();
      if (n !== "") out.delete(n);
    }
  }
  for (const name of HOP_BY_HOP) out.delete(name);
  return out;
}

function viaValue(version: string | undefined, pseudonym: string): string {
  return `${version === "HTTP/1.0" ? "1.0" : "1.1"} ${pseudonym}`;
}

function isOwnAddress(
  hostname: string,
  port: number,
  local: Deno.NetAddr | Deno.Addr | undefined,
): boolean {
  if (local === undefined || !("hostname" in local) || local.port !== port) return false;
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === local.hostname || h === "localhost" ||
    (local.hostname === "0.0.0.0" || local.hostname === "::") ||
    (h.startsWith("127.") && local.hostname.startsWith("127."));
}

function defaultPort(protocol: string): number {
  return protocol === "https:" ? 443 : 80;
}

/** Parses a CONNECT authority-form target (`host:port`). */
function parseAuthority(target: string): { hostname: string; port: number } | null {
  const colon = target.lastIndexOf(":");
  if (colon <= 0) return null;
  const hostname = target.slice(0, colon);
  const portText = target.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535 || !HOST_REGEXP.test(hostname)) return null;
  return { hostname: hostname.replace(/^\[|\]$/g, ""), port };
}

async function tunnel(
  request: Request,
  info: ProxyConnectionInfo,
  options: ServeProxyOptions,
): Promise<Response> {
  const authority = parseAuthority(info.target ?? new URL(request.url).host);
  if (authority === null) return refuse(400, "Bad Request", "CONNECT needs a host:port target\n");
  const { hostname, port } = authority;
  const ports = options.connectPorts ?? [443];
  if (ports !== "any" && !ports.includes(port)) {
    return refuse(403, "Forbidden", `CONNECT to port ${port} is not allowed\n`);
  }
  if (options.allowTarget && !(await options.allowTarget(hostname, port))) {
    return refuse(403, "Forbidden");
  }
  if (isOwnAddress(hostname, port, info.localAddr)) return refuse(508, "Loop Detected");
  if (info.upgrade === undefined) return refuse(501, "Not Implemented");
  let upstream: Deno.Conn;
  try {
    upstream = await connectTcp({
      hostname,
      port,
      timeout: options.timeout ?? 30000,
      signal: info.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") {
      return refuse(504, "Gateway Timeout");
    }
    return refuse(502, "Bad Gateway");
  }
  let client;
  try {
    client = await info.upgrade({ status: 200, statusText: "Connection established" });
  } catch {
    upstream.close();
    return refuse(500, "Internal Server Error");
  }
  const idle = options.tunnelIdleTimeout ?? 300000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const closeAll = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    try {
      upstream.close();
    } catch {
      // already closed
    }
    client.close();
  };
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(closeAll, idle);
  };
  touch();
  const onAbort = () => closeAll();
  info.signal?.addEventListener("abort", onAbort, { once: true });
  // client → upstream: at the client's EOF, half-close towards the upstream.
  const up = (async () => {
    const reader = client.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        touch();
        let written = 0;
        while (written < value.length) written += await upstream.write(value.subarray(written));
      }
      await upstream.closeWrite().catch(() => {});
    } catch {
      closeAll();
    } finally {
      reader.releaseLock();
    }
  })();
  // upstream → client
  const down = (async () => {
    const writer = client.writable.getWriter();
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await upstream.read(buf);
        if (n === null) break;
        touch();
        await writer.write(buf.slice(0, n));
      }
    } catch {
      // reset on either side
    } finally {
      writer.releaseLock();
      closeAll();
    }
  })();
  await Promise.all([up, down]);
  info.signal?.removeEventListener("abort", onAbort);
  closeAll();
  return new Response(null, { status: 200 });
}

/**
 * Handles one request as a forwarding proxy (RFC 9110 §7.6, RFC 9112
 * §3.2.2). An absolute-form request (`GET http://host/path`) is re-sent
 * upstream with {@linkcode HttpClient}: a new message is serialised from
 * the parsed one (the server has already refused ambiguous framing, so
 * nothing ambiguous is passed on), hop-by-hop fields (`Connection` and the
 * fields it names, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`,
 * `Transfer-Encoding`, `Upgrade`) are removed both ways, `Via` is added both
 * ways, `Max-Forwards` is honoured for TRACE and OPTIONS, and a request
 * that would loop back to this server is refused with 508. `CONNECT
 * host:port` opens a TCP tunnel after a `200 Connection established`
 * (ports limited by `connectPorts`). Upstream failures are 502, time-outs
 * 504; details never reach the client.
 *
 * @param request The request.
 * @param info The raw target, the server's address and the upgrade hook.
 * @param options The client, the allowed destinations and the limits.
 * @returns The upstream response, or an error response.
 *
 * @example Forwarding through a proxy
 * ```ts ignore
 * import { HttpClient, serve, serveProxy } from "@inetkit/inetkit/http";
 *
 * await using client = new HttpClient();
 * serve({ port: 3128 }, (request, info) => serveProxy(request, info, { client }));
 * // curl -x http://127.0.0.1:3128 http://example.com/
 * ```
 */
export async function serveProxy(
  request: Request,
  info: ProxyConnectionInfo,
  options: ServeProxyOptions = {},
): Promise<Response> {
  if (request.method === "CONNECT") return await tunnel(request, info, options);
  const target = info.target ?? request.url;
  let url: URL;
  try {
    if (!/^https?:\/\//i.test(target)) throw new TypeError("not absolute");
    url = new URL(target);
  } catch {
    await request.body?.cancel().catch(() => {});
    return text(400, "Bad Request", "This is a proxy: send absolute-form requests\n");
  }
  const port = url.port === "" ? defaultPort(url.protocol) : Number(url.port);
  if (url.username !== "" || url.password !== "") {
    await request.body?.cancel().catch(() => {});
    return text(400, "Bad Request", "Credentials in the target URL are not forwarded\n");
  }
  if (isOwnAddress(url.hostname, port, info.localAddr)) {
    await request.body?.cancel().catch(() => {});
    return text(508, "Loop Detected");
  }
  if (
    options.allowTarget && !(await options.allowTarget(url.hostname.replace(/^\[|\]$/g, ""), port))
  ) {
    await request.body?.cancel().catch(() => {});
    return text(403, "Forbidden");
  }
  const pseudonym = options.via ?? "inetkit";
  const headers = stripHopByHop(request.headers);
  headers.delete("host");
  headers.append("via", viaValue(info.version, pseudonym));
  if (request.method === "TRACE" || request.method === "OPTIONS") {
    const maxForwards = request.headers.get("max-forwards");
    if (maxForwards !== null && /^\d+$/.test(maxForwards.trim())) {
      const n = Number(maxForwards.trim());
      if (n === 0) {
        await request.body?.cancel().catch(() => {});
        if (request.method === "OPTIONS") {
          return new Response(null, {
            status: 200,
            headers: { allow: "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, CONNECT, PATCH" },
          });
        }
        return text(200, "OK", `TRACE ${url.href} ${info.version ?? "HTTP/1.1"}\r\n`);
      }
      headers.set("max-forwards", String(n - 1));
    }
  }
  const client = options.client ?? new HttpClient({ caCerts: options.caCerts });
  // The timeout covers the wait for the response head only, not a long body.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException("Upstream did not answer in time", "TimeoutError"));
  }, options.timeout ?? 30000);
  const signal = info.signal
    ? AbortSignal.any([info.signal, controller.signal])
    : controller.signal;
  let upstream: Response;
  try {
    upstream = await client.request(url, {
      method: request.method,
      headers,
      body: request.body,
      signal,
    });
  } catch (error) {
    await request.body?.cancel().catch(() => {});
    if (timedOut || (error instanceof DOMException && error.name === "TimeoutError")) {
      return text(504, "Gateway Timeout");
    }
    return text(502, "Bad Gateway");
  } finally {
    clearTimeout(timer);
    // A per-request client closes its connection once the body has been read.
    if (options.client === undefined) client.close();
  }
  // RFC 9112 §6.3: both framings at once "ought to be handled as an error";
  // passing the Content-Length on with a re-framed body would be wrong.
  if (upstream.headers.has("transfer-encoding") && upstream.headers.has("content-length")) {
    await upstream.body?.cancel().catch(() => {});
    return text(502, "Bad Gateway");
  }
  const out = stripHopByHop(upstream.headers);
  out.append("via", viaValue("HTTP/1.1", pseudonym));
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: out,
  });
}
