/**
 * The urllib2 HOWTO's "Openers and Handlers": an opener assembled handler
 * by handler (`OpenerDirector` + `add_handler`) that does not follow
 * redirects, next to one from `buildOpener` (the default handlers, which
 * do), installed with `installOpener` so that plain `urlopen` uses it.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_opener_handlers.ts [URL]
 * ```
 *
 * Default URL: http://127.0.0.1:8080/dir (nginx redirects it to /dir/).
 *
 * @module
 */
import { buildOpener } from "../../url/build_opener.ts";
import { HTTPError } from "../../url/http_error.ts";
import { HttpErrorProcessor } from "../../url/http_error_processor.ts";
import { HttpUrlHandler } from "../../url/http_handler.ts";
import { UrlOpener } from "../../url/url_opener.ts";
import { installOpener, urlopen } from "../../url/urlopen.ts";

const [url = "http://127.0.0.1:8080/dir"] = Deno.args;

// an opener that does not handle redirections
await using plain = new UrlOpener();
plain.addHandler(new HttpUrlHandler());
plain.addHandler(new HttpErrorProcessor());
try {
  await plain.open(url);
} catch (e) {
  if (!(e instanceof HTTPError)) throw e;
  console.log("without a redirect handler:", e.code, "to", e.headers.get("location"));
}

// the default handlers, installed for urlopen
await using opener = buildOpener();
installOpener(opener);
const response = await urlopen(url);
console.log("with the default handlers:", response.code, "from", response.geturl());
await response.body?.cancel();
