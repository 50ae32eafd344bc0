/**
 * The three ftplib examples of the Network Protocols chapter, run with
 * `deno run` as child processes against the loopback test FTP server.
 */
import { assertEquals, assertStringIncludes } from "../_helpers/assert.ts";
import { startTestFtpServer } from "../net/_ftp_test_server.ts";

const examples = new URL("../../cli/examples/", import.meta.url).pathname;
const decoder = new TextDecoder();

async function run(
  name: string,
  args: string[],
  options: { cwd?: string; read?: string } = {},
): Promise<{ code: number; out: string; err: string }> {
  const permissions = ["--allow-net=127.0.0.1", `--allow-read=${options.read ?? examples}`];
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...permissions, `${examples}${name}`, ...args],
    cwd: options.cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: decoder.decode(stdout), err: decoder.decode(stderr) };
}

Deno.test("example ftp_list_directory.ts (ftplib-example-1) prints the LIST of the login directory", async () => {
  await using server = startTestFtpServer({
    files: { "/README": "welcome\n", "/bin/ls": "x" },
    dirs: ["/etc"],
  });
  const r = await run("ftp_list_directory.ts", ["127.0.0.1", String(server.port)]);
  assertEquals(r.code, 0, r.err);
  const lines = r.out.trimEnd().split("\n");
  assertEquals(lines.map((l) => l.split(" ").pop()), ["README", "bin", "etc"]);
  assertStringIncludes(lines[1]!, "drwxr-xr-x");
  assertEquals(server.commands.slice(1, 3), ["USER anonymous", "PASS ftplib-example-1"]);
  assertEquals(server.commands.at(-1), "QUIT");
});

Deno.test("example ftp_retrieve_files.ts (ftplib-example-2) prints a text file by lines and a binary file", async () => {
  await using server = startTestFtpServer({
    files: {
      "/README": "WELCOME to python.org, the Python programming language home site.\r\n\r\nNi!\r\n",
      "/welcome.msg": new Uint8Array([0x43, 0x4f, 0x4e, 0x46, 0x55, 0x53, 0x45, 0x44, 0x0a]),
    },
  });
  const r = await run("ftp_retrieve_files.ts", ["127.0.0.1", String(server.port)]);
  assertEquals(r.code, 0, r.err);
  assertEquals(
    r.out,
    "WELCOME to python.org, the Python programming language home site.\n\nNi!\nCONFUSED\n",
  );
  assertEquals(server.commands.filter((c) => c.startsWith("TYPE")), ["TYPE A", "TYPE I"]);
});

Deno.test("example ftp_store_files.ts (ftplib-example-3) stores text in TYPE A and the rest in binary", async () => {
  const dir = await Deno.makeTempDir({ prefix: "inetkit-example-ftp-" });
  try {
    await Deno.writeFile(`${dir}/trixie.zip`, new Uint8Array([0x50, 0x4b, 0x0a, 0x00, 0xff]));
    await Deno.writeTextFile(`${dir}/file.txt`, "line one\nline two\n");
    await Deno.writeFile(`${dir}/sightings.jpg`, new Uint8Array([0xff, 0xd8, 0x0a, 0x0a]));
    await using server = startTestFtpServer({});
    const r = await run("ftp_store_files.ts", ["127.0.0.1", String(server.port)], {
      cwd: dir,
      read: dir,
    });
    assertEquals(r.code, 0, r.err);
    assertEquals(server.files.get("/trixie.zip"), new Uint8Array([0x50, 0x4b, 0x0a, 0x00, 0xff]));
    // Text goes with CR LF on the wire (storlines); binary as it is.
    assertEquals(decoder.decode(server.files.get("/file.txt")), "line one\r\nline two\r\n");
    assertEquals(server.files.get("/sightings.jpg"), new Uint8Array([0xff, 0xd8, 0x0a, 0x0a]));
    assertEquals(server.commands.filter((c) => /^(TYPE|STOR)/.test(c)), [
      "TYPE I",
      "STOR trixie.zip",
      "TYPE A",
      "STOR file.txt",
      "TYPE I",
      "STOR sightings.jpg",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("example urllib2_ftp_request.ts (urllib2 HOWTO, Request('ftp://...')) prints the file", async () => {
  await using server = startTestFtpServer({ files: { "/pub/hello.txt": "hello, world\n" } });
  const r = await run("urllib2_ftp_request.ts", [
    `ftp://mulder:trustno1@127.0.0.1:${server.port}/pub/hello.txt`,
  ]);
  assertEquals(r.code, 0, r.err);
  assertEquals(r.out, "hello, world\n\n");
});
