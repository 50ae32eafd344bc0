// Parsing of WWW-Authenticate / Proxy-Authenticate (RFC 9110 §11.6.1) in one
// linear pass: every character is looked at a bounded number of times, so a
// hostile header cannot make parsing slow (no regular expressions that
// backtrack over the input).

/** One challenge: its scheme (lower-cased), its parameters, or a token68. */
export interface AuthChallenge {
  scheme: string;
  /** Parameters by lower-cased name; the first of duplicates wins. */
  params: Map<string, string>;
  token68: string | null;
}

/** Caps that keep a hostile header from producing huge structures. */
const MAX_CHALLENGES = 32;
const MAX_PARAMS = 32;

function isTchar(c: number): boolean {
  // RFC 9110 tchar: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d ||
    c === 0x2e || c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e;
}

function isToken68(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x2b || c === 0x2f;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Parses the challenges of one or more `WWW-Authenticate` field values
 * (joined with commas, as `Headers.get` does). Malformed parts are skipped
 * up to the next comma.
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const s = header;
  const n = s.length;
  const out: AuthChallenge[] = [];
  let i = 0;

  const skipSpace = () => {
    while (i < n && isSpace(s.charCodeAt(i))) i++;
  };
  const skipSpaceAndCommas = () => {
    while (i < n && (isSpace(s.charCodeAt(i)) || s.charCodeAt(i) === 0x2c)) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && isTchar(s.charCodeAt(i))) i++;
    return s.slice(start, i);
  };
  // Skips to just past the next comma that is not inside a quoted string.
  const skipToComma = () => {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x2c) {
        i++;
        return;
      }
      if (c === 0x22) {
        i++;
        while (i < n && s.charCodeAt(i) !== 0x22) i += s.charCodeAt(i) === 0x5c ? 2 : 1;
      }
      i++;
    }
  };
  // Reads a quoted-string at s[i] === '"'; null when unterminated.
  const readQuoted = (): string | null => {
    i++;
    let value = "";
    let start = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        value += s.slice(start, i);
        i++;
        return value;
      }
      if (c === 0x5c && i + 1 < n) {
        value += s.slice(start, i) + s[i + 1];
        i += 2;
        start = i;
        continue;
      }
      i++;
    }
    return null;
  };
  // Whether `token BWS "=" BWS value` starts at i, without consuming it.
  const paramAhead = (): boolean => {
    let j = i;
    while (j < n && isTchar(s.charCodeAt(j))) j++;
    if (j === i) return false;
    while (j < n && isSpace(s.charCodeAt(j))) j++;
    if (j >= n || s.charCodeAt(j) !== 0x3d || s.charCodeAt(j + 1) === 0x3d) return false;
    // "abc=" followed by the end or a comma is a token68 with padding.
    j++;
    while (j < n && isSpace(s.charCodeAt(j))) j++;
    return j < n && s.charCodeAt(j) !== 0x2c;
  };

  skipSpaceAndCommas();
  while (i < n && out.length < MAX_CHALLENGES) {
    const scheme = readToken();
    if (scheme === "") {
      // Not a token: skip this list item (skipToComma always advances).
      skipToComma();
      skipSpaceAndCommas();
      continue;
    }
    const challenge: AuthChallenge = {
      scheme: scheme.toLowerCase(),
      params: new Map(),
      token68: null,
    };
    out.push(challenge);
    const afterScheme = i;
    skipSpace();
    if (i >= n) break;
    if (s.charCodeAt(i) === 0x2c) {
      skipSpaceAndCommas();
      continue;
    }
    if (i === afterScheme) {
      // Garbage glued to the scheme.
      skipToComma();
      skipSpaceAndCommas();
      continue;
    }
    if (!paramAhead()) {
      // token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
      const start = i;
      while (i < n && isToken68(s.charCodeAt(i))) i++;
      while (i < n && s.charCodeAt(i) === 0x3d) i++;
      const end = i;
      skipSpace();
      if (end > start && (i >= n || s.charCodeAt(i) === 0x2c)) {
        challenge.token68 = s.slice(start, end);
      } else {
        skipToComma();
      }
      skipSpaceAndCommas();
      continue;
    }
    // auth-param list
    for (;;) {
      const name = readToken().toLowerCase();
      skipSpace();
      i++; // "=" (paramAhead checked it)
      skipSpace();
      let value: string | null;
      if (i < n && s.charCodeAt(i) === 0x22) {
        value = readQuoted();
      } else {
        value = readToken();
      }
      if (value !== null && challenge.params.size < MAX_PARAMS && !challenge.params.has(name)) {
        challenge.params.set(name, value);
      }
      skipSpace();
      if (i < n && s.charCodeAt(i) !== 0x2c) skipToComma();
      skipSpaceAndCommas();
      if (i >= n || !paramAhead()) break;
    }
  }
  return out;
}

/** Quotes a value as an RFC 9110 quoted-string. */
export function quoteString(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}
