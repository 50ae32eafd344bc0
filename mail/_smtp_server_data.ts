/**
 * Private helpers for taking message content on an SMTP server: a sink
 * that hands the content to its consumer (a store delivery, a handler) as
 * a stream with backpressure while the session reads it off the wire, and
 * the discard loops that keep the session in step after a refusal (the
 * rest of a `DATA` block up to CR LF `.` CR LF, the rest of a command line).
 *
 * @module
 */
import type { BufferedReader } from "../net/buffered_reader.ts";

const CR = 13;
const LF = 10;
const DOT = 46;

/**
 * Feeds message content to a consumer through a stream. `write()` waits
 * while the consumer is busy (backpressure) and reports `false` once the
 * consumer settled or stopped reading, so that the session switches to
 * discarding; `end()` closes the stream and waits for the consumer's
 * outcome. An aborted sink errors the consumer's stream, so a store
 * delivery leaves nothing behind.
 */
export class SmtpMessageSink<T> {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #outcome: Promise<T>;
  #settled = false;
  #settledSignal: Promise<void>;
  #broken = false;
  #size = 0;

  constructor(consume: (stream: ReadableStream<Uint8Array>) => Promise<T>) {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    this.#writer = writable.getWriter();
    this.#outcome = (async () => await consume(readable))();
    this.#settledSignal = this.#outcome.then(
      () => void (this.#settled = true),
      () => void (this.#settled = true),
    );
  }

  /** Octets written so far. */
  get size(): number {
    return this.#size;
  }

  /** Whether the consumer still takes content. */
  get open(): boolean {
    return !this.#settled && !this.#broken;
  }

  /** Hands one piece to the consumer; false when it takes no more. */
  async write(bytes: Uint8Array): Promise<boolean> {
    this.#size += bytes.length;
    if (!this.open) return false;
    const written = this.#writer.write(bytes);
    written.catch(() => {});
    try {
      await Promise.race([written, this.#settledSignal]);
    } catch {
      this.#broken = true;
    }
    return this.open;
  }

  /** Ends the content and resolves with the consumer's outcome (or rejects with its error). */
  async end(): Promise<T> {
    if (this.open) {
      const closed = this.#writer.close();
      closed.catch(() => {});
      await Promise.race([closed.catch(() => {}), this.#settledSignal]);
    }
    this.#release();
    return await this.#outcome;
  }

  /** Errors the consumer's stream; resolves when the consumer has settled. */
  async abort(reason: unknown): Promise<void> {
    this.#broken = true;
    this.#writer.abort(reason).catch(() => {});
    this.#release();
    await this.#settledSignal;
  }

  #release(): void {
    // A consumer that settled without reading everything leaves writes
    // pending; aborting the writable side ends them.
    if (!this.#settled || this.#broken) return;
    this.#writer.abort(new Error("The message consumer finished early")).catch(() => {});
  }
}

/**
 * Discards the rest of a `DATA` block: from a line start up to and
 * including CR LF `.` CR LF (only that ends it; a bare LF or CR never
 * does). Gives up after `limit` octets.
 *
 * @returns Whether the end was found (false at EOF or past the limit).
 */
export async function discardDotBlock(reader: BufferedReader, limit: number): Promise<boolean> {
  // 0 line start, 1 in a line, 2 after CR, 3 "." at line start, 4 "." CR.
  let state = 0;
  let discarded = 0;
  for (;;) {
    const buffered = reader.peekBuffered();
    if (buffered.length === 0) {
      if (!(await reader.fill())) return false;
      continue;
    }
    for (let i = 0; i < buffered.length; i++) {
      const b = buffered[i]!;
      switch (state) {
        case 0:
          state = b === DOT ? 3 : b === CR ? 2 : 1;
          break;
        case 1:
          if (b === CR) state = 2;
          break;
        case 2:
          state = b === LF ? 0 : b === CR ? 2 : 1;
          break;
        case 3:
          state = b === CR ? 4 : 1;
          break;
        case 4:
          if (b === LF) {
            reader.consume(i + 1);
            return true;
          }
          state = b === CR ? 2 : 1;
          break;
      }
    }
    discarded += buffered.length;
    reader.consume(buffered.length);
    if (discarded > limit) return false;
  }
}

/**
 * Discards octets up to and including the next LF (the rest of an
 * over-long command line). Gives up after `limit` octets.
 *
 * @returns Whether the line end was found.
 */
export async function discardLine(reader: BufferedReader, limit: number): Promise<boolean> {
  let discarded = 0;
  for (;;) {
    const buffered = reader.peekBuffered();
    if (buffered.length === 0) {
      if (!(await reader.fill())) return false;
      continue;
    }
    const lf = buffered.indexOf(LF);
    if (lf >= 0) {
      reader.consume(lf + 1);
      return true;
    }
    discarded += buffered.length;
    reader.consume(buffered.length);
    if (discarded > limit) return false;
  }
}

/**
 * Discards exactly `n` octets (a refused `BDAT` chunk), never holding more
 * than one buffer.
 *
 * @returns Whether all of them came (false at EOF).
 */
export async function discardOctets(reader: BufferedReader, n: number): Promise<boolean> {
  let left = n;
  while (left > 0) {
    const buffered = reader.peekBuffered();
    if (buffered.length === 0) {
      if (!(await reader.fill())) return false;
      continue;
    }
    const take = Math.min(left, buffered.length);
    reader.consume(take);
    left -= take;
  }
  return true;
}
