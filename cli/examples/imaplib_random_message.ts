/**
 * imaplib-example-1.py from the classic network protocols chapter: log in to
 * an IMAP server, search the inbox, fetch a random message, and print its
 * header fields and body. (EXAMINE instead of SELECT: reading leaves no
 * \Seen flags behind.)
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read cli/examples/imaplib_random_message.ts [HOST] [PORT] [USER] [PASSWORD] [CAFILE]
 * ```
 *
 * Defaults: 127.0.0.1, port 1143 (the test bed's Dovecot), mulder / trustno1.
 * With CAFILE the session is upgraded with STARTTLS and the certificate
 * checked against it; without, it stays in clear, which the client allows
 * only to a loopback address.
 *
 * @module
 */
import { ImapClient } from "../../mail/imap_client.ts";
import { parseMessage } from "../../mail/message.ts";

const [host = "127.0.0.1", port = "1143", user = "mulder", password = "trustno1", caFile] =
  Deno.args;
const caCerts = caFile === undefined ? undefined : [await Deno.readTextFile(caFile)];

await using server = await ImapClient.connect({
  hostname: host,
  port: Number(port),
  starttls: caCerts !== undefined,
  caCerts,
  credentials: { username: user, password },
});
await server.examine("INBOX");
const items = await server.search("ALL");
const id = items[Math.floor(Math.random() * items.length)]!;
const [data] = await server.fetch(id, ["RFC822"]);
const message = await parseMessage(data!.rfc822!.data!);
for (const [k, v] of message.headers) console.log(k.toLowerCase(), "=", v);
console.log(message.textBody ?? "");
await server.logout();
