/**
 * httplib-example-1.py from the classic network protocols chapter: fetch a
 * path from a server over one HTTP connection, with our own User-Agent,
 * and fail with the status unless it is 200.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/httplib_get.ts [HOST] [PORT] [PATH]
 * ```
 *
 * Defaults: 127.0.0.1, port 8080 (the test bed's nginx), /index.html.
 *
 * @module
 */
import { HttpConnection } from "../../http/http_connection.ts";

const USER_AGENT = "httplib_get.ts";
const [host = "127.0.0.1", port = "8080", path = "/index.html"] = Deno.args;

await using http = await HttpConnection.connect({ hostname: host, port: Number(port) });
const response = await http.request(path, {
  headers: { "User-Agent": USER_AGENT, Accept: "*/*" },
});
if (response.status !== 200) {
  await response.body?.cancel();
  throw new Error(`Cannot fetch ${path}: ${response.status} ${response.statusText}`);
}
console.log(await response.text());
