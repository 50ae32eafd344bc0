import type { AttachmentInit, MessageInit } from "../mail/message_builder.ts";
import { sendMail } from "../mail/send_mail.ts";
import type { SmtpConnectOptions } from "../mail/smtp_client.ts";
import { SmtpReplyError } from "../mail/smtp_reply_error.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import {
  causeChain,
  type Command,
  type CommandIo,
  connectFailure,
  flagBoolean,
  flagString,
  flagStrings,
  isResolveError,
  missingExtension,
  osMessage,
  parseArgs,
  parsePort,
  readCaCerts,
  runCommand,
  UsageError,
} from "./_command.ts";
import { MAIL_READ_HELP } from "./_mail_read_help.ts";
import { MAIL_SERVE_HELP } from "./_mail_serve_help.ts";

const HELP =
  `Usage: inetkit mail send --server HOST[:PORT] --from ADDRESS --to ADDRESS [options] < BODY

Sends a message read from standard input (as its plain-text body) to an SMTP
server, and prints what happened to each recipient.

  --server HOST[:PORT]   the SMTP server (port 25, or 465 with --tls)
  --starttls             require STARTTLS: fail rather than send in clear
                         (without it STARTTLS is still used when offered)
  --no-tls               stay in clear even when the server offers STARTTLS
  --tls                  use TLS from the first byte (SMTPS)
  --cacert FILE          trust the CA certificates in this PEM file
  --user USER            log in as USER (AUTH)
  --password-env VAR     read the password from the environment variable VAR
  --insecure-auth        allow sending the password in clear to a host that
                         is not loopback (refused otherwise)
  --from ADDRESS         the sender (From and the envelope)
  --to ADDRESS           a recipient (repeatable; also comma-separated lists)
  --cc ADDRESS           a copied recipient (repeatable)
  --bcc ADDRESS          a blind-copied recipient: envelope only (repeatable)
  --subject TEXT         the subject
  --attach FILE          attach a file (repeatable)
  --helo NAME            the name to greet the server with (default localhost)
  --timeout MS           milliseconds for each command (default 60000)
  -v, --verbose          print the SMTP dialogue to standard error (AUTH redacted)

TLS: STARTTLS is used whenever the server offers it, and the server's
certificate must verify (--cacert FILE for a private CA): a failed
verification is an error, never a fallback to clear text.

Exit codes: 0 every recipient accepted, 1 another failure or a refused
recipient (the others got the message), 2 usage, 6 host not resolved,
7 cannot connect, 8 bad server reply, 28 timeout, 35 TLS handshake failed,
55 the server refused the message or every recipient, 60 certificate not
trusted, 64 --starttls but no STARTTLS, 67 login denied (or refused in
clear), 77 the --cacert file cannot be read.
`;

/**
 * `mail send --server HOST[:PORT] [--starttls|--no-tls|--tls] [--user U --password-env VAR]
 * --from A --to B [--subject S] [--attach FILE]... < body`: the classic
 * `smtplib` example, grown up, on {@linkcode sendMail}.
 */
export const mailCommand: Command = {
  name: "mail",
  summary: "send, list, read and watch mail; serve a local mail lab (SMTP, POP3, IMAP)",
  help: HELP + "\n" + MAIL_READ_HELP + "\n" + MAIL_SERVE_HELP,
  async run(args: string[], io: CommandIo): Promise<number> {
    const [action, ...rest] = args;
    if (action === "serve") {
      const { mailServeCommand } = await import("./_mail_serve.ts");
      return await runCommand(mailServeCommand, rest, io);
    }
    if (action === "list" || action === "read" || action === "watch") {
      const { runMailRead } = await import("./_mail_read.ts");
      return await runMailRead(action, rest, io);
    }
    if (action !== "send") {
      throw new UsageError(
        action === undefined
          ? "Expected an action: send, serve, list, read or watch"
          : `Unknown action ${JSON.stringify(action)}`,
      );
    }
    const parsed = parseArgs(rest, {
      booleans: ["starttls", "tls", "no-tls", "insecure-auth", "verbose"],
      values: [
        "server",
        "cacert",
        "user",
        "password-env",
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "attach",
        "helo",
        "timeout",
      ],
      aliases: { v: "verbose" },
    });
    if (parsed.positional.length > 0) {
      throw new UsageError(`Unexpected argument ${JSON.stringify(parsed.positional[0])}`);
    }
    const server = flagString(parsed, "server");
    if (server === undefined) throw new UsageError("--server is required");
    const from = flagString(parsed, "from");
    if (from === undefined) throw new UsageError("--from is required");
    const to = flagStrings(parsed, "to");
    const cc = flagStrings(parsed, "cc");
    const bcc = flagStrings(parsed, "bcc");
    if (to.length + cc.length + bcc.length === 0) {
      throw new UsageError("At least one --to, --cc or --bcc is required");
    }
    const tls = flagBoolean(parsed, "tls");
    const starttls = flagBoolean(parsed, "starttls");
    const noTls = flagBoolean(parsed, "no-tls");
    if ([tls, starttls, noTls].filter(Boolean).length > 1) {
      throw new UsageError("--tls, --starttls and --no-tls exclude each other");
    }
    const { hostname, port } = parseServer(server, tls ? 465 : 25);
    const timeoutText = flagString(parsed, "timeout");
    if (timeoutText !== undefined && !/^[1-9]\d*$/.test(timeoutText)) {
      throw new UsageError(`Invalid --timeout: ${timeoutText}`);
    }
    const timeout = timeoutText === undefined ? 60000 : Number(timeoutText);

    const user = flagString(parsed, "user");
    const passwordEnv = flagString(parsed, "password-env");
    if ((user === undefined) !== (passwordEnv === undefined)) {
      throw new UsageError("--user and --password-env go together");
    }
    let credentials: SmtpConnectOptions["credentials"];
    if (user !== undefined) {
      const password = Deno.env.get(passwordEnv!);
      if (password === undefined) {
        throw new UsageError(`The environment variable ${passwordEnv} is not set`);
      }
      credentials = { username: user, password };
    }

    const attachments: AttachmentInit[] = [];
    try {
      for (const path of flagStrings(parsed, "attach")) {
        attachments.push({ filename: basename(path), content: await Deno.readFile(path) });
      }
    } catch (error) {
      io.err(`inetkit mail: ${describe(error)}\n`);
      return 1;
    }
    const caCerts = await readCaCerts(flagString(parsed, "cacert"));

    const message: MessageInit = {
      from,
      to: to.length > 0 ? to : undefined,
      cc: cc.length > 0 ? cc : undefined,
      bcc: bcc.length > 0 ? bcc : undefined,
      subject: flagString(parsed, "subject"),
      text: await new Response(io.stdin).bytes(),
      attachments,
    };
    const verbose = flagBoolean(parsed, "verbose");
    const now = io.now ?? (() => performance.now());
    const started = now();
    try {
      const result = await sendMail(message, {
        hostname,
        port,
        // STARTTLS when offered (verified); only --no-tls stays in clear.
        tls: tls ? { caCerts } : noTls ? false : undefined,
        caCerts,
        requireTls: starttls,
        allowInsecureAuth: flagBoolean(parsed, "insecure-auth"),
        credentials,
        localName: flagString(parsed, "helo"),
        timeout,
        connectTimeout: timeout,
        dataTimeout: timeout * 5,
        debug: verbose ? (line) => io.err(line + "\n") : undefined,
      });
      for (const recipient of result.accepted) io.out(`accepted ${recipient}\n`);
      for (const [recipient, error] of result.refused) {
        io.out(`refused  ${recipient}: ${error.code} ${error.lines.join(" ")}\n`);
      }
      io.out(`server: ${result.reply.code} ${result.reply.lines.join(" ")}\n`);
      return result.refused.size === 0 ? 0 : 1;
    } catch (error) {
      io.err(`inetkit mail: ${sendFailure(error, hostname, port, now() - started)}\n`);
      return sendExit(error);
    }
  },
};

/** The exit code for a failed send, after curl's (see the help). */
export function sendExit(error: unknown): number {
  if (isResolveError(error)) return 6;
  const chain = causeChain(error);
  if (
    chain.some((e) =>
      e instanceof DOMException && e.name === "TimeoutError" || e instanceof Deno.errors.TimedOut
    )
  ) return 28;
  if (connectFailure(error, "", 0, 0) !== null) return 7;
  const text = describe(error);
  if (error instanceof Deno.errors.InvalidData || /certificate|handshake/i.test(text)) {
    return /certificate|UnknownIssuer|NotValidForName|Expired/i.test(text) ? 60 : 35;
  }
  const missing = missingExtension(error);
  if (missing === "STARTTLS") return 64;
  if ((missing === "SASL" || error instanceof TypeError) && /without TLS|in clear/.test(text)) {
    return 67;
  }
  for (const e of chain) {
    if (e instanceof SmtpReplyError) return /^AUTH\b/i.test(e.command ?? "") ? 67 : 55;
    if (e instanceof ProtocolError) return 8;
  }
  return 1;
}

/** Splits `HOST[:PORT]`, `[v6]:PORT` or a bare IPv6 address. */
function parseServer(text: string, defaultPort: number): { hostname: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    const port = bracketed[2];
    return {
      hostname: bracketed[1]!,
      port: port === undefined ? defaultPort : parsePort(port, "server port"),
    };
  }
  const colon = text.lastIndexOf(":");
  if (colon < 0 || text.indexOf(":") !== colon) {
    if (text === "") throw new UsageError("Invalid --server: empty");
    return { hostname: text, port: defaultPort };
  }
  const hostname = text.slice(0, colon);
  if (hostname === "") throw new UsageError(`Invalid --server: ${text}`);
  return { hostname, port: parsePort(text.slice(colon + 1), "server port") };
}

function basename(path: string): string {
  return path.split(/[\\/]/).pop() || "attachment";
}

function describe(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return "timed out";
  return osMessage(error);
}

/** A failure of `mail send`, naming the server and what to do where there is a flag for it. */
function sendFailure(error: unknown, hostname: string, port: number, elapsed: number): string {
  const connect = connectFailure(error, hostname, port, elapsed);
  if (connect !== null) return connect;
  const server = `${hostname.includes(":") ? `[${hostname}]` : hostname} port ${port}`;
  if (error instanceof Deno.errors.InvalidData || /certificate/i.test(describe(error))) {
    return `Cannot start TLS with ${server}: ${
      describe(error)
    } (--cacert FILE trusts a private CA)`;
  }
  const missing = missingExtension(error);
  if (
    (missing === "SASL" || error instanceof TypeError) &&
    /without TLS|in clear/.test(describe(error))
  ) {
    return `Cannot log in to ${server}: ${describe(error)}; the password would go in clear ` +
      "(--insecure-auth allows it)";
  }
  if (missing === "STARTTLS") return `${describe(error)} at ${server} (--starttls requires it)`;
  return `${server}: ${describe(error)}`;
}
