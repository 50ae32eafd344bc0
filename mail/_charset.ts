/**
 * Charset helpers shared by the mail modules: `TextDecoder` lookups by MIME
 * charset name, cached, with a UTF-8 fallback for names the platform does
 * not know.
 *
 * @module
 */

const decoders = new Map<string, TextDecoder | null>();
const utf8 = new TextDecoder();

/**
 * Returns a (non-fatal) decoder for a MIME charset name, or `null` when the
 * platform has no decoder for it.
 */
export function decoderFor(charset: string): TextDecoder | null {
  const key = charset.trim().toLowerCase();
  let decoder = decoders.get(key);
  if (decoder === undefined) {
    try {
      decoder = key === "" ? utf8 : new TextDecoder(aliasOf(key));
    } catch {
      decoder = null;
    }
    if (decoders.size < 256) decoders.set(key, decoder);
  }
  return decoder;
}

/**
 * Decodes bytes in a MIME charset. Unknown charsets, and US-ASCII (whose
 * 8-bit bytes in practice are UTF-8 sent without a declaration), decode as
 * UTF-8.
 */
export function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  const decoder = decoderFor(charset ?? "utf-8");
  if (decoder === null || decoder.encoding === "windows-1252" && isAscii(charset!)) {
    return utf8.decode(bytes);
  }
  return decoder.decode(bytes);
}

function isAscii(charset: string): boolean {
  const key = charset.trim().toLowerCase();
  return key === "us-ascii" || key === "ascii" || key === "us_ascii" || key === "ansi_x3.4-1968";
}

function aliasOf(key: string): string {
  // Names seen in mail that the WHATWG Encoding Standard lacks.
  switch (key) {
    case "ascii":
    case "us_ascii":
    case "ansi_x3.4-1968":
      return "us-ascii";
    case "utf8mb4":
      return "utf-8";
    case "gb2312-80":
      return "gbk";
    default:
      return key;
  }
}
