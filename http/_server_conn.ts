/**
 * One HTTP/1.1 server connection: read a head, call the handler, write the
 * response, repeat. Reads go through a BufferedReader with stable views (the
 * request points into the bytes it came in), writes go straight to the
 * connection, a head and a small body in one write.
 *
 * @module
 */
import { BufferedReader } from "../net/buffered_reader.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import type { TcpConnectionInfo } from "../net/tcp_server.ts";
import { BodyReader, CHUNKED, LENGTH } from "./_body_reader.ts";
import { requestFraming } from "./_framing.ts";
import {
  checkHost,
  fieldValues,
  type HeadLimits,
  type HeadParse,
  latin1,
  parseHead,
  readHead,
  REQUEST,
} from "./_head_parser.ts";
import {
  bodyHint,
  BYTES,
  hintLength,
  hintText,
  hintType,
  PLAIN,
  SIZED,
  TEXT,
} from "./_response_hints.ts";
import { bodyErrors, ServerRequest } from "./_server_request.ts";
import { assertReason, fieldPairs } from "./_validate.ts";
import { acceptWebSocketResponse } from "./_web_socket.ts";
import { STATUS_TEXT, type StatusCode } from "./status_code.ts";
import type { ServeHandlerInfo, UpgradedConnection, UpgradeInit } from "./_server_types.ts";

/** Settings shared by the connections of one server. */
export interface ServerConfig {
  handler: (request: Request, info: ServeHandlerInfo) => Response | Promise<Response>;
  onError: (error: unknown) => Response | Promise<Response>;
  accessLog: ((line: string) => void) | null;
  limits: HeadLimits;
  headersTimeout: number;
  keepAliveTimeout: number;
  stallTimeout: number;
  maxBodySize: number;
  maxDrainSize: number;
  scheme: "http" | "https";
  clock: ServerClock;
  conns: Set<ServerConn>;
}

/** A coarse clock and the cached `Date` header line, ticked by the server. */
export class ServerClock {
  now: number = Date.now();
  dateLine = "";
  #second = -1;

  constructor() {
    this.tick();
  }

  /** Updates the time and, once a second, the Date line. */
  tick(): void {
    const now = Date.now();
    this.now = now;
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.dateLine = `date: ${new Date(second * 1000).toUTCString()}\r\n`;
    }
  }
}

/** The reused read buffer for byte-stream bodies. */
const BYOB_SIZE = 256 * 1024;
const IDLE = 0;
const HEAD = 1;
const ACTIVE = 2;

const OUT_SIZE = 16384;
const RESERVE = 4096;
const SMALL_CHUNK = 16384;
const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = new TextEncoder().encode("0\r\n\r\n");
const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
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

/** The status a request-parsing error answers with. */
export function statusForError(error: ProtocolError): number {
  switch (error.code) {
    case "URI_TOO_LONG":
      return 414;
    case "HEADER_TOO_LARGE":
    case "TOO_MANY_FIELDS":
      return 431;
    case "NOT_IMPLEMENTED":
      return 501;
    case "VERSION_NOT_SUPPORTED":
      return 505;
    case "BODY_TOO_LARGE":
      return 413;
    default:
      return 400;
  }
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

/** The rarely used parts of an exchange, allocated on first use. */
interface ExchangeExtra {
  target: string | null;
  controller: AbortController | null;
  completed: Promise<void> | null;
  settle: [() => void, (e: unknown) => void] | null;
  error: unknown;
  upgraded: UpgradedConnection | null;
  upgradeDone: Promise<void> | null;
  endUpgrade: (() => void) | null;
}

/** Per request: the handler info and the request's connection-side state. */
class Exchange implements ServeHandlerInfo {
  #conn: ServerConn;
  #p: HeadParse;
  #outcome = 0;
  #extra: ExchangeExtra | null = null;

  constructor(conn: ServerConn, p: HeadParse) {
    this.#conn = conn;
    this.#p = p;
  }

  #x(): ExchangeExtra {
    return this.#extra ??= {
      target: null,
      controller: null,
      completed: null,
      settle: null,
      error: null,
      upgraded: null,
      upgradeDone: null,
      endUpgrade: null,
    };
  }

  /** The connection taken over by `upgrade()`, or null. */
  get upgraded(): UpgradedConnection | null {
    return this.#extra === null ? null : this.#extra.upgraded;
  }

  /** Settles when an upgraded connection is released. */
  get upgradeDone(): Promise<void> | null {
    return this.#extra === null ? null : this.#extra.upgradeDone;
  }

  /** Ends the hold on an upgraded connection. */
  endUpgrade(): void {
    this.#extra?.endUpgrade?.();
  }

  /** Records an upgrade in progress. */
  setUpgrade(upgraded: UpgradedConnection, done: Promise<void>, end: () => void): void {
    const x = this.#x();
    x.upgraded = upgraded;
    x.upgradeDone = done;
    x.endUpgrade = end;
  }

  get remoteAddr(): Deno.NetAddr {
    return this.#conn.remoteAddr;
  }

  get scheme(): string {
    return this.#conn.scheme;
  }

  get defaultHost(): string {
    return this.#conn.defaultHost;
  }

  get maxBodySize(): number {
    return this.#conn.maxBodySize;
  }

  get localAddr(): Deno.NetAddr {
    return this.#conn.localAddr;
  }

  get method(): string {
    return this.#p.method;
  }

  get version(): "HTTP/1.0" | "HTTP/1.1" {
    return this.#p.minor === 0 ? "HTTP/1.0" : "HTTP/1.1";
  }

  get target(): string {
    const x = this.#x();
    return x.target ??= latin1(this.#p.buf, this.#p.targetStart, this.#p.targetEnd);
  }

  get signal(): AbortSignal {
    const x = this.#x();
    x.controller ??= new AbortController();
    if (this.#conn.shuttingDown && !x.controller.signal.aborted) {
      x.controller.abort(shutdownReason());
    }
    return x.controller.signal;
  }

  get completed(): Promise<void> {
    const x = this.#x();
    if (x.completed === null) {
      if (this.#outcome === 1) x.completed = Promise.resolve();
      else if (this.#outcome === 2) x.completed = Promise.reject(x.error);
      else {
        x.completed = new Promise<void>((resolve, reject) => {
          x.settle = [resolve, reject];
        });
      }
      x.completed.catch(() => {});
    }
    return x.completed;
  }

  /** The response was written (or failed). */
  finish(error?: unknown): void {
    if (this.#outcome !== 0) return;
    const x = this.#extra;
    if (error === undefined) {
      this.#outcome = 1;
      x?.settle?.[0]();
    } else {
      this.#outcome = 2;
      const y = this.#x();
      y.error = error;
      y.settle?.[1](error);
      this.abort(error);
    }
  }

  abort(reason: unknown): void {
    const controller = this.#extra?.controller;
    if (controller && !controller.signal.aborted) controller.abort(reason);
  }

  upgrade(init: UpgradeInit = {}): Promise<UpgradedConnection> {
    return this.#conn.upgrade(this, init);
  }
}

function shutdownReason(): DOMException {
  return new DOMException("The server is shutting down", "AbortError");
}

/** See the module documentation. */
export class ServerConn {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  deadline = 0;
  shuttingDown = false;
  #conn: Deno.Conn;
  #config: ServerConfig;
  #reader: BufferedReader;
  #phase = IDLE;
  #out = new Uint8Array(OUT_SIZE);
  #bodyView = this.#out.subarray(RESERVE);
  /** `http` or `https`. */
  readonly scheme: string;
  /** `host:port` of the local address, for requests without a Host value. */
  readonly defaultHost: string;
  /** The cap for buffered body reads. */
  readonly maxBodySize: number;
  #closed = false;
  #exchange: Exchange | null = null;
  #keep = true;
  #body: BodyReader | null = null;
  #expect = false;
  #kill!: () => void;
  #headStarted = false;
  #headCap: number;
  #cStatus = -1;
  #cText = "";
  #cType = "";
  #cVariant = 0;
  #cDate = "";
  #cLength = 0;
  #cView: Uint8Array | null = null;
  #plainLength = 0;
  #onFirstByte = () => {
    this.#phase = HEAD;
    this.deadline = this.#config.clock.now + this.#config.headersTimeout;
  };

  constructor(conn: Deno.Conn, info: TcpConnectionInfo, config: ServerConfig) {
    this.#conn = conn;
    this.#config = config;
    this.killed = new Promise<void>((resolve) => (this.#kill = resolve));
    this.remoteAddr = info.remoteAddr;
    this.localAddr = info.localAddr;
    const local = info.localAddr;
    const host = local.hostname.includes(":") ? `[${local.hostname}]` : local.hostname;
    this.defaultHost = `${host}:${local.port}`;
    this.scheme = config.scheme;
    this.maxBodySize = config.maxBodySize;
    this.#reader = new BufferedReader(this.#source(), { bufferSize: 16384, stableViews: true });
    this.#headCap = config.limits.maxStartLine + config.limits.maxHeaderBytes + 4;
  }

  /** The connection's reads, with a stall deadline while a handler reads the body. */
  #source(): { read(p: Uint8Array): Promise<number | null> } {
    const conn = this.#conn;
    const stalled = async (p: Uint8Array): Promise<number | null> => {
      this.deadline = this.#config.clock.now + this.#config.stallTimeout;
      try {
        return await conn.read(p);
      } finally {
        this.deadline = 0;
      }
    };
    return { read: (p) => this.#phase !== ACTIVE ? conn.read(p) : stalled(p) };
  }

  /** Called by the server's sweep when `deadline` has passed. */
  expire(): void {
    if (this.#phase === HEAD) {
      // 408, then close; a client that does not take the few bytes within a
      // second is closed anyway.
      const text = errorText(408, true, this.#config.clock.dateLine);
      const timer = setTimeout(() => this.close(), 1000);
      this.#conn.write(encoder.encode(text)).catch(() => {}).finally(() => {
        clearTimeout(timer);
        this.close();
      });
    } else {
      this.close();
    }
  }

  /** Starts a graceful shutdown of this connection. */
  shutdown(): void {
    this.shuttingDown = true;
    this.#exchange?.abort(shutdownReason());
    this.#exchange?.endUpgrade();
    if (this.#phase === IDLE) this.close();
  }

  /** Settles (with undefined) when {@linkcode ServerConn.kill} is called. */
  readonly killed: Promise<void>;

  /** Closes the connection and stops waiting for its handler (forced shutdown). */
  kill(): void {
    this.close();
    this.#exchange?.abort(shutdownReason());
    this.#kill();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    const conn = this.#conn;
    this.deadline = this.#config.clock.now + this.#config.stallTimeout;
    let off = 0;
    while (off < bytes.length) off += await conn.write(off === 0 ? bytes : bytes.subarray(off));
    this.deadline = this.#phase === ACTIVE ? 0 : this.deadline;
  }

  /** Serves requests until the connection should close. */
  async run(): Promise<void> {
    const config = this.#config;
    const reader = this.#reader;
    const conn = this.#conn;
    let first = true;
    try {
      for (;;) {
        if (this.shuttingDown || this.#closed) return;
        this.#phase = IDLE;
        this.deadline = config.clock.now +
          (first ? config.headersTimeout : config.keepAliveTimeout);
        first = false;
        let p: HeadParse | null = null;
        try {
          // The common case: one read straight into the reader's buffer, one
          // parse. readHead for the rest (empty lines first, a head in
          // pieces, the end of the stream).
          let view: Uint8Array;
          let length: number;
          if (reader.buffered === 0) {
            // The bytes land at the start of the reserved view: parse them there.
            view = reader.reserve(this.#headCap);
            const n = await conn.read(view);
            reader.commit(n);
            if (n === null) return;
            length = n;
          } else {
            view = reader.peekBuffered();
            length = view.length;
          }
          if (length > 0) {
            this.#phase = HEAD;
            this.deadline = config.clock.now + config.headersTimeout;
            if (view[0] !== 13 && view[0] !== 10) {
              p = parseHead(view, 0, length, REQUEST, config.limits);
              if (p !== null) reader.consume(p.end);
            }
          }
          p ??= await readHead(reader, REQUEST, config.limits, this.#onFirstByte);
        } catch (error) {
          if (error instanceof ProtocolError && !this.#closed) {
            if (error.code !== "UNEXPECTED_EOF") {
              await this.#sendError(statusForError(error), null);
            }
          }
          return;
        }
        if (p === null) return;
        this.#phase = ACTIVE;
        this.deadline = 0;
        // The prologue is synchronous: checks, the request, the handler call.
        const result = this.#begin(p);
        if (typeof result === "number") {
          await this.#sendError(result, p);
          return;
        }
        let response: Response | null = result instanceof Response ? result : null;
        if (response === null) {
          try {
            response = await result;
          } catch (error) {
            response = await this.#handlerFailed(error);
          }
        }
        if (!(response instanceof Response)) {
          response = await this.#handlerFailed(
            new TypeError("Cannot send response: the handler did not return a Response"),
          );
        }
        // The fast path: a plain text/JSON response, nothing else to do.
        const exchange = this.#exchange!;
        if (this.#body === null && exchange.upgraded === null && !this.shuttingDown) {
          const status = response.status;
          const plain = status >= 200 && bodyHint(response) === PLAIN
            ? this.#plainBytes(status, p, this.#keep)
            : null;
          if (plain !== null) {
            this.#headStarted = true;
            this.deadline = config.clock.now + config.stallTimeout;
            try {
              const n = await conn.write(plain);
              if (n < plain.length) await this.#write(plain.subarray(n));
            } catch (error) {
              exchange.finish(error);
              throw error;
            }
            this.deadline = 0;
            exchange.finish();
            if (config.accessLog !== null) this.#log(p, status, this.#plainLength);
            this.#exchange = null;
            if (!this.#keep) return;
            continue;
          }
        }
        if (!(await this.#finish(p, response))) return;
      }
    } catch {
      // The connection failed (reset, closed by a timeout or a shutdown).
    } finally {
      this.#phase = IDLE;
      this.deadline = 0;
    }
  }

  /**
   * Checks the head, sets up the body and the exchange, and calls the
   * handler. Returns its result, or the status of an error to answer
   * (then close).
   */
  #begin(p: HeadParse): Response | Promise<Response> | number {
    const config = this.#config;
    let body: BodyReader | null = null;
    let keepAlive: boolean;
    let expectContinue = false;
    let absolute: boolean;
    try {
      checkHost(p);
      absolute = checkTarget(p);
      keepAlive = p.minor === 1;
      if (p.connectionCount > 0) {
        const tokens = fieldValues(p, p.connection, p.connectionCount).join(",").toLowerCase();
        if (/(^|,)[ \t]*close[ \t]*(,|$)/.test(tokens)) keepAlive = false;
        else if (p.minor === 0 && /(^|,)[ \t]*keep-alive[ \t]*(,|$)/.test(tokens)) keepAlive = true;
      }
      if (p.expectCount > 0) {
        const expect = fieldValues(p, p.expect, p.expectCount).join(",").trim().toLowerCase();
        if (expect !== "100-continue" || p.expectCount > 1) return 417;
        expectContinue = p.minor === 1;
      }
      if (p.transferEncodingCount > 0 || p.contentLengthCount > 0) {
        const framing = requestFraming(
          p.minor,
          p.transferEncodingCount > 0
            ? fieldValues(p, p.transferEncoding, p.transferEncodingCount)
            : null,
          p.contentLengthCount > 0 ? fieldValues(p, p.contentLength, p.contentLengthCount) : null,
        );
        if (framing.kind === "length" && framing.length > 0) {
          body = this.#newBody(LENGTH, framing.length, expectContinue);
        } else if (framing.kind === "chunked") {
          body = this.#newBody(CHUNKED, 0, expectContinue);
        }
      }
    } catch (error) {
      if (error instanceof ProtocolError) return statusForError(error);
      throw error;
    }
    this.#body = body;
    this.#keep = keepAlive;
    this.#expect = expectContinue;
    this.#headStarted = false;
    const exchange = new Exchange(this, p);
    this.#exchange = exchange;
    const request = new ServerRequest(p, absolute, body, exchange);
    try {
      return config.handler(request as unknown as Request, exchange);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The response for a handler that threw (or returned no Response). */
  async #handlerFailed(error: unknown): Promise<Response> {
    const body = this.#body;
    if (body !== null && !body.done) this.#keep = false;
    return await this.#errorResponse(error, body);
  }

  /**
   * Everything but the fast path: upgrades, unread bodies, other kinds of
   * responses. Resolves to whether to keep the connection.
   */
  async #finish(p: HeadParse, response: Response): Promise<boolean> {
    const config = this.#config;
    const exchange = this.#exchange!;
    const body = this.#body;
    let keepAlive = this.#keep;
    // A 101 from upgradeWebSocket takes the connection (or, from elsewhere, becomes a 500).
    if (response.status === 101 && exchange.upgraded === null) {
      response = await acceptWebSocketResponse(response, exchange);
    }
    if (exchange.upgraded !== null) {
      cancelBody(response);
      exchange.finish();
      await exchange.upgradeDone;
      this.#exchange = null;
      return false;
    }
    if (this.shuttingDown) keepAlive = false;
    if (body !== null && !body.done) {
      // Unread body: keep the connection only if it can be drained cheaply.
      if (body.failed || (this.#expect && !body.disturbed)) keepAlive = false;
      else if (body.length > config.maxDrainSize) keepAlive = false;
    }
    let sent: number;
    try {
      this.#keep = keepAlive;
      this.#headStarted = true;
      const status = response.status;
      // The hint first: reading bodyUsed would turn a lazy body into a stream.
      const plain = status >= 200 && bodyHint(response) === PLAIN
        ? this.#plainBytes(status, p, keepAlive)
        : null;
      if (plain !== null) {
        await this.#write(plain);
        sent = this.#plainLength;
      } else {
        sent = await this.#writeResponse(response, p);
      }
      keepAlive = this.#keep;
      exchange.finish();
    } catch (error) {
      exchange.finish(error);
      this.#log(p, response.status, -1);
      this.#exchange = null;
      throw error;
    }
    this.#log(p, response.status, sent);
    this.#exchange = null;
    if (body !== null && !body.done) {
      if (keepAlive) keepAlive = await body.drain(config.maxDrainSize);
      if (!keepAlive) await this.#linger();
    }
    return keepAlive;
  }

  #newBody(kind: number, length: number, expectContinue: boolean): BodyReader {
    let sentContinue = false;
    return new BodyReader(this.#reader, kind, length, {
      beforeFirstRead: expectContinue
        ? async () => {
          // Once the final head is out, a 100 would be read as the body.
          if (!sentContinue && !this.#headStarted) {
            sentContinue = true;
            await this.#write(CONTINUE);
          }
        }
        : undefined,
    });
  }

  async #errorResponse(error: unknown, body: BodyReader | null): Promise<Response> {
    if (
      error instanceof ProtocolError &&
      ((body !== null && body.error === error) || bodyErrors.has(error))
    ) {
      const status = statusForError(error);
      return new Response(STATUS_TEXT[status as StatusCode], { status });
    }
    try {
      const response = await this.#config.onError(error);
      if (response instanceof Response) return response;
    } catch {
      // fall through to the plain 500
    }
    return new Response("Internal Server Error", { status: 500 });
  }

  /**
   * Writes the response. Resolves to the body bytes sent; clears `#keep`
   * when the connection must close afterwards.
   */
  async #writeResponse(res: Response, p: HeadParse): Promise<number> {
    let keepAlive = this.#keep;
    const status = res.status;
    if (status < 200) throw new TypeError(`Cannot send response: status ${status}`);
    let hint = bodyHint(res);
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
    if (scratchClose) keepAlive = this.#keep = false;
    if (!scratchDate) head += this.#config.clock.dateLine;
    const isHead = p.method === "HEAD";
    const noBody = status === 204 || status === 304;
    if (noBody) {
      if (hint === 0) await res.body?.cancel().catch(() => {});
      if (declared !== null && status === 304) head += `content-length: ${declared}\r\n`;
      head += connectionLine(keepAlive, p.minor) + "\r\n";
      await this.#writeHead(head);
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
        await this.#writeHead(head);
      } else if (bodyBytes === null && head.length <= RESERVE) {
        const at = RESERVE - head.length;
        putText(this.#out, at, head);
        await this.#write(this.#out.subarray(at, RESERVE + n));
      } else {
        await this.#writeHead(head);
        await this.#write(bodyBytes ?? this.#bodyView.subarray(0, n));
      }
      return n;
    }
    if (hint === BYTES && hintLength <= 1 << 20) {
      const bytes = await res.bytes();
      head += `content-length: ${bytes.length}\r\n` + connectionLine(keepAlive, p.minor) + "\r\n";
      if (isHead) {
        await this.#writeHead(head);
      } else if (head.length <= RESERVE && bytes.length <= this.#bodyView.length) {
        const at = RESERVE - head.length;
        putText(this.#out, at, head);
        this.#bodyView.set(bytes);
        await this.#write(this.#out.subarray(at, RESERVE + bytes.length));
      } else {
        await this.#writeHead(head);
        await this.#write(bytes);
      }
      return bytes.length;
    }
    // A stream (or a sized body read as one).
    let length = -1;
    if (hint === SIZED || hint === BYTES) length = hintLength;
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
      await this.#writeHead(head);
      return 0;
    }
    if (isHead) {
      await stream.cancel().catch(() => {});
      if (length >= 0) head += `content-length: ${length}\r\n`;
      head += connectionLine(keepAlive, p.minor) + "\r\n";
      await this.#writeHead(head);
      return 0;
    }
    const chunked = length < 0 && p.minor === 1;
    if (length < 0 && !chunked) keepAlive = this.#keep = false;
    if (length >= 0) head += `content-length: ${length}\r\n`;
    else if (chunked) head += "transfer-encoding: chunked\r\n";
    head += connectionLine(keepAlive, p.minor) + "\r\n";
    await this.#writeHead(head);
    const sent = await this.#writeStream(stream, length, chunked);
    if (sent < 0) this.#keep = false;
    return sent;
  }

  /**
   * The bytes of a plain `new Response(text)` / `Response.json()` (no header
   * but Content-Type), head and body together, or null when too big for
   * the output buffer. The bytes are remembered and reused while the next
   * responses are identical (same text, type, status, Date second and
   * connection handling). Sets `#plainLength`.
   */
  #plainBytes(status: number, p: HeadParse, keepAlive: boolean): Uint8Array | null {
    const text = hintText;
    const type = hintType;
    const isHead = p.method === "HEAD";
    const variant = (keepAlive ? 1 : 0) | (p.minor === 0 ? 2 : 0) | (isHead ? 4 : 0);
    const dateLine = this.#config.clock.dateLine;
    if (
      status === this.#cStatus && variant === this.#cVariant && text === this.#cText &&
      type === this.#cType && dateLine === this.#cDate
    ) {
      this.#plainLength = this.#cLength;
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
    this.#plainLength = n;
    return bytes;
  }

  async #writeHead(head: string): Promise<void> {
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
    await this.#writeHead(size + "\r\n");
    await this.#write(chunk);
    await this.#write(CRLF);
  }

  async #sendError(status: number, p: HeadParse | null): Promise<void> {
    try {
      await this.#write(encoder.encode(errorText(status, true, this.#config.clock.dateLine)));
      if (p !== null) this.#log(p, status, -1);
      else this.#logRaw("-", status);
      await this.#linger();
    } catch {
      // the client is gone
    }
  }

  /**
   * Half-closes and reads what the client still sends for a moment, so the
   * response is not lost to a reset from unread bytes (a lingering close).
   */
  async #linger(): Promise<void> {
    try {
      await this.#conn.closeWrite();
    } catch {
      return;
    }
    const buf = new Uint8Array(16384);
    const until = Date.now() + 2000;
    let total = 0;
    const timer = setTimeout(() => this.close(), 2000);
    try {
      while (Date.now() < until && total < 1 << 20) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        total += n;
      }
    } catch {
      // closed
    } finally {
      clearTimeout(timer);
    }
  }

  #log(p: HeadParse, status: number, bytes: number): void {
    const log = this.#config.accessLog;
    if (log === null) return;
    const line = `${p.method} ${latin1(p.buf, p.targetStart, p.targetEnd)} HTTP/1.${p.minor}`;
    this.#logRaw(line, status, bytes);
  }

  #logRaw(requestLine: string, status: number, bytes = -1): void {
    const log = this.#config.accessLog;
    if (log === null) return;
    log(
      `${this.remoteAddr.hostname} - - [${clfDate(new Date(this.#config.clock.now))}] "${
        escapeLog(requestLine)
      }" ${status} ${bytes < 0 ? "-" : bytes}`,
    );
  }

  /** Takes over the connection for a tunnel or a protocol switch. */
  async upgrade(exchange: Exchange, init: UpgradeInit): Promise<UpgradedConnection> {
    if (exchange !== this.#exchange || exchange.upgraded !== null) {
      throw new TypeError("Cannot upgrade: the request is finished or was upgraded already");
    }
    const status = init.status ?? 200;
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new RangeError(`Cannot upgrade: status ${status} is not from 100 to 599`);
    }
    const statusText = init.statusText ?? STATUS_TEXT[status as StatusCode] ?? "";
    assertReason(statusText);
    let head = `HTTP/1.1 ${status} ${statusText}\r\n`;
    for (const [name, value] of fieldPairs(init.headers)) head += `${name}: ${value}\r\n`;
    let end!: () => void;
    const done = new Promise<void>((resolve) => (end = resolve));
    let ended = false;
    const endUpgrade = () => {
      if (ended) return;
      ended = true;
      end();
    };
    const conn = this.#conn;
    const reader = this.#reader;
    const upgraded: UpgradedConnection = {
      readable: new ReadableStream<Uint8Array>({
        pull: async (controller) => {
          const view = reader.peekBuffered();
          if (view.length > 0) {
            controller.enqueue(view.slice());
            reader.consume(view.length);
            return;
          }
          const buf = new Uint8Array(65536);
          let n: number | null;
          try {
            n = await conn.read(buf);
          } catch (error) {
            controller.error(error);
            return;
          }
          if (n === null) controller.close();
          else controller.enqueue(buf.subarray(0, n));
        },
      }, { highWaterMark: 0 }),
      writable: new WritableStream<Uint8Array>({
        write: async (chunk) => {
          let off = 0;
          while (off < chunk.length) off += await conn.write(chunk.subarray(off));
        },
        close: async () => {
          try {
            await conn.closeWrite();
          } catch {
            // already closed
          }
        },
      }),
      close: () => {
        this.close();
        endUpgrade();
      },
    };
    exchange.setUpgrade(upgraded, done, endUpgrade);
    await this.#write(encoder.encode(head + "\r\n"));
    this.#logRaw(`${exchange.method} ${exchange.target} ${exchange.version}`, status);
    return upgraded;
  }
}

function cancelBody(res: Response): void {
  if (!res.bodyUsed && bodyHint(res) === 0) res.body?.cancel().catch(() => {});
}

function connectionLine(keepAlive: boolean, minor: number): string {
  if (!keepAlive) return "connection: close\r\n";
  return minor === 0 ? "connection: keep-alive\r\n" : "";
}

/** Validates the request-target form; returns whether it is absolute-form. */
function checkTarget(p: HeadParse): boolean {
  const b = p.buf[p.targetStart];
  if (b === 47 /* / */) return false;
  const length = p.targetEnd - p.targetStart;
  if (p.method === "CONNECT") return false;
  if (b === 42 /* * */ && length === 1 && p.method === "OPTIONS") return false;
  if (b === 104 || b === 72) {
    const target = latin1(p.buf, p.targetStart, p.targetEnd);
    if (/^https?:\/\/[^/?#]/i.test(target)) return true;
  }
  throw new ProtocolError("BAD_REQUEST_LINE", "Cannot read request: malformed request-target");
}

function errorText(status: number, close: boolean, dateLine = ""): string {
  const text = STATUS_TEXT[status as StatusCode] ?? "Error";
  return `HTTP/1.1 ${status} ${text}\r\n${dateLine}content-type: text/plain;charset=utf-8\r\n` +
    `content-length: ${text.length + 1}\r\n${close ? "connection: close\r\n" : ""}\r\n${text}\n`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function clfDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${
    pad(d.getUTCHours())
  }:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

// deno-lint-ignore no-control-regex
const LOG_ESCAPE_REGEXP = /[\x00-\x1f\x7f-\x9f"\\]/g;

/** Escapes control bytes, quotes and backslashes for a log line. */
export function escapeLog(text: string): string {
  return text.replace(
    LOG_ESCAPE_REGEXP,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}
