/**
 * `inetkit ftp-server [DIR]`: serves a directory over FTP (the `python -m
 * pyftpdlib` of Deno), read-only and without anonymous login unless asked,
 * with explicit or implicit FTPS, printing one access-log line per login,
 * transfer and change to standard error.
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
  parsePort,
  runMain,
  untilInterrupted,
  UsageError,
} from "./_command.ts";
import { FtpServer, type FtpServerUser } from "../net/ftp_server.ts";

const HELP = `Usage: inetkit ftp-server [DIR] [options]

Serves DIR (default: the current directory) over FTP until Ctrl-C.
Read-only and without anonymous login unless asked. Where it listens goes
to standard output, the access log (one line per login, transfer and
change) to standard error.

Options:
  --port N             Port to listen on (default 2121; 0 picks a free one)
  --host H             Address to bind (default 127.0.0.1)
  --user USER:PASS     A user who may log in (repeatable)
  --anonymous          Let "anonymous" and "ftp" log in with any password
  --write              Let users upload, append, delete, rename and make
                       directories (anonymous users too, with --anonymous)
  --tls-cert FILE      Offer AUTH TLS (explicit FTPS) with this PEM certificate
  --tls-key FILE       ... and this PEM private key
  --implicit-tls       Speak TLS from the first byte (implicit FTPS)
  --require-tls        Refuse logins and data connections without TLS
  --passive-ports A-B  Listen for passive data connections on ports A to B
  --quiet              Do not print access-log lines
  -h, --help           Show this help

Exit codes: 0 stopped by Ctrl-C, 1 failure (such as a port in use), 2 usage.
`;

/** A running `ftp-server` command, for tests and embedding. */
export interface RunningFtpServer {
  /** The server. */
  server: FtpServer;
  /** The URL it serves at, such as `ftp://127.0.0.1:2121/`. */
  url: string;
}

function parseUser(text: string): FtpServerUser {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new UsageError(`Invalid --user ${JSON.stringify(text)}: use USER:PASS`);
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function parsePassivePorts(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  const from = Number(match?.[1]);
  const to = Number(match?.[2]);
  if (match === null || from < 1024 || to > 65535 || from > to) {
    throw new UsageError(
      `Invalid --passive-ports ${text}: use A-B with 1024 <= A <= B <= 65535`,
    );
  }
  return [from, to];
}

/**
 * Parses the arguments and starts the server; resolves once it listens.
 *
 * @param args The command line after `ftp-server`.
 * @param io Where to print: the address on standard output, the access log
 *   on standard error.
 * @param signal Stops the server when aborted.
 * @returns The server and its URL.
 * @throws {UsageError} For bad arguments, a directory that does not exist,
 *   or no way to log in.
 * @throws {CommandError} When it cannot listen (the port in use, an address
 *   not of this machine), naming the address, the port and `--port 0`.
 */
export async function startFtpServer(
  args: string[],
  io: CommandIo,
  signal?: AbortSignal,
): Promise<RunningFtpServer> {
  const parsed = parseArgs(args, {
    booleans: ["anonymous", "write", "implicit-tls", "require-tls", "quiet", "help"],
    values: ["port", "host", "user", "tls-cert", "tls-key", "passive-ports"],
    aliases: { h: "help", p: "port", u: "user" },
  });
  if (parsed.positional.length > 1) throw new UsageError("Expected at most one directory");
  const dir = parsed.positional[0] ?? ".";
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new UsageError(`Not a directory: ${dir}`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Cannot serve ${dir}: it does not exist or cannot be read`);
  }
  const port = parsePort(flagString(parsed, "port") ?? "2121");
  const hostname = flagString(parsed, "host") ?? "127.0.0.1";
  const users = flagStrings(parsed, "user").map(parseUser);
  const anonymous = flagBoolean(parsed, "anonymous");
  if (users.length === 0 && !anonymous) {
    throw new UsageError("Nobody could log in: give --user USER:PASS or --anonymous");
  }
  const certFile = flagString(parsed, "tls-cert");
  const keyFile = flagString(parsed, "tls-key");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  const implicitTls = flagBoolean(parsed, "implicit-tls");
  const requireTls = flagBoolean(parsed, "require-tls");
  if ((implicitTls || requireTls) && certFile === undefined) {
    throw new UsageError(
      `${implicitTls ? "--implicit-tls" : "--require-tls"} needs --tls-cert and --tls-key`,
    );
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
  const passivePorts = parsePassivePorts(flagString(parsed, "passive-ports"));
  const quiet = flagBoolean(parsed, "quiet");
  const write = flagBoolean(parsed, "write");
  let server: FtpServer;
  try {
    server = new FtpServer({
      root: dir,
      hostname,
      port,
      users,
      anonymous,
      write,
      cert,
      key,
      implicitTls,
      requireTls,
      passivePorts,
      signal,
      accessLog: quiet ? undefined : (line) => io.err(`${line}\n`),
      onError: (error) =>
        io.err(`inetkit ftp-server: ${error instanceof Error ? error.message : error}\n`),
    });
  } catch (error) {
    throw listenFailure(error, hostname, port);
  }
  const shownHost = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  const url = `${implicitTls ? "ftps" : "ftp"}://${shownHost}:${server.addr.port}/`;
  const mode = [
    write ? "read-write" : "read-only",
    anonymous ? "anonymous allowed" : "no anonymous login",
    implicitTls ? "implicit TLS" : cert !== undefined ? "AUTH TLS offered" : "no TLS",
  ].join(", ");
  io.out(`Serving ${dir} at ${url} (${mode})\n`);
  return { server, url };
}

/** The `ftp-server` subcommand. */
export const ftpServerCommand: Command = {
  name: "ftp-server",
  summary: "Serve a directory over FTP (FTPS, passive and active, read-only by default)",
  help: HELP,
  async run(args: string[], io: CommandIo): Promise<number> {
    const controller = new AbortController();
    const { server } = await startFtpServer(args, io, controller.signal);
    await untilInterrupted(server.finished, () => controller.abort());
    return 0;
  },
};

if (import.meta.main) await runMain(ftpServerCommand);
