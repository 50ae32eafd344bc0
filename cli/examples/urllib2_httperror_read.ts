/**
 * The urllib2 HOWTO's HTTPError example: a 404 throws an `HTTPError`,
 * which is also the error page: it has the `code` and a readable body.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_httperror_read.ts [URL]
 * ```
 *
 * Default URL: http://127.0.0.1:8080/fish.html (a page the test bed's nginx does not have).
 *
 * @module
 */
import { HTTPError } from "../../url/http_error.ts";
import { UrlRequest } from "../../url/url_request.ts";
import { urlopen } from "../../url/urlopen.ts";

const [url = "http://127.0.0.1:8080/fish.html"] = Deno.args;

const req = new UrlRequest(url);
try {
  await urlopen(req);
} catch (e) {
  if (!(e instanceof HTTPError)) throw e;
  console.log(e.code);
  console.log(await e.text());
}
