/**
 * The urllib2 HOWTO's first example: open a URL and read the whole page.
 * `urlopen` gives a web `Response` (with urllib's `code`, `info()` and
 * `geturl()` too), so `text()` is `read()`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urlopen_read.ts [URL]
 * ```
 *
 * Default URL: http://127.0.0.1:8080/ (the test bed's nginx).
 *
 * @module
 */
import { urlopen } from "../../url/urlopen.ts";

const [url = "http://127.0.0.1:8080/"] = Deno.args;

const response = await urlopen(url);
const html = await response.text();
console.log(html);
