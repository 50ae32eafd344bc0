/**
 * The classic chapter's poplib and imaplib examples, run with `deno run`
 * against loopback fake servers and, when the peers are up, against
 * Dovecot (POP3 RETR marks a message \Seen there: the flags are put back).
 */
import { ImapClient } from "../../mail/imap_client.ts";
import {
  fakeImapSession,
  fakeMessage,
  fakePop3Session,
  fakeServer,
} from "../mail/_imap_client_servers.ts";
import { peerTest } from "../_helpers/peers.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

const decoder = new TextDecoder();

async function example(
  name: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      new URL(`../../cli/examples/${name}`, import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: result.code,
    out: decoder.decode(result.stdout),
    err: decoder.decode(result.stderr),
  };
}

const MESSAGE = fakeMessage(
  7,
  "ANN: (the eff-bot guide to) The Standard Python Library",
  "fredrik@spam.egg",
  "The truth is out there.",
);

const EXPECTED = [
  "from = fredrik@spam.egg",
  "to = mulder@example.test",
  "subject = ANN: (the eff-bot guide to) The Standard Python Library",
  "date = Tue, 14 Nov 2023 22:13:21 +0000",
  "message-id = <fake-7@example.test>",
  "The truth is out there.",
  "",
];

Deno.test("example poplib_random_message.ts (poplib-example-1) prints a message's fields and body", async () => {
  await using server = await fakeServer(fakePop3Session([MESSAGE]));
  const r = await example("poplib_random_message.ts", ["127.0.0.1", String(server.port)]);
  assertEquals([r.code, r.err], [0, ""]);
  assertEquals(r.out.split(/\r?\n/).slice(0, -1), EXPECTED);
  await server.finished();
  assertEquals(server.sessions[0]!.received, [
    "CAPA",
    "USER mulder",
    "PASS trustno1",
    "LIST",
    "RETR 1",
    "QUIT",
  ]);
});

Deno.test("example imaplib_random_message.ts (imaplib-example-1) prints a message's fields and body", async () => {
  await using server = await fakeServer(fakeImapSession([MESSAGE]));
  const r = await example("imaplib_random_message.ts", ["127.0.0.1", String(server.port)]);
  assertEquals([r.code, r.err], [0, ""]);
  assertEquals(r.out.split(/\r?\n/).slice(0, -1), EXPECTED);
  await server.finished();
  assertEquals(server.sessions[0]!.received, [
    "A1 AUTHENTICATE PLAIN",
    "AG11bGRlcgB0cnVzdG5vMQ==",
    "A2 EXAMINE INBOX",
    "A3 SEARCH ALL",
    "A4 FETCH 1 (RFC822)",
    "A5 LOGOUT",
  ]);
});

const CA = "/tmp/peers/tls/ca.pem";

async function seededFlags(): Promise<[number, string[]][]> {
  await using imap = await ImapClient.connect({
    port: 1143,
    tls: false,
    credentials: { username: "mulder", password: "trustno1" },
  });
  await imap.examine("INBOX");
  return (await imap.fetch([1, 2], ["FLAGS"], { uid: true })).map((m) => [m.uid!, m.flags!]);
}

async function restoreFlags(flags: [number, string[]][]): Promise<void> {
  await using imap = await ImapClient.connect({
    port: 1143,
    tls: false,
    credentials: { username: "mulder", password: "trustno1" },
  });
  await imap.select("INBOX");
  for (const [uid, f] of flags) {
    await imap.store(uid, f.filter((x) => x !== "\\Recent"), {
      uid: true,
      operation: "set",
      silent: true,
    });
  }
}

peerTest(
  "example poplib_random_message.ts reads a message from Dovecot over STLS",
  1110,
  async () => {
    const flags = await seededFlags();
    try {
      const r = await example("poplib_random_message.ts", [
        "127.0.0.1",
        "1110",
        "mulder",
        "trustno1",
        CA,
      ]);
      assertEquals([r.code, r.err], [0, ""]);
      // A random message: a seeded one, or one another test is delivering right now.
      assert(/^subject = .+$/m.test(r.out), r.out);
      assert(/^return-path = <.+>$/m.test(r.out), r.out);
    } finally {
      await restoreFlags(flags);
    }
  },
);

peerTest(
  "example imaplib_random_message.ts reads a message from Dovecot over STARTTLS",
  1143,
  async () => {
    const r = await example("imaplib_random_message.ts", [
      "127.0.0.1",
      "1143",
      "mulder",
      "trustno1",
      CA,
    ]);
    assertEquals([r.code, r.err], [0, ""]);
    assert(/^subject = .+$/m.test(r.out), r.out);
    assert(/^message-id = <.+>$/m.test(r.out), r.out);
  },
);
