/**
 * The urllib2 HOWTO's "Proxies": the default opener reads proxies from the
 * environment (`http_proxy`, `https_proxy`, `no_proxy`, with
 * `--allow-env`); a `ProxyHandler` with no proxies turns that off. Given a
 * proxy URL, this example sends the request through it instead.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_proxy.ts [URL] [PROXY]
 * ```
 *
 * Defaults: http://127.0.0.1:8080/hello.txt (the test bed's nginx), no
 * proxy (try `simplehttpserver_proxy.ts`: http://127.0.0.1:1234).
 *
 * @module
 */
import { buildOpener } from "../../url/build_opener.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { installOpener, urlopen } from "../../url/urlopen.ts";

const [url = "http://127.0.0.1:8080/hello.txt", proxy] = Deno.args;

const proxySupport = new ProxyHandler(proxy ? { http: proxy } : {});
await using opener = buildOpener(proxySupport);
installOpener(opener);

const response = await urlopen(url);
console.log(proxy ? `through ${proxy}:` : "direct:", response.code);
console.log(await response.text());
