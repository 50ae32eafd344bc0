/**
 * The urllib2 HOWTO's "info and geturl": `geturl()` is the URL of the page
 * actually fetched (after redirects), `info()` its headers.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_info_geturl.ts [URL]
 * ```
 *
 * Default URL: http://127.0.0.1:8080/dir (nginx redirects it to /dir/).
 *
 * @module
 */
import { urlopen } from "../../url/urlopen.ts";

const [url = "http://127.0.0.1:8080/dir"] = Deno.args;

const response = await urlopen(url);
console.log("geturl:", response.geturl());
for (const [name, value] of response.info()) console.log(`${name}: ${value}`);
await response.body?.cancel();
