/**
 * cookie-example-1.py from the classic network protocols chapter: write
 * two cookies as `Set-Cookie` headers, then read them back from the
 * `Cookie` header a browser would send (the original's CGI round trip).
 * Like SimpleCookie, a value with spaces or `;` is written quoted
 * (`quote: true`; without it such a value throws) and read back with
 * `unquoteCookieValue`.
 *
 * ```sh
 * deno run cli/examples/cookie_parse.ts [USER]
 * ```
 *
 * Default user: Mimi.
 *
 * @module
 */
import { formatSetCookie, parseCookie, unquoteCookieValue } from "../../http/cookie.ts";

const [user = "Mimi"] = Deno.args;

const headers = [
  formatSetCookie({ name: "user", value: user }, { quote: true }),
  formatSetCookie({ name: "timestamp", value: String(Math.floor(Date.now() / 1000)) }),
];
for (const header of headers) console.log("Set-Cookie:", header);

// simulate the round trip: the browser sends each name=value back in one header
const HTTP_COOKIE = headers.map((header) => header.split(";")[0]).join("; ");
console.log();
for (const [key, value] of parseCookie(HTTP_COOKIE)) {
  console.log(key, JSON.stringify(unquoteCookieValue(value)));
}
