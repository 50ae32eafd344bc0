/**
 * FtpClient, FtpUrlHandler and `inetkit get` against the peers' vsftpd
 * 3.0.3 on 127.0.0.1:2121 (mulder/trustno1, chrooted to $PEERS_DIR/ftp, no
 * MLSD, explicit FTPS with the peers' CA). Everything uploaded goes into a
 * directory of its own under `upload/` and is removed again; the test
 * checks that `upload/` is left as it was found.
 */
import { captureIo } from "../../cli/_command.ts";
import { getCommand } from "../../cli/get.ts";
import { FtpClient, type FtpConnectOptions } from "../../net/ftp_client.ts";
import { FtpReplyError } from "../../net/ftp_reply_error.ts";
import { bytesToHex, md5Digest } from "../../net/md5.ts";
import { buildOpener } from "../../url/build_opener.ts";
import { FtpUrlHandler } from "../../url/ftp_handler.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { PEERS_DIR, peerTest } from "../_helpers/peers.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../_helpers/assert.ts";

const PORT = 2121;
const MD5_1MB_A = "e6065c4aa2ab1603008fc18410f579d4";
const MD5_BYTES_1024 = "b2ea9f7fcea831a4a63b213f41a8855b";
const MTIME = "2023-11-14T22:13:20.000Z";

async function ca(): Promise<string[]> {
  return [await Deno.readTextFile(`${PEERS_DIR}/tls/ca.pem`)];
}

async function connect(options: FtpConnectOptions = {}): Promise<FtpClient> {
  return await FtpClient.connect({
    port: PORT,
    user: "mulder",
    password: "trustno1",
    serverName: "localhost",
    caCerts: await ca(),
    timeout: 10000,
    dataTimeout: 10000,
    ...options,
  });
}

async function md5Of(body: ReadableStream<Uint8Array>): Promise<[number, string]> {
  const bytes = await new Response(body).bytes();
  return [bytes.length, bytesToHex(md5Digest(bytes))];
}

/** A directory of this run's own under upload/, removed (with its files) at the end. */
async function scratch(ftp: FtpClient, fn: (dir: string) => Promise<void>): Promise<void> {
  const before = (await ftp.nlst("upload")).sort();
  const dir = `upload/inetkit-${crypto.randomUUID().slice(0, 8)}`;
  await ftp.mkd(dir);
  try {
    await fn(dir);
  } finally {
    await removeTree(ftp, dir);
    assertEquals((await ftp.nlst("upload")).sort(), before, "upload/ is left as it was found");
  }
}

async function removeTree(ftp: FtpClient, dir: string): Promise<void> {
  for (const entry of await ftp.list(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.type === "directory") await removeTree(ftp, path);
    else await ftp.delete(path);
  }
  await ftp.rmd(dir);
}

peerTest("vsftpd: login, FEAT, SYST, PWD and LIST parsed (no MLSD)", PORT, async () => {
  await using ftp = await connect({ tls: false });
  assert(ftp.loggedIn);
  assertEquals(ftp.greeting, ["(vsFTPd 3.0.3)"]);
  assert(ftp.features.has("EPSV") && ftp.features.has("REST"));
  assert(!ftp.features.has("MLST"));
  assertEquals(await ftp.syst(), "UNIX Type: L8");
  assertEquals(await ftp.pwd(), "/");
  const top = await ftp.list();
  assertEquals(
    top.map((e) => [e.name, e.type]).filter(([name]) => name !== "upload"),
    [["pub", "directory"], ["readme.txt", "file"]],
  );
  const pub = await ftp.list("pub");
  assertEquals(pub.map((e) => [e.name, e.type, e.size]), [
    ["1mb-A.bin", "file", 1048576],
    ["bytes-1024.bin", "file", 1024],
    ["hello.txt", "file", 13],
  ]);
  // An old file in LIST has the day only; MDTM has the exact time.
  assertEquals(pub[2]!.modified?.toISOString(), "2023-11-14T00:00:00.000Z");
  assertEquals(pub[2]!.permissions?.mode, 0o644);
  assertEquals((await ftp.mdtm("pub/hello.txt")).toISOString(), MTIME);
  assertEquals(await ftp.size("pub/1mb-A.bin"), 1048576);
  assertEquals(await ftp.nlst("pub"), ["pub/1mb-A.bin", "pub/bytes-1024.bin", "pub/hello.txt"]);
  assertStringIncludes((await ftp.dir("pub"))[2]!, "hello.txt");
});

peerTest(
  "vsftpd: RETR pub/1mb-A.bin and pub/bytes-1024.bin by md5, passive EPSV and PASV",
  PORT,
  async () => {
    for (const epsv of [true, false]) {
      await using ftp = await connect({ tls: false, epsv });
      assertEquals(await md5Of(await ftp.download("pub/1mb-A.bin")), [1048576, MD5_1MB_A]);
      assertEquals(await md5Of(await ftp.download("pub/bytes-1024.bin")), [1024, MD5_BYTES_1024]);
      const lines: string[] = [];
      for await (const line of await ftp.downloadLines("readme.txt")) lines.push(line);
      assertEquals(lines.length, 1);
    }
  },
);

peerTest("vsftpd: REST resumes a download", PORT, async () => {
  await using ftp = await connect({ tls: false });
  const tail = await new Response(await ftp.download("pub/hello.txt", { offset: 7 })).text();
  assertEquals(tail, "world\n");
  const [size, digest] = await md5Of(await ftp.download("pub/bytes-1024.bin", { offset: 512 }));
  const whole = await new Response(await ftp.download("pub/bytes-1024.bin")).bytes();
  assertEquals([size, digest], [512, bytesToHex(md5Digest(whole.subarray(512)))]);
});

peerTest("vsftpd: ABOR of a cancelled download leaves the session usable", PORT, async () => {
  await using ftp = await connect({ tls: false });
  const reader = (await ftp.download("pub/1mb-A.bin")).getReader();
  await reader.read();
  await reader.cancel();
  assertEquals((await ftp.noop()).code, 200);
  assertEquals(await md5Of(await ftp.download("pub/1mb-A.bin")), [1048576, MD5_1MB_A]);
});

peerTest(
  "vsftpd: STOR into upload/ and back, REST/APPE resume, rename, ensureDir, mirror both ways",
  PORT,
  async () => {
    await using ftp = await connect({ tls: false });
    await scratch(ftp, async (dir) => {
      const content = new Uint8Array(300000).map((_, i) => (i * 7) & 255);
      const result = await ftp.upload(`${dir}/up.bin`, ReadableStream.from([content]));
      assertEquals([result.size, result.reply.code], [content.length, 226]);
      assertEquals(await ftp.size(`${dir}/up.bin`), content.length);
      assertEquals(await new Response(await ftp.download(`${dir}/up.bin`)).bytes(), content);
      // Resumed upload: REST + STOR, then APPE.
      await ftp.upload(`${dir}/resume.txt`, "hello, ");
      await ftp.upload(`${dir}/resume.txt`, "world", { offset: 7 });
      await ftp.upload(`${dir}/resume.txt`, "!\n", { append: true });
      assertEquals(
        await new Response(await ftp.download(`${dir}/resume.txt`)).text(),
        "hello, world!\n",
      );
      // TYPE A upload: vsftpd stores what it receives (ascii_upload_enable is off).
      await ftp.upload(`${dir}/text.txt`, "a\nb\n", { type: "A" });
      assertEquals(await ftp.size(`${dir}/text.txt`), 6);
      await ftp.rename(`${dir}/text.txt`, `${dir}/renamed.txt`);
      assertEquals((await ftp.nlst(dir)).map((p) => p.split("/").pop()).sort(), [
        "renamed.txt",
        "resume.txt",
        "up.bin",
      ]);
      assertEquals(await ftp.ensureDir(`${dir}/a/b`), `/${dir}/a/b`);
      const local = await Deno.makeTempDir({ prefix: "inetkit-vsftpd-" });
      try {
        await Deno.mkdir(`${local}/src/sub`, { recursive: true });
        await Deno.writeTextFile(`${local}/src/one.txt`, "one\n");
        await Deno.writeFile(`${local}/src/sub/two.bin`, content.subarray(0, 1000));
        assertEquals(await ftp.uploadDir(`${local}/src`, `${dir}/tree`), {
          files: 2,
          directories: 1,
          bytes: 1004,
        });
        assertEquals(await ftp.downloadDir(`${dir}/tree`, `${local}/back`), {
          files: 2,
          directories: 1,
          bytes: 1004,
        });
        assertEquals(await Deno.readTextFile(`${local}/back/one.txt`), "one\n");
        assertEquals(await Deno.readFile(`${local}/back/sub/two.bin`), content.subarray(0, 1000));
      } finally {
        await Deno.remove(local, { recursive: true });
      }
      const site = await ftp.site(`CHMOD 600 ${dir}/up.bin`);
      assertEquals(site.code, 200);
    });
  },
);

peerTest("vsftpd: active mode (EPRT) downloads and uploads", PORT, async () => {
  await using ftp = await connect({ tls: false, passive: false });
  assertEquals(await md5Of(await ftp.download("pub/1mb-A.bin")), [1048576, MD5_1MB_A]);
  await scratch(ftp, async (dir) => {
    await ftp.upload(`${dir}/active.txt`, "active\n");
    assertEquals(await new Response(await ftp.download(`${dir}/active.txt`)).text(), "active\n");
  });
});

peerTest(
  "vsftpd: explicit FTPS with the peers' CA (AUTH TLS, PBSZ 0, PROT P), passive and active",
  PORT,
  async () => {
    for (const passive of [true, false]) {
      const log: string[] = [];
      await using ftp = await connect({ requireTls: true, passive, debug: (l) => log.push(l) });
      assert(ftp.tls && ftp.dataProtected);
      assert(log.includes("C: AUTH TLS") && log.includes("C: PROT P"));
      assert(log.includes("C: PASS ****"));
      assert(!log.some((l) => l.includes("trustno1")));
      assertEquals(await md5Of(await ftp.download("pub/1mb-A.bin")), [1048576, MD5_1MB_A]);
      assertEquals((await ftp.list("pub")).length, 3);
      await scratch(ftp, async (dir) => {
        const content = new Uint8Array(200000).fill(0x5a);
        await ftp.upload(`${dir}/tls.bin`, content);
        assertEquals(await ftp.size(`${dir}/tls.bin`), content.length);
        assertEquals(await new Response(await ftp.download(`${dir}/tls.bin`)).bytes(), content);
      });
    }
  },
);

peerTest(
  "vsftpd: the opportunistic AUTH TLS is verified: without the CA it fails, never in clear",
  PORT,
  async () => {
    await assertRejects(() =>
      FtpClient.connect({
        port: PORT,
        user: "mulder",
        password: "trustno1",
        serverName: "localhost",
      })
    );
  },
);

peerTest("vsftpd: a wrong password is a 530 FtpReplyError", PORT, async () => {
  const error = await assertRejects(
    () => connect({ tls: false, password: "wrong" }),
    FtpReplyError,
  );
  assertEquals(error.code, 530);
  assertEquals(error.command, "PASS ****");
});

peerTest(
  "vsftpd: urlopen ftp:// downloads, lists a directory URL, and names a missing file",
  PORT,
  async () => {
    await using opener = buildOpener(
      new ProxyHandler({}),
      new FtpUrlHandler({ caCerts: await ca(), proxy: null }),
    );
    const base = "ftp://mulder:trustno1@localhost:2121";
    const response = await opener.open(`${base}/pub/1mb-A.bin`);
    assertEquals(response.headers.get("content-length"), "1048576");
    assertEquals(await md5Of(response.body!), [1048576, MD5_1MB_A]);
    const listing = await (await opener.open(`${base}/pub/`)).text();
    assertStringIncludes(listing, "hello.txt\n");
    await assertRejects(() => opener.open(`${base}/pub/missing.bin`));
  },
);

peerTest(
  "vsftpd: inetkit get ftp:// with --ssl-reqd --cacert, and curl's 67 for a bad login",
  PORT,
  async () => {
    const io = captureIo();
    const code = await getCommand.run([
      "--noproxy",
      "*",
      "--ssl-reqd",
      "--cacert",
      `${PEERS_DIR}/tls/ca.pem`,
      "ftp://mulder:trustno1@localhost:2121/pub/hello.txt",
    ], io);
    assertEquals([code, io.stdout], [0, "hello, world\n"]);
    const bad = captureIo();
    const denied = await getCommand.run([
      "--noproxy",
      "*",
      "--cacert",
      `${PEERS_DIR}/tls/ca.pem`,
      "ftp://mulder:wrong@localhost:2121/pub/hello.txt",
    ], bad);
    assertEquals(denied, 67);
    assertStringIncludes(bad.stderr, "530");
  },
);
