/**
 * urlparse-example-3.py from the classic network protocols chapter (its
 * code is missing from the stored text; this follows its title and the
 * book): split an HTTP URL, then put the path part back together with
 * `urlunsplit` (urlparse's `urlunparse`).
 *
 * ```sh
 * deno run cli/examples/urlunparse_path.ts [URL]
 * ```
 *
 * Default: http://host/path;params?query#fragment
 *
 * @module
 */
import { urlsplit, urlunsplit } from "../../url/urlsplit.ts";

const [url = "http://host/path;params?query#fragment"] = Deno.args;

const { scheme, netloc: host, path, params, query } = urlsplit(url);
if (scheme === "http") {
  console.log("host", "=>", host);
  console.log("path", "=>", urlunsplit({ path, params, query }));
}
