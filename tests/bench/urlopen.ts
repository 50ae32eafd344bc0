/**
 * URL opener benchmark: `urlopen` (inetkit's handler chain on its
 * keep-alive `HttpClient`) against `fetch` and Python's
 * `urllib.request.urlopen` for small GETs on the same server (one at a time,
 * and `--concurrency` at a time for the two that can; urllib blocks), and
 * a large download to a file with `urlretrieve`, printing the peak RSS.
 *
 *   deno run -A tests/bench/urlopen.ts [--requests 10000] [--concurrency 16] [--download-mib 1024] [--skip-download]
 *
 * The server is the nginx peer on 127.0.0.1:8080 (`/hello.txt`) when it is
 * up, else inetkit's `serve` in a child process. Each client runs in its own
 * process, one after another. The download comes from inetkit's `serve` in
 * a child process streaming zeros with a Content-Length.
 *
 * @module
 */

const args = Deno.args;
const self = new URL(import.meta.url).pathname;

function option(name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && at + 1 < args.length ? args[at + 1]! : fallback;
}

// --- child modes -------------------------------------------------------------
if (args[0] === "--server") {
  const { serve } = await import("../../http/serve.ts");
  const chunk = new Uint8Array(256 * 1024);
  serve({ port: 0, onListen: (addr) => console.log(`PORT ${addr.port}`) }, (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/big") {
      const total = Number(url.searchParams.get("bytes"));
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          type: "bytes",
          pull(c) {
            const n = Math.min(chunk.length, total - sent);
            if (n <= 0) {
              c.close();
              return;
            }
            c.enqueue(chunk.slice(0, n));
            sent += n;
          },
        }),
        {
          headers: { "content-length": String(total), "content-type": "application/octet-stream" },
        },
      );
    }
    return new Response("hello, world\n", { headers: { "content-type": "text/plain" } });
  });
  await new Promise(() => {});
}

if (args[0] === "--client") {
  const kind = args[1]!;
  const url = args[2]!;
  const n = Number(args[3]);
  const inFlight = Number(args[4] ?? "1");
  /** Runs `n` requests, `inFlight` at a time; prints requests per second. */
  const run = async (one: () => Promise<unknown>) => {
    for (let i = 0; i < 200; i++) await one();
    let next = 0;
    const start = performance.now();
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next++ < n) await one();
    }));
    console.log(`RATE ${n / ((performance.now() - start) / 1000)}`);
  };
  if (kind === "urlopen") {
    const { buildOpener, installOpener, urlopen, ProxyHandler } = await import("../../url/mod.ts");
    const opener = buildOpener(new ProxyHandler({}));
    installOpener(opener);
    await run(async () => await (await urlopen(url)).arrayBuffer());
    await opener.close();
  } else if (kind === "fetch") {
    await run(async () => await (await fetch(url)).arrayBuffer());
  } else if (kind === "download") {
    const { buildOpener, urlretrieve, ProxyHandler } = await import("../../url/mod.ts");
    const opener = buildOpener(new ProxyHandler({}));
    const path = await Deno.makeTempFile({ prefix: "inetkit-bench-" });
    try {
      const start = performance.now();
      const result = await urlretrieve(url, path, { opener });
      const seconds = (performance.now() - start) / 1000;
      const status = await Deno.readTextFile("/proc/self/status");
      const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? "0") / 1024;
      console.log(`DOWNLOAD ${result.size} ${seconds} ${hwm}`);
    } finally {
      await Deno.remove(path);
      await opener.close();
    }
  }
  Deno.exit(0);
}

// --- driver --------------------------------------------------------------------
const requests = Number(option("requests", "10000"));
const CONCURRENCY = Number(option("concurrency", "16"));
const downloadMib = Number(option("download-mib", "1024"));
const decoder = new TextDecoder();

async function startServer(): Promise<{ port: number; child: Deno.ChildProcess }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", self, "--server"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!/PORT \d+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited");
    text += decoder.decode(value);
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { port: Number(/PORT (\d+)/.exec(text)![1]), child };
}

async function client(kind: string, url: string, n: number, inFlight = 1): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", self, "--client", kind, url, String(n), String(inFlight)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return decoder.decode(out.stdout);
}

async function python(url: string, n: number): Promise<number | null> {
  const script = `
import sys, time, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for _ in range(100): opener.open(url).read()
start = time.perf_counter()
for _ in range(n): opener.open(url).read()
print("RATE", n / (time.perf_counter() - start))
`;
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", script, url, String(n)],
      stdout: "piped",
    })
      .output();
    const m = /RATE ([\d.]+)/.exec(decoder.decode(out.stdout));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function nginxUp(): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8080 });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

const server = await startServer();
try {
  const small = (await nginxUp())
    ? "http://127.0.0.1:8080/hello.txt"
    : `http://127.0.0.1:${server.port}/hello`;
  console.log(
    `${requests} keep-alive GETs of ${small}, one at a time and ${CONCURRENCY} at a time`,
  );
  const rate = (text: string) => Number(/RATE ([\d.]+)/.exec(text)?.[1] ?? "NaN");
  const ours = rate(await client("urlopen", small, requests));
  const fetchRate = rate(await client("fetch", small, requests));
  const ours16 = rate(await client("urlopen", small, requests, CONCURRENCY));
  const fetch16 = rate(await client("fetch", small, requests, CONCURRENCY));
  const py = await python(small, Math.min(requests, 3000));
  const fmt = (v: number | null) => (v === null ? "n/a" : v.toFixed(0));
  const ratio = (a: number, b: number | null) => (b === null ? "n/a" : (a / b).toFixed(2));
  console.log("| client | in flight | req/s | urlopen ÷ fetch | urlopen ÷ Python |");
  console.log("|---|---:|---:|---:|---:|");
  console.log(
    `| urlopen (inetkit) | 1 | ${fmt(ours)} | ${ratio(ours, fetchRate)} | ${ratio(ours, py)} |`,
  );
  console.log(`| fetch (Deno) | 1 | ${fmt(fetchRate)} | | |`);
  console.log(
    `| urlopen (inetkit) | ${CONCURRENCY} | ${fmt(ours16)} | ${ratio(ours16, fetch16)} | ${
      ratio(ours16, py)
    } |`,
  );
  console.log(`| fetch (Deno) | ${CONCURRENCY} | ${fmt(fetch16)} | | |`);
  console.log(`| urllib.request (Python, no keep-alive) | 1 | ${fmt(py)} | | |`);
  if (!args.includes("--skip-download")) {
    const bytes = downloadMib * 1048576;
    const text = await client("download", `http://127.0.0.1:${server.port}/big?bytes=${bytes}`, 0);
    const m = /DOWNLOAD (\d+) ([\d.]+) ([\d.]+)/.exec(text);
    if (m === null) throw new Error(`download failed: ${text}`);
    const [size, seconds, rss] = [Number(m[1]), Number(m[2]), Number(m[3])];
    console.log(
      `\nurlretrieve of ${downloadMib} MiB to a file: ${(size / seconds / 1e9).toFixed(2)} GB/s, ` +
        `${seconds.toFixed(2)} s, peak RSS ${rss.toFixed(0)} MiB`,
    );
  }
} finally {
  server.child.kill("SIGTERM");
  await server.child.status;
}
