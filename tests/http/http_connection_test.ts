import { HttpConnection } from "../../http/http_connection.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assert, assertEquals, assertInstanceOf, assertRejects } from "../_helpers/assert.ts";
import { ScriptedPeer, type ScriptStep } from "../_helpers/scripted_peer.ts";

function peer(steps: ScriptStep[]): [ScriptedPeer, HttpConnection] {
  const scripted = new ScriptedPeer(steps);
  return [scripted, new HttpConnection(scripted, { host: "example.test" })];
}

Deno.test("HttpConnection.request() writes a GET and reads a Content-Length body", async () => {
  const [scripted, http] = peer([
    { expect: "GET /a?b=1 HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello" },
  ]);
  const response = await http.request("/a?b=1", { headers: { Accept: "*/*" } });
  assertEquals([response.status, response.statusText], [200, "OK"]);
  assertEquals(response.headers.get("content-type"), "text/plain");
  assertEquals(await response.text(), "hello");
  assert(http.reusable);
  await scripted.done;
  http.close();
});

Deno.test("HttpConnection.request() sends a string body with Content-Length and a type", async () => {
  const [scripted, http] = peer([
    {
      expect: "POST /form HTTP/1.1\r\nHost: example.test\r\n" +
        "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 5\r\n\r\nhello",
    },
    { send: "HTTP/1.1 204 No Content\r\n\r\n" },
  ]);
  const response = await http.request("/form", { method: "POST", body: "hello" });
  assertEquals([response.status, response.body], [204, null]);
  await scripted.done;
  http.close();
});

Deno.test("HttpConnection.request() sends Content-Length: 0 for an empty POST", async () => {
  const [scripted, http] = peer([
    { expect: "POST / HTTP/1.1\r\nHost: X\r\nContent-Length: 0\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" },
  ]);
  const response = await http.request("/", { method: "POST", headers: [["Host", "X"]] });
  assertEquals(await response.text(), "");
  await scripted.done;
  http.close();
});

Deno.test("HttpConnection.request() uploads a stream chunked and reads a chunked response", async () => {
  const encoder = new TextEncoder();
  const [scripted, http] = peer([
    { expect: "PUT /up HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n" },
    { expect: "3\r\nabc\r\n" },
    { expect: "2\r\nde\r\n" },
    { expect: "0\r\n\r\n" },
    {
      send:
        "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
    },
  ]);
  const body = ReadableStream.from([
    encoder.encode("abc"),
    new Uint8Array(0),
    encoder.encode("de"),
  ]);
  const response = await http.request("/up", { method: "PUT", body });
  assertEquals([response.status, await response.text()], [201, "ok"]);
  assert(http.reusable);
  await scripted.done;
  http.close();
});

Deno.test("HttpConnection.request() streams a body with the caller's Content-Length", async () => {
  const [scripted, http] = peer([
    { expect: "POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 4\r\n\r\nabcd" },
    { send: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" },
  ]);
  const response = await http.request("/", {
    method: "POST",
    headers: new Headers({ "content-length": "4" }),
    body: ReadableStream.from([new TextEncoder().encode("abcd")]),
  });
  await response.body?.cancel();
  await scripted.done;
  http.close();
});

Deno.test("HttpConnection.request() reads HEAD responses without a body", async () => {
  const [scripted, http] = peer([
    { expect: "HEAD / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" },
    { expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz" },
  ]);
  const head = await http.request("/", { method: "HEAD" });
  assertEquals([head.body, head.headers.get("content-length")], [null, "1000"]);
  assert(http.reusable);
  assertEquals(await (await http.request("/")).text(), "z");
  await scripted.done;
  http.close();
});

Deno.test("HttpConnection.request() skips interim responses", async () => {
  const [scripted, http] = peer([
    { expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    {
      send: "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n" +
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    },
  ]);
  const response = await http.request("/");
  assertEquals([response.status, await response.text()], [200, "ok"]);
  await scripted.done;
  http.close();
});

Deno.test("HttpConnection.request() refuses endless interim responses", async () => {
  const scripted = new ScriptedPeer([
    { expect: "GET / HTTP/1.1\r\nHost: x\r\n\r\n" },
    { send: "HTTP/1.1 100 Continue\r\n\r\n".repeat(4) },
  ]);
  const http = new HttpConnection(scripted, { host: "x", max1xxResponses: 3 });
  const error = await assertRejects(() => http.request("/"), ProtocolError);
  assertEquals(error.code, "TOO_MANY_INTERIM");
  assert(http.closed);
});

const BAD_STATUS: [string, string][] = [
  ["an unasked 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"],
  ["a status above 599", "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n"],
];
for (const [name, reply] of BAD_STATUS) {
  Deno.test(`HttpConnection.request() refuses ${name} with BAD_STATUS_LINE`, async () => {
    const [, http] = peer([{ expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" }, {
      send: reply,
    }]);
    const error = await assertRejects(() => http.request("/"), ProtocolError);
    assertEquals(error.code, "BAD_STATUS_LINE");
  });
}

Deno.test("HttpConnection.request() fails a body cut short by a lying Content-Length", async () => {
  const [, http] = peer([
    { expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort" },
    { close: true },
  ]);
  const response = await http.request("/");
  const error = await assertRejects(() => response.text());
  assertInstanceOf(error, ProtocolError);
  assertEquals(error.code, "UNEXPECTED_EOF");
  assert(!http.reusable);
});

Deno.test("HttpConnection.request() fails a chunked body that ends early", async () => {
  const [, http] = peer([
    { expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel" },
    { close: true },
  ]);
  const response = await http.request("/");
  await assertRejects(() => response.text(), ProtocolError);
});

Deno.test("HttpConnection.request() reads a body without length until close", async () => {
  const [scripted, http2] = peer([
    { expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\n\r\nall of it" },
    { close: true },
  ]);
  const response = await http2.request("/");
  assertEquals(await response.text(), "all of it");
  assert(!http2.reusable);
  await scripted.done;
});

Deno.test("HttpConnection does not reuse a connection after ambiguous framing", async () => {
  const [scripted, http] = peer([
    { expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    {
      send: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "3\r\nabc\r\n0\r\n\r\n",
    },
  ]);
  const response = await http.request("/");
  assertEquals(await response.text(), "abc");
  assert(!http.reusable);
  await scripted.done;
});

Deno.test("HttpConnection does not reuse a connection that sent bytes after the body", async () => {
  const [, http] = peer([
    { expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n" },
  ]);
  assertEquals(await (await http.request("/")).text(), "ok");
  assert(!http.reusable);
});

Deno.test("HttpConnection does not reuse a connection the server asked to close", async () => {
  for (const reply of ["HTTP/1.1 200 OK\r\nConnection: close\r\n", "HTTP/1.0 200 OK\r\n"]) {
    const [, http] = peer([
      { expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
      { send: reply + "Content-Length: 1\r\n\r\nx" },
    ]);
    assertEquals(await (await http.request("/")).text(), "x");
    assert(!http.reusable, reply);
  }
});

Deno.test("HttpConnection.request() refuses a new request before the body is read", async () => {
  const [, http] = peer([
    { expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" },
  ]);
  const response = await http.request("/");
  await assertRejects(() => http.request("/again"), TypeError, "previous body");
  await response.body?.cancel();
  http.close();
});

Deno.test("HttpConnection.request() validates everything before writing a byte", async () => {
  const bad: [string, Parameters<HttpConnection["request"]>[1]][] = [
    ["/a b", {}],
    ["/a\r\nX: y", {}],
    ["/\0", {}],
    ["/caf\u00e9", {}],
    ["/", { method: "GET X" }],
    ["/", { method: "GET\r\n" }],
    ["/", { headers: { "X-A": "a\r\nInjected: 1" } }],
    ["/", { headers: [["X-A", "a\nb"]] }],
    ["/", { headers: [["X-A", "a\0b"]] }],
    ["/", { headers: { "Bad Name": "x" } }],
    ["/", { headers: { "Transfer-Encoding": "chunked" } }],
    ["/", { method: "POST", body: "abc", headers: { "Content-Length": "4" } }],
    ["/", { headers: [["Host", "a"], ["Host", "b"]] }],
  ];
  for (const [target, init] of bad) {
    const scripted = new ScriptedPeer([]);
    const http = new HttpConnection(scripted, { host: "x" });
    await assertRejects(() => http.request(target, init), TypeError);
    assertEquals(scripted.written, "", JSON.stringify([target, init]));
    http.close();
  }
});

Deno.test("HttpConnection.request() waits for 100 Continue before the body", async () => {
  const [scripted, http] = peer([
    {
      expect:
        "POST / HTTP/1.1\r\nHost: example.test\r\nContent-Type: text/plain;charset=UTF-8\r\n" +
        "Content-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    },
    { send: "HTTP/1.1 100 Continue\r\n\r\n" },
    { expect: "body" },
    { send: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" },
  ]);
  const response = await http.request("/", { method: "POST", body: "body", expectContinue: true });
  assertEquals(response.status, 200);
  await response.text();
  assert(http.reusable);
  await scripted.done;
  http.close();
});

Deno.test("HttpConnection.request() keeps the body when refused before 100 Continue", async () => {
  const [scripted, http] = peer([
    {
      expect:
        "POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    },
    { send: "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n" },
  ]);
  const response = await http.request("/", {
    method: "POST",
    body: new Uint8Array([1, 2, 3, 4]),
    headers: { Expect: "100-continue" },
  });
  assertEquals(response.status, 413);
  await scripted.done;
  assertEquals(scripted.written.endsWith("\r\n\r\n"), true);
  assert(!http.reusable);
});

Deno.test("HttpConnection.request() times out waiting for the head", async () => {
  const scripted = new ScriptedPeer([{ expect: "GET / HTTP/1.1\r\nHost: x\r\n\r\n" }]);
  const http = new HttpConnection(scripted, { host: "x", headersTimeout: 50 });
  const error = await assertRejects(() => http.request("/"), DOMException);
  assertEquals(error.name, "TimeoutError");
  assert(http.closed);
});

Deno.test("HttpConnection.request() rejects with the signal's reason and errors the body", async () => {
  const controller = new AbortController();
  const [, http] = peer([
    { expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart" },
  ]);
  const response = await http.request("/", { signal: controller.signal });
  const reader = response.body!.getReader();
  assertEquals(new TextDecoder().decode((await reader.read()).value), "part");
  controller.abort(new Error("stop"));
  const error = await assertRejects(() => reader.read());
  assertEquals(error.message, "stop");
  assert(http.closed);
});

Deno.test("HttpConnection.request() refuses an already aborted signal without writing", async () => {
  const scripted = new ScriptedPeer([]);
  const http = new HttpConnection(scripted, { host: "x" });
  await assertRejects(() => http.request("/", { signal: AbortSignal.abort() }), DOMException);
  assertEquals(scripted.written, "");
  http.close();
});

Deno.test("HttpConnection.request() keeps the connection after cancelling a short body", async () => {
  const [scripted, http] = peer([
    { expect: "GET /1 HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc" },
    { expect: "GET /2 HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    { send: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd" },
  ]);
  await (await http.request("/1")).body?.cancel();
  await new Promise((r) => setTimeout(r, 10));
  assert(http.reusable);
  assertEquals(await (await http.request("/2")).text(), "d");
  await scripted.done;
  http.close();
});

Deno.test("HttpConnection.request() reads a 205 with a body as no body", async () => {
  const [, http] = peer([
    { expect: "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" },
    { send: "HTTP/1.1 205 Reset Content\r\nContent-Length: 2\r\n\r\nxx" },
  ]);
  const response = await http.request("/");
  assertEquals([response.status, response.body], [205, null]);
  assert(http.reusable);
  http.close();
});
