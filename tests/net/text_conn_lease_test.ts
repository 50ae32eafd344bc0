/**
 * The second floor of TextConn: leases held by streamed bodies,
 * cancel-and-drain, idle timeouts reset by progress beside total deadlines,
 * the non-closing abort, and the unsolicited-data guard.
 */
import { BoundedReader } from "../../net/bounded_reader.ts";
import { DotStuffedReader } from "../../net/dot_stuffing.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { TextConn } from "../../net/text_conn.ts";
import { assert, assertEquals, assertFalse, assertRejects } from "../_helpers/assert.ts";
import { splits } from "../_helpers/scripted_peer.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A duplex whose incoming bytes the test pushes by hand. */
function controlledPeer() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const written: string[] = [];
  let closed = false;
  const peer = {
    readable: new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) }),
    writable: new WritableStream<Uint8Array>({
      write: (c) => void written.push(decoder.decode(c)),
    }),
    close() {
      if (closed) return;
      closed = true;
      try {
        controller.close();
      } catch { /* closed */ }
    },
  };
  return {
    peer,
    written,
    push: (text: string) => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
    get closed() {
      return closed;
    },
  };
}

Deno.test("TextConn lease stays held while a streamed body is half read", async () => {
  const c = controlledPeer();
  const conn = new TextConn(c.peer);
  c.push("+OK 10 octets\r\n0123456789+OK next\r\n");
  const lease = await conn.acquire();
  await lease.reader.readLine();
  const body = lease.stream(new BoundedReader(lease.reader, 10, { chunkSize: 4 }));
  const reader = body.getReader();
  assertEquals(decoder.decode((await reader.read()).value), "0123");
  assert(conn.busy);
  await assertRejects(() => conn.acquire(), TypeError, "did you forget await?");
  // A queued command waits for the body to end.
  let queuedRan = false;
  const queued = conn.run(async (l) => {
    queuedRan = true;
    return await l.reader.readLine();
  }, { queue: true });
  await sleep(10);
  assertFalse(queuedRan);
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += decoder.decode(value);
  }
  assertEquals(rest, "456789");
  assertEquals(await queued, "+OK next");
  conn.close();
});

Deno.test("TextConn lease: cancelling a body drains a small rest and keeps the connection", async () => {
  const c = controlledPeer();
  const conn = new TextConn(c.peer);
  c.push("one\r\n..two\r\nthree\r\n.\r\n+OK after\r\n");
  const lease = await conn.acquire();
  const body = lease.stream(new DotStuffedReader(lease.reader));
  const reader = body.getReader();
  await reader.read();
  await reader.cancel();
  assertFalse(conn.closed);
  assertFalse(conn.busy);
  // The next command reads its own reply, not the stale tail.
  assertEquals(await conn.run((l) => l.reader.readLine()), "+OK after");
  conn.close();
});

Deno.test("TextConn lease: cancelling a body with more than drainLimit left closes the connection", async () => {
  const c = controlledPeer();
  const conn = new TextConn(c.peer);
  c.push("x".repeat(1000));
  const lease = await conn.acquire();
  const body = lease.stream(new BoundedReader(lease.reader, 100000), { drainLimit: 500 });
  const reader = body.getReader();
  await reader.read();
  await reader.cancel();
  assert(conn.closed);
  await assertRejects(() => conn.acquire(), TypeError, "closed");
});

Deno.test("TextConn lease: a body that ends runs onEnd before the lease is released", async () => {
  const c = controlledPeer();
  const conn = new TextConn(c.peer);
  c.push("abc226 Transfer complete\r\n");
  const lease = await conn.acquire();
  let trailer = "";
  const body = lease.stream(new BoundedReader(lease.reader, 3), {
    onEnd: async () => void (trailer = (await lease.reader.readLine())!),
  });
  assertEquals(await new Response(body).text(), "abc");
  assertEquals(trailer, "226 Transfer complete");
  assertFalse(conn.busy);
  conn.close();
});

Deno.test("TextConn idle timeout is reset by progress: a trickling reply outlives it", async () => {
  const c = controlledPeer();
  const conn = new TextConn(c.peer);
  const timer = setInterval(() => c.push("."), 20);
  try {
    const got = await conn.run(async (l) => {
      let n = 0;
      while (n < 15) {
        const chunk = await l.reader.readAvailable();
        n += chunk?.length ?? 0;
      }
      return n;
    }, { idleTimeout: 100 });
    assert(got >= 15);
  } finally {
    clearInterval(timer);
  }
  conn.close();
});

Deno.test("TextConn total timeout ends a trickling reply that the idle timeout would allow", async () => {
  const c = controlledPeer();
  const conn = new TextConn(c.peer);
  const timer = setInterval(() => c.push("."), 20);
  try {
    const error = await assertRejects(() =>
      conn.run(async (l) => {
        while ((await l.reader.readAvailable()) !== null) { /* keep reading */ }
      }, { idleTimeout: 100, timeout: 150 })
    );
    assertEquals((error as unknown as DOMException).name, "TimeoutError");
    assert(conn.closed);
  } finally {
    clearInterval(timer);
  }
});

Deno.test("TextConn idle timeout fires when bytes stop moving", async () => {
  const c = controlledPeer();
  const conn = new TextConn(c.peer, { idleTimeout: 80 });
  c.push("partial");
  const started = Date.now();
  const error = await assertRejects(() => conn.run((l) => l.reader.readLine()));
  assertEquals((error as unknown as DOMException).name, "TimeoutError");
  assert(Date.now() - started < 1000);
  assert(conn.closed);
});

Deno.test("BufferedReader signal: an abandoned wait keeps the connection and loses no bytes", async () => {
  const c = controlledPeer();
  const conn = new TextConn(c.peer);
  const lease = await conn.acquire();
  const controller = new AbortController();
  const waiting = lease.reader.readLine({ signal: controller.signal });
  await sleep(10);
  controller.abort(new Error("user stopped IDLE"));
  await assertRejects(() => waiting, Error, "user stopped IDLE");
  assertFalse(conn.closed);
  // Bytes that arrive for the abandoned read are kept for the next one.
  c.push("* 3 EXISTS\r\nA1 OK done\r\n");
  assertEquals(await lease.reader.readLine(), "* 3 EXISTS");
  assertEquals(await lease.reader.readLine(), "A1 OK done");
  lease.release();
  conn.close();
});

Deno.test("TextConn lease signal is the closing abort: the connection closes", async () => {
  const c = controlledPeer();
  const conn = new TextConn(c.peer);
  const controller = new AbortController();
  const running = conn.run((l) => l.reader.readLine(), { signal: controller.signal });
  controller.abort(new Error("cancelled"));
  await assertRejects(() => running, Error, "cancelled");
  assert(conn.closed);
});

Deno.test("TextConn unsolicited: 'error' refuses bytes that arrived between commands", async () => {
  const c = controlledPeer();
  const conn = new TextConn(c.peer, { unsolicited: "error" });
  c.push("220 hi\r\n");
  assertEquals(await conn.run((l) => l.reader.readLine()), "220 hi");
  c.push("250 surprise\r\n");
  await sleep(10);
  const error = await assertRejects(() => conn.acquire(), ProtocolError);
  assertEquals(error.code, "UNSOLICITED");
  assert(error.message.includes("250 surprise"));
  assert(conn.closed);
});

Deno.test("TextConn unsolicited: 'allow' keeps them for the next command", async () => {
  const c = controlledPeer();
  const conn = new TextConn(c.peer);
  c.push("* OK hi\r\n");
  assertEquals(await conn.run((l) => l.reader.readLine()), "* OK hi");
  c.push("* 4 EXISTS\r\n");
  await sleep(10);
  assertEquals(await conn.run((l) => l.reader.readLine()), "* 4 EXISTS");
  conn.close();
});

Deno.test("BoundedReader gives the same bytes for every split and leaves the rest", async () => {
  const { BufferedReader } = await import("../../net/buffered_reader.ts");
  const wire = encoder.encode("hello world!NEXT\r\n");
  for (const parts of splits(wire)) {
    const reader = new BufferedReader(ReadableStream.from(parts), { bufferSize: 4 });
    const body = new BoundedReader(reader, 12, { chunkSize: 5 });
    let text = "";
    for (let piece; (piece = await body.read()) !== null;) {
      assert(piece.length <= 5);
      text += decoder.decode(piece);
    }
    assertEquals(text, "hello world!");
    assertEquals(await reader.readLine(), "NEXT");
  }
});

Deno.test("BoundedReader never allocates from the announced length", async () => {
  const { BufferedReader } = await import("../../net/buffered_reader.ts");
  const reader = new BufferedReader(ReadableStream.from([encoder.encode("tiny")]));
  const body = new BoundedReader(reader, Number.MAX_SAFE_INTEGER);
  const piece = await body.read();
  assertEquals(piece!.length, 4);
  assert(piece!.buffer.byteLength <= 65536 * 2);
  const error = await assertRejects(() => body.read(), ProtocolError);
  assertEquals(error.code, "UNEXPECTED_EOF");
});
