/**
 * nntplib-example-3.py from the classic network protocols chapter: pick a
 * random article number in a newsgroup (trying again when that article is
 * gone), parse the article as a message, and print its header fields and
 * body.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read cli/examples/nntp_random_article.ts [HOST] [PORT] [GROUP] [CAFILE]
 * ```
 *
 * Defaults: 127.0.0.1, port 1119 (the test bed's INN), comp.lang.python.
 * With CAFILE the session is upgraded with STARTTLS and the certificate
 * checked against it; without, it stays in clear.
 *
 * @module
 */
import { NntpClient } from "../../mail/nntp_client.ts";
import { NntpReplyError } from "../../mail/nntp_reply_error.ts";

const [host = "127.0.0.1", port = "1119", group = "comp.lang.python", caFile] = Deno.args;
const caCerts = caFile === undefined ? undefined : [await Deno.readTextFile(caFile)];

await using server = await NntpClient.connect({
  hostname: host,
  port: Number(port),
  tls: caCerts === undefined ? false : undefined,
  requireTls: caCerts !== undefined,
  caCerts,
});
const { low, high } = await server.group(group);
let article;
for (let i = 0; i < 10 && article === undefined; i++) {
  try {
    article = await server.article(low + Math.floor(Math.random() * (high - low + 1)));
  } catch (error) {
    if (!(error instanceof NntpReplyError)) throw error; // no such article (maybe it was deleted?)
  }
}
if (article === undefined) Deno.exit(1);
const message = await article.message();
for (const [k, v] of message.headers) console.log(k.toLowerCase(), "=", v);
console.log(message.textBody ?? "");
