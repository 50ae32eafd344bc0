import { UdpServer } from "../../net/mod.ts";
import { assertEquals } from "../_helpers/assert.ts";

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
