/**
 * Writing side of the chunked transfer coding: chunk framing and trailers.
 *
 * @module
 */

const FORBIDDEN_TRAILERS = new Set(["content-length", "transfer-encoding", "host", "trailer"]);

/** One chunk: size line, data and CRLF in one array. */
export function encodeChunk(chunk: Uint8Array): Uint8Array {
  const size = chunk.length.toString(16);
  const out = new Uint8Array(size.length + chunk.length + 4);
  for (let k = 0; k < size.length; k++) out[k] = size.charCodeAt(k);
  out[size.length] = 13;
  out[size.length + 1] = 10;
  out.set(chunk, size.length + 2);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

/** Trailer field lines (each ending in CRLF), refusing framing fields. */
export function formatTrailers(headers: Headers): string {
  let text = "";
  headers.forEach((value, name) => {
    if (FORBIDDEN_TRAILERS.has(name)) {
      throw new TypeError(
        `Cannot send trailer: ${JSON.stringify(name)} is not allowed in trailers`,
      );
    }
    text += `${name}: ${value}\r\n`;
  });
  return text;
}
