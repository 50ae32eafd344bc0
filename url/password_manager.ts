/**
 * A user name and password found by a {@linkcode PasswordManager}. The user
 * name is given under both names: `username`, as in the mail clients' and
 * SASL's credentials and in `URL`, and `user`, the name this interface had
 * first.
 */
export interface UrlCredentials {
  /** The user name. */
  username: string;
  /**
   * The user name (the same as `username`).
   *
   * @deprecated Use `username`, the name the rest of inetkit uses.
   */
  user: string;
  /** The password. */
  password: string;
}

/** Options for {@linkcode PasswordManager.add}. */
export interface PasswordManagerAddOptions {
  /**
   * Send these credentials before any challenge (Basic only), for servers
   * that answer 404 instead of 401 to anonymous clients; urllib's
   * `HTTPPasswordMgrWithPriorAuth` with `is_authenticated=True`.
   *
   * @default {false}
   */
  preemptive?: boolean;
}

interface Scope {
  host: string;
  /** `null`: the default port of the request's scheme. */
  port: number | null;
  /** Path prefix, always ending in `/` unless it is a full path to match exactly. */
  path: string;
}

interface Entry {
  realm: string | null;
  scopes: Scope[];
  username: string;
  password: string;
  preemptive: boolean;
}

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443, "ftp:": 21 };

/**
 * Holds credentials by realm and URL, urllib2's `HTTPPasswordMgr`: the auth
 * handlers ask it for the user and password that answer a challenge.
 *
 * Each entry is scoped to URLs: the same host and port, and a path under
 * one of the registered paths by whole segments, so credentials given for
 * `http://h/app` are sent to `http://h/app` and `http://h/app/x` but never
 * to `http://h/application` or `http://h/`. A URI without a scheme
 * (`h:8080`, or `h` for the scheme's default port) covers the whole host.
 *
 * Credentials added with a `null` realm answer a challenge of any realm
 * (for the URLs they cover) when no entry names that realm: this is
 * urllib2's `HTTPPasswordMgrWithDefaultRealm`, the behaviour the urllib2
 * HOWTO relies on when it passes `None`. (Python's plain `HTTPPasswordMgr`
 * would never use such an entry, which only ever surprised people; here
 * {@linkcode DefaultRealmPasswordManager} is kept as another name for this
 * class.)
 *
 * @example Any realm, as the urllib2 HOWTO does it
 * ```ts
 * import { PasswordManager } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const manager = new PasswordManager();
 * manager.add(null, "http://example.test/foo/", "mulder", "trustno1");
 * const found = manager.find("cPanel Users", "http://example.test/foo/bar.html");
 * assertEquals(found, { username: "mulder", user: "mulder", password: "trustno1" });
 * ```
 *
 * @example Credentials scoped by path segments
 * ```ts
 * import { PasswordManager } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const manager = new PasswordManager();
 * manager.add("staff", "http://example.test/app", "mulder", "trustno1");
 * assertEquals(manager.find("staff", "http://example.test/app/x")?.user, "mulder");
 * assertEquals(manager.find("staff", "http://example.test/application"), null);
 * assertEquals(manager.find("other", "http://example.test/app/x"), null);
 * ```
 */
export class PasswordManager {
  #entries: Entry[] = [];

  /**
   * Registers credentials for a realm and one or more URIs. A later entry
   * for the same realm and URIs replaces the earlier one.
   *
   * @param realm The realm from the challenge, or `null` for any realm.
   * @param uri The URLs (or `host[:port]` authorities) they cover.
   * @param user The user name.
   * @param password The password.
   * @param options Pre-emptive sending.
   * @throws {TypeError} If a URI cannot be parsed or the user name holds a
   *   control character.
   *
   * @example
   * ```ts
   * import { PasswordManager } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const manager = new PasswordManager();
   * manager.add("r", ["http://a.test/", "example.test:8080"], "u", "p");
   * assertEquals(manager.find("r", "http://example.test:8080/any")?.password, "p");
   * assertEquals(manager.find("r", "http://example.test/any"), null);
   * ```
   */
  add(
    realm: string | null,
    uri: string | URL | readonly (string | URL)[],
    user: string,
    password: string,
    options?: PasswordManagerAddOptions,
  ): void {
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f\x7f]/.test(user)) {
      throw new TypeError("Cannot add credentials: the user name contains a control character");
    }
    const uris = typeof uri === "string" || uri instanceof URL ? [uri] : uri;
    const scopes = uris.map((u) => scopeOf(u));
    const key = scopes.map(scopeKey).sort().join(" ");
    this.#entries = this.#entries.filter(
      (e) => !(e.realm === realm && e.scopes.map(scopeKey).sort().join(" ") === key),
    );
    this.#entries.push({
      realm,
      scopes,
      username: user,
      password,
      preemptive: options?.preemptive ?? false,
    });
  }

  /**
   * Finds the credentials for a realm and a URL: among the entries for that
   * realm, else among those added for any realm (`null`), the one with the
   * longest matching path.
   *
   * @param realm The realm of the challenge (`null` for a challenge without one).
   * @param url The URL being requested.
   * @returns A copy of the credentials, or `null`.
   * @throws {TypeError} If `url` is not an absolute URL.
   *
   * @example
   * ```ts
   * import { PasswordManager } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const manager = new PasswordManager();
   * manager.add("r", "http://h/", "root", "a");
   * manager.add("r", "http://h/docs/", "docs", "b");
   * assertEquals(manager.find("r", "http://h/docs/x")?.user, "docs");
   * assertEquals(manager.find("r", "http://h/other")?.user, "root");
   * ```
   */
  find(realm: string | null, url: string | URL): UrlCredentials | null {
    const target = new URL(url);
    return this.#best(target, (e) => e.realm === realm) ??
      (realm === null ? null : this.#best(target, (e) => e.realm === null));
  }

  /**
   * The credentials to send before any challenge: those of an entry added
   * with `preemptive: true` (or marked with
   * {@linkcode PasswordManager.setPreemptive}) that covers the URL, in any
   * realm.
   *
   * @param url The URL being requested.
   * @returns A copy of the credentials, or `null`.
   * @throws {TypeError} If `url` is not an absolute URL.
   *
   * @example
   * ```ts
   * import { PasswordManager } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const manager = new PasswordManager();
   * manager.add(null, "http://h/api", "u", "p", { preemptive: true });
   * assertEquals(manager.findPreemptive("http://h/api/v1")?.user, "u");
   * assertEquals(manager.findPreemptive("http://h/"), null);
   * ```
   */
  findPreemptive(url: string | URL): UrlCredentials | null {
    return this.#best(new URL(url), (e) => e.preemptive);
  }

  /**
   * Turns pre-emptive sending on or off for the entries covering a URL
   * (urllib's `update_authenticated`).
   *
   * @param url A URL the entries cover.
   * @param preemptive Whether to send their credentials before a challenge.
   * @returns How many entries changed.
   * @throws {TypeError} If `url` is not an absolute URL.
   *
   * @example
   * ```ts
   * import { PasswordManager } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const manager = new PasswordManager();
   * manager.add("r", "http://h/", "u", "p");
   * assertEquals(manager.setPreemptive("http://h/x", true), 1);
   * assertEquals(manager.findPreemptive("http://h/y")?.user, "u");
   * ```
   */
  setPreemptive(url: string | URL, preemptive: boolean): number {
    const target = new URL(url);
    let changed = 0;
    for (const e of this.#entries) {
      if (e.scopes.some((s) => covers(s, target) >= 0) && e.preemptive !== preemptive) {
        e.preemptive = preemptive;
        changed++;
      }
    }
    return changed;
  }

  /**
   * Forgets every entry.
   *
   * @example
   * ```ts
   * import { PasswordManager } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const manager = new PasswordManager();
   * manager.add("r", "http://h/", "u", "p");
   * manager.clear();
   * assertEquals(manager.find("r", "http://h/"), null);
   * ```
   */
  clear(): void {
    this.#entries = [];
  }

  #best(url: URL, accept: (e: Entry) => boolean): UrlCredentials | null {
    let best: Entry | null = null;
    let bestLength = -1;
    for (const e of this.#entries) {
      if (!accept(e)) continue;
      for (const scope of e.scopes) {
        const length = covers(scope, url);
        if (length > bestLength || (length === bestLength && length >= 0)) {
          best = e;
          bestLength = length;
        }
      }
    }
    return best === null
      ? null
      : { username: best.username, user: best.username, password: best.password };
  }
}

/**
 * urllib2's `HTTPPasswordMgrWithDefaultRealm` under its own name: entries
 * added with a `null` realm answer challenges of any realm, and an entry
 * for the exact realm still wins. {@linkcode PasswordManager} itself
 * behaves the same way; this subclass adds nothing and is kept for code
 * and readers that know the urllib2 name.
 *
 * @example
 * ```ts
 * import { DefaultRealmPasswordManager } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const manager = new DefaultRealmPasswordManager();
 * manager.add(null, "http://h/", "any", "1");
 * manager.add("staff", "http://h/", "staff", "2");
 * assertEquals(manager.find("whatever", "http://h/x")?.user, "any");
 * assertEquals(manager.find("staff", "http://h/x")?.user, "staff");
 * ```
 */
export class DefaultRealmPasswordManager extends PasswordManager {}

function scopeOf(uri: string | URL): Scope {
  const text = String(uri);
  if (uri instanceof URL || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch (error) {
      throw new TypeError(`Cannot add credentials: ${JSON.stringify(text)} is not a URL`, {
        cause: error,
      });
    }
    const port = url.port !== "" ? Number(url.port) : DEFAULT_PORTS[url.protocol] ?? null;
    let path = url.pathname || "/";
    if (!path.endsWith("/")) path += "/";
    return { host: url.hostname.toLowerCase(), port, path };
  }
  // A bare authority: host or host:port.
  let url: URL;
  try {
    url = new URL(`http://${text}/`);
  } catch (error) {
    throw new TypeError(`Cannot add credentials: ${JSON.stringify(text)} is not an authority`, {
      cause: error,
    });
  }
  if (url.pathname !== "/" || url.search !== "" || url.username !== "") {
    throw new TypeError(`Cannot add credentials: ${JSON.stringify(text)} is not an authority`);
  }
  const hasPort = /:\d+$/.test(text);
  return {
    host: url.hostname.toLowerCase(),
    port: hasPort ? Number(url.port || 80) : null,
    path: "/",
  };
}

function scopeKey(scope: Scope): string {
  return `${scope.host}:${scope.port ?? ""}${scope.path}`;
}

/** The length of the scope's path when it covers the URL, else -1. */
function covers(scope: Scope, url: URL): number {
  if (url.hostname.toLowerCase() !== scope.host) return -1;
  const defaultPort = DEFAULT_PORTS[url.protocol] ?? null;
  const port = url.port !== "" ? Number(url.port) : defaultPort;
  if (scope.port === null ? port !== defaultPort : port !== scope.port) return -1;
  const path = url.pathname || "/";
  // "/app/" covers "/app" itself and everything under "/app/".
  if (path + "/" === scope.path || path.startsWith(scope.path)) return scope.path.length;
  return -1;
}
