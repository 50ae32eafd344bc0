/**
 * The urllib2 HOWTO's "Wrapping it Up", number 1: catch `HTTPError` first,
 * then `URLError` (`HTTPError` is a `URLError`, so the order matters).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_errors_style1.ts [URL]
 * ```
 *
 * Default URL: http://127.0.0.1:8080/ (the test bed's nginx).
 *
 * @module
 */
import { HTTPError } from "../../url/http_error.ts";
import { URLError } from "../../url/url_error.ts";
import { UrlRequest } from "../../url/url_request.ts";
import { urlopen } from "../../url/urlopen.ts";

const [someurl = "http://127.0.0.1:8080/"] = Deno.args;

const req = new UrlRequest(someurl);
try {
  const response = await urlopen(req);
  // everything is fine
  console.log("Got", response.code, "from", response.geturl());
  await response.body?.cancel();
} catch (e) {
  if (e instanceof HTTPError) {
    console.log("The server couldn't fulfill the request.");
    console.log("Error code: ", e.code);
  } else if (e instanceof URLError) {
    console.log("We failed to reach a server.");
    console.log("Reason: ", e.reason);
  } else {
    throw e;
  }
}
