import { connectTcp, type TlsOptions } from "../net/connect_tcp.ts";
import { isLoopbackPeer } from "../net/_loopback.ts";
import { MissingExtensionError } from "../net/missing_extension_error.ts";
import type { DuplexConn } from "../net/duplex_conn.ts";
import { assertLineSafe } from "../net/line_writer.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { TextConn, type TextConnLease } from "../net/text_conn.ts";
import { concatBytes } from "../net/_bytes.ts";
import { BodyPipe, formatFetchItems, renderResponse } from "./_imap_client_body.ts";
import { compileSearch, type ImapSearchCriteria } from "./_imap_client_search.ts";
import type {
  ImapAppendOptions,
  ImapAppendResult,
  ImapClientOptions,
  ImapCommandOptions,
  ImapConnectOptions,
  ImapFetchBody,
  ImapFetchBodyOptions,
  ImapFetchOptions,
  ImapIdle,
  ImapIdleOptions,
  ImapListOptions,
  ImapMailbox,
  ImapSearchOptions,
  ImapSelectOptions,
  ImapStoreOptions,
  ImapUidOptions,
} from "./_imap_client_types.ts";
import { ImapByeError, ImapError } from "./imap_error.ts";
import {
  type ImapBodyLiteralHandler,
  type ImapResponse,
  ImapResponseReader,
  type ImapResponseReaderOptions,
} from "./imap_response_reader.ts";
import {
  formatImapAstring,
  formatImapDate,
  formatImapFlagList,
  formatImapLiteral,
  formatImapMailbox,
  formatImapSequenceSet,
  type ImapCommandPart,
  joinImapParts,
} from "./imap_string.ts";
import type {
  ImapCopyUid,
  ImapEvent,
  ImapFetchData,
  ImapMailboxListItem,
  ImapMailboxStatus,
  ImapResponseCode,
  ImapStatusResponse,
} from "./imap_types.ts";
import { toImapEvent } from "./imap_types.ts";
import { chooseSaslMechanism, createSaslMechanism, type SaslCredentials } from "./sasl.ts";
import type { ImapSequenceSetInput } from "./_imap_client_search.ts";

export type {
  ImapAppendOptions,
  ImapAppendResult,
  ImapClientOptions,
  ImapCommandOptions,
  ImapConnectOptions,
  ImapFetchBody,
  ImapFetchBodyOptions,
  ImapFetchOptions,
  ImapIdle,
  ImapIdleOptions,
  ImapListOptions,
  ImapMailbox,
  ImapSearchCriteria,
  ImapSearchOptions,
  ImapSelectOptions,
  ImapSequenceSetInput,
  ImapStoreOptions,
  ImapUidOptions,
};

/** The IMAP port (RFC 3501). */
export const IMAP_PORT = 143;
/** The IMAP port with implicit TLS (RFC 8314). */
export const IMAPS_PORT = 993;

const encoder = new TextEncoder();
const FORBIDDEN_REGEXP = /[\r\n\0]/;
const ATOM_REGEXP = /^[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|}~]+$/;
const SECTION_REGEXP = /^[A-Za-z0-9.]*(?: \([^()\r\n\0]*\))?$/;
const MAX_AUTH_STEPS = 10;
const MAX_IDLE_QUEUE = 1024;
/** Events that change the mailbox, reported to a running IDLE whichever command read them. */
const MAILBOX_CHANGES = new Set(["exists", "expunge", "vanished", "recent"]);
/** Errors decided on this side before a byte was sent, or after a clean exchange. */
const SESSION_INTACT_CODES = new Set([
  "BAD_CHALLENGE",
  "SASL_UNEXPECTED_CHALLENGE",
]);

/** A message body that is written after the `+` continuation, from a stream. */
interface StreamPart {
  type: "stream";
  stream: ReadableStream<Uint8Array>;
  size: number;
  synchronizing: boolean;
}

type Part = ImapCommandPart | StreamPart;

/** One command: its words, how its untagged data is collected, what the log shows. */
interface CommandSpec {
  /** The verb, for messages (`"FETCH"`). */
  name: string;
  /** What follows the tag, without CR LF. */
  parts: Part[];
  /** What the debug log shows after the tag instead of the parts (secrets). */
  shown?: string;
  /** Receives the untagged events read while the command runs. */
  collect?: (event: ImapEvent) => void;
  /** Where body-section literals go. */
  onBodyLiteral?: ImapBodyLiteralHandler;
  /** Answers `+` continuations after the command was sent (AUTHENTICATE). */
  onContinuation?: (text: string) => Promise<{ text: string; shown: string }>;
  /** Read by an IDLE or its NOOP poll: every event goes to the IDLE's queue. */
  idle?: boolean;
}

interface IdleSession {
  queue: ImapEvent[];
  stopped: boolean;
  holding: boolean;
  interruptRequested: boolean;
  abort: AbortController | null;
  wake: (() => void) | null;
  space: (() => void) | null;
  error: unknown;
  ended: boolean;
  finished: Promise<void>;
}

/**
 * An IMAP4rev1/IMAP4rev2 client (RFC 3501, RFC 9051), the modern
 * `imaplib.IMAP4`: tagged commands with the untagged data the server sends
 * dispatched as it arrives (to the command's result, to the selected
 * mailbox's state, and as {@linkcode ImapEvent}s to `onEvent` listeners),
 * including what arrives between commands; `STARTTLS` with capabilities
 * re-read, `LOGIN`, `AUTHENTICATE` with SASL-IR, `ENABLE`, `ID`,
 * `LIST`/`LSUB`/`STATUS`, `SELECT`/`EXAMINE`, mailbox management,
 * `SEARCH` with a criteria object, `FETCH` decoded into typed data with
 * bodies in memory or streamed ({@linkcode ImapClient.fetchBody}), `STORE`,
 * `COPY`, `MOVE`, `APPEND` (LITERAL+ when offered, streams of known size),
 * `EXPUNGE`, `CLOSE`, `IDLE` as an async iterator, and `LOGOUT`.
 *
 * Mailbox names are sent in modified UTF-7 (or UTF-8 under UTF8=ACCEPT)
 * and decoded on the way back; every string argument goes as an atom, a
 * quoted string or a literal, and CR, LF or NUL in any argument throws
 * before a byte is written. A refusal is an {@linkcode ImapError}; `* BYE`
 * closes the connection and commands in flight or later throw
 * {@linkcode ImapByeError}. Commands run one at a time, in call order.
 *
 * @example Listing the subjects in INBOX
 * ```ts ignore
 * import { ImapClient } from "@inetkit/inetkit/mail";
 * import { assert } from "@std/assert";
 *
 * await using imap = await ImapClient.connect({
 *   hostname: "127.0.0.1",
 *   port: 1143,
 *   credentials: { username: "mulder", password: "trustno1" },
 * });
 * await imap.examine("INBOX");
 * const messages = await imap.fetch("1:*", ["UID", "ENVELOPE"]);
 * assert(messages.every((m) => m.envelope !== undefined));
 * ```
 *
 * @example Talking to a scripted server
 * ```ts
 * import { ImapClient } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const script = "* OK [CAPABILITY IMAP4rev1] ready\r\n" +
 *   "* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\nA1 OK [READ-ONLY] done\r\n";
 * const sent: string[] = [];
 * const imap = new ImapClient({
 *   readable: ReadableStream.from([new TextEncoder().encode(script)]),
 *   writable: new WritableStream({ write: (c) => void sent.push(new TextDecoder().decode(c)) }),
 *   close() {},
 * });
 * const mailbox = await imap.examine("INBOX");
 * assertEquals([mailbox.exists, mailbox.uidValidity, mailbox.readOnly], [2, 7, true]);
 * assertEquals(sent, ["A1 EXAMINE INBOX\r\n"]);
 * imap.close();
 * ```
 */
export class ImapClient implements AsyncDisposable {
  #conn: TextConn;
  #responses: ImapResponseReader;
  #readerOptions: ImapResponseReaderOptions;
  #serverName: string | undefined;
  #caCerts: string[] | undefined;
  #allowInsecureAuth: boolean;
  #timeout: number | undefined;
  #idleTimeout: number;
  #drainLimit: number;
  #wantUtf8: boolean;
  #debug: ((line: string) => void) | undefined;
  #listeners = new Set<(event: ImapEvent) => void>();
  #greeting: ImapStatusResponse | null = null;
  #caps: Set<string> | null = null;
  #enabled = new Set<string>();
  #authenticated = false;
  #utf8 = false;
  #mailbox: ImapMailbox | null = null;
  #tags = 0;
  #bye: ImapStatusResponse | null = null;
  /** Why the connection was closed by the server side, for later commands. */
  #failure: unknown = null;
  /** Commands that want or hold the connection (an IDLE pauses while any does). */
  #active = 0;
  #whenInactive: (() => void)[] = [];
  #watching = false;
  #watchAbort = new AbortController();
  #idle: IdleSession | null = null;
  #written = false;
  /** Whether the command being run may log a continuation's text. */
  #secretContinuation = false;

  /**
   * Wraps a connection to an IMAP server. Nothing is sent until the first
   * command, which reads the greeting first.
   *
   * @param conn The connection; the client owns it from now on.
   * @param options Names, limits, timeouts, listeners and the debug log.
   * @throws {RangeError} If a limit or timeout is not a positive number.
   */
  constructor(conn: DuplexConn, options?: ImapClientOptions) {
    options ??= {};
    this.#serverName = options.serverName ?? remoteHostname(conn);
    this.#caCerts = options.caCerts;
    this.#allowInsecureAuth = options.allowInsecureAuth ?? false;
    this.#timeout = options.timeout === undefined
      ? undefined
      : positive(options.timeout, "timeout");
    this.#idleTimeout = positive(options.idleTimeout ?? 120000, "idleTimeout");
    this.#drainLimit = nonNegative(options.drainLimit ?? 1048576, "drainLimit");
    this.#wantUtf8 = options.utf8 ?? false;
    this.#debug = options.debug;
    if (options.onEvent !== undefined) this.#listeners.add(options.onEvent);
    this.#readerOptions = {
      maxLineLength: options.maxLineLength,
      maxResponseSize: options.maxResponseSize,
      maxInlineLiteral: options.maxInlineLiteral,
      maxLiteralSize: options.maxLiteralSize,
    };
    // Untagged data between commands is expected in IMAP: it is read by
    // this client (see #armWatch), never treated as a protocol error.
    this.#conn = new TextConn(conn, { unsolicited: "allow" });
    this.#responses = new ImapResponseReader(this.#conn.reader, this.#readerOptions);
  }

  /**
   * Dials a server, reads its greeting, learns its capabilities, upgrades
   * with STARTTLS when offered (or implicit TLS with `tls`), logs in when
   * given credentials, and turns on UTF8=ACCEPT when asked and offered.
   *
   * @param options Where to connect, TLS, credentials and the client options.
   * @returns A client in the authenticated state when credentials were given.
   * @throws {ImapError} When the server refuses STARTTLS (with
   *   `requireTls`) or the login.
   * @throws {ImapByeError} When the server refuses the connection.
   * @throws {MissingExtensionError} `"STARTTLS"` with `requireTls`,
   *   `"SASL"` or `"LOGIN"` (`LOGINDISABLED`) when no login way is left.
   * @throws {ProtocolError} `"STARTTLS_INJECTION"`, or malformed responses.
   * @throws {TypeError} When the login would send a password in clear.
   * @throws {DOMException} The signal's reason or a `TimeoutError`.
   *
   * @example STARTTLS and a login
   * ```ts ignore
   * import { ImapClient } from "@inetkit/inetkit/mail";
   * import { assert } from "@std/assert";
   *
   * await using imap = await ImapClient.connect({
   *   hostname: "localhost",
   *   port: 1143,
   *   requireTls: true,
   *   caCerts: [await Deno.readTextFile("/tmp/peers/tls/ca.pem")],
   *   credentials: { username: "mulder", password: "trustno1" },
   * });
   * assert(imap.tls && imap.authenticated);
   * ```
   */
  static async connect(options?: ImapConnectOptions): Promise<ImapClient> {
    options ??= {};
    if (options.tls === false && options.requireTls) {
      throw new TypeError("Cannot connect: requireTls and tls: false exclude each other");
    }
    const hostname = options.hostname ?? "127.0.0.1";
    const port = options.port ?? (options.tls ? IMAPS_PORT : IMAP_PORT);
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
    const client = new ImapClient(conn, {
      ...options,
      serverName: options.serverName ?? tls?.hostname ?? hostname,
    });
    try {
      const signal = options.signal;
      const caps = await client.#knownCapabilities({ signal });
      // Only an explicit tls: false (or the older starttls: false) stays in clear.
      const clear = options.tls === false || options.starttls === false;
      if (!client.tls && (options.requireTls || !clear)) {
        if (client.#authenticated && options.requireTls) {
          throw new MissingExtensionError(
            "STARTTLS",
            "Cannot start TLS: the server logged the session in (PREAUTH) without TLS",
          );
        }
        if (caps.has("STARTTLS") && !client.#authenticated) {
          try {
            await client.startTls({ signal });
          } catch (error) {
            // Opportunistic TLS goes on in clear after a refusal, never
            // after a failed handshake (the connection is closed then).
            if (options.requireTls || !(error instanceof ImapError) || client.closed) throw error;
          }
        } else if (options.requireTls) {
          throw new MissingExtensionError(
            "STARTTLS",
            "Cannot start TLS: the server does not offer STARTTLS",
          );
        }
      }
      if (options.credentials !== undefined && !client.#authenticated) {
        await client.login(options.credentials, { mechanism: options.mechanism, signal });
      }
      if (client.#wantUtf8 && client.#authenticated) {
        const known = await client.#knownCapabilities({ signal });
        if (known.has("UTF8=ACCEPT") && !client.#utf8) {
          await client.enable(["UTF8=ACCEPT"], { signal });
        }
      }
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  // ---- state -------------------------------------------------------------

  /** The greeting (`* OK`, `* PREAUTH`), or `null` before the first command. */
  get greeting(): ImapStatusResponse | null {
    return this.#greeting;
  }

  /** The capabilities last learned, upper-cased (`IMAP4REV1`, `AUTH=PLAIN`, `IDLE`); empty before. */
  get capabilities(): ReadonlySet<string> {
    return this.#caps ?? new Set();
  }

  /** The extensions turned on with ENABLE (`CONDSTORE`, `UTF8=ACCEPT`). */
  get enabled(): ReadonlySet<string> {
    return this.#enabled;
  }

  /** Whether the connection is TLS (implicit or after STARTTLS). */
  get tls(): boolean {
    return this.#conn.tls;
  }

  /** Whether the session is authenticated (a login, or a PREAUTH greeting). */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** Whether UTF8=ACCEPT is on: mailbox names and strings travel as UTF-8. */
  get utf8(): boolean {
    return this.#utf8;
  }

  /** The selected mailbox (a copy of its current state), or `null`. */
  get mailbox(): ImapMailbox | null {
    const m = this.#mailbox;
    return m === null ? null : { ...m, flags: [...m.flags], permanentFlags: [...m.permanentFlags] };
  }

  /** Whether the connection is closed (by `close`, `LOGOUT`, a `BYE` or a failure). */
  get closed(): boolean {
    return this.#conn.closed;
  }

  /**
   * Listens to every untagged response as a typed event, whichever
   * command read it or none (data that arrived between commands). The
   * selected mailbox's state ({@linkcode ImapClient.mailbox}) is updated
   * before listeners run. A listener that throws fails the command that
   * read the event (and the connection is closed).
   *
   * @param listener Called with each event, in order.
   * @returns A function that removes the listener.
   *
   * @example Watching EXISTS
   * ```ts
   * import { ImapClient } from "@inetkit/inetkit/mail";
   * import { assertEquals } from "@std/assert";
   *
   * const imap = new ImapClient({
   *   readable: ReadableStream.from([
   *     new TextEncoder().encode("* OK ready\r\n* 3 EXISTS\r\nA1 OK done\r\n"),
   *   ]),
   *   writable: new WritableStream(),
   *   close() {},
   * });
   * const seen: string[] = [];
   * imap.onEvent((event) => seen.push(event.kind));
   * await imap.noop();
   * assertEquals(seen, ["ok", "exists"]); // the greeting, then the news
   * imap.close();
   * ```
   */
  onEvent(listener: (event: ImapEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- session -----------------------------------------------------------

  /**
   * Asks for the capabilities (`CAPABILITY`, RFC 3501 §6.1.1).
   *
   * @param options A signal and a timeout.
   * @returns The capabilities, upper-cased.
   * @throws {ImapError} When the server refuses.
   */
  capability(options?: ImapCommandOptions): Promise<ReadonlySet<string>> {
    options ??= {};
    return this.#withLease(async () => {
      await this.#ok({ name: "CAPABILITY", parts: [text("CAPABILITY")] });
      return this.capabilities;
    }, options);
  }

  /**
   * Upgrades the connection with `STARTTLS` (RFC 3501 §6.2.1) and asks for
   * the capabilities again over TLS (the old ones are forgotten). Bytes the
   * server sends after its OK and before the handshake are an injection
   * attack: the connection is closed.
   *
   * @param options A signal, a timeout and TLS settings (server name, CAs).
   * @throws {ImapError} When the server refuses.
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` for early bytes.
   * @throws {TypeError} When the connection is already TLS, or the transport
   *   is not a TCP connection.
   */
  startTls(options?: ImapCommandOptions & { tls?: TlsOptions }): Promise<void> {
    options ??= {};
    return this.#withLease(async () => {
      if (this.#conn.tls) throw new TypeError("Cannot start TLS: the connection is already TLS");
      await this.#ok({ name: "STARTTLS", parts: [text("STARTTLS")] });
      this.#stopWatch();
      await this.#conn.startTls({
        hostname: options.tls?.hostname ?? this.#serverName,
        caCerts: options.tls?.caCerts ?? this.#caCerts,
        alpnProtocols: options.tls?.alpnProtocols,
      });
      this.#responses = new ImapResponseReader(this.#conn.reader, this.#readerOptions);
      // RFC 3501 §6.2.1: what the server said in clear may have been tampered with.
      this.#caps = null;
      await this.#ok({ name: "CAPABILITY", parts: [text("CAPABILITY")] });
    }, options);
  }

  /**
   * Logs in the usual way: with the named mechanism (`"LOGIN"` for the
   * LOGIN command, else a SASL mechanism); otherwise the best SASL
   * mechanism the server offers that is safe on this connection, then
   * `LOGIN` where a password may go in clear (TLS, loopback, or
   * `allowInsecureAuth`).
   *
   * @param credentials The user name and password or token.
   * @param options The mechanism, a signal and a timeout.
   * @throws {ImapError} When the server refuses (`[AUTHENTICATIONFAILED]`).
   * @throws {MissingExtensionError} `"SASL"`, or `"LOGIN"` when the server
   *   advertises `LOGINDISABLED`.
   * @throws {TypeError} When every way would send the password in clear.
   */
  async login(
    credentials: SaslCredentials,
    options?: ImapCommandOptions & { mechanism?: string },
  ): Promise<void> {
    options ??= {};
    const wanted = options.mechanism?.toUpperCase();
    if (wanted === "LOGIN") {
      return await this.#loginCommand(credentials.username, credentials.password, options);
    }
    if (wanted !== undefined) return await this.authenticate(credentials, options);
    const caps = await this.#knownCapabilities(options);
    const advertised = [...caps].filter((c) => c.startsWith("AUTH=")).map((c) => c.slice(5));
    const chosen = chooseSaslMechanism(advertised, credentials, { secure: this.#secure() });
    if (chosen !== null) {
      return await this.authenticate(credentials, { ...options, mechanism: chosen });
    }
    return await this.#loginCommand(credentials.username, credentials.password, options);
  }

  #loginCommand(
    username: string,
    password: string | undefined,
    options: ImapCommandOptions,
  ): Promise<void> {
    if (password === undefined) {
      throw new TypeError("Cannot log in with LOGIN: the credentials have no password");
    }
    checkArgument(username, "user name");
    checkArgument(password, "password");
    return this.#withLease(async () => {
      const caps = await this.#ensureCapabilities();
      if (caps.has("LOGINDISABLED")) {
        throw new MissingExtensionError(
          "LOGIN",
          "Cannot log in with LOGIN: the server disabled it (LOGINDISABLED); use TLS",
        );
      }
      if (!this.#secure()) {
        throw new TypeError(
          `Cannot log in with LOGIN: it would send the password without TLS to ${
            this.#serverName ?? "the server"
          } (use TLS, or allowInsecureAuth)`,
        );
      }
      const strings = this.#stringOptions();
      const user = formatImapAstring(username, strings);
      const status = await this.#ok({
        name: "LOGIN",
        parts: joinImapParts(["LOGIN ", user, " ", formatImapAstring(password, strings)]),
        shown: `LOGIN ${
          user.length === 1 && user[0]!.type === "text" ? user[0]!.text : "{...}"
        } ****`,
      });
      this.#loggedIn(status);
    }, options);
  }

  /**
   * Logs in with SASL (`AUTHENTICATE`, RFC 3501 §6.2.2, RFC 4959 SASL-IR):
   * the named mechanism or the best advertised one the credentials serve.
   * Mechanisms that send the secret readable are used only over TLS, to a
   * loopback address, or with `allowInsecureAuth`. The debug log shows
   * `****` for the exchange.
   *
   * @param credentials The user name and password or token.
   * @param options The mechanism, a signal and a timeout.
   * @throws {ImapError} When the server refuses the login.
   * @throws {MissingExtensionError} `"SASL"` when no advertised mechanism
   *   qualifies.
   * @throws {ProtocolError} `"BAD_CHALLENGE"`, `"SASL_UNEXPECTED_CHALLENGE"`.
   * @throws {TypeError} For unusable credentials, or a mechanism that would
   *   expose the secret on an unprotected connection.
   */
  authenticate(
    credentials: SaslCredentials,
    options?: ImapCommandOptions & { mechanism?: string },
  ): Promise<void> {
    options ??= {};
    if (options.mechanism !== undefined && !ATOM_REGEXP.test(options.mechanism)) {
      throw new TypeError(
        `Cannot authenticate: ${JSON.stringify(options.mechanism)} is not a mechanism name`,
      );
    }
    checkArgument(credentials?.username, "user name");
    if (credentials.password !== undefined) checkArgument(credentials.password, "password");
    return this.#withLease(async () => {
      const caps = await this.#ensureCapabilities();
      const secure = this.#secure();
      const advertised = [...caps].filter((c) => c.startsWith("AUTH=")).map((c) => c.slice(5));
      let name = options.mechanism;
      if (name === undefined) {
        name = chooseSaslMechanism(advertised, credentials, { secure }) ?? undefined;
        if (name === undefined) {
          throw new MissingExtensionError(
            "SASL",
            advertised.length === 0
              ? "Cannot authenticate: the server offers no SASL mechanism"
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
      const command = `AUTHENTICATE ${sasl.name}`;
      const initial = caps.has("SASL-IR") ? sasl.initialResponse() : null;
      let steps = 0;
      let failure: unknown = null;
      this.#secretContinuation = true;
      let status: ImapStatusResponse;
      try {
        status = await this.#execute({
          name: "AUTHENTICATE",
          parts: [
            text(initial === null ? command : `${command} ${base64(initial, true)}`),
          ],
          shown: initial === null ? command : `${command} ****`,
          onContinuation: (challenge) => {
            if (failure !== null) return Promise.resolve({ text: "*", shown: "*" });
            if (++steps > MAX_AUTH_STEPS) {
              failure = new ProtocolError(
                "SASL_UNEXPECTED_CHALLENGE",
                `Cannot authenticate with ${sasl.name}: more than ${MAX_AUTH_STEPS} challenges`,
              );
              return Promise.resolve({ text: "*", shown: "*" });
            }
            try {
              const response = sasl.respond(decodeChallenge(challenge));
              return Promise.resolve({ text: base64(response, false), shown: "****" });
            } catch (error) {
              // Cancel the exchange (RFC 3501 §6.2.2), then report the cause.
              failure = error;
              return Promise.resolve({ text: "*", shown: "*" });
            }
          },
        });
      } finally {
        this.#secretContinuation = false;
      }
      if (failure !== null) throw failure;
      if (status.status !== "OK") {
        throw new ImapError(status.status as "NO" | "BAD", status.code, status.text, {
          command: "AUTHENTICATE",
        });
      }
      this.#loggedIn(status);
    }, options);
  }

  /**
   * Turns on extensions with `ENABLE` (RFC 5161): `CONDSTORE`, `QRESYNC`,
   * `UTF8=ACCEPT` (then mailbox names and strings are UTF-8 from here on).
   *
   * @param extensions The capability names.
   * @param options A signal and a timeout.
   * @returns The extensions the server enabled.
   * @throws {ImapError} When the server refuses.
   * @throws {TypeError} For a name that is not an atom.
   */
  enable(extensions: readonly string[], options?: ImapCommandOptions): Promise<string[]> {
    options ??= {};
    for (const name of extensions) {
      if (!ATOM_REGEXP.test(name)) {
        throw new TypeError(`Cannot ENABLE ${JSON.stringify(name)}: it is not an atom`);
      }
    }
    if (extensions.length === 0) throw new TypeError("Cannot ENABLE: no extensions given");
    return this.#withLease(async () => {
      const enabled: string[] = [];
      await this.#ok({
        name: "ENABLE",
        parts: [text(`ENABLE ${extensions.join(" ")}`)],
        collect: (event) => {
          if (event.kind === "enabled") enabled.push(...event.capabilities);
        },
      });
      return enabled;
    }, options);
  }

  /**
   * Exchanges implementation details with `ID` (RFC 2971).
   *
   * @param fields The client's fields (`name`, `version`, ...), or `null`.
   * @param options A signal and a timeout.
   * @returns The server's fields, or `null` when it sent none.
   * @throws {ImapError} When the server refuses.
   * @throws {TypeError} For a field with CR, LF or NUL.
   */
  id(
    fields: Readonly<Record<string, string | null>> | null,
    options?: ImapCommandOptions,
  ): Promise<Map<string, string | null> | null> {
    options ??= {};
    const pieces: (string | readonly ImapCommandPart[])[] = ["ID "];
    if (fields === null) pieces.push("NIL");
    else {
      pieces.push("(");
      Object.entries(fields).forEach(([key, value], i) => {
        checkArgument(key, "ID field name");
        if (value !== null) checkArgument(value, `ID field ${key}`);
        if (i > 0) pieces.push(" ");
        pieces.push(formatImapAstring(key, { atom: false }), " ");
        pieces.push(value === null ? "NIL" : formatImapAstring(value, { atom: false }));
      });
      pieces.push(")");
    }
    return this.#withLease(async () => {
      let result: Map<string, string | null> | null = null;
      await this.#ok({
        name: "ID",
        parts: joinImapParts(pieces),
        collect: (event) => {
          if (event.kind !== "other" || event.response.name !== "ID") return;
          const list = event.response.args[0];
          if (list?.type !== "list") return;
          result = new Map();
          for (let i = 0; i + 1 < list.items.length; i += 2) {
            const k = list.items[i]!;
            const v = list.items[i + 1]!;
            if (k.type !== "string" && k.type !== "atom") continue;
            result.set(
              k.value as string,
              v.type === "string" || v.type === "atom" ? v.value as string : null,
            );
          }
        },
      });
      return result;
    }, options);
  }

  /**
   * Sends `NOOP` (RFC 3501 §6.1.2): lets the server report changes (new
   * messages, expunges, flags) as events, and keeps the session alive.
   *
   * @param options A signal and a timeout.
   * @returns The events the server sent.
   * @throws {ImapError} When the server refuses.
   */
  noop(options?: ImapCommandOptions): Promise<ImapEvent[]> {
    options ??= {};
    return this.#withLease(async () => {
      const events: ImapEvent[] = [];
      await this.#ok({
        name: "NOOP",
        parts: [text("NOOP")],
        collect: (e) => void events.push(e),
      });
      return events;
    }, options);
  }

  /**
   * Ends the session with `LOGOUT` (RFC 3501 §6.1.3) and closes the connection.
   *
   * @param options A signal and a timeout.
   * @throws {ImapError} When the server refuses (it never should).
   */
  async logout(options?: ImapCommandOptions): Promise<void> {
    options ??= {};
    if (this.#conn.closed) return;
    const busy = this.#conn.busy || this.#active > 0;
    try {
      await this.#stopIdle();
      await this.#withLease(async () => {
        try {
          await this.#ok({ name: "LOGOUT", parts: [text("LOGOUT")] });
        } catch (error) {
          // A server that closes right after its BYE has said goodbye.
          if (!(error instanceof ImapByeError)) throw error;
        }
      }, options);
    } finally {
      if (!busy) this.close();
    }
  }

  /** Closes the connection without LOGOUT; safe to call more than once. */
  close(): void {
    if (this.#idle !== null) {
      this.#idle.stopped = true;
      this.#idle.abort?.abort();
      this.#idle.wake?.();
      this.#idle.space?.();
    }
    this.#stopWatch();
    this.#conn.close();
  }

  /**
   * Says LOGOUT (waiting at most one second), then closes the connection.
   * While another command runs or a body stream holds the connection, it
   * closes at once instead of waiting for them.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#conn.closed) return;
    if (this.#active > 0 || this.#conn.busy && this.#idle === null) {
      this.close();
      return;
    }
    try {
      await this.logout({ timeout: 1000 });
    } catch {
      // closing anyway
    }
    this.close();
  }

  // ---- mailboxes ---------------------------------------------------------

  /**
   * Lists mailboxes with `LIST` (RFC 3501 §6.3.8); names come back decoded
   * from modified UTF-7.
   *
   * @param pattern The name pattern: `*` matches across levels, `%` one level.
   * @param options The reference name, a signal and a timeout.
   * @returns The matching mailboxes.
   * @throws {ImapError} When the server refuses.
   * @throws {TypeError} For a pattern with CR, LF or NUL.
   */
  list(pattern = "*", options?: ImapListOptions): Promise<ImapMailboxListItem[]> {
    options ??= {};
    return this.#listing("LIST", pattern, options);
  }

  /**
   * Lists subscribed mailboxes with `LSUB` (RFC 3501 §6.3.9).
   *
   * @param pattern The name pattern.
   * @param options The reference name, a signal and a timeout.
   * @returns The matching subscribed mailboxes.
   * @throws {ImapError} When the server refuses.
   */
  lsub(pattern = "*", options?: ImapListOptions): Promise<ImapMailboxListItem[]> {
    options ??= {};
    return this.#listing("LSUB", pattern, options);
  }

  #listing(
    verb: "LIST" | "LSUB",
    pattern: string,
    options: ImapListOptions,
  ): Promise<ImapMailboxListItem[]> {
    checkArgument(pattern, "mailbox pattern");
    const reference = options.reference ?? "";
    checkArgument(reference, "reference name");
    return this.#withLease(async () => {
      const items: ImapMailboxListItem[] = [];
      const strings = this.#stringOptions();
      await this.#ok({
        name: verb,
        parts: joinImapParts([
          `${verb} `,
          reference === "" ? '""' : formatImapMailbox(reference, strings),
          " ",
          pattern === "" ? '""' : formatImapMailbox(pattern, strings),
        ]),
        collect: (event) => {
          if (event.kind === verb.toLowerCase()) {
            items.push((event as { item: ImapMailboxListItem }).item);
          }
        },
      });
      return items;
    }, options);
  }

  /**
   * Asks for a mailbox's counters with `STATUS` (RFC 3501 §6.3.10) without
   * selecting it.
   *
   * @param mailbox The mailbox name.
   * @param items The items to ask for.
   * @param options A signal and a timeout.
   * @returns The counters.
   * @throws {ImapError} When the server refuses (no such mailbox).
   * @throws {TypeError} For a bad name or item.
   */
  status(
    mailbox: string,
    items: readonly string[] = ["MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN"],
    options?: ImapCommandOptions,
  ): Promise<ImapMailboxStatus> {
    options ??= {};
    for (const item of items) {
      if (!ATOM_REGEXP.test(item)) {
        throw new TypeError(`Cannot send STATUS: ${JSON.stringify(item)} is not an item name`);
      }
    }
    const arg = this.#mailboxArg(mailbox);
    return this.#withLease(async () => {
      let result: ImapMailboxStatus | null = null;
      await this.#ok({
        name: "STATUS",
        parts: joinImapParts([
          "STATUS ",
          arg,
          ` (${items.join(" ")})`,
        ]),
        collect: (event) => {
          if (event.kind === "status") result = event.status;
        },
      });
      if (result === null) {
        throw new ProtocolError(
          "BAD_REPLY",
          "Cannot read STATUS: the server sent no STATUS response",
        );
      }
      return result;
    }, options);
  }

  /**
   * Selects a mailbox for reading and writing with `SELECT` (RFC 3501
   * §6.3.1). A failed SELECT leaves no mailbox selected.
   *
   * @param mailbox The mailbox name.
   * @param options CONDSTORE, a signal and a timeout.
   * @returns The mailbox's state.
   * @throws {ImapError} When the server refuses (no such mailbox).
   */
  select(mailbox: string, options?: ImapSelectOptions): Promise<ImapMailbox> {
    options ??= {};
    return this.#open("SELECT", mailbox, options);
  }

  /**
   * Selects a mailbox read-only with `EXAMINE` (RFC 3501 §6.3.2): nothing,
   * not even `\Seen`, changes.
   *
   * @param mailbox The mailbox name.
   * @param options CONDSTORE, a signal and a timeout.
   * @returns The mailbox's state.
   * @throws {ImapError} When the server refuses.
   */
  examine(mailbox: string, options?: ImapSelectOptions): Promise<ImapMailbox> {
    options ??= {};
    return this.#open("EXAMINE", mailbox, options);
  }

  #open(
    verb: "SELECT" | "EXAMINE",
    mailbox: string,
    options: ImapSelectOptions,
  ): Promise<ImapMailbox> {
    const arg = this.#mailboxArg(mailbox);
    return this.#withLease(async () => {
      this.#mailbox = {
        name: mailbox,
        readOnly: verb === "EXAMINE",
        exists: 0,
        recent: 0,
        flags: [],
        permanentFlags: [],
        uidValidity: null,
        uidNext: null,
        unseen: null,
        highestModseq: null,
      };
      try {
        await this.#ok({
          name: verb,
          parts: joinImapParts([`${verb} `, arg, options.condstore ? " (CONDSTORE)" : ""]),
        });
      } catch (error) {
        this.#mailbox = null;
        throw error;
      }
      return this.mailbox!;
    }, options);
  }

  /**
   * Closes the selected mailbox with `CLOSE` (RFC 3501 §6.4.2), which also
   * expunges messages marked `\Deleted` (unless it was opened read-only).
   *
   * @param options A signal and a timeout.
   * @throws {ImapError} When the server refuses.
   */
  closeMailbox(options?: ImapCommandOptions): Promise<void> {
    options ??= {};
    return this.#simple("CLOSE", [text("CLOSE")], options, () => void (this.#mailbox = null));
  }

  /**
   * Deselects the mailbox without expunging, with `UNSELECT` (RFC 3691).
   *
   * @param options A signal and a timeout.
   * @throws {ImapError} When the server refuses or lacks UNSELECT.
   */
  unselect(options?: ImapCommandOptions): Promise<void> {
    options ??= {};
    return this.#simple("UNSELECT", [text("UNSELECT")], options, () => void (this.#mailbox = null));
  }

  /**
   * Creates a mailbox with `CREATE` (RFC 3501 §6.3.3).
   *
   * @param mailbox The name.
   * @param options A signal and a timeout.
   * @throws {ImapError} When the server refuses (it exists).
   */
  create(mailbox: string, options?: ImapCommandOptions): Promise<void> {
    options ??= {};
    return this.#simple("CREATE", joinImapParts(["CREATE ", this.#mailboxArg(mailbox)]), options);
  }

  /**
   * Deletes a mailbox with `DELETE` (RFC 3501 §6.3.4).
   *
   * @param mailbox The name.
   * @param options A signal and a timeout.
   * @throws {ImapError} When the server refuses.
   */
  delete(mailbox: string, options?: ImapCommandOptions): Promise<void> {
    options ??= {};
    return this.#simple("DELETE", joinImapParts(["DELETE ", this.#mailboxArg(mailbox)]), options);
  }

  /**
   * Renames a mailbox with `RENAME` (RFC 3501 §6.3.5).
   *
   * @param from The current name.
   * @param to The new name.
   * @param options A signal and a timeout.
   * @throws {ImapError} When the server refuses.
   */
  rename(from: string, to: string, options?: ImapCommandOptions): Promise<void> {
    options ??= {};
    return this.#simple(
      "RENAME",
      joinImapParts(["RENAME ", this.#mailboxArg(from), " ", this.#mailboxArg(to)]),
      options,
    );
  }

  /**
   * Subscribes to a mailbox with `SUBSCRIBE` (RFC 3501 §6.3.6).
   *
   * @param mailbox The name.
   * @param options A signal and a timeout.
   * @throws {ImapError} When the server refuses.
   */
  subscribe(mailbox: string, options?: ImapCommandOptions): Promise<void> {
    options ??= {};
    return this.#simple(
      "SUBSCRIBE",
      joinImapParts(["SUBSCRIBE ", this.#mailboxArg(mailbox)]),
      options,
    );
  }

  /**
   * Unsubscribes from a mailbox with `UNSUBSCRIBE` (RFC 3501 §6.3.7).
   *
   * @param mailbox The name.
   * @param options A signal and a timeout.
   * @throws {ImapError} When the server refuses.
   */
  unsubscribe(mailbox: string, options?: ImapCommandOptions): Promise<void> {
    options ??= {};
    return this.#simple(
      "UNSUBSCRIBE",
      joinImapParts(["UNSUBSCRIBE ", this.#mailboxArg(mailbox)]),
      options,
    );
  }

  // ---- messages ----------------------------------------------------------

  /**
   * Searches the selected mailbox with `SEARCH` (RFC 3501 §6.4.4): a
   * criteria object (every string quoted or sent as a literal, `CHARSET
   * UTF-8` added for non-ASCII text) or a raw criteria string, which is
   * sent as it is and must hold no CR, LF or NUL.
   *
   * @param criteria What to match: `{ seen: false, from: "skinner" }`, or `"UNSEEN"`.
   * @param options UIDs instead of numbers, the charset, a signal and a timeout.
   * @returns The matching sequence numbers or UIDs, ascending.
   * @throws {ImapError} When the server refuses (`[BADCHARSET]`).
   * @throws {TypeError} For bad criteria.
   *
   * @example Searching by sender and flag
   * ```ts
   * import { ImapClient } from "@inetkit/inetkit/mail";
   * import { assertEquals } from "@std/assert";
   *
   * const sent: string[] = [];
   * const imap = new ImapClient({
   *   readable: ReadableStream.from([
   *     new TextEncoder().encode("* OK ready\r\n* SEARCH 2 7\r\nA1 OK done\r\n"),
   *   ]),
   *   writable: new WritableStream({ write: (c) => void sent.push(new TextDecoder().decode(c)) }),
   *   close() {},
   * });
   * assertEquals(await imap.search({ seen: false, from: 'Walter "W" Skinner' }, { uid: true }), [2, 7]);
   * assertEquals(sent, ['A1 UID SEARCH UNSEEN FROM "Walter \\"W\\" Skinner"\r\n']);
   * imap.close();
   * ```
   */
  search(
    criteria: ImapSearchCriteria | string,
    options?: ImapSearchOptions,
  ): Promise<number[]> {
    options ??= {};
    let parts: ImapCommandPart[];
    let nonAscii = false;
    if (typeof criteria === "string") {
      assertLineSafe(criteria, "search criteria");
      if (criteria.trim() === "") throw new TypeError("Cannot search: the criteria are empty");
      parts = [text(criteria)];
    } else {
      ({ parts, nonAscii } = compileSearch(criteria, this.#stringOptions()));
    }
    const charset = options.charset ?? (nonAscii && !this.#utf8 ? "UTF-8" : undefined);
    if (charset !== undefined && !ATOM_REGEXP.test(charset)) {
      throw new TypeError(`Cannot search: ${JSON.stringify(charset)} is not a charset name`);
    }
    const verb = `${options.uid ? "UID " : ""}SEARCH `;
    return this.#withLease(async () => {
      const numbers: number[] = [];
      await this.#ok({
        name: "SEARCH",
        parts: joinImapParts([verb, charset === undefined ? "" : `CHARSET ${charset} `, parts]),
        collect: (event) => {
          if (event.kind === "search") numbers.push(...event.result.numbers);
        },
      });
      return numbers.sort((a, b) => a - b);
    }, options);
  }

  /**
   * Fetches message data with `FETCH` (RFC 3501 §6.4.5), decoded into
   * {@linkcode ImapFetchData}: `UID`, `FLAGS`, `INTERNALDATE`,
   * `RFC822.SIZE`, `ENVELOPE`, `BODYSTRUCTURE`, `BODY[section]<partial>`
   * (held in memory under `maxLiteralSize`, or sent where `onBody` says).
   * For large bodies use {@linkcode ImapClient.fetchBody}.
   *
   * @param set The messages: `"1:*"`, `7`, `[1, 2, [10, "*"]]`.
   * @param items Item names: `["UID", "FLAGS", "BODY.PEEK[HEADER]"]` or `"ALL"`.
   * @param options UIDs, CHANGEDSINCE, a body handler, a signal and a timeout.
   * @returns One entry per message, in the order the server sent them.
   * @throws {ImapError} When the server refuses.
   * @throws {ProtocolError} `"LITERAL_TOO_LARGE"` for a body over the cap,
   *   `"BAD_REPLY"` for malformed data.
   * @throws {TypeError} For a bad set or item.
   *
   * @example Flags and sizes
   * ```ts
   * import { ImapClient } from "@inetkit/inetkit/mail";
   * import { assertEquals } from "@std/assert";
   *
   * const imap = new ImapClient({
   *   readable: ReadableStream.from([new TextEncoder().encode(
   *     "* OK ready\r\n* 1 FETCH (UID 4 FLAGS (\\Seen) RFC822.SIZE 343)\r\nA1 OK done\r\n",
   *   )]),
   *   writable: new WritableStream(),
   *   close() {},
   * });
   * const [message] = await imap.fetch(4, ["FLAGS", "RFC822.SIZE"], { uid: true });
   * assertEquals([message?.uid, message?.flags, message?.rfc822Size], [4, ["\\Seen"], 343]);
   * imap.close();
   * ```
   */
  fetch(
    set: ImapSequenceSetInput,
    items: string | readonly string[],
    options?: ImapFetchOptions,
  ): Promise<ImapFetchData[]> {
    options ??= {};
    const setText = formatImapSequenceSet(set);
    const itemText = formatFetchItems(items);
    let modifier = "";
    if (options.changedSince !== undefined) {
      modifier = ` (CHANGEDSINCE ${modseqText(options.changedSince)})`;
    }
    return this.#withLease(async () => {
      const results = new Map<number, ImapFetchData>();
      await this.#ok({
        name: "FETCH",
        parts: [text(`${options.uid ? "UID " : ""}FETCH ${setText} ${itemText}${modifier}`)],
        onBodyLiteral: options.onBody,
        collect: (event) => {
          if (event.kind === "fetch") mergeFetch(results, event.data);
        },
      });
      const out = [...results.values()];
      return options.uid ? out.filter((d) => d.uid !== undefined) : out;
    }, options);
  }

  /**
   * Fetches one body section of one message as a stream (`FETCH n
   * (UID BODY.PEEK[section])`): the bytes go from the socket to the
   * caller with backpressure, so a message of any size takes flat memory.
   * The connection is held until the stream is read to its end or
   * cancelled; a cancel drains up to `drainLimit` bytes to keep the
   * connection, and closes it when more is left.
   *
   * @param id The sequence number, or the UID with `uid`.
   * @param options UID, section, peek, a partial range, a signal, timeouts
   *   and the drain limit.
   * @returns The body, or `null` when there is no such message.
   * @throws {ImapError} When the server refuses.
   * @throws {RangeError} For a bad number or range.
   * @throws {TypeError} For a bad section.
   *
   * @example Streaming a message
   * ```ts
   * import { ImapClient } from "@inetkit/inetkit/mail";
   * import { assertEquals } from "@std/assert";
   *
   * const imap = new ImapClient({
   *   readable: ReadableStream.from([new TextEncoder().encode(
   *     "* OK ready\r\n* 1 FETCH (UID 9 BODY[] {5}\r\nhello)\r\nA1 OK done\r\n",
   *   )]),
   *   writable: new WritableStream(),
   *   close() {},
   * });
   * const body = await imap.fetchBody(9, { uid: true });
   * assertEquals([body?.uid, body?.size], [9, 5]);
   * assertEquals(await new Response(body?.stream).text(), "hello");
   * imap.close();
   * ```
   */
  async fetchBody(
    id: number,
    options?: ImapFetchBodyOptions,
  ): Promise<ImapFetchBody | null> {
    options ??= {};
    checkNumber(id, options.uid ? "UID" : "sequence number");
    const section = options.section ?? "";
    if (!SECTION_REGEXP.test(section)) {
      throw new TypeError(`Cannot fetch: ${JSON.stringify(section)} is not a section`);
    }
    let partial = "";
    if (options.partial !== undefined) {
      const [offset, length] = options.partial;
      if (
        !Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1
      ) {
        throw new RangeError(`Cannot fetch: ${JSON.stringify(options.partial)} is not a range`);
      }
      partial = `<${offset}.${length}>`;
    }
    const item = `BODY${options.peek === false ? "" : ".PEEK"}[${section}]${partial}`;
    const drainLimit = options.drainLimit ?? this.#drainLimit;
    this.#checkUsable();
    this.#active++;
    this.#interruptIdle();
    let lease: TextConnLease;
    try {
      lease = await this.#conn.acquire({
        signal: options.signal,
        timeout: options.timeout ?? this.#timeout,
        idleTimeout: options.idleTimeout ?? this.#idleTimeout,
        queue: true,
      });
    } catch (error) {
      this.#commandDone();
      throw this.#closedError(error);
    }
    this.#written = false;
    return await new Promise<ImapFetchBody | null>((resolve, reject) => {
      let delivered = false;
      const spec: CommandSpec = {
        name: "FETCH",
        parts: [text(`${options.uid ? "UID " : ""}FETCH ${id} (UID ${item})`)],
        onBodyLiteral: (info) => {
          if (delivered || info.item !== "BODY") return "skip";
          delivered = true;
          const pipe = new BodyPipe(info.size, (remaining) => {
            // Draining more than the limit costs more than a new connection.
            if (remaining > drainLimit) lease.fail();
          });
          resolve({
            seq: info.seq,
            uid: info.uid ?? (options.uid ? id : null),
            size: info.size,
            section: info.section,
            stream: pipe.readable,
          });
          return pipe.writable;
        },
      };
      const aborted = new Promise<never>((_, fail) => {
        const onAbort = () => fail(lease.signal.reason);
        if (lease.signal.aborted) onAbort();
        lease.signal.addEventListener("abort", onAbort, { once: true });
      });
      aborted.catch(() => {});
      const work = (async () => {
        await this.#ensureGreeting();
        return await this.#execute(spec);
      })();
      work.catch(() => {});
      Promise.race([work, aborted]).then((status) => {
        if (status.status !== "OK") {
          const error = new ImapError(status.status as "NO" | "BAD", status.code, status.text, {
            command: "FETCH",
          });
          if (!delivered) reject(error);
        } else if (!delivered) resolve(null);
      }, (error) => {
        if (!(error instanceof ImapError)) this.#conn.close();
        if (!delivered) reject(this.#closedError(error));
      }).finally(() => {
        this.#release(lease);
        this.#commandDone();
      });
    });
  }

  /**
   * Changes flags with `STORE` (RFC 3501 §6.4.6).
   *
   * @param set The messages.
   * @param flags The flags (`\Seen`, `\Deleted`, keywords).
   * @param options Add, remove or set; silent; UIDs; UNCHANGEDSINCE; a
   *   signal and a timeout.
   * @returns The new flags the server reported (none when silent).
   * @throws {ImapError} When the server refuses.
   * @throws {TypeError} For a bad set or flag.
   */
  store(
    set: ImapSequenceSetInput,
    flags: readonly string[],
    options?: ImapStoreOptions,
  ): Promise<ImapFetchData[]> {
    options ??= {};
    const setText = formatImapSequenceSet(set);
    const flagText = formatImapFlagList(flags);
    const sign = { add: "+", remove: "-", set: "" }[options.operation ?? "add"];
    if (sign === undefined) {
      throw new TypeError(`Cannot STORE: unknown operation ${JSON.stringify(options.operation)}`);
    }
    const modifier = options.unchangedSince === undefined
      ? ""
      : ` (UNCHANGEDSINCE ${modseqText(options.unchangedSince)})`;
    const verb = `${options.uid ? "UID " : ""}STORE`;
    return this.#withLease(async () => {
      const results = new Map<number, ImapFetchData>();
      await this.#ok({
        name: "STORE",
        parts: [
          text(
            `${verb} ${setText}${modifier} ${sign}FLAGS${
              options.silent ? ".SILENT" : ""
            } ${flagText}`,
          ),
        ],
        collect: (event) => {
          if (event.kind === "fetch") mergeFetch(results, event.data);
        },
      });
      return [...results.values()];
    }, options);
  }

  /**
   * Copies messages to another mailbox with `COPY` (RFC 3501 §6.4.7).
   *
   * @param set The messages.
   * @param mailbox The destination.
   * @param options UIDs, a signal and a timeout.
   * @returns The UID mapping (`COPYUID`, RFC 4315), or `null` without UIDPLUS.
   * @throws {ImapError} When the server refuses (`[TRYCREATE]`: no such mailbox).
   */
  copy(
    set: ImapSequenceSetInput,
    mailbox: string,
    options?: ImapUidOptions,
  ): Promise<ImapCopyUid | null> {
    options ??= {};
    const setText = formatImapSequenceSet(set);
    const arg = this.#mailboxArg(mailbox);
    return this.#withLease(() => this.#copyOrMove("COPY", setText, arg, options), options);
  }

  /**
   * Moves messages to another mailbox with `MOVE` (RFC 6851). Without
   * MOVE, by UID with UIDPLUS: `COPY`, `STORE +FLAGS.SILENT (\Deleted)` and
   * `UID EXPUNGE` of exactly those messages.
   *
   * @param set The messages.
   * @param mailbox The destination.
   * @param options UIDs, a signal and a timeout.
   * @returns The UID mapping (`COPYUID`), or `null`.
   * @throws {ImapError} When the server refuses.
   * @throws {MissingExtensionError} `"MOVE"` without MOVE, when the
   *   fallback cannot be exact (no UIDs or no UIDPLUS).
   */
  move(
    set: ImapSequenceSetInput,
    mailbox: string,
    options?: ImapUidOptions,
  ): Promise<ImapCopyUid | null> {
    options ??= {};
    const setText = formatImapSequenceSet(set);
    const arg = this.#mailboxArg(mailbox);
    return this.#withLease(async () => {
      const caps = await this.#ensureCapabilities();
      if (caps.has("MOVE")) return await this.#copyOrMove("MOVE", setText, arg, options);
      if (!options.uid || !caps.has("UIDPLUS")) {
        throw new MissingExtensionError(
          "MOVE",
          "Cannot move: the server has no MOVE, and without UIDs and UIDPLUS " +
            "the COPY fallback could expunge other messages",
        );
      }
      const mapping = await this.#copyOrMove("COPY", setText, arg, options);
      await this.#ok({
        name: "STORE",
        parts: [text(`UID STORE ${setText} +FLAGS.SILENT (\\Deleted)`)],
      });
      await this.#ok({ name: "EXPUNGE", parts: [text(`UID EXPUNGE ${setText}`)] });
      return mapping;
    }, options);
  }

  async #copyOrMove(
    verb: "COPY" | "MOVE",
    setText: string,
    mailbox: ImapCommandPart[],
    options: ImapUidOptions,
  ): Promise<ImapCopyUid | null> {
    let mapping: ImapCopyUid | null = null;
    const status = await this.#ok({
      name: verb,
      parts: joinImapParts([`${options.uid ? "UID " : ""}${verb} ${setText} `, mailbox]),
      collect: (event) => {
        // RFC 6851 §4.3: MOVE reports COPYUID in an untagged OK.
        if (event.kind === "ok" && event.response.code?.name === "COPYUID") {
          mapping = event.response.code.value as ImapCopyUid;
        }
      },
    });
    if (status.code?.name === "COPYUID") mapping = status.code.value as ImapCopyUid;
    return mapping;
  }

  /**
   * Removes messages marked `\Deleted` with `EXPUNGE` (RFC 3501 §6.4.3), or
   * only those among `uids` with `UID EXPUNGE` (RFC 4315).
   *
   * @param options `uids` to limit it, a signal and a timeout.
   * @returns The sequence numbers the server reported expunged, in order
   *   (each relative to the mailbox after the ones before), or the UIDs
   *   from VANISHED under QRESYNC.
   * @throws {ImapError} When the server refuses.
   * @throws {MissingExtensionError} `"UIDPLUS"` for `uids` without UIDPLUS.
   */
  expunge(options?: ImapCommandOptions & { uids?: ImapSequenceSetInput }): Promise<number[]> {
    options ??= {};
    const uids = options.uids === undefined ? undefined : formatImapSequenceSet(options.uids);
    return this.#withLease(async () => {
      if (uids !== undefined && !(await this.#ensureCapabilities()).has("UIDPLUS")) {
        throw new MissingExtensionError(
          "UIDPLUS",
          "Cannot UID EXPUNGE: the server does not offer UIDPLUS",
        );
      }
      const gone: number[] = [];
      await this.#ok({
        name: "EXPUNGE",
        parts: [text(uids === undefined ? "EXPUNGE" : `UID EXPUNGE ${uids}`)],
        collect: (event) => {
          if (event.kind === "expunge") gone.push(event.seq);
          else if (event.kind === "vanished" && !event.earlier) {
            for (const [a, b] of event.uids) for (let u = a; u <= b; u++) gone.push(u);
          }
        },
      });
      return gone;
    }, options);
  }

  /**
   * Adds a message to a mailbox with `APPEND` (RFC 3501 §6.3.11): a
   * non-synchronizing literal when the server has LITERAL+ (or LITERAL- and
   * at most 4096 bytes), else after the server's `+`. A stream needs its
   * size and must deliver exactly that many bytes.
   *
   * @param mailbox The mailbox.
   * @param message The message with CR LF line ends: bytes, text (UTF-8)
   *   or a stream of known `size`.
   * @param options Flags, the internal date, the size, a signal and a timeout.
   * @returns The new message's UID when the server has UIDPLUS.
   * @throws {ImapError} When the server refuses (`[TRYCREATE]`, `[TOOBIG]`).
   * @throws {TypeError} For a stream without size, bad flags, or bytes with
   *   NUL when the server lacks BINARY.
   * @throws {RangeError} When a stream delivers more or fewer bytes than
   *   `size` (the connection is closed).
   */
  append(
    mailbox: string,
    message: Uint8Array | string | ReadableStream<Uint8Array>,
    options?: ImapAppendOptions,
  ): Promise<ImapAppendResult> {
    options ??= {};
    const arg = this.#mailboxArg(mailbox);
    const flags = options.flags === undefined ? "" : ` ${formatImapFlagList(options.flags)}`;
    const date = options.date === undefined ? "" : ` ${formatImapDate(options.date)}`;
    const data = typeof message === "string" ? encoder.encode(message) : message;
    if (data instanceof ReadableStream) {
      if (options.size === undefined || !Number.isSafeInteger(options.size) || options.size < 0) {
        throw new TypeError("Cannot APPEND a stream: give its size in bytes (options.size)");
      }
    } else if (!(data instanceof Uint8Array)) {
      throw new TypeError(
        "Cannot APPEND: the message is not a string, Uint8Array or ReadableStream",
      );
    }
    return this.#withLease(async () => {
      const caps = await this.#ensureCapabilities();
      const nonSynchronizing = this.#nonSync();
      let literal: Part[];
      if (data instanceof ReadableStream) {
        const size = options.size!;
        const nonSync = nonSynchronizing === "LITERAL+" ||
          (nonSynchronizing === "LITERAL-" && size <= 4096);
        literal = [
          text(`{${size}${nonSync ? "+" : ""}}\r\n`),
          { type: "stream", stream: data, size, synchronizing: !nonSync },
        ];
      } else {
        const binary = data.includes(0);
        if (binary && !caps.has("BINARY")) {
          throw new TypeError(
            "Cannot APPEND: the message holds NUL and the server does not offer BINARY",
          );
        }
        literal = formatImapLiteral(data, { nonSynchronizing, binary });
      }
      const status = await this.#ok({
        name: "APPEND",
        parts: [...joinImapParts(["APPEND ", arg, `${flags}${date} `]), ...literal],
      });
      const code = status.code?.name === "APPENDUID"
        ? status.code.value as {
          uidValidity: number;
          uids: [number, number][];
        }
        : null;
      return {
        uidValidity: code?.uidValidity ?? null,
        uid: code?.uids[0]?.[0] ?? null,
      };
    }, options).catch(async (error) => {
      // A stream that was never read is the caller's no longer: cancel it.
      if (data instanceof ReadableStream && !data.locked) await data.cancel(error).catch(() => {});
      throw error;
    });
  }

  // ---- IDLE --------------------------------------------------------------

  /**
   * Waits for the server's news with `IDLE` (RFC 2177), as an async
   * iterator of the untagged events it sends (`exists`, `expunge`,
   * `fetch` with new flags, `ok`...). `stop()`, `break` or the signal ends
   * it with `DONE` and the tagged OK, leaving the connection open. It is
   * issued again every `reissueAfter` ms (servers drop clients idle for 30
   * minutes). Other commands may run meanwhile: the IDLE pauses for them;
   * EXISTS, EXPUNGE and VANISHED they read are reported here too. Without
   * IDLE on the server, it polls with NOOP.
   *
   * @param options A stop signal, the re-issue time, the poll interval.
   * @returns The running IDLE.
   * @throws {TypeError} When an IDLE is already running or the connection is closed.
   *
   * @example Waiting for a new message, then stopping
   * ```ts
   * import { ImapClient } from "@inetkit/inetkit/mail";
   * import { assertEquals } from "@std/assert";
   *
   * const script = [
   *   "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n", "+ idling\r\n", "* 3 EXISTS\r\n",
   *   "A1 OK IDLE terminated\r\n",
   * ];
   * const sent: string[] = [];
   * const imap = new ImapClient({
   *   readable: ReadableStream.from(script.map((s) => new TextEncoder().encode(s))),
   *   writable: new WritableStream({ write: (c) => void sent.push(new TextDecoder().decode(c)) }),
   *   close() {},
   * });
   * for await (const event of imap.idle()) {
   *   assertEquals(event, { kind: "exists", count: 3 });
   *   break; // sends DONE and reads the OK
   * }
   * assertEquals(sent, ["A1 IDLE\r\n", "DONE\r\n"]);
   * imap.close();
   * ```
   */
  idle(options?: ImapIdleOptions): ImapIdle {
    options ??= {};
    this.#checkUsable();
    if (this.#idle !== null) throw new TypeError("Cannot start IDLE: an IDLE is already running");
    const reissueAfter = positive(options.reissueAfter ?? 1680000, "reissueAfter");
    const pollInterval = positive(options.pollInterval ?? 30000, "pollInterval");
    const session: IdleSession = {
      queue: [],
      stopped: false,
      holding: false,
      interruptRequested: false,
      abort: null,
      wake: null,
      space: null,
      error: undefined,
      ended: false,
      finished: Promise.resolve(),
    };
    this.#idle = session;
    this.#stopWatch();
    const stop = async (): Promise<void> => {
      session.stopped = true;
      session.abort?.abort();
      session.space?.();
      for (const wake of this.#whenInactive.splice(0)) wake();
      await session.finished;
    };
    const onAbort = () => void stop();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) session.stopped = true;
    session.finished = this.#idleLoop(session, reissueAfter, pollInterval).finally(() => {
      options.signal?.removeEventListener("abort", onAbort);
      session.ended = true;
      if (this.#idle === session) this.#idle = null;
      session.wake?.();
      this.#armWatch();
    });
    const iterator: ImapIdle = {
      async next(): Promise<IteratorResult<ImapEvent>> {
        for (;;) {
          if (session.queue.length > 0 && !session.stopped) {
            const value = session.queue.shift()!;
            session.space?.();
            return { value, done: false };
          }
          if (session.ended || session.stopped) {
            if (session.error !== undefined) {
              const error = session.error;
              session.error = undefined;
              throw error;
            }
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => (session.wake = resolve));
          session.wake = null;
        }
      },
      async return(): Promise<IteratorResult<ImapEvent>> {
        await stop();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
      stop,
    };
    return iterator;
  }

  async #idleLoop(s: IdleSession, reissueAfter: number, pollInterval: number): Promise<void> {
    try {
      while (!s.stopped) {
        await this.#untilInactive(s);
        if (s.stopped) break;
        const caps = this.#caps ?? await this.#knownCapabilities({});
        if (s.stopped) break;
        if (!caps.has("IDLE")) {
          await this.#poll(s, pollInterval);
          continue;
        }
        const lease = await this.#conn.acquire({ queue: true });
        s.interruptRequested = false;
        if (this.#active > 0 || s.stopped) {
          lease.release();
          continue;
        }
        s.holding = true;
        try {
          await this.#ensureGreeting();
          await this.#idleOnce(s, reissueAfter);
        } catch (error) {
          if (!(error instanceof ImapError)) this.#conn.close();
          throw this.#closedError(error);
        } finally {
          s.holding = false;
          lease.release();
        }
      }
    } catch (error) {
      if (!s.stopped || !this.#conn.closed) s.error = error;
    }
  }

  /** One IDLE ... DONE exchange, on a held lease. */
  async #idleOnce(s: IdleSession, reissueAfter: number): Promise<void> {
    const spec: CommandSpec = { name: "IDLE", parts: [text("IDLE")], idle: true };
    const tag = this.#nextTag();
    this.#log(`C: ${tag} IDLE`);
    this.#written = true;
    await this.#conn.writer.write(encoder.encode(`${tag} IDLE\r\n`));
    const refused = await this.#awaitContinuation(tag, spec);
    if (refused !== null) {
      if (refused.status === "OK") return;
      throw new ImapError(refused.status as "NO" | "BAD", refused.code, refused.text, {
        command: "IDLE",
      });
    }
    const controller = new AbortController();
    s.abort = controller;
    const timer = setTimeout(() => controller.abort(), reissueAfter);
    try {
      if (s.interruptRequested || s.stopped) controller.abort();
      while (!controller.signal.aborted) {
        const reader = this.#conn.reader;
        if (s.queue.length >= MAX_IDLE_QUEUE) {
          await new Promise<void>((resolve) => {
            s.space = resolve;
            controller.signal.addEventListener("abort", () => resolve(), { once: true });
          });
          s.space = null;
          continue;
        }
        if (reader.buffered === 0) {
          try {
            await reader.fill(undefined, { signal: controller.signal });
          } catch (error) {
            if (controller.signal.aborted) break;
            throw error;
          }
          if (reader.buffered === 0 && reader.eof) await this.#read();
          continue;
        }
        const response = await this.#read();
        if (response.type === "status" && response.tag === tag) {
          // The server ended the IDLE itself.
          this.#applyCode(response.code);
          if (response.status === "OK") return;
          throw new ImapError(response.status as "NO" | "BAD", response.code, response.text, {
            command: "IDLE",
          });
        }
        this.#checkUntagged(response, "IDLE");
        this.#dispatch(response, spec);
      }
    } finally {
      clearTimeout(timer);
      s.abort = null;
    }
    this.#log("C: DONE");
    await this.#conn.writer.write(encoder.encode("DONE\r\n"));
    // The OK must come soon; a server that never answers loses the connection.
    const guard = setTimeout(() => this.#conn.close(), this.#idleTimeout);
    try {
      const status = await this.#awaitTagged(tag, spec);
      if (status.status !== "OK") {
        throw new ImapError(status.status as "NO" | "BAD", status.code, status.text, {
          command: "IDLE",
        });
      }
    } finally {
      clearTimeout(guard);
    }
  }

  /** Without IDLE: one NOOP, then a pause. */
  async #poll(s: IdleSession, interval: number): Promise<void> {
    await this.#withLease(
      () => this.#ok({ name: "NOOP", parts: [text("NOOP")], idle: true }),
      {},
    );
    if (s.stopped) return;
    const controller = new AbortController();
    s.abort = controller;
    try {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        controller.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    } finally {
      s.abort = null;
    }
  }

  /** Resolves when no command wants the connection (or the IDLE was stopped). */
  #untilInactive(s: IdleSession): Promise<void> {
    if (this.#active === 0 || s.stopped) return Promise.resolve();
    return new Promise((resolve) => this.#whenInactive.push(resolve));
  }

  #interruptIdle(): void {
    const s = this.#idle;
    if (s === null) return;
    s.interruptRequested = true;
    if (s.holding) s.abort?.abort();
  }

  async #stopIdle(): Promise<void> {
    const s = this.#idle;
    if (s === null) return;
    s.stopped = true;
    s.abort?.abort();
    s.space?.();
    for (const wake of this.#whenInactive.splice(0)) wake();
    await s.finished;
  }

  // ---- internals: running commands ---------------------------------------

  /**
   * Runs `fn` holding the connection: commands queue in call order, an
   * IDLE pauses for them. A refusal leaves the session usable; anything
   * else after bytes were written (a broken response, an abort) closes it.
   */
  async #withLease<T>(
    fn: (lease: TextConnLease) => Promise<T>,
    options: ImapCommandOptions,
  ): Promise<T> {
    this.#checkUsable();
    this.#active++;
    this.#interruptIdle();
    let lease: TextConnLease | undefined;
    try {
      lease = await this.#conn.acquire({
        signal: options.signal,
        timeout: options.timeout ?? this.#timeout,
        idleTimeout: this.#idleTimeout,
        queue: true,
      });
      this.#written = false;
      const held = lease;
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () => reject(held.signal.reason);
        if (held.signal.aborted) onAbort();
        held.signal.addEventListener("abort", onAbort, { once: true });
      });
      aborted.catch(() => {});
      const work = (async () => {
        await this.#ensureGreeting();
        return await fn(held);
      })();
      work.catch(() => {});
      return await Promise.race([work, aborted]);
    } catch (error) {
      const intact = error instanceof ImapError ||
        error instanceof MissingExtensionError ||
        error instanceof ProtocolError && SESSION_INTACT_CODES.has(error.code) ||
        !this.#written && (error instanceof TypeError || error instanceof RangeError);
      if (!intact) this.#conn.close();
      throw this.#closedError(error);
    } finally {
      if (lease !== undefined) this.#release(lease);
      this.#commandDone();
    }
  }

  /** Runs a command that returns nothing but its OK. */
  #simple(
    name: string,
    parts: ImapCommandPart[],
    options: ImapCommandOptions,
    after?: () => void,
  ): Promise<void> {
    return this.#withLease(async () => {
      await this.#ok({ name, parts });
      after?.();
    }, options);
  }

  /** Runs a command in the held lease; a NO or BAD throws an {@linkcode ImapError}. */
  async #ok(spec: CommandSpec): Promise<ImapStatusResponse> {
    const status = await this.#execute(spec);
    if (status.status !== "OK") {
      throw new ImapError(status.status as "NO" | "BAD", status.code, status.text, {
        command: spec.name,
      });
    }
    return status;
  }

  /**
   * Sends one tagged command and reads up to its tagged response: literals
   * wait for `+` unless non-synchronizing, untagged data is dispatched as
   * it arrives.
   */
  async #execute(spec: CommandSpec): Promise<ImapStatusResponse> {
    const tag = this.#nextTag();
    const parts: Part[] = [text(`${tag} `), ...spec.parts, text("\r\n")];
    let pending: Uint8Array[] = [];
    let pendingLength = 0;
    let shown = "";
    const push = (bytes: Uint8Array) => {
      pending.push(bytes);
      pendingLength += bytes.length;
    };
    const flush = async () => {
      if (pendingLength === 0) return;
      const bytes = concatBytes(pending, pendingLength);
      pending = [];
      pendingLength = 0;
      this.#written = true;
      await this.#conn.writer.write(bytes);
    };
    const log = () => {
      if (this.#debug === undefined) return;
      for (const line of shown.split("\r\n")) if (line !== "") this.#log(`C: ${line}`);
      shown = "";
    };
    if (spec.shown !== undefined) shown = `${tag} ${spec.shown}\r\n`;
    for (const part of parts) {
      if (part.type === "text") {
        push(encoder.encode(part.text));
        if (spec.shown === undefined) shown += part.text;
        continue;
      }
      if (part.synchronizing) {
        log();
        await flush();
        const refused = await this.#awaitContinuation(tag, spec);
        if (refused !== null) return refused;
      }
      if (part.type === "literal") {
        push(part.data);
        if (spec.shown === undefined) shown += `<${part.data.length} octets>`;
      } else {
        log();
        await flush();
        await this.#writeStream(part);
        this.#log(`C: <${part.size} octets>`);
      }
    }
    log();
    await flush();
    return await this.#awaitTagged(tag, spec);
  }

  async #writeStream(part: StreamPart): Promise<void> {
    const reader = part.stream.getReader();
    let sent = 0;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        sent += value.length;
        if (sent > part.size) {
          throw new RangeError(
            `Cannot APPEND: the stream delivered more than the announced ${part.size} bytes`,
          );
        }
        this.#written = true;
        await this.#conn.writer.write(value);
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
    if (sent !== part.size) {
      throw new RangeError(
        `Cannot APPEND: the stream delivered ${sent} bytes, not the announced ${part.size}`,
      );
    }
  }

  /** Reads until the server's `+`; returns the tagged status instead when it refused. */
  async #awaitContinuation(tag: string, spec: CommandSpec): Promise<ImapStatusResponse | null> {
    for (;;) {
      const response = await this.#read(spec.onBodyLiteral);
      if (response.type === "continuation") return null;
      if (response.type === "status" && response.tag !== null) {
        this.#checkTag(response, tag, spec.name);
        this.#applyCode(response.code);
        return response;
      }
      this.#dispatch(response, spec);
    }
  }

  /** Reads until the tagged status of `tag`, dispatching untagged data. */
  async #awaitTagged(tag: string, spec: CommandSpec): Promise<ImapStatusResponse> {
    for (;;) {
      const response = await this.#read(spec.onBodyLiteral);
      if (response.type === "continuation") {
        if (spec.onContinuation === undefined) {
          throw new ProtocolError(
            "BAD_REPLY",
            `Cannot run ${spec.name}: the server asked for a continuation nobody announced`,
          );
        }
        const line = await spec.onContinuation(response.text);
        assertLineSafe(line.text, "response");
        this.#log(`C: ${line.shown}`);
        await this.#conn.writer.write(encoder.encode(line.text + "\r\n"));
        continue;
      }
      if (response.type === "status" && response.tag !== null) {
        this.#checkTag(response, tag, spec.name);
        this.#applyCode(response.code);
        return response;
      }
      this.#dispatch(response, spec);
    }
  }

  #checkTag(response: ImapStatusResponse, tag: string, name: string): void {
    if (response.tag !== tag) {
      throw new ProtocolError(
        "BAD_REPLY",
        `Cannot run ${name}: the server answered tag ${JSON.stringify(response.tag)}, not ${tag}`,
      );
    }
  }

  #checkUntagged(response: ImapResponse, name: string): void {
    if (response.type === "continuation" || response.type === "status" && response.tag !== null) {
      throw new ProtocolError(
        "BAD_REPLY",
        `Cannot run ${name}: the server sent ${
          response.type === "continuation" ? "a continuation request" : "a tagged response"
        } out of turn`,
      );
    }
  }

  /** Reads one response; the end of the stream closes the connection and throws. */
  async #read(hook?: ImapBodyLiteralHandler): Promise<ImapResponse> {
    const response = await this.#responses.read({ onBodyLiteral: hook });
    if (response === null) {
      this.#stopWatch();
      this.#conn.close();
      const bye = this.#bye;
      const error = bye !== null ? new ImapByeError(bye.code, bye.text) : new ProtocolError(
        "UNEXPECTED_EOF",
        "Cannot read IMAP response: the server closed the connection",
      );
      this.#failure ??= error;
      throw error;
    }
    if (this.#debug !== undefined) {
      this.#log(`S: ${renderResponse(response, this.#secretContinuation)}`);
    }
    return response;
  }

  async #ensureGreeting(): Promise<void> {
    if (this.#greeting !== null) return;
    const response = await this.#read();
    if (
      response.type !== "status" || response.tag !== null || response.status === "NO" ||
      response.status === "BAD"
    ) {
      throw new ProtocolError(
        "BAD_REPLY",
        `Cannot start IMAP session: the greeting is not * OK, * PREAUTH or * BYE`,
      );
    }
    this.#applyCode(response.code);
    if (response.status === "BYE") {
      this.#bye = response;
      this.#conn.close();
      const error = new ImapByeError(response.code, response.text, {
        message: `Cannot start IMAP session: the server refused it: BYE ${response.text}`,
      });
      this.#failure = error;
      throw error;
    }
    this.#greeting = response;
    if (response.status === "PREAUTH") this.#authenticated = true;
    this.#emit({ kind: response.status === "OK" ? "ok" : "preauth", response }, null);
  }

  /** The capabilities, asked for within the held lease when not known. */
  async #ensureCapabilities(): Promise<ReadonlySet<string>> {
    if (this.#caps === null) await this.#ok({ name: "CAPABILITY", parts: [text("CAPABILITY")] });
    return this.#caps ?? new Set();
  }

  /** The capabilities, with a CAPABILITY command if needed. */
  #knownCapabilities(options: ImapCommandOptions): Promise<ReadonlySet<string>> {
    return this.#withLease(() => this.#ensureCapabilities(), options);
  }

  #loggedIn(status: ImapStatusResponse): void {
    this.#authenticated = true;
    // RFC 3501 §6.2.3: capabilities may change; a CAPABILITY code gives them.
    if (status.code?.name !== "CAPABILITY") this.#caps = null;
  }

  #release(lease: TextConnLease): void {
    lease.release();
    this.#armWatch();
  }

  #commandDone(): void {
    this.#active--;
    if (this.#active === 0) { for (const wake of this.#whenInactive.splice(0)) wake(); }
    this.#armWatch();
  }

  #checkUsable(): void {
    if (!this.#conn.closed) return;
    if (this.#failure !== null) throw this.#failure;
    throw new TypeError("Cannot send command: the connection is closed");
  }

  /** After the server closed with BYE, say so instead of a bare I/O error. */
  #closedError(error: unknown): unknown {
    if (error instanceof ImapError || error instanceof ImapByeError) return error;
    if (this.#bye !== null && this.#conn.closed) {
      return new ImapByeError(this.#bye.code, this.#bye.text, { cause: error });
    }
    return error;
  }

  #nextTag(): string {
    return `A${++this.#tags}`;
  }

  // ---- internals: untagged data ------------------------------------------

  #dispatch(response: ImapResponse, spec: CommandSpec | null): void {
    const event = toImapEvent(response, { utf8: this.#utf8 });
    if (event === null) return;
    this.#apply(event);
    spec?.collect?.(event);
    this.#emit(event, spec);
  }

  #emit(event: ImapEvent, spec: CommandSpec | null): void {
    for (const listener of this.#listeners) listener(event);
    const s = this.#idle;
    if (s !== null && !s.stopped && (spec?.idle === true || MAILBOX_CHANGES.has(event.kind))) {
      s.queue.push(event);
      s.wake?.();
    }
  }

  #apply(event: ImapEvent): void {
    const m = this.#mailbox;
    switch (event.kind) {
      case "capability":
        this.#caps = new Set(event.capabilities);
        break;
      case "enabled":
        for (const name of event.capabilities) this.#enabled.add(name);
        if (this.#enabled.has("UTF8=ACCEPT")) this.#utf8 = true;
        break;
      case "exists":
        if (m !== null) m.exists = event.count;
        break;
      case "recent":
        if (m !== null) m.recent = event.count;
        break;
      case "expunge":
        if (m !== null) m.exists = Math.max(0, m.exists - 1);
        break;
      case "vanished":
        if (m !== null && !event.earlier) {
          let n = 0;
          for (const [a, b] of event.uids) n += b - a + 1;
          m.exists = Math.max(0, m.exists - n);
        }
        break;
      case "flags":
        if (m !== null) m.flags = event.flags;
        break;
      case "bye":
        this.#bye = event.response;
        this.#applyCode(event.response.code);
        break;
      case "ok":
      case "no":
      case "bad":
      case "preauth":
        this.#applyCode(event.response.code);
        break;
    }
  }

  #applyCode(code: ImapResponseCode | null): void {
    if (code === null) return;
    if (code.name === "CAPABILITY") {
      this.#caps = new Set(code.value as string[]);
      return;
    }
    const m = this.#mailbox;
    if (m === null) return;
    switch (code.name) {
      case "UIDVALIDITY":
        m.uidValidity = code.value as number;
        break;
      case "UIDNEXT":
        m.uidNext = code.value as number;
        break;
      case "UNSEEN":
        m.unseen = code.value as number;
        break;
      case "PERMANENTFLAGS":
        m.permanentFlags = code.value as string[];
        break;
      case "HIGHESTMODSEQ":
        m.highestModseq = code.value as bigint;
        break;
      case "READ-ONLY":
        m.readOnly = true;
        break;
      case "READ-WRITE":
        m.readOnly = false;
        break;
    }
  }

  /**
   * Keeps a read pending while no command runs, so that data the server
   * sends between commands (EXISTS, EXPUNGE, BYE) is read and reported
   * at once rather than at the next command.
   */
  #armWatch(): void {
    if (
      this.#watching || this.#conn.closed || this.#conn.busy || this.#active > 0 ||
      this.#idle !== null || this.#greeting === null
    ) {
      return;
    }
    const reader = this.#conn.reader;
    if (reader.buffered > 0) {
      void this.#drain();
      return;
    }
    this.#watching = true;
    const signal = this.#watchAbort.signal;
    const settle = () => {
      this.#watching = false;
      if (signal.aborted || this.#conn.closed || reader !== this.#conn.reader) return;
      if (this.#conn.busy || this.#active > 0 || this.#idle !== null) return;
      if (reader.buffered > 0 || reader.eof) void this.#drain();
      else this.#armWatch();
    };
    reader.fill(undefined, { signal }).then(settle, settle);
  }

  #stopWatch(): void {
    this.#watchAbort.abort();
    this.#watchAbort = new AbortController();
    this.#watching = false;
  }

  /** Reads what arrived between commands and reports it. */
  async #drain(): Promise<void> {
    let lease: TextConnLease;
    try {
      lease = await this.#conn.acquire({ queue: true, idleTimeout: this.#idleTimeout });
    } catch {
      return;
    }
    try {
      const reader = this.#conn.reader;
      while (!this.#conn.closed && (reader.buffered > 0 || reader.eof)) {
        const response = await this.#read();
        if (
          response.type === "continuation" || response.type === "status" && response.tag !== null
        ) {
          throw new ProtocolError(
            "BAD_REPLY",
            "Cannot read IMAP response: the server sent a tagged response or a continuation " +
              "request while no command was running",
          );
        }
        this.#dispatch(response, null);
      }
    } catch (error) {
      this.#failure ??= this.#closedError(error);
      this.#conn.close();
    } finally {
      lease.release();
      this.#armWatch();
    }
  }

  // ---- internals: arguments ----------------------------------------------

  #secure(): boolean {
    return this.#conn.tls || this.#allowInsecureAuth ||
      isLoopbackPeer(this.#conn.conn, this.#serverName);
  }

  #nonSync(): "LITERAL+" | "LITERAL-" | null {
    const caps = this.#caps;
    if (caps === null) return null;
    if (caps.has("LITERAL+")) return "LITERAL+";
    if (caps.has("LITERAL-") || caps.has("IMAP4REV2")) return "LITERAL-";
    return null;
  }

  #stringOptions(): { utf8: boolean; nonSynchronizing: "LITERAL+" | "LITERAL-" | null } {
    return { utf8: this.#utf8, nonSynchronizing: this.#nonSync() };
  }

  #mailboxArg(name: string): ImapCommandPart[] {
    if (typeof name !== "string") throw new TypeError("Cannot send mailbox name: not a string");
    return formatImapMailbox(name, this.#stringOptions());
  }

  #log(line: string): void {
    this.#debug?.(line);
  }
}

function text(value: string): ImapCommandPart {
  return { type: "text", text: value };
}

function mergeFetch(results: Map<number, ImapFetchData>, data: ImapFetchData): void {
  const old = results.get(data.seq);
  if (old === undefined) {
    results.set(data.seq, data);
    return;
  }
  for (const [key, value] of Object.entries(data)) {
    if (value instanceof Map) {
      for (const [k, v] of value) (old[key as "body"] as Map<string, unknown>).set(k, v);
    } else if (value !== undefined) (old as unknown as Record<string, unknown>)[key] = value;
  }
}

function checkArgument(value: string, what: string): void {
  if (typeof value !== "string") throw new TypeError(`Cannot send ${what}: not a string`);
  if (FORBIDDEN_REGEXP.test(value)) {
    throw new TypeError(`Cannot send ${what}: it contains CR, LF or NUL`);
  }
}

function checkNumber(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1 || n > 4294967295) {
    throw new RangeError(`Cannot use ${what} ${n}: not an integer from 1 to 4294967295`);
  }
}

function modseqText(value: bigint | number): string {
  const v = BigInt(value);
  if (v < 0n || v > 9223372036854775807n) {
    throw new RangeError(`Cannot use mod-sequence ${v}: out of range`);
  }
  return String(v);
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
  // RFC 4959 §3: an empty initial response is sent as "="; RFC 3501: an
  // empty answer to a challenge as an empty line.
  return bytes.length === 0 ? (initial ? "=" : "") : bytes.toBase64();
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot create IMAP client: ${name} ${value} is not a positive number`);
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot create IMAP client: ${name} ${value} is not a non-negative number`,
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
