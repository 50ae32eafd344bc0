/**
 * nntplib-example-2.py from the classic network protocols chapter: read the
 * overview of a newsgroup and download every article whose subject holds a
 * keyword, printing its author, subject and length in lines.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read cli/examples/nntp_download_articles.ts [HOST] [PORT] [GROUP] [KEYWORD] [CAFILE]
 * ```
 *
 * Defaults: 127.0.0.1, port 1119 (the test bed's INN), comp.lang.python,
 * "python". With CAFILE the session is upgraded with STARTTLS and the
 * certificate checked against it; without, it stays in clear.
 *
 * @module
 */
import { NntpClient } from "../../mail/nntp_client.ts";

const [host = "127.0.0.1", port = "1119", group = "comp.lang.python", keyword = "python", caFile] =
  Deno.args;
const caCerts = caFile === undefined ? undefined : [await Deno.readTextFile(caFile)];

await using server = await NntpClient.connect({
  hostname: host,
  port: Number(port),
  tls: caCerts === undefined ? false : undefined,
  requireTls: caCerts !== undefined,
  caCerts,
});
const { low, high } = await server.group(group);
// The overview is read whole first: one command at a time on the connection.
const items = await (await server.over({ from: low, to: high })).toArray();
for (const { number, subject, from } of items) {
  if (subject.toLowerCase().includes(keyword.toLowerCase())) {
    const text = await (await server.article(number)).text();
    console.log(from);
    console.log(subject);
    console.log(text.split("\r\n").length - 1, "lines in article");
  }
}
