/**
 * request.signal aborts when the client disconnects while the handler runs,
 * as Deno.serve's does; info.completed reports the failure.
 */
import { serve } from "../../http/serve.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("request.signal aborts when the client disconnects mid-handler", async () => {
  let resolveAborted!: (reason: unknown) => void;
  const aborted = new Promise((r) => (resolveAborted = r));
  let completed: Promise<void> | undefined;
  await using server = serve({ port: 0 }, async (request, info) => {
    completed = info.completed;
    request.signal.addEventListener("abort", () => resolveAborted(request.signal.reason));
    await Promise.race([aborted, sleep(5000)]);
    return new Response("too late");
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await conn.write(new TextEncoder().encode("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  await sleep(50);
  conn.close();
  const reason = await Promise.race([aborted, sleep(2000).then(() => "not aborted")]);
  assert(reason instanceof DOMException, String(reason));
  assertEquals((reason as DOMException).name, "AbortError");
  let failed = false;
  await completed!.catch(() => (failed = true));
  assert(failed, "info.completed must reject for an undelivered response");
});

Deno.test("a client that disconnects after sending its body also aborts the signal", async () => {
  let resolveAborted!: () => void;
  const aborted = new Promise<void>((r) => (resolveAborted = r));
  await using server = serve({ port: 0 }, async (request) => {
    await request.text();
    request.signal.addEventListener("abort", () => resolveAborted());
    await Promise.race([aborted, sleep(5000)]);
    return new Response("x");
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await conn.write(
    new TextEncoder().encode("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
  );
  await sleep(50);
  conn.close();
  assertEquals(
    await Promise.race([aborted.then(() => "aborted"), sleep(2000).then(() => "no")]),
    "aborted",
  );
});

Deno.test("a pipelined request that arrives while the handler runs is still served", async () => {
  await using server = serve({ port: 0 }, async (request) => {
    await sleep(30);
    return new Response(new URL(request.url).pathname);
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await conn.write(new TextEncoder().encode("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"));
  await sleep(10);
  await conn.write(
    new TextEncoder().encode("GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
  );
  const text = await new Response(conn.readable).text();
  assert(text.includes("\r\n\r\n/one"), text);
  assert(text.endsWith("/two"), text);
});
