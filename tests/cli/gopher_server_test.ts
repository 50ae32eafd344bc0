import { captureIo, runCommand } from "../../cli/_command.ts";
import { getCommand } from "../../cli/get.ts";
import { gopherServerCommand, startGopherServer } from "../../cli/gopher_server.ts";
import { gopherFetch, gopherMenu } from "../../net/gopher_client.ts";
import { GopherServer } from "../../net/gopher_server.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";

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
    // The access log went to standard error.
    assertMatch(await new Response(child.stderr).text(), /^127\.0\.0\.1 \[.+\] "" ok \d+$/m);
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

Deno.test("cli gopher-server prints one access-log line per request on stderr, none with --quiet", async () => {
  await withDir(async (dir) => {
    for (const quiet of [false, true]) {
      const io = captureIo();
      const stop = new AbortController();
      const { server, url } = await startGopherServer(
        [dir, "--port", "0", ...(quiet ? ["--quiet"] : [])],
        io,
        stop.signal,
      );
      try {
        assertMatch(url, /^gopher:\/\/127\.0\.0\.1:\d+\/$/);
        const text = await new Response(await gopherFetch(`${url}0/hello.txt`)).text();
        assertEquals(text, "hello, gopher\r\n");
        await new Response(await gopherFetch(`${url}1/nope`)).text();
      } finally {
        stop.abort();
        await server.shutdown();
      }
      // Standard output is only where it serves.
      assertEquals(io.stdout, `Serving ${dir} on ${url}\n`);
      if (quiet) {
        assertEquals(io.stderr, "");
        continue;
      }
      const lines = io.stderr.trimEnd().split("\n");
      assertEquals(lines.length, 2, io.stderr);
      // "hello, gopher\r\n" and the final ".\r\n".
      assertMatch(lines[0]!, /^127\.0\.0\.1 \[.+\] "\/hello\.txt" ok 18$/);
      assertMatch(lines[1]!, /^127\.0\.0\.1 \[.+\] "\/nope" not-found \d+$/);
    }
  });
});

Deno.test("cli gopher-server names the host, the port and --port 0 when the port is in use", async () => {
  await withDir(async (dir) => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = taken.addr.port;
      const io = captureIo();
      assertEquals(await runCommand(gopherServerCommand, [dir, "--port", String(port)], io), 1);
      assertEquals(
        io.stderr,
        `inetkit gopher-server: Cannot listen on 127.0.0.1 port ${port}: the address is already ` +
          "in use (another server runs there; --port 0 picks a free port)\n",
      );
      assertEquals(io.stdout, "");
    } finally {
      taken.close();
    }
  });
});

Deno.test("cli gopher-server --help names the command, --quiet and where the log goes", async () => {
  const io = captureIo();
  assertEquals(await runCommand(gopherServerCommand, ["--help"], io), 0);
  assert(io.stdout.startsWith("Usage: inetkit gopher-server [DIR] "), io.stdout);
  assertStringIncludes(io.stdout, "\n  --quiet ");
  assertStringIncludes(io.stdout, "access log");
});
