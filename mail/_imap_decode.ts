/**
 * Small accessors that turn IMAP tokens into values, throwing
 * `"BAD_REPLY"` when a token does not have the shape the grammar asks for.
 *
 * @module
 */
import { ProtocolError } from "../net/protocol_error.ts";
import type { ImapToken } from "./_imap_wire_types.ts";
import type { ImapRange } from "./_imap_wire_types.ts";
import { decodeText } from "./_imap_tokenizer.ts";

const MAX_NZ32 = 4294967295;

/** A `"BAD_REPLY"` error for a decoded value. */
export function badData(what: string, reason: string): ProtocolError {
  return new ProtocolError("BAD_REPLY", `Cannot decode IMAP ${what}: ${reason}`);
}

/** A short description of a token for messages. */
export function tokenKind(token: ImapToken | undefined): string {
  if (token === undefined) return "nothing";
  switch (token.type) {
    case "atom":
      return `atom ${JSON.stringify(token.value.slice(0, 40))}`;
    case "number":
      return `number ${token.text}`;
    case "string":
      return "a quoted string";
    default:
      return `a ${token.type}`;
  }
}

/** A number token as a non-negative safe integer. */
export function num(token: ImapToken | undefined, what: string): number {
  if (token?.type === "number" && typeof token.value === "number") return token.value;
  throw badData(what, `expected a number, got ${tokenKind(token)}`);
}

/** A number token as a non-zero 32-bit number (UIDs, sequence numbers, UIDVALIDITY). */
export function nz32(token: ImapToken | undefined, what: string): number {
  const value = num(token, what);
  if (value === 0 || value > MAX_NZ32) {
    throw badData(what, `${value} is not a non-zero 32-bit number`);
  }
  return value;
}

/** A number token as a bigint (mod-sequence values, RFC 7162). */
export function big(token: ImapToken | undefined, what: string): bigint {
  if (token?.type === "number") return BigInt(token.value);
  throw badData(what, `expected a number, got ${tokenKind(token)}`);
}

/** A string (quoted or literal) or NIL: the text, or null. */
export function nstring(token: ImapToken | undefined, what: string): string | null {
  if (token?.type === "nil") return null;
  return str(token, what);
}

/** A quoted string or literal as text. */
export function str(token: ImapToken | undefined, what: string): string {
  if (token?.type === "string") return token.value;
  if (token?.type === "literal") return decodeText(token.value);
  throw badData(what, `expected a string, got ${tokenKind(token)}`);
}

/** An astring: an atom, a number's digits, a string, or a literal. */
export function astring(token: ImapToken | undefined, what: string): string {
  if (token?.type === "atom") return token.value;
  if (token?.type === "number") return token.text;
  if (token?.type === "nil") return "NIL";
  return str(token, what);
}

/** A list token's items (NIL allowed when `nilOk`, as an empty list). */
export function list(token: ImapToken | undefined, what: string, nilOk = false): ImapToken[] {
  if (token?.type === "list") return token.items;
  if (nilOk && token?.type === "nil") return [];
  throw badData(what, `expected a list, got ${tokenKind(token)}`);
}

/** An atom's text (flags, capability names). */
export function atom(token: ImapToken | undefined, what: string): string {
  if (token?.type === "atom") return token.value;
  if (token?.type === "number") return token.text;
  throw badData(what, `expected an atom, got ${tokenKind(token)}`);
}

/**
 * A sequence set or uid-set (`1:3,7,9:*`) as ranges with the lower number
 * first. `*` is refused: uid-sets in responses are concrete.
 */
export function parseRanges(text: string, what: string): ImapRange[] {
  if (text === "") throw badData(what, "the set is empty");
  const out: ImapRange[] = [];
  for (const part of text.split(",")) {
    const colon = part.indexOf(":");
    const a = rangeNumber(colon < 0 ? part : part.slice(0, colon), what);
    const b = colon < 0 ? a : rangeNumber(part.slice(colon + 1), what);
    out.push(a <= b ? [a, b] : [b, a]);
  }
  return out;
}

function rangeNumber(text: string, what: string): number {
  if (!/^[1-9]\d{0,9}$/.test(text) || Number(text) > MAX_NZ32) {
    throw badData(what, `${JSON.stringify(text)} is not a non-zero 32-bit number`);
  }
  return Number(text);
}

/** A set token (atom `1:3,5` or a plain number) as ranges. */
export function ranges(token: ImapToken | undefined, what: string): ImapRange[] {
  if (token?.type === "number") return parseRanges(token.text, what);
  if (token?.type === "atom") return parseRanges(token.value, what);
  throw badData(what, `expected a set, got ${tokenKind(token)}`);
}
