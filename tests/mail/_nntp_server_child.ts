/**
 * The child process of the kill -9 test: serves the spool at `Deno.args[0]`
 * (group local.test) on a free port, prints `listening <port>`, and waits to
 * be killed; the spool is never closed.
 *
 * @module
 */
import { NewsSpool } from "../../mail/news_spool.ts";
import { NntpServer } from "../../mail/nntp_server.ts";

const spool = await NewsSpool.open(Deno.args[0]!, { groups: ["local.test"] });
const server = new NntpServer({ spool, port: 0 });
await Deno.stdout.write(new TextEncoder().encode(`listening ${server.addr.port}\n`));
await server.finished;
