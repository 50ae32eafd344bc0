/**
 * The engine behind `net/ftp_list.ts`: the `LIST` line parsers (Unix
 * `ls -l`, DOS/IIS), the MLSx entry parser, a byte line splitter with the
 * listing caps, and an incremental listing builder that a data connection
 * can be fed into chunk by chunk.
 *
 * @module
 */
import { ProtocolError } from "./protocol_error.ts";
import type {
  FtpFileInfo,
  FtpFileType,
  FtpListing,
  FtpListLineOptions,
  FtpListOptions,
  FtpPermissions,
} from "./_ftp_types.ts";
import { type FtpZone, ftpZone, inferListingYear, parseFtpTime } from "./_ftp_time.ts";

/** 40 MiB, the listing cap of RELIABILITY.md. */
export const DEFAULT_MAX_LISTING_SIZE = 40 * 1024 * 1024;
/** 64 KiB, the longest listing line. */
export const DEFAULT_MAX_LISTING_LINE = 64 * 1024;

const MONTHS: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};

// Type letter, nine permission letters, then an optional ACL (+), SELinux (.)
// or extended-attribute (@) mark.
const MODE_REGEXP =
  /^([-bcdDlnpPs?])([-r][-w][-xsStTlL][-r][-w][-xsStTlL][-r][-w][-xsStTlL])([+.@]?)$/;
const DIGITS_REGEXP = /^\d+$/;
const DAY_REGEXP = /^\d{1,2}$/;
const CLOCK_REGEXP = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const YEAR_REGEXP = /^\d{4}$/;
const ISO_DATE_REGEXP = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_TIME_REGEXP = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/;
const ISO_OFFSET_REGEXP = /^[+-]\d{4}$/;
const DEVICE_REGEXP = /^\d+,\d+$/;
const MAJOR_REGEXP = /^\d+,$/;
const TOTAL_REGEXP = /^total\s+\d+$/i;
// Each run of spaces can be taken only one way, so a failing match stays linear.
const DOS_REGEXP =
  /^(\d{1,2})-(\d{1,2})-(\d{2}|\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?\s+(<DIR>|\d{1,3}(?:,\d{3})+|\d+)\s+(.+)$/i;
const FACT_NAME_REGEXP = /^[^\s=;]+$/;
const OCTAL_REGEXP = /^[0-7]{1,7}$/;

/** Resolved options of the `LIST` parser. */
export interface ListContext {
  zone: FtpZone;
  now: Date;
}

/**
 * Checks and resolves the `LIST` options.
 *
 * @throws {RangeError} If `now` is an invalid date or the time zone is unknown.
 */
export function listContext(options: FtpListLineOptions = {}): ListContext {
  const now = options.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new RangeError("Cannot parse FTP listing: option now is not a valid date");
  }
  return { zone: ftpZone(options.timeZone ?? "UTC"), now };
}

/** What one `LIST` line is: an entry, a known non-entry (`total 12`, blank), or unreadable. */
export type ListLineResult = FtpFileInfo | "ignore" | null;

/** Parses one `LIST` line into an entry, `"ignore"` or `null`. */
export function parseListLine(line: string, context: ListContext): ListLineResult {
  if (line.endsWith("\r")) line = line.slice(0, -1);
  const trimmed = line.trim();
  if (trimmed === "" || TOTAL_REGEXP.test(trimmed)) return "ignore";
  const first = line.charCodeAt(0);
  if (first >= 0x30 && first <= 0x39) return parseDosLine(line, context);
  return parseUnixLine(line, context);
}

interface Token {
  text: string;
  end: number;
}

function permissionBits(letters: string): number {
  let mode = 0;
  const bit = (i: number, value: number) => {
    if (letters[i] !== "-") mode |= value;
  };
  bit(0, 0o400);
  bit(1, 0o200);
  bit(3, 0o040);
  bit(4, 0o020);
  bit(6, 0o004);
  bit(7, 0o002);
  const exec = (i: number, x: number, special: number) => {
    const c = letters[i]!;
    if (c === "x" || c === "s" || c === "t") mode |= x;
    if (c === "s" || c === "S" || c === "t" || c === "T" || c === "l" || c === "L") {
      mode |= special;
    }
  };
  exec(2, 0o100, 0o4000);
  exec(5, 0o010, 0o2000);
  exec(8, 0o001, 0o1000);
  return mode;
}

function unixType(letter: string): FtpFileType {
  return letter === "-"
    ? "file"
    : letter === "d"
    ? "directory"
    : letter === "l"
    ? "symlink"
    : "unknown";
}

function safeNumber(text: string): number | undefined {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The date of a `Mon DD HH:MM|YYYY` triple, or `undefined` when it is not a real time. */
function unixDate(
  month: number,
  dayText: string,
  clockOrYear: string,
  context: ListContext,
): Date | undefined {
  const day = Number(dayText);
  const clock = CLOCK_REGEXP.exec(clockOrYear);
  if (clock !== null) {
    const hour = Number(clock[1]);
    const minute = Number(clock[2]);
    if (hour > 23 || minute > 59) return undefined;
    const date = inferListingYear(context.zone, context.now, month, day, hour, minute);
    if (date === null) return undefined;
    if (clock[3] !== undefined) {
      const second = Number(clock[3]);
      if (second > 59) return undefined;
      return new Date(date.getTime() + second * 1000);
    }
    return date;
  }
  return context.zone.toDate(Number(clockOrYear), month, day, 0, 0, 0) ?? undefined;
}

/** `YYYY-MM-DD HH:MM[:SS[.frac]] [+hhmm]` (ls --time-style=long-iso / full-iso). */
function isoDate(
  dateText: string,
  timeText: string,
  offsetText: string | undefined,
  context: ListContext,
): Date | undefined {
  const d = ISO_DATE_REGEXP.exec(dateText)!;
  const t = ISO_TIME_REGEXP.exec(timeText)!;
  const hour = Number(t[1]);
  const minute = Number(t[2]);
  const second = t[3] === undefined ? 0 : Number(t[3]);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let zone = context.zone;
  if (offsetText !== undefined) {
    // The offset comes from the peer: one out of range only loses the date.
    try {
      zone = ftpZone(offsetText);
    } catch {
      return undefined;
    }
  }
  const date = zone.toDate(Number(d[1]), Number(d[2]), Number(d[3]), hour, minute, second);
  if (date === null) return undefined;
  const ms = t[4] === undefined ? 0 : Number(t[4].slice(0, 3).padEnd(3, "0"));
  return new Date(date.getTime() + ms);
}

/** Where the date fields of an `ls -l` line are: the tokens and the parsed date. */
interface DateAnchor {
  /** Index of the first date token. */
  at: number;
  /** Index of the last date token. */
  last: number;
  modified: Date | undefined;
}

function findDate(tokens: Token[], j: number, context: ListContext): DateAnchor | null {
  const t = tokens[j]!.text;
  const month = MONTHS[t.toLowerCase()];
  if (month !== undefined) {
    const day = tokens[j + 1]?.text;
    const clock = tokens[j + 2]?.text;
    if (
      day === undefined || clock === undefined || !DAY_REGEXP.test(day) ||
      (!CLOCK_REGEXP.test(clock) && !YEAR_REGEXP.test(clock))
    ) {
      return null;
    }
    const dayNumber = Number(day);
    if (dayNumber < 1 || dayNumber > 31) return null;
    return { at: j, last: j + 2, modified: unixDate(month, day, clock, context) };
  }
  if (ISO_DATE_REGEXP.test(t)) {
    const time = tokens[j + 1]?.text;
    if (time === undefined || !ISO_TIME_REGEXP.test(time)) return null;
    const offset = tokens[j + 2]?.text;
    // An offset token counts only when a name follows it.
    if (offset !== undefined && ISO_OFFSET_REGEXP.test(offset) && tokens[j + 3] !== undefined) {
      return { at: j, last: j + 2, modified: isoDate(t, time, offset, context) };
    }
    return { at: j, last: j + 1, modified: isoDate(t, time, undefined, context) };
  }
  return null;
}

/**
 * A Unix `ls -l` line: mode, [links], [owner], [group], size or
 * `major, minor`, date, name. The date is the anchor: the first
 * `Mon DD HH:MM|YYYY` (or ISO date) right after a size, so names with
 * spaces and owners named like months parse.
 */
function parseUnixLine(line: string, context: ListContext): FtpFileInfo | null {
  const tokens: Token[] = [];
  for (const match of line.matchAll(/\S+/g)) {
    tokens.push({ text: match[0], end: match.index + match[0].length });
  }
  if (tokens.length < 4) return null;
  const mode = MODE_REGEXP.exec(tokens[0]!.text);
  if (mode === null) return null;
  for (let j = 2; j < tokens.length - 1; j++) {
    let sizeAt: number;
    let size: number | undefined;
    const before = tokens[j - 1]!.text;
    if (DIGITS_REGEXP.test(before)) {
      if (j >= 3 && MAJOR_REGEXP.test(tokens[j - 2]!.text)) {
        sizeAt = j - 2;
      } else {
        sizeAt = j - 1;
        size = safeNumber(before);
      }
    } else if (DEVICE_REGEXP.test(before)) {
      sizeAt = j - 1;
    } else {
      continue;
    }
    if (sizeAt < 1) continue;
    const anchor = findDate(tokens, j, context);
    if (anchor === null) continue;
    const rest = line.slice(tokens[anchor.last]!.end + 1);
    // A name may be only spaces: everything after the one separator counts.
    if (rest === "") return null;
    const type = unixType(mode[1]!);
    const info: FtpFileInfo = { name: rest, type, raw: line };
    if (size !== undefined) info.size = size;
    if (anchor.modified !== undefined) info.modified = anchor.modified;
    info.permissions = { mode: permissionBits(mode[2]!) };
    // Between the mode and the size: [links] owner [group, possibly with spaces].
    const middle = tokens.slice(1, sizeAt).map((t) => t.text);
    if (middle.length >= 2 && DIGITS_REGEXP.test(middle[0]!)) middle.shift();
    if (middle.length > 0) info.owner = middle[0]!;
    if (middle.length > 1) info.group = middle.slice(1).join(" ");
    if (type === "symlink") {
      const arrow = rest.indexOf(" -> ");
      if (arrow > 0) {
        info.name = rest.slice(0, arrow);
        info.target = rest.slice(arrow + 4);
      }
    }
    return info;
  }
  return null;
}

/** A DOS/IIS line: `MM-DD-YY[YY]  HH:MM[AM|PM]  <DIR>|size  name`. */
function parseDosLine(line: string, context: ListContext): FtpFileInfo | null {
  const match = DOS_REGEXP.exec(line);
  if (match === null) return null;
  const month = Number(match[1]);
  const day = Number(match[2]);
  let year = Number(match[3]);
  if (match[3]!.length === 2) {
    // The year within 80 years before and 19 after now.
    const nowYear = context.now.getUTCFullYear();
    year += Math.floor((nowYear - 80) / 100) * 100;
    if (year < nowYear - 80) year += 100;
  }
  let hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = match[6] === undefined ? 0 : Number(match[6]);
  const meridiem = match[7]?.toUpperCase();
  if (meridiem !== undefined) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (meridiem === "PM" ? 12 : 0);
  }
  if (hour > 23 || minute > 59 || second > 59) return null;
  const modified = context.zone.toDate(year, month, day, hour, minute, second);
  if (modified === null) return null;
  const sizeText = match[8]!;
  const directory = sizeText.toUpperCase() === "<DIR>";
  const info: FtpFileInfo = {
    name: match[9]!,
    type: directory ? "directory" : "file",
    raw: line,
  };
  if (!directory) {
    const size = safeNumber(sizeText.replaceAll(",", ""));
    if (size !== undefined) info.size = size;
  }
  info.modified = modified;
  return info;
}

/** Splits the facts and the name of an MLSx line; `null` when it is not an entry. */
function splitMlsx(line: string): { facts: string; name: string } | null {
  if (line.startsWith(" ")) {
    const rest = line.slice(1);
    // MLST reply lines (RFC 3659 §7.2) start with one space before the entry.
    if (rest.startsWith(" ")) return { facts: "", name: rest.slice(1) };
    const sep = rest.indexOf("; ");
    if (sep > 0 && /^[^\s=;]+=/.test(rest)) {
      return { facts: rest.slice(0, sep + 1), name: rest.slice(sep + 2) };
    }
    // An MLSD entry without facts.
    return { facts: "", name: rest };
  }
  const sep = line.indexOf("; ");
  if (sep < 0) return null;
  return { facts: line.slice(0, sep + 1), name: line.slice(sep + 2) };
}

/**
 * Parses one MLSx entry (RFC 3659 §7.2): `fact=value;fact=value; name`.
 * Returns `null` for a blank or malformed line.
 */
export function parseMlsxEntry(line: string): FtpFileInfo | null {
  if (line.endsWith("\r")) line = line.slice(0, -1);
  if (line.trim() === "") return null;
  const parts = splitMlsx(line);
  if (parts === null || parts.name === "") return null;
  const facts: Record<string, string> = Object.create(null);
  for (const fact of parts.facts.split(";")) {
    if (fact === "") continue;
    const eq = fact.indexOf("=");
    if (eq <= 0) return null;
    const name = fact.slice(0, eq).toLowerCase();
    if (!FACT_NAME_REGEXP.test(name)) return null;
    if (!(name in facts)) facts[name] = fact.slice(eq + 1);
  }
  const info: FtpFileInfo = { name: parts.name, type: "unknown", raw: line };
  const typeValue = facts.type;
  if (typeValue !== undefined) {
    const lower = typeValue.toLowerCase();
    if (lower === "file") info.type = "file";
    else if (lower === "dir") info.type = "directory";
    else if (lower === "cdir" || lower === "pdir") info.type = "directory";
    else if (lower === "os.unix=symlink") info.type = "symlink";
    else if (lower.startsWith("os.unix=slink")) {
      info.type = "symlink";
      const colon = typeValue.indexOf(":");
      if (colon > 0 && colon < typeValue.length - 1) info.target = typeValue.slice(colon + 1);
    }
  }
  const sizeText = facts.size ?? (info.type === "directory" ? facts.sizd : undefined);
  if (sizeText !== undefined && DIGITS_REGEXP.test(sizeText)) {
    const size = safeNumber(sizeText);
    if (size !== undefined) info.size = size;
  }
  if (facts.modify !== undefined) {
    const modified = parseFtpTime(facts.modify);
    if (modified !== null) info.modified = modified;
  }
  const permissions: FtpPermissions = {};
  if (facts.perm !== undefined) permissions.perm = facts.perm;
  const modeText = facts["unix.mode"];
  if (modeText !== undefined && OCTAL_REGEXP.test(modeText)) {
    permissions.mode = parseInt(modeText, 8) & 0o7777;
  }
  if (permissions.perm !== undefined || permissions.mode !== undefined) {
    info.permissions = permissions;
  }
  const owner = facts["unix.ownername"] ?? facts["unix.owner"] ?? facts["unix.uid"];
  if (owner !== undefined) info.owner = owner;
  const group = facts["unix.groupname"] ?? facts["unix.group"] ?? facts["unix.gid"];
  if (group !== undefined) info.group = group;
  info.facts = facts;
  return info;
}

/** Whether an entry is the listed directory itself or its parent. */
function isCurrentOrParent(info: FtpFileInfo): boolean {
  if (info.name === "." || info.name === "..") return true;
  const type = info.facts?.type?.toLowerCase();
  return type === "cdir" || type === "pdir";
}

/**
 * Splits listing bytes into lines (LF, with one CR before it stripped) and
 * enforces the listing size and line length caps. The last line may lack
 * its terminator.
 */
export class FtpLineSplitter {
  #pieces: Uint8Array[] = [];
  #pending = 0;
  #total = 0;
  #maxSize: number;
  #maxLine: number;
  #decoder: TextDecoder;

  constructor(maxSize: number, maxLine: number, decoder: TextDecoder) {
    this.#maxSize = maxSize;
    this.#maxLine = maxLine;
    this.#decoder = decoder;
  }

  /** Adds bytes; calls `line` for each complete line. */
  push(chunk: Uint8Array, line: (text: string) => void): void {
    this.#total += chunk.length;
    if (this.#total > this.#maxSize) throw listingTooLarge(this.#maxSize);
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(10, start);
      if (lf < 0) break;
      this.#emit(chunk.subarray(start, lf), line);
      start = lf + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#pending += rest.length;
      // One byte more is allowed: it may be the CR of CR LF.
      if (this.#pending > this.#maxLine + 1) throw this.#tooLong();
      this.#pieces.push(rest.slice());
    }
  }

  /** Ends the input; calls `line` for a last line without terminator. */
  end(line: (text: string) => void): void {
    if (this.#pending > 0) this.#emit(new Uint8Array(0), line);
  }

  #emit(tail: Uint8Array, line: (text: string) => void): void {
    let bytes = tail;
    if (this.#pending > 0) {
      bytes = new Uint8Array(this.#pending + tail.length);
      let offset = 0;
      for (const piece of this.#pieces) {
        bytes.set(piece, offset);
        offset += piece.length;
      }
      bytes.set(tail, offset);
      this.#pieces = [];
      this.#pending = 0;
    }
    let length = bytes.length;
    if (length > 0 && bytes[length - 1] === 13) length--;
    if (length > this.#maxLine) throw this.#tooLong();
    line(this.#decoder.decode(bytes.subarray(0, length)));
  }

  #tooLong(): ProtocolError {
    return new ProtocolError(
      "LINE_TOO_LONG",
      `Cannot read listing: line exceeds ${this.#maxLine} bytes`,
    );
  }
}

/** The error for a listing over its size cap. */
export function listingTooLarge(max: number): ProtocolError {
  return new ProtocolError(
    "LISTING_TOO_LARGE",
    `Cannot read listing: listing exceeds ${max} bytes`,
  );
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Cannot parse FTP listing: ${name} ${value} is not a positive integer`);
  }
  return value;
}

/** The listing formats: `LIST` output or `MLSD` entries. */
export type FtpListingFormat = "list" | "mlsd";

/**
 * Builds a listing from bytes pushed in any chunks: the same result for any
 * split of the same input.
 */
export class FtpListingBuilder {
  #splitter: FtpLineSplitter;
  #entries: FtpFileInfo[] = [];
  #skipped = 0;
  #line: (text: string) => void;

  /**
   * @throws {RangeError} For invalid options.
   */
  constructor(format: FtpListingFormat, options: FtpListOptions = {}) {
    const maxSize = positiveInteger(
      options.maxListingSize,
      DEFAULT_MAX_LISTING_SIZE,
      "maxListingSize",
    );
    const maxLine = positiveInteger(
      options.maxLineLength,
      DEFAULT_MAX_LISTING_LINE,
      "maxLineLength",
    );
    let decoder: TextDecoder;
    try {
      decoder = new TextDecoder(options.encoding ?? "utf-8");
    } catch (cause) {
      throw new RangeError(
        `Cannot parse FTP listing: unknown encoding ${JSON.stringify(options.encoding)}`,
        { cause },
      );
    }
    this.#splitter = new FtpLineSplitter(maxSize, maxLine, decoder);
    const includeDots = options.includeCurrentAndParent === true;
    const keep = (info: FtpFileInfo) => {
      if (includeDots || !isCurrentOrParent(info)) this.#entries.push(info);
    };
    if (format === "mlsd") {
      this.#line = (text) => {
        if (text.trim() === "") return;
        const info = parseMlsxEntry(text);
        if (info === null) this.#skipped++;
        else keep(info);
      };
    } else {
      const context = listContext(options);
      this.#line = (text) => {
        const result = parseListLine(text, context);
        if (result === null) this.#skipped++;
        else if (result !== "ignore") keep(result);
      };
    }
  }

  /**
   * Adds listing bytes.
   *
   * @throws {ProtocolError} `"LISTING_TOO_LARGE"` or `"LINE_TOO_LONG"`.
   */
  push(chunk: Uint8Array): void {
    this.#splitter.push(chunk, this.#line);
  }

  /** Ends the input and returns the listing. */
  finish(): FtpListing {
    this.#splitter.end(this.#line);
    return { entries: this.#entries, skipped: this.#skipped };
  }
}

/** Options for {@linkcode readFtpListing}. */
export interface ReadFtpListingOptions extends FtpListOptions {
  /**
   * The format of the data: `LIST` output or `MLSD` entries.
   *
   * @default {"list"}
   */
  format?: FtpListingFormat;
  /** Stops reading: the stream is cancelled and the call rejects with the reason. */
  signal?: AbortSignal;
}

/**
 * Reads a whole listing from a data connection, parsing as the bytes come
 * and enforcing the caps while reading: on a cap, an abort or a stream
 * error the stream is cancelled (the data connection closes) and the call
 * rejects. The stream's lock is released either way.
 *
 * @param source The data connection's readable side.
 * @param options The format, the parser options, the caps and a signal.
 * @returns The entries and the number of unreadable lines.
 * @throws {ProtocolError} `"LISTING_TOO_LARGE"` or `"LINE_TOO_LONG"`.
 * @throws {RangeError} For invalid options.
 *
 * @example Reading an MLSD listing from a stream
 * ```ts
 * import { readFtpListing } from "./_ftp_listing.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = new TextEncoder().encode("type=cdir; .\r\ntype=file;size=13; hello.txt\r\n");
 * const listing = await readFtpListing(ReadableStream.from([bytes]), { format: "mlsd" });
 * assertEquals(listing.entries.map((e) => [e.name, e.size]), [["hello.txt", 13]]);
 * ```
 */
export async function readFtpListing(
  source: ReadableStream<Uint8Array>,
  options: ReadFtpListingOptions = {},
): Promise<FtpListing> {
  const builder = new FtpListingBuilder(options.format ?? "list", options);
  const signal = options.signal;
  signal?.throwIfAborted();
  const reader = source.getReader();
  const onAbort = () => {
    reader.cancel(signal!.reason).catch(() => {});
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      signal?.throwIfAborted();
      if (done) break;
      builder.push(value);
    }
    return builder.finish();
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
}
