import { captureIo, runCommand } from "../../cli/_command.ts";
import { telnetCommand } from "../../cli/telnet.ts";
import { TelnetDemoServer } from "../../cli/_telnet_demo.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";

const VAR = "INETKIT_TEST_TELNET_PASSWORD";

async function withPassword<T>(password: string | undefined, fn: () => Promise<T>): Promise<T> {
  const previous = Deno.env.get(VAR);
  if (password === undefined) Deno.env.delete(VAR);
  else Deno.env.set(VAR, password);
  try {
    return await fn();
  } finally {
    if (previous === undefined) Deno.env.delete(VAR);
    else Deno.env.set(VAR, previous);
  }
}

async function telnet(args: string[], stdin = "") {
  const io = captureIo(stdin);
  const code = await runCommand(telnetCommand, args, io);
  return { code, out: io.stdout, err: io.stderr };
}

Deno.test("cli telnet --login --command logs in, runs the commands and prints their output", async () => {
  await using server = new TelnetDemoServer();
  const port = String(server.addr.port);
  const result = await withPassword("trustno1", () =>
    telnet([
      "127.0.0.1",
      port,
      "--login",
      "mulder",
      "--password-env",
      VAR,
      "--command",
      "echo TELNET-OK-$((6*7))",
      "--command",
      "ls",
    ]));
  assertEquals(result, { code: 0, out: "TELNET-OK-42\nREADME\nlibrarybook\nnotes.txt\n", err: "" });
});

Deno.test("cli telnet exits 1 with a message when the login is refused", async () => {
  await using server = new TelnetDemoServer({ failureDelay: 0 });
  const result = await withPassword("wrong", () =>
    telnet([
      "127.0.0.1",
      String(server.addr.port),
      "--login",
      "mulder",
      "--password-env",
      VAR,
      "--command",
      "ls",
    ]));
  assertEquals([result.code, result.out], [1, ""]);
  assertStringIncludes(
    result.err,
    'Cannot log in as mulder: the server answered "Login incorrect"',
  );
  assert(!result.err.includes("wrong"));
});

Deno.test("cli telnet without a terminal sends standard input and prints the session", async () => {
  await using server = new TelnetDemoServer();
  const result = await telnet(
    ["127.0.0.1", String(server.addr.port)],
    "mulder\ntrustno1\nls\nexit\n",
  );
  assertEquals(result.code, 0);
  assertStringIncludes(result.out, "demo login: ");
  assertStringIncludes(result.out, "mulder@demo:~$ ls\r\nREADME\r\n");
  assert(result.out.endsWith("logout\r\n"));
});

Deno.test("cli telnet ends the session at Ctrl-] without waiting for the server", async () => {
  await using server = new TelnetDemoServer();
  const started = Date.now();
  const result = await telnet(["127.0.0.1", String(server.addr.port)], "\x1d");
  assertEquals(result.code, 0);
  assert(Date.now() - started < 5000);
});

Deno.test("cli telnet --login without --command continues interactively after the login", async () => {
  await using server = new TelnetDemoServer();
  const result = await withPassword("trustno1", () =>
    telnet(
      ["127.0.0.1", String(server.addr.port), "--login", "mulder", "--password-env", VAR],
      "whoami\nexit\n",
    ));
  assertEquals(result.code, 0);
  assertStringIncludes(result.out, "Welcome to the inetkit demo shell, mulder.");
  assertStringIncludes(result.out, "whoami\r\nmulder\r\n");
});

Deno.test("cli telnet exits 2 on usage errors", async () => {
  await withPassword(undefined, async () => {
    const cases = [
      [],
      ["host", "notaport"],
      ["host", "0"],
      ["host", "23", "extra"],
      ["host", "--command", "ls"],
      ["host", "--login", "mulder"],
      ["host", "--login", "mulder", "--password-env", VAR],
      ["host", "--timeout", "soon"],
      ["host", "--prompt", "(", "--login", "m", "--password-env", "PATH"],
    ];
    for (const args of cases) {
      const result = await telnet(args);
      assertEquals(result.code, 2, args.join(" "));
      assertStringIncludes(result.err, "Try 'inetkit telnet --help'");
    }
  });
});

Deno.test("cli telnet exits 1 when the connection is refused", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await telnet(["127.0.0.1", String(port)]);
  assertEquals(result.code, 1);
  assertStringIncludes(result.err, "inetkit telnet:");
});

Deno.test("cli telnet --login sends the password in clear to a host it cannot tell is loopback only with --insecure-auth", async () => {
  await using server = new TelnetDemoServer();
  const port = String(server.addr.port);
  // "127.1" reaches 127.0.0.1, but is not a loopback name the client knows.
  const login = (...extra: string[]) =>
    withPassword(
      "trustno1",
      () =>
        telnet([
          "127.1",
          port,
          "--login",
          "mulder",
          "--password-env",
          VAR,
          "--command",
          "ls",
          ...extra,
        ]),
    );
  const refused = await login();
  assertEquals([refused.code, refused.out], [1, ""]);
  assertStringIncludes(refused.err, "--insecure-auth");
  assert(!refused.err.includes("allowInsecureAuth"));
  for (const flag of ["--insecure-auth", "--allow-insecure-auth"]) {
    const allowed = await login(flag);
    assertEquals(allowed.code, 0, allowed.err);
    assertStringIncludes(allowed.out, "README");
  }
});

Deno.test("cli telnet names the host, port and time taken when it cannot connect", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await telnet(["127.0.0.1", String(port)]);
  assertEquals(result.code, 1);
  assertMatch(
    result.err,
    new RegExp(
      `^inetkit telnet: Failed to connect to 127\\.0\\.0\\.1 port ${port} after \\d+ ms: Connection refused\\n$`,
    ),
  );
  const usage = await telnet(["127.0.0.1", "--cacert", "/x.pem"]);
  assertEquals(usage.code, 2);
  assertStringIncludes(usage.err, "--cacert needs --tls");
});
