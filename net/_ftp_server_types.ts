/**
 * The types of the FTP server, defined apart so that the session, the
 * command table, the data connections and the file system backend can use
 * them without importing `ftp_server.ts` (which imports them);
 * `ftp_server.ts` re-exports the public ones.
 *
 * @module
 */

/** What the server knows of a connection that tries to log in. */
export interface FtpServerLoginInfo {
  /** The client's address. */
  remoteAddr: Deno.NetAddr;
  /** Whether the control connection is TLS at this point. */
  tls: boolean;
}

/** One user of {@linkcode FtpServerOptions.users}. */
export interface FtpServerUser {
  /** The user name (`USER`), compared exactly. */
  user: string;
  /** The password (`PASS`), compared in constant time. */
  password: string;
  /**
   * Whether this user may change files (`STOR`, `APPE`, `DELE`, `MKD`,
   * `RMD`, `RNFR`/`RNTO`).
   *
   * @default {FtpServerOptions.write}
   */
  write?: boolean;
}

/**
 * One entry of a {@linkcode FtpFileSystem}: a regular file or a directory.
 * Symlinks are resolved by the backend (an entry whose target is outside
 * the root, or missing, is not listed and cannot be opened).
 */
export interface FtpFileStat {
  /** The base name (for `stat` of the root: `"/"`). */
  name: string;
  /** What the entry is. */
  type: "file" | "directory";
  /** The size in bytes (0 for directories when unknown). */
  size: number;
  /** The modification time. */
  modified: Date;
  /**
   * The Unix permission bits (`0o644`), shown by `LIST`.
   *
   * @default {0o644 for files, 0o755 for directories}
   */
  mode?: number;
  /**
   * A stable identifier of the file across names (device and inode), the
   * MLSx `unique` fact (RFC 3659 §7.5.2).
   */
  unique?: string;
}

/** A file opened for reading by {@linkcode FtpFileSystem.openRead}. */
export interface FtpFileReader {
  /**
   * Reads up to `p.length` bytes into `p`.
   *
   * @returns The number of bytes read, or `null` at the end of the file.
   */
  read(p: Uint8Array): Promise<number | null>;
  /** Releases the file; called once, also after an error or an abort. */
  close(): void;
}

/** How {@linkcode FtpFileSystem.openWrite} opens a file. */
export interface FtpOpenWriteOptions {
  /**
   * `"replace"` (`STOR`): the file is replaced by the uploaded bytes, and
   * only when {@linkcode FtpFileWriter.commit} is called: an aborted upload
   * must leave no half-written file under the final name. `"append"`
   * (`APPE`): bytes go to the end of the file itself, which is created if
   * missing. `"offset"` (`REST n` then `STOR`): bytes go to the file itself
   * from `offset` on (a resumed upload), the bytes before it kept.
   */
  mode: "replace" | "append" | "offset";
  /**
   * Where writing starts in `"offset"` mode; never beyond the current size
   * (the server checks).
   *
   * @default {0}
   */
  offset?: number;
}

/** A file opened for writing by {@linkcode FtpFileSystem.openWrite}. */
export interface FtpFileWriter {
  /**
   * Writes all of `p`. The server reuses the buffer after the promise
   * settles, so keep a copy if the bytes are needed later.
   */
  write(p: Uint8Array): Promise<void>;
  /** The upload is complete: make it visible under its name and release the file. */
  commit(): Promise<void>;
  /**
   * The upload failed or was aborted: release the file. In `"replace"`
   * mode nothing may remain under the final name (the old file, if any,
   * stays as it was); in `"append"` and `"offset"` mode the bytes written
   * so far stay, so that the client can resume.
   */
  abort(): Promise<void>;
}

/**
 * Where an {@linkcode FtpServer} keeps its files. Paths are virtual,
 * absolute and normalised by the server (`/`, `/pub/hello.txt`: no `.`,
 * `..`, empty segments, backslashes, NUL, CR or LF), so a backend only maps
 * them to its store. A backend reports failures with the `Deno.errors`
 * classes: `NotFound`, `AlreadyExists`, `PermissionDenied`,
 * `NotADirectory`, `IsADirectory`; the server answers `550` for those and
 * `451` for anything else, and never shows the error's text to the client.
 * The default backend is {@linkcode FtpDirectoryFileSystem}.
 */
export interface FtpFileSystem {
  /**
   * Describes one path.
   *
   * @returns The entry, or `null` when nothing (reachable) is there.
   */
  stat(path: string): Promise<FtpFileStat | null>;
  /**
   * Lists a directory, in a stable order (by name). Entries that cannot be
   * served are left out.
   *
   * @throws {Deno.errors.NotFound} If there is no such directory.
   * @throws {Deno.errors.NotADirectory} If the path is a file.
   */
  list(path: string): AsyncIterable<FtpFileStat>;
  /**
   * Opens a regular file for reading from `offset` on.
   *
   * @throws {Deno.errors.NotFound} If there is no such file.
   * @throws {Deno.errors.IsADirectory} If the path is a directory.
   */
  openRead(path: string, offset: number): Promise<FtpFileReader>;
  /**
   * Opens a file for writing (see {@linkcode FtpOpenWriteOptions.mode}).
   *
   * @throws {Deno.errors.NotFound} If the parent directory does not exist.
   * @throws {Deno.errors.IsADirectory} If the path is a directory.
   */
  openWrite(path: string, options: FtpOpenWriteOptions): Promise<FtpFileWriter>;
  /** Creates a directory (its parent must exist). */
  mkdir(path: string): Promise<void>;
  /** Removes an empty directory. */
  rmdir(path: string): Promise<void>;
  /** Removes a file. */
  remove(path: string): Promise<void>;
  /** Renames a file or directory; an existing file at `to` is replaced. */
  rename(from: string, to: string): Promise<void>;
}

/** Options for {@linkcode FtpServer}. */
export interface FtpServerOptions {
  /**
   * The address to listen on. Passive data connections listen on the
   * address each client reached.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The control port; 0 picks a free one (see `addr`).
   *
   * @default {0}
   */
  port?: number;
  /**
   * The directory to serve (with {@linkcode FtpDirectoryFileSystem}). One
   * of `root` and `fileSystem` is needed.
   */
  root?: string;
  /** Another backing store instead of `root`. */
  fileSystem?: FtpFileSystem;
  /** Users and passwords. */
  users?: readonly FtpServerUser[];
  /**
   * Checks a user name and password not found in `users`; a rejection
   * counts as a wrong password.
   */
  verify?: (user: string, password: string, info: FtpServerLoginInfo) => boolean | Promise<boolean>;
  /**
   * Let `anonymous` (and `ftp`) log in with any password (their e-mail
   * address by convention).
   *
   * @default {false}
   */
  anonymous?: boolean;
  /**
   * Let logged-in users change files: `STOR`, `APPE`, `DELE`, `MKD`, `RMD`,
   * `RNFR`/`RNTO` (a user's own `write` overrides it). Without it, those
   * are refused with `550`.
   *
   * @default {false}
   */
  write?: boolean;
  /**
   * A PEM certificate chain: with `key`, `AUTH TLS` (explicit FTPS, RFC
   * 4217) is offered and `PROT P` data connections are TLS.
   */
  cert?: string;
  /** The PEM private key for `cert`. */
  key?: string;
  /**
   * The highest TLS version of `PROT P` data connections (the control
   * connection always allows TLS 1.3). TLS 1.3 servers send session
   * tickets after the handshake, which an uploading client never reads:
   * curl and lftp then close the data connection with unread data, their
   * kernel resets it, and the end of the upload is lost (`426`; vsftpd
   * loses it the same way). TLS 1.2 sends nothing after the handshake.
   *
   * @default {"TLSv1.2"}
   */
  dataTlsMaxVersion?: "TLSv1.2" | "TLSv1.3";
  /**
   * Speak TLS from the first byte on the control connection (implicit
   * FTPS, the port-990 style); needs `cert` and `key`.
   *
   * @default {false}
   */
  implicitTls?: boolean;
  /**
   * Refuse to log in before `AUTH TLS` and to open data connections
   * without `PROT P`.
   *
   * @default {false}
   */
  requireTls?: boolean;
  /**
   * The ports passive data connections listen on, from-to inclusive
   * (a firewall's range); without it, the system picks one.
   */
  passivePorts?: readonly [number, number];
  /**
   * The greeting after `220`.
   *
   * @default {"inetkit FTP server ready"}
   */
  greeting?: string;
  /**
   * The most control connections at once; more are answered
   * `421 Too many connections` and closed.
   *
   * @default {256}
   */
  maxConnections?: number;
  /**
   * The most control connections from one address at once.
   *
   * @default {16}
   */
  maxConnectionsPerAddress?: number;
  /**
   * Milliseconds a control connection may stay idle (no command, no
   * transfer) before `421 Timeout` and close; 0 for none.
   *
   * @default {300000}
   */
  idleTimeout?: number;
  /**
   * Milliseconds a data transfer may go without a byte moving before
   * `421` and close; 0 for none.
   *
   * @default {60000}
   */
  dataTimeout?: number;
  /**
   * Milliseconds to wait for the client's passive data connection (or to
   * connect to its active one) before `425`.
   *
   * @default {30000}
   */
  connectTimeout?: number;
  /**
   * The longest command line in bytes; a longer one is answered `500` and
   * the connection closed.
   *
   * @default {4096}
   */
  maxLineLength?: number;
  /**
   * Milliseconds to wait before answering a wrong password.
   *
   * @default {1000}
   */
  failureDelay?: number;
  /**
   * Wrong passwords a connection may send; the last one is answered and
   * the connection closed.
   *
   * @default {3}
   */
  maxLoginFailures?: number;
  /**
   * The buffer size of file transfers in bytes.
   *
   * @default {262144}
   */
  bufferSize?: number;
  /**
   * The most bytes one upload (`STOR`, `APPE`) may write; a larger one is
   * cut off with `552` (and, for `STOR`, leaves nothing behind).
   *
   * @default {Infinity}
   */
  maxUploadSize?: number;
  /**
   * Receives one line per login and per command that transfers or changes
   * something: `127.0.0.1 mulder [14/Nov/2023:22:13:20 +0000] "RETR
   * /pub/hello.txt" 226 13`, control characters escaped; passwords are never
   * logged.
   */
  accessLog?: (line: string) => void;
  /**
   * Receives unexpected errors (a backend's failure, a handler bug); the
   * client only sees `451`.
   *
   * @default {logs to console.error}
   */
  onError?: (error: unknown) => void;
  /** Aborting it shuts the server down (see {@linkcode FtpServer.shutdown}). */
  signal?: AbortSignal;
}
