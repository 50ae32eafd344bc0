/**
 * Response bodies read from an open file on demand: one range, or several
 * as `multipart/byteranges` (RFC 9110 §14.6). They are byte streams: a
 * default reader gets fresh `chunkSize` chunks, a BYOB reader has the file
 * read straight into its own buffer (no allocation, no copy). Each pull reads
 * once, so memory stays flat whatever the file size; a file that shrinks
 * while being sent errors the stream instead of ending it short.
 *
 * Reads are synchronous: a read of a cached file takes microseconds, less
 * than the thread-pool round trip of an async file op in Deno, and it keeps
 * the bytes in order without a second buffer.
 *
 * @module
 */
import type { ByteRange } from "./_files_range.ts";

const encoder = new TextEncoder();

/** Reads a whole small file (`size` bytes) into memory; null if it ended early. */
export function readSmall(file: Deno.FsFile, size: number): Uint8Array<ArrayBuffer> | null {
  const buf = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const n = file.readSync(buf.subarray(got));
    if (n === null || n === 0) return null;
    got += n;
  }
  return buf;
}

type Part = { prefix: Uint8Array<ArrayBuffer> | null; start: number; length: number };

function shrunk(): Error {
  return new Error("Cannot send file: it ended early (it changed while being sent)");
}

/**
 * The parts read synchronously into a caller's buffer: each an optional
 * prefix followed by `length` bytes of the file from `start`, then an
 * optional trailer. The file is closed at the end, on error and by
 * `close()`. The server's file fast path and the stream below both read
 * through it.
 */
export class FileParts {
  #file: Deno.FsFile;
  #parts: Part[];
  #trailer: Uint8Array<ArrayBuffer> | null;
  #index = 0;
  /** Bytes left in the current part's file range; -1: not started. */
  #remaining = -1;
  /** Bytes of the current prefix (or the trailer) already copied out. */
  #copied = 0;
  #closed = false;

  constructor(file: Deno.FsFile, parts: Part[], trailer: Uint8Array<ArrayBuffer> | null) {
    this.#file = file;
    this.#parts = parts;
    this.#trailer = trailer;
  }

  /**
   * Fills `view` with the next bytes; 0 at the end (the file is closed
   * then). Throws when the file ended early.
   */
  fill(view: Uint8Array): number {
    try {
      let filled = 0;
      while (filled < view.length) {
        const part = this.#parts[this.#index];
        if (part === undefined) {
          const trailer = this.#trailer;
          if (trailer !== null && this.#copied < trailer.length) {
            filled += this.#copy(trailer, view.subarray(filled));
            continue;
          }
          this.close();
          return filled;
        }
        if (this.#remaining < 0) {
          if (part.prefix !== null && this.#copied < part.prefix.length) {
            filled += this.#copy(part.prefix, view.subarray(filled));
            continue;
          }
          this.#copied = 0;
          this.#remaining = part.length;
          if (part.start !== 0 || this.#index > 0) {
            this.#file.seekSync(part.start, Deno.SeekMode.Start);
          }
        }
        if (this.#remaining === 0) {
          this.#index++;
          this.#remaining = -1;
          continue;
        }
        const target = view.subarray(
          filled,
          filled + Math.min(view.length - filled, this.#remaining),
        );
        const n = this.#file.readSync(target);
        if (n === null || n === 0) throw shrunk();
        this.#remaining -= n;
        filled += n;
        // One read per call keeps a call's cost bounded; fill the rest next time.
        if (filled > 0) return filled;
      }
      return filled;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  #copy(bytes: Uint8Array, into: Uint8Array): number {
    const n = Math.min(bytes.length - this.#copied, into.length);
    into.set(bytes.subarray(this.#copied, this.#copied + n));
    this.#copied += n;
    return n;
  }

  /** Closes the file (safe to repeat). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}

/**
 * The `FileParts` behind a body stream made here, for the server to read
 * the file directly into its own buffer when nobody took the stream.
 */
export const fileBodies: WeakMap<ReadableStream<Uint8Array>, FileParts> = new WeakMap();

/** A byte stream over `FileParts`; it closes the file at the end, on error and on cancel. */
function partsStream(
  file: Deno.FsFile,
  parts: Part[],
  trailer: Uint8Array<ArrayBuffer> | null,
  chunkSize: number,
): ReadableStream<Uint8Array> {
  const source = new FileParts(file, parts, trailer);
  const stream = new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: chunkSize,
    pull(controller) {
      try {
        const request = controller.byobRequest;
        if (request !== null && request.view !== null) {
          const view = new Uint8Array(
            request.view.buffer,
            request.view.byteOffset,
            request.view.byteLength,
          );
          const n = source.fill(view);
          if (n === 0) {
            controller.close();
            request.respond(0);
          } else request.respond(n);
          return;
        }
        const buf = new Uint8Array(chunkSize);
        const n = source.fill(buf);
        if (n === 0) controller.close();
        else controller.enqueue(n === buf.length ? buf : buf.slice(0, n));
      } catch (error) {
        controller.error(error);
      }
    },
    cancel() {
      source.close();
    },
  }, { highWaterMark: 0 });
  fileBodies.set(stream as ReadableStream<Uint8Array>, source);
  return stream as ReadableStream<Uint8Array>;
}

/** A stream of `length` bytes of the file from `start`. */
export function rangeStream(
  file: Deno.FsFile,
  start: number,
  length: number,
  chunkSize: number,
): ReadableStream<Uint8Array> {
  return partsStream(file, [{ prefix: null, start, length }], null, chunkSize);
}

/** A `multipart/byteranges` body and its exact length. */
export function multipartStream(
  file: Deno.FsFile,
  ranges: ByteRange[],
  size: number,
  contentType: string,
  boundary: string,
  chunkSize: number,
): { stream: ReadableStream<Uint8Array>; length: number } {
  let length = 0;
  const parts: Part[] = ranges.map((r, i) => {
    const prefix = encoder.encode(
      `${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${contentType}\r\n` +
        `Content-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
    );
    const partLength = r.end - r.start + 1;
    length += prefix.length + partLength;
    return { prefix, start: r.start, length: partLength };
  });
  const trailer = encoder.encode(`\r\n--${boundary}--\r\n`);
  length += trailer.length;
  return { stream: partsStream(file, parts, trailer, chunkSize), length };
}
