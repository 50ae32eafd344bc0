import { connectTcp, type TlsOptions } from "../net/connect_tcp.ts";
import { DotStuffingEncoderStream } from "../net/dot_stuffing.ts";
import { assertLineSafe } from "../net/line_writer.ts";
import { isLoopbackPeer } from "../net/_loopback.ts";
import { MissingExtensionError } from "../net/missing_extension_error.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { codeMatches, type NumericReply, readReply } from "../net/reply.ts";
import type { DuplexConn } from "../net/duplex_conn.ts";
import { TextConn } from "../net/text_conn.ts";
import {
  checkAddress,
  checkWord,
  CrlfNormalizer,
  isAscii,
  parseCapabilities,
  xtext,
} from "./_smtp_args.ts";
import { chooseSaslMechanism, createSaslMechanism, type SaslCredentials } from "./sasl.ts";
import { SmtpReplyError } from "./smtp_reply_error.ts";
import { concatBytes } from "../net/_bytes.ts";

/** The SMTP relay port (RFC 5321). */
export const SMTP_PORT = 25;
/** The message submission port with implicit TLS (RFC 8314). */
export const SMTPS_PORT = 465;
/** The message submission port, usually with STARTTLS (RFC 6409). */
export const SUBMISSION_PORT = 587;
/** The LMTP port (RFC 2033). */
export const LMTP_PORT = 24;

/** Options for {@linkcode SmtpClient}. */
export interface SmtpClientOptions {
  /**
   * The client's name sent with `EHLO`/`HELO`/`LHLO`: a domain name or an
   * address literal such as `[192.0.2.1]`.
   *
   * @default {"localhost"}
   */
  localName?: string;
  /**
   * Speak LMTP (RFC 2033): `LHLO` instead of `EHLO`, and one final reply per
   * recipient after the message.
   *
   * @default {false}
   */
  lmtp?: boolean;
  /**
   * The server's host name: the name checked in its certificate after
   * `STARTTLS` and sent by OAUTHBEARER. It takes part in the loopback rule
   * of `allowInsecureAuth`.
   *
   * @default {the connection's remote address, when it has one}
   */
  serverName?: string;
  /** Extra trusted CA certificates (PEM) for `STARTTLS`, such as a test server's. */
  caCerts?: string[];
  /**
   * Allow AUTH mechanisms that send the password or token readable (PLAIN,
   * LOGIN, XOAUTH2, OAUTHBEARER) on a connection that is neither TLS nor to
   * a loopback host. Loopback means: the peer's address is a loopback
   * address (127.0.0.0/8, `::1`) and the server name, when there is one, is
   * `localhost`, a loopback address or that peer address; on a transport
   * without addresses (a test duplex), a loopback server name. A loopback
   * `serverName` over a connection to another host does not count.
   *
   * @default {false}
   */
  allowInsecureAuth?: boolean;
  /**
   * Milliseconds one command may take (RFC 5321 §4.5.3.2 suggests 5 minutes).
   *
   * @default {300000}
   */
  timeout?: number;
  /**
   * Milliseconds a whole message transaction (`send`, `data`) may take.
   *
   * @default {600000}
   */
  dataTimeout?: number;
  /**
   * The longest reply line in octets, CR LF included (RFC 5321 §4.5.3.1.5).
   *
   * @default {512}
   */
  maxLineLength?: number;
  /**
   * The most octets in one reply, all lines together.
   *
   * @default {102400}
   */
  maxReplySize?: number;
  /**
   * The largest BDAT chunk in octets.
   *
   * @default {262144}
   */
  chunkSize?: number;
  /**
   * Receives each line sent (`C: ...`) and received (`S: ...`). AUTH
   * arguments and responses show as `<redacted>`; message content is not
   * shown, only its size.
   */
  debug?: (line: string) => void;
}

/** Options for {@linkcode SmtpClient.connect}. */
export interface SmtpConnectOptions extends SmtpClientOptions {
  /**
   * The server to dial.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port.
   *
   * @default {25, or 465 with `tls`, or 24 with `lmtp`}
   */
  port?: number;
  /**
   * `true` or TLS options: TLS from the first byte (SMTPS, RFC 8314).
   * `false`: stay in clear, never `STARTTLS` (the only way to). Absent:
   * `STARTTLS` (RFC 3207) when the server offers it, with the certificate
   * verified (`caCerts` for a private CA): a handshake or verification that
   * fails is an error, never a fallback to clear text. A server that
   * answers `STARTTLS` with a refusal leaves the session in clear, where
   * AUTH still sends no readable secret to a host that is not loopback.
   *
   * @default {undefined (STARTTLS when offered)}
   */
  tls?: boolean | TlsOptions;
  /**
   * `false` is the same as `tls: false`: stay in clear.
   *
   * @deprecated Use `tls: false`.
   * @default {true}
   */
  starttls?: boolean;
  /**
   * Fail unless the session is TLS: when the server does not offer or
   * refuses `STARTTLS`, the connection is closed without sending anything
   * more. Contradicts `tls: false` (a TypeError).
   *
   * @default {false}
   */
  requireTls?: boolean;
  /** Log in with `AUTH` after the greeting (and TLS). */
  credentials?: SaslCredentials;
  /**
   * The SASL mechanism to use instead of the best one advertised.
   *
   * @default {the best advertised one that the credentials serve}
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
export interface SmtpCommandOptions {
  /** Aborts the command; the connection is then closed. */
  signal?: AbortSignal;
  /**
   * Milliseconds the command may take; then the connection is closed.
   *
   * @default {the client's `timeout` (`dataTimeout` for message transfers)}
   */
  timeout?: number;
}

/** DSN `NOTIFY` values (RFC 3461 §4.1). */
export type SmtpDsnNotify = "NEVER" | "SUCCESS" | "FAILURE" | "DELAY";

/** Options for `MAIL FROM` (RFC 5321 §4.1.1.2). */
export interface SmtpMailOptions extends SmtpCommandOptions {
  /** The message size in octets, sent as `SIZE=` when the server has SIZE (RFC 1870). */
  size?: number;
  /**
   * The `BODY=` type (RFC 6152, RFC 3030), sent when the server has the
   * extension. `"8BITMIME"` and `"BINARYMIME"` throw when it does not.
   *
   * @default {"8BITMIME" when advertised, otherwise none}
   */
  body?: "7BIT" | "8BITMIME" | "BINARYMIME";
  /**
   * Send `SMTPUTF8` (RFC 6531): needed for non-ASCII addresses or headers.
   *
   * @default {true when an address is not ASCII}
   */
  smtputf8?: boolean;
  /** DSN `RET=`: return the full message or only its headers (RFC 3461 §4.3). */
  dsnReturn?: "FULL" | "HDRS";
  /** DSN `ENVID=`: an identifier returned in delivery status notifications. */
  envelopeId?: string;
}

/** Options for `RCPT TO` (RFC 5321 §4.1.1.3). */
export interface SmtpRcptOptions extends SmtpCommandOptions {
  /** DSN `NOTIFY=` (RFC 3461 §4.1), sent when the server has DSN. */
  notify?: readonly SmtpDsnNotify[];
  /** DSN `ORCPT=rfc822;...`: the original recipient (RFC 3461 §4.2). */
  originalRecipient?: string;
}

/** The sender and recipients of one message. */
export interface SmtpEnvelope {
  /** The reverse path: the sender's address, or `""` for a bounce. */
  from: string;
  /** The recipients' addresses. */
  to: readonly string[];
}

/** Options for {@linkcode SmtpClient.send}. */
export interface SmtpSendOptions extends SmtpCommandOptions {
  /** The `BODY=` type; see {@linkcode SmtpMailOptions.body}. */
  body?: "7BIT" | "8BITMIME" | "BINARYMIME";
  /** Send `SMTPUTF8`; by default when an address is not ASCII. */
  smtputf8?: boolean;
  /** The message size for `SIZE=`; by default the length of a byte or string message. */
  size?: number;
  /** DSN `RET=`. */
  dsnReturn?: "FULL" | "HDRS";
  /** DSN `ENVID=`. */
  envelopeId?: string;
  /** DSN `NOTIFY=` for every recipient. */
  notify?: readonly SmtpDsnNotify[];
  /**
   * Send MAIL, RCPT and DATA (or the first BDAT) in one write when the server
   * has PIPELINING (RFC 2920).
   *
   * @default {true}
   */
  pipelining?: boolean;
  /**
   * Send the message with BDAT when the server has CHUNKING (RFC 3030).
   *
   * @default {true}
   */
  chunking?: boolean;
}

/** The outcome of one message transaction, per recipient. */
export interface SmtpSendResult {
  /** The recipients that took the message. */
  accepted: string[];
  /**
   * The recipients that were refused, at `RCPT TO` or, in LMTP, after the
   * message; like the dictionary Python's `sendmail` returns.
   */
  refused: Map<string, SmtpReplyError>;
  /** The server's final reply to the message (in LMTP, the last one read). */
  reply: NumericReply;
}

/** A finished message for {@linkcode SmtpClient.send}: bytes, text (sent as UTF-8) or a stream. */
export type SmtpMessage = Uint8Array | string | ReadableStream<Uint8Array>;

const encoder = new TextEncoder();
const DOT_LINE = encoder.encode(".\r\n");
const EMPTY = new Uint8Array(0);
const NOTIFY_VALUES = new Set(["NEVER", "SUCCESS", "FAILURE", "DELAY"]);
const BODY_VALUES = new Set(["7BIT", "8BITMIME", "BINARYMIME"]);
const MAX_AUTH_STEPS = 10;
/** Errors decided on this side, or after a clean AUTH cancel: the session is fine. */
const SESSION_INTACT_CODES = new Set([
  "BAD_CHALLENGE",
  "SASL_UNEXPECTED_CHALLENGE",
]);
const WRITE_BATCH = 65536;

interface Line {
  /** The command as sent. */
  text: string;
  /** What the debug log shows instead, for secrets. */
  shown?: string;
}

/**
 * An ESMTP client (RFC 5321), the modern `smtplib.SMTP`: EHLO with HELO
 * fallback, STARTTLS (RFC 3207), AUTH with SASL (RFC 4954), SIZE, 8BITMIME,
 * SMTPUTF8, DSN, PIPELINING (RFC 2920), CHUNKING (RFC 3030), per-recipient
 * results, and LMTP (RFC 2033). It takes any duplex (a `Deno.Conn`, a test
 * double); {@linkcode SmtpClient.connect} dials.
 *
 * One command runs at a time; each is bounded by a timeout and takes an
 * `AbortSignal`. Every argument is checked for CR, LF and NUL before a byte
 * is written, and message content is always dot-stuffed and ends with
 * exactly CR LF `.` CR LF, so no message can end DATA early.
 *
 * @example Sending a message
 * ```ts ignore
 * import { SmtpClient } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * await using smtp = await SmtpClient.connect({ hostname: "127.0.0.1", port: 2525 });
 * const result = await smtp.send(
 *   { from: "scully@example.test", to: ["mulder@example.test"] },
 *   "Subject: hello\r\n\r\nThe truth is out there.\r\n",
 * );
 * assertEquals(result.accepted, ["mulder@example.test"]);
 * ```
 *
 * @example Talking to a scripted server (each reply after its command)
 * ```ts
 * import { SmtpClient } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const encoder = new TextEncoder();
 * const replies = ["250-mx\r\n250 8BITMIME\r\n", "250 2.0.0 OK\r\n"];
 * const sent: string[] = [];
 * let server!: ReadableStreamDefaultController<Uint8Array>;
 * const smtp = new SmtpClient({
 *   readable: new ReadableStream({
 *     start(controller) {
 *       server = controller;
 *       controller.enqueue(encoder.encode("220 mx ready\r\n"));
 *     },
 *   }),
 *   writable: new WritableStream({
 *     write(chunk) {
 *       sent.push(new TextDecoder().decode(chunk));
 *       server.enqueue(encoder.encode(replies.shift()!));
 *     },
 *   }),
 *   close() {},
 * });
 * await smtp.ehlo();
 * assertEquals(smtp.capabilities.has("8BITMIME"), true);
 * await smtp.noop();
 * assertEquals(sent, ["EHLO localhost\r\n", "NOOP\r\n"]);
 * smtp.close();
 * ```
 */
export class SmtpClient implements AsyncDisposable {
  #conn: TextConn;
  #localName: string;
  #lmtp: boolean;
  #serverName: string | undefined;
  #caCerts: string[] | undefined;
  #allowInsecureAuth: boolean;
  #timeout: number;
  #dataTimeout: number;
  #maxLineLength: number;
  #maxReplySize: number;
  #chunkSize: number;
  #debug: ((line: string) => void) | undefined;
  #greeting: string[] | null = null;
  #hello: NumericReply | null = null;
  #esmtp = false;
  #capabilities = new Map<string, string>();
  #authenticated = false;
  /** Recipients accepted in the current transaction, for LMTP's final replies. */
  #recipients: string[] = [];
  #utf8Transaction = false;

  /**
   * Wraps a connection to an SMTP or LMTP server. Nothing is read or sent
   * until the first command, which reads the greeting first.
   *
   * @param conn The connection; the client owns it from now on.
   * @param options Names, limits, timeouts and the debug log.
   * @throws {TypeError} If `localName` is not a printable word.
   * @throws {RangeError} If a limit is not a positive integer.
   */
  constructor(conn: DuplexConn, options: SmtpClientOptions = {}) {
    this.#localName = checkWord(options.localName ?? "localhost", "local name");
    this.#lmtp = options.lmtp ?? false;
    this.#serverName = options.serverName ?? remoteHostname(conn);
    this.#caCerts = options.caCerts;
    this.#allowInsecureAuth = options.allowInsecureAuth ?? false;
    this.#timeout = positive(options.timeout ?? 300000, "timeout");
    this.#dataTimeout = positive(options.dataTimeout ?? 600000, "dataTimeout");
    this.#maxLineLength = positive(options.maxLineLength ?? 512, "maxLineLength");
    this.#maxReplySize = positive(options.maxReplySize ?? 102400, "maxReplySize");
    this.#chunkSize = positive(options.chunkSize ?? 262144, "chunkSize");
    this.#debug = options.debug;
    // A reply that arrives while no command is in flight answers nothing we
    // sent: the next command fails instead of reading it as its answer.
    this.#conn = new TextConn(conn, { unsolicited: "error" });
  }

  /**
   * Dials a server, reads its greeting, says EHLO, upgrades with STARTTLS
   * when offered (or implicit TLS with `tls`), and logs in when given
   * credentials: the usual opening of a submission session.
   *
   * @param options Where to connect, TLS, credentials and the client options.
   * @returns A client ready for `send` or `mail`.
   * @throws {SmtpReplyError} When the server refuses the greeting, EHLO,
   *   STARTTLS (with `requireTls`) or AUTH.
   * @throws {MissingExtensionError} `"STARTTLS"` with `requireTls`, or
   *   `"SASL"` when no offered mechanism qualifies (also when every one
   *   would send the password readable to a host that is not loopback).
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` when the server sends
   *   data before the handshake, or malformed replies.
   * @throws {TypeError} For `requireTls` with `tls: false`.
   * @throws {Deno.errors.InvalidData} When the certificate does not verify
   *   (implicit TLS or STARTTLS).
   * @throws {DOMException} The signal's reason or a `TimeoutError`.
   *
   * @example Submitting over STARTTLS with a login
   * ```ts ignore
   * import { SmtpClient } from "@inetkit/inetkit/mail";
   * import { assert } from "@std/assert";
   *
   * await using smtp = await SmtpClient.connect({
   *   hostname: "mail.example.test",
   *   port: 587,
   *   requireTls: true,
   *   credentials: { username: "mulder", password: Deno.env.get("SMTP_PASSWORD")! },
   * });
   * assert(smtp.tls && smtp.authenticated);
   * ```
   */
  static async connect(options: SmtpConnectOptions = {}): Promise<SmtpClient> {
    if (options.tls === false && options.requireTls) {
      throw new TypeError("Cannot connect: requireTls and tls: false exclude each other");
    }
    const hostname = options.hostname ?? "127.0.0.1";
    const port = options.port ?? (options.tls ? SMTPS_PORT : options.lmtp ? LMTP_PORT : SMTP_PORT);
    const tls = options.tls === true
      ? { caCerts: options.caCerts }
      : options.tls
      ? { caCerts: options.caCerts, ...options.tls }
      : undefined;
    const conn = await connectTcp({
      hostname,
      port,
      tls,
      timeout: options.connectTimeout,
      signal: options.signal,
    });
    const client = new SmtpClient(conn, {
      ...options,
      serverName: options.serverName ?? tls?.hostname ?? hostname,
    });
    try {
      const signal = options.signal;
      await client.ehlo({ signal });
      // Only an explicit tls: false (or the older starttls: false) stays in clear.
      const clear = options.tls === false || options.starttls === false;
      if (!client.tls && (options.requireTls || !clear)) {
        if (client.capabilities.has("STARTTLS")) {
          try {
            await client.startTls({ signal });
          } catch (error) {
            // Opportunistic TLS goes on in clear after a refusal, never
            // after a failed handshake (the connection is closed then).
            if (options.requireTls || !(error instanceof SmtpReplyError) || client.closed) {
              throw error;
            }
          }
        } else if (options.requireTls) {
          throw new MissingExtensionError(
            "STARTTLS",
            "Cannot start TLS: the server does not offer STARTTLS",
          );
        }
      }
      if (options.credentials !== undefined) {
        await client.auth(options.credentials, { mechanism: options.mechanism, signal });
      }
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** The greeting's lines, or `null` before the first command. */
  get greeting(): readonly string[] | null {
    return this.#greeting;
  }

  /**
   * The extensions from the last EHLO/LHLO reply: upper-case keyword to its
   * parameters (`"SIZE"` → `"10240000"`, `"AUTH"` → `"PLAIN LOGIN"`). Empty
   * after a HELO fallback.
   */
  get capabilities(): ReadonlyMap<string, string> {
    return this.#capabilities;
  }

  /** Whether the server answered EHLO (or LHLO), not only HELO. */
  get esmtp(): boolean {
    return this.#esmtp;
  }

  /** Whether the connection is TLS (implicit or after STARTTLS). */
  get tls(): boolean {
    return this.#conn.tls;
  }

  /** Whether AUTH succeeded. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#conn.closed;
  }

  /** The server's SIZE limit in octets, 0 for none stated, `undefined` without SIZE. */
  get maxMessageSize(): number | undefined {
    const size = this.#capabilities.get("SIZE");
    if (size === undefined) return undefined;
    const n = Number(size);
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  }

  /**
   * Says EHLO (LHLO in LMTP mode) and records the extensions; falls back to
   * HELO when the server refuses EHLO with a 5xx reply (RFC 5321 §4.1.1.1).
   * Other commands say EHLO first when it has not been said.
   *
   * @param options A signal and a timeout.
   * @returns The EHLO (or HELO) reply.
   * @throws {SmtpReplyError} When the server refuses both.
   */
  ehlo(options: SmtpCommandOptions = {}): Promise<NumericReply> {
    return this.#run(() => this.#ehlo(), options);
  }

  /**
   * Upgrades the connection with STARTTLS (RFC 3207) and says EHLO again, so
   * the extensions are re-read over TLS (§4.2). Bytes the server sends after
   * its 220 reply and before the handshake are an injection attack: the
   * connection is closed.
   *
   * @param options A signal, a timeout and TLS settings (server name, CAs).
   * @throws {SmtpReplyError} When the server refuses STARTTLS.
   * @throws {MissingExtensionError} `"STARTTLS"` when the server does not
   *   offer it.
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` for early bytes.
   * @throws {TypeError} When the connection is already TLS, or the transport
   *   is not a TCP connection.
   */
  startTls(options: SmtpCommandOptions & { tls?: TlsOptions } = {}): Promise<void> {
    return this.#run(async () => {
      await this.#ensureHello();
      if (this.#conn.tls) throw new TypeError("Cannot start TLS: the connection is already TLS");
      if (!this.#capabilities.has("STARTTLS")) {
        throw new MissingExtensionError(
          "STARTTLS",
          "Cannot start TLS: the server does not offer STARTTLS",
        );
      }
      await this.#command({ text: "STARTTLS" }, 220, "STARTTLS");
      await this.#conn.startTls({
        hostname: options.tls?.hostname ?? this.#serverName,
        caCerts: options.tls?.caCerts ?? this.#caCerts,
        alpnProtocols: options.tls?.alpnProtocols,
      });
      this.#forgetSession();
      await this.#ehlo();
    }, options);
  }

  /** Whether a readable secret may go: over TLS, to a loopback host, or when allowed. */
  #maySendSecret(): boolean {
    return this.#conn.tls || this.#allowInsecureAuth ||
      isLoopbackPeer(this.#conn.conn, this.#serverName);
  }

  /**
   * Logs in with SASL (RFC 4954): the best mechanism the server advertises
   * and the credentials serve, or the one named. Mechanisms that send the
   * secret readable are used only over TLS, to a loopback host (see
   * `allowInsecureAuth`), or with `allowInsecureAuth`. The debug log shows
   * `<redacted>` for every AUTH argument and response.
   *
   * @param credentials The user name and password or token.
   * @param options The mechanism, a signal and a timeout.
   * @returns The server's 235 reply.
   * @throws {SmtpReplyError} When the server refuses the login.
   * @throws {MissingExtensionError} `"SASL"` when no advertised mechanism
   *   qualifies.
   * @throws {ProtocolError} `"BAD_CHALLENGE"` for a challenge that is not
   *   base64, `"SASL_UNEXPECTED_CHALLENGE"` for too many challenges.
   * @throws {TypeError} For unusable credentials, or a named mechanism that
   *   would expose the secret on an unprotected connection.
   */
  async auth(
    credentials: SaslCredentials,
    options: SmtpCommandOptions & { mechanism?: string } = {},
  ): Promise<NumericReply> {
    if (options.mechanism !== undefined) checkWord(options.mechanism, "SASL mechanism");
    return await this.#run(async () => {
      await this.#ensureHello();
      const secure = this.#maySendSecret();
      const advertised = (this.#capabilities.get("AUTH") ?? "").split(/\s+/).filter(Boolean);
      let name = options.mechanism;
      if (name === undefined) {
        name = chooseSaslMechanism(advertised, credentials, { secure }) ?? undefined;
        if (name === undefined) {
          throw new MissingExtensionError(
            "SASL",
            advertised.length === 0
              ? "Cannot authenticate: the server does not offer AUTH"
              : `Cannot authenticate: no usable mechanism among ${advertised.join(" ")}` +
                (secure ? "" : " on a connection without TLS"),
            { offered: advertised },
          );
        }
      }
      const sasl = createSaslMechanism(name, credentials, {
        host: this.#serverName,
        port: remotePort(this.#conn.conn),
      });
      if (sasl.sendsSecret && !secure) {
        throw new TypeError(
          `Cannot authenticate with ${sasl.name}: it would send the secret without TLS`,
        );
      }
      const initial = sasl.initialResponse();
      const command = `AUTH ${sasl.name}`;
      let reply = await this.#command(
        {
          text: initial === null ? command : `${command} ${base64(initial, true)}`,
          shown: initial === null ? command : `${command} <redacted>`,
        },
        null,
        command,
      );
      for (let step = 0; reply.code === 334; step++) {
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
          // Cancel the exchange (RFC 4954 §4), then report the cause.
          await this.#command({ text: "*" }, null, command);
          throw error;
        }
        reply = await this.#command(
          { text: base64(response, false), shown: "<redacted>" },
          null,
          command,
        );
      }
      if (reply.code !== 235) {
        throw new SmtpReplyError(reply.code, reply.lines, { command: `AUTH ${sasl.name}` });
      }
      this.#authenticated = true;
      return reply;
    }, options);
  }

  /**
   * Starts a mail transaction: `MAIL FROM:<from>` (RFC 5321 §4.1.1.2) with
   * the parameters the server supports: `SIZE`, `BODY`, `SMTPUTF8`, `RET` and
   * `ENVID`.
   *
   * @param from The sender's address, or `""` for the null reverse path.
   * @param options The message size, body type, SMTPUTF8, DSN parameters,
   *   a signal and a timeout.
   * @returns The 250 reply.
   * @throws {SmtpReplyError} When the server refuses the sender.
   * @throws {TypeError} For an address with CR, LF, NUL or angle brackets,
   *   a non-ASCII address without SMTPUTF8 support, or a body type the
   *   server lacks.
   * @throws {RangeError} When `size` exceeds the server's SIZE limit.
   */
  async mail(from: string, options: SmtpMailOptions = {}): Promise<NumericReply> {
    checkAddress(from, "MAIL FROM");
    return await this.#run(async () => {
      await this.#ensureHello();
      const line = this.#mailLine(from, options, options.smtputf8 ?? !isAscii(from));
      const reply = await this.#command({ text: line }, 25, "MAIL FROM");
      this.#recipients = [];
      return reply;
    }, options);
  }

  /**
   * Adds a recipient: `RCPT TO:<to>` (RFC 5321 §4.1.1.3), with DSN
   * `NOTIFY`/`ORCPT` when the server has DSN.
   *
   * @param to The recipient's address.
   * @param options DSN parameters, a signal and a timeout.
   * @returns The 250 or 251 reply.
   * @throws {SmtpReplyError} When the server refuses the recipient.
   * @throws {TypeError} For an address with CR, LF, NUL or angle brackets,
   *   or a non-ASCII address outside an SMTPUTF8 transaction.
   */
  async rcpt(to: string, options: SmtpRcptOptions = {}): Promise<NumericReply> {
    checkAddress(to, "RCPT TO");
    return await this.#run(async () => {
      await this.#ensureHello();
      this.#checkRecipientCharset(to);
      const line = this.#rcptLine(to, options);
      const reply = await this.#command({ text: line }, 25, "RCPT TO", to);
      this.#recipients.push(to);
      return reply;
    }, options);
  }

  /**
   * Sends the message with `DATA` (RFC 5321 §4.1.1.4): waits for 354, then
   * streams the content with every line end made CR LF, every leading dot
   * doubled, and the end marked by exactly CR LF `.` CR LF.
   *
   * @param message The message: bytes, text (sent as UTF-8) or a stream.
   * @param options A signal and a timeout (`dataTimeout` by default).
   * @returns The final reply; in LMTP mode one per accepted recipient, in
   *   RCPT order, refusals included (RFC 2033 §4.2).
   * @throws {SmtpReplyError} When the server refuses DATA or, in SMTP
   *   mode, the message.
   */
  async data(message: SmtpMessage, options: SmtpCommandOptions = {}): Promise<NumericReply[]> {
    const body = toBody(message);
    return await this.#run(async () => {
      await this.#command({ text: "DATA" }, 354, "DATA");
      await this.#writeDotStuffed(body);
      return await this.#finalReplies("DATA");
    }, { signal: options.signal, timeout: options.timeout ?? this.#dataTimeout });
  }

  /**
   * Sends one chunk with `BDAT` (RFC 3030 §2): the octets as they are, no
   * dot-stuffing and no line-end changes.
   *
   * @param chunk The octets of this chunk.
   * @param options `last` for the final chunk, a signal and a timeout.
   * @returns The reply; after the last chunk in LMTP mode, one per accepted
   *   recipient.
   * @throws {SmtpReplyError} When the server refuses the chunk or, in SMTP
   *   mode, the message.
   * @throws {MissingExtensionError} `"CHUNKING"` without CHUNKING.
   */
  bdat(
    chunk: Uint8Array,
    options: SmtpCommandOptions & { last?: boolean } = {},
  ): Promise<NumericReply[]> {
    return this.#run(async () => {
      await this.#ensureHello();
      if (!this.#capabilities.has("CHUNKING")) {
        throw new MissingExtensionError(
          "CHUNKING",
          "Cannot send BDAT: the server does not offer CHUNKING",
        );
      }
      await this.#writeBdat(chunk, options.last ?? false);
      if (options.last) return await this.#finalReplies("BDAT");
      return [await this.#reply(250, "BDAT")];
    }, { signal: options.signal, timeout: options.timeout ?? this.#dataTimeout });
  }

  /**
   * Sends one message: `MAIL FROM`, a `RCPT TO` per recipient, and the
   * content with `DATA` or `BDAT`, pipelined when the server allows. Refused
   * recipients are reported, not thrown, as long as one is accepted (the
   * classic `sendmail`).
   *
   * @param envelope The sender and the recipients.
   * @param message The message: bytes, text (UTF-8) or a stream.
   * @param options Parameters, pipelining and chunking switches, a signal
   *   and a timeout (`dataTimeout` by default).
   * @returns Who accepted, who refused, and the final reply.
   * @throws {SmtpReplyError} When the sender, every recipient, or the
   *   message is refused (after `RSET`, the connection stays usable).
   * @throws {TypeError} For a bad address or an empty recipient list.
   *
   * @example Reporting a refused recipient
   * ```ts
   * import { SmtpClient } from "@inetkit/inetkit/mail";
   * import { assertEquals } from "@std/assert";
   *
   * const script = [
   *   "220 mx\r\n", "250-mx\r\n250 PIPELINING\r\n",
   *   "250 ok\r\n", "250 ok\r\n", "550 5.1.1 no such user\r\n", "354 go\r\n", "250 queued\r\n",
   * ].join("");
   * const smtp = new SmtpClient({
   *   readable: ReadableStream.from([new TextEncoder().encode(script)]),
   *   writable: new WritableStream(),
   *   close() {},
   * });
   * const result = await smtp.send(
   *   { from: "a@example.test", to: ["b@example.test", "c@example.test"] },
   *   "Subject: hi\r\n\r\nhello\r\n",
   * );
   * assertEquals(result.accepted, ["b@example.test"]);
   * assertEquals(result.refused.get("c@example.test")?.enhancedCode, "5.1.1");
   * smtp.close();
   * ```
   */
  async send(
    envelope: SmtpEnvelope,
    message: SmtpMessage,
    options: SmtpSendOptions = {},
  ): Promise<SmtpSendResult> {
    const from = checkAddress(envelope?.from, "MAIL FROM");
    const to = envelope.to;
    if (!Array.isArray(to) || to.length === 0) {
      throw new TypeError("Cannot send message: the envelope has no recipients");
    }
    for (const address of to) checkAddress(address, "RCPT TO");
    const body = toBody(message);
    return await this.#run(async () => {
      await this.#ensureHello();
      const utf8 = options.smtputf8 ?? (!isAscii(from) || !to.every(isAscii));
      const size = options.size ?? (body instanceof Uint8Array ? body.length : undefined);
      const mailLine = this.#mailLine(from, { ...options, size }, utf8);
      const rcptLines = to.map((address) => this.#rcptLine(address, options));
      const binary = options.body === "BINARYMIME";
      const chunking = this.#capabilities.has("CHUNKING") && ((options.chunking ?? true) || binary);
      if (binary && !chunking) {
        throw new TypeError("Cannot send BINARYMIME: the server does not offer CHUNKING");
      }
      const pipelining = (options.pipelining ?? true) && this.#capabilities.has("PIPELINING");
      return chunking
        ? await this.#sendChunked(mailLine, to, rcptLines, body, pipelining, !binary)
        : await this.#sendData(mailLine, to, rcptLines, body, pipelining);
    }, { signal: options.signal, timeout: options.timeout ?? this.#dataTimeout }).catch(
      async (error) => {
        // A stream that was never read is the caller's no longer: cancel it.
        if (body instanceof ReadableStream && !body.locked) {
          await body.cancel(error).catch(() => {});
        }
        throw error;
      },
    );
  }

  /**
   * Aborts the current transaction with `RSET` (RFC 5321 §4.1.1.5).
   *
   * @param options A signal and a timeout.
   * @returns The 250 reply.
   * @throws {SmtpReplyError} When the server refuses.
   */
  rset(options: SmtpCommandOptions = {}): Promise<NumericReply> {
    return this.#run(() => this.#rset(), options);
  }

  /**
   * Sends `NOOP` (RFC 5321 §4.1.1.9), to keep the connection alive or check it.
   *
   * @param options A signal and a timeout.
   * @returns The 250 reply.
   * @throws {SmtpReplyError} When the server refuses.
   */
  noop(options: SmtpCommandOptions = {}): Promise<NumericReply> {
    return this.#run(() => this.#command({ text: "NOOP" }, 25, "NOOP"), options);
  }

  /**
   * Asks the server to verify an address with `VRFY` (RFC 5321 §4.1.1.6).
   * Most servers answer 252 (cannot verify, will try).
   *
   * @param address The user name or address.
   * @param options A signal and a timeout.
   * @returns The 250, 251 or 252 reply.
   * @throws {SmtpReplyError} When the server refuses (550, 502...).
   * @throws {TypeError} For an argument with CR, LF or NUL.
   */
  async vrfy(address: string, options: SmtpCommandOptions = {}): Promise<NumericReply> {
    checkAddress(address, "VRFY");
    return await this.#run(async () => {
      await this.#ensureHello();
      const reply = await this.#command({ text: `VRFY ${address}` }, null, "VRFY");
      if (reply.code < 250 || reply.code > 252) {
        throw new SmtpReplyError(reply.code, reply.lines, { command: "VRFY" });
      }
      return reply;
    }, options);
  }

  /**
   * Says `QUIT` (RFC 5321 §4.1.1.10), reads the reply and closes the
   * connection. A server that hangs up without replying is not an error.
   *
   * @param options A signal and a timeout.
   * @returns The 221 reply, or `null` when the server just closed.
   */
  async quit(options: SmtpCommandOptions = {}): Promise<NumericReply | null> {
    // Called while another command runs, it fails and leaves that one alone.
    const busy = this.#conn.busy;
    try {
      return await this.#run(async () => {
        await this.#write([{ text: "QUIT" }]);
        try {
          return await this.#reply(null, "QUIT");
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

  async #run<T>(fn: () => Promise<T>, options: SmtpCommandOptions): Promise<T> {
    let started = false;
    try {
      return await this.#conn.run(async () => {
        started = true;
        if (this.#greeting === null) await this.#readGreeting();
        return await fn();
      }, { signal: options.signal, timeout: options.timeout ?? this.#timeout });
    } catch (error) {
      // A refusal leaves the session usable; anything else (a broken reply,
      // an I/O error, an abort) leaves it in an unknown state. 421 means
      // the server is closing.
      const keep = !started || error instanceof TypeError || error instanceof RangeError ||
        error instanceof SmtpReplyError && error.code !== 421 ||
        error instanceof MissingExtensionError ||
        error instanceof ProtocolError && SESSION_INTACT_CODES.has(error.code);
      if (!keep) this.#conn.close();
      throw error;
    }
  }

  async #readGreeting(): Promise<void> {
    const reply = await this.#reply(null, "greeting");
    if (reply.code !== 220) {
      throw new SmtpReplyError(reply.code, reply.lines, {
        message: `Cannot start session: server replied ${reply.code} ${reply.lines.join(" ")}`,
      });
    }
    this.#greeting = reply.lines;
  }

  async #ensureHello(): Promise<void> {
    if (this.#hello === null) await this.#ehlo();
  }

  async #ehlo(): Promise<NumericReply> {
    const verb = this.#lmtp ? "LHLO" : "EHLO";
    const reply = await this.#command({ text: `${verb} ${this.#localName}` }, null, verb);
    if (reply.code === 250) {
      this.#hello = reply;
      this.#esmtp = true;
      this.#capabilities = parseCapabilities(reply.lines);
      return reply;
    }
    if (this.#lmtp || reply.code < 500) {
      throw new SmtpReplyError(reply.code, reply.lines, { command: verb });
    }
    const helo = await this.#command({ text: `HELO ${this.#localName}` }, 25, "HELO");
    this.#hello = helo;
    this.#esmtp = false;
    this.#capabilities = new Map();
    return helo;
  }

  #forgetSession(): void {
    this.#hello = null;
    this.#esmtp = false;
    this.#capabilities = new Map();
    this.#authenticated = false;
  }

  async #rset(): Promise<NumericReply> {
    this.#recipients = [];
    this.#utf8Transaction = false;
    return await this.#command({ text: "RSET" }, 25, "RSET");
  }

  #mailLine(from: string, options: SmtpMailOptions, utf8: boolean): string {
    const caps = this.#capabilities;
    let line = `MAIL FROM:<${from}>`;
    if (options.size !== undefined) {
      if (!Number.isSafeInteger(options.size) || options.size < 0) {
        throw new RangeError(`Cannot send MAIL FROM: size ${options.size} is not an integer >= 0`);
      }
      const limit = this.maxMessageSize;
      if (limit !== undefined) {
        if (limit > 0 && options.size > limit) {
          throw new RangeError(
            `Cannot send message: ${options.size} octets exceed the server's limit of ${limit}`,
          );
        }
        line += ` SIZE=${options.size}`;
      }
    }
    const body = options.body;
    if (body !== undefined && !BODY_VALUES.has(body)) {
      throw new TypeError(`Cannot send MAIL FROM: unknown body type ${JSON.stringify(body)}`);
    }
    if (body === "BINARYMIME" && !caps.has("BINARYMIME")) {
      throw new TypeError("Cannot send MAIL FROM: the server does not offer BINARYMIME");
    }
    if (body === "8BITMIME" && !caps.has("8BITMIME")) {
      throw new TypeError("Cannot send MAIL FROM: the server does not offer 8BITMIME");
    }
    if (body === "7BIT" ? caps.has("8BITMIME") : body !== undefined || caps.has("8BITMIME")) {
      line += ` BODY=${body ?? "8BITMIME"}`;
    }
    if (utf8) {
      if (!caps.has("SMTPUTF8")) {
        throw new TypeError(
          `Cannot send MAIL FROM: the message needs SMTPUTF8, which the server does not offer`,
        );
      }
      line += " SMTPUTF8";
    }
    if (caps.has("DSN")) {
      if (options.dsnReturn !== undefined) {
        if (options.dsnReturn !== "FULL" && options.dsnReturn !== "HDRS") {
          throw new TypeError(
            `Cannot send MAIL FROM: RET must be FULL or HDRS, not ${
              JSON.stringify(options.dsnReturn)
            }`,
          );
        }
        line += ` RET=${options.dsnReturn}`;
      }
      if (options.envelopeId !== undefined) {
        line += ` ENVID=${xtext(options.envelopeId, "ENVID", 100)}`;
      }
    }
    assertLineSafe(line, "MAIL FROM");
    this.#utf8Transaction = utf8;
    return line;
  }

  #rcptLine(to: string, options: SmtpRcptOptions): string {
    let line = `RCPT TO:<${to}>`;
    if (options.notify !== undefined) {
      const notify = [...options.notify];
      if (
        notify.length === 0 || !notify.every((n) => NOTIFY_VALUES.has(n)) ||
        notify.includes("NEVER") && notify.length > 1
      ) {
        throw new TypeError(
          `Cannot send RCPT TO: NOTIFY must be NEVER or some of SUCCESS, FAILURE, DELAY, not ${
            JSON.stringify(notify)
          }`,
        );
      }
      if (this.#capabilities.has("DSN")) line += ` NOTIFY=${notify.join(",")}`;
    }
    if (options.originalRecipient !== undefined && this.#capabilities.has("DSN")) {
      line += ` ORCPT=rfc822;${xtext(options.originalRecipient, "ORCPT", 500 - 7)}`;
    }
    assertLineSafe(line, "RCPT TO");
    return line;
  }

  /** Checks, inside a transaction, that a non-ASCII recipient rides on SMTPUTF8. */
  #checkRecipientCharset(to: string): void {
    if (!isAscii(to) && !this.#utf8Transaction) {
      throw new TypeError(
        `Cannot send RCPT TO: address ${JSON.stringify(to)} needs SMTPUTF8 on MAIL FROM`,
      );
    }
  }

  async #sendData(
    mailLine: string,
    to: readonly string[],
    rcptLines: string[],
    body: Uint8Array | ReadableStream<Uint8Array>,
    pipelining: boolean,
  ): Promise<SmtpSendResult> {
    const refused = new Map<string, SmtpReplyError>();
    let accepted: string[];
    let dataReply: NumericReply;
    if (pipelining) {
      await this.#write([
        { text: mailLine },
        ...rcptLines.map((text) => ({ text })),
        { text: "DATA" },
      ]);
      const mailReply = await this.#reply(null, "MAIL FROM");
      accepted = await this.#readRcptReplies(to, refused);
      dataReply = await this.#reply(null, "DATA");
      const mailError = replyError(mailReply, 25, "MAIL FROM");
      if (mailError !== null || accepted.length === 0) {
        // RFC 2920 §3.1: a server that took DATA anyway gets an empty message.
        if (dataReply.code === 354) {
          await this.#conn.writer.write(DOT_LINE);
          this.#log("C: .");
          await this.#reply(null, "DATA");
        }
        if (mailError !== null) throw mailError;
        await this.#rset();
        throw allRefused(refused);
      }
    } else {
      accepted = await this.#envelope(mailLine, to, rcptLines, refused);
      await this.#write([{ text: "DATA" }]);
      dataReply = await this.#reply(null, "DATA");
    }
    if (dataReply.code !== 354) {
      await this.#rset();
      throw new SmtpReplyError(dataReply.code, dataReply.lines, { command: "DATA" });
    }
    this.#recipients = accepted;
    await this.#writeDotStuffed(body);
    return await this.#finish(accepted, refused, "DATA");
  }

  async #sendChunked(
    mailLine: string,
    to: readonly string[],
    rcptLines: string[],
    body: Uint8Array | ReadableStream<Uint8Array>,
    pipelining: boolean,
    normalize: boolean,
  ): Promise<SmtpSendResult> {
    const refused = new Map<string, SmtpReplyError>();
    const chunks = bdatChunks(body, this.#chunkSize, normalize);
    try {
      let accepted: string[];
      let outstanding = 0;
      let first = await chunks.next();
      if (pipelining) {
        const { value, last } = first.value!;
        await this.#write([{ text: mailLine }, ...rcptLines.map((text) => ({ text }))], {
          bytes: bdatBytes(value, last),
          shown: `BDAT ${value.length}${last ? " LAST" : ""} <${value.length} octets>`,
        });
        const mailReply = await this.#reply(null, "MAIL FROM");
        accepted = await this.#readRcptReplies(to, refused);
        const mailError = replyError(mailReply, 25, "MAIL FROM");
        if (mailError !== null || accepted.length === 0) {
          // The chunk sent along is refused too (RFC 3030 §3); read that
          // reply, then make sure no transaction is left open.
          await this.#reply(null, "BDAT");
          await this.#rset();
          throw mailError ?? allRefused(refused);
        }
        this.#recipients = accepted;
        if (last) return await this.#finish(accepted, refused, "BDAT");
        outstanding = 1;
        first = await chunks.next();
      } else {
        accepted = await this.#envelope(mailLine, to, rcptLines, refused);
        this.#recipients = accepted;
      }
      for (let next = first; !next.done; next = await chunks.next()) {
        const { value, last } = next.value;
        await this.#writeBdat(value, last);
        if (last) break;
        // With PIPELINING one chunk may be in flight while the next is sent;
        // after a refused chunk no more are sent (RFC 3030 §2).
        if (!pipelining || outstanding === 1) {
          const reply = await this.#reply(null, "BDAT");
          const error = replyError(reply, 25, "BDAT");
          if (error !== null) {
            if (outstanding === 1) await this.#reply(null, "BDAT");
            await this.#rset();
            throw error;
          }
        }
        if (pipelining) outstanding = 1;
      }
      if (outstanding === 1) {
        const reply = await this.#reply(null, "BDAT");
        const error = replyError(reply, 25, "BDAT");
        if (error !== null) {
          // The LAST chunk's replies follow; read them before resetting.
          await this.#finalReplies("BDAT").catch(() => {});
          await this.#rset();
          throw error;
        }
      }
      return await this.#finish(accepted, refused, "BDAT");
    } finally {
      await chunks.return(undefined);
    }
  }

  /**
   * Without pipelining: MAIL FROM, then one RCPT TO at a time; when every
   * recipient is refused, the transaction is reset and the refusals thrown.
   */
  async #envelope(
    mailLine: string,
    to: readonly string[],
    rcptLines: string[],
    refused: Map<string, SmtpReplyError>,
  ): Promise<string[]> {
    await this.#command({ text: mailLine }, 25, "MAIL FROM");
    const accepted = await this.#readRcptReplies(
      to,
      refused,
      (i) => this.#command({ text: rcptLines[i]! }, null, "RCPT TO", to[i]),
    );
    if (accepted.length === 0) {
      await this.#rset();
      throw allRefused(refused);
    }
    return accepted;
  }

  /**
   * The one RCPT loop: a reply per recipient, in order, sorted into the
   * accepted list and the refusals. Pipelined, the replies are read for
   * commands already sent; otherwise `next` sends each command first.
   */
  async #readRcptReplies(
    to: readonly string[],
    refused: Map<string, SmtpReplyError>,
    next: (i: number) => Promise<NumericReply> = () => this.#reply(null, "RCPT TO"),
  ): Promise<string[]> {
    const accepted: string[] = [];
    for (let i = 0; i < to.length; i++) {
      const address = to[i]!;
      const error = replyError(await next(i), 25, "RCPT TO", address);
      if (error === null) accepted.push(address);
      else refused.set(address, error);
    }
    return accepted;
  }

  /** Reads the final replies and sorts them into the result. */
  async #finish(
    accepted: string[],
    refused: Map<string, SmtpReplyError>,
    command: string,
  ): Promise<SmtpSendResult> {
    const replies = await this.#finalReplies(command);
    if (!this.#lmtp) return { accepted, refused, reply: replies[0]! };
    const delivered: string[] = [];
    accepted.forEach((recipient, i) => {
      const error = replyError(replies[i]!, 25, command, recipient);
      if (error === null) delivered.push(recipient);
      else refused.set(recipient, error);
    });
    if (delivered.length === 0) throw allRefused(refused);
    return { accepted: delivered, refused, reply: replies[replies.length - 1]! };
  }

  /** The final reply, or one per accepted recipient in LMTP mode. */
  async #finalReplies(command: string): Promise<NumericReply[]> {
    const recipients = this.#recipients;
    this.#recipients = [];
    this.#utf8Transaction = false;
    if (!this.#lmtp) return [await this.#reply(25, command)];
    const replies: NumericReply[] = [];
    for (let i = 0; i < recipients.length; i++) replies.push(await this.#reply(null, command));
    return replies;
  }

  async #writeDotStuffed(body: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
    const source = body instanceof Uint8Array ? ReadableStream.from([body]) : body;
    const reader = source.pipeThrough(new DotStuffingEncoderStream()).getReader();
    let size = 0;
    try {
      // Coalesce small pieces (the body and the final dot) into one write.
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
    this.#log(`C: <message, ${size} octets dot-stuffed>`);
  }

  async #writeBdat(chunk: Uint8Array, last: boolean): Promise<void> {
    await this.#write([], {
      bytes: bdatBytes(chunk, last),
      shown: `BDAT ${chunk.length}${last ? " LAST" : ""} <${chunk.length} octets>`,
    });
  }

  /** Sends one command line and reads its reply; `command` names it in errors. */
  async #command(
    line: Line,
    expect: number | null,
    command: string,
    recipient?: string,
  ): Promise<NumericReply> {
    await this.#write([line]);
    return await this.#reply(expect, command, recipient);
  }

  /** Writes command lines, and raw bytes after them, in one write. */
  async #write(lines: Line[], payload?: { bytes: Uint8Array; shown: string }): Promise<void> {
    for (const line of lines) assertLineSafe(line.text, "command");
    let bytes: Uint8Array = encoder.encode(lines.map((l) => l.text + "\r\n").join(""));
    if (payload !== undefined) {
      bytes = bytes.length === 0
        ? payload.bytes
        : concatBytes([bytes, payload.bytes], bytes.length + payload.bytes.length);
    }
    if (this.#debug !== undefined) {
      for (const line of lines) this.#log(`C: ${line.shown ?? line.text}`);
      if (payload !== undefined) this.#log(`C: ${payload.shown}`);
    }
    await this.#conn.writer.write(bytes);
  }

  async #reply(expect: number | null, command: string, recipient?: string): Promise<NumericReply> {
    let failed: NumericReply | null = null;
    const reply = await readReply(this.#conn.reader, {
      maxLineLength: this.#maxLineLength - 2,
      maxReplySize: this.#maxReplySize,
      expect: expect ?? undefined,
      error: (code, lines) => {
        failed = { code, lines };
        return new SmtpReplyError(code, lines, { command, recipient });
      },
    }).catch((error) => {
      if (failed !== null) this.#logReply(failed);
      throw error;
    });
    this.#logReply(reply);
    if (reply.code === 421) {
      throw new SmtpReplyError(reply.code, reply.lines, { command, recipient });
    }
    return reply;
  }

  #logReply(reply: NumericReply): void {
    if (this.#debug === undefined) return;
    reply.lines.forEach((line, i) => {
      this.#log(`S: ${reply.code}${i < reply.lines.length - 1 ? "-" : " "}${line}`);
    });
  }

  #log(line: string): void {
    this.#debug?.(line);
  }
}

function toBody(message: SmtpMessage): Uint8Array | ReadableStream<Uint8Array> {
  if (typeof message === "string") return encoder.encode(message);
  if (message instanceof Uint8Array || message instanceof ReadableStream) return message;
  throw new TypeError("Cannot send message: it is not a string, Uint8Array or ReadableStream");
}

function replyError(
  reply: NumericReply,
  expect: number,
  command: string,
  recipient?: string,
): SmtpReplyError | null {
  return codeMatches(reply.code, expect)
    ? null
    : new SmtpReplyError(reply.code, reply.lines, { command, recipient });
}

function allRefused(refused: Map<string, SmtpReplyError>): SmtpReplyError {
  const [first] = refused.values();
  const detail = [...refused].map(([to, e]) => `${to}: ${e.code} ${e.lines.join(" ")}`);
  return new SmtpReplyError(first!.code, first!.lines, {
    command: "RCPT TO",
    recipient: first!.recipient,
    message: `Cannot send message: every recipient was refused (${detail.join("; ")})`,
  });
}

function bdatBytes(chunk: Uint8Array, last: boolean): Uint8Array {
  const header = encoder.encode(`BDAT ${chunk.length}${last ? " LAST" : ""}\r\n`);
  return concatBytes([header, chunk], header.length + chunk.length);
}

/**
 * The message as BDAT chunks of at most `size` octets, the last one flagged.
 * With `normalize`, line ends become CR LF and a message that does not end
 * with one gets it, so BDAT delivers the same octets as DATA would.
 */
async function* bdatChunks(
  body: Uint8Array | ReadableStream<Uint8Array>,
  size: number,
  normalize: boolean,
): AsyncGenerator<{ value: Uint8Array; last: boolean }, void, undefined> {
  const normalizer = normalize ? new CrlfNormalizer() : null;
  if (body instanceof Uint8Array) {
    const all = normalizer === null ? body : concatTwo(normalizer.push(body), normalizer.end());
    if (all.length === 0) yield { value: all, last: true };
    for (let at = 0; at < all.length; at += size) {
      yield { value: all.subarray(at, at + size), last: at + size >= all.length };
    }
    return;
  }
  const reader = body.getReader();
  try {
    let pending: Uint8Array[] = [];
    let pendingLength = 0;
    let ready: Uint8Array | null = null;
    for (;;) {
      const { value, done } = await reader.read();
      let piece = done ? (normalizer?.end() ?? EMPTY) : (normalizer?.push(value) ?? value);
      while (piece.length > 0) {
        const take = Math.min(size - pendingLength, piece.length);
        pending.push(piece.subarray(0, take));
        pendingLength += take;
        piece = piece.subarray(take);
        if (pendingLength === size) {
          if (ready !== null) yield { value: ready, last: false };
          ready = concatBytes(pending, pendingLength);
          pending = [];
          pendingLength = 0;
        }
      }
      if (done) break;
    }
    if (pendingLength > 0) {
      if (ready !== null) yield { value: ready, last: false };
      ready = concatBytes(pending, pendingLength);
    }
    yield { value: ready ?? EMPTY, last: true };
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function concatTwo(a: Uint8Array, b: Uint8Array): Uint8Array {
  return b.length === 0 ? a : concatBytes([a, b], a.length + b.length);
}

function decodeChallenge(text: string): Uint8Array {
  try {
    return Uint8Array.fromBase64(text.trim());
  } catch (error) {
    throw new ProtocolError("BAD_CHALLENGE", "Cannot authenticate: the challenge is not base64", {
      cause: error,
    });
  }
}

function base64(bytes: Uint8Array, initial: boolean): string {
  // RFC 4954 §4: an empty initial response is sent as "=", an empty
  // answer to a challenge as an empty line.
  return bytes.length === 0 ? (initial ? "=" : "") : bytes.toBase64();
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot create SMTP client: ${name} ${value} is not a positive number`);
  }
  return value;
}

/**
 * The loopback rule of `allowInsecureAuth`: the peer's address is loopback
 * and the server name (if any) is a loopback name or that address; without
 * a transport address, a loopback server name.
 */
function remoteHostname(conn: DuplexConn): string | undefined {
  const addr = (conn as Partial<Deno.Conn>).remoteAddr;
  return addr !== undefined && "hostname" in addr ? addr.hostname : undefined;
}

function remotePort(conn: DuplexConn): number | undefined {
  const addr = (conn as Partial<Deno.Conn>).remoteAddr;
  return addr !== undefined && "port" in addr ? addr.port : undefined;
}
