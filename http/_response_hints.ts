/**
 * Cheap hints about a `Response` body, so the server can send a body whose
 * size is known with `Content-Length` in the same write as the head, instead
 * of through a `ReadableStream` and chunked coding.
 *
 * The web API has no way to ask "is this body a string or bytes held in
 * memory?", and `response.body` turns any body into a stream (a microsecond
 * each, the whole budget of a request). Deno keeps the body's source on the
 * response under symbol-keyed internal slots. This module reads those slots
 * only as a HINT: the body itself is always consumed through the public API
 * (`text()`, `bytes()`, `body`). A self-test at load checks that the slots
 * behave as expected on sample responses; if Deno ever changes them, the
 * hints switch off and every body takes the (correct, slower) stream path.
 *
 * @module
 */
import { copyBytes } from "../net/_bytes.ts";

/** No usable hint: read the body as a stream of unknown length. */
export const UNKNOWN = 0;
/** The body is a string in memory: `await response.text()` is cheap. */
export const TEXT = 1;
/** The body is bytes in memory: `await response.bytes()` is cheap. */
export const BYTES = 2;
/** The body's byte length is known (see `hintLength`), read it as a stream. */
export const SIZED = 3;
/**
 * A plain `new Response(string)` or `Response.json()` untouched since: the
 * status is the public one, the only header is `Content-Type: hintType`,
 * and the body is `hintText`.
 */
export const PLAIN = 4;

let lazySlot: symbol | undefined;
let lazyTypeSlot: symbol | undefined;
let innerSlot: symbol | undefined;
let probed = false;

/**
 * What {@linkcode bodyHint} found besides the kind: a caller-owned record
 * (one per connection), filled in place so that no object is allocated per
 * response.
 */
export interface BodyHint {
  /** The body text, for PLAIN. */
  text: string;
  /** The content type, for PLAIN. */
  type: string;
  /** The byte length, for BYTES and SIZED; -1 otherwise. */
  length: number;
}

/** A fresh {@linkcode BodyHint} record. */
export function newBodyHint(): BodyHint {
  return { text: "", type: "", length: -1 };
}

interface InnerBody {
  source?: unknown;
  length?: unknown;
  streamOrStatic?: unknown;
}

/**
 * What kind of body `res` has; `res.bodyUsed` must be false. The text, type
 * and length go into `out`.
 */
export function bodyHint(res: Response, out: BodyHint): number {
  if (!probed) probe();
  if (lazySlot === undefined) {
    // The public path: only what settleResponse() read ahead is known.
    const length = settledLengths.get(res);
    if (length === undefined) return UNKNOWN;
    out.length = length;
    return BYTES;
  }
  const slots = res as unknown as Record<symbol, unknown>;
  const lazy = slots[lazySlot];
  if (typeof lazy === "string") {
    if (lazyTypeSlot === undefined) return TEXT;
    const type = slots[lazyTypeSlot];
    out.text = lazy;
    out.type = typeof type === "string" ? type : "text/plain;charset=UTF-8";
    return PLAIN;
  }
  const inner = slots[innerSlot!] as { body?: InnerBody | null } | undefined;
  const body = inner?.body;
  if (body === null || body === undefined || typeof body !== "object") return UNKNOWN;
  const length = body.length;
  if (!(body.streamOrStatic instanceof ReadableStream)) {
    if (typeof body.source === "string") return TEXT;
    if (body.source instanceof Uint8Array && length === body.source.length) {
      out.length = length;
      return BYTES;
    }
  }
  if (typeof length === "number" && Number.isSafeInteger(length) && length >= 0) {
    out.length = length;
    return SIZED;
  }
  return UNKNOWN;
}

function selfTest(): boolean {
  const sample = new Response("x");
  const syms = Object.getOwnPropertySymbols(sample);
  lazySlot = syms.find((s) => s.description === "lazy static body");
  lazyTypeSlot = syms.find((s) => s.description === "lazy static content type");
  innerSlot = syms.find((s) => s.description === "response");
  if (lazySlot === undefined || innerSlot === undefined) return false;
  if (lazyTypeSlot !== undefined && !plainSelfTest()) lazyTypeSlot = undefined;
  const touched = new Response("abc");
  void touched.body;
  const withHeaders = new Response("abc", { headers: { "x-a": "1" } });
  const plain = lazyTypeSlot === undefined ? TEXT : PLAIN;
  const checks: [Response, number, number][] = [
    [new Response("abc"), plain, -1],
    [withHeaders, TEXT, -1],
    [touched, UNKNOWN, -1],
    [new Response(new Uint8Array(5)), BYTES, 5],
    [new Response(new Blob(["abcd"])), SIZED, 4],
    [new Response(ReadableStream.from([new Uint8Array(1)])), UNKNOWN, -1],
    [new Response(null), UNKNOWN, -1],
  ];
  for (const [res, want, length] of checks) {
    const out = newBodyHint();
    if (bodyHint(res, out) !== want) return false;
    if (length >= 0 && out.length !== length) return false;
  }
  return true;
}

/** Checks that a PLAIN hint tells the truth about headers, status and body. */
function plainSelfTest(): boolean {
  const samples = [
    new Response("plain"),
    Response.json({ a: 1 }),
    new Response("ok", { status: 200 }),
    new Response("", { headers: {} }),
  ];
  for (const res of samples) {
    const out = newBodyHint();
    const hint = bodyHint(res, out);
    const status = res.status;
    const statusText = res.statusText;
    const text = out.text;
    const type = out.type;
    if (hint !== PLAIN) continue;
    const headers = [...res.headers];
    if (headers.length !== 1 || headers[0]![0] !== "content-type" || headers[0]![1] !== type) {
      return false;
    }
    if (status !== 200 || statusText !== "") return false;
    // Touching the headers must end the plain state (or we would miss headers).
    res.headers.set("x-self-test", "1");
    if (bodyHint(res, newBodyHint()) === PLAIN) return false;
    if (text !== (res === samples[1] ? '{"a":1}' : res === samples[0] ? "plain" : text)) {
      return false;
    }
  }
  const first = new Response("plain");
  const out = newBodyHint();
  return bodyHint(first, out) === PLAIN && out.text === "plain" &&
    out.type === "text/plain;charset=UTF-8";
}

/**
 * Finds the slots and checks them, once, on first use; with
 * `INETKIT_NO_FAST_PATHS=1` in the environment the hints stay off (to run
 * the test suite on the public paths only).
 */
function probe(): void {
  probed = true;
  if (fastPathsDisabled()) return;
  try {
    if (!selfTest()) lazySlot = lazyTypeSlot = innerSlot = undefined;
  } catch {
    lazySlot = lazyTypeSlot = innerSlot = undefined;
  }
}

/** Whether `INETKIT_NO_FAST_PATHS=1` turns the Deno-internals fast paths off. */
export function fastPathsDisabled(): boolean {
  try {
    return Deno.env.get("INETKIT_NO_FAST_PATHS") === "1";
  } catch {
    return false;
  }
}

/** Whether the hints are active in this runtime (for tests and benchmarks). */
export function hintsActive(): boolean {
  if (!probed) probe();
  return lazySlot !== undefined;
}

/** Byte lengths of the responses {@linkcode settleResponse} built from bodies it read whole. */
const settledLengths = new WeakMap<Response, number>();
/** The bytes after which {@linkcode settleResponse} stops reading ahead. */
const SETTLE_LIMIT = 64 * 1024;
/** How many microtask turns {@linkcode settleResponse} gives each read. */
const SETTLE_TURNS = 8;
const WAITING = Symbol("waiting");

function turns(n: number): Promise<typeof WAITING> {
  let p: Promise<unknown> = Promise.resolve();
  for (let i = 0; i < n; i++) p = p.then(() => {});
  return p.then(() => WAITING);
}

/**
 * Without the hints (see {@linkcode hintsActive}), the server cannot see
 * that `new Response("text")` holds its whole body: read ahead what the
 * body yields at once (a few microtask turns per read, about 64 KiB).
 * A body that ends there comes back as a new response of known length
 * (Content-Length, HTTP/1.0 keep-alive, no compression below the
 * threshold, as on the fast path); one that does not comes back with the
 * bytes read so far in front of the rest, to be streamed. Like Go's
 * server, which sets Content-Length when the handler's whole output fits
 * in its first buffer. With the hints active, or for a body of declared
 * length or none, the response is returned as it is.
 */
export async function settleResponse(res: Response): Promise<Response> {
  if (hintsActive()) return res;
  const status = res.status;
  if (
    status < 200 || status === 204 || status === 205 || status === 304 || res.bodyUsed ||
    res.headers.has("content-length")
  ) return res;
  const body = res.body;
  if (body === null) return res;
  const init = { status, statusText: res.statusText, headers: res.headers };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = reader.read();
  // Chunks past the limit: one more read may still find the end (a large
  // string body is one chunk), a second one stops the reading ahead.
  let over = 0;
  try {
    for (;;) {
      const result = await Promise.race([pending!, turns(SETTLE_TURNS)]);
      if (result === WAITING) break;
      if (result.done) {
        const settled = new Response(copyBytes(chunks, total), init);
        settledLengths.set(settled, total);
        return settled;
      }
      chunks.push(result.value);
      total += result.value.length;
      if (total > SETTLE_LIMIT && ++over > 1) {
        pending = null;
        break;
      }
      pending = reader.read();
    }
  } catch (error) {
    // The body failed early: it fails where the writer reads it.
    pending = Promise.reject(error);
    pending.catch(() => {});
  }
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
    async pull(controller) {
      const next = pending ?? reader.read();
      pending = null;
      const { value, done } = await next;
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(rest, init);
}
