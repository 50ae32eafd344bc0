import { HTTPError } from "../../url/http_error.ts";
import { HttpErrorProcessor } from "../../url/http_error_processor.ts";
import { HttpRedirectHandler } from "../../url/http_redirect_handler.ts";
import { UrlOpener } from "../../url/url_opener.ts";
import { UrlRequest } from "../../url/url_request.ts";
import { FakeOrigin, type Reply } from "./_fake.ts";
import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_helpers/assert.ts";

function redirector(routes: Record<string, Reply>) {
  return new FakeOrigin((request) => routes[request.url] ?? { body: `at ${request.url}` });
}

function chain(origin: FakeOrigin, handler = new HttpRedirectHandler()) {
  return new UrlOpener([handler, new HttpErrorProcessor(), origin]);
}

Deno.test("HttpRedirectHandler: 301/302 turn POST into GET, keep other methods", async () => {
  for (const status of [301, 302]) {
    const origin = redirector({ "http://h/a": { status, headers: { location: "/b" } } });
    await using opener = chain(origin);
    const response = await opener.open("http://h/a", {
      data: "x=1",
      headers: { "Content-Type": "text/plain", "X-Keep": "1" },
    });
    assertEquals([response.url, response.redirected, await response.text()], [
      "http://h/b",
      true,
      "at http://h/b",
    ]);
    const second = origin.seen[1]!;
    assertEquals([
      second.method,
      second.body,
      second.headers["content-type"],
      second.headers["x-keep"],
    ], [
      "GET",
      null,
      undefined,
      "1",
    ]);
    const put = await opener.open("http://h/a", { data: "y", method: "PUT" });
    await put.body?.cancel();
    assertEquals([origin.seen[3]!.method, origin.seen[3]!.body], ["PUT", "y"]);
  }
});

Deno.test("HttpRedirectHandler: 303 turns every method but HEAD into GET", async () => {
  const origin = redirector({ "http://h/a": { status: 303, headers: { location: "/b" } } });
  await using opener = chain(origin);
  await (await opener.open("http://h/a", { data: "z", method: "DELETE" })).text();
  await (await opener.open("http://h/a", { method: "HEAD" })).body?.cancel();
  assertEquals(origin.seen.map((s) => s.method), ["DELETE", "GET", "HEAD", "HEAD"]);
  assertEquals(origin.seen[1]!.body, null);
});

Deno.test("HttpRedirectHandler: 307 and 308 keep the method and the body", async () => {
  for (const status of [307, 308]) {
    const origin = redirector({ "http://h/a": { status, headers: { location: "http://h/b" } } });
    await using opener = chain(origin);
    await (await opener.open("http://h/a", {
      data: "payload",
      headers: { "Content-Type": "text/plain" },
    })).text();
    assertEquals(origin.seen[1], {
      method: "POST",
      url: "http://h/b",
      headers: { "content-type": "text/plain" },
      body: "payload",
      proxy: null,
    });
  }
});

Deno.test("HttpRedirectHandler: 307 with a streamed body ends in HTTPError", async () => {
  const origin = redirector({ "http://h/a": { status: 307, headers: { location: "/b" } } });
  await using opener = chain(origin);
  const data = ReadableStream.from([new TextEncoder().encode("once")]);
  const error = await assertRejects(() => opener.open("http://h/a", { data }), HTTPError);
  assertStringIncludes(error.message, "cannot send a streamed body again");
});

Deno.test("HttpRedirectHandler never follows a server to file: or data: URLs", async () => {
  for (
    const location of ["file:///etc/passwd", "data:,owned", "javascript:alert(1)", "gopher://h/"]
  ) {
    const origin = redirector({ "http://h/a": { status: 302, headers: { location } } });
    await using opener = chain(
      origin,
      new HttpRedirectHandler({ protocols: ["http:", "https:", "file:", "data:"] }),
    );
    const error = await assertRejects(() => opener.open("http://h/a"), HTTPError);
    assertEquals(error.code, 302);
    assertStringIncludes(error.message, "is not allowed");
    assertEquals(origin.seen.length, 1);
  }
});

Deno.test("HttpRedirectHandler stops after 10 redirects", async () => {
  const origin = new FakeOrigin((request) => {
    const n = Number(request.selector.slice(1));
    return { status: 302, headers: { location: `/${n + 1}` } };
  });
  await using opener = chain(origin);
  const error = await assertRejects(() => opener.open("http://h/0"), HTTPError);
  assertStringIncludes(error.message, "more than 10 redirects");
  assertEquals(origin.seen.length, 11);
  await using opener3 = chain(origin, new HttpRedirectHandler({ maxRedirections: 3 }));
  await assertRejects(() => opener3.open("http://h/0"), HTTPError);
  assertEquals(origin.seen.length, 11 + 4);
});

Deno.test("HttpRedirectHandler detects a loop", async () => {
  const origin = redirector({
    "http://h/a": { status: 302, headers: { location: "/b" } },
    "http://h/b": { status: 302, headers: { location: "/a" } },
  });
  await using opener = chain(origin);
  const error = await assertRejects(() => opener.open("http://h/a"), HTTPError);
  assertStringIncludes(error.message, "redirect loop");
  assertEquals(origin.seen.length <= 10, true);
});

Deno.test("HttpRedirectHandler drops Authorization, Cookie and Proxy-Authorization across origins only", async () => {
  const origin = redirector({
    "http://h/a": { status: 302, headers: { location: "/same" } },
    "http://h/same": { status: 302, headers: { location: "https://h/secure" } },
  });
  await using opener = chain(origin);
  const request = new UrlRequest("http://h/a", {
    headers: {
      Authorization: "Basic x",
      Cookie: "c=1",
      "Proxy-Authorization": "Basic p",
      "X-Other": "o",
    },
  });
  await (await opener.open(request)).text();
  assertEquals(origin.seen[1]!.headers, {
    authorization: "Basic x",
    cookie: "c=1",
    "proxy-authorization": "Basic p",
    "x-other": "o",
  });
  // http → https of the same host is another origin.
  assertEquals(origin.seen[2]!.headers, { "x-other": "o" });
});

Deno.test("HttpRedirectHandler: a redirect without Location, or with a malformed one", async () => {
  const origin = redirector({
    "http://h/none": { status: 302, body: "no location" },
    "http://h/bad": { status: 301, headers: { location: "http://[::1" } },
  });
  await using opener = chain(origin);
  const none = await assertRejects(() => opener.open("http://h/none"), HTTPError);
  assertEquals(await none.text(), "no location");
  const bad = await assertRejects(() => opener.open("http://h/bad"), HTTPError);
  assertStringIncludes(bad.message, "malformed Location");
});

Deno.test("HttpRedirectHandler keeps the fragment and records the history", async () => {
  const origin = redirector({ "http://h/a": { status: 302, headers: { location: "/b" } } });
  let history: readonly string[] = [];
  await using opener = new UrlOpener([
    new HttpRedirectHandler(),
    new HttpErrorProcessor(),
    { preprocess: (r) => void (history = r.redirectHistory) },
    origin,
  ]);
  const request = new UrlRequest("http://h/a#part");
  await (await opener.open(request)).text();
  assertEquals(history, ["http://h/a"]);
});

Deno.test("HttpRedirectHandler validates its options", () => {
  assertThrows(() => new HttpRedirectHandler({ maxRedirections: -1 }), RangeError);
  assertThrows(() => new HttpRedirectHandler({ maxRepeats: 0 }), RangeError);
});
