/**
 * Modified UTF-7 (RFC 3501 §5.1.3) for Maildir++ folder directory names, as
 * Dovecot and Courier store them: printable ASCII stands for itself, `&` is
 * `&-`, other characters are UTF-16 in base64 with `,` for `/` between `&`
 * and `-`.
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
const VALUES = new Map<string, number>([...ALPHABET].map((c, i) => [c, i]));

function isDirect(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

/** Encodes a Unicode name in modified UTF-7. */
export function encodeMutf7(name: string): string {
  let out = "";
  let i = 0;
  while (i < name.length) {
    const code = name.charCodeAt(i);
    if (code === 0x26) {
      out += "&-";
      i++;
    } else if (isDirect(code)) {
      out += name[i];
      i++;
    } else {
      const bytes: number[] = [];
      while (i < name.length && !isDirect(name.charCodeAt(i))) {
        const unit = name.charCodeAt(i);
        bytes.push(unit >> 8, unit & 0xff);
        i++;
      }
      out += "&";
      let bits = 0;
      let value = 0;
      for (const byte of bytes) {
        value = (value << 8) | byte;
        bits += 8;
        while (bits >= 6) {
          bits -= 6;
          out += ALPHABET[(value >> bits) & 0x3f];
        }
      }
      if (bits > 0) out += ALPHABET[(value << (6 - bits)) & 0x3f];
      out += "-";
    }
  }
  return out;
}

/**
 * Decodes a modified UTF-7 name, or returns `undefined` when it is not in
 * the canonical form (so that every name has exactly one spelling on disk).
 */
export function decodeMutf7(text: string): string | undefined {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const code = text.charCodeAt(i);
    if (!isDirect(code)) return undefined;
    if (c !== "&") {
      out += c;
      i++;
      continue;
    }
    const end = text.indexOf("-", i + 1);
    if (end === -1) return undefined;
    if (end === i + 1) {
      out += "&";
      i = end + 1;
      continue;
    }
    let bits = 0;
    let value = 0;
    const units: number[] = [];
    let pending: number[] = [];
    for (let j = i + 1; j < end; j++) {
      const v = VALUES.get(text[j]!);
      if (v === undefined) return undefined;
      value = ((value << 6) | v) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        pending.push((value >> bits) & 0xff);
        if (pending.length === 2) {
          units.push((pending[0]! << 8) | pending[1]!);
          pending = [];
        }
      }
    }
    if (pending.length !== 0 || bits >= 6 || (value & ((1 << bits) - 1)) !== 0) return undefined;
    const decoded = String.fromCharCode(...units);
    if (!decoded.isWellFormed() || [...decoded].some((ch) => isDirect(ch.charCodeAt(0)))) {
      return undefined;
    }
    out += decoded;
    i = end + 1;
  }
  return encodeMutf7(out) === text ? out : undefined;
}
