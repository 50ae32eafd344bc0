/**
 * nntplib-example-1.py from the classic network protocols chapter: select a
 * newsgroup, read the overview of all its articles, print the ones by one
 * author, and count the distinct authors and subjects.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read cli/examples/nntp_list_articles.ts [HOST] [PORT] [GROUP] [AUTHOR] [CAFILE]
 * ```
 *
 * Defaults: 127.0.0.1, port 1119 (the test bed's INN), comp.lang.python,
 * guido@example.test. With CAFILE the session is upgraded with STARTTLS and
 * the certificate checked against it; without, it stays in clear.
 *
 * @module
 */
import { NntpClient } from "../../mail/nntp_client.ts";

const [
  host = "127.0.0.1",
  port = "1119",
  group = "comp.lang.python",
  author = "guido@example.test",
  caFile,
] = Deno.args;
const caCerts = caFile === undefined ? undefined : [await Deno.readTextFile(caFile)];

await using server = await NntpClient.connect({
  hostname: host,
  port: Number(port),
  tls: caCerts === undefined ? false : undefined,
  requireTls: caCerts !== undefined,
  caCerts,
});
const { count, low, high } = await server.group(group);
console.log("count", "=>", count);
console.log("range", "=>", low, high);

const authors = new Set<string>();
const subjects = new Set<string>();
for await (const { number, subject, from } of await server.over({ from: low, to: high })) {
  authors.add(from);
  subjects.add(subject.startsWith("Re: ") ? subject.slice(4) : subject);
  if (from.includes(author)) console.log(number, subject);
}
console.log("authors", "=>", authors.size);
console.log("subjects", "=>", subjects.size);
