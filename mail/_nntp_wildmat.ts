/**
 * Wildmat matching (RFC 3977 §4): a comma-separated list of patterns, each
 * optionally negated with `!`, the last one that matches deciding; `*`,
 * `?`, `[...]` / `[^...]` character classes and `\` escapes. Matching is
 * iterative (at most pattern length times name length steps), so no
 * pattern can make it take exponential time.
 *
 * @module
 */

type Token =
  | { kind: "char"; code: number }
  | { kind: "any" }
  | { kind: "star" }
  | { kind: "class"; negate: boolean; ranges: [number, number][] };

interface Pattern {
  negate: boolean;
  tokens: Token[];
}

/** The longest wildmat accepted, in characters. */
const MAX_WILDMAT = 1024;

/**
 * Compiles a wildmat into a predicate on names; `null` when it is not a
 * valid wildmat (an unclosed class, a trailing backslash, an empty part).
 */
export function compileWildmat(text: string): ((name: string) => boolean) | null {
  if (text.length === 0 || text.length > MAX_WILDMAT) return null;
  const patterns: Pattern[] = [];
  for (const part of splitPatterns(text)) {
    let body = part;
    let negate = false;
    if (body.startsWith("!")) {
      negate = true;
      body = body.slice(1);
    }
    if (body === "") return null;
    const tokens = tokenize(body);
    if (tokens === null) return null;
    patterns.push({ negate, tokens });
  }
  return (name: string) => {
    const codes = Array.from(name, (c) => c.codePointAt(0)!);
    for (let i = patterns.length - 1; i >= 0; i--) {
      const pattern = patterns[i]!;
      if (matchTokens(pattern.tokens, codes)) return !pattern.negate;
    }
    return false;
  };
}

/** Splits at commas that are not escaped or inside a class. */
function splitPatterns(text: string): string[] {
  const parts: string[] = [];
  let current = "";
  let inClass = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && i + 1 < text.length) {
      current += c + text[++i];
      continue;
    }
    if (inClass) {
      if (c === "]" && !/\[\^?$/.test(current)) inClass = false;
      current += c;
      continue;
    }
    if (c === "[") inClass = true;
    if (c === ",") {
      parts.push(current);
      current = "";
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts;
}

function tokenize(body: string): Token[] | null {
  const chars = Array.from(body, (c) => c.codePointAt(0)!);
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === 0x5c /* \ */) {
      if (i + 1 >= chars.length) return null;
      tokens.push({ kind: "char", code: chars[++i]! });
    } else if (c === 0x2a /* * */) {
      if (tokens[tokens.length - 1]?.kind !== "star") tokens.push({ kind: "star" });
    } else if (c === 0x3f /* ? */) {
      tokens.push({ kind: "any" });
    } else if (c === 0x5b /* [ */) {
      let j = i + 1;
      let negate = false;
      if (chars[j] === 0x5e /* ^ */) {
        negate = true;
        j++;
      }
      const ranges: [number, number][] = [];
      let first = true;
      for (;; j++) {
        if (j >= chars.length) return null;
        let d = chars[j]!;
        if (d === 0x5d /* ] */ && !first) break;
        first = false;
        if (d === 0x5c) {
          if (j + 1 >= chars.length) return null;
          d = chars[++j]!;
        }
        if (chars[j + 1] === 0x2d /* - */ && j + 2 < chars.length && chars[j + 2] !== 0x5d) {
          let e = chars[j + 2]!;
          j += 2;
          if (e === 0x5c) {
            if (j + 1 >= chars.length) return null;
            e = chars[++j]!;
          }
          ranges.push([d, e]);
        } else {
          ranges.push([d, d]);
        }
      }
      tokens.push({ kind: "class", negate, ranges });
      i = j;
    } else {
      tokens.push({ kind: "char", code: c });
    }
  }
  return tokens;
}

function matchOne(token: Token, code: number): boolean {
  switch (token.kind) {
    case "char":
      return token.code === code;
    case "any":
      return true;
    case "class": {
      const inside = token.ranges.some(([lo, hi]) => code >= lo && code <= hi);
      return inside !== token.negate;
    }
    default:
      return false;
  }
}

/** Glob matching with one backtrack point: the last star. */
function matchTokens(tokens: Token[], codes: number[]): boolean {
  let t = 0;
  let c = 0;
  let starT = -1;
  let starC = 0;
  while (c < codes.length) {
    const token = tokens[t];
    if (token !== undefined && token.kind === "star") {
      starT = t++;
      starC = c;
    } else if (token !== undefined && matchOne(token, codes[c]!)) {
      t++;
      c++;
    } else if (starT >= 0) {
      t = starT + 1;
      c = ++starC;
    } else {
      return false;
    }
  }
  while (tokens[t]?.kind === "star") t++;
  return t === tokens.length;
}
