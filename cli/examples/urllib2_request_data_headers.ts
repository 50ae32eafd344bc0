/**
 * The urllib2 HOWTO's "Headers" example: the form POST again, this time
 * saying it comes from Internet Explorer through the `User-Agent` header
 * (an opener sends `inetkit/0.1` otherwise).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_request_data_headers.ts [URL]
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
const userAgent = "Mozilla/4.0 (compatible; MSIE 5.5; Windows NT)";
const values = { name: "Michael Foord", location: "Northampton", language: "Python" };
const headers = { "User-Agent": userAgent };

const data = urlencode(values);
const req = new UrlRequest(url, { data, headers });
const response = await urlopen(req);
const thePage = await response.text();
console.log(thePage);
