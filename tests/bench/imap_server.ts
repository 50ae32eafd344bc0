/**
 * Benchmark: inetkit's ImapServer against the peers' Dovecot (127.0.0.1:1143)
 * serving 1,000-message FETCHes to Python's imaplib: all headers
 * (`FETCH 1:1000 (BODY.PEEK[HEADER])`), then all full bodies
 * (`FETCH 1:1000 (BODY.PEEK[])`). Both servers hold the same 1,000
 * messages (about 3.4 KB each): Dovecot in a scratch folder of mulder's
 * mailbox, appended here and deleted afterwards; ours in a MaildirStore in
 * a temporary directory, served by a child process.
 *
 * The client is the same imaplib script for both (pinned to CPU 1, our
 * server to CPU 0); it times each FETCH from the command to the tagged OK
 * (login and SELECT excluded) and reports messages per second. Three kinds
 * of rounds, each reported as a median:
 * - cold: the first FETCHes of a folder just filled, a new Dovecot folder
 *   and a new Maildir (and server process) each time: Dovecot builds its
 *   index cache, ours has what the deliveries left in memory;
 * - warm: rounds alternating between the servers on the last folders;
 * - restarted: a new process of ours on the last Maildir, its first
 *   FETCHes (headers from the header cache file, bodies from their files),
 *   against Dovecot's warm medians (its caches are on disk).
 * The ratio is ours / Dovecot (above 1: faster).
 *
 * Run: deno run -A tests/bench/imap_server.ts [--count 1000] [--rounds 5] [--cold-rounds 3]
 *
 * @module
 */
import { ImapServer } from "../../mail/imap_server.ts";
import { MaildirStore } from "../../mail/maildir_store.ts";

const args = Deno.args;
function option(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}
const count = Number(option("count", "1000"));
const rounds = Number(option("rounds", "5"));
const PYTHON = "/usr/bin/python3";
const DOVECOT = 1143;

/** The i-th test message: a plausible notification mail of about 3.4 KB. */
function message(i: number): string {
  const lines: string[] = [];
  for (let l = 0; l < 40; l++) {
    lines.push(`Line ${l} of message ${i}: the truth is out there, and so are ${i * 7 + l} files.`);
  }
  return [
    `Return-Path: <sender${i % 17}@example.test>`,
    "Received: from mail.example.test (mail.example.test [192.0.2.25])",
    `\tby mx.example.test with ESMTPS id ${(i * 2654435761 >>> 0).toString(16)}`,
    "\tfor <mulder@example.test>; Tue, 14 Nov 2023 22:13:20 +0000",
    `From: Sender ${i % 17} <sender${i % 17}@example.test>`,
    "To: Fox Mulder <mulder@example.test>",
    `Subject: Benchmark message ${i}`,
    `Date: Tue, 14 Nov 2023 ${String(10 + (i % 12)).padStart(2, "0")}:13:20 +0000`,
    `Message-ID: <bench-${i}@example.test>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    ...lines,
    "",
  ].join("\r\n");
}

// --- server mode (a child process) ---------------------------------------
if (args[0] === "--server") {
  const root = args[1]!;
  const store = new MaildirStore(root);
  if ((await store.status("mulder", "INBOX")).messages === 0) {
    const encoder = new TextEncoder();
    for (let i = 0; i < count; i++) {
      await store.deliver("mulder", "INBOX", encoder.encode(message(i)), {
        internalDate: new Date(1700000000000 + i * 1000),
      });
    }
  }
  const server = new ImapServer({
    store,
    users: { users: { mulder: "trustno1" } },
    port: 0,
    authFailureDelay: 0,
  });
  console.log(`PORT ${server.addr.port}`);
  await server.finished;
  Deno.exit(0);
}

// --- driver ----------------------------------------------------------------
const CLIENT = `
import imaplib, json, sys, time
port, folder = int(sys.argv[1]), sys.argv[2]
m = imaplib.IMAP4("127.0.0.1", port)
m.login("mulder", "trustno1")
typ, data = m.select(folder, readonly=True)
n = int(data[0])
out = {"n": n}
for name, items in (("headers", "(BODY.PEEK[HEADER])"), ("bodies", "(BODY.PEEK[])")):
    started = time.perf_counter()
    typ, data = m.fetch("1:%d" % n, items)
    elapsed = time.perf_counter() - started
    assert typ == "OK", (typ, data)
    got = [d for d in data if isinstance(d, tuple)]
    assert len(got) == n, len(got)
    out[name] = elapsed
    out[name + "_bytes"] = sum(len(d[1]) for d in got)
m.logout()
print(json.dumps(out))
`;

const SETUP = `
import imaplib, json, sys
folder, action = sys.argv[1], sys.argv[2]
m = imaplib.IMAP4("127.0.0.1", ${DOVECOT})
m.login("mulder", "trustno1")
if action == "create":
    messages = json.loads(sys.stdin.read())
    typ, data = m.create(folder)
    assert typ == "OK", data
    for text in messages:
        typ, data = m.append(folder, None, '"14-Nov-2023 22:13:20 +0000"', text.encode())
        assert typ == "OK", data
else:
    m.delete(folder)
m.logout()
`;

async function python(script: string, scriptArgs: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command("taskset", {
    args: ["-c", "1", PYTHON, "-c", script, ...scriptArgs],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

interface Round {
  n: number;
  headers: number;
  bodies: number;
  headers_bytes: number;
  bodies_bytes: number;
}

async function round(port: number, folder: string): Promise<Round> {
  return JSON.parse(await python(CLIENT, [String(port), folder]));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const coldRounds = Number(option("cold-rounds", "3"));
const messages = Array.from({ length: count }, (_, i) => message(i));
console.log(
  `${count} messages of ${
    Math.round(messages.reduce((n, m) => n + m.length, 0) / count)
  } octets; ${coldRounds} cold rounds (a new Dovecot folder and a new Maildir each), ` +
    `${rounds} warm ones; imaplib on CPU 1, our server on CPU 0`,
);

/** Starts our server in a child process (on CPU 0) on the Maildir in `root`. */
async function startOurs(root: string): Promise<{ port: number; child: Deno.ChildProcess }> {
  const child = new Deno.Command("taskset", {
    args: [
      "-c",
      "0",
      Deno.execPath(),
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--server",
      root,
      "--count",
      String(count),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The inetkit server exited before printing its port");
    text += value;
  }
  reader.releaseLock();
  return { port: Number(/PORT (\d+)/.exec(text)![1]), child };
}

async function stopOurs(child: Deno.ChildProcess | undefined): Promise<void> {
  if (child === undefined) return;
  child.kill("SIGTERM");
  await child.status;
  await child.stdout.cancel().catch(() => {});
}

const folders: string[] = [];
const roots: string[] = [];
let child: Deno.ChildProcess | undefined;
try {
  // Cold: the first FETCHes of a folder just filled (Dovecot builds its index
  // cache; ours has what the deliveries left in memory).
  const cold = new Map<string, Round[]>([["dovecot", []], ["inetkit", []]]);
  let folder = "";
  let root = "";
  let ours = 0;
  for (let r = 0; r < coldRounds; r++) {
    await stopOurs(child);
    folder = `InetkitBench${crypto.randomUUID().slice(0, 8)}`;
    folders.push(folder);
    await python(SETUP, [folder, "create"], JSON.stringify(messages));
    root = await Deno.makeTempDir({ prefix: "inetkit-imap-bench-" });
    roots.push(root);
    ({ port: ours, child } = await startOurs(root));
    const order: [string, number, string][] = [["dovecot", DOVECOT, folder], [
      "inetkit",
      ours,
      "INBOX",
    ]];
    if (r % 2 === 1) order.reverse();
    for (const [name, port, box] of order) cold.get(name)!.push(await round(port, box));
  }
  const targets: [string, number, string][] = [
    ["dovecot", DOVECOT, folder],
    ["inetkit", ours, "INBOX"],
  ];
  const results = new Map<string, Round[]>(targets.map(([name]) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const [name, port, box] of order) results.get(name)!.push(await round(port, box));
  }
  // Restarted: a new process on the last Maildir, its first FETCHes (headers
  // from the header cache file, bodies from their files), against Dovecot's
  // warm medians (its caches are on disk).
  const restarted: Round[] = [];
  for (let r = 0; r < coldRounds; r++) {
    await stopOurs(child);
    ({ port: ours, child } = await startOurs(root));
    restarted.push(await round(ours, "INBOX"));
  }
  const line = (label: string, ...cells: string[]) =>
    console.log(label.padEnd(30) + cells.map((c) => c.padStart(14)).join(""));
  console.log(`\nimaplib FETCH 1:${count}, messages per second (medians)`);
  line("", "dovecot", "inetkit", "ratio");
  const rate = (list: Round[], what: "headers" | "bodies") =>
    count / median(list.map((x) => x[what]));
  for (const what of ["headers", "bodies"] as const) {
    const item = what === "headers" ? "BODY.PEEK[HEADER]" : "BODY.PEEK[]";
    const rows: [string, number, number][] = [
      ["cold", rate(cold.get("dovecot")!, what), rate(cold.get("inetkit")!, what)],
      ["warm", rate(results.get("dovecot")!, what), rate(results.get("inetkit")!, what)],
      ["restarted", rate(results.get("dovecot")!, what), rate(restarted, what)],
    ];
    for (const [kind, d, o] of rows) {
      line(`${item}, ${kind}`, d.toFixed(0), o.toFixed(0), (o / d).toFixed(2));
    }
  }
  const d0 = cold.get("dovecot")![0]!;
  const o0 = cold.get("inetkit")![0]!;
  console.log(
    `(octets received: headers ${d0.headers_bytes} / ${o0.headers_bytes}, ` +
      `bodies ${d0.bodies_bytes} / ${o0.bodies_bytes}; ratio = inetkit / dovecot)`,
  );
} finally {
  await stopOurs(child);
  for (const folder of folders) {
    await python(SETUP, [folder, "delete"]).catch((error) => console.error("cleanup:", error));
  }
  for (const root of roots) await Deno.remove(root, { recursive: true });
}
