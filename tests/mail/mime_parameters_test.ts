import {
  formatMimeParameters,
  parseContentType,
  parseMimeParameters,
} from "../../mail/mime_parameters.ts";
import { assertEquals, assertStrictEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("parseMimeParameters() reads tokens, quoted strings and comments (RFC 2045 §5.1)", () => {
  const { value, params } = parseMimeParameters(
    'Text/Plain (a comment); Charset="UTF-8" ; format=flowed; name="a \\"b\\" c.txt"; empty=""',
  );
  assertEquals(value, "text/plain");
  assertEquals({ ...params }, {
    charset: "UTF-8",
    format: "flowed",
    name: 'a "b" c.txt',
    empty: "",
  });
});

Deno.test("parseMimeParameters() is lenient with real-world values", () => {
  assertEquals(parseMimeParameters("multipart/mixed; boundary==_abc=").params.boundary, "=_abc=");
  assertEquals(
    parseMimeParameters("attachment; filename=my file.pdf").params.filename,
    "my file.pdf",
  );
  assertEquals(
    parseMimeParameters('attachment; filename="unterminated.pdf').params.filename,
    "unterminated.pdf",
  );
  assertEquals(parseMimeParameters("text/plain;; ;charset=us-ascii;").params.charset, "us-ascii");
  assertEquals(parseMimeParameters("text/plain; novalue; charset=x").params.charset, "x");
  assertEquals(parseMimeParameters("text/plain; charset=x (comment)").params.charset, "x");
  // The first of duplicated names wins (as Python reads them).
  assertEquals(parseMimeParameters("multipart/mixed; boundary=a; boundary=b").params.boundary, "a");
});

Deno.test("parseMimeParameters() decodes RFC 2231 continuations and charsets", () => {
  const p = (v: string) => parseMimeParameters(v).params;
  assertEquals(
    p('message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"')
      .url,
    "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar",
  );
  assertEquals(
    p("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A").title,
    "This is ***fun***",
  );
  assertEquals(
    p("application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"")
      .title,
    "This is even more ***fun*** isn't it!",
  );
  assertEquals(p("attachment; filename*=UTF-8''%E2%82%AC%20rates.txt").filename, "€ rates.txt");
  assertEquals(p("attachment; filename*=iso-8859-1''%E9t%E9.txt").filename, "été.txt");
  // Sections out of order, a multi-byte character split across sections.
  assertEquals(p("attachment; filename*1*=%AC.txt; filename*0*=utf-8''%E2%82").filename, "€.txt");
  // The RFC 2231 form wins over the plain one; a gap ends the sections.
  assertEquals(
    p("attachment; filename=\"plain.txt\"; filename*=utf-8''%C3%BC.txt").filename,
    "ü.txt",
  );
  assertEquals(p("attachment; filename*0=a; filename*2=c").filename, "a");
  assertEquals(p("attachment; filename*=''no-charset").filename, "no-charset");
  assertEquals(p("attachment; filename*=x-unknown''abc").filename, "abc");
});

Deno.test("parseMimeParameters() decodes encoded words in quoted file names", () => {
  assertEquals(
    parseMimeParameters('attachment; filename="=?UTF-8?Q?Pr=C3=BCfung.pdf?="').params.filename,
    "Prüfung.pdf",
  );
  assertEquals(
    parseMimeParameters('multipart/mixed; boundary="=?utf-8?q?x?="').params.boundary,
    "=?utf-8?q?x?=",
  );
});

Deno.test("parseMimeParameters() keeps __proto__ as a plain key", () => {
  const { params } = parseMimeParameters('text/plain; __proto__="x"; constructor=y');
  assertStrictEquals(Object.getPrototypeOf(params), null);
  assertEquals(params["__proto__"], "x");
  assertEquals(params.constructor as unknown, "y");
});

Deno.test("parseContentType() splits the media type and defaults to text/plain", () => {
  const type = parseContentType('Multipart/Alternative; Boundary="b 1"');
  assertEquals([type.mediaType, type.type, type.subtype, type.params.boundary], [
    "multipart/alternative",
    "multipart",
    "alternative",
    "b 1",
  ]);
  for (const bad of [null, "", "text", "text/", "/plain", "te:xt/plain", "text/plain/x"]) {
    const fallback = parseContentType(bad);
    assertEquals(
      [fallback.mediaType, fallback.params.charset],
      ["text/plain", "us-ascii"],
      String(bad),
    );
  }
});

Deno.test("formatMimeParameters() quotes and RFC 2231-encodes as needed, and reads back", () => {
  assertEquals(
    formatMimeParameters("text/plain", { charset: "utf-8" }),
    "text/plain; charset=utf-8",
  );
  assertEquals(
    formatMimeParameters("attachment", { filename: "a b.txt" }),
    'attachment; filename="a b.txt"',
  );
  assertEquals(
    formatMimeParameters("attachment", { filename: 'q"\\.txt' }),
    'attachment; filename="q\\"\\\\.txt"',
  );
  assertEquals(
    formatMimeParameters("attachment", [["filename", "€.txt"]]),
    "attachment; filename*=UTF-8''%E2%82%AC.txt",
  );
  const long = "Prüfbericht mit einem sehr langen Dateinamen für den Test — 2024 Ω.pdf";
  const formatted = formatMimeParameters("attachment", { filename: long });
  assertEquals(formatted.includes("filename*0*=UTF-8''"), true);
  for (const section of formatted.split("; ").slice(1)) {
    assertEquals(section.length < 80, true, section);
  }
  assertEquals(parseMimeParameters(formatted).params.filename, long);
  const ascii = "a".repeat(100) + ".txt";
  assertEquals(
    parseMimeParameters(formatMimeParameters("attachment", { filename: ascii })).params.filename,
    ascii,
  );
});

Deno.test("formatMimeParameters() refuses CR, LF, NUL and bad names", () => {
  assertThrows(() => formatMimeParameters("attachment", { filename: "a\r\nX-Evil: 1" }), TypeError);
  assertThrows(() => formatMimeParameters("attachment", { filename: "a\0" }), TypeError);
  assertThrows(() => formatMimeParameters("attachment", { "file name": "a" }), TypeError);
  assertThrows(() => formatMimeParameters("attachment", { "filename*": "a" }), TypeError);
  assertThrows(() => formatMimeParameters("text/plain\r\n", {}), TypeError);
});
