import type { BufferedReader } from "./buffered_reader.ts";
import { ProtocolError } from "./protocol_error.ts";

const CR = 13;
const LF = 10;
const DOT = 46;

/** Options for {@linkcode readGopherText}. */
export interface GopherTextOptions {
  /**
   * Whether the text is dot-terminated as RFC 1436 says: a line holding only
   * `.` ends it and a leading `..` loses one dot. `false` passes every byte
   * through until the server closes, for servers known not to stuff dots.
   *
   * @default {true}
   */
  dotTerminated?: boolean;
  /**
   * Whether the end of the stream before the `.` line is an error
   * (`"UNEXPECTED_EOF"`). Many servers, gophernicus among them, close the
   * connection after a text file without sending the `.` line, so by default
   * the end of the stream ends the text too.
   *
   * @default {false}
   */
  requireTerminator?: boolean;
  /**
   * The most bytes of text to deliver; more errors the stream with
   * `"BODY_TOO_LARGE"`.
   *
   * @default {Infinity}
   */
  maxSize?: number;
}

/**
 * Reads the body of a Gopher text item (type `0`, RFC 1436 §3.8 / §4) from a
 * buffered reader as a stream of bytes: the text ends at a line holding only
 * `.` (CR LF or LF), lines that start with `..` lose one dot, and every other
 * byte, line ends included, is passed through unchanged. Lines may be of any
 * length; only the first bytes of each line are looked at. The reader is left
 * just after the `.` line.
 *
 * `readDotStuffed` from `dot_stuffing.ts` does not fit: it requires the `.`
 * line (gophernicus closes without one), rewrites line ends to CR LF, caps
 * line length, and fails on a last line without a line end.
 *
 * @param reader The reader positioned at the start of the text.
 * @param options Whether the text is dot-terminated, whether the `.` line is
 *   required, and a size cap.
 * @returns The text. The stream errors with a {@linkcode ProtocolError}:
 *   `"BODY_TOO_LARGE"`, or `"UNEXPECTED_EOF"` when `requireTerminator` is set
 *   and the stream ends before the `.` line.
 *
 * @example Reading a dot-terminated text with a stuffed line
 * ```ts
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { readGopherText } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = "Hello\r\n..dots\r\n.\r\n";
 * const reader = new BufferedReader(ReadableStream.from([new TextEncoder().encode(wire)]));
 * assertEquals(await new Response(readGopherText(reader)).text(), "Hello\r\n.dots\r\n");
 * ```
 *
 * @example A server that closes without the dot line
 * ```ts
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { readGopherText } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = new TextEncoder().encode("This is a small gopher test server.\r\n");
 * const reader = new BufferedReader(ReadableStream.from([wire]));
 * assertEquals(
 *   await new Response(readGopherText(reader)).text(),
 *   "This is a small gopher test server.\r\n",
 * );
 * ```
 */
export function readGopherText(
  reader: BufferedReader,
  options?: GopherTextOptions,
): ReadableStream<Uint8Array> {
  options ??= {};
  const dotted = options.dotTerminated ?? true;
  const requireTerminator = options.requireTerminator ?? false;
  const maxSize = options.maxSize ?? Infinity;
  let atLineStart = true;
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let view = reader.peekBuffered();
        let eof = false;
        // At a line start, a dot needs up to two more bytes to decide.
        const needed = dotted && atLineStart && view[0] === DOT ? (view[1] === CR ? 3 : 2) : 1;
        if (view.length < needed) {
          if (await reader.fill()) continue;
          eof = true;
          view = reader.peekBuffered();
          if (view.length === 0) {
            if (dotted && requireTerminator) {
              throw new ProtocolError(
                "UNEXPECTED_EOF",
                "Cannot read gopher text: stream ended before the terminating dot line",
              );
            }
            controller.close();
            return;
          }
        }
        if (dotted && atLineStart && view[0] === DOT) {
          const second = view[1];
          // ".", ".\n", ".\r\n" (and ".\r" at the end of the stream) end the text.
          if (
            second === undefined || second === LF ||
            (second === CR && (view[2] === LF || (eof && view.length === 2)))
          ) {
            reader.consume(
              second === undefined ? 1 : second === LF ? 2 : view.length === 2 ? 2 : 3,
            );
            controller.close();
            return;
          }
          if (second === DOT) {
            reader.consume(1);
            view = reader.peekBuffered();
          }
        }
        const lf = view.indexOf(LF);
        const n = lf >= 0 ? lf + 1 : view.length;
        atLineStart = lf >= 0;
        size += n;
        if (size > maxSize) {
          throw new ProtocolError(
            "BODY_TOO_LARGE",
            `Cannot read gopher text: it exceeds ${maxSize} bytes`,
          );
        }
        controller.enqueue(view.slice(0, n));
        reader.consume(n);
        return;
      }
    },
  }, { highWaterMark: 0 });
}
