// Private body helpers for the opener and its handlers.
import type { UrlProgress } from "./url_request.ts";
import type { UrlResponse } from "./url_response.ts";
import { concatBytes } from "../net/_bytes.ts";

/**
 * Reads up to `limit` bytes of a response body. When the body ends within
 * the limit the response gets a memory body (and the connection is free);
 * otherwise the bytes read are put back in front of the rest of the stream.
 */
export async function bufferBody(response: UrlResponse, limit: number): Promise<UrlResponse> {
  const body = response.body;
  if (body === null || response.bodyUsed) return response;
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size <= limit) {
      const { value, done } = await reader.read();
      if (done) return response.withBody(concatBytes(chunks, size));
      chunks.push(value);
      size += value.length;
    }
  } catch (error) {
    reader.releaseLock();
    // A failing error body: keep what arrived, report the failure on read.
    return response.withBody(failingStream(chunks, error));
  }
  reader.releaseLock();
  return response.withBody(prepend(chunks, body));
}

/**
 * Discards a body we are done with: reads up to `limit` bytes so the
 * connection can be reused, then cancels the rest.
 */
export async function discardBody(response: Response, limit = 65536): Promise<void> {
  const body = response.body;
  if (body === null || response.bodyUsed) return;
  const reader = body.getReader();
  let size = 0;
  try {
    while (size <= limit) {
      const { value, done } = await reader.read();
      if (done) return;
      size += value.length;
    }
    await reader.cancel();
  } catch {
    // The connection is closed either way.
  } finally {
    reader.releaseLock();
  }
}

/** Wraps a body so that `onProgress` sees each chunk and the end. */
export function withProgress(
  response: UrlResponse,
  onProgress: (progress: UrlProgress) => void,
): UrlResponse {
  const body = response.body;
  const lengthText = response.headers.get("content-length");
  const total = lengthText !== null && /^\d+$/.test(lengthText) ? Number(lengthText) : null;
  if (body === null) {
    onProgress({ loaded: 0, total, done: true });
    return response;
  }
  let loaded = 0;
  const counted = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded += chunk.length;
        controller.enqueue(chunk);
        onProgress({ loaded, total, done: false });
      },
      flush() {
        onProgress({ loaded, total, done: true });
      },
    }),
  );
  return response.withBody(counted);
}

function prepend(
  chunks: Uint8Array[],
  rest: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const head = chunks.shift();
      if (head !== undefined) {
        controller.enqueue(head);
        return;
      }
      reader ??= rest.getReader();
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      chunks.length = 0;
      if (reader !== undefined) await reader.cancel(reason);
      else await rest.cancel(reason);
    },
  });
}

function failingStream(chunks: Uint8Array[], error: unknown): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const head = chunks.shift();
      if (head !== undefined) controller.enqueue(head);
      else controller.error(error);
    },
  });
}
