/**
 * SEARCH (RFC 3501 §6.4.4) on the server side: parsing the criteria into a
 * tree and evaluating it against a mailbox view. Text criteria match
 * substrings case-insensitively: header values with their RFC 2047 words
 * decoded, bodies with their transfer encoding and charset decoded, read
 * from the store as streams. Cheap criteria (flags, sizes, dates, sets) are
 * evaluated before those that read messages.
 *
 * @module
 */
import type { ImapToken } from "./_imap_wire_types.ts";
import type { MailboxView, MailMessageInfo } from "./mail_store.ts";
import { MailStoreError } from "./mail_store_error.ts";
import {
  ImapBad,
  ImapNo,
  isSequenceSet,
  parseSearchDate,
  parseSequenceSet,
  resolveSequenceSet,
  resolveUidSet,
  searchString,
  type SeqRange,
} from "./_imap_server_args.ts";
import { binaryText, imapMonth, readChunks } from "./_imap_server_output.ts";
import {
  fieldValue,
  type HeaderFieldPair,
  type ImapMessageCache,
  type ImapMessageData,
  type ImapPartNode,
  loadMessageData,
  parseHeaderFields,
} from "./_imap_server_structure.ts";
import { decodeEncodedWords } from "./encoded_word.ts";
import { decoderFor } from "./_charset.ts";
import { decoderForEncoding } from "./_codec.ts";
import { parseMailDate } from "./date.ts";

/** A parsed search criterion. */
export type SearchKey =
  | { k: "all" }
  | { k: "flag"; flag: string; has: boolean }
  | { k: "recent"; has: boolean }
  | { k: "set"; uid: boolean; ranges: SeqRange[] }
  | { k: "size"; larger: boolean; n: number }
  | { k: "date"; sent: boolean; op: "before" | "on" | "since"; day: number }
  | { k: "header"; name: string; value: string }
  | { k: "body"; value: string; text: boolean }
  | { k: "not"; key: SearchKey }
  | { k: "or"; a: SearchKey; b: SearchKey }
  | { k: "and"; keys: SearchKey[] };

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ["\\Answered", true],
  DELETED: ["\\Deleted", true],
  DRAFT: ["\\Draft", true],
  FLAGGED: ["\\Flagged", true],
  SEEN: ["\\Seen", true],
  UNANSWERED: ["\\Answered", false],
  UNDELETED: ["\\Deleted", false],
  UNDRAFT: ["\\Draft", false],
  UNFLAGGED: ["\\Flagged", false],
  UNSEEN: ["\\Seen", false],
};
const DATE_KEYS: Record<string, [boolean, "before" | "on" | "since"]> = {
  BEFORE: [false, "before"],
  ON: [false, "on"],
  SINCE: [false, "since"],
  SENTBEFORE: [true, "before"],
  SENTON: [true, "on"],
  SENTSINCE: [true, "since"],
};
const HEADER_KEYS = new Set(["FROM", "TO", "CC", "BCC", "SUBJECT"]);
const MAX_DEPTH = 64;

/**
 * Parses SEARCH arguments (after the command name): an optional
 * `CHARSET UTF-8` (or US-ASCII), then the criteria, implicitly ANDed.
 *
 * @throws {ImapBad} For unknown keys and malformed arguments.
 * @throws {ImapNo} `BADCHARSET` for another charset.
 */
export function parseSearch(args: readonly ImapToken[]): SearchKey {
  let i = 0;
  const first = args[0];
  if (first?.type === "atom" && first.value.toUpperCase() === "CHARSET") {
    const charset = searchString(args[1], "charset").toUpperCase();
    if (charset !== "UTF-8" && charset !== "US-ASCII") {
      throw new ImapNo("Only UTF-8 and US-ASCII are supported", "BADCHARSET (UTF-8 US-ASCII)");
    }
    i = 2;
  } else if (first?.type === "atom" && first.value.toUpperCase() === "RETURN") {
    throw new ImapBad("SEARCH RETURN is not supported");
  }
  const rest = args.slice(i);
  if (rest.length === 0) throw new ImapBad("Missing search criteria");
  const keys = parseKeys(rest, 0);
  return keys.length === 1 ? keys[0]! : { k: "and", keys };
}

function parseKeys(tokens: readonly ImapToken[], depth: number): SearchKey[] {
  if (depth > MAX_DEPTH) throw new ImapBad("Search criteria nest too deeply");
  const out: SearchKey[] = [];
  const pos = { i: 0 };
  while (pos.i < tokens.length) out.push(parseKey(tokens, pos, depth));
  return out;
}

function parseKey(tokens: readonly ImapToken[], pos: { i: number }, depth: number): SearchKey {
  if (depth > MAX_DEPTH) throw new ImapBad("Search criteria nest too deeply");
  const token = tokens[pos.i++];
  if (token === undefined) throw new ImapBad("Missing search key");
  if (token.type === "list") {
    const keys = parseKeys(token.items, depth + 1);
    if (keys.length === 0) throw new ImapBad("Empty search list");
    return keys.length === 1 ? keys[0]! : { k: "and", keys };
  }
  if (isSequenceSet(token)) return { k: "set", uid: false, ranges: parseSequenceSet(token) };
  if (token.type !== "atom") throw new ImapBad("Invalid search key");
  const name = token.value.toUpperCase();
  const arg = (what: string) => searchString(tokens[pos.i++], what);
  const number = (what: string) => {
    const t = tokens[pos.i++];
    if (t?.type !== "number" || typeof t.value !== "number") throw new ImapBad(`Invalid ${what}`);
    return t.value;
  };
  if (Object.hasOwn(FLAG_KEYS, name)) {
    const [flag, has] = FLAG_KEYS[name]!;
    return { k: "flag", flag, has };
  }
  if (Object.hasOwn(DATE_KEYS, name)) {
    const [sent, op] = DATE_KEYS[name]!;
    return { k: "date", sent, op, day: parseSearchDate(arg("date")) };
  }
  if (HEADER_KEYS.has(name)) return { k: "header", name: name.toLowerCase(), value: arg("string") };
  switch (name) {
    case "ALL":
      return { k: "all" };
    case "RECENT":
      return { k: "recent", has: true };
    case "OLD":
      return { k: "recent", has: false };
    case "NEW":
      return {
        k: "and",
        keys: [{ k: "recent", has: true }, { k: "flag", flag: "\\Seen", has: false }],
      };
    case "KEYWORD":
    case "UNKEYWORD":
      return { k: "flag", flag: arg("keyword"), has: name === "KEYWORD" };
    case "LARGER":
    case "SMALLER":
      return { k: "size", larger: name === "LARGER", n: number("size") };
    case "HEADER": {
      const field = arg("header field name").toLowerCase();
      return { k: "header", name: field, value: arg("string") };
    }
    case "BODY":
    case "TEXT":
      return { k: "body", value: arg("string"), text: name === "TEXT" };
    case "UID":
      return { k: "set", uid: true, ranges: parseSequenceSet(tokens[pos.i++]) };
    case "NOT":
      return { k: "not", key: parseKey(tokens, pos, depth + 1) };
    case "OR": {
      const a = parseKey(tokens, pos, depth + 1);
      const b = parseKey(tokens, pos, depth + 1);
      return { k: "or", a, b };
    }
  }
  throw new ImapBad(`Unknown search key ${token.value.slice(0, 40)}`);
}

/** How much work a criterion takes: 0 from the snapshot, 1 the header, 2 the body. */
function cost(key: SearchKey): number {
  switch (key.k) {
    case "header":
      return 1;
    case "date":
      return key.sent ? 1 : 0;
    case "body":
      return 2;
    case "not":
      return cost(key.key);
    case "or":
      return Math.max(cost(key.a), cost(key.b));
    case "and":
      return Math.max(0, ...key.keys.map(cost));
  }
  return 0;
}

/** Sorts AND lists so that cheap criteria run first. */
function optimize(key: SearchKey): SearchKey {
  switch (key.k) {
    case "not":
      return { k: "not", key: optimize(key.key) };
    case "or":
      return { k: "or", a: optimize(key.a), b: optimize(key.b) };
    case "and":
      return { k: "and", keys: key.keys.map(optimize).sort((a, b) => cost(a) - cost(b)) };
  }
  return key;
}

/** What evaluating a search needs. */
export interface SearchContext {
  view: MailboxView;
  cache: ImapMessageCache;
  /** Aborts a long search when the connection ends. */
  signal?: AbortSignal;
}

interface Candidate {
  seq: number;
  uid: number;
  info: MailMessageInfo;
  data: ImapMessageData | null;
  allFields: HeaderFieldPair[] | null;
}

/**
 * Runs a search over the view's snapshot.
 *
 * @returns The matching sequence numbers, ascending, and whether some
 *   messages could not be read (expunged meanwhile).
 */
export async function runSearch(
  ctx: SearchContext,
  key: SearchKey,
): Promise<{ seqs: number[]; missing: boolean }> {
  const view = ctx.view;
  const uids = view.uids;
  const sets = new Map<SearchKey, Uint8Array>();
  const collect = (k: SearchKey) => {
    if (k.k === "set") {
      const seqs = k.uid
        ? resolveUidSet(k.ranges, uids)
        : resolveSequenceSet(k.ranges, uids.length, false);
      const marks = new Uint8Array(uids.length + 1);
      for (const s of seqs) marks[s] = 1;
      sets.set(k, marks);
    } else if (k.k === "not") collect(k.key);
    else if (k.k === "or") {
      collect(k.a);
      collect(k.b);
    } else if (k.k === "and") k.keys.forEach(collect);
  };
  collect(key);
  const plan = optimize(key);
  const seqs: number[] = [];
  let missing = false;
  for (let seq = 1; seq <= uids.length; seq++) {
    ctx.signal?.throwIfAborted();
    const candidate: Candidate = {
      seq,
      uid: uids[seq - 1]!,
      info: view.message(seq)!,
      data: null,
      allFields: null,
    };
    try {
      if (await matches(ctx, plan, candidate, sets)) seqs.push(seq);
    } catch (error) {
      if (error instanceof MailStoreError && error.code === "EXPUNGED") missing = true;
      else throw error;
    }
  }
  return { seqs, missing };
}

async function matches(
  ctx: SearchContext,
  key: SearchKey,
  m: Candidate,
  sets: Map<SearchKey, Uint8Array>,
): Promise<boolean> {
  switch (key.k) {
    case "all":
      return true;
    case "flag": {
      const wanted = key.flag.toLowerCase();
      return m.info.flags.some((f) => f.toLowerCase() === wanted) === key.has;
    }
    case "recent":
      return ctx.view.isRecent(m.uid) === key.has;
    case "set":
      return sets.get(key)![m.seq] === 1;
    case "size":
      return key.larger ? m.info.size > key.n : m.info.size < key.n;
    case "date": {
      const day = key.sent
        ? await sentDay(ctx, m)
        : Math.floor(m.info.internalDate.getTime() / 86400000);
      if (day === null) return false;
      return key.op === "before"
        ? day < key.day
        : key.op === "on"
        ? day === key.day
        : day >= key.day;
    }
    case "header": {
      const fields = await allFields(ctx, m);
      const needle = key.value.toLowerCase();
      for (const [name, value] of fields) {
        if (name.toLowerCase() !== key.name) continue;
        if (needle === "") return true;
        if (decodeEncodedWords(binaryText(value)).toLowerCase().includes(needle)) return true;
      }
      return false;
    }
    case "body":
      return await bodyMatches(ctx, m, key.value.toLowerCase(), key.text);
    case "not":
      return !(await matches(ctx, key.key, m, sets));
    case "or":
      return (await matches(ctx, key.a, m, sets)) || (await matches(ctx, key.b, m, sets));
    case "and":
      for (const k of key.keys) if (!(await matches(ctx, k, m, sets))) return false;
      return true;
  }
}

async function header(ctx: SearchContext, m: Candidate): Promise<ImapMessageData> {
  m.data ??= await loadMessageData(ctx.cache, ctx.view, m.uid, false);
  return m.data;
}

/** The most octets of an oversized header read for a search. */
const MAX_SEARCH_HEADER = 16 * 1024 * 1024;

async function allFields(ctx: SearchContext, m: Candidate): Promise<HeaderFieldPair[]> {
  if (m.allFields !== null) return m.allFields;
  const data = await header(ctx, m);
  let text = data.header;
  if (text === null) {
    const length = Math.min(data.headerLength, MAX_SEARCH_HEADER);
    text = await readText(ctx.view, m.uid, 0, length, (bytes) => {
      let s = "";
      for (let i = 0; i < bytes.length; i += 8192) {
        s += String.fromCharCode(...bytes.subarray(i, i + 8192));
      }
      return s;
    });
  }
  m.allFields = parseHeaderFields(text);
  return m.allFields;
}

async function readText(
  view: MailboxView,
  uid: number,
  start: number,
  length: number,
  decode: (bytes: Uint8Array) => string,
): Promise<string> {
  let out = "";
  await readChunks(await view.read(uid, { start, length }), (chunk) => {
    out += decode(chunk);
  });
  return out;
}

const SENT_DATE_REGEXP = /(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})/;

async function sentDay(ctx: SearchContext, m: Candidate): Promise<number | null> {
  const value = fieldValue((await header(ctx, m)).fields, "date");
  if (value === null) return null;
  const match = SENT_DATE_REGEXP.exec(value);
  if (match !== null) {
    const month = imapMonth(match[2]!);
    let year = Number(match[3]);
    if (match[3]!.length === 2) year += year < 50 ? 2000 : 1900;
    if (month >= 0) return Math.floor(Date.UTC(year, month, Number(match[1])) / 86400000);
  }
  try {
    return Math.floor(parseMailDate(value).getTime() / 86400000);
  } catch {
    return null;
  }
}

/** Finds a lower-cased needle in text that arrives in pieces. */
class TextMatcher {
  #needle: string;
  #tail = "";
  found = false;

  constructor(needle: string) {
    this.#needle = needle;
    if (needle === "") this.found = true;
  }

  /** Forgets the text seen so far (a new part starts), keeping what was found. */
  reset(): void {
    this.#tail = "";
  }

  push(text: string): boolean {
    if (this.found || text === "") return this.found;
    const joined = this.#tail + text.toLowerCase();
    if (joined.includes(this.#needle)) this.found = true;
    const keep = this.#needle.length - 1;
    this.#tail = keep > 0 ? joined.slice(-keep) : "";
    return this.found;
  }
}

async function bodyMatches(
  ctx: SearchContext,
  m: Candidate,
  needle: string,
  withHeader: boolean,
): Promise<boolean> {
  const matcher = new TextMatcher(needle);
  if (matcher.found) return true;
  if (withHeader) {
    for (const [name, value] of await allFields(ctx, m)) {
      if (matcher.push(`${name}: ${decodeEncodedWords(binaryText(value))}\n`)) return true;
    }
  }
  m.data = await loadMessageData(ctx.cache, ctx.view, m.uid, true);
  const root = m.data.structure!;
  const leaves: ImapPartNode[] = [];
  const headers: ImapPartNode[] = [];
  const visit = (node: ImapPartNode, depth: number) => {
    if (depth > 64) return;
    if (node.multipart) {
      for (const child of node.children) visit(child, depth + 1);
    } else if (node.message !== null) {
      headers.push(node.message);
      visit(node.message, depth + 1);
    } else if (node.type === "text" || node.type === "message") {
      leaves.push(node);
    }
  };
  visit(root, 0);
  for (const enclosed of headers) {
    for (const [name, value] of enclosed.fields) {
      if (matcher.push(`${name}: ${decodeEncodedWords(binaryText(value))}\n`)) return true;
    }
  }
  for (const leaf of leaves) {
    matcher.reset();
    if (await partContains(ctx, m.uid, leaf, matcher)) return true;
  }
  return false;
}

async function partContains(
  ctx: SearchContext,
  uid: number,
  part: ImapPartNode,
  matcher: TextMatcher,
): Promise<boolean> {
  const length = part.end - part.bodyStart;
  if (length === 0) return false;
  const codec = decoderForEncoding(fieldValue(part.fields, "content-transfer-encoding") ?? "7bit");
  const charset = part.params?.find(([n]) => n.toLowerCase() === "charset")?.[1] ?? "utf-8";
  const known = decoderFor(charset);
  const ascii = /^(us-)?ascii$/i.test(charset.trim());
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(known === null || ascii ? "utf-8" : known.encoding);
  } catch {
    decoder = new TextDecoder();
  }
  const stream = await ctx.view.read(uid, { start: part.bodyStart, length });
  await readChunks(stream, (chunk) => {
    ctx.signal?.throwIfAborted();
    return matcher.push(decoder.decode(codec.push(chunk), { stream: true }));
  });
  return matcher.found || matcher.push(decoder.decode(codec.flush()));
}
