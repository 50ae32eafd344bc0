import { NntpClient } from "../../mail/nntp_client.ts";
import { NntpReplyError } from "../../mail/nntp_reply_error.ts";
import { MissingExtensionError } from "../../net/missing_extension_error.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_helpers/assert.ts";
import { splits } from "../_helpers/scripted_peer.ts";
import { innFixture, scriptedClient } from "./_nntp_helpers.ts";

const GREETING = "200 news.example.test ready (posting ok)\r\n";
const OVER_FMT = innFixture("list_overview_fmt.bin");
const encoder = new TextEncoder();

function sinkClient(chunks: (string | Uint8Array)[]): { nntp: NntpClient; sent: () => string } {
  const written: string[] = [];
  const nntp = new NntpClient({
    readable: ReadableStream.from(
      chunks.map((c) => (typeof c === "string" ? encoder.encode(c) : c)),
    ),
    writable: new WritableStream({ write: (c) => void written.push(new TextDecoder().decode(c)) }),
    close() {},
  });
  return { nntp, sent: () => written.join("") };
}

// ---- greeting, capabilities, modes ------------------------------------------

Deno.test("NntpClient greeting 200 allows posting and 201 does not", async () => {
  for (const [line, posting] of [["200 ok\r\n", true], ["201 no posting\r\n", false]] as const) {
    const { peer, nntp } = scriptedClient([
      { send: line },
      { expect: "DATE\r\n" },
      { send: "111 20231114100000\r\n" },
    ]);
    await nntp.date();
    assertEquals(nntp.postingAllowed, posting);
    assertEquals(nntp.greeting?.code, posting ? 200 : 201);
    await peer.done;
    nntp.close();
  }
});

Deno.test("NntpClient refuses a 400 or 502 greeting and closes", async () => {
  for (const code of [400, 502]) {
    const { nntp } = scriptedClient([{ send: `${code} go away\r\n` }]);
    const error = await assertRejects(() => nntp.date(), NntpReplyError);
    assertEquals(error.code, code);
    assertStringIncludes(error.message, "Cannot start session");
    assert(nntp.closed);
  }
});

Deno.test("NntpClient.readCapabilities() parses INN's capability list", async () => {
  const { peer, nntp } = scriptedClient([
    { send: innFixture("greeting.bin") },
    { expect: "CAPABILITIES\r\n" },
    { send: innFixture("capabilities.bin") },
  ]);
  const caps = await nntp.readCapabilities();
  assertEquals(caps.get("VERSION"), ["2"]);
  assertEquals(caps.get("AUTHINFO"), ["SASL"]);
  assert(caps.get("LIST")!.includes("OVERVIEW.FMT"));
  assert(caps.has("OVER") && caps.has("READER") && caps.has("STARTTLS"));
  assertEquals(nntp.capabilities, caps);
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.readCapabilities() is empty when the server does not know the command", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "500 What?\r\n" },
  ]);
  assertEquals((await nntp.readCapabilities()).size, 0);
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.modeReader() records 201 and forgets the capabilities", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nVERSION 2\r\nMODE-READER\r\n.\r\n" },
    { expect: "MODE READER\r\n" },
    { send: "201 Posting prohibited\r\n" },
  ]);
  await nntp.readCapabilities();
  const mode = await nntp.modeReader();
  assertEquals(mode, { code: 201, text: "Posting prohibited", postingAllowed: false });
  assertEquals(nntp.postingAllowed, false);
  assertEquals(nntp.capabilities.size, 0);
  await peer.done;
  nntp.close();
});

// ---- groups and listings -----------------------------------------------------

Deno.test("NntpClient.group() sends GROUP and parses INN's 211", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "GROUP comp.lang.python\r\n" },
    { send: innFixture("group.bin") },
  ]);
  assertEquals(await nntp.group("comp.lang.python"), {
    name: "comp.lang.python",
    count: 3,
    low: 1,
    high: 3,
  });
  assertEquals(nntp.currentGroup?.name, "comp.lang.python");
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.group() throws NntpReplyError 411 and the session goes on", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "GROUP nope.nope\r\n" },
    { send: "411 No such group nope.nope\r\n" },
    { expect: "DATE\r\n" },
    { send: "111 20231114100000\r\n" },
  ]);
  const error = await assertRejects(() => nntp.group("nope.nope"), NntpReplyError);
  assertEquals([error.code, error.command, error.transient], [411, "GROUP", true]);
  assertEquals(error.message, "Cannot send GROUP: server replied 411 No such group nope.nope");
  assertEquals((await nntp.date()).toISOString(), "2023-11-14T10:00:00.000Z");
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.listGroup() streams INN's article numbers and selects the group", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "LISTGROUP comp.lang.python\r\n" },
    { send: innFixture("listgroup.bin") },
    { expect: "LISTGROUP comp.lang.python 2-\r\n" },
    { send: "211 3 1 3 comp.lang.python\r\n2\r\n3\r\n.\r\n" },
  ]);
  const numbers = await nntp.listGroup("comp.lang.python");
  assertEquals(numbers.reply.code, 211);
  assertEquals(await numbers.toArray(), [1, 2, 3]);
  assertEquals(nntp.currentGroup, { name: "comp.lang.python", count: 3, low: 1, high: 3 });
  assertEquals(await (await nntp.listGroup(undefined, { from: 2 })).toArray(), [2, 3]);
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.listActive() sends LIST ACTIVE with a wildmat, plain LIST without", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "LIST ACTIVE comp.*\r\n" },
    { send: innFixture("list_active.bin") },
    { expect: "LIST\r\n" },
    { send: "215 list\r\nlocal.test 0000000002 0000000001 y\r\n.\r\n" },
  ]);
  assertEquals(await (await nntp.listActive("comp.*")).toArray(), [
    { name: "comp.lang.python", high: 3, low: 1, status: "y" },
    { name: "comp.lang.misc", high: 0, low: 1, status: "y" },
  ]);
  assertEquals(await (await nntp.listActive()).toArray(), [
    { name: "local.test", high: 2, low: 1, status: "y" },
  ]);
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.listNewsgroups() parses INN's tab-separated descriptions", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "LIST NEWSGROUPS\r\n" },
    { send: innFixture("list_newsgroups.bin") },
  ]);
  const groups = await (await nntp.listNewsgroups()).toArray();
  assertEquals(groups[1], {
    name: "comp.lang.python",
    description: "The Python computer language.",
  });
  assertEquals(groups.length, 4);
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.list() sends other LIST variants and streams the lines", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "LIST ACTIVE.TIMES comp.*\r\n" },
    { send: "215 times\r\ncomp.lang.python 1700000000 news\r\n.\r\n" },
  ]);
  assertEquals(await (await nntp.list("active.times", "comp.*")).toArray(), [
    "comp.lang.python 1700000000 news",
  ]);
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.newGroups() and newNews() send the date in UTC with GMT", async () => {
  const since = new Date("2023-11-14T10:00:00Z");
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "NEWGROUPS 20231114 100000 GMT\r\n" },
    { send: "231 new groups\r\nlocal.new 5 1 y\r\n.\r\n" },
    { expect: "NEWNEWS comp.*,!comp.os.* 20231114 100000 GMT\r\n" },
    { send: "230 new news\r\n<a@example.test>\r\n<b@example.test>\r\n.\r\n" },
  ]);
  assertEquals(await (await nntp.newGroups(since)).toArray(), [
    { name: "local.new", high: 5, low: 1, status: "y" },
  ]);
  assertEquals(await (await nntp.newNews("comp.*,!comp.os.*", since)).toArray(), [
    "<a@example.test>",
    "<b@example.test>",
  ]);
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.date() parses 111 and rejects a malformed one", async () => {
  const { nntp } = scriptedClient([
    { send: GREETING },
    { expect: "DATE\r\n" },
    { send: "111 2023111410000\r\n" },
  ]);
  const error = await assertRejects(() => nntp.date(), ProtocolError);
  assertEquals(error.code, "BAD_REPLY");
  assert(nntp.closed);
});

Deno.test("NntpClient.help() streams the help text", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "HELP\r\n" },
    { send: "100 help\r\n  ARTICLE\r\n..dot\r\n.\r\n" },
  ]);
  assertEquals(await (await nntp.help()).toArray(), ["  ARTICLE", ".dot"]);
  await peer.done;
  nntp.close();
});

// ---- overview ----------------------------------------------------------------

Deno.test("NntpClient.over() reads OVERVIEW.FMT once and parses INN's OVER lines", async () => {
  const { peer, nntp } = scriptedClient([
    { send: innFixture("greeting.bin") },
    { expect: "LIST OVERVIEW.FMT\r\n" },
    { send: OVER_FMT },
    { expect: "CAPABILITIES\r\n" },
    { send: innFixture("capabilities.bin") },
    { expect: "OVER 1-3\r\n" },
    { send: innFixture("over.bin") },
    { expect: "OVER 2\r\n" },
    { send: "224 follows\r\n2\tRe: x\tTim\tdate\t<b@x>\t<a@x>\t442\t1\tXref: h g:2\r\n.\r\n" },
  ]);
  const items = await (await nntp.over({ from: 1, to: 3 })).toArray();
  assertEquals(items.length, 3);
  assertEquals(items[1], {
    number: 2,
    subject: "Re: Welcome to comp.lang.python",
    from: "Tim <tim@example.test>",
    date: "Tue, 14 Nov 2023 11:00:00 +0000",
    messageId: "<peers-py-2@example.test>",
    references: "<peers-py-1@example.test>",
    bytes: 442,
    lines: 1,
    extra: new Map([["xref", "news.example.test comp.lang.python:2"]]),
  });
  const [one] = await (await nntp.over(2)).toArray();
  assertEquals(one?.extra.get("xref"), "h g:2");
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.over() falls back to XOVER when the server lacks OVER", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "LIST OVERVIEW.FMT\r\n" },
    { send: "500 What?\r\n" },
    { expect: "CAPABILITIES\r\n" },
    { send: "500 What?\r\n" },
    { expect: "XOVER 5-\r\n" },
    { send: "224 follows\r\n5\ts\tf\td\t<m@x>\t\t\t\r\n.\r\n" },
  ]);
  const [item] = await (await nntp.over({ from: 5 })).toArray();
  assertEquals([item?.number, item?.bytes, item?.lines, item?.extra.size], [5, null, null, 0]);
  await assertRejects(() => nntp.over("<m@x>"), TypeError, "XOVER");
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.over() fails on a line without an article number and stays usable", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "OVER 1-2\r\n" },
    { send: "224 follows\r\nx\tbad\r\n2\ts\tf\td\t<m@x>\t\t1\t1\r\n.\r\n" },
    { expect: "DATE\r\n" },
    { send: "111 20231114100000\r\n" },
  ]);
  const items = await nntp.over({ from: 1, to: 2 }, { format: "default" });
  const error = await assertRejects(() => items.next(), ProtocolError);
  assertEquals(error.code, "BAD_OVERVIEW");
  await nntp.date();
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.over() parses the same items however the response is split", async () => {
  const wire = GREETING + innFixture("over.bin");
  const bytes = encoder.encode(wire);
  let expected: string | null = null;
  for (const chunks of splits(bytes, true)) {
    const { nntp } = sinkClient(chunks);
    const items = await (await nntp.over({ from: 1, to: 3 }, { format: "default" })).toArray();
    const shown = JSON.stringify(items.map((i) => ({ ...i, extra: [...i.extra] })));
    expected ??= shown;
    assertEquals(shown, expected);
    nntp.close();
  }
  assertStringIncludes(expected!, "Zen of Python");
});

Deno.test("NntpClient.over() caps the line count with maxLines", async () => {
  const { nntp } = scriptedClient([
    { send: GREETING },
    { expect: "OVER 1-3\r\n" },
    { send: innFixture("over.bin") },
  ]);
  const items = await nntp.over({ from: 1, to: 3 }, { format: "default", maxLines: 2 });
  const error = await assertRejects(() => items.toArray(), ProtocolError);
  assertEquals(error.code, "REPLY_TOO_LARGE");
  assert(nntp.closed);
});

Deno.test("NntpClient.hdr() parses INN's HDR lines and uses XHDR without HDR", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nVERSION 2\r\nHDR\r\n.\r\n" },
    { expect: "HDR Subject 1-3\r\n" },
    { send: innFixture("hdr_subject.bin") },
    { expect: "HDR :bytes <a@x>\r\n" },
    { send: "225 follows\r\n0 436\r\n.\r\n" },
  ]);
  assertEquals(await (await nntp.hdr("Subject", { from: 1, to: 3 })).toArray(), [
    { number: 1, value: "Welcome to comp.lang.python" },
    { number: 2, value: "Re: Welcome to comp.lang.python" },
    { number: 3, value: "Zen of Python" },
  ]);
  assertEquals(await (await nntp.hdr(":bytes", "<a@x>")).toArray(), [{ number: 0, value: "436" }]);
  await peer.done;
  nntp.close();

  const old = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nVERSION 2\r\n.\r\n" },
    { expect: "XHDR From 4\r\n" },
    { send: "221 follows\r\n4 a@example.test\r\n.\r\n" },
  ]);
  assertEquals(await (await old.nntp.hdr("From", 4)).toArray(), [
    { number: 4, value: "a@example.test" },
  ]);
  await old.peer.done;
  old.nntp.close();
});

// ---- articles ------------------------------------------------------------------

Deno.test("NntpClient.article() streams INN's article dot-unstuffed", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "ARTICLE 3\r\n" },
    { send: innFixture("article_3.bin") },
    { expect: "STAT\r\n" },
    { send: "223 3 <peers-py-3@example.test> status\r\n" },
  ]);
  const article = await nntp.article(3);
  assertEquals([article.number, article.messageId], [3, "<peers-py-3@example.test>"]);
  const text = await article.text();
  assertStringIncludes(
    text,
    "\r\n\r\nSimple is better than complex.\r\n.a line starting with a dot\r\n",
  );
  assert(text.endsWith("Last line.\r\n"));
  assertEquals(await nntp.stat(), { number: 3, messageId: "<peers-py-3@example.test>" });
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.head() by message-id parses into a message without a body", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "HEAD <peers-py-1@example.test>\r\n" },
    { send: innFixture("head_msgid.bin") },
  ]);
  const head = await nntp.head("<peers-py-1@example.test>");
  assertEquals(head.number, 0);
  const message = await head.message();
  assertEquals(message.subject, "Welcome to comp.lang.python");
  assertEquals(message.from[0]?.address, "guido@example.test");
  assertEquals(message.headers.get("xref"), "news.example.test comp.lang.python:1");
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.body() unstuffs every dot line edge case", async () => {
  const wire = "222 7 <d@x>\r\n..\r\n...\r\n..x\r\n .x\r\n\r\nmid.dot\r\n..\r\n.\r\n";
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "BODY 7\r\n" },
    { send: wire },
  ]);
  const body = await nntp.body(7);
  assertEquals(await body.text(), ".\r\n..\r\n.x\r\n .x\r\n\r\nmid.dot\r\n.\r\n");
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.article() keeps the connection until the body is read or cancelled", async () => {
  const big = "line of text\r\n".repeat(10);
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "ARTICLE 1\r\n" },
    { send: `220 1 <a@x>\r\n${big}.\r\n` },
    { expect: "DATE\r\n" },
    { send: "111 20231114100000\r\n" },
  ]);
  const article = await nntp.article(1);
  await assertRejects(() => nntp.date(), TypeError, "did you forget await");
  await article.cancel();
  await nntp.date();
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient closes the connection when a cancelled article exceeds drainLimit", async () => {
  const { nntp } = scriptedClient([
    { send: GREETING },
    { expect: "ARTICLE 1\r\n" },
    { send: `220 1 <a@x>\r\n${"x".repeat(100)}\r\n`.repeat(1) },
    { send: `${"y".repeat(100)}\r\n`.repeat(50) },
  ], { drainLimit: 1000 });
  const article = await nntp.article(1);
  await article.cancel();
  assert(nntp.closed);
});

Deno.test("NntpClient.article() errors the body at maxSize and closes", async () => {
  const { nntp } = scriptedClient([
    { send: GREETING },
    { expect: "ARTICLE 1\r\n" },
    { send: `220 1 <a@x>\r\n${"x".repeat(100)}\r\n${"x".repeat(100)}\r\n.\r\n` },
  ]);
  const article = await nntp.article(1, { maxSize: 150 });
  const error = await assertRejects(() => article.bytes(), ProtocolError);
  assertEquals(error.code, "BODY_TOO_LARGE");
  assert(nntp.closed);
});

Deno.test("NntpClient.article() reports 423 and 430 as NntpReplyError", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "STAT 99\r\n" },
    { send: innFixture("stat_missing.bin") },
    { expect: "ARTICLE <nope@x>\r\n" },
    { send: "430 No such article\r\n" },
  ]);
  assertEquals((await assertRejects(() => nntp.stat(99), NntpReplyError)).code, 423);
  assertEquals((await assertRejects(() => nntp.article("<nope@x>"), NntpReplyError)).code, 430);
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.next() and last() move the current article", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "NEXT\r\n" },
    { send: "223 2 <b@x> next\r\n" },
    { expect: "LAST\r\n" },
    { send: "223 1 <a@x> last\r\n" },
    { expect: "LAST\r\n" },
    { send: "422 No previous article\r\n" },
  ]);
  assertEquals(await nntp.next(), { number: 2, messageId: "<b@x>" });
  assertEquals(await nntp.last(), { number: 1, messageId: "<a@x>" });
  assertEquals((await assertRejects(() => nntp.last(), NntpReplyError)).code, 422);
  await peer.done;
  nntp.close();
});

Deno.test("NntpItems drains the rest when a for-await loop breaks early", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "LISTGROUP g\r\n" },
    { send: "211 3 1 3 g\r\n1\r\n2\r\n3\r\n.\r\n" },
    { expect: "DATE\r\n" },
    { send: "111 20231114100000\r\n" },
  ]);
  const items = await nntp.listGroup("g");
  for await (const n of items) {
    assertEquals(n, 1);
    break;
  }
  assert(items.done);
  await nntp.date();
  await peer.done;
  nntp.close();
});

// ---- posting -------------------------------------------------------------------

Deno.test("NntpClient.post() dot-stuffs, normalizes line ends and ends with CRLF.CRLF", async () => {
  const article = ".first\nSubject: x\r\n\r\nbody\r\n.\r\n..two\rlast";
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "POST\r\n" },
    { send: "340 send article\r\n" },
    { expect: "..first\r\nSubject: x\r\n\r\nbody\r\n..\r\n...two\r\nlast\r\n.\r\n" },
    { send: "240 Article received <z@x>\r\n" },
  ]);
  const result = await nntp.post(article);
  assertEquals(result.reply.code, 240);
  assertEquals(result.messageId, "<z@x>");
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.post() takes a stream and finds the message-id in the article", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "POST\r\n" },
    { send: "340 send\r\n" },
    { expect: "Message-ID: <m@x>\r\n\r\nhi\r\n.\r\n" },
    { send: "240 ok\r\n" },
    { expect: "POST\r\n" },
    { send: "340 send\r\n" },
    { expect: "a\r\nb\r\n.\r\n" },
    { send: "240 ok\r\n" },
  ]);
  assertEquals((await nntp.post("Message-ID: <m@x>\r\n\r\nhi")).messageId, "<m@x>");
  const stream = ReadableStream.from(["a\r", "\nb\n"].map((s) => encoder.encode(s)));
  assertEquals((await nntp.post(stream)).messageId, null);
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.post() sends nothing after 440 and reports 441", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "POST\r\n" },
    { send: "440 Posting not permitted\r\n" },
    { expect: "POST\r\n" },
    { send: "340 send\r\n" },
    { expect: "x\r\n.\r\n" },
    { send: "441 Missing Newsgroups\r\n" },
    { expect: "DATE\r\n" },
    { send: "111 20231114100000\r\n" },
  ]);
  assertEquals((await assertRejects(() => nntp.post("x"), NntpReplyError)).code, 440);
  const error = await assertRejects(() => nntp.post("x"), NntpReplyError);
  assertEquals([error.code, error.command], [441, "POST"]);
  await nntp.date();
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.ihave() sends the article after 335 and cancels the stream on 435", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "IHAVE <a@x>\r\n" },
    { send: "335 send it\r\n" },
    { expect: "Message-ID: <a@x>\r\n\r\nx\r\n.\r\n" },
    { send: "235 thanks\r\n" },
    { expect: "IHAVE <b@x>\r\n" },
    { send: "435 Duplicate\r\n" },
  ]);
  const result = await nntp.ihave("<a@x>", "Message-ID: <a@x>\r\n\r\nx\r\n");
  assertEquals([result.reply.code, result.messageId], [235, "<a@x>"]);
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) });
  assertEquals((await assertRejects(() => nntp.ihave("<b@x>", stream), NntpReplyError)).code, 435);
  assert(cancelled);
  await peer.done;
  nntp.close();
});

// ---- authentication ---------------------------------------------------------------

Deno.test("NntpClient.auth() sends AUTHINFO USER/PASS and redacts the password", async () => {
  const log: string[] = [];
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nVERSION 2\r\nAUTHINFO USER\r\n.\r\n" },
    { expect: "AUTHINFO USER mulder\r\n" },
    { send: "381 Password required\r\n" },
    { expect: "AUTHINFO PASS trust no 1\r\n" },
    { send: "281 Authentication accepted\r\n" },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nVERSION 2\r\nPOST\r\n.\r\n" },
  ], { serverName: "localhost", debug: (line) => log.push(line) });
  const reply = await nntp.auth({ username: "mulder", password: "trust no 1" });
  assertEquals(reply.code, 281);
  assert(nntp.authenticated);
  assert(nntp.capabilities.has("POST"));
  assert(log.includes("C: AUTHINFO PASS ****"));
  assert(!log.some((line) => line.includes("trust no 1")));
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.auth() reports 481 and keeps the session", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nAUTHINFO USER\r\n.\r\n" },
    { expect: "AUTHINFO USER mulder\r\n" },
    { send: "381 Password required\r\n" },
    { expect: "AUTHINFO PASS wrong\r\n" },
    { send: "481 Authentication failed\r\n" },
    { expect: "DATE\r\n" },
    { send: "111 20231114100000\r\n" },
  ], { serverName: "127.0.0.1" });
  const error = await assertRejects(
    () => nntp.auth({ username: "mulder", password: "wrong" }),
    NntpReplyError,
  );
  assertEquals(error.code, 481);
  assert(!nntp.authenticated);
  await nntp.date();
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.auth() never sends a password in clear to a remote host", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nAUTHINFO USER SASL\r\nSASL PLAIN LOGIN\r\n.\r\n" },
  ], { serverName: "news.example.com" });
  const error = await assertRejects(
    () => nntp.auth({ username: "mulder", password: "trustno1" }),
    MissingExtensionError,
  );
  assertEquals(error.extension, "AUTHINFO");
  await assertRejects(
    () => nntp.auth({ username: "mulder", password: "trustno1" }, { mechanism: "USER" }),
    TypeError,
    "without TLS",
  );
  await assertRejects(
    () => nntp.auth({ username: "mulder", password: "trustno1" }, { mechanism: "PLAIN" }),
    TypeError,
    "without TLS",
  );
  await peer.done;
  assertEquals(peer.written, "CAPABILITIES\r\n");
  nntp.close();
});

Deno.test("NntpClient.auth() with allowInsecureAuth sends AUTHINFO USER to a remote host", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nAUTHINFO USER\r\n.\r\n" },
    { expect: "AUTHINFO USER mulder\r\n" },
    { send: "281 ok, no password needed\r\n" },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nVERSION 2\r\n.\r\n" },
  ], { serverName: "news.example.com", allowInsecureAuth: true });
  await nntp.auth({ username: "mulder", password: "trustno1" });
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.auth() uses AUTHINFO SASL PLAIN with an initial response", async () => {
  const log: string[] = [];
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nAUTHINFO USER SASL\r\nSASL PLAIN\r\n.\r\n" },
    { expect: "AUTHINFO SASL PLAIN AG11bGRlcgB0cnVzdG5vMQ==\r\n" },
    { send: "281 Authentication accepted\r\n" },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nVERSION 2\r\n.\r\n" },
  ], { serverName: "localhost", debug: (line) => log.push(line) });
  await nntp.auth({ username: "mulder", password: "trustno1" });
  assert(log.includes("C: AUTHINFO SASL PLAIN ****"));
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.auth() answers a CRAM-MD5 challenge (RFC 4643 §2.4)", async () => {
  const challenge = encoder.encode("<1896.697170952@postoffice.reston.mci.net>").toBase64();
  const response = encoder.encode("tim b913a602c7eda7a495b4e6e7334d3890").toBase64();
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nAUTHINFO SASL\r\nSASL CRAM-MD5 PLAIN\r\n.\r\n" },
    { expect: "AUTHINFO SASL CRAM-MD5\r\n" },
    { send: `383 ${challenge}\r\n` },
    { expect: `${response}\r\n` },
    { send: "281 ok\r\n" },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nVERSION 2\r\n.\r\n" },
  ], { serverName: "news.example.com" });
  await nntp.auth({ username: "tim", password: "tanstaaftanstaaf" });
  assert(nntp.authenticated);
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.auth() cancels with * on a challenge that is not base64", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nAUTHINFO SASL\r\nSASL CRAM-MD5\r\n.\r\n" },
    { expect: "AUTHINFO SASL CRAM-MD5\r\n" },
    { send: "383 !!!not base64!!!\r\n" },
    { expect: "*\r\n" },
    { send: "481 cancelled\r\n" },
    { expect: "DATE\r\n" },
    { send: "111 20231114100000\r\n" },
  ]);
  const error = await assertRejects(
    () => nntp.auth({ username: "tim", password: "x" }),
    ProtocolError,
  );
  assertEquals(error.code, "BAD_CHALLENGE");
  await nntp.date();
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.startTls() refuses when STARTTLS is not advertised", async () => {
  const { peer, nntp } = scriptedClient([
    { send: GREETING },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nVERSION 2\r\n.\r\n" },
  ]);
  const error = await assertRejects(() => nntp.startTls(), MissingExtensionError);
  assertEquals(error.extension, "STARTTLS");
  await peer.done;
  nntp.close();
});

Deno.test("NntpClient.startTls() closes on bytes injected after 382 (CVE-2011-0411 class)", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(1024);
    await conn.write(encoder.encode(GREETING));
    await conn.read(buf); // CAPABILITIES
    await conn.write(encoder.encode("101 caps\r\nSTARTTLS\r\n.\r\n"));
    await conn.read(buf); // STARTTLS
    await conn.write(encoder.encode("382 go ahead\r\n281 injected\r\n"));
    await conn.read(buf).catch(() => null);
    conn.close();
  })();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const nntp = new NntpClient(conn);
  const error = await assertRejects(() => nntp.startTls(), ProtocolError);
  assertEquals(error.code, "STARTTLS_INJECTION");
  assert(nntp.closed);
  await served;
});

// ---- bad input and limits -------------------------------------------------------------

Deno.test("NntpClient throws before writing for CR, LF or NUL in any argument", async () => {
  const { peer, nntp } = scriptedClient([{ send: GREETING }]);
  const since = new Date();
  for (const bad of ["a\r\nQUIT", "a\nb", "a\0b", "a b"]) {
    assertThrows(() => nntp.group(bad), TypeError);
    assertThrows(() => nntp.listGroup(bad), TypeError);
    assertThrows(() => nntp.listActive(bad), TypeError);
    assertThrows(() => nntp.listNewsgroups(bad), TypeError);
    assertThrows(() => nntp.list("ACTIVE", bad), TypeError);
    assertThrows(() => nntp.list(bad), TypeError);
    assertThrows(() => nntp.newNews(bad, since), TypeError);
    assertThrows(() => nntp.hdr(bad), TypeError);
    assertThrows(() => nntp.over(`<${bad}>`), TypeError);
    assertThrows(() => nntp.article(`<${bad}>`), TypeError);
    assertThrows(() => nntp.stat(`<${bad}>`), TypeError);
    assertThrows(() => nntp.ihave(`<${bad}>`, "x"), TypeError);
  }
  for (const bad of ["a\r\nQUIT", "a\nb", "a\0b"]) {
    assertThrows(() => nntp.auth({ username: bad, password: "p" }), TypeError);
    assertThrows(() => nntp.auth({ username: "u", password: bad }), TypeError);
    assertThrows(() => nntp.auth({ username: "u", password: "p" }, { mechanism: bad }), TypeError);
  }
  assertThrows(() => nntp.article(-1), RangeError);
  assertThrows(() => nntp.over({ from: 1.5 }), RangeError);
  assertThrows(() => nntp.newGroups(new Date(NaN)), RangeError);
  assertThrows(() => nntp.article("no-brackets@x"), TypeError);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assertEquals(peer.written, "");
  nntp.close();
});

Deno.test("NntpClient fails with LINE_TOO_LONG on an over-long status or data line", async () => {
  const status = scriptedClient([{ send: GREETING }, { send: "211 " + "9".repeat(5000) + "\r\n" }]);
  const error = await assertRejects(() => status.nntp.group("g"), ProtocolError);
  assertEquals(error.code, "LINE_TOO_LONG");
  assert(status.nntp.closed);

  const data = scriptedClient([
    { send: GREETING },
    { expect: "LIST\r\n" },
    { send: "215 list\r\n" + "g".repeat(200) + " 1 1 y\r\n.\r\n" },
  ], { maxLineLength: 100 });
  const items = await data.nntp.listActive();
  assertEquals((await assertRejects(() => items.toArray(), ProtocolError)).code, "LINE_TOO_LONG");
  assert(data.nntp.closed);
});

Deno.test("NntpClient fails with UNEXPECTED_EOF when the server hangs up mid-response", async () => {
  const listing = scriptedClient([
    { send: GREETING },
    { expect: "LIST\r\n" },
    { send: "215 list\r\nlocal.test 1 1 y\r\n" },
    { close: true },
  ]);
  const items = await listing.nntp.listActive();
  assertEquals((await assertRejects(() => items.toArray(), ProtocolError)).code, "UNEXPECTED_EOF");

  const article = scriptedClient([
    { send: GREETING },
    { expect: "ARTICLE 1\r\n" },
    { send: "220 1 <a@x>\r\nSubject: cut\r\n\r\nhalf" },
    { close: true },
  ]);
  const body = await article.nntp.article(1);
  assertEquals((await assertRejects(() => body.text(), ProtocolError)).code, "UNEXPECTED_EOF");
  assert(article.nntp.closed);

  const status = scriptedClient([{ send: GREETING }, { expect: "DATE\r\n" }, { close: true }]);
  assertEquals(
    (await assertRejects(() => status.nntp.date(), ProtocolError)).code,
    "UNEXPECTED_EOF",
  );
});

Deno.test("NntpClient rejects non-digit codes and NUL in status lines", async () => {
  for (
    const line of ["2x1 3 1 3 g\r\n", "abc\r\n", "211\x00 3 1 3 g\r\n", "2111 x\r\n", "611 x\r\n"]
  ) {
    const { nntp } = scriptedClient([{ send: GREETING }, { expect: "GROUP g\r\n" }, {
      send: line,
    }]);
    const error = await assertRejects(() => nntp.group("g"), ProtocolError, undefined, line);
    assertEquals(error.code, "BAD_REPLY");
    assert(nntp.closed);
  }
});

Deno.test("NntpClient fails the next command after an unsolicited reply", async () => {
  const { nntp } = scriptedClient([
    { send: GREETING },
    { expect: "GROUP g\r\n" },
    { send: "211 1 1 1 g\r\n" },
    { sleep: 20 },
    { send: "211 2 1 2 g\r\n" },
  ]);
  await nntp.group("g");
  await new Promise((resolve) => setTimeout(resolve, 60));
  const error = await assertRejects(() => nntp.group("g"), ProtocolError);
  assertEquals(error.code, "UNSOLICITED");
  assert(nntp.closed);
});

Deno.test("NntpClient treats 400 as the end of the session", async () => {
  const { nntp } = scriptedClient([
    { send: GREETING },
    { expect: "GROUP g\r\n" },
    { send: "400 Service discontinued\r\n" },
  ]);
  const error = await assertRejects(() => nntp.group("g"), NntpReplyError);
  assertEquals(error.code, 400);
  assert(nntp.closed);
});

Deno.test("NntpClient closes the connection when a command times out or is aborted", async () => {
  const slow = scriptedClient([{ send: GREETING }, { expect: "DATE\r\n" }, { sleep: 500 }]);
  const error = await assertRejects(() => slow.nntp.date({ timeout: 50 }));
  assertInstanceOf(error, DOMException);
  assertEquals(error.name, "TimeoutError");
  assert(slow.nntp.closed);

  const idle = scriptedClient([{ send: GREETING }, { expect: "DATE\r\n" }, { sleep: 500 }], {
    timeout: 50,
  });
  assertEquals((await assertRejects(() => idle.nntp.date())).name, "TimeoutError");

  const controller = new AbortController();
  const aborted = scriptedClient([{ send: GREETING }, { expect: "DATE\r\n" }, { sleep: 500 }]);
  const pending = aborted.nntp.date({ signal: controller.signal });
  setTimeout(() => controller.abort(new Error("stop")), 20);
  await assertRejects(() => pending, Error, "stop");
  assert(aborted.nntp.closed);
  await new Promise((resolve) => setTimeout(resolve, 500));
});

Deno.test("NntpClient.quit() reads 205 and closes; a silent hang-up is fine", async () => {
  const polite = scriptedClient([{ send: GREETING }, { expect: "QUIT\r\n" }, {
    send: "205 bye\r\n",
  }]);
  assertEquals((await polite.nntp.quit())?.code, 205);
  assert(polite.nntp.closed);
  const rude = scriptedClient([{ send: GREETING }, { expect: "QUIT\r\n" }, { close: true }]);
  assertEquals(await rude.nntp.quit(), null);
  assert(rude.nntp.closed);
});

Deno.test("NntpClient rejects bad options", () => {
  const conn = { readable: new ReadableStream(), writable: new WritableStream(), close() {} };
  assertThrows(() => new NntpClient(conn, { timeout: 0 }), RangeError);
  assertThrows(() => new NntpClient(conn, { maxLineLength: -1 }), RangeError);
  assertThrows(() => new NntpClient(conn, { drainLimit: -1 }), RangeError);
});

/** A loopback server that offers STARTTLS, refuses it with 580, and records what came after. */
async function refusingStartTls(
  fn: (port: number) => Promise<void>,
): Promise<string> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let received = "";
  const served = (async () => {
    const conn = await listener.accept();
    listener.close();
    const buf = new Uint8Array(4096);
    await conn.write(encoder.encode(GREETING));
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      const text = new TextDecoder().decode(buf.subarray(0, n));
      received += text;
      for (const line of text.split("\r\n").filter(Boolean)) {
        const verb = line.split(" ")[0]!.toUpperCase();
        const reply = verb === "CAPABILITIES"
          ? "101 caps\r\nVERSION 2\r\nREADER\r\nSTARTTLS\r\n.\r\n"
          : verb === "STARTTLS"
          ? "580 Can not initiate TLS negotiation\r\n"
          : verb === "GROUP"
          ? "211 0 1 0 g\r\n"
          : verb === "QUIT"
          ? "205 bye\r\n"
          : "500 What?\r\n";
        await conn.write(encoder.encode(reply)).catch(() => 0);
      }
    }
    conn.close();
  })();
  await fn(listener.addr.port);
  await served;
  return received;
}

Deno.test("NntpClient.connect() with requireTls sends nothing in clear after a STARTTLS refusal", async () => {
  const received = await refusingStartTls(async (port) => {
    const error = await assertRejects(() => NntpClient.connect({ port, requireTls: true }));
    assertInstanceOf(error, NntpReplyError);
    assertEquals(error.code, 580);
  });
  assertEquals(received, "CAPABILITIES\r\nSTARTTLS\r\n");
});

Deno.test("NntpClient.connect() goes on in clear after a STARTTLS refusal when TLS is not required", async () => {
  const received = await refusingStartTls(async (port) => {
    const nntp = await NntpClient.connect({ port });
    assert(!nntp.tls);
    assertEquals((await nntp.group("g")).count, 0);
    await nntp.quit();
  });
  assertEquals(received, "CAPABILITIES\r\nSTARTTLS\r\nGROUP g\r\nQUIT\r\n");
});
