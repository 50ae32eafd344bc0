/**
 * The types of {@linkcode Pop3Server}'s options and log events, apart from
 * the server so that the session code can use them; `pop3_server.ts`
 * re-exports them.
 *
 * @module
 */
import type { MailStore } from "./mail_store.ts";
import type { MailServerUsers } from "./mail_server_auth.ts";

/** One line of {@linkcode Pop3ServerOptions.onLog}. */
export interface Pop3ServerLogEvent {
  /** What happened. */
  readonly type:
    | "connect"
    | "disconnect"
    | "tls"
    | "login"
    | "login-failed"
    | "update"
    | "refused";
  /** The connection's id. */
  readonly session: string;
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The user (a login, or the logged-in user), when there is one. */
  readonly user?: string;
  /** For `"update"`: the UIDs removed at `QUIT`. */
  readonly expunged?: readonly number[];
  /** A printable one-line description (control characters escaped), without a line end. */
  readonly text: string;
}

/** Options for {@linkcode Pop3Server}. */
export interface Pop3ServerOptions {
  /** The store whose folder is each user's maildrop. */
  store: MailStore;
  /**
   * Who may log in: USER/PASS and SASL PLAIN/LOGIN with the table or the
   * callback; APOP and CRAM-MD5 only with passwords in `users.users`.
   */
  users: MailServerUsers;
  /**
   * The folder served as the maildrop.
   *
   * @default {"INBOX"}
   */
  folder?: string;
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port to listen on; 0 picks a free one (see `addr`).
   *
   * @default {0}
   */
  port?: number;
  /**
   * The server's name in the greeting and the APOP timestamp.
   *
   * @default {"localhost"}
   */
  serverName?: string;
  /** A PEM certificate chain: with `key`, `STLS` is offered (or implicit TLS). */
  cert?: string;
  /** The PEM private key for `cert`. */
  key?: string;
  /**
   * Speak TLS from the first byte (POP3S, port 995) instead of offering `STLS`.
   *
   * @default {false}
   */
  implicitTls?: boolean;
  /**
   * Accept passwords in clear (USER/PASS, SASL PLAIN and LOGIN) on a
   * connection that is not TLS. APOP and CRAM-MD5, which never show the
   * password, are accepted either way.
   *
   * @default {true without cert, false with it}
   */
  allowInsecureAuth?: boolean;
  /**
   * Milliseconds before a failed login is answered.
   *
   * @default {1000}
   */
  authFailureDelay?: number;
  /**
   * Failed logins before the connection is closed.
   *
   * @default {3}
   */
  maxAuthFailures?: number;
  /**
   * The longest command line in octets with CR LF (RFC 2449 §4 asks for
   * 255 at least); SASL lines may be up to 12288. Longer ones get `-ERR`.
   *
   * @default {1024}
   */
  maxCommandLength?: number;
  /**
   * Errors (unknown commands, bad syntax, commands in the wrong state) a
   * connection may make before it is closed.
   *
   * @default {20}
   */
  maxErrors?: number;
  /**
   * The most connections at once; more are answered `-ERR [SYS/TEMP]` and closed.
   *
   * @default {256}
   */
  maxConnections?: number;
  /**
   * The most connections from one client address at once.
   *
   * @default {maxConnections}
   */
  maxConnectionsPerAddress?: number;
  /**
   * Milliseconds a connection may be idle before it is closed without
   * entering the UPDATE state (RFC 1939 §3 asks for 10 minutes).
   *
   * @default {600000}
   */
  idleTimeout?: number;
  /**
   * Milliseconds a connection may last in all; 0 for no limit.
   *
   * @default {0}
   */
  connectionTimeout?: number;
  /** Aborting it shuts the server down (idle connections get `-ERR` and close, deleting nothing). */
  signal?: AbortSignal;
  /** Receives one event per connection, login, TLS upgrade and UPDATE. */
  onLog?: (event: Pop3ServerLogEvent) => void;
  /**
   * Receives errors the client is not told about (a store failure).
   *
   * @default {logs to console.error}
   */
  onError?: (error: unknown) => void;
}
