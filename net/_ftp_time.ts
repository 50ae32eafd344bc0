/**
 * FTP times: the RFC 3659 §2.3 `time-val` (`YYYYMMDDHHMMSS[.sss]`, always
 * UTC) of `MDTM`, `MFMT` and the MLSx `modify` fact, and wall-clock times of
 * `LIST` output in a server's time zone.
 *
 * @module
 */

const TIME_VAL_REGEXP = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?$/;
const OFFSET_REGEXP = /^([+-])(\d{2}):?(\d{2})$/;
const DAY_MS = 86_400_000;

/** Whether a year/month/day (month 1-12) names a real calendar day. */
function isRealDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const days = [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return day <= days[month - 1]!;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * The UTC instant of a wall-clock time, with years below 100 kept as they
 * are (`Date.UTC` would read 23 as 1923).
 */
function utcMillis(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millisecond: number,
): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millisecond);
  return date.getTime();
}

/**
 * Parses an RFC 3659 §2.3 `time-val`: 14 digits of UTC date and time and an
 * optional fraction of a second (kept to the millisecond). The ranges are
 * checked: month 1-12, a day that exists in that month, hour 0-23, minute
 * 0-59 and second 0-60 (60 is a leap second, read as the next minute).
 *
 * @param text The time value, such as `"20231114221320"` or `"20231114221320.5"`.
 * @returns The date, or `null` when the text is not a valid time value.
 *
 * @example Reading an MDTM time
 * ```ts
 * import { parseFtpTime } from "./_ftp_time.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseFtpTime("20231114221320.25")?.toISOString(), "2023-11-14T22:13:20.250Z");
 * assertEquals(parseFtpTime("20231131000000"), null);
 * ```
 */
export function parseFtpTime(text: string): Date | null {
  const match = TIME_VAL_REGEXP.exec(text);
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!isRealDay(year, month, day) || hour > 23 || minute > 59 || second > 60) return null;
  const millisecond = match[7] === undefined ? 0 : Number(match[7].slice(0, 3).padEnd(3, "0"));
  return new Date(utcMillis(year, month, day, hour, minute, second, millisecond));
}

/** Options for {@linkcode formatFtpTime}. */
export interface FormatFtpTimeOptions {
  /**
   * Append the milliseconds (`.sss`) when they are not zero.
   *
   * @default {false}
   */
  milliseconds?: boolean;
}

/**
 * Formats a date as an RFC 3659 §2.3 `time-val` in UTC, for `MDTM` replies,
 * `MFMT` arguments and the MLSx `modify` fact.
 *
 * @param date The date; without `milliseconds`, its fraction of a second is dropped.
 * @param options Whether to keep milliseconds.
 * @returns The 14-digit time value, with `.sss` when asked for and not zero.
 * @throws {RangeError} If the date is invalid or its year is outside 0-9999.
 *
 * @example Formatting a modification time
 * ```ts
 * import { formatFtpTime } from "./_ftp_time.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const date = new Date("2023-11-14T22:13:20.250Z");
 * assertEquals(formatFtpTime(date), "20231114221320");
 * assertEquals(formatFtpTime(date, { milliseconds: true }), "20231114221320.250");
 * ```
 */
export function formatFtpTime(date: Date, options: FormatFtpTimeOptions = {}): string {
  const time = date.getTime();
  if (Number.isNaN(time)) throw new RangeError("Cannot format FTP time: the date is invalid");
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) {
    throw new RangeError(`Cannot format FTP time: year ${year} is outside 0-9999`);
  }
  const two = (n: number) => String(n).padStart(2, "0");
  const text = String(year).padStart(4, "0") + two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) + two(date.getUTCHours()) + two(date.getUTCMinutes()) +
    two(date.getUTCSeconds());
  const ms = date.getUTCMilliseconds();
  return options.milliseconds && ms !== 0 ? `${text}.${String(ms).padStart(3, "0")}` : text;
}

/** Maps a wall-clock time in one time zone to a UTC instant. */
export interface FtpZone {
  /** The zone as given, for messages. */
  readonly name: string;
  /**
   * The UTC instant of a wall-clock time in this zone, or `null` when the
   * date does not exist (February 30). A time that a daylight-saving change
   * skips or repeats maps to an instant within an hour of it.
   */
  toDate(
    year: number,
    month: number,
    day: number,
    hour: number,
    minute: number,
    second: number,
  ): Date | null;
}

const zones = new Map<string, FtpZone>();

/**
 * Returns the zone for a name: `"UTC"`, `"Z"`, a fixed offset such as
 * `"+02:00"` or `"-0800"`, or an IANA name such as `"Europe/Berlin"`.
 *
 * @param name The time zone.
 * @returns The zone.
 * @throws {RangeError} If the name is not a time zone the runtime knows.
 *
 * @example Reading a wall-clock time in Berlin
 * ```ts
 * import { ftpZone } from "./_ftp_time.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const date = ftpZone("Europe/Berlin").toDate(2023, 11, 14, 22, 13, 0);
 * assertEquals(date?.toISOString(), "2023-11-14T21:13:00.000Z");
 * ```
 */
export function ftpZone(name: string): FtpZone {
  const cached = zones.get(name);
  if (cached !== undefined) return cached;
  const zone = makeZone(name);
  if (zones.size < 64) zones.set(name, zone);
  return zone;
}

function makeZone(name: string): FtpZone {
  const upper = name.toUpperCase();
  const offsetMatch = OFFSET_REGEXP.exec(name);
  let offsetAt: (utc: number) => number;
  if (upper === "UTC" || upper === "Z" || upper === "GMT") {
    offsetAt = () => 0;
  } else if (offsetMatch !== null) {
    const hours = Number(offsetMatch[2]);
    const minutes = Number(offsetMatch[3]);
    if (hours > 23 || minutes > 59) {
      throw new RangeError(`Cannot use time zone ${JSON.stringify(name)}: offset out of range`);
    }
    const offset = (offsetMatch[1] === "-" ? -1 : 1) * (hours * 60 + minutes) * 60_000;
    offsetAt = () => offset;
  } else {
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: name,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
        era: "short",
      });
    } catch (cause) {
      throw new RangeError(`Cannot use time zone ${JSON.stringify(name)}: unknown time zone`, {
        cause,
      });
    }
    offsetAt = (utc) => {
      const parts: Record<string, string> = {};
      for (const part of format.formatToParts(new Date(utc))) parts[part.type] = part.value;
      let year = Number(parts.year);
      if (parts.era === "BC" || parts.era === "B") year = 1 - year;
      const wall = utcMillis(
        year,
        Number(parts.month),
        Number(parts.day),
        Number(parts.hour),
        Number(parts.minute),
        Number(parts.second),
        0,
      );
      return wall - (utc - (((utc % 1000) + 1000) % 1000));
    };
  }
  return {
    name,
    toDate(year, month, day, hour, minute, second) {
      if (!isRealDay(year, month, day)) return null;
      const wall = utcMillis(year, month, day, hour, minute, second, 0);
      // Two rounds find the offset in force at the instant itself.
      let offset = offsetAt(wall - offsetAt(wall));
      const again = offsetAt(wall - offset);
      if (again !== offset) offset = Math.max(offset, again);
      return new Date(wall - offset);
    },
  };
}

/**
 * The year of a `Mon DD HH:MM` listing date, which has none: the latest of
 * the candidate years whose date is not more than about six months (183
 * days) after `now`, the rule `ls` uses in reverse (it prints the time
 * instead of the year for dates within the last six months).
 *
 * @param zone The listing's time zone.
 * @param now The reference time.
 * @param wall Month (1-12), day, hour, minute of the listing.
 * @returns The date, or `null` when the day exists in none of the candidate years.
 */
export function inferListingYear(
  zone: FtpZone,
  now: Date,
  month: number,
  day: number,
  hour: number,
  minute: number,
): Date | null {
  const limit = now.getTime() + 183 * DAY_MS;
  const base = now.getUTCFullYear() + 1;
  // Eight years back reaches a leap year for February 29.
  for (let year = base; year >= base - 9; year--) {
    const date = zone.toDate(year, month, day, hour, minute, 0);
    if (date !== null && date.getTime() <= limit) return date;
  }
  return null;
}
