import { ReplyError } from "./reply_error.ts";

/** Options for {@linkcode FtpReplyError}. */
export interface FtpReplyErrorOptions extends ErrorOptions {
  /**
   * The command line the server refused, such as `"RETR pub/x"`. The
   * arguments of `PASS`, `ACCT` and `ADAT` are replaced by `****`.
   */
  command?: string;
  /** Replaces the default message. */
  message?: string;
}

const SECRET_VERBS = new Set(["PASS", "ACCT", "ADAT"]);

/**
 * Redacts the secret argument of an FTP command line: `PASS x` becomes
 * `PASS ****` (also `ACCT` and the RFC 2228 `ADAT` security data). Other
 * commands are returned as they are.
 */
function redactFtpCommand(command: string): string {
  const match = /^\s*(\S+)/.exec(command);
  if (match === null || !SECRET_VERBS.has(match[1]!.toUpperCase())) return command;
  return `${match[1]} ****`;
}

/**
 * An FTP server's refusal (RFC 959 §4.2): a 4xx (transient) or 5xx
 * (permanent) reply, its lines, and the command it answered, with
 * passwords redacted.
 *
 * @example Reading a refused download
 * ```ts
 * import { FtpReplyError } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new FtpReplyError(550, ["No such file"], { command: "RETR pub/x" });
 * assertEquals(error.message, "Cannot RETR pub/x: server replied 550 No such file");
 * assertEquals(error.permanent, true);
 *
 * const login = new FtpReplyError(530, ["Login incorrect."], { command: "PASS trustno1" });
 * assertEquals(login.command, "PASS ****");
 * assertEquals(login.message, "Cannot PASS ****: server replied 530 Login incorrect.");
 * ```
 */
export class FtpReplyError extends ReplyError {
  /**
   * Creates an FTP reply error.
   *
   * @param code The reply code.
   * @param lines The reply lines without code and separator.
   * @param options The command (redacted here), a message override and a cause.
   */
  constructor(code: number, lines: string[], options?: FtpReplyErrorOptions) {
    options ??= {};
    const command = options.command === undefined ? undefined : redactFtpCommand(options.command);
    const text = lines.map((line) => line.trim()).filter((line) => line !== "").join(" ");
    const message = options.message ??
      `Cannot ${command ?? "complete FTP command"}: server replied ${code}${
        text ? ` ${text}` : ""
      }`;
    super(code, lines, { message, command, cause: options.cause });
    this.name = "FtpReplyError";
  }

  /** Whether the refusal is permanent (5xx): repeating the command will not help. */
  get permanent(): boolean {
    return this.code >= 500;
  }

  /** Whether the refusal is transient (4xx): the same command may work later. */
  get transient(): boolean {
    return this.code >= 400 && this.code < 500;
  }
}

/**
 * Whether an error is a transient FTP refusal, a 4xx reply (RFC 959 §4.2.1:
 * "the error condition is temporary"), such as `421` (service closing),
 * `425` (cannot open data connection), `450` (file busy) or `452` (no
 * space). Any {@linkcode ReplyError} counts, so a reply read with the plain
 * reply reader qualifies too; network and protocol errors do not.
 *
 * @param error Anything caught.
 * @returns True for a reply error with a 4xx code.
 *
 * @example Retrying only transient refusals
 * ```ts
 * import { FtpReplyError, isFtpTransientError } from "@inetkit/inetkit/net";
 * import { assert } from "@std/assert";
 *
 * assert(isFtpTransientError(new FtpReplyError(450, ["File busy"], { command: "RETR x" })));
 * assert(!isFtpTransientError(new FtpReplyError(550, ["No such file"])));
 * assert(!isFtpTransientError(new Error("connection reset")));
 * ```
 */
export function isFtpTransientError(error: unknown): boolean {
  return error instanceof ReplyError && error.code >= 400 && error.code < 500;
}
