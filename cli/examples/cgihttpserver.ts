/**
 * cgihttpserver-example-1.py from the classic network protocols chapter:
 * an HTTP server that runs the scripts under `/cgi` through CGI and serves
 * every other path as a file. Scripts must be executable (their `#!` line
 * picks the interpreter), or end in `.py` or `.sh`. Runs until Ctrl-C.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read --allow-run cli/examples/cgihttpserver.ts [HOST] [PORT] [DIR]
 * ```
 *
 * Defaults: 127.0.0.1, port 8000 (0 picks a free port), the current
 * directory (scripts in its `cgi` subdirectory).
 *
 * @module
 */
import { serveCgi } from "../../http/cgi.ts";
import { serveDir } from "../../http/file_server.ts";
import { serve } from "../../http/serve.ts";

const [host = "127.0.0.1", port = "8000", dir = "."] = Deno.args;

const cgi = {
  directories: { "/cgi": `${dir}/cgi` },
  interpreters: { ".py": ["python3"], ".sh": ["/bin/sh"] },
};
const httpd = serve({ hostname: host, port: Number(port) }, (request, info) => {
  const path = new URL(request.url).pathname;
  if (path.startsWith("/cgi/")) return serveCgi(request, info, cgi);
  return serveDir(request, { fsRoot: dir, exclude: [cgi.directories["/cgi"]] });
});
console.log("serving at port", httpd.addr.port);
await httpd.finished;
