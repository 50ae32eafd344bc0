/**
 * Reads one message body off a buffered connection, pull by pull, leaving
 * the bytes after it (the next message) in the reader. Shared by the
 * server (request bodies) and the client (response bodies).
 *
 * @module
 */
import type { BufferedReader } from "../net/buffered_reader.ts";
import type { HeaderField } from "../net/mime_header.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { type ChunkedLimits, ChunkedParser } from "./_chunked_parser.ts";
import { concatBytes } from "../net/_bytes.ts";

/** How the body ends. */
export const NONE = 0;
/** How the body ends. */
export const LENGTH = 1;
/** How the body ends. */
export const CHUNKED = 2;
/** How the body ends. */
export const CLOSE = 3;

const CHUNK_SIZE = 65536;

/** Hooks the owner of the connection sets. */
export interface BodyHooks {
  /** Called once before the first read from the connection (100-continue). */
  beforeFirstRead?: () => Promise<void>;
  /** Called once when the body was read to its end. */
  onEnd?: () => void;
  /** Called once when reading failed (the connection cannot be reused). */
  onError?: (error: unknown) => void;
}

/** A body in progress; see the module documentation. */
export class BodyReader {
  #reader: BufferedReader;
  #kind: number;
  #remaining: number;
  #parser: ChunkedParser | null = null;
  #hooks: BodyHooks;
  #done = false;
  #failed: unknown = null;
  #started = false;
  #busy = false;
  /** Whether the consumer cancelled the body stream. */
  cancelled = false;

  constructor(
    reader: BufferedReader,
    kind: number,
    length: number,
    hooks: BodyHooks,
    chunkedLimits?: ChunkedLimits,
  ) {
    this.#reader = reader;
    this.#kind = kind;
    this.#remaining = kind === LENGTH ? length : 0;
    this.#hooks = hooks;
    if (kind === CHUNKED) this.#parser = new ChunkedParser(chunkedLimits);
    if (kind === NONE || (kind === LENGTH && length === 0)) this.#done = true;
  }

  /** Whether the body was read to its end. */
  get done(): boolean {
    return this.#done;
  }

  /** Whether a read started or the stream was cancelled. */
  get disturbed(): boolean {
    return this.#started || this.cancelled;
  }

  /** The error reading failed with, or null. */
  get error(): unknown {
    return this.#failed;
  }

  /** Whether reading failed. */
  get failed(): boolean {
    return this.#failed !== null;
  }

  /** The declared length, or -1 when unknown. */
  get length(): number {
    return this.#kind === LENGTH ? this.#remaining : this.#kind === NONE ? 0 : -1;
  }

  /** The trailer fields of a chunked body, once done. */
  get trailers(): HeaderField[] {
    return this.#parser?.trailers ?? [];
  }

  #end(): null {
    if (!this.#done) {
      this.#done = true;
      this.#hooks.onEnd?.();
    }
    return null;
  }

  #fail(error: unknown): never {
    if (this.#failed === null) {
      this.#failed = error;
      this.#hooks.onError?.(error);
    }
    throw error;
  }

  async #start(): Promise<void> {
    this.#started = true;
    if (this.#hooks.beforeFirstRead) await this.#hooks.beforeFirstRead();
  }

  /**
   * The next piece of the body in a new array the caller owns, at most
   * `max` bytes, or `null` at its end.
   */
  async read(max: number = CHUNK_SIZE): Promise<Uint8Array | null> {
    if (this.#failed !== null) throw this.#failed;
    if (this.#done) return null;
    if (this.#busy) throw new TypeError("Cannot read body: a read is already in progress");
    this.#busy = true;
    try {
      if (!this.#started) await this.#start();
      switch (this.#kind) {
        case LENGTH:
          return await this.#readLength(max);
        case CHUNKED:
          return await this.#readChunked(max);
        default:
          return await this.#readClose(max);
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#busy = false;
    }
  }

  async #readLength(max: number): Promise<Uint8Array | null> {
    const reader = this.#reader;
    const view = reader.peekBuffered();
    if (view.length > 0) {
      const n = Math.min(view.length, this.#remaining, max);
      const out = view.slice(0, n);
      reader.consume(n);
      this.#remaining -= n;
      if (this.#remaining === 0) this.#end();
      return out;
    }
    const out = new Uint8Array(Math.min(this.#remaining, max));
    const n = await reader.read(out);
    if (n === null) {
      throw new ProtocolError(
        "UNEXPECTED_EOF",
        `Cannot read body: connection closed with ${this.#remaining} bytes missing`,
      );
    }
    this.#remaining -= n;
    if (this.#remaining === 0) this.#end();
    return n === out.length ? out : out.subarray(0, n);
  }

  async #readClose(max: number): Promise<Uint8Array | null> {
    const reader = this.#reader;
    const view = reader.peekBuffered();
    if (view.length > 0) {
      const n = Math.min(view.length, max);
      const out = view.slice(0, n);
      reader.consume(n);
      return out;
    }
    const out = new Uint8Array(max);
    const n = await reader.read(out);
    if (n === null) return this.#end();
    return n === out.length ? out : out.subarray(0, n);
  }

  async #readChunked(max: number): Promise<Uint8Array | null> {
    const reader = this.#reader;
    const parser = this.#parser!;
    for (;;) {
      const view = reader.peekBuffered();
      if (view.length > 0) {
        const i = parser.advance(view, 0, view.length);
        const n = Math.min(parser.dataRemaining, view.length - i, max);
        if (n > 0) {
          const out = view.slice(i, i + n);
          reader.consume(i + n);
          parser.consumeData(n);
          return out;
        }
        reader.consume(i);
        if (parser.done) return this.#end();
      }
      const remaining = parser.dataRemaining;
      if (remaining > 0) {
        // Inside a chunk with nothing buffered: read straight into the result.
        const out = new Uint8Array(Math.min(remaining, max));
        const n = await reader.read(out);
        if (n === null) parser.finish();
        parser.consumeData(n!);
        return n === out.length ? out : out.subarray(0, n!);
      }
      if (!(await reader.fill())) parser.finish();
    }
  }

  /**
   * The whole (rest of the) body in one array, refusing more than `max`
   * bytes with `"BODY_TOO_LARGE"`.
   */
  async readAll(max: number): Promise<Uint8Array> {
    if (this.#kind === LENGTH && this.#remaining > max) {
      this.#fail(tooLarge(max));
    }
    if (this.#kind === LENGTH && !this.#started && !this.#done) {
      // One allocation of the announced (and capped) size.
      const out = new Uint8Array(this.#remaining);
      let got = 0;
      while (got < out.length) {
        const piece = await this.read(out.length - got);
        if (piece === null) break;
        out.set(piece, got);
        got += piece.length;
      }
      return out;
    }
    const pieces: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const piece = await this.read();
      if (piece === null) break;
      total += piece.length;
      if (total > max) this.#fail(tooLarge(max));
      pieces.push(piece);
    }
    return concatBytes(pieces, total);
  }

  /**
   * Reads and discards the rest of the body, up to `max` bytes. Resolves to
   * whether the body's end was reached (the connection can be reused).
   */
  async drain(max: number): Promise<boolean> {
    if (this.#done) return true;
    if (this.#failed !== null || this.#busy) return false;
    if (this.#kind === CLOSE) return false;
    if (this.#kind === LENGTH && this.#remaining > max) return false;
    let total = 0;
    try {
      for (;;) {
        const piece = await this.read(Math.min(CHUNK_SIZE, max - total + 1));
        if (piece === null) return true;
        total += piece.length;
        if (total > max) return false;
      }
    } catch {
      return false;
    }
  }

  /** The body as a backpressured stream (pulls only when the consumer reads). */
  stream(onCancel?: () => void): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const piece = await this.read();
        if (piece === null) controller.close();
        else controller.enqueue(piece);
      },
      cancel: () => {
        this.cancelled = true;
        onCancel?.();
      },
    }, { highWaterMark: 0 });
  }
}

function tooLarge(max: number): ProtocolError {
  return new ProtocolError("BODY_TOO_LARGE", `Cannot read body: more than ${max} bytes`);
}
