/**
 * What the FTP server's command table sees of a session, defined apart so
 * that the command table and the session do not import each other.
 *
 * @module
 */
import type { FtpDataChannel, FtpDataConnections } from "./_ftp_server_data.ts";
import type { FtpFileSystem, FtpServerLoginInfo, FtpServerUser } from "./_ftp_server_types.ts";

/** The server's options, checked and with their defaults. */
export interface FtpServerSettings {
  fileSystem: FtpFileSystem;
  users: ReadonlyMap<string, FtpServerUser>;
  verify:
    | ((user: string, password: string, info: FtpServerLoginInfo) => boolean | Promise<boolean>)
    | null;
  anonymous: boolean;
  write: boolean;
  tls: { cert: string; key: string } | null;
  dataTlsMaxVersion: "TLSv1.2" | "TLSv1.3";
  implicitTls: boolean;
  requireTls: boolean;
  passivePorts: readonly [number, number] | undefined;
  greeting: string;
  idleTimeout: number;
  dataTimeout: number;
  connectTimeout: number;
  maxLineLength: number;
  failureDelay: number;
  maxLoginFailures: number;
  bufferSize: number;
  maxUploadSize: number;
  accessLog: ((line: string) => void) | null;
  onError: (error: unknown) => void;
}

/** The MLSx facts the server can send (RFC 3659 §7.5), lower-case. */
export const FTP_SERVER_FACTS = ["type", "size", "modify", "perm", "unique"] as const;

/** A transfer in progress, as a transfer body sees it. */
export interface FtpTransferControl {
  /** Aborted by `ABOR`, a timeout or the end of the session. */
  readonly signal: AbortSignal;
  /** Counts bytes moved (restarts the data timeout). */
  progress(bytes: number): void;
}

/** What a transfer command hands to {@linkcode FtpSessionContext.startTransfer}. */
export interface FtpTransferSpec {
  /** The command for the access log and `STAT`, such as `RETR /pub/x`. */
  command: string;
  /** The text of the `150` reply. */
  opening: string;
  /** Moves the bytes; resolves when done. */
  pump(channel: FtpDataChannel, control: FtpTransferControl): Promise<void>;
  /** After a complete transfer, before `226` (an upload's commit). */
  complete?(): Promise<void>;
  /** After a failed or aborted one (an upload's abort); also when the data connection never opened. */
  failed?(): Promise<void>;
  /**
   * Replaces the reply to an error of `pump` or `complete` (`552` for an
   * upload over the cap); `null` to use the default mapping.
   */
  errorReply?(error: unknown): [number, string] | null;
}

/** The session state and services the command table uses. */
export interface FtpSessionContext {
  readonly settings: FtpServerSettings;
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  readonly data: FtpDataConnections;
  /** Whether the control connection is TLS now. */
  readonly tls: boolean;
  /** Whether a transfer is running. */
  readonly transferring: boolean;
  /** The virtual working directory. */
  cwd: string;
  /** The logged-in user, or `null`. */
  user: string | null;
  /** The name given by `USER`, waiting for `PASS`. */
  pendingUser: string | null;
  /** Whether the user may change files. */
  writable: boolean;
  /** Wrong passwords so far. */
  failures: number;
  /** `TYPE`: ASCII (`"A"`) or image (`"I"`). */
  type: "A" | "I";
  /** The `REST` offset for the next transfer. */
  restart: number;
  /** The path named by `RNFR`, for the next command only. */
  renameFrom: string | null;
  /** Whether `PBSZ` was sent after TLS started. */
  pbsz: boolean;
  /** `PROT`: clear (`"C"`) or private (`"P"`) data connections. */
  prot: "C" | "P";
  /** Whether `EPSV ALL` was sent (then only EPSV may set up data connections). */
  epsvAll: boolean;
  /** The MLSx facts selected with `OPTS MLST`. */
  facts: Set<string>;
  /** Writes a three-digit reply (replies are written in order). */
  reply(code: number, lines: string | readonly string[]): Promise<void>;
  /** Writes preformatted reply text. */
  writeRaw(text: string): Promise<void>;
  /** Answers an error of the backend: `550` for the known `Deno.errors`, `451` otherwise. */
  replyError(error: unknown): Promise<void>;
  /** Writes an access-log line for a command that transferred or changed something. */
  log(command: string, code: number, bytes?: number): void;
  /** Starts a transfer in the background; the command loop keeps reading (`ABOR`, `STAT`). */
  startTransfer(spec: FtpTransferSpec): void;
  /** A line of `STAT` about the running transfer, or `null`. */
  transferStatus(): string | null;
  /** Answers `234` and starts TLS on the control connection. */
  startTls(): Promise<void>;
  /** Ends the session after the current command. */
  end(): void;
}
