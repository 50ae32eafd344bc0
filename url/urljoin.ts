/**
 * Resolves a reference against a base URL (RFC 3986 §5 as the WHATWG URL
 * standard applies it), Python's `urllib.parse.urljoin` on the built-in
 * `URL`. An empty reference returns the base unchanged, as Python does.
 * The result is normalized the way `URL` normalizes (lower-case scheme and
 * host, default port dropped, dot segments removed).
 *
 * @param base An absolute URL.
 * @param url A reference: absolute, scheme-relative (`//host/x`),
 *   absolute-path, relative path, query or fragment.
 * @returns The absolute URL.
 * @throws {TypeError} If `base` is not absolute and `url` is not absolute
 *   either, or the result is not a valid URL.
 *
 * @example
 * ```ts
 * import { urljoin } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(urljoin("http://a/b/c/d;p?q", "../g"), "http://a/b/g");
 * assertEquals(urljoin("http://a/b/c/d;p?q", "?y"), "http://a/b/c/d;p?y");
 * assertEquals(urljoin("http://a/b", "//h/x"), "http://h/x");
 * ```
 */
export function urljoin(base: string | URL, url: string | URL): string {
  if (url === "") return String(base);
  try {
    return URL.canParse(base) ? new URL(url, base).href : new URL(url).href;
  } catch (error) {
    throw new TypeError(
      `Cannot join URL ${JSON.stringify(String(url))} to base ${JSON.stringify(String(base))}`,
      { cause: error },
    );
  }
}
