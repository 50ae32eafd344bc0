import { HTTPError } from "../../url/http_error.ts";
import { HttpErrorProcessor } from "../../url/http_error_processor.ts";
import { RetryHandler } from "../../url/retry_handler.ts";
import { URLError } from "../../url/url_error.ts";
import { UrlOpener } from "../../url/url_opener.ts";
import { retryAfterMs } from "../../url/_sleep.ts";
import { FakeOrigin, type Reply } from "./_fake.ts";
import { assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";

function flaky(replies: Reply[]) {
  let i = 0;
  return new FakeOrigin(() => replies[Math.min(i++, replies.length - 1)]!);
}

Deno.test("RetryHandler honours Retry-After in seconds and as a date", async () => {
  const waits: number[] = [];
  const date = new Date(Date.now() + 20_000).toUTCString();
  const origin = flaky([
    { status: 429, headers: { "retry-after": "3" } },
    { status: 503, headers: { "retry-after": date } },
    { body: "ok" },
  ]);
  await using opener = new UrlOpener([
    new RetryHandler({ sleep: (ms) => Promise.resolve(void waits.push(ms)) }),
    new HttpErrorProcessor(),
    origin,
  ]);
  assertEquals(await (await opener.open("http://h/")).text(), "ok");
  assertEquals(waits[0], 3000);
  assertEquals(waits[1]! > 15_000 && waits[1]! <= 20_000, true);
});

Deno.test("RetryHandler backs off exponentially and stops after `retries`", async () => {
  const waits: number[] = [];
  const origin = flaky([{ status: 502 }]);
  await using opener = new UrlOpener([
    new RetryHandler({
      retries: 3,
      backoff: 100,
      sleep: (ms) => Promise.resolve(void waits.push(ms)),
    }),
    new HttpErrorProcessor(),
    origin,
  ]);
  const error = await assertRejects(() => opener.open("http://h/"), HTTPError);
  assertEquals(error.code, 502);
  assertEquals(origin.seen.length, 4);
  assertEquals(waits.length, 3);
  for (const [i, ms] of waits.entries()) {
    const base = 100 * 2 ** i;
    assertEquals(ms >= base && ms <= base * 1.5, true, `wait ${i}: ${ms}`);
  }
});

Deno.test("RetryHandler gives up at once when Retry-After asks for more than maxDelay", async () => {
  const origin = flaky([{ status: 503, headers: { "retry-after": "3600" } }]);
  await using opener = new UrlOpener([
    new RetryHandler({ maxDelay: 1000, sleep: () => Promise.reject(new Error("no sleep")) }),
    new HttpErrorProcessor(),
    origin,
  ]);
  await assertRejects(() => opener.open("http://h/"), HTTPError);
  assertEquals(origin.seen.length, 1);
});

Deno.test("RetryHandler retries only idempotent methods and replayable bodies", async () => {
  const origin = flaky([{ status: 503 }]);
  await using opener = new UrlOpener([
    new RetryHandler({ sleep: () => Promise.resolve() }),
    new HttpErrorProcessor(),
    origin,
  ]);
  await assertRejects(() => opener.open("http://h/", { data: "x" }), HTTPError);
  assertEquals(origin.seen.length, 1);
  const stream = ReadableStream.from([new Uint8Array([1])]);
  await assertRejects(() => opener.open("http://h/", { data: stream, method: "PUT" }), HTTPError);
  assertEquals(origin.seen.length, 2);
  await assertRejects(() => opener.open("http://h/", { data: "x", method: "PUT" }), HTTPError);
  assertEquals(origin.seen.length, 6);
});

Deno.test("RetryHandler retries connection failures, not unknown schemes", async () => {
  let calls = 0;
  await using opener = new UrlOpener([
    new RetryHandler({ sleep: () => Promise.resolve() }),
    {
      protocols: ["http:"],
      open: () => {
        calls++;
        throw new Deno.errors.ConnectionRefused("refused");
      },
    },
  ]);
  await assertRejects(() => opener.open("http://h/"), URLError);
  assertEquals(calls, 4);
  await assertRejects(() => opener.open("nope://h/"), URLError);
  await using off = new UrlOpener([
    new RetryHandler({ retryFailures: false, sleep: () => Promise.resolve() }),
    {
      open: () => {
        calls++;
        return Promise.reject(new Error("x"));
      },
    },
  ]);
  calls = 0;
  await assertRejects(() => off.open("http://h/"));
  assertEquals(calls, 1);
});

Deno.test("RetryHandler stops waiting when the request is aborted", async () => {
  const controller = new AbortController();
  const origin = flaky([{ status: 503, headers: { "retry-after": "10" } }]);
  await using opener = new UrlOpener([new RetryHandler(), new HttpErrorProcessor(), origin]);
  const pending = opener.open("http://h/", { signal: controller.signal });
  setTimeout(() => controller.abort(new DOMException("stop", "AbortError")), 10);
  const error = await pending.catch((e) => e);
  assertEquals(error.name, "AbortError");
});

Deno.test("RetryHandler validates its options", () => {
  assertThrows(() => new RetryHandler({ retries: -1 }), RangeError);
  assertThrows(() => new RetryHandler({ backoff: Number.NaN }), RangeError);
});

Deno.test("retryAfterMs() parses seconds and HTTP-dates, rejects the rest", () => {
  const now = Date.parse("Sun, 06 Nov 1994 08:49:37 GMT");
  assertEquals(retryAfterMs("120", now), 120000);
  assertEquals(retryAfterMs(" 0 ", now), 0);
  assertEquals(retryAfterMs("Sun, 06 Nov 1994 08:50:37 GMT", now), 60000);
  assertEquals(retryAfterMs("Sun, 06 Nov 1994 08:40:37 GMT", now), 0);
  assertEquals(retryAfterMs("-1", now), null);
  assertEquals(retryAfterMs("soon", now), null);
  assertEquals(retryAfterMs("1e3", now), null);
  assertEquals(retryAfterMs(null, now), null);
});
