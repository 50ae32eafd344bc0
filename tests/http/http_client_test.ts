import { HttpClient } from "../../http/http_client.ts";
import type { HttpServer } from "../../http/http_server.ts";
import { serve } from "../../http/serve.ts";
import { assert, assertEquals, assertLessOrEqual, assertRejects } from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";

/** A server that counts the connections it accepted. */
function countingServer(
  handler: (request: Request) => Response | Promise<Response>,
  options: { keepAliveTimeout?: number } = {},
): { server: HttpServer; ports: Set<number> } {
  const ports = new Set<number>();
  const server = serve({ port: 0, ...options }, (request, info) => {
    ports.add(info.remoteAddr.port);
    return handler(request);
  });
  return { server, ports };
}

Deno.test("HttpClient reuses one keep-alive connection for sequential requests", async () => {
  const { server, ports } = countingServer((request) =>
    new Response(new URL(request.url).pathname)
  );
  await using _ = server;
  await using client = new HttpClient();
  const base = `http://127.0.0.1:${server.addr.port}`;
  for (let i = 0; i < 20; i++) {
    assertEquals(await (await client.request(`${base}/${i}`)).text(), `/${i}`);
  }
  assertEquals(ports.size, 1);
  assertEquals(client.connections, 1);
});

Deno.test("HttpClient opens at most maxSocketsPerOrigin connections and queues the rest", async () => {
  let active = 0;
  let peak = 0;
  const { server, ports } = countingServer(async () => {
    active++;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, 20));
    active--;
    return new Response("ok");
  });
  await using _ = server;
  await using client = new HttpClient({ maxSocketsPerOrigin: 3 });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const texts = await Promise.all(
    Array.from({ length: 12 }, async () => await (await client.request(url)).text()),
  );
  assertEquals(texts, Array(12).fill("ok"));
  assertLessOrEqual(ports.size, 3);
  assertLessOrEqual(peak, 3);
});

Deno.test("HttpClient evicts idle connections after idleTimeout", async () => {
  const { server, ports } = countingServer(() => new Response("ok"));
  await using _ = server;
  await using client = new HttpClient({ idleTimeout: 100 });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  await (await client.request(url)).text();
  assertEquals(client.connections, 1);
  await new Promise((r) => setTimeout(r, 350));
  assertEquals(client.connections, 0);
  await (await client.request(url)).text();
  assertEquals(ports.size, 2);
});

Deno.test("HttpClient retries once when the server closed a pooled connection", async () => {
  const { server, ports } = countingServer(() => new Response("ok"), { keepAliveTimeout: 50 });
  await using _ = server;
  await using client = new HttpClient({ idleTimeout: 10000 });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  await (await client.request(url)).text();
  await new Promise((r) => setTimeout(r, 300));
  assertEquals(await (await client.request(url)).text(), "ok");
  assertEquals(ports.size, 2);
});

Deno.test("HttpClient does not pool a connection whose body was not read to the end", async () => {
  const big = "x".repeat(200000);
  const { server, ports } = countingServer(() => new Response(big));
  await using _ = server;
  await using client = new HttpClient();
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const response = await client.request(url);
  const reader = response.body!.getReader();
  await reader.read();
  await reader.cancel();
  assertEquals((await (await client.request(url)).text()).length, big.length);
  assertEquals(ports.size, 2);
});

Deno.test("HttpClient takes a Request as input", async () => {
  await using server = serve(
    { port: 0 },
    async (request) =>
      new Response(`${request.method} ${request.headers.get("x-a")} ${await request.text()}`),
  );
  await using client = new HttpClient();
  const request = new Request(`http://127.0.0.1:${server.addr.port}/`, {
    method: "PUT",
    headers: { "x-a": "1" },
    body: "payload",
  });
  assertEquals(await (await client.request(request)).text(), "PUT 1 payload");
});

Deno.test("HttpClient sends FormData and URLSearchParams like fetch", async () => {
  await using server = serve({ port: 0 }, async (request) => {
    const form = await request.formData();
    return new Response(`${request.headers.get("content-type")?.split(";")[0]} ${form.get("a")}`);
  });
  await using client = new HttpClient();
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const form = new FormData();
  form.set("a", "multi");
  assertEquals(
    await (await client.request(url, { method: "POST", body: form })).text(),
    "multipart/form-data multi",
  );
  assertEquals(
    await (await client.request(url, { method: "POST", body: new URLSearchParams("a=url") }))
      .text(),
    "application/x-www-form-urlencoded url",
  );
});

Deno.test("HttpClient streams a large upload and download through the server", async () => {
  await using server = serve({ port: 0 }, (request) => new Response(request.body));
  await using client = new HttpClient();
  const piece = new Uint8Array(65536).fill(7);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 64) controller.close();
      else {
        sent++;
        controller.enqueue(piece);
      }
    },
  });
  const response = await client.request(`http://127.0.0.1:${server.addr.port}/`, {
    method: "POST",
    body,
  });
  let received = 0;
  for await (const chunk of response.body!) received += chunk.length;
  assertEquals(received, 64 * 65536);
});

Deno.test("HttpClient fails with the timeout and with the signal", async () => {
  await using server = serve({ port: 0 }, () => new Promise<Response>(() => {}));
  await using client = new HttpClient();
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const timeout = await assertRejects(() => client.request(url, { timeout: 50 }), DOMException);
  assertEquals(timeout.name, "TimeoutError");
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("enough")), 50);
  await assertRejects(() => client.request(url, { signal: controller.signal }), Error, "enough");
  await server.shutdown({ timeout: 10 });
});

Deno.test("HttpClient refuses other schemes, credentials in URLs and use after close", async () => {
  const client = new HttpClient();
  await assertRejects(() => client.request("ftp://127.0.0.1/"), TypeError);
  await assertRejects(() => client.request("http://u:p@127.0.0.1/"), TypeError);
  client.close();
  await assertRejects(() => client.request("http://127.0.0.1/"), TypeError);
});

Deno.test("HttpClient speaks HTTPS with extra CA certificates", async () => {
  const { cert, key, ca } = await testCert();
  await using server = serve({ port: 0, cert, key }, (request) => new Response(request.url));
  await using client = new HttpClient({ caCerts: [ca] });
  const response = await client.request(`https://localhost:${server.addr.port}/tls`);
  assertEquals(await response.text(), `https://localhost:${server.addr.port}/tls`);
});

Deno.test("HttpClient reports a refused connection", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using client = new HttpClient();
  await assertRejects(
    () => client.request(`http://127.0.0.1:${port}/`),
    Deno.errors.ConnectionRefused,
  );
  assertEquals(client.connections, 0);
});

Deno.test("HttpClient close() lets busy connections finish and then closes them", async () => {
  await using server = serve({ port: 0 }, () => new Response("done"));
  const client = new HttpClient();
  const response = await client.request(`http://127.0.0.1:${server.addr.port}/`);
  client.close();
  assertEquals(await response.text(), "done");
  assertEquals(client.connections, 0);
  assert(true);
});
