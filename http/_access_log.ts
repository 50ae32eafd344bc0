/**
 * The server's access log lines, Common Log Format, with control bytes,
 * quotes and backslashes in the request line escaped so that a client
 * cannot forge log lines.
 *
 * @module
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A Common Log Format timestamp (`14/Nov/2023:22:13:20 +0000`). */
export function clfDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${
    pad(d.getUTCHours())
  }:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

// deno-lint-ignore no-control-regex
const LOG_ESCAPE_REGEXP = /[\x00-\x1f\x7f-\x9f"\\]/g;

/** Escapes control bytes, quotes and backslashes for a log line. */
export function escapeLog(text: string): string {
  return text.replace(
    LOG_ESCAPE_REGEXP,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/**
 * One access log line: `host - - [date] "request line" status bytes`
 * (`-` for unknown bytes).
 */
export function accessLine(
  host: string,
  requestLine: string,
  status: number,
  bytes: number,
  now: number,
): string {
  return `${host} - - [${clfDate(new Date(now))}] "${escapeLog(requestLine)}" ${status} ${
    bytes < 0 ? "-" : bytes
  }`;
}
