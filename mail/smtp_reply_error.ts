import { ReplyError } from "../net/reply_error.ts";

/** Options for {@linkcode SmtpReplyError}. */
export interface SmtpReplyErrorOptions extends ErrorOptions {
  /** The command that was refused, such as `"RCPT TO"`; never its secret arguments. */
  command?: string;
  /** The recipient a `RCPT TO` or LMTP final reply was about. */
  recipient?: string;
  /** Replaces the default message. */
  message?: string;
}

// RFC 3463 §2: class "." subject "." detail, the class matching the reply's first digit.
const ENHANCED_REGEXP = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;

/**
 * An SMTP or LMTP server's refusal (RFC 5321 §4.2): the reply code, the
 * enhanced status code when the server sent one (RFC 3463, RFC 2034), the
 * reply lines, and the command it answered.
 *
 * @example Reading a refused recipient
 * ```ts
 * import { SmtpReplyError } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new SmtpReplyError(550, ["5.1.1 <x@example.test>: Recipient address rejected"], {
 *   command: "RCPT TO",
 *   recipient: "x@example.test",
 * });
 * assertEquals(error.enhancedCode, "5.1.1");
 * assertEquals(error.permanent, true);
 * assertEquals(
 *   error.message,
 *   "Cannot send RCPT TO: server replied 550 5.1.1 <x@example.test>: Recipient address rejected",
 * );
 * ```
 */
export class SmtpReplyError extends ReplyError {
  /** The enhanced status code such as `"5.1.1"`, or `undefined` when the reply has none. */
  readonly enhancedCode: string | undefined;
  /** The recipient the refusal is about, for `RCPT TO` and LMTP final replies. */
  readonly recipient: string | undefined;

  /**
   * Creates an SMTP reply error.
   *
   * @param code The reply code.
   * @param lines The reply lines without code and separator.
   * @param options The command, the recipient, a message override and a cause.
   */
  constructor(code: number, lines: string[], options?: SmtpReplyErrorOptions) {
    options ??= {};
    const text = lines.join(" ");
    const message = options.message ??
      `Cannot ${options.command ? `send ${options.command}` : "complete command"}: ` +
        `server replied ${code}${text ? ` ${text}` : ""}`;
    super(code, lines, { message, command: options.command, cause: options.cause });
    this.name = "SmtpReplyError";
    this.enhancedCode = parseEnhancedCode(code, lines[0] ?? "");
    this.recipient = options.recipient;
  }

  /** Whether the failure is permanent (5xx): retrying will not help. */
  get permanent(): boolean {
    return this.code >= 500;
  }

  /** Whether the failure is transient (4xx): the same command may work later. */
  get transient(): boolean {
    return this.code >= 400 && this.code < 500;
  }
}

/** The enhanced status code at the start of a reply line, if its class matches the code. */
function parseEnhancedCode(code: number, line: string): string | undefined {
  const match = ENHANCED_REGEXP.exec(line);
  if (match === null || Number(match[1]) !== Math.floor(code / 100)) return undefined;
  return match[0];
}
