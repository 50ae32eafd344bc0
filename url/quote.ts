/** Options for {@linkcode quote} and {@linkcode quotePlus}. */
export interface QuoteOptions {
  /**
   * ASCII characters left as they are besides letters, digits and `_.-~`.
   *
   * @default {"/" for quote, "" for quotePlus}
   */
  safe?: string;
}

const HEX = "0123456789ABCDEF";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function alwaysSafe(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x5f || c === 0x2e || c === 0x2d || c === 0x7e;
}

function quoteWith(text: string, safe: string, plus: boolean): string {
  const bytes = encoder.encode(text);
  let out = "";
  for (const b of bytes) {
    if (alwaysSafe(b) || (b < 0x80 && safe.includes(String.fromCharCode(b)))) {
      out += String.fromCharCode(b);
    } else if (plus && b === 0x20) {
      out += "+";
    } else {
      out += "%" + HEX[b >> 4] + HEX[b & 15];
    }
  }
  return out;
}

/**
 * Percent-encodes text as Python's `urllib.parse.quote` does: UTF-8 bytes,
 * letters, digits and `_.-~` kept, plus the `safe` characters (`/` by
 * default). Unlike `encodeURIComponent` it also encodes `!'()*`, and it
 * lets the caller keep `/` in paths.
 *
 * @param text The text to encode.
 * @param options The characters to keep.
 * @returns The encoded text.
 *
 * @example Quoting a path
 * ```ts
 * import { quote } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(quote("/dir/café (1).txt"), "/dir/caf%C3%A9%20%281%29.txt");
 * assertEquals(quote("a/b", { safe: "" }), "a%2Fb");
 * ```
 */
export function quote(text: string, options?: QuoteOptions): string {
  options ??= {};
  return quoteWith(text, options.safe ?? "/", false);
}

/**
 * Like {@linkcode quote}, for form values: spaces become `+`, and `/` is
 * encoded unless listed in `safe`.
 *
 * @param text The text to encode.
 * @param options The characters to keep.
 * @returns The encoded text.
 *
 * @example
 * ```ts
 * import { quotePlus } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(quotePlus("a b/c&d"), "a+b%2Fc%26d");
 * ```
 */
export function quotePlus(text: string, options?: QuoteOptions): string {
  options ??= {};
  return quoteWith(text, options.safe ?? "", true);
}

/**
 * Decodes `%XX` escapes as UTF-8, as Python's `urllib.parse.unquote` does.
 * Unlike `decodeURIComponent` it never throws: malformed escapes stay as
 * they are and invalid UTF-8 becomes U+FFFD.
 *
 * @param text The text to decode.
 * @returns The decoded text.
 *
 * @example
 * ```ts
 * import { unquote } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(unquote("caf%C3%A9%20%zz"), "café %zz");
 * assertEquals(unquote("%FF"), "\uFFFD");
 * ```
 */
export function unquote(text: string): string {
  if (!text.includes("%")) return text;
  const bytes: number[] = [];
  let out = "";
  const flush = () => {
    if (bytes.length > 0) {
      out += decoder.decode(new Uint8Array(bytes));
      bytes.length = 0;
    }
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "%" && i + 2 < text.length && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      flush();
      out += c;
    }
  }
  flush();
  return out;
}

/**
 * Like {@linkcode unquote}, for form values: `+` becomes a space first.
 *
 * @param text The text to decode.
 * @returns The decoded text.
 *
 * @example
 * ```ts
 * import { unquotePlus } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(unquotePlus("a+b%2Bc"), "a b+c");
 * ```
 */
export function unquotePlus(text: string): string {
  return unquote(text.replaceAll("+", " "));
}
