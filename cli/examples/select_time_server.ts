/**
 * select-example-1.py from the classic network protocols chapter: a time
 * server that waits for connections with a one-second timeout and says
 * "still waiting" whenever a second goes by. `select()` on the listening
 * socket becomes a race between the pending `accept()` and a timer.
 * Runs until Ctrl-C.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/select_time_server.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 8037 (0 picks a free port).
 *
 * @module
 */
import { dateToTime } from "../../net/time_protocol.ts";

const [host = "127.0.0.1", port = "8037"] = Deno.args;

const service = Deno.listen({ hostname: host, port: Number(port) });
console.log("listening on port", service.addr.port);

let accepting = service.accept();
while (true) {
  // wait up to 1.0 s for the listening socket to become readable
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(resolve, 1000, null)));
  const channel = await Promise.race([accepting, timeout]);
  clearTimeout(timer);
  if (channel !== null) {
    accepting = service.accept();
    const { hostname, port } = channel.remoteAddr;
    console.log("connection from", [hostname, port]);
    const t = new Uint8Array(4);
    new DataView(t.buffer).setUint32(0, dateToTime(new Date()));
    await channel.write(t); // send timestamp
    channel.close(); // disconnect
  }
  console.log("still waiting");
}
