/**
 * One IMAP4rev1 session (RFC 3501) of {@linkcode ImapServer}: the
 * not-authenticated, authenticated, selected and logout states, STARTTLS,
 * LOGIN and AUTHENTICATE, the mailbox commands, APPEND streamed into the
 * store, IDLE, and the untagged updates of other sessions and deliveries,
 * sent only where RFC 3501 §7.4.1 allows them.
 *
 * @module
 */
import type { BufferedReader } from "../net/buffered_reader.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { formatImapStatus } from "../net/reply_writer.ts";
import { startTlsServer } from "../net/start_tls_server.ts";
import type { TcpConnectionInfo } from "../net/tcp_server.ts";
import { TextConn } from "../net/text_conn.ts";
import type { ImapToken } from "./_imap_wire_types.ts";
import { ImapTokenizer } from "./_imap_tokenizer.ts";
import {
  type ImapCommand,
  type ImapCommandLiteralInfo,
  type ImapCommandLiteralTarget,
  ImapCommandReader,
} from "./imap_command_reader.ts";
import {
  decodeSaslLine,
  decodeSaslPlain,
  MailAuthenticator,
  mailChallenge,
  type MailLoginInfo,
  type MailServerUsers,
} from "./mail_server_auth.ts";
import {
  MAIL_SYSTEM_FLAGS,
  type MailboxView,
  type MailDeliverResult,
  type MailFlagMode,
  type MailStore,
} from "./mail_store.ts";
import { MailStoreError } from "./mail_store_error.ts";
import {
  argCount,
  astring,
  flagList,
  formatSet,
  ImapBad,
  ImapFatal,
  ImapNo,
  mailboxArg,
  parseDateTime,
  parseSequenceSet,
  resolveSequenceSet,
  resolveUidSet,
} from "./_imap_server_args.ts";
import { imapMailboxName, ImapOutput, logSafe } from "./_imap_server_output.ts";
import { parseFetchItems, runFetch, writeFlags } from "./_imap_server_fetch.ts";
import { parseSearch, runSearch } from "./_imap_server_search.ts";
import { listMatcher, specialUse } from "./_imap_server_list.ts";
import type { ImapMessageCache } from "./_imap_server_structure.ts";

/** What every session of one server shares. */
export interface ImapSessionConfig {
  store: MailStore;
  users: MailServerUsers;
  name: string;
  /** The certificate and key for STARTTLS, or null (none, or implicit TLS). */
  startTls: { cert: string; key: string } | null;
  /** Whether LOGIN and AUTHENTICATE are accepted without TLS. */
  insecureAuth: boolean;
  loginTimeout: number;
  idleTimeout: number;
  maxLineLength: number;
  maxLiteralSize: number;
  maxMessageSize: number;
  authFailureDelay: number;
  maxAuthFailures: number;
  maxErrors: number;
  /** Milliseconds between rescans of the selected folder during IDLE; 0 for none. */
  rescanInterval: number;
  cache: ImapMessageCache;
  log: (line: string) => void;
  onError: (error: unknown) => void;
}

const NOT_AUTHENTICATED = 0;
const AUTHENTICATED = 1;
const SELECTED = 2;
const LOGOUT = 3;

/** The most octets of a literal before login (user names and passwords). */
const PREAUTH_LITERAL = 8192;
/** The most octets of a SASL response line. */
const MAX_SASL_LINE = 16384;
const encoder = new TextEncoder();
const utf8 = new TextDecoder();

/** The outcome a handler reports for its tagged `OK`. */
interface Done {
  text?: string;
  code?: string;
}

type Handler = (cmd: ImapCommand) => Promise<Done | void>;

/** The line segments of the command being read: how many, and the last one. */
interface LineRecord {
  count: number;
  last: Uint8Array | null;
}

/** Per APPEND command: what was learnt from its literals. */
interface AppendState {
  mailbox: string | null;
  delivery: Promise<MailDeliverResult> | null;
  folder: string | null;
}

/**
 * Records the line segments the command reader reads, so that an APPEND's
 * mailbox, flags and date are known when its message literal starts and
 * the message can stream straight into the store.
 */
function recordingReader(reader: BufferedReader, lines: LineRecord): BufferedReader {
  return new Proxy(reader, {
    get(target, prop) {
      if (prop === "readLineBytes") {
        return async (options?: Parameters<BufferedReader["readLineBytes"]>[0]) => {
          const line = await target.readLineBytes(options);
          if (line !== null) {
            lines.count++;
            lines.last = line;
          }
          return line;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const TOKENIZER_SETTINGS = {
  mode: "command" as const,
  maxLineLength: 1 << 30,
  maxTotal: 1 << 30,
  maxDepth: 8,
  maxTokens: 1000,
  lineEnding: "any" as const,
};

/** Tokenizes an APPEND segment before its literal announcement. */
async function segmentTokens(line: Uint8Array, first: boolean): Promise<ImapToken[]> {
  let end = line.length;
  // Strip the trailing {n}, {n+} or ~{n}.
  if (line[end - 1] === 0x7d) {
    let i = end - 2;
    if (line[i] === 0x2b) i--;
    while (i >= 0 && line[i]! >= 0x30 && line[i]! <= 0x39) i--;
    if (line[i] === 0x7b) end = line[i - 1] === 0x7e ? i - 1 : i;
  }
  let start = 0;
  if (first) {
    // Skip the tag and the command name.
    for (let words = 0; words < 2; words++) {
      while (start < end && line[start] !== 0x20) start++;
      while (start < end && line[start] === 0x20) start++;
    }
  }
  const t = ImapTokenizer.over(line.subarray(start, end), TOKENIZER_SETTINGS);
  const out: ImapToken[] = [];
  const noLiteral = () => Promise.reject(new ImapBad("Unexpected literal"));
  for (;;) {
    t.skipSpaces();
    if (t.atEnd()) return out;
    out.push(await t.value(0, false, noLiteral));
  }
}

function storeErrorResponse(error: MailStoreError, trycreate = false): ImapNo | ImapBad {
  switch (error.code) {
    case "NONEXISTENT":
      return trycreate
        ? new ImapNo("Mailbox does not exist", "TRYCREATE")
        : new ImapNo("Mailbox does not exist", "NONEXISTENT");
    case "ALREADY_EXISTS":
      return new ImapNo("Mailbox already exists", "ALREADYEXISTS");
    case "BAD_NAME":
      return new ImapNo("Invalid mailbox name", "CANNOT");
    case "BAD_FLAG":
      return new ImapBad("Invalid flag or keyword");
    case "CANNOT":
      return new ImapNo("Operation not permitted", "CANNOT");
    case "IN_USE":
      return new ImapNo("Mailbox is in use", "INUSE");
    case "TOO_LARGE":
      return new ImapNo("Message is too large", "TOOBIG");
    case "EXPUNGED":
      return new ImapNo("Message was expunged", "EXPUNGEISSUED");
    case "READ_ONLY":
      return new ImapNo("Mailbox is read-only");
    case "LIMIT":
      return new ImapNo("Limit exceeded", "LIMIT");
    case "CLOSED":
      return new ImapNo("Mailbox is not available", "UNAVAILABLE");
  }
  return new ImapNo("Operation failed", "SERVERBUG");
}

/** Serves one connection until LOGOUT, EOF, a fatal error or shutdown. */
export async function serveImapSession(
  conn: Deno.Conn,
  info: TcpConnectionInfo,
  config: ImapSessionConfig,
): Promise<void> {
  const session = new ImapSession(conn, info, config);
  await session.run();
}

class ImapSession {
  readonly #config: ImapSessionConfig;
  readonly #info: TcpConnectionInfo;
  readonly #text: TextConn;
  readonly #out: ImapOutput;
  readonly #auth: MailAuthenticator;
  readonly #peer: string;
  #commands!: ImapCommandReader;
  #lines: LineRecord = { count: 0, last: null };
  #state = NOT_AUTHENTICATED;
  #user = "";
  #view: MailboxView | null = null;
  #utf8 = false;
  #waiting = false;
  #stopping = false;
  #closed = false;
  #badCommands = 0;
  #append: AppendState | null = null;
  #refusal: ImapBad | ImapNo | null = null;
  #handlers: Record<string, [states: number, handler: Handler]>;

  constructor(conn: Deno.Conn, info: TcpConnectionInfo, config: ImapSessionConfig) {
    this.#config = config;
    this.#info = info;
    this.#text = new TextConn(conn, { progress: info.deadline });
    this.#out = new ImapOutput((chunk) => this.#text.writer.write(chunk));
    this.#auth = new MailAuthenticator(config.users, {
      failureDelay: config.authFailureDelay,
      maxFailures: config.maxAuthFailures,
    });
    this.#peer = `${info.remoteAddr.hostname}:${info.remoteAddr.port}`;
    this.#newReader();
    const ANY = 0b111;
    const NOAUTH = 0b001;
    const AUTH = 0b110;
    const SEL = 0b100;
    const h = (states: number, handler: Handler): [number, Handler] => [states, handler.bind(this)];
    this.#handlers = {
      "CAPABILITY": h(ANY, this.#capability),
      "NOOP": h(ANY, this.#noop),
      "LOGOUT": h(ANY, this.#logout),
      "ID": h(ANY, this.#id),
      "STARTTLS": h(NOAUTH, this.#startTls),
      "LOGIN": h(NOAUTH, this.#login),
      "AUTHENTICATE": h(NOAUTH, this.#authenticate),
      "ENABLE": h(AUTH, this.#enable),
      "NAMESPACE": h(AUTH, this.#namespace),
      "SELECT": h(AUTH, (cmd) => this.#select(cmd, false)),
      "EXAMINE": h(AUTH, (cmd) => this.#select(cmd, true)),
      "CREATE": h(AUTH, this.#create),
      "DELETE": h(AUTH, this.#delete),
      "RENAME": h(AUTH, this.#rename),
      "SUBSCRIBE": h(AUTH, this.#subscribe),
      "UNSUBSCRIBE": h(AUTH, this.#subscribe),
      "LIST": h(AUTH, this.#list),
      "LSUB": h(AUTH, this.#lsub),
      "STATUS": h(AUTH, this.#status),
      "APPEND": h(AUTH, this.#appendCommand),
      "IDLE": h(AUTH, this.#idle),
      "CHECK": h(SEL, this.#noop),
      "CLOSE": h(SEL, this.#close),
      "UNSELECT": h(SEL, this.#unselect),
      "EXPUNGE": h(SEL, this.#expunge),
      "UID EXPUNGE": h(SEL, this.#expunge),
      "SEARCH": h(SEL, this.#search),
      "UID SEARCH": h(SEL, this.#search),
      "FETCH": h(SEL, this.#fetch),
      "UID FETCH": h(SEL, this.#fetch),
      "STORE": h(SEL, this.#store),
      "UID STORE": h(SEL, this.#store),
      "COPY": h(SEL, this.#copy),
      "UID COPY": h(SEL, this.#copy),
      "MOVE": h(SEL, this.#move),
      "UID MOVE": h(SEL, this.#move),
    };
  }

  // ---- plumbing ----

  #log(event: string): void {
    try {
      this.#config.log(`imap ${this.#peer} ${logSafe(event)}`);
    } catch {
      // a logger's failure is not the session's
    }
  }

  get #authAllowed(): boolean {
    return this.#text.tls || this.#config.insecureAuth;
  }

  #newReader(): void {
    const authed = this.#state !== NOT_AUTHENTICATED;
    const config = this.#config;
    const lines = this.#lines;
    this.#commands = new ImapCommandReader(recordingReader(this.#text.reader, lines), {
      onContinuation: async () => {
        this.#out.binary("+ Ready for literal data\r\n");
        await this.#out.flush();
      },
      onLiteral: (literal) => this.#onLiteral(literal),
      nonSynchronizing: "LITERAL+",
      maxLineLength: config.maxLineLength,
      maxLiteralSize: authed ? config.maxLiteralSize : PREAUTH_LITERAL,
      maxCommandSize: Math.max(1 << 20, 2 * config.maxLiteralSize + 4 * config.maxLineLength),
      maxDiscardSize: authed ? Math.max(1 << 20, config.maxMessageSize) : 65536,
      lineEnding: "any",
    });
  }

  #tagged(tag: string, status: "OK" | "NO" | "BAD", text: string, code?: string | null): void {
    let line: string;
    try {
      line = formatImapStatus(tag, status, text, code ?? undefined);
    } catch {
      // formatImapStatus refuses `]` in tags, which RFC 3501 allows.
      line = `${tag} ${status} ${code ? `[${code}] ` : ""}${text}\r\n`;
    }
    this.#out.text(line);
  }

  #untagged(line: string): void {
    this.#out.text(`* ${line}\r\n`);
  }

  async #bye(text: string): Promise<void> {
    if (this.#closed) return;
    try {
      this.#untagged(`BYE ${text}`);
      await this.#out.flush();
    } catch {
      // the peer is gone
    }
    this.#shut();
  }

  #shut(): void {
    this.#closed = true;
    this.#state = LOGOUT;
    this.#text.close();
  }

  #capabilities(): string {
    const caps = ["IMAP4rev1", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"];
    if (this.#state === NOT_AUTHENTICATED) {
      if (this.#config.startTls !== null && !this.#text.tls) caps.push("STARTTLS");
      if (this.#authAllowed) {
        caps.push("AUTH=PLAIN", "AUTH=LOGIN");
        if (this.#config.users.users !== undefined) caps.push("AUTH=CRAM-MD5");
      } else caps.push("LOGINDISABLED");
    }
    caps.push("NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "SPECIAL-USE", "UTF8=ACCEPT");
    return caps.join(" ");
  }

  // ---- the loop ----

  async run(): Promise<void> {
    const info = this.#info;
    const deadline = info.deadline;
    deadline.idleTimeout = this.#config.loginTimeout;
    deadline.onExpire = () => {
      this.#log("autologout");
      if (!this.#out.writing && !this.#closed) {
        this.#closed = true;
        this.#text.writer.write(encoder.encode("* BYE Autologout; idle for too long\r\n"))
          .catch(() => {}).finally(() => this.#shut());
      } else this.#shut();
    };
    const onStop = () => {
      this.#stopping = true;
      if (this.#waiting) void this.#bye("Server shutting down");
    };
    info.signal.addEventListener("abort", onStop, { once: true });
    this.#log("connect");
    try {
      this.#untagged(
        `OK [CAPABILITY ${this.#capabilities()}] ${this.#config.name} IMAP4rev1 ready`,
      );
      await this.#out.flush();
      if (info.signal.aborted) {
        await this.#bye("Server shutting down");
        return;
      }
      while (!this.#closed && this.#state !== LOGOUT) {
        this.#lines.count = 0;
        this.#lines.last = null;
        this.#append = null;
        this.#refusal = null;
        let result;
        this.#waiting = true;
        try {
          result = await this.#commands.read();
        } catch (error) {
          await this.#readFailed(error);
          break;
        } finally {
          this.#waiting = false;
        }
        if (result === null) break;
        if (result.type === "error") {
          await this.#refused(result.tag, result.status, result.code, result.text);
        } else {
          await this.#run(result);
        }
        if (this.#stopping && !this.#closed) await this.#bye("Server shutting down");
      }
    } catch (error) {
      if (!this.#closed && !isConnectionError(error)) this.#config.onError(error);
    } finally {
      info.signal.removeEventListener("abort", onStop);
      this.#view?.close();
      this.#view = null;
      await this.#settleAppend();
      this.#text.close();
      this.#log("disconnect");
    }
  }

  async #readFailed(error: unknown): Promise<void> {
    if (this.#closed) return;
    if (error instanceof ProtocolError) {
      switch (error.code) {
        case "LINE_TOO_LONG":
          await this.#bye("Command line too long");
          return;
        case "LITERAL_TOO_LARGE":
          await this.#bye("Literal too large");
          return;
        case "BARE_LF":
          await this.#bye("Protocol error");
          return;
      }
    }
    this.#shut();
  }

  /** Answers a command the reader refused (syntax, a literal too large, a refused APPEND). */
  async #refused(
    tag: string | null,
    status: "BAD" | "NO",
    code: string | null,
    text: string,
  ): Promise<void> {
    const refusal = this.#refusal;
    await this.#settleAppend();
    if (refusal !== null) {
      status = refusal instanceof ImapNo ? "NO" : "BAD";
      code = refusal.code;
      text = refusal.message;
    }
    if (tag === null) this.#untagged(`BAD ${code ? `[${code}] ` : ""}${text}`);
    else this.#tagged(tag, status, text, code);
    await this.#out.flush();
    if (status === "BAD" && ++this.#badCommands >= this.#config.maxErrors) {
      await this.#bye("Too many invalid commands");
    }
  }

  async #run(cmd: ImapCommand): Promise<void> {
    const entry = Object.hasOwn(this.#handlers, cmd.name) ? this.#handlers[cmd.name] : undefined;
    const stateBit = 1 << this.#state;
    let status: "OK" | "NO" | "BAD" = "OK";
    let text = `${cmd.name} completed`;
    let code: string | null | undefined;
    try {
      if (entry === undefined) throw new ImapBad("Unknown command");
      if ((entry[0] & stateBit) === 0) {
        throw new ImapBad(
          this.#state === NOT_AUTHENTICATED
            ? "Not authenticated"
            : (entry[0] & (1 << NOT_AUTHENTICATED)) !== 0
            ? "Already authenticated"
            : "No mailbox selected",
        );
      }
      const done = await entry[1](cmd);
      if (done) {
        text = done.text ?? text;
        code = done.code;
      }
      this.#badCommands = 0;
    } catch (error) {
      if (this.#closed || error instanceof TlsStarted) return;
      if (error instanceof ImapFatal) {
        const cause = error.cause;
        if (!isConnectionError(cause) && !this.#text.closed) {
          this.#log(`error in ${cmd.name}: connection closed`);
          this.#config.onError(cause);
        }
        this.#shut();
        return;
      }
      let failure = error;
      if (failure instanceof MailStoreError) failure = storeErrorResponse(failure);
      if (failure instanceof ImapBad) {
        status = "BAD";
        text = failure.message;
        code = failure.code;
      } else if (failure instanceof ImapNo) {
        status = "NO";
        text = failure.message;
        code = failure.code;
      } else {
        if (isConnectionError(error) || this.#text.closed) {
          this.#shut();
          return;
        }
        status = "NO";
        text = "Internal server error";
        code = "SERVERBUG";
        this.#log(`error in ${cmd.name}`);
        this.#config.onError(error);
      }
    }
    if (this.#closed) return;
    if (this.#view !== null && this.#state === SELECTED && allowsUpdates(cmd.name)) {
      this.#updates();
    }
    if (this.#state === LOGOUT) {
      this.#tagged(cmd.tag, status, text, code);
      await this.#out.flush().catch(() => {});
      this.#shut();
      return;
    }
    this.#tagged(cmd.tag, status, text, code);
    await this.#out.flush();
    if (status === "BAD" && ++this.#badCommands >= this.#config.maxErrors) {
      await this.#bye("Too many invalid commands");
    }
    if (this.#view?.closed && this.#state === SELECTED) {
      await this.#bye("Mailbox was deleted");
    }
  }

  /** Writes what changed in the selected mailbox since the last sync (RFC 3501 §7.3.1, §7.4.1). */
  #updates(): void {
    const view = this.#view;
    if (view === null || !view.pending) return;
    const update = view.sync();
    for (const seq of update.expunged) this.#untagged(`${seq} EXPUNGE`);
    for (const { seq, message } of update.flags) writeFlags(this.#out, view, seq, message, false);
    if (update.exists !== undefined) {
      this.#untagged(`${update.exists} EXISTS`);
      this.#untagged(`${update.recent ?? view.recent} RECENT`);
    }
    if (update.deleted) {
      this.#untagged("BYE Mailbox was deleted");
      this.#state = LOGOUT;
    }
  }

  // ---- APPEND literals ----

  #onLiteral(
    literal: ImapCommandLiteralInfo,
  ): ImapCommandLiteralTarget | Promise<ImapCommandLiteralTarget> {
    if (this.#state === NOT_AUTHENTICATED) {
      if (literal.command === "APPEND") {
        this.#refusal = new ImapBad("Not authenticated");
        return "reject";
      }
      if (literal.size > PREAUTH_LITERAL) {
        this.#refusal = new ImapNo("Literal too large before login", "TOOBIG");
        return "reject";
      }
      return "inline";
    }
    if (literal.command !== "APPEND") return "inline";
    return this.#appendLiteral(literal).catch((error) => {
      this.#refusal = error instanceof ImapBad || error instanceof ImapNo
        ? error
        : error instanceof MailStoreError
        ? storeErrorResponse(error, true)
        : new ImapBad("Invalid APPEND arguments");
      return "reject" as const;
    });
  }

  async #appendLiteral(literal: ImapCommandLiteralInfo): Promise<ImapCommandLiteralTarget> {
    const state = this.#append ??= { mailbox: null, delivery: null, folder: null };
    const segment = this.#lines.last;
    if (segment === null) throw new ImapBad("Invalid APPEND arguments");
    const tokens = await segmentTokens(segment, this.#lines.count === 1);
    if (state.delivery !== null) throw new ImapBad("MULTIAPPEND is not supported");
    if (state.mailbox === null && tokens.length === 0) {
      // The mailbox name itself is a literal.
      if (literal.size > 4096) throw new ImapBad("Mailbox name too long");
      const chunks: Uint8Array[] = [];
      return new WritableStream<Uint8Array>({
        write: (chunk) => void chunks.push(chunk),
        close: () => {
          const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
          let at = 0;
          for (const c of chunks) {
            bytes.set(c, at);
            at += c.length;
          }
          state.mailbox = utf8.decode(bytes);
        },
      });
    }
    let folder: string;
    if (state.mailbox !== null) {
      folder = mailboxArg({ type: "string", value: state.mailbox }, this.#utf8);
    } else folder = mailboxArg(tokens.shift(), this.#utf8);
    let flags: string[] = [];
    let internalDate: Date | undefined;
    if (tokens[0]?.type === "list") flags = flagList([tokens.shift()!]);
    const date = tokens[0];
    if (date?.type === "string") {
      tokens.shift();
      internalDate = parseDateTime(date.value);
    }
    if (tokens.length > 0) throw new ImapBad("Invalid APPEND arguments");
    if (literal.size > this.#config.maxMessageSize) {
      throw new ImapNo(`Message exceeds ${this.#config.maxMessageSize} octets`, "TOOBIG");
    }
    await this.#config.store.status(this.#user, folder);
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    state.folder = folder;
    state.delivery = this.#config.store.deliver(this.#user, folder, readable, {
      flags,
      internalDate,
      maxSize: this.#config.maxMessageSize,
    });
    state.delivery.catch(() => {});
    return writable;
  }

  /** Undoes a delivery whose command was not answered OK (it failed after the literal). */
  async #settleAppend(): Promise<void> {
    const state = this.#append;
    this.#append = null;
    if (state?.delivery == null || state.folder === null) return;
    try {
      const result = await state.delivery;
      await this.#config.store.expunge(this.#user, state.folder, [result.uid]);
    } catch {
      // nothing was stored
    }
  }

  // ---- any state ----

  #capability(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 0);
    this.#untagged(`CAPABILITY ${this.#capabilities()}`);
    return Promise.resolve();
  }

  async #noop(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 0);
    await this.#rescan();
  }

  /** Lets the store look for changes made by other programs in the selected folder. */
  async #rescan(): Promise<void> {
    const view = this.#view;
    if (view === null || view.closed) return;
    try {
      await this.#config.store.rescan(this.#user, view.folder);
    } catch {
      // a folder deleted meanwhile shows up as the view's deletion
    }
  }

  #logout(cmd: ImapCommand): Promise<Done> {
    argCount(cmd.args, 0);
    this.#untagged("BYE Logging out");
    this.#state = LOGOUT;
    return Promise.resolve({ text: "LOGOUT completed" });
  }

  #id(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 1);
    const arg = cmd.args[0]!;
    if (!(arg.type === "list" || (arg.type === "atom" && arg.value.toUpperCase() === "NIL"))) {
      throw new ImapBad("Invalid ID arguments");
    }
    this.#untagged('ID ("name" "inetkit" "vendor" "inetkit")');
    return Promise.resolve();
  }

  // ---- not authenticated ----

  async #startTls(cmd: ImapCommand): Promise<Done | void> {
    argCount(cmd.args, 0);
    const tls = this.#config.startTls;
    if (tls === null || this.#text.tls) throw new ImapBad("STARTTLS is not available");
    if (this.#text.reader.buffered > 0) {
      // Commands pipelined after STARTTLS would be read as if they came over TLS.
      this.#log("starttls injection refused");
      this.#untagged("BYE Data after STARTTLS refused");
      this.#tagged(cmd.tag, "BAD", "STARTTLS must be the last command before the handshake");
      await this.#out.flush().catch(() => {});
      this.#shut();
      return;
    }
    this.#tagged(cmd.tag, "OK", "Begin TLS negotiation now");
    await this.#out.flush();
    let upgraded;
    try {
      upgraded = await startTlsServer(this.#text.detach(), {
        cert: tls.cert,
        key: tls.key,
        signal: this.#info.signal,
      });
      this.#text.adoptTls(upgraded);
    } catch {
      this.#log("starttls failed");
      this.#shut();
      return;
    }
    this.#log("starttls");
    this.#newReader();
    // The tagged OK was sent before the handshake; nothing more for this command.
    throw new TlsStarted();
  }

  async #login(cmd: ImapCommand): Promise<Done> {
    argCount(cmd.args, 2);
    const user = astring(cmd.args[0], "user name");
    const password = astring(cmd.args[1], "password");
    if (!this.#authAllowed) {
      throw new ImapNo("LOGIN is not allowed before STARTTLS", "PRIVACYREQUIRED");
    }
    return this.#check(await this.#auth.check(user, password, this.#loginInfo()), user);
  }

  #loginInfo(): MailLoginInfo {
    return { remoteAddr: this.#info.remoteAddr, protocol: "imap", tls: this.#text.tls };
  }

  #check(result: { ok: boolean; exhausted: boolean }, user: string | null): Done {
    if (result.ok && user !== null) {
      this.#user = user;
      this.#state = AUTHENTICATED;
      this.#info.deadline.idleTimeout = this.#config.idleTimeout;
      this.#newReader();
      this.#log(`login ${user}`);
      return { text: "Logged in", code: `CAPABILITY ${this.#capabilities()}` };
    }
    this.#log(`login failed${user === null ? "" : ` ${user.slice(0, 64)}`}`);
    if (result.exhausted) {
      this.#untagged("BYE Too many authentication failures");
      this.#state = LOGOUT;
    }
    throw new ImapNo("Authentication failed", "AUTHENTICATIONFAILED");
  }

  /** Sends a SASL challenge and reads the response line; null when the client cancels. */
  async #sasl(challenge: string): Promise<string> {
    this.#out.text(`+ ${challenge}\r\n`);
    await this.#out.flush();
    const line = await this.#text.reader.readLine({ maxLength: MAX_SASL_LINE, lineEnding: "any" });
    if (line === null) throw new ProtocolError("UNEXPECTED_EOF", "Cannot read SASL response");
    if (line.trim() === "*") throw new ImapBad("Authentication cancelled");
    return line;
  }

  async #authenticate(cmd: ImapCommand): Promise<Done> {
    argCount(cmd.args, 1, 2);
    const mechanism = astring(cmd.args[0], "mechanism").toUpperCase();
    const initial = cmd.args[1] === undefined ? null : astring(cmd.args[1], "initial response");
    const cram = this.#config.users.users !== undefined;
    if (mechanism !== "PLAIN" && mechanism !== "LOGIN" && !(mechanism === "CRAM-MD5" && cram)) {
      throw new ImapNo("Unsupported authentication mechanism", "CANNOT");
    }
    if (!this.#authAllowed) {
      throw new ImapNo("Authentication is not allowed before STARTTLS", "PRIVACYREQUIRED");
    }
    const info = this.#loginInfo();
    const bad = () => new ImapBad("Invalid SASL response");
    if (mechanism === "PLAIN") {
      const response = initial === null ? await this.#sasl("") : initial === "=" ? "" : initial;
      const plain = decodeSaslPlain(response);
      if (plain === null) throw bad();
      if (plain.authorizationId !== "" && plain.authorizationId !== plain.user) {
        return this.#check(await this.#auth.check("", "\0", info), plain.user);
      }
      return this.#check(await this.#auth.check(plain.user, plain.password, info), plain.user);
    }
    if (mechanism === "LOGIN") {
      const first = initial === null ? await this.#sasl(btoa("Username:")) : initial;
      const user = decodeSaslLine(first);
      if (user === null) throw bad();
      const password = decodeSaslLine(await this.#sasl(btoa("Password:")));
      if (password === null) throw bad();
      return this.#check(await this.#auth.check(user, password, info), user);
    }
    if (initial !== null) throw new ImapBad("CRAM-MD5 takes no initial response");
    const challenge = mailChallenge(this.#config.name);
    const response = decodeSaslLine(await this.#sasl(btoa(challenge)));
    if (response === null) throw bad();
    const result = await this.#auth.checkCramMd5(challenge, response);
    return this.#check(result, result.user ?? response.split(" ")[0] ?? "");
  }

  // ---- authenticated ----

  #enable(cmd: ImapCommand): Promise<void> {
    if (cmd.args.length === 0) throw new ImapBad("Missing capability names");
    if (this.#state === SELECTED) throw new ImapBad("ENABLE is not allowed after SELECT");
    const enabled: string[] = [];
    for (const arg of cmd.args) {
      const name = astring(arg, "capability").toUpperCase();
      if (name === "UTF8=ACCEPT" && !this.#utf8) {
        this.#utf8 = true;
        enabled.push("UTF8=ACCEPT");
      }
    }
    this.#untagged(`ENABLED${enabled.map((e) => ` ${e}`).join("")}`);
    return Promise.resolve();
  }

  #namespace(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 0);
    const delimiter = this.#config.store.delimiter;
    this.#untagged(`NAMESPACE (("" "${delimiter}")) NIL NIL`);
    return Promise.resolve();
  }

  #closeView(): void {
    this.#view?.close();
    this.#view = null;
    if (this.#state === SELECTED) this.#state = AUTHENTICATED;
  }

  async #select(cmd: ImapCommand, readOnly: boolean): Promise<Done> {
    argCount(cmd.args, 1);
    const folder = mailboxArg(cmd.args[0], this.#utf8);
    this.#closeView();
    const view = await this.#config.store.openView(this.#user, folder, { readOnly });
    this.#view = view;
    this.#state = SELECTED;
    const system = MAIL_SYSTEM_FLAGS.join(" ");
    const keywords = view.keywords();
    const all = keywords.length === 0 ? system : `${system} ${keywords.join(" ")}`;
    this.#untagged(`FLAGS (${all})`);
    this.#untagged(
      readOnly
        ? "OK [PERMANENTFLAGS ()] Read-only mailbox"
        : `OK [PERMANENTFLAGS (${all} \\*)] Flags permitted`,
    );
    this.#untagged(`${view.exists} EXISTS`);
    this.#untagged(`${view.recent} RECENT`);
    for (let seq = 1; seq <= view.exists; seq++) {
      if (!view.message(seq)!.flags.includes("\\Seen")) {
        this.#untagged(`OK [UNSEEN ${seq}] First unseen`);
        break;
      }
    }
    this.#untagged(`OK [UIDVALIDITY ${view.uidValidity}] UIDs valid`);
    this.#untagged(`OK [UIDNEXT ${view.uidNext}] Predicted next UID`);
    return {
      code: readOnly ? "READ-ONLY" : "READ-WRITE",
      text: `${readOnly ? "EXAMINE" : "SELECT"} completed`,
    };
  }

  async #create(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 1);
    let folder = mailboxArg(cmd.args[0], this.#utf8);
    const delimiter = this.#config.store.delimiter;
    if (folder.endsWith(delimiter) && folder.length > 1) folder = folder.slice(0, -1);
    if (folder.toUpperCase() === "INBOX") throw new ImapNo("INBOX always exists", "ALREADYEXISTS");
    await this.#config.store.createFolder(this.#user, folder);
  }

  async #delete(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 1);
    const folder = mailboxArg(cmd.args[0], this.#utf8);
    if (folder === "INBOX") throw new ImapNo("INBOX cannot be deleted", "CANNOT");
    if (this.#view?.folder === folder) this.#closeView();
    await this.#config.store.deleteFolder(this.#user, folder);
  }

  async #rename(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 2);
    const from = mailboxArg(cmd.args[0], this.#utf8);
    const to = mailboxArg(cmd.args[1], this.#utf8);
    const selected = this.#view?.folder;
    if (selected !== undefined && (selected === from || selected.startsWith(from + "."))) {
      this.#closeView();
    }
    await this.#config.store.renameFolder(this.#user, from, to);
  }

  async #subscribe(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 1);
    const folder = mailboxArg(cmd.args[0], this.#utf8);
    if (cmd.name === "SUBSCRIBE") await this.#config.store.subscribe(this.#user, folder);
    else await this.#config.store.unsubscribe(this.#user, folder);
  }

  /** LIST's reference and pattern, decoded like mailbox names. */
  #listArgs(cmd: ImapCommand): [string, string] {
    argCount(cmd.args, 2);
    const decode = (token: ImapToken | undefined, what: string) => {
      const raw = astring(token, what);
      if (raw === "") return "";
      try {
        return mailboxArg({ type: "string", value: raw }, this.#utf8);
      } catch {
        throw new ImapBad(`Invalid ${what}`);
      }
    };
    return [decode(cmd.args[0], "reference"), decode(cmd.args[1], "mailbox pattern")];
  }

  #matcher(reference: string, pattern: string): (name: string) => boolean {
    try {
      return listMatcher(reference, pattern, this.#config.store.delimiter);
    } catch {
      throw new ImapBad("Mailbox pattern too long");
    }
  }

  async #list(cmd: ImapCommand): Promise<void> {
    const [reference, pattern] = this.#listArgs(cmd);
    const delimiter = this.#config.store.delimiter;
    const quotedDelimiter = `"${delimiter}"`;
    if (pattern === "") {
      this.#untagged(`LIST (\\Noselect) ${quotedDelimiter} ""`);
      return;
    }
    const match = this.#matcher(reference, pattern);
    const folders = await this.#config.store.listFolders(this.#user);
    for (const folder of folders) {
      if (!match(folder.name)) continue;
      const attributes: string[] = [];
      if (!folder.selectable) attributes.push("\\Noselect");
      attributes.push(folder.hasChildren ? "\\HasChildren" : "\\HasNoChildren");
      const use = specialUse(folder.name, delimiter);
      if (use !== null) attributes.push(use);
      this.#untagged(
        `LIST (${attributes.join(" ")}) ${quotedDelimiter} ${
          imapMailboxName(folder.name, this.#utf8)
        }`,
      );
      await this.#out.maybeFlush();
    }
  }

  async #lsub(cmd: ImapCommand): Promise<void> {
    const [reference, pattern] = this.#listArgs(cmd);
    const delimiter = this.#config.store.delimiter;
    if (pattern === "") {
      this.#untagged(`LSUB (\\Noselect) "${delimiter}" ""`);
      return;
    }
    const match = this.#matcher(reference, pattern);
    const subscribed = new Set(await this.#config.store.listSubscriptions(this.#user));
    const out = new Map<string, boolean>();
    for (const name of subscribed) {
      if (match(name)) {
        out.set(name, true);
        continue;
      }
      // A `%` pattern lists a parent of subscribed names as \Noselect.
      const levels = name.split(delimiter);
      for (let i = 1; i < levels.length; i++) {
        const parent = levels.slice(0, i).join(delimiter);
        if (!subscribed.has(parent) && !out.has(parent) && match(parent)) out.set(parent, false);
      }
    }
    for (const name of [...out.keys()].sort()) {
      const attributes: string[] = [];
      if (!out.get(name)) attributes.push("\\Noselect");
      const use = specialUse(name, delimiter);
      if (use !== null) attributes.push(use);
      this.#untagged(
        `LSUB (${attributes.join(" ")}) "${delimiter}" ${imapMailboxName(name, this.#utf8)}`,
      );
    }
  }

  async #status(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 2);
    const folder = mailboxArg(cmd.args[0], this.#utf8);
    const list = cmd.args[1]!;
    if (list.type !== "list" || list.items.length === 0) throw new ImapBad("Invalid STATUS items");
    const names = list.items.map((item) => astring(item, "STATUS item").toUpperCase());
    const known = new Set(["MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "SIZE"]);
    for (const name of names) if (!known.has(name)) throw new ImapBad("Unknown STATUS item");
    const status = await this.#config.store.status(this.#user, folder);
    const values: Record<string, number> = {
      MESSAGES: status.messages,
      RECENT: status.recent,
      UIDNEXT: status.uidNext,
      UIDVALIDITY: status.uidValidity,
      UNSEEN: status.unseen,
      SIZE: status.size,
    };
    const items = names.map((name) => `${name} ${values[name]}`).join(" ");
    this.#untagged(`STATUS ${imapMailboxName(folder, this.#utf8)} (${items})`);
  }

  async #appendCommand(cmd: ImapCommand): Promise<Done> {
    const state = this.#append;
    const last = cmd.args[cmd.args.length - 1];
    if (state === null || state.delivery === null || last?.type !== "streamed") {
      await this.#settleAppend();
      throw new ImapBad("Invalid APPEND arguments");
    }
    this.#append = null;
    let result: MailDeliverResult;
    try {
      result = await state.delivery;
    } catch (error) {
      if (error instanceof MailStoreError) throw storeErrorResponse(error, true);
      throw error;
    }
    this.#log(`append ${state.folder} uid ${result.uid}`);
    return { text: "APPEND completed", code: `APPENDUID ${result.uidValidity} ${result.uid}` };
  }

  async #idle(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 0);
    this.#out.text("+ idling\r\n");
    if (this.#view !== null) this.#updates();
    await this.#out.flush();
    const stop = new AbortController();
    const line = this.#text.reader.readLine({
      maxLength: this.#config.maxLineLength,
      lineEnding: "any",
    });
    line.catch(() => {});
    let onStop = () => {};
    const stopped = new Promise<"stop">((resolve) => {
      onStop = () => resolve("stop");
      if (this.#info.signal.aborted) resolve("stop");
      this.#info.signal.addEventListener("abort", onStop, { once: true });
    });
    // Changes made by other programs (an MTA writing to the Maildir) are found by rescans.
    const every = this.#config.rescanInterval;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let tick: Promise<"tick"> | null = null;
    try {
      for (;;) {
        const view = this.#view;
        const changed = view === null || view.closed
          ? new Promise<never>(() => {})
          : view.changed(stop.signal).then(() => "changed" as const);
        changed.catch(() => {});
        if (tick === null && every > 0 && view !== null) {
          tick = new Promise((resolve) => (timer = setTimeout(() => resolve("tick"), every)));
        }
        const winner = await Promise.race([
          line.then(() => "line" as const),
          changed,
          stopped,
          ...(tick === null ? [] : [tick]),
        ]);
        if (winner === "stop") {
          await this.#bye("Server shutting down");
          return;
        }
        if (winner === "tick") {
          tick = null;
          await this.#rescan();
          continue;
        }
        if (winner === "changed") {
          this.#updates();
          await this.#out.flush();
          if (this.#state === LOGOUT) {
            this.#shut();
            return;
          }
          continue;
        }
        break;
      }
    } finally {
      clearTimeout(timer);
      stop.abort();
      this.#info.signal.removeEventListener("abort", onStop);
    }
    const done = await line;
    if (done === null) {
      this.#shut();
      return;
    }
    if (done.trim().toUpperCase() !== "DONE") throw new ImapBad("Expected DONE");
  }

  // ---- selected ----

  #selected(): MailboxView {
    const view = this.#view;
    if (view === null) throw new ImapBad("No mailbox selected");
    return view;
  }

  async #close(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 0);
    const view = this.#selected();
    try {
      if (!view.readOnly) await view.expunge();
    } finally {
      this.#closeView();
    }
  }

  #unselect(cmd: ImapCommand): Promise<void> {
    argCount(cmd.args, 0);
    this.#selected();
    this.#closeView();
    return Promise.resolve();
  }

  async #expunge(cmd: ImapCommand): Promise<void> {
    const view = this.#selected();
    let uids: number[] | undefined;
    if (cmd.name === "UID EXPUNGE") {
      argCount(cmd.args, 1);
      const ranges = parseSequenceSet(cmd.args[0]);
      uids = resolveUidSet(ranges, view.uids).map((seq) => view.uidAt(seq)!);
    } else argCount(cmd.args, 0);
    if (view.readOnly) throw new ImapNo("Mailbox is read-only");
    const seqs = await view.expunge(uids);
    for (const seq of seqs) {
      this.#untagged(`${seq} EXPUNGE`);
      await this.#out.maybeFlush();
    }
  }

  /** The sequence numbers a command's set names. */
  #targets(view: MailboxView, token: ImapToken | undefined, uid: boolean): number[] {
    const ranges = parseSequenceSet(token);
    return uid ? resolveUidSet(ranges, view.uids) : resolveSequenceSet(ranges, view.exists);
  }

  async #search(cmd: ImapCommand): Promise<void> {
    const view = this.#selected();
    const key = parseSearch(cmd.args);
    const { seqs, missing } = await runSearch({
      view,
      cache: this.#config.cache,
      signal: this.#info.signal,
    }, key);
    const uid = cmd.name === "UID SEARCH";
    const numbers = uid ? seqs.map((seq) => view.uidAt(seq)!) : seqs;
    let line = "* SEARCH";
    for (const n of numbers) {
      line += ` ${n}`;
      if (line.length > 60000) {
        this.#out.binary(line);
        line = "";
      }
    }
    this.#out.binary(line + "\r\n");
    if (missing) throw new ImapNo("Some messages were expunged meanwhile", "EXPUNGEISSUED");
  }

  async #fetch(cmd: ImapCommand): Promise<Done | void> {
    const view = this.#selected();
    argCount(cmd.args, 2);
    const uid = cmd.name === "UID FETCH";
    const seqs = this.#targets(view, cmd.args[0], uid);
    const request = parseFetchItems(cmd.args[1], uid);
    let changed = new Set<number>();
    if (request.setsSeen && !view.readOnly) {
      const unseen = seqs.map((seq) => view.message(seq)!).filter((m) =>
        !m.flags.includes("\\Seen")
      );
      if (unseen.length > 0) {
        const infos = await view.setFlags(unseen.map((m) => m.uid), ["\\Seen"], { mode: "add" });
        changed = new Set(infos.map((i) => i.uid));
      }
    }
    const ctx = { view, cache: this.#config.cache, out: this.#out };
    const missing = await runFetch(ctx, seqs, request, changed, () => !this.#closed);
    if (missing > 0) throw new ImapNo("Some messages were expunged meanwhile", "EXPUNGEISSUED");
  }

  async #store(cmd: ImapCommand): Promise<void> {
    const view = this.#selected();
    if (cmd.args.length < 3) throw new ImapBad("Missing arguments");
    const uid = cmd.name === "UID STORE";
    const seqs = this.#targets(view, cmd.args[0], uid);
    const item = astring(cmd.args[1], "STORE item").toUpperCase();
    const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
    if (m === null) throw new ImapBad("Invalid STORE item");
    const mode: MailFlagMode = m[1] === "+" ? "add" : m[1] === "-" ? "remove" : "replace";
    const flags = flagList(cmd.args.slice(2));
    if (view.readOnly) throw new ImapNo("Mailbox is read-only");
    const uids = seqs.map((seq) => view.uidAt(seq)!);
    if (uids.length > 0) await view.setFlags(uids, flags, { mode });
    if (m[2] === undefined) {
      for (const seq of seqs) {
        const info = view.message(seq);
        if (info !== undefined) writeFlags(this.#out, view, seq, info, uid);
        await this.#out.maybeFlush();
      }
    }
  }

  async #copy(cmd: ImapCommand): Promise<Done | void> {
    const view = this.#selected();
    argCount(cmd.args, 2);
    const seqs = this.#targets(view, cmd.args[0], cmd.name === "UID COPY");
    const folder = mailboxArg(cmd.args[1], this.#utf8);
    const uids = seqs.map((seq) => view.uidAt(seq)!);
    let result;
    try {
      result = await this.#config.store.copy(this.#user, view.folder, uids, folder);
    } catch (error) {
      if (error instanceof MailStoreError) throw storeErrorResponse(error, true);
      throw error;
    }
    if (result.sourceUids.length === 0) return;
    return {
      text: "COPY completed",
      code: `COPYUID ${result.uidValidity} ${formatSet(result.sourceUids)} ${
        formatSet(result.destinationUids)
      }`,
    };
  }

  async #move(cmd: ImapCommand): Promise<void> {
    const view = this.#selected();
    argCount(cmd.args, 2);
    const seqs = this.#targets(view, cmd.args[0], cmd.name === "UID MOVE");
    const folder = mailboxArg(cmd.args[1], this.#utf8);
    if (view.readOnly) throw new ImapNo("Mailbox is read-only");
    const uids = seqs.map((seq) => view.uidAt(seq)!);
    if (uids.length === 0) return;
    let result;
    try {
      result = await view.move(uids, folder);
    } catch (error) {
      if (error instanceof MailStoreError) throw storeErrorResponse(error, true);
      throw error;
    }
    if (result.sourceUids.length > 0) {
      this.#untagged(
        `OK [COPYUID ${result.uidValidity} ${formatSet(result.sourceUids)} ${
          formatSet(result.destinationUids)
        }] Moved`,
      );
    }
    for (const seq of result.expunged) {
      this.#untagged(`${seq} EXPUNGE`);
      await this.#out.maybeFlush();
    }
  }
}

/** Thrown by STARTTLS after its tagged OK was sent: the command needs no further answer. */
class TlsStarted extends Error {}

/** Whether untagged EXPUNGE (and the rest of a sync) may follow this command (RFC 3501 §7.4.1). */
function allowsUpdates(name: string): boolean {
  return name !== "FETCH" && name !== "STORE" && name !== "SEARCH" && name !== "LOGOUT";
}

function isConnectionError(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.Interrupted ||
    (error instanceof ProtocolError && error.code === "UNEXPECTED_EOF") ||
    (error instanceof TypeError && /closed|released/i.test(error.message));
}
