import { ProtocolError } from "../../net/protocol_error.ts";
import {
  ChunkedDecoderStream,
  type ChunkedDecoderStreamOptions,
  ChunkedEncoderStream,
} from "../../http/chunked.ts";
import { assertEquals, assertInstanceOf, assertRejects } from "../_helpers/assert.ts";
import { bytewise, splits, streamOf } from "../_helpers/scripted_peer.ts";
import { prng } from "../_helpers/sources.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function decode(
  chunks: Uint8Array[],
  options?: ChunkedDecoderStreamOptions,
): Promise<{ body: string; trailers: [string, string][] }> {
  const stream = new ChunkedDecoderStream(options);
  const body = await new Response(streamOf(chunks).pipeThrough(stream)).text();
  return { body, trailers: [...await stream.trailers] };
}

async function decodesEverywhere(
  wire: string,
  body: string,
  trailers: [string, string][] = [],
): Promise<void> {
  const bytes = encoder.encode(wire);
  for (const chunks of [...splits(bytes, bytes.length > 30), bytewise(bytes)]) {
    assertEquals(
      await decode(chunks),
      { body, trailers },
      JSON.stringify(chunks.map((c) => decoder.decode(c))),
    );
  }
}

async function failsEverywhere(
  wire: string,
  code: string,
  options?: ChunkedDecoderStreamOptions,
): Promise<void> {
  const bytes = encoder.encode(wire);
  for (const chunks of [...splits(bytes, true), bytewise(bytes)]) {
    const error = await assertRejects(() => decode(chunks, options));
    assertInstanceOf(error, ProtocolError);
    assertEquals(error.code, code, JSON.stringify(chunks.map((c) => decoder.decode(c))));
  }
}

Deno.test("ChunkedDecoderStream decodes chunks at every split", async () => {
  await decodesEverywhere("3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n", "abc0123456789");
});

Deno.test("ChunkedDecoderStream accepts upper- and lower-case hex and leading zeros", async () => {
  await decodesEverywhere("00b\r\nhello world\r\n0000\r\n\r\n", "hello world");
  await decodesEverywhere("B\r\nhello world\r\n0\r\n\r\n", "hello world");
});

Deno.test("ChunkedDecoderStream accepts well-formed chunk extensions", async () => {
  await decodesEverywhere(
    '2;a\r\nhi\r\n1 ; b = c ;d="q \\" s"\r\n!\r\n0;last\r\n\r\n',
    "hi!",
  );
});

Deno.test("ChunkedDecoderStream exposes the trailers at every split", async () => {
  await decodesEverywhere("1\r\nx\r\n0\r\nDigest: abc\r\nX-Two:  2 \r\n\r\n", "x", [
    ["digest", "abc"],
    ["x-two", "2"],
  ]);
});

const BAD_VECTORS: [string, string, string][] = [
  ["a plus sign", "+5\r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["a minus sign", "-1\r\nx\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["a 0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["a leading space", " 5\r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["a trailing space", "5 \r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["two numbers", "5 5\r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["an empty size", "\r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["a non-hex digit", "5g\r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["a size that overflows", "fffffffffffffffff\r\nx\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["an extension without a name", "5;\r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["an extension with an empty value", "5;a=\r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["an unterminated quoted extension", '5;a="b\r\nhello\r\n0\r\n\r\n', "BAD_CHUNK"],
  ["a control byte in an extension", "5;a\x01\r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["a bare CR in the size line", "5\rX\r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["a bare LF after the size", "5\nhello\r\n0\r\n\r\n", "BARE_LF"],
  ["data longer than the size", "3\r\nhello\r\n0\r\n\r\n", "BAD_CHUNK"],
  ["data without CRLF", "5\r\nhello0\r\n\r\n", "BAD_CHUNK"],
  ["a missing last chunk", "5\r\nhello\r\n", "UNEXPECTED_EOF"],
  ["a missing end of trailers", "5\r\nhello\r\n0\r\n", "UNEXPECTED_EOF"],
  ["a body cut inside a chunk", "5\r\nhel", "UNEXPECTED_EOF"],
  ["bytes after the last chunk", "0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "TRAILING_DATA"],
  ["a malformed trailer", "0\r\nX : y\r\n\r\n", "BAD_HEADER"],
  ["an obs-fold trailer", "0\r\nX: y\r\n z\r\n\r\n", "OBS_FOLD"],
];

for (const [name, wire, code] of BAD_VECTORS) {
  Deno.test(`ChunkedDecoderStream refuses ${name} with ${code}`, async () => {
    await failsEverywhere(wire, code);
  });
}

Deno.test("ChunkedDecoderStream bounds size lines and trailers", async () => {
  await failsEverywhere(`5;${"a".repeat(100)}\r\nhello\r\n0\r\n\r\n`, "LINE_TOO_LONG", {
    maxLineLength: 32,
  });
  await failsEverywhere(`0\r\nX: ${"a".repeat(100)}\r\n\r\n`, "HEADER_TOO_LARGE", {
    maxTrailerBytes: 32,
  });
  await failsEverywhere("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", "TOO_MANY_FIELDS", {
    maxTrailerFields: 2,
  });
});

Deno.test("ChunkedDecoderStream allows bare LF only when asked", async () => {
  const { body } = await decode([encoder.encode("2\nhi\n0\n\n")], { allowBareLf: true });
  assertEquals(body, "hi");
});

Deno.test("ChunkedDecoderStream rejects its trailers promise when the body is bad", async () => {
  const stream = new ChunkedDecoderStream();
  const done = new Response(streamOf(["5\r\nhel"]).pipeThrough(stream)).text();
  await assertRejects(() => done, ProtocolError);
  await assertRejects(() => stream.trailers, ProtocolError);
});

Deno.test("ChunkedEncoderStream frames chunks, skips empty ones and ends with trailers", async () => {
  const out = await new Response(
    streamOf(["ab", "", "c".repeat(20)]).pipeThrough(
      new ChunkedEncoderStream({ trailers: () => ({ "X-Count": "3" }) }),
    ),
  ).text();
  assertEquals(out, `2\r\nab\r\n14\r\n${"c".repeat(20)}\r\n0\r\nx-count: 3\r\n\r\n`);
});

Deno.test("ChunkedEncoderStream refuses framing fields as trailers", async () => {
  const encoded = streamOf(["a"]).pipeThrough(
    new ChunkedEncoderStream({ trailers: { "Content-Length": "1" } }),
  );
  await assertRejects(() => new Response(encoded).text(), TypeError);
});

Deno.test("ChunkedEncoderStream and ChunkedDecoderStream round-trip random data (seeded)", async () => {
  const random = prng(868);
  for (let round = 0; round < 20; round++) {
    const pieces: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < 1 + Math.floor(random() * 8); i++) {
      const piece = new Uint8Array(Math.floor(random() * 300));
      for (let k = 0; k < piece.length; k++) piece[k] = Math.floor(random() * 256);
      pieces.push(piece);
      total += piece.length;
    }
    const encoded = new Uint8Array(
      await new Response(ReadableStream.from(pieces).pipeThrough(new ChunkedEncoderStream()))
        .arrayBuffer(),
    );
    // Re-split the wire bytes at random before decoding.
    const cuts: Uint8Array[] = [];
    for (let at = 0; at < encoded.length;) {
      const n = 1 + Math.floor(random() * 50);
      cuts.push(encoded.subarray(at, at + n));
      at += n;
    }
    const decoded = new Uint8Array(
      await new Response(ReadableStream.from(cuts).pipeThrough(new ChunkedDecoderStream()))
        .arrayBuffer(),
    );
    const expected = new Uint8Array(total);
    let at = 0;
    for (const piece of pieces) {
      expected.set(piece, at);
      at += piece.length;
    }
    assertEquals(decoded, expected);
  }
});
