/**
 * One SMTP or LMTP server connection (RFC 5321, 2033): the command loop
 * with pipelined replies, STARTTLS, AUTH, the mail transaction, DATA and
 * BDAT content handed to the delivery as a stream, and the limits.
 *
 * @module
 */
import { BoundedReader } from "../net/bounded_reader.ts";
import { DotStuffedReader } from "../net/dot_stuffing.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { formatReply } from "../net/reply_writer.ts";
import { startTlsServer } from "../net/start_tls_server.ts";
import type { TcpConnectionInfo } from "../net/tcp_server.ts";
import { TextConn } from "../net/text_conn.ts";
import { formatMailDate } from "./date.ts";
import {
  decodeSaslLine,
  decodeSaslPlain,
  MailAuthenticator,
  mailChallenge,
  type MailLoginResult,
  type MailServerUsers,
} from "./mail_server_auth.ts";
import { SmtpReplyError } from "./smtp_reply_error.ts";
import {
  type MailFromArgs,
  parseBdat,
  parseHelo,
  parseMailFrom,
  parseRcptTo,
  printable,
  type SmtpArgReply,
} from "./_smtp_server_args.ts";
import {
  discardDotBlock,
  discardLine,
  discardOctets,
  SmtpMessageSink,
} from "./_smtp_server_data.ts";
import type {
  SmtpServerEnvelope,
  SmtpServerLogEvent,
  SmtpServerRecipient,
  SmtpServerSessionInfo,
} from "./_smtp_server_types.ts";

/** What the delivery made of one recipient. */
export type SmtpRecipientOutcome =
  | { ok: true; detail?: string }
  | { ok: false; reply: SmtpReplyError }
  | { ok: false; error: unknown };

/** The server's settings, resolved, as a session needs them. */
export interface SmtpSessionConfig {
  name: string;
  lmtp: boolean;
  /** The certificate for STARTTLS, or null when it is not offered. */
  starttls: { cert: string; key: string } | null;
  requireTls: boolean;
  users: MailServerUsers | null;
  authRequired: boolean;
  allowInsecureAuth: boolean;
  authFailureDelay: number;
  maxAuthFailures: number;
  maxMessageSize: number;
  maxRecipients: number;
  maxCommandLength: number;
  maxTextLineLength: number;
  maxErrors: number;
  received: boolean;
  /** A store user, `null` (accepted, no user) or `false` (unknown: 550). */
  resolveRecipient(address: string, session: SmtpServerSessionInfo): Promise<string | null | false>;
  /** Consumes the content; one outcome per recipient, in order. */
  deliver(
    envelope: SmtpServerEnvelope,
    message: ReadableStream<Uint8Array>,
  ): Promise<SmtpRecipientOutcome[]>;
  onLog: ((event: SmtpServerLogEvent) => void) | null;
  onError: (error: unknown) => void;
}

interface Transaction {
  mail: MailFromArgs;
  recipients: SmtpServerRecipient[];
  attempts: number;
  bdat: {
    sink: SmtpMessageSink<SmtpRecipientOutcome[]>;
    envelope: SmtpServerEnvelope;
    size: number;
  } | null;
}

/** RFC 4954 §4: AUTH lines may be this long. */
const AUTH_LINE_LENGTH = 12288;
const FLUSH_AT = 16384;
const SKIP_LINE_LIMIT = 1 << 20;
const encoder = new TextEncoder();
const fatalDecoder = new TextDecoder("utf-8", { fatal: true });
// deno-lint-ignore no-control-regex
const CONTROL_REGEXP = /[\x00-\x1f\x7f]/;

/** A random id of `bytes` octets in upper-case hex. */
export function randomId(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

/** `host:port`, with brackets for IPv6. */
export function formatAddr(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/** Whether an error only says that the peer went away. */
export function isConnectionGone(error: unknown): boolean {
  if (error instanceof ProtocolError) return error.code === "UNEXPECTED_EOF";
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.UnexpectedEof;
}

/**
 * Ends a TLS connection politely (close_notify), so that clients do not
 * see a truncated stream; gives up after half a second.
 */
export async function closeTls(text: TextConn): Promise<void> {
  const conn = text.conn;
  if (!text.tls || text.closed || conn.closeWrite === undefined) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    conn.closeWrite().catch(() => {}),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, 500))),
  ]);
  clearTimeout(timer);
}

/** Runs one connection; resolves when it ended. */
export class SmtpSession {
  #config: SmtpSessionConfig;
  #info: TcpConnectionInfo;
  #text: TextConn;
  #id = randomId(5);
  #remote: Deno.NetAddr;
  #helo: string | null = null;
  #esmtp = false;
  #user: string | null = null;
  #tx: Transaction | null = null;
  #errors = 0;
  #out: string[] = [];
  #outSize = 0;
  #closing = false;
  #writing = false;
  #expired = false;
  #messages = 0;
  #auth: MailAuthenticator | null;

  constructor(conn: Deno.Conn, info: TcpConnectionInfo, config: SmtpSessionConfig) {
    this.#config = config;
    this.#info = info;
    this.#remote = info.remoteAddr;
    this.#text = new TextConn(conn, { progress: info.deadline });
    this.#auth = config.users === null ? null : new MailAuthenticator(config.users, {
      failureDelay: config.authFailureDelay,
      maxFailures: config.maxAuthFailures,
    });
  }

  /** The session as hooks see it. */
  #sessionInfo(): SmtpServerSessionInfo {
    return Object.freeze({
      id: this.#id,
      remoteAddr: this.#remote,
      localAddr: this.#info.localAddr,
      helo: this.#helo,
      tls: this.#text.tls,
      user: this.#user,
    });
  }

  #log(type: SmtpServerLogEvent["type"], text: string, extra: Partial<SmtpServerLogEvent> = {}) {
    const onLog = this.#config.onLog;
    if (onLog === null) return;
    try {
      onLog({
        type,
        session: this.#id,
        remoteAddr: this.#remote,
        ...extra,
        text: `smtp ${formatAddr(this.#remote)} ${printable(text, 2000)}`,
      });
    } catch (error) {
      this.#config.onError(error);
    }
  }

  /** Queues a reply; replies are written together when the client waits for them. */
  #reply(code: number, enhanced: string | null, text: string | readonly string[]): void {
    const line = formatReply(code, text, enhanced === null ? {} : { enhanced });
    this.#out.push(line);
    this.#outSize += line.length;
  }

  /** Queues a refusal that counts towards `maxErrors`. */
  #error(code: number, enhanced: string, text: string): void {
    this.#errors++;
    this.#reply(code, enhanced, text);
  }

  #argReply(reply: SmtpArgReply): void {
    if (reply.code === 501 || reply.code === 555 || reply.code === 553) {
      this.#error(reply.code, reply.enhanced, reply.text);
    } else {
      this.#reply(reply.code, reply.enhanced, reply.text);
    }
  }

  /** Queues a reply given as an `SmtpReplyError`. */
  #replyError(error: SmtpReplyError): void {
    try {
      if (error.code < 400 || error.code > 599) throw new RangeError("not a refusal");
      const line = formatReply(error.code, error.lines.length > 0 ? error.lines : [""]);
      this.#out.push(line);
      this.#outSize += line.length;
    } catch {
      this.#reply(451, "4.3.0", "Error: local error in processing");
    }
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

  /** Whether a whole command line is already buffered (then replies may wait). */
  #lineBuffered(): boolean {
    return this.#text.reader.peekBuffered().includes(10);
  }

  #expire(): void {
    if (this.#expired) return;
    this.#expired = true;
    this.#closing = true;
    const text = this.#text;
    const bye = encoder.encode(
      formatReply(421, `${this.#config.name} Error: timeout exceeded`, { enhanced: "4.4.2" }),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const written = this.#writing || text.closed
      ? Promise.resolve()
      : text.writer.write(bye).catch(() => {});
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
      this.#reply(220, null, `${config.name} ${config.lmtp ? "LMTP" : "ESMTP"} inetkit`);
      while (!this.#closing) {
        if (this.#outSize >= FLUSH_AT || !this.#lineBuffered()) await this.#flush();
        if (this.#info.signal.aborted) {
          this.#reply(421, "4.3.2", `${config.name} Service shutting down`);
          break;
        }
        const line = await this.#readCommand();
        if (line === null) break;
        if (line !== undefined) await this.#dispatch(line);
        if (this.#errors >= config.maxErrors && !this.#closing) {
          this.#reply(421, "4.7.0", `${config.name} Error: too many errors`);
          break;
        }
      }
      if (!this.#expired) await this.#flush();
    } catch (error) {
      if (!this.#text.closed && !isConnectionGone(error)) config.onError(error);
    } finally {
      const bdat = this.#tx?.bdat;
      this.#tx = null;
      if (bdat) await bdat.sink.abort(new Error("The client left during BDAT"));
      await closeTls(this.#text);
      this.#text.close();
      this.#log("disconnect", `disconnect (${this.#messages} messages)`);
    }
  }

  /**
   * Reads one command line: the text, `null` at the end of the session, or
   * `undefined` when the line was answered already (too long, bad bytes).
   */
  async #readCommand(): Promise<string | null | undefined> {
    const reader = this.#text.reader;
    const signal = this.#info.signal;
    let bytes: Uint8Array | null;
    try {
      bytes = await reader.readLineBytes({
        maxLength: Math.max(AUTH_LINE_LENGTH, this.#config.maxCommandLength) - 2,
        lineEnding: "any",
        signal,
      });
    } catch (error) {
      if (signal.aborted && !this.#text.closed) {
        this.#reply(421, "4.3.2", `${this.#config.name} Service shutting down`);
        this.#closing = true;
        return undefined;
      }
      if (error instanceof ProtocolError && error.code === "LINE_TOO_LONG") {
        if (!(await discardLine(reader, SKIP_LINE_LIMIT))) {
          this.#reply(500, "5.5.2", "Line too long");
          this.#closing = true;
          return undefined;
        }
        this.#error(500, "5.5.2", "Line too long");
        return undefined;
      }
      throw error;
    }
    if (bytes === null) return null;
    let line: string;
    try {
      line = fatalDecoder.decode(bytes);
    } catch {
      this.#error(500, "5.5.2", "Error: invalid UTF-8 in command");
      return undefined;
    }
    if (CONTROL_REGEXP.test(line)) {
      this.#error(500, "5.5.2", "Error: control characters in command");
      return undefined;
    }
    if (bytes.length > this.#config.maxCommandLength - 2 && !/^auth( |$)/i.test(line)) {
      this.#error(500, "5.5.2", "Line too long");
      return undefined;
    }
    return line;
  }

  async #dispatch(line: string): Promise<void> {
    const space = line.indexOf(" ");
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const rest = space < 0 ? "" : line.slice(space + 1);
    const lmtp = this.#config.lmtp;
    switch (verb) {
      case "EHLO":
      case "HELO":
        if (lmtp) return this.#error(500, "5.5.1", `Error: ${verb} is not LMTP, use LHLO`);
        return this.#hello(verb, rest);
      case "LHLO":
        if (!lmtp) return this.#error(500, "5.5.2", "Error: command not recognized");
        return this.#hello(verb, rest);
      case "MAIL":
        return this.#mail(rest);
      case "RCPT":
        return await this.#rcpt(rest);
      case "DATA":
        return await this.#data(rest);
      case "BDAT":
        return await this.#bdat(rest);
      case "RSET":
        if (rest.trim() !== "") return this.#error(501, "5.5.4", "Syntax: RSET");
        await this.#resetTransaction();
        return this.#reply(250, "2.0.0", "Ok");
      case "NOOP":
        return this.#reply(250, "2.0.0", "Ok");
      case "QUIT":
        this.#reply(221, "2.0.0", "Bye");
        this.#closing = true;
        return;
      case "VRFY":
        if (rest.trim() === "") return this.#error(501, "5.5.4", "Syntax: VRFY address");
        return this.#reply(
          252,
          "2.5.2",
          "Cannot VRFY user, but will accept message and attempt delivery",
        );
      case "EXPN":
        return this.#error(502, "5.5.1", "Error: EXPN not available");
      case "HELP":
        return this.#reply(
          214,
          "2.0.0",
          `Commands: ${lmtp ? "LHLO" : "EHLO HELO"} MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP` +
            `${this.#config.starttls ? " STARTTLS" : ""}${this.#auth ? " AUTH" : ""}`,
        );
      case "STARTTLS":
        return await this.#startTls(rest);
      case "AUTH":
        return await this.#authenticate(rest);
      default:
        return this.#error(500, "5.5.2", "Error: command not recognized");
    }
  }

  /** Whether AUTH may be used now. */
  #authOffered(): boolean {
    return this.#auth !== null && (this.#text.tls || this.#config.allowInsecureAuth);
  }

  #mechanisms(): string[] {
    const mechanisms = ["PLAIN", "LOGIN"];
    if (this.#config.users?.users !== undefined) mechanisms.push("CRAM-MD5");
    return mechanisms;
  }

  async #resetTransaction(): Promise<void> {
    const bdat = this.#tx?.bdat;
    this.#tx = null;
    if (bdat) await bdat.sink.abort(new Error("The transaction was reset"));
  }

  async #hello(verb: string, rest: string): Promise<void> {
    const name = parseHelo(rest);
    if (name === null) return this.#error(501, "5.5.4", `Syntax: ${verb} hostname`);
    await this.#resetTransaction();
    this.#helo = name;
    this.#esmtp = verb !== "HELO";
    const config = this.#config;
    if (verb === "HELO") return this.#reply(250, null, config.name);
    const lines = [
      config.name,
      "PIPELINING",
      `SIZE ${config.maxMessageSize}`,
      "8BITMIME",
      "SMTPUTF8",
      "CHUNKING",
      "ENHANCEDSTATUSCODES",
      "DSN",
    ];
    if (config.starttls !== null && !this.#text.tls) lines.push("STARTTLS");
    if (this.#authOffered()) lines.push(`AUTH ${this.#mechanisms().join(" ")}`);
    this.#reply(250, null, lines);
  }

  #mail(rest: string): void {
    const config = this.#config;
    if (this.#helo === null) return this.#error(503, "5.5.1", "Error: send HELO/EHLO first");
    if (this.#tx !== null) return this.#error(503, "5.5.1", "Error: nested MAIL command");
    if (config.requireTls && !this.#text.tls) {
      return this.#error(530, "5.7.0", "Must issue a STARTTLS command first");
    }
    if (config.authRequired && this.#user === null) {
      return this.#error(530, "5.7.0", "Authentication required");
    }
    const args = parseMailFrom(rest, config.maxMessageSize);
    if (!("from" in args)) return this.#argReply(args);
    this.#tx = { mail: args, recipients: [], attempts: 0, bdat: null };
    this.#reply(250, "2.1.0", "Ok");
  }

  async #rcpt(rest: string): Promise<void> {
    const tx = this.#tx;
    if (tx === null) return this.#error(503, "5.5.1", "Error: need MAIL command");
    if (tx.bdat !== null) return this.#error(503, "5.5.1", "Error: RCPT after BDAT");
    const args = parseRcptTo(rest, tx.mail.smtputf8);
    if (!("to" in args)) return this.#argReply(args);
    tx.attempts++;
    if (tx.recipients.length >= this.#config.maxRecipients) {
      return this.#reply(452, "4.5.3", "Too many recipients");
    }
    let user: string | null | false;
    try {
      user = await this.#config.resolveRecipient(args.to, this.#sessionInfo());
    } catch (error) {
      if (error instanceof SmtpReplyError) return this.#replyError(error);
      this.#config.onError(error);
      return this.#reply(451, "4.3.0", "Error: local error in processing");
    }
    if (user === false) {
      this.#log("refused", `refused recipient <${args.to}>: unknown user`);
      return this.#reply(
        550,
        "5.1.1",
        `<${printable(args.to)}>: Recipient address rejected: User unknown`,
      );
    }
    const recipient: SmtpServerRecipient = { address: args.to, user };
    if (args.notify !== undefined) Object.assign(recipient, { notify: Object.freeze(args.notify) });
    if (args.originalRecipient !== undefined) {
      Object.assign(recipient, { originalRecipient: args.originalRecipient });
    }
    tx.recipients.push(Object.freeze(recipient));
    this.#reply(250, "2.1.5", "Ok");
  }

  /** Checks that a transaction can take content; queues the refusal otherwise. */
  #contentRefusal(): [number, string, string] | null {
    const tx = this.#tx;
    if (tx === null) return [503, "5.5.1", "Error: need MAIL command"];
    if (tx.recipients.length === 0) {
      return tx.attempts > 0
        ? [554, "5.5.1", "Error: no valid recipients"]
        : [503, "5.5.1", "Error: need RCPT command"];
    }
    return null;
  }

  #envelope(tx: Transaction): SmtpServerEnvelope {
    const mail = tx.mail;
    const envelope: SmtpServerEnvelope = {
      id: randomId(6),
      from: mail.from,
      to: Object.freeze(tx.recipients.map((r) => r.address)),
      recipients: Object.freeze(tx.recipients.slice()),
      smtputf8: mail.smtputf8,
      session: this.#sessionInfo(),
    };
    if (mail.size !== undefined) Object.assign(envelope, { size: mail.size });
    if (mail.body !== undefined) Object.assign(envelope, { body: mail.body });
    if (mail.dsnReturn !== undefined) Object.assign(envelope, { dsnReturn: mail.dsnReturn });
    if (mail.envelopeId !== undefined) Object.assign(envelope, { envelopeId: mail.envelopeId });
    return Object.freeze(envelope);
  }

  /** The `Received:` field (RFC 5321 §4.4, with-protocols of RFC 3848 and 6531). */
  #receivedField(envelope: SmtpServerEnvelope): string {
    const config = this.#config;
    const ip = this.#remote.hostname.includes(":")
      ? `IPv6:${this.#remote.hostname}`
      : this.#remote.hostname;
    const tls = this.#text.tls;
    const auth = this.#user !== null;
    let base = config.lmtp ? "LMTP" : "ESMTP";
    if (!config.lmtp && !this.#esmtp && !tls && !auth && !envelope.smtputf8) base = "SMTP";
    if (envelope.smtputf8) base = config.lmtp ? "UTF8LMTP" : "UTF8SMTP";
    const protocol = `${base}${tls ? "S" : ""}${auth ? "A" : ""}`;
    const helo = (this.#helo ?? "unknown").replace(/[^A-Za-z0-9.\-_:\[\]]/g, "_");
    let field = `Received: from ${helo} ([${ip}])\r\n\tby ${config.name} (inetkit) with ` +
      `${protocol} id ${envelope.id}`;
    if (envelope.to.length === 1) field += `\r\n\tfor <${envelope.to[0]}>`;
    return `${field};\r\n\t${formatMailDate(new Date())}\r\n`;
  }

  /** Starts the delivery of a transaction's content. */
  async #openSink(envelope: SmtpServerEnvelope): Promise<SmtpMessageSink<SmtpRecipientOutcome[]>> {
    const sink = new SmtpMessageSink((stream) => this.#config.deliver(envelope, stream));
    if (this.#config.received) await sink.write(encoder.encode(this.#receivedField(envelope)));
    return sink;
  }

  async #data(rest: string): Promise<void> {
    if (rest.trim() !== "") return this.#error(501, "5.5.4", "Syntax: DATA");
    const refusal = this.#contentRefusal();
    if (refusal !== null) return this.#error(...refusal);
    const tx = this.#tx!;
    if (tx.bdat !== null) return this.#error(503, "5.5.1", "Error: DATA after BDAT");
    const config = this.#config;
    this.#reply(354, null, "End data with <CR><LF>.<CR><LF>");
    await this.#flush();
    const envelope = this.#envelope(tx);
    const sink = await this.#openSink(envelope);
    const reader = this.#text.reader;
    const block = new DotStuffedReader(reader, {
      lineEnding: "crlf",
      maxLineLength: config.maxTextLineLength - 2,
      maxSize: config.maxMessageSize,
    });
    let failure: [number, string, string] | null = null;
    try {
      for (;;) {
        const piece = await block.read();
        if (piece === null) break;
        if (sink.open) await sink.write(piece);
      }
    } catch (error) {
      await sink.abort(error);
      this.#tx = null;
      const code = error instanceof ProtocolError ? error.code : "";
      if (code !== "LINE_TOO_LONG" && code !== "BODY_TOO_LARGE") throw error;
      failure = code === "LINE_TOO_LONG"
        ? [500, "5.5.2", "Line too long"]
        : [552, "5.3.4", "Message size exceeds fixed maximum message size"];
      this.#log("refused", `refused message from <${envelope.from}>: ${failure[2]}`);
      if (!(await discardDotBlock(reader, 2 * config.maxMessageSize + (1 << 20)))) {
        if (reader.eof) throw new ProtocolError("UNEXPECTED_EOF", "The client left during DATA");
        this.#reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
        this.#closing = true;
        return;
      }
      return this.#reply(...failure);
    }
    this.#tx = null;
    await this.#finish(sink, envelope, block.size);
  }

  async #bdat(rest: string): Promise<void> {
    const config = this.#config;
    const args = parseBdat(rest);
    if (args === null) {
      // The chunk's length is unknown: its octets would be read as commands.
      this.#reply(501, "5.5.4", "Syntax: BDAT size [LAST]");
      this.#closing = true;
      return;
    }
    const reader = this.#text.reader;
    let refusal = this.#contentRefusal();
    const tx = this.#tx;
    if (refusal === null && (tx!.bdat?.size ?? 0) + args.size > config.maxMessageSize) {
      refusal = [552, "5.3.4", "Message size exceeds fixed maximum message size"];
    }
    if (refusal !== null) {
      if (refusal[0] === 552) await this.#resetTransaction();
      if (args.size > 2 * config.maxMessageSize + (1 << 20)) {
        this.#reply(...refusal);
        this.#closing = true;
        return;
      }
      if (!(await discardOctets(reader, args.size))) {
        throw new ProtocolError("UNEXPECTED_EOF", "The client left during BDAT");
      }
      return this.#error(...refusal);
    }
    const current = tx!;
    if (current.bdat === null) {
      const envelope = this.#envelope(current);
      current.bdat = { sink: await this.#openSink(envelope), envelope, size: 0 };
    }
    const { sink, envelope } = current.bdat;
    const chunk = new BoundedReader(reader, args.size);
    for (;;) {
      const piece = await chunk.read();
      if (piece === null) break;
      if (sink.open) await sink.write(piece);
    }
    current.bdat.size += args.size;
    if (!args.last && sink.open) {
      return this.#reply(250, "2.0.0", `Ok: ${args.size} octets received`);
    }
    // The last chunk, or a delivery that gave up early: the transaction ends.
    this.#tx = null;
    await this.#finish(sink, envelope, current.bdat.size);
  }

  /** Waits for the delivery and queues the final reply (one per recipient in LMTP). */
  async #finish(
    sink: SmtpMessageSink<SmtpRecipientOutcome[]>,
    envelope: SmtpServerEnvelope,
    size: number,
  ): Promise<void> {
    let outcomes: SmtpRecipientOutcome[];
    try {
      outcomes = await sink.end();
    } catch (error) {
      outcomes = envelope.recipients.map(() => ({ ok: false, error }));
    }
    const replies = outcomes.map((outcome) => this.#outcomeReply(outcome));
    const failures = replies.filter((r) => r !== null);
    const id = envelope.id;
    this.#messages++;
    if (this.#config.onLog !== null) {
      const details = [
        ...new Set(outcomes.map((o) => (o.ok && o.detail ? o.detail : null)).filter((d) => d)),
      ];
      const summary = failures.length === 0
        ? `stored${details.length > 0 ? ` for ${details.join(", ")}` : ""}`
        : `refused ${failures.length} of ${replies.length}: ${failures[0]!.code} ${
          failures[0]!.lines.join(" ")
        }`;
      const to = envelope.to.map((a) => `<${a}>`).join(", ");
      this.#log(
        "message",
        `message ${id} from <${envelope.from}> to ${to} (${size} octets): ${summary}`,
        {
          user: this.#user ?? undefined,
          message: { id, from: envelope.from, to: envelope.to, size },
        },
      );
    }
    if (this.#config.lmtp) {
      envelope.recipients.forEach((recipient, i) => {
        const failure = replies[i];
        if (failure) this.#replyError(failure);
        else this.#reply(250, "2.0.0", `<${printable(recipient.address)}> Ok: queued as ${id}`);
      });
      return;
    }
    if (failures.length === 0) return this.#reply(250, "2.0.0", `Ok: queued as ${id}`);
    this.#replyError(failures[0]!);
  }

  #outcomeReply(outcome: SmtpRecipientOutcome): SmtpReplyError | null {
    if (outcome.ok) return null;
    if ("reply" in outcome) return outcome.reply;
    this.#config.onError(outcome.error);
    return new SmtpReplyError(451, ["4.3.0 Error: local error in processing"]);
  }

  async #startTls(rest: string): Promise<void> {
    const starttls = this.#config.starttls;
    if (starttls === null) return this.#error(502, "5.5.1", "Error: command not implemented");
    if (this.#text.tls) return this.#error(554, "5.5.1", "Error: TLS already active");
    if (rest.trim() !== "") return this.#error(501, "5.5.4", "Syntax: STARTTLS");
    if (this.#text.reader.buffered > 0) {
      // CVE-2011-0411 and kin: commands pipelined after STARTTLS must never
      // be taken as if they had come over TLS.
      this.#log("refused", "refused STARTTLS: commands pipelined after it");
      this.#reply(554, "5.5.1", "Error: pipelined commands after STARTTLS");
      this.#closing = true;
      return;
    }
    this.#reply(220, "2.0.0", "Ready to start TLS");
    await this.#flush();
    await this.#resetTransaction();
    try {
      const tls = await startTlsServer(this.#text.detach(), {
        cert: starttls.cert,
        key: starttls.key,
        signal: this.#info.signal,
      });
      this.#text.adoptTls(tls);
      this.#log("tls", `STARTTLS ${tls.tlsVersion ?? "done"}`);
    } catch (error) {
      this.#log("refused", `STARTTLS failed: ${error instanceof Error ? error.message : error}`);
      this.#text.close();
      this.#closing = true;
      return;
    }
    // RFC 3207 §4.2: forget what the client said before.
    this.#helo = null;
    this.#esmtp = false;
    this.#user = null;
  }

  /** Sends a SASL challenge and reads the answer; null when the exchange ended (answered). */
  async #saslStep(challenge: string): Promise<string | null> {
    this.#out.push(`334 ${challenge}\r\n`);
    await this.#flush();
    const reader = this.#text.reader;
    let bytes: Uint8Array | null;
    try {
      bytes = await reader.readLineBytes({ maxLength: AUTH_LINE_LENGTH - 2, lineEnding: "any" });
    } catch (error) {
      if (error instanceof ProtocolError && error.code === "LINE_TOO_LONG") {
        if (!(await discardLine(reader, SKIP_LINE_LIMIT))) this.#closing = true;
        this.#error(500, "5.5.2", "Line too long");
        return null;
      }
      throw error;
    }
    if (bytes === null) {
      this.#closing = true;
      return null;
    }
    const line = new TextDecoder().decode(bytes).trim();
    if (line === "*") {
      this.#reply(501, "5.7.0", "Authentication aborted");
      return null;
    }
    return line;
  }

  async #authenticate(rest: string): Promise<void> {
    const auth = this.#auth;
    if (auth === null) return this.#error(502, "5.5.1", "Error: authentication not enabled");
    if (!this.#authOffered()) {
      return this.#error(530, "5.7.0", "Must issue a STARTTLS command first");
    }
    if (this.#helo === null) return this.#error(503, "5.5.1", "Error: send HELO/EHLO first");
    if (this.#user !== null) return this.#error(503, "5.5.1", "Error: already authenticated");
    if (this.#tx !== null) return this.#error(503, "5.5.1", "Error: MAIL transaction in progress");
    const words = rest.split(" ");
    if (words.length > 2 || words[0] === "") {
      return this.#error(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
    }
    const mechanism = words[0]!.toUpperCase();
    const initial = words[1];
    if (!this.#mechanisms().includes(mechanism)) {
      return this.#error(504, "5.5.4", "Unrecognized authentication type");
    }
    const info = { remoteAddr: this.#remote, protocol: "smtp", tls: this.#text.tls };
    const bad = () => this.#error(501, "5.5.2", "Error: cannot decode response");
    let result: MailLoginResult;
    let user: string;
    if (mechanism === "PLAIN") {
      const response = initial ?? await this.#saslStep("");
      if (response === null) return;
      const decoded = decodeSaslPlain(response === "=" ? "" : response);
      if (decoded === null) return bad();
      user = decoded.user;
      if (decoded.authorizationId !== "" && decoded.authorizationId !== user) {
        // Acting for another identity (RFC 4616 authzid) is not supported.
        return this.#reply(535, "5.7.8", "Error: authorization identity not allowed");
      }
      result = await auth.check(user, decoded.password, info);
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
      result = await auth.check(user, password, info);
    } else {
      if (initial !== undefined) {
        return this.#error(501, "5.5.4", "Syntax: CRAM-MD5 takes no initial response");
      }
      const challenge = mailChallenge(this.#config.name);
      const response = await this.#saslStep(btoa(challenge));
      if (response === null) return;
      const decoded = decodeSaslLine(response);
      if (decoded === null) return bad();
      const checked = await auth.checkCramMd5(challenge, decoded);
      user = checked.user ?? decoded.slice(0, Math.max(0, decoded.lastIndexOf(" ")));
      result = checked;
    }
    if (result.ok) {
      this.#user = user;
      this.#log("login", `login ${user} (${mechanism})`, { user });
      return this.#reply(235, "2.7.0", "Authentication successful");
    }
    this.#log("login-failed", `login failed for ${user} (${mechanism})`, { user });
    if (result.exhausted) {
      this.#reply(421, "4.7.0", `${this.#config.name} Error: too many authentication failures`);
      this.#closing = true;
      return;
    }
    this.#reply(535, "5.7.8", "Error: authentication failed");
  }
}
