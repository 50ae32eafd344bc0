/**
 * urlparse-example-1.py from the classic network protocols chapter: split a
 * URL into scheme, host, path, params, query and fragment.
 *
 * ```sh
 * deno run cli/examples/urlparse_parts.ts [URL]
 * ```
 *
 * Default: http://host/path;params?query#fragment
 *
 * @module
 */
import { urlsplit } from "../../url/urlsplit.ts";

const [url = "http://host/path;params?query#fragment"] = Deno.args;

const { scheme, netloc, path, params, query, fragment } = urlsplit(url);
console.log([scheme, netloc, path, params, query, fragment]);
