/**
 * FTP benchmark against the peers' vsftpd (127.0.0.1:2121, plain FTP):
 *
 * - download and upload of one large file (1 GiB by default): inetkit's
 *   FtpClient against curl, whole runs (each a separate process: connect,
 *   login, transfer, quit), interleaved rounds, medians, ratios, and each
 *   client's peak RSS (VmHWM from /proc, read by the process itself for
 *   inetkit, by GNU time for curl);
 * - a mirror of many small files (200 by default): `FtpClient.downloadDir`
 *   against `lftp -e mirror`, whole runs, interleaved.
 *
 * The large file is created in vsftpd's `upload/` (and the small ones in a
 * directory there) and removed at the end; uploads go to `upload/` too and
 * are deleted after each round.
 *
 * Targets: throughput >= 1.0 x curl both ways, inetkit peak RSS < 100 MiB,
 * mirror time <= 1.0 x lftp's.
 *
 * inetkit's FTP server is compared with vsftpd (the same file to curl) in
 * `tests/bench/ftp_server.ts`.
 *
 *   deno run -A tests/bench/ftp.ts [--mib 1024] [--rounds 5] [--files 200] [--skip-mirror] [--skip-transfers]
 *
 * `--skip-transfers` leaves out the large download and upload (for work on
 * the mirror); `--skip-mirror` the mirror.
 *
 * @module
 */

const args = Deno.args;
const self = new URL(import.meta.url).pathname;
const PEERS_DIR = Deno.env.get("PEERS_DIR") ?? "/tmp/peers";
const PORT = 2121;
const USER = "mulder";
const PASSWORD = "trustno1";

function option(name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && at + 1 < args.length ? args[at + 1]! : fallback;
}

/** Peak RSS of this process in bytes (VmHWM). */
function peakRss(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? "0");
  return kb * 1024;
}

// --- child mode: one inetkit run, printing JSON ------------------------------
if (args[0] === "--child") {
  const { FtpClient } = await import("../../net/ftp_client.ts");
  const kind = args[1]!;
  const started = performance.now();
  let bytes = 0;
  {
    await using ftp = await FtpClient.connect({
      port: PORT,
      user: USER,
      password: PASSWORD,
      tls: false,
    });
    if (kind === "download" || kind === "download-default") {
      const body = await ftp.download(args[2]!);
      if (kind === "download") {
        // A BYOB reader: the bytes land in one reused buffer, like curl -o /dev/null.
        const reader = body.getReader({ mode: "byob" });
        let buffer = new ArrayBuffer(256 * 1024);
        for (;;) {
          const { value, done } = await reader.read(new Uint8Array(buffer));
          if (done) break;
          bytes += value.length;
          buffer = value.buffer as ArrayBuffer;
        }
      } else {
        for await (const chunk of body) bytes += chunk.length;
      }
    } else if (kind === "upload") {
      const file = await Deno.open(args[3]!, { read: true });
      bytes = (await ftp.upload(args[2]!, file.readable)).size;
    } else if (kind === "mirror") {
      bytes = (await ftp.downloadDir(args[2]!, args[3]!)).bytes;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ seconds, bytes, peakRss: peakRss() }));
  Deno.exit(0);
}

// --- parent ------------------------------------------------------------------
const MIB = Number(option("mib", "1024"));
const ROUNDS = Number(option("rounds", "5"));
const FILES = Number(option("files", "200"));
const SIZE = MIB * 1024 * 1024;
const RUN = crypto.randomUUID().slice(0, 8);
const FTP_ROOT = `${PEERS_DIR}/ftp`;
const REMOTE_BIG = `upload/inetkit-bench-${RUN}.bin`;
const REMOTE_UP = `upload/inetkit-bench-${RUN}-up.bin`;
const REMOTE_MIRROR = `upload/inetkit-bench-${RUN}-mirror`;
const work = await Deno.makeTempDir({ prefix: "inetkit-bench-ftp-" });
const LOCAL_BIG = `${work}/big.bin`;

interface Run {
  /** Whole-process wall time in seconds. */
  wall: number;
  /** Peak RSS in bytes, or NaN when unknown. */
  peak: number;
  /** inetkit only: seconds from connect to QUIT inside the process. */
  inner?: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function inetkit(kind: string, ...rest: string[]): Promise<Run> {
  const started = performance.now();
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", self, "--child", kind, ...rest],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`inetkit ${kind} failed: ${new TextDecoder().decode(stderr)}`);
  const result = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").pop()!);
  return { wall, peak: result.peakRss, inner: result.seconds };
}

/** Runs a command under GNU time for its peak RSS; returns the wall time and peak. */
async function timed(cmd: string, cmdArgs: string[]): Promise<Run> {
  const started = performance.now();
  const { code, stderr } = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "MAXRSS %M", cmd, ...cmdArgs],
    stdout: "null",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - started) / 1000;
  const text = new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`${cmd} failed (${code}): ${text}`);
  const kb = Number(/MAXRSS (\d+)/.exec(text)?.[1] ?? "NaN");
  return { wall, peak: kb * 1024 };
}

const curlUrl = (path: string) => `ftp://${USER}:${PASSWORD}@127.0.0.1:${PORT}/${path}`;

async function removeRemote(path: string): Promise<void> {
  await Deno.remove(`${FTP_ROOT}/${path}`, { recursive: true }).catch(() => {});
}

function mbps(bytes: number, seconds: number): string {
  return (bytes / seconds / 1e6).toFixed(0);
}

function mib(bytes: number): string {
  return Number.isNaN(bytes) ? "n/a" : (bytes / 1048576).toFixed(1);
}

/** One comparison: rows of runs, interleaved, the first row being inetkit's. */
async function compare(
  title: string,
  bytes: number,
  rows: { name: string; run: () => Promise<Run>; after?: () => Promise<void> }[],
): Promise<void> {
  const results = rows.map(() => [] as Run[]);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so that neither side always runs on a warm cache.
    const order = rows.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      results[i]!.push(await rows[i]!.run());
      await rows[i]!.after?.();
    }
  }
  console.log(`\n${title} (${ROUNDS} rounds, median)`);
  console.log(
    `${"client".padEnd(30)} ${"seconds".padStart(8)} ${"MB/s".padStart(7)} ${
      "peak RSS MiB".padStart(13)
    } ${"in-process s".padStart(13)}   inetkit ratio`,
  );
  const base = median(results[0]!.map((r) => r.wall));
  rows.forEach((row, i) => {
    const wall = median(results[i]!.map((r) => r.wall));
    const peak = Math.max(...results[i]!.map((r) => r.peak));
    const inner = results[i]![0]!.inner === undefined
      ? ""
      : median(results[i]!.map((r) => r.inner!)).toFixed(3);
    const ratio = (wall / base).toFixed(2);
    console.log(
      `${row.name.padEnd(30)} ${wall.toFixed(3).padStart(8)} ${
        bytes > 0 ? mbps(bytes, wall).padStart(7) : "".padStart(7)
      } ${mib(peak).padStart(13)} ${inner.padStart(13)}   ${i === 0 ? "1.00" : ratio}`,
    );
  });
  console.log(
    "(seconds: whole process runs; in-process: inetkit's connect-to-QUIT time without Deno's start and exit;",
  );
  console.log(" ratio: the row's time over inetkit's first row; above 1.00 inetkit is faster)");
}

try {
  // The large file, in vsftpd's upload/ (readable by mulder), and a local copy for uploads.
  console.log(`Creating ${MIB} MiB files (vsftpd upload/ and ${work})...`);
  {
    const chunk = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 31) & 255);
    for (const path of [`${FTP_ROOT}/${REMOTE_BIG}`, LOCAL_BIG]) {
      const file = await Deno.open(path, { write: true, create: true, truncate: true });
      for (let at = 0; at < SIZE; at += chunk.length) {
        await file.write(chunk.subarray(0, Math.min(chunk.length, SIZE - at)));
      }
      file.close();
      await Deno.chmod(path, 0o644);
    }
  }

  if (!args.includes("--skip-transfers")) {
    await compare(`Download of ${MIB} MiB from vsftpd`, SIZE, [
      { name: "inetkit FtpClient (BYOB)", run: () => inetkit("download", REMOTE_BIG) },
      {
        name: "curl -o /dev/null",
        run: () => timed("curl", ["-s", "-o", "/dev/null", curlUrl(REMOTE_BIG)]),
      },
      { name: "inetkit FtpClient (for await)", run: () => inetkit("download-default", REMOTE_BIG) },
    ]);

    await compare(`Upload of ${MIB} MiB to vsftpd (it writes to disk)`, SIZE, [
      {
        name: "inetkit FtpClient.upload",
        run: () => inetkit("upload", REMOTE_UP, LOCAL_BIG),
        after: () => removeRemote(REMOTE_UP),
      },
      {
        name: "curl -T",
        run: () => timed("curl", ["-s", "-T", LOCAL_BIG, curlUrl(REMOTE_UP)]),
        after: () => removeRemote(REMOTE_UP),
      },
    ]);
  }

  if (!args.includes("--skip-mirror")) {
    await Deno.mkdir(`${FTP_ROOT}/${REMOTE_MIRROR}`, { mode: 0o755 });
    await Deno.chmod(`${FTP_ROOT}/${REMOTE_MIRROR}`, 0o755);
    let total = 0;
    for (let i = 0; i < FILES; i++) {
      const content = new TextEncoder().encode(`file ${i}\n`.repeat(1 + (i % 50)));
      total += content.length;
      await Deno.writeFile(
        `${FTP_ROOT}/${REMOTE_MIRROR}/f${String(i).padStart(4, "0")}.txt`,
        content,
        {
          mode: 0o644,
        },
      );
    }
    const target = `${work}/mirror`;
    const clean = () => Deno.remove(target, { recursive: true }).catch(() => {});
    await compare(`Mirror of ${FILES} small files (${total} bytes) from vsftpd`, 0, [
      {
        name: "inetkit downloadDir",
        run: () => inetkit("mirror", REMOTE_MIRROR, target),
        after: clean,
      },
      {
        name: "lftp mirror",
        run: () =>
          timed("lftp", [
            "-u",
            `${USER},${PASSWORD}`,
            "-e",
            `set ftp:ssl-allow no; set cmd:fail-exit yes; mirror ${REMOTE_MIRROR} ${target}; quit`,
            `ftp://127.0.0.1:${PORT}`,
          ]),
        after: clean,
      },
    ]);
  }
} finally {
  await removeRemote(REMOTE_BIG);
  await removeRemote(REMOTE_UP);
  await removeRemote(REMOTE_MIRROR);
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
