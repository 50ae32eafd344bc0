import { ProtocolError } from "../net/protocol_error.ts";
import { concatBytes } from "../net/_bytes.ts";

/** Options for {@linkcode HttpClientResponse}. */
export interface HttpClientResponseOptions {
  /**
   * The URL the response answers (`response.url`, as `fetch` sets it).
   *
   * @default {""}
   */
  url?: string;
  /**
   * The most bytes the buffered helpers read from a body of unknown length.
   * `Infinity` turns the limit off.
   *
   * @default {16777216}
   */
  maxBodySize?: number;
  /**
   * Whether the body's length is known and within `maxBodySize` (bytes in
   * hand, or a `Content-Length` the framing enforces): the helpers then
   * read it as `Response` does.
   *
   * @default {false}
   */
  lengthKnown?: boolean;
}

/** The cap of a response whose length is not known, by response. */
const caps = new WeakMap<Response, number>();
const urls = new WeakMap<Response, string>();

/**
 * The `Response` that `HttpClient` and `HttpConnection` resolve to: a real
 * `Response` whose `url` is the request URL and whose buffered helpers
 * (`text()`, `json()`, `arrayBuffer()`, `bytes()`, `blob()`, `formData()`)
 * stop at `maxBodySize` on a body of unknown length (chunked, or until
 * close) with a `ProtocolError` `"BODY_TOO_LARGE"`, instead of growing
 * without bound. Reading `body` as a stream is never limited.
 *
 * @example A body over the cap
 * ```ts
 * import { HttpClientResponse } from "@inetkit/inetkit/http";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const endless = new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(1024)) });
 * const response = new HttpClientResponse(endless, {}, { url: "http://h/", maxBodySize: 4096 });
 * assertEquals(response.url, "http://h/");
 * await assertRejects(() => response.arrayBuffer(), Error, "maxBodySize");
 * ```
 */
export class HttpClientResponse extends Response {
  /**
   * Creates a response.
   *
   * @param body The body.
   * @param init Status, reason and headers.
   * @param options The URL, the cap and whether the length is known.
   */
  constructor(
    body: BodyInit | null,
    init?: ResponseInit,
    options?: HttpClientResponseOptions,
  ) {
    init ??= {};
    options ??= {};
    super(body, init);
    const max = options.maxBodySize ?? 16 * 1024 * 1024;
    if (body !== null && options.lengthKnown !== true && max !== Infinity) caps.set(this, max);
    if (options.url !== undefined) urls.set(this, options.url);
  }

  /** The URL the request was sent to. */
  override get url(): string {
    return urls.get(this) ?? super.url;
  }

  /** The body as text, up to `maxBodySize` bytes. */
  override text(): Promise<string> {
    if (!caps.has(this)) return super.text();
    return readCapped(this).then((bytes) => new TextDecoder().decode(bytes));
  }

  /** The body as bytes, up to `maxBodySize` bytes. */
  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (!caps.has(this)) return super.bytes();
    return readCapped(this);
  }

  /** The body as an `ArrayBuffer`, up to `maxBodySize` bytes. */
  override arrayBuffer(): Promise<ArrayBuffer> {
    if (!caps.has(this)) return super.arrayBuffer();
    return readCapped(this).then((bytes) => bytes.buffer);
  }

  /** The body parsed as JSON, up to `maxBodySize` bytes. */
  // deno-lint-ignore no-explicit-any
  override json(): Promise<any> {
    if (!caps.has(this)) return super.json();
    return this.text().then((text) => JSON.parse(text));
  }

  /** The body as a `Blob`, up to `maxBodySize` bytes. */
  override blob(): Promise<Blob> {
    if (!caps.has(this)) return super.blob();
    const type = this.headers.get("content-type") ?? "";
    return readCapped(this).then((bytes) => new Blob([bytes], { type }));
  }

  /** The body as `FormData`, up to `maxBodySize` bytes. */
  override formData(): Promise<FormData> {
    if (!caps.has(this)) return super.formData();
    return readCapped(this).then((bytes) =>
      new Response(bytes, { headers: this.headers }).formData()
    );
  }
}

async function readCapped(response: Response): Promise<Uint8Array<ArrayBuffer>> {
  const max = caps.get(response)!;
  const body = response.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      length += value.length;
      if (length > max) {
        await reader.cancel().catch(() => {});
        throw new ProtocolError(
          "BODY_TOO_LARGE",
          `Cannot read body: it exceeds maxBodySize ${max} bytes (read response.body as a stream instead)`,
        );
      }
      parts.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return concatBytes(parts, length) as Uint8Array<ArrayBuffer>;
}
