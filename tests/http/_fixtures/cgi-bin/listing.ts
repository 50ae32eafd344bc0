#!/usr/bin/env -S deno run --no-config --allow-read --allow-env
/**
 * The classic directory-listing CGI example (`cgi-example-1.py`: print a
 * Content-Type line, a blank line, then an HTML list of the files in the
 * current directory) as a Deno CGI script written with inetkit. The server
 * runs it with the CGI directory as the working directory. `?sort=size`
 * orders by size; names are HTML-escaped.
 *
 * @module
 */
import { readCgiRequest, writeCgiResponse } from "../../../../http/cgi.ts";

const request = readCgiRequest();
const url = new URL(request.url);
const entries: { name: string; size: number; dir: boolean }[] = [];
for await (const entry of Deno.readDir(".")) {
  if (entry.name.startsWith(".")) continue;
  const info = await Deno.stat(entry.name);
  entries.push({ name: entry.name, size: info.size, dir: info.isDirectory });
}
entries.sort((a, b) =>
  url.searchParams.get("sort") === "size"
    ? b.size - a.size || (a.name < b.name ? -1 : 1)
    : a.name < b.name
    ? -1
    : 1
);
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const rows = entries.map((e) => `<li>${escape(e.name)}${e.dir ? "/" : ""} (${e.size} bytes)</li>`)
  .join("\n");
const html = `<html><head><title>Directory listing</title></head>
<body><h1>Files in ${escape(url.pathname)}</h1>
<p>Method: ${escape(request.method)}, ${entries.length} entries</p>
<ul>
${rows}
</ul>
</body></html>
`;
await writeCgiResponse(
  new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } }),
);
