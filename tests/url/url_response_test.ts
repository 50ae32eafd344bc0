import { HTTPError } from "../../url/http_error.ts";
import { URLError } from "../../url/url_error.ts";
import { UrlResponse } from "../../url/url_response.ts";
import { assert, assertEquals, assertInstanceOf, assertThrows } from "../_helpers/assert.ts";

Deno.test("UrlResponse is a Response with urllib's names", async () => {
  const r = new UrlResponse("body", {
    status: 201,
    statusText: "Created",
    headers: { "X-A": "1" },
    url: "http://h/x",
    redirected: true,
  });
  assertInstanceOf(r, Response);
  assertEquals([r.status, r.code, r.statusText, r.reason, r.ok], [
    201,
    201,
    "Created",
    "Created",
    true,
  ]);
  assertEquals([r.url, r.geturl(), r.redirected], ["http://h/x", "http://h/x", true]);
  assertEquals(r.info().get("x-a"), "1");
  assertEquals(await r.text(), "body");
});

Deno.test("UrlResponse accepts statuses Response refuses, and drops bodies of null-body statuses", async () => {
  const weird = new UrlResponse("x", { status: 999, url: "http://h/" });
  assertEquals([weird.status, weird.ok, await weird.text()], [999, false, "x"]);
  const info = new UrlResponse(null, { status: 103, url: "http://h/" });
  assertEquals(info.status, 103);
  let cancelled = false;
  const stream = new ReadableStream({ cancel: () => void (cancelled = true) });
  const empty = new UrlResponse(stream, { status: 304, url: "http://h/" });
  assertEquals([empty.status, empty.body], [304, null]);
  await Promise.resolve();
  assert(cancelled);
  assertThrows(() => new UrlResponse(null, { status: 99, url: "http://h/" }), RangeError);
  assertThrows(() => new UrlResponse(null, { status: 1000, url: "http://h/" }), RangeError);
  assertThrows(() => new UrlResponse(null, { url: "" }), TypeError);
});

Deno.test("UrlResponse.clone() and withBody() keep status, headers and URL", async () => {
  const r = new UrlResponse("abc", {
    status: 202,
    url: "http://h/",
    headers: { a: "1" },
    redirected: true,
  });
  const c = r.clone();
  assertInstanceOf(c, UrlResponse);
  assertEquals([c.status, c.url, c.redirected, c.headers.get("a")], [202, "http://h/", true, "1"]);
  assertEquals([await c.text(), await r.text()], ["abc", "abc"]);
  const w = new UrlResponse("x", { status: 999, url: "http://h/" }).withBody("y");
  assertEquals([w.status, await w.text()], [999, "y"]);
});

Deno.test("HTTPError is a URLError and readable like a response", async () => {
  const response = new UrlResponse('{"error":"nope"}', {
    status: 418,
    statusText: "I'm a teapot",
    headers: { "content-type": "application/json" },
    url: "http://h/tea",
  });
  const error = new HTTPError(response, "extra detail");
  assertInstanceOf(error, URLError);
  assertEquals(error.name, "HTTPError");
  assertEquals([error.code, error.status, error.reason, error.url], [
    418,
    418,
    "I'm a teapot",
    "http://h/tea",
  ]);
  assertEquals(error.message, "Cannot open http://h/tea: HTTP 418 I'm a teapot: extra detail");
  assertEquals(error.headers.get("content-type"), "application/json");
  assertEquals([error.info(), error.geturl()], [error.headers, "http://h/tea"]);
  assertEquals(await error.json(), { error: "nope" });
});

Deno.test("HTTPError.cancel() and asyncDispose release an unread body", async () => {
  let cancelled = 0;
  const make = () =>
    new HTTPError(
      new UrlResponse(new ReadableStream({ cancel: () => void cancelled++ }), {
        status: 500,
        url: "http://h/",
      }),
    );
  await make().cancel();
  {
    await using _error = make();
  }
  assertEquals(cancelled, 2);
  const read = new HTTPError(new UrlResponse("x", { status: 500, url: "http://h/" }));
  assertEquals(await read.bytes(), new TextEncoder().encode("x"));
  await read.cancel();
});

Deno.test("URLError keeps its reason and cause", () => {
  const cause = new Error("refused");
  const error = new URLError("connection refused", { cause });
  assertEquals([error.name, error.reason, error.cause], ["URLError", "connection refused", cause]);
  assertEquals(error.message, "Cannot open URL: connection refused");
});

Deno.test("UrlResponse.adopt() turns a Response into a UrlResponse without copying", async () => {
  const body = ReadableStream.from([new TextEncoder().encode("streamed")]);
  const plain = new Response(body, { status: 202, statusText: "Accepted", headers: { a: "1" } });
  const adopted = UrlResponse.adopt(plain, { url: "http://h/final", redirected: true });
  assertEquals(adopted === (plain as unknown), true);
  assertInstanceOf(adopted, UrlResponse);
  assertInstanceOf(adopted, Response);
  assertEquals([adopted.status, adopted.code, adopted.ok, adopted.statusText], [
    202,
    202,
    true,
    "Accepted",
  ]);
  assertEquals([adopted.url, adopted.redirected, adopted.headers.get("a")], [
    "http://h/final",
    true,
    "1",
  ]);
  assertEquals(adopted.body, body);
  assertEquals(await adopted.text(), "streamed");
  const again = UrlResponse.adopt(adopted, { url: "http://h/other" });
  assertEquals([again === adopted, again.url, again.redirected], [true, "http://h/other", false]);
  assertThrows(() => UrlResponse.adopt(new Response(null), { url: "" }), TypeError);
  // A plain Response that was never adopted is not a UrlResponse.
  assertThrows(
    () =>
      Object.getOwnPropertyDescriptor(UrlResponse.prototype, "url")!.get!.call(new Response(null)),
    TypeError,
  );
});
