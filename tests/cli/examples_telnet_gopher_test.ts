/**
 * The classic chapter's telnetlib, gopherlib and webbrowser examples, run
 * with `deno run` against loopback servers (the demo Telnet server, a
 * GopherServer) and a fake browser.
 */
import { TelnetDemoServer } from "../../cli/_telnet_demo.ts";
import { GopherServer } from "../../net/gopher_server.ts";
import { assert, assertEquals, assertStringIncludes } from "../_helpers/assert.ts";

const decoder = new TextDecoder();

async function example(
  name: string,
  args: string[],
  permissions: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...permissions,
      new URL(`../../cli/examples/${name}`, import.meta.url).pathname,
      ...args,
    ],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: result.code,
    out: decoder.decode(result.stdout),
    err: decoder.decode(result.stderr),
  };
}

Deno.test("example telnet_login.ts (telnetlib-example-1) logs in, lists and logs out", async () => {
  await using server = new TelnetDemoServer({ files: ["README", "librarybook"] });
  const result = await example(
    "telnet_login.ts",
    ["127.0.0.1", String(server.addr.port), "mulder", "trustno1"],
    ["--allow-net=127.0.0.1"],
  );
  assertEquals([result.code, result.err], [0, ""]);
  assertStringIncludes(result.out, "mulder@demo:~$ ls\r\nREADME\r\nlibrarybook\r\n");
  assert(result.out.trimEnd().endsWith("logout"));
});

Deno.test("example gopher_menu.ts (gopherlib-example-1) prints each menu item", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${root}/gophermap`,
      "Welcome to Spam.Egg's gopher server\n0About Spam.Egg\t/about.txt\n1Misc\t/Misc\n",
    );
    await using server = new GopherServer({ root });
    const port = String(server.addr.port);
    const result = await example("gopher_menu.ts", ["127.0.0.1", port, "/"], [
      "--allow-net=127.0.0.1",
    ]);
    assertEquals([result.code, result.err], [0, ""]);
    const lines = result.out.trim().split("\n");
    assertEquals(lines, [
      `[ "i", "Welcome to Spam.Egg's gopher server", "", "null.host", "1" ]`,
      `[ "0", "About Spam.Egg", "/about.txt", "127.0.0.1", "${port}" ]`,
      `[ "1", "Misc", "/Misc", "127.0.0.1", "${port}" ]`,
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("example webbrowser_open.ts (webbrowser-example-1) opens two pages through BROWSER", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = `${dir}/opened.log`;
    const browser = `${dir}/fake-browser`;
    await Deno.writeTextFile(browser, `#!/bin/sh\nprintf '%s\\n' "$@" >> '${log}'\n`);
    await Deno.chmod(browser, 0o755);
    const result = await example(
      "webbrowser_open.ts",
      ["http://127.0.0.1:8080/", "http://127.0.0.1:8080/people/fredrik/librarybook.htm", "0.1"],
      ["--allow-run", "--allow-env=BROWSER"],
      { BROWSER: browser },
    );
    assertEquals([result.code, result.err], [0, ""]);
    assertEquals(
      await Deno.readTextFile(log),
      [
        "http://127.0.0.1:8080/",
        "http://127.0.0.1:8080/people/fredrik/librarybook.htm",
        "",
      ].join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the tour's Telnet and Gopher stops run against their own servers", async () => {
  const { captureIo } = await import("../../cli/_command.ts");
  const { TELNET_GOPHER_TOUR_STOPS } = await import("../../cli/_tour_telnet_gopher.ts");
  const io = captureIo();
  const servers: AsyncDisposable[] = [];
  try {
    for (const stop of TELNET_GOPHER_TOUR_STOPS) servers.push(...await stop.run(io));
  } finally {
    for (const server of servers) await server[Symbol.asyncDispose]();
  }
  assertEquals(io.stderr, "");
  assertStringIncludes(io.stdout, 'runCommand("echo TELNET-OK-$((6*7))") -> "TELNET-OK-42\\n"');
  assertStringIncludes(io.stdout, 'after exit: "exit\\r\\nlogout\\r\\n"');
  assertStringIncludes(io.stdout, "[0] README.md /README.md");
  assertStringIncludes(io.stdout, "[text] _command.ts <gopher://127.0.0.1:");
  assertStringIncludes(io.stdout, '"/../etc/passwd" -> "3Selector refused"');
});
