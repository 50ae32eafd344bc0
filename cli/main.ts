/**
 * The `inetkit` command line: one entry with subcommands, each also usable
 * as a `deno run` example.
 *
 * ```sh
 * deno run -A cli/main.ts time 127.0.0.1 3737 --udp
 * deno run -A cli/main.ts time-server --port 8037
 * ```
 *
 * @module
 */
import { type Command, type CommandIo, denoIo, runCommand } from "./_command.ts";
import config from "../deno.json" with { type: "json" };

/** The version of inetkit, from deno.json. */
const VERSION: string = config.version;

export type { CommandIo };

/** The subcommands, loaded lazily so a run imports only what it uses. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  time: {
    summary: "ask an RFC 868 time server for the time",
    load: async () => (await import("./time.ts")).timeCommand,
  },
  "time-server": {
    summary: "serve RFC 868 time over TCP and UDP",
    load: async () => (await import("./time_server.ts")).timeServerCommand,
  },
  get: {
    summary: "fetch a URL, curl style (auth, proxies, cookies, resume)",
    load: async () => (await import("./get.ts")).getCommand,
  },
  robots: {
    summary: "check a path against a site's robots.txt",
    load: async () => (await import("./robots.ts")).robotsCommand,
  },
  serve: {
    summary: "serve a directory over HTTP (with CGI, CORS, TLS)",
    load: async () => (await import("./serve.ts")).serveCommand,
  },
  proxy: {
    summary: "run a forwarding HTTP proxy with CONNECT tunnels",
    load: async () => (await import("./proxy.ts")).proxyCommand,
  },
  mail: {
    summary: "send, list, read and watch mail; serve a local mail lab (SMTP, POP3, IMAP)",
    load: async () => (await import("./mail.ts")).mailCommand,
  },
  "ftp-server": {
    summary: "serve a directory over FTP (FTPS; read-only, no anonymous login by default)",
    load: async () => (await import("./ftp_server.ts")).ftpServerCommand,
  },
  news: {
    summary: "list, read and post Usenet articles over NNTP, or serve a spool",
    load: async () => (await import("./news.ts")).newsCommand,
  },
  telnet: {
    summary: "open a Telnet session, or log in and run commands",
    load: async () => (await import("./telnet.ts")).telnetCommand,
  },
  "gopher-server": {
    summary: "serve a directory over Gopher (menus, gophermaps)",
    load: async () => (await import("./gopher_server.ts")).gopherServerCommand,
  },
  open: {
    summary: "show a URL in the browser (BROWSER, xdg-open, open)",
    load: async () => (await import("./open.ts")).openCommand,
  },
  tour: {
    summary: "start inetkit's servers and run its clients against them",
    load: async () => (await import("./tour.ts")).tourCommand,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  return `Usage: inetkit COMMAND [ARGS...]  (inetkit COMMAND --help for details)\n\nCommands:\n${
    lines.join("\n")
  }\n\n  --version  print the version (inetkit COMMAND --version too)\n`;
}

/**
 * Runs the command line `args` and resolves to the exit code: 0 on success,
 * 1 when the operation failed, 2 for a usage error.
 *
 * @param args The arguments after the program name.
 * @param io Where to print; the real terminal by default.
 * @returns The exit code.
 *
 * @example Asking for help
 * ```ts
 * import { run } from "@inetkit/inetkit/cli";
 * import { assertEquals } from "@std/assert";
 *
 * let out = "";
 * const io = {
 *   out: (t: string) => void (out += t),
 *   err: () => {},
 *   write: () => Promise.resolve(),
 *   isTerminal: false,
 *   stdin: ReadableStream.from([]),
 * };
 * assertEquals(await run(["--help"], io), 0);
 * assertEquals(out.startsWith("Usage: inetkit"), true);
 * ```
 */
export async function run(args: string[], io: CommandIo = denoIo()): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    io.out(`inetkit ${VERSION} (deno ${Deno.version.deno})\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    io.err(
      `inetkit: unknown command ${JSON.stringify(name)}\n` +
        "Try 'inetkit --help' for the list of commands.\n",
    );
    return 2;
  }
  return await runCommand(await entry.load(), rest, io);
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
