/**
 * Helpers for FtpClient transcript tests: a scripted control connection
 * that looks like a TCP connection to 127.0.0.1 (so the client dials data
 * ports there), and loopback listeners that play the server's side of
 * data connections.
 *
 * @module
 */
import { FtpClient, type FtpClientOptions } from "../../net/ftp_client.ts";
import type { DuplexConn } from "../../net/duplex_conn.ts";
import { ScriptedPeer, type ScriptStep } from "../_helpers/scripted_peer.ts";

/** The greeting and an anonymous login, as the client says it. */
export const LOGIN: ScriptStep[] = [
  { send: "220 test server ready\r\n" },
  { expect: "USER anonymous\r\n" },
  { send: "331 Please specify the password.\r\n" },
  { expect: "PASS anonymous@\r\n" },
  { send: "230 Login successful.\r\n" },
];

/** A scripted control connection with TCP addresses (peer `remote`, local 127.0.0.1). */
export function scripted(
  steps: ScriptStep[],
  options: FtpClientOptions = {},
  remote = "127.0.0.1",
): { peer: ScriptedPeer; ftp: FtpClient; conn: DuplexConn } {
  const peer = new ScriptedPeer(steps);
  const conn: DuplexConn = {
    readable: peer.readable,
    writable: peer.writable,
    close: () => peer.close(),
    remoteAddr: { transport: "tcp", hostname: remote, port: 21 },
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
  };
  const ftp = new FtpClient(conn, { timeout: 3000, dataTimeout: 3000, ...options });
  return { peer, ftp, conn };
}

/** The server's side of one passive data connection. */
export interface DataPeer {
  /** The port the client is sent to. */
  port: number;
  /** Accepts the client's connection. */
  accept(): Promise<Deno.Conn>;
  /** Accepts, writes `bytes` (after `delay` ms) and closes. */
  send(bytes: Uint8Array | string, delay?: number): Promise<void>;
  /** Accepts and reads everything the client sends. */
  receive(): Promise<Uint8Array>;
  /** Stops listening. */
  close(): void;
}

/** Listens on 127.0.0.1 for one data connection. */
export function dataPeer(): DataPeer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    listener.close();
  };
  const accept = async () => {
    const conn = await listener.accept();
    close();
    return conn;
  };
  return {
    port: listener.addr.port,
    accept,
    async send(bytes, delay = 0) {
      const conn = await accept();
      try {
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
        for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
      } catch {
        // the client went away (a cancel)
      } finally {
        conn.close();
      }
    },
    async receive() {
      const conn = await accept();
      return await new Response(conn.readable).bytes();
    },
    close,
  };
}

/** The 229 reply for a port. */
export function epsv(port: number): string {
  return `229 Entering Extended Passive Mode (|||${port}|)\r\n`;
}

/** The 227 reply for a host and port. */
export function pasv(hostname: string, port: number): string {
  return `227 Entering Passive Mode (${hostname.replaceAll(".", ",")},${port >> 8},${
    port & 255
  }).\r\n`;
}
