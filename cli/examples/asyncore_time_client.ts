/**
 * asyncore-example-1.py from the classic network protocols chapter: a time
 * client written as callbacks on an event loop. In Deno the event loop is
 * built in and `await` is the callback: `adjustTime()` is the method the
 * original asked you to override.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/asyncore_time_client.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 37 (the test bed's xinetd answers there).
 *
 * @module
 */
import { getTime } from "../../net/time_protocol.ts";

const [host = "127.0.0.1", port = "37"] = Deno.args;

function adjustTime(delta: number): void {
  // override this function!
  console.log("time difference is", delta);
}

// the request runs on the event loop; other work could run meanwhile
const there = await getTime({ hostname: host, port: Number(port) });
adjustTime(Math.floor(Date.now() / 1000) - there.getTime() / 1000);
