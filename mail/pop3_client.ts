import { connectTcp, type TlsOptions } from "../net/connect_tcp.ts";
import { isLoopbackPeer } from "../net/_loopback.ts";
import { MissingExtensionError } from "../net/missing_extension_error.ts";
import { DotStuffedReader } from "../net/dot_stuffing.ts";
import type { DuplexConn } from "../net/duplex_conn.ts";
import { bytesToHex, md5Digest } from "../net/md5.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { TextConn, type TextConnLease } from "../net/text_conn.ts";
import {
  apopTimestamp,
  parsePop3Capabilities,
  parsePop3Number,
  type Pop3StatusLine,
  readPop3Lines,
  readPop3Status,
} from "./_pop3_reply.ts";
import { Pop3Error } from "./pop3_error.ts";
import { chooseSaslMechanism, createSaslMechanism, type SaslCredentials } from "./sasl.ts";

/** The POP3 port (RFC 1939). */
export const POP3_PORT = 110;
/** The POP3 port with implicit TLS (RFC 8314). */
export const POP3S_PORT = 995;

/** Options for {@linkcode Pop3Client}. */
export interface Pop3ClientOptions {
  /**
   * The server's host name: the name checked in its certificate after
   * `STLS`, and a loopback name lets passwords go in clear.
   *
   * @default {the connection's remote address, when it has one}
   */
  serverName?: string;
  /** Extra trusted CA certificates (PEM) for `STLS`, such as a test server's. */
  caCerts?: string[];
  /**
   * Allow sending a password readable (USER/PASS, AUTH PLAIN/LOGIN) on a
   * connection that is neither TLS nor to a loopback address.
   *
   * @default {false}
   */
  allowInsecureAuth?: boolean;
  /**
   * Milliseconds one command without a message body may take.
   *
   * @default {60000}
   */
  timeout?: number;
  /**
   * Milliseconds without a byte moving before a command that streams a
   * message (`RETR`, `TOP`) is given up; it is reset by every read, so a
   * large message is never cut short while it arrives.
   *
   * @default {60000}
   */
  idleTimeout?: number;
  /**
   * The longest response line in bytes (RFC 2449 §4 allows 512; Dovecot
   * sends longer ones in messages).
   *
   * @default {65536}
   */
  maxLineLength?: number;
  /**
   * The most bytes of a multi-line `CAPA`, `LIST` or `UIDL` response.
   *
   * @default {16777216}
   */
  maxListingSize?: number;
  /**
   * The most bytes of a message `RETR` or `TOP` streams; more errors the
   * stream with `"BODY_TOO_LARGE"` (and closes the connection).
   *
   * @default {Infinity}
   */
  maxMessageSize?: number;
  /**
   * The most bytes a cancelled message stream drains to keep the
   * connection; when more is left, the connection is closed instead.
   *
   * @default {1048576}
   */
  drainLimit?: number;
  /**
   * Receives each line sent (`C: ...`) and received (`S: ...`). Passwords,
   * APOP digests and AUTH exchanges show as `****`; message content is
   * not shown, only its size.
   */
  debug?: (line: string) => void;
}

/** Options for {@linkcode Pop3Client.connect}. */
export interface Pop3ConnectOptions extends Pop3ClientOptions {
  /**
   * The server to dial.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port.
   *
   * @default {110, or 995 with `tls`}
   */
  port?: number;
  /**
   * `true` or TLS options: TLS from the first byte (POP3S, RFC 8314). `false`: stay
   * in clear, never `STLS` (the only way to). Absent: `STLS` when the server
   * offers it, with the certificate verified (`caCerts` for a private CA);
   * a handshake or verification that fails is an error, never a fallback
   * to clear text.
   *
   * @default {undefined (STLS when offered)}
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
   * refuses `STLS`, the connection is closed without sending anything more.
   *
   * @default {false}
   */
  requireTls?: boolean;
  /** Log in after the greeting (and TLS); see {@linkcode Pop3Client.login}. */
  credentials?: SaslCredentials;
  /**
   * How to log in: a SASL mechanism name, `"APOP"` or `"USER"`.
   *
   * @default {the best the server offers; see {@linkcode Pop3Client.login}}
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
export interface Pop3CommandOptions {
  /** Aborts the command; the connection is then closed. */
  signal?: AbortSignal;
  /**
   * Milliseconds the command may take; then the connection is closed. For
   * `RETR` and `TOP` it covers the whole message and has no default (the
   * idle timeout applies).
   *
   * @default {the client's `timeout`}
   */
  timeout?: number;
}

/** Options for {@linkcode Pop3Client.retr} and {@linkcode Pop3Client.top}. */
export interface Pop3RetrieveOptions extends Pop3CommandOptions {
  /**
   * Milliseconds without a byte moving before the transfer is given up.
   *
   * @default {the client's `idleTimeout`}
   */
  idleTimeout?: number;
  /**
   * The most bytes to accept; more errors the stream with `"BODY_TOO_LARGE"`.
   *
   * @default {the client's `maxMessageSize`}
   */
  maxSize?: number;
  /**
   * The most bytes a cancel drains to keep the connection.
   *
   * @default {the client's `drainLimit`}
   */
  drainLimit?: number;
}

/** Options for {@linkcode Pop3Client.login}. */
export interface Pop3LoginOptions extends Pop3CommandOptions {
  /**
   * A SASL mechanism (`"PLAIN"`, `"CRAM-MD5"`, ...), `"APOP"` or `"USER"`.
   *
   * @default {the best the server offers}
   */
  mechanism?: string;
}

/** The answer to `STAT` (RFC 1939 §5): the maildrop's size. */
export interface Pop3Stat {
  /** The number of messages not marked as deleted. */
  count: number;
  /** Their total size in octets. */
  size: number;
}

/** One line of a `LIST` scan listing (RFC 1939 §5). */
export interface Pop3MessageSize {
  /** The message number. */
  number: number;
  /** The size in octets (as the server counts, with CR LF line ends). */
  size: number;
}

/** One line of a `UIDL` listing (RFC 1939 §7). */
export interface Pop3MessageUid {
  /** The message number. */
  number: number;
  /** The unique id, stable across sessions. */
  uid: string;
}

const FORBIDDEN_REGEXP = /[\r\n\0]/;
const WORD_REGEXP = /^[^\s\0]+$/;
const MAX_AUTH_STEPS = 10;
const MAX_INITIAL_RESPONSE_LINE = 255;
/** Errors decided on this side, or after a clean AUTH cancel: the session is fine. */
const SESSION_INTACT_CODES = new Set([
  "BAD_CHALLENGE",
  "SASL_UNEXPECTED_CHALLENGE",
]);

interface Line {
  text: string;
  shown?: string;
}

/**
 * A POP3 client (RFC 1939), the modern `poplib.POP3`: the greeting and its
 * APOP timestamp, `CAPA` (RFC 2449), `STLS` (RFC 2595, capabilities re-read
 * over TLS), `USER`/`PASS`, `APOP`, `AUTH` with the shared SASL mechanisms
 * (RFC 5034), `STAT`, `LIST`, `UIDL`, `RETR` and `TOP` streamed with
 * backpressure, `DELE`, `RSET`, `NOOP`, `UTF8` (RFC 6856) and `QUIT`, the
 * moment deletions take effect. A refusal is a {@linkcode Pop3Error} with
 * its RFC 2449 response code.
 *
 * One command runs at a time; a message stream holds the connection until
 * it is read to its end or cancelled. A reply that arrives while no command
 * runs answers nothing this client sent: the next command fails with
 * `"UNSOLICITED"` instead of reading it.
 *
 * @example Reading the newest message
 * ```ts ignore
 * import { parseMessage, Pop3Client } from "@inetkit/inetkit/mail";
 * import { assert } from "@std/assert";
 *
 * await using pop = await Pop3Client.connect({
 *   hostname: "127.0.0.1",
 *   port: 1110,
 *   credentials: { username: "mulder", password: "trustno1" },
 * });
 * const { count } = await pop.stat();
 * const message = await parseMessage(await pop.retr(count));
 * assert(message.subject !== null);
 * ```
 *
 * @example Talking to a scripted server
 * ```ts
 * import { Pop3Client } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * // A server that answers each command as it is written.
 * const answers: Record<string, string> = {
 *   "STAT": "+OK 2 674\r\n",
 *   "RETR 1": "+OK\r\nSubject: hi\r\n\r\n..dot\r\n.\r\n",
 * };
 * const sent: string[] = [];
 * let reply = (_text: string) => {};
 * const pop = new Pop3Client({
 *   readable: new ReadableStream({
 *     start(c) {
 *       reply = (text) => c.enqueue(new TextEncoder().encode(text));
 *       reply("+OK ready\r\n");
 *     },
 *   }),
 *   writable: new WritableStream({
 *     write(chunk) {
 *       const line = new TextDecoder().decode(chunk).trimEnd();
 *       sent.push(line);
 *       reply(answers[line] ?? "-ERR unknown\r\n");
 *     },
 *   }),
 *   close() {},
 * });
 * assertEquals(await pop.stat(), { count: 2, size: 674 });
 * assertEquals(await new Response(await pop.retr(1)).text(), "Subject: hi\r\n\r\n.dot\r\n");
 * assertEquals(sent, ["STAT", "RETR 1"]);
 * pop.close();
 * ```
 */
export class Pop3Client implements AsyncDisposable {
  #conn: TextConn;
  #serverName: string | undefined;
  #caCerts: string[] | undefined;
  #allowInsecureAuth: boolean;
  #timeout: number;
  #idleTimeout: number;
  #maxLineLength: number;
  #maxListingSize: number;
  #maxMessageSize: number;
  #drainLimit: number;
  #debug: ((line: string) => void) | undefined;
  #greeting: string | null = null;
  #timestamp: string | null = null;
  #capabilities: Map<string, string[]> | null = null;
  #authenticated = false;
  #utf8 = false;

  /**
   * Wraps a connection to a POP3 server. Nothing is read or sent until the
   * first command, which reads the greeting first.
   *
   * @param conn The connection; the client owns it from now on.
   * @param options Names, limits, timeouts and the debug log.
   * @throws {RangeError} If a limit or timeout is not a positive number.
   */
  constructor(conn: DuplexConn, options?: Pop3ClientOptions) {
    options ??= {};
    this.#serverName = options.serverName ?? remoteHostname(conn);
    this.#caCerts = options.caCerts;
    this.#allowInsecureAuth = options.allowInsecureAuth ?? false;
    this.#timeout = positive(options.timeout ?? 60000, "timeout");
    this.#idleTimeout = positive(options.idleTimeout ?? 60000, "idleTimeout");
    this.#maxLineLength = positive(options.maxLineLength ?? 65536, "maxLineLength");
    this.#maxListingSize = positive(options.maxListingSize ?? 16777216, "maxListingSize");
    this.#maxMessageSize = positive(options.maxMessageSize ?? Infinity, "maxMessageSize", true);
    this.#drainLimit = nonNegative(options.drainLimit ?? 1048576, "drainLimit");
    this.#debug = options.debug;
    // POP3 has no unsolicited responses: bytes between commands are an error.
    this.#conn = new TextConn(conn, { unsolicited: "error" });
  }

  /**
   * Dials a server, reads its greeting, asks for its capabilities,
   * upgrades with STLS when offered (or implicit TLS with `tls`), and logs
   * in when given credentials.
   *
   * @param options Where to connect, TLS, credentials and the client options.
   * @returns A client in the TRANSACTION state when credentials were given.
   * @throws {Pop3Error} When the server refuses the greeting, STLS (with
   *   `requireTls`) or the login.
   * @throws {MissingExtensionError} `"STLS"` with `requireTls`, or `"SASL"`.
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` when the server sends
   *   data before the handshake, or malformed replies.
   * @throws {TypeError} When the login would send a password in clear.
   * @throws {DOMException} The signal's reason or a `TimeoutError`.
   *
   * @example Reading a maildrop over implicit TLS
   * ```ts ignore
   * import { Pop3Client } from "@inetkit/inetkit/mail";
   * import { assert } from "@std/assert";
   *
   * await using pop = await Pop3Client.connect({
   *   hostname: "localhost",
   *   port: 1995,
   *   tls: { caCerts: [await Deno.readTextFile("/tmp/peers/tls/ca.pem")] },
   *   credentials: { username: "mulder", password: "trustno1" },
   * });
   * assert(pop.tls && pop.authenticated);
   * ```
   */
  static async connect(options?: Pop3ConnectOptions): Promise<Pop3Client> {
    options ??= {};
    if (options.tls === false && options.requireTls) {
      throw new TypeError("Cannot connect: requireTls and tls: false exclude each other");
    }
    const hostname = options.hostname ?? "127.0.0.1";
    const port = options.port ?? (options.tls ? POP3S_PORT : POP3_PORT);
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
    const client = new Pop3Client(conn, {
      ...options,
      serverName: options.serverName ?? tls?.hostname ?? hostname,
    });
    try {
      const signal = options.signal;
      await client.capa({ signal });
      // Only an explicit tls: false (or the older starttls: false) stays in clear.
      const clear = options.tls === false || options.starttls === false;
      if (!client.tls && (options.requireTls || !clear)) {
        if (client.capabilities.has("STLS")) {
          try {
            await client.stls({ signal });
          } catch (error) {
            // Opportunistic TLS goes on in clear after a refusal, never
            // after a failed handshake (the connection is closed then).
            if (options.requireTls || !(error instanceof Pop3Error) || client.closed) throw error;
          }
        } else if (options.requireTls) {
          throw new MissingExtensionError(
            "STLS",
            "Cannot start TLS: the server does not offer STLS",
          );
        }
      }
      if (options.credentials !== undefined) {
        await client.login(options.credentials, { mechanism: options.mechanism, signal });
      }
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** The greeting's text after `+OK`, or `null` before the first command. */
  get greeting(): string | null {
    return this.#greeting;
  }

  /** The APOP timestamp of the greeting (`<...@...>`), or `null` when it has none. */
  get apopTimestamp(): string | null {
    return this.#timestamp;
  }

  /**
   * The capabilities from the last `CAPA` (RFC 2449 §6): upper-cased name
   * to its arguments (`"SASL"` → `["PLAIN", "LOGIN"]`). Empty before `CAPA`
   * and for servers without it.
   */
  get capabilities(): ReadonlyMap<string, readonly string[]> {
    return this.#capabilities ?? new Map();
  }

  /** Whether the connection is TLS (implicit or after STLS). */
  get tls(): boolean {
    return this.#conn.tls;
  }

  /** Whether a login succeeded (the TRANSACTION state). */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#conn.closed;
  }

  /**
   * Asks for the capabilities with `CAPA` (RFC 2449 §5). A server without
   * CAPA answers `-ERR`; that is not an error here, the list is empty.
   *
   * @param options A signal and a timeout.
   * @returns The capabilities, as {@linkcode Pop3Client.capabilities}.
   */
  capa(options?: Pop3CommandOptions): Promise<ReadonlyMap<string, readonly string[]>> {
    options ??= {};
    return this.#run(async () => {
      await this.#write({ text: "CAPA" });
      const status = await this.#status("CAPA", true);
      if (status.kind === "err") {
        this.#capabilities = new Map();
        return this.#capabilities;
      }
      this.#capabilities = parsePop3Capabilities(await this.#lines());
      return this.#capabilities;
    }, options);
  }

  /**
   * Upgrades the connection with `STLS` (RFC 2595 §4) and asks for the
   * capabilities again over TLS (the old list is forgotten). Bytes the
   * server sends after its `+OK` and before the handshake are an injection
   * attack: the connection is closed.
   *
   * @param options A signal, a timeout and TLS settings (server name, CAs).
   * @throws {Pop3Error} When the server refuses STLS.
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` for early bytes.
   * @throws {TypeError} When the connection is already TLS, or the transport
   *   is not a TCP connection.
   */
  stls(options?: Pop3CommandOptions & { tls?: TlsOptions }): Promise<void> {
    options ??= {};
    return this.#run(async () => {
      if (this.#conn.tls) throw new TypeError("Cannot start TLS: the connection is already TLS");
      await this.#command({ text: "STLS" }, "STLS");
      await this.#conn.startTls({
        hostname: options.tls?.hostname ?? this.#serverName,
        caCerts: options.tls?.caCerts ?? this.#caCerts,
        alpnProtocols: options.tls?.alpnProtocols,
      });
      // RFC 2595 §4: what the server said in clear may have been tampered with.
      const hadCapa = this.#capabilities !== null;
      this.#capabilities = null;
      if (hadCapa) {
        await this.#write({ text: "CAPA" });
        const status = await this.#status("CAPA", true);
        this.#capabilities = status.kind === "err"
          ? new Map()
          : parsePop3Capabilities(await this.#lines());
      }
    }, options);
  }

  /**
   * Logs in the usual way: with the credentials' mechanism if named;
   * otherwise the best SASL mechanism the server offers (RFC 5034) that is
   * safe on this connection, then `USER`/`PASS` where a password may go in
   * clear (TLS, loopback, or `allowInsecureAuth`), then `APOP` when the
   * greeting has a timestamp.
   *
   * @param credentials The user name and password or token.
   * @param options The mechanism (`"APOP"`, `"USER"` or a SASL name), a
   *   signal and a timeout.
   * @returns The server's `+OK` text.
   * @throws {Pop3Error} When the server refuses the login (`AUTH`,
   *   `IN-USE`, `LOGIN-DELAY` codes tell why).
   * @throws {TypeError} When every way would send the password in clear.
   */
  async login(credentials: SaslCredentials, options?: Pop3LoginOptions): Promise<string> {
    options ??= {};
    const wanted = options.mechanism?.toUpperCase();
    if (wanted === "USER") return await this.#userPass(credentials, options);
    if (wanted === "APOP") {
      return await this.apop(credentials.username, credentials.password ?? "", options);
    }
    if (wanted !== undefined) return await this.auth(credentials, options);
    if (this.#greeting === null || this.#capabilities === null) await this.capa(options);
    const secure = this.#secure();
    const sasl = this.#capabilities?.get("SASL") ?? [];
    const chosen = chooseSaslMechanism(sasl, credentials, { secure });
    if (chosen !== null) return await this.auth(credentials, { ...options, mechanism: chosen });
    const userAllowed = this.#capabilities === null || this.#capabilities.size === 0 ||
      this.#capabilities.has("USER");
    if (secure && userAllowed && credentials.password !== undefined) {
      return await this.#userPass(credentials, options);
    }
    if (this.#timestamp !== null && credentials.password !== undefined) {
      return await this.apop(credentials.username, credentials.password, options);
    }
    throw new TypeError(
      "Cannot log in: the server offers no way that keeps the password off the wire " +
        "without TLS (use TLS, or allowInsecureAuth)",
    );
  }

  async #userPass(credentials: SaslCredentials, options: Pop3CommandOptions): Promise<string> {
    if (credentials.password === undefined) {
      throw new TypeError("Cannot log in with USER/PASS: the credentials have no password");
    }
    await this.user(credentials.username, options);
    return await this.pass(credentials.password, options);
  }

  /**
   * Sends `USER name` (RFC 1939 §7). Refused before a byte is written when
   * the connection is not protected (see {@linkcode Pop3Client.pass}).
   *
   * @param name The user name.
   * @param options A signal and a timeout.
   * @returns The `+OK` text.
   * @throws {Pop3Error} When the server refuses the name.
   * @throws {TypeError} For a name with spaces, CR, LF or NUL, or on an
   *   unprotected connection.
   */
  async user(name: string, options?: Pop3CommandOptions): Promise<string> {
    options ??= {};
    checkWord(name, "user name");
    return await this.#run(async () => {
      this.#checkSecure("USER/PASS");
      return (await this.#command({ text: `USER ${name}` }, "USER")).text;
    }, options);
  }

  /**
   * Sends `PASS password` (RFC 1939 §7), shown as `PASS ****` in the debug
   * log. Only over TLS, to a loopback address, or with `allowInsecureAuth`.
   *
   * @param password The password; it may hold spaces.
   * @param options A signal and a timeout.
   * @returns The `+OK` text.
   * @throws {Pop3Error} When the server refuses the login.
   * @throws {TypeError} For a password with CR, LF or NUL, or on an
   *   unprotected connection.
   */
  async pass(password: string, options?: Pop3CommandOptions): Promise<string> {
    options ??= {};
    checkText(password, "password");
    return await this.#run(async () => {
      this.#checkSecure("USER/PASS");
      const reply = await this.#command({ text: `PASS ${password}`, shown: "PASS ****" }, "PASS");
      this.#loggedIn();
      return reply.text;
    }, options);
  }

  /**
   * Logs in with `APOP name digest` (RFC 1939 §7): the MD5 of the
   * greeting's timestamp and the password, so the password itself never
   * crosses the wire.
   *
   * @param name The user name.
   * @param password The password.
   * @param options A signal and a timeout.
   * @returns The `+OK` text.
   * @throws {Pop3Error} When the server refuses the login.
   * @throws {MissingExtensionError} `"APOP"` when the greeting has no timestamp.
   * @throws {TypeError} For a name with spaces, CR, LF or NUL.
   */
  async apop(name: string, password: string, options?: Pop3CommandOptions): Promise<string> {
    options ??= {};
    checkWord(name, "user name");
    checkText(password, "password");
    return await this.#run(async () => {
      if (this.#timestamp === null) {
        throw new MissingExtensionError(
          "APOP",
          "Cannot log in with APOP: the greeting has no timestamp",
        );
      }
      const digest = bytesToHex(md5Digest(this.#timestamp + password));
      const reply = await this.#command(
        { text: `APOP ${name} ${digest}`, shown: `APOP ${name} ****` },
        "APOP",
      );
      this.#loggedIn();
      return reply.text;
    }, options);
  }

  /**
   * Logs in with SASL (`AUTH`, RFC 5034): the named mechanism or the best
   * advertised one the credentials serve. Mechanisms that send the secret
   * readable are used only over TLS, to a loopback address, or with
   * `allowInsecureAuth`. The initial response goes with the command when
   * the line stays within 255 octets.
   *
   * @param credentials The user name and password or token.
   * @param options The mechanism, a signal and a timeout.
   * @returns The server's `+OK` text.
   * @throws {Pop3Error} When the server refuses the login.
   * @throws {MissingExtensionError} `"SASL"` when no advertised mechanism
   *   qualifies.
   * @throws {ProtocolError} `"BAD_CHALLENGE"`, `"SASL_UNEXPECTED_CHALLENGE"`.
   * @throws {TypeError} For unusable credentials, or a mechanism that would
   *   expose the secret on an unprotected connection.
   */
  async auth(credentials: SaslCredentials, options?: Pop3LoginOptions): Promise<string> {
    options ??= {};
    if (options.mechanism !== undefined) checkWord(options.mechanism, "SASL mechanism");
    checkText(credentials?.username, "user name");
    if (credentials.password !== undefined) checkText(credentials.password, "password");
    return await this.#run(async () => {
      const secure = this.#secure();
      const advertised = this.#capabilities?.get("SASL") ?? [];
      let name = options.mechanism;
      if (name === undefined) {
        name = chooseSaslMechanism(advertised, credentials, { secure }) ?? undefined;
        if (name === undefined) {
          throw new MissingExtensionError(
            "SASL",
            advertised.length === 0
              ? "Cannot authenticate: the server does not offer SASL"
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
      const command = `AUTH ${sasl.name}`;
      const initial = sasl.initialResponse();
      let line: Line = { text: command };
      if (initial !== null) {
        const text = `${command} ${initial.length === 0 ? "=" : initial.toBase64()}`;
        if (text.length <= MAX_INITIAL_RESPONSE_LINE) line = { text, shown: `${command} ****` };
      }
      const pending = line.text === command ? initial : null;
      await this.#write(line);
      let status = await this.#status(command, true);
      for (let step = 0; status.kind === "challenge"; step++) {
        if (step >= MAX_AUTH_STEPS) {
          throw new ProtocolError(
            "SASL_UNEXPECTED_CHALLENGE",
            `Cannot authenticate with ${sasl.name}: more than ${MAX_AUTH_STEPS} challenges`,
          );
        }
        let response: Uint8Array;
        try {
          response = step === 0 && pending !== null
            ? pending
            : sasl.respond(decodeChallenge(status.text));
        } catch (error) {
          // Cancel the exchange (RFC 5034 §4), then report the cause.
          await this.#write({ text: "*" });
          await this.#status(command, true);
          throw error;
        }
        await this.#write({ text: response.toBase64(), shown: "****" });
        status = await this.#status(command, true);
      }
      if (status.kind !== "ok") throw new Pop3Error(status.text, { command });
      this.#loggedIn();
      return status.text;
    }, options);
  }

  /**
   * Switches the session to UTF-8 (`UTF8`, RFC 6856 §2): user names,
   * passwords and messages may then be UTF-8.
   *
   * @param options A signal and a timeout.
   * @returns The `+OK` text.
   * @throws {Pop3Error} When the server refuses.
   */
  utf8(options?: Pop3CommandOptions): Promise<string> {
    options ??= {};
    return this.#run(async () => {
      const reply = await this.#command({ text: "UTF8" }, "UTF8");
      this.#utf8 = true;
      return reply.text;
    }, options);
  }

  /** Whether `UTF8` was accepted in this session. */
  get utf8Enabled(): boolean {
    return this.#utf8;
  }

  /**
   * Asks for the maildrop's size with `STAT` (RFC 1939 §5).
   *
   * @param options A signal and a timeout.
   * @returns The number of messages and their total size.
   * @throws {Pop3Error} When the server refuses.
   * @throws {ProtocolError} `"BAD_REPLY"` for a malformed answer.
   */
  stat(options?: Pop3CommandOptions): Promise<Pop3Stat> {
    options ??= {};
    return this.#run(async () => {
      const { text } = await this.#command({ text: "STAT" }, "STAT");
      const [count, size] = text.split(/\s+/);
      return {
        count: parsePop3Number(count, "STAT count"),
        size: parsePop3Number(size, "STAT size"),
      };
    }, options);
  }

  /**
   * Lists message sizes with `LIST` (RFC 1939 §5): every message not marked
   * as deleted, or one.
   *
   * @param message A message number, for one line only.
   * @param options A signal and a timeout.
   * @returns The number and size of each message.
   * @throws {Pop3Error} When the server refuses (no such message).
   * @throws {ProtocolError} `"BAD_REPLY"`, `"LISTING_TOO_LARGE"`.
   * @throws {RangeError} For a message number that is not a positive integer.
   */
  list(options?: Pop3CommandOptions): Promise<Pop3MessageSize[]>;
  /**
   * Asks for one message's size with `LIST n` (RFC 1939 §5).
   *
   * @param message The message number.
   * @param options A signal and a timeout.
   * @returns The number and size.
   */
  list(message: number, options?: Pop3CommandOptions): Promise<Pop3MessageSize>;
  list(
    message?: number | Pop3CommandOptions,
    options?: Pop3CommandOptions,
  ): Promise<Pop3MessageSize[] | Pop3MessageSize> {
    options ??= {};
    if (typeof message === "number") {
      checkMessage(message);
      return this.#run(async () => {
        const { text } = await this.#command({ text: `LIST ${message}` }, "LIST");
        return scanLine(text, "LIST");
      }, options);
    }
    return this.#run(async () => {
      await this.#command({ text: "LIST" }, "LIST");
      return (await this.#lines()).map((line) => scanLine(line, "LIST"));
    }, message ?? options);
  }

  /**
   * Lists unique ids with `UIDL` (RFC 1939 §7), for every message or one.
   *
   * @param options A signal and a timeout.
   * @returns The number and unique id of each message.
   * @throws {Pop3Error} When the server refuses (no UIDL, no such message).
   * @throws {ProtocolError} `"BAD_REPLY"`, `"LISTING_TOO_LARGE"`.
   */
  uidl(options?: Pop3CommandOptions): Promise<Pop3MessageUid[]>;
  /**
   * Asks for one message's unique id with `UIDL n` (RFC 1939 §7).
   *
   * @param message The message number.
   * @param options A signal and a timeout.
   * @returns The number and unique id.
   */
  uidl(message: number, options?: Pop3CommandOptions): Promise<Pop3MessageUid>;
  uidl(
    message?: number | Pop3CommandOptions,
    options?: Pop3CommandOptions,
  ): Promise<Pop3MessageUid[] | Pop3MessageUid> {
    options ??= {};
    if (typeof message === "number") {
      checkMessage(message);
      return this.#run(async () => {
        const { text } = await this.#command({ text: `UIDL ${message}` }, "UIDL");
        return uidLine(text);
      }, options);
    }
    return this.#run(async () => {
      await this.#command({ text: "UIDL" }, "UIDL");
      return (await this.#lines()).map(uidLine);
    }, message ?? options);
  }

  /**
   * Retrieves a message with `RETR` (RFC 1939 §5) as a stream of its bytes,
   * dot-unstuffed, with CR LF line ends. The stream holds the connection
   * until it is read to its end or cancelled (then up to `drainLimit`
   * bytes are drained to keep the connection; beyond that it is closed).
   *
   * @param message The message number.
   * @param options A signal, timeouts, a size cap and the drain limit.
   * @returns The message as a stream with backpressure.
   * @throws {Pop3Error} When the server refuses (no such message).
   * @throws {RangeError} For a message number that is not a positive integer.
   */
  retr(message: number, options?: Pop3RetrieveOptions): Promise<ReadableStream<Uint8Array>> {
    options ??= {};
    checkMessage(message);
    return this.#stream({ text: `RETR ${message}` }, "RETR", options);
  }

  /**
   * Retrieves a message's header and the first `lines` lines of its body
   * with `TOP` (RFC 1939 §7), as a stream like {@linkcode Pop3Client.retr}.
   *
   * @param message The message number.
   * @param lines How many body lines; 0 for the header only.
   * @param options A signal, timeouts, a size cap and the drain limit.
   * @returns The header (and lines) as a stream.
   * @throws {Pop3Error} When the server refuses (no TOP, no such message).
   * @throws {RangeError} For a bad message number or line count.
   */
  top(
    message: number,
    lines: number,
    options?: Pop3RetrieveOptions,
  ): Promise<ReadableStream<Uint8Array>> {
    options ??= {};
    checkMessage(message);
    if (!Number.isSafeInteger(lines) || lines < 0) {
      throw new RangeError(`Cannot send TOP: ${lines} is not a line count`);
    }
    return this.#stream({ text: `TOP ${message} ${lines}` }, "TOP", options);
  }

  /**
   * Marks a message as deleted with `DELE` (RFC 1939 §5). It is removed
   * only at `QUIT`; `RSET` unmarks it, and a connection that ends without
   * `QUIT` deletes nothing.
   *
   * @param message The message number.
   * @param options A signal and a timeout.
   * @returns The `+OK` text.
   * @throws {Pop3Error} When the server refuses (no such message).
   */
  dele(message: number, options?: Pop3CommandOptions): Promise<string> {
    options ??= {};
    checkMessage(message);
    return this.#simple(`DELE ${message}`, "DELE", options);
  }

  /**
   * Unmarks every message marked as deleted, with `RSET` (RFC 1939 §5).
   *
   * @param options A signal and a timeout.
   * @returns The `+OK` text.
   * @throws {Pop3Error} When the server refuses.
   */
  rset(options?: Pop3CommandOptions): Promise<string> {
    options ??= {};
    return this.#simple("RSET", "RSET", options);
  }

  /**
   * Sends `NOOP` (RFC 1939 §5), to keep the session alive.
   *
   * @param options A signal and a timeout.
   * @returns The `+OK` text.
   * @throws {Pop3Error} When the server refuses.
   */
  noop(options?: Pop3CommandOptions): Promise<string> {
    options ??= {};
    return this.#simple("NOOP", "NOOP", options);
  }

  /**
   * Ends the session with `QUIT` (RFC 1939 §6): in the TRANSACTION state
   * this is when messages marked with `DELE` are removed. The connection is
   * closed afterwards.
   *
   * @param options A signal and a timeout.
   * @returns The `+OK` text, or `null` when the server hung up without one.
   * @throws {Pop3Error} When the server could not remove the deleted
   *   messages (`-ERR`, often `[SYS/TEMP]`).
   */
  async quit(options?: Pop3CommandOptions): Promise<string | null> {
    options ??= {};
    // Called while another command runs, it fails and leaves that one alone.
    const busy = this.#conn.busy;
    try {
      return await this.#run(async () => {
        await this.#write({ text: "QUIT" });
        try {
          const status = await this.#status("QUIT", false);
          return status.text;
        } catch (error) {
          if (error instanceof ProtocolError && error.code === "UNEXPECTED_EOF") return null;
          throw error;
        }
      }, options);
    } finally {
      if (!busy) this.close();
    }
  }

  /** Closes the connection without QUIT (nothing marked is deleted); safe to repeat. */
  close(): void {
    this.#conn.close();
  }

  /**
   * Says QUIT (waiting at most one second) when the connection is idle,
   * then closes it. Messages marked with `DELE` are removed by that QUIT.
   */
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

  #secure(): boolean {
    return this.#conn.tls || this.#allowInsecureAuth ||
      isLoopbackPeer(this.#conn.conn, this.#serverName);
  }

  #checkSecure(method: string): void {
    if (!this.#secure()) {
      throw new TypeError(
        `Cannot log in with ${method}: it would send the password without TLS ` +
          `to ${this.#serverName ?? "the server"} (use TLS, or allowInsecureAuth)`,
      );
    }
  }

  #loggedIn(): void {
    this.#authenticated = true;
  }

  #simple(text: string, command: string, options: Pop3CommandOptions): Promise<string> {
    return this.#run(async () => (await this.#command({ text }, command)).text, options);
  }

  #stream(
    line: Line,
    command: string,
    options: Pop3RetrieveOptions,
  ): Promise<ReadableStream<Uint8Array>> {
    const maxSize = options.maxSize ?? this.#maxMessageSize;
    const drainLimit = options.drainLimit ?? this.#drainLimit;
    return this.#run(async (lease) => {
      await this.#command(line, command);
      const body = new DotStuffedReader(lease.reader, {
        maxLineLength: this.#maxLineLength,
        maxSize,
      });
      return lease.stream(body, {
        drainLimit,
        onEnd: () => this.#log(`S: <message, ${body.size} octets>`),
      });
    }, {
      signal: options.signal,
      timeout: options.timeout,
      idleTimeout: options.idleTimeout ?? this.#idleTimeout,
    });
  }

  async #run<T>(
    fn: (lease: TextConnLease) => Promise<T>,
    options: Pop3CommandOptions & { idleTimeout?: number },
  ): Promise<T> {
    let started = false;
    try {
      return await this.#conn.run(async (lease) => {
        started = true;
        if (this.#greeting === null) await this.#readGreeting();
        return await fn(lease);
      }, {
        signal: options.signal,
        timeout: options.idleTimeout === undefined
          ? options.timeout ?? this.#timeout
          : options.timeout,
        idleTimeout: options.idleTimeout,
      });
    } catch (error) {
      // A refusal leaves the session usable; anything else (a broken reply,
      // an I/O error, an abort) leaves it in an unknown state.
      const keep = !started || error instanceof TypeError || error instanceof RangeError ||
        error instanceof Pop3Error ||
        error instanceof MissingExtensionError ||
        error instanceof ProtocolError && SESSION_INTACT_CODES.has(error.code);
      if (!keep) this.#conn.close();
      throw error;
    }
  }

  async #readGreeting(): Promise<void> {
    const status = await this.#status("greeting", true);
    if (status.kind !== "ok") {
      const error = new Pop3Error(status.text);
      // The server refused the session: nothing more can be done on it.
      this.#conn.close();
      throw error;
    }
    this.#greeting = status.text;
    this.#timestamp = apopTimestamp(status.text);
  }

  /** Sends one command line and reads its status; `-ERR` throws a {@linkcode Pop3Error}. */
  async #command(line: Line, command: string): Promise<{ text: string }> {
    await this.#write(line);
    const status = await this.#status(command, false);
    return { text: status.text };
  }

  async #write(line: Line): Promise<void> {
    if (FORBIDDEN_REGEXP.test(line.text)) {
      throw new TypeError("Cannot send command: it contains CR, LF or NUL");
    }
    this.#log(`C: ${line.shown ?? line.text}`);
    await this.#conn.writer.writeLine(line.text);
  }

  /**
   * Reads a status line. With `raw`, `-ERR` and challenges are returned;
   * otherwise `-ERR` throws and a challenge is a protocol error.
   */
  async #status(command: string, raw: boolean): Promise<Pop3StatusLine> {
    const status = await readPop3Status(this.#conn.reader, this.#maxLineLength);
    if (this.#debug !== undefined) {
      const shown = status.kind === "challenge" ? "+ ****" : null;
      this.#log(`S: ${shown ?? `${status.kind === "ok" ? "+OK" : "-ERR"} ${status.text}`}`);
    }
    if (raw) return status;
    if (status.kind === "err") throw new Pop3Error(status.text, { command });
    if (status.kind === "challenge") {
      throw new ProtocolError(
        "BAD_REPLY",
        `Cannot read reply to ${command}: the server sent a SASL challenge`,
      );
    }
    return status;
  }

  async #lines(): Promise<string[]> {
    const lines = await readPop3Lines(this.#conn.reader, this.#maxLineLength, this.#maxListingSize);
    this.#log(`S: <${lines.length} lines>`);
    return lines;
  }

  #log(line: string): void {
    this.#debug?.(line);
  }
}

function scanLine(text: string, what: string): Pop3MessageSize {
  const [number, size] = text.trim().split(/\s+/);
  return {
    number: parsePop3Number(number, `${what} message number`),
    size: parsePop3Number(size, `${what} size`),
  };
}

function uidLine(text: string): Pop3MessageUid {
  const [number, uid] = text.trim().split(/\s+/);
  // RFC 1939 §7: 1 to 70 characters from 0x21 to 0x7E.
  if (uid === undefined || !/^[\x21-\x7e]{1,70}$/.test(uid)) {
    throw new ProtocolError(
      "BAD_REPLY",
      `Cannot read POP3 UIDL: ${JSON.stringify(text.slice(0, 80))} has no valid unique id`,
    );
  }
  return { number: parsePop3Number(number, "UIDL message number"), uid };
}

function checkMessage(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`Cannot use message number ${n}: not a positive integer`);
  }
}

function checkWord(value: string, what: string): void {
  if (typeof value !== "string" || !WORD_REGEXP.test(value)) {
    throw new TypeError(
      `Cannot send ${what} ${JSON.stringify(value)}: it is empty or holds spaces, CR, LF or NUL`,
    );
  }
}

function checkText(value: string, what: string): void {
  if (typeof value !== "string" || FORBIDDEN_REGEXP.test(value)) {
    throw new TypeError(`Cannot send ${what}: it contains CR, LF or NUL`);
  }
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

function positive(value: number, name: string, infinite = false): number {
  if (!(value > 0) || (!infinite && !Number.isFinite(value))) {
    throw new RangeError(`Cannot create POP3 client: ${name} ${value} is not a positive number`);
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot create POP3 client: ${name} ${value} is not a non-negative number`,
    );
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
