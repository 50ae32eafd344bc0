/**
 * urlparse-example-2.py from the classic network protocols chapter (its
 * code is missing from the stored text; this follows its title and the
 * book): split an HTTP URL into the host to ask and the path to ask for.
 *
 * ```sh
 * deno run cli/examples/urlparse_http_parts.ts [URL]
 * ```
 *
 * Default: http://host/path;params?query#fragment
 *
 * @module
 */
import { urlsplit } from "../../url/urlsplit.ts";

const [url = "http://host/path;params?query#fragment"] = Deno.args;

let { scheme, netloc: host, path, params, query } = urlsplit(url);
if (scheme === "http") {
  console.log("host", "=>", host);
  if (params) path = path + ";" + params;
  if (query) path = path + "?" + query;
  console.log("path", "=>", path);
}
