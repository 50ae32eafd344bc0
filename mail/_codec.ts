/**
 * Incremental transfer-encoding codecs (RFC 2045 §6.7 quoted-printable and
 * §6.8 base64), shared by the public stream classes and the message parser
 * and builder. Each has `push(chunk)` returning output bytes and `flush()`
 * for the end.
 *
 * @module
 */
import { concatBytes } from "../net/_bytes.ts";

const latin1 = new TextDecoder("latin1");
const ascii = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** One incremental codec. */
export interface Codec {
  /** Takes the next input bytes; returns the output they complete (possibly empty). */
  push(chunk: Uint8Array): Uint8Array;
  /** Ends the input; returns the last output. */
  flush(): Uint8Array;
}

/**
 * The most bytes a decoder holds back between chunks (a `=` escape and the
 * white space before a line end in quoted-printable, an incomplete base64
 * group): a decoder's output for a chunk is at most `chunk.length + DECODER_SLACK`.
 */
export const DECODER_SLACK = 1024 + 8;

/** A decoder that can also write straight into a caller's buffer. */
export interface Decoder extends Codec {
  /** Like `push`, writing into `dest` (at least `chunk.length + DECODER_SLACK` long); returns the count. */
  pushInto(chunk: Uint8Array, dest: Uint8Array): number;
  /** Like `flush`, writing into `dest` (at least `DECODER_SLACK` long); returns the count. */
  flushInto(dest: Uint8Array): number;
}

/** Passes bytes through (7bit, 8bit, binary and unknown encodings). */
export class IdentityCodec implements Decoder {
  push(chunk: Uint8Array): Uint8Array {
    return chunk;
  }
  flush(): Uint8Array {
    return EMPTY;
  }
  pushInto(chunk: Uint8Array, dest: Uint8Array): number {
    dest.set(chunk);
    return chunk.length;
  }
  flushInto(): number {
    return 0;
  }
}

const B64_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) {
  B64_VALUE["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;
}

/**
 * A lenient base64 decoder: line breaks and other characters outside the
 * alphabet are skipped, padding may be missing, and a padded group may be
 * followed by more data (concatenated encodings), as mail readers must
 * accept. The common, clean case runs through the platform's decoder.
 */
export class Base64Decoder implements Decoder {
  /** Undecoded alphabet characters, fewer than four. */
  #carry = "";

  push(chunk: Uint8Array): Uint8Array {
    if (chunk.length === 0) return EMPTY;
    const out = new Uint8Array(((chunk.length + this.#carry.length) >> 2) * 3 + 3);
    return out.subarray(0, this.pushInto(chunk, out));
  }

  pushInto(chunk: Uint8Array, dest: Uint8Array): number {
    if (chunk.length === 0) return 0;
    let s = latin1.decode(chunk);
    if (this.#carry !== "") s = this.#carry + s;
    try {
      const { read, written } = dest.setFromBase64(s, { lastChunkHandling: "stop-before-partial" });
      this.#carry = read === s.length ? "" : s.slice(read).replace(/[^A-Za-z0-9+/=]+/g, "");
      if (this.#carry.length < 4) return written;
      const rest = this.#slow("");
      dest.set(rest, written);
      return written + rest.length;
    } catch {
      this.#carry = "";
      const out = this.#slow(s);
      dest.set(out);
      return out.length;
    }
  }

  flushInto(dest: Uint8Array): number {
    const out = this.flush();
    dest.set(out);
    return out.length;
  }

  /** Decodes `carry + s` quad by quad, skipping what is not base64. */
  #slow(s: string): Uint8Array {
    const text = this.#carry + s;
    const out = new Uint8Array((text.length >> 2) * 3 + 3);
    let o = 0;
    let acc = 0;
    let n = 0;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 61) {
        // Padding ends a group early; what follows starts afresh.
        if (n === 2) out[o++] = acc >> 4;
        else if (n === 3) {
          out[o++] = acc >> 10;
          out[o++] = (acc >> 2) & 255;
        }
        acc = n = 0;
        start = i + 1;
        continue;
      }
      const v = c < 256 ? B64_VALUE[c]! : -1;
      if (v < 0) continue;
      if (n === 0) start = i;
      acc = (acc << 6) | v;
      if (++n === 4) {
        out[o++] = acc >> 16;
        out[o++] = (acc >> 8) & 255;
        out[o++] = acc & 255;
        acc = n = 0;
      }
    }
    this.#carry = n === 0 ? "" : text.slice(start).replace(/[^A-Za-z0-9+/]+/g, "");
    return out.subarray(0, o);
  }

  flush(): Uint8Array {
    const rest = this.#carry;
    this.#carry = "";
    if (rest.length < 2) return EMPTY;
    const out = new Uint8Array(3);
    let acc = 0;
    for (let i = 0; i < rest.length; i++) acc = (acc << 6) | B64_VALUE[rest.charCodeAt(i)]!;
    if (rest.length === 2) {
      out[0] = acc >> 4;
      return out.subarray(0, 1);
    }
    out[0] = acc >> 10;
    out[1] = (acc >> 2) & 255;
    return out.subarray(0, 2);
  }
}

/** Bytes of input per 76-character line of base64. */
const B64_LINE_BYTES = 57;

/** A base64 encoder writing 76-character lines, each ended by CRLF (RFC 2045 §6.8). */
export class Base64Encoder implements Codec {
  #carry: Uint8Array = EMPTY;

  push(chunk: Uint8Array): Uint8Array {
    const data = this.#carry.length === 0 ? chunk : concatBytes([this.#carry, chunk]);
    const lines = Math.floor(data.length / B64_LINE_BYTES);
    const full = lines * B64_LINE_BYTES;
    this.#carry = data.slice(full);
    if (lines === 0) return EMPTY;
    const encoded = ascii.encode(data.subarray(0, full).toBase64());
    const out = new Uint8Array(lines * 78);
    for (let l = 0; l < lines; l++) {
      const o = l * 78;
      out.set(encoded.subarray(l * 76, l * 76 + 76), o);
      out[o + 76] = 13;
      out[o + 77] = 10;
    }
    return out;
  }

  flush(): Uint8Array {
    if (this.#carry.length === 0) return EMPTY;
    const out = ascii.encode(this.#carry.toBase64() + "\r\n");
    this.#carry = EMPTY;
    return out;
  }
}

const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE["0123456789ABCDEF".charCodeAt(i)] = i;
  HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
}
/** The most white space held back while waiting to see whether a line ends after it. */
const MAX_PENDING_WHITESPACE = 1000;

/**
 * A quoted-printable decoder: `=XX` escapes, soft line breaks (`=` at the end
 * of a line, with or without white space after it), and white space at the
 * end of a line dropped, as RFC 2045 §6.7 asks. A `=` that starts no valid
 * escape is kept as it is. Line ends pass through unchanged.
 */
export class QuotedPrintableDecoder implements Decoder {
  #carry: Uint8Array = EMPTY;

  push(chunk: Uint8Array): Uint8Array {
    const out = new Uint8Array(chunk.length + this.#carry.length);
    return out.subarray(0, this.#run(chunk, false, out));
  }

  flush(): Uint8Array {
    const out = new Uint8Array(this.#carry.length);
    return out.subarray(0, this.#run(EMPTY, true, out));
  }

  pushInto(chunk: Uint8Array, dest: Uint8Array): number {
    return this.#run(chunk, false, dest);
  }

  flushInto(dest: Uint8Array): number {
    return this.#run(EMPTY, true, dest);
  }

  /** Decodes `carry + chunk` into `out` (at least that long); returns the count. */
  #run(chunk: Uint8Array, final: boolean, out: Uint8Array): number {
    const data = this.#carry.length === 0 ? chunk : concatBytes([this.#carry, chunk]);
    this.#carry = EMPTY;
    const n = data.length;
    let o = 0;
    let i = 0;
    while (i < n) {
      // Copy the plain run up to the next "=" or white space.
      let j = i;
      while (j < n) {
        const c = data[j]!;
        if (c === 61 || c === 32 || c === 9) break;
        j++;
      }
      if (j > i) {
        out.set(data.subarray(i, j), o);
        o += j - i;
        i = j;
        if (i >= n) break;
      }
      const c = data[i]!;
      if (c === 61) {
        if (i + 2 < n || final) {
          const h1 = i + 1 < n ? HEX_VALUE[data[i + 1]!]! : -1;
          const h2 = i + 2 < n ? HEX_VALUE[data[i + 2]!]! : -1;
          if (h1 >= 0 && h2 >= 0) {
            out[o++] = (h1 << 4) | h2;
            i += 3;
            continue;
          }
        }
        // A soft line break: "=", optional white space, then CRLF or LF.
        let k = i + 1;
        while (k < n && (data[k] === 32 || data[k] === 9) && k - i <= MAX_PENDING_WHITESPACE) k++;
        if (k >= n) {
          if (final) {
            i = n; // "=" (and white space) at the very end: a soft break
            break;
          }
          if (k - i <= MAX_PENDING_WHITESPACE) {
            this.#carry = data.slice(i);
            break;
          }
        }
        if (data[k] === 10) {
          i = k + 1;
          continue;
        }
        if (data[k] === 13) {
          if (k + 1 >= n && !final) {
            this.#carry = data.slice(i);
            break;
          }
          if (data[k + 1] === 10) {
            i = k + 2;
            continue;
          }
        }
        if (i + 2 >= n && !final) {
          this.#carry = data.slice(i);
          break;
        }
        out[o++] = 61;
        i++;
        continue;
      }
      // White space: dropped when the line ends right after it.
      let k = i;
      while (k < n && (data[k] === 32 || data[k] === 9)) k++;
      const pending = k - i;
      if (k >= n) {
        if (final) {
          i = n;
          break;
        }
        if (pending <= MAX_PENDING_WHITESPACE) {
          this.#carry = data.slice(i);
          break;
        }
      } else if (data[k] === 10 || (data[k] === 13 && data[k + 1] === 10)) {
        i = k;
        continue;
      } else if (data[k] === 13 && k + 1 >= n && !final) {
        this.#carry = data.slice(i);
        break;
      }
      out.set(data.subarray(i, k), o);
      o += pending;
      i = k;
    }
    return o;
  }
}

const HEX_UPPER = ascii.encode("0123456789ABCDEF");
/** Encoded characters per line before a soft break ("=" makes 76). */
const QP_LINE = 75;

/**
 * A quoted-printable encoder for text: line breaks (CRLF, LF or a lone CR)
 * become CRLF, lines are soft-broken at 76 characters, white space before a
 * line end is escaped, and every byte outside printable ASCII (and `=`) is
 * escaped.
 */
export class QuotedPrintableEncoder implements Codec {
  #line = 0;
  #pendingSpace = -1;
  #afterCr = false;

  push(chunk: Uint8Array): Uint8Array {
    // At most 3 bytes per input byte, plus a soft break every 25 of those.
    const out = new Uint8Array(chunk.length * 3 + Math.ceil(chunk.length / 25) * 3 + 8);
    let o = 0;
    const put = (a: number, b = -1, c = -1): void => {
      const len = b < 0 ? 1 : 3;
      if (this.#line + len > QP_LINE) {
        out[o++] = 61;
        out[o++] = 13;
        out[o++] = 10;
        this.#line = 0;
      }
      out[o++] = a;
      if (b >= 0) {
        out[o++] = b;
        out[o++] = c;
      }
      this.#line += len;
    };
    const escape = (byte: number): void => put(61, HEX_UPPER[byte >> 4]!, HEX_UPPER[byte & 15]!);
    const lineBreak = (): void => {
      if (this.#pendingSpace >= 0) {
        escape(this.#pendingSpace);
        this.#pendingSpace = -1;
      }
      out[o++] = 13;
      out[o++] = 10;
      this.#line = 0;
    };
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.#afterCr) {
        this.#afterCr = false;
        if (c === 10) continue;
      }
      if (c === 13) {
        lineBreak();
        this.#afterCr = true;
        continue;
      }
      if (c === 10) {
        lineBreak();
        continue;
      }
      if (this.#pendingSpace >= 0) {
        put(this.#pendingSpace);
        this.#pendingSpace = -1;
      }
      if (c === 32 || c === 9) this.#pendingSpace = c;
      else if (c >= 33 && c <= 126 && c !== 61) put(c);
      else escape(c);
    }
    return out.subarray(0, o);
  }

  flush(): Uint8Array {
    if (this.#pendingSpace < 0) return EMPTY;
    const byte = this.#pendingSpace;
    this.#pendingSpace = -1;
    const esc = [61, HEX_UPPER[byte >> 4]!, HEX_UPPER[byte & 15]!];
    if (this.#line + 3 > QP_LINE) return new Uint8Array([61, 13, 10, ...esc]);
    return new Uint8Array(esc);
  }
}

/** The codec that decodes a Content-Transfer-Encoding (identity for 7bit, 8bit, binary and unknown ones). */
export function decoderForEncoding(encoding: string): Decoder {
  switch (encoding.trim().toLowerCase()) {
    case "base64":
      return new Base64Decoder();
    case "quoted-printable":
      return new QuotedPrintableDecoder();
    default:
      return new IdentityCodec();
  }
}
