/**
 * CGI/1.1 (RFC 3875) on both sides: {@linkcode serveCgi} runs scripts from
 * CGI directories for an HTTP server, and {@linkcode readCgiRequest} /
 * {@linkcode writeCgiResponse} let a script written with inetkit read its
 * request as a web `Request` and answer with a web `Response`.
 *
 * @module
 */
import { ProtocolError } from "../net/protocol_error.ts";
import { CgiExchange, type CgiStopReason } from "./_cgi_exchange.ts";
import { metaVariables } from "./_cgi_env.ts";
import { cgiErrorResponse, parseCgiHead } from "./_cgi_head.ts";
import { discardInput, prepareInput } from "./_cgi_input.ts";
import { CgiProcess } from "./_cgi_process.ts";
import { findScript, scriptCommand } from "./_cgi_script.ts";

export type { CgiConnectionInfo, CgiOptions } from "./_cgi_types.ts";
import type { CgiConnectionInfo, CgiOptions } from "./_cgi_types.ts";

const live = new WeakMap<CgiOptions, Set<CgiProcess>>();
const redirectDepth = new WeakMap<Request, number>();
const MAX_LOCAL_REDIRECTS = 10;

/** The scripts of an options object whose process groups are not gone yet. */
function liveScripts(options: CgiOptions): Set<CgiProcess> {
  let set = live.get(options);
  if (set === undefined) {
    set = new Set();
    live.set(options, set);
  }
  return set;
}

/** The error answer for an exchange that could not produce a head. */
function failedHead(reason: CgiStopReason | null): Response {
  switch (reason) {
    case "timeout":
      return cgiErrorResponse(504);
    case "aborted":
      return cgiErrorResponse(503);
    case "input":
      return cgiErrorResponse(400);
    default:
      return cgiErrorResponse(502);
  }
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
 * otherwise). Malformed output is 502, too many running scripts is 503.
 *
 * Each script runs in its own process group (POSIX: `Deno.Command`'s
 * `detached`, which calls setsid(2)), and the whole group is ended —
 * SIGTERM, then SIGKILL after `gracePeriod` — when the script runs past
 * `timeout` (504 if it had not answered, an errored body otherwise, so the
 * server closes the connection), when `info.signal` aborts (the client went
 * away or the server shuts down: 503 before the head), when the request body
 * fails (400 before the head), when the response body is cancelled, and when
 * the script exits (what it left running in the background). `maxProcesses`
 * counts groups until their last process is gone. Signalling groups needs
 * `--allow-run` without a list of programs; without it only the script
 * itself is signalled and counted. A process that calls setsid or setpgid
 * itself leaves the group and is out of reach; the pipes it holds are cut at
 * the deadline, so the response still ends.
 *
 * @param request The request.
 * @param info The connection's addresses, the raw target and the client's signal.
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
 *
 * @example A script past its timeout, with a child of its own
 * ```ts
 * import { serveCgi } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/stuck.sh`, "sleep 60\n");
 * const response = await serveCgi(
 *   new Request("http://localhost/cgi-bin/stuck.sh"),
 *   { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 } },
 *   { directories: { "/cgi-bin": dir }, interpreters: { ".sh": ["/bin/sh"] }, timeout: 200 },
 * );
 * // The shell and its sleep are both gone by now.
 * assertEquals(response.status, 504);
 * await response.body?.cancel();
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
  const script = await findScript(url.pathname, options);
  const command = typeof script === "number" ? null : await scriptCommand(script, options);
  if (typeof script === "number" || command === null) {
    await request.body?.cancel().catch(() => {});
    return cgiErrorResponse(typeof script === "number" ? script : 403);
  }
  const input = await prepareInput(request, options.maxBodySize ?? 16 * 1024 * 1024);
  if (typeof input === "number") return cgiErrorResponse(input);
  const scripts = liveScripts(options);
  if (info.signal?.aborted || scripts.size >= (options.maxProcesses ?? 64)) {
    await discardInput(input);
    return cgiErrorResponse(503);
  }
  const env = metaVariables(request, url, info, script, input.length, options);
  let proc: CgiProcess;
  try {
    proc = new CgiProcess({
      ...command,
      cwd: script.dir,
      env,
      stderr: options.onStderr !== undefined,
      gracePeriod: options.gracePeriod ?? 2000,
    });
  } catch {
    await discardInput(input);
    return cgiErrorResponse(500);
  }
  scripts.add(proc);
  void proc.gone.then(() => scripts.delete(proc));
  const exchange = new CgiExchange(proc, {
    timeout: options.timeout ?? 30000,
    signal: info.signal,
    onStderr: options.onStderr,
    body: input.body,
  });
  return await respond(exchange, request, url, info, options);
}

/** Reads the script's head and turns it into the response. */
async function respond(
  exchange: CgiExchange,
  request: Request,
  url: URL,
  info: CgiConnectionInfo,
  options: CgiOptions,
): Promise<Response> {
  const fields = await exchange.readHead(options.maxHeaderSize ?? 65536);
  const head = fields === null ? null : parseCgiHead(fields);
  if (head === null) {
    await exchange.abandon();
    return failedHead(exchange.reason);
  }
  let { status, statusText } = head;
  const { headers, location } = head;
  if (location !== null && !head.hasStatus) {
    if (location.startsWith("/") && !location.startsWith("//")) {
      // Local redirect (RFC 3875 §6.2.2): the script's body is discarded.
      await exchange.discardOutput();
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
      if (options.localRedirect !== undefined) return cgiErrorResponse(502);
    }
    status = 302;
    statusText = "Found";
  }
  if (status === 204 || status === 304) {
    await exchange.abandon();
    return new Response(null, { status, statusText, headers });
  }
  return new Response(exchange.body(), { status, statusText, headers });
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
export function readCgiRequest(options?: ReadCgiRequestOptions): Request {
  options ??= {};
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
  options?: WriteCgiResponseOptions,
): Promise<void> {
  options ??= {};
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
