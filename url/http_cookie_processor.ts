import { CookieJar } from "../http/cookie_jar.ts";
import type { UrlHandler } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import type { UrlResponse } from "./url_response.ts";

/**
 * Keeps cookies across requests in a {@linkcode CookieJar} (RFC 6265),
 * urllib2's `HTTPCookieProcessor`: it adds the jar's `Cookie` header to
 * each request (including each redirect hop, for that hop's URL) and stores
 * the `Set-Cookie` fields of each response, redirects and errors included.
 * A `Cookie` header the caller set is left alone.
 *
 * @example Cookies survive a redirect
 * ```ts
 * import { HttpCookieProcessor, UrlOpener, UrlResponse } from "@inetkit/inetkit/url";
 * import { CookieJar } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const jar = new CookieJar();
 * const seen: string[] = [];
 * await using opener = new UrlOpener([
 *   new HttpCookieProcessor(jar),
 *   {
 *     protocols: ["http:"],
 *     open(request) {
 *       seen.push(request.allHeaders().get("cookie") ?? "");
 *       return new UrlResponse("", { url: request.url, headers: { "set-cookie": "id=7" } });
 *     },
 *   },
 * ]);
 * await (await opener.open("http://example.test/")).body?.cancel();
 * await (await opener.open("http://example.test/again")).body?.cancel();
 * assertEquals(seen, ["", "id=7"]);
 * ```
 */
export class HttpCookieProcessor implements UrlHandler {
  /** HTTP and HTTPS. */
  readonly protocols: readonly string[] = ["http:", "https:"];
  /** The jar. */
  readonly jar: CookieJar;

  /**
   * Creates the processor.
   *
   * @param jar The jar to use; a new empty one by default.
   */
  constructor(jar: CookieJar = new CookieJar()) {
    this.jar = jar;
  }

  /**
   * Adds the `Cookie` header for the request URL.
   *
   * @param request The request.
   */
  preprocess(request: UrlRequest): void {
    if (request.headers.has("cookie") || request.unredirectedHeaders.has("cookie")) return;
    const header = this.jar.getCookieHeader(request.url);
    if (header !== "") request.unredirectedHeaders.set("Cookie", header);
  }

  /**
   * Stores the response's cookies.
   *
   * @param request The request.
   * @param response Its response.
   * @returns The response, unchanged.
   */
  postprocess(request: UrlRequest, response: UrlResponse): UrlResponse {
    this.jar.setCookies(request.url, response.headers);
    return response;
  }
}
