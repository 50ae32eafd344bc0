/**
 * One FTP control connection on the server: the command loop (bounded
 * lines, Telnet IAC removed), replies in order, the login state, the
 * transfer in progress (run beside the loop so that `ABOR` and `STAT` are
 * read while it runs), timeouts with `421`, and explicit TLS.
 *
 * @module
 */
import { ProtocolError } from "./protocol_error.ts";
import { formatReply } from "./reply_writer.ts";
import { startTlsServer } from "./start_tls_server.ts";
import type { TcpConnectionInfo } from "./tcp_server.ts";
import { TextConn } from "./text_conn.ts";
import {
  FTP_SERVER_FACTS,
  type FtpServerSettings,
  type FtpSessionContext,
  type FtpTransferControl,
  type FtpTransferSpec,
} from "./_ftp_server_context.ts";
import { FTP_SERVER_COMMANDS } from "./_ftp_server_commands.ts";
import { type FtpDataChannel, FtpDataConnections } from "./_ftp_server_data.ts";
import { ftpAccessLine } from "./_ftp_server_log.ts";
import { closeQuietly } from "./_io.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const IAC = 255;
const VERB_REGEXP = /^[A-Z]{3,4}$/;
const URGENT_ABOR_REGEXP = /^ABOR\r$/i;
// Commands that keep a REST offset for the transfer command after them.
const KEEPS_RESTART = new Set([
  "REST",
  "RETR",
  "STOR",
  "APPE",
  "PASV",
  "EPSV",
  "PORT",
  "EPRT",
  "TYPE",
  "MODE",
  "STRU",
  "NOOP",
  "PBSZ",
  "PROT",
]);

/** Why a transfer was aborted. */
const ABORTED_BY_CLIENT = Symbol("ABOR");
const SESSION_ENDED = Symbol("session ended");

/** A data connection's read or write failed: the transfer is lost (`426`). */
class DataConnectionError extends Error {
  constructor(cause: unknown) {
    super("The data connection failed", { cause });
    this.name = "DataConnectionError";
  }
}

interface Transfer {
  command: string;
  bytes: number;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The text of a command line: Telnet commands removed (`IAC IP`, `IAC DM`
 * and option negotiation that clients send around `ABOR`, RFC 959 §4.1.3;
 * `IAC IAC` is a 0xFF byte), then leading bytes that cannot start a
 * command (the DM left when the urgent byte was taken out of band)
 * dropped, then decoded as UTF-8 (RFC 2640; invalid bytes become U+FFFD).
 *
 * @param line The line's bytes without its line end.
 * @returns The command line.
 */
export function ftpCommandText(line: Uint8Array): string {
  let bytes = line;
  if (bytes.includes(IAC)) {
    const out = new Uint8Array(bytes.length);
    let j = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b !== IAC) {
        out[j++] = b;
        continue;
      }
      const next = bytes[i + 1];
      if (next === IAC) {
        out[j++] = IAC;
        i++;
      } else if (next !== undefined && next >= 251 && next <= 254) {
        i += 2; // WILL, WONT, DO, DONT and the option
      } else {
        i++;
      }
    }
    bytes = out.subarray(0, j);
  }
  let start = 0;
  while (start < bytes.length && (bytes[start]! <= 0x20 || bytes[start]! >= 0x7f)) start++;
  return decoder.decode(start === 0 ? bytes : bytes.subarray(start));
}

function lineTooLong(max: number): ProtocolError {
  return new ProtocolError("LINE_TOO_LONG", `Cannot read command: line exceeds ${max} bytes`);
}

/** Whether an error means the peer went away (not worth reporting). */
function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.UnexpectedEof ||
    (error instanceof ProtocolError && error.code === "UNEXPECTED_EOF");
}

/**
 * The reply to a backend error: `550` for the `Deno.errors` a file system
 * reports, `452` for a full disk, `451` (reported to `onError`) otherwise.
 */
export function ftpErrorReply(error: unknown): [number, string] {
  if (error instanceof Deno.errors.NotFound) return [550, "No such file or directory"];
  if (error instanceof Deno.errors.AlreadyExists) return [550, "File exists"];
  if (error instanceof Deno.errors.PermissionDenied) return [550, "Permission denied"];
  if (error instanceof Deno.errors.NotADirectory) return [550, "Not a directory"];
  if (error instanceof Deno.errors.IsADirectory) return [550, "Is a directory"];
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOTEMPTY") return [550, "Directory not empty"];
  if (code === "ENAMETOOLONG") return [553, "File name too long"];
  if (code === "ENOSPC" || code === "EDQUOT") return [452, "Insufficient storage space"];
  return [451, "Local error in processing"];
}

/** Waits for `work` at most `ms` milliseconds (never rejects). */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    work.catch(() => {}),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/** One control connection. */
export class FtpSession implements FtpSessionContext {
  readonly settings: FtpServerSettings;
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  readonly data: FtpDataConnections;
  cwd = "/";
  user: string | null = null;
  pendingUser: string | null = null;
  writable = false;
  failures = 0;
  type: "A" | "I" = "A";
  restart = 0;
  renameFrom: string | null = null;
  pbsz = false;
  prot: "C" | "P" = "C";
  epsvAll = false;
  facts: Set<string> = new Set(FTP_SERVER_FACTS);
  #text: TextConn;
  #info: TcpConnectionInfo;
  #writes: Promise<void> = Promise.resolve();
  #transfer: Transfer | null = null;
  #ended = false;
  #closed = false;
  #afterUrgentAbor = false;

  /**
   * Takes over an accepted control connection.
   *
   * @param conn The connection (TLS already for implicit FTPS).
   * @param info The server's view of it: addresses, shutdown signal, deadline.
   * @param settings The server's settings.
   */
  constructor(conn: Deno.Conn, info: TcpConnectionInfo, settings: FtpServerSettings) {
    this.settings = settings;
    this.#info = info;
    this.remoteAddr = info.remoteAddr;
    this.localAddr = info.localAddr;
    this.#text = new TextConn(conn, { progress: info.deadline, bufferSize: 8192 });
    this.data = new FtpDataConnections({
      peer: info.remoteAddr.hostname,
      local: info.localAddr.hostname,
      passivePorts: settings.passivePorts,
      connectTimeout: settings.connectTimeout,
    });
  }

  get tls(): boolean {
    return this.#text.tls;
  }

  get transferring(): boolean {
    return this.#transfer !== null;
  }

  /** Serves the connection until QUIT, EOF, a timeout or shutdown. */
  async run(): Promise<void> {
    this.#info.deadline.onExpire = () => void this.#timeout();
    try {
      await this.reply(220, this.settings.greeting);
      while (!this.#ended) {
        const line = await this.#readCommand();
        if (line === null) break;
        await this.#dispatch(line);
      }
    } catch (error) {
      if (!this.#closed && !isDisconnect(error)) this.settings.onError(error);
    } finally {
      // QUIT waited for the transfer; after a lost control connection, a
      // timeout or shutdown, the transfer is aborted: an upload whose 226
      // cannot be delivered is not kept.
      const transfer = this.#transfer;
      transfer?.controller.abort(SESSION_ENDED);
      this.data.discard();
      await within(this.#writes, 1000);
      this.#close();
      await transfer?.done;
    }
  }

  #close(): void {
    this.#closed = true;
    this.#ended = true;
    this.#text.close();
  }

  async #readCommand(): Promise<string | null> {
    const signal = this.#info.signal;
    let bytes: Uint8Array | null;
    try {
      bytes = await this.#readLine(signal);
    } catch (error) {
      if (this.#closed) return null;
      if (signal.aborted) {
        await this.#transfer?.done;
        await this.reply(421, "Service not available: the server is shutting down").catch(() => {});
        return null;
      }
      if (error instanceof ProtocolError && error.code === "LINE_TOO_LONG") {
        await this.reply(
          500,
          `Command line too long: the limit is ${this.settings.maxLineLength} bytes`,
        ).catch(() => {});
        return null;
      }
      if (isDisconnect(error) || error instanceof ProtocolError) return null;
      throw error;
    }
    return bytes === null ? null : ftpCommandText(bytes);
  }

  /**
   * Reads one command line (LF or CR LF), at most `maxLineLength` bytes.
   * One exception: an `ABOR` sent as TCP urgent data (Python's
   * `ftplib.abort()` sends the whole line with MSG_OOB) loses its last
   * byte, the LF, to the out-of-band channel, since sockets here cannot be
   * set to SO_OOBINLINE; a buffered `ABOR` CR with nothing after it is taken
   * as the line, and a LF right after it is dropped.
   */
  async #readLine(signal: AbortSignal): Promise<Uint8Array | null> {
    const reader = this.#text.reader;
    const max = this.settings.maxLineLength;
    for (;;) {
      const buf = reader.peekBuffered();
      if (this.#afterUrgentAbor && buf.length > 0) {
        this.#afterUrgentAbor = false;
        if (buf[0] === 10) {
          reader.consume(1);
          continue;
        }
      }
      const lf = buf.indexOf(10);
      if (lf >= 0) {
        const end = lf > 0 && buf[lf - 1] === 13 ? lf - 1 : lf;
        if (end > max) throw lineTooLong(max);
        const line = buf.slice(0, end);
        reader.consume(lf + 1);
        return line;
      }
      if (buf.length > max + 1) throw lineTooLong(max);
      if (
        buf.length > 0 && buf[buf.length - 1] === 13 && URGENT_ABOR_REGEXP.test(ftpCommandText(buf))
      ) {
        const line = buf.slice(0, buf.length - 1);
        reader.consume(buf.length);
        this.#afterUrgentAbor = true;
        return line;
      }
      if (!(await reader.fill(max + 2, { signal }))) {
        if (reader.buffered === 0) return null;
        throw new ProtocolError("UNEXPECTED_EOF", "Cannot read command: the line has no end");
      }
    }
  }

  async #dispatch(line: string): Promise<void> {
    const space = line.indexOf(" ");
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const arg = space < 0 ? "" : line.slice(space + 1);
    const transfer = this.#transfer;
    if (transfer !== null) {
      if (verb === "ABOR") {
        transfer.controller.abort(ABORTED_BY_CLIENT);
        await transfer.done;
        await this.reply(226, "ABOR successful");
        return;
      }
      if (verb !== "STAT" || arg.trim() !== "") await transfer.done;
    }
    const command = VERB_REGEXP.test(verb) ? FTP_SERVER_COMMANDS.get(verb) : undefined;
    if (command === undefined) {
      await this.reply(500, VERB_REGEXP.test(verb) ? `Unknown command ${verb}` : "Syntax error");
      return;
    }
    if (verb !== "RNTO") this.renameFrom = null;
    if (!KEEPS_RESTART.has(verb)) this.restart = 0;
    if (!command.beforeLogin && this.user === null) {
      await this.reply(530, "Please log in with USER and PASS");
      return;
    }
    if (command.needsArgument && arg.trim() === "") {
      await this.reply(501, `Syntax error: ${verb} needs an argument`);
      return;
    }
    if (command.changes && !this.writable) {
      await this.reply(550, "Permission denied: the server is read-only");
      return;
    }
    try {
      await command.run(this, arg, verb);
    } catch (error) {
      if (this.#closed) return;
      this.data.discard();
      await this.replyError(error);
    }
  }

  reply(code: number, lines: string | readonly string[]): Promise<void> {
    return this.writeRaw(formatReply(code, lines));
  }

  writeRaw(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    const write = this.#writes.then(() => this.#text.writer.write(bytes));
    this.#writes = write.catch(() => {});
    return write;
  }

  async replyError(error: unknown): Promise<void> {
    const [code, text] = ftpErrorReply(error);
    if (code === 451) this.settings.onError(error);
    await this.reply(code, text);
  }

  log(command: string, code: number, bytes?: number): void {
    const sink = this.settings.accessLog;
    if (sink === null) return;
    try {
      sink(ftpAccessLine(this.remoteAddr.hostname, this.user, command, code, bytes, new Date()));
    } catch (error) {
      this.settings.onError(error);
    }
  }

  transferStatus(): string | null {
    const t = this.#transfer;
    return t === null ? null : `Transferring: ${t.command}, ${t.bytes} bytes so far`;
  }

  end(): void {
    this.#ended = true;
  }

  async startTls(): Promise<void> {
    const tls = this.settings.tls;
    if (tls === null) throw new TypeError("Cannot start TLS: no certificate");
    await this.reply(234, "AUTH TLS successful: start the TLS handshake");
    try {
      const conn = this.#text.detach();
      const upgraded = await startTlsServer(conn, {
        cert: tls.cert,
        key: tls.key,
        signal: this.#info.signal,
      });
      this.#text.adoptTls(upgraded);
    } catch {
      // Bytes pipelined after AUTH (an injection attempt) or a failed
      // handshake: the connection is unusable.
      this.#close();
    }
  }

  async #timeout(): Promise<void> {
    if (this.#closed) return;
    const transfer = this.#transfer;
    this.#ended = true;
    transfer?.controller.abort(SESSION_ENDED);
    const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
    const text = transfer === null
      ? `Timeout: no command for ${seconds(this.settings.idleTimeout)}, closing control connection`
      : `Timeout: no data moved for ${
        seconds(this.settings.dataTimeout)
      }, closing control connection`;
    await within(this.reply(421, text), 1000);
    this.#close();
  }

  #dataDeadline(): void {
    const ms = this.settings.dataTimeout;
    if (ms > 0) this.#info.deadline.after(ms);
    else this.#info.deadline.clear();
  }

  startTransfer(spec: FtpTransferSpec): void {
    const transfer: Transfer = {
      command: spec.command,
      bytes: 0,
      controller: new AbortController(),
      done: Promise.resolve(),
    };
    this.#transfer = transfer;
    transfer.done = this.#runTransfer(spec, transfer)
      .catch((error) => {
        if (!this.#closed && !isDisconnect(error)) this.settings.onError(error);
      })
      .finally(() => {
        if (this.#transfer === transfer) this.#transfer = null;
        this.#info.deadline.touch();
      });
  }

  async #runTransfer(spec: FtpTransferSpec, transfer: Transfer): Promise<void> {
    const signal = transfer.controller.signal;
    const failed = async () => {
      try {
        await spec.failed?.();
      } catch (error) {
        this.settings.onError(error);
      }
    };
    const aborted = async () => {
      await failed();
      this.log(spec.command, 426, transfer.bytes);
      if (signal.reason === ABORTED_BY_CLIENT) {
        await this.reply(426, "Connection closed: transfer aborted");
      }
    };
    // The data connection; the 150 reply; TLS on it (the client starts the
    // handshake after reading 150).
    let conn: Deno.Conn;
    try {
      conn = await this.data.open(signal);
    } catch {
      if (signal.aborted) return await aborted();
      await failed();
      this.log(spec.command, 425);
      await this.reply(425, "Cannot open data connection");
      return;
    }
    let raw: FtpDataChannel | null = null;
    const onAbort = () => (raw === null ? closeQuietly(conn) : raw.close());
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    try {
      await this.reply(150, spec.opening);
      raw = await this.data.channel(conn, {
        signal,
        tls: this.prot === "P" && this.settings.tls !== null
          ? { ...this.settings.tls, maxVersion: this.settings.dataTlsMaxVersion }
          : null,
      });
    } catch {
      signal.removeEventListener("abort", onAbort);
      closeQuietly(conn);
      if (signal.aborted) return await aborted();
      await failed();
      this.log(spec.command, 425);
      await this.reply(
        425,
        this.prot === "P"
          ? "Cannot open data connection: TLS negotiation failed"
          : "Cannot open data connection",
      );
      return;
    }
    const open = raw;
    const channel: FtpDataChannel = {
      read: (p) =>
        open.read(p).catch((error) => {
          throw new DataConnectionError(error);
        }),
      write: (p) =>
        open.write(p).catch((error) => {
          throw new DataConnectionError(error);
        }),
      finish: () =>
        open.finish().catch((error) => {
          throw new DataConnectionError(error);
        }),
      close: () => open.close(),
    };
    const control: FtpTransferControl = {
      signal,
      progress: (bytes) => {
        transfer.bytes += bytes;
        this.#dataDeadline();
      },
    };
    let failure: unknown = null;
    try {
      this.#dataDeadline();
      await spec.pump(channel, control);
      await channel.finish();
    } catch (error) {
      failure = error;
    } finally {
      signal.removeEventListener("abort", onAbort);
      open.close();
    }
    if (failure === null && !signal.aborted) {
      try {
        await spec.complete?.();
      } catch (error) {
        failure = error;
      }
    }
    if (signal.aborted) return await aborted();
    if (failure === null) {
      this.log(spec.command, 226, transfer.bytes);
      await this.reply(226, "Transfer complete");
      return;
    }
    await failed();
    const custom = spec.errorReply?.(failure) ?? null;
    let code: number;
    let text: string;
    if (custom !== null) [code, text] = custom;
    else if (failure instanceof DataConnectionError || isDisconnect(failure)) {
      [code, text] = [426, "Connection closed: transfer aborted"];
    } else {
      [code, text] = ftpErrorReply(failure);
      if (code === 451) this.settings.onError(failure);
    }
    this.log(spec.command, code, transfer.bytes);
    await this.reply(code, text);
  }
}
