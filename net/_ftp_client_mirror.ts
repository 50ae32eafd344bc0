/**
 * Directory helpers of `FtpClient`: `ensureDir` (`mkdir -p` on the server),
 * `uploadDir` and `downloadDir` (mirroring a tree either way). They use
 * only the client's public verbs; `downloadDir` refuses hostile listing
 * names (`../x`, `/etc/x`) before writing anything.
 *
 * @module
 */
import { FtpReplyError } from "./ftp_reply_error.ts";
import { type FtpFileInfo, isSafeFtpListingName } from "./ftp_list.ts";
import { ProtocolError } from "./protocol_error.ts";

/** Per-command options: a signal and a timeout. */
interface CommandOptions {
  signal?: AbortSignal;
  timeout?: number;
}

/** The verbs of `FtpClient` the helpers use. */
export interface FtpMirrorClient {
  pwd(options?: CommandOptions): Promise<string>;
  cwd(path: string, options?: CommandOptions): Promise<unknown>;
  mkd(path: string, options?: CommandOptions): Promise<string>;
  list(path?: string, options?: CommandOptions): Promise<FtpFileInfo[]>;
  download(path: string, options?: CommandOptions): Promise<ReadableStream<Uint8Array>>;
  upload(
    path: string,
    source: ReadableStream<Uint8Array>,
    options?: CommandOptions & { size?: number },
  ): Promise<{ size: number }>;
}

/** A small file read whole, or, when it was larger than announced, its start and the rest. */
export type FtpSmallFile =
  | { bytes: Uint8Array }
  | { head: Uint8Array; rest: ReadableStream<Uint8Array> };

/**
 * Downloads a file the listing says is `expected` bytes: whole when it is
 * at most `limit` bytes, else the first bytes and a stream of the rest.
 */
export type FtpSmallFetch = (
  path: string,
  expected: number,
  limit: number,
  options: CommandOptions,
) => Promise<FtpSmallFile>;

/** What a mirror copied. */
export interface FtpMirrorResult {
  /** Files copied. */
  files: number;
  /** Directories created or entered below the top one. */
  directories: number;
  /** Bytes of file data moved. */
  bytes: number;
}

/** Options for `FtpClient.uploadDir`. */
export interface FtpUploadDirOptions {
  /** Aborts the mirror; the connection is then closed. */
  signal?: AbortSignal;
  /** Milliseconds each command may take. */
  timeout?: number;
  /** Called after each file with its remote path and size. */
  onFile?: (remotePath: string, size: number) => void;
}

/** Options for `FtpClient.downloadDir`. */
export interface FtpDownloadDirOptions {
  /** Aborts the mirror; the connection is then closed. */
  signal?: AbortSignal;
  /** Milliseconds each command may take. */
  timeout?: number;
  /**
   * The most directory levels below the top one; deeper is an error (a
   * server can list a directory inside itself forever).
   *
   * @default {32}
   */
  maxDepth?: number;
  /**
   * Set each local file's modification time from the listing.
   *
   * @default {true}
   */
  preserveTimes?: boolean;
  /** Called after each file with its local path and size. */
  onFile?: (localPath: string, size: number) => void;
}

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`;
}

function commandOptions(options: CommandOptions): CommandOptions {
  return { signal: options.signal, timeout: options.timeout };
}

/** `mkdir -p` on the server; the working directory is restored. */
export async function ensureFtpDir(
  client: FtpMirrorClient,
  path: string,
  options: CommandOptions = {},
): Promise<string> {
  const opts = commandOptions(options);
  const start = await client.pwd(opts);
  let result: string;
  try {
    if (path.startsWith("/")) await client.cwd("/", opts);
    for (const segment of path.split("/")) {
      if (segment === "" || segment === ".") continue;
      try {
        await client.cwd(segment, opts);
      } catch (error) {
        if (!(error instanceof FtpReplyError) || !error.permanent) throw error;
        await client.mkd(segment, opts);
        await client.cwd(segment, opts);
      }
    }
    result = await client.pwd(opts);
  } catch (error) {
    await client.cwd(start, opts).catch(() => {});
    throw error;
  }
  await client.cwd(start, opts);
  return result;
}

/** Uploads a local tree, file by file, into a remote directory. */
export async function uploadFtpDir(
  client: FtpMirrorClient,
  localDir: string,
  remoteDir: string,
  options: FtpUploadDirOptions = {},
): Promise<FtpMirrorResult> {
  const opts = commandOptions(options);
  const result: FtpMirrorResult = { files: 0, directories: 0, bytes: 0 };
  const root = await ensureFtpDir(client, remoteDir, opts);
  const walk = async (local: string, remote: string): Promise<void> => {
    const entries: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(local)) entries.push(entry);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const localPath = join(local, entry.name);
      const remotePath = join(remote, entry.name);
      if (entry.isFile) {
        const file = await Deno.open(localPath, { read: true });
        const { size } = await client.upload(remotePath, file.readable, opts);
        result.files++;
        result.bytes += size;
        options.onFile?.(remotePath, size);
      } else if (entry.isDirectory) {
        try {
          await client.mkd(remotePath, opts);
        } catch (error) {
          // 550: it may exist already; a real problem shows on the first file.
          if (!(error instanceof FtpReplyError) || !error.permanent) throw error;
        }
        result.directories++;
        await walk(localPath, remotePath);
      }
      // Symlinks and special files are skipped: they could lead anywhere.
    }
  };
  await walk(localDir, root);
  return result;
}

/** Downloads a remote tree into a local directory, refusing hostile names. */
export async function downloadFtpDir(
  client: FtpMirrorClient,
  remoteDir: string,
  localDir: string,
  options: FtpDownloadDirOptions,
  fetchSmall: FtpSmallFetch,
): Promise<FtpMirrorResult> {
  const opts = commandOptions(options);
  const maxDepth = options.maxDepth ?? 32;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 0) {
    throw new RangeError(`Cannot mirror: maxDepth ${maxDepth} is not an integer >= 0`);
  }
  const preserveTimes = options.preserveTimes ?? true;
  const result: FtpMirrorResult = { files: 0, directories: 0, bytes: 0 };
  const writes = new WriteQueue(MAX_PENDING_WRITES);
  const walk = async (remote: string, local: string, depth: number): Promise<void> => {
    const entries = await client.list(remote, opts);
    // Every name is checked before anything of this directory is written.
    for (const entry of entries) {
      if (!isSafeFtpListingName(entry.name)) {
        throw new ProtocolError(
          "UNSAFE_LISTING_NAME",
          `Cannot mirror ${remote}: the listing names ${
            JSON.stringify(entry.name)
          }, which is not a plain file name`,
        );
      }
    }
    await Deno.mkdir(local, { recursive: true });
    for (const entry of entries) {
      const remotePath = join(remote, entry.name);
      const localPath = join(local, entry.name);
      if (entry.type === "file") {
        const modified = preserveTimes ? entry.modified : undefined;
        let size: number;
        if (entry.size !== undefined && entry.size <= SMALL_FILE) {
          // Small files are read whole and written while the next one
          // transfers: creating a file costs about as much as fetching it.
          const got = await fetchSmall(remotePath, entry.size, SMALL_FILE, opts);
          if ("bytes" in got) {
            const bytes = got.bytes;
            size = bytes.length;
            await writes.add(async () => {
              await Deno.writeFile(localPath, bytes);
              if (modified !== undefined) await Deno.utime(localPath, modified, modified);
              options.onFile?.(localPath, size);
            });
          } else {
            // Larger than the listing said: the rest streams to the file.
            try {
              await writes.drain();
            } catch (error) {
              await got.rest.cancel(error).catch(() => {});
              throw error;
            }
            size = await writeFile(localPath, got.head, got.rest);
            if (modified !== undefined) await Deno.utime(localPath, modified, modified);
            options.onFile?.(localPath, size);
          }
        } else {
          await writes.drain();
          size = await downloadFile(client, remotePath, localPath, opts);
          if (modified !== undefined) await Deno.utime(localPath, modified, modified);
          options.onFile?.(localPath, size);
        }
        result.files++;
        result.bytes += size;
      } else if (entry.type === "directory") {
        if (depth >= maxDepth) {
          throw new ProtocolError(
            "TOO_DEEP",
            `Cannot mirror ${remotePath}: more than ${maxDepth} directory levels`,
          );
        }
        result.directories++;
        await walk(remotePath, localPath, depth + 1);
      }
      // Symlinks and unknown entries are skipped: they could lead anywhere.
    }
  };
  try {
    await walk(remoteDir, localDir, 0);
  } catch (error) {
    await writes.settle();
    throw error;
  }
  await writes.drain();
  return result;
}

/** Files up to this size are read whole and written in the background. */
const SMALL_FILE = 1024 * 1024;
/** The most background writes in flight (so at most 8 MiB held). */
const MAX_PENDING_WRITES = 8;

/** Local writes running beside the transfers, at most `limit` at once; the first error wins. */
class WriteQueue {
  #pending = new Set<Promise<void>>();
  #error: { error: unknown } | null = null;
  #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Starts a write, first waiting for room; throws an earlier write's error. */
  async add(task: () => Promise<void>): Promise<void> {
    while (this.#pending.size >= this.#limit) await Promise.race(this.#pending);
    this.#check();
    const running = task().catch((error) => {
      this.#error ??= { error };
    }).finally(() => this.#pending.delete(running));
    this.#pending.add(running);
  }

  /** Waits for every write; throws the first error. */
  async drain(): Promise<void> {
    await this.settle();
    this.#check();
  }

  /** Waits for every write, ignoring errors. */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  #check(): void {
    if (this.#error !== null) throw this.#error.error;
  }
}

async function downloadFile(
  client: FtpMirrorClient,
  remotePath: string,
  localPath: string,
  options: CommandOptions,
): Promise<number> {
  const body = await client.download(remotePath, options);
  return await writeFile(localPath, new Uint8Array(0), body);
}

/** Writes `head`, then the rest of `body`, to a new file; returns the bytes written. */
async function writeFile(
  localPath: string,
  head: Uint8Array,
  body: ReadableStream<Uint8Array>,
): Promise<number> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(localPath, { write: true, create: true, truncate: true });
  } catch (error) {
    await body.cancel(error).catch(() => {});
    throw error;
  }
  let size = head.length;
  const counted = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        if (head.length > 0) controller.enqueue(head);
      },
      transform(chunk, controller) {
        size += chunk.length;
        controller.enqueue(chunk);
      },
    }),
  );
  await counted.pipeTo(file.writable);
  return size;
}
