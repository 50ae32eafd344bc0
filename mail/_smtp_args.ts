/**
 * Private helpers for SMTP command arguments: path checks, xtext (RFC 3461
 * §4), capability parsing (RFC 5321 §4.1.1.1) and the CR LF normaliser for
 * BDAT.
 *
 * @module
 */

const encoder = new TextEncoder();
// deno-lint-ignore no-control-regex
const CONTROL_REGEXP = /[\0-\x1f\x7f]/;
const NON_ASCII_REGEXP = /[^\0-\x7f]/;
/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets, angle brackets included. */
const MAX_PATH = 256;

/** Whether a string is all ASCII. */
export function isAscii(text: string): boolean {
  return !NON_ASCII_REGEXP.test(text);
}

/**
 * Checks a mailbox for `MAIL FROM`/`RCPT TO`/`VRFY`: a string with no control
 * character (CR, LF, NUL, ...), no angle bracket, at most 254 octets.
 */
export function checkAddress(address: unknown, command: string): string {
  if (typeof address !== "string") {
    throw new TypeError(`Cannot send ${command}: the address is not a string`);
  }
  if (CONTROL_REGEXP.test(address)) {
    throw new TypeError(
      `Cannot send ${command}: address ${JSON.stringify(address)} contains CR, LF, NUL ` +
        `or another control character`,
    );
  }
  if (address.includes("<") || address.includes(">")) {
    throw new TypeError(
      `Cannot send ${command}: address ${JSON.stringify(address)} contains an angle bracket`,
    );
  }
  const size = encoder.encode(address).length + 2;
  if (size > MAX_PATH) {
    throw new RangeError(
      `Cannot send ${command}: the address is ${size - 2} octets, more than ${MAX_PATH - 2}`,
    );
  }
  return address;
}

/** Checks a protocol word (a host name for EHLO, a mechanism name): printable, no spaces. */
export function checkWord(word: unknown, what: string): string {
  if (typeof word !== "string" || word === "" || !/^[\x21-\x7e]+$/.test(word)) {
    throw new TypeError(
      `Cannot use ${what} ${JSON.stringify(word)}: it must be printable ASCII without spaces`,
    );
  }
  return word;
}

/**
 * Encodes a value as xtext (RFC 3461 §4): `+`, `=`, controls, space and
 * non-ASCII as `+HH`; the encoded text may be at most `max` characters (100
 * for ENVID, 500 for ORCPT).
 */
export function xtext(value: string, what: string, max: number): string {
  if (typeof value !== "string") throw new TypeError(`Cannot send ${what}: not a string`);
  let out = "";
  for (const byte of encoder.encode(value)) {
    if (byte < 33 || byte > 126 || byte === 43 || byte === 61) {
      out += "+" + byte.toString(16).toUpperCase().padStart(2, "0");
    } else {
      out += String.fromCharCode(byte);
    }
  }
  if (out.length > max) {
    throw new RangeError(`Cannot send ${what}: ${out.length} characters encoded, more than ${max}`);
  }
  return out;
}

/** The server name and the extension map of an EHLO/LHLO reply. */
export function parseCapabilities(lines: readonly string[]): Map<string, string> {
  const capabilities = new Map<string, string>();
  let legacyAuth: string | undefined;
  for (const line of lines.slice(1)) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    const space = trimmed.indexOf(" ");
    const keyword = (space < 0 ? trimmed : trimmed.slice(0, space)).toUpperCase();
    const params = space < 0 ? "" : trimmed.slice(space + 1).trim();
    // Old servers (before RFC 2554 was final) say "AUTH=LOGIN PLAIN".
    if (keyword.startsWith("AUTH=")) {
      legacyAuth ??= trimmed.slice(5).trim();
      continue;
    }
    if (!capabilities.has(keyword)) capabilities.set(keyword, params);
  }
  if (legacyAuth !== undefined && !capabilities.has("AUTH")) capabilities.set("AUTH", legacyAuth);
  return capabilities;
}

const CR = 13;
const LF = 10;

/**
 * Turns every line end (CR LF, bare CR, bare LF) into CR LF, across chunk
 * boundaries, without dot-stuffing: the canonical form BDAT sends.
 */
export class CrlfNormalizer {
  #pendingCr = false;
  /** Whether any octet came out, and whether the last one ended a line. */
  #empty = true;
  #atLineEnd = false;

  /** Normalises one chunk; a CR at its end waits for the next. */
  push(chunk: Uint8Array): Uint8Array {
    const out = this.#push(chunk);
    if (out.length > 0) {
      this.#empty = false;
      this.#atLineEnd = out[out.length - 1] === LF;
    }
    return out;
  }

  #push(chunk: Uint8Array): Uint8Array {
    let needed = false;
    for (let i = 0; i < chunk.length && !needed; i++) {
      const b = chunk[i]!;
      if (b === CR) needed = chunk[i + 1] !== LF;
      else if (b === LF) needed = i === 0 ? !this.#pendingCr : chunk[i - 1] !== CR;
    }
    if (!needed && !this.#pendingCr) return chunk;
    if (!needed && this.#pendingCr && chunk[0] === LF) {
      this.#pendingCr = false;
      const out = new Uint8Array(chunk.length + 1);
      out[0] = CR;
      out.set(chunk, 1);
      return out;
    }
    const out = new Uint8Array(chunk.length * 2 + 2);
    let o = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.#pendingCr) {
        this.#pendingCr = false;
        out[o++] = CR;
        out[o++] = LF;
        if (b === LF) continue;
      }
      if (b === CR) {
        this.#pendingCr = true;
      } else if (b === LF) {
        out[o++] = CR;
        out[o++] = LF;
      } else {
        out[o++] = b;
      }
    }
    return out.subarray(0, o);
  }

  /** Ends the input: a trailing CR becomes CR LF, and a last line without an end gets one. */
  end(): Uint8Array {
    if (!this.#pendingCr && (this.#empty || this.#atLineEnd)) return new Uint8Array(0);
    this.#pendingCr = false;
    this.#atLineEnd = true;
    return new Uint8Array([CR, LF]);
  }
}
