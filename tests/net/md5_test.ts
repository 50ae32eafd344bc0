import { bytesToHex, hmacMd5, md5Digest } from "../../net/md5.ts";
import { assertEquals } from "../_helpers/assert.ts";

Deno.test("md5Digest() matches every test vector of RFC 1321", () => {
  const vectors: [string, string][] = [
    ["", "d41d8cd98f00b204e9800998ecf8427e"],
    ["a", "0cc175b9c0f1b6a831c399e269772661"],
    ["abc", "900150983cd24fb0d6963f7d28e17f72"],
    ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
    ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
    [
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f",
    ],
    [
      "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
      "57edf4a22be3c955ac49da2e2107b67a",
    ],
  ];
  for (const [input, digest] of vectors) assertEquals(bytesToHex(md5Digest(input)), digest, input);
});

Deno.test("md5Digest() pads correctly around the 56- and 64-byte block boundaries", () => {
  const vectors: [number, string][] = [
    [55, "ef1772b6dff9a122358552954ad0df65"],
    [56, "3b0c8ac703f828b04c6c197006d17218"],
    [57, "652b906d60af96844ebd21b674f35e93"],
    [63, "b06521f39153d618550606be297466d5"],
    [64, "014842d480b571495a4a0363793f7367"],
    [65, "c743a45e0d2e6a95cb859adae0248435"],
    [119, "8a7bd0732ed6a28ce75f6dabc90e1613"],
    [120, "5f61c0ccad4cac44c75ff505e1f1e537"],
    [128, "e510683b3f5ffe4093d021808bc6ff70"],
  ];
  for (const [n, digest] of vectors) {
    assertEquals(bytesToHex(md5Digest("a".repeat(n))), digest, `${n}`);
  }
});

Deno.test("md5Digest() hashes binary input of many blocks", () => {
  const data = new Uint8Array(256 * 1000).map((_, i) => i & 255);
  assertEquals(bytesToHex(md5Digest(data)), "1da708a75e25110b1341d16814feb52d");
});

Deno.test("md5Digest() hashes strings as UTF-8", () => {
  assertEquals(bytesToHex(md5Digest("café")), "07117fe4a1ebd544965dc19573183da2");
  assertEquals(md5Digest("café"), md5Digest(new TextEncoder().encode("café")));
});

Deno.test("hmacMd5() matches the test vectors of RFC 2104 and RFC 2202", () => {
  const fill = (n: number, b: number) => new Uint8Array(n).fill(b);
  const cases: [Uint8Array | string, Uint8Array | string, string][] = [
    [fill(16, 0x0b), "Hi There", "9294727a3638bb1c13f48ef8158bfc9d"],
    ["Jefe", "what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738"],
    [fill(16, 0xaa), fill(50, 0xdd), "56be34521d144c88dbb8c733f0e8b3f6"],
    [
      new Uint8Array(25).map((_, i) => i + 1),
      fill(50, 0xcd),
      "697eaf0aca3a3aea3a75164746ffaa79",
    ],
    [fill(16, 0x0c), "Test With Truncation", "56461ef2342edc00f9bab995690efd4c"],
    [
      fill(80, 0xaa),
      "Test Using Larger Than Block-Size Key - Hash Key First",
      "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",
    ],
    [
      fill(80, 0xaa),
      "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
      "6f630fad67cda0ee1fb1f562db3aa53e",
    ],
  ];
  for (const [key, data, mac] of cases) assertEquals(bytesToHex(hmacMd5(key, data)), mac);
});

Deno.test("hmacMd5() computes the CRAM-MD5 digest of RFC 2195", () => {
  const challenge = "<1896.697170952@postoffice.reston.mci.net>";
  assertEquals(
    bytesToHex(hmacMd5("tanstaaftanstaaf", challenge)),
    "b913a602c7eda7a495b4e6e7334d3890",
  );
});

Deno.test("bytesToHex() writes two lowercase digits per byte", () => {
  assertEquals(bytesToHex(new Uint8Array([])), "");
  assertEquals(bytesToHex(new Uint8Array([0, 1, 0xab, 0xff])), "0001abff");
});
