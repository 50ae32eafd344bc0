/**
 * RFC 5322 §3.3 dates: parsing (with the obsolete forms of §4.3) and
 * formatting.
 *
 * @module
 */
import { ProtocolError } from "../net/protocol_error.ts";

/** Options for {@linkcode formatMailDate}. */
export interface FormatMailDateOptions {
  /**
   * The zone to write the time in: minutes east of UTC (`120` for `+0200`),
   * or `"local"` for the machine's zone at that date.
   *
   * @default {0}
   */
  offset?: number | "local";
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
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
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/** Obsolete zone names (RFC 5322 §4.3), in minutes east of UTC. */
const ZONES: Record<string, number> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};
const TIME_REGEXP = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const NUMERIC_ZONE_REGEXP = /^([+-])(\d{2})(\d{2})$/;

function bad(value: string, reason: string): ProtocolError {
  const shown = JSON.stringify(value.length > 80 ? value.slice(0, 80) + "..." : value);
  return new ProtocolError("BAD_DATE", `Cannot parse date ${shown}: ${reason}`);
}

function monthIndex(token: string): number {
  return token.length >= 3 ? MONTHS.indexOf(token.slice(0, 3).toLowerCase()) : -1;
}

/**
 * Parses an RFC 5322 date-time such as `Tue, 1 Jul 2003 10:52:37 +0200`.
 * Accepted besides the current syntax (RFC 5322 §4.3): comments, missing
 * day of week and seconds, two- and three-digit years (`03` is 2003, `97`
 * is 1997, `103` is 2003), the zone names `UT`, `GMT`, `EST`, `EDT`, `CST`,
 * `CDT`, `MST`, `MDT`, `PST`, `PDT`, and military letters, which like a
 * missing or unknown zone count as `-0000` (UTC, zone unknown). The day of
 * the week is not checked against the date.
 *
 * @param value The header value.
 * @returns The instant.
 * @throws {ProtocolError} Code `"BAD_DATE"` when no valid date is found.
 *
 * @example Parsing current and obsolete forms
 * ```ts
 * import { parseMailDate } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   parseMailDate("Tue, 1 Jul 2003 10:52:37 +0200").toISOString(),
 *   "2003-07-01T08:52:37.000Z",
 * );
 * assertEquals(
 *   parseMailDate("1 Jul 03 10:52 EDT (daylight)").toISOString(),
 *   "2003-07-01T14:52:00.000Z",
 * );
 * ```
 */
export function parseMailDate(value: string): Date {
  if (value.length > 1000) throw bad(value, "it is too long");
  // Comments become white space (nesting and quoted pairs included).
  let text = "";
  let depth = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\" && depth > 0) {
      i++;
    } else if (c === "(") depth++;
    else if (c === ")" && depth > 0) {
      depth--;
      text += " ";
    } else if (depth === 0) text += c;
  }
  if (depth > 0) throw bad(value, "a comment is not closed");
  const tokens = text.split(/[\s,]+/).filter((t) => t !== "");
  let i = 0;
  if (
    tokens[i] !== undefined && DAYS.includes(tokens[i]!.slice(0, 3).toLowerCase()) &&
    /^[a-z]+\.?$/i.test(tokens[i]!)
  ) i++;
  let dayToken = tokens[i++];
  let monthToken = tokens[i++];
  if (dayToken === undefined || monthToken === undefined) {
    throw bad(value, "it has no day and month");
  }
  if (monthIndex(dayToken) >= 0 && /^\d{1,2}$/.test(monthToken)) {
    [dayToken, monthToken] = [monthToken, dayToken];
  }
  const yearToken = tokens[i++];
  const timeToken = tokens[i++];
  const zoneToken = tokens[i++];
  if (!/^\d{1,2}$/.test(dayToken)) throw bad(value, "the day is not a number");
  const month = monthIndex(monthToken);
  if (month < 0 || !/^[a-z]+\.?$/i.test(monthToken)) throw bad(value, "the month is unknown");
  if (yearToken === undefined || !/^\d{2,4}$/.test(yearToken)) {
    throw bad(value, "the year is missing or not a number");
  }
  let year = Number(yearToken);
  if (yearToken.length === 2) year += year < 50 ? 2000 : 1900;
  else if (yearToken.length === 3) year += 1900;
  if (year < 1900) throw bad(value, "the year is before 1900");
  const day = Number(dayToken);
  if (timeToken === undefined) throw bad(value, "the time is missing");
  const time = TIME_REGEXP.exec(timeToken);
  if (time === null) throw bad(value, "the time is malformed");
  const hour = Number(time[1]);
  const minute = Number(time[2]);
  const second = Math.min(Number(time[3] ?? 0), 59); // a leap second counts as :59
  if (hour > 23 || minute > 59 || Number(time[3] ?? 0) > 60) {
    throw bad(value, "the time is out of range");
  }
  let offset = 0;
  if (zoneToken !== undefined) {
    const numeric = NUMERIC_ZONE_REGEXP.exec(zoneToken);
    if (numeric !== null) {
      const zoneMinutes = Number(numeric[3]);
      if (zoneMinutes > 59) throw bad(value, "the zone is out of range");
      offset = (Number(numeric[2]) * 60 + zoneMinutes) * (numeric[1] === "-" ? -1 : 1);
    } else if (/^[a-z]+$/i.test(zoneToken)) {
      // Named zones; military letters and unknown names mean "-0000".
      offset = ZONES[zoneToken.toLowerCase()] ?? 0;
    } else throw bad(value, "the zone is malformed");
  }
  if (tokens.length > i) throw bad(value, "it has text after the zone");
  const utc = Date.UTC(year, month, day, hour, minute, second);
  const check = new Date(Date.UTC(year, month, day));
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month || day < 1) {
    throw bad(value, "the day does not exist in that month");
  }
  const date = new Date(utc - offset * 60000);
  if (Number.isNaN(date.getTime())) throw bad(value, "it is out of range");
  return date;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/**
 * Formats a date as RFC 5322 §3.3 wants it in a `Date` field:
 * `Mon, 02 Jan 2006 15:04:05 +0000`.
 *
 * @param date The instant.
 * @param options The zone to write it in.
 * @returns The header value.
 * @throws {RangeError} If the date is invalid, outside years 1900-9999, or
 *   the offset is not a whole number of minutes within a day.
 *
 * @example Formatting in UTC and in a fixed zone
 * ```ts
 * import { formatMailDate } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const date = new Date("2003-07-01T08:52:37Z");
 * assertEquals(formatMailDate(date), "Tue, 01 Jul 2003 08:52:37 +0000");
 * assertEquals(formatMailDate(date, { offset: -330 }), "Tue, 01 Jul 2003 03:22:37 -0530");
 * ```
 */
export function formatMailDate(date: Date, options?: FormatMailDateOptions): string {
  options ??= {};
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new RangeError("Cannot format date: it is invalid");
  }
  const offset = options.offset === "local" ? -date.getTimezoneOffset() : options.offset ?? 0;
  if (!Number.isInteger(offset) || Math.abs(offset) >= 1440) {
    throw new RangeError(`Cannot format date: offset ${offset} is not whole minutes within a day`);
  }
  const shifted = new Date(date.getTime() + offset * 60000);
  const year = shifted.getUTCFullYear();
  if (year < 1900 || year > 9999) {
    throw new RangeError(`Cannot format date: year ${year} is outside 1900-9999`);
  }
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${DAY_NAMES[shifted.getUTCDay()]}, ${pad(shifted.getUTCDate())} ${
    MONTH_NAMES[shifted.getUTCMonth()]
  } ${year} ${pad(shifted.getUTCHours())}:${pad(shifted.getUTCMinutes())}:${
    pad(shifted.getUTCSeconds())
  } ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}
