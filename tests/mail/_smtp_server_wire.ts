/**
 * A raw client for server transcript tests (SMTP and POP3): writes exactly
 * the bytes given and reads exactly what the server sends back, so tests
 * can compare replies octet for octet.
 *
 * @module
 */
import { BufferedReader } from "../../net/buffered_reader.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One raw connection to a server under test. */
export class WireClient implements AsyncDisposable {
  conn: Deno.Conn;
  reader: BufferedReader;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.reader = new BufferedReader(conn);
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<WireClient> {
    return new WireClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Upgrades to TLS (after the server said yes to STARTTLS/STLS), verifying with `ca`. */
  async startTls(ca: string, hostname = "inetkit.test"): Promise<void> {
    const left = this.reader.release();
    if (left.length > 0) throw new Error(`Bytes left before TLS: ${decoder.decode(left)}`);
    this.conn = await Deno.startTls(this.conn as Deno.TcpConn, { hostname, caCerts: [ca] });
    this.reader = new BufferedReader(this.conn);
  }

  /** Writes text (as UTF-8) or bytes. */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let at = 0;
    while (at < bytes.length) at += await this.conn.write(bytes.subarray(at));
  }

  /** One line with its line end, or null at EOF. */
  async line(): Promise<string | null> {
    const bytes = await this.reader.readUntil("\n", { maxLength: 1 << 20 });
    return bytes === null ? null : decoder.decode(bytes) + "\n";
  }

  /**
   * One SMTP reply with all its lines and line ends (`250-a\r\n250 b\r\n`),
   * or null at EOF.
   */
  async reply(): Promise<string | null> {
    let out = "";
    for (;;) {
      const line = await this.line();
      if (line === null) {
        if (out === "") return null;
        throw new Error(`EOF inside a reply: ${JSON.stringify(out)}`);
      }
      out += line;
      if (line.length < 4 || line[3] !== "-") return out;
    }
  }

  /** `n` SMTP replies, concatenated. */
  async replies(n: number): Promise<string> {
    let out = "";
    for (let i = 0; i < n; i++) {
      const reply = await this.reply();
      if (reply === null) throw new Error(`EOF after ${i} of ${n} replies: ${JSON.stringify(out)}`);
      out += reply;
    }
    return out;
  }

  /** Sends a command line (CR LF added) and returns the next SMTP reply. */
  async command(line: string): Promise<string | null> {
    await this.send(line + "\r\n");
    return await this.reply();
  }

  /** A POP3 multi-line answer up to and including the `.` line. */
  async block(): Promise<string> {
    let out = "";
    for (;;) {
      const line = await this.line();
      if (line === null) throw new Error(`EOF inside a block: ${JSON.stringify(out)}`);
      out += line;
      if (line === ".\r\n") return out;
    }
  }

  /** Everything until the server closes the connection. */
  async rest(): Promise<string> {
    let out = "";
    for (;;) {
      const chunk = await this.reader.readAvailable().catch(() => null);
      if (chunk === null) return out;
      out += decoder.decode(chunk);
    }
  }

  /** Whether the server closed the connection (EOF or reset) within `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      this.rest().then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    return result;
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed already
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
