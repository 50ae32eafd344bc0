/**
 * IMAP's modified UTF-7 for mailbox names (RFC 3501 §5.1.3, kept by RFC 9051
 * §5.1.3 for servers without UTF8=ACCEPT).
 *
 * @module
 */
import { ProtocolError } from "../net/protocol_error.ts";

/** Modified BASE64: the RFC 4648 alphabet with `,` in place of `/`, no padding. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

const AMPERSAND = 0x26;
const MINUS = 0x2d;

/**
 * Encodes a mailbox name in IMAP's modified UTF-7 (RFC 3501 §5.1.3): printable
 * US-ASCII stands for itself, `&` becomes `&-`, and every run of other
 * characters becomes `&` + the modified BASE64 of its UTF-16 code units
 * (`,` in place of `/`, no padding) + `-`. Characters outside the BMP go as
 * their surrogate pairs.
 *
 * @param name The mailbox name as Unicode text.
 * @returns The name as 7-bit text for the wire.
 * @throws {TypeError} If the name holds a lone surrogate, which no UTF-16
 *   encoding can carry.
 *
 * @example Encoding the example of RFC 3501
 * ```ts
 * import { encodeImapUtf7 } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(encodeImapUtf7("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
 * assertEquals(encodeImapUtf7("Tom & Jerry"), "Tom &- Jerry");
 * assertEquals(encodeImapUtf7("Entwürfe"), "Entw&APw-rfe");
 * ```
 */
export function encodeImapUtf7(name: string): string {
  let out = "";
  let i = 0;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      out += c === AMPERSAND ? "&-" : name[i];
      i++;
      continue;
    }
    const start = i;
    while (i < name.length) {
      const d = name.charCodeAt(i);
      if (d >= 0x20 && d <= 0x7e) break;
      if (d >= 0xd800 && d <= 0xdbff) {
        const next = name.charCodeAt(i + 1);
        if (!(next >= 0xdc00 && next <= 0xdfff)) throw loneSurrogate(name, i);
        i += 2;
      } else if (d >= 0xdc00 && d <= 0xdfff) {
        throw loneSurrogate(name, i);
      } else {
        i++;
      }
    }
    out += "&" + base64Units(name, start, i) + "-";
  }
  return out;
}

function loneSurrogate(name: string, at: number): TypeError {
  return new TypeError(
    `Cannot encode mailbox name ${JSON.stringify(name)}: lone surrogate at index ${at}`,
  );
}

/** The modified BASE64 of the UTF-16BE code units `name[start..end)`. */
function base64Units(name: string, start: number, end: number): string {
  let out = "";
  let bits = 0;
  let count = 0;
  for (let i = start; i < end; i++) {
    bits = (bits << 16) | name.charCodeAt(i);
    count += 16;
    while (count >= 6) {
      count -= 6;
      out += ALPHABET[(bits >> count) & 0x3f];
    }
    bits &= (1 << count) - 1;
  }
  if (count > 0) out += ALPHABET[(bits << (6 - count)) & 0x3f];
  return out;
}

/**
 * Decodes a mailbox name from IMAP's modified UTF-7 (RFC 3501 §5.1.3),
 * strictly: only the one canonical encoding of a name is accepted, as Dovecot
 * does, so two different wire names never decode to the same text.
 *
 * @param name The name as the server sent it.
 * @returns The name as Unicode text.
 * @throws {ProtocolError} `"BAD_MAILBOX_NAME"` for a character outside
 *   printable US-ASCII, an unterminated shift, a character outside the
 *   modified BASE64 alphabet, leftover or non-zero padding bits, an encoded
 *   printable US-ASCII character, a lone surrogate, or two shifted runs that
 *   should have been one.
 *
 * @example Decoding names from a LIST response
 * ```ts
 * import { decodeImapUtf7 } from "@inetkit/inetkit/mail";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(decodeImapUtf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), "~peter/mail/台北/日本語");
 * assertEquals(decodeImapUtf7("&2D3eAA-"), "😀");
 * assertEquals(decodeImapUtf7("R&-D"), "R&D");
 * // "A" encoded is not canonical: it must stand for itself.
 * assertThrows(() => decodeImapUtf7("&AEE-"));
 * ```
 */
export function decodeImapUtf7(name: string): string {
  let out = "";
  let i = 0;
  let afterShift = false;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      throw badName(name, `character U+${hex(c)} at index ${i} is not printable US-ASCII`);
    }
    if (c !== AMPERSAND) {
      out += name[i];
      i++;
      afterShift = false;
      continue;
    }
    if (name.charCodeAt(i + 1) === MINUS) {
      out += "&";
      i += 2;
      afterShift = false;
      continue;
    }
    if (afterShift) {
      throw badName(name, `shifted run at index ${i} directly follows another one`);
    }
    const end = name.indexOf("-", i + 1);
    if (end < 0) throw badName(name, `shift at index ${i} is not terminated by "-"`);
    out += decodeRun(name, i + 1, end);
    i = end + 1;
    afterShift = true;
  }
  return out;
}

/** Decodes the modified BASE64 in `name[start..end)`, at least one character. */
function decodeRun(name: string, start: number, end: number): string {
  let bits = 0;
  let count = 0;
  let out = "";
  let high = -1;
  for (let i = start; i < end; i++) {
    const c = name.charCodeAt(i);
    const v = c < 128 ? VALUE[c]! : -1;
    if (v < 0) {
      throw badName(
        name,
        `character ${JSON.stringify(name[i])} at index ${i} is not modified BASE64`,
      );
    }
    bits = ((bits << 6) | v) & 0xffffff;
    count += 6;
    if (count >= 16) {
      count -= 16;
      const unit = (bits >> count) & 0xffff;
      if (unit >= 0x20 && unit <= 0x7e) {
        throw badName(
          name,
          `printable US-ASCII ${JSON.stringify(String.fromCharCode(unit))} is encoded`,
        );
      }
      if (high >= 0) {
        if (unit < 0xdc00 || unit > 0xdfff) {
          throw badName(name, "a high surrogate is not followed by a low one");
        }
        out += String.fromCharCode(high, unit);
        high = -1;
      } else if (unit >= 0xd800 && unit <= 0xdbff) {
        high = unit;
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        throw badName(name, "a low surrogate has no high one before it");
      } else {
        out += String.fromCharCode(unit);
      }
    }
  }
  if (out === "" && high < 0) throw badName(name, `shift at index ${start - 1} holds no character`);
  if (count >= 6) throw badName(name, `shifted run at index ${start - 1} has a partial character`);
  if ((bits & ((1 << count) - 1)) !== 0) {
    throw badName(name, `shifted run at index ${start - 1} has non-zero padding bits`);
  }
  if (high >= 0) throw badName(name, "a high surrogate ends a shifted run");
  return out;
}

function hex(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, "0");
}

function badName(name: string, reason: string): ProtocolError {
  return new ProtocolError(
    "BAD_MAILBOX_NAME",
    `Cannot decode mailbox name ${JSON.stringify(name)}: ${reason}`,
  );
}
