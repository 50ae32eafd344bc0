/**
 * MailLab / serveMail: SMTP, POP3 and IMAP on one store. Mail sent by SMTP
 * is read by POP3 and IMAP, an IMAP IDLE session sees it arrive, the
 * Maildir is on disk, and the lab's options and failures.
 */
import { MailLab, type MailLabLogEvent, serveMail } from "../../mail/mail_lab.ts";
import { MaildirStore } from "../../mail/maildir_store.ts";
import { MemoryMailStore } from "../../mail/memory_mail_store.ts";
import { SmtpClient } from "../../mail/smtp_client.ts";
import { SmtpReplyError } from "../../mail/smtp_reply_error.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertThrows,
} from "../_helpers/assert.ts";
import { WireClient } from "./_smtp_server_wire.ts";

const USERS = { users: { mulder: "trustno1" } };

/** Reads IMAP lines until one starts with `tag` (or matches), returning all of them. */
async function imapUntil(client: WireClient, done: (line: string) => boolean): Promise<string> {
  let out = "";
  for (;;) {
    const line = await client.line();
    if (line === null) throw new Error(`EOF: ${out}`);
    out += line;
    if (done(line)) return out;
  }
}

Deno.test("MailLab: a message sent by SMTP is read by POP3 and by IMAP", async () => {
  const events: MailLabLogEvent[] = [];
  await using lab = new MailLab({
    users: USERS,
    authFailureDelay: 0,
    onLog: (event) => events.push(event),
  });
  {
    await using smtp = await SmtpClient.connect({ port: lab.smtp.addr.port });
    await smtp.send(
      { from: "scully@example.test", to: ["whoever@example.test"] },
      "Subject: lab\r\n\r\nThe truth is out there.\r\n",
    );
  }
  await using pop3 = await WireClient.connect(lab.pop3.addr.port);
  await pop3.line();
  await pop3.send("USER mulder\r\nPASS trustno1\r\nTOP 1 1\r\n");
  await pop3.line();
  assertMatch((await pop3.line())!, /^\+OK mulder's maildrop has 1 messages/);
  const top = await pop3.block();
  assert(top.endsWith("Subject: lab\r\n\r\nThe truth is out there.\r\n.\r\n"), top);
  await pop3.send("QUIT\r\n");
  await pop3.rest();

  await using imap = await WireClient.connect(lab.imap.addr.port);
  await imap.line();
  await imap.send(
    "a LOGIN mulder trustno1\r\nb SELECT INBOX\r\nc FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n",
  );
  const fetched = await imapUntil(imap, (line) => line.startsWith("c "));
  assertMatch(fetched, /\* 1 EXISTS\r\n/);
  assertMatch(fetched, /Subject: lab\r\n/);
  await imap.send("d LOGOUT\r\n");
  await imap.rest();

  const kinds = events.map((e) => `${e.protocol} ${e.type}`);
  for (const kind of ["smtp message", "pop3 login", "imap login"]) {
    assert(kinds.includes(kind), `${kind} in ${kinds.join(", ")}`);
  }
});

Deno.test("MailLab: an IMAP IDLE session sees a message arrive over SMTP", async () => {
  await using lab = serveMail({ users: USERS });
  await using imap = await WireClient.connect(lab.imap.addr.port);
  await imap.line();
  await imap.send("a LOGIN mulder trustno1\r\nb SELECT INBOX\r\nc IDLE\r\n");
  await imapUntil(imap, (line) => line.startsWith("+ "));
  {
    await using smtp = await SmtpClient.connect({ port: lab.smtp.addr.port });
    await smtp.send(
      { from: "a@example.test", to: ["b@example.test"] },
      "Subject: push\r\n\r\nx\r\n",
    );
  }
  assertEquals(await imapUntil(imap, (line) => /EXISTS/.test(line)), "* 1 EXISTS\r\n");
  await imap.send("DONE\r\nd LOGOUT\r\n");
  await imap.rest();
});

Deno.test("MailLab with dir keeps the mail in a Maildir it closes; a given store stays open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_lab_" });
  try {
    {
      await using lab = new MailLab({ users: USERS, dir });
      await using smtp = await SmtpClient.connect({ port: lab.smtp.addr.port });
      await smtp.send(
        { from: "a@example.test", to: ["b@example.test"] },
        "Subject: disk\r\n\r\nx\r\n",
      );
    }
    await using store = new MaildirStore(dir);
    assertEquals((await store.listMessages("mulder", "INBOX")).length, 1);
    {
      await using lab = new MailLab({ users: USERS, store });
      assertEquals(lab.store, store);
    }
    assertEquals((await store.listMessages("mulder", "INBOX")).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MailLab with catchAll null delivers by local part and refuses strangers", async () => {
  await using store = new MemoryMailStore();
  await using lab = new MailLab({
    users: { users: { mulder: "trustno1", scully: "queequeg" } },
    store,
    catchAll: null,
  });
  await using smtp = await SmtpClient.connect({ port: lab.smtp.addr.port });
  const result = await smtp.send(
    { from: "a@example.test", to: ["scully@example.test", "skinner@example.test"] },
    "Subject: by name\r\n\r\nx\r\n",
  );
  assertEquals(result.accepted, ["scully@example.test"]);
  assertEquals(result.refused.get("skinner@example.test")?.code, 550);
  assertEquals((await store.listMessages("scully", "INBOX")).length, 1);
  await assertRejects(
    () => smtp.send({ from: "a@example.test", to: ["nobody@example.test"] }, "x\r\n"),
    SmtpReplyError,
  );
});

Deno.test("MailLab checks its options and shuts down what it started when a port is taken", async () => {
  const store = new MemoryMailStore();
  assertThrows(() => new MailLab({ users: USERS, store, dir: "/tmp/x" }), TypeError, "not both");
  assertThrows(
    () => new MailLab({ users: { users: { a: "1", b: "2" } } }),
    TypeError,
    "catchAll",
  );
  assertThrows(() => new MailLab({ users: { authenticate: () => true } }), TypeError, "catchAll");
  await using first = new MailLab({ users: USERS, store });
  assertThrows(
    () => new MailLab({ users: USERS, store, imapPort: first.imap.addr.port }),
    Deno.errors.AddrInUse,
  );
  await store.close();
});

Deno.test("MailLab stops when its signal aborts", async () => {
  const controller = new AbortController();
  const lab = new MailLab({ users: USERS, signal: controller.signal });
  controller.abort();
  await lab.finished;
  await lab.close();
  await assertRejects(() => Deno.connect({ hostname: "127.0.0.1", port: lab.smtp.addr.port }));
});
