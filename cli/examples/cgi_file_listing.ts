#!/usr/bin/env -S deno run --allow-env --allow-read
/**
 * cgi-example-1.py from the classic network protocols chapter: a CGI
 * script that lists the files in a directory (the query string) under
 * ROOT, linking subdirectories back to itself. It reads its request with
 * `readCgiRequest` and answers with `writeCgiResponse`. Unlike the
 * original it refuses `..` in the query (which listed any directory) and
 * escapes names in links as well as in text.
 *
 * Run it from a CGI server, such as `cgihttpserver.ts`, with a wrapper in
 * the CGI directory (`exec deno run --allow-env --allow-read
 * .../cgi_file_listing.ts ROOT`), or by hand:
 *
 * ```sh
 * REQUEST_METHOD=GET QUERY_STRING=. deno run --allow-env --allow-read cli/examples/cgi_file_listing.ts [ROOT]
 * ```
 *
 * Default ROOT: samples.
 *
 * @module
 */
import { readCgiRequest, writeCgiResponse } from "../../http/cgi.ts";

const [ROOT = "samples"] = Deno.args;

const escape = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll("'", "&#39;").replaceAll('"', "&quot;");

const request = readCgiRequest();
const url = new URL(request.url);
const query = decodeURIComponent(url.search.slice(1)) || ".";
const script = Deno.env.get("SCRIPT_NAME") || "cgi_file_listing.ts";

const lines = ["<html>", "<head>", "<title>file listing</title>", "</head>", "<body>"];
const files: Deno.DirEntry[] = [];
if (!query.split("/").includes("..")) {
  try {
    for await (const entry of Deno.readDir(`${ROOT}/${query}`)) files.push(entry);
  } catch {
    // not a directory: list nothing
  }
}
files.sort((a, b) => (a.name < b.name ? -1 : 1));
for (const file of files) {
  if (file.isDirectory) {
    const sub = query === "." ? file.name : `${query}/${file.name}`;
    const href = `${script}?${encodeURIComponent(sub)}`;
    lines.push(`<a href='${escape(href)}'>${escape(file.name)}</a>`);
  } else {
    lines.push(escape(file.name));
  }
}
lines.push("</body>", "</html>", "");

await writeCgiResponse(
  new Response(lines.join("\n"), { headers: { "Content-Type": "text/html" } }),
);
