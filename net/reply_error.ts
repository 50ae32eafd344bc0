/**
 * The error thrown when a server answers a command with a refusal: a reply
 * whose code is not the one expected (SMTP, FTP, NNTP and other protocols
 * with three-digit replies).
 *
 * @example Reading the code and the lines of a refusal
 * ```ts
 * import { ReplyError } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new ReplyError(550, ["5.1.1 No such user"]);
 * assertEquals(error.code, 550);
 * assertEquals(error.message, "Server replied 550: 5.1.1 No such user");
 * ```
 */
export class ReplyError extends Error {
  /** The three-digit reply code, such as `550`. */
  readonly code: number;
  /** The text of each reply line, without the code and separator. */
  readonly lines: string[];

  /**
   * Creates a reply error.
   *
   * @param code The reply code the server sent.
   * @param lines The text of the reply lines.
   * @param options Standard error options; `message` overrides the default text.
   */
  constructor(code: number, lines: string[], options?: ErrorOptions & { message?: string }) {
    super(options?.message ?? `Server replied ${code}: ${lines.join(" ")}`, options);
    this.name = "ReplyError";
    this.code = code;
    this.lines = lines;
  }
}
