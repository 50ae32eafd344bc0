import { writeAll } from "./_io.ts";

/**
 * Anything that writes bytes from a buffer, the shape of `Deno.Conn`:
 * resolves to the number of bytes written, which may be fewer than given.
 */
export interface ByteWriter {
  /** Writes some of `p` and resolves to how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/** Options for {@linkcode LineWriter}. */
export interface LineWriterOptions {
  /** Called after each completed write with its size in bytes. */
  onWrite?: (bytes: number) => void;
}

/** Where a {@linkcode LineWriter} sends its bytes. */
export type ByteSink = WritableStream<Uint8Array> | ByteWriter;

const encoder = new TextEncoder();
const CRLF = new Uint8Array([13, 10]);
const FORBIDDEN_REGEXP = /[\r\n\0]/;

/**
 * Throws when a line of protocol text holds CR, LF or NUL, the bytes that
 * would let a value smuggle a second command onto the wire.
 *
 * @param text The command line or argument to check.
 * @param what What the text is, for the error message.
 * @throws {TypeError} If `text` holds CR, LF or NUL.
 *
 * @example Refusing an injected command
 * ```ts
 * import { assertLineSafe } from "@inetkit/inetkit/net";
 * import { assertThrows } from "@std/assert";
 *
 * assertLineSafe("RCPT TO:<a@example.test>");
 * assertThrows(() => assertLineSafe("a@example.test>\r\nDATA", "address"), TypeError);
 * ```
 */
export function assertLineSafe(text: string, what = "line"): void {
  if (FORBIDDEN_REGEXP.test(text)) {
    throw new TypeError(`Cannot send ${what}: it contains CR, LF or NUL`);
  }
}

/**
 * Writes protocol lines terminated by CR LF to a stream or a `Deno.Conn`,
 * refusing any line that holds CR, LF or NUL before a byte is written.
 *
 * @example Writing two commands in one write
 * ```ts
 * import { LineWriter } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks: Uint8Array[] = [];
 * const writer = new LineWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
 * await writer.writeLines(["MAIL FROM:<a@example.test>", "RCPT TO:<b@example.test>"]);
 * assertEquals(chunks.length, 1);
 * assertEquals(
 *   new TextDecoder().decode(chunks[0]),
 *   "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n",
 * );
 * ```
 */
export class LineWriter {
  #writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  #sink: ByteWriter | null = null;
  #onWrite: ((bytes: number) => void) | null;

  /**
   * Wraps a byte sink.
   *
   * @param sink A writable byte stream (locked while this writer lives) or an
   *   object with a `write(p)` method.
   * @param options `onWrite` is called after each write with its size
   *   (progress for idle timeouts).
   */
  constructor(sink: ByteSink, options?: LineWriterOptions) {
    options ??= {};
    if (sink instanceof WritableStream) this.#writer = sink.getWriter();
    else this.#sink = sink;
    this.#onWrite = options.onWrite ?? null;
  }

  /**
   * Writes one line followed by CR LF.
   *
   * @param line The line, without terminator.
   * @throws {TypeError} If the line holds CR, LF or NUL; nothing is written.
   */
  async writeLine(line: string): Promise<void> {
    assertLineSafe(line);
    await this.write(encoder.encode(line + "\r\n"));
  }

  /**
   * Writes several lines in a single write, as pipelining wants. Every line
   * is checked before any is written.
   *
   * @param lines The lines, without terminators.
   * @throws {TypeError} If any line holds CR, LF or NUL; nothing is written.
   */
  async writeLines(lines: readonly string[]): Promise<void> {
    for (const line of lines) assertLineSafe(line);
    await this.write(encoder.encode(lines.map((l) => l + "\r\n").join("")));
  }

  /**
   * Writes raw bytes, all of them.
   *
   * @param bytes The bytes to write.
   */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.#writer !== null) {
      await this.#writer.write(bytes);
    } else {
      if (this.#sink === null) throw new TypeError("Cannot write: the writer was released");
      await writeAll(this.#sink, bytes);
    }
    this.#onWrite?.(bytes.length);
  }

  /** Writes CR LF alone. */
  async writeCrlf(): Promise<void> {
    await this.write(CRLF);
  }

  /** Releases the stream's lock; the writer cannot be used afterwards. */
  release(): void {
    this.#writer?.releaseLock();
    this.#writer = null;
    this.#sink = null;
  }

  /** Closes the underlying stream (a `ByteWriter` is left to its owner). */
  async close(): Promise<void> {
    const writer = this.#writer;
    this.#writer = null;
    this.#sink = null;
    if (writer === null) return;
    // Close through the writer before giving up its lock: a released writer
    // can no longer close the stream.
    try {
      await writer.close();
    } finally {
      writer.releaseLock();
    }
  }
}
