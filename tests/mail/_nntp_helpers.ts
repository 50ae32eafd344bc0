/**
 * Helpers for the NNTP tests: INN fixtures, a scripted client, a spool in
 * a temporary directory and a raw line client for server transcripts.
 *
 * @module
 */
import { NntpClient, type NntpClientOptions } from "../../mail/nntp_client.ts";
import { NewsSpool, type NewsSpoolOptions } from "../../mail/news_spool.ts";
import { ScriptedPeer, type ScriptStep } from "../_helpers/scripted_peer.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A fixture captured from INN 2.7 (`fixtures/nntp/capture_inn.py`), as text. */
export function innFixture(name: string): string {
  return decoder.decode(
    Deno.readFileSync(new URL(`./fixtures/nntp/${name}`, import.meta.url)),
  );
}

/** A client on a scripted peer. */
export function scriptedClient(
  steps: ScriptStep[],
  options: NntpClientOptions = {},
): { peer: ScriptedPeer; nntp: NntpClient } {
  const peer = new ScriptedPeer(steps);
  return { peer, nntp: new NntpClient(peer, options) };
}

/** Runs `fn` with a spool in a new temporary directory, removed afterwards. */
export async function withSpool(
  options: NewsSpoolOptions,
  fn: (spool: NewsSpool, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_news_" });
  const spool = await NewsSpool.open(dir, options);
  try {
    await fn(spool, dir);
  } finally {
    await spool.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A simple article with CR LF line ends. */
export function article(
  fields: Record<string, string>,
  body = "Hello.\r\n",
): string {
  const head = Object.entries(fields).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return `${head}\r\n${body}`;
}

/** A raw TCP client for exact server transcripts. */
export class RawClient implements AsyncDisposable {
  #conn: Deno.Conn;
  #buffer = "";

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** The connection. */
  get conn(): Deno.Conn {
    return this.#conn;
  }

  /** Writes text as is. */
  async send(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? encoder.encode(text) : text;
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /** Reads one CR LF line (without it); `null` at EOF. */
  async line(timeout = 5000): Promise<string | null> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const at = this.#buffer.indexOf("\r\n");
      if (at >= 0) {
        const line = this.#buffer.slice(0, at);
        this.#buffer = this.#buffer.slice(at + 2);
        return line;
      }
      if (Date.now() > deadline) throw new Error(`No line within ${timeout} ms: ${this.#buffer}`);
      const chunk = new Uint8Array(65536);
      const n = await this.#conn.read(chunk);
      if (n === null) return this.#buffer === "" ? null : this.#take();
      this.#buffer += decoder.decode(chunk.subarray(0, n), { stream: true });
    }
  }

  #take(): string {
    const rest = this.#buffer;
    this.#buffer = "";
    return rest;
  }

  /** Reads lines up to and including a `.` line, returned as one CR LF text. */
  async block(): Promise<string> {
    let out = "";
    for (;;) {
      const line = await this.line();
      if (line === null) throw new Error(`EOF inside a block: ${out}`);
      out += line + "\r\n";
      if (line === ".") return out;
    }
  }

  /** Sends a command and returns the status line. */
  async command(line: string): Promise<string | null> {
    await this.send(line + "\r\n");
    return await this.line();
  }

  /** Reads until EOF, returning what came. */
  async rest(): Promise<string> {
    let out = this.#take();
    const chunk = new Uint8Array(65536);
    for (;;) {
      const n = await this.#conn.read(chunk).catch(() => null);
      if (n === null) return out;
      out += decoder.decode(chunk.subarray(0, n));
    }
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
  }

  /** Closes the connection. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
