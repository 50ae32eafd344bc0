/**
 * webbrowser-example-1.py from the classic network protocols chapter: show
 * a page in the browser, wait a while, then go to another page. The browser
 * is found as Python finds it: BROWSER, then xdg-open, open or rundll32.
 *
 * ```sh
 * deno run --allow-run --allow-env=BROWSER cli/examples/webbrowser_open.ts [URL] [NEXT_URL] [SECONDS]
 * ```
 *
 * Defaults: http://127.0.0.1:8080/, then http://127.0.0.1:8080/index.html
 * after 5 seconds.
 *
 * @module
 */
import { openUrl } from "../../net/open_url.ts";

const [
  first = "http://127.0.0.1:8080/",
  next = "http://127.0.0.1:8080/index.html",
  seconds = "5",
] = Deno.args;

await openUrl(first);

// wait a while, and then go to another page
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
await openUrl(next);
