/**
 * socket-example-5.py from the classic network protocols chapter: a time
 * server over UDP, answering every datagram (empty ones too) with the
 * 4-byte time. `UdpServer` is the `recvfrom`/`sendto` loop. Runs until
 * Ctrl-C. UDP needs `--unstable-net`.
 *
 * ```sh
 * deno run --unstable-net --allow-net=127.0.0.1 cli/examples/time_server_udp.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 8037 (0 picks a free port).
 *
 * @module
 */
import { UdpServer } from "../../net/udp_server.ts";
import { dateToTime } from "../../net/time_protocol.ts";

const [host = "127.0.0.1", port = "8037"] = Deno.args;

// establish server
const service = new UdpServer({ hostname: host, port: Number(port) });
console.log("listening on port", service.addr.port);

for await (const datagram of service) {
  // serve forever
  const { hostname, port } = datagram.remoteAddr;
  console.log("connection from", [hostname, port]);
  const t = new Uint8Array(4);
  new DataView(t.buffer).setUint32(0, dateToTime(new Date()));
  await datagram.reply(t); // send timestamp
}
