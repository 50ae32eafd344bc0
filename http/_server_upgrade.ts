/**
 * Hands a server connection over to a handler (`info.upgrade()`: CONNECT
 * tunnels, WebSockets): the bytes the client already sent after the request
 * head come first, then the raw connection.
 *
 * @module
 */
import type { BufferedReader } from "../net/buffered_reader.ts";
import type { ByteConn } from "../net/_byte_conn.ts";
import { writeAll } from "../net/_io.ts";
import type { UpgradedConnection } from "./_server_types.ts";

/**
 * The connection as web streams over `conn`, reading `reader`'s buffered
 * bytes first; `onClose` runs when the handler closes it.
 */
export function upgradedConnection(
  conn: ByteConn,
  reader: BufferedReader,
  onClose: () => void,
): UpgradedConnection {
  return {
    readable: new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        // A read still in flight on the reader (the server watching for a
        // disconnect) brings the first bytes: wait for it, never read beside it.
        if (reader.buffered === 0 && reader.reading) await reader.fill().catch(() => false);
        const view = reader.peekBuffered();
        if (view.length > 0) {
          controller.enqueue(view.slice());
          reader.consume(view.length);
          return;
        }
        if (reader.eof) {
          controller.close();
          return;
        }
        const buf = new Uint8Array(65536);
        let n: number | null;
        try {
          n = await conn.read(buf);
        } catch (error) {
          controller.error(error);
          return;
        }
        if (n === null) controller.close();
        else controller.enqueue(buf.subarray(0, n));
      },
    }, { highWaterMark: 0 }),
    writable: new WritableStream<Uint8Array>({
      write: (chunk) => writeAll(conn, chunk),
      close: async () => {
        try {
          await conn.closeWrite();
        } catch {
          // already closed
        }
      },
    }),
    remoteAddr: conn.remoteAddr,
    localAddr: conn.localAddr,
    close: onClose,
  };
}
