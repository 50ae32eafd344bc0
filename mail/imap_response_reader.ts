/**
 * Reading IMAP server responses (RFC 3501 §7, RFC 9051 §7) from a
 * {@linkcode BufferedReader}: tagged and untagged responses and continuation
 * requests, tokenized with literals, under limits, with FETCH body sections
 * deliverable as streams.
 *
 * @module
 */
import type { BufferedReader, LineEnding } from "../net/buffered_reader.ts";
import type { ImapResponseCode, ImapStatusResponse } from "./_imap_wire_types.ts";
import {
  ImapTokenizer,
  type LiteralAnnouncement,
  type LiteralHandler,
  LPAREN,
  PLUS,
  RBRACKET,
  RPAREN,
  SP,
} from "./_imap_tokenizer.ts";
import { abortableIo, collectLiteral, drainLiteral, pipeLiteral } from "./_imap_literal.ts";
import { parseResponseCode } from "./_imap_response_code.ts";
export type {
  ImapAtomToken,
  ImapContinuationResponse,
  ImapDataResponse,
  ImapListToken,
  ImapLiteralToken,
  ImapNilToken,
  ImapNumberToken,
  ImapResponse,
  ImapSectionToken,
  ImapStreamedToken,
  ImapStringToken,
  ImapToken,
} from "./_imap_wire_types.ts";
import type { ImapListToken, ImapResponse, ImapToken } from "./_imap_wire_types.ts";

/** What the reader knows about a FETCH body-section literal before reading it. */
export interface ImapBodyLiteralInfo {
  /** The message sequence number of the FETCH response. */
  seq: number;
  /** The UID, when the server sent `UID` before this item; else null. */
  uid: number | null;
  /** The item: `BODY`, `BINARY`, `RFC822`, `RFC822.HEADER` or `RFC822.TEXT`. */
  item: string;
  /**
   * The section as in {@linkcode ImapSectionToken.section}; for the RFC822
   * items their equivalents `""`, `HEADER` and `TEXT`.
   */
  section: string;
  /** The `<origin>` of a partial fetch, or null. */
  origin: number | null;
  /** The announced size in bytes. */
  size: number;
  /** Whether it is a literal8 (BINARY). */
  binary: boolean;
}

/**
 * Where a body-section literal goes: a stream (written with backpressure and
 * closed at the end), `"inline"` (kept in memory under
 * {@linkcode ImapResponseReaderOptions.maxLiteralSize}), or `"skip"` (read
 * and dropped).
 */
export type ImapBodyLiteralTarget = WritableStream<Uint8Array> | "inline" | "skip";

/** Chooses where a body-section literal goes. */
export type ImapBodyLiteralHandler = (
  info: ImapBodyLiteralInfo,
) => ImapBodyLiteralTarget | Promise<ImapBodyLiteralTarget>;

/** Options for {@linkcode ImapResponseReader}. */
export interface ImapResponseReaderOptions {
  /**
   * The most bytes in one line segment (the text between literals).
   *
   * @default {65536}
   */
  maxLineLength?: number;
  /**
   * The most bytes in one response, counting line segments and the literals
   * that are not body sections; body sections are bounded by
   * `maxLiteralSize`, streamed ones not at all.
   *
   * @default {16777216}
   */
  maxResponseSize?: number;
  /**
   * The largest literal that is not a FETCH body section (an envelope
   * subject, a mailbox name, a METADATA value). Such strings are small in
   * practice; a larger one is `"LITERAL_TOO_LARGE"` before any of it is read.
   *
   * @default {1048576}
   */
  maxInlineLiteral?: number;
  /**
   * The most bytes of FETCH body sections one response may keep in memory
   * (`"inline"`), each section and all together. Larger sections must go to
   * a stream through `onBodyLiteral`, else they are `"LITERAL_TOO_LARGE"`
   * before any of their bytes are read.
   *
   * @default {67108864}
   */
  maxLiteralSize?: number;
  /**
   * The deepest list nesting (BODYSTRUCTURE nests one level per MIME level).
   *
   * @default {100}
   */
  maxDepth?: number;
  /**
   * The most tokens in one response, which bounds the memory of the token
   * tree (a `SEARCH` result of many numbers, say).
   *
   * @default {1000000}
   */
  maxTokens?: number;
  /**
   * `"crlf"` requires CR LF line ends (`"BARE_LF"` otherwise); `"any"` also
   * accepts a lone LF.
   *
   * @default {"any"}
   */
  lineEnding?: LineEnding;
  /**
   * Chooses, for each FETCH body-section literal (`BODY[...]`, `BINARY[...]`,
   * `RFC822`, `RFC822.HEADER`, `RFC822.TEXT`), whether it is kept in memory,
   * written to a stream or skipped. A quoted or NIL body section never comes
   * here. Without a handler, sections are kept in memory.
   */
  onBodyLiteral?: ImapBodyLiteralHandler;
}

/** Options for one {@linkcode ImapResponseReader.read}. */
export interface ImapReadOptions {
  /**
   * Aborts the read. An aborted read leaves the connection in the middle of
   * a response: the reader refuses further reads and the connection should
   * be closed.
   */
  signal?: AbortSignal;
  /** Overrides {@linkcode ImapResponseReaderOptions.onBodyLiteral} for this read. */
  onBodyLiteral?: ImapBodyLiteralHandler;
}

const STATUS_WORDS = new Set(["OK", "NO", "BAD", "BYE", "PREAUTH"]);
const TAGGED_STATUS = new Set(["OK", "NO", "BAD"]);
const RFC822_SECTIONS = new Map([["RFC822", ""], ["RFC822.HEADER", "HEADER"], [
  "RFC822.TEXT",
  "TEXT",
]]);
const STAR = 0x2a;

function positiveOption(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new RangeError(
      `Cannot create IMAP response reader: ${name} ${v} is not a positive integer`,
    );
  }
  return v;
}

/**
 * Reads IMAP server responses one at a time, pulling from a
 * {@linkcode BufferedReader} only the bytes each response needs, so the
 * connection can switch to TLS or IDLE between responses.
 *
 * Every literal is collected as its bytes arrive, never allocated from the
 * size the server announced; sizes over the limits are refused before a
 * byte of them is read. FETCH body sections can instead be written to a
 * `WritableStream` with backpressure while the rest of the response waits.
 * A `{n}` inside a quoted string or in human-readable text is text.
 *
 * After a read throws, the connection's framing is unknown: the reader
 * refuses further reads and the connection should be closed.
 *
 * @example Reading a greeting, a FETCH and a tagged OK
 * ```ts
 * import { ImapResponseReader } from "@inetkit/inetkit/mail";
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = "* OK [CAPABILITY IMAP4rev1] ready\r\n" +
 *   "* 1 FETCH (UID 7 BODY[] {5}\r\nHello)\r\n" +
 *   "a1 OK done\r\n";
 * const reader = new ImapResponseReader(
 *   new BufferedReader(ReadableStream.from([new TextEncoder().encode(wire)])),
 * );
 * assertEquals(await reader.read(), {
 *   type: "status",
 *   tag: null,
 *   status: "OK",
 *   code: { name: "CAPABILITY", value: ["IMAP4REV1"] },
 *   text: "ready",
 * });
 * const fetch = await reader.read();
 * assertEquals(fetch?.type === "data" && fetch.name, "FETCH");
 * assertEquals((await reader.read())?.type, "status");
 * assertEquals(await reader.read(), null);
 * ```
 *
 * @example Streaming a large body section
 * ```ts
 * import { ImapResponseReader } from "@inetkit/inetkit/mail";
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = "* 1 FETCH (BODY[] {11}\r\nHello world UID 9)\r\n";
 * const reader = new ImapResponseReader(
 *   new BufferedReader(ReadableStream.from([new TextEncoder().encode(wire)])),
 * );
 * const chunks: Uint8Array[] = [];
 * const response = await reader.read({
 *   onBodyLiteral: () => new WritableStream({ write: (c) => void chunks.push(c) }),
 * });
 * assertEquals(new TextDecoder().decode(chunks[0]), "Hello world");
 * assertEquals(response?.type === "data" && response.args[0], {
 *   type: "list",
 *   items: [
 *     { type: "section", name: "BODY", section: "", fields: null, origin: null, length: null },
 *     { type: "streamed", size: 11, binary: false, skipped: false, error: undefined },
 *     { type: "atom", value: "UID" },
 *     { type: "number", value: 9, text: "9" },
 *   ],
 * });
 * ```
 */
export class ImapResponseReader {
  readonly #reader: BufferedReader;
  readonly #t: ImapTokenizer;
  readonly #maxInline: number;
  readonly #maxLiteral: number;
  readonly #onBodyLiteral: ImapBodyLiteralHandler | undefined;
  #busy = false;
  #failure: unknown = null;
  #bodyBytes = 0;
  #stringLiteral: LiteralHandler;

  /**
   * Creates a reader over a connection's buffered reader.
   *
   * @param reader The buffered reader of the connection.
   * @param options Limits and the body-section handler.
   * @throws {RangeError} If a limit is not a positive integer.
   */
  constructor(reader: BufferedReader, options?: ImapResponseReaderOptions) {
    options ??= {};
    this.#reader = reader;
    this.#maxInline = positiveOption(options.maxInlineLiteral, 1048576, "maxInlineLiteral");
    this.#maxLiteral = positiveOption(options.maxLiteralSize, 67108864, "maxLiteralSize");
    this.#onBodyLiteral = options.onBodyLiteral;
    this.#t = new ImapTokenizer(reader, {
      mode: "response",
      maxLineLength: positiveOption(options.maxLineLength, 65536, "maxLineLength"),
      maxTotal: positiveOption(options.maxResponseSize, 16777216, "maxResponseSize"),
      maxDepth: positiveOption(options.maxDepth, 100, "maxDepth"),
      maxTokens: positiveOption(options.maxTokens, 1000000, "maxTokens"),
      lineEnding: options.lineEnding ?? "any",
    });
    this.#stringLiteral = (a) => this.#t.inlineLiteral(a, this.#maxInline, "string");
  }

  /**
   * Reads the next response.
   *
   * @param options An abort signal and a body-section handler for this read.
   * @returns The response, or `null` when the stream ends between responses.
   * @throws {ProtocolError} `"BAD_REPLY"` for malformed syntax or NUL
   *   outside a literal, `"UNEXPECTED_EOF"` when the stream ends inside a
   *   response, `"LINE_TOO_LONG"`, `"BARE_LF"` (with `lineEnding: "crlf"`),
   *   `"REPLY_TOO_LARGE"`, `"LITERAL_TOO_LARGE"`, `"TOO_DEEP"` or
   *   `"TOO_MANY_TOKENS"` when a limit is exceeded.
   * @throws {TypeError} If another read is running, or an earlier read
   *   failed (the error is its `cause`), or a handler returns a bad target.
   */
  async read(options?: ImapReadOptions): Promise<ImapResponse | null> {
    options ??= {};
    if (this.#busy) {
      throw new TypeError(
        "Cannot read IMAP response while another read is running: did you forget await?",
      );
    }
    if (this.#failure !== null) {
      throw new TypeError("Cannot read IMAP response: an earlier read failed", {
        cause: this.#failure,
      });
    }
    options.signal?.throwIfAborted();
    this.#busy = true;
    this.#t.io = abortableIo(options.signal);
    this.#bodyBytes = 0;
    try {
      return await this.#read(options.onBodyLiteral ?? this.#onBodyLiteral);
    } catch (error) {
      this.#failure = error;
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  async #read(hook: ImapBodyLiteralHandler | undefined): Promise<ImapResponse | null> {
    const t = this.#t;
    if (!(await t.firstLine())) return null;
    const first = t.peek();
    if (first === PLUS) {
      t.pos++;
      if (t.peek() === SP) t.pos++;
      const { code, text } = await this.#respText(true);
      return { type: "continuation", code, text };
    }
    if (first === STAR) {
      t.pos++;
      t.expectSpace("after *");
      let number: number | null = null;
      if (t.peek() >= 0x30 && t.peek() <= 0x39) {
        const token = t.atomToken(false);
        if (token.type !== "number" || typeof token.value !== "number") {
          throw t.bad("untagged response starts with a malformed number");
        }
        number = token.value;
        t.expectSpace("after the message number");
      }
      const name = t.atomText(false).toUpperCase();
      if (name === "") throw t.bad("untagged response has no name");
      if (number === null && STATUS_WORDS.has(name)) {
        const { code, text } = await this.#respText(false);
        return {
          type: "status",
          tag: null,
          status: name as ImapStatusResponse["status"],
          code,
          text,
        };
      }
      let args: ImapToken[];
      if (name === "FETCH" && number !== null) {
        t.expectSpace("after FETCH");
        args = [await this.#fetchList(number, hook)];
        t.skipSpaces();
        if (!t.atEnd()) throw t.bad("FETCH response continues after its list");
      } else {
        args = await this.#args();
      }
      return { type: "data", number, name, args };
    }
    const tag = t.atomText(false);
    if (tag === "" || tag.includes("+")) {
      throw t.bad(
        `response does not start with *, + or a tag: ${JSON.stringify(t.rest().slice(0, 40))}`,
      );
    }
    t.expectSpace("after the tag");
    const status = t.atomText(false).toUpperCase();
    if (!TAGGED_STATUS.has(status)) {
      throw t.bad(`tagged response has status ${JSON.stringify(status)}, not OK, NO or BAD`);
    }
    const { code, text } = await this.#respText(false);
    return { type: "status", tag, status: status as "OK" | "NO" | "BAD", code, text };
  }

  /** `[SP] ["[" code "]" SP] text` after a status word or `+`. */
  async #respText(
    continuation: boolean,
  ): Promise<{ code: ImapResponseCode | null; text: string }> {
    const t = this.#t;
    if (!continuation) {
      if (t.atEnd()) return { code: null, text: "" };
      t.expectSpace("before the response text");
    }
    let code: ImapResponseCode | null = null;
    if (t.peek() === 0x5b) {
      const close = t.line.indexOf(RBRACKET, t.pos + 1);
      if (close < 0) {
        if (continuation) return { code: null, text: t.rest() };
        throw t.bad("response code is not closed by ]");
      }
      const inner = t.line.subarray(t.pos + 1, close);
      const space = inner.indexOf(SP);
      const name = new TextDecoder().decode(space < 0 ? inner : inner.subarray(0, space));
      if (!/^[!#-'*-Z^-z|~]+$/.test(name)) {
        throw t.bad(`response code name ${JSON.stringify(name)} is not an atom`);
      }
      const args = space < 0 ? null : inner.subarray(space + 1);
      code = await parseResponseCode(
        name,
        args,
        args === null ? null : new TextDecoder().decode(args),
      );
      t.pos = close + 1;
      if (t.peek() === SP) t.pos++;
    }
    return { code, text: t.rest() };
  }

  /** Tokens up to the end of the response. */
  async #args(): Promise<ImapToken[]> {
    const t = this.#t;
    const out: ImapToken[] = [];
    for (;;) {
      t.skipSpaces();
      if (t.atEnd()) return out;
      if (t.peek() === RPAREN) throw t.bad("unbalanced )");
      out.push(await t.value(0, false, this.#stringLiteral));
    }
  }

  /** The list of a `* n FETCH (...)` response, where body sections may be streamed. */
  async #fetchList(
    seq: number,
    hook: ImapBodyLiteralHandler | undefined,
  ): Promise<ImapListToken> {
    const t = this.#t;
    if (t.peek() !== LPAREN) throw t.bad("FETCH data is not a list");
    t.pos++;
    const items: ImapToken[] = [];
    let uid: number | null = null;
    for (;;) {
      t.skipSpaces();
      const b = t.peek();
      if (b === RPAREN) {
        t.pos++;
        return { type: "list", items };
      }
      if (b < 0) throw t.bad("FETCH list is not closed before the end of the line");
      const name = await t.value(1, false, this.#stringLiteral);
      items.push(name);
      t.skipSpaces();
      if (t.atEnd() || t.peek() === RPAREN) throw t.bad("FETCH item has no value");
      const body = bodyItem(name);
      let value: ImapToken;
      if (body !== null && t.atLiteral()) {
        const a = t.announcement();
        value = await this.#bodyLiteral(
          a,
          { seq, uid, ...body, size: a.size, binary: a.binary },
          hook,
        );
      } else {
        value = await t.value(1, false, this.#stringLiteral);
      }
      if (name.type === "atom" && name.value.toUpperCase() === "UID" && value.type === "number") {
        uid = typeof value.value === "number" ? value.value : null;
      }
      items.push(value);
    }
  }

  async #bodyLiteral(
    a: LiteralAnnouncement,
    info: ImapBodyLiteralInfo,
    hook: ImapBodyLiteralHandler | undefined,
  ): Promise<ImapToken> {
    const t = this.#t;
    t.checkLiteral(a, Number.MAX_SAFE_INTEGER, "body");
    const target = hook === undefined ? "inline" : await hook(info);
    let token: ImapToken;
    if (target === "inline") {
      t.checkLiteral(a, this.#maxLiteral - this.#bodyBytes, "in-memory body");
      this.#bodyBytes += a.size;
      token = {
        type: "literal",
        value: await collectLiteral(this.#reader, a.size, t.io),
        binary: a.binary,
      };
    } else if (target === "skip") {
      await drainLiteral(this.#reader, a.size, t.io);
      token = { type: "streamed", size: a.size, binary: a.binary, skipped: true, error: undefined };
    } else if (target instanceof WritableStream) {
      const error = await pipeLiteral(this.#reader, a.size, target, t.io);
      token = { type: "streamed", size: a.size, binary: a.binary, skipped: false, error };
    } else {
      throw new TypeError(
        `Cannot deliver body literal: onBodyLiteral returned ${String(target)}, ` +
          `not a WritableStream, "inline" or "skip"`,
      );
    }
    await t.nextLine();
    return token;
  }
}

/** For a FETCH item name that carries message bytes, its item and section. */
function bodyItem(
  name: ImapToken,
): { item: string; section: string; origin: number | null } | null {
  if (name.type === "section" && (name.name === "BODY" || name.name === "BINARY")) {
    return { item: name.name, section: name.section, origin: name.origin };
  }
  if (name.type === "atom") {
    const upper = name.value.toUpperCase();
    const section = RFC822_SECTIONS.get(upper);
    if (section !== undefined) return { item: upper, section, origin: null };
  }
  return null;
}
