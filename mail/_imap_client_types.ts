/**
 * The option and result types of `ImapClient`, apart from the class so the
 * private helpers can use them; `imap_client.ts` re-exports them.
 *
 * @module
 */
import type { TlsOptions } from "../net/connect_tcp.ts";
import type { ImapBodyLiteralHandler } from "./imap_response_reader.ts";
import type { ImapEvent } from "./imap_types.ts";
import type { SaslCredentials } from "./sasl.ts";

/** Options for `ImapClient`. */
export interface ImapClientOptions {
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
   * Allow sending a password readable (LOGIN, AUTHENTICATE PLAIN/LOGIN) on
   * a connection that is neither TLS nor to a loopback address.
   *
   * @default {false}
   */
  allowInsecureAuth?: boolean;
  /**
   * Milliseconds one command may take in all; `undefined` for no limit
   * (the idle timeout still applies). Per-call `timeout` overrides it.
   *
   * @default {undefined}
   */
  timeout?: number;
  /**
   * Milliseconds a command may go without a byte moving before the
   * connection is closed; reset by every read and write, so a large
   * FETCH is never cut short while it arrives. IDLE is exempt.
   *
   * @default {120000}
   */
  idleTimeout?: number;
  /**
   * The most bytes in one line of a response (between literals).
   *
   * @default {65536}
   */
  maxLineLength?: number;
  /**
   * The most bytes in one response, literals that are not body sections
   * included.
   *
   * @default {16777216}
   */
  maxResponseSize?: number;
  /**
   * The largest literal that is not a body section (a subject, a mailbox
   * name); larger ones fail with `"LITERAL_TOO_LARGE"` before a byte of
   * them is read.
   *
   * @default {1048576}
   */
  maxInlineLiteral?: number;
  /**
   * The most bytes of body sections one FETCH response may hold in memory;
   * larger sections must be streamed (`fetchBody`, or `onBody`).
   *
   * @default {67108864}
   */
  maxLiteralSize?: number;
  /**
   * The most bytes a cancelled body stream drains to keep the connection;
   * when more is left, the connection is closed instead.
   *
   * @default {1048576}
   */
  drainLimit?: number;
  /**
   * Turn on `UTF8=ACCEPT` (RFC 6855, RFC 9051) after login when the server
   * offers it: mailbox names and strings are then sent and read as UTF-8.
   *
   * @default {false}
   */
  utf8?: boolean;
  /** Receives every untagged response as a typed event (see `ImapClient.onEvent`). */
  onEvent?: (event: ImapEvent) => void;
  /**
   * Receives each line sent (`C: ...`) and a summary of each response
   * (`S: ...`). Passwords and SASL exchanges show as `****`; literals only
   * as their size.
   */
  debug?: (line: string) => void;
}

/** Options for `ImapClient.connect`. */
export interface ImapConnectOptions extends ImapClientOptions {
  /**
   * The server to dial.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port.
   *
   * @default {143, or 993 with `tls`}
   */
  port?: number;
  /**
   * `true` or TLS options: TLS from the first byte (IMAPS, RFC 8314).
   * `false`: stay in clear, never `STARTTLS` (the only way to). Absent:
   * `STARTTLS` (RFC 3501 §6.2.1) when the server offers it, with the
   * certificate verified (`caCerts` for a private CA); a handshake or
   * verification that fails is an error, never a fallback to clear text.
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
   * more.
   *
   * @default {false}
   */
  requireTls?: boolean;
  /** Log in after the greeting (and TLS); see `ImapClient.login`. */
  credentials?: SaslCredentials;
  /**
   * `"LOGIN"` for the LOGIN command, or a SASL mechanism for AUTHENTICATE.
   *
   * @default {the best the server offers}
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
export interface ImapCommandOptions {
  /** Aborts the command; the connection is then closed. */
  signal?: AbortSignal;
  /**
   * Milliseconds the command may take; then the connection is closed.
   *
   * @default {the client's `timeout`}
   */
  timeout?: number;
}

/** The selected mailbox, as the server described it and updates keep it. */
export interface ImapMailbox {
  /** The name as given to SELECT or EXAMINE. */
  name: string;
  /** Whether it was opened read-only (EXAMINE, or `[READ-ONLY]`). */
  readOnly: boolean;
  /** The number of messages (`EXISTS`, kept up to date by EXPUNGE and EXISTS). */
  exists: number;
  /** `RECENT` (IMAP4rev1). */
  recent: number;
  /** The flags defined in the mailbox (`FLAGS`). */
  flags: string[];
  /** The flags a client can change permanently; `\*` means new keywords may be made. */
  permanentFlags: string[];
  /** `UIDVALIDITY`, or `null` when the server did not say. */
  uidValidity: number | null;
  /** `UIDNEXT`, the UID the next message will get, or `null`. */
  uidNext: number | null;
  /** The sequence number of the first unseen message (`UNSEEN`, IMAP4rev1), or `null`. */
  unseen: number | null;
  /** `HIGHESTMODSEQ` (RFC 7162), or `null`. */
  highestModseq: bigint | null;
}

/** Options for `ImapClient.select` and `examine`. */
export interface ImapSelectOptions extends ImapCommandOptions {
  /** Ask for CONDSTORE data (RFC 7162 §3.1.8): mod-sequences in the mailbox. */
  condstore?: boolean;
}

/** Options for `ImapClient.list` and `lsub`. */
export interface ImapListOptions extends ImapCommandOptions {
  /**
   * The reference name (RFC 3501 §6.3.8), usually empty.
   *
   * @default {""}
   */
  reference?: string;
}

/** Options for `ImapClient.fetch`. */
export interface ImapFetchOptions extends ImapCommandOptions {
  /** Address messages by UID (`UID FETCH`) rather than by sequence number. */
  uid?: boolean;
  /** `CHANGEDSINCE` (RFC 7162): only messages changed after this mod-sequence. */
  changedSince?: bigint | number;
  /**
   * Chooses, for each body section, whether it is kept in memory, written
   * to a stream or skipped (see `ImapResponseReaderOptions.onBodyLiteral`).
   *
   * @default {in memory, under maxLiteralSize}
   */
  onBody?: ImapBodyLiteralHandler;
}

/** Options for `ImapClient.fetchBody`. */
export interface ImapFetchBodyOptions extends ImapCommandOptions {
  /** The number is a UID (`UID FETCH`). */
  uid?: boolean;
  /**
   * The section (RFC 3501 §6.4.5): `""` for the whole message, `"HEADER"`,
   * `"TEXT"`, `"1.2"`, `"HEADER.FIELDS (From Subject)"`.
   *
   * @default {""}
   */
  section?: string;
  /**
   * Use `BODY.PEEK`, which leaves `\Seen` alone.
   *
   * @default {true}
   */
  peek?: boolean;
  /** A partial fetch: `[offset, length]` in bytes. */
  partial?: readonly [number, number];
  /**
   * Milliseconds without a byte moving before the transfer is given up.
   *
   * @default {the client's idleTimeout}
   */
  idleTimeout?: number;
  /**
   * The most bytes a cancel drains to keep the connection.
   *
   * @default {the client's drainLimit}
   */
  drainLimit?: number;
}

/** A body section being streamed by `ImapClient.fetchBody`. */
export interface ImapFetchBody {
  /** The message sequence number. */
  seq: number;
  /** The UID, when known before the body. */
  uid: number | null;
  /** The size the server announced, in bytes. */
  size: number;
  /** The section key as the server sent it (`""`, `"HEADER"`, `"1.2"`). */
  section: string;
  /**
   * The bytes, with backpressure. The connection is held until the stream
   * is read to its end or cancelled.
   */
  stream: ReadableStream<Uint8Array>;
}

/** Options for `ImapClient.search`. */
export interface ImapSearchOptions extends ImapCommandOptions {
  /** Return UIDs (`UID SEARCH`) instead of sequence numbers. */
  uid?: boolean;
  /**
   * The `CHARSET` to name.
   *
   * @default {"UTF-8" when a string is not ASCII and UTF8=ACCEPT is off}
   */
  charset?: string;
}

/** Options for `ImapClient.store`. */
export interface ImapStoreOptions extends ImapCommandOptions {
  /** Address messages by UID. */
  uid?: boolean;
  /**
   * `"add"` (`+FLAGS`), `"remove"` (`-FLAGS`) or `"set"` (`FLAGS`).
   *
   * @default {"add"}
   */
  operation?: "add" | "remove" | "set";
  /** `.SILENT`: the server sends no FETCH responses back. */
  silent?: boolean;
  /** `UNCHANGEDSINCE` (RFC 7162): store only where the mod-sequence is not higher. */
  unchangedSince?: bigint | number;
}

/** Options for `ImapClient.copy`, `move` and `expunge`. */
export interface ImapUidOptions extends ImapCommandOptions {
  /** Address messages by UID. */
  uid?: boolean;
}

/** Options for `ImapClient.append`. */
export interface ImapAppendOptions extends ImapCommandOptions {
  /** Flags to set on the new message (`\Seen`, `$Forwarded`). */
  flags?: readonly string[];
  /** The internal date. */
  date?: Date;
  /**
   * The message size in bytes: required for a stream, which must deliver
   * exactly this many.
   */
  size?: number;
}

/** What APPEND returned (RFC 4315 `APPENDUID`), when the server has UIDPLUS. */
export interface ImapAppendResult {
  /** The destination mailbox's UIDVALIDITY, or `null`. */
  uidValidity: number | null;
  /** The new message's UID, or `null`. */
  uid: number | null;
}

/** Options for `ImapClient.idle`. */
export interface ImapIdleOptions {
  /** Stops the IDLE (as `stop()` does) when aborted; the connection stays open. */
  signal?: AbortSignal;
  /**
   * Milliseconds after which IDLE is ended and issued again (RFC 2177 §3:
   * servers may log out a client idle for 30 minutes).
   *
   * @default {1680000}
   */
  reissueAfter?: number;
  /**
   * Milliseconds between NOOPs when the server does not offer IDLE.
   *
   * @default {30000}
   */
  pollInterval?: number;
}

/**
 * A running IDLE (RFC 2177): an async iterator of the server's untagged
 * events. `stop()` (or `break` in `for await`, or the signal) sends
 * `DONE`, reads the tagged OK and leaves the connection open. Other
 * commands may be run meanwhile: the IDLE pauses for them and resumes.
 */
export interface ImapIdle extends AsyncIterableIterator<ImapEvent> {
  /** Ends the IDLE, keeping the connection; resolves when the server confirmed. */
  stop(): Promise<void>;
}
