/**
 * An FTP server (RFC 959) on {@linkcode TcpServer}: a directory or another
 * {@linkcode FtpFileSystem}, users and passwords, passive and active data
 * connections, explicit (RFC 4217) and implicit FTPS, UTF-8 names (RFC
 * 2640), MLSD/MLST, SIZE, MDTM and REST (RFC 3659).
 *
 * @module
 */
import { TcpServer, type TcpShutdownOptions } from "./tcp_server.ts";
import { writeAll } from "./_io.ts";
import type { FtpServerSettings } from "./_ftp_server_context.ts";
import { FtpDirectoryFileSystem } from "./_ftp_server_fs.ts";
import { FtpSession } from "./_ftp_server_session.ts";
import type { FtpServerOptions, FtpServerUser } from "./_ftp_server_types.ts";

export type {
  FtpFileReader,
  FtpFileStat,
  FtpFileSystem,
  FtpFileWriter,
  FtpOpenWriteOptions,
  FtpServerLoginInfo,
  FtpServerOptions,
  FtpServerUser,
} from "./_ftp_server_types.ts";
export { FtpDirectoryFileSystem, type FtpDirectoryFileSystemOptions } from "./_ftp_server_fs.ts";

const encoder = new TextEncoder();

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Cannot start FTP server: ${name} ${value} is not a positive integer`);
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot start FTP server: ${name} ${value} is not a non-negative number`);
  }
  return value;
}

function dataTlsMaxVersion(version: string | undefined): "TLSv1.2" | "TLSv1.3" {
  if (version === undefined || version === "TLSv1.2") return "TLSv1.2";
  if (version === "TLSv1.3") return version;
  throw new RangeError(
    `Cannot start FTP server: dataTlsMaxVersion ${
      JSON.stringify(version)
    } is not TLSv1.2 or TLSv1.3`,
  );
}

function settingsOf(options: FtpServerOptions): FtpServerSettings {
  if ((options.root === undefined) === (options.fileSystem === undefined)) {
    throw new TypeError("Cannot start FTP server: give exactly one of root and fileSystem");
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError("Cannot start FTP server: cert and key go together");
  }
  const tls = options.cert !== undefined && options.key !== undefined
    ? { cert: options.cert, key: options.key }
    : null;
  if (options.implicitTls && tls === null) {
    throw new TypeError("Cannot start FTP server: implicitTls needs cert and key");
  }
  if (options.requireTls && tls === null) {
    throw new TypeError("Cannot start FTP server: requireTls needs cert and key");
  }
  const range = options.passivePorts;
  if (range !== undefined) {
    const [from, to] = range;
    if (
      !Number.isInteger(from) || !Number.isInteger(to) || from < 1024 || to > 65535 || from > to
    ) {
      throw new RangeError(
        `Cannot start FTP server: passive ports ${from}-${to} are not a range within 1024-65535`,
      );
    }
  }
  const users = new Map<string, FtpServerUser>();
  for (const user of options.users ?? []) {
    if (typeof user.user !== "string" || typeof user.password !== "string" || user.user === "") {
      throw new TypeError("Cannot start FTP server: every user needs a name and a password");
    }
    users.set(user.user, user);
  }
  const maxUploadSize = options.maxUploadSize ?? Infinity;
  if (!(maxUploadSize >= 0)) {
    throw new RangeError(`Cannot start FTP server: maxUploadSize ${maxUploadSize} is negative`);
  }
  const greeting = options.greeting ?? "inetkit FTP server ready";
  if (/[\r\n\0]/.test(greeting)) {
    throw new TypeError("Cannot start FTP server: the greeting contains CR, LF or NUL");
  }
  return {
    fileSystem: options.fileSystem ?? new FtpDirectoryFileSystem(options.root!),
    users,
    verify: options.verify ?? null,
    anonymous: options.anonymous === true,
    write: options.write === true,
    tls,
    dataTlsMaxVersion: dataTlsMaxVersion(options.dataTlsMaxVersion),
    implicitTls: options.implicitTls === true,
    requireTls: options.requireTls === true,
    passivePorts: range,
    greeting,
    idleTimeout: nonNegative(options.idleTimeout ?? 300_000, "idleTimeout"),
    dataTimeout: nonNegative(options.dataTimeout ?? 60_000, "dataTimeout"),
    connectTimeout: positiveInteger(options.connectTimeout ?? 30_000, "connectTimeout"),
    maxLineLength: positiveInteger(options.maxLineLength ?? 4096, "maxLineLength"),
    failureDelay: nonNegative(options.failureDelay ?? 1000, "failureDelay"),
    maxLoginFailures: positiveInteger(options.maxLoginFailures ?? 3, "maxLoginFailures"),
    bufferSize: positiveInteger(options.bufferSize ?? 262144, "bufferSize"),
    maxUploadSize,
    accessLog: options.accessLog ?? null,
    onError: options.onError ?? ((error) => console.error("FtpServer:", error)),
  };
}

/**
 * An FTP server: one session per control connection on a
 * {@linkcode TcpServer}, serving a directory ({@linkcode FtpDirectoryFileSystem})
 * or any {@linkcode FtpFileSystem}.
 *
 * Security defaults: anonymous login off, read-only, every path resolved
 * inside the root (`..` above it, backslashes, NUL and symlinks that lead
 * out are refused), data connections only from (passive) or to (active)
 * the control connection's own address and never to ports below 1024 (no
 * FTP bounce, RFC 2577), command lines capped at 4 KiB, wrong passwords
 * delayed and counted, idle and stalled-transfer timeouts answered
 * `421`, caps on connections in all and per address answered `421`. An
 * aborted `STOR` leaves no half-written file under its final name.
 * Transfers stream in 256 KiB chunks with backpressure.
 *
 * Not supported: `STOU`, `SITE`, `ACCT`, `REIN`, `MODE B/C`, `STRU R/P`,
 * `TYPE E`, globs in `LIST`/`NLST` arguments, and TLS session reuse
 * between the control and data connections (servers that demand it are
 * the client's problem, not this server's; clients that demand it cannot
 * use `PROT P` here).
 *
 * @example Serving a directory to a client, read-only
 * ```ts
 * import { FtpServer } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const root = await Deno.makeTempDir();
 * await using server = new FtpServer({
 *   root,
 *   users: [{ user: "mulder", password: "trustno1" }],
 * });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const buf = new Uint8Array(1024);
 * const read = async () => new TextDecoder().decode(buf.subarray(0, (await conn.read(buf)) ?? 0));
 * const send = (line: string) => conn.write(new TextEncoder().encode(`${line}\r\n`));
 * assertEquals(await read(), "220 inetkit FTP server ready\r\n");
 * await send("USER mulder");
 * assertEquals(await read(), "331 Password required\r\n");
 * await send("PASS trustno1");
 * assertEquals(await read(), "230 Login successful\r\n");
 * await send("MKD x");
 * assertEquals(await read(), "550 Permission denied: the server is read-only\r\n");
 * await send("QUIT");
 * assertEquals(await read(), "221 Goodbye\r\n");
 * conn.close();
 * await Deno.remove(root);
 * ```
 */
export class FtpServer implements AsyncDisposable {
  #tcp: TcpServer;

  /**
   * Starts listening at once.
   *
   * @param options The files, users, TLS, limits and timeouts.
   * @throws {TypeError} Without exactly one of `root` and `fileSystem`, with
   *   `cert` but no `key` (or the reverse), with `implicitTls` or
   *   `requireTls` but no certificate, or with a user without a name.
   * @throws {RangeError} If a limit, timeout or the passive port range is out of range.
   * @throws {Deno.errors.AddrInUse} And the other listen errors.
   */
  constructor(options: FtpServerOptions) {
    const settings = settingsOf(options);
    const implicit = settings.implicitTls && settings.tls !== null ? settings.tls : null;
    this.#tcp = new TcpServer({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      cert: implicit?.cert,
      key: implicit?.key,
      maxConnections: options.maxConnections ?? 256,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 16,
      idleTimeout: settings.idleTimeout,
      signal: options.signal,
      onError: settings.onError,
      onOverload: async (conn, info) => {
        const text = info.reason === "address"
          ? "421 Too many connections from your address: try again later\r\n"
          : "421 Too many connections: try again later\r\n";
        await writeAll(conn, encoder.encode(text));
      },
    }, (conn, info) => new FtpSession(conn, info, settings).run());
  }

  /** The address the control connection listens on. */
  get addr(): Deno.NetAddr {
    return this.#tcp.addr;
  }

  /** The number of control connections being served. */
  get connections(): number {
    return this.#tcp.connections;
  }

  /** Settles when the server has shut down and every session has ended. */
  get finished(): Promise<void> {
    return this.#tcp.finished;
  }

  /**
   * Stops accepting; idle sessions are told `421` and closed, transfers in
   * progress may finish within `timeout`, then everything is closed.
   *
   * @param options The grace period.
   * @returns When every session has ended.
   */
  shutdown(options?: TcpShutdownOptions): Promise<void> {
    return this.#tcp.shutdown(options);
  }

  /** Shuts down with the default grace period. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
