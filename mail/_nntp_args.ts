/**
 * Checking and formatting NNTP command arguments (RFC 3977 §3.1, §3.6,
 * §4, §7.3): message-ids, newsgroup names, wildmats, article numbers and
 * ranges, and the date-time of NEWGROUPS/NEWNEWS/DATE. Shared by the
 * client (which refuses bad arguments before writing a byte) and the
 * server (which refuses bad arguments with 501).
 *
 * @module
 */

/** An article number or a range of them: `n`, `n-` (to the end) or `n-m`. */
export type NntpRangeInput = number | { from: number; to?: number };

const MESSAGE_ID_REGEXP = /^<[\x21-\x3d\x3f-\x7e]+>$/;
// RFC 3977 §4.1: wildmat-exact excludes ! * , ? [ \ ] and, in newsgroup
// names, white space and controls.
// deno-lint-ignore no-control-regex
const GROUP_BAD_REGEXP = /[\x00-\x20\x7f!*,?[\\\]]/;
// deno-lint-ignore no-control-regex
const WILDMAT_BAD_REGEXP = /[\x00-\x20\x7f]/;
const FIELD_REGEXP = /^:?[\x21-\x39\x3b-\x7e]+$/;
/** The largest article number RFC 3977 allows (§6: up to 2,147,483,647). */
export const MAX_ARTICLE_NUMBER = 2147483647;

/** Whether `text` is a message-id as RFC 3977 §3.6 defines it. */
export function isMessageId(text: string): boolean {
  return text.length >= 3 && text.length <= 250 && MESSAGE_ID_REGEXP.test(text);
}

/** Throws a TypeError unless `text` is a message-id; returns it. */
export function checkMessageId(text: unknown, what = "message-id"): string {
  if (typeof text !== "string" || !isMessageId(text)) {
    throw new TypeError(
      `Cannot use ${what} ${JSON.stringify(text)}: not <...> of 3 to 250 printable ASCII octets`,
    );
  }
  return text;
}

/** Whether `name` is a newsgroup name (RFC 3977 §4.1). */
export function isGroupName(name: string): boolean {
  return name.length > 0 && new TextEncoder().encode(name).length <= 497 &&
    !GROUP_BAD_REGEXP.test(name);
}

/** Throws a TypeError unless `name` is a newsgroup name; returns it. */
export function checkGroupName(name: unknown): string {
  if (typeof name !== "string" || !isGroupName(name)) {
    throw new TypeError(
      `Cannot use newsgroup name ${JSON.stringify(name)}: it is empty or holds white space, ` +
        "a control character or one of !*,?[\\]",
    );
  }
  return name;
}

/** Throws a TypeError unless `wildmat` is one word without controls; returns it. */
export function checkWildmat(wildmat: unknown): string {
  if (typeof wildmat !== "string" || wildmat === "" || WILDMAT_BAD_REGEXP.test(wildmat)) {
    throw new TypeError(
      `Cannot use wildmat ${JSON.stringify(wildmat)}: it is empty or holds white space, ` +
        "CR, LF, NUL or another control character",
    );
  }
  return wildmat;
}

/** Throws a TypeError unless `name` is a header name or `:metadata` item; returns it. */
export function checkFieldName(name: unknown): string {
  if (typeof name !== "string" || !FIELD_REGEXP.test(name)) {
    throw new TypeError(
      `Cannot use header name ${JSON.stringify(name)}: not printable ASCII without colon`,
    );
  }
  return name;
}

/** Throws a RangeError unless `n` is an article number; returns it. */
export function checkArticleNumber(n: unknown, what = "article number"): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > MAX_ARTICLE_NUMBER) {
    throw new RangeError(`Cannot use ${what} ${n}: not an integer from 0 to ${MAX_ARTICLE_NUMBER}`);
  }
  return n;
}

/** Formats a range argument (`5`, `5-`, `5-9`), checking the numbers. */
export function formatRange(range: NntpRangeInput): string {
  if (typeof range === "number") return String(checkArticleNumber(range));
  if (range === null || typeof range !== "object") {
    throw new TypeError("Cannot use range: expected a number or { from, to }");
  }
  const from = checkArticleNumber(range.from, "range start");
  if (range.to === undefined) return `${from}-`;
  const to = checkArticleNumber(range.to, "range end");
  return `${from}-${to}`;
}

/**
 * Formats the article argument of ARTICLE/HEAD/BODY/STAT/OVER/HDR: a
 * number, a range (where allowed) or a message-id.
 */
export function formatArticleSpec(spec: number | string, allowRange = false): string {
  if (typeof spec === "string") return checkMessageId(spec);
  if (typeof spec === "number") return String(checkArticleNumber(spec));
  if (allowRange && spec !== null && typeof spec === "object") return formatRange(spec);
  throw new TypeError(
    `Cannot use article ${JSON.stringify(spec)}: expected a number or a <message-id>`,
  );
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** The `yyyymmdd hhmmss GMT` arguments of NEWGROUPS and NEWNEWS (RFC 3977 §7.3). */
export function formatNntpDateTime(date: Date): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new RangeError("Cannot use date: it is invalid");
  }
  const year = date.getUTCFullYear();
  if (year < 1000 || year > 9999) {
    throw new RangeError(`Cannot use date: year ${year} is outside 1000-9999`);
  }
  return `${pad(year, 4)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())} GMT`;
}

/** The `yyyymmddhhmmss` of a DATE reply (RFC 3977 §7.1). */
export function formatNntpTimestamp(date: Date): string {
  return formatNntpDateTime(date).replace(" ", "").slice(0, 14);
}

/**
 * Parses the date and time of NEWGROUPS/NEWNEWS (`yyyymmdd hhmmss`, or the
 * legacy `yymmdd`; RFC 3977 §7.3.2: a two-digit year is in the current
 * century unless that makes it more than 50 years ahead). The time is UTC
 * (with or without `GMT`; inetkit's server always uses UTC).
 */
export function parseNntpDateTime(date: string, time: string, now = new Date()): Date | null {
  if (!/^(\d{2}|\d{4})\d{4}$/.test(date) || !/^\d{6}$/.test(time)) return null;
  let year = Number(date.slice(0, date.length - 4));
  if (date.length === 6) {
    const current = now.getUTCFullYear();
    year += Math.floor(current / 100) * 100;
    if (year > current + 50) year -= 100;
  }
  const month = Number(date.slice(-4, -2));
  const day = Number(date.slice(-2));
  const hours = Number(time.slice(0, 2));
  const minutes = Number(time.slice(2, 4));
  const seconds = Number(time.slice(4, 6));
  if (month < 1 || month > 12 || day < 1 || day > 31 || hours > 23 || minutes > 59) return null;
  if (seconds > 60) return null;
  const result = new Date(Date.UTC(year, month - 1, day, hours, minutes, Math.min(seconds, 59)));
  if (result.getUTCDate() !== day) return null;
  return result;
}

/** Parses the `yyyymmddhhmmss` of a DATE reply, or `null`. */
export function parseNntpTimestamp(text: string): Date | null {
  if (!/^\d{14}$/.test(text)) return null;
  return parseNntpDateTime(text.slice(0, 8), text.slice(8));
}
