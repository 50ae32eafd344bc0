/**
 * Static file benchmark: inetkit's `serveDir` on inetkit's `serve` against
 * nginx and against `Deno.serve` returning `Deno.open(...).readable` bodies,
 * on the same files (a small file, 1 MiB, 100 MiB), driven by `wrk`.
 *
 *   deno run -A tests/bench/file_server.ts [--duration 3] [--connections 8] [--only small,1mib,100mib]
 *
 * Each server runs in its own process. nginx is started privately (same
 * settings as the peer on 8080: 1 worker, sendfile on, tcp_nopush) on a free
 * port with the benchmark directory as its root; without an nginx binary the
 * nginx column is left out. Prints a table with ratios.
 *
 * @module
 */

const args = Deno.args;

// --- server mode (a child process) ---------------------------------------
if (args[0] === "--server") {
  const kind = args[1];
  const root = args[2]!;
  if (kind === "ours") {
    const { serve } = await import("../../http/serve.ts");
    const { serveDir } = await import("../../http/file_server.ts");
    const server = serve(
      { port: 0, onListen: (addr) => console.log(`PORT ${addr.port}`) },
      (request) => serveDir(request, { fsRoot: root }),
    );
    await server.finished;
  } else if (kind === "deno") {
    Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: (addr) => console.log(`PORT ${addr.port}`),
    }, async (request) => {
      const path = root + decodeURIComponent(new URL(request.url).pathname);
      try {
        const file = await Deno.open(path);
        const { size } = await file.stat();
        return new Response(file.readable, {
          headers: { "content-length": String(size), "content-type": "application/octet-stream" },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
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
const connections = Number(option("connections", "8"));
const only = option("only", "small,1mib,100mib").split(",");

const FILES = [
  { key: "small", name: "small.txt", size: 1024, connections },
  { key: "1mib", name: "1mib.bin", size: 1024 * 1024, connections },
  { key: "100mib", name: "100mib.bin", size: 100 * 1024 * 1024, connections: 2 },
].filter((f) => only.includes(f.key));

const root = await Deno.makeTempDir({ prefix: "inetkit_bench_" });
await Deno.chmod(root, 0o755);
for (const f of FILES) {
  const data = new Uint8Array(f.size).fill(65);
  await Deno.writeFile(`${root}/${f.name}`, data, { mode: 0o644 });
}

interface Running {
  port: number;
  stop: () => Promise<void>;
}

async function startChild(kind: string): Promise<Running> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--server", kind, root],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/PORT (\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${kind} server did not start`);
    text += value;
  }
  const port = Number(/PORT (\d+)/.exec(text)![1]);
  return {
    port,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      reader.cancel().catch(() => {});
    },
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function startNginx(): Promise<Running | null> {
  try {
    await new Deno.Command("nginx", { args: ["-v"], stderr: "null" }).output();
  } catch {
    return null;
  }
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "inetkit_bench_nginx_" });
  await Deno.chmod(dir, 0o755);
  for (const d of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
    await Deno.mkdir(`${dir}/${d}`);
  }
  const conf = `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 100000;
  server { listen 127.0.0.1:${port}; root ${root}; }
}
`;
  await Deno.writeTextFile(`${dir}/nginx.conf`, conf);
  const child = new Deno.Command("nginx", {
    args: ["-c", `${dir}/nginx.conf`, "-p", dir],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    port,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

interface Result {
  rps: number;
  bytesPerSec: number;
}

function parseRate(text: string): number {
  const m = /^([\d.]+)([KMG]?)B$/.exec(text);
  if (!m) return NaN;
  const mult = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as "" | "K" | "M" | "G"];
  return Number(m[1]) * mult;
}

async function wrk(port: number, path: string, conns: number): Promise<Result> {
  const out = await new Deno.Command("wrk", {
    args: ["-t1", `-c${conns}`, `-d${duration}s`, `http://127.0.0.1:${port}${path}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const rate = parseRate(/Transfer\/sec:\s+(\S+)/.exec(text)?.[1] ?? "");
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (errors) throw new Error(`wrk saw ${errors[1]} error responses on port ${port}${path}`);
  return { rps, bytesPerSec: rate };
}

async function check(port: number, path: string, size: number): Promise<void> {
  // One GET through a raw socket to verify the status and length before measuring.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
  );
  const buf = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder("latin1").decode(buf.subarray(0, n));
  }
  conn.close();
  const length = /content-length:\s*(\d+)/i.exec(text)?.[1];
  if (!text.startsWith("HTTP/1.1 200") || Number(length) !== size) {
    throw new Error(
      `port ${port}: GET ${path} says ${text.split("\r\n")[0]}, length ${length}, want ${size}`,
    );
  }
}

const servers: [string, () => Promise<Running | null>][] = [
  ["nginx", startNginx],
  ["inetkit", () => startChild("ours")],
  ["Deno.serve", () => startChild("deno")],
];

const results = new Map<string, Map<string, Result>>();
for (const [name, start] of servers) {
  const running = await start();
  if (running === null) {
    console.error(`(${name} not available: skipped)`);
    continue;
  }
  try {
    const row = new Map<string, Result>();
    for (const f of FILES) {
      await check(running.port, `/${f.name}`, f.size);
      row.set(f.key, await wrk(running.port, `/${f.name}`, f.connections));
    }
    results.set(name, row);
  } finally {
    await running.stop();
  }
}
await Deno.remove(root, { recursive: true });

function fmtRate(bytes: number): string {
  return bytes >= 1024 ** 3
    ? `${(bytes / 1024 ** 3).toFixed(2)} GiB/s`
    : `${(bytes / 1024 ** 2).toFixed(1)} MiB/s`;
}

console.log(
  `\nwrk -t1, ${duration} s per case (${connections} connections; 2 for 100 MiB), loopback\n`,
);
const header = ["file", "nginx", "inetkit", "Deno.serve", "inetkit/nginx", "inetkit/Deno.serve"];
const rows: string[][] = [header];
for (const f of FILES) {
  const cell = (server: string) => {
    const r = results.get(server)?.get(f.key);
    return r ? `${Math.round(r.rps)} req/s, ${fmtRate(r.bytesPerSec)}` : "-";
  };
  const ratio = (a: string, b: string) => {
    const x = results.get(a)?.get(f.key);
    const y = results.get(b)?.get(f.key);
    return x && y ? (x.rps / y.rps).toFixed(2) + "×" : "-";
  };
  rows.push([
    `${f.name} (${f.size} B)`,
    cell("nginx"),
    cell("inetkit"),
    cell("Deno.serve"),
    ratio("inetkit", "nginx"),
    ratio("inetkit", "Deno.serve"),
  ]);
}
const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const [i, r] of rows.entries()) {
  console.log("| " + r.map((c, j) => c.padEnd(widths[j]!)).join(" | ") + " |");
  if (i === 0) console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
}
