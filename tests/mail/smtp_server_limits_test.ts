/**
 * SmtpServer against the mail classes of RELIABILITY.md: SMTP smuggling
 * through DATA, line, size and recipient caps, pipelining (batched replies,
 * a flood from a client that does not read), the STARTTLS injection,
 * command injection, error and connection caps, the idle timeout.
 */
import { MemoryMailStore } from "../../mail/memory_mail_store.ts";
import type { MailStore } from "../../mail/mail_store.ts";
import { SmtpServer, type SmtpServerOptions } from "../../mail/smtp_server.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";
import { WireClient } from "./_smtp_server_wire.ts";

const QUEUED_REGEXP = /^250 2\.0\.0 Ok: queued as [0-9A-F]{12}\r\n$/;
const BEGIN = "EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nDATA\r\n";

async function withSmtp(
  options: Partial<SmtpServerOptions>,
  fn: (client: WireClient, store: MemoryMailStore, server: SmtpServer) => Promise<void>,
): Promise<void> {
  const store = new MemoryMailStore();
  const server = new SmtpServer({
    store,
    catchAll: "mulder",
    received: false,
    authFailureDelay: 0,
    ...options,
  } as SmtpServerOptions);
  const client = await WireClient.connect(server.addr.port);
  try {
    assertMatch((await client.reply())!, /^220 /);
    await fn(client, store, server);
  } finally {
    client.close();
    await server.shutdown();
    await store.close();
  }
}

async function texts(store: MailStore): Promise<string[]> {
  const out: string[] = [];
  for (const info of await store.listMessages("mulder", "INBOX")) {
    out.push(await new Response(await store.readMessage("mulder", "INBOX", info.uid)).text());
  }
  return out;
}

/** Starts a transaction and reads the replies up to the 354. */
async function begin(client: WireClient): Promise<void> {
  await client.send(BEGIN);
  const replies = await client.replies(4);
  assert(replies.endsWith("354 End data with <CR><LF>.<CR><LF>\r\n"), replies);
}

// ---- SMTP smuggling ----

const SMUGGLED = "MAIL FROM:<admin@bank.test>\r\nRCPT TO:<victim@b.c>\r\nDATA\r\n" +
  "From: admin@bank.test\r\nSubject: smuggled\r\n\r\nsend money\r\n";

/** The end-of-data lookalikes from the 2023 SMTP smuggling research and kin. */
const FAKE_ENDS: [string, string][] = [
  ["\\n.\\n", "\n.\n"],
  ["\\n.\\r\\n", "\n.\r\n"],
  ["\\r.\\r", "\r.\r"],
  ["\\r.\\r\\n", "\r.\r\n"],
  ["\\r\\n.\\n", "\r\n.\n"],
  ["\\r\\n.\\r", "\r\n.\r"],
  ["\\n.\\r", "\n.\r"],
  ["\\r\\n\\x00.\\r\\n", "\r\n\0.\r\n"],
  ["\\r\\n .\\r\\n", "\r\n .\r\n"],
];

for (const [name, fake] of FAKE_ENDS) {
  Deno.test(`SmtpServer DATA is not ended by ${name} and lets no second message through`, async () => {
    await withSmtp({}, async (client, store) => {
      await begin(client);
      await client.send(`Subject: first\r\n\r\nhello${fake}${SMUGGLED}.\r\n`);
      assertMatch((await client.reply())!, QUEUED_REGEXP);
      // Exactly one reply came for all of that: the next one answers NOOP.
      assertEquals(await client.command("NOOP"), "250 2.0.0 Ok\r\n");
      const stored = await texts(store);
      assertEquals(stored.length, 1);
      assert(stored[0]!.startsWith("Subject: first\r\n\r\nhello"));
      assertStringIncludes(stored[0]!, "send money");
    });
  });
}

Deno.test("SmtpServer DATA ends at CR LF . CR LF however the bytes are split on the wire", async () => {
  await withSmtp({}, async (client, store) => {
    await begin(client);
    const data = `Subject: split\r\n\r\na\n.\nb\r\n..c\r\n.\r\nNOOP\r\n`;
    for (const byte of new TextEncoder().encode(data)) {
      await client.send(new Uint8Array([byte]));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assertMatch((await client.reply())!, QUEUED_REGEXP);
    assertEquals(await client.reply(), "250 2.0.0 Ok\r\n");
    assertEquals(await texts(store), ["Subject: split\r\n\r\na\r\n.\r\nb\r\n.c\r\n"]);
  });
});

Deno.test("SmtpServer DATA that starts with the dot line is an empty message", async () => {
  await withSmtp({}, async (client, store) => {
    await begin(client);
    await client.send(".\r\n");
    assertMatch((await client.reply())!, QUEUED_REGEXP);
    assertEquals(await texts(store), [""]);
  });
});

// ---- line and size caps ----

Deno.test("SmtpServer takes a 512-octet command line and answers 500 5.5.2 to a longer one", async () => {
  await withSmtp({}, async (client) => {
    const noop = (length: number) => `NOOP ${"x".repeat(length - 7)}`;
    assertEquals(await client.command(noop(512)), "250 2.0.0 Ok\r\n");
    assertEquals(await client.command(noop(513)), "500 5.5.2 Line too long\r\n");
    // Far past every buffer: skipped to its end, the session goes on.
    assertEquals(await client.command(noop(200000)), "500 5.5.2 Line too long\r\n");
    assertEquals(await client.command("NOOP"), "250 2.0.0 Ok\r\n");
  });
});

Deno.test("SmtpServer allows AUTH lines up to 12288 octets (RFC 4954 §4)", async () => {
  await withSmtp({ users: { users: { mulder: "trustno1" } } }, async (client) => {
    await client.command("EHLO c");
    const long = btoa(`\0mulder\0${"p".repeat(3000)}`);
    assertEquals(
      await client.command(`AUTH PLAIN ${long}`),
      "535 5.7.8 Error: authentication failed\r\n",
    );
    assertEquals(
      await client.command(`AUTH PLAIN ${"A".repeat(12300)}`),
      "500 5.5.2 Line too long\r\n",
    );
  });
});

Deno.test("SmtpServer refuses a message with a text line over 1000 octets after its end, storing nothing", async () => {
  await withSmtp({}, async (client, store) => {
    await begin(client);
    await client.send(`Subject: ok\r\n\r\n${"y".repeat(998)}\r\n.\r\n`);
    assertMatch((await client.reply())!, QUEUED_REGEXP);
    await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nDATA\r\n");
    await client.replies(3);
    // The long line hides what looks like a command: it must stay content.
    await client.send(`Subject: long\r\n\r\n${"z".repeat(999)}\r\nQUIT\r\n.\r\n`);
    assertEquals(await client.reply(), "500 5.5.2 Line too long\r\n");
    assertEquals(await client.command("NOOP"), "250 2.0.0 Ok\r\n");
    assertEquals((await texts(store)).length, 1);
  });
});

Deno.test("SmtpServer refuses a DATA message over maxMessageSize with 552 5.3.4 after its end", async () => {
  await withSmtp({ maxMessageSize: 1000 }, async (client, store) => {
    assertStringIncludes((await client.command("EHLO c"))!, "250-SIZE 1000\r\n");
    await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nDATA\r\n");
    await client.replies(3);
    await client.send(`${"x".repeat(100)}\r\n`.repeat(20) + "RSET\r\n.\r\n");
    assertEquals(
      await client.reply(),
      "552 5.3.4 Message size exceeds fixed maximum message size\r\n",
    );
    // The transaction is over.
    assertEquals(await client.command("DATA"), "503 5.5.1 Error: need MAIL command\r\n");
    assertEquals(await texts(store), []);
  });
});

Deno.test("SmtpServer refuses a BDAT chunk past maxMessageSize and discards it", async () => {
  await withSmtp({ maxMessageSize: 100 }, async (client, store) => {
    await client.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nBDAT 60\r\n");
    await client.send("a".repeat(60));
    await client.replies(4);
    const hidden = "NOOP\r\n".repeat(10);
    await client.send(`BDAT 60 LAST\r\n${hidden}${"b".repeat(60 - hidden.length)}QUIT\r\n`);
    assertEquals(
      await client.replies(2),
      "552 5.3.4 Message size exceeds fixed maximum message size\r\n221 2.0.0 Bye\r\n",
    );
    assertEquals(await texts(store), []);
  });
});

Deno.test("SmtpServer closes on a BDAT size it will not even discard", async () => {
  await withSmtp({ maxMessageSize: 100 }, async (client) => {
    await client.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\n");
    await client.replies(3);
    await client.send("BDAT 999999999999 LAST\r\n");
    assertEquals(
      await client.rest(),
      "552 5.3.4 Message size exceeds fixed maximum message size\r\n",
    );
  });
});

Deno.test("SmtpServer answers 452 4.5.3 past maxRecipients", async () => {
  await withSmtp({ maxRecipients: 3 }, async (client) => {
    await client.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
    await client.replies(2);
    for (let i = 0; i < 3; i++) {
      assertEquals(await client.command(`RCPT TO:<r${i}@b.c>`), "250 2.1.5 Ok\r\n");
    }
    assertEquals(await client.command("RCPT TO:<r3@b.c>"), "452 4.5.3 Too many recipients\r\n");
    await client.send("DATA\r\n");
    await client.reply();
    await client.send("x\r\n.\r\n");
    assertMatch((await client.reply())!, QUEUED_REGEXP);
  });
});

// ---- pipelining ----

Deno.test("SmtpServer writes the replies to a pipelined group together", async () => {
  await withSmtp({}, async (client) => {
    await client.command("EHLO c");
    await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nRCPT TO:<n@b.c>\r\nDATA\r\n");
    await new Promise((resolve) => setTimeout(resolve, 100));
    // One read gets all four: they were written at once.
    const buffer = new Uint8Array(4096);
    const n = await client.conn.read(buffer);
    assertEquals(
      new TextDecoder().decode(buffer.subarray(0, n!)),
      "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
    );
  });
});

Deno.test("SmtpServer handles many pipelined transactions in one write, content included", async () => {
  await withSmtp({}, async (client, store) => {
    let all = "EHLO c\r\n";
    for (let i = 0; i < 50; i++) {
      all +=
        `MAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nDATA\r\nSubject: ${i}\r\n\r\nbody ${i}\r\n.\r\n`;
    }
    await client.send(all + "QUIT\r\n");
    const replies = (await client.rest()).split("\r\n").filter((l) => l !== "");
    assertEquals(replies.filter((l) => /^250 2\.0\.0 Ok: queued as /.test(l)).length, 50);
    assertEquals(replies[replies.length - 1], "221 2.0.0 Bye");
    const stored = await texts(store);
    assertEquals(stored.length, 50);
    assertEquals(stored[49], "Subject: 49\r\n\r\nbody 49\r\n");
  });
});

Deno.test("SmtpServer survives a pipelining flood from a client that does not read", async () => {
  await withSmtp({ maxErrors: 1 << 30 }, async (client) => {
    const count = 200000;
    // About 1.2 MB of commands and 2.8 MB of replies: more than the socket buffers hold.
    const writing = client.send("NOOP\r\n".repeat(count));
    await new Promise((resolve) => setTimeout(resolve, 300));
    let replies = 0;
    while (replies < count) {
      const chunk = await client.reader.readAvailable();
      if (chunk === null) break;
      for (const b of chunk) if (b === 10) replies++;
    }
    await writing;
    assertEquals(replies, count);
    assertEquals(await client.command("QUIT"), "221 2.0.0 Bye\r\n");
  });
});

// ---- STARTTLS injection ----

Deno.test("SmtpServer refuses commands pipelined after STARTTLS (CVE-2011-0411) and closes", async () => {
  const { cert, key } = await testCert();
  await withSmtp({ cert, key, users: { users: { mulder: "trustno1" } } }, async (client, store) => {
    await client.command("EHLO c");
    await client.send(
      "STARTTLS\r\nMAIL FROM:<evil@x.y>\r\nRCPT TO:<m@b.c>\r\nDATA\r\nSubject: injected\r\n\r\nx\r\n.\r\n",
    );
    assertEquals(await client.rest(), "554 5.5.1 Error: pipelined commands after STARTTLS\r\n");
    assertEquals(await texts(store), []);
  });
});

Deno.test("SmtpServer ends a STARTTLS whose handshake gets plaintext commands instead", async () => {
  const { cert, key } = await testCert();
  await withSmtp({ cert, key }, async (client, store) => {
    await client.command("EHLO c");
    assertEquals(await client.command("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n");
    await client.send("MAIL FROM:<evil@x.y>\r\nRCPT TO:<m@b.c>\r\nDATA\r\n");
    assert(await client.closedWithin(3000), "the server kept the connection");
    assertEquals(await texts(store), []);
  });
});

// ---- errors, caps, time ----

Deno.test("SmtpServer closes with 421 after maxErrors bad commands", async () => {
  await withSmtp({ maxErrors: 3 }, async (client) => {
    await client.send("BOGUS\r\nBOGUS\r\nBOGUS\r\nNOOP\r\n");
    assertEquals(
      await client.rest(),
      "500 5.5.2 Error: command not recognized\r\n".repeat(3) +
        "421 4.7.0 localhost Error: too many errors\r\n",
    );
  });
});

Deno.test("SmtpServer answers 421 4.4.2 on idle timeout and closes", async () => {
  await withSmtp({ idleTimeout: 300 }, async (client) => {
    assertEquals(await client.command("EHLO c") !== null, true);
    const started = Date.now();
    assertEquals(await client.rest(), "421 4.4.2 localhost Error: timeout exceeded\r\n");
    const waited = Date.now() - started;
    assert(waited >= 250 && waited < 3000, `closed after ${waited} ms`);
  });
});

Deno.test("SmtpServer idle timeout also ends a client that stalls inside DATA", async () => {
  await withSmtp({ idleTimeout: 300 }, async (client, store) => {
    await begin(client);
    await client.send("Subject: stalled\r\n\r\nhalf");
    assertEquals(await client.rest(), "421 4.4.2 localhost Error: timeout exceeded\r\n");
    assertEquals(await texts(store), []);
  });
});

Deno.test("SmtpServer answers 421 4.7.0 at maxConnections and per address", async () => {
  await withSmtp({ maxConnections: 1 }, async (_client, _store, server) => {
    await using second = await WireClient.connect(server.addr.port);
    assertEquals(await second.rest(), "421 4.7.0 localhost Error: too many connections\r\n");
  });
  await withSmtp({ maxConnectionsPerAddress: 1 }, async (_client, _store, server) => {
    await using second = await WireClient.connect(server.addr.port);
    assertEquals(await second.rest(), "421 4.7.0 localhost Error: too many connections\r\n");
  });
});

Deno.test("SmtpServer never reflects CR or LF from an argument into a reply", async () => {
  await withSmtp({ maxErrors: 100 }, async (client) => {
    await client.command("EHLO c");
    // A parameter with a bare CR never reaches a reply: the line is refused first.
    assertEquals(
      await client.command("MAIL FROM:<a@b.c> X=\r250 fake"),
      "500 5.5.2 Error: control characters in command\r\n",
    );
    const reply = (await client.command(`MAIL FROM:<a@b.c> ${"X".repeat(300)}=1`))!;
    assertEquals(reply, `555 5.5.4 Unsupported parameter ${"X".repeat(300)}\r\n`);
  });
});
