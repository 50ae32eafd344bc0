/**
 * ImapClient against the real Dovecot of the peers test bed: STARTTLS on
 * 1143, implicit TLS on 1993, mulder/trustno1, the seeded INBOX (UID 1
 * "Test message one" \Seen 343 octets, UID 2 "Test message two" 331
 * octets) and folders. Messages the tests add go into the seeded (empty)
 * Drafts and Trash and are expunged by UID afterwards; the one folder
 * created lives for a moment only (other tests list the seeded folders);
 * the IDLE test's message, delivered by Postfix into INBOX, is expunged
 * again.
 *
 * @module
 */
import { ImapClient, type ImapConnectOptions } from "../../mail/imap_client.ts";
import { ImapError } from "../../mail/imap_error.ts";
import type { ImapEvent } from "../../mail/imap_types.ts";
import { SmtpClient } from "../../mail/smtp_client.ts";
import { parseMessage } from "../../mail/message.ts";
import { peerTest } from "../_helpers/peers.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";

const STARTTLS_PORT = 1143;
const IMAPS_PORT = 1993;
const SMTP_PORT = 2525;
const CA = "/tmp/peers/tls/ca.pem";
const decoder = new TextDecoder();
const encoder = new TextEncoder();

async function options(extra: ImapConnectOptions = {}): Promise<ImapConnectOptions> {
  return {
    hostname: "127.0.0.1",
    serverName: "localhost",
    caCerts: [await Deno.readTextFile(CA)],
    credentials: { username: "mulder", password: "trustno1" },
    timeout: 10000,
    ...extra,
  };
}

function scratchName(what: string): string {
  return `inetkit-${what}-${crypto.randomUUID().slice(0, 8)}`;
}

peerTest(
  "dovecot: STARTTLS with requireTls re-reads the capabilities and lists the folders",
  STARTTLS_PORT,
  async () => {
    await using imap = await ImapClient.connect(
      await options({ port: STARTTLS_PORT, requireTls: true }),
    );
    assert(imap.tls);
    assert(imap.authenticated);
    assert(!imap.capabilities.has("STARTTLS"), "capabilities were re-read after TLS");
    assert(imap.capabilities.has("IDLE"));
    const names = (await imap.list()).map((m) => m.name);
    for (const name of ["Archive", "Drafts", "INBOX", "Sent", "Trash"]) {
      assert(names.includes(name), names.join(" "));
    }
    const archive = await imap.status("Archive", ["MESSAGES", "UIDVALIDITY"]);
    assertEquals(archive.messages, 1);
    const special = (await imap.list()).find((m) => m.name === "Sent");
    assert(special?.flags.includes("\\Sent"));
  },
);

peerTest(
  "dovecot: implicit TLS, EXAMINE and FETCH of the seeded messages",
  IMAPS_PORT,
  async () => {
    await using imap = await ImapClient.connect(await options({ port: IMAPS_PORT, tls: true }));
    assert(imap.tls);
    const mailbox = await imap.examine("INBOX");
    assert(mailbox.readOnly);
    assert(mailbox.exists >= 2);
    assert(mailbox.uidValidity !== null && mailbox.uidNext !== null);
    const messages = await imap.fetch([1, 2], [
      "UID",
      "FLAGS",
      "RFC822.SIZE",
      "INTERNALDATE",
      "ENVELOPE",
      "BODYSTRUCTURE",
      "BODY.PEEK[HEADER.FIELDS (Subject)]",
    ], { uid: true });
    assertEquals(messages.map((m) => [m.uid, m.envelope?.subject, m.rfc822Size]), [
      [1, "Test message one", 343],
      [2, "Test message two", 331],
    ]);
    assertEquals(messages[0]!.flags, ["\\Seen"]);
    assertEquals(messages[1]!.flags, []);
    assertEquals(messages[0]!.envelope?.from, [{
      name: "Walter Skinner",
      address: "skinner@example.test",
    }]);
    assertEquals(messages[0]!.bodyStructure?.type, "text");
    assertEquals(
      decoder.decode(messages[1]!.body.get("HEADER.FIELDS (SUBJECT)")!.data!).trim(),
      "Subject: Test message two",
    );
    assertEquals(await imap.search({ uid: [[1, 2]], seen: false }, { uid: true }), [2]);
    assertEquals(await imap.search({ subject: "Test message one" }, { uid: true }), [1]);
    assertEquals(await imap.search('FROM "scully" UID 1:2', { uid: true }), [2]);
    assertEquals(await imap.search({ subject: "Grüße aus Köln" }, { uid: true }), []);
  },
);

peerTest(
  "dovecot: fetchBody() streams a message byte for byte as FETCH BODY[] holds it",
  STARTTLS_PORT,
  async () => {
    await using imap = await ImapClient.connect(await options({ port: STARTTLS_PORT }));
    await imap.examine("INBOX");
    const [inline] = await imap.fetch(1, ["BODY.PEEK[]"], { uid: true });
    const body = await imap.fetchBody(1, { uid: true });
    assert(body !== null);
    assertEquals([body.uid, body.size], [1, 343]);
    const streamed = new Uint8Array(await new Response(body.stream).arrayBuffer());
    assertEquals(streamed, inline!.body.get("")!.data!);
    const message = await parseMessage(streamed);
    assertEquals(message.subject, "Test message one");
    assertEquals(await imap.fetchBody(999999, { uid: true }), null);
    const text = await imap.fetchBody(2, { uid: true, section: "TEXT", partial: [0, 10] });
    assertEquals(text?.size, 10);
    await new Response(text!.stream).arrayBuffer();
  },
);

peerTest(
  "dovecot: a wrong password is an ImapError with AUTHENTICATIONFAILED",
  STARTTLS_PORT,
  async () => {
    const error = await assertRejects(
      async () =>
        await ImapClient.connect(
          await options({
            port: STARTTLS_PORT,
            credentials: { username: "mulder", password: "wrong" },
          }),
        ),
      ImapError,
    );
    assertEquals(error.status, "NO");
    assertEquals(error.responseCode?.name, "AUTHENTICATIONFAILED");
  },
);

peerTest(
  "dovecot: LOGIN, AUTHENTICATE PLAIN and AUTHENTICATE LOGIN keep the password out of the log",
  STARTTLS_PORT,
  async () => {
    for (const mechanism of ["LOGIN", "PLAIN"] as const) {
      const log: string[] = [];
      await using imap = await ImapClient.connect(
        await options({ port: STARTTLS_PORT, mechanism, debug: (l) => log.push(l) }),
      );
      assert(imap.authenticated);
      assert(!log.join("\n").includes("trustno1"), "the password stays out of the log");
      assert(
        log.some((l) => l.includes(mechanism === "LOGIN" ? "LOGIN mulder ****" : "PLAIN ****")),
      );
    }
    const log: string[] = [];
    await using viaSasl = await ImapClient.connect(
      await options({ port: STARTTLS_PORT, credentials: undefined, debug: (l) => log.push(l) }),
    );
    await viaSasl.authenticate({ username: "mulder", password: "trustno1" }, {
      mechanism: "LOGIN",
    });
    assert(viaSasl.authenticated);
    assertEquals(log.filter((l) => l === "C: ****").length, 2);
    await viaSasl.logout();
    assert(viaSasl.closed);
  },
);

/**
 * Deletes exactly the given messages (by UID) from a folder; for the clean-up
 * of messages the tests put into the seeded Drafts and Trash.
 */
async function removeMessages(imap: ImapClient, folder: string, uids: number[]): Promise<void> {
  if (uids.length === 0) return;
  await imap.select(folder);
  await imap.store(uids, ["\\Deleted"], { uid: true, silent: true });
  await imap.expunge({ uids });
  await imap.closeMailbox();
}

peerTest(
  "dovecot: CREATE, LIST, RENAME, SUBSCRIBE and DELETE a folder with a modified UTF-7 name",
  STARTTLS_PORT,
  async () => {
    // Other tests list the seeded folders: the scratch folder lives for a moment only.
    await using imap = await ImapClient.connect(await options({ port: STARTTLS_PORT }));
    const folder = scratchName("Entwürfe");
    const renamed = scratchName("renamed");
    try {
      await imap.create(folder);
      const found = (await imap.list("inetkit-*")).find((m) => m.name === folder);
      await imap.rename(folder, renamed);
      await imap.subscribe(renamed);
      const subscribed = (await imap.lsub("inetkit-*")).some((m) => m.name === renamed);
      await imap.unsubscribe(renamed);
      await imap.delete(renamed);
      assert(found !== undefined, `${folder} was listed`);
      assert(found.rawName.includes("&APw-"), `sent in modified UTF-7: ${found.rawName}`);
      assert(subscribed);
      const error = await assertRejects(() => imap.select(folder), ImapError);
      assertEquals(error.status, "NO");
    } finally {
      await imap.delete(folder).catch(() => {});
      await imap.delete(renamed).catch(() => {});
    }
  },
);

peerTest(
  "dovecot: APPEND, FETCH, STORE, SEARCH, COPY, MOVE and EXPUNGE in the seeded Drafts and Trash",
  STARTTLS_PORT,
  async () => {
    await using imap = await ImapClient.connect(await options({ port: STARTTLS_PORT }));
    const tag = crypto.randomUUID().slice(0, 8);
    const mine = { Drafts: [] as number[], Trash: [] as number[] };
    try {
      const message = `From: a@example.test\r\nSubject: scratch one ${tag}\r\n\r\nbody one\r\n`;
      const appended = await imap.append("Drafts", message, {
        flags: ["\\Seen"],
        date: new Date("2023-11-14T22:13:20Z"),
      });
      assert(appended.uid !== null && appended.uidValidity !== null);
      mine.Drafts.push(appended.uid);
      const streamed = `From: b@example.test\r\nSubject: scratch two ${tag}\r\n\r\n` +
        "x".repeat(5000) + "\r\n";
      const second = await imap.append(
        "Drafts",
        ReadableStream.from([
          encoder.encode(streamed.slice(0, 100)),
          encoder.encode(streamed.slice(100)),
        ]),
        { size: streamed.length },
      );
      assertEquals(second.uid, appended.uid + 1);
      mine.Drafts.push(second.uid!);

      await imap.select("Drafts");
      assertEquals(await imap.search({ subject: tag }, { uid: true }), mine.Drafts);
      const [first] = await imap.fetch(appended.uid, ["INTERNALDATE", "FLAGS", "BODY.PEEK[]"], {
        uid: true,
      });
      assertEquals(first!.internalDate?.toISOString(), "2023-11-14T22:13:20.000Z");
      assert(first!.flags!.includes("\\Seen"), String(first!.flags));
      assertEquals(decoder.decode(first!.body.get("")!.data!), message);
      const [big] = await imap.fetch(second.uid!, ["RFC822.SIZE"], { uid: true });
      assertEquals(big!.rfc822Size, streamed.length);

      const stored = await imap.store(second.uid!, ["\\Flagged", "$Forwarded"], { uid: true });
      assert(stored[0]!.flags!.includes("$Forwarded"));
      assertEquals(await imap.search({ flagged: true, subject: tag }, { uid: true }), [
        second.uid!,
      ]);
      await imap.store(second.uid!, ["\\Flagged"], {
        uid: true,
        operation: "remove",
        silent: true,
      });
      assertEquals(await imap.search({ flagged: true, subject: tag }, { uid: true }), []);

      const copied = await imap.copy(appended.uid, "Trash", { uid: true });
      assertEquals(copied?.sourceUids, [[appended.uid, appended.uid]]);
      mine.Trash.push(copied!.destinationUids[0]![0]);
      const moved = await imap.move(second.uid!, "Trash", { uid: true });
      assert(moved !== null);
      mine.Trash.push(moved.destinationUids[0]![0]);
      mine.Drafts = mine.Drafts.filter((u) => u !== second.uid);
      const trash = await imap.status("Trash", ["MESSAGES"]);
      assert(trash.messages! >= 2);

      const before = imap.mailbox!.exists;
      await imap.store(appended.uid, ["\\Deleted"], { uid: true, silent: true });
      assertEquals((await imap.expunge({ uids: [appended.uid] })).length, 1);
      mine.Drafts = [];
      assertEquals(imap.mailbox?.exists, before - 1);
      await imap.closeMailbox();
    } finally {
      await removeMessages(imap, "Drafts", mine.Drafts).catch(() => {});
      await removeMessages(imap, "Trash", mine.Trash).catch(() => {});
    }
  },
);

peerTest(
  "dovecot: a big body cancelled mid-way keeps or closes the connection by drainLimit",
  STARTTLS_PORT,
  async () => {
    await using imap = await ImapClient.connect(await options({ port: STARTTLS_PORT }));
    const size = 3 * 1024 * 1024;
    const line = "y".repeat(998) + "\r\n";
    const body = "Subject: big\r\n\r\n" + line.repeat(Math.ceil(size / line.length));
    const { uid } = await imap.append("Drafts", body);
    try {
      await imap.examine("Drafts");
      const first = await imap.fetchBody(uid!, { uid: true, drainLimit: 8 * 1024 * 1024 });
      const reader = first!.stream.getReader();
      await reader.read();
      await reader.cancel();
      await imap.noop();
      assert(!imap.closed, "drained: the connection goes on");
      const second = await imap.fetchBody(uid!, { uid: true, drainLimit: 1024 });
      const reader2 = second!.stream.getReader();
      await reader2.read();
      await reader2.cancel();
      assert(imap.closed, "more than drainLimit left: closed");
    } finally {
      await using cleanup = await ImapClient.connect(await options({ port: STARTTLS_PORT }));
      await removeMessages(cleanup, "Drafts", [uid!]);
    }
  },
);

peerTest(
  "dovecot: IDLE sees a message Postfix delivers, and stops without closing",
  STARTTLS_PORT,
  async () => {
    await using imap = await ImapClient.connect(await options({ port: STARTTLS_PORT }));
    await imap.select("INBOX");
    const subject = `inetkit-idle-${crypto.randomUUID()}`;
    const idle = imap.idle();
    const events: ImapEvent[] = [];
    const deliver = (async () => {
      await new Promise((r) => setTimeout(r, 200));
      await using smtp = await SmtpClient.connect({ port: SMTP_PORT, tls: false });
      await smtp.send(
        { from: "scully@example.test", to: ["mulder@localhost"] },
        `From: scully@example.test\r\nTo: mulder@localhost\r\nSubject: ${subject}\r\n\r\nIDLE test\r\n`,
      );
    })();
    const uids: number[] = [];
    const timer = setTimeout(() => void idle.stop(), 15000);
    try {
      for await (const event of idle) {
        events.push(event);
        if (event.kind !== "exists") continue;
        uids.push(...await imap.search({ subject }, { uid: true }));
        if (uids.length > 0) break;
      }
    } finally {
      clearTimeout(timer);
      await deliver;
      if (uids.length === 0) uids.push(...await imap.search({ subject }, { uid: true }));
      if (uids.length > 0) {
        await imap.store(uids, ["\\Deleted"], { uid: true, silent: true });
        await imap.expunge({ uids });
      }
    }
    assertEquals(
      uids.length,
      1,
      `delivered message seen by IDLE; events ${JSON.stringify(events.map((e) => e.kind))}`,
    );
    assert(!imap.closed);
    assertEquals(await imap.search({ subject }, { uid: true }), []);
  },
);
