import { parseAuthChallenges, quoteString } from "../../url/_auth_challenge.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

function simple(header: string) {
  return parseAuthChallenges(header).map((c) => ({
    scheme: c.scheme,
    params: Object.fromEntries(c.params),
    token68: c.token68,
  }));
}

Deno.test("parseAuthChallenges() reads one challenge with quoted and token params", () => {
  assertEquals(simple('Basic realm="Lab \\"A\\", x", charset=UTF-8'), [
    { scheme: "basic", params: { realm: 'Lab "A", x', charset: "UTF-8" }, token68: null },
  ]);
});

Deno.test("parseAuthChallenges() splits several challenges in one field", () => {
  const header = 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", ' +
    'Basic realm="simple", Digest realm="d", nonce="n1", qop="auth,auth-int", algorithm=SHA-256';
  assertEquals(simple(header), [
    {
      scheme: "newauth",
      params: { realm: "apps", type: "1", title: 'Login to "apps"' },
      token68: null,
    },
    { scheme: "basic", params: { realm: "simple" }, token68: null },
    {
      scheme: "digest",
      params: { realm: "d", nonce: "n1", qop: "auth,auth-int", algorithm: "SHA-256" },
      token68: null,
    },
  ]);
});

Deno.test("parseAuthChallenges() reads token68 and bare schemes", () => {
  assertEquals(simple("Negotiate, NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=, Bearer"), [
    { scheme: "negotiate", params: {}, token68: null },
    { scheme: "ntlm", params: {}, token68: "TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=" },
    { scheme: "bearer", params: {}, token68: null },
  ]);
  assertEquals(simple("Negotiate YII="), [{ scheme: "negotiate", params: {}, token68: "YII=" }]);
  assertEquals(simple("Negotiate abc=="), [{ scheme: "negotiate", params: {}, token68: "abc==" }]);
});

Deno.test("parseAuthChallenges() tolerates spacing, empty list items and case", () => {
  assertEquals(simple(' ,  BASIC   REALM = "r" ,, , DIGEST nonce=x'), [
    { scheme: "basic", params: { realm: "r" }, token68: null },
    { scheme: "digest", params: { nonce: "x" }, token68: null },
  ]);
});

Deno.test("parseAuthChallenges() keeps the first of duplicate params", () => {
  assertEquals(simple('Basic realm="a", realm="b"')[0]!.params, { realm: "a" });
});

Deno.test("parseAuthChallenges() skips malformed parts and keeps the rest", () => {
  assertEquals(simple('"junk", Basic realm="ok"'), [
    { scheme: "basic", params: { realm: "ok" }, token68: null },
  ]);
  assertEquals(simple('Basic realm="unterminated'), [{
    scheme: "basic",
    params: {},
    token68: null,
  }]);
  assertEquals(simple("Basic@@ x, Digest nonce=1").map((c) => c.scheme), ["basic", "digest"]);
  assertEquals(simple(""), []);
  assertEquals(simple("   "), []);
});

Deno.test("parseAuthChallenges() caps challenges and params", () => {
  const many = Array.from({ length: 100 }, (_, i) => `S${i} a=1`).join(", ");
  assertEquals(parseAuthChallenges(many).length, 32);
  const params = Array.from({ length: 100 }, (_, i) => `p${i}=1`).join(", ");
  assertEquals(parseAuthChallenges(`Basic ${params}`)[0]!.params.size, 32);
});

Deno.test("parseAuthChallenges() runs in linear time on hostile headers", () => {
  const hostile = [
    "Basic " + "a=b, ".repeat(50000),
    "Digest " + 'realm="' + "\\\\".repeat(100000),
    "x ".repeat(100000),
    ",".repeat(200000),
    "Basic " + "=".repeat(200000),
    'Basic realm="' + "a".repeat(200000),
    "a" + " ".repeat(200000) + "b",
    "Basic " + "abc ".repeat(50000),
  ];
  for (const header of hostile) {
    const start = performance.now();
    parseAuthChallenges(header);
    const ms = performance.now() - start;
    assert(ms < 500, `took ${ms} ms on ${JSON.stringify(header.slice(0, 20))}...`);
  }
});

Deno.test("parseAuthChallenges() survives seeded random input", () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pieces = ["Basic", "Digest", " ", ",", "=", '"', "\\", "realm", "a", "==", "\t"];
  for (let i = 0; i < 2000; i++) {
    let header = "";
    for (let j = rand(20); j > 0; j--) header += pieces[rand(pieces.length)];
    for (const c of parseAuthChallenges(header)) {
      assert(c.scheme.length > 0);
      assert(c.params.size <= 32);
    }
  }
});

Deno.test("quoteString() escapes quotes and backslashes", () => {
  assertEquals(quoteString('a"b\\c'), '"a\\"b\\\\c"');
  assertEquals(simple(`Basic realm=${quoteString('a"b\\c')}`)[0]!.params.realm, 'a"b\\c');
});
