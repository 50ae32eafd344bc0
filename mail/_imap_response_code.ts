/**
 * Response codes, the `[...]` after OK/NO/BAD/BYE/PREAUTH (RFC 3501 §7.1,
 * RFC 9051 §7.1, RFC 4315 UIDPLUS, RFC 7162 CONDSTORE, RFC 5530).
 *
 * @module
 */
import type { ImapResponseCode } from "./_imap_wire_types.ts";
import { ImapTokenizer, type TokenizerSettings } from "./_imap_tokenizer.ts";
import { atom, badData, big, list, num, nz32, ranges, str } from "./_imap_decode.ts";
import type { ImapToken } from "./_imap_wire_types.ts";

const CODE_SETTINGS: TokenizerSettings = {
  mode: "response",
  maxLineLength: Number.MAX_SAFE_INTEGER,
  maxTotal: Number.MAX_SAFE_INTEGER,
  maxDepth: 8,
  maxTokens: 100000,
  lineEnding: "any",
};

const noLiteral = (): Promise<never> => {
  throw badData("response code", "a literal is not allowed in a response code");
};

/** Tokenizes a code's argument text completely. */
async function tokens(bytes: Uint8Array): Promise<ImapToken[]> {
  const t = ImapTokenizer.over(bytes, CODE_SETTINGS);
  const out: ImapToken[] = [];
  for (;;) {
    t.skipSpaces();
    if (t.atEnd()) return out;
    out.push(await t.value(0, false, noLiteral));
  }
}

/**
 * Parses the text between `[` and `]`: the name (upper-cased) and, for the
 * codes this library knows, a typed value; other codes keep their argument
 * text (or null).
 *
 * @param name The code's atom.
 * @param args The bytes after the name's space, or null.
 */
export async function parseResponseCode(
  name: string,
  args: Uint8Array | null,
  argText: string | null,
): Promise<ImapResponseCode> {
  const upper = name.toUpperCase();
  const what = `response code ${upper}`;
  switch (upper) {
    case "UIDVALIDITY":
    case "UIDNEXT":
    case "UNSEEN": {
      const t = await exactly(args, 1, what);
      const value = upper === "UIDNEXT" ? num(t[0], what) : nz32(t[0], what);
      return { name: upper, value } as ImapResponseCode;
    }
    case "HIGHESTMODSEQ": {
      const t = await exactly(args, 1, what);
      return { name: upper, value: big(t[0], what) };
    }
    case "CAPABILITY": {
      const t = await tokens(args ?? new Uint8Array(0));
      return { name: upper, value: t.map((x) => atom(x, what).toUpperCase()) };
    }
    case "PERMANENTFLAGS": {
      const t = await exactly(args, 1, what);
      return { name: upper, value: list(t[0], what).map((x) => atom(x, what)) };
    }
    case "BADCHARSET": {
      if (args === null) return { name: upper, value: [] };
      const t = await exactly(args, 1, what);
      return {
        name: upper,
        value: list(t[0], what).map((x) => x.type === "atom" ? x.value : str(x, what)),
      };
    }
    case "APPENDUID": {
      const t = await exactly(args, 2, what);
      return { name: upper, value: { uidValidity: nz32(t[0], what), uids: ranges(t[1], what) } };
    }
    case "COPYUID": {
      const t = await exactly(args, 3, what);
      const sourceUids = ranges(t[1], what);
      const destinationUids = ranges(t[2], what);
      if (count(sourceUids) !== count(destinationUids)) {
        throw badData(what, "source and destination sets differ in size");
      }
      return { name: upper, value: { uidValidity: nz32(t[0], what), sourceUids, destinationUids } };
    }
    case "MODIFIED": {
      const t = await exactly(args, 1, what);
      return { name: upper, value: ranges(t[0], what) };
    }
    default:
      return { name: upper, value: argText };
  }
}

async function exactly(args: Uint8Array | null, n: number, what: string): Promise<ImapToken[]> {
  if (args === null) throw badData(what, "its argument is missing");
  const t = await tokens(args);
  if (t.length !== n) throw badData(what, `expected ${n} arguments, got ${t.length}`);
  return t;
}

function count(set: readonly (readonly [number, number])[]): number {
  let n = 0;
  for (const [a, b] of set) n += b - a + 1;
  return n;
}
