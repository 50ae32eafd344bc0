/**
 * Reading the data block of an NNTP multi-line response (RFC 3977 §3.1.1)
 * as text lines, in batches parsed in place from the reader's buffer: a
 * line that starts with a dot loses it, the `.` line ends the block. Lines
 * are bounded in length; the block as a whole is bounded only when the
 * caller asks (it is streamed, never held whole).
 *
 * @module
 */
import type { BufferedReader } from "../net/buffered_reader.ts";
import { ProtocolError } from "../net/protocol_error.ts";

const LF = 10;
const CR = 13;
const DOT = 46;
const BATCH = 512;
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Limits for {@linkcode NntpBlockReader}. */
export interface NntpBlockLimits {
  /** The longest line in bytes, without its end. */
  maxLineLength: number;
  /** The most lines in the block. */
  maxLines: number;
}

/**
 * The lines of one dot-terminated block. {@linkcode NntpBlockReader.next}
 * returns the complete lines already buffered (at least one), or `null`
 * after the `.` line; the reader is then just past it.
 */
export class NntpBlockReader {
  #reader: BufferedReader;
  #maxLine: number;
  #maxLines: number;
  #count = 0;
  #done = false;

  constructor(reader: BufferedReader, limits: NntpBlockLimits) {
    this.#reader = reader;
    this.#maxLine = limits.maxLineLength;
    this.#maxLines = limits.maxLines;
  }

  /** Whether the `.` line was read. */
  get done(): boolean {
    return this.#done;
  }

  /** Lines read so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * The next lines, decoded as UTF-8 (bad bytes become U+FFFD): the
   * complete lines already buffered, decoded in one go.
   *
   * @throws {ProtocolError} `"LINE_TOO_LONG"`, `"REPLY_TOO_LARGE"` past
   *   `maxLines`, `"UNEXPECTED_EOF"` when the stream ends before the `.`.
   */
  async next(): Promise<string[] | null> {
    if (this.#done) return null;
    const reader = this.#reader;
    for (;;) {
      const buf = reader.peekBuffered();
      const { count, end, terminator, plain } = this.#scan(buf);
      if (count > 0 || terminator >= 0) {
        let lines: string[] = [];
        if (count > 0) {
          const text = decoder.decode(buf.subarray(0, end));
          // Every line ends in CR LF and none starts with a dot: one split does it all.
          lines = plain ? text.split("\r\n") : text.split("\n");
          lines.pop();
          if (!plain) {
            for (let i = 0; i < lines.length; i++) {
              let line = lines[i]!;
              if (line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
              if (line.charCodeAt(0) === DOT) line = line.slice(1);
              lines[i] = line;
            }
          }
        }
        reader.consume(terminator >= 0 ? terminator : end);
        if (terminator >= 0) this.#done = true;
        return lines.length === 0 ? null : lines;
      }
      await this.#fill(buf.length);
    }
  }

  /**
   * Reads and discards the rest of the block, at most `limit` more bytes.
   *
   * @returns Whether the `.` line was reached.
   */
  async drain(limit: number): Promise<boolean> {
    let left = limit;
    const reader = this.#reader;
    while (!this.#done) {
      if (left < 0) return false;
      const buf = reader.peekBuffered();
      const { count, end, terminator } = this.#scan(buf);
      if (count > 0 || terminator >= 0) {
        left -= end;
        reader.consume(terminator >= 0 ? terminator : end);
        if (terminator >= 0) this.#done = true;
        continue;
      }
      await this.#fill(buf.length);
    }
    return true;
  }

  /**
   * Finds the complete lines at the start of `buf` (at most a batch):
   * how many, where they end, and where the `.` line ends if it is among
   * them (-1 otherwise), and whether every line ends in CR LF and none
   * starts with a dot (`plain`). Checks the line length and count limits.
   */
  #scan(buf: Uint8Array): { count: number; end: number; terminator: number; plain: boolean } {
    const max = this.#maxLine;
    let start = 0;
    let count = 0;
    let plain = true;
    while (count < BATCH) {
      const lf = buf.indexOf(LF, start);
      if (lf < 0) break;
      let end = lf;
      if (end > start && buf[end - 1] === CR) end--;
      else plain = false;
      if (end - start > max) throw lineTooLong(max);
      if (buf[start] === DOT) {
        if (end - start === 1) return { count, end: start, terminator: lf + 1, plain };
        plain = false;
      }
      if (++this.#count > this.#maxLines) {
        throw new ProtocolError(
          "REPLY_TOO_LARGE",
          `Cannot read response: more than ${this.#maxLines} lines`,
        );
      }
      count++;
      start = lf + 1;
    }
    return { count, end: start, terminator: -1, plain };
  }

  /** Waits for more bytes when no complete line is buffered. */
  async #fill(buffered: number): Promise<void> {
    const max = this.#maxLine;
    // One more byte is allowed past the limit: it may be the CR of CR LF.
    if (buffered > max + 1) throw lineTooLong(max);
    if (!(await this.#reader.fill(max + 2))) {
      throw new ProtocolError(
        "UNEXPECTED_EOF",
        "Cannot read response: the connection closed before the terminating dot line",
      );
    }
  }
}

function lineTooLong(max: number): ProtocolError {
  return new ProtocolError("LINE_TOO_LONG", `Cannot read response: line exceeds ${max} bytes`);
}
