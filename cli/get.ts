import { CookieJar } from "../http/cookie_jar.ts";
import { writeAll } from "../net/_io.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { buildOpener } from "../url/build_opener.ts";
import { HTTPError } from "../url/http_error.ts";
import { HttpBasicAuthHandler } from "../url/http_basic_auth_handler.ts";
import { HttpCookieProcessor } from "../url/http_cookie_processor.ts";
import { HttpDigestAuthHandler } from "../url/http_digest_auth_handler.ts";
import { HttpUrlHandler } from "../url/http_handler.ts";
import { HttpRedirectHandler } from "../url/http_redirect_handler.ts";
import { DefaultRealmPasswordManager } from "../url/password_manager.ts";
import { ProxyHandler } from "../url/proxy_handler.ts";
import { URLError } from "../url/url_error.ts";
import type { UrlHandler } from "../url/url_opener.ts";
import { UrlRequest } from "../url/url_request.ts";
import type { UrlResponse } from "../url/url_response.ts";
import { urlretrieve } from "../url/urlretrieve.ts";
import {
  CACERT_EXIT,
  type Command,
  CommandError,
  type CommandIo,
  connectFailure,
  flagBoolean,
  flagString,
  flagStrings,
  isResolveError,
  osMessage,
  parseArgs,
  readCaCerts,
  UsageError,
} from "./_command.ts";
import { GET_FTP_EXIT } from "./_get_exit.ts";
import { bodyToStdout, fileWriteError, OutputError, writeStdout } from "./_get_output.ts";
import "./_get_gopher.ts"; // gopher: URLs
import { type ProgressBar, progressBarFor } from "./_progress.ts";

/** Exit codes by failure class (curl's numbers, so scripts can share them). */
export const GET_EXIT = {
  /** Success. */
  ok: 0,
  /** Unsupported scheme or another failure. */
  failed: 1,
  /** Malformed URL. */
  badUrl: 3,
  /** The proxy's host name does not resolve. */
  proxyResolve: 5,
  /** The host name does not resolve. */
  resolve: 6,
  /** The connection was refused or failed. */
  connect: 7,
  /** The server's answer did not parse. */
  badReply: 8,
  /** HTTP answer 400 or above. */
  http: 22,
  /** Writing the output failed, standard output was closed (`| head`), or
   * binary output was refused on a terminal. */
  write: 23,
  /** Timed out. */
  timeout: 28,
  /** TLS handshake or certificate failure. */
  tls: 35,
  /** A file: URL names a file that cannot be read. */
  fileRead: 37,
  /** Too many redirects, or a redirect loop. */
  redirects: 47,
  /** The connection broke while receiving. */
  receive: 56,
  /** The `--cacert` file cannot be read or holds no certificate. */
  cacert: CACERT_EXIT,
  /** FTP: access denied (9), bad PASV reply (13), partial file (18), RETR failed (19),
   * upload refused (25), local read error (26), PORT failed (30), bad resume (36),
   * TLS required but unavailable (64), login denied (67), remote file not found (78). */
  ...GET_FTP_EXIT,
} as const;

const HELP = `Usage: inetkit get URL [options]
       inetkit get -T FILE ftp://HOST/DIR/[NAME]

Fetches a URL (http, https, file, data, ftp, ftps, gopher) and prints the
body, or writes it to a file with -o (with a progress bar when standard
error is a terminal). Binary bodies are not printed to a terminal unless
-o - is given. An ftp URL ending in / prints the directory listing; -T
uploads to an ftp URL.

  -o, --output FILE     write the body to FILE instead of standard output
                        (- for standard output, binary or not)
  -L, --location        follow redirects (at most 10)
  -u, --user USER:PASS  credentials: Basic, sent with the first request
      --digest          use them for Digest authentication instead
  -x, --proxy PROXY     use this HTTP proxy (default: http_proxy, https_proxy)
      --noproxy HOSTS   hosts to reach directly, comma-separated (* for all)
  -H, --header 'K: V'   add a request header (repeatable)
  -d, --data DATA       send DATA as a POST body (@FILE reads a file, @- stdin);
                        repeated -d are joined with &
  -X, --request METHOD  use this method
  -b, --cookie FILE     read cookies from a Netscape cookie file (or NAME=VALUE)
  -c, --cookie-jar FILE write the cookies to a Netscape cookie file at the end
  -C, --continue-at -   resume a partial -o FILE with Range and If-Range
                        (ftp: REST; with -T, append what the server lacks)
  -i, --include         print the status line and headers before the body
  -s, --silent          no progress bar
      --timeout MS      milliseconds for connect, head and each pause in the body
      --cacert FILE     trust the CA certificates in this PEM file
  -T, --upload-file FILE  upload FILE to an ftp URL (to DIR/FILE for a URL ending in /)
      --ssl-reqd        ftp: require TLS (AUTH TLS), fail rather than go on in clear
      --starttls        the same as --ssl-reqd
      --no-tls          ftp: stay in clear, even when the server offers AUTH TLS
      --insecure-auth   ftp: send the password in clear to a host that is not
                        loopback (without TLS it is refused, exit 67)
  -P, --ftp-port ADDR   ftp: active mode, listening on ADDR (- for the control address)
  -l, --list-only       ftp: list names only (NLST)

ftp: URLs use AUTH TLS when the server offers it (verified; --cacert for a
private CA; a certificate that does not verify is an error, never a fallback
to clear text); ftps: URLs are implicit TLS (port 990).

Exit codes: 0 ok, 1 failed, 2 usage, 3 malformed URL, 5 proxy not resolved,
6 host not resolved, 7 connection failed, 8 bad reply, 9 FTP access denied,
13 bad PASV reply, 18 partial file, 19 RETR failed, 22 HTTP 400 or above,
23 write error (also: standard output closed, binary output refused),
25 upload refused, 26 read error, 28 timeout, 30 PORT failed, 35 TLS error,
36 bad resume, 37 file: URL unreadable, 47 too many redirects, 56 connection
broke while receiving, 64 TLS required, 67 login denied (or refused in
clear), 77 bad --cacert file, 78 remote file not found.
`;

const encoder = new TextEncoder();

/** The flags that only mean something for ftp: URLs. */
const FTP_ONLY = [
  "upload-file",
  "ssl-reqd",
  "starttls",
  "no-tls",
  "insecure-auth",
  "ftp-port",
  "list-only",
];

/** A redirect handler that follows nothing: without -L, a 3xx is the answer. */
class NoRedirectHandler extends HttpRedirectHandler {
  override error(): Promise<UrlResponse | null> {
    return Promise.resolve(null);
  }
}

/** Where the opener went last (redirects included), for messages that name it. */
interface Attempt {
  url: URL;
  proxy: URL | null;
  at: number;
}

/** A handler that only watches: it records every request just before it is opened. */
class AttemptRecorder implements UrlHandler {
  readonly order = 10000;
  last: Attempt;
  #now: () => number;
  constructor(url: URL, now: () => number) {
    this.#now = now;
    this.last = { url, proxy: null, at: now() };
  }
  preprocess(request: UrlRequest): void {
    this.last = { url: request.parsedUrl, proxy: request.proxy, at: this.#now() };
  }
}

/**
 * `get URL [-o FILE] [-L] [-u USER:PASS] [--digest] [-x PROXY] [-H 'K: V']...
 * [-d DATA] [-X METHOD] [-b/-c COOKIEFILE] [-C -] [-i]`: a small curl on
 * {@linkcode urlopen}'s handlers.
 */
export const getCommand: Command = {
  name: "get",
  summary: "fetch a URL (http, https, file, data, ftp, ftps) like a small curl",
  help: HELP,
  async run(args, io) {
    const parsed = parseArgs(args, {
      booleans: [
        "location",
        "digest",
        "include",
        "silent",
        "help",
        "ssl-reqd",
        "starttls",
        "no-tls",
        "insecure-auth",
        "list-only",
      ],
      values: [
        "output",
        "user",
        "proxy",
        "header",
        "data",
        "request",
        "cookie",
        "cookie-jar",
        "continue-at",
        "timeout",
        "cacert",
        "noproxy",
        "upload-file",
        "ftp-port",
      ],
      aliases: {
        o: "output",
        L: "location",
        u: "user",
        x: "proxy",
        H: "header",
        d: "data",
        X: "request",
        b: "cookie",
        c: "cookie-jar",
        C: "continue-at",
        i: "include",
        s: "silent",
        T: "upload-file",
        P: "ftp-port",
        l: "list-only",
      },
    });
    const [urlText, ...extra] = parsed.positional;
    if (urlText === undefined || extra.length > 0) throw new UsageError("Expected one URL");
    const outputFlag = flagString(parsed, "output");
    const resume = flagString(parsed, "continue-at");
    if (resume !== undefined && resume !== "-") {
      throw new UsageError("Only -C - (resume from the file's size) is supported");
    }
    if (resume !== undefined && outputFlag === "-") {
      throw new UsageError("-C - needs -o FILE, not standard output");
    }

    const timeoutText = flagString(parsed, "timeout");
    if (timeoutText !== undefined && !/^[1-9]\d*$/.test(timeoutText)) {
      throw new UsageError(`Invalid --timeout: ${timeoutText}`);
    }
    const timeout = timeoutText === undefined ? undefined : Number(timeoutText);

    let url: URL;
    try {
      url = new URL(urlText);
    } catch {
      io.err(`inetkit get: malformed URL ${JSON.stringify(urlText)}\n`);
      return GET_EXIT.badUrl;
    }
    if (url.protocol === "ftp:" || url.protocol === "ftps:") {
      const { runFtpGet } = await import("./_get_ftp.ts");
      return await runFtpGet(url, parsed, io, { exitCodeFor });
    }
    for (const flag of FTP_ONLY) {
      if (parsed.flags.has(flag)) throw new UsageError(`--${flag} works with ftp URLs only`);
    }
    // -o - is standard output, binary or not (curl).
    const output = outputFlag === "-" ? undefined : outputFlag;
    const forceStdout = outputFlag === "-";
    if (resume !== undefined && output === undefined) throw new UsageError("-C - needs -o FILE");

    const headers = new Headers();
    for (const line of flagStrings(parsed, "header")) {
      const colon = line.indexOf(":");
      if (colon <= 0) {
        throw new UsageError(`Invalid header ${JSON.stringify(line)}: expected 'Name: value'`);
      }
      try {
        headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      } catch {
        throw new UsageError(`Invalid header ${JSON.stringify(line)}`);
      }
    }

    const handlers: UrlHandler[] = [];
    const caCerts = await readCaCerts(flagString(parsed, "cacert"));
    handlers.push(new HttpUrlHandler({ caCerts }));
    if (!flagBoolean(parsed, "location")) handlers.push(new NoRedirectHandler());
    const proxy = flagString(parsed, "proxy");
    const noProxy = flagString(parsed, "noproxy");
    if (proxy !== undefined || noProxy !== undefined) {
      const settings = proxy !== undefined ? { http: proxy, https: proxy } : ProxyHandler.fromEnv();
      try {
        handlers.push(new ProxyHandler({ ...settings, noProxy: noProxy ?? settings.noProxy }));
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    }

    let user = flagString(parsed, "user");
    if (user === undefined && (url.username !== "" || url.password !== "")) {
      user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    }
    url.username = "";
    url.password = "";
    if (user !== undefined) {
      const colon = user.indexOf(":");
      if (colon < 0) throw new UsageError("-u needs USER:PASS");
      const manager = new DefaultRealmPasswordManager();
      const digest = flagBoolean(parsed, "digest");
      // Scoped to the URL's origin: never sent to hosts a redirect leads to.
      manager.add(null, url.origin + "/", user.slice(0, colon), user.slice(colon + 1), {
        preemptive: !digest,
      });
      handlers.push(
        digest ? new HttpDigestAuthHandler(manager) : new HttpBasicAuthHandler(manager),
      );
    }

    const cookieArg = flagString(parsed, "cookie");
    const cookieJarFile = flagString(parsed, "cookie-jar");
    let jar: CookieJar | undefined;
    if (cookieArg !== undefined || cookieJarFile !== undefined) {
      jar = new CookieJar();
      if (cookieArg !== undefined && cookieArg.includes("=")) {
        headers.set("Cookie", cookieArg);
      } else if (cookieArg !== undefined) {
        try {
          jar.loadNetscape(await Deno.readTextFile(cookieArg));
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
      handlers.push(new HttpCookieProcessor(jar));
    }

    const dataParts = flagStrings(parsed, "data");
    let data: Uint8Array | undefined;
    if (dataParts.length > 0) {
      const pieces: Uint8Array[] = [];
      for (const part of dataParts) {
        if (part === "@-") pieces.push(await new Response(io.stdin).bytes());
        else if (part.startsWith("@")) {
          try {
            pieces.push(await Deno.readFile(part.slice(1)));
          } catch (error) {
            throw new CommandError(
              `Cannot read ${part.slice(1)} for -d: ${osMessage(error)}`,
              GET_FTP_EXIT.readError,
              { cause: error },
            );
          }
        } else pieces.push(encoder.encode(part));
      }
      data = join(pieces, 0x26);
    }
    const method = flagString(parsed, "request");

    const now = io.now ?? (() => performance.now());
    const recorder = new AttemptRecorder(url, now);
    handlers.push(recorder);
    await using opener = buildOpener(...handlers);
    const bar = output !== undefined
      ? progressBarFor(io, flagBoolean(parsed, "silent"))
      : undefined;
    const include = flagBoolean(parsed, "include");
    try {
      if (output !== undefined && resume !== undefined) {
        if (bar !== undefined) bar.resumeFrom(await sizeOf(output));
        const result = await urlretrieve(url, output, {
          opener,
          headers,
          resume: true,
          timeout,
          onProgress: bar?.onProgress,
        });
        bar?.finish(result.size, result.size);
        if (include) await writeStdout(io, headText(result.status, "", result.headers));
        return GET_EXIT.ok;
      }
      const request = new UrlRequest(url, {
        headers,
        data,
        method,
        timeout,
        onProgress: bar?.onProgress,
      });
      let response: UrlResponse;
      let code: number = GET_EXIT.ok;
      try {
        response = await opener.open(request);
      } catch (error) {
        if (!(error instanceof HTTPError) || error.detail !== undefined) throw error;
        response = error.response;
        if (error.code >= 400) code = GET_EXIT.http;
      }
      if (include) {
        await writeStdout(io, headText(response.status, response.statusText, response.headers));
      }
      await writeBody(response, output, io, forceStdout, bar);
      if (code === GET_EXIT.http) {
        io.err(
          `inetkit get: ${
            shownUrl(recorder.last.url)
          }: HTTP ${response.status} ${response.statusText}\n`,
        );
      }
      return code;
    } catch (error) {
      bar?.stop();
      if (error instanceof OutputError) {
        io.err(error.text);
        return GET_EXIT.write;
      }
      const code = exitCodeFor(error, recorder.last.proxy !== null, recorder.last.url);
      io.err(`inetkit get: ${describeFailure(error, recorder.last, now())}\n`);
      return code;
    } finally {
      if (jar !== undefined && cookieJarFile !== undefined) {
        await Deno.writeTextFile(cookieJarFile, jar.toNetscape());
      }
    }
  },
};

async function sizeOf(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

function join(pieces: Uint8Array[], separator: number): Uint8Array {
  const size = pieces.reduce((n, p) => n + p.length, 0) + Math.max(0, pieces.length - 1);
  const out = new Uint8Array(size);
  let at = 0;
  for (const [i, p] of pieces.entries()) {
    if (i > 0) out[at++] = separator;
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function headText(status: number, statusText: string, headers: Headers): string {
  let text = `HTTP/1.1 ${status}${statusText ? " " + statusText : ""}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return text + "\r\n";
}

async function writeBody(
  response: UrlResponse,
  output: string | undefined,
  io: CommandIo,
  force: boolean,
  bar: ProgressBar | undefined,
): Promise<void> {
  const body = response.body;
  if (output !== undefined) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(output, { write: true, create: true, truncate: true });
    } catch (error) {
      await body?.cancel();
      throw fileWriteError(output, error);
    }
    try {
      if (body === null) {
        bar?.finish(0, 0);
        return;
      }
      const reader = body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        try {
          await writeAll(file, value);
        } catch (error) {
          await reader.cancel();
          throw fileWriteError(output, error);
        }
      }
    } finally {
      file.close();
    }
    return;
  }
  if (body === null) return;
  await bodyToStdout(body, io, { contentType: response.headers.get("content-type"), force });
}

/** A URL as messages show it: without credentials. */
function shownUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  return copy.href;
}

function defaultPort(protocol: string): number {
  return ({ "http:": 80, "https:": 443, "ftp:": 21, "ftps:": 990, "gopher:": 70 } as Record<
    string,
    number
  >)[protocol] ?? 0;
}

/**
 * A failure as curl words it, naming where it happened: "Failed to connect
 * to 127.0.0.1 port 9 after 0 ms: Connection refused", "Could not resolve
 * host: example.invalid", "Couldn't read file /nope: ...", else the URL and
 * the reason.
 */
function describeFailure(error: unknown, attempt: Attempt, now: number): string {
  const url = attempt.url;
  if (url.protocol === "file:") {
    const cause = error instanceof URLError && error.cause !== undefined ? error.cause : error;
    let path = url.pathname;
    try {
      path = decodeURIComponent(path);
    } catch {
      // shown as written
    }
    return `Couldn't read file ${path}: ${
      error instanceof URLError && error.cause === undefined ? error.reason : osMessage(cause)
    }`;
  }
  const via = attempt.proxy;
  const dialled = via ?? url;
  const hostname = dialled.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = dialled.port === "" ? defaultPort(dialled.protocol) : Number(dialled.port);
  const elapsed = now - attempt.at;
  const connect = connectFailure(error, hostname, port, elapsed, via === null ? "" : "proxy ");
  if (connect !== null) return connect;
  if (causes(error).some(isTimeout)) {
    return `${shownUrl(url)}: operation timed out after ${Math.round(elapsed)} ms`;
  }
  const reason = error instanceof URLError
    ? error.reason
    : error instanceof Error
    ? error.message
    : String(error);
  const certificate = causes(error).some((e) =>
    e instanceof Deno.errors.InvalidData && /certificate/i.test((e as Error).message)
  );
  return `Cannot open ${shownUrl(url)}: ${osMessage(reason)}${
    certificate ? " (--cacert FILE trusts a private CA)" : ""
  }`;
}

function isTimeout(e: unknown): boolean {
  return e instanceof DOMException && e.name === "TimeoutError" ||
    e instanceof Deno.errors.TimedOut;
}

function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  let e: unknown = error;
  for (let i = 0; i < 8 && e !== undefined && e !== null; i++) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** Maps a failure to its exit code class. */
function exitCodeFor(error: unknown, proxied: boolean, url?: URL): number {
  if (error instanceof OutputError) return GET_EXIT.write;
  if (error instanceof CommandError) return error.exitCode;
  if (error instanceof HTTPError) {
    if (/redirect/.test(error.detail ?? "")) return GET_EXIT.redirects;
    return error.code >= 400 ? GET_EXIT.http : GET_EXIT.failed;
  }
  // A file: URL that cannot be read is curl's 37, whatever the reason.
  if (url?.protocol === "file:" && error instanceof URLError) return GET_EXIT.fileRead;
  if (isResolveError(error)) return proxied ? GET_EXIT.proxyResolve : GET_EXIT.resolve;
  for (const e of causes(error)) {
    if (isTimeout(e)) return GET_EXIT.timeout;
    if (e instanceof Deno.errors.ConnectionRefused) return GET_EXIT.connect;
    if (e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe) {
      return GET_EXIT.receive;
    }
    if (e instanceof ProtocolError) {
      return e.code === "UNEXPECTED_EOF" ? GET_EXIT.receive : GET_EXIT.badReply;
    }
    if (
      e instanceof Deno.errors.InvalidData ||
      /certificate|tls|handshake/i.test((e as Error)?.message ?? "")
    ) {
      return GET_EXIT.tls;
    }
  }
  if (error instanceof URLError && error.reason.startsWith("unknown url type")) {
    return GET_EXIT.failed;
  }
  if (error instanceof TypeError) return GET_EXIT.badUrl;
  return GET_EXIT.failed;
}
