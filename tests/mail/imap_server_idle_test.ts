/**
 * ImapServer updates: IDLE notifications from deliveries and from other
 * sessions, EXPUNGE only at the times RFC 3501 §7.4.1 allows, deleted
 * folders, autologout and shutdown.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { MaildirStore } from "../../mail/maildir_store.ts";
import { loggedIn, message, RawImap, startImapServer } from "./_imap_server_helpers.ts";

Deno.test("ImapServer IDLE pushes EXISTS and RECENT when store.deliver adds mail", async () => {
  await using t = startImapServer();
  await t.store.deliver("mulder", "INBOX", message("first"));
  await using a = await loggedIn(t.port, "INBOX");
  await a.send("i1 IDLE\r\n");
  assertEquals(await a.line(), "+ idling\r\n");
  await t.store.deliver("mulder", "INBOX", message("second"));
  assertEquals(await a.until("RECENT\r\n"), "* 2 EXISTS\r\n* 2 RECENT\r\n");
  await t.store.deliver("mulder", "INBOX", message("third"));
  assertEquals(await a.until("RECENT\r\n"), "* 3 EXISTS\r\n* 3 RECENT\r\n");
  await a.send("DONE\r\n");
  assertEquals(await a.tagged("i1"), "i1 OK IDLE completed\r\n");
  assertEquals(
    await a.command("f", "FETCH 3 BODY.PEEK[HEADER.FIELDS (SUBJECT)]"),
    "* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: third\r\n\r\n)\r\nf OK FETCH completed\r\n",
  );
});

Deno.test("ImapServer IDLE pushes FETCH and EXPUNGE made by another session", async () => {
  await using t = startImapServer();
  for (const s of ["a", "b", "c"]) await t.store.deliver("mulder", "INBOX", message(s));
  await using a = await loggedIn(t.port, "INBOX");
  await using b = await loggedIn(t.port, "INBOX");
  await a.send("i1 IDLE\r\n");
  assertEquals(await a.line(), "+ idling\r\n");
  assertEquals(
    await b.command("b1", "STORE 2 +FLAGS (\\Flagged)"),
    "* 2 FETCH (FLAGS (\\Flagged))\r\nb1 OK STORE completed\r\n",
  );
  assertEquals(await a.line(), "* 2 FETCH (FLAGS (\\Flagged \\Recent))\r\n");
  await b.command("b2", "STORE 1,3 +FLAGS.SILENT (\\Deleted)");
  assertEquals(await a.until("\\Recent))\r\n", 5000), "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n");
  assertEquals(await a.line(), "* 3 FETCH (FLAGS (\\Deleted \\Recent))\r\n");
  assertEquals(
    await b.command("b3", "EXPUNGE"),
    "* 1 EXPUNGE\r\n* 2 EXPUNGE\r\nb3 OK EXPUNGE completed\r\n",
  );
  assertEquals(await a.until("EXPUNGE\r\n"), "* 1 EXPUNGE\r\n");
  assertEquals(await a.line(), "* 2 EXPUNGE\r\n");
  await a.send("DONE\r\n");
  assertEquals(await a.tagged("i1"), "i1 OK IDLE completed\r\n");
  assertEquals(
    await a.command("f", "FETCH 1 UID"),
    "* 1 FETCH (UID 2)\r\nf OK FETCH completed\r\n",
  );
});

Deno.test("ImapServer sends no EXPUNGE during FETCH, STORE or SEARCH, and sends it at the next NOOP", async () => {
  await using t = startImapServer();
  for (const s of ["a", "b", "c"]) await t.store.deliver("mulder", "INBOX", message(s));
  await using a = await loggedIn(t.port, "INBOX");
  await using b = await loggedIn(t.port, "INBOX");
  await b.command("b1", "STORE 1 +FLAGS.SILENT (\\Deleted)");
  await b.command("b2", "EXPUNGE");
  await t.store.deliver("mulder", "INBOX", message("d"));
  // a's sequence numbers stay as they were: 1 is still the expunged message.
  assertEquals(
    await a.command("a1", "FETCH 1:3 UID"),
    "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 3)\r\na1 OK FETCH completed\r\n",
  );
  assertEquals(
    await a.command("a2", "STORE 2 +FLAGS (\\Seen)"),
    "* 2 FETCH (FLAGS (\\Seen \\Recent))\r\na2 OK STORE completed\r\n",
  );
  assertEquals(await a.command("a3", "SEARCH ALL"), "* SEARCH 1 2 3\r\na3 OK SEARCH completed\r\n");
  assertEquals(
    await a.command("a4", "NOOP"),
    "* 1 EXPUNGE\r\n* 3 EXISTS\r\n* 3 RECENT\r\na4 OK NOOP completed\r\n",
  );
  assertEquals(await a.command("a5", "SEARCH ALL"), "* SEARCH 1 2 3\r\na5 OK SEARCH completed\r\n");
  assertEquals(
    await a.command("a6", "FETCH 1:* UID"),
    "* 1 FETCH (UID 2)\r\n* 2 FETCH (UID 3)\r\n* 3 FETCH (UID 4)\r\na6 OK FETCH completed\r\n",
  );
});

Deno.test("ImapServer sends pending updates after UID FETCH, which RFC 3501 allows", async () => {
  await using t = startImapServer();
  for (const s of ["a", "b"]) await t.store.deliver("mulder", "INBOX", message(s));
  await using a = await loggedIn(t.port, "INBOX");
  await t.store.expunge("mulder", "INBOX", [1]);
  assertEquals(
    await a.command("a1", "UID FETCH 2 UID"),
    "* 2 FETCH (UID 2)\r\n* 1 EXPUNGE\r\na1 OK UID FETCH completed\r\n",
  );
});

Deno.test("ImapServer IDLE ends with DONE and answers other text BAD", async () => {
  await using t = startImapServer();
  await using a = await loggedIn(t.port);
  await a.send("i1 IDLE\r\n");
  assertEquals(await a.line(), "+ idling\r\n");
  await a.send("done\r\n");
  assertEquals(await a.tagged("i1"), "i1 OK IDLE completed\r\n");
  await a.send("i2 IDLE\r\n");
  assertEquals(await a.line(), "+ idling\r\n");
  await a.send("NOOP\r\n");
  assertEquals(await a.tagged("i2"), "i2 BAD Expected DONE\r\n");
  assertEquals(await a.command("n", "NOOP"), "n OK NOOP completed\r\n");
});

Deno.test("ImapServer says BYE to a session whose selected folder another session deletes", async () => {
  await using t = startImapServer();
  await t.store.createFolder("mulder", "Doomed");
  await using a = await loggedIn(t.port, "Doomed");
  await using b = await loggedIn(t.port);
  assertEquals(await b.command("b1", "DELETE Doomed"), "b1 OK DELETE completed\r\n");
  assertEquals(
    await a.command("a1", "NOOP"),
    "* BYE Mailbox was deleted\r\na1 OK NOOP completed\r\n",
  );
  assertEquals(await a.rest(), "");
});

Deno.test("ImapServer says BYE to an idling session at shutdown", async () => {
  const t = startImapServer();
  const a = await loggedIn(t.port, "INBOX");
  await a.send("i1 IDLE\r\n");
  assertEquals(await a.line(), "+ idling\r\n");
  const shutdown = t.server.shutdown({ timeout: 2000 });
  assertEquals(await a.rest(), "* BYE Server shutting down\r\n");
  await shutdown;
  a.close();
  await t.store.close();
});

Deno.test("ImapServer logs out idle sessions: shortly before login, after idleTimeout when idling", async () => {
  const lines: string[] = [];
  await using t = startImapServer({
    loginTimeout: 300,
    idleTimeout: 700,
    onLog: (line) => void lines.push(line),
  });
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  let started = performance.now();
  assertEquals(await client.rest(3000), "* BYE Autologout; idle for too long\r\n");
  const waited = performance.now() - started;
  assert(waited > 250 && waited < 1500, `logged out after ${waited} ms`);
  await using a = await loggedIn(t.port);
  // Logged in, the longer timeout applies, and IDLE does not keep the session alive.
  await a.send("i1 IDLE\r\n");
  assertEquals(await a.line(), "+ idling\r\n");
  started = performance.now();
  assertEquals(await a.rest(3000), "* BYE Autologout; idle for too long\r\n");
  const idled = performance.now() - started;
  assert(idled > 550 && idled < 2500, `logged out after ${idled} ms`);
  assertEquals(lines.filter((l) => l.endsWith(" autologout")).length, 2);
});

Deno.test("ImapServer IDLE finds mail another program writes into the Maildir by rescanning", async () => {
  const root = await Deno.makeTempDir({ prefix: "inetkit-imap-idle-" });
  try {
    const store = new MaildirStore(root);
    await store.deliver("mulder", "INBOX", message("first"));
    await using t = startImapServer({ store, rescanInterval: 200 });
    await using a = await loggedIn(t.port, "INBOX");
    await a.send("i1 IDLE\r\n");
    assertEquals(await a.line(), "+ idling\r\n");
    // An MTA's delivery: a file written to tmp/ and renamed into new/.
    const dir = store.folderPath("mulder", "INBOX");
    const name = `${Math.floor(Date.now() / 1000)}.M1P${Deno.pid}.mta`;
    await Deno.writeFile(`${dir}/tmp/${name}`, message("from the MTA"));
    await Deno.rename(`${dir}/tmp/${name}`, `${dir}/new/${name}`);
    assertEquals(await a.until("RECENT\r\n", 5000), "* 2 EXISTS\r\n* 2 RECENT\r\n");
    await a.send("DONE\r\n");
    assertEquals(await a.tagged("i1"), "i1 OK IDLE completed\r\n");
    // NOOP rescans too.
    await Deno.writeFile(`${dir}/tmp/${name}2`, message("third"));
    await Deno.rename(`${dir}/tmp/${name}2`, `${dir}/new/${name}2`);
    assertEquals(
      await a.command("n", "NOOP"),
      "* 3 EXISTS\r\n* 3 RECENT\r\nn OK NOOP completed\r\n",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
