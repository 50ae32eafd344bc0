import { UrlRequest } from "../../url/url_request.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("UrlRequest: data implies POST and a form content type, as in urllib2", () => {
  const get = new UrlRequest("http://h/");
  assertEquals([get.method, get.data, get.defaultContentType], ["GET", null, null]);
  const post = new UrlRequest("http://h/", { data: "a=1" });
  assertEquals(post.method, "POST");
  assertEquals(post.defaultContentType, "application/x-www-form-urlencoded");
  assertEquals(post.contentLength, 3);
  const put = new UrlRequest("http://h/", { data: "x", method: "PUT" });
  assertEquals(put.method, "PUT");
  const blob = new UrlRequest("http://h/", {
    data: new Blob(["{}"], { type: "application/json" }),
  });
  assertEquals([blob.defaultContentType, blob.contentLength], ["application/json", 2]);
});

Deno.test("UrlRequest: bodies of every type, and streams are not replayable", () => {
  assertEquals(
    new UrlRequest("http://h/", { data: new URLSearchParams({ a: "b c" }) }).data,
    new TextEncoder().encode("a=b+c"),
  );
  assertEquals(
    new UrlRequest("http://h/", { data: new Uint8Array([1, 2]).buffer }).contentLength,
    2,
  );
  const stream = new UrlRequest("http://h/", { data: ReadableStream.from([new Uint8Array([1])]) });
  assertEquals([stream.replayable, stream.contentLength], [false, null]);
  assertThrows(() => new UrlRequest("http://h/", { data: 5 as unknown as string }), TypeError);
});

Deno.test("UrlRequest: the fragment is kept apart and the parts are exposed", () => {
  const r = new UrlRequest("HTTP://Example.TEST:8080/a%20b?q=1#frag");
  assertEquals(r.url, "http://example.test:8080/a%20b?q=1");
  assertEquals(r.fragment, "frag");
  assertEquals([r.protocol, r.host, r.hostname, r.port], [
    "http:",
    "example.test:8080",
    "example.test",
    8080,
  ]);
  assertEquals(r.selector, "/a%20b?q=1");
  assertEquals(r.origin, "http://example.test:8080");
  assertEquals(new UrlRequest("https://h/").port, 443);
  assertEquals(new UrlRequest("http://[::1]:81/").hostname, "::1");
});

Deno.test("UrlRequest rejects relative URLs, bad methods, header injection and bad timeouts", () => {
  assertThrows(() => new UrlRequest("/relative"), TypeError);
  assertThrows(() => new UrlRequest("http://h/", { method: "GET /x" }), TypeError);
  assertThrows(() => new UrlRequest("http://h/", { method: "G\r\nX" }), TypeError);
  assertThrows(
    () => new UrlRequest("http://h/", { headers: { "X-A": "1\r\nEvil: 1" } }),
    TypeError,
  );
  assertThrows(() => new UrlRequest("http://h/", { headers: { "X A": "1" } }), TypeError);
  assertThrows(() => new UrlRequest("http://h/", { headers: { "X-A": "a\0b" } }), TypeError);
  assertThrows(() => new UrlRequest("http://h/", { timeout: 0 }), RangeError);
  assertThrows(() => new UrlRequest("http://h/", { timeout: -5 }), RangeError);
});

Deno.test("UrlRequest.derive() keeps headers and counters, drops unredirected headers, progress and proxy", () => {
  const progress = () => {};
  const signal = new AbortController().signal;
  const r = new UrlRequest("http://h/a#f", {
    headers: { "X-Keep": "1" },
    unredirectedHeaders: { Authorization: "Basic x" },
    timeout: 50,
    signal,
    onProgress: progress,
    data: "body",
    method: "PUT",
  });
  r.setProxy("http://p:1");
  r.counters.set("k", 2);
  r.redirectHistory = ["http://h/0"];
  const d = r.derive("../b");
  assertEquals(d.url, "http://h/b");
  assertEquals(d.fragment, "f");
  assertEquals(d.headers.get("x-keep"), "1");
  assertEquals(d.unredirectedHeaders.has("authorization"), false);
  assertEquals([d.method, d.timeout, d.signal === signal, d.onProgress], [
    "PUT",
    50,
    true,
    undefined,
  ]);
  assertEquals(d.data, r.data);
  assertEquals(d.proxy, null);
  assertEquals(d.counters.get("k"), 2);
  assertEquals(d.redirectHistory, ["http://h/0"]);
  assertEquals([d.derived, r.derived], [true, false]);
  // Counters are copied, not shared.
  d.counters.set("k", 3);
  assertEquals(r.counters.get("k"), 2);
  const g = r.derive("http://h/c#g", { method: "GET", data: null });
  assertEquals([g.method, g.data, g.fragment, g.defaultContentType], ["GET", null, "g", null]);
});

Deno.test("UrlRequest.setProxy() accepts only http and https proxies", () => {
  const r = new UrlRequest("http://h/");
  assertThrows(() => r.setProxy("socks5://p:1080"), TypeError);
  assertThrows(() => r.setProxy("not a url"), TypeError);
  r.setProxy(new URL("https://p:8443"));
  assertEquals(r.proxy?.href, "https://p:8443/");
  r.setProxy(null);
  assertEquals(r.proxy, null);
});

Deno.test("UrlRequest.allHeaders() lets unredirected headers win", () => {
  const r = new UrlRequest("http://h/", {
    headers: { A: "1", B: "2" },
    unredirectedHeaders: { B: "3" },
  });
  assertEquals([...r.allHeaders()], [["a", "1"], ["b", "3"]]);
});
