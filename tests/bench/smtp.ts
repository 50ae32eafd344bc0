/**
 * Benchmark: messages per second over one SMTP connection to the peers'
 * Postfix (127.0.0.1:2525), inetkit's SmtpClient with and without
 * PIPELINING against Python's smtplib (`sendmail` in a loop). Each client
 * sends the same small message to mulder@example.test; the clock runs from
 * the first MAIL to the last reply (connection set-up excluded). Afterwards
 * the delivered copies are deleted again through Dovecot IMAP.
 *
 * Postfix does most of the work per message (smtpd hands each one to
 * cleanup, which writes the queue file, before the final reply), so the
 * table also shows the ceiling one connection can reach: every command of
 * every message written at once on a raw socket. The CPU column is the
 * client's CPU time per message: Deno's main thread (where the JavaScript
 * and the event loop run), Python's process time.
 *
 * A second table runs the same clients against a minimal sink server (a
 * Deno child process that answers every command at once and discards the
 * content), which shows the clients' own speed without Postfix's queue work.
 *
 * Run: deno run -A tests/bench/smtp.ts [--count 1000]
 *
 * @module
 */
import { SmtpClient } from "../../mail/smtp_client.ts";
import { spawnServer } from "./_load.ts";

const countArg = Deno.args.indexOf("--count");
const count = countArg >= 0 ? Number(Deno.args[countArg + 1]) : 1000;
const PORT = 2525;
const FROM = "scully@example.test";
const TO = "mulder@example.test";
const RUN = crypto.randomUUID().slice(0, 8);

function message(tag: string, i: number): string {
  return [
    `From: Dana Scully <${FROM}>`,
    `To: ${TO}`,
    `Subject: inetkit-bench-${RUN} ${tag} ${i}`,
    "Date: Tue, 14 Nov 2023 22:13:20 +0000",
    `Message-ID: <bench-${RUN}-${tag}-${i}@example.test>`,
    "",
    "A short message, as a notification service would send.",
    "The truth is out there.",
    "",
  ].join("\r\n");
}

interface Result {
  perSecond: number;
  /** Client CPU time per message in microseconds. */
  cpu: number;
}

/** CPU time of this process's main (JavaScript) thread in microseconds (Linux schedstat). */
function cpuTime(): number {
  return Number(Deno.readTextFileSync("/proc/self/schedstat").split(" ")[0]) / 1000;
}

async function inetkit(tag: string, pipelining: boolean, n: number, port = PORT): Promise<Result> {
  await using smtp = await SmtpClient.connect({ port, tls: false });
  const cpu = cpuTime();
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    await smtp.send({ from: FROM, to: [TO] }, message(tag, i), { pipelining });
  }
  const elapsed = (performance.now() - started) / 1000;
  return { perSecond: n / elapsed, cpu: (cpuTime() - cpu) / n };
}

/** Every message's MAIL, RCPT and BDAT LAST written at once: what Postfix allows. */
async function ceiling(tag: string, n: number): Promise<Result> {
  const encoder = new TextEncoder();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: PORT });
  const buffer = new Uint8Array(1 << 16);
  let pending = "";
  const readReplies = async (wanted: number) => {
    let seen = 0;
    while (seen < wanted) {
      const got = await conn.read(buffer);
      if (got === null) throw new Error("Postfix closed the connection");
      pending += new TextDecoder().decode(buffer.subarray(0, got));
      const lines = pending.split("\r\n");
      pending = lines.pop()!;
      seen += lines.filter((line) => /^\d{3} /.test(line)).length;
    }
  };
  await readReplies(1);
  await conn.write(encoder.encode("EHLO localhost\r\n"));
  await readReplies(1);
  let all = "";
  for (let i = 0; i < n; i++) {
    const body = message(tag, i);
    all += `MAIL FROM:<${FROM}>\r\nRCPT TO:<${TO}>\r\nBDAT ${body.length} LAST\r\n${body}`;
  }
  const bytes = encoder.encode(all);
  const started = performance.now();
  const writing = (async () => {
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
  })();
  await readReplies(3 * n);
  await writing;
  const elapsed = (performance.now() - started) / 1000;
  conn.close();
  return { perSecond: n / elapsed, cpu: NaN };
}

const SMTPLIB = `
import smtplib, sys, time
n, run, tag, port = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
def message(i):
    return "\\r\\n".join([
        "From: Dana Scully <${FROM}>", "To: ${TO}",
        f"Subject: inetkit-bench-{run} {tag} {i}",
        "Date: Tue, 14 Nov 2023 22:13:20 +0000",
        f"Message-ID: <bench-{run}-{tag}-{i}@example.test>", "",
        "A short message, as a notification service would send.",
        "The truth is out there.", ""])
s = smtplib.SMTP("127.0.0.1", port)
s.ehlo()
started = time.perf_counter()
cpu = time.process_time()
for i in range(n):
    s.sendmail("${FROM}", ["${TO}"], message(i))
elapsed = time.perf_counter() - started
cpu = time.process_time() - cpu
s.quit()
print(n / elapsed, cpu / n * 1e6)
`;

async function smtplib(tag: string, n: number, port = PORT): Promise<Result> {
  const { code, stdout, stderr } = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", SMTPLIB, String(n), RUN, tag, String(port)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
  const [perSecond, cpu] = new TextDecoder().decode(stdout).trim().split(" ").map(Number);
  return { perSecond: perSecond!, cpu: cpu! };
}

const CLEANUP = `
import imaplib, sys, time
run, expected = sys.argv[1], int(sys.argv[2])
imap = imaplib.IMAP4("127.0.0.1", 1143)
imap.login("mulder", "trustno1")
deadline = time.time() + 120
while True:
    imap.select("INBOX")
    typ, data = imap.uid("SEARCH", None, "SUBJECT", "inetkit-bench-" + run)
    uids = data[0].split()
    if len(uids) >= expected or time.time() > deadline:
        break
    time.sleep(0.5)
if uids:
    imap.uid("STORE", b",".join(uids).decode(), "+FLAGS", "(\\\\Deleted)")
    imap.expunge()
imap.logout()
print(len(uids))
`;

async function cleanup(expected: number): Promise<number> {
  const { stdout } = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", CLEANUP, RUN, String(expected)],
    stdout: "piped",
  }).output();
  return Number(new TextDecoder().decode(stdout).trim());
}

/** A minimal SMTP sink: answers at once, discards content (DATA and BDAT). */
const SINK = `
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(listener.addr.port);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
for await (const conn of listener) {
  (async () => {
    await conn.write(encoder.encode("220 sink ESMTP\\r\\n"));
    const buf = new Uint8Array(1 << 16);
    let data = new Uint8Array(0);
    let skip = 0;
    let inData = false;
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      const joined = new Uint8Array(data.length + n);
      joined.set(data);
      joined.set(buf.subarray(0, n), data.length);
      let at = 0;
      let out = "";
      while (at < joined.length) {
        if (skip > 0) {
          const take = Math.min(skip, joined.length - at);
          skip -= take;
          at += take;
          if (skip === 0) out += "250 2.0.0 Ok\\r\\n";
          continue;
        }
        const lf = joined.indexOf(10, at);
        if (lf < 0) break;
        const line = decoder.decode(joined.subarray(at, lf + 1));
        at = lf + 1;
        if (inData) {
          if (line === ".\\r\\n") {
            inData = false;
            out += "250 2.0.0 Ok: queued\\r\\n";
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") {
          out += "250-sink\\r\\n250-PIPELINING\\r\\n250-8BITMIME\\r\\n250 CHUNKING\\r\\n";
        } else if (verb === "DATA") {
          inData = true;
          out += "354 go ahead\\r\\n";
        } else if (verb === "BDAT") {
          skip = Number(line.split(" ")[1]);
          if (skip === 0) out += "250 2.0.0 Ok\\r\\n";
        } else if (verb === "QUIT") {
          out += "221 bye\\r\\n";
        } else {
          out += "250 Ok\\r\\n";
        }
      }
      data = joined.slice(at);
      if (out !== "") await conn.write(encoder.encode(out));
    }
    conn.close();
  })();
}
`;

function printRows(title: string, rows: [string, Result][]): void {
  console.log(`\n${title}`);
  console.log(
    `${"client".padEnd(30)} ${"msgs/s".padStart(8)} ${"ratio".padStart(7)} ${
      "client CPU µs/msg".padStart(18)
    }`,
  );
  const base = rows[0]![1].perSecond;
  for (const [name, { perSecond, cpu }] of rows) {
    console.log(
      `${name.padEnd(30)} ${perSecond.toFixed(0).padStart(8)} ${
        (perSecond / base).toFixed(2).padStart(7)
      } ${(Number.isNaN(cpu) ? "-" : cpu.toFixed(0)).padStart(18)}`,
    );
  }
  console.log("(ratio = row / smtplib)");
}

// Warm up both sides (Postfix starts its smtpd/cleanup processes, Deno compiles).
await inetkit("warmup", true, 20);
await smtplib("warmup", 20);

const rows: [string, Result][] = [];
rows.push(["Python smtplib (sendmail)", await smtplib("smtplib", count)]);
rows.push(["SmtpClient, no pipelining", await inetkit("serial", false, count)]);
rows.push(["SmtpClient, pipelining", await inetkit("pipelined", true, count)]);
rows.push(["ceiling: raw, all pipelined", await ceiling("ceiling", count)]);

printRows(`${count} messages over one connection to Postfix 127.0.0.1:${PORT}`, rows);
const removed = await cleanup(4 * count + 40);
console.log(`\n(deleted ${removed} delivered copies from mulder's INBOX)`);

const sink = await spawnServer(Deno.execPath(), ["eval", SINK]);
try {
  await inetkit("warmup", true, 200, sink.port);
  const sinkRows: [string, Result][] = [];
  sinkRows.push(["Python smtplib (sendmail)", await smtplib("sink", count, sink.port)]);
  sinkRows.push(["SmtpClient, no pipelining", await inetkit("sink", false, count, sink.port)]);
  sinkRows.push(["SmtpClient, pipelining", await inetkit("sink", true, count, sink.port)]);
  printRows(`${count} messages over one connection to a minimal sink server`, sinkRows);
} finally {
  await sink.stop();
}
