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
 */
export async function writeAll(
  writer: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let off = await writer.write(bytes);
  while (off < bytes.length) off += await writer.write(bytes.subarray(off));
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
