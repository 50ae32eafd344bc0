/**
 * The mail store that the SMTP, POP3 and IMAP servers share: per user an
 * `INBOX` and folders, messages with UIDs, flags, internal dates and sizes,
 * session views with sequence numbers, POP3 maildrop locks and change
 * notifications.
 *
 * Two implementations exist: {@linkcode MaildirStore} (durable, Maildir++ on
 * disk) and {@linkcode MemoryMailStore} (the same semantics in memory, for
 * tests).
 *
 * Conventions every implementation follows:
 *
 * - Folder names are Unicode strings (an IMAP server decodes modified UTF-7
 *   before calling the store). The hierarchy delimiter is `.`
 *   ({@linkcode MAIL_FOLDER_DELIMITER}), as in Maildir++: `Archive.2024` is
 *   the child `2024` of `Archive`. `INBOX` is matched case-insensitively, also
 *   as the first level of a name (`inbox.x` is `INBOX.x`). A name is refused
 *   with `"BAD_NAME"` when it is empty, longer than 200 characters, has an
 *   empty level (`a..b`, `.a`, `a.`), or contains `/`, `*`, `%`, control
 *   characters or unpaired surrogates.
 * - Flags are the system flags `\Seen \Answered \Flagged \Deleted \Draft`
 *   (matched case-insensitively, reported in that spelling and order) and
 *   keywords (IMAP atoms of 1 to 128 printable ASCII characters without
 *   `( ) { % * " \ ]` and space, at most 64 per message, matched
 *   case-insensitively, reported sorted). `\Recent` is per session: see
 *   {@linkcode MailboxView.isRecent}.
 * - Sizes count octets as served, with CRLF line ends. Stored messages have
 *   their line ends normalized to CRLF when they are read.
 * - Every user implicitly has an `INBOX`; the store does not authenticate.
 *
 * @module
 */

/**
 * The hierarchy delimiter of folder names, as in Maildir++.
 *
 * @example Splitting a folder name into levels
 * ```ts
 * import { MAIL_FOLDER_DELIMITER } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals("Archive.2024".split(MAIL_FOLDER_DELIMITER), ["Archive", "2024"]);
 * ```
 */
export const MAIL_FOLDER_DELIMITER = ".";

/**
 * The IMAP system flags a store keeps, in the order it reports them; for the
 * `FLAGS` and `PERMANENTFLAGS` responses (with `\*` for keywords).
 *
 * @example Building the FLAGS response
 * ```ts
 * import { MAIL_SYSTEM_FLAGS } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(`(${MAIL_SYSTEM_FLAGS.join(" ")})`, "(\\Seen \\Answered \\Flagged \\Deleted \\Draft)");
 * ```
 */
export const MAIL_SYSTEM_FLAGS: readonly string[] = Object.freeze([
  "\\Seen",
  "\\Answered",
  "\\Flagged",
  "\\Deleted",
  "\\Draft",
]);

/** What the store knows of one message. The objects are immutable snapshots. */
export interface MailMessageInfo {
  /** The UID: strictly ascending per mailbox, never reused (RFC 3501 §2.3.1.1). */
  readonly uid: number;
  /** System flags, then keywords; never `\Recent`. */
  readonly flags: readonly string[];
  /** The internal date (RFC 3501 §2.3.3), with a precision of one second in a Maildir. */
  readonly internalDate: Date;
  /** The size in octets with CRLF line ends: the IMAP `RFC822.SIZE`, the POP3 `LIST` size. */
  readonly size: number;
  /**
   * The POP3 unique id (RFC 1939 `UIDL`): the UID and the UID validity as two
   * 8-digit upper-case hexadecimal numbers, as Dovecot's default
   * `%08Xu%08Xv`. Stable as long as the UID is.
   */
  readonly uniqueId: string;
}

/** One folder in a {@linkcode MailStore.listFolders} answer. */
export interface MailFolderInfo {
  /** The full name, such as `"INBOX"` or `"Archive.2024"`. */
  readonly name: string;
  /**
   * Whether the folder exists and can be selected. `false` for a level that
   * exists only because a child does (IMAP `\Noselect`).
   */
  readonly selectable: boolean;
  /** Whether the folder has children (IMAP `\HasChildren` or `\HasNoChildren`). */
  readonly hasChildren: boolean;
  /** Whether the name is in the user's subscriptions. */
  readonly subscribed: boolean;
}

/** The counters of one folder, for IMAP `STATUS` (RFC 3501 §6.3.10). */
export interface MailFolderStatus {
  /** The number of messages. */
  readonly messages: number;
  /** The number of messages no session has claimed as recent yet. */
  readonly recent: number;
  /** The number of messages without `\Seen`. */
  readonly unseen: number;
  /** The UID the next message will get at least. */
  readonly uidNext: number;
  /** The UID validity. */
  readonly uidValidity: number;
  /** The sum of the sizes in octets (the POP3 `STAT` size for a whole maildrop). */
  readonly size: number;
}

/** Options for {@linkcode MailStore.deliver}. */
export interface MailDeliverOptions {
  /**
   * The internal date. A Maildir keeps it as the file's modification time.
   *
   * @default {new Date()}
   */
  internalDate?: Date;
  /**
   * Flags and keywords to store with the message (IMAP `APPEND`). A message
   * with flags goes to a Maildir's `cur/`, one without to `new/`.
   *
   * @default {[]}
   */
  flags?: readonly string[];
  /**
   * The most octets (as served, CRLF line ends) the message may have; a
   * larger one is refused with a {@linkcode MailStoreError} `"TOO_LARGE"`
   * as soon as the limit is crossed, and nothing is stored.
   *
   * @default {the store's `maxMessageSize`}
   */
  maxSize?: number;
  /**
   * Create the folder when it does not exist. `INBOX` always exists.
   *
   * @default {false}
   */
  createFolder?: boolean;
  /** Aborts the delivery; nothing is stored and the signal's reason is thrown. */
  signal?: AbortSignal;
}

/** The result of {@linkcode MailStore.deliver}: what IMAP `APPENDUID` (RFC 4315) reports. */
export interface MailDeliverResult {
  /** The new message's UID. */
  readonly uid: number;
  /** The folder's UID validity. */
  readonly uidValidity: number;
  /** The stored size in octets with CRLF line ends. */
  readonly size: number;
}

/** The result of a copy or move: what IMAP `COPYUID` (RFC 4315) reports. */
export interface MailCopyResult {
  /** The destination folder's UID validity. */
  readonly uidValidity: number;
  /** The source UIDs that were copied, ascending; UIDs that no longer existed are left out. */
  readonly sourceUids: readonly number[];
  /** The new UIDs in the destination, in the order of `sourceUids`. */
  readonly destinationUids: readonly number[];
}

/** How {@linkcode MailStore.setFlags} combines the given flags with the present ones. */
export type MailFlagMode = "add" | "remove" | "replace";

/** Options for {@linkcode MailStore.setFlags}. */
export interface MailSetFlagsOptions {
  /**
   * `"add"` (IMAP `+FLAGS`), `"remove"` (`-FLAGS`) or `"replace"` (`FLAGS`).
   *
   * @default {"add"}
   */
  mode?: MailFlagMode;
}

/** Options for {@linkcode MailStore.readMessage}: an octet range of the served bytes. */
export interface MailReadOptions {
  /**
   * The first octet to return (IMAP `BODY[]<start.length>`); past the end the stream is empty.
   *
   * @default {0}
   */
  start?: number;
  /**
   * The most octets to return.
   *
   * @default {Infinity}
   */
  length?: number;
}

/** Options for {@linkcode MailStore.openView}. */
export interface MailViewOptions {
  /**
   * A read-only view (IMAP `EXAMINE`) claims no `\Recent` messages and
   * refuses flag changes and expunges with `"READ_ONLY"`.
   *
   * @default {false}
   */
  readOnly?: boolean;
}

/** Options for {@linkcode MailStore.watch}. */
export interface MailWatchOptions {
  /** Ends the iteration. */
  signal?: AbortSignal;
  /**
   * The most events kept for a slow consumer; past it they are dropped and
   * one `"overflow"` event tells the consumer to rescan.
   *
   * @default {1024}
   */
  maxQueuedEvents?: number;
}

/** A change in a mailbox, made through the store or found by a rescan. */
export type MailStoreEvent =
  | {
    /** New messages: delivered, appended, copied or moved in, or found by a rescan. */
    readonly type: "exists";
    readonly user: string;
    readonly folder: string;
    /** Their UIDs, ascending. */
    readonly uids: readonly number[];
  }
  | {
    /** Messages were expunged. */
    readonly type: "expunge";
    readonly user: string;
    readonly folder: string;
    /** Their UIDs, ascending. */
    readonly uids: readonly number[];
  }
  | {
    /** Flags changed. */
    readonly type: "flags";
    readonly user: string;
    readonly folder: string;
    /** The messages with their flags after the change. */
    readonly messages: readonly MailMessageInfo[];
  }
  | {
    /** The folder was deleted or renamed away; its views are closed. */
    readonly type: "deleted";
    readonly user: string;
    readonly folder: string;
  }
  | {
    /** Events were dropped because the consumer was too slow. */
    readonly type: "overflow";
    readonly user: string;
    readonly folder: string;
  };

/**
 * An async iterator of one mailbox's {@linkcode MailStoreEvent}s; `close()`,
 * `return()`, `using` or the watch signal unsubscribe.
 */
export interface MailStoreWatch extends AsyncIterableIterator<MailStoreEvent>, Disposable {
  /** Unsubscribes; a pending `next()` resolves as done. */
  close(): void;
}

/**
 * What changed in a {@linkcode MailboxView} since its last sync, in the order
 * an IMAP server sends it (RFC 3501 §7.4.1, §7.3.1, §7.4.2).
 */
export interface MailboxViewUpdate {
  /**
   * The sequence numbers for the `* n EXPUNGE` responses, in the order to
   * send them: each is valid after the ones before it were applied.
   */
  readonly expunged: readonly number[];
  /** The new message count for `* n EXISTS` when messages were added, else `undefined`. */
  readonly exists: number | undefined;
  /** The new count for `* n RECENT` when `exists` is set, else `undefined`. */
  readonly recent: number | undefined;
  /** Messages whose flags other sessions changed: `* seq FETCH (FLAGS ...)`. */
  readonly flags: readonly { readonly seq: number; readonly message: MailMessageInfo }[];
  /** Whether the folder was deleted or renamed away: the session should end (`* BYE`). */
  readonly deleted: boolean;
}

/** The result of {@linkcode MailboxView.move}. */
export interface MailboxViewMoveResult extends MailCopyResult {
  /** The sequence numbers for the `* n EXPUNGE` responses of the moved messages. */
  readonly expunged: readonly number[];
}

/**
 * One IMAP session's view of a selected mailbox: a snapshot that maps
 * sequence numbers to UIDs and changes only when {@linkcode MailboxView.sync}
 * is called (or through the view's own `expunge()` and `move()`), so that
 * sequence numbers stay stable while commands run (RFC 3501 §7.4.1: no
 * `EXPUNGE` during `FETCH`, `STORE` or `SEARCH`). Changes by other sessions,
 * by deliveries and by rescans queue up until then; memory stays bounded by
 * the mailbox size.
 */
export interface MailboxView extends AsyncDisposable {
  /** The user. */
  readonly user: string;
  /** The folder. */
  readonly folder: string;
  /** Whether the view refuses changes (`EXAMINE`). */
  readonly readOnly: boolean;
  /** The folder's UID validity. */
  readonly uidValidity: number;
  /** The number of messages in the snapshot (`* n EXISTS`). */
  readonly exists: number;
  /** The number of messages in the snapshot that are recent in this session. */
  readonly recent: number;
  /** The UID the next message gets at least, as of the last sync. */
  readonly uidNext: number;
  /** Whether the view was closed or its folder deleted. */
  readonly closed: boolean;
  /** The UIDs in sequence order (index 0 is sequence number 1). */
  readonly uids: readonly number[];
  /** The UID of sequence number `seq`, or `undefined` when out of range. */
  uidAt(seq: number): number | undefined;
  /** The sequence number of `uid`, or `undefined` when it is not in the snapshot. */
  seqOf(uid: number): number | undefined;
  /** The snapshot of the message with sequence number `seq`, flags as last synced. */
  message(seq: number): MailMessageInfo | undefined;
  /** The snapshot of the message with UID `uid`, flags as last synced. */
  messageByUid(uid: number): MailMessageInfo | undefined;
  /** Whether `uid` is `\Recent` in this session. */
  isRecent(uid: number): boolean;
  /** The keywords used in the snapshot, sorted (for the `FLAGS` response). */
  keywords(): string[];
  /** Whether changes are waiting for {@linkcode MailboxView.sync}. */
  readonly pending: boolean;
  /**
   * Resolves when changes are waiting (immediately if some already are), or
   * when the view closes: what `IDLE` waits for (RFC 2177).
   *
   * @param signal Rejects with the signal's reason when aborted.
   */
  changed(signal?: AbortSignal): Promise<void>;
  /** Applies the queued changes to the snapshot and reports them. */
  sync(): MailboxViewUpdate;
  /**
   * Changes flags through the store. The snapshot is updated at once and
   * the change is not reported back to this view; other views see it on
   * their next sync. UIDs not in the snapshot are ignored.
   *
   * @returns The changed messages' new snapshots, for the `FETCH` responses.
   * @throws {MailStoreError} `"READ_ONLY"`, `"BAD_FLAG"`, `"LIMIT"`, `"CLOSED"`.
   */
  setFlags(
    uids: readonly number[],
    flags: readonly string[],
    options?: MailSetFlagsOptions,
  ): Promise<MailMessageInfo[]>;
  /**
   * Expunges the messages of the snapshot that have `\Deleted`, or only those
   * among `uids` (`UID EXPUNGE`, RFC 4315), and removes them from the snapshot.
   *
   * @returns The sequence numbers for the `* n EXPUNGE` responses, in order.
   * @throws {MailStoreError} `"READ_ONLY"`, `"CLOSED"`.
   */
  expunge(uids?: readonly number[]): Promise<number[]>;
  /**
   * Moves messages of the snapshot to another folder (RFC 6851) and removes
   * them from the snapshot.
   *
   * @throws {MailStoreError} `"READ_ONLY"`, `"NONEXISTENT"`, `"CLOSED"`.
   */
  move(uids: readonly number[], folder: string): Promise<MailboxViewMoveResult>;
  /**
   * Streams a message's bytes like {@linkcode MailStore.readMessage}; works
   * for any UID the store still has.
   *
   * @throws {MailStoreError} `"EXPUNGED"`.
   */
  read(uid: number, options?: MailReadOptions): Promise<ReadableStream<Uint8Array>>;
  /** Unsubscribes from changes; later calls that need the store throw `"CLOSED"`. */
  close(): void;
}

/**
 * A POP3 maildrop lock (RFC 1939 §8: exclusive access) with the snapshot of
 * the messages at locking time: POP3 message number `n` is `messages[n - 1]`.
 * Release it with `await using` or in a `finally`, so that it is released
 * after errors too. Deliveries and IMAP sessions go on while it is held;
 * only other lockers are refused.
 */
export interface MailboxLock extends AsyncDisposable {
  /** The user. */
  readonly user: string;
  /** The folder. */
  readonly folder: string;
  /** The folder's UID validity. */
  readonly uidValidity: number;
  /** The messages at locking time, ascending by UID. */
  readonly messages: readonly MailMessageInfo[];
  /** Whether the lock was released. */
  readonly released: boolean;
  /** Releases the lock; calling it again does nothing. */
  release(): void;
}

/**
 * A mail store. All methods take the user first and, for mailbox methods,
 * the folder second.
 *
 * @example Delivering a message and reading it back
 * ```ts
 * import { MemoryMailStore } from "@inetkit/inetkit/mail";
 * import type { MailStore } from "./mail_store.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using store: MailStore = new MemoryMailStore();
 * const { uid } = await store.deliver("mulder", "INBOX", new TextEncoder().encode("Subject: hi\r\n\r\nx\r\n"));
 * assertEquals(uid, 1);
 * const [info] = await store.listMessages("mulder", "INBOX");
 * assertEquals(info?.size, 18);
 * const text = await new Response(await store.readMessage("mulder", "INBOX", uid)).text();
 * assertEquals(text, "Subject: hi\r\n\r\nx\r\n");
 * ```
 */
export interface MailStore extends AsyncDisposable {
  /** The hierarchy delimiter, `"."`. */
  readonly delimiter: string;

  /**
   * Lists the user's folders: `INBOX` first, then the others sorted, with
   * levels that exist only as parents marked not selectable. An IMAP server
   * filters this list with the `LIST` patterns.
   */
  listFolders(user: string): Promise<MailFolderInfo[]>;
  /**
   * Creates a folder and the parent levels it lacks (RFC 3501 §6.3.3).
   *
   * @throws {MailStoreError} `"ALREADY_EXISTS"`, `"BAD_NAME"`.
   */
  createFolder(user: string, folder: string): Promise<void>;
  /**
   * Deletes a folder with its messages; children stay (RFC 3501 §6.3.4) and
   * subscriptions stay. Open views get a `"deleted"` event.
   *
   * @throws {MailStoreError} `"NONEXISTENT"`, `"CANNOT"` for `INBOX`, `"BAD_NAME"`.
   */
  deleteFolder(user: string, folder: string): Promise<void>;
  /**
   * Renames a folder with its children, keeping UIDs and the UID validity,
   * and renames their subscriptions. Renaming `INBOX` moves its messages to a
   * new folder and leaves `INBOX` empty (RFC 3501 §6.3.5).
   *
   * @throws {MailStoreError} `"NONEXISTENT"`, `"ALREADY_EXISTS"`, `"CANNOT"` (into itself), `"BAD_NAME"`.
   */
  renameFolder(user: string, from: string, to: string): Promise<void>;
  /** Lists the subscribed names (IMAP `LSUB`), sorted; they need not exist. */
  listSubscriptions(user: string): Promise<string[]>;
  /**
   * Adds a name to the subscriptions (IMAP `SUBSCRIBE`).
   *
   * @throws {MailStoreError} `"BAD_NAME"`.
   */
  subscribe(user: string, folder: string): Promise<void>;
  /** Removes a name from the subscriptions (IMAP `UNSUBSCRIBE`); an absent name is no error. */
  unsubscribe(user: string, folder: string): Promise<void>;

  /**
   * Stores a message durably and only then resolves with its UID: the
   * promise an SMTP server needs before it answers `250`. Line ends are
   * normalized to CRLF. A failed or aborted body leaves nothing behind.
   *
   * @param body The message as bytes or as a stream, read once.
   * @throws {MailStoreError} `"TOO_LARGE"`, `"NONEXISTENT"`, `"BAD_FLAG"`, `"BAD_NAME"`.
   */
  deliver(
    user: string,
    folder: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    options?: MailDeliverOptions,
  ): Promise<MailDeliverResult>;
  /**
   * The folder's counters.
   *
   * @throws {MailStoreError} `"NONEXISTENT"`.
   */
  status(user: string, folder: string): Promise<MailFolderStatus>;
  /**
   * The folder's messages, ascending by UID, as the store knows them now.
   *
   * @throws {MailStoreError} `"NONEXISTENT"`.
   */
  listMessages(user: string, folder: string): Promise<MailMessageInfo[]>;
  /**
   * Streams a message's bytes (CRLF line ends) or a range of them, read from
   * disk as the stream is pulled. Cancel the stream if you stop early.
   *
   * @throws {MailStoreError} `"EXPUNGED"`, `"NONEXISTENT"`.
   */
  readMessage(
    user: string,
    folder: string,
    uid: number,
    options?: MailReadOptions,
  ): Promise<ReadableStream<Uint8Array>>;
  /**
   * Changes the flags of messages; UIDs that do not exist are ignored.
   *
   * @returns The changed messages with their new flags.
   * @throws {MailStoreError} `"BAD_FLAG"`, `"LIMIT"`, `"NONEXISTENT"`.
   */
  setFlags(
    user: string,
    folder: string,
    uids: readonly number[],
    flags: readonly string[],
    options?: MailSetFlagsOptions,
  ): Promise<MailMessageInfo[]>;
  /**
   * Removes messages for good (POP3 commit at `QUIT`, IMAP `EXPUNGE`);
   * UIDs that do not exist are ignored. Their UIDs are never given out again.
   *
   * @returns The expunged UIDs, ascending.
   * @throws {MailStoreError} `"NONEXISTENT"`.
   */
  expunge(user: string, folder: string, uids: readonly number[]): Promise<number[]>;
  /**
   * Copies messages with their flags and internal dates to another folder
   * (IMAP `COPY`); the copies get new UIDs there.
   *
   * @throws {MailStoreError} `"NONEXISTENT"`.
   */
  copy(user: string, from: string, uids: readonly number[], to: string): Promise<MailCopyResult>;
  /**
   * Moves messages to another folder (IMAP `MOVE`, RFC 6851): copies, then
   * expunges them from the source.
   *
   * @throws {MailStoreError} `"NONEXISTENT"`.
   */
  move(user: string, from: string, uids: readonly number[], to: string): Promise<MailCopyResult>;
  /**
   * Looks for changes made by other tools (new files, removed files, renamed
   * flags) and reports them as events. Opening a view or a lock rescans too.
   *
   * @throws {MailStoreError} `"NONEXISTENT"`.
   */
  rescan(user: string, folder: string): Promise<void>;

  /**
   * Opens an IMAP session's view (`SELECT`, or `EXAMINE` with `readOnly`).
   * A read-write view claims the messages that are still recent.
   *
   * @throws {MailStoreError} `"NONEXISTENT"`.
   */
  openView(user: string, folder: string, options?: MailViewOptions): Promise<MailboxView>;
  /**
   * Takes the POP3 maildrop lock of a folder.
   *
   * @throws {MailStoreError} `"IN_USE"` when another session holds it, `"NONEXISTENT"`.
   */
  lockMailbox(user: string, folder: string): Promise<MailboxLock>;
  /** Subscribes to a folder's changes (for IMAP `IDLE` or a `NOTIFY`-like feature). */
  watch(user: string, folder: string, options?: MailWatchOptions): MailStoreWatch;

  /** Closes views, locks and watches and writes what is pending. Later calls throw `"CLOSED"`. */
  close(): Promise<void>;
}
