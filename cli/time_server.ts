import { type TimeRequestInfo, TimeServer } from "../net/time_protocol.ts";
import {
  type Command,
  flagBoolean,
  flagString,
  listenFailure,
  parseArgs,
  parsePort,
  untilInterrupted,
  UsageError,
} from "./_command.ts";

/** `time-server [--port 8037] [--udp] [--tcp]`: an RFC 868 server until interrupted. */
export const timeServerCommand: Command = {
  name: "time-server",
  summary: "serve RFC 868 time over TCP and UDP",
  help: `Usage: inetkit time-server [--port 8037] [--host 127.0.0.1] [--tcp] [--udp] [--quiet]

Serves the RFC 868 time protocol until interrupted (Ctrl-C). Both TCP and UDP
unless one of --tcp or --udp is given. Where it listens goes to standard
output, one line per answer to standard error (not with --quiet).
`,
  async run(args, io) {
    const parsed = parseArgs(args, {
      booleans: ["tcp", "udp", "quiet", "help"],
      values: ["port", "host"],
    });
    if (parsed.positional.length > 0) throw new UsageError("Unexpected arguments");
    const tcp = flagBoolean(parsed, "tcp");
    const udp = flagBoolean(parsed, "udp");
    const transport = tcp === udp ? "both" : tcp ? "tcp" : "udp";
    const port = parsePort(flagString(parsed, "port") ?? "8037");
    const hostname = flagString(parsed, "host") ?? "127.0.0.1";
    const stop = new AbortController();
    const quiet = flagBoolean(parsed, "quiet");
    let server: TimeServer;
    try {
      server = new TimeServer({
        hostname,
        port,
        transport,
        signal: stop.signal,
        onRequest: quiet ? undefined : (info) => io.err(logLine(info)),
        onError: (error) => io.err(`time-server: ${(error as Error)?.message ?? error}\n`),
      });
    } catch (error) {
      throw listenFailure(error, hostname, port);
    }
    const shown = transport === "both" ? "tcp and udp" : transport;
    io.out(`Serving RFC 868 time on ${shown} ${hostname}:${server.addr.port}\n`);
    const stopped = new Promise<void>((resolve) =>
      stop.signal.addEventListener("abort", () => resolve(), { once: true })
    );
    await untilInterrupted(stopped, () => stop.abort());
    await server.shutdown();
    return 0;
  },
};

/** One access-log line: who asked, when, over which transport. */
function logLine(info: TimeRequestInfo): string {
  const host = info.remoteAddr.hostname.includes(":")
    ? `[${info.remoteAddr.hostname}]`
    : info.remoteAddr.hostname;
  return `${host}:${info.remoteAddr.port} [${info.date.toISOString()}] ${info.transport}\n`;
}
