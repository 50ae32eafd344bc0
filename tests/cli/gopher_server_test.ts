import { captureIo, runCommand } from "../../cli/_command.ts";
import { getCommand } from "../../cli/get.ts";
import { gopherServerCommand } from "../../cli/gopher_server.ts";
import { gopherMenu } from "../../net/gopher_client.ts";
import { GopherServer } from "../../net/gopher_server.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/hello.txt`, "hello, gopher\n");
    await Deno.writeFile(`${dir}/data.bin`, new Uint8Array([0, 1, 255]));
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli gopher-server serves a directory until interrupted", async () => {
  await withDir(async (dir) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        `--allow-read=${dir}`,
        new URL("../../cli/gopher_server.ts", import.meta.url).pathname,
        dir,
        "--port",
        "0",
        "--public-host",
        "gopher.example.org",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assertMatch(text, /^Serving .* on gopher:\/\/127\.0\.0\.1:\d+\/\n/);
    const port = Number(/:(\d+)\/\n/.exec(text)?.[1]);
    const menu = await gopherMenu({ port });
    assertEquals(menu.items.map((i) => `${i.type} ${i.selector} ${i.host}`), [
      "9 /data.bin gopher.example.org",
      "0 /hello.txt gopher.example.org",
    ]);
    child.kill("SIGINT");
    assertEquals((await child.status).code, 0);
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel();
  });
});

Deno.test("cli gopher-server exits 2 on usage errors", async () => {
  await withDir(async (dir) => {
    for (
      const args of [
        [`${dir}/missing`],
        [`${dir}/hello.txt`],
        [dir, "extra"],
        [dir, "--port", "x"],
        [dir, "--public-port", "0"],
      ]
    ) {
      const io = captureIo();
      assertEquals(await runCommand(gopherServerCommand, args, io), 2, args.join(" "));
      assertStringIncludes(io.stderr, "Try 'inetkit gopher-server --help'");
    }
  });
});

Deno.test("cli get gopher:// prints a readable menu, text items and raw binary items", async () => {
  await withDir(async (dir) => {
    await using server = new GopherServer({ root: dir });
    const base = `gopher://127.0.0.1:${server.addr.port}`;
    const get = async (...args: string[]) => {
      const io = captureIo();
      const code = await getCommand.run(["--noproxy", "*", ...args], io);
      return { code, out: io.stdout, err: io.stderr };
    };
    const menu = await get(`${base}/1/`);
    assertEquals([menu.code, menu.err], [0, ""]);
    assertEquals(
      menu.out,
      `[binary file] data.bin <${base}/9/data.bin>\n[text] hello.txt <${base}/0/hello.txt>\n`,
    );
    assertEquals((await get(`${base}/0/hello.txt`)).out, "hello, gopher\r\n");
    const out = `${dir}/copy.bin`;
    assertEquals((await get(`${base}/9/data.bin`, "-o", out)).code, 0);
    assertEquals(await Deno.readFile(out), new Uint8Array([0, 1, 255]));
    const refused = await get(`${base}/8guest`);
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.err, "Telnet session");
  });
});
