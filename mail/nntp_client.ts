import { concatBytes } from "../net/_bytes.ts";
import { isLoopbackPeer } from "../net/_loopback.ts";
import { MissingExtensionError } from "../net/missing_extension_error.ts";
import { connectTcp, type TlsOptions } from "../net/connect_tcp.ts";
import { DotStuffedReader, DotStuffingEncoderStream } from "../net/dot_stuffing.ts";
import type { DuplexConn } from "../net/duplex_conn.ts";
import { assertLineSafe } from "../net/line_writer.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { type NumericReply, readReply } from "../net/reply.ts";
import { TextConn, type TextConnLease } from "../net/text_conn.ts";
import {
  checkFieldName,
  checkGroupName,
  checkMessageId,
  checkWildmat,
  formatArticleSpec,
  formatNntpDateTime,
  formatRange,
  type NntpRangeInput,
  parseNntpTimestamp,
} from "./_nntp_args.ts";
import { guarded, NntpItemsImpl } from "./_nntp_items.ts";
import { NntpBlockReader } from "./_nntp_lines.ts";
import {
  DEFAULT_OVERVIEW_FORMAT,
  parseOverviewFormat,
  parseOverviewLine,
} from "./_nntp_overview.ts";
import { type MailMessage, parseMessage, type ParseMessageOptions } from "./message.ts";
import { NntpReplyError } from "./nntp_reply_error.ts";
import { chooseSaslMechanism, createSaslMechanism, type SaslCredentials } from "./sasl.ts";
export type { NntpItems, NntpOverview, NntpOverviewField } from "./_nntp_types.ts";
import type { NntpItems, NntpOverview, NntpOverviewField } from "./_nntp_types.ts";

/** The NNTP port (RFC 3977). */
export const NNTP_PORT = 119;
/** The NNTP port with implicit TLS (RFC 4642 §1, "nntps"). */
export const NNTPS_PORT = 563;

/** An article number or a range: `n`, `{ from }` (to the end) or `{ from, to }`. */
export type NntpRange = NntpRangeInput;

/** Options for {@linkcode NntpClient}. */
export interface NntpClientOptions {
  /**
   * The server's host name: the name checked in its certificate after
   * `STARTTLS`, and a loopback name lets passwords go in clear.
   *
   * @default {the connection's remote address, when it has one}
   */
  serverName?: string;
  /** Extra trusted CA certificates (PEM) for `STARTTLS`, such as a test server's. */
  caCerts?: string[];
  /**
   * Allow `AUTHINFO USER/PASS` and SASL mechanisms that send the secret
   * readable on a connection that is neither TLS nor to a loopback address.
   *
   * @default {false}
   */
  allowInsecureAuth?: boolean;
  /**
   * Milliseconds a command may go without a byte moving before the
   * connection is closed. A streamed listing or article is not cut off by
   * it as long as bytes keep coming. Each call's own `timeout` is a limit
   * on the whole command instead.
   *
   * @default {60000}
   */
  timeout?: number;
  /**
   * The longest line of a multi-line response or article, in bytes. Status
   * lines are limited to 4096 bytes.
   *
   * @default {65536}
   */
  maxLineLength?: number;
  /**
   * The most bytes read and discarded when a listing or article is
   * cancelled before its end; beyond it the connection is closed instead.
   *
   * @default {65536}
   */
  drainLimit?: number;
  /**
   * Receives each line sent (`C: ...`) and status line received
   * (`S: ...`). `AUTHINFO PASS` and SASL data show as `****`; data blocks
   * show only their size.
   */
  debug?: (line: string) => void;
}

/** Options for {@linkcode NntpClient.connect}. */
export interface NntpConnectOptions extends NntpClientOptions {
  /**
   * The server to dial.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port.
   *
   * @default {119, or 563 with `tls`}
   */
  port?: number;
  /**
   * `true` or TLS settings: TLS from the first byte (nntps). `false`: stay
   * in clear text, never `STARTTLS`. Left out: upgrade with `STARTTLS`
   * (RFC 4642) when the server offers it; a failed handshake fails the
   * connection, it never falls back to clear text.
   */
  tls?: boolean | TlsOptions;
  /**
   * Fail unless the session is TLS: when the server does not offer or
   * refuses `STARTTLS`, the connection is closed without sending more.
   *
   * @default {false}
   */
  requireTls?: boolean;
  /**
   * Send `MODE READER` when the server is not in reader mode already
   * (it does not list `READER` in its capabilities).
   *
   * @default {true}
   */
  readerMode?: boolean;
  /** Log in with `AUTHINFO` after the greeting (and TLS). */
  credentials?: SaslCredentials;
  /**
   * The SASL mechanism, or `"USER"` for `AUTHINFO USER/PASS`.
   *
   * @default {the best advertised SASL mechanism, else USER/PASS}
   */
  mechanism?: string;
  /**
   * Milliseconds to establish the connection (TCP and TLS).
   *
   * @default {30000}
   */
  connectTimeout?: number;
  /** Cancels connecting and the opening exchange. */
  signal?: AbortSignal;
}

/** Per-call options: a signal and a timeout. */
export interface NntpCommandOptions {
  /** Aborts the command; the connection is then closed. */
  signal?: AbortSignal;
  /** Milliseconds the whole command may take (a streamed body included); then the connection is closed. */
  timeout?: number;
}

/** Options for the calls that stream a multi-line response. */
export interface NntpListOptions extends NntpCommandOptions {
  /**
   * The most lines in the response; more fail the iteration with
   * `"REPLY_TOO_LARGE"`. Memory does not grow with the line count
   * either way: the lines are streamed.
   *
   * @default {Infinity}
   */
  maxLines?: number;
}

/** Options for {@linkcode NntpClient.article}, `head` and `body`. */
export interface NntpArticleOptions extends NntpCommandOptions {
  /**
   * The most bytes in the article; more error the body stream with
   * `"BODY_TOO_LARGE"` (and close the connection).
   *
   * @default {Infinity}
   */
  maxSize?: number;
}

/** The server's greeting (RFC 3977 §5.1) or its answer to `MODE READER`. */
export interface NntpGreeting {
  /** `200` (posting allowed) or `201` (posting prohibited). */
  code: number;
  /** The text after the code. */
  text: string;
  /** Whether the server said posting is allowed. */
  postingAllowed: boolean;
}

/** A selected newsgroup: the `211` answer to `GROUP` (RFC 3977 §6.1.1). */
export interface NntpGroup {
  /** The group's name. */
  name: string;
  /** The estimated number of articles. */
  count: number;
  /** The low water mark: the lowest article number (or high + 1 when empty). */
  low: number;
  /** The high water mark: the highest article number. */
  high: number;
}

/** One line of `LIST ACTIVE` or `NEWGROUPS` (RFC 3977 §7.6.3). */
export interface NntpActiveGroup {
  /** The group's name. */
  name: string;
  /** The high water mark. */
  high: number;
  /** The low water mark. */
  low: number;
  /** `y` (posting allowed), `n` (not allowed), `m` (moderated), or another server flag. */
  status: string;
}

/** One line of `LIST NEWSGROUPS` (RFC 3977 §7.6.6). */
export interface NntpGroupDescription {
  /** The group's name. */
  name: string;
  /** Its short description. */
  description: string;
}

/** One line of an `HDR` (or `XHDR`) response (RFC 3977 §8.5). */
export interface NntpHeaderValue {
  /** The article number (0 when asked for by message-id). */
  number: number;
  /** The header's value, or `""` when the article has none. */
  value: string;
}

/** An article's number and message-id: the answer to `STAT`, `NEXT`, `LAST`. */
export interface NntpArticlePointer {
  /** The article number in the current group (0 when selected by message-id). */
  number: number;
  /** The message-id, with angle brackets. */
  messageId: string;
}

/**
 * An article (or its head, or its body) being received: the content is
 * streamed, dot-unstuffed, with CR LF line ends, and the connection stays
 * busy until it has been read to its end or cancelled.
 */
export interface NntpArticle extends NntpArticlePointer {
  /** The content as a byte stream (read it once). */
  readonly body: ReadableStream<Uint8Array>;
  /**
   * Reads the whole content into memory.
   *
   * @param options The most bytes (default 64 MiB); more throw `"BODY_TOO_LARGE"`.
   */
  bytes(options?: { maxSize?: number }): Promise<Uint8Array>;
  /** Reads the whole content as UTF-8 text (at most 64 MiB). */
  text(): Promise<string>;
  /**
   * Parses the content with inetkit's mail parser (`parseMessage`); for a
   * `HEAD` the message has an empty body.
   */
  message(options?: ParseMessageOptions): Promise<MailMessage>;
  /** Stops receiving: the rest is drained (or the connection closed). */
  cancel(): Promise<void>;
}

/** An article to send with `POST` or `IHAVE`: bytes, text (sent as UTF-8) or a stream. */
export type NntpArticleSource = Uint8Array | string | ReadableStream<Uint8Array>;

/** The result of {@linkcode NntpClient.post} and {@linkcode NntpClient.ihave}. */
export interface NntpPostResult {
  /** The server's final reply (`240` or `235`). */
  reply: NumericReply;
  /**
   * The article's message-id: from the reply when the server names it,
   * else from the article's own `Message-ID` header when it was given as
   * bytes or text, else `null`.
   */
  messageId: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const STATUS_LINE_MAX = 4096;
const MAX_AUTH_STEPS = 10;
const WRITE_BATCH = 65536;
const DEFAULT_BYTES_MAX = 64 * 1024 * 1024;
const POINTER_REGEXP = /^(\d{1,16})(?:\s+(<[^\s>]*>))?/;
const GROUP_REPLY_REGEXP = /^(\d{1,16})\s+(\d{1,16})\s+(\d{1,16})(?:\s+(\S+))?/;
const ACTIVE_REGEXP = /^(\S+)\s+(\d{1,16})\s+(\d{1,16})(?:\s+(\S+))?/;
const MESSAGE_ID_IN_TEXT_REGEXP = /<[\x21-\x3d\x3f-\x7e]+>/;
/** Errors decided on this side, or after a clean refusal: the session is fine. */
const SESSION_INTACT_CODES = new Set([
  "BAD_CHALLENGE",
  "SASL_UNEXPECTED_CHALLENGE",
]);

interface Line {
  text: string;
  shown?: string;
}

/**
 * An NNTP client (RFC 3977), the modern `nntplib.NNTP`: greeting and
 * posting status, `CAPABILITIES`, `MODE READER`, `STARTTLS` (RFC 4642),
 * `AUTHINFO USER/PASS` and `AUTHINFO SASL` (RFC 4643), group and article
 * selection, `LIST` variants, `OVER` parsed with the server's
 * `OVERVIEW.FMT`, `HDR`, articles streamed and dot-unstuffed, `POST`,
 * `IHAVE`, `NEWGROUPS`, `NEWNEWS` and `DATE`.
 *
 * Multi-line responses are streamed (an {@linkcode NntpItems} iterator or
 * an article's `body` stream) and hold the connection until consumed, so
 * memory stays bounded by the line limit whatever the server sends. One
 * command runs at a time; each takes an `AbortSignal` and a timeout. Every
 * argument is checked for CR, LF and NUL (and its NNTP syntax) before a
 * byte is written. Errors are {@linkcode NntpReplyError}s with the code.
 *
 * @example Reading an overview from a scripted server
 * ```ts
 * import { NntpClient } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const script = [
 *   "200 news.example.test ready (posting ok)\r\n",
 *   "224 Overview follows\r\n",
 *   "1\tHello\tGuido <guido@example.test>\tTue, 14 Nov 2023 10:00:00 +0000\t<a@example.test>\t\t436\t2\r\n",
 *   "2\tRe: Hello\tTim <tim@example.test>\tTue, 14 Nov 2023 11:00:00 +0000\t<b@example.test>\t<a@example.test>\t442\t1\r\n",
 *   ".\r\n",
 * ].join("");
 * const sent: string[] = [];
 * const nntp = new NntpClient({
 *   readable: ReadableStream.from([new TextEncoder().encode(script)]),
 *   writable: new WritableStream({ write: (c) => void sent.push(new TextDecoder().decode(c)) }),
 *   close() {},
 * });
 * const subjects: string[] = [];
 * for await (const item of await nntp.over({ from: 1, to: 2 }, { format: "default" })) {
 *   subjects.push(`${item.number} ${item.subject}`);
 * }
 * assertEquals(subjects, ["1 Hello", "2 Re: Hello"]);
 * assertEquals(sent, ["OVER 1-2\r\n"]);
 * nntp.close();
 * ```
 *
 * @example Listing a group on a real server
 * ```ts ignore
 * import { NntpClient } from "@inetkit/inetkit/mail";
 *
 * await using nntp = await NntpClient.connect({ hostname: "127.0.0.1", port: 1119, tls: false });
 * const { low, high } = await nntp.group("comp.lang.python");
 * for await (const item of await nntp.over({ from: low, to: high })) {
 *   console.log(item.number, item.subject);
 * }
 * ```
 */
export class NntpClient implements AsyncDisposable {
  #conn: TextConn;
  #serverName: string | undefined;
  #caCerts: string[] | undefined;
  #allowInsecureAuth: boolean;
  #timeout: number;
  #maxLineLength: number;
  #drainLimit: number;
  #debug: ((line: string) => void) | undefined;
  #greeting: NntpGreeting | null = null;
  #capabilities: Map<string, string[]> | null = null;
  #overviewFormat: NntpOverviewField[] | null = null;
  #group: NntpGroup | null = null;
  #authenticated = false;

  /**
   * Wraps a connection to an NNTP server. Nothing is read or sent until
   * the first command, which reads the greeting first.
   *
   * @param conn The connection; the client owns it from now on.
   * @param options Names, limits, timeouts and the debug log.
   * @throws {RangeError} If a limit or timeout is not a positive number.
   */
  constructor(conn: DuplexConn, options?: NntpClientOptions) {
    options ??= {};
    this.#serverName = options.serverName ?? remoteHostname(conn);
    this.#caCerts = options.caCerts;
    this.#allowInsecureAuth = options.allowInsecureAuth ?? false;
    this.#timeout = positive(options.timeout ?? 60000, "timeout");
    this.#maxLineLength = positive(options.maxLineLength ?? 65536, "maxLineLength");
    this.#drainLimit = nonNegative(options.drainLimit ?? 65536, "drainLimit");
    this.#debug = options.debug;
    // A status line that arrives while no command is in flight answers
    // nothing we sent: the next command fails instead of reading it.
    this.#conn = new TextConn(conn, { unsolicited: "error" });
  }

  /**
   * Dials a server, reads its greeting and capabilities, upgrades with
   * `STARTTLS` when offered (unless `tls: false`; or implicit TLS with
   * `tls`), switches to reader mode when needed, and logs in when given
   * credentials.
   *
   * @param options Where to connect, TLS, credentials and the client options.
   * @returns A client ready for `group`, `over`, `article`, `post`...
   * @throws {NntpReplyError} When the server refuses the session (400,
   *   502), STARTTLS (with `requireTls`) or the login.
   * @throws {MissingExtensionError} `"STARTTLS"` with `requireTls`, or
   *   `"AUTHINFO"` when no login method qualifies.
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` when the server sends
   *   data before the handshake, or malformed replies.
   * @throws {DOMException} The signal's reason or a `TimeoutError`.
   *
   * @example Reading over STARTTLS with a private CA
   * ```ts ignore
   * import { NntpClient } from "@inetkit/inetkit/mail";
   * import { assert } from "@std/assert";
   *
   * await using nntp = await NntpClient.connect({
   *   port: 1119,
   *   serverName: "localhost",
   *   caCerts: [await Deno.readTextFile("/tmp/peers/tls/ca.pem")],
   *   requireTls: true,
   * });
   * assert(nntp.tls);
   * ```
   */
  static async connect(options?: NntpConnectOptions): Promise<NntpClient> {
    options ??= {};
    if (options.tls === false && options.requireTls) {
      throw new TypeError("Cannot connect: requireTls and tls: false exclude each other");
    }
    const hostname = options.hostname ?? "127.0.0.1";
    const implicit = options.tls === true ||
      (typeof options.tls === "object" && options.tls !== null);
    const port = options.port ?? (implicit ? NNTPS_PORT : NNTP_PORT);
    const tls = !implicit
      ? undefined
      : options.tls === true
      ? { caCerts: options.caCerts, hostname: options.serverName }
      : { caCerts: options.caCerts, hostname: options.serverName, ...(options.tls as TlsOptions) };
    const conn = await connectTcp({
      hostname,
      port,
      tls,
      timeout: options.connectTimeout,
      signal: options.signal,
    });
    const client = new NntpClient(conn, {
      ...options,
      serverName: options.serverName ?? tls?.hostname ?? hostname,
    });
    try {
      const signal = options.signal;
      let caps = await client.readCapabilities({ signal });
      if (!client.tls && options.tls !== false) {
        if (caps.has("STARTTLS")) {
          try {
            await client.startTls({ signal });
          } catch (error) {
            // Opportunistic TLS goes on in clear after a refusal, never
            // after a failed handshake (the connection is closed then).
            if (options.requireTls || !(error instanceof NntpReplyError) || client.closed) {
              throw error;
            }
          }
          caps = client.capabilities;
        } else if (options.requireTls) {
          throw new MissingExtensionError(
            "STARTTLS",
            "Cannot start TLS: the server does not offer STARTTLS",
          );
        }
      }
      if (options.requireTls && !client.tls) {
        throw new MissingExtensionError(
          "STARTTLS",
          "Cannot start TLS: the server refused STARTTLS",
        );
      }
      let readerAfterAuth = false;
      if (
        (options.readerMode ?? true) && !caps.has("READER") &&
        (caps.has("MODE-READER") || caps.size === 0)
      ) {
        try {
          await client.modeReader({ signal });
          caps = await client.readCapabilities({ signal });
        } catch (error) {
          // Some servers want AUTHINFO first (480); old ones lack MODE READER (5xx).
          if (!(error instanceof NntpReplyError) || client.closed) throw error;
          readerAfterAuth = error.code === 480;
        }
      }
      if (options.credentials !== undefined) {
        await client.auth(options.credentials, { mechanism: options.mechanism, signal });
        if (readerAfterAuth) {
          await client.modeReader({ signal });
          await client.readCapabilities({ signal });
        }
      }
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** The greeting, or `null` before the first command. */
  get greeting(): NntpGreeting | null {
    return this.#greeting;
  }

  /** Whether the server said posting is allowed (greeting or `MODE READER`: 200, not 201). */
  get postingAllowed(): boolean {
    return this.#greeting?.postingAllowed ?? false;
  }

  /**
   * The capabilities from the last `CAPABILITIES` (RFC 3977 §5.2): the
   * upper-case label to its arguments (`"LIST"` → `["ACTIVE",
   * "NEWSGROUPS", ...]`). Empty before they were read, and for a server
   * that does not know the command. Forgotten after `STARTTLS`, `MODE
   * READER` and a login, as RFC 3977, 4642 and 4643 require.
   */
  get capabilities(): ReadonlyMap<string, readonly string[]> {
    return this.#capabilities ?? new Map();
  }

  /** The group selected by the last `GROUP` or `LISTGROUP`, or `null`. */
  get currentGroup(): NntpGroup | null {
    return this.#group;
  }

  /** Whether the connection is TLS (implicit or after STARTTLS). */
  get tls(): boolean {
    return this.#conn.tls;
  }

  /** Whether AUTHINFO succeeded. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#conn.closed;
  }

  /**
   * Asks for the capabilities (`CAPABILITIES`, RFC 3977 §5.2). A server
   * that does not know the command (5xx) has none.
   *
   * @param options A signal and a timeout.
   * @returns The capabilities, also kept in {@linkcode NntpClient.capabilities}.
   * @throws {NntpReplyError} For a 4xx refusal.
   */
  readCapabilities(
    options?: NntpCommandOptions,
  ): Promise<ReadonlyMap<string, readonly string[]>> {
    options ??= {};
    return this.#run(() => this.#readCapabilities(), options);
  }

  /**
   * Switches a mode-switching server to reader mode (`MODE READER`, RFC
   * 3977 §5.3) and records whether posting is allowed. The capabilities
   * are forgotten; read them again.
   *
   * @param options A signal and a timeout.
   * @returns The 200 or 201 answer.
   * @throws {NntpReplyError} For a refusal (502: no reading here).
   */
  modeReader(options?: NntpCommandOptions): Promise<NntpGreeting> {
    options ??= {};
    return this.#run(async () => {
      const reply = await this.#command({ text: "MODE READER" }, null, "MODE READER");
      if (reply.code !== 200 && reply.code !== 201) {
        throw new NntpReplyError(reply.code, reply.lines, { command: "MODE READER" });
      }
      this.#greeting = greetingOf(reply);
      this.#capabilities = null;
      return this.#greeting;
    }, options);
  }

  /**
   * Upgrades the connection with `STARTTLS` (RFC 4642) and reads the
   * capabilities again over TLS (§2.2.2). Bytes the server sends after
   * its 382 and before the handshake are an injection attack: the
   * connection is closed.
   *
   * @param options A signal, a timeout and TLS settings (server name, CAs).
   * @throws {NntpReplyError} When the server refuses STARTTLS (580, 502).
   * @throws {MissingExtensionError} `"STARTTLS"` when it is not advertised.
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` for early bytes.
   * @throws {TypeError} When the connection is already TLS, or the
   *   transport is not a TCP connection.
   */
  startTls(options?: NntpCommandOptions & { tls?: TlsOptions }): Promise<void> {
    options ??= {};
    return this.#run(async () => {
      if (this.#conn.tls) throw new TypeError("Cannot start TLS: the connection is already TLS");
      if (this.#capabilities === null) await this.#readCapabilities();
      if (!this.#capabilities!.has("STARTTLS")) {
        throw new MissingExtensionError(
          "STARTTLS",
          "Cannot start TLS: the server does not offer STARTTLS",
        );
      }
      await this.#command({ text: "STARTTLS" }, 382, "STARTTLS");
      await this.#conn.startTls({
        hostname: options.tls?.hostname ?? this.#serverName,
        caCerts: options.tls?.caCerts ?? this.#caCerts,
        alpnProtocols: options.tls?.alpnProtocols,
      });
      this.#forgetSession();
      await this.#readCapabilities();
    }, options);
  }

  /**
   * Logs in (RFC 4643): with `AUTHINFO SASL` and the best mechanism the
   * server advertises and the credentials serve, else `AUTHINFO
   * USER/PASS`; or with the mechanism named (`"USER"` for USER/PASS).
   * Secrets go readable only over TLS, to a loopback address, or with
   * `allowInsecureAuth`. The capabilities are read again afterwards.
   *
   * @param credentials The user name and password (or token).
   * @param options The mechanism, a signal and a timeout.
   * @returns The 281 (or 283) reply.
   * @throws {NntpReplyError} When the server refuses the login (481, 482, 502).
   * @throws {MissingExtensionError} `"AUTHINFO"` when no advertised method
   *   qualifies.
   * @throws {ProtocolError} `"BAD_CHALLENGE"` for a challenge that is not base64,
   *   `"SASL_UNEXPECTED_CHALLENGE"` for too many challenges.
   * @throws {TypeError} For unusable credentials (CR, LF, NUL), or a
   *   method that would expose the secret on an unprotected connection.
   */
  auth(
    credentials: SaslCredentials,
    options?: NntpCommandOptions & { mechanism?: string },
  ): Promise<NumericReply> {
    options ??= {};
    if (typeof credentials?.username !== "string") {
      throw new TypeError("Cannot authenticate: the credentials have no user name");
    }
    assertLineSafe(credentials.username, "user name");
    if (credentials.password !== undefined) assertLineSafe(credentials.password, "password");
    if (options.mechanism !== undefined) checkWord(options.mechanism, "mechanism");
    return this.#run(async () => {
      if (this.#capabilities === null) await this.#readCapabilities();
      const caps = this.#capabilities!;
      const secure = this.#conn.tls || this.#allowInsecureAuth ||
        isLoopbackPeer(this.#conn.conn, this.#serverName);
      const authinfo = (caps.get("AUTHINFO") ?? []).map((a) => a.toUpperCase());
      let method = options.mechanism?.toUpperCase();
      if (method === undefined) {
        const sasl = authinfo.includes("SASL")
          ? chooseSaslMechanism(caps.get("SASL") ?? [], credentials, { secure })
          : null;
        if (sasl !== null) method = sasl;
        else if (
          credentials.password !== undefined && secure &&
          (authinfo.includes("USER") || caps.size === 0 || !caps.has("AUTHINFO"))
        ) {
          method = "USER";
        } else {
          throw new MissingExtensionError(
            "AUTHINFO",
            `Cannot authenticate: no usable method among AUTHINFO ${
              authinfo.join(" ") || "(none)"
            }` +
              (secure ? "" : " on a connection without TLS"),
            { offered: authinfo },
          );
        }
      }
      const reply = method === "USER"
        ? await this.#authUser(credentials, secure)
        : await this.#authSasl(method, credentials, secure);
      this.#authenticated = true;
      this.#capabilities = null;
      await this.#readCapabilities();
      return reply;
    }, options);
  }

  /**
   * Selects a newsgroup (`GROUP`, RFC 3977 §6.1.1).
   *
   * @param name The group's name.
   * @param options A signal and a timeout.
   * @returns The estimated count and the low and high water marks.
   * @throws {NntpReplyError} 411 when there is no such group.
   * @throws {TypeError} For a name with white space, controls or wildmat characters.
   */
  group(name: string, options?: NntpCommandOptions): Promise<NntpGroup> {
    options ??= {};
    checkGroupName(name);
    return this.#run(async () => {
      const reply = await this.#command({ text: `GROUP ${name}` }, 211, "GROUP");
      this.#group = parseGroupReply(reply, name);
      return this.#group;
    }, options);
  }

  /**
   * Lists the article numbers of a group (`LISTGROUP`, RFC 3977 §6.1.2),
   * selecting it.
   *
   * @param group The group, or the current one.
   * @param range Only the numbers in this range.
   * @param options A signal, a timeout and a line cap.
   * @returns The numbers, streamed; `reply` holds the 211 line.
   * @throws {NntpReplyError} 411 (no such group), 412 (no group selected).
   */
  listGroup(
    group?: string,
    range?: NntpRange,
    options?: NntpListOptions,
  ): Promise<NntpItems<number>> {
    options ??= {};
    if (group !== undefined) checkGroupName(group);
    const name = group ?? (range !== undefined ? this.#group?.name : undefined);
    if (range !== undefined && name === undefined) {
      throw new TypeError("Cannot send LISTGROUP with a range: no group given or selected");
    }
    const args = name === undefined
      ? ""
      : range === undefined
      ? ` ${name}`
      : ` ${name} ${formatRange(range)}`;
    return this.#items(
      `LISTGROUP${args}`,
      211,
      "LISTGROUP",
      (line) => {
        const n = line.trim();
        if (!/^\d{1,16}$/.test(n)) throw badLine("LISTGROUP", line);
        return Number(n);
      },
      options,
      (reply) => {
        this.#group = parseGroupReply(reply, name ?? "");
      },
    );
  }

  /**
   * Lists the active groups (`LIST ACTIVE`, RFC 3977 §7.6.3).
   *
   * @param wildmat Only the groups matching this pattern (`comp.*`).
   * @param options A signal, a timeout and a line cap.
   * @returns The groups with their marks and status, streamed.
   */
  listActive(wildmat?: string, options?: NntpListOptions): Promise<NntpItems<NntpActiveGroup>> {
    options ??= {};
    if (wildmat !== undefined) checkWildmat(wildmat);
    return this.#items(
      wildmat === undefined ? "LIST" : `LIST ACTIVE ${wildmat}`,
      215,
      "LIST ACTIVE",
      (line) => parseActiveLine(line, "LIST ACTIVE"),
      options,
    );
  }

  /**
   * Lists the groups' descriptions (`LIST NEWSGROUPS`, RFC 3977 §7.6.6).
   *
   * @param wildmat Only the groups matching this pattern.
   * @param options A signal, a timeout and a line cap.
   * @returns The names and descriptions, streamed.
   */
  listNewsgroups(
    wildmat?: string,
    options?: NntpListOptions,
  ): Promise<NntpItems<NntpGroupDescription>> {
    options ??= {};
    if (wildmat !== undefined) checkWildmat(wildmat);
    return this.#items(
      wildmat === undefined ? "LIST NEWSGROUPS" : `LIST NEWSGROUPS ${wildmat}`,
      215,
      "LIST NEWSGROUPS",
      (line) => {
        const match = /^(\S+)[ \t]*(.*)$/.exec(line);
        if (match === null) throw badLine("LIST NEWSGROUPS", line);
        return { name: match[1]!, description: match[2]!.trim() };
      },
      options,
    );
  }

  /**
   * Reads the overview format (`LIST OVERVIEW.FMT`, RFC 3977 §8.4), which
   * {@linkcode NntpClient.over} uses to name the fields after the standard
   * seven. The answer is kept for the session.
   *
   * @param options A signal and a timeout.
   * @returns The fields in order.
   * @throws {NntpReplyError} When the server does not know the command.
   * @throws {ProtocolError} `"BAD_OVERVIEW_FORMAT"` when the first seven
   *   fields are not the standard ones.
   */
  listOverviewFormat(options?: NntpCommandOptions): Promise<NntpOverviewField[]> {
    options ??= {};
    return this.#run(async () => {
      await this.#command({ text: "LIST OVERVIEW.FMT" }, 215, "LIST OVERVIEW.FMT");
      this.#overviewFormat = parseOverviewFormat(await this.#readSmallBlock());
      return this.#overviewFormat.map((f) => ({ ...f }));
    }, options);
  }

  /**
   * Sends any `LIST` variant (`LIST ACTIVE.TIMES`, `LIST DISTRIB.PATS`,
   * `LIST HEADERS`...) and streams the lines as they are.
   *
   * @param keyword The variant.
   * @param argument A wildmat or other argument.
   * @param options A signal, a timeout and a line cap.
   * @returns The lines, streamed.
   * @throws {TypeError} For a keyword that is not a word, or an argument
   *   with white space or controls.
   */
  list(
    keyword: string,
    argument?: string,
    options?: NntpListOptions,
  ): Promise<NntpItems<string>> {
    options ??= {};
    if (typeof keyword !== "string" || !/^[A-Za-z0-9.\-_]{1,64}$/.test(keyword)) {
      throw new TypeError(`Cannot send LIST: keyword ${JSON.stringify(keyword)} is not a word`);
    }
    if (argument !== undefined) checkWildmat(argument);
    const upper = keyword.toUpperCase();
    return this.#items(
      argument === undefined ? `LIST ${upper}` : `LIST ${upper} ${argument}`,
      215,
      `LIST ${upper}`,
      (line) => line,
      options,
    );
  }

  /**
   * Reads the overview of articles (`OVER`, RFC 3977 §8.3; `XOVER` when
   * the server does not list `OVER`), parsed with the server's
   * `OVERVIEW.FMT` (read once per session; the standard seven fields when
   * the server does not have it).
   *
   * @param spec An article number, a range, a message-id, or the current article.
   * @param options A signal, a timeout, a line cap, and `format: "default"`
   *   to skip `LIST OVERVIEW.FMT`.
   * @returns The overviews, streamed.
   * @throws {NntpReplyError} 412 (no group selected), 420 (no current
   *   article), 423 (no articles in the range), 430 (no such article), 503.
   * @throws {ProtocolError} `"BAD_OVERVIEW"` for a line without an article number.
   */
  over(
    spec?: NntpRange | string,
    options?: NntpListOptions & { format?: "server" | "default" },
  ): Promise<NntpItems<NntpOverview>> {
    options ??= {};
    const arg = spec === undefined ? "" : ` ${formatArticleSpec(spec as number, true)}`;
    return this.#itemsWith(
      async () => {
        if (this.#overviewFormat === null) {
          if (options.format === "default") this.#overviewFormat = [...DEFAULT_OVERVIEW_FORMAT];
          else await this.#loadOverviewFormat();
        }
        if (this.#capabilities === null && options.format !== "default") {
          await this.#readCapabilities();
        }
        const xover = this.#capabilities !== null && !this.#capabilities.has("OVER");
        if (xover && typeof spec === "string") {
          throw new TypeError("Cannot send XOVER with a message-id: the server lacks OVER");
        }
        const verb = xover ? "XOVER" : "OVER";
        return { line: `${verb}${arg}`, expect: 224, command: verb };
      },
      (line) => parseOverviewLine(line, this.#overviewFormat!),
      options,
    );
  }

  /**
   * Reads one header (or metadata item such as `:bytes`) of articles
   * (`HDR`, RFC 3977 §8.5; `XHDR` when the server does not list `HDR`).
   *
   * @param field The header name (`Subject`) or `:metadata` item.
   * @param spec An article number, a range, a message-id, or the current article.
   * @param options A signal, a timeout and a line cap.
   * @returns The values, streamed.
   * @throws {NntpReplyError} 412, 420, 423, 430 as for `over`.
   */
  hdr(
    field: string,
    spec?: NntpRange | string,
    options?: NntpListOptions,
  ): Promise<NntpItems<NntpHeaderValue>> {
    options ??= {};
    checkFieldName(field);
    const arg = spec === undefined ? "" : ` ${formatArticleSpec(spec as number, true)}`;
    return this.#itemsWith(async () => {
      if (this.#capabilities === null) await this.#readCapabilities();
      const xhdr = this.#capabilities !== null && this.#capabilities.size > 0 &&
        !this.#capabilities.has("HDR");
      const verb = xhdr ? "XHDR" : "HDR";
      return { line: `${verb} ${field}${arg}`, expect: xhdr ? 221 : 225, command: verb };
    }, (line) => {
      const match = /^(\d{1,16})(?:[ \t](.*))?$/.exec(line);
      if (match === null) throw badLine("HDR", line);
      const value = match[2] ?? "";
      return { number: Number(match[1]), value: value === "(none)" ? "" : value };
    }, options);
  }

  /**
   * Retrieves an article (`ARTICLE`, RFC 3977 §6.2.1) by number, by
   * message-id, or the current one. The content is streamed, dot-unstuffed;
   * the connection stays busy until the body is read or cancelled.
   *
   * @param spec The article number, the `<message-id>`, or the current article.
   * @param options A signal, a timeout and a size cap.
   * @returns The article's number, message-id and content.
   * @throws {NntpReplyError} 412, 420, 423 (no such number), 430 (no such message-id).
   *
   * @example Reading an article by message-id from a scripted server
   * ```ts
   * import { NntpClient } from "@inetkit/inetkit/mail";
   * import { assertEquals } from "@std/assert";
   *
   * const script = "200 ready\r\n220 0 <x@example.test>\r\nSubject: hi\r\n\r\n..dot\r\n.\r\n";
   * const nntp = new NntpClient({
   *   readable: ReadableStream.from([new TextEncoder().encode(script)]),
   *   writable: new WritableStream(),
   *   close() {},
   * });
   * const article = await nntp.article("<x@example.test>");
   * const message = await article.message();
   * assertEquals(message.subject, "hi");
   * assertEquals(message.textBody, ".dot\r\n");
   * nntp.close();
   * ```
   */
  article(spec?: number | string, options?: NntpArticleOptions): Promise<NntpArticle> {
    options ??= {};
    return this.#retrieve("ARTICLE", 220, spec, options);
  }

  /**
   * Retrieves an article's header (`HEAD`, RFC 3977 §6.2.2), streamed as
   * {@linkcode NntpClient.article} does.
   *
   * @param spec The article number, the `<message-id>`, or the current article.
   * @param options A signal, a timeout and a size cap.
   * @returns The header lines as the content.
   * @throws {NntpReplyError} 412, 420, 423, 430.
   */
  head(spec?: number | string, options?: NntpArticleOptions): Promise<NntpArticle> {
    options ??= {};
    return this.#retrieve("HEAD", 221, spec, options);
  }

  /**
   * Retrieves an article's body (`BODY`, RFC 3977 §6.2.3), streamed as
   * {@linkcode NntpClient.article} does.
   *
   * @param spec The article number, the `<message-id>`, or the current article.
   * @param options A signal, a timeout and a size cap.
   * @returns The body as the content.
   * @throws {NntpReplyError} 412, 420, 423, 430.
   */
  body(spec?: number | string, options?: NntpArticleOptions): Promise<NntpArticle> {
    options ??= {};
    return this.#retrieve("BODY", 222, spec, options);
  }

  /**
   * Checks that an article exists and selects it (`STAT`, RFC 3977 §6.2.4).
   *
   * @param spec The article number, the `<message-id>`, or the current article.
   * @param options A signal and a timeout.
   * @returns Its number and message-id.
   * @throws {NntpReplyError} 412, 420, 423, 430.
   */
  stat(spec?: number | string, options?: NntpCommandOptions): Promise<NntpArticlePointer> {
    options ??= {};
    const arg = spec === undefined ? "" : ` ${formatArticleSpec(spec)}`;
    return this.#run(async () => {
      const reply = await this.#command({ text: `STAT${arg}` }, 223, "STAT");
      return parsePointer(reply, "STAT");
    }, options);
  }

  /**
   * Moves to the next article in the group (`NEXT`, RFC 3977 §6.1.4).
   *
   * @param options A signal and a timeout.
   * @returns The new current article.
   * @throws {NntpReplyError} 412, 420, 421 (no next article).
   */
  next(options?: NntpCommandOptions): Promise<NntpArticlePointer> {
    options ??= {};
    return this.#run(async () => {
      const reply = await this.#command({ text: "NEXT" }, 223, "NEXT");
      return parsePointer(reply, "NEXT");
    }, options);
  }

  /**
   * Moves to the previous article in the group (`LAST`, RFC 3977 §6.1.3).
   *
   * @param options A signal and a timeout.
   * @returns The new current article.
   * @throws {NntpReplyError} 412, 420, 422 (no previous article).
   */
  last(options?: NntpCommandOptions): Promise<NntpArticlePointer> {
    options ??= {};
    return this.#run(async () => {
      const reply = await this.#command({ text: "LAST" }, 223, "LAST");
      return parsePointer(reply, "LAST");
    }, options);
  }

  /**
   * Lists the groups created since a time (`NEWGROUPS`, RFC 3977 §7.3),
   * sent in UTC with `GMT`.
   *
   * @param since The time.
   * @param options A signal, a timeout and a line cap.
   * @returns The new groups, streamed.
   * @throws {RangeError} For an invalid date.
   */
  newGroups(since: Date, options?: NntpListOptions): Promise<NntpItems<NntpActiveGroup>> {
    options ??= {};
    const when = formatNntpDateTime(since);
    return this.#items(
      `NEWGROUPS ${when}`,
      231,
      "NEWGROUPS",
      (line) => parseActiveLine(line, "NEWGROUPS"),
      options,
    );
  }

  /**
   * Lists the message-ids of articles that arrived since a time in the
   * groups matching a wildmat (`NEWNEWS`, RFC 3977 §7.4).
   *
   * @param wildmat The groups (`*` for all, `comp.*,!comp.os.*`).
   * @param since The time.
   * @param options A signal, a timeout and a line cap.
   * @returns The message-ids, streamed.
   * @throws {RangeError} For an invalid date.
   * @throws {TypeError} For a wildmat with white space or controls.
   */
  newNews(wildmat: string, since: Date, options?: NntpListOptions): Promise<NntpItems<string>> {
    options ??= {};
    checkWildmat(wildmat);
    const when = formatNntpDateTime(since);
    return this.#items(
      `NEWNEWS ${wildmat} ${when}`,
      230,
      "NEWNEWS",
      (line) => line.trim(),
      options,
    );
  }

  /**
   * Reads the server's help text (`HELP`, RFC 3977 §7.2).
   *
   * @param options A signal, a timeout and a line cap.
   * @returns The lines, streamed.
   */
  help(options?: NntpListOptions): Promise<NntpItems<string>> {
    options ??= {};
    return this.#items("HELP", 100, "HELP", (line) => line, options);
  }

  /**
   * Asks for the server's time (`DATE`, RFC 3977 §7.1).
   *
   * @param options A signal and a timeout.
   * @returns The server's current time (UTC).
   * @throws {ProtocolError} `"BAD_REPLY"` for a reply without `yyyymmddhhmmss`.
   */
  date(options?: NntpCommandOptions): Promise<Date> {
    options ??= {};
    return this.#run(async () => {
      const reply = await this.#command({ text: "DATE" }, 111, "DATE");
      const text = (reply.lines[0] ?? "").trim().split(/\s+/)[0] ?? "";
      const date = parseNntpTimestamp(text);
      if (date === null) {
        throw new ProtocolError(
          "BAD_REPLY",
          `Cannot read DATE reply: ${JSON.stringify(text)} is not yyyymmddhhmmss`,
        );
      }
      return date;
    }, options);
  }

  /**
   * Posts an article (`POST`, RFC 3977 §6.3.1): waits for 340, then streams
   * the article with every line end made CR LF, every leading dot doubled,
   * and the end marked by exactly CR LF `.` CR LF, so no article can end
   * the block early.
   *
   * @param article The article with its headers (`From`, `Newsgroups`,
   *   `Subject`...): bytes, text or a stream.
   * @param options A signal and a timeout.
   * @returns The 240 reply and the article's message-id, when known.
   * @throws {NntpReplyError} 440 (posting not allowed), 441 (posting failed).
   *
   * @example Posting to a scripted server
   * ```ts
   * import { NntpClient } from "@inetkit/inetkit/mail";
   * import { assertEquals } from "@std/assert";
   *
   * const script = "200 ready\r\n340 send it\r\n240 article <a@example.test> received\r\n";
   * const sent: string[] = [];
   * const nntp = new NntpClient({
   *   readable: ReadableStream.from([new TextEncoder().encode(script)]),
   *   writable: new WritableStream({ write: (c) => void sent.push(new TextDecoder().decode(c)) }),
   *   close() {},
   * });
   * const result = await nntp.post("Newsgroups: local.test\r\nSubject: hi\r\n\r\n.hidden\r\n");
   * assertEquals(result.messageId, "<a@example.test>");
   * assertEquals(sent.join(""), "POST\r\nNewsgroups: local.test\r\nSubject: hi\r\n\r\n..hidden\r\n.\r\n");
   * nntp.close();
   * ```
   */
  post(article: NntpArticleSource, options?: NntpCommandOptions): Promise<NntpPostResult> {
    options ??= {};
    const body = toBody(article);
    return this.#run(async () => {
      await this.#command({ text: "POST" }, 340, "POST");
      await this.#writeDotStuffed(body);
      const reply = await this.#status(240, "POST");
      return { reply, messageId: messageIdOf(reply, body) };
    }, options);
  }

  /**
   * Offers an article to a peer (`IHAVE`, RFC 3977 §6.3.2): sends it after
   * 335, dot-stuffed as `post` does.
   *
   * @param messageId The article's message-id.
   * @param article The article: bytes, text or a stream.
   * @param options A signal and a timeout.
   * @returns The 235 reply.
   * @throws {NntpReplyError} 435 (not wanted), 436 (try again later),
   *   437 (rejected); a stream is then cancelled unread.
   */
  ihave(
    messageId: string,
    article: NntpArticleSource,
    options?: NntpCommandOptions,
  ): Promise<NntpPostResult> {
    options ??= {};
    checkMessageId(messageId);
    const body = toBody(article);
    return this.#run(async () => {
      try {
        await this.#command({ text: `IHAVE ${messageId}` }, 335, "IHAVE");
      } catch (error) {
        if (body instanceof ReadableStream) await body.cancel().catch(() => {});
        throw error;
      }
      await this.#writeDotStuffed(body);
      const reply = await this.#status(235, "IHAVE");
      return { reply, messageId };
    }, options);
  }

  /**
   * Says `QUIT` (RFC 3977 §5.4), reads the 205 and closes the connection.
   * A server that hangs up without replying is not an error.
   *
   * @param options A signal and a timeout.
   * @returns The 205 reply, or `null` when the server just closed.
   */
  async quit(options?: NntpCommandOptions): Promise<NumericReply | null> {
    options ??= {};
    const busy = this.#conn.busy;
    try {
      return await this.#run(async () => {
        await this.#write({ text: "QUIT" });
        try {
          return await this.#status(null, "QUIT");
        } catch (error) {
          if (error instanceof ProtocolError && error.code === "UNEXPECTED_EOF") return null;
          throw error;
        }
      }, options);
    } finally {
      if (!busy) this.close();
    }
  }

  /** Closes the connection without QUIT; safe to call more than once. */
  close(): void {
    this.#conn.close();
  }

  /** Says QUIT (waiting at most one second) when the connection is idle, then closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#conn.closed) return;
    try {
      await this.quit({ timeout: 1000 });
    } catch {
      // closing anyway
    }
    this.close();
  }

  // ---- internals ---------------------------------------------------------

  /**
   * Runs one command on a lease; a returned body stream or item iterator
   * keeps the lease until it is consumed.
   */
  async #run<T>(fn: (lease: TextConnLease) => Promise<T>, options: NntpCommandOptions): Promise<T> {
    const lease = await this.#conn.acquire({
      signal: options.signal,
      timeout: options.timeout,
      idleTimeout: this.#timeout,
    });
    let kept = false;
    try {
      if (this.#greeting === null) await guarded(lease, this.#readGreeting());
      const result = await guarded(lease, fn(lease));
      kept = lease.streaming || result instanceof NntpItemsImpl;
      return result;
    } catch (error) {
      // A refusal leaves the session usable; anything else (a broken reply,
      // an I/O error, an abort) leaves it in an unknown state. 400 means
      // the server is closing.
      const intact = error instanceof TypeError || error instanceof RangeError ||
        error instanceof NntpReplyError && error.code !== 400 && this.#greeting !== null ||
        error instanceof MissingExtensionError ||
        error instanceof ProtocolError && SESSION_INTACT_CODES.has(error.code);
      if (!intact) this.#conn.close();
      throw error;
    } finally {
      if (!kept) lease.release();
    }
  }

  /** A multi-line command whose line is known up front. */
  #items<T>(
    line: string,
    expect: number,
    command: string,
    parse: (line: string) => T,
    options: NntpListOptions,
    onReply?: (reply: NumericReply) => void,
  ): Promise<NntpItems<T>> {
    assertLineSafe(line, "command");
    return this.#itemsWith(
      () => Promise.resolve({ line, expect, command }),
      parse,
      options,
      onReply,
    );
  }

  /** A multi-line command whose line is decided inside the command (OVER/XOVER). */
  #itemsWith<T>(
    prepare: () => Promise<{ line: string; expect: number; command: string }>,
    parse: (line: string) => T,
    options: NntpListOptions,
    onReply?: (reply: NumericReply) => void,
  ): Promise<NntpItems<T>> {
    const maxLines = options.maxLines ?? Infinity;
    if (!(maxLines >= 0)) throw new RangeError(`Cannot list: maxLines ${maxLines} is negative`);
    return this.#run(async (lease) => {
      const { line, expect, command } = await prepare();
      const reply = await this.#command({ text: line }, expect, command);
      onReply?.(reply);
      const block = new NntpBlockReader(this.#conn.reader, {
        maxLineLength: this.#maxLineLength,
        maxLines,
      });
      return new NntpItemsImpl<T>({
        lease,
        block,
        reply,
        parse,
        drainLimit: this.#drainLimit,
        onEnd: (lines) => this.#log(`S: <${lines} lines>`),
      });
    }, options);
  }

  #retrieve(
    verb: "ARTICLE" | "HEAD" | "BODY",
    expect: number,
    spec: number | string | undefined,
    options: NntpArticleOptions,
  ): Promise<NntpArticle> {
    const arg = spec === undefined ? "" : ` ${formatArticleSpec(spec)}`;
    const maxSize = options.maxSize ?? Infinity;
    if (!(maxSize >= 0)) {
      throw new RangeError(`Cannot read article: maxSize ${maxSize} is negative`);
    }
    return this.#run(async (lease) => {
      const reply = await this.#command({ text: `${verb}${arg}` }, expect, verb);
      const pointer = parsePointer(reply, verb);
      const source = new DotStuffedReader(this.#conn.reader, {
        maxLineLength: this.#maxLineLength,
        maxSize,
      });
      const body = lease.stream(source, {
        drainLimit: this.#drainLimit,
        onEnd: () => this.#log(`S: <${source.size} octets>`),
      });
      return articleOf(pointer, body);
    }, options);
  }

  async #readGreeting(): Promise<void> {
    const reply = await this.#status(null, "greeting");
    if (reply.code !== 200 && reply.code !== 201) {
      throw new NntpReplyError(reply.code, reply.lines, {
        message: `Cannot start session: server replied ${reply.code} ${reply.lines.join(" ")}`,
      });
    }
    this.#greeting = greetingOf(reply);
  }

  async #readCapabilities(): Promise<ReadonlyMap<string, readonly string[]>> {
    const reply = await this.#command({ text: "CAPABILITIES" }, null, "CAPABILITIES");
    const caps = new Map<string, string[]>();
    if (reply.code === 101) {
      for (const line of await this.#readSmallBlock()) {
        const words = line.trim().split(/\s+/).filter(Boolean);
        if (words.length === 0) continue;
        caps.set(words[0]!.toUpperCase(), words.slice(1));
      }
    } else if (reply.code < 500) {
      throw new NntpReplyError(reply.code, reply.lines, { command: "CAPABILITIES" });
    }
    this.#capabilities = caps;
    return caps;
  }

  async #loadOverviewFormat(): Promise<void> {
    const reply = await this.#command({ text: "LIST OVERVIEW.FMT" }, null, "LIST OVERVIEW.FMT");
    if (reply.code === 215) {
      this.#overviewFormat = parseOverviewFormat(await this.#readSmallBlock());
    } else if (reply.code >= 500) {
      this.#overviewFormat = [...DEFAULT_OVERVIEW_FORMAT];
    } else {
      throw new NntpReplyError(reply.code, reply.lines, { command: "LIST OVERVIEW.FMT" });
    }
  }

  /** A short multi-line block read whole (CAPABILITIES, OVERVIEW.FMT): 1000 lines of 4 KiB at most. */
  async #readSmallBlock(): Promise<string[]> {
    const block = new NntpBlockReader(this.#conn.reader, {
      maxLineLength: STATUS_LINE_MAX,
      maxLines: 1000,
    });
    const lines: string[] = [];
    for (;;) {
      const batch = await block.next();
      if (batch === null) return lines;
      lines.push(...batch);
    }
  }

  async #authUser(credentials: SaslCredentials, secure: boolean): Promise<NumericReply> {
    if (credentials.password === undefined) {
      throw new TypeError(
        "Cannot authenticate with AUTHINFO USER: the credentials have no password",
      );
    }
    if (!secure) {
      throw new TypeError(
        "Cannot authenticate with AUTHINFO USER: it would send the password without TLS",
      );
    }
    const command = "AUTHINFO USER";
    let reply = await this.#command(
      { text: `AUTHINFO USER ${credentials.username}` },
      null,
      command,
    );
    if (reply.code === 381) {
      reply = await this.#command(
        { text: `AUTHINFO PASS ${credentials.password}`, shown: "AUTHINFO PASS ****" },
        null,
        "AUTHINFO PASS",
      );
    }
    if (reply.code !== 281) {
      throw new NntpReplyError(reply.code, reply.lines, { command: "AUTHINFO" });
    }
    return reply;
  }

  async #authSasl(
    name: string,
    credentials: SaslCredentials,
    secure: boolean,
  ): Promise<NumericReply> {
    const sasl = createSaslMechanism(name, credentials, {
      host: this.#serverName,
      port: remotePort(this.#conn.conn),
    });
    if (sasl.sendsSecret && !secure) {
      throw new TypeError(
        `Cannot authenticate with ${sasl.name}: it would send the secret without TLS`,
      );
    }
    const command = `AUTHINFO SASL ${sasl.name}`;
    const initial = sasl.initialResponse();
    let reply = await this.#command(
      {
        text: initial === null ? command : `${command} ${base64(initial)}`,
        shown: initial === null ? command : `${command} ****`,
      },
      null,
      command,
    );
    for (let step = 0; reply.code === 383; step++) {
      if (step >= MAX_AUTH_STEPS) {
        throw new ProtocolError(
          "SASL_UNEXPECTED_CHALLENGE",
          `Cannot authenticate with ${sasl.name}: more than ${MAX_AUTH_STEPS} challenges`,
        );
      }
      let response: Uint8Array;
      try {
        response = sasl.respond(decodeChallenge(reply.lines[0] ?? ""));
      } catch (error) {
        // Cancel the exchange (RFC 4643 §2.4.1), then report the cause.
        await this.#command({ text: "*" }, null, command);
        throw error;
      }
      reply = await this.#command({ text: base64(response), shown: "****" }, null, command);
    }
    if (reply.code !== 281 && reply.code !== 283) {
      throw new NntpReplyError(reply.code, reply.lines, { command });
    }
    return reply;
  }

  #forgetSession(): void {
    this.#capabilities = null;
    this.#authenticated = false;
    this.#group = null;
  }

  async #writeDotStuffed(body: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
    const source = body instanceof Uint8Array ? ReadableStream.from([body]) : body;
    const reader = source.pipeThrough(new DotStuffingEncoderStream()).getReader();
    let size = 0;
    try {
      // Coalesce small pieces (the article and the final dot) into few writes.
      let batch: Uint8Array[] = [];
      let batched = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (!done) {
          batch.push(value);
          batched += value.length;
        }
        if (batched > 0 && (done || batched >= WRITE_BATCH)) {
          await this.#conn.writer.write(concatBytes(batch, batched));
          size += batched;
          batch = [];
          batched = 0;
        }
        if (done) break;
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
    this.#log(`C: <article, ${size} octets dot-stuffed>`);
  }

  /** Sends one command line and reads its status. */
  async #command(line: Line, expect: number | null, command: string): Promise<NumericReply> {
    await this.#write(line);
    return await this.#status(expect, command);
  }

  async #write(line: Line): Promise<void> {
    assertLineSafe(line.text, "command");
    this.#log(`C: ${line.shown ?? line.text}`);
    await this.#conn.writer.write(encoder.encode(line.text + "\r\n"));
  }

  async #status(expect: number | null, command: string): Promise<NumericReply> {
    let failed: NumericReply | null = null;
    const reply = await readReply(this.#conn.reader, {
      maxLineLength: STATUS_LINE_MAX,
      maxLines: 1,
      expect: expect ?? undefined,
      error: (code, lines) => {
        failed = { code, lines };
        return new NntpReplyError(code, lines, { command });
      },
    }).catch((error) => {
      if (failed !== null) this.#log(`S: ${failed.code} ${failed.lines.join(" ")}`);
      throw error;
    });
    this.#log(`S: ${reply.code} ${reply.lines.join(" ")}`);
    if (reply.code === 400 && command !== "greeting") {
      throw new NntpReplyError(reply.code, reply.lines, { command });
    }
    return reply;
  }

  #log(line: string): void {
    this.#debug?.(line);
  }
}

function greetingOf(reply: NumericReply): NntpGreeting {
  return { code: reply.code, text: reply.lines.join(" "), postingAllowed: reply.code === 200 };
}

function parseGroupReply(reply: NumericReply, fallbackName: string): NntpGroup {
  const text = reply.lines[0] ?? "";
  const match = GROUP_REPLY_REGEXP.exec(text.trim());
  if (match === null) {
    throw new ProtocolError("BAD_REPLY", `Cannot read GROUP reply: ${JSON.stringify(text)}`);
  }
  return {
    name: match[4] ?? fallbackName,
    count: Number(match[1]),
    low: Number(match[2]),
    high: Number(match[3]),
  };
}

function parsePointer(reply: NumericReply, command: string): NntpArticlePointer {
  const text = reply.lines[0] ?? "";
  const match = POINTER_REGEXP.exec(text.trim());
  if (match === null) {
    throw new ProtocolError(
      "BAD_REPLY",
      `Cannot read ${command} reply: ${JSON.stringify(text)} has no article number`,
    );
  }
  return { number: Number(match[1]), messageId: match[2] ?? "" };
}

function parseActiveLine(line: string, command: string): NntpActiveGroup {
  const match = ACTIVE_REGEXP.exec(line.trim());
  if (match === null) throw badLine(command, line);
  return {
    name: match[1]!,
    high: Number(match[2]),
    low: Number(match[3]),
    status: match[4] ?? "y",
  };
}

function badLine(command: string, line: string): ProtocolError {
  const shown = JSON.stringify(line.length > 60 ? line.slice(0, 60) + "..." : line);
  return new ProtocolError(
    "BAD_REPLY",
    `Cannot read ${command} response: malformed line ${shown}`,
  );
}

function articleOf(pointer: NntpArticlePointer, body: ReadableStream<Uint8Array>): NntpArticle {
  const bytes = async (options: { maxSize?: number } = {}): Promise<Uint8Array> => {
    const max = options.maxSize ?? DEFAULT_BYTES_MAX;
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > max) {
          throw new ProtocolError("BODY_TOO_LARGE", `Cannot read article: it exceeds ${max} bytes`);
        }
        chunks.push(value);
      }
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error;
    } finally {
      reader.releaseLock();
    }
    return concatBytes(chunks, total);
  };
  return {
    number: pointer.number,
    messageId: pointer.messageId,
    body,
    bytes,
    text: async () => decoder.decode(await bytes()),
    async message(options?: ParseMessageOptions): Promise<MailMessage> {
      const reader = body.getReader();
      let pending: Uint8Array | null = null;
      const source = {
        async read(p: Uint8Array): Promise<number | null> {
          if (pending === null || pending.length === 0) {
            const { value, done } = await reader.read();
            if (done) return null;
            pending = value;
          }
          const n = Math.min(p.length, pending.length);
          p.set(pending.subarray(0, n));
          pending = pending.subarray(n);
          return n;
        },
      };
      try {
        return await parseMessage(source, options);
      } finally {
        // Whatever the parser left unread is drained, so the session goes on.
        await reader.cancel().catch(() => {});
        reader.releaseLock();
      }
    },
    cancel: () => body.cancel(),
  };
}

function messageIdOf(
  reply: NumericReply,
  body: Uint8Array | ReadableStream<Uint8Array>,
): string | null {
  const inReply = MESSAGE_ID_IN_TEXT_REGEXP.exec(reply.lines.join(" "));
  if (inReply !== null) return inReply[0];
  if (!(body instanceof Uint8Array)) return null;
  const head = decoder.decode(body.subarray(0, Math.min(body.length, 65536))).split(
    /\r?\n\r?\n/,
  )[0]!;
  const match = /^Message-ID:[ \t]*(<[^\s>]+>)/im.exec(head);
  return match === null ? null : match[1]!;
}

function toBody(article: NntpArticleSource): Uint8Array | ReadableStream<Uint8Array> {
  if (typeof article === "string") return encoder.encode(article);
  if (article instanceof Uint8Array || article instanceof ReadableStream) return article;
  throw new TypeError("Cannot send article: it is not a string, Uint8Array or ReadableStream");
}

function decodeChallenge(text: string): Uint8Array {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed === "=") return new Uint8Array(0);
  try {
    return Uint8Array.fromBase64(trimmed);
  } catch (error) {
    throw new ProtocolError("BAD_CHALLENGE", "Cannot authenticate: the challenge is not base64", {
      cause: error,
    });
  }
}

function base64(bytes: Uint8Array): string {
  // RFC 4643 §2.4.1: an empty response is sent as "=".
  return bytes.length === 0 ? "=" : bytes.toBase64();
}

function checkWord(value: string, what: string): void {
  if (typeof value !== "string" || !/^[\x21-\x7e]{1,64}$/.test(value)) {
    throw new TypeError(`Cannot authenticate: ${what} ${JSON.stringify(value)} is not a word`);
  }
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot create NNTP client: ${name} ${value} is not a positive number`);
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(value >= 0)) {
    throw new RangeError(`Cannot create NNTP client: ${name} ${value} is negative`);
  }
  return value;
}

function remoteHostname(conn: DuplexConn): string | undefined {
  const addr = (conn as Partial<Deno.Conn>).remoteAddr;
  return addr !== undefined && "hostname" in addr ? addr.hostname : undefined;
}

function remotePort(conn: DuplexConn): number | undefined {
  const addr = (conn as Partial<Deno.Conn>).remoteAddr;
  return addr !== undefined && "port" in addr ? addr.port : undefined;
}
