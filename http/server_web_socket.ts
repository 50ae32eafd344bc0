import { ProtocolError } from "../net/protocol_error.ts";
import type { UpgradedConnection } from "./_server_types.ts";
import {
  encodeClosePayload,
  encodeWsFrame,
  encodeWsHeader,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  wsCloseCodeFor,
  type WsEvent,
  wsHeaderLength,
  WsReceiver,
} from "./_ws_frame.ts";
import { registerWebSocketInternals, type WebSocketInit } from "./_web_socket.ts";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** Payloads up to this size are sent with their header in one write. */
const SMALL_FRAME = 65536;
/** How long to wait for the peer's end of the TCP connection after ours. */
const LINGER_MS = 2000;
/** The most bytes read and dropped while waiting for it. */
const LINGER_BYTES = 1 << 20;
const PING_FRAME = encodeWsFrame(OP_PING, new Uint8Array(0));

const encoder = new TextEncoder();
const TOKEN = Symbol("ServerWebSocket");

/** One frame waiting to be written. */
interface Outgoing {
  opcode: number;
  /** The whole frame, or null when the header is made at write time. */
  frame: Uint8Array | null;
  /** The payload when `frame` is null. */
  payload: Uint8Array | Blob | null;
  /** The application bytes it counts in `bufferedAmount`. */
  size: number;
}

/** WebIDL `[Clamp] unsigned short`. */
function clampCode(value: unknown): number {
  let x = Number(value);
  if (Number.isNaN(x)) return 0;
  x = Math.min(Math.max(x, 0), 65535);
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1)) return floor + 1;
  return floor;
}

/**
 * The server side of a WebSocket connection (RFC 6455) on inetkit's
 * {@linkcode HttpServer}, made by `upgradeWebSocket`. It has the shape of
 * the web `WebSocket` (and of the socket `Deno.upgradeWebSocket` returns):
 * an `EventTarget` with `open`, `message` (`MessageEvent`), `error`
 * (`ErrorEvent`) and `close` (`CloseEvent` with `code`, `reason`,
 * `wasClean`) events, `send()`, `close()`, `readyState`, `binaryType`,
 * `bufferedAmount`, `protocol`, `extensions` and `url`.
 *
 * The socket opens once the handler has returned the upgrade response and
 * the server has written it. Messages are sent in order, one frame each,
 * never masked; `bufferedAmount` counts the bytes `send()` queued that are
 * not yet written, and nothing else grows while a peer stops reading (a
 * pong waiting to be sent answers only the latest ping). Frames the client
 * sends break no rule unpunished: the socket answers a violation with a
 * close frame (1002 protocol error, 1007 invalid UTF-8, 1009 message too
 * big), fires `error` with the {@linkcode ProtocolError} and closes the
 * connection. Pings are answered with pongs; when nothing arrives for
 * `idleTimeout` seconds the socket pings, and after as long again without
 * an answer it closes with 1001. No extension is negotiated.
 *
 * @example An echo server and Deno's WebSocket client
 * ```ts
 * import { serve, upgradeWebSocket } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serve({ port: 0 }, (request) => {
 *   const { socket, response } = upgradeWebSocket(request);
 *   socket.onmessage = (event) => socket.send(`echo: ${event.data}`);
 *   return response;
 * });
 * const client = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
 * const reply = await new Promise<string>((resolve) => {
 *   client.onopen = () => client.send("hello");
 *   client.onmessage = (event) => resolve(event.data);
 * });
 * assertEquals(reply, "echo: hello");
 * client.close();
 * await new Promise((resolve) => (client.onclose = resolve));
 * ```
 */
export class ServerWebSocket extends EventTarget implements WebSocket {
  /** The socket is not open yet. */
  static readonly CONNECTING = 0;
  /** The socket is open. */
  static readonly OPEN = 1;
  /** The closing handshake has begun. */
  static readonly CLOSING = 2;
  /** The connection is closed. */
  static readonly CLOSED = 3;

  #state = CONNECTING;
  #init: WebSocketInit;
  #binaryType: BinaryType = "blob";
  #buffered = 0;
  #queue: Outgoing[] = [];
  #pong: Uint8Array | null = null;
  #ping = false;
  #writing: Promise<void> = Promise.resolve();
  #pumping = false;
  #closeQueued = false;
  #closeWritten = false;
  /** A close() before the connection came: sent once it does. */
  #pendingClose: { code: number; reason: string } | null = null;
  #received: { code: number; reason: string } | null = null;
  #failed = false;
  #failure: unknown = null;
  #discard = false;
  #ending = false;
  #receiver: WsReceiver;
  #conn: UpgradedConnection | null = null;
  #writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  #readDone: Promise<void> = Promise.resolve();
  #ended: Promise<void>;
  #resolveEnded!: () => void;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #active = false;
  #pingOutstanding = false;
  #signal: AbortSignal | null = null;
  #handlers = new Map<string, ((ev: Event) => unknown) | null>();
  #onAbort = () => this.#goAway();
  #origin: string | null = null;

  /**
   * Not for use: sockets come from `upgradeWebSocket`.
   *
   * @throws {TypeError} Always, when called from outside.
   */
  private constructor(token: symbol, init: WebSocketInit) {
    if (token !== TOKEN) throw new TypeError("Illegal constructor: use upgradeWebSocket()");
    super();
    this.#init = init;
    this.#receiver = new WsReceiver({ maxMessageSize: init.maxMessageSize, role: "server" });
    this.#ended = new Promise((resolve) => (this.#resolveEnded = resolve));
  }

  static {
    registerWebSocketInternals({
      create: (init) => new ServerWebSocket(TOKEN, init),
      run: (socket, conn, signal) => (socket as ServerWebSocket).#run(conn, signal),
      abandon: (socket, error) => (socket as ServerWebSocket).#abandon(error),
    });
  }

  /** The socket is not open yet (0). */
  get CONNECTING(): number {
    return CONNECTING;
  }
  /** The socket is open (1). */
  get OPEN(): number {
    return OPEN;
  }
  /** The closing handshake has begun (2). */
  get CLOSING(): number {
    return CLOSING;
  }
  /** The connection is closed (3). */
  get CLOSED(): number {
    return CLOSED;
  }

  /** `CONNECTING` (0), `OPEN` (1), `CLOSING` (2) or `CLOSED` (3). */
  get readyState(): number {
    return this.#state;
  }

  /** The request URL with a `ws:` or `wss:` scheme. */
  get url(): string {
    return this.#init.url;
  }

  /** The negotiated subprotocol, or "" for none. */
  get protocol(): string {
    return this.#init.protocol;
  }

  /** Always "": no extension (such as permessage-deflate) is negotiated. */
  get extensions(): string {
    return "";
  }

  /**
   * The bytes of application data `send()` queued and not yet written to
   * the connection (after the close it only grows, as in the web API).
   */
  get bufferedAmount(): number {
    return this.#buffered;
  }

  /**
   * How binary messages arrive: `"blob"` (the default, as in the web API)
   * or `"arraybuffer"`. Other values are ignored.
   */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(value: BinaryType) {
    if (value === "blob" || value === "arraybuffer") this.#binaryType = value;
  }

  /** Called on the `open` event. */
  get onopen(): ((this: WebSocket, ev: Event) => unknown) | null {
    return this.#handler("open") as ((this: WebSocket, ev: Event) => unknown) | null;
  }
  set onopen(value: ((this: WebSocket, ev: Event) => unknown) | null) {
    this.#setHandler("open", value);
  }
  /** Called on each `message` event. */
  get onmessage(): ((this: WebSocket, ev: MessageEvent) => unknown) | null {
    return this.#handler("message") as ((this: WebSocket, ev: MessageEvent) => unknown) | null;
  }
  set onmessage(value: ((this: WebSocket, ev: MessageEvent) => unknown) | null) {
    this.#setHandler("message", value);
  }
  /** Called on the `error` event (an `ErrorEvent` whose `error` says what failed). */
  get onerror(): ((this: WebSocket, ev: Event | ErrorEvent) => unknown) | null {
    return this.#handler("error") as ((this: WebSocket, ev: Event | ErrorEvent) => unknown) | null;
  }
  set onerror(value: ((this: WebSocket, ev: Event | ErrorEvent) => unknown) | null) {
    this.#setHandler("error", value);
  }
  /** Called on the `close` event. */
  get onclose(): ((this: WebSocket, ev: CloseEvent) => unknown) | null {
    return this.#handler("close") as ((this: WebSocket, ev: CloseEvent) => unknown) | null;
  }
  set onclose(value: ((this: WebSocket, ev: CloseEvent) => unknown) | null) {
    this.#setHandler("close", value);
  }

  /**
   * Adds a listener, typed by event for `open`, `message`, `error` and `close`.
   *
   * @param type The event type.
   * @param listener The listener.
   * @param options As for `EventTarget`.
   */
  override addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: (this: WebSocket, ev: WebSocketEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /**
   * Adds a listener for any event type.
   *
   * @param type The event type.
   * @param listener The listener.
   * @param options As for `EventTarget`.
   */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener, options);
  }

  /**
   * Removes a listener, typed by event for `open`, `message`, `error` and `close`.
   *
   * @param type The event type.
   * @param listener The listener.
   * @param options As for `EventTarget`.
   */
  override removeEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: (this: WebSocket, ev: WebSocketEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  /**
   * Removes a listener for any event type.
   *
   * @param type The event type.
   * @param listener The listener.
   * @param options As for `EventTarget`.
   */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener, options);
  }

  #handler(type: string): ((ev: Event) => unknown) | null {
    return this.#handlers.get(type) ?? null;
  }

  #setHandler(type: string, value: unknown): void {
    if (!this.#handlers.has(type)) {
      // Registered once, where the first handler was set (HTML's event handler attributes).
      this.addEventListener(type, (event) => {
        const handler = this.#handlers.get(type);
        if (typeof handler === "function") handler.call(this, event);
      });
    }
    this.#handlers.set(type, typeof value === "function" ? value as (ev: Event) => unknown : null);
  }

  /**
   * Queues a message: a string as a text message (UTF-8), bytes or a `Blob`
   * as a binary message. The bytes are copied at once, so the caller may
   * reuse its buffer. In the `CLOSING` and `CLOSED` states the message is
   * dropped (and counted in `bufferedAmount`), as in the web API.
   *
   * @param data The message.
   * @throws {DOMException} `InvalidStateError` while the socket is `CONNECTING`.
   *
   * @example Sending text, bytes and a Blob
   * ```ts
   * import { serve, upgradeWebSocket } from "@inetkit/inetkit/http";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = serve({ port: 0 }, (request) => {
   *   const { socket, response } = upgradeWebSocket(request);
   *   socket.onopen = () => {
   *     socket.send("text");
   *     socket.send(new Uint8Array([1, 2, 3]));
   *     socket.send(new Blob(["blob"]));
   *     socket.close(1000, "done");
   *   };
   *   return response;
   * });
   * const client = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
   * client.binaryType = "arraybuffer";
   * const seen: unknown[] = [];
   * client.onmessage = (event) =>
   *   seen.push(typeof event.data === "string" ? event.data : [...new Uint8Array(event.data)]);
   * const closed = await new Promise<CloseEvent>((resolve) => (client.onclose = resolve));
   * assertEquals(seen, ["text", [1, 2, 3], [98, 108, 111, 98]]);
   * assertEquals([closed.code, closed.reason], [1000, "done"]);
   * ```
   */
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (this.#state === CONNECTING) {
      throw new DOMException(
        "Cannot send on a WebSocket that is not open yet",
        "InvalidStateError",
      );
    }
    let opcode = OP_BINARY;
    let bytes: Uint8Array | null = null;
    let blob: Blob | null = null;
    if (typeof data === "string") {
      opcode = OP_TEXT;
      bytes = encoder.encode(data);
    } else if (data instanceof Blob) {
      blob = data;
    } else if (ArrayBuffer.isView(data)) {
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } else if (
      data instanceof ArrayBuffer ||
      (typeof SharedArrayBuffer === "function" && data instanceof SharedArrayBuffer)
    ) {
      bytes = new Uint8Array(data);
    } else {
      opcode = OP_TEXT;
      bytes = encoder.encode(String(data));
    }
    const size = blob !== null ? blob.size : bytes!.length;
    this.#buffered += size;
    if (this.#state !== OPEN) return;
    if (blob !== null) {
      this.#queue.push({ opcode, frame: null, payload: blob, size });
    } else if (size <= SMALL_FRAME) {
      const headLength = wsHeaderLength(size);
      const frame = new Uint8Array(headLength + size);
      encodeWsHeader(frame, 0, opcode, size);
      frame.set(bytes!, headLength);
      this.#queue.push({ opcode, frame, payload: null, size });
    } else {
      // A copy only when the bytes are the caller's.
      const payload = opcode === OP_TEXT ? bytes! : bytes!.slice();
      this.#queue.push({ opcode, frame: null, payload, size });
    }
    this.#pump();
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2): the close frame goes
   * after the messages already queued; the connection closes when the
   * client answers, or after `closeTimeout` seconds. Without a code the
   * close frame has no status (the client sees 1005); with only a reason
   * the code is 1000. Does nothing once closing.
   *
   * @param code 1000 or 3000 to 4999.
   * @param reason At most 123 bytes of UTF-8.
   * @throws {DOMException} `InvalidAccessError` for another code.
   * @throws {DOMException} `SyntaxError` for a longer reason.
   *
   * @example Validation as in the web API
   * ```ts
   * import { serve, upgradeWebSocket } from "@inetkit/inetkit/http";
   * import { assertEquals } from "@std/assert";
   *
   * const errors: string[] = [];
   * await using server = serve({ port: 0 }, (request) => {
   *   const { socket, response } = upgradeWebSocket(request);
   *   socket.onopen = () => {
   *     for (const [code, reason] of [[1001, ""], [4000, "x".repeat(124)]] as const) {
   *       try {
   *         socket.close(code, reason);
   *       } catch (error) {
   *         errors.push((error as DOMException).name);
   *       }
   *     }
   *     socket.close(4000, "bye");
   *   };
   *   return response;
   * });
   * const client = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
   * const closed = await new Promise<CloseEvent>((resolve) => (client.onclose = resolve));
   * assertEquals(errors, ["InvalidAccessError", "SyntaxError"]);
   * assertEquals([closed.code, closed.reason, closed.wasClean], [4000, "bye", true]);
   * ```
   */
  close(code?: number, reason?: string): void {
    let wireCode = 1005;
    if (code !== undefined) {
      wireCode = clampCode(code);
      if (wireCode !== 1000 && (wireCode < 3000 || wireCode > 4999)) {
        throw new DOMException(
          `Cannot close WebSocket: code ${code} is neither 1000 nor from 3000 to 4999`,
          "InvalidAccessError",
        );
      }
    }
    let text = "";
    if (reason !== undefined) {
      text = String(reason).toWellFormed();
      const length = encoder.encode(text).length;
      if (length > 123) {
        throw new DOMException(
          `Cannot close WebSocket: the reason of ${length} bytes is longer than 123`,
          "SyntaxError",
        );
      }
      if (code === undefined) wireCode = 1000;
    }
    if (this.#state === CLOSING || this.#state === CLOSED) return;
    if (this.#state === CONNECTING) {
      this.#state = CLOSING;
      this.#pendingClose = { code: wireCode, reason: text };
      return;
    }
    this.#state = CLOSING;
    this.#queueClose(wireCode, text);
  }

  // ---- the connection ----

  #run(conn: UpgradedConnection, signal: AbortSignal): Promise<void> {
    if (this.#state === CLOSED) {
      conn.close();
      return this.#ended;
    }
    this.#conn = conn;
    this.#writer = conn.writable.getWriter();
    const reader = conn.readable.getReader();
    this.#signal = signal;
    signal.addEventListener("abort", this.#onAbort, { once: true });
    this.#armIdle();
    if (this.#state === CONNECTING) {
      this.#state = OPEN;
      this.dispatchEvent(new Event("open"));
    } else if (this.#pendingClose !== null) {
      this.#queueClose(this.#pendingClose.code, this.#pendingClose.reason);
    }
    this.#readDone = this.#read(reader);
    if (signal.aborted) this.#goAway();
    this.#pump();
    return this.#ended;
  }

  /** The upgrade never happened. */
  #abandon(error: unknown): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.dispatchEvent(
      new ErrorEvent("error", { error, message: error instanceof Error ? error.message : "" }),
    );
    this.dispatchEvent(new CloseEvent("close", { code: 1006, reason: "", wasClean: false }));
    this.#resolveEnded();
  }

  /** The server shuts down: close with 1001 (going away). */
  #goAway(): void {
    if (this.#state !== OPEN) return;
    this.#state = CLOSING;
    this.#queueClose(1001, "");
  }

  async #read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    let dropped = 0;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (this.#discard) {
          dropped += value.length;
          if (dropped > LINGER_BYTES) break;
          continue;
        }
        this.#active = true;
        try {
          this.#receiver.push(value, this.#onEvent);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          this.#fail(error, wsCloseCodeFor(error), error.code);
        }
      }
    } catch (error) {
      if (!this.#ending && !this.#failed) {
        this.#failed = true;
        this.#failure = error;
      }
    }
    void this.#finish();
  }

  #onEvent = (event: WsEvent): void => {
    switch (event.type) {
      case "text":
        if (this.#state === OPEN) this.#message(event.data);
        return;
      case "binary":
        if (this.#state === OPEN) {
          const bytes = event.data;
          this.#message(
            this.#binaryType === "blob"
              ? new Blob([bytes as Uint8Array<ArrayBuffer>])
              : bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
              ? bytes.buffer as ArrayBuffer
              : bytes.slice().buffer,
          );
        }
        return;
      case "ping":
        // Only the latest ping needs an answer (RFC 6455 §5.5.3).
        if (!this.#closeQueued) {
          this.#pong = event.data;
          this.#pump();
        }
        return;
      case "pong":
        this.#pingOutstanding = false;
        return;
      case "close":
        this.#received = { code: event.code, reason: event.reason };
        this.#discard = true;
        if (!this.#closeQueued) {
          // Echo the code (§5.5.1) after the messages already queued.
          this.#state = CLOSING;
          this.#queueClose(event.code, "");
        } else if (this.#closeWritten) {
          void this.#finish();
        }
    }
  };

  #message(data: string | ArrayBuffer | Blob): void {
    this.#origin ??= new URL(this.#init.url).origin;
    this.dispatchEvent(new MessageEvent("message", { data, origin: this.#origin }));
  }

  /** Fails the connection (§7.1.7): a close frame with `code`, then the end. */
  #fail(error: unknown, code: number, reason: string): void {
    if (this.#failed || this.#ending) return;
    this.#failed = true;
    this.#failure = error;
    this.#discard = true;
    if (this.#state !== CLOSED) this.#state = CLOSING;
    if (this.#closeWritten) {
      void this.#finish();
      return;
    }
    this.#queue = [];
    this.#queueClose(code, reason);
  }

  #queueClose(code: number, reason: string): void {
    this.#closeQueued = true;
    const frame = encodeWsFrame(OP_CLOSE, encodeClosePayload(code, reason));
    this.#queue.push({ opcode: OP_CLOSE, frame, payload: null, size: 0 });
    if (this.#closeTimer === undefined && this.#conn !== null) {
      this.#closeTimer = setTimeout(() => {
        this.#closeTimer = undefined;
        void this.#finish();
      }, this.#init.closeTimeout * 1000);
    }
    this.#pump();
  }

  /** Writes the queue in order, one frame at a time. */
  #pump(): void {
    if (this.#pumping || this.#writer === null || this.#closeWritten) return;
    this.#pumping = true;
    this.#writing = this.#drain(this.#writer);
  }

  async #drain(writer: WritableStreamDefaultWriter<Uint8Array>): Promise<void> {
    // The flag is cleared in the same turn as the last look at the queue.
    try {
      while (!this.#ending) {
        if (this.#pong !== null) {
          const frame = encodeWsFrame(OP_PONG, this.#pong);
          this.#pong = null;
          await writer.write(frame);
          continue;
        }
        if (this.#ping) {
          this.#ping = false;
          await writer.write(PING_FRAME);
          continue;
        }
        const entry = this.#queue.shift();
        if (entry === undefined) return;
        if (entry.frame !== null) {
          await writer.write(entry.frame);
        } else {
          const payload = entry.payload instanceof Blob
            ? await entry.payload.bytes()
            : entry.payload!;
          if (this.#ending) return;
          const head = new Uint8Array(10);
          const n = encodeWsHeader(head, 0, entry.opcode, payload.length);
          if (payload.length <= SMALL_FRAME) {
            const frame = new Uint8Array(n + payload.length);
            frame.set(head.subarray(0, n));
            frame.set(payload, n);
            await writer.write(frame);
          } else {
            await writer.write(head.subarray(0, n));
            await writer.write(payload);
          }
        }
        this.#buffered -= entry.size;
        if (entry.opcode === OP_CLOSE) {
          this.#closeWritten = true;
          if (this.#received !== null || this.#failed) void this.#finish();
          return;
        }
      }
    } catch (error) {
      if (!this.#ending) {
        if (!this.#failed) {
          this.#failed = true;
          this.#failure = error;
        }
        void this.#finish();
      }
    } finally {
      this.#pumping = false;
    }
  }

  #armIdle(): void {
    const seconds = this.#init.idleTimeout;
    if (seconds <= 0 || this.#ending) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#ending || this.#closeQueued) return;
      if (this.#active) {
        this.#active = false;
        this.#pingOutstanding = false;
      } else if (this.#pingOutstanding) {
        const error = new DOMException(
          `The client sent nothing for ${seconds} seconds after a ping`,
          "TimeoutError",
        );
        this.#fail(error, 1001, "Idle timeout");
        return;
      } else {
        this.#pingOutstanding = true;
        this.#ping = true;
        this.#pump();
      }
      this.#armIdle();
    }, seconds * 1000);
  }

  /**
   * Closes the TCP connection, the server first (§7.1.1): after the close
   * frame, a FIN, then the client's end (or a short linger), then the events.
   */
  async #finish(): Promise<void> {
    if (this.#ending) return;
    this.#ending = true;
    this.#discard = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#closeTimer);
    this.#idleTimer = this.#closeTimer = undefined;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    const conn = this.#conn!;
    if (this.#closeWritten) {
      const linger = setTimeout(() => conn.close(), LINGER_MS);
      try {
        await this.#writer!.close();
      } catch {
        // the client is gone
      }
      await this.#readDone;
      clearTimeout(linger);
    }
    conn.close();
    // Let the pending read and write settle before reporting the end.
    await this.#readDone;
    await this.#writing;
    this.#state = CLOSED;
    const received = this.#received;
    if (this.#failed) {
      const error = this.#failure;
      this.dispatchEvent(
        new ErrorEvent("error", { error, message: error instanceof Error ? error.message : "" }),
      );
    }
    this.dispatchEvent(
      new CloseEvent("close", {
        code: received?.code ?? 1006,
        reason: received?.reason ?? "",
        wasClean: this.#closeWritten && received !== null && !this.#failed,
      }),
    );
    this.#resolveEnded();
  }
}
