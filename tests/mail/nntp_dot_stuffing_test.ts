/**
 * Dot-stuffing edge cases for NNTP articles, and a differential test of
 * `DotStuffedReader`'s in-place path (complete lines already buffered,
 * taken without a read each; added for the NNTP client's article speed)
 * against its line-by-line path: the same input fed in one chunk, byte by
 * byte (every line through the line reader) and in random chunks must give
 * the same bytes, the same error code and the same position afterwards.
 */
import { BufferedReader } from "../../net/buffered_reader.ts";
import { DotStuffedReader, DotStuffingEncoderStream } from "../../net/dot_stuffing.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assertEquals } from "../_helpers/assert.ts";
import { bytewise } from "../_helpers/scripted_peer.ts";
import { byteReaderOf, prng, randomChunks } from "../_helpers/sources.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Outcome {
  body: string;
  error: string | null;
  after: string;
  size: number;
}

async function run(
  chunks: Uint8Array[],
  options: { lineEnding?: "crlf" | "any"; maxSize?: number; maxLineLength?: number },
): Promise<Outcome> {
  const reader = new BufferedReader(byteReaderOf(chunks), { bufferSize: 64 });
  const block = new DotStuffedReader(reader, options);
  const parts: Uint8Array[] = [];
  let error: string | null = null;
  try {
    for (;;) {
      const piece = await block.read();
      if (piece === null) break;
      parts.push(piece);
    }
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    error = e.code;
  }
  const body = parts.map((p) => decoder.decode(p, { stream: true })).join("") + decoder.decode();
  // Where the reader stands after the block (or after the error) tells whether it kept step.
  let after = "";
  for (;;) {
    const rest = await reader.readAvailable().catch(() => null);
    if (rest === null) break;
    after += decoder.decode(rest, { stream: true });
  }
  after += decoder.decode();
  return { body, error, after, size: error === null ? block.size : -1 };
}

const PIECES = ["", ".", "..", "...", ".x", "x.", " .", "\r", "abc", "é", "x".repeat(40), "\t"];
const ENDS = ["\r\n", "\r\n", "\r\n", "\n", "\r"];

function randomBlock(random: () => number): string {
  let text = "";
  const lines = Math.floor(random() * 12);
  for (let i = 0; i < lines; i++) {
    const parts = 1 + Math.floor(random() * 3);
    for (let k = 0; k < parts; k++) text += PIECES[Math.floor(random() * PIECES.length)];
    text += ENDS[Math.floor(random() * ENDS.length)];
  }
  if (random() < 0.9) text += random() < 0.8 ? ".\r\n" : ".\n";
  return text + "NEXT\r\n";
}

Deno.test("DotStuffedReader gives the same result in one chunk, byte by byte and in random chunks", async () => {
  const random = prng(3977);
  for (let i = 0; i < 600; i++) {
    const text = randomBlock(random);
    const bytes = encoder.encode(text);
    for (
      const options of [
        {},
        { lineEnding: "crlf" as const },
        { maxSize: 1 + Math.floor(random() * 60) },
        { maxLineLength: Math.floor(random() * 50), lineEnding: "crlf" as const },
        { maxLineLength: Math.floor(random() * 50) },
      ]
    ) {
      const whole = await run([bytes], options);
      const slow = await run(bytewise(bytes), options);
      const mixed = await run(randomChunks(bytes, random, 9), options);
      const label = `${JSON.stringify(text)} ${JSON.stringify(options)}`;
      assertEquals(whole, slow, label);
      assertEquals(mixed, slow, label);
    }
  }
});

Deno.test("DotStuffedReader unstuffs NNTP article edge cases", async () => {
  const cases: [string, string][] = [
    [".\r\n", ""],
    ["..\r\n.\r\n", ".\r\n"],
    ["...\r\n.\r\n", "..\r\n"],
    [".. \r\n.\r\n", ". \r\n"],
    ["\r\n\r\n.\r\n", "\r\n\r\n"],
    [" .\r\n.\r\n", " .\r\n"],
    ["a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n"],
  ];
  for (const [wire, body] of cases) {
    for (const lineEnding of ["any", "crlf"] as const) {
      const result = await run([encoder.encode(wire + "NEXT\r\n")], { lineEnding });
      assertEquals([result.body, result.error, result.after], [body, null, "NEXT\r\n"], wire);
    }
  }
});

Deno.test("DotStuffedReader in crlf mode reads through bare-LF dot lines", async () => {
  const wire = encoder.encode("a\n.\nb\r\n.\n\r\nc\r\n.\r\nNEXT\r\n");
  const strict = await run([wire], { lineEnding: "crlf" });
  // The second line is ".\n" + CR LF: it starts with a dot, which is unstuffed.
  assertEquals([strict.body, strict.after], ["a\n.\nb\r\n\n\r\nc\r\n", "NEXT\r\n"]);
  const lenient = await run([wire], {});
  assertEquals([lenient.body, lenient.after], ["a\r\n", "b\r\n.\n\r\nc\r\n.\r\nNEXT\r\n"]);
});

Deno.test("DotStuffingEncoderStream and DotStuffedReader round-trip every dot pattern", async () => {
  const random = prng(977);
  for (let i = 0; i < 200; i++) {
    let text = "";
    const lines = Math.floor(random() * 8);
    for (let k = 0; k < lines; k++) {
      text += PIECES[Math.floor(random() * (PIECES.length - 1))]!.replace("\r", "") + "\r\n";
    }
    const stuffed = await new Response(
      ReadableStream.from([encoder.encode(text)]).pipeThrough(new DotStuffingEncoderStream()),
    ).bytes();
    const back = await run([stuffed], { lineEnding: "crlf" });
    assertEquals(back.body, text);
  }
});
