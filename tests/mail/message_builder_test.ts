import {
  buildMessage,
  type BuildMessageOptions,
  messageEnvelope,
  type MessageInit,
  parseMessage,
} from "../../mail/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";

const encoder = new TextEncoder();
const DATE = new Date("2024-05-01T12:00:00Z");

async function text(init: MessageInit, options?: BuildMessageOptions): Promise<string> {
  return await new Response(buildMessage(init, options)).text();
}

function counter(): () => string {
  let n = 0;
  return () => `b${++n}`;
}

Deno.test("buildMessage() writes a plain text message byte for byte", async () => {
  assertEquals(
    await text({
      from: "Ann Lee <ann@example.test>",
      to: ["bob@example.test", { name: "Doe, Jane", address: "jane@example.test" }],
      cc: "team: cy@example.test;",
      replyTo: "replies@example.test",
      subject: "Hello",
      date: DATE,
      messageId: "m1@example.test",
      inReplyTo: "<m0@example.test>",
      references: ["<r1@example.test>", "m0@example.test"],
      headers: { "X-Mailer": "inetkit" },
      text: "Hi Bob,\nsee you.\n",
    }),
    [
      "Date: Wed, 01 May 2024 12:00:00 +0000",
      "From: Ann Lee <ann@example.test>",
      'To: bob@example.test, "Doe, Jane" <jane@example.test>',
      "Cc: team: cy@example.test;",
      "Reply-To: replies@example.test",
      "Subject: Hello",
      "Message-ID: <m1@example.test>",
      "In-Reply-To: <m0@example.test>",
      "References: <r1@example.test> <m0@example.test>",
      "X-Mailer: inetkit",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 7bit",
      "",
      "Hi Bob,",
      "see you.",
      "",
    ].join("\r\n"),
  );
});

Deno.test("buildMessage() writes text, HTML and an attachment byte for byte", async () => {
  assertEquals(
    await text({
      from: "ann@example.test",
      to: "bob@example.test",
      subject: "Grüße",
      date: DATE,
      messageId: "<m2@example.test>",
      text: "Grüße\n",
      html: "<p>Hi</p>",
      attachments: [{ filename: "data.bin", content: new Uint8Array([0, 1, 2, 255]) }],
    }, { boundary: counter() }),
    [
      "Date: Wed, 01 May 2024 12:00:00 +0000",
      "From: ann@example.test",
      "To: bob@example.test",
      "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=",
      "Message-ID: <m2@example.test>",
      "MIME-Version: 1.0",
      "Content-Type: multipart/mixed; boundary=b1",
      "",
      "--b1",
      "Content-Type: multipart/alternative; boundary=b2",
      "",
      "--b2",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "Gr=C3=BC=C3=9Fe",
      "",
      "--b2",
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: 7bit",
      "",
      "<p>Hi</p>",
      "--b2--",
      "",
      "--b1",
      "Content-Type: application/octet-stream; name=data.bin",
      "Content-Transfer-Encoding: base64",
      "Content-Disposition: attachment; filename=data.bin",
      "",
      "AAEC/w==",
      "",
      "--b1--",
      "",
    ].join("\r\n"),
  );
});

// RELIABILITY.md: header injection on generation throws.
Deno.test("buildMessage() header injection: CR, LF or NUL in any header value throws TypeError", () => {
  const base: MessageInit = { from: "a@example.test", to: "b@example.test", date: DATE };
  const evil = [
    "x\r\nBcc: victim@evil.test",
    "x\nBcc: victim@evil.test",
    "x\rBcc: v@evil.test",
    "x\0y",
  ];
  for (const bad of evil) {
    const cases: MessageInit[] = [
      { ...base, subject: bad },
      { ...base, from: { name: bad, address: "a@example.test" } },
      { ...base, from: `a@example.test${bad}` },
      { ...base, to: [{ name: "", address: `b@example.test${bad}` }] },
      { ...base, to: `${bad} <b@example.test>` },
      { ...base, cc: { group: bad, members: [] } },
      { ...base, bcc: `b@example.test${bad}` },
      { ...base, replyTo: { name: bad, address: "r@example.test" } },
      { ...base, sender: { name: bad, address: "s@example.test" } },
      { ...base, messageId: `<m${bad}@example.test>` },
      { ...base, inReplyTo: `<m${bad}@example.test>` },
      { ...base, references: [`<m${bad}@example.test>`] },
      { ...base, headers: { "X-Note": bad } },
      { ...base, headers: [[`X-Note${bad}`, "v"]] },
      { ...base, attachments: [{ content: "x", filename: `f${bad}.txt` }] },
      { ...base, attachments: [{ content: "x", contentType: `text/plain${bad}` }] },
      { ...base, attachments: [{ content: "x", contentId: `<c${bad}@x>` }] },
    ];
    for (const init of cases) {
      assertThrows(() => buildMessage(init), TypeError, undefined, JSON.stringify(init));
      assertThrows(() => messageEnvelope(init), TypeError, undefined, JSON.stringify(init));
    }
  }
});

Deno.test("buildMessage() refuses bad fields: reserved names, missing from, malformed ids", () => {
  const base: MessageInit = { from: "a@example.test" };
  for (const name of ["From", "bcc", "Content-Type", "MIME-Version", "Message-ID", "date"]) {
    assertThrows(() => buildMessage({ ...base, headers: { [name]: "x" } }), TypeError, "builder");
  }
  assertThrows(() => buildMessage({ ...base, headers: { "Bad Name": "x" } }), TypeError);
  assertThrows(() => buildMessage({ ...base, headers: { "Bad:Name": "x" } }), TypeError);
  assertThrows(() => buildMessage({} as MessageInit), TypeError, "from");
  assertThrows(() => buildMessage({ from: "" }), TypeError);
  assertThrows(() => buildMessage({ from: "g: a@example.test;" }), TypeError);
  assertThrows(() => buildMessage({ from: "a@example.test, b@example.test" }), TypeError, "sender");
  buildMessage({ from: "a@example.test, b@example.test", sender: "a@example.test" }).cancel();
  assertThrows(() => buildMessage({ ...base, sender: "a@x.test, b@x.test" }), TypeError);
  assertThrows(() => buildMessage({ ...base, messageId: "no-at-sign" }), TypeError);
  assertThrows(() => buildMessage({ ...base, messageId: "<a b@x>" }), TypeError);
  assertThrows(() => buildMessage({ ...base, to: "evil@a.test <good@x.test>" }), TypeError);
  assertThrows(() => buildMessage({ ...base, date: new Date(NaN) }), TypeError);
  assertThrows(
    () => buildMessage({ ...base, attachments: [{ content: 5 as unknown as string }] }),
    TypeError,
  );
  assertThrows(
    () => buildMessage({ ...base, attachments: [{ content: "x", contentType: "message/rfc822" }] }),
    TypeError,
  );
  assertThrows(
    () => buildMessage({ ...base, text: "t", html: "h" }, { boundary: () => "bad\r\nboundary" }),
    TypeError,
  );
});

Deno.test("buildMessage() never writes Bcc, while messageEnvelope() includes it", async () => {
  const init: MessageInit = {
    from: "Ann <ann@example.test>",
    to: "bob@example.test, Bob Again <BOB@example.test>",
    cc: "team: cy@example.test, dee@example.test;",
    bcc: ["secret@example.test", {
      group: "hidden",
      members: [{ name: "H", address: "h@example.test" }],
    }],
    text: "hi",
  };
  const message = await text(init);
  assert(!/secret|h@example|bcc/i.test(message), message);
  assertEquals(messageEnvelope(init), {
    from: "ann@example.test",
    recipients: [
      "bob@example.test",
      "cy@example.test",
      "dee@example.test",
      "secret@example.test",
      "h@example.test",
    ],
    smtpUtf8: false,
  });
  assertEquals(messageEnvelope({ ...init, sender: "s@example.test" }).from, "s@example.test");
  assertEquals(messageEnvelope({ from: "a@example.test", to: "jörg@bücher.test" }).smtpUtf8, true);
  assertEquals(messageEnvelope({ from: "a@example.test", subject: "Grüße" }).smtpUtf8, false);
  assertEquals(
    messageEnvelope({ from: "a@example.test", subject: "Grüße" }, { utf8Headers: true }).smtpUtf8,
    true,
  );
});

Deno.test("buildMessage() folds long fields under 78 characters and never reaches 998", async () => {
  const to = Array.from(
    { length: 200 },
    (_, i) => ({ name: `Person Number ${i}`, address: `p${i}@example.test` }),
  );
  const subject = "word ".repeat(100) + "x".repeat(2000) + " Ünïcödé ".repeat(50).trimEnd();
  const message = await text({
    from: "a@example.test",
    to,
    subject,
    headers: { "X-Long": "y".repeat(1500) },
  });
  const head = message.slice(0, message.indexOf("\r\n\r\n"));
  for (const line of head.split("\r\n")) {
    assert(line.length <= 998, `line of ${line.length}`);
    if (!/[^ \t]{70}/.test(line)) assert(line.length <= 78, line);
    assert(line.trim() !== "", "a folded line is only white space");
  }
  const parsed = await parseMessage(message);
  assertEquals(parsed.subject, subject);
  assertEquals(parsed.to, to);
  assertEquals(parsed.headers.getText("X-Long"), "y".repeat(1500));
});

Deno.test("buildMessage() encodes only where needed, or writes UTF-8 with utf8Headers", async () => {
  const init: MessageInit = {
    from: { name: "Zoë", address: "zoe@example.test" },
    to: "Bob <bob@example.test>",
    subject: "Report for Zoë",
    headers: [["X-Plain", "plain ascii"], ["X-Note", "über"]],
    text: "x",
  };
  const encoded = await text(init);
  assert(encoded.includes("From: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.test>\r\n"));
  assert(encoded.includes("To: Bob <bob@example.test>\r\n"));
  assert(encoded.includes("Subject: Report for =?UTF-8?Q?Zo=C3=AB?=\r\n"));
  assert(encoded.includes("X-Plain: plain ascii\r\n"));
  assert(!/[\u0080-\uffff]/.test(encoded));
  const raw = await text(init, { utf8Headers: true });
  assert(raw.includes("From: Zoë <zoe@example.test>\r\n"));
  assert(raw.includes("Subject: Report for Zoë\r\n"));
  assert(raw.includes("X-Note: über\r\n"));
  for (const message of [encoded, raw]) {
    const parsed = await parseMessage(message);
    assertEquals(parsed.from, [{ name: "Zoë", address: "zoe@example.test" }]);
    assertEquals(parsed.subject, "Report for Zoë");
    assertEquals(parsed.headers.getText("X-Note"), "über");
  }
});

Deno.test("buildMessage() picks 7bit or quoted-printable and normalizes line ends", async () => {
  const cases: [string, string, string][] = [
    ["a\nb\r\nc\rd", "7bit", "a\r\nb\r\nc\r\nd"],
    ["ü\n", "quoted-printable", "=C3=BC\r\n"],
    ["x".repeat(1000), "quoted-printable", ""],
    ["nul\0", "quoted-printable", "nul=00"],
  ];
  for (const [body, cte, expected] of cases) {
    const message = await text({ from: "a@example.test", text: body });
    assert(message.includes(`Content-Transfer-Encoding: ${cte}\r\n`), body);
    const content = message.slice(message.indexOf("\r\n\r\n") + 4);
    if (expected !== "") assertEquals(content, expected);
    for (const line of content.split("\r\n")) assert(line.length <= 998);
    const parsed = await parseMessage(message);
    assertEquals(parsed.textBody, body.replace(/\r\n|\r|\n/g, "\r\n"));
  }
});

Deno.test("buildMessage() avoids boundaries that occur in 7bit content", async () => {
  const body = "line\r\n--b1\r\nmore\r\n--b1--\r\n";
  const message = await text(
    { from: "a@example.test", text: body, html: "<p>x</p>" },
    { boundary: counter() },
  );
  assert(message.includes("boundary=b2"), message);
  assertEquals((await parseMessage(message)).textBody, body);
  assertThrows(
    () => buildMessage({ from: "a@example.test", text: body, html: "x" }, { boundary: () => "b1" }),
    TypeError,
    "boundary",
  );
});

Deno.test("buildMessage() attachments: RFC 2231 names, types by extension, inline related", async () => {
  const name = "Prüfbericht für das Jahr 2024 — endgültige Fassung (Version 3).pdf";
  const message = await text({
    from: "a@example.test",
    html: '<img src="cid:logo@x">',
    text: "see html",
    attachments: [
      { filename: name, content: new Uint8Array(1000).fill(65) },
      { filename: "logo.png", content: new Uint8Array([137, 80, 78, 71]), contentId: "logo@x" },
      { filename: "notes.txt", content: "plain notes\n", contentType: "text/plain; charset=utf-8" },
      { content: "no name" },
    ],
  });
  for (const line of message.split("\r\n")) assert(line.length <= 78, line);
  const parsed = await parseMessage(message);
  assertEquals(
    parsed.attachments.map((a) => [a.filename, a.contentType.mediaType, a.content.length]),
    [
      ["logo.png", "image/png", 4],
      [name, "application/pdf", 1000],
      ["notes.txt", "text/plain", 12],
      [null, "application/octet-stream", 7],
    ],
  );
  const logo = parsed.attachments[0]!;
  assertEquals(logo.headers.get("Content-ID"), "<logo@x>");
  assertEquals(logo.headers.contentDisposition?.value, "inline");
  assertEquals(parsed.parts[0]!.contentType.mediaType, "multipart/alternative");
  assertEquals(parsed.parts[0]!.parts[1]!.contentType.mediaType, "multipart/related");
  assertEquals(parsed.htmlBody, '<img src="cid:logo@x">');
});

Deno.test("buildMessage() streams content lazily and cancels unread streams when cancelled", async () => {
  const events: string[] = [];
  const source = (name: string, chunks: number): ReadableStream<Uint8Array> => {
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        events.push(`pull ${name}`);
        if (sent++ < chunks) controller.enqueue(encoder.encode(`${name}-${sent} `.repeat(10)));
        else controller.close();
      },
      cancel() {
        events.push(`cancel ${name}`);
      },
    }, { highWaterMark: 0 });
  };
  const body = buildMessage({
    from: "a@example.test",
    text: source("text", 3),
    attachments: [{ content: source("one", 100), filename: "1.bin" }, {
      content: source("two", 1),
      filename: "2.bin",
    }],
  });
  assertEquals(events, []);
  const reader = body.getReader();
  let seen = "";
  while (!seen.includes("text-1")) {
    const { value, done } = await reader.read();
    assert(!done);
    seen += new TextDecoder().decode(value);
  }
  await reader.cancel();
  // Only what was needed was pulled; the current and the unread streams are cancelled.
  assertEquals(events, ["pull text", "cancel text", "cancel one", "cancel two"]);
  // A full read of streamed content parses back.
  const full = await text({
    from: "a@example.test",
    text: ReadableStream.from([encoder.encode("Grü"), encoder.encode("ße\n")]),
    attachments: [{
      filename: "s.bin",
      content: ReadableStream.from([new Uint8Array(100).fill(7)]),
    }],
  });
  const parsed = await parseMessage(full);
  assertEquals(parsed.textBody, "Grüße\r\n");
  assertEquals(parsed.attachments[0]!.content, new Uint8Array(100).fill(7));
});

Deno.test("buildMessage() rejects locked streams and surfaces stream errors", async () => {
  const locked = ReadableStream.from([new Uint8Array(1)]);
  locked.getReader();
  assertThrows(() => buildMessage({ from: "a@example.test", text: locked }), TypeError, "locked");
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("disk gone"));
    },
  });
  await assertRejects(
    () => text({ from: "a@example.test", attachments: [{ content: failing }] }),
    Error,
    "disk gone",
  );
});

Deno.test("buildMessage() output round-trips through parseMessage()", async () => {
  const init: MessageInit = {
    from: { name: "Jörg Müller", address: "joerg@example.test" },
    to: ["Ann <ann@example.test>", { name: '"Quoted" \\ Name', address: "q@example.test" }],
    cc: { group: "Undisclosed", members: [] },
    subject: "Ünïcödé and a =?fake?= encoded word, 日本語",
    date: DATE,
    text: "Line one\nLine two with trailing space \nÜnïcödé\n",
    html: "<p>Ünïcödé</p>\n",
    attachments: [{ filename: "日本語.txt", content: "テキスト" }],
  };
  const parsed = await parseMessage(await text(init));
  assertEquals(parsed.from, [{ name: "Jörg Müller", address: "joerg@example.test" }]);
  assertEquals(parsed.to, [
    { name: "Ann", address: "ann@example.test" },
    { name: '"Quoted" \\ Name', address: "q@example.test" },
  ]);
  assertEquals(parsed.headers.getAddresses("Cc"), [{ group: "Undisclosed", members: [] }]);
  assertEquals(parsed.subject, init.subject);
  assertEquals(parsed.date, DATE);
  assertEquals(parsed.textBody, "Line one\r\nLine two with trailing space \r\nÜnïcödé\r\n");
  assertEquals(parsed.htmlBody, "<p>Ünïcödé</p>\r\n");
  assertEquals(parsed.attachments[0]!.filename, "日本語.txt");
  assertEquals(parsed.attachments[0]!.text(), "テキスト");
  assert(/^<[0-9a-f]{32}@example\.test>$/.test(parsed.messageId!), parsed.messageId!);
});
