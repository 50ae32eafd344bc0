/**
 * Small I/O helpers shared by every layer: the one write-all loop.
 *
 * @module
 */

/**
 * Writes all of `bytes`, looping over short writes.
 *
 * @param writer A `Deno.Conn`, `Deno.stdout` or anything with `write(p)`.
 * @param bytes What to write.
 * @param wrote Called with the bytes each write took (progress for an
 *   idle timeout: a large piece on a slow link is many writes).
 */
export async function writeAll(
  writer: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
  wrote?: (n: number) => void,
): Promise<void> {
  let off = 0;
  do {
    const n = await writer.write(off === 0 ? bytes : bytes.subarray(off));
    off += n;
    wrote?.(n);
  } while (off < bytes.length);
}

/**
 * Writes all of `bytes` synchronously, looping over short writes.
 *
 * @param writer A `Deno.FsFile` or anything with `writeSync(p)`.
 * @param bytes What to write.
 */
export function writeAllSync(
  writer: { writeSync(p: Uint8Array): number },
  bytes: Uint8Array,
): void {
  let off = writer.writeSync(bytes);
  while (off < bytes.length) off += writer.writeSync(bytes.subarray(off));
}

/** Closes a resource, ignoring "already closed". */
export function closeQuietly(resource: { close(): void } | null | undefined): void {
  try {
    resource?.close();
  } catch {
    // already closed
  }
}
