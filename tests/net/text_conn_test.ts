import { ProtocolError, readReply, TcpServer, TextConn } from "../../net/mod.ts";
import { ScriptedPeer } from "../_helpers/scripted_peer.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";

const encoder = new TextEncoder();

Deno.test("TextConn.run() runs a command and returns its result", async () => {
  const peer = new ScriptedPeer([{ expect: "NOOP\r\n" }, { send: "250 OK\r\n" }]);
  const conn = new TextConn(peer);
  const reply = await conn.run(async () => {
    await conn.writer.writeLine("NOOP");
    return await readReply(conn.reader, { expect: 250 });
  });
  assertEquals(reply.lines, ["OK"]);
  await peer.done;
  conn.close();
});

Deno.test("TextConn.run() refuses a second command while one is running", async () => {
  const peer = new ScriptedPeer([{ expect: "A\r\n" }, { send: "250 a\r\n" }]);
  const conn = new TextConn(peer);
  const first = conn.run(async () => {
    await conn.writer.writeLine("A");
    return await readReply(conn.reader);
  });
  await assertRejects(
    () => conn.run(() => Promise.resolve(1)),
    TypeError,
    "did you forget await?",
  );
  assertEquals((await first).code, 250);
  conn.close();
});

Deno.test("TextConn.run() times out, closes the connection and rejects with TimeoutError", async () => {
  const peer = new ScriptedPeer([{ expect: "SLOW\r\n" }]);
  const conn = new TextConn(peer);
  const error = await assertRejects(() =>
    conn.run(async () => {
      await conn.writer.writeLine("SLOW");
      return await readReply(conn.reader);
    }, { timeout: 50 })
  );
  assertEquals((error as unknown as DOMException).name, "TimeoutError");
  assert(conn.closed);
  await assertRejects(() => conn.run(() => Promise.resolve(0)), TypeError, "closed");
});

Deno.test("TextConn.run() rejects with the abort reason of its signal", async () => {
  const peer = new ScriptedPeer([]);
  const conn = new TextConn(peer);
  const controller = new AbortController();
  const running = conn.run(() => readReply(conn.reader), { signal: controller.signal });
  controller.abort(new Error("stop now"));
  await assertRejects(() => running, Error, "stop now");
  assert(conn.closed);
});

Deno.test("TextConn.startTls() refuses when the server sent bytes before the handshake", async () => {
  const server = new TcpServer({ port: 0 }, async (conn) => {
    // A STARTTLS injection: the go-ahead and a forged reply in one packet.
    await conn.write(encoder.encode("220 go ahead\r\n250 forged\r\n"));
    await conn.read(new Uint8Array(16)).catch(() => null);
  });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const conn = new TextConn(tcp);
  assertEquals((await readReply(conn.reader)).code, 220);
  const error = await assertRejects(() => conn.startTls(), ProtocolError);
  assertEquals(error.code, "STARTTLS_INJECTION");
  assert(conn.closed);
  await server.shutdown();
});

Deno.test("TextConn.startTls() upgrades a TCP connection and reads through TLS", async () => {
  const { cert, key, ca } = await testCert();
  // Deno has no server-side STARTTLS: a relay sends the plain go-ahead,
  // then passes bytes through to a TLS listener.
  await using tlsServer = new TcpServer({ port: 0, cert, key }, async (conn) => {
    await conn.write(encoder.encode("250 secure hello\r\n"));
  });
  await using relay = new TcpServer({ port: 0 }, async (conn) => {
    await conn.write(encoder.encode("220 ready for TLS\r\n"));
    const upstream = await Deno.connect({ hostname: "127.0.0.1", port: tlsServer.addr.port });
    await Promise.allSettled([
      conn.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(conn.writable),
    ]);
  });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: relay.addr.port });
  const conn = new TextConn(tcp);
  assertEquals((await readReply(conn.reader)).code, 220);
  assert(!conn.tls);
  await conn.startTls({ hostname: "localhost", caCerts: [ca] });
  assert(conn.tls);
  assertEquals((await readReply(conn.reader)).lines, ["secure hello"]);
  conn.close();
});

Deno.test("TextConn.startTls() rejects a duplex that is not a TCP connection", async () => {
  const conn = new TextConn(new ScriptedPeer([]));
  await assertRejects(() => conn.startTls(), TypeError, "not a TCP connection");
  conn.close();
});

Deno.test("TextConn.startTls() inside run() is ended by the timeout when the handshake stalls", async () => {
  // The server says go ahead and then never speaks TLS.
  const server = new TcpServer({ port: 0, onError: () => {} }, async (conn) => {
    await conn.write(encoder.encode("220 go ahead\r\n"));
    await conn.read(new Uint8Array(4096)).catch(() => null);
    await conn.read(new Uint8Array(4096)).catch(() => null);
  });
  const conn = new TextConn(await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
  assertEquals((await readReply(conn.reader)).code, 220);
  const error = await assertRejects(() => conn.run(() => conn.startTls(), { timeout: 150 }));
  assertEquals((error as unknown as DOMException).name, "TimeoutError");
  assert(conn.closed);
  await server.shutdown({ timeout: 100 });
});
