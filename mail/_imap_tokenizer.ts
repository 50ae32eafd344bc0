/**
 * The IMAP tokenizer shared by the response reader (client side) and the
 * command reader (server side): it reads one line segment at a time from a
 * {@linkcode BufferedReader}, tokenizes it, and when a segment ends with a
 * literal announcement reads the literal and continues with the next
 * segment, all under the caller's limits.
 *
 * @module
 */
import type { BufferedReader, LineEnding } from "../net/buffered_reader.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import type {
  ImapAtomToken,
  ImapListToken,
  ImapLiteralToken,
  ImapNumberToken,
  ImapSectionToken,
  ImapToken,
} from "./_imap_wire_types.ts";
import { collectLiteral, type Io, plainIo } from "./_imap_literal.ts";

export const SP = 0x20;
export const DQUOTE = 0x22;
export const LPAREN = 0x28;
export const RPAREN = 0x29;
export const PLUS = 0x2b;
export const MINUS = 0x2d;
export const DOT = 0x2e;
export const LT = 0x3c;
export const GT = 0x3e;
export const LBRACKET = 0x5b;
export const BACKSLASH = 0x5c;
export const RBRACKET = 0x5d;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
export const TILDE = 0x7e;

/**
 * Bytes that may appear in an atom as this tokenizer reads it: any byte above
 * SP except DEL, `(`, `)`, `{` and `"`. `%` and `*` stay in (list wildcards,
 * `\*`, sequence sets), as do `[` and `]` (Gmail's `[Gmail]/Sent` is an
 * atom); the callers stop at `]` inside brackets.
 */
const ATOM_BYTE = new Uint8Array(256);
for (let b = 0x21; b < 0x100; b++) ATOM_BYTE[b] = 1;
for (const b of [0x7f, LPAREN, RPAREN, LBRACE, DQUOTE]) ATOM_BYTE[b] = 0;

/** Atoms that a `[section]` may follow directly (RFC 3501 §6.4.5, RFC 3516). */
const SECTION_NAMES = new Set(["BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE"]);

/** RFC 3501 `section-spec`: a part number, a text specifier, or both. */
const SECTION_REGEXP =
  /^(?:[1-9]\d*(?:\.[1-9]\d*)*(?:\.(?:HEADER|HEADER\.FIELDS|HEADER\.FIELDS\.NOT|TEXT|MIME))?|HEADER|HEADER\.FIELDS|HEADER\.FIELDS\.NOT|TEXT|)$/;
const FIELDS_REGEXP = /(?:^|\.)HEADER\.FIELDS(?:\.NOT)?$/;
const MAX_INT64 = 9223372036854775807n;
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const EMPTY = new Uint8Array(0);

/** A literal announcement at the end of a line segment: `{n}`, `{n+}`, `~{n}`. */
export interface LiteralAnnouncement {
  /** The announced size; `Infinity` when it does not fit a safe integer. */
  size: number;
  /** The digits as sent, for messages. */
  text: string;
  /** `~{n}`: literal8 (RFC 3516), which may hold NUL. */
  binary: boolean;
  /** `{n+}`: non-synchronizing (RFC 7888). */
  nonSync: boolean;
}

/** What the tokenizer needs from its owner besides the bytes. */
export interface TokenizerSettings {
  /** `"response"` turns `NIL` into nil tokens and refuses `{n+}`; `"command"` keeps `NIL` an atom. */
  mode: "response" | "command";
  maxLineLength: number;
  /** The most bytes of line segments plus in-memory literals per response or command. */
  maxTotal: number;
  maxDepth: number;
  maxTokens: number;
  lineEnding: LineEnding;
}

/**
 * Reads a literal once its announcement has been parsed and the segment
 * ended; returns the token to put in the tree. The default (no handler)
 * collects the bytes under `maxLiteral`.
 */
export type LiteralHandler = (announcement: LiteralAnnouncement) => Promise<ImapToken>;

/** Decodes bytes as text: ASCII directly, anything else as UTF-8 (U+FFFD for bad bytes). */
export function decodeText(bytes: Uint8Array, start = 0, end = bytes.length): string {
  if (end - start > 32) return utf8.decode(bytes.subarray(start, end));
  // Short text (atoms, numbers, names) is built directly: much cheaper than a decoder call.
  let out = "";
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) return utf8.decode(bytes.subarray(start, end));
    out += String.fromCharCode(b);
  }
  return out;
}

/**
 * A tokenizer positioned in one line segment (`line`, `pos`). The owner reads
 * the first segment with {@linkcode ImapTokenizer.firstLine}; literals move
 * it to the next segment.
 */
export class ImapTokenizer {
  line: Uint8Array = EMPTY;
  pos = 0;
  /** Bytes counted against `maxTotal` so far. */
  total = 0;
  tokens = 0;
  io: Io = plainIo;
  readonly #reader: BufferedReader | null;
  readonly #settings: TokenizerSettings;
  readonly #errorCode: "BAD_REPLY" | "BAD_COMMAND";
  readonly #what: string;

  constructor(reader: BufferedReader | null, settings: TokenizerSettings) {
    this.#reader = reader;
    this.#settings = settings;
    this.#errorCode = settings.mode === "response" ? "BAD_REPLY" : "BAD_COMMAND";
    this.#what = settings.mode === "response" ? "response" : "command";
  }

  /** A tokenizer over fixed bytes (a response code's text); literals are errors there. */
  static over(bytes: Uint8Array, settings: TokenizerSettings): ImapTokenizer {
    const t = new ImapTokenizer(null, settings);
    t.line = bytes;
    return t;
  }

  /** A syntax error, with the code the mode uses. */
  bad(reason: string): ProtocolError {
    return new ProtocolError(this.#errorCode, `Cannot parse IMAP ${this.#what}: ${reason}`);
  }

  /** Starts a new response or command; false at a clean end of stream. */
  async firstLine(): Promise<boolean> {
    this.total = 0;
    this.tokens = 0;
    const line = await this.io(
      this.#reader!.readLineBytes({
        maxLength: this.#settings.maxLineLength,
        lineEnding: this.#settings.lineEnding,
      }),
    );
    if (line === null) return false;
    this.#take(line);
    return true;
  }

  /** Moves to the segment after a literal; the stream must not end here. */
  async nextLine(): Promise<void> {
    const line = await this.io(
      this.#reader!.readLineBytes({
        maxLength: this.#settings.maxLineLength,
        lineEnding: this.#settings.lineEnding,
      }),
    );
    if (line === null) {
      throw new ProtocolError(
        "UNEXPECTED_EOF",
        `Cannot read IMAP ${this.#what}: stream ended after a literal`,
      );
    }
    this.#take(line);
  }

  #take(line: Uint8Array): void {
    // The line is taken before it is checked, so that a command reader can
    // still find the literal announced at its end when it recovers.
    this.line = line;
    this.pos = 0;
    this.count(line.length + 2);
    if (line.includes(0)) throw this.bad("line contains NUL");
    if (line.includes(0x0d)) throw this.bad("line contains a bare CR");
  }

  /** Counts bytes held in memory against `maxTotal`. */
  count(n: number): void {
    this.total += n;
    if (this.total > this.#settings.maxTotal) {
      throw new ProtocolError(
        this.#settings.mode === "response" ? "REPLY_TOO_LARGE" : "COMMAND_TOO_LARGE",
        `Cannot read IMAP ${this.#what}: it exceeds ${this.#settings.maxTotal} bytes`,
      );
    }
  }

  #countToken(): void {
    if (++this.tokens > this.#settings.maxTokens) {
      throw new ProtocolError(
        "TOO_MANY_TOKENS",
        `Cannot parse IMAP ${this.#what}: more than ${this.#settings.maxTokens} tokens`,
      );
    }
  }

  /** The byte at the position, or -1 at the end of the segment. */
  peek(offset = 0): number {
    const i = this.pos + offset;
    return i < this.line.length ? this.line[i]! : -1;
  }

  atEnd(): boolean {
    return this.pos >= this.line.length;
  }

  skipSpaces(): void {
    while (this.line[this.pos] === SP) this.pos++;
  }

  /** Requires one space (more are tolerated). */
  expectSpace(what: string): void {
    if (this.line[this.pos] !== SP) throw this.bad(`expected a space ${what}`);
    this.skipSpaces();
  }

  /** The rest of the segment as text, consumed. */
  rest(): string {
    const text = decodeText(this.line, this.pos);
    this.pos = this.line.length;
    return text;
  }

  /**
   * Reads the bytes of an atom. Stops before `[` when what came before is a
   * section name (`BODY[`), and at `]` when `inBrackets`.
   */
  atomText(inBrackets: boolean): string {
    const line = this.line;
    const start = this.pos;
    let i = start;
    while (i < line.length) {
      const b = line[i]!;
      if (ATOM_BYTE[b] === 0) break;
      if (b === RBRACKET && inBrackets) break;
      if (b === LBRACKET && i > start && i - start <= 11) {
        if (SECTION_NAMES.has(decodeText(line, start, i).toUpperCase())) break;
      }
      i++;
    }
    this.pos = i;
    return decodeText(line, start, i);
  }

  /** An atom, number or NIL token; the caller checks for `[` after a section name. */
  atomToken(inBrackets: boolean): ImapAtomToken | ImapNumberToken | ImapToken {
    this.#countToken();
    const text = this.atomText(inBrackets);
    if (text === "") {
      const b = this.peek();
      throw this.bad(
        b < 0 ? "expected a value at the end of the line" : `unexpected ${describe(b)}`,
      );
    }
    const number = numberValue(text);
    if (number !== null) return { type: "number", value: number, text };
    if (text.length === 3 && this.#settings.mode === "response" && text.toUpperCase() === "NIL") {
      return { type: "nil" };
    }
    return { type: "atom", value: text };
  }

  /** A quoted string, at `"` (RFC 3501 `quoted`: only `\"` and `\\` are escapes). */
  quoted(): string {
    this.#countToken();
    const line = this.line;
    const start = ++this.pos;
    let i = start;
    let escaped = false;
    for (;;) {
      if (i >= line.length) throw this.bad("quoted string is not terminated");
      const b = line[i]!;
      if (b === DQUOTE) break;
      if (b === BACKSLASH) {
        const next = line[i + 1];
        if (next !== DQUOTE && next !== BACKSLASH) {
          throw this.bad(
            next === undefined
              ? "quoted string ends in a backslash"
              : `quoted string escapes ${describe(next)}`,
          );
        }
        escaped = true;
        i += 2;
        continue;
      }
      i++;
    }
    this.pos = i + 1;
    if (!escaped) return decodeText(line, start, i);
    const bytes = new Uint8Array(i - start);
    let n = 0;
    for (let k = start; k < i; k++) {
      if (line[k] === BACKSLASH) k++;
      bytes[n++] = line[k]!;
    }
    return decodeText(bytes, 0, n);
  }

  /** Whether a literal announcement starts here (`{` or `~{`). */
  atLiteral(): boolean {
    const b = this.line[this.pos];
    return b === LBRACE || (b === TILDE && this.line[this.pos + 1] === LBRACE);
  }

  /**
   * Parses `{n}`, `{n+}` or `~{n}` at the position; it must end the segment.
   * In response mode `{n+}` is refused: servers do not send it.
   */
  announcement(): LiteralAnnouncement {
    const line = this.line;
    const binary = line[this.pos] === TILDE;
    let i = this.pos + (binary ? 2 : 1);
    const start = i;
    while (i < line.length && line[i]! >= 0x30 && line[i]! <= 0x39) i++;
    const text = decodeText(line, start, i);
    if (text === "") throw this.bad("literal announcement has no size");
    let nonSync = false;
    if (line[i] === PLUS) {
      nonSync = true;
      i++;
    } else if (line[i] === MINUS) {
      throw this.bad(`{${text}-} is not a literal (LITERAL- uses {n+})`);
    }
    if (line[i] !== RBRACE) throw this.bad("literal announcement is not closed by }");
    if (i + 1 !== line.length) throw this.bad("literal announcement does not end the line");
    if (nonSync && this.#settings.mode === "response") {
      throw this.bad(`server sent a non-synchronizing literal {${text}+}`);
    }
    this.pos = line.length;
    const size = text.length <= 15 ? Number(text) : Number.POSITIVE_INFINITY;
    return { size, text, binary, nonSync };
  }

  /** Throws `"LITERAL_TOO_LARGE"` when the announcement exceeds `max`. */
  checkLiteral(a: LiteralAnnouncement, max: number, what: string): void {
    if (a.size > max) {
      throw new ProtocolError(
        "LITERAL_TOO_LARGE",
        `Cannot read IMAP ${this.#what}: ${what} literal of ${a.text} bytes exceeds ${max}`,
      );
    }
  }

  /** Collects an in-memory literal of at most `max` bytes, then moves on. */
  async inlineLiteral(
    a: LiteralAnnouncement,
    max: number,
    what: string,
  ): Promise<ImapLiteralToken> {
    this.checkLiteral(a, max, what);
    this.count(a.size);
    const value = await collectLiteral(this.#reader!, a.size, this.io);
    await this.nextLine();
    return { type: "literal", value, binary: a.binary };
  }

  /**
   * Reads one value: a list, quoted string, literal (through `literal`),
   * atom, number, NIL or section token.
   */
  async value(depth: number, inBrackets: boolean, literal: LiteralHandler): Promise<ImapToken> {
    const b = this.peek();
    if (b === LPAREN) return await this.list(depth + 1, inBrackets, literal);
    if (b === DQUOTE) return { type: "string", value: this.quoted() };
    if (this.atLiteral()) {
      if (this.#reader === null) throw this.bad("a literal is not allowed here");
      this.#countToken();
      return await literal(this.announcement());
    }
    const token = this.atomToken(inBrackets);
    if (token.type === "atom" && this.line[this.pos] === LBRACKET) {
      return await this.section(token.value, depth, literal);
    }
    return token;
  }

  /** Reads a parenthesised list, at `(`. */
  async list(depth: number, inBrackets: boolean, literal: LiteralHandler): Promise<ImapListToken> {
    if (depth > this.#settings.maxDepth) {
      throw new ProtocolError(
        "TOO_DEEP",
        `Cannot parse IMAP ${this.#what}: lists nest deeper than ${this.#settings.maxDepth}`,
      );
    }
    this.#countToken();
    this.pos++;
    const items: ImapToken[] = [];
    for (;;) {
      this.skipSpaces();
      const b = this.peek();
      if (b === RPAREN) {
        this.pos++;
        return { type: "list", items };
      }
      if (b < 0) throw this.bad("list is not closed before the end of the line");
      if (b === RBRACKET && inBrackets) throw this.bad("list is not closed before ]");
      if (b === DQUOTE) items.push({ type: "string", value: this.quoted() });
      else if (b === LPAREN || this.atLiteral()) {
        items.push(await this.value(depth, inBrackets, literal));
      } else {
        const token = this.atomToken(inBrackets);
        items.push(
          token.type === "atom" && this.line[this.pos] === LBRACKET
            ? await this.section(token.value, depth, literal)
            : token,
        );
      }
    }
  }

  /**
   * Reads `[section]<partial>` after a section name (`BODY`, `BINARY`, ...):
   * the part and text specifier, an optional header-field list, and
   * `<origin>` (responses) or `<offset.length>` (commands).
   */
  async section(name: string, depth: number, literal: LiteralHandler): Promise<ImapSectionToken> {
    this.pos++;
    const spec = this.atomText(true).toUpperCase();
    let fields: string[] | null = null;
    if (this.peek() === SP) {
      this.skipSpaces();
      if (this.peek() !== LPAREN) throw this.bad(`section ${spec} has no header list`);
      const list = await this.list(depth + 1, true, literal);
      fields = list.items.map((item) => {
        if (item.type === "atom") return item.value;
        if (item.type === "string") return item.value;
        if (item.type === "number") return item.text;
        if (item.type === "literal") return decodeText(item.value);
        throw this.bad(`header list of section ${spec} holds a ${item.type}`);
      });
      if (fields.length === 0) throw this.bad(`header list of section ${spec} is empty`);
    }
    if (this.peek() !== RBRACKET) throw this.bad(`section after ${name} is not closed by ]`);
    if (!SECTION_REGEXP.test(spec)) throw this.bad(`section ${JSON.stringify(spec)} is malformed`);
    if ((fields !== null) !== FIELDS_REGEXP.test(spec)) {
      throw this.bad(
        fields === null
          ? `section ${spec} needs a header list`
          : `section ${spec} takes no header list`,
      );
    }
    this.pos++;
    let origin: number | null = null;
    let length: number | null = null;
    if (this.peek() === LT) {
      this.pos++;
      origin = this.#digits("partial offset");
      if (this.peek() === DOT) {
        this.pos++;
        length = this.#digits("partial length");
      }
      if (this.peek() !== GT) throw this.bad("partial is not closed by >");
      this.pos++;
    }
    const section = fields === null ? spec : `${spec} (${fields.join(" ").toUpperCase()})`;
    return { type: "section", name: name.toUpperCase(), section, fields, origin, length };
  }

  #digits(what: string): number {
    const start = this.pos;
    while (this.peek() >= 0x30 && this.peek() <= 0x39) this.pos++;
    const text = decodeText(this.line, start, this.pos);
    const value = numberValue(text);
    if (typeof value !== "number") {
      throw this.bad(`${what} ${JSON.stringify(text)} is not a number`);
    }
    return value;
  }
}

/** The value of a digits-only atom: a number when safe, a bigint up to 2^63-1, else null. */
export function numberValue(text: string): number | bigint | null {
  if (text.length === 0 || text.length > 19) return null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
  }
  if (text.length <= 15) return Number(text);
  const big = BigInt(text);
  if (big > MAX_INT64) return null;
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** A byte for an error message. */
export function describe(b: number): string {
  if (b >= 0x21 && b <= 0x7e) return JSON.stringify(String.fromCharCode(b));
  return `byte 0x${b.toString(16).padStart(2, "0")}`;
}
