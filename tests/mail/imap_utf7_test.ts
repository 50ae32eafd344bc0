import { decodeImapUtf7, encodeImapUtf7 } from "../../mail/imap_utf7.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import { prng } from "../_helpers/sources.ts";

Deno.test("encodeImapUtf7() encodes the examples of RFC 3501 §5.1.3", () => {
  assertEquals(encodeImapUtf7("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  assertEquals(encodeImapUtf7("&"), "&-");
  assertEquals(encodeImapUtf7("R&D & more"), "R&-D &- more");
  assertEquals(encodeImapUtf7(""), "");
  assertEquals(encodeImapUtf7("INBOX"), "INBOX");
  assertEquals(encodeImapUtf7("Entwürfe"), "Entw&APw-rfe");
  assertEquals(encodeImapUtf7("Gelöschte Elemente"), "Gel&APY-schte Elemente");
  assertEquals(encodeImapUtf7("Отправленные"), "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-");
});

Deno.test("encodeImapUtf7() encodes surrogate pairs and control characters", () => {
  assertEquals(encodeImapUtf7("😀"), "&2D3eAA-");
  assertEquals(encodeImapUtf7("a😀b"), "a&2D3eAA-b");
  assertEquals(encodeImapUtf7("tab\there"), "tab&AAk-here");
  assertEquals(encodeImapUtf7("\x7f"), "&AH8-");
});

Deno.test("encodeImapUtf7() refuses lone surrogates", () => {
  assertThrows(() => encodeImapUtf7("a\ud83d"), TypeError, "lone surrogate");
  assertThrows(() => encodeImapUtf7("\ude00b"), TypeError, "lone surrogate");
  assertThrows(() => encodeImapUtf7("\ud83d\ud83d"), TypeError, "lone surrogate");
});

Deno.test("decodeImapUtf7() decodes the examples of RFC 3501 §5.1.3", () => {
  assertEquals(decodeImapUtf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), "~peter/mail/台北/日本語");
  assertEquals(decodeImapUtf7("&-"), "&");
  assertEquals(decodeImapUtf7("&--"), "&-");
  assertEquals(decodeImapUtf7("&2D3eAA-"), "😀");
  assertEquals(decodeImapUtf7("Entw&APw-rfe"), "Entwürfe");
  assertEquals(decodeImapUtf7("&APw-&-&APw-"), "ü&ü");
  assertEquals(decodeImapUtf7(""), "");
});

Deno.test("decodeImapUtf7() round-trips seeded random names", () => {
  const random = prng(2024);
  const pieces = ["a", "Z", "&", "-", "/", " ", "~", "ü", "日", "本", "😀", "\t", "&-", ",", "+"];
  for (let i = 0; i < 5000; i++) {
    let name = "";
    const n = Math.floor(random() * 12);
    for (let k = 0; k < n; k++) name += pieces[Math.floor(random() * pieces.length)];
    const encoded = encodeImapUtf7(name);
    assertEquals(/^[\x20-\x7e]*$/.test(encoded), true, encoded);
    assertEquals(decodeImapUtf7(encoded), name, JSON.stringify(name));
    assertEquals(encodeImapUtf7(decodeImapUtf7(encoded)), encoded);
  }
});

Deno.test("decodeImapUtf7() refuses malformed and non-canonical names with BAD_MAILBOX_NAME", () => {
  const cases: [string, string][] = [
    ["&U,BTFw", "not terminated"],
    ["a&", "not terminated"],
    ["&U,B!TFw-", "not modified BASE64"],
    ["&U/BTFw-", "not modified BASE64"],
    ["&U,BTFw=-", "not modified BASE64"],
    ["&AGE-", "printable US-ASCII"],
    ["&ACY-", "printable US-ASCII"],
    ["&APx-", "non-zero padding"],
    ["&APwA-", "partial character"],
    ["&AA-", "holds no character"],
    ["&U,BTFw-&ZeVnLIqe-", "directly follows"],
    ["&2D0-", "high surrogate ends"],
    ["&3gA-", "low surrogate"],
    ["&2D3YPQ-", "not followed by a low one"],
    ["Entwürfe", "not printable US-ASCII"],
    ["a\tb", "not printable US-ASCII"],
    ["&U,B-TFw-", "non-zero padding"],
  ];
  for (const [name, reason] of cases) {
    const error = assertThrows(() => decodeImapUtf7(name), ProtocolError, reason, name);
    assertEquals(error.code, "BAD_MAILBOX_NAME");
  }
});
