/**
 * NntpBlockReader: the lines of a dot-terminated block, whether lines end in
 * CR LF or a bare LF, start with a stuffed dot or not, and however the
 * bytes are split across reads.
 */
import { BufferedReader } from "../../net/buffered_reader.ts";
import { NntpBlockReader } from "../../mail/_nntp_lines.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";

const encoder = new TextEncoder();

function chunked(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    pieces.push(bytes.slice(at, cut));
    at = cut;
  }
  return ReadableStream.from(pieces);
}

async function readAll(
  stream: ReadableStream<Uint8Array>,
): Promise<{ lines: string[]; rest: string }> {
  const reader = new BufferedReader(stream, { bufferSize: 64 });
  const block = new NntpBlockReader(reader, { maxLineLength: 1000, maxLines: Infinity });
  const lines: string[] = [];
  for (let batch = await block.next(); batch !== null; batch = await block.next()) {
    lines.push(...batch);
  }
  const rest: number[] = [];
  for (;;) {
    const b = reader.peekBuffered();
    if (b.length > 0) {
      rest.push(...b);
      reader.consume(b.length);
    } else if (!(await reader.fill(1))) break;
  }
  return { lines, rest: new TextDecoder().decode(new Uint8Array(rest)) };
}

const CASES: [string, string[]][] = [
  ["1\tA\r\n2\tB\r\n.\r\n", ["1\tA", "2\tB"]],
  ["..dot\r\nplain\r\n.\r\n", [".dot", "plain"]],
  ["bare\nmixed\r\n\r\n.\r\n", ["bare", "mixed", ""]],
  ["cr\r\r\n..\r\n.x\r\n.\r\n", ["cr\r", ".", "x"]],
  [".\r\n", []],
];

Deno.test("NntpBlockReader gives the same lines for every split of the bytes", async () => {
  for (const [text, want] of CASES) {
    const bytes = encoder.encode(text + "211 after\r\n");
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (const second of [cut, Math.min(bytes.length, cut + 3)]) {
        const got = await readAll(chunked(bytes, [cut, second]));
        assertEquals(got.lines, want, `${JSON.stringify(text)} cut at ${cut}, ${second}`);
        assertEquals(got.rest, "211 after\r\n");
      }
    }
  }
});

Deno.test("NntpBlockReader reads 2,000 lines in batches with stuffed and bare-LF ones among them", async () => {
  const want: string[] = [];
  let text = "";
  for (let i = 0; i < 2000; i++) {
    const line = i % 700 === 5 ? `.stuffed ${i}` : `${i}\tsubject ${i}`;
    want.push(line);
    text += (line.startsWith(".") ? "." : "") + line + (i % 900 === 7 ? "\n" : "\r\n");
  }
  const got = await readAll(ReadableStream.from([encoder.encode(text + ".\r\n")]));
  assertEquals(got.lines, want);
});

Deno.test("NntpBlockReader: a block cut short is UNEXPECTED_EOF", async () => {
  await assertRejects(
    () => readAll(ReadableStream.from([encoder.encode("1\tA\r\n")])),
    Error,
    "terminating dot",
  );
});
