/**
 * CGI/1.1 (RFC 3875) on both sides: {@linkcode serveCgi} runs scripts from
 * CGI directories for an HTTP server, and {@linkcode readCgiRequest} /
 * {@linkcode writeCgiResponse} let a script written with inetkit read its
 * request as a web `Request` and answer with a web `Response`.
 *
 * @module
 */
import { BufferedReader } from "../net/buffered_reader.ts";
import { readHeaderBlock } from "../net/mime_header.ts";
import { ProtocolError } from "../net/protocol_error.ts";

/** What {@linkcode serveCgi} needs to know about the connection; an `HttpServer` or `Deno.serve` handler `info` fits. */
export interface CgiConnectionInfo {
  /** The client's address (`REMOTE_ADDR`, `REMOTE_PORT`). */
  remoteAddr: Deno.NetAddr | Deno.Addr;
  /** The server's address (`SERVER_PORT` when the `Host` header has none). */
  localAddr?: Deno.NetAddr | Deno.Addr;
  /** The request's protocol version (`SERVER_PROTOCOL`). */
  version?: string;
  /** The raw request-target (`REQUEST_URI`). */
  target?: string;
  /** Aborted when the client goes away: the script is killed. */
  signal?: AbortSignal;
}

/** Options for {@linkcode serveCgi}. */
export interface CgiOptions {
  /**
   * The CGI directories: URL path prefix → file system directory, such as
   * `{ "/cgi-bin": "./cgi-bin" }`. Only regular files inside these
   * directories are ever run, and never sent as text.
   */
  directories: Record<string, string>;
  /**
   * Interpreters by file extension, such as `{ ".py": ["/usr/bin/python3"],
   * ".sh": ["/bin/sh"] }`; the script path is appended. Other files must be
   * executable and are run directly (their `#!` line picks the interpreter).
   *
   * @default {{}}
   */
  interpreters?: Record<string, string[]>;
  /**
   * Extra environment variables for every script. The server's own
   * environment is never passed, except `PATH` when this has none.
   *
   * @default {{}}
   */
  env?: Record<string, string>;
  /**
   * How long a script may run, in milliseconds, before it is killed: 504
   * when it has not answered yet, an aborted body otherwise.
   *
   * @default {30000}
   */
  timeout?: number;
  /**
   * The largest request body passed to a script; larger ones get 413.
   *
   * @default {16777216}
   */
  maxBodySize?: number;
  /**
   * The largest CGI header block a script may print; more is 502.
   *
   * @default {65536}
   */
  maxHeaderSize?: number;
  /**
   * The most scripts running at once (over all requests using this options
   * object); more requests get 503.
   *
   * @default {64}
   */
  maxProcesses?: number;
  /** `SERVER_SOFTWARE`. @default {"inetkit"} */
  serverSoftware?: string;
  /** `DOCUMENT_ROOT`, and the base of `PATH_TRANSLATED`. */
  documentRoot?: string;
  /**
   * Serves a local redirect (RFC 3875 §6.2.2: a script's `Location: /path`
   * without `Status`) as if the client had asked for `/path` with GET; it
   * gets the new request and the original connection info. Without it,
   * local redirects are sent to the client as 302, as lighttpd does.
   */
  localRedirect?: (
    request: Request,
    info: CgiConnectionInfo,
  ) => Response | Promise<Response>;
  /** Receives what scripts write to standard error; @default discarded. */
  onStderr?: (text: string) => void;
}

const running = new WeakMap<CgiOptions, number>();
const redirectDepth = new WeakMap<Request, number>();
const MAX_LOCAL_REDIRECTS = 10;
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-connection",
  "proxy-authenticate",
]);
const STATUS_REGEXP = /^([1-9]\d\d)(?:[ \t]+(.*))?$/;
const CGI_HEADER_NAME_REGEXP = /^[A-Za-z0-9-]+$/;
const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Content Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function plain(status: number): Response {
  const text = REASONS[status] ?? "Error";
  return new Response(`${status} ${text}\n`, {
    status,
    statusText: text,
    headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
  });
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

interface Script {
  path: string;
  scriptName: string;
  pathInfo: string;
  dir: string;
}

/** Finds the script for a URL path, or a status to answer with. */
async function findScript(pathname: string, options: CgiOptions): Promise<Script | number> {
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

function hostPort(addr: Deno.NetAddr | Deno.Addr | undefined): { host: string; port: string } {
  if (addr !== undefined && "hostname" in addr) {
    return { host: addr.hostname, port: String(addr.port) };
  }
  return { host: "", port: "" };
}

/** Builds the RFC 3875 §4.1 meta-variables. */
function metaVariables(
  request: Request,
  url: URL,
  info: CgiConnectionInfo,
  script: Script,
  contentLength: number | null,
  options: CgiOptions,
): Record<string, string> {
  const env: Record<string, string> = {};
  let inherited: string | undefined;
  try {
    inherited = Deno.env.get("PATH");
  } catch {
    // no permission to read the environment
  }
  const path = options.env?.PATH ?? inherited ?? "/usr/local/bin:/usr/bin:/bin";
  env.PATH = path;
  Object.assign(env, options.env ?? {});
  const remote = hostPort(info.remoteAddr);
  const local = hostPort(info.localAddr);
  env.GATEWAY_INTERFACE = "CGI/1.1";
  env.SERVER_SOFTWARE = options.serverSoftware ?? "inetkit";
  env.SERVER_PROTOCOL = info.version ?? "HTTP/1.1";
  env.SERVER_NAME = url.hostname.replace(/^\[|\]$/g, "") || local.host;
  env.SERVER_PORT = url.port ||
    (local.port !== "" ? local.port : url.protocol === "https:" ? "443" : "80");
  env.REQUEST_METHOD = request.method;
  env.REQUEST_URI = info.target !== undefined && info.target.startsWith("/")
    ? info.target
    : url.pathname + url.search;
  env.SCRIPT_NAME = script.scriptName;
  env.SCRIPT_FILENAME = script.path;
  env.PATH_INFO = script.pathInfo;
  if (script.pathInfo !== "" && options.documentRoot !== undefined) {
    env.PATH_TRANSLATED = options.documentRoot.replace(/\/+$/, "") + script.pathInfo;
  }
  if (options.documentRoot !== undefined) env.DOCUMENT_ROOT = options.documentRoot;
  env.QUERY_STRING = url.search.slice(1);
  env.REMOTE_ADDR = remote.host;
  env.REMOTE_HOST = remote.host;
  if (remote.port !== "") env.REMOTE_PORT = remote.port;
  if (url.protocol === "https:") env.HTTPS = "on";
  env.REDIRECT_STATUS = "200"; // php-cgi's force-cgi-redirect check
  if (contentLength !== null) env.CONTENT_LENGTH = String(contentLength);
  const type = request.headers.get("content-type");
  if (type !== null) env.CONTENT_TYPE = type;
  for (const [name, value] of request.headers) {
    // httpoxy: "Proxy:" must never become HTTP_PROXY. Names with "_" could
    // impersonate a dashed header (X_Real_IP vs X-Real-IP), and other token
    // characters make names shells cannot use: both dropped.
    if (name === "proxy" || !CGI_HEADER_NAME_REGEXP.test(name)) continue;
    if (name === "content-length" || name === "content-type") continue;
    const key = "HTTP_" + name.toUpperCase().replaceAll("-", "_");
    env[key] = key in env ? `${env[key]}, ${value}` : value;
  }
  return env;
}

/** A stream of the request body that errors past `max` bytes. */
function cappedBody(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        if (seen > max) {
          controller.error(
            new ProtocolError("BODY_TOO_LARGE", `Cannot pass body: more than ${max} bytes`),
          );
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * Runs a CGI script for a request (RFC 3875). The script is the first
 * existing regular file along the URL path under a configured CGI directory
 * (the rest is `PATH_INFO`); directories, dotfiles, non-executable files
 * without an interpreter and symlinks out of the directory are refused, and
 * a script's source is never sent. The script gets the full meta-variable set
 * (`GATEWAY_INTERFACE`, `SERVER_*`, `REQUEST_METHOD`, `REQUEST_URI`,
 * `SCRIPT_NAME`, `SCRIPT_FILENAME`, `PATH_INFO`, `PATH_TRANSLATED`,
 * `QUERY_STRING`, `REMOTE_ADDR`/`HOST`/`PORT`, `CONTENT_TYPE`,
 * `CONTENT_LENGTH`, `HTTPS`, `HTTP_*`) and nothing of the server's own
 * environment; a `Proxy:` header never becomes `HTTP_PROXY` (httpoxy) and
 * header names with `_` are dropped. The request body is streamed to its
 * standard input under `maxBodySize` (a chunked body is collected first to
 * know `CONTENT_LENGTH`). Its output's header block is parsed (`Status:`,
 * `Content-Type:`, `Location:` client and local redirects) and the body is
 * streamed on (length-framed when the script gave `Content-Length`, chunked
 * otherwise). Malformed output is 502, a script that runs past `timeout` is
 * killed (504 if it had not answered), too many running scripts is 503.
 *
 * @param request The request.
 * @param info The connection's addresses and the raw target.
 * @param options The CGI directories and limits.
 * @returns The script's response, or an error response.
 * @throws {TypeError} If `options.directories` is empty.
 *
 * @example Running a shell script
 * ```ts
 * import { serveCgi } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/hello.sh`, 'printf "Content-Type: text/plain\\r\\n\\r\\nhi $QUERY_STRING"');
 * const response = await serveCgi(
 *   new Request("http://localhost/cgi-bin/hello.sh?there"),
 *   { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 } },
 *   { directories: { "/cgi-bin": dir }, interpreters: { ".sh": ["/bin/sh"] } },
 * );
 * assertEquals(response.headers.get("content-type"), "text/plain");
 * assertEquals(await response.text(), "hi there");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function serveCgi(
  request: Request,
  info: CgiConnectionInfo,
  options: CgiOptions,
): Promise<Response> {
  if (Object.keys(options.directories).length === 0) {
    throw new TypeError("Cannot serve CGI: no CGI directories are configured");
  }
  const url = new URL(request.url);
  const found = await findScript(url.pathname, options);
  if (typeof found === "number") {
    await request.body?.cancel().catch(() => {});
    return plain(found);
  }
  const ext = found.path.slice(found.path.lastIndexOf(".")).toLowerCase();
  const interpreter = found.path.lastIndexOf(".") > found.path.lastIndexOf("/")
    ? options.interpreters?.[ext]
    : undefined;
  if (interpreter === undefined) {
    const mode = (await Deno.stat(found.path)).mode;
    if (mode !== null && (mode & 0o111) === 0) {
      await request.body?.cancel().catch(() => {});
      return plain(403);
    }
  }
  const maxBody = options.maxBodySize ?? 16 * 1024 * 1024;
  let body: ReadableStream<Uint8Array> | Uint8Array | null = null;
  let contentLength: number | null = null;
  if (request.body !== null) {
    const declared = request.headers.get("content-length");
    if (declared !== null && /^\d+$/.test(declared)) {
      contentLength = Number(declared);
      if (contentLength > maxBody) {
        await request.body.cancel().catch(() => {});
        return plain(413);
      }
      body = cappedBody(request.body, contentLength);
    } else {
      // Chunked: collect to learn CONTENT_LENGTH, under the cap.
      const chunks: Uint8Array[] = [];
      let size = 0;
      try {
        for await (const chunk of request.body) {
          size += chunk.length;
          if (size > maxBody) return plain(413);
          chunks.push(chunk);
        }
      } catch {
        return plain(400);
      }
      const all = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      body = all;
      contentLength = size;
    }
  }

  const max = options.maxProcesses ?? 64;
  const count = running.get(options) ?? 0;
  if (count >= max) {
    if (body instanceof ReadableStream) await body.cancel().catch(() => {});
    return plain(503);
  }

  const env = metaVariables(request, url, info, found, contentLength, options);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(interpreter?.[0] ?? found.path, {
      args: interpreter === undefined ? [] : [...interpreter.slice(1), found.path],
      cwd: found.dir,
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: options.onStderr ? "piped" : "null",
    }).spawn();
  } catch {
    if (body instanceof ReadableStream) await body.cancel().catch(() => {});
    return plain(500);
  }
  running.set(options, (running.get(options) ?? 0) + 1);
  const status = child.status.finally(() => {
    running.set(options, Math.max(0, (running.get(options) ?? 1) - 1));
  });

  // Kill on timeout or when the client goes away.
  let timedOut = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  };
  const headReader = new BufferedReader(child.stdout, { bufferSize: 16384 });
  let stdoutReader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  const cancelStdout = (): Promise<void> =>
    (stdoutReader !== null ? stdoutReader.cancel() : headReader.cancel()).catch(() => {});
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
    void cancelStdout();
  }, options.timeout ?? 30000);
  const onAbort = () => {
    kill();
    void cancelStdout();
  };
  info.signal?.addEventListener("abort", onAbort, { once: true });
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await status.catch(() => {});
    clearTimeout(timer);
    info.signal?.removeEventListener("abort", onAbort);
  };

  // stderr, if wanted
  let stderrDone: Promise<void> = Promise.resolve();
  if (options.onStderr) {
    const sink = options.onStderr;
    stderrDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (text) => sink(text) }),
    ).catch(() => {});
  }

  // stdin: stream the body while the script runs.
  const stdinDone = (async () => {
    try {
      if (body instanceof Uint8Array) {
        const writer = child.stdin.getWriter();
        await writer.write(body);
        await writer.close();
      } else if (body !== null) {
        await body.pipeTo(child.stdin);
      } else {
        await child.stdin.close();
      }
    } catch {
      // The script may exit without reading its input.
      try {
        await child.stdin.close();
      } catch {
        // already closed or errored
      }
    }
  })();

  const finish = async (): Promise<void> => {
    await stdinDone;
    await stderrDone;
    await cleanup();
  };

  let fields;
  try {
    fields = await readHeaderBlock(headReader, {
      maxBytes: options.maxHeaderSize ?? 65536,
      maxFields: 100,
      folding: "reject",
      nameSyntax: "token",
      decode: "latin1",
      lineEnding: "any",
    });
  } catch {
    kill();
    await cancelStdout();
    await finish();
    return plain(timedOut ? 504 : 502);
  }

  let statusCode = 200;
  let statusText: string | undefined;
  let hasStatus = false;
  let location: string | null = null;
  const headers = new Headers();
  let bad = false;
  for (const { name, value } of fields) {
    const lower = name.toLowerCase();
    if (lower === "status") {
      const m = STATUS_REGEXP.exec(value);
      if (m === null) {
        bad = true;
        break;
      }
      statusCode = Number(m[1]);
      statusText = m[2];
      hasStatus = true;
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === "location") location = value;
    if (lower === "content-length" && !/^\d+$/.test(value)) {
      bad = true;
      break;
    }
    try {
      headers.append(name, value);
    } catch {
      bad = true;
      break;
    }
  }
  if (bad || statusCode < 200 || statusCode > 599) {
    kill();
    await cancelStdout();
    await finish();
    return plain(502);
  }

  const leftover = headReader.release();
  const out = child.stdout.getReader();
  stdoutReader = out;

  if (location !== null && !hasStatus) {
    if (location.startsWith("/") && !location.startsWith("//")) {
      // Local redirect (RFC 3875 §6.2.2): the script's body is discarded.
      await cancelStdout();
      await finish();
      const depth = redirectDepth.get(request) ?? 0;
      if (options.localRedirect !== undefined && depth < MAX_LOCAL_REDIRECTS) {
        const target = new URL(location, url);
        const forwarded = new Headers(request.headers);
        forwarded.delete("content-length");
        forwarded.delete("content-type");
        forwarded.delete("transfer-encoding");
        const next = new Request(target, { method: "GET", headers: forwarded });
        redirectDepth.set(next, depth + 1);
        return await options.localRedirect(next, info);
      }
      if (options.localRedirect !== undefined) return plain(502);
    }
    statusCode = 302;
    statusText = "Found";
  }

  let bodyDone = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      if (leftover.length > 0) controller.enqueue(leftover);
    },
    async pull(controller) {
      try {
        const { value, done } = await out.read();
        if (done) {
          bodyDone = true;
          await finish();
          if (timedOut) {
            controller.error(new Error("Cannot finish CGI response: the script timed out"));
          } else controller.close();
          return;
        }
        controller.enqueue(value);
      } catch (error) {
        await finish();
        controller.error(error);
      }
    },
    async cancel() {
      if (!bodyDone) kill();
      await cancelStdout();
      await finish();
    },
  }, { highWaterMark: 0 });
  const noBody = statusCode === 204 || statusCode === 304;
  if (noBody) {
    await stream.cancel();
    return new Response(null, { status: statusCode, statusText, headers });
  }
  return new Response(stream, { status: statusCode, statusText, headers });
}

/** Options for {@linkcode readCgiRequest}. */
export interface ReadCgiRequestOptions {
  /**
   * The CGI environment; by default the process's (needs `--allow-env`).
   */
  env?: Record<string, string>;
  /**
   * The request body source; by default standard input.
   */
  stdin?: ReadableStream<Uint8Array>;
}

/**
 * Reads the request of a CGI script (the script side of RFC 3875) into a
 * web `Request`: the URL from `REQUEST_URI` (or `SCRIPT_NAME` + `PATH_INFO`
 * + `QUERY_STRING`) and the host, headers from `HTTP_*`, `CONTENT_TYPE` and
 * `CONTENT_LENGTH`, and a body of exactly `CONTENT_LENGTH` bytes from
 * standard input (an early end errors the body). Form data then comes from
 * `request.formData()`, as Python's `cgi.FieldStorage` gave it.
 *
 * @param options The environment and input to read instead of the process's.
 * @returns The request.
 * @throws {TypeError} If `REQUEST_METHOD` is missing (not running as CGI).
 *
 * @example Reading a form post
 * ```ts
 * import { readCgiRequest } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const request = readCgiRequest({
 *   env: {
 *     REQUEST_METHOD: "POST", SERVER_NAME: "example.test", SERVER_PORT: "80",
 *     SCRIPT_NAME: "/cgi-bin/form", QUERY_STRING: "",
 *     CONTENT_TYPE: "application/x-www-form-urlencoded", CONTENT_LENGTH: "9",
 *   },
 *   stdin: ReadableStream.from([new TextEncoder().encode("name=Ada!")]),
 * });
 * assertEquals(request.url, "http://example.test/cgi-bin/form");
 * assertEquals((await request.formData()).get("name"), "Ada!");
 * ```
 */
export function readCgiRequest(options: ReadCgiRequestOptions = {}): Request {
  const env = options.env ?? Deno.env.toObject();
  const method = env.REQUEST_METHOD;
  if (method === undefined || method === "") {
    throw new TypeError("Cannot read CGI request: REQUEST_METHOD is not set");
  }
  const scheme = (env.HTTPS ?? "").toLowerCase() === "on" ? "https" : "http";
  let host = env.HTTP_HOST;
  if (host === undefined || host === "") {
    const name = env.SERVER_NAME ?? "localhost";
    const port = env.SERVER_PORT ?? "";
    const bracketed = name.includes(":") ? `[${name}]` : name;
    const defaultPort = scheme === "https" ? "443" : "80";
    host = port === "" || port === defaultPort ? bracketed : `${bracketed}:${port}`;
  }
  let target = env.REQUEST_URI;
  if (target === undefined || !target.startsWith("/")) {
    const path = (env.SCRIPT_NAME ?? "") + (env.PATH_INFO ?? "");
    const encoded = path.split("/").map((s) => encodeURIComponent(s)).join("/") || "/";
    const query = env.QUERY_STRING ?? "";
    target = encoded + (query === "" ? "" : `?${query}`);
  }
  const headers = new Headers();
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith("HTTP_") || key === "HTTP_PROXY") continue;
    const name = key.slice(5).toLowerCase().replaceAll("_", "-");
    try {
      headers.set(name, value);
    } catch {
      // a value a Headers object cannot hold: skipped
    }
  }
  if (env.CONTENT_TYPE) headers.set("content-type", env.CONTENT_TYPE);
  const length = /^\d+$/.test(env.CONTENT_LENGTH ?? "") ? Number(env.CONTENT_LENGTH) : 0;
  let body: ReadableStream<Uint8Array> | null = null;
  if (length > 0 && method !== "GET" && method !== "HEAD") {
    headers.set("content-length", String(length));
    body = exactly(options.stdin ?? Deno.stdin.readable, length);
  }
  return new Request(`${scheme}://${host}${target}`, {
    method,
    headers,
    body,
  });
}

/** The first `length` bytes of a stream; errors when it ends sooner. */
function exactly(source: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let left = length;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (left === 0) {
        reader.releaseLock();
        controller.close();
        return;
      }
      const { value, done } = await reader.read();
      if (done) {
        controller.error(
          new ProtocolError(
            "UNEXPECTED_EOF",
            `Cannot read CGI body: input ended ${left} bytes early`,
          ),
        );
        return;
      }
      const chunk = value.length > left ? value.subarray(0, left) : value;
      left -= chunk.length;
      controller.enqueue(chunk);
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  });
}

/** Options for {@linkcode writeCgiResponse}. */
export interface WriteCgiResponseOptions {
  /** Where to write; by default standard output. */
  stdout?: WritableStream<Uint8Array>;
}

/**
 * Writes a web `Response` as CGI output (RFC 3875 §6): a `Status:` line,
 * the header fields (each `Set-Cookie` on its own line), an empty line and
 * the body, streamed. The stream is not closed, so a script may write more
 * after it only if it wants to.
 *
 * @param response The response.
 * @param options Where to write.
 * @returns When everything is written.
 *
 * @example Answering from a CGI script
 * ```ts
 * import { writeCgiResponse } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks: Uint8Array[] = [];
 * const stdout = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
 * await writeCgiResponse(new Response("gone", { status: 410, headers: { "content-type": "text/plain" } }), { stdout });
 * const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
 * assertEquals(text, "Status: 410 Gone\r\ncontent-type: text/plain\r\n\r\ngone");
 * ```
 */
export async function writeCgiResponse(
  response: Response,
  options: WriteCgiResponseOptions = {},
): Promise<void> {
  const stdout = options.stdout ?? Deno.stdout.writable;
  const writer = stdout.getWriter();
  try {
    const reason = response.statusText || REASON_PHRASES[response.status] || "";
    let head = `Status: ${response.status}${reason ? " " + reason : ""}\r\n`;
    for (const [name, value] of response.headers) {
      if (name === "set-cookie") continue;
      head += `${name}: ${value}\r\n`;
    }
    for (const cookie of response.headers.getSetCookie()) head += `set-cookie: ${cookie}\r\n`;
    head += "\r\n";
    await writer.write(new TextEncoder().encode(head));
    if (response.body !== null) {
      for await (const chunk of response.body) await writer.write(chunk);
    }
  } finally {
    writer.releaseLock();
  }
}

const REASON_PHRASES: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  410: "Gone",
  413: "Content Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};
