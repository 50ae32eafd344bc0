/** The parts of a URL as {@linkcode urlsplit} returns them. */
export interface UrlSplitResult {
  /** The scheme, lower-cased, without `:`; `""` for a relative reference. */
  scheme: string;
  /** The authority (`user:pass@host:port`) as written; `""` when absent. */
  netloc: string;
  /** The path, without the `;params` of its last segment. */
  path: string;
  /** The `;params` of the last path segment, without the `;`. */
  params: string;
  /** The query, without `?`. */
  query: string;
  /** The fragment, without `#`. */
  fragment: string;
  /** The user name from the authority, still percent-encoded, or `null`. */
  username: string | null;
  /** The password from the authority, still percent-encoded, or `null`. */
  password: string | null;
  /** The host, lower-cased, IPv6 brackets removed, or `null`. */
  hostname: string | null;
  /** The port as a number, or `null` when absent. */
  port: number | null;
}

// RFC 3986 Appendix B, with the scheme restricted to its ABNF.
const SPLIT_REGEXP =
  /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s;
// Leading and trailing C0 controls and spaces, as the WHATWG parser strips them.
// deno-lint-ignore no-control-regex
const EDGE_REGEXP = /^[\x00-\x20]+|[\x00-\x20]+$/g;
const TAB_NEWLINE_REGEXP = /[\t\n\r]/g;
// Schemes whose URLs always have an authority, so "file:///x" keeps its "//".
const USES_NETLOC = new Set([
  "http",
  "https",
  "ftp",
  "file",
  "gopher",
  "ws",
  "wss",
  "nntp",
  "telnet",
  "imap",
  "sftp",
  "rtsp",
]);

/**
 * Splits a URL or relative reference into its parts without normalizing
 * them, Python's `urllib.parse.urlsplit` plus the classic `;params` split of
 * `urlparse`. This is a syntactic split by RFC 3986 Appendix B for code that
 * needs the parts as written (or relative references, which `URL` cannot
 * hold); use the built-in `URL` to parse and normalize.
 *
 * Like the WHATWG parser (and Python since bpo-43882), leading and trailing
 * control characters and spaces are stripped and tabs and newlines removed,
 * so `"java\nscript:"` cannot pass a scheme check.
 *
 * @param url The URL or reference.
 * @returns The parts.
 * @throws {TypeError} If the authority has a port that is not a number from
 *   0 to 65535, or an unclosed IPv6 bracket.
 *
 * @example Splitting with params
 * ```ts
 * import { urlsplit } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const parts = urlsplit("HTTP://User:pw@Example.test:8080/a/b;type=a?q=1#top");
 * assertEquals(parts.scheme, "http");
 * assertEquals(parts.netloc, "User:pw@Example.test:8080");
 * assertEquals(parts.path, "/a/b");
 * assertEquals(parts.params, "type=a");
 * assertEquals(parts.query, "q=1");
 * assertEquals(parts.fragment, "top");
 * assertEquals(parts.hostname, "example.test");
 * assertEquals(parts.port, 8080);
 * ```
 */
export function urlsplit(url: string | URL): UrlSplitResult {
  const text = String(url).replace(EDGE_REGEXP, "").replace(TAB_NEWLINE_REGEXP, "");
  const m = SPLIT_REGEXP.exec(text)!;
  const netloc = m[2] ?? "";
  let path = m[3] ?? "";
  let params = "";
  const lastSlash = path.lastIndexOf("/");
  const semi = path.indexOf(";", lastSlash + 1);
  if (semi >= 0) {
    params = path.slice(semi + 1);
    path = path.slice(0, semi);
  }
  const result: UrlSplitResult = {
    scheme: (m[1] ?? "").toLowerCase(),
    netloc,
    path,
    params,
    query: m[4] ?? "",
    fragment: m[5] ?? "",
    username: null,
    password: null,
    hostname: null,
    port: null,
  };
  if (m[2] === undefined) return result;
  const at = netloc.lastIndexOf("@");
  const hostport = at >= 0 ? netloc.slice(at + 1) : netloc;
  if (at >= 0) {
    const userinfo = netloc.slice(0, at);
    const colon = userinfo.indexOf(":");
    result.username = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    result.password = colon >= 0 ? userinfo.slice(colon + 1) : null;
  }
  let host = hostport;
  let portText: string | null = null;
  if (hostport.startsWith("[")) {
    const close = hostport.indexOf("]");
    if (close < 0) {
      throw new TypeError(`Cannot split URL: unclosed "[" in ${JSON.stringify(netloc)}`);
    }
    host = hostport.slice(1, close);
    const rest = hostport.slice(close + 1);
    if (rest.startsWith(":")) portText = rest.slice(1);
    else if (rest !== "") {
      throw new TypeError(`Cannot split URL: text after "]" in ${JSON.stringify(netloc)}`);
    }
  } else {
    const colon = hostport.lastIndexOf(":");
    if (colon >= 0) {
      host = hostport.slice(0, colon);
      portText = hostport.slice(colon + 1);
    }
  }
  result.hostname = host === "" ? null : host.toLowerCase();
  if (portText !== null && portText !== "") {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
      throw new TypeError(`Cannot split URL: port ${JSON.stringify(portText)} is not valid`);
    }
    result.port = Number(portText);
  }
  return result;
}

/**
 * Joins parts from {@linkcode urlsplit} back into a URL (Python's
 * `urlunsplit`/`urlunparse`). Only `scheme`, `netloc`, `path`, `params`,
 * `query` and `fragment` are used; empty parts are left out.
 *
 * @param parts The parts.
 * @returns The URL text.
 *
 * @example
 * ```ts
 * import { urlsplit, urlunsplit } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const url = "http://h/p;x?q#f";
 * assertEquals(urlunsplit(urlsplit(url)), url);
 * assertEquals(urlunsplit({ scheme: "https", netloc: "h", path: "a" }), "https://h/a");
 * ```
 */
export function urlunsplit(
  parts: Partial<
    Pick<UrlSplitResult, "scheme" | "netloc" | "path" | "params" | "query" | "fragment">
  >,
): string {
  let path = parts.path ?? "";
  if (parts.params) path += ";" + parts.params;
  let out = "";
  if (parts.scheme) out += parts.scheme + ":";
  if (parts.netloc || (parts.scheme && USES_NETLOC.has(parts.scheme) && !path.startsWith("//"))) {
    if (path !== "" && !path.startsWith("/")) path = "/" + path;
    out += "//" + (parts.netloc ?? "");
  }
  out += path;
  if (parts.query) out += "?" + parts.query;
  if (parts.fragment) out += "#" + parts.fragment;
  return out;
}
