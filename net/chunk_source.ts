/**
 * A pull source of body chunks read from a connection: a length-bounded
 * body ({@linkcode BoundedReader}), a dot-terminated block
 * (`DotStuffedReader`), an FTP data connection. `read()` returns the next
 * piece or `null` once the body (and its terminator) has been consumed;
 * `drain(limit)` discards the rest when the consumer gives up, so the next
 * reply on the connection is read from the right place.
 */
export interface ChunkSource {
  /** The next piece, or `null` at the end of the body. */
  read(): Promise<Uint8Array | null>;
  /**
   * Reads the next bytes straight into the caller's buffer (at least one
   * byte), or resolves to `null` at the end of the body. When present,
   * {@linkcode chunkSourceStream} makes a byte stream, so a BYOB reader
   * moves a large body without allocating a buffer per chunk; default
   * readers still get `read()`'s pieces.
   */
  readInto?(buffer: Uint8Array): Promise<number | null>;
  /**
   * Reads and discards the rest of the body, at most `limit` bytes.
   *
   * @returns Whether the end was reached (the connection is in step).
   */
  drain?(limit: number): Promise<boolean>;
}

/** What happens around a {@linkcode chunkSourceStream}. */
export interface ChunkSourceStreamOptions {
  /**
   * Called once when the body was read to its end; may read a trailing
   * reply (FTP's 226). If it throws, the stream errors with that error.
   */
  onEnd?: () => void | Promise<void>;
  /**
   * Called once when the body will not be read to its end: `inSync` tells
   * whether draining reached the end (false: the connection must not be
   * used again), `error` what went wrong, if anything did.
   */
  onAbandon?: (inSync: boolean, error?: unknown) => void | Promise<void>;
  /**
   * The most bytes a cancel may drain before giving up on the connection.
   *
   * @default {65536}
   */
  drainLimit?: number;
}

/**
 * Turns a {@linkcode ChunkSource} into a `ReadableStream` with backpressure
 * (a chunk is read only when the consumer pulls), calling `onEnd` after the
 * last chunk and `onAbandon` when the consumer cancels (after draining up
 * to `drainLimit`) or the source fails. This is how a streamed reply body
 * holds its connection until it is consumed or cancelled. With
 * {@linkcode ChunkSource.readInto} it is a byte stream (`type: "bytes"`):
 * `getReader({ mode: "byob" })` reads into the caller's buffers.
 *
 * @param source The body.
 * @param options End and abandon hooks, and the drain limit.
 * @returns The body as a stream.
 *
 * @example A body of three chunks
 * ```ts
 * import { chunkSourceStream } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks = ["a", "b", "c"].map((s) => new TextEncoder().encode(s));
 * let ended = false;
 * const stream = chunkSourceStream(
 *   { read: () => Promise.resolve(chunks.shift() ?? null) },
 *   { onEnd: () => void (ended = true) },
 * );
 * assertEquals(await new Response(stream).text(), "abc");
 * assertEquals(ended, true);
 * ```
 */
export function chunkSourceStream(
  source: ChunkSource,
  options?: ChunkSourceStreamOptions,
): ReadableStream<Uint8Array> {
  options ??= {};
  const drainLimit = options.drainLimit ?? 65536;
  let settled = false;
  const abandon = async (inSync: boolean, error?: unknown) => {
    if (settled) return;
    settled = true;
    await options.onAbandon?.(inSync, error);
  };
  const end = async () => {
    if (!settled) {
      settled = true;
      await options.onEnd?.();
    }
  };
  const cancel = async (reason: unknown) => {
    if (settled) return;
    let inSync = false;
    try {
      inSync = source.drain !== undefined && await source.drain(drainLimit);
    } catch {
      inSync = false;
    }
    await abandon(inSync, reason);
  };
  const readInto = source.readInto;
  if (readInto !== undefined) {
    return new ReadableStream({
      type: "bytes",
      async pull(controller) {
        const request = controller.byobRequest;
        const view = request?.view ?? null;
        let n: number | null;
        let piece: Uint8Array | null = null;
        try {
          if (view === null) {
            piece = await source.read();
            n = piece === null ? null : piece.length;
          } else {
            n = await readInto.call(
              source,
              new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
            );
          }
        } catch (error) {
          await abandon(false, error);
          throw error;
        }
        if (n !== null) {
          if (piece !== null) controller.enqueue(piece);
          else request!.respond(n);
          return;
        }
        await end();
        controller.close();
        // A BYOB read waiting on a closed stream is answered with done.
        request?.respond(0);
      },
      cancel,
    }, { highWaterMark: 0 }) as ReadableStream<Uint8Array>;
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let piece: Uint8Array | null;
      try {
        piece = await source.read();
      } catch (error) {
        await abandon(false, error);
        throw error;
      }
      if (piece !== null) {
        controller.enqueue(piece);
        return;
      }
      await end();
      controller.close();
    },
    cancel,
  }, { highWaterMark: 0 });
}
