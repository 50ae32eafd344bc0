/**
 * Benchmark: ImapClient against Python's imaplib, both fetching the same
 * 1,000 messages from the peers' Dovecot (127.0.0.1:1143, plain IMAP on
 * loopback): first every header (`FETCH 1:* (BODY.PEEK[HEADER])`), then
 * every whole message (`FETCH 1:* (BODY.PEEK[])`), each into memory as the
 * library's parsed result. The clock runs from the FETCH to its tagged OK
 * (login and SELECT excluded). Rounds alternate which client goes first;
 * medians are compared. The CPU columns are the client's own CPU time (Deno's
 * main thread from /proc, Python's process time): Dovecot's share of the
 * wall time is the same for both.
 *
 * Then memory: one 200 MiB message (APPENDed as a stream) is fetched with
 * `fetchBody()` into a sink that keeps nothing, sampling this process's RSS;
 * imaplib fetching the same message is shown for contrast (it holds the
 * literal in memory).
 *
 * The messages go into a scratch folder `inetkit-bench-<id>` (APPEND with
 * LITERAL+), which is deleted afterwards.
 *
 * Run: deno run -A tests/bench/imap_client.ts [--count 1000] [--rounds 7] [--big-mib 200]
 *
 * @module
 */
import { ImapClient } from "../../mail/imap_client.ts";

function arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const COUNT = arg("count", 1000);
const ROUNDS = arg("rounds", 7);
const BIG_MIB = arg("big-mib", 200);
const PORT = 1143;
const RUN = crypto.randomUUID().slice(0, 8);
const FOLDER = `inetkit-bench-${RUN}`;
const BIG_FOLDER = `inetkit-bench-big-${RUN}`;
const CREDENTIALS = { username: "mulder", password: "trustno1" };
const encoder = new TextEncoder();

/** A message of about 2.5 KB, as a mailing list would send. */
function message(i: number): string {
  const body = Array.from(
    { length: 30 },
    (_, l) => `Line ${l} of message ${i}: the quick brown fox jumps over the lazy dog.`,
  ).join("\r\n");
  return [
    "Return-Path: <list-bounces@example.test>",
    `Received: from mail.example.test (mail.example.test [192.0.2.1]) by mx.example.test; ` +
    "Tue, 14 Nov 2023 22:13:20 +0000",
    `From: "Sender ${i % 17}" <sender${i % 17}@example.test>`,
    "To: Fox Mulder <mulder@example.test>",
    `Subject: [inetkit-bench] message number ${i} about =?UTF-8?Q?caf=C3=A9?=`,
    "Date: Tue, 14 Nov 2023 22:13:20 +0000",
    `Message-ID: <bench-${RUN}-${i}@example.test>`,
    "List-Id: <bench.example.test>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    body,
    "",
  ].join("\r\n");
}

/** CPU time of this process's main (JavaScript) thread in ms (Linux schedstat). */
function cpuTime(): number {
  return Number(Deno.readTextFileSync("/proc/self/schedstat").split(" ")[0]) / 1e6;
}

interface Timing {
  ms: number;
  cpu: number;
  bytes: number;
}

async function inetkit(section: "HEADER" | ""): Promise<Timing> {
  await using imap = await ImapClient.connect({
    port: PORT,
    tls: false,
    credentials: CREDENTIALS,
  });
  await imap.examine(FOLDER);
  const cpu = cpuTime();
  const started = performance.now();
  const messages = await imap.fetch("1:*", [`BODY.PEEK[${section}]`]);
  const ms = performance.now() - started;
  const used = cpuTime() - cpu;
  let bytes = 0;
  for (const m of messages) bytes += m.body.get(section)!.size;
  if (messages.length !== COUNT) throw new Error(`fetched ${messages.length} messages`);
  return { ms, cpu: used, bytes };
}

const IMAPLIB = `
import imaplib, sys, time
section, folder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
imap = imaplib.IMAP4("127.0.0.1", ${PORT})
imap.login("mulder", "trustno1")
imap.select(folder, readonly=True)
cpu = time.process_time()
started = time.perf_counter()
typ, data = imap.fetch("1:*", "(BODY.PEEK[%s])" % section)
elapsed = time.perf_counter() - started
cpu = time.process_time() - cpu
parts = [d for d in data if isinstance(d, tuple)]
if len(parts) != count: raise SystemExit("fetched %d" % len(parts))
size = sum(len(p[1]) for p in parts)
imap.logout()
print(elapsed * 1000, cpu * 1000, size)
`;

async function imaplib(section: "HEADER" | ""): Promise<Timing> {
  const { code, stdout, stderr } = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", IMAPLIB, section, FOLDER, String(COUNT)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
  const [ms, cpu, bytes] = new TextDecoder().decode(stdout).trim().split(" ").map(Number);
  return { ms: ms!, cpu: cpu!, bytes: bytes! };
}

/**
 * The floor: the same FETCH on a raw socket, reading until the tagged OK
 * without parsing anything. What is left above it is the client's.
 */
async function raw(section: "HEADER" | ""): Promise<Timing> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: PORT });
  const buffer = new Uint8Array(1 << 16);
  const decoder = new TextDecoder();
  let tail = "";
  const until = async (marker: string) => {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("Dovecot closed the connection");
      tail = (tail + decoder.decode(buffer.subarray(0, n))).slice(-300);
      if (tail.includes(marker)) return;
    }
  };
  try {
    await until("\r\n");
    await conn.write(encoder.encode(`a LOGIN mulder trustno1\r\nb EXAMINE ${FOLDER}\r\n`));
    await until("\r\nb OK");
    tail = "";
    const cpu = cpuTime();
    const started = performance.now();
    await conn.write(encoder.encode(`c FETCH 1:* (BODY.PEEK[${section}])\r\n`));
    await until("\r\nc OK");
    return { ms: performance.now() - started, cpu: cpuTime() - cpu, bytes: 0 };
  } finally {
    conn.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function setup(): Promise<void> {
  await using imap = await ImapClient.connect({
    port: PORT,
    tls: false,
    credentials: CREDENTIALS,
  });
  await imap.create(FOLDER);
  const started = performance.now();
  for (let i = 0; i < COUNT; i++) await imap.append(FOLDER, message(i));
  console.log(
    `APPENDed ${COUNT} messages to ${FOLDER} in ${
      ((performance.now() - started) / 1000).toFixed(2)
    } s`,
  );
}

async function cleanup(): Promise<void> {
  await using imap = await ImapClient.connect({
    port: PORT,
    tls: false,
    credentials: CREDENTIALS,
  });
  for (const folder of [FOLDER, BIG_FOLDER]) await imap.delete(folder).catch(() => {});
}

/** A big message generated as it is sent: the APPEND itself keeps nothing. */
function bigMessage(size: number): ReadableStream<Uint8Array> {
  const header = encoder.encode(
    `Subject: [inetkit-bench] big\r\nMessage-ID: <big-${RUN}@example.test>\r\n\r\n`,
  );
  const line = encoder.encode("z".repeat(1022) + "\r\n");
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0) {
        controller.enqueue(header);
        sent = header.length;
        return;
      }
      const left = size - sent;
      if (left <= 0) {
        controller.close();
        return;
      }
      const n = Math.min(left, 64 * line.length);
      const chunk = new Uint8Array(n);
      for (let at = 0; at < n; at += line.length) {
        chunk.set(line.subarray(0, Math.min(line.length, n - at)), at);
      }
      if (n >= 2) chunk.set([13, 10], n - 2);
      sent += n;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
}

async function memory(): Promise<void> {
  const size = BIG_MIB * 1024 * 1024;
  const rss = () => Deno.memoryUsage().rss / (1024 * 1024);
  await using imap = await ImapClient.connect({
    port: PORT,
    tls: false,
    credentials: CREDENTIALS,
  });
  await imap.create(BIG_FOLDER);
  let peak = rss();
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
  try {
    const before = rss();
    peak = before;
    const appendStarted = performance.now();
    await imap.append(BIG_FOLDER, bigMessage(size), { size });
    const appendSeconds = (performance.now() - appendStarted) / 1000;
    const appendPeak = peak;
    await imap.examine(BIG_FOLDER);
    const baseline = rss();
    peak = baseline;
    const started = performance.now();
    const body = await imap.fetchBody(1);
    let received = 0;
    await body!.stream.pipeTo(
      new WritableStream({ write: (chunk) => void (received += chunk.length) }),
    );
    const seconds = (performance.now() - started) / 1000;
    if (received !== size) throw new Error(`received ${received} of ${size} bytes`);
    console.log(
      `\n${BIG_MIB} MiB message: APPEND (stream) ${appendSeconds.toFixed(2)} s, RSS ${
        before.toFixed(0)
      } -> ` +
        `peak ${appendPeak.toFixed(0)} MiB (+${(appendPeak - before).toFixed(0)})`,
    );
    console.log(
      `  fetchBody() stream ${seconds.toFixed(2)} s (${
        (BIG_MIB / seconds).toFixed(0)
      } MiB/s), RSS ` +
        `${baseline.toFixed(0)} -> peak ${peak.toFixed(0)} MiB (+${(peak - baseline).toFixed(0)})`,
    );
  } finally {
    clearInterval(sampler);
  }
  const py = await new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      `import imaplib, time
def hwm():
    # VmHWM: this process's peak RSS (ru_maxrss would include the parent's, kept across exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"): return int(line.split()[1]) / 1024
imap = imaplib.IMAP4("127.0.0.1", ${PORT}); imap.login("mulder", "trustno1"); imap.select("${BIG_FOLDER}", readonly=True)
before = hwm()
t = time.perf_counter(); typ, data = imap.fetch("1", "(BODY.PEEK[])"); t = time.perf_counter() - t
print(before, hwm(), t, len(data[0][1]))
imap.logout()`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (py.code === 0) {
    const [before, after, t] = new TextDecoder().decode(py.stdout).trim().split(" ").map(Number);
    console.log(
      `  imaplib fetch       ${t!.toFixed(2)} s, max RSS ${before!.toFixed(0)} -> ${
        after!.toFixed(0)
      } MiB ` +
        `(+${(after! - before!).toFixed(0)})`,
    );
  } else console.log(`  imaplib failed: ${new TextDecoder().decode(py.stderr).slice(-300)}`);
}

try {
  await setup();
  const rows: Record<string, { ours: Timing[]; py: Timing[]; floor: Timing[] }> = {
    headers: { ours: [], py: [], floor: [] },
    bodies: { ours: [], py: [], floor: [] },
  };
  // A warm-up of each, not counted (Dovecot's caches, Deno's JIT).
  await inetkit("HEADER");
  await imaplib("HEADER");
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, section] of [["headers", "HEADER"], ["bodies", ""]] as const) {
      const row = rows[name]!;
      if (round % 2 === 0) {
        row.ours.push(await inetkit(section));
        row.py.push(await imaplib(section));
      } else {
        row.py.push(await imaplib(section));
        row.ours.push(await inetkit(section));
      }
      row.floor.push(await raw(section));
    }
  }
  console.log(
    `\n${COUNT} messages, ${ROUNDS} rounds, medians (wall ms from FETCH to tagged OK; client CPU ms)`,
  );
  console.log(
    "fetch       bytes  raw socket ms   ImapClient ms (cpu)   imaplib ms (cpu)   wall ratio  cpu ratio",
  );
  for (const [name, { ours, py, floor }] of Object.entries(rows)) {
    const o = median(ours.map((t) => t.ms));
    const p = median(py.map((t) => t.ms));
    const f = median(floor.map((t) => t.ms));
    const oc = median(ours.map((t) => t.cpu));
    const pc = median(py.map((t) => t.cpu));
    console.log(
      `${name.padEnd(9)} ${String(ours[0]!.bytes).padStart(9)} ${f.toFixed(1).padStart(12)}  ${
        o.toFixed(1).padStart(10)
      } (${oc.toFixed(1).padStart(6)})  ${p.toFixed(1).padStart(10)} (${
        pc.toFixed(1).padStart(6)
      })  ${(p / o).toFixed(2).padStart(8)}x ${(pc / oc).toFixed(2).padStart(8)}x`,
    );
  }
  console.log(
    "(raw socket: the same FETCH read to its tagged OK without parsing: Dovecot's own time, " +
      "the floor for any client)",
  );
  if (BIG_MIB > 0) await memory();
} finally {
  await cleanup();
}
