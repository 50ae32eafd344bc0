/**
 * A forwarding HTTP proxy as a request handler: absolute-form requests are
 * re-sent with {@linkcode HttpClient}, `CONNECT` opens a TCP tunnel. The
 * classic one-line proxy of the Python docs, grown up.
 *
 * @module
 */
import { writeAll } from "../net/_io.ts";
import { connectTcp, type ConnectTcpOptions } from "../net/connect_tcp.ts";
import { IpCidr, isIpAddress } from "../net/ip_cidr.ts";
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
  /**
   * Address ranges (CIDR, or single addresses) the proxy may reach. When
   * set, every other address is refused with 403.
   *
   * @default {every address not denied}
   */
  allowDestinations?: readonly string[];
  /**
   * Address ranges the proxy never reaches (403), checked on the addresses
   * a name resolves to, at the moment of dialling (so DNS rebinding cannot
   * slip past). The default keeps clients away from link-local and cloud
   * metadata addresses; the proxy's own listening address is refused too
   * (508). Pass `[]` to allow them.
   *
   * @default {["169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128"]}
   */
  denyDestinations?: readonly string[];
  /**
   * Resolves a host name (never an address literal) to the addresses the
   * proxy would dial; the first permitted one is dialled. Stub it in tests
   * to see what would be dialled.
   *
   * @default {address literals as they are, "localhost" as 127.0.0.1 and ::1, other names by DNS (A and AAAA)}
   */
  resolve?: (hostname: string) => Promise<string[]>;
  /**
   * Milliseconds an upstream response body may go without a byte before
   * the proxy gives up on it (the client sees the body end early).
   *
   * @default {300000}
   */
  readTimeout?: number;
}

/** The default {@linkcode ServeProxyOptions.denyDestinations}. */
export const DEFAULT_DENIED_DESTINATIONS: readonly string[] = Object.freeze([
  "169.254.0.0/16",
  "fe80::/10",
  "0.0.0.0/8",
  "::/128",
]);

/** A destination the proxy's rules refuse. */
class DestinationDenied extends Error {
  constructor(hostname: string) {
    super(`Cannot reach ${hostname}: the destination is not allowed`);
    this.name = "DestinationDenied";
  }
}

interface Rules {
  allow: IpCidr[] | null;
  deny: IpCidr[];
  resolve: (hostname: string) => Promise<string[]>;
}

const ruleCache = new WeakMap<ServeProxyOptions, Rules>();

function rulesOf(options: ServeProxyOptions): Rules {
  let rules = ruleCache.get(options);
  if (rules === undefined) {
    rules = {
      allow: options.allowDestinations === undefined
        ? null
        : options.allowDestinations.map((r) => IpCidr.parse(r)),
      deny: (options.denyDestinations ?? DEFAULT_DENIED_DESTINATIONS).map((r) => IpCidr.parse(r)),
      resolve: options.resolve ?? resolveHost,
    };
    ruleCache.set(options, rules);
  }
  return rules;
}

/** Names to addresses as the proxy sees them (see `resolve`). */
async function resolveHost(hostname: string): Promise<string[]> {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (isIpAddress(host)) return [host];
  if (host.toLowerCase() === "localhost") return ["127.0.0.1", "::1"];
  const [v4, v6] = await Promise.allSettled([
    Deno.resolveDns(host, "A"),
    Deno.resolveDns(host, "AAAA"),
  ]);
  return [
    ...(v4.status === "fulfilled" ? v4.value : []),
    ...(v6.status === "fulfilled" ? v6.value : []),
  ];
}

/**
 * The addresses of `hostname` the rules permit, in resolution order.
 *
 * @throws {DestinationDenied} When it resolves only to refused addresses.
 * @throws {Error} When it does not resolve.
 */
async function permitted(hostname: string, options: ServeProxyOptions): Promise<string[]> {
  const rules = rulesOf(options);
  const host = hostname.replace(/^\[|\]$/g, "");
  const addresses = isIpAddress(host) ? [host] : await rules.resolve(host);
  if (addresses.length === 0) throw new Error(`Cannot resolve ${hostname}`);
  const ok = addresses.filter((a) =>
    (rules.allow === null || rules.allow.some((r) => r.contains(a))) &&
    !rules.deny.some((r) => r.contains(a))
  );
  if (ok.length === 0) throw new DestinationDenied(hostname);
  return ok;
}

/**
 * A dial for {@linkcode HttpClient} that resolves the target, applies the
 * proxy's destination rules and dials the first permitted address (with the
 * original name for TLS).
 */
function guardedDial(options: ServeProxyOptions): (o: ConnectTcpOptions) => Promise<Deno.Conn> {
  return async (o) => {
    const hostname = o.hostname ?? "127.0.0.1";
    const [address] = await permitted(hostname, options);
    const tls = o.tls === undefined || o.tls === false ? false : {
      ...(o.tls === true ? {} : o.tls),
      hostname: (o.tls === true ? undefined : o.tls.hostname) ?? hostname,
    };
    return await connectTcp({ ...o, hostname: address!, tls });
  };
}

/**
 * The forwarding client a proxy should share between requests: an
 * {@linkcode HttpClient} whose dials go through the proxy's destination
 * rules (so that `cli proxy` and embedders cannot forget them).
 *
 * @param options The proxy's options (rules, CAs, read timeout).
 * @returns The client; close it when the proxy stops.
 *
 * @example
 * ```ts ignore
 * import { proxyClient, serve, serveProxy } from "@inetkit/inetkit/http";
 *
 * const options = { denyDestinations: ["10.0.0.0/8"] };
 * const client = proxyClient(options);
 * serve({ port: 3128 }, (request, info) => serveProxy(request, info, { ...options, client }));
 * ```
 */
export function proxyClient(options?: ServeProxyOptions): HttpClient {
  options ??= {};
  return new HttpClient({
    caCerts: options.caCerts,
    dial: guardedDial(options),
    readTimeout: options.readTimeout,
  });
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
  let address: string;
  try {
    [address] = (await permitted(hostname, options)) as [string];
  } catch (error) {
    if (error instanceof DestinationDenied) return refuse(403, "Forbidden", `${error.message}\n`);
    return refuse(502, "Bad Gateway");
  }
  if (isOwnAddress(address, port, info.localAddr)) return refuse(508, "Loop Detected");
  let upstream: Deno.Conn;
  try {
    upstream = await connectTcp({
      hostname: address,
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
        await writeAll(upstream, value);
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
  options?: ServeProxyOptions,
): Promise<Response> {
  options ??= {};
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
  // Our own name in Via: the request came back to us (a name that
  // resolves to this proxy).
  const via = request.headers.get("via");
  if (via !== null && via.split(",").some((hop) => hop.trim().split(/\s+/)[1] === pseudonym)) {
    await request.body?.cancel().catch(() => {});
    return text(508, "Loop Detected");
  }
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
  // A caller's own client may not dial through the rules: check first.
  if (options.client !== undefined) {
    try {
      const addresses = await permitted(url.hostname.replace(/^\[|\]$/g, ""), options);
      if (addresses.some((a) => isOwnAddress(a, port, info.localAddr))) {
        await request.body?.cancel().catch(() => {});
        return text(508, "Loop Detected");
      }
    } catch (error) {
      await request.body?.cancel().catch(() => {});
      if (error instanceof DestinationDenied) return text(403, "Forbidden", `${error.message}\n`);
      return text(502, "Bad Gateway");
    }
  }
  const client = options.client ?? proxyClient(options);
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
    if (error instanceof DestinationDenied) return text(403, "Forbidden", `${error.message}\n`);
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
