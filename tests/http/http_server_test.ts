import { HttpServer, type ServeHandler, type ServeOptions } from "../../http/http_server.ts";
import { serve } from "../../http/serve.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLessOrEqual,
  assertMatch,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { RawClient } from "../_helpers/raw_http.ts";
import { testCert } from "../_helpers/tls.ts";

/** The test handler: says what it saw, reading the body when there is one. */
async function echoHandler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const length = request.body === null ? "-" : String((await request.bytes()).length);
  return new Response(`${request.method} ${url.host}${url.pathname}${url.search} ${length}`);
}

function start(options: ServeOptions = {}, handler: ServeHandler = echoHandler): HttpServer {
  return new HttpServer({
    port: 0,
    onError: () => new Response("oops", { status: 500 }),
    ...options,
  }, handler);
}

const OK = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

/**
 * RFC 9112 conformance and request smuggling: each vector a named case with
 * the status it must get and whether the connection must close. "keep"
 * cases prove the connection stays usable by sending a second request.
 */
const VECTORS: [string, string, number, "close" | "keep"][] = [
  ["a plain GET", OK, 200, "keep"],
  [
    "a POST with Content-Length",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    200,
    "keep",
  ],
  [
    "a chunked POST",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    200,
    "keep",
  ],
  [
    "a chunked POST with trailers",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;x=y\r\na\r\n0\r\nT: 1\r\n\r\n",
    200,
    "keep",
  ],
  [
    "Content-Length and Transfer-Encoding",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
    400,
    "close",
  ],
  [
    "Transfer-Encoding and Content-Length",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nX",
    400,
    "close",
  ],
  [
    "different Content-Length fields",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    400,
    "close",
  ],
  [
    "Content-Length +5",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
    400,
    "close",
  ],
  [
    "Content-Length 0x5",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello",
    400,
    "close",
  ],
  [
    "Content-Length 5 5",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\nhello",
    400,
    "close",
  ],
  [
    "an empty Content-Length",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
    400,
    "close",
  ],
  [
    "a huge Content-Length",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
    400,
    "close",
  ],
  [
    "chunked not last",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    400,
    "close",
  ],
  [
    "chunked twice",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
    "close",
  ],
  [
    "a mangled chunked",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    400,
    "close",
  ],
  [
    "a chunked with a vertical tab",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
    400,
    "close",
  ],
  [
    "gzip before chunked",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    501,
    "close",
  ],
  [
    "Transfer-Encoding on HTTP/1.0",
    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
    "close",
  ],
  [
    "a space before the colon",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    400,
    "close",
  ],
  ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, "close"],
  ["a bare CR", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, "close"],
  ["a bare LF", "GET / HTTP/1.1\nHost: a\n\n", 400, "close"],
  ["NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400, "close"],
  ["an empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400, "close"],
  [
    "a chunk size with a sign",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
    400,
    "close",
  ],
  [
    "a chunk size with 0x",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    400,
    "close",
  ],
  [
    "a chunk size that overflows",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nx\r\n0\r\n\r\n",
    400,
    "close",
  ],
  [
    "a bad chunk extension",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;\x01\r\nhello\r\n0\r\n\r\n",
    400,
    "close",
  ],
  [
    "chunk data without CRLF",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
    400,
    "close",
  ],
  ["a malformed method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "close"],
  ["two spaces in the request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "close"],
  ["a target without a slash", "GET foo HTTP/1.1\r\nHost: a\r\n\r\n", 400, "close"],
  ["a lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, "close"],
  ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "close"],
  ["the HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "close"],
  ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400, "close"],
  ["two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "close"],
  ["a Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "close"],
  ["an unknown expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", 417, "close"],
  ["HTTP/1.0 without keep-alive", "GET / HTTP/1.0\r\n\r\n", 200, "close"],
  ["HTTP/1.0 with keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, "keep"],
  ["Connection: close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200, "close"],
  ["an absolute-form target", "GET http://b.test/x HTTP/1.1\r\nHost: a\r\n\r\n", 200, "keep"],
  ["OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 200, "keep"],
  ["empty lines before the request", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 200, "keep"],
];

for (const [name, input, status, after] of VECTORS) {
  Deno.test(`HttpServer answers ${name} with ${status} and ${after === "close" ? "closes" : "keeps the connection"}`, async () => {
    await using server = start();
    using client = await RawClient.connect(server.addr.port);
    await client.send(input);
    const response = await client.response();
    assertEquals(response.status, status);
    if (after === "close") {
      assert(await client.closedWithin(2000), "the server kept the connection open");
    } else {
      assertEquals(response.get("connection")?.toLowerCase() === "close", false);
      await client.send(OK);
      assertEquals((await client.response()).status, 200);
    }
  });
}

Deno.test("HttpServer builds request.url from Host, or uses an absolute-form target", async () => {
  await using server = start();
  using client = await RawClient.connect(server.addr.port);
  await client.send("GET /p?q=1 HTTP/1.1\r\nHost: example.test:8080\r\n\r\n");
  assertEquals((await client.response()).body, "GET example.test:8080/p?q=1 -");
  await client.send("GET http://other.test/x HTTP/1.1\r\nHost: example.test\r\n\r\n");
  assertEquals((await client.response()).body, "GET other.test/x -");
  await client.send("GET /y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  assertEquals((await client.response()).body, `GET 127.0.0.1:${server.addr.port}/y -`);
});

Deno.test("HttpServer refuses a long request line with 414", async () => {
  await using server = start({ maxRequestLineSize: 100 });
  using client = await RawClient.connect(server.addr.port);
  await client.send(`GET /${"a".repeat(200)} HTTP/1.1\r\nHost: a\r\n\r\n`);
  assertEquals((await client.response()).status, 414);
  assert(await client.closedWithin(2000));
});

Deno.test("HttpServer refuses a large header section with 431", async () => {
  await using server = start({ maxHeaderSize: 200 });
  using client = await RawClient.connect(server.addr.port);
  await client.send(`GET / HTTP/1.1\r\nHost: a\r\nX: ${"b".repeat(300)}\r\n\r\n`);
  assertEquals((await client.response()).status, 431);
  assert(await client.closedWithin(2000));
});

Deno.test("HttpServer refuses too many header fields with 431", async () => {
  await using server = start({ maxHeaderCount: 10 });
  using client = await RawClient.connect(server.addr.port);
  await client.send("GET / HTTP/1.1\r\nHost: a\r\n" + "X: y\r\n".repeat(10) + "\r\n");
  assertEquals((await client.response()).status, 431);
});

Deno.test("HttpServer answers 413 when a buffered body read exceeds maxBodySize", async () => {
  await using server = start({ maxBodySize: 10 });
  using client = await RawClient.connect(server.addr.port);
  await client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n" + "x".repeat(20));
  assertEquals((await client.response()).status, 413);
  using chunked = await RawClient.connect(server.addr.port);
  await chunked.send(
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
  );
  assertEquals((await chunked.response()).status, 413);
});

Deno.test("HttpServer answers 400 when a chunked body ends early", async () => {
  await using server = start();
  using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
  );
  await client.conn.closeWrite();
  assertEquals((await client.response()).status, 400);
});

Deno.test("HttpServer answers pipelined requests in order", async () => {
  await using server = start();
  using client = await RawClient.connect(server.addr.port);
  await client.send(
    "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
      "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n" +
      "HEAD /4 HTTP/1.1\r\nHost: a\r\n\r\n" +
      "GET /5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
  );
  assertEquals((await client.response()).body, "GET a/1 -");
  assertEquals((await client.response()).body, "POST a/2 3");
  assertEquals((await client.response()).body, "POST a/3 2");
  const head = await client.response(true);
  assertEquals([head.status, head.get("content-length")], [200, "10"]);
  assertEquals((await client.response()).body, "GET a/5 -");
  assert(await client.closedWithin(2000));
});

Deno.test("HttpServer keeps one connection for many requests", async () => {
  await using server = start();
  using client = await RawClient.connect(server.addr.port);
  for (let i = 0; i < 50; i++) {
    await client.send(`GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assertEquals((await client.response()).body, `GET a/${i} -`);
  }
  assertEquals(server.connections, 1);
});

Deno.test("HttpServer sends 100 Continue when the handler reads the body", async () => {
  await using server = start();
  using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
  );
  const interim = await client.response();
  assertEquals([interim.status, interim.statusText], [100, "Continue"]);
  await client.send("hello");
  assertEquals((await client.response()).body, "POST a/ 5");
});

Deno.test("HttpServer skips 100 Continue and closes when the handler ignores the body", async () => {
  await using server = start({}, () => new Response("no thanks", { status: 401 }));
  using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
  );
  const response = await client.response();
  assertEquals([response.status, response.get("connection")], [401, "close"]);
});

Deno.test("HttpServer drains a small unread body and keeps the connection", async () => {
  await using server = start({}, () => new Response("ignored"));
  using client = await RawClient.connect(server.addr.port);
  await client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789");
  assertEquals((await client.response()).get("connection"), null);
  await client.send(OK);
  assertEquals((await client.response()).status, 200);
});

Deno.test("HttpServer closes instead of draining a large unread body", async () => {
  await using server = start({ maxDrainSize: 100 }, () => new Response("ignored"));
  using client = await RawClient.connect(server.addr.port);
  await client.send(
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + "x".repeat(1000),
  );
  assertEquals((await client.response()).get("connection"), "close");
  assert(await client.closedWithin(3000));
});

Deno.test("HttpServer streams request bodies with backpressure", async () => {
  let pulls = 0;
  await using server = start({}, async (request) => {
    const reader = request.body!.getReader();
    let total = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pulls++;
      total += value.length;
    }
    return new Response(String(total));
  });
  using client = await RawClient.connect(server.addr.port);
  const body = "x".repeat(300000);
  await client.send(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`);
  await client.send(body);
  assertEquals((await client.response()).body, "300000");
  assert(pulls > 1, "the body arrived in one piece");
});

/**
 * A body of unknown length that arrives over time (a timer per piece): the
 * server cannot know its length on any path, with or without the fast
 * paths (which, when off, let a body that is complete at once be sent with
 * its length).
 */
function trickle(...texts: string[]): ReadableStream<Uint8Array> {
  const pieces = texts.map((text) => new TextEncoder().encode(text));
  return new ReadableStream({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const piece = pieces.shift();
      if (piece === undefined) controller.close();
      else controller.enqueue(piece);
    },
  });
}

Deno.test("HttpServer answers HEAD with headers only, and 204/304 without bodies", async () => {
  await using server = start({}, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/204") return new Response(null, { status: 204 });
    if (path === "/304") return new Response(null, { status: 304, headers: { etag: '"x"' } });
    if (path === "/stream") return new Response(trickle("abc"));
    if (path === "/declared") return new Response(null, { headers: { "content-length": "6" } });
    return new Response("hello");
  });
  using client = await RawClient.connect(server.addr.port);
  await client.send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
  const head = await client.response(true);
  assertEquals([head.status, head.get("content-length")], [200, "5"]);
  await client.send("GET /204 HTTP/1.1\r\nHost: a\r\n\r\n");
  const noContent = await client.response();
  assertEquals([noContent.status, noContent.get("content-length")], [204, null]);
  await client.send("GET /304 HTTP/1.1\r\nHost: a\r\n\r\n");
  const notModified = await client.response();
  assertEquals([notModified.status, notModified.get("etag")], [304, '"x"']);
  await client.send("HEAD /stream HTTP/1.1\r\nHost: a\r\n\r\n");
  const streamHead = await client.response(true);
  assertEquals([streamHead.get("transfer-encoding"), streamHead.get("content-length")], [
    null,
    null,
  ]);
  // A HEAD answer without a body keeps the length the handler declared for GET.
  await client.send("HEAD /declared HTTP/1.1\r\nHost: a\r\n\r\n");
  assertEquals((await client.response(true)).get("content-length"), "6");
  await client.send("GET /declared HTTP/1.1\r\nHost: a\r\n\r\n");
  assertEquals((await client.response()).get("content-length"), "0");
  // The connection is still in step: nothing stray was sent.
  await client.send(OK);
  assertEquals((await client.response()).body, "hello");
});

Deno.test("HttpServer frames bodies: Content-Length when known, chunked for streams", async () => {
  const encoder = new TextEncoder();
  await using server = start({}, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/bytes") return new Response(new Uint8Array([1, 2, 3]));
    if (path === "/blob") return new Response(new Blob(["blob!"]));
    if (path === "/json") return Response.json({ a: 1 });
    if (path === "/form") return new Response(new URLSearchParams("a=1"));
    if (path === "/sized") {
      return new Response(ReadableStream.from([encoder.encode("ab"), encoder.encode("cd")]), {
        headers: { "content-length": "4" },
      });
    }
    return new Response(trickle("ab", "cd"), {
      headers: { "transfer-encoding": "gzip", "x-a": "1" },
    });
  });
  using client = await RawClient.connect(server.addr.port);
  const get = async (path: string) => {
    await client.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
    return await client.response();
  };
  assertEquals((await get("/bytes")).get("content-length"), "3");
  const blob = await get("/blob");
  assertEquals([blob.get("content-length"), blob.body], ["5", "blob!"]);
  const json = await get("/json");
  assertEquals([json.get("content-type"), json.body], ["application/json", '{"a":1}']);
  assertEquals(
    (await get("/form")).get("content-type"),
    "application/x-www-form-urlencoded;charset=UTF-8",
  );
  const sized = await get("/sized");
  assertEquals([sized.get("content-length"), sized.get("transfer-encoding"), sized.body], [
    "4",
    null,
    "abcd",
  ]);
  const stream = await get("/stream");
  assertEquals([stream.get("transfer-encoding"), stream.get("x-a"), stream.body], [
    "chunked",
    "1",
    "abcd",
  ]);
  assert(stream.get("date") !== null);
});

Deno.test("HttpServer sends a stream to an HTTP/1.0 client delimited by close", async () => {
  await using server = start(
    {},
    () => new Response(trickle("old")),
  );
  using client = await RawClient.connect(server.addr.port);
  await client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const response = await client.response();
  assertEquals([response.version, response.get("connection"), response.body], [
    "HTTP/1.1",
    "close",
    "old",
  ]);
});

Deno.test("HttpServer closes the connection when a stream body breaks its Content-Length", async () => {
  await using server = start(
    {},
    () =>
      new Response(ReadableStream.from([new TextEncoder().encode("short")]), {
        headers: { "content-length": "10" },
      }),
  );
  using client = await RawClient.connect(server.addr.port);
  await client.send(OK);
  const head = await client.response(true);
  assertEquals(head.get("content-length"), "10");
  const rest = new Uint8Array(64);
  let got = 0;
  for (;;) {
    const n = await client.reader.read(rest.subarray(got));
    if (n === null) break;
    got += n;
  }
  assertEquals(got, 5);
});

Deno.test("HttpServer turns handler errors into a 500 without details", async () => {
  const seen: unknown[] = [];
  await using server = new HttpServer({ port: 0, onError: undefined }, () => {
    throw new Error("secret detail");
  });
  const original = console.error;
  console.error = (...args: unknown[]) => void seen.push(args);
  try {
    using client = await RawClient.connect(server.addr.port);
    await client.send(OK);
    const response = await client.response();
    assertEquals(response.status, 500);
    assertEquals(response.body.includes("secret"), false);
  } finally {
    console.error = original;
  }
  assertEquals(seen.length, 1);
});

Deno.test("HttpServer uses onError's response, and a 500 if onError fails too", async () => {
  await using server = new HttpServer({
    port: 0,
    onError: (error) => {
      if ((error as Error).message === "twice") throw error;
      return new Response("custom", { status: 503 });
    },
  }, (request) => {
    throw new Error(new URL(request.url).pathname === "/twice" ? "twice" : "once");
  });
  using client = await RawClient.connect(server.addr.port);
  await client.send(OK);
  const custom = await client.response();
  assertEquals([custom.status, custom.body], [503, "custom"]);
  await client.send("GET /twice HTTP/1.1\r\nHost: a\r\n\r\n");
  assertEquals((await client.response()).status, 500);
});

Deno.test("HttpServer answers 500 when a handler sets CRLF in a header", async () => {
  let thrown: unknown = null;
  await using server = start({}, () => {
    try {
      return new Response("x", { headers: { "x-evil": "a\r\nSet-Cookie: b" } });
    } catch (error) {
      thrown = error;
      throw error;
    }
  });
  using client = await RawClient.connect(server.addr.port);
  await client.send(OK);
  const response = await client.response();
  assertEquals(response.status, 500);
  assertEquals(response.get("set-cookie"), null);
  assertInstanceOf(thrown, TypeError);
});

Deno.test("HttpServer answers 500 for a handler that returns no Response", async () => {
  await using server = start({}, () => "text" as unknown as Response);
  using client = await RawClient.connect(server.addr.port);
  await client.send(OK);
  assertEquals((await client.response()).status, 500);
});

Deno.test("HttpServer writes an access log with quotes escaped", async () => {
  const lines: string[] = [];
  await using server = start({ accessLog: (line) => lines.push(line) });
  using client = await RawClient.connect(server.addr.port);
  await client.send('GET /a"b\\c HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n');
  await client.response();
  assertEquals((await client.response()).status, 400);
  assertMatch(
    lines[0]!,
    /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/a\\x22b\\x5cc HTTP\/1\.1" 200 \d+$/,
  );
  assertStringIncludes(lines[1]!, '"GET / HTTP/1.1" 400 -');
});

Deno.test("HttpServer serves others while a client trickles its head (slowloris)", async () => {
  await using server = start({ headersTimeout: 600 });
  using slow = await RawClient.connect(server.addr.port);
  const trickle = (async () => {
    try {
      for (const c of "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ") {
        await slow.send(c);
        await new Promise((r) => setTimeout(r, 20));
      }
      for (;;) {
        await slow.send("x");
        await new Promise((r) => setTimeout(r, 50));
      }
    } catch {
      // closed by the server
    }
  })();
  for (let i = 0; i < 5; i++) {
    using quick = await RawClient.connect(server.addr.port);
    const started = performance.now();
    await quick.send(OK);
    assertEquals((await quick.response()).status, 200);
    assertLessOrEqual(performance.now() - started, 500);
  }
  // The whole head has a deadline, however the bytes trickle in.
  const timedOut = await slow.response();
  assertEquals(timedOut.status, 408);
  await trickle;
});

Deno.test("HttpServer closes an idle keep-alive connection after keepAliveTimeout", async () => {
  await using server = start({ keepAliveTimeout: 200 });
  using client = await RawClient.connect(server.addr.port);
  await client.send(OK);
  await client.response();
  const started = performance.now();
  assert(await client.closedWithin(3000));
  assert(performance.now() - started >= 150);
});

Deno.test("HttpServer stops reading a pipelining flood from a client that never reads", async () => {
  let handled = 0;
  const big = "x".repeat(32768);
  await using server = start({}, () => {
    handled++;
    return new Response(big);
  });
  using client = await RawClient.connect(server.addr.port);
  const count = 2000; // 64 MiB of responses: far more than the socket buffers hold
  const flood = OK.repeat(count);
  const sending = client.send(flood);
  await new Promise((r) => setTimeout(r, 500));
  const stalled = handled;
  await new Promise((r) => setTimeout(r, 300));
  // The server is blocked writing: it stopped taking requests off the wire.
  assertEquals(handled, stalled);
  assert(handled < count / 4, `handled ${handled} of ${count} without the client reading`);
  // Reading drains everything, in order.
  for (let i = 0; i < count; i++) assertEquals((await client.response()).body.length, big.length);
  await sending;
  assertEquals(handled, count);
});

Deno.test("HttpServer shutdown closes idle connections and finishes requests in flight", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  const server = start({}, async (request) => {
    if (new URL(request.url).pathname !== "/slow") return new Response("quick");
    entered();
    await gate;
    return new Response("finished");
  });
  using idle = await RawClient.connect(server.addr.port);
  await idle.send(OK);
  await idle.response();
  using busy = await RawClient.connect(server.addr.port);
  await busy.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
  await inHandler;
  const shutdown = server.shutdown({ timeout: 5000 });
  assert(await idle.closedWithin(2000), "the idle connection stayed open");
  release();
  const response = await busy.response();
  assertEquals([response.body, response.get("connection")], ["finished", "close"]);
  await shutdown;
  await server.finished;
  await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }).then(
    (conn) => {
      conn.close();
      throw new Error("still accepting");
    },
    (error) => assertInstanceOf(error, Deno.errors.ConnectionRefused),
  );
});

Deno.test("HttpServer shutdown force-closes requests that outlive the timeout", async () => {
  const server = start({}, () => new Promise<Response>(() => {}));
  using client = await RawClient.connect(server.addr.port);
  await client.send(OK);
  await new Promise((r) => setTimeout(r, 50));
  await server.shutdown({ timeout: 100 });
  assert(await client.closedWithin(2000));
});

Deno.test("HttpServer stops when its signal aborts", async () => {
  const controller = new AbortController();
  const server = start({ signal: controller.signal });
  controller.abort();
  await server.finished;
});

Deno.test("ServeHandlerInfo gives addresses, version, raw target and completion", async () => {
  let completed: Promise<void> | null = null;
  const seen: string[] = [];
  await using server = start({}, (_request, info) => {
    seen.push(
      `${info.remoteAddr.hostname} ${info.localAddr.port} ${info.version} ${info.target}`,
    );
    completed = info.completed;
    return new Response("x");
  });
  using client = await RawClient.connect(server.addr.port);
  await client.send("GET /a%20b?c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  await client.response();
  await completed;
  assertEquals(seen, [`127.0.0.1 ${server.addr.port} HTTP/1.0 /a%20b?c`]);
});

Deno.test("ServeHandlerInfo.upgrade hands over the connection for a CONNECT tunnel", async () => {
  await using server = start({}, async (request, info) => {
    assertEquals([request.method, info.target], ["CONNECT", "example.test:443"]);
    const tunnel = await info.upgrade({ status: 200, statusText: "Connection Established" });
    (async () => {
      const writer = tunnel.writable.getWriter();
      for await (const chunk of tunnel.readable) {
        await writer.write(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase()));
        if (new TextDecoder().decode(chunk).includes("bye")) break;
      }
      tunnel.close();
    })();
    return new Response(null);
  });
  using client = await RawClient.connect(server.addr.port);
  await client.send("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\nearly ");
  const established = await client.response(true);
  assertEquals([established.status, established.statusText], [200, "Connection Established"]);
  const buf = new Uint8Array(100);
  const n = await client.reader.read(buf);
  assertEquals(new TextDecoder().decode(buf.subarray(0, n!)), "EARLY ");
  await client.send("bye");
  const m = await client.reader.read(buf);
  assertEquals(new TextDecoder().decode(buf.subarray(0, m!)), "BYE");
  assert(await client.closedWithin(2000));
});

Deno.test("Requests from the server work with Deno's own Request code", async () => {
  await using server = start({}, async (request) => {
    assert(request instanceof Request);
    // As with any Request: clone first, since new Request(request) takes the body.
    const clone = request.clone();
    const copy = new Request(request);
    return new Response(
      `${copy.method} ${copy.url} ${copy.headers.get("x-a")} ${await clone
        .text()} ${request.redirect}`,
    );
  });
  using client = await RawClient.connect(server.addr.port);
  await client.send("POST /r HTTP/1.1\r\nHost: h.test\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nabc");
  assertEquals((await client.response()).body, "POST http://h.test/r 1 abc follow");
});

Deno.test("Requests from the server decode JSON and forms and refuse a second read", async () => {
  await using server = start({}, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/json") return new Response(JSON.stringify(await request.json()));
    if (path === "/form") return new Response((await request.formData()).get("a") as string);
    await request.text();
    try {
      await request.text();
      return new Response("read twice");
    } catch (error) {
      return new Response((error as Error).name);
    }
  });
  using client = await RawClient.connect(server.addr.port);
  await client.send('POST /json HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n{"a":1}');
  assertEquals((await client.response()).body, '{"a":1}');
  await client.send(
    "POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 6\r\n\r\na=b%21",
  );
  assertEquals((await client.response()).body, "b!");
  await client.send("POST /twice HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz");
  assertEquals((await client.response()).body, "TypeError");
});

Deno.test("serve() accepts the three call shapes of Deno.serve and calls onListen", async () => {
  const listened: number[] = [];
  const handler = () => new Response("ok");
  const servers = [
    serve({ port: 0, onListen: (addr) => listened.push(addr.port) }, handler),
    serve({ port: 0, handler, onListen: (addr) => listened.push(addr.port) }),
  ];
  for (const server of servers) {
    using client = await RawClient.connect(server.addr.port);
    await client.send(OK);
    assertEquals((await client.response()).body, "ok");
  }
  assertEquals(listened, servers.map((s) => s.addr.port));
  for (const server of servers) await server.shutdown();
});

Deno.test("serve() speaks HTTPS with cert and key", async () => {
  const { cert, key, ca } = await testCert();
  await using server = serve({ port: 0, cert, key }, (request) => new Response(request.url));
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: server.addr.port,
    caCerts: [ca],
    serverName: "localhost",
  } as Deno.ConnectTlsOptions);
  using client = Object.assign(Object.create(RawClient.prototype), {
    conn,
    reader: new (await import("../../net/buffered_reader.ts")).BufferedReader(conn),
  }) as RawClient;
  await client.send("GET /secure HTTP/1.1\r\nHost: localhost\r\n\r\n");
  assertEquals((await client.response()).body, "https://localhost/secure");
});

Deno.test("HttpServer rejects invalid options", () => {
  for (const options of [{ maxBodySize: -1 }, { headersTimeout: 1.5 }, { maxHeaderCount: 0 }]) {
    let error: unknown = null;
    try {
      new HttpServer({ port: 0, ...options }, () => new Response());
    } catch (e) {
      error = e;
    }
    assertInstanceOf(error, RangeError);
  }
});

Deno.test("statusForError maps request errors to statuses", async () => {
  const { statusForError } = await import("../../http/_server_conn.ts");
  assertEquals(statusForError(new ProtocolError("URI_TOO_LONG", "")), 414);
  assertEquals(statusForError(new ProtocolError("TOO_MANY_FIELDS", "")), 431);
  assertEquals(statusForError(new ProtocolError("BAD_CHUNK", "")), 400);
});

Deno.test("HttpServer survives random bytes and keeps serving (seeded)", async () => {
  const { prng } = await import("../_helpers/sources.ts");
  const random = prng(9112);
  const pieces = [
    "GET ",
    "POST ",
    "/ ",
    "HTTP/1.1",
    "\r\n",
    "\n",
    "\r",
    "Host: a",
    "Content-Length: 3",
    "Transfer-Encoding: chunked",
    ": ",
    " ",
    "\0",
    "0\r\n\r\n",
    "5\r\n",
    "abc",
    "\x7f",
    "\xff",
  ];
  await using server = start({ headersTimeout: 300 });
  for (let round = 0; round < 40; round++) {
    let text = "";
    for (let i = 0; i < 2 + Math.floor(random() * 12); i++) {
      text += pieces[Math.floor(random() * pieces.length)];
    }
    using client = await RawClient.connect(server.addr.port);
    await client.send(new Uint8Array(Array.from(text, (c) => c.charCodeAt(0) & 255)));
    await client.conn.closeWrite();
    // Whatever came back must be well-formed responses, then the end.
    const buf = new Uint8Array(65536);
    let got = "";
    for (;;) {
      const n = await client.reader.read(buf).catch(() => null);
      if (n === null) break;
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    for (const status of got.match(/^HTTP\/1\.1 \d{3}/gm) ?? []) {
      assert(
        /HTTP\/1\.1 (200|400|408|413|414|417|431|501|505)/.test(status),
        `${JSON.stringify(text)} -> ${status}`,
      );
    }
  }
  using after = await RawClient.connect(server.addr.port);
  await after.send(OK);
  assertEquals((await after.response()).status, 200);
});

Deno.test("HttpServer.serveConnection() serves HTTP on an in-memory duplex", async () => {
  await using server = serve(
    { port: 0 },
    (request, info) =>
      new Response(
        `${request.method} ${new URL(request.url).pathname} from ${info.remoteAddr.hostname}`,
      ),
  );
  const wire = new TextEncoder().encode(
    "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  const out: Uint8Array[] = [];
  const conn = {
    readable: ReadableStream.from([wire]),
    writable: new WritableStream<Uint8Array>({ write: (c) => void out.push(c) }),
    close() {},
  };
  await server.serveConnection(conn, {
    remoteAddr: { transport: "tcp", hostname: "192.0.2.7", port: 1 },
  });
  const text = new TextDecoder().decode(concat(out));
  assertStringIncludes(text, "GET /a from 192.0.2.7");
  assertStringIncludes(text, "GET /b from 192.0.2.7");
  assertEquals(text.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
});

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
