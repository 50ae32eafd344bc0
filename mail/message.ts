/**
 * Reading RFC 5322 messages and MIME entities (RFC 2045, RFC 2046): as a
 * stream ({@linkcode readMessage}, {@linkcode StreamedPart}), where memory
 * stays bounded whatever the message size, or into memory
 * ({@linkcode parseMessage}, {@linkcode MailMessage}) with convenient
 * accessors for the text, the HTML and the attachments.
 *
 * @module
 */
import { BufferedReader, type ByteReader } from "../net/buffered_reader.ts";
import { type HeaderField, readHeaderBlock } from "../net/mime_header.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import type { MailAddress } from "./address.ts";
import { decodeCharset } from "./_charset.ts";
import { type Codec, DECODER_SLACK, decoderForEncoding } from "./_codec.ts";
import { MailHeaders } from "./mail_headers.ts";
import type { ContentType } from "./mime_parameters.ts";
import { MultipartSplitter } from "./_multipart.ts";
import { concatBytes } from "../net/_bytes.ts";

/** Where a message comes from: bytes, text, a stream, or a `{ read(p) }` reader. */
export type MessageSource = Uint8Array | string | ReadableStream<Uint8Array> | ByteReader;

/** Limits for reading a message as a stream. */
export interface ReadMessageOptions {
  /**
   * The most bytes in one header block (the message's or a part's).
   *
   * @default {65536}
   */
  maxHeaderSize?: number;
  /**
   * The most fields in one header block.
   *
   * @default {1000}
   */
  maxHeaderFields?: number;
  /**
   * How deeply multiparts and enclosed messages may nest.
   *
   * @default {32}
   */
  maxDepth?: number;
  /**
   * The most body parts in the whole message.
   *
   * @default {10000}
   */
  maxParts?: number;
  /**
   * The most bytes of a multipart's preamble or epilogue that are kept;
   * more are skipped and noted in `defects`.
   *
   * @default {65536}
   */
  maxPreambleSize?: number;
}

/** Limits for {@linkcode parseMessage}. */
export interface ParseMessageOptions extends ReadMessageOptions {
  /**
   * The most decoded content bytes held in memory for the whole message.
   *
   * @default {67108864}
   */
  maxSize?: number;
}

/** Options for reading one part's body into memory. */
export interface ReadBodyOptions {
  /**
   * The most decoded bytes to accept.
   *
   * @default {16777216}
   */
  maxSize?: number;
}

interface Context {
  maxHeaderSize: number;
  maxHeaderFields: number;
  maxDepth: number;
  maxParts: number;
  maxPreambleSize: number;
  parts: number;
  /** A read buffer shared by the parts of one message, which are read one at a time. */
  scratch: Uint8Array | null;
  /** Where the contents of the message's small parts are kept. */
  arena: ContentArena | null;
}

/** The size of one arena block. */
const ARENA_BLOCK = 1024 * 1024;
/** Contents up to this size are kept in the arena. */
const ARENA_PART = ARENA_BLOCK / 4;

/**
 * Keeps the decoded contents of small parts next to each other in shared
 * blocks: each part is decoded straight into its place, with no chunks to
 * join and no garbage, so reading a message of many parts into memory takes
 * little more than the contents themselves.
 */
class ContentArena {
  #block: Uint8Array = EMPTY;
  /** Where the current content starts: everything before it is finished. */
  #used = 0;

  /**
   * Returns room for `need` more bytes after the `length` bytes of the
   * current content (moving it to a new block when this one is full), or
   * `null` when the content would outgrow the arena.
   */
  spare(length: number, need: number): Uint8Array | null {
    if (length + need > ARENA_PART) return null;
    if (this.#used + length + need > this.#block.length) {
      const next = new Uint8Array(ARENA_BLOCK);
      next.set(this.#block.subarray(this.#used, this.#used + length));
      this.#block = next;
      this.#used = 0;
    }
    return this.#block.subarray(this.#used + length);
  }

  /** Ends the current content and returns it (a view into the block). */
  finish(length: number): Uint8Array {
    if (length === 0) return EMPTY;
    const view = this.#block.subarray(this.#used, this.#used + length);
    this.#used += length;
    return view;
  }

  /** Copies the current content out and gives its room back. */
  takeOut(length: number): Uint8Array {
    return this.#block.slice(this.#used, this.#used + length);
  }
}

const CHUNK = 65536;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const utf8 = new TextDecoder();
const FIELD_LINE_REGEXP = /^[\x21-\x39\x3b-\x7e]+:/;

function contextOf(options: ReadMessageOptions): Context {
  const pick = (value: number | undefined, fallback: number, name: string): number => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`Cannot read message: ${name} ${v} is not a non-negative integer`);
    }
    return v;
  };
  return {
    maxHeaderSize: pick(options.maxHeaderSize, 65536, "maxHeaderSize"),
    maxHeaderFields: pick(options.maxHeaderFields, 1000, "maxHeaderFields"),
    maxDepth: pick(options.maxDepth, 32, "maxDepth"),
    maxParts: pick(options.maxParts, 10000, "maxParts"),
    maxPreambleSize: pick(options.maxPreambleSize, 65536, "maxPreambleSize"),
    parts: 0,
    scratch: null,
    arena: null,
  };
}

function bytesReader(bytes: Uint8Array): ByteReader {
  let offset = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (offset >= bytes.length) return Promise.resolve(p.length === 0 ? 0 : null);
      const n = Math.min(p.length, bytes.length - offset);
      p.set(bytes.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
}

/** A reader that decodes a transfer encoding on the way. */
function decodingReader(source: ByteReader, codec: Codec): ByteReader {
  let pending: Uint8Array = EMPTY;
  let ended = false;
  const raw = new Uint8Array(CHUNK);
  return {
    async read(p: Uint8Array): Promise<number | null> {
      while (pending.length === 0) {
        if (ended) return null;
        const n = await source.read(raw);
        if (n === null) {
          ended = true;
          pending = codec.flush().slice();
        } else pending = codec.push(raw.subarray(0, n)).slice();
      }
      const n = Math.min(p.length, pending.length);
      p.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
  };
}

function tooLarge(max: number): ProtocolError {
  return new ProtocolError("BODY_TOO_LARGE", `Cannot read body: content exceeds ${max} bytes`);
}

/** Reads a part's header; a first line that is no field means the part has none. */
async function readPartHeader(
  reader: BufferedReader,
  ctx: Context,
  defects: string[],
): Promise<HeaderField[]> {
  const head = await reader.peek(1024);
  if (head.length > 0 && head[0] !== 13 && head[0] !== 10) {
    const lf = head.indexOf(10);
    const line = utf8.decode(lf < 0 ? head : head.subarray(0, lf));
    if (!FIELD_LINE_REGEXP.test(line)) {
      defects.push("MISSING_HEADER");
      return [];
    }
  }
  return await readEntityHeader(reader, ctx);
}

async function readEntityHeader(reader: BufferedReader, ctx: Context): Promise<HeaderField[]> {
  return await readHeaderBlock(reader, {
    maxBytes: ctx.maxHeaderSize,
    maxFields: ctx.maxHeaderFields,
    allowEof: true,
  });
}

const internals = new WeakMap<
  StreamedPart,
  { ctx: Context; depth: number; source?: BufferedReader }
>();

function isAttachmentOf(headers: MailHeaders): boolean {
  const disposition = headers.contentDisposition?.value;
  if (disposition === "attachment") return true;
  return disposition === undefined && headers.filename !== null;
}

/**
 * One entity of a message read as a stream: the message itself, a body part
 * of a multipart, or an enclosed `message/rfc822`. Its header is read; its
 * body is read on demand, once, as raw bytes ({@linkcode StreamedPart.body}),
 * decoded bytes ({@linkcode StreamedPart.content}, {@linkcode StreamedPart.bytes},
 * {@linkcode StreamedPart.text}) or child parts ({@linkcode StreamedPart.parts}).
 * Parts come in order: moving to the next part skips what is left of the
 * current one, whose streams then fail.
 *
 * @example Walking a multipart message as a stream
 * ```ts
 * import { readMessage } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const message = await readMessage(
 *   'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' +
 *     "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
 *     "--b\r\nContent-Type: application/octet-stream\r\n" +
 *     "Content-Transfer-Encoding: base64\r\n\r\nAQID\r\n--b--\r\n",
 * );
 * const seen: string[] = [];
 * for await (const part of message.walk()) {
 *   if (part.isMultipart) continue;
 *   seen.push(`${part.contentType.mediaType}: ${(await part.bytes()).length}`);
 * }
 * assertEquals(seen, ["text/plain: 5", "application/octet-stream: 3"]);
 * ```
 */
export class StreamedPart {
  /** The entity's header fields. */
  readonly headers: MailHeaders;
  #source: ByteReader;
  #taken = false;
  #dead = false;
  #defects: string[];
  #splitter: MultipartSplitter | null = null;

  /**
   * Wraps a header and a body source as a part. {@linkcode readMessage}
   * makes these; construct one directly to treat any body as an entity.
   *
   * @param headers The entity's header.
   * @param body The body bytes, read on demand.
   * @param options Limits for child parts.
   * @throws {RangeError} If a limit is not a non-negative integer.
   */
  constructor(headers: MailHeaders, body: ByteReader, options?: ReadMessageOptions) {
    options ??= {};
    this.headers = headers;
    this.#source = body;
    this.#defects = [];
    internals.set(this, { ctx: contextOf(options), depth: 0 });
  }

  /** The parsed `Content-Type` (`text/plain` by default). */
  get contentType(): ContentType {
    return this.headers.contentType;
  }

  /** Whether this is a `multipart/*` entity with a boundary, whose body is parts. */
  get isMultipart(): boolean {
    const type = this.headers.contentType;
    return type.type === "multipart" && (type.params.boundary ?? "") !== "";
  }

  /** Whether this encloses a message (`message/rfc822` or `message/global`). */
  get isMessage(): boolean {
    const media = this.headers.contentType.mediaType;
    return media === "message/rfc822" || media === "message/global";
  }

  /** The file name from `Content-Disposition` or `Content-Type`, decoded, or `null`. */
  get filename(): string | null {
    return this.headers.filename;
  }

  /**
   * Whether the part is an attachment: its disposition is `attachment`, or
   * it has no disposition but a file name.
   */
  get isAttachment(): boolean {
    return isAttachmentOf(this.headers);
  }

  /**
   * Problems met and worked around so far (`"MISSING_CLOSE_DELIMITER"`,
   * `"NO_PARTS"`, `"MISSING_HEADER"`, `"PREAMBLE_TOO_LARGE"`,
   * `"EPILOGUE_TOO_LARGE"`), for a multipart complete once its parts are read.
   */
  get defects(): readonly string[] {
    return this.#splitter === null ? this.#defects : [...this.#defects, ...this.#splitter.defects];
  }

  /** A multipart's preamble (up to `maxPreambleSize`), once the first part is reached. */
  get preamble(): Uint8Array | null {
    return this.#splitter?.preamble ?? null;
  }

  /** A multipart's epilogue (up to `maxPreambleSize`), once the parts are read. */
  get epilogue(): Uint8Array | null {
    return this.#splitter?.epilogue ?? null;
  }

  #take(what: string): void {
    if (this.#dead) throw new TypeError(`Cannot read ${what}: the parser moved past this part`);
    if (this.#taken) throw new TypeError(`Cannot read ${what}: the body was already read`);
    this.#taken = true;
  }

  async #readRaw(p: Uint8Array): Promise<number | null> {
    if (this.#dead) throw new TypeError("Cannot read body: the parser moved past this part");
    return await this.#source.read(p);
  }

  #stream(codec: Codec | null): ReadableStream<Uint8Array> {
    let raw: Uint8Array | null = null;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          // A decoder's output is new memory, so its input buffer is reused.
          if (raw === null) raw = new Uint8Array(CHUNK);
          const n = await this.#readRaw(raw);
          if (n === null) {
            const last = codec?.flush() ?? EMPTY;
            if (last.length > 0) controller.enqueue(last);
            controller.close();
            return;
          }
          let out: Uint8Array = raw.subarray(0, n);
          if (codec !== null) out = codec.push(out);
          if (out.length === 0) continue;
          if (out.buffer !== raw.buffer) controller.enqueue(out);
          else if (out.length < CHUNK / 4) controller.enqueue(out.slice());
          else {
            controller.enqueue(out);
            raw = null;
          }
          return;
        }
      },
      cancel: () => {
        this.#kill();
      },
    }, { highWaterMark: 0 });
  }

  /**
   * The raw body as sent, still transfer-encoded (for a multipart, the whole
   * multipart body). Can be taken once, instead of the other body readers.
   *
   * @throws {TypeError} If the body was already read or the parser moved on.
   */
  get body(): ReadableStream<Uint8Array> {
    this.#take("body");
    return this.#stream(null);
  }

  /**
   * The body with its `Content-Transfer-Encoding` decoded (base64,
   * quoted-printable; others pass through). Can be taken once.
   *
   * @throws {TypeError} If the body was already read or the parser moved on.
   */
  get content(): ReadableStream<Uint8Array> {
    this.#take("content");
    return this.#stream(decoderForEncoding(this.headers.transferEncoding));
  }

  /**
   * Reads the decoded body into memory. Small bodies are kept side by side
   * in blocks shared by the parts of the message (far less memory churn on
   * messages of many parts), so the result may be a view into a larger
   * `ArrayBuffer`: `slice()` it before transferring its buffer.
   *
   * @param options The size limit.
   * @returns The decoded bytes.
   * @throws {ProtocolError} `"BODY_TOO_LARGE"` past `maxSize`.
   * @throws {TypeError} If the body was already read or the parser moved on.
   */
  async bytes(options?: ReadBodyOptions): Promise<Uint8Array> {
    options ??= {};
    const max = options.maxSize ?? 16 * 1024 * 1024;
    this.#take("content");
    const codec = decoderForEncoding(this.headers.transferEncoding);
    const ctx = internals.get(this)!.ctx;
    // The message's scratch buffer and arena, not new memory per part: a
    // message of many small parts then makes almost no garbage.
    const raw = ctx.scratch ??= new Uint8Array(CHUNK);
    ctx.scratch = null; // taken while this part reads (an enclosed message reads beneath it)
    const arena = ctx.arena ??= new ContentArena();
    let length = 0;
    let chunks: Uint8Array[] | null = null;
    const add = (out: Uint8Array): void => {
      if (out.length === 0) return;
      length += out.length;
      if (length > max) throw tooLarge(max);
      chunks!.push(out.buffer === raw.buffer ? out.slice() : out);
    };
    try {
      for (;;) {
        const n = await this.#readRaw(raw);
        if (n === null) break;
        const input = raw.subarray(0, n);
        if (chunks === null) {
          const dest = arena.spare(length, n + DECODER_SLACK);
          if (dest !== null) {
            length += codec.pushInto(input, dest);
            if (length > max) throw tooLarge(max);
            continue;
          }
          // A large part leaves the arena and is collected in chunks.
          chunks = [arena.takeOut(length)];
        }
        add(codec.push(input));
      }
      if (chunks === null) {
        const dest = arena.spare(length, DECODER_SLACK);
        if (dest !== null) {
          length += codec.flushInto(dest);
          if (length > max) throw tooLarge(max);
          return arena.finish(length);
        }
        chunks = [arena.takeOut(length)];
      }
      add(codec.flush());
    } finally {
      ctx.scratch = raw;
    }
    return concatBytes(chunks, length);
  }

  /**
   * Reads the decoded body as text in its `charset` (UTF-8 when absent or
   * unknown to the platform).
   *
   * @param options The size limit.
   * @returns The text.
   * @throws {ProtocolError} `"BODY_TOO_LARGE"` past `maxSize`.
   * @throws {TypeError} If the body was already read or the parser moved on.
   */
  async text(options?: ReadBodyOptions): Promise<string> {
    options ??= {};
    return decodeCharset(await this.bytes(options), this.contentType.params.charset);
  }

  /** Reads and drops the rest of the body. */
  async skip(): Promise<void> {
    if (this.#dead) return;
    this.#taken = true;
    const scratch = new Uint8Array(CHUNK);
    while ((await this.#source.read(scratch)) !== null) {
      // dropped
    }
  }

  /**
   * Stops reading: for a message from {@linkcode readMessage}, releases the
   * source stream (cancelling it); streams of this part fail afterwards.
   *
   * @param reason Passed to the stream's `cancel`.
   */
  async cancel(reason?: unknown): Promise<void> {
    this.#kill();
    await internals.get(this)?.source?.cancel(reason);
  }

  #kill(): void {
    this.#dead = true;
  }

  /**
   * Iterates the child parts of a multipart, or the one enclosed message of a
   * `message/rfc822` part, as they arrive. Moving to the next child skips
   * what is left of the current one.
   *
   * @returns The children, in order.
   * @throws {TypeError} If this is not a multipart or message, or the body
   *   was already read.
   * @throws {ProtocolError} `"TOO_DEEP"` or `"TOO_MANY_PARTS"` past the
   *   limits, and the header reader's errors for a malformed part header.
   */
  async *parts(): AsyncGenerator<StreamedPart> {
    const isMessage = this.isMessage;
    if (!this.isMultipart && !isMessage) {
      throw new TypeError(
        `Cannot read parts: ${this.contentType.mediaType} is not a multipart or message`,
      );
    }
    this.#take("parts");
    const { ctx, depth } = internals.get(this)!;
    if (depth >= ctx.maxDepth) {
      throw new ProtocolError("TOO_DEEP", `Cannot read parts: nested deeper than ${ctx.maxDepth}`);
    }
    const source: ByteReader = { read: (p) => this.#readRaw(p) };
    const child = async (body: ByteReader, part: boolean): Promise<StreamedPart> => {
      if (++ctx.parts > ctx.maxParts) {
        throw new ProtocolError(
          "TOO_MANY_PARTS",
          `Cannot read parts: the message has more than ${ctx.maxParts}`,
        );
      }
      const reader = new BufferedReader(body, { bufferSize: 4096 });
      const defects: string[] = [];
      const fields = part
        ? await readPartHeader(reader, ctx, defects)
        : await readEntityHeader(reader, ctx);
      const entity = new StreamedPart(new MailHeaders(fields), reader);
      entity.#defects.push(...defects);
      internals.set(entity, { ctx, depth: depth + 1 });
      return entity;
    };
    if (isMessage) {
      const encoding = this.headers.transferEncoding;
      const body = encoding === "base64" || encoding === "quoted-printable"
        ? decodingReader(source, decoderForEncoding(encoding))
        : source;
      const enclosed = await child(body, false);
      try {
        yield enclosed;
      } finally {
        enclosed.#kill();
      }
      await this.skip();
      return;
    }
    const splitter = new MultipartSplitter(
      source,
      this.contentType.params.boundary!,
      ctx.maxPreambleSize,
    );
    this.#splitter = splitter;
    for (;;) {
      const body = await splitter.next();
      if (body === null) break;
      const part = await child(body, true);
      try {
        yield part;
      } finally {
        part.#kill();
      }
    }
  }

  /**
   * Iterates this entity and all its descendants depth first, in order (as
   * Python's `Message.walk`), descending into multiparts and enclosed
   * messages. Read each leaf's body while it is current.
   *
   * @returns The entities.
   */
  async *walk(): AsyncGenerator<StreamedPart> {
    yield this;
    if ((this.isMultipart || this.isMessage) && !this.#taken && !this.#dead) {
      for await (const part of this.parts()) yield* part.walk();
    }
  }
}

function sourceOf(source: MessageSource): BufferedReader {
  if (source instanceof BufferedReader) return source;
  if (typeof source === "string") return new BufferedReader(bytesReader(encoder.encode(source)));
  if (source instanceof Uint8Array) return new BufferedReader(bytesReader(source));
  if (source instanceof ReadableStream) return new BufferedReader(source);
  if (source !== null && typeof source === "object" && typeof source.read === "function") {
    return new BufferedReader(source);
  }
  throw new TypeError("Cannot read message: the source is not bytes, text, a stream or a reader");
}

/**
 * Reads a message's header and returns it as a {@linkcode StreamedPart}
 * whose body (and parts) are read on demand: memory stays bounded by the
 * buffers and the limits, whatever the size of the message. Lines may end
 * in CRLF or LF. Header fields are read as UTF-8 (RFC 6532); raw 8-bit
 * bytes in another charset become U+FFFD (RFC 2047 encoded words are how
 * such text travels). Call {@linkcode StreamedPart.cancel} to stop early.
 *
 * @param source The message.
 * @param options Limits.
 * @returns The message entity.
 * @throws {ProtocolError} From the header reader (`"HEADER_TOO_LARGE"`,
 *   `"TOO_MANY_FIELDS"`, `"BAD_HEADER"`...).
 * @throws {RangeError} If a limit is not a non-negative integer.
 *
 * @example Streaming an attachment out of a message
 * ```ts
 * import { readMessage } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const message = await readMessage(new TextEncoder().encode(
 *   "Subject: data\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n",
 * ));
 * assertEquals(message.headers.subject, "data");
 * assertEquals(await new Response(message.content).text(), "hello");
 * ```
 */
export async function readMessage(
  source: MessageSource,
  options?: ReadMessageOptions,
): Promise<StreamedPart> {
  options ??= {};
  const ctx = contextOf(options);
  const reader = sourceOf(source);
  const fields = await readEntityHeader(reader, ctx);
  const message = new StreamedPart(new MailHeaders(fields), reader);
  internals.set(message, { ctx, depth: 0, source: reader });
  return message;
}

/** What a {@linkcode MimePart} is made of. */
export interface MimePartInit {
  /** The header. */
  headers: MailHeaders;
  /** The decoded body of a leaf, or of an enclosed message. */
  content?: Uint8Array;
  /** The children of a multipart, or the one enclosed message. */
  parts?: MimePart[];
  /** A multipart's preamble. */
  preamble?: Uint8Array | null;
  /** A multipart's epilogue. */
  epilogue?: Uint8Array | null;
  /** Problems met while reading it. */
  defects?: readonly string[];
}

/**
 * One entity of a message held in memory (see {@linkcode parseMessage}): its
 * header, its decoded content, and its children.
 *
 * @example Inspecting a part
 * ```ts
 * import { MailHeaders, MimePart } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const part = new MimePart({
 *   headers: new MailHeaders([["Content-Type", "text/plain; charset=iso-8859-1"]]),
 *   content: new Uint8Array([0x47, 0x72, 0xfc, 0xdf, 0x65]),
 * });
 * assertEquals(part.text(), "Grüße");
 * ```
 */
export class MimePart {
  /** The header. */
  readonly headers: MailHeaders;
  /**
   * The decoded body (transfer encoding removed): a leaf's content, or an
   * enclosed message's bytes; empty for a multipart. Possibly a view into a
   * buffer shared with other parts (see {@linkcode StreamedPart.bytes}).
   */
  readonly content: Uint8Array;
  /** The children: a multipart's parts, or the one enclosed message. */
  readonly parts: readonly MimePart[];
  /** A multipart's preamble, or `null`. */
  readonly preamble: Uint8Array | null;
  /** A multipart's epilogue, or `null`. */
  readonly epilogue: Uint8Array | null;
  /** Problems met and worked around while reading it. */
  readonly defects: readonly string[];

  /**
   * Creates a part.
   *
   * @param init Its header, content and children.
   */
  constructor(init: MimePartInit) {
    this.headers = init.headers;
    this.content = init.content ?? EMPTY;
    this.parts = init.parts ?? [];
    this.preamble = init.preamble ?? null;
    this.epilogue = init.epilogue ?? null;
    this.defects = init.defects ?? [];
  }

  /** The parsed `Content-Type` (`text/plain` by default). */
  get contentType(): ContentType {
    return this.headers.contentType;
  }

  /** Whether this is a multipart with a boundary. */
  get isMultipart(): boolean {
    const type = this.headers.contentType;
    return type.type === "multipart" && (type.params.boundary ?? "") !== "";
  }

  /** Whether this encloses a message (`message/rfc822` or `message/global`). */
  get isMessage(): boolean {
    const media = this.headers.contentType.mediaType;
    return media === "message/rfc822" || media === "message/global";
  }

  /** The file name from `Content-Disposition` or `Content-Type`, decoded, or `null`. */
  get filename(): string | null {
    return this.headers.filename;
  }

  /** Whether the disposition is `attachment`, or absent with a file name. */
  get isAttachment(): boolean {
    return isAttachmentOf(this.headers);
  }

  /**
   * Decodes the content as text in its `charset` (UTF-8 when absent or
   * unknown).
   *
   * @returns The text.
   */
  text(): string {
    return decodeCharset(this.content, this.contentType.params.charset);
  }

  /**
   * Iterates this part and its descendants depth first (into multiparts and
   * enclosed messages).
   *
   * @returns The parts.
   */
  *walk(): Generator<MimePart> {
    yield this;
    for (const part of this.parts) yield* part.walk();
  }
}

/**
 * A whole message in memory: {@linkcode MimePart} plus the envelope fields
 * and the usual views: the text body, the HTML body, the attachments.
 *
 * @example Reading a text and HTML message with an attachment
 * ```ts
 * import { parseMessage } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const message = await parseMessage([
 *   "From: Ann <ann@example.test>",
 *   "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=",
 *   'Content-Type: multipart/mixed; boundary="m"',
 *   "",
 *   "--m",
 *   'Content-Type: multipart/alternative; boundary="a"',
 *   "",
 *   "--a",
 *   "Content-Type: text/plain; charset=utf-8",
 *   "",
 *   "Hi",
 *   "--a",
 *   "Content-Type: text/html",
 *   "",
 *   "<p>Hi</p>",
 *   "--a--",
 *   "--m",
 *   "Content-Type: application/pdf",
 *   "Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC.pdf",
 *   "Content-Transfer-Encoding: base64",
 *   "",
 *   "JVBERg==",
 *   "--m--",
 *   "",
 * ].join("\r\n"));
 * assertEquals(message.subject, "Grüße");
 * assertEquals(message.from, [{ name: "Ann", address: "ann@example.test" }]);
 * assertEquals(message.textBody, "Hi");
 * assertEquals(message.htmlBody, "<p>Hi</p>");
 * assertEquals(message.attachments.map((a) => [a.filename, a.content.length]), [["€.pdf", 4]]);
 * ```
 */
export class MailMessage extends MimePart {
  /** The decoded `Subject`, or `null`; throws `"DUPLICATE_FIELD"` when repeated. */
  get subject(): string | null {
    return this.headers.subject;
  }

  /** `From`; throws `"BAD_ADDRESS"` or `"DUPLICATE_FIELD"` like {@linkcode MailHeaders.getAddresses}. */
  get from(): MailAddress[] {
    return this.headers.from;
  }

  /** `To`; throws like {@linkcode MailHeaders.getAddresses}. */
  get to(): MailAddress[] {
    return this.headers.to;
  }

  /** `Cc`; throws like {@linkcode MailHeaders.getAddresses}. */
  get cc(): MailAddress[] {
    return this.headers.cc;
  }

  /** `Reply-To`; throws like {@linkcode MailHeaders.getAddresses}. */
  get replyTo(): MailAddress[] {
    return this.headers.replyTo;
  }

  /** `Date`, or `null` when absent or unparseable. */
  get date(): Date | null {
    return this.headers.date;
  }

  /** `Message-ID` with its angle brackets, or `null`. */
  get messageId(): string | null {
    return this.headers.messageId;
  }

  #body(subtype: string): MimePart | null {
    const search = (part: MimePart): MimePart | null => {
      if (part.isMultipart) {
        for (const child of part.parts) {
          const found = search(child);
          if (found !== null) return found;
        }
        return null;
      }
      const type = part.contentType;
      if (type.type === "text" && type.subtype === subtype && !part.isAttachment) return part;
      return null;
    };
    return search(this);
  }

  /** The first `text/plain` part that is not an attachment, decoded, or `null`. */
  get textBody(): string | null {
    return this.#body("plain")?.text() ?? null;
  }

  /** The first `text/html` part that is not an attachment, decoded, or `null`. */
  get htmlBody(): string | null {
    return this.#body("html")?.text() ?? null;
  }

  /**
   * Every leaf part but the text and HTML bodies (inline images included),
   * in order; an enclosed message is one attachment, not searched inside.
   */
  get attachments(): MimePart[] {
    const text = this.#body("plain");
    const html = this.#body("html");
    const out: MimePart[] = [];
    const visit = (part: MimePart): void => {
      if (part.isMultipart) {
        for (const child of part.parts) visit(child);
      } else if (part !== text && part !== html) out.push(part);
    };
    visit(this);
    return out;
  }
}

async function load(part: StreamedPart, budget: { left: number }, ctx: Context): Promise<MimePart> {
  const headers = part.headers;
  if (part.isMultipart) {
    const parts: MimePart[] = [];
    for await (const child of part.parts()) parts.push(await load(child, budget, ctx));
    return new MimePart({
      headers,
      parts,
      preamble: part.preamble,
      epilogue: part.epilogue,
      defects: part.defects,
    });
  }
  let content: Uint8Array;
  try {
    content = await part.bytes({ maxSize: budget.left });
  } catch (error) {
    if (error instanceof ProtocolError && error.code === "BODY_TOO_LARGE") {
      throw new ProtocolError(
        "BODY_TOO_LARGE",
        "Cannot parse message: decoded content exceeds maxSize",
        { cause: error },
      );
    }
    throw error;
  }
  budget.left -= content.length;
  const parts: MimePart[] = [];
  if (part.isMessage) {
    const { depth } = internals.get(part)!;
    if (depth + 1 > ctx.maxDepth) {
      throw new ProtocolError("TOO_DEEP", `Cannot read parts: nested deeper than ${ctx.maxDepth}`);
    }
    if (++ctx.parts > ctx.maxParts) {
      throw new ProtocolError(
        "TOO_MANY_PARTS",
        `Cannot read parts: the message has more than ${ctx.maxParts}`,
      );
    }
    const reader = new BufferedReader(bytesReader(content), { bufferSize: 16384 });
    const enclosed = new StreamedPart(new MailHeaders(await readEntityHeader(reader, ctx)), reader);
    internals.set(enclosed, { ctx, depth: depth + 1 });
    parts.push(await load(enclosed, budget, ctx));
  }
  return new MimePart({ headers, content, parts, defects: part.defects });
}

/**
 * Parses a whole message into memory: every part's header and decoded
 * content, as a tree with the common views (`subject`, `from`, `textBody`,
 * `htmlBody`, `attachments`). Built on {@linkcode readMessage}, so the raw
 * message is never held whole, only the decoded contents, within `maxSize`.
 *
 * @param source The message.
 * @param options Limits.
 * @returns The message.
 * @throws {ProtocolError} `"BODY_TOO_LARGE"` past `maxSize`, `"TOO_DEEP"`,
 *   `"TOO_MANY_PARTS"`, and the header reader's errors.
 * @throws {RangeError} If a limit is not a non-negative integer.
 *
 * @example Parsing a simple message
 * ```ts
 * import { parseMessage } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const message = await parseMessage(
 *   "From: a@example.test\nTo: b@example.test\nDate: Tue, 1 Jul 2003 10:52:37 +0200\n\nHi\n",
 * );
 * assertEquals(message.to[0]?.address, "b@example.test");
 * assertEquals(message.date?.toISOString(), "2003-07-01T08:52:37.000Z");
 * assertEquals(message.textBody, "Hi\n");
 * ```
 */
export async function parseMessage(
  source: MessageSource,
  options?: ParseMessageOptions,
): Promise<MailMessage> {
  options ??= {};
  const maxSize = options.maxSize ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) {
    throw new RangeError(`Cannot parse message: maxSize ${maxSize} is not a non-negative integer`);
  }
  const root = await readMessage(source, options);
  const { ctx } = internals.get(root)!;
  try {
    const part = await load(root, { left: maxSize }, ctx);
    return new MailMessage({
      headers: part.headers,
      content: part.content,
      parts: [...part.parts],
      preamble: part.preamble,
      epilogue: part.epilogue,
      defects: part.defects,
    });
  } catch (error) {
    await root.cancel();
    throw error;
  }
}
