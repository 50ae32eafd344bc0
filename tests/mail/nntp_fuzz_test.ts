/**
 * Seeded random input for both sides: the client fed random (mostly
 * almost-valid) responses must resolve or fail with ProtocolError or
 * NntpReplyError, never hang or throw anything else; the server fed random
 * command lines must answer each with a status line and stay usable.
 */
import { NewsSpool } from "../../mail/news_spool.ts";
import { NntpClient } from "../../mail/nntp_client.ts";
import { NntpReplyError } from "../../mail/nntp_reply_error.ts";
import { NntpServer } from "../../mail/nntp_server.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assert, assertEquals, assertMatch, fail } from "../_helpers/assert.ts";
import { prng, randomChunks } from "../_helpers/sources.ts";
import { RawClient } from "./_nntp_helpers.ts";

const encoder = new TextEncoder();
const MULTI = new Set(["100", "101", "215", "220", "221", "222", "224", "225", "230", "231"]);
const CODES = [
  "211",
  "215",
  "220",
  "221",
  "222",
  "223",
  "224",
  "225",
  "230",
  "231",
  "240",
  "340",
  "411",
  "423",
  "500",
  "2x1",
  "99",
  "1000",
];
const BITS = [
  "",
  ".",
  "..",
  "\t",
  "1",
  "42",
  "<a@x>",
  "Subject",
  " ",
  "\r",
  "\n",
  "\0",
  "é",
  "x".repeat(30),
  "-",
];

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

function randomResponse(random: () => number): string {
  let out = `${pick(random, CODES)}${random() < 0.9 ? " " : "-"}`;
  for (let i = Math.floor(random() * 4); i > 0; i--) out += pick(random, BITS) + " ";
  out += "\r\n";
  for (let line = Math.floor(random() * 6); line > 0; line--) {
    for (let i = Math.floor(random() * 6); i > 0; i--) out += pick(random, BITS);
    out += random() < 0.85 ? "\r\n" : "\n";
  }
  if (random() < 0.8) out += ".\r\n";
  return out;
}

type Call = (nntp: NntpClient) => Promise<unknown>;

const drain = async (value: unknown): Promise<void> => {
  if (value !== null && typeof value === "object" && "toArray" in value) {
    await (value as { toArray(): Promise<unknown> }).toArray();
  } else if (value !== null && typeof value === "object" && "bytes" in value) {
    await (value as { bytes(): Promise<unknown> }).bytes();
  }
};

const CALLS: Call[] = [
  (n) => n.group("g"),
  (n) => n.listGroup("g"),
  (n) => n.listActive(),
  (n) => n.listNewsgroups(),
  (n) => n.over({ from: 1 }, { format: "default" }),
  (n) => n.hdr("Subject", 1),
  (n) => n.article(1),
  (n) => n.head("<a@x>"),
  (n) => n.stat(),
  (n) => n.next(),
  (n) => n.date(),
  (n) => n.readCapabilities(),
  (n) => n.post("Subject: s\r\n\r\nx\r\n"),
  (n) => n.newNews("*", new Date(0)),
];

Deno.test("NntpClient fails only with ProtocolError or NntpReplyError on random responses", async () => {
  const random = prng(3977);
  for (let i = 0; i < 1500; i++) {
    const wire = "200 ok\r\n" + randomResponse(random) +
      (random() < 0.5 ? randomResponse(random) : "");
    const chunks = randomChunks(encoder.encode(wire), random, 40);
    const nntp = new NntpClient({
      readable: ReadableStream.from(chunks),
      writable: new WritableStream(),
      close() {},
    }, { timeout: 2000 });
    const call = pick(random, CALLS);
    try {
      await drain(await call(nntp));
    } catch (error) {
      if (!(error instanceof ProtocolError) && !(error instanceof NntpReplyError)) {
        fail(`${JSON.stringify(wire)}: ${error}`);
      }
    } finally {
      nntp.close();
    }
  }
});

const VERBS = [
  "ARTICLE",
  "BODY",
  "HEAD",
  "STAT",
  "GROUP",
  "LISTGROUP",
  "LIST",
  "OVER",
  "XOVER",
  "HDR",
  "XHDR",
  "NEXT",
  "LAST",
  "NEWGROUPS",
  "NEWNEWS",
  "MODE",
  "CAPABILITIES",
  "DATE",
  "HELP",
  "AUTHINFO",
  "IHAVE",
  "STARTTLS",
  "xyzzy",
];
const ARGS = [
  "local.test",
  "1",
  "1-",
  "2-1",
  "-5",
  "99999999999",
  "<a@x>",
  "<>",
  "*",
  "[",
  "!local.*",
  "ACTIVE",
  "OVERVIEW.FMT",
  "READER",
  "20230101",
  "000000",
  "GMT",
  "Subject",
  ":bytes",
  "USER",
  "é",
  "a".repeat(300),
];

Deno.test("NntpServer answers random command lines with a status line and stays usable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_nntp_fuzz_" });
  const spool = await NewsSpool.open(dir, { groups: ["local.test"] });
  const errors: unknown[] = [];
  const server = new NntpServer({ spool, port: 0, onError: (e) => errors.push(e) });
  try {
    await spool.store("From: a@x\r\nNewsgroups: local.test\r\nSubject: s\r\n\r\nbody\r\n");
    const random = prng(977);
    await using client = await RawClient.connect(server.addr.port);
    assertMatch((await client.line())!, /^200 /);
    for (let i = 0; i < 400; i++) {
      let line = pick(random, VERBS);
      for (let k = Math.floor(random() * 4); k > 0; k--) line += " " + pick(random, ARGS);
      if (/^STARTTLS|^QUIT/i.test(line)) continue;
      const status = (await client.command(line))!;
      assertMatch(status, /^[1-5]\d\d /, line);
      // Multi-line answers: 100, 101, the 2xx that carry data, and LISTGROUP's 211.
      const code = status.slice(0, 3);
      if (MULTI.has(code) || (code === "211" && status.endsWith("list follows"))) {
        assert((await client.block()).endsWith(".\r\n"), line);
      }
    }
    assertMatch((await client.command("DATE"))!, /^111 \d{14}$/);
    assertEquals(errors, []);
  } finally {
    await server.shutdown({ timeout: 1000 });
    await spool.close();
    await Deno.remove(dir, { recursive: true });
  }
});
