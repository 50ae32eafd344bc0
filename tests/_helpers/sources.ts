/**
 * Byte sources for feeding stream parsers in tests: a `ByteReader` that
 * returns given chunks with partial reads, a seeded PRNG, and random
 * chunking.
 *
 * @module
 */
import type { ByteReader } from "../../net/buffered_reader.ts";

/**
 * A `ByteReader` that returns the chunks in order, one chunk at most per
 * read, and only as much of it as fits in `p` (so reads are often partial).
 * `reads` records the buffers it was asked to fill.
 */
export function byteReaderOf(chunks: readonly Uint8Array[]): ByteReader & { reads: Uint8Array[] } {
  const queue = chunks.map((c) => c.slice());
  let i = 0;
  let off = 0;
  const reads: Uint8Array[] = [];
  return {
    reads,
    read(p: Uint8Array): Promise<number | null> {
      reads.push(p);
      while (i < queue.length && off === queue[i]!.length) {
        i++;
        off = 0;
      }
      if (i === queue.length) return Promise.resolve(null);
      const chunk = queue[i]!;
      const n = Math.min(p.length, chunk.length - off);
      p.set(chunk.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
  };
}

/** mulberry32: a small deterministic PRNG returning numbers in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts `bytes` into chunks of 1 to `maxChunk` bytes chosen by `random`. */
export function randomChunks(
  bytes: Uint8Array,
  random: () => number,
  maxChunk = 6,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let i = 0;
  while (i < bytes.length) {
    const n = 1 + Math.floor(random() * maxChunk);
    chunks.push(bytes.subarray(i, i + n));
    i += n;
  }
  return chunks;
}
