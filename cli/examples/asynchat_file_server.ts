/**
 * asynchat-example-2.py from the classic network protocols chapter: a
 * simple file-based HTTP server that streams each file a few kilobytes at
 * a time (the original's FileProducer is the file's readable stream). The
 * original warned "this is not safe!"; this one refuses paths with `..`,
 * NUL or backslashes and serves only regular files under ROOT. Runs until
 * Ctrl-C.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read cli/examples/asynchat_file_server.ts [HOST] [PORT] [ROOT]
 * ```
 *
 * Defaults: 127.0.0.1, port 8000 (0 picks a free port), the current directory.
 *
 * @module
 */
import { readRequestHead } from "../../http/request_head.ts";
import { BufferedReader } from "../../net/buffered_reader.ts";
import { LineWriter } from "../../net/line_writer.ts";
import { TcpServer } from "../../net/tcp_server.ts";

const [host = "127.0.0.1", port = "8000", root = "."] = Deno.args;

async function open(path: string): Promise<Deno.FsFile | null> {
  let name: string;
  try {
    name = decodeURIComponent(path.split("?")[0]!).replace(/^\/+/, "");
  } catch {
    return null;
  }
  if (/\0|\\/.test(name) || name.split("/").includes("..")) return null;
  const filename = `${root}/${name}`;
  console.log(path, "=>", filename);
  try {
    const file = await Deno.open(filename);
    if ((await file.stat()).isFile) return file;
    file.close();
  } catch {
    // not found or not readable
  }
  return null;
}

const server = new TcpServer(
  { hostname: host, port: Number(port), idleTimeout: 30000 },
  async (conn) => {
    const head = await readRequestHead(new BufferedReader(conn)).catch(() => null);
    if (head === null) return; // badly formed request; just shut down
    const channel = new LineWriter(conn);
    const file = await open(head.target);
    if (file === null) {
      await channel.writeLines(["HTTP/1.0 404 Not found", "Content-type: text/html", ""]);
      await channel.writeLine("<html><body>File not found.</body></html>");
      return;
    }
    await channel.writeLines(["HTTP/1.0 200 OK", "Content-type: text/html", ""]);
    await file.readable.pipeTo(conn.writable, { preventClose: true });
  },
);
console.log("serving at port", server.addr.port);
await server.finished;
