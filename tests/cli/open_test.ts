import { captureIo, runCommand } from "../../cli/_command.ts";
import { openCommand } from "../../cli/open.ts";
import { browserCommands, openUrl } from "../../net/open_url.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../_helpers/assert.ts";

/** A temp dir with fake browsers that record their arguments, one per line. */
async function withBrowsers(
  fn: (
    b: { dir: string; ok: string; fails: string; slow: string; record: () => Promise<string[][]> },
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const log = `${dir}/calls.log`;
  const script = (name: string, tail: string) => {
    const path = `${dir}/${name}`;
    Deno.writeTextFileSync(
      path,
      `#!/bin/sh\n{ printf '%s\\n' "$0"; for a in "$@"; do printf '%s\\n' "$a"; done; printf '%s\\n' '--end--'; } >> '${log}'\n${tail}\n`,
    );
    Deno.chmodSync(path, 0o755);
    return path;
  };
  const ok = script("browser", "exit 0");
  const fails = script("broken-browser", "exit 3");
  const slow = script("slow-browser", "sleep 0.4; exit 0");
  const record = async () => {
    let text = "";
    try {
      text = await Deno.readTextFile(log);
    } catch {
      return [];
    }
    const calls: string[][] = [];
    let current: string[] = [];
    for (const line of text.split("\n").slice(0, -1)) {
      if (line === "--end--") {
        calls.push(current);
        current = [];
      } else current.push(line);
    }
    return calls;
  };
  try {
    await fn({ dir, ok, fails, slow, record });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const HOSTILE_URL =
  `http://127.0.0.1/a b;touch PWNED $(touch PWNED2) \`touch PWNED3\` 'q' "d"&x=|y`;

Deno.test("openUrl() runs the BROWSER command with the URL as one argument, no shell", async () => {
  await withBrowsers(async ({ dir, ok, record }) => {
    const opened = await openUrl(HOSTILE_URL, { env: { BROWSER: ok }, os: "linux" });
    assertEquals(opened, { command: ok, args: [HOSTILE_URL] });
    assertEquals(await record(), [[ok, HOSTILE_URL]]);
    for (const name of ["PWNED", "PWNED2", "PWNED3"]) {
      assertEquals(await Deno.stat(`${dir}/${name}`).catch(() => null), null);
      assertEquals(await Deno.stat(name).catch(() => null), null);
    }
  });
});

Deno.test("openUrl() replaces %s inside arguments and keeps quoted words together", async () => {
  await withBrowsers(async ({ ok, record }) => {
    const url = "http://127.0.0.1:8080/x?a=1";
    await openUrl(url, { env: { BROWSER: `${ok} --new-tab "two words" --url=%s` }, os: "linux" });
    assertEquals(await record(), [[ok, "--new-tab", "two words", `--url=${url}`]]);
  });
});

Deno.test("openUrl() tries BROWSER entries in order; the first that succeeds wins", async () => {
  await withBrowsers(async ({ dir, ok, fails, record }) => {
    const url = "http://127.0.0.1/";
    const opened = await openUrl(url, {
      env: { BROWSER: `${dir}/missing-browser:${fails}::${ok}:${ok} --never` },
      os: "linux",
    });
    assertEquals(opened?.command, ok);
    assertEquals(await record(), [[fails, url], [ok, url]]);
  });
});

Deno.test("openUrl() falls back to xdg-open, open or rundll32 by platform", async () => {
  const tried: string[][] = [];
  const run = (command: string, args: string[]) => {
    tried.push([command, ...args]);
    return Promise.resolve(false);
  };
  const url = "http://127.0.0.1/";
  assertEquals(await openUrl(url, { env: {}, os: "linux", run }), null);
  assertEquals(await openUrl(url, { env: {}, os: "darwin", run }), null);
  assertEquals(await openUrl(url, { env: { BROWSER: "a;b" }, os: "windows", run }), null);
  assertEquals(tried, [
    ["xdg-open", url],
    ["open", url],
    ["a", url],
    ["b", url],
    ["rundll32", "url.dll,FileProtocolHandler", url],
  ]);
});

Deno.test("openUrl() refuses URLs that could pass as options or hold control characters", () => {
  for (const url of ["-e", "--help", "http://x/\nrm", "http://x/\0", ""]) {
    assertThrows(() => browserCommands(url, { env: {}, os: "linux" }), TypeError);
  }
});

Deno.test("openUrl() counts a browser still running after the timeout as opened", async () => {
  await withBrowsers(async ({ slow, record }) => {
    const started = Date.now();
    const opened = await openUrl("http://127.0.0.1/", {
      env: { BROWSER: slow },
      os: "linux",
      timeout: 50,
    });
    assertEquals(opened?.command, slow);
    assert(Date.now() - started < 350, "it did not wait for the browser to exit");
    // Let the fake browser finish before the directory goes.
    await new Promise((resolve) => setTimeout(resolve, 700));
    assertEquals((await record()).length, 1);
  });
});

Deno.test("cli open runs BROWSER and prints the plan with --dry-run", async () => {
  await withBrowsers(async ({ ok, record }) => {
    const previous = Deno.env.get("BROWSER");
    Deno.env.set("BROWSER", `${ok} %s`);
    try {
      const io = captureIo();
      assertEquals(await runCommand(openCommand, ["http://127.0.0.1/page"], io), 0);
      assertEquals(await record(), [[ok, "http://127.0.0.1/page"]]);
      const dry = captureIo();
      assertEquals(await runCommand(openCommand, ["--dry-run", "http://127.0.0.1/a b"], dry), 0);
      const lines = dry.stdout.trim().split("\n");
      assertEquals(lines[0], `${ok} 'http://127.0.0.1/a b'`);
      assertEquals(lines.length, 2);
    } finally {
      if (previous === undefined) Deno.env.delete("BROWSER");
      else Deno.env.set("BROWSER", previous);
    }
  });
});

Deno.test("cli open exits 1 when no command can open the URL, 2 on usage errors", async () => {
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-run",
      "--allow-env",
      new URL("../../cli/open.ts", import.meta.url).pathname,
      "http://127.0.0.1/",
    ],
    env: { BROWSER: "/nonexistent/browser", PATH: "/nonexistent" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(child.code, 1);
  assertStringIncludes(new TextDecoder().decode(child.stderr), "no browser could open");
  for (const args of [[], ["a", "b"], ["--", "-x"]]) {
    const io = captureIo();
    assertEquals(await runCommand(openCommand, args, io), 2, args.join(" "));
  }
});
