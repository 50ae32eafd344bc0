/**
 * A client-side cookie store with the storage and retrieval rules of
 * RFC 6265bis §5.7-§5.8, and Netscape `cookies.txt` files as curl reads
 * (`-b`) and writes (`-c`) them.
 *
 * @module
 */
import { type Cookie, type CookieLimits, type CookieSameSite, parseSetCookie } from "./cookie.ts";

/** A cookie as the jar stores it (RFC 6265bis §5.7 storage model). */
export interface StoredCookie {
  /** The name. */
  name: string;
  /** The value, as the server sent it. */
  value: string;
  /** The host (host-only) or the domain it is sent to, lower-case, no leading dot. */
  domain: string;
  /** Whether it goes only to exactly `domain` (no `Domain` attribute was given). */
  hostOnly: boolean;
  /** The path it is sent under. */
  path: string;
  /** Whether it goes only over secure connections. */
  secure: boolean;
  /** Whether it is hidden from non-HTTP APIs. */
  httpOnly: boolean;
  /** The `SameSite` attribute, when one was given. */
  sameSite?: CookieSameSite;
  /** Whether it had the `Partitioned` attribute. */
  partitioned?: boolean;
  /** Expiry time in milliseconds since the epoch; `undefined` for a session cookie. */
  expires?: number;
  /** When it was first stored, in milliseconds since the epoch. */
  created: number;
  /** When it was last sent or stored, in milliseconds since the epoch. */
  lastAccessed: number;
}

/** Options for {@linkcode CookieJar}. */
export interface CookieJarOptions extends CookieLimits {
  /**
   * Decides whether a domain is a public suffix (a registry-controlled name
   * such as `com` or `co.uk`) under which no cookie may be set with a
   * `Domain` attribute. The default policy is {@linkcode isDefaultPublicSuffix}:
   * every single-label name, IP addresses, and a built-in list of common
   * multi-label suffixes. Pass a function backed by the full Public Suffix
   * List (https://publicsuffix.org) for browser-grade isolation.
   *
   * @default {isDefaultPublicSuffix}
   */
  isPublicSuffix?: (domain: string) => boolean;
  /**
   * The most cookies stored for one domain; the least recently used are
   * evicted beyond it (RFC 6265bis §6.1 asks for at least 50).
   *
   * @default {50}
   */
  maxCookiesPerDomain?: number;
  /**
   * The most cookies stored in total (RFC 6265bis §6.1 asks for at least 3000).
   *
   * @default {3000}
   */
  maxCookies?: number;
  /**
   * The clock, in milliseconds since the epoch (tests pass a fixed one).
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/** Options for {@linkcode CookieJar.getCookies} and {@linkcode CookieJar.getCookieHeader}. */
export interface CookieJarGetOptions {
  /**
   * Whether the cookies are for an HTTP request (true) or for a non-HTTP API
   * such as a script (false), which must not see `HttpOnly` cookies.
   *
   * @default {true}
   */
  http?: boolean;
  /**
   * Whether the request is cross-site. Cross-site requests do not carry
   * `SameSite=Strict` cookies, nor `SameSite=Lax` ones unless `topLevelNavigation`
   * is also true and the method is safe. A jar in an HTTP client has no
   * browsing context, so requests are same-site unless the caller says otherwise.
   *
   * @default {false}
   */
  crossSite?: boolean;
  /**
   * For a cross-site request: whether it is a top-level navigation with a
   * safe method, which still carries `SameSite=Lax` cookies.
   *
   * @default {false}
   */
  topLevelNavigation?: boolean;
}

/** Options for {@linkcode CookieJar.toNetscape}. */
export interface CookieJarNetscapeOptions {
  /**
   * Whether to write session cookies (with expiry 0), as curl's `-c` does.
   *
   * @default {true}
   */
  includeSession?: boolean;
}

/** Options for {@linkcode CookieJar.loadNetscape}. */
export interface CookieJarLoadOptions {
  /**
   * The most bytes of file text read; longer text throws.
   *
   * @default {16777216}
   */
  maxBytes?: number;
}

// Two-label suffixes under which registrations happen, plus well-known hosting
// suffixes where every subdomain belongs to a different owner. Not the full
// Public Suffix List: see isPublicSuffix.
const BUILT_IN_SUFFIXES = new Set(
  (
    "ac.uk co.uk gov.uk ltd.uk me.uk net.uk nhs.uk org.uk plc.uk sch.uk police.uk " +
    "com.au net.au org.au edu.au gov.au asn.au id.au co.nz net.nz org.nz govt.nz ac.nz " +
    "co.jp ne.jp or.jp ac.jp go.jp ad.jp ed.jp gr.jp lg.jp co.kr or.kr ne.kr go.kr " +
    "com.cn net.cn org.cn gov.cn edu.cn com.hk org.hk net.hk edu.hk gov.hk com.tw org.tw " +
    "net.tw edu.tw gov.tw com.sg org.sg net.sg edu.sg gov.sg co.in net.in org.in gov.in " +
    "ac.in firm.in gen.in ind.in com.br net.br org.br gov.br edu.br com.ar org.ar net.ar " +
    "gob.ar com.mx org.mx gob.mx net.mx edu.mx co.za org.za gov.za net.za ac.za web.za " +
    "com.tr org.tr net.tr gov.tr edu.tr com.ru org.ru net.ru co.il org.il net.il ac.il " +
    "gov.il com.ua org.ua net.ua gov.ua com.pl net.pl org.pl co.id or.id ac.id go.id " +
    "com.my org.my net.my gov.my edu.my com.ph org.ph net.ph gov.ph com.vn net.vn org.vn " +
    "co.th or.th ac.th go.th in.th com.eg com.sa com.pk com.ng com.co com.pe com.ve com.ec " +
    "co.ke co.ug co.tz eu.org us.com uk.com " +
    "github.io githubusercontent.com gitlab.io herokuapp.com blogspot.com appspot.com " +
    "cloudfront.net amazonaws.com s3.amazonaws.com elasticbeanstalk.com azurewebsites.net " +
    "cloudapp.net vercel.app netlify.app pages.dev workers.dev web.app firebaseapp.com " +
    "fly.dev onrender.com glitch.me deno.dev readthedocs.io ngrok.io ngrok-free.app"
  ).split(" "),
);

const IPV4_REGEXP = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function isIpAddress(host: string): boolean {
  return IPV4_REGEXP.test(host) || host.includes(":") || host.startsWith("[");
}

/**
 * The jar's default public-suffix policy. A domain is treated as a public
 * suffix when it has a single label (`com`, `test`, `localhost`), when it is
 * one of about 170 built-in multi-label registry and hosting suffixes
 * (`co.uk`, `com.au`, `github.io`, ...), or when it is an IP address. This
 * blocks the cookie-tossing attacks that matter on the common TLDs without
 * shipping the 200 KB Public Suffix List, which changes every week; pass
 * `isPublicSuffix` to {@linkcode CookieJar} to use the full list.
 *
 * @param domain A lower-case domain without a leading dot.
 * @returns Whether cookies may not be scoped to it with `Domain`.
 *
 * @example The default policy
 * ```ts
 * import { isDefaultPublicSuffix } from "@inetkit/inetkit/http";
 * import { assert } from "@std/assert";
 *
 * assert(isDefaultPublicSuffix("com"));
 * assert(isDefaultPublicSuffix("co.uk"));
 * assert(!isDefaultPublicSuffix("example.co.uk"));
 * ```
 */
export function isDefaultPublicSuffix(domain: string): boolean {
  if (!domain.includes(".")) return true;
  if (isIpAddress(domain)) return true;
  return BUILT_IN_SUFFIXES.has(domain);
}

/** RFC 6265bis §5.1.3 domain-match. */
function domainMatches(host: string, domain: string): boolean {
  if (host === domain) return true;
  return host.endsWith(domain) && host.charCodeAt(host.length - domain.length - 1) === 46 &&
    !isIpAddress(host);
}

/** RFC 6265bis §5.1.4 default-path. */
function defaultPath(pathname: string): string {
  if (!pathname.startsWith("/")) return "/";
  const last = pathname.lastIndexOf("/");
  if (last === 0) return "/";
  return pathname.slice(0, last);
}

/** RFC 6265bis §5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath.charCodeAt(cookiePath.length) === 47;
}

/** Whether a URL's origin counts as secure: https/wss, or a loopback host (as browsers and curl treat it). */
function isSecureUrl(url: URL): boolean {
  if (url.protocol === "https:" || url.protocol === "wss:") return true;
  const host = url.hostname;
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function canonicalHost(url: URL): string {
  return url.hostname.toLowerCase().replace(/\.$/, "");
}

function keyOf(domain: string, hostOnly: boolean, path: string, name: string): string {
  return `${hostOnly ? "" : "."}${domain}\t${path}\t${name}`;
}

const MAX_AGE_CAP_MS = 400 * 24 * 3600 * 1000; // RFC 6265bis §5.5: 400 days

/**
 * Characters a cookie cannot have and still be written to cookies.txt, whose
 * fields are separated by TAB and cookies by LF: every control character,
 * TAB included (RFC 6265bis §5.6 allows HTAB in names and values; curl
 * refuses it for this reason).
 */
// deno-lint-ignore no-control-regex
const NETSCAPE_UNSAFE_REGEXP = /[\x00-\x1f\x7f]/;

/**
 * A client cookie store: give it the `Set-Cookie` fields of each response
 * with the URL that sent them, and ask it for the `Cookie` header of each
 * request. It applies the RFC 6265bis rules: domain-match with host-only
 * cookies (`example.com` never matches `badexample.com`), no `Domain`
 * attribute on a public suffix (see {@linkcode isDefaultPublicSuffix}), path
 * match, `Secure` only from and to secure origins (https, and loopback hosts
 * as browsers and curl allow), no secure cookie overwritten from an insecure
 * origin, `__Secure-`/`__Host-` prefixes, `SameSite=None` requiring
 * `Secure`, `Max-Age` over `Expires`, lifetimes capped at 400 days, and
 * per-domain and total caps with least-recently-used eviction.
 *
 * @example A cookie set by one response goes back with the next request
 * ```ts
 * import { CookieJar } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const jar = new CookieJar();
 * const headers = new Headers();
 * headers.append("set-cookie", "sid=abc; Path=/; HttpOnly");
 * headers.append("set-cookie", "wide=1; Domain=example.com");
 * headers.append("set-cookie", "evil=1; Domain=com");
 * jar.setCookies("https://www.example.com/login", headers);
 * assertEquals(jar.getCookieHeader("https://www.example.com/account"), "sid=abc; wide=1");
 * assertEquals(jar.getCookieHeader("https://api.example.com/"), "wide=1");
 * assertEquals(jar.getCookieHeader("https://badexample.com/"), "");
 * ```
 */
export class CookieJar implements Iterable<StoredCookie> {
  #cookies = new Map<string, StoredCookie>();
  #isPublicSuffix: (domain: string) => boolean;
  #maxPerDomain: number;
  #maxTotal: number;
  #limits: CookieLimits;
  #now: () => number;

  /**
   * Creates an empty jar.
   *
   * @param options The public-suffix policy, the caps and the clock.
   * @throws {RangeError} If a cap is not a positive integer.
   */
  constructor(options?: CookieJarOptions) {
    options ??= {};
    this.#isPublicSuffix = options.isPublicSuffix ?? isDefaultPublicSuffix;
    this.#maxPerDomain = options.maxCookiesPerDomain ?? 50;
    this.#maxTotal = options.maxCookies ?? 3000;
    for (
      const [label, value] of [["maxCookiesPerDomain", this.#maxPerDomain], [
        "maxCookies",
        this.#maxTotal,
      ]] as const
    ) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot create cookie jar: ${label} ${value} is not a positive integer`,
        );
      }
    }
    this.#limits = {
      maxCookieSize: options.maxCookieSize,
      maxAttributeSize: options.maxAttributeSize,
    };
    this.#now = options.now ?? Date.now;
  }

  /** The number of cookies stored (expired ones included until the next access). */
  get size(): number {
    return this.#cookies.size;
  }

  /** Iterates over the stored cookies that have not expired. */
  *[Symbol.iterator](): Iterator<StoredCookie> {
    this.removeExpired();
    yield* this.#cookies.values();
  }

  /**
   * Stores one cookie received from `url`, following RFC 6265bis §5.7.
   * Unlike §5.6, a name, value or path with a TAB (or any other control
   * character) is refused, as curl refuses it: such a cookie could not be
   * written to a `cookies.txt` file by {@linkcode CookieJar.toNetscape}.
   *
   * @param cookie A `Set-Cookie` header value or a parsed {@linkcode Cookie}.
   * @param url The URL of the request the response answered.
   * @param options Whether the cookie came over HTTP (non-HTTP APIs cannot set `HttpOnly` cookies).
   * @returns Whether the cookie was stored (or, for an expired one, deleted an old one).
   * @throws {TypeError} If `url` is not a valid URL.
   *
   * @example Host-only cookies stay host-only
   * ```ts
   * import { CookieJar } from "@inetkit/inetkit/http";
   * import { assertEquals } from "@std/assert";
   *
   * const jar = new CookieJar();
   * jar.setCookie("a=1", "http://example.com/");
   * assertEquals(jar.getCookieHeader("http://example.com/"), "a=1");
   * assertEquals(jar.getCookieHeader("http://www.example.com/"), "");
   * ```
   */
  setCookie(cookie: string | Cookie, url: string | URL, options?: { http?: boolean }): boolean {
    options ??= {};
    const parsed = typeof cookie === "string" ? parseSetCookie(cookie, this.#limits) : cookie;
    if (parsed === null) return false;
    const target = new URL(url);
    if (
      target.protocol !== "http:" && target.protocol !== "https:" && target.protocol !== "ws:" &&
      target.protocol !== "wss:"
    ) {
      return false;
    }
    const now = this.#now();
    const host = canonicalHost(target);
    const secureOrigin = isSecureUrl(target);
    const http = options.http ?? true;
    if (parsed.name === "" && /^__(secure|host)-/i.test(parsed.value)) return false;
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(parsed.name + parsed.value)) return false;

    let expires: number | undefined;
    if (parsed.maxAge !== undefined) {
      expires = parsed.maxAge <= 0
        ? -Infinity
        : now + Math.min(parsed.maxAge * 1000, MAX_AGE_CAP_MS);
    } else if (parsed.expires !== undefined) {
      expires = Math.min(parsed.expires.getTime(), now + MAX_AGE_CAP_MS);
    }

    let domain = parsed.domain ?? "";
    if (domain.endsWith(".")) return false;
    domain = domain.toLowerCase();
    let hostOnly: boolean;
    if (domain !== "" && this.#isPublicSuffix(domain)) {
      if (domain !== host) return false;
      domain = "";
    }
    if (domain !== "") {
      if (!domainMatches(host, domain)) return false;
      hostOnly = false;
    } else {
      hostOnly = true;
      domain = host;
    }
    const path = parsed.path ?? defaultPath(target.pathname);
    // A cookie cookies.txt could not hold would be dropped or, with a LF in
    // its path, turn into other cookies on reload: refused, as curl does.
    if (NETSCAPE_UNSAFE_REGEXP.test(parsed.name + parsed.value + path + domain)) return false;
    const secure = parsed.secure === true;
    if (secure && !secureOrigin) return false;
    const httpOnly = parsed.httpOnly === true;
    if (httpOnly && !http) return false;
    // A cookie from an insecure origin may not shadow a secure one (§5.7 step 16).
    if (!secure && !secureOrigin) {
      for (const old of this.#cookies.values()) {
        if (
          old.secure && old.name === parsed.name &&
          (domainMatches(domain, old.domain) || domainMatches(old.domain, domain)) &&
          pathMatches(path, old.path)
        ) {
          return false;
        }
      }
    }
    if (parsed.sameSite === "None" && !secure) return false;
    const lowerName = parsed.name.toLowerCase();
    if (lowerName.startsWith("__secure-") && !(secure && secureOrigin)) return false;
    if (lowerName.startsWith("__host-") && !(secure && secureOrigin && hostOnly && path === "/")) {
      return false;
    }

    const key = keyOf(domain, hostOnly, path, parsed.name);
    const old = this.#cookies.get(key);
    if (old !== undefined && old.httpOnly && !http) return false;
    if (expires !== undefined && expires <= now) {
      this.#cookies.delete(key);
      return old !== undefined;
    }
    const stored: StoredCookie = {
      name: parsed.name,
      value: parsed.value,
      domain,
      hostOnly,
      path,
      secure,
      httpOnly,
      created: old?.created ?? now,
      lastAccessed: now,
    };
    if (parsed.sameSite !== undefined) stored.sameSite = parsed.sameSite;
    if (parsed.partitioned) stored.partitioned = true;
    if (expires !== undefined) stored.expires = expires;
    this.#store(key, stored);
    return true;
  }

  #store(key: string, cookie: StoredCookie): void {
    // Map.set keeps a replaced key in place, so the iteration order stays the
    // creation order that breaks ties between equal creation times.
    this.#cookies.set(key, cookie);
    this.#evict(cookie.domain);
  }

  #evict(domain: string): void {
    let inDomain = 0;
    for (const c of this.#cookies.values()) if (c.domain === domain) inDomain++;
    if (inDomain <= this.#maxPerDomain && this.#cookies.size <= this.#maxTotal) return;
    this.removeExpired();
    const lru = (filter: (c: StoredCookie) => boolean): void => {
      let victimKey: string | undefined;
      let victim: StoredCookie | undefined;
      for (const [k, c] of this.#cookies) {
        if (!filter(c)) continue;
        if (victim === undefined || c.lastAccessed < victim.lastAccessed) {
          victim = c;
          victimKey = k;
        }
      }
      if (victimKey !== undefined) this.#cookies.delete(victimKey);
    };
    for (;;) {
      inDomain = 0;
      for (const c of this.#cookies.values()) if (c.domain === domain) inDomain++;
      if (inDomain > this.#maxPerDomain) lru((c) => c.domain === domain);
      else if (this.#cookies.size > this.#maxTotal) lru(() => true);
      else break;
    }
  }

  /**
   * Stores every `Set-Cookie` field of a response (at most 50, as
   * RELIABILITY.md caps them).
   *
   * @param url The URL of the request.
   * @param headers The response headers, or the response.
   * @returns How many cookies were stored.
   * @throws {TypeError} If `url` is not a valid URL.
   *
   * @example Storing a response's cookies
   * ```ts
   * import { CookieJar } from "@inetkit/inetkit/http";
   * import { assertEquals } from "@std/assert";
   *
   * const jar = new CookieJar();
   * const response = new Response(null, { headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"]] });
   * assertEquals(jar.setCookies("http://example.com/", response), 2);
   * ```
   */
  setCookies(url: string | URL, headers: Headers | Response): number {
    const fields = (headers instanceof Response ? headers.headers : headers).getSetCookie();
    let stored = 0;
    for (const field of fields.slice(0, 50)) if (this.setCookie(field, url)) stored++;
    return stored;
  }

  /**
   * The cookies to send with a request to `url`, in the order of
   * RFC 6265bis §5.8.3: longer paths first, then earlier creation first.
   * Updates their last-access time.
   *
   * @param url The request URL.
   * @param options The request's context (HTTP or not, same-site or not).
   * @returns The matching cookies.
   * @throws {TypeError} If `url` is not a valid URL.
   *
   * @example Path scoping
   * ```ts
   * import { CookieJar } from "@inetkit/inetkit/http";
   * import { assertEquals } from "@std/assert";
   *
   * const jar = new CookieJar();
   * jar.setCookie("a=1; Path=/docs", "http://example.com/");
   * assertEquals(jar.getCookies("http://example.com/docs/x").length, 1);
   * assertEquals(jar.getCookies("http://example.com/docsx").length, 0);
   * ```
   */
  getCookies(url: string | URL, options?: CookieJarGetOptions): StoredCookie[] {
    options ??= {};
    const target = new URL(url);
    const host = canonicalHost(target);
    const secure = isSecureUrl(target);
    const http = options.http ?? true;
    const now = this.#now();
    const path = target.pathname || "/";
    const out: StoredCookie[] = [];
    let expired = false;
    for (const cookie of this.#cookies.values()) {
      if (cookie.expires !== undefined && cookie.expires <= now) {
        expired = true;
        continue;
      }
      if (cookie.hostOnly ? host !== cookie.domain : !domainMatches(host, cookie.domain)) continue;
      if (!pathMatches(path, cookie.path)) continue;
      if (cookie.secure && !secure) continue;
      if (cookie.httpOnly && !http) continue;
      if (options.crossSite) {
        if (cookie.sameSite === "Strict") continue;
        if (cookie.sameSite === "Lax" && !options.topLevelNavigation) continue;
      }
      out.push(cookie);
    }
    if (expired) this.removeExpired();
    out.sort((a, b) => b.path.length - a.path.length || a.created - b.created);
    for (const cookie of out) cookie.lastAccessed = now;
    return out;
  }

  /**
   * The `Cookie` header value for a request to `url`.
   *
   * @param url The request URL.
   * @param options The request's context.
   * @returns `name=value` pairs joined by `"; "`, or `""` when none match.
   * @throws {TypeError} If `url` is not a valid URL.
   *
   * @example Building the header
   * ```ts
   * import { CookieJar } from "@inetkit/inetkit/http";
   * import { assertEquals } from "@std/assert";
   *
   * const jar = new CookieJar();
   * jar.setCookie("a=1", "https://example.com/");
   * jar.setCookie("s=2; Secure", "https://example.com/");
   * assertEquals(jar.getCookieHeader("https://example.com/"), "a=1; s=2");
   * assertEquals(jar.getCookieHeader("http://example.com/"), "a=1");
   * ```
   */
  getCookieHeader(url: string | URL, options?: CookieJarGetOptions): string {
    options ??= {};
    return this.getCookies(url, options)
      .map((c) => (c.name === "" ? c.value : `${c.name}=${c.value}`))
      .join("; ");
  }

  /**
   * Deletes cookies: all of them, those of one domain, or one by name.
   *
   * @param domain Only cookies stored for this domain (host-only or not).
   * @param path With `domain`, only this path.
   * @param name With `domain` and `path`, only this name.
   * @returns How many were deleted.
   *
   * @example Clearing one domain
   * ```ts
   * import { CookieJar } from "@inetkit/inetkit/http";
   * import { assertEquals } from "@std/assert";
   *
   * const jar = new CookieJar();
   * jar.setCookie("a=1", "http://a.test/");
   * jar.setCookie("b=1", "http://b.test/");
   * assertEquals(jar.clear("a.test"), 1);
   * assertEquals(jar.size, 1);
   * ```
   */
  clear(domain?: string, path?: string, name?: string): number {
    let deleted = 0;
    for (const [key, cookie] of this.#cookies) {
      if (domain !== undefined && cookie.domain !== domain.toLowerCase()) continue;
      if (path !== undefined && cookie.path !== path) continue;
      if (name !== undefined && cookie.name !== name) continue;
      this.#cookies.delete(key);
      deleted++;
    }
    return deleted;
  }

  /**
   * Removes session cookies, as a user agent does when its session ends.
   *
   * @returns How many were removed.
   *
   * @example Ending a session
   * ```ts
   * import { CookieJar } from "@inetkit/inetkit/http";
   * import { assertEquals } from "@std/assert";
   *
   * const jar = new CookieJar();
   * jar.setCookie("a=1", "http://a.test/");
   * jar.setCookie("b=1; Max-Age=60", "http://a.test/");
   * assertEquals(jar.clearSession(), 1);
   * ```
   */
  clearSession(): number {
    let removed = 0;
    for (const [key, cookie] of this.#cookies) {
      if (cookie.expires === undefined) {
        this.#cookies.delete(key);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Removes expired cookies.
   *
   * @returns How many were removed.
   *
   * @example Expiry with a fixed clock
   * ```ts
   * import { CookieJar } from "@inetkit/inetkit/http";
   * import { assertEquals } from "@std/assert";
   *
   * let now = 0;
   * const jar = new CookieJar({ now: () => now });
   * jar.setCookie("a=1; Max-Age=10", "http://a.test/");
   * now = 11_000;
   * assertEquals(jar.removeExpired(), 1);
   * ```
   */
  removeExpired(): number {
    const now = this.#now();
    let removed = 0;
    for (const [key, cookie] of this.#cookies) {
      if (cookie.expires !== undefined && cookie.expires <= now) {
        this.#cookies.delete(key);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Writes the jar as a Netscape `cookies.txt` file, the format curl writes
   * with `-c` and reads with `-b`: one cookie per line, seven TAB-separated
   * fields (domain, include-subdomains, path, secure, expiry in Unix seconds
   * with 0 for a session cookie, name, value); a domain cookie's domain has
   * a leading dot; `HttpOnly` cookies are prefixed with `#HttpOnly_`.
   *
   * @param options Whether to write session cookies.
   * @returns The file text.
   * @throws {TypeError} If a stored cookie's name, value, path or domain holds
   *   a TAB, CR, LF or other control character (the jar never stores one, but
   *   the objects its iterator yields can be changed): the line would split
   *   into other fields or other cookies.
   *
   * @example Saving for curl
   * ```ts
   * import { CookieJar } from "@inetkit/inetkit/http";
   * import { assertStringIncludes } from "@std/assert";
   *
   * const jar = new CookieJar();
   * jar.setCookie("a=1; Domain=example.com; Path=/; HttpOnly", "http://www.example.com/");
   * assertStringIncludes(jar.toNetscape(), "#HttpOnly_.example.com\tTRUE\t/\tFALSE\t0\ta\t1\n");
   * ```
   */
  toNetscape(options?: CookieJarNetscapeOptions): string {
    options ??= {};
    const includeSession = options.includeSession ?? true;
    const lines = [
      "# Netscape HTTP Cookie File",
      "# https://curl.se/docs/http-cookies.html",
      "# This file was generated by inetkit! Edit at your own risk.",
      "",
    ];
    for (const c of this) {
      if (c.expires === undefined && !includeSession) continue;
      for (
        const [what, text] of [["name", c.name], ["value", c.value], ["path", c.path], [
          "domain",
          c.domain,
        ]] as const
      ) {
        if (NETSCAPE_UNSAFE_REGEXP.test(text)) {
          // The value is not shown: it may be a secret.
          throw new TypeError(
            `Cannot write cookies.txt: the ${what} of cookie ${JSON.stringify(c.name)} for ${
              JSON.stringify(c.domain)
            } contains a TAB, CR, LF or other control character`,
          );
        }
      }
      const domain = (c.httpOnly ? "#HttpOnly_" : "") + (c.hostOnly ? "" : ".") + c.domain;
      const expiry = c.expires === undefined ? 0 : Math.floor(c.expires / 1000);
      lines.push(
        [
          domain,
          c.hostOnly ? "FALSE" : "TRUE",
          c.path,
          c.secure ? "TRUE" : "FALSE",
          String(expiry),
          c.name,
          c.value,
        ].join("\t"),
      );
    }
    return lines.join("\n") + "\n";
  }

  /**
   * Adds the cookies of a Netscape `cookies.txt` file (as written by curl
   * `-c`, by browsers' export tools and by {@linkcode CookieJar.toNetscape}).
   * Comment and malformed lines are skipped; expired cookies are dropped;
   * expiry 0 means a session cookie; a six-field line has an empty value, as
   * curl allows. A domain cookie on a public suffix (curl writes
   * `.localhost`) is loaded as a host-only cookie for that name.
   *
   * @param text The file text.
   * @param options The size limit.
   * @returns How many cookies were loaded.
   * @throws {RangeError} If the text is longer than `maxBytes`.
   *
   * @example Loading a curl cookie file
   * ```ts
   * import { CookieJar } from "@inetkit/inetkit/http";
   * import { assertEquals } from "@std/assert";
   *
   * const jar = new CookieJar();
   * jar.loadNetscape("# Netscape HTTP Cookie File\n.example.com\tTRUE\t/\tFALSE\t0\tid\t42\n");
   * assertEquals(jar.getCookieHeader("http://www.example.com/"), "id=42");
   * ```
   */
  loadNetscape(text: string, options?: CookieJarLoadOptions): number {
    options ??= {};
    const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    if (text.length > maxBytes) {
      throw new RangeError(`Cannot load cookies: file is longer than ${maxBytes} bytes`);
    }
    const now = this.#now();
    let loaded = 0;
    for (let line of text.split("\n")) {
      if (line.endsWith("\r")) line = line.slice(0, -1);
      let httpOnly = false;
      if (line.startsWith("#HttpOnly_")) {
        httpOnly = true;
        line = line.slice("#HttpOnly_".length);
      } else if (line.startsWith("#") || line.trim() === "") continue;
      const fields = line.split("\t");
      if (fields.length === 6) fields.push("");
      if (fields.length !== 7) continue;
      const [rawDomain, flag, path, secureFlag, expiryText, name, value] = fields as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const includeSubdomains = flag.toUpperCase() === "TRUE";
      let domain = rawDomain.toLowerCase();
      if (domain.startsWith(".")) domain = domain.slice(1);
      if (domain === "" || !path.startsWith("/") || !/^-?\d+$/.test(expiryText)) continue;
      // deno-lint-ignore no-control-regex
      if (/[\x00-\x08\x0a-\x1f\x7f;]/.test(name + value)) continue;
      if ((name.length + value.length) > (this.#limits.maxCookieSize ?? 4096)) continue;
      const expirySeconds = Number(expiryText);
      if (expirySeconds !== 0 && expirySeconds * 1000 <= now) continue;
      // A domain cookie on a public suffix is narrowed to that host, as a
      // Set-Cookie with such a Domain would be (curl writes ".localhost").
      const hostOnly = !includeSubdomains || this.#isPublicSuffix(domain);
      const secure = secureFlag.toUpperCase() === "TRUE";
      const stored: StoredCookie = {
        name,
        value,
        domain,
        hostOnly,
        path,
        secure,
        httpOnly,
        created: now,
        lastAccessed: now,
      };
      if (expirySeconds !== 0) stored.expires = expirySeconds * 1000;
      this.#store(keyOf(domain, hostOnly, path, name), stored);
      loaded++;
    }
    return loaded;
  }

  /**
   * Creates a jar from a Netscape `cookies.txt` file.
   *
   * @param text The file text.
   * @param options The jar's options.
   * @returns The new jar.
   * @throws {RangeError} If the text is longer than 16 MiB.
   *
   * @example Round trip
   * ```ts
   * import { CookieJar } from "@inetkit/inetkit/http";
   * import { assertEquals } from "@std/assert";
   *
   * const jar = new CookieJar();
   * jar.setCookie("a=1; Max-Age=3600", "http://example.com/");
   * assertEquals(CookieJar.fromNetscape(jar.toNetscape()).getCookieHeader("http://example.com/"), "a=1");
   * ```
   */
  static fromNetscape(text: string, options?: CookieJarOptions): CookieJar {
    options ??= {};
    const jar = new CookieJar(options);
    jar.loadNetscape(text);
    return jar;
  }
}
