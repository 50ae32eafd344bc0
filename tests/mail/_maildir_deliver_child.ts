/**
 * The child process of the kill -9 test: delivers one message into the
 * Maildir store at `Deno.args[0]`, prints `delivered <uid>` once
 * `deliver()` resolved, and then waits to be killed.
 *
 * @module
 */
import { MaildirStore } from "../../mail/maildir_store.ts";

const [root, size] = Deno.args;
const store = new MaildirStore(root!);
const line = "The quick brown fox jumps over the lazy dog 0123456789\r\n";
const body = "Subject: survives kill -9\r\n\r\n" +
  line.repeat(Math.ceil(Number(size) / line.length));
const { uid } = await store.deliver("mulder", "INBOX", new TextEncoder().encode(body));
await Deno.stdout.write(new TextEncoder().encode(`delivered ${uid}\n`));
// Never close the store: the parent kills this process with SIGKILL.
setInterval(() => {}, 1000);
