import { ReplyError } from "../net/reply_error.ts";

/** Options for {@linkcode NntpReplyError}. */
export interface NntpReplyErrorOptions extends ErrorOptions {
  /** The command that was refused, such as `"GROUP"`; never a password. */
  command?: string;
  /** Replaces the default message. */
  message?: string;
}

/**
 * An NNTP server's refusal (RFC 3977 §3.2): a status code other than the
 * one the command expects, such as `411` (no such group), `423` (no such
 * article number), `430` (no such article), `440` (posting not allowed),
 * `441` (posting failed), `480` (authentication required) or `502`
 * (permission denied), with the status line's text and the command it
 * answered.
 *
 * @example Reading a refused GROUP
 * ```ts
 * import { NntpReplyError } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new NntpReplyError(411, ["No such group nope.nope"], { command: "GROUP" });
 * assertEquals(error.code, 411);
 * assertEquals(error.transient, true);
 * assertEquals(error.message, "Cannot send GROUP: server replied 411 No such group nope.nope");
 * ```
 */
export class NntpReplyError extends ReplyError {
  /**
   * Creates an NNTP reply error.
   *
   * @param code The status code.
   * @param lines The status line's text (one element), without the code.
   * @param options The command, a message override and a cause.
   */
  constructor(code: number, lines: string[], options?: NntpReplyErrorOptions) {
    options ??= {};
    const text = lines.join(" ");
    const message = options.message ??
      `Cannot ${options.command ? `send ${options.command}` : "complete command"}: ` +
        `server replied ${code}${text ? ` ${text}` : ""}`;
    super(code, lines, { message, command: options.command, cause: options.cause });
    this.name = "NntpReplyError";
  }

  /**
   * Whether the failure is permanent (5xx: unknown command, syntax error,
   * permission denied): retrying will not help.
   */
  get permanent(): boolean {
    return this.code >= 500;
  }

  /**
   * Whether the failure is a 4xx response: the command was understood but
   * cannot be done now (no such group or article, posting failed, log in first).
   */
  get transient(): boolean {
    return this.code >= 400 && this.code < 500;
  }
}
