import type { BufferedReader } from "./buffered_reader.ts";
import { mediaTypeFor } from "./_mime_types.ts";
import { menuTooLarge, readMenuLine } from "./_gopher_lines.ts";

export { type GopherTextOptions, readGopherText } from "./_gopher_text.ts";
export type { GopherItem } from "./_gopher_types.ts";
import type { GopherItem } from "./_gopher_types.ts";
export { type Gophermap, type GophermapOptions, parseGophermap } from "./_gopher_gophermap.ts";

const CR = 13;
const LF = 10;
const DOT = 46;

/**
 * The Gopher item types by name: RFC 1436 §3.8 (`0`-`9`, `+`, `T`, `g`,
 * `I`), and the types later servers and clients agree on (`h`, `i`, `s`,
 * `d`, `p`, `;`, `c`, `M`, and Gopher+'s `:` and `<`).
 *
 * @example
 * ```ts
 * import { GOPHER_ITEM_TYPE } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(GOPHER_ITEM_TYPE.MENU, "1");
 * assertEquals(GOPHER_ITEM_TYPE.INFO, "i");
 * ```
 */
export const GOPHER_ITEM_TYPE = {
  /** `0`: a text file, dot-terminated. */
  TEXT: "0",
  /** `1`: a menu (directory). */
  MENU: "1",
  /** `2`: a CSO phone-book server. */
  CSO: "2",
  /** `3`: an error; the display string is the message. */
  ERROR: "3",
  /** `4`: a BinHex-encoded Macintosh file. */
  BINHEX: "4",
  /** `5`: a DOS binary or archive file. */
  DOS: "5",
  /** `6`: a uuencoded file. */
  UUENCODED: "6",
  /** `7`: a full-text index search; the query follows a TAB. */
  SEARCH: "7",
  /** `8`: a Telnet session; the selector is the user name to log in as. */
  TELNET: "8",
  /** `9`: a binary file, read until the server closes. */
  BINARY: "9",
  /** `+`: a redundant server, a mirror of the previous item. */
  MIRROR: "+",
  /** `g`: a GIF image. */
  GIF: "g",
  /** `I`: an image other than GIF. */
  IMAGE: "I",
  /** `T`: a tn3270 session. */
  TN3270: "T",
  /** `h`: an HTML file; a `URL:` selector points outside Gopher. */
  HTML: "h",
  /** `i`: an informational line, no link; host and port are placeholders. */
  INFO: "i",
  /** `s`: a sound file. */
  SOUND: "s",
  /** `d`: a document (PDF, PostScript, word processor). */
  DOCUMENT: "d",
  /** `p`: a PNG image. */
  PNG: "p",
  /** `;`: a video file. */
  VIDEO: ";",
  /** `c`: a calendar file. */
  CALENDAR: "c",
  /** `M`: a MIME message or mailbox. */
  MIME: "M",
  /** `:`: a bitmap image (Gopher+). */
  BITMAP: ":",
  /** `<`: a sound file (Gopher+). */
  PLUS_SOUND: "<",
} as const;

/**
 * What each well-known item type character means, for display.
 *
 * @example
 * ```ts
 * import { GOPHER_ITEM_TYPE_NAMES } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(GOPHER_ITEM_TYPE_NAMES["7"], "search");
 * assertEquals(GOPHER_ITEM_TYPE_NAMES["x"], undefined);
 * ```
 */
export const GOPHER_ITEM_TYPE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  "0": "text",
  "1": "menu",
  "2": "CSO phone book",
  "3": "error",
  "4": "BinHex file",
  "5": "DOS binary",
  "6": "uuencoded file",
  "7": "search",
  "8": "telnet session",
  "9": "binary file",
  "+": "mirror",
  "g": "GIF image",
  "I": "image",
  "T": "tn3270 session",
  "h": "HTML",
  "i": "info",
  "s": "sound",
  "d": "document",
  "p": "PNG image",
  ";": "video",
  "c": "calendar",
  "M": "MIME message",
  ":": "bitmap image",
  "<": "sound",
});

/** A parsed menu. */
export interface GopherMenu {
  /** The items in order. */
  items: GopherItem[];
  /**
   * How many lines were not items: too few fields, a bad port, an empty host
   * on a link, a NUL, an empty line, or a line over `maxLineLength`.
   */
  skipped: number;
  /** Whether the menu ended with the `.` line (otherwise the data just stopped). */
  terminated: boolean;
}

/** Options for {@linkcode parseGopherMenu} and {@linkcode readGopherMenu}. */
export interface GopherMenuOptions {
  /**
   * The most bytes the menu may take, line ends and the `.` line included.
   * More throws a `ProtocolError` with code `"MENU_TOO_LARGE"`.
   *
   * @default {4194304}
   */
  maxMenuSize?: number;
  /**
   * The longest line in bytes; longer lines are skipped (and counted), never
   * buffered whole.
   *
   * @default {8192}
   */
  maxLineLength?: number;
}

const PORT_REGEXP = /^ *([0-9]{1,5}) *$/;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

function limits(options: GopherMenuOptions): { maxMenuSize: number; maxLineLength: number } {
  const maxMenuSize = options.maxMenuSize ?? 4 * 1024 * 1024;
  const maxLineLength = options.maxLineLength ?? 8192;
  for (const [name, value] of [["maxMenuSize", maxMenuSize], ["maxLineLength", maxLineLength]]) {
    if (!(Number.isSafeInteger(value) && (value as number) > 0) && value !== Infinity) {
      throw new RangeError(`Cannot read gopher menu: ${name} ${value} is not a positive integer`);
    }
  }
  return { maxMenuSize, maxLineLength };
}

/**
 * Parses one menu line: `type display TAB selector TAB host TAB port`, with
 * an optional fifth field (`+` or `?` marks a Gopher+ item; anything after is
 * ignored). A trailing CR is dropped.
 *
 * Info (`i`) and error (`3`) lines have placeholder hosts and ports, so for
 * them the host may be empty and a port that is not a number becomes 0. For
 * every other type a line is rejected when it has fewer than four fields, an
 * empty type or host, or a port that is not 1 to 65535 in plain digits
 * (spaces around it are allowed). A line holding a NUL, CR or LF is rejected
 * too, as is the `.` terminator line.
 *
 * Display strings are returned as sent: strip terminal control characters
 * before printing them.
 *
 * @param line The line without its line end.
 * @returns The item, or `null` when the line is not a valid item.
 *
 * @example Parsing the lines of a gophernicus menu
 * ```ts
 * import { parseGopherMenuLine } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseGopherMenuLine("1Documents\t/docs\t127.0.0.1\t7070"), {
 *   type: "1",
 *   display: "Documents",
 *   selector: "/docs",
 *   host: "127.0.0.1",
 *   port: 7070,
 *   plus: false,
 *   raw: "1Documents\t/docs\t127.0.0.1\t7070",
 * });
 * assertEquals(parseGopherMenuLine("iWelcome\tfake\t(NULL)\t0")?.display, "Welcome");
 * assertEquals(parseGopherMenuLine("1Broken\t/docs\thost\tseventy"), null);
 * assertEquals(parseGopherMenuLine("Error: not a menu line"), null);
 * ```
 */
export function parseGopherMenuLine(line: string): GopherItem | null {
  const text = line.endsWith("\r") ? line.slice(0, -1) : line;
  if (text.length === 0 || text === "." || /[\0\r\n]/.test(text)) return null;
  const fields = text.split("\t");
  if (fields.length < 4) return null;
  const first = fields[0]!;
  const code = first.codePointAt(0);
  if (code === undefined) return null;
  const type = String.fromCodePoint(code);
  const display = first.slice(type.length);
  const selector = fields[1]!;
  const host = fields[2]!.trim();
  const match = PORT_REGEXP.exec(fields[3]!);
  const number = match === null ? -1 : Number(match[1]);
  const placeholder = type === "i" || type === "3";
  let port: number;
  if (number >= 0 && number <= 65535) port = number;
  else if (placeholder) port = 0;
  else return null;
  if (!placeholder && (port === 0 || host.length === 0)) return null;
  const extra = fields[4]?.trim();
  return {
    type,
    display,
    selector,
    host,
    port,
    plus: extra === "+" || extra === "?",
    raw: text,
  };
}

/** Collects the items of a menu line by line. */
class MenuBuilder {
  items: GopherItem[] = [];
  skipped = 0;
  terminated = false;

  /** Takes one line (`null`: too long); returns true at the `.` line. */
  add(line: Uint8Array | null): boolean {
    if (line === null) {
      this.skipped++;
      return false;
    }
    if (line.length === 1 && line[0] === DOT) {
      this.terminated = true;
      return true;
    }
    const item = parseGopherMenuLine(decoder.decode(line));
    if (item === null) this.skipped++;
    else this.items.push(item);
    return false;
  }

  menu(): GopherMenu {
    return { items: this.items, skipped: this.skipped, terminated: this.terminated };
  }
}

/**
 * Parses a whole menu (RFC 1436 §3.8): lines end with CR LF or LF, the menu
 * ends at the line holding only `.` (anything after it is ignored), and lines
 * that are not valid items are skipped and counted (see
 * {@linkcode parseGopherMenuLine}). Bytes are decoded as UTF-8, invalid
 * sequences as U+FFFD.
 *
 * @param input The menu as received, text or bytes.
 * @param options The menu size and line length limits.
 * @returns The items, the number of skipped lines, and whether the `.` line
 *   was there.
 * @throws {ProtocolError} `"MENU_TOO_LARGE"` when the menu is over
 *   `maxMenuSize` bytes.
 * @throws {RangeError} If a limit is not a positive integer.
 *
 * @example Parsing the root menu gophernicus sends
 * ```ts
 * import { parseGopherMenu } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const menu = parseGopherMenu(
 *   "iWelcome.\tfake\t(NULL)\t0\r\n" +
 *     "0About this server\t/about.txt\t127.0.0.1\t7070\r\n" +
 *     "not an item\r\n" +
 *     ".\r\n",
 * );
 * assertEquals(menu.items.map((item) => [item.type, item.selector]), [["i", "fake"], ["0", "/about.txt"]]);
 * assertEquals(menu.skipped, 1);
 * assertEquals(menu.terminated, true);
 * ```
 */
export function parseGopherMenu(
  input: string | Uint8Array,
  options?: GopherMenuOptions,
): GopherMenu {
  options ??= {};
  const { maxMenuSize, maxLineLength } = limits(options);
  const bytes = typeof input === "string" ? encoder.encode(input) : input;
  const builder = new MenuBuilder();
  let start = 0;
  while (start < bytes.length) {
    let lf = bytes.indexOf(LF, start);
    const last = lf < 0;
    if (last) lf = bytes.length;
    const next = last ? lf : lf + 1;
    if (next > maxMenuSize) throw menuTooLarge(maxMenuSize);
    const end = lf > start && bytes[lf - 1] === CR ? lf - 1 : lf;
    const line = end - start > maxLineLength ? null : bytes.subarray(start, end);
    start = next;
    if (builder.add(line)) break;
  }
  return builder.menu();
}

/**
 * Reads a menu from a buffered reader, line by line, with the same rules as
 * {@linkcode parseGopherMenu}. It stops after the `.` line, leaving the
 * reader just after it, or at the end of the stream (`terminated: false`).
 * Over-long lines are skipped without being buffered.
 *
 * @param reader The reader positioned at the first line of the menu.
 * @param options The menu size and line length limits.
 * @returns The items, the number of skipped lines, and whether the `.` line
 *   was there.
 * @throws {ProtocolError} `"MENU_TOO_LARGE"` when the menu is over
 *   `maxMenuSize` bytes.
 * @throws {RangeError} If a limit is not a positive integer.
 *
 * @example Reading a menu in small chunks
 * ```ts
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { readGopherMenu } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = new TextEncoder().encode("1Docs\t/docs\tlocalhost\t70\r\n.\r\n");
 * const chunks = [wire.subarray(0, 5), wire.subarray(5, 20), wire.subarray(20)];
 * const menu = await readGopherMenu(new BufferedReader(ReadableStream.from(chunks)));
 * assertEquals(menu.items[0]?.selector, "/docs");
 * assertEquals(menu.terminated, true);
 * ```
 */
export async function readGopherMenu(
  reader: BufferedReader,
  options?: GopherMenuOptions,
): Promise<GopherMenu> {
  options ??= {};
  const { maxMenuSize, maxLineLength } = limits(options);
  const builder = new MenuBuilder();
  let size = 0;
  for (;;) {
    const next = await readMenuLine(reader, maxLineLength, maxMenuSize - size, maxMenuSize);
    if (next === null) break;
    size += next.size;
    if (builder.add(next.line)) break;
  }
  return builder.menu();
}

function checkField(value: unknown, name: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot format gopher menu item: ${name} is not a string`);
  }
  const bad = /[\t\r\n\0]/.exec(value);
  if (bad !== null) {
    const what = { "\t": "a TAB", "\r": "a CR", "\n": "an LF", "\0": "a NUL" }[bad[0]];
    throw new TypeError(
      `Cannot format gopher menu item: ${name} ${JSON.stringify(value)} contains ${what}`,
    );
  }
  return value;
}

/**
 * Formats one menu line for a server: `type display TAB selector TAB host
 * TAB port CR LF`, plus `TAB +` when `plus` is set. Fields holding a TAB,
 * CR, LF or NUL are refused, so no field can start a line of its own.
 *
 * @param item The item; `raw` is ignored.
 * @returns The line, CR LF included.
 * @throws {TypeError} If the type is not one character, or a field is not a
 *   string or holds a TAB, CR, LF or NUL.
 * @throws {RangeError} If the port is not an integer from 0 to 65535.
 *
 * @example
 * ```ts
 * import { formatGopherMenuItem } from "@inetkit/inetkit/net";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(
 *   formatGopherMenuItem({ type: "0", display: "Hello", selector: "/hello.txt", host: "localhost", port: 70 }),
 *   "0Hello\t/hello.txt\tlocalhost\t70\r\n",
 * );
 * assertThrows(
 *   () => formatGopherMenuItem({ type: "0", display: "x", selector: "/a\r\n1evil", host: "h", port: 70 }),
 *   TypeError,
 * );
 * ```
 */
export function formatGopherMenuItem(item: GopherItem): string {
  const type = checkField(item.type, "type");
  if ([...type].length !== 1) {
    throw new TypeError(
      `Cannot format gopher menu item: type ${JSON.stringify(type)} is not one character`,
    );
  }
  const display = checkField(item.display, "display");
  const selector = checkField(item.selector, "selector");
  const host = checkField(item.host, "host");
  if (!Number.isInteger(item.port) || item.port < 0 || item.port > 65535) {
    throw new RangeError(
      `Cannot format gopher menu item: port ${item.port} is not from 0 to 65535`,
    );
  }
  return `${type}${display}\t${selector}\t${host}\t${item.port}${item.plus ? "\t+" : ""}\r\n`;
}

/**
 * Formats a whole menu for a server: each item's line, then the `.` line.
 *
 * @param items The items in order.
 * @returns The menu text, ending with `.` CR LF.
 * @throws {TypeError} As {@linkcode formatGopherMenuItem} does.
 * @throws {RangeError} As {@linkcode formatGopherMenuItem} does.
 *
 * @example
 * ```ts
 * import { formatGopherMenu, gopherInfoItem } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   formatGopherMenu([gopherInfoItem("Hi"), { type: "1", display: "Up", selector: "/", host: "h", port: 70 }]),
 *   "iHi\t\tnull.host\t1\r\n1Up\t/\th\t70\r\n.\r\n",
 * );
 * ```
 */
export function formatGopherMenu(items: Iterable<GopherItem>): string {
  let out = "";
  for (const item of items) out += formatGopherMenuItem(item);
  return out + ".\r\n";
}

/**
 * An info (`i`) item showing `text`, with the placeholder fields gophernicus
 * uses: an empty selector, host `null.host`, port 1.
 *
 * @param text The text to show; it must not hold TAB, CR, LF or NUL when
 *   formatted.
 * @returns The item.
 *
 * @example
 * ```ts
 * import { formatGopherMenuItem, gopherInfoItem } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatGopherMenuItem(gopherInfoItem("Welcome")), "iWelcome\t\tnull.host\t1\r\n");
 * ```
 */
export function gopherInfoItem(text: string): GopherItem {
  return { type: "i", display: text, selector: "", host: "null.host", port: 1 };
}

const TEXT_NAMES = new Set([
  "readme",
  "license",
  "licence",
  "copying",
  "authors",
  "changelog",
  "changes",
  "news",
  "todo",
  "install",
  "makefile",
  "gophermap",
]);
const TEXT_APPLICATION_TYPES = new Set([
  "application/json",
  "application/ld+json",
  "application/manifest+json",
  "application/xml",
  "application/rss+xml",
  "application/atom+xml",
  "application/toml",
  "application/x-sh",
  "application/x-pem-file",
]);
const DOCUMENT_TYPES = new Set([
  "application/pdf",
  "application/rtf",
  "application/msword",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.oasis.opendocument.text",
  "application/epub+zip",
]);
const ARCHIVE_TYPES = new Set([
  "application/zip",
  "application/gzip",
  "application/x-bzip2",
  "application/x-xz",
  "application/zstd",
  "application/x-tar",
  "application/x-7z-compressed",
  "application/vnd.rar",
]);
const EXTRA_TYPES: Record<string, string> = {
  hqx: "4",
  uu: "6",
  uue: "6",
  ps: "d",
  eml: "M",
  mbox: "M",
  arj: "5",
  lzh: "5",
  lha: "5",
};

/**
 * Guesses the item type of a file for a server's directory listing, from its
 * name (the extension, case-insensitive, through the shared media type
 * table): text, source code, JSON and XML are `0`, HTML `h`, GIF `g`, PNG
 * `p`, other images `I`, sound `s`, video `;`, calendars `c`, PDF and word
 * processor documents `d`, archives `5`, BinHex `4`, uuencoded `6`, mail
 * `M`, and anything else `9`. Extension-less names like `README`, `LICENSE`
 * or `Makefile` are text. Directories are the caller's business (`1`).
 *
 * @param name The file name, or a path (only the last segment counts).
 * @returns One item type character.
 *
 * @example
 * ```ts
 * import { gopherTypeForFile } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(gopherTypeForFile("notes.TXT"), "0");
 * assertEquals(gopherTypeForFile("index.html"), "h");
 * assertEquals(gopherTypeForFile("cat.gif"), "g");
 * assertEquals(gopherTypeForFile("photo.jpeg"), "I");
 * assertEquals(gopherTypeForFile("program.exe"), "9");
 * ```
 */
export function gopherTypeForFile(name: string): string {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const lower = base.toLowerCase();
  if (TEXT_NAMES.has(lower)) return "0";
  const dot = lower.lastIndexOf(".");
  const ext = dot > 0 ? lower.slice(dot + 1) : "";
  if (ext === "") return "9";
  if (Object.hasOwn(EXTRA_TYPES, ext)) return EXTRA_TYPES[ext]!;
  const media = mediaTypeFor(lower);
  if (media === undefined) return "9";
  if (media === "text/html" || media === "application/xhtml+xml") return "h";
  if (media === "image/gif") return "g";
  if (media === "image/png") return "p";
  if (media.startsWith("image/")) return "I";
  if (media === "text/calendar") return "c";
  if (media.startsWith("text/") || TEXT_APPLICATION_TYPES.has(media)) return "0";
  if (media.startsWith("audio/")) return "s";
  if (media.startsWith("video/")) return ";";
  if (DOCUMENT_TYPES.has(media)) return "d";
  if (ARCHIVE_TYPES.has(media)) return "5";
  return "9";
}

/** Options for {@linkcode assertGopherSelector}. */
export interface GopherSelectorOptions {
  /**
   * The most UTF-8 bytes the selector may have. RFC 1436 suggests 255;
   * servers accept more.
   *
   * @default {1024}
   */
  maxLength?: number;
}

/**
 * Checks a selector (or a search string) before it is sent or served: a CR,
 * LF, TAB or NUL in it would end the request line early or smuggle a second
 * field, so they are refused, and so is a selector over the length cap.
 *
 * @param selector The selector.
 * @param options The length cap.
 * @throws {TypeError} If the selector is not a string or holds a CR, LF, TAB
 *   or NUL.
 * @throws {RangeError} If it is longer than `maxLength` bytes.
 *
 * @example
 * ```ts
 * import { assertGopherSelector } from "@inetkit/inetkit/net";
 * import { assertThrows } from "@std/assert";
 *
 * assertGopherSelector("/docs/hello.txt");
 * assertThrows(() => assertGopherSelector("/docs\r\n/etc/passwd"), TypeError, "CR");
 * assertThrows(() => assertGopherSelector("x".repeat(2000)), RangeError, "1024");
 * ```
 */
export function assertGopherSelector(selector: string, options?: GopherSelectorOptions): void {
  options ??= {};
  if (typeof selector !== "string") {
    throw new TypeError("Cannot use gopher selector: it is not a string");
  }
  const bad = /[\r\n\t\0]/.exec(selector);
  if (bad !== null) {
    const what = { "\r": "a CR", "\n": "an LF", "\t": "a TAB", "\0": "a NUL" }[bad[0]];
    throw new TypeError(
      `Cannot use gopher selector ${JSON.stringify(selector)}: it contains ${what}`,
    );
  }
  const maxLength = options.maxLength ?? 1024;
  const length = encoder.encode(selector).length;
  if (length > maxLength) {
    throw new RangeError(
      `Cannot use gopher selector: it is ${length} bytes, more than ${maxLength}`,
    );
  }
}
