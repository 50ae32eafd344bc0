/**
 * timeclient.py from the classic network protocols chapter: the
 * generalized time client, with the server as arguments. Python's
 * `gettime(host, port)` is `getTime()`, which a program imports from
 * `net/time_protocol.ts` as the chapter imported `timeclient`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/time_client.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 8037 (the chapter's time servers).
 *
 * @module
 */
import { getTime } from "../../net/time_protocol.ts";

const [host = "127.0.0.1", port = "8037"] = Deno.args;

const date = await getTime({ hostname: host, port: Number(port) });
console.log("server time is", date.toUTCString());
console.log("local clock is", Math.floor(Date.now() / 1000) - date.getTime() / 1000, "seconds off");
