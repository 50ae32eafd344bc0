/**
 * Response compression as `Deno.serve` does it: gzip, brotli or deflate
 * through `CompressionStream`, chosen from the request's `Accept-Encoding`
 * (q-values honoured, ties go to gzip, then brotli), for compressible media
 * types above a size threshold; never for ranges, HEAD, bodies already
 * encoded, `Cache-Control: no-transform`, or statuses without a body.
 * `Vary: Accept-Encoding` is added whenever the choice depended on the
 * request, and a strong ETag becomes weak.
 *
 * @module
 */

/** What the server needs to know to compress. */
export interface CompressionSettings {
  /** Bodies shorter than this (when their size is known) are sent as they are. */
  threshold: number;
  /** The encodings offered, best first. */
  encodings: readonly ("gzip" | "br" | "deflate")[];
}

const COMPRESSIBLE_REGEXP =
  /^(?:text\/|application\/(?:json|javascript|ecmascript|xml|xhtml\+xml|rss\+xml|atom\+xml|wasm|x-javascript|manifest\+json|ld\+json|graphql|x-ndjson)|image\/svg\+xml|[^;]*\+(?:json|xml)\s*(?:;|$))/i;

const FORMATS: Record<string, CompressionFormat> = {
  gzip: "gzip",
  br: "brotli" as CompressionFormat,
  deflate: "deflate",
};

/** Whether a media type is worth compressing. */
export function compressible(contentType: string | null): boolean {
  return contentType !== null && COMPRESSIBLE_REGEXP.test(contentType.trim());
}

/**
 * Picks an encoding from an `Accept-Encoding` value, or null for identity.
 * `*` stands for any encoding not listed; q=0 refuses.
 */
export function chooseEncoding(
  accept: string | null,
  offered: readonly string[],
): string | null {
  if (accept === null || accept.trim() === "") return null;
  const q = new Map<string, number>();
  for (const part of accept.split(",")) {
    const [name, ...params] = part.trim().split(";");
    const coding = name!.trim().toLowerCase();
    if (coding === "") continue;
    let weight = 1;
    for (const param of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param);
      if (m) weight = Math.min(1, Number(m[1]) || 0);
    }
    q.set(coding === "x-gzip" ? "gzip" : coding, weight);
  }
  let best: string | null = null;
  let bestQ = 0;
  for (const coding of offered) {
    const weight = q.get(coding) ?? q.get("*") ?? 0;
    if (weight > bestQ) {
      best = coding;
      bestQ = weight;
    }
  }
  return best;
}

/**
 * The response compressed for this request, or null to send it as it is.
 *
 * @param response The handler's response.
 * @param method The request method.
 * @param accept The request's `Accept-Encoding`, or null.
 * @param hasRange Whether the request asked for a range.
 * @param knownLength The body length when known, else -1.
 * @param settings Threshold and encodings.
 * @param hasBody Whether the response is known to have a body (its hint
 *   said so): then `response.body` is left alone unless the body is
 *   compressed, since touching it turns a body held in memory into a
 *   stream and costs the writer its fast path.
 */
export function compressResponse(
  response: Response,
  method: string,
  accept: string | null,
  hasRange: boolean,
  knownLength: number,
  settings: CompressionSettings,
  hasBody = false,
): Response | null {
  const status = response.status;
  if (method === "HEAD" || hasRange) return null;
  if (status < 200 || status === 204 || status === 206 || status === 304) return null;
  if (knownLength >= 0 && knownLength < settings.threshold) return null;
  if (!hasBody && response.body === null) return null;
  const headers = response.headers;
  if (headers.has("content-encoding") || headers.has("content-range")) return null;
  if (/(?:^|,)\s*no-transform\s*(?:,|$)/i.test(headers.get("cache-control") ?? "")) return null;
  if (!compressible(headers.get("content-type"))) return null;
  const encoding = chooseEncoding(accept, settings.encodings);
  const vary = headers.get("vary");
  const varied = vary === null
    ? "Accept-Encoding"
    : /(?:^|,)\s*(?:accept-encoding|\*)\s*(?:,|$)/i.test(vary)
    ? vary
    : `${vary}, Accept-Encoding`;
  if (encoding === null) {
    // Identity this time, but the answer depended on the request: say so,
    // in the response's own headers when they may be changed (a handler's
    // response; a new Headers and Response per request cost a quarter of
    // a small file's time), else in a copy.
    if (varied === vary) return null;
    try {
      headers.set("vary", varied);
      return null;
    } catch {
      // immutable headers (a fetch() response passed through)
    }
    const copy = new Headers(headers);
    copy.set("vary", varied);
    return new Response(response.body, { status, statusText: response.statusText, headers: copy });
  }
  const out = new Headers(headers);
  out.set("vary", varied);
  out.set("content-encoding", encoding);
  out.delete("content-length");
  const etag = out.get("etag");
  if (etag !== null && !etag.startsWith("W/")) out.set("etag", `W/${etag}`);
  const source = response.body;
  if (source === null) return null;
  const body = source.pipeThrough(
    new CompressionStream(FORMATS[encoding]!) as unknown as TransformStream<
      Uint8Array,
      Uint8Array
    >,
  );
  return new Response(body, { status, statusText: response.statusText, headers: out });
}
