/**
 * Beyond one core: hello-world keep-alive throughput of inetkit's
 * `serve({ reusePort: true })` run as two processes on one port
 * (SO_REUSEPORT, Linux; the way `cli serve --workers 2` runs), against
 * `deno serve --parallel` with two workers (`DENO_JOBS=2`) and a private
 * nginx with `worker_processes 2` (skipped when `/usr/sbin/nginx` is absent).
 * One inetkit process on its own gives the scaling ratio. Every server
 * listens on 127.0.0.1 only; wrk (`-t2 --latency`) drives them in
 * interleaved rounds and the medians are printed, with ratios against the
 * two-process inetkit row.
 *
 * CPU µs per request is the user + system time (`/proc/PID/stat`) of every
 * process of the server over the run (the two inetkit processes; nginx's
 * master and its workers; the one `deno serve` process, whose workers are
 * threads), divided by the requests wrk completed. For the multi-process
 * servers the split of that CPU time and of wrk's connections (counted
 * halfway through a run) over the processes is printed per round, and for
 * inetkit the split of the requests answered (each process counts them and
 * answers a line on its stdin with the count), to show how evenly the load was spread. nginx gets
 * `keepalive_requests 1000000` so that, like the other two, it keeps every
 * connection open for the whole run.
 *
 *   deno run -A tests/bench/http_workers.ts [--rounds 5] [--duration 3] [--connections 64]
 *
 * Nothing is pinned with taskset: the point is to use both cores, and on a
 * two-core machine there is no spare core for wrk, so the servers and wrk
 * share the cores and req/s is bounded by the machine as a whole. The CPU
 * µs per request column is the figure that does not depend on that.
 *
 * @module
 */

const args = Deno.args;
const HELLO = "Hello, World!";

// --- server mode (a child process) ---------------------------------------
if (args[0] === "--server") {
  const { serve } = await import(new URL("../../http/serve.ts", import.meta.url).href);
  // The requests this process answered, printed for each line on stdin, so
  // that the driver can see how the kernel spread the load. (Not on a
  // signal: SIGUSR1 opens Deno's inspector.) The end of stdin ends it.
  let served = 0;
  const server = serve(
    {
      port: Number(args[1] ?? "0"),
      hostname: "127.0.0.1",
      reusePort: true,
      onListen: (addr: { port: number }) => console.log(`PORT ${addr.port}`),
    },
    () => {
      served++;
      return new Response(HELLO);
    },
  );
  const encoder = new TextEncoder();
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    for (const _ of chunk.matchAll(/\n/g)) {
      await Deno.stdout.write(encoder.encode(`COUNT ${served}\n`));
    }
  }
  await server.shutdown();
  Deno.exit(0);
}

// --- driver ----------------------------------------------------------------
function option(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

function positive(name: string, fallback: string): number {
  const n = Number(option(name, fallback));
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer`);
    Deno.exit(2);
  }
  return n;
}

const rounds = positive("rounds", "5");
const duration = positive("duration", "3");
const connections = positive("connections", "64");
const NGINX = "/usr/sbin/nginx";
const CLK_TCK = 100;

interface Server {
  key: string;
  label: string;
  port: number;
  /** The processes started directly (the inetkit pair, or one root). */
  roots: Deno.ChildProcess[];
  /** Every pid seen in the server's process trees, for the final kill. */
  seen: Set<number>;
  /** For inetkit: the line-protocol pipes of each process, by pid. */
  probes: Map<number, Probe>;
}

interface Sample {
  rps: number;
  p99ms: number;
  cpuMicros: number;
  cpuPercent: number;
  /** CPU seconds of each process over the run, by pid. */
  perPid: Map<number, number>;
  /** Established connections of each process halfway through the run, by pid. */
  connsPerPid: Map<number, number>;
  /** Requests each inetkit process answered over the run, by pid. */
  requestsPerPid: Map<number, number>;
}

/** An inetkit child's stdin and stdout, spoken to a line at a time. */
interface Probe {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  reader: ReadableStreamDefaultReader<string>;
  buffered: string;
}

/** The next line on the probe's stdout that matches `pattern`, as its match. */
async function readLine(probe: Probe, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  while (true) {
    const end = probe.buffered.indexOf("\n");
    if (end >= 0) {
      const line = probe.buffered.slice(0, end);
      probe.buffered = probe.buffered.slice(end + 1);
      const m = pattern.exec(line);
      if (m !== null) return m;
      continue;
    }
    const { value, done } = await probe.reader.read();
    if (done) throw new Error(`${what} exited`);
    probe.buffered += value;
  }
}

async function hasBinary(name: string, probe: string[]): Promise<boolean> {
  try {
    await new Deno.Command(name, { args: probe, stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

/** A port on 127.0.0.1 that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Every process, as pid → parent pid (Linux /proc). */
async function parents(): Promise<Map<number, number>> {
  const map = new Map<number, number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      map.set(Number(entry.name), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  return map;
}

/** The server's processes now: its roots and all their descendants. */
async function serverPids(server: Server): Promise<number[]> {
  const ppid = await parents();
  const pids: number[] = [];
  const queue = server.roots.map((child) => child.pid).filter((pid) => ppid.has(pid));
  while (queue.length > 0) {
    const pid = queue.shift()!;
    pids.push(pid);
    server.seen.add(pid);
    for (const [child, parent] of ppid) if (parent === pid) queue.push(child);
  }
  return pids;
}

/** User + system CPU seconds of one process so far (all its threads), or NaN. */
async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

async function cpuOf(pids: number[]): Promise<Map<number, number>> {
  const map = new Map<number, number>();
  for (const pid of pids) map.set(pid, await cpuSeconds(pid));
  return map;
}

/** Established TCP connections on local `port`, counted per process. */
async function connectionsPerPid(pids: number[], port: number): Promise<Map<number, number>> {
  const inodes = new Set<string>();
  const want = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = await Deno.readTextFile(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (local === undefined || cols[3] !== "01" || cols[9] === undefined) continue;
      if (local.slice(local.lastIndexOf(":") + 1) === want) inodes.add(cols[9]);
    }
  }
  const counts = new Map<number, number>();
  for (const pid of pids) {
    let n = 0;
    try {
      for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(await Deno.readLink(`/proc/${pid}/fd/${fd.name}`));
          if (m !== null && inodes.has(m[1]!)) n++;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // gone
    }
    counts.set(pid, n);
  }
  return counts;
}

/** Resolves once `GET /` on the port answers the hello-world body. */
async function waitReady(port: number, what: string, exited: () => boolean): Promise<void> {
  const request = new TextEncoder().encode(
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
  );
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`${what} exited before it answered on port ${port}`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(request);
        let text = "";
        const buf = new Uint8Array(4096);
        const decoder = new TextDecoder();
        for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
          text += decoder.decode(buf.subarray(0, n), { stream: true });
        }
        if (/^HTTP\/1\.1 200/.test(text) && text.endsWith(HELLO)) return;
      } finally {
        conn.close();
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not answer on 127.0.0.1:${port} within 20 s`);
}

/** Watches a child so that readiness polling can stop when it dies. */
function watch(child: Deno.ChildProcess): () => boolean {
  let done = false;
  child.status.then(() => done = true, () => done = true);
  return () => done;
}

function spawnInetkit(port: number): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      new URL(import.meta.url).pathname,
      "--server",
      String(port),
    ],
    cwd: new URL("../..", import.meta.url).pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** `count` inetkit processes on one port, all with reusePort. */
async function startInetkit(server: Server, count: number): Promise<void> {
  const spawn = async (port: number) => {
    const child = spawnInetkit(port);
    server.roots.push(child);
    const probe: Probe = {
      writer: child.stdin.getWriter(),
      reader: child.stdout.pipeThrough(new TextDecoderStream()).getReader(),
      buffered: "",
    };
    server.probes.set(child.pid, probe);
    return Number((await readLine(probe, /^PORT (\d+)$/, server.label))[1]);
  };
  const port = await spawn(0);
  for (let i = 1; i < count; i++) {
    if (await spawn(port) !== port) {
      throw new Error("a second inetkit process did not get the same port");
    }
  }
  server.port = port;
  await waitReady(port, server.label, () => false);
}

async function startDenoServe(server: Server, dir: string): Promise<void> {
  const script = `${dir}/hello_serve.ts`;
  await Deno.writeTextFile(
    script,
    `export default { fetch() { return new Response(${JSON.stringify(HELLO)}); } };\n`,
  );
  server.port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      "--no-config",
      "--parallel",
      "--host",
      "127.0.0.1",
      "--port",
      String(server.port),
      script,
    ],
    cwd: dir,
    env: { DENO_JOBS: "2" },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  server.roots.push(child);
  await waitReady(server.port, server.label, watch(child));
}

async function startNginx(server: Server, dir: string): Promise<void> {
  server.port = freePort();
  const prefix = `${dir}/nginx`;
  await Deno.mkdir(prefix, { recursive: true });
  await Deno.writeTextFile(
    `${prefix}/nginx.conf`,
    [
      "worker_processes 2;",
      "daemon off;",
      "master_process on;",
      `error_log ${prefix}/error.log;`,
      `pid ${prefix}/nginx.pid;`,
      "events { worker_connections 1024; }",
      "http {",
      "  access_log off;",
      // Like the other servers, keep a connection for as many requests as wrk sends.
      "  keepalive_requests 1000000;",
      "  default_type text/plain;",
      `  client_body_temp_path ${prefix}/client_body;`,
      `  proxy_temp_path ${prefix}/proxy;`,
      `  fastcgi_temp_path ${prefix}/fastcgi;`,
      `  uwsgi_temp_path ${prefix}/uwsgi;`,
      `  scgi_temp_path ${prefix}/scgi;`,
      "  server {",
      `    listen 127.0.0.1:${server.port};`,
      "    location / { return 200 " + JSON.stringify(HELLO) + "; }",
      "  }",
      "}",
      "",
    ].join("\n"),
  );
  const child = new Deno.Command(NGINX, {
    args: ["-p", prefix, "-c", `${prefix}/nginx.conf`, "-e", `${prefix}/error.log`],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  server.roots.push(child);
  await waitReady(server.port, server.label, watch(child));
  // The workers fork after the master listens: wait until both are there.
  const deadline = Date.now() + 10_000;
  while ((await serverPids(server)).length < 3 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Asks each inetkit process how many requests it has answered so far. */
async function requestCounts(server: Server): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const newline = new TextEncoder().encode("\n");
  for (const [pid, probe] of server.probes) {
    await probe.writer.write(newline);
    counts.set(pid, Number((await readLine(probe, /^COUNT (\d+)$/, server.label))[1]));
  }
  return counts;
}

function milliseconds(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (m === null) return NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}

async function measure(server: Server, seconds: number): Promise<Sample> {
  const pids = await serverPids(server);
  const servedBefore = await requestCounts(server);
  const before = await cpuOf(pids);
  const start = performance.now();
  const run = new Deno.Command("wrk", {
    args: [
      "-t2",
      `-c${connections}`,
      `-d${seconds}s`,
      "--latency",
      `http://127.0.0.1:${server.port}/`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  await new Promise((resolve) => setTimeout(resolve, seconds * 500));
  const connsPerPid = await connectionsPerPid(pids, server.port);
  const out = await run;
  const wall = (performance.now() - start) / 1000;
  const after = await cpuOf(pids);
  const servedAfter = await requestCounts(server);
  const requestsPerPid = new Map<number, number>();
  for (const [pid, n] of servedAfter) requestsPerPid.set(pid, n - (servedBefore.get(pid) ?? NaN));
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success || /Non-2xx|Socket errors/.test(text)) {
    console.error(`${server.label}: ${text}${new TextDecoder().decode(out.stderr)}`);
  }
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  const perPid = new Map<number, number>();
  let total = 0;
  for (const pid of pids) {
    const used = (after.get(pid) ?? NaN) - (before.get(pid) ?? NaN);
    perPid.set(pid, used);
    if (Number.isFinite(used)) total += used;
  }
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN),
    p99ms: milliseconds(/99%\s+(\S+)/.exec(text)?.[1] ?? "?"),
    cpuMicros: (total / requests) * 1e6,
    cpuPercent: (total / wall) * 100,
    perPid,
    connsPerPid,
    requestsPerPid,
  };
}

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Ends every process of every server, roots first, then any leftover by pid. */
async function stopAll(servers: Server[]): Promise<void> {
  for (const server of servers) {
    for (const probe of server.probes.values()) {
      probe.writer.close().catch(() => {});
      probe.reader.cancel().catch(() => {});
    }
    for (const child of server.roots) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
  }
  for (const server of servers) {
    for (const child of server.roots) {
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await child.status;
      clearTimeout(timer);
    }
    // nginx's workers go with their master; make sure nothing else lingers.
    const roots = new Set(server.roots.map((child) => child.pid));
    for (const pid of server.seen) {
      if (roots.has(pid)) continue;
      try {
        await Deno.stat(`/proc/${pid}`);
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone, as it should be
      }
    }
  }
}

// --- main ------------------------------------------------------------------
if (Deno.build.os !== "linux") {
  console.log("SO_REUSEPORT load spreading and /proc are Linux only: nothing to measure");
  Deno.exit(0);
}
if (!(await hasBinary("wrk", ["--version"]))) {
  console.log("wrk is not installed: nothing to measure");
  Deno.exit(0);
}
const haveNginx = await Deno.stat(NGINX).then((s) => s.isFile, () => false);
if (!haveNginx) console.log(`${NGINX} is not installed: skipping the nginx row`);

const dir = await Deno.makeTempDir({ prefix: "inetkit-bench-workers-" });
const newServer = (key: string, label: string): Server => ({
  key,
  label,
  port: 0,
  roots: [],
  seen: new Set(),
  probes: new Map(),
});
const servers: Server[] = [
  newServer("ours2", "inetkit serve ×2 procs"),
  newServer("ours1", "inetkit serve ×1 proc"),
  newServer("deno", "deno serve --parallel 2"),
  ...(haveNginx ? [newServer("nginx", "nginx 2 workers")] : []),
];
const samples = new Map<string, Sample[]>(servers.map((s) => [s.key, []]));
const onInterrupt = () => {
  stopAll(servers).finally(() => Deno.remove(dir, { recursive: true }).catch(() => {}))
    .finally(() => Deno.exit(130));
};
Deno.addSignalListener("SIGINT", onInterrupt);
try {
  for (const server of servers) {
    if (server.key === "ours2") await startInetkit(server, 2);
    else if (server.key === "ours1") await startInetkit(server, 1);
    else if (server.key === "deno") await startDenoServe(server, dir);
    else await startNginx(server, dir);
  }
  // One short run each so that the JITs have settled and every worker is up.
  for (const server of servers) await measure(server, 1);
  for (let round = 0; round < rounds; round++) {
    // Alternate the order so that no server always runs first.
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const server of order) samples.get(server.key)!.push(await measure(server, duration));
  }
} finally {
  Deno.removeSignalListener("SIGINT", onInterrupt);
  await stopAll(servers);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

// --- report ----------------------------------------------------------------
console.log(
  `\nhello world, keep-alive, wrk -t2 -c${connections} -d${duration}s --latency, ` +
    `${rounds} interleaved rounds, medians (${Deno.build.os}, ${navigator.hardwareConcurrency} ` +
    "cores, not pinned: the servers and wrk share the cores)\n",
);
const stats = (key: string) => {
  const list = samples.get(key) ?? [];
  return {
    rps: median(list.map((s) => s.rps)),
    p99: median(list.map((s) => s.p99ms)),
    cpu: median(list.map((s) => s.cpuMicros)),
    cpuPercent: median(list.map((s) => s.cpuPercent)),
  };
};
const base = stats("ours2");
console.log(
  "server                      req/s   p99 ms  CPU µs/req  server CPU %   vs inetkit ×2 (req/s, CPU/req, p99)",
);
for (const server of servers) {
  const r = stats(server.key);
  const vs = server.key === "ours2" ? "1.00x, 1.00x, 1.00x" : [
    (r.rps / base.rps).toFixed(2),
    (r.cpu / base.cpu).toFixed(2),
    (r.p99 / base.p99).toFixed(2),
  ].map((x) => `${x}x`).join(", ");
  console.log(
    `${server.label.padEnd(24)} ${r.rps.toFixed(0).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${
      r.cpu.toFixed(2).padStart(11)
    } ${r.cpuPercent.toFixed(0).padStart(13)}   ${vs}`,
  );
}
const one = stats("ours1");
console.log(
  `\ninetkit scaling, 2 processes / 1 process: req/s ${(base.rps / one.rps).toFixed(2)}x, ` +
    `CPU µs/req ${(base.cpu / one.cpu).toFixed(2)}x, server CPU ${
      (base.cpuPercent / one.cpuPercent).toFixed(2)
    }x`,
);

// How evenly the load was spread over the processes of the multi-process servers.
for (const server of servers.filter((s) => s.key === "ours2" || s.key === "nginx")) {
  const list = samples.get(server.key) ?? [];
  const pids = [...new Set(list.flatMap((s) => [...s.perPid.keys()]))].sort((a, b) => a - b);
  const names = server.key === "nginx"
    ? pids.map((pid) => (server.roots.some((c) => c.pid === pid) ? "master" : "worker"))
    : pids.map((_, i) => `proc ${i + 1}`);
  const cpuSplit = list.map((s) => {
    const total = pids.reduce((sum, pid) => sum + (s.perPid.get(pid) ?? 0), 0);
    return pids.map((pid) => `${(((s.perPid.get(pid) ?? 0) / total) * 100).toFixed(0)}`).join("/");
  });
  const connSplit = list.map((s) => pids.map((pid) => s.connsPerPid.get(pid) ?? 0).join("/"));
  const requestSplit = list.map((s) => {
    const total = [...s.requestsPerPid.values()].reduce((sum, n) => sum + n, 0);
    return pids.map((pid) => (((s.requestsPerPid.get(pid) ?? NaN) / total) * 100).toFixed(0))
      .join("/");
  });
  console.log(
    `\n${server.label} (${names.join("/")}), by round:\n` +
      `  share of server CPU %: ${cpuSplit.join("  ")}\n` +
      (server.probes.size > 0 ? `  share of requests %:   ${requestSplit.join("  ")}\n` : "") +
      `  connections mid-run:   ${connSplit.join("  ")}`,
  );
}
