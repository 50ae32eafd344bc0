/**
 * The classic ftplib-example-3.py ("Using the ftplib module to store
 * files"): upload files, as text (TYPE A, ftplib's `storlines`) or as
 * binary (`storbinary`) depending on the extension.
 *
 *   deno run --allow-net=127.0.0.1 --allow-read cli/examples/ftp_store_files.ts [host] [port] [file...]
 *
 * @module
 */
import { FtpClient } from "../../net/ftp_client.ts";

async function upload(ftp: FtpClient, file: string): Promise<void> {
  const ext = file.slice(file.lastIndexOf("."));
  const text = [".txt", ".htm", ".html"].includes(ext);
  await ftp.upload(file, (await Deno.open(file)).readable, { type: text ? "A" : "I" });
}

const [host = "127.0.0.1", port = "21", ...files] = Deno.args;
await using ftp = await FtpClient.connect({ hostname: host, port: Number(port) });
await ftp.login("mulder", "trustno1");
for (const file of files.length > 0 ? files : ["trixie.zip", "file.txt", "sightings.jpg"]) {
  await upload(ftp, file);
}
await ftp.quit();
