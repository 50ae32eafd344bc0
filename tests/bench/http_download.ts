/**
 * Bulk download benchmark: a 1 MiB and a 200 MB file from nginx (the peer
 * on 127.0.0.1:8080), fetched by whole processes writing to a file, side by
 * side in interleaved rounds: `inetkit get -s -o`, a `fetch` script piping
 * into `Deno.open().writable`, and `curl -s -o`; plus in-process
 * `HttpClient` and `urlopen` against `fetch` reading the body to its end
 * (keep-alive, the median download after a warm-up one).
 * Prints median wall, user and system times and the ratios (ours ÷ theirs
 * as speed: above 1.0 is faster). The 200 MB file is created in nginx's
 * root for the run and removed afterwards.
 *
 *   deno run -A tests/bench/http_download.ts [--rounds 5]
 *
 * @module
 */

const args = Deno.args;
const rounds = Number(args[args.indexOf("--rounds") + 1] ?? 5) || 5;
const root = "/tmp/peers/www";
const base = "http://127.0.0.1:8080";
const here = new URL(".", import.meta.url).pathname;
const repo = new URL("../..", import.meta.url).pathname;

if (args[0] === "--inprocess") {
  const kind = args[1]!;
  const url = args[2]!;
  // Modules loaded first: the figure is the transfer, connection included.
  const { urlopen } = await import("../../url/urlopen.ts");
  const { HttpClient } = await import("../../http/http_client.ts");
  const client = new HttpClient();
  const count = Number(args[3] ?? 1);
  const each: number[] = [];
  let n = 0;
  // The first download pays for compiling the code: it is not counted
  // when there are several.
  for (let i = 0; i <= count; i++) {
    const started = performance.now();
    if (kind === "fetch") {
      const response = await fetch(url);
      for await (const chunk of response.body!) n += chunk.length;
    } else if (kind === "urlopen") {
      const response = await urlopen(url);
      for await (const chunk of response.body!) n += chunk.length;
    } else {
      const response = await client.request(url);
      for await (const chunk of response.body!) n += chunk.length;
    }
    if (i > 0 || count === 0) each.push(performance.now() - started);
  }
  each.sort((a, b) => a - b);
  console.log(`${n} ${each[Math.floor(each.length / 2)]}`);
  client.close();
  Deno.exit(0);
}

interface Times {
  wall: number;
  user: number;
  sys: number;
}

/** Wall time measured here (ms precision); user and system CPU from /usr/bin/time. */
async function timed(program: string, programArgs: string[]): Promise<Times> {
  const started = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%U %S", program, ...programArgs],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - started) / 1000;
  const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
  const [user, sys] = lines[lines.length - 1]!.split(" ").map(Number);
  if (!out.success) throw new Error(`${program} failed: ${lines.join(" ")}`);
  return { wall, user: user!, sys: sys! };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

try {
  await Deno.stat(`${root}/bin/1mb-A.bin`);
} catch {
  console.log("nginx's data is not there (run ../shared/peers/peers.sh start): nothing to measure");
  Deno.exit(0);
}

const big = `${root}/bench-200m.bin`;
const file = await Deno.open(big, { write: true, create: true, truncate: true });
const block = new Uint8Array(1 << 20);
crypto.getRandomValues(block.subarray(0, 65536));
for (let i = 0; i < 200; i++) await file.write(block);
file.close();
await Deno.chmod(big, 0o644);
const fetchScript = `${await Deno.makeTempDir()}/fetch_to_file.ts`;
await Deno.writeTextFile(
  fetchScript,
  `const r = await fetch(Deno.args[0]);
const f = await Deno.open(Deno.args[1], { write: true, create: true, truncate: true });
await r.body.pipeTo(f.writable);
`,
);
const out = await Deno.makeTempFile();
const cases = [
  { name: "1 MiB", url: `${base}/bin/1mb-A.bin`, count: 30 },
  { name: "200 MB", url: `${base}/bench-200m.bin`, count: 2 },
];
const processes: Record<string, (url: string) => [string, string[]]> = {
  "inetkit get -o": (
    url,
  ) => [Deno.execPath(), ["run", "-A", `${repo}cli/main.ts`, "get", "-s", "-o", out, url]],
  "fetch → file": (url) => [Deno.execPath(), ["run", "-A", fetchScript, url, out]],
  "curl -o": (url) => ["curl", ["-s", "-o", out, url]],
};
const inproc = ["HttpClient", "urlopen", "fetch"];
try {
  for (const c of cases) {
    const times = new Map<string, Times[]>();
    const reads = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      const names = Object.keys(processes);
      for (const name of round % 2 === 0 ? names : names.reverse()) {
        const [program, programArgs] = processes[name]!(c.url);
        const list = times.get(name) ?? [];
        list.push(await timed(program, programArgs));
        times.set(name, list);
      }
      for (const kind of round % 2 === 0 ? inproc : [...inproc].reverse()) {
        const result = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            `${here}http_download.ts`,
            "--inprocess",
            kind,
            c.url,
            String(c.count),
          ],
          stdout: "piped",
        }).output();
        const [, ms] = new TextDecoder().decode(result.stdout).trim().split(" ").map(Number);
        const list = reads.get(kind) ?? [];
        list.push(ms!);
        reads.set(kind, list);
      }
    }
    console.log(`\n${c.name} from nginx, ${rounds} interleaved rounds, medians`);
    console.log("whole process          wall s   user s   sys s   speed vs fetch  vs curl");
    const med = (name: string, key: keyof Times) => median(times.get(name)!.map((t) => t[key]));
    for (const name of Object.keys(processes)) {
      console.log(
        `${name.padEnd(22)} ${med(name, "wall").toFixed(3).padStart(6)} ${
          med(name, "user").toFixed(2).padStart(8)
        } ${med(name, "sys").toFixed(2).padStart(7)}   ${
          (med("fetch → file", "wall") / med(name, "wall")).toFixed(2).padStart(13)
        }x ${(med("curl -o", "wall") / med(name, "wall")).toFixed(2).padStart(7)}x`,
      );
    }
    console.log(`in process, median of ${c.count} after one warm-up (ms)   speed vs fetch`);
    const fetchMs = median(reads.get("fetch")!);
    for (const kind of inproc) {
      const ms = median(reads.get(kind)!);
      console.log(
        `${kind.padEnd(22)} ${ms.toFixed(1).padStart(8)}   ${(fetchMs / ms).toFixed(2)}x`,
      );
    }
  }
} finally {
  await Deno.remove(big).catch(() => {});
  await Deno.remove(out).catch(() => {});
  await Deno.remove(fetchScript).catch(() => {});
}
