/**
 * The FTP server's access-log lines: `host user [date] "command" code
 * bytes`, with control bytes, quotes, backslashes (and spaces in the user
 * field) escaped so that a client cannot forge log lines.
 *
 * @module
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
// deno-lint-ignore no-control-regex
const ESCAPE_REGEXP = /[\x00-\x1f\x7f-\x9f"\\]/g;
// deno-lint-ignore no-control-regex
const FIELD_ESCAPE_REGEXP = /[\x00-\x20\x7f-\x9f"\\[\]]/g;

function hex(c: string): string {
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
}

/** Escapes control bytes, quotes and backslashes. */
export function escapeFtpLog(text: string): string {
  return text.replace(ESCAPE_REGEXP, hex);
}

/** A Common Log Format timestamp (`14/Nov/2023:22:13:20 +0000`). */
function clfDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${
    pad(d.getUTCHours())
  }:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/**
 * One access-log line.
 *
 * @param host The client's address.
 * @param user The user name, or `null` before login.
 * @param command The command with its resolved path (never a password).
 * @param code The final reply code.
 * @param bytes The bytes transferred, or `undefined` for none.
 * @param now The time.
 * @returns The line without a line end.
 */
export function ftpAccessLine(
  host: string,
  user: string | null,
  command: string,
  code: number,
  bytes: number | undefined,
  now: Date,
): string {
  const who = user === null || user === "" ? "-" : user.replace(FIELD_ESCAPE_REGEXP, hex);
  return `${host} ${who} [${clfDate(now)}] "${escapeFtpLog(command)}" ${code} ${bytes ?? "-"}`;
}
