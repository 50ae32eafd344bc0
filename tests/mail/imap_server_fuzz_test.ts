/**
 * Seeded random input for the IMAP server: mutated MIME messages through
 * the structure scanner and the ENVELOPE/BODYSTRUCTURE builders, and
 * random command lines through a live session. Nothing may throw, hang or
 * crash the server, and a scan must not depend on how the input is split.
 */
import { type ImapPartNode, StructureScanner } from "../../mail/_imap_server_structure.ts";
import { bodyStructureOf, envelopeOf } from "../../mail/_imap_server_envelope.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { prng, randomChunks } from "../_helpers/sources.ts";
import { loggedIn, RawImap, startImapServer, utf8 } from "./_imap_server_helpers.ts";

const SEEDS = [
  'From: "A" <a@b.c>, g: x@y;\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
  "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n" +
  "Subject: in\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nx\r\n--c--\r\n" +
  "--b--\r\n",
  "Subject: plain\n\nbody\n",
];
const ALPHABET = utf8('-\r\n:;="()<>@, bc\tboundary--multipart/mixed message/rfc822');

function mutate(base: Uint8Array, random: () => number): Uint8Array {
  const bytes = [...base];
  const edits = 1 + Math.floor(random() * 8);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (bytes.length + 1));
    const kind = random();
    if (kind < 0.4) bytes.splice(at, 1);
    else if (kind < 0.8) bytes.splice(at, 0, ALPHABET[Math.floor(random() * ALPHABET.length)]!);
    else bytes.splice(at, 0, ...bytes.slice(at, at + Math.floor(random() * 40)));
  }
  return Uint8Array.from(bytes);
}

function check(node: ImapPartNode, size: number, depth = 0): void {
  assert(depth < 80, "the tree is too deep");
  assert(0 <= node.headerStart && node.headerStart <= node.bodyStart, "header before body");
  assert(
    node.bodyStart <= node.end && node.end <= size,
    `body within the message (${node.end}/${size})`,
  );
  for (const child of node.children) check(child, size, depth + 1);
  if (node.message !== null) check(node.message, size, depth + 1);
}

Deno.test("StructureScanner copes with 3000 mutated messages and splits them consistently", () => {
  const random = prng(20240229);
  for (let round = 0; round < 3000; round++) {
    const bytes = mutate(utf8(SEEDS[round % SEEDS.length]!), random);
    const whole = new StructureScanner();
    whole.feed(bytes);
    const root = whole.finish();
    check(root, bytes.length);
    const structure = bodyStructureOf(root, true);
    envelopeOf(root.fields);
    const split = new StructureScanner();
    for (const chunk of randomChunks(bytes, random, 9)) split.feed(chunk);
    assertEquals(bodyStructureOf(split.finish(), true), structure, `round ${round}`);
  }
});

Deno.test("ImapServer survives 300 random command lines and stays in step", async () => {
  await using t = startImapServer({ maxErrors: 1000 });
  await t.store.deliver("mulder", "INBOX", utf8(SEEDS[0]!));
  await using client = await loggedIn(t.port, "INBOX");
  const random = prng(7);
  const words = [
    "FETCH",
    "UID",
    "STORE",
    "SEARCH",
    "1",
    "*",
    "1:*",
    "(",
    ")",
    "BODY[",
    "]",
    "BODY.PEEK[1.MIME]",
    "<0.5>",
    '"x"',
    "{3}",
    "NIL",
    "\\Seen",
    "+FLAGS",
    "LIST",
    '""',
    "%",
    "OR",
    "NOT",
    "HEADER",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "COPY",
    "INBOX",
    "EXPUNGE",
    "STATUS",
    "(MESSAGES)",
    "é",
    '"\\"',
  ];
  for (let i = 0; i < 300; i++) {
    const n = 1 + Math.floor(random() * 6);
    const line = Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(
      " ",
    );
    // A trailing {n} would make the client owe a literal: keep the line self-contained.
    const safe = line.replace(/\{3\}$/, "x");
    const response = await client.command(`f${i}`, safe);
    assert(/\r\nf\d+ (OK|NO|BAD) [^\r\n]*\r\n$|^f\d+ (OK|NO|BAD) /.test(response), response);
  }
  assertEquals(await client.command("z", "NOOP"), "z OK NOOP completed\r\n");
  const { client: other } = await RawImap.connect(t.port);
  await using _ = other;
  await other.login();
});
