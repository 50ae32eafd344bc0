import { ProtocolError } from "./protocol_error.ts";

/**
 * Anything that reads bytes into a caller's buffer, the shape of `Deno.Conn`:
 * resolves to the number of bytes read, or `null` at the end of the stream.
 */
export interface ByteReader {
  /** Reads up to `p.length` bytes into `p`. */
  read(p: Uint8Array): Promise<number | null>;
}

/** Where a {@linkcode BufferedReader} takes its bytes from. */
export type ByteSource = ReadableStream<Uint8Array> | ByteReader;

/** Options for {@linkcode BufferedReader}. */
export interface BufferedReaderOptions {
  /**
   * The initial size of the internal buffer in bytes. It grows when a single
   * line or `peek` needs more, up to the limit that call sets.
   *
   * @default {65536}
   */
  bufferSize?: number;
  /**
   * Never overwrite bytes once read: when the buffer is full, move on to a
   * new one instead of compacting. Views from
   * {@linkcode BufferedReader.peekBuffered} then stay valid after later reads,
   * so a parser can keep pointing into them without copying.
   *
   * @default {false}
   */
  stableViews?: boolean;
  /**
   * Called after every read from the source with the number of bytes it
   * brought (0 at the end of the stream): progress for idle timeouts.
   */
  onRead?: (bytes: number) => void;
}

/** How a line ends, for {@linkcode BufferedReader.readLine}. */
export type LineEnding = "crlf" | "any";

/** Options for reading one line. */
export interface ReadLineOptions {
  /**
   * The most bytes a line may hold, not counting its terminator. A longer line
   * throws a {@linkcode ProtocolError} with code `"LINE_TOO_LONG"`.
   *
   * @default {65536}
   */
  maxLength?: number;
  /**
   * `"crlf"` accepts only CR LF as the line end and throws `"BARE_LF"` for a
   * lone LF; `"any"` ends a line at LF and strips one CR before it.
   *
   * @default {"any"}
   */
  lineEnding?: LineEnding;
  /** Stops waiting; see {@linkcode ReadSignalOptions}. */
  signal?: AbortSignal;
}

/** Options for {@linkcode BufferedReader.readUntil}. */
export interface ReadUntilOptions {
  /**
   * The most bytes that may come before the delimiter. More throws a
   * {@linkcode ProtocolError} with code `"LINE_TOO_LONG"`.
   *
   * @default {65536}
   */
  maxLength?: number;
  /** Stops waiting; see {@linkcode ReadSignalOptions}. */
  signal?: AbortSignal;
}

/**
 * A signal that abandons a wait without losing bytes: when it aborts, the
 * call rejects with its reason at once, but a read already started on the
 * source keeps going, and what it brings lands in the buffer for the next
 * call. Nothing is consumed by the abandoned call, so the connection stays
 * usable (an IMAP IDLE ended by the user, an `expect()` that gave up).
 */
export interface ReadSignalOptions {
  /** Abandons the wait when aborted. */
  signal?: AbortSignal;
}

const DEFAULT_BUFFER_SIZE = 65536;
const DEFAULT_MAX_LINE = 65536;
const CR = 13;
const LF = 10;
// Keep a BOM: stripping it from the start of every line would hide bytes.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * A pull-based buffered reader over a `ReadableStream<Uint8Array>` or any
 * object with a `read(p)` method such as `Deno.Conn`. It reads only when a
 * call needs more bytes, so a protocol can switch modes mid-stream (a header
 * block, then a body, then TLS) and take back the unread bytes with
 * {@linkcode BufferedReader.release}. This is the terminator-driven reading of
 * Python's asynchat, as async calls.
 *
 * @example Reading lines and an exact-length body
 * ```ts
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = new TextEncoder().encode("HELLO world\r\n5\r\nabcde");
 * const reader = new BufferedReader(ReadableStream.from([bytes]));
 * assertEquals(await reader.readLine(), "HELLO world");
 * const length = Number(await reader.readLine());
 * assertEquals(new TextDecoder().decode(await reader.readExactly(length)), "abcde");
 * assertEquals(await reader.readLine(), null);
 * ```
 */
export class BufferedReader {
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #eof = false;
  #released = false;
  #stream: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #source: ByteReader | null = null;
  #pending: Uint8Array | null = null;
  #size: number;
  #stable: boolean;
  /** The source read in progress, possibly started by an abandoned call. */
  #inflight: Promise<boolean> | null = null;
  #onRead: ((bytes: number) => void) | null;

  /**
   * Wraps a byte source.
   *
   * @param source A readable byte stream (locked while this reader lives) or
   *   an object with a `read(p)` method.
   * @param options The initial buffer size and whether views stay stable.
   * @throws {RangeError} If `bufferSize` is not a positive integer.
   */
  constructor(source: ByteSource, options?: BufferedReaderOptions) {
    options ??= {};
    const size = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Cannot create reader: bufferSize ${size} is not a positive integer`);
    }
    this.#size = size;
    this.#stable = options.stableViews === true;
    this.#onRead = options.onRead ?? null;
    this.#buf = new Uint8Array(size);
    if (source instanceof ReadableStream) this.#stream = source.getReader();
    else this.#source = source;
  }

  /** The number of bytes read from the source and not yet consumed. */
  get buffered(): number {
    return this.#end - this.#start + (this.#pending?.length ?? 0);
  }

  /** Whether the source has reported its end (buffered bytes may remain). */
  get eof(): boolean {
    return this.#eof;
  }

  /**
   * Whether a read from the source is in progress, for example one started
   * by a call whose signal aborted. The next call waits for it first; a TLS
   * upgrade or {@linkcode BufferedReader.release} must not happen meanwhile.
   */
  get reading(): boolean {
    return this.#inflight !== null;
  }

  /**
   * Reads more bytes from the source into the buffer, growing it up to
   * `limit` bytes of content when it is full.
   *
   * @returns false at the end of the source.
   */
  #fill(limit: number, signal?: AbortSignal): Promise<boolean> {
    let inflight = this.#inflight;
    if (inflight === null) {
      if (this.#released) {
        return Promise.reject(new TypeError("Cannot read: the reader was released"));
      }
      const ready = this.#prepareFill(limit);
      if (ready !== null) return Promise.resolve(ready);
      inflight = this.#inflight = this.#readSource();
    }
    return signal === undefined ? inflight : abandonable(inflight, signal);
  }

  /**
   * Makes room for a read (compacting or growing the buffer); returns the
   * result when no source read is needed, or `null` when one is.
   */
  #prepareFill(limit: number): boolean | null {
    if (this.#stable) {
      if (!this.#stableRoom(limit)) return true;
    } else if (this.#start > 0 && this.#end === this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    } else if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    }
    if (this.#end === this.#buf.length) {
      const content = this.#end - this.#start;
      if (content >= limit) return true;
      const grown = new Uint8Array(Math.min(Math.max(this.#buf.length * 2, 1024), limit));
      grown.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = grown;
      this.#end = content;
      this.#start = 0;
    }
    if (this.#pending !== null) {
      this.#takePending();
      return true;
    }
    if (this.#eof) return false;
    return null;
  }

  /**
   * One read from the source into the free end of the buffer. It always
   * awaits before finishing, so `#inflight` is cleared only after `#fill`
   * has stored it.
   */
  async #readSource(): Promise<boolean> {
    try {
      if (this.#source !== null) {
        const n = await this.#source.read(this.#buf.subarray(this.#end));
        this.#onRead?.(n ?? 0);
        if (n === null) {
          this.#eof = true;
          return false;
        }
        this.#end += n;
        return true;
      }
      for (;;) {
        const { value, done } = await this.#stream!.read();
        this.#onRead?.(done ? 0 : value.length);
        if (done) {
          this.#eof = true;
          return false;
        }
        if (value.length === 0) continue;
        this.#pending = value;
        this.#takePending();
        return true;
      }
    } finally {
      this.#inflight = null;
    }
  }

  /**
   * In stable mode, makes room at the end of the buffer by moving the unread
   * bytes to a new buffer (the old one is left to its views) when the room
   * left is small; false when `limit` bytes are buffered already.
   */
  #stableRoom(limit: number): boolean {
    const content = this.#end - this.#start;
    const room = this.#buf.length - this.#end;
    if (room > 0 && (room >= 4096 || room * 16 >= this.#buf.length || content >= limit)) {
      return true;
    }
    if (content >= limit) return false;
    const size = Math.max(this.#size, Math.min(Math.max(content * 2, 1024), limit));
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(this.#start, this.#end));
    this.#buf = next;
    this.#start = 0;
    this.#end = content;
    return true;
  }

  /** With an empty buffer, moves pending stream bytes into it; false if none. */
  #usePending(): boolean {
    if (this.#pending === null) return false;
    if (!this.#stable) this.#start = this.#end = 0;
    else this.#stableRoom(this.#size);
    this.#takePending();
    return true;
  }

  #takePending(): void {
    const chunk = this.#pending!;
    const room = this.#buf.length - this.#end;
    if (chunk.length <= room) {
      this.#buf.set(chunk, this.#end);
      this.#end += chunk.length;
      this.#pending = null;
    } else {
      this.#buf.set(chunk.subarray(0, room), this.#end);
      this.#end += room;
      this.#pending = chunk.subarray(room);
    }
  }

  /**
   * Reads one line and decodes it as UTF-8 (invalid bytes become U+FFFD; a
   * leading BOM is kept as U+FEFF).
   *
   * @param options The length limit and the accepted line ending.
   * @returns The line without its terminator, or `null` at the end of the
   *   stream when no bytes remain.
   * @throws {ProtocolError} `"LINE_TOO_LONG"`, `"BARE_LF"`, or
   *   `"UNEXPECTED_EOF"` when the stream ends inside a line.
   */
  async readLine(options?: ReadLineOptions): Promise<string | null> {
    const line = await this.readLineBytes(options);
    return line === null ? null : decoder.decode(line);
  }

  /**
   * Reads one line as bytes. The result is a copy that stays valid after
   * later reads.
   *
   * @param options The length limit and the accepted line ending.
   * @returns The line without its terminator, or `null` at the end of the
   *   stream when no bytes remain.
   * @throws {ProtocolError} `"LINE_TOO_LONG"`, `"BARE_LF"`, or
   *   `"UNEXPECTED_EOF"` when the stream ends inside a line.
   */
  async readLineBytes(options?: ReadLineOptions): Promise<Uint8Array | null> {
    const maxLength = options?.maxLength ?? DEFAULT_MAX_LINE;
    const strict = options?.lineEnding === "crlf";
    let scanned = 0;
    for (;;) {
      const at = this.#buf.subarray(this.#start + scanned, this.#end).indexOf(LF);
      if (at >= 0) {
        const lfIndex = this.#start + scanned + at;
        const crlf = lfIndex > this.#start && this.#buf[lfIndex - 1] === CR;
        const lineEnd = crlf ? lfIndex - 1 : lfIndex;
        // The length first, so that the error does not depend on whether the
        // LF was already buffered when the line grew too long.
        if (lineEnd - this.#start > maxLength) throw lineTooLong(maxLength);
        if (strict && !crlf) {
          throw new ProtocolError("BARE_LF", "Cannot read line: found a bare LF without CR");
        }
        const line = this.#buf.slice(this.#start, lineEnd);
        this.#start = lfIndex + 1;
        return line;
      }
      scanned = this.#end - this.#start;
      // One more byte is allowed past maxLength: it may be the CR of CR LF.
      if (scanned > maxLength + 1) throw lineTooLong(maxLength);
      if (!(await this.#fill(maxLength + 2, options?.signal))) {
        if (this.#end === this.#start) return null;
        throw new ProtocolError(
          "UNEXPECTED_EOF",
          `Cannot read line: stream ended after ${
            this.#end - this.#start
          } bytes without a line end`,
        );
      }
    }
  }

  /**
   * Reads up to a delimiter, the terminator-driven read of asynchat. The
   * delimiter is consumed and not returned.
   *
   * @param delimiter The bytes (or UTF-8 text) that end the read; not empty.
   * @param options The most bytes before the delimiter.
   * @returns The bytes before the delimiter, or `null` at the end of the
   *   stream when no bytes remain.
   * @throws {ProtocolError} `"LINE_TOO_LONG"`, or `"UNEXPECTED_EOF"` when the
   *   stream ends before the delimiter.
   * @throws {TypeError} If the delimiter is empty.
   */
  async readUntil(
    delimiter: Uint8Array | string,
    options?: ReadUntilOptions,
  ): Promise<Uint8Array | null> {
    const delim = typeof delimiter === "string" ? new TextEncoder().encode(delimiter) : delimiter;
    if (delim.length === 0) throw new TypeError("Cannot read until an empty delimiter");
    const maxLength = options?.maxLength ?? DEFAULT_MAX_LINE;
    const first = delim[0]!;
    let from = 0;
    for (;;) {
      let i = this.#start + from;
      const lastStart = this.#end - delim.length;
      while (i <= lastStart) {
        i = this.#buf.indexOf(first, i);
        if (i < 0 || i > lastStart) break;
        let k = 1;
        while (k < delim.length && this.#buf[i + k] === delim[k]) k++;
        if (k === delim.length) {
          if (i - this.#start > maxLength) throw tooLong(maxLength);
          const out = this.#buf.slice(this.#start, i);
          this.#start = i + delim.length;
          return out;
        }
        i++;
      }
      const content = this.#end - this.#start;
      from = Math.max(0, content - delim.length + 1);
      if (from > maxLength) throw tooLong(maxLength);
      if (!(await this.#fill(maxLength + delim.length, options?.signal))) {
        if (content === 0) return null;
        throw new ProtocolError(
          "UNEXPECTED_EOF",
          `Cannot read until delimiter: stream ended after ${content} bytes`,
        );
      }
    }
  }

  /**
   * Reads exactly `n` bytes. The caller bounds `n`: never pass a length the
   * peer announced without checking it against a limit first.
   *
   * @param n The number of bytes to read.
   * @param options A signal that abandons the wait (see {@linkcode ReadSignalOptions});
   *   bytes already copied out are lost to the caller then, so use it only
   *   where giving up ends the exchange.
   * @returns A new array of length `n`.
   * @throws {ProtocolError} `"UNEXPECTED_EOF"` when the stream ends first.
   * @throws {RangeError} If `n` is not a non-negative safe integer.
   */
  async readExactly(n: number, options?: ReadSignalOptions): Promise<Uint8Array> {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`Cannot read ${n} bytes: not a non-negative integer`);
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = await this.read(out.subarray(got), options);
      if (r === null) {
        throw new ProtocolError(
          "UNEXPECTED_EOF",
          `Cannot read ${n} bytes: stream ended after ${got}`,
        );
      }
      got += r;
    }
    return out;
  }

  /**
   * Reads up to `p.length` bytes into `p`, from the buffer first. Large reads
   * with an empty buffer go straight to the source, without a copy.
   *
   * @param p The destination.
   * @param options A signal that abandons the wait without losing bytes.
   * @returns The number of bytes read, or `null` at the end of the stream.
   */
  async read(p: Uint8Array, options?: ReadSignalOptions): Promise<number | null> {
    if (p.length === 0) return 0;
    if (this.#end === this.#start && !this.#usePending()) {
      if (this.#released) throw new TypeError("Cannot read: the reader was released");
      if (this.#eof && this.#inflight === null) return null;
      if (
        this.#source !== null && p.length >= this.#buf.length && this.#inflight === null &&
        options?.signal === undefined
      ) {
        const n = await this.#source.read(p);
        this.#onRead?.(n ?? 0);
        if (n === null) this.#eof = true;
        return n;
      }
      do {
        if (!(await this.#fill(this.#buf.length, options?.signal))) return null;
      } while (this.#end === this.#start && !this.#usePending());
    }
    const n = Math.min(p.length, this.#end - this.#start);
    p.set(this.#buf.subarray(this.#start, this.#start + n));
    this.#start += n;
    return n;
  }

  /**
   * Returns the next `n` bytes without consuming them, or fewer when the
   * stream ends first. The result is a view into the buffer, valid until the
   * next read.
   *
   * @param n How many bytes to look at.
   * @param options A signal that abandons the wait without losing bytes.
   * @returns Up to `n` bytes.
   * @throws {RangeError} If `n` is not a non-negative safe integer.
   */
  async peek(n: number, options?: ReadSignalOptions): Promise<Uint8Array> {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`Cannot peek ${n} bytes: not a non-negative integer`);
    }
    while (this.#end - this.#start < n) {
      if (!(await this.#fill(n, options?.signal))) break;
    }
    return this.#buf.subarray(this.#start, Math.min(this.#end, this.#start + n));
  }

  /**
   * Returns a view of the bytes already buffered, without reading. With
   * `stableViews` the view stays valid; otherwise only until the next read.
   * Use it with {@linkcode BufferedReader.consume} and
   * {@linkcode BufferedReader.fill} to parse in place.
   *
   * @returns The buffered bytes, possibly none.
   */
  peekBuffered(): Uint8Array {
    if (this.#start === this.#end) this.#usePending();
    return this.#buf.subarray(this.#start, this.#end);
  }

  /**
   * Drops bytes from the front of the buffer, after a parser used them
   * through {@linkcode BufferedReader.peekBuffered}.
   *
   * @param n How many buffered bytes to drop.
   * @throws {RangeError} If `n` is negative or more than the bytes in the
   *   view `peekBuffered` returns.
   */
  consume(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.#end - this.#start) {
      throw new RangeError(`Cannot consume ${n} bytes: ${this.#end - this.#start} are buffered`);
    }
    this.#start += n;
  }

  /**
   * Reads once from the source and appends what came to the buffered bytes,
   * growing the buffer when needed so that up to `limit` bytes can be held.
   * Does not read when `limit` bytes are buffered already.
   *
   * A read already in progress (started by a call that was abandoned)
   * counts as this call's read: `fill` waits for it instead of starting
   * another.
   *
   * @param limit The most bytes the buffer should hold.
   * @param options A signal that abandons the wait without losing bytes.
   * @returns `false` at the end of the stream, otherwise `true`.
   * @throws {TypeError} If the reader was released.
   */
  fill(limit: number = this.#size, options?: ReadSignalOptions): Promise<boolean> {
    return this.#fill(limit, options?.signal);
  }

  /**
   * The first half of a read the caller does itself (a hot loop awaiting
   * `conn.read` directly, one promise less than {@linkcode BufferedReader.fill}):
   * makes room as `fill` would and returns the free part of the buffer to
   * read into. Finish with {@linkcode BufferedReader.commit}, before any other
   * call on this reader.
   *
   * @param limit The most bytes the buffer should hold.
   * @returns The view to read into; empty when `limit` bytes are buffered.
   * @throws {TypeError} If the reader was released or reads from a stream
   *   with a chunk still pending (use `fill` there).
   */
  reserve(limit: number = this.#size): Uint8Array {
    if (this.#released) throw new TypeError("Cannot read: the reader was released");
    if (this.#pending !== null) {
      throw new TypeError("Cannot reserve: a stream chunk is pending, use fill()");
    }
    if (this.#inflight !== null) {
      throw new TypeError("Cannot reserve: a read is in progress, use fill()");
    }
    if (this.#stable) {
      if (!this.#stableRoom(limit)) return this.#buf.subarray(this.#end, this.#end);
    } else if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (this.#start > 0 && this.#end === this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) {
      const content = this.#end - this.#start;
      if (content >= limit) return this.#buf.subarray(this.#end, this.#end);
      const grown = new Uint8Array(Math.min(Math.max(this.#buf.length * 2, 1024), limit));
      grown.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = grown;
      this.#end = content;
      this.#start = 0;
    }
    return this.#buf.subarray(this.#end);
  }

  /**
   * The second half of a read the caller does itself: records how many
   * bytes arrived in the view {@linkcode BufferedReader.reserve} returned,
   * or `null` for the end of the stream.
   *
   * @param n The result of the read.
   * @throws {RangeError} If `n` is more than the reserved room.
   */
  commit(n: number | null): void {
    if (n === null) {
      this.#eof = true;
      return;
    }
    if (!Number.isSafeInteger(n) || n < 0 || this.#end + n > this.#buf.length) {
      throw new RangeError(`Cannot commit ${n} bytes: more than the reserved room`);
    }
    this.#end += n;
  }

  /**
   * Returns the buffered bytes, or, when none are buffered, the bytes of one
   * read from the source.
   *
   * @param options A signal that abandons the wait without losing bytes.
   * @returns A new array with at least one byte, or `null` at the end of the
   *   stream.
   */
  async readAvailable(options?: ReadSignalOptions): Promise<Uint8Array | null> {
    while (this.#end === this.#start && !this.#usePending()) {
      if (!(await this.#fill(this.#buf.length, options?.signal))) return null;
    }
    const out = this.#buf.slice(this.#start, this.#end);
    this.#start = this.#end;
    return out;
  }

  /**
   * Stops using the source: releases the stream's lock (a `ByteReader` is
   * simply no longer read) and hands back the bytes read but not consumed, so
   * the next owner of the source (a TLS handshake, a body stream) can take
   * over. The reader cannot be used afterwards.
   *
   * @returns The unconsumed bytes, possibly empty.
   * @throws {TypeError} If a read is in progress (its bytes would be lost).
   */
  release(): Uint8Array {
    if (this.#inflight !== null) {
      throw new TypeError("Cannot release the reader: a read is in progress");
    }
    const head = this.#buf.slice(this.#start, this.#end);
    const rest = this.#pending;
    this.#start = this.#end = 0;
    this.#pending = null;
    this.#released = true;
    this.#stream?.releaseLock();
    this.#stream = null;
    if (rest === null) return head;
    const out = new Uint8Array(head.length + rest.length);
    out.set(head);
    out.set(rest, head.length);
    return out;
  }

  /**
   * Cancels the underlying stream (a `ByteReader` is left alone) and drops
   * the buffer.
   *
   * @param reason Passed to the stream's `cancel`.
   */
  async cancel(reason?: unknown): Promise<void> {
    this.#start = this.#end = 0;
    this.#pending = null;
    this.#released = true;
    const stream = this.#stream;
    this.#stream = null;
    if (stream !== null) await stream.cancel(reason).catch(() => {});
  }
}

/**
 * Waits for `promise` unless `signal` aborts first; the promise keeps going
 * either way (its rejection, if nobody else waits, is not reported).
 */
function abandonable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

function lineTooLong(max: number): ProtocolError {
  return new ProtocolError("LINE_TOO_LONG", `Cannot read line: line exceeds ${max} bytes`);
}

function tooLong(max: number): ProtocolError {
  return new ProtocolError(
    "LINE_TOO_LONG",
    `Cannot read until delimiter: more than ${max} bytes before it`,
  );
}
