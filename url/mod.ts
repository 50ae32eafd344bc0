/**
 * URLs: `urlopen()` with urllib2's openers and handlers (http, https, file,
 * data; redirects, Basic and Digest auth, proxies, cookies, retries),
 * `urlretrieve()` with resume, thin helpers over the built-in `URL`
 * (`urlencode`, `urljoin`, `urlsplit`, `quote`), and robots.txt (RFC 9309).
 *
 * The names `urlopen`, `urlretrieve`, `urlencode`, `urljoin`, `urlsplit`,
 * `HTTPError` and `URLError` keep Python's spelling on purpose, so code and
 * habits carry over from `urllib`; everything new is named the way the rest
 * of inetkit is (`UrlOpener`, `UrlRequest`, `UrlResponse`).
 *
 * @example Opening a URL
 * ```ts
 * import { urlopen } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const response = await urlopen("data:text/plain,hello");
 * assertEquals(await response.text(), "hello");
 * ```
 *
 * @module
 */
export * from "./quote.ts";
export * from "./urlencode.ts";
export * from "./urljoin.ts";
export * from "./urlsplit.ts";
export * from "./robots.ts";
export * from "./url_error.ts";
export * from "./http_error.ts";
export * from "./url_request.ts";
export * from "./url_response.ts";
export * from "./url_opener.ts";
export * from "./data_handler.ts";
export * from "./file_handler.ts";
export * from "./http_handler.ts";
export * from "./http_error_processor.ts";
export * from "./http_redirect_handler.ts";
export * from "./http_cookie_processor.ts";
export * from "./password_manager.ts";
export * from "./http_basic_auth_handler.ts";
export * from "./http_digest_auth_handler.ts";
export * from "./proxy_handler.ts";
export * from "./retry_handler.ts";
export * from "./build_opener.ts";
export * from "./urlopen.ts";
export * from "./urlretrieve.ts";
export * from "./robots_fetcher.ts";
export * from "./gopher_handler.ts";
export * from "./ftp_handler.ts";
