/**
 * HTTP cookies on both sides of the wire (RFC 6265 and its revision
 * RFC 6265bis): parsing the `Cookie` request header, parsing and writing
 * `Set-Cookie` response headers. The client-side store is
 * {@linkcode CookieJar} in `cookie_jar.ts`.
 *
 * @module
 */

/** The `SameSite` attribute values (RFC 6265bis §4.1.2.7). */
export type CookieSameSite = "Strict" | "Lax" | "None";

/** A cookie with its `Set-Cookie` attributes (RFC 6265bis §4.1). */
export interface Cookie {
  /** The cookie name; a token (RFC 9110 §5.6.2) when serialised. */
  name: string;
  /** The cookie value: cookie-octets, optionally in double quotes. */
  value: string;
  /** When it expires (`Expires`); `Max-Age` wins when both are set. */
  expires?: Date;
  /** Its lifetime in seconds from now (`Max-Age`); 0 or less deletes it. */
  maxAge?: number;
  /** The `Domain` attribute, lower-cased, without a leading dot. */
  domain?: string;
  /** The `Path` attribute; starts with `/`. */
  path?: string;
  /** The `Secure` attribute: sent only over secure connections. */
  secure?: boolean;
  /** The `HttpOnly` attribute: hidden from scripts. */
  httpOnly?: boolean;
  /** The `SameSite` attribute. */
  sameSite?: CookieSameSite;
  /** The `Partitioned` attribute (CHIPS): stored per top-level site. */
  partitioned?: boolean;
  /** Attributes this module does not know, as sent (`name=value` or `name`). */
  unparsed?: string[];
}

/** Limits for parsing cookies (RFC 6265bis §5.7 and §6.1). */
export interface CookieLimits {
  /**
   * The most bytes of name plus value in one cookie; larger ones are ignored
   * (or, when serialising, throw).
   *
   * @default {4096}
   */
  maxCookieSize?: number;
  /**
   * The most bytes in one attribute value; longer attributes are ignored
   * (or, when serialising, throw).
   *
   * @default {1024}
   */
  maxAttributeSize?: number;
}

/** Options for {@linkcode formatSetCookie} and {@linkcode setCookie}. */
export interface FormatSetCookieOptions extends CookieLimits {
  /**
   * Write a value that RFC 6265 does not allow bare (spaces, `;`, `,`, `"`,
   * `\`, control or non-ASCII characters) the way Python's `SimpleCookie`
   * does, instead of throwing: in double quotes, with `\"` and `\\`, and
   * every other such byte (UTF-8 for non-ASCII) as a `\ooo` octal escape;
   * spaces stay. {@linkcode unquoteCookieValue} reads it back, and so does
   * Python's `SimpleCookie.load`, for ASCII values.
   *
   * Off by default: the quoted form is not RFC 6265 cookie-octets, so a
   * server SHOULD NOT send it (§4.1.1) and clients other than Python's see
   * the escapes, not the text. Percent-encoding (`encodeURIComponent`) is
   * the portable choice when you control both ends.
   *
   * @default {false}
   */
  quote?: boolean;
}

/** Options for {@linkcode parseCookie} and {@linkcode getCookies}. */
export interface ParseCookieOptions extends CookieLimits {
  /**
   * The most name/value pairs read from one header; later pairs are ignored.
   *
   * @default {300}
   */
  maxPairs?: number;
}

/** Options for {@linkcode getSetCookies}. */
export interface GetSetCookiesOptions extends CookieLimits {
  /**
   * The most `Set-Cookie` fields read from one response; later ones are
   * ignored.
   *
   * @default {50}
   */
  maxCookies?: number;
}

/** The default limit on name plus value bytes, RFC 6265bis §5.7. */
export const COOKIE_MAX_SIZE = 4096;
/** The default limit on an attribute value's bytes, RFC 6265bis §5.7. */
export const COOKIE_MAX_ATTRIBUTE_SIZE = 1024;

const encoder = new TextEncoder();
// RFC 9110 §5.6.2 token.
const TOKEN_REGEXP = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 6265 §4.1.1 cookie-octet, optionally wrapped in one pair of DQUOTEs.
const COOKIE_VALUE_REGEXP =
  /^(?:"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"|[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*)$/;
// RFC 6265bis §5.7 step 1: CTLs other than HTAB make a Set-Cookie ignored.
// deno-lint-ignore no-control-regex
const SET_COOKIE_CTL_REGEXP = /[\x00-\x08\x0a-\x1f\x7f]/;
// Path and other attribute values: no CTLs and no ';' (RFC 6265 §4.1.1 av-octet).
const AV_REGEXP = /^[\x20-\x3a\x3c-\x7e]*$/;
// A domain attribute: LDH labels separated by dots (IP literals pass too).
const DOMAIN_REGEXP =
  /^(?:[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?)*$/;

function byteLength(text: string): number {
  // Fast path: ASCII-only strings have one byte per code unit.
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return encoder.encode(text).length;
  }
  return text.length;
}

function trimWsp(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  return text.slice(start, end);
}

/**
 * Parses a `Cookie` request header (RFC 6265bis §4.2.1) into its pairs, in
 * order. Linear in the length of the header. A pair without `=` or with an
 * empty name is skipped without affecting the others; when a name repeats,
 * the first value is kept (user agents send the most specific cookie first).
 * One pair of double quotes around a value is removed.
 *
 * @param header The header value, such as `"a=1; b=2"`.
 * @param options The limits.
 * @returns The cookies by name; `__proto__` is an ordinary key.
 *
 * @example Reading the cookies a browser sent
 * ```ts
 * import { parseCookie } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const cookies = parseCookie('session=abc123; theme="dark"; broken; lang=en');
 * assertEquals([...cookies], [["session", "abc123"], ["theme", "dark"], ["lang", "en"]]);
 * ```
 */
export function parseCookie(header: string, options?: ParseCookieOptions): Map<string, string> {
  const maxPairs = options?.maxPairs ?? 300;
  const maxSize = options?.maxCookieSize ?? COOKIE_MAX_SIZE;
  const out = new Map<string, string>();
  let count = 0;
  let start = 0;
  while (start <= header.length && count < maxPairs) {
    let end = header.indexOf(";", start);
    if (end < 0) end = header.length;
    const part = header.slice(start, end);
    start = end + 1;
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = trimWsp(part.slice(0, eq));
    let value = trimWsp(part.slice(eq + 1));
    if (name === "") continue;
    count++;
    if (name.length + value.length > maxSize) continue;
    if (
      value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34
    ) {
      value = value.slice(1, -1);
    }
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

/**
 * Reads the `Cookie` header of a request into a plain object, like Deno
 * std's `getCookies`. The object has no prototype, so a cookie named
 * `__proto__` or `constructor` is an ordinary key.
 *
 * @param headers The request headers.
 * @param options The limits.
 * @returns The cookies by name (empty when there is no `Cookie` header).
 *
 * @example Reading cookies in a handler
 * ```ts
 * import { getCookies } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const request = new Request("http://localhost/", { headers: { cookie: "id=7; __proto__=x" } });
 * const cookies = getCookies(request.headers);
 * assertEquals(cookies.id, "7");
 * assertEquals(cookies["__proto__"], "x");
 * ```
 */
export function getCookies(
  headers: Headers,
  options?: ParseCookieOptions,
): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const header = headers.get("cookie");
  if (header === null) return out;
  for (const [name, value] of parseCookie(header, options)) out[name] = value;
  return out;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

function isDelimiter(c: number): boolean {
  // RFC 6265 §5.1.1 delimiter: %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E
  return c === 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
    (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Reads 1 to `max` digits at the start of `token`; -1 when there are none. */
function leadingDigits(token: string, min: number, max: number): [number, number] {
  let i = 0;
  while (i < token.length && i < max + 1 && isDigit(token.charCodeAt(i))) i++;
  if (i < min || i > max) return [-1, 0];
  return [Number(token.slice(0, i)), i];
}

/**
 * Parses a cookie date with the lenient algorithm of RFC 6265 §5.1.1, which
 * accepts every date format seen in the wild (`Wed, 09 Jun 2021 10:18:14
 * GMT`, `Wednesday, 09-Jun-21 ...`, asctime). Linear in the input.
 *
 * @param text The `Expires` attribute value.
 * @returns The date, or `null` when the text is not a cookie date.
 *
 * @example Two-digit years and odd separators
 * ```ts
 * import { parseCookieDate } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseCookieDate("Wed, 09-Jun-21 10:18:14 GMT")?.toISOString(), "2021-06-09T10:18:14.000Z");
 * assertEquals(parseCookieDate("not a date"), null);
 * ```
 */
export function parseCookieDate(text: string): Date | null {
  let time: [number, number, number] | null = null;
  let day = -1;
  let month = -1;
  let year = -1;
  let i = 0;
  const n = Math.min(text.length, 1024);
  while (i < n) {
    while (i < n && isDelimiter(text.charCodeAt(i))) i++;
    const start = i;
    while (i < n && !isDelimiter(text.charCodeAt(i))) i++;
    if (start === i) break;
    const token = text.slice(start, i);
    if (time === null) {
      // hms-time = time-field ":" time-field ":" time-field, then any non-digits.
      const m = /^(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\D.*)?$/.exec(token);
      if (m !== null) {
        time = [Number(m[1]), Number(m[2]), Number(m[3])];
        continue;
      }
    }
    if (day < 0) {
      const [value, used] = leadingDigits(token, 1, 2);
      if (value >= 0 && (used === token.length || !isDigit(token.charCodeAt(used)))) {
        day = value;
        continue;
      }
    }
    if (month < 0 && token.length >= 3) {
      const index = MONTHS.indexOf(token.slice(0, 3).toLowerCase());
      if (index >= 0) {
        month = index;
        continue;
      }
    }
    if (year < 0) {
      const [value, used] = leadingDigits(token, 2, 4);
      if (value >= 0 && (used === token.length || !isDigit(token.charCodeAt(used)))) {
        year = value;
        continue;
      }
    }
  }
  if (time === null || day < 0 || month < 0 || year < 0) return null;
  if (year >= 70 && year <= 99) year += 1900;
  else if (year >= 0 && year <= 69) year += 2000;
  const [hour, minute, second] = time;
  if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59) return null;
  const date = new Date(Date.UTC(year, month, day, hour, minute, second));
  // Dates such as 31 Feb roll over: refuse them.
  if (date.getUTCDate() !== day) return null;
  return date;
}

/**
 * Parses one `Set-Cookie` header value with the algorithm of RFC 6265bis
 * §5.7: lenient about attributes (unknown ones are kept in `unparsed`, bad
 * ones ignored, the last of a repeated attribute wins), strict about the
 * whole (control characters, an oversized name plus value, or an empty name
 * and value make it ignored). Linear in the input.
 *
 * @param header The header value.
 * @param options The limits.
 * @returns The cookie, or `null` when a user agent must ignore it.
 *
 * @example Reading a session cookie's attributes
 * ```ts
 * import { parseSetCookie } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const cookie = parseSetCookie("sid=abc; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=lax");
 * assertEquals(cookie, {
 *   name: "sid",
 *   value: "abc",
 *   path: "/",
 *   maxAge: 3600,
 *   secure: true,
 *   httpOnly: true,
 *   sameSite: "Lax",
 * });
 * assertEquals(parseSetCookie("bad\x01=1"), null);
 * ```
 */
export function parseSetCookie(header: string, options?: CookieLimits): Cookie | null {
  const maxSize = options?.maxCookieSize ?? COOKIE_MAX_SIZE;
  const maxAttribute = options?.maxAttributeSize ?? COOKIE_MAX_ATTRIBUTE_SIZE;
  if (SET_COOKIE_CTL_REGEXP.test(header)) return null;
  let semi = header.indexOf(";");
  if (semi < 0) semi = header.length;
  const pair = header.slice(0, semi);
  const eq = pair.indexOf("=");
  const name = eq < 0 ? "" : trimWsp(pair.slice(0, eq));
  const value = trimWsp(eq < 0 ? pair : pair.slice(eq + 1));
  if (name === "" && value === "") return null;
  if (byteLength(name) + byteLength(value) > maxSize) return null;
  const cookie: Cookie = { name, value };
  let start = semi + 1;
  while (start < header.length) {
    let end = header.indexOf(";", start);
    if (end < 0) end = header.length;
    const av = header.slice(start, end);
    start = end + 1;
    const avEq = av.indexOf("=");
    const avName = trimWsp(avEq < 0 ? av : av.slice(0, avEq));
    const avValue = avEq < 0 ? "" : trimWsp(av.slice(avEq + 1));
    if (byteLength(avValue) > maxAttribute) continue;
    switch (avName.toLowerCase()) {
      case "expires": {
        const date = parseCookieDate(avValue);
        if (date !== null) cookie.expires = date;
        break;
      }
      case "max-age": {
        if (!/^-?\d+$/.test(avValue)) break;
        const seconds = Number(avValue);
        cookie.maxAge = Number.isSafeInteger(seconds)
          ? seconds
          : (seconds < 0 ? -Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER);
        break;
      }
      case "domain": {
        if (avValue === "") break;
        const domain = (avValue.startsWith(".") ? avValue.slice(1) : avValue).toLowerCase();
        if (domain !== "") cookie.domain = domain;
        break;
      }
      case "path":
        if (avValue.startsWith("/")) cookie.path = avValue;
        else delete cookie.path;
        break;
      case "secure":
        cookie.secure = true;
        break;
      case "httponly":
        cookie.httpOnly = true;
        break;
      case "samesite": {
        const v = avValue.toLowerCase();
        if (v === "strict") cookie.sameSite = "Strict";
        else if (v === "lax") cookie.sameSite = "Lax";
        else if (v === "none") cookie.sameSite = "None";
        else delete cookie.sameSite;
        break;
      }
      case "partitioned":
        cookie.partitioned = true;
        break;
      case "":
        break;
      default:
        (cookie.unparsed ??= []).push(trimWsp(av));
    }
  }
  return cookie;
}

/**
 * Reads the `Set-Cookie` fields of a response, skipping the ones a user
 * agent must ignore, at most `maxCookies` of them.
 *
 * @param headers The response headers.
 * @param options The limits.
 * @returns The cookies, in order.
 *
 * @example Reading the cookies a server set
 * ```ts
 * import { getSetCookies } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const headers = new Headers();
 * headers.append("set-cookie", "a=1; Path=/");
 * headers.append("set-cookie", "=");
 * headers.append("set-cookie", "b=2");
 * assertEquals(getSetCookies(headers).map((c) => c.name), ["a", "b"]);
 * ```
 */
export function getSetCookies(headers: Headers, options?: GetSetCookiesOptions): Cookie[] {
  const max = options?.maxCookies ?? 50;
  const out: Cookie[] = [];
  for (const field of headers.getSetCookie().slice(0, max)) {
    const cookie = parseSetCookie(field, options);
    if (cookie !== null) out.push(cookie);
  }
  return out;
}

function fail(message: string): never {
  throw new TypeError(`Cannot serialise cookie: ${message}`);
}

/**
 * Serialises a cookie as a `Set-Cookie` header value, validating it as a
 * server must (RFC 6265bis §4.1): the name is a token, the value
 * cookie-octets (optionally in double quotes), the domain a host name, the
 * path free of `;` and control characters, the sizes within the limits, and
 * the rules of the `__Secure-` and `__Host-` prefixes, `SameSite=None` and
 * `Partitioned` (all need `Secure`; `__Host-` also `Path=/` and no
 * `Domain`). The name prefixes are matched case-insensitively.
 *
 * A value outside cookie-octets throws by default, where Python's
 * `SimpleCookie` would quote it: pass `quote: true` for that form (see
 * {@linkcode FormatSetCookieOptions.quote} for why it is not the default).
 *
 * @param cookie The cookie.
 * @param options The size limits, and whether to quote the value.
 * @returns The header value.
 * @throws {TypeError} If any part is invalid or the prefix rules are broken.
 * @throws {RangeError} If the cookie or an attribute is too large, or
 *   `maxAge` is not an integer, or `expires` is an invalid date.
 *
 * @example A `__Host-` session cookie
 * ```ts
 * import { formatSetCookie } from "@inetkit/inetkit/http";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(
 *   formatSetCookie({ name: "__Host-sid", value: "abc", path: "/", secure: true, httpOnly: true, sameSite: "Strict" }),
 *   "__Host-sid=abc; Path=/; Secure; HttpOnly; SameSite=Strict",
 * );
 * assertThrows(() => formatSetCookie({ name: "__Host-sid", value: "abc", domain: "example.com", secure: true, path: "/" }), TypeError);
 * assertThrows(() => formatSetCookie({ name: "a", value: "x;y" }), TypeError);
 * ```
 *
 * @example Quoting a value as Python's SimpleCookie does
 * ```ts
 * import { formatSetCookie, parseCookie, unquoteCookieValue } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const header = formatSetCookie({ name: "msg", value: "hello world; yes" }, { quote: true });
 * assertEquals(header, 'msg="hello world\\073 yes"');
 * // A browser sends it back as it was set; unquote to get the text.
 * const sent = parseCookie(header).get("msg")!;
 * assertEquals(unquoteCookieValue(sent), "hello world; yes");
 * ```
 */
export function formatSetCookie(cookie: Cookie, options?: FormatSetCookieOptions): string {
  const maxSize = options?.maxCookieSize ?? COOKIE_MAX_SIZE;
  const maxAttribute = options?.maxAttributeSize ?? COOKIE_MAX_ATTRIBUTE_SIZE;
  const { name } = cookie;
  let { value } = cookie;
  if (!TOKEN_REGEXP.test(name)) fail(`name ${JSON.stringify(name)} is not a token`);
  if (!COOKIE_VALUE_REGEXP.test(value)) {
    if (options?.quote !== true || typeof value !== "string") {
      fail(`value ${JSON.stringify(value)} of ${name} holds characters outside cookie-octet`);
    }
    value = quoteCookieValue(value);
  }
  if (name.length + value.length > maxSize) {
    throw new RangeError(
      `Cannot serialise cookie: ${name} is ${
        name.length + value.length
      } bytes, more than ${maxSize}`,
    );
  }
  const lower = name.toLowerCase();
  const parts = [`${name}=${value}`];
  const attribute = (label: string, text: string): void => {
    if (text.length > maxAttribute) {
      throw new RangeError(
        `Cannot serialise cookie: ${label} of ${name} is longer than ${maxAttribute} bytes`,
      );
    }
    if (!AV_REGEXP.test(text)) fail(`${label} ${JSON.stringify(text)} of ${name} is not valid`);
    parts.push(`${label}=${text}`);
  };
  if (cookie.domain !== undefined) {
    const domain = cookie.domain.startsWith(".") ? cookie.domain.slice(1) : cookie.domain;
    if (!DOMAIN_REGEXP.test(domain.toLowerCase())) {
      fail(`domain ${JSON.stringify(cookie.domain)} of ${name} is not a host name`);
    }
    attribute("Domain", domain);
  }
  if (cookie.path !== undefined) {
    if (!cookie.path.startsWith("/")) {
      fail(`path ${JSON.stringify(cookie.path)} of ${name} does not start with /`);
    }
    attribute("Path", cookie.path);
  }
  if (cookie.expires !== undefined) {
    const time = cookie.expires.getTime();
    if (!Number.isFinite(time)) {
      throw new RangeError(`Cannot serialise cookie: expires of ${name} is an invalid date`);
    }
    parts.push(`Expires=${cookie.expires.toUTCString()}`);
  }
  if (cookie.maxAge !== undefined) {
    if (!Number.isSafeInteger(cookie.maxAge)) {
      throw new RangeError(
        `Cannot serialise cookie: maxAge ${cookie.maxAge} of ${name} is not an integer`,
      );
    }
    parts.push(`Max-Age=${cookie.maxAge}`);
  }
  if (cookie.secure) parts.push("Secure");
  if (cookie.httpOnly) parts.push("HttpOnly");
  if (cookie.sameSite !== undefined) {
    if (cookie.sameSite !== "Strict" && cookie.sameSite !== "Lax" && cookie.sameSite !== "None") {
      fail(`sameSite ${JSON.stringify(cookie.sameSite)} of ${name} is not Strict, Lax or None`);
    }
    if (cookie.sameSite === "None" && !cookie.secure) fail(`SameSite=None on ${name} needs Secure`);
    parts.push(`SameSite=${cookie.sameSite}`);
  }
  if (cookie.partitioned) {
    if (!cookie.secure) fail(`Partitioned on ${name} needs Secure`);
    parts.push("Partitioned");
  }
  for (const extra of cookie.unparsed ?? []) {
    if (extra.length > maxAttribute) {
      throw new RangeError(
        `Cannot serialise cookie: an attribute of ${name} is longer than ${maxAttribute} bytes`,
      );
    }
    if (!AV_REGEXP.test(extra) || extra.trim() === "") {
      fail(`attribute ${JSON.stringify(extra)} of ${name} is not valid`);
    }
    parts.push(extra);
  }
  if (lower.startsWith("__secure-") && !cookie.secure) {
    fail(`${name} needs Secure for its __Secure- prefix`);
  }
  if (lower.startsWith("__host-")) {
    if (!cookie.secure) fail(`${name} needs Secure for its __Host- prefix`);
    if (cookie.domain !== undefined) fail(`${name} must not have a Domain for its __Host- prefix`);
    if (cookie.path !== "/") fail(`${name} needs Path=/ for its __Host- prefix`);
  }
  return parts.join("; ");
}

// Python's http.cookies _UnescapedChars: its legal key characters plus these.
const PYTHON_UNESCAPED_REGEXP = /^[A-Za-z0-9!#$%&'*+\-.^_`|~: ()/<=>?@[\]{}]$/;

/** Python's `http.cookies._quote`, with non-ASCII written as UTF-8 octal escapes. */
function quoteCookieValue(value: string): string {
  let out = '"';
  for (const char of value) {
    if (char === '"' || char === "\\") out += "\\" + char;
    else if (PYTHON_UNESCAPED_REGEXP.test(char)) out += char;
    else for (const byte of encoder.encode(char)) out += "\\" + byte.toString(8).padStart(3, "0");
  }
  return out + '"';
}

/**
 * Reads a cookie value written in the quoted form of Python's
 * `SimpleCookie` (or `formatSetCookie(..., { quote: true })`) back into its
 * text: removes one pair of surrounding double quotes, turns `\ooo` octal
 * escapes into bytes (decoded as UTF-8) and `\x` into `x`. Other values come
 * back unchanged. Linear in the input.
 *
 * @param value A value from {@linkcode parseCookie} or {@linkcode getCookies}
 *   (their quotes already removed) or a raw quoted value.
 * @returns The unquoted text.
 *
 * @example
 * ```ts
 * import { unquoteCookieValue } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(unquoteCookieValue('"hello world\\073 yes"'), "hello world; yes");
 * assertEquals(unquoteCookieValue('say \\"hi\\"'), 'say "hi"');
 * assertEquals(unquoteCookieValue("caf\\303\\251"), "café");
 * assertEquals(unquoteCookieValue("plain"), "plain");
 * ```
 */
export function unquoteCookieValue(value: string): string {
  let text = value;
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  if (!text.includes("\\")) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length;) {
    const c = text.charCodeAt(i);
    if (c === 0x5c && i + 1 < text.length) {
      const octal = text.slice(i + 1, i + 4);
      if (/^[0-3][0-7]{2}$/.test(octal)) {
        bytes.push(parseInt(octal, 8));
        i += 4;
        continue;
      }
      i++;
    }
    const point = text.codePointAt(i)!;
    const char = String.fromCodePoint(point);
    for (const byte of encoder.encode(char)) bytes.push(byte);
    i += char.length;
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * Appends a validated `Set-Cookie` field to response headers.
 *
 * @param headers The response headers.
 * @param cookie The cookie.
 * @param options The size limits, and whether to quote the value.
 * @throws {TypeError} As {@linkcode formatSetCookie}.
 * @throws {RangeError} As {@linkcode formatSetCookie}.
 *
 * @example Setting a cookie on a response
 * ```ts
 * import { setCookie } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const headers = new Headers();
 * setCookie(headers, { name: "lang", value: "en", path: "/" });
 * assertEquals(headers.get("set-cookie"), "lang=en; Path=/");
 * ```
 */
export function setCookie(
  headers: Headers,
  cookie: Cookie,
  options?: FormatSetCookieOptions,
): void {
  headers.append("set-cookie", formatSetCookie(cookie, options));
}

/**
 * Appends a `Set-Cookie` field that deletes a cookie: an empty value,
 * `Max-Age=0` and an `Expires` in 1970. The domain and path must match the
 * ones the cookie was set with.
 *
 * @param headers The response headers.
 * @param name The cookie name.
 * @param attributes The `Domain`, `Path` and the flags the prefixes need.
 * @throws {TypeError} As {@linkcode formatSetCookie}.
 *
 * @example Logging out
 * ```ts
 * import { deleteCookie } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const headers = new Headers();
 * deleteCookie(headers, "sid", { path: "/" });
 * assertEquals(headers.get("set-cookie"), "sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0");
 * ```
 */
export function deleteCookie(
  headers: Headers,
  name: string,
  attributes?: Pick<Cookie, "domain" | "path" | "secure" | "httpOnly" | "sameSite" | "partitioned">,
): void {
  setCookie(headers, { ...attributes, name, value: "", expires: new Date(0), maxAge: 0 });
}
