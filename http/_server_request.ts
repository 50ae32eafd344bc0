/**
 * The `Request` the server hands to handlers: a real `Request` subclass
 * (by prototype) that decodes the URL and headers only when asked, so a
 * handler that does not look at them costs nothing for them. Everything it
 * does not implement itself is served by a real `Request` built on first use.
 *
 * Deno's own code (`new Request(req)`, `fetch(req)`, `Request.prototype`
 * getters) looks at internal symbol-keyed slots that our object does not
 * have; those slots are bridged to the real `Request`, built on demand. A
 * self-test on first use checks the bridge; without it (or with
 * `INETKIT_NO_FAST_PATHS=1`) handlers get the real `Request` itself, built
 * at once (see {@linkcode ServerRequest.handOut}): slower, never wrong.
 *
 * @module
 */
import { refuseNativeUpgrade } from "./_web_socket.ts";
import { fastPathsDisabled } from "./_response_hints.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import type { BodyReader } from "./_body_reader.ts";
import { fillHeaders, type HeadParse, latin1 } from "./_head_parser.ts";
import { copyBytes } from "../net/_bytes.ts";

const utf8 = new TextDecoder();

/** Errors raised while reading a request body (the server answers them with 4xx). */
export const bodyErrors: WeakSet<object> = new WeakSet();

/** What a request needs from its connection. */
export interface RequestOwner {
  /** The signal for the request (created on demand). */
  readonly signal: AbortSignal;
  /** `http` or `https`. */
  readonly scheme: string;
  /** The host for requests without a Host value. */
  readonly defaultHost: string;
  /** The cap for the buffered body readers. */
  readonly maxBodySize: number;
}

/** See the module documentation. */
export class ServerRequest {
  #p: HeadParse;
  #absolute: boolean;
  #body: BodyReader | null;
  #owner: RequestOwner;
  #url: string | null = null;
  #headers: Headers | null = null;
  #stream: ReadableStream<Uint8Array> | null = null;
  #real: Request | null = null;
  #consumed = false;

  /**
   * @param p The parsed head (its buffer stays valid).
   * @param absolute Whether the target is the whole URL (absolute-form).
   * @param body The body, or null for none.
   * @param owner The connection side of the request.
   */
  constructor(p: HeadParse, absolute: boolean, body: BodyReader | null, owner: RequestOwner) {
    if (!bridgeChecked) installBridge();
    this.#p = p;
    this.#absolute = absolute;
    this.#body = body;
    this.#owner = owner;
  }

  /** Builds (once) the real `Request` behind this one. */
  static materialize(request: ServerRequest): Request {
    return request.#materialize();
  }

  /**
   * What the handler gets: this object while the bridge is on; without it,
   * the real `Request` (so `new Request(req)`, `fetch(req)` and
   * `Deno.upgradeWebSocket(req)` see a genuine one), whose buffered readers
   * keep the `maxBodySize` cap.
   */
  static handOut(request: ServerRequest): Request {
    if (bridged) return request as unknown as Request;
    let real: Request;
    try {
      real = request.#materialize();
    } catch {
      // CONNECT and TRACE: Deno's Request refuses them, ours serves them.
      return request as unknown as Request;
    }
    const max = request.#owner.maxBodySize;
    const bytes = async (): Promise<Uint8Array<ArrayBuffer>> => {
      if (real.bodyUsed) throw new TypeError("Cannot read body: it was already read");
      const body = real.body;
      return body === null ? new Uint8Array(0) : await readCapped(body, max);
    };
    const text = async () => utf8.decode(await bytes());
    const type = () => real.headers.get("content-type") ?? "";
    Object.defineProperties(real, {
      bytes: { value: bytes, configurable: true },
      text: { value: text, configurable: true },
      json: { value: async () => JSON.parse(await text()), configurable: true },
      arrayBuffer: { value: async () => (await bytes()).slice().buffer, configurable: true },
      blob: { value: async () => new Blob([await bytes()], { type: type() }), configurable: true },
      formData: {
        value: async () =>
          await new Response(await bytes(), { headers: { "content-type": type() } }).formData(),
        configurable: true,
      },
    });
    return real;
  }

  #materialize(): Request {
    if (this.#real !== null) return this.#real;
    const method = this.method;
    const init: RequestInit & { duplex?: "half" } = {
      method,
      headers: this.headers,
      signal: this.#owner.signal,
    };
    if (this.#body !== null && method !== "GET" && method !== "HEAD" && !this.#consumed) {
      init.body = this.#bodyStream();
      init.duplex = "half";
    }
    this.#real = new Request(this.url, init);
    // Deno.upgradeWebSocket() cannot take over our connection: make it say so.
    refuseNativeUpgrade(this.#real);
    return this.#real;
  }

  #bodyStream(): ReadableStream<Uint8Array> {
    return this.#stream ??= this.#body!.stream();
  }

  /** The method as sent. */
  get method(): string {
    return this.#p.method;
  }

  /**
   * `scheme://host` + target, or the absolute-form target; for CONNECT,
   * `scheme://authority/`; for `*`, `scheme://host/*`.
   */
  get url(): string {
    if (this.#url === null) {
      const p = this.#p;
      const target = latin1(p.buf, p.targetStart, p.targetEnd);
      if (this.#absolute) this.#url = target;
      else {
        const f = p.fields;
        const k = 4 * p.host;
        const host = p.hostCount === 1 && f[k + 3]! > f[k + 2]!
          ? latin1(p.buf, f[k + 2]!, f[k + 3]!)
          : this.#owner.defaultHost;
        const path = p.method === "CONNECT" ? "/" : target === "*" ? "/*" : target;
        this.#url = `${this.#owner.scheme}://${p.method === "CONNECT" ? target : host}${path}`;
      }
    }
    return this.#url;
  }

  /** The request's header fields. */
  get headers(): Headers {
    return this.#headers ??= fillHeaders(this.#p, new Headers());
  }

  /** The body as a stream, or null when the request has none. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#real !== null) return this.#real.body;
    if (this.#body === null) return null;
    return this.#bodyStream();
  }

  /** Whether the body was read or cancelled. */
  get bodyUsed(): boolean {
    if (this.#real !== null) return this.#real.bodyUsed;
    return this.#consumed || (this.#stream !== null && this.#body!.disturbed);
  }

  /** Aborted when the client goes away or the server shuts down. */
  get signal(): AbortSignal {
    return this.#owner.signal;
  }

  /** The whole body as bytes, at most `maxBodySize`. */
  async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#real !== null) return await this.#real.bytes();
    if (this.bodyUsed) throw new TypeError("Cannot read body: it was already read");
    this.#consumed = true;
    if (this.#body === null) return new Uint8Array(0);
    // Through the stream only if someone holds a reader on it.
    if (this.#stream !== null && this.#stream.locked) {
      return await readCapped(this.#stream, this.#owner.maxBodySize);
    }
    return await this.#body.readAll(this.#owner.maxBodySize) as Uint8Array<ArrayBuffer>;
  }

  /** The whole body decoded as UTF-8. */
  async text(): Promise<string> {
    return utf8.decode(await this.bytes());
  }

  /** The whole body parsed as JSON. */
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  /** The whole body in an `ArrayBuffer`. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? bytes.buffer
      : bytes.slice().buffer;
  }

  /** The whole body as a `Blob` typed by `Content-Type`. */
  async blob(): Promise<Blob> {
    return new Blob([await this.bytes()], { type: this.headers.get("content-type") ?? "" });
  }

  /** The body parsed as a form (urlencoded or multipart). */
  async formData(): Promise<FormData> {
    const bytes = await this.bytes();
    const type = this.headers.get("content-type") ?? "";
    return await new Response(bytes, { headers: { "content-type": type } }).formData();
  }

  /** A copy of the request with a teed body. */
  clone(): Request {
    return this.#materialize().clone();
  }

  /** `"default"`: a request from the network has no cache mode. */
  get cache(): RequestCache {
    return "default";
  }

  /** `"same-origin"`, as for any request a server receives. */
  get credentials(): RequestCredentials {
    return "same-origin";
  }

  /** `""`: no destination. */
  get destination(): RequestDestination {
    return "";
  }

  /** `""`: no integrity metadata. */
  get integrity(): string {
    return "";
  }

  /** `false`. */
  get keepalive(): boolean {
    return false;
  }

  /** `"cors"`, `Request`'s default. */
  get mode(): RequestMode {
    return "cors";
  }

  /** `"follow"`, `Request`'s default. */
  get redirect(): RequestRedirect {
    return "follow";
  }

  /** `"about:client"`, `Request`'s default (the `Referer` header is in `headers`). */
  get referrer(): string {
    return "about:client";
  }

  /** `""`. */
  get referrerPolicy(): ReferrerPolicy {
    return "";
  }

  /** `false`. */
  get isHistoryNavigation(): boolean {
    return false;
  }

  /** `false`. */
  get isReloadNavigation(): boolean {
    return false;
  }

  /** `"half"`, the only mode for a streamed body. */
  get duplex(): "half" {
    return "half";
  }

  /** How `console.log(request)` shows it, like Deno's `Request`. */
  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options?: unknown) => string,
    options: unknown,
  ): string {
    return `Request ${
      inspect({
        bodyUsed: this.bodyUsed,
        headers: this.headers,
        method: this.method,
        redirect: this.redirect,
        url: this.url,
      }, options)
    }`;
  }
}

async function readCapped(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const reader = stream.getReader();
  const pieces: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => {});
      const error = new ProtocolError("BODY_TOO_LARGE", `Cannot read body: more than ${max} bytes`);
      bodyErrors.add(error);
      throw error;
    }
    pieces.push(value);
  }
  return copyBytes(pieces, total);
}

Object.setPrototypeOf(ServerRequest.prototype, Request.prototype);

let bridged = false;
let bridgeChecked = false;

/** Whether Deno's internal Request slots are bridged (see the module doc); checks on first call. */
export function requestBridged(): boolean {
  if (!bridgeChecked) installBridge();
  return bridged;
}

function installBridge(): void {
  bridgeChecked = true;
  if (fastPathsDisabled()) return;
  const probe = new Request("http://localhost/", { method: "POST", body: "x" });
  const slots = Object.getOwnPropertySymbols(probe);
  const brand = slots.find((s) => s.description === "[[webidl.brand]]");
  if (brand === undefined) return;
  const proto = ServerRequest.prototype as unknown as Record<symbol, unknown>;
  const defined: symbol[] = [];
  for (const slot of slots) {
    if (slot === brand) {
      Object.defineProperty(proto, slot, {
        value: (probe as unknown as Record<symbol, unknown>)[brand],
        configurable: true,
      });
    } else {
      Object.defineProperty(proto, slot, {
        get(this: ServerRequest) {
          return (ServerRequest.materialize(this) as unknown as Record<symbol, unknown>)[slot];
        },
        set(this: ServerRequest, value: unknown) {
          (ServerRequest.materialize(this) as unknown as Record<symbol, unknown>)[slot] = value;
        },
        configurable: true,
      });
    }
    defined.push(slot);
  }
  // Check on a synthetic request that Deno's code accepts the bridge.
  try {
    const real = new Request("http://bridge.test/a?b", { method: "PUT", headers: { "x-a": "1" } });
    // An object with the bridged prototype whose slots lead to `real`:
    // Deno's code must take it for that request.
    const check = Object.create(proto) as Record<symbol, unknown>;
    for (const slot of defined) {
      if (slot === brand) continue;
      Object.defineProperty(check, slot, {
        get: () => (real as unknown as Record<symbol, unknown>)[slot],
        set: (v: unknown) => ((real as unknown as Record<symbol, unknown>)[slot] = v),
      });
    }
    const copy = new Request(check as unknown as Request);
    const redirect = Object.getOwnPropertyDescriptor(Request.prototype, "redirect")!.get!.call(
      check,
    );
    if (copy.url === "http://bridge.test/a?b" && copy.method === "PUT" && redirect === "follow") {
      bridged = true;
      return;
    }
  } catch {
    // fall through: remove the bridge
  }
  for (const slot of defined) delete proto[slot];
}
