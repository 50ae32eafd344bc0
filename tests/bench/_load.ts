/**
 * Load generators shared by the benchmarks: the same client drives every
 * server in a comparison, so the ratios compare the servers.
 *
 * @module
 */

/** Sends empty UDP datagrams with `inFlight` outstanding for `seconds`; returns answers/s. */
export async function udpRequestsPerSecond(
  port: number,
  seconds: number,
  inFlight = 16,
): Promise<number> {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const target: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  const empty = new Uint8Array(0);
  const end = Date.now() + seconds * 1000;
  let answered = 0;
  let outstanding = 0;
  const send = async () => {
    outstanding++;
    await socket.send(empty, target);
  };
  for (let i = 0; i < inFlight; i++) await send();
  // Lost datagrams would lower the concurrency: top it up periodically.
  const refill = setInterval(() => {
    outstanding = Math.min(outstanding, inFlight - 1);
    void send();
  }, 100);
  const buffer = new Uint8Array(64);
  const started = Date.now();
  while (Date.now() < end) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      socket.receive(buffer),
      new Promise<null>((r) => (timer = setTimeout(r, 500, null))),
    ]);
    clearTimeout(timer);
    if (result === null) continue;
    answered++;
    outstanding--;
    if (outstanding < inFlight) await send();
  }
  const elapsed = (Date.now() - started) / 1000;
  clearInterval(refill);
  socket.close();
  return answered / elapsed;
}

/** Opens connections, reads until EOF, closes, `concurrency` at a time, for `seconds`; returns connections/s. */
export async function tcpConnectionsPerSecond(
  port: number,
  seconds: number,
  concurrency = 16,
): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  let refused = 0;
  const started = Date.now();
  const buffer = new Uint8Array(64);
  const worker = async () => {
    while (Date.now() < end) {
      let conn: Deno.Conn;
      try {
        conn = await Deno.connect({ hostname: "127.0.0.1", port });
      } catch {
        refused++;
        continue;
      }
      let got = 0;
      for (;;) {
        const n = await conn.read(buffer.subarray(got));
        if (n === null) break;
        got += n;
      }
      conn.close();
      if (got === 4) done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (refused > 0) console.log(`  (port ${port}: ${refused} connection attempts refused)`);
  return done / ((Date.now() - started) / 1000);
}

/** Starts a child process and waits for its first stdout line (the port it listens on). */
export async function spawnServer(
  cmd: string,
  args: string[],
): Promise<{ port: number; stop(): Promise<void> }> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${cmd} exited before printing its port`);
    text += value;
  }
  const port = Number(text.trim().split(/\s+/).pop());
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
    },
  };
}

/** Prints a table of rows with a ratio column against the first row. */
export function printTable(title: string, unit: string, rows: [string, number][]): void {
  const base = rows[0]![1];
  console.log(`\n${title}`);
  console.log(`${"server".padEnd(28)} ${unit.padStart(12)}   ratio (inetkit / row)`);
  for (const [name, value] of rows) {
    const ratio = value > 0 ? (base / value).toFixed(2) : "n/a";
    console.log(`${name.padEnd(28)} ${value.toFixed(0).padStart(12)}   ${ratio}`);
  }
}
