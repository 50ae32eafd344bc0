/**
 * RFC 5322 §3.4 addresses: parsing address lists (display names, groups,
 * comments, quoted local parts, the obsolete forms, encoded-word display
 * names) and formatting them back.
 *
 * @module
 */
import { ProtocolError } from "../net/protocol_error.ts";
import { decodeEncodedWords, encodeEncodedWords } from "./encoded_word.ts";

/** One mailbox: an optional display name and an addr-spec. */
export interface MailAddress {
  /** The display name, decoded (RFC 2047); `""` when there is none. */
  name: string;
  /**
   * The addr-spec `local@domain`, with the local part quoted only when it
   * must be (`"john doe"@example.test`).
   */
  address: string;
}

/** A named group of mailboxes (`undisclosed-recipients:;`). */
export interface MailGroup {
  /** The group's display name, decoded. */
  group: string;
  /** The mailboxes in the group, possibly none. */
  members: MailAddress[];
}

/** One element of an address list. */
export type AddressListEntry = MailAddress | MailGroup;

/**
 * Addresses as callers give them: a string holding an address list
 * (`"Ann <ann@example.test>, bob@example.test"`), a mailbox, a group, or an
 * array of those.
 */
export type AddressInput =
  | string
  | MailAddress
  | MailGroup
  | ReadonlyArray<string | MailAddress | MailGroup>;

/** Options for {@linkcode parseAddressList} and {@linkcode parseAddress}. */
export interface ParseAddressOptions {
  /**
   * The most characters the value may have.
   *
   * @default {65536}
   */
  maxLength?: number;
  /**
   * The most mailboxes in the list, group members included.
   *
   * @default {10000}
   */
  maxAddresses?: number;
}

/** Options for {@linkcode formatAddress} and {@linkcode formatAddressList}. */
export interface FormatAddressOptions {
  /**
   * Write non-ASCII display names as raw UTF-8 (RFC 6532, for servers that
   * announce SMTPUTF8) instead of RFC 2047 encoded words.
   *
   * @default {false}
   */
  utf8?: boolean;
}

const ATOM = 0;
const QUOTED = 1;
const LITERAL = 2;
const SPECIAL = 3;

interface Token {
  kind: 0 | 1 | 2 | 3;
  /** The atom, the unquoted string, the literal with its brackets, or the special character. */
  value: string;
  /** Whether white space or a comment came before the token. */
  space: boolean;
}

/** atext (RFC 5322 §3.2.3) plus everything non-ASCII (RFC 6532 §3.2). */
const ATEXT = new Uint8Array(128);
for (
  const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~"
) ATEXT[c.charCodeAt(0)] = 1;
const SPECIALS = "<>:;@,.";
const DOT_ATOM_REGEXP =
  /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+)*$/;
const PHRASE_ATOMS_REGEXP =
  /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
const PHRASE_UTF8_ATOMS_REGEXP =
  /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+)*$/;
const MAX_COMMENT_DEPTH = 64;

function isAtext(c: number): boolean {
  return c >= 0x80 ? true : ATEXT[c] === 1;
}

function isWsp(c: number): boolean {
  return c === 32 || c === 9;
}

function fail(value: string, reason: string): ProtocolError {
  const shown = JSON.stringify(value.length > 80 ? value.slice(0, 80) + "..." : value);
  return new ProtocolError("BAD_ADDRESS", `Cannot parse address ${shown}: ${reason}`);
}

/** Splits a header value into RFC 5322 lexical tokens, dropping comments and white space. */
function tokenize(value: string): Token[] {
  const tokens: Token[] = [];
  const n = value.length;
  let space = false;
  let i = 0;
  /** Skips a fold (CRLF or LF followed by WSP) at `i`; throws for any other CR or LF. */
  const fold = (at: number): number => {
    let j = at;
    if (value.charCodeAt(j) === 13) j++;
    if (value.charCodeAt(j) !== 10 || !isWsp(value.charCodeAt(j + 1))) {
      throw fail(value, "a line break is not followed by white space");
    }
    return j + 1;
  };
  while (i < n) {
    const c = value.charCodeAt(i);
    if (isWsp(c)) {
      space = true;
      i++;
    } else if (c === 13 || c === 10) {
      i = fold(i);
      space = true;
    } else if (c === 0x28) {
      // A comment, possibly nested; its content is never an address.
      let depth = 1;
      i++;
      while (depth > 0) {
        if (i >= n) throw fail(value, "a comment is not closed");
        const d = value.charCodeAt(i);
        if (d === 0x5c) {
          if (i + 1 >= n) throw fail(value, "a comment is not closed");
          const e = value.charCodeAt(i + 1);
          if (e === 13 || e === 10 || e === 0) throw fail(value, "a quoted pair escapes a control");
          i += 2;
          continue;
        }
        if (d === 13 || d === 10) {
          i = fold(i);
          continue;
        }
        if ((d < 32 && d !== 9) || d === 127) {
          throw fail(value, "a comment holds a control character");
        }
        if (d === 0x28) {
          if (++depth > MAX_COMMENT_DEPTH) throw fail(value, "comments are nested too deeply");
        } else if (d === 0x29) depth--;
        i++;
      }
      space = true;
    } else if (c === 0x22) {
      let text = "";
      i++;
      for (;;) {
        if (i >= n) throw fail(value, "a quoted string is not closed");
        const d = value.charCodeAt(i);
        if (d === 0x22) {
          i++;
          break;
        }
        if (d === 0x5c) {
          if (i + 1 >= n) throw fail(value, "a quoted string is not closed");
          const e = value.charCodeAt(i + 1);
          if ((e < 32 && e !== 9) || e === 127) {
            throw fail(value, "a quoted pair escapes a control character");
          }
          text += value[i + 1];
          i += 2;
          continue;
        }
        if (d === 13 || d === 10) {
          i = fold(i);
          continue;
        }
        if ((d < 32 && d !== 9) || d === 127) {
          throw fail(value, "a quoted string holds a control character");
        }
        text += value[i];
        i++;
      }
      tokens.push({ kind: QUOTED, value: text, space });
      space = false;
    } else if (c === 0x5b) {
      let j = i + 1;
      for (;;) {
        if (j >= n) throw fail(value, "a domain literal is not closed");
        const d = value.charCodeAt(j);
        if (d === 0x5d) break;
        if (d === 0x5b || d === 0x5c || d < 33 || d === 127) {
          throw fail(value, "a domain literal holds a character it may not");
        }
        j++;
      }
      tokens.push({ kind: LITERAL, value: value.slice(i, j + 1), space });
      space = false;
      i = j + 1;
    } else if (SPECIALS.includes(value[i]!)) {
      tokens.push({ kind: SPECIAL, value: value[i]!, space });
      space = false;
      i++;
    } else if (isAtext(c)) {
      let j = i + 1;
      while (j < n && isAtext(value.charCodeAt(j))) j++;
      tokens.push({ kind: ATOM, value: value.slice(i, j), space });
      space = false;
      i = j;
    } else {
      const what = c === 0x29
        ? "a stray closing parenthesis"
        : c === 0x5d
        ? "a stray closing bracket"
        : c === 0x5c
        ? "a backslash outside a quoted string"
        : "a control character";
      throw fail(value, `it contains ${what}`);
    }
  }
  return tokens;
}

class AddressParser {
  #value: string;
  #tokens: Token[];
  #pos = 0;
  #count = 0;
  #maxAddresses: number;

  constructor(value: string, maxAddresses: number) {
    this.#value = value;
    this.#tokens = tokenize(value);
    this.#maxAddresses = maxAddresses;
  }

  #peek(): Token | undefined {
    return this.#tokens[this.#pos];
  }

  #isSpecial(char: string): boolean {
    const t = this.#tokens[this.#pos];
    return t !== undefined && t.kind === SPECIAL && t.value === char;
  }

  #expectSpecial(char: string, where: string): void {
    if (!this.#isSpecial(char)) throw this.#unexpected(where);
    this.#pos++;
  }

  #unexpected(where: string): ProtocolError {
    const t = this.#peek();
    if (t === undefined) return fail(this.#value, `it ends early ${where}`);
    const shown = t.kind === QUOTED ? `"${t.value}"` : t.value;
    return fail(this.#value, `unexpected ${JSON.stringify(shown)} ${where}`);
  }

  get done(): boolean {
    return this.#pos >= this.#tokens.length;
  }

  list(): AddressListEntry[] {
    const entries: AddressListEntry[] = [];
    for (;;) {
      while (this.#isSpecial(",")) this.#pos++;
      if (this.done) break;
      entries.push(this.#entry(true));
      if (this.done) break;
      this.#expectSpecial(",", "after an address");
    }
    return entries;
  }

  addrSpecOnly(): string {
    const words = this.#words();
    if (!this.#isSpecial("@")) throw this.#unexpected("in an addr-spec");
    this.#pos++;
    const address = this.#localPart(words) + "@" + this.#domain();
    if (!this.done) throw this.#unexpected("after an addr-spec");
    return address;
  }

  /** Collects the words (and obs-phrase dots) before a `<`, `:` or `@`. */
  #words(): Token[] {
    const words: Token[] = [];
    for (;;) {
      const t = this.#peek();
      if (t === undefined) break;
      if (t.kind === ATOM || t.kind === QUOTED || (t.kind === SPECIAL && t.value === ".")) {
        words.push(t);
        this.#pos++;
      } else break;
    }
    return words;
  }

  #count1(): void {
    if (++this.#count > this.#maxAddresses) {
      throw fail(this.#value, `it holds more than ${this.#maxAddresses} addresses`);
    }
  }

  #entry(allowGroup: boolean): AddressListEntry {
    const words = this.#words();
    if (this.#isSpecial("<")) {
      const name = this.#phrase(words, true);
      this.#count1();
      return { name, address: this.#angleAddr() };
    }
    if (this.#isSpecial(":") && allowGroup) {
      if (words.length === 0) throw this.#unexpected("where a group name was expected");
      const group = this.#phrase(words, false);
      this.#pos++;
      return { group, members: this.#groupMembers() };
    }
    if (this.#isSpecial("@")) {
      if (words.length === 0) throw this.#unexpected("before a local part");
      this.#pos++;
      this.#count1();
      return { name: "", address: this.#localPart(words) + "@" + this.#domain() };
    }
    if (words.length === 0) throw this.#unexpected("where an address was expected");
    throw this.#unexpected("after a word: an address needs a domain");
  }

  #groupMembers(): MailAddress[] {
    const members: MailAddress[] = [];
    for (;;) {
      while (this.#isSpecial(",")) this.#pos++;
      if (this.#isSpecial(";")) {
        this.#pos++;
        return members;
      }
      if (this.done) throw fail(this.#value, "a group is not closed with ';'");
      members.push(this.#entry(false) as MailAddress);
      if (this.#isSpecial(";")) {
        this.#pos++;
        return members;
      }
      this.#expectSpecial(",", "after a group member");
    }
  }

  #angleAddr(): string {
    this.#pos++; // "<"
    if (this.#isSpecial("@")) {
      // obs-route: "@a.example,@b.example:" is ignored (RFC 5322 §4.4).
      for (;;) {
        this.#expectSpecial("@", "in a route");
        this.#domain();
        while (this.#isSpecial(",")) this.#pos++;
        if (this.#isSpecial(":")) {
          this.#pos++;
          break;
        }
      }
    }
    const words = this.#words();
    if (words.length === 0) throw this.#unexpected("inside <>");
    this.#expectSpecial("@", "after the local part");
    const address = this.#localPart(words) + "@" + this.#domain();
    this.#expectSpecial(">", "at the end of an angle address");
    return address;
  }

  #localPart(words: Token[]): string {
    let local = "";
    for (let k = 0; k < words.length; k++) {
      const t = words[k]!;
      const wantWord = k % 2 === 0;
      if (wantWord !== (t.kind !== SPECIAL)) {
        throw fail(this.#value, "a local part has misplaced dots or spaces");
      }
      local += t.value;
    }
    if (words.length % 2 === 0) throw fail(this.#value, "a local part ends with a dot");
    return formatLocalPart(local);
  }

  #domain(): string {
    const t = this.#peek();
    if (t === undefined) throw fail(this.#value, "a domain is missing");
    if (t.kind === LITERAL) {
      this.#pos++;
      return t.value;
    }
    let domain = "";
    for (;;) {
      const a = this.#peek();
      if (a === undefined || a.kind !== ATOM) throw this.#unexpected("in a domain");
      domain += a.value;
      this.#pos++;
      if (!this.#isSpecial(".")) return domain;
      this.#pos++;
      domain += ".";
    }
  }

  #phrase(words: Token[], optional: boolean): string {
    if (words.length === 0) {
      if (optional) return "";
      throw this.#unexpected("where a display name was expected");
    }
    if (words[0]!.kind === SPECIAL) throw fail(this.#value, "a display name starts with a dot");
    let raw = "";
    for (const t of words) {
      if (t.space && raw !== "" && t.kind !== SPECIAL) raw += " ";
      raw += t.value;
    }
    return decodeEncodedWords(raw);
  }
}

function formatLocalPart(local: string): string {
  if (DOT_ATOM_REGEXP.test(local)) return local;
  return `"${local.replace(/[\\"]/g, "\\$&")}"`;
}

function checkLength(value: string, options: ParseAddressOptions): void {
  const maxLength = options.maxLength ?? 65536;
  if (value.length > maxLength) {
    throw new ProtocolError(
      "BAD_ADDRESS",
      `Cannot parse address list: ${value.length} characters exceed ${maxLength}`,
    );
  }
}

/**
 * Parses an RFC 5322 address list (§3.4): mailboxes with or without display
 * names, groups, comments, quoted local parts and the obsolete forms (routes,
 * white space around dots, empty list elements). Display names are decoded
 * (RFC 2047); the value is read strictly, so an address inside a comment, a
 * quoted display name or after a stray bracket is never returned as an
 * address (the differential that misrouted mail through Python's
 * `parseaddr`, CVE-2023-27043).
 *
 * @param value An unfolded header value such as the body of a `To` field.
 * @param options Length and count limits.
 * @returns The entries in order; an empty value gives `[]`.
 * @throws {ProtocolError} Code `"BAD_ADDRESS"` for anything malformed.
 *
 * @example Parsing a list with a group
 * ```ts
 * import { parseAddressList } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   parseAddressList('"Doe, Jane" <jane@example.test>, team: ann@example.test (Ann);'),
 *   [
 *     { name: "Doe, Jane", address: "jane@example.test" },
 *     { group: "team", members: [{ name: "", address: "ann@example.test" }] },
 *   ],
 * );
 * ```
 *
 * @example Refusing an address hidden behind a stray bracket
 * ```ts
 * import { parseAddressList } from "@inetkit/inetkit/mail";
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(() => parseAddressList("alice@example.org)<bob@example.org>"));
 * ```
 */
export function parseAddressList(
  value: string,
  options?: ParseAddressOptions,
): AddressListEntry[] {
  options ??= {};
  checkLength(value, options);
  return new AddressParser(value, options.maxAddresses ?? 10000).list();
}

/**
 * Parses exactly one mailbox, `Name <local@domain>` or `local@domain`.
 *
 * @param value The text of one mailbox.
 * @param options Length limits.
 * @returns The mailbox.
 * @throws {ProtocolError} Code `"BAD_ADDRESS"` when the value is malformed,
 *   empty, a group or more than one address.
 *
 * @example Parsing a mailbox with an encoded display name
 * ```ts
 * import { parseAddress } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseAddress("=?UTF-8?Q?Zo=C3=AB?= <zoe@example.test>"), {
 *   name: "Zoë",
 *   address: "zoe@example.test",
 * });
 * ```
 */
export function parseAddress(value: string, options?: ParseAddressOptions): MailAddress {
  options ??= {};
  const list = parseAddressList(value, options);
  const only = list[0];
  if (list.length !== 1 || only === undefined || "group" in only) {
    throw fail(value, "it is not exactly one mailbox");
  }
  return only;
}

function parseAddrSpec(address: string): string {
  checkLength(address, {});
  return new AddressParser(address, 1).addrSpecOnly();
}

function checkText(text: string, what: string): void {
  if (/[\r\n\0]/.test(text)) {
    throw new TypeError(`Cannot use ${what} ${JSON.stringify(text)}: it contains CR, LF or NUL`);
  }
}

function isGroup(entry: MailAddress | MailGroup): entry is MailGroup {
  return typeof (entry as MailGroup).group === "string" &&
    Array.isArray((entry as MailGroup).members);
}

/** Validates and normalizes one mailbox given as an object. */
function checkMailbox(entry: MailAddress): MailAddress {
  if (entry === null || typeof entry !== "object" || typeof entry.address !== "string") {
    throw new TypeError("Cannot use address: expected a string or { name, address }");
  }
  const name = entry.name ?? "";
  if (typeof name !== "string") throw new TypeError("Cannot use address: name is not a string");
  checkText(name, "display name");
  checkText(entry.address, "address");
  let address: string;
  try {
    address = parseAddrSpec(entry.address);
  } catch (error) {
    throw new TypeError(
      `Cannot use address ${JSON.stringify(entry.address)}: not a valid addr-spec`,
      { cause: error },
    );
  }
  return { name, address };
}

function entriesOf(input: AddressInput): AddressListEntry[] {
  const items = typeof input === "string" || !Array.isArray(input)
    ? [input as string | MailAddress | MailGroup]
    : input as ReadonlyArray<string | MailAddress | MailGroup>;
  const out: AddressListEntry[] = [];
  for (const item of items) {
    if (typeof item === "string") {
      checkText(item, "address list");
      try {
        out.push(...parseAddressList(item));
      } catch (error) {
        throw new TypeError(
          `Cannot use address list ${JSON.stringify(item)}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    } else if (item !== null && typeof item === "object" && isGroup(item)) {
      if (typeof item.group !== "string" || item.group.trim() === "") {
        throw new TypeError("Cannot use group: its name is empty");
      }
      checkText(item.group, "group name");
      out.push({ group: item.group, members: item.members.map(checkMailbox) });
    } else {
      out.push(checkMailbox(item as MailAddress));
    }
  }
  return out;
}

/**
 * Turns address input (strings holding lists, mailboxes, groups, arrays of
 * them) into the plain list of mailboxes it names, groups flattened, in
 * order and without removing duplicates: what an SMTP envelope needs.
 *
 * @param input The addresses.
 * @returns Validated, normalized mailboxes.
 * @throws {TypeError} If a string does not parse, an object is not a mailbox
 *   or group, or any part holds CR, LF or NUL.
 *
 * @example Collecting envelope recipients
 * ```ts
 * import { flattenAddresses } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const to = flattenAddresses([
 *   "Ann <ann@example.test>, list: bob@example.test, cy@example.test;",
 *   { name: "Dee", address: "dee@example.test" },
 * ]);
 * assertEquals(to.map((a) => a.address), [
 *   "ann@example.test",
 *   "bob@example.test",
 *   "cy@example.test",
 *   "dee@example.test",
 * ]);
 * ```
 */
export function flattenAddresses(input: AddressInput): MailAddress[] {
  const out: MailAddress[] = [];
  for (const entry of entriesOf(input)) {
    if (isGroup(entry)) out.push(...entry.members);
    else out.push(entry);
  }
  return out;
}

function formatPhrase(text: string, utf8: boolean): string {
  if (!text.includes("=?")) {
    if (PHRASE_ATOMS_REGEXP.test(text)) return text;
    if (utf8 && PHRASE_UTF8_ATOMS_REGEXP.test(text)) return text;
  }
  const ascii = /^[\x20-\x7e\t]*$/.test(text);
  if ((ascii || utf8) && !text.includes("=?")) {
    return `"${text.replace(/[\\"]/g, "\\$&")}"`;
  }
  return encodeEncodedWords(text, { mode: "all" });
}

function formatEntry(entry: AddressListEntry, utf8: boolean): string {
  if (isGroup(entry)) {
    const members = entry.members.map((m) => formatEntry(m, utf8)).join(", ");
    return `${formatPhrase(entry.group, utf8)}:${members === "" ? "" : " " + members};`;
  }
  if (entry.name === "") return entry.address;
  return `${formatPhrase(entry.name, utf8)} <${entry.address}>`;
}

/**
 * Formats one mailbox or group for a header field: display names are left
 * bare when they are plain words, quoted when they hold special characters,
 * and encoded (RFC 2047) when they are not ASCII, unless `utf8` is set.
 *
 * @param entry A mailbox, a group, or a string holding exactly one of them.
 * @param options Whether raw UTF-8 is allowed.
 * @returns The header text, without line breaks.
 * @throws {TypeError} If the entry is invalid or holds CR, LF or NUL.
 *
 * @example Quoting and encoding display names
 * ```ts
 * import { formatAddress } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   formatAddress({ name: "Doe, Jane", address: "jane@example.test" }),
 *   '"Doe, Jane" <jane@example.test>',
 * );
 * assertEquals(
 *   formatAddress({ name: "Zoë", address: "zoe@example.test" }),
 *   "=?UTF-8?Q?Zo=C3=AB?= <zoe@example.test>",
 * );
 * ```
 */
export function formatAddress(
  entry: string | MailAddress | MailGroup,
  options?: FormatAddressOptions,
): string {
  options ??= {};
  const entries = entriesOf(entry);
  if (entries.length !== 1) {
    throw new TypeError(
      `Cannot format address: expected exactly one mailbox or group, got ${entries.length}`,
    );
  }
  return formatEntry(entries[0]!, options.utf8 ?? false);
}

/**
 * Formats addresses as the value of an address field, separated by `", "`.
 *
 * @param input The addresses.
 * @param options Whether raw UTF-8 is allowed.
 * @returns The header text, without line breaks.
 * @throws {TypeError} If any address is invalid or holds CR, LF or NUL.
 *
 * @example Formatting a list
 * ```ts
 * import { formatAddressList } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   formatAddressList(["ann@example.test", { name: "Bob B.", address: "bob@example.test" }]),
 *   'ann@example.test, "Bob B." <bob@example.test>',
 * );
 * ```
 */
export function formatAddressList(
  input: AddressInput,
  options?: FormatAddressOptions,
): string {
  options ??= {};
  const utf8 = options.utf8 ?? false;
  return entriesOf(input).map((e) => formatEntry(e, utf8)).join(", ");
}
