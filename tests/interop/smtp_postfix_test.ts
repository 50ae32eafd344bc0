/**
 * SmtpClient and sendMail against the real Postfix of the peers test bed
 * (2525 plain with optional STARTTLS, 4465 implicit TLS, AUTH PLAIN/LOGIN
 * through Dovecot), each delivered message read back from Dovecot IMAP (1143)
 * with Python's imaplib and compared byte for byte, then deleted again so the
 * INBOX keeps its seeded state.
 *
 * The TLS cases verify the peers' certificate against their private CA
 * (`$PEERS_DIR/tls/ca.pem`) with `caCerts` and the name `localhost`.
 *
 * @module
 */
import { buildMessage, type MessageInit } from "../../mail/message_builder.ts";
import { sendMail } from "../../mail/send_mail.ts";
import { SmtpClient, type SmtpConnectOptions } from "../../mail/smtp_client.ts";
import { SmtpReplyError } from "../../mail/smtp_reply_error.ts";
import { peerTest } from "../_helpers/peers.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_helpers/assert.ts";

const SMTP_PORT = 2525;
const SMTPS_PORT = 4465;
const IMAP_PORT = 1143;
const RECIPIENT = "mulder@example.test";
const CREDENTIALS = { username: "mulder", password: "trustno1" };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Finds the message by Message-ID (polling up to 10 s), prints it base64, deletes it. */
const IMAP_FETCH = `
import base64, imaplib, sys, time
message_id = sys.argv[1]
imap = imaplib.IMAP4("127.0.0.1", ${IMAP_PORT})
imap.login("mulder", "trustno1")
deadline = time.time() + 10
uids = []
while True:
    imap.select("INBOX")
    typ, data = imap.uid("SEARCH", None, "HEADER", "Message-ID", message_id)
    uids = data[0].split()
    if uids or time.time() > deadline:
        break
    time.sleep(0.1)
if not uids:
    sys.exit(3)
typ, data = imap.uid("FETCH", uids[0], "(BODY.PEEK[])")
raw = data[0][1]
imap.uid("STORE", uids[0], "+FLAGS", "(\\\\Deleted)")
imap.expunge()
imap.logout()
sys.stdout.write(base64.b64encode(raw).decode())
`;

async function fetchDelivered(messageId: string): Promise<Uint8Array> {
  const { code, stdout, stderr } = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", IMAP_FETCH, messageId],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code === 3) throw new Error(`Message ${messageId} was not delivered within 10 s`);
  if (code !== 0) throw new Error(`imaplib failed: ${decoder.decode(stderr)}`);
  return Uint8Array.fromBase64(decoder.decode(stdout));
}

/**
 * Checks that the delivered message is the sent one after transport: the
 * same octets, after the trace fields Postfix prepends.
 */
function assertDelivered(delivered: Uint8Array, sent: Uint8Array): void {
  const text = decoder.decode(delivered);
  const expected = decoder.decode(sent);
  assert(text.endsWith(expected), `delivered message differs:\n${text}`);
  const prefix = text.slice(0, text.length - expected.length);
  const fields = prefix.split(/\r\n(?![ \t])/).filter((f) => f !== "");
  for (const field of fields) {
    assertMatch(field, /^(Return-Path|X-Original-To|Delivered-To|Received): /);
  }
  assertEquals(delivered.slice(delivered.length - sent.length), sent);
}

function uniqueId(): string {
  return `<inetkit-${crypto.randomUUID()}@example.test>`;
}

/** A message with the edge cases transport must keep: dots, bare LFs, UTF-8, long lines. */
function rawMessage(messageId: string, subject: string): { source: string; canonical: Uint8Array } {
  const source = [
    "From: Dana Scully <scully@example.test>",
    `To: ${RECIPIENT}`,
    `Subject: ${subject}`,
    "Date: Tue, 14 Nov 2023 22:13:20 +0000",
    `Message-ID: ${messageId}`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    ".a line that starts with a dot",
    ".",
    "..two dots",
    "bare LF line\nnext\r\nCRLF line",
    "Ünïcödé ✓ — 8-bit text",
    "x".repeat(900),
    "no final line end",
  ].join("\r\n");
  const canonical = source.replaceAll(/\r\n|\n/g, "\r\n") + "\r\n";
  return { source, canonical: encoder.encode(canonical) };
}

const PEERS_CA = `${Deno.env.get("PEERS_DIR") ?? "/tmp/peers"}/tls/ca.pem`;

/** Sends through postfix with its certificate verified against the peers' CA. */
async function sendVerified(
  options: SmtpConnectOptions,
  message: string,
): Promise<{ accepted: string[]; tls: boolean; authenticated: boolean; log: string[] }> {
  const log: string[] = [];
  await using smtp = await SmtpClient.connect({
    ...options,
    caCerts: [await Deno.readTextFile(PEERS_CA)],
    serverName: "localhost",
    debug: (line) => log.push(line),
  });
  const result = await smtp.send({ from: "scully@example.test", to: [RECIPIENT] }, message);
  return {
    accepted: result.accepted,
    tls: smtp.tls,
    authenticated: smtp.authenticated,
    log,
  };
}

peerTest(
  "postfix: SmtpClient delivers over plain SMTP with DATA, refusals reported",
  SMTP_PORT,
  async () => {
    const id = uniqueId();
    const { source, canonical } = rawMessage(id, "inetkit plain DATA");
    await using smtp = await SmtpClient.connect({ port: SMTP_PORT, tls: false });
    assert(smtp.capabilities.has("PIPELINING") && smtp.capabilities.has("CHUNKING"));
    const result = await smtp.send(
      { from: "scully@example.test", to: ["nosuchuser@example.test", RECIPIENT] },
      source,
      { chunking: false },
    );
    assertEquals(result.accepted, [RECIPIENT]);
    const refusal = result.refused.get("nosuchuser@example.test");
    assert(refusal instanceof SmtpReplyError);
    assertEquals([refusal.code, refusal.enhancedCode], [550, "5.1.1"]);
    assertMatch(result.reply.lines[0]!, /^2\.0\.0 Ok: queued as /);
    assertDelivered(await fetchDelivered(id), canonical);
  },
);

peerTest(
  "postfix: SmtpClient delivers with BDAT (CHUNKING) and without pipelining",
  SMTP_PORT,
  async () => {
    const first = uniqueId();
    const second = uniqueId();
    await using smtp = await SmtpClient.connect({ port: SMTP_PORT, tls: false });
    const a = rawMessage(first, "inetkit BDAT pipelined");
    const b = rawMessage(second, "inetkit BDAT sequential");
    await smtp.send({ from: "scully@example.test", to: [RECIPIENT] }, a.source);
    await smtp.send({ from: "scully@example.test", to: [RECIPIENT] }, b.source, {
      pipelining: false,
    });
    assertDelivered(await fetchDelivered(first), a.canonical);
    assertDelivered(await fetchDelivered(second), b.canonical);
  },
);

peerTest(
  "postfix: SmtpClient logs in with AUTH PLAIN and LOGIN on loopback",
  SMTP_PORT,
  async () => {
    for (const mechanism of ["PLAIN", "LOGIN"]) {
      await using smtp = await SmtpClient.connect({
        port: SMTP_PORT,
        tls: false,
        credentials: CREDENTIALS,
        mechanism,
      });
      assert(smtp.authenticated);
      assertEquals((await smtp.noop()).code, 250);
    }
    await using smtp = await SmtpClient.connect({ port: SMTP_PORT, tls: false });
    const error = await assertRejects(
      () => smtp.vrfy("nosuchuser"),
      SmtpReplyError,
    );
    assertEquals(error.code, 550);
  },
);

peerTest(
  "postfix: sendMail builds, delivers and the message arrives unchanged",
  SMTP_PORT,
  async () => {
    const id = uniqueId();
    const init: MessageInit = {
      from: "Dana Scully <scully@example.test>",
      to: RECIPIENT,
      bcc: "mulder+bcc@example.test",
      subject: "inetkit sendMail — ünïcödé",
      date: new Date("2024-05-01T12:00:00Z"),
      messageId: id,
      text: "The truth is out there.\n.\nÜnïcödé\n",
      attachments: [{ filename: "data.bin", content: new Uint8Array(300).map((_, i) => i) }],
    };
    let n = 0;
    const build = { boundary: () => `=_inetkit_interop_${n++}` };
    const expected = new Uint8Array(await new Response(buildMessage(init, build)).arrayBuffer());
    n = 0;
    const result = await sendMail(init, { port: SMTP_PORT, tls: false, build });
    assertEquals(result.accepted, [RECIPIENT, "mulder+bcc@example.test"]);
    // Both recipients are mulder's INBOX: two copies, each with the same octets.
    assertDelivered(await fetchDelivered(id), expected);
    assertDelivered(await fetchDelivered(id), expected);
  },
);

peerTest(
  "postfix: STARTTLS re-reads the extensions, then AUTH PLAIN and LOGIN deliver",
  SMTP_PORT,
  async () => {
    for (const mechanism of ["PLAIN", "LOGIN"]) {
      const id = uniqueId();
      const { source, canonical } = rawMessage(id, `inetkit STARTTLS ${mechanism}`);
      const result = await sendVerified({
        port: SMTP_PORT,
        requireTls: true,
        credentials: CREDENTIALS,
        mechanism,
      }, source);
      assertEquals(result.accepted, [RECIPIENT]);
      assert(result.tls && result.authenticated);
      const log = result.log.join("\n");
      // STARTTLS is offered in clear, not after the upgrade; EHLO is said twice.
      assertEquals(log.split("C: EHLO localhost").length, 3);
      const [before, after] = log.split("C: STARTTLS");
      assert(before!.includes("S: 250-STARTTLS") && !after!.includes("STARTTLS"));
      assert(log.includes(`C: AUTH ${mechanism}`));
      assertEquals(log.includes("trustno1") || log.includes(btoa("trustno1")), false);
      assertDelivered(await fetchDelivered(id), canonical);
    }
  },
);

peerTest("postfix: implicit TLS on 4465 with AUTH delivers", SMTPS_PORT, async () => {
  const id = uniqueId();
  const { source, canonical } = rawMessage(id, "inetkit SMTPS");
  const result = await sendVerified({
    port: SMTPS_PORT,
    tls: true,
    credentials: CREDENTIALS,
  }, source);
  assertEquals(result.accepted, [RECIPIENT]);
  assert(result.tls && result.authenticated);
  assertEquals(result.log.some((line) => line.includes("STARTTLS")), false);
  assertDelivered(await fetchDelivered(id), canonical);
});
