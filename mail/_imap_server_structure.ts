/**
 * The MIME structure of stored messages as the IMAP server needs it: one
 * streaming pass over a message's bytes finds every part's header and body
 * with their octet offsets and line counts (RFC 3501 §6.4.5 sections,
 * §7.4.2 BODYSTRUCTURE), keeping only the header fields and never the
 * bodies, so a 200 MiB message costs one read and a few kilobytes. A
 * header-only pass stops at the first blank line. Results are cached per
 * message (messages never change under a UID).
 *
 * @module
 */
import type { MailboxView } from "./mail_store.ts";
import { binaryBytes, bytesBinary, readChunks, readSmall } from "./_imap_server_output.ts";

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
const SP = 0x20;
const TAB = 0x09;

/** The most octets of one header block kept for parsing. */
export const MAX_HEADER = 65536;
/** The most octets of one line kept while scanning (longer lines are only counted). */
const MAX_LINE = MAX_HEADER;
const MAX_DEPTH = 32;
const MAX_PARTS = 5000;
/** Fields of a part's header that BODYSTRUCTURE and ENVELOPE need. */
const KEPT_FIELDS = new Set([
  "content-type",
  "content-transfer-encoding",
  "content-id",
  "content-description",
  "content-md5",
  "content-disposition",
  "content-language",
  "content-location",
  "date",
  "subject",
  "from",
  "sender",
  "reply-to",
  "to",
  "cc",
  "bcc",
  "in-reply-to",
  "message-id",
]);

/** A header field: the name as written and the unfolded value (binary strings). */
export type HeaderFieldPair = [name: string, value: string];

/** One MIME entity of a stored message, with octet offsets into the message. */
export interface ImapPartNode {
  /** Where the entity's header starts. */
  headerStart: number;
  /** Where its body starts (the header is `[headerStart, bodyStart)`, blank line included). */
  bodyStart: number;
  /** Where its body ends. */
  end: number;
  /** LF count of the body. */
  lines: number;
  /** The fields that matter for BODYSTRUCTURE and ENVELOPE. */
  fields: HeaderFieldPair[];
  /** Lower-cased media type and subtype. */
  type: string;
  subtype: string;
  /** The Content-Type parameters, raw (binary strings), or null without any. */
  params: HeaderFieldPair[] | null;
  /** Whether this is a multipart with a boundary (its parts are `children`). */
  multipart: boolean;
  /** The parts of a multipart. */
  children: ImapPartNode[];
  /** Whether this is `message/rfc822` or `message/global`. */
  isMessage: boolean;
  /** The enclosed message of a `message/rfc822` part, or null. */
  message: ImapPartNode | null;
}

/** What the server knows of one stored message beyond the store's info. */
export interface ImapMessageData {
  /** The whole header of the message (binary string), or null when longer than {@linkcode MAX_HEADER}. */
  header: string | null;
  /** The header's length in octets, blank line included. */
  headerLength: number;
  /** The message's header fields (those kept). */
  fields: HeaderFieldPair[];
  /** The full structure, or null after a header-only pass. */
  structure: ImapPartNode | null;
  /** {@linkcode ImapMessageData.header} as octets, made when first sent. */
  headerBytes?: Uint8Array;
}

/** Unfolds a header block (binary string) into fields, stopping at the blank line. */
export function parseHeaderFields(header: string, keep?: Set<string>): HeaderFieldPair[] {
  const out: HeaderFieldPair[] = [];
  let current: HeaderFieldPair | null = null;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf("\n", start);
    if (end === -1) end = header.length;
    let line = header.slice(start, end);
    start = end + 1;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line === "") break;
    const first = line.charCodeAt(0);
    if (first === SP || first === TAB) {
      if (current !== null) current[1] += line;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      current = null;
      continue;
    }
    const name = line.slice(0, colon).trimEnd();
    if (keep !== undefined && !keep.has(name.toLowerCase())) {
      current = ["", ""];
      continue;
    }
    current = [name, line.slice(colon + 1)];
    out.push(current);
  }
  for (const field of out) field[1] = field[1].replace(/^[ \t]+|[ \t\r]+$/g, "");
  return out;
}

/** The value of the first field with this (lower-case) name, or null. */
export function fieldValue(fields: readonly HeaderFieldPair[], name: string): string | null {
  for (const [n, v] of fields) if (n.length === name.length && n.toLowerCase() === name) return v;
  return null;
}

/**
 * Splits a MIME value with parameters (`text/plain; charset="x"`) into its
 * main value (lower-cased) and raw parameters (names as written, values
 * unquoted), leniently.
 */
export function parseParams(value: string): { main: string; params: HeaderFieldPair[] } {
  let i = 0;
  let main = "";
  const n = value.length;
  const skipComment = () => {
    let depth = 0;
    while (i < n) {
      const c = value[i]!;
      if (c === "\\") i++;
      else if (c === "(") depth++;
      else if (c === ")" && --depth === 0) {
        i++;
        return;
      }
      i++;
    }
  };
  while (i < n && value[i] !== ";") {
    if (value[i] === "(") skipComment();
    else {
      if (value[i] !== " " && value[i] !== "\t") main += value[i];
      i++;
    }
  }
  const params: HeaderFieldPair[] = [];
  while (i < n && params.length < 256) {
    i++; // ";"
    while (i < n && (value[i] === " " || value[i] === "\t")) i++;
    let name = "";
    while (i < n && value[i] !== "=" && value[i] !== ";") name += value[i++];
    name = name.trim();
    if (value[i] !== "=" || name === "") continue;
    i++;
    while (i < n && (value[i] === " " || value[i] === "\t")) i++;
    let v = "";
    if (value[i] === '"') {
      i++;
      while (i < n && value[i] !== '"') {
        if (value[i] === "\\" && i + 1 < n) i++;
        v += value[i++];
      }
      i++;
      while (i < n && value[i] !== ";") i++;
    } else {
      while (i < n && value[i] !== ";") v += value[i++];
      v = v.trim();
    }
    params.push([name, v]);
  }
  return { main: main.toLowerCase(), params };
}

function newNode(headerStart: number, type: string, subtype: string): ImapPartNode {
  return {
    headerStart,
    bodyStart: headerStart,
    end: headerStart,
    lines: 0,
    fields: [],
    type,
    subtype,
    params: null,
    multipart: false,
    children: [],
    isMessage: false,
    message: null,
  };
}

const HEADER = 0;
const BODY = 1;
const PREAMBLE = 2;
const PARTS = 3;
const EPILOGUE = 4;

interface Frame {
  node: ImapPartNode;
  mode: number;
  isPart: boolean;
  depth: number;
  /** `--boundary` as octets, for a multipart. */
  boundary: Uint8Array | null;
  /** LFs before the body start. */
  bodyLf: number;
  /** The header lines kept so far (binary strings) and their length. */
  header: string[];
  headerKept: number;
  headerComplete: boolean;
  sawLine: boolean;
}

const FIELD_LINE_REGEXP = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/;

/**
 * Scans a message's octets line by line and builds its part tree. Feed it
 * the chunks in order, then call `finish()`.
 */
export class StructureScanner {
  readonly root: ImapPartNode;
  /** The root header (binary string) when complete, else null. */
  rootHeader: string | null = null;
  /** Whether the root header has ended (all a header-only pass needs). */
  rootHeaderDone = false;
  #stack: Frame[];
  #offset = 0;
  #lf = 0;
  #lineStart = 0;
  #carry: Uint8Array[] = [];
  #carryKept = 0;
  #carryLen = 0;
  #carryLastCr = false;
  #prevTerm = 0;
  /** Whether the previous line was a delimiter, whose line end is its own (as Dovecot counts). */
  #prevDelimiter = false;
  #boundaries = 0;
  #parts = 1;
  #headerOnly: boolean;

  constructor(options: { headerOnly?: boolean } = {}) {
    this.#headerOnly = options.headerOnly === true;
    this.root = newNode(0, "text", "plain");
    this.#stack = [this.#frame(this.root, false, 0)];
  }

  #frame(node: ImapPartNode, isPart: boolean, depth: number): Frame {
    return {
      node,
      mode: HEADER,
      isPart,
      depth,
      boundary: null,
      bodyLf: 0,
      header: [],
      headerKept: 0,
      headerComplete: true,
      sawLine: false,
    };
  }

  /** Feeds the next chunk; returns true when a header-only scan is done. */
  feed(chunk: Uint8Array): boolean {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.#headerOnly && this.rootHeaderDone) return true;
      const top = this.#stack[this.#stack.length - 1]!;
      if (this.#boundaries === 0 && top.mode !== HEADER && this.#carryLen === 0) {
        // Nothing left to find: only count the lines.
        let lf = 0;
        for (let i = chunk.indexOf(LF, pos); i !== -1; i = chunk.indexOf(LF, i + 1)) lf++;
        this.#lf += lf;
        this.#offset += n - pos;
        this.#lineStart = this.#offset;
        return false;
      }
      const lf = chunk.indexOf(LF, pos);
      const stop = lf === -1 ? n : lf + 1;
      const pieces = this.#carry.length;
      this.#append(chunk.subarray(pos, stop));
      this.#offset += stop - pos;
      pos = stop;
      if (lf === -1) {
        // The line goes on in the next chunk: keep a copy, the chunk may be reused.
        if (this.#carry.length > pieces) this.#carry[pieces] = this.#carry[pieces]!.slice();
        break;
      }
      this.#takeLine(true);
    }
    return this.#headerOnly && this.rootHeaderDone;
  }

  /** Adds a piece of the current line (a view into the chunk being fed). */
  #append(piece: Uint8Array): void {
    if (piece.length === 0) return;
    const room = MAX_LINE - this.#carryKept;
    if (room > 0) {
      const kept = piece.length <= room ? piece : piece.subarray(0, room);
      this.#carry.push(kept);
      this.#carryKept += kept.length;
    }
    if (piece.length >= 2) this.#carryLastCr = piece[piece.length - 2] === CR;
    else if (piece[0] === LF) this.#carryLastCr = this.#carryLastByte === CR;
    this.#carryLastByte = piece[piece.length - 1]!;
    this.#carryLen += piece.length;
  }
  #carryLastByte = -1;

  #takeLine(terminated: boolean): void {
    const length = this.#carryLen;
    const kept = this.#carry.length === 1
      ? this.#carry[0]!
      : joinBytes(this.#carry, this.#carryKept);
    const truncated = length > this.#carryKept;
    const term = terminated ? (this.#carryLastCr ? 2 : 1) : 0;
    const start = this.#lineStart;
    this.#carry = [];
    this.#carryKept = 0;
    this.#carryLen = 0;
    this.#carryLastCr = false;
    this.#carryLastByte = -1;
    this.#prevDelimiter = this.#line(start, kept, length, term, truncated);
    if (terminated) this.#lf++;
    this.#prevTerm = term;
    this.#lineStart = start + length;
  }

  /** Handles one line; returns whether it was a delimiter. */
  #line(
    start: number,
    bytes: Uint8Array,
    length: number,
    term: number,
    truncated: boolean,
  ): boolean {
    if (this.#boundaries > 0 && !truncated && bytes[0] === DASH && bytes[1] === DASH) {
      const contentEnd = length - term;
      for (let i = this.#stack.length - 1; i >= 0; i--) {
        const boundary = this.#stack[i]!.boundary;
        if (boundary === null) continue;
        const close = delimiterMatch(bytes, contentEnd, boundary);
        if (close === null) continue;
        if (this.#delimiter(i, start, length, close)) return true;
        break;
      }
    }
    const top = this.#stack[this.#stack.length - 1]!;
    if (top.mode === HEADER) this.#headerLine(top, start, bytes, length, term, truncated);
    return false;
  }

  #headerLine(
    frame: Frame,
    start: number,
    bytes: Uint8Array,
    length: number,
    term: number,
    truncated: boolean,
  ): void {
    const blank = term > 0 && length === term;
    if (!frame.sawLine && frame.isPart && !blank) {
      const probe = bytesBinary(bytes.subarray(0, Math.min(bytes.length, 200)));
      if (!FIELD_LINE_REGEXP.test(probe)) {
        // A part that starts with its body: it has no header.
        frame.node.bodyStart = start;
        frame.bodyLf = this.#lf;
        this.#enterBody(frame);
        const top = this.#stack[this.#stack.length - 1]!;
        if (top !== frame && top.mode === HEADER) {
          this.#headerLine(top, start, bytes, length, term, truncated);
        }
        return;
      }
    }
    frame.sawLine = true;
    if (truncated || frame.headerKept + bytes.length > MAX_HEADER) frame.headerComplete = false;
    else {
      frame.header.push(bytesBinary(bytes));
      frame.headerKept += bytes.length;
    }
    if (blank) {
      frame.node.bodyStart = start + length;
      frame.bodyLf = this.#lf + 1;
      this.#enterBody(frame);
    }
  }

  /** The header ended: read its fields and decide what the body is. */
  #enterBody(frame: Frame): void {
    const node = frame.node;
    const header = frame.header.join("");
    frame.header = [];
    const isRoot = node === this.root;
    if (isRoot) {
      this.rootHeader = frame.headerComplete ? header : null;
      this.rootHeaderDone = true;
    }
    node.fields = parseHeaderFields(header, KEPT_FIELDS);
    const type = fieldValue(node.fields, "content-type");
    if (type !== null) {
      const { main, params } = parseParams(type);
      const slash = main.indexOf("/");
      if (slash > 0 && slash < main.length - 1) {
        node.type = main.slice(0, slash);
        node.subtype = main.slice(slash + 1);
        node.params = params.length > 0 ? params : null;
      } else {
        node.type = "text";
        node.subtype = "plain";
        node.params = null;
      }
    }
    frame.mode = BODY;
    if (this.#headerOnly && isRoot) return;
    if (node.type === "multipart") {
      const boundary = node.params?.find(([n]) => n.toLowerCase() === "boundary")?.[1] ?? "";
      if (boundary !== "" && boundary.length <= 200 && frame.depth < MAX_DEPTH) {
        node.multipart = true;
        frame.mode = PREAMBLE;
        frame.boundary = binaryBytes("--" + boundary);
        this.#boundaries++;
      } else {
        node.type = "text";
        node.subtype = "plain";
        node.params = null;
      }
      return;
    }
    if (node.type === "message" && (node.subtype === "rfc822" || node.subtype === "global")) {
      node.isMessage = true;
      const encoding = (fieldValue(node.fields, "content-transfer-encoding") ?? "7bit")
        .trim().toLowerCase();
      const identity = encoding === "7bit" || encoding === "8bit" || encoding === "binary";
      if (identity && frame.depth < MAX_DEPTH && this.#parts < MAX_PARTS) {
        this.#parts++;
        const enclosed = newNode(node.bodyStart, "text", "plain");
        node.message = enclosed;
        this.#stack.push(this.#frame(enclosed, false, frame.depth + 1));
      }
    }
  }

  /** A delimiter line of the multipart at stack index `i`; false when it is ignored. */
  #delimiter(i: number, start: number, length: number, close: boolean): boolean {
    const frame = this.#stack[i]!;
    if (frame.mode === EPILOGUE) return false;
    if (!close && this.#parts >= MAX_PARTS) return false;
    // The line end before a delimiter belongs to it, unless that line was a delimiter itself.
    const term = this.#prevDelimiter ? 0 : this.#prevTerm;
    const end = start - term;
    const lfBefore = this.#lf - (term > 0 ? 1 : 0);
    while (this.#stack.length - 1 > i) this.#close(this.#stack.pop()!, end, lfBefore);
    if (close) {
      frame.mode = EPILOGUE;
      return true;
    }
    frame.mode = PARTS;
    this.#parts++;
    const digest = frame.node.subtype === "digest";
    const child = newNode(start + length, digest ? "message" : "text", digest ? "rfc822" : "plain");
    frame.node.children.push(child);
    this.#stack.push(this.#frame(child, true, frame.depth + 1));
    return true;
  }

  #close(frame: Frame, end: number, lfBefore: number): void {
    const node = frame.node;
    if (frame.mode === HEADER) {
      // The header never ended: it runs to here and the body is empty.
      node.bodyStart = Math.max(node.headerStart, this.#lineStart);
      frame.bodyLf = lfBefore;
      const depth = this.#stack.length;
      this.#enterBody(frame);
      while (this.#stack.length > depth) this.#close(this.#stack.pop()!, end, lfBefore);
    }
    if (frame.boundary !== null) {
      this.#boundaries--;
      frame.boundary = null;
    }
    node.end = Math.max(end, node.bodyStart);
    node.lines = node.end > node.bodyStart ? Math.max(0, lfBefore - frame.bodyLf) : 0;
  }

  /** Ends the scan at the end of the message. */
  finish(): ImapPartNode {
    if (this.#carryLen > 0) this.#takeLine(false);
    while (this.#stack.length > 0) this.#close(this.#stack.pop()!, this.#offset, this.#lf);
    return this.root;
  }
}

/** Whether a line is `--boundary` (null: no; false: a part delimiter; true: the close delimiter). */
function delimiterMatch(
  line: Uint8Array,
  contentEnd: number,
  boundary: Uint8Array,
): boolean | null {
  const b = boundary.length;
  if (contentEnd < b) return null;
  for (let i = 2; i < b; i++) if (line[i] !== boundary[i]) return null;
  let i = b;
  let close = false;
  if (i + 2 <= contentEnd && line[i] === DASH && line[i + 1] === DASH) {
    close = true;
    i += 2;
  }
  for (; i < contentEnd; i++) if (line[i] !== SP && line[i] !== TAB) return null;
  return close;
}

function joinBytes(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 0) return new Uint8Array(0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The parts of a part for section numbering (RFC 3501 §6.4.5). */
function childrenOf(node: ImapPartNode): ImapPartNode[] {
  if (node.multipart) return node.children;
  const enclosed = node.message;
  if (enclosed !== null) return enclosed.multipart ? enclosed.children : [enclosed];
  return [];
}

/**
 * The part a section's part number names (`1.2.3`), or null when there is
 * none: part 1 of a message that is not multipart is its body.
 */
export function resolvePart(root: ImapPartNode, path: readonly number[]): ImapPartNode | null {
  let node: ImapPartNode | null = null;
  for (let i = 0; i < path.length; i++) {
    const list: ImapPartNode[] = i === 0
      ? (root.multipart ? root.children : [root])
      : childrenOf(node!);
    node = list[path[i]! - 1] ?? null;
    if (node === null) return null;
  }
  return node;
}

/**
 * Filters a header block's fields by name (FETCH `HEADER.FIELDS` and
 * `HEADER.FIELDS.NOT`), chunk by chunk; stops at the blank line. The
 * output excludes the blank line: the caller adds the final CRLF.
 */
export class HeaderFieldFilter {
  #names: Set<string>;
  #not: boolean;
  #state = 0; // 0 line start, 1 name, 2 rest of line, 3 done, 4 CR at line start
  #include = false;
  #held: number[] = [];

  constructor(names: readonly string[], not: boolean) {
    this.#names = new Set(names.map((n) => n.toUpperCase()));
    this.#not = not;
  }

  /** Whether the blank line was reached. */
  get done(): boolean {
    return this.#state === 3;
  }

  /** Returns the pieces of `chunk` to output (views, valid until the next call). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let i = 0;
    // A line being copied continues from the previous chunk.
    let emitFrom = this.#state === 2 && this.#include ? 0 : -1;
    const n = chunk.length;
    const cut = (to: number) => {
      if (emitFrom !== -1 && to > emitFrom) out.push(chunk.subarray(emitFrom, to));
      emitFrom = -1;
    };
    while (i < n && this.#state !== 3) {
      const b = chunk[i]!;
      switch (this.#state) {
        case 0:
          if (b === LF) {
            this.#state = 3;
            break;
          }
          if (b === CR) {
            this.#state = 4;
            i++;
            continue;
          }
          if (b === SP || b === TAB) {
            this.#state = 2;
            if (this.#include) emitFrom = i;
            continue;
          }
          this.#state = 1;
          this.#held = [];
          continue;
        case 4:
          if (b === LF) {
            this.#state = 3;
            break;
          }
          this.#state = 1;
          this.#held = [CR];
          continue;
        case 1:
          this.#held.push(b);
          i++;
          if (b === 0x3a) {
            const name = String.fromCharCode(...this.#held.slice(0, -1)).trim().toUpperCase();
            this.#include = this.#names.has(name) !== this.#not;
            if (this.#include) out.push(Uint8Array.from(this.#held));
            this.#held = [];
            this.#state = 2;
            if (this.#include) emitFrom = i;
          } else if (b === LF || this.#held.length > 1000) {
            this.#include = false;
            this.#held = [];
            this.#state = b === LF ? 0 : 2;
          }
          continue;
        case 2: {
          const lf = chunk.indexOf(LF, i);
          if (lf === -1) {
            i = n;
            continue;
          }
          i = lf + 1;
          cut(i);
          this.#state = 0;
          continue;
        }
      }
      if (this.#state === 3) break;
    }
    cut(this.#state === 3 ? i : n);
    return out;
  }
}

/** Runs the filter over bytes held in memory and adds the final CRLF. */
export function filterHeaderBytes(header: Uint8Array, names: readonly string[], not: boolean) {
  const filter = new HeaderFieldFilter(names, not);
  const pieces = filter.push(header);
  const total = pieces.reduce((sum, p) => sum + p.length, 0) + 2;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  out[at] = CR;
  out[at + 1] = LF;
  return out;
}

/** Options for {@linkcode ImapMessageCache}. */
export interface ImapMessageCacheOptions {
  /** The most messages kept. */
  maxEntries?: number;
  /** About the most octets of headers kept. */
  maxBytes?: number;
}

/**
 * A least-recently-used cache of {@linkcode ImapMessageData}, shared by the
 * sessions of one server. Keys name the user, folder, UID validity and UID,
 * under which a message never changes.
 */
export class ImapMessageCache {
  #map = new Map<string, { data: ImapMessageData; cost: number }>();
  #bytes = 0;
  #maxEntries: number;
  #maxBytes: number;

  constructor(options: ImapMessageCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 20000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  get(key: string): ImapMessageData | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry.data;
  }

  set(key: string, data: ImapMessageData): void {
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#bytes -= old.cost;
      this.#map.delete(key);
    }
    const cost = costOf(data);
    this.#map.set(key, { data, cost });
    this.#bytes += cost;
    while (this.#map.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const first = this.#map.keys().next();
      if (first.done) break;
      this.#bytes -= this.#map.get(first.value)!.cost;
      this.#map.delete(first.value);
    }
  }
}

function costOf(data: ImapMessageData): number {
  // The header twice: as text and, once sent, as octets.
  let cost = 256 + 2 * (data.header?.length ?? 0);
  const visit = (node: ImapPartNode | null) => {
    if (node === null) return;
    cost += 200;
    for (const [n, v] of node.fields) cost += n.length + v.length;
    for (const child of node.children) visit(child);
    visit(node.message);
  };
  visit(data.structure);
  return cost;
}

/** The cache key of a message of a view. */
export function messageKey(view: MailboxView, uid: number): string {
  return `${view.user}\0${view.folder}\0${view.uidValidity}\0${uid}`;
}

/**
 * The header (and, with `full`, the structure) of a message, from the cache
 * or by reading it from the store.
 *
 * @throws {MailStoreError} `"EXPUNGED"` when the message is gone.
 */
export async function loadMessageData(
  cache: ImapMessageCache,
  view: MailboxView,
  uid: number,
  full: boolean,
): Promise<ImapMessageData> {
  const now = loadMessageDataNow(cache, view, uid, full);
  if (now !== undefined) return now;
  const scanner = new StructureScanner({ headerOnly: !full });
  await readChunks(await view.read(uid), (chunk) => scanner.feed(chunk));
  return remember(cache, view, uid, full, scanner);
}

/**
 * {@linkcode loadMessageData} without waiting: from the cache, or from a
 * small message the store reads at once; `undefined` when it must read.
 *
 * @throws {MailStoreError} `"EXPUNGED"` when the message is gone.
 */
export function loadMessageDataNow(
  cache: ImapMessageCache,
  view: MailboxView,
  uid: number,
  full: boolean,
): ImapMessageData | undefined {
  const cached = cache.get(messageKey(view, uid));
  if (cached !== undefined && (!full || cached.structure !== null)) return cached;
  const small = readSmall(view, uid, 0, Infinity);
  if (small === undefined) return undefined;
  const scanner = new StructureScanner({ headerOnly: !full });
  scanner.feed(small);
  return remember(cache, view, uid, full, scanner);
}

function remember(
  cache: ImapMessageCache,
  view: MailboxView,
  uid: number,
  full: boolean,
  scanner: StructureScanner,
): ImapMessageData {
  let root: ImapPartNode;
  if (full || !scanner.rootHeaderDone) root = scanner.finish();
  else root = scanner.root;
  const data: ImapMessageData = {
    header: scanner.rootHeader,
    headerLength: root.bodyStart,
    fields: root.fields,
    structure: full ? root : null,
  };
  cache.set(messageKey(view, uid), data);
  return data;
}
