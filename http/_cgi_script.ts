/**
 * Finding the CGI script for a URL path and how to run it.
 *
 * @module
 */
import type { CgiOptions } from "./_cgi_types.ts";

/** A script found under a CGI directory. */
export interface CgiScript {
  /** The real path of the script file. */
  path: string;
  /** `SCRIPT_NAME`: the URL path prefix that named the script. */
  scriptName: string;
  /** `PATH_INFO`: the decoded rest of the URL path. */
  pathInfo: string;
  /** The script's directory, its working directory. */
  dir: string;
}

/** Decodes path segments; null for malformed escapes, NUL, separators or dot segments. */
function decodeSegments(raw: string[]): string[] | null {
  const out: string[] = [];
  for (const segment of raw) {
    let s: string;
    try {
      s = decodeURIComponent(segment);
    } catch {
      return null;
    }
    if (s === "." || s === ".." || s.includes("/") || s.includes("\\") || s.includes("\0")) {
      return null;
    }
    out.push(s);
  }
  return out;
}

/**
 * Finds the script for a URL path: the first existing regular file along it
 * under a CGI directory (the rest is `PATH_INFO`). Returns a status instead:
 * 400 for a path that does not decode safely, 404 for nothing there, a
 * dotfile or a symlink out of the directory, 403 for a directory or a file
 * that is neither.
 */
export async function findScript(
  pathname: string,
  options: CgiOptions,
): Promise<CgiScript | number> {
  const prefixes = Object.keys(options.directories).sort((a, b) => b.length - a.length);
  for (const rawPrefix of prefixes) {
    const prefix = "/" + rawPrefix.replace(/^\/+|\/+$/g, "");
    if (pathname !== prefix && !pathname.startsWith(prefix + "/")) continue;
    const rawSegments = pathname.slice(prefix.length).split("/").filter((s) => s !== "");
    const segments = decodeSegments(rawSegments);
    if (segments === null) return 400;
    let root: string;
    try {
      root = await Deno.realPath(options.directories[rawPrefix]!);
    } catch {
      return 404;
    }
    let dir = root;
    for (let i = 0; i < segments.length; i++) {
      const name = segments[i]!;
      if (name.startsWith(".")) return 404;
      const candidate = `${dir}/${name}`;
      let info: Deno.FileInfo;
      let real: string;
      try {
        real = await Deno.realPath(candidate);
        info = await Deno.stat(real);
      } catch {
        return 404;
      }
      if (real !== root && !real.startsWith(root + "/")) return 404;
      if (info.isDirectory) {
        dir = real;
        continue;
      }
      if (!info.isFile) return 403;
      // PATH_INFO keeps the client's trailing slash.
      const rest = segments.slice(i + 1);
      let pathInfo = rest.length === 0 ? "" : "/" + rest.join("/");
      if (rest.length > 0 && pathname.endsWith("/")) pathInfo += "/";
      return {
        path: real,
        scriptName: prefix + "/" + segments.slice(0, i + 1).join("/"),
        pathInfo,
        dir: real.slice(0, real.lastIndexOf("/")) || "/",
      };
    }
    return 403; // a directory: never listed
  }
  return 404;
}

/**
 * The program and arguments that run a script: its interpreter by
 * extension, else the file itself, which must then be executable (null
 * when it is not: 403).
 */
export async function scriptCommand(
  script: CgiScript,
  options: CgiOptions,
): Promise<{ command: string; args: string[] } | null> {
  const path = script.path;
  const dot = path.lastIndexOf(".");
  const interpreter = dot > path.lastIndexOf("/")
    ? options.interpreters?.[path.slice(dot).toLowerCase()]
    : undefined;
  if (interpreter !== undefined && interpreter.length > 0) {
    return { command: interpreter[0]!, args: [...interpreter.slice(1), path] };
  }
  const mode = (await Deno.stat(path)).mode;
  if (mode !== null && (mode & 0o111) === 0) return null;
  return { command: path, args: [] };
}
