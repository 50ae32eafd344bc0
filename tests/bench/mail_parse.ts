/**
 * Benchmark: parsing a generated 50 MiB MIME message with many parts, with
 * inetkit (as a stream, and into memory) against Python's `email` package
 * (`message_from_binary_file` with `policy.default`, walking every part and
 * decoding every leaf). Each run is a fresh process; the table shows wall
 * time and peak RSS (VmHWM) and the ratios against Python.
 *
 *   deno run -A tests/bench/mail_parse.ts [--size MiB] [--runs N]
 *
 * Targets: at least 2x faster than Python; peak RSS under 2x the message size.
 *
 * @module
 */
import { buildMessage, parseMessage, readMessage } from "../../mail/mod.ts";
import type { AttachmentInit } from "../../mail/mod.ts";

const PYTHON = "/usr/bin/python3";

function peakRssBytes(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m === null ? Deno.memoryUsage().rss : Number(m[1]) * 1024;
}

/** Child mode: parse the file one way and print JSON {ms, rss, parts, bytes}. */
async function child(mode: string, path: string): Promise<void> {
  const started = performance.now();
  let parts = 0;
  let bytes = 0;
  using file = await Deno.open(path);
  if (mode === "stream") {
    const message = await readMessage(Deno.args[3] === "readable" ? file.readable : file);
    for await (const part of message.walk()) {
      parts++;
      if (part.isMultipart || part.isMessage) continue;
      const reader = part.content.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        bytes += value.length;
      }
    }
  } else {
    const message = await parseMessage(Deno.args[3] === "readable" ? file.readable : file, {
      maxSize: 1 << 30,
    });
    for (const part of message.walk()) {
      parts++;
      bytes += part.isMultipart ? 0 : part.content.length;
    }
  }
  const ms = performance.now() - started;
  console.log(JSON.stringify({ ms, rss: peakRssBytes(), parts, bytes }));
}

const PY_SCRIPT = `
import email, email.policy, sys, time, json
t = time.perf_counter()
with open(sys.argv[1], 'rb') as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)
parts = 0
total = 0
for part in msg.walk():
    parts += 1
    if part.is_multipart():
        continue
    payload = part.get_payload(decode=True)
    total += len(payload or b'')
ms = (time.perf_counter() - t) * 1000
rss = 0
for line in open('/proc/self/status'):
    if line.startswith('VmHWM:'):
        rss = int(line.split()[1]) * 1024
print(json.dumps({'ms': ms, 'rss': rss, 'parts': parts, 'bytes': total}))
`;

interface Result {
  ms: number;
  rss: number;
  parts: number;
  bytes: number;
}

async function run(cmd: string, args: string[]): Promise<Result> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
}

/** A deterministic pseudo-random byte generator (xorshift32). */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

async function generate(path: string, sizeMiB: number): Promise<number> {
  const target = sizeMiB * 1024 * 1024;
  const paragraph =
    "Grüße aus Köln. The quarterly numbers are attached; the summary follows in this paragraph, " +
    "with a few non-ASCII characters (é, ß, €) so that it goes quoted-printable.\n";
  const attachments: AttachmentInit[] = [];
  let estimate = 0;
  let k = 0;
  while (estimate < target) {
    k++;
    if (k % 4 === 0) {
      const text = paragraph.repeat(60 + (k % 50));
      attachments.push({
        filename: `notes-${k}.txt`,
        content: text,
        contentType: "text/plain; charset=utf-8",
      });
      estimate += text.length * 1.37 + 300;
    } else {
      const size = 40000 + ((k * 7919) % 50000);
      attachments.push({ filename: `data-${k}.bin`, content: noise(size, k) });
      estimate += size * 1.37 + 300;
    }
  }
  const stream = buildMessage({
    from: "Bench <bench@example.test>",
    to: "reader@example.test",
    subject: "50 MiB of parts",
    date: new Date("2024-01-01T00:00:00Z"),
    messageId: "<bench@example.test>",
    text: paragraph.repeat(20),
    html: "<p>" + paragraph.repeat(20) + "</p>",
    attachments,
  });
  await Deno.writeFile(path, stream);
  return (await Deno.stat(path)).size;
}

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

if (Deno.args[0] === "--child") {
  await child(Deno.args[1]!, Deno.args[2]!);
} else {
  const sizeMiB = flag("--size", 50);
  const runs = flag("--runs", 3);
  const dir = await Deno.makeTempDir({ prefix: "inetkit-bench-" });
  const path = `${dir}/message.eml`;
  try {
    const size = await generate(path, sizeMiB);
    console.log(`message: ${(size / 1048576).toFixed(1)} MiB, ${runs} runs each, best time shown`);
    const self = new URL(import.meta.url).pathname;
    const best = async (cmd: string, args: string[]): Promise<Result> => {
      const results: Result[] = [];
      for (let r = 0; r < runs; r++) results.push(await run(cmd, args));
      const fastest = results.reduce((a, b) => (b.ms < a.ms ? b : a));
      return { ...fastest, rss: Math.max(...results.map((r) => r.rss)) };
    };
    const hasPython = await Deno.stat(PYTHON).then(() => true, () => false);
    const python = hasPython ? await best(PYTHON, ["-c", PY_SCRIPT, path]) : null;
    const stream = await best(Deno.execPath(), ["run", "-A", self, "--child", "stream", path]);
    const readable = await best(Deno.execPath(), [
      "run",
      "-A",
      self,
      "--child",
      "stream",
      path,
      "readable",
    ]);
    const tree = await best(Deno.execPath(), ["run", "-A", self, "--child", "tree", path]);
    const rows: [string, Result][] = [
      ["inetkit readMessage(Deno.FsFile), parts streamed", stream],
      ["inetkit readMessage(file.readable), parts streamed", readable],
      ["inetkit parseMessage(Deno.FsFile), all in memory", tree],
    ];
    if (python !== null) rows.push(["python email (policy.default)", python]);
    const mib = (n: number): string => (n / 1048576).toFixed(1);
    console.log(
      "| parser | parts | decoded MiB | time ms | MiB/s | peak RSS MiB | RSS/size | speed vs python |",
    );
    console.log("|---|---|---|---|---|---|---|---|");
    for (const [name, r] of rows) {
      const ratio = python === null ? "n/a" : `${(python.ms / r.ms).toFixed(2)}x`;
      console.log(
        `| ${name} | ${r.parts} | ${mib(r.bytes)} | ${r.ms.toFixed(0)} | ${
          (size / 1048576 / (r.ms / 1000)).toFixed(0)
        } | ${mib(r.rss)} | ${(r.rss / size).toFixed(2)} | ${ratio} |`,
      );
    }
    if (python === null) console.log(`(${PYTHON} not found: no comparison)`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
