/**
 * The HTTP/1.1 head scanner (RFC 9112 §2-§5): one pass over the bytes in
 * place, recording offsets, decoding nothing it does not have to. Shared by
 * the server, the client and the chunked trailer reader.
 *
 * @module
 */
import type { BufferedReader } from "../net/buffered_reader.ts";
import type { HeaderField } from "../net/mime_header.ts";
import { ProtocolError, type ProtocolErrorCode } from "../net/protocol_error.ts";

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

/** tchar (RFC 9110 §5.6.2): 1 when allowed. */
export const TCHAR: Uint8Array = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/** Field value bytes: 1 for HTAB/SP/VCHAR, 2 for obs-text, 0 for CTLs and DEL. */
export const VALUE: Uint8Array = new Uint8Array(256);
VALUE[HT] = 1;
for (let c = 32; c < 127; c++) VALUE[c] = 1;
for (let c = 128; c < 256; c++) VALUE[c] = 2;

/** request-target bytes: visible ASCII except "#" (no fragments on the wire). */
const TARGET = new Uint8Array(256);
for (let c = 33; c < 127; c++) TARGET[c] = 1;
TARGET["#".charCodeAt(0)] = 0;

/** Which head is being read. */
export const REQUEST = 0;
/** Which head is being read. */
export const RESPONSE = 1;

/** Limits and leniency for one kind of head. */
export interface HeadLimits {
  /** The most bytes in the start line, without CRLF. */
  maxStartLine: number;
  /** The most bytes in the field section, line ends included. */
  maxHeaderBytes: number;
  /** The most field lines. */
  maxFields: number;
  /** The most bytes in one field line, CRLF excluded. */
  maxFieldLine: number;
  /** Whether a lone LF may end a line (responses, for robustness). */
  bareLf: boolean;
  /** Whether obs-fold is replaced by a space (responses) instead of rejected. */
  unfold: boolean;
}

/** The parse of one head: offsets into `buf`, plus what framing needs. */
export interface HeadParse {
  /** The bytes the offsets point into (stable while the head is in use). */
  buf: Uint8Array;
  /** Just past the empty line. */
  end: number;
  /** The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1 and later 1.x. */
  minor: number;
  /** The request method (interned for the common ones). */
  method: string;
  /** request-target offsets. */
  targetStart: number;
  /** request-target offsets. */
  targetEnd: number;
  /** The response status. */
  status: number;
  /** reason-phrase offsets. */
  reasonStart: number;
  /** reason-phrase offsets. */
  reasonEnd: number;
  /** Per field: name start, name end, value start, value end. */
  fields: number[];
  /** Unfolded values (responses with obs-fold), by field index. */
  folds: Map<number, string> | null;
  /** The head decoded once, when all the fields are needed (see headText). */
  text: string | null;
  /** Field indexes of the fields framing needs, or -1; and their counts. */
  host: number;
  hostCount: number;
  contentLength: number;
  contentLengthCount: number;
  transferEncoding: number;
  transferEncodingCount: number;
  connection: number;
  connectionCount: number;
  expect: number;
  expectCount: number;
}

const HOST = bytes("host");
const EXPECT = bytes("expect");
const CONNECTION = bytes("connection");
const CONTENT_LENGTH = bytes("content-length");
const TRANSFER_ENCODING = bytes("transfer-encoding");

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Case-insensitive compare of a token in `buf` with a lower-case literal. */
function nameIs(buf: Uint8Array, at: number, lit: Uint8Array): boolean {
  for (let k = 0; k < lit.length; k++) {
    if ((buf[at + k]! | 0x20) !== lit[k]) return false;
  }
  return true;
}

/** A fresh, empty parse record. */
/** A fresh parse state over `buf` (also used for chunked trailers). */
export function newParse(buf: Uint8Array): HeadParse {
  return {
    buf,
    end: 0,
    minor: 1,
    method: "",
    targetStart: 0,
    targetEnd: 0,
    status: 0,
    reasonStart: 0,
    reasonEnd: 0,
    fields: [],
    folds: null,
    text: null,
    host: -1,
    hostCount: 0,
    contentLength: -1,
    contentLengthCount: 0,
    transferEncoding: -1,
    transferEncodingCount: 0,
    connection: -1,
    connectionCount: 0,
    expect: -1,
    expectCount: 0,
  };
}

function internMethod(buf: Uint8Array, s: number, e: number): string {
  const c = buf[s];
  switch (e - s) {
    case 3:
      if (c === 71 && buf[s + 1] === 69 && buf[s + 2] === 84) return "GET";
      if (c === 80 && buf[s + 1] === 85 && buf[s + 2] === 84) return "PUT";
      break;
    case 4:
      if (c === 80 && buf[s + 1] === 79 && buf[s + 2] === 83 && buf[s + 3] === 84) return "POST";
      if (c === 72 && buf[s + 1] === 69 && buf[s + 2] === 65 && buf[s + 3] === 68) return "HEAD";
      break;
  }
  return latin1(buf, s, e);
}

/**
 * Decodes bytes one to one into code points (ISO-8859-1 in the strict sense,
 * which is what `Headers` calls a ByteString).
 */
export function latin1(buf: Uint8Array, s: number, e: number): string {
  if (e - s <= 8192) {
    return String.fromCharCode.apply(null, buf.subarray(s, e) as unknown as number[]);
  }
  let out = "";
  for (let i = s; i < e; i += 8192) {
    out += String.fromCharCode.apply(
      null,
      buf.subarray(i, Math.min(e, i + 8192)) as unknown as number[],
    );
  }
  return out;
}

function fail(code: ProtocolErrorCode, message: string): never {
  throw new ProtocolError(code, message);
}

/**
 * Parses one head from `buf[from..to)`. Returns the parse, or `null` when the
 * bytes end before the head does (call again with more). Throws
 * `ProtocolError` for malformed heads and exceeded limits.
 */
export function parseHead(
  buf: Uint8Array,
  from: number,
  to: number,
  kind: number,
  limits: HeadLimits,
): HeadParse | null {
  const p = newParse(buf);
  let i = from;
  const maxLineEnd = from + limits.maxStartLine;
  if (kind === REQUEST) {
    // method SP request-target SP HTTP-version CRLF
    while (i < to && TCHAR[buf[i]!] === 1) i++;
    if (i >= to) return incompleteLine(i, maxLineEnd, kind);
    if (i === from || buf[i] !== SP) badRequestLine();
    p.method = internMethod(buf, from, i);
    p.targetStart = ++i;
    while (i < to && TARGET[buf[i]!] === 1) i++;
    if (i >= to) return incompleteLine(i, maxLineEnd, kind);
    if (i === p.targetStart || buf[i] !== SP) badRequestLine();
    p.targetEnd = i++;
    if (to - i < 9) return incompleteLine(to, maxLineEnd, kind);
    if (
      buf[i] !== 72 || buf[i + 1] !== 84 || buf[i + 2] !== 84 || buf[i + 3] !== 80 ||
      buf[i + 4] !== 47 || !isDigit(buf[i + 5]!) || buf[i + 6] !== 46 || !isDigit(buf[i + 7]!)
    ) badRequestLine();
    const major = buf[i + 5]! - 48;
    if (major !== 1) {
      fail(
        "VERSION_NOT_SUPPORTED",
        `Cannot read request: HTTP/${major}.${buf[i + 7]! - 48} is not supported`,
      );
    }
    p.minor = buf[i + 7] === 48 ? 0 : 1;
    i += 8;
    if (i > maxLineEnd) uriTooLong(limits.maxStartLine);
    if (buf[i] === CR) {
      if (i + 1 >= to) return null;
      if (buf[i + 1] !== LF) badRequestLine();
      i += 2;
    } else if (buf[i] === LF) {
      if (!limits.bareLf) fail("BARE_LF", "Cannot read request: line ends in a bare LF");
      i += 1;
    } else badRequestLine();
  } else {
    // HTTP-version SP status-code [SP reason-phrase] CRLF, leniently.
    if (to - i < 12) {
      if (isStatusPrefix(buf, i, to)) return null;
      badStatusLine();
    }
    if (
      buf[i] !== 72 || buf[i + 1] !== 84 || buf[i + 2] !== 84 || buf[i + 3] !== 80 ||
      buf[i + 4] !== 47 || !isDigit(buf[i + 5]!) || buf[i + 6] !== 46 || !isDigit(buf[i + 7]!) ||
      buf[i + 8] !== SP || !isDigit(buf[i + 9]!) || !isDigit(buf[i + 10]!) ||
      !isDigit(buf[i + 11]!)
    ) badStatusLine();
    if (buf[i + 5] !== 49) {
      fail(
        "VERSION_NOT_SUPPORTED",
        `Cannot read response: HTTP/${buf[i + 5]! - 48}.${buf[i + 7]! - 48} is not supported`,
      );
    }
    p.minor = buf[i + 7] === 48 ? 0 : 1;
    p.status = (buf[i + 9]! - 48) * 100 + (buf[i + 10]! - 48) * 10 + (buf[i + 11]! - 48);
    i += 12;
    if (i < to && buf[i] === SP) i++;
    else if (i < to && buf[i] !== CR && buf[i] !== LF) badStatusLine();
    p.reasonStart = i;
    while (i < to && VALUE[buf[i]!] !== 0) i++;
    if (i >= to) return incompleteLine(i, maxLineEnd, kind);
    p.reasonEnd = i;
    if (i > maxLineEnd) lineTooLong(limits.maxStartLine);
    if (buf[i] === CR) {
      if (i + 1 >= to) return null;
      if (buf[i + 1] !== LF) badStatusLine();
      i += 2;
    } else if (buf[i] === LF) {
      if (!limits.bareLf) fail("BARE_LF", "Cannot read response: line ends in a bare LF");
      i += 1;
    } else badStatusLine();
  }
  const end = parseFields(buf, i, to, limits, p);
  if (end < 0) return null;
  p.end = end;
  return p;
}

/**
 * Parses field lines from `i` up to and including the empty line. Returns
 * the offset past it, or -1 when incomplete.
 */
export function parseFields(
  buf: Uint8Array,
  i: number,
  to: number,
  limits: HeadLimits,
  p: HeadParse,
): number {
  const fieldsStart = i;
  const maxEnd = fieldsStart + limits.maxHeaderBytes;
  const fields = p.fields;
  for (;;) {
    if (i >= to) return incompleteFields(to, maxEnd, limits);
    let b = buf[i]!;
    if (b === CR) {
      if (i + 1 >= to) return incompleteFields(to, maxEnd, limits);
      if (buf[i + 1] !== LF) fail("BAD_HEADER", "Cannot read header: bare CR");
      i += 2;
      break;
    }
    if (b === LF) {
      if (!limits.bareLf) fail("BARE_LF", "Cannot read header: line ends in a bare LF");
      i += 1;
      break;
    }
    if (b === SP || b === HT) {
      if (!limits.unfold) fail("OBS_FOLD", "Cannot read header: folded lines are not allowed");
      if (fields.length === 0) fail("BAD_HEADER", "Cannot read header: first line is folded");
      const r = scanValue(buf, i, to, limits);
      if (r < 0) return incompleteFields(to, maxEnd, limits);
      const k = fields.length / 4 - 1;
      p.folds ??= new Map();
      const before = p.folds.get(k) ?? latin1(buf, fields[4 * k + 2]!, fields[4 * k + 3]!);
      const more = latin1(buf, scanStart, scanEnd);
      p.folds.set(k, more === "" ? before : before === "" ? more : before + " " + more);
      i = r;
      if (i > maxEnd) headerTooLarge(limits.maxHeaderBytes);
      continue;
    }
    const ns = i;
    while (i < to && TCHAR[buf[i]!] === 1) i++;
    if (i >= to) return incompleteFields(to, maxEnd, limits);
    if (buf[i] !== COLON || i === ns) {
      b = buf[i]!;
      fail(
        "BAD_HEADER",
        b === SP || b === HT
          ? "Cannot read header: white space before the colon"
          : i === ns
          ? "Cannot read header: empty field name"
          : `Cannot read header: byte 0x${b.toString(16).padStart(2, "0")} in a field name`,
      );
    }
    const ne = i;
    const r = scanValue(buf, i + 1, to, limits);
    if (r < 0) return incompleteFields(to, maxEnd, limits);
    if (r > maxEnd) headerTooLarge(limits.maxHeaderBytes);
    if (r - ns > limits.maxFieldLine + 2) {
      fail("LINE_TOO_LONG", `Cannot read header: field line exceeds ${limits.maxFieldLine} bytes`);
    }
    const k = fields.length >> 2;
    if (k >= limits.maxFields) {
      fail("TOO_MANY_FIELDS", `Cannot read header: more than ${limits.maxFields} fields`);
    }
    fields.push(ns, ne, scanStart, scanEnd);
    switch (ne - ns) {
      case 4:
        if (nameIs(buf, ns, HOST)) {
          if (p.hostCount++ === 0) p.host = k;
        }
        break;
      case 6:
        if (nameIs(buf, ns, EXPECT)) {
          if (p.expectCount++ === 0) p.expect = k;
        }
        break;
      case 10:
        if (nameIs(buf, ns, CONNECTION)) {
          if (p.connectionCount++ === 0) p.connection = k;
        }
        break;
      case 14:
        if (nameIs(buf, ns, CONTENT_LENGTH)) {
          if (p.contentLengthCount++ === 0) p.contentLength = k;
        }
        break;
      case 17:
        if (nameIs(buf, ns, TRANSFER_ENCODING)) {
          if (p.transferEncodingCount++ === 0) p.transferEncoding = k;
        }
        break;
    }
    i = r;
    if (i > maxEnd) headerTooLarge(limits.maxHeaderBytes);
  }
  if (i > maxEnd) headerTooLarge(limits.maxHeaderBytes);
  return i;
}

// Results of scanValue, kept in module state to avoid allocating.
let scanStart = 0;
let scanEnd = 0;

/**
 * Scans OWS, a field value and its line end from `i`. Sets scanStart and
 * scanEnd (trimmed); returns the offset past the line end, or -1.
 */
function scanValue(buf: Uint8Array, i: number, to: number, limits: HeadLimits): number {
  while (i < to && (buf[i] === SP || buf[i] === HT)) i++;
  const vs = i;
  while (i < to && VALUE[buf[i]!] !== 0) i++;
  if (i >= to) return -1;
  let ve = i;
  const b = buf[i];
  if (b === CR) {
    if (i + 1 >= to) return -1;
    if (buf[i + 1] !== LF) fail("BAD_HEADER", "Cannot read header: bare CR in a field value");
    i += 2;
  } else if (b === LF) {
    if (!limits.bareLf) fail("BARE_LF", "Cannot read header: line ends in a bare LF");
    i += 1;
  } else {
    fail(
      "BAD_HEADER",
      `Cannot read header: control byte 0x${b!.toString(16).padStart(2, "0")} in a field value`,
    );
  }
  while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HT)) ve--;
  scanStart = vs;
  scanEnd = ve;
  return i;
}

function isDigit(b: number): boolean {
  return b >= 48 && b <= 57;
}

/** Whether `buf[i..to)` could still become "HTTP/d.d ddd". */
function isStatusPrefix(buf: Uint8Array, i: number, to: number): boolean {
  const shape = "HTTP/0.0 000";
  for (let k = 0; i + k < to; k++) {
    const want = shape.charCodeAt(k);
    const b = buf[i + k]!;
    if (want === 48 ? !isDigit(b) : b !== want) return false;
  }
  return true;
}

function incompleteLine(i: number, maxLineEnd: number, kind: number): null {
  if (i > maxLineEnd + 1) {
    if (kind === REQUEST) uriTooLong(maxLineEnd);
    lineTooLong(maxLineEnd);
  }
  return null;
}

function incompleteFields(i: number, maxEnd: number, limits: HeadLimits): number {
  if (i > maxEnd) headerTooLarge(limits.maxHeaderBytes);
  return -1;
}

function badRequestLine(): never {
  fail("BAD_REQUEST_LINE", "Cannot read request: malformed request line");
}

function badStatusLine(): never {
  fail("BAD_STATUS_LINE", "Cannot read response: malformed status line");
}

function uriTooLong(max: number): never {
  fail("URI_TOO_LONG", `Cannot read request: request line exceeds ${max} bytes`);
}

function lineTooLong(max: number): never {
  fail("LINE_TOO_LONG", `Cannot read response: status line exceeds ${max} bytes`);
}

function headerTooLarge(max: number): never {
  fail("HEADER_TOO_LARGE", `Cannot read header: field section exceeds ${max} bytes`);
}

/** The decoded name of field `k`. */
export function fieldName(p: HeadParse, k: number): string {
  if (p.text !== null) return p.text.slice(p.fields[4 * k]!, p.fields[4 * k + 1]!);
  return latin1(p.buf, p.fields[4 * k]!, p.fields[4 * k + 1]!);
}

/** The decoded value of field `k`. */
export function fieldValue(p: HeadParse, k: number): string {
  const fold = p.folds?.get(k);
  if (fold !== undefined) return fold;
  if (p.text !== null) return p.text.slice(p.fields[4 * k + 2]!, p.fields[4 * k + 3]!);
  return latin1(p.buf, p.fields[4 * k + 2]!, p.fields[4 * k + 3]!);
}

/** Decodes the whole head once, so that every field is a slice of one string. */
function decodeOnce(p: HeadParse): void {
  if (p.text === null && p.fields.length > 4) p.text = latin1(p.buf, 0, p.end);
}

/** All values of the fields whose index `first` starts a run of `count` with the same name. */
export function fieldValues(p: HeadParse, first: number, count: number): string[] {
  if (count === 1) return [fieldValue(p, first)];
  const out: string[] = [];
  const f = p.fields;
  const len = f[4 * first + 1]! - f[4 * first]!;
  for (let k = first; k < f.length >> 2 && out.length < count; k++) {
    if (f[4 * k + 1]! - f[4 * k]! !== len) continue;
    if (sameName(p.buf, f[4 * first]!, f[4 * k]!, len)) out.push(fieldValue(p, k));
  }
  return out;
}

function sameName(buf: Uint8Array, a: number, b: number, len: number): boolean {
  for (let k = 0; k < len; k++) {
    if ((buf[a + k]! | 0x20) !== (buf[b + k]! | 0x20)) return false;
  }
  return true;
}

/**
 * The values of every field named `name` (lower case ASCII), joined with
 * ", " as a list field reads; null when there is none. A scan of the field
 * offsets, for fields the parser does not track.
 */
export function findField(p: HeadParse, name: Uint8Array): string | null {
  const f = p.fields;
  const len = name.length;
  let out: string | null = null;
  for (let k = 0; k < f.length >> 2; k++) {
    const start = f[4 * k]!;
    if (f[4 * k + 1]! - start !== len) continue;
    let same = true;
    for (let i = 0; i < len; i++) {
      if ((p.buf[start + i]! | 0x20) !== name[i]) {
        same = false;
        break;
      }
    }
    if (!same) continue;
    const value = fieldValue(p, k);
    out = out === null ? value : `${out}, ${value}`;
  }
  return out;
}

/** The fields as name/value records, in order. */
export function headFields(p: HeadParse): HeaderField[] {
  decodeOnce(p);
  const n = p.fields.length >> 2;
  const out: HeaderField[] = new Array(n);
  for (let k = 0; k < n; k++) out[k] = { name: fieldName(p, k), value: fieldValue(p, k) };
  return out;
}

/** Appends the fields to a `Headers`. */
export function fillHeaders(p: HeadParse, headers: Headers): Headers {
  decodeOnce(p);
  const n = p.fields.length >> 2;
  for (let k = 0; k < n; k++) headers.append(fieldName(p, k), fieldValue(p, k));
  return headers;
}

/**
 * Looks for the empty line that ends a head in `buf[from..to)`, scanning
 * only from `scanFrom` (the bytes before it were scanned already). Returns -1
 * when found, otherwise where to resume once more bytes came.
 */
export function scanForEnd(buf: Uint8Array, from: number, to: number, scanFrom: number): number {
  let i = scanFrom < from ? from : scanFrom;
  for (; i < to; i++) {
    if (buf[i] !== LF) continue;
    if (i + 1 >= to) return i;
    const b = buf[i + 1];
    if (b === LF) return -1;
    if (b === CR) {
      if (i + 2 >= to) return i;
      if (buf[i + 2] === LF) return -1;
    }
  }
  return i;
}

/**
 * Reads one head from a reader: skips empty lines before a request, parses
 * in place, reads more while incomplete (scanning new bytes only, so a
 * trickled head costs linear time), and consumes it. The parse points into
 * the reader's buffer: stable only with `stableViews`.
 *
 * @returns The parse, or null on a clean end of stream before any byte.
 */
export async function readHead(
  reader: BufferedReader,
  kind: number,
  limits: HeadLimits,
  onFirstByte?: () => void,
): Promise<HeadParse | null> {
  let scanFrom = 0;
  let started = false;
  const cap = limits.maxStartLine + limits.maxHeaderBytes + 4;
  for (;;) {
    let view = reader.peekBuffered();
    if (kind === REQUEST) {
      // RFC 9112 §2.2: ignore empty lines before a request line.
      let skip = 0;
      while (
        skip < view.length &&
        (view[skip] === LF ||
          (view[skip] === CR && skip + 1 < view.length && view[skip + 1] === LF))
      ) skip += view[skip] === LF ? 1 : 2;
      if (skip > 0) {
        reader.consume(skip);
        view = reader.peekBuffered();
        scanFrom = 0;
      }
    }
    // A lone CR may be the start of one more empty line.
    const waitCr = kind === REQUEST && view.length === 1 && view[0] === CR;
    if (view.length > 0 && !waitCr) {
      if (!started) {
        started = true;
        onFirstByte?.();
      }
      // Try the full parse when the end may be there; a head that came in
      // pieces is only re-parsed once its end is seen (or it outgrew the
      // limits, which the parse then reports).
      const resume = scanFrom === 0 ? -1 : scanForEnd(view, 0, view.length, scanFrom);
      if (resume < 0 || view.length >= cap) {
        const p = parseHead(view, 0, view.length, kind, limits);
        if (p !== null) {
          reader.consume(p.end);
          return p;
        }
        if (view.length >= cap) headerTooLarge(limits.maxHeaderBytes);
        scanFrom = Math.max(1, view.length - 2);
      } else {
        scanFrom = resume;
      }
    }
    if (!(await reader.fill(cap))) {
      const rest = reader.peekBuffered();
      if (rest.length === 0) return null;
      // Report what a parse of all the bytes finds, whatever their split.
      parseHead(rest, 0, rest.length, kind, limits);
      throw new ProtocolError(
        "UNEXPECTED_EOF",
        kind === REQUEST
          ? "Cannot read request: stream ended inside the head"
          : "Cannot read response: stream ended inside the head",
      );
    }
  }
}

/** Host field bytes (RFC 3986 host and port): unreserved, sub-delims, "%", ":", "[", "]". */
const HOST_CHAR = new Uint8Array(256);
for (const c of "-._~%!$&'()*+,;=:[]") HOST_CHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) HOST_CHAR[c] = 1;
for (let c = 65; c <= 90; c++) HOST_CHAR[c] = 1;
for (let c = 97; c <= 122; c++) HOST_CHAR[c] = 1;

/**
 * RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host field, and a
 * Host value must be a host and optional port.
 */
export function checkHost(p: HeadParse): void {
  if (p.hostCount > 1) fail("BAD_HOST", "Cannot read request: more than one Host field");
  if (p.hostCount === 0) {
    if (p.minor === 1) fail("BAD_HOST", "Cannot read request: HTTP/1.1 request without Host");
    return;
  }
  const buf = p.buf;
  const e = p.fields[4 * p.host + 3]!;
  for (let i = p.fields[4 * p.host + 2]!; i < e; i++) {
    if (HOST_CHAR[buf[i]!] !== 1) fail("BAD_HOST", "Cannot read request: malformed Host field");
  }
}
