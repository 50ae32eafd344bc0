import { buildMessage } from "../../mail/message_builder.ts";
import { sendMail } from "../../mail/send_mail.ts";
import { SmtpClient } from "../../mail/smtp_client.ts";
import { SmtpReplyError } from "../../mail/smtp_reply_error.ts";
import { MissingExtensionError } from "../../net/missing_extension_error.ts";
import { ScriptedPeer, type ScriptStep } from "../_helpers/scripted_peer.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../_helpers/assert.ts";

const OPENING: ScriptStep[] = [
  { send: "220 mx ready\r\n" },
  { expect: "EHLO localhost\r\n" },
  { send: "250-mx\r\n250 PIPELINING\r\n" },
];

function scriptedClient(steps: ScriptStep[]) {
  const peer = new ScriptedPeer(steps);
  return { peer, client: new SmtpClient(peer, { timeout: 2000, dataTimeout: 2000 }) };
}

Deno.test("sendMail() sends raw text with the given envelope through an open client", async () => {
  const { peer, client } = scriptedClient([
    ...OPENING,
    {
      expect: "MAIL FROM:<scully@example.test>\r\nRCPT TO:<mulder@example.test>\r\n" +
        "RCPT TO:<nobody@example.test>\r\nDATA\r\n",
    },
    { send: "250 ok\r\n250 ok\r\n550 5.1.1 unknown\r\n354 go\r\n" },
    { expect: "Subject: x\r\n\r\n..\r\n.\r\n" },
    { send: "250 2.0.0 queued\r\n" },
  ]);
  const result = await sendMail("Subject: x\n\n.\n", {
    client,
    from: "scully@example.test",
    to: ["mulder@example.test", "nobody@example.test"],
  });
  assertEquals(result.accepted, ["mulder@example.test"]);
  assertEquals(result.refused.get("nobody@example.test")?.code, 550);
  assert(!client.closed);
  await peer.done;
  client.close();
});

Deno.test("sendMail() builds a MessageInit and takes the envelope from it, Bcc included", async () => {
  const init = {
    from: "Dana Scully <scully@example.test>",
    to: "mulder@example.test",
    bcc: "skinner@example.test",
    subject: "Case file",
    date: new Date("2024-05-01T12:00:00Z"),
    messageId: "<x-1@example.test>",
    text: "The truth is out there.\n.\n",
  };
  const built = await new Response(buildMessage(init)).text();
  assertStringIncludes(built, "Subject: Case file\r\n");
  assertEquals(built.includes("skinner"), false);
  const { peer, client } = scriptedClient([
    { send: "220 mx ready\r\n" },
    { expect: "EHLO localhost\r\n" },
    { send: "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n" },
    {
      expect: "MAIL FROM:<scully@example.test>\r\nRCPT TO:<mulder@example.test>\r\n" +
        `RCPT TO:<skinner@example.test>\r\nBDAT ${built.length} LAST\r\n${built}`,
    },
    { send: "250 ok\r\n250 ok\r\n250 ok\r\n250 queued\r\n" },
  ]);
  const result = await sendMail(init, { client });
  assertEquals(result.accepted, ["mulder@example.test", "skinner@example.test"]);
  await peer.done;
  client.close();
});

Deno.test("sendMail() refuses a raw message without an envelope before connecting", async () => {
  await assertRejects(
    () => sendMail("Subject: x\r\n\r\n", { port: 1, from: "a@example.test" }),
    TypeError,
    "options.from and options.to",
  );
});

Deno.test("sendMail() refuses a header injection before connecting", async () => {
  await assertRejects(
    () =>
      sendMail({
        from: "a@example.test",
        to: "b@example.test",
        subject: "hi\r\nBcc: victim@example.test",
      }, { port: 1 }),
    TypeError,
  );
});

Deno.test("sendMail() connects, sends and quits", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    const peer = new ScriptedPeer([
      ...OPENING,
      { expect: "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n" },
      { send: "250 ok\r\n250 ok\r\n354 go\r\n" },
      { expect: "hello\r\n.\r\n" },
      { send: "250 queued as 1\r\n" },
      { expect: "QUIT\r\n" },
      { send: "221 bye\r\n" },
    ]);
    const pumpIn = conn.readable.pipeTo(peer.writable).catch(() => {});
    const pumpOut = peer.readable.pipeTo(conn.writable).catch(() => {});
    await peer.done;
    await pumpIn;
    peer.close();
    await pumpOut;
    listener.close();
  })();
  const result = await sendMail("hello\r\n", {
    port: (listener.addr as Deno.NetAddr).port,
    from: "a@example.test",
    to: ["b@example.test"],
  });
  assertEquals(result.reply.lines, ["queued as 1"]);
  await served;
});

Deno.test("sendMail() throws when every recipient is refused", async () => {
  const { peer, client } = scriptedClient([
    ...OPENING,
    { expect: "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n" },
    { send: "250 ok\r\n550 5.1.1 no\r\n503 5.5.1 no valid recipients\r\n" },
    { expect: "RSET\r\n" },
    { send: "250 ok\r\n" },
  ]);
  await assertRejects(
    () => sendMail("x", { client, from: "a@example.test", to: ["b@example.test"] }),
    SmtpReplyError,
    "every recipient was refused",
  );
  await peer.done;
  client.close();
});

// ---- the TLS and credentials rule ------------------------------------------------------

async function labServer(tls: boolean) {
  const { SmtpServer } = await import("../../mail/smtp_server.ts");
  const { testCert } = await import("../_helpers/tls.ts");
  const cert = tls ? await testCert() : undefined;
  const sessions: { tls: boolean; user: string | null }[] = [];
  const server = new SmtpServer({
    cert: cert?.cert,
    key: cert?.key,
    received: false,
    // A callback, not a table: no CRAM-MD5, only mechanisms that send the password.
    users: { authenticate: (user, password) => user === "mulder" && password === "trustno1" },
    authFailureDelay: 0,
    onMessage: async (envelope, message) => {
      sessions.push({ tls: envelope.session.tls, user: envelope.session.user });
      await message.cancel();
    },
  });
  return { server, sessions, ca: cert?.ca, port: server.addr.port };
}

const MESSAGE = { from: "scully@example.test", to: "mulder@example.test", text: "hi\n" };
const CREDENTIALS = { username: "mulder", password: "trustno1" };

Deno.test("sendMail() upgrades with STARTTLS when offered and fails on an unverifiable certificate", async () => {
  const { server, sessions, ca, port } = await labServer(true);
  await using _ = server;
  await sendMail(MESSAGE, { port, caCerts: [ca!], credentials: CREDENTIALS });
  assertEquals(sessions, [{ tls: true, user: "mulder" }]);
  // No CA for the test certificate: an error, and nothing sent in clear.
  await assertRejects(
    () => sendMail(MESSAGE, { port, credentials: CREDENTIALS }),
    Deno.errors.InvalidData,
    "certificate",
  );
  assertEquals(sessions.length, 1);
  // tls: false is the one way to stay in clear.
  await sendMail(MESSAGE, { port, tls: false });
  assertEquals(sessions[1], { tls: false, user: null });
});

Deno.test("sendMail() sends no password in clear to a host it cannot tell is loopback", async () => {
  const { server, sessions, port } = await labServer(false);
  await using _ = server;
  // "127.1" reaches 127.0.0.1, but the name is not a loopback name the client knows.
  const error = await assertRejects(
    () => sendMail(MESSAGE, { hostname: "127.1", port, credentials: CREDENTIALS }),
    MissingExtensionError,
    "without TLS",
  );
  assertEquals(error.extension, "SASL");
  assertEquals(sessions, []);
  await sendMail(MESSAGE, {
    hostname: "127.1",
    port,
    credentials: CREDENTIALS,
    allowInsecureAuth: true,
  });
  await sendMail(MESSAGE, { hostname: "127.0.0.1", port, credentials: CREDENTIALS });
  assertEquals(sessions, [{ tls: false, user: "mulder" }, { tls: false, user: "mulder" }]);
});
