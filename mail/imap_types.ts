/**
 * Typed IMAP results decoded from the token tree of
 * {@linkcode ImapResponseReader}: status responses and their codes, FETCH
 * data (envelope, body structure, sections, MODSEQ), LIST/LSUB, STATUS,
 * SEARCH/ESEARCH and capabilities, and {@linkcode toImapEvent}, which turns
 * one untagged response into one typed event.
 *
 * @module
 */
import type { AddressListEntry, MailAddress } from "./address.ts";
import { decodeEncodedWords } from "./encoded_word.ts";
import { parseMailDate } from "./date.ts";
import { decodeImapUtf7 } from "./imap_utf7.ts";
import type { ImapDataResponse, ImapResponse, ImapToken } from "./_imap_wire_types.ts";
import {
  astring,
  atom,
  badData,
  big,
  list,
  nstring,
  num,
  nz32,
  ranges,
  str,
  tokenKind,
} from "./_imap_decode.ts";
export type {
  ImapAppendUid,
  ImapCopyUid,
  ImapKnownResponseCode,
  ImapOtherResponseCode,
  ImapRange,
  ImapResponseCode,
  ImapResponseCodeValues,
  ImapStatusResponse,
} from "./_imap_wire_types.ts";
import type {
  ImapRange,
  ImapResponseCode,
  ImapResponseCodeValues,
  ImapStatusResponse,
} from "./_imap_wire_types.ts";

/**
 * The typed value of a response code when it has the given name.
 *
 * @param code A response code, or null.
 * @param name A code name with a typed value.
 * @returns The value, or `undefined` when the code has another name.
 *
 * @example Reading the UIDs of an APPEND
 * ```ts
 * import { imapResponseCodeValue, type ImapResponseCode } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const code: ImapResponseCode = {
 *   name: "APPENDUID",
 *   value: { uidValidity: 38505, uids: [[3955, 3955]] },
 * };
 * assertEquals(imapResponseCodeValue(code, "APPENDUID")?.uids, [[3955, 3955]]);
 * assertEquals(imapResponseCodeValue(code, "UIDNEXT"), undefined);
 * ```
 */
export function imapResponseCodeValue<K extends keyof ImapResponseCodeValues>(
  code: ImapResponseCode | null | undefined,
  name: K,
): ImapResponseCodeValues[K] | undefined {
  if (code === null || code === undefined || code.name !== name) return undefined;
  return code.value as ImapResponseCodeValues[K];
}

/** An ENVELOPE (RFC 3501 §7.4.2): the message's main header fields, parsed by the server. */
export interface ImapEnvelope {
  /** The Date field parsed, or null when absent or unparseable. */
  date: Date | null;
  /** The Date field as sent, or null. */
  dateText: string | null;
  /** The Subject, RFC 2047 encoded words decoded, or null. */
  subject: string | null;
  /** From. */
  from: AddressListEntry[];
  /** Sender. */
  sender: AddressListEntry[];
  /** Reply-To. */
  replyTo: AddressListEntry[];
  /** To. */
  to: AddressListEntry[];
  /** Cc. */
  cc: AddressListEntry[];
  /** Bcc. */
  bcc: AddressListEntry[];
  /** In-Reply-To as sent, or null. */
  inReplyTo: string | null;
  /** Message-ID as sent, or null. */
  messageId: string | null;
}

/** A Content-Disposition in a body structure. */
export interface ImapBodyDisposition {
  /** The disposition, lower-cased: `inline`, `attachment`. */
  type: string;
  /** Its parameters by lower-cased name. */
  parameters: Map<string, string>;
}

/** What single parts and multiparts share: the extension data. */
export interface ImapBodyPartCommon {
  /**
   * The part's section number for `BODY[...]`: `"1"`, `"2.1"`; `""` for a
   * top-level multipart. A message/rfc822 part's body has the part's own
   * number when it is a multipart, else that number + `.1`.
   */
  section: string;
  /** The Content-Type parameters by lower-cased name, values as sent. */
  parameters: Map<string, string>;
  /** Content-Disposition (extension data), or null. */
  disposition: ImapBodyDisposition | null;
  /** Content-Language (extension data), or null. */
  language: string[] | null;
  /** Content-Location (extension data), or null. */
  location: string | null;
  /** Any extension data after the location, raw. */
  extensions: ImapToken[];
}

/** A non-multipart body part (RFC 3501 `body-type-1part`). */
export interface ImapSinglePart extends ImapBodyPartCommon {
  /** The kind of part. */
  kind: "single";
  /** The media type, lower-cased: `text`, `image`, `message`. */
  type: string;
  /** The media subtype, lower-cased: `plain`, `rfc822`. */
  subtype: string;
  /** Content-ID, or null. */
  id: string | null;
  /** Content-Description, or null. */
  description: string | null;
  /** Content-Transfer-Encoding, lower-cased: `7bit`, `base64`. */
  encoding: string;
  /** The size of the encoded body in bytes. */
  size: number;
  /** The size in lines, for text/* and message/rfc822; else null. */
  lines: number | null;
  /** Content-MD5 (extension data), or null. */
  md5: string | null;
  /** The encapsulated message's envelope, for message/rfc822 and message/global. */
  envelope: ImapEnvelope | null;
  /** The encapsulated message's body structure, for message/rfc822 and message/global. */
  body: ImapBodyStructure | null;
}

/** A multipart (RFC 3501 `body-type-mpart`). */
export interface ImapMultipart extends ImapBodyPartCommon {
  /** The kind of part. */
  kind: "multipart";
  /** Always `multipart`. */
  type: "multipart";
  /** The subtype, lower-cased: `mixed`, `alternative`. */
  subtype: string;
  /** The parts in order. */
  parts: ImapBodyStructure[];
}

/** A BODYSTRUCTURE (or the shorter BODY) of a message. */
export type ImapBodyStructure = ImapSinglePart | ImapMultipart;

/** A body section in FETCH data: `BODY[...]`, `BINARY[...]`, `RFC822...`. */
export interface ImapFetchSection {
  /** The section as in {@linkcode ImapSectionToken.section} (`""` for RFC822). */
  section: string;
  /** The `<origin>` of a partial fetch, or null. */
  origin: number | null;
  /** The bytes when held in memory; null for NIL and for streamed or skipped sections. */
  data: Uint8Array | null;
  /** The size in bytes (0 for NIL). */
  size: number;
  /** How the bytes arrived. */
  delivery: "inline" | "streamed" | "skipped" | "nil";
  /** For a stream that failed part-way, its error; else `undefined`. */
  error: unknown;
}

/** The data of one `* n FETCH (...)` response. */
export interface ImapFetchData {
  /** The message sequence number. */
  seq: number;
  /** UID. */
  uid?: number;
  /** FLAGS. */
  flags?: string[];
  /** INTERNALDATE. */
  internalDate?: Date;
  /** RFC822.SIZE. */
  rfc822Size?: number;
  /** ENVELOPE. */
  envelope?: ImapEnvelope;
  /** BODYSTRUCTURE, or BODY (without extension data). */
  bodyStructure?: ImapBodyStructure;
  /** MODSEQ (RFC 7162). */
  modseq?: bigint;
  /** RFC822 (the whole message, as `BODY[]`). */
  rfc822?: ImapFetchSection;
  /** RFC822.HEADER. */
  rfc822Header?: ImapFetchSection;
  /** RFC822.TEXT. */
  rfc822Text?: ImapFetchSection;
  /**
   * `BODY[section]` by section key (see {@linkcode ImapSectionToken.section}):
   * `""`, `"TEXT"`, `"1.2"`, `"HEADER.FIELDS (DATE FROM)"`.
   */
  body: Map<string, ImapFetchSection>;
  /** `BINARY[section]` (RFC 3516) by section key. */
  binary: Map<string, ImapFetchSection>;
  /** `BINARY.SIZE[section]` (RFC 3516) by section key. */
  binarySize: Map<string, number>;
  /** Any other item (`X-GM-MSGID`, `EMAILID`, `PREVIEW`, ...) by upper-cased name, raw. */
  other: Map<string, ImapToken>;
}

/** One LIST or LSUB result (RFC 3501 §7.2.2, RFC 5258 extended data). */
export interface ImapMailboxListItem {
  /** The name attributes: `\HasNoChildren`, `\Noselect`, `\Sent`, ... */
  flags: string[];
  /** The hierarchy delimiter, or null for a flat namespace. */
  delimiter: string | null;
  /**
   * The name decoded: from modified UTF-7 unless UTF8=ACCEPT is in use;
   * `INBOX` in any case becomes `INBOX`. When the wire name is not valid
   * modified UTF-7, this is the wire name unchanged.
   */
  name: string;
  /** The name as sent, to send back when it could not be decoded. */
  rawName: string;
  /** RFC 5258 extended data (`CHILDINFO`, `OLDNAME`) by upper-cased tag, raw. */
  extended: Map<string, ImapToken>;
}

/** A STATUS result (RFC 3501 §7.2.4, RFC 7162, RFC 8438). */
export interface ImapMailboxStatus {
  /** The mailbox name, decoded as in {@linkcode ImapMailboxListItem.name}. */
  mailbox: string;
  /** The name as sent. */
  rawMailbox: string;
  /** MESSAGES. */
  messages?: number;
  /** RECENT. */
  recent?: number;
  /** UIDNEXT. */
  uidNext?: number;
  /** UIDVALIDITY. */
  uidValidity?: number;
  /** UNSEEN. */
  unseen?: number;
  /** DELETED (RFC 9051). */
  deleted?: number;
  /** SIZE (RFC 8438). */
  size?: number;
  /** HIGHESTMODSEQ (RFC 7162). */
  highestModseq?: bigint;
  /** Any other item by upper-cased name, raw. */
  other: Map<string, ImapToken>;
}

/** A SEARCH result. */
export interface ImapSearchResult {
  /** The matching sequence numbers or UIDs. */
  numbers: number[];
  /** The highest mod-sequence of the matches (RFC 7162 `(MODSEQ n)`), or null. */
  modseq: bigint | null;
}

/** An ESEARCH result (RFC 4731). */
export interface ImapEsearchResult {
  /** The tag of the command it answers, or null. */
  tag: string | null;
  /** Whether the numbers are UIDs. */
  uid: boolean;
  /** MIN. */
  min?: number;
  /** MAX. */
  max?: number;
  /** COUNT. */
  count?: number;
  /** ALL, as ranges (never expanded, so a huge set costs nothing). */
  all?: ImapRange[];
  /** MODSEQ (RFC 7162). */
  modseq?: bigint;
  /** Any other return data by upper-cased name, raw. */
  other: Map<string, ImapToken>;
}

/** One untagged response as a typed event. */
export type ImapEvent =
  | { kind: "exists"; count: number }
  | { kind: "recent"; count: number }
  | { kind: "expunge"; seq: number }
  | { kind: "fetch"; data: ImapFetchData }
  | { kind: "flags"; flags: string[] }
  | { kind: "list" | "lsub"; item: ImapMailboxListItem }
  | { kind: "status"; status: ImapMailboxStatus }
  | { kind: "search"; result: ImapSearchResult }
  | { kind: "esearch"; result: ImapEsearchResult }
  | { kind: "capability" | "enabled"; capabilities: string[] }
  | { kind: "vanished"; earlier: boolean; uids: ImapRange[] }
  | { kind: "ok" | "no" | "bad" | "bye" | "preauth"; response: ImapStatusResponse }
  | { kind: "other"; response: ImapDataResponse };

/** Options for {@linkcode toImapEvent}. */
export interface ImapEventOptions {
  /**
   * Whether UTF8=ACCEPT is enabled (RFC 6855 / RFC 9051): mailbox names are
   * then UTF-8 and not decoded from modified UTF-7.
   *
   * @default {false}
   */
  utf8?: boolean;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const INTERNAL_DATE_REGEXP =
  /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/;
const DOT_ATOM_REGEXP = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const encoder = new TextEncoder();

/**
 * Parses an IMAP date-time (`"17-Jul-1996 02:44:25 -0700"`, RFC 3501 §9).
 *
 * @throws {ProtocolError} `"BAD_REPLY"` when it is malformed.
 */
function parseInternalDate(text: string): Date {
  const m = INTERNAL_DATE_REGEXP.exec(text);
  const month = m === null ? -1 : MONTHS.indexOf(m[2]!.toLowerCase());
  if (m === null || month < 0) {
    throw badData("INTERNALDATE", `${JSON.stringify(text)} is malformed`);
  }
  const [day, year, h, min, s, zh, zm] = [m[1], m[3], m[4], m[5], m[6], m[8], m[9]].map(Number);
  const offset = (m[7] === "-" ? -1 : 1) * (zh! * 60 + zm!);
  const ms = Date.UTC(year!, month, day!, h!, min!, s!) - offset * 60000;
  const date = new Date(ms);
  if (
    day! < 1 || day! > 31 || h! > 23 || min! > 59 || s! > 60 || zm! > 59 ||
    new Date(Date.UTC(year!, month, day!)).getUTCDate() !== day
  ) {
    throw badData("INTERNALDATE", `${JSON.stringify(text)} is not a valid date`);
  }
  return date;
}

/**
 * Decodes an ENVELOPE list (RFC 3501 §7.4.2): the date parsed, the subject
 * and display names with RFC 2047 encoded words decoded, the address
 * structures as mailboxes and groups (a structure with a NIL host opens a
 * group named by its mailbox field, one with NIL mailbox and host closes it).
 *
 * @param token The list after `ENVELOPE`.
 * @returns The envelope.
 * @throws {ProtocolError} `"BAD_REPLY"` when the list does not have the
 *   envelope's shape.
 *
 * @example Decoding an envelope with a group
 * ```ts
 * import { decodeImapEnvelope, type ImapToken } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const s = (value: string): ImapToken => ({ type: "string", value });
 * const nil: ImapToken = { type: "nil" };
 * const address = (...f: ImapToken[]): ImapToken => ({ type: "list", items: f });
 * const envelope = decodeImapEnvelope({
 *   type: "list",
 *   items: [
 *     s("Mon, 7 Feb 1994 21:52:25 -0800"), s("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?="),
 *     { type: "list", items: [address(s("Fred"), nil, s("fred"), s("example.test"))] },
 *     nil, nil,
 *     { type: "list", items: [address(nil, nil, s("team"), nil), address(nil, nil, nil, nil)] },
 *     nil, nil, nil, s("<1@example.test>"),
 *   ],
 * });
 * assertEquals(envelope.subject, "Grüße");
 * assertEquals(envelope.date?.toISOString(), "1994-02-08T05:52:25.000Z");
 * assertEquals(envelope.from, [{ name: "Fred", address: "fred@example.test" }]);
 * assertEquals(envelope.to, [{ group: "team", members: [] }]);
 * ```
 */
export function decodeImapEnvelope(token: ImapToken): ImapEnvelope {
  const f = list(token, "ENVELOPE");
  if (f.length !== 10) throw badData("ENVELOPE", `expected 10 fields, got ${f.length}`);
  const dateText = nstring(f[0], "ENVELOPE date");
  let date: Date | null = null;
  if (dateText !== null) {
    try {
      date = parseMailDate(dateText);
    } catch {
      date = null;
    }
  }
  const subject = nstring(f[1], "ENVELOPE subject");
  return {
    date,
    dateText,
    subject: subject === null ? null : decodeEncodedWords(subject),
    from: addresses(f[2], "from"),
    sender: addresses(f[3], "sender"),
    replyTo: addresses(f[4], "reply-to"),
    to: addresses(f[5], "to"),
    cc: addresses(f[6], "cc"),
    bcc: addresses(f[7], "bcc"),
    inReplyTo: nstring(f[8], "ENVELOPE in-reply-to"),
    messageId: nstring(f[9], "ENVELOPE message-id"),
  };
}

function addresses(token: ImapToken | undefined, field: string): AddressListEntry[] {
  const what = `ENVELOPE ${field}`;
  const out: AddressListEntry[] = [];
  let group: { group: string; members: MailAddress[] } | null = null;
  for (const item of list(token, what, true)) {
    const a = list(item, `${what} address`);
    if (a.length !== 4) throw badData(what, `an address has ${a.length} fields, not 4`);
    const name = nstring(a[0], what);
    const mailbox = nstring(a[2], what);
    const host = nstring(a[3], what);
    if (host === null) {
      if (mailbox === null) {
        if (group !== null) out.push(group);
        group = null;
      } else {
        if (group !== null) out.push(group);
        group = { group: decodeEncodedWords(mailbox), members: [] };
      }
      continue;
    }
    const local = mailbox ?? "";
    const address: MailAddress = {
      name: name === null ? "" : decodeEncodedWords(name),
      address: `${DOT_ATOM_REGEXP.test(local) ? local : quoteLocal(local)}@${host}`,
    };
    if (group !== null) group.members.push(address);
    else out.push(address);
  }
  if (group !== null) out.push(group);
  return out;
}

function quoteLocal(local: string): string {
  return `"${local.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Decodes a BODYSTRUCTURE (or BODY) list (RFC 3501 §7.4.2, RFC 9051): single
 * parts with their fields, text/* lines, message/rfc822 with the inner
 * envelope and structure, multiparts with their parts, and the extension
 * data (MD5, disposition, language, location). Each part gets its section
 * number for `BODY[...]`.
 *
 * @param token The list after `BODYSTRUCTURE` or `BODY`.
 * @returns The structure.
 * @throws {ProtocolError} `"BAD_REPLY"` when the list does not have the
 *   body structure's shape.
 *
 * @example A multipart/alternative
 * ```ts
 * import { decodeImapBodyStructure, ImapResponseReader } from "@inetkit/inetkit/mail";
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = '* 1 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL ' +
 *   '"7bit" 12 1)("text" "html" NIL NIL NIL "base64" 40 1) "alternative"))\r\n';
 * const reader = new ImapResponseReader(
 *   new BufferedReader(ReadableStream.from([new TextEncoder().encode(wire)])),
 * );
 * const response = await reader.read();
 * if (response?.type !== "data" || response.args[0]?.type !== "list") throw new Error("no FETCH");
 * const structure = decodeImapBodyStructure(response.args[0].items[1]!);
 * if (structure.kind !== "multipart") throw new Error("not a multipart");
 * assertEquals(structure.subtype, "alternative");
 * assertEquals(structure.parts.map((p) => p.section), ["1", "2"]);
 * assertEquals(structure.parts[0]!.parameters.get("charset"), "utf-8");
 * ```
 */
export function decodeImapBodyStructure(token: ImapToken): ImapBodyStructure {
  return bodyStructure(token, "", true);
}

function child(prefix: string, index: number): string {
  return prefix === "" ? String(index) : `${prefix}.${index}`;
}

/**
 * @param token The body list.
 * @param prefix The section number of the enclosing part ("" at the top).
 * @param top Whether this is the message's own body (or an encapsulated one).
 * @param number This part's number when it is a child of a multipart.
 */
function bodyStructure(
  token: ImapToken | undefined,
  prefix: string,
  top: boolean,
  number?: string,
): ImapBodyStructure {
  const f = list(token, "BODYSTRUCTURE");
  if (f[0]?.type === "list") {
    const section = number ?? prefix;
    const parts: ImapBodyStructure[] = [];
    let i = 0;
    while (f[i]?.type === "list") {
      parts.push(bodyStructure(f[i], section, false, child(section, parts.length + 1)));
      i++;
    }
    if (parts.length === 0) throw badData("BODYSTRUCTURE multipart", "it has no parts");
    const subtype = str(f[i++], "BODYSTRUCTURE multipart subtype").toLowerCase();
    const parameters = i < f.length
      ? params(f[i++], "BODYSTRUCTURE multipart parameters")
      : new Map<string, string>();
    const ext = extension(f, i, "multipart");
    return { kind: "multipart", type: "multipart", subtype, parts, section, parameters, ...ext };
  }
  const section = number ?? (top ? child(prefix, 1) : prefix);
  const what = "BODYSTRUCTURE part";
  if (f.length < 7) throw badData(what, `expected at least 7 fields, got ${f.length}`);
  const type = str(f[0], `${what} type`).toLowerCase();
  const subtype = str(f[1], `${what} subtype`).toLowerCase();
  const parameters = params(f[2], `${what} parameters`);
  const id = nstring(f[3], `${what} id`);
  const description = nstring(f[4], `${what} description`);
  const encoding = (nstring(f[5], `${what} encoding`) ?? "7bit").toLowerCase();
  const size = num(f[6], `${what} size`);
  let i = 7;
  let lines: number | null = null;
  let envelope: ImapEnvelope | null = null;
  let body: ImapBodyStructure | null = null;
  if (
    type === "message" && (subtype === "rfc822" || subtype === "global") && f[7]?.type === "list"
  ) {
    envelope = decodeImapEnvelope(f[7]);
    // The encapsulated body: a multipart takes this part's number, a single part number.1.
    body = bodyStructure(f[8], section, true);
    lines = num(f[9], `${what} lines`);
    i = 10;
  } else if (type === "text") {
    lines = num(f[7], `${what} lines`);
    i = 8;
  }
  const md5 = i < f.length ? nstring(f[i], `${what} md5`) : null;
  const ext = extension(f, i + 1, "part");
  return {
    kind: "single",
    type,
    subtype,
    section,
    parameters,
    id,
    description,
    encoding,
    size,
    lines,
    md5,
    envelope,
    body,
    ...ext,
  };
}

/** Disposition, language, location and the rest, from index `i` on. */
function extension(
  f: ImapToken[],
  i: number,
  kind: string,
): Omit<ImapBodyPartCommon, "section" | "parameters"> {
  const what = `BODYSTRUCTURE ${kind}`;
  let disposition: ImapBodyDisposition | null = null;
  if (i < f.length) {
    const d = f[i++]!;
    if (d.type !== "nil") {
      const items = list(d, `${what} disposition`);
      if (items.length !== 2) throw badData(what, "disposition is not (type parameters)");
      disposition = {
        type: str(items[0], `${what} disposition`).toLowerCase(),
        parameters: params(items[1], `${what} disposition`),
      };
    }
  }
  let language: string[] | null = null;
  if (i < f.length) {
    const l = f[i++]!;
    if (l.type === "list") language = l.items.map((x) => str(x, `${what} language`));
    else {
      const one = nstring(l, `${what} language`);
      language = one === null ? null : [one];
    }
  }
  const location = i < f.length ? nstring(f[i++], `${what} location`) : null;
  return { disposition, language, location, extensions: f.slice(i) };
}

function params(token: ImapToken | undefined, what: string): Map<string, string> {
  const items = list(token, what, true);
  if (items.length % 2 !== 0) throw badData(what, "parameters do not come in pairs");
  const out = new Map<string, string>();
  for (let i = 0; i < items.length; i += 2) {
    const key = str(items[i], what).toLowerCase();
    if (!out.has(key)) out.set(key, nstring(items[i + 1], what) ?? "");
  }
  return out;
}

function section(token: ImapToken, origin: number | null, sectionKey: string): ImapFetchSection {
  switch (token.type) {
    case "literal":
      return {
        section: sectionKey,
        origin,
        data: token.value,
        size: token.value.length,
        delivery: "inline",
        error: undefined,
      };
    case "string": {
      const data = encoder.encode(token.value);
      return {
        section: sectionKey,
        origin,
        data,
        size: data.length,
        delivery: "inline",
        error: undefined,
      };
    }
    case "nil":
      return {
        section: sectionKey,
        origin,
        data: null,
        size: 0,
        delivery: "nil",
        error: undefined,
      };
    case "streamed":
      return {
        section: sectionKey,
        origin,
        data: null,
        size: token.size,
        delivery: token.skipped ? "skipped" : "streamed",
        error: token.error,
      };
    default:
      throw badData("FETCH body section", `expected a string, got ${tokenKind(token)}`);
  }
}

/**
 * Decodes the list of a `* n FETCH (...)` response into typed items.
 *
 * @param seq The message sequence number.
 * @param token The list (the response's only argument).
 * @returns The typed data; unknown items are kept raw in `other`.
 * @throws {ProtocolError} `"BAD_REPLY"` when an item is malformed.
 */
function decodeFetch(seq: number, token: ImapToken | undefined): ImapFetchData {
  const items = list(token, "FETCH data");
  if (items.length % 2 !== 0) throw badData("FETCH data", "items do not come in pairs");
  const data: ImapFetchData = {
    seq,
    body: new Map(),
    binary: new Map(),
    binarySize: new Map(),
    other: new Map(),
  };
  for (let i = 0; i < items.length; i += 2) {
    const name = items[i]!;
    const value = items[i + 1]!;
    if (name.type === "section") {
      if (name.name === "BODY") {
        data.body.set(name.section, section(value, name.origin, name.section));
      } else if (name.name === "BINARY") {
        data.binary.set(name.section, section(value, name.origin, name.section));
      } else if (name.name === "BINARY.SIZE") {
        data.binarySize.set(name.section, num(value, "FETCH BINARY.SIZE"));
      } else data.other.set(`${name.name}[${name.section}]`, value);
      continue;
    }
    const key = atom(name, "FETCH item name").toUpperCase();
    switch (key) {
      case "UID":
        data.uid = nz32(value, "FETCH UID");
        break;
      case "FLAGS":
        data.flags = list(value, "FETCH FLAGS").map((x) => atom(x, "FETCH FLAGS"));
        break;
      case "INTERNALDATE":
        data.internalDate = parseInternalDate(str(value, "FETCH INTERNALDATE"));
        break;
      case "RFC822.SIZE":
        data.rfc822Size = num(value, "FETCH RFC822.SIZE");
        break;
      case "ENVELOPE":
        data.envelope = decodeImapEnvelope(value);
        break;
      case "BODYSTRUCTURE":
      case "BODY":
        data.bodyStructure = decodeImapBodyStructure(value);
        break;
      case "MODSEQ": {
        const m = list(value, "FETCH MODSEQ");
        if (m.length !== 1) throw badData("FETCH MODSEQ", "expected one value");
        data.modseq = big(m[0], "FETCH MODSEQ");
        break;
      }
      case "RFC822":
        data.rfc822 = section(value, null, "");
        break;
      case "RFC822.HEADER":
        data.rfc822Header = section(value, null, "HEADER");
        break;
      case "RFC822.TEXT":
        data.rfc822Text = section(value, null, "TEXT");
        break;
      default:
        data.other.set(key, value);
    }
  }
  return data;
}

function mailboxName(token: ImapToken | undefined, utf8: boolean, what: string): [string, string] {
  const raw = astring(token, what);
  if (raw.toUpperCase() === "INBOX") return ["INBOX", raw];
  if (utf8) return [raw, raw];
  try {
    return [decodeImapUtf7(raw), raw];
  } catch {
    return [raw, raw];
  }
}

function decodeList(args: ImapToken[], utf8: boolean): ImapMailboxListItem {
  const what = "LIST response";
  if (args.length < 3) throw badData(what, `expected at least 3 fields, got ${args.length}`);
  const flags = list(args[0], `${what} flags`).map((x) => atom(x, `${what} flags`));
  const delimiter = nstring(args[1], `${what} delimiter`);
  const [name, rawName] = mailboxName(args[2], utf8, `${what} name`);
  const extended = new Map<string, ImapToken>();
  if (args.length > 3) {
    const ext = list(args[3], `${what} extended data`);
    if (ext.length % 2 !== 0) throw badData(what, "extended data does not come in pairs");
    for (let i = 0; i < ext.length; i += 2) {
      extended.set(astring(ext[i], `${what} extended data`).toUpperCase(), ext[i + 1]!);
    }
  }
  return { flags, delimiter, name, rawName, extended };
}

function decodeStatus(args: ImapToken[], utf8: boolean): ImapMailboxStatus {
  const what = "STATUS response";
  if (args.length !== 2) throw badData(what, `expected 2 fields, got ${args.length}`);
  const [mailbox, rawMailbox] = mailboxName(args[0], utf8, `${what} mailbox`);
  const items = list(args[1], what);
  if (items.length % 2 !== 0) throw badData(what, "items do not come in pairs");
  const status: ImapMailboxStatus = { mailbox, rawMailbox, other: new Map() };
  for (let i = 0; i < items.length; i += 2) {
    const key = atom(items[i], what).toUpperCase();
    const value = items[i + 1]!;
    switch (key) {
      case "MESSAGES":
        status.messages = num(value, `${what} MESSAGES`);
        break;
      case "RECENT":
        status.recent = num(value, `${what} RECENT`);
        break;
      case "UIDNEXT":
        status.uidNext = num(value, `${what} UIDNEXT`);
        break;
      case "UIDVALIDITY":
        status.uidValidity = nz32(value, `${what} UIDVALIDITY`);
        break;
      case "UNSEEN":
        status.unseen = num(value, `${what} UNSEEN`);
        break;
      case "DELETED":
        status.deleted = num(value, `${what} DELETED`);
        break;
      case "SIZE":
        status.size = num(value, `${what} SIZE`);
        break;
      case "HIGHESTMODSEQ":
        status.highestModseq = big(value, `${what} HIGHESTMODSEQ`);
        break;
      default:
        status.other.set(key, value);
    }
  }
  return status;
}

function decodeSearch(args: ImapToken[]): ImapSearchResult {
  const numbers: number[] = [];
  let modseq: bigint | null = null;
  for (let i = 0; i < args.length; i++) {
    const token = args[i]!;
    if (token.type === "list" && i === args.length - 1) {
      const m = token.items;
      if (m.length !== 2 || atom(m[0], "SEARCH MODSEQ").toUpperCase() !== "MODSEQ") {
        throw badData("SEARCH response", "the trailing list is not (MODSEQ n)");
      }
      modseq = big(m[1], "SEARCH MODSEQ");
    } else numbers.push(nz32(token, "SEARCH response"));
  }
  return { numbers, modseq };
}

function decodeEsearch(args: ImapToken[]): ImapEsearchResult {
  const what = "ESEARCH response";
  const result: ImapEsearchResult = { tag: null, uid: false, other: new Map() };
  let i = 0;
  if (args[0]?.type === "list") {
    const c = args[0].items;
    if (c.length !== 2 || atom(c[0], what).toUpperCase() !== "TAG") {
      throw badData(what, "the correlator is not (TAG tag)");
    }
    result.tag = astring(c[1], `${what} tag`);
    i = 1;
  }
  if (args[i]?.type === "atom" && (args[i] as { value: string }).value.toUpperCase() === "UID") {
    result.uid = true;
    i++;
  }
  if ((args.length - i) % 2 !== 0) throw badData(what, "return data does not come in pairs");
  for (; i < args.length; i += 2) {
    const key = atom(args[i], what).toUpperCase();
    const value = args[i + 1]!;
    switch (key) {
      case "MIN":
        result.min = nz32(value, `${what} MIN`);
        break;
      case "MAX":
        result.max = nz32(value, `${what} MAX`);
        break;
      case "COUNT":
        result.count = num(value, `${what} COUNT`);
        break;
      case "ALL":
        result.all = ranges(value, `${what} ALL`);
        break;
      case "MODSEQ":
        result.modseq = big(value, `${what} MODSEQ`);
        break;
      default:
        result.other.set(key, value);
    }
  }
  return result;
}

function noArgs(response: ImapDataResponse): number {
  if (response.number === null || response.args.length !== 0) {
    throw badData(`${response.name} response`, "expected only a number before the name");
  }
  return response.number;
}

/**
 * Turns one untagged response into a typed event: `* 3 EXISTS` becomes
 * `{ kind: "exists", count: 3 }`, `* 1 FETCH (...)` a `"fetch"` event with
 * {@linkcode ImapFetchData}, `* LIST`, `* STATUS`, `* SEARCH`, `* ESEARCH`,
 * `* CAPABILITY`, `* ENABLED`, `* FLAGS`, `* VANISHED`, and untagged status
 * responses (`* OK`, `* BYE`, ...) their own kinds. Anything else is an
 * `"other"` event with the raw response.
 *
 * @param response A response from {@linkcode ImapResponseReader.read}.
 * @param options Whether UTF8=ACCEPT is in use.
 * @returns The event, or `null` for tagged responses and continuation requests.
 * @throws {ProtocolError} `"BAD_REPLY"` when a known response is malformed.
 *
 * @example Typed events from a SELECT
 * ```ts
 * import { ImapResponseReader, toImapEvent } from "@inetkit/inetkit/mail";
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = "* 2 EXISTS\r\n* OK [UIDVALIDITY 1796297559] UIDs valid\r\n" +
 *   "* FLAGS (\\Seen \\Deleted)\r\na5 OK [READ-WRITE] Select completed\r\n";
 * const reader = new ImapResponseReader(
 *   new BufferedReader(ReadableStream.from([new TextEncoder().encode(wire)])),
 * );
 * assertEquals(toImapEvent((await reader.read())!), { kind: "exists", count: 2 });
 * const ok = toImapEvent((await reader.read())!);
 * assertEquals(ok?.kind === "ok" && ok.response.code, { name: "UIDVALIDITY", value: 1796297559 });
 * assertEquals(toImapEvent((await reader.read())!), { kind: "flags", flags: ["\\Seen", "\\Deleted"] });
 * assertEquals(toImapEvent((await reader.read())!), null);
 * ```
 */
export function toImapEvent(
  response: ImapResponse,
  options?: ImapEventOptions,
): ImapEvent | null {
  options ??= {};
  if (response.type === "continuation") return null;
  if (response.type === "status") {
    if (response.tag !== null) return null;
    const kind = response.status.toLowerCase() as "ok" | "no" | "bad" | "bye" | "preauth";
    return { kind, response };
  }
  const utf8 = options.utf8 === true;
  const args = response.args;
  switch (response.name) {
    case "EXISTS":
      return { kind: "exists", count: noArgs(response) };
    case "RECENT":
      return { kind: "recent", count: noArgs(response) };
    case "EXPUNGE":
      return { kind: "expunge", seq: noArgs(response) };
    case "FETCH":
      if (response.number === null || args.length !== 1) break;
      return { kind: "fetch", data: decodeFetch(response.number, args[0]) };
  }
  if (response.number !== null) return { kind: "other", response };
  switch (response.name) {
    case "FLAGS":
      if (args.length !== 1) throw badData("FLAGS response", "expected one list");
      return { kind: "flags", flags: list(args[0], "FLAGS response").map((x) => atom(x, "FLAGS")) };
    case "LIST":
    case "LSUB":
      return {
        kind: response.name === "LIST" ? "list" : "lsub",
        item: decodeList(args, utf8),
      };
    case "STATUS":
      return { kind: "status", status: decodeStatus(args, utf8) };
    case "SEARCH":
      return { kind: "search", result: decodeSearch(args) };
    case "ESEARCH":
      return { kind: "esearch", result: decodeEsearch(args) };
    case "CAPABILITY":
    case "ENABLED":
      return {
        kind: response.name === "CAPABILITY" ? "capability" : "enabled",
        capabilities: args.map((x) => atom(x, `${response.name} response`).toUpperCase()),
      };
    case "VANISHED": {
      let earlier = false;
      let i = 0;
      if (args[0]?.type === "list") {
        const tag = args[0].items;
        if (tag.length !== 1 || atom(tag[0], "VANISHED").toUpperCase() !== "EARLIER") {
          throw badData("VANISHED response", "the list is not (EARLIER)");
        }
        earlier = true;
        i = 1;
      }
      if (args.length !== i + 1) throw badData("VANISHED response", "expected one set");
      return { kind: "vanished", earlier, uids: ranges(args[i], "VANISHED response") };
    }
  }
  return { kind: "other", response };
}
