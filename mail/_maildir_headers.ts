/**
 * The header cache of a Maildir folder: `inetkit-headers`, next to the
 * index, holds the header (the octets up to and including the first empty
 * line, as served, with CRLF line ends) of each message, so that the first
 * `FETCH 1:* (BODY.PEEK[HEADER])` after a start reads one file instead of
 * one per message.
 *
 * The file is a cache and never needed for correctness: it is written
 * without fsync, with one `write(2)` per delivery (after the delivery is
 * durable, and a failure is ignored); loading checks every record (UID,
 * message base name, length, checksum, and that the octets end at their
 * first empty line) and uses only records that name a message of the box
 * by UID and base name. A missing, stale (another UID validity), cut-short
 * or corrupt file is read as far as it is sound, and replaced (atomically,
 * without fsync) on the next write; headers of messages it lacks (delivered
 * by other tools, or written before a crash) are taken from their files
 * when they are read and added to it.
 *
 * Format: a first line `inetkit-headers 1 V<uid validity>`, then records
 * `<uid> <length> <fnv-1a 32, 8 hex digits> <base name>\n<length octets>\n`.
 *
 * @module
 */
import { uniqueName } from "./_maildir_fs.ts";
import { copyBytes } from "../net/_bytes.ts";

/** The header cache file name in each folder. */
export const HEADERS_NAME = "inetkit-headers";
/** The most octets of one header the cache keeps. */
export const HEADER_CACHE_MAX = 65536;
/** A cache file larger than this is not loaded (nor kept in memory, nor written to). */
const FILE_MAX = 16 * 1024 * 1024;
/** The file is rewritten when it holds more dead records than live ones plus this. */
const DEAD_SLACK = 64;

const LF = 0x0a;
const CR = 0x0d;
const RECORD_REGEXP = /^(\d{1,10}) (\d{1,6}) ([0-9a-f]{8}) (.+)$/;
const FIRST_LINE_REGEXP = /^inetkit-headers 1 V(\d{1,10})$/;

/**
 * Where the header of a message ends: the offset after its first empty
 * line (`\n` or `\r\n` at the start of a line), or -1 when `bytes` holds
 * none within `max` octets.
 */
export function headerEnd(bytes: Uint8Array, max: number = HEADER_CACHE_MAX): number {
  const n = Math.min(bytes.length, max);
  let lineStart = 0;
  for (let i = bytes.indexOf(LF); i !== -1 && i < n; i = bytes.indexOf(LF, i + 1)) {
    if (i === lineStart || (i === lineStart + 1 && bytes[lineStart] === CR)) return i + 1;
    lineStart = i + 1;
  }
  return -1;
}

/** Collects the header of a message streamed in chunks (see {@linkcode headerEnd}). */
export class HeaderCapture {
  #chunks: Uint8Array[] = [];
  #length = 0;
  #done = false;
  #header: Uint8Array | undefined;
  /** Where the line being read started, relative to the collected octets. */
  #lineStart = 0;
  /** Whether the line being read is `\r` so far. */
  #crOnly = false;

  /** Feeds the next chunk (which may be reused afterwards). */
  push(chunk: Uint8Array): void {
    if (this.#done) return;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      const at = this.#length + i;
      if (b === LF) {
        if (at === this.#lineStart || (at === this.#lineStart + 1 && this.#crOnly)) {
          this.#chunks.push(chunk.slice(0, i + 1));
          this.#header = join(this.#chunks, at + 1);
          this.#finish();
          return;
        }
        this.#lineStart = at + 1;
        this.#crOnly = false;
      } else if (at === this.#lineStart) {
        this.#crOnly = b === CR;
      }
      if (at + 1 >= HEADER_CACHE_MAX) {
        this.#finish();
        return;
      }
    }
    this.#chunks.push(chunk.slice());
    this.#length += chunk.length;
  }

  /** The header, once its empty line was seen within {@linkcode HEADER_CACHE_MAX} octets. */
  get header(): Uint8Array | undefined {
    return this.#header;
  }

  #finish(): void {
    this.#done = true;
    this.#chunks = [];
  }
}

function join(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.length === length) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    const take = Math.min(c.length, length - at);
    out.set(take === c.length ? c : c.subarray(0, take), at);
    at += take;
  }
  return out;
}

/** FNV-1a, 32 bits. */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

interface Entry {
  base: string;
  bytes: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The header cache of one loaded folder: the records in memory, and
 * appends to (or a rewrite of) the file.
 */
export class HeaderCache {
  readonly #path: string;
  readonly #tmpDir: string;
  readonly uidValidity: number;
  /** Whether caching is off for this folder (a file too large to keep). */
  #off = false;
  #entries = new Map<number, Entry>();
  /** UIDs whose header cannot be cached (no empty line within the limit). */
  #none = new Set<number>();
  /** The file's size as far as this cache wrote or read it; -1 when it must be rewritten. */
  #size = -1;
  #queue: Uint8Array[] = [];
  #queued = false;
  /** Whether the file may exist (else it is created in place, with nothing to replace). */
  #exists = true;

  /**
   * Loads the file (synchronously: one read), keeping the records that
   * `live` accepts (a UID and base name of a message of the folder).
   */
  constructor(
    path: string,
    tmpDir: string,
    uidValidity: number,
    live: (uid: number, base: string) => boolean,
  ) {
    this.#path = path;
    this.#tmpDir = tmpDir;
    this.uidValidity = uidValidity;
    let bytes: Uint8Array;
    try {
      const info = Deno.statSync(path);
      if (info.size > FILE_MAX) {
        this.#off = true;
        return;
      }
      bytes = Deno.readFileSync(path);
    } catch (error) {
      // Missing or unreadable: written anew on the first header.
      if (error instanceof Deno.errors.NotFound) this.#exists = false;
      return;
    }
    const { good, dead } = this.#parse(bytes, live);
    // Only a sound file (all of it parsed, and of this UID validity) is appended to.
    if (good === bytes.length && dead <= this.#entries.size + DEAD_SLACK) this.#size = good;
  }

  #parse(bytes: Uint8Array, live: (uid: number, base: string) => boolean) {
    let pos = bytes.indexOf(LF);
    if (pos === -1) return { good: -1, dead: 0 };
    const first = FIRST_LINE_REGEXP.exec(decoder.decode(bytes.subarray(0, pos)));
    if (first === null || Number(first[1]) !== this.uidValidity) return { good: -1, dead: 0 };
    pos++;
    let dead = 0;
    while (pos < bytes.length) {
      const lf = bytes.indexOf(LF, pos);
      if (lf === -1 || lf - pos > 4096) break;
      const m = RECORD_REGEXP.exec(decoder.decode(bytes.subarray(pos, lf)));
      if (m === null) break;
      const length = Number(m[2]);
      const end = lf + 1 + length;
      if (end >= bytes.length || bytes[end] !== LF) break;
      const header = bytes.subarray(lf + 1, end);
      if (
        length > HEADER_CACHE_MAX || fnv1a(header) !== parseInt(m[3]!, 16) ||
        headerEnd(header) !== length
      ) {
        break;
      }
      const uid = Number(m[1]);
      const base = m[4]!;
      if (live(uid, base)) this.#entries.set(uid, { base, bytes: header });
      else dead++;
      pos = end + 1;
    }
    return { good: pos, dead };
  }

  /** The cached header of message `uid` with base name `base`, if any. */
  get(uid: number, base: string): Uint8Array | undefined {
    const entry = this.#entries.get(uid);
    return entry !== undefined && entry.base === base ? entry.bytes : undefined;
  }

  /** Whether the header of `uid` is known not to be cacheable. */
  uncacheable(uid: number): boolean {
    return this.#none.has(uid);
  }

  /** Remembers that the header of `uid` cannot be cached. */
  markUncacheable(uid: number): void {
    if (this.#none.size < 100000) this.#none.add(uid);
  }

  /**
   * Adds a header and writes it to the file: at once (`now`, one
   * `write(2)`), or with the others added in the same task. Never throws:
   * a failed write only leaves the file to be rewritten next time.
   */
  add(uid: number, base: string, header: Uint8Array, now: boolean): void {
    if (this.#off || header.length > HEADER_CACHE_MAX || base.includes("\n")) return;
    this.#entries.set(uid, { base, bytes: header });
    this.#queue.push(recordOf(uid, base, header));
    if (now) this.flush();
    else if (!this.#queued) {
      this.#queued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Writes the queued records (or the whole file, when it must be rewritten). */
  flush(): void {
    this.#queued = false;
    if (this.#queue.length === 0) return;
    const records = this.#queue;
    this.#queue = [];
    try {
      if (this.#size < 0) {
        this.#rewrite();
        return;
      }
      const data = concat(records);
      if (this.#size + data.length > FILE_MAX) {
        this.#off = true;
        return;
      }
      using file = Deno.openSync(this.#path, { append: true });
      // Another process may have written to it: then the file is replaced.
      if (file.statSync().size !== this.#size) {
        this.#rewrite();
        return;
      }
      let at = 0;
      while (at < data.length) at += file.writeSync(data.subarray(at));
      this.#size += data.length;
    } catch {
      this.#size = -1;
    }
  }

  /** Replaces the file with the records in memory (write, rename; no fsync: it is a cache). */
  #rewrite(): void {
    const parts: Uint8Array[] = [encoder.encode(`inetkit-headers 1 V${this.uidValidity}\n`)];
    for (const [uid, entry] of this.#entries) parts.push(recordOf(uid, entry.base, entry.bytes));
    const data = concat(parts);
    if (data.length > FILE_MAX) {
      this.#off = true;
      return;
    }
    if (!this.#exists) {
      // Nothing to replace: created in place (a cut-short file is found out when loaded).
      this.#exists = true;
      using file = Deno.openSync(this.#path, { write: true, createNew: true, mode: 0o600 });
      let at = 0;
      while (at < data.length) at += file.writeSync(data.subarray(at));
      this.#size = data.length;
      return;
    }
    const tmp = `${this.#tmpDir}/${uniqueName()}.inetkit-tmp`;
    try {
      using file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
      let at = 0;
      while (at < data.length) at += file.writeSync(data.subarray(at));
    } catch (error) {
      try {
        Deno.removeSync(tmp);
      } catch {
        // Never created.
      }
      throw error;
    }
    Deno.renameSync(tmp, this.#path);
    this.#size = data.length;
  }
}

function recordOf(uid: number, base: string, header: Uint8Array): Uint8Array {
  const line = encoder.encode(
    `${uid} ${header.length} ${fnv1a(header).toString(16).padStart(8, "0")} ${base}\n`,
  );
  const out = new Uint8Array(line.length + header.length + 1);
  out.set(line, 0);
  out.set(header, line.length);
  out[out.length - 1] = LF;
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : copyBytes(parts);
}
