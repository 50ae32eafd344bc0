/**
 * simplehttpserver-example-1.py from the classic network protocols
 * chapter: a minimal web server for the files under the current directory,
 * logging each request. `serveDir` adds what SimpleHTTPServer lacked:
 * traversal and symlink checks, no dotfiles, ETags, ranges and HEAD.
 * Runs until Ctrl-C.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read cli/examples/simplehttpserver.ts [HOST] [PORT] [DIR]
 * ```
 *
 * Defaults: 127.0.0.1, port 8000 (0 picks a free port), the current directory.
 *
 * @module
 */
import { serveDir } from "../../http/file_server.ts";
import { serve } from "../../http/serve.ts";

const [host = "127.0.0.1", port = "8000", dir = "."] = Deno.args;

const httpd = serve(
  { hostname: host, port: Number(port), accessLog: (line) => console.log(line) },
  (request) => serveDir(request, { fsRoot: dir }),
);
console.log("serving at port", httpd.addr.port);
await httpd.finished;
