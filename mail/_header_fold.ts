/**
 * Folding header fields for output (RFC 5322 §2.2.3): lines broken before
 * white space so that they stay under 78 characters where possible and
 * never reach 998.
 *
 * @module
 */

/** The preferred line length, without CRLF (RFC 5322 §2.1.1). */
const PREFERRED = 78;
/** The hard limit, without CRLF. */
const HARD = 998;
const FIELD_NAME_REGEXP = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * Formats `name: value` folded, ending with CRLF. The value must already be
 * header-safe (no CR, LF or NUL); it is broken only before white space that
 * is followed by other text, so unfolding gives the value back.
 *
 * @throws {TypeError} If the name is not a field name, the value holds CR,
 *   LF or NUL, or a word is too long to fit a line of 998 octets.
 */
export function foldField(name: string, value: string): string {
  if (!FIELD_NAME_REGEXP.test(name)) {
    throw new TypeError(`Cannot write header field name ${JSON.stringify(name)}: not a field name`);
  }
  if (/[\r\n\0]/.test(value)) {
    throw new TypeError(
      `Cannot write header ${name} ${JSON.stringify(value)}: it contains CR, LF or NUL`,
    );
  }
  // Segments: leading white space plus one word.
  const segments = value.match(/[ \t]*[^ \t]+|[ \t]+$/g) ?? [];
  let out = `${name}:`;
  let line = out.length;
  let first = true;
  for (const segment of segments) {
    const piece = first && !/^[ \t]/.test(segment) ? " " + segment : segment;
    first = false;
    const size = utf8Length(piece);
    if (
      line + size > PREFERRED && line > name.length + 1 && /^[ \t]/.test(piece) &&
      /[^ \t]/.test(piece)
    ) {
      out += "\r\n";
      line = 0;
    }
    out += piece;
    line += size;
    if (line > HARD) {
      throw new TypeError(
        `Cannot write header ${name}: a word does not fit in a line of ${HARD} octets`,
      );
    }
  }
  if (segments.length === 0) out += " ";
  return out + "\r\n";
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}
