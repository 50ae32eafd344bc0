/**
 * Name and flag rules shared by the mail stores: user names, folder names
 * (delimiter `.`), system flags and keywords, POP3 unique ids.
 *
 * @module
 */
import { MailStoreError } from "./mail_store_error.ts";

/** The most characters in a folder name. */
export const MAX_FOLDER_NAME_LENGTH = 200;
/** The most UTF-8 bytes in a user name. */
export const MAX_USER_NAME_BYTES = 255;
/** The most characters in a keyword. */
export const MAX_KEYWORD_LENGTH = 128;
/** The most keywords on one message. */
export const MAX_KEYWORDS_PER_MESSAGE = 64;

const SYSTEM_FLAGS = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"] as const;
const SYSTEM_BY_LOWER = new Map<string, string>(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));
// C0, DEL and C1 controls.
// deno-lint-ignore no-control-regex
const CONTROL_REGEXP = /[\u0000-\u001f\u007f-\u009f]/;
// IMAP atom-char (RFC 3501 §9): printable ASCII without atom-specials and `]`.
// deno-lint-ignore no-control-regex
const KEYWORD_REGEXP = /^[^\u0000-\u0020\u007f-\uffff(){%*"\\\]]+$/;
const encoder = new TextEncoder();

/** Quotes a name for an error message, escaping control characters. */
export function quoteName(name: string): string {
  return JSON.stringify(name);
}

/**
 * Checks a user name: 1 to 255 UTF-8 bytes, no `/`, no control characters,
 * not starting with `.`.
 */
export function checkUser(user: string): string {
  if (typeof user !== "string") throw new TypeError("Cannot use user name: it is not a string");
  const reason = user.length === 0
    ? "it is empty"
    : encoder.encode(user).length > MAX_USER_NAME_BYTES
    ? `it exceeds ${MAX_USER_NAME_BYTES} bytes`
    : user.includes("/")
    ? "it contains /"
    : CONTROL_REGEXP.test(user)
    ? "it contains a control character"
    : user.startsWith(".")
    ? "it starts with ."
    : !user.isWellFormed()
    ? "it contains an unpaired surrogate"
    : undefined;
  if (reason !== undefined) {
    throw new MailStoreError("BAD_NAME", `Cannot use user name ${quoteName(user)}: ${reason}`);
  }
  return user;
}

/**
 * Checks a folder name and returns its canonical spelling (`INBOX` in upper
 * case, also as the first level).
 */
export function checkFolder(folder: string): string {
  if (typeof folder !== "string") {
    throw new TypeError("Cannot use folder name: it is not a string");
  }
  const reason = folder.length === 0
    ? "it is empty"
    : folder.length > MAX_FOLDER_NAME_LENGTH
    ? `it exceeds ${MAX_FOLDER_NAME_LENGTH} characters`
    : CONTROL_REGEXP.test(folder)
    ? "it contains a control character"
    : folder.includes("/")
    ? "it contains /"
    : /[*%]/.test(folder)
    ? "it contains a wildcard"
    : !folder.isWellFormed()
    ? "it contains an unpaired surrogate"
    : folder.split(".").some((level) => level === "")
    ? "it has an empty level"
    : undefined;
  if (reason !== undefined) {
    throw new MailStoreError("BAD_NAME", `Cannot use folder name ${quoteName(folder)}: ${reason}`);
  }
  const dot = folder.indexOf(".");
  const first = dot === -1 ? folder : folder.slice(0, dot);
  if (first.toUpperCase() === "INBOX" && first !== "INBOX") {
    return "INBOX" + (dot === -1 ? "" : folder.slice(dot));
  }
  return folder;
}

/** The parent levels of a folder name: `a.b.c` → `a`, `a.b`. */
export function parentsOf(folder: string): string[] {
  const levels = folder.split(".");
  const parents: string[] = [];
  for (let i = 1; i < levels.length; i++) parents.push(levels.slice(0, i).join("."));
  return parents;
}

/**
 * Validates and canonicalizes flags: system flags get their standard
 * spelling, keywords are deduplicated case-insensitively (first spelling
 * wins). Throws `"BAD_FLAG"` for `\Recent`, unknown `\` flags and bad atoms.
 */
export function checkFlags(flags: readonly string[]): string[] {
  if (!Array.isArray(flags)) throw new TypeError("Cannot use flags: they are not an array");
  const out: string[] = [];
  const seen = new Set<string>();
  for (const flag of flags) {
    if (typeof flag !== "string") throw new TypeError("Cannot use flag: it is not a string");
    const lower = flag.toLowerCase();
    if (flag.startsWith("\\")) {
      const system = SYSTEM_BY_LOWER.get(lower);
      if (system === undefined) {
        throw new MailStoreError(
          "BAD_FLAG",
          `Cannot set flag ${quoteName(flag)}: it is not settable`,
        );
      }
      if (!seen.has(lower)) out.push(system);
    } else {
      if (flag.length > MAX_KEYWORD_LENGTH) {
        throw new MailStoreError(
          "BAD_FLAG",
          `Cannot set keyword ${
            quoteName(flag.slice(0, 20))
          }...: it exceeds ${MAX_KEYWORD_LENGTH} characters`,
        );
      }
      if (!KEYWORD_REGEXP.test(flag)) {
        throw new MailStoreError(
          "BAD_FLAG",
          `Cannot set keyword ${quoteName(flag)}: it is not an atom`,
        );
      }
      if (!seen.has(lower)) out.push(flag);
    }
    seen.add(lower);
  }
  return out;
}

/** Whether a canonical flag is a system flag. */
export function isSystemFlag(flag: string): boolean {
  return flag.startsWith("\\");
}

/**
 * Combines present and given canonical flags by mode and returns them in
 * report order: system flags in {@linkcode SYSTEM_FLAGS} order, then
 * keywords sorted. Throws `"LIMIT"` past {@linkcode MAX_KEYWORDS_PER_MESSAGE}.
 */
export function combineFlags(
  present: readonly string[],
  given: readonly string[],
  mode: "add" | "remove" | "replace",
): string[] {
  let result: string[];
  if (mode === "replace") {
    result = [...given];
  } else if (mode === "add") {
    const lower = new Set(present.map((f) => f.toLowerCase()));
    result = [...present, ...given.filter((f) => !lower.has(f.toLowerCase()))];
  } else {
    const drop = new Set(given.map((f) => f.toLowerCase()));
    result = present.filter((f) => !drop.has(f.toLowerCase()));
  }
  return orderFlags(result);
}

/** Sorts canonical, deduplicated flags into report order and checks the keyword limit. */
export function orderFlags(flags: readonly string[]): string[] {
  const system = SYSTEM_FLAGS.filter((f) => flags.includes(f));
  const keywords = flags.filter((f) => !isSystemFlag(f)).sort();
  if (keywords.length > MAX_KEYWORDS_PER_MESSAGE) {
    throw new MailStoreError(
      "LIMIT",
      `Cannot set flags: ${keywords.length} keywords exceed ${MAX_KEYWORDS_PER_MESSAGE} per message`,
    );
  }
  return [...system, ...keywords];
}

/** Whether two report-ordered flag lists are equal. */
export function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

/** The POP3 unique id: `%08Xu%08Xv` as in Dovecot. */
export function uniqueIdOf(uid: number, uidValidity: number): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");
  return hex(uid) + hex(uidValidity);
}

/** Checks a list of UIDs: positive 32-bit integers. Returns them sorted and deduplicated. */
export function checkUids(uids: readonly number[]): number[] {
  if (!Array.isArray(uids)) throw new TypeError("Cannot use UIDs: they are not an array");
  for (const uid of uids) {
    if (!Number.isInteger(uid) || uid < 1 || uid > 0xffffffff) {
      throw new RangeError(`Cannot use UID ${uid}: it is not an integer from 1 to 4294967295`);
    }
  }
  return [...new Set(uids)].sort((a, b) => a - b);
}
