/**
 * ImapServer against the RELIABILITY.md IMAP classes: literal bombs,
 * `{n}` inside quoted strings, huge lines, floods of invalid input,
 * connections dropped mid-literal, connection caps.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { loggedIn, RawImap, startImapServer } from "./_imap_server_helpers.ts";

Deno.test("ImapServer refuses a literal bomb before login with NO [TOOBIG] and no continuation", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.send("a1 LOGIN mulder {99999999999}\r\n");
  assertEquals(await client.tagged("a1"), "a1 NO [TOOBIG] Literal too large before login\r\n");
  await client.send("a2 LOGIN {8193}\r\n");
  assertEquals(await client.tagged("a2"), "a2 NO [TOOBIG] Literal too large before login\r\n");
  await client.send("a3 LOGIN mulder {99999999999999999999999}\r\n");
  assertEquals(await client.tagged("a3"), "a3 NO [TOOBIG] Literal too large\r\n");
  assertEquals(await client.command("a4", "NOOP"), "a4 OK NOOP completed\r\n");
});

Deno.test("ImapServer refuses a literal over maxLiteralSize after login before reading it", async () => {
  await using t = startImapServer({ maxLiteralSize: 1024 });
  await using client = await loggedIn(t.port, "INBOX");
  await client.send("a1 SEARCH BODY {1025}\r\n");
  assertEquals(await client.tagged("a1"), "a1 NO [TOOBIG] Literal too large\r\n");
  await client.send("a2 SEARCH BODY {4}\r\n");
  assertEquals(await client.line(), "+ Ready for literal data\r\n");
  await client.send("text\r\n");
  assertEquals(await client.tagged("a2"), "* SEARCH\r\na2 OK SEARCH completed\r\n");
  await client.send("a3 APPEND INBOX {4294967296}\r\n");
  assertEquals(await client.tagged("a3"), "a3 NO [TOOBIG] Message exceeds 67108864 octets\r\n");
});

Deno.test("ImapServer ends the connection when a refused LITERAL+ is too large to skip", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.send("a1 LOGIN mulder {100000+}\r\n");
  assertEquals(await client.rest(), "* BYE Literal too large\r\n");
});

Deno.test("ImapServer skips a refused small LITERAL+ and stays in step", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.send(`a1 LOGIN mulder {9000+}\r\n${"a1 LOGOUT\r\n".repeat(818)}xx\r\na2 NOOP\r\n`);
  assertEquals(
    await client.tagged("a2"),
    "a1 NO [TOOBIG] Literal too large before login\r\na2 OK NOOP completed\r\n",
  );
});

Deno.test("ImapServer reads {n} inside a quoted string as text, not as a literal", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  // A server that took {8} as a literal would send "+" and read the next line as the password.
  await client.send('a1 LOGIN "mulder {8}" "{8}"\r\n');
  assertEquals(await client.tagged("a1"), "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
  await client.send('a2 LOGIN mulder "trustno1"\r\n');
  assertEquals((await client.tagged("a2")).slice(0, 6), "a2 OK ");
});

Deno.test("ImapServer ends the connection with BYE on a command line over maxLineLength", async () => {
  await using t = startImapServer({ maxLineLength: 1024 });
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.send(`a1 LOGIN ${"x".repeat(2000)} y\r\n`);
  assertEquals(await client.rest(), "* BYE Command line too long\r\n");
});

Deno.test("ImapServer does not buffer an endless line: BYE once it passes the limit", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  const chunk = new Uint8Array(16384).fill(0x61);
  let sent = 0;
  try {
    for (let i = 0; i < 64; i++) {
      await client.send(chunk);
      sent += chunk.length;
    }
  } catch {
    // the server closed the connection while we wrote
  }
  assertEquals(await client.rest(), "* BYE Command line too long\r\n");
  assert(sent >= 65536);
});

Deno.test("ImapServer ends the connection after maxErrors invalid lines in a row", async () => {
  await using t = startImapServer({ maxErrors: 5 });
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n\r\n\r\n\r\n");
  assertEquals(
    await client.rest(),
    "GET BAD Invalid command name\r\nHost: BAD Unknown command\r\n" +
      "* BAD Invalid or missing tag\r\n".repeat(3) + "* BYE Too many invalid commands\r\n",
  );
});

Deno.test("ImapServer answers lines with NUL or a bare CR with BAD", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.send("a1 NOOP\0\r\n");
  assertEquals(await client.tagged("a1"), "a1 BAD line contains NUL\r\n");
  await client.send("a2 NO\rOP\r\n");
  assertEquals(await client.tagged("a2"), "a2 BAD line contains a bare CR\r\n");
  assertEquals(await client.command("a3", "NOOP"), "a3 OK NOOP completed\r\n");
});

Deno.test("ImapServer stores nothing when the client hangs up inside an APPEND literal", async () => {
  await using t = startImapServer();
  const client = await loggedIn(t.port);
  await client.send(`a1 APPEND INBOX {1000+}\r\nSubject: partial\r\n\r\n${"x".repeat(400)}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  client.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assertEquals((await t.store.status("mulder", "INBOX")).messages, 0);
});

Deno.test("ImapServer removes an APPEND whose command turns out malformed after the literal", async () => {
  await using t = startImapServer();
  await using client = await loggedIn(t.port);
  await client.send("a1 APPEND INBOX {5+}\r\nhello EXTRA\r\n");
  assertEquals(await client.tagged("a1"), "a1 BAD Invalid APPEND arguments\r\n");
  assertEquals((await t.store.status("mulder", "INBOX")).messages, 0);
  await client.send("a2 APPEND INBOX {5+}\r\nhello {3+}\r\nabc\r\n");
  assertEquals(await client.tagged("a2"), "a2 BAD MULTIAPPEND is not supported\r\n");
  assertEquals((await t.store.status("mulder", "INBOX")).messages, 0);
  assertEquals(await client.command("a3", "NOOP"), "a3 OK NOOP completed\r\n");
});

Deno.test("ImapServer reads commands written one byte at a time", async () => {
  await using t = startImapServer();
  await t.store.deliver("mulder", "INBOX", new TextEncoder().encode("Subject: x\r\n\r\ny\r\n"));
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  const text =
    "a1 LOGIN mulder {8+}\r\ntrustno1\r\na2 SELECT INBOX\r\na3 FETCH 1 (BODY.PEEK[TEXT])\r\n";
  for (const byte of new TextEncoder().encode(text)) await client.send(Uint8Array.of(byte));
  const response = await client.tagged("a3");
  assert(response.includes("a1 OK ") && response.includes("a2 OK [READ-WRITE]"), response);
  assert(
    response.endsWith("* 1 FETCH (BODY[TEXT] {3}\r\ny\r\n)\r\na3 OK FETCH completed\r\n"),
    response,
  );
});

Deno.test("ImapServer answers * BYE to connections over maxConnections", async () => {
  await using t = startImapServer({ maxConnections: 1 });
  const { client: first } = await RawImap.connect(t.port);
  await using _ = first;
  const second = new RawImap(await Deno.connect({ hostname: "127.0.0.1", port: t.port }));
  await using __ = second;
  assertEquals(await second.rest(), "* BYE Too many connections, try again later\r\n");
  assertEquals(await first.command("a1", "NOOP"), "a1 OK NOOP completed\r\n");
});
