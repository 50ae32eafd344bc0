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
import { type ByteConn, byteConn } from "../net/_byte_conn.ts";
import type { DuplexConn } from "../net/duplex_conn.ts";
import { writeAll } from "../net/_io.ts";
import { BodyReader, CHUNKED, LENGTH } from "./_body_reader.ts";
import { requestFraming } from "./_framing.ts";
import {
  checkHost,
  fieldValues,
  findField,
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
  hintsActive,
  newBodyHint,
  PLAIN,
  settleResponse,
  SIZED,
  UNKNOWN,
} from "./_response_hints.ts";
import { compressible, type CompressionSettings, compressResponse } from "./_compression.ts";
import { bodyErrors, ServerRequest } from "./_server_request.ts";
import { assertReason, fieldPairs } from "./_validate.ts";
import { acceptWebSocketResponse } from "./_web_socket.ts";
import { STATUS_TEXT, type StatusCode } from "./status_code.ts";
import { cancelBody, errorText, ResponseWriter } from "./_server_response.ts";
import { Exchange, type ExchangeHost, shutdownReason } from "./_server_exchange.ts";
import { accessLine } from "./_access_log.ts";
import { upgradedConnection } from "./_server_upgrade.ts";
import type { ServeHandlerInfo, UpgradedConnection, UpgradeInit } from "./_server_types.ts";

/** A deadline the server's clock sweeps (a `TcpServer` connection's `info.deadline`). */
export interface ServerDeadline {
  /** When the current wait ends (ms since the epoch), or 0. */
  at: number;
  /** What happens then; the connection sets it. */
  onExpire: (reason: "idle" | "total") => void;
}

/** What a server connection learns from whoever accepted it. */
export interface ServerConnInfo {
  remoteAddr: Deno.NetAddr;
  localAddr: Deno.NetAddr;
  deadline: ServerDeadline;
}

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
  /** 1 normally; less (down to 0.05) near the connection cap: scales head and keep-alive timeouts. */
  pressure: number;
  /** Response compression, or null when off. */
  compression: CompressionSettings | null;
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
  tick(now: number = Date.now()): void {
    this.now = now;
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.dateLine = `date: ${new Date(second * 1000).toUTCString()}\r\n`;
    }
  }
}

const IDLE = 0;
const HEAD = 1;
const ACTIVE = 2;

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
const ACCEPT_ENCODING = new TextEncoder().encode("accept-encoding");
const RANGE = new TextEncoder().encode("range");
const encoder = new TextEncoder();

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

/** See the module documentation. */
export class ServerConn implements ExchangeHost {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  shuttingDown = false;
  #conn: ByteConn;
  /** The current wait's deadline, swept by the server's clock; `at` is 0 when none. */
  #deadline: ServerDeadline;
  #config: ServerConfig;
  #reader: BufferedReader;
  #phase = IDLE;
  /** A read is kept pending while a handler runs, to notice a client that leaves. */
  #watching = false;
  /** The client closed the connection while a handler ran. */
  disconnected = false;
  #rw: ResponseWriter;
  /** The body hint scratch record of this connection. */
  #hint = newBodyHint();
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
  /** When the current idle or head wait began, and its unscaled limit (for `tighten`). */
  #waitStart = 0;
  #waitLimit = 0;
  #onFirstByte = () => {
    this.#phase = HEAD;
    this.#wait(this.#config.headersTimeout);
  };

  /** Starts an idle or head wait of `limit` ms, scaled by the server's pressure. */
  #wait(limit: number): void {
    const now = this.#config.clock.now;
    this.#waitStart = now;
    this.#waitLimit = limit;
    this.#deadline.at = limit === 0 ? 0 : now + limit * this.#config.pressure;
  }

  /**
   * Applies a higher pressure to the wait in progress: an idle keep-alive
   * connection or a slow head gets less time than it was first given.
   */
  tighten(pressure: number): void {
    if (this.#phase === ACTIVE || this.#deadline.at === 0 || this.#waitLimit === 0) return;
    const at = this.#waitStart + this.#waitLimit * pressure;
    if (at < this.#deadline.at) this.#deadline.at = at;
  }

  constructor(conn: DuplexConn, info: ServerConnInfo, config: ServerConfig) {
    this.#conn = byteConn(conn);
    this.#deadline = info.deadline;
    info.deadline.onExpire = () => this.expire();
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
    this.#rw = new ResponseWriter((bytes) => this.#write(bytes), config.clock);
    this.#headCap = config.limits.maxStartLine + config.limits.maxHeaderBytes + 4;
  }

  /** The connection's reads, with a stall deadline while a handler reads the body. */
  #source(): { read(p: Uint8Array): Promise<number | null> } {
    const conn = this.#conn;
    const stalled = async (p: Uint8Array): Promise<number | null> => {
      this.#deadline.at = this.#config.clock.now + this.#config.stallTimeout;
      try {
        return await conn.read(p);
      } finally {
        this.#deadline.at = 0;
      }
    };
    return {
      read: (p) => this.#phase !== ACTIVE || this.#watching ? conn.read(p) : stalled(p),
    };
  }

  /** The response compressed when the request and the response allow it (see `_compression.ts`). */
  #compress(p: HeadParse, response: Response, settings: CompressionSettings): Response {
    // Cheap checks first: most responses are small or not compressible.
    const out = this.#hint;
    const hint = bodyHint(response, out);
    let length = -1;
    if (hint === PLAIN) {
      if (out.text.length < settings.threshold || !compressible(out.type)) return response;
      length = out.text.length;
    } else if (hint === BYTES || hint === SIZED) {
      if (out.length < settings.threshold) return response;
      length = out.length;
    }
    const accept = findField(p, ACCEPT_ENCODING);
    const range = findField(p, RANGE) !== null;
    return compressResponse(
      response,
      p.method,
      accept,
      range,
      length,
      settings,
      hint !== UNKNOWN,
    ) ??
      response;
  }

  /**
   * Keeps one read pending while a handler runs (its request body, if any,
   * read to the end): EOF or an error means the client left, and the
   * request's signal aborts. Bytes that arrive instead (a pipelined
   * request) stay buffered for the next round.
   */
  #watchDisconnect(): void {
    const reader = this.#reader;
    if (this.#watching || this.#closed || reader.buffered > 0 || reader.eof) return;
    this.#watching = true;
    const settled = (more: boolean) => {
      this.#watching = false;
      if (more) return;
      this.disconnected = true;
      this.#exchange?.abort(new DOMException("The client disconnected", "AbortError"));
    };
    reader.fill().then(settled, () => settled(false));
  }

  /** Called by the server's clock when the deadline has passed. */
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
    this.#deadline.at = this.#config.clock.now + this.#config.stallTimeout;
    await writeAll(this.#conn, bytes);
    this.#deadline.at = this.#phase === ACTIVE ? 0 : this.#deadline.at;
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
        this.#wait(first ? config.headersTimeout : config.keepAliveTimeout);
        first = false;
        let p: HeadParse | null = null;
        try {
          // The common case: one read straight into the reader's buffer, one
          // parse. readHead for the rest (empty lines first, a head in
          // pieces, the end of the stream).
          let view: Uint8Array;
          let length: number;
          if (reader.buffered === 0 && !reader.reading) {
            // The bytes land at the start of the reserved view: parse them there.
            view = reader.reserve(this.#headCap);
            const n = await conn.read(view);
            reader.commit(n);
            if (n === null) return;
            length = n;
          } else {
            if (reader.buffered === 0 && !(await reader.fill(this.#headCap))) return;
            view = reader.peekBuffered();
            length = view.length;
          }
          if (length > 0) {
            this.#phase = HEAD;
            this.#wait(config.headersTimeout);
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
        this.#deadline.at = 0;
        // The prologue is synchronous: checks, the request, the handler call.
        const result = this.#begin(p);
        if (typeof result === "number") {
          await this.#sendError(result, p);
          return;
        }
        let response: Response | null = result instanceof Response ? result : null;
        if (response === null) {
          // The handler takes its time: notice if the client leaves meanwhile.
          if (this.#body === null || this.#body.done) this.#watchDisconnect();
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
        const exchange = this.#exchange!;
        if (this.disconnected && exchange.upgraded === null) {
          // Nobody to answer: the response is not delivered.
          cancelBody(response);
          exchange.finish(new DOMException("The client disconnected", "AbortError"));
          this.#exchange = null;
          return;
        }
        if (exchange.upgraded === null && !hintsActive()) {
          response = await settleResponse(response);
        }
        if (config.compression !== null && exchange.upgraded === null) {
          response = this.#compress(p, response, config.compression);
        }
        // The fast path: a plain text/JSON response, nothing else to do.
        if (this.#body === null && exchange.upgraded === null && !this.shuttingDown) {
          const status = response.status;
          const plain = status >= 200 && bodyHint(response, this.#hint) === PLAIN
            ? this.#rw.plainBytes(status, p, this.#keep, this.#hint)
            : null;
          if (plain !== null) {
            this.#headStarted = true;
            this.#deadline.at = config.clock.now + config.stallTimeout;
            try {
              const n = await conn.write(plain);
              if (n < plain.length) await this.#write(plain.subarray(n));
            } catch (error) {
              exchange.finish(error);
              throw error;
            }
            this.#deadline.at = 0;
            exchange.finish();
            if (config.accessLog !== null) this.#log(p, status, this.#rw.plainLength);
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
      this.#deadline.at = 0;
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
      return config.handler(ServerRequest.handOut(request), exchange);
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
      const plain = status >= 200 && bodyHint(response, this.#hint) === PLAIN
        ? this.#rw.plainBytes(status, p, keepAlive, this.#hint)
        : null;
      if (plain !== null) {
        await this.#write(plain);
        sent = this.#rw.plainLength;
      } else {
        sent = await this.#rw.writeResponse(response, p, keepAlive);
        keepAlive = this.#keep = this.#rw.keep;
      }
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
      onEnd: () => {
        if (this.#phase === ACTIVE && !this.#headStarted) this.#watchDisconnect();
      },
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
    log(accessLine(this.remoteAddr.hostname, requestLine, status, bytes, this.#config.clock.now));
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
    const upgraded = upgradedConnection(this.#conn, this.#reader, () => {
      this.close();
      endUpgrade();
    });
    exchange.setUpgrade(upgraded, done, endUpgrade);
    await this.#write(encoder.encode(head + "\r\n"));
    this.#logRaw(`${exchange.method} ${exchange.target} ${exchange.version}`, status);
    return upgraded;
  }
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
