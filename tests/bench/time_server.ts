/**
 * Benchmark: inetkit's RFC 868 TimeServer against Node's dgram/net and
 * xinetd's built-in time service, with the same Deno load generator.
 *
 * UDP: answered requests per second with 16 datagrams in flight.
 * TCP: connections per second (connect, read 4 bytes, close), 16 at a time.
 *
 * Run: deno run -A tests/bench/time_server.ts [--seconds 3]
 *
 * @module
 */
import { printTable, spawnServer, tcpConnectionsPerSecond, udpRequestsPerSecond } from "./_load.ts";

const seconds = Number(Deno.args[Deno.args.indexOf("--seconds") + 1] || 3);

const INETKIT = `
import { TimeServer } from ${
  JSON.stringify(new URL("../../net/time_protocol.ts", import.meta.url).href)
};
const server = new TimeServer({ hostname: "127.0.0.1", port: 0 });
console.log(server.addr.port);
Deno.addSignalListener("SIGTERM", async () => { await server.shutdown(); Deno.exit(0); });
`;

const NODE = `
const dgram = require("node:dgram");
const net = require("node:net");
const TIME_1970 = 2208988800;
function now() {
  const b = Buffer.alloc(4);
  b.writeUInt32BE((Math.floor(Date.now() / 1000) + TIME_1970) % 2 ** 32);
  return b;
}
const tcp = net.createServer((socket) => { socket.end(now()); });
tcp.listen(0, "127.0.0.1", () => {
  const port = tcp.address().port;
  const udp = dgram.createSocket("udp4");
  udp.on("message", (_msg, rinfo) => udp.send(now(), rinfo.port, rinfo.address));
  udp.bind(port, "127.0.0.1", () => console.log(port));
});
process.on("SIGTERM", () => process.exit(0));
`;

async function xinetdUp(): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: 3737 });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

const dir = await Deno.makeTempDir();
await Deno.writeTextFile(`${dir}/inetkit.ts`, INETKIT);
await Deno.writeTextFile(`${dir}/node.cjs`, NODE);

const udpRows: [string, number][] = [];
const tcpRows: [string, number][] = [];
const servers: [string, () => Promise<{ port: number; stop(): Promise<void> }>][] = [
  [
    "inetkit TimeServer",
    () => spawnServer(Deno.execPath(), ["run", "-A", "--unstable-net", `${dir}/inetkit.ts`]),
  ],
  ["node dgram / net", () => spawnServer("node", [`${dir}/node.cjs`])],
];
for (const [name, start] of servers) {
  const server = await start();
  udpRows.push([name, await udpRequestsPerSecond(server.port, seconds)]);
  tcpRows.push([name, await tcpConnectionsPerSecond(server.port, seconds)]);
  await server.stop();
}
if (await xinetdUp()) {
  tcpRows.push(["xinetd time (fork per conn)", await tcpConnectionsPerSecond(3737, seconds)]);
  udpRows.push(["xinetd time (udp)", await udpRequestsPerSecond(3737, seconds)]);
} else {
  console.log("xinetd's time service on 3737 is not running: its rows are skipped");
}
await Deno.remove(dir, { recursive: true });
printTable(`RFC 868 over UDP, 16 in flight, ${seconds} s each`, "answers/s", udpRows);
printTable(`RFC 868 over TCP, 16 concurrent, ${seconds} s each`, "conns/s", tcpRows);
if (tcpRows.length > 2) {
  console.log(
    "(xinetd's rows measure its rate limit, cps = 200 1 in the peers' config: past 200\n" +
      " connections a second it stops the service for a second and refuses connections)",
  );
}
