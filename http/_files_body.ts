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
 * A byte stream of parts: each an optional prefix followed by `length`
 * bytes of the file from `start`, then an optional trailer. Closes the file
 * at the end, on error and on cancel.
 */
function partsStream(
  file: Deno.FsFile,
  parts: Part[],
  trailer: Uint8Array<ArrayBuffer> | null,
  chunkSize: number,
): ReadableStream<Uint8Array> {
  let index = 0;
  let remaining = -1; // bytes left in the current part; -1: not started
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      try {
        file.close();
      } catch {
        // already closed
      }
    }
  };
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: chunkSize,
    pull(controller) {
      try {
        for (;;) {
          const part = parts[index];
          if (part === undefined) {
            close();
            if (trailer !== null) controller.enqueue(trailer);
            controller.close();
            controller.byobRequest?.respond(0);
            return;
          }
          if (remaining < 0) {
            remaining = part.length;
            if (part.start !== 0 || index > 0) file.seekSync(part.start, Deno.SeekMode.Start);
            if (part.prefix !== null) {
              controller.enqueue(part.prefix);
              return;
            }
          }
          if (remaining === 0) {
            index++;
            remaining = -1;
            continue;
          }
          const request = controller.byobRequest;
          if (request !== null && request.view !== null) {
            const view = new Uint8Array(
              request.view.buffer,
              request.view.byteOffset,
              Math.min(request.view.byteLength, remaining),
            );
            const n = file.readSync(view);
            if (n === null || n === 0) throw shrunk();
            remaining -= n;
            request.respond(n);
            return;
          }
          const buf = new Uint8Array(Math.min(chunkSize, remaining));
          const n = file.readSync(buf);
          if (n === null || n === 0) throw shrunk();
          remaining -= n;
          controller.enqueue(n === buf.length ? buf : buf.slice(0, n));
          return;
        }
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
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
