/**
 * HTTP client benchmark: inetkit's `HttpClient` against `fetch`, each
 * making small keep-alive GETs to nginx (the peer on 127.0.0.1:8080,
 * /hello.txt), one at a time and 16 at a time. When nginx is not up, a
 * private `Deno.serve` child process stands in. Prints requests/s and the
 * ratio.
 *
 *   deno run -A tests/bench/http_client.ts [--requests 10000] [--url http://127.0.0.1:8080/hello.txt]
 *
 * @module
 */
import { HttpClient } from "../../http/http_client.ts";

const args = Deno.args;

if (args[0] === "--server") {
  Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: (addr) => console.log(`PORT ${addr.port}`) },
    () => new Response("hello, world\n"),
  );
  await new Promise(() => {});
}

function option(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

const total = Number(option("requests", "10000"));
let url = option("url", "http://127.0.0.1:8080/hello.txt");
let child: Deno.ChildProcess | null = null;

async function reachable(target: string): Promise<boolean> {
  const { hostname, port } = new URL(target);
  try {
    const conn = await Deno.connect({ hostname, port: Number(port || 80) });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

let target = "nginx";
if (!(await reachable(url))) {
  child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--server"],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/PORT (\d+)/.test(text)) text += (await reader.read()).value ?? "";
  reader.releaseLock();
  url = `http://127.0.0.1:${/PORT (\d+)/.exec(text)![1]}/hello.txt`;
  target = "Deno.serve (nginx not reachable)";
}

type Get = () => Promise<void>;

async function measure(get: Get, concurrency: number): Promise<number> {
  // Warm up the JIT and the pool.
  for (let i = 0; i < 200; i++) await get();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await get();
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

const client = new HttpClient();
const ours: Get = async () => {
  const response = await client.request(url);
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`status ${response.status}`);
};
const theirs: Get = async () => {
  const response = await fetch(url);
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`status ${response.status}`);
};

const rows: [string, number, number][] = [];
for (const concurrency of [1, 16]) {
  // Alternate and repeat, keeping the best of each, to damp the noise of a shared machine.
  let bestOurs = 0;
  let bestFetch = 0;
  for (let round = 0; round < 2; round++) {
    bestOurs = Math.max(bestOurs, await measure(ours, concurrency));
    bestFetch = Math.max(bestFetch, await measure(theirs, concurrency));
  }
  rows.push([concurrency === 1 ? "sequential" : "16 concurrent", bestOurs, bestFetch]);
}
client.close();
if (child !== null) {
  child.kill("SIGTERM");
  await child.status;
}

console.log(`\n${total} keep-alive GETs of ${url} (${target}), best of 2 rounds\n`);
console.log("mode              HttpClient req/s   fetch req/s   HttpClient/fetch");
for (const [mode, a, b] of rows) {
  console.log(
    `${mode.padEnd(17)} ${a.toFixed(0).padStart(16)} ${b.toFixed(0).padStart(13)} ${
      (a / b).toFixed(2).padStart(17)
    }x`,
  );
}
