/**
 * An IMAP4rev1 server (RFC 3501) over a {@linkcode MailStore}: the
 * Dovecot-shaped counterpart of Python's `imaplib`, for labs, tests and
 * small installations.
 *
 * @module
 */
import { TcpServer, type TcpShutdownOptions } from "../net/tcp_server.ts";
import type { MailServerUsers } from "./mail_server_auth.ts";
import type { MailStore } from "./mail_store.ts";
import { serveImapSession } from "./_imap_server_session.ts";
import { ImapMessageCache } from "./_imap_server_structure.ts";

/** Options for {@linkcode ImapServer}. */
export interface ImapServerOptions {
  /** Where the mail is: folders, messages, flags. */
  store: MailStore;
  /** Who may log in: a user table (needed for CRAM-MD5) and/or a callback. */
  users: MailServerUsers;
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port to listen on (143 is IMAP's, 993 IMAPS'); 0 picks a free one
   * (see {@linkcode ImapServer.addr}).
   *
   * @default {0}
   */
  port?: number;
  /**
   * A PEM certificate chain. With `key` it enables STARTTLS (RFC 3501
   * §6.2.1), and then LOGIN and AUTHENTICATE are refused until the
   * connection is encrypted (`LOGINDISABLED`, unless `allowInsecureAuth`);
   * with `implicitTls` the server speaks TLS from the first byte (port 993
   * style). Without a certificate, logins are accepted in clear: a
   * loopback lab.
   */
  cert?: string;
  /** The PEM private key for `cert`. */
  key?: string;
  /**
   * Speak TLS from the first byte instead of offering STARTTLS.
   *
   * @default {false}
   */
  implicitTls?: boolean;
  /**
   * Accept LOGIN and AUTHENTICATE on a connection that is not TLS.
   *
   * @default {true without cert, false with it}
   */
  allowInsecureAuth?: boolean;
  /**
   * The name in the greeting and in CRAM-MD5 challenges.
   *
   * @default {"localhost"}
   */
  serverName?: string;
  /** Receives one line per connection event (connect, login, failure, autologout); never passwords. */
  onLog?: (line: string) => void;
  /**
   * Receives unexpected errors (store I/O failures and the like); the
   * client only sees `NO [SERVERBUG]`.
   *
   * @default {logs to console.error}
   */
  onError?: (error: unknown) => void;
  /**
   * The most connections at once; more get `* BYE Too many connections`.
   *
   * @default {1024}
   */
  maxConnections?: number;
  /**
   * The most connections from one client address at once.
   *
   * @default {maxConnections}
   */
  maxConnectionsPerAddress?: number;
  /**
   * Milliseconds an authenticated session may be idle before `* BYE`
   * (RFC 3501 §5.4: at least 30 minutes). IDLE counts as idle.
   *
   * @default {1800000}
   */
  idleTimeout?: number;
  /**
   * Milliseconds a session may be idle before it has logged in.
   *
   * @default {60000}
   */
  loginTimeout?: number;
  /**
   * Milliseconds a connection may last in all; 0 for no limit.
   *
   * @default {0}
   */
  connectionTimeout?: number;
  /**
   * The most octets in one command line (each segment between literals).
   * A longer line is answered `* BYE` and the connection closed.
   *
   * @default {65536}
   */
  maxLineLength?: number;
  /**
   * The largest literal accepted outside APPEND (search strings, names,
   * passwords); a larger one is answered `NO [TOOBIG]` before a byte of it
   * is read. Before login, literals are limited to 8192 octets.
   *
   * @default {65536}
   */
  maxLiteralSize?: number;
  /**
   * The largest message APPEND accepts; a larger one is answered
   * `NO [TOOBIG]` before it is sent (synchronizing literal) or while it is
   * skipped (LITERAL+).
   *
   * @default {67108864}
   */
  maxMessageSize?: number;
  /**
   * Milliseconds to wait before answering a failed login.
   *
   * @default {1000}
   */
  authFailureDelay?: number;
  /**
   * Failed logins a connection may make before it is closed.
   *
   * @default {3}
   */
  maxAuthFailures?: number;
  /**
   * Invalid commands (answered `BAD`) in a row before the connection is closed.
   *
   * @default {20}
   */
  maxErrors?: number;
  /**
   * Milliseconds between rescans of the selected folder while a session
   * idles (NOOP and CHECK rescan too), so that mail another program writes
   * into a Maildir shows up; deliveries through the same store object are
   * pushed at once in any case. 0 turns the rescans off.
   *
   * @default {30000}
   */
  rescanInterval?: number;
  /** Aborting it shuts the server down (sessions get `* BYE`). */
  signal?: AbortSignal;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new RangeError(`Cannot start IMAP server: ${name} ${v} is not a positive integer`);
  }
  return v;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) {
    throw new RangeError(`Cannot start IMAP server: ${name} ${v} is not a non-negative number`);
  }
  return v;
}

const encoder = new TextEncoder();

/**
 * An IMAP4rev1 server (RFC 3501) on {@linkcode TcpServer}, serving the
 * folders of a {@linkcode MailStore}. It speaks the extensions mail
 * clients rely on: IDLE (RFC 2177), UIDPLUS (RFC 4315), LITERAL+ (RFC
 * 7888), MOVE (RFC 6851), NAMESPACE, ENABLE, UTF8=ACCEPT (RFC 6855), ID,
 * UNSELECT, CHILDREN, SPECIAL-USE, SASL-IR with AUTH=PLAIN, AUTH=LOGIN and
 * AUTH=CRAM-MD5, and STARTTLS.
 *
 * Messages are streamed from the store as literals, never loaded whole;
 * ENVELOPE and BODYSTRUCTURE come from one streaming pass per message,
 * cached. IDLE sessions see `EXISTS`, `EXPUNGE` and `FETCH` updates when
 * mail is delivered (by an SMTP server calling `store.deliver`) or another
 * session changes the mailbox; EXPUNGE is never sent during FETCH, STORE
 * or SEARCH (RFC 3501 §7.4.1). Every input is bounded (command lines,
 * literals, failed logins, invalid commands, idle time), and failed logins
 * are delayed.
 *
 * @example Logging in and selecting INBOX over a raw connection
 * ```ts
 * import { MemoryMailStore } from "@inetkit/inetkit/mail";
 * import { ImapServer } from "./imap_server.ts";
 * import { assertEquals, assertMatch } from "@std/assert";
 *
 * await using store = new MemoryMailStore();
 * await store.deliver("mulder", "INBOX", new TextEncoder().encode("Subject: hi\r\n\r\nbody\r\n"));
 * await using server = new ImapServer({ store, users: { users: { mulder: "trustno1" } }, port: 0 });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const replies = conn.readable.pipeThrough(new TextDecoderStream()).getReader();
 * let text = "";
 * const until = async (end: string) => {
 *   while (!text.includes(end)) text += (await replies.read()).value ?? "";
 * };
 * await until("\r\n");
 * assertMatch(text, /^\* OK \[CAPABILITY IMAP4rev1 /);
 * await conn.write(new TextEncoder().encode("a1 LOGIN mulder trustno1\r\na2 SELECT INBOX\r\n"));
 * await until("a2 OK");
 * assertMatch(text, /\* 1 EXISTS\r\n/);
 * await conn.write(new TextEncoder().encode("a3 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n"));
 * await until("a3 OK");
 * assertMatch(text, /\* 1 FETCH \(BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{15\}\r\nSubject: hi\r\n\r\n\)/);
 * await conn.write(new TextEncoder().encode("a4 LOGOUT\r\n"));
 * await until("a4 OK");
 * assertEquals(text.includes("* BYE"), true);
 * replies.releaseLock();
 * conn.close();
 * ```
 */
export class ImapServer implements AsyncDisposable {
  readonly #tcp: TcpServer;

  /**
   * Starts listening at once.
   *
   * @param options The store, the users, where to listen, TLS, limits.
   * @throws {TypeError} If `store` or `users` is missing, or only one of
   *   `cert` and `key` is given, or `implicitTls` lacks them.
   * @throws {RangeError} If a limit is not a positive integer or a timeout is negative.
   * @throws {Deno.errors.AddrInUse} And the other listen errors.
   */
  constructor(options: ImapServerOptions) {
    if (options?.store === undefined || options.store === null) {
      throw new TypeError("Cannot start IMAP server: store is missing");
    }
    if (options.users === undefined || options.users === null) {
      throw new TypeError("Cannot start IMAP server: users is missing");
    }
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new TypeError("Cannot start IMAP server: both cert and key are needed");
    }
    const hasTls = options.cert !== undefined;
    const implicit = options.implicitTls === true;
    if (implicit && !hasTls) {
      throw new TypeError("Cannot start IMAP server: implicitTls needs cert and key");
    }
    const loginTimeout = nonNegative(options.loginTimeout, 60000, "loginTimeout");
    const onError = options.onError ?? ((error: unknown) => console.error("ImapServer:", error));
    const log = options.onLog ?? (() => {});
    const config = {
      store: options.store,
      users: options.users,
      name: options.serverName ?? "localhost",
      startTls: hasTls && !implicit ? { cert: options.cert!, key: options.key! } : null,
      insecureAuth: options.allowInsecureAuth ?? !hasTls,
      loginTimeout,
      idleTimeout: nonNegative(options.idleTimeout, 1800000, "idleTimeout"),
      maxLineLength: positive(options.maxLineLength, 65536, "maxLineLength"),
      maxLiteralSize: positive(options.maxLiteralSize, 65536, "maxLiteralSize"),
      maxMessageSize: positive(options.maxMessageSize, 67108864, "maxMessageSize"),
      authFailureDelay: nonNegative(options.authFailureDelay, 1000, "authFailureDelay"),
      maxAuthFailures: positive(options.maxAuthFailures, 3, "maxAuthFailures"),
      maxErrors: positive(options.maxErrors, 20, "maxErrors"),
      rescanInterval: nonNegative(options.rescanInterval, 30000, "rescanInterval"),
      cache: new ImapMessageCache(),
      log,
      onError,
    };
    if (/[\r\n\0 ]/.test(config.name) || config.name === "") {
      throw new TypeError(
        `Cannot start IMAP server: serverName ${JSON.stringify(config.name)} is invalid`,
      );
    }
    this.#tcp = new TcpServer({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      cert: implicit ? options.cert : undefined,
      key: implicit ? options.key : undefined,
      maxConnections: options.maxConnections,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress,
      idleTimeout: loginTimeout,
      connectionTimeout: nonNegative(options.connectionTimeout, 0, "connectionTimeout"),
      signal: options.signal,
      onError,
      onOverload: async (conn, info) => {
        log(`imap ${info.remoteAddr.hostname}:${info.remoteAddr.port} refused: ${info.reason} cap`);
        await conn.write(encoder.encode("* BYE Too many connections, try again later\r\n"));
      },
    }, (conn, info) => serveImapSession(conn, info, config));
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#tcp.addr;
  }

  /** The number of sessions being served. */
  get connections(): number {
    return this.#tcp.connections;
  }

  /** Settles when the server has shut down and every session has ended. */
  get finished(): Promise<void> {
    return this.#tcp.finished;
  }

  /**
   * Stops accepting, says `* BYE` to the sessions (at once to those
   * waiting for a command or idling, after the current command to the
   * others), and waits for them up to `timeout` milliseconds.
   *
   * @param options The grace period.
   * @returns When every session has ended.
   */
  shutdown(options?: TcpShutdownOptions): Promise<void> {
    options ??= {};
    return this.#tcp.shutdown(options);
  }

  /** Shuts down with the default grace period. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
