/**
 * The streamed items of an NNTP multi-line response (LIST, OVER, HDR,
 * LISTGROUP, NEWNEWS...): an async iterator that holds the connection's
 * lease until the `.` line was read, or until it is cancelled (then the
 * rest is drained up to a limit, or the connection closed).
 *
 * @module
 */
import type { NumericReply } from "../net/reply.ts";
import type { TextConnLease } from "../net/text_conn.ts";
import type { NntpBlockReader } from "./_nntp_lines.ts";
import type { NntpItems } from "./_nntp_types.ts";

/** Waits for `work` unless the lease is aborted first (its reason wins). */
export async function guarded<T>(lease: TextConnLease, work: Promise<T>): Promise<T> {
  const signal = lease.signal;
  work.catch(() => {});
  if (signal.aborted) throw signal.reason;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort!);
  }
}

/** How an {@linkcode NntpItemsImpl} is set up. */
export interface NntpItemsInit<T> {
  lease: TextConnLease;
  block: NntpBlockReader;
  reply: NumericReply;
  parse: (line: string) => T;
  drainLimit: number;
  /** Called once when the block was read to its end (for the debug log). */
  onEnd?: (lines: number) => void;
}

/** See {@linkcode NntpItems}. */
export class NntpItemsImpl<T> implements NntpItems<T> {
  readonly reply: NumericReply;
  #lease: TextConnLease;
  #block: NntpBlockReader;
  #parse: (line: string) => T;
  #drainLimit: number;
  #onEnd: ((lines: number) => void) | undefined;
  #queue: T[] = [];
  #index = 0;
  #settled = false;
  #busy = false;

  constructor(init: NntpItemsInit<T>) {
    this.reply = init.reply;
    this.#lease = init.lease;
    this.#block = init.block;
    this.#parse = init.parse;
    this.#drainLimit = init.drainLimit;
    this.#onEnd = init.onEnd;
  }

  get done(): boolean {
    return this.#settled && this.#index >= this.#queue.length;
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    while (this.#index >= this.#queue.length) {
      if (this.#settled) return { value: undefined, done: true };
      if (this.#busy) {
        throw new TypeError("Cannot read items: another next() is pending: did you forget await?");
      }
      this.#busy = true;
      let lines: string[] | null;
      try {
        lines = await guarded(this.#lease, this.#block.next());
      } catch (error) {
        this.#settled = true;
        this.#lease.fail();
        throw error;
      } finally {
        this.#busy = false;
      }
      if (lines === null) {
        this.#settled = true;
        this.#queue = [];
        this.#index = 0;
        this.#lease.release();
        this.#onEnd?.(this.#block.count);
        return { value: undefined, done: true };
      }
      const parsed: T[] = new Array(lines.length);
      try {
        for (let i = 0; i < lines.length; i++) parsed[i] = this.#parse(lines[i]!);
      } catch (error) {
        await this.cancel();
        throw error;
      }
      this.#queue = parsed;
      this.#index = 0;
    }
    return { value: this.#queue[this.#index++]!, done: false };
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    await this.cancel();
    return { value: undefined, done: true };
  }

  async cancel(): Promise<void> {
    this.#queue = [];
    this.#index = 0;
    if (this.#settled) return;
    this.#settled = true;
    let inSync = false;
    try {
      inSync = await guarded(this.#lease, this.#block.drain(this.#drainLimit));
    } catch {
      inSync = false;
    }
    if (inSync) this.#lease.release();
    else this.#lease.fail();
  }

  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for (;;) {
      const result = await this.next();
      if (result.done) return out;
      out.push(result.value);
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.cancel();
  }
}
