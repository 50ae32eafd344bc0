import { BufferedReader } from "../../net/buffered_reader.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { BodyReader, CHUNKED, CLOSE, LENGTH } from "../../http/_body_reader.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";
import { bytewise, splits } from "../_helpers/scripted_peer.ts";
import { byteReaderOf } from "../_helpers/sources.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function readBody(
  chunks: Uint8Array[],
  kind: number,
  length: number,
  max = 3,
): Promise<{ body: string; rest: string; ended: boolean }> {
  const reader = new BufferedReader(byteReaderOf(chunks), { bufferSize: 8, stableViews: true });
  let ended = false;
  const body = new BodyReader(reader, kind, length, { onEnd: () => (ended = true) });
  let text = "";
  for (;;) {
    const piece = await body.read(max);
    if (piece === null) break;
    text += decoder.decode(piece);
  }
  const rest: number[] = [];
  const buf = new Uint8Array(16);
  for (;;) {
    const n = await reader.read(buf);
    if (n === null) break;
    rest.push(...buf.subarray(0, n));
  }
  return { body: text, rest: decoder.decode(new Uint8Array(rest)), ended };
}

Deno.test("BodyReader reads a Content-Length body at every split and leaves the next message", async () => {
  const bytes = encoder.encode("hello worldGET / HTTP/1.1");
  for (const chunks of [...splits(bytes), bytewise(bytes)]) {
    assertEquals(await readBody(chunks, LENGTH, 11), {
      body: "hello world",
      rest: "GET / HTTP/1.1",
      ended: true,
    });
  }
});

Deno.test("BodyReader reads a chunked body at every split and leaves the next message", async () => {
  const bytes = encoder.encode("5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\nNEXT");
  for (const chunks of [...splits(bytes, true), bytewise(bytes)]) {
    assertEquals(await readBody(chunks, CHUNKED, 0), {
      body: "hello world",
      rest: "NEXT",
      ended: true,
    });
  }
});

Deno.test("BodyReader reads a body delimited by close", async () => {
  const bytes = encoder.encode("all the rest");
  for (const chunks of splits(bytes, true)) {
    assertEquals(await readBody(chunks, CLOSE, 0), { body: "all the rest", rest: "", ended: true });
  }
});

Deno.test("BodyReader errors on a body cut short, never ends early", async () => {
  for (const [kind, wire] of [[LENGTH, "short"], [CHUNKED, "5\r\nhel"]] as const) {
    const reader = new BufferedReader(byteReaderOf([encoder.encode(wire)]));
    let failed = false;
    const body = new BodyReader(reader, kind, 10, { onError: () => (failed = true) });
    const error = await assertRejects(() => body.readAll(100), ProtocolError);
    assertEquals([error.code, failed, body.done], ["UNEXPECTED_EOF", true, false]);
  }
});

Deno.test("BodyReader.readAll() refuses a body over the cap without reading it", async () => {
  let reads = 0;
  const reader = new BufferedReader({
    read: () => {
      reads++;
      return Promise.resolve(null);
    },
  });
  const body = new BodyReader(reader, LENGTH, 1000, {});
  const error = await assertRejects(() => body.readAll(10), ProtocolError);
  assertEquals([error.code, reads], ["BODY_TOO_LARGE", 0]);
});

Deno.test("BodyReader.drain() discards a small rest and refuses a large one", async () => {
  const small = new BodyReader(
    new BufferedReader(byteReaderOf([encoder.encode("abcdefNEXT")])),
    LENGTH,
    6,
    {},
  );
  assertEquals(await small.drain(100), true);
  const large = new BodyReader(new BufferedReader(byteReaderOf([])), LENGTH, 1000, {});
  assertEquals(await large.drain(100), false);
});
