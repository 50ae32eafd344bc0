/**
 * The request body of a CGI request: capped, and pumped into the script's
 * standard input while it runs.
 *
 * @module
 */
import { ProtocolError } from "../net/protocol_error.ts";

/** A request body ready for a script, with its `CONTENT_LENGTH`. */
export interface CgiInput {
  /** A stream (a declared length), the collected bytes (chunked) or none. */
  body: ReadableStream<Uint8Array> | Uint8Array | null;
  /** `CONTENT_LENGTH`, null without a body. */
  length: number | null;
}

/** A stream of the request body that errors past `max` bytes. */
function cappedBody(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        if (seen > max) {
          controller.error(
            new ProtocolError("BODY_TOO_LARGE", `Cannot pass body: more than ${max} bytes`),
          );
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * Prepares the request body: a declared `Content-Length` is streamed under
 * that length (413 past `maxBodySize`); a body without one (chunked) is
 * collected under `maxBodySize` to learn `CONTENT_LENGTH` (413 past it, 400
 * when it fails). Returns the status when the request cannot go on.
 */
export async function prepareInput(
  request: Request,
  maxBodySize: number,
): Promise<CgiInput | number> {
  if (request.body === null) return { body: null, length: null };
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared)) {
    const length = Number(declared);
    if (length > maxBodySize) {
      await request.body.cancel().catch(() => {});
      return 413;
    }
    return { body: cappedBody(request.body, length), length };
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of request.body) {
      size += chunk.length;
      if (size > maxBodySize) return 413;
      chunks.push(chunk);
    }
  } catch {
    return 400;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return { body: all, length: size };
}

/** Drops a prepared body that will not be used. */
export async function discardInput(input: CgiInput): Promise<void> {
  if (input.body instanceof ReadableStream) await input.body.cancel().catch(() => {});
}

/**
 * Copies the request body into the script's standard input and closes it.
 * A script that stops reading ends the copy quietly (the rest of the body is
 * cancelled); a body that fails (the client went away, a framing error)
 * calls `onSourceError`.
 */
export class StdinPump {
  /** Settles when the copy is over, whichever way. */
  readonly done: Promise<void>;
  #source: ReadableStreamDefaultReader<Uint8Array> | null;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #stopped = false;

  constructor(
    body: ReadableStream<Uint8Array> | Uint8Array | null,
    stdin: WritableStream<Uint8Array>,
    onSourceError: (error: unknown) => void,
  ) {
    this.#writer = stdin.getWriter();
    this.#source = body instanceof ReadableStream ? body.getReader() : null;
    this.done = this.#run(body instanceof Uint8Array ? body : null, onSourceError);
  }

  async #run(bytes: Uint8Array | null, onSourceError: (error: unknown) => void): Promise<void> {
    const writer = this.#writer;
    const source = this.#source;
    try {
      if (bytes !== null && bytes.length > 0) await writer.write(bytes);
      if (source !== null) {
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await source.read();
          } catch (error) {
            if (!this.#stopped) onSourceError(error);
            await writer.abort(error).catch(() => {});
            return;
          }
          if (chunk.done || this.#stopped) break;
          await writer.write(chunk.value);
        }
      }
      await writer.close();
    } catch {
      // The script exited or closed its input without reading it all.
      await source?.cancel().catch(() => {});
      await writer.abort().catch(() => {});
    }
  }

  /** Stops copying: the rest of the body is cancelled and stdin closed. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#source?.cancel().catch(() => {});
    this.#writer.abort().catch(() => {});
  }
}
