/**
 * robotparser-example-1.py from the classic network protocols chapter:
 * fetch a site's robots.txt (RFC 9309) and ask whether a robot may fetch
 * two pages. A missing robots.txt (4xx) allows everything; an unreachable
 * one (5xx, network error) disallows everything.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/robotparser_check.ts [SITE]
 * ```
 *
 * Default site: http://127.0.0.1:8080 (the test bed's nginx).
 *
 * @module
 */
import { RobotsFetcher } from "../../url/robots_fetcher.ts";

const [site = "http://127.0.0.1:8080"] = Deno.args;

await using r = new RobotsFetcher();
if (await r.isAllowed("*", `${site}/index.html`)) {
  console.log("may fetch the home page");
}
if (await r.isAllowed("*", `${site}/tim_one/index.html`)) {
  console.log("may fetch the tim peters archive");
}
