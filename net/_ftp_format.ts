/**
 * Listing lines a server writes: one `ls -l` line for `LIST` and one MLSx
 * entry for `MLSD`/`MLST` (RFC 3659 §7), in fixed, well-known layouts that
 * this library's parser, curl, lftp and browsers' FTP views read back.
 *
 * @module
 */
import type { FtpFileInfo } from "./ftp_list.ts";
import { formatFtpTime } from "./_ftp_time.ts";

/** What the formatters need: an entry without its `raw` line. */
export type FtpFileInfoInit = Omit<FtpFileInfo, "raw"> & { raw?: string };

const MONTH_NAMES = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];
const DAY_MS = 86_400_000;
const LINE_BREAK_REGEXP = /[\r\n\0]/;
const COLUMN_REGEXP = /^[^\s\0]+$/;
const FACT_NAME_REGEXP = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const FACT_VALUE_REGEXP = /^[^;\s\0]*$/;
// Facts that only the fields of the entry may set.
const FIELD_FACTS = new Set([
  "type",
  "size",
  "sizd",
  "modify",
  "perm",
  "unix.mode",
  "unix.owner",
  "unix.group",
  "unix.ownername",
  "unix.groupname",
  "unix.uid",
  "unix.gid",
]);

function checkName(name: string, action: string): void {
  if (name === "") throw new TypeError(`Cannot format ${action}: the name is empty`);
  if (LINE_BREAK_REGEXP.test(name)) {
    throw new TypeError(
      `Cannot format ${action}: name ${JSON.stringify(name)} contains CR, LF or NUL`,
    );
  }
}

function defaultMode(info: FtpFileInfoInit): number {
  return info.type === "directory" ? 0o755 : info.type === "symlink" ? 0o777 : 0o644;
}

function modeString(info: FtpFileInfoInit): string {
  const mode = info.permissions?.mode ?? defaultMode(info);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new RangeError(`Cannot format listing line: mode ${mode} is outside 0o0000-0o7777`);
  }
  const type = info.type === "directory" ? "d" : info.type === "symlink" ? "l" : "-";
  const rwx = (shift: number, special: number, set: string, unset: string) => {
    const bits = (mode >> shift) & 7;
    const exec = (bits & 1) !== 0;
    const x = (mode & special) !== 0 ? (exec ? set : unset) : exec ? "x" : "-";
    return ((bits & 4) !== 0 ? "r" : "-") + ((bits & 2) !== 0 ? "w" : "-") + x;
  };
  return type + rwx(6, 0o4000, "s", "S") + rwx(3, 0o2000, "s", "S") + rwx(0, 0o1000, "t", "T");
}

function column(value: string | undefined, fallback: string, what: string): string {
  const text = value ?? fallback;
  if (!COLUMN_REGEXP.test(text)) {
    throw new TypeError(
      `Cannot format listing line: ${what} ${JSON.stringify(text)} is empty or has spaces`,
    );
  }
  return text;
}

/** Options for {@linkcode formatFtpListLine}. */
export interface FormatFtpListLineOptions {
  /**
   * The reference for the date form: `Mon DD HH:MM` for times from 180 days
   * before `now` to one day after it, `Mon DD  YYYY` otherwise (as `ls`
   * does, so that a parser can infer the year of the short form).
   *
   * @default {new Date()}
   */
  now?: Date;
}

/**
 * Formats one `LIST` line in the layout of `ls -l` and vsftpd:
 * `drwxr-xr-x    1 ftp      ftp          4096 Nov 14  2023 pub`, dates in
 * UTC. Missing fields get defaults: mode `0644` (files), `0755`
 * (directories) or `0777` (symlinks); owner and group `ftp`; size 0; date
 * 1970-01-01. A symlink with a target is written `name -> target`.
 *
 * @param info The entry.
 * @param options The reference time for the date form.
 * @returns The line without its line end.
 * @throws {TypeError} If the name or target is empty or contains CR, LF or
 *   NUL, or the owner or group has spaces.
 * @throws {RangeError} If the size, the mode or the year is out of range.
 *
 * @example Formatting a recent file and an old directory
 * ```ts
 * import { formatFtpListLine } from "./_ftp_format.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const now = new Date("2026-12-03T12:00:00Z");
 * assertEquals(
 *   formatFtpListLine({
 *     name: "hello.txt",
 *     type: "file",
 *     size: 13,
 *     modified: new Date("2026-12-01T09:30:00Z"),
 *     owner: "1001",
 *     group: "1001",
 *   }, { now }),
 *   "-rw-r--r--    1 1001     1001           13 Dec  1 09:30 hello.txt",
 * );
 * assertEquals(
 *   formatFtpListLine({ name: "pub", type: "directory", modified: new Date("2023-11-14T22:13:20Z") }, { now }),
 *   "drwxr-xr-x    1 ftp      ftp             0 Nov 14  2023 pub",
 * );
 * ```
 */
export function formatFtpListLine(
  info: FtpFileInfoInit,
  options: FormatFtpListLineOptions = {},
): string {
  checkName(info.name, "listing line");
  const size = info.size ?? 0;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`Cannot format listing line: size ${size} is not a byte count`);
  }
  const modified = info.modified ?? new Date(0);
  const time = modified.getTime();
  if (Number.isNaN(time)) throw new RangeError("Cannot format listing line: the date is invalid");
  const year = modified.getUTCFullYear();
  if (year < 1000 || year > 9999) {
    throw new RangeError(`Cannot format listing line: year ${year} is outside 1000-9999`);
  }
  const now = (options.now ?? new Date()).getTime();
  const recent = time >= now - 180 * DAY_MS && time <= now + DAY_MS;
  const two = (n: number) => String(n).padStart(2, "0");
  const date =
    `${MONTH_NAMES[modified.getUTCMonth()]} ${String(modified.getUTCDate()).padStart(2)} ` +
    (recent ? `${two(modified.getUTCHours())}:${two(modified.getUTCMinutes())}` : ` ${year}`);
  let name = info.name;
  if (info.type === "symlink" && info.target !== undefined) {
    checkName(info.target, "listing line");
    name += ` -> ${info.target}`;
  }
  const owner = column(info.owner, "ftp", "owner");
  const group = column(info.group, "ftp", "group");
  return `${modeString(info)} ${"1".padStart(4)} ${owner.padEnd(8)} ${group.padEnd(8)} ` +
    `${String(size).padStart(8)} ${date} ${name}`;
}

function fact(name: string, value: string): string {
  if (!FACT_VALUE_REGEXP.test(value)) {
    throw new TypeError(
      `Cannot format MLSx line: value of fact ${name} ${JSON.stringify(value)} has ; or spaces`,
    );
  }
  return `${name}=${value};`;
}

/**
 * Formats one MLSx entry (RFC 3659 §7.2) for `MLSD` (write it as a line)
 * or `MLST` (write a space, then the entry with the full path as name):
 * `type=file;size=13;modify=20231114221320;perm=r;UNIX.mode=0644; hello.txt`.
 * The facts come from the fields: `type` (`file`, `dir`, `OS.unix=symlink`
 * without the target, which lftp cannot read in the `slink:` form; none for
 * `"unknown"`, and `cdir`/`pdir` when `facts.type` says so for a
 * directory), `size` (files), `modify` (UTC, whole seconds),
 * `perm`, `UNIX.mode`, `UNIX.owner`, `UNIX.group`; then the other entries
 * of `facts` (such as `unique` or `media-type`). Facts that the fields
 * describe (`size`, `modify`, `UNIX.uid`...) are never taken from `facts`,
 * so a parsed entry with edited fields is written as edited.
 *
 * @param info The entry.
 * @returns The entry line without its line end.
 * @throws {TypeError} If the name is empty or contains CR, LF or NUL, or a
 *   fact name or value is invalid (values may not hold `;` or spaces).
 * @throws {RangeError} If the size or the mode is out of range, or the date is invalid.
 *
 * @example Formatting a file entry
 * ```ts
 * import { formatMlsxLine } from "./_ftp_format.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   formatMlsxLine({
 *     name: "hello world.txt",
 *     type: "file",
 *     size: 13,
 *     modified: new Date("2023-11-14T22:13:20Z"),
 *     permissions: { perm: "adfrw", mode: 0o644 },
 *   }),
 *   "type=file;size=13;modify=20231114221320;perm=adfrw;UNIX.mode=0644; hello world.txt",
 * );
 * ```
 */
export function formatMlsxLine(info: FtpFileInfoInit): string {
  checkName(info.name, "MLSx line");
  const taken = new Set<string>();
  let facts = "";
  const add = (name: string, value: string) => {
    facts += fact(name, value);
    taken.add(name.toLowerCase());
  };
  const givenType = Object.entries(info.facts ?? {})
    .find(([name]) => name.toLowerCase() === "type")?.[1].toLowerCase();
  if (info.type === "file") add("type", "file");
  else if (info.type === "directory") {
    add("type", givenType === "cdir" || givenType === "pdir" ? givenType : "dir");
  } else if (info.type === "symlink") {
    // ProFTPD's form. lftp 4.9 does not read "OS.unix=slink:target" (it
    // falls back to LIST), so the target is not sent.
    add("type", "OS.unix=symlink");
  }
  taken.add("type");
  if (info.size !== undefined && info.type === "file") {
    if (!Number.isSafeInteger(info.size) || info.size < 0) {
      throw new RangeError(`Cannot format MLSx line: size ${info.size} is not a byte count`);
    }
    add("size", String(info.size));
  }
  if (info.modified !== undefined) add("modify", formatFtpTime(info.modified));
  if (info.permissions?.perm !== undefined) add("perm", info.permissions.perm);
  const mode = info.permissions?.mode;
  if (mode !== undefined) {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new RangeError(`Cannot format MLSx line: mode ${mode} is outside 0o0000-0o7777`);
    }
    add("UNIX.mode", mode.toString(8).padStart(4, "0"));
  }
  if (info.owner !== undefined) add("UNIX.owner", info.owner);
  if (info.group !== undefined) add("UNIX.group", info.group);
  for (const [name, value] of Object.entries(info.facts ?? {})) {
    const lower = name.toLowerCase();
    if (taken.has(lower) || FIELD_FACTS.has(lower)) continue;
    if (!FACT_NAME_REGEXP.test(name)) {
      throw new TypeError(`Cannot format MLSx line: invalid fact name ${JSON.stringify(name)}`);
    }
    add(name, value);
  }
  return `${facts} ${info.name}`;
}
