import type { BufferedReader } from "./buffered_reader.ts";
import type { ChunkSource } from "./chunk_source.ts";
import { chunkSourceStream, type ChunkSourceStreamOptions } from "./chunk_source.ts";
import { ProtocolError } from "./protocol_error.ts";

/** Options for {@linkcode BoundedReader}. */
export interface BoundedReaderOptions {
  /**
   * The largest piece `read()` returns, in bytes.
   *
   * @default {65536}
   */
  chunkSize?: number;
}

/**
 * Reads exactly `length` bytes from a {@linkcode BufferedReader} as a
 * sequence of pieces, never allocating more than one piece at a time: the
 * way to take a body whose length the peer announced (an IMAP literal `{n}`,
 * a BDAT chunk, an HTTP body, an FTP download of known SIZE) without
 * trusting the number. What is already buffered is handed out first; large
 * reads with an empty buffer go straight to the source.
 *
 * @example A literal of 5 bytes followed by the rest of the line
 * ```ts
 * import { BoundedReader, BufferedReader } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const reader = new BufferedReader(
 *   ReadableStream.from([new TextEncoder().encode("hello)\r\n")]),
 * );
 * const literal = new BoundedReader(reader, 5);
 * assertEquals(await new Response(literal.stream()).text(), "hello");
 * assertEquals(await reader.readLine(), ")");
 * ```
 */
export class BoundedReader implements ChunkSource {
  #reader: BufferedReader;
  #remaining: number;
  #length: number;
  #chunkSize: number;

  /**
   * Bounds a read.
   *
   * @param reader The reader positioned at the first byte.
   * @param length How many bytes belong to this body.
   * @param options The piece size.
   * @throws {RangeError} If `length` or `chunkSize` is not a valid size.
   */
  constructor(reader: BufferedReader, length: number, options?: BoundedReaderOptions) {
    options ??= {};
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`Cannot read ${length} bytes: not a non-negative integer`);
    }
    const chunkSize = options.chunkSize ?? 65536;
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
      throw new RangeError(`Cannot read in chunks of ${chunkSize} bytes: not positive`);
    }
    this.#reader = reader;
    this.#remaining = length;
    this.#length = length;
    this.#chunkSize = chunkSize;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#remaining;
  }

  /**
   * Reads the next piece.
   *
   * @returns Up to `chunkSize` bytes, or `null` once `length` bytes were read.
   * @throws {ProtocolError} `"UNEXPECTED_EOF"` when the source ends first.
   */
  async read(): Promise<Uint8Array | null> {
    if (this.#remaining === 0) return null;
    const buffered = this.#reader.peekBuffered();
    let piece: Uint8Array;
    if (buffered.length > 0) {
      const n = Math.min(buffered.length, this.#remaining, this.#chunkSize);
      piece = buffered.slice(0, n);
      this.#reader.consume(n);
    } else {
      const room = new Uint8Array(Math.min(this.#remaining, this.#chunkSize));
      const n = await this.#reader.read(room);
      if (n === null) {
        throw new ProtocolError(
          "UNEXPECTED_EOF",
          `Cannot read body: stream ended after ${
            this.#length - this.#remaining
          } of ${this.#length} bytes`,
        );
      }
      piece = room.subarray(0, n);
    }
    this.#remaining -= piece.length;
    return piece;
  }

  /**
   * Reads and discards what is left, at most `limit` bytes.
   *
   * @param limit The most bytes to discard.
   * @returns Whether the end was reached.
   */
  async drain(limit: number): Promise<boolean> {
    if (this.#remaining > limit) return false;
    while (this.#remaining > 0) {
      if ((await this.read()) === null) break;
    }
    return true;
  }

  /**
   * The rest of the body as a stream with backpressure.
   *
   * @param options End and abandon hooks (see `chunkSourceStream`).
   * @returns The stream.
   */
  stream(options?: ChunkSourceStreamOptions): ReadableStream<Uint8Array> {
    return chunkSourceStream(this, options);
  }
}
