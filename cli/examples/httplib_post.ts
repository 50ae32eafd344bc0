/**
 * httplib-example-2.py from the classic network protocols chapter: post
 * data with a type to a path, fail unless the answer is 200, and print the
 * answer. (The original's function is `post` but its code sends `PUT`; this
 * sends POST, and takes the method as an option.)
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/httplib_post.ts [HOST] [PORT] [PATH] [DATA] [TYPE]
 * ```
 *
 * Defaults: 127.0.0.1, port 8081 (the test bed's lighttpd), /cgi-bin/echo.py,
 * "a piece of data", text/plain.
 *
 * @module
 */
import { HttpConnection } from "../../http/http_connection.ts";

const USER_AGENT = "httplib_post.ts";
const [
  host = "127.0.0.1",
  port = "8081",
  path = "/cgi-bin/echo.py",
  data = "a piece of data",
  type = "text/plain",
] = Deno.args;

async function post(path: string, data: string, type?: string, method = "POST"): Promise<string> {
  await using http = await HttpConnection.connect({ hostname: host, port: Number(port) });
  const headers: Record<string, string> = { "User-Agent": USER_AGENT };
  if (type) headers["Content-Type"] = type;
  const response = await http.request(path, { method, headers, body: data }); // Content-Length set
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`Cannot post to ${path}: ${response.status} ${response.statusText}`);
  }
  return await response.text();
}

console.log(await post(path, data, type));
