/**
 * The types a server handler sees (the request's connection info, upgrades),
 * defined apart from the server so that the connection code can use them
 * without importing the public `HttpServer` module (which imports it).
 * `http_server.ts` re-exports them.
 *
 * @module
 */
import type { DuplexConn } from "../net/duplex_conn.ts";

/** A connection taken over with {@linkcode ServeHandlerInfo.upgrade}. */
export interface UpgradedConnection extends DuplexConn {
  /** Bytes from the client, starting with any it sent after the request head. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the client; closing it half-closes the connection. */
  writable: WritableStream<Uint8Array>;
  /** Closes the connection and ends the server's hold on it. */
  close(): void;
}

/** The status line and headers {@linkcode ServeHandlerInfo.upgrade} sends. */
export interface UpgradeInit {
  /**
   * The status, 100 to 599 (`101` is allowed here, unlike in `Response`).
   *
   * @default {200}
   */
  status?: number;
  /**
   * The reason phrase.
   *
   * @default {the phrase from STATUS_TEXT}
   */
  statusText?: string;
  /** The header fields. */
  headers?: HeadersInit;
}

/** What a {@linkcode ServeHandler} learns about the request besides the `Request`. */
export interface ServeHandlerInfo {
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The local address the client connected to. */
  readonly localAddr: Deno.NetAddr;
  /** The request's protocol version. */
  readonly version: "HTTP/1.0" | "HTTP/1.1";
  /** The request-target exactly as sent (`"/a%20b?x"`, `"*"`, `"host:443"`). */
  readonly target: string;
  /** Resolves when the response was written in full; rejects if that failed. */
  readonly completed: Promise<void>;
  /** Aborted when the response could not be delivered or the server shuts down. */
  readonly signal: AbortSignal;
  /**
   * Takes over the connection, for `CONNECT` tunnels and protocol switches:
   * writes the status line and headers given here, then hands over the raw
   * connection. The `Response` the handler returns afterwards is ignored.
   * The server keeps the socket until `close()` is called on the result or
   * the server shuts down.
   *
   * @param init The status (default 200), reason and headers.
   * @returns The raw connection.
   * @throws {TypeError} If called twice or after the response.
   * @throws {RangeError} If the status is not from 100 to 599.
   */
  upgrade(init?: UpgradeInit): Promise<UpgradedConnection>;
}

/** Answers one request. */
export type ServeHandler = (
  request: Request,
  info: ServeHandlerInfo,
) => Response | Promise<Response>;
