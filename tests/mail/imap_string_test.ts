import { BufferedReader } from "../../net/buffered_reader.ts";
import {
  formatImapAstring,
  formatImapDate,
  formatImapFlagList,
  formatImapLiteral,
  formatImapMailbox,
  formatImapQuoted,
  formatImapSequenceSet,
  type ImapCommandPart,
  joinImapParts,
} from "../../mail/imap_string.ts";
import { ImapCommandReader } from "../../mail/imap_command_reader.ts";
import { decodeImapUtf7 } from "../../mail/imap_utf7.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { byteReaderOf, prng } from "../_helpers/sources.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function wire(parts: readonly ImapCommandPart[]): Uint8Array {
  const chunks = parts.map((p) => (p.type === "text" ? encoder.encode(p.text) : p.data));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const text = (t: string): ImapCommandPart[] => [{ type: "text", text: t }];

Deno.test("formatImapAstring() prefers an atom, then a quoted string", () => {
  assertEquals(formatImapAstring("mulder"), text("mulder"));
  assertEquals(formatImapAstring("a.b-c_d+e@f:g,1"), text("a.b-c_d+e@f:g,1"));
  assertEquals(formatImapAstring(""), text('""'));
  assertEquals(formatImapAstring("two words"), text('"two words"'));
  assertEquals(formatImapAstring('q"uo\\te'), text('"q\\"uo\\\\te"'));
  assertEquals(formatImapAstring("NIL"), text('"NIL"'));
  assertEquals(formatImapAstring("nil"), text('"nil"'));
  assertEquals(formatImapAstring("a*b"), text('"a*b"'));
  assertEquals(formatImapAstring("a%b"), text('"a%b"'));
  assertEquals(formatImapAstring("(x)"), text('"(x)"'));
  assertEquals(formatImapAstring("{5}"), text('"{5}"'));
  assertEquals(formatImapAstring("[Gmail]"), text('"[Gmail]"'));
  assertEquals(formatImapAstring("tab\there"), text('"tab\there"'));
  assertEquals(formatImapAstring("mulder", { atom: false }), text('"mulder"'));
});

Deno.test("formatImapAstring() sends CR, LF, 8-bit text and long values as literals", () => {
  const crlf = formatImapAstring("a\r\nA2 DELETE INBOX");
  assertEquals(crlf, [
    { type: "text", text: "{18}\r\n" },
    { type: "literal", data: encoder.encode("a\r\nA2 DELETE INBOX"), synchronizing: true },
  ]);
  assertEquals(formatImapAstring("bare\rcr")[0], { type: "text", text: "{7}\r\n" });
  assertEquals(formatImapAstring("Grüße")[0], { type: "text", text: "{7}\r\n" });
  assertEquals(formatImapAstring("Grüße", { utf8: true }), text('"Grüße"'));
  assertEquals(formatImapAstring("Grüße\r\n", { utf8: true })[0], {
    type: "text",
    text: "{9}\r\n",
  });
  const long = "x ".repeat(600);
  assertEquals(formatImapAstring(long)[0], { type: "text", text: "{1200}\r\n" });
  assertEquals(formatImapAstring(long, { maxQuotedLength: 2000 }), text(`"${long}"`));
  assertEquals(formatImapAstring("y".repeat(1100))[0], { type: "text", text: "{1100}\r\n" });
  const bytes = formatImapAstring(new Uint8Array([0xff, 0x41]));
  assertEquals(bytes[1], {
    type: "literal",
    data: new Uint8Array([0xff, 0x41]),
    synchronizing: true,
  });
  assertEquals(formatImapAstring(encoder.encode("plain")), text("plain"));
});

Deno.test("formatImapAstring() uses {n+} with LITERAL+ and with LITERAL- up to 4096 bytes", () => {
  const small = "line\n".repeat(10);
  assertEquals(formatImapAstring(small, { nonSynchronizing: "LITERAL+" })[0], {
    type: "text",
    text: "{50+}\r\n",
  });
  const at = "\n".repeat(4096);
  const over = "\n".repeat(4097);
  assertEquals(formatImapAstring(at, { nonSynchronizing: "LITERAL-" })[0], {
    type: "text",
    text: "{4096+}\r\n",
  });
  const overParts = formatImapAstring(over, { nonSynchronizing: "LITERAL-" });
  assertEquals(overParts[0], { type: "text", text: "{4097}\r\n" });
  assertEquals(overParts[1]?.type === "literal" && overParts[1].synchronizing, true);
  assertEquals(formatImapAstring(over, { nonSynchronizing: "LITERAL+" })[0], {
    type: "text",
    text: "{4097+}\r\n",
  });
});

Deno.test("formatImapAstring() refuses NUL and lone surrogates in any form", () => {
  assertThrows(() => formatImapAstring("a\0b"), TypeError, "NUL");
  assertThrows(() => formatImapAstring("a\0b\r\n"), TypeError, "NUL");
  assertThrows(() => formatImapAstring(new Uint8Array([0x61, 0])), TypeError, "NUL");
  assertThrows(() => formatImapAstring("a\ud800"), TypeError, "surrogate");
});

Deno.test("formatImapQuoted() refuses CR, LF, NUL and, without UTF-8, 8-bit text", () => {
  assertEquals(formatImapQuoted(""), '""');
  assertEquals(formatImapQuoted("ü", { utf8: true }), '"ü"');
  for (const value of ["a\rb", "a\nb", "a\r\nb", "a\0b"]) {
    assertThrows(() => formatImapQuoted(value), TypeError, "CR, LF, NUL");
    assertThrows(() => formatImapQuoted(value, { utf8: true }), TypeError, "CR, LF, NUL");
  }
  assertThrows(() => formatImapQuoted("ü"), TypeError, "8-bit");
  assertThrows(() => formatImapQuoted("\ud800"), TypeError, "surrogate");
});

Deno.test("formatImapLiteral() writes {n}, {n+} and ~{n} and keeps NUL for literal8 only", () => {
  const data = new Uint8Array([1, 0, 2]);
  assertThrows(() => formatImapLiteral(data), TypeError, "literal8");
  assertEquals(formatImapLiteral(data, { binary: true }), [
    { type: "text", text: "~{3}\r\n" },
    { type: "literal", data, synchronizing: true },
  ]);
  assertEquals(formatImapLiteral(data, { binary: true, nonSynchronizing: "LITERAL+" })[0], {
    type: "text",
    text: "~{3+}\r\n",
  });
  assertEquals(formatImapLiteral(new Uint8Array(0))[0], { type: "text", text: "{0}\r\n" });
});

Deno.test("formatImapAstring() output reads back as the same value through ImapCommandReader", async () => {
  const random = prng(99);
  const pieces = [
    "a",
    "Z",
    " ",
    '"',
    "\\",
    "\r",
    "\n",
    "\r\n",
    "ü",
    "日",
    "*",
    "(",
    ")",
    "{3}",
    "NIL",
    "%",
  ];
  for (let trial = 0; trial < 800; trial++) {
    let value = "";
    const n = Math.floor(random() * 10);
    for (let k = 0; k < n; k++) value += pieces[Math.floor(random() * pieces.length)];
    const options = {
      utf8: random() < 0.5,
      nonSynchronizing: ([null, "LITERAL+", "LITERAL-"] as const)[Math.floor(random() * 3)],
      maxQuotedLength: random() < 0.2 ? 4 : 1024,
    };
    const parts = joinImapParts(["a1 LOGIN ", formatImapAstring(value, options), " x\r\n"]);
    const bytes = wire(parts);
    let continuations = 0;
    const reader = new ImapCommandReader(new BufferedReader(byteReaderOf([bytes])), {
      onContinuation: () => void continuations++,
      nonSynchronizing: "LITERAL+",
    });
    const command = await reader.read();
    assert(command?.type === "command", `${JSON.stringify(value)}: ${JSON.stringify(command)}`);
    const token = command.args[0];
    const read = token?.type === "literal"
      ? decoder.decode(token.value)
      : token?.type === "string" || token?.type === "atom"
      ? token.value
      : token?.type === "number"
      ? token.text
      : null;
    assertEquals(read, value, JSON.stringify(value));
    assertEquals(
      continuations,
      parts.filter((p) => p.type === "literal" && p.synchronizing).length,
    );
  }
});

Deno.test("formatImapMailbox() applies modified UTF-7 unless UTF-8 mode, INBOX as INBOX", () => {
  assertEquals(
    formatImapMailbox("~peter/mail/台北/日本語"),
    text("~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
  );
  assertEquals(decodeImapUtf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), "~peter/mail/台北/日本語");
  assertEquals(formatImapMailbox("R&D"), text("R&-D"));
  assertEquals(formatImapMailbox("Sent Items"), text('"Sent Items"'));
  assertEquals(formatImapMailbox("inbox"), text("INBOX"));
  assertEquals(formatImapMailbox("NIL"), text('"NIL"'));
  assertEquals(formatImapMailbox("日本語", { utf8: true }), text('"日本語"'));
  assertEquals(formatImapMailbox("R&D", { utf8: true }), text("R&D"));
  for (const name of ["", "a\r\nA2 DELETE INBOX", "a\nb", "a\0b"]) {
    assertThrows(() => formatImapMailbox(name), TypeError, "mailbox name");
    assertThrows(() => formatImapMailbox(name, { utf8: true }), TypeError, "mailbox name");
  }
});

Deno.test("formatImapSequenceSet() formats numbers, ranges and *, joining runs", () => {
  assertEquals(formatImapSequenceSet(5), "5");
  assertEquals(formatImapSequenceSet("*"), "*");
  assertEquals(formatImapSequenceSet([1, 2, 3]), "1:3");
  assertEquals(formatImapSequenceSet([1, 5]), "1,5");
  assertEquals(formatImapSequenceSet([[1, 5]]), "1:5");
  assertEquals(formatImapSequenceSet([3, 2, 1]), "3,2,1");
  assertEquals(
    formatImapSequenceSet([1, 2, 4, 5, 6, [10, "*"], "*", 4294967295]),
    "1:2,4:6,10:*,*,4294967295",
  );
  assertEquals(formatImapSequenceSet(["*", 1]), "*,1");
  assertEquals(formatImapSequenceSet("1:3,7,9:*"), "1:3,7,9:*");
  assertEquals(formatImapSequenceSet("$"), "$");
});

Deno.test("formatImapSequenceSet() refuses empty, malformed and out-of-range sets", () => {
  assertThrows(() => formatImapSequenceSet([]), TypeError, "empty");
  for (const s of ["", "1:", ":3", "1,,2", "a", "1 2", "1\r\nA2 LOGOUT", "1:3,", "-1", "1.5"]) {
    assertThrows(() => formatImapSequenceSet(s), TypeError, "malformed", s);
  }
  for (const n of [0, -1, 1.5, 4294967296, NaN]) {
    assertThrows(() => formatImapSequenceSet(n), RangeError);
    assertThrows(() => formatImapSequenceSet([[1, n]]), RangeError);
  }
  assertThrows(() => formatImapSequenceSet("0:3"), RangeError);
  assertThrows(() => formatImapSequenceSet("4294967296"), RangeError);
  assertThrows(() => formatImapSequenceSet([["x" as "*", 1]]), RangeError);
});

Deno.test("formatImapFlagList() formats flags and keywords and refuses injection", () => {
  assertEquals(formatImapFlagList([]), "()");
  assertEquals(
    formatImapFlagList(["\\Seen", "\\Deleted", "$Forwarded", "NonJunk"]),
    "(\\Seen \\Deleted $Forwarded NonJunk)",
  );
  assertEquals(formatImapFlagList(new Set(["\\Flagged"])), "(\\Flagged)");
  for (
    const flag of [
      "",
      "\\",
      "two words",
      "a)",
      "(a",
      "a\r\nA2 LOGOUT",
      "a\0",
      "ü",
      '"q"',
      "\\\\x",
      "a*",
      "a%",
    ]
  ) {
    assertThrows(() => formatImapFlagList([flag]), TypeError, "not an atom", flag);
  }
});

Deno.test("formatImapDate() formats APPEND date-times and SEARCH dates in UTC", () => {
  const date = new Date("2023-11-04T08:05:09Z");
  assertEquals(formatImapDate(date), '"04-Nov-2023 08:05:09 +0000"');
  assertEquals(formatImapDate(date, { form: "date" }), "4-Nov-2023");
  assertThrows(() => formatImapDate(new Date(NaN)), RangeError);
  assertThrows(() => formatImapDate(new Date("+010000-01-01T00:00:00Z")), RangeError);
});

Deno.test("joinImapParts() merges adjacent text and keeps literals in order", () => {
  const parts = joinImapParts([
    "a1 APPEND ",
    formatImapMailbox("Entwürfe"),
    " ",
    formatImapFlagList(["\\Seen"]),
    " ",
    formatImapLiteral(encoder.encode("From: x\r\n\r\nhi\r\n"), { nonSynchronizing: "LITERAL+" }),
    "\r\n",
  ]);
  assertEquals(parts, [
    { type: "text", text: "a1 APPEND Entw&APw-rfe (\\Seen) {15+}\r\n" },
    { type: "literal", data: encoder.encode("From: x\r\n\r\nhi\r\n"), synchronizing: false },
    { type: "text", text: "\r\n" },
  ]);
  assertEquals(joinImapParts([]), []);
});
