import { ProtocolError } from "../net/protocol_error.ts";
import { ChunkedParser } from "./_chunked_parser.ts";
import { encodeChunk, formatTrailers } from "./_chunk_format.ts";

/** Options for {@linkcode ChunkedDecoderStream}. */
export interface ChunkedDecoderStreamOptions {
  /**
   * The most bytes in one chunk-size line, extensions included.
   *
   * @default {4096}
   */
  maxLineLength?: number;
  /**
   * The most bytes in the trailer section.
   *
   * @default {16384}
   */
  maxTrailerBytes?: number;
  /**
   * The most trailer fields.
   *
   * @default {100}
   */
  maxTrailerFields?: number;
  /**
   * Whether a lone LF may end a line (lenient, for old servers).
   *
   * @default {false}
   */
  allowBareLf?: boolean;
}

/**
 * Decodes the chunked transfer coding (RFC 9112 §7.1): bytes in any split go
 * in, the payload comes out, and the trailer fields are available afterwards.
 * Chunk sizes with signs, prefixes, white space or overflow, malformed
 * extensions, data not followed by CRLF, bytes after the last chunk and a
 * missing last chunk error the stream with a {@linkcode ProtocolError}.
 *
 * @example Decoding a body with a trailer
 * ```ts
 * import { ChunkedDecoderStream } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nDigest: x\r\n\r\n";
 * const decoder = new ChunkedDecoderStream();
 * const body = ReadableStream.from([new TextEncoder().encode(wire)]).pipeThrough(decoder);
 * assertEquals(await new Response(body).text(), "hello world");
 * assertEquals((await decoder.trailers).get("digest"), "x");
 * ```
 */
export class ChunkedDecoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /** The trailer fields; resolves when the stream ends, rejects if it fails. */
  readonly trailers: Promise<Headers>;

  /**
   * Creates a decoder.
   *
   * @param options Limits for size lines and trailers.
   */
  constructor(options?: ChunkedDecoderStreamOptions) {
    options ??= {};
    const parser = new ChunkedParser({
      maxLineLength: options.maxLineLength ?? 4096,
      maxTrailerBytes: options.maxTrailerBytes ?? 16384,
      maxTrailerFields: options.maxTrailerFields ?? 100,
      bareLf: options.allowBareLf ?? false,
    });
    let resolve!: (headers: Headers) => void;
    let reject!: (error: unknown) => void;
    const trailers = new Promise<Headers>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    trailers.catch(() => {});
    const guard = <T>(fn: () => T): T => {
      try {
        return fn();
      } catch (error) {
        reject(error);
        throw error;
      }
    };
    super({
      transform(chunk, controller) {
        guard(() => {
          let i = 0;
          while (i < chunk.length) {
            if (parser.done) {
              throw new ProtocolError(
                "TRAILING_DATA",
                "Cannot read chunked body: bytes after the last chunk",
              );
            }
            i = parser.advance(chunk, i, chunk.length);
            const n = Math.min(parser.dataRemaining, chunk.length - i);
            if (n > 0) {
              controller.enqueue(chunk.subarray(i, i + n));
              parser.consumeData(n);
              i += n;
            }
          }
        });
      },
      flush() {
        guard(() => parser.finish());
        const headers = new Headers();
        for (const { name, value } of parser.trailers) headers.append(name, value);
        resolve(headers);
      },
      cancel(reason) {
        reject(reason);
      },
    });
    this.trailers = trailers;
  }
}

/** Options for {@linkcode ChunkedEncoderStream}. */
export interface ChunkedEncoderStreamOptions {
  /**
   * Trailer fields to send after the last chunk, or a function called at the
   * end that returns them (for a digest computed over the body). Framing
   * fields (`Content-Length`, `Transfer-Encoding`, `Host`) are refused.
   *
   * @default {no trailers}
   */
  trailers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>);
}

const encoder = new TextEncoder();

/**
 * Encodes bytes in the chunked transfer coding (RFC 9112 §7.1): each
 * non-empty input chunk becomes one chunk, and the end writes the last chunk
 * and the trailers. Empty input chunks are skipped (a zero-size chunk would
 * end the body).
 *
 * @example Encoding two pieces and a trailer
 * ```ts
 * import { ChunkedEncoderStream } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const input = ReadableStream.from(["hello", "", " world"].map((s) => new TextEncoder().encode(s)));
 * const encoded = input.pipeThrough(new ChunkedEncoderStream({ trailers: { "X-Sum": "1" } }));
 * assertEquals(
 *   await new Response(encoded).text(),
 *   "5\r\nhello\r\n6\r\n world\r\n0\r\nx-sum: 1\r\n\r\n",
 * );
 * ```
 */
export class ChunkedEncoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * Creates an encoder.
   *
   * @param options The trailers to send.
   * @throws {TypeError} At the end of the stream, if a trailer name is a
   *   framing field or a trailer is invalid.
   */
  constructor(options?: ChunkedEncoderStreamOptions) {
    options ??= {};
    super({
      transform(chunk, controller) {
        if (chunk.length === 0) return;
        controller.enqueue(encodeChunk(chunk));
      },
      async flush(controller) {
        let text = "0\r\n";
        if (options.trailers !== undefined) {
          const init = typeof options.trailers === "function"
            ? await options.trailers()
            : options.trailers;
          text += formatTrailers(new Headers(init));
        }
        controller.enqueue(encoder.encode(text + "\r\n"));
      },
    });
  }
}
