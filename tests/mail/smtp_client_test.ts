import { SmtpClient, type SmtpClientOptions } from "../../mail/smtp_client.ts";
import { SmtpReplyError } from "../../mail/smtp_reply_error.ts";
import { MissingExtensionError } from "../../net/missing_extension_error.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { ScriptedPeer, type ScriptStep, splits, streamOf } from "../_helpers/scripted_peer.ts";
import { CrlfNormalizer } from "../../mail/_smtp_args.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";

const GREETING = "220 mx.example.test ESMTP ready\r\n";
const FROM = "scully@example.test";
const TO = "mulder@example.test";

function ehloReply(...extensions: string[]): string {
  const lines = ["mx.example.test greets localhost", ...extensions];
  return lines.map((l, i) => `250${i === lines.length - 1 ? " " : "-"}${l}\r\n`).join("");
}

function open(steps: ScriptStep[], options: SmtpClientOptions = {}) {
  const peer = new ScriptedPeer(steps);
  const smtp = new SmtpClient(peer, { timeout: 2000, dataTimeout: 2000, ...options });
  return { peer, smtp };
}

/** The opening: greeting, EHLO and its reply with the given extensions. */
function hello(...extensions: string[]): ScriptStep[] {
  return [
    { send: GREETING },
    { expect: "EHLO localhost\r\n" },
    { send: ehloReply(...extensions) },
  ];
}

// ---- greeting, EHLO, HELO --------------------------------------------------

Deno.test("SmtpClient.ehlo() reads the greeting and records the extensions", async () => {
  const { peer, smtp } = open(
    hello("PIPELINING", "SIZE 10240000", "AUTH=LOGIN", "AUTH PLAIN LOGIN", "8bitmime", "CHUNKING"),
  );
  assertEquals(smtp.greeting, null);
  const reply = await smtp.ehlo();
  assertEquals(reply.code, 250);
  assertEquals(smtp.greeting, ["mx.example.test ESMTP ready"]);
  assertEquals(smtp.esmtp, true);
  assertEquals([...smtp.capabilities], [
    ["PIPELINING", ""],
    ["SIZE", "10240000"],
    ["AUTH", "PLAIN LOGIN"],
    ["8BITMIME", ""],
    ["CHUNKING", ""],
  ]);
  assertEquals(smtp.maxMessageSize, 10240000);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.ehlo() takes the old AUTH= form when there is no AUTH line", async () => {
  const { peer, smtp } = open(hello("AUTH=LOGIN PLAIN"));
  await smtp.ehlo();
  assertEquals(smtp.capabilities.get("AUTH"), "LOGIN PLAIN");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.ehlo() falls back to HELO when EHLO is refused", async () => {
  const { peer, smtp } = open([
    { send: GREETING },
    { expect: "EHLO client.example.test\r\n" },
    { send: "502 5.5.1 Command not implemented\r\n" },
    { expect: "HELO client.example.test\r\n" },
    { send: "250 mx.example.test\r\n" },
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 ok\r\n" },
  ], { localName: "client.example.test" });
  const reply = await smtp.ehlo();
  assertEquals(reply.lines, ["mx.example.test"]);
  assertEquals(smtp.esmtp, false);
  assertEquals(smtp.capabilities.size, 0);
  await smtp.mail(FROM);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.ehlo() throws a 4xx refusal without HELO", async () => {
  const { peer, smtp } = open([
    { send: GREETING },
    { expect: "EHLO localhost\r\n" },
    { send: "450 4.3.2 try later\r\n" },
  ]);
  const error = await assertRejects(() => smtp.ehlo(), SmtpReplyError);
  assertEquals(error.code, 450);
  assertEquals(error.enhancedCode, "4.3.2");
  assertEquals(error.command, "EHLO");
  assert(!smtp.closed);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient throws a refused greeting as SmtpReplyError", async () => {
  const { peer, smtp } = open([{ send: "554 5.7.1 go away\r\n" }]);
  const error = await assertRejects(() => smtp.ehlo(), SmtpReplyError, "554 5.7.1 go away");
  assertEquals(error.code, 554);
  assertEquals(peer.written, "");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient closes the connection after a 421 reply", async () => {
  const { peer, smtp } = open([
    ...hello(),
    { expect: "NOOP\r\n" },
    { send: "421 4.3.0 shutting down\r\n" },
  ]);
  await smtp.ehlo();
  const error = await assertRejects(() => smtp.noop(), SmtpReplyError);
  assertEquals(error.code, 421);
  assert(smtp.closed);
  await peer.done;
});

Deno.test("SmtpClient() rejects a local name with spaces or line breaks", () => {
  const peer = new ScriptedPeer([]);
  for (const localName of ["a b", "a\r\nMAIL FROM:<x>", "", "a\0"]) {
    let threw = false;
    try {
      new SmtpClient(peer, { localName });
    } catch (error) {
      threw = error instanceof TypeError;
    }
    assert(threw, localName);
  }
  peer.close();
});

// ---- MAIL, RCPT parameters ----------------------------------------------------

Deno.test("SmtpClient.mail() adds BODY=8BITMIME and SIZE when advertised", async () => {
  const { peer, smtp } = open([
    ...hello("SIZE 1000", "8BITMIME"),
    { expect: "MAIL FROM:<scully@example.test> SIZE=120 BODY=8BITMIME\r\n" },
    { send: "250 2.1.0 Ok\r\n" },
  ]);
  const reply = await smtp.mail(FROM, { size: 120 });
  assertEquals(reply.lines, ["2.1.0 Ok"]);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.mail() sends no parameters the server does not advertise", async () => {
  const { peer, smtp } = open([
    ...hello(),
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<mulder@example.test>\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  await smtp.mail(FROM, { size: 120, dsnReturn: "HDRS", envelopeId: "x" });
  await smtp.rcpt(TO, { notify: ["FAILURE"], originalRecipient: TO });
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.mail() refuses 8BITMIME and BINARYMIME the server lacks", async () => {
  const { peer, smtp } = open(hello());
  await smtp.ehlo();
  await assertRejects(() => smtp.mail(FROM, { body: "8BITMIME" }), TypeError, "8BITMIME");
  await assertRejects(() => smtp.mail(FROM, { body: "BINARYMIME" }), TypeError, "BINARYMIME");
  assertEquals(peer.written, "EHLO localhost\r\n");
  assert(!smtp.closed);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.mail() sends BODY=7BIT when asked and 8BITMIME is advertised", async () => {
  const { peer, smtp } = open([
    ...hello("8BITMIME"),
    { expect: "MAIL FROM:<> BODY=7BIT\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  await smtp.mail("", { body: "7BIT" });
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.mail() refuses a size over the server's SIZE limit before sending", async () => {
  const { peer, smtp } = open(hello("SIZE 1000"));
  await smtp.ehlo();
  await assertRejects(() => smtp.mail(FROM, { size: 1001 }), RangeError, "limit of 1000");
  assertEquals(peer.written, "EHLO localhost\r\n");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.mail() adds SMTPUTF8 for a non-ASCII address when advertised", async () => {
  const { peer, smtp } = open([
    ...hello("SMTPUTF8", "8BITMIME"),
    { expect: "MAIL FROM:<dana.scully@éxample.test> BODY=8BITMIME SMTPUTF8\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<fox@exämple.test>\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  await smtp.mail("dana.scully@éxample.test");
  await smtp.rcpt("fox@exämple.test");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.mail() refuses a non-ASCII address without SMTPUTF8", async () => {
  const { peer, smtp } = open([
    ...hello(),
    { expect: "MAIL FROM:<a@example.test>\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  await assertRejects(() => smtp.mail("é@example.test"), TypeError, "SMTPUTF8");
  await smtp.mail("a@example.test");
  await assertRejects(() => smtp.rcpt("é@example.test"), TypeError, "SMTPUTF8");
  assertEquals(peer.written, "EHLO localhost\r\nMAIL FROM:<a@example.test>\r\n");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.mail() and rcpt() send DSN parameters as xtext when advertised", async () => {
  const { peer, smtp } = open([
    ...hello("DSN"),
    { expect: "MAIL FROM:<scully@example.test> RET=HDRS ENVID=QQ+2B1+3Dx+20y\r\n" },
    { send: "250 Ok\r\n" },
    {
      expect: "RCPT TO:<mulder@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;" +
        "a+2Bb@example.test\r\n",
    },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<b@example.test> NOTIFY=NEVER\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  await smtp.mail(FROM, { dsnReturn: "HDRS", envelopeId: "QQ+1=x y" });
  await smtp.rcpt(TO, { notify: ["SUCCESS", "FAILURE"], originalRecipient: "a+b@example.test" });
  await smtp.rcpt("b@example.test", { notify: ["NEVER"] });
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.rcpt() rejects NOTIFY=NEVER mixed with other values", async () => {
  const { peer, smtp } = open(hello("DSN"));
  await smtp.ehlo();
  await assertRejects(() => smtp.rcpt(TO, { notify: ["NEVER", "DELAY"] }), TypeError, "NOTIFY");
  await assertRejects(() => smtp.rcpt(TO, { notify: [] }), TypeError, "NOTIFY");
  assertEquals(peer.written, "EHLO localhost\r\n");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.rcpt() throws the refusal with code, enhanced code and recipient", async () => {
  const { peer, smtp } = open([
    ...hello(),
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<nobody@example.test>\r\n" },
    { send: "550-5.1.1 <nobody@example.test>: Recipient address rejected:\r\n" },
    { send: "550 5.1.1 User unknown in local recipient table\r\n" },
  ]);
  await smtp.mail(FROM);
  const error = await assertRejects(() => smtp.rcpt("nobody@example.test"), SmtpReplyError);
  assertEquals(error.code, 550);
  assertEquals(error.enhancedCode, "5.1.1");
  assertEquals(error.recipient, "nobody@example.test");
  assertEquals(error.command, "RCPT TO");
  assertEquals(error.lines, [
    "5.1.1 <nobody@example.test>: Recipient address rejected:",
    "5.1.1 User unknown in local recipient table",
  ]);
  assert(error.permanent && !error.transient);
  assert(!smtp.closed);
  await peer.done;
  smtp.close();
});

// ---- command injection --------------------------------------------------------

const INJECTIONS = [
  "a@example.test>\r\nRCPT TO:<evil@example.test",
  "a@example.test\nDATA",
  "a@example.test\rDATA",
  "a@example.test\0",
  "a@example.test\x0bx",
  "a@example.test> SIZE=1",
];

Deno.test("SmtpClient refuses CR, LF, NUL and brackets in every argument before writing", async () => {
  const { peer, smtp } = open(hello("DSN", "VRFY", "PIPELINING", "CHUNKING"));
  await smtp.ehlo();
  for (const bad of INJECTIONS) {
    await assertRejects(() => smtp.mail(bad), TypeError, undefined, bad);
    await assertRejects(() => smtp.rcpt(bad), TypeError, undefined, bad);
    await assertRejects(() => smtp.vrfy(bad), TypeError, undefined, bad);
    await assertRejects(
      () => Promise.resolve().then(() => smtp.send({ from: bad, to: [TO] }, "x")),
      TypeError,
      undefined,
      bad,
    );
    await assertRejects(
      () => Promise.resolve().then(() => smtp.send({ from: FROM, to: [TO, bad] }, "x")),
      TypeError,
      undefined,
      bad,
    );
  }
  await assertRejects(
    () => smtp.auth({ username: "u", password: "p" }, { mechanism: "PLAIN\r\nQUIT" }),
    TypeError,
  );
  await assertRejects(
    () => smtp.auth({ username: "u\0x", password: "p" }, { mechanism: "PLAIN" }),
    TypeError,
  );
  assertEquals(peer.written, "EHLO localhost\r\n");
  assert(!smtp.closed);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient xtext-encodes control characters in DSN values instead of sending them", async () => {
  const { peer, smtp } = open([
    ...hello("DSN"),
    { expect: "MAIL FROM:<scully@example.test> ENVID=a+0D+0ARSET\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<mulder@example.test> ORCPT=rfc822;b+0D+0AQUIT\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  await smtp.mail(FROM, { envelopeId: "a\r\nRSET" });
  await smtp.rcpt(TO, { originalRecipient: "b\r\nQUIT" });
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient refuses a path longer than 256 octets", async () => {
  const { peer, smtp } = open(hello());
  await smtp.ehlo();
  await assertRejects(() => smtp.mail("a".repeat(250) + "@example.test"), RangeError);
  assertEquals(peer.written, "EHLO localhost\r\n");
  await peer.done;
  smtp.close();
});

// ---- DATA and dot-stuffing (SMTP smuggling) --------------------------------------

async function dataBytes(body: string | Uint8Array | ReadableStream<Uint8Array>, wire: string) {
  const { peer, smtp } = open([
    ...hello(),
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<mulder@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "DATA\r\n" },
    { send: "354 go ahead\r\n" },
    { expect: wire },
    { send: "250 2.0.0 queued\r\n" },
  ]);
  await smtp.mail(FROM);
  await smtp.rcpt(TO);
  const replies = await smtp.data(body);
  assertEquals(replies.map((r) => r.code), [250]);
  await peer.done;
  assertEquals(peer.written.endsWith(wire), true);
  smtp.close();
}

Deno.test("SmtpClient.data() stuffs a leading dot on the first line and ends with CRLF.CRLF", async () => {
  await dataBytes(".first\r\nsecond\r\n", "..first\r\nsecond\r\n.\r\n");
});

Deno.test("SmtpClient.data() adds the final CRLF a message lacks", async () => {
  await dataBytes(
    "Subject: x\r\n\r\nno final line end",
    "Subject: x\r\n\r\nno final line end\r\n.\r\n",
  );
});

Deno.test("SmtpClient.data() cannot be ended early by bare LF dot LF (SMTP smuggling)", async () => {
  await dataBytes(
    "a\n.\nMAIL FROM:<evil@example.test>\n",
    "a\r\n..\r\nMAIL FROM:<evil@example.test>\r\n.\r\n",
  );
});

Deno.test("SmtpClient.data() cannot be ended early by bare CR dot CR (SMTP smuggling)", async () => {
  await dataBytes("a\r.\rRSET\r", "a\r\n..\r\nRSET\r\n.\r\n");
});

Deno.test("SmtpClient.data() cannot be ended early by CRLF dot CRLF inside the body", async () => {
  await dataBytes(
    "a\r\n.\r\nMAIL FROM:<evil@example.test>\r\n",
    "a\r\n..\r\nMAIL FROM:<evil@example.test>\r\n.\r\n",
  );
});

Deno.test("SmtpClient.data() cannot be ended early by mixed line ends (LF dot CRLF, CRLF dot LF)", async () => {
  await dataBytes("a\n.\r\nb\r\n.\nc", "a\r\n..\r\nb\r\n..\r\nc\r\n.\r\n");
});

Deno.test("SmtpClient.data() stuffs dots across stream chunk boundaries", async () => {
  await dataBytes(
    streamOf(["a\r", "\n", ".", "\r", "\n..b\n", "", "\r"]),
    "a\r\n..\r\n...b\r\n\r\n.\r\n",
  );
});

Deno.test("SmtpClient.data() sends an empty message as the dot line alone", async () => {
  await dataBytes("", ".\r\n");
});

Deno.test("SmtpClient.data() throws a refused message", async () => {
  const { peer, smtp } = open([
    ...hello(),
    { expect: "DATA\r\n" },
    { send: "354 go\r\n" },
    { expect: "x\r\n.\r\n" },
    { send: "554 5.7.1 spam\r\n" },
  ]);
  await smtp.ehlo();
  const error = await assertRejects(() => smtp.data("x"), SmtpReplyError, "554 5.7.1 spam");
  assertEquals(error.command, "DATA");
  await peer.done;
  smtp.close();
});

// ---- send(): with and without PIPELINING and CHUNKING ------------------------------------

const MESSAGE = "Subject: test\r\n\r\n.dot line\nbare LF\r\n";
const STUFFED = "Subject: test\r\n\r\n..dot line\r\nbare LF\r\n.\r\n";
const CANONICAL = "Subject: test\r\n\r\n.dot line\r\nbare LF\r\n";

Deno.test("SmtpClient.send() without PIPELINING waits for each reply", async () => {
  const { peer, smtp } = open([
    ...hello("8BITMIME"),
    { expect: "MAIL FROM:<scully@example.test> BODY=8BITMIME\r\n" },
    { send: "250 2.1.0 Ok\r\n" },
    { expect: "RCPT TO:<mulder@example.test>\r\n" },
    { send: "250 2.1.5 Ok\r\n" },
    { expect: "RCPT TO:<skinner@example.test>\r\n" },
    { send: "250 2.1.5 Ok\r\n" },
    { expect: "DATA\r\n" },
    { send: "354 End data with <CR><LF>.<CR><LF>\r\n" },
    { expect: STUFFED },
    { send: "250 2.0.0 Ok: queued as ABC\r\n" },
  ]);
  const result = await smtp.send({ from: FROM, to: [TO, "skinner@example.test"] }, MESSAGE);
  assertEquals(result.accepted, [TO, "skinner@example.test"]);
  assertEquals(result.refused.size, 0);
  assertEquals(result.reply, { code: 250, lines: ["2.0.0 Ok: queued as ABC"] });
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() with PIPELINING sends MAIL, RCPT and DATA in one group", async () => {
  const { peer, smtp } = open([
    ...hello("PIPELINING", "SIZE 0"),
    {
      expect: `MAIL FROM:<scully@example.test> SIZE=${MESSAGE.length}\r\n` +
        "RCPT TO:<mulder@example.test>\r\nRCPT TO:<skinner@example.test>\r\nDATA\r\n",
    },
    { send: "250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go ahead\r\n" },
    { expect: STUFFED },
    { send: "250 queued\r\n" },
  ]);
  const result = await smtp.send({ from: FROM, to: [TO, "skinner@example.test"] }, MESSAGE);
  assertEquals(result.accepted, [TO, "skinner@example.test"]);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() with pipelining: false does not pipeline", async () => {
  const { peer, smtp } = open([
    ...hello("PIPELINING"),
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<mulder@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "DATA\r\n" },
    { send: "354 go ahead\r\n" },
    { expect: STUFFED },
    { send: "250 queued\r\n" },
  ]);
  await smtp.send({ from: FROM, to: [TO] }, MESSAGE, { pipelining: false });
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() with CHUNKING sends BDAT in canonical form without dot-stuffing", async () => {
  const { peer, smtp } = open([
    ...hello("CHUNKING"),
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<mulder@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: `BDAT ${CANONICAL.length} LAST\r\n${CANONICAL}` },
    { send: "250 2.0.0 queued\r\n" },
  ]);
  const result = await smtp.send({ from: FROM, to: [TO] }, MESSAGE);
  assertEquals(result.reply.lines, ["2.0.0 queued"]);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() with CHUNKING and PIPELINING sends one write per message", async () => {
  const { peer, smtp } = open([
    ...hello("CHUNKING", "PIPELINING"),
    {
      expect: "MAIL FROM:<scully@example.test>\r\nRCPT TO:<mulder@example.test>\r\n" +
        `BDAT ${CANONICAL.length} LAST\r\n${CANONICAL}`,
    },
    { send: "250 Ok\r\n250 Ok\r\n250 2.0.0 queued\r\n" },
  ]);
  const result = await smtp.send({ from: FROM, to: [TO] }, new TextEncoder().encode(MESSAGE));
  assertEquals(result.accepted, [TO]);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() with chunking: false uses DATA", async () => {
  const { peer, smtp } = open([
    ...hello("CHUNKING"),
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<mulder@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "DATA\r\n" },
    { send: "354 go ahead\r\n" },
    { expect: STUFFED },
    { send: "250 queued\r\n" },
  ]);
  await smtp.send({ from: FROM, to: [TO] }, MESSAGE, { chunking: false });
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() splits a stream into BDAT chunks, one reply at a time", async () => {
  const { peer, smtp } = open([
    ...hello("CHUNKING"),
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<mulder@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "BDAT 8\r\n0123456\r" },
    { send: "250 2.0.0 8 octets\r\n" },
    { expect: "BDAT 8\r\n\n.abcdef" },
    { send: "250 2.0.0 8 octets\r\n" },
    { expect: "BDAT 4 LAST\r\ngh\r\n" },
    { send: "250 2.0.0 queued\r\n" },
  ], { chunkSize: 8 });
  const result = await smtp.send(
    { from: FROM, to: [TO] },
    streamOf(["0123", "456\n.ab", "cdefgh\n"]),
  );
  assertEquals(result.reply.lines, ["2.0.0 queued"]);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() pipelines BDAT chunks with one in flight", async () => {
  const { peer, smtp } = open([
    ...hello("CHUNKING", "PIPELINING"),
    {
      expect: "MAIL FROM:<scully@example.test>\r\nRCPT TO:<mulder@example.test>\r\n" +
        "BDAT 4\r\nabcd",
    },
    { send: "250 Ok\r\n250 Ok\r\n" },
    { expect: "BDAT 4\r\nefgh" },
    { send: "250 4 octets\r\n" },
    { expect: "BDAT 4 LAST\r\nij\r\n" },
    { send: "250 4 octets\r\n250 queued\r\n" },
  ], { chunkSize: 4 });
  const result = await smtp.send({ from: FROM, to: [TO] }, streamOf(["abcdefghij"]));
  assertEquals(result.reply.lines, ["queued"]);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() stops sending BDAT chunks after a refused one", async () => {
  const { peer, smtp } = open([
    ...hello("CHUNKING"),
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<mulder@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "BDAT 4\r\nabcd" },
    { send: "552 5.3.4 too big\r\n" },
    { expect: "RSET\r\n" },
    { send: "250 Ok\r\n" },
  ], { chunkSize: 4 });
  const error = await assertRejects(
    () => smtp.send({ from: FROM, to: [TO] }, streamOf(["abcdefghij"])),
    SmtpReplyError,
  );
  assertEquals(error.code, 552);
  assertEquals(error.command, "BDAT");
  await peer.done;
  assertEquals(peer.written.includes("efgh"), false);
  smtp.close();
});

Deno.test("SmtpClient.send() sends BINARYMIME bytes unchanged with BDAT", async () => {
  const binary = new Uint8Array([0, 13, 10, 46, 13, 255, 10]);
  const { peer, smtp } = open([
    ...hello("CHUNKING", "BINARYMIME", "8BITMIME"),
    { expect: "MAIL FROM:<scully@example.test> BODY=BINARYMIME\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<mulder@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: new Uint8Array([...new TextEncoder().encode("BDAT 7 LAST\r\n"), ...binary]) },
    { send: "250 queued\r\n" },
  ]);
  await smtp.send({ from: FROM, to: [TO] }, binary, { body: "BINARYMIME" });
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() reports refused recipients and delivers to the others", async () => {
  for (const pipelining of [true, false]) {
    const replies = ["250 Ok\r\n", "550 5.1.1 no such user\r\n", "250 Ok\r\n", "354 go\r\n"];
    const { peer, smtp } = open([
      ...hello(pipelining ? "PIPELINING" : "ENHANCEDSTATUSCODES"),
      ...(pipelining
        ? [
          {
            expect: "MAIL FROM:<scully@example.test>\r\nRCPT TO:<nobody@example.test>\r\n" +
              "RCPT TO:<mulder@example.test>\r\nDATA\r\n",
          },
          { send: replies.join("") },
        ]
        : [
          { expect: "MAIL FROM:<scully@example.test>\r\n" },
          { send: replies[0]! },
          { expect: "RCPT TO:<nobody@example.test>\r\n" },
          { send: replies[1]! },
          { expect: "RCPT TO:<mulder@example.test>\r\n" },
          { send: replies[2]! },
          { expect: "DATA\r\n" },
          { send: replies[3]! },
        ]),
      { expect: "hi\r\n.\r\n" },
      { send: "250 queued\r\n" },
    ]);
    const result = await smtp.send({ from: FROM, to: ["nobody@example.test", TO] }, "hi");
    assertEquals(result.accepted, [TO]);
    assertEquals([...result.refused.keys()], ["nobody@example.test"]);
    const refusal = result.refused.get("nobody@example.test")!;
    assertEquals([refusal.code, refusal.enhancedCode, refusal.recipient], [
      550,
      "5.1.1",
      "nobody@example.test",
    ]);
    await peer.done;
    smtp.close();
  }
});

Deno.test("SmtpClient.send() throws when every recipient is refused, after RSET", async () => {
  const { peer, smtp } = open([
    ...hello(),
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<a@example.test>\r\n" },
    { send: "550 5.1.1 no\r\n" },
    { expect: "RCPT TO:<b@example.test>\r\n" },
    { send: "450 4.2.0 later\r\n" },
    { expect: "RSET\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  const error = await assertRejects(
    () => smtp.send({ from: FROM, to: ["a@example.test", "b@example.test"] }, "hi"),
    SmtpReplyError,
    "every recipient was refused",
  );
  assertEquals(error.code, 550);
  assertStringIncludes(error.message, "b@example.test: 450 4.2.0 later");
  assert(!smtp.closed);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() ends a DATA the server wrongly accepted when no recipient was", async () => {
  const { peer, smtp } = open([
    ...hello("PIPELINING"),
    { expect: "MAIL FROM:<scully@example.test>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n" },
    { send: "250 Ok\r\n550 no\r\n354 go\r\n" },
    { expect: ".\r\n" },
    { send: "554 no valid recipients\r\n" },
    { expect: "RSET\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  await assertRejects(
    () => smtp.send({ from: FROM, to: ["a@example.test"] }, "secret body"),
    SmtpReplyError,
  );
  await peer.done;
  assertEquals(peer.written.includes("secret body"), false);
  smtp.close();
});

Deno.test("SmtpClient.send() throws a refused sender and sends no content", async () => {
  const { peer, smtp } = open([
    ...hello("PIPELINING", "CHUNKING"),
    {
      expect: "MAIL FROM:<scully@example.test>\r\nRCPT TO:<mulder@example.test>\r\n" +
        "BDAT 4 LAST\r\nhi\r\n",
    },
    { send: "553 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n" },
    { expect: "RSET\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  const error = await assertRejects(
    () => smtp.send({ from: FROM, to: [TO] }, "hi"),
    SmtpReplyError,
  );
  assertEquals([error.code, error.command], [553, "MAIL FROM"]);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() resets after a refused DATA", async () => {
  const { peer, smtp } = open([
    ...hello(),
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<mulder@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "DATA\r\n" },
    { send: "451 4.3.0 try later\r\n" },
    { expect: "RSET\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  const error = await assertRejects(
    () => smtp.send({ from: FROM, to: [TO] }, "hi"),
    SmtpReplyError,
  );
  assertEquals([error.code, error.command, error.transient], [451, "DATA", true]);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() cancels a message stream it did not read", async () => {
  const { peer, smtp } = open([
    ...hello(),
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "550 no\r\n" },
  ]);
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    cancel() {
      cancelled = true;
    },
  });
  await assertRejects(() => smtp.send({ from: FROM, to: [TO] }, body), SmtpReplyError);
  assert(cancelled);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.send() refuses an empty recipient list", async () => {
  const { smtp, peer } = open([]);
  await assertRejects(
    () => Promise.resolve().then(() => smtp.send({ from: FROM, to: [] }, "x")),
    TypeError,
    "no recipients",
  );
  assertEquals(peer.written, "");
  smtp.close();
});

Deno.test("SmtpClient.send() adds SMTPUTF8 when a recipient is not ASCII", async () => {
  const { peer, smtp } = open([
    ...hello("SMTPUTF8", "PIPELINING"),
    {
      expect: "MAIL FROM:<scully@example.test> SMTPUTF8\r\nRCPT TO:<用户@例子.测试>\r\nDATA\r\n",
    },
    { send: "250 Ok\r\n250 Ok\r\n354 go\r\n" },
    { expect: "hi\r\n.\r\n" },
    { send: "250 queued\r\n" },
  ]);
  await smtp.send({ from: FROM, to: ["用户@例子.测试"] }, "hi", { size: undefined });
  await peer.done;
  smtp.close();
});

// ---- LMTP ---------------------------------------------------------------------------

Deno.test("SmtpClient in LMTP mode reads one final reply per accepted recipient", async () => {
  const { peer, smtp } = open([
    { send: "220 lmtp ready\r\n" },
    { expect: "LHLO localhost\r\n" },
    { send: "250-lmtp\r\n250 PIPELINING\r\n" },
    {
      expect: "MAIL FROM:<scully@example.test>\r\nRCPT TO:<a@example.test>\r\n" +
        "RCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n",
    },
    { send: "250 Ok\r\n250 Ok\r\n250 Ok\r\n550 5.1.1 unknown\r\n354 go\r\n" },
    { expect: "hi\r\n.\r\n" },
    { send: "250 2.0.0 <a@example.test> delivered\r\n452 4.2.2 <b@example.test> over quota\r\n" },
  ], { lmtp: true });
  const result = await smtp.send(
    { from: FROM, to: ["a@example.test", "b@example.test", "c@example.test"] },
    "hi",
  );
  assertEquals(result.accepted, ["a@example.test"]);
  assertEquals([...result.refused].map(([to, e]) => [to, e.code]), [
    ["c@example.test", 550],
    ["b@example.test", 452],
  ]);
  assertEquals(result.reply.code, 452);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient in LMTP mode returns per-recipient replies from data() and BDAT", async () => {
  const { peer, smtp } = open([
    { send: "220 lmtp ready\r\n" },
    { expect: "LHLO localhost\r\n" },
    { send: "250-lmtp\r\n250 CHUNKING\r\n" },
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<a@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<b@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "BDAT 4 LAST\r\nhi\r\n" },
    { send: "250 a ok\r\n550 b failed\r\n" },
    { expect: "MAIL FROM:<scully@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "RCPT TO:<a@example.test>\r\n" },
    { send: "250 Ok\r\n" },
    { expect: "DATA\r\n" },
    { send: "354 go\r\n" },
    { expect: "x\r\n.\r\n" },
    { send: "250 a ok\r\n" },
  ], { lmtp: true });
  await smtp.mail(FROM);
  await smtp.rcpt("a@example.test");
  await smtp.rcpt("b@example.test");
  const replies = await smtp.bdat(new TextEncoder().encode("hi\r\n"), { last: true });
  assertEquals(replies.map((r) => r.code), [250, 550]);
  await smtp.mail(FROM);
  await smtp.rcpt("a@example.test");
  assertEquals((await smtp.data("x")).map((r) => r.lines[0]), ["a ok"]);
  await peer.done;
  smtp.close();
});

// ---- AUTH -----------------------------------------------------------------------------

const CREDENTIALS = { username: "mulder", password: "trustno1" };

Deno.test("SmtpClient.auth() uses PLAIN with an initial response", async () => {
  const { peer, smtp } = open([
    ...hello("AUTH LOGIN PLAIN"),
    { expect: "AUTH PLAIN AG11bGRlcgB0cnVzdG5vMQ==\r\n" },
    { send: "235 2.7.0 Authentication successful\r\n" },
  ], { serverName: "localhost" });
  const reply = await smtp.auth(CREDENTIALS);
  assertEquals(reply.code, 235);
  assert(smtp.authenticated);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.auth() uses LOGIN with two challenges", async () => {
  const { peer, smtp } = open([
    ...hello("AUTH LOGIN"),
    { expect: "AUTH LOGIN\r\n" },
    { send: "334 VXNlcm5hbWU6\r\n" },
    { expect: "bXVsZGVy\r\n" },
    { send: "334 UGFzc3dvcmQ6\r\n" },
    { expect: "dHJ1c3RubzE=\r\n" },
    { send: "235 2.7.0 ok\r\n" },
  ], { allowInsecureAuth: true });
  await smtp.auth(CREDENTIALS);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.auth() prefers CRAM-MD5 and allows it without TLS", async () => {
  const { peer, smtp } = open([
    ...hello("AUTH PLAIN LOGIN CRAM-MD5"),
    { expect: "AUTH CRAM-MD5\r\n" },
    { send: `334 ${btoa("<1896.697170952@postoffice.reston.mci.net>")}\r\n` },
    { expect: `${btoa("tim b913a602c7eda7a495b4e6e7334d3890")}\r\n` },
    { send: "235 ok\r\n" },
  ]);
  await smtp.auth({ username: "tim", password: "tanstaaftanstaaf" });
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.auth() refuses to send a password in clear to a remote server", async () => {
  const { peer, smtp } = open(hello("AUTH PLAIN LOGIN"), { serverName: "mail.example.test" });
  const error = await assertRejects(
    () => smtp.auth(CREDENTIALS),
    MissingExtensionError,
    "without TLS",
  );
  assertEquals(error.extension, "SASL");
  await assertRejects(() => smtp.auth(CREDENTIALS, { mechanism: "PLAIN" }), TypeError, "TLS");
  assertEquals(peer.written, "EHLO localhost\r\n");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.auth() reports a server without AUTH", async () => {
  const { peer, smtp } = open(hello());
  await assertRejects(() => smtp.auth(CREDENTIALS), MissingExtensionError, "does not offer AUTH");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.auth() throws a refused login as SmtpReplyError", async () => {
  const { peer, smtp } = open([
    ...hello("AUTH PLAIN"),
    { expect: "AUTH PLAIN AG11bGRlcgB0cnVzdG5vMQ==\r\n" },
    { send: "535 5.7.8 Authentication failed\r\n" },
  ], { allowInsecureAuth: true });
  const error = await assertRejects(() => smtp.auth(CREDENTIALS), SmtpReplyError);
  assertEquals([error.code, error.enhancedCode, error.command], [535, "5.7.8", "AUTH PLAIN"]);
  assertEquals(error.message.includes("AG11bGRl"), false);
  assert(!smtp.authenticated && !smtp.closed);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.auth() cancels with * on a challenge that is not base64", async () => {
  const { peer, smtp } = open([
    ...hello("AUTH LOGIN"),
    { expect: "AUTH LOGIN\r\n" },
    { send: "334 !!not base64!!\r\n" },
    { expect: "*\r\n" },
    { send: "501 5.7.0 cancelled\r\n" },
  ], { allowInsecureAuth: true });
  const error = await assertRejects(() => smtp.auth(CREDENTIALS), ProtocolError);
  assertEquals(error.code, "BAD_CHALLENGE");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.auth() answers an XOAUTH2 error challenge with an empty line", async () => {
  const token = { username: "mulder@example.test", accessToken: "ya29.token" };
  const initial = btoa("user=mulder@example.test\x01auth=Bearer ya29.token\x01\x01");
  const { peer, smtp } = open([
    ...hello("AUTH XOAUTH2"),
    { expect: `AUTH XOAUTH2 ${initial}\r\n` },
    { send: `334 ${btoa('{"status":"401"}')}\r\n` },
    { expect: "\r\n" },
    { send: "535 5.7.8 bad token\r\n" },
  ], { allowInsecureAuth: true });
  await assertRejects(() => smtp.auth(token), SmtpReplyError, "bad token");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient debug output redacts AUTH arguments and responses", async () => {
  const lines: string[] = [];
  const { peer, smtp } = open([
    ...hello("AUTH PLAIN LOGIN"),
    { expect: "AUTH LOGIN\r\n" },
    { send: "334 VXNlcm5hbWU6\r\n" },
    { expect: "bXVsZGVy\r\n" },
    { send: "334 UGFzc3dvcmQ6\r\n" },
    { expect: "dHJ1c3RubzE=\r\n" },
    { send: "235 ok\r\n" },
    { expect: "AUTH PLAIN AG11bGRlcgB0cnVzdG5vMQ==\r\n" },
    { send: "503 already\r\n" },
  ], { allowInsecureAuth: true, debug: (line) => lines.push(line) });
  await smtp.auth(CREDENTIALS, { mechanism: "LOGIN" });
  await assertRejects(() => smtp.auth(CREDENTIALS, { mechanism: "PLAIN" }), SmtpReplyError);
  const log = lines.join("\n");
  for (const secret of ["trustno1", "dHJ1c3RubzE", "AG11bGRlcgB0cnVzdG5vMQ", "bXVsZGVy"]) {
    assertEquals(log.includes(secret), false, secret);
  }
  assertStringIncludes(log, "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: <redacted>");
  assertStringIncludes(log, "C: AUTH PLAIN <redacted>");
  await peer.done;
  smtp.close();
});

// ---- STARTTLS ---------------------------------------------------------------------------

Deno.test("SmtpClient.startTls() aborts when the server sends bytes before the handshake", async () => {
  const { peer, smtp } = open([
    ...hello("STARTTLS"),
    { expect: "STARTTLS\r\n" },
    // Injected after the 220 in the same packet (CVE-2011-0411).
    { send: "220 2.0.0 Ready to start TLS\r\n250-injected\r\n250 AUTH PLAIN\r\n" },
  ]);
  const error = await assertRejects(() => smtp.startTls(), ProtocolError);
  assertEquals(error.code, "STARTTLS_INJECTION");
  assert(smtp.closed);
  await peer.done;
  assertEquals(peer.written, "EHLO localhost\r\nSTARTTLS\r\n");
});

Deno.test("SmtpClient.startTls() reports a server without STARTTLS", async () => {
  const { peer, smtp } = open(hello());
  const error = await assertRejects(() => smtp.startTls(), MissingExtensionError);
  assertEquals(error.extension, "STARTTLS");
  assertEquals(peer.written, "EHLO localhost\r\n");
  await peer.done;
});

/** A loopback TCP server that plays a script and records what the client sent. */
function scriptedServer(script: (conn: Deno.Conn) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    try {
      await script(conn);
    } finally {
      conn.close();
      listener.close();
    }
  })();
  return { port: (listener.addr as Deno.NetAddr).port, served };
}

async function readAll(conn: Deno.Conn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}

async function readLine(conn: Deno.Conn): Promise<string> {
  let line = "";
  const byte = new Uint8Array(1);
  while (!line.endsWith("\r\n")) {
    if ((await conn.read(byte)) === null) break;
    line += String.fromCharCode(byte[0]!);
  }
  return line;
}

async function write(conn: Deno.Conn, text: string): Promise<void> {
  await conn.write(new TextEncoder().encode(text));
}

Deno.test("SmtpClient.connect() with requireTls sends nothing more after a refused STARTTLS", async () => {
  let after = "unset";
  const { port, served } = scriptedServer(async (conn) => {
    await write(conn, GREETING);
    assertEquals(await readLine(conn), "EHLO localhost\r\n");
    await write(conn, ehloReply("STARTTLS", "AUTH PLAIN"));
    assertEquals(await readLine(conn), "STARTTLS\r\n");
    await write(conn, "454 4.7.0 TLS not available\r\n");
    after = await readAll(conn);
  });
  const error = await assertRejects(
    () =>
      SmtpClient.connect({
        port,
        requireTls: true,
        credentials: CREDENTIALS,
        allowInsecureAuth: true,
      }),
    SmtpReplyError,
  );
  assertEquals(error.code, 454);
  await served;
  assertEquals(after, "");
});

Deno.test("SmtpClient.connect() with requireTls closes when STARTTLS is not offered", async () => {
  let after = "unset";
  const { port, served } = scriptedServer(async (conn) => {
    await write(conn, GREETING);
    assertEquals(await readLine(conn), "EHLO localhost\r\n");
    await write(conn, ehloReply("AUTH PLAIN"));
    after = await readAll(conn);
  });
  const error = await assertRejects(
    () => SmtpClient.connect({ port, requireTls: true, credentials: CREDENTIALS }),
    MissingExtensionError,
  );
  assertEquals(error.extension, "STARTTLS");
  await served;
  assertEquals(after, "");
});

Deno.test("SmtpClient.connect() aborts on bytes injected after the STARTTLS 220 over TCP", async () => {
  let after = "unset";
  const { port, served } = scriptedServer(async (conn) => {
    await write(conn, GREETING);
    await readLine(conn);
    await write(conn, ehloReply("STARTTLS"));
    assertEquals(await readLine(conn), "STARTTLS\r\n");
    await write(conn, "220 Ready\r\n250 AUTH PLAIN\r\n");
    after = await readAll(conn);
  });
  const error = await assertRejects(() => SmtpClient.connect({ port }), ProtocolError);
  assertEquals(error.code, "STARTTLS_INJECTION");
  await served;
  assertEquals(after, "");
});

Deno.test("SmtpClient.connect() goes on in clear after an opportunistic STARTTLS is refused", async () => {
  const { port, served } = scriptedServer(async (conn) => {
    await write(conn, GREETING);
    await readLine(conn);
    await write(conn, ehloReply("STARTTLS"));
    assertEquals(await readLine(conn), "STARTTLS\r\n");
    await write(conn, "454 4.7.0 not now\r\n");
    assertEquals(await readLine(conn), "QUIT\r\n");
    await write(conn, "221 bye\r\n");
  });
  const smtp = await SmtpClient.connect({ port });
  assertEquals(smtp.tls, false);
  assertEquals((await smtp.quit())?.code, 221);
  await served;
});

Deno.test("SmtpClient.connect() logs in over loopback without TLS and quits on dispose", async () => {
  const { port, served } = scriptedServer(async (conn) => {
    await write(conn, GREETING);
    await readLine(conn);
    await write(conn, ehloReply("AUTH PLAIN"));
    assertEquals(await readLine(conn), "AUTH PLAIN AG11bGRlcgB0cnVzdG5vMQ==\r\n");
    await write(conn, "235 ok\r\n");
    assertEquals(await readLine(conn), "QUIT\r\n");
    await write(conn, "221 bye\r\n");
  });
  {
    await using smtp = await SmtpClient.connect({
      port,
      tls: false,
      credentials: CREDENTIALS,
    });
    assert(smtp.authenticated);
  }
  await served;
});

// ---- limits, EOF, timeouts, concurrency -----------------------------------------------------

Deno.test("SmtpClient caps reply lines at 512 octets", async () => {
  const ok = "250 " + "a".repeat(506) + "\r\n"; // 512 octets with CR LF
  const long = "250 " + "a".repeat(507) + "\r\n";
  const { peer, smtp } = open([
    ...hello(),
    { expect: "NOOP\r\n" },
    { send: ok },
    { expect: "NOOP\r\n" },
    { send: long },
  ]);
  await smtp.ehlo();
  await smtp.noop();
  const error = await assertRejects(() => smtp.noop(), ProtocolError);
  assertEquals(error.code, "LINE_TOO_LONG");
  assert(smtp.closed);
  await peer.done;
});

Deno.test("SmtpClient caps a whole reply at maxReplySize", async () => {
  const line = "250-" + "b".repeat(400) + "\r\n";
  const { peer, smtp } = open([
    { send: GREETING },
    { expect: "EHLO localhost\r\n" },
    { send: line.repeat(300) + "250 end\r\n" },
  ]);
  const error = await assertRejects(() => smtp.ehlo(), ProtocolError);
  assertEquals(error.code, "REPLY_TOO_LARGE");
  assert(smtp.closed);
  await peer.done;
});

Deno.test("SmtpClient reports EOF in the middle of a reply", async () => {
  const { peer, smtp } = open([
    { send: GREETING },
    { expect: "EHLO localhost\r\n" },
    { send: "250-mx\r\n250-PIPELINING\r\n250-SI" },
    { close: true },
  ]);
  const error = await assertRejects(() => smtp.ehlo(), ProtocolError);
  assertEquals(error.code, "UNEXPECTED_EOF");
  assert(smtp.closed);
  await peer.done;
});

Deno.test("SmtpClient reports a malformed reply", async () => {
  const { peer, smtp } = open([{ send: "HTTP/1.1 200 OK\r\n" }]);
  const error = await assertRejects(() => smtp.ehlo(), ProtocolError);
  assertEquals(error.code, "BAD_REPLY");
  await peer.done;
});

Deno.test("SmtpClient refuses a second command while one is running", async () => {
  const { peer, smtp } = open([
    ...hello(),
    { expect: "NOOP\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  await smtp.ehlo();
  const first = smtp.noop();
  await assertRejects(() => smtp.noop(), TypeError, "did you forget await?");
  assertEquals((await first).code, 250);
  assert(!smtp.closed);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient times out a command and closes the connection", async () => {
  const { peer, smtp } = open([...hello(), { expect: "NOOP\r\n" }]);
  await smtp.ehlo();
  const error = await assertRejects(() => smtp.noop({ timeout: 50 }));
  assertEquals((error as unknown as DOMException).name, "TimeoutError");
  assert(smtp.closed);
  await peer.done;
});

Deno.test("SmtpClient stops a command when its signal aborts", async () => {
  const { peer, smtp } = open([...hello(), { expect: "NOOP\r\n" }]);
  await smtp.ehlo();
  const controller = new AbortController();
  const running = smtp.noop({ signal: controller.signal });
  controller.abort(new Error("user cancelled"));
  await assertRejects(() => running, Error, "user cancelled");
  assert(smtp.closed);
  await peer.done;
});

// ---- RSET, NOOP, VRFY, QUIT ----------------------------------------------------------

Deno.test("SmtpClient.rset(), noop() and vrfy() send their verbs", async () => {
  const { peer, smtp } = open([
    ...hello("VRFY"),
    { expect: "RSET\r\n" },
    { send: "250 2.0.0 Ok\r\n" },
    { expect: "NOOP\r\n" },
    { send: "250 2.0.0 Ok\r\n" },
    { expect: "VRFY mulder\r\n" },
    { send: "252 2.0.0 mulder\r\n" },
    { expect: "VRFY nobody\r\n" },
    { send: "550 5.1.1 <nobody>: Recipient address rejected\r\n" },
  ]);
  await smtp.ehlo();
  assertEquals((await smtp.rset()).code, 250);
  assertEquals((await smtp.noop()).code, 250);
  assertEquals((await smtp.vrfy("mulder")).code, 252);
  const error = await assertRejects(() => smtp.vrfy("nobody"), SmtpReplyError);
  assertEquals(error.command, "VRFY");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.quit() sends QUIT and closes", async () => {
  const { peer, smtp } = open([...hello(), { expect: "QUIT\r\n" }, { send: "221 2.0.0 Bye\r\n" }]);
  await smtp.ehlo();
  const reply = await smtp.quit();
  assertEquals(reply?.code, 221);
  assert(smtp.closed);
  await peer.done;
});

Deno.test("SmtpClient.quit() accepts a server that hangs up without a reply", async () => {
  const { peer, smtp } = open([...hello(), { expect: "QUIT\r\n" }, { close: true }]);
  await smtp.ehlo();
  assertEquals(await smtp.quit(), null);
  assert(smtp.closed);
  await peer.done;
});

Deno.test("SmtpClient [Symbol.asyncDispose]() quits politely", async () => {
  const peer = new ScriptedPeer([...hello(), { expect: "QUIT\r\n" }, { send: "221 Bye\r\n" }]);
  {
    await using smtp = new SmtpClient(peer);
    await smtp.ehlo();
  }
  await peer.done;
  assert(peer.clientClosed);
});

Deno.test("SmtpReplyError ignores an enhanced code whose class differs from the reply", () => {
  const error = new SmtpReplyError(550, ["2.1.0 odd"]);
  assertEquals(error.enhancedCode, undefined);
  assertInstanceOf(error, Error);
  assertEquals(new SmtpReplyError(452, ["4.2.2 full"]).enhancedCode, "4.2.2");
  assertEquals(new SmtpReplyError(452, ["4.2.2x"]).enhancedCode, undefined);
});

Deno.test("CrlfNormalizer (BDAT content) gives the same octets for every split of its input", () => {
  const input = new TextEncoder().encode("a\rb\nc\r\n.d\r\r\n\n\re");
  const expected = "a\r\nb\r\nc\r\n.d\r\n\r\n\r\n\r\ne\r\n";
  for (const parts of splits(input)) {
    const normalizer = new CrlfNormalizer();
    const out = [...parts.map((p) => normalizer.push(p)), normalizer.end()];
    assertEquals(new TextDecoder().decode(new Uint8Array(out.flatMap((o) => [...o]))), expected);
  }
  const empty = new CrlfNormalizer();
  assertEquals(empty.end().length, 0);
  const ended = new CrlfNormalizer();
  ended.push(new TextEncoder().encode("x\r\n"));
  assertEquals(ended.end().length, 0);
});

Deno.test("SmtpClient survives random server replies with typed errors (seeded)", async () => {
  // A small linear congruential generator: the same cases every run.
  let seed = 0x5eed;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const alphabet = ["2", "5", "0", "-", " ", "\r", "\n", "\r\n", "\0", "a", "250", "354 ", "\xff"];
  for (let round = 0; round < 300; round++) {
    let garbage = "";
    const length = random(60);
    for (let i = 0; i < length; i++) garbage += alphabet[random(alphabet.length)];
    const { peer, smtp } = open([
      { send: GREETING },
      { expect: "EHLO localhost\r\n" },
      { send: garbage },
      { close: true },
    ], { maxReplySize: 200 });
    try {
      await smtp.ehlo();
      await smtp.noop();
    } catch (error) {
      assert(
        error instanceof ProtocolError || error instanceof SmtpReplyError ||
          error instanceof TypeError && error.message.includes("closed"),
        `round ${round}: ${JSON.stringify(garbage)}: ${error}`,
      );
    }
    smtp.close();
    await peer.done.catch(() => {});
  }
});

Deno.test("SmtpClient.quit() during another command fails without closing the connection", async () => {
  const { peer, smtp } = open([
    ...hello(),
    { expect: "NOOP\r\n" },
    { send: "250 Ok\r\n" },
  ]);
  await smtp.ehlo();
  const running = smtp.noop();
  await assertRejects(() => smtp.quit(), TypeError, "did you forget await?");
  assertEquals((await running).code, 250);
  assert(!smtp.closed);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient refuses an ENVID over 100 characters and an ORCPT over 500", async () => {
  const { peer, smtp } = open(hello("DSN"));
  await smtp.ehlo();
  await assertRejects(() => smtp.mail(FROM, { envelopeId: "+".repeat(34) }), RangeError, "ENVID");
  await assertRejects(
    () => smtp.rcpt(TO, { originalRecipient: "a".repeat(494) }),
    RangeError,
    "ORCPT",
  );
  assertEquals(peer.written, "EHLO localhost\r\n");
  await peer.done;
  smtp.close();
});

// ---- the TLS and credentials rule ------------------------------------------------------

/** A scripted peer that reports a transport address, as a TCP connection does. */
function openAt(hostname: string, steps: ScriptStep[], options: SmtpClientOptions = {}) {
  const peer = new ScriptedPeer(steps);
  const conn = {
    readable: peer.readable,
    writable: peer.writable,
    close: () => peer.close(),
    remoteAddr: { transport: "tcp" as const, hostname, port: 587 },
  };
  const smtp = new SmtpClient(conn, { timeout: 2000, dataTimeout: 2000, ...options });
  return { peer, smtp };
}

Deno.test("SmtpClient.auth() refuses a loopback serverName over a connection to a remote address", async () => {
  const { peer, smtp } = openAt("192.0.2.7", hello("AUTH PLAIN LOGIN"), {
    serverName: "localhost",
  });
  const error = await assertRejects(
    () => smtp.auth(CREDENTIALS),
    MissingExtensionError,
    "without TLS",
  );
  assertEquals(error.extension, "SASL");
  await assertRejects(() => smtp.auth(CREDENTIALS, { mechanism: "LOGIN" }), TypeError, "TLS");
  assertEquals(peer.written, "EHLO localhost\r\n");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.auth() refuses a remote serverName although the peer address is loopback", async () => {
  const { peer, smtp } = openAt("127.0.0.1", hello("AUTH PLAIN"), {
    serverName: "mail.example.test",
  });
  await assertRejects(() => smtp.auth(CREDENTIALS), MissingExtensionError, "without TLS");
  assertEquals(peer.written, "EHLO localhost\r\n");
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.auth() sends PLAIN in clear to a loopback peer, IPv4-mapped and ::1 included", async () => {
  for (const [address, serverName] of [["::ffff:127.0.0.1", undefined], ["::1", "localhost"]]) {
    const { peer, smtp } = openAt(address!, [
      ...hello("AUTH PLAIN"),
      { expect: "AUTH PLAIN AG11bGRlcgB0cnVzdG5vMQ==\r\n" },
      { send: "235 ok\r\n" },
    ], { serverName });
    assertEquals((await smtp.auth(CREDENTIALS)).code, 235, address);
    await peer.done;
    smtp.close();
  }
});

Deno.test("SmtpClient.auth() sends PLAIN in clear to a remote host only with allowInsecureAuth", async () => {
  const { peer, smtp } = openAt("192.0.2.7", [
    ...hello("AUTH PLAIN"),
    { expect: "AUTH PLAIN AG11bGRlcgB0cnVzdG5vMQ==\r\n" },
    { send: "235 ok\r\n" },
  ], { allowInsecureAuth: true });
  assertEquals((await smtp.auth(CREDENTIALS)).code, 235);
  await peer.done;
  smtp.close();
});

Deno.test("SmtpClient.connect() with tls: false stays in clear although STARTTLS is offered", async () => {
  const { port, served } = scriptedServer(async (conn) => {
    await write(conn, GREETING);
    await readLine(conn);
    await write(conn, ehloReply("STARTTLS", "AUTH PLAIN"));
    assertEquals(await readLine(conn), "QUIT\r\n");
    await write(conn, "221 bye\r\n");
  });
  const smtp = await SmtpClient.connect({ port, tls: false });
  assertEquals(smtp.tls, false);
  assertEquals((await smtp.quit())?.code, 221);
  await served;
});

Deno.test("SmtpClient.connect() refuses requireTls with tls: false before dialling", async () => {
  await assertRejects(
    () => SmtpClient.connect({ port: 1, tls: false, requireTls: true }),
    TypeError,
    "exclude each other",
  );
});

Deno.test("SmtpClient.connect() upgrades with STARTTLS when offered, and an unverified certificate is an error", async () => {
  const { testCert } = await import("../_helpers/tls.ts");
  const { SmtpServer } = await import("../../mail/smtp_server.ts");
  const cert = await testCert();
  const seen: boolean[] = [];
  const events: string[] = [];
  await using server = new SmtpServer({
    cert: cert.cert,
    key: cert.key,
    received: false,
    users: { users: { mulder: "trustno1" } },
    onMessage: async (envelope, message) => {
      seen.push(envelope.session.tls);
      await message.cancel();
    },
    onLog: (event) => events.push(event.type),
  });
  const port = server.addr.port;
  {
    // Default: STARTTLS, verified with the test CA, then AUTH over TLS.
    await using smtp = await SmtpClient.connect({
      port,
      serverName: "localhost",
      caCerts: [cert.ca],
      credentials: CREDENTIALS,
    });
    assert(smtp.tls && smtp.authenticated);
    await smtp.send({ from: FROM, to: [TO] }, "Subject: x\r\n\r\ny\r\n");
  }
  assertEquals(seen, [true]);
  // Without the CA the offered STARTTLS does not verify: an error, never clear text.
  events.length = 0;
  await assertRejects(
    () => SmtpClient.connect({ port, serverName: "localhost", credentials: CREDENTIALS }),
    Deno.errors.InvalidData,
    "certificate",
  );
  assertEquals(events.includes("login"), false);
  assertEquals(seen, [true]);
});
