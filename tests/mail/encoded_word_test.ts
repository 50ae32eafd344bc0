import { decodeEncodedWords, encodeEncodedWords } from "../../mail/encoded_word.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("decodeEncodedWords() decodes B and Q words in many charsets (RFC 2047)", () => {
  assertEquals(decodeEncodedWords("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?="), "Keld Jørn Simonsen");
  assertEquals(decodeEncodedWords("=?US-ASCII?Q?Keith_Moore?="), "Keith Moore");
  assertEquals(decodeEncodedWords("=?utf-8?b?R3LDvMOfZQ==?="), "Grüße");
  assertEquals(decodeEncodedWords("=?koi8-r?B?8NLJ18XU?="), "Привет");
  assertEquals(decodeEncodedWords("=?Shift_JIS?B?k/qWe4zq?="), "日本語");
  assertEquals(decodeEncodedWords("=?UTF-8*en?Q?Hello?="), "Hello");
  assertEquals(decodeEncodedWords("plain text"), "plain text");
});

Deno.test("decodeEncodedWords() joins adjacent words and keeps the space around text (RFC 2047 §8)", () => {
  assertEquals(decodeEncodedWords("(=?ISO-8859-1?Q?a?=)"), "(a)");
  assertEquals(decodeEncodedWords("(=?ISO-8859-1?Q?a?= b)"), "(a b)");
  assertEquals(decodeEncodedWords("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"), "(ab)");
  assertEquals(decodeEncodedWords("(=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?=)"), "(ab)");
  assertEquals(decodeEncodedWords("(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
  assertEquals(decodeEncodedWords("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)"), "(a b)");
  // A character split over two words (a common encoder bug) still decodes.
  assertEquals(decodeEncodedWords("=?UTF-8?Q?Gr=C3?= =?UTF-8?Q?=BC=C3=9Fe?="), "Grüße");
  assertEquals(
    decodeEncodedWords("=?UTF-8?B?w6?= =?UTF-8?B?kK?="),
    decodeEncodedWords("=?UTF-8?B?w6?= =?UTF-8?B?kK?="),
  );
});

Deno.test("decodeEncodedWords() leaves malformed words and unknown charsets alone", () => {
  assertEquals(decodeEncodedWords("=?x-unknown?Q?abc?="), "=?x-unknown?Q?abc?=");
  assertEquals(decodeEncodedWords("=?utf-8?X?abc?="), "=?utf-8?X?abc?=");
  assertEquals(decodeEncodedWords("=?utf-8?B?a?="), "=?utf-8?B?a?=");
  assertEquals(decodeEncodedWords("=?utf-8?Q?a=ZZ?="), "a=ZZ");
  assertEquals(decodeEncodedWords("=?utf-8?Q?a?"), "=?utf-8?Q?a?");
  assertEquals(decodeEncodedWords("=?utf-8?B?"), "=?utf-8?B?");
  const started = performance.now();
  decodeEncodedWords("=?".repeat(50000));
  decodeEncodedWords("=?a?q?".repeat(20000));
  assert(performance.now() - started < 1000);
});

Deno.test("encodeEncodedWords() encodes only the words that need it, within 75 characters", () => {
  assertEquals(encodeEncodedWords("Hello world"), "Hello world");
  assertEquals(
    encodeEncodedWords("Grüße aus Köln"),
    "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?UTF-8?Q?K=C3=B6ln?=",
  );
  assertEquals(encodeEncodedWords("Grüße Köln"), "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_K=C3=B6ln?=");
  assertEquals(encodeEncodedWords("日本語"), "=?UTF-8?B?5pel5pys6Kqe?=");
  // Text that looks like an encoded word is encoded, so it reads back as itself.
  assertEquals(encodeEncodedWords("a =?x?q?y?= b"), "a =?UTF-8?B?PT94P3E/eT89?= b");
  assertEquals(decodeEncodedWords(encodeEncodedWords("a =?utf-8?q?y?= b")), "a =?utf-8?q?y?= b");
  assertEquals(encodeEncodedWords("tab\there"), "tab\there");
  for (
    const text of [
      "Ünïcödé ".repeat(40),
      "日本語のテキスト".repeat(30),
      "emoji 😀🎉 and ZWJ 👩‍👩‍👧 ".repeat(10),
      "x".repeat(1500),
      "mixed ascii words with one ü in the middle of a long line of text ".repeat(5),
    ]
  ) {
    const encoded = encodeEncodedWords(text);
    for (const word of encoded.split(/[ \t]+/)) {
      if (word.startsWith("=?")) assert(word.length <= 75, word);
    }
    assert(/^[\x20-\x7e\t]*$/.test(encoded), encoded);
    assertEquals(decodeEncodedWords(encoded), text);
    assertEquals(decodeEncodedWords(encodeEncodedWords(text, { mode: "all" })), text);
  }
});

Deno.test("encodeEncodedWords() refuses CR, LF and NUL", () => {
  for (const text of ["a\r\nBcc: x@y.test", "a\nb", "a\rb", "a\0b"]) {
    assertThrows(() => encodeEncodedWords(text), TypeError);
  }
});
