/**
 * FETCH (RFC 3501 §6.4.5, §7.4.2) on the server side: reading the item
 * list (macros, BODY[section]<partial>, BODY.PEEK, RFC822.*), and writing
 * the `* n FETCH` responses, with body sections streamed from the store as
 * literals of exactly the announced size.
 *
 * @module
 */
import type { ImapToken } from "./_imap_wire_types.ts";
import type { MailboxView, MailMessageInfo } from "./mail_store.ts";
import { MailStoreError } from "./mail_store_error.ts";
import { ImapBad, ImapFatal } from "./_imap_server_args.ts";
import {
  binaryBytes,
  imapFlagList,
  imapInternalDate,
  type ImapOutput,
  readChunks,
  readSmall,
} from "./_imap_server_output.ts";
import {
  filterHeaderBytes,
  HeaderFieldFilter,
  type ImapMessageCache,
  type ImapMessageData,
  loadMessageData,
  loadMessageDataNow,
  MAX_HEADER,
  messageKey,
  resolvePart,
} from "./_imap_server_structure.ts";
import { MAIL_VIEW_READ_HEADER, type MailViewReadHeader } from "./_mail_store_engine.ts";
import { bodyStructureOf, envelopeOf } from "./_imap_server_envelope.ts";

/** What a section names inside a message or part. */
type SectionText = "" | "HEADER" | "TEXT" | "MIME" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT";

/** One requested FETCH item. */
export type FetchItem =
  | { kind: "FLAGS" | "UID" | "INTERNALDATE" | "RFC822.SIZE" | "ENVELOPE" | "BODYSTRUCTURE" }
  | { kind: "BODY" }
  | {
    kind: "section";
    /** The response name without the partial: `BODY[TEXT]`, `RFC822.HEADER`. */
    label: string;
    path: number[];
    text: SectionText;
    fields: string[] | null;
    peek: boolean;
    origin: number | null;
    length: number | null;
  };

/** A parsed FETCH request. */
export interface FetchRequest {
  items: FetchItem[];
  /** Whether any item needs the message's header. */
  needsHeader: boolean;
  /**
   * Whether the header is needed only for sections of the message itself
   * (`HEADER`, `HEADER.FIELDS`, `TEXT`): then its octets are enough, and
   * no parsed fields.
   */
  headerOctetsOnly: boolean;
  /** Whether any item needs the full MIME structure. */
  needsStructure: boolean;
  /** Whether any item sets `\Seen` (a body section without `.PEEK`). */
  setsSeen: boolean;
}

const SIMPLE = new Set([
  "FLAGS",
  "UID",
  "INTERNALDATE",
  "RFC822.SIZE",
  "ENVELOPE",
  "BODYSTRUCTURE",
]);
const MACROS: Record<string, string[]> = {
  ALL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
  FAST: ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
  FULL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"],
};

function atomItem(name: string): FetchItem {
  const upper = name.toUpperCase();
  if (SIMPLE.has(upper)) return { kind: upper as "FLAGS" };
  switch (upper) {
    case "BODY":
      return { kind: "BODY" };
    case "RFC822":
      return section("RFC822", [], "", null, false);
    case "RFC822.HEADER":
      return section("RFC822.HEADER", [], "HEADER", null, true);
    case "RFC822.TEXT":
      return section("RFC822.TEXT", [], "TEXT", null, false);
  }
  throw new ImapBad(`Unknown FETCH item ${name.slice(0, 40)}`);
}

function section(
  label: string,
  path: number[],
  text: SectionText,
  fields: string[] | null,
  peek: boolean,
  origin: number | null = null,
  length: number | null = null,
): FetchItem {
  return { kind: "section", label, path, text, fields, peek, origin, length };
}

function sectionItem(token: Extract<ImapToken, { type: "section" }>): FetchItem {
  if (token.name !== "BODY" && token.name !== "BODY.PEEK") {
    throw new ImapBad(`Unknown FETCH item ${token.name}`);
  }
  const spec = token.fields === null
    ? token.section
    : token.section.slice(0, token.section.indexOf(" ("));
  const parts = spec === "" ? [] : spec.split(".");
  const path: number[] = [];
  while (parts.length > 0 && /^\d+$/.test(parts[0]!)) path.push(Number(parts.shift()));
  const text = parts.join(".") as SectionText;
  if (path.some((n) => n < 1 || n > 100000)) throw new ImapBad("Invalid section part number");
  if (token.length === 0) throw new ImapBad("Invalid partial length 0");
  if (token.fields?.some((name) => !/^[\x21-\x39\x3b-\x7e]{1,200}$/.test(name))) {
    throw new ImapBad("Invalid header field name");
  }
  return section(
    `BODY[${token.section}]`,
    path,
    text,
    token.fields,
    token.name === "BODY.PEEK",
    token.origin,
    token.length,
  );
}

/**
 * Reads a FETCH item list: one item, a macro, or a parenthesised list.
 *
 * @throws {ImapBad} For unknown items or malformed sections.
 */
export function parseFetchItems(token: ImapToken | undefined, uidCommand: boolean): FetchRequest {
  const items: FetchItem[] = [];
  const add = (t: ImapToken) => {
    if (t.type === "atom") items.push(atomItem(t.value));
    else if (t.type === "section") items.push(sectionItem(t));
    else throw new ImapBad("Invalid FETCH item");
  };
  if (token === undefined) throw new ImapBad("Missing FETCH items");
  if (token.type === "atom" && Object.hasOwn(MACROS, token.value.toUpperCase())) {
    for (const name of MACROS[token.value.toUpperCase()]!) items.push(atomItem(name));
  } else if (token.type === "list") {
    if (token.items.length === 0) throw new ImapBad("Empty FETCH item list");
    for (const t of token.items) add(t);
  } else add(token);
  if (uidCommand && !items.some((i) => i.kind === "UID")) items.unshift({ kind: "UID" });
  let needsHeader = false;
  let needsStructure = false;
  let setsSeen = false;
  let needsFields = false;
  for (const item of items) {
    if (item.kind === "ENVELOPE") needsHeader = needsFields = true;
    if (item.kind === "BODYSTRUCTURE" || item.kind === "BODY") needsStructure = true;
    if (item.kind === "section") {
      if (item.path.length > 0) needsStructure = true;
      else if (item.text !== "") needsHeader = true;
      if (!item.peek) setsSeen = true;
    }
  }
  const headerOctetsOnly = needsHeader && !needsFields && !needsStructure;
  return { items, needsHeader, headerOctetsOnly, needsStructure, setsSeen };
}

/** The content a body section stands for, before the partial is applied. */
type Payload =
  | { kind: "bytes"; data: Uint8Array }
  | { kind: "range"; start: number; length: number }
  | { kind: "filter"; start: number; length: number; names: string[]; not: boolean; size: number };

const EMPTY = new Uint8Array(0);

/** Context for writing FETCH responses. */
export interface FetchContext {
  view: MailboxView;
  cache: ImapMessageCache;
  out: ImapOutput;
}

/**
 * What a section stands for, when that needs no reading (always, but for
 * header fields of a header too long to keep): `undefined` then.
 */
function payloadWithoutReading(
  info: MailMessageInfo,
  data: ImapMessageData | null,
  item: Extract<FetchItem, { kind: "section" }>,
  octets?: Uint8Array,
): Payload | undefined {
  let headerStart: number;
  let headerLength: number;
  let textStart: number;
  let textLength: number;
  let header: string | null = null;
  if (item.path.length === 0) {
    if (item.text === "") return { kind: "range", start: 0, length: info.size };
    if (octets !== undefined) return payloadOfHeader(info, item, octets);
    headerStart = 0;
    headerLength = data!.headerLength;
    textStart = headerLength;
    textLength = info.size - headerLength;
    header = data!.header;
  } else {
    const part = resolvePart(data!.structure!, item.path);
    if (part === null) return { kind: "bytes", data: EMPTY };
    if (item.text === "") {
      return { kind: "range", start: part.bodyStart, length: part.end - part.bodyStart };
    }
    if (item.text === "MIME") {
      return { kind: "range", start: part.headerStart, length: part.bodyStart - part.headerStart };
    }
    const enclosed = part.message;
    if (enclosed === null) return { kind: "bytes", data: EMPTY };
    headerStart = enclosed.headerStart;
    headerLength = enclosed.bodyStart - enclosed.headerStart;
    textStart = enclosed.bodyStart;
    textLength = enclosed.end - enclosed.bodyStart;
  }
  switch (item.text) {
    case "HEADER":
      if (header !== null) {
        return { kind: "bytes", data: data!.headerBytes ??= binaryBytes(header) };
      }
      return { kind: "range", start: headerStart, length: headerLength };
    case "TEXT":
      return { kind: "range", start: textStart, length: textLength };
    case "HEADER.FIELDS":
    case "HEADER.FIELDS.NOT": {
      const not = item.text === "HEADER.FIELDS.NOT";
      const names = item.fields ?? [];
      if (header !== null) {
        return { kind: "bytes", data: filterHeaderBytes(binaryBytes(header), names, not) };
      }
      return undefined;
    }
  }
  return { kind: "bytes", data: EMPTY };
}

/** A section of the message itself, from its header's octets (see {@linkcode storeHeader}). */
function payloadOfHeader(
  info: MailMessageInfo,
  item: Extract<FetchItem, { kind: "section" }>,
  octets: Uint8Array,
): Payload {
  switch (item.text) {
    case "HEADER":
      return { kind: "bytes", data: octets };
    case "TEXT":
      return { kind: "range", start: octets.length, length: info.size - octets.length };
    case "HEADER.FIELDS":
    case "HEADER.FIELDS.NOT":
      return {
        kind: "bytes",
        data: filterHeaderBytes(octets, item.fields ?? [], item.text === "HEADER.FIELDS.NOT"),
      };
  }
  return { kind: "bytes", data: EMPTY };
}

/**
 * A message's header octets from the store at once (a Maildir's header
 * cache), for a request that needs no more of the header
 * ({@linkcode FetchRequest.headerOctetsOnly}); `undefined` when the store
 * does not have it at hand or it is longer than the header kept for
 * parsing (so that sections come out as from a parse of the message).
 */
function storeHeader(ctx: FetchContext, uid: number): Uint8Array | undefined {
  const octets = (ctx.view as MailboxView & MailViewReadHeader)[MAIL_VIEW_READ_HEADER]?.(uid);
  return octets !== undefined && octets.length <= MAX_HEADER ? octets : undefined;
}

async function payloadOf(
  ctx: FetchContext,
  uid: number,
  info: MailMessageInfo,
  data: ImapMessageData | null,
  item: Extract<FetchItem, { kind: "section" }>,
  octets?: Uint8Array,
): Promise<Payload> {
  const known = payloadWithoutReading(info, data, item, octets);
  if (known !== undefined) return known;
  // Header fields of a header too long to keep: read and filter it.
  let headerStart: number;
  let headerLength: number;
  if (item.path.length === 0) {
    headerStart = 0;
    headerLength = data!.headerLength;
  } else {
    const enclosed = resolvePart(data!.structure!, item.path)!.message!;
    headerStart = enclosed.headerStart;
    headerLength = enclosed.bodyStart - enclosed.headerStart;
  }
  switch (item.text) {
    case "HEADER.FIELDS":
    case "HEADER.FIELDS.NOT": {
      const not = item.text === "HEADER.FIELDS.NOT";
      const names = item.fields ?? [];
      if (headerLength <= 65536 * 4) {
        const raw = await readRange(ctx.view, uid, headerStart, headerLength);
        return { kind: "bytes", data: filterHeaderBytes(raw, names, not) };
      }
      let size = 0;
      await filterRange(ctx.view, uid, headerStart, headerLength, names, not, (p) => {
        size += p.length;
      });
      return { kind: "filter", start: headerStart, length: headerLength, names, not, size };
    }
  }
  return { kind: "bytes", data: EMPTY };
}

async function readRange(
  view: MailboxView,
  uid: number,
  start: number,
  length: number,
): Promise<Uint8Array> {
  if (length === 0) return EMPTY;
  const small = readSmall(view, uid, start, length);
  if (small !== undefined) return small;
  const chunks: Uint8Array[] = [];
  let got = 0;
  await readChunks(await view.read(uid, { start, length }), (chunk) => {
    const take = Math.min(chunk.length, length - got);
    chunks.push(take === chunk.length ? chunk : chunk.subarray(0, take));
    got += take;
    // Read on to the end when the range is complete: the store's stream then
    // closes by itself, which is cheaper than a cancel.
    return false;
  });
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(got);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function filterRange(
  view: MailboxView,
  uid: number,
  start: number,
  length: number,
  names: string[],
  not: boolean,
  sink: (piece: Uint8Array) => void | Promise<void>,
): Promise<void> {
  const filter = new HeaderFieldFilter(names, not);
  await readChunks(await view.read(uid, { start, length }), async (chunk) => {
    for (const piece of filter.push(chunk)) await sink(piece);
    return filter.done;
  });
  await sink(Uint8Array.of(13, 10));
}

/** A section's literal, ready to write: the announced size and how to produce it. */
interface Prepared {
  size: number;
  origin: number | null;
  write: () => Promise<void>;
  cancel: () => Promise<void>;
}

/**
 * Sections up to this size are read into memory while earlier messages are
 * still being written (so that several store reads are in flight at once);
 * larger ones are streamed when their turn comes.
 */
const PREFETCH_INLINE = 65536;
/** How many messages a FETCH prepares ahead of the one being written. */
const PREFETCH_WINDOW = 16;
/** Responses written without waiting are flushed once this much is collected. */
const FLUSH_AT = 65536;

async function prepare(
  ctx: FetchContext,
  uid: number,
  payload: Payload,
  origin: number | null,
  limit: number | null,
): Promise<Prepared> {
  const total = payload.kind === "bytes"
    ? payload.data.length
    : payload.kind === "range"
    ? payload.length
    : payload.size;
  const skip = origin === null ? 0 : Math.min(origin, total);
  const size = Math.min(limit ?? Number.POSITIVE_INFINITY, total - skip);
  const out = ctx.out;
  const none = () => Promise.resolve();
  if (payload.kind === "range" && size <= PREFETCH_INLINE) {
    const data = await readRange(ctx.view, uid, payload.start + skip, size);
    if (data.length !== size) {
      throw new Error("Cannot send section: the message is shorter than its size");
    }
    return { size, origin, write: () => Promise.resolve(out.bytes(data)), cancel: none };
  }
  if (payload.kind === "bytes") {
    const bytes = payload.data.subarray(skip, skip + size);
    return { size, origin, write: () => Promise.resolve(out.bytes(bytes)), cancel: none };
  }
  if (payload.kind === "range") {
    const stream = await ctx.view.read(uid, { start: payload.start + skip, length: size });
    return {
      size,
      origin,
      write: () => out.stream(stream, size),
      cancel: () => stream.cancel().catch(() => {}),
    };
  }
  return {
    size,
    origin,
    write: async () => {
      let toSkip = skip;
      let left = size;
      await filterRange(
        ctx.view,
        uid,
        payload.start,
        payload.length,
        payload.names,
        payload.not,
        async (p) => {
          let piece = p;
          if (toSkip > 0) {
            const n = Math.min(toSkip, piece.length);
            piece = piece.subarray(n);
            toSkip -= n;
          }
          if (left <= 0 || piece.length === 0) return;
          if (piece.length > left) piece = piece.subarray(0, left);
          left -= piece.length;
          out.bytes(piece.slice());
          await out.maybeFlush();
        },
      );
      if (left > 0) throw new Error("Cannot send header fields: the message changed");
    },
    cancel: none,
  };
}

/** One message's response, computed and with its sections opened, waiting to be written. */
interface PreparedMessage {
  seq: number;
  /** Item texts (binary strings); a section's text is followed by its literal. */
  values: (string | Prepared)[];
}

/**
 * Computes a message's FETCH items and opens its sections; `"expunged"`
 * when the store no longer has the message (nothing was written then).
 */
async function prepareMessage(
  ctx: FetchContext,
  seq: number,
  request: FetchRequest,
  flagsChanged: boolean,
): Promise<PreparedMessage | "expunged"> {
  const { view } = ctx;
  const uid = view.uidAt(seq)!;
  const info = view.message(seq)!;
  const values: (string | Prepared)[] = [];
  try {
    let data: ImapMessageData | null = null;
    let octets: Uint8Array | undefined;
    if (request.needsStructure) data = await loadMessageData(ctx.cache, view, uid, true);
    else if (request.needsHeader) {
      if (request.headerOctetsOnly) octets = storeHeader(ctx, uid);
      if (octets === undefined) data = await loadMessageData(ctx.cache, view, uid, false);
    }
    for (const item of request.items) {
      switch (item.kind) {
        case "FLAGS":
          values.push(`FLAGS ${imapFlagList(info.flags, view.isRecent(uid))}`);
          break;
        case "UID":
          values.push(`UID ${uid}`);
          break;
        case "INTERNALDATE":
          values.push(`INTERNALDATE ${imapInternalDate(info.internalDate)}`);
          break;
        case "RFC822.SIZE":
          values.push(`RFC822.SIZE ${info.size}`);
          break;
        case "ENVELOPE":
          values.push(`ENVELOPE ${envelopeOf(data!.fields)}`);
          break;
        case "BODYSTRUCTURE":
          values.push(`BODYSTRUCTURE ${bodyStructureOf(data!.structure!, true)}`);
          break;
        case "BODY":
          values.push(`BODY ${bodyStructureOf(data!.structure!, false)}`);
          break;
        case "section": {
          const payload = await payloadOf(ctx, uid, info, data, item, octets);
          const p = await prepare(ctx, uid, payload, item.origin, item.length);
          values.push(item.label + (p.origin === null ? "" : `<${p.origin}>`), p);
          break;
        }
      }
    }
    if (flagsChanged && !request.items.some((i) => i.kind === "FLAGS")) {
      values.push(`FLAGS ${imapFlagList(info.flags, view.isRecent(uid))}`);
    }
    return { seq, values };
  } catch (error) {
    await discard({ seq, values });
    if (error instanceof MailStoreError && error.code === "EXPUNGED") return "expunged";
    throw error;
  }
}

async function discard(message: PreparedMessage): Promise<void> {
  for (const v of message.values) if (typeof v !== "string") await v.cancel();
}

/**
 * A message's `* seq FETCH (...)` response, computed without waiting when
 * everything it needs is at hand: the header or structure in the cache (or
 * a small message the store reads at once), and sections that are bytes
 * or small message ranges. Returns the response's pieces (binary strings
 * and literal contents), `"expunged"`, or `undefined` when something must
 * be waited for (then {@linkcode prepareMessage} does it).
 */
function prepareMessageNow(
  ctx: FetchContext,
  seq: number,
  request: FetchRequest,
  flagsChanged: boolean,
): (string | Uint8Array)[] | "expunged" | undefined {
  const { view } = ctx;
  const uid = view.uidAt(seq)!;
  const info = view.message(seq)!;
  try {
    let data: ImapMessageData | null = null;
    let octets: Uint8Array | undefined;
    if (request.needsStructure || request.needsHeader) {
      // The parsed header when it is cached, else the octets when they are enough.
      data = ctx.cache.get(messageKey(view, uid)) ?? null;
      if (data !== null && request.needsStructure && data.structure === null) data = null;
      if (data === null && request.headerOctetsOnly) octets = storeHeader(ctx, uid);
      if (data === null && octets === undefined) {
        const found = loadMessageDataNow(ctx.cache, view, uid, request.needsStructure);
        if (found === undefined) return undefined;
        data = found;
      }
    }
    const parts: (string | Uint8Array)[] = [];
    for (const item of request.items) {
      switch (item.kind) {
        case "FLAGS":
          parts.push(`FLAGS ${imapFlagList(info.flags, view.isRecent(uid))}`);
          break;
        case "UID":
          parts.push(`UID ${uid}`);
          break;
        case "INTERNALDATE":
          parts.push(`INTERNALDATE ${imapInternalDate(info.internalDate)}`);
          break;
        case "RFC822.SIZE":
          parts.push(`RFC822.SIZE ${info.size}`);
          break;
        case "ENVELOPE":
          parts.push(`ENVELOPE ${envelopeOf(data!.fields)}`);
          break;
        case "BODYSTRUCTURE":
          parts.push(`BODYSTRUCTURE ${bodyStructureOf(data!.structure!, true)}`);
          break;
        case "BODY":
          parts.push(`BODY ${bodyStructureOf(data!.structure!, false)}`);
          break;
        case "section": {
          const payload = payloadWithoutReading(info, data, item, octets);
          if (payload === undefined || payload.kind === "filter") return undefined;
          const total = payload.kind === "bytes" ? payload.data.length : payload.length;
          const skip = item.origin === null ? 0 : Math.min(item.origin, total);
          const size = Math.min(item.length ?? Number.POSITIVE_INFINITY, total - skip);
          let bytes: Uint8Array | undefined;
          if (payload.kind === "bytes") bytes = payload.data.subarray(skip, skip + size);
          else if (size === 0) bytes = EMPTY;
          else if (size <= PREFETCH_INLINE) {
            bytes = readSmall(view, uid, payload.start + skip, size);
            if (bytes !== undefined && bytes.length !== size) {
              throw new Error("Cannot send section: the message is shorter than its size");
            }
          }
          if (bytes === undefined) return undefined;
          parts.push(item.label + (item.origin === null ? "" : `<${item.origin}>`), bytes);
          break;
        }
      }
    }
    if (flagsChanged && !request.items.some((i) => i.kind === "FLAGS")) {
      parts.push(`FLAGS ${imapFlagList(info.flags, view.isRecent(uid))}`);
    }
    return parts;
  } catch (error) {
    if (error instanceof MailStoreError && error.code === "EXPUNGED") return "expunged";
    throw error;
  }
}

/** Writes a response from {@linkcode prepareMessageNow} into the output buffer. */
function writeMessageNow(out: ImapOutput, seq: number, parts: (string | Uint8Array)[]): void {
  out.binary(`* ${seq} FETCH (`);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (typeof part !== "string") {
      out.binary(` {${part.length}}\r\n`);
      out.bytes(part);
      continue;
    }
    out.binary(i > 0 ? " " + part : part);
  }
  out.binary(")\r\n");
}

/** Writes a prepared message's `* seq FETCH (...)` response. */
async function writeMessage(ctx: FetchContext, message: PreparedMessage): Promise<void> {
  const out = ctx.out;
  const values = message.values;
  out.binary(`* ${message.seq} FETCH (`);
  try {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (typeof v !== "string") continue;
      if (i > 0) out.binary(" ");
      out.binary(v);
      const next = values[i + 1];
      if (next !== undefined && typeof next !== "string") {
        out.binary(` {${next.size}}\r\n`);
        values[i + 1] = "";
        await next.write();
        i++;
      }
    }
  } catch (error) {
    // Part of the response is out: nothing else can be said on this connection.
    throw new ImapFatal(`Cannot finish the FETCH response of message ${message.seq}`, {
      cause: error,
    });
  } finally {
    await discard(message);
  }
  out.binary(")\r\n");
  await out.maybeFlush();
}

/**
 * Writes the FETCH responses of the messages `seqs`, in order, preparing up
 * to {@linkcode PREFETCH_WINDOW} messages ahead so that store reads overlap.
 *
 * @param seen The UIDs whose `\Seen` was just set: their FLAGS are sent.
 * @returns How many messages were skipped because they were expunged meanwhile.
 */
export async function runFetch(
  ctx: FetchContext,
  seqs: readonly number[],
  request: FetchRequest,
  seen: ReadonlySet<number>,
  alive: () => boolean,
): Promise<number> {
  // Up to PREFETCH_WINDOW messages ahead: responses computed at once
  // (arrays of pieces) or jobs that read from the store meanwhile.
  const pending: (Ready | Promise<PreparedMessage | "expunged">)[] = [];
  let next = 0;
  let missing = 0;
  const fill = () => {
    while (pending.length < PREFETCH_WINDOW && next < seqs.length) {
      const seq = seqs[next++]!;
      const changed = seen.has(ctx.view.uidAt(seq)!);
      const now = prepareMessageNow(ctx, seq, request, changed);
      if (now !== undefined) {
        pending.push(now === "expunged" ? now : { seq, parts: now });
        continue;
      }
      const job = prepareMessage(ctx, seq, request, changed);
      job.catch(() => {});
      pending.push(job);
    }
  };
  const out = ctx.out;
  try {
    fill();
    while (pending.length > 0) {
      const entry = pending.shift()!;
      if (entry === "expunged" || !(entry instanceof Promise)) {
        // Written straight into the output buffer, flushed a block at a time.
        if (entry === "expunged") missing++;
        else writeMessageNow(out, entry.seq, entry.parts);
        if (out.pending >= FLUSH_AT) {
          await out.flush();
          if (!alive()) break;
        }
        fill();
        continue;
      }
      const message = await entry;
      if (!alive()) {
        if (message !== "expunged") await discard(message);
        break;
      }
      fill();
      if (message === "expunged") missing++;
      else await writeMessage(ctx, message);
    }
  } finally {
    for (const entry of pending.splice(0)) {
      if (!(entry instanceof Promise)) continue;
      const message = await entry.catch(() => "expunged" as const);
      if (message !== "expunged") await discard(message);
    }
  }
  return missing;
}

/** A response computed at once: `* seq FETCH (` pieces `)`. */
type Ready = { seq: number; parts: (string | Uint8Array)[] } | "expunged";

/** Writes `* seq FETCH (FLAGS (...) [UID n])` for STORE and for changes made elsewhere. */
export function writeFlags(
  out: ImapOutput,
  view: MailboxView,
  seq: number,
  info: MailMessageInfo,
  withUid: boolean,
): void {
  const flags = imapFlagList(info.flags, view.isRecent(info.uid));
  out.binary(
    withUid
      ? `* ${seq} FETCH (UID ${info.uid} FLAGS ${flags})\r\n`
      : `* ${seq} FETCH (FLAGS ${flags})\r\n`,
  );
}
