/**
 * simplehttpserver-example-2.py from the classic network protocols
 * chapter: a truly minimal web proxy. The original fetched `self.path`
 * with urllib; `serveProxy` does that for absolute-form requests (and
 * CONNECT), strips hop-by-hop headers, adds `Via` and refuses loops.
 * Runs until Ctrl-C.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/simplehttpserver_proxy.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 1234 (0 picks a free port). Try it with
 * `curl -x http://127.0.0.1:1234 http://127.0.0.1:8080/`.
 *
 * @module
 */
import { serveProxy } from "../../http/proxy.ts";
import { serve } from "../../http/serve.ts";

const [host = "127.0.0.1", port = "1234"] = Deno.args;

const httpd = serve(
  { hostname: host, port: Number(port) },
  (request, info) => serveProxy(request, info),
);
console.log("serving at port", httpd.addr.port);
await httpd.finished;
