/**
 * The classic ftplib-example-2.py ("Using the ftplib module to retrieve
 * files"): `gettext` prints a text file line by line (ftplib's
 * `retrlines`, TYPE A), `getbinary` copies a file's bytes as they are
 * (`retrbinary`).
 *
 *   deno run --allow-net=127.0.0.1 cli/examples/ftp_retrieve_files.ts [host] [port]
 *
 * @module
 */
import { FtpClient } from "../../net/ftp_client.ts";

async function gettext(ftp: FtpClient, filename: string): Promise<void> {
  for await (const line of await ftp.downloadLines(filename)) console.log(line);
}

async function getbinary(ftp: FtpClient, filename: string): Promise<void> {
  await (await ftp.download(filename)).pipeTo(Deno.stdout.writable, { preventClose: true });
}

const [host = "127.0.0.1", port = "21"] = Deno.args;
await using ftp = await FtpClient.connect({ hostname: host, port: Number(port) });
await ftp.login("anonymous", "ftplib-example-2");
await gettext(ftp, "README");
await getbinary(ftp, "welcome.msg");
await ftp.quit();
