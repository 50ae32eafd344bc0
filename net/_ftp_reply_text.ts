/**
 * The text of FTP replies that carry values: the quoted path of `257`
 * (`PWD`, `MKD`; RFC 959 Appendix II), the `213` replies of `MDTM` and
 * `SIZE` (RFC 3659 §3, §4), and the `211` feature list of `FEAT`
 * (RFC 2389 §3), read by a client and written by a server.
 *
 * @module
 */
import { ProtocolError } from "./protocol_error.ts";
import { parseFtpTime } from "./_ftp_time.ts";

/** Shows peer text in a message: quoted, escaped, at most 80 characters. */
function shown(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

function hasLineBreakOrNul(text: string): boolean {
  return /[\r\n\0]/.test(text);
}

/**
 * Reads the path of a `257` reply: the text starts with a double-quoted
 * path in which a doubled quote stands for one (RFC 959 Appendix II):
 * `"/a ""quoted"" dir" is current directory`. Only spaces may come before
 * the opening quote.
 *
 * @param text The reply text after the code, such as `"/" is the current directory`.
 * @returns The path with the quotes undone.
 * @throws {ProtocolError} `"BAD_PATH_REPLY"` without an opening or closing quote.
 *
 * @example Reading vsftpd's reply for a directory with quotes in its name
 * ```ts
 * import { parseFtpPathReply } from "./_ftp_reply_text.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseFtpPathReply('"/upload/a ""q"" dir" is the current directory'), '/upload/a "q" dir');
 * ```
 */
export function parseFtpPathReply(text: string): string {
  let i = 0;
  while (text[i] === " ") i++;
  if (text[i] !== '"') {
    throw new ProtocolError(
      "BAD_PATH_REPLY",
      `Cannot parse path reply: no quoted path in ${shown(text)}`,
    );
  }
  let path = "";
  for (i++; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '"') {
      path += c;
    } else if (text[i + 1] === '"') {
      path += '"';
      i++;
    } else {
      return path;
    }
  }
  throw new ProtocolError(
    "BAD_PATH_REPLY",
    `Cannot parse path reply: no closing quote in ${shown(text)}`,
  );
}

/**
 * Writes the text of a `257` reply for a server: the path in double quotes
 * with each quote doubled, then the comment.
 *
 * @param path The virtual path, such as `"/pub"`.
 * @param comment The text after the path, such as `"is the current directory"`.
 * @returns The reply text after the code.
 * @throws {TypeError} If the path or the comment contains CR, LF or NUL.
 *
 * @example Quoting a path
 * ```ts
 * import { formatFtpPathReply } from "./_ftp_reply_text.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatFtpPathReply('/a "q" dir', "created"), '"/a ""q"" dir" created');
 * ```
 */
export function formatFtpPathReply(path: string, comment = ""): string {
  if (hasLineBreakOrNul(path) || hasLineBreakOrNul(comment)) {
    throw new TypeError("Cannot format path reply: the text contains CR, LF or NUL");
  }
  const quoted = `"${path.replaceAll('"', '""')}"`;
  return comment === "" ? quoted : `${quoted} ${comment}`;
}

/**
 * Reads the time of an `MDTM` reply (RFC 3659 §3): `YYYYMMDDHHMMSS[.sss]`
 * in UTC, checked for range.
 *
 * @param text The reply text after `213 `.
 * @returns The modification time.
 * @throws {ProtocolError} `"BAD_MDTM_REPLY"` for anything else.
 *
 * @example Reading vsftpd's MDTM reply
 * ```ts
 * import { parseFtpMdtmReply } from "./_ftp_reply_text.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseFtpMdtmReply("20231114221320").toISOString(), "2023-11-14T22:13:20.000Z");
 * ```
 */
export function parseFtpMdtmReply(text: string): Date {
  const date = parseFtpTime(text.trim());
  if (date === null) {
    throw new ProtocolError(
      "BAD_MDTM_REPLY",
      `Cannot parse MDTM reply: ${shown(text)} is not a time value`,
    );
  }
  return date;
}

/**
 * Reads the size of a `SIZE` reply (RFC 3659 §4): decimal digits only.
 *
 * @param text The reply text after `213 `.
 * @returns The size in bytes.
 * @throws {ProtocolError} `"BAD_SIZE_REPLY"` for anything but digits, or a
 *   size beyond 2^53 - 1.
 *
 * @example Reading vsftpd's SIZE reply
 * ```ts
 * import { parseFtpSizeReply } from "./_ftp_reply_text.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseFtpSizeReply("1048576"), 1048576);
 * ```
 */
export function parseFtpSizeReply(text: string): number {
  const trimmed = text.trim();
  const size = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(size)) {
    throw new ProtocolError(
      "BAD_SIZE_REPLY",
      `Cannot parse SIZE reply: ${shown(text)} is not a size`,
    );
  }
  return size;
}

/**
 * Reads the feature list of a `FEAT` reply (RFC 2389 §3): every line
 * between the first and the last is a feature, `NAME[ parameters]`. Names
 * are upper-cased (they are case-insensitive); the parameters are kept as
 * sent (`MLST type*;size*;modify*;`, `REST STREAM`, `AUTH TLS`). When a
 * name repeats (`AUTH TLS` and `AUTH SSL` on separate lines), the
 * parameters are joined with `;`. A one-line reply lists no features.
 *
 * @param lines The reply lines as the reply reader returns them with
 *   `lenientContinuation`, with or without the leading space of each feature.
 * @returns Feature names to their parameters (`""` when there are none).
 *
 * @example Reading vsftpd's FEAT reply
 * ```ts
 * import { parseFtpFeatReply } from "./_ftp_reply_text.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const features = parseFtpFeatReply(["Features:", " AUTH TLS", " EPSV", " REST STREAM", "End"]);
 * assertEquals([...features], [["AUTH", "TLS"], ["EPSV", ""], ["REST", "STREAM"]]);
 * ```
 */
export function parseFtpFeatReply(lines: readonly string[]): Map<string, string> {
  const features = new Map<string, string>();
  for (const line of lines.slice(1, -1)) {
    const text = line.trim();
    if (text === "") continue;
    const space = text.search(/\s/);
    const name = (space < 0 ? text : text.slice(0, space)).toUpperCase();
    const parameters = space < 0 ? "" : text.slice(space + 1).trim();
    const known = features.get(name);
    if (known === undefined) features.set(name, parameters);
    else if (parameters !== "" && !known.split(";").includes(parameters)) {
      features.set(name, known === "" ? parameters : `${known};${parameters}`);
    }
  }
  return features;
}

const FEATURE_NAME_REGEXP = /^[\x21-\x7e]+$/;

/**
 * Writes a `FEAT` reply for a server (RFC 2389 §3): `211-Features:`, one
 * line per feature starting with a space, `211 End`; or `211 No features`
 * for an empty list.
 *
 * @param features Feature names (any case; written upper-cased) to parameters.
 * @returns The whole reply with CR LF line ends.
 * @throws {TypeError} If a name is empty or has spaces or control
 *   characters, or parameters contain CR, LF or NUL.
 *
 * @example Writing a feature list
 * ```ts
 * import { formatFtpFeatReply } from "./_ftp_reply_text.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const reply = formatFtpFeatReply([["UTF8", ""], ["MLST", "type*;size*;modify*;"]]);
 * assertEquals(reply, "211-Features:\r\n UTF8\r\n MLST type*;size*;modify*;\r\n211 End\r\n");
 * ```
 */
export function formatFtpFeatReply(features: Iterable<readonly [string, string]>): string {
  let body = "";
  for (const [name, parameters] of features) {
    if (!FEATURE_NAME_REGEXP.test(name)) {
      throw new TypeError(`Cannot format FEAT reply: invalid feature name ${JSON.stringify(name)}`);
    }
    if (hasLineBreakOrNul(parameters)) {
      throw new TypeError(
        `Cannot format FEAT reply: parameters of ${name} contain CR, LF or NUL`,
      );
    }
    body += ` ${name.toUpperCase()}${parameters === "" ? "" : ` ${parameters}`}\r\n`;
  }
  return body === "" ? "211 No features\r\n" : `211-Features:\r\n${body}211 End\r\n`;
}
