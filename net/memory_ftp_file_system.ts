import { concatBytes } from "./_bytes.ts";
import type {
  FtpFileReader,
  FtpFileStat,
  FtpFileSystem,
  FtpFileWriter,
  FtpOpenWriteOptions,
} from "./_ftp_server_types.ts";

/**
 * An {@linkcode FtpFileSystem} held in memory: for `FtpServer` as a test
 * double or a throwaway drop box, with no disk access at all. Paths are the
 * server's virtual paths (`/pub/a.txt`); `files` maps them to contents.
 *
 * @example Serving two files from memory
 * ```ts
 * import { FtpClient, FtpServer, MemoryFtpFileSystem } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const fileSystem = new MemoryFtpFileSystem({ "/pub/hello.txt": "hello, world\n" });
 * await using server = new FtpServer({
 *   fileSystem,
 *   users: [{ user: "u", password: "p" }],
 *   write: true,
 *   failureDelay: 0,
 * });
 * await using ftp = await FtpClient.connect({ port: server.addr.port, tls: false });
 * await ftp.login("u", "p");
 * await ftp.upload("/pub/new.txt", "stored");
 * assertEquals(new TextDecoder().decode(fileSystem.files.get("/pub/new.txt")), "stored");
 * ```
 */
export class MemoryFtpFileSystem implements FtpFileSystem {
  /** The files by virtual path. */
  readonly files: Map<string, Uint8Array> = new Map();
  /** The directories by virtual path (`/` always). */
  readonly directories: Set<string> = new Set(["/"]);
  #modified = new Map<string, Date>();
  #now: () => Date;

  /**
   * Creates the file system, with directories made for every file given.
   *
   * @param files Initial files: virtual path → contents (text is UTF-8).
   * @param options `now` is the clock for modification times (a fixed one
   *   makes listings repeatable).
   */
  constructor(
    files?: Record<string, string | Uint8Array>,
    options?: { now?: () => Date },
  ) {
    files ??= {};
    options ??= {};
    this.#now = options.now ?? (() => new Date());
    const encoder = new TextEncoder();
    for (const [path, content] of Object.entries(files)) {
      const bytes = typeof content === "string" ? encoder.encode(content) : content;
      this.files.set(path, bytes);
      this.#modified.set(path, this.#now());
      for (let at = path.indexOf("/", 1); at > 0; at = path.indexOf("/", at + 1)) {
        this.directories.add(path.slice(0, at));
      }
    }
  }

  #stat(path: string): FtpFileStat | null {
    const name = path === "/" ? "/" : path.slice(path.lastIndexOf("/") + 1);
    const modified = this.#modified.get(path) ?? this.#now();
    if (this.directories.has(path)) return { name, type: "directory", size: 0, modified };
    const file = this.files.get(path);
    return file === undefined ? null : { name, type: "file", size: file.length, modified };
  }

  /** See {@linkcode FtpFileSystem.stat}. */
  stat(path: string): Promise<FtpFileStat | null> {
    return Promise.resolve(this.#stat(path));
  }

  /** See {@linkcode FtpFileSystem.list}. */
  async *list(path: string): AsyncIterable<FtpFileStat> {
    if (this.files.has(path)) throw new Deno.errors.NotADirectory(path);
    if (!this.directories.has(path)) throw new Deno.errors.NotFound(path);
    const prefix = path === "/" ? "/" : `${path}/`;
    const children = [...this.directories, ...this.files.keys()]
      .filter((p) => p !== path && p.startsWith(prefix) && !p.slice(prefix.length).includes("/"))
      .sort();
    for (const child of children) yield this.#stat(child)!;
  }

  /** See {@linkcode FtpFileSystem.openRead}. */
  openRead(path: string, offset: number): Promise<FtpFileReader> {
    if (this.directories.has(path)) return Promise.reject(new Deno.errors.IsADirectory(path));
    const file = this.files.get(path);
    if (file === undefined) return Promise.reject(new Deno.errors.NotFound(path));
    let at = offset;
    return Promise.resolve({
      read: (p: Uint8Array) => {
        if (at >= file.length) return Promise.resolve(null);
        const n = Math.min(p.length, file.length - at);
        p.set(file.subarray(at, at + n));
        at += n;
        return Promise.resolve(n);
      },
      close: () => {},
    });
  }

  /** See {@linkcode FtpFileSystem.openWrite}. */
  openWrite(path: string, options: FtpOpenWriteOptions): Promise<FtpFileWriter> {
    if (this.directories.has(path)) return Promise.reject(new Deno.errors.IsADirectory(path));
    const parent = path.slice(0, Math.max(1, path.lastIndexOf("/")));
    if (!this.directories.has(parent)) return Promise.reject(new Deno.errors.NotFound(parent));
    const chunks: Uint8Array[] = [];
    let length = 0;
    const old = this.files.get(path) ?? new Uint8Array();
    const head = options.mode === "replace"
      ? new Uint8Array()
      : options.mode === "offset"
      ? old.subarray(0, options.offset ?? 0)
      : old;
    const store = () => {
      this.files.set(path, concatBytes([head, ...chunks], head.length + length));
      this.#modified.set(path, this.#now());
    };
    return Promise.resolve({
      write: (p: Uint8Array) => {
        chunks.push(p.slice());
        length += p.length;
        return Promise.resolve();
      },
      commit: () => {
        store();
        return Promise.resolve();
      },
      // A resumed upload keeps what came; a replacement leaves the old file.
      abort: () => {
        if (options.mode !== "replace") store();
        return Promise.resolve();
      },
    });
  }

  /** See {@linkcode FtpFileSystem.mkdir}. */
  mkdir(path: string): Promise<void> {
    const parent = path.slice(0, Math.max(1, path.lastIndexOf("/")));
    if (!this.directories.has(parent)) return Promise.reject(new Deno.errors.NotFound(parent));
    if (this.directories.has(path) || this.files.has(path)) {
      return Promise.reject(new Deno.errors.AlreadyExists(path));
    }
    this.directories.add(path);
    return Promise.resolve();
  }

  /** See {@linkcode FtpFileSystem.rmdir}. */
  rmdir(path: string): Promise<void> {
    if (!this.directories.has(path) || path === "/") {
      return Promise.reject(new Deno.errors.NotFound(path));
    }
    const prefix = `${path}/`;
    const busy = [...this.directories, ...this.files.keys()].some((p) => p.startsWith(prefix));
    if (busy) return Promise.reject(new Error(`Cannot remove ${path}: the directory is not empty`));
    this.directories.delete(path);
    return Promise.resolve();
  }

  /** See {@linkcode FtpFileSystem.remove}. */
  remove(path: string): Promise<void> {
    if (!this.files.delete(path)) return Promise.reject(new Deno.errors.NotFound(path));
    return Promise.resolve();
  }

  /** See {@linkcode FtpFileSystem.rename}. */
  rename(from: string, to: string): Promise<void> {
    const file = this.files.get(from);
    if (file !== undefined) {
      this.files.delete(from);
      this.files.set(to, file);
      return Promise.resolve();
    }
    if (!this.directories.has(from) || from === "/") {
      return Promise.reject(new Deno.errors.NotFound(from));
    }
    const move = (p: string) => p === from ? to : to + p.slice(from.length);
    for (const dir of [...this.directories]) {
      if (dir === from || dir.startsWith(`${from}/`)) {
        this.directories.delete(dir);
        this.directories.add(move(dir));
      }
    }
    for (const [path, bytes] of [...this.files]) {
      if (path.startsWith(`${from}/`)) {
        this.files.delete(path);
        this.files.set(move(path), bytes);
      }
    }
    return Promise.resolve();
  }
}
