import type { LineWriter } from "./line_writer.ts";

const UNSAFE_REGEXP = /[\r\n\0]/;

function assertText(text: string, what: string): void {
  if (UNSAFE_REGEXP.test(text)) {
    throw new TypeError(`Cannot format ${what}: the text contains CR, LF or NUL`);
  }
}

/** Options for {@linkcode formatReply}. */
export interface FormatReplyOptions {
  /**
   * An enhanced status code (RFC 3463, `2.1.0`) put before the text of every
   * line, as SMTP servers with ENHANCEDSTATUSCODES do.
   */
  enhanced?: string;
}

const ENHANCED_REGEXP = /^[245]\.\d{1,3}\.\d{1,3}$/;

/**
 * Formats a three-digit reply (SMTP, FTP, NNTP; RFC 5321 §4.2.1, RFC 959
 * §4.2): every line but the last is `code-text`, the last `code text`,
 * each ending in CR LF. The server-side twin of `readReply`.
 *
 * @param code The reply code, 100 to 599.
 * @param lines The text of each line (one string for a one-line reply).
 * @param options An enhanced status code for every line.
 * @returns The reply, ready to write.
 * @throws {RangeError} If the code is not from 100 to 599.
 * @throws {TypeError} If a line holds CR, LF or NUL, or the enhanced code is malformed.
 *
 * @example An EHLO reply
 * ```ts
 * import { formatReply } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   formatReply(250, ["mx.example.test", "PIPELINING", "8BITMIME"]),
 *   "250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
 * );
 * assertEquals(formatReply(550, "No such user", { enhanced: "5.1.1" }), "550 5.1.1 No such user\r\n");
 * ```
 */
export function formatReply(
  code: number,
  lines: string | readonly string[],
  options?: FormatReplyOptions,
): string {
  options ??= {};
  if (!Number.isInteger(code) || code < 100 || code > 599) {
    throw new RangeError(`Cannot format reply: code ${code} is not from 100 to 599`);
  }
  const texts = typeof lines === "string" ? [lines] : lines.length === 0 ? [""] : lines;
  const enhanced = options.enhanced;
  if (enhanced !== undefined && !ENHANCED_REGEXP.test(enhanced)) {
    throw new TypeError(
      `Cannot format reply: ${JSON.stringify(enhanced)} is not an enhanced status code`,
    );
  }
  let out = "";
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    assertText(text, "reply");
    const sep = i === texts.length - 1 ? " " : "-";
    const body = enhanced === undefined ? text : text === "" ? enhanced : `${enhanced} ${text}`;
    out += body === "" && sep === " " ? `${code}\r\n` : `${code}${sep}${body}\r\n`;
  }
  return out;
}

/**
 * Writes a three-digit reply formatted by {@linkcode formatReply}.
 *
 * @param writer The connection's writer.
 * @param code The reply code.
 * @param lines The text of each line.
 * @param options An enhanced status code.
 * @throws {TypeError} As `formatReply`; nothing is written then.
 *
 * @example Writing a greeting
 * ```ts
 * import { LineWriter, writeReply } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks: Uint8Array[] = [];
 * const writer = new LineWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
 * await writeReply(writer, 220, "ftp.example.test ready");
 * assertEquals(new TextDecoder().decode(chunks[0]), "220 ftp.example.test ready\r\n");
 * ```
 */
export async function writeReply(
  writer: LineWriter,
  code: number,
  lines: string | readonly string[],
  options?: FormatReplyOptions,
): Promise<void> {
  await writer.write(new TextEncoder().encode(formatReply(code, lines, options)));
}

/**
 * Formats a POP3 status line (RFC 1939 §3): `+OK text` or `-ERR text`, with
 * an RFC 2449 response code in brackets on `-ERR` (`-ERR [IN-USE] ...`).
 *
 * @param ok Whether it is `+OK`.
 * @param text The text after the status.
 * @param code An extended response code such as `IN-USE`, `AUTH`, `SYS/TEMP`.
 * @returns The line with CR LF.
 * @throws {TypeError} If the text or code holds CR, LF or NUL, or the code is not an atom.
 *
 * @example Both kinds
 * ```ts
 * import { formatPop3Status } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatPop3Status(true, "2 messages"), "+OK 2 messages\r\n");
 * assertEquals(formatPop3Status(false, "maildrop locked", "IN-USE"), "-ERR [IN-USE] maildrop locked\r\n");
 * ```
 */
export function formatPop3Status(ok: boolean, text = "", code?: string): string {
  assertText(text, "POP3 status");
  if (code !== undefined && !/^[A-Za-z0-9\/-]+$/.test(code)) {
    throw new TypeError(
      `Cannot format POP3 status: ${JSON.stringify(code)} is not a response code`,
    );
  }
  const prefix = ok ? "+OK" : "-ERR";
  const body = code === undefined ? text : text === "" ? `[${code}]` : `[${code}] ${text}`;
  return body === "" ? `${prefix}\r\n` : `${prefix} ${body}\r\n`;
}

/**
 * Formats an IMAP status response (RFC 3501 §7.1): tagged (`A1 OK ...`) or
 * untagged (`* OK ...`, `* BYE ...`, `* PREAUTH ...`), with an optional
 * response code in brackets.
 *
 * @param tag The command's tag, or `"*"` for an untagged response.
 * @param status `OK`, `NO`, `BAD`, `BYE` or `PREAUTH`.
 * @param text The human-readable text.
 * @param code A response code with its arguments, without brackets (`UIDVALIDITY 3857529045`).
 * @returns The line with CR LF.
 * @throws {TypeError} If a part holds CR, LF or NUL, or the tag is not a valid tag.
 *
 * @example Tagged and untagged
 * ```ts
 * import { formatImapStatus } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatImapStatus("A1", "OK", "LOGIN completed"), "A1 OK LOGIN completed\r\n");
 * assertEquals(
 *   formatImapStatus("*", "OK", "UIDs valid", "UIDVALIDITY 3857529045"),
 *   "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
 * );
 * ```
 */
export function formatImapStatus(
  tag: string,
  status: "OK" | "NO" | "BAD" | "BYE" | "PREAUTH",
  text: string,
  code?: string,
): string {
  // RFC 3501 tag: ASTRING-CHARs (atom chars and "]") except "+".
  if (tag !== "*" && (!/^[\x21-\x7e]+$/.test(tag) || /[(){ %*"\\+]/.test(tag))) {
    throw new TypeError(`Cannot format IMAP status: ${JSON.stringify(tag)} is not a tag`);
  }
  assertText(text, "IMAP status");
  if (code !== undefined) {
    assertText(code, "IMAP response code");
    if (code.includes("]")) throw new TypeError("Cannot format IMAP status: the code holds ]");
  }
  const body = code === undefined ? text : `[${code}] ${text}`;
  return `${tag} ${status} ${body}\r\n`;
}
