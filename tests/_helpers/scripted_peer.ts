/**
 * A scripted peer for protocol tests, in the style of curl's test servers:
 * the script says what the peer sends and what it expects the client to
 * write next, byte for byte. It is a duplex (`readable`, `writable`,
 * `close()`), so protocol classes take it where they take a `Deno.Conn`.
 *
 * @module
 */

/** One step of a script. */
export type ScriptStep =
  /** Bytes the peer sends to the client. */
  | { send: string | Uint8Array }
  /** Bytes the client must write next (compared exactly). */
  | { expect: string | Uint8Array }
  /** The peer ends its side of the stream (EOF for the client). */
  | { close: true }
  /** The peer waits, in milliseconds. */
  | { sleep: number };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A duplex that plays a script; see the module doc. */
export class ScriptedPeer {
  /** What the client reads. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Where the client writes. */
  readonly writable: WritableStream<Uint8Array>;
  /** Settles when the script has run to its end, rejecting on a mismatch. */
  readonly done: Promise<void>;
  #written: Uint8Array[] = [];
  #writtenLength = 0;
  #consumed = 0;
  #wake: (() => void) | null = null;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;
  #clientClosed = false;

  /** Starts playing `steps`. */
  constructor(steps: ScriptStep[]) {
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#controller = c;
      },
      cancel: () => {
        this.#closed = true;
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        this.#written.push(chunk.slice());
        this.#writtenLength += chunk.length;
        this.#wake?.();
      },
      close: () => {
        this.#clientClosed = true;
        this.#wake?.();
      },
    });
    this.done = this.#play(steps);
    // Reported through `done`; avoid an unhandled rejection if unused.
    this.done.catch(() => {});
  }

  async #play(steps: ScriptStep[]): Promise<void> {
    for (const step of steps) {
      if ("send" in step) {
        if (this.#closed) return;
        const bytes = typeof step.send === "string" ? encoder.encode(step.send) : step.send;
        this.#controller.enqueue(bytes);
      } else if ("expect" in step) {
        const want = typeof step.expect === "string" ? encoder.encode(step.expect) : step.expect;
        while (this.#writtenLength - this.#consumed < want.length) {
          if (this.#clientClosed || this.#closed) {
            throw new Error(
              `Client closed; expected ${JSON.stringify(decoder.decode(want))}, got ${
                JSON.stringify(decoder.decode(this.#all().subarray(this.#consumed)))
              }`,
            );
          }
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = null;
        }
        const got = this.#all().subarray(this.#consumed, this.#consumed + want.length);
        this.#consumed += want.length;
        if (decoder.decode(got) !== decoder.decode(want) || got.length !== want.length) {
          throw new Error(
            `Client wrote ${JSON.stringify(decoder.decode(got))}, expected ${
              JSON.stringify(decoder.decode(want))
            }`,
          );
        }
      } else if ("close" in step) {
        this.#endReadable();
      } else {
        await new Promise((resolve) => setTimeout(resolve, step.sleep));
      }
    }
  }

  #endReadable(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#controller.close();
    } catch {
      // already closed or cancelled
    }
  }

  #all(): Uint8Array {
    if (this.#written.length > 1) {
      const all = new Uint8Array(this.#writtenLength);
      let o = 0;
      for (const c of this.#written) {
        all.set(c, o);
        o += c.length;
      }
      this.#written = [all];
    }
    return this.#written[0] ?? new Uint8Array(0);
  }

  /** Everything the client wrote, as text. */
  get written(): string {
    return decoder.decode(this.#all());
  }

  /** Whether the client closed its writing side or the whole duplex. */
  get clientClosed(): boolean {
    return this.#clientClosed;
  }

  /** Closes both directions, as `Deno.Conn.close()` does. */
  close(): void {
    this.#clientClosed = true;
    this.#endReadable();
    this.#wake?.();
  }
}

/**
 * Returns every way to split `bytes` into two or three pieces, for feeding
 * stream parsers their input split at every byte boundary. With `pairsOnly`,
 * only the two-piece splits (fewer cases for long inputs).
 */
export function* splits(bytes: Uint8Array, pairsOnly = false): Generator<Uint8Array[]> {
  yield [bytes];
  for (let i = 1; i < bytes.length; i++) {
    yield [bytes.subarray(0, i), bytes.subarray(i)];
  }
  if (pairsOnly) return;
  for (let i = 1; i < bytes.length; i++) {
    for (let j = i + 1; j < bytes.length; j++) {
      yield [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)];
    }
  }
}

/** Every single byte as its own chunk. */
export function bytewise(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (b) => new Uint8Array([b]));
}

/** A readable stream of the given chunks. */
export function streamOf(chunks: (Uint8Array | string)[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(
    chunks.map((c) => (typeof c === "string" ? encoder.encode(c) : c)),
  );
}
