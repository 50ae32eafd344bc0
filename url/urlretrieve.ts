import { HTTPError } from "./http_error.ts";
import { writeAll } from "../net/_io.ts";
import { URLError } from "./url_error.ts";
import type { UrlOpener } from "./url_opener.ts";
import { type UrlProgress, UrlRequest } from "./url_request.ts";
import { urlopen } from "./urlopen.ts";

/** Options for {@linkcode urlretrieve}. */
export interface UrlretrieveOptions {
  /**
   * The opener to use.
   *
   * @default {the one urlopen uses}
   */
  opener?: UrlOpener;
  /** Extra request headers. */
  headers?: HeadersInit;
  /**
   * Continue a partial file: ask for the bytes after its current size with
   * `Range`. A 206 answer is appended; a 200 answer (the server ignored the
   * range, or the `If-Range` validator no longer matches) rewrites the file.
   *
   * @default {false}
   */
  resume?: boolean;
  /**
   * The validator (an `ETag` or a `Last-Modified` date) of the partial
   * file's original download, sent as `If-Range` so that a changed resource
   * is fetched whole instead of appended to stale bytes.
   */
  ifRange?: string;
  /**
   * How many times a transfer that breaks off mid-body is resumed with
   * `Range` + `If-Range` (only when the server gave a strong `ETag` or a
   * `Last-Modified` date to check against).
   *
   * @default {3}
   */
  retries?: number;
  /** Milliseconds for the connect, the head and each pause in the body. */
  timeout?: number;
  /** Aborts the transfer (the bytes written so far stay in the file). */
  signal?: AbortSignal;
  /** Called as bytes arrive: `loaded` and `total` count the whole file. */
  onProgress?: (progress: UrlProgress) => void;
}

/** What {@linkcode urlretrieve} reports. */
export interface UrlretrieveResult {
  /** Where the file is. */
  path: string;
  /** The size of the file at the end. */
  size: number;
  /** The last response's status (200 or 206). */
  status: number;
  /** The last response's headers. */
  headers: Headers;
  /** Whether bytes were appended to a partial file. */
  resumed: boolean;
  /** The validator to pass as `ifRange` when resuming this file later. */
  validator: string | null;
}

const WRITE_BUFFER = 262144;
const CONTENT_RANGE_REGEXP = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i;

/**
 * Downloads a URL into a file, Python's `urlretrieve` with resume: the body
 * streams to disk (memory stays flat for any size), `Range` + `If-Range`
 * continue a partial file (RFC 9110 §13.1.5, §14.2), and a transfer that
 * breaks off is resumed where it stopped.
 *
 * @param url The URL.
 * @param path The file to write.
 * @param options Resume, retries, headers, timeout, signal, progress.
 * @returns The outcome.
 * @throws {HTTPError} For an HTTP error answer (a 416 for a file that is
 *   already complete is a success).
 * @throws {URLError} When the URL cannot be opened, the server resumes at
 *   the wrong offset, or the body keeps breaking off.
 *
 * @example Downloading a data: URL
 * ```ts
 * import { urlretrieve } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const path = await Deno.makeTempFile();
 * const result = await urlretrieve("data:,hello", path);
 * assertEquals([result.size, await Deno.readTextFile(path)], [5, "hello"]);
 * await Deno.remove(path);
 * ```
 */
export async function urlretrieve(
  url: string | URL,
  path: string,
  options?: UrlretrieveOptions,
): Promise<UrlretrieveResult> {
  options ??= {};
  const open = options.opener
    ? (r: UrlRequest) => options.opener!.open(r)
    : (r: UrlRequest) => urlopen(r);
  let offset = 0;
  if (options.resume) {
    try {
      offset = (await Deno.stat(path)).size;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  let validator: string | null = options.ifRange ?? null;
  const retries = options.retries ?? 3;
  let resumed = false;
  for (let attempt = 0;; attempt++) {
    const headers = new Headers(options.headers);
    if (offset > 0) {
      headers.set("Range", `bytes=${offset}-`);
      if (validator !== null) headers.set("If-Range", validator);
    }
    const request = new UrlRequest(url, {
      headers,
      timeout: options.timeout,
      signal: options.signal,
    });
    let response;
    try {
      response = await open(request);
    } catch (error) {
      if (error instanceof HTTPError && error.code === 416 && offset > 0) {
        const complete = error.headers.get("content-range") === `bytes */${offset}`;
        await error.cancel();
        if (complete) {
          return { path, size: offset, status: 416, headers: error.headers, resumed, validator };
        }
      }
      throw error;
    }
    let append = false;
    let total: number | null = null;
    if (response.status === 206 && offset > 0) {
      const m = CONTENT_RANGE_REGEXP.exec(response.headers.get("content-range") ?? "");
      if (m === null || Number(m[1]) !== offset) {
        await response.body?.cancel();
        throw new URLError(
          `server resumed at the wrong offset (asked for ${offset}, got ${
            JSON.stringify(response.headers.get("content-range"))
          })`,
        );
      }
      append = true;
      resumed = true;
      total = m[3] === "*" ? null : Number(m[3]);
    } else {
      offset = 0;
      const length = response.headers.get("content-length");
      total = length !== null && /^\d+$/.test(length) ? Number(length) : null;
    }
    validator ??= validatorOf(response.headers);
    const file = await Deno.open(path, {
      write: true,
      create: true,
      append,
      truncate: !append,
    });
    let written = offset;
    let broken: unknown = null;
    try {
      const body = response.body;
      if (body !== null) {
        const reader = body.getReader();
        // Small network chunks are gathered into large writes.
        const buffer = new Uint8Array(WRITE_BUFFER);
        let filled = 0;
        const flush = (bytes: Uint8Array) => writeAll(file, bytes);
        try {
          for (;;) {
            let result: ReadableStreamReadResult<Uint8Array>;
            try {
              result = await reader.read();
            } catch (error) {
              broken = error;
              break;
            }
            if (result.done) break;
            const value = result.value;
            if (filled + value.length > buffer.length) {
              await flush(buffer.subarray(0, filled));
              filled = 0;
            }
            if (value.length >= buffer.length) {
              await flush(value);
            } else {
              buffer.set(value, filled);
              filled += value.length;
            }
            written += value.length;
            options.onProgress?.({ loaded: written, total, done: false });
          }
          await flush(buffer.subarray(0, filled));
        } catch (error) {
          // Writing failed: that is not a transfer to resume.
          await reader.cancel().catch(() => {});
          throw error;
        } finally {
          reader.releaseLock();
        }
      }
    } finally {
      file.close();
    }
    if (broken === null) {
      options.onProgress?.({ loaded: written, total, done: true });
      return {
        path,
        size: written,
        status: response.status,
        headers: response.headers,
        resumed,
        validator,
      };
    }
    if (
      options.signal?.aborted || attempt >= retries || validator === null ||
      (written === offset && attempt > 0)
    ) {
      throw broken instanceof URLError || options.signal?.aborted
        ? broken
        : new URLError(`transfer broke off after ${written} bytes`, { cause: broken });
    }
    offset = written;
  }
}

/** A strong ETag, else Last-Modified: what If-Range may carry (RFC 9110 §13.1.5). */
function validatorOf(headers: Headers): string | null {
  const etag = headers.get("etag");
  if (etag !== null && !etag.startsWith("W/")) return etag;
  return headers.get("last-modified");
}
