import { ftpServerCommand, startFtpServer } from "../../cli/ftp_server.ts";
import { captureIo, runCommand, UsageError } from "../../cli/_command.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";

async function curl(args: string[]): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "--noproxy", "*", ...args],
    stdout: "piped",
    stderr: "null",
  }).output();
  return { code: out.code, out: new TextDecoder().decode(out.stdout) };
}

async function makeSite(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_cli_ftp_" });
  await Deno.writeTextFile(`${dir}/hello.txt`, "hello\n");
  await Deno.mkdir(`${dir}/up`);
  return dir;
}

Deno.test("ftp-server --help prints the usage and exits 0", async () => {
  const io = captureIo();
  assertEquals(await runCommand(ftpServerCommand, ["--help"], io), 0);
  assert(io.stdout.startsWith("Usage: inetkit ftp-server [DIR] [options]\n"), io.stdout);
  assertStringIncludes(io.stdout, "--passive-ports A-B");
  assertStringIncludes(io.stdout, "--implicit-tls");
});

Deno.test("ftp-server rejects bad arguments with a UsageError", async () => {
  const dir = await makeSite();
  try {
    const user = ["--user", "u:p"];
    for (
      const args of [
        [dir],
        [dir, ...user, "--port", "x"],
        [dir, ...user, "--port", "70000"],
        [dir, ...user, "--bogus"],
        [`${dir}/missing`, ...user],
        [`${dir}/hello.txt`, ...user],
        [dir, "other", ...user],
        [dir, "--user", "nopassword"],
        [dir, "--user", ":p"],
        [dir, ...user, "--tls-cert", "a.pem"],
        [dir, ...user, "--implicit-tls"],
        [dir, ...user, "--require-tls"],
        [dir, ...user, "--tls-cert", `${dir}/x.pem`, "--tls-key", `${dir}/y.pem`],
        ...["80-90", "2000", "3000-2000", "1024-70000", "a-b", ""].map((r) => [
          dir,
          ...user,
          "--passive-ports",
          r,
        ]),
      ]
    ) {
      await assertRejects(
        () => ftpServerCommand.run(args, captureIo()),
        UsageError,
        undefined,
        args.join(" "),
      );
    }
    const io = captureIo();
    assertEquals(await runCommand(ftpServerCommand, [dir], io), 2);
    assertStringIncludes(io.stderr, "Nobody could log in");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftp-server names the host, the port and --port 0 when the port is in use", async () => {
  const dir = await makeSite();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = taken.addr.port;
    const io = captureIo();
    const code = await runCommand(
      ftpServerCommand,
      [dir, "--user", "u:p", "--port", String(port)],
      io,
    );
    assertEquals(code, 1);
    assertEquals(
      io.stderr,
      `inetkit ftp-server: Cannot listen on 127.0.0.1 port ${port}: the address is already ` +
        "in use (another server runs there; --port 0 picks a free port)\n",
    );
    assertEquals(io.stdout, "");
  } finally {
    taken.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftp-server serves read-only without anonymous login and logs to stderr", async () => {
  const dir = await makeSite();
  const controller = new AbortController();
  const io = captureIo();
  try {
    const { server, url } = await startFtpServer(
      [dir, "--port", "0", "--user", "mulder:trust:no1"],
      io,
      controller.signal,
    );
    assertMatch(url, /^ftp:\/\/127\.0\.0\.1:\d+\/$/);
    assertStringIncludes(
      io.stdout,
      `Serving ${dir} at ${url} (read-only, no anonymous login, no TLS)`,
    );
    const base = url.replace("ftp://", "ftp://mulder:trust%3Ano1@");
    assertEquals((await curl([`${base}hello.txt`])).out, "hello\n");
    const upload = await Deno.makeTempFile();
    await Deno.writeTextFile(upload, "x");
    assert((await curl(["-T", upload, `${base}up/x.txt`])).code !== 0);
    await Deno.remove(upload);
    assert((await curl([`${url}hello.txt`])).code !== 0); // anonymous
    assertMatch(io.stderr, /^127\.0\.0\.1 mulder \[.*\] "USER mulder" 230 -$/m);
    assertMatch(io.stderr, /^127\.0\.0\.1 mulder \[.*\] "RETR \/hello\.txt" 226 6$/m);
    assert(!io.stderr.includes("trust:no1"));
    controller.abort();
    await server.finished;
  } finally {
    controller.abort();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftp-server --anonymous --write --passive-ports lets anonymous users upload", async () => {
  const dir = await makeSite();
  const controller = new AbortController();
  const io = captureIo();
  try {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const from = Math.max(1024, Math.min((probe.addr as Deno.NetAddr).port, 65000));
    probe.close();
    const { server, url } = await startFtpServer(
      [
        dir,
        "-p",
        "0",
        "--anonymous",
        "--write",
        "--passive-ports",
        `${from}-${from + 5}`,
        "--quiet",
      ],
      io,
      controller.signal,
    );
    assertStringIncludes(io.stdout, "(read-write, anonymous allowed, no TLS)");
    const upload = await Deno.makeTempFile();
    await Deno.writeTextFile(upload, "uploaded\n");
    assertEquals((await curl(["-T", upload, `${url}up/new.txt`])).code, 0);
    await Deno.remove(upload);
    assertEquals(await Deno.readTextFile(`${dir}/up/new.txt`), "uploaded\n");
    assertEquals(io.stderr, "");
    controller.abort();
    await server.finished;
  } finally {
    controller.abort();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftp-server --tls-cert/--tls-key offers AUTH TLS; --implicit-tls serves ftps://", async () => {
  const dir = await makeSite();
  const { cert, key, ca } = await testCert();
  await Deno.writeTextFile(`${dir}/cert.pem`, cert);
  await Deno.writeTextFile(`${dir}/key.pem`, key);
  await Deno.writeTextFile(`${dir}/ca.pem`, ca);
  try {
    for (const implicit of [false, true]) {
      const controller = new AbortController();
      const io = captureIo();
      const tlsArgs = ["--tls-cert", `${dir}/cert.pem`, "--tls-key", `${dir}/key.pem`];
      const { server, url } = await startFtpServer(
        [dir, "--port", "0", "--user", "u:p", ...tlsArgs, ...(implicit ? ["--implicit-tls"] : [])],
        io,
        controller.signal,
      );
      assertStringIncludes(io.stdout, implicit ? "implicit TLS" : "AUTH TLS offered");
      const target = url.replace("127.0.0.1", "localhost").replace("://", "://u:p@");
      const args = implicit ? [] : ["--ssl-reqd"];
      const got = await curl([...args, "--cacert", `${dir}/ca.pem`, `${target}hello.txt`]);
      assertEquals(got, { code: 0, out: "hello\n" });
      controller.abort();
      await server.finished;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftp-server runs as a script until SIGINT and exits 0", async () => {
  const dir = await makeSite();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../cli/ftp_server.ts", import.meta.url).pathname,
        dir,
        "--port",
        "0",
        "--user",
        "u:p",
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
    const url = /at (ftp:\/\/\S+)/.exec(text)?.[1];
    assert(url !== undefined, text);
    assertEquals((await curl([`${url.replace("://", "://u:p@")}hello.txt`])).out, "hello\n");
    child.kill("SIGINT");
    const status = await child.status;
    await reader.cancel();
    const stderr = await new Response(child.stderr).text();
    assertEquals(status.code, 0);
    assertMatch(stderr, /"RETR \/hello\.txt" 226 6\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
