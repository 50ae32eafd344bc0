import { HTTPError } from "../../url/http_error.ts";
import { HttpErrorProcessor } from "../../url/http_error_processor.ts";
import { HttpBasicAuthHandler, ProxyBasicAuthHandler } from "../../url/http_basic_auth_handler.ts";
import { HttpRedirectHandler } from "../../url/http_redirect_handler.ts";
import { PasswordManager } from "../../url/password_manager.ts";
import { UrlOpener } from "../../url/url_opener.ts";
import { UrlRequest } from "../../url/url_request.ts";
import { FakeOrigin } from "./_fake.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";

const MULDER = "Basic bXVsZGVyOnRydXN0bm8x";

function basicServer(realm = "lab") {
  return new FakeOrigin((_r, seen) =>
    seen.headers.authorization === MULDER
      ? { body: "secret" }
      : { status: 401, headers: { "www-authenticate": `Basic realm="${realm}"` }, body: "login" }
  );
}

Deno.test("HttpBasicAuthHandler answers a 401 once with the realm's credentials", async () => {
  const pm = new PasswordManager();
  pm.add("lab", "http://h.test/", "mulder", "trustno1");
  const origin = basicServer();
  await using opener = new UrlOpener([
    new HttpBasicAuthHandler(pm),
    new HttpErrorProcessor(),
    origin,
  ]);
  const response = await opener.open("http://h.test/x", { data: "payload" });
  assertEquals(await response.text(), "secret");
  assertEquals(origin.seen.map((s) => s.headers.authorization ?? null), [null, MULDER]);
  // The retry repeats the method and body.
  assertEquals(origin.seen.map((s) => [s.method, s.body]), [["POST", "payload"], [
    "POST",
    "payload",
  ]]);
});

Deno.test("HttpBasicAuthHandler gives up when the same credentials are refused", async () => {
  const pm = new PasswordManager();
  pm.add("lab", "http://h.test/", "mulder", "wrong");
  const origin = basicServer();
  await using opener = new UrlOpener([
    new HttpBasicAuthHandler(pm),
    new HttpErrorProcessor(),
    origin,
  ]);
  const error = await assertRejects(() => opener.open("http://h.test/x"), HTTPError);
  assertEquals(error.code, 401);
  assertEquals(await error.text(), "login");
  assertEquals(origin.seen.length, 2);
});

Deno.test("HttpBasicAuthHandler sends nothing for another realm or outside the registered path", async () => {
  const pm = new PasswordManager();
  pm.add("lab", "http://h.test/app", "mulder", "trustno1");
  const origin = basicServer();
  await using opener = new UrlOpener([
    new HttpBasicAuthHandler(pm),
    new HttpErrorProcessor(),
    origin,
  ]);
  await assertRejects(() => opener.open("http://h.test/application"), HTTPError);
  await assertRejects(() => opener.open("http://h.test/"), HTTPError);
  const other = basicServer("other");
  await using opener2 = new UrlOpener([
    new HttpBasicAuthHandler(pm),
    new HttpErrorProcessor(),
    other,
  ]);
  await assertRejects(() => opener2.open("http://h.test/app/x"), HTTPError);
  assertEquals(
    [...origin.seen, ...other.seen].every((s) => s.headers.authorization === undefined),
    true,
  );
});

Deno.test("HttpBasicAuthHandler sends pre-emptive credentials only within their scope", async () => {
  const pm = new PasswordManager();
  pm.add(null, "http://h.test/api", "mulder", "trustno1", { preemptive: true });
  const origin = new FakeOrigin(() => ({ body: "ok" }));
  await using opener = new UrlOpener([new HttpBasicAuthHandler(pm), origin]);
  await (await opener.open("http://h.test/api/v1")).text();
  await (await opener.open("http://h.test/apix")).text();
  await (await opener.open("http://h.test/api", { headers: { Authorization: "Bearer t" } })).text();
  assertEquals(origin.seen.map((s) => s.headers.authorization ?? null), [MULDER, null, "Bearer t"]);
});

Deno.test("HttpBasicAuthHandler encodes UTF-8 and refuses user names with a colon", async () => {
  const pm = new PasswordManager();
  pm.add("lab", "http://h.test/", "jäsøn", "pässword");
  pm.add("lab", "http://colon.test/", "a:b", "c");
  const origin = new FakeOrigin((_r, seen) =>
    seen.headers.authorization ? { body: seen.headers.authorization } : {
      status: 401,
      headers: { "www-authenticate": 'Basic realm="lab", charset="UTF-8"' },
    }
  );
  await using opener = new UrlOpener([
    new HttpBasicAuthHandler(pm),
    new HttpErrorProcessor(),
    origin,
  ]);
  const header = await (await opener.open("http://h.test/")).text();
  const decoded = new TextDecoder().decode(
    Uint8Array.from(atob(header.slice(6)), (c) => c.charCodeAt(0)),
  );
  assertEquals(decoded, "jäsøn:pässword");
  await assertRejects(() => opener.open("http://colon.test/"), HTTPError);
});

Deno.test("HttpBasicAuthHandler does not retry a streamed body", async () => {
  const pm = new PasswordManager();
  pm.add("lab", "http://h.test/", "mulder", "trustno1");
  const origin = basicServer();
  await using opener = new UrlOpener([
    new HttpBasicAuthHandler(pm),
    new HttpErrorProcessor(),
    origin,
  ]);
  const data = ReadableStream.from([new TextEncoder().encode("once")]);
  await assertRejects(() => opener.open("http://h.test/", { data }), HTTPError);
  assertEquals(origin.seen.length, 1);
});

Deno.test("Authorization from a challenge is not carried across a redirect to another origin", async () => {
  const pm = new PasswordManager();
  pm.add("lab", "http://h.test/", "mulder", "trustno1");
  const origin = new FakeOrigin((request, seen) => {
    if (request.host === "other.test") return { body: "elsewhere" };
    if (seen.headers.authorization !== MULDER) {
      return { status: 401, headers: { "www-authenticate": 'Basic realm="lab"' } };
    }
    return { status: 302, headers: { location: "http://other.test/landing" } };
  });
  await using opener = new UrlOpener([
    new HttpBasicAuthHandler(pm),
    new HttpRedirectHandler(),
    new HttpErrorProcessor(),
    origin,
  ]);
  const response = await opener.open(
    new UrlRequest("http://h.test/start", { headers: { Cookie: "sid=1", "X-Keep": "y" } }),
  );
  assertEquals(await response.text(), "elsewhere");
  const last = origin.seen.at(-1)!;
  assertEquals(last.url, "http://other.test/landing");
  assertEquals([last.headers.authorization, last.headers.cookie, last.headers["x-keep"]], [
    undefined,
    undefined,
    "y",
  ]);
});

Deno.test("ProxyBasicAuthHandler answers 407 with Proxy-Authorization for the proxy's URL", async () => {
  const pm = new PasswordManager();
  pm.add("squid", "http://proxy.test:3128/", "p", "q");
  const origin = new FakeOrigin((_r, seen) =>
    seen.headers["proxy-authorization"] === "Basic cDpx" ? { body: "through" } : {
      status: 407,
      headers: { "proxy-authenticate": 'Basic realm="squid"' },
    }
  );
  await using opener = new UrlOpener([
    new ProxyBasicAuthHandler(pm),
    new HttpErrorProcessor(),
    { order: 100, preprocess: (r) => r.setProxy("http://proxy.test:3128") },
    origin,
  ]);
  assertEquals(await (await opener.open("http://h.test/")).text(), "through");
  assertEquals(origin.seen.map((s) => s.headers.authorization), [undefined, undefined]);
  // Without a proxy a 407 is not answered.
  await using direct = new UrlOpener([
    new ProxyBasicAuthHandler(pm),
    new HttpErrorProcessor(),
    origin,
  ]);
  await assertRejects(() => direct.open("http://h.test/"), HTTPError);
});
