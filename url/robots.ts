/** Options for {@linkcode RobotsTxt.parse}. */
export interface RobotsTxtParseOptions {
  /**
   * How many bytes of the file are parsed; the rest, and the line the cap
   * cuts through, are ignored, as RFC 9309 §2.5 allows (crawlers must parse
   * at least 500 KiB).
   *
   * @default {512000}
   */
  maxBytes?: number;
}

/** The non-standard `Request-rate: n/s` record: `requests` per `seconds`. */
export interface RequestRate {
  /** How many requests. */
  requests: number;
  /** In how many seconds. */
  seconds: number;
}

interface Rule {
  allow: boolean;
  /** The normalized pattern, `*` and a final `$` still special. */
  pattern: string;
  /** Pattern segments split at `*`, the `$` removed. */
  parts: string[];
  anchored: boolean;
}

interface Group {
  agents: string[];
  rules: Rule[];
  crawlDelay?: number;
  requestRate?: RequestRate;
}

/** The default cap on the parsed size of a robots.txt file (RFC 9309 §2.5). */
const DEFAULT_MAX_BYTES = 512000;
const PRODUCT_TOKEN_REGEXP = /^[A-Za-z_-]+/;
const HEX = "0123456789ABCDEF";
const encoder = new TextEncoder();

/**
 * A parsed robots.txt file (RFC 9309) and its matcher: Python's
 * `robotparser`, made to follow the RFC.
 *
 * - Groups start with one or more `User-agent` lines; groups naming the same
 *   product token are merged. A crawler's group is the merge of the groups
 *   whose token equals its own (compared case-insensitively; `MyBot/1.0`
 *   counts as `mybot`), else of the `*` groups, else nothing (all allowed).
 * - Within a group, the rule with the longest pattern that matches the path
 *   and query wins; when an `Allow` and a `Disallow` of the same length both
 *   match, `Allow` wins. `*` matches any run of characters and a final `$`
 *   anchors the end. Paths match case-sensitively, keys case-insensitively.
 * - Percent-encoding is normalized on both sides before matching: escapes of
 *   unreserved characters are decoded, other escapes upper-cased, and
 *   non-ASCII characters encoded as UTF-8.
 * - A UTF-8 byte order mark is skipped; lines may end in CR LF, LF or CR;
 *   `#` starts a comment; lines that do not parse are ignored; rules before
 *   the first `User-agent` line belong to no group; `/robots.txt` itself is
 *   always allowed.
 * - `Crawl-delay`, `Request-rate` (per group) and `Sitemap` (file-wide) are
 *   read too.
 *
 * Matching takes time linear in the pattern times the path at worst (no
 * backtracking), and the input is capped by {@linkcode RobotsTxtParseOptions.maxBytes}.
 *
 * @example Longest match, allow wins ties
 * ```ts
 * import { RobotsTxt } from "@inetkit/inetkit/url";
 * import { assert, assertEquals, assertFalse } from "@std/assert";
 *
 * const robots = RobotsTxt.parse(
 *   "User-agent: *\nDisallow: /private\nAllow: /private/open$\n\n" +
 *     "User-agent: FooBot\nDisallow: /\nCrawl-delay: 2.5\n" +
 *     "Sitemap: https://example.test/sitemap.xml\n",
 * );
 * assertFalse(robots.isAllowed("OtherBot/1.0", "https://example.test/private/x"));
 * assert(robots.isAllowed("OtherBot/1.0", "https://example.test/private/open"));
 * assertFalse(robots.isAllowed("foobot", "/index.html"));
 * assertEquals(robots.crawlDelay("FooBot"), 2.5);
 * assertEquals(robots.sitemaps, ["https://example.test/sitemap.xml"]);
 * ```
 */
export class RobotsTxt {
  #groups: Group[];
  #sitemaps: string[];
  #fallback: "parsed" | "allow" | "disallow";

  private constructor(
    groups: Group[],
    sitemaps: string[],
    fallback: "parsed" | "allow" | "disallow",
  ) {
    this.#groups = groups;
    this.#sitemaps = sitemaps;
    this.#fallback = fallback;
  }

  /**
   * Parses a robots.txt file.
   *
   * @param input The file, as text or as the raw bytes (decoded as UTF-8,
   *   invalid bytes replaced).
   * @param options The size cap.
   * @returns The parsed file.
   * @throws {RangeError} If `maxBytes` is not a non-negative integer.
   *
   * @example Parsing bytes with a BOM and CR line ends
   * ```ts
   * import { RobotsTxt } from "@inetkit/inetkit/url";
   * import { assertFalse } from "@std/assert";
   *
   * const bytes = new TextEncoder().encode("\uFEFFuser-agent: *\rdisallow: /tmp\r");
   * assertFalse(RobotsTxt.parse(bytes).isAllowed("bot", "/tmp/a"));
   * ```
   */
  static parse(input: string | Uint8Array, options?: RobotsTxtParseOptions): RobotsTxt {
    options ??= {};
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`Cannot parse robots.txt: maxBytes ${maxBytes} is not a valid size`);
    }
    let bytes = typeof input === "string" ? encoder.encode(input) : input;
    if (bytes.length > maxBytes) {
      // Cut at the cap, then drop the line the cap cut through: a truncated
      // rule would mean something else ("Allow: /public/x" → "Allow: /pu").
      let end = maxBytes;
      while (
        end > 0 && bytes[end] !== 10 && bytes[end] !== 13 && bytes[end - 1] !== 10 &&
        bytes[end - 1] !== 13
      ) end--;
      bytes = bytes.subarray(0, end);
    }
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    const { groups, sitemaps } = parseText(new TextDecoder().decode(bytes));
    return new RobotsTxt(groups, sitemaps, "parsed");
  }

  /**
   * A file that allows everything: the outcome of a 4xx answer for
   * robots.txt (RFC 9309 §2.3.1.3).
   *
   * @returns The permissive rules.
   *
   * @example
   * ```ts
   * import { RobotsTxt } from "@inetkit/inetkit/url";
   * import { assert } from "@std/assert";
   *
   * assert(RobotsTxt.allowAll().isAllowed("bot", "/anything"));
   * ```
   */
  static allowAll(): RobotsTxt {
    return new RobotsTxt([], [], "allow");
  }

  /**
   * A file that disallows everything: the outcome of a 5xx answer or an
   * unreachable server (RFC 9309 §2.3.1.4).
   *
   * @returns The complete disallow.
   *
   * @example
   * ```ts
   * import { RobotsTxt } from "@inetkit/inetkit/url";
   * import { assertFalse } from "@std/assert";
   *
   * assertFalse(RobotsTxt.disallowAll().isAllowed("bot", "/anything"));
   * ```
   */
  static disallowAll(): RobotsTxt {
    return new RobotsTxt([], [], "disallow");
  }

  /** The `Sitemap` URLs of the file, in order. */
  get sitemaps(): string[] {
    return [...this.#sitemaps];
  }

  /**
   * Whether a crawler may fetch a URL.
   *
   * @param userAgent The crawler's user agent or product token (`FooBot` or
   *   `FooBot/2.1 (+https://...)`: the leading letters, `_` and `-` count).
   * @param url An absolute URL, or a path with an optional query such as
   *   `/a/b?c=d`. Only the path and query are used.
   * @returns `true` when allowed.
   * @throws {TypeError} If `url` is neither an absolute URL nor a path.
   *
   * @example
   * ```ts
   * import { RobotsTxt } from "@inetkit/inetkit/url";
   * import { assert, assertFalse } from "@std/assert";
   *
   * const robots = RobotsTxt.parse("User-agent: *\nDisallow: /*.gif$\n");
   * assertFalse(robots.isAllowed("bot", "/img/a.gif"));
   * assert(robots.isAllowed("bot", "/img/a.gif?size=2"));
   * ```
   */
  isAllowed(userAgent: string, url: string | URL): boolean {
    const path = pathOf(url);
    if (this.#fallback === "allow") return true;
    if (this.#fallback === "disallow") return false;
    if (path === "/robots.txt") return true;
    const rules = this.#rulesFor(userAgent);
    if (rules.length === 0) return true;
    const target = normalize(path);
    let best: Rule | undefined;
    for (const rule of rules) {
      if (
        best !== undefined &&
        (rule.pattern.length < best.pattern.length ||
          (rule.pattern.length === best.pattern.length && (best.allow || !rule.allow)))
      ) {
        continue;
      }
      if (matches(rule, target)) best = rule;
    }
    return best === undefined || best.allow;
  }

  /**
   * The `Crawl-delay` of the crawler's group, in seconds.
   *
   * @param userAgent The crawler's user agent or product token.
   * @returns The delay, or `undefined` when the group has none.
   *
   * @example
   * ```ts
   * import { RobotsTxt } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(RobotsTxt.parse("User-agent: *\nCrawl-delay: 10\n").crawlDelay("x"), 10);
   * ```
   */
  crawlDelay(userAgent: string): number | undefined {
    for (const group of this.#groupsFor(userAgent)) {
      if (group.crawlDelay !== undefined) return group.crawlDelay;
    }
    return undefined;
  }

  /**
   * The `Request-rate` of the crawler's group.
   *
   * @param userAgent The crawler's user agent or product token.
   * @returns The rate, or `undefined` when the group has none.
   *
   * @example
   * ```ts
   * import { RobotsTxt } from "@inetkit/inetkit/url";
   * import { assertEquals } from "@std/assert";
   *
   * const robots = RobotsTxt.parse("User-agent: *\nRequest-rate: 3/20\n");
   * assertEquals(robots.requestRate("x"), { requests: 3, seconds: 20 });
   * ```
   */
  requestRate(userAgent: string): RequestRate | undefined {
    for (const group of this.#groupsFor(userAgent)) {
      if (group.requestRate !== undefined) return { ...group.requestRate };
    }
    return undefined;
  }

  #groupsFor(userAgent: string): Group[] {
    const token = productToken(userAgent);
    if (token !== "") {
      const own = this.#groups.filter((g) => g.agents.includes(token));
      if (own.length > 0) return own;
    }
    return this.#groups.filter((g) => g.agents.includes("*"));
  }

  #rulesFor(userAgent: string): Rule[] {
    const groups = this.#groupsFor(userAgent);
    return groups.length === 1 ? groups[0]!.rules : groups.flatMap((g) => g.rules);
  }
}

function productToken(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith("*")) return "*";
  return (PRODUCT_TOKEN_REGEXP.exec(trimmed)?.[0] ?? "").toLowerCase();
}

function pathOf(url: string | URL): string {
  if (url instanceof URL) return (url.pathname || "/") + url.search;
  if (url.startsWith("/")) {
    const hash = url.indexOf("#");
    return hash >= 0 ? url.slice(0, hash) : url;
  }
  if (url === "") return "/";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new TypeError(
      `Cannot check robots.txt: ${JSON.stringify(url)} is neither a URL nor a path`,
      { cause: error },
    );
  }
  return (parsed.pathname || "/") + parsed.search;
}

function parseText(text: string): { groups: Group[]; sitemaps: string[] } {
  const groups: Group[] = [];
  const sitemaps: string[] = [];
  let current: Group | undefined;
  // Whether the last group line was a User-agent line (a run of them forms one group).
  let inAgents = false;
  let start = 0;
  const length = text.length;
  while (start < length) {
    let end = start;
    while (end < length) {
      const c = text.charCodeAt(end);
      if (c === 10 || c === 13) break;
      end++;
    }
    const line = text.slice(start, end);
    start = end + 1;
    if (text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10) start++;

    const hash = line.indexOf("#");
    const content = hash >= 0 ? line.slice(0, hash) : line;
    const colon = content.indexOf(":");
    if (colon < 0) continue;
    const key = content.slice(0, colon).trim().toLowerCase();
    const value = content.slice(colon + 1).trim();
    switch (key) {
      case "user-agent":
      case "useragent":
      case "user agent": {
        const token = productToken(value);
        if (token === "") break;
        if (!inAgents || current === undefined) {
          current = { agents: [], rules: [] };
          groups.push(current);
          inAgents = true;
        }
        if (!current.agents.includes(token)) current.agents.push(token);
        break;
      }
      case "allow":
      case "disallow": {
        inAgents = false;
        if (current === undefined || value === "") break;
        current.rules.push(makeRule(key === "allow", value));
        break;
      }
      case "crawl-delay": {
        inAgents = false;
        const delay = Number(value);
        if (current !== undefined && value !== "" && Number.isFinite(delay) && delay >= 0) {
          current.crawlDelay ??= delay;
        }
        break;
      }
      case "request-rate": {
        inAgents = false;
        const m = /^(\d+)\s*\/\s*(\d+)/.exec(value);
        if (current !== undefined && m !== null && Number(m[2]) > 0) {
          current.requestRate ??= { requests: Number(m[1]), seconds: Number(m[2]) };
        }
        break;
      }
      case "sitemap":
        // A file-wide record: it neither joins nor ends a group.
        if (value !== "") sitemaps.push(value);
        break;
      default:
        // Records nobody defined are ignored and leave the group as it is.
    }
  }
  return { groups, sitemaps };
}

function makeRule(allow: boolean, value: string): Rule {
  let raw = value;
  if (!raw.startsWith("/") && !raw.startsWith("*")) raw = "/" + raw;
  const anchored = raw.endsWith("$");
  const body = anchored ? raw.slice(0, -1) : raw;
  const parts = body.split("*").map((p) => normalize(p));
  const pattern = parts.join("*") + (anchored ? "$" : "");
  return { allow, pattern, parts, anchored };
}

function isUnreserved(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function escapeByte(b: number): string {
  return "%" + HEX[b >> 4] + HEX[b & 15];
}

/**
 * Normalizes percent-encoding (RFC 9309 §2.2.2): escapes of unreserved
 * characters are decoded, other escapes upper-cased, stray `%`, controls,
 * spaces and non-ASCII characters encoded.
 */
function normalize(path: string): string {
  let plain = true;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 || c <= 0x20 || c >= 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain) return path;
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25) {
      const h = hexValue(path.charCodeAt(i + 1));
      const l = hexValue(path.charCodeAt(i + 2));
      if (h < 0 || l < 0) {
        out += "%25";
        continue;
      }
      const b = h * 16 + l;
      out += isUnreserved(b) ? String.fromCharCode(b) : escapeByte(b);
      i += 2;
    } else if (c <= 0x20 || c === 0x7f) {
      out += escapeByte(c);
    } else if (c > 0x7f) {
      const cp = path.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      i += ch.length - 1;
      for (const b of encoder.encode(ch)) out += escapeByte(b);
    } else {
      out += path[i];
    }
  }
  return out;
}

/**
 * Matches a rule against a normalized path. Greedy leftmost matching of the
 * segments between `*`s is exact for this pattern language and never
 * backtracks.
 */
function matches(rule: Rule, path: string): boolean {
  const parts = rule.parts;
  const first = parts[0]!;
  if (parts.length === 1) {
    return rule.anchored ? path === first : path.startsWith(first);
  }
  if (!path.startsWith(first)) return false;
  let pos = first.length;
  const last = parts.length - 1;
  for (let i = 1; i < last; i++) {
    const part = parts[i]!;
    if (part === "") continue;
    const at = path.indexOf(part, pos);
    if (at < 0) return false;
    pos = at + part.length;
  }
  const tail = parts[last]!;
  if (rule.anchored) {
    return path.length - tail.length >= pos && path.endsWith(tail);
  }
  return tail === "" || path.indexOf(tail, pos) >= 0;
}
