/** Response compression like Deno.serve's. */
import { serve } from "../../http/serve.ts";
import { type CompressionSettings, compressResponse } from "../../http/_compression.ts";
import { bodyHint, BYTES, hintsActive, newBodyHint } from "../../http/_response_hints.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";

const TEXT = "The truth is out there. ".repeat(200);

async function raw(port: number, head: string): Promise<{ head: string; body: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(head));
  const all = new Uint8Array(await new Response(conn.readable).arrayBuffer());
  const split = all.findIndex((_, i) =>
    all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 && all[i + 3] === 10
  );
  return {
    head: new TextDecoder().decode(all.subarray(0, split)).toLowerCase(),
    body: all.subarray(split + 4),
  };
}

function request(path: string, extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`;
}

async function decode(body: Uint8Array, format: CompressionFormat): Promise<string> {
  return await new Response(
    new Blob([dechunk(body) as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream(format),
    ),
  ).text();
}

/** Undoes chunked coding. */
function dechunk(body: Uint8Array): Uint8Array {
  const out: number[] = [];
  let at = 0;
  const text = new TextDecoder("latin1");
  for (;;) {
    const lineEnd = body.indexOf(10, at);
    const size = parseInt(text.decode(body.subarray(at, lineEnd)).trim(), 16);
    at = lineEnd + 1;
    if (size === 0) break;
    for (let i = 0; i < size; i++) out.push(body[at + i]!);
    at += size + 2;
  }
  return new Uint8Array(out);
}

Deno.test("HttpServer gzips a text response when the client accepts it, with Vary", async () => {
  await using server = serve({ port: 0 }, () => new Response(TEXT));
  const { head, body } = await raw(server.addr.port, request("/", "Accept-Encoding: gzip, br\r\n"));
  assert(head.includes("content-encoding: gzip"), head);
  assert(head.includes("vary: accept-encoding"), head);
  assertEquals(await decode(body, "gzip"), TEXT);
  assert(body.length < TEXT.length / 5);
});

Deno.test("HttpServer uses brotli when it is preferred, and weakens a strong ETag", async () => {
  await using server = serve(
    { port: 0 },
    () => Response.json({ text: TEXT }, { headers: { etag: '"v1"' } }),
  );
  const { head, body } = await raw(
    server.addr.port,
    request("/", "Accept-Encoding: br;q=1, gzip;q=0.5\r\n"),
  );
  assert(head.includes("content-encoding: br"), head);
  assert(head.includes('etag: w/"v1"'), head);
  assertEquals(JSON.parse(await decode(body, "brotli" as CompressionFormat)).text, TEXT);
});

Deno.test("HttpServer leaves small, binary, encoded, no-transform, HEAD and range responses alone", async () => {
  await using server = serve({ port: 0 }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/small") return new Response("tiny");
    if (path === "/png") {
      return new Response(new Uint8Array(5000), { headers: { "content-type": "image/png" } });
    }
    if (path === "/encoded") {
      return new Response(TEXT, { headers: { "content-encoding": "identity-ish" } });
    }
    if (path === "/nt") return new Response(TEXT, { headers: { "cache-control": "no-transform" } });
    return new Response(TEXT);
  });
  const port = server.addr.port;
  for (const path of ["/small", "/png", "/encoded", "/nt"]) {
    const { head } = await raw(port, request(path, "Accept-Encoding: gzip\r\n"));
    assert(!head.includes("content-encoding: gzip"), `${path}: ${head}`);
  }
  const ranged = await raw(port, request("/", "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n"));
  assert(!ranged.head.includes("content-encoding"), ranged.head);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(
      "HEAD / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    ),
  );
  const headOnly = (await new Response(conn.readable).text()).toLowerCase();
  assert(!headOnly.includes("content-encoding"), headOnly);
});

Deno.test("HttpServer sends identity with Vary when the client accepts no offered encoding", async () => {
  await using server = serve({ port: 0 }, () => new Response(TEXT));
  const { head, body } = await raw(
    server.addr.port,
    request("/", "Accept-Encoding: zstd, gzip;q=0\r\n"),
  );
  assert(!head.includes("content-encoding"), head);
  assert(head.includes("vary: accept-encoding"), head);
  assertEquals(new TextDecoder().decode(body).includes("The truth"), true);
});

Deno.test("HttpServer compression: false turns it off", async () => {
  await using server = serve({ port: 0, compression: false }, () => new Response(TEXT));
  const { head } = await raw(server.addr.port, request("/", "Accept-Encoding: gzip\r\n"));
  assert(!head.includes("content-encoding"), head);
});

Deno.test("curl --compressed reads a compressed streamed response", async () => {
  await using server = serve(
    { port: 0 },
    () =>
      new Response(ReadableStream.from([TEXT, TEXT].map((t) => new TextEncoder().encode(t))), {
        headers: { "content-type": "text/plain" },
      }),
  );
  const out = await new Deno.Command("curl", {
    args: ["-s", "--compressed", "-D", "-", `http://127.0.0.1:${server.addr.port}/`],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(text.toLowerCase().includes("content-encoding:"), text.slice(0, 300));
  assert(text.endsWith(TEXT + TEXT));
});

Deno.test("a compressible body sent as it is (no Accept-Encoding) keeps its in-memory form and gains Vary", async () => {
  // Touching response.body would turn the bytes into a stream and cost the
  // writer its Content-Length fast path (small files lost a quarter of
  // their speed that way).
  const settings: CompressionSettings = { threshold: 1024, encodings: ["gzip"] };
  const response = new Response(new Uint8Array(2048), {
    headers: { "content-type": "text/plain" },
  });
  assertEquals(compressResponse(response, "GET", null, false, 2048, settings, true), null);
  assertEquals(response.headers.get("vary"), "Accept-Encoding");
  if (hintsActive()) assertEquals(bodyHint(response, newBodyHint()), BYTES);
  // A response whose headers cannot change (fetch's) is copied instead.
  const fetched = await fetch(`data:text/plain,${"x".repeat(2048)}`);
  assertThrows(() => fetched.headers.set("vary", "x"), TypeError);
  const copied = compressResponse(fetched, "GET", null, false, -1, settings);
  assert(copied !== null && copied !== fetched);
  assertEquals(copied.headers.get("vary"), "Accept-Encoding");
  assertEquals(await copied.text(), "x".repeat(2048));
});
