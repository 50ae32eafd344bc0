/**
 * socket-example-4.py from the classic network protocols chapter: ask a
 * time server over UDP (send an empty datagram, read the 4-byte answer).
 * `getTime()` also retries on silence and ignores datagrams from anyone
 * but the server. UDP needs `--unstable-net`.
 *
 * ```sh
 * deno run --unstable-net --allow-net=127.0.0.1 cli/examples/time_client_udp.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 8037 (the chapter's time servers).
 *
 * @module
 */
import { getTime } from "../../net/time_protocol.ts";

const [host = "127.0.0.1", port = "8037"] = Deno.args;

const date = await getTime({ hostname: host, port: Number(port), transport: "udp" });
console.log("server time is", date.toUTCString());
console.log("local clock is", Math.floor(Date.now() / 1000) - date.getTime() / 1000, "seconds off");
