import { TelnetClient, TelnetLoginError } from "../net/telnet_client.ts";
import { TELNET_OPTION } from "../net/telnet_codec.ts";
import {
  type Command,
  CommandError,
  type CommandIo,
  connectFailure,
  flagBoolean,
  flagString,
  flagStrings,
  parseArgs,
  parsePort,
  readCaCerts,
  runMain,
  UsageError,
} from "./_command.ts";

const HELP = `Usage: inetkit telnet HOST [PORT] [options]

Opens a Telnet session (port 23 by default). On a terminal, the keyboard is
put in raw mode and every key goes to the server; press Ctrl-] to quit.
With standard input from a pipe, its lines are sent and the session lasts
until the server closes it.

Scripted, as the classic telnetlib example does:
  --login USER           wait for "login:" and "Password:" and log in as USER
  --password-env VAR     take the password from the environment variable VAR
  --command CMD          after logging in, run CMD and print its output
                         (repeatable); without it the session goes on
                         interactively after the login
  --prompt REGEX         the shell prompt (default: a last line ending in
                         $, #, % or > and a space)
  --timeout MS           milliseconds each step may take (default 10000)

  --terminal-type TYPE   the terminal type to report (default: $TERM on a
                         terminal, none otherwise)
  --tls                  speak TLS from the first byte (telnets, port 992)
  --cacert FILE          trust the CA certificates in this PEM file
  --insecure-auth        send the password in clear to a host that is not
                         loopback (refused otherwise; the older spelling
                         --allow-insecure-auth works too)

Telnet has no STARTTLS: without --tls the session is in clear, so --login
sends the password only over --tls, to a loopback host, or with
--insecure-auth.

Exit codes: 0 ok, 1 failed (login refused, timeout, connection), 2 usage,
77 the --cacert file cannot be read.
`;

const ESCAPE = 0x1d; // Ctrl-]

/** The terminal type from $TERM, when it is one RFC 1091 can carry. */
function termType(): string | undefined {
  try {
    const term = Deno.env.get("TERM");
    return term !== undefined && /^[\x21-\x7e]{1,40}$/.test(term) ? term.toUpperCase() : undefined;
  } catch {
    return undefined;
  }
}

/** Local echo for a server that does not echo: CR shown as CR LF. */
function echoBytes(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (const b of bytes) {
    if (b === 13) out.push(13, 10);
    else out.push(b);
  }
  return new Uint8Array(out);
}

/**
 * Copies the server's data to standard output and standard input to the
 * server until the server closes, or Ctrl-] is typed. When standard input
 * ends first, the session lasts until the server closes.
 */
async function interact(client: TelnetClient, io: CommandIo, raw: boolean): Promise<void> {
  let quit!: () => void;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  const screen = (async () => {
    try {
      for await (const chunk of client.readable) await io.write(chunk);
    } catch {
      // the connection failed: the session is over
    }
  })();
  const keyboard = io.stdin.getReader();
  const typing = (async () => {
    try {
      for (;;) {
        const { value, done } = await keyboard.read();
        if (done) return;
        const escape = value.indexOf(ESCAPE);
        const part = escape < 0 ? value : value.subarray(0, escape);
        if (part.length > 0) {
          if (raw && !client.codec.isEnabled(TELNET_OPTION.ECHO, "remote")) {
            await io.write(echoBytes(part));
          }
          await client.write(part);
        }
        if (escape >= 0) {
          quit();
          return;
        }
      }
    } catch {
      quit();
    }
  })();
  await Promise.race([screen, quitting]);
  client.close();
  await keyboard.cancel().catch(() => {});
  await Promise.allSettled([screen, typing]);
}

/**
 * `telnet HOST [PORT]`: an interactive Telnet session, or a scripted login
 * that runs commands (`--login USER --password-env VAR --command CMD`).
 */
export const telnetCommand: Command = {
  name: "telnet",
  summary: "open a Telnet session, or log in and run commands",
  help: HELP,
  async run(args, io) {
    const parsed = parseArgs(args, {
      booleans: ["tls", "insecure-auth", "help"],
      values: [
        "login",
        "password-env",
        "command",
        "prompt",
        "timeout",
        "terminal-type",
        "cacert",
      ],
      aliases: { "allow-insecure-auth": "insecure-auth" },
    });
    const [hostname, portText, ...rest] = parsed.positional;
    if (hostname === undefined || rest.length > 0) throw new UsageError("Expected HOST [PORT]");
    const tls = flagBoolean(parsed, "tls");
    const port = portText === undefined ? (tls ? 992 : 23) : parsePort(portText);
    if (port === 0) throw new UsageError("Invalid port: 0");
    const timeoutText = flagString(parsed, "timeout");
    if (timeoutText !== undefined && !/^[1-9]\d*$/.test(timeoutText)) {
      throw new UsageError(`Invalid --timeout: ${timeoutText}`);
    }
    const timeout = timeoutText === undefined ? 10000 : Number(timeoutText);
    const user = flagString(parsed, "login");
    const passwordVar = flagString(parsed, "password-env");
    const commands = flagStrings(parsed, "command");
    if (user === undefined && (passwordVar !== undefined || commands.length > 0)) {
      throw new UsageError("--password-env and --command need --login USER");
    }
    if (user !== undefined && passwordVar === undefined) {
      throw new UsageError("--login needs --password-env VAR");
    }
    let password: string | undefined;
    if (passwordVar !== undefined) {
      try {
        password = Deno.env.get(passwordVar);
      } catch {
        password = undefined;
      }
      if (password === undefined) {
        throw new UsageError(`--password-env ${passwordVar}: the variable is not set`);
      }
    }
    const promptText = flagString(parsed, "prompt");
    let prompt: RegExp | undefined;
    if (promptText !== undefined) {
      try {
        prompt = new RegExp(promptText);
      } catch {
        throw new UsageError(`Invalid --prompt: ${promptText}`);
      }
    }
    const caFile = flagString(parsed, "cacert");
    if (caFile !== undefined && !tls) throw new UsageError("--cacert needs --tls");
    const caCerts = await readCaCerts(caFile);
    const raw = io.isTerminal && Deno.stdin.isTerminal();
    const scripted = commands.length > 0;
    const terminalType = flagString(parsed, "terminal-type") ?? (raw ? termType() : undefined);
    let windowSize: { columns: number; rows: number } | undefined;
    if (raw) {
      try {
        windowSize = Deno.consoleSize();
      } catch {
        windowSize = undefined;
      }
    }

    const now = io.now ?? (() => performance.now());
    const started = now();
    let connected: TelnetClient;
    try {
      connected = await TelnetClient.connect({
        hostname,
        port,
        tls: tls ? { caCerts } : undefined,
        connectTimeout: timeout,
        terminalType,
        windowSize,
        allowInsecureAuth: flagBoolean(parsed, "insecure-auth"),
      });
    } catch (error) {
      const message = connectFailure(error, hostname, port, now() - started);
      if (message === null) throw error;
      throw new CommandError(message, 1, { cause: error });
    }
    await using client = connected;
    if (user !== undefined) {
      let banner: string;
      try {
        banner = await client.login(user, password!, { timeout, shellPrompt: prompt });
      } catch (error) {
        if (error instanceof TelnetLoginError) {
          io.err(`inetkit telnet: ${error.message}\n`);
          return 1;
        }
        if (error instanceof TypeError && /in clear/.test(error.message)) {
          // The library names its option; here it is a flag.
          throw new CommandError(
            error.message.replace(/allowInsecureAuth/g, "--insecure-auth"),
            1,
            { cause: error },
          );
        }
        throw error;
      }
      if (scripted) {
        for (const command of commands) {
          io.out(await client.runCommand(command, { prompt, timeout }));
        }
        await client.write("exit\n").catch(() => {});
        return 0;
      }
      await io.write(new TextEncoder().encode(banner));
    }
    if (raw) {
      io.err(`Connected to ${hostname}.\r\nEscape character is '^]'.\r\n`);
      Deno.stdin.setRaw(true);
    }
    try {
      await interact(client, io, raw);
    } finally {
      if (raw) {
        Deno.stdin.setRaw(false);
        io.err("\r\nConnection closed.\n");
      }
    }
    return 0;
  },
};

if (import.meta.main) await runMain(telnetCommand);
