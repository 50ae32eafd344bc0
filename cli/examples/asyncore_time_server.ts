/**
 * asyncore-example-2.py from the classic network protocols chapter: a time
 * server with a listening dispatcher and a channel per client. inetkit's
 * `TimeServer` is that server, for TCP and (with `--unstable-net`) UDP
 * on the same port. Runs until Ctrl-C.
 *
 * ```sh
 * deno run --unstable-net --allow-net=127.0.0.1 cli/examples/asyncore_time_server.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 8037 (0 picks a free port).
 *
 * @module
 */
import { TimeServer } from "../../net/time_protocol.ts";

const [host = "127.0.0.1", port = "8037"] = Deno.args;

const server = new TimeServer({
  hostname: host,
  port: Number(port),
  onRequest: ({ transport, remoteAddr }) =>
    console.log(`${transport} channel for`, [remoteAddr.hostname, remoteAddr.port]),
});
console.log("listening on port", server.addr.port);
await server.finished;
