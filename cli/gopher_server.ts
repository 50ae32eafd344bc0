import { GopherServer } from "../net/gopher_server.ts";
import {
  type Command,
  flagBoolean,
  flagString,
  listenFailure,
  parseArgs,
  parsePort,
  runMain,
  untilInterrupted,
  UsageError,
} from "./_command.ts";

/** `gopher-server [DIR] [--port 7070]`: serves a directory over Gopher until interrupted. */
export const gopherServerCommand: Command = {
  name: "gopher-server",
  summary: "serve a directory over Gopher (menus, gophermaps)",
  help: `Usage: inetkit gopher-server [DIR] [--port 7070] [--host 127.0.0.1] [options]

Serves DIR (default: the current directory) over Gopher (RFC 1436) until
interrupted (Ctrl-C). Directories answer with their gophermap, or with a
generated menu; files are typed by their names. Nothing outside DIR is ever
served: no "..", no dotfiles, no symlinks that lead out. Where it listens
goes to standard output, errors to standard error.

  --port P               the port (default 7070; 0 picks a free one)
  --host H               the address to listen on (default 127.0.0.1)
  --public-host NAME     the host name written into menus (default: the
                         address each client connected to)
  --public-port P        the port written into menus (default: the port)
  --raw-text             send text files as they are, without the dot-stuffing
                         and the final "." line of RFC 1436
`,
  async run(args, io) {
    const parsed = parseArgs(args, {
      booleans: ["raw-text", "help"],
      values: ["port", "host", "public-host", "public-port"],
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
    const stop = new AbortController();
    let server: GopherServer;
    try {
      server = new GopherServer({
        root,
        hostname,
        port,
        publicHostname: flagString(parsed, "public-host"),
        publicPort,
        dotStuffText: !flagBoolean(parsed, "raw-text"),
        signal: stop.signal,
        onError: (error) => io.err(`gopher-server: ${(error as Error)?.message ?? error}\n`),
      });
    } catch (error) {
      throw listenFailure(error, hostname, port);
    }
    const shownHost = hostname.includes(":") ? `[${hostname}]` : hostname;
    io.out(`Serving ${root} on gopher://${shownHost}:${server.addr.port}/\n`);
    const stopped = new Promise<void>((resolve) =>
      stop.signal.addEventListener("abort", () => resolve(), { once: true })
    );
    await untilInterrupted(stopped, () => stop.abort());
    await server.shutdown();
    return 0;
  },
};

if (import.meta.main) await runMain(gopherServerCommand);
