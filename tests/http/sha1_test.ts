import { sha1 } from "../../http/_sha1.ts";
import { bytesToHex } from "../../net/md5.ts";
import { assertEquals } from "../_helpers/assert.ts";
import { prng } from "../_helpers/sources.ts";

const encoder = new TextEncoder();

async function subtleSha1(data: Uint8Array<ArrayBuffer>): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-1", data)));
}

Deno.test("sha1() matches the FIPS 180-4 / RFC 3174 test vectors", () => {
  const vectors: [string, string][] = [
    ["", "da39a3ee5e6b4b0d3255bfef95601890afd80709"],
    ["abc", "a9993e364706816aba3e25717850c26c9cd0d89d"],
    [
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    ],
    [
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      "a49b2446a02c645bf419f995b67091253a04a259",
    ],
    ["The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"],
    [
      "0123456701234567012345670123456701234567012345670123456701234567".repeat(10),
      "dea356a2cddd90c7a7ecedc5ebb563934f460452",
    ],
  ];
  for (const [input, digest] of vectors) {
    assertEquals(bytesToHex(sha1(encoder.encode(input))), digest, input.slice(0, 20));
  }
});

Deno.test("sha1() hashes a million 'a' bytes (FIPS 180-4 long vector)", () => {
  const input = new Uint8Array(1_000_000).fill(0x61);
  assertEquals(bytesToHex(sha1(input)), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
});

Deno.test("sha1() agrees with crypto.subtle around the 55/56/64-byte padding boundaries", async () => {
  for (let n = 0; n <= 200; n++) {
    const input = new Uint8Array(n).map((_, i) => (i * 31 + n) & 255);
    assertEquals(bytesToHex(sha1(input)), await subtleSha1(input), `length ${n}`);
  }
});

Deno.test("sha1() agrees with crypto.subtle on seeded random inputs", async () => {
  const random = prng(6455);
  for (let k = 0; k < 50; k++) {
    const input = new Uint8Array(Math.floor(random() * 5000)).map(() => Math.floor(random() * 256));
    assertEquals(bytesToHex(sha1(input)), await subtleSha1(input), `input ${k}`);
  }
});

Deno.test("sha1() gives the Sec-WebSocket-Accept of RFC 6455 §1.3", () => {
  const digest = sha1(
    encoder.encode("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
  );
  assertEquals(btoa(String.fromCharCode(...digest)), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});
