import { run } from "../../cli/main.ts";
import { captureIo } from "../../cli/_command.ts";
import { TimeServer } from "../../net/mod.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";

Deno.test("cli time prints the server time and the clock offset over TCP and UDP", async () => {
  const fixed = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_000);
  await using server = new TimeServer({ now: () => fixed });
  for (const extra of [[], ["--udp"]]) {
    const io = captureIo();
    assertEquals(await run(["time", "127.0.0.1", String(server.addr.port), ...extra], io), 0);
    assertEquals(
      io.stdout.split("\n")[0],
      `server time is ${fixed.toUTCString()}`,
    );
    assertMatch(io.stdout, /\nlocal clock is [34] seconds off\n$/);
  }
});

Deno.test("cli time exits 1 with a message when the server does not answer", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const io = captureIo();
  assertEquals(await run(["time", "127.0.0.1", String(port)], io), 1);
  assertStringIncludes(io.stderr, "inetkit time:");
});

Deno.test("cli time exits 2 on usage errors with one line and a pointer to --help", async () => {
  for (const args of [["time"], ["time", "host", "notaport"], ["time", "h", "--bogus"]]) {
    const io = captureIo();
    assertEquals(await run(args, io), 2, args.join(" "));
    assertEquals(io.stderr.trim().split("\n").length, 2, io.stderr);
    assertStringIncludes(io.stderr, "Try 'inetkit time --help' for more information.");
  }
  const io = captureIo();
  assertEquals(await run(["time", "--help"], io), 0);
  assertStringIncludes(io.stdout, "--udp");
});

Deno.test("cli main prints its version", async () => {
  const io = captureIo();
  assertEquals(await run(["--version"], io), 0);
  assertStringIncludes(io.stdout, "inetkit 0.");
  assertStringIncludes(io.stdout, `deno ${Deno.version.deno}`);
});

Deno.test("cli main lists commands and rejects unknown ones", async () => {
  const help = captureIo();
  assertEquals(await run(["--help"], help), 0);
  assertStringIncludes(help.stdout, "time-server");
  const unknown = captureIo();
  assertEquals(await run(["frobnicate"], unknown), 2);
  assertStringIncludes(unknown.stderr, "unknown command");
});

Deno.test("cli time-server serves until interrupted", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../cli/main.ts", import.meta.url).pathname,
      "time-server",
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
  const port = Number(/:(\d+)\n/.exec(text)?.[1]);
  assertMatch(text, /^Serving RFC 868 time on tcp and udp 127\.0\.0\.1:\d+\n/);
  const { getTime } = await import("../../net/mod.ts");
  const date = await getTime({ port, transport: "udp" });
  assertEquals(Math.abs(date.getTime() - Date.now()) < 2000, true);
  child.kill("SIGINT");
  assertEquals((await child.status).code, 0);
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel();
});

Deno.test("cli time-server logs each answer to standard error, not with --quiet", async () => {
  for (const quiet of [false, true]) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../cli/main.ts", import.meta.url).pathname,
        "time-server",
        "--port",
        "0",
        ...(quiet ? ["--quiet"] : []),
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
    const port = Number(/:(\d+)\n/.exec(text)?.[1]);
    const { getTime } = await import("../../net/mod.ts");
    await getTime({ port, transport: "tcp" });
    await getTime({ port, transport: "udp" });
    child.kill("SIGINT");
    assertEquals((await child.status).code, 0);
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += value;
    }
    const log = await new Response(child.stderr).text();
    assertEquals(rest, "");
    if (quiet) assertEquals(log, "");
    else {
      const lines = log.trimEnd().split("\n");
      assertEquals(lines.length, 2, log);
      assertMatch(lines[0]!, /^127\.0\.0\.1:\d+ \[\d{4}-\d\d-\d\dT[\d:.]+Z\] tcp$/);
      assertMatch(lines[1]!, /^127\.0\.0\.1:\d+ \[.*\] udp$/);
    }
  }
});

Deno.test("cli time names the host, port and time taken when it cannot connect", async () => {
  const { timeCommand } = await import("../../cli/time.ts");
  const { runCommand } = await import("../../cli/_command.ts");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const io = captureIo();
  assertEquals(await runCommand(timeCommand, ["127.0.0.1", String(port)], io), 1);
  assertMatch(
    io.stderr,
    new RegExp(
      `^inetkit time: Failed to connect to 127\\.0\\.0\\.1 port ${port} after \\d+ ms: Connection refused\\n$`,
    ),
  );
});
