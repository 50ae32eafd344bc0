import type { BufferedReader } from "./buffered_reader.ts";
import { type ChunkSource, chunkSourceStream } from "./chunk_source.ts";
import { ProtocolError } from "./protocol_error.ts";

const CR = 13;
const LF = 10;
const DOT = 46;
const TERMINATOR = new Uint8Array([DOT, CR, LF]);
const CRLF_TERMINATOR = new Uint8Array([CR, LF, DOT, CR, LF]);

/** Options for {@linkcode DotStuffingEncoderStream}. */
export interface DotStuffingEncoderOptions {
  /**
   * Whether to end the output with the `.` CR LF line that closes SMTP DATA,
   * POP3 and NNTP multi-line blocks.
   *
   * @default {true}
   */
  terminate?: boolean;
}

/**
 * Encodes a message body for SMTP DATA, NNTP POST and POP3/NNTP multi-line
 * responses (RFC 5321 §4.5.2): every line end (CR LF, bare CR, bare LF)
 * becomes CR LF, every line that starts with a dot gets a second one (the
 * first line too), and the output ends with exactly CR LF `.` CR LF, so no
 * body can end the block early.
 *
 * @example Stuffing a body with a dot line and bare LFs
 * ```ts
 * import { DotStuffingEncoderStream } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const body = new TextEncoder().encode(".hidden\n.\nlast");
 * const out = ReadableStream.from([body]).pipeThrough(new DotStuffingEncoderStream());
 * assertEquals(await new Response(out).text(), "..hidden\r\n..\r\nlast\r\n.\r\n");
 * ```
 */
export class DotStuffingEncoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Creates the encoder.
   *
   * @param options Whether to append the terminating line.
   */
  constructor(options?: DotStuffingEncoderOptions) {
    options ??= {};
    const terminate = options.terminate ?? true;
    let atLineStart = true;
    let pendingCr = false;
    super({
      transform(chunk, controller) {
        // Worst case every byte doubles (a dot at each line start, or a
        // bare CR/LF becoming CR LF).
        const out = new Uint8Array(chunk.length * 2 + 2);
        let o = 0;
        for (let i = 0; i < chunk.length; i++) {
          const b = chunk[i]!;
          if (pendingCr) {
            pendingCr = false;
            out[o++] = CR;
            out[o++] = LF;
            atLineStart = true;
            if (b === LF) continue;
          }
          if (b === CR) {
            pendingCr = true;
            continue;
          }
          if (b === LF) {
            out[o++] = CR;
            out[o++] = LF;
            atLineStart = true;
            continue;
          }
          if (atLineStart && b === DOT) out[o++] = DOT;
          atLineStart = false;
          out[o++] = b;
        }
        if (o > 0) controller.enqueue(out.subarray(0, o));
      },
      flush(controller) {
        if (pendingCr) {
          controller.enqueue(new Uint8Array([CR, LF]));
          atLineStart = true;
        }
        if (!terminate) return;
        controller.enqueue(atLineStart ? TERMINATOR.slice() : CRLF_TERMINATOR.slice());
      },
    });
  }
}

/** Options for reading a dot-terminated block. */
export interface ReadDotStuffedOptions {
  /**
   * The longest line in bytes.
   *
   * @default {65536}
   */
  maxLineLength?: number;
  /**
   * The most bytes in the whole block; more errors the stream with
   * `"BODY_TOO_LARGE"`.
   *
   * @default {Infinity}
   */
  maxSize?: number;
  /**
   * `"crlf"`: only CR LF ends a line, so only CR LF `.` CR LF ends the block
   * and a bare LF is content (what a server must do against SMTP smuggling).
   * `"any"`: LF ends a line too (lenient clients).
   *
   * @default {"any"}
   */
  lineEnding?: "crlf" | "any";
  /**
   * With {@linkcode readDotStuffed}: the most bytes a cancel drains to stay
   * in step with the connection.
   *
   * @default {65536}
   */
  drainLimit?: number;
}

const CRLF_BYTES = new Uint8Array([CR, LF]);

/**
 * A dot-terminated block (the SMTP DATA content on a server, a POP3 RETR or
 * NNTP ARTICLE response on a client) read from a buffered reader as pieces
 * of unstuffed bytes with CR LF line ends: a {@linkcode ChunkSource}, so a
 * `TextConn` lease can stream it and, on cancel, drain what is left
 * (Go's `closeDot`). After the last piece the reader is positioned just
 * after the `.` line, ready for the next reply. Lines are pulled only as
 * pieces are asked for.
 *
 * @example Draining the rest of an article
 * ```ts
 * import { BufferedReader, DotStuffedReader } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = "line one\r\nline two\r\n.\r\n223 next\r\n";
 * const reader = new BufferedReader(ReadableStream.from([new TextEncoder().encode(wire)]));
 * const block = new DotStuffedReader(reader);
 * assertEquals(await block.drain(1024), true);
 * assertEquals(await reader.readLine(), "223 next");
 * ```
 */
export class DotStuffedReader implements ChunkSource {
  #reader: BufferedReader;
  #maxLineLength: number;
  #maxSize: number;
  #strict: boolean;
  #size = 0;
  #done = false;

  /**
   * Starts reading a block.
   *
   * @param reader The reader positioned at the first line of the block.
   * @param options The line and size limits and the accepted line end.
   */
  constructor(reader: BufferedReader, options?: ReadDotStuffedOptions) {
    options ??= {};
    this.#reader = reader;
    this.#maxLineLength = options.maxLineLength ?? 65536;
    this.#maxSize = options.maxSize ?? Infinity;
    this.#strict = options.lineEnding === "crlf";
  }

  /** Whether the `.` line has been read. */
  get done(): boolean {
    return this.#done;
  }

  /** Unstuffed bytes of the block so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Reads the next piece: whole lines, about 16 KiB at a time.
   *
   * @returns The lines with CR LF ends, or `null` after the `.` line.
   * @throws {ProtocolError} `"LINE_TOO_LONG"`, `"BODY_TOO_LARGE"`, or
   *   `"UNEXPECTED_EOF"` when the source ends before the dot line.
   */
  async read(): Promise<Uint8Array | null> {
    if (this.#done) return null;
    // Pieces of the output, line ends included.
    const pieces: Uint8Array[] = [];
    let length = 0;
    while (length < 16384) {
      // Lines already buffered are taken without a read each; only a line
      // not buffered whole goes through the line reader (and its errors).
      length += this.#takeBuffered(pieces, 16384 - length);
      if (this.#done) return length > 0 ? joinPieces(pieces, length) : null;
      if (length >= 16384) break;
      const line = await this.#line();
      if (line === null) {
        this.#done = true;
        return length > 0 ? joinPieces(pieces, length) : null;
      }
      pieces.push(line, CRLF_BYTES);
      length += line.length + 2;
    }
    return joinPieces(pieces, length);
  }

  /**
   * Moves the complete lines that are already buffered (and within the
   * line limit) into `pieces`, unstuffed, as the line reader would, up to
   * about `room` bytes; stops after the dot line. Runs of lines that need
   * no change are copied as they are.
   *
   * @returns The bytes added.
   */
  #takeBuffered(pieces: Uint8Array[], room: number): number {
    const reader = this.#reader;
    const buf = reader.peekBuffered();
    const max = this.#maxLineLength;
    const strict = this.#strict;
    let start = 0;
    let run = 0;
    let added = 0;
    try {
      while (added < room) {
        let lf = buf.indexOf(LF, start);
        // In crlf mode a bare LF is content: the line goes on to CR LF.
        if (strict) {
          while (lf >= 0 && (lf === start || buf[lf - 1] !== CR)) lf = buf.indexOf(LF, lf + 1);
        }
        if (lf < 0) break;
        const crlf = lf > start && buf[lf - 1] === CR;
        const end = crlf ? lf - 1 : lf;
        // An over-long line is left to the line reader, which reports it.
        if (end - start > max) break;
        if (end - start === 1 && buf[start] === DOT) {
          if (start > run) pieces.push(buf.slice(run, start));
          start = run = lf + 1;
          this.#done = true;
          break;
        }
        const dotted = buf[start] === DOT;
        const from = dotted ? start + 1 : start;
        this.#size += end - from + 2;
        if (this.#size > this.#maxSize) {
          start = lf + 1;
          throw new ProtocolError(
            "BODY_TOO_LARGE",
            `Cannot read block: it exceeds ${this.#maxSize} bytes`,
          );
        }
        if (dotted || !crlf) {
          if (start > run) pieces.push(buf.slice(run, start));
          pieces.push(buf.slice(from, end), CRLF_BYTES);
          run = lf + 1;
        }
        start = lf + 1;
        added += end - from + 2;
      }
      if (start > run) pieces.push(buf.slice(run, start));
    } finally {
      reader.consume(start);
    }
    return added;
  }

  /** One unstuffed line, or null at the dot line. */
  async #line(): Promise<Uint8Array | null> {
    const reader = this.#reader;
    const line = this.#strict
      ? await readCrlfLine(reader, this.#maxLineLength)
      : await reader.readLineBytes({ maxLength: this.#maxLineLength });
    if (line === null) {
      throw new ProtocolError(
        "UNEXPECTED_EOF",
        "Cannot read block: stream ended before the terminating dot line",
      );
    }
    if (line.length === 1 && line[0] === DOT) return null;
    const content = line[0] === DOT ? line.subarray(1) : line;
    this.#size += content.length + 2;
    if (this.#size > this.#maxSize) {
      throw new ProtocolError(
        "BODY_TOO_LARGE",
        `Cannot read block: it exceeds ${this.#maxSize} bytes`,
      );
    }
    return content;
  }

  /**
   * Reads and discards the rest of the block, at most `limit` more bytes.
   *
   * @param limit The most bytes to discard.
   * @returns Whether the `.` line was reached.
   */
  async drain(limit: number): Promise<boolean> {
    const stop = this.#size + limit;
    while (!this.#done) {
      if (this.#size > stop) return false;
      if ((await this.#line()) === null) this.#done = true;
    }
    return true;
  }
}

/**
 * Reads a dot-terminated block as a stream of unstuffed bytes with CR LF
 * line ends (see {@linkcode DotStuffedReader}). The stream ends after the
 * `.` line; the reader is then positioned just after it. Cancelling the
 * stream drains the rest of the block up to `drainLimit` bytes so that the
 * reader stays in step.
 *
 * @param reader The reader positioned at the first line of the block.
 * @param options The line and size limits and the accepted line end.
 * @returns The block's content. The stream errors with a
 *   {@linkcode ProtocolError}: `"LINE_TOO_LONG"` (in both line-end modes),
 *   `"BODY_TOO_LARGE"`, or `"UNEXPECTED_EOF"` when the source ends before the
 *   dot line.
 *
 * @example Reading a POP3 message body
 * ```ts
 * import { BufferedReader, readDotStuffed } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = "Subject: x\r\n\r\n..dot\r\n.\r\n+OK next\r\n";
 * const reader = new BufferedReader(ReadableStream.from([new TextEncoder().encode(wire)]));
 * assertEquals(await new Response(readDotStuffed(reader)).text(), "Subject: x\r\n\r\n.dot\r\n");
 * assertEquals(await reader.readLine(), "+OK next");
 * ```
 */
export function readDotStuffed(
  reader: BufferedReader,
  options?: ReadDotStuffedOptions,
): ReadableStream<Uint8Array> {
  options ??= {};
  return chunkSourceStream(new DotStuffedReader(reader, options), {
    drainLimit: options.drainLimit,
  });
}

/** Reads up to CR LF only (a bare LF is content), failing as readLineBytes does. */
async function readCrlfLine(
  reader: BufferedReader,
  maxLength: number,
): Promise<Uint8Array | null> {
  try {
    return await reader.readUntil(CRLF_BYTES, { maxLength });
  } catch (error) {
    if (error instanceof ProtocolError && error.code === "LINE_TOO_LONG") {
      throw new ProtocolError(
        "LINE_TOO_LONG",
        `Cannot read block: line exceeds ${maxLength} bytes`,
        { cause: error },
      );
    }
    throw error;
  }
}

function joinPieces(pieces: Uint8Array[], length: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(length);
  let o = 0;
  for (const piece of pieces) {
    out.set(piece, o);
    o += piece.length;
  }
  return out;
}
