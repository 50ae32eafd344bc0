/**
 * The urllib2 HOWTO's "Sockets and Layers": how long to wait for an
 * answer. Python could only set a global socket timeout; here `timeout`
 * is a per-request option (milliseconds for the connect, the head and
 * every pause in the body) and running out is a `URLError` whose
 * `timedOut` is true, so the HOWTO's `except URLError` catches it.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_timeout.ts [URL] [SECONDS]
 * ```
 *
 * Defaults: http://127.0.0.1:8080/ (the test bed's nginx), 10 seconds.
 *
 * @module
 */
import { URLError } from "../../url/url_error.ts";
import { UrlRequest } from "../../url/url_request.ts";
import { urlopen } from "../../url/urlopen.ts";

const [url = "http://127.0.0.1:8080/", seconds = "10"] = Deno.args;

// timeout in seconds
const timeout = Number(seconds);

const req = new UrlRequest(url);
try {
  const response = await urlopen(req, { timeout: timeout * 1000 });
  console.log(response.code, (await response.text()).length, "bytes");
} catch (e) {
  if (!(e instanceof URLError)) throw e;
  console.log(e.timedOut ? `timed out after ${timeout} s` : `failed: ${e.reason}`);
}
