/**
 * The `read(p)`/`write(p)` shape of a connection, for code that reads into
 * and writes from its own buffers (the HTTP engine's hot paths): a
 * `Deno.Conn` is used as it is; any other {@linkcode DuplexConn} is adapted
 * from its two streams.
 *
 * @module
 */
import type { DuplexConn } from "./duplex_conn.ts";

/** A connection read and written through caller-owned buffers. */
export interface ByteConn {
  /** Reads up to `p.length` bytes into `p`; `null` at the end. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; resolves to how many bytes went out. */
  write(p: Uint8Array): Promise<number>;
  /** Ends the writing direction. */
  closeWrite(): Promise<void>;
  /** Closes both directions. */
  close(): void;
  /** The peer's address, when known. */
  readonly remoteAddr?: Deno.Addr;
  /** The local address, when known. */
  readonly localAddr?: Deno.Addr;
}

interface MaybeByteConn {
  read?: unknown;
  write?: unknown;
  closeWrite?: unknown;
}

/** `conn` itself when it has `read`/`write` (a `Deno.Conn`), else an adapter over its streams. */
export function byteConn(conn: DuplexConn): ByteConn {
  const c = conn as DuplexConn & MaybeByteConn;
  if (typeof c.read === "function" && typeof c.write === "function") {
    const direct = conn as unknown as ByteConn;
    if (typeof c.closeWrite === "function") return direct;
    return {
      read: (p) => direct.read(p),
      write: (p) => direct.write(p),
      closeWrite: () => Promise.resolve(),
      close: () => conn.close(),
      remoteAddr: conn.remoteAddr,
      localAddr: conn.localAddr,
    };
  }
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  let leftover: Uint8Array | null = null;
  return {
    async read(p: Uint8Array): Promise<number | null> {
      if (p.length === 0) return 0;
      if (leftover === null) {
        reader ??= conn.readable.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return null;
          if (value.length > 0) {
            leftover = value;
            break;
          }
        }
      }
      const chunk: Uint8Array = leftover!;
      const n = Math.min(p.length, chunk.length);
      p.set(chunk.subarray(0, n));
      leftover = n === chunk.length ? null : chunk.subarray(n);
      return n;
    },
    async write(p: Uint8Array): Promise<number> {
      writer ??= conn.writable.getWriter();
      // The caller reuses its buffer once the write resolves; the stream may
      // keep the chunk longer, so it gets a copy.
      await writer.write(p.slice());
      return p.length;
    },
    async closeWrite(): Promise<void> {
      if (conn.closeWrite !== undefined) {
        writer?.releaseLock();
        writer = null;
        await conn.closeWrite();
        return;
      }
      writer ??= conn.writable.getWriter();
      await writer.close();
    },
    close: () => conn.close(),
    remoteAddr: conn.remoteAddr,
    localAddr: conn.localAddr,
  };
}
