/**
 * SimpleAsyncHTTP.py from the classic network protocols chapter: a module
 * that issues an HTTP GET and feeds the incoming body to a "consumer", used
 * by `asyncore_http_client.ts` and `asyncore_http_redirect.ts`. One
 * `HttpConnection` per request, as the original opened one socket each.
 *
 * @module
 */
import { HttpConnection } from "../../http/http_connection.ts";

/** What the request feeds; `httpHeader` is optional, as in the original. */
export interface HttpConsumer {
  /**
   * Gets the response head, or `null` when the connection failed. Calling
   * `close` stops the request (the body is not read, `close()` not called).
   */
  httpHeader?(response: Response | null, close: () => void): void;
  /** Gets each piece of the body. */
  feed(data: Uint8Array): void;
  /** Called at the end of the body. */
  close(): void;
}

/** Fetches an `http:` URI and feeds its body to the consumer. */
export async function asyncHttp(uri: string, consumer: HttpConsumer): Promise<void> {
  const url = new URL(uri);
  if (url.protocol !== "http:") throw new TypeError("only supports HTTP requests");
  let http: HttpConnection;
  try {
    http = await HttpConnection.connect({ hostname: url.hostname, port: Number(url.port || 80) });
  } catch {
    consumer.httpHeader?.(null, () => {}); // connection failed
    return;
  }
  try {
    const response = await http.request(url.pathname + url.search);
    let closed = false;
    consumer.httpHeader?.(response, () => (closed = true));
    if (closed) return; // channel was closed by consumer
    for await (const data of response.body ?? []) consumer.feed(data);
    consumer.close();
  } finally {
    http.close();
  }
}
