/**
 * Streaming benchmark: a 1 GiB body uploaded chunked by the client, echoed
 * by the server as its (chunked) response body while it arrives, and read
 * by the client, with backpressure all the way. inetkit (`HttpClient` to
 * `serve`) against `fetch` to `Deno.serve`; each server in its own process.
 * Prints the throughput and the peak RSS of the client and of the server.
 *
 *   deno run -A tests/bench/http_stream.ts [--mib 1024] [--fetch-mib 64] [--only ours,deno]
 *
 * The fetch pair moves only `--fetch-mib` (it runs at a few MiB/s here, so
 * a full GiB would take minutes); compare the MiB/s columns.
 *
 * @module
 */
import { HttpClient } from "../../http/http_client.ts";

const args = Deno.args;

if (args[0] === "--server") {
  const onListen = (addr: { port: number }) => console.log(`PORT ${addr.port}`);
  if (args[1] === "ours") {
    const { serve } = await import("../../http/serve.ts");
    serve({ port: 0, onListen }, (request) => new Response(request.body));
  } else {
    Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen },
      (request) => new Response(request.body),
    );
  }
  await new Promise(() => {});
}

function option(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

const ourMib = Number(option("mib", "1024"));
const fetchMib = Number(option("fetch-mib", "64"));
const only = new Set(option("only", "ours,deno").split(","));
const CHUNK = 256 * 1024;

async function startServer(kind: string): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--server", kind],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/PORT (\d+)/.test(text)) text += (await reader.read()).value ?? "";
  reader.releaseLock();
  return { child, port: Number(/PORT (\d+)/.exec(text)![1]) };
}

/** Peak resident set size of a process in MiB (Linux VmHWM), or NaN. */
async function peakRss(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
  } catch {
    return NaN;
  }
}

// The upload's chunks come from a small ring, so that the source itself does
// not allocate a GiB: both clients write a chunk before pulling the next.
const ring = Array.from({ length: 4 }, (_, i) => new Uint8Array(CHUNK).fill(i + 1));

function body(mib: number): ReadableStream<Uint8Array> {
  const chunks = (mib * 1024 * 1024) / CHUNK;
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === chunks) return controller.close();
      controller.enqueue(ring[sent++ % ring.length]!);
    },
  }, { highWaterMark: 0 });
}

interface Row {
  label: string;
  mib: number;
  seconds: number;
  clientPeak: number;
  serverPeak: number;
}

async function run(kind: string): Promise<Row> {
  const mib = kind === "ours" ? ourMib : fetchMib;
  const server = await startServer(kind);
  const url = `http://127.0.0.1:${server.port}/echo`;
  let clientPeak = Deno.memoryUsage().rss;
  const sampler = setInterval(() => {
    clientPeak = Math.max(clientPeak, Deno.memoryUsage().rss);
  }, 20);
  const started = performance.now();
  let received = 0;
  try {
    let response: Response;
    let client: HttpClient | null = null;
    if (kind === "ours") {
      client = new HttpClient();
      response = await client.request(url, { method: "POST", body: body(mib) });
    } else {
      response = await fetch(url, {
        method: "POST",
        body: body(mib),
        duplex: "half",
      } as RequestInit);
    }
    for await (const chunk of response.body!) received += chunk.length;
    client?.close();
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  const serverPeak = await peakRss(server.child.pid);
  server.child.kill("SIGTERM");
  await server.child.status;
  if (received !== mib * 1024 * 1024) throw new Error(`received ${received} bytes`);
  return {
    label: kind === "ours" ? "HttpClient -> serve" : "fetch -> Deno.serve",
    mib,
    seconds,
    clientPeak: clientPeak / (1024 * 1024),
    serverPeak,
  };
}

const rows: Row[] = [];
for (const kind of ["ours", "deno"]) {
  if (!only.has(kind)) continue;
  // The client's RSS is measured in this process: run each kind in a fresh one.
  if (args.includes("--child")) {
    rows.push(await run(kind));
    continue;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--child",
      "--mib",
      String(ourMib),
      "--fetch-mib",
      String(fetchMib),
      "--only",
      kind,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
  rows.push(JSON.parse(line));
}

if (args.includes("--child")) {
  console.log(JSON.stringify(rows[0]));
} else {
  console.log(
    "\nA body uploaded chunked, echoed by the server as it arrives, read back (256 KiB chunks)\n",
  );
  console.log("pair                     MiB   seconds   MiB/s   client peak RSS   server peak RSS");
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(22)} ${String(r.mib).padStart(5)} ${r.seconds.toFixed(2).padStart(9)} ${
        (r.mib / r.seconds).toFixed(0).padStart(7)
      } ${r.clientPeak.toFixed(0).padStart(13)} MiB ${r.serverPeak.toFixed(0).padStart(13)} MiB`,
    );
  }
}
