/**
 * Benchmark: `OVER` of 10,000 articles with inetkit's NntpClient against
 * Python's nntplib (`over()`, Python 3.11), from the peers' INN 2.7
 * (127.0.0.1:1119, group local.general) and from inetkit's NntpServer (a
 * child process serving a spool seeded with the same kind of articles).
 * Each round times one full `OVER low-high` on a connection that is
 * already open, with the group selected and the overview format read
 * (a small warm-up OVER first); the rounds interleave the four
 * client/server pairs, and the medians are compared. Two "raw" rows per
 * server read the same OVER to its final dot without parsing (Deno with
 * one 256 KiB buffer, Python with `recv`): the server's own time, the
 * floor for any client.
 *
 * Then a 100 MiB article is posted to inetkit's server from a generated
 * stream and read back with `ARTICLE`, streamed: the table shows the time
 * and the peak RSS of the client process (and the server's peak RSS), next
 * to nntplib's `body(n, file=...)`, which also streams to a file.
 *
 * INN is seeded once: when local.general has fewer than `--count` articles,
 * the missing ones are posted through NntpClient (INN reseeds the group
 * when the peers restart). INN's own limit (maxartsize, 1 MB by default)
 * keeps the 100 MiB article to inetkit's server.
 *
 * The servers run on CPU 0 (our child under `taskset`, INN's innd and the
 * nnrpd it forks moved there for the run and given both CPUs back at the
 * end) and the clients on CPU 1; `--no-pin` leaves all unpinned.
 *
 * Run: deno run -A tests/bench/nntp.ts [--count 10000] [--rounds 7] [--mib 100] [--no-pin]
 *
 * @module
 */
import { NewsSpool } from "../../mail/news_spool.ts";
import { NntpClient } from "../../mail/nntp_client.ts";
import { NntpServer } from "../../mail/nntp_server.ts";

const INN_PORT = 1119;
const GROUP = "local.general";
const PYTHON = "/usr/bin/python3";

function flag(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
}

// ---- child mode: serve a spool --------------------------------------------------------

if (Deno.args[0] === "--serve-child") {
  const spool = await NewsSpool.open(Deno.args[1]!, { groups: [GROUP] });
  const maxArticleSize = Number(Deno.args[2]);
  const server = new NntpServer({ spool, port: 0, maxArticleSize });
  console.log(`listening ${server.addr.port}`);
  await server.finished;
  Deno.exit(0);
}

const PIN = !Deno.args.includes("--no-pin");

/** Sets the CPUs of every thread of a process (`taskset -a -p -c`); false when it could not. */
async function pin(pid: number, cpus: string): Promise<boolean> {
  const out = await new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", cpus, String(pid)],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ code: 1 }));
  return out.code === 0;
}

/** The pid of INN's innd, or undefined. */
async function inndPid(): Promise<number | undefined> {
  const out = await new Deno.Command("pgrep", { args: ["-x", "innd"], stdout: "piped" }).output()
    .catch(() => undefined);
  const pid = Number(
    new TextDecoder().decode(out?.stdout ?? new Uint8Array()).trim().split("\n")[0],
  );
  return pid > 0 ? pid : undefined;
}

const count = flag("--count", 10000);
const rounds = flag("--rounds", 7);
const mib = flag("--mib", 100);

function articleText(i: number, tag: string): string {
  return [
    `From: Bench Poster ${i % 97} <poster${i % 97}@example.test>`,
    `Newsgroups: ${GROUP}`,
    `Subject: ${i % 5 === 0 ? "Re: " : ""}inetkit benchmark article number ${i}`,
    `Message-ID: <bench-${tag}-${i}@example.test>`,
    i > 0 ? `References: <bench-${tag}-${i - 1}@example.test>` : "X-First: yes",
    "",
    "A short article, as a discussion group would carry.",
    "It has a few lines of text so that :bytes and :lines mean something.",
    "",
  ].join("\r\n");
}

async function seedInn(): Promise<number> {
  await using nntp = await NntpClient.connect({ port: INN_PORT, tls: false });
  const group = await nntp.group(GROUP);
  if (group.count >= count) return group.count;
  const tag = crypto.randomUUID().slice(0, 8);
  const started = performance.now();
  for (let i = group.count; i < count; i++) await nntp.post(articleText(i, tag));
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `seeded INN ${GROUP} with ${count - group.count} articles in ${seconds.toFixed(1)} s`,
  );
  return (await nntp.group(GROUP)).count;
}

async function seedSpool(dir: string): Promise<void> {
  await using spool = await NewsSpool.open(dir, { groups: [GROUP], durable: false });
  for (let i = 0; i < count; i++) await spool.store(articleText(i, "spool"));
}

interface Child {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

async function spawnChild(dir: string): Promise<Child> {
  const child = new Deno.Command(PIN ? "taskset" : Deno.execPath(), {
    args: [
      ...(PIN ? ["-c", "0", Deno.execPath()] : []),
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--serve-child",
      dir,
      String((mib + 1) * 1048576),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the server child exited before printing its port");
    text += value;
  }
  return {
    port: Number(/listening (\d+)/.exec(text)![1]),
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
    },
  };
}

/** CPU seconds of this whole process so far: every thread's run time (Linux schedstat). */
function cpuSeconds(): number {
  let total = 0;
  for (const task of Deno.readDirSync("/proc/self/task")) {
    try {
      total += Number(
        Deno.readTextFileSync(`/proc/self/task/${task.name}/schedstat`).split(" ")[0],
      );
    } catch {
      // the thread ended
    }
  }
  return total / 1e9;
}

interface Timing {
  wall: number;
  cpu: number;
}

/** Wall and client CPU seconds for one OVER of the whole group with NntpClient. */
async function inetkitOver(port: number): Promise<Timing> {
  await using nntp = await NntpClient.connect({ port, tls: false });
  const { low, high } = await nntp.group(GROUP);
  await (await nntp.over({ from: low, to: low + 9 })).toArray(); // reads OVERVIEW.FMT too
  const cpu = cpuSeconds();
  const started = performance.now();
  let n = 0;
  let bytes = 0;
  for await (const item of await nntp.over({ from: low, to: high })) {
    n++;
    bytes += item.bytes ?? 0;
  }
  const wall = (performance.now() - started) / 1000;
  const used = cpuSeconds() - cpu;
  if (n < count || bytes === 0) throw new Error(`inetkit read ${n} overview lines`);
  return { wall, cpu: used };
}

const NNTPLIB_OVER = `
import nntplib, sys, time
s = nntplib.NNTP("127.0.0.1", int(sys.argv[1]))
resp, count, first, last, name = s.group(sys.argv[2])
s.over((first, first + 9))
cpu = time.process_time()
started = time.perf_counter()
resp, items = s.over((first, last))
total = sum(int(f[":bytes"] or 0) for n, f in items)
elapsed = time.perf_counter() - started
cpu = time.process_time() - cpu
s.quit()
print(elapsed, cpu, len(items), total)
`;

async function python(script: string, args: string[]): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command(PYTHON, {
    args: ["-W", "ignore", "-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout).trim().split(/\s+/);
}

async function nntplibOver(port: number): Promise<Timing> {
  const [wall, cpu, n] = await python(NNTPLIB_OVER, [String(port), GROUP]);
  if (Number(n) < count) throw new Error(`nntplib read ${n} overview lines`);
  return { wall: Number(wall), cpu: Number(cpu) };
}

/**
 * The floor for any client: the same OVER read to its final dot line with
 * no parsing, from Deno (one 256 KiB buffer) and from Python (recv of 256
 * KiB), so that the server's own time shows.
 */
async function rawOver(port: number): Promise<Timing> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const buf = new Uint8Array(256 * 1024);
    const encoder = new TextEncoder();
    const readReply = async (): Promise<string> => {
      let text = "";
      while (!text.includes("\r\n")) {
        const n = await conn.read(buf);
        if (n === null) throw new Error("the server closed");
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      return text;
    };
    await readReply();
    await conn.write(encoder.encode(`GROUP ${GROUP}\r\n`));
    const [, , low, high] = (await readReply()).split(" ");
    const cpu = cpuSeconds();
    const started = performance.now();
    await conn.write(encoder.encode(`OVER ${low}-${high}\r\n`));
    // The end is "\r\n.\r\n": keep the last 5 bytes across reads.
    const tail = new Uint8Array(5);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("the server closed during OVER");
      if (n >= 5) tail.set(buf.subarray(n - 5, n));
      else {
        tail.copyWithin(0, n);
        tail.set(buf.subarray(0, n), 5 - n);
      }
      if (
        tail[0] === 13 && tail[1] === 10 && tail[2] === 46 && tail[3] === 13 && tail[4] === 10
      ) break;
    }
    return { wall: (performance.now() - started) / 1000, cpu: cpuSeconds() - cpu };
  } finally {
    conn.close();
  }
}

const RAW_OVER = `
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
f.readline()
s.sendall(("GROUP %s\\r\\n" % sys.argv[2]).encode())
parts = f.readline().split()
low, high = int(parts[2]), int(parts[3])
cpu = time.process_time()
started = time.perf_counter()
s.sendall(("OVER %d-%d\\r\\n" % (low, high)).encode())
tail = b""
while not tail.endswith(b"\\r\\n.\\r\\n"):
    data = s.recv(262144)
    if not data: raise SystemExit("closed")
    tail = (tail + data)[-5:]
elapsed = time.perf_counter() - started
cpu = time.process_time() - cpu
print(elapsed, cpu)
`;

async function pythonRawOver(port: number): Promise<Timing> {
  const [wall, cpu] = await python(RAW_OVER, [String(port), GROUP]);
  return { wall: Number(wall), cpu: Number(cpu) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---- the 100 MiB article ------------------------------------------------------------------

function generatedArticle(size: number): ReadableStream<Uint8Array> {
  const head = new TextEncoder().encode(
    `From: big@example.test\r\nNewsgroups: ${GROUP}\r\nSubject: ${mib} MiB\r\n` +
      `Message-ID: <bench-big-${crypto.randomUUID()}@example.test>\r\n\r\n`,
  );
  // 64 KiB of 80-byte lines, one in eight starting with a dot (stuffed on the wire).
  const block = new Uint8Array(65536);
  const line = new TextEncoder().encode("x".repeat(78) + "\r\n");
  for (let at = 0, i = 0; at + 80 <= block.length; at += 80, i++) {
    block.set(line, at);
    if (i % 8 === 0) block[at] = 46;
  }
  const usable = Math.floor(block.length / 80) * 80;
  let sent = 0;
  let first = true;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (first) {
        first = false;
        controller.enqueue(head);
        return;
      }
      if (sent >= size) {
        controller.close();
        return;
      }
      const n = Math.min(usable, size - sent);
      sent += n;
      controller.enqueue(block.subarray(0, n));
    },
  }, { highWaterMark: 0 });
}

function rssMiB(): number {
  return Deno.memoryUsage().rss / 1048576;
}

function peakOf(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function withRssSampler<T>(fn: () => Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = rssMiB();
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB())), 20);
  try {
    const value = await fn();
    return { value, peak: Math.max(peak, rssMiB()) };
  } finally {
    clearInterval(timer);
  }
}

const NNTPLIB_BODY = `
import nntplib, os, sys, time
s = nntplib.NNTP("127.0.0.1", int(sys.argv[1]))
s.group(sys.argv[2])
with open(os.devnull, "wb") as sink:
    started = time.perf_counter()
    s.body(int(sys.argv[3]), file=sink)
    elapsed = time.perf_counter() - started
s.quit()
# VmHWM, not ru_maxrss: after fork and exec, ru_maxrss still counts the parent's pages.
peak = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(elapsed, peak / 1024)
`;

// ---- main ---------------------------------------------------------------------------------

const innUp = await NntpClient.connect({ port: INN_PORT, tls: false }).then(
  async (c) => (await c.quit(), true),
  () => false,
);
if (!innUp) console.log(`INN is not reachable on 127.0.0.1:${INN_PORT}: its rows are skipped`);
if (innUp) await seedInn();
const dir = await Deno.makeTempDir({ prefix: "inetkit_bench_nntp_" });
const innd = PIN && innUp ? await inndPid() : undefined;
if (PIN) {
  const clients = await pin(Deno.pid, "1");
  const inn = innd === undefined || await pin(innd, "0");
  console.log(
    clients && inn
      ? "servers on CPU 0, clients on CPU 1"
      : "could not pin (taskset failed): the rows run unpinned",
  );
}
try {
  const seedStarted = performance.now();
  await seedSpool(dir);
  console.log(
    `seeded inetkit's spool with ${count} articles in ${
      ((performance.now() - seedStarted) / 1000).toFixed(1)
    } s`,
  );
  const child = await spawnChild(dir);
  try {
    const times: Record<string, Timing[]> = {
      "inetkit / INN": [],
      "nntplib / INN": [],
      "inetkit / NntpServer": [],
      "nntplib / NntpServer": [],
      "raw Deno / INN": [],
      "raw Python / INN": [],
      "raw Deno / NntpServer": [],
      "raw Python / NntpServer": [],
    };
    for (let round = 0; round < rounds; round++) {
      if (innUp) {
        times["inetkit / INN"]!.push(await inetkitOver(INN_PORT));
        times["nntplib / INN"]!.push(await nntplibOver(INN_PORT));
        times["raw Deno / INN"]!.push(await rawOver(INN_PORT));
        times["raw Python / INN"]!.push(await pythonRawOver(INN_PORT));
      }
      times["inetkit / NntpServer"]!.push(await inetkitOver(child.port));
      times["nntplib / NntpServer"]!.push(await nntplibOver(child.port));
      times["raw Deno / NntpServer"]!.push(await rawOver(child.port));
      times["raw Python / NntpServer"]!.push(await pythonRawOver(child.port));
    }
    console.log(
      `\nOVER of ${count} articles, medians of ${rounds} interleaved rounds ` +
        "(wall: command to last item; client CPU: every thread of the client process)",
    );
    console.log(
      "client / server          wall ms    lines/s  client CPU ms   wall ratio  CPU ratio",
    );
    for (const server of ["INN", "NntpServer"]) {
      const ours = times[`inetkit / ${server}`]!;
      const theirs = times[`nntplib / ${server}`]!;
      if (ours.length === 0) continue;
      const row = (name: string, list: Timing[]) => {
        const wall = median(list.map((t) => t.wall));
        const cpu = median(list.map((t) => t.cpu));
        console.log(
          `${name.padEnd(22)} ${(wall * 1000).toFixed(1).padStart(9)} ${
            Math.round(count / wall).toString().padStart(10)
          } ${(cpu * 1000).toFixed(1).padStart(14)}`,
        );
        return { wall, cpu };
      };
      const a = row(`inetkit / ${server}`, ours);
      const b = row(`nntplib / ${server}`, theirs);
      row(`raw Deno / ${server}`, times[`raw Deno / ${server}`]!);
      row(`raw Python / ${server}`, times[`raw Python / ${server}`]!);
      console.log(
        `${"".padEnd(60)}${(b.wall / a.wall).toFixed(2).padStart(7)}x ${
          (b.cpu / a.cpu).toFixed(2).padStart(9)
        }x`,
      );
    }

    // 100 MiB, posted from a generated stream and read back streamed.
    const size = mib * 1048576;
    const before = rssMiB();
    await using nntp = await NntpClient.connect({ port: child.port, tls: false, timeout: 120000 });
    const postStarted = performance.now();
    const posted = await withRssSampler(() => nntp.post(generatedArticle(size)));
    const postSeconds = (performance.now() - postStarted) / 1000;
    const { high } = await nntp.group(GROUP);
    const readStarted = performance.now();
    const read = await withRssSampler(async () => {
      const article = await nntp.article(high);
      let bytes = 0;
      for await (const chunk of article.body) bytes += chunk.length;
      return bytes;
    });
    const readSeconds = (performance.now() - readStarted) / 1000;
    if (read.value < size) throw new Error(`read ${read.value} bytes of a ${size}-byte body`);
    const [pySeconds, pyPeak] = await python(NNTPLIB_BODY, [
      String(child.port),
      GROUP,
      String(high),
    ]);
    console.log(`\nA ${mib} MiB article (${posted.value.messageId})`);
    console.log("step                          seconds    MiB/s   peak RSS MiB");
    console.log(
      `inetkit POST (stream)      ${postSeconds.toFixed(2).padStart(10)} ${
        (mib / postSeconds).toFixed(0).padStart(8)
      } ${posted.peak.toFixed(0).padStart(10)}   (client RSS before: ${before.toFixed(0)})`,
    );
    console.log(
      `inetkit ARTICLE (stream)   ${readSeconds.toFixed(2).padStart(10)} ${
        (mib / readSeconds).toFixed(0).padStart(8)
      } ${read.peak.toFixed(0).padStart(10)}`,
    );
    console.log(
      `nntplib body(file=)        ${Number(pySeconds).toFixed(2).padStart(10)} ${
        (mib / Number(pySeconds)).toFixed(0).padStart(8)
      } ${Number(pyPeak).toFixed(0).padStart(10)}`,
    );
    console.log(`NntpServer child peak RSS (VmHWM): ${peakOf(child.pid).toFixed(0)} MiB`);
    console.log(
      `ARTICLE ratio (nntplib / inetkit time): ${(Number(pySeconds) / readSeconds).toFixed(2)}x`,
    );
  } finally {
    await child.stop();
  }
} finally {
  if (innd !== undefined) await pin(innd, `0-${navigator.hardwareConcurrency - 1}`);
  await Deno.remove(dir, { recursive: true });
}
