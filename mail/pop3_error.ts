import { ReplyError, type ReplyErrorOptions } from "../net/reply_error.ts";

/** Options for {@linkcode Pop3Error}: the refused command (never its secret arguments), a message override, a cause. */
export type Pop3ErrorOptions = ReplyErrorOptions;

/** RFC 2449 §8 `resp-code`: `[` atom *(`/` atom) `]` at the start of the text. */
const RESPONSE_CODE_REGEXP = /^\[([A-Za-z0-9-]+(?:\/[A-Za-z0-9-]+)*)\]\s?/;

/** Response codes after which the same command may work later (RFC 2449 §8, RFC 3206). */
const TEMPORARY_CODES = new Set(["IN-USE", "LOGIN-DELAY", "SYS/TEMP"]);

/**
 * A POP3 server's `-ERR` answer (RFC 1939 §3): the command it answered,
 * the RFC 2449 extended response code when the server sent one (`IN-USE`,
 * `LOGIN-DELAY`, `SYS/TEMP`, `SYS/PERM`, `AUTH`, RFC 3206) and the text.
 * A {@linkcode ReplyError} whose `code` is `"-ERR"` and whose one line is
 * the text after it.
 *
 * @example Reading a locked maildrop
 * ```ts
 * import { Pop3Error } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new Pop3Error("[IN-USE] Mailbox is locked by another session", {
 *   command: "PASS",
 * });
 * assertEquals(error.responseCode, "IN-USE");
 * assertEquals(error.text, "Mailbox is locked by another session");
 * assertEquals(error.temporary, true);
 * assertEquals(
 *   error.message,
 *   "Cannot run PASS: server replied -ERR [IN-USE] Mailbox is locked by another session",
 * );
 * ```
 */
export class Pop3Error extends ReplyError<"-ERR"> {
  /**
   * The extended response code, upper-cased, such as `"IN-USE"` or
   * `"SYS/TEMP"`, or `null` when the reply has none.
   */
  readonly responseCode: string | null;
  /** The human-readable text after the code. */
  readonly text: string;

  /**
   * Creates a POP3 error from the text after `-ERR `.
   *
   * @param reply The text after `-ERR`, response code included.
   * @param options The command, a message override and a cause.
   */
  constructor(reply: string, options?: Pop3ErrorOptions) {
    options ??= {};
    const match = RESPONSE_CODE_REGEXP.exec(reply);
    const message = options.message ??
      `Cannot ${options.command ? `run ${options.command}` : "start session"}: ` +
        `server replied -ERR${reply ? ` ${reply}` : ""}`;
    super("-ERR", [reply], { message, command: options.command, cause: options.cause });
    this.name = "Pop3Error";
    this.responseCode = match === null ? null : match[1]!.toUpperCase();
    this.text = match === null ? reply : reply.slice(match[0].length);
  }

  /**
   * Whether the server said to try again later: `IN-USE` (the maildrop is
   * locked), `LOGIN-DELAY` or `SYS/TEMP`.
   */
  get temporary(): boolean {
    return this.responseCode !== null && TEMPORARY_CODES.has(this.responseCode);
  }

  /** Whether the server rejected the credentials themselves (`AUTH`, RFC 3206). */
  get authFailure(): boolean {
    return this.responseCode === "AUTH";
  }
}
