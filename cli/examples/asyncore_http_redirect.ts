/**
 * asyncore-example-4.py from the classic network protocols chapter: the
 * SimpleAsyncHTTP client (`simple_async_http.ts`) with a consumer layer
 * that follows 301 and 302 redirects itself. (The URL opener does this for
 * you: see `urllib2_info_geturl.ts`.)
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/asyncore_http_redirect.ts [URL]
 * ```
 *
 * Default URL: http://127.0.0.1:8080/dir (nginx redirects it to /dir/).
 *
 * @module
 */
import { asyncHttp, type HttpConsumer } from "./simple_async_http.ts";

const [url = "http://127.0.0.1:8080/dir"] = Deno.args;

class DummyConsumer implements HttpConsumer {
  size = 0;
  httpHeader(response: Response | null): void {
    if (response === null) return console.log("connection failed");
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

class RedirectingConsumer implements HttpConsumer {
  constructor(readonly consumer: HttpConsumer, readonly base: string) {}
  httpHeader(response: Response | null, close: () => void): void {
    const location = response?.headers.get("location");
    if (response === null || ![301, 302].includes(response.status) || !location) {
      return this.consumer.httpHeader?.(response, close);
    }
    // redirect!
    const uri = new URL(location, this.base).href;
    console.log("redirecting to", uri, "...");
    close();
    void asyncHttp(uri, new RedirectingConsumer(this.consumer, uri));
  }
  feed(data: Uint8Array): void {
    this.consumer.feed(data);
  }
  close(): void {
    this.consumer.close();
  }
}

await asyncHttp(url, new RedirectingConsumer(new DummyConsumer(), url));
