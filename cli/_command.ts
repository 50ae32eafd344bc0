/**
 * The shape of a `cli/main.ts` subcommand and a small argument parser.
 * Subcommand modules (`cli/time.ts`, `cli/get.ts`, ...) export one
 * {@linkcode Command}; `cli/main.ts` imports them lazily so `deno run`
 * loads only what the subcommand uses.
 *
 * @module
 */

import { writeAll } from "../net/_io.ts";

/** Where a command prints; tests pass their own to capture output. */
export interface CommandIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** Writes raw bytes to standard output (bodies that are not text). */
  write(bytes: Uint8Array): Promise<void>;
  /** Whether standard output is a terminal (progress bars only then). */
  isTerminal: boolean;
  /** Standard input as a stream. */
  stdin: ReadableStream<Uint8Array>;
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

/** Parses a port number or throws a usage error. */
export function parsePort(text: string, what = "port"): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`Invalid ${what}: ${text}`);
  return n;
}

/**
 * Runs a command with `--help` handling and the exit-code rules of
 * `cli/main.ts`: 0 success, 1 failure (message on stderr), 2 usage error
 * (one line and a pointer to `--help` on stderr).
 */
export async function runCommand(command: Command, args: string[], io: CommandIo): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.out(command.help);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
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
