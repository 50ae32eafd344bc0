/**
 * MIME header values with parameters (`Content-Type`, `Content-Disposition`):
 * RFC 2045 §5.1 syntax, RFC 2231 continuations and charsets, and RFC 2047
 * encoded words in file names as many mailers send them.
 *
 * @module
 */
import { decoderFor } from "./_charset.ts";
import { decodeEncodedWords } from "./encoded_word.ts";
import { concatBytes } from "../net/_bytes.ts";

/** A header value split into its main value and its parameters. */
export interface MimeParameterValue {
  /** The value before the first `;`, lower-cased, comments and white space removed. */
  value: string;
  /**
   * The parameters by lower-cased name, decoded; an object without a
   * prototype, so a parameter named `__proto__` is a plain key. The first of
   * duplicated names wins.
   */
  params: Record<string, string>;
}

/** A parsed `Content-Type`. */
export interface ContentType {
  /** `type/subtype`, lower-cased, such as `"text/plain"`. */
  mediaType: string;
  /** The top-level type, such as `"text"`. */
  type: string;
  /** The subtype, such as `"plain"`. */
  subtype: string;
  /** The parameters, as in {@linkcode MimeParameterValue.params}. */
  params: Record<string, string>;
}

const TOKEN_REGEXP = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MEDIA_TYPE_REGEXP = /^[!#$%&'*+\-.^_`|~0-9a-z]+\/[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const SECTION_REGEXP = /^(.+?)\*(?:(0|[1-9]\d{0,3})(\*)?)?$/;
const MAX_PARAMS = 256;
const encoder = new TextEncoder();

/** Skips white space and comments from `i`. */
function skipCfws(s: string, i: number): number {
  for (;;) {
    while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === "\r" || s[i] === "\n")) i++;
    if (s[i] !== "(") return i;
    let depth = 0;
    while (i < s.length) {
      const c = s[i]!;
      if (c === "\\") i++;
      else if (c === "(") depth++;
      else if (c === ")" && --depth === 0) {
        i++;
        break;
      }
      i++;
    }
  }
}

interface RawParam {
  name: string;
  value: string;
  quoted: boolean;
}

/**
 * Parses a MIME header value with parameters, leniently as mail requires
 * (unquoted values with odd characters, missing quotes at the end, comments),
 * and decodes RFC 2231 continuations (`name*0*=`, `name*1=`) and charsets
 * (`utf-8''%E2%82%AC`), and RFC 2047 encoded words in quoted `name` and
 * `filename` values. An RFC 2231 form wins over a plain one of the same name.
 *
 * @param value The unfolded header value.
 * @returns The main value and the parameters.
 *
 * @example Decoding an RFC 2231 file name
 * ```ts
 * import { parseMimeParameters } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const { value, params } = parseMimeParameters(
 *   "attachment; filename*0*=UTF-8''%E2%82%AC%20rates; filename*1=\".txt\"",
 * );
 * assertEquals(value, "attachment");
 * assertEquals(params.filename, "€ rates.txt");
 * ```
 */
export function parseMimeParameters(value: string): MimeParameterValue {
  let i = skipCfws(value, 0);
  let main = "";
  while (i < value.length && value[i] !== ";") {
    if (value[i] === "(") {
      i = skipCfws(value, i);
      continue;
    }
    if (value[i] !== " " && value[i] !== "\t") main += value[i];
    i++;
  }
  const raw: RawParam[] = [];
  while (i < value.length && raw.length < MAX_PARAMS) {
    i++; // ";"
    i = skipCfws(value, i);
    let name = "";
    while (i < value.length && value[i] !== "=" && value[i] !== ";") name += value[i++];
    name = name.trim().toLowerCase();
    if (value[i] !== "=") continue; // a parameter without a value is dropped
    i = skipCfws(value, i + 1);
    let v = "";
    let quoted = false;
    if (value[i] === '"') {
      quoted = true;
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === "\\" && i + 1 < value.length) i++;
        v += value[i++];
      }
      i++; // closing quote
      while (i < value.length && value[i] !== ";") i++; // anything after it is dropped
    } else {
      while (i < value.length && value[i] !== ";") v += value[i++];
      v = v.trim();
      // A trailing comment after a token value.
      const comment = v.indexOf("(");
      if (comment > 0 && !v.includes('"')) v = v.slice(0, comment).trim();
    }
    if (name !== "") raw.push({ name, value: v, quoted });
  }
  return { value: main.toLowerCase(), params: assemble(raw) };
}

function assemble(raw: RawParam[]): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  const sections = new Map<string, Map<number, { value: string; encoded: boolean }>>();
  for (const p of raw) {
    const m = SECTION_REGEXP.exec(p.name);
    if (m === null) {
      if (!(p.name in params)) {
        params[p.name] = p.quoted && (p.name === "name" || p.name === "filename")
          ? decodeEncodedWords(p.value)
          : p.value;
      }
      continue;
    }
    const base = m[1]!;
    const index = m[2] === undefined ? 0 : Number(m[2]);
    // "name*" (no index) is one encoded section; "name*N*" encoded; "name*N" plain.
    const encoded = m[2] === undefined || m[3] === "*";
    let map = sections.get(base);
    if (map === undefined) sections.set(base, map = new Map());
    if (!map.has(index)) map.set(index, { value: p.value, encoded });
  }
  for (const [base, map] of sections) {
    let charset = "";
    const chunks: Uint8Array[] = [];
    for (let index = 0; map.has(index); index++) {
      const section = map.get(index)!;
      let text = section.value;
      if (section.encoded) {
        if (index === 0) {
          const first = text.indexOf("'");
          const second = first < 0 ? -1 : text.indexOf("'", first + 1);
          if (second >= 0) {
            charset = text.slice(0, first);
            text = text.slice(second + 1);
          }
        }
        chunks.push(percentDecode(text));
      } else chunks.push(encoder.encode(text));
    }
    if (chunks.length === 0) continue;
    const bytes = concatBytes(chunks);
    const decoder = decoderFor(charset === "" ? "utf-8" : charset) ?? decoderFor("utf-8")!;
    params[base] = decoder.decode(bytes);
  }
  return params;
}

function percentDecode(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 3);
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 37 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[o++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else if (c < 128) out[o++] = c;
    else {
      const bytes = encoder.encode(text[i]!);
      out.set(bytes, o);
      o += bytes.length;
    }
  }
  return out.subarray(0, o);
}

/**
 * Parses a `Content-Type` value. A missing or malformed value gives the
 * RFC 2045 §5.2 default, `text/plain; charset=us-ascii`.
 *
 * @param value The header value, or `null` when the field is absent.
 * @returns The media type and its parameters.
 *
 * @example Reading the boundary of a multipart type
 * ```ts
 * import { parseContentType } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const type = parseContentType('Multipart/Mixed; boundary="=_b 1"');
 * assertEquals(type.mediaType, "multipart/mixed");
 * assertEquals(type.type, "multipart");
 * assertEquals(type.params.boundary, "=_b 1");
 * assertEquals(parseContentType(null).params.charset, "us-ascii");
 * ```
 */
export function parseContentType(value: string | null): ContentType {
  if (value !== null) {
    const parsed = parseMimeParameters(value);
    if (MEDIA_TYPE_REGEXP.test(parsed.value)) {
      const slash = parsed.value.indexOf("/");
      return {
        mediaType: parsed.value,
        type: parsed.value.slice(0, slash),
        subtype: parsed.value.slice(slash + 1),
        params: parsed.params,
      };
    }
  }
  const params: Record<string, string> = Object.create(null);
  params.charset = "us-ascii";
  return { mediaType: "text/plain", type: "text", subtype: "plain", params };
}

/** The longest parameter section before RFC 2231 continuations are used. */
const MAX_SECTION = 60;

/**
 * Formats a header value with parameters. Values that are tokens stay bare,
 * other ASCII values are quoted, and non-ASCII or very long values use
 * RFC 2231 (`filename*=UTF-8''%E2%82%AC.txt`, split into `name*0*`,
 * `name*1*` sections), so the field can be folded under 78 characters.
 *
 * @param value The main value, such as `"text/plain"`.
 * @param params The parameters, in order.
 * @returns The header value, parameters separated by `"; "`.
 * @throws {TypeError} If the value or a parameter name is not a token, or a
 *   parameter value contains CR, LF or NUL.
 *
 * @example Formatting a disposition with a non-ASCII file name
 * ```ts
 * import { formatMimeParameters } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   formatMimeParameters("attachment", { filename: "€ rates.txt" }),
 *   "attachment; filename*=UTF-8''%E2%82%AC%20rates.txt",
 * );
 * assertEquals(formatMimeParameters("text/plain", { charset: "utf-8" }), "text/plain; charset=utf-8");
 * ```
 */
export function formatMimeParameters(
  value: string,
  params?: Record<string, string> | Iterable<[string, string]>,
): string {
  params ??= {};
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:\/[!#$%&'*+\-.^_`|~0-9A-Za-z]+)?$/.test(value)) {
    throw new TypeError(`Cannot format header value ${JSON.stringify(value)}: not a token`);
  }
  const entries = Symbol.iterator in params
    ? [...params as Iterable<[string, string]>]
    : Object.entries(params);
  let out = value;
  for (const [name, v] of entries) {
    if (!TOKEN_REGEXP.test(name) || name.includes("*")) {
      throw new TypeError(`Cannot format parameter name ${JSON.stringify(name)}: not a token`);
    }
    if (/[\r\n\0]/.test(v)) {
      throw new TypeError(
        `Cannot format parameter ${name} ${JSON.stringify(v)}: it contains CR, LF or NUL`,
      );
    }
    out += "; " + formatParam(name, v);
  }
  return out;
}

function formatParam(name: string, value: string): string {
  if (TOKEN_REGEXP.test(value) && value.length <= MAX_SECTION) return `${name}=${value}`;
  if (/^[\x20-\x7e]*$/.test(value) && value.length <= MAX_SECTION) {
    return `${name}="${value.replace(/[\\"]/g, "\\$&")}"`;
  }
  // RFC 2231: percent-encode UTF-8, split between escapes into sections.
  // Each section, written as ` name*N*=...;`, fits a folded line of 78.
  const pieces: string[] = [];
  let current = "";
  const room = (): number =>
    Math.max(
      12,
      78 - name.length - 8 - (pieces.length === 0 ? 7 : 0) - String(pieces.length).length,
    );
  // Sections break between characters, never inside a UTF-8 sequence.
  for (const char of value) {
    let piece = "";
    for (const b of encoder.encode(char)) {
      piece += isAttrChar(b)
        ? String.fromCharCode(b)
        : "%" + b.toString(16).toUpperCase().padStart(2, "0");
    }
    if (current.length + piece.length > room() && current !== "") {
      pieces.push(current);
      current = "";
    }
    current += piece;
  }
  pieces.push(current);
  if (pieces.length === 1) return `${name}*=UTF-8''${pieces[0]}`;
  return pieces.map((p, k) => `${name}*${k}*=${k === 0 ? "UTF-8''" : ""}${p}`).join("; ");
}

/** attribute-char of RFC 2231 §7: a token character but `*`, `'` and `%`. */
function isAttrChar(b: number): boolean {
  if (b <= 32 || b >= 127) return false;
  return !"*'%()<>@,;:\\\"/[]?={}".includes(String.fromCharCode(b));
}
