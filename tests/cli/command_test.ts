/**
 * The shared rules of every `inetkit` command (cli/_command.ts): help
 * headings, `--version`, one-line usage errors, exit codes from
 * `CommandError`, `--cacert` (77), and messages that name the address and
 * port a command could not listen on or connect to.
 */
import {
  captureIo,
  type Command,
  CommandError,
  connectFailure,
  listenFailure,
  missingExtension,
  osMessage,
  readCaCerts,
  runCommand,
} from "../../cli/_command.ts";
import { run } from "../../cli/main.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_helpers/assert.ts";

/** The commands `inetkit --help` lists. */
async function commandNames(): Promise<string[]> {
  const io = captureIo();
  assertEquals(await run(["--help"], io), 0);
  const list = io.stdout.split("Commands:\n")[1]!.split("\n\n")[0]!;
  return list.split("\n").map((line) => line.trim().split(/\s+/)[0]!).filter(Boolean);
}

Deno.test("every command's help starts with 'Usage: inetkit <command>'", async () => {
  const names = await commandNames();
  assert(names.includes("get") && names.includes("serve") && names.includes("mail"));
  for (const name of names) {
    const io = captureIo();
    assertEquals(await run([name, "--help"], io), 0, name);
    assert(io.stdout.startsWith(`Usage: inetkit ${name} `), `${name}: ${io.stdout.split("\n")[0]}`);
  }
});

Deno.test("every command answers --version as inetkit --version does", async () => {
  const top = captureIo();
  assertEquals(await run(["--version"], top), 0);
  assertMatch(top.stdout, /^inetkit \d+\.\d+\.\d+ \(deno \d+\.\d+\.\d+\)\n$/);
  for (const name of await commandNames()) {
    const io = captureIo();
    assertEquals(await run([name, "--version"], io), 0, name);
    assertEquals(io.stdout, top.stdout, name);
  }
  // After "--" it is an argument, not the option.
  const io = captureIo();
  const echo: Command = {
    name: "echo",
    summary: "",
    help: "Usage: inetkit echo\n",
    run: (args, out) => {
      out.out(args.join(" "));
      return Promise.resolve(0);
    },
  };
  assertEquals(await runCommand(echo, ["--", "--version", "--help"], io), 0);
  assertEquals(io.stdout, "-- --version --help");
});

Deno.test("every command prints a usage error as one line and a pointer to --help", async () => {
  for (const name of await commandNames()) {
    const io = captureIo();
    assertEquals(await run([name, "--no-such-option"], io), 2, name);
    const lines = io.stderr.trimEnd().split("\n");
    assertEquals(lines.length, 2, `${name}: ${io.stderr}`);
    assertEquals(lines[1], `Try 'inetkit ${name} --help' for more information.`);
  }
});

Deno.test("runCommand() prints a CommandError and returns its exit code", async () => {
  const failing: Command = {
    name: "fail",
    summary: "",
    help: "Usage: inetkit fail\n",
    run: () => Promise.reject(new CommandError("Cannot do it: no reason", 42)),
  };
  const io = captureIo();
  assertEquals(await runCommand(failing, [], io), 42);
  assertEquals(io.stderr, "inetkit fail: Cannot do it: no reason\n");
  assertEquals(new CommandError("x").exitCode, 1);
});

Deno.test("readCaCerts() reads a PEM file, and exits 77 for a missing file or one without a certificate", async () => {
  assertEquals(await readCaCerts(undefined), undefined);
  const dir = await Deno.makeTempDir();
  try {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    await Deno.writeTextFile(`${dir}/ca.pem`, pem);
    assertEquals(await readCaCerts(`${dir}/ca.pem`), [pem]);
    const missing = await assertRejects(() => readCaCerts(`${dir}/nope.pem`), CommandError);
    assertEquals(missing.exitCode, 77);
    assertEquals(
      missing.message,
      `Cannot read the CA certificate file ${dir}/nope.pem: No such file or directory`,
    );
    await Deno.writeTextFile(`${dir}/key.pem`, "-----BEGIN PRIVATE KEY-----\n");
    const wrong = await assertRejects(() => readCaCerts(`${dir}/key.pem`), CommandError);
    assertEquals(wrong.exitCode, 77);
    assertMatch(wrong.message, /holds no PEM certificate/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every command that takes --cacert exits 77 when the file cannot be read", async () => {
  const missing = "/nonexistent/inetkit-ca.pem";
  Deno.env.set("INETKIT_TEST_CACERT_PASS", "x");
  try {
    const cases: string[][] = [
      ["get", "--cacert", missing, "https://127.0.0.1:1/"],
      ["get", "--cacert", missing, "ftp://127.0.0.1:1/x"],
      [
        "mail",
        "send",
        "--server",
        "127.0.0.1:1",
        "--from",
        "a@x.test",
        "--to",
        "b@x.test",
        "--cacert",
        missing,
      ],
      [
        "mail",
        "list",
        "imap://u@127.0.0.1:1/",
        "--password-env",
        "INETKIT_TEST_CACERT_PASS",
        "--cacert",
        missing,
      ],
      [
        "mail",
        "read",
        "pop3://u@127.0.0.1:1/1",
        "--password-env",
        "INETKIT_TEST_CACERT_PASS",
        "--cacert",
        missing,
      ],
      ["telnet", "127.0.0.1", "1", "--tls", "--cacert", missing],
      ["proxy", "--port", "0", "--cacert", missing],
      ["proxy", "--port", "0", "--ca-cert", missing],
    ];
    for (const args of cases) {
      const io = captureIo();
      assertEquals(await run(args, io), 77, args.join(" "));
      assertMatch(io.stderr, /Cannot read the CA certificate file \/nonexistent\/inetkit-ca\.pem/);
    }
  } finally {
    Deno.env.delete("INETKIT_TEST_CACERT_PASS");
  }
});

Deno.test("every listening command names the address and port in use and suggests port 0", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = String(taken.addr.port);
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string[], string][] = [
      [["serve", dir, "--port", port], "--port 0"],
      [["proxy", "--port", port], "--port 0"],
      [["time-server", "--tcp", "--port", port], "--port 0"],
      [["gopher-server", dir, "--port", port], "--port 0"],
      [
        ["mail", "serve", "--dir", dir, "--user", "a:b", "--smtp-port", "0", "--pop3-port", port],
        "--pop3-port 0",
      ],
    ];
    for (const [args, advice] of cases) {
      const io = captureIo();
      assertEquals(await run(args, io), 1, args.join(" "));
      assertEquals(io.stdout.includes("Serving"), false);
      assertMatch(
        io.stderr,
        new RegExp(
          `^inetkit [a-z -]+: Cannot listen on 127\\.0\\.0\\.1 port ${port}: the address is already ` +
            `in use \\(another server runs there; ${advice} picks a free port\\)\\n$`,
        ),
        args.join(" "),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listenFailure() explains the errors of listen and passes others through", () => {
  const inUse = listenFailure(new Deno.errors.AddrInUse("Address already in use"), "::1", 80);
  assert(inUse instanceof CommandError);
  assertMatch(inUse.message, /^Cannot listen on \[::1\] port 80: the address is already in use/);
  const denied = listenFailure(new Deno.errors.PermissionDenied("denied"), "0.0.0.0", 80);
  assertMatch((denied as Error).message, /permission denied \(ports below 1024 need privileges/);
  const foreign = listenFailure(new Deno.errors.AddrNotAvailable("x"), "10.9.9.9", 8000);
  assertMatch((foreign as Error).message, /10\.9\.9\.9 is not an address of this machine/);
  const other = new Error("other");
  assertEquals(listenFailure(other, "h", 1), other);
});

Deno.test("connectFailure() says where and after how long, as curl does", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const error = await Deno.connect({ hostname: "127.0.0.1", port }).then(
    (c) => (c.close(), null),
    (e) => e,
  );
  assertEquals(
    connectFailure(error, "127.0.0.1", port, 12.4),
    `Failed to connect to 127.0.0.1 port ${port} after 12 ms: Connection refused`,
  );
  assertEquals(
    connectFailure(new Error("x", { cause: error }), "::1", 9, 0, "proxy "),
    "Failed to connect to proxy [::1] port 9 after 0 ms: Connection refused",
  );
  const lookup = new Error("failed to lookup address information: Name or service not known");
  assertEquals(connectFailure(lookup, "h.invalid", 80, 1), "Could not resolve host: h.invalid");
  assertEquals(
    connectFailure(lookup, "p.invalid", 80, 1, "proxy "),
    "Could not resolve proxy: p.invalid",
  );
  assertEquals(connectFailure(new Error("Bad reply"), "h", 1, 0), null);
});

Deno.test("osMessage() drops Deno's os error number, errno name and path tails", () => {
  assertEquals(
    osMessage(new Error("Connection refused (os error 111) (ECONNREFUSED)")),
    "Connection refused",
  );
  assertEquals(
    osMessage(new Error("No such file or directory (os error 2): readfile '/x.pem'")),
    "No such file or directory",
  );
  assertEquals(osMessage("plain"), "plain");
});

Deno.test("missingExtension() reads a MissingExtensionError in the error or its causes", async () => {
  const { MissingExtensionError } = await import("../../net/missing_extension_error.ts");
  const { ProtocolError } = await import("../../net/protocol_error.ts");
  assertEquals(missingExtension(new MissingExtensionError("STLS", "Cannot start TLS")), "STLS");
  assertEquals(
    missingExtension(new Error("wrapped", { cause: new MissingExtensionError("AUTH TLS", "x") })),
    "AUTH TLS",
  );
  assertEquals(missingExtension(new ProtocolError("BAD_REPLY", "x")), null);
  assertEquals(missingExtension(new Error("x")), null);
});
