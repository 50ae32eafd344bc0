/**
 * The server under connection pressure: a per-address cap against
 * slowloris, shorter deadlines near the cap, and ref/unref.
 */
import { serve } from "../../http/serve.ts";
import { assert, assertEquals, assertLess } from "../_helpers/assert.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Python opens `count` sockets from 127.0.0.2 to `port` and trickles one
 * byte of a request head into each every 500 ms until killed; it prints
 * READY once they are all open.
 */
function slowloris(port: number, count: number): Deno.ChildProcess {
  const script = `
import socket, sys, time, resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
socks = []
for i in range(int(sys.argv[2])):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", int(sys.argv[1])))
    except BlockingIOError:
        pass
    socks.append(s)
print("READY", flush=True)
head = b"GET / HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: " + b"a" * 10000
i = 0
while True:
    for s in socks:
        try:
            s.send(head[i:i+1])
        except OSError:
            pass
    i += 1
    time.sleep(0.5)
`;
  return new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, String(port), String(count)],
    stdout: "piped",
    stderr: "null",
  }).spawn();
}

Deno.test({
  name: "HttpServer keeps serving a normal client while 2,000 slow sockets come from one address",
  sanitizeResources: false,
  async fn() {
    await using server = serve({ hostname: "0.0.0.0", port: 0 }, () => new Response("ok"));
    const attacker = slowloris(server.addr.port, 2000);
    try {
      const reader = attacker.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("READY")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      reader.releaseLock();
      // Let the attacker's connections land (as many as the server takes).
      let last = -1;
      for (let i = 0; i < 30 && server.connections !== last; i++) {
        last = server.connections;
        await sleep(100);
      }
      const latencies: number[] = [];
      let ok = 0;
      const total = 200;
      for (let i = 0; i < total; i++) {
        const started = performance.now();
        try {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
          await conn.write(
            new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
          );
          const response = await new Response(conn.readable).text();
          if (response.startsWith("HTTP/1.1 200")) ok++;
        } catch {
          // counted as a failure
        }
        latencies.push(performance.now() - started);
      }
      latencies.sort((a, b) => a - b);
      const p99 = latencies[Math.floor(latencies.length * 0.99) - 1]!;
      assert(ok / total >= 0.99, `only ${ok} of ${total} requests succeeded`);
      assertLess(p99, 100, `p99 ${p99.toFixed(1)} ms`);
      // The attacker holds at most the per-address cap.
      assert(server.connections <= 256 + 1, `${server.connections} connections`);
    } finally {
      attacker.kill("SIGKILL");
      await attacker.status;
      await attacker.stdout.cancel().catch(() => {});
    }
  },
});

Deno.test("HttpServer answers 503 over the per-address cap", async () => {
  await using server = serve({ port: 0, maxConnectionsPerAddress: 2 }, () => new Response("ok"));
  const held = [
    await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
  ];
  await sleep(30);
  const extra = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const text = await new Response(extra.readable).text();
  assert(text.startsWith("HTTP/1.1 503"), text);
  for (const conn of held) conn.close();
});

Deno.test("HttpServer shortens keep-alive idle time near its connection cap", async () => {
  await using server = serve(
    { port: 0, maxConnections: 10, keepAliveTimeout: 4000 },
    () => new Response("ok"),
  );
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < 9; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await conn.read(new Uint8Array(1024));
    conns.push(conn);
  }
  // 9 of 10 slots: the 4 s keep-alive shrinks to a fifth; all are closed well before 4 s.
  const started = Date.now();
  const ends = await Promise.all(conns.map(async (conn) => {
    const n = await conn.read(new Uint8Array(16)).catch(() => null);
    conn.close();
    return n;
  }));
  assertEquals(ends.every((n) => n === null), true);
  assertLess(Date.now() - started, 2500);
});

Deno.test("HttpServer.unref() lets a process with only a server exit", async () => {
  const script = `
import { serve } from "${new URL("../../http/serve.ts", import.meta.url).href}";
const server = serve({ port: 0, onListen: () => {} }, () => new Response("x"));
server.unref();
console.log("bye");
`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(10000),
  }).output();
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "bye");
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
});
