/**
 * ENVELOPE and BODYSTRUCTURE (RFC 3501 §7.4.2) from the header fields and
 * part tree of {@linkcode StructureScanner}. Values are the raw header text
 * (binary strings: encoded words and 8-bit octets reach the client as
 * stored), as Dovecot sends them. Address lists are read leniently: a
 * malformed one still yields what can be made of it, never an error.
 *
 * @module
 */
import {
  fieldValue,
  type HeaderFieldPair,
  type ImapPartNode,
  parseParams,
} from "./_imap_server_structure.ts";
import { imapNString, imapString } from "./_imap_server_output.ts";

interface AddressToken {
  kind: "word" | "quoted" | "special" | "comment";
  value: string;
}

/** Splits an address header into words, quoted strings and specials; comments are dropped. */
function addressTokens(value: string): AddressToken[] {
  const out: AddressToken[] = [];
  let i = 0;
  const n = value.length;
  while (i < n && out.length < 20000) {
    const c = value[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
    } else if (c === "(") {
      let depth = 0;
      let text = "";
      while (i < n) {
        const d = value[i]!;
        if (d === "\\") {
          i++;
          if (depth === 1 && i < n) text += value[i];
        } else if (d === "(") {
          if (depth > 0) text += d;
          depth++;
        } else if (d === ")" && --depth === 0) {
          i++;
          break;
        } else text += d;
        i++;
      }
      out.push({ kind: "comment", value: text.trim() });
    } else if (c === '"') {
      let text = "";
      i++;
      while (i < n && value[i] !== '"') {
        if (value[i] === "\\" && i + 1 < n) i++;
        text += value[i++];
      }
      i++;
      out.push({ kind: "quoted", value: text });
    } else if ("<>,:;@".includes(c)) {
      out.push({ kind: "special", value: c });
      i++;
    } else if (c === "[") {
      const close = value.indexOf("]", i);
      const end = close === -1 ? n : close + 1;
      out.push({ kind: "word", value: value.slice(i, end) });
      i = end;
    } else {
      let j = i;
      while (j < n && !' \t\r\n()"<>,:;@['.includes(value[j]!)) j++;
      if (j === i) j++; // a stray ")" is a word of its own
      out.push({ kind: "word", value: value.slice(i, j) });
      i = j;
    }
  }
  return out;
}

const isSpecial = (t: AddressToken | undefined, c: string) =>
  t?.kind === "special" && t.value === c;

/** A display name: the words joined by single spaces. */
function phrase(tokens: readonly AddressToken[]): string | null {
  const words = tokens.filter((t) => t.kind === "word" || t.kind === "quoted").map((t) => t.value);
  const text = words.join(" ");
  return words.length === 0 ? null : text;
}

/**
 * `local@domain` tokens split at the last `@`, with Dovecot's stand-ins
 * for a missing part.
 */
function addrSpec(tokens: readonly AddressToken[]): [string, string] {
  const list = tokens.filter((t) => t.kind !== "comment");
  let at = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    if (isSpecial(list[i], "@")) {
      at = i;
      break;
    }
  }
  const join = (part: readonly AddressToken[]) => part.map((t) => t.value).join("");
  const local = join(at === -1 ? list : list.slice(0, at));
  const domain = at === -1 ? "" : join(list.slice(at + 1));
  return [local === "" ? "MISSING_MAILBOX" : local, domain === "" ? "MISSING_DOMAIN" : domain];
}

function address(name: string | null, adl: string | null, mailbox: string, host: string): string {
  return `(${imapNString(name)} ${imapNString(adl)} ${imapString(mailbox)} ${imapString(host)})`;
}

/**
 * An ENVELOPE address list: `((name adl mailbox host)...)` with groups as
 * `(NIL NIL group NIL)` ... `(NIL NIL NIL NIL)`, or `NIL` when empty.
 */
export function envelopeAddresses(value: string | null): string {
  if (value === null) return "NIL";
  const tokens = addressTokens(value);
  const out: string[] = [];
  let inGroup = false;
  let current: AddressToken[] = [];
  let angle = false;
  let afterGroup = false;
  /** Ends one address; an empty one counts only between commas, as Dovecot counts it. */
  const flush = (empty: boolean) => {
    const list = current;
    current = [];
    if (!empty && !list.some((t) => t.kind !== "comment")) return;
    const open = list.findIndex((t) => isSpecial(t, "<"));
    if (open === -1) {
      // addr-spec: a comment, the last one, stands for the name.
      const comments = list.filter((t) => t.kind === "comment" && t.value !== "");
      const name = comments.length === 0 ? null : comments[comments.length - 1]!.value;
      const [mailbox, host] = addrSpec(list.filter((t) => t.kind !== "special" || t.value === "@"));
      out.push(address(name, null, mailbox, host));
      return;
    }
    const name = phrase(list.slice(0, open));
    let close = list.findIndex((t, i) => i > open && isSpecial(t, ">"));
    const closed = close !== -1;
    if (!closed) close = list.length;
    let inner = list.slice(open + 1, close);
    let adl: string | null = null;
    const colon = inner.findIndex((t) => isSpecial(t, ":"));
    if (colon !== -1 && isSpecial(inner[0], "@")) {
      adl = inner.slice(0, colon).map((t) => t.value).join("");
      inner = inner.slice(colon + 1);
    }
    const [mailbox, host] = addrSpec(inner.filter((t) => t.kind !== "special" || t.value === "@"));
    out.push(address(name, adl, mailbox, closed ? host : "SYNTAX_ERROR"));
  };
  for (const token of tokens) {
    if (token.kind === "special") {
      if (token.value === "<") angle = true;
      else if (token.value === ">") angle = false;
      else if (!angle) {
        if (token.value === ",") {
          // The comma after a group's `;` separates, it does not end an empty address.
          flush(!afterGroup);
          afterGroup = false;
          continue;
        }
        if (token.value === ":" && !inGroup) {
          const name = phrase(current) ?? "";
          current = [];
          out.push(`(NIL NIL ${imapString(name)} NIL)`);
          inGroup = true;
          continue;
        }
        if (token.value === ";" && inGroup) {
          flush(false);
          out.push("(NIL NIL NIL NIL)");
          inGroup = false;
          afterGroup = true;
          continue;
        }
      }
    }
    afterGroup = false;
    current.push(token);
  }
  flush(false);
  if (inGroup) out.push("(NIL NIL NIL NIL)");
  return out.length === 0 ? "NIL" : `(${out.join("")})`;
}

/** The ENVELOPE of a message's header fields (a binary string, ready to write). */
export function envelopeOf(fields: readonly HeaderFieldPair[]): string {
  const get = (name: string) => fieldValue(fields, name);
  const nonEmpty = (v: string | null) => (v === null || v.trim() === "" ? null : v);
  const from = envelopeAddresses(nonEmpty(get("from")));
  const sender = nonEmpty(get("sender")) === null ? from : envelopeAddresses(get("sender"));
  const replyTo = nonEmpty(get("reply-to")) === null ? from : envelopeAddresses(get("reply-to"));
  return `(${imapNString(get("date"))} ${
    imapNString(get("subject"))
  } ${from} ${sender} ${replyTo} ` +
    `${envelopeAddresses(nonEmpty(get("to")))} ${envelopeAddresses(nonEmpty(get("cc")))} ` +
    `${envelopeAddresses(nonEmpty(get("bcc")))} ${imapNString(get("in-reply-to"))} ` +
    `${imapNString(get("message-id"))})`;
}

function paramList(params: readonly HeaderFieldPair[] | null): string {
  if (params === null || params.length === 0) return "NIL";
  return `(${params.map(([n, v]) => `${imapString(n)} ${imapString(v)}`).join(" ")})`;
}

function disposition(fields: readonly HeaderFieldPair[]): string {
  const value = fieldValue(fields, "content-disposition");
  if (value === null) return "NIL";
  const { main, params } = parseParams(value);
  if (main === "") return "NIL";
  return `(${imapString(main)} ${paramList(params)})`;
}

function language(fields: readonly HeaderFieldPair[]): string {
  const value = fieldValue(fields, "content-language");
  if (value === null) return "NIL";
  const tags = value.split(",").map((t) => t.trim()).filter((t) => t !== "");
  if (tags.length === 0) return "NIL";
  return `(${tags.map(imapString).join(" ")})`;
}

/** An empty message, for a `message/rfc822` part whose content is not a message. */
const EMPTY_ENCLOSED = '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" ' +
  '"us-ascii") NIL NIL "7bit" 0 0)';

/**
 * The BODYSTRUCTURE (`extensible`) or BODY of a part tree, as a binary
 * string ready to write.
 */
export function bodyStructureOf(node: ImapPartNode, extensible: boolean): string {
  const f = node.fields;
  if (node.multipart) {
    const parts = node.children.length === 0
      ? `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0${
        extensible ? " NIL NIL NIL NIL" : ""
      })`
      : node.children.map((c) => bodyStructureOf(c, extensible)).join("");
    let out = `(${parts} ${imapString(node.subtype)}`;
    if (extensible) {
      out += ` ${paramList(node.params)} ${disposition(f)} ${language(f)} ` +
        imapNString(fieldValue(f, "content-location"));
    }
    return out + ")";
  }
  let params = node.params;
  if (node.type === "text" && !params?.some(([n]) => n.toLowerCase() === "charset")) {
    params = [["charset", "us-ascii"], ...(params ?? [])];
  }
  const encoding = (fieldValue(f, "content-transfer-encoding") ?? "7bit").trim() || "7bit";
  let out = `(${imapString(node.type)} ${imapString(node.subtype)} ${paramList(params)} ` +
    `${imapNString(fieldValue(f, "content-id"))} ` +
    `${imapNString(fieldValue(f, "content-description"))} ${imapString(encoding.toLowerCase())} ` +
    `${node.end - node.bodyStart}`;
  if (node.isMessage) {
    const enclosed = node.message;
    out += enclosed === null
      ? ` ${EMPTY_ENCLOSED}`
      : ` ${envelopeOf(enclosed.fields)} ${bodyStructureOf(enclosed, extensible)}`;
    out += ` ${node.lines}`;
  } else if (node.type === "text") {
    out += ` ${node.lines}`;
  }
  if (extensible) {
    out += ` ${imapNString(fieldValue(f, "content-md5"))} ${disposition(f)} ${language(f)} ` +
      imapNString(fieldValue(f, "content-location"));
  }
  return out + ")";
}
