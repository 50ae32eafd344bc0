/**
 * The `inetkit-uidlist` file of a Maildir folder, and the import of an
 * existing `dovecot-uidlist`.
 *
 * Format (UTF-8, LF line ends):
 *
 * ```text
 * inetkit-uidlist 1 V<uidValidity> N<uidNext> R<firstRecentUid>
 * <uid> TAB <size> TAB <internal date, seconds> TAB <base name> TAB <keywords, space-separated>
 * ```
 *
 * One line per message, ascending by UID. The base name is the file name
 * before the `:` of the info suffix, so renames that change flags keep the
 * UID. Keywords live here because the Maildir info suffix has no room for
 * them (Dovecot's letters `a`-`z` are kept but not interpreted).
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
  /** Entries by base name. */
  entries: Map<string, UidlistEntry>;
}

const HEADER_REGEXP = /^inetkit-uidlist 1 V(\d{1,10}) N(\d{1,10}) R(\d{1,10})$/;
const MAX_UID = 0xffffffff;

/** Serializes a uidlist; `records` must be ascending by UID. */
export function formatUidlist(
  header: { uidValidity: number; uidNext: number; firstRecent: number },
  records: Iterable<{ base: string } & UidlistEntry>,
): string {
  const lines = [
    `inetkit-uidlist 1 V${header.uidValidity} N${header.uidNext} R${header.firstRecent}`,
  ];
  for (const r of records) {
    lines.push(
      `${r.uid}\t${r.size}\t${Math.floor(r.internalDate / 1000)}\t${r.base}\t${
        r.keywords.join(" ")
      }`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Parses a uidlist, or returns `undefined` when any part of it is malformed
 * (a torn or foreign file): the caller then starts over with a new UID
 * validity, which tells IMAP clients to forget their cached UIDs.
 */
export function parseUidlist(text: string): Uidlist | undefined {
  if (!text.endsWith("\n")) return undefined;
  const lines = text.slice(0, -1).split("\n");
  const header = HEADER_REGEXP.exec(lines[0] ?? "");
  if (header === null) return undefined;
  const uidValidity = Number(header[1]);
  const uidNext = Number(header[2]);
  const firstRecent = Number(header[3]);
  if (uidValidity < 1 || uidValidity > MAX_UID || uidNext < 1 || uidNext > MAX_UID + 1) {
    return undefined;
  }
  if (firstRecent < 1 || firstRecent > uidNext) return undefined;
  const entries = new Map<string, UidlistEntry>();
  let last = 0;
  for (let i = 1; i < lines.length; i++) {
    const fields = lines[i]!.split("\t");
    if (fields.length !== 5) return undefined;
    const [uidText, sizeText, dateText, base, keywordText] = fields as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (
      !/^\d{1,10}$/.test(uidText) || !/^\d{1,15}$/.test(sizeText) || !/^\d{1,12}$/.test(dateText)
    ) {
      return undefined;
    }
    const uid = Number(uidText);
    if (uid <= last || uid >= uidNext || base === "" || entries.has(base)) return undefined;
    last = uid;
    entries.set(base, {
      uid,
      size: Number(sizeText),
      internalDate: Number(dateText) * 1000,
      keywords: keywordText === "" ? [] : keywordText.split(" "),
    });
  }
  return { uidValidity, uidNext, firstRecent, entries };
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
