import { ReplyError, type ReplyErrorOptions } from "../net/reply_error.ts";
import type { ImapResponseCode } from "./_imap_wire_types.ts";

/** Options for {@linkcode ImapError} and {@linkcode ImapByeError}. */
export type ImapErrorOptions = ReplyErrorOptions;

/** A response code as the server wrote it, for messages: `[TRYCREATE]`, `[UIDNEXT 9]`. */
function codeText(code: ImapResponseCode | null): string {
  if (code === null) return "";
  const value = code.value;
  if (value === null || value === undefined) return `[${code.name}] `;
  if (typeof value === "string" || typeof value === "number" || typeof value === "bigint") {
    return `[${code.name} ${value}] `;
  }
  if (Array.isArray(value)) return `[${code.name} (${value.join(" ")})] `;
  return `[${code.name}] `;
}

/**
 * An IMAP server's refusal of a command (RFC 3501 §7.1, RFC 9051 §7.1): a
 * tagged `NO` (the command was understood and failed: no such mailbox, wrong
 * password, over quota) or `BAD` (the server did not accept the command),
 * with the response code when there is one (`AUTHENTICATIONFAILED`,
 * `TRYCREATE`, `NONEXISTENT`, `OVERQUOTA`, RFC 5530). A
 * {@linkcode ReplyError} whose `code` is the status word.
 *
 * @example Telling a missing mailbox apart
 * ```ts
 * import { ImapError } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new ImapError("NO", { name: "NONEXISTENT", value: null }, "Mailbox doesn't exist: Junk", {
 *   command: "SELECT",
 * });
 * assertEquals(error.status, "NO");
 * assertEquals(error.responseCode?.name, "NONEXISTENT");
 * assertEquals(
 *   error.message,
 *   "Cannot run SELECT: server replied NO [NONEXISTENT] Mailbox doesn't exist: Junk",
 * );
 * ```
 */
export class ImapError extends ReplyError<"NO" | "BAD"> {
  /** The response code (`[TRYCREATE]`, `[AUTHENTICATIONFAILED]`), or `null`. */
  readonly responseCode: ImapResponseCode | null;
  /** The human-readable text. */
  readonly text: string;

  /**
   * Creates an IMAP error from a tagged status response.
   *
   * @param status `NO` or `BAD`.
   * @param responseCode The response code, or `null`.
   * @param text The text after the code.
   * @param options The command, a message override and a cause.
   */
  constructor(
    status: "NO" | "BAD",
    responseCode: ImapResponseCode | null,
    text: string,
    options?: ImapErrorOptions,
  ) {
    options ??= {};
    const line = `${codeText(responseCode)}${text}`.trimEnd();
    super(status, [line], {
      message: options.message ??
        `Cannot run ${options.command ?? "command"}: server replied ${status} ${line}`.trimEnd(),
      command: options.command,
      cause: options.cause,
    });
    this.name = "ImapError";
    this.responseCode = responseCode;
    this.text = text;
  }

  /** `NO` (the command failed) or `BAD` (the command was not accepted): the same as `code`. */
  get status(): "NO" | "BAD" {
    return this.code;
  }
}

/**
 * The server ended the session with `* BYE` (RFC 3501 §7.1.5): at the
 * greeting (it refuses the connection), while a command was in flight
 * (shutting down, an idle timeout), or between commands. The connection is
 * closed; every later command throws this error too.
 *
 * @example The message names the command and the server's reason
 * ```ts
 * import { ImapByeError } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new ImapByeError(null, "Server shutting down.", { command: "FETCH" });
 * assertEquals(
 *   error.message,
 *   "Cannot run FETCH: the server closed the connection: BYE Server shutting down.",
 * );
 * ```
 */
export class ImapByeError extends Error {
  /** The response code of the BYE, or `null`. */
  readonly code: ImapResponseCode | null;
  /** The BYE's text. */
  readonly text: string;
  /** The command in flight, or `undefined`. */
  readonly command: string | undefined;

  /**
   * Creates the error from the BYE response.
   *
   * @param code The BYE's response code, or `null`.
   * @param text The BYE's text.
   * @param options The command in flight, a message override and a cause.
   */
  constructor(code: ImapResponseCode | null, text: string, options?: ImapErrorOptions) {
    options ??= {};
    super(
      options.message ??
        `Cannot run ${options.command ?? "command"}: the server closed the connection: BYE ${
          codeText(code)
        }${text}`.trimEnd(),
      { cause: options.cause },
    );
    this.name = "ImapByeError";
    this.code = code;
    this.text = text;
    this.command = options.command;
  }
}
