/**
 * A raw HTTP/1.1 test client: writes exact bytes to a server and reads
 * responses back with the engine's own head reader, so a test can send
 * anything (smuggling vectors, pipelined floods, trickled heads) and check
 * the status and whether the server closed the connection.
 *
 * @module
 */
import { BufferedReader } from "../../net/buffered_reader.ts";
import { readResponseHead, type ResponseHead } from "../../http/response_head.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One response as the raw client saw it. */
export interface RawResponse extends ResponseHead {
  /** The body as text (by Content-Length, chunked or until close). */
  body: string;
  /** A field value by case-insensitive name, or null. */
  get(name: string): string | null;
}

/** A raw connection to a test server. */
export class RawClient {
  readonly conn: Deno.TcpConn;
  readonly reader: BufferedReader;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.reader = new BufferedReader(conn);
  }

  /** Dials 127.0.0.1:`port`. */
  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes text or bytes as they are. */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Reads one response; `head` says whether it answers a HEAD request. */
  async response(head = false): Promise<RawResponse> {
    const parsed = await readResponseHead(this.reader);
    const get = (name: string) =>
      parsed.fields.find((f) => f.name.toLowerCase() === name.toLowerCase())?.value ?? null;
    let body = "";
    const noBody = head || parsed.status < 200 || parsed.status === 204 || parsed.status === 304;
    if (!noBody) {
      const length = get("content-length");
      if (get("transfer-encoding")?.toLowerCase() === "chunked") {
        for (;;) {
          const size = parseInt((await this.reader.readLine({ lineEnding: "crlf" }))!, 16);
          if (size === 0) {
            while ((await this.reader.readLine()) !== "") { /* trailers */ }
            break;
          }
          body += decoder.decode(await this.reader.readExactly(size));
          await this.reader.readLine();
        }
      } else if (length !== null) {
        body = decoder.decode(await this.reader.readExactly(Number(length)));
      } else {
        const rest: number[] = [];
        const buf = new Uint8Array(4096);
        for (;;) {
          const n = await this.reader.read(buf);
          if (n === null) break;
          rest.push(...buf.subarray(0, n));
        }
        body = decoder.decode(new Uint8Array(rest));
      }
    }
    return { ...parsed, body, get };
  }

  /** Resolves to true if the server closes the connection within `ms`, false if not. */
  async closedWithin(ms: number): Promise<boolean> {
    const timer = setTimeout(() => this.close(), ms);
    try {
      const buf = new Uint8Array(1);
      const n = await this.reader.read(buf);
      return n === null;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection (safe to repeat). */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
