import type { UrlHandler, UrlOpener } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import type { UrlResponse } from "./url_response.ts";

/**
 * Sends every HTTP answer outside 200 to 299 to {@linkcode UrlOpener.error}
 * (urllib2's `HTTPErrorProcessor`), where redirect, auth and retry handlers
 * may resolve it and otherwise {@linkcode HTTPError} is thrown. It runs
 * last (order 1000), after the cookie processor has seen the response.
 * Build an opener without it to get error answers as plain responses.
 *
 * @example A 404 becomes an HTTPError
 * ```ts
 * import { HttpErrorProcessor, HTTPError, UrlOpener, UrlResponse } from "@inetkit/inetkit/url";
 * import { assertRejects } from "@std/assert";
 *
 * await using opener = new UrlOpener([
 *   new HttpErrorProcessor(),
 *   { protocols: ["http:"], open: (r) => new UrlResponse("", { status: 404, url: r.url }) },
 * ]);
 * await assertRejects(() => opener.open("http://example.test/"), HTTPError);
 * ```
 */
export class HttpErrorProcessor implements UrlHandler {
  /** Runs after the other handlers. */
  readonly order: number = 1000;
  /** HTTP and HTTPS. */
  readonly protocols: readonly string[] = ["http:", "https:"];

  /**
   * Passes non-2xx responses to the opener's error handlers.
   *
   * @param request The request.
   * @param response Its response.
   * @param opener The opener.
   * @returns The response, or what an error handler made of it.
   * @throws {HTTPError} When no error handler resolves it.
   */
  postprocess(
    request: UrlRequest,
    response: UrlResponse,
    opener: UrlOpener,
  ): UrlResponse | Promise<UrlResponse> {
    if (response.status >= 200 && response.status < 300) return response;
    return opener.error(request, response);
  }
}
