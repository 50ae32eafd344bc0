/**
 * The urllib2 HOWTO's URLError example: a server that cannot be reached
 * makes `urlopen` throw a `URLError` whose `reason` says why (its `cause`
 * is the underlying error).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_urlerror_reason.ts [URL]
 * ```
 *
 * Default URL: http://127.0.0.1:9/ (the discard port, where nothing listens).
 *
 * @module
 */
import { URLError } from "../../url/url_error.ts";
import { UrlRequest } from "../../url/url_request.ts";
import { urlopen } from "../../url/urlopen.ts";

const [url = "http://127.0.0.1:9/"] = Deno.args;

const req = new UrlRequest(url);
try {
  await urlopen(req);
} catch (e) {
  if (!(e instanceof URLError)) throw e;
  console.log(e.reason);
}
