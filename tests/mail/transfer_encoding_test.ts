import {
  Base64DecoderStream,
  Base64EncoderStream,
  QuotedPrintableDecoderStream,
  QuotedPrintableEncoderStream,
  transferDecoderStream,
} from "../../mail/transfer_encoding.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { bytewise, splits } from "../_helpers/scripted_peer.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function run(
  chunks: Uint8Array[],
  stream: TransformStream<Uint8Array, Uint8Array>,
): Promise<Uint8Array> {
  return new Uint8Array(
    await new Response(ReadableStream.from(chunks).pipeThrough(stream)).arrayBuffer(),
  );
}

function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

Deno.test("Base64EncoderStream writes 76-character CRLF lines, whatever the chunking", async () => {
  const data = new Uint8Array(300).map((_, i) => (i * 37) & 255);
  const expected = data.toBase64().match(/.{1,76}/g)!.join("\r\n") + "\r\n";
  for (const size of [1, 2, 3, 56, 57, 58, 300]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
    assertEquals(decoder.decode(await run(chunks, new Base64EncoderStream())), expected);
  }
  assertEquals(await run([], new Base64EncoderStream()), new Uint8Array(0));
  assertEquals(
    decoder.decode(await run([encoder.encode("a")], new Base64EncoderStream())),
    "YQ==\r\n",
  );
});

Deno.test("Base64DecoderStream decodes input split at every byte boundary", async () => {
  const encoded = encoder.encode("SGVsbG8s\r\nIHdvcmxk\r\nIQ==\r\n");
  for (const chunks of splits(encoded)) {
    assertEquals(decoder.decode(await run(chunks, new Base64DecoderStream())), "Hello, world!");
  }
  assertEquals(
    decoder.decode(await run(bytewise(encoded), new Base64DecoderStream())),
    "Hello, world!",
  );
});

Deno.test("Base64DecoderStream is lenient: junk, missing padding, concatenated groups", async () => {
  const cases: [string, string][] = [
    ["aGVs bG8", "hello"],
    ["aGVsbG8", "hello"],
    ["a!G@V#s$b%G^8&=", "hello"],
    ["aGk=aGk=", "hihi"],
    ["aGk=\r\naGVsbG8=", "hihello"],
    ["YQ", "a"],
    ["Y", ""],
    ["", ""],
    ["====", ""],
  ];
  for (const [input, expected] of cases) {
    for (const chunks of splits(encoder.encode(input), true)) {
      assertEquals(decoder.decode(await run(chunks, new Base64DecoderStream())), expected, input);
    }
  }
});

Deno.test("Base64DecoderStream holds no more than a few characters between chunks", async () => {
  // Megabytes of white space between groups must not accumulate.
  const spaces = new Uint8Array(1 << 20).fill(32);
  const chunks = [encoder.encode("aG"), spaces, spaces, encoder.encode("k=")];
  assertEquals(decoder.decode(await run(chunks, new Base64DecoderStream())), "hi");
});

Deno.test("QuotedPrintableDecoderStream decodes escapes and soft breaks at every split (RFC 2045 §6.7)", async () => {
  const encoded = encoder.encode("Gr=C3=BC=\r\n=C3=9Fe  \r\nline=20two=\nend= \t\r\n!\r\n");
  const expected = "Grüße\r\nline twoend!\r\n";
  for (const chunks of splits(encoded)) {
    assertEquals(decoder.decode(await run(chunks, new QuotedPrintableDecoderStream())), expected);
  }
});

Deno.test("QuotedPrintableDecoderStream keeps stray '=' and drops trailing white space", async () => {
  const cases: [string, string][] = [
    ["a=ZZb", "a=ZZb"],
    ["a=4", "a=4"],
    ["a=", "a"],
    ["a= ", "a"],
    ["a=3d", "a="],
    ["tail   ", "tail"],
    ["x \t \r\ny", "x\r\ny"],
    ["x \ty", "x \ty"],
    ["=\r\n", ""],
  ];
  for (const [input, expected] of cases) {
    for (const chunks of splits(encoder.encode(input))) {
      assertEquals(
        decoder.decode(await run(chunks, new QuotedPrintableDecoderStream())),
        expected,
        input,
      );
    }
  }
});

Deno.test("QuotedPrintableEncoderStream keeps lines under 77 characters and round-trips", async () => {
  const next = random(42);
  const alphabet = [
    "a",
    "b",
    " ",
    "\t",
    "=",
    "é",
    "€",
    "\n",
    "\r\n",
    ".",
    "-",
    "😀",
    "x".repeat(90),
  ];
  for (let i = 0; i < 200; i++) {
    let text = "";
    for (let k = 0, n = Math.floor(next() * 60); k < n; k++) {
      text += alphabet[Math.floor(next() * alphabet.length)];
    }
    const bytes = encoder.encode(text);
    const size = 1 + Math.floor(next() * 10);
    const chunks: Uint8Array[] = [];
    for (let k = 0; k < bytes.length; k += size) chunks.push(bytes.subarray(k, k + size));
    const encoded = await run(chunks, new QuotedPrintableEncoderStream());
    const lines = decoder.decode(encoded).split("\r\n");
    for (const line of lines) {
      assert(line.length <= 76, JSON.stringify(line));
      assert(/^[\x20-\x7e\t]*$/.test(line) && !/[ \t]$/.test(line), JSON.stringify(line));
    }
    assert(!/[\r\n]/.test(lines.join("")));
    const normalized = text.replace(/\r\n|\n/g, "\r\n");
    assertEquals(
      decoder.decode(await run([encoded], new QuotedPrintableDecoderStream())),
      normalized,
    );
  }
});

Deno.test("transferDecoderStream() picks the decoder by name and passes others through", async () => {
  const body = encoder.encode("aGk=");
  assertEquals(decoder.decode(await run([body], transferDecoderStream(" Base64 "))), "hi");
  assertEquals(
    decoder.decode(await run([encoder.encode("=41")], transferDecoderStream("quoted-printable"))),
    "A",
  );
  for (const name of ["7bit", "8bit", "binary", "x-unknown"]) {
    assertEquals(decoder.decode(await run([body], transferDecoderStream(name))), "aGk=");
  }
});
