/** Runs one browser command; resolves to whether it succeeded. */
export type OpenUrlRunner = (command: string, args: string[]) => Promise<boolean>;

/** Options for {@linkcode openUrl}. */
export interface OpenUrlOptions {
  /**
   * Where to read `BROWSER`: a record, or a function from a name to a value.
   *
   * @default {the process environment (unset without `--allow-env`, no prompt)}
   */
  env?: Readonly<Record<string, string | undefined>> | ((name: string) => string | undefined);
  /**
   * The platform, which picks the fallback command: `open` on macOS,
   * `rundll32 url.dll,FileProtocolHandler` on Windows, `xdg-open` elsewhere.
   *
   * @default {Deno.build.os}
   */
  os?: typeof Deno.build.os;
  /**
   * Runs a command, for tests or sandboxes. The default spawns it with
   * `Deno.Command` (never through a shell), with no standard input or
   * output, and waits up to `timeout` for it to exit: exit code 0 is a
   * success, a failure to start or another code is not, and a command still
   * running then (a browser staying in the foreground) counts as a success
   * and is left running.
   */
  run?: OpenUrlRunner;
  /**
   * Milliseconds the default runner waits for a command to exit.
   *
   * @default {10000}
   */
  timeout?: number;
}

/** The command that opened the URL. */
export interface OpenUrlResult {
  /** The program. */
  command: string;
  /** Its arguments, the URL among them. */
  args: string[];
}

// deno-lint-ignore no-control-regex
const CONTROL_REGEXP = /[\x00-\x1f\x7f]/;

/**
 * Splits a command line into words the way a POSIX shell would, without
 * running one: blanks separate words, single quotes keep everything, double
 * quotes keep everything but `\"` and `\\`, a backslash outside quotes
 * escapes the next character. Returns `null` for an unterminated quote.
 */
function splitWords(line: string): string[] | null {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return null;
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && (line[j + 1] === '"' || line[j + 1] === "\\")) j++;
        word += line[j];
      }
      if (j >= line.length) return null;
      i = j;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === " " || c === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function defaultRunner(timeout: number): OpenUrlRunner {
  return async (command, args) => {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(command, { args, stdin: "null", stdout: "null", stderr: "null" })
        .spawn();
    } catch {
      return false;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const running = new Promise<"running">((resolve) => {
      timer = setTimeout(() => resolve("running"), timeout);
    });
    try {
      const status = await Promise.race([child.status, running]);
      if (status === "running") {
        child.unref();
        return true;
      }
      return status.success;
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * The commands {@linkcode openUrl} tries, in order, for a URL: those of
 * `BROWSER`, then the platform's opener.
 *
 * @param url The URL.
 * @param options Where to read `BROWSER` and the platform.
 * @returns Each command with its arguments.
 * @throws {TypeError} If the URL is empty, holds a control character, or
 *   starts with `-`.
 *
 * @example What a BROWSER setting runs
 * ```ts
 * import { browserCommands } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const commands = browserCommands("http://127.0.0.1/a b", {
 *   env: { BROWSER: "firefox --new-tab %s:lynx" },
 *   os: "linux",
 * });
 * assertEquals(commands, [
 *   { command: "firefox", args: ["--new-tab", "http://127.0.0.1/a b"] },
 *   { command: "lynx", args: ["http://127.0.0.1/a b"] },
 *   { command: "xdg-open", args: ["http://127.0.0.1/a b"] },
 * ]);
 * ```
 */
export function browserCommands(
  url: string | URL,
  options?: Pick<OpenUrlOptions, "env" | "os">,
): OpenUrlResult[] {
  options ??= {};
  const target = typeof url === "string" ? url : url.href;
  if (typeof target !== "string" || target === "") {
    throw new TypeError("Cannot open URL: it is empty");
  }
  if (CONTROL_REGEXP.test(target)) {
    throw new TypeError(`Cannot open URL ${JSON.stringify(target)}: it holds a control character`);
  }
  if (target.startsWith("-")) {
    throw new TypeError(`Cannot open URL ${JSON.stringify(target)}: it starts with "-"`);
  }
  const os = options.os ?? Deno.build.os;
  const env = options.env;
  const get = env === undefined
    ? readEnv
    : typeof env === "function"
    ? env
    : (name: string) => env[name];
  const commands: OpenUrlResult[] = [];
  const browser = get("BROWSER");
  if (browser !== undefined) {
    for (const entry of browser.split(os === "windows" ? ";" : ":")) {
      const words = splitWords(entry.trim());
      if (words === null || words.length === 0) continue;
      const [command, ...rest] = words as [string, ...string[]];
      const args = rest.some((a) => a.includes("%s"))
        ? rest.map((a) => a.replaceAll("%s", target))
        : command.includes("%s")
        ? rest
        : [...rest, target];
      commands.push({ command: command.replaceAll("%s", target), args });
    }
  }
  if (os === "darwin") commands.push({ command: "open", args: [target] });
  else if (os === "windows") {
    commands.push({ command: "rundll32", args: ["url.dll,FileProtocolHandler", target] });
  } else commands.push({ command: "xdg-open", args: [target] });
  return commands;
}

/**
 * Shows a URL (or a file name) in the user's browser, Python's
 * `webbrowser.open`: the commands of the `BROWSER` environment variable
 * come first, as Python reads it (entries separated by `:`, `;` on
 * Windows; `%s` in an entry is replaced by the URL, otherwise the URL is
 * added as the last argument), then the platform's opener (`xdg-open`,
 * `open`, or `rundll32 url.dll,FileProtocolHandler`, which unlike `start`
 * needs no shell). The first command that succeeds wins.
 *
 * Commands are split into words without a shell and started with
 * `Deno.Command`, the URL always one argument of its own: quotes, `;`,
 * `$(...)` or spaces in it reach the browser as they are. A URL starting
 * with `-` is refused, so it cannot pass as an option. Needs `--allow-run`
 * (and `--allow-env` to read `BROWSER`).
 *
 * @param url The URL or file name.
 * @param options Where to read `BROWSER`, the platform, and a command
 *   runner to replace spawning.
 * @returns The command that succeeded, or `null` when none did.
 * @throws {TypeError} If the URL is empty, holds a control character, or
 *   starts with `-`.
 *
 * @example With a fake runner
 * ```ts
 * import { openUrl } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const tried: string[][] = [];
 * const opened = await openUrl("http://www.pythonware.com", {
 *   env: { BROWSER: "no-such-browser:echo %s" },
 *   run: (command, args) => {
 *     tried.push([command, ...args]);
 *     return Promise.resolve(command === "echo");
 *   },
 * });
 * assertEquals(opened, { command: "echo", args: ["http://www.pythonware.com"] });
 * assertEquals(tried.length, 2);
 * ```
 */
export async function openUrl(
  url: string | URL,
  options?: OpenUrlOptions,
): Promise<OpenUrlResult | null> {
  options ??= {};
  const commands = browserCommands(url, options);
  const timeout = options.timeout ?? 10000;
  if (!(Number.isFinite(timeout) && timeout >= 0)) {
    throw new RangeError(`Cannot open URL: timeout ${timeout} is not a non-negative number`);
  }
  const run = options.run ?? defaultRunner(timeout);
  for (const candidate of commands) {
    if (await run(candidate.command, candidate.args)) return candidate;
  }
  return null;
}
