/**
 * The urllib2 HOWTO's "Data" example: encode form values with `urlencode`
 * and send them as the request's data, which makes it a POST with the
 * `application/x-www-form-urlencoded` type.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_post_form.ts [URL]
 * ```
 *
 * Default URL: http://127.0.0.1:8081/cgi-bin/echo.py (the test bed's
 * lighttpd, whose script echoes the request).
 *
 * @module
 */
import { UrlRequest } from "../../url/url_request.ts";
import { urlencode } from "../../url/urlencode.ts";
import { urlopen } from "../../url/urlopen.ts";

const [url = "http://127.0.0.1:8081/cgi-bin/echo.py"] = Deno.args;
const values = { name: "Michael Foord", location: "Northampton", language: "Python" };

const data = urlencode(values);
const req = new UrlRequest(url, { data });
const response = await urlopen(req);
const thePage = await response.text();
console.log(thePage);
