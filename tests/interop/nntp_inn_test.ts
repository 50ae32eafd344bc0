/**
 * NntpClient against the peers' INN 2.7 (nnrpd on 127.0.0.1:1119):
 * GROUP, OVER with INN's OVERVIEW.FMT, ARTICLE by number and message-id,
 * HDR, LIST, LISTGROUP, NEXT/LAST, error codes, POST then read back, and
 * STARTTLS with the peers' CA (`$PEERS_DIR/tls/ca.pem`, name `localhost`).
 *
 * The seeded data (comp.lang.python 1-3, local.test 1) comes back on each
 * peer start; posts made here go to local.test and stay until then.
 */
import { NntpClient } from "../../mail/nntp_client.ts";
import { NntpReplyError } from "../../mail/nntp_reply_error.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../_helpers/assert.ts";
import { PEERS_DIR, peerTest } from "../_helpers/peers.ts";

const PORT = 1119;
const CA = `${PEERS_DIR}/tls/ca.pem`;

function connect(): Promise<NntpClient> {
  return NntpClient.connect({ port: PORT, tls: false });
}

peerTest(
  "NntpClient reads comp.lang.python's overview from INN with INN's OVERVIEW.FMT",
  PORT,
  async () => {
    await using nntp = await connect();
    assertEquals(nntp.greeting?.code, 200);
    assert(nntp.capabilities.has("OVER") && nntp.capabilities.has("READER"));
    const group = await nntp.group("comp.lang.python");
    assertEquals(group, { name: "comp.lang.python", count: 3, low: 1, high: 3 });
    const items = await (await nntp.over({ from: group.low, to: group.high })).toArray();
    assertEquals(items.map((i) => [i.number, i.subject, i.messageId]), [
      [1, "Welcome to comp.lang.python", "<peers-py-1@example.test>"],
      [2, "Re: Welcome to comp.lang.python", "<peers-py-2@example.test>"],
      [3, "Zen of Python", "<peers-py-3@example.test>"],
    ]);
    assertEquals(items[1]!.references, "<peers-py-1@example.test>");
    assertEquals(items[2]!.extra.get("xref"), "news.example.test comp.lang.python:3");
    assertEquals([items[0]!.bytes, items[0]!.lines], [436, 2]);
    const format = await nntp.listOverviewFormat();
    assertEquals(format.at(-1), { name: "Xref", metadata: false, full: true });
  },
);

peerTest(
  "NntpClient fetches INN articles by number and by message-id, dot-unstuffed",
  PORT,
  async () => {
    await using nntp = await connect();
    await nntp.group("comp.lang.python");
    const byNumber = await nntp.article(3);
    assertEquals([byNumber.number, byNumber.messageId], [3, "<peers-py-3@example.test>"]);
    const text = await byNumber.text();
    assertStringIncludes(text, "\r\n.a line starting with a dot\r\n");
    const byId = await nntp.article("<peers-py-1@example.test>");
    assertEquals(byId.number, 0);
    const message = await byId.message();
    assertEquals(message.subject, "Welcome to comp.lang.python");
    assertEquals(message.from[0]?.name, "Guido");
    assertStringIncludes(message.textBody ?? "", "Beautiful is better than ugly.");
    const head = await (await nntp.head(2)).message();
    assertEquals(head.headers.get("references"), "<peers-py-1@example.test>");
    assertEquals(
      await (await nntp.body(1)).text(),
      "First article in comp.lang.python.\r\nBeautiful is better than ugly.\r\n",
    );
  },
);

peerTest(
  "NntpClient lists groups, numbers and headers from INN and walks with NEXT/LAST",
  PORT,
  async () => {
    await using nntp = await connect();
    const active = await (await nntp.listActive("comp.*")).toArray();
    assertEquals(active.map((g) => g.name).sort(), ["comp.lang.misc", "comp.lang.python"]);
    const descriptions = await (await nntp.listNewsgroups("comp.lang.python")).toArray();
    assertEquals(descriptions, [{
      name: "comp.lang.python",
      description: "The Python computer language.",
    }]);
    assertEquals(await (await nntp.listGroup("comp.lang.python")).toArray(), [1, 2, 3]);
    assertEquals(await (await nntp.hdr("From", { from: 1, to: 2 })).toArray(), [
      { number: 1, value: "Guido <guido@example.test>" },
      { number: 2, value: "Tim <tim@example.test>" },
    ]);
    assertEquals(await nntp.stat(), { number: 1, messageId: "<peers-py-1@example.test>" });
    assertEquals((await nntp.next()).number, 2);
    assertEquals((await nntp.last()).number, 1);
    assert(Math.abs((await nntp.date()).getTime() - Date.now()) < 120000);
  },
);

peerTest("NntpClient gets INN's refusals as NntpReplyError with the code", PORT, async () => {
  await using nntp = await connect();
  assertEquals((await assertRejects(() => nntp.group("nope.nope"), NntpReplyError)).code, 411);
  assertEquals((await assertRejects(() => nntp.article(1), NntpReplyError)).code, 412);
  await nntp.group("comp.lang.python");
  assertEquals((await assertRejects(() => nntp.article(99), NntpReplyError)).code, 423);
  assertEquals((await assertRejects(() => nntp.article("<nope@x>"), NntpReplyError)).code, 430);
  // The session goes on after each refusal.
  assertEquals((await nntp.stat(2)).messageId, "<peers-py-2@example.test>");
});

peerTest("NntpClient posts to INN's local.test and reads the article back", PORT, async () => {
  await using nntp = await connect();
  const before = await nntp.group("local.test");
  const id = `<inetkit-${crypto.randomUUID()}@example.test>`;
  const body = ".leading dot\r\n..two dots\r\n.\r\nlast line\r\n";
  const result = await nntp.post(
    `From: inetkit <inetkit@example.test>\r\nNewsgroups: local.test\r\nSubject: inetkit interop\r\n` +
      `Message-ID: ${id}\r\n\r\n${body}`,
  );
  assertEquals(result.reply.code, 240);
  assertEquals(result.messageId, id);
  const article = await nntp.body(id);
  assertEquals(await article.text(), body);
  const after = await nntp.group("local.test");
  assertEquals(after.high, before.high + 1);
  const [item] = await (await nntp.over(after.high)).toArray();
  assertEquals([item?.subject, item?.messageId], ["inetkit interop", id]);
  const duplicate = await assertRejects(
    () =>
      nntp.post(
        `From: a@example.test\r\nNewsgroups: local.test\r\nSubject: again\r\nMessage-ID: ${id}\r\n\r\nx\r\n`,
      ),
    NntpReplyError,
  );
  assertEquals(duplicate.code, 441);
});

peerTest(
  "NntpClient upgrades to TLS with INN's STARTTLS and re-reads the capabilities",
  PORT,
  async () => {
    const caCerts = [await Deno.readTextFile(CA)];
    await using nntp = await NntpClient.connect({
      port: PORT,
      serverName: "localhost",
      caCerts,
      requireTls: true,
    });
    assert(nntp.tls);
    assert(!nntp.capabilities.has("STARTTLS"));
    assertEquals((await nntp.group("comp.lang.python")).count, 3);
    assertEquals((await nntp.stat("<peers-py-3@example.test>")).number, 0);
  },
);

peerTest(
  "NntpClient refuses INN's certificate without the peers' CA instead of going on in clear",
  PORT,
  async () => {
    await assertRejects(() => NntpClient.connect({ port: PORT, serverName: "localhost" }));
  },
);
