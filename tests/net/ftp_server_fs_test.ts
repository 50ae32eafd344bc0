/**
 * FtpDirectoryFileSystem: virtual paths under a real directory, symlinks
 * checked with realPath against the real root, uploads through a
 * temporary file, the listing cap.
 */
import { FtpDirectoryFileSystem } from "../../net/ftp_server.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertThrows,
} from "../_helpers/assert.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function withRoot(fn: (root: string, fs: FtpDirectoryFileSystem) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "inetkit_ftp_fs_" });
  try {
    await Deno.mkdir(`${root}/dir`);
    await Deno.writeTextFile(`${root}/dir/a.txt`, "aaaa");
    await Deno.writeTextFile(`${root}/b.txt`, "bb");
    await fn(root, new FtpDirectoryFileSystem(root));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function readAll(fs: FtpDirectoryFileSystem, path: string, offset = 0): Promise<string> {
  const file = await fs.openRead(path, offset);
  const buf = new Uint8Array(1024);
  let text = "";
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n));
  }
  file.close();
  return text;
}

async function list(fs: FtpDirectoryFileSystem, path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of fs.list(path)) out.push(`${entry.type}:${entry.name}:${entry.size}`);
  return out;
}

Deno.test("FtpDirectoryFileSystem.stat() describes files, directories and the root", async () => {
  await withRoot(async (root, fs) => {
    const file = await fs.stat("/dir/a.txt");
    assertEquals(file?.name, "a.txt");
    assertEquals(file?.type, "file");
    assertEquals(file?.size, 4);
    assertEquals(file?.mode, (await Deno.stat(`${root}/dir/a.txt`)).mode! & 0o7777);
    assertMatch(file?.unique ?? "", /^[0-9a-f]+g[0-9a-f]+$/);
    assertEquals((await fs.stat("/dir"))?.type, "directory");
    assertEquals((await fs.stat("/"))?.name, "/");
    assertEquals(await fs.stat("/missing"), null);
    assertEquals(await fs.stat("/b.txt/x"), null);
  });
});

Deno.test("FtpDirectoryFileSystem refuses paths that are not normalised with TypeError", async () => {
  await withRoot(async (_root, fs) => {
    for (const path of ["dir", "/dir/../b.txt", "/./b.txt", "//b.txt", "/dir/", "/a\\b", "/a\0"]) {
      await assertRejects(() => fs.stat(path), TypeError, "not normalised", path);
    }
  });
});

Deno.test("FtpDirectoryFileSystem.list() sorts entries, follows inside links and skips the rest", async () => {
  await withRoot(async (root, fs) => {
    const outside = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${outside}/x`, "x");
      await Deno.symlink(outside, `${root}/out-dir`);
      await Deno.symlink(`${outside}/x`, `${root}/out-file`);
      await Deno.symlink(`${root}/nowhere`, `${root}/dangling`);
      await Deno.symlink("dir/a.txt", `${root}/in-file`);
      await Deno.symlink("dir", `${root}/in-dir`);
      await Deno.writeTextFile(`${root}/bad\nname`, "x");
      assertEquals(await list(fs, "/"), [
        "file:b.txt:2",
        "directory:dir:0",
        "directory:in-dir:0",
        "file:in-file:4",
      ]);
      assertEquals(await list(fs, "/in-dir"), ["file:a.txt:4"]);
      await assertRejects(() => list(fs, "/out-dir"), Deno.errors.NotFound);
      await assertRejects(() => list(fs, "/b.txt"), Deno.errors.NotADirectory);
      await assertRejects(() => list(fs, "/missing"), Deno.errors.NotFound);
      await assertRejects(() => fs.openRead("/out-file", 0), Deno.errors.NotFound);
      await assertRejects(() => fs.openRead("/dangling", 0), Deno.errors.NotFound);
      assertEquals(await readAll(fs, "/in-file"), "aaaa");
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});

Deno.test("FtpDirectoryFileSystem refuses a root whose real path escapes through a symlinked parent", async () => {
  await withRoot(async (root, fs) => {
    const outside = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${outside}/sub`);
      await Deno.writeTextFile(`${outside}/sub/f`, "outside");
      await Deno.symlink(outside, `${root}/dir/link`);
      await assertRejects(() => fs.openRead("/dir/link/sub/f", 0), Deno.errors.NotFound);
      await assertRejects(
        () => fs.openWrite("/dir/link/sub/new", { mode: "replace" }),
        Deno.errors.NotFound,
      );
      await assertRejects(() => fs.mkdir("/dir/link/sub/d"), Deno.errors.NotFound);
      await assertRejects(() => fs.remove("/dir/link/sub/f"), Deno.errors.NotFound);
      await assertRejects(() => fs.rename("/b.txt", "/dir/link/b.txt"), Deno.errors.NotFound);
      assertEquals(await Deno.readTextFile(`${outside}/sub/f`), "outside");
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});

Deno.test("FtpDirectoryFileSystem serves a root that is itself a symlink", async () => {
  await withRoot(async (root) => {
    const link = `${root}-link`;
    await Deno.symlink(root, link);
    try {
      const fs = new FtpDirectoryFileSystem(link);
      assertEquals(await readAll(fs, "/dir/a.txt"), "aaaa");
      assertEquals(await list(fs, "/dir"), ["file:a.txt:4"]);
    } finally {
      await Deno.remove(link);
    }
  });
});

Deno.test("FtpDirectoryFileSystem.openRead() starts at the offset and refuses directories", async () => {
  await withRoot(async (_root, fs) => {
    assertEquals(await readAll(fs, "/dir/a.txt", 1), "aaa");
    assertEquals(await readAll(fs, "/dir/a.txt", 4), "");
    await assertRejects(() => fs.openRead("/dir", 0), Deno.errors.IsADirectory);
    await assertRejects(() => fs.openRead("/missing", 0), Deno.errors.NotFound);
  });
});

Deno.test("FtpDirectoryFileSystem replace mode writes a temporary file and renames it on commit only", async () => {
  await withRoot(async (root, fs) => {
    const writer = await fs.openWrite("/b.txt", { mode: "replace" });
    await writer.write(encoder.encode("new content"));
    const during = [];
    for await (const e of Deno.readDir(root)) during.push(e.name);
    assert(during.some((n) => /^\.inetkit-upload-[0-9a-f]{16}$/.test(n)), String(during));
    assertEquals(await Deno.readTextFile(`${root}/b.txt`), "bb");
    await writer.commit();
    assertEquals(await Deno.readTextFile(`${root}/b.txt`), "new content");
    const aborted = await fs.openWrite("/b.txt", { mode: "replace" });
    await aborted.write(encoder.encode("half"));
    await aborted.abort();
    assertEquals(await Deno.readTextFile(`${root}/b.txt`), "new content");
    const fresh = await fs.openWrite("/dir/fresh.txt", { mode: "replace" });
    await fresh.abort();
    const after = [];
    for await (const e of Deno.readDir(`${root}/dir`)) after.push(e.name);
    assertEquals(after.sort(), ["a.txt"]);
    const names = [];
    for await (const e of Deno.readDir(root)) names.push(e.name);
    assertEquals(names.sort(), ["b.txt", "dir"]);
  });
});

Deno.test("FtpDirectoryFileSystem append and offset modes write into the file itself", async () => {
  await withRoot(async (root, fs) => {
    const append = await fs.openWrite("/b.txt", { mode: "append" });
    await append.write(encoder.encode("cc"));
    await append.abort();
    assertEquals(await Deno.readTextFile(`${root}/b.txt`), "bbcc");
    const offset = await fs.openWrite("/b.txt", { mode: "offset", offset: 1 });
    await offset.write(encoder.encode("XY"));
    await offset.commit();
    assertEquals(await Deno.readTextFile(`${root}/b.txt`), "bXYc");
    const created = await fs.openWrite("/new.txt", { mode: "append" });
    await created.write(encoder.encode("n"));
    await created.commit();
    assertEquals(await Deno.readTextFile(`${root}/new.txt`), "n");
    await assertRejects(() => fs.openWrite("/dir", { mode: "append" }), Deno.errors.IsADirectory);
    await assertRejects(() => fs.openWrite("/nope/x", { mode: "replace" }), Deno.errors.NotFound);
  });
});

Deno.test("FtpDirectoryFileSystem writes through a symlink only when it stays inside the root", async () => {
  await withRoot(async (root, fs) => {
    const outside = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${outside}/t`, "target");
      await Deno.symlink(`${outside}/t`, `${root}/out`);
      await Deno.symlink(`${outside}/none`, `${root}/dangling`);
      await Deno.symlink("b.txt", `${root}/in`);
      for (const mode of ["replace", "append", "offset"] as const) {
        await assertRejects(() => fs.openWrite("/out", { mode }), Deno.errors.PermissionDenied);
        await assertRejects(
          () => fs.openWrite("/dangling", { mode }),
          Deno.errors.PermissionDenied,
        );
      }
      const inside = await fs.openWrite("/in", { mode: "replace" });
      await inside.write(encoder.encode("via link"));
      await inside.commit();
      assertEquals(await Deno.readTextFile(`${root}/b.txt`), "via link");
      assert((await Deno.lstat(`${root}/in`)).isSymlink);
      assertEquals(await Deno.readTextFile(`${outside}/t`), "target");
      const names = [];
      for await (const e of Deno.readDir(outside)) names.push(e.name);
      assertEquals(names, ["t"]);
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});

Deno.test("FtpDirectoryFileSystem mkdir, rmdir, remove and rename", async () => {
  await withRoot(async (root, fs) => {
    await fs.mkdir("/dir/sub");
    assert((await Deno.stat(`${root}/dir/sub`)).isDirectory);
    await assertRejects(() => fs.mkdir("/dir/sub"), Deno.errors.AlreadyExists);
    await assertRejects(() => fs.rmdir("/dir"), Error);
    await assertRejects(() => fs.rmdir("/b.txt"), Deno.errors.NotADirectory);
    await assertRejects(() => fs.remove("/dir"), Deno.errors.IsADirectory);
    await fs.rename("/b.txt", "/dir/sub/c.txt");
    assertEquals(await Deno.readTextFile(`${root}/dir/sub/c.txt`), "bb");
    await fs.remove("/dir/sub/c.txt");
    await fs.rmdir("/dir/sub");
    await assertRejects(() => fs.rename("/missing", "/x"), Deno.errors.NotFound);
    for (const op of [() => fs.mkdir("/"), () => fs.rmdir("/"), () => fs.remove("/")]) {
      await assertRejects(op, Deno.errors.PermissionDenied);
    }
    await assertRejects(() => fs.rename("/", "/x"), Deno.errors.PermissionDenied);
  });
});

Deno.test("FtpDirectoryFileSystem caps the entries of one listing", async () => {
  await withRoot(async (root) => {
    for (let i = 0; i < 5; i++) await Deno.writeTextFile(`${root}/dir/f${i}`, "");
    const fs = new FtpDirectoryFileSystem(root, { maxListEntries: 5 });
    await assertRejects(() => list(fs, "/dir"), RangeError, "more than 5 entries");
    const roomy = new FtpDirectoryFileSystem(root, { maxListEntries: 6 });
    assertEquals((await list(roomy, "/dir")).length, 6);
  });
  assertThrows(() => new FtpDirectoryFileSystem("/tmp", { maxListEntries: 0 }), RangeError);
});

Deno.test("FtpDirectoryFileSystem reports a missing root as NotFound until it exists", async () => {
  const base = await Deno.makeTempDir();
  try {
    const fs = new FtpDirectoryFileSystem(`${base}/later`);
    await assertRejects(() => fs.openRead("/x", 0), Deno.errors.NotFound);
    await Deno.mkdir(`${base}/later`);
    await Deno.writeTextFile(`${base}/later/x`, "now");
    assertEquals(await readAll(fs, "/x"), "now");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
