import {
  type AuthMode,
  challengeHeader,
  PROXY_AUTH,
  retryWithAuthorization,
  SERVER_AUTH,
} from "./_auth.ts";
import { parseAuthChallenges } from "./_auth_challenge.ts";
import { PasswordManager } from "./password_manager.ts";
import type { UrlHandler, UrlOpener } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import type { UrlResponse } from "./url_response.ts";

const encoder = new TextEncoder();

/**
 * The `Basic` credentials header value for a user and password (RFC 7617),
 * UTF-8 encoded.
 */
function basicValue(user: string, password: string): string {
  const bytes = encoder.encode(`${user}:${password}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/**
 * Answers `Basic` challenges (RFC 7617) with credentials from a
 * {@linkcode PasswordManager}, urllib2's `HTTPBasicAuthHandler`: on a 401
 * whose `WWW-Authenticate` offers Basic for a realm the manager knows for
 * the URL, the request is sent again with `Authorization`. If those exact
 * credentials were already refused, the 401 ends in {@linkcode HTTPError}.
 * Entries added with `preemptive: true` are sent with the first request.
 * The header is never carried over redirects.
 *
 * @example Answering a challenge
 * ```ts
 * import { HttpBasicAuthHandler, HttpErrorProcessor, PasswordManager, UrlOpener, UrlResponse } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const manager = new PasswordManager();
 * manager.add("lab", "http://example.test/", "mulder", "trustno1");
 * await using opener = new UrlOpener([
 *   new HttpBasicAuthHandler(manager),
 *   new HttpErrorProcessor(),
 *   {
 *     protocols: ["http:"],
 *     open: (r) =>
 *       r.allHeaders().get("authorization") === "Basic bXVsZGVyOnRydXN0bm8x"
 *         ? new UrlResponse("in", { url: r.url })
 *         : new UrlResponse(null, {
 *           status: 401,
 *           url: r.url,
 *           headers: { "www-authenticate": 'Basic realm="lab"' },
 *         }),
 *   },
 * ]);
 * assertEquals(await (await opener.open("http://example.test/x")).text(), "in");
 * ```
 */
export class HttpBasicAuthHandler implements UrlHandler {
  /** HTTP and HTTPS. */
  readonly protocols: readonly string[] = ["http:", "https:"];
  /** The credentials. */
  readonly passwordManager: PasswordManager;
  #mode: AuthMode;

  /**
   * Creates the handler.
   *
   * @param passwordManager Where credentials come from; a new empty one by
   *   default.
   */
  constructor(passwordManager: PasswordManager = new PasswordManager()) {
    this.passwordManager = passwordManager;
    this.#mode = this.proxy ? PROXY_AUTH : SERVER_AUTH;
  }

  /** Whether this handler answers proxies (407) instead of servers (401). */
  get proxy(): boolean {
    return false;
  }

  /**
   * Adds pre-emptive credentials.
   *
   * @param request The request.
   */
  preprocess(request: UrlRequest): void {
    const mode = this.#mode;
    if (request.headers.has(mode.authorization)) return;
    if (request.unredirectedHeaders.has(mode.authorization)) return;
    const target = mode.target(request);
    if (target === null) return;
    const credentials = this.passwordManager.findPreemptive(target);
    if (credentials === null || credentials.user.includes(":")) return;
    request.unredirectedHeaders.set(
      mode.authorization,
      basicValue(credentials.user, credentials.password),
    );
  }

  /**
   * Answers a 401 (407 for proxies) that offers Basic.
   *
   * @param request The refused request.
   * @param response The challenge.
   * @param opener The opener, which sends the retry.
   * @returns The answer to the retry, or `null` when this handler cannot help.
   */
  async error(
    request: UrlRequest,
    response: UrlResponse,
    opener: UrlOpener,
  ): Promise<UrlResponse | null> {
    const mode = this.#mode;
    if (response.status !== mode.status) return null;
    const target = mode.target(request);
    if (target === null) return null;
    const challenge = parseAuthChallenges(challengeHeader(response, mode)).find((c) =>
      c.scheme === "basic"
    );
    if (challenge === undefined) return null;
    const realm = challenge.params.get("realm") ?? "";
    const credentials = this.passwordManager.find(realm, target);
    if (credentials === null || credentials.user.includes(":")) return null;
    const value = basicValue(credentials.user, credentials.password);
    if (request.allHeaders().get(mode.authorization) === value) return null;
    return await retryWithAuthorization(request, response, opener, mode, value);
  }
}

/**
 * {@linkcode HttpBasicAuthHandler} for proxies (urllib2's
 * `ProxyBasicAuthHandler`): answers 407 `Proxy-Authenticate` challenges
 * with `Proxy-Authorization`, looking credentials up by the proxy's URL.
 * Through a CONNECT tunnel the header goes to the proxy only, never to the
 * origin server.
 *
 * @example
 * ```ts
 * import { PasswordManager, ProxyBasicAuthHandler } from "@inetkit/inetkit/url";
 * import { assert } from "@std/assert";
 *
 * const manager = new PasswordManager();
 * manager.add("proxy", "http://proxy.test:3128/", "u", "p");
 * assert(new ProxyBasicAuthHandler(manager).proxy);
 * ```
 */
export class ProxyBasicAuthHandler extends HttpBasicAuthHandler {
  /** Always `true`. */
  override get proxy(): boolean {
    return true;
  }
}
