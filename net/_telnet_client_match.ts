/**
 * Pattern search over the decoded bytes a Telnet client has buffered, for
 * `readUntil` and `expect`: the bytes are decoded as UTF-8 incrementally
 * (only the new bytes after each read), with every byte that is not part of
 * a valid sequence kept as a lone low surrogate (U+DC80 to U+DCFF, Python's
 * "surrogateescape"), so that a match position in the text maps back to an
 * exact byte offset. A sequence cut at the end of the buffer waits for the
 * next read.
 *
 * @module
 */

/** A search pattern: text to find, or a regular expression. */
export type TelnetPattern = string | RegExp;

/** Where a pattern matched. */
export interface PatternMatch {
  /** The index of the pattern in the list. */
  index: number;
  /** The regular expression's match (for a string, a match made from it). */
  match: RegExpExecArray;
  /** The byte offset just after the match. */
  end: number;
}

/** Compiles the patterns once: strings stay strings, RegExps lose `g` and `y`. */
export function compilePatterns(
  patterns: readonly TelnetPattern[],
  action: string,
): TelnetPattern[] {
  if (!Array.isArray(patterns) || patterns.length === 0) {
    throw new TypeError(`Cannot ${action}: no patterns given`);
  }
  return patterns.map((pattern, i) => {
    if (typeof pattern === "string") {
      if (pattern.length === 0) throw new TypeError(`Cannot ${action}: pattern ${i} is empty`);
      return pattern;
    }
    if (pattern instanceof RegExp) {
      return /[gy]/.test(pattern.flags)
        ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""))
        : pattern;
    }
    throw new TypeError(`Cannot ${action}: pattern ${i} is not a string or a RegExp`);
  });
}

/** How many bytes a UTF-8 sequence with this lead byte has; 0 for a byte that cannot lead. */
function sequenceLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** Whether `b` may be the second byte after `lead` (the narrowed ranges of RFC 3629). */
function validSecond(lead: number, b: number): boolean {
  if (lead === 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (lead === 0xed) return b >= 0x80 && b <= 0x9f;
  if (lead === 0xf0) return b >= 0x90 && b <= 0xbf;
  if (lead === 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}

/**
 * The decoded text of the front of a buffer, grown as bytes arrive. Reset it
 * whenever bytes are consumed from the front.
 */
export class TextScan {
  /** The decoded text of `bytes[0, decoded)`. */
  text = "";
  /** How many bytes `text` covers. */
  decoded = 0;
  /** The text length before the last `update`, where string searches resume. */
  #previous = 0;

  /** Forgets everything: bytes were consumed. */
  reset(): void {
    this.text = "";
    this.decoded = 0;
    this.#previous = 0;
  }

  /**
   * Decodes the bytes of `view` after `decoded`. Unless `final`, a valid but
   * incomplete sequence at the end is left for the next call.
   */
  update(view: Uint8Array, final: boolean): void {
    this.#previous = this.text.length;
    let out = "";
    let i = this.decoded;
    const n = view.length;
    while (i < n) {
      const b = view[i]!;
      if (b < 0x80) {
        // A run of ASCII at once.
        let j = i + 1;
        while (j < n && view[j]! < 0x80) j++;
        out += String.fromCharCode(...view.subarray(i, Math.min(j, i + 4096)));
        i = Math.min(j, i + 4096);
        continue;
      }
      const length = sequenceLength(b);
      if (length === 0) {
        out += String.fromCharCode(0xdc00 + b);
        i++;
        continue;
      }
      let k = 1;
      let ok = true;
      while (k < length) {
        if (i + k >= n) break;
        const c = view[i + k]!;
        if (k === 1 ? !validSecond(b, c) : c < 0x80 || c > 0xbf) {
          ok = false;
          break;
        }
        k++;
      }
      if (ok && k < length) {
        // Incomplete so far: wait for more, unless no more will come.
        if (!final) break;
        ok = false;
      }
      if (!ok) {
        out += String.fromCharCode(0xdc00 + b);
        i++;
        continue;
      }
      let cp = length === 2 ? b & 0x1f : length === 3 ? b & 0x0f : b & 0x07;
      for (let m = 1; m < length; m++) cp = (cp << 6) | (view[i + m]! & 0x3f);
      out += String.fromCodePoint(cp);
      i += length;
    }
    this.text += out;
    this.decoded = i;
  }

  /**
   * The first pattern, in list order, that matches the text, or `null`.
   * String searches resume where the previous update left off.
   */
  search(patterns: readonly TelnetPattern[]): PatternMatch | null {
    for (let index = 0; index < patterns.length; index++) {
      const pattern = patterns[index]!;
      if (typeof pattern === "string") {
        const from = Math.max(0, this.#previous - pattern.length + 1);
        const at = this.text.indexOf(pattern, from);
        if (at < 0) continue;
        const match = Object.assign([pattern], {
          index: at,
          input: this.text,
          groups: undefined,
        }) as unknown as RegExpExecArray;
        return { index, match, end: this.byteOffset(at + pattern.length) };
      }
      pattern.lastIndex = 0;
      const match = pattern.exec(this.text);
      if (match === null) continue;
      return { index, match, end: this.byteOffset(match.index + match[0].length) };
    }
    return null;
  }

  /** The byte offset of a position in `text`. */
  byteOffset(position: number): number {
    let bytes = 0;
    const text = this.text;
    for (let i = 0; i < position; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) bytes += 1;
      else if (c < 0x800) bytes += 2;
      else if (c >= 0xd800 && c <= 0xdbff) {
        // A surrogate pair: one 4-byte sequence.
        bytes += 4;
        i++;
      } else if (c >= 0xdc80 && c <= 0xdcff) bytes += 1; // an escaped byte
      else bytes += 3;
    }
    return bytes;
  }
}
