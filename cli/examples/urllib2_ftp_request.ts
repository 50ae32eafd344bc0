/**
 * The urllib2 HOWTO's "Fetching URLs" example with an ftp: URL:
 * `urlopen(Request("ftp://example.com/"))` works as for http:, with the
 * same `Response` (a listing for a directory URL, the file otherwise).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read cli/examples/urllib2_ftp_request.ts [URL] [CAFILE]
 * ```
 *
 * Default URL: ftp://mulder:trustno1@127.0.0.1:2121/pub/hello.txt (the test
 * bed's vsftpd). The server offers AUTH TLS, which inetkit then uses and
 * verifies: give its CA file (the test bed's is /tmp/peers/tls/ca.pem), or
 * point the example at a server without TLS.
 *
 * @module
 */
import { FtpUrlHandler } from "../../url/ftp_handler.ts";
import { buildOpener } from "../../url/build_opener.ts";
import { UrlRequest } from "../../url/url_request.ts";

const [url = "ftp://mulder:trustno1@127.0.0.1:2121/pub/hello.txt", caFile] = Deno.args;
const caCerts = caFile === undefined ? undefined : [await Deno.readTextFile(caFile)];

await using opener = buildOpener(new FtpUrlHandler({ caCerts }));
const response = await opener.open(new UrlRequest(url));
console.log(await response.text());
