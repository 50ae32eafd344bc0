import {
  dateToTime,
  getTime,
  ProtocolError,
  TIME_1970,
  TimeServer,
  timeToDate,
} from "../../net/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";

function bytesOf(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value);
  return b;
}

Deno.test("timeToDate() and dateToTime() convert at the epochs and across the 2036 wrap", () => {
  assertEquals(TIME_1970, 2208988800);
  assertEquals(timeToDate(TIME_1970).getTime(), 0);
  assertEquals(dateToTime(new Date(0)), TIME_1970);
  // The last second of era 0 and the first of era 1.
  assertEquals(timeToDate(0xffffffff).toISOString(), "2036-02-07T06:28:15.000Z");
  assertEquals(timeToDate(0).toISOString(), "2036-02-07T06:28:16.000Z");
  assertEquals(dateToTime(new Date("2036-02-07T06:28:15Z")), 0xffffffff);
  assertEquals(dateToTime(new Date("2036-02-07T06:28:16Z")), 0);
  // The pivot: top bit set is era 0, clear is era 1.
  assertEquals(timeToDate(0x80000000).toISOString(), "1968-01-20T03:14:08.000Z");
  assertEquals(timeToDate(0x7fffffff).toISOString(), "2104-02-26T09:42:23.000Z");
  assertEquals(timeToDate(0x7fffffff, { pivot: 0 }).toISOString(), "1968-01-20T03:14:07.000Z");
  for (const iso of ["1999-12-31T23:59:59Z", "2026-11-21T12:00:00Z", "2050-06-01T00:00:00Z"]) {
    assertEquals(timeToDate(dateToTime(new Date(iso))), new Date(iso));
  }
  assertThrows(() => timeToDate(-1), RangeError);
  assertThrows(() => timeToDate(2 ** 32), RangeError);
  assertThrows(() => timeToDate(1.5), RangeError);
  assertThrows(() => dateToTime(new Date("1899-12-31T23:59:59Z")), RangeError);
  assertThrows(() => dateToTime(new Date(NaN)), RangeError);
});

Deno.test("getTime() reads the time from TimeServer over TCP and UDP", async () => {
  const fixed = new Date("2040-05-06T07:08:09Z"); // after the wrap
  await using server = new TimeServer({ now: () => fixed });
  assertEquals(await getTime({ port: server.addr.port }), fixed);
  assertEquals(await getTime({ port: server.addr.port, transport: "udp" }), fixed);
  assertEquals(
    await getTime({ hostname: "localhost", port: server.addr.port, transport: "udp" }),
    fixed,
  );
});

Deno.test("getTime() over TCP fails with SHORT_REPLY when fewer than 4 bytes come", async () => {
  for (const sent of [0, 1, 3]) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = (async () => {
      const conn = await listener.accept();
      await conn.write(new Uint8Array(sent));
      conn.close();
    })();
    const error = await assertRejects(
      () => getTime({ port: listener.addr.port }),
      ProtocolError,
      `sent ${sent} bytes`,
    );
    assertEquals(error.code, "SHORT_REPLY");
    await serving;
    listener.close();
  }
});

Deno.test("getTime() over TCP returns after 4 bytes without waiting for the server to close", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let conn: Deno.Conn | undefined;
  const serving = (async () => {
    conn = await listener.accept();
    // Sends the time and 4 more bytes one at a time, then keeps the connection open.
    for (const byte of bytesOf(dateToTime(new Date("2030-01-01T00:00:00Z")))) {
      await conn.write(new Uint8Array([byte]));
    }
    await conn.write(new Uint8Array([1, 2, 3, 4]));
  })();
  const date = await getTime({ port: listener.addr.port, timeout: 3000 });
  assertEquals(date.toISOString(), "2030-01-01T00:00:00.000Z");
  await serving;
  conn!.close();
  listener.close();
});

Deno.test("getTime() over TCP times out on a silent server", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const error = await assertRejects(() => getTime({ port: listener.addr.port, timeout: 100 }));
  assertEquals((error as unknown as DOMException).name, "TimeoutError");
  (await accepted).close();
  listener.close();
});

Deno.test("getTime() over UDP retries a silent server and then times out", async () => {
  const server = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  let received = 0;
  const counting = (async () => {
    try {
      for (;;) {
        await server.receive();
        received++;
      }
    } catch {
      // closed
    }
  })();
  const addr = server.addr as Deno.NetAddr;
  const started = Date.now();
  const error = await assertRejects(() =>
    getTime({ port: addr.port, transport: "udp", timeout: 60, retries: 2 })
  );
  assertEquals((error as unknown as DOMException).name, "TimeoutError");
  assert(Date.now() - started >= 170);
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(received, 3);
  server.close();
  await counting;
});

Deno.test("getTime() over UDP answers after a dropped first request", async () => {
  const server = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const serving = (async () => {
    await server.receive(); // dropped
    const [, from] = await server.receive();
    await server.send(bytesOf(dateToTime(new Date("2031-03-04T05:06:07Z"))), from);
  })();
  const date = await getTime({
    port: (server.addr as Deno.NetAddr).port,
    transport: "udp",
    timeout: 100,
    retries: 3,
  });
  assertEquals(date.toISOString(), "2031-03-04T05:06:07.000Z");
  await serving;
  server.close();
});

Deno.test("getTime() over UDP ignores replies from other addresses", async () => {
  const server = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const spoofer = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const serving = (async () => {
    const [, from] = await server.receive();
    // A forged answer from another port arrives first.
    await spoofer.send(bytesOf(dateToTime(new Date("1999-01-01T00:00:00Z"))), from);
    await new Promise((r) => setTimeout(r, 30));
    await server.send(bytesOf(dateToTime(new Date("2032-01-01T00:00:00Z"))), from);
  })();
  const date = await getTime({
    port: (server.addr as Deno.NetAddr).port,
    transport: "udp",
    timeout: 1000,
  });
  assertEquals(date.toISOString(), "2032-01-01T00:00:00.000Z");
  await serving;
  server.close();
  spoofer.close();
});

Deno.test("getTime() over UDP rejects short and long answers", async () => {
  for (
    const [length, code] of [[3, "SHORT_REPLY"], [0, "SHORT_REPLY"], [8, "BAD_REPLY"]] as const
  ) {
    const server = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const serving = (async () => {
      const [, from] = await server.receive();
      await server.send(new Uint8Array(length), from);
    })();
    const error = await assertRejects(
      () => getTime({ port: (server.addr as Deno.NetAddr).port, transport: "udp", timeout: 500 }),
      ProtocolError,
    );
    assertEquals(error.code, code);
    await serving;
    server.close();
  }
});

Deno.test("getTime() stops when its signal aborts", async () => {
  const server = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("user gave up")), 50);
  await assertRejects(
    () =>
      getTime({
        port: (server.addr as Deno.NetAddr).port,
        transport: "udp",
        timeout: 5000,
        signal: controller.signal,
      }),
    Error,
    "user gave up",
  );
  server.close();
});

Deno.test("TimeServer answers empty UDP datagrams and closes TCP without reading", async () => {
  await using server = new TimeServer({ now: () => new Date("2026-01-01T00:00:00Z") });
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  await socket.send(new Uint8Array(0), server.addr);
  const [answer] = await socket.receive();
  socket.close();
  assertEquals(answer, bytesOf(dateToTime(new Date("2026-01-01T00:00:00Z"))));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const all = new Uint8Array(await new Response(conn.readable).arrayBuffer());
  assertEquals(all, answer);
});

Deno.test("TimeServer serves a single transport when asked", async () => {
  await using server = new TimeServer({ transport: "udp" });
  await assertRejects(
    () => Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    Deno.errors.ConnectionRefused,
  );
  const date = await getTime({ port: server.addr.port, transport: "udp" });
  assert(Math.abs(date.getTime() - Date.now()) < 2000);
});

Deno.test("TimeServer.finished settles only after shutdown, like TcpServer's", async () => {
  const server = new TimeServer();
  let finished = false;
  const done = server.finished.then(() => (finished = true));
  await getTime({ port: server.addr.port });
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(finished, false);
  await server.shutdown();
  await done;
  assertEquals(finished, true);
});

Deno.test("TimeServer.finished settles when its signal aborts", async () => {
  const controller = new AbortController();
  const server = new TimeServer({ signal: controller.signal });
  controller.abort();
  await server.finished;
  await assertRejects(
    () => Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("TimeServer onRequest reports each answer with its transport and client", async () => {
  const fixed = new Date("2030-01-02T03:04:05.678Z");
  const seen: string[] = [];
  await using server = new TimeServer({
    now: () => fixed,
    onRequest: (info) =>
      seen.push(`${info.transport} ${info.remoteAddr.hostname} ${info.date.toISOString()}`),
  });
  await getTime({ port: server.addr.port, transport: "tcp" });
  await getTime({ port: server.addr.port, transport: "udp" });
  assertEquals(seen, [
    "tcp 127.0.0.1 2030-01-02T03:04:05.000Z",
    "udp 127.0.0.1 2030-01-02T03:04:05.000Z",
  ]);
});

Deno.test("TimeServer onRequest errors go to onError and the answer is still sent", async () => {
  const errors: unknown[] = [];
  await using server = new TimeServer({
    transport: "tcp",
    onRequest: () => {
      throw new Error("log failed");
    },
    onError: (e) => errors.push(e),
  });
  const date = await getTime({ port: server.addr.port });
  assert(Math.abs(date.getTime() - Date.now()) < 2000);
  assertEquals(errors.length, 1);
});

Deno.test("getTime({ transport: 'udp' }) and TimeServer without --unstable-net name the flag", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const module = new URL("../../net/time_protocol.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { getTime, TimeServer } from ${JSON.stringify(module)};
      for (const attempt of [
        () => getTime({ port: 37, transport: "udp" }),
        async () => new TimeServer(),
      ]) {
        try {
          await attempt();
          console.log("no error");
        } catch (error) {
          console.log(error instanceof Deno.errors.NotSupported, error.message);
        }
      }
      // TCP works without the flag.
      await using tcp = new TimeServer({ transport: "tcp" });
      console.log("tcp", (await getTime({ port: tcp.addr.port })) instanceof Date);
      `,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-lock", "--allow-net=127.0.0.1", `${dir}/main.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    assertEquals([code, decoder.decode(stderr)], [0, ""]);
    const hint =
      'UDP needs Deno.listenDatagram, an unstable API; run with --unstable-net, or add "unstable": ["net"] to deno.json';
    assertEquals(decoder.decode(stdout).trim().split("\n"), [
      `true Cannot get time over UDP: ${hint}`,
      `true Cannot start time server: ${hint}`,
      "tcp true",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
