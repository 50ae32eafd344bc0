/**
 * Line-end conversions for stored messages, chunk by chunk: to CRLF (what
 * is served and counted) and to LF (a Maildir written the Unix way), plus a
 * range cutter over a chunk sequence.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;

/** Inserts a CR before every LF that has none, across chunk boundaries. */
export class CrlfNormalizer {
  #prevCr = false;

  /** Converts one chunk; returns the same array when nothing changes. */
  push(chunk: Uint8Array): Uint8Array {
    let bare = 0;
    let prev = this.#prevCr;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === LF && !prev) bare++;
      prev = b === CR;
    }
    if (bare === 0) {
      if (chunk.length > 0) this.#prevCr = chunk[chunk.length - 1] === CR;
      return chunk;
    }
    const out = new Uint8Array(chunk.length + bare);
    let j = 0;
    prev = this.#prevCr;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === LF && !prev) out[j++] = CR;
      out[j++] = b;
      prev = b === CR;
    }
    this.#prevCr = prev;
    return out;
  }
}

/** Replaces every CRLF by LF, across chunk boundaries; bare CRs stay. */
export class LfNormalizer {
  #heldCr = false;

  /** Converts one chunk. */
  push(chunk: Uint8Array): Uint8Array {
    const out = new Uint8Array(chunk.length + 1);
    let j = 0;
    let held = this.#heldCr;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (held) {
        if (b !== LF) out[j++] = CR;
        held = false;
      }
      if (b === CR) held = true;
      else out[j++] = b;
    }
    this.#heldCr = held;
    return out.subarray(0, j);
  }

  /** The bytes held back at the end: a CR that may have started a CRLF. */
  flush(): Uint8Array {
    const out = this.#heldCr ? Uint8Array.of(CR) : new Uint8Array(0);
    this.#heldCr = false;
    return out;
  }
}

/** Keeps the octets `[start, start + length)` of a sequence of chunks. */
export class RangeCutter {
  #skip: number;
  #left: number;

  /** Creates a cutter for `length` octets from `start`. */
  constructor(start: number, length: number) {
    this.#skip = start;
    this.#left = length;
  }

  /** Whether every wanted octet has been returned. */
  get done(): boolean {
    return this.#left <= 0;
  }

  /** The part of `chunk` inside the range (possibly empty). */
  push(chunk: Uint8Array): Uint8Array {
    let view = chunk;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, view.length);
      this.#skip -= n;
      view = view.subarray(n);
    }
    if (view.length > this.#left) view = view.subarray(0, this.#left);
    this.#left -= view.length;
    return view;
  }
}

/** Normalizes a range request against a size: `[start, end)` clamped. */
export function clampRange(
  size: number,
  options: { start?: number; length?: number } = {},
): { start: number; length: number } {
  const start = options.start ?? 0;
  const length = options.length ?? Infinity;
  if (!Number.isInteger(start) || start < 0) {
    throw new RangeError(`Cannot read message range: start ${start} is not a non-negative integer`);
  }
  if (length !== Infinity && (!Number.isInteger(length) || length < 0)) {
    throw new RangeError(
      `Cannot read message range: length ${length} is not a non-negative integer`,
    );
  }
  const from = Math.min(start, size);
  return { start: from, length: Math.min(length, size - from) };
}

/** The chunk size for message streams. */
export const STREAM_CHUNK_SIZE = 65536;

/** A stream over a range of a byte array, in chunks of {@linkcode STREAM_CHUNK_SIZE}. */
export function bytesStream(
  bytes: Uint8Array,
  start: number,
  length: number,
): ReadableStream<Uint8Array> {
  let offset = start;
  const end = start + length;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= end) {
        controller.close();
        return;
      }
      const n = Math.min(STREAM_CHUNK_SIZE, end - offset);
      controller.enqueue(bytes.slice(offset, offset + n));
      offset += n;
      if (offset >= end) controller.close();
    },
  });
}
