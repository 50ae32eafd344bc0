/**
 * Pop3Client against the real Dovecot of the peers test bed: STLS on 1110,
 * implicit TLS on 1995, mulder/trustno1, the seeded INBOX (343 and 331
 * octets). Dovecot marks retrieved messages \Seen; the flags of the seeded
 * messages are read through IMAP first and put back afterwards. Nothing is
 * deleted: DELE is always followed by RSET.
 *
 * @module
 */
import { ImapClient } from "../../mail/imap_client.ts";
import { parseMessage } from "../../mail/message.ts";
import { Pop3Client, type Pop3ConnectOptions } from "../../mail/pop3_client.ts";
import { Pop3Error } from "../../mail/pop3_error.ts";
import { peerTest } from "../_helpers/peers.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";

const STLS_PORT = 1110;
const POP3S_PORT = 1995;
const CA = "/tmp/peers/tls/ca.pem";

async function options(extra: Pop3ConnectOptions = {}): Promise<Pop3ConnectOptions> {
  return {
    hostname: "127.0.0.1",
    serverName: "localhost",
    caCerts: [await Deno.readTextFile(CA)],
    credentials: { username: "mulder", password: "trustno1" },
    timeout: 10000,
    ...extra,
  };
}

/** Runs `fn`, then gives the seeded INBOX messages back the flags they had. */
async function keepingFlags(fn: () => Promise<void>): Promise<void> {
  const imap = await ImapClient.connect({
    port: 1143,
    tls: false,
    credentials: { username: "mulder", password: "trustno1" },
  });
  try {
    await imap.examine("INBOX");
    const before = await imap.fetch([1, 2], ["FLAGS"], { uid: true });
    try {
      await fn();
    } finally {
      await imap.select("INBOX");
      // Dovecot's POP3 process may commit its \Seen flags after QUIT was
      // answered: put the flags back until they stay.
      const wanted = (flags: readonly string[]) =>
        flags.filter((f) => f !== "\\Recent").sort().join(" ");
      for (let attempt = 0; attempt < 20; attempt++) {
        for (const m of before) {
          await imap.store(m.uid!, m.flags!.filter((f) => f !== "\\Recent"), {
            uid: true,
            operation: "set",
            silent: true,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        const now = await imap.fetch([1, 2], ["FLAGS"], { uid: true });
        if (now.every((m, i) => wanted(m.flags!) === wanted(before[i]!.flags!))) break;
      }
    }
  } finally {
    await imap.logout();
  }
}

/** The seeded message bytes, read through IMAP to compare with RETR. */
async function imapBody(uid: number): Promise<Uint8Array> {
  await using imap = await ImapClient.connect({
    port: 1143,
    tls: false,
    credentials: { username: "mulder", password: "trustno1" },
  });
  await imap.examine("INBOX");
  const [m] = await imap.fetch(uid, ["BODY.PEEK[]"], { uid: true });
  return m!.body.get("")!.data!;
}

peerTest(
  "dovecot POP3: STLS with requireTls re-reads CAPA, logs in and reads the maildrop",
  STLS_PORT,
  async () => {
    await keepingFlags(async () => {
      await using pop = await Pop3Client.connect(
        await options({ port: STLS_PORT, requireTls: true }),
      );
      assert(pop.tls && pop.authenticated);
      assert(!pop.capabilities.has("STLS"), "CAPA was re-read over TLS");
      assert(pop.capabilities.has("UIDL") && pop.capabilities.has("TOP"));
      const stat = await pop.stat();
      assert(stat.count >= 2 && stat.size >= 674);
      const list = await pop.list();
      assertEquals(list.slice(0, 2), [{ number: 1, size: 343 }, { number: 2, size: 331 }]);
      assertEquals(await pop.list(2), { number: 2, size: 331 });
      const uids = await pop.uidl();
      assertEquals(uids.length, list.length);
      assertEquals(await pop.uidl(1), uids[0]);
      const header = await new Response(await pop.top(1, 0)).text();
      assert(header.includes("Subject: Test message one\r\n"));
      assert(header.endsWith("\r\n\r\n"));
      const retrieved = new Uint8Array(await new Response(await pop.retr(2)).arrayBuffer());
      assertEquals(retrieved.length, 331);
      assertEquals(retrieved, await imapBody(2));
      assertEquals((await parseMessage(retrieved)).subject, "Test message two");
      assertEquals(await pop.quit(), "Logging out.");
    });
  },
);

peerTest("dovecot POP3: implicit TLS with USER/PASS, DELE undone by RSET", POP3S_PORT, async () => {
  await keepingFlags(async () => {
    await using pop = await Pop3Client.connect(
      await options({ port: POP3S_PORT, tls: true, mechanism: "USER" }),
    );
    assert(pop.tls);
    const before = await pop.stat();
    await pop.dele(1);
    assertEquals((await pop.stat()).count, before.count - 1);
    await assertRejects(() => pop.retr(1), Pop3Error);
    await pop.rset();
    assertEquals(await pop.stat(), before);
    assertEquals(typeof await pop.noop(), "string");
    await pop.quit();
  });
});

peerTest("dovecot POP3: a wrong password is a Pop3Error with [AUTH]", STLS_PORT, async () => {
  const error = await assertRejects(
    async () =>
      await Pop3Client.connect(
        await options({
          port: STLS_PORT,
          credentials: { username: "mulder", password: "wrong" },
        }),
      ),
    Pop3Error,
  );
  assertEquals(error.responseCode, "AUTH");
});

peerTest(
  "dovecot POP3: a RETR cancelled mid-way is drained and the session goes on",
  STLS_PORT,
  async () => {
    await keepingFlags(async () => {
      await using pop = await Pop3Client.connect(await options({ port: STLS_PORT }));
      const reader = (await pop.retr(1)).getReader();
      const first = await reader.read();
      assert(!first.done);
      await reader.cancel();
      assertEquals((await pop.list(1)).size, 343);
      // A session closed without QUIT commits nothing.
      pop.close();
    });
  },
);
