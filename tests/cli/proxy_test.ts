import { proxyCommand, startProxy } from "../../cli/proxy.ts";
import { captureIo, runCommand, UsageError } from "../../cli/_command.ts";
import { serve } from "../../http/serve.ts";
import {
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";

async function curl(args: string[]): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command("curl", {
    args: ["-s", ...args],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return { code: out.code, out: new TextDecoder().decode(out.stdout) };
}

Deno.test("proxy --help prints the usage and exits 0", async () => {
  const io = captureIo();
  assertEquals(await runCommand(proxyCommand, ["--help"], io), 0);
  assertStringIncludes(io.stdout, "Usage: inetkit proxy [options]");
  assertStringIncludes(io.stdout, "--connect-port N");
});

Deno.test("proxy rejects bad arguments with a UsageError", async () => {
  for (
    const args of [
      ["--port", "x"],
      ["--connect-port", "0x50"],
      ["extra"],
      ["--bogus"],
      ["--deny", "10.0.0.0/40"],
      ["--allow", "not-a-range"],
      ["--timeout", "0"],
    ]
  ) {
    await assertRejects(
      () => proxyCommand.run(args, captureIo()),
      UsageError,
      undefined,
      args.join(" "),
    );
  }
});

Deno.test("proxy forwards curl -x requests and logs each one", async () => {
  const origin = serve(
    { port: 0 },
    (request) => new Response(`origin saw ${new URL(request.url).pathname}`),
  );
  const controller = new AbortController();
  const io = captureIo();
  const { server, url } = await startProxy(["--port", "0"], io, controller.signal);
  try {
    assertMatch(io.stdout, /^Proxying at http:\/\/127\.0\.0\.1:\d+ \(curl -x /);
    const out = await curl(["-x", url, `http://127.0.0.1:${origin.addr.port}/x/y`]);
    assertEquals(out.out, "origin saw /x/y");
    // The access log goes to standard error; standard output has only the banner.
    assertEquals(io.stdout.trim().split("\n").length, 1);
    const log = io.stderr.trim().split("\n");
    assertEquals(log.length, 1);
    assertMatch(
      log[0]!,
      new RegExp(`"GET http://127\\.0\\.0\\.1:${origin.addr.port}/x/y HTTP/1\\.1" 200`),
    );
    // CONNECT is limited to 443 unless told otherwise.
    const tunnel = await curl(["-p", "-x", url, `http://127.0.0.1:${origin.addr.port}/`]);
    assertEquals(tunnel.code === 0, false);
  } finally {
    controller.abort();
    await server.finished;
    await origin.shutdown();
  }
});

Deno.test("proxy --connect-port allows tunnels to that port", async () => {
  const origin = serve({ port: 0 }, () => new Response("through the tunnel"));
  const controller = new AbortController();
  const { server, url } = await startProxy(
    ["--port", "0", "--quiet", "--connect-port", String(origin.addr.port)],
    captureIo(),
    controller.signal,
  );
  try {
    const out = await curl(["-p", "-x", url, `http://127.0.0.1:${origin.addr.port}/`]);
    assertEquals(out.out, "through the tunnel");
  } finally {
    controller.abort();
    await server.finished;
    await origin.shutdown();
  }
});

Deno.test("proxy --deny refuses a range and curl sees 403", async () => {
  await using origin = serve({ port: 0 }, () => new Response("origin"));
  const controller = new AbortController();
  const { server, url } = await startProxy(
    ["--port", "0", "--quiet", "--deny", "127.0.0.0/8"],
    captureIo(),
    controller.signal,
  );
  const result = await curl([
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-x",
    url,
    `http://127.0.0.1:${origin.addr.port}/`,
  ]);
  assertEquals(result.out, "403");
  controller.abort();
  await server.finished;
});
