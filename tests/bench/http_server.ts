/**
 * Hello-world keep-alive benchmark: inetkit's `serve` against `Deno.serve`
 * and Node's `node:http` (run by `node` when installed, else by Deno's
 * node:http), each in its own process, driven by `wrk -t1`, side by side in
 * one invocation. The `bare` row is the ceiling for any server on
 * `Deno.listen`: a loop that reads and writes a fixed response without
 * parsing anything. `--ref REV` adds a row for inetkit at another git
 * revision (checked out into a temporary worktree), for before/after
 * comparisons of a change.
 *
 * On a machine with two or more cores the servers are pinned to CPU 0 and
 * wrk to CPU 1 (`taskset`), so that the load generator and the server do not
 * fight for a core; rounds alternate between the servers and the medians
 * are reported. The figure to judge is requests per server-CPU-second
 * (from `/proc/PID/stat`), which does not depend on how much load wrk
 * manages to generate.
 *
 *   deno run -A tests/bench/http_server.ts [--duration 3] [--rounds 5] [--connections 32,1]
 *     [--only ours,deno,node,bare] [--ref REV] [--no-pin]
 *
 * @module
 */

const args = Deno.args;

// --- server mode (a child process) ---------------------------------------
if (args[0] === "--server") {
  const kind = args[1];
  const onListen = (addr: { port: number }) => console.log(`PORT ${addr.port}`);
  if (kind === "ours") {
    const root = args[2] ?? "../..";
    const { serve } = await import(new URL(`${root}/http/serve.ts`, import.meta.url).href);
    const server = serve({ port: 0, onListen }, () => new Response("Hello, World!"));
    await server.finished;
  } else if (kind === "bare") {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    onListen(listener.addr as Deno.NetAddr);
    const date = new Date().toUTCString();
    const response = new TextEncoder().encode(
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain;charset=UTF-8\r\n" +
        `date: ${date}\r\ncontent-length: 13\r\n\r\nHello, World!`,
    );
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(65536);
        try {
          while ((await conn.read(buf)) !== null) await conn.write(response);
        } catch {
          // the client left
        }
        conn.close();
      })();
    }
  } else if (kind === "deno") {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen },
      () => new Response("Hello, World!"),
    );
    await server.finished;
  } else {
    const http = await import("node:http");
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain;charset=UTF-8" });
      res.end("Hello, World!");
    });
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address() as { port: number };
      onListen(addr);
    });
  }
  await new Promise(() => {});
}

// --- driver ----------------------------------------------------------------
function option(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

const duration = Number(option("duration", "3"));
const rounds = Number(option("rounds", "5"));
const connections = option("connections", "32,1").split(",").map(Number);
const only = new Set(option("only", "ours,deno,node,bare").split(","));
const ref = option("ref", "");
const pin = !args.includes("--no-pin") && navigator.hardwareConcurrency >= 2 &&
  await hasBinary("taskset", ["--version"]);

const NODE_SCRIPT = `
const http = require("node:http");
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain;charset=UTF-8" });
  res.end("Hello, World!");
});
server.listen(0, "127.0.0.1", () => console.log("PORT " + server.address().port));
`;

async function hasBinary(name: string, probe = ["--version"]): Promise<boolean> {
  try {
    await new Deno.Command(name, { args: probe, stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

interface Running {
  child: Deno.ChildProcess;
  port: number;
}

/** The command, pinned to `cpu` with taskset when pinning is on. */
function pinned(cpu: number, program: string, programArgs: string[]): [string, string[]] {
  return pin ? ["taskset", ["-c", String(cpu), program, ...programArgs]] : [program, programArgs];
}

async function startServer(kind: string, root?: string): Promise<Running> {
  const self = new URL(import.meta.url).pathname;
  const [program, programArgs] = kind === "node" && await hasBinary("node")
    ? pinned(0, "node", ["-e", NODE_SCRIPT])
    : pinned(0, Deno.execPath(), [
      "run",
      "-A",
      self,
      "--server",
      kind === "ref" ? "ours" : kind,
      ...(root ? [root] : []),
    ]);
  const child = new Deno.Command(program, {
    args: programArgs,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/PORT (\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${kind} server exited before listening`);
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { child, port: Number(/PORT (\d+)/.exec(text)![1]) };
}

/** The pid that does the work: taskset execs the program, so it is the child itself. */
function workerPid(running: Running): number {
  return running.child.pid;
}

/** User + system CPU seconds of a process so far (Linux), or NaN. */
async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

interface Result {
  rps: number;
  p99ms: number;
  cpuMicros: number;
}

function milliseconds(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (m === null) return NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}

async function wrk(port: number, c: number, pid: number, seconds: number): Promise<Result> {
  const [program, programArgs] = pinned(1, "wrk", [
    "-t1",
    `-c${c}`,
    `-d${seconds}s`,
    "--latency",
    `http://127.0.0.1:${port}/`,
  ]);
  const before = await cpuSeconds(pid);
  const out = await new Deno.Command(program, { args: programArgs, stdout: "piped" }).output();
  const after = await cpuSeconds(pid);
  const text = new TextDecoder().decode(out.stdout);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const p99 = milliseconds(/99%\s+(\S+)/.exec(text)?.[1] ?? "?");
  if (/Non-2xx|Socket errors/.test(text)) console.error(text);
  return { rps, p99ms: p99, cpuMicros: ((after - before) / (rps * seconds)) * 1e6 };
}

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

if (!(await hasBinary("wrk"))) {
  console.log("wrk is not installed: nothing to measure");
  Deno.exit(0);
}

let refRoot: string | undefined;
if (ref !== "") {
  refRoot = await Deno.makeTempDir({ prefix: "inetkit-ref-" });
  const add = await new Deno.Command("git", {
    args: ["worktree", "add", "--detach", refRoot, ref],
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!add.success) throw new Error(new TextDecoder().decode(add.stderr));
}

const kinds = ["ours", ...(refRoot ? ["ref"] : []), "deno", "node", "bare"].filter((k) =>
  k === "ref" || only.has(k)
);
const labels: Record<string, string> = {
  ours: "inetkit serve",
  ref: `inetkit @${ref.slice(0, 10)}`,
  bare: "bare Deno.listen",
  deno: "Deno.serve",
  node: await hasBinary("node") ? "node:http (Node)" : "node:http (Deno)",
};
const servers = new Map<string, Running>();
const samples = new Map<string, Result[]>();
try {
  for (const kind of kinds) {
    servers.set(kind, await startServer(kind, kind === "ref" ? refRoot : undefined));
  }
  // Warm every server up once so that the JIT has settled.
  for (const kind of kinds) {
    const s = servers.get(kind)!;
    for (const c of connections) await wrk(s.port, c, workerPid(s), 1);
  }
  for (let round = 0; round < rounds; round++) {
    // Alternate the order each round so that no server always goes first.
    const order = round % 2 === 0 ? kinds : [...kinds].reverse();
    for (const c of connections) {
      for (const kind of order) {
        const s = servers.get(kind)!;
        const key = `${kind}/${c}`;
        const list = samples.get(key) ?? [];
        list.push(await wrk(s.port, c, workerPid(s), duration));
        samples.set(key, list);
      }
    }
  }
} finally {
  for (const s of servers.values()) {
    s.child.kill("SIGTERM");
    await s.child.status;
  }
  if (refRoot !== undefined) {
    await new Deno.Command("git", {
      args: ["worktree", "remove", "--force", refRoot],
      cwd: new URL("../..", import.meta.url).pathname,
      stdout: "null",
      stderr: "null",
    }).output();
  }
}

console.log(
  `\nhello world, keep-alive, wrk -t1 -d${duration}s, ${rounds} interleaved rounds, medians ` +
    `(${Deno.build.os}, ${navigator.hardwareConcurrency} cores, ${
      pin ? "server on CPU 0, wrk on CPU 1" : "not pinned"
    })\n`,
);
console.log(
  "server               conns     req/s   p99 ms  CPU µs/req  req/CPU-s  vs Deno.serve (req/CPU-s, p99)",
);
for (const c of connections) {
  const stats = (kind: string) => {
    const list = samples.get(`${kind}/${c}`) ?? [];
    const cpu = median(list.map((r) => r.cpuMicros));
    return {
      rps: median(list.map((r) => r.rps)),
      p99: median(list.map((r) => r.p99ms)),
      cpu,
      perCpu: 1e6 / cpu,
    };
  };
  const deno = kinds.includes("deno") ? stats("deno") : null;
  for (const kind of kinds) {
    const r = stats(kind);
    const vs = deno === null
      ? "-"
      : `${(r.perCpu / deno.perCpu).toFixed(2)}x, ${(r.p99 / deno.p99).toFixed(2)}x`;
    console.log(
      `${labels[kind]!.padEnd(20)} ${String(c).padStart(5)} ${r.rps.toFixed(0).padStart(9)} ${
        r.p99.toFixed(2).padStart(8)
      } ${r.cpu.toFixed(2).padStart(11)} ${r.perCpu.toFixed(0).padStart(10)}  ${vs}`,
    );
  }
}
