/**
 * Hello-world keep-alive benchmark: inetkit's `serve` against `Deno.serve`
 * and Node's `node:http` (run by `node` when installed, else by Deno's
 * node:http), each in its own process, driven by `wrk -t1` at 32 and 1
 * connections, side by side in one invocation. Prints req/s, p99 latency,
 * the server's CPU time per request and the ratios. The `bare` row is the
 * ceiling for any server on `Deno.listen`: a loop that reads and writes a
 * fixed response without parsing anything.
 *
 *   deno run -A tests/bench/http_server.ts [--duration 5] [--connections 32,1] [--only ours,deno,node,bare]
 *
 * @module
 */

const args = Deno.args;

// --- server mode (a child process) ---------------------------------------
if (args[0] === "--server") {
  const kind = args[1];
  const onListen = (addr: { port: number }) => console.log(`PORT ${addr.port}`);
  if (kind === "ours") {
    const { serve } = await import("../../http/serve.ts");
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

const duration = Number(option("duration", "5"));
const connections = option("connections", "32,1").split(",").map(Number);
const only = new Set(option("only", "ours,deno,node,bare").split(","));

const NODE_SCRIPT = `
const http = require("node:http");
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain;charset=UTF-8" });
  res.end("Hello, World!");
});
server.listen(0, "127.0.0.1", () => console.log("PORT " + server.address().port));
`;

async function hasBinary(name: string): Promise<boolean> {
  try {
    await new Deno.Command(name, { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

interface Running {
  child: Deno.ChildProcess;
  port: number;
}

async function startServer(kind: string): Promise<Running> {
  const self = new URL(import.meta.url).pathname;
  const command = kind === "node" && await hasBinary("node")
    ? new Deno.Command("node", { args: ["-e", NODE_SCRIPT], stdout: "piped", stderr: "inherit" })
    : new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", self, "--server", kind],
      stdout: "piped",
      stderr: "inherit",
    });
  const child = command.spawn();
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
  p99: string;
  cpuMicros: number;
}

async function wrk(port: number, c: number, pid: number): Promise<Result> {
  // A short warm-up so that the JIT has settled.
  await new Deno.Command("wrk", {
    args: ["-t1", `-c${c}`, "-d1s", `http://127.0.0.1:${port}/`],
    stdout: "null",
  }).output();
  const before = await cpuSeconds(pid);
  const out = await new Deno.Command("wrk", {
    args: ["-t1", `-c${c}`, `-d${duration}s`, "--latency", `http://127.0.0.1:${port}/`],
    stdout: "piped",
  }).output();
  const after = await cpuSeconds(pid);
  const text = new TextDecoder().decode(out.stdout);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const p99 = /99%\s+(\S+)/.exec(text)?.[1] ?? "?";
  if (/Non-2xx|Socket errors/.test(text)) console.error(text);
  return { rps, p99, cpuMicros: ((after - before) / (rps * duration)) * 1e6 };
}

if (!(await hasBinary("wrk"))) {
  console.log("wrk is not installed: nothing to measure");
  Deno.exit(0);
}

const kinds = ["ours", "deno", "node", "bare"].filter((k) => only.has(k));
const labels: Record<string, string> = {
  ours: "inetkit serve",
  bare: "bare Deno.listen",
  deno: "Deno.serve",
  node: await hasBinary("node") ? "node:http (Node)" : "node:http (Deno)",
};
const results = new Map<string, Result>();
for (const kind of kinds) {
  const server = await startServer(kind);
  try {
    for (const c of connections) {
      results.set(`${kind}/${c}`, await wrk(server.port, c, server.child.pid));
    }
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
  }
}

console.log(
  `\nhello world, keep-alive, wrk -t1 -d${duration}s (${Deno.build.os}, ${navigator.hardwareConcurrency} cores)\n`,
);
console.log(
  "server               conns     req/s    p99       CPU µs/req  vs Deno.serve  vs node:http",
);
for (const c of connections) {
  for (const kind of kinds) {
    const r = results.get(`${kind}/${c}`)!;
    const deno = results.get(`deno/${c}`);
    const node = results.get(`node/${c}`);
    const ratio = (other: Result | undefined) => other ? (r.rps / other.rps).toFixed(2) + "x" : "-";
    console.log(
      `${labels[kind]!.padEnd(20)} ${String(c).padStart(5)} ${r.rps.toFixed(0).padStart(9)}    ${
        r.p99.padEnd(9)
      } ${r.cpuMicros.toFixed(2).padStart(10)}  ${ratio(deno).padStart(13)}  ${
        ratio(node).padStart(12)
      }`,
    );
  }
}
