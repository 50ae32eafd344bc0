// A small keep-alive pool of HttpConnections for proxied requests (the
// HttpClient pools direct connections by origin; requests through a proxy
// or a CONNECT tunnel need their own keys).
import type { HttpConnection } from "../http/http_connection.ts";

interface Idle {
  conn: HttpConnection;
  timer: ReturnType<typeof setTimeout>;
}

export class ConnectionPool {
  #idle = new Map<string, Idle[]>();
  #idleTimeout: number;
  #maxIdle: number;
  #closed = false;

  constructor(idleTimeout: number, maxIdlePerKey = 8) {
    this.#idleTimeout = idleTimeout;
    this.#maxIdle = maxIdlePerKey;
  }

  /** An idle connection for the key, or undefined. */
  take(key: string): HttpConnection | undefined {
    const list = this.#idle.get(key);
    while (list !== undefined && list.length > 0) {
      const idle = list.pop()!;
      clearTimeout(idle.timer);
      if (idle.conn.reusable) return idle.conn;
      idle.conn.close();
    }
    return undefined;
  }

  /** Returns a connection: kept when reusable, else closed. */
  put(key: string, conn: HttpConnection): void {
    if (this.#closed || !conn.reusable) {
      conn.close();
      return;
    }
    let list = this.#idle.get(key);
    if (list === undefined) this.#idle.set(key, list = []);
    if (list.length >= this.#maxIdle) {
      conn.close();
      return;
    }
    const idle: Idle = {
      conn,
      timer: setTimeout(() => {
        const at = list!.indexOf(idle);
        if (at >= 0) list!.splice(at, 1);
        conn.close();
      }, this.#idleTimeout),
    };
    list.push(idle);
  }

  /** Drops a connection that failed. */
  discard(conn: HttpConnection): void {
    conn.close();
  }

  /**
   * Wraps a response body so that the connection goes back to the pool when
   * the body ends, and is closed when it fails or is cancelled early.
   */
  track(
    key: string,
    conn: HttpConnection,
    body: ReadableStream<Uint8Array> | null,
  ): ReadableStream<Uint8Array> | null {
    if (body === null) {
      this.put(key, conn);
      return null;
    }
    const reader = body.getReader();
    let done = false;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          done = true;
          this.discard(conn);
          controller.error(error);
          return;
        }
        if (result.done) {
          done = true;
          controller.close();
          this.put(key, conn);
        } else {
          controller.enqueue(result.value);
        }
      },
      cancel: async (reason) => {
        if (done) return;
        done = true;
        await reader.cancel(reason).catch(() => {});
        this.discard(conn);
      },
    });
  }

  /** Closes idle connections now and busy ones when they come back. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) {
      for (const idle of list) {
        clearTimeout(idle.timer);
        idle.conn.close();
      }
    }
    this.#idle.clear();
  }
}
