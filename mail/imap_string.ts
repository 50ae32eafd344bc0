/**
 * Encoding IMAP command arguments (RFC 3501 §4, RFC 9051 §4): atoms, quoted
 * strings and literals (synchronizing, LITERAL+/LITERAL- RFC 7888, literal8
 * RFC 3516), sequence sets, mailbox names (modified UTF-7 or UTF-8 under
 * UTF8=ACCEPT, RFC 6855), flag lists and dates. Everything is validated
 * before a byte is written: no argument can smuggle CR or LF into a command.
 *
 * @module
 */
import { encodeImapUtf7 } from "./imap_utf7.ts";

/** Text to write as it is (UTF-8). */
export interface ImapCommandText {
  /** The kind of part. */
  type: "text";
  /** The text; a literal's announcement (`{5}\r\n`) ends the text before it. */
  text: string;
}

/**
 * A literal's bytes. The text part before it ends with the announcement;
 * for a synchronizing literal the client must wait for the server's `+`
 * continuation between that text and these bytes (RFC 3501 §7.5).
 */
export interface ImapCommandLiteral {
  /** The kind of part. */
  type: "literal";
  /** The bytes to send. */
  data: Uint8Array;
  /** Whether the client must wait for `+` before sending the bytes. */
  synchronizing: boolean;
}

/** One piece of an encoded command. */
export type ImapCommandPart = ImapCommandText | ImapCommandLiteral;

/** Options for {@linkcode formatImapAstring} and the other string encoders. */
export interface ImapStringOptions {
  /**
   * Whether UTF8=ACCEPT is enabled (RFC 6855 / RFC 9051): UTF-8 may then go
   * in quoted strings; otherwise any 8-bit text goes as a literal.
   *
   * @default {false}
   */
  utf8?: boolean;
  /**
   * The non-synchronizing literals the server offers (RFC 7888):
   * `"LITERAL+"` allows `{n+}` of any size, `"LITERAL-"` up to 4096 bytes;
   * `null` sends only synchronizing literals.
   *
   * @default {null}
   */
  nonSynchronizing?: "LITERAL+" | "LITERAL-" | null;
  /**
   * The longest value (in UTF-8 bytes) sent as a quoted string; longer
   * values go as literals.
   *
   * @default {1024}
   */
  maxQuotedLength?: number;
  /**
   * Whether a value that is a valid atom may go as one (`astring`). False
   * forces a quoted string or literal (`string`, as SEARCH text needs).
   *
   * @default {true}
   */
  atom?: boolean;
}

/** Options for {@linkcode formatImapLiteral}. */
export interface ImapLiteralOptions {
  /** As in {@linkcode ImapStringOptions.nonSynchronizing}. @default {null} */
  nonSynchronizing?: "LITERAL+" | "LITERAL-" | null;
  /**
   * Send a literal8 `~{n}` (RFC 3516 BINARY, for APPEND), which may hold NUL.
   *
   * @default {false}
   */
  binary?: boolean;
}

const encoder = new TextEncoder();
/** RFC 3501 ATOM-CHAR, conservatively without `[` and `]`. */
const ATOM_REGEXP = /^[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|}~]+$/;
/** Characters a quoted string can carry as themselves or escaped (TEXT-CHAR, 7-bit). */
// deno-lint-ignore no-control-regex
const QUOTABLE_REGEXP = /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/;
const QUOTABLE_UTF8_REGEXP = /^[^\0\r\n]*$/u;
const NON_SYNC_MINUS_MAX = 4096;

function text(value: string): ImapCommandText {
  return { type: "text", text: value };
}

/**
 * Quotes a value as an IMAP quoted string, escaping `"` and `\`.
 *
 * @param value The text.
 * @param options `utf8` to allow 8-bit characters.
 * @returns The quoted string.
 * @throws {TypeError} If the value holds CR, LF or NUL, an 8-bit character
 *   without `utf8`, or a lone surrogate.
 *
 * @example Quoting a search term
 * ```ts
 * import { formatImapQuoted } from "@inetkit/inetkit/mail";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(formatImapQuoted('say "hi"'), '"say \\"hi\\""');
 * assertThrows(() => formatImapQuoted("a\r\nA2 DELETE INBOX"), TypeError);
 * ```
 */
export function formatImapQuoted(value: string, options?: { utf8?: boolean }): string {
  options ??= {};
  if (!value.isWellFormed()) {
    throw new TypeError(`Cannot quote ${JSON.stringify(value)}: it holds a lone surrogate`);
  }
  const ok = options.utf8 === true ? QUOTABLE_UTF8_REGEXP : QUOTABLE_REGEXP;
  if (!ok.test(value)) {
    throw new TypeError(
      `Cannot quote ${JSON.stringify(value)}: it holds CR, LF, NUL` +
        (options.utf8 === true ? "" : " or an 8-bit character"),
    );
  }
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Encodes a literal: the announcement (`{n}`, `{n+}` or `~{n}`) as a text
 * part, then the bytes. A non-synchronizing `{n+}` is used when the server
 * offers LITERAL+ (or LITERAL- and at most 4096 bytes).
 *
 * @param data The bytes.
 * @param options The server's non-synchronizing literals and whether this is literal8.
 * @returns The two parts.
 * @throws {TypeError} If the data holds NUL and is not a literal8.
 *
 * @example A synchronizing and a non-synchronizing literal
 * ```ts
 * import { formatImapLiteral } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const data = new TextEncoder().encode("hello");
 * assertEquals(formatImapLiteral(data), [
 *   { type: "text", text: "{5}\r\n" },
 *   { type: "literal", data, synchronizing: true },
 * ]);
 * assertEquals(formatImapLiteral(data, { nonSynchronizing: "LITERAL-", binary: true })[0], {
 *   type: "text",
 *   text: "~{5+}\r\n",
 * });
 * ```
 */
export function formatImapLiteral(
  data: Uint8Array,
  options?: ImapLiteralOptions,
): ImapCommandPart[] {
  options ??= {};
  const binary = options.binary === true;
  if (!binary && data.includes(0)) {
    throw new TypeError(
      "Cannot send literal: it holds NUL, which only a literal8 (~{n}) may carry",
    );
  }
  const mode = options.nonSynchronizing ?? null;
  const nonSync = mode === "LITERAL+" || (mode === "LITERAL-" && data.length <= NON_SYNC_MINUS_MAX);
  return [
    text(`${binary ? "~" : ""}{${data.length}${nonSync ? "+" : ""}}\r\n`),
    { type: "literal", data, synchronizing: !nonSync },
  ];
}

/**
 * Encodes a command argument as an `astring` (RFC 3501 §9): an atom when the
 * value is one (and not `NIL`), a quoted string when it can be one, else a
 * literal: for CR or LF, 8-bit text without UTF8=ACCEPT, or a value longer
 * than `maxQuotedLength`.
 *
 * @param value The text, or bytes (which go as a literal unless they are a
 *   short, quotable ASCII text).
 * @param options UTF8=ACCEPT, the server's non-synchronizing literals, the
 *   quoted-string length and whether atoms are allowed.
 * @returns The parts: text, and for a literal its announcement and bytes.
 * @throws {TypeError} If the value holds NUL (even a literal cannot carry
 *   it; see {@linkcode formatImapLiteral} for literal8) or a lone surrogate.
 *
 * @example A user name, a password with spaces, and one with a line break
 * ```ts
 * import { formatImapAstring } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatImapAstring("mulder"), [{ type: "text", text: "mulder" }]);
 * assertEquals(formatImapAstring("trust no 1"), [{ type: "text", text: '"trust no 1"' }]);
 * const parts = formatImapAstring("two\r\nlines", { nonSynchronizing: "LITERAL+" });
 * assertEquals(parts[0], { type: "text", text: "{10+}\r\n" });
 * assertEquals(parts[1]?.type === "literal" && parts[1].synchronizing, false);
 * ```
 */
export function formatImapAstring(
  value: string | Uint8Array,
  options?: ImapStringOptions,
): ImapCommandPart[] {
  options ??= {};
  const maxQuoted = options.maxQuotedLength ?? 1024;
  const literalOptions = { nonSynchronizing: options.nonSynchronizing ?? null };
  if (typeof value !== "string") {
    if (value.includes(0)) throw new TypeError("Cannot send string: it holds NUL");
    const ascii = value.length <= maxQuoted && value.every((b) => b < 0x80 && b !== 13 && b !== 10);
    if (!ascii) return formatImapLiteral(value, literalOptions);
    value = new TextDecoder().decode(value);
  }
  if (!value.isWellFormed()) {
    throw new TypeError(`Cannot send string ${JSON.stringify(value)}: it holds a lone surrogate`);
  }
  if (value.includes("\0")) {
    throw new TypeError(`Cannot send string ${JSON.stringify(value)}: it holds NUL`);
  }
  if (
    options.atom !== false && ATOM_REGEXP.test(value) && value.length <= maxQuoted &&
    value.toUpperCase() !== "NIL"
  ) {
    return [text(value)];
  }
  const bytes = encoder.encode(value);
  const quotable = bytes.length <= maxQuoted &&
    (options.utf8 === true ? QUOTABLE_UTF8_REGEXP : QUOTABLE_REGEXP).test(value);
  if (quotable) return [text(formatImapQuoted(value, { utf8: options.utf8 }))];
  return formatImapLiteral(bytes, literalOptions);
}

/** Options for {@linkcode formatImapMailbox}. */
export interface ImapMailboxOptions extends ImapStringOptions {}

/**
 * Encodes a mailbox name argument: modified UTF-7 (RFC 3501 §5.1.3) unless
 * UTF8=ACCEPT is enabled, then as an astring. `INBOX` is sent as `INBOX` in
 * any case.
 *
 * @param name The mailbox name as Unicode text.
 * @param options UTF8=ACCEPT and the literal options of {@linkcode formatImapAstring}.
 * @returns The parts.
 * @throws {TypeError} If the name is empty or holds CR, LF, NUL or a lone surrogate.
 *
 * @example Names in modified UTF-7 and under UTF8=ACCEPT
 * ```ts
 * import { formatImapMailbox } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatImapMailbox("Entwürfe"), [{ type: "text", text: "Entw&APw-rfe" }]);
 * assertEquals(formatImapMailbox("Sent Items"), [{ type: "text", text: '"Sent Items"' }]);
 * assertEquals(formatImapMailbox("Entwürfe", { utf8: true }), [
 *   { type: "text", text: '"Entwürfe"' },
 * ]);
 * ```
 */
export function formatImapMailbox(
  name: string,
  options?: ImapMailboxOptions,
): ImapCommandPart[] {
  options ??= {};
  if (name === "") throw new TypeError("Cannot send mailbox name: it is empty");
  if (/[\r\n\0]/.test(name)) {
    throw new TypeError(`Cannot send mailbox name ${JSON.stringify(name)}: it holds CR, LF or NUL`);
  }
  if (name.toUpperCase() === "INBOX") return [text("INBOX")];
  return formatImapAstring(options.utf8 === true ? name : encodeImapUtf7(name), options);
}

/** One element of a sequence set: a number, `*`, or an inclusive range. */
export type ImapSequenceItem = number | "*" | readonly [number | "*", number | "*"];

/**
 * Formats a sequence set (RFC 3501 §9 `sequence-set`): numbers, `*` and
 * ranges, runs of consecutive ascending numbers joined into ranges. A list
 * is a list of items, so a range goes inside one: `[[1, 5]]` is `1:5`,
 * `[1, 5]` is `1,5`. A string is validated and passed through (`"1:3,7,9:*"`, or `"$"` for a saved
 * search, RFC 5182).
 *
 * @param set The set: a string, a number, `*`, a range or a list of these.
 * @returns The set as text.
 * @throws {TypeError} If the set is empty or a string is not a sequence set.
 * @throws {RangeError} If a number is not an integer from 1 to 4294967295.
 *
 * @example Formatting sets
 * ```ts
 * import { formatImapSequenceSet } from "@inetkit/inetkit/mail";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(formatImapSequenceSet([1, 2, 3, 7, [10, "*"]]), "1:3,7,10:*");
 * assertEquals(formatImapSequenceSet("4:*"), "4:*");
 * assertThrows(() => formatImapSequenceSet(0), RangeError);
 * assertThrows(() => formatImapSequenceSet("1\r\nA2 LOGOUT"), TypeError);
 * ```
 */
export function formatImapSequenceSet(
  set: string | ImapSequenceItem | readonly ImapSequenceItem[],
): string {
  if (typeof set === "string") {
    if (set === "$") return set;
    if (!/^(?:\d+|\*)(?::(?:\d+|\*))?(?:,(?:\d+|\*)(?::(?:\d+|\*))?)*$/.test(set)) {
      throw new TypeError(`Cannot format sequence set ${JSON.stringify(set)}: it is malformed`);
    }
    for (const n of set.match(/\d+/g) ?? []) seqNumber(Number(n), set);
    return set;
  }
  const items: readonly ImapSequenceItem[] = typeof set === "number"
    ? [set]
    : set as readonly ImapSequenceItem[];
  if (items.length === 0) throw new TypeError("Cannot format sequence set: it is empty");
  const out: string[] = [];
  let runStart = -1;
  let runEnd = -1;
  const flush = () => {
    if (runStart < 0) return;
    out.push(runStart === runEnd ? String(runStart) : `${runStart}:${runEnd}`);
    runStart = runEnd = -1;
  };
  for (const item of items) {
    if (typeof item === "number") {
      seqNumber(item, item);
      if (runStart >= 0 && item === runEnd + 1) runEnd = item;
      else {
        flush();
        runStart = runEnd = item;
      }
      continue;
    }
    flush();
    if (item === "*") out.push("*");
    else if (Array.isArray(item) && item.length === 2) {
      const [a, b] = item;
      out.push(`${seqValue(a)}:${seqValue(b)}`);
    } else {
      throw new TypeError(`Cannot format sequence set: ${JSON.stringify(item)} is not an item`);
    }
  }
  flush();
  return out.join(",");
}

function seqValue(v: number | "*"): string {
  if (v === "*") return "*";
  seqNumber(v, v);
  return String(v);
}

function seqNumber(n: number, shown: unknown): void {
  if (!Number.isInteger(n) || n < 1 || n > 4294967295) {
    throw new RangeError(
      `Cannot format sequence set: ${JSON.stringify(shown)} is not an integer from 1 to 4294967295`,
    );
  }
}

/**
 * Formats a parenthesised flag list for STORE, APPEND and others: system
 * flags (`\Seen`) and keywords (`$Forwarded`, `NonJunk`).
 *
 * @param flags The flags.
 * @returns `(\Seen \Flagged)`; `()` for none.
 * @throws {TypeError} If a flag is not an atom or `\` + atom (which also
 *   refuses CR, LF, NUL, spaces and parentheses).
 *
 * @example Formatting flags
 * ```ts
 * import { formatImapFlagList } from "@inetkit/inetkit/mail";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(formatImapFlagList(["\\Seen", "$Forwarded"]), "(\\Seen $Forwarded)");
 * assertThrows(() => formatImapFlagList(["\\Seen)\r\nA2 LOGOUT"]), TypeError);
 * ```
 */
export function formatImapFlagList(flags: Iterable<string>): string {
  const out: string[] = [];
  for (const flag of flags) {
    if (!/^\\?[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|}~]+$/.test(flag) && flag !== "\\*") {
      throw new TypeError(`Cannot format flag ${JSON.stringify(flag)}: it is not an atom`);
    }
    out.push(flag);
  }
  return `(${out.join(" ")})`;
}

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

/** Options for {@linkcode formatImapDate}. */
export interface ImapDateOptions {
  /**
   * `"date-time"` for APPEND's quoted `"dd-Mon-yyyy hh:mm:ss +zzzz"` (in
   * UTC); `"date"` for SEARCH's `d-Mon-yyyy` (the UTC calendar day).
   *
   * @default {"date-time"}
   */
  form?: "date-time" | "date";
}

/**
 * Formats a date for APPEND (`date-time`) or SEARCH (`date`), RFC 3501 §9.
 *
 * @param date The date.
 * @param options Which of the two forms.
 * @returns The text to put in the command.
 * @throws {RangeError} If the date is invalid or outside years 0-9999.
 *
 * @example Both forms
 * ```ts
 * import { formatImapDate } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const date = new Date("1996-07-17T09:44:25Z");
 * assertEquals(formatImapDate(date), '"17-Jul-1996 09:44:25 +0000"');
 * assertEquals(formatImapDate(date, { form: "date" }), "17-Jul-1996");
 * ```
 */
export function formatImapDate(date: Date, options?: ImapDateOptions): string {
  options ??= {};
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 0 || year > 9999) {
    throw new RangeError(`Cannot format IMAP date: ${String(date)} is out of range`);
  }
  const two = (n: number) => String(n).padStart(2, "0");
  const day = `${date.getUTCDate()}-${MONTH_NAMES[date.getUTCMonth()]}-${
    String(year).padStart(4, "0")
  }`;
  if (options.form === "date") return day;
  return `"${two(date.getUTCDate())}${day.slice(day.indexOf("-"))} ${two(date.getUTCHours())}:` +
    `${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000"`;
}

/**
 * Joins command pieces into parts, merging adjacent text: strings are
 * written as they are (the caller's own command words, which it must keep
 * free of CR/LF except the final CRLF), arrays come from the `formatImap*`
 * functions.
 *
 * @param pieces Strings and part arrays, in order.
 * @returns The parts of the whole command.
 *
 * @example Building a LOGIN command
 * ```ts
 * import { formatImapAstring, joinImapParts } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const parts = joinImapParts([
 *   "a1 LOGIN ", formatImapAstring("mulder"), " ", formatImapAstring("trust\nno1"), "\r\n",
 * ]);
 * assertEquals(parts.map((p) => p.type), ["text", "literal", "text"]);
 * assertEquals(parts[0], { type: "text", text: "a1 LOGIN mulder {9}\r\n" });
 * assertEquals(parts[2], { type: "text", text: "\r\n" });
 * ```
 */
export function joinImapParts(
  pieces: Iterable<string | readonly ImapCommandPart[]>,
): ImapCommandPart[] {
  const out: ImapCommandPart[] = [];
  const push = (part: ImapCommandPart) => {
    const last = out[out.length - 1];
    if (part.type === "text" && last?.type === "text") {
      out[out.length - 1] = text(last.text + part.text);
    } else out.push(part);
  };
  for (const piece of pieces) {
    if (typeof piece === "string") push(text(piece));
    else for (const part of piece) push(part);
  }
  return out;
}
