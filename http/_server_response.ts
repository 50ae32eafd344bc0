/**
 * Writes HTTP/1.1 responses onto a connection: the status line and headers
 * built as one string and encoded into a reused buffer, small bodies in the
 * same write as the head, plain text responses cached while they repeat,
 * sized bodies with Content-Length, others chunked (or until close for
 * HTTP/1.0), byte-stream bodies read into one reused 256 KiB buffer.
 *
 * @module
 */
import type { HeadParse } from "./_head_parser.ts";
import {
  type BodyHint,
  bodyHint,
  BYTES,
  newBodyHint,
  PLAIN,
  SIZED,
  TEXT,
} from "./_response_hints.ts";
import { STATUS_TEXT, type StatusCode } from "./status_code.ts";
import { fileBodies, type FileParts } from "./_files_body.ts";

/** The cached `Date` header line, ticked by the server. */
export interface DateSource {
  readonly dateLine: string;
}

/** The reused read buffer for byte-stream bodies. */
const BYOB_SIZE = 256 * 1024;
const OUT_SIZE = 16384;
const RESERVE = 4096;
const SMALL_CHUNK = 16384;
const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = new TextEncoder().encode("0\r\n\r\n");
const encoder = new TextEncoder();

const STATUS_LINES: string[] = [];
for (const [code, text] of Object.entries(STATUS_TEXT)) {
  STATUS_LINES[Number(code)] = `HTTP/1.1 ${code} ${text}\r\n`;
}

function statusLine(status: number, text: string): string {
  if (text === "" || text === STATUS_TEXT[status as StatusCode]) {
    return STATUS_LINES[status] ?? `HTTP/1.1 ${status} \r\n`;
  }
  return `HTTP/1.1 ${status} ${text}\r\n`;
}

// Scratch state for the headers.forEach callback (no closure per response).
let scratchHead = "";
let scratchLength: string | null = null;
let scratchClose = false;
let scratchDate = false;

function collectHeader(value: string, name: string): void {
  switch (name) {
    case "content-length":
      scratchLength = value;
      return;
    case "transfer-encoding":
    case "keep-alive":
      return;
    case "connection":
      if (/(^|,)[ \t]*close[ \t]*(,|$)/i.test(value)) scratchClose = true;
      return;
    case "date":
      scratchDate = true;
  }
  scratchHead += name + ": " + value + "\r\n";
}

/**
 * Writes latin1 text (one byte per char) into `out` at `at`: through the
 * native encoder when the text is ASCII (all chars fit in as many bytes),
 * by hand otherwise.
 */
function putText(out: Uint8Array, at: number, text: string): void {
  const view = out.subarray(at, at + text.length);
  const result = encoder.encodeInto(text, view);
  if (result.read === text.length && result.written === text.length) return;
  for (let k = 0; k < text.length; k++) out[at + k] = text.charCodeAt(k);
}

/** The `Connection` line a response needs, or none. */
export function connectionLine(keepAlive: boolean, minor: number): string {
  if (!keepAlive) return "connection: close\r\n";
  return minor === 0 ? "connection: keep-alive\r\n" : "";
}

/** A complete plain-text error response (for 4xx/5xx the server sends itself). */
export function errorText(status: number, close: boolean, dateLine = ""): string {
  const text = STATUS_TEXT[status as StatusCode] ?? "Error";
  return `HTTP/1.1 ${status} ${text}\r\n${dateLine}content-type: text/plain;charset=utf-8\r\n` +
    `content-length: ${text.length + 1}\r\n${close ? "connection: close\r\n" : ""}\r\n${text}\n`;
}

const scratchHint = newBodyHint();

/** Cancels a response body that will not be sent. */
export function cancelBody(res: Response): void {
  if (!res.bodyUsed && bodyHint(res, scratchHint) === 0) res.body?.cancel().catch(() => {});
}

/** See the module documentation. */
export class ResponseWriter {
  #write: (bytes: Uint8Array) => Promise<void>;
  #clock: DateSource;
  #out = new Uint8Array(OUT_SIZE);
  #bodyView = this.#out.subarray(RESERVE);
  #cStatus = -1;
  #cText = "";
  #cType = "";
  #cVariant = 0;
  #cDate = "";
  #cLength = 0;
  #cView: Uint8Array | null = null;
  #hint = newBodyHint();
  #fileBuffer: Uint8Array | null = null;
  /** The body length of the last `plainBytes` result. */
  plainLength = 0;
  /** Whether the connection may stay open after the last `writeResponse`. */
  keep = true;

  constructor(write: (bytes: Uint8Array) => Promise<void>, clock: DateSource) {
    this.#write = write;
    this.#clock = clock;
  }

  /**
   * Writes the response. Resolves to the body bytes sent; clears `#keep`
   * when the connection must close afterwards.
   */
  async writeResponse(res: Response, p: HeadParse, keepAlive: boolean): Promise<number> {
    this.keep = keepAlive;
    const status = res.status;
    if (status < 200) throw new TypeError(`Cannot send response: status ${status}`);
    const out = this.#hint;
    let hint = bodyHint(res, out);
    if (hint === PLAIN) hint = TEXT;
    if (res.bodyUsed) throw new TypeError("Cannot send response: its body was already used");
    this.#cStatus = -1;
    scratchHead = statusLine(status, res.statusText);
    scratchLength = null;
    scratchClose = false;
    scratchDate = false;
    res.headers.forEach(collectHeader);
    let head = scratchHead;
    const declared = scratchLength as string | null;
    if (scratchClose) keepAlive = this.keep = false;
    if (!scratchDate) head += this.#clock.dateLine;
    const isHead = p.method === "HEAD";
    const noBody = status === 204 || status === 304;
    if (noBody) {
      if (hint === 0) await res.body?.cancel().catch(() => {});
      if (declared !== null && status === 304) head += `content-length: ${declared}\r\n`;
      head += connectionLine(keepAlive, p.minor) + "\r\n";
      await this.writeHead(head);
      return 0;
    }
    if (hint === TEXT) {
      const text = await res.text();
      const view = this.#bodyView;
      let bodyBytes: Uint8Array | null = null;
      let n: number;
      if (text.length * 3 <= view.length) {
        n = encoder.encodeInto(text, view).written;
      } else {
        bodyBytes = encoder.encode(text);
        n = bodyBytes.length;
      }
      head += `content-length: ${n}\r\n` + connectionLine(keepAlive, p.minor) + "\r\n";
      if (isHead) {
        await this.writeHead(head);
      } else if (bodyBytes === null && head.length <= RESERVE) {
        const at = RESERVE - head.length;
        putText(this.#out, at, head);
        await this.#write(this.#out.subarray(at, RESERVE + n));
      } else {
        await this.writeHead(head);
        await this.#write(bodyBytes ?? this.#bodyView.subarray(0, n));
      }
      return n;
    }
    if (hint === BYTES && out.length <= 1 << 20) {
      const bytes = await res.bytes();
      head += `content-length: ${bytes.length}\r\n` + connectionLine(keepAlive, p.minor) + "\r\n";
      if (isHead) {
        await this.writeHead(head);
      } else if (head.length <= RESERVE && bytes.length <= this.#bodyView.length) {
        const at = RESERVE - head.length;
        putText(this.#out, at, head);
        this.#bodyView.set(bytes);
        await this.#write(this.#out.subarray(at, RESERVE + bytes.length));
      } else {
        await this.writeHead(head);
        await this.#write(bytes);
      }
      return bytes.length;
    }
    // A stream (or a sized body read as one).
    let length = -1;
    if (hint === SIZED || hint === BYTES) length = out.length;
    else if (declared !== null) {
      if (!/^[0-9]{1,15}$/.test(declared)) {
        throw new TypeError(`Cannot send response: invalid Content-Length ${declared}`);
      }
      length = Number(declared);
    }
    const stream = res.body;
    if (stream === null) {
      // A HEAD answer may carry the length the GET body would have.
      const length = isHead && declared !== null ? declared : "0";
      head += `content-length: ${length}\r\n` + connectionLine(keepAlive, p.minor) + "\r\n";
      await this.writeHead(head);
      return 0;
    }
    if (isHead) {
      await stream.cancel().catch(() => {});
      if (length >= 0) head += `content-length: ${length}\r\n`;
      head += connectionLine(keepAlive, p.minor) + "\r\n";
      await this.writeHead(head);
      return 0;
    }
    const chunked = length < 0 && p.minor === 1;
    if (length < 0 && !chunked) keepAlive = this.keep = false;
    if (length >= 0) head += `content-length: ${length}\r\n`;
    else if (chunked) head += "transfer-encoding: chunked\r\n";
    head += connectionLine(keepAlive, p.minor) + "\r\n";
    await this.writeHead(head);
    const sent = await this.#writeStream(stream, length, chunked);
    if (sent < 0) this.keep = false;
    return sent;
  }

  /**
   * The bytes of a plain `new Response(text)` / `Response.json()` (no header
   * but Content-Type), head and body together, or null when too big for
   * the output buffer. The bytes are remembered and reused while the next
   * responses are identical (same text, type, status, Date second and
   * connection handling). Sets `#plainLength`.
   */
  plainBytes(
    status: number,
    p: HeadParse,
    keepAlive: boolean,
    hint: BodyHint,
  ): Uint8Array | null {
    const text = hint.text;
    const type = hint.type;
    const isHead = p.method === "HEAD";
    const variant = (keepAlive ? 1 : 0) | (p.minor === 0 ? 2 : 0) | (isHead ? 4 : 0);
    const dateLine = this.#clock.dateLine;
    if (
      status === this.#cStatus && variant === this.#cVariant && text === this.#cText &&
      type === this.#cType && dateLine === this.#cDate
    ) {
      this.plainLength = this.#cLength;
      return this.#cView!;
    }
    this.#cStatus = -1;
    const noBody = status === 204 || status === 304;
    const view = this.#bodyView;
    let n = 0;
    if (!noBody) {
      if (text.length * 3 > view.length) return null;
      n = encoder.encodeInto(text, view).written;
    }
    let head = statusLine(status, "");
    if (!noBody || status === 304) head += "content-type: " + type + "\r\n";
    head += dateLine;
    if (!noBody) head += "content-length: " + n + "\r\n";
    head += connectionLine(keepAlive, p.minor) + "\r\n";
    if (head.length > RESERVE) return null;
    const at = RESERVE - head.length;
    putText(this.#out, at, head);
    const bytes = this.#out.subarray(at, RESERVE + (isHead ? 0 : n));
    this.#cStatus = status;
    this.#cVariant = variant;
    this.#cText = text;
    this.#cType = type;
    this.#cDate = dateLine;
    this.#cLength = n;
    this.#cView = bytes;
    this.plainLength = n;
    return bytes;
  }

  async writeHead(head: string): Promise<void> {
    this.#cStatus = -1;
    if (head.length > this.#out.length) {
      this.#out = new Uint8Array(head.length);
      this.#bodyView = this.#out.subarray(RESERVE);
    }
    putText(this.#out, 0, head);
    await this.#write(this.#out.subarray(0, head.length));
  }

  /**
   * Copies a body stream to the connection: exactly `length` bytes, or
   * chunked, or raw until close. Resolves to the bytes sent, or -1 when the
   * stream broke the framing (the connection must close).
   */
  async #writeStream(
    stream: ReadableStream<Uint8Array>,
    length: number,
    chunked: boolean,
  ): Promise<number> {
    const file = stream.locked ? undefined : fileBodies.get(stream);
    if (file !== undefined) return await this.#writeFile(file, length, chunked);
    // A byte stream (file bodies are) is read into one reused buffer: no
    // allocation per chunk, and chunks as large as the buffer.
    let byob: ReadableStreamBYOBReader | null = null;
    try {
      byob = stream.getReader({ mode: "byob" });
    } catch {
      byob = null;
    }
    const reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader = byob ??
      stream.getReader();
    let buffer = new Uint8Array(byob === null ? 0 : BYOB_SIZE);
    let sent = 0;
    try {
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = byob === null
            ? await (reader as ReadableStreamDefaultReader<Uint8Array>).read()
            : await byob.read(buffer);
        } catch {
          // The body failed: end without the last chunk, so the client sees it.
          return -1;
        }
        if (result.done) break;
        let chunk = result.value;
        // The buffer was transferred into the chunk; it is free again once
        // the chunk is written, before the next read.
        if (byob !== null) buffer = new Uint8Array(chunk.buffer as ArrayBuffer);
        if (!(chunk instanceof Uint8Array)) {
          await reader.cancel().catch(() => {});
          return -1;
        }
        if (chunk.length === 0) continue;
        if (length >= 0) {
          if (sent + chunk.length > length) {
            chunk = chunk.subarray(0, length - sent);
            await this.#write(chunk);
            await reader.cancel().catch(() => {});
            return -1;
          }
          await this.#write(chunk);
        } else if (chunked) {
          await this.#writeChunk(chunk);
        } else {
          await this.#write(chunk);
        }
        sent += chunk.length;
      }
      if (length >= 0 && sent !== length) return -1;
      if (chunked) await this.#write(LAST_CHUNK);
      return sent;
    } catch (error) {
      await reader.cancel(error).catch(() => {});
      throw error;
    }
  }

  /**
   * A file body from the file server that nobody took as a stream: read
   * straight into one reused 256 KiB buffer and written, with no stream
   * machinery in between (the loop that beats nginx on large files).
   */
  async #writeFile(file: FileParts, length: number, chunked: boolean): Promise<number> {
    const buffer = this.#fileBuffer ??= new Uint8Array(BYOB_SIZE);
    let sent = 0;
    try {
      for (;;) {
        let n: number;
        try {
          n = file.fill(buffer);
        } catch {
          // The file changed under us: end without the last chunk.
          return -1;
        }
        if (n === 0) break;
        const chunk = buffer.subarray(0, n);
        if (length >= 0 && sent + n > length) {
          await this.#write(chunk.subarray(0, length - sent));
          return -1;
        }
        if (chunked) await this.#writeChunk(chunk);
        else await this.#write(chunk);
        sent += n;
      }
      if (length >= 0 && sent !== length) return -1;
      if (chunked) await this.#write(LAST_CHUNK);
      return sent;
    } finally {
      file.close();
    }
  }

  async #writeChunk(chunk: Uint8Array): Promise<void> {
    this.#cStatus = -1;
    const size = chunk.length.toString(16);
    if (chunk.length <= SMALL_CHUNK) {
      const total = size.length + chunk.length + 4;
      if (total > this.#out.length) {
        this.#out = new Uint8Array(Math.max(total, OUT_SIZE));
        this.#bodyView = this.#out.subarray(RESERVE);
      }
      const out = this.#out;
      putText(out, 0, size);
      out[size.length] = 13;
      out[size.length + 1] = 10;
      out.set(chunk, size.length + 2);
      out[total - 2] = 13;
      out[total - 1] = 10;
      await this.#write(out.subarray(0, total));
      return;
    }
    await this.writeHead(size + "\r\n");
    await this.#write(chunk);
    await this.#write(CRLF);
  }
}
