import { urlencode } from "../../url/urlencode.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("urlencode() encodes a record with repeated keys, skipping null and undefined", () => {
  assertEquals(
    urlencode({ a: "1 2", b: ["x", "y"], c: null, d: undefined, e: true, f: 3n }),
    "a=1+2&b=x&b=y&e=true&f=3",
  );
});

Deno.test("urlencode() keeps the order of pairs and of URLSearchParams", () => {
  assertEquals(urlencode([["b", 1], ["a", 2], ["b", 3]]), "b=1&a=2&b=3");
  assertEquals(urlencode(new URLSearchParams("z=1&y=%20")), "z=1&y=+");
  assertEquals(urlencode(new Map([["k", "v"]])), "k=v");
});

Deno.test("urlencode() with quoteVia percent encodes spaces as %20 and reserved characters", () => {
  assertEquals(urlencode({ q: "a b*c~/" }, { quoteVia: "percent" }), "q=a%20b%2Ac~%2F");
  assertEquals(urlencode({ "k y": "é" }, { quoteVia: "percent" }), "k%20y=%C3%A9");
});

Deno.test("urlencode() rejects malformed input", () => {
  assertThrows(() => urlencode([["a"]] as unknown as [string, string][]), TypeError);
  assertThrows(() => urlencode("a=1" as unknown as Record<string, string>), TypeError);
});
