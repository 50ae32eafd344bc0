/**
 * Joining byte chunks, shared by the parsers and clients that collect a body
 * or a run of pieces before using it whole.
 *
 * @module
 */

/** The chunks joined into a new array (also for a single chunk). */
export function copyBytes(
  chunks: readonly Uint8Array[],
  total: number = byteLength(chunks),
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** The chunks joined; a single chunk is returned as it is, without a copy. */
export function concatBytes(
  chunks: readonly Uint8Array[],
  total: number = byteLength(chunks),
): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.length === total) return chunks[0]!;
  return copyBytes(chunks, total);
}

function byteLength(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const chunk of chunks) n += chunk.length;
  return n;
}
