import type {
  MailboxLock,
  MailboxView,
  MailCopyResult,
  MailDeliverOptions,
  MailDeliverResult,
  MailFolderInfo,
  MailFolderStatus,
  MailMessageInfo,
  MailReadOptions,
  MailSetFlagsOptions,
  MailStore,
  MailStoreWatch,
  MailViewOptions,
  MailWatchOptions,
} from "./mail_store.ts";
import {
  type Box,
  type LoadedBox,
  type MailBackend,
  MailStoreEngine,
  type RawRec,
  type Rec,
  type ScanResult,
  type Staged,
} from "./_mail_store_engine.ts";
import { bytesStream } from "./_mail_store_crlf.ts";

/** Options for {@linkcode MemoryMailStore}. */
export interface MemoryMailStoreOptions {
  /**
   * The default most octets per delivered message (CRLF line ends); a
   * delivery can lower or raise it with `maxSize`.
   *
   * @default {67108864}
   */
  maxMessageSize?: number;
}

interface MemFolder {
  uidValidity: number;
  uidNext: number;
  firstRecent: number;
  records: RawRec[];
}

interface MemUser {
  folders: Map<string, MemFolder>;
  subscriptions: string[];
}

class MemoryBackend implements MailBackend {
  readonly #users = new Map<string, MemUser>();

  #user(user: string): MemUser {
    let entry = this.#users.get(user);
    if (entry === undefined) {
      entry = { folders: new Map(), subscriptions: [] };
      this.#users.set(user, entry);
    }
    return entry;
  }

  folderNames(user: string): Promise<string[]> {
    return Promise.resolve([...this.#user(user).folders.keys()].filter((n) => n !== "INBOX"));
  }

  folderExists(user: string, folder: string): Promise<boolean> {
    return Promise.resolve(folder === "INBOX" || this.#user(user).folders.has(folder));
  }

  createFolder(user: string, folder: string, uidValidity: number): Promise<void> {
    this.#user(user).folders.set(folder, { uidValidity, uidNext: 1, firstRecent: 1, records: [] });
    return Promise.resolve();
  }

  removeFolder(user: string, folder: string): Promise<void> {
    this.#user(user).folders.delete(folder);
    return Promise.resolve();
  }

  renameFolder(user: string, from: string, to: string): Promise<void> {
    const folders = this.#user(user).folders;
    const entry = folders.get(from);
    if (entry !== undefined) {
      folders.delete(from);
      folders.set(to, entry);
    }
    return Promise.resolve();
  }

  readSubscriptions(user: string): Promise<string[]> {
    return Promise.resolve([...this.#user(user).subscriptions]);
  }

  writeSubscriptions(user: string, names: readonly string[]): Promise<void> {
    this.#user(user).subscriptions = [...names];
    return Promise.resolve();
  }

  load(user: string, folder: string, newUidValidity: () => number): Promise<LoadedBox> {
    const folders = this.#user(user).folders;
    let entry = folders.get(folder);
    if (entry === undefined) {
      entry = { uidValidity: newUidValidity(), uidNext: 1, firstRecent: 1, records: [] };
      folders.set(folder, entry);
    }
    return Promise.resolve({
      uidValidity: entry.uidValidity,
      uidNext: entry.uidNext,
      firstRecent: entry.firstRecent,
      records: entry.records.map((r) => ({ ...r })),
      added: [],
      dirty: false,
    });
  }

  scan(): Promise<ScanResult> {
    return Promise.resolve({ added: [], removed: [], changed: [] });
  }

  save(box: Box): Promise<void> {
    const folders = this.#user(box.user).folders;
    folders.set(box.folder, {
      uidValidity: box.uidValidity,
      uidNext: box.uidNext,
      firstRecent: box.firstRecent,
      records: box.records.map((r) => ({
        uid: r.uid,
        flags: r.info.flags,
        internalDate: r.info.internalDate.getTime(),
        size: r.info.size,
        ref: r.ref,
      })),
    });
    return Promise.resolve();
  }

  async stage(
    _box: Box,
    chunks: AsyncIterable<Uint8Array>,
  ): Promise<Staged & { bytes: Uint8Array }> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of chunks) {
      parts.push(chunk.slice());
      size += chunk.length;
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const part of parts) {
      bytes.set(part, offset);
      offset += part.length;
    }
    return { bytes, discard: () => Promise.resolve() };
  }

  publish(_box: Box, staged: Staged): Promise<unknown> {
    return Promise.resolve((staged as Staged & { bytes: Uint8Array }).bytes);
  }

  unpublish(): Promise<void> {
    return Promise.resolve();
  }

  copyIn(_from: Box, rec: Rec): Promise<unknown> {
    return Promise.resolve(rec.ref);
  }

  moveIn(_from: Box, rec: Rec): Promise<unknown> {
    return Promise.resolve(rec.ref);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  remove(): Promise<void> {
    return Promise.resolve();
  }

  setFlags(_box: Box, rec: Rec): Promise<unknown> {
    return Promise.resolve(rec.ref);
  }

  claimRecent(): Promise<void> {
    return Promise.resolve();
  }

  open(_box: Box, rec: Rec, start: number, length: number): Promise<ReadableStream<Uint8Array>> {
    return Promise.resolve(bytesStream(rec.ref as Uint8Array, start, length));
  }

  readSmall(_box: Box, rec: Rec, start: number, length: number): Uint8Array {
    return (rec.ref as Uint8Array).subarray(start, start + length);
  }
}

/**
 * A {@linkcode MailStore} in memory, with the same semantics as
 * {@linkcode MaildirStore} minus durability: for tests of the SMTP, POP3 and
 * IMAP servers. Messages are kept as bytes with CRLF line ends; everything
 * is lost when the object is dropped.
 *
 * @example A POP3 maildrop: lock, read the unique ids, delete at QUIT
 * ```ts
 * import { MemoryMailStore } from "@inetkit/inetkit/mail";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using store = new MemoryMailStore();
 * const body = new TextEncoder().encode("Subject: one\r\n\r\nhello\r\n");
 * await store.deliver("mulder", "INBOX", body);
 * {
 *   await using lock = await store.lockMailbox("mulder", "INBOX");
 *   assertEquals(lock.messages.length, 1);
 *   assertEquals(lock.messages[0]!.size, body.length);
 *   await assertRejects(() => store.lockMailbox("mulder", "INBOX"));
 *   await store.expunge("mulder", "INBOX", [lock.messages[0]!.uid]);
 * }
 * assertEquals((await store.status("mulder", "INBOX")).messages, 0);
 * ```
 *
 * @example An IMAP session hears of a delivery
 * ```ts
 * import { MemoryMailStore } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * await using store = new MemoryMailStore();
 * await using view = await store.openView("mulder", "INBOX");
 * const changed = view.changed();
 * await store.deliver("mulder", "INBOX", new TextEncoder().encode("Subject: x\r\n\r\n"));
 * await changed;
 * assertEquals(view.sync().exists, 1);
 * assertEquals(view.uidAt(1), 1);
 * ```
 */
export class MemoryMailStore implements MailStore {
  readonly #engine: MailStoreEngine;

  /**
   * Creates an empty store.
   *
   * @param options The default message size limit.
   * @throws {RangeError} When `maxMessageSize` is not a non-negative integer.
   */
  constructor(options?: MemoryMailStoreOptions) {
    options ??= {};
    this.#engine = new MailStoreEngine(new MemoryBackend(), options);
  }

  /** The hierarchy delimiter, `"."`. */
  get delimiter(): string {
    return this.#engine.delimiter;
  }

  listFolders(user: string): Promise<MailFolderInfo[]> {
    return this.#engine.listFolders(user);
  }
  createFolder(user: string, folder: string): Promise<void> {
    return this.#engine.createFolder(user, folder);
  }
  deleteFolder(user: string, folder: string): Promise<void> {
    return this.#engine.deleteFolder(user, folder);
  }
  renameFolder(user: string, from: string, to: string): Promise<void> {
    return this.#engine.renameFolder(user, from, to);
  }
  listSubscriptions(user: string): Promise<string[]> {
    return this.#engine.listSubscriptions(user);
  }
  subscribe(user: string, folder: string): Promise<void> {
    return this.#engine.subscribe(user, folder);
  }
  unsubscribe(user: string, folder: string): Promise<void> {
    return this.#engine.unsubscribe(user, folder);
  }
  deliver(
    user: string,
    folder: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    options?: MailDeliverOptions,
  ): Promise<MailDeliverResult> {
    return this.#engine.deliver(user, folder, body, options);
  }
  status(user: string, folder: string): Promise<MailFolderStatus> {
    return this.#engine.status(user, folder);
  }
  listMessages(user: string, folder: string): Promise<MailMessageInfo[]> {
    return this.#engine.listMessages(user, folder);
  }
  readMessage(
    user: string,
    folder: string,
    uid: number,
    options?: MailReadOptions,
  ): Promise<ReadableStream<Uint8Array>> {
    return this.#engine.readMessage(user, folder, uid, options);
  }
  setFlags(
    user: string,
    folder: string,
    uids: readonly number[],
    flags: readonly string[],
    options?: MailSetFlagsOptions,
  ): Promise<MailMessageInfo[]> {
    return this.#engine.setFlags(user, folder, uids, flags, options);
  }
  expunge(user: string, folder: string, uids: readonly number[]): Promise<number[]> {
    return this.#engine.expunge(user, folder, uids);
  }
  copy(user: string, from: string, uids: readonly number[], to: string): Promise<MailCopyResult> {
    return this.#engine.copy(user, from, uids, to);
  }
  move(user: string, from: string, uids: readonly number[], to: string): Promise<MailCopyResult> {
    return this.#engine.move(user, from, uids, to);
  }
  rescan(user: string, folder: string): Promise<void> {
    return this.#engine.rescan(user, folder);
  }
  openView(user: string, folder: string, options?: MailViewOptions): Promise<MailboxView> {
    return this.#engine.openView(user, folder, options);
  }
  lockMailbox(user: string, folder: string): Promise<MailboxLock> {
    return this.#engine.lockMailbox(user, folder);
  }
  watch(user: string, folder: string, options?: MailWatchOptions): MailStoreWatch {
    return this.#engine.watch(user, folder, options);
  }
  close(): Promise<void> {
    return this.#engine.close();
  }
  /** Closes the store, as {@linkcode MailStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#engine.close();
  }
}
