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
import {
  addDeadline,
  cancelDeadline,
  clientClock,
  type DeadlineEntry,
} from "../net/deadline_clock.ts";
import { type ByteConn, byteConn } from "../net/_byte_conn.ts";
import { closeQuietly, writeAll } from "../net/_io.ts";
import { HttpClientResponse } from "./http_client_response.ts";
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
  /** Milliseconds without response bytes while reading; 0 for none. */
  readTimeout: number;
  /** The cap of the buffered body helpers. */
  maxBodySize: number;
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
/** The largest body piece read at once: 256 KiB reads cost a quarter of the syscalls of 64 KiB ones. */
const BULK_READ = 262144;
const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** A prepared body: bytes to send with the head, or a stream. */
interface PreparedBody {
  bytes: Uint8Array | null;
  stream: ReadableStream<Uint8Array> | null;
  type: string | null;
  replayable: boolean;
}

/** One request's state while it is in flight. */
interface Exchange {
  /** Whether the connection carried a request before (a stale-connection retry is possible). */
  reused: boolean;
  /** Releases the connection once; `reusable` says whether it may carry another request. */
  finish(reusable: boolean): void;
  /** The read deadline (head or body), touched as bytes arrive. */
  deadline: DeadlineEntry | null;
  /** Whether the caller's `timeout` (the whole exchange) is armed instead of the head/read ones. */
  total: boolean;
  /** Settles with whether the request body went out completely. */
  upload: Promise<boolean>;
  /** Starts sending the body (after 100 Continue, or at once). */
  sendBody(): void;
  /** Still waiting for 100 Continue before sending the body. */
  waitingContinue: boolean;
  /** Whether a response byte arrived. */
  gotBytes: boolean;
}

/** See the module documentation. */
export class ClientConn {
  readonly conn: DuplexConn;
  readonly reader: BufferedReader;
  #io: ByteConn;
  #settings: ClientSettings;
  #busy = false;
  #broken = false;
  #closed = false;
  #used = 0;
  #abortReason: unknown = null;
  /** The deadline of the exchange in flight, touched on every read. */
  #readDeadline: DeadlineEntry | null = null;
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
    if (typeof (conn as Partial<Deno.TcpConn>).setNoDelay === "function") {
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // not a TCP connection after all
      }
    }
    this.#io = byteConn(conn);
    this.reader = new BufferedReader(this.#io, {
      bufferSize: 16384,
      onRead: settings.readTimeout > 0 ? this.#onRead : undefined,
    });
  }

  /** Every read pushes the read deadline back (an idle, not a total, timeout). */
  #onRead = (): void => {
    const deadline = this.#readDeadline;
    if (deadline !== null) deadline.at = clientClock.now + this.#settings.readTimeout;
  };

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
    closeQuietly(this.conn);
  }

  /**
   * Sends a request and resolves to the final response. The body stream
   * calls `release` when it ends; so do errors and bodiless responses.
   */
  async request(
    target: string,
    init: HttpRequestInit,
    release: ReleaseHook,
    url = "",
  ): Promise<Response> {
    this.#checkSendable(release);
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
    init.signal?.throwIfAborted();
    const x = this.#begin(init, release, prepared, built);
    try {
      await this.#sendHead(x, built, prepared);
      const p = await this.#readFinalHead(x);
      return await this.#respond(x, method, p, built, url);
    } catch (error) {
      x.finish(false);
      if (this.#abortReason !== null) throw this.#abortReason;
      throw error;
    }
  }

  /** Refuses to send on a closed, busy or desynchronised connection. */
  #checkSendable(release: ReleaseHook): void {
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
  }

  /** Takes the connection for one exchange: release, abort and deadline wiring. */
  #begin(
    init: HttpRequestInit,
    release: ReleaseHook,
    prepared: PreparedBody,
    built: BuiltHead,
  ): Exchange {
    const signal = init.signal;
    this.#busy = true;
    const reused = this.#used > 0;
    this.#used++;
    let released = false;
    // Aborts and timeouts close the connection; pending reads then fail and
    // the reason replaces their error.
    const onAbort = () => {
      this.#abortReason ??= signal?.reason ?? new DOMException("Aborted", "AbortError");
      this.close();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const x: Exchange = {
      reused,
      deadline: null,
      total: init.timeout !== undefined,
      upload: Promise.resolve(true),
      waitingContinue: built.expectContinue,
      gotBytes: false,
      finish: (reusable) => {
        if (released) return;
        released = true;
        cancelDeadline(x.deadline);
        if (this.#readDeadline === x.deadline) this.#readDeadline = null;
        signal?.removeEventListener("abort", onAbort);
        if (!reusable) this.#broken = true;
        this.#busy = false;
        this.idleSince = Date.now();
        if (!reusable) this.close();
        else if (!this.#broken) this.#watchIdle();
        release(reusable && !this.#broken);
      },
      sendBody: () => {
        if (prepared.bytes !== null && built.expectContinue) {
          x.upload = writeAll(this.#io, prepared.bytes).then(() => true, () => false);
        } else if (prepared.stream !== null) {
          x.upload = this.#pump(prepared.stream, built.chunked, built.length);
        }
      },
    };
    const settings = this.#settings;
    if (init.timeout !== undefined) {
      this.#arm(x, init.timeout, `Timed out after ${init.timeout} ms`);
    } else if (settings.headersTimeout > 0) {
      this.#arm(x, settings.headersTimeout, "Timed out waiting for the response head");
    }
    return x;
  }

  /** Arms the exchange's deadline `ms` from now; at expiry the connection closes. */
  #arm(x: Exchange, ms: number, message: string): void {
    cancelDeadline(x.deadline);
    x.deadline = addDeadline(ms, () => {
      this.#abortReason ??= new DOMException(message, "TimeoutError");
      this.close();
    });
  }

  /** Writes the head (and a fixed body, unless 100-continue holds it back). */
  async #sendHead(x: Exchange, built: BuiltHead, prepared: PreparedBody): Promise<void> {
    const head = built.head;
    let first: Uint8Array;
    if (prepared.bytes !== null && !built.expectContinue) {
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
    (this.conn as Partial<Deno.Conn>).ref?.();
    try {
      await writeAll(this.#io, first);
    } catch (error) {
      throw x.reused && this.#abortReason === null ? new StaleConnectionError(error) : error;
    }
    if (!built.expectContinue) x.sendBody();
  }

  /** Reads heads until the final one, handling 100 Continue and the 1xx cap. */
  async #readFinalHead(x: Exchange): Promise<HeadParse> {
    let interim = 0;
    for (;;) {
      if (x.waitingContinue && !(await this.#waitReadable(CONTINUE_WAIT))) {
        // No answer within the wait: send the body anyway (RFC 9110 §10.1.1).
        x.waitingContinue = false;
        x.sendBody();
      }
      let p: HeadParse;
      try {
        p = await this.#readHead();
      } catch (error) {
        if (!x.gotBytes && x.reused && this.#abortReason === null && isStale(error)) {
          throw new StaleConnectionError(error);
        }
        throw error;
      }
      x.gotBytes = true;
      if (p.status >= 200) {
        if (p.status > 599) {
          throw new ProtocolError("BAD_STATUS_LINE", `Cannot read response: status ${p.status}`);
        }
        return p;
      }
      if (p.status === 101) {
        throw new ProtocolError(
          "BAD_STATUS_LINE",
          "Cannot read response: unexpected 101 Switching Protocols",
        );
      }
      if (++interim > this.#settings.max1xx) {
        throw new ProtocolError(
          "TOO_MANY_INTERIM",
          `Cannot read response: more than ${this.#settings.max1xx} interim responses`,
        );
      }
      if (p.status === 100 && x.waitingContinue) {
        x.waitingContinue = false;
        x.sendBody();
      }
    }
  }

  /** Turns the final head into a Response with a body that releases the connection. */
  async #respond(
    x: Exchange,
    method: string,
    p: HeadParse,
    built: BuiltHead,
    url: string,
  ): Promise<Response> {
    // A final answer before the server agreed to the body: a 2xx means it
    // is reading anyway (an echo); anything else means it never will.
    let reusable = true;
    if (x.waitingContinue) {
      if (p.status < 300) x.sendBody();
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
    // The head is in: from here only the read timeout (or the caller's total) applies.
    if (!x.total) this.#startReadTimeout(x);
    const init: ResponseInit = {
      status: p.status,
      statusText: latin1(p.buf, p.reasonStart, p.reasonEnd),
      headers: fillHeaders(p, new Headers()),
    };
    const max = this.#settings.maxBodySize;
    const kind = framing.kind === "length"
      ? LENGTH
      : framing.kind === "chunked"
      ? CHUNKED
      : framing.kind === "close"
      ? CLOSE
      : NONE;
    const length = framing.kind === "length" ? framing.length : 0;
    const body = new BodyReader(this.reader, kind, length, {
      onEnd: () => {
        const clean = this.reader.buffered === 0;
        x.upload.then((ok) => x.finish(reusable && ok && clean));
      },
      onError: () => x.finish(false),
    }, { ...DEFAULT_CHUNKED_LIMITS, bareLf: true });
    if (body.done || NULL_BODY_STATUS.has(p.status)) {
      // A 205 with a body: discard it (a Response cannot carry one).
      if (!body.done && !(await body.drain(DRAIN_ON_CANCEL))) reusable = false;
      const clean = this.reader.buffered === 0;
      const ok = await x.upload;
      x.finish(reusable && ok && clean);
      return new HttpClientResponse(null, init, { url, maxBodySize: max });
    }
    // A small body already received in full: hand it over as bytes (no
    // stream machinery) and free the connection at once.
    if (kind === LENGTH && length <= SMALL_BODY && this.reader.peekBuffered().length >= length) {
      const bytes = await body.readAll(length);
      const ok = await x.upload;
      x.finish(ok && reusable && this.reader.buffered === 0);
      return new HttpClientResponse(bytes as Uint8Array<ArrayBuffer>, init, {
        url,
        maxBodySize: max,
        lengthKnown: true,
      });
    }
    const stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        let piece: Uint8Array | null;
        try {
          piece = await body.read(BULK_READ);
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
          x.finish(false);
          return;
        }
        // Keep the connection if what is left is small.
        body.drain(DRAIN_ON_CANCEL).then((ok) => {
          if (!ok) x.finish(false);
        }, () => x.finish(false));
      },
    }, { highWaterMark: 0 });
    return new HttpClientResponse(stream, init, {
      url,
      maxBodySize: max,
      lengthKnown: kind === LENGTH && length <= max,
    });
  }

  /** Replaces the head deadline by the read (idle) deadline, touched by every read. */
  #startReadTimeout(x: Exchange): void {
    const ms = this.#settings.readTimeout;
    if (ms <= 0) {
      cancelDeadline(x.deadline);
      x.deadline = null;
      return;
    }
    this.#arm(x, ms, `Timed out after ${ms} ms without response bytes`);
    this.#readDeadline = x.deadline;
  }

  /**
   * Keeps a read pending while the connection is idle, as Go's transport
   * does: a byte or EOF arriving before the next request is written answers
   * nothing we asked, so the connection is closed and never reused.
   */
  #watchIdle(): void {
    this.#idle = true;
    const settled = () => {
      if (!this.#idle || this.#closed) return;
      this.#unsolicited = true;
      this.close();
      const hook = this.onIdleClose;
      this.onIdleClose = null;
      hook?.();
    };
    // The read stays in flight; the next request's reads wait for it and
    // keep what it brought. It must not keep the process alive: a script
    // that is done exits without waiting for the pool to close.
    (this.conn as Partial<Deno.Conn>).unref?.();
    this.reader.fill().then(settled, settled);
  }

  async #readHead(): Promise<HeadParse> {
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

  /**
   * Waits up to `ms` for response bytes, without losing any (the read goes
   * on when the wait ends); resolves to whether some came.
   */
  async #waitReadable(ms: number): Promise<boolean> {
    if (this.reader.buffered > 0) return true;
    try {
      await this.reader.fill(undefined, { signal: AbortSignal.timeout(ms) });
      return true;
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") return false;
      return true;
    }
  }

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
            await writeAll(this.#io, out);
          } else {
            await writeAll(this.#io, encoder.encode(size));
            await writeAll(this.#io, value);
            await writeAll(this.#io, CRLF);
          }
        } else {
          if (sent + value.length > length) {
            throw new TypeError(
              `Cannot send body: the stream is longer than Content-Length ${length}`,
            );
          }
          await writeAll(this.#io, value);
        }
        sent += value.length;
      }
      if (chunked) await writeAll(this.#io, LAST_CHUNK);
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
  const readTimeout = options.readTimeout ?? 300000;
  if (!Number.isSafeInteger(readTimeout) || readTimeout < 0) {
    throw new RangeError(`Cannot use readTimeout ${readTimeout}: not a non-negative integer`);
  }
  const maxBodySize = options.maxBodySize ?? 16 * 1024 * 1024;
  if (!(maxBodySize >= 0)) {
    throw new RangeError(`Cannot use maxBodySize ${maxBodySize}: not a non-negative number`);
  }
  return {
    host: options.host ?? host,
    headersTimeout,
    limits: responseLimits(options),
    max1xx,
    userAgent: options.userAgent ?? null,
    readTimeout,
    maxBodySize,
  };
}
