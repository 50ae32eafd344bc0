/**
 * Helpers for the ImapServer tests: a server over a MemoryMailStore with a
 * test user, and a raw client that writes exact bytes and reads the
 * server's responses as binary strings (one character per octet).
 *
 * @module
 */
import { ImapServer, type ImapServerOptions } from "../../mail/imap_server.ts";
import { MemoryMailStore } from "../../mail/memory_mail_store.ts";
import type { MailStore } from "../../mail/mail_store.ts";

const encoder = new TextEncoder();

/** A started server and its store. */
export interface TestImapServer extends AsyncDisposable {
  server: ImapServer;
  store: MailStore;
  port: number;
  /** Errors the server reported through `onError`; disposing fails when there are any left. */
  errors: unknown[];
}

/** Starts a server on a free port with user mulder/trustno1 and no failure delay. */
export function startImapServer(
  options: Partial<ImapServerOptions> = {},
): TestImapServer {
  const store = options.store ?? new MemoryMailStore();
  const errors: unknown[] = [];
  const server = new ImapServer({
    users: { users: { mulder: "trustno1", scully: "queequeg" } },
    port: 0,
    authFailureDelay: 0,
    onError: (error) => void errors.push(error),
    ...options,
    store,
  });
  return {
    server,
    store,
    port: server.addr.port,
    errors,
    async [Symbol.asyncDispose]() {
      await server.shutdown({ timeout: 1000 });
      await store.close();
      if (errors.length > 0) throw new AggregateError(errors, "The server reported errors");
    },
  };
}

/** Encodes text as UTF-8. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A binary string of the UTF-8 octets of some text (to compare with responses). */
export function binary(text: string): string {
  let out = "";
  for (const b of encoder.encode(text)) out += String.fromCharCode(b);
  return out;
}

/** A raw IMAP client: exact bytes out, responses in. */
export class RawImap implements AsyncDisposable {
  readonly conn: Deno.Conn | Deno.TlsConn;
  #buffer = "";
  #eof = false;
  #scratch = new Uint8Array(65536);

  constructor(conn: Deno.Conn | Deno.TlsConn) {
    this.conn = conn;
  }

  /** Connects and reads the greeting. */
  static async connect(port: number): Promise<{ client: RawImap; greeting: string }> {
    const client = new RawImap(await Deno.connect({ hostname: "127.0.0.1", port }));
    return { client, greeting: await client.line() };
  }

  /** Writes text (UTF-8) or bytes as they are. */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let at = 0;
    while (at < bytes.length) at += await this.conn.write(bytes.subarray(at));
  }

  async #more(timeout: number): Promise<boolean> {
    if (this.#eof) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeout);
    });
    const read = this.conn.read(this.#scratch).catch(() => null);
    const n = await Promise.race([read, expired]);
    clearTimeout(timer);
    if (n === "timeout") {
      throw new Error(`Timed out waiting for the server; have ${JSON.stringify(this.#buffer)}`);
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    let s = "";
    for (let i = 0; i < n; i += 8192) {
      s += String.fromCharCode(...this.#scratch.subarray(i, Math.min(n, i + 8192)));
    }
    this.#buffer += s;
    return true;
  }

  /** Reads until `end` has been received; returns everything up to and including it. */
  async until(end: string, timeout = 5000): Promise<string> {
    for (;;) {
      const at = this.#buffer.indexOf(end);
      if (at !== -1) {
        const out = this.#buffer.slice(0, at + end.length);
        this.#buffer = this.#buffer.slice(at + end.length);
        return out;
      }
      if (!(await this.#more(timeout))) {
        throw new Error(
          `Connection closed before ${JSON.stringify(end)}; have ${JSON.stringify(this.#buffer)}`,
        );
      }
    }
  }

  /** Reads one line with its CRLF. */
  line(timeout = 5000): Promise<string> {
    return this.until("\r\n", timeout);
  }

  /** Reads up to and including the tagged response line of `tag`. */
  async tagged(tag: string, timeout = 5000): Promise<string> {
    let out = "";
    for (;;) {
      const line = await this.line(timeout);
      out += line;
      if (line.startsWith(`${tag} `)) return out;
      // A literal inside the response: take its octets whole.
      const m = /\{(\d+)\}\r\n$/.exec(line);
      if (m !== null) out += await this.take(Number(m[1]), timeout);
    }
  }

  /** Reads exactly `n` octets. */
  async take(n: number, timeout = 5000): Promise<string> {
    while (this.#buffer.length < n) {
      if (!(await this.#more(timeout))) throw new Error("Connection closed inside a literal");
    }
    const out = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.slice(n);
    return out;
  }

  /** Sends `tag text CRLF` and returns the response through the tagged line. */
  async command(tag: string, text: string, timeout = 5000): Promise<string> {
    await this.send(`${tag} ${text}\r\n`);
    return await this.tagged(tag, timeout);
  }

  /** Reads until the server closes the connection; returns what came. */
  async rest(timeout = 5000): Promise<string> {
    while (await this.#more(timeout));
    const out = this.#buffer;
    this.#buffer = "";
    return out;
  }

  /** What was received and not read yet, after waiting `ms` for more. */
  async pending(ms = 100): Promise<string> {
    try {
      await this.#more(ms);
    } catch {
      // nothing more arrived
    }
    return this.#buffer;
  }

  /** Sends LOGIN for mulder and checks the answer. */
  async login(tag = "L1"): Promise<void> {
    const response = await this.command(tag, "LOGIN mulder trustno1");
    if (!response.includes(`${tag} OK`)) throw new Error(`Login failed: ${response}`);
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Connects, logs in as mulder and optionally selects a mailbox. */
export async function loggedIn(port: number, select?: string): Promise<RawImap> {
  const { client } = await RawImap.connect(port);
  await client.login();
  if (select !== undefined) {
    const response = await client.command("S1", `SELECT ${select}`);
    if (!response.includes("S1 OK")) throw new Error(`SELECT failed: ${response}`);
  }
  return client;
}

/** A small message with a subject and a body. */
export function message(subject: string, body = "Hello\r\n", extra = ""): Uint8Array {
  return utf8(
    `From: Ann <ann@example.test>\r\nTo: Mulder <mulder@example.test>\r\nSubject: ${subject}\r\n` +
      `Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n${extra}\r\n${body}`,
  );
}
