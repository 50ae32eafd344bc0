/**
 * MD5 (RFC 1321) and HMAC-MD5 (RFC 2104), for the legacy protocol features
 * that still need them: SASL CRAM-MD5, HTTP Digest authentication, APOP.
 * WebCrypto has no MD5, so this is the one small implementation inetkit
 * uses. MD5 is broken for collision resistance: never use it for anything
 * new.
 *
 * @module
 */

const encoder = new TextEncoder();

// Per-round left-rotation amounts (RFC 1321 §3.4).
// deno-fmt-ignore
const SHIFTS = new Uint8Array([
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
]);

// T[i] = floor(abs(sin(i + 1)) * 2^32) (RFC 1321 §3.4).
const SINES = new Uint32Array(64);
for (let i = 0; i < 64; i++) SINES[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000);

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/**
 * Computes the MD5 digest of some bytes (RFC 1321).
 *
 * @param data The bytes, or a string hashed as UTF-8.
 * @returns The 16-byte digest.
 *
 * @example Hashing a string
 * ```ts
 * import { md5Digest, bytesToHex } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(bytesToHex(md5Digest("abc")), "900150983cd24fb0d6963f7d28e17f72");
 * ```
 */
export function md5Digest(data: Uint8Array | string): Uint8Array {
  const input = toBytes(data);
  const length = input.length;
  // Message + 0x80 + zero padding + 64-bit length, a multiple of 64 bytes.
  const padded = new Uint8Array(((length + 8) >>> 6) * 64 + 64);
  padded.set(input);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, (length * 8) >>> 0, true);
  view.setUint32(padded.length - 4, Math.floor(length / 0x20000000), true);

  let a0 = 0x67452301;
  let b0 = 0xefcdab89;
  let c0 = 0x98badcfe;
  let d0 = 0x10325476;
  const m = new Uint32Array(16);
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i++) m[i] = view.getUint32(offset + i * 4, true);
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const sum = (a + f + SINES[i]! + m[g]!) | 0;
      const s = SHIFTS[i]!;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  const out = new Uint8Array(16);
  const outView = new DataView(out.buffer);
  outView.setUint32(0, a0, true);
  outView.setUint32(4, b0, true);
  outView.setUint32(8, c0, true);
  outView.setUint32(12, d0, true);
  return out;
}

/**
 * Computes HMAC-MD5 (RFC 2104), as SASL CRAM-MD5 (RFC 2195) uses it.
 *
 * @param key The secret key; keys longer than 64 bytes are hashed first.
 * @param data The message.
 * @returns The 16-byte MAC.
 *
 * @example The first test case of RFC 2104
 * ```ts
 * import { hmacMd5, bytesToHex } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const key = new Uint8Array(16).fill(0x0b);
 * assertEquals(bytesToHex(hmacMd5(key, "Hi There")), "9294727a3638bb1c13f48ef8158bfc9d");
 * ```
 */
export function hmacMd5(key: Uint8Array | string, data: Uint8Array | string): Uint8Array {
  let k = toBytes(key);
  if (k.length > 64) k = md5Digest(k);
  const message = toBytes(data);
  const inner = new Uint8Array(64 + message.length);
  const outer = new Uint8Array(64 + 16);
  for (let i = 0; i < 64; i++) {
    const byte = k[i] ?? 0;
    inner[i] = byte ^ 0x36;
    outer[i] = byte ^ 0x5c;
  }
  inner.set(message, 64);
  outer.set(md5Digest(inner), 64);
  return md5Digest(outer);
}

/**
 * Formats bytes as lowercase hexadecimal, the usual way to show a digest.
 *
 * @param bytes The bytes.
 * @returns Two lowercase hex digits per byte.
 *
 * @example
 * ```ts
 * import { bytesToHex } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(bytesToHex(new Uint8Array([0, 15, 255])), "000fff");
 * ```
 */
export function bytesToHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += (byte < 16 ? "0" : "") + byte.toString(16);
  return out;
}
