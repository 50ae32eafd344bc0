import { connectTcp, type TlsOptions } from "./connect_tcp.ts";
import { isLoopbackPeer } from "./_loopback.ts";
import { MissingExtensionError } from "./missing_extension_error.ts";
import { type DuplexConn, localNetAddr, remoteNetAddr } from "./duplex_conn.ts";
import type { ChunkSource } from "./chunk_source.ts";
import { assertLineSafe } from "./line_writer.ts";
import { ProtocolError } from "./protocol_error.ts";
import { codeMatches, type NumericReply, readReply } from "./reply.ts";
import { TextConn, type TextConnLease } from "./text_conn.ts";
import { closeQuietly } from "./_io.ts";
import { FtpReplyError } from "./ftp_reply_error.ts";
import type { FtpFileInfo, FtpListOptions } from "./ftp_list.ts";
import { parseMlsxLine } from "./ftp_list.ts";
import {
  DEFAULT_MAX_LISTING_LINE,
  DEFAULT_MAX_LISTING_SIZE,
  FtpLineSplitter,
  readFtpListing,
} from "./_ftp_listing.ts";
import {
  formatFtpEprtArgument,
  formatFtpPortArgument,
  parseFtpEpsvReply,
  parseFtpPasvReply,
} from "./_ftp_address.ts";
import {
  parseFtpFeatReply,
  parseFtpMdtmReply,
  parseFtpPathReply,
  parseFtpSizeReply,
} from "./_ftp_reply_text.ts";
import {
  connectPassive,
  finishData,
  FtpAsciiEncoder,
  FtpDataReader,
  type FtpDataTls,
  type FtpPendingData,
  listenActive,
  readDataInto,
  writeData,
} from "./_ftp_client_data.ts";
import {
  downloadFtpDir,
  ensureFtpDir,
  type FtpDownloadDirOptions,
  type FtpMirrorResult,
  type FtpSmallFile,
  type FtpUploadDirOptions,
  uploadFtpDir,
} from "./_ftp_client_mirror.ts";

export type {
  FtpDownloadDirOptions,
  FtpMirrorResult,
  FtpUploadDirOptions,
} from "./_ftp_client_mirror.ts";

/** The FTP control port (RFC 959). */
export const FTP_PORT = 21;
/** The port of FTP with implicit TLS (FTPS, "port 990 style"). */
export const FTPS_PORT = 990;

/** Options for {@linkcode FtpClient}. */
export interface FtpClientOptions {
  /**
   * The server's host name: the name checked in its certificate (control
   * and data connections), and a loopback name lets a password go in clear.
   *
   * @default {the connection's remote address, when it has one}
   */
  serverName?: string;
  /** Extra trusted CA certificates (PEM) for `AUTH TLS` and protected data connections. */
  caCerts?: string[];
  /**
   * Send `PASS` on a connection that is neither TLS nor to a loopback
   * address. The anonymous login's conventional password is always allowed.
   *
   * @default {false}
   */
  allowInsecureAuth?: boolean;
  /**
   * Fail unless the session is protected: `PROT P` refused after TLS is an
   * error instead of data in clear (`connect` also requires `AUTH TLS`).
   *
   * @default {false}
   */
  requireTls?: boolean;
  /**
   * Protect data connections with TLS (`PBSZ 0`, `PROT P`, RFC 4217 §8,
   * §9) when the control connection is TLS.
   *
   * @default {true}
   */
  protectData?: boolean;
  /**
   * Passive mode (the client dials the server's data port, `EPSV` then
   * `PASV`); `false` for active mode (the server dials the client,
   * `EPRT` then `PORT`).
   *
   * @default {true}
   */
  passive?: boolean;
  /**
   * Try `EPSV` (RFC 2428) before `PASV`.
   *
   * @default {true}
   */
  epsv?: boolean;
  /**
   * Connect to the address in a `227` reply. By default it is ignored and
   * the control connection's peer is dialled, as Python's ftplib and
   * basic-ftp do: a hostile server could point the client anywhere.
   *
   * @default {false}
   */
  trustPasvAddress?: boolean;
  /**
   * The local address to listen on and announce in active mode.
   *
   * @default {the control connection's local address}
   */
  activeAddress?: string;
  /**
   * Milliseconds a command may take.
   *
   * @default {30000}
   */
  timeout?: number;
  /**
   * Milliseconds a transfer may go without a byte moving, on the data or
   * the control connection (no total limit: a long transfer is fine as
   * long as it moves); also the time to set up a data connection.
   *
   * @default {30000}
   */
  dataTimeout?: number;
  /**
   * The most bytes in one control reply.
   *
   * @default {65536}
   */
  maxReplySize?: number;
  /**
   * The most bytes of a directory listing (`LIST`, `MLSD`, `NLST`).
   *
   * @default {41943040}
   */
  maxListingSize?: number;
  /**
   * The longest listing line in bytes.
   *
   * @default {65536}
   */
  maxListingLine?: number;
  /**
   * The encoding of listings and `NLST` names (RFC 2640 servers send UTF-8).
   *
   * @default {"utf-8"}
   */
  encoding?: string;
  /**
   * Receives each line sent (`C: ...`) and received (`S: ...`); the
   * argument of `PASS` and `ACCT` shows as `****`.
   */
  debug?: (line: string) => void;
}

/** Options for {@linkcode FtpClient.connect}. */
export interface FtpConnectOptions extends FtpClientOptions {
  /**
   * The server to dial.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The control port.
   *
   * @default {21, or 990 with implicit TLS}
   */
  port?: number;
  /**
   * `true` or TLS options: implicit TLS from the first byte (FTPS on port
   * 990). `false`: stay in clear, never `AUTH TLS`. Absent: explicit FTPS
   * (`AUTH TLS`, RFC 4217) when the server offers it; a handshake that fails
   * is an error, never a fallback to clear text.
   */
  tls?: boolean | TlsOptions;
  /** The user to log in as after the greeting (and TLS); no login without it. */
  user?: string;
  /**
   * The password.
   *
   * @default {"anonymous@" for the anonymous user, else ""}
   */
  password?: string;
  /** The account for `ACCT`, when the server asks for one (332). */
  account?: string;
  /**
   * Milliseconds to establish the connection (TCP and implicit TLS).
   *
   * @default {30000}
   */
  connectTimeout?: number;
  /** Cancels connecting and the opening exchange. */
  signal?: AbortSignal;
}

/** Per-call options: a signal and a timeout. */
export interface FtpCommandOptions {
  /** Aborts the command; the connection is then closed. */
  signal?: AbortSignal;
  /**
   * Milliseconds the command may take in total; then the connection is
   * closed.
   *
   * @default {the client's `timeout`; none for transfers (see `dataTimeout`)}
   */
  timeout?: number;
}

/** Progress of a transfer. */
export interface FtpTransferProgress {
  /** Bytes moved so far in this transfer (not counting a resume offset). */
  loaded: number;
  /** Bytes expected in this transfer, when known. */
  total: number | null;
  /** Whether the transfer has ended. */
  done: boolean;
}

/** The representation type of a transfer (RFC 959 §3.1.1): ASCII or image (binary). */
export type FtpTransferType = "A" | "I";

/** Options for {@linkcode FtpClient.download}. */
export interface FtpDownloadOptions extends FtpCommandOptions {
  /** Start at this byte (`REST`, RFC 3659 §5) to resume a download. */
  offset?: number;
  /**
   * `"I"` for the bytes as stored, `"A"` for text with CR LF line ends.
   *
   * @default {"I"}
   */
  type?: FtpTransferType;
  /**
   * The bytes expected, for progress.
   *
   * @default {the size in the server's 150 reply, when it gives one}
   */
  size?: number;
  /** Called as data arrives and once at the end. */
  onProgress?: (progress: FtpTransferProgress) => void;
}

/** What {@linkcode FtpClient.upload} sends: a stream, bytes, or text (UTF-8). */
export type FtpUploadSource = ReadableStream<Uint8Array> | Uint8Array | string;

/** Options for {@linkcode FtpClient.upload}. */
export interface FtpUploadOptions extends FtpCommandOptions {
  /**
   * Append to the file (`APPE`) instead of replacing it (`STOR`).
   *
   * @default {false}
   */
  append?: boolean;
  /**
   * Write from this byte of the remote file on (`REST` then `STOR`), to
   * resume an upload; the source holds the bytes from there on.
   */
  offset?: number;
  /**
   * `"I"` sends the bytes as they are; `"A"` sends text, every LF without a
   * CR before it becoming CR LF (ftplib's `storlines`).
   *
   * @default {"I"}
   */
  type?: FtpTransferType;
  /**
   * The bytes to send, for progress.
   *
   * @default {the length of bytes or text}
   */
  size?: number;
  /** Called as data is sent and once at the end. */
  onProgress?: (progress: FtpTransferProgress) => void;
}

/** The result of an upload. */
export interface FtpUploadResult {
  /** Bytes sent on the data connection. */
  size: number;
  /** The server's final reply (226 or 250). */
  reply: NumericReply;
}

/** Options for {@linkcode FtpClient.list}: the listing parser options and a signal. */
export interface FtpListCommandOptions extends FtpCommandOptions, FtpListOptions {
  /**
   * Use `MLSD` (RFC 3659 §7) when the server offers `MLST`, else `LIST`.
   * `false` always uses `LIST`.
   *
   * @default {true}
   */
  mlsd?: boolean;
}

const encoder = new TextEncoder();
const ANONYMOUS = new Set(["anonymous", "ftp"]);
const SIZE_HINT_REGEXP = /\((\d+) bytes\)/i;
/**
 * The most bytes read from an upload's source at once (two such buffers
 * are used in turn). Large pieces mean few reads and writes per byte: a
 * 1 GiB upload to vsftpd took about 9 % less time at 4 MiB than at 256 KiB
 * on a busy 2-core machine (and 2.8 s instead of 1.8 s at 64 KiB).
 */
const UPLOAD_CHUNK = 4 * 1024 * 1024;
/** The size of an upload's first read; later ones double up to {@linkcode UPLOAD_CHUNK}. */
const FIRST_UPLOAD_CHUNK = 64 * 1024;
/** Errors decided on this side, or after replies read in full: the session is fine. */
const SESSION_INTACT_CODES = new Set([
  "INSECURE_AUTH",
  "BAD_PASV_REPLY",
  "BAD_EPSV_REPLY",
  "BAD_SIZE_REPLY",
  "BAD_MDTM_REPLY",
  "BAD_PATH_REPLY",
  "BAD_MLST_REPLY",
  "DATA_CONNECT_FAILED",
  "UNSAFE_LISTING_NAME",
  "TOO_DEEP",
]);
/** Replies that mean the command is not implemented: try the older form. */
const NOT_IMPLEMENTED = new Set([500, 501, 502, 504, 522]);
/** The most replies read after ABOR before giving up on the connection. */
const MAX_ABORT_REPLIES = 6;

interface Line {
  /** The command as sent. */
  text: string;
  /** What errors and the debug log show instead, for secrets. */
  shown?: string;
}

/** A transfer in progress: its data connection and the first reply. */
interface StartedTransfer {
  conn: Deno.Conn;
  reply: NumericReply;
  /** The first reply was already the final one (2xx without 1xx). */
  final: boolean;
  command: string;
}

/** A reading of the source that failed: the caller's stream, not the network. */
class SourceFailure {
  constructor(readonly error: unknown) {}
}

/** An error to throw after the session was brought back in step (it stays open). */
class InStep {
  constructor(readonly error: unknown) {}
}

/**
 * An FTP client (RFC 959), the modern `ftplib.FTP`: login (anonymous with
 * the conventional password), `FEAT` and UTF-8 (RFC 2389, RFC 2640),
 * explicit and implicit FTPS (RFC 4217) with verified certificates on the
 * control and every data connection, passive mode with `EPSV` first and
 * `PASV` as the fallback (RFC 2428), active mode with `EPRT`/`PORT`,
 * listings from `MLSD` (RFC 3659) or `LIST` (Unix and DOS formats),
 * streamed downloads and uploads with backpressure, progress and `REST`
 * resume, `SIZE`/`MDTM`, and the file and directory verbs. It takes any
 * duplex (a `Deno.Conn`, a test double); {@linkcode FtpClient.connect}
 * dials.
 *
 * One command runs at a time (a download's body holds the connection until
 * it is read or cancelled; cancelling sends `ABOR` and keeps the session).
 * Every reply goes through the one reply reader, bounded to 64 KiB;
 * refusals throw {@linkcode FtpReplyError} with the code and the session
 * stays usable. Every argument is checked for CR, LF and NUL before a byte
 * is written. The address in a `227` reply is ignored unless
 * `trustPasvAddress` is set.
 *
 * @example Downloading a file
 * ```ts ignore
 * import { FtpClient } from "@inetkit/inetkit/net";
 *
 * await using ftp = await FtpClient.connect({
 *   hostname: "127.0.0.1",
 *   port: 2121,
 *   user: "mulder",
 *   password: "trustno1",
 *   caCerts: [await Deno.readTextFile("/tmp/peers/tls/ca.pem")],
 *   serverName: "localhost",
 * });
 * const body = await ftp.download("pub/hello.txt");
 * console.log(await new Response(body).text());
 * ```
 *
 * @example Talking to a scripted server (one reply per command)
 * ```ts
 * import { FtpClient } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const replies = ["220 ready", "331 Password?", "230 Welcome", '257 "/pub" is current'];
 * const sent: string[] = [];
 * let server!: ReadableStreamDefaultController<Uint8Array>;
 * const answer = () => server.enqueue(new TextEncoder().encode(replies.shift() + "\r\n"));
 * const ftp = new FtpClient({
 *   readable: new ReadableStream({ start: (c) => void (server = c, answer()) }),
 *   writable: new WritableStream({
 *     write: (c) => void (sent.push(new TextDecoder().decode(c)), answer()),
 *   }),
 *   close() {},
 * });
 * await ftp.login();
 * assertEquals(await ftp.pwd(), "/pub");
 * assertEquals(sent, ["USER anonymous\r\n", "PASS anonymous@\r\n", "PWD\r\n"]);
 * ftp.close();
 * ```
 */
export class FtpClient implements AsyncDisposable {
  #conn: TextConn;
  #serverName: string | undefined;
  #caCerts: string[] | undefined;
  #allowInsecureAuth: boolean;
  #requireTls: boolean;
  #protectData: boolean;
  #passive: boolean;
  #epsv: boolean;
  #eprt = true;
  #trustPasvAddress: boolean;
  #activeAddress: string | undefined;
  #timeout: number;
  #dataTimeout: number;
  #maxReplySize: number;
  #maxListingSize: number;
  #maxListingLine: number;
  #encoding: string;
  #debug: ((line: string) => void) | undefined;
  #greeting: string[] | null = null;
  #features: Map<string, string> | null = null;
  #featAfterLogin = false;
  #loggedIn = false;
  #dataTls = false;
  #type: FtpTransferType | null = null;
  #mlsd = true;

  /**
   * Wraps a connection to an FTP server. Nothing is read or sent until the
   * first command, which reads the greeting first.
   *
   * @param conn The control connection; the client owns it from now on.
   * @param options TLS trust, data connection modes, limits, timeouts and the debug log.
   * @throws {RangeError} If a limit or timeout is not a positive number.
   * @throws {TypeError} If `encoding` is not a known encoding.
   */
  constructor(conn: DuplexConn, options?: FtpClientOptions) {
    options ??= {};
    this.#serverName = options.serverName ?? remoteNetAddr(conn)?.hostname;
    this.#caCerts = options.caCerts;
    this.#allowInsecureAuth = options.allowInsecureAuth ?? false;
    this.#requireTls = options.requireTls ?? false;
    this.#protectData = options.protectData ?? true;
    this.#passive = options.passive ?? true;
    this.#epsv = options.epsv ?? true;
    this.#trustPasvAddress = options.trustPasvAddress ?? false;
    this.#activeAddress = options.activeAddress;
    this.#timeout = positive(options.timeout ?? 30000, "timeout");
    this.#dataTimeout = positive(options.dataTimeout ?? 30000, "dataTimeout");
    this.#maxReplySize = positive(options.maxReplySize ?? 65536, "maxReplySize");
    this.#maxListingSize = positive(
      options.maxListingSize ?? DEFAULT_MAX_LISTING_SIZE,
      "maxListingSize",
    );
    this.#maxListingLine = positive(
      options.maxListingLine ?? DEFAULT_MAX_LISTING_LINE,
      "maxListingLine",
    );
    this.#encoding = options.encoding ?? "utf-8";
    try {
      new TextDecoder(this.#encoding);
    } catch (cause) {
      throw new TypeError(
        `Cannot create FTP client: unknown encoding ${JSON.stringify(this.#encoding)}`,
        { cause },
      );
    }
    this.#debug = options.debug;
    // A reply that arrives while no command runs answers nothing we sent.
    this.#conn = new TextConn(conn, { unsolicited: "error" });
  }

  /**
   * Dials a server, reads its greeting and features, upgrades with
   * `AUTH TLS` when offered (or speaks implicit TLS with `tls`), and logs
   * in when given a user: the usual opening of a session.
   *
   * @param options Where to connect, TLS, the login and the client options.
   * @returns A client ready for transfers.
   * @throws {FtpReplyError} When the server refuses the greeting, `AUTH TLS`
   *   (with `requireTls`) or the login.
   * @throws {MissingExtensionError} `"AUTH TLS"` with `requireTls` when the
   *   server does not offer or refuses it.
   * @throws {ProtocolError} `"INSECURE_AUTH"` for a password that would go in clear,
   *   `"STARTTLS_INJECTION"`, or malformed replies.
   * @throws {DOMException} The signal's reason or a `TimeoutError`.
   *
   * @example Explicit FTPS with a private CA
   * ```ts ignore
   * import { FtpClient } from "@inetkit/inetkit/net";
   * import { assert } from "@std/assert";
   *
   * await using ftp = await FtpClient.connect({
   *   hostname: "127.0.0.1",
   *   port: 2121,
   *   serverName: "localhost",
   *   caCerts: [await Deno.readTextFile("/tmp/peers/tls/ca.pem")],
   *   requireTls: true,
   *   user: "mulder",
   *   password: "trustno1",
   * });
   * assert(ftp.tls && ftp.dataProtected);
   * ```
   */
  static async connect(options?: FtpConnectOptions): Promise<FtpClient> {
    options ??= {};
    if (options.tls === false && options.requireTls) {
      throw new TypeError("Cannot connect: requireTls and tls: false exclude each other");
    }
    const hostname = options.hostname ?? "127.0.0.1";
    const implicit = options.tls === true || typeof options.tls === "object";
    const port = options.port ?? (implicit ? FTPS_PORT : FTP_PORT);
    const given = typeof options.tls === "object" ? options.tls : {};
    const serverName = options.serverName ?? given.hostname ?? hostname;
    const caCerts = given.caCerts ?? options.caCerts;
    const conn = await connectTcp({
      hostname,
      port,
      tls: implicit ? { hostname: serverName, caCerts, alpnProtocols: given.alpnProtocols } : false,
      timeout: options.connectTimeout,
      signal: options.signal,
    });
    const client = new FtpClient(conn, { ...options, serverName, caCerts });
    try {
      const signal = options.signal;
      let features: ReadonlyMap<string, string>;
      try {
        features = await client.feat({ signal });
      } catch (error) {
        // Some servers answer FEAT only after login: read it again then.
        if (!(error instanceof FtpReplyError) || error.code !== 530) throw error;
        client.#featAfterLogin = true;
        features = new Map();
      }
      if (!client.tls && options.tls !== false) {
        const offered = /\bTLS\b/i.test(features.get("AUTH") ?? "");
        if (offered || options.requireTls) {
          try {
            await client.startTls({ signal });
          } catch (error) {
            if (!(error instanceof FtpReplyError) || client.closed) throw error;
            if (options.requireTls) {
              throw new MissingExtensionError(
                "AUTH TLS",
                `Cannot start TLS: the server refused AUTH TLS: ${error.code} ${
                  error.lines.join(" ")
                }`,
                { cause: error },
              );
            }
            // Offered but refused: the server said no, nothing was exposed.
          }
        }
      }
      if (options.user !== undefined || options.password !== undefined) {
        await client.login(options.user, options.password, { account: options.account, signal });
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
   * The features from the last `FEAT` reply: upper-case names to their
   * parameters (`"MLST"` → `"type*;size*;modify*;"`, `"AUTH"` → `"TLS"`).
   * Empty before `FEAT` or when the server has none.
   */
  get features(): ReadonlyMap<string, string> {
    return this.#features ?? new Map();
  }

  /** Whether the control connection is TLS (implicit or after `AUTH TLS`). */
  get tls(): boolean {
    return this.#conn.tls;
  }

  /** Whether data connections are TLS (`PROT P` in effect). */
  get dataProtected(): boolean {
    return this.#dataTls;
  }

  /** Whether the login succeeded. */
  get loggedIn(): boolean {
    return this.#loggedIn;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#conn.closed;
  }

  /** Whether a command or a download body holds the connection. */
  get busy(): boolean {
    return this.#conn.busy;
  }

  // ---- session ------------------------------------------------------------

  /**
   * Asks for the server's features with `FEAT` (RFC 2389 §3) and records
   * them. A server without `FEAT` (500, 502) has none.
   *
   * @param options A signal and a timeout.
   * @returns The features: upper-case names to their parameters.
   * @throws {FtpReplyError} For another refusal (530 before login on some servers).
   */
  async feat(options?: FtpCommandOptions): Promise<ReadonlyMap<string, string>> {
    options ??= {};
    return await this.#run(() => this.#feat(), options);
  }

  /**
   * Upgrades the control connection with `AUTH TLS` (RFC 4217 §4), checks
   * the certificate, and reads `FEAT` again. After login (now or later),
   * data connections are protected with `PBSZ 0` and `PROT P`. Bytes the
   * server sends before the handshake are an injection attack: the
   * connection is closed.
   *
   * @param options A signal and a timeout.
   * @throws {FtpReplyError} When the server refuses `AUTH TLS`.
   * @throws {ProtocolError} `"STARTTLS_INJECTION"` for early bytes.
   * @throws {TypeError} When the connection is already TLS or is not TCP.
   */
  async startTls(options?: FtpCommandOptions): Promise<void> {
    options ??= {};
    return await this.#run(async (lease) => {
      if (this.#conn.tls) throw new TypeError("Cannot start TLS: the connection is already TLS");
      await this.#command({ text: "AUTH TLS" }, 234);
      await this.#conn.startTls(
        { hostname: this.#serverName, caCerts: this.#caCerts },
        lease.signal,
      );
      this.#features = null;
      try {
        await this.#feat();
      } catch (error) {
        if (!(error instanceof FtpReplyError) || error.code !== 530) throw error;
        this.#featAfterLogin = true;
      }
      if (this.#loggedIn) await this.#protect();
    }, options);
  }

  /**
   * Logs in with `USER`, `PASS` and, when the server asks (332), `ACCT`
   * (RFC 959 §4.1.1). Without a user it logs in anonymously with the
   * conventional password `anonymous@`. Other passwords are sent only over
   * TLS, to a loopback address, or with `allowInsecureAuth`. Over TLS, data
   * connections are then protected (`PBSZ 0`, `PROT P`); with `UTF8` in the
   * features, `OPTS UTF8 ON` is sent (RFC 2640).
   *
   * @param user The user name.
   * @param password The password.
   * @param options The account, a signal and a timeout.
   * @returns The final reply (230 or 202).
   * @throws {FtpReplyError} When the server refuses the login (530).
   * @throws {ProtocolError} `"INSECURE_AUTH"` when the password would go in
   *   clear to a host that is not loopback.
   * @throws {TypeError} For CR, LF or NUL in the arguments.
   *
   * @example An anonymous login
   * ```ts
   * import { FtpClient } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const ftp = new FtpClient({
   *   readable: ReadableStream.from([new TextEncoder().encode("220 hi\r\n230 Anonymous ok\r\n")]),
   *   writable: new WritableStream(),
   *   close() {},
   * });
   * assertEquals((await ftp.login()).code, 230);
   * assertEquals(ftp.loggedIn, true);
   * ftp.close();
   * ```
   */
  async login(
    user = "anonymous",
    password?: string,
    options?: FtpCommandOptions & { account?: string },
  ): Promise<NumericReply> {
    options ??= {};
    const anonymous = ANONYMOUS.has(user.toLowerCase());
    const secret = password ?? (anonymous ? "anonymous@" : "");
    checkArgument(user, "USER");
    checkArgument(secret, "PASS", true);
    if (options.account !== undefined) checkArgument(options.account, "ACCT", true);
    return await this.#run(async () => {
      let last = `USER ${user}`;
      let reply = await this.#command({ text: last }, null);
      if (reply.code === 331) {
        if (!anonymous && secret !== "" && !this.#mayShowSecret()) {
          throw new ProtocolError(
            "INSECURE_AUTH",
            `Cannot send PASS: the connection to ${
              this.#serverName ?? "the server"
            } is not TLS and not loopback (use TLS, or set allowInsecureAuth)`,
          );
        }
        last = "PASS ****";
        reply = await this.#command({ text: `PASS ${secret}`, shown: last }, null);
      }
      if (reply.code === 332) {
        if (options.account === undefined) {
          throw new FtpReplyError(reply.code, reply.lines, {
            command: "PASS ****",
            message: `Cannot log in as ${user}: the server asks for an account (ACCT)`,
          });
        }
        reply = await this.#command({ text: `ACCT ${options.account}`, shown: "ACCT ****" }, 2);
      }
      if (reply.code !== 230 && reply.code !== 202) {
        throw new FtpReplyError(reply.code, reply.lines, {
          command: last,
          message: `Cannot log in as ${user}: server replied ${reply.code} ${
            reply.lines.join(" ").trim()
          }`,
        });
      }
      this.#loggedIn = true;
      if (this.#featAfterLogin) {
        this.#featAfterLogin = false;
        await this.#feat().catch((error) => {
          if (!(error instanceof FtpReplyError)) throw error;
        });
      }
      if (this.#conn.tls) await this.#protect();
      if (this.#features?.has("UTF8")) {
        // RFC 2640 §3.2: a server in UTF-8 anyway may refuse; that is fine.
        await this.#command({ text: "OPTS UTF8 ON" }, null);
      }
      return reply;
    }, options);
  }

  /**
   * Asks for the server's system type with `SYST` (RFC 959 §4.1.3).
   *
   * @param options A signal and a timeout.
   * @returns The text of the 215 reply, such as `"UNIX Type: L8"`.
   * @throws {FtpReplyError} When the server refuses.
   */
  async syst(options?: FtpCommandOptions): Promise<string> {
    options ??= {};
    const reply = await this.#run(() => this.#command({ text: "SYST" }, 2), options);
    return reply.lines.join(" ").trim();
  }

  /**
   * Asks for the working directory with `PWD` (RFC 959 §4.1.3).
   *
   * @param options A signal and a timeout.
   * @returns The path from the 257 reply.
   * @throws {FtpReplyError} When the server refuses.
   * @throws {ProtocolError} `"BAD_PATH_REPLY"` without a quoted path.
   */
  async pwd(options?: FtpCommandOptions): Promise<string> {
    options ??= {};
    return await this.#run(async () => {
      const reply = await this.#command({ text: "PWD" }, 257);
      return parseFtpPathReply(reply.lines[0] ?? "");
    }, options);
  }

  /**
   * Changes the working directory with `CWD` (RFC 959 §4.1.1).
   *
   * @param path The directory.
   * @param options A signal and a timeout.
   * @returns The 250 reply.
   * @throws {FtpReplyError} When the server refuses (550).
   * @throws {TypeError} For an empty path or CR, LF or NUL in it.
   */
  async cwd(path: string, options?: FtpCommandOptions): Promise<NumericReply> {
    options ??= {};
    checkArgument(path, "CWD");
    return await this.#run(() => this.#command({ text: `CWD ${path}` }, 2), options);
  }

  /**
   * Goes to the parent directory with `CDUP` (RFC 959 §4.1.1).
   *
   * @param options A signal and a timeout.
   * @returns The 200 or 250 reply.
   * @throws {FtpReplyError} When the server refuses.
   */
  async cdup(options?: FtpCommandOptions): Promise<NumericReply> {
    options ??= {};
    return await this.#run(() => this.#command({ text: "CDUP" }, 2), options);
  }

  /**
   * Sets the representation type with `TYPE` (RFC 959 §4.1.2). Transfers
   * set the type they need themselves; this is for `SIZE` on servers that
   * answer differently per type, and for raw commands.
   *
   * @param type `"A"` (ASCII) or `"I"` (image, binary).
   * @param options A signal and a timeout.
   * @returns The 200 reply.
   * @throws {FtpReplyError} When the server refuses.
   * @throws {TypeError} For another type.
   */
  async type(type: FtpTransferType, options?: FtpCommandOptions): Promise<NumericReply> {
    options ??= {};
    checkType(type);
    return await this.#run(async () => {
      const reply = await this.#command({ text: `TYPE ${type}` }, 2);
      this.#type = type;
      return reply;
    }, options);
  }

  /**
   * Asks for a file's size with `SIZE` (RFC 3659 §4), in binary type (the
   * size in ASCII type would depend on line ends).
   *
   * @param path The file.
   * @param options A signal and a timeout.
   * @returns The size in bytes.
   * @throws {FtpReplyError} When the server refuses (550 for no such file).
   * @throws {ProtocolError} `"BAD_SIZE_REPLY"` for a reply that is not a size.
   * @throws {TypeError} For an empty path or CR, LF or NUL in it.
   */
  async size(path: string, options?: FtpCommandOptions): Promise<number> {
    options ??= {};
    checkArgument(path, "SIZE");
    return await this.#run(async () => {
      await this.#ensureType("I");
      const reply = await this.#command({ text: `SIZE ${path}` }, 213);
      return parseFtpSizeReply(reply.lines[0] ?? "");
    }, options);
  }

  /**
   * Asks for a file's modification time with `MDTM` (RFC 3659 §3).
   *
   * @param path The file.
   * @param options A signal and a timeout.
   * @returns The time (UTC, exact).
   * @throws {FtpReplyError} When the server refuses (550).
   * @throws {ProtocolError} `"BAD_MDTM_REPLY"` for a reply that is not a time.
   * @throws {TypeError} For an empty path or CR, LF or NUL in it.
   */
  async mdtm(path: string, options?: FtpCommandOptions): Promise<Date> {
    options ??= {};
    checkArgument(path, "MDTM");
    return await this.#run(async () => {
      const reply = await this.#command({ text: `MDTM ${path}` }, 213);
      return parseFtpMdtmReply(reply.lines[0] ?? "");
    }, options);
  }

  /**
   * Deletes a file with `DELE` (RFC 959 §4.1.3).
   *
   * @param path The file.
   * @param options A signal and a timeout.
   * @returns The 250 reply.
   * @throws {FtpReplyError} When the server refuses (550).
   * @throws {TypeError} For an empty path or CR, LF or NUL in it.
   */
  async delete(path: string, options?: FtpCommandOptions): Promise<NumericReply> {
    options ??= {};
    checkArgument(path, "DELE");
    return await this.#run(() => this.#command({ text: `DELE ${path}` }, 2), options);
  }

  /**
   * Renames a file or directory with `RNFR` and `RNTO` (RFC 959 §4.1.3).
   *
   * @param from The current name.
   * @param to The new name.
   * @param options A signal and a timeout.
   * @returns The 250 reply.
   * @throws {FtpReplyError} When the server refuses either command.
   * @throws {TypeError} For an empty name or CR, LF or NUL in one.
   */
  async rename(from: string, to: string, options?: FtpCommandOptions): Promise<NumericReply> {
    options ??= {};
    checkArgument(from, "RNFR");
    checkArgument(to, "RNTO");
    return await this.#run(async () => {
      await this.#command({ text: `RNFR ${from}` }, 350);
      return await this.#command({ text: `RNTO ${to}` }, 2);
    }, options);
  }

  /**
   * Creates a directory with `MKD` (RFC 959 §4.1.3).
   *
   * @param path The directory.
   * @param options A signal and a timeout.
   * @returns The path the server reports (the argument when its 257 reply
   *   has no quoted path).
   * @throws {FtpReplyError} When the server refuses (550).
   * @throws {TypeError} For an empty path or CR, LF or NUL in it.
   */
  async mkd(path: string, options?: FtpCommandOptions): Promise<string> {
    options ??= {};
    checkArgument(path, "MKD");
    return await this.#run(async () => {
      const reply = await this.#command({ text: `MKD ${path}` }, 2);
      try {
        return parseFtpPathReply(reply.lines[0] ?? "");
      } catch {
        return path;
      }
    }, options);
  }

  /**
   * Removes a directory with `RMD` (RFC 959 §4.1.3).
   *
   * @param path The directory.
   * @param options A signal and a timeout.
   * @returns The 250 reply.
   * @throws {FtpReplyError} When the server refuses (550).
   * @throws {TypeError} For an empty path or CR, LF or NUL in it.
   */
  async rmd(path: string, options?: FtpCommandOptions): Promise<NumericReply> {
    options ??= {};
    checkArgument(path, "RMD");
    return await this.#run(() => this.#command({ text: `RMD ${path}` }, 2), options);
  }

  /**
   * Sends a site-specific command with `SITE` (RFC 959 §4.1.3), such as
   * `CHMOD 644 file`.
   *
   * @param args The words after `SITE`.
   * @param options A signal and a timeout.
   * @returns The 2xx reply.
   * @throws {FtpReplyError} When the server refuses.
   * @throws {TypeError} For empty arguments or CR, LF or NUL in them.
   */
  async site(args: string, options?: FtpCommandOptions): Promise<NumericReply> {
    options ??= {};
    checkArgument(args, "SITE");
    return await this.#run(() => this.#command({ text: `SITE ${args}` }, 2), options);
  }

  /**
   * Sends `NOOP` (RFC 959 §4.1.3), to keep the connection alive or check it.
   *
   * @param options A signal and a timeout.
   * @returns The 200 reply.
   * @throws {FtpReplyError} When the server refuses.
   */
  async noop(options?: FtpCommandOptions): Promise<NumericReply> {
    options ??= {};
    return await this.#run(() => this.#command({ text: "NOOP" }, 2), options);
  }

  /**
   * Sends any command that needs no data connection and reads its reply
   * (ftplib's `sendcmd`). The arguments of `PASS` and `ACCT` are redacted in
   * errors and the debug log.
   *
   * @param line The command line, such as `"STAT"` or `"HELP SITE"`.
   * @param options A signal and a timeout.
   * @returns The reply, when it is 1xx, 2xx or 3xx.
   * @throws {FtpReplyError} For a 4xx or 5xx reply.
   * @throws {TypeError} For an empty line or CR, LF or NUL in it.
   */
  async sendCommand(line: string, options?: FtpCommandOptions): Promise<NumericReply> {
    options ??= {};
    checkArgument(line, "command");
    const verb = line.trim().split(/\s+/)[0]!.toUpperCase();
    const shown = verb === "PASS" || verb === "ACCT" ? `${verb} ****` : undefined;
    return await this.#run(async () => {
      const reply = await this.#command({ text: line, shown }, null);
      if (reply.code >= 400) {
        throw new FtpReplyError(reply.code, reply.lines, { command: shown ?? line });
      }
      return reply;
    }, options);
  }

  // ---- listings -----------------------------------------------------------

  /**
   * Lists a directory as parsed entries: with `MLSD` (RFC 3659 §7, exact
   * facts) when the server offers `MLST`, otherwise `LIST` read by the Unix
   * and DOS/IIS parsers (vsftpd has no `MLSD`). The listing is capped at
   * `maxListingSize` (a larger one throws; the session stays usable).
   *
   * @param path The directory, or the working directory.
   * @param options The parser options (reference time, time zone, `.`/`..`),
   *   whether to use `MLSD`, a signal and a timeout.
   * @returns The entries, `.` and `..` left out by default.
   * @throws {FtpReplyError} When the server refuses (550).
   * @throws {ProtocolError} `"LISTING_TOO_LARGE"` or `"LINE_TOO_LONG"`.
   */
  async list(path?: string, options?: FtpListCommandOptions): Promise<FtpFileInfo[]> {
    options ??= {};
    if (path !== undefined) checkArgument(path, "LIST");
    const useMlsd = (options.mlsd ?? true) && this.#mlsd && this.features.has("MLST");
    if (useMlsd) {
      try {
        return await this.mlsd(path, options);
      } catch (error) {
        if (!(error instanceof FtpReplyError) || !NOT_IMPLEMENTED.has(error.code)) throw error;
        this.#mlsd = false;
      }
    }
    return await this.#listing(withPath("LIST", path), async (stream) => {
      const listing = await readFtpListing(stream, { ...this.#listingCaps(), ...options });
      return listing.entries;
    }, options);
  }

  /**
   * Lists a directory with `MLSD` (RFC 3659 §7): exact types, sizes, UTC
   * times and permissions.
   *
   * @param path The directory, or the working directory.
   * @param options `.`/`..` and caps, a signal and a timeout.
   * @returns The entries (`cdir` and `pdir` left out by default).
   * @throws {FtpReplyError} When the server refuses (500 without MLSD, 550).
   * @throws {ProtocolError} `"LISTING_TOO_LARGE"` or `"LINE_TOO_LONG"`.
   */
  async mlsd(path?: string, options?: FtpListCommandOptions): Promise<FtpFileInfo[]> {
    options ??= {};
    if (path !== undefined) checkArgument(path, "MLSD");
    return await this.#listing(withPath("MLSD", path), async (stream) => {
      const listing = await readFtpListing(stream, {
        ...this.#listingCaps(),
        ...options,
        format: "mlsd",
      });
      return listing.entries;
    }, options);
  }

  /**
   * Describes one file or directory with `MLST` (RFC 3659 §7) on the
   * control connection.
   *
   * @param path The file, or the working directory.
   * @param options A signal and a timeout.
   * @returns The entry.
   * @throws {FtpReplyError} When the server refuses (500 without MLST, 550).
   * @throws {ProtocolError} `"BAD_MLST_REPLY"` when the reply holds no entry.
   */
  async mlst(path?: string, options?: FtpCommandOptions): Promise<FtpFileInfo> {
    options ??= {};
    if (path !== undefined) checkArgument(path, "MLST");
    return await this.#run(async () => {
      const reply = await this.#command({ text: withPath("MLST", path) }, 250);
      for (const line of reply.lines.slice(1, -1)) {
        if (!line.startsWith(" ")) continue;
        const entry = parseMlsxLine(line);
        if (entry !== null) return entry;
      }
      throw new ProtocolError(
        "BAD_MLST_REPLY",
        `Cannot parse MLST reply: no entry in ${JSON.stringify(reply.lines.join(" | "))}`,
      );
    }, options);
  }

  /**
   * Lists a directory with `LIST` and returns the lines as the server sent
   * them (ftplib's `dir`), for people to read.
   *
   * @param path The directory, or the working directory.
   * @param options A signal and a timeout.
   * @returns The lines, without line ends.
   * @throws {FtpReplyError} When the server refuses (550).
   * @throws {ProtocolError} `"LISTING_TOO_LARGE"` or `"LINE_TOO_LONG"`.
   */
  async dir(path?: string, options?: FtpCommandOptions): Promise<string[]> {
    options ??= {};
    if (path !== undefined) checkArgument(path, "LIST");
    return await this.#listing(withPath("LIST", path), (stream) => this.#lines(stream), options);
  }

  /**
   * Lists the names in a directory with `NLST` (RFC 959 §4.1.3).
   *
   * @param path The directory, or the working directory.
   * @param options A signal and a timeout.
   * @returns The names, as the server sent them.
   * @throws {FtpReplyError} When the server refuses (550, or 450 for an empty directory on some servers).
   * @throws {ProtocolError} `"LISTING_TOO_LARGE"` or `"LINE_TOO_LONG"`.
   */
  async nlst(path?: string, options?: FtpCommandOptions): Promise<string[]> {
    options ??= {};
    if (path !== undefined) checkArgument(path, "NLST");
    const lines = await this.#listing(
      withPath("NLST", path),
      (stream) => this.#lines(stream),
      options,
    );
    return lines.filter((line) => line !== "");
  }

  // ---- transfers ----------------------------------------------------------

  /**
   * Downloads a file with `RETR` (RFC 959 §4.1.3): the body streams with
   * backpressure (the server is read only as fast as the body is), and
   * holds the connection until it is read to its end (the 226 reply is read
   * then) or cancelled. Cancelling closes the data connection, sends `ABOR`
   * and reads the replies, so the session stays usable. With `offset`, the
   * download resumes there (`REST`). A refusal after the data (426, 451)
   * errors the body; the session stays usable then too.
   *
   * @param path The file.
   * @param options Where to start, the type, the expected size, progress,
   *   a signal (it closes the connection) and a total timeout.
   * @returns The file's bytes.
   * @throws {FtpReplyError} When the server refuses `REST`, `RETR` or the
   *   data connection (425), with the session still usable.
   * @throws {ProtocolError} `"BAD_EPSV_REPLY"`, `"BAD_PASV_REPLY"`, or
   *   `"DATA_CONNECT_FAILED"`.
   * @throws {TypeError} For an empty path, CR, LF or NUL in it, or a bad offset.
   */
  async download(
    path: string,
    options?: FtpDownloadOptions,
  ): Promise<ReadableStream<Uint8Array>> {
    options ??= {};
    checkArgument(path, "RETR");
    const offset = checkOffset(options.offset);
    const type = options.type ?? "I";
    checkType(type);
    const onProgress = options.onProgress;
    return await this.#run(
      async (lease) => {
        const started = await this.#startTransfer(lease, `RETR ${path}`, type, offset);
        const hint = SIZE_HINT_REGEXP.exec(started.reply.lines.join(" "));
        const announced = hint === null ? null : Number(hint[1]);
        const total = options.size ??
          (announced !== null && Number.isSafeInteger(announced)
            ? Math.max(0, announced - (announced > offset ? offset : 0))
            : null);
        return this.#body(lease, started, total, onProgress);
      },
      options,
      true,
    );
  }

  /**
   * The mirror's download of a file the listing says is small: read into
   * one buffer of about the listed size, with no stream and no piece per
   * read (for many small files this is most of the client's work). A file
   * larger than `limit` bytes (the listing was wrong) is not held: the
   * bytes read so far come back as `head`, the rest as a stream that holds
   * the connection like {@linkcode FtpClient.download}'s.
   */
  async #retrieveSmall(
    path: string,
    expected: number,
    limit: number,
    options: FtpCommandOptions,
  ): Promise<FtpSmallFile> {
    checkArgument(path, "RETR");
    return await this.#run(
      async (lease) => {
        const command = `RETR ${path}`;
        const started = await this.#startTransfer(lease, command, "I", 0);
        const conn = started.conn;
        // One byte more than listed, so that the read finding the end has room.
        let buffer = new Uint8Array(Math.min(limit, Math.max(0, expected)) + 1);
        let length = 0;
        try {
          for (;;) {
            if (length === buffer.length) {
              if (length > limit) {
                return { head: buffer, rest: this.#body(lease, started, null, undefined) };
              }
              const grown = new Uint8Array(Math.min(limit + 1, buffer.length * 2));
              grown.set(buffer);
              buffer = grown;
            }
            const n = await readDataInto(conn, buffer.subarray(length));
            lease.touch();
            if (n === null) break;
            length += n;
          }
        } catch (error) {
          closeQuietly(conn);
          throw error;
        }
        // The read of the 226 starts first, so closing overlaps the wait.
        const final = started.final ? null : this.#reply(command, 2, true);
        closeQuietly(conn);
        if (final !== null) await final;
        // A listing that promised far more should not pin a large buffer.
        return {
          bytes: length < buffer.length / 2 ? buffer.slice(0, length) : buffer.subarray(0, length),
        };
      },
      options,
      true,
    );
  }

  /**
   * The body of a started download: a stream with backpressure holding the
   * lease until its end (then the 226 is read) or its cancel (then ABOR).
   */
  #body(
    lease: TextConnLease,
    started: StartedTransfer,
    total: number | null,
    onProgress: ((progress: FtpTransferProgress) => void) | undefined,
  ): ReadableStream<Uint8Array> {
    const { conn, command } = started;
    let loaded = 0;
    const moved = (n: number) => {
      lease.touch();
      if (n === 0) return;
      loaded += n;
      onProgress?.({ loaded, total, done: false });
    };
    const pieces = new FtpDataReader(conn);
    const source: ChunkSource = {
      read: async () => {
        const piece = await pieces.read();
        moved(piece?.length ?? 0);
        return piece;
      },
      // A BYOB reader gets the bytes in its own buffer: no copy, no allocation.
      readInto: async (buffer) => {
        const n = await readDataInto(conn, buffer);
        moved(n ?? 0);
        return n;
      },
      drain: () => this.#abortTransfer(conn),
    };
    return lease.stream(source, {
      onEnd: async () => {
        // The read of the 226 starts first, so closing overlaps the wait.
        const final = started.final ? null : this.#reply(command, 2, true);
        closeQuietly(conn);
        if (final !== null) await final;
        onProgress?.({ loaded, total, done: true });
      },
      intact: isIntactRefusal,
    });
  }

  /**
   * Downloads a text file in ASCII type and streams its lines without line
   * ends (ftplib's `retrlines`). Cancelling works as for
   * {@linkcode FtpClient.download}.
   *
   * @param path The file.
   * @param options Where to start, progress, a signal and a timeout.
   * @returns The lines, decoded as UTF-8 (or the client's `encoding`).
   * @throws {FtpReplyError} When the server refuses the transfer.
   * @throws {ProtocolError} `"LINE_TOO_LONG"` for a line over `maxListingLine` bytes.
   */
  async downloadLines(
    path: string,
    options?: Omit<FtpDownloadOptions, "type">,
  ): Promise<ReadableStream<string>> {
    options ??= {};
    const body = await this.download(path, { ...options, type: "A" });
    const decoder = new TextDecoder(this.#encoding);
    const max = this.#maxListingLine;
    let splitter: FtpLineSplitter | null = null;
    const reader = body.getReader();
    let pending: string[] = [];
    return new ReadableStream<string>({
      pull: async (controller) => {
        splitter ??= new FtpLineSplitter(Number.MAX_SAFE_INTEGER, max, decoder);
        while (pending.length === 0) {
          const { value, done } = await reader.read();
          if (done) {
            splitter.end((line) => pending.push(line));
            if (pending.length === 0) {
              controller.close();
              return;
            }
            break;
          }
          splitter.push(value, (line) => pending.push(line));
        }
        const lines = pending;
        pending = [];
        for (const line of lines) controller.enqueue(line);
      },
      cancel: (reason) => reader.cancel(reason),
    }, { highWaterMark: 0 });
  }

  /**
   * Uploads a file with `STOR` (or `APPE` with `append`; `REST` then `STOR`
   * with `offset` to resume, RFC 3659 §5.4) from a stream, bytes or text,
   * read only as fast as the server takes it. The end of the data is the
   * end of the file; the 226 reply is read before this resolves. When the
   * source fails, the transfer is aborted with `ABOR` (the server may keep
   * what arrived) and the source's error is thrown; the session stays
   * usable.
   *
   * @param path The remote file.
   * @param source What to send.
   * @param options Append or resume, the type, the size for progress,
   *   progress, a signal (it closes the connection) and a total timeout.
   * @returns The bytes sent and the final reply.
   * @throws {FtpReplyError} When the server refuses the command, the data
   *   connection, or the file (552 over quota, 451), with the session usable.
   * @throws {TypeError} For an empty path, CR, LF or NUL in it, or a bad offset.
   */
  async upload(
    path: string,
    source: FtpUploadSource,
    options?: FtpUploadOptions,
  ): Promise<FtpUploadResult> {
    options ??= {};
    const verb = options.append ? "APPE" : "STOR";
    try {
      checkArgument(path, verb);
      const offset = checkOffset(options.offset);
      if (offset > 0 && options.append) {
        throw new TypeError("Cannot upload: append and offset exclude each other");
      }
      const type = options.type ?? "I";
      checkType(type);
      if (
        !(source instanceof ReadableStream || source instanceof Uint8Array ||
          typeof source === "string")
      ) {
        throw new TypeError("Cannot upload: the source is not a stream, Uint8Array or string");
      }
      return await this.#run(
        async (lease) => {
          const command = `${verb} ${path}`;
          const started = await this.#startTransfer(lease, command, type, offset);
          const conn = started.conn;
          const total = options.size ??
            (typeof source === "string"
              ? encoder.encode(source).length
              : source instanceof Uint8Array
              ? source.length
              : null);
          let sent = 0;
          const ascii = type === "A" ? new FtpAsciiEncoder() : null;
          const progress = (done: boolean) => options.onProgress?.({ loaded: sent, total, done });
          const moved = (n: number) => {
            sent += n;
            lease.touch();
            progress(false);
          };
          const send = (bytes: Uint8Array) =>
            writeData(conn, ascii === null ? bytes : ascii.push(bytes), moved);
          try {
            await pump(source, send);
          } catch (error) {
            if (error instanceof SourceFailure) {
              if (!(await this.#abortTransfer(conn))) this.#conn.close();
              throw new InStep(error.error);
            }
            // The data connection broke: the server usually says why.
            closeQuietly(conn);
            if (!started.final) await this.#reply(command, 2, true);
            throw error;
          }
          await finishData(conn);
          const reply = started.final ? started.reply : await this.#reply(command, 2, true);
          progress(true);
          return { size: sent, reply };
        },
        options,
        true,
      );
    } catch (error) {
      // A stream that was never read is the caller's no longer: cancel it.
      if (source instanceof ReadableStream && !source.locked) {
        await source.cancel(error).catch(() => {});
      }
      throw error;
    }
  }

  // ---- mirroring ----------------------------------------------------------

  /**
   * Makes sure a remote directory exists, creating each missing level with
   * `MKD` (`mkdir -p`). The working directory is left as it was.
   *
   * @param path The directory, absolute or relative.
   * @param options A signal and a timeout per command.
   * @returns The directory's absolute path, as `PWD` reports it.
   * @throws {FtpReplyError} When a level can neither be entered nor created.
   */
  async ensureDir(path: string, options?: FtpCommandOptions): Promise<string> {
    options ??= {};
    checkArgument(path, "MKD");
    return await ensureFtpDir(this, path, options);
  }

  /**
   * Uploads a local directory tree into a remote directory (created when
   * missing), file by file. Symlinks and special files are skipped.
   *
   * @param localDir The local directory.
   * @param remoteDir The remote directory.
   * @param options Progress per file, a signal and a timeout per command.
   * @returns The files and directories copied and the bytes sent.
   * @throws {FtpReplyError} When the server refuses a directory or a file.
   */
  async uploadDir(
    localDir: string,
    remoteDir: string,
    options?: FtpUploadDirOptions,
  ): Promise<FtpMirrorResult> {
    options ??= {};
    checkArgument(remoteDir, "MKD");
    return await uploadFtpDir(this, localDir, remoteDir, options);
  }

  /**
   * Downloads a remote directory tree into a local directory (created when
   * missing). Every name in every listing is checked first: a name that is
   * not one plain path segment (`../x`, `/etc/x`, `C:x`, `..`) stops the
   * mirror with an error before anything is written for that directory.
   * Symlinks and special entries are skipped. Per file only `EPSV` (or
   * `PASV`) and `RETR` are sent, each after the reply before it (RFC 959
   * §5.4); files listed at up to 1 MiB are read whole and written while the
   * next one transfers, and one that turns out larger than listed goes to
   * its file as it comes, so memory stays bounded whatever the listing says.
   *
   * @param remoteDir The remote directory.
   * @param localDir The local directory.
   * @param options Depth cap, progress per file, a signal and a timeout per command.
   * @returns The files and directories copied and the bytes received.
   * @throws {ProtocolError} `"UNSAFE_LISTING_NAME"` for a hostile name.
   * @throws {FtpReplyError} When the server refuses a listing or a file.
   */
  async downloadDir(
    remoteDir: string,
    localDir: string,
    options?: FtpDownloadDirOptions,
  ): Promise<FtpMirrorResult> {
    options ??= {};
    checkArgument(remoteDir, "LIST");
    return await downloadFtpDir(
      this,
      remoteDir,
      localDir,
      options,
      (path, expected, limit, opts) => this.#retrieveSmall(path, expected, limit, opts),
    );
  }

  // ---- ending -------------------------------------------------------------

  /**
   * Says `QUIT` (RFC 959 §4.1.1), reads the reply and closes the
   * connection. A server that hangs up without replying is not an error.
   *
   * @param options A signal and a timeout.
   * @returns The 221 reply, or `null` when the server just closed.
   */
  async quit(options?: FtpCommandOptions): Promise<NumericReply | null> {
    options ??= {};
    const busy = this.#conn.busy;
    try {
      return await this.#run(async () => {
        await this.#write({ text: "QUIT" });
        try {
          return await this.#reply("QUIT", null);
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

  /**
   * Says QUIT when the connection is idle, then closes it without waiting
   * for the 221 (use {@linkcode FtpClient.quit} for that): the reply tells
   * nothing a client needs once the last transfer's 226 is read, and some
   * servers send it only after work of their own (vsftpd closes an
   * uploaded file first, about 0.4 s after 1 GiB here).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#conn.closed) return;
    if (!this.#conn.busy) {
      try {
        await this.#run(() => this.#write({ text: "QUIT" }), { timeout: 1000 });
      } catch {
        // closing anyway
      }
    }
    this.close();
  }

  // ---- internals ----------------------------------------------------------

  async #run<T>(
    fn: (lease: TextConnLease) => Promise<T>,
    options: FtpCommandOptions,
    transfer = false,
  ): Promise<T> {
    let started = false;
    try {
      return await this.#conn.run(
        async (lease) => {
          started = true;
          if (this.#greeting === null) await this.#readGreeting();
          return await fn(lease);
        },
        transfer
          ? { signal: options.signal, timeout: options.timeout, idleTimeout: this.#dataTimeout }
          : { signal: options.signal, timeout: options.timeout ?? this.#timeout },
      );
    } catch (error) {
      if (error instanceof InStep) throw error.error;
      // A refusal leaves the session usable; anything else (a broken reply,
      // an I/O error, an abort) leaves it in an unknown state. 421 means
      // the server is closing.
      const keep = !started || error instanceof TypeError || error instanceof RangeError ||
        isIntactRefusal(error) ||
        error instanceof MissingExtensionError ||
        error instanceof ProtocolError && SESSION_INTACT_CODES.has(error.code);
      if (!keep) this.#conn.close();
      throw error;
    }
  }

  async #readGreeting(): Promise<void> {
    const refused = (code: number, lines: string[]) =>
      new FtpReplyError(code, lines, {
        message: `Cannot start FTP session: server replied ${code} ${lines.join(" ").trim()}`,
      });
    let reply: NumericReply;
    try {
      reply = await this.#reply("greeting", null);
      // 120: "service ready in nnn minutes", then the real greeting (RFC 959 §5.4).
      for (let i = 0; reply.code < 200 && i < 10; i++) reply = await this.#reply("greeting", null);
    } catch (error) {
      if (error instanceof FtpReplyError) throw refused(error.code, error.lines);
      throw error;
    }
    if (reply.code !== 220) throw refused(reply.code, reply.lines);
    this.#greeting = reply.lines;
  }

  async #feat(): Promise<ReadonlyMap<string, string>> {
    const reply = await this.#command({ text: "FEAT" }, null);
    if (reply.code === 211) {
      this.#features = parseFtpFeatReply(reply.lines);
    } else if (reply.code === 500 || reply.code === 502) {
      this.#features = new Map();
    } else {
      throw new FtpReplyError(reply.code, reply.lines, { command: "FEAT" });
    }
    return this.#features;
  }

  /** `PBSZ 0` and `PROT P` (RFC 4217 §8, §9): data connections in TLS too. */
  async #protect(): Promise<void> {
    if (!this.#protectData || this.#dataTls) return;
    try {
      await this.#command({ text: "PBSZ 0" }, 2);
      await this.#command({ text: "PROT P" }, 2);
      this.#dataTls = true;
    } catch (error) {
      if (this.#requireTls || !(error instanceof FtpReplyError)) throw error;
      this.#log(`(data connections stay in clear: ${error.message})`);
    }
  }

  #mayShowSecret(): boolean {
    if (this.#conn.tls || this.#allowInsecureAuth) return true;
    return isLoopbackPeer(this.#conn.conn, this.#serverName);
  }

  async #ensureType(type: FtpTransferType): Promise<void> {
    if (this.#type === type) return;
    await this.#command({ text: `TYPE ${type}` }, 2);
    this.#type = type;
  }

  #listingCaps(): { maxListingSize: number; maxLineLength: number; encoding: string } {
    return {
      maxListingSize: this.#maxListingSize,
      maxLineLength: this.#maxListingLine,
      encoding: this.#encoding,
    };
  }

  /** The lines of a data stream, with the listing caps. */
  async #lines(stream: ReadableStream<Uint8Array>): Promise<string[]> {
    const splitter = new FtpLineSplitter(
      this.#maxListingSize,
      this.#maxListingLine,
      new TextDecoder(this.#encoding),
    );
    const lines: string[] = [];
    const reader = stream.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        splitter.push(value, (line) => lines.push(line));
      }
      splitter.end((line) => lines.push(line));
      return lines;
    } catch (error) {
      await reader.cancel(error).catch(() => {});
      throw error;
    } finally {
      reader.releaseLock();
    }
  }

  /**
   * Runs a listing command: the data is read whole by `consume` inside one
   * command, then the final reply. On a cap the transfer is aborted and
   * the session kept.
   */
  async #listing<T>(
    command: string,
    consume: (stream: ReadableStream<Uint8Array>) => Promise<T>,
    options: FtpCommandOptions,
  ): Promise<T> {
    return await this.#run(
      async (lease) => {
        const started = await this.#startTransfer(lease, command, "A", 0);
        const conn = started.conn;
        const pieces = new FtpDataReader(conn);
        const stream = new ReadableStream<Uint8Array>({
          pull: async (controller) => {
            const piece = await pieces.read();
            if (piece === null) controller.close();
            else {
              lease.touch();
              controller.enqueue(piece);
            }
          },
          cancel: () => closeQuietly(conn),
        }, { highWaterMark: 0 });
        let result: T;
        try {
          result = await consume(stream);
        } catch (error) {
          if (
            error instanceof ProtocolError &&
            (error.code === "LISTING_TOO_LARGE" || error.code === "LINE_TOO_LONG")
          ) {
            if (!(await this.#abortTransfer(conn))) this.#conn.close();
            throw new InStep(error);
          }
          throw error;
        } finally {
          closeQuietly(conn);
        }
        if (!started.final) await this.#reply(command, 2, true);
        return result;
      },
      options,
      true,
    );
  }

  /**
   * Opens the data connection, sends `REST` and the transfer command, and
   * waits for the server's 1xx (or a refusal), completing the data
   * connection (accept, TLS) meanwhile.
   */
  async #startTransfer(
    lease: TextConnLease,
    command: string,
    type: FtpTransferType,
    offset: number,
  ): Promise<StartedTransfer> {
    await this.#ensureType(type);
    const pending = await this.#openData(lease);
    const onAbort = () => pending.close();
    lease.signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (offset > 0) await this.#command({ text: `REST ${offset}` }, 350);
      await this.#write({ text: command });
      const establishing = pending.establish(lease.signal);
      establishing.catch(() => {});
      const reply = await this.#reply(command, null, true);
      if (reply.code >= 300) {
        pending.close();
        throw transferRefusal(reply, command, this.#dataTls);
      }
      let conn: Deno.Conn;
      try {
        conn = await establishing;
      } catch (error) {
        if (lease.signal.aborted) throw lease.signal.reason;
        // The server took the command but the data connection failed: its
        // verdict comes on the control connection.
        if (reply.code >= 200) throw error;
        const verdict = await this.#reply(command, null, true);
        if (verdict.code >= 400) {
          throw transferRefusal(verdict, command, this.#dataTls, error);
        }
        throw error;
      }
      lease.signal.addEventListener("abort", () => closeQuietly(conn), { once: true });
      return { conn, reply, final: reply.code >= 200, command };
    } catch (error) {
      pending.close();
      throw error;
    } finally {
      lease.signal.removeEventListener("abort", onAbort);
    }
  }

  /** Passive (`EPSV`, then `PASV`) or active (`EPRT`, then `PORT`) set-up. */
  async #openData(lease: TextConnLease): Promise<FtpPendingData> {
    const tls: FtpDataTls | null = this.#dataTls
      ? { hostname: this.#serverName ?? this.#peerHost() ?? "localhost", caCerts: this.#caCerts }
      : null;
    if (!this.#passive) return await this.#openActive(tls);
    let port: number | undefined;
    let host: string | undefined;
    if (this.#epsv) {
      const reply = await this.#command({ text: "EPSV" }, null);
      if (reply.code === 229) {
        port = parseFtpEpsvReply(reply.lines.join(" "));
        host = this.#dataHost(null);
      } else if (NOT_IMPLEMENTED.has(reply.code)) {
        this.#epsv = false;
      } else {
        throw new FtpReplyError(reply.code, reply.lines, { command: "EPSV" });
      }
    }
    if (port === undefined) {
      const reply = await this.#command({ text: "PASV" }, 227);
      const address = parseFtpPasvReply(reply.lines.join(" "));
      host = this.#dataHost(address.hostname);
      port = address.port;
    }
    return await connectPassive(host!, port, { tls, signal: lease.signal });
  }

  async #openActive(tls: FtpDataTls | null): Promise<FtpPendingData> {
    const local = this.#activeAddress ?? localNetAddr(this.#conn.conn)?.hostname;
    if (local === undefined) {
      throw new TypeError(
        "Cannot use active mode: the connection has no local address (set activeAddress)",
      );
    }
    const active = listenActive(local, this.#peerHost(), { tls });
    try {
      const address = { hostname: active.hostname, port: active.port };
      let done = false;
      if (this.#eprt) {
        const reply = await this.#command({ text: `EPRT ${formatFtpEprtArgument(address)}` }, null);
        if (reply.code >= 200 && reply.code < 300) done = true;
        else if (NOT_IMPLEMENTED.has(reply.code)) this.#eprt = false;
        else throw new FtpReplyError(reply.code, reply.lines, { command: "EPRT" });
      }
      if (!done) await this.#command({ text: `PORT ${formatFtpPortArgument(address)}` }, 2);
      return active.pending;
    } catch (error) {
      active.pending.close();
      throw error;
    }
  }

  #peerHost(): string | null {
    return remoteNetAddr(this.#conn.conn)?.hostname ?? null;
  }

  /** Where to dial for passive data: the control peer, unless told to trust the 227 address. */
  #dataHost(pasvHost: string | null): string {
    if (pasvHost !== null && this.#trustPasvAddress) return pasvHost;
    const peer = this.#peerHost() ?? this.#serverName;
    if (peer === undefined) {
      throw new TypeError(
        "Cannot open data connection: the control connection has no address (set serverName)",
      );
    }
    return peer;
  }

  /**
   * Abandons a transfer and brings the control connection back in step:
   * the data connection is closed, `ABOR` (RFC 959 §4.1.3) and `PWD` are
   * sent, and replies are read up to PWD's 257. Whatever the server says
   * in between (the transfer's 226 or 426, ABOR's 225 or 226, or 502 for no
   * ABOR) is dropped: the 257 is the sign that everything is read.
   *
   * @returns Whether the connection is in step.
   */
  async #abortTransfer(conn: Deno.Conn): Promise<boolean> {
    closeQuietly(conn);
    try {
      await this.#write({ text: "ABOR" }, { text: "PWD" });
      for (let i = 0; i < MAX_ABORT_REPLIES; i++) {
        const reply = await this.#reply("ABOR", null);
        if (reply.code === 257) return true;
      }
    } catch {
      // the connection is closed below
    }
    return false;
  }

  /** Sends one command line and reads its reply. */
  async #command(line: Line, expect: number | null): Promise<NumericReply> {
    await this.#write(line);
    let reply = await this.#reply(line.shown ?? line.text, expect);
    // Only transfers have preliminary replies; skip stray ones (bounded).
    for (let i = 0; reply.code < 200 && i < 10; i++) {
      reply = await this.#reply(line.shown ?? line.text, expect);
    }
    return reply;
  }

  /** Writes command lines in one write. */
  async #write(...lines: Line[]): Promise<void> {
    for (const line of lines) assertLineSafe(line.text, "FTP command");
    if (this.#debug !== undefined) {
      for (const line of lines) this.#log(`C: ${line.shown ?? line.text}`);
    }
    await this.#conn.writer.write(encoder.encode(lines.map((l) => l.text + "\r\n").join("")));
  }

  /**
   * Reads one reply. With `expect`, another code throws an
   * {@linkcode FtpReplyError} naming `command`; a 421 always does.
   */
  async #reply(command: string, expect: number | null, transfer = false): Promise<NumericReply> {
    const reply = await readReply(this.#conn.reader, {
      maxLineLength: this.#maxReplySize,
      maxReplySize: this.#maxReplySize,
      maxLines: 16384,
      lenientContinuation: true,
    });
    this.#logReply(reply);
    if (reply.code === 421) {
      throw new FtpReplyError(reply.code, reply.lines, { command });
    }
    if (expect !== null && !codeMatches(reply.code, expect)) {
      throw transfer
        ? transferRefusal(reply, command, this.#dataTls)
        : new FtpReplyError(reply.code, reply.lines, { command });
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

/** Feeds a source to `send`; a failure of the source itself is wrapped in {@linkcode SourceFailure}. */
async function pump(
  source: FtpUploadSource,
  send: (bytes: Uint8Array) => Promise<void>,
): Promise<void> {
  if (!(source instanceof ReadableStream)) {
    const bytes = typeof source === "string" ? encoder.encode(source) : source;
    for (let at = 0; at < bytes.length; at += UPLOAD_CHUNK) {
      await send(bytes.subarray(at, at + UPLOAD_CHUNK));
    }
    return;
  }
  // A byte stream (a file's, a socket's) is read into two buffers used again and again.
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = source.getReader({ mode: "byob" });
  } catch {
    byob = null;
  }
  if (byob !== null) {
    const reader = byob;
    // Two buffers: the next piece is read while the current one is sent.
    // They start small and double while reads fill them, so a small file
    // costs a small buffer and a large one few large reads.
    let size = FIRST_UPLOAD_CHUNK;
    let spare: ArrayBuffer | null = null;
    const read = (buffer: ArrayBuffer) =>
      reader.read(new Uint8Array(buffer)).catch((error) => {
        throw new SourceFailure(error);
      });
    let ahead = read(new ArrayBuffer(size));
    ahead.catch(() => {});
    try {
      for (;;) {
        const next = await ahead;
        if (next.done) return;
        const used = next.value.buffer as ArrayBuffer;
        if (next.value.length === used.byteLength && size < UPLOAD_CHUNK) {
          size = Math.min(UPLOAD_CHUNK, size * 2);
        }
        ahead = read(spare?.byteLength === size ? spare : new ArrayBuffer(size));
        ahead.catch(() => {});
        await send(next.value);
        spare = used.byteLength === size ? used : null;
      }
    } catch (error) {
      await reader.cancel(error instanceof SourceFailure ? error.error : error).catch(() => {});
      throw error;
    } finally {
      await ahead.catch(() => {});
      reader.releaseLock();
    }
  }
  const reader = source.getReader();
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (error) {
        throw new SourceFailure(error);
      }
      if (next.done) return;
      if (!(next.value instanceof Uint8Array)) {
        throw new SourceFailure(
          new TypeError("Cannot upload: the source stream gave a chunk that is not a Uint8Array"),
        );
      }
      await send(next.value);
    }
  } catch (error) {
    await reader.cancel(error instanceof SourceFailure ? error.error : error).catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}

/** A refusal read in full: the control connection is in step (421 excepted). */
function isIntactRefusal(error: unknown): boolean {
  return error instanceof FtpReplyError && error.code !== 421;
}

/**
 * The error for a refused transfer. A refused TLS data connection gets a
 * message that names the cause: servers that insist on TLS session reuse
 * (vsftpd `require_ssl_reuse=YES`, FileZilla Server) cannot be served,
 * because Deno's TLS does not resume sessions.
 */
function transferRefusal(
  reply: NumericReply,
  command: string,
  tls: boolean,
  cause?: unknown,
): FtpReplyError {
  const text = reply.lines.map((l) => l.trim()).join(" ").trim();
  let message: string | undefined;
  if (tls && /reuse|resum/i.test(text)) {
    message =
      `Cannot ${command}: the server refused the TLS data connection (${reply.code} ${text}): ` +
      "it requires TLS session reuse, which Deno's TLS cannot do; ask for it to be turned off " +
      '(vsftpd: require_ssl_reuse=NO; FileZilla Server: disable "Require TLS session resumption")';
  } else if (cause !== undefined) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    message =
      `Cannot ${command}: the data connection failed (${reason}); server replied ${reply.code} ${text}`;
  }
  return new FtpReplyError(reply.code, reply.lines, { command, message, cause });
}

function withPath(verb: string, path: string | undefined): string {
  return path === undefined ? verb : `${verb} ${path}`;
}

function checkArgument(text: string, what: string, mayBeEmpty = false): void {
  if (typeof text !== "string") throw new TypeError(`Cannot send ${what}: not a string`);
  if (!mayBeEmpty && text === "") throw new TypeError(`Cannot send ${what}: the argument is empty`);
  assertLineSafe(text, what);
}

function checkType(type: string): void {
  if (type !== "A" && type !== "I") {
    throw new TypeError(`Cannot transfer: type ${JSON.stringify(type)} is not "A" or "I"`);
  }
}

function checkOffset(offset: number | undefined): number {
  if (offset === undefined) return 0;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new TypeError(`Cannot transfer: offset ${offset} is not an integer >= 0`);
  }
  return offset;
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot create FTP client: ${name} ${value} is not a positive number`);
  }
  return value;
}
