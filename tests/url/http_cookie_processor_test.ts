import { CookieJar } from "../../http/cookie_jar.ts";
import { HttpCookieProcessor } from "../../url/http_cookie_processor.ts";
import { HttpErrorProcessor } from "../../url/http_error_processor.ts";
import { HttpRedirectHandler } from "../../url/http_redirect_handler.ts";
import { UrlOpener } from "../../url/url_opener.ts";
import { FakeOrigin } from "./_fake.ts";
import { assertEquals } from "../_helpers/assert.ts";

Deno.test("HttpCookieProcessor stores cookies from a redirect and sends them on the next hop", async () => {
  const jar = new CookieJar();
  const origin = new FakeOrigin((request) => {
    if (request.selector === "/login") {
      return { status: 302, headers: [["location", "/home"], ["set-cookie", "sid=abc; Path=/"]] };
    }
    return { body: "home" };
  });
  await using opener = new UrlOpener([
    new HttpCookieProcessor(jar),
    new HttpRedirectHandler(),
    new HttpErrorProcessor(),
    origin,
  ]);
  await (await opener.open("http://h.test/login")).text();
  assertEquals(origin.seen.map((s) => s.headers.cookie ?? null), [null, "sid=abc"]);
  assertEquals(jar.getCookieHeader("http://h.test/"), "sid=abc");
});

Deno.test("HttpCookieProcessor sends each hop only its own domain's cookies", async () => {
  const jar = new CookieJar();
  jar.setCookie("a=1", "http://a.test/");
  jar.setCookie("b=2", "http://b.test/");
  const origin = new FakeOrigin((request) =>
    request.host === "a.test"
      ? { status: 302, headers: { location: "http://b.test/" } }
      : { body: "b" }
  );
  await using opener = new UrlOpener([
    new HttpCookieProcessor(jar),
    new HttpRedirectHandler(),
    new HttpErrorProcessor(),
    origin,
  ]);
  await (await opener.open("http://a.test/")).text();
  assertEquals(origin.seen.map((s) => s.headers.cookie), ["a=1", "b=2"]);
});

Deno.test("HttpCookieProcessor leaves a caller's Cookie header alone and stores error responses' cookies", async () => {
  const jar = new CookieJar();
  jar.setCookie("j=1", "http://h.test/");
  const origin = new FakeOrigin(() => ({ status: 404, headers: { "set-cookie": "e=2" } }));
  await using opener = new UrlOpener([new HttpCookieProcessor(jar), origin]);
  const response = await opener.open("http://h.test/", { headers: { Cookie: "mine=0" } });
  await response.body?.cancel();
  assertEquals(origin.seen[0]!.headers.cookie, "mine=0");
  assertEquals(jar.getCookieHeader("http://h.test/"), "j=1; e=2");
});
