/**
 * The `inetkit-uidlist` file of a Maildir folder, and the import of an
 * existing `dovecot-uidlist`.
 *
 * Format (UTF-8, LF line ends): a header line, then one record per line.
 *
 * ```text
 * inetkit-uidlist 2 V<uidValidity> N<uidNext> R<firstRecentUid>
 * <uid> TAB <size> TAB <internal date, seconds> TAB <base name> TAB <keywords, space-separated>
 * -<uid>
 * R<firstRecentUid>
 * N<uidNext>
 * ```
 *
 * The file is a log: a compaction writes the header and one entry line per
 * message, ascending by UID, and replaces the file atomically; later
 * changes are appended. An entry line for a UID not seen yet adds a
 * message (its UID is above every UID seen before); one for a known UID
 * replaces its data (new keywords); `-<uid>` removes a message; `R` and
 * `N` move the first recent UID and raise the next UID. The next UID is
 * never below one more than the highest UID the file mentions, so a UID
 * that was handed out is never handed out again.
 *
 * An append cut short (a crash during `write`) leaves a last line without
 * its LF: that line is ignored, the rest stands. Anything else that does
 * not parse makes the whole file count as foreign or damaged.
 *
 * Version 1 files (the same header with `1`, entry lines only, no
 * appends) are read too.
 *
 * The base name is the file name before the `:` of the info suffix, so
 * renames that change flags keep the UID. Keywords live here because the
 * Maildir info suffix has no room for them (Dovecot's letters `a`-`z` are
 * kept but not interpreted).
 *
 * @module
 */

/** The data the uidlist keeps per message. */
export interface UidlistEntry {
  uid: number;
  size: number;
  /** Milliseconds since the epoch, whole seconds. */
  internalDate: number;
  keywords: string[];
}

/** A parsed uidlist. */
export interface Uidlist {
  uidValidity: number;
  uidNext: number;
  firstRecent: number;
  /** Entries by base name, ascending by UID. */
  entries: Map<string, UidlistEntry>;
  /** How many lines the file has after its header (appends included). */
  lines: number;
  /** Whether the last line was cut short and ignored. */
  torn: boolean;
}

/** The header fields of a uidlist. */
export interface UidlistHeader {
  uidValidity: number;
  uidNext: number;
  firstRecent: number;
}

const HEADER_REGEXP = /^inetkit-uidlist ([12]) V(\d{1,10}) N(\d{1,10}) R(\d{1,10})$/;
const UID_REGEXP = /^\d{1,10}$/;
const SIZE_REGEXP = /^\d{1,15}$/;
const DATE_REGEXP = /^\d{1,12}$/;
const MAX_UID = 0xffffffff;

/** The entry line of one message, LF included. */
export function formatUidlistEntry(r: { base: string } & UidlistEntry): string {
  return `${r.uid}\t${r.size}\t${Math.floor(r.internalDate / 1000)}\t${r.base}\t${
    r.keywords.join(" ")
  }\n`;
}

/** Serializes a whole uidlist (a compaction); `records` must be ascending by UID. */
export function formatUidlist(
  header: UidlistHeader,
  records: Iterable<{ base: string } & UidlistEntry>,
): string {
  let text = `inetkit-uidlist 2 V${header.uidValidity} N${header.uidNext} R${header.firstRecent}\n`;
  for (const r of records) text += formatUidlistEntry(r);
  return text;
}

/**
 * Parses a uidlist, or returns `undefined` when it is malformed (a foreign
 * or damaged file): the caller then starts over with a new UID validity,
 * which tells IMAP clients to forget their cached UIDs. A last line
 * without LF (an append cut short) is ignored in version 2.
 */
export function parseUidlist(text: string): Uidlist | undefined {
  const headerEnd = text.indexOf("\n");
  if (headerEnd === -1) return undefined;
  const header = HEADER_REGEXP.exec(text.slice(0, headerEnd));
  if (header === null) return undefined;
  const version = Number(header[1]);
  const uidValidity = Number(header[2]);
  let uidNext = Number(header[3]);
  let firstRecent = Number(header[4]);
  if (uidValidity < 1 || uidValidity > MAX_UID || uidNext < 1 || uidNext > MAX_UID + 1) {
    return undefined;
  }
  if (firstRecent < 1 || firstRecent > uidNext) return undefined;
  let body = text.slice(headerEnd + 1);
  let torn = false;
  if (body !== "" && !body.endsWith("\n")) {
    if (version === 1) return undefined;
    body = body.slice(0, body.lastIndexOf("\n") + 1);
    torn = true;
  }
  const lines = body === "" ? [] : body.slice(0, -1).split("\n");
  const entries = new Map<string, UidlistEntry>();
  const baseOf = new Map<number, string>();
  // The highest UID the file mentions: in version 1 below uidNext, in version 2 it raises it.
  let highest = 0;
  for (const line of lines) {
    const first = line.charCodeAt(0);
    if (version === 2 && (first === 0x2d || first === 0x52 || first === 0x4e)) {
      // "-<uid>", "R<uid>", "N<uid>"
      const digits = line.slice(1);
      if (!UID_REGEXP.test(digits)) return undefined;
      const value = Number(digits);
      if (first === 0x2d) {
        if (value < 1 || value > MAX_UID) return undefined;
        highest = Math.max(highest, value);
        const base = baseOf.get(value);
        if (base !== undefined) {
          entries.delete(base);
          baseOf.delete(value);
        }
      } else if (first === 0x52) {
        if (value < 1 || value > MAX_UID + 1) return undefined;
        firstRecent = value;
      } else {
        if (value < 1 || value > MAX_UID + 1) return undefined;
        uidNext = Math.max(uidNext, value);
      }
      continue;
    }
    const fields = line.split("\t");
    if (fields.length !== 5) return undefined;
    const [uidText, sizeText, dateText, base, keywordText] = fields as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (!UID_REGEXP.test(uidText) || !SIZE_REGEXP.test(sizeText) || !DATE_REGEXP.test(dateText)) {
      return undefined;
    }
    const uid = Number(uidText);
    if (uid < 1 || uid > MAX_UID || base === "") return undefined;
    const entry: UidlistEntry = {
      uid,
      size: Number(sizeText),
      internalDate: Number(dateText) * 1000,
      keywords: keywordText === "" ? [] : keywordText.split(" "),
    };
    const known = baseOf.get(uid);
    if (known !== undefined && version === 2) {
      // A later line for a known message: its new data (same file).
      if (known !== base) return undefined;
      entries.set(base, entry);
      continue;
    }
    if (uid <= highest || entries.has(base)) return undefined;
    if (version === 1 && uid >= uidNext) return undefined;
    highest = uid;
    entries.set(base, entry);
    baseOf.set(uid, base);
  }
  if (highest >= uidNext) uidNext = highest + 1;
  if (uidNext > MAX_UID + 1 || firstRecent > uidNext) return undefined;
  return { uidValidity, uidNext, firstRecent, entries, lines: lines.length, torn };
}

/** What a `dovecot-uidlist` gives: the UID validity, the next UID and UIDs by base name. */
export interface DovecotUidlist {
  uidValidity: number;
  uidNext: number;
  entries: Map<string, { uid: number; size: number | undefined }>;
}

/**
 * Parses a Dovecot `dovecot-uidlist` (versions 1 and 3), so that a Maildir
 * Dovecot served keeps its UIDs. Returns `undefined` when it is malformed.
 */
export function parseDovecotUidlist(text: string): DovecotUidlist | undefined {
  const lines = text.split("\n");
  const head = (lines[0] ?? "").split(" ");
  let uidValidity: number;
  let uidNext: number;
  let version: number;
  if (head[0] === "3") {
    version = 3;
    const v = head.find((f) => /^V\d+$/.test(f));
    const n = head.find((f) => /^N\d+$/.test(f));
    if (v === undefined || n === undefined) return undefined;
    uidValidity = Number(v.slice(1));
    uidNext = Number(n.slice(1));
  } else if (head[0] === "1" && head.length >= 3) {
    version = 1;
    uidValidity = Number(head[1]);
    uidNext = Number(head[2]);
  } else {
    return undefined;
  }
  if (!(uidValidity >= 1 && uidValidity <= MAX_UID) || !(uidNext >= 1 && uidNext <= MAX_UID + 1)) {
    return undefined;
  }
  const entries = new Map<string, { uid: number; size: number | undefined }>();
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    let uidText: string;
    let base: string;
    let size: number | undefined;
    if (version === 3) {
      const colon = line.indexOf(" :");
      if (colon === -1) return undefined;
      const fields = line.slice(0, colon).split(" ");
      uidText = fields[0]!;
      base = line.slice(colon + 2);
      const w = fields.find((f) => /^W\d+$/.test(f));
      if (w !== undefined) size = Number(w.slice(1));
    } else {
      const space = line.indexOf(" ");
      if (space === -1) return undefined;
      uidText = line.slice(0, space);
      base = line.slice(space + 1);
    }
    if (!/^\d{1,10}$/.test(uidText)) return undefined;
    const uid = Number(uidText);
    if (uid < 1 || uid >= uidNext) return undefined;
    const colon = base.indexOf(":");
    entries.set(colon === -1 ? base : base.slice(0, colon), { uid, size });
  }
  return { uidValidity, uidNext, entries };
}
