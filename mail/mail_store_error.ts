/**
 * Why a {@linkcode MailStoreError} was thrown. Servers map the codes to their
 * replies; the usual mapping is given per code.
 *
 * - `"NONEXISTENT"`: the folder does not exist (IMAP `NO [NONEXISTENT]`, RFC 5530).
 * - `"ALREADY_EXISTS"`: the folder to create or rename to exists (`NO [ALREADYEXISTS]`).
 * - `"BAD_NAME"`: a user or folder name breaks the naming rules (`NO [CANNOT]`).
 * - `"BAD_FLAG"`: a flag or keyword is not valid, such as `\Recent` or `a b` (IMAP `BAD`).
 * - `"CANNOT"`: the operation is not allowed, such as deleting `INBOX` (`NO [CANNOT]`).
 * - `"IN_USE"`: the mailbox lock is held by another session (POP3 `-ERR [IN-USE]`,
 *   IMAP `NO [INUSE]`).
 * - `"TOO_LARGE"`: the message exceeds the size limit (SMTP `552`, IMAP `NO [LIMIT]`).
 * - `"EXPUNGED"`: the message was expunged (IMAP `NO [EXPUNGEISSUE]`).
 * - `"READ_ONLY"`: a change was asked of a read-only view (an `EXAMINE` session).
 * - `"LIMIT"`: a count limit was hit: keywords per message, the UID space (`NO [LIMIT]`).
 * - `"CLOSED"`: the store, view or lock was closed.
 */
export type MailStoreErrorCode =
  | "NONEXISTENT"
  | "ALREADY_EXISTS"
  | "BAD_NAME"
  | "BAD_FLAG"
  | "CANNOT"
  | "IN_USE"
  | "TOO_LARGE"
  | "EXPUNGED"
  | "READ_ONLY"
  | "LIMIT"
  | "CLOSED";

/**
 * The error a {@linkcode MailStore} throws when it refuses an operation: a
 * missing folder, a held lock, a message over the size limit. Input and
 * output failures of the file system are passed through unchanged (as
 * `Deno.errors.*`), so a server can answer them as temporary failures.
 *
 * @example Telling a message that is too large apart from other failures
 * ```ts
 * import { MailStoreError } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new MailStoreError("TOO_LARGE", "Cannot deliver message: it exceeds 10 bytes");
 * assertEquals(error.code, "TOO_LARGE");
 * assertEquals(error.name, "MailStoreError");
 * assertEquals(error instanceof Error, true);
 * ```
 */
export class MailStoreError extends Error {
  /** The reason, one of {@linkcode MailStoreErrorCode}. */
  readonly code: MailStoreErrorCode;

  /**
   * Creates a mail store error.
   *
   * @param code The reason code.
   * @param message A sentence naming the action and the value.
   * @param options Standard error options, such as `cause`.
   */
  constructor(code: MailStoreErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MailStoreError";
    this.code = code;
  }
}
