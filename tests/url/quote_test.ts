import { quote, quotePlus, unquote, unquotePlus } from "../../url/quote.ts";
import { assertEquals } from "../_helpers/assert.ts";

Deno.test("quote() keeps letters, digits, _.-~ and / by default", () => {
  assertEquals(quote("/a-b_c.d~e/f"), "/a-b_c.d~e/f");
  assertEquals(quote("a b&c=d"), "a%20b%26c%3Dd");
  // encodeURIComponent leaves these; Python's quote does not.
  assertEquals(quote("!'()*"), "%21%27%28%29%2A");
  assertEquals(quote("a/b", { safe: "" }), "a%2Fb");
  assertEquals(quote("a:b@c", { safe: "/:@" }), "a:b@c");
});

Deno.test("quote() encodes UTF-8 with upper-case hex, lone surrogates as U+FFFD", () => {
  assertEquals(quote("é€😀"), "%C3%A9%E2%82%AC%F0%9F%98%80");
  assertEquals(quote("\ud800"), "%EF%BF%BD");
  // Non-ASCII characters in `safe` are still encoded.
  assertEquals(quote("é", { safe: "é" }), "%C3%A9");
});

Deno.test("quotePlus() turns spaces into + and encodes /", () => {
  assertEquals(quotePlus("a b/c"), "a+b%2Fc");
  assertEquals(quotePlus("a+b"), "a%2Bb");
  assertEquals(quotePlus("a/b", { safe: "/" }), "a/b");
});

Deno.test("unquote() decodes UTF-8 escapes and never throws", () => {
  assertEquals(unquote("%C3%A9%e2%82%ac"), "é€");
  assertEquals(unquote("100%"), "100%");
  assertEquals(unquote("%zz%4"), "%zz%4");
  assertEquals(unquote("%C3"), "\uFFFD");
  assertEquals(unquote("%C3x"), "\uFFFDx");
  assertEquals(unquote("a+b"), "a+b");
  assertEquals(unquote(""), "");
});

Deno.test("unquotePlus() turns + into spaces before decoding", () => {
  assertEquals(unquotePlus("a+b%2B"), "a b+");
});

Deno.test("quote() and unquote() round-trip any text", () => {
  const samples = ["", "plain", "a b/c?d#e", "é€😀", "%41", "\0\r\n\t", "~!*'()"];
  for (const s of samples) {
    assertEquals(unquote(quote(s)), s);
    assertEquals(unquote(quote(s, { safe: "" })), s);
    assertEquals(unquotePlus(quotePlus(s)), s);
  }
});
