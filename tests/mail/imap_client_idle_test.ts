import { ImapClient, type ImapClientOptions } from "../../mail/imap_client.ts";
import { ImapByeError, ImapError } from "../../mail/imap_error.ts";
import type { ImapEvent } from "../../mail/imap_types.ts";
import { ScriptedPeer, type ScriptStep } from "../_helpers/scripted_peer.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";

const GREETING = "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n";

function open(steps: ScriptStep[], options: ImapClientOptions = {}) {
  const peer = new ScriptedPeer(steps);
  const imap = new ImapClient(peer, { idleTimeout: 2000, serverName: "localhost", ...options });
  return { peer, imap };
}

async function take(iterator: AsyncIterator<ImapEvent>, n: number): Promise<ImapEvent[]> {
  const out: ImapEvent[] = [];
  while (out.length < n) {
    const { value, done } = await iterator.next();
    if (done) break;
    out.push(value);
  }
  return out;
}

Deno.test("ImapClient.idle() yields events and stop() ends it with DONE, keeping the connection", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 IDLE\r\n" },
    { send: "+ idling\r\n" },
    { send: "* 3 EXISTS\r\n* 1 RECENT\r\n" },
    { expect: "DONE\r\n" },
    { send: "* 2 FETCH (FLAGS (\\Seen))\r\nA1 OK Idle completed\r\n" },
    { expect: "A2 NOOP\r\n" },
    { send: "A2 OK\r\n" },
  ]);
  const idle = imap.idle();
  assertEquals(await take(idle, 2), [{ kind: "exists", count: 3 }, { kind: "recent", count: 1 }]);
  await idle.stop();
  assertEquals((await idle.next()).done, true);
  assert(!imap.closed);
  await imap.noop();
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.idle() stops on its signal without closing", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 IDLE\r\n" },
    { send: "+ idling\r\n" },
    { expect: "DONE\r\n" },
    { send: "A1 OK\r\n" },
    { expect: "A2 NOOP\r\n" },
    { send: "A2 OK\r\n" },
  ]);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const events: ImapEvent[] = [];
  for await (const event of imap.idle({ signal: controller.signal })) events.push(event);
  assertEquals(events, []);
  await imap.noop();
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.idle() waits longer than idleTimeout without closing", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 IDLE\r\n" },
    { send: "+ idling\r\n" },
    { sleep: 300 },
    { send: "* 4 EXISTS\r\n" },
    { expect: "DONE\r\n" },
    { send: "A1 OK\r\n" },
  ], { idleTimeout: 100 });
  for await (const event of imap.idle()) {
    assertEquals(event, { kind: "exists", count: 4 });
    break;
  }
  assert(!imap.closed);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.idle() is issued again after reissueAfter", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 IDLE\r\n" },
    { send: "+ idling\r\n" },
    { expect: "DONE\r\n" },
    { send: "A1 OK\r\n" },
    { expect: "A2 IDLE\r\n" },
    { send: "+ idling\r\n* 5 EXISTS\r\n" },
    { expect: "DONE\r\n" },
    { send: "A2 OK\r\n" },
  ]);
  const idle = imap.idle({ reissueAfter: 50 });
  assertEquals(await take(idle, 1), [{ kind: "exists", count: 5 }]);
  await idle.stop();
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.idle() pauses for a command and resumes after it", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 IDLE\r\n" },
    { send: "+ idling\r\n* 3 EXISTS\r\n" },
    { expect: "DONE\r\n" },
    { send: "A1 OK\r\n" },
    { expect: "A2 FETCH 3 (UID)\r\n" },
    { send: "* 3 FETCH (UID 30)\r\n* 4 EXISTS\r\nA2 OK\r\n" },
    { expect: "A3 IDLE\r\n" },
    { send: "+ idling\r\n* 5 EXISTS\r\n" },
    { expect: "DONE\r\n" },
    { send: "A3 OK\r\n" },
  ]);
  const idle = imap.idle();
  const seen: ImapEvent[] = [];
  for await (const event of idle) {
    seen.push(event);
    if (event.kind === "exists" && event.count === 3) {
      const [message] = await imap.fetch(3, ["UID"]);
      assertEquals(message?.uid, 30);
    }
    if (event.kind === "exists" && event.count === 5) break;
  }
  // The FETCH result stays with the FETCH; the EXISTS it read is reported here too.
  assertEquals(seen, [
    { kind: "exists", count: 3 },
    { kind: "exists", count: 4 },
    { kind: "exists", count: 5 },
  ]);
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.idle() refused by the server throws ImapError from the iterator", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 IDLE\r\n" },
    { send: "A1 BAD Not allowed now\r\n" },
    { expect: "A2 NOOP\r\n" },
    { send: "A2 OK\r\n" },
  ]);
  const idle = imap.idle();
  await assertRejects(() => idle.next(), ImapError, "Not allowed now");
  await imap.noop();
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.idle() polls with NOOP when the server lacks IDLE", async () => {
  const { peer, imap } = open([
    { send: "* OK [CAPABILITY IMAP4rev1] ready\r\n" },
    { expect: "A1 NOOP\r\n" },
    { send: "A1 OK\r\n" },
    { expect: "A2 NOOP\r\n" },
    { send: "* 7 EXISTS\r\nA2 OK\r\n" },
  ]);
  const idle = imap.idle({ pollInterval: 20 });
  assertEquals(await take(idle, 1), [{ kind: "exists", count: 7 }]);
  await idle.stop();
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.idle() ends with ImapByeError when the server says BYE", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 IDLE\r\n" },
    { send: "+ idling\r\n* BYE Server shutting down\r\n" },
    { close: true },
  ]);
  const idle = imap.idle();
  const first = await idle.next();
  assertEquals(first.value?.kind, "bye");
  await assertRejects(() => idle.next(), ImapByeError, "shutting down");
  assert(imap.closed);
  await assertRejects(() => imap.noop(), ImapByeError);
  await peer.done;
});

Deno.test("ImapClient.idle() refuses a second IDLE while one runs", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 IDLE\r\n" },
    { send: "+ idling\r\n" },
    { expect: "DONE\r\n" },
    { send: "A1 OK\r\n" },
  ]);
  const idle = imap.idle();
  assertThrows(() => imap.idle(), TypeError, "already running");
  await new Promise((r) => setTimeout(r, 20));
  await idle.stop();
  await peer.done;
  imap.close();
});

Deno.test("ImapClient.close() during IDLE ends the iterator quietly", async () => {
  const { peer, imap } = open([
    { send: GREETING },
    { expect: "A1 IDLE\r\n" },
    { send: "+ idling\r\n" },
  ]);
  const idle = imap.idle();
  setTimeout(() => imap.close(), 30);
  const events: ImapEvent[] = [];
  for await (const event of idle) events.push(event);
  assertEquals(events, []);
  await peer.done;
});
