import { discardBody } from "./_body.ts";
import { retryAfterMs, sleep } from "./_sleep.ts";
import type { URLError } from "./url_error.ts";
import type { UrlHandler, UrlOpener } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import type { UrlResponse } from "./url_response.ts";

/** Options for {@linkcode RetryHandler}. */
export interface RetryHandlerOptions {
  /**
   * How many times one request is retried.
   *
   * @default {3}
   */
  retries?: number;
  /**
   * The answers that are retried.
   *
   * @default {[408, 429, 502, 503, 504]}
   */
  statuses?: readonly number[];
  /**
   * The methods that are retried (those safe to repeat).
   *
   * @default {["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]}
   */
  methods?: readonly string[];
  /**
   * Whether failures to connect or to read the head (refused, reset) are
   * retried too.
   *
   * @default {true}
   */
  retryFailures?: boolean;
  /**
   * The first backoff delay in milliseconds; it doubles with each retry,
   * with random jitter of up to half of it added.
   *
   * @default {500}
   */
  backoff?: number;
  /**
   * The longest delay in milliseconds. A `Retry-After` asking for more ends
   * the retries (the error is returned at once).
   *
   * @default {30000}
   */
  maxDelay?: number;
  /** Waits between tries; tests pass a fake. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const COUNTER = "retry";

/**
 * Retries failed requests, opt-in: answers such as 429 and 503 and
 * connection failures are retried with exponential backoff, honouring
 * `Retry-After` (RFC 9110 §10.2.3) as seconds or a date. Only idempotent
 * methods and bodies that can be sent again are retried. Not in the default
 * chain: pass it to {@linkcode buildOpener}.
 *
 * @example Retrying a 503 after the time the server asks for
 * ```ts
 * import { HttpErrorProcessor, RetryHandler, UrlOpener, UrlResponse } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const waits: number[] = [];
 * let calls = 0;
 * await using opener = new UrlOpener([
 *   new RetryHandler({ sleep: async (ms) => void waits.push(ms) }),
 *   new HttpErrorProcessor(),
 *   {
 *     protocols: ["http:"],
 *     open: (r) =>
 *       ++calls === 1
 *         ? new UrlResponse(null, { status: 503, url: r.url, headers: { "retry-after": "2" } })
 *         : new UrlResponse("ok", { url: r.url }),
 *   },
 * ]);
 * assertEquals(await (await opener.open("http://example.test/")).text(), "ok");
 * assertEquals(waits, [2000]);
 * ```
 */
export class RetryHandler implements UrlHandler {
  #retries: number;
  #statuses: ReadonlySet<number>;
  #methods: ReadonlySet<string>;
  #failures: boolean;
  #backoff: number;
  #maxDelay: number;
  #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  /**
   * Creates the handler.
   *
   * @param options What is retried and how long to wait.
   * @throws {RangeError} If a count or delay is negative.
   */
  constructor(options?: RetryHandlerOptions) {
    options ??= {};
    this.#retries = options.retries ?? 3;
    this.#backoff = options.backoff ?? 500;
    this.#maxDelay = options.maxDelay ?? 30000;
    for (
      const [name, value] of [["retries", this.#retries], ["backoff", this.#backoff], [
        "maxDelay",
        this.#maxDelay,
      ]] as const
    ) {
      if (!Number.isFinite(value) || value < 0) {
        throw new RangeError(`Cannot create retry handler: ${name} ${value} is negative`);
      }
    }
    this.#statuses = new Set(options.statuses ?? [408, 429, 502, 503, 504]);
    this.#methods = new Set(
      (options.methods ?? ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]).map((m) =>
        m.toUpperCase()
      ),
    );
    this.#failures = options.retryFailures ?? true;
    this.#sleep = options.sleep ?? sleep;
  }

  /**
   * Retries a retryable answer.
   *
   * @param request The request.
   * @param response The answer.
   * @param opener The opener, which sends the retry.
   * @returns The retry's answer, or `null` when this one is not retried.
   */
  async error(
    request: UrlRequest,
    response: UrlResponse,
    opener: UrlOpener,
  ): Promise<UrlResponse | null> {
    if (!this.#statuses.has(response.status) || !this.#retryable(request)) return null;
    const attempt = request.counters.get(COUNTER) ?? 0;
    const asked = retryAfterMs(response.headers.get("retry-after"));
    if (asked !== null && asked > this.#maxDelay) return null;
    await discardBody(response);
    return await this.#retry(request, opener, asked ?? this.#delay(attempt));
  }

  /**
   * Retries after a failure to connect or to read the answer's head.
   *
   * @param request The request.
   * @param error The failure.
   * @param opener The opener, which sends the retry.
   * @returns The retry's answer, or `null` when this one is not retried.
   */
  async failure(
    request: UrlRequest,
    error: URLError,
    opener: UrlOpener,
  ): Promise<UrlResponse | null> {
    if (!this.#failures || !this.#retryable(request)) return null;
    if (error.reason.startsWith("unknown url type")) return null;
    const attempt = request.counters.get(COUNTER) ?? 0;
    return await this.#retry(request, opener, this.#delay(attempt));
  }

  #retryable(request: UrlRequest): boolean {
    return (request.counters.get(COUNTER) ?? 0) < this.#retries &&
      this.#methods.has(request.method.toUpperCase()) && request.replayable;
  }

  #delay(attempt: number): number {
    const base = this.#backoff * 2 ** attempt;
    return Math.min(this.#maxDelay, base + Math.random() * base / 2);
  }

  async #retry(request: UrlRequest, opener: UrlOpener, delay: number): Promise<UrlResponse> {
    await this.#sleep(delay, request.signal);
    const next = request.derive();
    for (const [k, v] of request.unredirectedHeaders) {
      if (k !== "cookie") next.unredirectedHeaders.set(k, v);
    }
    next.counters.set(COUNTER, (request.counters.get(COUNTER) ?? 0) + 1);
    return await opener.open(next);
  }
}
