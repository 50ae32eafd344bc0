/**
 * Run by ftp_server_transfer_test.ts in a process of its own, so the RSS it
 * measures is this transfer's alone (test modules run in parallel share a
 * process): 512 MiB down and 512 MiB up through FtpServer, printing the
 * peak RSS growth in MiB as JSON.
 */
import { assertEquals } from "../_helpers/assert.ts";
import { serveTree } from "./_ftp_server_client.ts";

{
  await using tree = await serveTree({ write: true });
  const size = 512 * 1024 * 1024;
  {
    const file = await Deno.open(`${tree.root}/pub/huge.bin`, { write: true, create: true });
    await file.truncate(size);
    file.close();
  }
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  const base = Deno.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 20);
  try {
    // Download, read into one small buffer.
    const down = await ftp.passive();
    await ftp.cmd("RETR pub/huge.bin");
    const buf = new Uint8Array(65536);
    let received = 0;
    for (let n = await down.read(buf); n !== null; n = await down.read(buf)) received += n;
    down.close();
    assertEquals(received, size);
    assertEquals(await ftp.reply(), "226 Transfer complete");
    // Upload, written from one small buffer.
    const up = await ftp.passive();
    await ftp.cmd("STOR upload/huge.bin");
    const chunk = new Uint8Array(65536);
    for (let sent = 0; sent < size; sent += chunk.length) {
      let rest = chunk.subarray();
      while (rest.length > 0) rest = rest.subarray(await up.write(rest));
    }
    up.close();
    assertEquals(await ftp.reply(), "226 Transfer complete");
    assertEquals((await Deno.stat(`${tree.root}/upload/huge.bin`)).size, size);
  } finally {
    clearInterval(sampler);
  }
  console.log(JSON.stringify({ grown: (peak - base) / 1024 / 1024 }));
}
