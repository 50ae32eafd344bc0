import { connectTcp, TcpServer } from "../../net/mod.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";
import { testCert, VERIFIED_NAME } from "../_helpers/tls.ts";
import { spyNoDelay } from "../_helpers/no_delay.ts";

const encoder = new TextEncoder();

Deno.test("connect() dials TCP and TLS, verifying the server against caCerts", async () => {
  const { cert, key, ca } = await testCert();
  await using plain = new TcpServer({}, async (conn) => void await conn.write(encoder.encode("p")));
  await using secure = new TcpServer({ cert, key }, async (conn) => {
    await conn.write(encoder.encode("s"));
  });
  const a = await connectTcp({ port: plain.addr.port });
  assertEquals(await new Response(a.readable).text(), "p");
  const b = await connectTcp({
    port: secure.addr.port,
    tls: { hostname: VERIFIED_NAME, caCerts: [ca] },
  });
  assertEquals(await new Response(b.readable).text(), "s");
});

Deno.test("connect() with TLS rejects a server whose certificate is not trusted", async () => {
  const { cert, key } = await testCert();
  await using secure = new TcpServer({ cert, key, onError: () => {} }, () => {});
  await assertRejects(
    () => connectTcp({ port: secure.addr.port, tls: { hostname: VERIFIED_NAME } }),
    Error,
    "certificate",
  );
});

Deno.test("connect() rejects bad ports, refused connections and aborted signals", async () => {
  await assertRejects(() => connectTcp({ port: 0 }), RangeError);
  await assertRejects(() => connectTcp({ port: 70000 }), RangeError);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await assertRejects(() => connectTcp({ port }), Deno.errors.ConnectionRefused);
  const controller = new AbortController();
  controller.abort(new Error("cancelled"));
  await assertRejects(() => connectTcp({ port, signal: controller.signal }), Error, "cancelled");
});

Deno.test("connect() times out a TLS handshake the server never answers", async () => {
  // A plain listener that accepts and stays silent: the handshake stalls.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const error = await assertRejects(() =>
    connectTcp({ port: listener.addr.port, tls: true, timeout: 150 })
  );
  assertEquals((error as unknown as DOMException).name, "TimeoutError");
  (await accepted).close();
  listener.close();
});

Deno.test("connectTcp() turns Nagle's algorithm off (TCP_NODELAY) on the connection it dials", async () => {
  using spy = await spyNoDelay();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const conn = await connectTcp({ port: listener.addr.port });
    (await listener.accept()).close();
    assertEquals(spy.callsOn(conn), [true]);
    conn.close();
  } finally {
    listener.close();
  }
});
