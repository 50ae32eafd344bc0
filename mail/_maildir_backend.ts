/**
 * The Maildir++ backend of {@linkcode MaildirStore}: one Maildir per user,
 * `INBOX` in its root, each other folder in a `.<name>` directory (name in
 * modified UTF-7, levels joined by `.`) with a `maildirfolder` marker.
 * Message files are `<unique>,U=<uid>,S=<file size>,W=<CRLF size>` in
 * `new/` and `<unique>,U=..,S=..,W=..:2,<letters>` in `cur/`; the index is
 * `inetkit-uidlist` per folder, subscriptions are `inetkit-subscriptions`
 * in the Maildir root.
 *
 * A delivery costs two fsyncs: the message file before its rename from
 * `tmp/` into `new/` (or `cur/`), and that directory after it. Its index
 * line is appended (one `write(2)`) without an fsync of its own, because
 * the file name carries the UID (`,U=`): a crash of the process loses
 * nothing that was written, and when a crash of the machine loses the
 * line, loading the folder finds the file without an index entry and gives
 * it the UID of its name again (only a UID at or above the index's next
 * UID is taken from a name, once, so no UID is handed out twice). Every
 * other change of the index (expunge, copy, move, keywords) is appended
 * and fsynced before it resolves, after making earlier deliveries' lines
 * durable; the index is rewritten atomically when it has grown to about
 * twice its live entries.
 *
 * @module
 */
import type {
  Box,
  BoxChange,
  FoundRec,
  LoadedBox,
  MailBackend,
  RawRec,
  Rec,
  ScanResult,
  Staged,
} from "./_mail_store_engine.ts";
import { MailStoreError } from "./mail_store_error.ts";
import { checkFolder, isSystemFlag, orderFlags, quoteName } from "./_mail_store_names.ts";
import { LfNormalizer } from "./_mail_store_crlf.ts";
import { decodeImapUtf7, encodeImapUtf7 } from "./imap_utf7.ts";
import {
  formatUidlist,
  formatUidlistEntry,
  parseDovecotUidlist,
  parseUidlist,
  type UidlistEntry,
} from "./_maildir_uidlist.ts";
import {
  appendText,
  crlfSizeOf,
  formatInfo,
  isMessageName,
  openMessageStream,
  parseInfo,
  readTextIfExists,
  sizeInName,
  splitName,
  SYNC_READ_MAX,
  syncDir,
  uniqueName,
  writeAtomic,
} from "./_maildir_fs.ts";
import {
  HEADER_CACHE_MAX,
  HeaderCache,
  HeaderCapture,
  headerEnd,
  HEADERS_NAME,
} from "./_maildir_headers.ts";
import { MessageCache } from "./_maildir_message_cache.ts";
import { copyBytes } from "../net/_bytes.ts";
import { writeAll, writeAllSync } from "../net/_io.ts";

/** The index file name in each folder. */
export const UIDLIST_NAME = "inetkit-uidlist";
/** The subscriptions file name in the Maildir root. */
export const SUBSCRIPTIONS_NAME = "inetkit-subscriptions";
/** Files in `tmp/` older than this are removed when a folder is loaded (the Maildir rule). */
const STALE_TMP_MS = 36 * 60 * 60 * 1000;
/** The index is rewritten when it has more lines than twice the messages plus this. */
const COMPACT_SLACK = 64;
const MAX_UID = 0xffffffff;

/**
 * What the index file of a loaded box holds, as far as appends go: kept
 * on the box ({@linkcode Box.index}).
 */
interface IndexState {
  /** Lines after the header. */
  lines: number;
  /** The next UID and first recent UID the file gives. */
  uidNext: number;
  firstRecent: number;
  /** The keywords the file gives per UID, joined by spaces. */
  keywords: Map<number, string>;
  /** Whether appended lines wait for an fsync (deliveries, whose names carry their UIDs). */
  unsynced: boolean;
  /** Whether an append failed, so that the file must be rewritten before the next one. */
  broken: boolean;
}

type Sub = "new" | "cur";

/** Where a message file is. */
interface MRef {
  base: string;
  dir: Sub;
  name: string;
}

interface MStaged extends Staged {
  unique: string;
  tmpPath: string;
  size: number;
  fileSize: number;
  published: boolean;
  /** The message's header, for the header cache. */
  header: Uint8Array | undefined;
  /** The message's octets, for the message cache (a small message of a CRLF store). */
  bytes: Uint8Array | undefined;
}

/** Options of the backend. */
export interface MaildirBackendOptions {
  maildirOf: (user: string) => string;
  lineEnding: "crlf" | "lf";
  /** The most octets of small messages kept in memory (see {@linkcode MessageCache}). */
  cacheSize: number;
}

export class MaildirBackend implements MailBackend {
  readonly #maildirOf: (user: string) => string;
  readonly #lf: boolean;
  /** The header cache of each loaded box. */
  readonly #headers = new WeakMap<Box, HeaderCache>();
  /** Small messages just delivered or read, by folder and base name. */
  readonly #messages: MessageCache | undefined;

  constructor(options: MaildirBackendOptions) {
    this.#maildirOf = options.maildirOf;
    this.#lf = options.lineEnding === "lf";
    // Only the octets of a CRLF store are the octets served.
    this.#messages = this.#lf || options.cacheSize === 0
      ? undefined
      : new MessageCache(options.cacheSize);
  }

  #maildir(user: string): string {
    return this.#maildirOf(user);
  }

  /** The directory of a folder. */
  folderDir(user: string, folder: string): string {
    const root = this.#maildir(user);
    return folder === "INBOX" ? root : `${root}/.${encodeImapUtf7(folder)}`;
  }

  async #ensureMaildir(user: string): Promise<string> {
    const root = this.#maildir(user);
    for (const sub of ["cur", "new", "tmp"]) {
      await Deno.mkdir(`${root}/${sub}`, { recursive: true, mode: 0o700 });
    }
    return root;
  }

  async folderNames(user: string): Promise<string[]> {
    const root = this.#maildir(user);
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(root)) {
        if (!entry.isDirectory || !entry.name.startsWith(".") || entry.name.length < 2) continue;
        const decoded = decodeFolderName(entry.name.slice(1));
        if (decoded === undefined || decoded === "INBOX") continue;
        let canonical: string;
        try {
          canonical = checkFolder(decoded);
        } catch {
          continue;
        }
        if (canonical !== decoded) continue;
        if (await isDir(`${root}/${entry.name}/cur`)) names.push(decoded);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    return names;
  }

  async folderExists(user: string, folder: string): Promise<boolean> {
    return folder === "INBOX" || await isDir(`${this.folderDir(user, folder)}/cur`);
  }

  async createFolder(user: string, folder: string, uidValidity: number): Promise<void> {
    const root = await this.#ensureMaildir(user);
    const build = `${root}/tmp/${uniqueName()}.inetkit-new`;
    try {
      await Deno.mkdir(build, { mode: 0o700 });
      for (const sub of ["cur", "new", "tmp"]) await Deno.mkdir(`${build}/${sub}`, { mode: 0o700 });
      await Deno.writeFile(`${build}/maildirfolder`, new Uint8Array(0), { mode: 0o600 });
      const index = formatUidlist({ uidValidity, uidNext: 1, firstRecent: 1 }, []);
      const file = await Deno.open(`${build}/${UIDLIST_NAME}`, {
        write: true,
        createNew: true,
        mode: 0o600,
      });
      try {
        await writeAll(file, new TextEncoder().encode(index));
        await file.sync();
      } finally {
        file.close();
      }
      await syncDir(build);
      const target = this.folderDir(user, folder);
      if (await exists(target)) {
        throw new MailStoreError(
          "ALREADY_EXISTS",
          `Cannot create folder ${quoteName(folder)}: it exists`,
        );
      }
      await Deno.rename(build, target);
    } catch (error) {
      await Deno.remove(build, { recursive: true }).catch(() => {});
      throw error;
    }
    await syncDir(root);
  }

  async removeFolder(user: string, folder: string): Promise<void> {
    const root = await this.#ensureMaildir(user);
    // Rename first, so the folder disappears at once; then delete at leisure.
    const trash = `${root}/tmp/${uniqueName()}.inetkit-trash`;
    await Deno.rename(this.folderDir(user, folder), trash);
    await syncDir(root);
    await Deno.remove(trash, { recursive: true });
  }

  async renameFolder(user: string, from: string, to: string): Promise<void> {
    const root = this.#maildir(user);
    const target = this.folderDir(user, to);
    if (await exists(target)) {
      throw new MailStoreError(
        "ALREADY_EXISTS",
        `Cannot rename folder to ${quoteName(to)}: it exists`,
      );
    }
    await Deno.rename(this.folderDir(user, from), target);
    await syncDir(root);
  }

  async readSubscriptions(user: string): Promise<string[]> {
    const text = await readTextIfExists(`${this.#maildir(user)}/${SUBSCRIPTIONS_NAME}`);
    if (text === undefined) return [];
    const names = new Set<string>();
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        names.add(checkFolder(line));
      } catch {
        // A hand-edited line that is no valid name is skipped.
      }
    }
    return [...names];
  }

  async writeSubscriptions(user: string, names: readonly string[]): Promise<void> {
    const root = await this.#ensureMaildir(user);
    const text = names.map((n) => n + "\n").join("");
    await writeAtomic(
      `${root}/${SUBSCRIPTIONS_NAME}`,
      root,
      `${root}/tmp`,
      new TextEncoder().encode(text),
    );
  }

  async #cleanTmp(dir: string): Promise<void> {
    const now = Date.now();
    try {
      for await (const entry of Deno.readDir(`${dir}/tmp`)) {
        const path = `${dir}/tmp/${entry.name}`;
        try {
          const info = await Deno.lstat(path);
          const mtime = info.mtime?.getTime() ?? now;
          if (now - mtime < STALE_TMP_MS) continue;
          if (entry.isDirectory && !/\.inetkit-(trash|new)$/.test(entry.name)) continue;
          await Deno.remove(path, { recursive: entry.isDirectory });
        } catch {
          // Gone already, or not ours to remove.
        }
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /** The message files of a folder by base name; `cur/` wins over `new/`. */
  async #listDisk(dir: string): Promise<Map<string, MRef>> {
    const found = new Map<string, MRef>();
    for (const sub of ["new", "cur"] as const) {
      try {
        for await (const entry of Deno.readDir(`${dir}/${sub}`)) {
          if (!entry.isFile || !isMessageName(entry.name)) continue;
          const { base } = splitName(entry.name);
          found.set(base, { base, dir: sub, name: entry.name });
        }
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw new MailStoreError(
            "NONEXISTENT",
            `Cannot scan folder directory ${quoteName(dir)}: it is gone`,
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    }
    return found;
  }

  /** A found file without a UID: its date from the mtime, its size from `,W=` or by reading. */
  async #found(dir: string, ref: MRef): Promise<FoundRec | undefined> {
    const path = `${dir}/${ref.dir}/${ref.name}`;
    try {
      const info = await Deno.stat(path);
      const mtime = info.mtime?.getTime() ?? Date.now();
      const size = sizeInName(ref.base) ?? await crlfSizeOf(path);
      return {
        flags: orderFlags(parseInfo(splitName(ref.name).info).flags),
        internalDate: Math.floor(mtime / 1000) * 1000,
        size,
        ref,
      };
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  async #foundAll(dir: string, refs: Iterable<MRef>): Promise<FoundRec[]> {
    const found: FoundRec[] = [];
    for (const ref of refs) {
      const rec = await this.#found(dir, ref);
      if (rec !== undefined) found.push(rec);
    }
    const nameOf = (r: FoundRec) => (r.ref as MRef).base;
    return found.sort((a, b) =>
      a.internalDate - b.internalDate ||
      (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0)
    );
  }

  async load(
    user: string,
    folder: string,
    newUidValidity: (above?: number) => number,
  ): Promise<LoadedBox> {
    if (folder === "INBOX") await this.#ensureMaildir(user);
    const dir = this.folderDir(user, folder);
    await this.#cleanTmp(dir);
    const text = await readTextIfExists(`${dir}/${UIDLIST_NAME}`);
    const index = text === undefined ? undefined : parseUidlist(text);
    const disk = await this.#listDisk(dir);
    let uidValidity: number;
    let uidNext: number;
    let firstRecent: number;
    // A torn last line is rewritten, or the next append would continue it.
    let dirty = index === undefined || index.torn;
    const known = new Map<string, Partial<UidlistEntry> & { uid: number }>();
    if (index !== undefined) {
      ({ uidValidity, uidNext, firstRecent } = index);
      for (const [base, entry] of index.entries) known.set(base, entry);
    } else {
      const dovecot = text === undefined
        ? parseDovecotUidlist(await readTextIfExists(`${dir}/dovecot-uidlist`) ?? "")
        : undefined;
      if (dovecot !== undefined) {
        uidValidity = dovecot.uidValidity;
        uidNext = dovecot.uidNext;
        firstRecent = uidNext;
        for (const [base, entry] of dovecot.entries) {
          known.set(base, { uid: entry.uid, size: entry.size });
        }
      } else {
        // No index, or a torn one: a new UID validity tells clients to resync.
        const old = text === undefined
          ? undefined
          : /^inetkit-uidlist [12] V(\d{1,10}) /.exec(text);
        uidValidity = newUidValidity(old ? Number(old[1]) : 0);
        uidNext = 1;
        firstRecent = 1;
      }
    }
    const records: RawRec[] = [];
    for (const [base, entry] of [...known].sort((a, b) => a[1].uid - b[1].uid)) {
      const ref = disk.get(base);
      if (ref === undefined) {
        dirty = true;
        continue;
      }
      disk.delete(base);
      let { size, internalDate } = entry;
      if (size === undefined || internalDate === undefined) {
        const found = await this.#found(dir, ref);
        if (found === undefined) {
          dirty = true;
          continue;
        }
        size ??= found.size;
        internalDate ??= found.internalDate;
        dirty = true;
      }
      records.push({
        uid: entry.uid,
        flags: flagsOf(ref, entry.keywords ?? []),
        internalDate,
        size,
        ref,
      });
    }
    if (index !== undefined) {
      // Deliveries whose index lines a crash lost: their names give their UIDs.
      const hinted = new Map<number, MRef>();
      for (const ref of disk.values()) {
        const uid = sizeField(ref.base, "U");
        if (uid === undefined || uid < uidNext || uid > MAX_UID || hinted.has(uid)) continue;
        hinted.set(uid, ref);
      }
      for (const [uid, ref] of [...hinted].sort((a, b) => a[0] - b[0])) {
        const found = await this.#found(dir, ref);
        disk.delete(ref.base);
        if (found === undefined) continue;
        records.push({
          uid,
          flags: found.flags,
          internalDate: found.internalDate,
          size: found.size,
          ref,
        });
        uidNext = uid + 1;
        dirty = true;
      }
    }
    const added = await this.#foundAll(dir, disk.values());
    const state: IndexState = {
      lines: index?.lines ?? 0,
      uidNext,
      firstRecent,
      keywords: new Map(records.map((r) => [r.uid, keywordsOfFlags(r.flags)])),
      unsynced: false,
      broken: dirty,
    };
    return { uidValidity, uidNext, firstRecent, records, added, dirty, index: state };
  }

  async scan(box: Box): Promise<ScanResult> {
    const dir = this.folderDir(box.user, box.folder);
    const disk = await this.#listDisk(dir);
    const removed: number[] = [];
    const changed: ScanResult["changed"] = [];
    for (const rec of box.records) {
      const ref = rec.ref as MRef;
      const now = disk.get(ref.base);
      if (now === undefined) {
        removed.push(rec.uid);
        continue;
      }
      disk.delete(ref.base);
      if (now.name !== ref.name || now.dir !== ref.dir) {
        changed.push({ uid: rec.uid, flags: flagsOf(now, keywordsOf(rec)), ref: now });
      }
    }
    const added = await this.#foundAll(dir, disk.values());
    return { added, removed, changed };
  }

  async save(box: Box, change?: BoxChange): Promise<void> {
    const state = box.index as IndexState | undefined;
    if (
      change === undefined || state === undefined || state.broken ||
      state.lines > 2 * box.records.length + COMPACT_SLACK
    ) {
      await this.#rewrite(box);
      return;
    }
    let text = "";
    let lines = 0;
    // Lines whose loss in a crash of the machine would matter.
    let durable = false;
    const keywords = new Map<number, string | undefined>();
    for (const uid of change.removed ?? []) {
      text += `-${uid}\n`;
      lines++;
      keywords.set(uid, undefined);
      durable = true;
    }
    let uidNext = state.uidNext;
    for (const rec of change.added ?? []) {
      text += formatUidlistEntry(entryOf(rec));
      lines++;
      keywords.set(rec.uid, keywordsOf(rec).join(" "));
      uidNext = Math.max(uidNext, rec.uid + 1);
      if (sizeField((rec.ref as MRef).base, "U") !== rec.uid) durable = true;
    }
    for (const rec of change.changed ?? []) {
      const words = keywordsOf(rec).join(" ");
      const logged = keywords.has(rec.uid) ? keywords.get(rec.uid) : state.keywords.get(rec.uid);
      if (logged === undefined || logged === words) continue;
      text += formatUidlistEntry(entryOf(rec));
      lines++;
      keywords.set(rec.uid, words);
      durable = true;
    }
    if (box.uidNext > uidNext) {
      text += `N${box.uidNext}\n`;
      lines++;
      uidNext = box.uidNext;
      durable = true;
    }
    if (box.firstRecent !== state.firstRecent) {
      // Losing this only shows messages as \Recent once more.
      text += `R${box.firstRecent}\n`;
      lines++;
    }
    if (text === "") return;
    const dir = this.folderDir(box.user, box.folder);
    try {
      await appendText(`${dir}/${UIDLIST_NAME}`, text, durable);
    } catch {
      // Gone or cut short: the whole index from memory replaces it (or this throws).
      state.broken = true;
      await this.#rewrite(box);
      return;
    }
    state.lines += lines;
    state.uidNext = uidNext;
    state.firstRecent = box.firstRecent;
    for (const [uid, words] of keywords) {
      if (words === undefined) state.keywords.delete(uid);
      else state.keywords.set(uid, words);
    }
    // An fsync makes every earlier append durable too.
    state.unsynced = !durable;
  }

  /** Rewrites the whole index atomically. */
  async #rewrite(box: Box): Promise<void> {
    const dir = this.folderDir(box.user, box.folder);
    const text = formatUidlist(box, box.records.map(entryOf));
    await writeAtomic(`${dir}/${UIDLIST_NAME}`, dir, `${dir}/tmp`, new TextEncoder().encode(text));
    box.index = {
      lines: box.records.length,
      uidNext: box.uidNext,
      firstRecent: box.firstRecent,
      keywords: new Map(box.records.map((r) => [r.uid, keywordsOf(r).join(" ")])),
      unsynced: false,
      broken: false,
    } satisfies IndexState;
  }

  /**
   * Makes appended index lines durable before a change that could lose
   * the UIDs they record: removing or moving away a message whose name
   * is all that would tell its UID after a crash.
   */
  async #settle(box: Box): Promise<void> {
    const state = box.index as IndexState | undefined;
    if (state === undefined || !state.unsynced) return;
    const dir = this.folderDir(box.user, box.folder);
    const file = Deno.openSync(`${dir}/${UIDLIST_NAME}`, { append: true });
    try {
      await file.syncData();
    } finally {
      file.close();
    }
    state.unsynced = false;
  }

  async stage(box: Box, chunks: AsyncIterable<Uint8Array>, internalDate: number): Promise<Staged> {
    const dir = this.folderDir(box.user, box.folder);
    const unique = uniqueName();
    const tmpPath = `${dir}/tmp/${unique}`;
    // Creating a file can wait for the disk (inode allocation): asynchronous.
    const file = await Deno.open(tmpPath, { write: true, createNew: true, mode: 0o600 });
    let size = 0;
    let fileSize = 0;
    const lf = this.#lf ? new LfNormalizer() : undefined;
    const capture = new HeaderCapture();
    let kept: Uint8Array[] | undefined = this.#messages === undefined ? undefined : [];
    try {
      try {
        for await (const chunk of chunks) {
          if (size < HEADER_CACHE_MAX) capture.push(chunk);
          if (kept !== undefined) {
            if (size + chunk.length <= SYNC_READ_MAX) kept.push(chunk.slice());
            else kept = undefined;
          }
          size += chunk.length;
          const out = lf === undefined ? chunk : lf.push(chunk);
          writeAllSync(file, out);
          fileSize += out.length;
        }
        if (lf !== undefined) {
          const rest = lf.flush();
          writeAllSync(file, rest);
          fileSize += rest.length;
        }
        file.utimeSync(new Date(), new Date(internalDate));
        await file.sync();
      } finally {
        file.close();
      }
    } catch (error) {
      await Deno.remove(tmpPath).catch(() => {});
      throw error;
    }
    const staged: MStaged = {
      unique,
      tmpPath,
      size,
      fileSize,
      published: false,
      header: capture.header,
      bytes: kept === undefined ? undefined : kept.length === 1 ? kept[0] : copyBytes(kept, size),
      async discard() {
        if (staged.published) return;
        staged.published = true;
        await Deno.remove(tmpPath).catch(() => {});
      },
    };
    return staged;
  }

  async publish(
    box: Box,
    staged: Staged,
    flags: readonly string[],
    uid: number,
  ): Promise<unknown> {
    const s = staged as MStaged;
    const dir = this.folderDir(box.user, box.folder);
    const base = `${s.unique},U=${uid},S=${s.fileSize},W=${s.size}`;
    const sub: Sub = flags.length > 0 ? "cur" : "new";
    const name = sub === "cur" ? `${base}:${formatInfo(flags, "")}` : base;
    const path = `${dir}/${sub}/${name}`;
    Deno.renameSync(s.tmpPath, path);
    s.published = true;
    try {
      await syncDir(`${dir}/${sub}`);
    } catch (error) {
      await Deno.remove(path).catch(() => {});
      throw error;
    }
    // The delivery is durable: the header cache gets its record (a failure is ignored).
    if (s.header !== undefined) this.#headerCache(box)?.add(uid, base, s.header, true);
    if (s.bytes !== undefined) this.#messages?.set(`${dir}/${base}`, s.bytes);
    return { base, dir: sub, name } satisfies MRef;
  }

  async unpublish(box: Box, ref: unknown): Promise<void> {
    const r = ref as MRef;
    const dir = this.folderDir(box.user, box.folder);
    await Deno.remove(`${dir}/${r.dir}/${r.name}`);
    await syncDir(`${dir}/${r.dir}`);
  }

  #path(box: Box, ref: MRef): string {
    return `${this.folderDir(box.user, box.folder)}/${ref.dir}/${ref.name}`;
  }

  /** Finds a message file again after another tool renamed it. */
  async #locate(box: Box, rec: Rec): Promise<MRef> {
    const ref = rec.ref as MRef;
    const dir = this.folderDir(box.user, box.folder);
    const now = (await this.#listDisk(dir)).get(ref.base);
    if (now === undefined) {
      throw new MailStoreError(
        "EXPUNGED",
        `Cannot find message ${rec.uid} in ${quoteName(box.folder)}: it was removed`,
      );
    }
    rec.ref = now;
    return now;
  }

  async copyIn(from: Box, rec: Rec, to: Box): Promise<unknown> {
    let ref = rec.ref as MRef;
    let source = this.#path(from, ref);
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(source);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      ref = await this.#locate(from, rec);
      source = this.#path(from, ref);
      stat = await Deno.stat(source);
    }
    const toDir = this.folderDir(to.user, to.folder);
    const base = `${uniqueName()},S=${stat.size},W=${rec.info.size}`;
    const name = `${base}:${formatInfo(rec.info.flags, keptLetters(ref))}`;
    const target = `${toDir}/cur/${name}`;
    try {
      // Maildir files never change, so a hard link is a copy.
      await Deno.link(source, target);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw error;
      const tmp = `${toDir}/tmp/${uniqueName()}`;
      try {
        await Deno.copyFile(source, tmp);
        const file = await Deno.open(tmp, { read: true, write: true });
        try {
          await file.utime(new Date(), rec.info.internalDate);
          await file.sync();
        } finally {
          file.close();
        }
        await Deno.rename(tmp, target);
      } catch (copyError) {
        await Deno.remove(tmp).catch(() => {});
        throw copyError;
      }
    }
    return { base, dir: "cur", name } satisfies MRef;
  }

  async moveIn(from: Box, rec: Rec, to: Box): Promise<unknown | undefined> {
    await this.#settle(from);
    const ref = rec.ref as MRef;
    const name = `${ref.base}:${formatInfo(rec.info.flags, keptLetters(ref))}`;
    const target = `${this.folderDir(to.user, to.folder)}/cur/${name}`;
    try {
      await Deno.rename(this.#path(from, ref), target);
    } catch {
      // Another device, or renamed by another tool: the caller copies instead.
      return undefined;
    }
    return { base: ref.base, dir: "cur", name } satisfies MRef;
  }

  async flush(box: Box): Promise<void> {
    const dir = this.folderDir(box.user, box.folder);
    await syncDir(`${dir}/new`);
    await syncDir(`${dir}/cur`);
  }

  async remove(box: Box, recs: readonly Rec[]): Promise<void> {
    await this.#settle(box);
    let failure: unknown;
    const dir = this.folderDir(box.user, box.folder);
    for (const rec of recs) {
      this.#messages?.delete(`${dir}/${(rec.ref as MRef).base}`);
      try {
        await Deno.remove(this.#path(box, rec.ref as MRef));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          // Renamed by another tool since the last scan: find it and remove it there.
          const now = (await this.#listDisk(this.folderDir(box.user, box.folder))).get(
            (rec.ref as MRef).base,
          );
          if (now !== undefined) {
            await Deno.remove(this.#path(box, now)).catch((e) => failure ??= e);
          }
        } else {
          failure ??= error;
        }
      }
    }
    await this.flush(box);
    if (failure !== undefined) throw failure;
  }

  async setFlags(box: Box, rec: Rec, flags: readonly string[]): Promise<unknown> {
    let ref = rec.ref as MRef;
    const name = `${ref.base}:${formatInfo(flags, parseInfo(splitName(ref.name).info).extra)}`;
    if (ref.dir === "cur" && ref.name === name) return ref;
    const dir = this.folderDir(box.user, box.folder);
    try {
      await Deno.rename(this.#path(box, ref), `${dir}/cur/${name}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      ref = await this.#locate(box, rec);
      await Deno.rename(this.#path(box, ref), `${dir}/cur/${name}`);
    }
    return { base: ref.base, dir: "cur", name } satisfies MRef;
  }

  async claimRecent(box: Box): Promise<void> {
    const dir = this.folderDir(box.user, box.folder);
    for (const rec of box.records) {
      const ref = rec.ref as MRef;
      if (ref.dir !== "new") continue;
      const info = splitName(ref.name).info;
      const name = info === undefined ? `${ref.base}:${formatInfo(rec.info.flags, "")}` : ref.name;
      try {
        await Deno.rename(this.#path(box, ref), `${dir}/cur/${name}`);
        rec.ref = { base: ref.base, dir: "cur", name } satisfies MRef;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  }

  async open(
    box: Box,
    rec: Rec,
    start: number,
    length: number,
  ): Promise<ReadableStream<Uint8Array>> {
    let ref = rec.ref as MRef;
    const fileSize = sizeField(ref.base, "S");
    const crlf = fileSize !== undefined ? fileSize === rec.info.size : undefined;
    try {
      return await this.#openAt(box, ref, rec, start, length, crlf);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      ref = await this.#locate(box, rec);
      return await this.#openAt(box, ref, rec, start, length, crlf);
    }
  }

  readSmall(box: Box, rec: Rec, start: number, length: number): Uint8Array | undefined {
    const ref = rec.ref as MRef;
    // Only whole files that hold the CRLF octets as served, small enough to read in one go.
    if (rec.info.size > SYNC_READ_MAX || sizeField(ref.base, "S") !== rec.info.size) {
      return undefined;
    }
    const dir = this.folderDir(box.user, box.folder);
    const key = `${dir}/${ref.base}`;
    let bytes = this.#messages?.get(key);
    if (bytes === undefined) {
      bytes = Deno.readFileSync(`${dir}/${ref.dir}/${ref.name}`);
      if (bytes.length !== rec.info.size) return undefined;
      this.#messages?.set(key, bytes);
    }
    return bytes.subarray(start, start + length);
  }

  readHeader(box: Box, rec: Rec): Uint8Array | undefined {
    const cache = this.#headerCache(box);
    if (cache === undefined) return undefined;
    const ref = rec.ref as MRef;
    const hit = cache.get(rec.uid, ref.base);
    if (hit !== undefined || cache.uncacheable(rec.uid)) return hit;
    // Not in the cache (delivered by another tool, or before the cache): from the file.
    const whole = this.readSmall(box, rec, 0, rec.info.size);
    if (whole === undefined) return undefined;
    const end = headerEnd(whole);
    if (end < 0) {
      cache.markUncacheable(rec.uid);
      return undefined;
    }
    const header = whole.slice(0, end);
    cache.add(rec.uid, ref.base, header, false);
    return header;
  }

  /** The header cache of a box, loaded on first use; none for a box that is gone. */
  #headerCache(box: Box): HeaderCache | undefined {
    if (box.gone) return undefined;
    let cache = this.#headers.get(box);
    if (cache === undefined || cache.uidValidity !== box.uidValidity) {
      try {
        const dir = this.folderDir(box.user, box.folder);
        cache = new HeaderCache(
          `${dir}/${HEADERS_NAME}`,
          `${dir}/tmp`,
          box.uidValidity,
          (uid, base) => (box.byUid.get(uid)?.ref as MRef | undefined)?.base === base,
        );
      } catch {
        return undefined;
      }
      this.#headers.set(box, cache);
    }
    return cache;
  }

  async #openAt(
    box: Box,
    ref: MRef,
    rec: Rec,
    start: number,
    length: number,
    crlf: boolean | undefined,
  ): Promise<ReadableStream<Uint8Array>> {
    const path = this.#path(box, ref);
    if (crlf === undefined) crlf = (await Deno.stat(path)).size === rec.info.size;
    return await openMessageStream(path, start, length, crlf, rec.info.size);
  }
}

function flagsOf(ref: MRef, keywords: readonly string[]): string[] {
  const system = parseInfo(splitName(ref.name).info).flags;
  try {
    return orderFlags([...system, ...keywords]);
  } catch {
    return orderFlags(system);
  }
}

function keywordsOf(rec: Rec): string[] {
  return rec.info.flags.filter((f) => !isSystemFlag(f));
}

function keywordsOfFlags(flags: readonly string[]): string {
  return flags.filter((f) => !isSystemFlag(f)).join(" ");
}

/** A record's index entry. */
function entryOf(r: Rec): { base: string } & UidlistEntry {
  return {
    uid: r.uid,
    base: (r.ref as MRef).base,
    size: r.info.size,
    internalDate: r.info.internalDate.getTime(),
    keywords: keywordsOf(r),
  };
}

/** Letters of the info a copy keeps: upper-case ones (Dovecot's keyword letters a-z are per folder). */
function keptLetters(ref: MRef): string {
  return [...parseInfo(splitName(ref.name).info).extra].filter((c) => c >= "A" && c <= "Z").join(
    "",
  );
}

/** A numeric `,X=<n>` field of a base name: the sizes `S` and `W`, the UID `U`. */
function sizeField(base: string, field: "S" | "W" | "U"): number | undefined {
  const match = FIELD_REGEXPS[field].exec(base);
  return match === null ? undefined : Number(match[1]);
}

const FIELD_REGEXPS = {
  S: /,S=(\d{1,15})(?:,|$)/,
  W: /,W=(\d{1,15})(?:,|$)/,
  U: /,U=(\d{1,15})(?:,|$)/,
};

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A folder directory's name decoded, or undefined when it is not canonical modified UTF-7. */
function decodeFolderName(text: string): string | undefined {
  try {
    return decodeImapUtf7(text);
  } catch {
    return undefined;
  }
}
