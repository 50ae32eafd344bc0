/**
 * Pop3Server transcripts: every verb with its exact answers, the three
 * states, the maildrop lock, DELE committed only at QUIT, logins (USER/PASS,
 * APOP, SASL), STLS and its injection, the limits and timeouts.
 */
import { MemoryMailStore } from "../../mail/memory_mail_store.ts";
import {
  Pop3Server,
  type Pop3ServerLogEvent,
  type Pop3ServerOptions,
} from "../../mail/pop3_server.ts";
import { bytesToHex, hmacMd5, md5Digest } from "../../net/md5.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";
import { WireClient } from "./_smtp_server_wire.ts";

const USERS = { users: { mulder: "trustno1", "fröhlich": "pässwort" } };
const encoder = new TextEncoder();
const MESSAGES = [
  "Subject: one\r\nFrom: a@b.c\r\n\r\nfirst body\r\n.starts with a dot\r\nthird\r\n",
  "Subject: two\r\n\r\n..double\r\n",
  "Subject: three\r\n\r\nline 1\r\nline 2\r\nline 3\r\n",
];

interface Harness {
  server: Pop3Server;
  store: MemoryMailStore;
  logs: Pop3ServerLogEvent[];
  errors: unknown[];
  client: WireClient;
  greeting: string;
}

async function withPop3(
  options: Partial<Pop3ServerOptions>,
  fn: (h: Harness) => void | Promise<void>,
): Promise<void> {
  const store = new MemoryMailStore();
  for (const message of MESSAGES) await store.deliver("mulder", "INBOX", encoder.encode(message));
  const logs: Pop3ServerLogEvent[] = [];
  const errors: unknown[] = [];
  const server = new Pop3Server({
    store,
    users: USERS,
    authFailureDelay: 0,
    onLog: (event) => logs.push(event),
    onError: (error) => errors.push(error),
    ...options,
  });
  const client = await WireClient.connect(server.addr.port);
  try {
    const greeting = (await client.line())!;
    await fn({ server, store, logs, errors, client, greeting });
  } finally {
    client.close();
    await server.shutdown();
    await store.close();
  }
}

async function login(client: WireClient, user = "mulder", password = "trustno1"): Promise<string> {
  await client.send(`USER ${user}\r\nPASS ${password}\r\n`);
  assertEquals(await client.line(), "+OK\r\n");
  return (await client.line())!;
}

const SIZES = MESSAGES.map((m) => encoder.encode(m).length);
const TOTAL = SIZES.reduce((a, b) => a + b, 0);

// ---- greeting and CAPA ----

Deno.test("Pop3Server greets with an APOP timestamp when it has passwords", async () => {
  await withPop3({}, ({ greeting }) => {
    assertMatch(greeting, /^\+OK localhost POP3 ready <[0-9a-f]{16}\.\d+@localhost>\r\n$/);
  });
  await withPop3({ users: { authenticate: () => false } }, ({ greeting }) => {
    assertEquals(greeting, "+OK localhost POP3 ready\r\n");
  });
});

Deno.test("Pop3Server CAPA lists what works in each state", async () => {
  await withPop3({}, async ({ client }) => {
    await client.send("CAPA\r\n");
    assertEquals(
      await client.block(),
      "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n" +
        "PIPELINING\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5\r\nUTF8 USER\r\nIMPLEMENTATION inetkit\r\n.\r\n",
    );
    await login(client);
    await client.send("CAPA\r\n");
    assertEquals(
      await client.block(),
      "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n" +
        "PIPELINING\r\nIMPLEMENTATION inetkit\r\n.\r\n",
    );
  });
});

// ---- logins ----

Deno.test("Pop3Server USER/PASS opens the maildrop; failures are -ERR [AUTH]", async () => {
  await withPop3({ maxAuthFailures: 10 }, async ({ client, logs }) => {
    assertEquals(
      await client.send("PASS x\r\n").then(() => client.line()),
      "-ERR No user name given: send USER first\r\n",
    );
    assertEquals(
      await client.send("USER\r\n").then(() => client.line()),
      "-ERR Syntax: USER name\r\n",
    );
    await client.send("USER mulder\r\nPASS wrong\r\n");
    assertEquals(await client.line(), "+OK\r\n");
    assertEquals(await client.line(), "-ERR [AUTH] Authentication failed\r\n");
    // After a failure the client starts again with USER.
    assertEquals(
      await client.send("PASS trustno1\r\n").then(() => client.line()),
      "-ERR No user name given: send USER first\r\n",
    );
    assertEquals(await login(client), `+OK mulder's maildrop has 3 messages (${TOTAL} octets)\r\n`);
    assert(logs.some((e) => e.type === "login-failed" && e.user === "mulder"));
    assert(
      logs.some((e) => e.type === "login" && e.text.includes("login mulder (USER), 3 messages")),
    );
  });
});

Deno.test("Pop3Server APOP checks MD5 of the greeting timestamp and the password", async () => {
  await withPop3({}, async ({ client, greeting }) => {
    const timestamp = /<[^>]+>/.exec(greeting)![0];
    await client.send(`APOP mulder ${"0".repeat(32)}\r\n`);
    assertEquals(await client.line(), "-ERR [AUTH] Authentication failed\r\n");
    await client.send("APOP mulder\r\n");
    assertEquals(await client.line(), "-ERR Syntax: APOP name digest\r\n");
    await client.send(`APOP mulder ${bytesToHex(md5Digest(timestamp + "trustno1"))}\r\n`);
    assertEquals(await client.line(), `+OK mulder's maildrop has 3 messages (${TOTAL} octets)\r\n`);
  });
});

Deno.test("Pop3Server AUTH PLAIN, LOGIN and CRAM-MD5 (RFC 5034)", async () => {
  await withPop3({}, async ({ client }) => {
    await client.send("AUTH\r\n");
    assertEquals(
      await client.block(),
      "+OK Mechanisms follow\r\nPLAIN\r\nLOGIN\r\nCRAM-MD5\r\n.\r\n",
    );
    await client.send(`AUTH PLAIN ${btoa("\0mulder\0trustno1")}\r\n`);
    assertEquals(await client.line(), `+OK mulder's maildrop has 3 messages (${TOTAL} octets)\r\n`);
  });
  await withPop3({}, async ({ client }) => {
    await client.send("AUTH PLAIN\r\n");
    assertEquals(await client.line(), "+ \r\n");
    await client.send("*\r\n");
    assertEquals(await client.line(), "-ERR Authentication cancelled\r\n");
    await client.send("AUTH LOGIN\r\n");
    assertEquals(await client.line(), "+ VXNlcm5hbWU6\r\n");
    await client.send(`${btoa("mulder")}\r\n`);
    assertEquals(await client.line(), "+ UGFzc3dvcmQ6\r\n");
    await client.send(`${btoa("trustno1")}\r\n`);
    assertMatch((await client.line())!, /^\+OK mulder's maildrop has 3 messages/);
  });
  await withPop3({}, async ({ client }) => {
    await client.send("AUTH CRAM-MD5\r\n");
    const line = (await client.line())!;
    const challenge = atob(line.slice(2, -2));
    assertMatch(challenge, /^<[0-9a-f]+\.\d+@localhost>$/);
    await client.send(`${btoa(`mulder ${bytesToHex(hmacMd5("trustno1", challenge))}`)}\r\n`);
    assertMatch((await client.line())!, /^\+OK mulder's maildrop has 3 messages/);
  });
  await withPop3({}, async ({ client }) => {
    await client.send("AUTH GSSAPI\r\nAUTH PLAIN !!!\r\n");
    assertEquals(await client.line(), "-ERR Unsupported authentication mechanism\r\n");
    assertEquals(await client.line(), "-ERR Cannot decode the response\r\n");
  });
});

Deno.test("Pop3Server takes UTF-8 user names and passwords (RFC 6856)", async () => {
  await withPop3({}, async ({ client }) => {
    await client.send("UTF8\r\n");
    assertEquals(await client.line(), "+OK UTF8 enabled\r\n");
    assertEquals(
      await login(client, "fröhlich", "pässwort"),
      "+OK fröhlich's maildrop has 0 messages (0 octets)\r\n",
    );
  });
});

Deno.test("Pop3Server delays failed logins and closes after maxAuthFailures", async () => {
  await withPop3({ authFailureDelay: 150, maxAuthFailures: 2 }, async ({ client }) => {
    const started = Date.now();
    await client.send("USER mulder\r\nPASS a\r\n");
    await client.line();
    assertEquals(await client.line(), "-ERR [AUTH] Authentication failed\r\n");
    assert(Date.now() - started >= 140);
    await client.send("USER mulder\r\nPASS b\r\n");
    assertEquals(await client.rest(), "+OK\r\n-ERR [AUTH] Authentication failed\r\n");
  });
});

// ---- the maildrop ----

Deno.test("Pop3Server STAT, LIST and UIDL", async () => {
  await withPop3({}, async ({ client, store }) => {
    await login(client);
    const infos = await store.listMessages("mulder", "INBOX");
    assertEquals(await client.send("STAT\r\n").then(() => client.line()), `+OK 3 ${TOTAL}\r\n`);
    await client.send("LIST\r\n");
    assertEquals(
      await client.block(),
      `+OK 3 messages (${TOTAL} octets)\r\n1 ${SIZES[0]}\r\n2 ${SIZES[1]}\r\n3 ${
        SIZES[2]
      }\r\n.\r\n`,
    );
    assertEquals(
      await client.send("LIST 2\r\n").then(() => client.line()),
      `+OK 2 ${SIZES[1]}\r\n`,
    );
    assertEquals(
      await client.send("LIST 4\r\n").then(() => client.line()),
      "-ERR No such message\r\n",
    );
    assertEquals(
      await client.send("LIST 0\r\n").then(() => client.line()),
      "-ERR No such message\r\n",
    );
    assertEquals(
      await client.send("LIST x\r\n").then(() => client.line()),
      "-ERR Syntax: LIST [msg]\r\n",
    );
    await client.send("UIDL\r\n");
    assertEquals(
      await client.block(),
      `+OK Unique-id listing follows\r\n${
        infos.map((m, i) => `${i + 1} ${m.uniqueId}\r\n`).join("")
      }.\r\n`,
    );
    assertEquals(
      await client.send("UIDL 3\r\n").then(() => client.line()),
      `+OK 3 ${infos[2]!.uniqueId}\r\n`,
    );
    assertMatch(infos[0]!.uniqueId, /^[0-9A-F]{16}$/);
  });
});

Deno.test("Pop3Server RETR streams the message dot-stuffed; TOP sends the header and n lines", async () => {
  await withPop3({}, async ({ client }) => {
    await login(client);
    await client.send("RETR 1\r\n");
    assertEquals(
      await client.block(),
      `+OK ${SIZES[0]} octets\r\nSubject: one\r\nFrom: a@b.c\r\n\r\nfirst body\r\n` +
        "..starts with a dot\r\nthird\r\n.\r\n",
    );
    await client.send("RETR 2\r\n");
    assertEquals(
      await client.block(),
      `+OK ${SIZES[1]} octets\r\nSubject: two\r\n\r\n...double\r\n.\r\n`,
    );
    await client.send("TOP 3 0\r\n");
    assertEquals(await client.block(), "+OK Top of message follows\r\nSubject: three\r\n\r\n.\r\n");
    await client.send("TOP 3 2\r\n");
    assertEquals(
      await client.block(),
      "+OK Top of message follows\r\nSubject: three\r\n\r\nline 1\r\nline 2\r\n.\r\n",
    );
    await client.send("TOP 3 99\r\n");
    assertEquals(
      await client.block(),
      "+OK Top of message follows\r\nSubject: three\r\n\r\nline 1\r\nline 2\r\nline 3\r\n.\r\n",
    );
    assertEquals(
      await client.send("TOP 3\r\n").then(() => client.line()),
      "-ERR Syntax: TOP msg lines\r\n",
    );
    assertEquals(
      await client.send("RETR 9\r\n").then(() => client.line()),
      "-ERR No such message\r\n",
    );
    assertEquals(
      await client.send("RETR\r\n").then(() => client.line()),
      "-ERR Syntax: RETR msg\r\n",
    );
  });
});

Deno.test("Pop3Server RETR streams a large message intact", async () => {
  await withPop3({}, async ({ client, store }) => {
    const line = ".a line that starts with a dot and is stuffed on the wire\r\n";
    const big = "Subject: big\r\n\r\n" + line.repeat(40000);
    await store.deliver("mulder", "INBOX", encoder.encode(big));
    await login(client);
    await client.send("RETR 4\r\n");
    const block = await client.block();
    const head = `+OK ${encoder.encode(big).length} octets\r\n`;
    assert(block.startsWith(head));
    const wire = block.slice(head.length, -3);
    assertEquals(wire.replaceAll("\r\n..", "\r\n."), big);
  });
});

Deno.test("Pop3Server DELE marks, RSET unmarks, QUIT removes (the UPDATE state)", async () => {
  await withPop3({}, async ({ client, store, logs }) => {
    await login(client);
    assertEquals(
      await client.send("DELE 1\r\n").then(() => client.line()),
      "+OK Message 1 deleted\r\n",
    );
    assertEquals(
      await client.send("DELE 1\r\n").then(() => client.line()),
      "-ERR No such message\r\n",
    );
    assertEquals(
      await client.send("RETR 1\r\n").then(() => client.line()),
      "-ERR No such message\r\n",
    );
    assertEquals(
      await client.send("STAT\r\n").then(() => client.line()),
      `+OK 2 ${SIZES[1]! + SIZES[2]!}\r\n`,
    );
    await client.send("LIST\r\n");
    assertEquals(
      await client.block(),
      `+OK 2 messages (${SIZES[1]! + SIZES[2]!} octets)\r\n2 ${SIZES[1]}\r\n3 ${SIZES[2]}\r\n.\r\n`,
    );
    assertEquals(
      await client.send("RSET\r\n").then(() => client.line()),
      `+OK Maildrop has 3 messages (${TOTAL} octets)\r\n`,
    );
    await client.send("DELE 2\r\nDELE 3\r\nNOOP\r\nQUIT\r\n");
    assertEquals(
      await client.rest(),
      "+OK Message 2 deleted\r\n+OK Message 3 deleted\r\n+OK\r\n" +
        "+OK localhost POP3 server signing off (2 messages deleted)\r\n",
    );
    const left = await store.listMessages("mulder", "INBOX");
    assertEquals(left.map((m) => m.uid), [1]);
    assertEquals(logs.find((e) => e.type === "update")?.expunged, [2, 3]);
  });
});

Deno.test("Pop3Server deletes nothing when the session ends without QUIT", async () => {
  await withPop3({}, async ({ server, store }) => {
    for (const ending of ["close", "reset"]) {
      const client = await WireClient.connect(server.addr.port);
      await client.line();
      await login(client);
      await client.send("DELE 1\r\nDELE 2\r\n");
      await client.line();
      await client.line();
      if (ending === "reset") await client.send("RETR 3\r\n");
      client.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assertEquals((await store.listMessages("mulder", "INBOX")).length, 3, ending);
    }
  });
});

Deno.test("Pop3Server idle timeout closes without entering UPDATE", async () => {
  await withPop3({ idleTimeout: 300 }, async ({ client, store }) => {
    await login(client);
    assertEquals(
      await client.send("DELE 1\r\n").then(() => client.line()),
      "+OK Message 1 deleted\r\n",
    );
    assertEquals(await client.rest(), "-ERR Autologout: idle for too long\r\n");
    assertEquals((await store.listMessages("mulder", "INBOX")).length, 3);
  });
});

Deno.test("Pop3Server locks the maildrop: a second session gets -ERR [IN-USE]", async () => {
  await withPop3({}, async ({ server, client, logs }) => {
    await login(client);
    const second = await WireClient.connect(server.addr.port);
    try {
      await second.line();
      await second.send("USER mulder\r\nPASS trustno1\r\n");
      assertEquals(await second.line(), "+OK\r\n");
      assertEquals(await second.line(), "-ERR [IN-USE] Maildrop is locked by another session\r\n");
      assert(logs.some((e) => e.type === "refused" && e.text.includes("maildrop in use")));
      await client.send("QUIT\r\n");
      await client.rest();
      // Free again after the first session ended.
      assertMatch(await login(second), /^\+OK mulder's maildrop has 3 messages/);
    } finally {
      second.close();
    }
  });
});

Deno.test("Pop3Server numbers messages from the snapshot taken at login", async () => {
  await withPop3({}, async ({ client, store }) => {
    await login(client);
    await store.deliver("mulder", "INBOX", encoder.encode("Subject: late\r\n\r\nx\r\n"));
    assertEquals(await client.send("STAT\r\n").then(() => client.line()), `+OK 3 ${TOTAL}\r\n`);
    await store.expunge("mulder", "INBOX", [2]);
    assertEquals(
      await client.send("RETR 2\r\n").then(() => client.line()),
      "-ERR Message was removed by another session\r\n",
    );
  });
});

// ---- state, syntax, limits ----

Deno.test("Pop3Server refuses commands in the wrong state and unknown ones", async () => {
  await withPop3({}, async ({ client }) => {
    await client.send("STAT\r\nNOOP\r\nXTND\r\nSTLS\r\n");
    assertEquals(await client.line(), "-ERR Command not valid in this state: log in first\r\n");
    assertEquals(await client.line(), "-ERR Command not valid in this state: log in first\r\n");
    assertEquals(await client.line(), "-ERR Unknown command\r\n");
    assertEquals(await client.line(), "-ERR Unknown command\r\n");
    await login(client);
    await client.send("USER x\r\nAUTH PLAIN\r\nUTF8\r\nFOO\r\nnoop\r\n");
    for (let i = 0; i < 3; i++) {
      assertEquals(
        await client.line(),
        "-ERR Command not valid in this state: logged in already\r\n",
      );
    }
    assertEquals(await client.line(), "-ERR Unknown command\r\n");
    assertEquals(await client.line(), "+OK\r\n");
  });
});

Deno.test("Pop3Server answers -ERR to an over-long line and to control characters", async () => {
  await withPop3({}, async ({ client }) => {
    await client.send(`USER ${"x".repeat(5000)}\r\nNOOP\0\r\nUSER ${"y".repeat(1017)}\r\n`);
    assertEquals(await client.line(), "-ERR Line too long\r\n");
    assertEquals(await client.line(), "-ERR Control characters in command\r\n");
    assertEquals(await client.line(), "+OK\r\n");
    await client.send(`USER ${"z".repeat(30000)}\r\nCAPA\r\n`);
    assertEquals(await client.line(), "-ERR Line too long\r\n");
    assertEquals(await client.line(), "+OK Capability list follows\r\n");
  });
});

Deno.test("Pop3Server closes after maxErrors", async () => {
  await withPop3({ maxErrors: 2 }, async ({ client }) => {
    await client.send("FOO\r\nBAR\r\nNOOP\r\n");
    assertEquals(
      await client.rest(),
      "-ERR Unknown command\r\n-ERR Unknown command\r\n-ERR Too many errors, closing connection\r\n",
    );
  });
});

Deno.test("Pop3Server answers pipelined commands (RFC 2449) with one write", async () => {
  await withPop3({}, async ({ client }) => {
    await client.send("USER mulder\r\nPASS trustno1\r\nSTAT\r\nLIST 1\r\nNOOP\r\n");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const buffer = new Uint8Array(4096);
    const n = await client.conn.read(buffer);
    assertEquals(
      new TextDecoder().decode(buffer.subarray(0, n!)),
      `+OK\r\n+OK mulder's maildrop has 3 messages (${TOTAL} octets)\r\n+OK 3 ${TOTAL}\r\n` +
        `+OK 1 ${SIZES[0]}\r\n+OK\r\n`,
    );
  });
});

Deno.test("Pop3Server QUIT in AUTHORIZATION signs off", async () => {
  await withPop3({}, async ({ client }) => {
    await client.send("QUIT\r\n");
    assertEquals(await client.rest(), "+OK localhost POP3 server signing off\r\n");
  });
});

// ---- TLS ----

Deno.test("Pop3Server with TLS takes passwords only after STLS", async () => {
  const { cert, key, ca } = await testCert();
  await withPop3({ cert, key }, async ({ client, logs }) => {
    await client.send("CAPA\r\n");
    assertEquals(
      await client.block(),
      "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n" +
        "PIPELINING\r\nSASL CRAM-MD5\r\nSTLS\r\nUTF8 USER\r\nIMPLEMENTATION inetkit\r\n.\r\n",
    );
    await client.send(`USER mulder\r\nAUTH PLAIN ${btoa("\0mulder\0trustno1")}\r\n`);
    assertEquals(
      await client.line(),
      "-ERR [AUTH] Plaintext authentication needs TLS: use STLS first\r\n",
    );
    assertEquals(
      await client.line(),
      "-ERR [AUTH] Plaintext authentication needs TLS: use STLS first\r\n",
    );
    assertEquals(
      await client.send("STLS\r\n").then(() => client.line()),
      "+OK Begin TLS negotiation\r\n",
    );
    await client.startTls(ca);
    await client.send("CAPA\r\n");
    assertEquals(
      await client.block(),
      "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n" +
        "PIPELINING\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5\r\nUTF8 USER\r\nIMPLEMENTATION inetkit\r\n.\r\n",
    );
    assertEquals(
      await client.send("STLS\r\n").then(() => client.line()),
      "-ERR Command not permitted when TLS is active\r\n",
    );
    assertMatch(await login(client), /^\+OK mulder's maildrop has 3 messages/);
    await client.send("RETR 2\r\n");
    assertEquals(
      await client.block(),
      `+OK ${SIZES[1]} octets\r\nSubject: two\r\n\r\n...double\r\n.\r\n`,
    );
    assert(logs.some((e) => e.type === "tls"));
  });
});

Deno.test("Pop3Server refuses commands pipelined after STLS and closes", async () => {
  const { cert, key } = await testCert();
  await withPop3({ cert, key }, async ({ client }) => {
    await client.send("STLS\r\nUSER mulder\r\nPASS trustno1\r\n");
    assertEquals(await client.rest(), "-ERR Pipelined commands after STLS\r\n");
  });
});

Deno.test("Pop3Server with implicit TLS (POP3S)", async () => {
  const { cert, key, ca } = await testCert();
  await using store = new MemoryMailStore();
  await using server = new Pop3Server({ store, users: USERS, cert, key, implicitTls: true });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const conn = await Deno.startTls(tcp, { hostname: "inetkit.test", caCerts: [ca] });
  await using client = new WireClient(conn);
  assertMatch((await client.line())!, /^\+OK localhost POP3 ready </);
  assertEquals(await login(client), "+OK mulder's maildrop has 0 messages (0 octets)\r\n");
});

// ---- server life ----

Deno.test("Pop3Server.shutdown() tells idle sessions and deletes nothing", async () => {
  const store = new MemoryMailStore();
  await store.deliver("mulder", "INBOX", encoder.encode("Subject: x\r\n\r\nx\r\n"));
  const server = new Pop3Server({ store, users: USERS });
  const client = await WireClient.connect(server.addr.port);
  await client.line();
  await login(client);
  await client.send("DELE 1\r\n");
  await client.line();
  const stopping = server.shutdown({ timeout: 2000 });
  assertEquals(await client.rest(), "-ERR [SYS/TEMP] Server shutting down\r\n");
  await stopping;
  client.close();
  assertEquals((await store.listMessages("mulder", "INBOX")).length, 1);
  await store.close();
});

Deno.test("Pop3Server answers -ERR [SYS/TEMP] at maxConnections", async () => {
  await withPop3({ maxConnections: 1 }, async ({ server }) => {
    await using second = await WireClient.connect(server.addr.port);
    assertEquals(await second.rest(), "-ERR [SYS/TEMP] Too many connections\r\n");
  });
});

Deno.test("Pop3Server checks its options", () => {
  const store = new MemoryMailStore();
  assertThrows(
    () => new Pop3Server({ store } as unknown as Pop3ServerOptions),
    TypeError,
    "required",
  );
  assertThrows(() => new Pop3Server({ store, users: USERS, key: "k" }), TypeError, "go together");
  assertThrows(
    () => new Pop3Server({ store, users: USERS, implicitTls: true }),
    TypeError,
    "implicitTls",
  );
  assertThrows(
    () => new Pop3Server({ store, users: USERS, serverName: "a<b" }),
    TypeError,
    "serverName",
  );
  assertThrows(() => new Pop3Server({ store, users: USERS, maxErrors: 0 }), RangeError);
  assertThrows(() => new Pop3Server({ store, users: USERS, maxCommandLength: 8 }), RangeError);
});
