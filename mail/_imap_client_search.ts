/**
 * SEARCH criteria (RFC 3501 §6.4.4, RFC 9051 §6.4.4) as an object, compiled
 * into command parts: every string goes as a quoted string or a literal,
 * never as raw text, so no value can change the command.
 *
 * @module
 */
import {
  formatImapAstring,
  formatImapDate,
  formatImapSequenceSet,
  type ImapCommandPart,
  type ImapSequenceItem,
  type ImapStringOptions,
} from "./imap_string.ts";

/** A sequence set as {@linkcode formatImapSequenceSet} takes it. */
export type ImapSequenceSetInput = string | ImapSequenceItem | readonly ImapSequenceItem[];

/**
 * Search criteria; every key given must match (AND). A boolean flag key
 * matches the flag set (`true`) or not set (`false`): `seen: false` is
 * `UNSEEN`. Strings match as substrings, case-insensitively on most servers.
 */
export interface ImapSearchCriteria {
  /** `ALL`: every message. */
  all?: boolean;
  /** Messages with these sequence numbers. */
  seq?: ImapSequenceSetInput;
  /** `UID set`: messages with these UIDs. */
  uid?: ImapSequenceSetInput;
  /** `SEEN` / `UNSEEN`. */
  seen?: boolean;
  /** `ANSWERED` / `UNANSWERED`. */
  answered?: boolean;
  /** `FLAGGED` / `UNFLAGGED`. */
  flagged?: boolean;
  /** `DELETED` / `UNDELETED`. */
  deleted?: boolean;
  /** `DRAFT` / `UNDRAFT`. */
  draft?: boolean;
  /** `RECENT` / `OLD` (IMAP4rev1 only). */
  recent?: boolean;
  /** `NEW`: recent and unseen (IMAP4rev1 only). */
  new?: boolean;
  /** `KEYWORD k` for each. */
  keyword?: string | readonly string[];
  /** `UNKEYWORD k` for each. */
  unkeyword?: string | readonly string[];
  /** `FROM text`. */
  from?: string;
  /** `TO text`. */
  to?: string;
  /** `CC text`. */
  cc?: string;
  /** `BCC text`. */
  bcc?: string;
  /** `SUBJECT text`. */
  subject?: string;
  /** `BODY text`. */
  body?: string;
  /** `TEXT text`: header or body. */
  text?: string;
  /** `HEADER name text` for each pair; an empty text matches any message with the field. */
  header?: Readonly<Record<string, string>> | readonly (readonly [string, string])[];
  /** `SINCE date`: internal date on or after the UTC day. */
  since?: Date;
  /** `BEFORE date`: internal date before the UTC day. */
  before?: Date;
  /** `ON date`: internal date on the UTC day. */
  on?: Date;
  /** `SENTSINCE date`: the Date header on or after the day. */
  sentSince?: Date;
  /** `SENTBEFORE date`. */
  sentBefore?: Date;
  /** `SENTON date`. */
  sentOn?: Date;
  /** `LARGER n`: RFC822.SIZE larger than n. */
  larger?: number;
  /** `SMALLER n`. */
  smaller?: number;
  /** `MODSEQ n` (RFC 7162): changed at or after the mod-sequence. */
  modseq?: bigint | number;
  /** `NOT (...)`. */
  not?: ImapSearchCriteria;
  /** `OR (...) (...)`. */
  or?: readonly [ImapSearchCriteria, ImapSearchCriteria];
}

/** The compiled criteria. */
export interface CompiledSearch {
  /** The parts, without leading space. */
  parts: ImapCommandPart[];
  /** Whether a string is not ASCII (needs `CHARSET UTF-8` unless UTF8=ACCEPT). */
  nonAscii: boolean;
}

const FLAG_KEYS: readonly [keyof ImapSearchCriteria, string, string][] = [
  ["seen", "SEEN", "UNSEEN"],
  ["answered", "ANSWERED", "UNANSWERED"],
  ["flagged", "FLAGGED", "UNFLAGGED"],
  ["deleted", "DELETED", "UNDELETED"],
  ["draft", "DRAFT", "UNDRAFT"],
  ["recent", "RECENT", "OLD"],
];
const STRING_KEYS: readonly [keyof ImapSearchCriteria, string][] = [
  ["from", "FROM"],
  ["to", "TO"],
  ["cc", "CC"],
  ["bcc", "BCC"],
  ["subject", "SUBJECT"],
  ["body", "BODY"],
  ["text", "TEXT"],
];
const DATE_KEYS: readonly [keyof ImapSearchCriteria, string][] = [
  ["since", "SINCE"],
  ["before", "BEFORE"],
  ["on", "ON"],
  ["sentSince", "SENTSINCE"],
  ["sentBefore", "SENTBEFORE"],
  ["sentOn", "SENTON"],
];
const KNOWN_KEYS = new Set<string>([
  "all",
  "seq",
  "uid",
  "new",
  "keyword",
  "unkeyword",
  "header",
  "larger",
  "smaller",
  "modseq",
  "not",
  "or",
  ...FLAG_KEYS.map((k) => k[0]),
  ...STRING_KEYS.map((k) => k[0]),
  ...DATE_KEYS.map((k) => k[0]),
]);
const KEYWORD_REGEXP = /^[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|}~]+$/;
const HEADER_NAME_REGEXP = /^[!-9;-~]+$/;
const FORBIDDEN_REGEXP = /[\r\n\0]/;

/**
 * Compiles criteria into parts (`UNSEEN FROM "x" SINCE 1-Feb-2024`).
 *
 * @throws {TypeError} For an unknown key, a value with CR, LF or NUL, a bad
 *   keyword or header name, or empty criteria.
 * @throws {RangeError} For a bad number or date.
 */
export function compileSearch(
  criteria: ImapSearchCriteria,
  options: ImapStringOptions,
): CompiledSearch {
  const state = { nonAscii: false };
  const words = compile(criteria, options, state, 0);
  if (words.length === 0) throw new TypeError("Cannot search: the criteria are empty");
  const parts: ImapCommandPart[] = [];
  words.forEach((word, i) => {
    if (i > 0) parts.push({ type: "text", text: " " });
    parts.push(...word);
  });
  return { parts, nonAscii: state.nonAscii };
}

function compile(
  c: ImapSearchCriteria,
  options: ImapStringOptions,
  state: { nonAscii: boolean },
  depth: number,
): ImapCommandPart[][] {
  if (depth > 32) throw new TypeError("Cannot search: the criteria nest too deeply");
  if (c === null || typeof c !== "object") {
    throw new TypeError("Cannot search: the criteria are not an object");
  }
  for (const key of Object.keys(c)) {
    if (!KNOWN_KEYS.has(key)) throw new TypeError(`Cannot search: unknown criterion ${key}`);
  }
  const out: ImapCommandPart[][] = [];
  const word = (text: string) => out.push([{ type: "text", text }]);
  const string = (value: unknown, what: string): ImapCommandPart[] => {
    if (typeof value !== "string") throw new TypeError(`Cannot search: ${what} is not a string`);
    if (FORBIDDEN_REGEXP.test(value)) {
      throw new TypeError(`Cannot search: ${what} ${JSON.stringify(value)} holds CR, LF or NUL`);
    }
    // deno-lint-ignore no-control-regex
    if (/[^\x00-\x7f]/.test(value)) state.nonAscii = true;
    return formatImapAstring(value, { ...options, atom: false });
  };
  if (c.all === true) word("ALL");
  if (c.seq !== undefined) word(formatImapSequenceSet(c.seq));
  if (c.uid !== undefined) word(`UID ${formatImapSequenceSet(c.uid)}`);
  for (const [key, yes, no] of FLAG_KEYS) {
    const v = c[key];
    if (v === undefined) continue;
    if (typeof v !== "boolean") throw new TypeError(`Cannot search: ${key} is not a boolean`);
    word(v ? yes : no);
  }
  if (c.new === true) word("NEW");
  for (const [key, name] of [["keyword", "KEYWORD"], ["unkeyword", "UNKEYWORD"]] as const) {
    const v = c[key];
    if (v === undefined) continue;
    for (const k of typeof v === "string" ? [v] : v) {
      if (typeof k !== "string" || !KEYWORD_REGEXP.test(k)) {
        throw new TypeError(`Cannot search: ${JSON.stringify(k)} is not a keyword`);
      }
      word(`${name} ${k}`);
    }
  }
  for (const [key, name] of STRING_KEYS) {
    const v = c[key];
    if (v === undefined) continue;
    out.push([{ type: "text", text: `${name} ` }, ...string(v, key)]);
  }
  if (c.header !== undefined) {
    const pairs = Array.isArray(c.header)
      ? c.header as readonly (readonly [string, string])[]
      : Object.entries(c.header);
    for (const [name, value] of pairs) {
      if (typeof name !== "string" || !HEADER_NAME_REGEXP.test(name)) {
        throw new TypeError(`Cannot search: ${JSON.stringify(name)} is not a header name`);
      }
      out.push([
        { type: "text", text: "HEADER " },
        ...string(name, "header name"),
        { type: "text", text: " " },
        ...string(value, `header ${name}`),
      ]);
    }
  }
  for (const [key, name] of DATE_KEYS) {
    const v = c[key];
    if (v === undefined) continue;
    if (!(v instanceof Date)) throw new TypeError(`Cannot search: ${key} is not a Date`);
    word(`${name} ${formatImapDate(v, { form: "date" })}`);
  }
  for (const [key, name] of [["larger", "LARGER"], ["smaller", "SMALLER"]] as const) {
    const v = c[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`Cannot search: ${key} ${v} is not a non-negative integer`);
    }
    word(`${name} ${v}`);
  }
  if (c.modseq !== undefined) {
    const v = BigInt(c.modseq);
    if (v < 0n || v > 9223372036854775807n) {
      throw new RangeError(`Cannot search: modseq ${v} is out of range`);
    }
    word(`MODSEQ ${v}`);
  }
  if (c.not !== undefined) out.push([{ type: "text", text: "NOT " }, ...group(c.not)]);
  if (c.or !== undefined) {
    if (!Array.isArray(c.or) || c.or.length !== 2) {
      throw new TypeError("Cannot search: or needs exactly two criteria");
    }
    out.push([
      { type: "text", text: "OR " },
      ...group(c.or[0]),
      { type: "text", text: " " },
      ...group(c.or[1]),
    ]);
  }
  return out;

  function group(inner: ImapSearchCriteria): ImapCommandPart[] {
    const words = compile(inner, options, state, depth + 1);
    if (words.length === 0) throw new TypeError("Cannot search: nested criteria are empty");
    const parts: ImapCommandPart[] = [{ type: "text", text: "(" }];
    words.forEach((w, i) => {
      if (i > 0) parts.push({ type: "text", text: " " });
      parts.push(...w);
    });
    parts.push({ type: "text", text: ")" });
    return parts;
  }
}
