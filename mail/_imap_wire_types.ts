/**
 * The IMAP token, response and response-code types, defined apart so the
 * tokenizer and decoders can use them without importing the public reader
 * and decoder modules (which import them); those modules re-export them.
 *
 * @module
 */

/** A bare word: `UID`, `\Seen`, `$Forwarded`, `1:3,5`, `IMAP4rev1`. */
export interface ImapAtomToken {
  /** The kind of token. */
  type: "atom";
  /** The text as sent. */
  value: string;
}

/**
 * A run of digits. Values up to 2^53-1 are `number`s; larger ones up to
 * 2^63-1 (RFC 7162 mod-sequences, RFC 9051 `number64`) are `bigint`s; longer
 * runs of digits are atoms.
 */
export interface ImapNumberToken {
  /** The kind of token. */
  type: "number";
  /** The value: a `number` when it is a safe integer, else a `bigint`. */
  value: number | bigint;
  /** The digits as sent (leading zeros kept, for names such as `007`). */
  text: string;
}

/** A quoted string, unescaped and decoded as UTF-8. */
export interface ImapStringToken {
  /** The kind of token. */
  type: "string";
  /** The text between the quotes. */
  value: string;
}

/** A literal (`{n}` or, with `binary`, literal8 `~{n}`) held in memory. */
export interface ImapLiteralToken {
  /** The kind of token. */
  type: "literal";
  /** The bytes. */
  value: Uint8Array;
  /** Whether it was a literal8 (`~{n}`, RFC 3516), which may hold NUL. */
  binary: boolean;
}

/**
 * A FETCH body-section literal that went to a stream or was skipped, as
 * {@linkcode ImapResponseReaderOptions.onBodyLiteral} chose.
 */
export interface ImapStreamedToken {
  /** The kind of token. */
  type: "streamed";
  /** The literal's size in bytes. */
  size: number;
  /** Whether it was a literal8. */
  binary: boolean;
  /** Whether the bytes were skipped rather than written to a stream. */
  skipped: boolean;
  /**
   * The stream's error when it failed or was cancelled part-way (the rest of
   * the literal was then drained); `undefined` when all bytes were delivered.
   */
  error: unknown;
}

/** `NIL`. */
export interface ImapNilToken {
  /** The kind of token. */
  type: "nil";
}

/** A parenthesised list. */
export interface ImapListToken {
  /** The kind of token. */
  type: "list";
  /** The items in order. */
  items: ImapToken[];
}

/**
 * A body-section name as FETCH uses it: `BODY[1.2.HEADER]<0>`,
 * `BINARY[2]`, `BODY.PEEK[HEADER.FIELDS (From)]<0.100>` (commands).
 */
export interface ImapSectionToken {
  /** The kind of token. */
  type: "section";
  /** The item name before `[`, upper-cased: `BODY`, `BINARY`, `BINARY.SIZE`, `BODY.PEEK`, ... */
  name: string;
  /**
   * The section, canonical: upper-cased, one space before the header list,
   * the field names upper-cased: `""`, `TEXT`, `1.2.MIME`,
   * `HEADER.FIELDS (DATE FROM)`.
   */
  section: string;
  /** The header-field names as sent, or null without a header list. */
  fields: string[] | null;
  /** The `<origin>` of a partial, or null. */
  origin: number | null;
  /** The length in `<offset.length>` (commands only), or null. */
  length: number | null;
}

/** One token of a response's data. */
export type ImapToken =
  | ImapAtomToken
  | ImapNumberToken
  | ImapStringToken
  | ImapLiteralToken
  | ImapStreamedToken
  | ImapNilToken
  | ImapListToken
  | ImapSectionToken;

/** A continuation request: `+ text` or `+ base64` (RFC 3501 §7.5). */
export interface ImapContinuationResponse {
  /** The kind of response. */
  type: "continuation";
  /** A response code in `[...]`, rarely sent here. */
  code: ImapResponseCode | null;
  /** The text or base64 challenge after `+ `, possibly empty. */
  text: string;
}

/**
 * Untagged data: `* 3 EXISTS`, `* 1 FETCH (...)`, `* LIST (...) "/" INBOX`,
 * `* CAPABILITY ...`.
 */
export interface ImapDataResponse {
  /** The kind of response. */
  type: "data";
  /** The number before the name (`* 3 EXISTS`), or null. */
  number: number | null;
  /** The response name, upper-cased: `EXISTS`, `FETCH`, `LIST`, `SEARCH`, ... */
  name: string;
  /** The tokens after the name; FETCH has one list of item names and values. */
  args: ImapToken[];
}

/** One server response. */
export type ImapResponse = ImapContinuationResponse | ImapStatusResponse | ImapDataResponse;

/** An inclusive range of UIDs or sequence numbers, the lower first: `[3, 7]` is `3:7`. */
export type ImapRange = [start: number, end: number];

/** The value of an `APPENDUID` response code (RFC 4315 §3). */
export interface ImapAppendUid {
  /** The UIDVALIDITY of the destination mailbox. */
  uidValidity: number;
  /** The UIDs the appended messages got (one range unless MULTIAPPEND). */
  uids: ImapRange[];
}

/** The value of a `COPYUID` response code (RFC 4315 §3). */
export interface ImapCopyUid {
  /** The UIDVALIDITY of the destination mailbox. */
  uidValidity: number;
  /** The source UIDs, in the order that matches `destinationUids`. */
  sourceUids: ImapRange[];
  /** The UIDs of the copies in the destination mailbox. */
  destinationUids: ImapRange[];
}

/**
 * The response codes that come with a typed value, by name. Other codes
 * (`ALERT`, `READ-WRITE`, `READ-ONLY`, `TRYCREATE`, `PARSE`, `CLOSED`,
 * `UIDNOTSTICKY`, `NOMODSEQ`, the RFC 5530 codes such as `TOOBIG`,
 * `OVERQUOTA`, `CLIENTBUG`, ...) have their argument text or null.
 */
export interface ImapResponseCodeValues {
  /** `[UIDVALIDITY n]`. */
  UIDVALIDITY: number;
  /** `[UIDNEXT n]`. */
  UIDNEXT: number;
  /** `[UNSEEN n]`: the sequence number of the first unseen message. */
  UNSEEN: number;
  /** `[HIGHESTMODSEQ n]` (RFC 7162). */
  HIGHESTMODSEQ: bigint;
  /** `[CAPABILITY ...]`, names upper-cased. */
  CAPABILITY: string[];
  /** `[PERMANENTFLAGS (...)]`, including `\*` when new keywords may be made. */
  PERMANENTFLAGS: string[];
  /** `[BADCHARSET (...)]`: the charsets the server supports, possibly none. */
  BADCHARSET: string[];
  /** `[APPENDUID v uids]` (RFC 4315). */
  APPENDUID: ImapAppendUid;
  /** `[COPYUID v from to]` (RFC 4315). */
  COPYUID: ImapCopyUid;
  /** `[MODIFIED set]` (RFC 7162): messages a conditional STORE did not change. */
  MODIFIED: ImapRange[];
}

/** A response code with a typed value. */
export type ImapKnownResponseCode = {
  [K in keyof ImapResponseCodeValues]: { name: K; value: ImapResponseCodeValues[K] };
}[keyof ImapResponseCodeValues];

/** Any other response code: its name and its argument text, or null without one. */
export interface ImapOtherResponseCode {
  /** The name, upper-cased. */
  name: string;
  /** The text after the name, or null. */
  value: string | null;
}

/** A response code: `[UIDVALIDITY 3857529045]`, `[ALERT]`, `[APPENDUID 38505 3955]`. */
export type ImapResponseCode = ImapKnownResponseCode | ImapOtherResponseCode;

/** A status response: tagged `a1 OK ...`, or untagged `* OK`, `* BYE`, `* PREAUTH`. */
export interface ImapStatusResponse {
  /** The kind of response. */
  type: "status";
  /** The command's tag, or null for an untagged response. */
  tag: string | null;
  /** The status word, upper-cased. */
  status: "OK" | "NO" | "BAD" | "BYE" | "PREAUTH";
  /** The response code, or null. */
  code: ImapResponseCode | null;
  /** The human-readable text, possibly empty. */
  text: string;
}
