/**
 * The types of {@linkcode SmtpServer}'s options and of what its hooks see,
 * defined apart from the server so that the session code can use them
 * without importing the public module (which imports the session).
 * `smtp_server.ts` re-exports them.
 *
 * @module
 */
import type { MailStore } from "./mail_store.ts";
import type { MailServerUsers } from "./mail_server_auth.ts";

/** What the server knows of one SMTP connection, as its hooks see it. */
export interface SmtpServerSessionInfo {
  /** A random id for this connection, as used in log lines and queue ids. */
  readonly id: string;
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The local address the client reached. */
  readonly localAddr: Deno.NetAddr;
  /** The name the client gave in `EHLO`, `HELO` or `LHLO`, or `null` before. */
  readonly helo: string | null;
  /** Whether the connection is TLS now (implicit TLS or after `STARTTLS`). */
  readonly tls: boolean;
  /** The user who logged in with `AUTH`, or `null`. */
  readonly user: string | null;
}

/** One accepted recipient of a message. */
export interface SmtpServerRecipient {
  /** The address as the client gave it, without angle brackets and source route. */
  readonly address: string;
  /** DSN `NOTIFY=` (RFC 3461 §4.1), upper case, or `undefined` when not given. */
  readonly notify?: readonly ("NEVER" | "SUCCESS" | "FAILURE" | "DELAY")[];
  /** DSN `ORCPT=` (RFC 3461 §4.2), xtext-decoded, such as `"rfc822;a@example.test"`. */
  readonly originalRecipient?: string;
  /** The store user the message goes to (store delivery), or `null` (an `onMessage` hook). */
  readonly user: string | null;
}

/** The envelope of one message: what `MAIL FROM` and `RCPT TO` said. */
export interface SmtpServerEnvelope {
  /** The queue id the server gave the message (in the `250` reply and `Received:`). */
  readonly id: string;
  /** The reverse path: the sender's address, `""` for a bounce (`MAIL FROM:<>`). */
  readonly from: string;
  /** The accepted recipients' addresses, in order. */
  readonly to: readonly string[];
  /** The accepted recipients with their DSN parameters. */
  readonly recipients: readonly SmtpServerRecipient[];
  /** `SIZE=` as the client announced it (RFC 1870), or `undefined`. */
  readonly size?: number;
  /** `BODY=` (RFC 6152), or `undefined`. */
  readonly body?: "7BIT" | "8BITMIME";
  /** Whether `MAIL FROM` had `SMTPUTF8` (RFC 6531). */
  readonly smtputf8: boolean;
  /** DSN `RET=` (RFC 3461 §4.3), or `undefined`. */
  readonly dsnReturn?: "FULL" | "HDRS";
  /** DSN `ENVID=` (RFC 3461 §4.4), xtext-decoded, or `undefined`. */
  readonly envelopeId?: string;
  /** The connection the message came on. */
  readonly session: SmtpServerSessionInfo;
}

/**
 * Receives one message: the envelope and the content as a stream (with the
 * `Received:` field prepended, CR LF line ends as sent, dot-stuffing
 * removed). The server answers `250` only after the returned promise
 * resolves, so resolve it once the message is stored safely. Throw an
 * {@linkcode SmtpReplyError} to refuse the message with its code and
 * text; any other error is answered `451 4.3.0` (its details stay in the
 * server's `onError`).
 */
export type SmtpMessageHandler = (
  envelope: SmtpServerEnvelope,
  message: ReadableStream<Uint8Array>,
) => void | Promise<void>;

/** One line of {@linkcode SmtpServerOptions.onLog}. */
export interface SmtpServerLogEvent {
  /** What happened. */
  readonly type:
    | "connect"
    | "disconnect"
    | "tls"
    | "login"
    | "login-failed"
    | "message"
    | "refused";
  /** The connection's id. */
  readonly session: string;
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The user (a login, or the logged-in user of a message), when there is one. */
  readonly user?: string;
  /** For `"message"`: the queue id, the sender, the recipients and the size in octets. */
  readonly message?: {
    readonly id: string;
    readonly from: string;
    readonly to: readonly string[];
    readonly size: number;
  };
  /** A printable one-line description (control characters escaped), without a line end. */
  readonly text: string;
}

/** Options for {@linkcode SmtpServer}. */
export interface SmtpServerOptions {
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
   * The server's name in the greeting, the `EHLO` reply and `Received:`.
   *
   * @default {"localhost"}
   */
  serverName?: string;
  /**
   * Speak LMTP (RFC 2033) instead of SMTP: `LHLO`, and one reply per
   * recipient after the message.
   *
   * @default {false}
   */
  lmtp?: boolean;
  /** A PEM certificate chain: with `key`, `STARTTLS` is offered (or implicit TLS). */
  cert?: string;
  /** The PEM private key for `cert`. */
  key?: string;
  /**
   * Speak TLS from the first byte (SMTPS, port 465) instead of offering `STARTTLS`.
   *
   * @default {false}
   */
  implicitTls?: boolean;
  /**
   * Refuse `MAIL` and `AUTH` before `STARTTLS` (`530 5.7.0`).
   *
   * @default {false}
   */
  requireTls?: boolean;
  /**
   * Deliver messages into this store (the `250` comes after `deliver`
   * resolved, which a {@linkcode MaildirStore} does after fsync). Give
   * either `store` or `onMessage`.
   */
  store?: MailStore;
  /**
   * With `store`: the folder messages go to.
   *
   * @default {"INBOX"}
   */
  folder?: string;
  /**
   * With `store`: put every recipient's message into this one user's
   * folder (a catch-all lab server, as `mail serve` runs).
   */
  catchAll?: string;
  /**
   * With `store`: maps a recipient address to the store user, or `null` to
   * refuse it (`550 5.1.1`).
   *
   * @default {the local part, when `users.users` has it (case-insensitively)}
   */
  recipientUser?: (
    address: string,
    session: SmtpServerSessionInfo,
  ) => string | null | Promise<string | null>;
  /** Receives each message instead of a store; see {@linkcode SmtpMessageHandler}. */
  onMessage?: SmtpMessageHandler;
  /**
   * Checks each `RCPT TO` before it is accepted; throw an
   * {@linkcode SmtpReplyError} to refuse the recipient with its reply.
   */
  onRecipient?: (address: string, session: SmtpServerSessionInfo) => void | Promise<void>;
  /**
   * Who may log in with `AUTH` (PLAIN, LOGIN, and CRAM-MD5 when `users.users`
   * holds the passwords). Without it, `AUTH` is not offered.
   */
  users?: MailServerUsers;
  /**
   * Refuse `MAIL` before `AUTH` (`530 5.7.0`): a submission server.
   *
   * @default {false}
   */
  authRequired?: boolean;
  /**
   * Offer `AUTH` on a connection that is not TLS. When TLS is configured
   * (`cert` and `key`), AUTH is offered only after `STARTTLS` unless this is
   * `true`; without TLS (a loopback lab) it is offered in clear.
   *
   * @default {true without cert, false with it}
   */
  allowInsecureAuth?: boolean;
  /**
   * Milliseconds before a failed `AUTH` is answered.
   *
   * @default {1000}
   */
  authFailureDelay?: number;
  /**
   * Failed `AUTH` attempts before the connection is closed with `421`.
   *
   * @default {3}
   */
  maxAuthFailures?: number;
  /**
   * The largest message in octets, announced as `SIZE`; larger ones are
   * refused with `552 5.3.4`.
   *
   * @default {10485760}
   */
  maxMessageSize?: number;
  /**
   * The most recipients per message; more get `452 4.5.3` (RFC 5321
   * §4.5.3.1.8 asks for at least 100).
   *
   * @default {100}
   */
  maxRecipients?: number;
  /**
   * The longest command line in octets with CR LF (RFC 5321 §4.5.3.1.4);
   * `AUTH` lines may be up to 12288 (RFC 4954 §4). Longer ones get
   * `500 5.5.2 Line too long`.
   *
   * @default {512}
   */
  maxCommandLength?: number;
  /**
   * The longest line of message content in octets with CR LF (RFC 5321
   * §4.5.3.1.6); a message with a longer line is refused with
   * `500 5.5.2 Line too long` after its end was read. `BDAT` content has
   * no line limit.
   *
   * @default {1000}
   */
  maxTextLineLength?: number;
  /**
   * Errors (unknown commands, bad syntax, bad sequence) a connection may
   * make before it is closed with `421`.
   *
   * @default {20}
   */
  maxErrors?: number;
  /**
   * Prepend a `Received:` field (RFC 5321 §4.4) to each message.
   *
   * @default {true}
   */
  received?: boolean;
  /**
   * The most connections at once; more are answered `421 4.7.0` and closed.
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
   * Milliseconds a connection may be idle (waiting for a command or for
   * message content) before `421 4.4.2` and close (RFC 5321 §4.5.3.2.7
   * asks for 5 minutes).
   *
   * @default {300000}
   */
  idleTimeout?: number;
  /**
   * Milliseconds a connection may last in all; 0 for no limit.
   *
   * @default {0}
   */
  connectionTimeout?: number;
  /** Aborting it shuts the server down (connections waiting for a command get `421`). */
  signal?: AbortSignal;
  /** Receives one event per connection, login, TLS upgrade and message. */
  onLog?: (event: SmtpServerLogEvent) => void;
  /**
   * Receives errors the client is not told about (a store failure, a
   * handler's exception). The server keeps running.
   *
   * @default {logs to console.error}
   */
  onError?: (error: unknown) => void;
}
