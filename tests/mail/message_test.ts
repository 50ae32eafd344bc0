import {
  MailHeaders,
  MimePart,
  parseMessage,
  readMessage,
  type StreamedPart,
} from "../../mail/mod.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";
import { bytewise, splits } from "../_helpers/scripted_peer.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const enc = (s: string): Uint8Array => encoder.encode(s);
const crlf = (lines: string[]): string => lines.join("\r\n");

/** A summary of every entity: type, decoded content, preamble, epilogue and defects. */
async function summarize(message: StreamedPart): Promise<string[]> {
  const out: string[] = [];
  const visit = async (part: StreamedPart, depth: number): Promise<void> => {
    const pad = "  ".repeat(depth);
    if (part.isMultipart || part.isMessage) {
      out.push(`${pad}${part.contentType.mediaType}`);
      for await (const child of part.parts()) await visit(child, depth + 1);
      const pre = part.preamble === null
        ? ""
        : ` pre=${JSON.stringify(decoder.decode(part.preamble))}`;
      const epi = part.epilogue === null
        ? ""
        : ` epi=${JSON.stringify(decoder.decode(part.epilogue))}`;
      out.push(`${pad}end${pre}${epi}${part.defects.length ? " " + part.defects.join(",") : ""}`);
    } else {
      const text = decoder.decode(await part.bytes());
      out.push(
        `${pad}${part.contentType.mediaType} ${JSON.stringify(text)}${
          part.defects.length ? " " + part.defects.join(",") : ""
        }`,
      );
    }
  };
  await visit(message, 0);
  return out;
}

const NESTED = crlf([
  "From: a@example.test",
  'Content-Type: multipart/mixed; boundary="outer"',
  "",
  "preamble line",
  "--outer",
  'Content-Type: multipart/alternative; boundary="inner"',
  "",
  "--inner",
  "Content-Type: text/plain; charset=utf-8",
  "Content-Transfer-Encoding: quoted-printable",
  "",
  "Gr=C3=BC=C3=9Fe, --outer not a delimiter=",
  "",
  "--inner",
  "Content-Type: text/html",
  "",
  "<p>--inner-not</p>",
  "--inner--",
  "--outer",
  "Content-Type: application/octet-stream",
  "Content-Transfer-Encoding: base64",
  "",
  "AQID",
  "BA==",
  "--outer--",
  "epilogue",
  "",
]);

const NESTED_SUMMARY = [
  "multipart/mixed",
  "  multipart/alternative",
  '    text/plain "Grüße, --outer not a delimiter"',
  '    text/html "<p>--inner-not</p>"',
  '  end pre="" epi=""',
  '  application/octet-stream "\\u0001\\u0002\\u0003\\u0004"',
  'end pre="preamble line" epi="epilogue\\r\\n"',
];

Deno.test("readMessage() parses nested multiparts fed at every split", async () => {
  const bytes = enc(NESTED);
  for (const chunks of splits(bytes, true)) {
    assertEquals(await summarize(await readMessage(ReadableStream.from(chunks))), NESTED_SUMMARY);
  }
  assertEquals(
    await summarize(await readMessage(ReadableStream.from(bytewise(bytes)))),
    NESTED_SUMMARY,
  );
});

Deno.test("readMessage() parses a multipart split three ways around its delimiters", async () => {
  const bytes = enc(NESTED);
  // Every three-piece split with the cuts near a delimiter line.
  const hot = [...NESTED.matchAll(/--(outer|inner)/g)].map((m) => m.index);
  const cuts = new Set<number>();
  for (const at of hot) for (let d = -2; d <= 8; d++) cuts.add(at + d);
  const sorted = [...cuts].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  for (const i of sorted) {
    for (const j of sorted) {
      if (j <= i) continue;
      const chunks = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)];
      assertEquals(await summarize(await readMessage(ReadableStream.from(chunks))), NESTED_SUMMARY);
    }
  }
});

Deno.test("readMessage() accepts LF-only line ends and a { read(p) } source", async () => {
  const lf = NESTED.replaceAll("\r\n", "\n");
  const expected = NESTED_SUMMARY.map((line) =>
    line.replace('epi="epilogue\\r\\n"', 'epi="epilogue\\n"')
  );
  assertEquals(await summarize(await readMessage(lf)), expected);
  const bytes = enc(lf);
  let offset = 0;
  const reader = {
    read(p: Uint8Array): Promise<number | null> {
      if (offset >= bytes.length) return Promise.resolve(null);
      const n = Math.min(p.length, 7, bytes.length - offset);
      p.set(bytes.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
  assertEquals(await summarize(await readMessage(reader)), expected);
});

Deno.test("readMessage() reads delimiters strictly: only whole lines, with transport padding", async () => {
  const message = crlf([
    'Content-Type: multipart/mixed; boundary="b"',
    "",
    "--b \t ",
    "",
    "--bX",
    " --b",
    "--b--x",
    "x--b",
    "--b- ",
    "--b  ",
    "",
    "second",
    "--b--  ",
    "",
  ]);
  assertEquals(await summarize(await readMessage(message)), [
    "multipart/mixed",
    '  text/plain "--bX\\r\\n --b\\r\\n--b--x\\r\\nx--b\\r\\n--b- "',
    '  text/plain "second"',
    'end pre="" epi=""',
  ]);
});

Deno.test("readMessage() handles empty parts, missing headers and a missing close delimiter", async () => {
  const message = crlf([
    "Content-Type: multipart/mixed; boundary=b",
    "",
    "--b",
    "",
    "--b",
    "--b",
    "no header here",
    "--b",
    "Content-Type: multipart/alternative; boundary=c",
    "",
    "--c",
    "",
    "inner, never closed",
    "--b",
    "",
    "last, never closed",
  ]);
  assertEquals(await summarize(await readMessage(message)), [
    "multipart/mixed",
    '  text/plain ""',
    '  text/plain ""',
    '  text/plain "no header here" MISSING_HEADER',
    "  multipart/alternative",
    '    text/plain "inner, never closed"',
    '  end pre="" MISSING_CLOSE_DELIMITER',
    '  text/plain "last, never closed"',
    'end pre="" MISSING_CLOSE_DELIMITER',
  ]);
});

Deno.test("readMessage() reports a multipart without any delimiter", async () => {
  const message = "Content-Type: multipart/mixed; boundary=b\r\n\r\nno parts at all\r\n";
  assertEquals(await summarize(await readMessage(message)), [
    "multipart/mixed",
    'end pre="no parts at all\\r\\n" NO_PARTS',
  ]);
  // Without a boundary parameter it is no multipart: the body is content.
  const plain = await readMessage("Content-Type: multipart/mixed\r\n\r\n--b\r\n");
  assertEquals(plain.isMultipart, false);
  assertEquals(await plain.text(), "--b\r\n");
});

Deno.test("readMessage() keeps preamble and epilogue within maxPreambleSize", async () => {
  const message = crlf([
    "Content-Type: multipart/mixed; boundary=b",
    "",
    "x".repeat(100),
    "--b",
    "",
    "body",
    "--b--",
    "y".repeat(100),
  ]);
  const summary = await summarize(await readMessage(message, { maxPreambleSize: 10 }));
  assertEquals(
    summary.at(-1),
    'end pre="xxxxxxxxxx" epi="yyyyyyyyyy" PREAMBLE_TOO_LARGE,EPILOGUE_TOO_LARGE',
  );
});

Deno.test("readMessage() descends into message/rfc822 parts, base64-encoded ones too", async () => {
  const inner = "Subject: inner\r\nContent-Type: text/plain\r\n\r\nhello inside\r\n";
  const message = crlf([
    "Content-Type: multipart/mixed; boundary=b",
    "",
    "--b",
    "Content-Type: message/rfc822",
    "",
    inner,
    "--b",
    "Content-Type: message/rfc822",
    "Content-Transfer-Encoding: base64",
    "",
    enc(inner).toBase64(),
    "--b--",
    "",
  ]);
  const seen: string[] = [];
  for await (const part of (await readMessage(message)).walk()) {
    const subject = part.headers.subject;
    seen.push(`${part.contentType.mediaType}${subject ? ` (${subject})` : ""}`);
    if (!part.isMultipart && !part.isMessage) seen.push(await part.text());
  }
  assertEquals(seen, [
    "multipart/mixed",
    "message/rfc822",
    "text/plain (inner)",
    "hello inside\r\n",
    "message/rfc822",
    "text/plain (inner)",
    "hello inside\r\n",
  ]);
});

Deno.test("StreamedPart refuses to be read twice or after the parser moved past it", async () => {
  const message = await readMessage(
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n" + "a".repeat(200000) +
      "\r\n--b\r\n\r\nsecond\r\n--b--\r\n",
  );
  const parts = message.parts();
  const first = (await parts.next()).value as StreamedPart;
  const stream = first.content;
  assertThrows(() => first.content, TypeError);
  assertThrows(() => first.body, TypeError);
  const reader = stream.getReader();
  assertEquals((await reader.read()).done, false);
  const second = (await parts.next()).value as StreamedPart;
  await assertRejects(() => reader.read(), TypeError);
  assertEquals(await second.text(), "second");
  assertEquals((await parts.next()).done, true);
  await assertRejects(() => second.bytes(), TypeError);
  assertThrows(() => message.body, TypeError);
  const leaf = await readMessage("Subject: x\r\n\r\nbody");
  await assertRejects(async () => {
    for await (const _ of leaf.parts()) { /* never */ }
  }, TypeError);
});

Deno.test("readMessage() pulls its source only as far as the reader asks (bounded memory)", async () => {
  let produced = 0;
  const line = enc("x".repeat(998) + "\r\n");
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(enc("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"));
    },
    pull(controller) {
      produced += line.length;
      controller.enqueue(line);
    },
  }, { highWaterMark: 0 });
  const message = await readMessage(source);
  const parts = message.parts();
  const part = (await parts.next()).value as StreamedPart;
  const reader = part.content.getReader();
  let consumed = 0;
  while (consumed < 4 * 1024 * 1024) consumed += (await reader.read()).value!.length;
  // What was produced but not consumed is a few buffers, however long the part is.
  assert(produced - consumed < 512 * 1024, `read ahead ${produced - consumed} bytes`);
  await reader.cancel();
  await message.cancel();
});

Deno.test("readMessage() enforces maxParts, maxDepth and the header limits", async () => {
  const many = "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + "--b\r\n\r\nx\r\n".repeat(20) +
    "--b--\r\n";
  const error = await assertRejects(
    () => parseMessage(many, { maxParts: 10 }),
    ProtocolError,
  );
  assertEquals(error.code, "TOO_MANY_PARTS");
  assertEquals((await parseMessage(many, { maxParts: 20 })).parts.length, 20);
  // A nesting bomb: each part opens another multipart.
  let deep = "";
  for (let i = 0; i < 40; i++) {
    deep += `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`;
  }
  deep += "\r\nleaf\r\n";
  const tooDeep = await assertRejects(() => parseMessage(deep), ProtocolError);
  assertEquals(tooDeep.code, "TOO_DEEP");
  assertEquals((await parseMessage(deep, { maxDepth: 50 })).defects.length > 0, true);
  const bigHeader = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX-Big: " +
    "y".repeat(5000) +
    "\r\n\r\nx\r\n--b--\r\n";
  const header = await assertRejects(
    () => parseMessage(bigHeader, { maxHeaderSize: 4096 }),
    ProtocolError,
  );
  assertEquals(header.code, "HEADER_TOO_LARGE");
  const fields = "A: 1\r\n".repeat(50) + "\r\n";
  const count = await assertRejects(
    () => readMessage(fields, { maxHeaderFields: 20 }),
    ProtocolError,
  );
  assertEquals(count.code, "TOO_MANY_FIELDS");
  await assertRejects(() => readMessage("x", { maxParts: -1 }), RangeError);
});

Deno.test("parseMessage() and StreamedPart.bytes() enforce maxSize on decoded content", async () => {
  const message = "Content-Transfer-Encoding: base64\r\n\r\n" + new Uint8Array(3000).toBase64() +
    "\r\n";
  assertEquals((await parseMessage(message, { maxSize: 3000 })).content.length, 3000);
  const error = await assertRejects(() => parseMessage(message, { maxSize: 2999 }), ProtocolError);
  assertEquals(error.code, "BODY_TOO_LARGE");
  const part = await readMessage(message);
  await assertRejects(() => part.bytes({ maxSize: 100 }), ProtocolError, "exceeds 100");
});

Deno.test("MimePart.text() and StreamedPart.text() decode the charset, UTF-8 by default", async () => {
  const latin = await readMessage(
    new Uint8Array([
      ...enc("Content-Type: text/plain; charset=iso-8859-1\r\n\r\n"),
      0x47,
      0x72,
      0xfc,
      0xdf,
      0x65,
    ]),
  );
  assertEquals(await latin.text(), "Grüße");
  assertEquals(
    await (await readMessage("Content-Type: text/plain; charset=x-nonsense\r\n\r\nGrüße")).text(),
    "Grüße",
  );
  assertEquals(await (await readMessage("\r\nGrüße")).text(), "Grüße");
  const part = new MimePart({
    headers: new MailHeaders([["Content-Type", "text/plain; charset=koi8-r"]]),
    content: new Uint8Array([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]),
  });
  assertEquals(part.text(), "Привет");
});

Deno.test("MailMessage finds the text and HTML bodies and the attachments", async () => {
  const message = await parseMessage(crlf([
    "From: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.test>",
    "To: team: a@example.test, b@example.test;",
    "Subject: =?UTF-8?B?R3LDvMOfZQ==?=",
    "Date: Wed, 01 May 2024 12:00:00 +0000",
    "Message-ID: <m1@example.test>",
    "Content-Type: multipart/mixed; boundary=m",
    "",
    "--m",
    "Content-Type: multipart/alternative; boundary=a",
    "",
    "--a",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "plain body",
    "--a",
    "Content-Type: multipart/related; boundary=r",
    "",
    "--r",
    "Content-Type: text/html; charset=utf-8",
    "",
    '<img src="cid:logo">',
    "--r",
    "Content-Type: image/png",
    "Content-ID: <logo>",
    "Content-Disposition: inline",
    "Content-Transfer-Encoding: base64",
    "",
    "iVBO",
    "--r--",
    "--a--",
    "--m",
    "Content-Type: text/plain; name=notes.txt",
    "",
    "a text attachment by name",
    "--m",
    "Content-Type: message/rfc822",
    "",
    "Subject: forwarded",
    "",
    "inner",
    "--m--",
  ]));
  assertEquals(message.subject, "Grüße");
  assertEquals(message.from, [{ name: "Zoë", address: "zoe@example.test" }]);
  assertEquals(message.to.map((a) => a.address), ["a@example.test", "b@example.test"]);
  assertEquals(message.date?.toISOString(), "2024-05-01T12:00:00.000Z");
  assertEquals(message.messageId, "<m1@example.test>");
  assertEquals(message.textBody, "plain body");
  assertEquals(message.htmlBody, '<img src="cid:logo">');
  assertEquals(
    message.attachments.map((a) => [a.contentType.mediaType, a.filename, a.isAttachment]),
    [["image/png", null, false], ["text/plain", "notes.txt", true], [
      "message/rfc822",
      null,
      false,
    ]],
  );
  const forwarded = message.attachments[2]!;
  assertEquals(forwarded.parts[0]!.headers.subject, "forwarded");
  assertEquals(decoder.decode(forwarded.content), "Subject: forwarded\r\n\r\ninner");
  assertEquals([...message.walk()].length, 9);
  // A message that is a single attachment.
  const scan = await parseMessage(
    "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=scan.pdf\r\n\r\n%PDF",
  );
  assertEquals(scan.textBody, null);
  assertEquals(scan.attachments.map((a) => a.filename), ["scan.pdf"]);
});

Deno.test("MailHeaders getters refuse repeated single fields (differential protection)", async () => {
  const message = await parseMessage("From: a@x.test\r\nFrom: b@x.test\r\nSubject: s\r\n\r\n");
  const error = assertThrows(() => message.from, ProtocolError);
  assertEquals(error.code, "DUPLICATE_FIELD");
  assertEquals(message.headers.getAll("from"), ["a@x.test", "b@x.test"]);
  assertEquals(message.subject, "s");
  const bad = await parseMessage("To: evil@a.test <good@x.test>\r\nDate: not a date\r\n\r\n");
  assertEquals(assertThrows(() => bad.to, ProtocolError).code, "BAD_ADDRESS");
  assertEquals(bad.date, null);
});

Deno.test("readMessage() refuses a malformed top-level header", async () => {
  for (
    const text of ["no colon line\r\n\r\n", " starts with space: x\r\n\r\n", "Bad\0: x\r\n\r\n"]
  ) {
    const error = await assertRejects(() => readMessage(text), ProtocolError);
    assertEquals(error.code, "BAD_HEADER");
  }
  const ok = await readMessage("Subject: no body\r\n");
  assertEquals(ok.headers.subject, "no body");
  assertEquals(await ok.text(), "");
  // A header cut inside a line is a truncated message.
  const cut = await assertRejects(() => readMessage("Subject: no body"), ProtocolError);
  assertEquals(cut.code, "UNEXPECTED_EOF");
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

interface Tree {
  kind: "leaf" | "multi";
  text?: string;
  children?: Tree[];
}

Deno.test("readMessage() fuzzed: random multipart trees with hostile content parse exactly", async () => {
  const next = random(0xc0ffee);
  const pieces = [
    "a",
    " ",
    "\t",
    "-",
    "--",
    "--b0",
    "--b1",
    "--b2",
    "--b0--",
    "--b1x",
    "\r",
    "\n",
    "\r\n",
    "=",
    "x".repeat(40),
    "é",
  ];
  // A content line equal to a delimiter would end the part: such leaves are redrawn.
  const DELIMITER_LINE = /(^|\n)--b\d+(--)?[ \t]*(\r?\n|\r?$)/;
  const makeTree = (depth: number): Tree => {
    if (depth > 2 || next() < 0.5) {
      for (;;) {
        let text = "";
        for (let k = 0, n = Math.floor(next() * 10); k < n; k++) {
          text += pieces[Math.floor(next() * pieces.length)];
        }
        if (!DELIMITER_LINE.test(text)) return { kind: "leaf", text };
      }
    }
    const children: Tree[] = [];
    for (let k = 0, n = 1 + Math.floor(next() * 3); k < n; k++) children.push(makeTree(depth + 1));
    return { kind: "multi", children };
  };
  // Nested multiparts need distinct boundaries (RFC 2046 §5.1.1); siblings may share one.
  const render = (tree: Tree, eol: string, depth = 0): string => {
    if (tree.kind === "leaf") return `Content-Type: text/plain${eol}${eol}${tree.text}`;
    const boundary = `b${depth}`;
    let out = `Content-Type: multipart/mixed; boundary="${boundary}"${eol}${eol}`;
    for (const child of tree.children!) {
      out += `--${boundary}${eol}${render(child, eol, depth + 1)}${eol}`;
    }
    return out + `--${boundary}--`;
  };
  // The line end before a delimiter belongs to it; with LF line ends a CR
  // just before it is taken as part of a CRLF, as every MIME reader does.
  const expected = (tree: Tree, eol: string, inMultipart = false): string[] =>
    tree.kind === "leaf"
      ? [
        inMultipart && eol === "\n" && tree.text!.endsWith("\r")
          ? tree.text!.slice(0, -1)
          : tree.text!,
      ]
      : tree.children!.flatMap((c) => expected(c, eol, true));
  for (let i = 0; i < 150; i++) {
    const tree = makeTree(0);
    for (const eol of ["\r\n", "\n"]) {
      const text = render(tree, eol);
      const bytes = enc(text);
      const cut = Math.floor(next() * bytes.length);
      const got: string[] = [];
      const chunks = [bytes.subarray(0, cut), bytes.subarray(cut)];
      for await (const part of (await readMessage(ReadableStream.from(chunks))).walk()) {
        if (!part.isMultipart) got.push(await part.text());
      }
      assertEquals(got, expected(tree, eol), JSON.stringify(text));
    }
  }
});
