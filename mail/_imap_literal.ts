/**
 * Length-bounded reading of IMAP literals over a {@linkcode BufferedReader}:
 * at most `n` bytes, taken in the chunks the source delivers, so memory
 * follows the bytes that actually arrived and never the size a peer merely
 * announced.
 *
 * @module
 */
import type { BufferedReader } from "../net/buffered_reader.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { copyBytes } from "../net/_bytes.ts";

/** Wraps one awaited read so that an abort signal can interrupt it. */
export type Io = <T>(promise: Promise<T>) => Promise<T>;

/** An {@linkcode Io} that adds nothing. */
export const plainIo: Io = (promise) => promise;

/** An {@linkcode Io} that rejects with the signal's reason when it aborts first. */
export function abortableIo(signal: AbortSignal | undefined): Io {
  if (signal === undefined) return plainIo;
  return <T>(promise: Promise<T>): Promise<T> => {
    signal.throwIfAborted();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
  };
}

/**
 * Calls `sink` with successive views of the next `n` bytes (valid only during
 * the call) and consumes them; the sink's promise, if any, is awaited before
 * more bytes are read, which is where backpressure comes from.
 */
async function eachChunk(
  reader: BufferedReader,
  n: number,
  io: Io,
  sink: (view: Uint8Array) => void | Promise<void>,
): Promise<void> {
  let left = n;
  while (left > 0) {
    const view = reader.peekBuffered();
    if (view.length === 0) {
      if (!(await io(reader.fill()))) {
        throw new ProtocolError(
          "UNEXPECTED_EOF",
          `Cannot read literal of ${n} bytes: stream ended after ${n - left}`,
        );
      }
      continue;
    }
    const take = Math.min(left, view.length);
    const pending = sink(view.subarray(0, take));
    reader.consume(take);
    left -= take;
    if (pending !== undefined) await pending;
  }
}

/** Reads exactly `n` bytes into one new array, collecting them as they arrive. */
export async function collectLiteral(
  reader: BufferedReader,
  n: number,
  io: Io,
): Promise<Uint8Array> {
  if (n === 0) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  await eachChunk(reader, n, io, (view) => {
    chunks.push(view.slice());
  });
  return chunks.length === 1 ? chunks[0]! : copyBytes(chunks, n);
}

/** Reads and throws away exactly `n` bytes. */
export function drainLiteral(reader: BufferedReader, n: number, io: Io): Promise<void> {
  return eachChunk(reader, n, io, () => {});
}

/**
 * Writes exactly `n` bytes to `writable`, waiting for its backpressure before
 * each chunk, then closes it. When the writable fails or is cancelled, the
 * rest of the literal is drained (so the stream stays in sync) and the
 * failure is returned; when reading fails, the writable is aborted with the
 * error and the error is thrown.
 *
 * @returns `undefined` on success, otherwise the writable's error.
 */
export async function pipeLiteral(
  reader: BufferedReader,
  n: number,
  writable: WritableStream<Uint8Array>,
  io: Io,
): Promise<unknown> {
  const writer = writable.getWriter();
  let failure: { error: unknown } | null = null;
  try {
    await eachChunk(reader, n, io, async (view) => {
      if (failure !== null) return;
      const chunk = view.slice();
      failure = await io(settled(writer.ready));
      if (failure === null) writer.write(chunk).catch(() => {});
    });
  } catch (error) {
    await writer.abort(error).catch(() => {});
    writer.releaseLock();
    throw error;
  }
  if (failure === null) failure = await io(settled(writer.close()));
  writer.releaseLock();
  return failure === null
    ? undefined
    : (failure as { error: unknown }).error ?? new Error("Literal sink failed");
}

/** Resolves to `null` when `promise` fulfils, or to its rejection reason. */
function settled(promise: Promise<unknown>): Promise<{ error: unknown } | null> {
  return promise.then(() => null, (error) => ({ error }));
}
