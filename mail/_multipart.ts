/**
 * Splits a multipart body (RFC 2046 §5.1.1) into its parts as a stream:
 * the body is scanned for delimiter lines in a fixed buffer, and each part
 * is handed out as a byte source that ends at the next delimiter. Nothing
 * is held beyond one buffer and the bounded preamble and epilogue.
 *
 * @module
 */
import type { ByteReader } from "../net/buffered_reader.ts";
import { copyBytes } from "../net/_bytes.ts";

const LF = 10;
const CR = 13;
const DASH = 45;
/** The most white space accepted after a boundary (transport padding). */
const MAX_PADDING = 256;
const BUFFER_SIZE = 65536;

interface Found {
  /** Where the part's content ends (before the CRLF that belongs to the delimiter). */
  contentEnd: number;
  /** Where the delimiter line ends (after its line end). */
  lineEnd: number;
  /** Whether it is the close delimiter (`--boundary--`). */
  close: boolean;
}

/** What a line check decided. */
const NO = 0;
const MORE = 1;

/** One part's bytes; reading it after the splitter moved on throws. */
export interface PartSource extends ByteReader {
  read(p: Uint8Array): Promise<number | null>;
}

/** A streaming multipart splitter over a byte source. */
export class MultipartSplitter {
  #source: ByteReader;
  #delimiter: Uint8Array;
  #buf = new Uint8Array(BUFFER_SIZE);
  #start = 0;
  #end = 0;
  #eof = false;
  /** Whether `#start` is at the start of a line. */
  #lineStart = true;
  /** Bytes before this index (from `#start`) are known to be content. */
  #safe = 0;
  #found: Found | null = null;
  #generation = 0;
  /** "preamble", "part", "between" (a part ended at a delimiter), "epilogue", "done". */
  #state: "preamble" | "part" | "between" | "epilogue" | "done" = "preamble";
  #maxKeep: number;
  /** Defect codes met so far. */
  readonly defects: string[] = [];
  /** The preamble (up to the keep limit), once the first part is reached. */
  preamble: Uint8Array | null = null;
  /** The epilogue (up to the keep limit), once the end is reached. */
  epilogue: Uint8Array | null = null;

  constructor(source: ByteReader, boundary: string, maxKeep: number) {
    this.#source = source;
    this.#delimiter = new TextEncoder().encode("--" + boundary);
    this.#maxKeep = maxKeep;
  }

  /** Whether the close delimiter (or the end of the body) was reached. */
  get done(): boolean {
    return this.#state === "done" || this.#state === "epilogue";
  }

  /**
   * Moves to the next part, draining whatever is left of the current one,
   * and returns its source, or `null` after the last part (the epilogue is
   * then read).
   */
  async next(): Promise<PartSource | null> {
    if (this.#state === "preamble") {
      this.preamble = await this.#collect("PREAMBLE_TOO_LARGE");
      if (this.#state === "preamble") {
        // The body ended without any delimiter.
        this.#state = "done";
        this.defects.push("NO_PARTS");
        return null;
      }
    } else if (this.#state === "part") {
      await this.#drain();
    }
    if (this.#state === "epilogue") {
      this.epilogue = await this.#collect("EPILOGUE_TOO_LARGE");
      this.#state = "done";
      return null;
    }
    if (this.#state === "done") return null;
    this.#state = "part";
    const generation = ++this.#generation;
    return {
      read: (p: Uint8Array): Promise<number | null> => {
        if (generation !== this.#generation || this.#state !== "part") {
          if (generation === this.#generation) return Promise.resolve(null);
          return Promise.reject(new TypeError("Cannot read part: the parser moved past it"));
        }
        return this.#read(p);
      },
    };
  }

  async #drain(): Promise<void> {
    const scratch = new Uint8Array(BUFFER_SIZE);
    while (this.#state === "part") await this.#read(scratch);
  }

  /** Reads the preamble or epilogue, keeping up to the limit. */
  async #collect(largeDefect: string): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let kept = 0;
    let dropped = false;
    const scratch = new Uint8Array(BUFFER_SIZE);
    const state = this.#state;
    for (;;) {
      const n = state === "epilogue" ? await this.#readRaw(scratch) : await this.#read(scratch);
      if (n === null) break;
      const room = this.#maxKeep - kept;
      if (n > room) dropped = true;
      const take = Math.min(n, room);
      if (take > 0) {
        chunks.push(scratch.slice(0, take));
        kept += take;
      }
    }
    if (dropped) this.defects.push(largeDefect);
    return copyBytes(chunks, kept);
  }

  /** Reads the rest of the source (the epilogue) without looking for delimiters. */
  async #readRaw(p: Uint8Array): Promise<number | null> {
    if (this.#start < this.#end) {
      const n = Math.min(p.length, this.#end - this.#start);
      p.set(this.#buf.subarray(this.#start, this.#start + n));
      this.#start += n;
      return n;
    }
    if (this.#eof) return null;
    const n = await this.#source.read(p);
    if (n === null) this.#eof = true;
    return n;
  }

  /**
   * Reads content of the current part (or the preamble) into `p`; at its
   * delimiter, consumes the delimiter line and returns `null`.
   */
  async #read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#start < this.#safe) return this.#copy(p, this.#safe);
      if (this.#found === null) this.#scan();
      const found = this.#found;
      if (found !== null) {
        if (this.#start < found.contentEnd) return this.#copy(p, found.contentEnd);
        this.#start = found.lineEnd;
        this.#safe = this.#start;
        this.#lineStart = true;
        this.#found = null;
        this.#state = found.close ? "epilogue" : "between";
        return null;
      }
      if (this.#start < this.#safe) continue;
      if (this.#eof) {
        // The body ended inside a part: no close delimiter.
        if (this.#state === "part") this.defects.push("MISSING_CLOSE_DELIMITER");
        this.#state = this.#state === "part" ? "done" : this.#state;
        return null;
      }
      await this.#fill();
    }
  }

  #copy(p: Uint8Array, limit: number): number {
    const n = Math.min(p.length, limit - this.#start);
    p.set(this.#buf.subarray(this.#start, this.#start + n));
    this.#start += n;
    this.#lineStart = this.#buf[this.#start - 1] === LF;
    return n;
  }

  async #fill(): Promise<void> {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#safe -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) {
      // Only a delimiter line in doubt is kept, so this is rare; grow once.
      const grown = new Uint8Array(this.#buf.length * 2);
      grown.set(this.#buf);
      this.#buf = grown;
    }
    const n = await this.#source.read(this.#buf.subarray(this.#end));
    if (n === null) this.#eof = true;
    else this.#end += n;
  }

  /**
   * Looks for a delimiter line from `#start`. Sets `#found`, or advances
   * `#safe` over content that cannot be part of one.
   */
  #scan(): void {
    const buf = this.#buf;
    const end = this.#end;
    const start = this.#start;
    let candidate = this.#lineStart ? start : -1;
    let from = start;
    for (;;) {
      if (candidate < 0) {
        const lf = buf.subarray(from, end).indexOf(LF);
        if (lf < 0) break;
        candidate = from + lf + 1;
      }
      const result = this.#check(candidate);
      if (typeof result === "object") {
        this.#found = result;
        return;
      }
      if (result === MORE) {
        this.#safe = this.#contentEnd(candidate);
        return;
      }
      from = candidate;
      candidate = -1;
    }
    // No line start left to check: everything is content, but a CR at the
    // very end may begin the CRLF of a delimiter.
    this.#safe = this.#eof ? end : end > start && buf[end - 1] === CR ? end - 1 : end;
  }

  /** Where content ends if a delimiter line starts at `line`. */
  #contentEnd(line: number): number {
    if (line === this.#start && this.#lineStart) return line;
    let e = line - 1; // the LF
    if (e - 1 >= this.#start && this.#buf[e - 1] === CR) e--;
    return Math.max(e, this.#start);
  }

  /** Decides whether a delimiter line starts at `line`. */
  #check(line: number): Found | 0 | 1 {
    const buf = this.#buf;
    const end = this.#end;
    const d = this.#delimiter;
    let i = line;
    for (let k = 0; k < d.length; k++, i++) {
      if (i >= end) return this.#eof ? NO : MORE;
      if (buf[i] !== d[k]) return NO;
    }
    let close = false;
    if (i < end && buf[i] === DASH) {
      if (i + 1 >= end) return this.#eof ? NO : MORE;
      if (buf[i + 1] !== DASH) return NO;
      close = true;
      i += 2;
    }
    const padStart = i;
    while (i < end && (buf[i] === 32 || buf[i] === 9)) {
      if (i - padStart > MAX_PADDING) return NO;
      i++;
    }
    if (i >= end) {
      if (!this.#eof) return MORE;
      return { contentEnd: this.#contentEnd(line), lineEnd: i, close };
    }
    if (buf[i] === LF) return { contentEnd: this.#contentEnd(line), lineEnd: i + 1, close };
    if (buf[i] === CR) {
      if (i + 1 >= end) {
        if (!this.#eof) return MORE;
        return { contentEnd: this.#contentEnd(line), lineEnd: i + 1, close };
      }
      if (buf[i + 1] === LF) return { contentEnd: this.#contentEnd(line), lineEnd: i + 2, close };
    }
    return NO;
  }
}
