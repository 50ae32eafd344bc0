/**
 * The classic ftplib-example-1.py ("Using the ftplib module to get a
 * directory listing", the Network Protocols chapter): log in anonymously
 * and print the listing of the login directory.
 *
 *   deno run --allow-net=127.0.0.1 cli/examples/ftp_list_directory.ts [host] [port]
 *
 * @module
 */
import { FtpClient } from "../../net/ftp_client.ts";

const [host = "127.0.0.1", port = "21"] = Deno.args;
await using ftp = await FtpClient.connect({ hostname: host, port: Number(port) });
await ftp.login("anonymous", "ftplib-example-1");
for (const line of await ftp.dir()) console.log(line);
await ftp.quit();
