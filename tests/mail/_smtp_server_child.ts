/**
 * The child process of the SMTP kill -9 test: an SmtpServer delivering
 * into a MaildirStore at `Deno.args[0]`; prints its port, then serves until
 * it is killed.
 *
 * @module
 */
import { MaildirStore } from "../../mail/maildir_store.ts";
import { SmtpServer } from "../../mail/smtp_server.ts";

const store = new MaildirStore(Deno.args[0]!);
const server = new SmtpServer({ store, catchAll: "mulder" });
await Deno.stdout.write(new TextEncoder().encode(`${server.addr.port}\n`));
// Never shut down: the parent kills this process with SIGKILL.
await server.finished;
