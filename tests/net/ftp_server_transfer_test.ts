/**
 * FtpServer transfers: aborted uploads leave nothing under the final name,
 * ABOR during RETR and STOR, resumes, large files, the ASCII conversion
 * split at every point, and a backing store other than a directory.
 */
import { MemoryFtpFileSystem } from "../../net/memory_ftp_file_system.ts";
import { FtpServer } from "../../net/ftp_server.ts";
import { crlfToLf, lfToCrlf } from "../../net/_ftp_server_transfer.ts";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { RawFtp, readAllText, serveTree } from "./_ftp_server_client.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

async function names(dir: string): Promise<string[]> {
  const out = [];
  for await (const entry of Deno.readDir(dir)) out.push(entry.name);
  return out.sort();
}

async function waitFor(check: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("Timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("FtpServer: an upload cut off by the client leaves no file under its final name", async () => {
  await using tree = await serveTree({ write: true });
  await Deno.writeTextFile(`${tree.root}/upload/keep.txt`, "old content");
  for (const name of ["fresh.bin", "keep.txt"]) {
    const ftp = await tree.open();
    await ftp.login();
    await ftp.cmd("TYPE I");
    const data = await ftp.passive();
    assertEquals(await ftp.cmd(`STOR upload/${name}`), `150 Ok to send data for /upload/${name}`);
    await data.write(new Uint8Array(100_000).fill(66));
    // The client goes away in the middle: the control connection drops
    // first, then the data connection ends as a complete upload would.
    ftp.close();
    await waitFor(() => tree.server.connections === 0);
    data.close();
    assertEquals(await names(`${tree.root}/upload`), ["keep.txt"]);
    assertEquals(await Deno.readTextFile(`${tree.root}/upload/keep.txt`), "old content");
  }
  const stores = tree.log.filter((l) => l.includes("STOR"));
  assertEquals(stores.length, 2);
  assertMatch(stores[0]!, /"STOR \/upload\/fresh\.bin" 426 \d+$/);
  assertMatch(stores[1]!, /"STOR \/upload\/keep\.txt" 426 \d+$/);
});

Deno.test("FtpServer: ABOR during STOR answers 426 then 226 and removes the partial upload", async () => {
  await using tree = await serveTree({ write: true });
  const ftp = await tree.open();
  await ftp.login();
  const data = await ftp.passive();
  assertEquals(
    await ftp.cmd("STOR upload/partial.bin"),
    "150 Ok to send data for /upload/partial.bin",
  );
  await data.write(new Uint8Array(50_000));
  await waitFor(async () => (await names(`${tree.root}/upload`)).length === 1);
  const [temp] = await names(`${tree.root}/upload`);
  assertMatch(temp!, /^\.inetkit-upload-[0-9a-f]{16}$/);
  await ftp.send("ABOR");
  assertEquals(await ftp.reply(), "426 Connection closed: transfer aborted");
  assertEquals(await ftp.reply(), "226 ABOR successful");
  data.close();
  assertEquals(await names(`${tree.root}/upload`), []);
  assertEquals(await ftp.cmd("NOOP"), "200 NOOP ok");
  assertMatch(tree.log.at(-1)!, /"STOR \/upload\/partial\.bin" 426 \d+$/);
});

Deno.test("FtpServer: an aborted APPE keeps the bytes that arrived, so the client can resume", async () => {
  await using tree = await serveTree({ write: true });
  await Deno.writeTextFile(`${tree.root}/upload/log.txt`, "start:");
  const ftp = await tree.open();
  await ftp.login();
  const data = await ftp.passive();
  await ftp.cmd("APPE upload/log.txt");
  await data.write(encoder.encode("more"));
  await waitFor(async () => (await Deno.stat(`${tree.root}/upload/log.txt`)).size === 10);
  await ftp.send("ABOR");
  assertEquals(await ftp.reply(), "426 Connection closed: transfer aborted");
  assertEquals(await ftp.reply(), "226 ABOR successful");
  data.close();
  assertEquals(await Deno.readTextFile(`${tree.root}/upload/log.txt`), "start:more");
});

Deno.test("FtpServer: ABOR during RETR answers 426 then 226 and the session goes on", async () => {
  await using tree = await serveTree();
  await Deno.writeFile(`${tree.root}/pub/large.bin`, new Uint8Array(32 * 1024 * 1024));
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  const data = await ftp.passive();
  assertEquals(
    await ftp.cmd("RETR pub/large.bin"),
    "150 Opening BINARY mode data connection for /pub/large.bin (33554432 bytes)",
  );
  // Read a little, then stop reading: the server is blocked on backpressure.
  const some = new Uint8Array(65536);
  assert((await data.read(some)) !== null);
  assertMatch(await ftp.cmd("STAT"), /\n Transferring: RETR \/pub\/large\.bin, \d+ bytes so far\n/);
  await ftp.send("ABOR");
  assertEquals(await ftp.reply(), "426 Connection closed: transfer aborted");
  assertEquals(await ftp.reply(), "226 ABOR successful");
  data.close();
  assertEquals(decoder.decode((await ftp.download("RETR pub/hello.txt")).data), "hello, world\n");
  assertEquals(await ftp.cmd("ABOR"), "225 No transfer to abort");
});

Deno.test("FtpServer: an ABOR whose LF went out of band (urgent data) still aborts", async () => {
  await using tree = await serveTree();
  await Deno.writeFile(`${tree.root}/pub/large.bin`, new Uint8Array(32 * 1024 * 1024));
  const ftp = await tree.open();
  await ftp.login();
  const data = await ftp.passive();
  await ftp.cmd("RETR pub/large.bin");
  await data.read(new Uint8Array(1024));
  // Python's ftplib.abort() sends "ABOR\r\n" with MSG_OOB: the LF is the
  // urgent byte, removed from the stream.
  await ftp.write(new Uint8Array([255, 244, 255, 242, ...encoder.encode("ABOR\r")]));
  assertEquals(await ftp.reply(), "426 Connection closed: transfer aborted");
  assertEquals(await ftp.reply(), "226 ABOR successful");
  data.close();
  // A late LF is dropped, not answered as an empty command.
  await ftp.write("\nNOOP\r\n");
  assertEquals(await ftp.reply(), "200 NOOP ok");
});

Deno.test("FtpServer: ABOR while the server waits for the data connection answers 426 then 226", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("PASV");
  await ftp.send("RETR readme.txt");
  await new Promise((resolve) => setTimeout(resolve, 50));
  await ftp.send("ABOR");
  assertEquals(await ftp.reply(), "426 Connection closed: transfer aborted");
  assertEquals(await ftp.reply(), "226 ABOR successful");
});

Deno.test("FtpServer: a client that closes the data connection during RETR gets 426", async () => {
  await using tree = await serveTree();
  await Deno.writeFile(`${tree.root}/pub/large.bin`, new Uint8Array(16 * 1024 * 1024));
  const ftp = await tree.open();
  await ftp.login();
  const data = await ftp.passive();
  await ftp.cmd("RETR pub/large.bin");
  await data.read(new Uint8Array(1024));
  data.close();
  assertEquals(await ftp.reply(), "426 Connection closed: transfer aborted");
  assertEquals(await ftp.cmd("NOOP"), "200 NOOP ok");
});

Deno.test("FtpServer: commands sent during a transfer wait for it; QUIT ends after it", async () => {
  await using tree = await serveTree();
  await Deno.writeFile(`${tree.root}/pub/large.bin`, new Uint8Array(4 * 1024 * 1024).fill(7));
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  const data = await ftp.passive();
  await ftp.cmd("RETR pub/large.bin");
  await ftp.send("SIZE readme.txt");
  await ftp.send("QUIT");
  const body = new Uint8Array(await new Response(data.readable).arrayBuffer());
  assertEquals(body.length, 4 * 1024 * 1024);
  assert(body.every((b) => b === 7));
  assertEquals(await ftp.reply(), "226 Transfer complete");
  assertEquals(await ftp.reply(), "213 36");
  assertEquals(await ftp.reply(), "221 Goodbye");
  assertEquals(await ftp.reply(), "<EOF>");
});

Deno.test("FtpServer: a 64 MiB file goes both ways intact", async () => {
  await using tree = await serveTree({ write: true });
  const size = 64 * 1024 * 1024;
  const pattern = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) pattern[i] = (i / 4096) & 255;
  await Deno.writeFile(`${tree.root}/pub/big.bin`, pattern);
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  const down = await ftp.download("RETR pub/big.bin");
  assertEquals(down.replies[1], "226 Transfer complete");
  assertEquals(down.data.length, size);
  assertEquals(down.data, pattern);
  assertEquals((await ftp.upload("STOR upload/copy.bin", pattern))[1], "226 Transfer complete");
  assertEquals(await Deno.readFile(`${tree.root}/upload/copy.bin`), pattern);
});

Deno.test("lfToCrlf() and crlfToLf() give the same bytes for every split of their input", () => {
  const input = encoder.encode("a\nb\r\n\r\rc\n\n\r");
  const wholeOut = lfToCrlf(input, false)[0];
  assertEquals(decoder.decode(wholeOut), "a\r\nb\r\n\r\rc\r\n\r\n\r");
  const wholeIn = crlfToLf(encoder.encode("a\r\nb\r\r\nc\rd\r\n\r"), false);
  assertEquals(decoder.decode(wholeIn[0]) + (wholeIn[1] ? "\r" : ""), "a\nb\r\nc\rd\n\r");
  const network = encoder.encode("a\r\nb\r\r\nc\rd\r\n\r");
  for (let i = 0; i <= input.length; i++) {
    for (let j = i; j <= input.length; j++) {
      let afterCr = false;
      const parts: number[] = [];
      for (const piece of [input.subarray(0, i), input.subarray(i, j), input.subarray(j)]) {
        const [out, cr] = lfToCrlf(piece, afterCr);
        afterCr = cr;
        parts.push(...out);
      }
      assertEquals(new Uint8Array(parts), wholeOut, `lfToCrlf split at ${i}, ${j}`);
    }
  }
  for (let i = 0; i <= network.length; i++) {
    for (let j = i; j <= network.length; j++) {
      let held = false;
      const parts: number[] = [];
      for (const piece of [network.subarray(0, i), network.subarray(i, j), network.subarray(j)]) {
        const [out, h] = crlfToLf(piece, held);
        held = h;
        parts.push(...out);
      }
      if (held) parts.push(13);
      assertEquals(
        decoder.decode(new Uint8Array(parts)),
        "a\nb\r\nc\rd\n\r",
        `crlfToLf ${i}, ${j}`,
      );
    }
  }
});

Deno.test("FtpServer serves another backing store through the FtpFileSystem interface", async () => {
  const fs = new MemoryFtpFileSystem({ "/notes/a.txt": "memory!" }, {
    now: () => new Date("2024-01-02T03:04:05Z"),
  });
  const errors: unknown[] = [];
  await using server = new FtpServer({
    fileSystem: fs,
    users: [{ user: "u", password: "p" }],
    write: true,
    failureDelay: 0,
    onError: (error) => errors.push(error),
  });
  const { ftp } = await RawFtp.open(server.addr.port);
  try {
    await ftp.login("u", "p");
    await ftp.cmd("TYPE I");
    assertEquals(decoder.decode((await ftp.download("NLST")).data), "notes\r\n");
    assertEquals(decoder.decode((await ftp.download("RETR notes/a.txt")).data), "memory!");
    assertEquals((await ftp.upload("STOR notes/b.txt", "stored"))[1], "226 Transfer complete");
    assertEquals(decoder.decode(fs.files.get("/notes/b.txt")), "stored");
    assertEquals(
      decoder.decode((await ftp.download("LIST notes")).data),
      "-rw-r--r--    1 ftp      ftp             7 Jan  2  2024 a.txt\r\n" +
        "-rw-r--r--    1 ftp      ftp             6 Jan  2  2024 b.txt\r\n",
    );
    assertEquals(await ftp.cmd("RNFR notes/b.txt"), "350 Ready for RNTO");
    assertEquals(await ftp.cmd("RNTO notes/c.txt"), "250 Rename successful");
    assertEquals(await ftp.cmd("DELE notes/zzz"), "550 No such file or directory");
    assertEquals(await ftp.cmd("MDTM notes/c.txt"), "213 20240102030405");
    assertEquals(errors, []);
  } finally {
    ftp.close();
  }
});

Deno.test("FtpServer answers 451 for an unexpected backend error and reports it, not its text", async () => {
  const fs = new MemoryFtpFileSystem({ "/notes/a.txt": "memory!" }, {
    now: () => new Date("2024-01-02T03:04:05Z"),
  });
  fs.stat = () => Promise.reject(new Error("database password is hunter2"));
  const errors: unknown[] = [];
  await using server = new FtpServer({
    fileSystem: fs,
    users: [{ user: "u", password: "p" }],
    failureDelay: 0,
    onError: (error) => errors.push(error),
  });
  const { ftp } = await RawFtp.open(server.addr.port);
  try {
    await ftp.login("u", "p");
    assertEquals(await ftp.cmd("SIZE x"), "451 Local error in processing");
    assertEquals(errors.length, 1);
    assertEquals(await ftp.cmd("NOOP"), "200 NOOP ok");
  } finally {
    ftp.close();
  }
});

Deno.test("FtpServer: a listing that cannot be read is answered before 150", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  await Deno.mkdir(`${tree.root}/locked`, { mode: 0o000 });
  try {
    const listing = await ftp.download("LIST locked");
    if (Deno.uid() === 0) {
      // root reads any directory
      assertEquals(listing.replies[1], "226 Transfer complete");
    } else {
      assertEquals(listing.replies, ["550 Permission denied"]);
    }
  } finally {
    await Deno.chmod(`${tree.root}/locked`, 0o755);
  }
  const data = await ftp.passive();
  assertEquals(await ftp.cmd("NLST upload"), "150 Here comes the directory listing");
  assertEquals(await readAllText(data), "");
  assertEquals(await ftp.reply(), "226 Transfer complete");
});

Deno.test("FtpServer: memory stays flat while 512 MiB stream each way", async () => {
  // In a process of its own: parallel test modules share this one's RSS.
  const child = new URL("./_ftp_memory_child.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", child],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert(output.success, "the transfer process failed");
  const { grown } = JSON.parse(decoder.decode(output.stdout).trim().split("\n").at(-1)!);
  assert(grown < 64, `RSS grew by ${grown.toFixed(1)} MiB while 1 GiB moved`);
});
