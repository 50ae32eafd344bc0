import { serveCommand, startServe } from "../../cli/serve.ts";
import { captureIo, runCommand, UsageError } from "../../cli/_command.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { PEERS_DIR } from "../_helpers/peers.ts";

async function curl(args: string[]): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "--noproxy", "*", ...args],
    stdout: "piped",
    stderr: "null",
  }).output();
  return { code: out.code, out: new TextDecoder().decode(out.stdout) };
}

async function makeSite(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_cli_serve_" });
  await Deno.writeTextFile(`${dir}/index.html`, "<h1>home</h1>");
  await Deno.writeTextFile(`${dir}/hello.txt`, "hello\n");
  await Deno.mkdir(`${dir}/cgi-bin`);
  await Deno.writeTextFile(
    `${dir}/cgi-bin/hi.sh`,
    `printf 'Content-Type: text/plain\\r\\n\\r\\nhi from %s' "$SCRIPT_NAME"\n`,
  );
  return dir;
}

Deno.test("serve --help prints the usage and exits 0", async () => {
  const io = captureIo();
  assertEquals(await runCommand(serveCommand, ["--help"], io), 0);
  assertStringIncludes(io.stdout, "Usage: inetkit serve [DIR]");
  assertStringIncludes(io.stdout, "--cgi-dir PATH");
  assertStringIncludes(io.stdout, "--cgi-timeout S");
});

Deno.test("serve rejects bad arguments with a UsageError", async () => {
  const dir = await makeSite();
  try {
    for (
      const args of [
        [dir, "--port", "x"],
        [dir, "--port", "70000"],
        [dir, "--bogus"],
        [`${dir}/missing`],
        [`${dir}/hello.txt`],
        [dir, "other"],
        [dir, "--tls-cert", "a.pem"],
        [dir, "--cgi-dir", `${dir}/nope`],
        [dir, "--tls-cert", `${dir}/x.pem`, "--tls-key", `${dir}/y.pem`],
        [dir, "--cgi-timeout", "5"],
        ...["x", "0", "0.0001", "-1", "1e3", "86401", "", " 5", "5s", "Infinity"].map((t) => [
          dir,
          "--cgi-dir",
          `${dir}/cgi-bin`,
          "--cgi-timeout",
          t,
        ]),
      ]
    ) {
      await assertRejects(
        () => serveCommand.run(args, captureIo()),
        UsageError,
        undefined,
        args.join(" "),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve prints where it serves and one access-log line per request", async () => {
  const dir = await makeSite();
  const controller = new AbortController();
  const io = captureIo();
  const { server, url } = await startServe([dir, "--port", "0"], io, controller.signal);
  try {
    assertEquals(io.stdout, `Serving ${dir} at ${url}\n`);
    assertMatch(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assertEquals((await curl([`${url}hello.txt`])).out, "hello\n");
    assertEquals((await curl([url])).out, "<h1>home</h1>");
    assertEquals(
      (await curl(["-o", "/dev/null", "-w", "%{http_code}", `${url}missing`])).out,
      "404",
    );
    // The access log goes to standard error, as http.server's does.
    assertEquals(io.stdout, `Serving ${dir} at ${url}\n`);
    const lines = io.stderr.trim().split("\n");
    assertEquals(lines.length, 3);
    assertMatch(lines[0]!, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/hello\.txt HTTP\/1\.1" 200 6$/);
    assertMatch(lines[2]!, /"GET \/missing HTTP\/1\.1" 404 /);
  } finally {
    controller.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve --cors --spa --quiet --cgi-dir wire the options through", async () => {
  const dir = await makeSite();
  const controller = new AbortController();
  const io = captureIo();
  const { server, url } = await startServe(
    [dir, "--port", "0", "--cors", "--spa", "--quiet", "--cgi-dir", `${dir}/cgi-bin`],
    io,
    controller.signal,
  );
  try {
    assertStringIncludes(io.stdout, `CGI scripts in ${dir}/cgi-bin at ${url}cgi-bin/`);
    const cors = await curl(["-D", "-", "-o", "/dev/null", `${url}hello.txt`]);
    assertMatch(cors.out, /access-control-allow-origin: \*/i);
    assertEquals((await curl([`${url}client/side/route`])).out, "<h1>home</h1>");
    assertEquals((await curl([`${url}cgi-bin/hi.sh`])).out, "hi from /cgi-bin/hi.sh");
    // The script is never sent as text, whatever the path.
    for (const path of ["cgi-bin/", "cgi-bin%2fhi.sh", "cgi-bin/../cgi-bin/hi.sh"]) {
      assert(!(await curl([url + path])).out.includes("printf"), path);
    }
    assertEquals(io.stderr.split("\n").filter((l) => l.includes('"GET ')).length, 0);
  } finally {
    controller.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve --cgi-timeout stops a script and the child it started, with 504", async () => {
  const dir = await makeSite();
  await Deno.writeTextFile(
    `${dir}/cgi-bin/stuck.sh`,
    `sleep 100000 & echo $! > "${dir}/child.pid"; wait\n`,
  );
  const controller = new AbortController();
  const io = captureIo();
  const { server, url } = await startServe(
    [dir, "--port", "0", "--quiet", "--cgi-dir", `${dir}/cgi-bin`, "--cgi-timeout", "0.3"],
    io,
    controller.signal,
  );
  let child = 0;
  try {
    const started = Date.now();
    const result = await curl(["-o", "/dev/null", "-w", "%{http_code}", `${url}cgi-bin/stuck.sh`]);
    assertEquals(result.out, "504");
    const elapsed = Date.now() - started;
    assert(elapsed >= 300 && elapsed < 2000, `answered after ${elapsed} ms`);
    child = Number(await Deno.readTextFile(`${dir}/child.pid`));
    assert(child > 1);
    let state = "gone";
    try {
      const stat = await Deno.readTextFile(`/proc/${child}/stat`);
      state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    } catch {
      // gone
    }
    assert(state === "gone" || state === "Z", `the sleep is still there: ${state}`);
    child = 0;
  } finally {
    if (child > 1) Deno.kill(child, "SIGKILL");
    controller.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve --tls-cert --tls-key serves HTTPS", async () => {
  let cert: string;
  try {
    cert = await Deno.readTextFile(`${PEERS_DIR}/tls/cert.pem`);
    await Deno.readTextFile(`${PEERS_DIR}/tls/key.pem`);
  } catch {
    console.warn(`skipped: no test certificate in ${PEERS_DIR}/tls`);
    return;
  }
  const dir = await makeSite();
  const controller = new AbortController();
  const io = captureIo();
  const { server, url } = await startServe(
    [
      dir,
      "--port",
      "0",
      "--tls-cert",
      `${PEERS_DIR}/tls/cert.pem`,
      "--tls-key",
      `${PEERS_DIR}/tls/key.pem`,
    ],
    io,
    controller.signal,
  );
  try {
    assertMatch(url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    const caFile = await Deno.makeTempFile();
    await Deno.writeTextFile(caFile, cert);
    assertEquals((await curl(["--cacert", caFile, `${url}hello.txt`])).out, "hello\n");
    await Deno.remove(caFile);
  } finally {
    controller.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve runs as a script until SIGTERM and exits 0", async () => {
  const dir = await makeSite();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../cli/serve.ts", import.meta.url).pathname,
        dir,
        "--port",
        "0",
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
    const url = /at (http:\/\/\S+)/.exec(text)?.[1];
    assert(url !== undefined, text);
    assertEquals((await curl([`${url}hello.txt`])).out, "hello\n");
    child.kill("SIGTERM");
    const status = await child.status;
    await reader.cancel();
    await child.stderr.cancel();
    assertEquals(status.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve PORT takes a bare number as the port when no such directory exists, as http.server does", async () => {
  const parent = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  Deno.chdir(parent);
  const controller = new AbortController();
  try {
    await Deno.writeTextFile("hello.txt", "hello\n");
    // A free port, given the Python way.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    const io = captureIo();
    const { server, url } = await startServe([String(port)], io, controller.signal);
    assertEquals(url, `http://127.0.0.1:${port}/`);
    assertEquals(io.stdout, `Serving . at ${url}\n`);
    assertEquals((await curl([`${url}hello.txt`])).out, "hello\n");
    controller.abort();
    await server.finished;
    // A directory with a number for a name is still a directory.
    await Deno.mkdir("8123");
    await Deno.writeTextFile("8123/inside.txt", "inside\n");
    const again = new AbortController();
    const second = await startServe(["8123", "--port", "0"], captureIo(), again.signal);
    assertEquals((await curl([`${second.url}inside.txt`])).out, "inside\n");
    again.abort();
    await second.server.finished;
    await assertRejects(
      () => startServe(["7", "--port", "0"], captureIo()),
      UsageError,
      "which port",
    );
  } finally {
    controller.abort();
    Deno.chdir(cwd);
    await Deno.remove(parent, { recursive: true });
  }
});
