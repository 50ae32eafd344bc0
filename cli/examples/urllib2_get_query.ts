/**
 * The urllib2 HOWTO's GET example: encode the data into the URL's query
 * string instead of sending it as a body.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_get_query.ts [URL]
 * ```
 *
 * Default URL: http://127.0.0.1:8081/cgi-bin/echo.py (the test bed's
 * lighttpd, whose script echoes the request).
 *
 * @module
 */
import { urlencode } from "../../url/urlencode.ts";
import { urlopen } from "../../url/urlopen.ts";

const [url = "http://127.0.0.1:8081/cgi-bin/echo.py"] = Deno.args;

const data: Record<string, string> = {};
data["name"] = "Somebody Here";
data["location"] = "Northampton";
data["language"] = "Python";
const urlValues = urlencode(data);
console.log(urlValues);
const fullUrl = url + "?" + urlValues;
const response = await urlopen(fullUrl);
console.log(await response.text());
