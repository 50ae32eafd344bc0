/**
 * socket-example-1.py from the classic network protocols chapter: connect
 * to a time server over TCP, read its 4-byte answer and turn it into a
 * date. The socket-level way; `time_client.ts` uses `getTime()`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/time_client_tcp.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 37 (the test bed's xinetd answers there).
 *
 * @module
 */
import { BufferedReader } from "../../net/buffered_reader.ts";
import { connectTcp } from "../../net/connect_tcp.ts";
import { timeToDate } from "../../net/time_protocol.ts";

const [host = "127.0.0.1", port = "37"] = Deno.args;

// connect to server
const conn = await connectTcp({ hostname: host, port: Number(port) });
// read 4 bytes, and convert to time value (seconds since 1900, big-endian)
const bytes = await new BufferedReader(conn).readExactly(4);
conn.close();
const date = timeToDate(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0));

console.log("server time is", date.toUTCString());
console.log("local clock is", Math.floor(Date.now() / 1000) - date.getTime() / 1000, "seconds off");
