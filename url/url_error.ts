/**
 * The error {@linkcode urlopen} throws when a URL cannot be opened: an
 * unknown scheme, a refused connection, a missing file, a malformed answer.
 * Python's `urllib.error.URLError`; {@linkcode HTTPError} is its subclass
 * for answers that are HTTP errors. Aborts and timeouts through an
 * `AbortSignal` reject with the signal's reason instead.
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
}
