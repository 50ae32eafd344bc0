/**
 * Composing RFC 5322 / MIME messages: text, HTML alternatives and
 * attachments, streamed.
 *
 * @module
 */
import {
  type AddressInput,
  type AddressListEntry,
  flattenAddresses,
  formatAddressList,
  type MailAddress,
  type MailGroup,
  parseAddressList,
} from "./address.ts";
import { Base64Encoder, type Codec, QuotedPrintableEncoder } from "./_codec.ts";
import { formatMailDate } from "./date.ts";
import { encodeEncodedWords } from "./encoded_word.ts";
import { foldField } from "./_header_fold.ts";
import { formatMimeParameters } from "./mime_parameters.ts";
import { mediaTypeFor } from "../net/_mime_types.ts";

/**
 * Body content: text (sent as UTF-8), bytes, or a stream of bytes. Bytes
 * and streams given as `text` or `html` must be UTF-8, as they are labelled.
 */
export type MessageContent = string | Uint8Array | ReadableStream<Uint8Array>;

/** One attachment for {@linkcode buildMessage}. */
export interface AttachmentInit {
  /** The content; strings are sent as UTF-8. Streams are read once, while the message streams. */
  content: MessageContent;
  /** The file name shown to the recipient (RFC 2231-encoded when needed). */
  filename?: string;
  /**
   * The media type, with parameters if wanted.
   *
   * @default {guessed from the file name's extension, else "application/octet-stream"}
   */
  contentType?: string;
  /**
   * How the recipient should present it.
   *
   * @default {"attachment", or "inline" when contentId is set}
   */
  disposition?: "attachment" | "inline";
  /**
   * A `Content-ID` (with or without angle brackets) for `cid:` references
   * from the HTML body; such attachments are placed with the HTML in a
   * `multipart/related`.
   */
  contentId?: string;
}

/** What {@linkcode buildMessage} composes. */
export interface MessageInit {
  /** The authors (`From`); required. */
  from: AddressInput;
  /** The single mailbox that sent it (`Sender`); required when `from` names several. */
  sender?: AddressInput;
  /** Primary recipients (`To`). */
  to?: AddressInput;
  /** Copied recipients (`Cc`). */
  cc?: AddressInput;
  /** Blind-copied recipients: envelope only, never written into the message. */
  bcc?: AddressInput;
  /** Where replies should go (`Reply-To`). */
  replyTo?: AddressInput;
  /** The subject; encoded words are used only where needed. */
  subject?: string;
  /**
   * The origination date.
   *
   * @default {the current time}
   */
  date?: Date;
  /**
   * The `Message-ID`, with or without angle brackets.
   *
   * @default {a random id at the domain of the first From address}
   */
  messageId?: string;
  /** The `Message-ID` this message replies to (`In-Reply-To`). */
  inReplyTo?: string;
  /** The thread (`References`): message ids, oldest first. */
  references?: string | string[];
  /**
   * More header fields, written after the standard ones. Names the builder
   * writes itself (`From`, `Date`, `Content-Type`, `Bcc`...) throw.
   */
  headers?: Record<string, string> | Iterable<[string, string]>;
  /** The plain-text body. */
  text?: MessageContent;
  /** The HTML body; with `text` the two become a `multipart/alternative`. */
  html?: MessageContent;
  /** Attachments. */
  attachments?: AttachmentInit[];
}

/** Options for {@linkcode buildMessage}. */
export interface BuildMessageOptions {
  /**
   * Write non-ASCII header text as raw UTF-8 (RFC 6532, for delivery with
   * SMTPUTF8) instead of RFC 2047 encoded words.
   *
   * @default {false}
   */
  utf8Headers?: boolean;
  /**
   * Makes multipart boundaries; for reproducible output in tests. Each call
   * must return a new string of 1 to 70 boundary characters.
   *
   * @default {"=_" followed by 32 random hexadecimal digits}
   */
  boundary?: () => string;
}

/** The SMTP envelope of a message, from {@linkcode messageEnvelope}. */
export interface MessageEnvelope {
  /** The reverse path: the `sender`, else the first `from` mailbox. */
  from: string;
  /** `to`, `cc` and `bcc`, in order, without duplicates (compared case-insensitively). */
  recipients: string[];
  /**
   * Whether delivery needs SMTPUTF8 (RFC 6531): an address is not ASCII, or
   * `utf8Headers` put raw UTF-8 into the header.
   */
  smtpUtf8: boolean;
}

const encoder = new TextEncoder();
const RESERVED = new Set([
  "date",
  "from",
  "sender",
  "to",
  "cc",
  "bcc",
  "reply-to",
  "subject",
  "message-id",
  "in-reply-to",
  "references",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "content-disposition",
  "content-id",
]);
const BOUNDARY_REGEXP = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const MSG_ID_REGEXP = /^<?([\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+)>?$/;

type Header = [name: string, value: string];

interface Leaf {
  headers: Header[];
  body: () => AsyncGenerator<Uint8Array>;
  /** Raw content written unencoded, checked against the boundaries. */
  raw?: Uint8Array;
  stream?: ReadableStream<Uint8Array>;
}

interface Multi {
  subtype: string;
  children: Node[];
  boundary?: string;
}

type Node = Leaf | Multi;

function isMulti(node: Node): node is Multi {
  return "children" in node;
}

function checkValue(name: string, value: string): void {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot write header ${name}: the value is not a string`);
  }
  if (/[\r\n\0]/.test(value)) {
    throw new TypeError(
      `Cannot write header ${name} ${JSON.stringify(value)}: it contains CR, LF or NUL`,
    );
  }
}

function messageIdOf(name: string, value: string): string {
  checkValue(name, value);
  const m = MSG_ID_REGEXP.exec(value.trim());
  if (m === null) {
    throw new TypeError(`Cannot write header ${name} ${JSON.stringify(value)}: not a message id`);
  }
  return `<${m[1]}>`;
}

function entriesOf(input: AddressInput, name: string): AddressListEntry[] {
  const items = typeof input === "string" || !Array.isArray(input)
    ? [input as string | MailAddress | MailGroup]
    : input as ReadonlyArray<string | MailAddress | MailGroup>;
  const out: AddressListEntry[] = [];
  for (const item of items) {
    if (typeof item === "string") {
      checkValue(name, item);
      try {
        out.push(...parseAddressList(item));
      } catch (error) {
        throw new TypeError(
          `Cannot write header ${name}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    } else out.push(item);
  }
  // Validates objects (and CR/LF in names) by formatting once.
  formatAddressList(out);
  return out;
}

function contentBytes(content: MessageContent, what: string): Uint8Array | null {
  if (typeof content === "string") return encoder.encode(content);
  if (content instanceof Uint8Array) return content;
  if (content instanceof ReadableStream) return null;
  throw new TypeError(
    `Cannot build message: ${what} is not a string, Uint8Array or ReadableStream`,
  );
}

/** Whether bytes can go as 7bit text: ASCII, no NUL, lines under 998 octets. */
function isSevenBit(bytes: Uint8Array): boolean {
  let line = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0 || b >= 128) return false;
    if (b === 10 || b === 13) line = 0;
    else if (++line > 998) return false;
  }
  return true;
}

/** Normalizes line ends to CRLF. */
function toCrlf(bytes: Uint8Array): Uint8Array {
  let extra = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 10 && bytes[i - 1] !== 13) extra++;
    else if (b === 13 && bytes[i + 1] !== 10) extra++;
  }
  if (extra === 0) return bytes;
  const out = new Uint8Array(bytes.length + extra);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 10 && bytes[i - 1] !== 13) out[o++] = 13;
    out[o++] = b;
    if (b === 13 && bytes[i + 1] !== 10) out[o++] = 10;
  }
  return out;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  if (bytes.length > 0) yield bytes;
}

async function* encodeAll(bytes: Uint8Array, codec: Codec): AsyncGenerator<Uint8Array> {
  const out = codec.push(bytes);
  if (out.length > 0) yield out;
  const last = codec.flush();
  if (last.length > 0) yield last;
}

async function* encodeStream(
  stream: ReadableStream<Uint8Array>,
  codec: Codec,
): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const result = await reader.read();
      if (result.done) break;
      if (!(result.value instanceof Uint8Array)) {
        throw new TypeError(
          "Cannot build message: a content stream yielded a non-Uint8Array chunk",
        );
      }
      const out = codec.push(result.value);
      if (out.length > 0) yield out;
    }
    done = true;
    const last = codec.flush();
    if (last.length > 0) yield last;
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function textLeaf(content: MessageContent, subtype: string, what: string): Leaf {
  const bytes = contentBytes(content, what);
  const type: Header = ["Content-Type", `text/${subtype}; charset=utf-8`];
  if (bytes === null) {
    const stream = content as ReadableStream<Uint8Array>;
    return {
      headers: [type, ["Content-Transfer-Encoding", "quoted-printable"]],
      body: () => encodeStream(stream, new QuotedPrintableEncoder()),
      stream,
    };
  }
  if (isSevenBit(bytes)) {
    const raw = toCrlf(bytes);
    return {
      headers: [type, ["Content-Transfer-Encoding", "7bit"]],
      body: () => once(raw),
      raw,
    };
  }
  return {
    headers: [type, ["Content-Transfer-Encoding", "quoted-printable"]],
    body: () => encodeAll(bytes, new QuotedPrintableEncoder()),
  };
}

function attachmentLeaf(attachment: AttachmentInit, index: number): Leaf {
  if (attachment === null || typeof attachment !== "object") {
    throw new TypeError(`Cannot build message: attachment ${index} is not an object`);
  }
  const what = `attachment ${index}`;
  const filename = attachment.filename;
  if (filename !== undefined) checkValue("Content-Disposition", filename);
  let contentType = attachment.contentType;
  if (contentType === undefined) {
    const known = filename === undefined ? undefined : mediaTypeFor(filename);
    // Containers (multipart/, message/) are not attachable as such.
    contentType = known === undefined || /^(multipart|message)\//.test(known)
      ? "application/octet-stream"
      : known;
  }
  checkValue("Content-Type", contentType);
  const typeParams = contentType.split(";");
  const mediaType = typeParams[0]!.trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(mediaType)) {
    throw new TypeError(`Cannot build message: ${what} has an invalid content type ${contentType}`);
  }
  if (mediaType.startsWith("multipart/") || mediaType.startsWith("message/")) {
    throw new TypeError(
      `Cannot build message: ${what} has type ${mediaType}; send it as application/octet-stream`,
    );
  }
  const disposition = attachment.disposition ??
    (attachment.contentId !== undefined ? "inline" : "attachment");
  if (disposition !== "attachment" && disposition !== "inline") {
    throw new TypeError(`Cannot build message: ${what} has disposition ${disposition}`);
  }
  const params: [string, string][] = filename !== undefined ? [["filename", filename]] : [];
  const typeValue = typeParams.length > 1
    ? contentType.trim()
    : formatMimeParameters(mediaType, filename !== undefined ? [["name", filename]] : []);
  const headers: Header[] = [
    ["Content-Type", typeValue],
    ["Content-Transfer-Encoding", "base64"],
    ["Content-Disposition", formatMimeParameters(disposition, params)],
  ];
  if (attachment.contentId !== undefined) {
    headers.push(["Content-ID", messageIdOf("Content-ID", attachment.contentId)]);
  }
  const bytes = contentBytes(attachment.content, what);
  if (bytes === null) {
    const stream = attachment.content as ReadableStream<Uint8Array>;
    return { headers, body: () => encodeStream(stream, new Base64Encoder()), stream };
  }
  return { headers, body: () => encodeAll(bytes, new Base64Encoder()) };
}

function bodyTree(init: MessageInit): Node {
  const text = init.text !== undefined ? textLeaf(init.text, "plain", "text") : undefined;
  let html: Node | undefined = init.html !== undefined
    ? textLeaf(init.html, "html", "html")
    : undefined;
  const attachments = init.attachments ?? [];
  if (!Array.isArray(attachments)) {
    throw new TypeError("Cannot build message: attachments is not an array");
  }
  const leaves = attachments.map((a, i) => ({ init: a, leaf: attachmentLeaf(a, i) }));
  const related = html !== undefined ? leaves.filter((a) => a.init.contentId !== undefined) : [];
  const mixed = leaves.filter((a) => !related.includes(a)).map((a) => a.leaf);
  if (related.length > 0) {
    html = { subtype: "related", children: [html!, ...related.map((a) => a.leaf)] };
  }
  let body: Node | undefined;
  if (text !== undefined && html !== undefined) {
    body = { subtype: "alternative", children: [text, html] };
  } else body = text ?? html;
  if (mixed.length === 0) return body ?? textLeaf("", "plain", "text");
  return { subtype: "mixed", children: body === undefined ? mixed : [body, ...mixed] };
}

function newBoundary(options: BuildMessageOptions): string {
  if (options.boundary !== undefined) {
    const b = options.boundary();
    if (typeof b !== "string" || !BOUNDARY_REGEXP.test(b)) {
      throw new TypeError(`Cannot build message: boundary ${JSON.stringify(b)} is not valid`);
    }
    return b;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "=_" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function collectLeaves(node: Node, out: Leaf[]): Leaf[] {
  if (isMulti(node)) { for (const child of node.children) collectLeaves(child, out); }
  else out.push(node);
  return out;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0]!;
  for (let i = haystack.indexOf(first); i >= 0; i = haystack.indexOf(first, i + 1)) {
    if (i + needle.length > haystack.length) return false;
    let k = 1;
    while (k < needle.length && haystack[i + k] === needle[k]) k++;
    if (k === needle.length) return true;
  }
  return false;
}

function assignBoundaries(node: Node, raws: Uint8Array[], options: BuildMessageOptions): void {
  if (!isMulti(node)) return;
  for (let attempt = 0;; attempt++) {
    const boundary = newBoundary(options);
    const probe = encoder.encode("--" + boundary);
    if (!raws.some((raw) => contains(raw, probe))) {
      node.boundary = boundary;
      break;
    }
    if (attempt === 10) {
      throw new TypeError("Cannot build message: every boundary tried occurs in the content");
    }
  }
  for (const child of node.children) assignBoundaries(child, raws, options);
}

function nodeHeaders(node: Node): Header[] {
  if (!isMulti(node)) return node.headers;
  return [[
    "Content-Type",
    formatMimeParameters(`multipart/${node.subtype}`, [["boundary", node.boundary!]]),
  ]];
}

function renderHeaders(headers: Header[]): string {
  let out = "";
  for (const [name, value] of headers) out += foldField(name, value);
  return out;
}

async function* emit(node: Node, withHeaders: boolean): AsyncGenerator<Uint8Array> {
  if (withHeaders) yield encoder.encode(renderHeaders(nodeHeaders(node)) + "\r\n");
  if (!isMulti(node)) {
    yield* node.body();
    return;
  }
  const delimiter = "--" + node.boundary!;
  for (let k = 0; k < node.children.length; k++) {
    yield encoder.encode((k === 0 ? "" : "\r\n") + delimiter + "\r\n");
    yield* emit(node.children[k]!, true);
  }
  yield encoder.encode("\r\n" + delimiter + "--\r\n");
}

function domainOf(address: string): string {
  const at = address.lastIndexOf("@");
  const domain = address.slice(at + 1);
  return /^[A-Za-z0-9.-]+$/.test(domain) ? domain : "localhost";
}

/** Validates the init and renders the top-level header fields. */
function topHeaders(init: MessageInit, options: BuildMessageOptions): Header[] {
  if (init === null || typeof init !== "object") {
    throw new TypeError("Cannot build message: init is not an object");
  }
  const utf8 = options.utf8Headers ?? false;
  const headers: Header[] = [];
  const date = init.date ?? new Date();
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new TypeError("Cannot build message: date is not a valid Date");
  }
  headers.push(["Date", formatMailDate(date)]);
  if (init.from === undefined) throw new TypeError("Cannot build message: from is required");
  const from = entriesOf(init.from, "From");
  if (from.length === 0 || from.some((e) => "group" in e)) {
    throw new TypeError("Cannot build message: from must name at least one mailbox and no groups");
  }
  headers.push(["From", formatAddressList(from, { utf8 })]);
  if (init.sender !== undefined) {
    const sender = entriesOf(init.sender, "Sender");
    if (sender.length !== 1 || "group" in sender[0]!) {
      throw new TypeError("Cannot build message: sender must be exactly one mailbox");
    }
    headers.push(["Sender", formatAddressList(sender, { utf8 })]);
  } else if (from.length > 1) {
    throw new TypeError(
      "Cannot build message: sender is required when from names several mailboxes",
    );
  }
  const addressField = (name: string, input: AddressInput | undefined): void => {
    if (input === undefined) return;
    const entries = entriesOf(input, name);
    if (entries.length > 0) headers.push([name, formatAddressList(entries, { utf8 })]);
  };
  addressField("To", init.to);
  addressField("Cc", init.cc);
  if (init.bcc !== undefined) entriesOf(init.bcc, "Bcc"); // validated, never written
  addressField("Reply-To", init.replyTo);
  if (init.subject !== undefined) {
    checkValue("Subject", init.subject);
    headers.push([
      "Subject",
      utf8 ? encodeLongWords(init.subject) : encodeEncodedWords(init.subject),
    ]);
  }
  const messageId = init.messageId !== undefined
    ? messageIdOf("Message-ID", init.messageId)
    : `<${crypto.randomUUID().replaceAll("-", "")}@${domainOf((from[0] as MailAddress).address)}>`;
  headers.push(["Message-ID", messageId]);
  if (init.inReplyTo !== undefined) {
    headers.push(["In-Reply-To", messageIdOf("In-Reply-To", init.inReplyTo)]);
  }
  if (init.references !== undefined) {
    const refs = typeof init.references === "string"
      ? init.references.trim().split(/\s+/)
      : init.references;
    headers.push(["References", refs.map((r) => messageIdOf("References", r)).join(" ")]);
  }
  if (init.headers !== undefined) {
    const extra = Symbol.iterator in init.headers
      ? [...init.headers as Iterable<[string, string]>]
      : Object.entries(init.headers);
    for (const [name, value] of extra) {
      if (typeof name !== "string" || !/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
        throw new TypeError(
          `Cannot write header field name ${JSON.stringify(name)}: not a field name`,
        );
      }
      if (RESERVED.has(name.toLowerCase())) {
        throw new TypeError(
          `Cannot write header ${name} from headers: it is set by the builder (use the MessageInit field)`,
        );
      }
      checkValue(name, value);
      headers.push([name, utf8 ? encodeLongWords(value) : encodeEncodedWords(value)]);
    }
  }
  headers.push(["MIME-Version", "1.0"]);
  return headers;
}

/** With raw UTF-8 allowed, encodes only words too long to fold. */
function encodeLongWords(text: string): string {
  return text.split(/([ \t]+)/).map((w) =>
    w.length > 900 ? encodeEncodedWords(w, { mode: "all" }) : w
  )
    .join("");
}

/**
 * Composes a message and streams it: `Date`, `From`, `Sender`, `To`, `Cc`,
 * `Reply-To`, `Subject`, `Message-ID`, threading fields, extra fields and
 * `MIME-Version`, then the body: a single text part, a
 * `multipart/alternative` of text and HTML, a `multipart/related` for
 * inline images, and a `multipart/mixed` with the attachments. Text goes as
 * 7bit when it is ASCII with short lines and as quoted-printable otherwise;
 * attachments go as base64 in 76-character lines; so the output never needs
 * 8BITMIME. Non-ASCII header text becomes RFC 2047 encoded words (only the
 * words that need it), file names use RFC 2231, fields are folded under 78
 * characters where possible and never reach 998, and lines end with CRLF.
 * `Bcc` is never written. Everything is validated before the stream is
 * returned; content streams are read as the output is read.
 *
 * @param init The message.
 * @param options Header encoding and boundaries.
 * @returns The message bytes.
 * @throws {TypeError} If a header value or name holds CR, LF or NUL, an
 *   address does not parse, `from` is missing, a message id is malformed, a
 *   header field the builder writes is passed in `headers`, or an
 *   attachment is invalid.
 *
 * @example Building a text and HTML message with an attachment
 * ```ts
 * import { buildMessage } from "@inetkit/inetkit/mail";
 * import { assertMatch, assertStringIncludes } from "@std/assert";
 *
 * const message = await new Response(buildMessage({
 *   from: "Zoë <zoe@example.test>",
 *   to: ["bob@example.test"],
 *   bcc: "hidden@example.test",
 *   subject: "Quarterly report",
 *   date: new Date("2024-05-01T12:00:00Z"),
 *   messageId: "<report-1@example.test>",
 *   text: "Hello Bob,\nsee the attachment.\n",
 *   html: "<p>Hello Bob,<br>see the attachment.</p>\n",
 *   attachments: [{ filename: "report.csv", content: "a,b\n1,2\n" }],
 * })).text();
 * assertStringIncludes(message, "Date: Wed, 01 May 2024 12:00:00 +0000\r\n");
 * assertStringIncludes(message, "From: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.test>\r\n");
 * assertStringIncludes(message, 'Content-Disposition: attachment; filename=report.csv\r\n');
 * assertMatch(message, /Content-Type: multipart\/mixed; boundary="=_[0-9a-f]{32}"/);
 * assertMatch(message, /^(?![\s\S]*hidden@)/);
 * ```
 *
 * @example Header injection is refused
 * ```ts
 * import { buildMessage } from "@inetkit/inetkit/mail";
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(
 *   () => buildMessage({ from: "a@example.test", subject: "hi\r\nBcc: victim@example.test" }),
 *   TypeError,
 * );
 * ```
 */
export function buildMessage(
  init: MessageInit,
  options?: BuildMessageOptions,
): ReadableStream<Uint8Array> {
  options ??= {};
  const top = topHeaders(init, options);
  const tree = bodyTree(init);
  const leaves = collectLeaves(tree, []);
  assignBoundaries(tree, leaves.flatMap((l) => (l.raw !== undefined ? [l.raw] : [])), options);
  const head = encoder.encode(renderHeaders([...top, ...nodeHeaders(tree)]) + "\r\n");
  const streams = leaves.flatMap((l) => (l.stream !== undefined ? [l.stream] : []));
  for (const stream of streams) {
    if (stream.locked) throw new TypeError("Cannot build message: a content stream is locked");
  }
  async function* all(): AsyncGenerator<Uint8Array> {
    try {
      yield head;
      yield* emit(tree, false);
    } finally {
      // Streams never reached (the output was cancelled or failed) are cancelled too.
      for (const stream of streams) {
        if (!stream.locked) await stream.cancel().catch(() => {});
      }
    }
  }
  return ReadableStream.from(all());
}

/**
 * Derives the SMTP envelope of a message: the reverse path (`sender`, else
 * the first `from` mailbox) and the recipients (`to`, `cc`, `bcc`, without
 * duplicates), validated as {@linkcode buildMessage} validates them.
 *
 * @param init The message.
 * @param options The same options given to {@linkcode buildMessage}.
 * @returns The envelope.
 * @throws {TypeError} As {@linkcode buildMessage} does.
 *
 * @example Envelope recipients include Bcc
 * ```ts
 * import { messageEnvelope } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   messageEnvelope({
 *     from: "Ann <ann@example.test>",
 *     to: "bob@example.test, Bob <BOB@example.test>",
 *     bcc: [{ name: "", address: "cy@example.test" }],
 *   }),
 *   { from: "ann@example.test", recipients: ["bob@example.test", "cy@example.test"], smtpUtf8: false },
 * );
 * ```
 */
export function messageEnvelope(
  init: MessageInit,
  options?: BuildMessageOptions,
): MessageEnvelope {
  options ??= {};
  const top = topHeaders(
    { ...init, date: init.date ?? new Date(0), messageId: init.messageId ?? "<x@x>" },
    options,
  );
  bodyTree(init); // validates the body as buildMessage does, reading nothing
  const sender = flattenAddresses(init.sender ?? init.from)[0]!;
  const seen = new Set<string>();
  const recipients: string[] = [];
  for (const input of [init.to, init.cc, init.bcc]) {
    if (input === undefined) continue;
    for (const { address } of flattenAddresses(input)) {
      const key = address.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      recipients.push(address);
    }
  }
  const nonAscii = (s: string): boolean => /[\u0080-\uffff]/.test(s);
  const smtpUtf8 = nonAscii(sender.address) || recipients.some(nonAscii) ||
    top.some(([, value]) => nonAscii(value));
  return { from: sender.address, recipients, smtpUtf8 };
}
