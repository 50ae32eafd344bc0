/**
 * The Maildir header cache (`inetkit-headers`): header detection, and
 * FETCH results that are the same with the cache, without it, and with a
 * cache that is cut short (as a kill -9 mid-write leaves it), corrupt,
 * stale or forged.
 */
import { MaildirStore } from "../../mail/maildir_store.ts";
import { MemoryMailStore } from "../../mail/memory_mail_store.ts";
import type { MailStore } from "../../mail/mail_store.ts";
import { HeaderCapture, headerEnd, HEADERS_NAME } from "../../mail/_maildir_headers.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { loggedIn, startImapServer, utf8 } from "./_imap_server_helpers.ts";

const MESSAGES = [
  "Subject: one\r\nFrom: a@b.c\r\n\r\nbody one\r\n",
  "Subject: two\r\nX-Long: " + "y".repeat(3000) + "\r\n\r\nbody two\r\n",
  "\r\nno header at all\r\n",
  "Subject: no body\r\n\r\n",
  "Subject: no empty line\r\nFrom: x@y.z\r\n",
  "Subject: lf\nFrom: lf@b.c\n\nbody with bare LF\n",
  "Subject: huge\r\nX-Big: " + "z".repeat(70000) + "\r\n\r\nafter a big header\r\n",
  "Subject: last\r\nTo: t@u.v\r\n\r\nline 1\r\nline 2\r\n",
];
const ITEMS = "(BODY.PEEK[HEADER] RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT TO)] " +
  "BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)] BODY.PEEK[TEXT] BODY.PEEK[HEADER]<2.7>)";

async function fetchAll(store: MailStore): Promise<string> {
  await using t = startImapServer({ store });
  await using client = await loggedIn(t.port, "INBOX");
  const answer = await client.command("a1", `FETCH 1:* ${ITEMS}`);
  const envelope = await client.command("a2", "FETCH 1:* (ENVELOPE BODY.PEEK[HEADER])");
  return answer + envelope;
}

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "inetkit-maildir-headers-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function deliverAll(store: MailStore): Promise<void> {
  for (const m of MESSAGES) await store.deliver("mulder", "INBOX", utf8(m));
}

let expected: string | undefined;
/** What FETCH answers from a store without a header cache. */
async function reference(): Promise<string> {
  if (expected === undefined) {
    const memory = new MemoryMailStore();
    await deliverAll(memory);
    expected = await fetchAll(memory);
  }
  return expected;
}

Deno.test("headerEnd and HeaderCapture find the first empty line, in any chunking", () => {
  const cases: [string, number][] = [
    ["A: b\r\n\r\nbody", 8],
    ["A: b\n\nbody", 6],
    ["\r\nbody", 2],
    ["\nbody", 1],
    ["A: b\r\nC: d\r\n", -1],
    ["A: b\r\n \r\n\r\n", 11],
    ["A: b\r\r\n\r\n", 9],
    ["", -1],
  ];
  for (const [text, end] of cases) {
    const bytes = utf8(text);
    assertEquals(headerEnd(bytes), end, text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const capture = new HeaderCapture();
      capture.push(bytes.subarray(0, cut));
      capture.push(bytes.subarray(cut));
      assertEquals(capture.header?.length ?? -1, end, `${JSON.stringify(text)} cut at ${cut}`);
      if (capture.header !== undefined) assertEquals(capture.header, bytes.subarray(0, end));
    }
  }
  const big = utf8("X: " + "a".repeat(70000) + "\r\n\r\n");
  assertEquals(headerEnd(big), -1);
  const capture = new HeaderCapture();
  for (let i = 0; i < big.length; i += 1000) capture.push(big.subarray(i, i + 1000));
  assertEquals(capture.header, undefined);
});

Deno.test("MaildirStore header cache: FETCH answers as without it, in memory and from the file", async () => {
  await withRoot(async (root) => {
    const store = new MaildirStore(root);
    await deliverAll(store);
    assertEquals(await fetchAll(store), await reference());
    const path = `${store.folderPath("mulder", "INBOX")}/${HEADERS_NAME}`;
    const file = await Deno.readTextFile(path);
    assert(file.startsWith("inetkit-headers 1 V"));
    // A restart reads the file.
    assertEquals(await fetchAll(new MaildirStore(root)), await reference());
    // Without it: the same, and the file is written again from the messages.
    await Deno.remove(path);
    assertEquals(await fetchAll(new MaildirStore(root)), await reference());
    assertEquals((await Deno.readTextFile(path)).split("\n").length, file.split("\n").length);
    assertEquals(await fetchAll(new MaildirStore(root)), await reference());
  });
});

Deno.test("MaildirStore header cache: a cut-short, corrupt, stale or forged file changes no answer", async () => {
  await withRoot(async (root) => {
    await deliverAll(new MaildirStore(root));
    const dir = new MaildirStore(root).folderPath("mulder", "INBOX");
    const path = `${dir}/${HEADERS_NAME}`;
    await fetchAll(new MaildirStore(root));
    const good = await Deno.readFile(path);
    const damaged: [string, Uint8Array][] = [];
    // Cut at every offset of the first and last records, and some in between (a kill -9 mid-write).
    const cuts = new Set<number>();
    for (let i = 0; i < 200; i++) cuts.add(i);
    for (let i = good.length - 200; i < good.length; i++) cuts.add(i);
    for (let i = 0; i < good.length; i += 97) cuts.add(i);
    for (const cut of cuts) damaged.push([`cut at ${cut}`, good.slice(0, cut)]);
    for (const at of [40, 120, 400, good.length - 30, good.length - 2]) {
      const flipped = good.slice();
      flipped[at]! ^= 0x20;
      damaged.push([`flipped at ${at}`, flipped]);
    }
    const text = new TextDecoder().decode(good);
    damaged.push(["stale", utf8(text.replace(/^inetkit-headers 1 V\d+/, "inetkit-headers 1 V7"))]);
    damaged.push(["garbage", crypto.getRandomValues(new Uint8Array(5000))]);
    damaged.push(["zeros", new Uint8Array(good.length)]);
    damaged.push(["empty", new Uint8Array(0)]);
    // Records of other messages under the UIDs of ours (another base name): ignored.
    damaged.push([
      "forged",
      utf8(text.replace(/^(\d+ \d+ [0-9a-f]{8} )(\S)/gm, (_, head, first) => head + "x" + first)),
    ]);
    const want = await reference();
    for (const [what, bytes] of damaged) {
      await Deno.writeFile(path, bytes);
      assertEquals(await fetchAll(new MaildirStore(root)), want, what);
    }
    // After a damaged file, a delivery and a FETCH leave a sound one that serves all.
    await Deno.writeFile(path, good.slice(0, good.length - 10));
    const store = new MaildirStore(root);
    await store.deliver("mulder", "INBOX", utf8("Subject: later\r\n\r\nx\r\n"));
    await fetchAll(store);
    const again = new TextDecoder().decode(await Deno.readFile(path));
    const records = again.split("\n").filter((l) => /^\d+ \d+ [0-9a-f]{8} /.test(l)).length;
    // Every message but the ones without an empty line within 64 KiB.
    assertEquals(records, MESSAGES.length + 1 - 2);
  });
});

Deno.test("MaildirStore header cache: messages from other tools and expunged UIDs", async () => {
  await withRoot(async (root) => {
    const store = new MaildirStore(root);
    await deliverAll(store);
    const dir = store.folderPath("mulder", "INBOX");
    // Delivered by another tool: straight into new/, unknown to the cache.
    await Deno.writeTextFile(`${dir}/new/1700000000.other.host`, "Subject: other\r\n\r\nx\r\n");
    await store.rescan("mulder", "INBOX");
    {
      await using t = startImapServer({ store });
      await using client = await loggedIn(t.port, "INBOX");
      const answer = await client.command("a1", "UID FETCH 9 (BODY.PEEK[HEADER])");
      assertEquals(
        answer,
        "* 9 FETCH (UID 9 BODY[HEADER] {18}\r\nSubject: other\r\n\r\n)\r\na1 OK UID FETCH completed\r\n",
      );
      await client.command("a2", "STORE 1 +FLAGS.SILENT (\\Deleted)");
      await client.command("a3", "EXPUNGE");
    }
    // (The server closed `store`.)
    await using later = new MaildirStore(root);
    await later.deliver("mulder", "INBOX", utf8("Subject: new\r\n\r\ny\r\n"));
    const fresh = new MaildirStore(root);
    await using t = startImapServer({ store: fresh });
    await using client = await loggedIn(t.port, "INBOX");
    const answer = await client.command("a1", "UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    assert(!answer.includes("Subject: one"), answer);
    assert(answer.includes("Subject: other"), answer);
    assert(
      answer.includes("UID 10 BODY[HEADER.FIELDS (SUBJECT)] {16}\r\nSubject: new\r\n"),
      answer,
    );
  });
});

Deno.test("MaildirStore header cache: a store with LF line ends serves CRLF headers", async () => {
  await withRoot(async (root) => {
    const store = new MaildirStore(root, { lineEnding: "lf" });
    await deliverAll(store);
    assertEquals(await fetchAll(store), await reference());
    assertEquals(await fetchAll(new MaildirStore(root, { lineEnding: "lf" })), await reference());
  });
});
