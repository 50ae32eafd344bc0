/**
 * The file-system side of the Gopher server: mapping a selector to a path
 * that never leaves the root (no `..`, no dotfiles, no backslashes or drive
 * letters, symlinks followed only when they stay inside), and listing a
 * directory as menu items.
 *
 * @module
 */
import type { GopherItem } from "./_gopher_types.ts";
import { gopherTypeForFile } from "./gopher_menu.ts";

/** Where a selector led. */
export type ResolvedSelector =
  | { kind: "directory"; path: string; selector: string }
  | { kind: "file"; path: string; selector: string; name: string }
  | { kind: "refused" }
  | { kind: "missing" };

// deno-lint-ignore no-control-regex
const UNSAFE_NAME_REGEXP = /[\x00-\x1f\x7f\\]/;

/**
 * The path segments of a selector, or `null` when the selector is refused:
 * a `.` or `..` segment, a segment starting with a dot (hidden files), a
 * backslash or control character anywhere, or a Windows drive (`C:`).
 */
export function selectorSegments(selector: string): string[] | null {
  if (UNSAFE_NAME_REGEXP.test(selector)) return null;
  const segments = selector.split("/").filter((s) => s !== "");
  for (const segment of segments) {
    if (segment.startsWith(".")) return null;
    if (/^[A-Za-z]:/.test(segment)) return null;
  }
  return segments;
}

/** Whether `path` is `root` or inside it; both must be real (resolved) paths. */
export function isInside(root: string, path: string): boolean {
  if (path === root) return true;
  const prefix = root.endsWith("/") || root.endsWith("\\") ? root : root + sep();
  return path.startsWith(prefix);
}

function sep(): string {
  return Deno.build.os === "windows" ? "\\" : "/";
}

function join(root: string, segments: string[]): string {
  if (segments.length === 0) return root;
  const s = sep();
  return (root.endsWith(s) ? root : root + s) + segments.join(s);
}

/** The real path of `path` when it exists and stays inside `root`, else `null`. */
async function realInside(root: string, path: string): Promise<string | null> {
  let real: string;
  try {
    real = await Deno.realPath(path);
  } catch {
    return null;
  }
  return isInside(root, real) ? real : null;
}

/**
 * Resolves a selector against the real path of the root. Missing files and
 * files outside the root (through a symlink) both come back as `missing`,
 * so an answer never tells which one it was.
 */
export async function resolveSelector(
  realRoot: string,
  selector: string,
): Promise<ResolvedSelector> {
  const segments = selectorSegments(selector);
  if (segments === null) return { kind: "refused" };
  const real = await realInside(realRoot, join(realRoot, segments));
  if (real === null) return { kind: "missing" };
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(real);
  } catch {
    return { kind: "missing" };
  }
  const normalized = "/" + segments.join("/");
  if (info.isDirectory) return { kind: "directory", path: real, selector: normalized };
  if (info.isFile) {
    return { kind: "file", path: real, selector: normalized, name: segments.at(-1) ?? "" };
  }
  return { kind: "missing" };
}

/** Reads a directory's `gophermap` when it is a regular file inside the root; `null` if none. */
export async function readGophermapFile(
  realRoot: string,
  directory: string,
  maxSize: number,
): Promise<Uint8Array | null> {
  const real = await realInside(realRoot, join(directory, ["gophermap"]));
  if (real === null) return null;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(real, { read: true });
  } catch {
    return null;
  }
  try {
    const info = await file.stat();
    if (!info.isFile) return null;
    if (info.size > maxSize) {
      throw new RangeError(`Cannot read gophermap: it is ${info.size} bytes, more than ${maxSize}`);
    }
    const bytes = new Uint8Array(info.size);
    let got = 0;
    while (got < bytes.length) {
      const n = await file.read(bytes.subarray(got));
      if (n === null) break;
      got += n;
    }
    return bytes.subarray(0, got);
  } finally {
    file.close();
  }
}

/** What a listing produced. */
export interface Listing {
  /** The items, sorted by name, at most `max`. */
  items: GopherItem[];
  /** How many entries were left out because of the cap. */
  omitted: number;
}

/**
 * Lists a directory as menu items: subdirectories as type `1`, files typed
 * by {@linkcode gopherTypeForFile}. Hidden names (dotfiles, `gophermap`,
 * the `hidden` list), names a menu cannot carry (control characters, TAB,
 * backslash) and symlinks leading outside the root are left out.
 */
export async function listDirectory(
  realRoot: string,
  directory: string,
  selector: string,
  host: string,
  port: number,
  hidden: ReadonlySet<string>,
  max: number,
): Promise<Listing> {
  const entries: { name: string; type: string }[] = [];
  let omitted = 0;
  for await (const entry of Deno.readDir(directory)) {
    const name = entry.name;
    if (name.startsWith(".") || name === "gophermap" || hidden.has(name)) continue;
    if (UNSAFE_NAME_REGEXP.test(name) || /^[A-Za-z]:/.test(name)) continue;
    let isDirectory = entry.isDirectory;
    let isFile = entry.isFile;
    if (entry.isSymlink) {
      const real = await realInside(realRoot, join(directory, [name]));
      if (real === null) continue;
      try {
        const info = await Deno.stat(real);
        isDirectory = info.isDirectory;
        isFile = info.isFile;
      } catch {
        continue;
      }
    }
    if (!isDirectory && !isFile) continue;
    if (entries.length >= max) {
      omitted++;
      continue;
    }
    entries.push({ name, type: isDirectory ? "1" : gopherTypeForFile(name) });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const base = selector.endsWith("/") ? selector : selector + "/";
  return {
    items: entries.map(({ name, type }) => ({
      type,
      display: type === "1" ? name + "/" : name,
      selector: base + name,
      host,
      port,
    })),
    omitted,
  };
}
