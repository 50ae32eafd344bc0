/**
 * FTP download benchmark: the same 1 GiB file fetched by curl from
 * inetkit's `FtpServer` and from the vsftpd peer (127.0.0.1:2121, user
 * mulder, chroot `/tmp/peers/ftp`). The file is written to
 * `/tmp/peers/ftp/upload/` for the run and removed afterwards; inetkit serves
 * that same directory, so both read the same page-cached file.
 *
 * On two or more cores the servers run on CPU 0 and curl on CPU 1
 * (`taskset`; vsftpd's affinity is set on its running master process, which
 * its session processes inherit, and restored at the end). Rounds alternate
 * the order of the servers; medians are reported, with the ratio
 * inetkit/vsftpd. Server CPU per GiB comes from `/proc/PID/stat` (vsftpd's
 * sessions are counted when its master reaps them).
 *
 *   deno run -A tests/bench/ftp_server.ts [--rounds 5] [--size-mib 1024] [--buffer-kib 256]
 *     [--no-pin]
 *
 * `--buffer-kib` sets inetkit's transfer buffer (`bufferSize`, default
 * 256 KiB): larger buffers mean fewer reads and writes per GiB.
 *
 * @module
 */

const args = Deno.args;

// --- server mode (a child process) ---------------------------------------
if (args[0] === "--server") {
  const { FtpServer } = await import("../../net/ftp_server.ts");
  const server = new FtpServer({
    root: args[1]!,
    users: [{ user: "mulder", password: "trustno1" }],
    port: 0,
    bufferSize: Number(args[2] ?? 262144),
  });
  console.log(`PORT ${server.addr.port}`);
  Deno.addSignalListener("SIGTERM", () => void server.shutdown({ timeout: 1000 }));
  await server.finished;
  Deno.exit(0);
}

// --- driver ----------------------------------------------------------------
function option(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

const rounds = Number(option("rounds", "5"));
const sizeMib = Number(option("size-mib", "1024"));
const bufferKib = Number(option("buffer-kib", "256"));
const size = sizeMib * 1024 * 1024;
const PEERS_DIR = Deno.env.get("PEERS_DIR") ?? "/tmp/peers";
const CHROOT = `${PEERS_DIR}/ftp`;
const VSFTPD_PORT = 2121;
const NAME = `upload/inetkit-bench-ftp-server-${Deno.pid}.bin`;

async function hasBinary(name: string, probe = ["--version"]): Promise<boolean> {
  try {
    await new Deno.Command(name, { args: probe, stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

const pin = !args.includes("--no-pin") && navigator.hardwareConcurrency >= 2 &&
  await hasBinary("taskset", ["--version"]);

/** The command, pinned to `cpu` with taskset when pinning is on. */
function pinned(cpu: number, program: string, programArgs: string[]): [string, string[]] {
  return pin ? ["taskset", ["-c", String(cpu), program, ...programArgs]] : [program, programArgs];
}

/** User + system CPU seconds of a process and of its reaped children (Linux), or NaN. */
async function cpuSeconds(pid: number, children: boolean): Promise<number> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    const own = fields[11]! + fields[12]!;
    return (children ? own + fields[13]! + fields[14]! : own) / 100;
  } catch {
    return NaN;
  }
}

async function portOpen(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Sample {
  bytesPerSecond: number;
  cpuPerGib: number;
}

/** One curl download of the file; checks the size. */
async function download(port: number, cpuPid: number | null, children: boolean): Promise<Sample> {
  const before = cpuPid === null ? NaN : await cpuSeconds(cpuPid, children);
  const [program, programArgs] = pinned(1, "curl", [
    "-s",
    "--noproxy",
    "*",
    "-o",
    "/dev/null",
    "-w",
    "%{size_download} %{time_total}",
    `ftp://mulder:trustno1@127.0.0.1:${port}/${NAME}`,
  ]);
  const out = await new Deno.Command(program, { args: programArgs, stdout: "piped" }).output();
  const [bytes, seconds] = new TextDecoder().decode(out.stdout).split(" ").map(Number);
  if (out.code !== 0 || bytes !== size) {
    throw new Error(`curl from port ${port}: exit ${out.code}, ${bytes} bytes, want ${size}`);
  }
  // vsftpd's session is counted once its master has reaped it.
  if (children) await new Promise((resolve) => setTimeout(resolve, 300));
  const after = cpuPid === null ? NaN : await cpuSeconds(cpuPid, children);
  return {
    bytesPerSecond: size / seconds!,
    cpuPerGib: ((after - before) / size) * 1024 ** 3,
  };
}

if (!(await hasBinary("curl"))) {
  console.log("curl is not installed: nothing to measure");
  Deno.exit(0);
}
if (!(await portOpen(VSFTPD_PORT))) {
  console.log(`no vsftpd peer on 127.0.0.1:${VSFTPD_PORT} (../shared/peers/peers.sh start vsftpd)`);
  Deno.exit(0);
}

let vsftpdPid: number | null = null;
try {
  vsftpdPid = Number((await Deno.readTextFile(`${PEERS_DIR}/run/vsftpd.pid`)).trim()) || null;
} catch {
  vsftpdPid = null;
}

/** Sets the affinity of vsftpd's master (its sessions inherit it); returns the old mask. */
async function pinVsftpd(pid: number, cpuList: string): Promise<string | null> {
  const show = await new Deno.Command("taskset", { args: ["-p", String(pid)], stdout: "piped" })
    .output();
  const mask = /mask:\s*([0-9a-f]+)/.exec(new TextDecoder().decode(show.stdout))?.[1] ?? null;
  const set = await new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", cpuList, String(pid)],
    stdout: "null",
    stderr: "null",
  }).output();
  return set.success ? mask : null;
}

const file = `${CHROOT}/${NAME}`;
let ours: Deno.ChildProcess | null = null;
let restoreMask: string | null = null;
const samples = new Map<string, Sample[]>([["vsftpd", []], ["inetkit", []]]);
try {
  // The file, readable by the vsftpd session (user mulder).
  const chunk = new Uint8Array(16 * 1024 * 1024).map((_, i) => (i * 31) & 255);
  const out = await Deno.open(file, { write: true, createNew: true, mode: 0o644 });
  for (let written = 0; written < size; written += chunk.length) {
    let rest = chunk.subarray(0, Math.min(chunk.length, size - written));
    while (rest.length > 0) rest = rest.subarray(await out.write(rest));
  }
  out.close();
  await Deno.chmod(file, 0o644);

  if (pin && vsftpdPid !== null) restoreMask = await pinVsftpd(vsftpdPid, "0");
  const [program, programArgs] = pinned(0, Deno.execPath(), [
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "--server",
    CHROOT,
    String(bufferKib * 1024),
  ]);
  ours = new Deno.Command(program, { args: programArgs, stdout: "piped", stderr: "inherit" })
    .spawn();
  const reader = ours.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/PORT (\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("inetkit FTP server exited before listening");
    text += value;
  }
  reader.releaseLock();
  ours.stdout.cancel().catch(() => {});
  const ourPort = Number(/PORT (\d+)/.exec(text)![1]);
  const servers: [string, number, number | null, boolean][] = [
    ["vsftpd", VSFTPD_PORT, vsftpdPid, true],
    ["inetkit", ourPort, ours.pid, false],
  ];
  // Warm-up: the page cache and the JIT.
  for (const [, port, pid, children] of servers) await download(port, pid, children);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const [name, port, pid, children] of order) {
      samples.get(name)!.push(await download(port, pid, children));
    }
  }
} finally {
  if (ours !== null) {
    ours.kill("SIGTERM");
    await ours.status;
  }
  if (restoreMask !== null && vsftpdPid !== null) {
    await new Deno.Command("taskset", {
      args: ["-a", "-p", restoreMask, String(vsftpdPid)],
      stdout: "null",
      stderr: "null",
    }).output();
  }
  await Deno.remove(file).catch(() => {});
}

const mib = (bytesPerSecond: number) => bytesPerSecond / 1024 / 1024;
console.log(
  `\n${sizeMib} MiB RETR by curl, inetkit buffer ${bufferKib} KiB, ${rounds} interleaved rounds, medians (${
    pin
      ? `servers on CPU 0${restoreMask === null ? " (vsftpd not pinned)" : ""}, curl on CPU 1`
      : "not pinned"
  })\n`,
);
console.log("server     MiB/s median     min      max   server CPU s/GiB");
const stats = new Map<string, { speed: number; cpu: number }>();
for (const [name, list] of samples) {
  const speeds = list.map((s) => s.bytesPerSecond);
  const speed = median(speeds);
  const cpu = median(list.map((s) => s.cpuPerGib));
  stats.set(name, { speed, cpu });
  console.log(
    `${name.padEnd(10)} ${mib(speed).toFixed(0).padStart(12)} ${
      mib(Math.min(...speeds)).toFixed(0).padStart(7)
    } ${mib(Math.max(...speeds)).toFixed(0).padStart(8)} ${cpu.toFixed(3).padStart(18)}`,
  );
}
const a = stats.get("inetkit")!;
const b = stats.get("vsftpd")!;
console.log(
  `\ninetkit/vsftpd: ${(a.speed / b.speed).toFixed(2)}x throughput (target >= 1.00x), ` +
    `${(b.cpu / a.cpu).toFixed(2)}x GiB per server-CPU-second`,
);
