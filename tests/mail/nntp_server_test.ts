import { NewsSpool } from "../../mail/news_spool.ts";
import { NntpClient } from "../../mail/nntp_client.ts";
import { NntpReplyError } from "../../mail/nntp_reply_error.ts";
import { NntpServer, type NntpServerOptions } from "../../mail/nntp_server.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_helpers/assert.ts";
import { testCert, VERIFIED_NAME } from "../_helpers/tls.ts";
import { article, RawClient } from "./_nntp_helpers.ts";

const DATE = "Tue, 14 Nov 2023 10:00:00 +0000";
const HOST = "news.inetkit.test";

interface Setup {
  server: NntpServer;
  spool: NewsSpool;
  dir: string;
  port: number;
  errors: unknown[];
  log: string[];
}

async function withServer(
  options: Partial<NntpServerOptions>,
  fn: (setup: Setup) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_nntpd_" });
  const spool = await NewsSpool.open(dir, {
    groups: [{ name: "local.test", description: "Local tests" }, "comp.lang.python", {
      name: "local.closed",
      status: "n",
    }],
    pathHost: HOST,
  });
  await spool.store(article(
    {
      From: "A <a@x>",
      Newsgroups: "local.test",
      Subject: "First",
      "Message-ID": "<one@x>",
      Date: DATE,
    },
    ".starts with a dot\r\nsecond\r\n",
  ));
  await spool.store(article({
    From: "B <b@x>",
    Newsgroups: "local.test,comp.lang.python",
    Subject: "Re: First",
    "Message-ID": "<two@x>",
    Date: DATE,
    References: "<one@x>",
    "X-Extra": "extra value",
  }, "reply\r\n"));
  await spool.store(article(
    {
      From: "C <c@x>",
      Newsgroups: "local.test",
      Subject: "Third",
      "Message-ID": "<three@x>",
      Date: DATE,
    },
    "three\r\n",
  ));
  const errors: unknown[] = [];
  const log: string[] = [];
  const server = new NntpServer({
    spool,
    port: 0,
    onError: (error) => errors.push(error),
    log: (line) => log.push(line),
    ...options,
  });
  try {
    await fn({ server, spool, dir, port: server.addr.port, errors, log });
  } finally {
    await server.shutdown({ timeout: 1000 });
    await spool.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function raw(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  assertMatch((await client.line())!, /^20[01] news\.inetkit\.test inetkit NNTP server ready/);
  return client;
}

const ONE = [
  `Path: ${HOST}!not-for-mail`,
  "From: A <a@x>",
  "Newsgroups: local.test",
  "Subject: First",
  "Message-ID: <one@x>",
  `Date: ${DATE}`,
  `Xref: ${HOST} local.test:1`,
];

// ---- session basics ----------------------------------------------------------

Deno.test("NntpServer greets with 200, or 201 when posting is off", async () => {
  await withServer({}, async ({ port }) => {
    await using client = await RawClient.connect(port);
    assertEquals(await client.line(), `200 ${HOST} inetkit NNTP server ready (posting ok)`);
    assertEquals(await client.command("MODE READER"), "200 Posting allowed");
  });
  await withServer({ allowPosting: false }, async ({ port }) => {
    await using client = await RawClient.connect(port);
    assertEquals(await client.line(), `201 ${HOST} inetkit NNTP server ready (no posting)`);
    assertEquals(await client.command("MODE READER"), "201 Posting prohibited");
    assertEquals(await client.command("POST"), "440 Posting not permitted");
    assertEquals(await client.command("IHAVE <new@x>"), "502 Transfer not permitted");
  });
});

Deno.test("NntpServer CAPABILITIES lists what this session may do", async () => {
  await withServer({}, async ({ port }) => {
    await using client = await raw(port);
    assertEquals(await client.command("CAPABILITIES"), "101 Capability list:");
    assertEquals(
      await client.block(),
      "VERSION 2\r\nIMPLEMENTATION inetkit\r\nREADER\r\nHDR\r\nNEWNEWS\r\nOVER MSGID\r\n" +
        "LIST ACTIVE ACTIVE.TIMES HEADERS NEWSGROUPS OVERVIEW.FMT\r\nPOST\r\nIHAVE\r\n.\r\n",
    );
    assertEquals(await client.command("MODE STREAM"), "501 Unknown MODE variant");
  });
  const { cert, key } = await testCert();
  await withServer({ cert, key, users: { mulder: "trustno1" } }, async ({ port }) => {
    await using client = await raw(port);
    await client.command("CAPABILITIES");
    const caps = await client.block();
    assertStringIncludes(caps, "STARTTLS\r\nAUTHINFO USER\r\n.\r\n");
  });
});

Deno.test("NntpServer answers unknown commands 500, bad syntax 501, and QUIT 205", async () => {
  await withServer({}, async ({ port }) => {
    await using client = await raw(port);
    assertEquals(await client.command("XYZZY"), "500 Unknown command");
    assertEquals(await client.command("GROUP"), "501 Syntax: GROUP newsgroup");
    assertEquals(await client.command("ARTICLE 1 2"), "501 Syntax: [message-id|number]");
    assertEquals(await client.command("ARTICLE abc"), "501 Syntax: [message-id|number]");
    assertEquals(await client.command("LIST BOGUS"), "501 Unknown LIST keyword BOGUS");
    assertEquals(await client.command("LIST ACTIVE [abc"), "501 Bad wildmat");
    assertEquals(
      await client.command("NEWNEWS * 2023 000000"),
      "501 Syntax: NEWNEWS wildmat [yy]yymmdd hhmmss [GMT]",
    );
    assertMatch((await client.command("date"))!, /^111 \d{14}$/);
    assertEquals(await client.command("QUIT"), "205 Closing connection");
    assertEquals(await client.line(), null);
  });
});

Deno.test("NntpServer DATE is UTC yyyymmddhhmmss and HELP is a block", async () => {
  await withServer({}, async ({ port }) => {
    await using client = await raw(port);
    const line = (await client.command("DATE"))!;
    assertMatch(line, /^111 \d{14}$/);
    const stamp = line.slice(4);
    const date = Date.UTC(
      +stamp.slice(0, 4),
      +stamp.slice(4, 6) - 1,
      +stamp.slice(6, 8),
      +stamp.slice(8, 10),
      +stamp.slice(10, 12),
      +stamp.slice(12),
    );
    assert(Math.abs(date - Date.now()) < 5000);
    assertEquals(await client.command("HELP"), "100 Help text follows");
    assertStringIncludes(await client.block(), "OVER [range|message-id]\r\n");
  });
});

// ---- groups and listings ----------------------------------------------------------

Deno.test("NntpServer GROUP and LISTGROUP select groups and list numbers", async () => {
  await withServer({}, async ({ port }) => {
    await using client = await raw(port);
    assertEquals(await client.command("LISTGROUP"), "412 No newsgroup selected");
    assertEquals(await client.command("GROUP local.test"), "211 3 1 3 local.test");
    assertEquals(await client.command("GROUP nope.nope"), "411 No such newsgroup nope.nope");
    assertEquals(await client.command("GROUP a*b"), "411 No such newsgroup a*b");
    assertEquals(
      await client.command("LISTGROUP comp.lang.python"),
      "211 1 1 1 comp.lang.python list follows",
    );
    assertEquals(await client.block(), "1\r\n.\r\n");
    assertEquals(
      await client.command("LISTGROUP local.test 2-"),
      "211 3 1 3 local.test list follows",
    );
    assertEquals(await client.block(), "2\r\n3\r\n.\r\n");
    assertEquals(await client.command("LISTGROUP local.test x-"), "501 Bad range");
  });
});

Deno.test("NntpServer LIST ACTIVE, NEWSGROUPS, OVERVIEW.FMT, HEADERS and ACTIVE.TIMES", async () => {
  await withServer({}, async ({ port }) => {
    await using client = await raw(port);
    assertEquals(await client.command("LIST"), '215 Newsgroups in form "group high low status"');
    assertEquals(
      await client.block(),
      "comp.lang.python 1 1 y\r\nlocal.closed 0 1 n\r\nlocal.test 3 1 y\r\n.\r\n",
    );
    assertEquals(
      await client.command("LIST ACTIVE local.*,!local.closed"),
      '215 Newsgroups in form "group high low status"',
    );
    assertEquals(await client.block(), "local.test 3 1 y\r\n.\r\n");
    assertEquals(
      await client.command("LIST NEWSGROUPS local.t*"),
      "215 Newsgroup descriptions follow",
    );
    assertEquals(await client.block(), "local.test\tLocal tests\r\n.\r\n");
    assertEquals(
      await client.command("LIST OVERVIEW.FMT"),
      "215 Order of fields in overview database",
    );
    assertEquals(
      await client.block(),
      "Subject:\r\nFrom:\r\nDate:\r\nMessage-ID:\r\nReferences:\r\n:bytes\r\n:lines\r\nXref:full\r\n.\r\n",
    );
    assertEquals(await client.command("LIST HEADERS"), "215 Headers and metadata items supported");
    assertEquals(await client.block(), ":\r\n:bytes\r\n:lines\r\n.\r\n");
    assertEquals(
      await client.command("LIST ACTIVE.TIMES comp.*"),
      "215 Newsgroup creation times follow",
    );
    assertMatch(await client.block(), /^comp\.lang\.python \d+ inetkit\r\n\.\r\n$/);
  });
});

Deno.test("NntpServer NEWGROUPS and NEWNEWS answer from creation and arrival times", async () => {
  await withServer({}, async ({ port }) => {
    await using client = await raw(port);
    assertEquals(
      await client.command("NEWGROUPS 20000101 000000 GMT"),
      "231 List of new newsgroups follows",
    );
    assertEquals(
      await client.block(),
      "comp.lang.python 1 1 y\r\nlocal.closed 0 1 n\r\nlocal.test 3 1 y\r\n.\r\n",
    );
    assertEquals(
      await client.command("NEWGROUPS 991231 235959"),
      "231 List of new newsgroups follows",
    );
    assertEquals((await client.block()).split("\r\n").length, 5);
    assertEquals(
      await client.command("NEWGROUPS 29991231 000000 GMT"),
      "231 List of new newsgroups follows",
    );
    assertEquals(await client.block(), ".\r\n");
    assertEquals(
      await client.command("NEWNEWS comp.* 20000101 000000 GMT"),
      "230 List of new articles follows",
    );
    assertEquals(await client.block(), "<two@x>\r\n.\r\n");
    assertEquals(
      await client.command("NEWNEWS * 20000101 000000"),
      "230 List of new articles follows",
    );
    assertEquals(await client.block(), "<one@x>\r\n<two@x>\r\n<three@x>\r\n.\r\n");
  });
});

// ---- articles ----------------------------------------------------------------------

Deno.test("NntpServer ARTICLE, HEAD, BODY and STAT send exact, dot-stuffed bytes", async () => {
  await withServer({}, async ({ port }) => {
    await using client = await raw(port);
    assertEquals(await client.command("ARTICLE 1"), "412 No newsgroup selected");
    assertEquals(await client.command("GROUP local.test"), "211 3 1 3 local.test");
    assertEquals(await client.command("ARTICLE"), "220 1 <one@x>");
    assertEquals(
      await client.block(),
      [...ONE, "", "..starts with a dot", "second", ".", ""].join("\r\n"),
    );
    assertEquals(await client.command("HEAD 1"), "221 1 <one@x>");
    assertEquals(await client.block(), [...ONE, ".", ""].join("\r\n"));
    assertEquals(await client.command("BODY <one@x>"), "222 0 <one@x>");
    assertEquals(await client.block(), "..starts with a dot\r\nsecond\r\n.\r\n");
    assertEquals(await client.command("STAT 3"), "223 3 <three@x>");
    assertEquals(await client.command("STAT 9"), "423 No article with that number");
    assertEquals(await client.command("STAT <nope@x>"), "430 No article with that message-id");
    assertEquals(await client.command("STAT <bad id@x>"), "501 Syntax: [message-id|number]");
  });
});

Deno.test("NntpServer NEXT and LAST walk the current group", async () => {
  await withServer({}, async ({ port }) => {
    await using client = await raw(port);
    assertEquals(await client.command("NEXT"), "412 No newsgroup selected");
    await client.command("GROUP local.closed");
    assertEquals(await client.command("NEXT"), "420 No current article selected");
    await client.command("GROUP local.test");
    assertEquals(await client.command("LAST"), "422 No previous article in this group");
    assertEquals(await client.command("NEXT"), "223 2 <two@x> Article found");
    assertEquals(await client.command("NEXT"), "223 3 <three@x> Article found");
    assertEquals(await client.command("NEXT"), "421 No next article in this group");
    assertEquals(await client.command("LAST"), "223 2 <two@x> Article found");
    assertEquals(await client.command("STAT"), "223 2 <two@x>");
  });
});

Deno.test("NntpServer OVER and XOVER send the overview with Xref:full", async () => {
  await withServer({}, async ({ port, spool }) => {
    await using client = await raw(port);
    assertEquals(await client.command("OVER 1-2"), "412 No newsgroup selected");
    const two = spool.byMessageId("<two@x>")!;
    const line = (n: number) =>
      `${n}\tRe: First\tB <b@x>\t${DATE}\t<two@x>\t<one@x>\t${two.size}\t1\tXref: ${HOST} local.test:2 comp.lang.python:1`;
    assertEquals(await client.command("OVER <two@x>"), "224 Overview information follows");
    assertEquals(await client.block(), `${line(0)}\r\n.\r\n`);
    await client.command("GROUP local.test");
    assertEquals(await client.command("XOVER 2"), "224 Overview information follows");
    assertEquals(await client.block(), `${line(2)}\r\n.\r\n`);
    assertEquals(await client.command("OVER 2-"), "224 Overview information follows");
    assertEquals((await client.block()).split("\r\n").length, 4);
    assertEquals(await client.command("OVER"), "224 Overview information follows");
    assertStringIncludes(await client.block(), "1\tFirst\tA <a@x>\t");
    assertEquals(await client.command("OVER 7-9"), "423 No articles in that range");
    assertEquals(await client.command("XOVER <two@x>"), "501 Message-ids are not allowed here");
  });
});

Deno.test("NntpServer HDR answers overview fields, metadata and other headers", async () => {
  await withServer({}, async ({ port }) => {
    await using client = await raw(port);
    await client.command("GROUP local.test");
    assertEquals(await client.command("HDR Subject 1-"), "225 Headers follow");
    assertEquals(await client.block(), "1 First\r\n2 Re: First\r\n3 Third\r\n.\r\n");
    assertEquals(await client.command("HDR :lines 1-3"), "225 Headers follow");
    assertEquals(await client.block(), "1 2\r\n2 1\r\n3 1\r\n.\r\n");
    assertEquals(await client.command("HDR X-Extra 1-2"), "225 Headers follow");
    assertEquals(await client.block(), "1 \r\n2 extra value\r\n.\r\n");
    assertEquals(await client.command("XHDR references <two@x>"), "221 Headers follow");
    assertEquals(await client.block(), "0 <one@x>\r\n.\r\n");
    assertEquals(await client.command("HDR"), "501 Syntax: HDR header [range|message-id]");
  });
});

// ---- posting -----------------------------------------------------------------------

Deno.test("NntpServer POST stores an article and answers 240 with its message-id", async () => {
  await withServer({}, async ({ port, spool }) => {
    await using client = await raw(port);
    assertEquals(await client.command("POST"), "340 Input article; end with <CR-LF>.<CR-LF>");
    await client.send(
      "From: d@x\r\nNewsgroups: local.test\r\nSubject: new\r\n\r\n..dot\r\nbody\r\n.\r\n",
    );
    const reply = (await client.line())!;
    const id = /^240 Article received (<.+>)$/.exec(reply)![1]!;
    const entry = spool.byMessageId(id)!;
    assertEquals(entry.groups, [["local.test", 4]]);
    assertEquals(await new Response(await spool.read(entry, "body")).text(), ".dot\r\nbody\r\n");
    assertEquals(await client.command("GROUP local.test"), "211 4 1 4 local.test");
  });
});

Deno.test("NntpServer POST refuses bad articles with 441 and stays in step", async () => {
  await withServer({}, async ({ port }) => {
    await using client = await raw(port);
    const cases: [string, string][] = [
      ["Newsgroups: local.test\r\nSubject: s\r\n\r\nx\r\n", "441 The From header is missing"],
      [
        "From: a@x\r\nNewsgroups: nope.nope\r\nSubject: s\r\n\r\nx\r\n",
        "441 No such newsgroup nope.nope",
      ],
      [
        "From: a@x\r\nNewsgroups: local.closed\r\nSubject: s\r\n\r\nx\r\n",
        "441 Posting to local.closed is not allowed",
      ],
      [
        "From: a@x\r\nNewsgroups: local.test\r\nSubject: s\r\nMessage-ID: <one@x>\r\n\r\nx\r\n",
        "441 <one@x> is a duplicate",
      ],
    ];
    for (const [text, answer] of cases) {
      assertEquals(await client.command("POST"), "340 Input article; end with <CR-LF>.<CR-LF>");
      await client.send(text + "more body after the refusal\r\n.\r\n");
      assertEquals(await client.line(), answer);
      assertEquals(await client.command("GROUP local.test"), "211 3 1 3 local.test");
    }
  });
});

Deno.test("NntpServer POST ends an article only at CR LF . CR LF, never at a bare-LF dot line", async () => {
  await withServer({}, async ({ port, spool }) => {
    await using client = await raw(port);
    for (const fake of ["\n.\n", "\r\n.\n", "\n.\r\n"]) {
      assertEquals(await client.command("POST"), "340 Input article; end with <CR-LF>.<CR-LF>");
      // After the fake terminator comes what would be a smuggled command.
      await client.send(
        `From: a@x\r\nNewsgroups: local.test\r\nSubject: s\r\n\r\nbody${fake}GROUP comp.lang.python\r\n.\r\n`,
      );
      assertEquals(await client.line(), "441 It holds a CR or LF that is not part of CR LF");
    }
    assertEquals(await client.command("STAT"), "412 No newsgroup selected");
    assertEquals(spool.size, 3);
  });
});

Deno.test("NntpServer POST refuses an article over maxArticleSize with 441 and keeps the session", async () => {
  await withServer({ maxArticleSize: 1000 }, async ({ port, spool }) => {
    await using client = await raw(port);
    await client.command("POST");
    await client.send(
      "From: a@x\r\nNewsgroups: local.test\r\nSubject: big\r\n\r\n" + "x".repeat(80) +
        "\r\n".repeat(1),
    );
    await client.send(("y".repeat(78) + "\r\n").repeat(100) + ".\r\n");
    assertEquals(await client.line(), "441 Article exceeds 1000 bytes");
    assertEquals(await client.command("GROUP local.test"), "211 3 1 3 local.test");
    assertEquals(spool.size, 3);
  });
});

Deno.test("NntpServer POST refuses an over-long article line and huge headers", async () => {
  await withServer({ maxArticleLineLength: 200, maxHeaderSize: 300 }, async ({ port }) => {
    await using client = await raw(port);
    await client.command("POST");
    await client.send(
      "From: a@x\r\nNewsgroups: local.test\r\nSubject: s\r\n\r\n" + "z".repeat(5000) + "\r\n.\r\n",
    );
    assertEquals(await client.line(), "441 Article line exceeds 200 bytes");
    await client.command("POST");
    const fields = Array.from({ length: 20 }, (_, i) => `X-Field-${i}: ${"v".repeat(30)}\r\n`).join(
      "",
    );
    await client.send(
      `From: a@x\r\nNewsgroups: local.test\r\nSubject: s\r\n${fields}\r\nx\r\n.\r\n`,
    );
    assertEquals(await client.line(), "441 The header exceeds 300 bytes");
    assertEquals(await client.command("GROUP local.test"), "211 3 1 3 local.test");
  });
});

Deno.test("NntpServer closes a session whose refused article goes on past the drain limit", async () => {
  await withServer({ maxArticleSize: 1000 }, async ({ port }) => {
    await using client = await raw(port);
    await client.command("POST");
    const line = "w".repeat(98) + "\r\n";
    await client.send("From: a@x\r\nNewsgroups: local.test\r\nSubject: s\r\n\r\n");
    // More than maxArticleSize + 1 MiB, never ending.
    const chunk = line.repeat(10000);
    const writing = (async () => {
      try {
        for (let i = 0; i < 30; i++) await client.send(chunk);
      } catch {
        // the server closed
      }
    })();
    assertEquals(await client.line(10000), "441 Article exceeds 1000 bytes");
    await writing;
    assertEquals(await client.line(), null);
  });
});

Deno.test("NntpServer IHAVE takes a new article, refuses duplicates and mismatched ids", async () => {
  await withServer({}, async ({ port, spool }) => {
    await using client = await raw(port);
    assertEquals(await client.command("IHAVE <one@x>"), "435 Duplicate");
    assertEquals(await client.command("IHAVE nope"), "501 Syntax: IHAVE message-id");
    assertEquals(await client.command("IHAVE <new@x>"), "335 Send it; end with <CR-LF>.<CR-LF>");
    await client.send(
      `Path: peer!not-for-mail\r\nFrom: a@x\r\nNewsgroups: local.closed\r\nSubject: s\r\nMessage-ID: <new@x>\r\nDate: ${DATE}\r\n\r\nx\r\n.\r\n`,
    );
    assertEquals(await client.line(), "235 Article transferred OK");
    const entry = spool.byMessageId("<new@x>")!;
    assertStringIncludes(
      await new Response(await spool.read(entry, "head")).text(),
      `Path: ${HOST}!peer!not-for-mail\r\n`,
    );
    assertEquals(await client.command("IHAVE <other@x>"), "335 Send it; end with <CR-LF>.<CR-LF>");
    await client.send(
      `From: a@x\r\nNewsgroups: local.test\r\nSubject: s\r\nMessage-ID: <else@x>\r\nDate: ${DATE}\r\n\r\nx\r\n.\r\n`,
    );
    assertEquals(await client.line(), "437 Its Message-ID <else@x> is not <other@x>");
  });
});

// ---- hostile input -------------------------------------------------------------------

Deno.test("NntpServer answers 501 to an over-long command line and goes on", async () => {
  await withServer({ maxLineLength: 100 }, async ({ port }) => {
    await using client = await raw(port);
    await client.send("GROUP " + "g".repeat(50000) + "\r\n");
    assertEquals(await client.line(), "501 Command line too long");
    assertEquals(await client.command("GROUP local.test"), "211 3 1 3 local.test");
    await client.send("X\0Y\r\n");
    assertEquals(await client.line(), "501 Command contains NUL");
  });
});

Deno.test("NntpServer closes a connection whose command line never ends", async () => {
  await withServer({ maxLineLength: 100 }, async ({ port }) => {
    await using client = await raw(port);
    const chunk = "h".repeat(65536);
    const writing = (async () => {
      try {
        for (let i = 0; i < 40; i++) await client.send(chunk);
      } catch {
        // the server closed
      }
    })();
    assertEquals(await client.line(10000), "501 Command line too long");
    await writing;
    assertEquals(await client.line(), null);
  });
});

Deno.test("NntpServer never shows an internal error: 403 and the session goes on", async () => {
  await withServer({}, async ({ port, dir, errors }) => {
    await Deno.remove(`${dir}/articles/1`);
    await using client = await raw(port);
    await client.command("GROUP local.test");
    assertEquals(await client.command("ARTICLE 1"), "403 Internal fault, please try again");
    assertEquals(await client.command("STAT 2"), "223 2 <two@x>");
    assertEquals(errors.length, 1);
  });
});

// ---- authentication and TLS ----------------------------------------------------------------

Deno.test("NntpServer with users asks for AUTHINFO USER/PASS first", async () => {
  await withServer({ users: { mulder: "trustno1" } }, async ({ port, log }) => {
    await using client = await raw(port);
    assertEquals(await client.command("GROUP local.test"), "480 Authentication required");
    assertEquals(
      await client.command("AUTHINFO PASS x"),
      "482 Authentication commands issued out of sequence",
    );
    assertEquals(await client.command("AUTHINFO SASL PLAIN"), "503 SASL is not supported");
    assertEquals(await client.command("AUTHINFO USER mulder"), "381 Password required");
    assertEquals(await client.command("AUTHINFO PASS wrong"), "481 Authentication failed");
    assertEquals(await client.command("AUTHINFO USER mulder"), "381 Password required");
    assertEquals(await client.command("AUTHINFO PASS trustno1"), "281 Authentication accepted");
    assertEquals(await client.command("GROUP local.test"), "211 3 1 3 local.test");
    assertEquals(await client.command("AUTHINFO USER mulder"), "502 Already authenticated");
    assert(log.includes("127.0.0.1 AUTHINFO PASS ****"));
    assert(!log.some((line) => line.includes("trustno1") || line.includes("wrong")));
  });
});

Deno.test("NntpServer closes after too many failed logins", async () => {
  await withServer({ users: { mulder: "trustno1" }, maxAuthFailures: 2 }, async ({ port }) => {
    await using client = await raw(port);
    await client.command("AUTHINFO USER mulder");
    assertEquals(await client.command("AUTHINFO PASS a"), "481 Authentication failed");
    await client.command("AUTHINFO USER mulder");
    assertEquals(
      await client.command("AUTHINFO PASS b"),
      "481 Authentication failed, closing connection",
    );
    assertEquals(await client.line(), null);
  });
});

Deno.test("NntpClient logs in to NntpServer with AUTHINFO USER/PASS", async () => {
  await withServer(
    { users: (user, password) => user === "scully" && password === "queequeg" },
    async ({ port }) => {
      await using nntp = await NntpClient.connect({
        port,
        credentials: { username: "scully", password: "queequeg" },
      });
      assert(nntp.authenticated);
      assertEquals((await nntp.group("local.test")).count, 3);
      await assertRejects(
        () => NntpClient.connect({ port, credentials: { username: "scully", password: "x" } }),
        NntpReplyError,
        "481",
      );
    },
  );
});

Deno.test("NntpServer STARTTLS upgrades, and the client re-reads the capabilities", async () => {
  const { cert, key, ca } = await testCert();
  await withServer({ cert, key, users: { mulder: "trustno1" } }, async ({ port }) => {
    await using nntp = await NntpClient.connect({
      port,
      serverName: VERIFIED_NAME,
      caCerts: [ca],
      requireTls: true,
      credentials: { username: "mulder", password: "trustno1" },
    });
    assert(nntp.tls && nntp.authenticated);
    assert(!nntp.capabilities.has("STARTTLS"));
    assertEquals((await nntp.group("local.test")).high, 3);
    const text = await (await nntp.body(1)).text();
    assertEquals(text, ".starts with a dot\r\nsecond\r\n");
  });
});

Deno.test("NntpClient.connect() fails rather than fall back to clear text on a bad certificate", async () => {
  const { cert, key } = await testCert();
  await withServer({ cert, key }, async ({ port }) => {
    await assertRejects(() => NntpClient.connect({ port, serverName: VERIFIED_NAME }));
    await assertRejects(
      () => NntpClient.connect({ port, serverName: VERIFIED_NAME, tls: false, requireTls: true }),
      TypeError,
      "exclude each other",
    );
  });
  await withServer({}, async ({ port }) => {
    const error = await assertRejects(() => NntpClient.connect({ port, requireTls: true }));
    assertStringIncludes(String(error), "does not offer STARTTLS");
  });
});

Deno.test("NntpServer closes a session that pipelines commands after STARTTLS", async () => {
  const { cert, key } = await testCert();
  await withServer({ cert, key }, async ({ port }) => {
    await using client = await raw(port);
    await client.send("STARTTLS\r\nGROUP local.test\r\n");
    assertEquals(await client.line(), "382 Continue with TLS negotiation");
    assertEquals(await client.line(), null);
  });
});

Deno.test("NntpServer speaks TLS from the first byte with implicitTls", async () => {
  const { cert, key, ca } = await testCert();
  await withServer({ cert, key, implicitTls: true }, async ({ port }) => {
    await using nntp = await NntpClient.connect({
      port,
      tls: { hostname: VERIFIED_NAME, caCerts: [ca] },
    });
    assert(nntp.tls);
    assert(!nntp.capabilities.has("STARTTLS"));
    assertEquals((await nntp.group("local.test")).count, 3);
  });
});

// ---- caps, timeouts, shutdown ------------------------------------------------------------

Deno.test("NntpServer answers 400 at the connection cap and 502 at the per-address cap", async () => {
  await withServer({ maxConnections: 1 }, async ({ port }) => {
    await using first = await raw(port);
    await using second = await RawClient.connect(port);
    assertEquals(await second.line(), "400 Too many connections, try again later");
    assertEquals(await second.line(), null);
    assertEquals(await first.command("GROUP local.test"), "211 3 1 3 local.test");
  });
  await withServer({ maxConnectionsPerAddress: 1 }, async ({ port }) => {
    await using first = await raw(port);
    await using second = await RawClient.connect(port);
    assertEquals(await second.line(), "502 Too many connections from your address");
    first.close();
  });
});

Deno.test("NntpServer says 400 to an idle connection and closes it", async () => {
  await withServer({ idleTimeout: 300 }, async ({ port }) => {
    await using client = await raw(port);
    assertEquals(await client.line(), "400 Idle timeout, closing connection");
    assertEquals(await client.line(), null);
  });
});

Deno.test("NntpServer shutdown says 400 to idle sessions", async () => {
  await withServer({}, async ({ port, server }) => {
    const client = await raw(port);
    await server.shutdown({ timeout: 1000 });
    assertEquals(await client.line(), "400 Server shutting down");
    assertEquals(await client.line(), null);
    client.close();
  });
});

Deno.test("NntpServer rejects bad options", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using spool = await NewsSpool.open(dir);
    // deno-lint-ignore no-explicit-any
    assertThrows(() => new NntpServer({} as any), TypeError, "spool");
    assertThrows(() => new NntpServer({ spool, cert: "x" }), TypeError, "cert and key");
    assertThrows(() => new NntpServer({ spool, implicitTls: true }), TypeError);
    assertThrows(() => new NntpServer({ spool, requireAuth: true }), TypeError);
    assertThrows(() => new NntpServer({ spool, maxArticleSize: 0 }), RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- durability -----------------------------------------------------------------------

Deno.test("NntpServer: an article acknowledged with 240 survives kill -9 right after", async () => {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_nntpd_kill_" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./_nntp_server_child.ts", import.meta.url).pathname, dir],
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let output = "";
    let messageId: string | null = null;
    try {
      while (!output.includes("\n")) {
        const { done, value } = await reader.read();
        if (done) break;
        output += value;
      }
      const port = Number(/^listening (\d+)/.exec(output)![1]);
      const body = "The truth is out there.\r\n".repeat(4000);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const nntp = new NntpClient(conn);
      try {
        const result = await nntp.post(
          `From: mulder@x\r\nNewsgroups: local.test\r\nSubject: survives kill -9\r\n\r\n${body}`,
        );
        messageId = result.messageId;
        child.kill("SIGKILL"); // right after the 240
      } finally {
        nntp.close();
      }
    } finally {
      await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
    const status = await child.status;
    assertEquals(status.signal, "SIGKILL");
    await using spool = await NewsSpool.open(dir);
    const entry = spool.byMessageId(messageId!)!;
    assertEquals(entry.groups, [["local.test", 1]]);
    const text = await new Response(await spool.read(entry, "body")).text();
    assertEquals(text, "The truth is out there.\r\n".repeat(4000));
    assertEquals(spool.group("local.test")?.high, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
