/**
 * asyncore-example-3.py from the classic network protocols chapter: fetch
 * a page with the SimpleAsyncHTTP module (`simple_async_http.ts`) and a
 * consumer that prints the status and headers and counts the body bytes.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/asyncore_http_client.ts [URL]
 * ```
 *
 * Default URL: http://127.0.0.1:8080/ (the test bed's nginx).
 *
 * @module
 */
import { asyncHttp, type HttpConsumer } from "./simple_async_http.ts";

const [url = "http://127.0.0.1:8080/"] = Deno.args;

class DummyConsumer implements HttpConsumer {
  size = 0;
  httpHeader(response: Response | null): void {
    if (response === null) {
      console.log("connection failed");
      return;
    }
    console.log("status", "=>", [response.status, response.statusText]);
    for (const [key, value] of response.headers) console.log(key, "=", value);
  }
  feed(data: Uint8Array): void {
    this.size += data.length;
  }
  close(): void {
    console.log(this.size, "bytes in body");
  }
}

await asyncHttp(url, new DummyConsumer());
