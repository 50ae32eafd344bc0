/**
 * The well-known Gopher port (RFC 1436), the default of `gopher:` URLs.
 *
 * @example
 * ```ts
 * import { GOPHER_PORT, parseGopherUrl } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseGopherUrl("gopher://example.org/").port, GOPHER_PORT);
 * ```
 */
export const GOPHER_PORT = 70;

/** What a `gopher:` URL names (RFC 4266 §2). */
export interface GopherUrl {
  /** The host name or address, lower case; IPv6 addresses without brackets. */
  host: string;
  /** The port; 70 when the URL has none. */
  port: number;
  /** The item type character; `"1"` (a menu) when the path is empty. */
  type: string;
  /** The selector, percent-decoded; `""` for the server's root. */
  selector: string;
  /** The search string after an encoded TAB (`%09`), percent-decoded, when present. */
  search?: string;
}

/** The fields {@linkcode formatGopherUrl} needs; a {@linkcode GopherUrl} or a menu item will do. */
export interface GopherUrlParts {
  /** The host name or address (IPv6 with or without brackets). */
  host: string;
  /**
   * The port.
   *
   * @default {70}
   */
  port?: number;
  /**
   * The item type character.
   *
   * @default {"1"}
   */
  type?: string;
  /**
   * The selector.
   *
   * @default {""}
   */
  selector?: string;
  /** A search string, sent after a TAB. */
  search?: string;
}

const SCHEME_REGEXP = /^gopher:\/\//i;
const REG_NAME_REGEXP = /^[a-z0-9._~!$&'()*+,;=-]+$/;
const IPV6_REGEXP = /^[0-9a-f:.]+$/;
const PORT_REGEXP = /^[0-9]+$/;
const TAB_REGEXP = /%09/i;
// deno-lint-ignore no-control-regex
const CONTROL_OR_SPACE_REGEXP = /[\x00-\x20\x7f]/;
// What RFC 3986 lets a path segment hold unescaped (pchar and "/").
const UNESCAPED = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;
const fatalDecoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function percentDecode(text: string, what: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "%") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw new TypeError(`Cannot parse gopher URL: bad percent-escape "%${hex}" in the ${what}`);
      }
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...encoder.encode(c));
    }
  }
  try {
    return fatalDecoder.decode(new Uint8Array(bytes));
  } catch (cause) {
    throw new TypeError(`Cannot parse gopher URL: the ${what} is not valid UTF-8`, { cause });
  }
}

function percentEncode(text: string): string {
  let out = "";
  for (const char of text) {
    if (char.length === 1 && UNESCAPED.test(char)) {
      out += char;
      continue;
    }
    for (const b of encoder.encode(char)) {
      out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

function checkRequestText(value: string, what: string): void {
  const bad = /[\r\n\0]/.exec(value);
  if (bad !== null) {
    const name = { "\r": "a CR", "\n": "an LF", "\0": "a NUL" }[bad[0]];
    throw new TypeError(`Cannot parse gopher URL: the ${what} contains ${name}`);
  }
}

/** Validates a host for a URL; returns it as it goes in the authority. */
function authorityHost(host: string, action: string): string {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const lower = bare.toLowerCase();
  if (lower.includes(":")) {
    if (!IPV6_REGEXP.test(lower)) {
      throw new TypeError(
        `Cannot ${action}: host ${JSON.stringify(host)} is not a valid IPv6 address`,
      );
    }
    return `[${lower}]`;
  }
  if (!REG_NAME_REGEXP.test(lower)) {
    throw new TypeError(`Cannot ${action}: host ${JSON.stringify(host)} is not a valid host name`);
  }
  return lower;
}

/**
 * Parses a `gopher:` URL (RFC 4266): `gopher://host[:port]/Tselector`, with
 * an optional `%09search` after the selector (and a Gopher+ string after a
 * second `%09`, which is dropped). The selector and search are
 * percent-decoded as UTF-8. A `?` is part of the selector and a `#fragment`
 * is removed.
 *
 * Stricter than the WHATWG URL parser on purpose: spaces and control
 * characters are refused rather than silently removed, a user name
 * (`gopher://user@host/`) is refused, and a decoded CR, LF or NUL (which
 * would end the request line early) is refused.
 *
 * @param url The URL.
 * @returns The host, port, type, selector and search.
 * @throws {TypeError} If the URL is not a valid `gopher:` URL.
 * @throws {RangeError} If the port is not from 1 to 65535.
 *
 * @example
 * ```ts
 * import { parseGopherUrl } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseGopherUrl("gopher://127.0.0.1:7070/1/docs"), {
 *   host: "127.0.0.1",
 *   port: 7070,
 *   type: "1",
 *   selector: "/docs",
 * });
 * assertEquals(parseGopherUrl("gopher://Example.ORG/7/search%09tea%20cups"), {
 *   host: "example.org",
 *   port: 70,
 *   type: "7",
 *   selector: "/search",
 *   search: "tea cups",
 * });
 * assertEquals(parseGopherUrl("gopher://example.org").type, "1");
 * ```
 */
export function parseGopherUrl(url: string | URL): GopherUrl {
  const href = typeof url === "string" ? url : url.href;
  if (typeof href !== "string") throw new TypeError("Cannot parse gopher URL: it is not a string");
  if (CONTROL_OR_SPACE_REGEXP.test(href)) {
    throw new TypeError("Cannot parse gopher URL: it contains a space or a control character");
  }
  if (!SCHEME_REGEXP.test(href)) {
    throw new TypeError(
      `Cannot parse gopher URL ${JSON.stringify(href)}: the scheme is not gopher`,
    );
  }
  let rest = href.slice("gopher://".length);
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "" : rest.slice(slash + 1);
  if (authority.includes("@")) {
    throw new TypeError("Cannot parse gopher URL: gopher URLs have no user name");
  }
  let hostPart = authority;
  let portPart = "";
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) throw new TypeError("Cannot parse gopher URL: the IPv6 address has no ']'");
    hostPart = authority.slice(0, close + 1);
    const after = authority.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) {
      throw new TypeError("Cannot parse gopher URL: unexpected text after the IPv6 address");
    }
    portPart = after.slice(1);
  } else {
    const colon = authority.lastIndexOf(":");
    if (colon >= 0) {
      hostPart = authority.slice(0, colon);
      portPart = authority.slice(colon + 1);
    }
  }
  if (hostPart === "" || hostPart === "[]") {
    throw new TypeError("Cannot parse gopher URL: the host is empty");
  }
  const host = authorityHost(hostPart, "parse gopher URL").replace(/^\[(.*)\]$/, "$1");
  let port = GOPHER_PORT;
  if (portPart !== "") {
    if (!PORT_REGEXP.test(portPart)) {
      throw new TypeError(
        `Cannot parse gopher URL: port ${JSON.stringify(portPart)} is not a number`,
      );
    }
    port = Number(portPart);
    if (port < 1 || port > 65535) {
      throw new RangeError(`Cannot parse gopher URL: port ${portPart} is out of range`);
    }
  }
  if (path === "") return { host, port, type: "1", selector: "" };
  const parts = path.split(TAB_REGEXP);
  const gopherPath = percentDecode(parts[0]!, "selector");
  const code = gopherPath.codePointAt(0);
  if (code === undefined) {
    throw new TypeError("Cannot parse gopher URL: a search string needs an item type before it");
  }
  const type = String.fromCodePoint(code);
  if (code < 0x21 || code > 0x7e) {
    throw new TypeError(
      `Cannot parse gopher URL: item type ${JSON.stringify(type)} is not printable ASCII`,
    );
  }
  const selector = gopherPath.slice(type.length);
  checkRequestText(selector, "selector");
  const result: GopherUrl = { host, port, type, selector };
  if (parts.length > 1) {
    const search = percentDecode(parts[1]!, "search string");
    checkRequestText(search, "search string");
    result.search = search;
  }
  return result;
}

/**
 * Formats an item as a URL, for listing menu items as links: a `gopher:`
 * URL (RFC 4266) for Gopher items, the target itself for an `h` item whose
 * selector is `URL:target`, `telnet://` for type `8` and `tn3270://` for
 * type `T` (with the selector as the user name, RFC 4248). The port is left
 * out when it is the scheme's default. Info (`i`) and error (`3`) lines link
 * nowhere and are refused.
 *
 * A `URL:` target comes from the menu's author: check its scheme before
 * following it (it may be `javascript:` or `file:`).
 *
 * @param item The host, port, type, selector and search.
 * @returns The URL.
 * @throws {TypeError} If the type is `i` or `3` or not one character, the
 *   host is not a valid host name or IPv6 address, a `URL:` target holds
 *   spaces or control characters, or the selector or search holds a CR, LF,
 *   NUL or TAB.
 * @throws {RangeError} If the port is not from 1 to 65535.
 *
 * @example
 * ```ts
 * import { formatGopherUrl } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   formatGopherUrl({ type: "0", selector: "/docs/hello world.txt", host: "127.0.0.1", port: 7070 }),
 *   "gopher://127.0.0.1:7070/0/docs/hello%20world.txt",
 * );
 * assertEquals(
 *   formatGopherUrl({ type: "h", selector: "URL:https://example.org/", host: "x", port: 70 }),
 *   "https://example.org/",
 * );
 * assertEquals(formatGopherUrl({ type: "8", selector: "guest", host: "bbs.example", port: 23 }), "telnet://guest@bbs.example/");
 * ```
 */
export function formatGopherUrl(item: GopherUrlParts): string {
  const type = item.type ?? "1";
  const selector = item.selector ?? "";
  const port = item.port ?? GOPHER_PORT;
  if ([...type].length !== 1) {
    throw new TypeError(
      `Cannot format gopher URL: type ${JSON.stringify(type)} is not one character`,
    );
  }
  if (type === "i" || type === "3") {
    throw new TypeError(`Cannot format gopher URL: type ${type} items link nowhere`);
  }
  if (type === "h" && selector.startsWith("URL:")) {
    const target = selector.slice(4);
    if (target === "" || CONTROL_OR_SPACE_REGEXP.test(target)) {
      throw new TypeError(
        `Cannot format gopher URL: URL target ${
          JSON.stringify(target)
        } is empty or holds spaces or control characters`,
      );
    }
    return target;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot format gopher URL: port ${port} is not from 1 to 65535`);
  }
  const host = authorityHost(item.host, "format gopher URL");
  if (/[\r\n\0\t]/.test(selector)) {
    throw new TypeError("Cannot format gopher URL: the selector contains a CR, LF, NUL or TAB");
  }
  if (type === "8" || type === "T") {
    const scheme = type === "8" ? "telnet" : "tn3270";
    const user = selector === ""
      ? ""
      : `${
        percentEncode(selector).replaceAll("@", "%40").replaceAll(":", "%3A").replaceAll("/", "%2F")
      }@`;
    return `${scheme}://${user}${host}${port === 23 ? "" : `:${port}`}/`;
  }
  let url = `gopher://${host}${port === GOPHER_PORT ? "" : `:${port}`}/${percentEncode(type)}${
    percentEncode(selector)
  }`;
  if (item.search !== undefined) {
    if (/[\r\n\0\t]/.test(item.search)) {
      throw new TypeError(
        "Cannot format gopher URL: the search string contains a CR, LF, NUL or TAB",
      );
    }
    url += "%09" + percentEncode(item.search);
  }
  return url;
}
