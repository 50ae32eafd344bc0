import { RobotsTxt } from "../../url/robots.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";

const encoder = new TextEncoder();

function allowed(text: string, agent: string, path: string): boolean {
  return RobotsTxt.parse(text).isAllowed(agent, path);
}

Deno.test("RobotsTxt.isAllowed() picks the longest matching rule", () => {
  const text = "User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /a/b/c\n";
  assertEquals(allowed(text, "bot", "/a"), false);
  assertEquals(allowed(text, "bot", "/a/x"), false);
  assertEquals(allowed(text, "bot", "/a/b"), true);
  assertEquals(allowed(text, "bot", "/a/b/x"), true);
  assertEquals(allowed(text, "bot", "/a/b/c"), false);
  assertEquals(allowed(text, "bot", "/b"), true);
});

Deno.test("RobotsTxt.isAllowed() lets allow win a tie in length, whatever the order", () => {
  assertEquals(allowed("User-agent: *\nDisallow: /page\nAllow: /page\n", "bot", "/page"), true);
  assertEquals(allowed("User-agent: *\nAllow: /page\nDisallow: /page\n", "bot", "/page"), true);
  // Equal length with wildcards (RFC 9309 §2.2.2 example).
  assertEquals(
    allowed("User-agent: *\nAllow: /folder\nDisallow: /folde*\n", "bot", "/folder"),
    true,
  );
});

Deno.test("RobotsTxt.isAllowed() treats * as any run and a final $ as the end", () => {
  const text = "User-agent: *\nDisallow: /*.php$\nDisallow: /x*y*z\nAllow: /x*y*z$\n";
  assertEquals(allowed(text, "bot", "/index.php"), false);
  assertEquals(allowed(text, "bot", "/index.php?x=1"), true);
  assertEquals(allowed(text, "bot", "/a/b.php"), false);
  assertEquals(allowed(text, "bot", "/index.phps"), true);
  assertEquals(allowed(text, "bot", "/x1y2z3"), false);
  assertEquals(allowed(text, "bot", "/x1y2z"), true);
  assertEquals(allowed(text, "bot", "/xzy"), true);
  // "$" in the middle is a literal character.
  assertEquals(allowed("User-agent: *\nDisallow: /a$b\n", "bot", "/a$b/c"), false);
  // "/$" blocks only the root.
  const root = "User-agent: *\nDisallow: /$\n";
  assertEquals(allowed(root, "bot", "/"), false);
  assertEquals(allowed(root, "bot", "/x"), true);
});

Deno.test("RobotsTxt.isAllowed() matches a URL's path and query, not its host or fragment", () => {
  const robots = RobotsTxt.parse("User-agent: *\nDisallow: /search?q=\n");
  assertEquals(robots.isAllowed("bot", "https://example.test/search?q=x#top"), false);
  assertEquals(robots.isAllowed("bot", "https://example.test/search"), true);
  assertEquals(robots.isAllowed("bot", new URL("https://example.test/search?q=1")), false);
  assertEquals(robots.isAllowed("bot", "/search?q=2#f"), false);
  assertThrows(() => robots.isAllowed("bot", "not a url"), TypeError);
});

Deno.test("RobotsTxt groups: merged per token, case-insensitive, * as fallback", () => {
  const text = [
    "User-agent: FooBot",
    "Disallow: /foo1",
    "",
    "User-agent: *",
    "Disallow: /all",
    "",
    "user-agent: foobot",
    "disallow: /foo2",
    "",
    "User-agent: BarBot",
    "User-agent: BazBot",
    "Disallow: /shared",
  ].join("\n");
  const robots = RobotsTxt.parse(text);
  assertEquals(robots.isAllowed("FooBot/2.1 (+https://foo.test)", "/foo1"), false);
  assertEquals(robots.isAllowed("FOOBOT", "/foo2"), false);
  // A crawler with its own group ignores the * group.
  assertEquals(robots.isAllowed("foobot", "/all"), true);
  assertEquals(robots.isAllowed("other", "/all"), false);
  assertEquals(robots.isAllowed("other", "/foo1"), true);
  assertEquals(robots.isAllowed("bazbot", "/shared"), false);
  assertEquals(robots.isAllowed("barbot", "/shared"), false);
  // Token match is exact: "foo" is not "foobot".
  assertEquals(robots.isAllowed("foo", "/all"), false);
});

Deno.test("RobotsTxt with no matching group and no * group allows everything", () => {
  const robots = RobotsTxt.parse("User-agent: OnlyBot\nDisallow: /\n");
  assertEquals(robots.isAllowed("other", "/x"), true);
  assertEquals(robots.isAllowed("onlybot", "/x"), false);
  assertEquals(RobotsTxt.parse("").isAllowed("bot", "/x"), true);
});

Deno.test("RobotsTxt ignores rules before the first User-agent line and unknown records", () => {
  const robots = RobotsTxt.parse(
    "Disallow: /orphan\nUser-agent: *\nFoo: bar\nDisallow: /a\nNoindex: /b\n",
  );
  assertEquals(robots.isAllowed("bot", "/orphan"), true);
  assertEquals(robots.isAllowed("bot", "/a"), false);
  assertEquals(robots.isAllowed("bot", "/b"), true);
});

Deno.test("RobotsTxt: an empty Disallow allows everything", () => {
  assertEquals(allowed("User-agent: *\nDisallow:\n", "bot", "/x"), true);
  assertEquals(allowed("User-agent: *\nDisallow: /\n", "bot", "/x"), false);
});

Deno.test("RobotsTxt: /robots.txt itself is always allowed", () => {
  assertEquals(allowed("User-agent: *\nDisallow: /\n", "bot", "/robots.txt"), true);
});

Deno.test("RobotsTxt: a User-agent line after rules starts a new group", () => {
  const robots = RobotsTxt.parse("User-agent: a\nDisallow: /x\nUser-agent: b\nDisallow: /y\n");
  assertEquals(robots.isAllowed("a", "/y"), true);
  assertEquals(robots.isAllowed("b", "/x"), true);
  assertEquals(robots.isAllowed("b", "/y"), false);
});

Deno.test("RobotsTxt: keys are case-insensitive, paths case-sensitive", () => {
  const robots = RobotsTxt.parse("USER-AGENT: *\nDISALLOW: /Private\n");
  assertEquals(robots.isAllowed("bot", "/Private"), false);
  assertEquals(robots.isAllowed("bot", "/private"), true);
});

Deno.test("RobotsTxt: comments, white space and missing leading slash", () => {
  const robots = RobotsTxt.parse(
    "# comment\n  User-agent :  *   # trailing\n\tDisallow:\t/tmp # why\nDisallow: nolead\n",
  );
  assertEquals(robots.isAllowed("bot", "/tmp/a"), false);
  assertEquals(robots.isAllowed("bot", "/nolead"), false);
  assertEquals(robots.isAllowed("bot", "/other"), true);
});

Deno.test("RobotsTxt: BOM and every line ending", () => {
  for (const eol of ["\n", "\r\n", "\r"]) {
    const text = `\uFEFFUser-agent: *${eol}Disallow: /a${eol}Allow: /a/b${eol}`;
    const robots = RobotsTxt.parse(encoder.encode(text));
    assertEquals(robots.isAllowed("bot", "/a"), false, JSON.stringify(eol));
    assertEquals(robots.isAllowed("bot", "/a/b"), true, JSON.stringify(eol));
    assertEquals(RobotsTxt.parse(text).isAllowed("bot", "/a"), false);
  }
  // Mixed line endings in one file.
  const mixed = RobotsTxt.parse("User-agent: *\r\nDisallow: /a\rDisallow: /b\nDisallow: /c");
  assertEquals(["/a", "/b", "/c", "/d"].map((p) => mixed.isAllowed("bot", p)), [
    false,
    false,
    false,
    true,
  ]);
});

Deno.test("RobotsTxt: a size cap cutting a CR LF pair or a UTF-8 character parses the prefix", () => {
  const text = "User-agent: *\r\nDisallow: /caf\u00e9\r\nDisallow: /b\r\n";
  const bytes = encoder.encode(text);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const robots = RobotsTxt.parse(bytes, { maxBytes: cut });
    // The prefix's complete lines (the cap may fall just before the CR)
    // apply; a line cut by the cap does not.
    const prefix = new TextDecoder().decode(bytes.subarray(0, cut + 1));
    const hasB = prefix.includes("Disallow: /b\r");
    const hasCafe = prefix.includes("Disallow: /caf\u00e9\r");
    assertEquals(robots.isAllowed("bot", "/caf\u00e9"), !hasCafe, `cut at ${cut}`);
    assertEquals(robots.isAllowed("bot", "/b"), !hasB, `cut at ${cut}`);
    assert(robots.isAllowed("bot", "/z"), `cut at ${cut}`);
  }
});

Deno.test("RobotsTxt: percent-encoding is normalized on both sides", () => {
  const robots = RobotsTxt.parse(
    "User-agent: *\nDisallow: /caf%c3%a9\nDisallow: /%7Euser\nDisallow: /a%2fb\nDisallow: /日本\n",
  );
  assertEquals(robots.isAllowed("bot", "/café"), false);
  assertEquals(robots.isAllowed("bot", "https://h.test/caf%C3%A9/x"), false);
  assertEquals(robots.isAllowed("bot", "/~user/x"), false);
  assertEquals(robots.isAllowed("bot", "/%7euser"), false);
  // %2F is reserved: it stays distinct from "/".
  assertEquals(robots.isAllowed("bot", "/a/b"), true);
  assertEquals(robots.isAllowed("bot", "/a%2Fb"), false);
  assertEquals(robots.isAllowed("bot", "/%E6%97%A5%E6%9C%AC"), false);
});

Deno.test("RobotsTxt: the size cap ignores what follows 500 KiB", () => {
  const filler = "# " + "x".repeat(1000) + "\n";
  const head = "User-agent: *\nDisallow: /early\n";
  let text = head;
  while (text.length < 512000) text += filler;
  text += "Disallow: /late\n";
  const robots = RobotsTxt.parse(text);
  assertEquals(robots.isAllowed("bot", "/early"), false);
  assertEquals(robots.isAllowed("bot", "/late"), true);
  assertEquals(RobotsTxt.parse(text, { maxBytes: 10_000_000 }).isAllowed("bot", "/late"), false);
  assertThrows(() => RobotsTxt.parse("", { maxBytes: -1 }), RangeError);
});

Deno.test("RobotsTxt: hostile wildcard patterns match in linear time", () => {
  const pattern = "/" + "*a".repeat(2000) + "*b$";
  const robots = RobotsTxt.parse(`User-agent: *\nDisallow: ${pattern}\n`);
  const path = "/" + "a".repeat(100_000);
  const start = performance.now();
  assertEquals(robots.isAllowed("bot", path), true);
  assertEquals(robots.isAllowed("bot", path + "b"), false);
  assert(performance.now() - start < 1000, "matching took too long");
});

Deno.test("RobotsTxt: a file of many rules parses and matches quickly", () => {
  const lines = ["User-agent: *"];
  for (let i = 0; i < 20000; i++) lines.push(`Disallow: /p${i}/*x*y$`);
  const start = performance.now();
  const robots = RobotsTxt.parse(lines.join("\n"));
  assertEquals(robots.isAllowed("bot", "/p19999/axbY"), true);
  assertEquals(robots.isAllowed("bot", "/p19999/axby"), false);
  assert(performance.now() - start < 2000);
});

Deno.test("RobotsTxt.crawlDelay(), requestRate() and sitemaps", () => {
  const robots = RobotsTxt.parse(
    [
      "Sitemap: https://h.test/a.xml",
      "User-agent: slow",
      "Crawl-delay: 7",
      "Request-rate: 1/5",
      "Disallow: /x",
      "User-agent: *",
      "Crawl-delay: nonsense",
      "Sitemap: https://h.test/b.xml",
    ].join("\n"),
  );
  assertEquals(robots.crawlDelay("slow"), 7);
  assertEquals(robots.requestRate("Slow/1.0"), { requests: 1, seconds: 5 });
  assertEquals(robots.crawlDelay("fast"), undefined);
  assertEquals(robots.requestRate("fast"), undefined);
  assertEquals(robots.sitemaps, ["https://h.test/a.xml", "https://h.test/b.xml"]);
  // The Sitemap line did not end the group run.
  assertEquals(robots.isAllowed("slow", "/x"), false);
});

Deno.test("RobotsTxt.allowAll() and disallowAll() ignore the path", () => {
  assertEquals(RobotsTxt.allowAll().isAllowed("x", "/robots.txt"), true);
  assertEquals(RobotsTxt.disallowAll().isAllowed("x", "/anything"), false);
  assertEquals(RobotsTxt.disallowAll().sitemaps, []);
});

Deno.test("RobotsTxt: seeded random files never throw and agree with a reference matcher", () => {
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ["a", "b", "/", "*", "$", "%41", "?", "="];
  const pick = (len: number) => {
    let s = "";
    for (let i = 0; i < len; i++) s += alphabet[rand(alphabet.length)];
    return s;
  };
  for (let round = 0; round < 300; round++) {
    const rules: [boolean, string][] = [];
    for (let i = 0; i < 4; i++) rules.push([rand(2) === 0, "/" + pick(rand(5))]);
    const text = "User-agent: *\n" +
      rules.map(([a, p]) => `${a ? "Allow" : "Disallow"}: ${p}`).join("\n");
    const robots = RobotsTxt.parse(text);
    for (let j = 0; j < 10; j++) {
      const path = "/" + pick(rand(7)).replaceAll("*", "").replaceAll("$", "");
      assertEquals(robots.isAllowed("bot", path), reference(rules, path), `${text}\n${path}`);
    }
  }
});

/** A slow, obviously right matcher: regular expressions built per rule. */
function reference(rules: [boolean, string][], path: string): boolean {
  const norm = (s: string) => s.replaceAll("%41", "A");
  const target = norm(path);
  let best: { allow: boolean; length: number } | null = null;
  for (const [allow, raw] of rules) {
    const pattern = norm(raw);
    const anchored = pattern.endsWith("$");
    const body = anchored ? pattern.slice(0, -1) : pattern;
    const source = "^" +
      body.split("*").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*") +
      (anchored ? "$" : "");
    if (!new RegExp(source, "s").test(target)) continue;
    const length = pattern.length;
    if (best === null || length > best.length || (length === best.length && allow)) {
      best = { allow, length };
    }
  }
  return target === "/robots.txt" || best === null || best.allow;
}
