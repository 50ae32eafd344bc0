/**
 * Benchmark: messages accepted per second over one pipelined SMTP
 * connection, inetkit's SmtpServer (in a child process, delivering into a
 * MaildirStore with fsync: every `250` means the message is on disk) against
 * the peers' Postfix on 127.0.0.1:2525 (whose `250` means the queue file is
 * fsynced; local delivery into mulder's Maildir, the one Dovecot serves,
 * happens after). The client is the same for both: inetkit's SmtpClient
 * with PIPELINING (MAIL, RCPT and DATA written at once, then the message,
 * then the final reply awaited), or Python's smtplib with `--client
 * smtplib`. The clock runs from the first MAIL to the last `250`;
 * connection set-up is excluded.
 *
 * A third row runs our SmtpServer with an `onMessage` hook that reads and
 * drops each message: not durable, it shows the protocol's own cost apart
 * from the store's.
 *
 * Our scratch Maildirs are removed only after the last round, as Postfix's
 * copies are: deleting a thousand files just before the next round's
 * deliveries would charge that round for it (ext4 skips recently deleted
 * inodes of the directory's block group when it allocates new ones; that
 * made file creation there cost about 1 ms instead of 0.1 ms).
 *
 * Rounds alternate between the servers and the medians are reported. Two
 * rates for Postfix: "accepted" (the last 250, comparable to ours) and
 * "in Maildir" (until the last message appeared in mulder's Maildir, which
 * needs read access to it, e.g. running as root). Server CPU per message is
 * shown for ours (from /proc). Postfix's copies are deleted again through
 * Dovecot IMAP afterwards.
 *
 * `--dir` puts our scratch Maildirs elsewhere than the system's temporary
 * directory: creating a file costs what the file system makes it cost in
 * that directory's block group, so a busy `/tmp` (every test run's
 * temporary files) and Postfix's `/var/spool/postfix` can differ.
 *
 *   deno run -A tests/bench/smtp_server.ts [--count 1000] [--rounds 3] [--client smtplib] [--bdat]
 *     [--dir /var/tmp]
 *
 * @module
 */
import { SmtpClient } from "../../mail/smtp_client.ts";

const args = Deno.args;

// --- server mode (a child process) ---------------------------------------
if (args[0] === "--server") {
  const { MaildirStore } = await import("../../mail/maildir_store.ts");
  const { SmtpServer } = await import("../../mail/smtp_server.ts");
  const server = args[1] === "hook"
    ? new SmtpServer({
      // Not durable: reads every message and drops it (the protocol's own cost).
      onMessage: async (_envelope, message) => void await new Response(message).arrayBuffer(),
    })
    : new SmtpServer({ store: new MaildirStore(args[2]!), catchAll: "mulder" });
  console.log(`PORT ${server.addr.port}`);
  await server.finished;
  Deno.exit(0);
}

// --- driver ----------------------------------------------------------------
function option(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

const count = Number(option("count", "1000"));
const rounds = Number(option("rounds", "3"));
const clientKind = option("client", "smtpclient");
const bdat = args.includes("--bdat");
const scratchParent = option("dir", "");
const POSTFIX_PORT = 2525;
const POSTFIX_MAILDIR = "/home/mulder/Maildir";
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

/** Sends `n` messages over one connection; returns the seconds from the first MAIL to the last 250. */
async function sendWithSmtpClient(port: number, tag: string, n: number): Promise<number> {
  await using smtp = await SmtpClient.connect({ port, tls: false });
  await smtp.ehlo();
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    await smtp.send({ from: FROM, to: [TO] }, message(tag, i), {
      pipelining: true,
      chunking: bdat,
    });
  }
  return (performance.now() - started) / 1000;
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
for i in range(n):
    s.sendmail("${FROM}", ["${TO}"], message(i))
print(time.perf_counter() - started)
s.quit()
`;

async function sendWithSmtplib(port: number, tag: string, n: number): Promise<number> {
  const { code, stdout, stderr } = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", SMTPLIB, String(n), RUN, tag, String(port)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
  return Number(new TextDecoder().decode(stdout).trim());
}

const send = clientKind === "smtplib" ? sendWithSmtplib : sendWithSmtpClient;

/** Messages in a Maildir's new/ and cur/, or NaN when it cannot be read. */
function maildirCount(root: string): number {
  try {
    let n = 0;
    for (const sub of ["new", "cur"]) for (const _ of Deno.readDirSync(`${root}/${sub}`)) n++;
    return n;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Ours {
  child: Deno.ChildProcess;
  port: number;
  dir: string;
}

async function startOurs(mode: "maildir" | "hook"): Promise<Ours> {
  const dir = await Deno.makeTempDir({
    prefix: "inetkit_bench_smtpd_",
    dir: scratchParent === "" ? undefined : scratchParent,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--server", mode, dir],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the server exited before printing its port");
    text += value;
  }
  reader.releaseLock();
  return { child, port: Number(/PORT (\d+)/.exec(text)![1]), dir };
}

/** Scratch Maildirs, removed after the last round. */
const scratch: string[] = [];

async function stopOurs(ours: Ours): Promise<void> {
  ours.child.kill("SIGTERM");
  await ours.child.status;
  await ours.child.stdout.cancel().catch(() => {});
  scratch.push(ours.dir);
}

interface Row {
  accepted: number[];
  inMaildir: number[];
  cpu: number[];
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

async function roundOurs(
  row: Row,
  round: number,
  mode: "maildir" | "hook" = "maildir",
): Promise<void> {
  const ours = await startOurs(mode);
  try {
    await send(ours.port, `warm${round}`, 50);
    const before = cpuSeconds(ours.child.pid);
    const seconds = await send(ours.port, `ours${round}`, count);
    row.cpu.push((cpuSeconds(ours.child.pid) - before) / count * 1e6);
    row.accepted.push(count / seconds);
    if (mode === "hook") {
      row.inMaildir.push(NaN);
      return;
    }
    // A 250 from our server means the message is in the Maildir already.
    row.inMaildir.push(count / seconds);
    const stored = maildirCount(`${ours.dir}/mulder`);
    if (stored !== count + 50) throw new Error(`expected ${count + 50} files, found ${stored}`);
  } finally {
    await stopOurs(ours);
  }
}

async function roundPostfix(row: Row, round: number): Promise<void> {
  await send(POSTFIX_PORT, `warm${round}`, 50);
  const baseline = maildirCount(POSTFIX_MAILDIR);
  const started = performance.now();
  const seconds = await send(POSTFIX_PORT, `postfix${round}`, count);
  row.accepted.push(count / seconds);
  if (Number.isNaN(baseline)) {
    row.inMaildir.push(NaN);
    return;
  }
  // Wait for local delivery of the warm-up and the measured messages.
  const deadline = Date.now() + 120000;
  while (maildirCount(POSTFIX_MAILDIR) < baseline + count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  row.inMaildir.push(count / ((performance.now() - started) / 1000));
}

function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const ours: Row = { accepted: [], inMaildir: [], cpu: [] };
const hook: Row = { accepted: [], inMaildir: [], cpu: [] };
const postfix: Row = { accepted: [], inMaildir: [], cpu: [] };
const postfixUp = await Deno.connect({ hostname: "127.0.0.1", port: POSTFIX_PORT })
  .then((conn) => (conn.close(), true), () => false);
if (!postfixUp) console.log(`(no Postfix on 127.0.0.1:${POSTFIX_PORT}: only inetkit is measured)`);
try {
  for (let round = 0; round < rounds; round++) {
    // Alternate which server goes first, so that neither always runs on a warmer machine.
    if (round % 2 === 0 || !postfixUp) {
      await roundOurs(ours, round);
      if (postfixUp) await roundPostfix(postfix, round);
    } else {
      await roundPostfix(postfix, round);
      await roundOurs(ours, round);
    }
    await roundOurs(hook, round, "hook");
  }
} finally {
  for (const dir of scratch) await Deno.remove(dir, { recursive: true });
}

const fmt = (v: number, width: number) => (Number.isNaN(v) ? "-" : v.toFixed(0)).padStart(width);
console.log(
  `\n${count} messages over one connection, ${rounds} rounds (medians), client: ${
    clientKind === "smtplib"
      ? "Python smtplib"
      : `SmtpClient, PIPELINING, ${bdat ? "BDAT" : "DATA"}`
  }; our Maildirs in ${scratchParent === "" ? "the temporary directory" : scratchParent}`,
);
console.log(
  `${"server".padEnd(40)} ${"accepted/s".padStart(11)} ${"in Maildir/s".padStart(13)} ${
    "server CPU µs/msg".padStart(18)
  }`,
);
console.log(
  `${"inetkit SmtpServer + MaildirStore".padEnd(40)} ${fmt(median(ours.accepted), 11)} ${
    fmt(median(ours.inMaildir), 13)
  } ${fmt(median(ours.cpu), 18)}`,
);
console.log(
  `${"inetkit SmtpServer, no store (not durable)".padEnd(40)} ${fmt(median(hook.accepted), 11)} ${
    fmt(NaN, 13)
  } ${fmt(median(hook.cpu), 18)}`,
);
if (postfixUp) {
  console.log(
    `${"Postfix 127.0.0.1:2525 (local → Maildir)".padEnd(40)} ${
      fmt(median(postfix.accepted), 11)
    } ${fmt(median(postfix.inMaildir), 13)} ${"-".padStart(18)}`,
  );
  const ratio = median(ours.accepted) / median(postfix.accepted);
  const delivered = median(ours.inMaildir) / median(postfix.inMaildir);
  console.log(
    `\nratio inetkit / Postfix: accepted ${ratio.toFixed(2)}, in Maildir ${
      Number.isNaN(delivered) ? "-" : delivered.toFixed(2)
    } (target >= 1.00)`,
  );
  console.log(
    `rounds, accepted/s: inetkit ${ours.accepted.map((v) => v.toFixed(0)).join(" ")}; ` +
      `Postfix ${postfix.accepted.map((v) => v.toFixed(0)).join(" ")}`,
  );
  const { stdout } = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", CLEANUP, RUN, String(rounds * (count + 50))],
    stdout: "piped",
  }).output();
  console.log(
    `(deleted ${new TextDecoder().decode(stdout).trim()} delivered copies from mulder's INBOX)`,
  );
}
