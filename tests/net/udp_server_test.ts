import { UdpServer } from "../../net/mod.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function client(): Deno.DatagramConn {
  return Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
}

Deno.test("UdpServer delivers datagrams to for-await and replies to the sender", async () => {
  const server = new UdpServer({ port: 0 });
  const socket = client();
  const seen: string[] = [];
  const loop = (async () => {
    for await (const datagram of server) {
      seen.push(decoder.decode(datagram.data));
      await datagram.reply(encoder.encode(`echo ${decoder.decode(datagram.data)}`));
      if (seen.length === 2) break;
    }
  })();
  await socket.send(encoder.encode("one"), server.addr);
  const [first] = await socket.receive();
  await socket.send(encoder.encode("two"), server.addr);
  const [second] = await socket.receive();
  await loop;
  assertEquals([decoder.decode(first), decoder.decode(second)], ["echo one", "echo two"]);
  assertEquals(seen, ["one", "two"]);
  socket.close();
  server.close();
});

Deno.test("UdpServer delivers zero-length datagrams", async () => {
  const lengths: number[] = [];
  await using server = new UdpServer({ port: 0 }, async (d) => {
    lengths.push(d.data.length);
    await d.reply(new Uint8Array([lengths.length]));
  });
  const socket = client();
  await socket.send(new Uint8Array(0), server.addr);
  const [answer, from] = await socket.receive();
  socket.close();
  assertEquals(lengths, [0]);
  assertEquals(answer, new Uint8Array([1]));
  assertEquals((from as Deno.NetAddr).port, server.addr.port);
});

Deno.test("UdpServer keeps serving after a handler throws", async () => {
  const errors: unknown[] = [];
  let n = 0;
  await using server = new UdpServer({ port: 0, onError: (e) => errors.push(e) }, async (d) => {
    if (n++ === 0) throw new Error("bad datagram");
    await d.reply(d.data);
  });
  const socket = client();
  await socket.send(encoder.encode("a"), server.addr);
  await socket.send(encoder.encode("b"), server.addr);
  const [answer] = await socket.receive();
  socket.close();
  assertEquals(decoder.decode(answer), "b");
  assertEquals(errors.length, 1);
});

Deno.test("UdpServer closes when its signal aborts and ends iteration", async () => {
  const controller = new AbortController();
  const server = new UdpServer({ port: 0, signal: controller.signal });
  const loop = (async () => {
    let count = 0;
    for await (const _ of server) count++;
    return count;
  })();
  controller.abort();
  assertEquals(await loop, 0);
});

Deno.test("UdpServer.shutdown() stops like TcpServer's: signals handlers, waits, settles finished", async () => {
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const server = new UdpServer({ port: 0 }, async (d) => {
    started();
    // The handler ends when the server tells it to.
    await new Promise((resolve) => d.signal.addEventListener("abort", resolve));
  });
  const socket = client();
  await socket.send(encoder.encode("x"), server.addr);
  await running;
  let finished = false;
  const done = server.finished.then(() => (finished = true));
  assertEquals(finished, false);
  await server.shutdown({ timeout: 2000 });
  await done;
  socket.close();
  assertEquals([server.closed, finished], [true, true]);
  // close() is the alias that does not wait; more calls are harmless.
  server.close();
  await server.shutdown();
});

Deno.test("UdpServer.shutdown() resolves after its timeout when a handler ignores the signal", async () => {
  let release!: () => void;
  const stuck = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const server = new UdpServer({ port: 0 }, async () => {
    started();
    await stuck;
  });
  const socket = client();
  await socket.send(encoder.encode("x"), server.addr);
  await running;
  const t0 = performance.now();
  await server.shutdown({ timeout: 50 });
  const waited = performance.now() - t0;
  assert(waited >= 40 && waited < 1000, `waited ${waited} ms`);
  let finished = false;
  const done = server.finished.then(() => (finished = true));
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(finished, false);
  release();
  await done;
  socket.close();
});

/** Runs a script with `deno run --no-config` (so without the repository's unstable flags). */
async function runWithoutUnstable(
  script: string,
): Promise<{ code: number; out: string; err: string }> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/main.ts`, script);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-lock", "--allow-net=127.0.0.1", `${dir}/main.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code, out: decoder.decode(stdout), err: decoder.decode(stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("UdpServer without --unstable-net throws NotSupported naming the flag", async () => {
  const module = new URL("../../net/udp_server.ts", import.meta.url).href;
  const result = await runWithoutUnstable(`
    import { UdpServer } from ${JSON.stringify(module)};
    try {
      new UdpServer({ port: 0 });
      console.log("no error");
    } catch (error) {
      console.log(\`\${error instanceof Deno.errors.NotSupported} \${error.message}\`);
    }
  `);
  assertEquals([result.code, result.err], [0, ""]);
  assertEquals(
    result.out.trim(),
    "true Cannot start UDP server: UDP needs Deno.listenDatagram, an unstable API; " +
      'run with --unstable-net, or add "unstable": ["net"] to deno.json',
  );
});
