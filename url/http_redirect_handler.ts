import { discardBody } from "./_body.ts";
import type { UrlHandler, UrlOpener } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import type { UrlResponse } from "./url_response.ts";

/** Options for {@linkcode HttpRedirectHandler}. */
export interface HttpRedirectHandlerOptions {
  /**
   * The most redirects followed for one request.
   *
   * @default {10}
   */
  maxRedirections?: number;
  /**
   * How often the same URL may be visited in one chain before it counts as
   * a loop.
   *
   * @default {4}
   */
  maxRepeats?: number;
  /**
   * The schemes a redirect may lead to. `file:` and `data:` are refused
   * even when listed: a server never gets to read local files.
   *
   * @default {["http:", "https:", "ftp:"]}
   */
  protocols?: readonly string[];
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const BODY_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
  "transfer-encoding",
];
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];
const NEVER = new Set(["file:", "data:", "javascript:", "blob:", "about:"]);

/**
 * Follows HTTP redirects (RFC 9110 §15.4), urllib2's
 * `HTTPRedirectHandler`, with the rules browsers and curl converged on:
 *
 * - 301 and 302 turn `POST` into `GET`; 303 turns every method but `HEAD`
 *   into `GET`; those drop the body and its headers. 307 and 308 keep the
 *   method and the body (a streamed body cannot be sent again: the
 *   redirect then ends in {@linkcode HTTPError}).
 * - Only `http:`, `https:` and `ftp:` targets, never `file:` or `data:`.
 * - At most 10 redirects, and a URL seen 4 times is a loop: both end in
 *   {@linkcode HTTPError}.
 * - On a hop to another origin, `Authorization`, `Cookie` and
 *   `Proxy-Authorization` headers are dropped (the cookie processor and the
 *   auth handlers add what belongs to the new origin).
 *
 * @example Following a redirect
 * ```ts
 * import { HttpErrorProcessor, HttpRedirectHandler, UrlOpener, UrlResponse } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * await using opener = new UrlOpener([
 *   new HttpRedirectHandler(),
 *   new HttpErrorProcessor(),
 *   {
 *     protocols: ["http:"],
 *     open: (r) =>
 *       r.selector === "/old"
 *         ? new UrlResponse(null, { status: 301, url: r.url, headers: { location: "/new" } })
 *         : new UrlResponse("here", { url: r.url, redirected: r.redirectHistory.length > 0 }),
 *   },
 * ]);
 * const response = await opener.open("http://example.test/old");
 * assertEquals([response.url, response.redirected], ["http://example.test/new", true]);
 * ```
 */
export class HttpRedirectHandler implements UrlHandler {
  /** HTTP and HTTPS answers. */
  readonly protocols: readonly string[] = ["http:", "https:"];
  #max: number;
  #repeats: number;
  #targets: readonly string[];

  /**
   * Creates the handler.
   *
   * @param options The caps and allowed schemes.
   * @throws {RangeError} If a cap is negative.
   */
  constructor(options?: HttpRedirectHandlerOptions) {
    options ??= {};
    this.#max = options.maxRedirections ?? 10;
    this.#repeats = options.maxRepeats ?? 4;
    if (!Number.isSafeInteger(this.#max) || this.#max < 0) {
      throw new RangeError(
        `Cannot create redirect handler: maxRedirections ${this.#max} is invalid`,
      );
    }
    if (!Number.isSafeInteger(this.#repeats) || this.#repeats < 1) {
      throw new RangeError(
        `Cannot create redirect handler: maxRepeats ${this.#repeats} is invalid`,
      );
    }
    this.#targets = (options.protocols ?? ["http:", "https:", "ftp:"]).filter((p) => !NEVER.has(p));
  }

  /**
   * Follows a 301, 302, 303, 307 or 308 answer that has a `Location`.
   *
   * @param request The request that was redirected.
   * @param response The redirect.
   * @param opener The opener, which opens the next request.
   * @returns The final response, or `null` for other answers.
   * @throws {HTTPError} For a forbidden target, a loop, too many redirects,
   *   a malformed `Location` or a body that cannot be sent again.
   */
  async error(
    request: UrlRequest,
    response: UrlResponse,
    opener: UrlOpener,
  ): Promise<UrlResponse | null> {
    if (!REDIRECT_STATUSES.has(response.status)) return null;
    const location = response.headers.get("location");
    if (location === null) return null;
    let target: URL;
    try {
      target = new URL(location, request.url);
    } catch {
      throw await opener.httpError(response, `malformed Location ${JSON.stringify(location)}`);
    }
    if (!this.#targets.includes(target.protocol)) {
      throw await opener.httpError(
        response,
        `redirection to a ${target.protocol} URL is not allowed`,
      );
    }
    const history = [...request.redirectHistory, request.url];
    if (history.length > this.#max) {
      throw await opener.httpError(response, `more than ${this.#max} redirects`);
    }
    const next = new URL(target);
    next.hash = "";
    if (history.filter((u) => u === next.href).length >= this.#repeats) {
      throw await opener.httpError(response, "redirect loop");
    }
    const status = response.status;
    const method = request.method;
    const toGet = status === 303
      ? method !== "HEAD"
      : (status === 301 || status === 302) && method === "POST";
    if (!toGet && request.data !== null && !request.replayable) {
      throw await opener.httpError(response, "cannot send a streamed body again");
    }
    const headers = new Headers(request.headers);
    if (toGet) { for (const name of BODY_HEADERS) headers.delete(name); }
    if (target.origin !== new URL(request.url).origin || target.origin === "null") {
      for (const name of CREDENTIAL_HEADERS) headers.delete(name);
    }
    await discardBody(response);
    const derived = toGet
      ? request.derive(target, { method: method === "HEAD" ? "HEAD" : "GET", data: null, headers })
      : request.derive(target, { headers });
    derived.redirectHistory = history;
    return await opener.open(derived);
  }
}
