/**
 * Reading the arguments of IMAP commands on the server side: strings,
 * mailbox names, sequence sets, flag lists and dates, with the refusals the
 * session turns into `BAD` and `NO` responses.
 *
 * @module
 */
import type { ImapToken } from "./_imap_wire_types.ts";
import { decodeImapUtf7 } from "./imap_utf7.ts";
import { imapMonth } from "./_imap_server_output.ts";

/** A command the server answers `BAD` (syntax) with this text. */
export class ImapBad extends Error {
  constructor(message: string, readonly code: string | null = null) {
    super(message);
    this.name = "ImapBad";
  }
}

/** A command the server answers `NO` with this text and response code. */
export class ImapNo extends Error {
  constructor(message: string, readonly code: string | null = null) {
    super(message);
    this.name = "ImapNo";
  }
}

/**
 * A failure after part of a response was written (a literal whose octets
 * could not all be sent): the connection is out of step and must close.
 */
export class ImapFatal extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImapFatal";
  }
}

const utf8 = new TextDecoder();

/** The text of an `astring` argument (atom, number, quoted string or literal). */
export function astring(token: ImapToken | undefined, what: string): string {
  switch (token?.type) {
    case "atom":
      return token.value;
    case "number":
      return token.text;
    case "string":
      return token.value;
    case "literal":
      return utf8.decode(token.value);
  }
  throw new ImapBad(`Missing or invalid ${what}`);
}

/** The text of a `string` argument (quoted string or literal, as SEARCH keys also accept atoms). */
export function searchString(token: ImapToken | undefined, what: string): string {
  return astring(token, what);
}

/**
 * A mailbox name argument as the store spells it: modified UTF-7 decoded
 * (unless UTF8=ACCEPT is on), `INBOX` in any case made `INBOX`.
 */
export function mailboxArg(token: ImapToken | undefined, utf8Accept: boolean): string {
  const raw = astring(token, "mailbox name");
  let name = raw;
  if (!utf8Accept && /^[\x20-\x7e]*$/.test(raw)) {
    try {
      name = decodeImapUtf7(raw);
    } catch {
      throw new ImapNo("Invalid mailbox name: it is not valid modified UTF-7", "CANNOT");
    }
  }
  if (name.toUpperCase() === "INBOX") return "INBOX";
  return name;
}

/** Requires exactly `n` arguments (or between `min` and `max`). */
export function argCount(args: readonly ImapToken[], min: number, max = min): void {
  if (args.length < min) throw new ImapBad("Missing arguments");
  if (args.length > max) throw new ImapBad("Too many arguments");
}

/** One range of a sequence set; `Infinity` stands for `*`. */
export type SeqRange = readonly [number, number];

const MAX_NUMBER = 4294967295;

/** Parses `1:3,5,7:*` into ranges (low, high), `*` as `Infinity`. */
export function parseSequenceSet(token: ImapToken | undefined): SeqRange[] {
  let text: string;
  if (token?.type === "number") text = token.text;
  else if (token?.type === "atom") text = token.value;
  else throw new ImapBad("Missing or invalid sequence set");
  const out: SeqRange[] = [];
  for (const item of text.split(",")) {
    const colon = item.indexOf(":");
    const a = seqNumber(colon === -1 ? item : item.slice(0, colon));
    const b = colon === -1 ? a : seqNumber(item.slice(colon + 1));
    out.push(a <= b ? [a, b] : [b, a]);
  }
  return out;
}

function seqNumber(text: string): number {
  if (text === "*") return Number.POSITIVE_INFINITY;
  if (!/^[1-9]\d{0,9}$/.test(text)) throw new ImapBad("Invalid sequence set");
  const n = Number(text);
  if (n > MAX_NUMBER) throw new ImapBad("Invalid sequence set");
  return n;
}

/** Whether a token looks like a sequence set (for SEARCH keys). */
export function isSequenceSet(token: ImapToken): boolean {
  const text = token.type === "number" ? token.text : token.type === "atom" ? token.value : null;
  return text !== null && /^(?:\d+|\*)(?::(?:\d+|\*))?(?:,(?:\d+|\*)(?::(?:\d+|\*))?)*$/.test(text);
}

/**
 * The sequence numbers a set names in a mailbox of `exists` messages,
 * ascending and without repeats.
 *
 * @throws {ImapBad} When a number is beyond the last message (or the mailbox is empty).
 */
export function resolveSequenceSet(
  ranges: readonly SeqRange[],
  exists: number,
  strict = true,
): number[] {
  const marks = new Uint8Array(exists + 1);
  let count = 0;
  for (const [lo, hi] of ranges) {
    const a = lo === Number.POSITIVE_INFINITY ? exists : lo;
    let b = hi === Number.POSITIVE_INFINITY ? exists : hi;
    if (a < 1 || b > exists) {
      if (strict) throw new ImapBad("Invalid message sequence number");
      b = Math.min(b, exists);
    }
    for (let i = Math.max(a, 1); i <= b; i++) {
      if (marks[i] === 0) {
        marks[i] = 1;
        count++;
      }
    }
  }
  const out = new Array<number>(count);
  let k = 0;
  for (let i = 1; i <= exists; i++) if (marks[i] === 1) out[k++] = i;
  return out;
}

/**
 * The sequence numbers of the messages whose UIDs a set names (`uids` in
 * sequence order). `n:*` always includes the last message (RFC 3501 §6.4.8);
 * UIDs that do not exist are ignored.
 */
export function resolveUidSet(ranges: readonly SeqRange[], uids: readonly number[]): number[] {
  const n = uids.length;
  if (n === 0) return [];
  const last = uids[n - 1]!;
  const marks = new Uint8Array(n);
  for (const [lo, hi] of ranges) {
    let a = lo === Number.POSITIVE_INFINITY ? last : lo;
    let b = hi === Number.POSITIVE_INFINITY ? last : hi;
    if (a > b) [a, b] = [b, a];
    for (let i = lowerBound(uids, a); i < n && uids[i]! <= b; i++) marks[i] = 1;
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (marks[i] === 1) out.push(i + 1);
  return out;
}

/** The first index whose value is at least `v`. */
function lowerBound(sorted: readonly number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Formats ascending numbers as a compact sequence set (`1:3,7`). */
export function formatSet(numbers: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < numbers.length) {
    const start = numbers[i]!;
    let end = start;
    while (i + 1 < numbers.length && numbers[i + 1] === end + 1) end = numbers[++i]!;
    parts.push(start === end ? String(start) : `${start}:${end}`);
    i++;
  }
  return parts.join(",");
}

// deno-lint-ignore no-control-regex
const FLAG_REGEXP = /^\\?[^\x00-\x20\x7f-\uffff(){%*"\\\]]+$/;

/**
 * Reads a flag list `(\Seen $Label)` or, for STORE, flags given bare.
 * `\Recent` is dropped (clients cannot set it).
 */
export function flagList(tokens: readonly ImapToken[]): string[] {
  const items = tokens.length === 1 && tokens[0]!.type === "list" ? tokens[0]!.items : tokens;
  const out: string[] = [];
  for (const item of items) {
    if (item.type !== "atom" || !FLAG_REGEXP.test(item.value) || item.value === "\\*") {
      throw new ImapBad("Invalid flag");
    }
    if (item.value.toLowerCase() === "\\recent") continue;
    out.push(item.value);
  }
  return out;
}

const DATE_TIME_REGEXP =
  /^([ \d]?\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/** Parses APPEND's `date-time`: `"17-Jul-1996 02:44:25 -0700"`. */
export function parseDateTime(text: string): Date {
  const m = DATE_TIME_REGEXP.exec(text);
  if (m === null) throw new ImapBad("Invalid date-time");
  const month = imapMonth(m[2]!);
  const [day, year, hh, mm, ss, zh, zm] = [m[1], m[3], m[4], m[5], m[6], m[8], m[9]].map((s) =>
    Number(s!.trim())
  ) as [number, number, number, number, number, number, number];
  if (month < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59) {
    throw new ImapBad("Invalid date-time");
  }
  const offset = (zh * 60 + zm) * (m[7] === "-" ? -1 : 1);
  const utc = Date.UTC(year, month, day, hh, mm, Math.min(ss, 59)) - offset * 60000;
  const date = new Date(utc);
  if (Number.isNaN(date.getTime())) throw new ImapBad("Invalid date-time");
  return date;
}

const DATE_REGEXP = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/;

/** Parses SEARCH's `date` (`1-Feb-1994`) into a day number (days since 1970-01-01). */
export function parseSearchDate(text: string): number {
  const m = DATE_REGEXP.exec(text);
  const month = m === null ? -1 : imapMonth(m[2]!);
  if (m === null || month < 0) throw new ImapBad("Invalid search date");
  const day = Number(m[1]);
  if (day < 1 || day > 31) throw new ImapBad("Invalid search date");
  return Math.floor(Date.UTC(Number(m[3]), month, day) / 86400000);
}
