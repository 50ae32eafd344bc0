/**
 * `inetkit get` with ftp: and ftps: URLs against the loopback test FTP
 * server, curl style: stdout and -o, listings, -T uploads, -C - resume both
 * ways, --ssl-reqd, ftps:, active mode, and curl's exit codes.
 */
import { captureIo, runCommand, UsageError } from "../../cli/_command.ts";
import { GET_EXIT, getCommand } from "../../cli/get.ts";
import { testCert } from "../_helpers/tls.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { startTestFtpServer } from "../net/_ftp_test_server.ts";

const decoder = new TextDecoder();
const FILES = {
  "/pub/hello.txt": "hello, world\n",
  "/pub/ten.bin": "0123456789",
  "/readme.txt": "read me\n",
};

async function get(args: string[]) {
  const io = captureIo();
  const code = await getCommand.run(["--noproxy", "*", ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

async function tempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "inetkit-get-ftp-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli get ftp:// prints a file, writes it with -o, and lists a directory URL", async () => {
  await using server = startTestFtpServer({ files: FILES });
  const base = `ftp://127.0.0.1:${server.port}`;
  assertEquals(await get([`${base}/pub/hello.txt`]), { code: 0, out: "hello, world\n", err: "" });
  await tempDir(async (dir) => {
    const r = await get([`${base}/pub/ten.bin`, "-o", `${dir}/ten.bin`]);
    assertEquals([r.code, r.out], [0, ""]);
    assertEquals(await Deno.readTextFile(`${dir}/ten.bin`), "0123456789");
  });
  const listing = await get([`${base}/pub/`]);
  assertEquals(listing.code, 0);
  assertEquals(listing.out.split("\n").filter(Boolean).length, 2);
  assertStringIncludes(listing.out, " hello.txt\n");
  assertEquals((await get(["-l", `${base}/pub/`])).out, "hello.txt\nten.bin\n");
});

Deno.test("cli get -T uploads to an ftp URL, naming the file after the local one for a directory URL", async () => {
  await using server = startTestFtpServer({ files: FILES, dirs: ["/upload"] });
  const base = `ftp://mulder:trustno1@127.0.0.1:${server.port}`;
  await tempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/trixie.zip`, "PK binary");
    assertEquals((await get(["-T", `${dir}/trixie.zip`, `${base}/upload/`])).code, 0);
    assertEquals(decoder.decode(server.files.get("/upload/trixie.zip")), "PK binary");
    assertEquals((await get(["-T", `${dir}/trixie.zip`, `${base}/upload/renamed.zip`])).code, 0);
    assert(server.files.has("/upload/renamed.zip"));
  });
});

Deno.test("cli get -C - resumes a download with REST and an upload with APPE", async () => {
  await using server = startTestFtpServer({ files: FILES, dirs: ["/upload"] });
  const base = `ftp://mulder:trustno1@127.0.0.1:${server.port}`;
  await tempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ten.bin`, "0123");
    assertEquals((await get(["-C", "-", "-o", `${dir}/ten.bin`, `${base}/pub/ten.bin`])).code, 0);
    assertEquals(await Deno.readTextFile(`${dir}/ten.bin`), "0123456789");
    assert(server.commands.includes("REST 4"));
    // Complete already: nothing to do.
    assertEquals((await get(["-C", "-", "-o", `${dir}/ten.bin`, `${base}/pub/ten.bin`])).code, 0);
    // Longer than the remote file: curl's 36.
    await Deno.writeTextFile(`${dir}/long.bin`, "0123456789ABC");
    const long = await get(["-C", "-", "-o", `${dir}/long.bin`, `${base}/pub/ten.bin`]);
    assertEquals(long.code, GET_EXIT.resumeFailed);
    // Upload resume: the server has the first 4 bytes.
    server.files.set("/upload/part.bin", new TextEncoder().encode("abcd"));
    await Deno.writeTextFile(`${dir}/part.bin`, "abcdefgh");
    assertEquals((await get(["-C", "-", "-T", `${dir}/part.bin`, `${base}/upload/`])).code, 0);
    assertEquals(decoder.decode(server.files.get("/upload/part.bin")), "abcdefgh");
    assert(server.commands.includes("APPE part.bin"));
  });
});

Deno.test("cli get ftp:// exits with curl's codes: 67 login, 78 no file, 9 no directory, 25 upload refused", async () => {
  await using server = startTestFtpServer({ files: FILES, anonymous: false });
  const port = server.port;
  const login = await get([`ftp://mulder:wrong@127.0.0.1:${port}/readme.txt`]);
  assertEquals(login.code, GET_EXIT.loginDenied);
  assertStringIncludes(login.err, "530");
  const missing = await get([`ftp://mulder:trustno1@127.0.0.1:${port}/pub/nope.txt`]);
  assertEquals(missing.code, GET_EXIT.fileNotFound);
  const dir = await get([`ftp://mulder:trustno1@127.0.0.1:${port}/nowhere/x.txt`]);
  assertEquals(dir.code, GET_EXIT.accessDenied);
  await tempDir(async (local) => {
    await Deno.writeTextFile(`${local}/f.txt`, "x");
    const refused = await get([
      "-T",
      `${local}/f.txt`,
      `ftp://mulder:trustno1@127.0.0.1:${port}/nodir/`,
    ]);
    assertEquals(refused.code, GET_EXIT.accessDenied);
    const upload = await get([
      "-T",
      `${local}/f.txt`,
      `ftp://mulder:trustno1@127.0.0.1:${port}/%2Fnodir%2Ff.txt`,
    ]);
    assertEquals(upload.code, GET_EXIT.uploadFailed);
    const unreadable = await get([
      "-T",
      `${local}/none.txt`,
      `ftp://mulder:trustno1@127.0.0.1:${port}/`,
    ]);
    assertEquals(unreadable.code, GET_EXIT.readError);
  });
  // -u overrides the URL's credentials.
  const user = await get(["-u", "mulder:trustno1", `ftp://x:y@127.0.0.1:${port}/readme.txt`]);
  assertEquals([user.code, user.out], [0, "read me\n"]);
});

Deno.test("cli get --ssl-reqd fails (64) against a server without TLS, before USER", async () => {
  await using server = startTestFtpServer({ files: FILES });
  const r = await get(["--ssl-reqd", `ftp://mulder:trustno1@127.0.0.1:${server.port}/readme.txt`]);
  assertEquals(r.code, GET_EXIT.sslRequired);
  assertStringIncludes(r.err, "AUTH TLS");
  assertEquals(server.commands.filter((c) => c.startsWith("USER")), []);
});

Deno.test("cli get uses TLS with --cacert: explicit (--ssl-reqd) and implicit (ftps://)", async () => {
  const cert = await testCert();
  await tempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ca.pem`, cert.ca);
    {
      await using server = startTestFtpServer({ files: FILES, tls: cert });
      const url = `ftp://mulder:trustno1@127.0.0.1:${server.port}/pub/hello.txt`;
      const r = await get(["--ssl-reqd", "--cacert", `${dir}/ca.pem`, url]);
      assertEquals([r.code, r.out], [0, "hello, world\n"]);
      assert(server.commands.includes("PROT P"));
      // Without the CA the offered TLS does not verify: an error, not a fallback.
      const unverified = await get([url]);
      assertEquals(unverified.code, GET_EXIT.tls);
      assertStringIncludes(unverified.err, "(--cacert FILE trusts a private CA)");
      assertEquals(server.commands.filter((c) => c.startsWith("USER")).length, 1);
    }
    {
      await using server = startTestFtpServer({ files: FILES, tls: cert, implicitTls: true });
      const url = `ftps://mulder:trustno1@127.0.0.1:${server.port}/pub/hello.txt`;
      const r = await get(["--cacert", `${dir}/ca.pem`, url]);
      assertEquals([r.code, r.out], [0, "hello, world\n"]);
    }
  });
});

Deno.test("cli get -P - uses active mode", async () => {
  await using server = startTestFtpServer({ files: FILES });
  const r = await get(["-P", "-", `ftp://127.0.0.1:${server.port}/pub/hello.txt`]);
  assertEquals([r.code, r.out], [0, "hello, world\n"]);
  assert(server.commands.some((c) => c.startsWith("EPRT ")));
});

Deno.test("cli get refuses FTP-only flags for http URLs and HTTP-only flags for ftp URLs", async () => {
  await assertRejects(() => get(["-T", "x", "http://127.0.0.1:1/"]), UsageError);
  await assertRejects(() => get(["-d", "x=1", "ftp://127.0.0.1:1/x"]), UsageError);
});

// ---- the TLS rule, errors and output (the "newcomer's first hour" issue) -------------------

/** A host name that reaches 127.0.0.1 but is not a name the clients know as loopback. */
async function loopbackAlias(): Promise<string | null> {
  const name = Deno.hostname();
  if (/^(localhost|127\.|::1)/i.test(name)) return null;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const conn = await Deno.connect({ hostname: name, port: listener.addr.port });
    const ok = conn.remoteAddr.hostname === "127.0.0.1";
    conn.close();
    (await listener.accept()).close();
    return ok ? name : null;
  } catch {
    return null;
  } finally {
    listener.close();
  }
}

async function runGet(io: ReturnType<typeof captureIo>, args: string[]) {
  const code = await runCommand(getCommand, ["--noproxy", "*", ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

Deno.test("cli get --no-tls stays in clear although the server offers AUTH TLS", async () => {
  const cert = await testCert();
  await using server = startTestFtpServer({ files: FILES, tls: cert });
  const url = `ftp://mulder:trustno1@127.0.0.1:${server.port}/pub/hello.txt`;
  const r = await get(["--no-tls", url]);
  assertEquals([r.code, r.out], [0, "hello, world\n"]);
  assertEquals(server.commands.filter((c) => c.startsWith("AUTH") || c.startsWith("PROT")), []);
  await assertRejects(() => get(["--no-tls", "--ssl-reqd", url]), UsageError, "exclude");
  await assertRejects(
    () => get(["--no-tls", `ftps://127.0.0.1:${server.port}/x`]),
    UsageError,
    "ftps://",
  );
});

Deno.test("cli get ftp:// sends PASS in clear to a host it cannot tell is loopback only with --insecure-auth", async () => {
  const alias = await loopbackAlias();
  if (alias === null) {
    console.log("skipped: the machine's host name does not reach 127.0.0.1");
    return;
  }
  await using server = startTestFtpServer({ files: FILES });
  const url = `ftp://mulder:trustno1@${alias}:${server.port}/readme.txt`;
  const refused = await get([url]);
  assertEquals(refused.code, GET_EXIT.loginDenied);
  assertStringIncludes(refused.err, "give --insecure-auth");
  assertEquals(server.commands.filter((c) => c.startsWith("PASS")), []);
  const allowed = await get(["--insecure-auth", url]);
  assertEquals([allowed.code, allowed.out], [0, "read me\n"]);
});

Deno.test("cli get ftp:// refuses binary output to a terminal, ends quietly on a closed pipe, and names the host", async () => {
  const binary = new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 1]);
  await using server = startTestFtpServer({ files: { ...FILES, "/pub/x.zip": binary } });
  const base = `ftp://127.0.0.1:${server.port}`;
  const terminal = () => Object.assign(captureIo(), { isTerminal: true });
  const refused = await runGet(terminal(), [`${base}/pub/x.zip`]);
  assertEquals([refused.code, refused.out], [GET_EXIT.write, ""]);
  assertStringIncludes(
    refused.err,
    'Warning: Binary output can mess up your terminal. Use "--output -"',
  );
  const forced = await runGet(terminal(), ["-o", "-", `${base}/pub/x.zip`]);
  assertEquals([forced.code, forced.err], [0, ""]);
  assertEquals((await runGet(terminal(), [`${base}/pub/hello.txt`])).out, "hello, world\n");

  const closed = captureIo();
  closed.write = () => Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)"));
  assertEquals(await runGet(closed, [`${base}/pub/hello.txt`]), {
    code: GET_EXIT.write,
    out: "",
    err: "",
  });

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const down = await get([`ftp://127.0.0.1:${port}/x`]);
  assertEquals(down.code, 7);
  assertMatch(
    down.err,
    new RegExp(
      `^inetkit get: Failed to connect to 127\\.0\\.0\\.1 port ${port} after \\d+ ms: Connection refused\\n$`,
    ),
  );
  const missing = await get([`${base}/pub/nope.txt`]);
  assertStringIncludes(missing.err, `inetkit get: ${base}/pub/nope.txt: `);
});

Deno.test("cli get ftp:// -o FILE draws the progress bar for downloads and uploads", async () => {
  const big = new Uint8Array(512 * 1024).fill(65);
  await using server = startTestFtpServer({ files: { "/big.bin": big }, dirs: ["/upload"] });
  const base = `ftp://mulder:trustno1@127.0.0.1:${server.port}`;
  await tempDir(async (dir) => {
    let time = 0;
    const terminal = () =>
      Object.assign(captureIo(), {
        errIsTerminal: true,
        columns: () => 40,
        now: () => (time += 50),
      });
    const down = await runGet(terminal(), ["-o", `${dir}/big.bin`, `${base}/big.bin`]);
    assertEquals(down.code, 0);
    assert(down.err.endsWith("\n"), down.err);
    const lines = down.err.split(/[\r\n]/).map((l) => l.replace("\x1b[K", "")).filter(Boolean);
    for (const line of lines) assert(line.length <= 39, JSON.stringify(line));
    assertMatch(lines[lines.length - 1]!, /^100% 512K\/512K .*\/s in /);
    const up = await runGet(terminal(), ["-T", `${dir}/big.bin`, `${base}/upload/`]);
    assertEquals(up.code, 0);
    assertMatch(up.err, /100% 512K\/512K .*\/s in .*\n$/);
  });
});
