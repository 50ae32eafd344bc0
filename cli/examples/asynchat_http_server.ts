/**
 * asynchat-example-1.py from the classic network protocols chapter: a very
 * minimal HTTP responder that answers every request with an HTML page
 * showing the request head it received. asynchat's terminators become
 * `readLine()` calls on a `BufferedReader`, and its `push` a `LineWriter`.
 * The head is HTML-escaped (the original pasted it in raw) and capped at
 * 100 lines of 8 KiB. Runs until Ctrl-C.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/asynchat_http_server.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 8000 (0 picks a free port).
 *
 * @module
 */
import { BufferedReader } from "../../net/buffered_reader.ts";
import { LineWriter } from "../../net/line_writer.ts";
import { TcpServer } from "../../net/tcp_server.ts";

const [host = "127.0.0.1", port = "8000"] = Deno.args;

const escape = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

const server = new TcpServer(
  { hostname: host, port: Number(port), idleTimeout: 30000 },
  async (conn) => {
    const reader = new BufferedReader(conn);
    const request = await reader.readLine({ maxLength: 8192, lineEnding: "any" });
    if (request === null || request.split(" ").length !== 3) return; // just shut down
    const head = [request];
    for (let line; (line = await reader.readLine({ maxLength: 8192, lineEnding: "any" }));) {
      if (head.push(line) > 100) return;
    }
    const push = new LineWriter(conn);
    await push.writeLines(["HTTP/1.0 200 OK", "Content-type: text/html", ""]);
    await push.writeLines(["<html><body><pre>", ...head.map(escape), "</pre></body></html>"]);
  },
);
console.log("serving at port", server.addr.port, "...");
await server.finished;
