/**
 * ImapServer transcripts: a raw client sends commands and the exact
 * responses are checked, verb by verb.
 */
import { bytesToHex, hmacMd5 } from "../../net/md5.ts";
import { MailStoreError } from "../../mail/mail_store_error.ts";
import { MemoryMailStore } from "../../mail/memory_mail_store.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { loggedIn, message, RawImap, startImapServer, utf8 } from "./_imap_server_helpers.ts";

const PRE = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 " +
  "NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE UTF8=ACCEPT";
const POST = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN " +
  "SPECIAL-USE UTF8=ACCEPT";

Deno.test("ImapServer greets with its capabilities and answers CAPABILITY, NOOP and LOGOUT", async () => {
  await using t = startImapServer();
  const { client, greeting } = await RawImap.connect(t.port);
  await using _ = client;
  assertEquals(greeting, `* OK [CAPABILITY ${PRE}] localhost IMAP4rev1 ready\r\n`);
  assertEquals(
    await client.command("a1", "CAPABILITY"),
    `* CAPABILITY ${PRE}\r\na1 OK CAPABILITY completed\r\n`,
  );
  assertEquals(await client.command("a2", "NOOP"), "a2 OK NOOP completed\r\n");
  assertEquals(await client.command("a3", "noop"), "a3 OK NOOP completed\r\n");
  assertEquals(
    await client.command("a4", "LOGOUT"),
    "* BYE Logging out\r\na4 OK LOGOUT completed\r\n",
  );
  assertEquals(await client.rest(), "");
});

Deno.test("ImapServer LOGIN accepts the right password and refuses a wrong one with AUTHENTICATIONFAILED", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  assertEquals(
    await client.command("a1", "LOGIN mulder wrong"),
    "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n",
  );
  assertEquals(
    await client.command("a2", 'LOGIN "mulder" "trustno1"'),
    `a2 OK [CAPABILITY ${POST}] Logged in\r\n`,
  );
  assertEquals(
    await client.command("a3", "LOGIN mulder trustno1"),
    "a3 BAD Already authenticated\r\n",
  );
  assertEquals(
    await client.command("a4", "CAPABILITY"),
    `* CAPABILITY ${POST}\r\na4 OK CAPABILITY completed\r\n`,
  );
});

Deno.test("ImapServer LOGIN takes a password sent as a synchronizing literal", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.send("a1 LOGIN mulder {8}\r\n");
  assertEquals(await client.line(), "+ Ready for literal data\r\n");
  await client.send("trustno1\r\n");
  assertMatch(await client.tagged("a1"), /^a1 OK \[CAPABILITY .*\] Logged in\r\n$/);
});

Deno.test("ImapServer delays failed logins and closes the connection after maxAuthFailures", async () => {
  const lines: string[] = [];
  await using t = startImapServer({
    authFailureDelay: 150,
    maxAuthFailures: 2,
    onLog: (line) => void lines.push(line),
  });
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  let started = performance.now();
  assertEquals(
    await client.command("a1", "LOGIN mulder nope"),
    "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n",
  );
  assert(performance.now() - started >= 140, "the failure was answered without delay");
  started = performance.now();
  assertEquals(
    await client.command("a2", "LOGIN mulder alsonope"),
    "* BYE Too many authentication failures\r\na2 NO [AUTHENTICATIONFAILED] Authentication failed\r\n",
  );
  assert(performance.now() - started >= 140);
  assertEquals(await client.rest(), "");
  assert(lines.some((l) => /login failed mulder$/.test(l)), lines.join("\n"));
  assert(!lines.some((l) => l.includes("nope")), "a password reached the log");
});

Deno.test("ImapServer AUTHENTICATE PLAIN works with SASL-IR and with a continuation", async () => {
  await using t = startImapServer();
  {
    const { client } = await RawImap.connect(t.port);
    await using _ = client;
    assertEquals(
      await client.command("a1", `AUTHENTICATE PLAIN ${btoa("\0mulder\0trustno1")}`),
      `a1 OK [CAPABILITY ${POST}] Logged in\r\n`,
    );
  }
  {
    const { client } = await RawImap.connect(t.port);
    await using _ = client;
    await client.send("a1 AUTHENTICATE PLAIN\r\n");
    assertEquals(await client.line(), "+ \r\n");
    await client.send(`${btoa("mulder\0mulder\0trustno1")}\r\n`);
    assertEquals(await client.tagged("a1"), `a1 OK [CAPABILITY ${POST}] Logged in\r\n`);
  }
  {
    const { client } = await RawImap.connect(t.port);
    await using _ = client;
    assertEquals(
      await client.command("a1", `AUTHENTICATE PLAIN ${btoa("scully\0mulder\0trustno1")}`),
      "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n",
    );
    assertEquals(
      await client.command("a2", "AUTHENTICATE PLAIN !!!"),
      "a2 BAD Invalid SASL response\r\n",
    );
    assertEquals(
      await client.command("a3", "AUTHENTICATE GSSAPI"),
      "a3 NO [CANNOT] Unsupported authentication mechanism\r\n",
    );
  }
});

Deno.test("ImapServer AUTHENTICATE LOGIN and CRAM-MD5 log in", async () => {
  await using t = startImapServer();
  {
    const { client } = await RawImap.connect(t.port);
    await using _ = client;
    await client.send("a1 AUTHENTICATE LOGIN\r\n");
    assertEquals(await client.line(), `+ ${btoa("Username:")}\r\n`);
    await client.send(`${btoa("mulder")}\r\n`);
    assertEquals(await client.line(), `+ ${btoa("Password:")}\r\n`);
    await client.send(`${btoa("trustno1")}\r\n`);
    assertEquals(await client.tagged("a1"), `a1 OK [CAPABILITY ${POST}] Logged in\r\n`);
  }
  {
    const { client } = await RawImap.connect(t.port);
    await using _ = client;
    await client.send("a1 AUTHENTICATE CRAM-MD5\r\n");
    const line = await client.line();
    assertMatch(line, /^\+ [A-Za-z0-9+/=]+\r\n$/);
    const challenge = atob(line.slice(2, -2));
    assertMatch(challenge, /^<[0-9a-f]+\.\d+@localhost>$/);
    const digest = bytesToHex(hmacMd5("trustno1", challenge));
    await client.send(`${btoa(`mulder ${digest}`)}\r\n`);
    assertEquals(await client.tagged("a1"), `a1 OK [CAPABILITY ${POST}] Logged in\r\n`);
  }
});

Deno.test("ImapServer AUTHENTICATE is cancelled by *", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.send("a1 AUTHENTICATE PLAIN\r\n");
  assertEquals(await client.line(), "+ \r\n");
  await client.send("*\r\n");
  assertEquals(await client.tagged("a1"), "a1 BAD Authentication cancelled\r\n");
  await client.login("a2");
});

Deno.test("ImapServer refuses commands in the wrong state and unknown commands", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  assertEquals(await client.command("a1", "SELECT INBOX"), "a1 BAD Not authenticated\r\n");
  assertEquals(await client.command("a2", "FETCH 1 FLAGS"), "a2 BAD Not authenticated\r\n");
  assertEquals(await client.command("a3", "FROB"), "a3 BAD Unknown command\r\n");
  await client.login();
  assertEquals(await client.command("a4", "FETCH 1 FLAGS"), "a4 BAD No mailbox selected\r\n");
  assertEquals(await client.command("a5", "STARTTLS"), "a5 BAD Already authenticated\r\n");
  assertEquals(await client.command("a6", "SELECT"), "a6 BAD Missing arguments\r\n");
  assertEquals(
    await client.command("a7", "NOOP (unbalanced"),
    "a7 BAD list is not closed before the end of the line\r\n",
  );
});

Deno.test("ImapServer SELECT reports flags, counts and UIDs; EXAMINE is read-only", async () => {
  await using t = startImapServer();
  await t.store.deliver("mulder", "INBOX", message("one"), { flags: ["\\Seen", "$Label"] });
  await t.store.deliver("mulder", "INBOX", message("two"));
  await t.store.deliver("mulder", "INBOX", message("three"));
  const { uidValidity } = await t.store.status("mulder", "INBOX");
  await using client = await loggedIn(t.port);
  const flags = "\\Seen \\Answered \\Flagged \\Deleted \\Draft $Label";
  assertEquals(
    await client.command("a1", "EXAMINE INBOX"),
    `* FLAGS (${flags})\r\n` +
      "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n" +
      "* 3 EXISTS\r\n" +
      "* 0 RECENT\r\n" +
      "* OK [UNSEEN 2] First unseen\r\n" +
      `* OK [UIDVALIDITY ${uidValidity}] UIDs valid\r\n` +
      "* OK [UIDNEXT 4] Predicted next UID\r\n" +
      "a1 OK [READ-ONLY] EXAMINE completed\r\n",
  );
  assertEquals(
    await client.command("a2", "STORE 1 +FLAGS (\\Flagged)"),
    "a2 NO Mailbox is read-only\r\n",
  );
  assertEquals(
    await client.command("a3", "SELECT inbox"),
    `* FLAGS (${flags})\r\n` +
      `* OK [PERMANENTFLAGS (${flags} \\*)] Flags permitted\r\n` +
      "* 3 EXISTS\r\n" +
      "* 3 RECENT\r\n" +
      "* OK [UNSEEN 2] First unseen\r\n" +
      `* OK [UIDVALIDITY ${uidValidity}] UIDs valid\r\n` +
      "* OK [UIDNEXT 4] Predicted next UID\r\n" +
      "a3 OK [READ-WRITE] SELECT completed\r\n",
  );
  assertEquals(
    await client.command("a4", "SELECT Nowhere"),
    "a4 NO [NONEXISTENT] Mailbox does not exist\r\n",
  );
  // A failed SELECT leaves no mailbox selected.
  assertEquals(await client.command("a5", "FETCH 1 FLAGS"), "a5 BAD No mailbox selected\r\n");
});

Deno.test("ImapServer CREATE, RENAME, DELETE, LIST and LSUB manage folders", async () => {
  await using t = startImapServer();
  await using client = await loggedIn(t.port);
  assertEquals(await client.command("a1", "CREATE Archive.2024"), "a1 OK CREATE completed\r\n");
  assertEquals(await client.command("a2", "CREATE Sent."), "a2 OK CREATE completed\r\n");
  assertEquals(
    await client.command("a3", "CREATE Sent"),
    "a3 NO [ALREADYEXISTS] Mailbox already exists\r\n",
  );
  assertEquals(
    await client.command("a4", "CREATE INBOX"),
    "a4 NO [ALREADYEXISTS] INBOX always exists\r\n",
  );
  assertEquals(
    await client.command("a5", 'CREATE "a..b"'),
    "a5 NO [CANNOT] Invalid mailbox name\r\n",
  );
  assertEquals(
    await client.command("a6", 'LIST "" *'),
    '* LIST (\\HasNoChildren) "." INBOX\r\n' +
      '* LIST (\\HasChildren \\Archive) "." Archive\r\n' +
      '* LIST (\\HasNoChildren) "." Archive.2024\r\n' +
      '* LIST (\\HasNoChildren \\Sent) "." Sent\r\n' +
      "a6 OK LIST completed\r\n",
  );
  assertEquals(
    await client.command("a7", 'LIST "" %'),
    '* LIST (\\HasNoChildren) "." INBOX\r\n' +
      '* LIST (\\HasChildren \\Archive) "." Archive\r\n' +
      '* LIST (\\HasNoChildren \\Sent) "." Sent\r\n' +
      "a7 OK LIST completed\r\n",
  );
  assertEquals(
    await client.command("a8", "LIST Archive. %"),
    '* LIST (\\HasNoChildren) "." Archive.2024\r\n' + "a8 OK LIST completed\r\n",
  );
  assertEquals(
    await client.command("a9", 'LIST "" ""'),
    '* LIST (\\Noselect) "." ""\r\na9 OK LIST completed\r\n',
  );
  assertEquals(await client.command("b1", "RENAME Archive.2024 Old"), "b1 OK RENAME completed\r\n");
  assertEquals(
    await client.command("b2", "RENAME Nowhere Elsewhere"),
    "b2 NO [NONEXISTENT] Mailbox does not exist\r\n",
  );
  assertEquals(await client.command("b3", "DELETE Old"), "b3 OK DELETE completed\r\n");
  assertEquals(
    await client.command("b4", "DELETE INBOX"),
    "b4 NO [CANNOT] INBOX cannot be deleted\r\n",
  );
  assertEquals(
    await client.command("b5", "DELETE Old"),
    "b5 NO [NONEXISTENT] Mailbox does not exist\r\n",
  );
  assertEquals(await client.command("c1", "SUBSCRIBE Sent"), "c1 OK SUBSCRIBE completed\r\n");
  assertEquals(await client.command("c2", "SUBSCRIBE Lists.deno"), "c2 OK SUBSCRIBE completed\r\n");
  assertEquals(
    await client.command("c3", 'LSUB "" *'),
    '* LSUB () "." Lists.deno\r\n* LSUB (\\Sent) "." Sent\r\nc3 OK LSUB completed\r\n',
  );
  assertEquals(
    await client.command("c4", 'LSUB "" %'),
    '* LSUB (\\Noselect) "." Lists\r\n* LSUB (\\Sent) "." Sent\r\nc4 OK LSUB completed\r\n',
  );
  assertEquals(await client.command("c5", "UNSUBSCRIBE Sent"), "c5 OK UNSUBSCRIBE completed\r\n");
  assertEquals(
    await client.command("c6", 'LSUB "" *'),
    '* LSUB () "." Lists.deno\r\nc6 OK LSUB completed\r\n',
  );
});

Deno.test("ImapServer STATUS reports the counters of a folder", async () => {
  await using t = startImapServer();
  await t.store.deliver("mulder", "INBOX", message("one"), { flags: ["\\Seen"] });
  await t.store.deliver("mulder", "INBOX", message("two"));
  const { uidValidity, size } = await t.store.status("mulder", "INBOX");
  await using client = await loggedIn(t.port);
  assertEquals(
    await client.command("a1", "STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE)"),
    `* STATUS INBOX (MESSAGES 2 RECENT 2 UIDNEXT 3 UIDVALIDITY ${uidValidity} UNSEEN 1 SIZE ${size})\r\n` +
      "a1 OK STATUS completed\r\n",
  );
  assertEquals(
    await client.command("a2", "STATUS Nowhere (MESSAGES)"),
    "a2 NO [NONEXISTENT] Mailbox does not exist\r\n",
  );
  assertEquals(
    await client.command("a3", "STATUS INBOX (FROBS)"),
    "a3 BAD Unknown STATUS item\r\n",
  );
});

Deno.test("ImapServer answers NAMESPACE, ID and ENABLE", async () => {
  await using t = startImapServer();
  await using client = await loggedIn(t.port);
  assertEquals(
    await client.command("a1", "NAMESPACE"),
    '* NAMESPACE (("" ".")) NIL NIL\r\na1 OK NAMESPACE completed\r\n',
  );
  assertEquals(
    await client.command("a2", 'ID ("name" "test")'),
    '* ID ("name" "inetkit" "vendor" "inetkit")\r\na2 OK ID completed\r\n',
  );
  assertEquals(
    await client.command("a3", "ENABLE CONDSTORE UTF8=ACCEPT"),
    "* ENABLED UTF8=ACCEPT\r\na3 OK ENABLE completed\r\n",
  );
  assertEquals(
    await client.command("a4", "ENABLE UTF8=ACCEPT"),
    "* ENABLED\r\na4 OK ENABLE completed\r\n",
  );
});

Deno.test("ImapServer sends mailbox names in modified UTF-7, and in UTF-8 after ENABLE UTF8=ACCEPT", async () => {
  await using t = startImapServer();
  await using client = await loggedIn(t.port);
  assertEquals(await client.command("a1", "CREATE Entw&APw-rfe"), "a1 OK CREATE completed\r\n");
  assert((await t.store.listFolders("mulder")).some((f) => f.name === "Entwürfe"));
  assertEquals(
    await client.command("a2", 'LIST "" Entw*'),
    '* LIST (\\HasNoChildren) "." Entw&APw-rfe\r\na2 OK LIST completed\r\n',
  );
  assertEquals(
    await client.command("a3", "CREATE Bad&Name"),
    "a3 NO [CANNOT] Invalid mailbox name: it is not valid modified UTF-7\r\n",
  );
  await client.command("a4", "ENABLE UTF8=ACCEPT");
  await client.send(utf8('a5 LIST "" "Entw*"\r\n'));
  assertEquals(
    await client.tagged("a5"),
    '* LIST (\\HasNoChildren) "." "Entw\xc3\xbcrfe"\r\na5 OK LIST completed\r\n',
  );
  await client.send(utf8('a6 STATUS "Entwürfe" (MESSAGES)\r\n'));
  assertEquals(
    await client.tagged("a6"),
    '* STATUS "Entw\xc3\xbcrfe" (MESSAGES 0)\r\na6 OK STATUS completed\r\n',
  );
});

Deno.test("ImapServer APPEND with a synchronizing literal, flags and date answers APPENDUID", async () => {
  await using t = startImapServer();
  const { uidValidity } = await t.store.status("mulder", "INBOX");
  await using client = await loggedIn(t.port);
  const body = "Subject: appended\r\n\r\nhello\r\n";
  await client.send(
    `a1 APPEND INBOX (\\Seen $Work) "17-Jul-1996 02:44:25 -0700" {${body.length}}\r\n`,
  );
  assertEquals(await client.line(), "+ Ready for literal data\r\n");
  await client.send(body + "\r\n");
  assertEquals(
    await client.tagged("a1"),
    `a1 OK [APPENDUID ${uidValidity} 1] APPEND completed\r\n`,
  );
  const [info] = await t.store.listMessages("mulder", "INBOX");
  assertEquals(info?.flags, ["\\Seen", "$Work"]);
  assertEquals(info?.internalDate.toISOString(), "1996-07-17T09:44:25.000Z");
  assertEquals(
    await new Response(await t.store.readMessage("mulder", "INBOX", 1)).text(),
    body,
  );
  await client.command("a2", "SELECT INBOX");
  assertEquals(
    await client.command("a3", "FETCH 1 (INTERNALDATE RFC822.SIZE)"),
    `* 1 FETCH (INTERNALDATE "17-Jul-1996 09:44:25 +0000" RFC822.SIZE ${body.length})\r\n` +
      "a3 OK FETCH completed\r\n",
  );
  assertEquals(
    await client.command("a4", 'APPEND INBOX "bad date" {1}'),
    "a4 BAD Invalid date-time\r\n",
  );
});

Deno.test("ImapServer APPEND to the selected mailbox reports EXISTS before its tagged OK", async () => {
  await using t = startImapServer();
  await using client = await loggedIn(t.port, "INBOX");
  const body = "Subject: new\r\n\r\nx\r\n";
  await client.send(`a1 APPEND INBOX {${body.length}+}\r\n${body}\r\n`);
  assertMatch(
    await client.tagged("a1"),
    /^\* 1 EXISTS\r\n\* 1 RECENT\r\na1 OK \[APPENDUID \d+ 1\] APPEND completed\r\n$/,
  );
});

Deno.test("ImapServer APPEND with LITERAL+ streams without a continuation", async () => {
  await using t = startImapServer();
  await using client = await loggedIn(t.port);
  const body = "Subject: plus\r\n\r\nno waiting\r\n";
  await client.send(`a1 APPEND INBOX {${body.length}+}\r\n${body}\r\na2 NOOP\r\n`);
  const response = await client.tagged("a2");
  assertMatch(response, /^a1 OK \[APPENDUID \d+ 1\] APPEND completed\r\na2 OK NOOP completed\r\n$/);
  assertEquals(await new Response(await t.store.readMessage("mulder", "INBOX", 1)).text(), body);
});

Deno.test("ImapServer APPEND over maxMessageSize is refused NO [TOOBIG] before the literal is sent", async () => {
  await using t = startImapServer({ maxMessageSize: 1000 });
  await using client = await loggedIn(t.port);
  await client.send("a1 APPEND INBOX {1001}\r\n");
  assertEquals(await client.tagged("a1"), "a1 NO [TOOBIG] Message exceeds 1000 octets\r\n");
  // No continuation was sent; the client goes on with the next command.
  assertEquals(await client.command("a2", "NOOP"), "a2 OK NOOP completed\r\n");
  assertEquals((await t.store.status("mulder", "INBOX")).messages, 0);
  // LITERAL+: the octets come anyway and are skipped.
  await client.send(`a3 APPEND INBOX {1500+}\r\n${"x".repeat(1500)}\r\na4 NOOP\r\n`);
  assertEquals(
    await client.tagged("a4"),
    "a3 NO [TOOBIG] Message exceeds 1000 octets\r\na4 OK NOOP completed\r\n",
  );
});

Deno.test("ImapServer APPEND to a missing folder answers NO [TRYCREATE] before the literal is sent", async () => {
  await using t = startImapServer();
  await using client = await loggedIn(t.port);
  await client.send("a1 APPEND Nowhere {10}\r\n");
  assertEquals(await client.tagged("a1"), "a1 NO [TRYCREATE] Mailbox does not exist\r\n");
  await client.send("a2 APPEND INBOX (\\Bogus\\) {10}\r\n");
  assertEquals(await client.tagged("a2"), "a2 BAD Invalid flag\r\n");
});

Deno.test("ImapServer APPEND takes a mailbox name given as a literal", async () => {
  await using t = startImapServer();
  await t.store.createFolder("mulder", "Sent Items");
  await using client = await loggedIn(t.port);
  await client.send("a1 APPEND {10}\r\n");
  assertEquals(await client.line(), "+ Ready for literal data\r\n");
  await client.send("Sent Items {12}\r\n");
  assertEquals(await client.line(), "+ Ready for literal data\r\n");
  await client.send("Subject: x\r\n\r\n");
  assertMatch(await client.tagged("a1"), /^a1 OK \[APPENDUID \d+ 1\] APPEND completed\r\n$/);
  assertEquals((await t.store.status("mulder", "Sent Items")).messages, 1);
});

Deno.test("ImapServer APPEND before login is refused without reading the literal", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.send("a1 APPEND INBOX {5}\r\n");
  assertEquals(await client.tagged("a1"), "a1 BAD Not authenticated\r\n");
  assertEquals(await client.command("a2", "NOOP"), "a2 OK NOOP completed\r\n");
});

Deno.test("ImapServer STORE sets, adds and removes flags, .SILENT answers nothing, flags persist", async () => {
  await using t = startImapServer();
  for (const s of ["one", "two", "three"]) await t.store.deliver("mulder", "INBOX", message(s));
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(
    await client.command("a1", "STORE 1:2 +FLAGS (\\Flagged $Work)"),
    "* 1 FETCH (FLAGS (\\Flagged $Work \\Recent))\r\n" +
      "* 2 FETCH (FLAGS (\\Flagged $Work \\Recent))\r\n" +
      "a1 OK STORE completed\r\n",
  );
  assertEquals(
    await client.command("a2", "STORE 2 -FLAGS \\Flagged"),
    "* 2 FETCH (FLAGS ($Work \\Recent))\r\na2 OK STORE completed\r\n",
  );
  assertEquals(
    await client.command("a3", "UID STORE 3 FLAGS (\\Answered \\Recent)"),
    "* 3 FETCH (UID 3 FLAGS (\\Answered \\Recent))\r\na3 OK UID STORE completed\r\n",
  );
  assertEquals(
    await client.command("a4", "STORE 1 FLAGS.SILENT (\\Seen)"),
    "a4 OK STORE completed\r\n",
  );
  assertEquals(
    (await t.store.listMessages("mulder", "INBOX")).map((m) => m.flags),
    [["\\Seen"], ["$Work"], ["\\Answered"]],
  );
  assertEquals(
    await client.command("a5", "STORE 4 +FLAGS (\\Seen)"),
    "a5 BAD Invalid message sequence number\r\n",
  );
  assertEquals(await client.command("a6", "STORE 1 +FLAGS (\\*)"), "a6 BAD Invalid flag\r\n");
  assertEquals(
    await client.command("a7", "STORE 1 FROB (\\Seen)"),
    "a7 BAD Invalid STORE item\r\n",
  );
  assertEquals(
    await client.command("a8", "UID STORE 99 +FLAGS (\\Seen)"),
    "a8 OK UID STORE completed\r\n",
  );
});

Deno.test("ImapServer EXPUNGE renumbers as in RFC 3501: expunging 3, 4, 7 and 11 sends 3, 3, 5, 8", async () => {
  await using t = startImapServer();
  for (let i = 1; i <= 11; i++) {
    const deleted = [3, 4, 7, 11].includes(i);
    await t.store.deliver("mulder", "INBOX", message(`m${i}`), {
      flags: deleted ? ["\\Deleted"] : [],
    });
  }
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(
    await client.command("a1", "EXPUNGE"),
    "* 3 EXPUNGE\r\n* 3 EXPUNGE\r\n* 5 EXPUNGE\r\n* 8 EXPUNGE\r\na1 OK EXPUNGE completed\r\n",
  );
  assertEquals(
    (await t.store.listMessages("mulder", "INBOX")).map((m) => m.uid),
    [1, 2, 5, 6, 8, 9, 10],
  );
  assertEquals(
    await client.command("a2", "FETCH 3 UID"),
    "* 3 FETCH (UID 5)\r\na2 OK FETCH completed\r\n",
  );
});

Deno.test("ImapServer UID EXPUNGE expunges only the named messages that have \\Deleted", async () => {
  await using t = startImapServer();
  for (let i = 1; i <= 4; i++) {
    await t.store.deliver("mulder", "INBOX", message(`m${i}`), {
      flags: i === 3 ? [] : ["\\Deleted"],
    });
  }
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(
    await client.command("a1", "UID EXPUNGE 2:3"),
    "* 2 EXPUNGE\r\na1 OK UID EXPUNGE completed\r\n",
  );
  assertEquals((await t.store.listMessages("mulder", "INBOX")).map((m) => m.uid), [1, 3, 4]);
});

Deno.test("ImapServer CLOSE expunges silently; UNSELECT does not expunge", async () => {
  await using t = startImapServer();
  await t.store.deliver("mulder", "INBOX", message("a"), { flags: ["\\Deleted"] });
  await t.store.deliver("mulder", "INBOX", message("b"), { flags: ["\\Deleted"] });
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(await client.command("a1", "UNSELECT"), "a1 OK UNSELECT completed\r\n");
  assertEquals((await t.store.status("mulder", "INBOX")).messages, 2);
  await client.command("a2", "EXAMINE INBOX");
  assertEquals(await client.command("a3", "CLOSE"), "a3 OK CLOSE completed\r\n");
  assertEquals((await t.store.status("mulder", "INBOX")).messages, 2);
  await client.command("a4", "SELECT INBOX");
  assertEquals(await client.command("a5", "CLOSE"), "a5 OK CLOSE completed\r\n");
  assertEquals((await t.store.status("mulder", "INBOX")).messages, 0);
  assertEquals(await client.command("a6", "EXPUNGE"), "a6 BAD No mailbox selected\r\n");
});

Deno.test("ImapServer COPY answers COPYUID and a missing target TRYCREATE", async () => {
  await using t = startImapServer();
  for (const s of ["a", "b", "c"]) {
    await t.store.deliver("mulder", "INBOX", message(s), { flags: ["\\Seen"] });
  }
  await t.store.createFolder("mulder", "Archive");
  const { uidValidity } = await t.store.status("mulder", "Archive");
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(
    await client.command("a1", "COPY 1,3 Archive"),
    `a1 OK [COPYUID ${uidValidity} 1,3 1:2] COPY completed\r\n`,
  );
  assertEquals(
    await client.command("a2", "UID COPY 2:* Archive"),
    `a2 OK [COPYUID ${uidValidity} 2:3 3:4] COPY completed\r\n`,
  );
  assertEquals(
    await client.command("a3", "COPY 1 Nowhere"),
    "a3 NO [TRYCREATE] Mailbox does not exist\r\n",
  );
  const copies = await t.store.listMessages("mulder", "Archive");
  assertEquals(copies.map((m) => m.flags), [["\\Seen"], ["\\Seen"], ["\\Seen"], ["\\Seen"]]);
});

Deno.test("ImapServer MOVE answers COPYUID and then EXPUNGE", async () => {
  await using t = startImapServer();
  for (const s of ["a", "b", "c", "d"]) await t.store.deliver("mulder", "INBOX", message(s));
  await t.store.createFolder("mulder", "Trash");
  const { uidValidity } = await t.store.status("mulder", "Trash");
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(
    await client.command("a1", "MOVE 2:3 Trash"),
    `* OK [COPYUID ${uidValidity} 2:3 1:2] Moved\r\n* 2 EXPUNGE\r\n* 2 EXPUNGE\r\na1 OK MOVE completed\r\n`,
  );
  assertEquals(
    await client.command("a2", "UID MOVE 4 Trash"),
    `* OK [COPYUID ${uidValidity} 4 3] Moved\r\n* 2 EXPUNGE\r\na2 OK UID MOVE completed\r\n`,
  );
  assertEquals(
    await client.command("a3", "MOVE 1 Nowhere"),
    "a3 NO [TRYCREATE] Mailbox does not exist\r\n",
  );
  assertEquals((await t.store.listMessages("mulder", "INBOX")).map((m) => m.uid), [1]);
  assertEquals((await t.store.status("mulder", "Trash")).messages, 3);
});

Deno.test("ImapServer hides internal errors behind NO [SERVERBUG]", async () => {
  class FailingStore extends MemoryMailStore {
    override listFolders(): Promise<never> {
      return Promise.reject(new Deno.errors.PermissionDenied("open /srv/mail/secret/.uidlist"));
    }
    override status(): Promise<never> {
      return Promise.reject(new MailStoreError("LIMIT", "Cannot read /srv/mail: internal detail"));
    }
  }
  await using t = startImapServer({ store: new FailingStore() });
  await using client = await loggedIn(t.port);
  const response = await client.command("a1", 'LIST "" *');
  assertEquals(response, "a1 NO [SERVERBUG] Internal server error\r\n");
  assertEquals(
    await client.command("a2", "STATUS INBOX (MESSAGES)"),
    "a2 NO [LIMIT] Limit exceeded\r\n",
  );
  assertEquals(t.errors.length, 1);
  assert(t.errors[0] instanceof Deno.errors.PermissionDenied);
  t.errors.length = 0;
});

Deno.test("ImapServer says BYE to waiting sessions when it shuts down", async () => {
  const t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.login();
  const shutdown = t.server.shutdown({ timeout: 2000 });
  assertEquals(await client.rest(), "* BYE Server shutting down\r\n");
  await shutdown;
  await t.store.close();
});

Deno.test("ImapServer answers untagged BAD to lines without a valid tag", async () => {
  await using t = startImapServer();
  const { client } = await RawImap.connect(t.port);
  await using _ = client;
  await client.send("\r\n");
  assertEquals(await client.line(), "* BAD Invalid or missing tag\r\n");
  await client.send("+ hello\r\n");
  assertEquals(await client.line(), "* BAD Invalid or missing tag\r\n");
  assertEquals(await client.command("a1", "NOOP"), "a1 OK NOOP completed\r\n");
  assertStringIncludes(await client.command("a]2", "NOOP"), "a]2 OK NOOP completed");
});
