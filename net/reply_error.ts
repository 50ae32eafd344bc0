/** Options for {@linkcode ReplyError}. */
export interface ReplyErrorOptions extends ErrorOptions {
  /** The command the server refused, such as `"RCPT TO"`; never its secret arguments. */
  command?: string;
  /** Replaces the default message. */
  message?: string;
}

/**
 * The error thrown when a server answers a command with a refusal: a reply
 * whose code is not the one expected. The code is a number for protocols
 * with three-digit replies (SMTP, FTP, NNTP) and a status word for the
 * others (POP3's `-ERR`, IMAP's `NO` and `BAD`); the protocol's own
 * subclasses (`FtpReplyError`, `SmtpReplyError`,
 * `NntpReplyError`, `Pop3Error`, `ImapError`) add what that protocol
 * says beside it, so `catch (e) { if (e instanceof ReplyError) … }`
 * catches every refusal of every protocol.
 *
 * @example Reading the code, the lines and the command of a refusal
 * ```ts
 * import { ReplyError } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new ReplyError(550, ["5.1.1 No such user"], { command: "RCPT TO" });
 * assertEquals(error.code, 550);
 * assertEquals(error.message, "Cannot run RCPT TO: server replied 550 5.1.1 No such user");
 *
 * const refused = new ReplyError("-ERR", ["no such message"]);
 * assertEquals(refused.message, "Cannot complete command: server replied -ERR no such message");
 * ```
 *
 * @typeParam Code `number` for three-digit replies, a union of status words otherwise.
 */
export class ReplyError<Code extends number | string = number> extends Error {
  /** The reply code, such as `550`, or the status word, such as `"-ERR"` or `"NO"`. */
  readonly code: Code;
  /** The text of each reply line, without the code and separator. */
  readonly lines: string[];
  /** The command the server refused, or `undefined` (a greeting, or not known). */
  readonly command: string | undefined;

  /**
   * Creates a reply error.
   *
   * @param code The reply code or status word the server sent.
   * @param lines The text of the reply lines.
   * @param options The command, a message override and a cause.
   */
  constructor(code: Code, lines: string[], options?: ReplyErrorOptions) {
    options ??= {};
    const text = lines.join(" ");
    super(
      options.message ??
        `Cannot ${options.command ? `run ${options.command}` : "complete command"}: ` +
          `server replied ${code}${text ? ` ${text}` : ""}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "ReplyError";
    this.code = code;
    this.lines = lines;
    this.command = options.command;
  }
}
