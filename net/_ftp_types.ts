/**
 * The types of FTP listings, defined apart so the listing engine can use
 * them without importing `ftp_list.ts` (which imports it); `ftp_list.ts`
 * re-exports them.
 *
 * @module
 */

/**
 * What a listing entry is. Devices, pipes, sockets and MLSx `OS.xxx` types
 * other than Unix symlinks are `"unknown"`.
 */
export type FtpFileType = "file" | "directory" | "symlink" | "unknown";

/**
 * The permissions of a listing entry, in the two forms servers send them.
 */
export interface FtpPermissions {
  /**
   * The Unix permission bits, `0o0000` to `0o7777` (setuid, setgid, sticky
   * and `rwx` for owner, group and others), from the `ls -l` mode string or
   * the MLSx `UNIX.mode` fact. The file type is not included: see `type`.
   */
  mode?: number;
  /**
   * The MLSx `perm` fact (RFC 3659 §7.5.5): what the logged-in user may do,
   * as letters such as `"adfrw"` (`a` append, `c` create, `d` delete, `e`
   * enter, `f` rename, `l` list, `m` make directory, `p` purge, `r` retrieve,
   * `w` store).
   */
  perm?: string;
}

/**
 * One entry of a directory listing, from `LIST` or `MLSD`/`MLST`. Fields the
 * server did not send are absent.
 */
export interface FtpFileInfo {
  /**
   * The name as the server sent it, spaces included. It is not checked:
   * use {@linkcode isSafeFtpListingName} before joining it to a local path.
   */
  name: string;
  /** What the entry is. */
  type: FtpFileType;
  /** The size in bytes (absent for devices and for sizes beyond 2^53). */
  size?: number;
  /**
   * The modification time. From MLSx it is exact (UTC, RFC 3659 §2.3); from
   * `LIST` it is approximate: minute or day precision, the year guessed for
   * recent files, and the server's time zone assumed (see
   * {@linkcode FtpListLineOptions.timeZone}).
   */
  modified?: Date;
  /** The permission bits and/or the MLSx `perm` letters. */
  permissions?: FtpPermissions;
  /** The target of a symlink, when the server shows it. */
  target?: string;
  /** The owner's name or numeric id. */
  owner?: string;
  /** The group's name or numeric id. */
  group?: string;
  /** All MLSx facts, names lower-cased (`type`, `size`, `modify`, `unix.mode`...). */
  facts?: Record<string, string>;
  /** The line the entry was parsed from, without its line end. */
  raw: string;
}

/** Options for reading one `LIST` line. */
export interface FtpListLineOptions {
  /**
   * The reference time for the year of `Mon DD HH:MM` dates, which have
   * none: the latest year that puts the date not more than about six months
   * (183 days) after `now`, as `ls` prints the time only for recent files.
   * Also the reference for two-digit DOS years (the year within 80 years
   * before and 19 after it).
   *
   * @default {new Date()}
   */
  now?: Date;
  /**
   * The time zone the server lists in: `"UTC"`, a fixed offset such as
   * `"+02:00"`, or an IANA name such as `"Europe/Berlin"`. vsftpd lists in
   * UTC unless configured with `use_localtime=YES`; ProFTPD, Pure-FTPd and
   * IIS list in the server's local time, which the client cannot know. For
   * exact times use `MLSD` or `MDTM`.
   *
   * @default {"UTC"}
   */
  timeZone?: string;
}

/** Options shared by the listing parsers: caps, encoding and filtering. */
export interface FtpListingOptions {
  /**
   * Keep the `.` and `..` entries (and the MLSx `cdir`/`pdir` entries).
   *
   * @default {false}
   */
  includeCurrentAndParent?: boolean;
  /**
   * The most bytes a listing may hold. A larger one throws, never truncates.
   *
   * @default {41943040}
   */
  maxListingSize?: number;
  /**
   * The most bytes in one line, not counting its line end.
   *
   * @default {65536}
   */
  maxLineLength?: number;
  /**
   * How to decode byte input: an ASCII-compatible encoding label for
   * `TextDecoder`. RFC 2640 servers send UTF-8; old ones may send
   * `"latin1"`. Invalid bytes become U+FFFD.
   *
   * @default {"utf-8"}
   */
  encoding?: string;
}

/** Options for {@linkcode parseFtpList}. */
export interface FtpListOptions extends FtpListLineOptions, FtpListingOptions {}

/** A parsed listing. */
export interface FtpListing {
  /** The entries, in the server's order. */
  entries: FtpFileInfo[];
  /**
   * How many lines were neither an entry nor a known non-entry (a blank
   * line, `total 12`): lines in a format the parser does not know.
   */
  skipped: number;
}
