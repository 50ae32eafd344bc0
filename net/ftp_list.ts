import {
  DEFAULT_MAX_LISTING_SIZE,
  FtpListingBuilder,
  listContext,
  listingTooLarge,
  parseListLine,
  parseMlsxEntry,
} from "./_ftp_listing.ts";
export type {
  FtpFileInfo,
  FtpFileType,
  FtpListing,
  FtpListingOptions,
  FtpListLineOptions,
  FtpListOptions,
  FtpPermissions,
} from "./_ftp_types.ts";
import type {
  FtpFileInfo,
  FtpListing,
  FtpListingOptions,
  FtpListLineOptions,
  FtpListOptions,
} from "./_ftp_types.ts";

/**
 * Parses one line of `LIST` output (RFC 959 leaves the format to the
 * server). Two families are read:
 *
 * - Unix `ls -l` (vsftpd, ProFTPD, Pure-FTPd, BusyBox and most others):
 *   mode with an optional ACL mark (`+`, `.`, `@`), links, owner, group
 *   (either may be numeric, the group may be missing), size or
 *   `major, minor` for devices, `Mon DD HH:MM` or `Mon DD YYYY` (or ISO
 *   `YYYY-MM-DD HH:MM`), and the name: everything after the single space
 *   that follows the date, leading spaces kept. Symlinks are split at the
 *   first ` -> `.
 * - DOS/IIS: `MM-DD-YY  HH:MMAM  <DIR>  name` or with a size; two- or
 *   four-digit years, 12- or 24-hour times. Names keep no leading spaces
 *   (the column padding hides them).
 *
 * Dates from `LIST` are approximate; see {@linkcode FtpFileInfo.modified}.
 *
 * @param line One line, without or with its CR.
 * @param options The reference time for the year and the server's time zone.
 * @returns The entry, or `null` for a line that is not an entry: blank,
 *   `total 12`, or a format the parser does not know.
 * @throws {RangeError} If `now` is invalid or the time zone is unknown.
 *
 * @example Reading a vsftpd line and a symlink
 * ```ts
 * import { parseFtpListLine } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const now = new Date("2026-12-03T12:00:00Z");
 * const file = parseFtpListLine(
 *   "-rw-r--r--    1 1001     1001           13 Nov 14  2023 hello.txt",
 *   { now },
 * );
 * assertEquals(file?.name, "hello.txt");
 * assertEquals(file?.size, 13);
 * assertEquals(file?.permissions?.mode, 0o644);
 * assertEquals(file?.modified?.toISOString(), "2023-11-14T00:00:00.000Z");
 *
 * const link = parseFtpListLine("lrwxrwxrwx 1 root root 7 Dec 01 09:30 bin -> usr/bin", { now });
 * assertEquals([link?.type, link?.name, link?.target], ["symlink", "bin", "usr/bin"]);
 * assertEquals(link?.modified?.toISOString(), "2026-12-01T09:30:00.000Z");
 * assertEquals(parseFtpListLine("total 12"), null);
 * ```
 *
 * @example Reading an IIS line
 * ```ts
 * import { parseFtpListLine } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const entry = parseFtpListLine("11-14-23  10:13PM       <DIR>          pub");
 * assertEquals(entry?.type, "directory");
 * assertEquals(entry?.modified?.toISOString(), "2023-11-14T22:13:00.000Z");
 * ```
 */
export function parseFtpListLine(
  line: string,
  options?: FtpListLineOptions,
): FtpFileInfo | null {
  options ??= {};
  const result = parseListLine(line, listContext(options));
  return result === "ignore" ? null : result;
}

/**
 * Parses a whole `LIST` listing (CR LF or LF line ends; the last line may
 * lack one). Lines in an unknown format are skipped and counted; `.` and
 * `..` are dropped unless asked for. The size and line caps apply to the
 * UTF-8 bytes of a string.
 *
 * @param text The listing, as text or as the bytes of the data connection.
 * @param options The `LIST` line options, the caps and the encoding.
 * @returns The entries and the number of skipped lines.
 * @throws {ProtocolError} `"LISTING_TOO_LARGE"` or `"LINE_TOO_LONG"`.
 * @throws {RangeError} For invalid options.
 *
 * @example Reading a vsftpd `LIST -la`
 * ```ts
 * import { parseFtpList } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const text = "drwxr-xr-x    4 1001     1001         4096 Nov 14  2023 .\r\n" +
 *   "drwxr-xr-x    2 1001     1001         4096 Nov 14  2023 pub\r\n" +
 *   "-rw-r--r--    1 1001     1001           35 Nov 14  2023 readme.txt\r\n" +
 *   "garbage\r\n";
 * const listing = parseFtpList(text);
 * assertEquals(listing.entries.map((e) => [e.name, e.type]), [
 *   ["pub", "directory"],
 *   ["readme.txt", "file"],
 * ]);
 * assertEquals(listing.skipped, 1);
 * ```
 */
export function parseFtpList(text: string | Uint8Array, options?: FtpListOptions): FtpListing {
  options ??= {};
  return build("list", text, options);
}

/**
 * Parses one MLSx entry (RFC 3659 §7.2): an `MLSD` data line or the entry
 * line of an `MLST` reply (which starts with one space). Facts are
 * `name=value;` pairs with case-insensitive names, then one space and the
 * name (any characters, spaces and semicolons included). The known facts
 * fill the fields: `type` (`file`, `dir`, `cdir`, `pdir`, `OS.unix=symlink`,
 * `OS.unix=slink:target`), `size` (or `sizd` for a directory), `modify`
 * (UTC), `perm`, `UNIX.mode`, `UNIX.owner`/`UNIX.ownername`/`UNIX.uid`,
 * `UNIX.group`/`UNIX.groupname`/`UNIX.gid`; all facts are kept in `facts`.
 * When a fact repeats, the first value counts.
 *
 * @param line The line, without or with its CR.
 * @returns The entry, or `null` for a blank or malformed line (no `; `
 *   before the name, a fact without `=`, an empty name).
 *
 * @example Reading an MLSD line
 * ```ts
 * import { parseMlsxLine } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const entry = parseMlsxLine("Type=file;Size=1830;Modify=19940916055648;Perm=r; hatch.c");
 * assertEquals(entry?.name, "hatch.c");
 * assertEquals(entry?.type, "file");
 * assertEquals(entry?.size, 1830);
 * assertEquals(entry?.modified?.toISOString(), "1994-09-16T05:56:48.000Z");
 * assertEquals(entry?.permissions, { perm: "r" });
 * assertEquals(entry?.facts?.perm, "r");
 * ```
 */
export function parseMlsxLine(line: string): FtpFileInfo | null {
  return parseMlsxEntry(line);
}

/**
 * Parses a whole `MLSD` listing (RFC 3659 §7). Malformed lines are skipped
 * and counted; the `cdir` and `pdir` entries (and entries named `.` or `..`)
 * are dropped unless asked for.
 *
 * @param text The listing, as text or bytes.
 * @param options The caps, the encoding and whether to keep `cdir`/`pdir`.
 * @returns The entries and the number of skipped lines.
 * @throws {ProtocolError} `"LISTING_TOO_LARGE"` or `"LINE_TOO_LONG"`.
 * @throws {RangeError} For invalid options.
 *
 * @example Reading an MLSD listing
 * ```ts
 * import { parseMlsd } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const text = "Type=cdir;Modify=19981107085215;Perm=el; tmp\r\n" +
 *   "Type=pdir;Modify=19990112030508;Perm=el; ..\r\n" +
 *   "Type=file;Size=25730;Modify=19940728095854;Perm=; capmux.tar.z\r\n";
 * const listing = parseMlsd(text);
 * assertEquals(listing.entries.map((e) => e.name), ["capmux.tar.z"]);
 * assertEquals(parseMlsd(text, { includeCurrentAndParent: true }).entries.length, 3);
 * ```
 */
export function parseMlsd(text: string | Uint8Array, options?: FtpListingOptions): FtpListing {
  options ??= {};
  return build("mlsd", text, options);
}

const encoder = new TextEncoder();

function build(
  format: "list" | "mlsd",
  text: string | Uint8Array,
  options: FtpListOptions,
): FtpListing {
  const builder = new FtpListingBuilder(format, options);
  if (typeof text === "string") {
    // A UTF-16 length above the cap means more UTF-8 bytes too: fail before encoding.
    const max = options.maxListingSize ?? DEFAULT_MAX_LISTING_SIZE;
    if (text.length > max) throw listingTooLarge(max);
    builder.push(encoder.encode(text));
  } else {
    builder.push(text);
  }
  return builder.finish();
}

const DRIVE_REGEXP = /^[A-Za-z]:/;
const DOTS_AND_SPACES_REGEXP = /^[. ]+$/;

/**
 * Whether a name from a listing is safe to use as one local path segment
 * when mirroring (`downloadDir`): a hostile server can list `../x`,
 * `/etc/x` or `C:x` to make a client write outside the target directory.
 * Refused: the empty name, names made only of dots and spaces (`.`, `..`,
 * and `...` or `.. `, which Windows trims to `..`), anything with `/`, `\`,
 * NUL, CR or LF, and names starting with a drive letter (`C:`).
 *
 * @param name The name from a listing entry.
 * @returns True when the name is one plain path segment.
 *
 * @example Refusing traversal
 * ```ts
 * import { isSafeFtpListingName } from "@inetkit/inetkit/net";
 * import { assert } from "@std/assert";
 *
 * assert(isSafeFtpListingName("hello world.txt"));
 * assert(!isSafeFtpListingName("../x"));
 * assert(!isSafeFtpListingName("/etc/x"));
 * assert(!isSafeFtpListingName(".."));
 * assert(!isSafeFtpListingName("C:x"));
 * ```
 */
export function isSafeFtpListingName(name: string): boolean {
  if (name === "" || DOTS_AND_SPACES_REGEXP.test(name) || DRIVE_REGEXP.test(name)) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2f || c === 0x5c || c === 0 || c === 0x0d || c === 0x0a) return false;
  }
  return true;
}
