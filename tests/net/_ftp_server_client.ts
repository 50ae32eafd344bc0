/**
 * A raw FTP client for the server's tests: it sends exactly the lines it
 * is given and returns the replies as the server wrote them (multi-line
 * replies joined with "\n", line ends removed), plus a few helpers for
 * data connections. Also a fixture that serves a seeded temporary tree.
 *
 * @module
 */
import { BufferedReader } from "../../net/buffered_reader.ts";
import { FtpServer, type FtpServerOptions } from "../../net/ftp_server.ts";
import { parseFtpEpsvReply, parseFtpPasvReply } from "../../net/_ftp_address.ts";

const encoder = new TextEncoder();

/** The raw client. */
export class RawFtp {
  conn: Deno.Conn;
  reader: BufferedReader;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.reader = new BufferedReader(conn);
  }

  /** Connects (TLS from the first byte with `tls`) and reads the greeting. */
  static async open(
    port: number,
    tls?: { caCerts: string[] },
  ): Promise<{ ftp: RawFtp; greeting: string }> {
    const conn = tls === undefined
      ? await Deno.connect({ hostname: "127.0.0.1", port })
      : await Deno.connectTls({ hostname: "localhost", port, caCerts: tls.caCerts });
    const ftp = new RawFtp(conn);
    return { ftp, greeting: await ftp.reply() };
  }

  /** Writes raw bytes. */
  async write(bytes: Uint8Array | string): Promise<void> {
    let data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
    while (data.length > 0) data = data.subarray(await this.conn.write(data));
  }

  /** Writes one line with CR LF. */
  send(line: string): Promise<void> {
    return this.write(`${line}\r\n`);
  }

  /**
   * Reads one reply: a line, or for `ddd-` every line up to `ddd `;
   * `null` at EOF.
   */
  async reply(): Promise<string> {
    const first = await this.reader.readLine({ maxLength: 1 << 20 });
    if (first === null) return "<EOF>";
    if (!/^\d{3}-/.test(first)) return first;
    const lines = [first];
    const end = `${first.slice(0, 3)} `;
    for (;;) {
      const line = await this.reader.readLine({ maxLength: 1 << 20 });
      if (line === null) return [...lines, "<EOF>"].join("\n");
      lines.push(line);
      if (line.startsWith(end)) return lines.join("\n");
    }
  }

  /** Sends a command and reads its reply. */
  async cmd(line: string): Promise<string> {
    await this.send(line);
    return await this.reply();
  }

  /** USER and PASS; returns the reply to PASS. */
  async login(user = "mulder", password = "trustno1"): Promise<string> {
    const reply = await this.cmd(`USER ${user}`);
    if (!reply.startsWith("331")) return reply;
    return await this.cmd(`PASS ${password}`);
  }

  /** PASV (or EPSV) and connect the data connection. */
  async passive(extended = false): Promise<Deno.Conn> {
    const reply = await this.cmd(extended ? "EPSV" : "PASV");
    const port = extended ? parseFtpEpsvReply(reply) : parseFtpPasvReply(reply).port;
    return await Deno.connect({ hostname: "127.0.0.1", port });
  }

  /**
   * Runs a download-like command (RETR, LIST, NLST, MLSD) over a passive
   * data connection: the two replies and the bytes.
   */
  async download(command: string): Promise<{ replies: string[]; data: Uint8Array }> {
    const data = await this.passive();
    const first = await this.cmd(command);
    if (!first.startsWith("150")) {
      data.close();
      return { replies: [first], data: new Uint8Array() };
    }
    const bytes = new Uint8Array(await new Response(data.readable).arrayBuffer());
    return { replies: [first, await this.reply()], data: bytes };
  }

  /** Runs an upload-like command (STOR, APPE) over a passive data connection. */
  async upload(command: string, bytes: Uint8Array | string): Promise<string[]> {
    const data = await this.passive();
    const first = await this.cmd(command);
    if (!first.startsWith("150")) {
      data.close();
      return [first];
    }
    const body = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
    let rest = body;
    while (rest.length > 0) rest = rest.subarray(await data.write(rest));
    data.close();
    return [first, await this.reply()];
  }

  /** Upgrades the control connection after `234` (explicit FTPS). */
  async startTls(caCerts: string[]): Promise<void> {
    this.reader.release();
    this.conn = await Deno.startTls(this.conn as Deno.TcpConn, { hostname: "localhost", caCerts });
    this.reader = new BufferedReader(this.conn);
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed already
    }
  }
}

/** Reads a whole connection's bytes as text. */
export async function readAllText(conn: Deno.Conn): Promise<string> {
  return await new Response(conn.readable).text();
}

/** A temporary tree served by an `FtpServer` with user mulder/trustno1. */
export interface ServedTree extends AsyncDisposable {
  server: FtpServer;
  root: string;
  port: number;
  log: string[];
  errors: unknown[];
  open(tls?: { caCerts: string[] }): Promise<RawFtp>;
}

/**
 * Seeds a tree (`readme.txt`, `pub/hello.txt`, `pub/bytes.bin`,
 * `upload/`, a UTF-8 name) with fixed mtimes and serves it.
 */
export async function serveTree(options: Partial<FtpServerOptions> = {}): Promise<ServedTree> {
  const root = await Deno.makeTempDir({ prefix: "inetkit_ftp_server_" });
  await Deno.mkdir(`${root}/pub`);
  await Deno.mkdir(`${root}/upload`);
  await Deno.writeTextFile(`${root}/readme.txt`, "Welcome to the inetkit test server.\n");
  await Deno.writeTextFile(`${root}/pub/hello.txt`, "hello, world\n");
  const bytes = new Uint8Array(1024).map((_, i) => i & 255);
  await Deno.writeFile(`${root}/pub/bytes.bin`, bytes);
  await Deno.writeTextFile(`${root}/pub/café ☕.txt`, "unicode\n");
  const fixed = new Date("2023-11-14T22:13:20Z");
  for (const path of ["readme.txt", "pub/hello.txt", "pub/bytes.bin", "pub/café ☕.txt"]) {
    await Deno.utime(`${root}/${path}`, fixed, fixed);
  }
  for (const path of ["pub", "upload", ""]) await Deno.utime(`${root}/${path}`, fixed, fixed);
  const log: string[] = [];
  const errors: unknown[] = [];
  const server = new FtpServer({
    root,
    users: [{ user: "mulder", password: "trustno1" }],
    failureDelay: 0,
    accessLog: (line) => log.push(line),
    onError: (error) => errors.push(error),
    ...options,
  });
  const opened: RawFtp[] = [];
  return {
    server,
    root,
    port: server.addr.port,
    log,
    errors,
    async open(tls) {
      const { ftp } = await RawFtp.open(server.addr.port, tls);
      opened.push(ftp);
      return ftp;
    },
    async [Symbol.asyncDispose]() {
      for (const ftp of opened) ftp.close();
      await server.shutdown({ timeout: 2000 });
      await Deno.remove(root, { recursive: true });
    },
  };
}
