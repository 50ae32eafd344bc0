import { buildOpener } from "./build_opener.ts";
import { HTTPError } from "./http_error.ts";
import { HttpRedirectHandler } from "./http_redirect_handler.ts";
import { RobotsTxt } from "./robots.ts";
import { URLError } from "./url_error.ts";
import type { UrlOpener } from "./url_opener.ts";
import { UrlRequest } from "./url_request.ts";

/** Options for {@linkcode RobotsFetcher}. */
export interface RobotsFetcherOptions {
  /**
   * The opener that fetches robots.txt files. Its redirect handler sets the
   * redirect cap.
   *
   * @default {a default opener that follows at most 5 redirects}
   */
  opener?: UrlOpener;
  /**
   * The `User-Agent` sent when fetching.
   *
   * @default {the opener's}
   */
  userAgent?: string;
  /**
   * The longest time in milliseconds a fetched file is used; a shorter
   * `Cache-Control: max-age` wins (RFC 9309 §2.4 asks for at most 24 hours).
   *
   * @default {86400000}
   */
  maxAge?: number;
  /**
   * How long in milliseconds a failure (5xx, unreachable: disallow all) is
   * remembered before the file is asked for again.
   *
   * @default {600000}
   */
  errorMaxAge?: number;
  /**
   * The most bytes of a file that are read and parsed (RFC 9309 §2.5).
   *
   * @default {512000}
   */
  maxBytes?: number;
  /**
   * Milliseconds for each fetch (connect, head, each body pause).
   *
   * @default {30000}
   */
  timeout?: number;
  /**
   * The most origins kept in the cache; the least recently used go first.
   *
   * @default {1000}
   */
  maxEntries?: number;
  /** The clock, for tests. */
  now?: () => number;
}

interface Entry {
  robots: Promise<RobotsTxt>;
  expires: number;
}

/**
 * Fetches and caches robots.txt files with the rules of RFC 9309 §2.3:
 * a 2xx file is parsed (up to 500 KiB); 4xx answers (and too many
 * redirects) allow everything; 5xx answers, 429, timeouts and unreachable
 * servers disallow everything; redirects are followed up to 5 times.
 * Results are cached per origin for the freshness the server gives
 * (`Cache-Control: max-age`), at most 24 hours, and failures for 10
 * minutes. Concurrent lookups for one origin share one fetch.
 *
 * @example
 * ```ts ignore
 * import { RobotsFetcher } from "@inetkit/inetkit/url";
 *
 * await using robots = new RobotsFetcher({ userAgent: "MyBot/1.0" });
 * if (await robots.isAllowed("MyBot", "http://127.0.0.1:8080/private/x")) {
 *   // fetch it
 * }
 * ```
 */
export class RobotsFetcher implements AsyncDisposable {
  #opener: UrlOpener;
  #ownOpener: boolean;
  #userAgent: string | undefined;
  #maxAge: number;
  #errorMaxAge: number;
  #maxBytes: number;
  #timeout: number;
  #maxEntries: number;
  #now: () => number;
  #cache = new Map<string, Entry>();

  /**
   * Creates a fetcher.
   *
   * @param options The opener, user agent, cache times and limits.
   * @throws {RangeError} If a time or size is negative.
   */
  constructor(options?: RobotsFetcherOptions) {
    options ??= {};
    this.#ownOpener = options.opener === undefined;
    this.#opener = options.opener ?? buildOpener(new HttpRedirectHandler({ maxRedirections: 5 }));
    this.#userAgent = options.userAgent;
    this.#maxAge = options.maxAge ?? 86400000;
    this.#errorMaxAge = options.errorMaxAge ?? 600000;
    this.#maxBytes = options.maxBytes ?? 512000;
    this.#timeout = options.timeout ?? 30000;
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#now = options.now ?? Date.now;
    for (
      const [name, value] of Object.entries({
        maxAge: this.#maxAge,
        errorMaxAge: this.#errorMaxAge,
        maxBytes: this.#maxBytes,
        timeout: this.#timeout,
        maxEntries: this.#maxEntries,
      })
    ) {
      if (!Number.isFinite(value) || value < 0) {
        throw new RangeError(`Cannot create robots fetcher: ${name} ${value} is negative`);
      }
    }
  }

  /**
   * The robots.txt rules for a URL's origin, from the cache when fresh.
   *
   * @param url Any URL of the site.
   * @param options An abort signal for the fetch.
   * @returns The rules (allow-all or disallow-all for failures).
   * @throws {TypeError} If the URL has no origin (`data:`, `file:`).
   * @throws {DOMException} The signal's reason when aborted.
   */
  get(url: string | URL, options?: { signal?: AbortSignal }): Promise<RobotsTxt> {
    options ??= {};
    const target = new URL(url);
    const origin = target.origin;
    if (origin === "null") {
      throw new TypeError(`Cannot fetch robots.txt for ${target.href}: it has no origin`);
    }
    const now = this.#now();
    const cached = this.#cache.get(origin);
    if (cached !== undefined && cached.expires > now) {
      this.#cache.delete(origin);
      this.#cache.set(origin, cached);
      return cached.robots;
    }
    const entry: Entry = { robots: Promise.resolve(RobotsTxt.allowAll()), expires: Infinity };
    entry.robots = this.#fetch(origin, entry, options.signal);
    this.#cache.delete(origin);
    this.#cache.set(origin, entry);
    while (this.#cache.size > this.#maxEntries) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
    // An aborted fetch is not cached.
    entry.robots.catch(() => {
      if (this.#cache.get(origin) === entry) this.#cache.delete(origin);
    });
    return entry.robots;
  }

  /**
   * Whether a crawler may fetch a URL, by its site's robots.txt.
   *
   * @param userAgent The crawler's product token or user agent.
   * @param url The URL to check.
   * @param options An abort signal for the fetch.
   * @returns `true` when allowed.
   * @throws {TypeError} If the URL has no origin.
   */
  async isAllowed(
    userAgent: string,
    url: string | URL,
    options?: { signal?: AbortSignal },
  ): Promise<boolean> {
    options ??= {};
    return (await this.get(url, options)).isAllowed(userAgent, url);
  }

  /** Empties the cache. */
  clear(): void {
    this.#cache.clear();
  }

  /**
   * Closes the fetcher's own opener (a given one is left open).
   *
   * @returns When closed.
   */
  async close(): Promise<void> {
    this.#cache.clear();
    if (this.#ownOpener) await this.#opener.close();
  }

  /** Closes the fetcher. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #fetch(origin: string, entry: Entry, signal: AbortSignal | undefined): Promise<RobotsTxt> {
    const headers = new Headers();
    if (this.#userAgent !== undefined) headers.set("User-Agent", this.#userAgent);
    const request = new UrlRequest(`${origin}/robots.txt`, {
      headers,
      timeout: this.#timeout,
      signal,
    });
    const failed = () => {
      entry.expires = this.#now() + this.#errorMaxAge;
      return RobotsTxt.disallowAll();
    };
    const unavailable = () => {
      entry.expires = this.#now() + this.#maxAge;
      return RobotsTxt.allowAll();
    };
    let response;
    try {
      response = await this.#opener.open(request);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof HTTPError) {
        await error.cancel();
        const status = error.code;
        if (status === 429 || status >= 500) return failed();
        if (status >= 300 && status < 500) return unavailable();
        return failed();
      }
      // Unreachable, refused, timed out, malformed: RFC 9309 §2.3.1.4.
      void (error instanceof URLError);
      return failed();
    }
    let bytes: Uint8Array;
    try {
      bytes = await readCapped(response.body, this.#maxBytes);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      void error;
      return failed();
    }
    entry.expires = this.#now() + Math.min(this.#maxAge, maxAgeOf(response.headers) ?? Infinity);
    return RobotsTxt.parse(bytes, { maxBytes: this.#maxBytes });
  }
}

function maxAgeOf(headers: Headers): number | null {
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d{1,10})"?/i.exec(headers.get("cache-control") ?? "");
  return m === null ? null : Number(m[1]) * 1000;
}

async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
    if (size >= max) await reader.cancel();
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(Math.min(size, max));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, out.length - at);
    out.set(part, at);
    at += part.length;
    if (at >= out.length) break;
  }
  return out;
}
