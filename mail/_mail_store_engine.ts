/**
 * The semantics both mail stores share: UID assignment, per-mailbox
 * serialization, session views, POP3 locks, change notifications, folder
 * rules. A {@linkcode MailBackend} keeps the bytes and the index; the
 * memory and Maildir stores differ only there.
 *
 * @module
 */
import type {
  MailboxLock,
  MailboxView,
  MailboxViewMoveResult,
  MailboxViewUpdate,
  MailCopyResult,
  MailDeliverOptions,
  MailDeliverResult,
  MailFolderInfo,
  MailFolderStatus,
  MailMessageInfo,
  MailReadOptions,
  MailSetFlagsOptions,
  MailStore,
  MailStoreEvent,
  MailStoreWatch,
  MailViewOptions,
  MailWatchOptions,
} from "./mail_store.ts";
import { MailStoreError } from "./mail_store_error.ts";
import {
  checkFlags,
  checkFolder,
  checkUids,
  checkUser,
  combineFlags,
  orderFlags,
  parentsOf,
  quoteName,
  sameFlags,
  uniqueIdOf,
} from "./_mail_store_names.ts";
import { clampRange, CrlfNormalizer, STREAM_CHUNK_SIZE } from "./_mail_store_crlf.ts";

/** The largest UID and UID validity (RFC 3501: nz-number, 32 bits). */
export const MAX_UID = 0xffffffff;

/** A message as the engine keeps it. `ref` belongs to the backend. */
export interface Rec {
  uid: number;
  info: MailMessageInfo;
  ref: unknown;
}

/** A message the backend found or loaded: everything but the info object. */
export interface RawRec {
  uid: number;
  flags: readonly string[];
  internalDate: number;
  size: number;
  ref: unknown;
}

/** A message the backend found that has no UID yet. */
export interface FoundRec {
  flags: readonly string[];
  internalDate: number;
  size: number;
  ref: unknown;
}

/** What a backend's load returns. */
export interface LoadedBox {
  uidValidity: number;
  uidNext: number;
  firstRecent: number;
  records: RawRec[];
  /** Messages without UIDs yet, in the order they should get them. */
  added: FoundRec[];
  /** Whether the index must be written even when nothing was added. */
  dirty: boolean;
  /** The backend's own state of the index, kept on the box as {@linkcode Box.index}. */
  index?: unknown;
}

/**
 * What changed in a box since the index was last saved, so that a backend
 * can append to its index instead of rewriting it. A save without one
 * (after loading) writes the whole index.
 */
export interface BoxChange {
  /** Records that were added, ascending by UID. */
  added?: readonly Rec[];
  /** UIDs that were removed. */
  removed?: readonly number[];
  /** Records whose flags (or file) changed. */
  changed?: readonly Rec[];
}

/** What a backend's rescan found, relative to the box's records. */
export interface ScanResult {
  added: FoundRec[];
  removed: number[];
  changed: { uid: number; flags: readonly string[]; ref: unknown }[];
}

/** A message written but not yet visible. */
export interface Staged {
  /** Removes what was written; safe to call after publish (then it does nothing). */
  discard(): Promise<void>;
}

/** The state of one loaded mailbox. */
export interface Box {
  readonly user: string;
  readonly folder: string;
  readonly key: string;
  uidValidity: number;
  uidNext: number;
  firstRecent: number;
  records: Rec[];
  byUid: Map<number, Rec>;
  readonly mutex: Mutex;
  readonly views: Set<ViewImpl>;
  locked: boolean;
  dirty: boolean;
  gone: boolean;
  /** The backend's state of the index (from {@linkcode LoadedBox.index}). */
  index: unknown;
}

/** Storage of one store kind. Methods on a box run inside its mutex unless said otherwise. */
export interface MailBackend {
  /** The existing folders of a user other than `INBOX`. */
  folderNames(user: string): Promise<string[]>;
  /** Whether a folder exists; `INBOX` always does (it may be created here). */
  folderExists(user: string, folder: string): Promise<boolean>;
  /** Creates a folder that does not exist. */
  createFolder(user: string, folder: string, uidValidity: number): Promise<void>;
  /** Removes a folder and its messages, not its children. */
  removeFolder(user: string, folder: string): Promise<void>;
  /** Renames one folder (not its children) to a name that does not exist. */
  renameFolder(user: string, from: string, to: string): Promise<void>;
  readSubscriptions(user: string): Promise<string[]>;
  writeSubscriptions(user: string, names: readonly string[]): Promise<void>;
  /** Loads a mailbox's index and reconciles it with what is stored (outside the mutex). */
  load(
    user: string,
    folder: string,
    newUidValidity: (above?: number) => number,
  ): Promise<LoadedBox>;
  /** Finds changes made by others. */
  scan(box: Box): Promise<ScanResult>;
  /**
   * Makes the index (UID validity, next UID, first recent UID, per-message
   * data) match the box, durably: with `change`, only what changed since
   * the last save; without, all of it. A backend may leave out the fsync
   * of what it can rebuild after a crash from what is durable already
   * (the Maildir backend: UIDs that delivered files carry in their names).
   */
  save(box: Box, change?: BoxChange): Promise<void>;
  /** Writes a message durably where nobody sees it yet (outside the mutex). */
  stage(box: Box, chunks: AsyncIterable<Uint8Array>, internalDate: number): Promise<Staged>;
  /** Makes a staged message visible, durably, as message `uid`; returns its ref. */
  publish(box: Box, staged: Staged, flags: readonly string[], uid: number): Promise<unknown>;
  /** Undoes a publish whose index write failed. */
  unpublish(box: Box, ref: unknown): Promise<void>;
  /** Adds a copy of `rec` (from `from`) to `to`; returns its ref. Durable after `flush(to)`. */
  copyIn(from: Box, rec: Rec, to: Box): Promise<unknown>;
  /** Moves `rec` from `from` to `to` cheaply, or returns `undefined` when it cannot. */
  moveIn(from: Box, rec: Rec, to: Box): Promise<unknown | undefined>;
  /** Makes earlier copyIn/moveIn/flag changes durable. */
  flush(box: Box): Promise<void>;
  /** Removes messages for good. */
  remove(box: Box, recs: readonly Rec[]): Promise<void>;
  /** Stores new flags for one message; returns the new ref. Durable after `flush`. */
  setFlags(box: Box, rec: Rec, flags: readonly string[]): Promise<unknown>;
  /** Marks the box's messages as seen by a session (a Maildir moves `new/` to `cur/`). */
  claimRecent(box: Box): Promise<void>;
  /** Streams the CRLF view of a message's octets `[start, start + length)` (outside the mutex). */
  open(box: Box, rec: Rec, start: number, length: number): Promise<ReadableStream<Uint8Array>>;
  /**
   * The CRLF view of a message's octets `[start, start + length)` at once,
   * without waiting, when that is cheap (a small message in memory or in
   * the page cache); `undefined` when the caller should use `open`.
   */
  readSmall?(box: Box, rec: Rec, start: number, length: number): Uint8Array | undefined;
  /**
   * The CRLF view of a message's header (its octets up to and including
   * the first empty line) at once, when the backend has it cached or can
   * read it without waiting; `undefined` otherwise (no empty line in the
   * first 64 KiB, or it would mean waiting).
   */
  readHeader?(box: Box, rec: Rec): Uint8Array | undefined;
}

/**
 * The key of a {@linkcode MailboxView} method of the built-in stores that
 * reads a message range synchronously: `view[MAIL_VIEW_READ_SMALL](uid,
 * start, length)` returns the octets (the range clamped as `read()` does),
 * or `undefined` when that would mean waiting (a Maildir file over 64 KiB,
 * or one stored with LF line ends: then `read()` streams it). Servers that
 * write many small messages (an IMAP FETCH of a thousand bodies) save a
 * stream and a file op hand-over per message with it; other `MailStore`
 * implementations need not have it.
 *
 * @throws {MailStoreError} `"EXPUNGED"` when the message is gone.
 * @throws {RangeError} For a negative or fractional `start` or `length`.
 */
export const MAIL_VIEW_READ_SMALL: unique symbol = Symbol("inetkit.MailboxView.readSmall");

/** A view that may have {@linkcode MAIL_VIEW_READ_SMALL}. */
export interface MailViewReadSmall {
  [MAIL_VIEW_READ_SMALL]?: (uid: number, start: number, length: number) => Uint8Array | undefined;
}

/**
 * The key of a {@linkcode MailboxView} method of the built-in Maildir
 * store that gives a message's header at once:
 * `view[MAIL_VIEW_READ_HEADER](uid)` returns the octets from the start of
 * the message (as `read()` gives them) up to and including its first
 * empty line (`CRLF` or `LF` at the start of a line), found within the
 * first 64 KiB; or `undefined` when the store does not have it at hand
 * (then `read()` gives it). Other `MailStore` implementations need not
 * have it.
 *
 * @throws {MailStoreError} `"EXPUNGED"` when the message is gone.
 */
export const MAIL_VIEW_READ_HEADER: unique symbol = Symbol("inetkit.MailboxView.readHeader");

/** A view that may have {@linkcode MAIL_VIEW_READ_HEADER}. */
export interface MailViewReadHeader {
  [MAIL_VIEW_READ_HEADER]?: (uid: number) => Uint8Array | undefined;
}

/** A promise-chain mutex. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `fn` after everything queued before it. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(() => {}, () => {});
    return result;
  }
}

/** The default `maxMessageSize`: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/** Options the engine takes from a store. */
export interface EngineOptions {
  maxMessageSize?: number;
}

/** The shared implementation of {@linkcode MailStore}. */
export class MailStoreEngine implements MailStore {
  readonly delimiter = ".";
  readonly #backend: MailBackend;
  readonly #maxMessageSize: number;
  readonly #boxes = new Map<string, Promise<Box>>();
  readonly #watchers = new Map<string, Set<WatchImpl>>();
  readonly #userMutexes = new Map<string, Mutex>();
  readonly #locks = new Set<LockImpl>();
  #lastUidValidity = 0;
  #closed = false;

  constructor(backend: MailBackend, options: EngineOptions = {}) {
    this.#backend = backend;
    const max = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    checkSizeLimit(max, "maxMessageSize");
    this.#maxMessageSize = max;
  }

  // ---- helpers ----

  #checkOpen(): void {
    if (this.#closed) throw new MailStoreError("CLOSED", "Cannot use mail store: it is closed");
  }

  #userMutex(user: string): Mutex {
    let mutex = this.#userMutexes.get(user);
    if (mutex === undefined) {
      mutex = new Mutex();
      this.#userMutexes.set(user, mutex);
    }
    return mutex;
  }

  /**
   * A UID validity that grows even when folders are created within one
   * second, and exceeds `above` (a value that must not come back).
   */
  newUidValidity(above = 0): number {
    const now = Math.floor(Date.now() / 1000);
    const next = Math.max(now, this.#lastUidValidity + 1, above + 1);
    this.#lastUidValidity = next > MAX_UID ? 1 : next;
    return this.#lastUidValidity;
  }

  async #box(user: string, folder: string): Promise<Box> {
    this.#checkOpen();
    const key = boxKey(user, folder);
    const cached = this.#boxes.get(key);
    if (cached !== undefined) {
      const box = await cached;
      if (!box.gone) return box;
    }
    const loading = this.#loadBox(user, folder, key);
    this.#boxes.set(key, loading);
    loading.catch(() => {
      if (this.#boxes.get(key) === loading) this.#boxes.delete(key);
    });
    return await loading;
  }

  async #loadBox(user: string, folder: string, key: string): Promise<Box> {
    if (!await this.#backend.folderExists(user, folder)) throw noFolder(user, folder);
    const loaded = await this.#backend.load(user, folder, (above) => this.newUidValidity(above));
    const box: Box = {
      user,
      folder,
      key,
      uidValidity: loaded.uidValidity,
      uidNext: loaded.uidNext,
      firstRecent: loaded.firstRecent,
      records: [],
      byUid: new Map(),
      mutex: new Mutex(),
      views: new Set(),
      locked: false,
      dirty: loaded.dirty,
      gone: false,
      index: loaded.index,
    };
    this.#lastUidValidity = Math.max(this.#lastUidValidity, box.uidValidity);
    for (const raw of loaded.records) {
      const rec = { uid: raw.uid, ref: raw.ref, info: makeInfo(box, raw.uid, raw) };
      box.records.push(rec);
      box.byUid.set(rec.uid, rec);
    }
    await box.mutex.run(async () => {
      this.#assign(box, loaded.added);
      if (box.dirty || loaded.added.length > 0) await this.#save(box);
    });
    return box;
  }

  /** Gives UIDs to found messages and adds them to the box; returns the new records. */
  #assign(box: Box, found: readonly FoundRec[]): Rec[] {
    const added: Rec[] = [];
    for (const f of found) {
      if (box.uidNext > MAX_UID) {
        throw new MailStoreError(
          "LIMIT",
          `Cannot add message to ${quoteName(box.folder)}: UIDs are exhausted`,
        );
      }
      const uid = box.uidNext++;
      const rec: Rec = { uid, ref: f.ref, info: makeInfo(box, uid, f) };
      box.records.push(rec);
      box.byUid.set(uid, rec);
      added.push(rec);
    }
    return added;
  }

  async #save(box: Box, change?: BoxChange): Promise<void> {
    await this.#backend.save(box, change);
    box.dirty = false;
  }

  #dropRecords(box: Box, uids: ReadonlySet<number>): void {
    box.records = box.records.filter((r) => !uids.has(r.uid));
    for (const uid of uids) box.byUid.delete(uid);
  }

  #emitExists(box: Box, recs: readonly Rec[]): void {
    if (recs.length === 0) return;
    const infos = recs.map((r) => r.info);
    // The first read-write view to hear of recent messages claims them (RFC 3501 §2.3.2).
    let claimer: ViewImpl | undefined;
    const recentFrom = box.firstRecent;
    for (const view of box.views) {
      if (!view.readOnly) {
        claimer = view;
        break;
      }
    }
    if (claimer !== undefined && box.uidNext > box.firstRecent) {
      box.firstRecent = box.uidNext;
      box.dirty = true;
    }
    for (const view of box.views) {
      view.notifyExists(infos, view === claimer ? recentFrom : Infinity);
    }
    this.#emitWatch(box.key, {
      type: "exists",
      user: box.user,
      folder: box.folder,
      uids: Object.freeze(infos.map((i) => i.uid)),
    });
  }

  #emitExpunge(box: Box, uids: readonly number[], origin?: ViewImpl): void {
    if (uids.length === 0) return;
    for (const view of box.views) view.notifyExpunge(uids, origin);
    this.#emitWatch(box.key, {
      type: "expunge",
      user: box.user,
      folder: box.folder,
      uids: Object.freeze([...uids]),
    });
  }

  #emitFlags(box: Box, infos: readonly MailMessageInfo[], origin?: ViewImpl): void {
    if (infos.length === 0) return;
    for (const view of box.views) view.notifyFlags(infos, origin);
    this.#emitWatch(box.key, {
      type: "flags",
      user: box.user,
      folder: box.folder,
      messages: Object.freeze([...infos]),
    });
  }

  #emitWatch(key: string, event: MailStoreEvent): void {
    for (const watch of this.#watchers.get(key) ?? []) watch.push(event);
  }

  /** Marks a loaded box as gone: views close, watchers hear `"deleted"`. */
  async #retire(user: string, folder: string): Promise<void> {
    const key = boxKey(user, folder);
    const cached = this.#boxes.get(key);
    this.#boxes.delete(key);
    if (cached !== undefined) {
      const box = await cached.catch(() => undefined);
      if (box !== undefined) {
        box.gone = true;
        for (const view of [...box.views]) view.notifyDeleted();
        for (const lock of this.#locks) if (lock.box === box) lock.release();
      }
    }
    this.#emitWatch(key, { type: "deleted", user, folder });
  }

  // ---- folders ----

  async listFolders(user: string): Promise<MailFolderInfo[]> {
    this.#checkOpen();
    checkUser(user);
    const existing = new Set(await this.#backend.folderNames(user));
    existing.add("INBOX");
    const subscribed = new Set(await this.#backend.readSubscriptions(user));
    const all = new Set(existing);
    for (const name of existing) for (const parent of parentsOf(name)) all.add(parent);
    const names = [...all].sort((a, b) =>
      a === "INBOX" ? -1 : b === "INBOX" ? 1 : a < b ? -1 : a > b ? 1 : 0
    );
    const parents = new Set<string>();
    for (const name of all) for (const parent of parentsOf(name)) parents.add(parent);
    return names.map((name) =>
      Object.freeze({
        name,
        selectable: existing.has(name),
        hasChildren: parents.has(name),
        subscribed: subscribed.has(name),
      })
    );
  }

  async createFolder(user: string, folder: string): Promise<void> {
    this.#checkOpen();
    checkUser(user);
    const name = checkFolder(folder);
    return await this.#userMutex(user).run(() => this.#createLocked(user, name, true));
  }

  async #createLocked(user: string, folder: string, mustBeNew: boolean): Promise<void> {
    const exists = folder === "INBOX" || await this.#backend.folderExists(user, folder);
    if (exists) {
      if (mustBeNew) {
        throw new MailStoreError(
          "ALREADY_EXISTS",
          `Cannot create folder ${quoteName(folder)} of ${quoteName(user)}: it exists`,
        );
      }
      return;
    }
    for (const parent of parentsOf(folder)) {
      if (parent !== "INBOX" && !await this.#backend.folderExists(user, parent)) {
        await this.#backend.createFolder(user, parent, this.newUidValidity());
      }
    }
    await this.#backend.createFolder(user, folder, this.newUidValidity());
  }

  async deleteFolder(user: string, folder: string): Promise<void> {
    this.#checkOpen();
    checkUser(user);
    const name = checkFolder(folder);
    return await this.#userMutex(user).run(async () => {
      if (name === "INBOX") {
        throw new MailStoreError(
          "CANNOT",
          `Cannot delete folder INBOX of ${quoteName(user)}: INBOX always exists`,
        );
      }
      if (!await this.#backend.folderExists(user, name)) throw noFolder(user, name);
      const cached = this.#boxes.get(boxKey(user, name));
      const box = cached === undefined ? undefined : await cached.catch(() => undefined);
      if (box === undefined) {
        await this.#backend.removeFolder(user, name);
      } else {
        await box.mutex.run(async () => {
          await this.#backend.removeFolder(user, name);
          box.gone = true;
        });
      }
      await this.#retire(user, name);
    });
  }

  async renameFolder(user: string, from: string, to: string): Promise<void> {
    this.#checkOpen();
    checkUser(user);
    const source = checkFolder(from);
    const target = checkFolder(to);
    return await this.#userMutex(user).run(async () => {
      if (target === "INBOX" || await this.#backend.folderExists(user, target)) {
        throw new MailStoreError(
          "ALREADY_EXISTS",
          `Cannot rename folder ${quoteName(source)} to ${quoteName(target)}: the target exists`,
        );
      }
      if (source === "INBOX") {
        // RFC 3501 §6.3.5: the messages move to the new folder, INBOX stays.
        await this.#createLocked(user, target, true);
        const inbox = await this.#box(user, "INBOX");
        const uids = await inbox.mutex.run(() => inbox.records.map((r) => r.uid));
        await this.#copyOrMove(user, "INBOX", uids, target, true);
        return;
      }
      if (!await this.#backend.folderExists(user, source)) throw noFolder(user, source);
      if (target.startsWith(source + ".")) {
        throw new MailStoreError(
          "CANNOT",
          `Cannot rename folder ${quoteName(source)} to ${
            quoteName(target)
          }: the target is inside it`,
        );
      }
      const names = await this.#backend.folderNames(user);
      const moving = names.filter((n) => n === source || n.startsWith(source + "."));
      const pairs = moving.map((n) => [n, target + n.slice(source.length)] as const);
      for (const [, renamed] of pairs) {
        if (names.includes(renamed)) {
          throw new MailStoreError(
            "ALREADY_EXISTS",
            `Cannot rename folder ${quoteName(source)} to ${quoteName(target)}: ${
              quoteName(renamed)
            } exists`,
          );
        }
      }
      for (const parent of parentsOf(target)) {
        if (parent !== "INBOX" && !names.includes(parent) && !moving.includes(parent)) {
          await this.#backend.createFolder(user, parent, this.newUidValidity());
        }
      }
      for (const [old, renamed] of pairs) {
        const cached = this.#boxes.get(boxKey(user, old));
        const box = cached === undefined ? undefined : await cached.catch(() => undefined);
        if (box === undefined) await this.#backend.renameFolder(user, old, renamed);
        else {
          await box.mutex.run(async () => {
            await this.#backend.renameFolder(user, old, renamed);
            box.gone = true;
          });
        }
        await this.#retire(user, old);
      }
      const subscriptions = await this.#backend.readSubscriptions(user);
      const renamedSubs = subscriptions.map((n) =>
        n === source || n.startsWith(source + ".") ? target + n.slice(source.length) : n
      );
      if (renamedSubs.some((n, i) => n !== subscriptions[i])) {
        await this.#backend.writeSubscriptions(user, [...new Set(renamedSubs)].sort());
      }
    });
  }

  async listSubscriptions(user: string): Promise<string[]> {
    this.#checkOpen();
    checkUser(user);
    return [...await this.#backend.readSubscriptions(user)].sort();
  }

  async subscribe(user: string, folder: string): Promise<void> {
    this.#checkOpen();
    checkUser(user);
    const name = checkFolder(folder);
    return await this.#userMutex(user).run(async () => {
      const names = await this.#backend.readSubscriptions(user);
      if (!names.includes(name)) {
        await this.#backend.writeSubscriptions(user, [...names, name].sort());
      }
    });
  }

  async unsubscribe(user: string, folder: string): Promise<void> {
    this.#checkOpen();
    checkUser(user);
    const name = checkFolder(folder);
    return await this.#userMutex(user).run(async () => {
      const names = await this.#backend.readSubscriptions(user);
      if (names.includes(name)) {
        await this.#backend.writeSubscriptions(user, names.filter((n) => n !== name));
      }
    });
  }

  // ---- messages ----

  async deliver(
    user: string,
    folder: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    options: MailDeliverOptions = {},
  ): Promise<MailDeliverResult> {
    this.#checkOpen();
    checkUser(user);
    const name = checkFolder(folder);
    if (!(body instanceof Uint8Array) && !(body instanceof ReadableStream)) {
      throw new TypeError(
        "Cannot deliver message: the body is not a Uint8Array or a ReadableStream",
      );
    }
    const flags = orderFlags(checkFlags(options.flags ?? []));
    const maxSize = options.maxSize ?? this.#maxMessageSize;
    checkSizeLimit(maxSize, "maxSize");
    const date = options.internalDate ?? new Date();
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
      throw new TypeError("Cannot deliver message: internalDate is not a valid Date");
    }
    const internalDate = Math.floor(date.getTime() / 1000) * 1000;
    const signal = options.signal;
    const counter = { size: 0 };
    let box: Box;
    try {
      signal?.throwIfAborted();
      if (options.createFolder && name !== "INBOX") {
        await this.#userMutex(user).run(() => this.#createLocked(user, name, false));
      }
      box = await this.#box(user, name);
    } catch (error) {
      if (body instanceof ReadableStream) await body.cancel(error).catch(() => {});
      throw error;
    }
    let staged: Staged;
    try {
      staged = await this.#backend.stage(
        box,
        normalizedChunks(body, maxSize, signal, counter),
        internalDate,
      );
    } catch (error) {
      if (body instanceof ReadableStream && !body.locked) await body.cancel(error).catch(() => {});
      throw error;
    }
    try {
      return await box.mutex.run(async () => {
        signal?.throwIfAborted();
        if (box.gone || this.#closed) throw noFolder(user, name);
        if (box.uidNext > MAX_UID) {
          throw new MailStoreError(
            "LIMIT",
            `Cannot deliver message to ${quoteName(name)}: UIDs are exhausted`,
          );
        }
        const ref = await this.#backend.publish(box, staged, flags, box.uidNext);
        const [rec] = this.#assign(box, [{ flags, internalDate, size: counter.size, ref }]);
        try {
          await this.#save(box, { added: [rec!] });
        } catch (error) {
          this.#dropRecords(box, new Set([rec!.uid]));
          await this.#backend.unpublish(box, ref).catch(() => {});
          throw error;
        }
        this.#emitExists(box, [rec!]);
        return Object.freeze({ uid: rec!.uid, uidValidity: box.uidValidity, size: counter.size });
      });
    } catch (error) {
      await staged.discard().catch(() => {});
      throw error;
    }
  }

  async status(user: string, folder: string): Promise<MailFolderStatus> {
    const box = await this.#box(checkUser(user), checkFolder(folder));
    return await box.mutex.run(() => {
      let unseen = 0;
      let recent = 0;
      let size = 0;
      for (const rec of box.records) {
        if (!rec.info.flags.includes("\\Seen")) unseen++;
        if (rec.uid >= box.firstRecent) recent++;
        size += rec.info.size;
      }
      return Object.freeze({
        messages: box.records.length,
        recent,
        unseen,
        uidNext: box.uidNext,
        uidValidity: box.uidValidity,
        size,
      });
    });
  }

  async listMessages(user: string, folder: string): Promise<MailMessageInfo[]> {
    const box = await this.#box(checkUser(user), checkFolder(folder));
    return await box.mutex.run(() => box.records.map((r) => r.info));
  }

  async readMessage(
    user: string,
    folder: string,
    uid: number,
    options: MailReadOptions = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const [id] = checkUids([uid]);
    const box = await this.#box(checkUser(user), checkFolder(folder));
    return await this.#read(box, id!, options);
  }

  async #read(
    box: Box,
    uid: number,
    options: MailReadOptions,
  ): Promise<ReadableStream<Uint8Array>> {
    const rec = box.byUid.get(uid);
    if (rec === undefined) throw expunged(box, uid);
    const { start, length } = clampRange(rec.info.size, options);
    try {
      return await this.#backend.open(box, rec, start, length);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw expunged(box, uid, error);
      throw error;
    }
  }

  async setFlags(
    user: string,
    folder: string,
    uids: readonly number[],
    flags: readonly string[],
    options: MailSetFlagsOptions = {},
  ): Promise<MailMessageInfo[]> {
    const box = await this.#box(checkUser(user), checkFolder(folder));
    return await this.setFlagsOf(box, uids, flags, options);
  }

  /** {@linkcode MailStoreEngine.setFlags} on a box, with the view that asked. */
  async setFlagsOf(
    box: Box,
    uids: readonly number[],
    flags: readonly string[],
    options: MailSetFlagsOptions,
    origin?: ViewImpl,
  ): Promise<MailMessageInfo[]> {
    const ids = checkUids(uids);
    const given = checkFlags(flags);
    const mode = options.mode ?? "add";
    if (mode !== "add" && mode !== "remove" && mode !== "replace") {
      throw new TypeError(
        `Cannot set flags: mode ${quoteName(String(mode))} is not add, remove or replace`,
      );
    }
    return await box.mutex.run(async () => {
      this.#checkOpen();
      if (box.gone) throw noFolder(box.user, box.folder);
      const planned: [Rec, string[]][] = [];
      for (const uid of ids) {
        const rec = box.byUid.get(uid);
        if (rec === undefined) continue;
        const next = combineFlags(rec.info.flags, given, mode);
        if (!sameFlags(next, rec.info.flags)) planned.push([rec, next]);
      }
      const changed: MailMessageInfo[] = [];
      const changedRecs: Rec[] = [];
      try {
        for (const [rec, next] of planned) {
          rec.ref = await this.#backend.setFlags(box, rec, next);
          rec.info = makeInfo(box, rec.uid, {
            ...rec.info,
            internalDate: rec.info.internalDate.getTime(),
            flags: next,
          });
          changed.push(rec.info);
          changedRecs.push(rec);
        }
      } finally {
        if (changed.length > 0) {
          await this.#backend.flush(box);
          await this.#save(box, { changed: changedRecs });
          this.#emitFlags(box, changed, origin);
        }
      }
      return changed;
    });
  }

  async expunge(user: string, folder: string, uids: readonly number[]): Promise<number[]> {
    const box = await this.#box(checkUser(user), checkFolder(folder));
    return await this.expungeOf(box, checkUids(uids), false);
  }

  /** Expunges UIDs of a box (only those with `\Deleted` when `deletedOnly`). */
  async expungeOf(
    box: Box,
    uids: readonly number[],
    deletedOnly: boolean,
    origin?: ViewImpl,
  ): Promise<number[]> {
    return await box.mutex.run(async () => {
      this.#checkOpen();
      if (box.gone) throw noFolder(box.user, box.folder);
      const recs = uids.map((u) => box.byUid.get(u)).filter((r): r is Rec =>
        r !== undefined && (!deletedOnly || r.info.flags.includes("\\Deleted"))
      );
      if (recs.length === 0) return [];
      try {
        await this.#backend.remove(box, recs);
      } catch (error) {
        await this.#rescanLocked(box).catch(() => {});
        throw error;
      }
      const removed = recs.map((r) => r.uid);
      this.#dropRecords(box, new Set(removed));
      await this.#save(box, { removed });
      this.#emitExpunge(box, removed, origin);
      return removed;
    });
  }

  async copy(
    user: string,
    from: string,
    uids: readonly number[],
    to: string,
  ): Promise<MailCopyResult> {
    return await this.#copyOrMove(
      checkUser(user),
      checkFolder(from),
      checkUids(uids),
      checkFolder(to),
      false,
    );
  }

  async move(
    user: string,
    from: string,
    uids: readonly number[],
    to: string,
  ): Promise<MailCopyResult> {
    return await this.#copyOrMove(
      checkUser(user),
      checkFolder(from),
      checkUids(uids),
      checkFolder(to),
      true,
    );
  }

  async #copyOrMove(
    user: string,
    from: string,
    uids: readonly number[],
    to: string,
    move: boolean,
    origin?: ViewImpl,
  ): Promise<MailCopyResult> {
    const source = await this.#box(user, from);
    const target = await this.#box(user, to);
    const work = async (): Promise<MailCopyResult> => {
      this.#checkOpen();
      if (source.gone) throw noFolder(user, from);
      if (target.gone) throw noFolder(user, to);
      const sourceUids: number[] = [];
      const added: Rec[] = [];
      const moved: Rec[] = [];
      const toRemove: Rec[] = [];
      try {
        for (const uid of uids) {
          const rec = source.byUid.get(uid);
          if (rec === undefined) continue;
          if (target.uidNext > MAX_UID) {
            throw new MailStoreError(
              "LIMIT",
              `Cannot copy message to ${quoteName(to)}: UIDs are exhausted`,
            );
          }
          let ref: unknown;
          if (move && source !== target) {
            ref = await this.#backend.moveIn(source, rec, target);
            if (ref !== undefined) moved.push(rec);
          }
          if (ref === undefined) {
            ref = await this.#backend.copyIn(source, rec, target);
            if (move) toRemove.push(rec);
          }
          const info = rec.info;
          const [copy] = this.#assign(target, [{
            flags: info.flags,
            internalDate: info.internalDate.getTime(),
            size: info.size,
            ref,
          }]);
          sourceUids.push(uid);
          added.push(copy!);
        }
      } finally {
        if (added.length > 0) {
          await this.#backend.flush(target);
          await this.#save(target, { added });
        }
        if (toRemove.length > 0) await this.#backend.remove(source, toRemove);
        const gone = [...moved, ...toRemove];
        if (gone.length > 0) {
          await this.#backend.flush(source);
          const goneUids = gone.map((r) => r.uid);
          this.#dropRecords(source, new Set(goneUids));
          await this.#save(source, { removed: goneUids });
        }
        this.#emitExists(target, added);
        this.#emitExpunge(source, gone.map((r) => r.uid).sort((a, b) => a - b), origin);
      }
      return Object.freeze({
        uidValidity: target.uidValidity,
        sourceUids: Object.freeze(sourceUids),
        destinationUids: Object.freeze(added.map((r) => r.uid)),
      });
    };
    if (source === target) return await source.mutex.run(work);
    const [first, second] = source.key < target.key ? [source, target] : [target, source];
    return await first.mutex.run(() => second.mutex.run(work));
  }

  /** Move for a view: the moved messages' expunges are not reported back to it. */
  moveOf(box: Box, uids: readonly number[], to: string, origin: ViewImpl): Promise<MailCopyResult> {
    return this.#copyOrMove(box.user, box.folder, checkUids(uids), checkFolder(to), true, origin);
  }

  async rescan(user: string, folder: string): Promise<void> {
    const box = await this.#box(checkUser(user), checkFolder(folder));
    await box.mutex.run(() => this.#rescanLocked(box));
  }

  async #rescanLocked(box: Box): Promise<void> {
    if (box.gone) throw noFolder(box.user, box.folder);
    const found = await this.#backend.scan(box);
    const removed = found.removed.filter((u) => box.byUid.has(u)).sort((a, b) => a - b);
    if (removed.length > 0) this.#dropRecords(box, new Set(removed));
    const changed: MailMessageInfo[] = [];
    const changedRecs: Rec[] = [];
    for (const change of found.changed) {
      const rec = box.byUid.get(change.uid);
      if (rec === undefined) continue;
      rec.ref = change.ref;
      changedRecs.push(rec);
      if (!sameFlags(change.flags, rec.info.flags)) {
        rec.info = makeInfo(box, rec.uid, {
          ...rec.info,
          internalDate: rec.info.internalDate.getTime(),
          flags: change.flags,
        });
        changed.push(rec.info);
      }
    }
    const added = this.#assign(box, found.added);
    if (removed.length > 0 || changedRecs.length > 0 || added.length > 0 || box.dirty) {
      await this.#save(box, { removed, changed: changedRecs, added });
    }
    this.#emitExpunge(box, removed);
    this.#emitFlags(box, changed);
    this.#emitExists(box, added);
  }

  // ---- sessions ----

  async openView(
    user: string,
    folder: string,
    options: MailViewOptions = {},
  ): Promise<MailboxView> {
    const box = await this.#box(checkUser(user), checkFolder(folder));
    const readOnly = options.readOnly ?? false;
    return await box.mutex.run(async () => {
      this.#checkOpen();
      await this.#rescanLocked(box);
      let recentFrom = Infinity;
      if (!readOnly) {
        recentFrom = box.firstRecent;
        if (box.uidNext > box.firstRecent) {
          box.firstRecent = box.uidNext;
          box.dirty = true;
        }
        await this.#backend.claimRecent(box);
      }
      const view = new ViewImpl(this, box, readOnly, recentFrom);
      box.views.add(view);
      return view;
    });
  }

  /** Unregisters a closed view. */
  dropView(view: ViewImpl): void {
    view.box.views.delete(view);
  }

  /** Reads a message for a view. */
  readOf(box: Box, uid: number, options: MailReadOptions): Promise<ReadableStream<Uint8Array>> {
    return this.#read(box, uid, options);
  }

  /** Reads a small message range for a view at once, or `undefined` (see {@linkcode MAIL_VIEW_READ_SMALL}). */
  readSmallOf(box: Box, uid: number, start: number, length: number): Uint8Array | undefined {
    if (this.#backend.readSmall === undefined) return undefined;
    const rec = box.byUid.get(uid);
    if (rec === undefined) throw expunged(box, uid);
    const range = clampRange(rec.info.size, { start, length });
    try {
      return this.#backend.readSmall(box, rec, range.start, range.length);
    } catch (error) {
      // Renamed by another tool, or gone: read() finds out which.
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  /** A message's header for a view at once, or `undefined` (see {@linkcode MAIL_VIEW_READ_HEADER}). */
  readHeaderOf(box: Box, uid: number): Uint8Array | undefined {
    if (this.#backend.readHeader === undefined) return undefined;
    const rec = box.byUid.get(uid);
    if (rec === undefined) throw expunged(box, uid);
    try {
      return this.#backend.readHeader(box, rec);
    } catch (error) {
      // Renamed by another tool, or gone: read() finds out which.
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  async lockMailbox(user: string, folder: string): Promise<MailboxLock> {
    const box = await this.#box(checkUser(user), checkFolder(folder));
    this.#checkOpen();
    if (box.locked) {
      throw new MailStoreError(
        "IN_USE",
        `Cannot lock folder ${quoteName(box.folder)} of ${quoteName(box.user)}: it is in use`,
      );
    }
    box.locked = true;
    try {
      const messages = await box.mutex.run(async () => {
        await this.#rescanLocked(box);
        return Object.freeze(box.records.map((r) => r.info));
      });
      const lock = new LockImpl(box, messages, () => this.#locks.delete(lock));
      this.#locks.add(lock);
      return lock;
    } catch (error) {
      box.locked = false;
      throw error;
    }
  }

  watch(user: string, folder: string, options: MailWatchOptions = {}): MailStoreWatch {
    this.#checkOpen();
    checkUser(user);
    const name = checkFolder(folder);
    const key = boxKey(user, name);
    const max = options.maxQueuedEvents ?? 1024;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`Cannot watch folder: maxQueuedEvents ${max} is not a positive integer`);
    }
    let set = this.#watchers.get(key);
    if (set === undefined) {
      set = new Set();
      this.#watchers.set(key, set);
    }
    const watchers = set;
    const watch = new WatchImpl(user, name, max, options.signal, () => {
      watchers.delete(watch);
      if (watchers.size === 0 && this.#watchers.get(key) === watchers) this.#watchers.delete(key);
    });
    if (!watch.done) watchers.add(watch);
    return watch;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const watchers of [...this.#watchers.values()]) for (const w of [...watchers]) w.close();
    for (const lock of [...this.#locks]) lock.release();
    const boxes = await Promise.all([...this.#boxes.values()].map((p) => p.catch(() => undefined)));
    this.#boxes.clear();
    let failure: unknown;
    for (const box of boxes) {
      if (box === undefined) continue;
      for (const view of [...box.views]) view.close();
      await box.mutex.run(async () => {
        if (box.dirty && !box.gone) await this.#save(box, {});
      }).catch((error) => failure ??= error);
    }
    if (failure !== undefined) throw failure;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The map key of a mailbox. */
export function boxKey(user: string, folder: string): string {
  return `${user}\u0000${folder}`;
}

function checkSizeLimit(value: number, name: string): void {
  if (
    typeof value !== "number" || !(value >= 0) ||
    (!Number.isSafeInteger(value) && value !== Infinity)
  ) {
    throw new RangeError(`Cannot use ${name} ${value}: it is not a non-negative integer`);
  }
}

function noFolder(user: string, folder: string): MailStoreError {
  return new MailStoreError(
    "NONEXISTENT",
    `Cannot open folder ${quoteName(folder)} of ${quoteName(user)}: it does not exist`,
  );
}

function expunged(box: Box, uid: number, cause?: unknown): MailStoreError {
  return new MailStoreError(
    "EXPUNGED",
    `Cannot read message ${uid} in ${quoteName(box.folder)}: it was expunged`,
    cause === undefined ? undefined : { cause },
  );
}

/** Builds the immutable info of a message. */
export function makeInfo(
  box: { uidValidity: number },
  uid: number,
  data: { flags: readonly string[]; internalDate: number; size: number },
): MailMessageInfo {
  return Object.freeze({
    uid,
    flags: Object.freeze([...data.flags]),
    internalDate: new Date(data.internalDate),
    size: data.size,
    uniqueId: uniqueIdOf(uid, box.uidValidity),
  });
}

/**
 * The body in CRLF form, chunk by chunk, counting octets into `counter` and
 * failing with `"TOO_LARGE"` as soon as `maxSize` is crossed. Cancels the
 * source stream when it stops early.
 */
export async function* normalizedChunks(
  body: Uint8Array | ReadableStream<Uint8Array>,
  maxSize: number,
  signal: AbortSignal | undefined,
  counter: { size: number },
): AsyncGenerator<Uint8Array> {
  const normalizer = new CrlfNormalizer();
  const take = (chunk: Uint8Array): Uint8Array => {
    const out = normalizer.push(chunk);
    counter.size += out.length;
    if (counter.size > maxSize) {
      throw new MailStoreError("TOO_LARGE", `Cannot deliver message: it exceeds ${maxSize} bytes`);
    }
    return out;
  };
  if (body instanceof Uint8Array) {
    for (let offset = 0; offset < body.length; offset += STREAM_CHUNK_SIZE) {
      signal?.throwIfAborted();
      yield take(body.subarray(offset, offset + STREAM_CHUNK_SIZE));
    }
    signal?.throwIfAborted();
    return;
  }
  const reader = body.getReader();
  let finished = false;
  try {
    while (true) {
      const { done, value } = await readWithSignal(reader, signal);
      if (done) break;
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(
          "Cannot deliver message: the body stream gave a chunk that is not a Uint8Array",
        );
      }
      yield take(value);
    }
    signal?.throwIfAborted();
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function readWithSignal(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (signal === undefined) return reader.read();
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    reader.read().then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

// ---- views ----

/** The {@linkcode MailboxView} implementation. */
export class ViewImpl implements MailboxView {
  readonly box: Box;
  readonly readOnly: boolean;
  readonly #engine: MailStoreEngine;
  #uids: number[] = [];
  #infos: MailMessageInfo[] = [];
  #recent = new Set<number>();
  #uidNext: number;
  #pendingNew = new Map<number, MailMessageInfo>();
  #pendingRecentFrom = Infinity;
  #pendingExpunged = new Set<number>();
  #pendingFlags = new Map<number, MailMessageInfo>();
  #deleted = false;
  #deletedReported = false;
  #closed = false;
  #waiters = new Set<() => void>();

  constructor(engine: MailStoreEngine, box: Box, readOnly: boolean, recentFrom: number) {
    this.#engine = engine;
    this.box = box;
    this.readOnly = readOnly;
    for (const rec of box.records) {
      this.#uids.push(rec.uid);
      this.#infos.push(rec.info);
      if (rec.uid >= recentFrom) this.#recent.add(rec.uid);
    }
    this.#uidNext = box.uidNext;
  }

  get user(): string {
    return this.box.user;
  }
  get folder(): string {
    return this.box.folder;
  }
  get uidValidity(): number {
    return this.box.uidValidity;
  }
  get exists(): number {
    return this.#uids.length;
  }
  get recent(): number {
    return this.#recent.size;
  }
  get uidNext(): number {
    return this.#uidNext;
  }
  get closed(): boolean {
    return this.#closed || this.#deleted;
  }
  get uids(): readonly number[] {
    return Object.freeze([...this.#uids]);
  }

  uidAt(seq: number): number | undefined {
    return Number.isInteger(seq) && seq >= 1 ? this.#uids[seq - 1] : undefined;
  }

  seqOf(uid: number): number | undefined {
    const i = this.#indexOf(uid);
    return i === -1 ? undefined : i + 1;
  }

  message(seq: number): MailMessageInfo | undefined {
    return Number.isInteger(seq) && seq >= 1 ? this.#infos[seq - 1] : undefined;
  }

  messageByUid(uid: number): MailMessageInfo | undefined {
    const i = this.#indexOf(uid);
    return i === -1 ? undefined : this.#infos[i];
  }

  isRecent(uid: number): boolean {
    return this.#recent.has(uid);
  }

  keywords(): string[] {
    const set = new Set<string>();
    for (const info of this.#infos) for (const f of info.flags) if (!f.startsWith("\\")) set.add(f);
    return [...set].sort();
  }

  #indexOf(uid: number): number {
    let lo = 0;
    let hi = this.#uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const value = this.#uids[mid]!;
      if (value === uid) return mid;
      if (value < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  get pending(): boolean {
    return this.#pendingNew.size > 0 || this.#pendingExpunged.size > 0 ||
      this.#pendingFlags.size > 0 ||
      (this.#deleted && !this.#deletedReported);
  }

  changed(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.pending || this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(wake);
        reject(signal!.reason);
      };
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      this.#waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  notifyExists(infos: readonly MailMessageInfo[], recentFrom: number): void {
    if (this.#closed) return;
    for (const info of infos) this.#pendingNew.set(info.uid, info);
    this.#pendingRecentFrom = Math.min(this.#pendingRecentFrom, recentFrom);
    this.#wake();
  }

  notifyExpunge(uids: readonly number[], origin: ViewImpl | undefined): void {
    if (this.#closed || origin === this) return;
    for (const uid of uids) {
      this.#pendingFlags.delete(uid);
      if (this.#pendingNew.delete(uid)) continue;
      if (this.#indexOf(uid) !== -1) this.#pendingExpunged.add(uid);
    }
    this.#wake();
  }

  notifyFlags(infos: readonly MailMessageInfo[], origin: ViewImpl | undefined): void {
    if (this.#closed || origin === this) return;
    for (const info of infos) {
      if (this.#pendingNew.has(info.uid)) this.#pendingNew.set(info.uid, info);
      else if (this.#indexOf(info.uid) !== -1) this.#pendingFlags.set(info.uid, info);
    }
    this.#wake();
  }

  notifyDeleted(): void {
    this.#deleted = true;
    this.#engine.dropView(this);
    this.#wake();
  }

  /** Removes UIDs from the snapshot; returns the EXPUNGE sequence numbers in sending order. */
  #remove(uids: ReadonlySet<number>): number[] {
    const seqs: number[] = [];
    const keptUids: number[] = [];
    const keptInfos: MailMessageInfo[] = [];
    let removed = 0;
    for (let i = 0; i < this.#uids.length; i++) {
      const uid = this.#uids[i]!;
      if (uids.has(uid)) {
        seqs.push(i + 1 - removed);
        removed++;
        this.#recent.delete(uid);
        this.#pendingFlags.delete(uid);
        this.#pendingExpunged.delete(uid);
      } else {
        keptUids.push(uid);
        keptInfos.push(this.#infos[i]!);
      }
    }
    this.#uids = keptUids;
    this.#infos = keptInfos;
    return seqs;
  }

  sync(): MailboxViewUpdate {
    const expungedSeqs = this.#pendingExpunged.size > 0
      ? this.#remove(new Set(this.#pendingExpunged))
      : [];
    this.#pendingExpunged.clear();
    const flags: { seq: number; message: MailMessageInfo }[] = [];
    for (const [uid, info] of this.#pendingFlags) {
      const i = this.#indexOf(uid);
      if (i === -1) continue;
      this.#infos[i] = info;
      flags.push(Object.freeze({ seq: i + 1, message: info }));
    }
    this.#pendingFlags.clear();
    flags.sort((a, b) => a.seq - b.seq);
    let exists: number | undefined;
    let recent: number | undefined;
    if (this.#pendingNew.size > 0) {
      const last = this.#uids[this.#uids.length - 1] ?? 0;
      for (const info of [...this.#pendingNew.values()].sort((a, b) => a.uid - b.uid)) {
        if (info.uid <= last) continue;
        this.#uids.push(info.uid);
        this.#infos.push(info);
        if (info.uid >= this.#pendingRecentFrom) this.#recent.add(info.uid);
      }
      this.#pendingNew.clear();
      exists = this.#uids.length;
      recent = this.#recent.size;
    }
    this.#pendingRecentFrom = Infinity;
    this.#uidNext = Math.max(this.#uidNext, this.box.uidNext);
    const deleted = this.#deleted;
    if (deleted) this.#deletedReported = true;
    return Object.freeze({
      expunged: Object.freeze(expungedSeqs),
      exists,
      recent,
      flags: Object.freeze(flags),
      deleted,
    });
  }

  #checkWritable(action: string): void {
    if (this.closed) {
      throw new MailStoreError(
        "CLOSED",
        `Cannot ${action} in ${quoteName(this.folder)}: the view is closed`,
      );
    }
    if (this.readOnly) {
      throw new MailStoreError(
        "READ_ONLY",
        `Cannot ${action} in ${quoteName(this.folder)}: the view is read-only`,
      );
    }
  }

  #known(uids: readonly number[] | undefined): number[] {
    if (uids === undefined) return [...this.#uids];
    return checkUids(uids).filter((u) => this.#indexOf(u) !== -1);
  }

  async setFlags(
    uids: readonly number[],
    flags: readonly string[],
    options: MailSetFlagsOptions = {},
  ): Promise<MailMessageInfo[]> {
    this.#checkWritable("set flags");
    const changed = await this.#engine.setFlagsOf(
      this.box,
      this.#known(uids),
      flags,
      options,
      this,
    );
    for (const info of changed) {
      this.#pendingFlags.delete(info.uid);
      const i = this.#indexOf(info.uid);
      if (i !== -1) this.#infos[i] = info;
    }
    return changed.filter((info) => this.#indexOf(info.uid) !== -1);
  }

  async expunge(uids?: readonly number[]): Promise<number[]> {
    this.#checkWritable("expunge messages");
    const removed = await this.#engine.expungeOf(this.box, this.#known(uids), true, this);
    return this.#remove(new Set(removed));
  }

  async move(uids: readonly number[], folder: string): Promise<MailboxViewMoveResult> {
    this.#checkWritable("move messages");
    const result = await this.#engine.moveOf(this.box, this.#known(uids), folder, this);
    const expungedSeqs = this.#remove(new Set(result.sourceUids));
    return Object.freeze({ ...result, expunged: Object.freeze(expungedSeqs) });
  }

  /** Reads a message of the view (for servers that hold only the view). */
  read(uid: number, options: MailReadOptions = {}): Promise<ReadableStream<Uint8Array>> {
    return this.#engine.readOf(this.box, uid, options);
  }

  /** See {@linkcode MAIL_VIEW_READ_SMALL}. */
  [MAIL_VIEW_READ_SMALL](uid: number, start: number, length: number): Uint8Array | undefined {
    return this.#engine.readSmallOf(this.box, uid, start, length);
  }

  /** See {@linkcode MAIL_VIEW_READ_HEADER}. */
  [MAIL_VIEW_READ_HEADER](uid: number): Uint8Array | undefined {
    return this.#engine.readHeaderOf(this.box, uid);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#engine.dropView(this);
    this.#pendingNew.clear();
    this.#pendingExpunged.clear();
    this.#pendingFlags.clear();
    this.#wake();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

// ---- locks ----

class LockImpl implements MailboxLock {
  readonly box: Box;
  readonly messages: readonly MailMessageInfo[];
  readonly #onRelease: () => void;
  #released = false;

  constructor(box: Box, messages: readonly MailMessageInfo[], onRelease: () => void) {
    this.box = box;
    this.messages = messages;
    this.#onRelease = onRelease;
  }

  get user(): string {
    return this.box.user;
  }
  get folder(): string {
    return this.box.folder;
  }
  get uidValidity(): number {
    return this.box.uidValidity;
  }
  get released(): boolean {
    return this.#released;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.box.locked = false;
    this.#onRelease();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}

// ---- watches ----

class WatchImpl implements MailStoreWatch {
  readonly #user: string;
  readonly #folder: string;
  readonly #max: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onClose: () => void;
  #queue: MailStoreEvent[] = [];
  #overflowed = false;
  #waiter: ((result: IteratorResult<MailStoreEvent>) => void) | undefined;
  #done = false;
  readonly #onAbort = () => this.close();

  constructor(
    user: string,
    folder: string,
    max: number,
    signal: AbortSignal | undefined,
    onClose: () => void,
  ) {
    this.#user = user;
    this.#folder = folder;
    this.#max = max;
    this.#signal = signal;
    this.#onClose = onClose;
    if (signal?.aborted) this.#done = true;
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  get done(): boolean {
    return this.#done;
  }

  push(event: MailStoreEvent): void {
    if (this.#done) return;
    if (this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ value: event, done: false });
      return;
    }
    if (this.#overflowed) return;
    if (this.#queue.length >= this.#max) {
      this.#queue = [{ type: "overflow", user: this.#user, folder: this.#folder }];
      this.#overflowed = true;
      return;
    }
    this.#queue.push(event);
  }

  next(): Promise<IteratorResult<MailStoreEvent>> {
    const event = this.#queue.shift();
    if (event !== undefined) {
      if (event.type === "overflow") this.#overflowed = false;
      return Promise.resolve({ value: event, done: false });
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiter = resolve);
  }

  return(): Promise<IteratorResult<MailStoreEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    this.#done = true;
    this.#queue = [];
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#onClose();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): MailStoreWatch {
    return this;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
