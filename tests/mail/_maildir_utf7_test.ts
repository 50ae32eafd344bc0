import { decodeMutf7, encodeMutf7 } from "../../mail/_maildir_utf7.ts";
import { prng } from "../_helpers/sources.ts";
import { assertEquals } from "../_helpers/assert.ts";

Deno.test("encodeMutf7() follows the RFC 3501 §5.1.3 examples", () => {
  assertEquals(encodeMutf7("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  assertEquals(encodeMutf7("Entwürfe"), "Entw&APw-rfe");
  assertEquals(encodeMutf7("Tom & Jerry"), "Tom &- Jerry");
  assertEquals(encodeMutf7("😀"), "&2D3eAA-");
});

Deno.test("decodeMutf7() decodes canonical names and refuses others", () => {
  assertEquals(decodeMutf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), "~peter/mail/台北/日本語");
  assertEquals(decodeMutf7("Tom &- Jerry"), "Tom & Jerry");
  for (
    const bad of [
      "&",
      "&U,BTFw",
      "&AOk-&AOk-",
      "&AGE-",
      "&Jjo!-",
      "&2D0-",
      "caf\u00e9",
      "&U/BTFw-",
      "&AOl-",
    ]
  ) {
    assertEquals(decodeMutf7(bad), undefined, bad);
  }
});

Deno.test("encodeMutf7() and decodeMutf7() round-trip random names", () => {
  const random = prng(7);
  const alphabet = ["a", "&", "-", ".", " ", "é", "ß", "日", "😀", "\u00a0", "Z", ","];
  for (let i = 0; i < 2000; i++) {
    let name = "";
    const length = 1 + Math.floor(random() * 12);
    for (let j = 0; j < length; j++) name += alphabet[Math.floor(random() * alphabet.length)];
    assertEquals(decodeMutf7(encodeMutf7(name)), name);
  }
});
