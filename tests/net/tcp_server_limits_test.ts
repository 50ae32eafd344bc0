/**
 * TcpServer's second floor: onOverload at the cap, per-address caps,
 * per-connection idle and total deadlines.
 */
import { TcpServer } from "../../net/tcp_server.ts";
import { TextConn } from "../../net/text_conn.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readAll(conn: Deno.Conn): Promise<string> {
  return await new Response(conn.readable).text();
}

function waitForShutdown(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

Deno.test("TcpServer onOverload answers at the connection cap instead of leaving clients waiting", async () => {
  const reasons: string[] = [];
  await using server = new TcpServer({
    port: 0,
    maxConnections: 2,
    onOverload: async (conn, info) => {
      reasons.push(info.reason);
      await conn.write(encoder.encode("421 Too many connections\r\n"));
    },
  }, (_conn, info) => waitForShutdown(info.signal));
  const held = [
    await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
  ];
  await sleep(20);
  const extra = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  assertEquals(await readAll(extra), "421 Too many connections\r\n");
  assertEquals(reasons, ["connections"]);
  assertEquals(server.connections, 2);
  for (const conn of held) conn.close();
});

Deno.test("TcpServer maxConnectionsPerAddress caps one address and serves another", async () => {
  const reasons: string[] = [];
  await using server = new TcpServer({
    hostname: "0.0.0.0",
    port: 0,
    maxConnectionsPerAddress: 2,
    onOverload: async (conn, info) => {
      reasons.push(`${info.reason} ${info.remoteAddr.hostname}`);
      await conn.write(encoder.encode("busy\r\n"));
    },
  }, async (conn, info) => {
    await conn.write(encoder.encode("hello\r\n"));
    await waitForShutdown(info.signal);
  });
  const port = server.addr.port;
  const a1 = await Deno.connect({ hostname: "127.0.0.1", port });
  const a2 = await Deno.connect({ hostname: "127.0.0.1", port });
  await sleep(20);
  const a3 = await Deno.connect({ hostname: "127.0.0.1", port });
  assertEquals(await readAll(a3), "busy\r\n");
  // Another address is another client: Python dials from 127.0.0.2
  // (Deno.connect cannot choose its source address).
  const script = `
import socket, sys
s = socket.socket()
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
print(s.recv(100).decode().strip())
`;
  const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", script, String(port)] })
    .output();
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "hello");
  assertEquals(reasons, ["address 127.0.0.1"]);
  for (const conn of [a1, a2]) conn.close();
});

Deno.test("TcpServer without onOverload closes a connection over the per-address cap", async () => {
  await using server = new TcpServer(
    { port: 0, maxConnectionsPerAddress: 1 },
    (_conn, info) => waitForShutdown(info.signal),
  );
  const first = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await sleep(20);
  const second = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  assertEquals(await readAll(second), "");
  first.close();
});

Deno.test("TcpServer idleTimeout closes an idle connection; a server-side TextConn keeps a busy one", async () => {
  const ended: string[] = [];
  await using server = new TcpServer({ port: 0, idleTimeout: 150 }, async (conn, info) => {
    const text = new TextConn(conn, { progress: info.deadline });
    try {
      for (;;) {
        const line = await text.reader.readLine();
        if (line === null) break;
        await text.writer.writeLine(`echo ${line}`);
      }
    } catch {
      // closed by the deadline
    }
    ended.push(String(info.remoteAddr.port));
  });
  const busy = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const idle = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const reader = new TextConn(busy);
  for (let i = 0; i < 8; i++) {
    await busy.write(encoder.encode(`ping ${i}\r\n`));
    assertEquals(await reader.reader.readLine(), `echo ping ${i}`);
    await sleep(50);
  }
  // 400 ms of traffic: the busy one lives, the idle one was closed.
  assertEquals(await readAll(idle), "");
  assertEquals(ended, [String((idle.localAddr as Deno.NetAddr).port)]);
  reader.close();
});

Deno.test("TcpServer idle deadline onExpire can say goodbye before closing", async () => {
  await using server = new TcpServer({ port: 0, idleTimeout: 100 }, async (conn, info) => {
    const closed = new Promise<void>((resolve) => {
      info.deadline.onExpire = () => {
        conn.write(encoder.encode("421 Timeout\r\n")).finally(() => {
          conn.close();
          resolve();
        });
      };
    });
    await closed;
  });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  assertEquals(await readAll(client), "421 Timeout\r\n");
});

Deno.test("TcpServer connectionTimeout ends a connection however busy", async () => {
  await using server = new TcpServer(
    { port: 0, idleTimeout: 1000, connectionTimeout: 200 },
    async (conn, info) => {
      const text = new TextConn(conn, { progress: info.deadline });
      try {
        while ((await text.reader.readLine()) !== null) { /* busy */ }
      } catch {
        // closed
      }
    },
  );
  const client = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const started = Date.now();
  let open = true;
  while (open && Date.now() - started < 2000) {
    try {
      await client.write(encoder.encode("x\r\n"));
    } catch {
      open = false;
    }
    await sleep(20);
  }
  assert(!open, "the connection should have been closed");
  assert(Date.now() - started < 1500);
  client.close();
});
