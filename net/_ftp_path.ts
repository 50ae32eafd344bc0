/**
 * Virtual paths of an FTP server: a client's path argument resolved against
 * the working directory, confined to the virtual root.
 *
 * @module
 */

const FORBIDDEN_REGEXP = /[\0\r\n\\]/;

/**
 * Resolves a path argument of a client command (`CWD`, `RETR`, `LIST`...)
 * against the working directory into a normalised virtual absolute path:
 * `/a/b`, `/` for the root. An argument starting with `/` starts from the
 * root; `.` and empty segments (repeated slashes) are dropped; `..` removes
 * the previous segment; a trailing slash is dropped. An empty argument
 * means the working directory.
 *
 * `..` at the root is refused (`null`), not clamped to the root: some FTP
 * clients expect `CWD ..` at `/` to stay at `/` (as many servers do), but a
 * path that tries to climb out of the root is more often an attack or a
 * mistake, and a refusal (`550`) is the safe answer.
 *
 * This is the name-level check only. The server must still make sure that
 * the real file it maps the path to stays inside the root: symlinks that
 * point outside, and on Windows names with `:` (drive letters, alternate
 * data streams) or reserved device names.
 *
 * @param cwd The working directory, a virtual absolute path (`"/"` at the start).
 * @param argument The client's path argument, options such as `-la` already removed.
 * @returns The virtual absolute path, or `null` when it would escape the
 *   root or contains NUL, CR, LF or a backslash.
 * @throws {TypeError} If `cwd` does not start with `/`.
 *
 * @example Resolving paths
 * ```ts
 * import { resolveFtpPath } from "./_ftp_path.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(resolveFtpPath("/pub", "hello.txt"), "/pub/hello.txt");
 * assertEquals(resolveFtpPath("/pub", "../upload//x/"), "/upload/x");
 * assertEquals(resolveFtpPath("/pub", "/"), "/");
 * assertEquals(resolveFtpPath("/", ".."), null);
 * assertEquals(resolveFtpPath("/pub", "..\\..\\etc"), null);
 * ```
 */
export function resolveFtpPath(cwd: string, argument: string): string | null {
  if (!cwd.startsWith("/")) {
    throw new TypeError(
      `Cannot resolve FTP path: working directory ${JSON.stringify(cwd)} is not absolute`,
    );
  }
  if (FORBIDDEN_REGEXP.test(cwd) || FORBIDDEN_REGEXP.test(argument)) return null;
  const segments: string[] = [];
  const path = argument.startsWith("/") ? argument : `${cwd}/${argument}`;
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (segments.length === 0) return null;
      segments.pop();
    } else {
      segments.push(segment);
    }
  }
  return `/${segments.join("/")}`;
}
