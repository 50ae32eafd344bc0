import { browserCommands, openUrl } from "../net/open_url.ts";
import { type Command, flagBoolean, parseArgs, runMain, UsageError } from "./_command.ts";

/** `open URL`: shows a URL in the user's browser, as Python's webbrowser does. */
export const openCommand: Command = {
  name: "open",
  summary: "show a URL in the browser (BROWSER, xdg-open, open)",
  help: `Usage: inetkit open URL [--dry-run]

Shows URL (or a file name) in the browser, as Python's webbrowser module
does: the commands in the BROWSER environment variable first (separated by
":", ";" on Windows; "%s" stands for the URL, otherwise it is added at the
end), then xdg-open, open (macOS) or rundll32 (Windows). The first command
that succeeds wins. No shell is involved: the URL is always one argument.

  --dry-run   print the commands that would be tried, one per line, and exit

Exit codes: 0 opened, 1 no command could open it, 2 usage.
`,
  async run(args, io) {
    const parsed = parseArgs(args, { booleans: ["dry-run", "help"] });
    const [url, ...rest] = parsed.positional;
    if (url === undefined || rest.length > 0) throw new UsageError("Expected one URL");
    let commands;
    try {
      commands = browserCommands(url);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (flagBoolean(parsed, "dry-run")) {
      for (const c of commands) io.out(`${[c.command, ...c.args].map(quote).join(" ")}\n`);
      return 0;
    }
    const opened = await openUrl(url);
    if (opened === null) {
      io.err(
        `inetkit open: no browser could open ${url} (tried ${
          commands.map((c) => c.command).join(", ")
        }); set BROWSER\n`,
      );
      return 1;
    }
    return 0;
  },
};

/** Shows an argument the way a POSIX shell would need it, for --dry-run. */
function quote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

if (import.meta.main) await runMain(openCommand);
