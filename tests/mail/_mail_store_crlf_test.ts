import {
  clampRange,
  CrlfNormalizer,
  LfNormalizer,
  RangeCutter,
} from "../../mail/_mail_store_crlf.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const INPUT = "a\r\nb\nc\r\r\n\r\nd\re\n\n\r";

function everySplit(input: string): Uint8Array[][] {
  const bytes = encoder.encode(input);
  const splits: Uint8Array[][] = [];
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) {
      splits.push([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
    }
  }
  return splits;
}

Deno.test("CrlfNormalizer.push() inserts CR before bare LF for every split of the input", () => {
  for (const chunks of everySplit(INPUT)) {
    const normalizer = new CrlfNormalizer();
    const out = chunks.map((c) => decoder.decode(normalizer.push(c))).join("");
    assertEquals(out, "a\r\nb\r\nc\r\r\n\r\nd\re\r\n\r\n\r");
  }
});

Deno.test("CrlfNormalizer.push() returns the same array when the chunk is already CRLF", () => {
  const chunk = encoder.encode("x\r\ny\r\n");
  assertEquals(new CrlfNormalizer().push(chunk) === chunk, true);
});

Deno.test("LfNormalizer.push() turns CRLF into LF and keeps bare CR for every split", () => {
  for (const chunks of everySplit(INPUT)) {
    const normalizer = new LfNormalizer();
    const out = chunks.map((c) => decoder.decode(normalizer.push(c))).join("") +
      decoder.decode(normalizer.flush());
    assertEquals(out, "a\nb\nc\r\n\nd\re\n\n\r");
  }
});

Deno.test("RangeCutter.push() keeps exactly the range across chunks", () => {
  const bytes = encoder.encode("0123456789");
  for (let size = 1; size <= 10; size++) {
    const cutter = new RangeCutter(3, 4);
    let out = "";
    for (let i = 0; i < bytes.length; i += size) {
      out += decoder.decode(cutter.push(bytes.subarray(i, i + size)));
    }
    assertEquals(out, "3456");
    assertEquals(cutter.done, true);
  }
});

Deno.test("clampRange() clamps to the size and refuses negative or fractional values", () => {
  assertEquals(clampRange(10), { start: 0, length: 10 });
  assertEquals(clampRange(10, { start: 8, length: 5 }), { start: 8, length: 2 });
  assertEquals(clampRange(10, { start: 20 }), { start: 10, length: 0 });
  assertThrows(() => clampRange(10, { start: -1 }), RangeError);
  assertThrows(() => clampRange(10, { length: 1.5 }), RangeError);
});
