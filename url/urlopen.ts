import { buildOpener } from "./build_opener.ts";
// The default handlers for ftp: and gopher: register themselves when loaded.
import "./ftp_handler.ts";
import "./gopher_handler.ts";
import type { UrlOpener, UrlOpenOptions } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import type { UrlResponse } from "./url_response.ts";

let installed: UrlOpener | null = null;

/**
 * Opens a URL with the installed opener (see {@linkcode installOpener}),
 * or with a default one from {@linkcode buildOpener} built on first use:
 * urllib2's `urlopen`. The response is a web `Response` with a streaming
 * body, the final `url`, and urllib's `code`, `info()` and `geturl()`.
 *
 * HTTP errors throw {@linkcode HTTPError} (itself readable as a response);
 * other failures throw {@linkcode URLError}, timeouts included (its
 * `timedOut` is true and its `cause` the `TimeoutError`, also when the
 * body stalls while being read); an abort through your own `signal` rejects
 * with the signal's reason. Read or cancel each body: its connection goes
 * back to the pool when the body ends.
 *
 * @param url The URL, a {@linkcode UrlRequest}, or a web `Request` (its
 *   method, headers, body and signal are carried over; the body is read
 *   into memory first).
 * @param options Body, headers, method, `timeout` (ms for connect, head and
 *   each pause in the body), `signal`, `onProgress`. With a request, only
 *   `timeout`, `signal` and `onProgress` apply.
 * @returns The response.
 * @throws {HTTPError} For an HTTP error answer.
 * @throws {URLError} When the URL cannot be opened.
 * @throws {TypeError} For an invalid URL, method or header.
 *
 * @example Opening a data: URL
 * ```ts
 * import { urlopen } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const response = await urlopen("data:,hello");
 * assertEquals([response.code, await response.text()], [200, "hello"]);
 * ```
 *
 * @example Opening a web Request
 * ```ts
 * import { urlopen } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const response = await urlopen(new Request("data:text/plain,hi"));
 * assertEquals(await response.text(), "hi");
 * ```
 *
 * @example Posting a form over HTTP
 * ```ts ignore
 * import { urlencode, urlopen } from "@inetkit/inetkit/url";
 *
 * const response = await urlopen("http://127.0.0.1:8081/cgi-bin/echo.py", {
 *   data: urlencode({ q: "a b" }),
 *   timeout: 5000,
 * });
 * console.log(response.status, await response.text());
 * ```
 */
export function urlopen(
  url: string | URL | UrlRequest | Request,
  options?: UrlOpenOptions,
): Promise<UrlResponse> {
  installed ??= buildOpener();
  return installed.open(url, options);
}

/**
 * Makes an opener the one {@linkcode urlopen} uses (urllib2's
 * `install_opener`). The previous opener is returned, not closed. Passing
 * `null` goes back to a default opener, built on next use.
 *
 * @param opener The opener, or `null`.
 * @returns The opener installed before, or `null` if none was.
 *
 * @example Installing an opener with a cookie jar
 * ```ts
 * import { buildOpener, HttpCookieProcessor, installOpener } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * await using opener = buildOpener(new HttpCookieProcessor());
 * const previous = installOpener(opener);
 * assertEquals(installOpener(previous), opener);
 * ```
 */
export function installOpener(opener: UrlOpener | null): UrlOpener | null {
  const previous = installed;
  installed = opener;
  return previous;
}
