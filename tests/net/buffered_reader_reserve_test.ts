import { BufferedReader } from "../../net/buffered_reader.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import { streamOf } from "../_helpers/scripted_peer.ts";
import { byteReaderOf } from "../_helpers/sources.ts";

const encoder = new TextEncoder();

Deno.test("BufferedReader.reserve() and commit() let the caller read into the buffer", async () => {
  const source = byteReaderOf([encoder.encode("hello "), encoder.encode("world\n")]);
  const reader = new BufferedReader({ read: () => Promise.resolve(null) }, { bufferSize: 16 });
  for (;;) {
    const room = reader.reserve();
    const n = await source.read(room);
    reader.commit(n);
    if (n === null) break;
  }
  assertEquals(new TextDecoder().decode(reader.peekBuffered()), "hello world\n");
  assertEquals(await reader.readLine(), "hello world");
  assertEquals(await reader.readLine(), null);
});

Deno.test("BufferedReader.reserve() grows the buffer up to the limit", () => {
  const reader = new BufferedReader({ read: () => Promise.resolve(null) }, { bufferSize: 4 });
  reader.commit(reader.reserve(4).length);
  assertEquals(reader.reserve(4).length, 0);
  const room = reader.reserve(12);
  assertEquals(room.length > 0, true);
  reader.commit(room.length);
  assertEquals(reader.buffered <= 12, true);
});

Deno.test("BufferedReader.reserve() with stable views never overwrites bytes once read", async () => {
  const reader = new BufferedReader({ read: () => Promise.resolve(null) }, {
    bufferSize: 8,
    stableViews: true,
  });
  const views: [Uint8Array, string][] = [];
  for (const word of ["abc", "defgh", "ij", "klmnop"]) {
    const room = reader.reserve();
    room.set(encoder.encode(word));
    reader.commit(word.length);
    const view = reader.peekBuffered();
    views.push([view, word]);
    reader.consume(view.length);
  }
  for (const [view, word] of views) assertEquals(new TextDecoder().decode(view), word);
  assertEquals(await reader.read(new Uint8Array(1)), null);
});

Deno.test("BufferedReader.commit() refuses more than the reserved room", () => {
  const reader = new BufferedReader({ read: () => Promise.resolve(null) }, { bufferSize: 4 });
  const room = reader.reserve();
  assertThrows(() => reader.commit(room.length + 1), RangeError);
});

Deno.test("BufferedReader.reserve() refuses while a stream chunk is pending", async () => {
  const reader = new BufferedReader(streamOf(["abcdefgh"]), { bufferSize: 4 });
  await reader.fill();
  assertThrows(() => reader.reserve(), TypeError);
});
