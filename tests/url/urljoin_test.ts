import { urljoin } from "../../url/urljoin.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("urljoin() resolves the RFC 3986 §5.4 examples", () => {
  const base = "http://a/b/c/d;p?q";
  const cases: [string, string][] = [
    ["g:h", "g:h"],
    ["g", "http://a/b/c/g"],
    ["./g", "http://a/b/c/g"],
    ["g/", "http://a/b/c/g/"],
    ["/g", "http://a/g"],
    ["//g", "http://g/"],
    ["?y", "http://a/b/c/d;p?y"],
    ["g?y", "http://a/b/c/g?y"],
    ["#s", "http://a/b/c/d;p?q#s"],
    ["g#s", "http://a/b/c/g#s"],
    [";x", "http://a/b/c/;x"],
    [".", "http://a/b/c/"],
    ["..", "http://a/b/"],
    ["../g", "http://a/b/g"],
    ["../..", "http://a/"],
    ["../../../g", "http://a/g"],
    ["/./g", "http://a/g"],
    ["g;x=1/../y", "http://a/b/c/y"],
  ];
  for (const [ref, want] of cases) assertEquals(urljoin(base, ref), want, ref);
});

Deno.test("urljoin() returns the base for an empty reference and the reference when absolute", () => {
  assertEquals(urljoin("http://a/b#f", ""), "http://a/b#f");
  assertEquals(urljoin("not absolute", "https://x/y"), "https://x/y");
  assertEquals(urljoin(new URL("http://a/b/"), new URL("http://c/")), "http://c/");
});

Deno.test("urljoin() throws TypeError when nothing is absolute", () => {
  assertThrows(() => urljoin("relative/base", "x"), TypeError);
});
