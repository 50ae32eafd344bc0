/**
 * The shape of a `cli/main.ts` subcommand and a small argument parser.
 * Subcommand modules (`cli/time.ts`, `cli/get.ts`, ...) export one
 * {@linkcode Command}; `cli/main.ts` imports them lazily so `deno run`
 * loads only what the subcommand uses.
 *
 * @module
 */

import { MissingExtensionError } from "../net/missing_extension_error.ts";
import { writeAll } from "../net/_io.ts";
import config from "../deno.json" with { type: "json" };

/** The version of inetkit, from deno.json. */
const VERSION: string = config.version;

/** Where a command prints; tests pass their own to capture output. */
export interface CommandIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** Writes raw bytes to standard output (bodies that are not text). */
  write(bytes: Uint8Array): Promise<void>;
  /** Whether standard output is a terminal (binary bodies are then refused, as curl does). */
  isTerminal: boolean;
  /** Standard input as a stream. */
  stdin: ReadableStream<Uint8Array>;
  /**
   * Whether standard error is a terminal: progress bars are drawn only then.
   *
   * @default {false}
   */
  errIsTerminal?: boolean;
  /**
   * The width of the terminal in columns, asked again at every call (the
   * window may be resized); `undefined` when unknown.
   *
   * @default {undefined}
   */
  columns?: () => number | undefined;
  /**
   * A clock in milliseconds, for progress rates and "after N ms" in messages.
   *
   * @default {performance.now}
   */
  now?: () => number;
}

/** One subcommand of `cli/main.ts`. */
export interface Command {
  /** The word that selects it, such as `"time"`. */
  name: string;
  /** One line for the list of commands. */
  summary: string;
  /** The full `--help` text. */
  help: string;
  /** Runs it; resolves to the process exit code. */
  run(args: string[], io: CommandIo): Promise<number>;
}

/** The real terminal. */
export function denoIo(): CommandIo {
  const encoder = new TextEncoder();
  return {
    out: (text) => void Deno.stdout.writeSync(encoder.encode(text)),
    err: (text) => void Deno.stderr.writeSync(encoder.encode(text)),
    write: (bytes) => writeAll(Deno.stdout, bytes),
    isTerminal: Deno.stdout.isTerminal(),
    stdin: Deno.stdin.readable,
    errIsTerminal: Deno.stderr.isTerminal(),
    columns: () => {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return undefined;
      }
    },
    now: () => performance.now(),
  };
}

/** An `io` that records what was printed, for tests. */
export function captureIo(stdin: string | Uint8Array = ""): CommandIo & {
  stdout: string;
  stderr: string;
  /** Everything written to standard output, text and bytes, in order. */
  bytes: Uint8Array[];
} {
  const bytes = typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const io = {
    stdout: "",
    stderr: "",
    bytes: [] as Uint8Array[],
    out(text: string) {
      io.stdout += text;
      io.bytes.push(encoder.encode(text));
    },
    write(bytes: Uint8Array) {
      io.stdout += decoder.decode(bytes);
      io.bytes.push(bytes.slice());
      return Promise.resolve();
    },
    err(text: string) {
      io.stderr += text;
    },
    isTerminal: false,
    stdin: ReadableStream.from([bytes]),
  };
  return io;
}

/** The result of {@linkcode parseArgs}. */
export interface ParsedArgs {
  /** Positional arguments, in order. */
  positional: string[];
  /** Flags: `--name value`, `--name=value`, `-n value`; booleans as `true`; repeated as arrays. */
  flags: Map<string, string | true | (string | true)[]>;
}

/** Thrown for a command line that does not parse; `cli/main.ts` prints it with usage, exit 2. */
export class UsageError extends Error {
  /** Creates a usage error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parses a command line. `booleans` names the flags that take no value
 * (long names without dashes, or single letters); `aliases` maps short
 * letters to long names. Unknown flags are an error.
 */
export function parseArgs(
  args: string[],
  spec: { booleans?: string[]; values?: string[]; aliases?: Record<string, string> },
): ParsedArgs {
  const booleans = new Set(spec.booleans ?? []);
  const values = new Set(spec.values ?? []);
  const aliases = spec.aliases ?? {};
  const positional: string[] = [];
  const flags = new Map<string, string | true | (string | true)[]>();
  const add = (name: string, value: string | true) => {
    const old = flags.get(name);
    if (old === undefined) flags.set(name, value);
    else if (Array.isArray(old)) old.push(value);
    else flags.set(name, [old, value]);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    let name = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    name = aliases[name] ?? name;
    if (booleans.has(name)) {
      if (value !== undefined) throw new UsageError(`Option --${name} takes no value`);
      add(name, true);
    } else if (values.has(name)) {
      if (value === undefined) {
        if (i + 1 >= args.length) throw new UsageError(`Option --${name} needs a value`);
        value = args[++i]!;
      }
      add(name, value);
    } else {
      throw new UsageError(`Unknown option ${arg}`);
    }
  }
  return { positional, flags };
}

/** The last value of a flag as a string, or `undefined`. */
export function flagString(parsed: ParsedArgs, name: string): string | undefined {
  const v = parsed.flags.get(name);
  const last = Array.isArray(v) ? v[v.length - 1] : v;
  return typeof last === "string" ? last : undefined;
}

/** All values of a repeatable flag. */
export function flagStrings(parsed: ParsedArgs, name: string): string[] {
  const v = parsed.flags.get(name);
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string");
}

/** Whether a boolean flag was given. */
export function flagBoolean(parsed: ParsedArgs, name: string): boolean {
  return parsed.flags.has(name);
}

/**
 * A failure with the exit code it maps to: {@linkcode runCommand} prints
 * `inetkit NAME: message` on standard error and returns `exitCode`.
 */
export class CommandError extends Error {
  /** The process exit code. */
  readonly exitCode: number;
  /** Creates a failure with an exit code (1 unless told). */
  constructor(message: string, exitCode = 1, options?: ErrorOptions) {
    super(message, options);
    this.name = "CommandError";
    this.exitCode = exitCode;
  }
}

/** curl's exit code for a CA certificate file that cannot be used. */
export const CACERT_EXIT = 77;

/**
 * Reads a `--cacert FILE` (PEM); `undefined` for no file.
 *
 * @throws {CommandError} Exit code 77 (curl's) when the file cannot be read
 *   or holds no PEM certificate.
 */
export async function readCaCerts(file: string | undefined): Promise<string[] | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new CommandError(
      `Cannot read the CA certificate file ${file}: ${osMessage(error)}`,
      CACERT_EXIT,
      { cause: error },
    );
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new CommandError(
      `Cannot use the CA certificate file ${file}: it holds no PEM certificate`,
      CACERT_EXIT,
    );
  }
  return [text];
}

/**
 * An error's message without Deno's "(os error 111)", "(ECONNREFUSED)" and
 * "open '/path'" tails.
 */
export function osMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/ \(os error \d+\)/g, "").replace(/ \([A-Z][A-Z0-9_]+\)$/, "")
    // Deno's "readfile '/x'" tail: the caller names the path already.
    .replace(/: [a-z]+ '[^']*'$/, "");
}

/** `127.0.0.1`, `[::1]`: a host as it is shown before "port N". */
function shownHost(hostname: string): string {
  return hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
}

/** Whether an error (or one of its causes) is a failed host name lookup. */
export function isResolveError(error: unknown): boolean {
  return causeChain(error).some((e) =>
    /lookup address|name resolution|dns error|Name or service not known|nodename nor servname/i
      .test(e instanceof Error ? e.message : "")
  );
}

/**
 * Says what failed while connecting, naming the host, the port and the time
 * taken as curl does ("Failed to connect to 127.0.0.1 port 9 after 0 ms:
 * Connection refused", "Could not resolve host: example.invalid"); `null`
 * for a failure that is not a connection failure.
 *
 * @param error What the connect failed with.
 * @param hostname The host that was dialled.
 * @param port The port.
 * @param elapsed Milliseconds from the start of the attempt.
 * @param what Words before the host, such as `"proxy "`.
 * @returns The message, or `null`.
 *
 * @example
 * ```ts
 * import { connectFailure } from "./_command.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const refused = new Deno.errors.ConnectionRefused("Connection refused (os error 111)");
 * assertEquals(
 *   connectFailure(refused, "127.0.0.1", 9, 0.4),
 *   "Failed to connect to 127.0.0.1 port 9 after 0 ms: Connection refused",
 * );
 * ```
 */
export function connectFailure(
  error: unknown,
  hostname: string,
  port: number,
  elapsed: number,
  what = "",
): string | null {
  if (isResolveError(error)) return `Could not resolve ${what.trim() || "host"}: ${hostname}`;
  for (const e of causeChain(error)) {
    if (
      e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.AddrNotAvailable ||
      e instanceof Deno.errors.NetworkUnreachable || e instanceof Deno.errors.TimedOut
    ) {
      return `Failed to connect to ${what}${shownHost(hostname)} port ${port} after ${
        Math.round(elapsed)
      } ms: ${osMessage(e)}`;
    }
  }
  return null;
}

/**
 * Turns a failure to listen into a message naming the address and the port
 * and what to do (`--port 0`); other errors are returned unchanged.
 *
 * @param error What `Deno.listen` (or a server's constructor) threw.
 * @param hostname The address to bind.
 * @param port The port.
 * @param flag The option that sets the port.
 * @returns A {@linkcode CommandError}, or `error` itself.
 */
export function listenFailure(
  error: unknown,
  hostname: string,
  port: number,
  flag = "--port",
): unknown {
  const where = `Cannot listen on ${shownHost(hostname)} port ${port}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return new CommandError(
      `${where}: the address is already in use (another server runs there; ` +
        `${flag} 0 picks a free port)`,
      1,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new CommandError(
      `${where}: ${hostname} is not an address of this machine (see --host)`,
      1,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new CommandError(
      `${where}: permission denied (ports below 1024 need privileges; ${flag} 0 picks a free port)`,
      1,
      { cause: error },
    );
  }
  return error;
}

/**
 * The extension a failure says the server lacks (`"STARTTLS"`, `"STLS"`,
 * `"AUTH TLS"`, `"SASL"`, ...), from a `MissingExtensionError` in the error
 * or its causes; `null` for other failures.
 */
export function missingExtension(error: unknown): string | null {
  for (const e of causeChain(error)) {
    if (e instanceof MissingExtensionError) return e.extension;
  }
  return null;
}

/** The error and its causes, outermost first (at most 8). */
export function causeChain(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && out.length < 8;) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** Parses a port number or throws a usage error. */
export function parsePort(text: string, what = "port"): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`Invalid ${what}: ${text}`);
  return n;
}

/** The `--version` line: `inetkit 0.1.0 (deno 2.9.6)`. */
export function versionText(): string {
  return `inetkit ${VERSION} (deno ${Deno.version.deno})\n`;
}

/**
 * Runs a command with `--help` and `--version` handling and the exit-code
 * rules of `cli/main.ts`: 0 success, 1 failure (message on stderr), 2 usage
 * error (one line and a pointer to `--help` on stderr), and the exit code
 * of a {@linkcode CommandError}.
 */
export async function runCommand(command: Command, args: string[], io: CommandIo): Promise<number> {
  const options = args.includes("--") ? args.slice(0, args.indexOf("--")) : args;
  if (options.includes("--help") || options.includes("-h")) {
    io.out(command.help);
    return 0;
  }
  if (options.includes("--version")) {
    io.out(versionText());
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof CommandError) {
      io.err(`inetkit ${command.name}: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof UsageError) {
      // One line and a pointer, as curl does: the full help only on --help.
      io.err(
        `inetkit ${command.name}: ${error.message}\n` +
          `Try 'inetkit ${command.name} --help' for more information.\n`,
      );
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(`inetkit ${command.name}: ${message}\n`);
    return 1;
  }
}

/** For a subcommand module run directly (`deno run -A cli/serve.ts ...`). */
export async function runMain(command: Command): Promise<never> {
  Deno.exit(await runCommand(command, Deno.args, denoIo()));
}

/**
 * Waits for a server to finish, calling `stop` on SIGINT or SIGTERM (the
 * long-running subcommands: serve, proxy, time-server).
 */
export async function untilInterrupted(
  finished: Promise<unknown>,
  stop: () => void,
): Promise<void> {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  try {
    await finished;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
  }
}
