/**
 * The urllib2 HOWTO's "Fetching URLs" example with a Request object:
 * `UrlRequest` is urllib2's `Request` (named so that it does not shadow
 * the web `Request`, which `urlopen` accepts as well; both are shown).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_request.ts [URL]
 * ```
 *
 * Default URL: http://127.0.0.1:8080/ (the test bed's nginx).
 *
 * @module
 */
import { UrlRequest } from "../../url/url_request.ts";
import { urlopen } from "../../url/urlopen.ts";

const [url = "http://127.0.0.1:8080/"] = Deno.args;

const req = new UrlRequest(url);
const response = await urlopen(req);
const thePage = await response.text();
console.log(thePage);

// The web Request works too: method, headers, body and signal carry over.
const again = await urlopen(new Request(url, { headers: { Accept: "text/html" } }));
console.log("same page again:", (await again.text()) === thePage);
