import { BufferedReader } from "../../net/buffered_reader.ts";
import {
  DotStuffingEncoderStream,
  readDotStuffed,
  type ReadDotStuffedOptions,
} from "../../net/dot_stuffing.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { bytewise, splits, streamOf } from "../_helpers/scripted_peer.ts";
import { byteReaderOf, prng, randomChunks } from "../_helpers/sources.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const enc = (s: string): Uint8Array => encoder.encode(s);

type Kind = "stream" | "reader";
const KINDS: Kind[] = ["stream", "reader"];

function readerOf(kind: Kind, chunks: Uint8Array[], bufferSize?: number): BufferedReader {
  return new BufferedReader(
    kind === "stream" ? streamOf(chunks) : byteReaderOf(chunks),
    { bufferSize },
  );
}

/** Every split of `bytes` (three pieces up to 24 bytes, pairs above) plus bytewise. */
function allSplits(bytes: Uint8Array): Uint8Array[][] {
  return [...splits(bytes, bytes.length > 24), bytewise(bytes)];
}

async function concat(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function encode(chunks: Uint8Array[], terminate = true): Promise<Uint8Array> {
  return await concat(
    ReadableStream.from(chunks).pipeThrough(new DotStuffingEncoderStream({ terminate })),
  );
}

/** Every line end in `bytes` is CR LF (no bare CR, no bare LF). */
function onlyCrlf(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] !== 10) return false;
    if (bytes[i] === 10 && bytes[i - 1] !== 13) return false;
  }
  return true;
}

/** The terminated output ends the block only at its very end. */
function assertEndsOnlyAtEnd(out: Uint8Array, label: string): void {
  const text = decoder.decode(out);
  if (text === ".\r\n") return;
  assert(text.endsWith("\r\n.\r\n"), `${label}: ends with CRLF.CRLF`);
  assertEquals(text.indexOf("\r\n.\r\n"), text.length - 5, `${label}: early CRLF.CRLF`);
  assert(!text.startsWith(".\r\n"), `${label}: dot line first`);
  assert(onlyCrlf(out), `${label}: bare CR or LF`);
}

// --- encoder ------------------------------------------------------------------------------

const ENCODER_CASES: [string, string, string][] = [
  ["empty body", "", ".\r\n"],
  ["no line end", "a", "a\r\n.\r\n"],
  ["CRLF end", "a\r\n", "a\r\n.\r\n"],
  ["leading dot on the first line", ".a\r\n", "..a\r\n.\r\n"],
  ["a lone dot", ".", "..\r\n.\r\n"],
  ["two dots", "..x", "...x\r\n.\r\n"],
  ["dot not at line start", "a.b\r\nc.\r\n", "a.b\r\nc.\r\n.\r\n"],
  ["bare LF dot bare LF", "a\n.\nb", "a\r\n..\r\nb\r\n.\r\n"],
  ["bare CR dot bare CR", "a\r.\rb", "a\r\n..\r\nb\r\n.\r\n"],
  ["CR LF dot bare LF", "a\r\n.\nb", "a\r\n..\r\nb\r\n.\r\n"],
  ["bare LF dot CR LF", "a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n"],
  ["CR LF dot bare CR", "a\r\n.\rb", "a\r\n..\r\nb\r\n.\r\n"],
  [
    "the terminator inside the body",
    "a\r\n.\r\nMAIL FROM:<x>\r\n",
    "a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n",
  ],
  ["ends in a lone CR", "a\r", "a\r\n.\r\n"],
  ["only a CR", "\r", "\r\n.\r\n"],
  ["only CR LF", "\r\n", "\r\n.\r\n"],
  ["CR then CR LF", "a\r\r\n", "a\r\n\r\n.\r\n"],
  ["LF then CR", "\n\r", "\r\n\r\n.\r\n"],
  ["ends in a dot line", "a\r\n.", "a\r\n..\r\n.\r\n"],
  ["ends in dot CR", "a\n.\r", "a\r\n..\r\n.\r\n"],
];

for (const [name, input, expected] of ENCODER_CASES) {
  Deno.test(`DotStuffingEncoderStream encodes ${name} identically at every split`, async () => {
    const bytes = enc(input);
    for (const chunks of allSplits(bytes)) {
      const label = JSON.stringify(chunks.map((c) => decoder.decode(c)));
      const out = await encode(chunks);
      assertEquals(decoder.decode(out), expected, label);
      assertEndsOnlyAtEnd(out, label);
    }
  });
}

Deno.test("DotStuffingEncoderStream with terminate false stuffs without the dot line", async () => {
  const cases: [string, string][] = [
    ["", ""],
    ["a", "a"],
    ["a\n.\n", "a\r\n..\r\n"],
    ["a\r", "a\r\n"],
    [".x\r.", "..x\r\n.."],
  ];
  for (const [input, expected] of cases) {
    for (const chunks of allSplits(enc(input))) {
      assertEquals(decoder.decode(await encode(chunks, false)), expected, JSON.stringify(input));
    }
  }
});

Deno.test("DotStuffingEncoderStream passes empty chunks and binary bytes through", async () => {
  const out = await encode([new Uint8Array(0), new Uint8Array([0, 0xff, 0x2e]), new Uint8Array(0)]);
  assertEquals(Array.from(out), [0, 0xff, 0x2e, 13, 10, 0x2e, 13, 10]);
});

// --- readDotStuffed -------------------------------------------------------------------------

/** Runs `check` for every split of `wire`, both source kinds, two buffer sizes. */
async function everySplit(
  wire: string,
  check: (reader: BufferedReader, label: string) => Promise<void>,
): Promise<void> {
  for (const chunks of allSplits(enc(wire))) {
    for (const kind of KINDS) {
      for (const bufferSize of [undefined, 3]) {
        const label = `${kind} buffer=${bufferSize ?? "default"} chunks=${
          JSON.stringify(chunks.map((c) => decoder.decode(c)))
        }`;
        await check(readerOf(kind, chunks, bufferSize), label);
      }
    }
  }
}

async function failsEverywhere(
  wire: string,
  code: string,
  options?: ReadDotStuffedOptions,
): Promise<void> {
  await everySplit(wire, async (reader, label) => {
    const error = await assertRejects(
      () => concat(readDotStuffed(reader, options)),
      ProtocolError,
      undefined,
      label,
    );
    assertEquals(error.code, code, label);
  });
}

Deno.test("readDotStuffed() unstuffs the block and leaves the reader after the dot line", async () => {
  for (const lineEnding of ["crlf", "any"] as const) {
    await everySplit("a\r\n..b\r\n...\r\n.\r\n+OK\r\n", async (reader, label) => {
      const body = decoder.decode(await concat(readDotStuffed(reader, { lineEnding })));
      assertEquals(body, "a\r\n.b\r\n..\r\n", label);
      assertEquals(await reader.readLine(), "+OK", label);
      assertEquals(await reader.readLine(), null, label);
    });
  }
});

Deno.test("readDotStuffed() reads an empty block", async () => {
  await everySplit(".\r\n220 next\r\n", async (reader, label) => {
    assertEquals((await concat(readDotStuffed(reader))).length, 0, label);
    assertEquals(await reader.readLine(), "220 next", label);
  });
});

Deno.test("readDotStuffed() in crlf mode ends only at CRLF.CRLF and keeps bare LF dot LF", async () => {
  await everySplit("a\n.\nb\r\n.\r\nNEXT\r\n", async (reader, label) => {
    const body = await concat(readDotStuffed(reader, { lineEnding: "crlf" }));
    assertEquals(decoder.decode(body), "a\n.\nb\r\n", label);
    assertEquals(await reader.readLine(), "NEXT", label);
  });
  await everySplit("a\r.\rb\r\n.\r\n", async (reader, label) => {
    const body = await concat(readDotStuffed(reader, { lineEnding: "crlf" }));
    assertEquals(decoder.decode(body), "a\r.\rb\r\n", label);
  });
  // The CRLF line ".\nb" starts with a dot and has more: the dot is stuffing
  // (RFC 5321 §4.5.2), and the line does not end the block.
  await everySplit("a\r\n.\nb\r\n.\r\n", async (reader, label) => {
    const body = await concat(readDotStuffed(reader, { lineEnding: "crlf" }));
    assertEquals(decoder.decode(body), "a\r\n\nb\r\n", label);
  });
});

Deno.test("readDotStuffed() in any mode ends at a dot line with bare LF", async () => {
  await everySplit("a\n.\nb\r\n.\r\n", async (reader, label) => {
    const body = await concat(readDotStuffed(reader, { lineEnding: "any" }));
    assertEquals(decoder.decode(body), "a\r\n", label);
    assertEquals(await reader.readLine(), "b", label);
  });
});

Deno.test("readDotStuffed() accepts exactly maxSize bytes and errors with BODY_TOO_LARGE beyond", async () => {
  for (const lineEnding of ["crlf", "any"] as const) {
    await everySplit("abc\r\n..d\r\n.\r\n", async (reader, label) => {
      const body = await concat(readDotStuffed(reader, { maxSize: 9, lineEnding }));
      assertEquals(decoder.decode(body), "abc\r\n.d\r\n", label);
    });
    await failsEverywhere("abc\r\n..d\r\n.\r\n", "BODY_TOO_LARGE", { maxSize: 8, lineEnding });
  }
});

Deno.test("readDotStuffed() throws LINE_TOO_LONG in both line-end modes", async () => {
  for (const lineEnding of ["crlf", "any"] as const) {
    await everySplit("abcd\r\n.\r\n", async (reader, label) => {
      const body = await concat(readDotStuffed(reader, { maxLineLength: 4, lineEnding }));
      assertEquals(decoder.decode(body), "abcd\r\n", label);
    });
    await failsEverywhere("abcde\r\n.\r\n", "LINE_TOO_LONG", { maxLineLength: 4, lineEnding });
  }
});

Deno.test("readDotStuffed() throws UNEXPECTED_EOF before the terminating dot line", async () => {
  for (const lineEnding of ["crlf", "any"] as const) {
    await failsEverywhere("", "UNEXPECTED_EOF", { lineEnding });
    await failsEverywhere("a\r\n", "UNEXPECTED_EOF", { lineEnding });
    await failsEverywhere("a\r\nb", "UNEXPECTED_EOF", { lineEnding });
    await failsEverywhere("a\r\n.", "UNEXPECTED_EOF", { lineEnding });
  }
  await failsEverywhere("a\r\n.\n", "UNEXPECTED_EOF", { lineEnding: "crlf" });
});

Deno.test("readDotStuffed() reads nothing until the stream is pulled", async () => {
  let reads = 0;
  const chunks = [enc("x\r\n.\r\n")];
  const inner = byteReaderOf(chunks);
  const reader = new BufferedReader({
    read: (p) => {
      reads++;
      return inner.read(p);
    },
  });
  const body = readDotStuffed(reader);
  await Promise.resolve();
  assertEquals(reads, 0);
  assertEquals(decoder.decode(await concat(body)), "x\r\n");
});

Deno.test("readDotStuffed() batches a block larger than one chunk", async () => {
  const line = "0123456789".repeat(10);
  const lines = Array.from({ length: 400 }, (_, i) => (i % 7 === 0 ? "." : "") + line);
  const wire = lines.map((l) => (l.startsWith(".") ? "." + l : l) + "\r\n").join("") +
    ".\r\nafter\r\n";
  for (const kind of KINDS) {
    const reader = readerOf(kind, [enc(wire)], 1000);
    const parts: Uint8Array[] = [];
    for await (const part of readDotStuffed(reader)) parts.push(part);
    assert(parts.length > 1, `${kind}: ${parts.length} chunks`);
    const body = decoder.decode(await concat(ReadableStream.from(parts)));
    assertEquals(body, lines.map((l) => l + "\r\n").join(""), kind);
    assertEquals(await reader.readLine(), "after", kind);
  }
});

// --- seeded random round trip -----------------------------------------------------------------

/** What a body must read back as: line ends as CR LF, a last line end added. */
function normalized(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 13) {
      out.push(13, 10);
      if (bytes[i + 1] === 10) i++;
    } else if (b === 10) out.push(13, 10);
    else out.push(b);
  }
  if (out.length > 0 && out[out.length - 1] !== 10) out.push(13, 10);
  return new Uint8Array(out);
}

Deno.test("DotStuffingEncoderStream and readDotStuffed() round-trip seeded random bodies", async () => {
  const random = prng(0xd07);
  const alphabet = [0x2e, 0x2e, 13, 10, 0x61, 0];
  for (let round = 0; round < 300; round++) {
    const length = Math.floor(random() * 30);
    const body = new Uint8Array(length);
    for (let i = 0; i < length; i++) body[i] = alphabet[Math.floor(random() * alphabet.length)]!;
    const label = `round ${round} body=${JSON.stringify(decoder.decode(body))}`;

    const encoded = await encode(randomChunks5(body, random));
    assertEndsOnlyAtEnd(encoded, label);
    // Every split of the input encodes the same.
    assertEquals(await encode(bytewise(body)), encoded, label);
    assertEquals(await encode([body]), encoded, label);

    const wire = new Uint8Array([...encoded, ...enc("250 next\r\n")]);
    const kind = KINDS[round % 2]!;
    const reader = readerOf(kind, randomChunks5(wire, random), 1 + Math.floor(random() * 6));
    // The encoder writes only CR LF, so both reading modes agree.
    const lineEnding = round % 4 < 2 ? "crlf" : "any";
    const decoded = await concat(readDotStuffed(reader, { lineEnding }));
    assertEquals(decoded, normalized(body), `${label} ${kind} ${lineEnding}`);
    assertEquals(await reader.readLine({ lineEnding: "crlf" }), "250 next", `${label} ${kind}`);
  }
});

function randomChunks5(bytes: Uint8Array, random: () => number): Uint8Array[] {
  return randomChunks(bytes, random, 5);
}
