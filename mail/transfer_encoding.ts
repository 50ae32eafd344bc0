/**
 * MIME transfer encodings (RFC 2045 §6) as web streams: base64 and
 * quoted-printable encoders and decoders, and a decoder chosen by the
 * `Content-Transfer-Encoding` name.
 *
 * @module
 */
import {
  Base64Decoder,
  Base64Encoder,
  type Codec,
  decoderForEncoding,
  QuotedPrintableDecoder,
  QuotedPrintableEncoder,
} from "./_codec.ts";

function codecStream(codec: Codec): Transformer<Uint8Array, Uint8Array> {
  return {
    transform(chunk, controller) {
      const out = codec.push(chunk);
      if (out.length > 0) controller.enqueue(out);
    },
    flush(controller) {
      const out = codec.flush();
      if (out.length > 0) controller.enqueue(out);
    },
  };
}

/**
 * Encodes bytes as base64 in lines of 76 characters, each ended by CRLF
 * (RFC 2045 §6.8).
 *
 * @example Encoding a stream
 * ```ts
 * import { Base64EncoderStream } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const stream = ReadableStream.from([new TextEncoder().encode("hello")])
 *   .pipeThrough(new Base64EncoderStream());
 * assertEquals(await new Response(stream).text(), "aGVsbG8=\r\n");
 * ```
 */
export class Base64EncoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Creates the encoder. */
  constructor() {
    super(codecStream(new Base64Encoder()));
  }
}

/**
 * Decodes base64 leniently, as mail readers must: line breaks and other
 * characters outside the alphabet are skipped, missing padding is
 * tolerated, and data after a padded group is decoded too.
 *
 * @example Decoding a wrapped body
 * ```ts
 * import { Base64DecoderStream } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const stream = ReadableStream.from([new TextEncoder().encode("aGVs\r\nbG8=\r\n")])
 *   .pipeThrough(new Base64DecoderStream());
 * assertEquals(await new Response(stream).text(), "hello");
 * ```
 */
export class Base64DecoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Creates the decoder. */
  constructor() {
    super(codecStream(new Base64Decoder()));
  }
}

/**
 * Encodes text as quoted-printable (RFC 2045 §6.7): line breaks (CRLF, LF
 * or CR) become CRLF, lines are soft-broken to at most 76 characters, and
 * `=`, bytes outside printable ASCII and white space at a line end are
 * escaped.
 *
 * @example Encoding UTF-8 text
 * ```ts
 * import { QuotedPrintableEncoderStream } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const stream = ReadableStream.from([new TextEncoder().encode("Grüße = hi \n")])
 *   .pipeThrough(new QuotedPrintableEncoderStream());
 * assertEquals(await new Response(stream).text(), "Gr=C3=BC=C3=9Fe =3D hi=20\r\n");
 * ```
 */
export class QuotedPrintableEncoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Creates the encoder. */
  constructor() {
    super(codecStream(new QuotedPrintableEncoder()));
  }
}

/**
 * Decodes quoted-printable: `=XX` escapes, soft line breaks, and white space
 * at line ends dropped (RFC 2045 §6.7); a `=` that starts no valid escape is
 * kept.
 *
 * @example Decoding a soft-broken line
 * ```ts
 * import { QuotedPrintableDecoderStream } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const stream = ReadableStream.from([new TextEncoder().encode("Gr=C3=BC=\r\n=C3=9Fe")])
 *   .pipeThrough(new QuotedPrintableDecoderStream());
 * assertEquals(await new Response(stream).text(), "Grüße");
 * ```
 */
export class QuotedPrintableDecoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Creates the decoder. */
  constructor() {
    super(codecStream(new QuotedPrintableDecoder()));
  }
}

/**
 * Returns a stream that decodes a body sent with the given
 * `Content-Transfer-Encoding`: base64 and quoted-printable are decoded; `7bit`,
 * `8bit`, `binary` and unknown names pass the bytes through.
 *
 * @param encoding The header value, any case.
 * @returns A transform from encoded to decoded bytes.
 *
 * @example Choosing the decoder from a header
 * ```ts
 * import { transferDecoderStream } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const body = ReadableStream.from([new TextEncoder().encode("aGk=")])
 *   .pipeThrough(transferDecoderStream("BASE64"));
 * assertEquals(await new Response(body).text(), "hi");
 * ```
 */
export function transferDecoderStream(encoding: string): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream(codecStream(decoderForEncoding(encoding)));
}
