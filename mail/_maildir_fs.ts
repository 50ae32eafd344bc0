/**
 * File-level Maildir pieces: unique names, the `:2,` info suffix, fsync of
 * files and directories, atomic replacement, and message streams.
 *
 * Directory fsync: on Linux `Deno.openSync(dir)` opens a directory
 * read-only and `FsFile.sync()` calls `fsync(2)` on it, which makes renames
 * and new entries in it durable. Where the platform refuses to open or sync
 * a directory (Windows), the failure is ignored: renames there are only as
 * durable as the file system makes them.
 *
 * Synchronous calls: opening an existing file or directory, writing to the
 * page cache, renaming and closing take microseconds, while each
 * asynchronous file op costs a hand-over to a worker thread and back
 * (50-150 µs here), several times the work itself. So the delivery path
 * makes those calls synchronously and awaits only what waits for the disk:
 * `fsync(2)`, creating files, and reads of large or uncached files.
 *
 * @module
 */
import { writeAll, writeAllSync } from "../net/_io.ts";
import { CrlfNormalizer, RangeCutter, STREAM_CHUNK_SIZE } from "./_mail_store_crlf.ts";

const LETTER_OF: Record<string, string> = {
  "\\Draft": "D",
  "\\Flagged": "F",
  "\\Answered": "R",
  "\\Seen": "S",
  "\\Deleted": "T",
};
const FLAG_OF: Record<string, string> = Object.fromEntries(
  Object.entries(LETTER_OF).map(([flag, letter]) => [letter, flag]),
);
// deno-lint-ignore no-control-regex
const BAD_NAME_REGEXP = /[\u0000-\u001f\u007f\t]/;

let counter = 0;
let host: string | undefined;

function hostName(): string {
  if (host === undefined) {
    let name = "localhost";
    try {
      name = Deno.hostname() || name;
    } catch {
      // No --allow-sys: the pid, counter and random part keep names unique.
    }
    host = name.replaceAll("/", "\\057").replaceAll(":", "\\072").replaceAll(",", "\\054");
  }
  return host;
}

/**
 * A new unique Maildir base name:
 * `<seconds>.M<microseconds>P<pid>Q<counter>R<random>.<host>`.
 */
export function uniqueName(): string {
  const now = Date.now();
  const micros = (now % 1000) * 1000 + Math.floor((performance.now() % 1) * 1000);
  const random = crypto.getRandomValues(new Uint32Array(2));
  const hex = [...random].map((n) => n.toString(16).padStart(8, "0")).join("");
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${Math.floor(now / 1000)}.M${micros}P${Deno.pid}Q${counter}R${hex}.${hostName()}`;
}

/** A file name split into its base and its info (after `:`), if any. */
export function splitName(name: string): { base: string; info: string | undefined } {
  const colon = name.indexOf(":");
  return colon === -1
    ? { base: name, info: undefined }
    : { base: name.slice(0, colon), info: name.slice(colon + 1) };
}

/** Whether a directory entry can be a message file. */
export function isMessageName(name: string): boolean {
  return name.length > 0 && !name.startsWith(".") && !BAD_NAME_REGEXP.test(name) &&
    splitName(name).base.length > 0;
}

/** The system flags and the uninterpreted letters of an info suffix. */
export function parseInfo(info: string | undefined): { flags: string[]; extra: string } {
  if (info === undefined || !info.startsWith("2,")) return { flags: [], extra: "" };
  const flags: string[] = [];
  let extra = "";
  for (const letter of info.slice(2)) {
    const flag = FLAG_OF[letter];
    if (flag !== undefined) {
      if (!flags.includes(flag)) flags.push(flag);
    } else if (!extra.includes(letter)) {
      extra += letter;
    }
  }
  return { flags, extra };
}

/** The info suffix `2,<letters>` for flags plus kept letters, letters in ASCII order. */
export function formatInfo(flags: readonly string[], extra: string): string {
  const letters = new Set<string>([...extra]);
  for (const flag of flags) {
    const letter = LETTER_OF[flag];
    if (letter !== undefined) letters.add(letter);
  }
  return "2," + [...letters].sort().join("");
}

/** The `,W=<n>` virtual size in a base name, if present. */
export function sizeInName(base: string): number | undefined {
  const match = /,W=(\d{1,15})(?:,|$)/.exec(base);
  return match === null ? undefined : Number(match[1]);
}

/** fsyncs a directory; ignores platforms that cannot. */
export async function syncDir(path: string): Promise<void> {
  let dir: Deno.FsFile;
  try {
    dir = Deno.openSync(path, { read: true });
  } catch (error) {
    if (Deno.build.os === "windows") return;
    throw error;
  }
  try {
    await dir.sync();
  } catch (error) {
    if (Deno.build.os !== "windows") throw error;
  } finally {
    dir.close();
  }
}

/**
 * Appends text to an existing file with one `write(2)` in append mode;
 * with `durable`, `fdatasync(2)`s it before resolving.
 *
 * @throws {Deno.errors.NotFound} When the file does not exist.
 */
export async function appendText(path: string, text: string, durable: boolean): Promise<void> {
  const file = Deno.openSync(path, { append: true });
  try {
    writeAllSync(file, new TextEncoder().encode(text));
    if (durable) await file.syncData();
  } finally {
    file.close();
  }
}

/**
 * Replaces `path` atomically: writes `tmpDir/<name>`, fsyncs it, renames it
 * over `path` and fsyncs the directory of `path`.
 */
export async function writeAtomic(
  path: string,
  dir: string,
  tmpDir: string,
  bytes: Uint8Array,
): Promise<void> {
  const tmp = `${tmpDir}/${uniqueName()}.inetkit-tmp`;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    try {
      await writeAll(file, bytes);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  await syncDir(dir);
}

/** Reads a file as text, or returns `undefined` when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** The served (CRLF) size of a file, read in chunks. */
export async function crlfSizeOf(path: string): Promise<number> {
  using file = await Deno.open(path, { read: true });
  const normalizer = new CrlfNormalizer();
  const buffer = new Uint8Array(STREAM_CHUNK_SIZE);
  let size = 0;
  while (true) {
    const n = await file.read(buffer);
    if (n === null) return size;
    size += normalizer.push(buffer.subarray(0, n)).length;
  }
}

/** Messages up to this size are read with one `readFile`. */
export const SMALL_MESSAGE = 256 * 1024;

/** Messages up to this size are read synchronously (see {@linkcode readSmallFile}). */
export const SYNC_READ_MAX = 64 * 1024;

/**
 * Reads a small file whole. Up to {@linkcode SYNC_READ_MAX} octets
 * synchronously: for a file in the page cache that is about 12 µs, where
 * an asynchronous `readFile` costs 150 µs of hand-over (measured on Linux
 * with 3 KB messages), and a FETCH of 1,000 bodies is 1,000 such reads. A
 * file that is not cached blocks the event loop for one small read.
 */
export function readSmallFile(path: string, size: number): Uint8Array | Promise<Uint8Array> {
  return size <= SYNC_READ_MAX ? Deno.readFileSync(path) : Deno.readFile(path);
}

/**
 * Streams the CRLF view of a file's octets `[start, start + length)`. When
 * the file already has CRLF line ends (`crlf`, and `size` octets), it
 * seeks; otherwise it converts from the start. The file is closed at the
 * end, on cancel and on errors.
 */
export async function openMessageStream(
  path: string,
  start: number,
  length: number,
  crlf: boolean,
  size: number,
): Promise<ReadableStream<Uint8Array>> {
  // A small CRLF file: one op reads it whole (open, read, close in one go),
  // several times cheaper per message than a file handle and reads.
  if (crlf && size <= SMALL_MESSAGE) {
    const bytes = await readSmallFile(path, size);
    const piece = bytes.subarray(start, Math.min(bytes.length, start + length));
    return new ReadableStream<Uint8Array>({
      start(controller) {
        if (piece.length > 0) controller.enqueue(piece);
        controller.close();
      },
    });
  }
  const file = await Deno.open(path, { read: true });
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  try {
    if (crlf && start > 0) await file.seek(start, Deno.SeekMode.Start);
  } catch (error) {
    close();
    throw error;
  }
  const cutter = crlf ? new RangeCutter(0, length) : new RangeCutter(start, length);
  const normalizer = crlf ? undefined : new CrlfNormalizer();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        while (true) {
          if (cutter.done) break;
          const buffer = new Uint8Array(STREAM_CHUNK_SIZE);
          const n = await file.read(buffer);
          if (n === null) break;
          let chunk: Uint8Array = buffer.subarray(0, n);
          if (normalizer !== undefined) chunk = normalizer.push(chunk);
          const out = cutter.push(chunk);
          if (out.length > 0) {
            controller.enqueue(out);
            if (!cutter.done) return;
          }
        }
        close();
        controller.close();
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel() {
      close();
    },
  });
}
