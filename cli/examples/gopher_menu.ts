/**
 * gopherlib-example-1.py from the classic network protocols chapter: send a
 * selector to a Gopher server and print each item of the menu it returns.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/gopher_menu.ts [HOST] [PORT] [SELECTOR]
 * ```
 *
 * Defaults: 127.0.0.1, port 7070 (the test bed's gophernicus), selector "/".
 *
 * @module
 */
import { gopherMenu } from "../../net/gopher_client.ts";

const [host = "127.0.0.1", port = "7070", selector = "/"] = Deno.args;

const menu = await gopherMenu({ hostname: host, port: Number(port), selector });
for (const item of menu.items) {
  console.log([item.type, item.display, item.selector, item.host, String(item.port)]);
}
