import type { UrlHandler } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";

/** Which proxy serves which scheme, for {@linkcode ProxyHandler}. */
export interface ProxySettings {
  /** The proxy for `http:` URLs (`http://host:port`, credentials allowed). */
  http?: string;
  /** The proxy for `https:` URLs, reached with CONNECT. */
  https?: string;
  /** The proxy for network schemes (http, https, ftp, gopher) without their own entry. */
  all?: string;
  /**
   * Hosts reached directly: a comma-separated list (or an array) of host
   * names (`example.test` also covers its subdomains, a leading `.` or `*.`
   * is allowed), `host:port`, IP addresses, IPv4 CIDR blocks
   * (`10.0.0.0/8`), or `*` for every host.
   */
  noProxy?: string | readonly string[];
}

/** Options for {@linkcode ProxyHandler.fromEnv}. */
export interface ProxyEnvOptions {
  /**
   * Where to read variables; the process environment by default (variables
   * without `--allow-env` permission count as unset, no prompt).
   */
  env?: Record<string, string | undefined>;
}

/**
 * Routes requests through proxies, urllib2's `ProxyHandler`: it runs first
 * (order 100) and sets {@linkcode UrlRequest.proxy}; the HTTP handler then
 * sends `http:` requests to the proxy in absolute form and tunnels `https:`
 * requests through CONNECT. A failed CONNECT fails the request: it never
 * falls back to a direct or clear-text connection. Credentials in the proxy
 * URL are sent as pre-emptive `Proxy-Authorization: Basic`.
 *
 * With no argument the settings come from the environment, as curl and
 * Python read them: `http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`,
 * lower case first, then upper case (except `HTTP_PROXY` in a CGI process,
 * where a request's `Proxy:` header may have set it: httpoxy).
 *
 * @example Explicit settings with an exception
 * ```ts
 * import { ProxyHandler, UrlRequest } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const handler = new ProxyHandler({ http: "http://proxy.test:3128", noProxy: "internal.test" });
 * const outside = new UrlRequest("http://example.test/");
 * handler.preprocess(outside);
 * assertEquals(outside.proxy?.href, "http://proxy.test:3128/");
 * const inside = new UrlRequest("http://db.internal.test/");
 * handler.preprocess(inside);
 * assertEquals(inside.proxy, null);
 * ```
 */
export class ProxyHandler implements UrlHandler {
  /** Before every other handler. */
  readonly order: number = 100;
  #proxies: Map<string, URL>;
  #noProxy: string[];

  /**
   * Creates the handler.
   *
   * @param settings The proxies; from the environment when omitted. Pass
   *   `{}` for none.
   * @throws {TypeError} If a proxy URL is invalid or not http/https.
   */
  constructor(settings?: ProxySettings) {
    const s = settings ?? ProxyHandler.fromEnv();
    this.#proxies = new Map();
    for (const scheme of ["http", "https", "all"] as const) {
      const value = s[scheme];
      if (value !== undefined && value !== "") this.#proxies.set(scheme, proxyUrl(value));
    }
    const list = s.noProxy ?? [];
    this.#noProxy = (typeof list === "string" ? list.split(/[,\s]+/) : [...list])
      .map((e) => e.trim().toLowerCase())
      .filter((e) => e !== "");
  }

  /**
   * Reads proxy settings from environment variables.
   *
   * @param options Where to read them.
   * @returns The settings (empty when nothing is set).
   *
   * @example
   * ```ts
   * import { ProxyHandler } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const env = { https_proxy: "http://p.test:8080", NO_PROXY: "localhost", REQUEST_METHOD: "GET", HTTP_PROXY: "http://evil.test" };
   * assertEquals(ProxyHandler.fromEnv({ env }), {
   *   https: "http://p.test:8080",
   *   noProxy: "localhost",
   * });
   * ```
   */
  static fromEnv(options?: ProxyEnvOptions): ProxySettings {
    options ??= {};
    const read = options.env !== undefined ? (name: string) => options.env![name] : readEnv;
    const get = (name: string): string | undefined => {
      const lower = read(name);
      if (lower !== undefined && lower !== "") return lower;
      const upperName = name.toUpperCase();
      // httpoxy: in a CGI process HTTP_PROXY may come from a request header.
      if (upperName === "HTTP_PROXY" && read("REQUEST_METHOD") !== undefined) return undefined;
      const upper = read(upperName);
      return upper !== undefined && upper !== "" ? upper : undefined;
    };
    const settings: ProxySettings = {};
    const http = get("http_proxy");
    const https = get("https_proxy");
    const all = get("all_proxy");
    const noProxy = get("no_proxy");
    if (http !== undefined) settings.http = http;
    if (https !== undefined) settings.https = https;
    if (all !== undefined) settings.all = all;
    if (noProxy !== undefined) settings.noProxy = noProxy;
    return settings;
  }

  /**
   * The proxy for a URL, or `null` when it is reached directly.
   *
   * @param url The URL.
   * @returns The proxy URL or `null`.
   * @throws {TypeError} If `url` is not an absolute URL.
   *
   * @example
   * ```ts
   * import { ProxyHandler } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const handler = new ProxyHandler({ all: "http://p.test:1", noProxy: "10.0.0.0/8, .local.test:8080" });
   * assertEquals(handler.proxyFor("https://example.test/")?.host, "p.test:1");
   * assertEquals(handler.proxyFor("http://10.1.2.3/"), null);
   * assertEquals(handler.proxyFor("http://a.local.test:8080/"), null);
   * assertEquals(handler.proxyFor("http://a.local.test/")?.host, "p.test:1");
   * ```
   */
  proxyFor(url: string | URL): URL | null {
    if (this.#proxies.size === 0) return null;
    const target = new URL(url);
    if (DEFAULT_PORTS[target.protocol] === undefined) return null;
    const scheme = target.protocol.slice(0, -1);
    const proxy = this.#proxies.get(scheme) ?? this.#proxies.get("all");
    if (proxy === undefined) return null;
    if (this.#bypass(target)) return null;
    return new URL(proxy.href);
  }

  /**
   * Sets the request's proxy unless one is set or the host is excepted.
   *
   * @param request The request.
   */
  preprocess(request: UrlRequest): void {
    if (request.proxy !== null || this.#proxies.size === 0) return;
    const proxy = this.proxyFor(request.url);
    if (proxy !== null) request.setProxy(proxy);
  }

  #bypass(url: URL): boolean {
    if (this.#noProxy.length === 0) return false;
    let host = url.hostname.toLowerCase();
    if (host.startsWith("[")) host = host.slice(1, -1);
    const port = url.port !== "" ? url.port : String(DEFAULT_PORTS[url.protocol] ?? "");
    for (const raw of this.#noProxy) {
      if (raw === "*") return true;
      let entry = raw;
      let entryPort: string | null = null;
      const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
      if (v6 !== null) {
        entry = v6[1]!;
        entryPort = v6[2] ?? null;
      } else {
        const m = /^([^:]+):(\d+)$/.exec(entry);
        if (m !== null) {
          entry = m[1]!;
          entryPort = m[2]!;
        }
      }
      if (entryPort !== null && entryPort !== port) continue;
      if (entry.includes("/")) {
        if (inCidr(host, entry)) return true;
        continue;
      }
      if (entry.startsWith("*.")) entry = entry.slice(1);
      if (entry.startsWith(".")) entry = entry.slice(1);
      if (host === entry || host.endsWith("." + entry)) return true;
    }
    return false;
  }
}

// The network schemes a proxy may serve; `all` never applies to file: or data:.
const DEFAULT_PORTS: Record<string, number> = {
  "http:": 80,
  "https:": 443,
  "ftp:": 21,
  "gopher:": 70,
};

function proxyUrl(value: string): URL {
  const text = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new TypeError(`Cannot use proxy ${JSON.stringify(value)}: not a URL`, { cause: error });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `Cannot use proxy ${JSON.stringify(value)}: scheme ${url.protocol} is not supported`,
    );
  }
  return url;
}

function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function ipv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function inCidr(host: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  const a = ipv4(host);
  const b = ipv4(base ?? "");
  if (a === null || b === null || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  if (bits === 0) return true;
  const mask = (~0 << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}
