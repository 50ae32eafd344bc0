/**
 * FtpClient.ensureDir(), uploadDir() and downloadDir() against the loopback
 * test server: trees both ways, MLSD and LIST, and the RELIABILITY.md rule
 * that hostile listing names (`../x`, `/etc/x`) are refused when mirroring.
 */
import { FtpClient } from "../../net/ftp_client.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../_helpers/assert.ts";
import { startTestFtpServer } from "./_ftp_test_server.ts";

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
