/**
 * ImapServer FETCH: items, macros, body sections and partials, ENVELOPE
 * and BODYSTRUCTURE (checked against what Dovecot 2.3 answers for the same
 * messages), the `\Seen` rules, and bodies streamed from the store.
 */
import type { MailboxView, MailStore } from "../../mail/mail_store.ts";
import { MaildirStore } from "../../mail/maildir_store.ts";
import { MemoryMailStore } from "../../mail/memory_mail_store.ts";
import { MAIL_VIEW_READ_SMALL, type MailViewReadSmall } from "../../mail/_mail_store_engine.ts";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { binary, loggedIn, message, startImapServer, utf8 } from "./_imap_server_helpers.ts";

const MULTIPART = "Subject: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n" +
  "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n\r\na\r\n\r\n" +
  "--b\r\nContent-Type: text/plain\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\ny\r\n--b--\r\nepi\r\n";
const ENCLOSING = "Subject: e\r\nContent-Type: message/rfc822\r\n\r\n" +
  "Subject: inner\r\nFrom: A <a@b.c>\r\n\r\nbody\r\nline2\r\n";
const ADDRESSES = 'From: "Doe, J" <j@x.y>, grp: a@b.c, d@e.f;, =?utf-8?q?Z=C3=B6e?= <z@x.y>\r\n' +
  "To: undisclosed-recipients:;\r\nCc: bare\r\nSubject: g\r\n" +
  'Content-Type: text/plain; charset="utf-8"; format=flowed\r\n' +
  'Content-Disposition: attachment; filename="a b.txt"\r\nContent-Language: en\r\n\r\nx\r\n';

Deno.test("ImapServer FETCH BODYSTRUCTURE and ENVELOPE match what Dovecot answers", async () => {
  await using t = startImapServer();
  for (const m of [MULTIPART, "Subject: b\r\n\r\nhello", ENCLOSING, ADDRESSES]) {
    await t.store.deliver("mulder", "INBOX", utf8(m));
  }
  await using client = await loggedIn(t.port, "INBOX");
  const response = await client.command("a1", "FETCH 1:4 (BODYSTRUCTURE ENVELOPE)");
  assertEquals(
    response,
    '* 1 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)' +
      '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL)' +
      '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)' +
      '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 1 NIL NIL NIL NIL) "mixed" ' +
      '("boundary" "b") NIL NIL NIL) ENVELOPE (NIL "a" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n' +
      '* 2 FETCH (BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL) ' +
      'ENVELOPE (NIL "b" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n' +
      '* 3 FETCH (BODYSTRUCTURE ("message" "rfc822" NIL NIL NIL "7bit" 48 (NIL "inner" (("A" NIL "a" "b.c")) ' +
      '(("A" NIL "a" "b.c")) (("A" NIL "a" "b.c")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" ' +
      '"us-ascii") NIL NIL "7bit" 13 2 NIL NIL NIL NIL) 5 NIL NIL NIL NIL) ' +
      'ENVELOPE (NIL "e" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n' +
      '* 4 FETCH (BODYSTRUCTURE ("text" "plain" ("charset" "utf-8" "format" "flowed") NIL NIL "7bit" 3 1 ' +
      'NIL ("attachment" ("filename" "a b.txt")) ("en") NIL) ENVELOPE (NIL "g" ' +
      '(("Doe, J" NIL "j" "x.y")(NIL NIL "grp" NIL)(NIL NIL "a" "b.c")(NIL NIL "d" "e.f")(NIL NIL NIL NIL)' +
      '("=?utf-8?q?Z=C3=B6e?=" NIL "z" "x.y")) ' +
      '(("Doe, J" NIL "j" "x.y")(NIL NIL "grp" NIL)(NIL NIL "a" "b.c")(NIL NIL "d" "e.f")(NIL NIL NIL NIL)' +
      '("=?utf-8?q?Z=C3=B6e?=" NIL "z" "x.y")) ' +
      '(("Doe, J" NIL "j" "x.y")(NIL NIL "grp" NIL)(NIL NIL "a" "b.c")(NIL NIL "d" "e.f")(NIL NIL NIL NIL)' +
      '("=?utf-8?q?Z=C3=B6e?=" NIL "z" "x.y")) ' +
      '((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ((NIL NIL "bare" "MISSING_DOMAIN")) ' +
      "NIL NIL NIL))\r\n" +
      "a1 OK FETCH completed\r\n",
  );
  assertEquals(
    await client.command("a2", "FETCH 3 BODY"),
    '* 3 FETCH (BODY ("message" "rfc822" NIL NIL NIL "7bit" 48 (NIL "inner" (("A" NIL "a" "b.c")) ' +
      '(("A" NIL "a" "b.c")) (("A" NIL "a" "b.c")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" ' +
      '"us-ascii") NIL NIL "7bit" 13 2) 5))\r\na2 OK FETCH completed\r\n',
  );
});

Deno.test("ImapServer FETCH sends 8-bit header text as literals", async () => {
  await using t = startImapServer();
  await t.store.deliver(
    "mulder",
    "INBOX",
    utf8("Subject: Grüße\r\nFrom: Zoë <z@x.y>\r\n\r\nx\r\n"),
  );
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(
    await client.command("a1", "FETCH 1 ENVELOPE"),
    `* 1 FETCH (ENVELOPE (NIL {7}\r\n${binary("Grüße")} (({4}\r\n${
      binary("Zoë")
    } NIL "z" "x.y")) ` +
      `(({4}\r\n${binary("Zoë")} NIL "z" "x.y")) (({4}\r\n${binary("Zoë")} NIL "z" "x.y")) ` +
      "NIL NIL NIL NIL NIL))\r\na1 OK FETCH completed\r\n",
  );
});

Deno.test("ImapServer FETCH returns body sections, MIME headers and partials", async () => {
  await using t = startImapServer();
  await t.store.deliver("mulder", "INBOX", utf8(MULTIPART));
  await t.store.deliver("mulder", "INBOX", utf8(ENCLOSING));
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(
    await client.command(
      "a1",
      "FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[4] BODY.PEEK[5] BODY.PEEK[2.HEADER] " +
        "BODY.PEEK[HEADER.FIELDS (SUBJECT X-NONE)] BODY.PEEK[HEADER.FIELDS.NOT (subject)] " +
        "BODY.PEEK[TEXT]<0.3> BODY.PEEK[]<2.5> BODY.PEEK[]<9999.5>)",
    ),
    "* 1 FETCH (BODY[1] {5}\r\nhello BODY[1.MIME] {28}\r\nContent-Type: text/plain\r\n\r\n " +
      "BODY[4] {4}\r\nx\r\ny BODY[5] {0}\r\n BODY[2.HEADER] {0}\r\n " +
      "BODY[HEADER.FIELDS (SUBJECT X-NONE)] {14}\r\nSubject: a\r\n\r\n " +
      "BODY[HEADER.FIELDS.NOT (SUBJECT)] {45}\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n " +
      "BODY[TEXT]<0> {3}\r\npre BODY[]<2> {5}\r\nbject BODY[]<9999> {0}\r\n)\r\n" +
      "a1 OK FETCH completed\r\n",
  );
  assertEquals(
    await client.command(
      "a2",
      "FETCH 2 (BODY.PEEK[1] BODY.PEEK[1.1] BODY.PEEK[1.MIME] BODY.PEEK[1.HEADER] " +
        "BODY.PEEK[1.TEXT] BODY.PEEK[1.HEADER.FIELDS (FROM)] BODY.PEEK[TEXT]<2.3>)",
    ),
    "* 2 FETCH (BODY[1] {48}\r\nSubject: inner\r\nFrom: A <a@b.c>\r\n\r\nbody\r\nline2\r\n " +
      "BODY[1.1] {13}\r\nbody\r\nline2\r\n " +
      "BODY[1.MIME] {44}\r\nSubject: e\r\nContent-Type: message/rfc822\r\n\r\n " +
      "BODY[1.HEADER] {35}\r\nSubject: inner\r\nFrom: A <a@b.c>\r\n\r\n " +
      "BODY[1.TEXT] {13}\r\nbody\r\nline2\r\n " +
      "BODY[1.HEADER.FIELDS (FROM)] {19}\r\nFrom: A <a@b.c>\r\n\r\n " +
      "BODY[TEXT]<2> {3}\r\nbje)\r\n" +
      "a2 OK FETCH completed\r\n",
  );
});

Deno.test("ImapServer FETCH RFC822, RFC822.HEADER, RFC822.TEXT and the macros", async () => {
  await using t = startImapServer();
  const text = "From: a@b.c\r\nSubject: s\r\n\r\nbody\r\n";
  await t.store.deliver("mulder", "INBOX", utf8(text), {
    internalDate: new Date("2024-02-29T23:59:58Z"),
    flags: ["\\Seen"],
  });
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(
    await client.command("a1", "FETCH 1 (RFC822.HEADER RFC822.TEXT RFC822)"),
    `* 1 FETCH (RFC822.HEADER {27}\r\nFrom: a@b.c\r\nSubject: s\r\n\r\n RFC822.TEXT {6}\r\nbody\r\n ` +
      `RFC822 {33}\r\n${text})\r\na1 OK FETCH completed\r\n`,
  );
  const envelope = '(NIL "s" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) ' +
    "NIL NIL NIL NIL NIL)";
  const date = '"29-Feb-2024 23:59:58 +0000"';
  assertEquals(
    await client.command("a2", "FETCH 1 FAST"),
    `* 1 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE ${date} RFC822.SIZE 33)\r\na2 OK FETCH completed\r\n`,
  );
  assertEquals(
    await client.command("a3", "FETCH 1 ALL"),
    `* 1 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE ${date} RFC822.SIZE 33 ENVELOPE ${envelope})\r\n` +
      "a3 OK FETCH completed\r\n",
  );
  assertEquals(
    await client.command("a4", "FETCH 1 FULL"),
    `* 1 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE ${date} RFC822.SIZE 33 ENVELOPE ${envelope} ` +
      'BODY ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1))\r\na4 OK FETCH completed\r\n',
  );
});

Deno.test("ImapServer sets \\Seen for BODY[] and RFC822.TEXT but not for BODY.PEEK, RFC822.HEADER or EXAMINE", async () => {
  await using t = startImapServer();
  for (let i = 1; i <= 4; i++) await t.store.deliver("mulder", "INBOX", message(`m${i}`, "x\r\n"));
  await using client = await loggedIn(t.port);
  await client.command("a0", "EXAMINE INBOX");
  assertMatch(
    await client.command("a1", "FETCH 1 BODY[TEXT]"),
    /^\* 1 FETCH \(BODY\[TEXT\] \{3\}\r\nx\r\n\)\r\n/,
  );
  await client.command("a2", "SELECT INBOX");
  assertEquals(
    await client.command("a3", "FETCH 1 (BODY.PEEK[TEXT] RFC822.HEADER)"),
    `* 1 FETCH (BODY[TEXT] {3}\r\nx\r\n RFC822.HEADER {${message("m1", "").length}}\r\n` +
      `${binary(new TextDecoder().decode(message("m1", "")))})\r\na3 OK FETCH completed\r\n`,
  );
  assertEquals(
    await client.command("a4", "FETCH 2 (BODY[TEXT])"),
    "* 2 FETCH (BODY[TEXT] {3}\r\nx\r\n FLAGS (\\Seen \\Recent))\r\na4 OK FETCH completed\r\n",
  );
  assertEquals(
    await client.command("a5", "FETCH 3 (FLAGS RFC822.TEXT)"),
    "* 3 FETCH (FLAGS (\\Seen \\Recent) RFC822.TEXT {3}\r\nx\r\n)\r\na5 OK FETCH completed\r\n",
  );
  // Already seen: FLAGS is not added again.
  assertEquals(
    await client.command("a6", "FETCH 2 BODY[TEXT]"),
    "* 2 FETCH (BODY[TEXT] {3}\r\nx\r\n)\r\na6 OK FETCH completed\r\n",
  );
  assertEquals(
    (await t.store.listMessages("mulder", "INBOX")).map((m) => m.flags),
    [[], ["\\Seen"], ["\\Seen"], []],
  );
});

Deno.test("ImapServer UID FETCH adds UID and ignores missing UIDs; FETCH out of range is BAD", async () => {
  await using t = startImapServer();
  for (let i = 1; i <= 3; i++) await t.store.deliver("mulder", "INBOX", message(`m${i}`));
  await t.store.expunge("mulder", "INBOX", [2]);
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(
    await client.command("a1", "UID FETCH 1:* FLAGS"),
    "* 1 FETCH (UID 1 FLAGS (\\Recent))\r\n* 2 FETCH (UID 3 FLAGS (\\Recent))\r\na1 OK UID FETCH completed\r\n",
  );
  assertEquals(
    await client.command("a2", "UID FETCH 2 FLAGS"),
    "a2 OK UID FETCH completed\r\n",
  );
  assertEquals(
    await client.command("a3", "UID FETCH 9:* (FLAGS UID)"),
    "* 2 FETCH (FLAGS (\\Recent) UID 3)\r\na3 OK UID FETCH completed\r\n",
  );
  assertEquals(
    await client.command("a4", "FETCH 3 FLAGS"),
    "a4 BAD Invalid message sequence number\r\n",
  );
  assertEquals(await client.command("a5", "FETCH 0 FLAGS"), "a5 BAD Invalid sequence set\r\n");
  assertEquals(await client.command("a6", "FETCH 1 FROB"), "a6 BAD Unknown FETCH item FROB\r\n");
  assertEquals(
    await client.command("a7", "FETCH 1 BINARY[]"),
    "a7 BAD Unknown FETCH item BINARY\r\n",
  );
  assertEquals(
    await client.command("a8", "FETCH 1 BODY[HEADER.FIELDS]"),
    "a8 BAD section HEADER.FIELDS needs a header list\r\n",
  );
  assertEquals(await client.command("a9", "FETCH 1 ()"), "a9 BAD Empty FETCH item list\r\n");
});

Deno.test("ImapServer FETCH of a message expunged by another session answers NO [EXPUNGEISSUED]", async () => {
  await using t = startImapServer();
  for (let i = 1; i <= 3; i++) {
    await t.store.deliver("mulder", "INBOX", message(`m${i}`, `body ${i}\r\n`));
  }
  await using a = await loggedIn(t.port, "INBOX");
  await t.store.expunge("mulder", "INBOX", [2]);
  assertEquals(
    await a.command("a1", "FETCH 1:3 BODY.PEEK[TEXT]"),
    "* 1 FETCH (BODY[TEXT] {8}\r\nbody 1\r\n)\r\n* 3 FETCH (BODY[TEXT] {8}\r\nbody 3\r\n)\r\n" +
      "a1 NO [EXPUNGEISSUED] Some messages were expunged meanwhile\r\n",
  );
  // FLAGS from the snapshot are still answered; the EXPUNGE comes with NOOP.
  assertEquals(
    await a.command("a2", "FETCH 2 FLAGS"),
    "* 2 FETCH (FLAGS (\\Recent))\r\na2 OK FETCH completed\r\n",
  );
  assertEquals(await a.command("a3", "NOOP"), "* 2 EXPUNGE\r\na3 OK NOOP completed\r\n");
});

/** A store whose views count the octets their streams deliver. */
function countingStore(inner: MailStore, counter: { bytes: number }): MailStore {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === "openView") {
        return async (...args: Parameters<MailStore["openView"]>) => {
          const view = await target.openView(...args);
          return new Proxy(view, {
            get(v, p) {
              if (p === MAIL_VIEW_READ_SMALL) {
                // The built-in stores' way to read a small message at once: counted too.
                return (uid: number, start: number, length: number) => {
                  const bytes = (v as MailboxView & MailViewReadSmall)[MAIL_VIEW_READ_SMALL]!(
                    uid,
                    start,
                    length,
                  );
                  counter.bytes += bytes?.length ?? 0;
                  return bytes;
                };
              }
              if (p === "read") {
                return async (...readArgs: Parameters<MailboxView["read"]>) => {
                  const stream = await v.read(...readArgs);
                  return stream.pipeThrough(
                    new TransformStream({
                      transform(chunk, controller) {
                        counter.bytes += chunk.length;
                        controller.enqueue(chunk);
                      },
                    }),
                  );
                };
              }
              const value = Reflect.get(v, p, v);
              return typeof value === "function" ? value.bind(v) : value;
            },
          });
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("ImapServer streams a 24 MiB message from a Maildir and reads only its header for header items", async () => {
  const root = await Deno.makeTempDir({ prefix: "inetkit-imap-" });
  try {
    const counter = { bytes: 0 };
    const maildir = new MaildirStore(root);
    const line = "0123456789abcdef".repeat(4) + "\r\n";
    const block = utf8(line.repeat(1024));
    let blocks = Math.ceil(24 * 1024 * 1024 / block.length);
    const head = "Subject: big\r\nFrom: a@b.c\r\n\r\n";
    const expected = head.length + blocks * block.length;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(utf8(head));
      },
      pull(controller) {
        controller.enqueue(block);
        if (--blocks === 0) controller.close();
      },
    });
    const { size } = await maildir.deliver("mulder", "INBOX", body);
    assertEquals(size, expected);
    await using t = startImapServer({ store: countingStore(maildir, counter) });
    await using client = await loggedIn(t.port, "INBOX");
    assertEquals(
      await client.command("a1", "FETCH 1 (RFC822.SIZE ENVELOPE BODY.PEEK[HEADER])"),
      `* 1 FETCH (RFC822.SIZE ${size} ENVELOPE (NIL "big" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) ` +
        `((NIL NIL "a" "b.c")) NIL NIL NIL NIL NIL) BODY[HEADER] {${head.length}}\r\n${head})\r\n` +
        "a1 OK FETCH completed\r\n",
    );
    assert(counter.bytes <= 256 * 1024, `the header items read ${counter.bytes} octets`);
    counter.bytes = 0;
    await client.send("a2 FETCH 1 BODY.PEEK[]\r\n");
    const first = await client.line();
    assertEquals(first, `* 1 FETCH (BODY[] {${size}}\r\n`);
    const content = await client.take(size, 20000);
    assertEquals(content.slice(0, head.length + line.length), head + line);
    assertEquals(content.length, size);
    assertEquals(await client.tagged("a2"), ")\r\na2 OK FETCH completed\r\n");
    assertEquals(counter.bytes, size);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ImapServer FETCH BODYSTRUCTURE of a message in a MemoryMailStore is cached", async () => {
  const counter = { bytes: 0 };
  const memory = new MemoryMailStore();
  await memory.deliver("mulder", "INBOX", utf8(MULTIPART));
  await using t = startImapServer({ store: countingStore(memory, counter) });
  await using client = await loggedIn(t.port, "INBOX");
  await client.command("a1", "FETCH 1 BODYSTRUCTURE");
  const once = counter.bytes;
  assertEquals(once, MULTIPART.length);
  await client.command("a2", "FETCH 1 (BODYSTRUCTURE ENVELOPE BODY.PEEK[HEADER])");
  assertEquals(counter.bytes, once);
});

/** A store whose views deliver streams `cut` octets shorter than the messages are. */
function truncatingStore(inner: MailStore, cut: number): MailStore {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === "openView") {
        return async (...args: Parameters<MailStore["openView"]>) => {
          const view = await target.openView(...args);
          return new Proxy(view, {
            get(v, p) {
              if (p === MAIL_VIEW_READ_SMALL) {
                return (uid: number, start: number, length: number) => {
                  const info = v.messageByUid(uid)!;
                  const bytes = (v as MailboxView & MailViewReadSmall)[MAIL_VIEW_READ_SMALL]!(
                    uid,
                    start,
                    Math.max(0, Math.min(length, info.size - start) - cut),
                  );
                  return bytes;
                };
              }
              if (p === "read") {
                return async (uid: number, options: { start?: number; length?: number } = {}) => {
                  const info = v.messageByUid(uid)!;
                  const start = options.start ?? 0;
                  const length = Math.min(options.length ?? Infinity, info.size - start) - cut;
                  return await v.read(uid, { start, length: Math.max(0, length) });
                };
              }
              const value = Reflect.get(v, p, v);
              return typeof value === "function" ? value.bind(v) : value;
            },
          });
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("ImapServer answers NO [SERVERBUG] when a small message reads short, and closes when a streamed one does", async () => {
  const memory = new MemoryMailStore();
  await memory.deliver("mulder", "INBOX", message("small", "x\r\n"));
  await memory.deliver("mulder", "INBOX", message("large", "y".repeat(200000) + "\r\n"));
  await using t = startImapServer({ store: truncatingStore(memory, 10) });
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(
    await client.command("a1", "FETCH 1 BODY.PEEK[]"),
    "a1 NO [SERVERBUG] Internal server error\r\n",
  );
  await client.send("a2 FETCH 2 BODY.PEEK[]\r\n");
  const size = (await t.store.listMessages("mulder", "INBOX"))[1]!.size;
  assertEquals(await client.line(), `* 2 FETCH (BODY[] {${size}}\r\n`);
  // The literal cannot be completed: the connection is closed instead of going out of step.
  const rest = await client.rest();
  assert(rest.length < size, `${rest.length} octets of ${size}`);
  const errors = t.errors.splice(0).map((e) => String(e));
  assertEquals(errors.length, 2, errors.join("\n"));
});

Deno.test("ImapServer serves header sections of a message whose header exceeds what it caches", async () => {
  await using t = startImapServer();
  const filler = Array.from({ length: 5000 }, (_, i) => `X-Filler-${i}: ${"f".repeat(50)}\r\n`)
    .join("");
  const header = `Subject: huge\r\n${filler}From: a@b.c\r\n\r\n`;
  await t.store.deliver("mulder", "INBOX", utf8(header + "body\r\n"));
  assert(header.length > 256 * 1024);
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(
    await client.command("a1", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)] BODY.PEEK[TEXT])"),
    "* 1 FETCH (BODY[HEADER.FIELDS (FROM SUBJECT)] {30}\r\nSubject: huge\r\nFrom: a@b.c\r\n\r\n " +
      "BODY[TEXT] {6}\r\nbody\r\n)\r\na1 OK FETCH completed\r\n",
  );
  const notFiller = await client.command(
    "a2",
    "FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM)]<0.40>",
  );
  assertEquals(
    notFiller,
    `* 1 FETCH (BODY[HEADER.FIELDS.NOT (SUBJECT FROM)]<0> {40}\r\n${filler.slice(0, 40)})\r\n` +
      "a2 OK FETCH completed\r\n",
  );
  const whole = await client.command("a3", "FETCH 1 BODY.PEEK[HEADER]");
  assertEquals(
    whole,
    `* 1 FETCH (BODY[HEADER] {${header.length}}\r\n${header})\r\na3 OK FETCH completed\r\n`,
  );
  assertEquals(
    await client.command("a4", "SEARCH HEADER X-Filler-4999 fff"),
    "* SEARCH 1\r\na4 OK SEARCH completed\r\n",
  );
});
