/**
 * ImapServer with TLS: STARTTLS (RFC 3501 §6.2.1) with LOGINDISABLED
 * before it, the pipelined-STARTTLS injection refused, and implicit TLS.
 * Clients verify the test certificate against its CA under a name the
 * test task's certificate-error exemption does not cover.
 */
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { testCert, VERIFIED_NAME } from "../_helpers/tls.ts";
import { RawImap, startImapServer } from "./_imap_server_helpers.ts";

const CLEAR =
  "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS LOGINDISABLED NAMESPACE UIDPLUS " +
  "MOVE UNSELECT CHILDREN SPECIAL-USE UTF8=ACCEPT";
const SECURE = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 " +
  "NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE UTF8=ACCEPT";

Deno.test("ImapServer with a certificate offers STARTTLS and refuses logins in clear", async () => {
  const { cert, key } = await testCert();
  await using t = startImapServer({ cert, key });
  const { client, greeting } = await RawImap.connect(t.port);
  await using _ = client;
  assertEquals(greeting, `* OK [CAPABILITY ${CLEAR}] localhost IMAP4rev1 ready\r\n`);
  assertEquals(
    await client.command("a1", "LOGIN mulder trustno1"),
    "a1 NO [PRIVACYREQUIRED] LOGIN is not allowed before STARTTLS\r\n",
  );
  assertEquals(
    await client.command("a2", `AUTHENTICATE PLAIN ${btoa("\0mulder\0trustno1")}`),
    "a2 NO [PRIVACYREQUIRED] Authentication is not allowed before STARTTLS\r\n",
  );
  assertEquals(await client.command("a3", "SELECT INBOX"), "a3 BAD Not authenticated\r\n");
});

Deno.test("ImapServer STARTTLS upgrades to a certificate the client verifies, then accepts LOGIN", async () => {
  const { cert, key, ca } = await testCert();
  await using t = startImapServer({ cert, key });
  const { client } = await RawImap.connect(t.port);
  assertEquals(await client.command("a1", "STARTTLS"), "a1 OK Begin TLS negotiation now\r\n");
  const tls = await Deno.startTls(client.conn as Deno.TcpConn, {
    hostname: VERIFIED_NAME,
    caCerts: [ca],
  });
  await using secure = new RawImap(tls);
  assertEquals(
    await secure.command("a2", "CAPABILITY"),
    `* CAPABILITY ${SECURE}\r\na2 OK CAPABILITY completed\r\n`,
  );
  assertEquals(await secure.command("a3", "STARTTLS"), "a3 BAD STARTTLS is not available\r\n");
  assertMatch(
    await secure.command("a4", "LOGIN mulder trustno1"),
    /^a4 OK \[CAPABILITY .*\] Logged in\r\n$/,
  );
  assertEquals(
    await secure.command("a5", "LOGOUT"),
    "* BYE Logging out\r\na5 OK LOGOUT completed\r\n",
  );
});

Deno.test("ImapServer STARTTLS refuses commands pipelined after it (the injection attack)", async () => {
  const { cert, key } = await testCert();
  const lines: string[] = [];
  await using t = startImapServer({ cert, key, onLog: (l) => void lines.push(l) });
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.send("a1 STARTTLS\r\na2 LOGIN mulder trustno1\r\n");
  assertEquals(
    await client.rest(),
    "* BYE Data after STARTTLS refused\r\na1 BAD STARTTLS must be the last command before the handshake\r\n",
  );
  assert(lines.some((l) => l.endsWith("starttls injection refused")), lines.join("\n"));
});

Deno.test("ImapServer without a certificate answers STARTTLS with BAD and allows logins in clear", async () => {
  await using t = startImapServer();
  const { client, greeting } = await RawImap.connect(t.port);
  await using _ = client;
  assert(!greeting.includes("STARTTLS") && !greeting.includes("LOGINDISABLED"), greeting);
  assertEquals(await client.command("a1", "STARTTLS"), "a1 BAD STARTTLS is not available\r\n");
  await client.login();
});

Deno.test("ImapServer with implicitTls speaks TLS from the first byte", async () => {
  const { cert, key, ca } = await testCert();
  await using t = startImapServer({ cert, key, implicitTls: true });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
  const conn = await Deno.startTls(tcp, { hostname: VERIFIED_NAME, caCerts: [ca] });
  await using client = new RawImap(conn);
  assertEquals(await client.line(), `* OK [CAPABILITY ${SECURE}] localhost IMAP4rev1 ready\r\n`);
  await client.login();
  assertEquals(await client.command("a1", "STARTTLS"), "a1 BAD Already authenticated\r\n");
});

Deno.test("ImapServer with allowInsecureAuth accepts logins in clear next to STARTTLS", async () => {
  const { cert, key } = await testCert();
  await using t = startImapServer({ cert, key, allowInsecureAuth: true });
  const { client, greeting } = await RawImap.connect(t.port);
  await using _ = client;
  assertEquals(
    greeting,
    "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS AUTH=PLAIN AUTH=LOGIN " +
      "AUTH=CRAM-MD5 NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE UTF8=ACCEPT] localhost " +
      "IMAP4rev1 ready\r\n",
  );
  await client.login();
});
