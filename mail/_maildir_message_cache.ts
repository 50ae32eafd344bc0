/**
 * The in-memory cache of small messages of a Maildir store: the octets of
 * messages that were just delivered or read (as served, CRLF), so that the
 * FETCH of new mail that follows a delivery, and a FETCH repeated by a
 * client, read no file. Opening and reading a file costs several system
 * calls per message (about 8 µs each on the machine this was measured on),
 * which is most of the time of a 1,000-message FETCH of bodies.
 *
 * Maildir message files never change once delivered (a flag change renames
 * them, and the key here is the unique part of the name that a rename
 * keeps), so an entry is never stale; it is dropped when its message is
 * removed, and the least recently used entries go when the cache is over
 * its size.
 *
 * @module
 */

/** A least-recently-used cache of message octets, bounded in total size. */
export class MessageCache {
  readonly #limit: number;
  readonly #entries = new Map<string, Uint8Array>();
  #size = 0;

  /** A cache of at most `limit` octets in all (0: nothing is kept). */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The octets in the cache. */
  get size(): number {
    return this.#size;
  }

  /** The message under `key`, now the most recently used; or `undefined`. */
  get(key: string): Uint8Array | undefined {
    const bytes = this.#entries.get(key);
    if (bytes !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, bytes);
    }
    return bytes;
  }

  /** Keeps a message (not copied: it must not change), dropping the oldest ones as needed. */
  set(key: string, bytes: Uint8Array): void {
    if (bytes.length > this.#limit / 8) return;
    this.delete(key);
    this.#entries.set(key, bytes);
    this.#size += bytes.length;
    for (const [oldest, old] of this.#entries) {
      if (this.#size <= this.#limit) break;
      this.#entries.delete(oldest);
      this.#size -= old.length;
    }
  }

  /** Drops a message. */
  delete(key: string): void {
    const bytes = this.#entries.get(key);
    if (bytes === undefined) return;
    this.#entries.delete(key);
    this.#size -= bytes.length;
  }
}
