/**
 * A news spool on disk: the store behind {@linkcode NntpServer}.
 *
 * @module
 */
import { writeAll } from "../net/_io.ts";
import { BufferedReader } from "../net/buffered_reader.ts";
import type { ChunkSource } from "../net/chunk_source.ts";
import { type HeaderField, readHeaderBlock } from "../net/mime_header.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { isGroupName, isMessageId } from "./_nntp_args.ts";
import { overviewValue } from "./_nntp_overview.ts";
import { formatMailDate, parseMailDate } from "./date.ts";

/** A newsgroup to create (or update) when a spool opens. */
export interface NewsGroupInit {
  /** The group's name, such as `local.test`. */
  name: string;
  /** A one-line description for `LIST NEWSGROUPS`. */
  description?: string;
  /**
   * `y`: posting allowed; `n`: no posting; `m`: moderated (posts need an
   * `Approved` header).
   *
   * @default {"y"}
   */
  status?: "y" | "n" | "m";
}

/** Options for {@linkcode NewsSpool.open}. */
export interface NewsSpoolOptions {
  /**
   * Groups to create when missing (names or settings); their description
   * and status are updated when given.
   */
  groups?: readonly (string | NewsGroupInit)[];
  /**
   * The site's name in `Path` and `Xref` headers and generated message-ids.
   *
   * @default {"localhost"}
   */
  pathHost?: string;
  /**
   * fsync every article file, the directory and the index before an
   * article counts as stored. Turn off only for throwaway spools (tests,
   * benchmarks): an article may then be lost in a crash.
   *
   * @default {true}
   */
  durable?: boolean;
}

/** A group's state. */
export interface NewsSpoolGroup {
  /** The name. */
  name: string;
  /** The number of articles. */
  count: number;
  /** The lowest article number, or `high + 1` when the group is empty. */
  low: number;
  /** The highest article number, or 0 when none was ever stored. */
  high: number;
  /** `y`, `n` or `m`. */
  status: "y" | "n" | "m";
  /** The description, or `""`. */
  description: string;
  /** When the group was created. */
  created: Date;
}

/** One stored article: where it is filed and its overview data. */
export interface NewsSpoolEntry {
  /** The spool's own serial number of the article (its file name). */
  serial: number;
  /** The message-id. */
  messageId: string;
  /** When it arrived (ms since the epoch). */
  arrived: number;
  /** Its groups and article numbers, in `Newsgroups` order. */
  groups: readonly (readonly [string, number])[];
  /** The size of the whole article in bytes (CR LF line ends, unstuffed). */
  size: number;
  /** The size of the header including the empty line after it. */
  headerSize: number;
  /** The number of body lines. */
  lines: number;
  /** Overview values (tabs and line ends replaced by spaces). */
  subject: string;
  /** The `From` header. */
  from: string;
  /** The `Date` header. */
  date: string;
  /** The `References` header, or `""`. */
  references: string;
  /** The `Xref` value: the path host and `group:number` pairs. */
  xref: string;
}

/** Options for {@linkcode NewsSpool.store}. */
export interface NewsStoreOptions {
  /**
   * The most bytes in the article; more throw `"BODY_TOO_LARGE"`.
   *
   * @default {16777216}
   */
  maxSize?: number;
  /**
   * The most bytes in the header.
   *
   * @default {65536}
   */
  maxHeaderSize?: number;
  /**
   * The message-id the article must have (IHAVE): a different one is
   * refused, a missing one is added.
   */
  messageId?: string;
  /**
   * Whether the article is being relayed (IHAVE): it then keeps its
   * `Date`, which must be present.
   *
   * @default {false}
   */
  relayed?: boolean;
}

/** What {@linkcode NewsSpool.store} reads: bytes, text, a stream, or a source of chunks. */
export type NewsArticleInput = Uint8Array | string | ReadableStream<Uint8Array> | ChunkSource;

interface GroupState {
  name: string;
  status: "y" | "n" | "m";
  description: string;
  created: number;
  high: number;
  /** Reservation counter: the next number to hand out. */
  next: number;
  numbers: number[];
  articles: Map<number, NewsSpoolEntry>;
}

const CR = 13;
const LF = 10;
const encoder = new TextEncoder();
const utf8 = new TextDecoder();
const HEADER_END = new Uint8Array([CR, LF, CR, LF]);
const DEFAULT_MAX_SIZE = 16 * 1024 * 1024;
// A path host is a Path element: letters, digits, dots, dashes, underscores.
const PATH_HOST_REGEXP = /^[A-Za-z0-9][A-Za-z0-9.\-_]{0,252}$/;
const STATUS_VALUES = new Set(["y", "n", "m"]);
const REMOVED_FIELDS = new Set(["path", "xref"]);

/**
 * A news spool in a directory: configured groups with their low and high
 * marks (an INN-style `active` file, with `newsgroups` descriptions and
 * `active.times` creation times), one file per article under `articles/`,
 * and an append-only `index` of the stored articles (their numbers,
 * message-ids and overview data), loaded into memory when the spool
 * opens.
 *
 * Storing is durable, like the Maildir store: the article goes to a
 * temporary file, which is fsynced and renamed into `articles/`, the
 * directory fsynced, then one complete line is appended to the index and
 * fsynced. Only then does {@linkcode NewsSpool.store} resolve (and the
 * server answer 240). A crash at any point leaves either the whole
 * article or none of it: at open, a torn last index line is cut off and
 * article files the index does not name are deleted. The index is the
 * truth for the marks; the `active` file is rewritten when groups change
 * and on {@linkcode NewsSpool.close}.
 *
 * Incoming articles are checked as a news server must (RFC 5536, RFC
 * 5537): `Newsgroups` (every group known and open for posting), `From`
 * and `Subject` present, a unique `Message-ID` (one is generated when
 * missing), a parseable `Date` (added when missing); `Path` gets this
 * site prepended and `Xref` is set. Lines must end in CR LF: an article
 * with a bare CR or LF is refused.
 *
 * One process uses a spool directory at a time.
 *
 * @example Storing and finding an article
 * ```ts
 * import { NewsSpool } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * const spool = await NewsSpool.open(dir, { groups: ["local.test"], pathHost: "news.example.test" });
 * const entry = await spool.store(
 *   "From: a@example.test\r\nNewsgroups: local.test\r\nSubject: hi\r\n\r\nhello\r\n",
 * );
 * assertEquals(entry.groups, [["local.test", 1]]);
 * assertEquals(entry.xref, "news.example.test local.test:1");
 * assertEquals(spool.group("local.test")?.count, 1);
 * const text = await new Response(await spool.read(entry, "body")).text();
 * assertEquals(text, "hello\r\n");
 * await spool.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class NewsSpool implements AsyncDisposable {
  #dir: string;
  #pathHost: string;
  #durable: boolean;
  #groups = new Map<string, GroupState>();
  #entries = new Map<number, NewsSpoolEntry>();
  #byId = new Map<string, NewsSpoolEntry>();
  #pending = new Set<string>();
  #nextSerial = 1;
  #index: Deno.FsFile | null = null;
  #indexLength = 0;
  #indexQueue: Promise<void> = Promise.resolve();
  #closed = false;
  #tmpCounter = 0;

  private constructor(dir: string, pathHost: string, durable: boolean) {
    this.#dir = dir;
    this.#pathHost = pathHost;
    this.#durable = durable;
  }

  /**
   * Opens (creating when needed) the spool in `dir`, recovers from an
   * interrupted store, and creates the configured groups.
   *
   * @param dir The spool directory.
   * @param options Groups, the path host and durability.
   * @returns The open spool.
   * @throws {TypeError} For an invalid group name or path host.
   * @throws {Error} When the index is corrupt before its last line.
   */
  static async open(dir: string, options?: NewsSpoolOptions): Promise<NewsSpool> {
    options ??= {};
    const pathHost = options.pathHost ?? "localhost";
    if (!PATH_HOST_REGEXP.test(pathHost)) {
      throw new TypeError(`Cannot open spool: path host ${JSON.stringify(pathHost)} is not a name`);
    }
    const inits = (options.groups ?? []).map((g) => (typeof g === "string" ? { name: g } : g));
    for (const init of inits) {
      if (!isGroupName(init.name)) {
        throw new TypeError(`Cannot open spool: ${JSON.stringify(init.name)} is not a group name`);
      }
      if (init.status !== undefined && !STATUS_VALUES.has(init.status)) {
        throw new TypeError(
          `Cannot open spool: status ${JSON.stringify(init.status)} is not y, n or m`,
        );
      }
      if (init.description !== undefined && /[\r\n\0]/.test(init.description)) {
        throw new TypeError("Cannot open spool: a description holds CR, LF or NUL");
      }
    }
    const spool = new NewsSpool(dir, pathHost, options.durable ?? true);
    await spool.#load(inits);
    return spool;
  }

  /** The spool directory. */
  get dir(): string {
    return this.#dir;
  }

  /** The site's name in `Path` and `Xref`. */
  get pathHost(): string {
    return this.#pathHost;
  }

  /** The number of stored articles. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * A group's state.
   *
   * @param name The group's name.
   * @returns The state, or `undefined` when there is no such group.
   */
  group(name: string): NewsSpoolGroup | undefined {
    const state = this.#groups.get(name);
    return state === undefined ? undefined : this.#view(state);
  }

  /**
   * Every group, sorted by name.
   *
   * @returns The groups' states.
   */
  groups(): NewsSpoolGroup[] {
    return [...this.#groups.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((s) =>
      this.#view(s)
    );
  }

  /**
   * Creates a group, or updates its description and status.
   *
   * @param init The group.
   * @returns Its state.
   * @throws {TypeError} For an invalid name, status or description.
   */
  async addGroup(init: string | NewsGroupInit): Promise<NewsSpoolGroup> {
    this.#checkOpen();
    const g = typeof init === "string" ? { name: init } : init;
    if (!isGroupName(g.name)) {
      throw new TypeError(`Cannot add group: ${JSON.stringify(g.name)} is not a group name`);
    }
    if (g.status !== undefined && !STATUS_VALUES.has(g.status)) {
      throw new TypeError(`Cannot add group: status ${JSON.stringify(g.status)} is not y, n or m`);
    }
    if (g.description !== undefined && /[\r\n\0]/.test(g.description)) {
      throw new TypeError("Cannot add group: the description holds CR, LF or NUL");
    }
    this.#applyGroup(g, Date.now());
    await this.#writeGroupFiles();
    return this.#view(this.#groups.get(g.name)!);
  }

  /**
   * The article numbers of a group within `[from, to]`, ascending.
   *
   * @param group The group's name.
   * @param from The lowest number.
   * @param to The highest number.
   * @returns The numbers (empty for an unknown group).
   */
  numbers(group: string, from = 0, to = Number.MAX_SAFE_INTEGER): number[] {
    const state = this.#groups.get(group);
    if (state === undefined || from > to) return [];
    const start = lowerBound(state.numbers, from);
    const end = lowerBound(state.numbers, to + 1);
    return state.numbers.slice(start, end);
  }

  /**
   * The next article number after `number` in a group (`NEXT`), or `undefined`.
   *
   * @param group The group's name.
   * @param number The current number.
   * @returns The next number.
   */
  nextNumber(group: string, number: number): number | undefined {
    const state = this.#groups.get(group);
    if (state === undefined) return undefined;
    return state.numbers[lowerBound(state.numbers, number + 1)];
  }

  /**
   * The previous article number before `number` in a group (`LAST`), or `undefined`.
   *
   * @param group The group's name.
   * @param number The current number.
   * @returns The previous number.
   */
  previousNumber(group: string, number: number): number | undefined {
    const state = this.#groups.get(group);
    if (state === undefined) return undefined;
    const i = lowerBound(state.numbers, number) - 1;
    return i >= 0 ? state.numbers[i] : undefined;
  }

  /**
   * Finds an article by group and number.
   *
   * @param group The group's name.
   * @param number The article number.
   * @returns The entry, or `undefined`.
   */
  article(group: string, number: number): NewsSpoolEntry | undefined {
    return this.#groups.get(group)?.articles.get(number);
  }

  /**
   * Finds an article by message-id.
   *
   * @param messageId The message-id with angle brackets.
   * @returns The entry, or `undefined`.
   */
  byMessageId(messageId: string): NewsSpoolEntry | undefined {
    return this.#byId.get(messageId);
  }

  /**
   * Whether a message-id is stored or being stored right now.
   *
   * @param messageId The message-id.
   * @returns True when it is known.
   */
  has(messageId: string): boolean {
    return this.#byId.has(messageId) || this.#pending.has(messageId);
  }

  /**
   * The groups created after a time (`NEWGROUPS`).
   *
   * @param since The time.
   * @returns The groups.
   */
  groupsSince(since: Date): NewsSpoolGroup[] {
    const t = since.getTime();
    return this.groups().filter((g) => g.created.getTime() > t);
  }

  /**
   * The articles that arrived after a time in the groups a predicate
   * accepts (`NEWNEWS`), oldest first.
   *
   * @param since The time.
   * @param accept Whether a group counts.
   * @returns The entries.
   */
  articlesSince(since: Date, accept: (group: string) => boolean): NewsSpoolEntry[] {
    const t = since.getTime();
    const out: NewsSpoolEntry[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.arrived > t && entry.groups.some(([g]) => accept(g))) out.push(entry);
    }
    return out;
  }

  /**
   * Reads a stored article, its header (without the empty line after it)
   * or its body, with CR LF line ends and no dot-stuffing.
   *
   * @param entry The article.
   * @param part `"article"`, `"head"` or `"body"`.
   * @returns The bytes as a stream (the file is closed at its end or on cancel).
   */
  async read(
    entry: NewsSpoolEntry,
    part: "article" | "head" | "body" = "article",
  ): Promise<ReadableStream<Uint8Array>> {
    this.#checkOpen();
    const start = part === "body" ? entry.headerSize : 0;
    const end = part === "head" ? entry.headerSize - 2 : entry.size;
    const file = await Deno.open(this.#articlePath(entry.serial), { read: true });
    let left = end - start;
    let closed = false;
    const close = () => {
      if (!closed) {
        closed = true;
        file.close();
      }
    };
    try {
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    } catch (error) {
      close();
      throw error;
    }
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          if (left <= 0) {
            close();
            controller.close();
            return;
          }
          const buffer = new Uint8Array(Math.min(65536, left));
          const n = await file.read(buffer);
          if (n === null) {
            close();
            controller.error(new Error("Cannot read article: the file is shorter than indexed"));
            return;
          }
          left -= n;
          controller.enqueue(buffer.subarray(0, n));
        } catch (error) {
          close();
          controller.error(error);
        }
      },
      cancel() {
        close();
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Reads a stored article's header fields (for `HDR` of fields that are
   * not in the overview).
   *
   * @param entry The article.
   * @returns The fields, unfolded.
   */
  async headers(entry: NewsSpoolEntry): Promise<HeaderField[]> {
    const reader = new BufferedReader(await this.read(entry, "head"));
    try {
      return await readHeaderBlock(reader, { maxBytes: entry.headerSize + 2, allowEof: true });
    } finally {
      await reader.cancel();
    }
  }

  /**
   * Stores an article durably (see the class description) and files it in
   * its groups.
   *
   * @param input The article with CR LF line ends, not dot-stuffed: bytes,
   *   text, a stream, or chunks (a `DotStuffedReader` straight off the wire).
   * @param options Size limits, and the message-id an IHAVE announced.
   * @returns The stored entry.
   * @throws {ProtocolError} Why the article is refused: `"MISSING_HEADER"`,
   *   `"BAD_HEADER"`, `"HEADER_TOO_LARGE"`, `"UNKNOWN_GROUP"`,
   *   `"POSTING_NOT_ALLOWED"`, `"DUPLICATE_ARTICLE"`, `"BAD_MESSAGE_ID"`,
   *   `"BAD_DATE"`, `"BARE_LINE_END"`, `"BODY_TOO_LARGE"`; and the source's
   *   own errors. Nothing is stored then.
   */
  async store(input: NewsArticleInput, options?: NewsStoreOptions): Promise<NewsSpoolEntry> {
    options ??= {};
    this.#checkOpen();
    const maxSize = options.maxSize ?? DEFAULT_MAX_SIZE;
    const maxHeaderSize = options.maxHeaderSize ?? 65536;
    const source = chunkSourceOf(input);
    const { head, rest } = await readHead(source, maxHeaderSize);
    const headCheck = new LineEndChecker();
    headCheck.push(head);
    headCheck.end();
    const prepared = this.#prepare(head, options);
    const messageId = prepared.messageId;
    if (this.has(messageId)) {
      throw new ProtocolError(
        "DUPLICATE_ARTICLE",
        `Cannot store article: ${messageId} is a duplicate`,
      );
    }
    this.#pending.add(messageId);
    const reserved: [GroupState, number][] = [];
    let tmp: string | null = null;
    try {
      for (const state of prepared.groups) reserved.push([state, state.next++]);
      const xref = `${this.#pathHost} ${reserved.map(([s, n]) => `${s.name}:${n}`).join(" ")}`;
      const header = concat(prepared.header, encoder.encode(`Xref: ${xref}\r\n\r\n`));
      const serial = this.#nextSerial++;
      tmp = `${this.#dir}/tmp/${serial}.${Deno.pid}.${++this.#tmpCounter}`;
      const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
      const checker = new LineEndChecker();
      let size = header.length;
      try {
        await writeAll(file, header);
        let chunk: Uint8Array | null = rest;
        while (chunk !== null) {
          if (chunk.length > 0) {
            checker.push(chunk);
            size += chunk.length;
            if (size > maxSize) {
              throw new ProtocolError(
                "BODY_TOO_LARGE",
                `Cannot store article: it exceeds ${maxSize} bytes`,
              );
            }
            await writeAll(file, chunk);
          }
          chunk = await source.read();
        }
        checker.end();
        if (this.#durable) await file.sync();
      } finally {
        file.close();
      }
      this.#checkOpen();
      await Deno.rename(tmp, this.#articlePath(serial));
      tmp = null;
      if (this.#durable) await syncDir(`${this.#dir}/articles`);
      const entry: NewsSpoolEntry = {
        serial,
        messageId,
        arrived: Date.now(),
        groups: reserved.map(([s, n]) => [s.name, n] as const),
        size,
        headerSize: header.length,
        lines: checker.lines,
        subject: prepared.subject,
        from: prepared.from,
        date: prepared.date,
        references: prepared.references,
        xref,
      };
      await this.#append(entry);
      this.#add(entry);
      return entry;
    } catch (error) {
      if (tmp !== null) await Deno.remove(tmp).catch(() => {});
      // Give the numbers back when nobody took a later one.
      for (const [state, n] of reserved.reverse()) if (state.next === n + 1) state.next = n;
      throw error;
    } finally {
      this.#pending.delete(messageId);
    }
  }

  /**
   * Writes the `active` files and closes the index. Safe to repeat.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#indexQueue.catch(() => {});
    try {
      await this.#writeGroupFiles();
    } finally {
      this.#index?.close();
      this.#index = null;
    }
  }

  /** Closes the spool. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- internals ---------------------------------------------------------

  #checkOpen(): void {
    if (this.#closed) throw new TypeError("Cannot use the spool: it is closed");
  }

  #articlePath(serial: number): string {
    return `${this.#dir}/articles/${serial}`;
  }

  #view(state: GroupState): NewsSpoolGroup {
    const count = state.numbers.length;
    return {
      name: state.name,
      count,
      low: count > 0 ? state.numbers[0]! : state.high + 1,
      high: state.high,
      status: state.status,
      description: state.description,
      created: new Date(state.created),
    };
  }

  #applyGroup(init: NewsGroupInit, created: number): boolean {
    const existing = this.#groups.get(init.name);
    if (existing === undefined) {
      this.#groups.set(init.name, {
        name: init.name,
        status: init.status ?? "y",
        description: init.description ?? "",
        created,
        high: 0,
        next: 1,
        numbers: [],
        articles: new Map(),
      });
      return true;
    }
    let changed = false;
    if (init.status !== undefined && init.status !== existing.status) {
      existing.status = init.status;
      changed = true;
    }
    if (init.description !== undefined && init.description !== existing.description) {
      existing.description = init.description;
      changed = true;
    }
    return changed;
  }

  async #load(inits: NewsGroupInit[]): Promise<void> {
    const dir = this.#dir;
    await Deno.mkdir(`${dir}/articles`, { recursive: true });
    await Deno.mkdir(`${dir}/tmp`, { recursive: true });
    // Groups: active (name high low status), newsgroups, active.times.
    const active = await readTextIfExists(`${dir}/active`);
    const descriptions = new Map<string, string>();
    for (const line of (await readTextIfExists(`${dir}/newsgroups`) ?? "").split("\n")) {
      const match = /^(\S+)[ \t]+(.*)$/.exec(line);
      if (match !== null) descriptions.set(match[1]!, match[2]!);
    }
    const times = new Map<string, number>();
    for (const line of (await readTextIfExists(`${dir}/active.times`) ?? "").split("\n")) {
      const match = /^(\S+)\s+(\d+)/.exec(line);
      if (match !== null) times.set(match[1]!, Number(match[2]) * 1000);
    }
    let changed = active === undefined;
    for (const line of (active ?? "").split("\n")) {
      const match = /^(\S+)\s+(\d+)\s+(\d+)\s+([ynm])/.exec(line);
      if (match === null || !isGroupName(match[1]!)) continue;
      const name = match[1]!;
      const high = Number(match[2]);
      this.#groups.set(name, {
        name,
        status: match[4] as "y" | "n" | "m",
        description: descriptions.get(name) ?? "",
        created: times.get(name) ?? 0,
        high,
        next: high + 1,
        numbers: [],
        articles: new Map(),
      });
    }
    const now = Date.now();
    for (const init of inits) changed = this.#applyGroup(init, now) || changed;
    await this.#replayIndex();
    // Files the index does not name were never acknowledged; temporary files neither.
    for await (const item of Deno.readDir(`${dir}/articles`)) {
      const serial = Number(item.name);
      if (!/^\d+$/.test(item.name) || !this.#entries.has(serial)) {
        await Deno.remove(`${dir}/articles/${item.name}`, { recursive: true });
      }
    }
    for await (const item of Deno.readDir(`${dir}/tmp`)) {
      await Deno.remove(`${dir}/tmp/${item.name}`, { recursive: true });
    }
    this.#index = await Deno.open(`${dir}/index`, { append: true, create: true });
    this.#indexLength = (await this.#index.stat()).size;
    if (changed) await this.#writeGroupFiles();
  }

  async #replayIndex(): Promise<void> {
    const path = `${this.#dir}/index`;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    const complete = bytes.lastIndexOf(LF) + 1;
    if (complete < bytes.length) {
      // A torn last line: the store it belongs to never resolved.
      await Deno.truncate(path, complete);
      if (this.#durable) {
        using file = await Deno.open(path, { write: true });
        await file.sync();
      }
    }
    const lines = utf8.decode(bytes.subarray(0, complete)).split("\n");
    lines.pop();
    lines.forEach((line, i) => {
      let entry: NewsSpoolEntry;
      try {
        entry = entryFromJson(JSON.parse(line));
      } catch (error) {
        throw new Error(`Cannot open spool: index line ${i + 1} is corrupt`, { cause: error });
      }
      this.#add(entry);
    });
  }

  #add(entry: NewsSpoolEntry): void {
    this.#entries.set(entry.serial, entry);
    this.#byId.set(entry.messageId, entry);
    if (entry.serial >= this.#nextSerial) this.#nextSerial = entry.serial + 1;
    for (const [name, number] of entry.groups) {
      let state = this.#groups.get(name);
      if (state === undefined) {
        // A group that left the active file keeps its articles.
        state = {
          name,
          status: "n",
          description: "",
          created: 0,
          high: 0,
          next: 1,
          numbers: [],
          articles: new Map(),
        };
        this.#groups.set(name, state);
      }
      state.articles.set(number, entry);
      const numbers = state.numbers;
      if (numbers.length === 0 || numbers[numbers.length - 1]! < number) numbers.push(number);
      else numbers.splice(lowerBound(numbers, number), 0, number);
      if (number > state.high) state.high = number;
      if (state.next <= number) state.next = number + 1;
    }
  }

  /** Appends one index line, fsynced; appends run one at a time. */
  #append(entry: NewsSpoolEntry): Promise<void> {
    const line = encoder.encode(JSON.stringify(entryToJson(entry)) + "\n");
    const run = this.#indexQueue.then(async () => {
      const file = this.#index;
      if (file === null) throw new TypeError("Cannot store article: the spool is closed");
      try {
        await writeAll(file, line);
        if (this.#durable) await file.syncData();
      } catch (error) {
        // A line half written (a full disk) must not stay in front of later ones.
        await Deno.truncate(`${this.#dir}/index`, this.#indexLength).catch(() => {});
        throw error;
      }
      this.#indexLength += line.length;
    });
    this.#indexQueue = run.catch(() => {});
    return run;
  }

  async #writeGroupFiles(): Promise<void> {
    const groups = [...this.#groups.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    const active = groups.map((g) => {
      const view = this.#view(g);
      return `${g.name} ${String(view.high).padStart(10, "0")} ${
        String(view.low).padStart(10, "0")
      } ${g.status}\n`;
    }).join("");
    const newsgroups = groups.filter((g) => g.description !== "").map((g) =>
      `${g.name}\t${g.description}\n`
    ).join("");
    const times = groups.map((g) => `${g.name} ${Math.floor(g.created / 1000)} inetkit\n`).join("");
    await this.#writeAtomic("active.times", times);
    await this.#writeAtomic("newsgroups", newsgroups);
    await this.#writeAtomic("active", active);
  }

  async #writeAtomic(name: string, text: string): Promise<void> {
    const tmp = `${this.#dir}/tmp/${name}.${Deno.pid}.${++this.#tmpCounter}`;
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    try {
      await writeAll(file, encoder.encode(text));
      if (this.#durable) await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, `${this.#dir}/${name}`);
    if (this.#durable) await syncDir(this.#dir);
  }

  /** Checks the header and makes the stored one (without Xref and the empty line). */
  #prepare(head: Uint8Array, options: NewsStoreOptions): Prepared {
    const fields = parseFields(head);
    const get = (name: string): string | undefined => {
      const lower = name.toLowerCase();
      const matches = fields.filter((f) => f.name.toLowerCase() === lower);
      if (matches.length > 1 && lower !== "path") {
        throw new ProtocolError("BAD_HEADER", `Cannot store article: more than one ${name} header`);
      }
      return matches[0]?.value;
    };
    const newsgroups = get("Newsgroups");
    if (newsgroups === undefined || newsgroups.trim() === "") throw missing("Newsgroups");
    const from = get("From");
    if (from === undefined || from.trim() === "") throw missing("From");
    const subject = get("Subject");
    if (subject === undefined) throw missing("Subject");
    const names = [...new Set(newsgroups.split(",").map((g) => g.trim()).filter(Boolean))];
    if (names.length === 0) throw missing("Newsgroups");
    const groups: GroupState[] = [];
    for (const name of names) {
      const state = this.#groups.get(name);
      if (state === undefined) {
        throw new ProtocolError("UNKNOWN_GROUP", `Cannot store article: no such newsgroup ${name}`);
      }
      if (!options.relayed) {
        if (state.status === "n") {
          throw new ProtocolError(
            "POSTING_NOT_ALLOWED",
            `Cannot store article: posting to ${name} is not allowed`,
          );
        }
        if (state.status === "m" && get("Approved") === undefined) {
          throw new ProtocolError(
            "POSTING_NOT_ALLOWED",
            `Cannot store article: ${name} is moderated and the article is not approved`,
          );
        }
      }
      groups.push(state);
    }
    let messageId = get("Message-ID")?.trim();
    if (messageId !== undefined && !isMessageId(messageId)) {
      throw new ProtocolError(
        "BAD_MESSAGE_ID",
        `Cannot store article: ${JSON.stringify(messageId)} is not a message-id`,
      );
    }
    if (
      options.messageId !== undefined && messageId !== undefined && messageId !== options.messageId
    ) {
      throw new ProtocolError(
        "BAD_MESSAGE_ID",
        `Cannot store article: its Message-ID ${messageId} is not ${options.messageId}`,
      );
    }
    const added: string[] = [];
    if (messageId === undefined) {
      messageId = options.messageId ?? this.#newMessageId();
      added.push(`Message-ID: ${messageId}`);
    }
    let date = get("Date");
    if (date === undefined) {
      if (options.relayed) throw missing("Date");
      date = formatMailDate(new Date());
      added.push(`Date: ${date}`);
    } else {
      try {
        parseMailDate(date);
      } catch (error) {
        throw new ProtocolError(
          "BAD_DATE",
          `Cannot store article: cannot parse Date ${JSON.stringify(date)}`,
          {
            cause: error,
          },
        );
      }
    }
    const oldPath = get("Path")?.trim();
    const path = `Path: ${this.#pathHost}!${oldPath || "not-for-mail"}\r\n`;
    const kept = rawFieldsWithout(head, REMOVED_FIELDS);
    const header = concat(
      concat(encoder.encode(path), latin1Bytes(kept)),
      encoder.encode(added.map((line) => line + "\r\n").join("")),
    );
    return {
      header,
      messageId,
      groups,
      subject: overviewValue(subject.trim()),
      from: overviewValue(from.trim()),
      date: overviewValue(date.trim()),
      references: overviewValue((get("References") ?? "").trim()),
    };
  }

  #newMessageId(): string {
    const random = [...crypto.getRandomValues(new Uint8Array(8))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    return `<${Date.now().toString(36)}.${random}@${this.#pathHost}>`;
  }
}

interface Prepared {
  /** The header so far: Path, the kept fields as sent, the added ones. */
  header: Uint8Array;
  messageId: string;
  groups: GroupState[];
  subject: string;
  from: string;
  date: string;
  references: string;
}

function missing(name: string): ProtocolError {
  return new ProtocolError("MISSING_HEADER", `Cannot store article: the ${name} header is missing`);
}

/** The header fields (UTF-8, unfolded) of a header block that ends with CR LF CR LF. */
function parseFields(head: Uint8Array): HeaderField[] {
  if (head.length <= 2) throw missing("Newsgroups");
  const text = utf8.decode(head);
  const fields: HeaderField[] = [];
  for (const line of text.slice(0, -4).split("\r\n")) {
    if (line === "") continue;
    if (line[0] === " " || line[0] === "\t") {
      const last = fields[fields.length - 1];
      if (last === undefined) {
        throw new ProtocolError(
          "BAD_HEADER",
          "Cannot store article: the header starts with a continuation line",
        );
      }
      last.value = `${last.value} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0 || !/^[\x21-\x39\x3b-\x7e]+$/.test(line.slice(0, colon))) {
      const shown = JSON.stringify(line.length > 40 ? line.slice(0, 40) + "..." : line);
      throw new ProtocolError(
        "BAD_HEADER",
        `Cannot store article: header line ${shown} has no field name`,
      );
    }
    fields.push({ name: line.slice(0, colon), value: line.slice(colon + 1).trim() });
  }
  return fields;
}

/** The raw header lines (bytes kept as they are) without some fields and without the empty line. */
function rawFieldsWithout(head: Uint8Array, removed: Set<string>): string {
  // Latin-1 by hand: one character per byte, so the bytes come back unchanged.
  let text = "";
  for (let i = 0; i < head.length - 2; i += 8192) {
    text += String.fromCharCode(...head.subarray(i, Math.min(i + 8192, head.length - 2)));
  }
  const lines = text.split("\r\n");
  lines.pop();
  let out = "";
  let skipping = false;
  for (const line of lines) {
    if (line[0] === " " || line[0] === "\t") {
      if (!skipping) out += line + "\r\n";
      continue;
    }
    const name = line.slice(0, line.indexOf(":")).toLowerCase();
    skipping = removed.has(name);
    if (!skipping) out += line + "\r\n";
  }
  return out;
}

/** Reads up to and including the empty line after the header. */
async function readHead(
  source: ChunkSource,
  maxHeaderSize: number,
): Promise<{ head: Uint8Array; rest: Uint8Array | null }> {
  let buffer: Uint8Array = new Uint8Array(0);
  for (;;) {
    // An article that starts with the empty line has no header at all.
    if (buffer.length >= 2 && buffer[0] === CR && buffer[1] === LF) throw missing("Newsgroups");
    const end = indexOf(buffer, HEADER_END, 0);
    if (end >= 0) {
      const cut = end + 4;
      if (cut > maxHeaderSize) throw headerTooLarge(maxHeaderSize);
      return { head: buffer.slice(0, cut), rest: buffer.slice(cut) };
    }
    if (buffer.length > maxHeaderSize) throw headerTooLarge(maxHeaderSize);
    const chunk = await source.read();
    if (chunk === null) {
      // No body: the header ends the article.
      if (buffer.length === 0) throw missing("Newsgroups");
      const ending = buffer[buffer.length - 1] === LF ? "\r\n" : "\r\n\r\n";
      const head = concat(buffer, encoder.encode(ending));
      if (head.length > maxHeaderSize) throw headerTooLarge(maxHeaderSize);
      return { head, rest: null };
    }
    buffer = concat(buffer, chunk);
  }
}

function headerTooLarge(max: number): ProtocolError {
  return new ProtocolError(
    "HEADER_TOO_LARGE",
    `Cannot store article: the header exceeds ${max} bytes`,
  );
}

/** One byte per character (the inverse of the Latin-1 view made by rawFieldsWithout). */
function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  for (
    let i = haystack.indexOf(first, from);
    i >= 0 && i <= haystack.length - needle.length;
    i = haystack.indexOf(first, i + 1)
  ) {
    let k = 1;
    while (k < needle.length && haystack[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

/** Counts lines and refuses a CR or LF that is not part of CR LF. */
class LineEndChecker {
  lines = 0;
  #lastCr = false;

  push(chunk: Uint8Array): void {
    const length = chunk.length;
    if (length === 0) return;
    for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
      if (!(i === 0 ? this.#lastCr : chunk[i - 1] === CR)) throw bareLineEnd();
      this.lines++;
    }
    if (this.#lastCr && chunk[0] !== LF) throw bareLineEnd();
    for (let i = chunk.indexOf(CR); i >= 0 && i < length - 1; i = chunk.indexOf(CR, i + 1)) {
      if (chunk[i + 1] !== LF) throw bareLineEnd();
    }
    this.#lastCr = chunk[length - 1] === CR;
  }

  end(): void {
    if (this.#lastCr) throw bareLineEnd();
  }
}

function bareLineEnd(): ProtocolError {
  return new ProtocolError(
    "BARE_LINE_END",
    "Cannot store article: it holds a CR or LF that is not part of CR LF",
  );
}

function chunkSourceOf(input: NewsArticleInput): ChunkSource {
  if (typeof input === "string") input = encoder.encode(input);
  if (input instanceof Uint8Array) {
    let done = false;
    const bytes = input;
    return { read: () => Promise.resolve(done ? null : (done = true, bytes)) };
  }
  if (input instanceof ReadableStream) {
    const reader = input.getReader();
    return {
      async read() {
        const { value, done } = await reader.read();
        if (done) {
          reader.releaseLock();
          return null;
        }
        return value;
      },
    };
  }
  if (input !== null && typeof input === "object" && typeof input.read === "function") return input;
  throw new TypeError("Cannot store article: it is not bytes, text, a stream or a chunk source");
}

function entryToJson(e: NewsSpoolEntry): unknown {
  return {
    s: e.serial,
    id: e.messageId,
    t: e.arrived,
    g: e.groups,
    n: e.size,
    h: e.headerSize,
    l: e.lines,
    o: [e.subject, e.from, e.date, e.references],
    x: e.xref,
  };
}

function entryFromJson(json: unknown): NewsSpoolEntry {
  const j = json as Record<string, unknown>;
  const o = j.o as string[];
  const groups = (j.g as [string, number][]).map(([g, n]) => {
    if (typeof g !== "string" || !Number.isSafeInteger(n)) throw new TypeError("bad group");
    return [g, n] as const;
  });
  const entry: NewsSpoolEntry = {
    serial: j.s as number,
    messageId: j.id as string,
    arrived: j.t as number,
    groups,
    size: j.n as number,
    headerSize: j.h as number,
    lines: j.l as number,
    subject: o[0]!,
    from: o[1]!,
    date: o[2]!,
    references: o[3]!,
    xref: j.x as string,
  };
  for (const n of [entry.serial, entry.arrived, entry.size, entry.headerSize, entry.lines]) {
    if (!Number.isSafeInteger(n)) throw new TypeError("bad number");
  }
  // Overview fields go on the wire between tabs: none may hold a tab or line end.
  for (const text of [entry.messageId, entry.xref, ...o, ...groups.map(([g]) => g)]) {
    // deno-lint-ignore no-control-regex
    if (typeof text !== "string" || /[\t\r\n\x00]/.test(text)) throw new TypeError("bad text");
  }
  return entry;
}

function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** fsyncs a directory; ignores platforms that cannot. */
async function syncDir(path: string): Promise<void> {
  let dir: Deno.FsFile;
  try {
    dir = await Deno.open(path, { read: true });
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
