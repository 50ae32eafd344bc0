import { connectTcp, type TlsOptions } from "../net/connect_tcp.ts";
import type { DuplexConn } from "../net/duplex_conn.ts";
import { ClientConn, clientSettings } from "./_client_conn.ts";

export type { HttpConnectionOptions, HttpRequestInit } from "./_client_types.ts";
import type { HttpConnectionOptions, HttpRequestInit } from "./_client_types.ts";

/** Options for {@linkcode HttpConnection.connect}. */
export interface HttpConnectOptions extends HttpConnectionOptions {
  /**
   * The host to dial.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port.
   *
   * @default {80, or 443 with TLS}
   */
  port?: number;
  /** Speak HTTPS: `true` for the defaults, or TLS options (`caCerts`, SNI name). */
  tls?: boolean | TlsOptions;
  /**
   * Milliseconds for the TCP connect and TLS handshake.
   *
   * @default {30000}
   */
  timeout?: number;
  /** Cancels the connect. */
  signal?: AbortSignal;
}

function defaultHost(conn: DuplexConn): string {
  const addr = (conn as Partial<Deno.Conn>).remoteAddr as Deno.NetAddr | undefined;
  if (addr?.hostname === undefined) return "localhost";
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return `${host}:${addr.port}`;
}

/**
 * One HTTP/1.1 connection, the classic httplib `HTTPConnection`: send a
 * request with any method, target, headers and body, get a web `Response`
 * with a streaming body, send the next one once that body is read. Method,
 * target and header text are checked for CR, LF, NUL and spaces before any
 * byte is written; interim responses are skipped (up to a cap); a body cut
 * short by the server errors instead of ending early.
 *
 * @example Two requests on one connection
 * ```ts ignore
 * import { HttpConnection } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * await using http = await HttpConnection.connect({ hostname: "127.0.0.1", port: 8080 });
 * const first = await http.request("/hello.txt");
 * assertEquals(first.status, 200);
 * await first.text();
 * const head = await http.request("/hello.txt", { method: "HEAD" });
 * assertEquals(head.body, null);
 * ```
 *
 * @example Against a scripted server
 * ```ts
 * import { HttpConnection } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const written: string[] = [];
 * const http = new HttpConnection({
 *   readable: ReadableStream.from([
 *     new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
 *   ]),
 *   writable: new WritableStream({ write: (c) => void written.push(new TextDecoder().decode(c)) }),
 *   close() {},
 * }, { host: "example.test" });
 * const response = await http.request("/");
 * assertEquals(await response.text(), "hi");
 * assertEquals(written.join(""), "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n");
 * http.close();
 * ```
 */
export class HttpConnection implements AsyncDisposable {
  #conn: ClientConn;

  /**
   * Wraps an open connection.
   *
   * @param conn A `Deno.Conn` (read and written directly) or any duplex.
   * @param options The Host value, timeouts and limits.
   * @throws {RangeError} If a limit or timeout is not a valid number.
   */
  constructor(conn: DuplexConn, options?: HttpConnectionOptions) {
    options ??= {};
    this.#conn = new ClientConn(conn, clientSettings(options, defaultHost(conn)));
  }

  /**
   * Dials a server (TLS when `tls` is set) and wraps the connection.
   *
   * @param options Where to connect, TLS, and the connection options.
   * @returns The connection.
   * @throws {DOMException} A `TimeoutError` or the signal's reason.
   * @throws {Deno.errors.ConnectionRefused} And the other network and TLS errors.
   */
  static async connect(options?: HttpConnectOptions): Promise<HttpConnection> {
    options ??= {};
    const hostname = options.hostname ?? "127.0.0.1";
    const port = options.port ?? (options.tls ? 443 : 80);
    const conn = await connectTcp({
      hostname,
      port,
      tls: options.tls,
      timeout: options.timeout,
      signal: options.signal,
    });
    const defaultPort = options.tls ? 443 : 80;
    const name = hostname.includes(":") ? `[${hostname}]` : hostname;
    return new HttpConnection(conn, {
      ...options,
      host: options.host ?? (port === defaultPort ? name : `${name}:${port}`),
    });
  }

  /** Whether a request may be sent now (the previous body was read, the framing was clean). */
  get reusable(): boolean {
    return this.#conn.reusable;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#conn.closed;
  }

  /**
   * Sends a request and resolves to the response once its head arrived.
   * Read or cancel the body before the next request.
   *
   * @param target The request-target: `"/path?query"`, an absolute URL (to a
   *   proxy), `"*"`, or `"host:port"` for CONNECT.
   * @param init Method, headers, body, signal, timeout.
   * @returns The response; `body` is null for HEAD, 204 and 304.
   * @throws {TypeError} For CR, LF, NUL or spaces in the method, target or
   *   headers, a Transfer-Encoding or mismatched Content-Length header, or a
   *   request while another is unfinished. Nothing is written then.
   * @throws {ProtocolError} For a malformed or oversized response head,
   *   `"BAD_STATUS_LINE"` for a final status outside 200-599, or
   *   `"UNEXPECTED_EOF"` when the server closed first.
   * @throws {DOMException} The signal's reason, or a `TimeoutError`.
   */
  request(target: string, init?: HttpRequestInit): Promise<Response> {
    init ??= {};
    return this.#conn.request(target, init, () => {});
  }

  /** Closes the connection; an unfinished body errors. */
  close(): void {
    this.#conn.close();
  }

  /** Closes the connection. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
