/**
 * RFC 2047 encoded words: `=?charset?B|Q?text?=` in header fields.
 *
 * @module
 */
import { decoderFor } from "./_charset.ts";
import { copyBytes } from "../net/_bytes.ts";

/** Options for {@linkcode encodeEncodedWords}. */
export interface EncodeEncodedWordsOptions {
  /**
   * `"minimal"` encodes only the runs of words that need it (non-ASCII,
   * control characters, text that looks like an encoded word, words too long
   * to fold) and returns ASCII text unchanged, for unstructured fields such
   * as `Subject`; `"all"` encodes the whole text, for display names and
   * parameter values.
   *
   * @default {"minimal"}
   */
  mode?: "minimal" | "all";
}

const ENCODED_WORD_REGEXP = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?]*)\?=/g;
const ONLY_WHITESPACE_REGEXP = /^[ \t\r\n]*$/;
const NEEDS_ENCODING_REGEXP = /[^\x20-\x7e]|=\?/;
/** The most characters a plain word may have before it is encoded so the field can fold. */
const MAX_PLAIN_WORD = 900;
const encoder = new TextEncoder();

interface Run {
  charset: string;
  chunks: Uint8Array[];
}

/**
 * Decodes the RFC 2047 encoded words in a header value. White space between
 * two adjacent encoded words is dropped (RFC 2047 §6.2), and adjacent words
 * in the same charset are decoded together, so a character split across two
 * words (a common encoder bug) still decodes. Words in a charset the
 * platform does not know, or with a malformed payload, are left as they are.
 *
 * @param text An unfolded header value.
 * @returns The decoded text.
 *
 * @example Decoding a subject
 * ```ts
 * import { decodeEncodedWords } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   decodeEncodedWords("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= =?ISO-8859-1?B?YXVz?= Berlin"),
 *   "Grüßeaus Berlin",
 * );
 * ```
 */
export function decodeEncodedWords(text: string): string {
  if (!text.includes("=?")) return text;
  let out = "";
  let last = 0;
  let run: Run | null = null;
  for (const match of text.matchAll(ENCODED_WORD_REGEXP)) {
    const charset = match[1]!.toLowerCase();
    const bytes = decodePayload(match[2]!, match[3]!);
    if (bytes === null || decoderFor(charset) === null) continue;
    const between = text.slice(last, match.index);
    if (run !== null && ONLY_WHITESPACE_REGEXP.test(between)) {
      if (run.charset === charset) run.chunks.push(bytes);
      else {
        out += flush(run);
        run = { charset, chunks: [bytes] };
      }
    } else {
      if (run !== null) out += flush(run);
      out += between;
      run = { charset, chunks: [bytes] };
    }
    last = match.index + match[0].length;
  }
  if (run !== null) out += flush(run);
  return out + text.slice(last);
}

function flush(run: Run): string {
  const decoder = decoderFor(run.charset)!;
  if (run.chunks.length === 1) return decoder.decode(run.chunks[0]);
  return decoder.decode(copyBytes(run.chunks));
}

function decodePayload(encoding: string, payload: string): Uint8Array | null {
  if (encoding === "b" || encoding === "B") {
    const clean = payload.replace(/[\s=]+/g, "");
    if (clean.length % 4 === 1) return null;
    try {
      return Uint8Array.fromBase64(clean);
    } catch {
      return null;
    }
  }
  const out = new Uint8Array(payload.length);
  let n = 0;
  for (let i = 0; i < payload.length; i++) {
    const c = payload.charCodeAt(i);
    if (c === 0x5f) out[n++] = 0x20;
    else if (c === 0x3d && isHex(payload, i + 1)) {
      out[n++] = parseInt(payload.slice(i + 1, i + 3), 16);
      i += 2;
    } else if (c > 0xff) return null;
    else out[n++] = c;
  }
  return out.subarray(0, n);
}

function isHex(s: string, i: number): boolean {
  return i + 1 < s.length && HEX_CHAR[s.charCodeAt(i)] === 1 && HEX_CHAR[s.charCodeAt(i + 1)] === 1;
}

const HEX_CHAR = new Uint8Array(128);
for (const c of "0123456789abcdefABCDEF") HEX_CHAR[c.charCodeAt(0)] = 1;

/** Bytes that may stand for themselves in a Q-encoded word anywhere (RFC 2047 §5 (3)). */
const Q_SAFE = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/") {
  Q_SAFE[c.charCodeAt(0)] = 1;
}
const HEX = "0123456789ABCDEF";
/** "=?UTF-8?Q?" + "?=": an encoded word may be 75 characters long (RFC 2047 §2). */
const MAX_PAYLOAD = 75 - 12;

/**
 * Encodes text as RFC 2047 encoded words in UTF-8, choosing Q for mostly
 * ASCII text and B when Q would be much longer, each word at most 75 characters and never splitting a
 * character, the words separated by single spaces (where a header folder may
 * break the line).
 *
 * @param text The text to encode.
 * @param options Whether to encode only what needs it or everything.
 * @returns Header-safe ASCII text.
 * @throws {TypeError} If the text contains CR, LF or NUL.
 *
 * @example Encoding only the words that need it
 * ```ts
 * import { decodeEncodedWords, encodeEncodedWords } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const subject = encodeEncodedWords("Report for Zoë, week 3");
 * assertEquals(subject, "Report for =?UTF-8?Q?Zo=C3=AB=2C?= week 3");
 * assertEquals(decodeEncodedWords(subject), "Report for Zoë, week 3");
 * assertEquals(encodeEncodedWords("plain"), "plain");
 * ```
 */
export function encodeEncodedWords(
  text: string,
  options?: EncodeEncodedWordsOptions,
): string {
  options ??= {};
  if (/[\r\n\0]/.test(text)) {
    throw new TypeError(
      `Cannot encode header text ${JSON.stringify(text)}: it contains CR, LF or NUL`,
    );
  }
  if (options.mode === "all") return text === "" ? "" : encodeAll(text);
  if (!needsEncoding(text)) return text;
  // Words and the white space between them; encode runs of words that need it.
  const parts = text.split(/([ \t]+)/);
  let out = "";
  let i = 0;
  while (i < parts.length) {
    const word = parts[i]!;
    if (!wordNeedsEncoding(word)) {
      out += word + (parts[i + 1] ?? "");
      i += 2;
      continue;
    }
    let j = i;
    while (j + 2 < parts.length && wordNeedsEncoding(parts[j + 2]!)) j += 2;
    out += encodeAll(parts.slice(i, j + 1).join("")) + (parts[j + 1] ?? "");
    i = j + 2;
  }
  return out;
}

function needsEncoding(text: string): boolean {
  if (NEEDS_ENCODING_REGEXP.test(text)) return true;
  if (text.length <= MAX_PLAIN_WORD) return false;
  return text.split(/[ \t]+/).some((w) => w.length > MAX_PLAIN_WORD);
}

function wordNeedsEncoding(word: string): boolean {
  return word.length > MAX_PLAIN_WORD || NEEDS_ENCODING_REGEXP.test(word);
}

function encodeAll(text: string): string {
  const bytes = encoder.encode(text);
  let qLength = 0;
  for (const b of bytes) qLength += Q_SAFE[b] === 1 || b === 0x20 ? 1 : 3;
  // Q keeps mostly-ASCII text readable; B wins once Q would be much longer.
  const useQ = qLength <= Math.ceil(bytes.length / 3) * 4 * 1.4;
  const words: string[] = [];
  let current: number[] = [];
  let currentLength = 0;
  for (const char of text) {
    const charBytes = encoder.encode(char);
    let cost: number;
    if (useQ) {
      cost = 0;
      for (const b of charBytes) cost += Q_SAFE[b] === 1 || b === 0x20 ? 1 : 3;
    } else cost = charBytes.length;
    const limit = useQ ? MAX_PAYLOAD : Math.floor(MAX_PAYLOAD / 4) * 3;
    if (currentLength + cost > limit && current.length > 0) {
      words.push(wordOf(current, useQ));
      current = [];
      currentLength = 0;
    }
    for (const b of charBytes) current.push(b);
    currentLength += cost;
  }
  if (current.length > 0) words.push(wordOf(current, useQ));
  return words.join(" ");
}

function wordOf(bytes: number[], useQ: boolean): string {
  if (!useQ) return `=?UTF-8?B?${new Uint8Array(bytes).toBase64()}?=`;
  let s = "=?UTF-8?Q?";
  for (const b of bytes) {
    if (b === 0x20) s += "_";
    else if (Q_SAFE[b] === 1) s += String.fromCharCode(b);
    else s += "=" + HEX[b >> 4] + HEX[b & 15];
  }
  return s + "?=";
}
