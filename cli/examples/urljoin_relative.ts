/**
 * urlparse-example-4.py from the classic network protocols chapter: resolve
 * relative references against a base URL.
 *
 * ```sh
 * deno run cli/examples/urljoin_relative.ts [BASE] [PATH...]
 * ```
 *
 * Defaults: http://spam.egg/my/little/pony with /index, goldfish and ../black/cat.
 *
 * @module
 */
import { urljoin } from "../../url/urljoin.ts";

const [base = "http://spam.egg/my/little/pony", ...given] = Deno.args;
const paths = given.length > 0 ? given : ["/index", "goldfish", "../black/cat"];

for (const path of paths) console.log(path, "=>", urljoin(base, path));
