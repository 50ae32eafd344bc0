/**
 * socketserver-example-1.py from the classic network protocols chapter:
 * a time server on the SocketServer framework. `TcpServer` runs the
 * handler for each connection (the `StreamRequestHandler.handle` method)
 * and adds what SocketServer left out: connection caps, deadlines and a
 * graceful shutdown. Runs until Ctrl-C.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/socketserver_time_server.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 8037 (0 picks a free port).
 *
 * @module
 */
import { TcpServer } from "../../net/tcp_server.ts";
import { dateToTime } from "../../net/time_protocol.ts";

const [host = "127.0.0.1", port = "8037"] = Deno.args;

const server = new TcpServer({ hostname: host, port: Number(port) }, async (conn, info) => {
  console.log("connection from", [info.remoteAddr.hostname, info.remoteAddr.port]);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, dateToTime(new Date()));
  await conn.write(b);
});
console.log("listening on port", server.addr.port);
await server.finished; // serve forever
