/**
 * The error a failed Telnet login throws, and the defaults of the login and
 * shell-command helpers of `TelnetClient`.
 *
 * @module
 */

/** Why {@linkcode TelnetLoginError} was thrown. */
export type TelnetLoginFailure = "refused" | "timeout" | "closed";

/** Options for {@linkcode TelnetLoginError}. */
export interface TelnetLoginErrorOptions {
  /** What went wrong. */
  reason: TelnetLoginFailure;
  /** What the server sent during the failed step. */
  text: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A login through {@linkcode TelnetClient.login} failed: the server refused
 * the user name or password (`reason: "refused"`), a prompt did not come in
 * time (`"timeout"`), or the server hung up (`"closed"`). `text` holds what
 * the server sent during the failed step, for diagnostics; it never contains
 * the password (which the server does not echo).
 *
 * @example Telling a refused login from a timeout
 * ```ts
 * import { TelnetLoginError } from "./telnet_client.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new TelnetLoginError("Cannot log in as mulder: Login incorrect", {
 *   reason: "refused",
 *   text: "\r\nLogin incorrect\r\n",
 * });
 * assertEquals([error.name, error.reason], ["TelnetLoginError", "refused"]);
 * ```
 */
export class TelnetLoginError extends Error {
  /** What went wrong. */
  readonly reason: TelnetLoginFailure;
  /** What the server sent during the failed step. */
  readonly text: string;

  /**
   * Creates the error.
   *
   * @param message The message.
   * @param options The reason, the server's text and a cause.
   */
  constructor(message: string, options: TelnetLoginErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TelnetLoginError";
    this.reason = options.reason;
    this.text = options.text;
  }
}

/** The default login prompt: `login: ` at the end of what was received (`vm login: `). */
export const DEFAULT_LOGIN_PROMPT: RegExp = /login: ?$/i;
/** The default password prompt. */
export const DEFAULT_PASSWORD_PROMPT: RegExp = /password: ?$/i;
/**
 * The default shell prompt: a last line ending in `$`, `#`, `%` or `>` (and
 * a space), possibly followed by terminal escapes (bash sends `ESC [K`).
 */
// deno-lint-ignore no-control-regex
export const DEFAULT_SHELL_PROMPT: RegExp = /[^\r\n]*[$#%>] ?(?:\x1b\[[0-9;?]*[A-Za-z])*$/;
/** What servers say when they refuse a login. */
export const DEFAULT_LOGIN_FAILURE: RegExp =
  /login incorrect|authentication fail|access denied|permission denied|invalid (?:user|login|password)|incorrect password/i;

const ANSI_REGEXP =
  // deno-lint-ignore no-control-regex
  /\x1b\[[0-9;?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>]/g;

/** The text with terminal escapes removed. */
export function stripTerminalEscapes(text: string): string {
  return text.replace(ANSI_REGEXP, "");
}

/** The text with terminal escapes and CRs removed, for comparing echoed lines. */
export function plainText(text: string): string {
  return stripTerminalEscapes(text).replaceAll("\r", "");
}

/**
 * Takes a command's echo and the final prompt off what came back after
 * sending it: the first line goes when it ends with the command (the
 * terminal echoed it), and the prompt match goes from the end.
 */
export function commandOutput(received: string, command: string, promptLength: number): string {
  let text = received.slice(0, received.length - promptLength);
  const lf = text.indexOf("\n");
  const first = plainText(lf < 0 ? text : text.slice(0, lf)).trimEnd();
  if (command.trim() !== "" && first.endsWith(command.trim())) {
    text = lf < 0 ? "" : text.slice(lf + 1);
  }
  return text;
}
