import { ImapClient, type ImapClientOptions } from "../../mail/imap_client.ts";
import { ImapByeError, ImapError } from "../../mail/imap_error.ts";
import type { ImapEvent } from "../../mail/imap_types.ts";
import { MissingExtensionError } from "../../net/missing_extension_error.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { bytewise, ScriptedPeer, type ScriptStep } from "../_helpers/scripted_peer.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_helpers/assert.ts";

const GREETING = "* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE AUTH=PLAIN] ready\r\n";
const PLAIN_GREETING = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN] ready\r\n";
const encoder = new TextEncoder();

function open(steps: ScriptStep[], options: ImapClientOptions = {}) {
  const peer = new ScriptedPeer(steps);
  const imap = new ImapClient(peer, { idleTimeout: 2000, serverName: "localhost", ...options });
  return { peer, imap };
}

const text = async (stream: ReadableStream<Uint8Array> | undefined) =>
  await new Response(stream).text();

// ---- greeting and capabilities --------------------------------------------

Deno.test("ImapClient reads the greeting's capabilities before the first command", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 NOOP\r\n" },
    { send: "A1 OK done\r\n" },
  ]);
  assertEquals(imap.greeting, null);
  await imap.noop();
  assertEquals(imap.greeting?.text, "ready");
  assertEquals([...imap.capabilities], ["IMAP4REV1", "LITERAL+", "IDLE", "AUTH=PLAIN"]);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.capability() replaces what the greeting said", async () => {
  const { peer, imap } = open([
    { send: "* OK ready\r\n" },
    { expect: "A1 CAPABILITY\r\n" },
    { send: "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\nA1 OK done\r\n" },
  ]);
  const caps = await imap.capability();
  assertEquals([...caps], ["IMAP4REV1", "STARTTLS", "LOGINDISABLED"]);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient takes a PREAUTH greeting as logged in", async () => {
  const { peer, imap } = open([
    { send: "* PREAUTH [CAPABILITY IMAP4rev1] welcome back\r\n" },
    { expect: "A1 NOOP\r\n" },
    { send: "A1 OK done\r\n" },
  ]);
  await imap.noop();
  assert(imap.authenticated);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient throws a BYE greeting as ImapByeError and writes nothing", async () => {
  const { peer, imap } = open([{ send: "* BYE [UNAVAILABLE] Too many connections\r\n" }]);
  const error = await assertRejects(() => imap.noop(), ImapByeError, "Too many connections");
  assertEquals(error.code?.name, "UNAVAILABLE");
  assertEquals(peer.written, "");
  assert(imap.closed);
  await assertRejects(() => imap.noop(), ImapByeError);
  await peer.done;
});

// ---- logging in ------------------------------------------------------------

Deno.test("ImapClient.login() with LOGIN quotes the password and hides it in the log", async () => {
  const log: string[] = [];
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1] ready\r\n" },
    { expect: 'A1 LOGIN mulder "trust \\"no\\" 1"\r\n' },
    { send: "A1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n" },
  ], { debug: (line) => log.push(line) });
  await imap.login({ username: "mulder", password: 'trust "no" 1' });
  assert(imap.authenticated);
  assert(imap.capabilities.has("IDLE"));
  assert(log.includes("C: A1 LOGIN mulder ****"), log.join("\n"));
  assert(!log.join("\n").includes("trust"));
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.login() sends an 8-bit password as a literal, waiting for +", async () => {
  const password = "pässwörd";
  const size = encoder.encode(password).length;
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1] ready\r\n" },
    { expect: `A1 LOGIN mulder {${size}}\r\n` },
    { send: "+ Ready for literal data\r\n" },
    { expect: `${password}\r\n` },
    { send: "A1 OK Logged in\r\n" },
  ]);
  await imap.login({ username: "mulder", password }, { mechanism: "LOGIN" });
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.login() uses a non-synchronizing literal with LITERAL+", async () => {
  const password = "pässwörd";
  const size = encoder.encode(password).length;
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n" },
    { expect: `A1 LOGIN mulder {${size}+}\r\n${password}\r\n` },
    { send: "A1 OK Logged in\r\n" },
  ]);
  await imap.login({ username: "mulder", password }, { mechanism: "LOGIN" });
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.login() refused is an ImapError with the response code", async () => {
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1] ready\r\n" },
    { expect: "A1 LOGIN mulder wrong\r\n" },
    { send: "A1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n" },
    { expect: "A2 NOOP\r\n" },
    { send: "A2 OK\r\n" },
  ]);
  const error = await assertRejects(
    () => imap.login({ username: "mulder", password: "wrong" }),
    ImapError,
    "NO [AUTHENTICATIONFAILED] Authentication failed.",
  );
  assertEquals([error.status, error.responseCode?.name, error.command], [
    "NO",
    "AUTHENTICATIONFAILED",
    "LOGIN",
  ]);
  assert(!imap.authenticated);
  await imap.noop();
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.login() picks AUTHENTICATE PLAIN with SASL-IR when offered", async () => {
  const log: string[] = [];
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n" },
    { expect: "A1 AUTHENTICATE PLAIN AG11bGRlcgB0cnVzdG5vMQ==\r\n" },
    { send: "A1 OK Logged in\r\n" },
  ], { debug: (l) => log.push(l) });
  await imap.login({ username: "mulder", password: "trustno1" });
  assert(imap.authenticated);
  assert(log.includes("C: A1 AUTHENTICATE PLAIN ****"));
  assert(!log.join("\n").includes("AG11"));
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.authenticate() answers challenges without SASL-IR", async () => {
  const log: string[] = [];
  const { peer, imap } = open([
    { send: PLAIN_GREETING },
    { expect: "A1 AUTHENTICATE LOGIN\r\n" },
    { send: "+ VXNlcm5hbWU6\r\n" },
    { expect: "bXVsZGVy\r\n" },
    { send: "+ UGFzc3dvcmQ6\r\n" },
    { expect: "dHJ1c3RubzE=\r\n" },
    { send: "A1 OK Logged in\r\n" },
  ], { debug: (l) => log.push(l) });
  await imap.authenticate({ username: "mulder", password: "trustno1" }, { mechanism: "LOGIN" });
  assertEquals(log.filter((l) => l === "S: + ****").length, 2);
  assertEquals(log.filter((l) => l === "C: ****").length, 2);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.authenticate() cancels with * on a bad challenge and keeps the session", async () => {
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1 AUTH=CRAM-MD5] ready\r\n" },
    { expect: "A1 AUTHENTICATE CRAM-MD5\r\n" },
    { send: "+ !!not base64\r\n" },
    { expect: "*\r\n" },
    { send: "A1 BAD Authentication canceled\r\n" },
    { expect: "A2 NOOP\r\n" },
    { send: "A2 OK\r\n" },
  ], { serverName: "imap.example.test" });
  const error = await assertRejects(
    () => imap.login({ username: "mulder", password: "trustno1" }),
    ProtocolError,
  );
  assertEquals(error.code, "BAD_CHALLENGE");
  await imap.noop();
  await peer.done;
  imap.close();
});

Deno.test("ImapClient refuses to send a password in clear to a host that is not loopback", async () => {
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n" },
  ], { serverName: "imap.example.test" });
  await assertRejects(
    () => imap.login({ username: "mulder", password: "trustno1" }),
    TypeError,
    "without TLS",
  );
  await assertRejects(
    () => imap.authenticate({ username: "mulder", password: "x" }, { mechanism: "PLAIN" }),
    TypeError,
  );
  assertEquals(peer.written, "");
  assert(!imap.closed);
  imap.close();
});

Deno.test("ImapClient.login() honours LOGINDISABLED", async () => {
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n" },
  ]);
  const error = await assertRejects(
    () => imap.login({ username: "mulder", password: "trustno1" }),
    MissingExtensionError,
  );
  assertEquals(error.extension, "LOGIN");
  assertEquals(peer.written, "");
  imap.close();
});

Deno.test("ImapClient refuses CR, LF and NUL in every argument before writing", async () => {
  const { peer, imap } = open([{ send: GREETING }]);
  for (const bad of ["INBOX\r\nA9 DELETE INBOX", "a\nb", "a\0b"]) {
    await assertRejects(() => imap.login({ username: bad, password: "x" }, { mechanism: "LOGIN" }));
    await assertRejects(() => imap.login({ username: "x", password: bad }, { mechanism: "LOGIN" }));
    assertThrows(() => imap.authenticate({ username: bad, password: "x" }), TypeError);
    assertThrows(() => imap.authenticate({ username: "x", password: bad }), TypeError);
    assertThrows(() => imap.select(bad), TypeError);
    assertThrows(() => imap.examine(bad), TypeError);
    assertThrows(() => imap.create(bad), TypeError);
    assertThrows(() => imap.delete(bad), TypeError);
    assertThrows(() => imap.rename("a", bad), TypeError);
    assertThrows(() => imap.subscribe(bad), TypeError);
    assertThrows(() => imap.status(bad), TypeError);
    assertThrows(() => imap.list(bad), TypeError);
    assertThrows(() => imap.copy(1, bad), TypeError);
    assertThrows(() => imap.append(bad, "x"), TypeError);
    assertThrows(() => imap.search(bad), TypeError);
    assertThrows(() => imap.search({ subject: bad }), TypeError);
    assertThrows(() => imap.search({ header: [["X-Test", bad]] }), TypeError);
    assertThrows(() => imap.store(1, [bad]), TypeError);
    assertThrows(() => imap.append("INBOX", "x", { flags: [bad] }), TypeError);
    assertThrows(() => imap.fetch(1, [`BODY[${bad}]`]), TypeError);
    assertThrows(() => imap.fetch(bad, ["UID"]), TypeError);
    assertThrows(() => imap.id({ name: bad }), TypeError);
  }
  assertThrows(() => imap.store(1, ["\\Seen)\r\nA9 LOGOUT"]), TypeError);
  assertThrows(() => imap.fetch(1, "UID) A9 LOGOUT"), TypeError);
  assertThrows(() => imap.search({ keyword: "a b" }), TypeError);
  assertThrows(() => imap.enable(["UTF8=ACCEPT\r\n"]), TypeError);
  await assertRejects(() => imap.fetchBody(0), RangeError);
  assertEquals(peer.written, "");
  imap.close();
});

// ---- mailboxes ----------------------------------------------------------

Deno.test("ImapClient.select() records EXISTS, FLAGS, UIDVALIDITY, UIDNEXT and friends", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 SELECT INBOX (CONDSTORE)\r\n" },
    {
      send: [
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.",
        "* 2 EXISTS",
        "* 0 RECENT",
        "* OK [UNSEEN 2] First unseen.",
        "* OK [UIDVALIDITY 1796297559] UIDs valid",
        "* OK [UIDNEXT 27] Predicted next UID",
        "* OK [HIGHESTMODSEQ 67] Highest",
        "A1 OK [READ-WRITE] Select completed.",
        "",
      ].join("\r\n"),
    },
  ]);
  const mailbox = await imap.select("INBOX", { condstore: true });
  assertEquals(mailbox, {
    name: "INBOX",
    readOnly: false,
    exists: 2,
    recent: 0,
    flags: ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"],
    permanentFlags: ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\*"],
    uidValidity: 1796297559,
    uidNext: 27,
    unseen: 2,
    highestModseq: 67n,
  });
  assertEquals(imap.mailbox, mailbox);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.select() that fails leaves no mailbox selected", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 EXAMINE INBOX\r\n" },
    { send: "* 1 EXISTS\r\nA1 OK [READ-ONLY] done\r\n" },
    { expect: "A2 SELECT Junk\r\n" },
    { send: "A2 NO [NONEXISTENT] Mailbox doesn't exist: Junk\r\n" },
  ]);
  assertEquals((await imap.examine("INBOX")).readOnly, true);
  const error = await assertRejects(() => imap.select("Junk"), ImapError);
  assertEquals(error.responseCode?.name, "NONEXISTENT");
  assertEquals(imap.mailbox, null);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient encodes mailbox names in modified UTF-7 and decodes LIST names", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: 'A1 LIST "" "*"\r\n' },
    {
      send: '* LIST (\\HasNoChildren) "/" Entw&APw-rfe\r\n' +
        '* LIST (\\HasNoChildren \\Drafts) "/" "Sent Items"\r\n' +
        '* LIST () "/" "a {5}"\r\n' +
        '* LIST (\\Noselect) "/" {4}\r\nBox!\r\n' +
        "A1 OK done\r\n",
    },
    { expect: "A2 SELECT Entw&APw-rfe\r\n" },
    { send: "A2 OK done\r\n" },
    { expect: 'A3 CREATE "Sent Items/&ZeVnLIqe-"\r\n' },
    { send: "A3 OK done\r\n" },
  ]);
  const list = await imap.list();
  assertEquals(list.map((m) => m.name), ["Entwürfe", "Sent Items", "a {5}", "Box!"]);
  assertEquals(list[0]!.rawName, "Entw&APw-rfe");
  assertEquals(list[1]!.flags, ["\\HasNoChildren", "\\Drafts"]);
  await imap.select("Entwürfe");
  await imap.create("Sent Items/日本語");
  await peer.done;
  imap.close();
});

Deno.test("ImapClient sends UTF-8 mailbox names after ENABLE UTF8=ACCEPT", async () => {
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT] ready\r\n" },
    { expect: "A1 ENABLE UTF8=ACCEPT\r\n" },
    { send: "* ENABLED UTF8=ACCEPT\r\nA1 OK done\r\n" },
    { expect: 'A2 SELECT "Entwürfe"\r\n' },
    { send: "A2 OK done\r\n" },
    { expect: 'A3 LSUB "" "*"\r\n' },
    { send: '* LSUB () "/" "Entwürfe"\r\nA3 OK done\r\n' },
  ]);
  assertEquals(await imap.enable(["UTF8=ACCEPT"]), ["UTF8=ACCEPT"]);
  assert(imap.utf8);
  assert(imap.enabled.has("UTF8=ACCEPT"));
  await imap.select("Entwürfe");
  assertEquals((await imap.lsub())[0]!.name, "Entwürfe");
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.status() returns the counters", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 STATUS Archive (MESSAGES UIDNEXT)\r\n" },
    { send: "* STATUS Archive (MESSAGES 1 UIDNEXT 2)\r\nA1 OK done\r\n" },
  ]);
  const status = await imap.status("Archive", ["MESSAGES", "UIDNEXT"]);
  assertEquals([status.mailbox, status.messages, status.uidNext], ["Archive", 1, 2]);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient mailbox management commands write their exact bytes", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 CREATE Work\r\n" },
    { send: "A1 OK\r\n" },
    { expect: "A2 RENAME Work Play\r\n" },
    { send: "A2 OK\r\n" },
    { expect: "A3 SUBSCRIBE Play\r\n" },
    { send: "A3 OK\r\n" },
    { expect: "A4 UNSUBSCRIBE Play\r\n" },
    { send: "A4 OK\r\n" },
    { expect: "A5 DELETE Play\r\n" },
    { send: "A5 NO [NONEXISTENT] gone\r\n" },
    { expect: "A6 ID NIL\r\n" },
    { send: '* ID ("name" "Dovecot" "version" NIL)\r\nA6 OK\r\n' },
  ]);
  await imap.create("Work");
  await imap.rename("Work", "Play");
  await imap.subscribe("Play");
  await imap.unsubscribe("Play");
  await assertRejects(() => imap.delete("Play"), ImapError, "NONEXISTENT");
  assertEquals(await imap.id(null), new Map([["name", "Dovecot"], ["version", null]]));
  await peer.done;
  imap.close();
});

// ---- messages ------------------------------------------------------------

Deno.test("ImapClient.search() compiles criteria: quoting, literals, CHARSET, NOT and OR", async () => {
  const subject = "Grüße";
  const size = encoder.encode(subject).length;
  const { peer, imap } = open([
    { send: GREETING },
    {
      expect: 'A1 SEARCH UNSEEN FROM "skinner" SINCE 1-Feb-2024 NOT (DELETED) ' +
        "OR (FLAGGED) (LARGER 1000)\r\n",
    },
    { send: "* SEARCH 3 1 2\r\nA1 OK\r\n" },
    { expect: `A2 UID SEARCH CHARSET UTF-8 SUBJECT {${size}+}\r\n${subject}\r\n` },
    { send: "* SEARCH\r\nA2 OK\r\n" },
    { expect: 'A3 SEARCH HEADER "Message-ID" "<1@example.test>"\r\n' },
    { send: "* SEARCH 5\r\nA3 OK\r\n" },
    { expect: "A4 SEARCH UNSEEN\r\n" },
    { send: "A4 NO [BADCHARSET (US-ASCII)] nope\r\n" },
  ]);
  assertEquals(
    await imap.search({
      seen: false,
      from: "skinner",
      since: new Date("2024-02-01T12:00:00Z"),
      not: { deleted: true },
      or: [{ flagged: true }, { larger: 1000 }],
    }),
    [1, 2, 3],
  );
  assertEquals(await imap.search({ subject }, { uid: true }), []);
  assertEquals(await imap.search({ header: { "Message-ID": "<1@example.test>" } }), [5]);
  const error = await assertRejects(() => imap.search("UNSEEN"), ImapError);
  assertEquals(error.responseCode?.name, "BADCHARSET");
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.search() refuses unknown or empty criteria", () => {
  const { imap } = open([{ send: GREETING }]);
  assertThrows(() => imap.search({}), TypeError);
  assertThrows(() => imap.search({ unknown: 1 } as never), TypeError);
  assertThrows(() => imap.search(""), TypeError);
  assertThrows(() => imap.search({ larger: -1 }), RangeError);
  imap.close();
});

Deno.test("ImapClient.fetch() decodes UID, FLAGS, INTERNALDATE, ENVELOPE, BODYSTRUCTURE and sections", async () => {
  const envelope = '("Tue, 14 Nov 2023 22:13:21 +0000" "Test message one" ' +
    '(("Walter Skinner" NIL "skinner" "example.test")) NIL NIL ' +
    '(("Fox Mulder" NIL "mulder" "example.test")) NIL NIL NIL "<peers-msg-1@example.test>")';
  const { peer, imap } = open([
    { send: GREETING },
    {
      expect:
        "A1 FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (Subject)])\r\n",
    },
    {
      send: `* 1 FETCH (UID 1 FLAGS (\\Seen) INTERNALDATE "03-Dec-2026 11:32:21 +0000" ` +
        `RFC822.SIZE 343 ENVELOPE ${envelope} ` +
        `BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 52 2 NIL NIL NIL NIL) ` +
        `BODY[HEADER.FIELDS (SUBJECT)] {29}\r\nSubject: Test message one\r\n\r\n)\r\n` +
        "* 1 FETCH (FLAGS (\\Seen \\Flagged))\r\n" +
        "A1 OK Fetch completed\r\n",
    },
  ]);
  const [message, ...rest] = await imap.fetch("1:*", [
    "UID",
    "FLAGS",
    "INTERNALDATE",
    "RFC822.SIZE",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BODY.PEEK[HEADER.FIELDS (Subject)]",
  ]);
  assertEquals(rest, []);
  assertEquals(message!.uid, 1);
  assertEquals(message!.flags, ["\\Seen", "\\Flagged"]);
  assertEquals(message!.internalDate?.toISOString(), "2026-12-03T11:32:21.000Z");
  assertEquals(message!.rfc822Size, 343);
  assertEquals(message!.envelope?.subject, "Test message one");
  assertEquals(message!.envelope?.from, [{
    name: "Walter Skinner",
    address: "skinner@example.test",
  }]);
  assertEquals(message!.bodyStructure?.kind === "single" && message!.bodyStructure.size, 52);
  const section = message!.body.get("HEADER.FIELDS (SUBJECT)");
  assertEquals(new TextDecoder().decode(section?.data!), "Subject: Test message one\r\n\r\n");
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.fetch() sends a macro alone and parses a split response byte by byte", async () => {
  const response = encoder.encode(
    "* 2 FETCH (UID 8 BODY[] {6}\r\nhi\r\nyo RFC822.SIZE 6)\r\nA1 OK\r\n",
  );
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 UID FETCH 8 FAST\r\n" },
    ...bytewise(response).map((b) => ({ send: b })),
  ]);
  const [m] = await imap.fetch(8, "fast", { uid: true });
  assertEquals(m!.seq, 2);
  assertEquals(new TextDecoder().decode(m!.body.get("")!.data!), "hi\r\nyo");
  assertEquals(m!.rfc822Size, 6);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.fetch() refuses a body over maxLiteralSize before reading it (literal bomb)", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 FETCH 1 (BODY[])\r\n" },
    { send: "* 1 FETCH (BODY[] {99999999999}\r\n" },
  ], { maxLiteralSize: 1024 });
  const error = await assertRejects(() => imap.fetch(1, ["BODY[]"]), ProtocolError);
  assertEquals(error.code, "LITERAL_TOO_LARGE");
  assert(imap.closed);
  await peer.done;
});

Deno.test("ImapClient caps string literals (maxInlineLiteral) and response lines", async () => {
  const big = open([
    { send: GREETING },
    { expect: 'A1 LIST "" "*"\r\n' },
    { send: '* LIST () "/" {2000}\r\n' },
  ], { maxInlineLiteral: 1000 });
  const error = await assertRejects(() => big.imap.list(), ProtocolError);
  assertEquals(error.code, "LITERAL_TOO_LARGE");
  await big.peer.done;

  const long = open([
    { send: GREETING },
    { expect: "A1 NOOP\r\n" },
    { send: `* OK ${"x".repeat(5000)}\r\n` },
  ], { maxLineLength: 4096 });
  const lineError = await assertRejects(() => long.imap.noop(), ProtocolError);
  assertEquals(lineError.code, "LINE_TOO_LONG");
  assert(long.imap.closed);
  await long.peer.done;
});

Deno.test("ImapClient refuses a tagged response for another tag", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 NOOP\r\n" },
    { send: "A7 OK forged\r\n" },
  ]);
  const error = await assertRejects(() => imap.noop(), ProtocolError);
  assertEquals(error.code, "BAD_REPLY");
  assert(imap.closed);
  await peer.done;
});

Deno.test("ImapClient.fetchBody() streams one section and holds the connection until read", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 UID FETCH 7 (UID BODY.PEEK[TEXT]<0.100>)\r\n" },
    { send: "* 3 FETCH (UID 7 BODY[TEXT]<0> {11}\r\nhello world FLAGS (\\Seen))\r\n" },
    { send: "A1 OK done\r\n" },
    { expect: "A2 NOOP\r\n" },
    { send: "A2 OK\r\n" },
  ]);
  const body = await imap.fetchBody(7, { uid: true, section: "TEXT", partial: [0, 100] });
  assertEquals([body?.seq, body?.uid, body?.size, body?.section], [3, 7, 11, "TEXT"]);
  const next = imap.noop(); // queued behind the body
  assertEquals(await text(body?.stream), "hello world");
  await next;
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.fetchBody() returns null when there is no such message", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 UID FETCH 99 (UID BODY[])\r\n" },
    { send: "A1 OK Fetch completed\r\n" },
  ]);
  assertEquals(await imap.fetchBody(99, { uid: true, peek: false }), null);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.fetchBody() cancelled mid-way drains a short rest and keeps the connection", async () => {
  const content = "x".repeat(300000);
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 FETCH 1 (UID BODY.PEEK[])\r\n" },
    { send: `* 1 FETCH (UID 5 BODY[] {${content.length}}\r\n${content})\r\nA1 OK\r\n` },
    { expect: "A2 NOOP\r\n" },
    { send: "A2 OK still here\r\n" },
  ]);
  const body = await imap.fetchBody(1);
  const reader = body!.stream.getReader();
  await reader.read();
  await reader.cancel();
  await imap.noop();
  assert(!imap.closed);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.fetchBody() cancelled with more than drainLimit left closes the connection", async () => {
  const content = "x".repeat(300000);
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 FETCH 1 (UID BODY.PEEK[])\r\n" },
    { send: `* 1 FETCH (UID 5 BODY[] {${content.length}}\r\n${content})\r\nA1 OK\r\n` },
  ], { drainLimit: 1000 });
  const body = await imap.fetchBody(1);
  const reader = body!.stream.getReader();
  await reader.read();
  await reader.cancel();
  assert(imap.closed);
  await assertRejects(() => imap.noop(), TypeError);
  await peer.done;
});

Deno.test("ImapClient.fetchBody() reads from the socket only as the consumer pulls", async () => {
  let pulled = 0;
  let sent = false;
  const piece = encoder.encode("y".repeat(16384));
  const size = 100 * 1024 * 1024;
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(encoder.encode(GREETING));
    },
    pull(c) {
      if (!sent) {
        sent = true;
        c.enqueue(encoder.encode(`* 1 FETCH (UID 1 BODY[] {${size}}\r\n`));
        return;
      }
      pulled += piece.length;
      c.enqueue(piece);
    },
  }, { highWaterMark: 0 });
  const imap = new ImapClient({ readable, writable: new WritableStream(), close() {} });
  const body = await imap.fetchBody(1);
  const reader = body!.stream.getReader();
  for (let i = 0; i < 10; i++) await reader.read();
  assert(pulled < 2 * 1024 * 1024, `read ${pulled} bytes ahead of a consumer that took 10 pieces`);
  imap.close();
  await reader.cancel().catch(() => {});
});

Deno.test("ImapClient.store(), copy(), move() and expunge() report what the server said", async () => {
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1 MOVE UIDPLUS] ready\r\n" },
    { expect: "A1 UID STORE 4:5 +FLAGS (\\Seen $Forwarded)\r\n" },
    { send: "* 1 FETCH (UID 4 FLAGS (\\Seen $Forwarded))\r\nA1 OK\r\n" },
    { expect: "A2 STORE 1 -FLAGS.SILENT (\\Seen)\r\n" },
    { send: "A2 OK\r\n" },
    { expect: "A3 UID COPY 4 Archive\r\n" },
    { send: "A3 OK [COPYUID 38505 4 9] Done\r\n" },
    { expect: "A4 UID MOVE 5 Archive\r\n" },
    { send: "* OK [COPYUID 38505 5 10] Moved\r\n* 2 EXPUNGE\r\nA4 OK Done\r\n" },
    { expect: "A5 EXPUNGE\r\n" },
    { send: "* 3 EXPUNGE\r\n* 3 EXPUNGE\r\nA5 OK\r\n" },
    { expect: "A6 UID EXPUNGE 7:8\r\n" },
    { send: "* 1 EXPUNGE\r\nA6 OK\r\n" },
  ]);
  const stored = await imap.store([[4, 5]], ["\\Seen", "$Forwarded"], { uid: true });
  assertEquals(stored.map((d) => [d.uid, d.flags]), [[4, ["\\Seen", "$Forwarded"]]]);
  assertEquals(await imap.store(1, ["\\Seen"], { operation: "remove", silent: true }), []);
  assertEquals(await imap.copy(4, "Archive", { uid: true }), {
    uidValidity: 38505,
    sourceUids: [[4, 4]],
    destinationUids: [[9, 9]],
  });
  assertEquals((await imap.move(5, "Archive", { uid: true }))?.destinationUids, [[10, 10]]);
  assertEquals(await imap.expunge(), [3, 3]);
  assertEquals(await imap.expunge({ uids: [[7, 8]] }), [1]);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.move() without MOVE copies, flags and UID EXPUNGEs exactly those messages", async () => {
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1 UIDPLUS] ready\r\n" },
    { expect: "A1 UID COPY 4,6 Trash\r\n" },
    { send: "A1 OK [COPYUID 7 4,6 1:2] Done\r\n" },
    { expect: "A2 UID STORE 4,6 +FLAGS.SILENT (\\Deleted)\r\n" },
    { send: "A2 OK\r\n" },
    { expect: "A3 UID EXPUNGE 4,6\r\n" },
    { send: "* 2 EXPUNGE\r\n* 1 EXPUNGE\r\nA3 OK\r\n" },
  ]);
  const mapping = await imap.move([4, 6], "Trash", { uid: true });
  assertEquals(mapping?.destinationUids, [[1, 2]]);
  await peer.done;
  imap.close();

  const bare = open([{ send: "* OK [CAPABILITY IMAP4rev1] ready\r\n" }]);
  const error = await assertRejects(() => bare.imap.move(1, "Trash"), MissingExtensionError);
  assertEquals(error.extension, "MOVE");
  assertEquals(bare.peer.written, "");
  bare.imap.close();
});

Deno.test("ImapClient.append() waits for + before a synchronizing literal", async () => {
  const message = "Subject: hi\r\n\r\nhello\r\n";
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1 UIDPLUS] ready\r\n" },
    {
      expect:
        `A1 APPEND Drafts (\\Seen \\Draft) "17-Jul-1996 09:44:25 +0000" {${message.length}}\r\n`,
    },
    { send: "+ Ready for literal data\r\n" },
    { expect: `${message}\r\n` },
    { send: "A1 OK [APPENDUID 38505 3955] Append completed\r\n" },
  ]);
  const result = await imap.append("Drafts", message, {
    flags: ["\\Seen", "\\Draft"],
    date: new Date("1996-07-17T09:44:25Z"),
  });
  assertEquals(result, { uidValidity: 38505, uid: 3955 });
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.append() sends LITERAL+ at once, and a refusal before + sends no body", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 APPEND INBOX {5+}\r\nhello\r\n" },
    { send: "A1 OK Append completed\r\n" },
  ]);
  assertEquals(await imap.append("INBOX", "hello"), { uidValidity: null, uid: null });
  await peer.done;
  imap.close();

  const refused = open([
    { send: "* OK [CAPABILITY IMAP4rev1] ready\r\n" },
    { expect: "A1 APPEND Nowhere {5}\r\n" },
    { send: "A1 NO [TRYCREATE] Mailbox doesn't exist: Nowhere\r\n" },
    { expect: "A2 NOOP\r\n" },
    { send: "A2 OK\r\n" },
  ]);
  const error = await assertRejects(() => refused.imap.append("Nowhere", "hello"), ImapError);
  assertEquals(error.responseCode?.name, "TRYCREATE");
  await refused.imap.noop();
  await refused.peer.done;
  refused.imap.close();
});

Deno.test("ImapClient.append() streams a body of known size and checks its length", async () => {
  const chunks = ["Subject: s\r\n", "\r\n", "streamed\r\n"];
  const size = chunks.join("").length;
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1] ready\r\n" },
    { expect: `A1 APPEND INBOX {${size}}\r\n` },
    { send: "+ go\r\n" },
    { expect: `${chunks.join("")}\r\n` },
    { send: "A1 OK\r\n" },
    { expect: "A2 APPEND INBOX {100}\r\n" },
    { send: "+ go\r\n" },
  ]);
  const stream = ReadableStream.from(chunks.map((c) => encoder.encode(c)));
  await imap.append("INBOX", stream, { size });
  await assertRejects(
    () => imap.append("INBOX", ReadableStream.from([encoder.encode("short")]), { size: 100 }),
    RangeError,
    "5 bytes, not the announced 100",
  );
  assert(imap.closed);
  assertThrows(
    () => imap.append("INBOX", ReadableStream.from([encoder.encode("x")])),
    TypeError,
    "size",
  );
  await peer.done;
});

Deno.test("ImapClient.closeMailbox(), unselect() and logout() end what they should", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 SELECT INBOX\r\n" },
    { send: "A1 OK\r\n" },
    { expect: "A2 CLOSE\r\n" },
    { send: "A2 OK\r\n" },
    { expect: "A3 UNSELECT\r\n" },
    { send: "A3 BAD No mailbox selected\r\n" },
    { expect: "A4 LOGOUT\r\n" },
    { send: "* BYE Logging out\r\nA4 OK Logout completed\r\n" },
  ]);
  await imap.select("INBOX");
  await imap.closeMailbox();
  assertEquals(imap.mailbox, null);
  await assertRejects(() => imap.unselect(), ImapError, "BAD");
  await imap.logout();
  assert(imap.closed);
  await peer.done;
});

Deno.test("ImapClient.logout() accepts a server that closes right after BYE", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 LOGOUT\r\n" },
    { send: "* BYE Logging out\r\n" },
    { close: true },
  ]);
  await imap.logout();
  assert(imap.closed);
  await peer.done;
});

// ---- untagged data, BYE, events --------------------------------------------

Deno.test("ImapClient reports untagged data that arrives between commands as events", async () => {
  const events: ImapEvent[] = [];
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 SELECT INBOX\r\n" },
    { send: "* 2 EXISTS\r\nA1 OK\r\n" },
    { sleep: 20 },
    { send: "* 3 EXISTS\r\n* 1 RECENT\r\n* 1 FETCH (FLAGS (\\Seen))\r\n* 1 EXPUNGE\r\n" },
    { sleep: 20 },
    { expect: "A2 NOOP\r\n" },
    { send: "A2 OK\r\n" },
  ], { onEvent: (e) => events.push(e) });
  await imap.select("INBOX");
  while (events.filter((e) => e.kind === "expunge").length === 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
  // Read without a command running: the mailbox state followed.
  assertEquals(imap.mailbox?.exists, 2);
  assertEquals(imap.mailbox?.recent, 1);
  assertEquals(events.map((e) => e.kind), ["ok", "exists", "exists", "recent", "fetch", "expunge"]);
  assertEquals(await imap.noop(), []);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient closes on an unsolicited BYE between commands; later commands throw ImapByeError", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 NOOP\r\n" },
    { send: "A1 OK\r\n" },
    { sleep: 10 },
    { send: "* BYE Disconnected for inactivity.\r\n" },
    { close: true },
  ]);
  const events: string[] = [];
  imap.onEvent((e) => events.push(e.kind));
  await imap.noop();
  while (!imap.closed) await new Promise((r) => setTimeout(r, 5));
  assertEquals(events, ["ok", "bye"]);
  const error = await assertRejects(() => imap.noop(), ImapByeError, "inactivity");
  assertInstanceOf(error, ImapByeError);
  assertEquals(peer.written, "A1 NOOP\r\n");
  await peer.done;
});

Deno.test("ImapClient fails the command in flight with ImapByeError when the server says BYE", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 FETCH 1:* (UID)\r\n" },
    { send: "* 1 FETCH (UID 1)\r\n* BYE Server shutting down.\r\n" },
    { close: true },
  ]);
  const error = await assertRejects(() => imap.fetch("1:*", ["UID"]), ImapByeError);
  assertEquals(error.text, "Server shutting down.");
  assert(imap.closed);
  await assertRejects(() => imap.noop(), ImapByeError);
  await peer.done;
});

Deno.test("ImapClient reports EOF without BYE as UNEXPECTED_EOF", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 NOOP\r\n" },
    { close: true },
  ]);
  const error = await assertRejects(() => imap.noop(), ProtocolError);
  assertEquals(error.code, "UNEXPECTED_EOF");
  await peer.done;
});

Deno.test("ImapClient runs concurrent commands one after another in call order", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 NOOP\r\n" },
    { send: "A1 OK\r\n" },
    { expect: "A2 CAPABILITY\r\n" },
    { send: "* CAPABILITY IMAP4rev1\r\nA2 OK\r\n" },
    { expect: "A3 NOOP\r\n" },
    { send: "A3 OK\r\n" },
  ]);
  await Promise.all([imap.noop(), imap.capability(), imap.noop()]);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient aborts a command on its signal and closes the connection", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 NOOP\r\n" },
    { sleep: 200 },
  ]);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("user gave up")), 20);
  await assertRejects(() => imap.noop({ signal: controller.signal }), Error, "user gave up");
  assert(imap.closed);
  await peer.done;
});

Deno.test("ImapClient times out a stalled command", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 NOOP\r\n" },
    { sleep: 300 },
  ]);
  const error = await assertRejects(() => imap.noop({ timeout: 50 }), DOMException);
  assertEquals(error.name, "TimeoutError");
  await peer.done;
});

Deno.test("ImapClient.startTls() refuses bytes sent before the handshake (STARTTLS_INJECTION)", async () => {
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n" },
    { expect: "A1 STARTTLS\r\n" },
    { send: "A1 OK Begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n" },
  ]);
  const error = await assertRejects(() => imap.startTls(), ProtocolError);
  assertEquals(error.code, "STARTTLS_INJECTION");
  assert(imap.closed);
  await peer.done;
});

Deno.test("ImapClient debug log shows commands, summarised responses and literal sizes", async () => {
  const log: string[] = [];
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1] ready\r\n" },
    { expect: "A1 APPEND INBOX {2}\r\n" },
    { send: "+ go\r\n" },
    { expect: "hi\r\n" },
    { send: "A1 OK\r\n" },
  ], { debug: (l) => log.push(l) });
  await imap.append("INBOX", "hi");
  assertEquals(log, [
    "S: * OK [CAPABILITY (IMAP4REV1)] ready",
    "C: A1 APPEND INBOX {2}",
    "S: + go",
    "C: <2 octets>",
    "S: A1 OK ",
  ]);
  await peer.done;
  imap.close();
});

Deno.test("ImapError and ImapByeError messages name the command and the server's words", () => {
  const error = new ImapError("BAD", null, "Error in IMAP command", { command: "FETCH" });
  assertStringIncludes(error.message, "Cannot run FETCH: server replied BAD Error in IMAP command");
  assertEquals(error.name, "ImapError");
  const bye = new ImapByeError({ name: "ALERT", value: null }, "going down");
  assertStringIncludes(bye.message, "BYE [ALERT] going down");
});

Deno.test("ImapClient closes when a tagged response arrives while no command runs", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 NOOP\r\n" },
    { send: "A1 OK\r\n" },
    { sleep: 10 },
    { send: "A2 OK forged ahead of its command\r\n" },
  ]);
  await imap.noop();
  while (!imap.closed) await new Promise((r) => setTimeout(r, 5));
  const error = await assertRejects(() => imap.noop(), ProtocolError);
  assertEquals(error.code, "BAD_REPLY");
  assertEquals(peer.written, "A1 NOOP\r\n");
  await peer.done;
});

Deno.test("ImapClient [Symbol.asyncDispose] says LOGOUT, or closes at once while a body holds the connection", async () => {
  const peer = new ScriptedPeer([
    { send: GREETING },
    { expect: "A1 NOOP\r\n" },
    { send: "A1 OK\r\n" },
    { expect: "A2 LOGOUT\r\n" },
    { send: "* BYE bye\r\nA2 OK\r\n" },
  ]);
  {
    await using imap = new ImapClient(peer);
    await imap.noop();
  }
  await peer.done;

  const busy = open([
    { send: GREETING },
    { expect: "A1 FETCH 1 (UID BODY.PEEK[])\r\n" },
    { send: "* 1 FETCH (UID 1 BODY[] {10}\r\nhello" },
  ]);
  const body = await busy.imap.fetchBody(1);
  await busy.imap[Symbol.asyncDispose]();
  assert(busy.imap.closed);
  assertEquals(busy.peer.written, "A1 FETCH 1 (UID BODY.PEEK[])\r\n");
  await new Response(body!.stream).arrayBuffer().catch(() => {});
  await busy.peer.done;
});
