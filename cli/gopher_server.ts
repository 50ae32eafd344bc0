/**
 * `inetkit gopher-server [DIR]`: serves a directory over Gopher (RFC 1436)
 * on {@linkcode GopherServer}, printing where it listens on standard
 * output and one access-log line per request on standard error.
 *
 * @module
 */
import { GopherServer } from "../net/gopher_server.ts";
import {
  type Command,
  type CommandIo,
  flagBoolean,
  flagString,
  listenFailure,
  parseArgs,
  parsePort,
  runMain,
  untilInterrupted,
  UsageError,
} from "./_command.ts";

const HELP = `Usage: inetkit gopher-server [DIR] [--port 7070] [--host 127.0.0.1] [options]

Serves DIR (default: the current directory) over Gopher (RFC 1436) until
interrupted (Ctrl-C). Directories answer with their gophermap, or with a
generated menu; files are typed by their names. Nothing outside DIR is ever
served: no "..", no dotfiles, no symlinks that lead out. Where it listens
goes to standard output; the access log (one line per request: client,
time, selector, outcome, bytes sent) and errors to standard error.

  --port P               the port (default 7070; 0 picks a free one)
  --host H               the address to listen on (default 127.0.0.1)
  --public-host NAME     the host name written into menus (default: the
                         address each client connected to)
  --public-port P        the port written into menus (default: the port)
  --raw-text             send text files as they are, without the dot-stuffing
                         and the final "." line of RFC 1436
  --quiet                do not print access-log lines

Exit codes: 0 stopped by Ctrl-C, 1 failure (such as a port in use), 2 usage.
`;

/** A running `gopher-server` command, for tests and embedding. */
export interface RunningGopherServer {
  /** The server. */
  server: GopherServer;
  /** The URL it serves at, such as `gopher://127.0.0.1:7070/`. */
  url: string;
}

/**
 * Parses the arguments and starts the server; resolves once it listens.
 *
 * @param args The command line after `gopher-server`.
 * @param io Where to print: the address on standard output, the access log
 *   and errors on standard error.
 * @param signal Stops the server when aborted.
 * @returns The server and its URL.
 * @throws {UsageError} For bad arguments or a directory that does not exist.
 * @throws {CommandError} When it cannot listen (the port in use, an address
 *   not of this machine), naming the address, the port and `--port 0`.
 */
export async function startGopherServer(
  args: string[],
  io: CommandIo,
  signal?: AbortSignal,
): Promise<RunningGopherServer> {
  const parsed = parseArgs(args, {
    booleans: ["raw-text", "quiet", "help"],
    values: ["port", "host", "public-host", "public-port"],
    aliases: { p: "port" },
  });
  const [root = ".", ...rest] = parsed.positional;
  if (rest.length > 0) throw new UsageError("Expected at most one directory");
  const port = parsePort(flagString(parsed, "port") ?? "7070");
  const publicPortText = flagString(parsed, "public-port");
  const publicPort = publicPortText === undefined
    ? undefined
    : parsePort(publicPortText, "public port");
  if (publicPort === 0) throw new UsageError("Invalid public port: 0");
  const hostname = flagString(parsed, "host") ?? "127.0.0.1";
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(root);
  } catch {
    throw new UsageError(`No such directory: ${root}`);
  }
  if (!info.isDirectory) throw new UsageError(`Not a directory: ${root}`);
  const quiet = flagBoolean(parsed, "quiet");
  let server: GopherServer;
  try {
    server = new GopherServer({
      root,
      hostname,
      port,
      publicHostname: flagString(parsed, "public-host"),
      publicPort,
      dotStuffText: !flagBoolean(parsed, "raw-text"),
      signal,
      accessLog: quiet ? undefined : (line) => io.err(`${line}\n`),
      onError: (error) =>
        io.err(`inetkit gopher-server: ${error instanceof Error ? error.message : error}\n`),
    });
  } catch (error) {
    throw listenFailure(error, hostname, port);
  }
  const shownHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  const url = `gopher://${shownHost}:${server.addr.port}/`;
  io.out(`Serving ${root} on ${url}\n`);
  return { server, url };
}

/** `gopher-server [DIR] [--port 7070]`: serves a directory over Gopher until interrupted. */
export const gopherServerCommand: Command = {
  name: "gopher-server",
  summary: "serve a directory over Gopher (menus, gophermaps)",
  help: HELP,
  async run(args: string[], io: CommandIo): Promise<number> {
    const stop = new AbortController();
    const { server } = await startGopherServer(args, io, stop.signal);
    const stopped = new Promise<void>((resolve) =>
      stop.signal.addEventListener("abort", () => resolve(), { once: true })
    );
    await untilInterrupted(stopped, () => stop.abort());
    await server.shutdown();
    return 0;
  },
};

if (import.meta.main) await runMain(gopherServerCommand);
