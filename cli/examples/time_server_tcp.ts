/**
 * socket-example-2.py from the classic network protocols chapter: a time
 * server on a bare listening socket. Each client gets the 4-byte time and
 * is disconnected. Runs until Ctrl-C.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/time_server_tcp.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 8037 (0 picks a free port).
 *
 * @module
 */
import { dateToTime } from "../../net/time_protocol.ts";

const [host = "127.0.0.1", port = "8037"] = Deno.args;

// establish server
const service = Deno.listen({ hostname: host, port: Number(port) });
console.log("listening on port", service.addr.port);

for await (const channel of service) {
  // serve forever
  const { hostname, port } = channel.remoteAddr;
  console.log("connection from", [hostname, port]);
  const t = new Uint8Array(4);
  new DataView(t.buffer).setUint32(0, dateToTime(new Date()));
  await channel.write(t); // send timestamp (4 bytes fit in one write)
  channel.close(); // disconnect
}
