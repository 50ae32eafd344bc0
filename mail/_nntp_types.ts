/**
 * The NNTP listing and overview types, defined apart so the private
 * listing and overview code can use them without importing `nntp_client.ts`
 * (which imports it); `nntp_client.ts` re-exports them.
 *
 * @module
 */
import type { NumericReply } from "../net/reply.ts";

/** One field of the overview format (`LIST OVERVIEW.FMT`, RFC 3977 §8.4). */
export interface NntpOverviewField {
  /** The header name (`Subject`, `Xref`) or metadata item (`:bytes`). */
  name: string;
  /** Whether it is a metadata item (`:bytes`, `:lines`). */
  metadata: boolean;
  /** Whether the field's content carries the header name (`Xref:full`). */
  full: boolean;
}

/** One article's overview (RFC 3977 §8.3), parsed with the server's `OVERVIEW.FMT`. */
export interface NntpOverview {
  /** The article number (0 when asked for by message-id). */
  number: number;
  /** The `Subject` header, as sent (encoded words not decoded). */
  subject: string;
  /** The `From` header, as sent. */
  from: string;
  /** The `Date` header, as sent. */
  date: string;
  /** The `Message-ID`. */
  messageId: string;
  /** The `References` header (message-ids separated by spaces), or `""`. */
  references: string;
  /** The `:bytes` item, or `null` when the server left it empty. */
  bytes: number | null;
  /** The `:lines` item, or `null` when the server left it empty. */
  lines: number | null;
  /**
   * The fields after the standard seven, by lower-case name (`"xref"`),
   * with the header name removed from `:full` fields.
   */
  extra: Map<string, string>;
}

/**
 * The items of a multi-line response, streamed: iterate with
 * `for await`. The connection stays busy until the last item was read, or
 * the iteration stopped early (`break`, `cancel()`, `await using`): then
 * the rest is drained up to the client's `drainLimit`, or the connection
 * closed.
 */
export interface NntpItems<T> extends AsyncDisposable {
  /** The status line that started the response. */
  readonly reply: NumericReply;
  /** Whether every item was read, or the items were cancelled. */
  readonly done: boolean;
  /** The next item. */
  next(): Promise<IteratorResult<T, undefined>>;
  /** Stops early (what `break` in `for await` calls). */
  return(): Promise<IteratorResult<T, undefined>>;
  /** The iterator itself. */
  [Symbol.asyncIterator](): NntpItems<T>;
  /** Reads every remaining item into an array. */
  toArray(): Promise<T[]>;
  /** Stops early: drains the rest or closes the connection. */
  cancel(): Promise<void>;
}
