/**
 * `serve [DIR | PORT]`: the `python -m http.server` of Deno. Serves a
 * directory with listings, ranges, conditional requests, precompressed
 * files, optional CORS, SPA fallback, CGI scripts and TLS, printing where
 * it serves on standard output and one access-log line per request on
 * standard error (as `http.server` does).
 *
 * @module
 */
import {
  type Command,
  type CommandIo,
  flagBoolean,
  flagString,
  flagStrings,
  listenFailure,
  parseArgs,
  type ParsedArgs,
  parsePort,
  runMain,
  untilInterrupted,
  UsageError,
} from "./_command.ts";
import { serve } from "../http/serve.ts";
import type { HttpServer } from "../http/http_server.ts";
import { serveDir } from "../http/file_server.ts";
import { type CgiOptions, serveCgi } from "../http/cgi.ts";

const HELP = `Usage: inetkit serve [DIR] [options]
       inetkit serve PORT [options]

Serves DIR (default: the current directory) over HTTP. A bare number that
is not a directory is the port, as with python -m http.server 8000. Where
it serves goes to standard output, the access log to standard error.

Options:
  --port N          Port to listen on (default 8000; 0 picks a free one)
  --host H          Address to bind (default 127.0.0.1)
  --cors            Add Access-Control-Allow-Origin: * and answer preflights
  --cgi-dir PATH    Run the scripts in PATH as CGI under /<name of PATH>/
                    (.sh with /bin/sh, .py with python3, .pl with perl,
                    .ts/.js with deno; other files must be executable);
                    repeatable
  --cgi-timeout S   Seconds a CGI script (and every process it starts) may
                    run before it is stopped: 504, or a cut-off body
                    (default 30; 0.001 to 86400)
  --spa             Answer unknown paths with /index.html (single-page apps)
  --dotfiles        Serve and list names starting with "."
  --no-listing      Do not list directories without index.html
  --tls-cert FILE   Serve HTTPS with this PEM certificate chain
  --tls-key FILE    ... and this PEM private key
  --reuse-port      Listen with SO_REUSEPORT (several servers on one port)
  --workers N       Serve from N processes on one port (SO_REUSEPORT, Linux;
                    the kernel spreads connections over them)
  --quiet           Do not print access-log lines (standard error)
  -h, --help        Show this help
`;

/** A running `serve` command, for tests and embedding. */
export interface RunningServe {
  /** The server. */
  server: HttpServer;
  /** The base URL it serves at. */
  url: string;
  /** The directory it serves. */
  dir: string;
}

const SERVE_ARGS = {
  booleans: ["cors", "spa", "dotfiles", "no-listing", "quiet", "help", "reuse-port"],
  values: ["port", "host", "cgi-dir", "cgi-timeout", "tls-cert", "tls-key", "workers"],
  aliases: { h: "help", p: "port" },
};

function interpretersFor(): Record<string, string[]> {
  const deno = [Deno.execPath(), "run", "--allow-read", "--allow-env"];
  return {
    ".sh": ["/bin/sh"],
    ".py": ["python3"],
    ".pl": ["perl"],
    ".ts": deno,
    ".js": deno,
  };
}

/** `--cgi-timeout SECONDS` in milliseconds; undefined for the default. */
function parseCgiTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || seconds > 86400 || Math.round(seconds * 1000) < 1) {
    throw new UsageError(
      `Invalid --cgi-timeout: ${text} (expected seconds from 0.001 to 86400)`,
    );
  }
  return Math.round(seconds * 1000);
}

/**
 * Parses the arguments and starts the server; resolves once it listens.
 *
 * @param args The command line after `serve`.
 * @param io Where to print.
 * @param signal Stops the server when aborted.
 * @returns The server and its URL.
 * @throws {UsageError} For bad arguments or a directory that does not exist.
 */
export async function startServe(
  args: string[],
  io: CommandIo,
  signal?: AbortSignal,
): Promise<RunningServe> {
  const parsed = parseArgs(args, SERVE_ARGS);
  const { dir, port } = await dirAndPort(parsed);
  const hostname = flagString(parsed, "host") ?? "127.0.0.1";
  const certFile = flagString(parsed, "tls-cert");
  const keyFile = flagString(parsed, "tls-key");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  let cert: string | undefined;
  let key: string | undefined;
  if (certFile !== undefined && keyFile !== undefined) {
    try {
      cert = await Deno.readTextFile(certFile);
      key = await Deno.readTextFile(keyFile);
    } catch {
      throw new UsageError("Cannot read the TLS certificate or key file");
    }
  }
  const cgiDirs: Record<string, string> = {};
  for (const path of flagStrings(parsed, "cgi-dir")) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch {
      throw new UsageError(`CGI directory does not exist: ${path}`);
    }
    if (!info.isDirectory) throw new UsageError(`Not a directory: ${path}`);
    const name = path.replace(/\/+$/, "").split("/").pop() || "cgi-bin";
    cgiDirs["/" + name] = path;
  }
  const cgiTimeout = parseCgiTimeout(flagString(parsed, "cgi-timeout"));
  if (cgiTimeout !== undefined && Object.keys(cgiDirs).length === 0) {
    throw new UsageError("--cgi-timeout needs --cgi-dir");
  }
  const quiet = flagBoolean(parsed, "quiet");
  const prefixes = Object.keys(cgiDirs);
  const dirOptions = {
    fsRoot: dir,
    cors: flagBoolean(parsed, "cors"),
    spa: flagBoolean(parsed, "spa"),
    showDotfiles: flagBoolean(parsed, "dotfiles"),
    showDirListing: !flagBoolean(parsed, "no-listing"),
    exclude: Object.values(cgiDirs),
  };
  let cgiOptions: CgiOptions | undefined;
  const handler = (request: Request, info: Parameters<typeof serveCgi>[1]) => {
    const path = new URL(request.url).pathname;
    if (cgiOptions && prefixes.some((p) => path === p || path.startsWith(p + "/"))) {
      return serveCgi(request, info, cgiOptions);
    }
    return serveDir(request, dirOptions);
  };
  if (prefixes.length > 0) {
    cgiOptions = {
      directories: cgiDirs,
      interpreters: interpretersFor(),
      documentRoot: await Deno.realPath(dir),
      timeout: cgiTimeout,
      serverSoftware: "inetkit",
      localRedirect: (request, info) => handler(request, info),
      onStderr: (text) => io.err(text),
    };
  }
  let server: HttpServer;
  try {
    server = serve({
      hostname,
      port,
      cert,
      key,
      signal,
      reusePort: flagBoolean(parsed, "reuse-port") || workersOf(parsed) > 1,
      // Standard error, as http.server logs: standard output stays for data.
      accessLog: quiet ? undefined : (line) => io.err(line + "\n"),
    }, handler);
  } catch (error) {
    throw listenFailure(error, hostname, port);
  }
  const scheme = cert !== undefined ? "https" : "http";
  const shownHost = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  const url = `${scheme}://${shownHost}:${server.addr.port}/`;
  io.out(`Serving ${dir} at ${url}\n`);
  for (const [prefix, path] of Object.entries(cgiDirs)) {
    io.out(`CGI scripts in ${path} at ${url.slice(0, -1)}${prefix}/\n`);
  }
  return { server, url, dir };
}

/**
 * The directory and the port: `serve DIR`, `serve PORT` (a bare number that
 * is not a directory, as `python -m http.server 8000`), `--port N`.
 */
async function dirAndPort(parsed: ParsedArgs): Promise<{ dir: string; port: number }> {
  if (parsed.positional.length > 1) throw new UsageError("Expected at most one directory");
  const portFlag = flagString(parsed, "port");
  let dir = parsed.positional[0] ?? ".";
  let port = portFlag === undefined ? 8000 : parsePort(portFlag);
  let info: Deno.FileInfo | null = null;
  try {
    info = await Deno.stat(dir);
  } catch {
    info = null;
  }
  if (info === null && /^\d+$/.test(dir)) {
    if (portFlag !== undefined) {
      throw new UsageError(`No directory ${dir}, and --port ${portFlag} is given: which port?`);
    }
    port = parsePort(dir);
    dir = ".";
    try {
      info = await Deno.stat(dir);
    } catch {
      info = null;
    }
  }
  if (info === null) {
    throw new UsageError(`Cannot serve ${dir}: it does not exist or cannot be read`);
  }
  if (!info.isDirectory) throw new UsageError(`Not a directory: ${dir}`);
  return { dir, port };
}

/** `--workers N`: 1 when absent. */
function workersOf(parsed: ReturnType<typeof parseArgs>): number {
  const text = flagString(parsed, "workers");
  if (text === undefined) return 1;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 64) {
    throw new UsageError(`Invalid --workers: ${text} (expected 1 to 64)`);
  }
  if (n > 1 && Deno.build.os !== "linux") {
    throw new UsageError("--workers needs SO_REUSEPORT, which this needs Linux for");
  }
  return n;
}

/**
 * Starts the other N-1 worker processes on the port the first one got, each
 * running this command with the same options, the directory, `--reuse-port`
 * and that port.
 */
function spawnWorkers(
  parsed: ParsedArgs,
  dir: string,
  count: number,
  port: number,
): Deno.ChildProcess[] {
  const rest: string[] = [];
  for (const [name, value] of parsed.flags) {
    if (["workers", "port", "reuse-port", "help"].includes(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      rest.push(v === true ? `--${name}` : `--${name}=${v}`);
    }
  }
  rest.push("--", dir);
  const children: Deno.ChildProcess[] = [];
  for (let i = 1; i < count; i++) {
    children.push(
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL(import.meta.url).pathname,
          "--reuse-port",
          "--port",
          String(port),
          ...rest,
        ],
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn(),
    );
  }
  return children;
}

/** The `serve` subcommand. */
export const serveCommand: Command = {
  name: "serve",
  summary: "Serve a directory over HTTP(S), with listings, ranges and CGI",
  help: HELP,
  async run(args: string[], io: CommandIo): Promise<number> {
    const controller = new AbortController();
    const parsed = parseArgs(args, SERVE_ARGS);
    const workers = workersOf(parsed);
    const { server, dir } = await startServe(args, io, controller.signal);
    const children = workers > 1 ? spawnWorkers(parsed, dir, workers, server.addr.port) : [];
    if (workers > 1) io.out(`${workers} workers on port ${server.addr.port} (SO_REUSEPORT)\n`);
    await untilInterrupted(server.finished, () => {
      controller.abort();
      for (const child of children) {
        try {
          child.kill("SIGTERM");
        } catch {
          // already gone
        }
      }
    });
    await Promise.allSettled(children.map((child) => child.status));
    return 0;
  },
};

if (import.meta.main) await runMain(serveCommand);
