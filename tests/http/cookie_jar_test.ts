import { CookieJar, isDefaultPublicSuffix } from "../../http/cookie_jar.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";

const T0 = Date.UTC(2030, 0, 1);

function jarAt(time = T0): { jar: CookieJar; clock: { now: number } } {
  const clock = { now: time };
  return { jar: new CookieJar({ now: () => clock.now }), clock };
}

Deno.test("CookieJar domain matching: example.com never matches badexample.com", () => {
  const { jar } = jarAt();
  assert(jar.setCookie("a=1; Domain=example.com", "http://www.example.com/"));
  assertEquals(jar.getCookieHeader("http://example.com/"), "a=1");
  assertEquals(jar.getCookieHeader("http://deep.www.example.com/"), "a=1");
  assertEquals(jar.getCookieHeader("http://badexample.com/"), "");
  assertEquals(jar.getCookieHeader("http://example.com.evil.test/"), "");
  // A server may not set a cookie for a domain that is not its own.
  assertEquals(jar.setCookie("b=1; Domain=badexample.com", "http://example.com/"), false);
  assertEquals(jar.setCookie("b=1; Domain=www.example.com", "http://example.com/"), false);
  assertEquals(jar.setCookie("b=1; Domain=ample.com", "http://example.com/"), false);
});

Deno.test("CookieJar host-only cookies stay host-only", () => {
  const { jar } = jarAt();
  jar.setCookie("h=1", "http://example.com/");
  assertEquals(jar.getCookieHeader("http://example.com/"), "h=1");
  assertEquals(jar.getCookieHeader("http://sub.example.com/"), "");
  const [stored] = [...jar];
  assertEquals(stored!.hostOnly, true);
  // A later domain cookie with the same name is a different cookie.
  jar.setCookie("h=2; Domain=example.com", "http://example.com/");
  assertEquals(jar.size, 2);
  assertEquals(jar.getCookieHeader("http://sub.example.com/"), "h=2");
});

Deno.test("CookieJar refuses Domain attributes on public suffixes", () => {
  const { jar } = jarAt();
  assertEquals(jar.setCookie("a=1; Domain=com", "http://example.com/"), false);
  assertEquals(jar.setCookie("a=1; Domain=co.uk", "http://example.co.uk/"), false);
  assertEquals(jar.setCookie("a=1; Domain=github.io", "http://me.github.io/"), false);
  assertEquals(jar.size, 0);
  // The public suffix itself as a host gets a host-only cookie.
  assert(jar.setCookie("a=1; Domain=localhost", "http://localhost/"));
  assertEquals([...jar][0]!.hostOnly, true);
  assertEquals(jar.getCookieHeader("http://sub.localhost/"), "");
});

Deno.test("CookieJar uses a custom isPublicSuffix policy", () => {
  const jar = new CookieJar({ isPublicSuffix: (d) => d === "example.com" || !d.includes(".") });
  assertEquals(jar.setCookie("a=1; Domain=example.com", "http://a.example.com/"), false);
  assert(new CookieJar().setCookie("a=1; Domain=example.com", "http://a.example.com/"));
});

Deno.test("isDefaultPublicSuffix() covers single labels, IPs and the built-in list", () => {
  for (const d of ["com", "test", "localhost", "co.uk", "com.au", "github.io", "127.0.0.1"]) {
    assert(isDefaultPublicSuffix(d), d);
  }
  for (const d of ["example.com", "example.co.uk", "user.github.io"]) {
    assert(!isDefaultPublicSuffix(d), d);
  }
});

Deno.test("CookieJar IP hosts: no domain matching across addresses", () => {
  const { jar } = jarAt();
  assert(jar.setCookie("a=1", "http://10.0.0.1/"));
  assertEquals(jar.setCookie("b=1; Domain=0.0.1", "http://10.0.0.1/"), false);
  assertEquals(jar.getCookieHeader("http://10.0.0.1/"), "a=1");
  assertEquals(jar.getCookieHeader("http://110.0.0.1/"), "");
});

Deno.test("CookieJar path matching and default path (RFC 6265bis §5.1.4)", () => {
  const { jar } = jarAt();
  jar.setCookie("d=1", "http://a.test/dir/page");
  jar.setCookie("r=1", "http://a.test/page");
  jar.setCookie("p=1; Path=/dir/", "http://a.test/");
  jar.setCookie("q=1; Path=nonsense", "http://a.test/x/y");
  const paths = Object.fromEntries([...jar].map((c) => [c.name, c.path]));
  assertEquals(paths, { d: "/dir", r: "/", p: "/dir/", q: "/x" });
  assertEquals(jar.getCookieHeader("http://a.test/dir"), "d=1; r=1");
  assertEquals(jar.getCookieHeader("http://a.test/dir/x"), "p=1; d=1; r=1");
  assertEquals(jar.getCookieHeader("http://a.test/directory"), "r=1");
});

Deno.test("CookieJar orders cookies by path length, then creation time", () => {
  const { jar, clock } = jarAt();
  jar.setCookie("b=1", "http://a.test/");
  clock.now += 1;
  jar.setCookie("a=1", "http://a.test/");
  jar.setCookie("long=1; Path=/x/y", "http://a.test/");
  // Replacing keeps the creation time.
  clock.now += 1;
  jar.setCookie("b=2", "http://a.test/");
  assertEquals(jar.getCookieHeader("http://a.test/x/y/z"), "long=1; b=2; a=1");
});

Deno.test("CookieJar Secure cookies: set and sent only on secure origins", () => {
  const { jar } = jarAt();
  assertEquals(jar.setCookie("s=1; Secure", "http://example.com/"), false);
  assert(jar.setCookie("s=1; Secure", "https://example.com/"));
  assertEquals(jar.getCookieHeader("http://example.com/"), "");
  assertEquals(jar.getCookieHeader("https://example.com/"), "s=1");
  // Loopback counts as secure, as in browsers and curl.
  assert(jar.setCookie("l=1; Secure", "http://localhost:8000/"));
  assert(jar.setCookie("l=1; Secure", "http://127.0.0.1:8000/"));
});

Deno.test("CookieJar never lets an insecure origin overwrite a Secure cookie", () => {
  const { jar } = jarAt();
  jar.setCookie("sid=good; Secure; Domain=example.com", "https://www.example.com/");
  assertEquals(jar.setCookie("sid=evil", "http://www.example.com/"), false);
  assertEquals(jar.setCookie("sid=evil; Domain=example.com", "http://a.example.com/"), false);
  assertEquals(jar.getCookieHeader("https://www.example.com/"), "sid=good");
});

Deno.test("CookieJar enforces the __Secure- and __Host- prefixes", () => {
  const { jar } = jarAt();
  assertEquals(jar.setCookie("__Secure-a=1", "https://a.test.example/"), false);
  assert(jar.setCookie("__Secure-a=1; Secure", "https://a.example.com/"));
  assertEquals(jar.setCookie("__Host-b=1; Secure", "https://a.example.com/x/y"), false);
  assertEquals(
    jar.setCookie("__Host-b=1; Secure; Path=/; Domain=example.com", "https://a.example.com/"),
    false,
  );
  assert(jar.setCookie("__Host-b=1; Secure; Path=/", "https://a.example.com/"));
  assertEquals(jar.setCookie("__host-c=1; Path=/", "https://a.example.com/"), false);
  // A nameless cookie whose value looks like a prefixed pair is refused.
  assertEquals(jar.setCookie("__Host-x=1", "https://a.example.com/"), false);
  assertEquals(jar.setCookie("=__Secure-x=1", "https://a.example.com/"), false);
});

Deno.test("CookieJar SameSite: None needs Secure; cross-site requests filter", () => {
  const { jar } = jarAt();
  assertEquals(jar.setCookie("n=1; SameSite=None", "https://a.example.com/"), false);
  jar.setCookie("n=1; SameSite=None; Secure", "https://a.example.com/");
  jar.setCookie("s=1; SameSite=Strict", "https://a.example.com/");
  jar.setCookie("l=1; SameSite=Lax", "https://a.example.com/");
  jar.setCookie("d=1", "https://a.example.com/");
  const url = "https://a.example.com/";
  assertEquals(jar.getCookieHeader(url), "n=1; s=1; l=1; d=1");
  assertEquals(jar.getCookieHeader(url, { crossSite: true }), "n=1; d=1");
  assertEquals(
    jar.getCookieHeader(url, { crossSite: true, topLevelNavigation: true }),
    "n=1; l=1; d=1",
  );
});

Deno.test("CookieJar HttpOnly cookies are hidden from and protected against non-HTTP APIs", () => {
  const { jar } = jarAt();
  jar.setCookie("h=1; HttpOnly", "http://a.test/");
  assertEquals(jar.getCookieHeader("http://a.test/", { http: false }), "");
  assertEquals(jar.setCookie("h=2", "http://a.test/", { http: false }), false);
  assertEquals(jar.setCookie("j=2; HttpOnly", "http://a.test/", { http: false }), false);
  assertEquals(jar.getCookieHeader("http://a.test/"), "h=1");
});

Deno.test("CookieJar expiry: Max-Age wins over Expires, past dates delete, 400-day cap", () => {
  const { jar, clock } = jarAt();
  jar.setCookie("a=1; Max-Age=10; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "http://a.test/");
  jar.setCookie("b=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT", "http://a.test/");
  const b = [...jar].find((c) => c.name === "b")!;
  assertEquals(b.expires, T0 + 400 * 24 * 3600 * 1000);
  assertEquals(jar.getCookieHeader("http://a.test/"), "a=1; b=1");
  clock.now += 10_000;
  assertEquals(jar.getCookieHeader("http://a.test/"), "b=1");
  assertEquals(jar.size, 1);
  assert(jar.setCookie("b=; Max-Age=0", "http://a.test/"));
  assertEquals(jar.size, 0);
  assertEquals(
    jar.setCookie("c=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "http://a.test/"),
    false,
  );
});

Deno.test("CookieJar caps cookies per domain and in total, evicting the least recently used", () => {
  const clock = { now: T0 };
  const jar = new CookieJar({ now: () => clock.now, maxCookiesPerDomain: 3, maxCookies: 5 });
  for (let i = 0; i < 4; i++) {
    clock.now++;
    jar.setCookie(`c${i}=${i}`, "http://a.test/");
  }
  assertEquals([...jar].map((c) => c.name), ["c1", "c2", "c3"]);
  clock.now++;
  jar.getCookies("http://a.test/"); // touches all three
  for (let i = 0; i < 3; i++) {
    clock.now++;
    jar.setCookie(`d${i}=${i}`, "http://b.test/");
  }
  assertEquals(jar.size, 5);
  assertThrows(() => new CookieJar({ maxCookies: 0 }), RangeError);
});

Deno.test("CookieJar ignores Set-Cookie from non-HTTP URLs and over-long cookies", () => {
  const { jar } = jarAt();
  assertEquals(jar.setCookie("a=1", "file:///etc/passwd"), false);
  assertEquals(jar.setCookie("a=" + "x".repeat(5000), "http://a.test/"), false);
  assertThrows(() => jar.setCookie("a=1", "not a url"), TypeError);
});

Deno.test("CookieJar.setCookies() reads at most 50 fields of a response", () => {
  const { jar } = jarAt();
  const headers = new Headers();
  for (let i = 0; i < 60; i++) headers.append("set-cookie", `c${i}=1`);
  assertEquals(jar.setCookies("http://a.test/", headers), 50);
});

Deno.test("CookieJar stores __proto__ as an ordinary cookie name", () => {
  const { jar } = jarAt();
  jar.setCookie("__proto__=x", "http://a.test/");
  jar.setCookie("constructor=y", "http://a.test/");
  assertEquals(jar.getCookieHeader("http://a.test/"), "__proto__=x; constructor=y");
  assertEquals(({} as Record<string, unknown>).x, undefined);
});

Deno.test("CookieJar.toNetscape() writes curl's cookies.txt format", () => {
  const { jar } = jarAt();
  jar.setCookie("a=1", "http://example.com/x/y");
  jar.setCookie(
    "b=2; Domain=example.com; Path=/; Max-Age=60; Secure; HttpOnly",
    "https://example.com/",
  );
  jar.setCookie("e=", "http://example.com/");
  assertEquals(
    jar.toNetscape(),
    "# Netscape HTTP Cookie File\n# https://curl.se/docs/http-cookies.html\n" +
      "# This file was generated by inetkit! Edit at your own risk.\n\n" +
      "example.com\tFALSE\t/x\tFALSE\t0\ta\t1\n" +
      `#HttpOnly_.example.com\tTRUE\t/\tTRUE\t${T0 / 1000 + 60}\tb\t2\n` +
      "example.com\tFALSE\t/\tFALSE\t0\te\t\n",
  );
  assertEquals(jar.toNetscape({ includeSession: false }).split("\n").length, 6);
});

Deno.test("CookieJar.loadNetscape() reads curl's format and skips bad lines", () => {
  const { jar } = jarAt();
  const text = [
    "# Netscape HTTP Cookie File",
    "# comment",
    "",
    'localhost\tFALSE\t/x/\tFALSE\t4116219494\tf\t"q v"',
    "#HttpOnly_localhost\tFALSE\t/\tFALSE\t0\tc\t3",
    ".localhost\tTRUE\t/x\tFALSE\t0\tb\t2",
    ".example.com\tTRUE\t/\tTRUE\t0\ts\t1\r",
    "example.com\tFALSE\t/\tFALSE\t1\told\texpired",
    "example.com\tFALSE\t/\tFALSE\t0\tsix",
    "too\tfew\tfields",
    "example.com\tFALSE\trelative\tFALSE\t0\tbad\tpath",
    "example.com\tFALSE\t/\tFALSE\tsoon\tbad\texpiry",
    ".com\tTRUE\t/\tFALSE\t0\tpublic\tsuffix",
  ].join("\n");
  assertEquals(jar.loadNetscape(text), 6);
  // curl's ".localhost" domain cookie is narrowed to the host localhost.
  assertEquals(jar.getCookieHeader("http://localhost/x/y"), 'f="q v"; b=2; c=3');
  assertEquals(jar.getCookieHeader("http://sub.localhost/x/y"), "");
  // ".com" is a public suffix: the cookie never reaches example.com.
  assertEquals(jar.getCookieHeader("http://x.com/"), "");
  assertEquals(jar.getCookieHeader("https://www.example.com/"), "s=1");
  assertEquals(jar.getCookieHeader("https://example.com/"), "s=1; six=");
  const c = [...jar].find((x) => x.name === "c")!;
  assertEquals(c.httpOnly, true);
  assertThrows(() => jar.loadNetscape("x".repeat(100), { maxBytes: 10 }), RangeError);
});

Deno.test("CookieJar Netscape round trip keeps every field", () => {
  const { jar } = jarAt();
  jar.setCookie(
    "a=1; Domain=example.com; Path=/p; Max-Age=100; HttpOnly",
    "https://www.example.com/",
  );
  jar.setCookie("b=2; Secure", "https://www.example.com/q/r");
  const copy = CookieJar.fromNetscape(jar.toNetscape(), { now: () => T0 });
  const strip = (j: CookieJar) =>
    [...j].map(({ name, value, domain, hostOnly, path, secure, httpOnly, expires }) => ({
      name,
      value,
      domain,
      hostOnly,
      path,
      secure,
      httpOnly,
      expires,
    }));
  assertEquals(strip(copy), strip(jar));
});

Deno.test("CookieJar.setCookie() refuses a TAB, CR or LF in the name, value or path (cookies.txt could not hold it)", () => {
  const { jar } = jarAt();
  const url = "http://example.com/app/";
  for (
    const header of [
      "a=x\ty",
      "a\tb=1",
      "a=1; Path=/p\tq",
      "\ta=1\t", // surrounding TABs are whitespace and trimmed: stored as a=1
    ]
  ) {
    const stored = jar.setCookie(header, url);
    assertEquals(stored, header.startsWith("\t"), JSON.stringify(header));
  }
  // Parsed cookies bypass the header parser: the same rule holds, so a LF in
  // a path can never become a second line in the file.
  const injected = "/\nexample.com\tFALSE\t/\tFALSE\t0\tsid\tstolen";
  assertEquals(jar.setCookie({ name: "p", value: "1", path: injected }, url), false);
  assertEquals(jar.setCookie({ name: "v", value: "1\r\n2" }, url), false);
  assertEquals(jar.setCookie({ name: "n\n", value: "1" }, url), false);
  assertEquals([...jar].map((c) => `${c.name}=${c.value}`), ["a=1"]);
  const copy = CookieJar.fromNetscape(jar.toNetscape(), { now: () => T0 });
  assertEquals([...copy].map((c) => `${c.name}=${c.value} ${c.path}`), ["a=1 /app"]);
});

Deno.test("CookieJar.toNetscape() throws rather than write a cookie with a TAB, CR or LF", () => {
  const { jar } = jarAt();
  jar.setCookie("sid=secret-value", "http://example.com/");
  for (const field of ["name", "value", "path", "domain"] as const) {
    const [cookie] = [...jar];
    const saved = cookie![field];
    for (const bad of ["\t", "\r", "\n"]) {
      cookie![field] = `${saved}${bad}x`;
      const error = assertThrows(() => jar.toNetscape(), TypeError, `the ${field} of cookie`);
      assert(!error.message.includes("secret-value"), "the value is not shown");
    }
    cookie![field] = saved;
  }
  assertEquals(jar.toNetscape().endsWith("\tsid\tsecret-value\n"), true);
});
