/**
 * poplib-example-1.py from the classic network protocols chapter: log in to
 * a POP3 server, list the mailbox, download a random message, and print its
 * header fields and body.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read cli/examples/poplib_random_message.ts [HOST] [PORT] [USER] [PASSWORD] [CAFILE]
 * ```
 *
 * Defaults: 127.0.0.1, port 1110 (the test bed's Dovecot), mulder / trustno1.
 * With CAFILE the session is upgraded with STLS and the certificate checked
 * against it; without, it stays in clear, which the client allows only to a
 * loopback address.
 *
 * @module
 */
import { parseMessage } from "../../mail/message.ts";
import { Pop3Client } from "../../mail/pop3_client.ts";

const [host = "127.0.0.1", port = "1110", user = "mulder", password = "trustno1", caFile] =
  Deno.args;
const caCerts = caFile === undefined ? undefined : [await Deno.readTextFile(caFile)];

await using server = await Pop3Client.connect({
  hostname: host,
  port: Number(port),
  starttls: caCerts !== undefined,
  caCerts,
  credentials: { username: user, password },
});
const items = await server.list();
const { number } = items[Math.floor(Math.random() * items.length)]!;
const message = await parseMessage(await server.retr(number));
for (const [k, v] of message.headers) console.log(k.toLowerCase(), "=", v);
console.log(message.textBody ?? "");
