/**
 * What the IMAP server writes: a batching output buffer (responses are
 * collected and written in blocks of about 64 KiB, literals from the store
 * are streamed through it with their exact announced size) and the
 * formatting of strings, flags, dates and mailbox names.
 *
 * Header text from stored messages travels as "binary strings": one
 * character per octet (U+0000 to U+00FF), so 8-bit header bytes reach the
 * client exactly as stored.
 *
 * @module
 */
import { encodeImapUtf7 } from "./imap_utf7.ts";
import type { MailboxView } from "./mail_store.ts";
import { MAIL_VIEW_READ_SMALL, type MailViewReadSmall } from "./_mail_store_engine.ts";

const BLOCK = 65536;
const encoder = new TextEncoder();

/** Where the output goes: the connection's writer. */
export type ImapWrite = (chunk: Uint8Array) => Promise<void>;

/**
 * Collects response bytes and writes them in large blocks: one `write` per
 * block rather than per response line, which matters for a FETCH of
 * thousands of messages.
 */
export class ImapOutput {
  #write: ImapWrite;
  #buf = new Uint8Array(BLOCK);
  #len = 0;
  #queued: Uint8Array[] = [];
  #queuedBytes = 0;
  /** Whether a write to the connection is in progress (an idle timeout must not interleave). */
  writing = false;

  constructor(write: ImapWrite) {
    this.#write = write;
  }

  /** Bytes collected and not written yet. */
  get pending(): number {
    return this.#queuedBytes + this.#len;
  }

  #room(n: number): void {
    if (this.#buf.length - this.#len >= n) return;
    this.#seal();
    if (n > BLOCK) this.#buf = new Uint8Array(n);
  }

  /** Moves the current block to the queue; buffers are never reused after a write. */
  #seal(): void {
    if (this.#len === 0) return;
    this.#queued.push(this.#buf.subarray(0, this.#len));
    this.#queuedBytes += this.#len;
    this.#buf = new Uint8Array(BLOCK);
    this.#len = 0;
  }

  /** Appends text as UTF-8. */
  text(s: string): void {
    if (s.length === 0) return;
    let ascii = s.length <= 256;
    if (ascii) {
      for (let i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
      }
    }
    if (ascii) {
      this.binary(s);
      return;
    }
    this.#room(s.length * 3);
    const { written } = encoder.encodeInto(s, this.#buf.subarray(this.#len));
    this.#len += written;
  }

  /** Appends a binary string (one octet per character, all below U+0100). */
  binary(s: string): void {
    const n = s.length;
    this.#room(n);
    const buf = this.#buf;
    let at = this.#len;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.#len = at;
  }

  /** Appends bytes (copied). */
  bytes(b: Uint8Array): void {
    if (b.length >= BLOCK / 2) {
      this.#seal();
      this.#queued.push(b);
      this.#queuedBytes += b.length;
      return;
    }
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** Writes everything collected. */
  async flush(): Promise<void> {
    this.#seal();
    if (this.#queued.length === 0) return;
    const chunks = this.#queued;
    this.#queued = [];
    this.#queuedBytes = 0;
    this.writing = true;
    try {
      if (chunks.length === 1) await this.#write(chunks[0]!);
      else {
        const total = chunks.reduce((n, c) => n + c.length, 0);
        if (total <= 4 * BLOCK) {
          const joined = new Uint8Array(total);
          let at = 0;
          for (const c of chunks) {
            joined.set(c, at);
            at += c.length;
          }
          await this.#write(joined);
        } else {
          for (const c of chunks) await this.#write(c);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** Writes when a block's worth is collected. */
  async maybeFlush(): Promise<void> {
    if (this.pending >= BLOCK) await this.flush();
  }

  /**
   * Appends exactly `size` bytes from a stream (a literal's content whose
   * size was announced): extra bytes are dropped and a short stream throws,
   * since the connection is out of step then.
   *
   * @throws {Error} When the stream ends before `size` bytes.
   */
  async stream(source: ReadableStream<Uint8Array>, size: number): Promise<void> {
    let left = size;
    let extra = 0;
    await readChunks(source, async (value) => {
      const chunk = value.length > left ? value.subarray(0, left) : value;
      left -= chunk.length;
      extra += value.length - chunk.length;
      if (chunk.length > 0) {
        this.bytes(chunk);
        await this.maybeFlush();
      }
      // The store's stream ends by itself after the range; stop only if it does not.
      return extra > 0;
    });
    if (left > 0) throw new Error(`Cannot send literal: the message ended ${left} bytes early`);
  }
}

/**
 * Reads a stream to its end, or until `fn` returns true; cancels it only
 * when stopping early. The reader's lock is never released: a release
 * rejects a promise with a new TypeError, a stack trace per message read.
 */
export async function readChunks(
  stream: ReadableStream<Uint8Array>,
  fn: (chunk: Uint8Array) => boolean | void | Promise<boolean | void>,
): Promise<void> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      if ((await fn(value)) === true) return;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
  }
}

/**
 * A small message range at once, from a built-in store's
 * {@linkcode MAIL_VIEW_READ_SMALL}, or `undefined` when the store cannot
 * (then the caller streams it with `view.read()`).
 *
 * @throws {MailStoreError} `"EXPUNGED"` when the message is gone.
 */
export function readSmall(
  view: MailboxView,
  uid: number,
  start: number,
  length: number,
): Uint8Array | undefined {
  return (view as MailboxView & MailViewReadSmall)[MAIL_VIEW_READ_SMALL]?.(uid, start, length);
}

/** Converts a binary string to its octets. */
export function binaryBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Converts octets to a binary string. */
export function bytesBinary(b: Uint8Array): string {
  // `apply` takes the typed array as the argument list; a spread would
  // iterate it, several times slower.
  const codes = (part: Uint8Array) => String.fromCharCode.apply(null, part as unknown as number[]);
  if (b.length <= 8192) return codes(b);
  let out = "";
  for (let i = 0; i < b.length; i += 8192) out += codes(b.subarray(i, i + 8192));
  return out;
}

/** Converts a binary string holding UTF-8 to text (U+FFFD for bad bytes). */
export function binaryText(s: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s;
  return new TextDecoder().decode(binaryBytes(s));
}

/** Converts text to a binary string of its UTF-8 octets. */
export function textBinary(s: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s;
  return bytesBinary(encoder.encode(s));
}

// deno-lint-ignore no-control-regex
const QUOTABLE_REGEXP = /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/;
const ATOM_REGEXP = /^[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|}~]+$/;

/**
 * Formats a binary string as an IMAP `string`: quoted when it is short
 * 7-bit text without CR, LF or NUL, else a literal (whose octets are the
 * binary string itself).
 */
export function imapString(s: string): string {
  if (s.length <= 1024 && QUOTABLE_REGEXP.test(s)) {
    return `"${s.replace(/["\\]/g, "\\$&")}"`;
  }
  return `{${s.length}}\r\n${s}`;
}

/** An `nstring`: `NIL` for null, else {@linkcode imapString}. */
export function imapNString(s: string | null): string {
  return s === null ? "NIL" : imapString(s);
}

/**
 * A mailbox name for a response: modified UTF-7 (RFC 3501 §5.1.3), or
 * UTF-8 after `ENABLE UTF8=ACCEPT` (RFC 6855); an atom when it is one,
 * else a quoted string. The result is text (UTF-8), not a binary string.
 */
export function imapMailboxName(name: string, utf8: boolean): string {
  const wire = utf8 ? name : encodeImapUtf7(name);
  if (ATOM_REGEXP.test(wire) && wire.toUpperCase() !== "NIL") return wire;
  return `"${wire.replace(/["\\]/g, "\\$&")}"`;
}

/** A flag list, with `\Recent` when the message is recent in this session. */
export function imapFlagList(flags: readonly string[], recent: boolean): string {
  if (!recent) return `(${flags.join(" ")})`;
  return flags.length === 0 ? "(\\Recent)" : `(${flags.join(" ")} \\Recent)`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An `INTERNALDATE` value: `"17-Jul-1996 09:44:25 +0000"` (UTC). */
export function imapInternalDate(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `"${two(date.getUTCDate())}-${MONTHS[date.getUTCMonth()]}-${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000"`;
}

/** The month number (0-11) of an IMAP month name, or -1. */
export function imapMonth(name: string): number {
  const lower = name.toLowerCase();
  return MONTHS.findIndex((m) => m.toLowerCase() === lower);
}

// deno-lint-ignore no-control-regex
const CONTROL_REGEXP = /[\x00-\x1f\x7f]/g;

/** Replaces control characters for a log line. */
export function logSafe(text: string): string {
  return text.replace(CONTROL_REGEXP, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
