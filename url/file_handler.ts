import { contentTypeFor } from "../net/_mime_types.ts";
import type { UrlHandler } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import { URLError } from "./url_error.ts";
import { UrlResponse } from "./url_response.ts";

/**
 * Opens local `file:` URLs (`file:///path` or `file://localhost/path`),
 * urllib's `FileHandler`: the body streams the file, with `Content-Type`
 * guessed from the extension, `Content-Length` and `Last-Modified`. Needs
 * `--allow-read`. Opened only when asked for directly: the redirect handler
 * never follows a server to a `file:` URL.
 *
 * @example
 * ```ts
 * import { buildOpener } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const path = await Deno.makeTempFile({ suffix: ".txt" });
 * await Deno.writeTextFile(path, "hello");
 * await using opener = buildOpener();
 * const response = await opener.open(new URL(`file://${path}`));
 * assertEquals(response.headers.get("content-length"), "5");
 * assertEquals(await response.text(), "hello");
 * await Deno.remove(path);
 * ```
 */
export class FileHandler implements UrlHandler {
  /** Only `file:`. */
  readonly protocols: readonly string[] = ["file:"];

  /**
   * Opens the file.
   *
   * @param request A `file:` request.
   * @returns The response with the file as its streaming body.
   * @throws {URLError} For a remote host, a NUL in the path, a missing file,
   *   a directory or a permission problem.
   */
  async open(request: UrlRequest): Promise<UrlResponse> {
    const host = request.hostname;
    if (host !== "" && host !== "localhost") {
      throw new URLError(`file not on local host: ${host}`);
    }
    const path = filePath(request.parsedUrl.pathname);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      throw new URLError(`cannot open ${path}: ${(error as Error).message}`, { cause: error });
    }
    let info: Deno.FileInfo;
    try {
      info = await file.stat();
    } catch (error) {
      file.close();
      throw new URLError(`cannot stat ${path}`, { cause: error });
    }
    if (!info.isFile) {
      file.close();
      throw new URLError(`not a regular file: ${path}`);
    }
    const headers = new Headers({
      "Content-Type": contentTypeFor(path),
      "Content-Length": String(info.size),
    });
    if (info.mtime !== null) headers.set("Last-Modified", info.mtime.toUTCString());
    return new UrlResponse(file.readable, {
      status: 200,
      statusText: "OK",
      headers,
      url: request.url,
    });
  }
}

function filePath(pathname: string): string {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch (error) {
    throw new URLError(`malformed file URL path: ${pathname}`, { cause: error });
  }
  if (path.includes("\0")) throw new URLError("file URL path contains NUL");
  if (Deno.build.os === "windows") {
    if (/^\/[A-Za-z]:/.test(path)) path = path.slice(1);
    path = path.replaceAll("/", "\\");
  }
  return path;
}
