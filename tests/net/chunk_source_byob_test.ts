/** chunkSourceStream with ChunkSource.readInto: a byte stream for BYOB readers. */
import { type ChunkSource, chunkSourceStream } from "../../net/chunk_source.ts";
import { assertEquals } from "../_helpers/assert.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A source over fixed bytes that counts which method served them. */
function source(text: string) {
  const bytes = encoder.encode(text);
  let at = 0;
  const calls = { read: 0, readInto: 0, drain: 0 };
  const s: ChunkSource = {
    read() {
      calls.read++;
      if (at >= bytes.length) return Promise.resolve(null);
      const piece = bytes.slice(at, at + 3);
      at += piece.length;
      return Promise.resolve(piece);
    },
    readInto(buffer) {
      calls.readInto++;
      if (at >= bytes.length) return Promise.resolve(null);
      const n = Math.min(buffer.length, bytes.length - at, 3);
      buffer.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
    drain() {
      calls.drain++;
      at = bytes.length;
      return Promise.resolve(true);
    },
  };
  return { s, calls };
}

Deno.test("chunkSourceStream() reads into a BYOB reader's buffer when the source has readInto", async () => {
  const { s, calls } = source("hello world");
  let ended = 0;
  const stream = chunkSourceStream(s, { onEnd: () => void ended++ });
  const reader = stream.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(8);
  let text = "";
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(buffer));
    if (done) break;
    text += decoder.decode(value);
    buffer = value.buffer as ArrayBuffer; // the same memory, handed back
  }
  assertEquals(text, "hello world");
  assertEquals([calls.read, ended], [0, 1]);
  assertEquals(calls.readInto, 5);
});

Deno.test("chunkSourceStream() with readInto still serves default readers through read()", async () => {
  const { s, calls } = source("hello world");
  assertEquals(await new Response(chunkSourceStream(s)).text(), "hello world");
  assertEquals(calls.readInto, 0);
});

Deno.test("chunkSourceStream() with readInto drains on cancel and reports the drain", async () => {
  const { s, calls } = source("hello world");
  let abandoned: boolean | null = null;
  const stream = chunkSourceStream(s, { onAbandon: (inSync) => void (abandoned = inSync) });
  const reader = stream.getReader({ mode: "byob" });
  await reader.read(new Uint8Array(4));
  await reader.cancel();
  assertEquals([calls.drain, abandoned], [1, true]);
});
