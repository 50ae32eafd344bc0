/**
 * A push parser for the chunked transfer coding (RFC 9112 §7.1): it is fed
 * bytes in any split, consumes framing (size lines, extensions, CRLFs,
 * trailers) and stops where data starts, so callers can take the data
 * without a copy and leave bytes after the last chunk unread.
 *
 * @module
 */
import type { HeaderField } from "../net/mime_header.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { headFields, type HeadLimits, newParse, parseFields, TCHAR } from "./_head_parser.ts";

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const SEMI = 59;
const EQ = 61;
const DQUOTE = 34;
const BACKSLASH = 92;

const SIZE = 0;
const DATA = 1;
const DATA_CR = 2;
const DATA_LF = 3;
const TRAILER = 4;
const DONE = 5;

/** Limits for the chunked parser. */
export interface ChunkedLimits {
  /** The most bytes in a chunk-size line with its extensions, CRLF excluded. */
  maxLineLength: number;
  /** The most bytes in the trailer section. */
  maxTrailerBytes: number;
  /** The most trailer fields. */
  maxTrailerFields: number;
  /** Whether a lone LF may end a line. */
  bareLf: boolean;
}

/** The defaults: 4 KiB lines, 16 KiB and 100 trailer fields, CRLF only. */
export const DEFAULT_CHUNKED_LIMITS: ChunkedLimits = {
  maxLineLength: 4096,
  maxTrailerBytes: 16384,
  maxTrailerFields: 100,
  bareLf: false,
};

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[65 + c] = 10 + c;
  HEX[97 + c] = 10 + c;
}

/** See the module documentation. */
export class ChunkedParser {
  #limits: ChunkedLimits;
  #state = SIZE;
  #remaining = 0;
  #line: Uint8Array | null = null;
  #lineLength = 0;
  #trailer: Uint8Array | null = null;
  #trailerLength = 0;
  #trailerLineLength = 0;
  #trailers: HeaderField[] = [];

  constructor(limits: ChunkedLimits = DEFAULT_CHUNKED_LIMITS) {
    this.#limits = limits;
  }

  /** Whether the last chunk and the trailers were read. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** Data bytes the caller should take now (0 unless inside a chunk). */
  get dataRemaining(): number {
    return this.#state === DATA ? this.#remaining : 0;
  }

  /** The trailer fields, once done. */
  get trailers(): HeaderField[] {
    return this.#trailers;
  }

  /** Marks `n` data bytes as taken by the caller. */
  consumeData(n: number): void {
    this.#remaining -= n;
    if (this.#remaining === 0) this.#state = DATA_CR;
  }

  /**
   * Consumes framing bytes from `buf[i..to)`. Returns the offset where it
   * stopped: at data (see `dataRemaining`), at the end (see `done`), or at
   * `to` when it needs more bytes.
   */
  advance(buf: Uint8Array, i: number, to: number): number {
    while (i < to) {
      switch (this.#state) {
        case SIZE: {
          const lf = buf.indexOf(LF, i);
          if (lf < 0 || lf >= to) {
            this.#appendLine(buf, i, to);
            return to;
          }
          if (this.#lineLength === 0) {
            this.#checkLength(lf - i);
            this.#sizeLine(buf, i, lf);
          } else {
            this.#appendLine(buf, i, lf);
            const line = this.#line!;
            const length = this.#lineLength;
            this.#lineLength = 0;
            this.#sizeLine(line, 0, length);
          }
          i = lf + 1;
          break;
        }
        case DATA:
          return i;
        case DATA_CR: {
          const b = buf[i]!;
          if (b === CR) {
            this.#state = DATA_LF;
            i++;
          } else if (b === LF && this.#limits.bareLf) {
            this.#state = SIZE;
            i++;
          } else {
            throw new ProtocolError("BAD_CHUNK", "Cannot read chunk: data is not followed by CRLF");
          }
          break;
        }
        case DATA_LF:
          if (buf[i] !== LF) {
            throw new ProtocolError("BAD_CHUNK", "Cannot read chunk: data is not followed by CRLF");
          }
          this.#state = SIZE;
          i++;
          break;
        case TRAILER:
          i = this.#trailerBytes(buf, i, to);
          break;
        default:
          return i;
      }
    }
    return i;
  }

  /** Throws unless the body ended properly; call at the end of the input. */
  finish(): void {
    if (this.#state !== DONE) {
      throw new ProtocolError(
        "UNEXPECTED_EOF",
        "Cannot read chunked body: stream ended before the last chunk",
      );
    }
  }

  #checkLength(length: number): void {
    if (length > this.#limits.maxLineLength + 1) {
      throw new ProtocolError(
        "LINE_TOO_LONG",
        `Cannot read chunk: size line exceeds ${this.#limits.maxLineLength} bytes`,
      );
    }
  }

  #appendLine(buf: Uint8Array, from: number, to: number): void {
    const length = this.#lineLength + to - from;
    this.#checkLength(length);
    this.#line ??= new Uint8Array(this.#limits.maxLineLength + 2);
    this.#line.set(buf.subarray(from, to), this.#lineLength);
    this.#lineLength = length;
  }

  /** Parses `chunk-size [chunk-ext]` in `buf[s..lf)` (lf is the LF's index). */
  #sizeLine(buf: Uint8Array, s: number, lf: number): void {
    let e = lf;
    if (e > s && buf[e - 1] === CR) e--;
    else if (!this.#limits.bareLf) {
      throw new ProtocolError("BARE_LF", "Cannot read chunk: size line ends in a bare LF");
    }
    let i = s;
    let size = 0;
    let h: number;
    while (i < e && (h = HEX[buf[i]!]!) >= 0) {
      size = size * 16 + h;
      if (size > Number.MAX_SAFE_INTEGER) {
        throw new ProtocolError("BAD_CHUNK", "Cannot read chunk: size overflows");
      }
      i++;
    }
    if (i === s) throw badChunk(buf, s, e);
    if (i < e) checkExtensions(buf, i, e);
    if (size === 0) {
      this.#state = TRAILER;
    } else {
      this.#state = DATA;
      this.#remaining = size;
    }
  }

  /** Collects trailer bytes up to and including the empty line. */
  #trailerBytes(buf: Uint8Array, i: number, to: number): number {
    // The common case: no trailers, the empty line right away.
    if (this.#trailerLength === 0 && buf[i] === CR && i + 1 < to && buf[i + 1] === LF) {
      this.#state = DONE;
      return i + 2;
    }
    if (this.#trailerLength === 0 && buf[i] === LF && this.#limits.bareLf) {
      this.#state = DONE;
      return i + 1;
    }
    const max = this.#limits.maxTrailerBytes;
    let trailer = this.#trailer ??= new Uint8Array(Math.min(max + 2, 1024));
    while (i < to) {
      const b = buf[i++]!;
      if (this.#trailerLength >= max + 2) {
        throw new ProtocolError(
          "HEADER_TOO_LARGE",
          `Cannot read chunked body: trailers exceed ${max} bytes`,
        );
      }
      if (this.#trailerLength === trailer.length) {
        const grown: Uint8Array = new Uint8Array(Math.min(max + 2, trailer.length * 2));
        grown.set(trailer);
        this.#trailer = trailer = grown;
      }
      trailer[this.#trailerLength++] = b;
      if (b === LF) {
        if (this.#trailerLineLength === 0) {
          this.#parseTrailers();
          this.#state = DONE;
          return i;
        }
        this.#trailerLineLength = 0;
      } else if (b !== CR) {
        this.#trailerLineLength++;
      }
    }
    return i;
  }

  #parseTrailers(): void {
    const limits: HeadLimits = {
      maxStartLine: 0,
      maxHeaderBytes: this.#limits.maxTrailerBytes,
      maxFields: this.#limits.maxTrailerFields,
      maxFieldLine: this.#limits.maxTrailerBytes,
      bareLf: this.#limits.bareLf,
      unfold: false,
    };
    const buf = this.#trailer!;
    const p = newParse(buf);
    const end = parseFields(buf, 0, this.#trailerLength, limits, p);
    p.end = end;
    if (end !== this.#trailerLength) {
      throw new ProtocolError("BAD_HEADER", "Cannot read chunked body: malformed trailers");
    }
    this.#trailers = headFields(p);
  }
}

/**
 * Checks `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )`
 * (RFC 9112 §7.1.1) in `buf[i..e)`.
 */
function checkExtensions(buf: Uint8Array, i: number, e: number): void {
  const s = i;
  while (i < e) {
    while (i < e && (buf[i] === SP || buf[i] === HT)) i++;
    if (i >= e || buf[i] !== SEMI) throw badChunk(buf, s, e);
    i++;
    while (i < e && (buf[i] === SP || buf[i] === HT)) i++;
    const name = i;
    while (i < e && TCHAR[buf[i]!] === 1) i++;
    if (i === name) throw badChunk(buf, s, e);
    let j = i;
    while (j < e && (buf[j] === SP || buf[j] === HT)) j++;
    if (j < e && buf[j] === EQ) {
      i = j + 1;
      while (i < e && (buf[i] === SP || buf[i] === HT)) i++;
      if (i < e && buf[i] === DQUOTE) {
        i++;
        for (;;) {
          if (i >= e) throw badChunk(buf, s, e);
          const b = buf[i]!;
          if (b === DQUOTE) {
            i++;
            break;
          }
          if (b === BACKSLASH) {
            i++;
            if (i >= e || !qdChar(buf[i]!, true)) throw badChunk(buf, s, e);
          } else if (!qdChar(b, false)) throw badChunk(buf, s, e);
          i++;
        }
      } else {
        const value = i;
        while (i < e && TCHAR[buf[i]!] === 1) i++;
        if (i === value) throw badChunk(buf, s, e);
      }
    }
    // Anything else after an extension must be another ";".
    if (i < e && buf[i] !== SEMI) {
      let k = i;
      while (k < e && (buf[k] === SP || buf[k] === HT)) k++;
      if (k >= e || buf[k] !== SEMI) throw badChunk(buf, s, e);
    }
  }
}

function qdChar(b: number, escaped: boolean): boolean {
  if (b === HT || b === SP || b >= 0x80) return true;
  if (b < 0x21 || b === 0x7f) return false;
  return escaped || (b !== DQUOTE && b !== BACKSLASH);
}

function badChunk(buf: Uint8Array, s: number, e: number): ProtocolError {
  const shown = JSON.stringify(
    String.fromCharCode.apply(null, buf.subarray(s, Math.min(e, s + 40)) as unknown as number[]),
  );
  return new ProtocolError("BAD_CHUNK", `Cannot read chunk: malformed size line ${shown}`);
}
