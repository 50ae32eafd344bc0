import { getTime, TimeServer } from "../../net/mod.ts";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { PEERS_REQUIRED, peerTest } from "../_helpers/peers.ts";

const XINETD_TIME_PORT = 3737;

peerTest(
  "getTime() over TCP and UDP agrees with xinetd's RFC 868 service",
  XINETD_TIME_PORT,
  async () => {
    const tcp = await getTime({ port: XINETD_TIME_PORT, transport: "tcp" });
    const udp = await getTime({ port: XINETD_TIME_PORT, transport: "udp" });
    const now = Date.now();
    // xinetd reads the same clock as we do: within two seconds of it and each other.
    assert(Math.abs(tcp.getTime() - now) <= 2000, `tcp ${tcp.toISOString()}`);
    assert(Math.abs(udp.getTime() - now) <= 2000, `udp ${udp.toISOString()}`);
    assert(Math.abs(tcp.getTime() - udp.getTime()) <= 2000);
  },
);

peerTest("cli time agrees with xinetd over TCP and UDP", XINETD_TIME_PORT, async () => {
  const { run } = await import("../../cli/main.ts");
  const { captureIo } = await import("../../cli/_command.ts");
  for (const extra of [[], ["--udp"]]) {
    const io = captureIo();
    assertEquals(await run(["time", "127.0.0.1", String(XINETD_TIME_PORT), ...extra], io), 0);
    assertMatch(io.stdout, /^server time is .+ GMT\nlocal clock is -?[0-2] seconds off\n$/);
  }
});

async function which(command: string): Promise<string | null> {
  const { success, stdout } = await new Deno.Command("sh", {
    args: ["-c", `command -v ${command}`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return success ? new TextDecoder().decode(stdout).trim() : null;
}

async function runTool(cmd: string, args: string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const out = new TextDecoder().decode(stdout);
  if (!success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(stderr)}${out}`);
  return out;
}

/** An interop test that needs a local program rather than a peer server. */
function toolTest(name: string, tool: string, fn: (path: string) => Promise<void>): void {
  Deno.test(name, async () => {
    const path = await which(tool);
    if (path === null) {
      if (PEERS_REQUIRED) throw new Error(`${tool} is not installed but INETKIT_PEERS=1`);
      console.warn(`skipped: ${tool} is not installed (.ci/run installs it)`);
      return;
    }
    await fn(path);
  });
}

toolTest("rdate -p reads TimeServer over TCP and UDP", "rdate", async (rdate) => {
  const fixed = new Date("2031-07-08T09:10:11Z");
  await using server = new TimeServer({ now: () => fixed });
  for (const udp of [[], ["-u"]]) {
    const { success, stdout } = await new Deno.Command(rdate, {
      args: ["-p", ...udp, "-o", String(server.addr.port), "127.0.0.1"],
      env: { TZ: "UTC" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(success, "rdate exits 0");
    const out = new TextDecoder().decode(stdout).replace(/\s+/g, " ").trim();
    assertEquals(out, "Tue Jul 8 09:10:11 UTC 2031");
  }
});

toolTest(
  "Python's classic timeclient.py reads TimeServer over TCP and UDP",
  "/usr/bin/python3",
  async (python) => {
    const fixed = new Date(Math.floor(Date.now() / 1000) * 1000 - 42_000);
    await using server = new TimeServer({ now: () => fixed });
    const script = new URL("./fixtures/timeclient.py", import.meta.url).pathname;
    for (const mode of [[], ["udp"]]) {
      const out = await runTool(python, [script, "127.0.0.1", String(server.addr.port), ...mode]);
      assertMatch(out, /^server time is .+\nlocal clock is 4[2-4] seconds off\n$/);
    }
  },
);
