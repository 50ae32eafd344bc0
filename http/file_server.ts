/**
 * A static file server as a request handler: {@linkcode serveDir} serves a
 * directory tree (index files, listings, precompressed siblings, SPA
 * fallback, CORS) and {@linkcode serveFile} one file, both with conditional
 * requests and byte ranges (RFC 9110 §13-§14). Bodies are read from the file
 * as the client takes them, so memory stays flat whatever the size.
 *
 * File system calls on the request path (resolving, opening, reading) are
 * synchronous: on a local disk each takes 1-3 µs, where an async call costs a
 * thread-pool round trip of about 10 µs and a failed one another 10 µs for
 * its error. Directory listings use async calls. On a slow network file
 * system, run the server in its own worker.
 *
 * @module
 */
import { contentTypeFor } from "../net/_mime_types.ts";
import { multipartStream, rangeStream, readSmall } from "./_files_body.ts";
import {
  encodeSegment,
  type ListingEntry,
  listingSortFrom,
  renderListingHtml,
  renderListingJson,
  sortEntries,
} from "./_files_listing.ts";
import {
  parseEtagList,
  parseHttpDate,
  parseRange,
  strongMatch,
  weakMatch,
} from "./_files_range.ts";

/** Options for {@linkcode serveFile}. */
export interface ServeFileOptions {
  /**
   * The `Content-Type`; by default it comes from the file name's extension
   * (text types with `; charset=utf-8`, unknown ones
   * `application/octet-stream`).
   */
  contentType?: string;
  /** Extra extension → media type entries, such as `{ mdx: "text/markdown" }`. */
  mimeTypes?: Record<string, string>;
  /** Extra headers for successful (2xx, 304) responses, such as `Cache-Control`. */
  headers?: HeadersInit;
  /**
   * The most ranges honoured in one `Range` header; with more, the whole
   * file is sent (200).
   *
   * @default {32}
   */
  maxRanges?: number;
  /**
   * The size of each read from the file, in bytes.
   *
   * @default {262144}
   */
  chunkSize?: number;
  /**
   * Files up to this size are read in one go and sent from memory; larger
   * ones are streamed.
   *
   * @default {65536}
   */
  smallFileSize?: number;
}

/** Options for {@linkcode serveDir}. */
export interface ServeDirOptions extends ServeFileOptions {
  /**
   * The directory to serve.
   *
   * @default {"."}
   */
  fsRoot?: string;
  /**
   * A URL path prefix to strip, such as `"/static"`; requests outside it get
   * 404.
   *
   * @default {""}
   */
  urlRoot?: string;
  /**
   * Whether a directory's `index.html` is served for the directory URL.
   *
   * @default {true}
   */
  showIndex?: boolean;
  /**
   * Whether directories without an index get a listing page (HTML, or JSON
   * for `Accept: application/json`).
   *
   * @default {true}
   */
  showDirListing?: boolean;
  /**
   * Whether names starting with `.` are served and listed.
   *
   * @default {false}
   */
  showDotfiles?: boolean;
  /**
   * Whether symbolic links that resolve outside `fsRoot` are followed.
   *
   * @default {false}
   */
  followSymlinksOutsideRoot?: boolean;
  /**
   * Whether to add CORS headers (`Access-Control-Allow-Origin: *`) and
   * answer preflight `OPTIONS` requests.
   *
   * @default {false}
   */
  cors?: boolean;
  /**
   * Whether a path that does not exist is answered with the root
   * `index.html` (status 200), for single-page applications.
   *
   * @default {false}
   */
  spa?: boolean;
  /** A file served with status 404 for paths that do not exist (after the SPA fallback). */
  notFoundPage?: string;
  /**
   * Whether `file.br` and `file.gz` siblings are served instead of `file`
   * when the request's `Accept-Encoding` allows, with `Vary: Accept-Encoding`.
   * As with nginx's `gzip_static`, siblings are looked for only when the
   * client accepts their coding, so an identity response to a client that
   * accepts none carries no `Vary`.
   *
   * @default {true}
   */
  precompressed?: boolean;
  /**
   * Files or directories never served nor listed (404), such as a CGI
   * directory inside the root, whose scripts must never be sent as text.
   * Matched on real paths, so links to them are refused too.
   *
   * @default {[]}
   */
  exclude?: string[];
  /**
   * The most entries shown in a listing; the rest are left out with a note.
   *
   * @default {10000}
   */
  maxListingEntries?: number;
}

const DEFAULT_CHUNK = 262144;
const DEFAULT_SMALL = 65536;
const DEFAULT_MAX_RANGES = 32;
const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  412: "Precondition Failed",
  416: "Range Not Satisfiable",
  500: "Internal Server Error",
};

function errorResponse(status: number, extra?: HeadersInit): Response {
  const text = STATUS_TEXT[status] ?? "Error";
  const headers = new Headers(extra);
  headers.set("content-type", "text/html; charset=utf-8");
  headers.set("x-content-type-options", "nosniff");
  const body =
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${status} ${text}</title></head>` +
    `<body><h1>${status} ${text}</h1></body></html>\n`;
  return new Response(body, { status, statusText: text, headers });
}

/** The validator nginx uses: hex seconds of mtime and hex size. */
function etagFor(info: Deno.FileInfo, suffix = ""): string {
  const mtime = Math.floor((info.mtime?.getTime() ?? 0) / 1000);
  return `"${mtime.toString(16)}-${info.size.toString(16)}${suffix}"`;
}

function isGetOrHead(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

/**
 * Evaluates the preconditions of RFC 9110 §13.2.2 in order.
 *
 * @returns 412, 304, or 0 to proceed.
 */
function checkPreconditions(request: Request, etag: string, mtime: number | null): 0 | 304 | 412 {
  const h = request.headers;
  const seconds = mtime === null ? null : Math.floor(mtime / 1000) * 1000;
  const ifMatch = h.get("if-match");
  if (ifMatch !== null) {
    const tags = parseEtagList(ifMatch);
    if (!tags.some((t) => t === "*" || strongMatch(t, etag))) return 412;
  } else {
    const since = parseHttpDate(h.get("if-unmodified-since"));
    if (!Number.isNaN(since) && seconds !== null && seconds > since) return 412;
  }
  const ifNoneMatch = h.get("if-none-match");
  if (ifNoneMatch !== null) {
    const tags = parseEtagList(ifNoneMatch);
    if (tags.some((t) => t === "*" || weakMatch(t, etag))) {
      return isGetOrHead(request.method) ? 304 : 412;
    }
  } else if (isGetOrHead(request.method)) {
    // RFC 9110 §13.1.3: a date later than the server's clock is not a
    // validator the client got from us (RFC 2616 §14.25 called it invalid):
    // ignored, or a file changed since would never be sent again.
    const since = parseHttpDate(h.get("if-modified-since"));
    if (
      !Number.isNaN(since) && since <= Date.now() && seconds !== null && seconds <= since
    ) return 304;
  }
  return 0;
}

/** RFC 9110 §13.1.5: whether If-Range lets the Range header apply. */
function ifRangeAllows(request: Request, etag: string, mtime: number | null): boolean {
  const value = request.headers.get("if-range");
  if (value === null) return true;
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith("W/")) return strongMatch(trimmed, etag);
  const date = parseHttpDate(trimmed);
  return !Number.isNaN(date) && mtime !== null && Math.floor(mtime / 1000) * 1000 === date;
}

function randomBoundary(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

interface Representation {
  file: Deno.FsFile;
  info: Deno.FileInfo;
  contentType: string;
  encoding?: "br" | "gzip";
  vary?: boolean;
}

/** Builds the response for an open regular file; takes ownership of `file`. */
async function respond(
  request: Request,
  rep: Representation,
  options: ServeFileOptions,
  extraHeaders?: Headers,
  statusOverride?: number,
): Promise<Response> {
  const { file, info } = rep;
  let owned = true;
  try {
    const size = info.size;
    const mtime = info.mtime?.getTime() ?? null;
    const etag = etagFor(
      info,
      rep.encoding === "br" ? "-br" : rep.encoding === "gzip" ? "-gz" : "",
    );
    const headers = new Headers(options.headers);
    extraHeaders?.forEach((v, k) => headers.set(k, v));
    headers.set("etag", etag);
    if (mtime !== null) headers.set("last-modified", new Date(mtime).toUTCString());
    if (rep.vary) headers.append("vary", "Accept-Encoding");
    if (statusOverride === undefined) headers.set("accept-ranges", "bytes");

    if (statusOverride === undefined) {
      const pre = checkPreconditions(request, etag, mtime);
      if (pre === 304) return new Response(null, { status: 304, headers });
      if (pre === 412) return errorResponse(412);
    }
    headers.set("content-type", rep.contentType);
    if (rep.encoding !== undefined) headers.set("content-encoding", rep.encoding);
    const head = request.method === "HEAD";
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;

    const range = statusOverride === undefined && ifRangeAllows(request, etag, mtime)
      ? parseRange(request.headers.get("range"), size, options.maxRanges ?? DEFAULT_MAX_RANGES)
      : { kind: "ignore" as const };
    if (range.kind === "unsatisfiable") {
      return errorResponse(416, { "content-range": `bytes */${size}` });
    }
    if (range.kind === "ranges" && range.ranges.length === 1) {
      const r = range.ranges[0]!;
      const length = r.end - r.start + 1;
      headers.set("content-range", `bytes ${r.start}-${r.end}/${size}`);
      headers.set("content-length", String(length));
      if (head) return new Response(null, { status: 206, headers });
      owned = false;
      return new Response(rangeStream(file, r.start, length, chunkSize), { status: 206, headers });
    }
    if (range.kind === "ranges") {
      const boundary = randomBoundary();
      const body = multipartStream(file, range.ranges, size, rep.contentType, boundary, chunkSize);
      headers.set("content-type", `multipart/byteranges; boundary=${boundary}`);
      headers.set("content-length", String(body.length));
      if (head) {
        await body.stream.cancel();
        owned = false;
        return new Response(null, { status: 206, headers });
      }
      owned = false;
      return new Response(body.stream, { status: 206, headers });
    }
    const status = statusOverride ?? 200;
    headers.set("content-length", String(size));
    if (head) return new Response(null, { status, headers });
    if (size <= (options.smallFileSize ?? DEFAULT_SMALL)) {
      const bytes = readSmall(file, size);
      if (bytes === null) return errorResponse(500);
      return new Response(bytes, { status, headers });
    }
    owned = false;
    return new Response(rangeStream(file, 0, size, chunkSize), { status, headers });
  } finally {
    if (owned) file.close();
  }
}

/** Opens a path and reads its metadata; null when it cannot be opened. */
function openAny(path: string): { file: Deno.FsFile; info: Deno.FileInfo } | null {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return null;
  }
  try {
    return { file, info: file.statSync() };
  } catch {
    file.close();
    return null;
  }
}

/** Opens a regular file; null for anything else. */
function openRegular(path: string): { file: Deno.FsFile; info: Deno.FileInfo } | null {
  const opened = openAny(path);
  if (opened === null) return null;
  if (opened.info.isFile) return opened;
  opened.file.close();
  return null;
}

/**
 * Serves one file: `Content-Type` from its extension, `ETag` and
 * `Last-Modified` validators, the conditional requests of RFC 9110 §13
 * (`If-Match`, `If-Unmodified-Since` → 412; `If-None-Match`,
 * `If-Modified-Since` → 304, a date later than the server's clock being
 * ignored; `If-Range`), and byte ranges (one range → 206
 * with `Content-Range`, several → `multipart/byteranges`, none satisfiable
 * → 416 with `Content-Range: bytes *\/size`). The path is used as given:
 * check it against a root first, or use {@linkcode serveDir}.
 *
 * @param request The request (GET or HEAD; other methods get 405).
 * @param filePath The file to send.
 * @param options Content type, headers and limits.
 * @returns The response; 404 when the path is not a readable regular file.
 *
 * @example Serving a file with a range request
 * ```ts
 * import { serveFile } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const path = await Deno.makeTempFile({ suffix: ".txt" });
 * await Deno.writeTextFile(path, "hello, world");
 * const response = await serveFile(
 *   new Request("http://localhost/hello.txt", { headers: { range: "bytes=7-" } }),
 *   path,
 * );
 * assertEquals(response.status, 206);
 * assertEquals(response.headers.get("content-range"), "bytes 7-11/12");
 * assertEquals(await response.text(), "world");
 * await Deno.remove(path);
 * ```
 */
export async function serveFile(
  request: Request,
  filePath: string,
  options?: ServeFileOptions,
): Promise<Response> {
  options ??= {};
  if (!isGetOrHead(request.method)) return errorResponse(405, { allow: "GET, HEAD" });
  const opened = openRegular(filePath);
  if (opened === null) return errorResponse(404);
  return await respond(request, {
    ...opened,
    contentType: options.contentType ?? contentTypeFor(filePath, options.mimeTypes),
  }, options);
}

/** Realpaths of roots, cached briefly (resolving on every request costs syscalls). */
const rootCache = new Map<string, { real: string; until: number }>();

function realRoot(root: string): string {
  const now = Date.now();
  const hit = rootCache.get(root);
  if (hit !== undefined && hit.until > now) return hit.real;
  const real = Deno.realPathSync(root);
  if (rootCache.size > 64) rootCache.clear();
  rootCache.set(root, { real, until: now + 2000 });
  return real;
}

function realExcludes(options: ServeDirOptions): string[] {
  const out: string[] = [];
  for (const path of options.exclude ?? []) {
    try {
      out.push(realRoot(path));
    } catch {
      // a path that does not exist excludes nothing
    }
  }
  return out;
}

function isInside(path: string, root: string): boolean {
  if (path === root) return true;
  const prefix = root.endsWith("/") ? root : root + "/";
  return path.startsWith(prefix);
}

/**
 * Opens a regular file only when its real path stays inside the root (unless
 * allowed) and, with dotfiles hidden, passes through no dot-named entry.
 */
function openInside(
  path: string,
  rootReal: string,
  options: ServeDirOptions,
  excludes: string[],
): { file: Deno.FsFile; info: Deno.FileInfo } | null {
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch {
    return null;
  }
  if (excludes.some((ex) => isInside(real, ex))) return null;
  const inside = isInside(real, rootReal);
  if (!inside && !options.followSymlinksOutsideRoot) return null;
  if (inside && !options.showDotfiles && hasDotSegment(real, rootReal)) return null;
  return openRegular(real);
}

/** Whether any segment of `path` below `root` starts with a dot. */
function hasDotSegment(path: string, root: string): boolean {
  const rest = path.slice(root.length);
  return rest.split("/").some((s) => s.startsWith("."));
}

/**
 * Whether `\` is an ordinary file-name character (POSIX) rather than a path
 * separator (Windows).
 */
const BACKSLASH_IS_NAME = Deno.build.os !== "windows";

/**
 * Decodes URL path segments; null when one is malformed or smuggles a
 * separator, NUL or dot segment. A decoded `\` (`%5C`) is a plain file-name
 * character on POSIX systems, so names with one (which the listing links as
 * `%5C`) can be served there; but a segment is refused on every platform
 * when it would be traversal were `\` a separator (a `.` or `..` between
 * backslashes: `..%5C`, `%5C..%5C`, `a%5C..`), and on Windows every decoded
 * `\` is refused.
 */
function decodeSegments(pathname: string): string[] | null {
  const out: string[] = [];
  for (const raw of pathname.split("/")) {
    if (raw === "") continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (segment === "." || segment === ".." || segment.includes("/") || segment.includes("\0")) {
      return null;
    }
    if (segment.includes("\\")) {
      if (!BACKSLASH_IS_NAME) return null;
      if (segment.split("\\").some((piece) => piece === "." || piece === "..")) return null;
    }
    out.push(segment);
  }
  return out;
}

/** Parses `Accept-Encoding` into the codings it accepts (q > 0). */
function acceptedEncodings(header: string | null): Set<string> {
  const out = new Set<string>();
  if (header === null) return out;
  let star = false;
  const refused = new Set<string>();
  for (const item of header.split(",")) {
    const [coding, ...params] = item.trim().toLowerCase().split(";");
    if (!coding) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) q = Number(m[1]);
    }
    if (coding === "*") star = q > 0;
    else if (q > 0) out.add(coding.trim());
    else refused.add(coding.trim());
  }
  if (star) { for (const c of ["br", "gzip"]) if (!refused.has(c)) out.add(c); }
  return out;
}

function corsHeaders(request: Request): Headers {
  const headers = new Headers({
    "access-control-allow-origin": "*",
    "access-control-expose-headers":
      "Content-Length, Content-Range, Content-Encoding, Accept-Ranges, ETag, Last-Modified",
  });
  if (request.method === "OPTIONS") {
    headers.set("access-control-allow-methods", "GET, HEAD, OPTIONS");
    const asked = request.headers.get("access-control-request-headers");
    headers.set(
      "access-control-allow-headers",
      asked !== null && /^[\w\-, ]{1,1024}$/.test(asked)
        ? asked
        : "Range, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range",
    );
    headers.set("access-control-max-age", "86400");
  }
  return headers;
}

async function listDirectory(
  request: Request,
  url: URL,
  dirReal: string,
  displayPath: string,
  isRoot: boolean,
  rootReal: string,
  options: ServeDirOptions,
  excludes: string[],
): Promise<Response> {
  const max = options.maxListingEntries ?? 10000;
  const names: Deno.DirEntry[] = [];
  let total = 0;
  for await (const entry of Deno.readDir(dirReal)) {
    if (!options.showDotfiles && entry.name.startsWith(".")) continue;
    // A name the path check would refuse (a dot segment between backslashes,
    // any backslash on Windows) gets no link that could not be followed.
    if (decodeSegments("/" + encodeSegment(entry.name)) === null) continue;
    total++;
    if (names.length < max) names.push(entry);
  }
  const entries: ListingEntry[] = [];
  const batch = 64;
  for (let i = 0; i < names.length; i += batch) {
    const slice = names.slice(i, i + batch);
    const done = await Promise.all(slice.map(async (entry): Promise<ListingEntry | null> => {
      const path = `${dirReal}/${entry.name}`;
      try {
        if (entry.isSymlink || excludes.length > 0) {
          const real = await Deno.realPath(path);
          if (!options.followSymlinksOutsideRoot && !isInside(real, rootReal)) return null;
          if (excludes.some((ex) => isInside(real, ex))) return null;
        }
        const info = await Deno.stat(path);
        return {
          name: entry.name,
          isDirectory: info.isDirectory,
          isSymlink: entry.isSymlink,
          size: info.isFile ? info.size : null,
          modified: info.mtime,
        };
      } catch {
        return null; // dangling link or vanished entry
      }
    }));
    for (const e of done) if (e !== null) entries.push(e);
  }
  const sort = listingSortFrom(url);
  sortEntries(entries, sort);
  const headers = new Headers(options.cors ? corsHeaders(request) : undefined);
  headers.set("x-content-type-options", "nosniff");
  headers.set("cache-control", "no-cache");
  headers.set("vary", "Accept");
  let body: string;
  if (prefersJson(request.headers.get("accept"))) {
    headers.set("content-type", "application/json; charset=utf-8");
    body = renderListingJson(entries);
  } else {
    headers.set("content-type", "text/html; charset=utf-8");
    headers.set(
      "content-security-policy",
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    );
    body = renderListingHtml(displayPath, entries, sort, {
      parent: !isRoot,
      truncated: total > names.length,
      total,
    });
  }
  const bytes = new TextEncoder().encode(body);
  headers.set("content-length", String(bytes.length));
  return new Response(request.method === "HEAD" ? null : bytes, { status: 200, headers });
}

function prefersJson(accept: string | null): boolean {
  if (accept === null) return false;
  const json = accept.indexOf("application/json");
  if (json < 0) return false;
  const html = accept.indexOf("text/html");
  return html < 0 || json < html;
}

/**
 * Serves a directory tree, the `python -m http.server` and Go
 * `http.FileServer` of inetkit, usable directly as a handler. For each
 * request it decodes and checks the path (percent-decoded segments holding
 * `/` or NUL, dot segments, and dot segments between backslashes such as
 * `..%5C` → 400; a `%5C` is otherwise a plain name character on POSIX, so
 * listed names with a backslash can be fetched, and refused on Windows,
 * where it separates paths; nothing outside `fsRoot` is ever
 * opened; symlinks resolving outside the root and dotfiles → 404 unless
 * enabled), then serves a file as {@linkcode serveFile} does, a directory
 * through its `index.html` or a listing (HTML with escaped names and encoded
 * hrefs, sortable by name, size or date; JSON for `Accept:
 * application/json`), and redirects a directory URL without its slash (the
 * `Location` never starts with `//`). Precompressed `.br`/`.gz` siblings are
 * chosen by `Accept-Encoding`, with `Vary`. Optional CORS, SPA fallback and
 * custom 404 page. Internal errors never leak to the client.
 *
 * @param request The request.
 * @param options The root and what to serve.
 * @returns The response.
 *
 * @example Serving a temporary directory
 * ```ts
 * import { serveDir } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const fsRoot = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${fsRoot}/hello.txt`, "hello");
 * const ok = await serveDir(new Request("http://localhost/hello.txt"), { fsRoot });
 * assertEquals(await ok.text(), "hello");
 * const escape = await serveDir(new Request("http://localhost/..%2f..%2fetc/passwd"), { fsRoot });
 * assertEquals(escape.status, 400);
 * await escape.body?.cancel();
 * await Deno.remove(fsRoot, { recursive: true });
 * ```
 */
export async function serveDir(request: Request, options?: ServeDirOptions): Promise<Response> {
  options ??= {};
  const cors = options.cors ?? false;
  const withCors = (response: Response): Response => {
    if (cors) corsHeaders(request).forEach((v, k) => response.headers.set(k, v));
    return response;
  };
  try {
    if (request.method === "OPTIONS" && cors) {
      return new Response(null, { status: 204, headers: corsHeaders(request) });
    }
    if (!isGetOrHead(request.method)) {
      return withCors(errorResponse(405, { allow: cors ? "GET, HEAD, OPTIONS" : "GET, HEAD" }));
    }
    const url = new URL(request.url);
    let pathname = url.pathname;
    const urlRoot = (options.urlRoot ?? "").replace(/\/+$/, "");
    if (urlRoot !== "") {
      const prefix = urlRoot.startsWith("/") ? urlRoot : "/" + urlRoot;
      if (pathname !== prefix && !pathname.startsWith(prefix + "/")) {
        return withCors(errorResponse(404));
      }
      pathname = pathname.slice(prefix.length) || "/";
    }
    const segments = decodeSegments(pathname);
    if (segments === null) return withCors(errorResponse(400));
    const rootReal = realRoot(options.fsRoot ?? ".");
    const excludes = realExcludes(options);
    const notFound = async (): Promise<Response> => {
      if (options.spa) {
        const index = openInside(`${rootReal}/index.html`, rootReal, options, excludes);
        if (index !== null) {
          return withCors(
            await respond(request, { ...index, contentType: "text/html; charset=utf-8" }, options),
          );
        }
      }
      if (options.notFoundPage !== undefined) {
        const page = await openRegular(options.notFoundPage);
        if (page !== null) {
          return withCors(
            await respond(
              request,
              {
                ...page,
                contentType: contentTypeFor(options.notFoundPage, options.mimeTypes),
              },
              options,
              undefined,
              404,
            ),
          );
        }
      }
      return withCors(errorResponse(404));
    };
    if (!options.showDotfiles && segments.some((s) => s.startsWith("."))) {
      return withCors(errorResponse(404));
    }
    const joined = segments.length === 0 ? rootReal : `${rootReal}/${segments.join("/")}`;
    let real: string;
    try {
      real = Deno.realPathSync(joined);
    } catch {
      return await notFound();
    }
    if (!options.followSymlinksOutsideRoot && !isInside(real, rootReal)) {
      return withCors(errorResponse(404));
    }
    if (excludes.some((ex) => isInside(real, ex))) return withCors(errorResponse(404));
    if (!options.showDotfiles && isInside(real, rootReal) && hasDotSegment(real, rootReal)) {
      return withCors(errorResponse(404));
    }
    const opened = openAny(real);
    if (opened === null) return await notFound();
    const info = opened.info;
    if (!info.isFile) opened.file.close();
    if (info.isDirectory) {
      if (!pathname.endsWith("/")) {
        // Collapse slashes so the Location can never be "//host/...".
        const location = url.pathname.replace(/\/{2,}/g, "/") + "/" + url.search;
        return withCors(
          new Response(null, { status: 301, headers: { location, "content-length": "0" } }),
        );
      }
      if (options.showIndex ?? true) {
        const index = openInside(`${real}/index.html`, rootReal, options, excludes);
        if (index !== null) {
          return withCors(
            await respond(request, { ...index, contentType: "text/html; charset=utf-8" }, options),
          );
        }
      }
      if (options.showDirListing ?? true) {
        const display = "/" + segments.map((s) => s + "/").join("");
        return withCors(
          await listDirectory(
            request,
            url,
            real,
            display,
            segments.length === 0,
            rootReal,
            options,
            excludes,
          ),
        );
      }
      return await notFound();
    }
    if (!info.isFile) return await notFound();
    const contentType = options.contentType ?? contentTypeFor(real, options.mimeTypes);
    if (options.precompressed ?? true) {
      // Siblings are looked for only when the client accepts them, as nginx's
      // gzip_static does: a failed probe costs a thrown error per request.
      const accepted = acceptedEncodings(request.headers.get("accept-encoding"));
      let vary = false;
      for (const [suffix, coding] of [[".br", "br"], [".gz", "gzip"]] as const) {
        if (!accepted.has(coding)) continue;
        const sibling = openInside(real + suffix, rootReal, options, excludes);
        if (sibling === null) continue;
        vary = true;
        opened.file.close();
        return withCors(
          await respond(request, { ...sibling, contentType, encoding: coding, vary }, options),
        );
      }
      return withCors(await respond(request, { ...opened, contentType, vary }, options));
    }
    return withCors(await respond(request, { ...opened, contentType }, options));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return withCors(errorResponse(404));
    if (error instanceof Deno.errors.PermissionDenied) return withCors(errorResponse(403));
    return withCors(errorResponse(500));
  }
}
