/**
 * The urllib2 HOWTO's table of response codes
 * (`BaseHTTPServer.BaseHTTPRequestHandler.responses`): inetkit's
 * `STATUS_TEXT` holds the reason phrases of the IANA registry, and
 * `STATUS_CODE` their names.
 *
 * ```sh
 * deno run cli/examples/http_status_responses.ts [CODE...]
 * ```
 *
 * Without codes, prints the whole table.
 *
 * @module
 */
import { STATUS_TEXT, type StatusCode } from "../../http/status_code.ts";

const codes = Deno.args.length > 0 ? Deno.args.map(Number) : Object.keys(STATUS_TEXT).map(Number);

for (const code of codes) {
  console.log(`${code}: ${STATUS_TEXT[code as StatusCode] ?? "(unknown)"}`);
}
