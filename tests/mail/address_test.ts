import {
  type AddressListEntry,
  flattenAddresses,
  formatAddress,
  formatAddressList,
  parseAddress,
  parseAddressList,
} from "../../mail/address.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";

const box = (address: string, name = "") => ({ name, address });

Deno.test("parseAddressList() reads mailboxes, display names and groups (RFC 5322 §A.1)", () => {
  assertEquals(parseAddressList("John Doe <jdoe@machine.example>"), [
    box("jdoe@machine.example", "John Doe"),
  ]);
  assertEquals(
    parseAddressList(
      '"Joe Q. Public" <john.q.public@example.com>, Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>',
    ),
    [
      box("john.q.public@example.com", "Joe Q. Public"),
      box("mary@x.test", "Mary Smith"),
      box("jdoe@example.org"),
      box("one@y.test", "Who?"),
    ],
  );
  assertEquals(
    parseAddressList(
      "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Undisclosed recipients:;",
    ),
    [
      {
        group: "A Group",
        members: [box("c@a.test", "Ed Jones"), box("joe@where.test"), box("jdoe@one.test", "John")],
      },
      { group: "Undisclosed recipients", members: [] },
    ],
  );
  assertEquals(parseAddressList(""), []);
  assertEquals(parseAddressList("  "), []);
});

Deno.test("parseAddressList() skips comments and accepts the obsolete forms (RFC 5322 §4.4)", () => {
  assertEquals(
    parseAddressList("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
    [box("pete@silly.test", "Pete")],
  );
  assertEquals(parseAddressList("John Q. Public <jqp@example.test>"), [
    box("jqp@example.test", "John Q. Public"),
  ]);
  assertEquals(parseAddressList("<@route.test,@other.test:user@c.test>"), [box("user@c.test")]);
  assertEquals(parseAddressList("john . doe @ example . com"), [box("john.doe@example.com")]);
  assertEquals(parseAddressList(",,a@b.test,, ,c@d.test,"), [box("a@b.test"), box("c@d.test")]);
  assertEquals(parseAddressList("To: (nested (comment)) a@b.test".slice(4)), [box("a@b.test")]);
  assertEquals(parseAddressList("a@b.test (folded\r\n comment)"), [box("a@b.test")]);
});

Deno.test("parseAddressList() normalizes quoted local parts and keeps domain literals", () => {
  assertEquals(parseAddressList('"john.doe"@x.test'), [box("john.doe@x.test")]);
  assertEquals(parseAddressList('"john doe"@x.test'), [box('"john doe"@x.test')]);
  assertEquals(parseAddressList('"a\\"b"@x.test'), [box('"a\\"b"@x.test')]);
  assertEquals(parseAddressList('"a@b"@x.test'), [box('"a@b"@x.test')]);
  assertEquals(parseAddressList("a@[192.0.2.1]"), [box("a@[192.0.2.1]")]);
  assertEquals(parseAddressList("Jörg <jörg@bücher.test>"), [box("jörg@bücher.test", "Jörg")]);
});

Deno.test("parseAddressList() decodes encoded-word display names, never the addresses", () => {
  assertEquals(
    parseAddressList("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>"),
    [box("PIRARD@vm1.ulg.ac.be", "André Pirard")],
  );
  assertEquals(
    parseAddressList("=?UTF-8?B?WsOrbw==?= =?UTF-8?Q?_M=C3=BCller?= <z@x.test>"),
    [box("z@x.test", "Zëo Müller")],
  );
  // The decoded name may look like an address; the address stays the real one.
  assertEquals(parseAddressList("=?utf-8?q?evil=40attacker.test?= <good@x.test>"), [
    box("good@x.test", "evil@attacker.test"),
  ]);
  assertEquals(parseAddressList("=?utf-8?q?=3Cevil=40a.test=3E?= <good@x.test>"), [
    box("good@x.test", "<evil@a.test>"),
  ]);
});

// RELIABILITY.md: "address-parsing differentials never yield an address hidden in a comment".
Deno.test("parseAddressList() address differentials: hidden addresses are never returned", () => {
  // Accepted, but only the real address comes out.
  const accepted: [string, string[]][] = [
    ["good@x.test (evil@a.test)", ["good@x.test"]],
    ["(evil@a.test) good@x.test", ["good@x.test"]],
    ['"evil@a.test" <good@x.test>', ["good@x.test"]],
    ['"evil@a.test, other@a.test" <good@x.test>', ["good@x.test"]],
    ["good@x.test (<evil@a.test>)", ["good@x.test"]],
    ["good@x.test (comment \\) evil@a.test)", ["good@x.test"]],
    ['"\\"evil@a.test" <good@x.test>', ["good@x.test"]],
  ];
  for (const [value, expected] of accepted) {
    const got = flattenAddresses(parseAddressList(value)).map((a) => a.address);
    assertEquals(got, expected, value);
  }
  // Refused outright: any reading of these could route mail elsewhere.
  const refused = [
    "alice@example.org)<bob@example.org>", // CVE-2023-27043
    "alice@example.org) <bob@example.org>",
    "evil@a.test <good@x.test>",
    "<good@x.test> evil@a.test",
    "good@x.test>",
    "<good@x.test",
    "good@x.test <evil@a.test",
    '"a" <b@c.test>@d.test',
    "a@b.test@c.test",
    "a@b.test;c@d.test",
    "foo\\@bar@baz.test",
    "good@x.test (unclosed comment evil@a.test",
    '"unclosed <evil@a.test>',
    "good@x.test] <evil@a.test>",
    "g: h: a@b.test;;",
    "g: a@b.test",
    "a@b.test\0",
    "a@b.test\r\nBcc: evil@a.test",
    "a@b.test\nevil@a.test",
    "user",
    "<>",
    "@x.test",
    "a@",
    "a@b.",
    "a.@b.test",
    ".a@b.test",
    "a..b@c.test",
    "a@[1.2.3.4",
    "a@[1.2[.3.4]",
    "Name <a@b.test> <c@d.test>",
  ];
  for (const value of refused) {
    const error = assertThrows(() => parseAddressList(value), ProtocolError);
    assertEquals(error.code, "BAD_ADDRESS", value);
  }
});

Deno.test("parseAddressList() enforces length, count and comment-depth limits", () => {
  assertThrows(() => parseAddressList("a@b.test, ".repeat(10), { maxAddresses: 9 }), ProtocolError);
  assertEquals(parseAddressList("a@b.test, ".repeat(9), { maxAddresses: 9 }).length, 9);
  assertThrows(() => parseAddressList("x".repeat(70000) + "@b.test"), ProtocolError);
  assertThrows(
    () => parseAddressList("a@b.test " + "(".repeat(100) + ")".repeat(100)),
    ProtocolError,
  );
  // Deep but allowed nesting, and long input, stay linear.
  const started = performance.now();
  parseAddressList("a@b.test " + "(x".repeat(60) + ")".repeat(60));
  try {
    parseAddressList("(".repeat(60000));
  } catch {
    // expected
  }
  parseAddressList(Array.from({ length: 3000 }, (_, i) => `u${i}@x.test`).join(", "));
  assert(performance.now() - started < 1000);
});

Deno.test("parseAddress() requires exactly one mailbox", () => {
  assertEquals(parseAddress("Ann <ann@x.test>"), box("ann@x.test", "Ann"));
  assertThrows(() => parseAddress(""), ProtocolError);
  assertThrows(() => parseAddress("a@x.test, b@x.test"), ProtocolError);
  assertThrows(() => parseAddress("g: a@x.test;"), ProtocolError);
});

Deno.test("flattenAddresses() accepts strings, mailboxes and groups and validates them", () => {
  assertEquals(
    flattenAddresses([
      "Ann <ann@x.test>, g: b@x.test;",
      { name: "Cy", address: "cy@x.test" },
      { group: "h", members: [{ name: "", address: "d@x.test" }] },
    ]).map((a) => a.address),
    ["ann@x.test", "b@x.test", "cy@x.test", "d@x.test"],
  );
  assertEquals(flattenAddresses({ name: "", address: '"john.doe"@x.test' }), [
    box("john.doe@x.test"),
  ]);
  assertThrows(() => flattenAddresses("not an address"), TypeError);
  assertThrows(() => flattenAddresses({ name: "", address: "Ann <a@x.test>" }), TypeError);
  assertThrows(
    () => flattenAddresses({ name: "", address: "a@x.test\r\nRCPT TO:<e@v.test>" }),
    TypeError,
  );
  assertThrows(
    () => flattenAddresses({ name: "x\r\nBcc: e@v.test", address: "a@x.test" }),
    TypeError,
  );
  assertThrows(() => flattenAddresses("a@x.test\r\nBcc: e@v.test"), TypeError);
  assertThrows(() => flattenAddresses({ group: "", members: [] }), TypeError);
});

Deno.test("formatAddress() quotes, escapes and encodes display names only when needed", () => {
  assertEquals(formatAddress(box("a@x.test")), "a@x.test");
  assertEquals(formatAddress(box("a@x.test", "Ann Lee")), "Ann Lee <a@x.test>");
  assertEquals(formatAddress(box("a@x.test", "Lee, Ann")), '"Lee, Ann" <a@x.test>');
  assertEquals(formatAddress(box("a@x.test", 'say "hi" \\o/')), '"say \\"hi\\" \\\\o/" <a@x.test>');
  assertEquals(formatAddress(box("a@x.test", "J. Smith")), '"J. Smith" <a@x.test>');
  assertEquals(formatAddress(box("z@x.test", "Zoë")), "=?UTF-8?Q?Zo=C3=AB?= <z@x.test>");
  assertEquals(formatAddress(box("z@x.test", "Zoë"), { utf8: true }), "Zoë <z@x.test>");
  assertEquals(formatAddress(box("z@x.test", "Zoë, B"), { utf8: true }), '"Zoë, B" <z@x.test>');
  // Text that looks like an encoded word is encoded so it reads back as itself.
  assertEquals(
    parseAddressList(formatAddress(box("a@x.test", "=?utf-8?q?x?=")))[0],
    box("a@x.test", "=?utf-8?q?x?="),
  );
  assertEquals(formatAddress({ group: "Team", members: [box("a@x.test")] }), "Team: a@x.test;");
  assertEquals(
    formatAddress({ group: "Undisclosed recipients", members: [] }),
    "Undisclosed recipients:;",
  );
  assertEquals(formatAddress("Ann <ann@x.test>"), "Ann <ann@x.test>");
  assertThrows(() => formatAddress("a@x.test, b@x.test"), TypeError);
});

// RELIABILITY.md: header injection on generation throws.
Deno.test("formatAddressList() refuses CR, LF and NUL anywhere", () => {
  for (
    const input of [
      { name: "a\rb", address: "a@x.test" },
      { name: "a\nb", address: "a@x.test" },
      { name: "a\0b", address: "a@x.test" },
      { name: "", address: "a@x.test\n" },
      { group: "g\r\nBcc: e@v.test", members: [] },
    ]
  ) {
    assertThrows(() => formatAddressList([input]), TypeError);
  }
});

/** A seeded xorshift generator. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

Deno.test("parseAddressList() fuzzed: throws only ProtocolError, and what it returns round-trips", () => {
  const next = random(0x5eed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const names = [
    "Ann",
    '"Lee, Ann"',
    "=?utf-8?q?Z=C3=B6e?=",
    "John Q. Public",
    "(c) Bob",
    '"a\\"b"',
    "Jörg",
  ];
  const addrs = ["a@x.test", '"q u"@x.test', "b.c@[192.0.2.1]", "d@e.f.test", "e (c) @ g.test"];
  const specials = [
    "@",
    "<",
    ">",
    ",",
    ";",
    ":",
    '"',
    "\\",
    "(",
    ")",
    "[",
    "]",
    " ",
    ".",
    "\0",
    "\n",
  ];
  let accepted = 0;
  for (let i = 0; i < 4000; i++) {
    const entries: string[] = [];
    for (let k = 0, n = 1 + Math.floor(next() * 3); k < n; k++) {
      const mailbox = next() < 0.6 ? `${pick(names)} <${pick(addrs)}>` : pick(addrs);
      entries.push(next() < 0.15 ? `grp: ${mailbox}, ${pick(addrs)};` : mailbox);
    }
    let value = entries.join(", ");
    for (let m = 0, n = Math.floor(next() * 3); m < n; m++) {
      const at = Math.floor(next() * (value.length + 1));
      value = next() < 0.7
        ? value.slice(0, at) + pick(specials) + value.slice(at)
        : value.slice(0, at) + value.slice(at + 1);
    }
    let parsed: AddressListEntry[];
    try {
      parsed = parseAddressList(value);
    } catch (error) {
      assert(error instanceof ProtocolError, `${JSON.stringify(value)}: ${error}`);
      continue;
    }
    accepted++;
    const formatted = formatAddressList(parsed);
    assertEquals(parseAddressList(formatted), parsed, `${JSON.stringify(value)} -> ${formatted}`);
  }
  // The generator is useful only if it produces both outcomes.
  assert(accepted > 1000 && accepted < 3900, `accepted ${accepted}`);
});
