/**
 * One POP3 server connection (RFC 1939 with CAPA, RFC 2449; STLS, RFC
 * 2595; AUTH, RFC 5034; UTF8, RFC 6856): the AUTHORIZATION state with
 * USER/PASS, APOP and SASL, the maildrop lock, the TRANSACTION state with
 * messages streamed from the store, and the UPDATE state at `QUIT` only.
 *
 * @module
 */
import { DotStuffingEncoderStream } from "../net/dot_stuffing.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { formatPop3Status } from "../net/reply_writer.ts";
import { startTlsServer } from "../net/start_tls_server.ts";
import type { TcpConnectionInfo } from "../net/tcp_server.ts";
import { TextConn } from "../net/text_conn.ts";
import type { MailboxLock, MailMessageInfo, MailStore } from "./mail_store.ts";
import { MailStoreError } from "./mail_store_error.ts";
import {
  decodeSaslLine,
  decodeSaslPlain,
  MailAuthenticator,
  mailChallenge,
  type MailLoginResult,
  type MailServerUsers,
} from "./mail_server_auth.ts";
import { printable } from "./_smtp_server_args.ts";
import { discardLine } from "./_smtp_server_data.ts";
import { closeTls, formatAddr, isConnectionGone, randomId } from "./_smtp_server_session.ts";
import type { Pop3ServerLogEvent } from "./_pop3_server_types.ts";

/** The server's settings, resolved, as a session needs them. */
export interface Pop3SessionConfig {
  name: string;
  store: MailStore;
  folder: string;
  users: MailServerUsers;
  /** The certificate for STLS, or null when it is not offered. */
  starttls: { cert: string; key: string } | null;
  allowInsecureAuth: boolean;
  authFailureDelay: number;
  maxAuthFailures: number;
  maxCommandLength: number;
  maxErrors: number;
  onLog: ((event: Pop3ServerLogEvent) => void) | null;
  onError: (error: unknown) => void;
}

/** RFC 5034 §4: SASL lines may be this long. */
const SASL_LINE_LENGTH = 12288;
const FLUSH_AT = 16384;
const SKIP_LINE_LIMIT = 1 << 20;
const CR = 13;
const LF = 10;
const encoder = new TextEncoder();
const fatalDecoder = new TextDecoder("utf-8", { fatal: true });
// deno-lint-ignore no-control-regex
const CONTROL_REGEXP = /[\x00-\x1f\x7f]/;
const NUMBER_REGEXP = /^\d{1,10}$/;

/**
 * Cuts a message after its header and `lines` body lines (POP3 `TOP`,
 * RFC 1939 §7), ending the stream (and cancelling the source) there.
 */
function topStream(lines: number): TransformStream<Uint8Array, Uint8Array> {
  let inBody = false;
  let lineLength = 0;
  let remaining = lines;
  return new TransformStream({
    transform(chunk, controller) {
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i]!;
        if (b !== LF) {
          if (b !== CR) lineLength++;
          continue;
        }
        let end = false;
        if (!inBody) {
          if (lineLength === 0) {
            inBody = true;
            end = remaining === 0;
          }
        } else {
          remaining--;
          end = remaining === 0;
        }
        lineLength = 0;
        if (end) {
          controller.enqueue(chunk.subarray(0, i + 1));
          controller.terminate();
          return;
        }
      }
      controller.enqueue(chunk);
    },
  });
}

/** Runs one connection; resolves when it ended. */
export class Pop3Session {
  #config: Pop3SessionConfig;
  #info: TcpConnectionInfo;
  #text: TextConn;
  #id = randomId(5);
  #remote: Deno.NetAddr;
  #auth: MailAuthenticator;
  #timestamp: string | null;
  #pendingUser: string | null = null;
  #lock: MailboxLock | null = null;
  #deleted = new Set<number>();
  #errors = 0;
  #out: string[] = [];
  #outSize = 0;
  #closing = false;
  #writing = false;
  #expired = false;

  constructor(conn: Deno.Conn, info: TcpConnectionInfo, config: Pop3SessionConfig) {
    this.#config = config;
    this.#info = info;
    this.#remote = info.remoteAddr;
    this.#text = new TextConn(conn, { progress: info.deadline });
    this.#auth = new MailAuthenticator(config.users, {
      failureDelay: config.authFailureDelay,
      maxFailures: config.maxAuthFailures,
    });
    this.#timestamp = config.users.users !== undefined ? mailChallenge(config.name) : null;
  }

  #log(type: Pop3ServerLogEvent["type"], text: string, extra: Partial<Pop3ServerLogEvent> = {}) {
    const onLog = this.#config.onLog;
    if (onLog === null) return;
    try {
      onLog({
        type,
        session: this.#id,
        remoteAddr: this.#remote,
        ...extra,
        text: `pop3 ${formatAddr(this.#remote)} ${printable(text, 2000)}`,
      });
    } catch (error) {
      this.#config.onError(error);
    }
  }

  #queue(text: string): void {
    this.#out.push(text);
    this.#outSize += text.length;
  }

  #ok(text = "", code?: string): void {
    this.#queue(formatPop3Status(true, text, code));
  }

  #err(text: string, code?: string): void {
    this.#queue(formatPop3Status(false, text, code));
  }

  /** A refusal that counts towards `maxErrors`. */
  #fail(text: string, code?: string): void {
    this.#errors++;
    this.#err(text, code);
  }

  /** Queues `+OK text` and a multi-line body (dot-stuffed) ending with `.`. */
  #okBlock(text: string, lines: readonly string[]): void {
    let out = formatPop3Status(true, text);
    for (const line of lines) out += (line.startsWith(".") ? "." : "") + line + "\r\n";
    this.#queue(out + ".\r\n");
  }

  async #flush(): Promise<void> {
    if (this.#out.length === 0) return;
    const bytes = encoder.encode(this.#out.join(""));
    this.#out = [];
    this.#outSize = 0;
    this.#writing = true;
    try {
      await this.#text.writer.write(bytes);
    } finally {
      this.#writing = false;
    }
  }

  #expire(): void {
    if (this.#expired) return;
    this.#expired = true;
    this.#closing = true;
    const text = this.#text;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const written = this.#writing || text.closed
      ? Promise.resolve()
      : text.writer.write(encoder.encode(formatPop3Status(false, "Autologout: idle for too long")))
        .catch(() => {});
    Promise.race([written, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))])
      .finally(() => {
        clearTimeout(timer);
        text.close();
      });
  }

  /** Serves the connection to its end. */
  async run(): Promise<void> {
    const config = this.#config;
    this.#info.deadline.onExpire = () => this.#expire();
    this.#log("connect", "connect");
    try {
      this.#ok(`${config.name} POP3 ready${this.#timestamp ? ` ${this.#timestamp}` : ""}`);
      while (!this.#closing) {
        if (this.#outSize >= FLUSH_AT || !this.#text.reader.peekBuffered().includes(LF)) {
          await this.#flush();
        }
        if (this.#info.signal.aborted) {
          this.#err("Server shutting down", "SYS/TEMP");
          break;
        }
        const line = await this.#readCommand();
        if (line === null) break;
        if (line !== undefined) await this.#dispatch(line);
        if (this.#errors >= config.maxErrors && !this.#closing) {
          this.#err("Too many errors, closing connection");
          break;
        }
      }
      if (!this.#expired) await this.#flush();
    } catch (error) {
      if (!this.#text.closed && !isConnectionGone(error)) config.onError(error);
    } finally {
      // Without QUIT the session never enters UPDATE: nothing is deleted.
      this.#lock?.release();
      this.#lock = null;
      await closeTls(this.#text);
      this.#text.close();
      this.#log("disconnect", "disconnect");
    }
  }

  async #readLine(maxLength: number): Promise<Uint8Array | null | undefined> {
    const reader = this.#text.reader;
    try {
      return await reader.readLineBytes({ maxLength, lineEnding: "any" });
    } catch (error) {
      if (error instanceof ProtocolError && error.code === "LINE_TOO_LONG") {
        if (!(await discardLine(reader, SKIP_LINE_LIMIT))) this.#closing = true;
        this.#fail("Line too long");
        return undefined;
      }
      throw error;
    }
  }

  /** One command line, `null` at the end, or `undefined` when already answered. */
  async #readCommand(): Promise<string | null | undefined> {
    const signal = this.#info.signal;
    let bytes: Uint8Array | null | undefined;
    try {
      bytes = await this.#text.reader.readLineBytes({
        maxLength: Math.max(SASL_LINE_LENGTH, this.#config.maxCommandLength) - 2,
        lineEnding: "any",
        signal,
      });
    } catch (error) {
      if (signal.aborted && !this.#text.closed) {
        this.#err("Server shutting down", "SYS/TEMP");
        this.#closing = true;
        return undefined;
      }
      if (error instanceof ProtocolError && error.code === "LINE_TOO_LONG") {
        if (!(await discardLine(this.#text.reader, SKIP_LINE_LIMIT))) this.#closing = true;
        this.#fail("Line too long");
        return undefined;
      }
      throw error;
    }
    if (bytes === null) return null;
    let line: string;
    try {
      line = fatalDecoder.decode(bytes);
    } catch {
      this.#fail("Invalid UTF-8 in command");
      return undefined;
    }
    if (CONTROL_REGEXP.test(line)) {
      this.#fail("Control characters in command");
      return undefined;
    }
    if (bytes.length > this.#config.maxCommandLength - 2 && !/^auth( |$)/i.test(line)) {
      this.#fail("Line too long");
      return undefined;
    }
    return line;
  }

  async #dispatch(line: string): Promise<void> {
    const space = line.indexOf(" ");
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const rest = space < 0 ? "" : line.slice(space + 1);
    if (verb === "CAPA") return this.#capa();
    if (verb === "QUIT") return await this.#quit();
    if (this.#lock === null) {
      switch (verb) {
        case "USER":
          return this.#userCommand(rest);
        case "PASS":
          return await this.#pass(rest);
        case "APOP":
          return await this.#apop(rest);
        case "AUTH":
          return await this.#authenticate(rest);
        case "STLS":
          return await this.#stls(rest);
        case "UTF8":
          return this.#ok("UTF8 enabled");
        case "STAT":
        case "LIST":
        case "UIDL":
        case "RETR":
        case "TOP":
        case "DELE":
        case "RSET":
        case "NOOP":
          return this.#fail("Command not valid in this state: log in first");
        default:
          return this.#fail("Unknown command");
      }
    }
    switch (verb) {
      case "STAT": {
        if (rest.trim() !== "") return this.#fail("Syntax: STAT");
        const [count, size] = this.#totals();
        return this.#ok(`${count} ${size}`);
      }
      case "LIST":
        return this.#list(rest, "LIST", (n, m) => `${n} ${m.size}`);
      case "UIDL":
        return this.#list(rest, "UIDL", (n, m) => `${n} ${m.uniqueId}`);
      case "RETR": {
        const n = this.#messageNumber(rest, "RETR msg");
        if (n === null) return;
        return await this.#send(n, null);
      }
      case "TOP": {
        const [msg = "", lines = "", extra] = rest.split(" ");
        if (extra !== undefined || !NUMBER_REGEXP.test(lines)) {
          return this.#fail("Syntax: TOP msg lines");
        }
        const n = this.#messageNumber(msg, "TOP msg lines");
        if (n === null) return;
        return await this.#send(n, Number(lines));
      }
      case "DELE": {
        const n = this.#messageNumber(rest, "DELE msg");
        if (n === null) return;
        this.#deleted.add(n);
        return this.#ok(`Message ${n} deleted`);
      }
      case "RSET": {
        this.#deleted.clear();
        const [count, size] = this.#totals();
        return this.#ok(`Maildrop has ${count} messages (${size} octets)`);
      }
      case "NOOP":
        return this.#ok();
      case "USER":
      case "PASS":
      case "APOP":
      case "AUTH":
      case "STLS":
      case "UTF8":
        return this.#fail("Command not valid in this state: logged in already");
      default:
        return this.#fail("Unknown command");
    }
  }

  /** Whether passwords may be sent on this connection now. */
  #clearAllowed(): boolean {
    return this.#text.tls || this.#config.allowInsecureAuth;
  }

  #mechanisms(): string[] {
    const mechanisms = this.#clearAllowed() ? ["PLAIN", "LOGIN"] : [];
    if (this.#config.users.users !== undefined) mechanisms.push("CRAM-MD5");
    return mechanisms;
  }

  #capa(): void {
    const lines = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"];
    if (this.#lock === null) {
      if (this.#clearAllowed()) lines.push("USER");
      const mechanisms = this.#mechanisms();
      if (mechanisms.length > 0) lines.push(`SASL ${mechanisms.join(" ")}`);
      if (this.#config.starttls !== null && !this.#text.tls) lines.push("STLS");
      lines.push("UTF8 USER");
    }
    lines.push("IMPLEMENTATION inetkit");
    this.#okBlock("Capability list follows", lines);
  }

  #totals(): [number, number] {
    let count = 0;
    let size = 0;
    this.#lock!.messages.forEach((m, i) => {
      if (this.#deleted.has(i + 1)) return;
      count++;
      size += m.size;
    });
    return [count, size];
  }

  /** Parses a message number that names a message not deleted; answers otherwise. */
  #messageNumber(text: string, syntax: string): number | null {
    const word = text.trim();
    if (!NUMBER_REGEXP.test(word)) {
      this.#fail(`Syntax: ${syntax}`);
      return null;
    }
    const n = Number(word);
    if (n < 1 || n > this.#lock!.messages.length || this.#deleted.has(n)) {
      this.#err("No such message");
      return null;
    }
    return n;
  }

  #list(rest: string, verb: string, format: (n: number, m: MailMessageInfo) => string): void {
    const messages = this.#lock!.messages;
    if (rest.trim() !== "") {
      const n = this.#messageNumber(rest, `${verb} [msg]`);
      if (n !== null) this.#ok(format(n, messages[n - 1]!));
      return;
    }
    const lines: string[] = [];
    messages.forEach((m, i) => {
      if (!this.#deleted.has(i + 1)) lines.push(format(i + 1, m));
    });
    if (verb === "LIST") {
      const [count, size] = this.#totals();
      return this.#okBlock(`${count} messages (${size} octets)`, lines);
    }
    this.#okBlock("Unique-id listing follows", lines);
  }

  /** RETR (`top` null) or TOP: streams the message from the store, dot-stuffed. */
  async #send(n: number, top: number | null): Promise<void> {
    const lock = this.#lock!;
    const message = lock.messages[n - 1]!;
    let source: ReadableStream<Uint8Array>;
    try {
      source = await this.#config.store.readMessage(lock.user, lock.folder, message.uid);
    } catch (error) {
      if (error instanceof MailStoreError && error.code === "EXPUNGED") {
        return this.#err("Message was removed by another session");
      }
      this.#config.onError(error);
      return this.#err("Cannot read message", "SYS/TEMP");
    }
    this.#ok(top === null ? `${message.size} octets` : "Top of message follows");
    await this.#flush();
    const body = (top === null ? source : source.pipeThrough(topStream(top)))
      .pipeThrough(new DotStuffingEncoderStream());
    // Once +OK went out, a failure can only end the connection.
    this.#writing = true;
    try {
      for await (const chunk of body) await this.#text.writer.write(chunk);
    } catch (error) {
      this.#closing = true;
      if (!isConnectionGone(error) && !this.#text.closed) this.#config.onError(error);
      this.#text.close();
    } finally {
      this.#writing = false;
    }
  }

  #userCommand(rest: string): void {
    if (!this.#clearAllowed()) {
      return this.#fail("Plaintext authentication needs TLS: use STLS first", "AUTH");
    }
    if (rest === "") return this.#fail("Syntax: USER name");
    this.#pendingUser = rest;
    this.#ok();
  }

  async #pass(rest: string): Promise<void> {
    const user = this.#pendingUser;
    this.#pendingUser = null;
    if (user === null) return this.#fail("No user name given: send USER first");
    const result = await this.#auth.check(user, rest, this.#loginInfo());
    await this.#loggedIn(user, result, "USER");
  }

  async #apop(rest: string): Promise<void> {
    const words = rest.split(" ");
    if (this.#timestamp === null) return this.#fail("APOP not available");
    if (words.length !== 2 || !/^[0-9a-f]{32}$/i.test(words[1]!)) {
      return this.#fail("Syntax: APOP name digest");
    }
    const [user, digest] = words as [string, string];
    const result = await this.#auth.checkApop(user, this.#timestamp, digest);
    await this.#loggedIn(user, result, "APOP");
  }

  #loginInfo(): { remoteAddr: Deno.NetAddr; protocol: string; tls: boolean } {
    return { remoteAddr: this.#remote, protocol: "pop3", tls: this.#text.tls };
  }

  /** After a check: takes the maildrop lock or answers the failure. */
  async #loggedIn(user: string, result: MailLoginResult, how: string): Promise<void> {
    if (!result.ok) {
      this.#log("login-failed", `login failed for ${user} (${how})`, { user });
      this.#err("Authentication failed", "AUTH");
      if (result.exhausted) this.#closing = true;
      return;
    }
    const config = this.#config;
    let lock: MailboxLock;
    try {
      lock = await config.store.lockMailbox(user, config.folder);
    } catch (error) {
      if (error instanceof MailStoreError && error.code === "IN_USE") {
        this.#log("refused", `login ${user}: maildrop in use`, { user });
        return this.#err("Maildrop is locked by another session", "IN-USE");
      }
      config.onError(error);
      return this.#err("Cannot open maildrop", "SYS/TEMP");
    }
    this.#lock = lock;
    this.#deleted.clear();
    const [count, size] = this.#totals();
    this.#log("login", `login ${user} (${how}), ${count} messages`, { user });
    this.#ok(`${printable(user)}'s maildrop has ${count} messages (${size} octets)`);
  }

  async #stls(rest: string): Promise<void> {
    const starttls = this.#config.starttls;
    if (starttls === null) return this.#fail("Unknown command");
    if (this.#text.tls) return this.#fail("Command not permitted when TLS is active");
    if (rest.trim() !== "") return this.#fail("Syntax: STLS");
    if (this.#text.reader.buffered > 0) {
      this.#log("refused", "refused STLS: commands pipelined after it");
      this.#err("Pipelined commands after STLS");
      this.#closing = true;
      return;
    }
    this.#ok("Begin TLS negotiation");
    await this.#flush();
    try {
      const tls = await startTlsServer(this.#text.detach(), {
        cert: starttls.cert,
        key: starttls.key,
        signal: this.#info.signal,
      });
      this.#text.adoptTls(tls);
      this.#log("tls", `STLS ${tls.tlsVersion ?? "done"}`);
    } catch (error) {
      this.#log("refused", `STLS failed: ${error instanceof Error ? error.message : error}`);
      this.#text.close();
      this.#closing = true;
      return;
    }
    this.#pendingUser = null;
  }

  /** Sends a SASL challenge (`+ base64`) and reads the answer; null when it ended. */
  async #saslStep(challenge: string): Promise<string | null> {
    this.#queue(`+ ${challenge}\r\n`);
    await this.#flush();
    const bytes = await this.#readLine(SASL_LINE_LENGTH - 2);
    if (bytes === undefined) return null;
    if (bytes === null) {
      this.#closing = true;
      return null;
    }
    const line = new TextDecoder().decode(bytes).trim();
    if (line === "*") {
      this.#err("Authentication cancelled");
      return null;
    }
    return line;
  }

  async #authenticate(rest: string): Promise<void> {
    const mechanisms = this.#mechanisms();
    if (rest.trim() === "") return this.#okBlock("Mechanisms follow", mechanisms);
    const words = rest.split(" ");
    if (words.length > 2) return this.#fail("Syntax: AUTH mechanism [initial-response]");
    const mechanism = words[0]!.toUpperCase();
    const initial = words[1];
    if (!mechanisms.includes(mechanism)) {
      if ((mechanism === "PLAIN" || mechanism === "LOGIN") && !this.#clearAllowed()) {
        return this.#fail("Plaintext authentication needs TLS: use STLS first", "AUTH");
      }
      return this.#fail("Unsupported authentication mechanism");
    }
    const bad = () => this.#fail("Cannot decode the response");
    const info = this.#loginInfo();
    let user: string;
    let result: MailLoginResult;
    if (mechanism === "PLAIN") {
      const response = initial ?? await this.#saslStep("");
      if (response === null) return;
      const decoded = decodeSaslPlain(response === "=" ? "" : response);
      if (decoded === null) return bad();
      user = decoded.user;
      if (decoded.authorizationId !== "" && decoded.authorizationId !== user) {
        return this.#err("Authorization identity not allowed", "AUTH");
      }
      result = await this.#auth.check(user, decoded.password, info);
    } else if (mechanism === "LOGIN") {
      const first = initial ?? await this.#saslStep("VXNlcm5hbWU6");
      if (first === null) return;
      const name = decodeSaslLine(first === "=" ? "" : first);
      if (name === null) return bad();
      const second = await this.#saslStep("UGFzc3dvcmQ6");
      if (second === null) return;
      const password = decodeSaslLine(second);
      if (password === null) return bad();
      user = name;
      result = await this.#auth.check(user, password, info);
    } else {
      if (initial !== undefined) return this.#fail("CRAM-MD5 takes no initial response");
      const challenge = mailChallenge(this.#config.name);
      const response = await this.#saslStep(btoa(challenge));
      if (response === null) return;
      const decoded = decodeSaslLine(response);
      if (decoded === null) return bad();
      const checked = await this.#auth.checkCramMd5(challenge, decoded);
      user = checked.user ?? decoded.slice(0, Math.max(0, decoded.lastIndexOf(" ")));
      result = checked;
    }
    await this.#loggedIn(user, result, `AUTH ${mechanism}`);
  }

  /** QUIT: in TRANSACTION, the UPDATE state removes the messages marked with DELE. */
  async #quit(): Promise<void> {
    this.#closing = true;
    const lock = this.#lock;
    const name = this.#config.name;
    if (lock === null) return this.#ok(`${name} POP3 server signing off`);
    const uids = [...this.#deleted].sort((a, b) => a - b).map((n) => lock.messages[n - 1]!.uid);
    try {
      const expunged = uids.length > 0
        ? await this.#config.store.expunge(lock.user, lock.folder, uids)
        : [];
      this.#log("update", `update ${lock.user}: ${expunged.length} messages deleted`, {
        user: lock.user,
        expunged,
      });
      this.#ok(`${name} POP3 server signing off (${expunged.length} messages deleted)`);
    } catch (error) {
      this.#config.onError(error);
      this.#err("Some deleted messages were not removed", "SYS/TEMP");
    } finally {
      lock.release();
      this.#lock = null;
    }
  }
}
