/**
 * FtpClient.ensureDir(), uploadDir() and downloadDir() against the loopback
 * test server: trees both ways, MLSD and LIST, and the RELIABILITY.md rule
 * that hostile listing names (`../x`, `/etc/x`) are refused when mirroring.
 */
import { FtpClient } from "../../net/ftp_client.ts";
import { FtpReplyError } from "../../net/ftp_reply_error.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../_helpers/assert.ts";
import { startTestFtpServer } from "./_ftp_test_server.ts";
import { dataPeer, epsv, LOGIN, scripted } from "./_ftp_script.ts";

const decoder = new TextDecoder();

async function tempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "inetkit-ftp-mirror-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function login(port: number, mlsd = true): Promise<FtpClient> {
  const ftp = await FtpClient.connect({ port, user: "mulder", password: "trustno1" });
  if (!mlsd) assert(!ftp.features.has("MLST"));
  return ftp;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("FtpClient.ensureDir() creates each missing level and restores the working directory", async () => {
  await using server = startTestFtpServer({ dirs: ["/upload"] });
  await using ftp = await login(server.port);
  await ftp.cwd("upload");
  assertEquals(await ftp.ensureDir("a/b/c"), "/upload/a/b/c");
  assert(server.dirs.has("/upload/a/b/c"));
  assertEquals(await ftp.pwd(), "/upload");
  // Existing levels are entered, not created again.
  assertEquals(await ftp.ensureDir("/upload/a/b/d"), "/upload/a/b/d");
  assertEquals(server.commands.filter((c) => c.startsWith("MKD")), [
    "MKD a",
    "MKD b",
    "MKD c",
    "MKD d",
  ]);
  assertEquals(await ftp.pwd(), "/upload");
});

Deno.test("FtpClient.uploadDir() copies a local tree and downloadDir() brings it back", async () => {
  await tempDir(async (dir) => {
    await Deno.mkdir(`${dir}/src/sub/deeper`, { recursive: true });
    await Deno.writeTextFile(`${dir}/src/a.txt`, "alpha\n");
    await Deno.writeFile(`${dir}/src/sub/b.bin`, new Uint8Array([0, 1, 2, 255]));
    await Deno.writeTextFile(`${dir}/src/sub/deeper/c with space.txt`, "gamma");
    await Deno.symlink(`${dir}/src/a.txt`, `${dir}/src/link.txt`);
    for (const mlsd of [true, false]) {
      await using server = startTestFtpServer({ dirs: ["/upload"], mlsd });
      await using ftp = await login(server.port, mlsd);
      const up = await ftp.uploadDir(`${dir}/src`, "/upload/tree");
      assertEquals(up, { files: 3, directories: 2, bytes: 15 });
      assertEquals(decoder.decode(server.files.get("/upload/tree/a.txt")), "alpha\n");
      assertEquals(server.files.get("/upload/tree/sub/b.bin"), new Uint8Array([0, 1, 2, 255]));
      assert(!server.files.has("/upload/tree/link.txt"), "symlinks are skipped");
      const target = `${dir}/back-${mlsd}`;
      const down = await ftp.downloadDir("/upload/tree", target);
      assertEquals(down, { files: 3, directories: 2, bytes: 15 });
      assertEquals(await Deno.readTextFile(`${target}/a.txt`), "alpha\n");
      assertEquals(await Deno.readFile(`${target}/sub/b.bin`), new Uint8Array([0, 1, 2, 255]));
      assertEquals(await Deno.readTextFile(`${target}/sub/deeper/c with space.txt`), "gamma");
      // Times come from the listing: exact from MLSD, the day from an old LIST line.
      assertEquals(
        (await Deno.stat(`${target}/a.txt`)).mtime?.toISOString(),
        mlsd ? "2023-11-14T22:13:20.000Z" : "2023-11-14T00:00:00.000Z",
      );
      assertEquals(server.commands.some((c) => c.startsWith("MLSD")), mlsd);
    }
  });
});

for (const hostile of ["../x", "/etc/x", ". .", "C:x", "a\\b", "... "]) {
  Deno.test(`FtpClient.downloadDir() refuses the hostile listing name ${JSON.stringify(hostile)} before writing`, async () => {
    await tempDir(async (dir) => {
      const line = (name: string) => `-rw-r--r--    1 0 0 5 Nov 14  2023 ${name}\r\n`;
      await using server = startTestFtpServer({
        mlsd: false,
        files: { "/evil/fine.txt": "fine!", "/evil/x": "pwned" },
        listings: { "/evil": line("fine.txt") + line(hostile) },
      });
      await using ftp = await login(server.port, false);
      const error = await assertRejects(
        () => ftp.downloadDir("/evil", `${dir}/out`),
        ProtocolError,
      );
      assertEquals(error.code, "UNSAFE_LISTING_NAME");
      assertStringIncludes(error.message, JSON.stringify(hostile));
      // Nothing of that directory was written, not even the fine file.
      assertEquals(await exists(`${dir}/out/fine.txt`), false);
      assertEquals(await exists(`${dir}/x`), false);
      assertEquals(server.commands.filter((c) => c.startsWith("RETR")), []);
      // The session is fine.
      assertEquals((await ftp.noop()).code, 200);
    });
  });
}

Deno.test("FtpClient.downloadDir() stops at maxDepth", async () => {
  await tempDir(async (dir) => {
    await using server = startTestFtpServer({ files: { "/a/b/c/file.txt": "x" } });
    await using ftp = await login(server.port);
    const error = await assertRejects(
      () => ftp.downloadDir("/a", `${dir}/out`, { maxDepth: 1 }),
      ProtocolError,
    );
    assertEquals(error.code, "TOO_DEEP");
    const done = await ftp.downloadDir("/a", `${dir}/out2`, { maxDepth: 2 });
    assertEquals(done.files, 1);
  });
});

const listLine = (name: string, size: number) =>
  `-rw-r--r--    1 0 0 ${size} Nov 14  2023 ${name}\r\n`;

Deno.test("FtpClient.downloadDir() sends one LIST, TYPE I once, then only EPSV and RETR per file", async () => {
  await tempDir(async (dir) => {
    const listing = dataPeer();
    const first = dataPeer();
    const second = dataPeer();
    const { peer, ftp } = scripted([
      ...LOGIN,
      { expect: "TYPE A\r\n" },
      { send: "200 Switching to ASCII mode.\r\n" },
      { expect: "EPSV\r\n" },
      { send: epsv(listing.port) },
      { expect: "LIST /d\r\n" },
      { send: "150 Here comes the directory listing.\r\n" },
      { sleep: 30 },
      { send: "226 Directory send OK.\r\n" },
      { expect: "TYPE I\r\n" },
      { send: "200 Switching to Binary mode.\r\n" },
      { expect: "EPSV\r\n" },
      { send: epsv(first.port) },
      { expect: "RETR /d/a.txt\r\n" },
      { send: "150 Opening BINARY mode data connection for /d/a.txt (5 bytes).\r\n" },
      { sleep: 30 },
      { send: "226 Transfer complete.\r\n" },
      { expect: "EPSV\r\n" },
      { send: epsv(second.port) },
      { expect: "RETR /d/b.txt\r\n" },
      // The final reply may come with the preliminary one, before the data.
      { send: "150 Opening BINARY mode data connection for /d/b.txt (6 bytes).\r\n" },
      { send: "226 Transfer complete.\r\n" },
      { expect: "NOOP\r\n" },
      { send: "200 NOOP ok.\r\n" },
    ]);
    await ftp.login();
    const served = [
      listing.send(listLine("a.txt", 5) + listLine("b.txt", 6)),
      first.send("alpha"),
      second.send("bravo!", 20),
    ];
    const result = await ftp.downloadDir("/d", `${dir}/out`);
    await Promise.all(served);
    assertEquals(result, { files: 2, directories: 0, bytes: 11 });
    assertEquals(await Deno.readTextFile(`${dir}/out/a.txt`), "alpha");
    assertEquals(await Deno.readTextFile(`${dir}/out/b.txt`), "bravo!");
    assertEquals(
      (await Deno.stat(`${dir}/out/b.txt`)).mtime?.toISOString(),
      "2023-11-14T00:00:00.000Z",
    );
    assertEquals((await ftp.noop()).code, 200);
    await peer.done;
    ftp.close();
  });
});

Deno.test("FtpClient.downloadDir() keeps the session when the server fails a small file after its data (426)", async () => {
  await tempDir(async (dir) => {
    const listing = dataPeer();
    const data = dataPeer();
    const { peer, ftp } = scripted([
      ...LOGIN,
      { expect: "TYPE A\r\n" },
      { send: "200 ok\r\n" },
      { expect: "EPSV\r\n" },
      { send: epsv(listing.port) },
      { expect: "LIST /d\r\n" },
      { send: "150 ok\r\n" },
      { sleep: 30 },
      { send: "226 ok\r\n" },
      { expect: "TYPE I\r\n" },
      { send: "200 ok\r\n" },
      { expect: "EPSV\r\n" },
      { send: epsv(data.port) },
      { expect: "RETR /d/a.txt\r\n" },
      { send: "150 ok\r\n" },
      { sleep: 30 },
      { send: "426 Failure writing network stream.\r\n" },
      { expect: "NOOP\r\n" },
      { send: "200 ok\r\n" },
    ]);
    await ftp.login();
    const served = [listing.send(listLine("a.txt", 5)), data.send("alp")];
    const error = await assertRejects(() => ftp.downloadDir("/d", `${dir}/out`), FtpReplyError);
    await Promise.all(served);
    assertEquals(error.code, 426);
    assertEquals(await exists(`${dir}/out/a.txt`), false);
    assertEquals((await ftp.noop()).code, 200);
    await peer.done;
    ftp.close();
  });
});

Deno.test("FtpClient.downloadDir() mirrors files whose listed sizes are wrong", async () => {
  await tempDir(async (dir) => {
    // 2 MiB and a bit behind a listing of 5 bytes: more than the mirror
    // reads into memory, so the rest goes to the file as it comes.
    const big = new Uint8Array(2 * 1024 * 1024 + 3).map((_, i) => (i * 7) & 255);
    await using server = startTestFtpServer({
      mlsd: false,
      files: { "/d/big.bin": big, "/d/small.txt": "tiny" },
      listings: { "/d": listLine("big.bin", 5) + listLine("small.txt", 4000) },
    });
    await using ftp = await login(server.port, false);
    const sizes: [string, number][] = [];
    const result = await ftp.downloadDir("/d", `${dir}/out`, {
      onFile: (path, size) => sizes.push([path.slice(dir.length), size]),
    });
    assertEquals(result, { files: 2, directories: 0, bytes: big.length + 4 });
    assertEquals(await Deno.readFile(`${dir}/out/big.bin`), big);
    // A listing that promised more than came is fine too.
    assertEquals(await Deno.readTextFile(`${dir}/out/small.txt`), "tiny");
    assertEquals(sizes.sort(), [["/out/big.bin", big.length], ["/out/small.txt", 4]]);
    assertEquals((await ftp.noop()).code, 200);
  });
});

Deno.test("FtpClient.downloadDir() writes a file larger than listed as it comes, not held whole (RELIABILITY: flat memory)", async () => {
  await tempDir(async (dir) => {
    const listing = dataPeer();
    const data = dataPeer();
    const { peer, ftp } = scripted([
      ...LOGIN,
      { expect: "TYPE A\r\n" },
      { send: "200 ok\r\n" },
      { expect: "EPSV\r\n" },
      { send: epsv(listing.port) },
      { expect: "LIST /d\r\n" },
      { send: "150 ok\r\n" },
      { sleep: 30 },
      { send: "226 ok\r\n" },
      { expect: "TYPE I\r\n" },
      { send: "200 ok\r\n" },
      { expect: "EPSV\r\n" },
      { send: epsv(data.port) },
      { expect: "RETR /d/liar.bin\r\n" },
      // The final reply may come early; the data still runs to its end.
      { send: "150 ok\r\n226 Transfer complete.\r\n" },
      { expect: "NOOP\r\n" },
      { send: "200 ok\r\n" },
    ]);
    await ftp.login();
    const listed = listing.send(listLine("liar.bin", 10));
    const first = new Uint8Array(1024 * 1024 + 4096).fill(1);
    const serve = async () => {
      const conn = await data.accept();
      try {
        for (let at = 0; at < first.length;) at += await conn.write(first.subarray(at));
        // The server holds the rest back until the client has written what
        // came to the file: a mirror holding the file whole never would.
        const path = `${dir}/out/liar.bin`;
        for (let i = 0; i < 500; i++) {
          const size = await Deno.stat(path).then((s) => s.size, () => 0);
          if (size > 1024 * 1024) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        const size = await Deno.stat(path).then((s) => s.size, () => 0);
        await conn.write(new Uint8Array([2, 3]));
        return size;
      } finally {
        conn.close();
      }
    };
    const serving = serve();
    const mirroring = ftp.downloadDir("/d", `${dir}/out`);
    const written = await serving;
    const result = await mirroring;
    await listed;
    assert(written > 1024 * 1024, `only ${written} bytes were on disk mid-transfer`);
    assertEquals(result, { files: 1, directories: 0, bytes: first.length + 2 });
    const back = await Deno.readFile(`${dir}/out/liar.bin`);
    assertEquals(back.length, first.length + 2);
    assertEquals([...back.subarray(first.length - 1)], [1, 2, 3]);
    assertEquals((await ftp.noop()).code, 200);
    await peer.done;
    ftp.close();
  });
});
