/**
 * HttpClient's bounds: buffered helpers capped by maxBodySize while
 * streaming stays unbounded, the read timeout on a stalled body, and the
 * response URL.
 */
import { HttpClient } from "../../http/http_client.ts";
import { serve } from "../../http/serve.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { urlopen } from "../../url/urlopen.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";

/** A server whose body never ends (chunked, 64 KiB at a time). */
function endlessServer() {
  return serve({ port: 0 }, () => {
    const chunk = new Uint8Array(65536).fill(120);
    return new Response(
      new ReadableStream({ pull: (c) => c.enqueue(chunk) }, { highWaterMark: 0 }),
    );
  });
}

Deno.test("HttpClient text() on an endless chunked body stops at maxBodySize", async () => {
  await using server = endlessServer();
  await using client = new HttpClient({ maxBodySize: 1 << 20 });
  const response = await client.request(`http://127.0.0.1:${server.addr.port}/`);
  const error = await assertRejects(() => response.arrayBuffer(), ProtocolError);
  assertEquals(error.code, "BODY_TOO_LARGE");
});

Deno.test("HttpClient streams past maxBodySize when the body is read as a stream", async () => {
  await using server = endlessServer();
  await using client = new HttpClient({ maxBodySize: 65536 });
  const response = await client.request(`http://127.0.0.1:${server.addr.port}/`);
  const reader = response.body!.getReader();
  let received = 0;
  while (received < 4 << 20) received += (await reader.read()).value!.length;
  await reader.cancel();
  assert(received >= 4 << 20);
});

Deno.test("urlopen() buffered helpers are capped by the default 16 MiB", async () => {
  await using server = endlessServer();
  const response = await urlopen(`http://127.0.0.1:${server.addr.port}/`);
  const error = await assertRejects(() => response.text(), ProtocolError);
  assertEquals(error.code, "BODY_TOO_LARGE");
});

Deno.test("HttpClient maxBodySize does not refuse a sized body within it, nor Infinity anything", async () => {
  const big = "y".repeat(300000);
  await using server = serve({ port: 0 }, () => new Response(big));
  await using client = new HttpClient({ maxBodySize: 400000 });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  assertEquals((await (await client.request(url)).text()).length, big.length);
  await using unlimited = new HttpClient({ maxBodySize: Infinity });
  assertEquals((await (await unlimited.request(url)).text()).length, big.length);
});

Deno.test("HttpClient readTimeout fails a body that stalls, not one that trickles", async () => {
  await using server = serve({ port: 0 }, (request) => {
    const stall = new URL(request.url).pathname === "/stall";
    let n = 0;
    return new Response(
      new ReadableStream({
        async pull(c) {
          if (n++ === 5) {
            if (stall) await new Promise((r) => setTimeout(r, 1000));
            c.close();
            return;
          }
          await new Promise((r) => setTimeout(r, 60));
          c.enqueue(new TextEncoder().encode("."));
        },
      }, { highWaterMark: 0 }),
    );
  });
  await using client = new HttpClient({ readTimeout: 200 });
  const base = `http://127.0.0.1:${server.addr.port}`;
  assertEquals(await (await client.request(`${base}/trickle`)).text(), ".....");
  const response = await client.request(`${base}/stall`);
  const error = await assertRejects(() => response.text());
  assertEquals((error as unknown as DOMException).name, "TimeoutError");
  await server.shutdown({ timeout: 100 });
});

Deno.test("HttpClient responses carry the request URL like fetch's", async () => {
  await using server = serve({ port: 0 }, () => new Response("ok"));
  await using client = new HttpClient();
  const url = `http://127.0.0.1:${server.addr.port}/path?q=1`;
  const response = await client.request(url);
  assertEquals(response.url, url);
  await response.text();
});
