import { DataHandler } from "../../url/data_handler.ts";
import { HTTPError } from "../../url/http_error.ts";
import { HttpErrorProcessor } from "../../url/http_error_processor.ts";
import { URLError } from "../../url/url_error.ts";
import { type UrlHandler, UrlOpener } from "../../url/url_opener.ts";
import { UrlRequest } from "../../url/url_request.ts";
import type { UrlProgress } from "../../url/url_request.ts";
import { UrlResponse } from "../../url/url_response.ts";
import { FakeOrigin } from "./_fake.ts";
import { HttpRedirectHandler } from "../../url/http_redirect_handler.ts";
import { urlopen } from "../../url/urlopen.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "../_helpers/assert.ts";

Deno.test("UrlOpener runs preprocess, open, postprocess in handler order", async () => {
  const log: string[] = [];
  const make = (name: string, order: number, opens = false): UrlHandler => ({
    order,
    preprocess: () => void log.push(`pre ${name}`),
    open: opens ? (r) => (log.push(`open ${name}`), new UrlResponse("x", { url: r.url })) : () => {
      log.push(`pass ${name}`);
      return null;
    },
    postprocess: (_r, response) => (log.push(`post ${name}`), response),
  });
  await using opener = new UrlOpener([make("c", 700, true), make("a", 100), make("b", 500, true)]);
  await (await opener.open("http://h/")).body?.cancel();
  assertEquals(log, ["pre a", "pre b", "pre c", "pass a", "open b", "post a", "post b", "post c"]);
});

Deno.test("UrlOpener keeps insertion order among equal orders", () => {
  const a: UrlHandler = {};
  const b: UrlHandler = {};
  const c: UrlHandler = { order: 10 };
  const opener = new UrlOpener([a, b, c]);
  assertEquals(opener.handlers, [c, a, b]);
});

Deno.test("UrlOpener calls only the handlers serving the scheme", async () => {
  const seen: string[] = [];
  await using opener = new UrlOpener([
    { protocols: ["x-a:"], open: (r) => (seen.push("a"), new UrlResponse("a", { url: r.url })) },
    { protocols: ["x-b:"], open: (r) => (seen.push("b"), new UrlResponse("b", { url: r.url })) },
  ]);
  assertEquals(await (await opener.open("x-b:thing")).text(), "b");
  assertEquals(seen, ["b"]);
});

Deno.test("UrlOpener throws URLError for a scheme no handler opens", async () => {
  await using opener = new UrlOpener([new DataHandler()]);
  const error = await assertRejects(() => opener.open("gopher://h/"), URLError);
  assertEquals(error.reason, "unknown url type: gopher");
});

Deno.test("UrlOpener wraps failures in URLError with the cause, but passes aborts and TypeErrors through", async () => {
  const refused = new Deno.errors.ConnectionRefused("Connection refused (os error 111)");
  await using opener = new UrlOpener([{ open: () => Promise.reject(refused) }]);
  const error = await assertRejects(() => opener.open("http://h/"), URLError);
  assertEquals(error.cause, refused);
  assertEquals(error.reason, "Connection refused (os error 111)");

  const controller = new AbortController();
  const reason = new DOMException("stop", "AbortError");
  await using slow = new UrlOpener([{
    open: (r) =>
      new Promise((_, reject) =>
        r.signal!.addEventListener("abort", () => reject(r.signal!.reason))
      ),
  }]);
  const pending = slow.open("http://h/", { signal: controller.signal });
  controller.abort(reason);
  assertEquals(await pending.catch((e) => e), reason);
  // Already aborted: nothing is opened.
  await assertRejects(() => slow.open("http://h/", { signal: AbortSignal.abort(reason) }));
  await assertRejects(() => opener.open("not absolute"), TypeError);
});

Deno.test("UrlOpener offers failures to failure hooks", async () => {
  let tries = 0;
  await using opener = new UrlOpener([
    {
      open: (r) => {
        if (++tries === 1) throw new Error("reset");
        return new UrlResponse("second", { url: r.url });
      },
    },
    {
      failure: (request, error, opener) => {
        assertEquals(error.reason, "reset");
        return request.derived ? null : opener.open(request.derive());
      },
    },
  ]);
  assertEquals(await (await opener.open("http://h/")).text(), "second");
});

Deno.test("UrlOpener.error() throws HTTPError with a buffered body when no handler takes it", async () => {
  let cancelled = false;
  const big = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new Uint8Array(10));
      c.enqueue(new Uint8Array(10));
    },
    cancel: () => void (cancelled = true),
  });
  await using opener = new UrlOpener(
    [
      new HttpErrorProcessor(),
      new FakeOrigin((r) => ({
        status: r.selector === "/small" ? 404 : 500,
        body: r.selector === "/small" ? "missing" : big,
      })),
    ],
    { errorBodyBuffer: 15 },
  );
  const small = await assertRejects(() => opener.open("http://h/small"), HTTPError);
  assertEquals(small.code, 404);
  assertEquals(await small.text(), "missing");
  // Longer than the buffer: the body stays a stream, nothing lost.
  const large = await assertRejects(() => opener.open("http://h/large"), HTTPError);
  const reader = large.body!.getReader();
  assertEquals((await reader.read()).value?.length, 10);
  assertEquals((await reader.read()).value?.length, 10);
  await reader.cancel();
  assert(cancelled);
});

Deno.test("UrlOpener passes 2xx answers through and lets error hooks resolve others", async () => {
  await using opener = new UrlOpener([
    new HttpErrorProcessor(),
    new FakeOrigin((r) => ({ status: r.selector === "/teapot" ? 418 : 204 })),
    {
      protocols: ["http:"],
      error: (_r, response) =>
        response.status === 418 ? new UrlResponse("tea", { url: response.url }) : null,
    },
  ]);
  assertEquals((await opener.open("http://h/ok")).status, 204);
  assertEquals(await (await opener.open("http://h/teapot")).text(), "tea");
});

Deno.test("UrlOpener.open() reports progress once per chunk and at the end", async () => {
  const progress: UrlProgress[] = [];
  await using opener = new UrlOpener([
    new FakeOrigin(() => ({
      headers: { "content-length": "5" },
      body: ReadableStream.from([new TextEncoder().encode("ab"), new TextEncoder().encode("cde")]),
    })),
  ]);
  const response = await opener.open("http://h/", { onProgress: (p) => progress.push(p) });
  assertEquals(await response.text(), "abcde");
  assertEquals(progress, [
    { loaded: 2, total: 5, done: false },
    { loaded: 5, total: 5, done: false },
    { loaded: 5, total: 5, done: true },
  ]);
});

Deno.test("UrlOpener.open() with a request applies only timeout, signal and progress", async () => {
  const origin = new FakeOrigin(() => ({}));
  await using opener = new UrlOpener([origin]);
  const request = new UrlRequest("http://h/", { method: "DELETE" });
  await opener.open(request, { timeout: 1234 });
  assertEquals(request.timeout, 1234);
  assertEquals(origin.seen[0]!.method, "DELETE");
});

Deno.test("UrlOpener.open() takes a web Request: method, headers, body and signal carry over", async () => {
  const signals: (AbortSignal | undefined)[] = [];
  const origin = new FakeOrigin((request) => {
    signals.push(request.signal);
    return { status: 307, headers: { location: "/again" } };
  });
  await using opener = new UrlOpener([origin, new HttpRedirectHandler(), new HttpErrorProcessor()]);
  const controller = new AbortController();
  const web = new Request("http://h/form?x=1#top", {
    method: "PUT",
    headers: { "X-Test": "yes" },
    body: "a=1",
    signal: controller.signal,
  });
  origin.seen.length = 0;
  const response = await opener.open(web).catch((e) => e);
  // 307 keeps method and body: the body was buffered, so it could be sent again.
  assertInstanceOf(response, HTTPError); // the loop ends at the redirect limit
  assertEquals(origin.seen[0], {
    method: "PUT",
    url: "http://h/form?x=1",
    headers: { "content-type": "text/plain;charset=UTF-8", "x-test": "yes" },
    body: "a=1",
    proxy: null,
  });
  assertEquals(origin.seen[1]!.url, "http://h/again");
  assertEquals([origin.seen[1]!.method, origin.seen[1]!.body], ["PUT", "a=1"]);
  assertEquals(web.bodyUsed, true);
  // The request's signal is the one the handlers see (AbortSignal.any may wrap it).
  controller.abort(new DOMException("stop", "AbortError"));
  assert(signals.every((s) => s?.aborted));
  await response.cancel();
});

Deno.test("UrlOpener.open() with a web Request: options replace timeout and signal, GET has no body", async () => {
  const origin = new FakeOrigin(() => ({ body: "ok" }));
  await using opener = new UrlOpener([origin]);
  const signal = new AbortController().signal;
  const response = await opener.open(new Request("http://h/get"), { timeout: 5000, signal });
  assertEquals(await response.text(), "ok");
  assertEquals([origin.seen[0]!.method, origin.seen[0]!.body], ["GET", null]);
  const used = new Request("http://h/", { method: "POST", body: "x" });
  await used.text();
  await assertRejects(() => opener.open(used), TypeError, "body was already used");
});

Deno.test("new UrlRequest(webRequest) explains itself instead of calling it [object Request]", () => {
  const error = assertThrows(
    () => new UrlRequest(new Request("http://h/") as unknown as string),
    TypeError,
  );
  assertEquals(
    error.message,
    "Cannot create request: a web Request is not a URL; pass it to urlopen() or UrlRequest.fromRequest()",
  );
});

Deno.test("urlopen() accepts a web Request", async () => {
  const response = await urlopen(new Request("data:text/plain,hello%20web"));
  assertEquals([response.code, await response.text()], [200, "hello web"]);
});

Deno.test("UrlOpener turns any handler's TimeoutError into a URLError, skipping failure hooks", async () => {
  let failures = 0;
  const timeout = new DOMException("no answer within 10 ms", "TimeoutError");
  await using opener = new UrlOpener([
    { open: () => Promise.reject(timeout), failure: () => (failures++, null) },
  ]);
  const error = await assertRejects(() => opener.open("x-slow:thing"), URLError);
  assertEquals([error.timedOut, error.cause, error.reason], [
    true,
    timeout,
    "timed out: no answer within 10 ms",
  ]);
  assertEquals(failures, 0);
});

Deno.test("UrlOpener.close() closes every handler and refuses further opens", async () => {
  let closed = 0;
  const opener = new UrlOpener([{ close: () => void closed++ }, {
    close: () => Promise.resolve(void closed++),
  }]);
  await opener.close();
  await opener.close();
  assertEquals(closed, 2);
  const error = await assertRejects(() => opener.open("data:,x"), TypeError);
  assertInstanceOf(error, TypeError);
});

Deno.test("UrlOpener rejects a negative error body buffer", () => {
  let threw = false;
  try {
    new UrlOpener([], { errorBodyBuffer: -1 });
  } catch (error) {
    threw = error instanceof RangeError;
  }
  assert(threw);
});
