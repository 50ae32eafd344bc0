/**
 * `mail serve --dir DIR --user USER:PASS`: a local mail lab. SMTP, POP3 and
 * IMAP on one Maildir; every recipient lands in the (first) user's INBOX,
 * so an application's outgoing mail can be read with any mail client.
 * Prints one line per delivery and login to standard error, and runs until
 * Ctrl-C. `cli/mail.ts` dispatches `mail serve` here.
 *
 * @module
 */
import { MailLab } from "../mail/mail_lab.ts";
import {
  type Command,
  CommandError,
  type CommandIo,
  flagString,
  flagStrings,
  listenFailure,
  osMessage,
  parseArgs,
  parsePort,
  runMain,
  untilInterrupted,
  UsageError,
} from "./_command.ts";

import { MAIL_SERVE_HELP as HELP } from "./_mail_serve_help.ts";

/** A running `mail serve`, for tests and embedding. */
export interface RunningMailServe {
  /** The servers and their store. */
  lab: MailLab;
  /** The user who receives every message. */
  user: string;
}

/**
 * Parses the arguments and starts the lab; resolves once it listens.
 *
 * @param args The command line after `mail serve`.
 * @param io Where to print.
 * @param signal Stops the lab when aborted.
 * @returns The lab and the catch-all user.
 * @throws {UsageError} For bad arguments or unreadable TLS files.
 */
export async function startMailServe(
  args: string[],
  io: CommandIo,
  signal?: AbortSignal,
): Promise<RunningMailServe> {
  const parsed = parseArgs(args, {
    booleans: ["help"],
    values: ["dir", "user", "host", "smtp-port", "pop3-port", "imap-port", "tls-cert", "tls-key"],
    aliases: { h: "help" },
  });
  if (parsed.positional.length > 0) {
    throw new UsageError(`Unexpected argument ${JSON.stringify(parsed.positional[0])}`);
  }
  const dir = flagString(parsed, "dir");
  if (dir === undefined || dir === "") throw new UsageError("--dir DIR is required");
  const specs = flagStrings(parsed, "user");
  if (specs.length === 0) throw new UsageError("--user USER:PASS is required");
  const users: Record<string, string> = {};
  for (const spec of specs) {
    const colon = spec.indexOf(":");
    const name = colon < 0 ? "" : spec.slice(0, colon);
    // deno-lint-ignore no-control-regex
    if (name === "" || /[\s/\x00-\x1f\x7f]/.test(name) || name.startsWith(".")) {
      throw new UsageError(
        `Invalid --user ${JSON.stringify(spec.split(":")[0])}: expected USER:PASS`,
      );
    }
    if (Object.hasOwn(users, name)) throw new UsageError(`--user ${name} is given twice`);
    users[name] = spec.slice(colon + 1);
  }
  const user = specs[0]!.slice(0, specs[0]!.indexOf(":"));
  const certFile = flagString(parsed, "tls-cert");
  const keyFile = flagString(parsed, "tls-key");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
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
  const ports = {
    smtpPort: parsePort(flagString(parsed, "smtp-port") ?? "2025", "--smtp-port"),
    pop3Port: parsePort(flagString(parsed, "pop3-port") ?? "2110", "--pop3-port"),
    imapPort: parsePort(flagString(parsed, "imap-port") ?? "2143", "--imap-port"),
  };
  const hostname = flagString(parsed, "host") ?? "127.0.0.1";
  await Deno.mkdir(dir, { recursive: true });
  checkPorts(hostname, ports);
  let lab: MailLab;
  try {
    lab = newLab();
  } catch (error) {
    // Taken since checkPorts: name them all.
    if (listenFailure(error, hostname, 0) === error) throw error;
    throw new CommandError(
      `Cannot listen on ${hostname} ports ${ports.smtpPort}, ${ports.pop3Port} and ` +
        `${ports.imapPort}: ${osMessage(error)} (--smtp-port 0 and the like pick free ports)`,
      1,
      { cause: error },
    );
  }
  function newLab(): MailLab {
    return new MailLab({
      users: { users },
      dir,
      catchAll: user,
      hostname,
      ...ports,
      cert,
      key,
      signal,
      onLog: (event) => {
        if (event.type === "message" || event.type === "login" || event.type === "login-failed") {
          io.err(event.text + "\n");
        }
      },
      onError: (error) => io.err(`error: ${error instanceof Error ? error.message : error}\n`),
    });
  }
  const show = (addr: Deno.NetAddr) =>
    addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`;
  const tls = cert !== undefined ? " (STARTTLS)" : "";
  io.out(`Mail lab: every recipient goes to ${user}'s INBOX in ${dir}/${user}\n`);
  io.out(`SMTP on ${show(lab.smtp.addr)}${tls}\n`);
  io.out(`POP3 on ${show(lab.pop3.addr)}${tls}\n`);
  io.out(`IMAP on ${show(lab.imap.addr)}${tls}\n`);
  if (cert === undefined && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(hostname)) {
    io.err(
      `warning: passwords are accepted in clear on ${hostname}; give --tls-cert and --tls-key\n`,
    );
  }
  return { lab, user };
}

/**
 * Tries each port first, so that a port that is taken is named with its
 * flag: the lab listens on three, and its error would not say which one.
 *
 * @throws {CommandError} For a port that cannot be listened on.
 */
function checkPorts(
  hostname: string,
  ports: { smtpPort: number; pop3Port: number; imapPort: number },
): void {
  const flags = [
    ["--smtp-port", ports.smtpPort],
    ["--pop3-port", ports.pop3Port],
    ["--imap-port", ports.imapPort],
  ] as const;
  for (const [flag, port] of flags) {
    if (port === 0) continue;
    let listener: Deno.Listener;
    try {
      listener = Deno.listen({ hostname, port });
    } catch (error) {
      throw listenFailure(error, hostname, port, flag);
    }
    listener.close();
  }
}

/** The `mail serve` subcommand (dispatched from `mail`). */
export const mailServeCommand: Command = {
  name: "mail serve",
  summary: "run a local SMTP + POP3 + IMAP mail lab on a Maildir",
  help: HELP,
  async run(args: string[], io: CommandIo): Promise<number> {
    const controller = new AbortController();
    const { lab } = await startMailServe(args, io, controller.signal);
    await untilInterrupted(lab.finished, () => controller.abort());
    await lab.close();
    return 0;
  },
};

if (import.meta.main) await runMain(mailServeCommand);
