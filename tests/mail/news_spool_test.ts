import { NewsSpool } from "../../mail/news_spool.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { article, withSpool } from "./_nntp_helpers.ts";

const BASIC = {
  From: "Guido <guido@example.test>",
  Newsgroups: "local.test",
  Subject: "Hello",
};

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) out.push(entry.name);
  return out.sort();
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

Deno.test("NewsSpool.open() creates the directory layout and the active files", async () => {
  await withSpool({
    groups: [{ name: "local.test", description: "Local tests" }, { name: "local.ro", status: "n" }],
  }, async (spool, dir) => {
    assertEquals(await names(dir), [
      "active",
      "active.times",
      "articles",
      "index",
      "newsgroups",
      "tmp",
    ]);
    assertEquals(
      await Deno.readTextFile(`${dir}/active`),
      "local.ro 0000000000 0000000001 n\nlocal.test 0000000000 0000000001 y\n",
    );
    assertEquals(await Deno.readTextFile(`${dir}/newsgroups`), "local.test\tLocal tests\n");
    assertMatch(await Deno.readTextFile(`${dir}/active.times`), /^local\.ro \d+ inetkit\n/);
    assertEquals(spool.group("local.test"), {
      name: "local.test",
      count: 0,
      low: 1,
      high: 0,
      status: "y",
      description: "Local tests",
      created: spool.group("local.test")!.created,
    });
    assertEquals(spool.group("nope"), undefined);
  });
});

Deno.test("NewsSpool.store() adds Path, Message-ID, Date and Xref and files the article", async () => {
  await withSpool({ groups: ["local.test"], pathHost: "news.inetkit.test" }, async (spool) => {
    const entry = await spool.store(
      article({ ...BASIC, Path: "upstream!not-for-mail" }, "Hi.\r\n"),
    );
    assertEquals(entry.groups, [["local.test", 1]]);
    assertMatch(entry.messageId, /^<[0-9a-z]+\.[0-9a-f]{16}@news\.inetkit\.test>$/);
    assertEquals(entry.xref, "news.inetkit.test local.test:1");
    assertEquals([entry.subject, entry.from, entry.lines], ["Hello", BASIC.From, 1]);
    const stored = await text(await spool.read(entry));
    const lines = stored.split("\r\n");
    assertEquals(lines[0], "Path: news.inetkit.test!upstream!not-for-mail");
    assertEquals(lines.slice(1, 4), [
      `From: ${BASIC.From}`,
      "Newsgroups: local.test",
      "Subject: Hello",
    ]);
    assertEquals(lines[4], `Message-ID: ${entry.messageId}`);
    assertMatch(lines[5]!, /^Date: \w{3}, \d{2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/);
    assertEquals(lines[6], "Xref: news.inetkit.test local.test:1");
    assertEquals(lines.slice(7), ["", "Hi.", ""]);
    assertEquals(entry.size, new TextEncoder().encode(stored).length);
    assertEquals(spool.group("local.test")?.count, 1);
    assertEquals(spool.byMessageId(entry.messageId), entry);
  });
});

Deno.test("NewsSpool.store() numbers a cross-post in each of its groups", async () => {
  await withSpool({ groups: ["a.one", "b.two"] }, async (spool) => {
    await spool.store(article({ ...BASIC, Newsgroups: "b.two" }));
    const entry = await spool.store(article({ ...BASIC, Newsgroups: "a.one, b.two" }));
    assertEquals(entry.groups, [["a.one", 1], ["b.two", 2]]);
    assertEquals(entry.xref, "localhost a.one:1 b.two:2");
    assertEquals(spool.article("b.two", 2), entry);
    assertEquals(spool.numbers("b.two"), [1, 2]);
  });
});

Deno.test("NewsSpool.store() keeps a given Message-ID and Date and the header bytes as sent", async () => {
  await withSpool({ groups: ["local.test"] }, async (spool) => {
    const raw =
      "From: =?UTF-8?Q?Zo=C3=AB?= <z@x>\r\nNewsgroups: local.test\r\nSubject: a\r\n folded\r\n" +
      "Message-ID: <given@x>\r\nDate: Tue, 14 Nov 2023 10:00:00 +0000\r\nX-Raw: caf\xe9\r\n\r\nbody\r\n";
    const bytes = Uint8Array.from(raw, (c) => c.charCodeAt(0));
    const entry = await spool.store(bytes);
    assertEquals([entry.messageId, entry.date, entry.subject], [
      "<given@x>",
      "Tue, 14 Nov 2023 10:00:00 +0000",
      "a folded",
    ]);
    const stored = await new Response(await spool.read(entry, "head")).bytes();
    const expected = "Path: localhost!not-for-mail\r\n" + raw.split("\r\n\r\n")[0] +
      "\r\nXref: localhost local.test:1\r\n";
    assertEquals(stored, Uint8Array.from(expected, (c) => c.charCodeAt(0)));
    assertEquals(await text(await spool.read(entry, "body")), "body\r\n");
    const fields = await spool.headers(entry);
    assertEquals(fields.find((f) => f.name === "Subject")?.value, "a folded");
  });
});

Deno.test("NewsSpool.store() refuses articles a news server must refuse", async () => {
  await withSpool({
    groups: ["local.test", { name: "local.ro", status: "n" }, { name: "local.mod", status: "m" }],
  }, async (spool, dir) => {
    await spool.store(article({ ...BASIC, "Message-ID": "<dup@x>" }));
    const cases: [string, string | Uint8Array][] = [
      ["MISSING_HEADER", article({ From: "a@x", Subject: "s" })],
      ["MISSING_HEADER", article({ Newsgroups: "local.test", Subject: "s" })],
      ["MISSING_HEADER", article({ Newsgroups: "local.test", From: "a@x" })],
      ["MISSING_HEADER", article({ ...BASIC, Newsgroups: " , " })],
      ["MISSING_HEADER", "\r\nbody only\r\n"],
      ["UNKNOWN_GROUP", article({ ...BASIC, Newsgroups: "local.test,nope.nope" })],
      ["POSTING_NOT_ALLOWED", article({ ...BASIC, Newsgroups: "local.ro" })],
      ["POSTING_NOT_ALLOWED", article({ ...BASIC, Newsgroups: "local.mod" })],
      ["DUPLICATE_ARTICLE", article({ ...BASIC, "Message-ID": "<dup@x>" })],
      ["BAD_MESSAGE_ID", article({ ...BASIC, "Message-ID": "no-brackets@x" })],
      ["BAD_DATE", article({ ...BASIC, Date: "yesterday-ish" })],
      ["BAD_HEADER", article({ ...BASIC }).replace("Subject: Hello", "Subject: a\r\nSubject: b")],
      ["BAD_HEADER", "no colon here\r\n" + article(BASIC)],
      ["BARE_LINE_END", article(BASIC, "one\nline\r\n")],
      ["BARE_LINE_END", article(BASIC, "one\rline\r\n")],
      ["BARE_LINE_END", article(BASIC, "ends with CR\r")],
      ["BARE_LINE_END", article(BASIC).replace("Subject: Hello", "Subject: a\nInjected: b")],
      ["HEADER_TOO_LARGE", article({ ...BASIC, "X-Big": "x".repeat(70000) })],
      ["BODY_TOO_LARGE", article(BASIC, "x".repeat(2000) + "\r\n")],
    ];
    for (const [code, input] of cases) {
      const error = await assertRejects(
        () => spool.store(input, { maxSize: 1500 }),
        ProtocolError,
        undefined,
        code,
      );
      assertEquals(error.code, code, JSON.stringify(input).slice(0, 80));
    }
    assertEquals(spool.size, 1);
    assertEquals(await names(`${dir}/articles`), ["1"]);
    assertEquals(await names(`${dir}/tmp`), []);
    // A refusal does not use up article numbers.
    assertEquals((await spool.store(article(BASIC))).groups, [["local.test", 2]]);
  });
});

Deno.test("NewsSpool.store() accepts a moderated post with Approved, and relayed posts to closed groups", async () => {
  await withSpool({
    groups: [{ name: "local.mod", status: "m" }, { name: "local.ro", status: "n" }],
  }, async (spool) => {
    const approved = await spool.store(
      article({ ...BASIC, Newsgroups: "local.mod", Approved: "moderator@x" }),
    );
    assertEquals(approved.groups, [["local.mod", 1]]);
    const relayed = await spool.store(
      article({ ...BASIC, Newsgroups: "local.ro", Date: "Tue, 14 Nov 2023 10:00:00 +0000" }),
      { relayed: true, messageId: "<relayed@x>" },
    );
    assertEquals(relayed.messageId, "<relayed@x>");
    await assertRejects(
      () => spool.store(article({ ...BASIC, Newsgroups: "local.ro" }), { relayed: true }),
      ProtocolError,
      "Date",
    );
    await assertRejects(
      () =>
        spool.store(
          article({ ...BASIC, Newsgroups: "local.mod", Approved: "m@x", "Message-ID": "<a@x>" }),
          { messageId: "<b@x>" },
        ),
      ProtocolError,
      "is not <b@x>",
    );
  });
});

Deno.test("NewsSpool.store() refuses a message-id that is being stored right now", async () => {
  await withSpool({ groups: ["local.test"] }, async (spool) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const head = new TextEncoder().encode(article({ ...BASIC, "Message-ID": "<same@x>" }, ""));
    let step = 0;
    const slow = spool.store({
      read: async () => {
        if (step++ === 0) return head;
        await gate;
        return null;
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert(spool.has("<same@x>"));
    const error = await assertRejects(
      () => spool.store(article({ ...BASIC, "Message-ID": "<same@x>" })),
      ProtocolError,
    );
    assertEquals(error.code, "DUPLICATE_ARTICLE");
    release();
    assertEquals((await slow).messageId, "<same@x>");
  });
});

Deno.test("NewsSpool.store() gives concurrent posts distinct numbers, filed in order", async () => {
  await withSpool({ groups: ["local.test"] }, async (spool, dir) => {
    const entries = await Promise.all(
      Array.from({ length: 20 }, (_, i) => spool.store(article(BASIC, `article ${i}\r\n`))),
    );
    const numbers = entries.map((e) => e.groups[0]![1]).sort((a, b) => a - b);
    assertEquals(numbers, Array.from({ length: 20 }, (_, i) => i + 1));
    assertEquals(spool.numbers("local.test"), numbers);
    await spool.close();
    await using again = await NewsSpool.open(dir);
    assertEquals(again.numbers("local.test"), numbers);
    for (const [i, entry] of entries.entries()) {
      const stored = again.byMessageId(entry.messageId)!;
      assertEquals(await text(await again.read(stored, "body")), `article ${i}\r\n`);
    }
  });
});

Deno.test("NewsSpool.store() reads a stream split anywhere, CR LF across chunks included", async () => {
  await withSpool({ groups: ["local.test"] }, async (spool) => {
    const bytes = new TextEncoder().encode(article(BASIC, "one\r\ntwo\r\n\r\nthree\r\n"));
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const entry = await spool.store(
        ReadableStream.from([bytes.subarray(0, cut), bytes.subarray(cut)]),
      );
      assertEquals(entry.lines, 4);
      assertEquals(await text(await spool.read(entry, "body")), "one\r\ntwo\r\n\r\nthree\r\n");
    }
  });
});

Deno.test("NewsSpool.store() accepts an article that is only a header", async () => {
  await withSpool({ groups: ["local.test"] }, async (spool) => {
    const entry = await spool.store("From: a@x\r\nNewsgroups: local.test\r\nSubject: s\r\n");
    assertEquals(entry.lines, 0);
    assertEquals(await text(await spool.read(entry, "body")), "");
    assertStringIncludes(await text(await spool.read(entry, "head")), "Subject: s\r\n");
  });
});

Deno.test("NewsSpool gives NEXT, LAST, ranges, NEWGROUPS and NEWNEWS what they need", async () => {
  await withSpool({ groups: ["local.test", "comp.test"] }, async (spool) => {
    const before = new Date(Date.now() - 1000);
    for (let i = 0; i < 5; i++) await spool.store(article(BASIC));
    await spool.store(article({ ...BASIC, Newsgroups: "comp.test" }));
    assertEquals(spool.numbers("local.test", 2, 4), [2, 3, 4]);
    assertEquals(spool.numbers("local.test", 4), [4, 5]);
    assertEquals(spool.numbers("local.test", 9, 3), []);
    assertEquals(spool.nextNumber("local.test", 2), 3);
    assertEquals(spool.nextNumber("local.test", 5), undefined);
    assertEquals(spool.previousNumber("local.test", 2), 1);
    assertEquals(spool.previousNumber("local.test", 1), undefined);
    assertEquals(spool.articlesSince(before, (g) => g === "comp.test").length, 1);
    assertEquals(spool.articlesSince(new Date(Date.now() + 1000), () => true).length, 0);
    assertEquals(spool.groupsSince(before).map((g) => g.name), ["comp.test", "local.test"]);
    await spool.addGroup({ name: "local.new", description: "new" });
    assertEquals(spool.groups().map((g) => g.name), ["comp.test", "local.new", "local.test"]);
  });
});

Deno.test("NewsSpool.open() restores articles, marks and numbering from the index", async () => {
  await withSpool({ groups: ["local.test"] }, async (spool, dir) => {
    const first = await spool.store(article(BASIC, "one\r\n"));
    await spool.store(article(BASIC, "two\r\n"));
    await spool.close();
    await using again = await NewsSpool.open(dir);
    assertEquals(again.group("local.test")?.count, 2);
    assertEquals(again.byMessageId(first.messageId), first);
    assertEquals(await text(await again.read(again.article("local.test", 2)!, "body")), "two\r\n");
    assertEquals((await again.store(article(BASIC))).groups, [["local.test", 3]]);
  });
});

Deno.test("NewsSpool.open() cuts a torn index line and deletes files it does not name", async () => {
  await withSpool({ groups: ["local.test"] }, async (spool, dir) => {
    const kept = await spool.store(article(BASIC));
    await spool.close();
    // A crash after the rename but before the index line was complete.
    await Deno.writeTextFile(`${dir}/articles/2`, "half an article");
    await Deno.writeTextFile(`${dir}/tmp/7.1.1`, "never renamed");
    await Deno.writeTextFile(`${dir}/index`, '{"s":2,"id":"<torn', { append: true });
    await using again = await NewsSpool.open(dir);
    assertEquals(again.size, 1);
    assertEquals(again.byMessageId(kept.messageId)?.serial, 1);
    assertEquals(await names(`${dir}/articles`), ["1"]);
    assertEquals(await names(`${dir}/tmp`), []);
    assert((await Deno.readTextFile(`${dir}/index`)).endsWith("}\n"));
    const next = await again.store(article(BASIC));
    assertEquals([next.serial, next.groups[0]![1]], [2, 2]);
  });
});

Deno.test("NewsSpool.open() refuses an index that is corrupt before its last line", async () => {
  await withSpool({ groups: ["local.test"] }, async (spool, dir) => {
    await spool.store(article(BASIC));
    await spool.close();
    const index = await Deno.readTextFile(`${dir}/index`);
    await Deno.writeTextFile(`${dir}/index`, "garbage\n" + index);
    await assertRejects(() => NewsSpool.open(dir), Error, "index line 1 is corrupt");
  });
});

Deno.test("NewsSpool.store() fsyncs the file, renames, fsyncs the directory, then the index", async () => {
  await withSpool({ groups: ["local.test"] }, async (first, dir) => {
    await first.close();
    const log: string[] = [];
    const paths = new WeakMap<Deno.FsFile, string>();
    const original = {
      open: Deno.open,
      rename: Deno.rename,
      sync: Deno.FsFile.prototype.sync,
      syncData: Deno.FsFile.prototype.syncData,
      write: Deno.FsFile.prototype.write,
    };
    const short = (p: string | URL) => String(p).slice(dir.length + 1).replace(/\/[^/]+$/, "/*");
    Deno.open = async (path, options) => {
      const file = await original.open(path, options);
      paths.set(file, String(path));
      return file;
    };
    Deno.rename = async (from, to) => {
      log.push(`rename ${short(from)} ${short(to)}`);
      await original.rename(from, to);
    };
    Deno.FsFile.prototype.sync = async function (this: Deno.FsFile) {
      log.push(`sync ${short(paths.get(this) ?? "?")}`);
      await original.sync.call(this);
    };
    Deno.FsFile.prototype.syncData = async function (this: Deno.FsFile) {
      log.push(`syncData ${short(paths.get(this) ?? "?")}`);
      await original.syncData.call(this);
    };
    try {
      await using spool = await NewsSpool.open(dir);
      log.length = 0;
      await spool.store(article(BASIC));
      log.push("stored");
    } finally {
      Object.assign(Deno, { open: original.open, rename: original.rename });
      Deno.FsFile.prototype.sync = original.sync;
      Deno.FsFile.prototype.syncData = original.syncData;
    }
    assertEquals(log.slice(0, 5), [
      "sync tmp/*",
      "rename tmp/* articles/*",
      "sync articles",
      "syncData index",
      "stored",
    ]);
  });
});

Deno.test("NewsSpool rejects bad settings", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(() => NewsSpool.open(dir, { groups: ["bad group"] }), TypeError);
    await assertRejects(() => NewsSpool.open(dir, { pathHost: "a b" }), TypeError);
    await assertRejects(
      // deno-lint-ignore no-explicit-any
      () => NewsSpool.open(dir, { groups: [{ name: "a.b", status: "x" as any }] }),
      TypeError,
    );
    await using spool = await NewsSpool.open(dir);
    await assertRejects(() => spool.addGroup("a*b"), TypeError);
    await assertRejects(() => spool.addGroup({ name: "a.b", description: "x\r\ny" }), TypeError);
    await spool.close();
    await assertRejects(() => spool.store(article(BASIC)), TypeError, "closed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
