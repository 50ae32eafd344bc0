import { getTime } from "../net/time_protocol.ts";
import {
  type Command,
  CommandError,
  connectFailure,
  flagBoolean,
  flagString,
  parseArgs,
  parsePort,
  UsageError,
} from "./_command.ts";

/** `time HOST [PORT] [--udp]`: the classic timeclient.py. */
export const timeCommand: Command = {
  name: "time",
  summary: "ask an RFC 868 time server for the time",
  help: `Usage: inetkit time HOST [PORT] [--udp] [--timeout MS] [--retries N]

Asks an RFC 868 time server (TCP by default, port 37) for the time and
prints it, with how far the local clock is off.

  --udp          use UDP (an empty datagram, 4 bytes back)
  --timeout MS   milliseconds to wait (per attempt over UDP), default 5000
  --retries N    UDP only: attempts after the first, default 2
`,
  async run(args, io) {
    const parsed = parseArgs(args, { booleans: ["udp", "help"], values: ["timeout", "retries"] });
    const [host, portText, ...rest] = parsed.positional;
    if (host === undefined || rest.length > 0) throw new UsageError("Expected HOST [PORT]");
    const port = portText === undefined ? 37 : parsePort(portText);
    const timeout = numberFlag(flagString(parsed, "timeout"), "timeout", 5000);
    const retries = numberFlag(flagString(parsed, "retries"), "retries", 2);
    const transport = flagBoolean(parsed, "udp") ? "udp" : "tcp";
    const now = io.now ?? (() => performance.now());
    const started = now();
    let date: Date;
    try {
      date = await getTime({ hostname: host, port, transport, timeout, retries });
    } catch (error) {
      const message = connectFailure(error, host, port, now() - started);
      if (message === null) throw error;
      throw new CommandError(message, 1, { cause: error });
    }
    const offset = Math.floor(Date.now() / 1000) - date.getTime() / 1000;
    io.out(`server time is ${date.toUTCString()}\n`);
    io.out(`local clock is ${offset} seconds off\n`);
    return 0;
  },
};

function numberFlag(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`Invalid --${name}: ${text}`);
  return Number(text);
}
