import {
  deleteCookie,
  formatSetCookie,
  getCookies,
  getSetCookies,
  parseCookie,
  parseCookieDate,
  parseSetCookie,
  setCookie,
  unquoteCookieValue,
} from "../../http/cookie.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("parseCookie() reads pairs in order and strips one pair of quotes", () => {
  assertEquals([...parseCookie('a=1; b="two"; c=x=y;d=')], [
    ["a", "1"],
    ["b", "two"],
    ["c", "x=y"],
    ["d", ""],
  ]);
});

Deno.test("parseCookie() skips a bad pair without poisoning the rest", () => {
  assertEquals([...parseCookie("a=1; garbage; =nameless; ;; b=2")], [["a", "1"], ["b", "2"]]);
});

Deno.test("parseCookie() keeps the first of repeated names", () => {
  assertEquals(parseCookie("id=specific; id=general").get("id"), "specific");
});

Deno.test("parseCookie() ignores pairs over maxCookieSize and stops at maxPairs", () => {
  const big = "x".repeat(5000);
  assertEquals([...parseCookie(`a=1; big=${big}; b=2`)], [["a", "1"], ["b", "2"]]);
  const many = Array.from({ length: 400 }, (_, i) => `c${i}=${i}`).join("; ");
  assertEquals(parseCookie(many).size, 300);
  assertEquals(parseCookie(many, { maxPairs: 5 }).size, 5);
});

Deno.test("getCookies() treats __proto__ and constructor as plain keys", () => {
  const headers = new Headers({ cookie: "__proto__=polluted; constructor=c; toString=t" });
  const cookies = getCookies(headers);
  assertEquals(cookies["__proto__"], "polluted");
  assertEquals(cookies["constructor"], "c");
  assertEquals(Object.keys(cookies), ["__proto__", "constructor", "toString"]);
  assertEquals(({} as Record<string, unknown>)["polluted"], undefined);
  assertEquals(Object.getPrototypeOf(cookies), null);
});

Deno.test("getCookies() returns an empty object without a Cookie header", () => {
  assertEquals(Object.keys(getCookies(new Headers())), []);
});

Deno.test("parseCookie() and parseSetCookie() take linear time on hostile input", () => {
  // Quadratic algorithms (rescanning after every delimiter) take seconds here.
  const inputs = [
    ";".repeat(200_000),
    "=".repeat(200_000),
    " ".repeat(200_000) + "a=b",
    "a=" + "\t ".repeat(100_000),
    "a=b" + "; Expires=".repeat(20_000),
  ];
  const started = performance.now();
  for (const input of inputs) {
    parseCookie(input);
    parseSetCookie(input, { maxCookieSize: 1_000_000 });
  }
  const elapsed = performance.now() - started;
  assert(elapsed < 2000, `parsing took ${elapsed} ms`);
});

Deno.test("parseCookieDate() follows the RFC 6265 §5.1.1 algorithm", () => {
  const iso = (text: string) => parseCookieDate(text)?.toISOString() ?? null;
  assertEquals(iso("Wed, 09 Jun 2021 10:18:14 GMT"), "2021-06-09T10:18:14.000Z");
  assertEquals(iso("Wednesday, 09-Jun-21 10:18:14 GMT"), "2021-06-09T10:18:14.000Z");
  assertEquals(iso("Wed Jun  9 10:18:14 2021"), "2021-06-09T10:18:14.000Z");
  assertEquals(iso("09 June 1999 1:2:3"), "1999-06-09T01:02:03.000Z");
  assertEquals(iso("Thu, 01 Jan 70 00:00:00 GMT"), "1970-01-01T00:00:00.000Z");
  assertEquals(iso("Sat, 01 Jan 69 00:00:00 GMT"), "2069-01-01T00:00:00.000Z");
  assertEquals(iso("31 Feb 2021 00:00:00"), null);
  assertEquals(iso("09 Jun 2021 24:00:00"), null);
  assertEquals(iso("09 Jun 1600 00:00:00"), null);
  assertEquals(iso("09 Jun 2021"), null);
  assertEquals(iso(""), null);
  assertEquals(iso("123 Jun 2021 00:00:00"), null);
});

Deno.test("parseSetCookie() reads every known attribute", () => {
  const cookie = parseSetCookie(
    "id=a3fWa; Expires=Thu, 21 Oct 2100 07:28:00 GMT; Max-Age=60; Domain=.Example.COM; " +
      "Path=/docs; Secure; HttpOnly; SameSite=None; Partitioned; Priority=High; Flag",
  );
  assertEquals(cookie, {
    name: "id",
    value: "a3fWa",
    expires: new Date("2100-10-21T07:28:00Z"),
    maxAge: 60,
    domain: "example.com",
    path: "/docs",
    secure: true,
    httpOnly: true,
    sameSite: "None",
    partitioned: true,
    unparsed: ["Priority=High", "Flag"],
  });
});

Deno.test("parseSetCookie() ignores bad attributes and lets the last one win", () => {
  assertEquals(
    parseSetCookie(
      "a=1; Max-Age=abc; Max-Age=+5; Expires=never; Path=relative; Domain=; SameSite=bogus",
    ),
    { name: "a", value: "1" },
  );
  assertEquals(parseSetCookie("a=1; Path=/x; Path=/y; Max-Age=5; Max-Age=-1"), {
    name: "a",
    value: "1",
    path: "/y",
    maxAge: -1,
  });
  assertEquals(parseSetCookie("a=1; SameSite=Lax; SameSite=nonsense")?.sameSite, undefined);
});

Deno.test("parseSetCookie() handles nameless, empty and control-character cookies per RFC 6265bis", () => {
  assertEquals(parseSetCookie("justvalue"), { name: "", value: "justvalue" });
  assertEquals(parseSetCookie("="), null);
  assertEquals(parseSetCookie(""), null);
  assertEquals(parseSetCookie(" = ; Path=/"), null);
  assertEquals(parseSetCookie("a=b\x00c"), null);
  assertEquals(parseSetCookie("a=b\rc"), null);
  assertEquals(parseSetCookie("a=b; Path=/\nx"), null);
  assertEquals(parseSetCookie("a=\tb\t"), { name: "a", value: "b" });
});

Deno.test("parseSetCookie() enforces the 4096-byte cookie and 1024-byte attribute limits", () => {
  assertEquals(parseSetCookie("a=" + "x".repeat(4095)), { name: "a", value: "x".repeat(4095) });
  assertEquals(parseSetCookie("a=" + "x".repeat(4096)), null);
  // Multi-byte characters count as bytes, not code units.
  assertEquals(parseSetCookie("a=" + "é".repeat(2048)), null);
  assertEquals(parseSetCookie("a=1; Path=/" + "p".repeat(1023))?.path, "/" + "p".repeat(1023));
  assertEquals(parseSetCookie("a=1; Path=/" + "p".repeat(1024))?.path, undefined);
  assertEquals(parseSetCookie("a=" + "x".repeat(100), { maxCookieSize: 50 }), null);
});

Deno.test("getSetCookies() reads at most 50 Set-Cookie fields", () => {
  const headers = new Headers();
  for (let i = 0; i < 60; i++) headers.append("set-cookie", `c${i}=${i}`);
  const cookies = getSetCookies(headers);
  assertEquals(cookies.length, 50);
  assertEquals(cookies[49]!.name, "c49");
  assertEquals(getSetCookies(headers, { maxCookies: 3 }).length, 3);
});

Deno.test("formatSetCookie() writes attributes in a fixed order", () => {
  assertEquals(
    formatSetCookie({
      name: "id",
      value: '"quoted"',
      domain: ".example.com",
      path: "/",
      expires: new Date("2100-01-01T00:00:00Z"),
      maxAge: 10,
      secure: true,
      httpOnly: true,
      sameSite: "None",
      partitioned: true,
      unparsed: ["Priority=High"],
    }),
    'id="quoted"; Domain=example.com; Path=/; Expires=Fri, 01 Jan 2100 00:00:00 GMT; Max-Age=10; ' +
      "Secure; HttpOnly; SameSite=None; Partitioned; Priority=High",
  );
});

Deno.test("formatSetCookie() refuses names and values that would inject attributes or headers", () => {
  for (const name of ["", "a b", "a;b", "a=b", "a\r\nSet-Cookie: x", "é", "a,b", "(a)"]) {
    assertThrows(() => formatSetCookie({ name, value: "1" }), TypeError, "name");
  }
  for (const value of ["a;b", "a b", "a,b", 'a"b', "a\\b", "a\r\nb", "\x00", "é", '"unclosed']) {
    assertThrows(() => formatSetCookie({ name: "a", value }), TypeError, "value");
  }
  assertThrows(() => formatSetCookie({ name: "a", value: "1", path: "/x;Secure" }), TypeError);
  assertThrows(() => formatSetCookie({ name: "a", value: "1", path: "/x\r\n" }), TypeError);
  assertThrows(() => formatSetCookie({ name: "a", value: "1", path: "x" }), TypeError);
  assertThrows(() => formatSetCookie({ name: "a", value: "1", domain: "a;b.com" }), TypeError);
  assertThrows(() => formatSetCookie({ name: "a", value: "1", domain: "exa mple.com" }), TypeError);
  assertThrows(() => formatSetCookie({ name: "a", value: "1", unparsed: ["x;y"] }), TypeError);
});

Deno.test("formatSetCookie() enforces the size limits", () => {
  formatSetCookie({ name: "a", value: "x".repeat(4095) });
  assertThrows(() => formatSetCookie({ name: "a", value: "x".repeat(4096) }), RangeError);
  assertThrows(
    () => formatSetCookie({ name: "a", value: "1", path: "/" + "p".repeat(1024) }),
    RangeError,
  );
  assertThrows(() => formatSetCookie({ name: "a", value: "1", maxAge: 1.5 }), RangeError);
  assertThrows(
    () => formatSetCookie({ name: "a", value: "1", expires: new Date(NaN) }),
    RangeError,
  );
});

Deno.test("formatSetCookie() enforces the __Secure- and __Host- prefix rules", () => {
  assertThrows(() => formatSetCookie({ name: "__Secure-a", value: "1" }), TypeError, "Secure");
  assertThrows(() => formatSetCookie({ name: "__secure-a", value: "1" }), TypeError, "Secure");
  assertEquals(
    formatSetCookie({ name: "__Secure-a", value: "1", secure: true }),
    "__Secure-a=1; Secure",
  );
  assertThrows(() => formatSetCookie({ name: "__Host-a", value: "1", path: "/" }), TypeError);
  assertThrows(
    () => formatSetCookie({ name: "__Host-a", value: "1", secure: true }),
    TypeError,
    "Path=/",
  );
  assertThrows(
    () =>
      formatSetCookie({ name: "__HOST-a", value: "1", secure: true, path: "/", domain: "a.com" }),
    TypeError,
    "Domain",
  );
  assertEquals(
    formatSetCookie({ name: "__Host-a", value: "1", secure: true, path: "/" }),
    "__Host-a=1; Path=/; Secure",
  );
});

Deno.test("formatSetCookie() requires Secure for SameSite=None and Partitioned", () => {
  assertThrows(() => formatSetCookie({ name: "a", value: "1", sameSite: "None" }), TypeError);
  assertThrows(() => formatSetCookie({ name: "a", value: "1", partitioned: true }), TypeError);
  assertThrows(
    // @ts-expect-error: testing a bad value from untyped callers
    () => formatSetCookie({ name: "a", value: "1", sameSite: "lax" }),
    TypeError,
  );
});

Deno.test("formatSetCookie() output parses back to the same cookie", () => {
  const cookie = {
    name: "k",
    value: "v",
    domain: "example.com",
    path: "/p",
    maxAge: 5,
    secure: true,
    httpOnly: true,
    sameSite: "Strict" as const,
  };
  assertEquals(parseSetCookie(formatSetCookie(cookie)), cookie);
});

Deno.test("setCookie() and deleteCookie() append Set-Cookie fields", () => {
  const headers = new Headers();
  setCookie(headers, { name: "a", value: "1" });
  deleteCookie(headers, "b", { path: "/x", domain: "example.com" });
  assertEquals(headers.getSetCookie(), [
    "a=1",
    "b=; Domain=example.com; Path=/x; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0",
  ]);
});

Deno.test("formatSetCookie() stays strict by default and quotes like SimpleCookie with quote: true", () => {
  assertThrows(() => formatSetCookie({ name: "msg", value: "hello world; yes" }), TypeError);
  // The same bytes Python's http.cookies.SimpleCookie writes (checked with Python 3.11).
  const cases: [string, string][] = [
    ["hello world; yes", '"hello world\\073 yes"'],
    ['say "hi" \\ ok, 1', '"say \\"hi\\" \\\\ ok\\054 1"'],
    ["tab\there", '"tab\\011here"'],
    ["a\r\nSet-Cookie: x=1", '"a\\015\\012Set-Cookie: x=1"'],
  ];
  for (const [value, quoted] of cases) {
    const header = formatSetCookie({ name: "m", value, path: "/" }, { quote: true });
    assertEquals(header, `m=${quoted}; Path=/`);
    // Nothing in the quoted form can end the value or the header early.
    assert(!/[;\r\n]/.test(quoted), quoted);
    assertEquals(unquoteCookieValue(quoted), value);
    assertEquals(unquoteCookieValue(parseCookie(`m=${quoted}`).get("m")!), value);
  }
  // Non-ASCII goes out as UTF-8 octal escapes and comes back.
  const cafe = formatSetCookie({ name: "u", value: "café ☕" }, { quote: true });
  assertEquals(cafe, 'u="caf\\303\\251 \\342\\230\\225"');
  assertEquals(unquoteCookieValue(parseCookie(cafe).get("u")!), "café ☕");
  // Values that are already cookie-octets are written as they are.
  assertEquals(formatSetCookie({ name: "a", value: "plain" }, { quote: true }), "a=plain");
  assertEquals(formatSetCookie({ name: "a", value: '"q"' }, { quote: true }), 'a="q"');
  // setCookie passes the option on.
  const headers = new Headers();
  setCookie(headers, { name: "msg", value: "x y" }, { quote: true });
  assertEquals(headers.get("set-cookie"), 'msg="x y"');
});

Deno.test("formatSetCookie({ quote: true }) still enforces the size limit on the quoted value", () => {
  // 1100 bytes of text, 4402 once each ';' is \073 and quoted: over 4096.
  assertThrows(
    () => formatSetCookie({ name: "big", value: ";".repeat(1100) }, { quote: true }),
    RangeError,
  );
  assertEquals(
    formatSetCookie({ name: "ok", value: ";".repeat(1000) }, { quote: true }).length,
    4005,
  );
});

Deno.test("unquoteCookieValue() leaves odd escapes and plain values alone, in linear time", () => {
  assertEquals(unquoteCookieValue(""), "");
  assertEquals(unquoteCookieValue('"'), '"');
  assertEquals(unquoteCookieValue('""'), "");
  assertEquals(unquoteCookieValue("a\\"), "a\\");
  assertEquals(unquoteCookieValue("\\777"), "777"); // not an octal byte: \7 is 7
  const start = performance.now();
  unquoteCookieValue('"' + "\\073".repeat(100_000) + '"');
  assert(performance.now() - start < 1000);
});
