import { TcpServer } from "../../net/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";
import { spyNoDelay } from "../_helpers/no_delay.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function dial(server: TcpServer): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
}

async function readAll(conn: Deno.Conn): Promise<string> {
  return await new Response(conn.readable).text();
}

Deno.test("TcpServer runs the handler per connection and closes the connection after it", async () => {
  await using server = new TcpServer({ port: 0 }, async (conn, info) => {
    assertEquals(info.remoteAddr.hostname, "127.0.0.1");
    await conn.write(encoder.encode(`hello ${info.localAddr.port}`));
  });
  const conns = await Promise.all([dial(server), dial(server), dial(server)]);
  const texts = await Promise.all(conns.map(readAll));
  assertEquals(texts, Array(3).fill(`hello ${server.addr.port}`));
});

Deno.test("TcpServer holds new connections back at maxConnections until one ends", async () => {
  const release: (() => void)[] = [];
  let served = 0;
  await using server = new TcpServer({ port: 0, maxConnections: 1 }, async (conn) => {
    served++;
    await new Promise<void>((resolve) => release.push(resolve));
    await conn.write(encoder.encode("done"));
  });
  const first = await dial(server);
  const second = await dial(server); // accepted by the kernel, not yet by the server
  await new Promise((r) => setTimeout(r, 100));
  assertEquals(served, 1);
  assertEquals(server.connections, 1);
  release.shift()!();
  assertEquals(await readAll(first), "done");
  while (release.length === 0) await new Promise((r) => setTimeout(r, 5));
  assertEquals(served, 2);
  release.shift()!();
  assertEquals(await readAll(second), "done");
});

Deno.test("TcpServer.shutdown() lets in-flight handlers finish and refuses new connections", async () => {
  let finishedWork = false;
  const server = new TcpServer({ port: 0 }, async (conn, info) => {
    await new Promise((r) => setTimeout(r, 100));
    assert(info.signal.aborted, "the handler sees the shutdown signal");
    await conn.write(encoder.encode("finished"));
    finishedWork = true;
  });
  const conn = await dial(server);
  await new Promise((r) => setTimeout(r, 20));
  await server.shutdown({ timeout: 2000 });
  assert(finishedWork);
  assertEquals(await readAll(conn), "finished");
  await assertRejects(() => dial(server), Deno.errors.ConnectionRefused);
  await server.finished;
});

Deno.test("TcpServer.shutdown() closes connections whose handlers overrun the deadline", async () => {
  const server = new TcpServer({ port: 0, onError: () => {} }, async (conn) => {
    // Ignores the signal and waits for input that never comes.
    await conn.read(new Uint8Array(10));
  });
  const conn = await dial(server);
  await new Promise((r) => setTimeout(r, 20));
  const started = Date.now();
  await server.shutdown({ timeout: 100 });
  assert(Date.now() - started < 2000);
  assertEquals(await readAll(conn), "");
});

Deno.test("TcpServer reports handler errors to onError and keeps serving", async () => {
  const errors: unknown[] = [];
  let n = 0;
  await using server = new TcpServer({ port: 0, onError: (e) => errors.push(e) }, async (conn) => {
    if (n++ === 0) throw new Error("handler broke");
    await conn.write(encoder.encode("fine"));
  });
  assertEquals(await readAll(await dial(server)), "");
  assertEquals(await readAll(await dial(server)), "fine");
  assertEquals(errors.length, 1);
  assertEquals((errors[0] as Error).message, "handler broke");
});

Deno.test("TcpServer shuts down when its signal aborts", async () => {
  const controller = new AbortController();
  const server = new TcpServer({ port: 0, signal: controller.signal }, () => {});
  controller.abort();
  await server.finished;
  await assertRejects(() => dial(server), Deno.errors.ConnectionRefused);
});

Deno.test("TcpServer serves TLS with cert and key", async () => {
  const { cert, key, ca } = await testCert();
  await using server = new TcpServer({ port: 0, cert, key }, async (conn) => {
    await conn.write(encoder.encode("secret"));
  });
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port: server.addr.port,
    caCerts: [ca],
  });
  assertEquals(await readAll(conn), "secret");
});

Deno.test("TcpServer rejects bad options", () => {
  assertThrows(() => new TcpServer({ maxConnections: 0 }, () => {}), RangeError);
  assertThrows(() => new TcpServer({ cert: "x" }, () => {}), TypeError, "both cert and key");
});

Deno.test("TcpServer survives running out of file descriptors and recovers", async () => {
  // A child process with a low descriptor limit runs a server; the parent
  // opens more connections than it can accept (EMFILE), then closes them,
  // and checks that the server serves again.
  const script = `
    import { TcpServer } from ${
    JSON.stringify(new URL("../../net/tcp_server.ts", import.meta.url).href)
  };
    let errors = 0;
    const server = new TcpServer({ port: 0, onError: () => errors++ }, async (conn) => {
      await conn.write(new TextEncoder().encode("ok " + errors));
      await conn.read(new Uint8Array(1)).catch(() => null);
    });
    console.log(server.addr.port);
    await new Promise((r) => setTimeout(r, 8000));
    await server.shutdown({ timeout: 100 });
  `;
  const child = new Deno.Command("bash", {
    args: ["-c", `ulimit -n 48 && exec ${Deno.execPath()} run -A -`],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(script));
  await writer.close();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  const port = Number(text.trim());
  const flood: Deno.Conn[] = [];
  for (let i = 0; i < 80; i++) {
    flood.push(await Deno.connect({ hostname: "127.0.0.1", port }));
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const conn of flood) conn.close();
  await new Promise((r) => setTimeout(r, 1200));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buf = new Uint8Array(64);
  const n = await conn.read(buf);
  conn.close();
  const answer = decoder.decode(buf.subarray(0, n ?? 0));
  assert(answer.startsWith("ok "), `server answered ${JSON.stringify(answer)}`);
  assert(Number(answer.slice(3)) > 0, "the server saw accept errors (EMFILE) and recovered");
  child.kill();
  reader.releaseLock();
  await child.stdout.cancel();
  await child.status;
});

Deno.test("TcpServer turns Nagle's algorithm off on every connection (TCP_NODELAY)", async () => {
  // Deno leaves Nagle on for accepted sockets: a reply written in pieces
  // then waits for the client's delayed ACK (40 ms per stall, seen with
  // Python clients after an NNTP OVER).
  using spy = await spyNoDelay();
  let served: Deno.Conn | null = null;
  await using server = new TcpServer({ port: 0 }, async (conn) => {
    served = conn;
    await conn.write(new TextEncoder().encode("x"));
  });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await client.read(new Uint8Array(1));
  client.close();
  assert(served !== null);
  assertEquals(spy.callsOn(served), [true]);
});
