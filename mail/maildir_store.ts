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
import { MailStoreEngine } from "./_mail_store_engine.ts";
import { MaildirBackend } from "./_maildir_backend.ts";
import { checkFolder as checkFolderName, checkUser } from "./_mail_store_names.ts";

/** Options for {@linkcode MaildirStore}. */
export interface MaildirStoreOptions {
  /**
   * Where a user's Maildir is, such as `` (user) => `/home/${user}/Maildir` ``.
   * The user name is already checked (no `/`, no leading `.`, no control
   * characters) when this is called.
   *
   * @default {(user) => `${root}/${user}`}
   */
  maildirOf?: (user: string) => string;
  /**
   * How message files are written: `"crlf"` keeps the CRLF line ends that
   * SMTP and IMAP use, so sizes match the file and ranged reads seek;
   * `"lf"` writes Unix line ends, as Postfix's local delivery does, and
   * converts back when reading. Files from other tools are read either way.
   *
   * @default {"crlf"}
   */
  lineEnding?: "crlf" | "lf";
  /**
   * The default most octets per delivered message (CRLF line ends); a
   * delivery can lower or raise it with `maxSize`.
   *
   * @default {67108864}
   */
  maxMessageSize?: number;
  /**
   * The most octets kept in memory of small messages (up to 64 KiB each)
   * that were just delivered or read, so that a FETCH of new mail, or one
   * repeated, reads no file; 0 keeps none. Only a `"crlf"` store keeps
   * them (an `"lf"` store converts each read).
   *
   * @default {33554432}
   */
  cacheSize?: number;
}

/**
 * A durable {@linkcode MailStore} on Maildir++ directories that ordinary
 * tools (Dovecot, mutt, Python's `mailbox.Maildir`) read too.
 *
 * Layout: one Maildir per user (`<root>/<user>` by default) with `cur/`,
 * `new/` and `tmp/`; `INBOX` is the Maildir itself and folder `a.b` is the
 * directory `.a.b` (names in modified UTF-7, as Dovecot and Courier store
 * them) with a `maildirfolder` marker. Message files are named
 * `<time>.M<µs>P<pid>Q<n>R<random>.<host>,U=<uid>,S=<file size>,W=<CRLF size>`,
 * with the `:2,<letters>` info suffix in `cur/` (`D F R S T` for `\Draft
 * \Flagged \Answered \Seen \Deleted`; other letters are kept). The internal
 * date is the file's modification time.
 *
 * Each folder's `inetkit-uidlist` keeps the UID validity, the next UID,
 * the first recent UID, and per message its UID, size, internal date and
 * keywords. Changes are appended to it as lines; once it has grown to
 * about twice its messages it is replaced atomically (write to `tmp/`,
 * fsync, rename, fsync the directory). On first use of a folder that
 * Dovecot served, its `dovecot-uidlist` is imported so the UIDs stay. The
 * subscriptions are in `inetkit-subscriptions` in the Maildir root.
 *
 * Two caches make FETCHes of many messages cheap, and neither is needed
 * for correctness. Each folder's `inetkit-headers` holds the header of
 * each message (written without fsync, one append per delivery; records
 * are checked by UID, name, length and checksum when loaded, so a file cut
 * short or damaged is used as far as it is sound and rewritten), so that
 * a `FETCH 1:* (BODY.PEEK[HEADER])` after a restart reads one file rather
 * than one per message. In memory, up to `cacheSize` octets of small
 * messages (64 KiB or less) just delivered or read are kept, least
 * recently used first out; Maildir files never change once delivered, so
 * an entry cannot go stale.
 *
 * Delivery writes `tmp/<unique>`, fsyncs it, renames it into `new/` (or
 * `cur/` with flags), fsyncs that directory, appends the uidlist line, and
 * only then resolves: two fsyncs per message. The line itself is not
 * fsynced, because the file name carries the UID: should a crash of the
 * machine lose the line, the next load gives the file the UID of its name
 * again (a name's UID is taken only when no message ever had it). Expunge,
 * copy, move and keyword changes fsync the uidlist before they resolve.
 * Directories are fsynced by opening them read-only and calling
 * `FsFile.sync()`, which Deno allows on Linux and macOS; where the
 * platform refuses (Windows), that step is skipped. A failed or aborted
 * body leaves nothing behind; files in `tmp/` older than 36 hours are
 * removed when the folder is loaded.
 *
 * Files that other tools put into `new/` or `cur/`, rename or remove are
 * noticed on the next {@linkcode MaildirStore.rescan}, `openView` or
 * `lockMailbox` (the store does not watch the file system). One store
 * object should own a Maildir at a time: two processes writing the same
 * uidlist would race; other tools delivering into `new/` are fine. Locks,
 * views and change events are per store object, in this process.
 *
 * @example Delivering durably and finding the message after reopening
 * ```ts
 * import { MaildirStore } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const root = await Deno.makeTempDir();
 * try {
 *   const body = new TextEncoder().encode("Subject: hi\r\n\r\nhello\r\n");
 *   {
 *     await using store = new MaildirStore(root);
 *     const { uid } = await store.deliver("mulder", "INBOX", body, { flags: ["\\Seen"] });
 *     assertEquals(uid, 1);
 *   }
 *   await using store = new MaildirStore(root);
 *   const [info] = await store.listMessages("mulder", "INBOX");
 *   assertEquals(info?.flags, ["\\Seen"]);
 *   const names = [...Deno.readDirSync(`${root}/mulder/cur`)].map((e) => e.name);
 *   assertEquals(names.length, 1);
 *   assertEquals(names[0]!.endsWith(":2,S"), true);
 * } finally {
 *   await Deno.remove(root, { recursive: true });
 * }
 * ```
 *
 * @example Reading a range for an IMAP partial fetch
 * ```ts
 * import { MaildirStore } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const root = await Deno.makeTempDir();
 * try {
 *   await using store = new MaildirStore(root, { lineEnding: "lf" });
 *   await store.deliver("mulder", "INBOX", new TextEncoder().encode("a\nbc\n"));
 *   const part = await store.readMessage("mulder", "INBOX", 1, { start: 1, length: 4 });
 *   assertEquals(await new Response(part).text(), "\r\nbc");
 * } finally {
 *   await Deno.remove(root, { recursive: true });
 * }
 * ```
 */
export class MaildirStore implements MailStore {
  readonly #engine: MailStoreEngine;
  readonly #backend: MaildirBackend;

  /**
   * Creates a store over the Maildirs under `root`. Nothing is touched until
   * a method is called; directories are created as needed (mode `0700`).
   *
   * @param root The directory that holds one Maildir per user.
   * @param options Where the Maildirs are, the line ends, the size limit.
   * @throws {TypeError} When `root` is not a non-empty string.
   * @throws {RangeError} When `maxMessageSize` or `cacheSize` is not a non-negative integer.
   */
  constructor(root: string, options?: MaildirStoreOptions) {
    options ??= {};
    if (typeof root !== "string" || root === "") {
      throw new TypeError("Cannot open Maildir store: root is not a non-empty string");
    }
    const lineEnding = options.lineEnding ?? "crlf";
    if (lineEnding !== "crlf" && lineEnding !== "lf") {
      throw new TypeError(
        `Cannot open Maildir store: lineEnding ${JSON.stringify(lineEnding)} is not crlf or lf`,
      );
    }
    const base = root.endsWith("/") && root.length > 1 ? root.slice(0, -1) : root;
    const maildirOf = options.maildirOf ?? ((user: string) => `${base}/${user}`);
    const cacheSize = options.cacheSize ?? 32 * 1024 * 1024;
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
      throw new RangeError(
        `Cannot open Maildir store: cacheSize ${cacheSize} is not a non-negative integer`,
      );
    }
    this.#backend = new MaildirBackend({
      maildirOf: (user) => maildirOf(checkUser(user)),
      lineEnding,
      cacheSize,
    });
    this.#engine = new MailStoreEngine(this.#backend, options);
  }

  /** The hierarchy delimiter, `"."`. */
  get delimiter(): string {
    return this.#engine.delimiter;
  }

  /**
   * The directory that holds a folder's `cur/`, `new/` and `tmp/`, for
   * tools and tests; it need not exist yet.
   *
   * @param user The user.
   * @param folder The folder, such as `"INBOX"` or `"Archive.2024"`.
   * @returns The directory path.
   * @throws {MailStoreError} `"BAD_NAME"` for a bad user or folder name.
   *
   * @example Where a folder lives
   * ```ts
   * import { MaildirStore } from "@inetkit/inetkit/mail";
   * import { assertEquals } from "@std/assert";
   *
   * const store = new MaildirStore("/var/mail");
   * assertEquals(store.folderPath("mulder", "INBOX"), "/var/mail/mulder");
   * assertEquals(store.folderPath("mulder", "Archive.2024"), "/var/mail/mulder/.Archive.2024");
   * assertEquals(store.folderPath("mulder", "Entwürfe"), "/var/mail/mulder/.Entw&APw-rfe");
   * ```
   */
  folderPath(user: string, folder: string): string {
    return this.#backend.folderDir(checkUser(user), checkFolderName(folder));
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
