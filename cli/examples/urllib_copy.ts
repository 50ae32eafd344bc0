/**
 * urllib-example-1.py from the classic network protocols chapter: fetch a
 * URL, copy its body to a file as it streams, then print the response
 * headers and how many bytes came from which URL (the final one, after
 * redirects).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-write cli/examples/urllib_copy.ts [URL] [FILE]
 * ```
 *
 * Defaults: http://127.0.0.1:8080/ (the test bed's nginx), out.html.
 *
 * @module
 */
import { urlopen } from "../../url/urlopen.ts";

const [url = "http://127.0.0.1:8080/", out = "out.html"] = Deno.args;

const fp = await urlopen(url);
const file = await Deno.open(out, { write: true, create: true, truncate: true });
const op = file.writable.getWriter();
let n = 0;
for await (const s of fp.body ?? []) {
  await op.write(s);
  n += s.length;
}
await op.close();

for (const [k, v] of fp.headers) console.log(k, "=", v);
console.log("copied", n, "bytes from", fp.url);
