/**
 * One client connection: writes a request (validated before any byte goes
 * out), reads interim and final response heads, and hands out the body as a
 * stream, tracking whether the connection can carry another request.
 * `HttpConnection` is the public face; `HttpClient` pools these.
 *
 * @module
 */
import { BufferedReader } from "../net/buffered_reader.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import type { DuplexConn } from "../net/duplex_conn.ts";
import { BodyReader, CHUNKED, CLOSE, LENGTH, NONE } from "./_body_reader.ts";
import { DEFAULT_CHUNKED_LIMITS } from "./_chunked_parser.ts";
import { addDeadline, cancelDeadline, type DeadlineEntry } from "../net/deadline_clock.ts";
import { responseFraming } from "./_framing.ts";
import {
  fieldValues,
  fillHeaders,
  type HeadLimits,
  type HeadParse,
  latin1,
  parseHead,
  readHead,
  RESPONSE,
} from "./_head_parser.ts";
import type { HttpConnectionOptions, HttpRequestInit } from "./_client_types.ts";
import { responseLimits } from "./_limits.ts";
import {
  assertFieldName,
  assertFieldValue,
  assertMethod,
  assertTarget,
  trimOws,
} from "./_validate.ts";

/** Settings of a client connection. */
export interface ClientSettings {
  /** The Host header value. */
  host: string;
  /** Milliseconds from the request written to the response head. */
  headersTimeout: number;
  /** Response head limits. */
  limits: HeadLimits;
  /** The most 1xx responses before the final one. */
  max1xx: number;
  /** A User-Agent value, or null. */
  userAgent: string | null;
}

/** Called when the exchange is over: whether the connection can be reused. */
export type ReleaseHook = (reusable: boolean) => void;

/** An error raised before any response byte arrived on a reused connection. */
export class StaleConnectionError extends Error {
  constructor(cause: unknown) {
    super("Cannot send request: the connection was closed by the server", { cause });
    this.name = "StaleConnectionError";
  }
}

const encoder = new TextEncoder();
const CONTINUE_WAIT = 1000;
const SMALL_BODY = 65536;
const DRAIN_ON_CANCEL = 65536;
const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

interface Writes {
  write(bytes: Uint8Array): Promise<void>;
  closeWrite(): Promise<void>;
}

/** A prepared body: bytes to send with the head, or a stream. */
interface PreparedBody {
  bytes: Uint8Array | null;
  stream: ReadableStream<Uint8Array> | null;
  type: string | null;
  replayable: boolean;
}

/** See the module documentation. */
export class ClientConn {
  readonly conn: DuplexConn;
  readonly reader: BufferedReader;
  #writes: Writes;
  #settings: ClientSettings;
  #busy = false;
  #broken = false;
  #closed = false;
  #used = 0;
  #abortReason: unknown = null;
  /** True between a finished exchange and the next request's write. */
  #idle = false;
  /** The connection was closed because the server spoke while it was idle. */
  #unsolicited = false;
  /** When the connection went idle (for pool eviction). */
  idleSince = 0;
  /**
   * Called when the connection is closed while idle because the server sent
   * bytes or EOF that no request asked for (the pool drops it).
   */
  onIdleClose: (() => void) | null = null;

  constructor(conn: DuplexConn, settings: ClientSettings) {
    this.conn = conn;
    this.#settings = settings;
    const rw = conn as Partial<Deno.Conn>;
    if (typeof (conn as Partial<Deno.TcpConn>).setNoDelay === "function") {
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // not a TCP connection after all
      }
    }
    if (typeof rw.read === "function" && typeof rw.write === "function") {
      const c = conn as unknown as Deno.Conn;
      this.reader = new BufferedReader(c, { bufferSize: 16384 });
      this.#writes = {
        async write(bytes: Uint8Array): Promise<void> {
          let off = 0;
          while (off < bytes.length) off += await c.write(off === 0 ? bytes : bytes.subarray(off));
        },
        async closeWrite(): Promise<void> {
          await c.closeWrite?.();
        },
      };
    } else {
      this.reader = new BufferedReader(conn.readable, { bufferSize: 16384 });
      const writer = conn.writable.getWriter();
      this.#writes = {
        write: (bytes) => writer.write(bytes),
        closeWrite: () => writer.close(),
      };
    }
  }

  /** Whether another request may be sent now. */
  get reusable(): boolean {
    return !this.#busy && !this.#broken && !this.#closed;
  }

  /** Whether an exchange is in progress (its body not yet read). */
  get busy(): boolean {
    return this.#busy;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many requests this connection carried. */
  get used(): number {
    return this.#used;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#broken = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  /**
   * Sends a request and resolves to the final response. The body stream
   * calls `release` when it ends; so do errors and bodiless responses.
   */
  async request(
    target: string,
    init: HttpRequestInit,
    release: ReleaseHook,
  ): Promise<Response> {
    if (this.#closed) {
      if (this.#unsolicited) {
        release(false);
        throw new StaleConnectionError(
          new ProtocolError(
            "UNSOLICITED",
            "Cannot send request: the server sent data on the idle connection",
          ),
        );
      }
      throw new TypeError("Cannot send request: the connection is closed");
    }
    if (this.#busy) {
      throw new TypeError(
        "Cannot send request while another is running: read or cancel the previous body first",
      );
    }
    const method = init.method ?? "GET";
    assertMethod(method);
    assertTarget(target);
    const prepared = isSimpleBody(init.body) ? simpleBody(init.body) : await prepareBody(init.body);
    const built = buildHead(
      method,
      target,
      init.headers,
      prepared,
      this.#settings,
      init.expectContinue === true,
    );
    const signal = init.signal;
    signal?.throwIfAborted();
    this.#busy = true;
    const reused = this.#used > 0;
    this.#used++;
    let released = false;
    const finish = (reusable: boolean) => {
      if (released) return;
      released = true;
      cleanup();
      if (!reusable) this.#broken = true;
      this.#busy = false;
      this.idleSince = Date.now();
      if (!reusable) this.close();
      else if (!this.#broken) this.#watchIdle();
      release(reusable && !this.#broken);
    };
    // Aborts and timeouts close the connection; pending reads then fail and
    // the reason replaces their error.
    const onAbort = () => {
      this.#abortReason ??= signal?.reason ?? new DOMException("Aborted", "AbortError");
      this.close();
    };
    let timer: DeadlineEntry | null = null;
    const armTimer = (ms: number, what: string) => {
      cancelDeadline(timer);
      timer = addDeadline(ms, () => {
        this.#abortReason ??= new DOMException(`Timed out ${what}`, "TimeoutError");
        this.close();
      });
    };
    const cleanup = () => {
      cancelDeadline(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    if (init.timeout !== undefined) armTimer(init.timeout, "waiting for the response");
    else if (this.#settings.headersTimeout > 0) {
      armTimer(this.#settings.headersTimeout, "waiting for the response head");
    }
    let gotBytes = false;
    try {
      // Head and a fixed body in one write.
      const expect = built.expectContinue;
      const head = built.head;
      let first: Uint8Array;
      if (prepared.bytes !== null && !expect) {
        first = new Uint8Array(head.length + prepared.bytes.length);
        putLatin1(first, head);
        first.set(prepared.bytes, head.length);
      } else {
        first = new Uint8Array(head.length);
        putLatin1(first, head);
      }
      // Anything the server sent before this request was written answers
      // no request of ours: never read it as the response (desync).
      if (this.reader.buffered > 0 || this.reader.eof) {
        this.#unsolicited = true;
        throw new StaleConnectionError(
          new ProtocolError(
            "UNSOLICITED",
            "Cannot send request: the server sent data on the idle connection",
          ),
        );
      }
      this.#idle = false;
      try {
        await this.#writes.write(first);
      } catch (error) {
        throw reused && this.#abortReason === null ? new StaleConnectionError(error) : error;
      }
      let upload: Promise<boolean> = Promise.resolve(true);
      let p: HeadParse | null = null;
      let interim = 0;
      const sendBody = () => {
        if (prepared.bytes !== null && expect) {
          upload = this.#writes.write(prepared.bytes).then(() => true, () => false);
        } else if (prepared.stream !== null) {
          upload = this.#pump(prepared.stream, built.chunked, built.length);
        }
      };
      if (!expect) sendBody();
      let waitingContinue = expect;
      for (;;) {
        if (waitingContinue) {
          const got = await this.#waitReadable(CONTINUE_WAIT);
          if (!got) {
            // No answer within the wait: send the body anyway (RFC 9110 §10.1.1).
            waitingContinue = false;
            sendBody();
          }
        }
        try {
          p = await this.#readHead();
        } catch (error) {
          if (!gotBytes && reused && this.#abortReason === null && isStale(error)) {
            throw new StaleConnectionError(error);
          }
          throw error;
        }
        gotBytes = true;
        if (p.status >= 200) break;
        if (p.status === 101) {
          throw new ProtocolError(
            "BAD_STATUS",
            "Cannot read response: unexpected 101 Switching Protocols",
          );
        }
        if (++interim > this.#settings.max1xx) {
          throw new ProtocolError(
            "TOO_MANY_INTERIM",
            `Cannot read response: more than ${this.#settings.max1xx} interim responses`,
          );
        }
        if (p.status === 100 && waitingContinue) {
          waitingContinue = false;
          sendBody();
        }
      }
      if (p.status > 599) {
        throw new ProtocolError("BAD_STATUS", `Cannot read response: status ${p.status}`);
      }
      // A final answer before the server agreed to the body: a 2xx means it
      // is reading anyway (an echo); anything else means it never will.
      let reusable = true;
      if (waitingContinue) {
        if (p.status < 300) sendBody();
        else reusable = false;
      }
      const framing = responseFraming(
        method,
        p.status,
        p.minor,
        p.transferEncodingCount > 0
          ? fieldValues(p, p.transferEncoding, p.transferEncodingCount)
          : null,
        p.contentLengthCount > 0 ? fieldValues(p, p.contentLength, p.contentLengthCount) : null,
      );
      if (framing.kind === "close" || (framing.kind === "chunked" && framing.close)) {
        reusable = false;
      }
      if (!keepAliveResponse(p) || built.close) reusable = false;
      if (init.timeout === undefined) cancelDeadline(timer);
      const headers = fillHeaders(p, new Headers());
      const statusText = latin1(p.buf, p.reasonStart, p.reasonEnd);
      const kind = framing.kind === "length"
        ? LENGTH
        : framing.kind === "chunked"
        ? CHUNKED
        : framing.kind === "close"
        ? CLOSE
        : NONE;
      const body = new BodyReader(
        this.reader,
        kind,
        framing.kind === "length" ? framing.length : 0,
        {
          onEnd: () => {
            const clean = this.reader.buffered === 0;
            upload.then((ok) => finish(reusable && ok && clean));
          },
          onError: () => finish(false),
        },
        { ...DEFAULT_CHUNKED_LIMITS, bareLf: true },
      );
      if (body.done || NULL_BODY_STATUS.has(p.status)) {
        if (!body.done) {
          // A 205 with a body: discard it (a Response cannot carry one).
          if (!(await body.drain(DRAIN_ON_CANCEL))) reusable = false;
        }
        const clean = this.reader.buffered === 0;
        const ok = await upload;
        finish(reusable && ok && clean);
        return new Response(null, { status: p.status, statusText, headers });
      }
      // A small body already received in full: hand it over as bytes (no
      // stream machinery) and free the connection at once.
      if (kind === LENGTH && framing.kind === "length" && framing.length <= SMALL_BODY) {
        const view = this.reader.peekBuffered();
        if (view.length >= framing.length) {
          const bytes = await body.readAll(framing.length);
          const ok = await upload;
          if (ok && reusable && this.reader.buffered === 0) finish(true);
          else finish(false);
          return new Response(bytes as Uint8Array<ArrayBuffer>, {
            status: p.status,
            statusText,
            headers,
          });
        }
      }
      const stream = new ReadableStream<Uint8Array>({
        pull: async (controller) => {
          let piece: Uint8Array | null;
          try {
            piece = await body.read();
          } catch (error) {
            controller.error(this.#abortReason ?? error);
            return;
          }
          if (piece === null) controller.close();
          else controller.enqueue(piece);
        },
        cancel: () => {
          body.cancelled = true;
          if (this.#closed || body.failed) {
            finish(false);
            return;
          }
          // Keep the connection if what is left is small.
          body.drain(DRAIN_ON_CANCEL).then((ok) => {
            if (!ok) finish(false);
          }, () => finish(false));
        },
      }, { highWaterMark: 0 });
      return new Response(stream, { status: p.status, statusText, headers });
    } catch (error) {
      finish(false);
      if (this.#abortReason !== null) throw this.#abortReason;
      throw error;
    }
  }

  /**
   * Keeps a read pending while the connection is idle, as Go's transport
   * does: a byte or EOF arriving before the next request is written answers
   * nothing we asked, so the connection is closed and never reused.
   */
  #watchIdle(): void {
    this.#idle = true;
    const fill = this.#pendingFill ??= this.reader.fill().finally(() => this.#pendingFill = null);
    const settled = () => {
      if (!this.#idle || this.#closed) return;
      this.#unsolicited = true;
      this.close();
      const hook = this.onIdleClose;
      this.onIdleClose = null;
      hook?.();
    };
    fill.then(settled, settled);
  }

  async #readHead(): Promise<HeadParse> {
    if (this.#pendingFill !== null) await this.#pendingFill;
    const reader = this.reader;
    const limits = this.#settings.limits;
    if (reader.buffered === 0 && !(await reader.fill())) {
      throw new ProtocolError(
        "UNEXPECTED_EOF",
        "Cannot read response: connection closed before the status line",
      );
    }
    const view = reader.peekBuffered();
    let p = view.length > 0 ? parseHead(view, 0, view.length, RESPONSE, limits) : null;
    if (p !== null) reader.consume(p.end);
    else p = await readHead(reader, RESPONSE, limits);
    if (p === null) {
      throw new ProtocolError(
        "UNEXPECTED_EOF",
        "Cannot read response: connection closed before the status line",
      );
    }
    return p;
  }

  /** Waits up to `ms` for response bytes; resolves to whether some came. */
  async #waitReadable(ms: number): Promise<boolean> {
    if (this.reader.buffered > 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    this.#pendingFill ??= this.reader.fill().finally(() => (this.#pendingFill = null));
    const fill = this.#pendingFill.then(() => true, () => true);
    try {
      return await Promise.race([fill, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #pendingFill: Promise<boolean> | null = null;

  /** Sends a body stream; resolves to whether it went out completely. */
  async #pump(
    stream: ReadableStream<Uint8Array>,
    chunked: boolean,
    length: number,
  ): Promise<boolean> {
    const reader = stream.getReader();
    let sent = 0;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (!(value instanceof Uint8Array)) {
          throw new TypeError("Cannot send body: the stream yielded a non-Uint8Array chunk");
        }
        if (value.length === 0) continue;
        if (chunked) {
          const size = value.length.toString(16) + "\r\n";
          if (value.length <= 16384) {
            const out = new Uint8Array(size.length + value.length + 2);
            putLatin1(out, size);
            out.set(value, size.length);
            out[out.length - 2] = 13;
            out[out.length - 1] = 10;
            await this.#writes.write(out);
          } else {
            await this.#writes.write(encoder.encode(size));
            await this.#writes.write(value);
            await this.#writes.write(CRLF);
          }
        } else {
          if (sent + value.length > length) {
            throw new TypeError(
              `Cannot send body: the stream is longer than Content-Length ${length}`,
            );
          }
          await this.#writes.write(value);
        }
        sent += value.length;
      }
      if (chunked) await this.#writes.write(LAST_CHUNK);
      else if (sent !== length) {
        throw new TypeError(`Cannot send body: the stream ended after ${sent} of ${length} bytes`);
      }
      return true;
    } catch (error) {
      await reader.cancel(error).catch(() => {});
      // A body that cannot be sent breaks the framing: close.
      this.close();
      return false;
    }
  }
}

const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

function isStale(error: unknown): boolean {
  if (error instanceof ProtocolError) return error.code === "UNEXPECTED_EOF";
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted;
}

/** Whether the response lets the connection stay open (RFC 9112 §9.3). */
function keepAliveResponse(p: HeadParse): boolean {
  if (p.connectionCount > 0) {
    const tokens = fieldValues(p, p.connection, p.connectionCount).join(",").toLowerCase();
    if (/(^|,)[ \t]*close[ \t]*(,|$)/.test(tokens)) return false;
    if (p.minor === 0) return /(^|,)[ \t]*keep-alive[ \t]*(,|$)/.test(tokens);
    return true;
  }
  return p.minor === 1;
}

function putLatin1(out: Uint8Array, text: string): void {
  const result = encoder.encodeInto(text, out);
  if (result.read === text.length && result.written === text.length) return;
  for (let k = 0; k < text.length; k++) out[k] = text.charCodeAt(k);
}

/** Whether the body needs no asynchronous work to prepare. */
function isSimpleBody(body: BodyInit | null | undefined): boolean {
  return body === null || body === undefined || typeof body === "string" ||
    body instanceof Uint8Array || body instanceof ReadableStream;
}

/** Prepares a null, string, bytes or stream body without awaiting. */
function simpleBody(body: BodyInit | null | undefined): PreparedBody {
  if (body === null || body === undefined) {
    return { bytes: null, stream: null, type: null, replayable: true };
  }
  if (typeof body === "string") {
    return {
      bytes: encoder.encode(body),
      stream: null,
      type: "text/plain;charset=UTF-8",
      replayable: true,
    };
  }
  if (body instanceof Uint8Array) {
    return { bytes: body, stream: null, type: null, replayable: true };
  }
  return { bytes: null, stream: body as ReadableStream<Uint8Array>, type: null, replayable: false };
}

/** Turns any BodyInit into bytes (with a content type) or a stream. */
async function prepareBody(body: BodyInit | null | undefined): Promise<PreparedBody> {
  if (body === null || body === undefined) {
    return { bytes: null, stream: null, type: null, replayable: true };
  }
  if (typeof body === "string") {
    return {
      bytes: encoder.encode(body),
      stream: null,
      type: "text/plain;charset=UTF-8",
      replayable: true,
    };
  }
  if (body instanceof Uint8Array) {
    return { bytes: body, stream: null, type: null, replayable: true };
  }
  if (body instanceof ReadableStream) {
    return { bytes: null, stream: body, type: null, replayable: false };
  }
  if (ArrayBuffer.isView(body)) {
    return {
      bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      stream: null,
      type: null,
      replayable: true,
    };
  }
  if (body instanceof ArrayBuffer) {
    return { bytes: new Uint8Array(body), stream: null, type: null, replayable: true };
  }
  // Blob, FormData, URLSearchParams: let Response serialize them.
  const res = new Response(body);
  return {
    bytes: await res.bytes(),
    stream: null,
    type: res.headers.get("content-type"),
    replayable: true,
  };
}

interface BuiltHead {
  head: string;
  chunked: boolean;
  length: number;
  expectContinue: boolean;
  close: boolean;
}

function buildHead(
  method: string,
  target: string,
  init: HeadersInit | undefined,
  body: PreparedBody,
  settings: ClientSettings,
  expect: boolean,
): BuiltHead {
  let fields = "";
  let host: string | null = null;
  let type = false;
  let length: string | null = null;
  let expectContinue = expect;
  let close = false;
  let userAgent = false;
  const add = (name: string, value: string) => {
    const lower = name.toLowerCase();
    switch (lower) {
      case "host":
        if (host !== null) throw new TypeError("Cannot send request: more than one Host header");
        host = value;
        return;
      case "content-length":
        length = value;
        return;
      case "transfer-encoding":
        throw new TypeError(
          "Cannot send request: Transfer-Encoding is set by the client, not the caller",
        );
      case "content-type":
        type = true;
        break;
      case "user-agent":
        userAgent = true;
        break;
      case "expect":
        if (value.toLowerCase() === "100-continue") {
          expectContinue = true;
          return;
        }
        break;
      case "connection":
        if (/(^|,)[ \t]*close[ \t]*(,|$)/i.test(value)) close = true;
        break;
    }
    fields += `${name}: ${value}\r\n`;
  };
  if (init !== undefined && init !== null) {
    if (init instanceof Headers) {
      init.forEach((value, name) => add(name, value));
    } else if (Array.isArray(init)) {
      for (const pair of init) {
        if (pair.length !== 2) {
          throw new TypeError("Cannot send request: each header pair needs a name and a value");
        }
        const name = String(pair[0]);
        const value = trimOws(String(pair[1]));
        assertFieldName(name);
        assertFieldValue(name, value);
        add(name, value);
      }
    } else {
      for (const [name, raw] of Object.entries(init)) {
        const value = trimOws(String(raw));
        assertFieldName(name);
        assertFieldValue(name, value);
        add(name, value);
      }
    }
  }
  let head = `${method} ${target} HTTP/1.1\r\nHost: ${host ?? settings.host}\r\n`;
  if (!userAgent && settings.userAgent !== null) head += `User-Agent: ${settings.userAgent}\r\n`;
  head += fields;
  if (!type && body.type !== null) head += `Content-Type: ${body.type}\r\n`;
  let chunked = false;
  let bodyLength = 0;
  const declared = length as string | null;
  if (body.bytes !== null) {
    if (declared !== null && declared !== String(body.bytes.length)) {
      throw new TypeError(
        `Cannot send request: Content-Length ${declared} does not match the body's ${body.bytes.length} bytes`,
      );
    }
    bodyLength = body.bytes.length;
    head += `Content-Length: ${bodyLength}\r\n`;
  } else if (body.stream !== null) {
    if (declared !== null) {
      if (!/^[0-9]{1,15}$/.test(declared)) {
        throw new TypeError(`Cannot send request: invalid Content-Length ${declared}`);
      }
      bodyLength = Number(declared);
      head += `Content-Length: ${declared}\r\n`;
    } else {
      chunked = true;
      head += "Transfer-Encoding: chunked\r\n";
    }
  } else if (declared !== null) {
    if (declared !== "0") {
      throw new TypeError(`Cannot send request: Content-Length ${declared} without a body`);
    }
    head += "Content-Length: 0\r\n";
  } else if (METHODS_WITH_BODY.has(method)) {
    head += "Content-Length: 0\r\n";
  }
  const hasBody = body.bytes !== null ? body.bytes.length > 0 : body.stream !== null;
  expectContinue = expectContinue && hasBody;
  if (expectContinue) head += "Expect: 100-continue\r\n";
  return { head: head + "\r\n", chunked, length: bodyLength, expectContinue, close };
}

/** Builds the connection settings from the public options. */
export function clientSettings(options: HttpConnectionOptions, host: string): ClientSettings {
  const headersTimeout = options.headersTimeout ?? 30000;
  const max1xx = options.max1xxResponses ?? 100;
  if (!Number.isSafeInteger(headersTimeout) || headersTimeout < 0) {
    throw new RangeError(`Cannot use headersTimeout ${headersTimeout}: not a non-negative integer`);
  }
  if (!Number.isSafeInteger(max1xx) || max1xx < 0) {
    throw new RangeError(`Cannot use max1xxResponses ${max1xx}: not a non-negative integer`);
  }
  return {
    host: options.host ?? host,
    headersTimeout,
    limits: responseLimits(options),
    max1xx,
    userAgent: options.userAgent ?? null,
  };
}
