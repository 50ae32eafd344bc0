/**
 * The request and connection option types shared by `HttpConnection`,
 * `HttpClient` and the private client connection, defined apart so the
 * connection code does not import the public modules built on it.
 * `http_connection.ts` re-exports them.
 *
 * @module
 */

/** What one request carries, for {@linkcode HttpConnection} and `HttpClient`. */
export interface HttpRequestInit {
  /**
   * The method.
   *
   * @default {"GET"}
   */
  method?: string;
  /** The header fields. `Host` defaults to the connection's host. */
  headers?: HeadersInit;
  /**
   * The body. Strings, bytes, `Blob`, `FormData` and `URLSearchParams` are
   * sent with `Content-Length` (and a `Content-Type` as `fetch` would set);
   * a `ReadableStream` is sent chunked, or as is when `Content-Length` is
   * set in `headers`.
   */
  body?: BodyInit | null;
  /** Cancels the request; if the body is being read, errors it. */
  signal?: AbortSignal;
  /**
   * Milliseconds for the whole exchange, reading the body included; then
   * the connection is closed and the call (or the body) fails with a
   * `TimeoutError`.
   *
   * @default {no limit}
   */
  timeout?: number;
  /**
   * Sends `Expect: 100-continue` and holds the body until the server agrees
   * or a second passes (RFC 9110 §10.1.1).
   *
   * @default {false}
   */
  expectContinue?: boolean;
}

/** Options for {@linkcode HttpConnection}. */
export interface HttpConnectionOptions {
  /**
   * The `Host` header value for requests that do not set one.
   *
   * @default {the peer's address, or "localhost"}
   */
  host?: string;
  /**
   * Milliseconds from a request written to its response head.
   *
   * @default {30000}
   */
  headersTimeout?: number;
  /**
   * The most bytes in the response status line or any field line.
   *
   * @default {65536}
   */
  maxLineLength?: number;
  /**
   * The most bytes in a response header section.
   *
   * @default {262144}
   */
  maxHeaderSize?: number;
  /**
   * The most fields in a response header section.
   *
   * @default {1000}
   */
  maxHeaderCount?: number;
  /**
   * The most interim (1xx) responses before the final one.
   *
   * @default {100}
   */
  max1xxResponses?: number;
  /**
   * Milliseconds a response may go without a byte arriving, while its head
   * or its body is read; then the connection is closed and the read fails
   * with a `TimeoutError`. A slow but steady download is never cut by it.
   *
   * @default {300000}
   */
  readTimeout?: number;
  /**
   * The most bytes the buffered body helpers (`text()`, `json()`,
   * `arrayBuffer()`, `bytes()`, `blob()`, `formData()`) read; a longer
   * body fails with a `ProtocolError` `"BODY_TOO_LARGE"`. Reading `body` as a
   * stream is not limited. `Infinity` turns the limit off.
   *
   * @default {16777216}
   */
  maxBodySize?: number;
  /**
   * A `User-Agent` value for requests that do not set one.
   *
   * @default {none}
   */
  userAgent?: string;
}
