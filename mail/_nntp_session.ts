/**
 * One connection of {@linkcode NntpServer}: the RFC 3977 reader commands
 * over a {@linkcode NewsSpool}, STARTTLS (RFC 4642), AUTHINFO USER/PASS
 * (RFC 4643), POST and IHAVE.
 *
 * @module
 */
import { DotStuffedReader } from "../net/dot_stuffing.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { formatReply } from "../net/reply_writer.ts";
import { startTlsServer } from "../net/start_tls_server.ts";
import type { TcpConnectionInfo } from "../net/tcp_server.ts";
import { TextConn } from "../net/text_conn.ts";
import {
  formatNntpTimestamp,
  isGroupName,
  isMessageId,
  MAX_ARTICLE_NUMBER,
  parseNntpDateTime,
} from "./_nntp_args.ts";
import { overviewValue, SERVER_OVERVIEW_FORMAT } from "./_nntp_overview.ts";
import { compileWildmat } from "./_nntp_wildmat.ts";
import type { NewsSpool, NewsSpoolEntry } from "./news_spool.ts";

/** The server settings a session needs. */
export interface NntpSessionConfig {
  spool: NewsSpool;
  serverName: string;
  cert: string | undefined;
  key: string | undefined;
  /** Whether STARTTLS is offered (a certificate, and no implicit TLS). */
  startTls: boolean;
  checkPassword: ((user: string, password: string) => Promise<boolean>) | null;
  requireAuth: boolean;
  allowInsecureAuth: boolean;
  allowPosting: boolean;
  allowIhave: boolean;
  maxLineLength: number;
  maxArticleSize: number;
  maxArticleLineLength: number;
  maxHeaderSize: number;
  maxAuthFailures: number;
  log: ((line: string) => void) | undefined;
  onError: (error: unknown) => void;
}

const encoder = new TextEncoder();
const LF = 10;
const CR = 13;
const DOT = 46;
const DOT_LINE = encoder.encode(".\r\n");
const FLUSH_AT = 65536;
// deno-lint-ignore no-control-regex
const UNSAFE_REGEXP = /[\r\n\x00]/;
const OVERVIEW_FIELDS = new Set([
  "subject",
  "from",
  "date",
  "message-id",
  "references",
  "xref",
  ":bytes",
  ":lines",
]);
const BEFORE_AUTH = new Set([
  "CAPABILITIES",
  "MODE",
  "AUTHINFO",
  "STARTTLS",
  "QUIT",
  "HELP",
  "DATE",
]);
const HELP_LINES = [
  "ARTICLE [message-id|number]",
  "AUTHINFO USER name|PASS password",
  "BODY [message-id|number]",
  "CAPABILITIES",
  "DATE",
  "GROUP newsgroup",
  "HDR header [message-id|range]",
  "HEAD [message-id|number]",
  "HELP",
  "IHAVE message-id",
  "LAST",
  "LIST [ACTIVE [wildmat]|ACTIVE.TIMES [wildmat]|HEADERS|NEWSGROUPS [wildmat]|OVERVIEW.FMT]",
  "LISTGROUP [newsgroup [range]]",
  "MODE READER",
  "NEWGROUPS [yy]yymmdd hhmmss [GMT]",
  "NEWNEWS wildmat [yy]yymmdd hhmmss [GMT]",
  "NEXT",
  "OVER [range|message-id]",
  "POST",
  "QUIT",
  "STARTTLS",
  "STAT [message-id|number]",
  "XHDR header [message-id|range]",
  "XOVER [range]",
];

/** Why a session ends early: the connection is closed after the reply. */
class EndSession extends Error {}

/** One client connection. */
export class NntpSession {
  #config: NntpSessionConfig;
  #text: TextConn;
  #info: TcpConnectionInfo;
  #remote: string;
  #loopback: boolean;
  #group: string | null = null;
  #article: number | null = null;
  #user: string | null = null;
  #pendingUser: string | null = null;
  #authFailures = 0;
  #waiting = false;
  #writing = 0;
  /** Shutdown began while a command ran: say 400 after it. */
  #ending = false;
  /** A last line was said (timeout, shutdown while waiting). */
  #closing = false;

  constructor(config: NntpSessionConfig, conn: Deno.Conn, info: TcpConnectionInfo) {
    this.#config = config;
    this.#info = info;
    this.#text = new TextConn(conn, { progress: info.deadline });
    this.#remote = info.remoteAddr.hostname;
    this.#loopback = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/.test(this.#remote);
  }

  /** Serves the connection until QUIT, EOF, a timeout or shutdown. */
  async run(): Promise<void> {
    const deadline = this.#info.deadline;
    deadline.onExpire = () => this.#goodbye("400 Idle timeout, closing connection\r\n");
    const onShutdown = () => {
      if (this.#waiting) this.#goodbye("400 Server shutting down\r\n");
      else this.#ending = true;
    };
    this.#info.signal.addEventListener("abort", onShutdown, { once: true });
    try {
      const posting = this.#config.allowPosting;
      await this.#reply(
        posting ? 200 : 201,
        `${this.#config.serverName} inetkit NNTP server ready (${
          posting ? "posting ok" : "no posting"
        })`,
      );
      while (!this.#ending && !this.#closing) {
        const line = await this.#readCommand();
        if (line === null) break;
        try {
          await this.#dispatch(line);
        } catch (error) {
          if (error instanceof EndSession) break;
          if (this.#text.closed) break;
          // A server never shows internal errors to a client.
          this.#config.onError(error);
          await this.#reply(403, "Internal fault, please try again");
        }
      }
      if (this.#ending && !this.#closing && !this.#text.closed) {
        await this.#reply(400, "Server shutting down");
      }
    } catch (error) {
      if (!this.#text.closed && !isDisconnect(error)) this.#config.onError(error);
    } finally {
      this.#info.signal.removeEventListener("abort", onShutdown);
      this.#text.close();
    }
  }

  // ---- reading commands ----------------------------------------------------

  async #readCommand(): Promise<string | null> {
    const reader = this.#text.reader;
    const max = this.#config.maxLineLength;
    for (;;) {
      this.#waiting = true;
      let bytes: Uint8Array | null;
      try {
        bytes = await reader.readLineBytes({ maxLength: max });
      } catch (error) {
        if (error instanceof ProtocolError && error.code === "LINE_TOO_LONG") {
          this.#waiting = false;
          if (!(await skipLine(this.#text, 1 << 20))) {
            await this.#reply(501, "Command line too long");
            return null;
          }
          await this.#reply(501, "Command line too long");
          continue;
        }
        if (error instanceof ProtocolError || isDisconnect(error) || this.#text.closed) return null;
        throw error;
      } finally {
        this.#waiting = false;
      }
      if (bytes === null) return null;
      if (bytes.includes(0)) {
        await this.#reply(501, "Command contains NUL");
        continue;
      }
      const line = new TextDecoder().decode(bytes).trim();
      if (line === "") continue;
      return line;
    }
  }

  async #dispatch(line: string): Promise<void> {
    const words = line.split(/[ \t]+/);
    const verb = words[0]!.toUpperCase();
    const args = words.slice(1);
    this.#log(
      verb === "AUTHINFO" && args[0]?.toUpperCase() === "PASS" ? "AUTHINFO PASS ****" : line,
    );
    if (this.#config.requireAuth && this.#user === null && !BEFORE_AUTH.has(verb)) {
      await this.#reply(480, "Authentication required");
      return;
    }
    switch (verb) {
      case "CAPABILITIES":
        return await this.#capabilities(args);
      case "MODE":
        return await this.#mode(args);
      case "QUIT":
        await this.#reply(205, "Closing connection");
        throw new EndSession();
      case "DATE":
        return await this.#reply(111, formatNntpTimestamp(new Date()));
      case "HELP":
        return await this.#block(100, "Help text follows", HELP_LINES);
      case "STARTTLS":
        return await this.#starttls(args);
      case "AUTHINFO":
        return await this.#authinfo(args);
      case "LIST":
        return await this.#list(args);
      case "GROUP":
        return await this.#groupCommand(args);
      case "LISTGROUP":
        return await this.#listgroup(args);
      case "NEXT":
      case "LAST":
        return await this.#move(verb, args);
      case "ARTICLE":
      case "HEAD":
      case "BODY":
      case "STAT":
        return await this.#retrieve(verb, args);
      case "OVER":
      case "XOVER":
        return await this.#over(verb, args);
      case "HDR":
      case "XHDR":
        return await this.#hdr(verb, args);
      case "NEWGROUPS":
        return await this.#newgroups(args);
      case "NEWNEWS":
        return await this.#newnews(args);
      case "POST":
        return await this.#post(args);
      case "IHAVE":
        return await this.#ihave(args);
      default:
        return await this.#reply(500, "Unknown command");
    }
  }

  // ---- commands ------------------------------------------------------------

  async #capabilities(args: string[]): Promise<void> {
    if (args.length > 1) return await this.#reply(501, "Syntax: CAPABILITIES [keyword]");
    const caps = ["VERSION 2", "IMPLEMENTATION inetkit", "READER", "HDR", "NEWNEWS", "OVER MSGID"];
    caps.push("LIST ACTIVE ACTIVE.TIMES HEADERS NEWSGROUPS OVERVIEW.FMT");
    if (this.#config.allowPosting) caps.push("POST");
    if (this.#config.allowIhave) caps.push("IHAVE");
    if (this.#config.startTls && !this.#text.tls && this.#user === null) caps.push("STARTTLS");
    if (this.#config.checkPassword !== null && this.#user === null && this.#authAllowed()) {
      caps.push("AUTHINFO USER");
    }
    await this.#block(101, "Capability list:", caps);
  }

  async #mode(args: string[]): Promise<void> {
    if (args.length !== 1 || args[0]!.toUpperCase() !== "READER") {
      return await this.#reply(501, "Unknown MODE variant");
    }
    const posting = this.#config.allowPosting;
    await this.#reply(posting ? 200 : 201, posting ? "Posting allowed" : "Posting prohibited");
  }

  async #starttls(args: string[]): Promise<void> {
    if (args.length > 0) return await this.#reply(501, "Syntax: STARTTLS");
    if (!this.#config.startTls || this.#text.tls) {
      return await this.#reply(502, "STARTTLS not available");
    }
    if (this.#user !== null) return await this.#reply(502, "Already authenticated");
    await this.#reply(382, "Continue with TLS negotiation");
    let plain;
    try {
      plain = this.#text.detach();
    } catch {
      // Commands pipelined after STARTTLS would run inside TLS: refuse.
      throw new EndSession();
    }
    try {
      const tls = await startTlsServer(plain, {
        cert: this.#config.cert!,
        key: this.#config.key!,
        signal: this.#info.signal,
      });
      this.#text.adoptTls(tls);
    } catch {
      throw new EndSession();
    }
    this.#group = null;
    this.#article = null;
    this.#pendingUser = null;
  }

  #authAllowed(): boolean {
    return this.#text.tls || this.#loopback || this.#config.allowInsecureAuth;
  }

  async #authinfo(args: string[]): Promise<void> {
    const kind = args[0]?.toUpperCase();
    if (kind === "SASL") return await this.#reply(503, "SASL is not supported");
    if ((kind !== "USER" && kind !== "PASS") || args.length < 2) {
      return await this.#reply(501, "Syntax: AUTHINFO USER name|PASS password");
    }
    if (this.#config.checkPassword === null) {
      return await this.#reply(502, "Authentication is not available");
    }
    if (this.#user !== null) return await this.#reply(502, "Already authenticated");
    if (!this.#authAllowed()) return await this.#reply(483, "Encryption required");
    // The argument is the rest of the line (it may hold spaces).
    const value = args.slice(1).join(" ");
    if (kind === "USER") {
      this.#pendingUser = value;
      return await this.#reply(381, "Password required");
    }
    const user = this.#pendingUser;
    if (user === null) {
      return await this.#reply(482, "Authentication commands issued out of sequence");
    }
    this.#pendingUser = null;
    if (await this.#config.checkPassword(user, value)) {
      this.#user = user;
      return await this.#reply(281, "Authentication accepted");
    }
    if (++this.#authFailures >= this.#config.maxAuthFailures) {
      await this.#reply(481, "Authentication failed, closing connection");
      throw new EndSession();
    }
    await this.#reply(481, "Authentication failed");
  }

  async #list(args: string[]): Promise<void> {
    const keyword = (args[0] ?? "ACTIVE").toUpperCase();
    const spool = this.#config.spool;
    const pattern = args[1];
    if (args.length > 2) return await this.#reply(501, "Syntax: LIST [keyword [wildmat]]");
    let match: (name: string) => boolean = () => true;
    if (pattern !== undefined && keyword !== "HEADERS") {
      const compiled = compileWildmat(pattern);
      if (compiled === null) return await this.#reply(501, "Bad wildmat");
      match = compiled;
    }
    switch (keyword) {
      case "ACTIVE":
        return await this.#block(
          215,
          'Newsgroups in form "group high low status"',
          spool.groups().filter((g) => match(g.name)).map((g) =>
            `${g.name} ${g.high} ${g.low} ${this.#config.allowPosting ? g.status : "n"}`
          ),
        );
      case "ACTIVE.TIMES":
        return await this.#block(
          215,
          "Newsgroup creation times follow",
          spool.groups().filter((g) => match(g.name)).map((g) =>
            `${g.name} ${Math.floor(g.created.getTime() / 1000)} inetkit`
          ),
        );
      case "NEWSGROUPS":
        return await this.#block(
          215,
          "Newsgroup descriptions follow",
          spool.groups().filter((g) => match(g.name)).map((g) =>
            `${g.name}\t${overviewValue(g.description)}`
          ),
        );
      case "OVERVIEW.FMT":
        if (pattern !== undefined) return await this.#reply(501, "Syntax: LIST OVERVIEW.FMT");
        return await this.#block(
          215,
          "Order of fields in overview database",
          SERVER_OVERVIEW_FORMAT,
        );
      case "HEADERS":
        if (pattern !== undefined && !/^(MSGID|RANGE)$/i.test(pattern)) {
          return await this.#reply(501, "Syntax: LIST HEADERS [MSGID|RANGE]");
        }
        return await this.#block(215, "Headers and metadata items supported", [
          ":",
          ":bytes",
          ":lines",
        ]);
      default:
        return await this.#reply(501, `Unknown LIST keyword ${keyword}`);
    }
  }

  async #groupCommand(args: string[]): Promise<void> {
    if (args.length !== 1) return await this.#reply(501, "Syntax: GROUP newsgroup");
    const name = args[0]!;
    const group = isGroupName(name) ? this.#config.spool.group(name) : undefined;
    if (group === undefined) return await this.#reply(411, `No such newsgroup ${sanitize(name)}`);
    this.#group = name;
    this.#article = group.count > 0 ? group.low : null;
    await this.#reply(211, `${group.count} ${group.low} ${group.high} ${name}`);
  }

  async #listgroup(args: string[]): Promise<void> {
    if (args.length > 2) return await this.#reply(501, "Syntax: LISTGROUP [newsgroup [range]]");
    const name = args[0] ?? this.#group;
    if (name === null) return await this.#reply(412, "No newsgroup selected");
    const group = isGroupName(name) ? this.#config.spool.group(name) : undefined;
    if (group === undefined) return await this.#reply(411, `No such newsgroup ${sanitize(name)}`);
    let from = 0;
    let to = Number.MAX_SAFE_INTEGER;
    if (args[1] !== undefined) {
      const range = parseRange(args[1]);
      if (range === null) return await this.#reply(501, "Bad range");
      [from, to] = range;
    }
    this.#group = name;
    this.#article = group.count > 0 ? group.low : null;
    const numbers = this.#config.spool.numbers(name, from, to).map(String);
    await this.#block(
      211,
      `${group.count} ${group.low} ${group.high} ${name} list follows`,
      numbers,
    );
  }

  async #move(verb: "NEXT" | "LAST", args: string[]): Promise<void> {
    if (args.length > 0) return await this.#reply(501, `Syntax: ${verb}`);
    if (this.#group === null) return await this.#reply(412, "No newsgroup selected");
    if (this.#article === null) return await this.#reply(420, "No current article selected");
    const spool = this.#config.spool;
    const number = verb === "NEXT"
      ? spool.nextNumber(this.#group, this.#article)
      : spool.previousNumber(this.#group, this.#article);
    if (number === undefined) {
      return await this.#reply(
        verb === "NEXT" ? 421 : 422,
        verb === "NEXT" ? "No next article in this group" : "No previous article in this group",
      );
    }
    this.#article = number;
    const entry = spool.article(this.#group, number)!;
    await this.#reply(223, `${number} ${entry.messageId} Article found`);
  }

  /** Resolves an ARTICLE/HEAD/BODY/STAT argument; null after answering an error. */
  async #select(args: string[]): Promise<{ number: number; entry: NewsSpoolEntry } | null> {
    const spool = this.#config.spool;
    if (args.length > 1) {
      await this.#reply(501, "Syntax: [message-id|number]");
      return null;
    }
    const arg = args[0];
    if (arg !== undefined && arg.startsWith("<")) {
      const entry = isMessageId(arg) ? spool.byMessageId(arg) : undefined;
      if (entry === undefined) {
        await this.#reply(430, "No article with that message-id");
        return null;
      }
      return { number: 0, entry };
    }
    if (arg !== undefined && !/^\d{1,10}$/.test(arg)) {
      await this.#reply(501, "Syntax: [message-id|number]");
      return null;
    }
    if (this.#group === null) {
      await this.#reply(412, "No newsgroup selected");
      return null;
    }
    const number = arg === undefined ? this.#article : Number(arg);
    if (number === null) {
      await this.#reply(420, "No current article selected");
      return null;
    }
    const entry = spool.article(this.#group, number);
    if (entry === undefined) {
      await this.#reply(arg === undefined ? 420 : 423, "No article with that number");
      return null;
    }
    this.#article = number;
    return { number, entry };
  }

  async #retrieve(verb: "ARTICLE" | "HEAD" | "BODY" | "STAT", args: string[]): Promise<void> {
    const selected = await this.#select(args);
    if (selected === null) return;
    const { number, entry } = selected;
    if (verb === "STAT") return await this.#reply(223, `${number} ${entry.messageId}`);
    const code = verb === "ARTICLE" ? 220 : verb === "HEAD" ? 221 : 222;
    const part = verb === "ARTICLE" ? "article" : verb === "HEAD" ? "head" : "body";
    const stream = await this.#config.spool.read(entry, part);
    const status = encoder.encode(formatReply(code, `${number} ${entry.messageId}`));
    const reader = stream.getReader();
    const batch = new Batch(this);
    batch.add(status);
    let lineStart = true;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        batch.add(dotStuff(value, lineStart));
        lineStart = value[value.length - 1] === LF;
        await batch.flushIfFull();
      }
    } catch (error) {
      // The response is cut off: the client must not read a short article as whole.
      this.#config.onError(error);
      this.#text.close();
      throw new EndSession();
    } finally {
      reader.releaseLock();
      await stream.cancel().catch(() => {});
    }
    batch.add(DOT_LINE);
    await batch.flush();
  }

  /** Resolves an OVER/HDR argument into articles; null after answering an error. */
  async #selectMany(
    args: string[],
    byMessageId: boolean,
  ): Promise<[number, NewsSpoolEntry][] | null> {
    const spool = this.#config.spool;
    const arg = args[0];
    if (arg !== undefined && arg.startsWith("<")) {
      if (!byMessageId) {
        await this.#reply(501, "Message-ids are not allowed here");
        return null;
      }
      const entry = isMessageId(arg) ? spool.byMessageId(arg) : undefined;
      if (entry === undefined) {
        await this.#reply(430, "No article with that message-id");
        return null;
      }
      return [[0, entry]];
    }
    if (this.#group === null) {
      await this.#reply(412, "No newsgroup selected");
      return null;
    }
    const group = this.#group;
    if (arg === undefined) {
      if (this.#article === null) {
        await this.#reply(420, "No current article selected");
        return null;
      }
      const entry = spool.article(group, this.#article);
      if (entry === undefined) {
        await this.#reply(420, "No current article selected");
        return null;
      }
      return [[this.#article, entry]];
    }
    const range = parseRange(arg);
    if (range === null) {
      await this.#reply(501, "Bad range");
      return null;
    }
    const numbers = spool.numbers(group, range[0], range[1]);
    if (numbers.length === 0) {
      await this.#reply(423, "No articles in that range");
      return null;
    }
    return numbers.map((n) => [n, spool.article(group, n)!]);
  }

  async #over(verb: "OVER" | "XOVER", args: string[]): Promise<void> {
    if (args.length > 1) return await this.#reply(501, `Syntax: ${verb} [range|message-id]`);
    const selected = await this.#selectMany(args, verb === "OVER");
    if (selected === null) return;
    await this.#block(224, "Overview information follows", overviewLines(selected));
  }

  async #hdr(verb: "HDR" | "XHDR", args: string[]): Promise<void> {
    if (args.length < 1 || args.length > 2) {
      return await this.#reply(501, `Syntax: ${verb} header [range|message-id]`);
    }
    const field = args[0]!.toLowerCase();
    if (!/^:?[\x21-\x39\x3b-\x7e]+$/.test(field)) return await this.#reply(501, "Bad header name");
    const selected = await this.#selectMany(args.slice(1), true);
    if (selected === null) return;
    const lines: string[] = [];
    for (const [n, entry] of selected) {
      lines.push(`${n} ${await this.#headerValue(entry, field)}`);
    }
    await this.#block(verb === "HDR" ? 225 : 221, "Headers follow", lines);
  }

  async #headerValue(entry: NewsSpoolEntry, field: string): Promise<string> {
    if (OVERVIEW_FIELDS.has(field)) {
      switch (field) {
        case "subject":
          return entry.subject;
        case "from":
          return entry.from;
        case "date":
          return entry.date;
        case "message-id":
          return entry.messageId;
        case "references":
          return entry.references;
        case "xref":
          return entry.xref;
        case ":bytes":
          return String(entry.size);
        default:
          return String(entry.lines);
      }
    }
    if (field.startsWith(":")) return "";
    const fields = await this.#config.spool.headers(entry);
    const found = fields.find((f) => f.name.toLowerCase() === field);
    return found === undefined ? "" : overviewValue(found.value);
  }

  async #newgroups(args: string[]): Promise<void> {
    const since = parseSince(args, 0);
    if (since === null) return await this.#reply(501, "Syntax: NEWGROUPS [yy]yymmdd hhmmss [GMT]");
    const groups = this.#config.spool.groupsSince(since);
    await this.#block(
      231,
      "List of new newsgroups follows",
      groups.map((g) => `${g.name} ${g.high} ${g.low} ${g.status}`),
    );
  }

  async #newnews(args: string[]): Promise<void> {
    const since = parseSince(args, 1);
    const match = args[0] === undefined ? null : compileWildmat(args[0]);
    if (since === null || match === null) {
      return await this.#reply(501, "Syntax: NEWNEWS wildmat [yy]yymmdd hhmmss [GMT]");
    }
    const entries = this.#config.spool.articlesSince(since, match);
    await this.#block(230, "List of new articles follows", entries.map((e) => e.messageId));
  }

  async #post(args: string[]): Promise<void> {
    if (args.length > 0) return await this.#reply(501, "Syntax: POST");
    if (!this.#config.allowPosting) return await this.#reply(440, "Posting not permitted");
    await this.#reply(340, "Input article; end with <CR-LF>.<CR-LF>");
    const outcome = await this.#receive({});
    if (outcome.ok) {
      await this.#reply(240, `Article received ${outcome.entry.messageId}`);
    } else {
      await this.#reply(441, outcome.reason);
      if (outcome.close) throw new EndSession();
    }
  }

  async #ihave(args: string[]): Promise<void> {
    if (args.length !== 1 || !isMessageId(args[0]!)) {
      return await this.#reply(501, "Syntax: IHAVE message-id");
    }
    const messageId = args[0]!;
    if (!this.#config.allowIhave) return await this.#reply(502, "Transfer not permitted");
    if (this.#config.spool.has(messageId)) return await this.#reply(435, "Duplicate");
    await this.#reply(335, "Send it; end with <CR-LF>.<CR-LF>");
    const outcome = await this.#receive({ messageId, relayed: true });
    if (outcome.ok) {
      await this.#reply(235, "Article transferred OK");
    } else {
      await this.#reply(outcome.internal ? 436 : 437, outcome.reason);
      if (outcome.close) throw new EndSession();
    }
  }

  /**
   * Reads an article off the wire into the spool. Only CR LF `.` CR LF
   * ends it; what follows a refusal is read and discarded to the dot line,
   * so the session stays in step (or is closed past the drain limit).
   */
  async #receive(options: { messageId?: string; relayed?: boolean }): Promise<
    | { ok: true; entry: NewsSpoolEntry }
    | { ok: false; reason: string; close: boolean; internal: boolean }
  > {
    const config = this.#config;
    const source = new DotStuffedReader(this.#text.reader, {
      lineEnding: "crlf",
      maxLineLength: config.maxArticleLineLength,
      maxSize: config.maxArticleSize,
    });
    try {
      const entry = await config.spool.store(source, {
        maxSize: config.maxArticleSize,
        maxHeaderSize: config.maxHeaderSize,
        messageId: options.messageId,
        relayed: options.relayed,
      });
      return { ok: true, entry };
    } catch (error) {
      if (error instanceof ProtocolError && error.code === "UNEXPECTED_EOF") throw new EndSession();
      if (isDisconnect(error) || this.#text.closed) throw new EndSession();
      const known = error instanceof ProtocolError;
      if (!known) config.onError(error);
      let inSync = source.done;
      if (!inSync) {
        try {
          inSync = await drainToDotLine(this.#text, config.maxArticleSize + (1 << 20));
        } catch {
          throw new EndSession();
        }
      }
      const reason = !known
        ? "Posting failed"
        : error.code === "LINE_TOO_LONG"
        ? `Article line exceeds ${config.maxArticleLineLength} bytes`
        : error.code === "BODY_TOO_LARGE"
        ? `Article exceeds ${config.maxArticleSize} bytes`
        : wireText(error.message);
      return { ok: false, reason, close: !inSync, internal: !known };
    }
  }

  // ---- writing -------------------------------------------------------------

  async #reply(code: number, text: string): Promise<void> {
    await this.write(encoder.encode(formatReply(code, sanitize(text))));
  }

  /** A status line and a dot-terminated block of lines, written in batches. */
  async #block(code: number, text: string, lines: Iterable<string>): Promise<void> {
    let out = formatReply(code, sanitize(text));
    for (const line of lines) {
      const safe = UNSAFE_REGEXP.test(line) ? sanitize(line) : line;
      out += safe.charCodeAt(0) === DOT ? `.${safe}\r\n` : `${safe}\r\n`;
      if (out.length >= FLUSH_AT) {
        await this.write(encoder.encode(out));
        out = "";
      }
    }
    out += ".\r\n";
    await this.write(encoder.encode(out));
  }

  /** Writes bytes to the client. */
  async write(bytes: Uint8Array): Promise<void> {
    this.#writing++;
    try {
      await this.#text.writer.write(bytes);
    } finally {
      this.#writing--;
    }
  }

  /** Says a last line (unless a write is stuck) and closes the connection. */
  #goodbye(line: string): void {
    if (this.#text.closed) return;
    if (this.#writing > 0) {
      this.#text.close();
      return;
    }
    this.#closing = true;
    const timer = setTimeout(() => this.#text.close(), 1000);
    this.#text.writer.write(encoder.encode(line)).catch(() => {}).finally(() => {
      clearTimeout(timer);
      this.#text.close();
    });
  }

  #log(line: string): void {
    this.#config.log?.(`${this.#remote} ${sanitize(line)}`);
  }
}

/** The OVER lines of some articles, made as they are written. */
function* overviewLines(selected: [number, NewsSpoolEntry][]): Generator<string> {
  for (const [n, e] of selected) {
    yield `${n}\t${e.subject}\t${e.from}\t${e.date}\t${e.messageId}\t${e.references}\t${e.size}\t${e.lines}\tXref: ${e.xref}`;
  }
}

/** Collects small writes into one. */
class Batch {
  #session: NntpSession;
  #parts: Uint8Array[] = [];
  #size = 0;

  constructor(session: NntpSession) {
    this.#session = session;
  }

  add(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#parts.push(bytes);
    this.#size += bytes.length;
  }

  async flushIfFull(): Promise<void> {
    if (this.#size >= FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#size === 0) return;
    const parts = this.#parts;
    const out = parts.length === 1 ? parts[0]! : new Uint8Array(this.#size);
    if (parts.length > 1) {
      let at = 0;
      for (const part of parts) {
        out.set(part, at);
        at += part.length;
      }
    }
    this.#parts = [];
    this.#size = 0;
    await this.#session.write(out);
  }
}

/**
 * Dot-stuffs CR LF text (the spool refuses bare CR and LF): a dot at the
 * start of a line is doubled. `lineStart` tells whether the chunk starts a line.
 */
export function dotStuff(chunk: Uint8Array, lineStart: boolean): Uint8Array {
  let extra = lineStart && chunk[0] === DOT ? 1 : 0;
  for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
    if (chunk[i + 1] === DOT) extra++;
  }
  if (extra === 0) return chunk;
  const out = new Uint8Array(chunk.length + extra);
  let o = 0;
  let from = 0;
  if (lineStart && chunk[0] === DOT) out[o++] = DOT;
  for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
    if (chunk[i + 1] !== DOT) continue;
    out.set(chunk.subarray(from, i + 1), o);
    o += i + 1 - from;
    out[o++] = DOT;
    from = i + 1;
  }
  out.set(chunk.subarray(from), o);
  return out;
}

/**
 * Discards bytes up to and including CR LF `.` CR LF (the reader is at a
 * line start), at most `limit` bytes; false when the limit was reached.
 */
export async function drainToDotLine(text: TextConn, limit: number): Promise<boolean> {
  const reader = text.reader;
  // Bytes of CR LF . CR LF matched so far; at a line start, as if CR LF was seen.
  let state = 2;
  let seen = 0;
  for (;;) {
    const buf = reader.peekBuffered();
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i]!;
      if (state === 4 && b === LF) {
        reader.consume(i + 1);
        return true;
      }
      if (b === CR) state = state === 3 ? 4 : 1;
      else if (b === LF) state = state === 1 ? 2 : 0;
      else if (b === DOT) state = state === 2 ? 3 : 0;
      else state = 0;
    }
    seen += buf.length;
    reader.consume(buf.length);
    if (seen > limit) return false;
    if (!(await reader.fill())) return false;
  }
}

/** Skips the rest of an over-long line; false when it goes on past `limit`. */
async function skipLine(text: TextConn, limit: number): Promise<boolean> {
  const reader = text.reader;
  let seen = 0;
  for (;;) {
    const buf = reader.peekBuffered();
    const lf = buf.indexOf(LF);
    if (lf >= 0) {
      reader.consume(lf + 1);
      return true;
    }
    seen += buf.length;
    reader.consume(buf.length);
    if (seen > limit) return false;
    if (!(await reader.fill())) return false;
  }
}

/** Parses `n`, `n-` or `n-m`. */
function parseRange(text: string): [number, number] | null {
  const match = /^(\d{1,10})(-(\d{1,10})?)?$/.exec(text);
  if (match === null) return null;
  const from = Number(match[1]);
  const to = match[2] === undefined
    ? from
    : match[3] === undefined
    ? MAX_ARTICLE_NUMBER
    : Number(match[3]);
  return [from, to];
}

/** The date of NEWGROUPS/NEWNEWS at `args[at]`, `args[at + 1]` and an optional GMT. */
function parseSince(args: string[], at: number): Date | null {
  const rest = args.slice(at);
  if (rest.length < 2 || rest.length > 3) return null;
  if (rest.length === 3 && rest[2]!.toUpperCase() !== "GMT") return null;
  return parseNntpDateTime(rest[0]!, rest[1]!);
}

/** Removes CR, LF and NUL from text going on the wire. */
function sanitize(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\r\n\x00]/g, " ");
}

/** A refusal's message as wire text: "Cannot store article: the X" becomes "The X". */
function wireText(message: string): string {
  const text = message.replace(/^Cannot store article: /, "");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected ||
    (error instanceof TypeError && /closed|released/i.test(error.message));
}
