/**
 * The error {@linkcode urlopen} throws when a URL cannot be opened: an
 * unknown scheme, a refused connection, a missing file, a malformed answer,
 * or no answer within the request's `timeout`. Python's
 * `urllib.error.URLError`; {@linkcode HTTPError} is its subclass for answers
 * that are HTTP errors, so one `catch` with `instanceof URLError` covers
 * every failure to fetch, as urllib2's `except URLError` did.
 *
 * A timeout is a `URLError` whose `cause` is the `TimeoutError`
 * `DOMException` ({@linkcode URLError.timedOut} tells). An abort through
 * the caller's own `AbortSignal` rejects with the signal's reason instead,
 * unchanged.
 *
 * @example Telling failures apart
 * ```ts
 * import { URLError } from "@inetkit/inetkit/url";
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 *
 * const error = new URLError("unknown url type: gopher+x", { cause: new Error("x") });
 * assertInstanceOf(error, Error);
 * assertEquals(error.reason, "unknown url type: gopher+x");
 * assertEquals(error.message, "Cannot open URL: unknown url type: gopher+x");
 * assertEquals(error.timedOut, false);
 * ```
 */
export class URLError extends Error {
  /** Why the URL could not be opened, in a few words. */
  readonly reason: string;

  /**
   * Creates a URL error.
   *
   * @param reason Why the URL could not be opened.
   * @param options Standard error options; `cause` holds the underlying error.
   */
  constructor(reason: string, options?: ErrorOptions) {
    super(`Cannot open URL: ${reason}`, options);
    this.name = "URLError";
    this.reason = reason;
  }

  /**
   * Whether this error is a timeout: its `cause` is a `DOMException` named
   * `TimeoutError` (Python's `URLError` with a `socket.timeout` reason).
   */
  get timedOut(): boolean {
    return isTimeout(this.cause);
  }

  /**
   * Wraps a `TimeoutError` into the `URLError` that URL handlers throw for
   * it, with the timeout as `cause` and `"timed out: ..."` as reason. Any
   * other value is returned unchanged, so handlers can pass every error
   * through it.
   *
   * @param error The error a connect, head or body read failed with.
   * @returns A `URLError` for a timeout, else `error` itself.
   *
   * @example
   * ```ts
   * import { URLError } from "@inetkit/inetkit/url";
   * import { assert, assertEquals } from "@std/assert";
   *
   * const timeout = new DOMException("no answer within 5 ms", "TimeoutError");
   * const error = URLError.fromTimeout(timeout) as URLError;
   * assert(error instanceof URLError && error.timedOut);
   * assertEquals(error.reason, "timed out: no answer within 5 ms");
   * assertEquals(error.cause, timeout);
   * const other = new Error("x");
   * assertEquals(URLError.fromTimeout(other), other);
   * ```
   */
  static fromTimeout(error: unknown): unknown {
    if (!isTimeout(error)) return error;
    return new URLError(`timed out: ${(error as DOMException).message}`, { cause: error });
  }
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}
