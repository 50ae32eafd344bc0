/**
 * `news list|read|post|serve`: the classic `nntplib` examples as a
 * command, on {@linkcode NntpClient}, {@linkcode NntpServer} and
 * {@linkcode NewsSpool}.
 *
 * STARTTLS is used whenever the server offers it and its certificate must
 * verify (`--cacert FILE` for a private CA); `--no-tls` stays in clear.
 *
 * ```sh
 * deno run -A cli/news.ts list nntp://127.0.0.1:1119/comp.lang.python --cacert /tmp/peers/tls/ca.pem
 * deno run -A cli/news.ts read 'nntp://127.0.0.1:1119/<peers-py-1@example.test>' --no-tls
 * echo hello | deno run -A cli/news.ts post nntp://127.0.0.1:1119/local.test --from a@example.test --subject hi --cacert /tmp/peers/tls/ca.pem
 * deno run -A cli/news.ts serve --dir /tmp/spool --port 1190 --group local.test
 * ```
 *
 * @module
 */
import { decodeEncodedWords } from "../mail/encoded_word.ts";
import { parseMailDate } from "../mail/date.ts";
import { buildMessage } from "../mail/message_builder.ts";
import { NewsSpool } from "../mail/news_spool.ts";
import { NNTP_PORT, NntpClient, type NntpConnectOptions, NNTPS_PORT } from "../mail/nntp_client.ts";
import { NntpServer } from "../mail/nntp_server.ts";
import { NntpReplyError } from "../mail/nntp_reply_error.ts";
import {
  type Command,
  type CommandIo,
  connectFailure,
  flagBoolean,
  flagString,
  flagStrings,
  listenFailure,
  missingExtension,
  osMessage,
  parseArgs,
  parsePort,
  readCaCerts,
  runMain,
  untilInterrupted,
  UsageError,
} from "./_command.ts";

const HELP = `Usage: inetkit news list nntp://HOST[:PORT]/GROUP [options]
       inetkit news read nntp://HOST[:PORT]/<MESSAGE-ID> [options]
       inetkit news read nntp://HOST[:PORT]/GROUP/NUMBER [options]
       inetkit news post nntp://HOST[:PORT]/GROUP --from ADDRESS --subject TEXT [options] < BODY
       inetkit news serve --dir DIR --group NAME [--group NAME...] [options]

list   prints one line per article in the group: number, date, author, subject
read   prints an article (dot-unstuffed, as the server stored it)
post   posts standard input as the body of a new article to GROUP
serve  serves a spool directory over NNTP until Ctrl-C

nntps://HOST[:PORT]/... speaks TLS from the first byte (port 563 by default;
nntp:// uses 119). A message-id may be given with or without <>, URL-encoded.

Client options:
  --starttls             require STARTTLS: fail rather than go on in clear
                         (without it STARTTLS is still used when offered)
  --no-tls               stay in clear even when the server offers STARTTLS
  --cacert FILE          trust the CA certificates in this PEM file
  --user USER            log in as USER (AUTHINFO)
  --password-env VAR     read the password from the environment variable VAR
  --insecure-auth        allow sending the password in clear to a host that
                         is not loopback (refused otherwise)
  --from ADDRESS         post: the author
  --subject TEXT         post: the subject
  --timeout MS           milliseconds without progress before giving up (default 60000)
  -v, --verbose          print the NNTP dialogue to standard error (passwords redacted)

Server options:
  --dir DIR              the spool directory (created when missing)
  --group NAME           a group to serve (repeatable); NAME=DESCRIPTION sets its description
  --port N               the port (default 119; 0 picks a free one)
  --host H               the address to bind (default 127.0.0.1)
  --read-only            refuse POST and IHAVE
  --tls-cert FILE        offer STARTTLS with this PEM certificate chain
  --tls-key FILE         ... and this PEM private key
  --implicit-tls         speak TLS from the first byte instead (nntps)
  --user USER            require this login (with --password-env)
  --path-host NAME       the site name in Path and Xref (default localhost)
  --max-article-size N   the largest article in bytes (default 16777216)
  --quiet                do not print one line per command (standard error)

TLS: STARTTLS is used whenever the server offers it, and the server's
certificate must verify (--cacert FILE for a private CA): a failed
verification is an error, never a fallback to clear text. A server that
offers STARTTLS but refuses it leaves the session in clear, unless
--starttls is given. Only --no-tls stays in clear on purpose.

Where the server listens goes to standard output, its log of commands to
standard error.

Exit codes: 0 success, 1 failure, 2 usage, 77 the --cacert file cannot be read.
`;

const CLIENT_FLAGS = {
  booleans: ["starttls", "no-tls", "insecure-auth", "verbose"],
  values: ["cacert", "user", "password-env", "from", "subject", "timeout"],
  aliases: { v: "verbose" },
};

/** A parsed `nntp://` or `nntps://` URL. */
interface NewsTarget {
  url: string;
  hostname: string;
  port: number;
  tls: boolean;
  group?: string;
  number?: number;
  messageId?: string;
}

/** A running `news serve`, for tests and embedding. */
export interface RunningNewsServe {
  /** The server. */
  server: NntpServer;
  /** The spool it serves (close it after the server finished). */
  spool: NewsSpool;
  /** The base URL, such as `nntp://127.0.0.1:1190/`. */
  url: string;
}

/** The `news` subcommand. */
export const newsCommand: Command = {
  name: "news",
  summary: "list, read and post Usenet articles over NNTP, or serve a spool",
  help: HELP,
  async run(args: string[], io: CommandIo): Promise<number> {
    const [action, ...rest] = args;
    switch (action) {
      case "list":
      case "read":
      case "post":
        return await client(action, rest, io);
      case "serve": {
        const controller = new AbortController();
        const { server, spool } = await startNewsServe(rest, io, controller.signal);
        try {
          await untilInterrupted(server.finished, () => controller.abort());
        } finally {
          await spool.close();
        }
        return 0;
      }
      default:
        throw new UsageError(
          action === undefined
            ? "Expected an action: list, read, post or serve"
            : `Unknown action ${JSON.stringify(action)}`,
        );
    }
  },
};

async function client(
  action: "list" | "read" | "post",
  args: string[],
  io: CommandIo,
): Promise<number> {
  const parsed = parseArgs(args, CLIENT_FLAGS);
  if (parsed.positional.length !== 1) {
    throw new UsageError(
      parsed.positional.length === 0
        ? "Expected an nntp:// URL"
        : `Unexpected argument ${JSON.stringify(parsed.positional[1])}`,
    );
  }
  const target = parseTarget(parsed.positional[0]!, action);
  const from = flagString(parsed, "from");
  const subject = flagString(parsed, "subject");
  if (action === "post") {
    if (from === undefined) throw new UsageError("post needs --from");
    if (subject === undefined) throw new UsageError("post needs --subject");
  } else if (from !== undefined || subject !== undefined) {
    throw new UsageError("--from and --subject are for post");
  }
  const timeoutText = flagString(parsed, "timeout");
  if (timeoutText !== undefined && !/^[1-9]\d{0,8}$/.test(timeoutText)) {
    throw new UsageError(`Invalid --timeout: ${timeoutText}`);
  }
  const timeout = timeoutText === undefined ? 60000 : Number(timeoutText);
  const user = flagString(parsed, "user");
  const passwordEnv = flagString(parsed, "password-env");
  if ((user === undefined) !== (passwordEnv === undefined)) {
    throw new UsageError("--user and --password-env go together");
  }
  let credentials: NntpConnectOptions["credentials"];
  if (user !== undefined) {
    const password = Deno.env.get(passwordEnv!);
    if (password === undefined) {
      throw new UsageError(`The environment variable ${passwordEnv} is not set`);
    }
    credentials = { username: user, password };
  }
  const starttls = flagBoolean(parsed, "starttls");
  const noTls = flagBoolean(parsed, "no-tls");
  if (starttls && target.tls) throw new UsageError("--starttls and nntps:// exclude each other");
  if (noTls && target.tls) {
    throw new UsageError("--no-tls is for nntp:// (nntps:// is TLS from the first byte)");
  }
  if (starttls && noTls) throw new UsageError("--starttls and --no-tls exclude each other");
  const caCerts = await readCaCerts(flagString(parsed, "cacert"));
  const verbose = flagBoolean(parsed, "verbose");
  const body = action === "post" ? await new Response(io.stdin).bytes() : undefined;
  const now = io.now ?? (() => performance.now());
  const started = now();
  let nntp: NntpClient;
  try {
    nntp = await NntpClient.connect({
      hostname: target.hostname,
      port: target.port,
      // STARTTLS when offered (verified); only --no-tls stays in clear.
      tls: target.tls ? { caCerts } : noTls ? false : undefined,
      requireTls: starttls,
      caCerts,
      allowInsecureAuth: flagBoolean(parsed, "insecure-auth"),
      credentials,
      timeout,
      connectTimeout: timeout,
      debug: verbose ? (line) => io.err(line + "\n") : undefined,
    });
  } catch (error) {
    io.err(`inetkit news: ${connectError(error, target, now() - started)}\n`);
    return 1;
  }
  try {
    if (action === "list") await list(nntp, target.group!, io);
    else if (action === "read") await read(nntp, target, io);
    else {
      const article = await new Response(
        buildMessage({
          from: from!,
          subject: subject!,
          text: body!,
          headers: { Newsgroups: target.group! },
        }),
      ).bytes();
      const result = await nntp.post(article);
      io.out(
        `posted ${result.messageId ?? "(no message-id)"}: ${result.reply.code} ${
          result.reply.lines.join(" ")
        }\n`,
      );
    }
    return 0;
  } catch (error) {
    io.err(`inetkit news: ${describeFailure(error, target)}\n`);
    return 1;
  } finally {
    await nntp[Symbol.asyncDispose]();
  }
}

async function list(nntp: NntpClient, group: string, io: CommandIo): Promise<void> {
  const { count, low, high } = await nntp.group(group);
  if (count === 0 || high < low) return;
  let out = "";
  for await (const item of await nntp.over({ from: low, to: high })) {
    out += `${item.number}\t${shortDate(item.date)}\t${oneLine(decodeEncodedWords(item.from))}\t${
      oneLine(decodeEncodedWords(item.subject))
    }\n`;
    if (out.length > 65536) {
      io.out(out);
      out = "";
    }
  }
  io.out(out);
}

async function read(nntp: NntpClient, target: NewsTarget, io: CommandIo): Promise<void> {
  let spec: number | string;
  if (target.messageId !== undefined) spec = target.messageId;
  else {
    await nntp.group(target.group!);
    spec = target.number!;
  }
  const article = await nntp.article(spec);
  for await (const chunk of article.body) await io.write(chunk);
}

/** `2023-11-14 10:00` in UTC, or the Date header as sent when it does not parse. */
function shortDate(text: string): string {
  try {
    return parseMailDate(text).toISOString().slice(0, 16).replace("T", " ");
  } catch {
    return oneLine(text);
  }
}

function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, " ");
}

function parseTarget(text: string, action: "list" | "read" | "post"): NewsTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`Invalid URL: ${text}`);
  }
  const tls = url.protocol === "nntps:";
  if (url.protocol !== "nntp:" && !tls) {
    throw new UsageError(`Unsupported URL scheme ${url.protocol} (expected nntp: or nntps:)`);
  }
  if (url.hostname === "") throw new UsageError(`The URL has no host: ${text}`);
  if (url.username !== "" || url.password !== "") {
    throw new UsageError("Give the login with --user and --password-env, not in the URL");
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port === "" ? (tls ? NNTPS_PORT : NNTP_PORT) : parsePort(url.port, "URL port");
  const segments = url.pathname.split("/").slice(1).filter((s) => s !== "");
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    throw new UsageError(`Invalid URL path: ${url.pathname}`);
  }
  const target: NewsTarget = {
    url: `${url.protocol}//${url.host}${url.pathname}`,
    hostname,
    port,
    tls,
  };
  const first = decoded[0];
  if (first === undefined) throw new UsageError(`The URL names no group or article: ${text}`);
  if (decoded.length === 1 && (first.startsWith("<") || first.includes("@"))) {
    if (action !== "read") throw new UsageError(`${action} needs a group, not a message-id`);
    target.messageId = first.startsWith("<") ? first : `<${first}>`;
    if (!/^<[\x21-\x3d\x3f-\x7e]{1,248}>$/.test(target.messageId)) {
      throw new UsageError(`Invalid message-id: ${target.messageId}`);
    }
    return target;
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x20\x7f!*,?[\\\]]/.test(first)) throw new UsageError(`Invalid group name: ${first}`);
  target.group = first;
  if (action === "read") {
    if (decoded.length !== 2 || !/^\d{1,10}$/.test(decoded[1]!)) {
      throw new UsageError(`read needs nntp://HOST/GROUP/NUMBER or nntp://HOST/<message-id>`);
    }
    target.number = Number(decoded[1]);
  } else if (decoded.length !== 1) {
    throw new UsageError(`${action} needs nntp://HOST/GROUP, got ${url.pathname}`);
  }
  return target;
}

function describe(error: unknown): string {
  if (timedOut(error)) return "timed out";
  return osMessage(error);
}

function timedOut(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError" ||
    error instanceof Deno.errors.TimedOut;
}

/** `127.0.0.1 port 119`, `[::1] port 119`: the server as messages name it. */
function shownServer(target: NewsTarget): string {
  const host = target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname;
  return `${host} port ${target.port}`;
}

/**
 * Curl-like: a failure to connect, start TLS or log in, naming the server
 * and the flag that changes the outcome where there is one.
 */
function connectError(error: unknown, target: NewsTarget, elapsed: number): string {
  const connect = connectFailure(error, target.hostname, target.port, elapsed);
  if (connect !== null) return connect;
  if (timedOut(error)) return `${target.url}: Operation timed out after ${Math.round(elapsed)} ms`;
  const server = shownServer(target);
  const text = describe(error);
  const missing = missingExtension(error);
  if (missing === "STARTTLS") {
    return `Cannot start TLS with ${server}: ${
      text.replace(/^Cannot start TLS: /, "")
    } (--starttls requires it)`;
  }
  if (error instanceof NntpReplyError && error.command === "STARTTLS") {
    return `Cannot start TLS with ${server}: ${
      text.replace(/^Cannot send STARTTLS: /, "")
    } (--starttls requires it)`;
  }
  if (error instanceof Deno.errors.InvalidData || /certificate/i.test(text)) {
    return `Cannot start TLS with ${server}: ${text} (--cacert FILE trusts a private CA)`;
  }
  if ((missing === "AUTHINFO" || error instanceof TypeError) && /without TLS/.test(text)) {
    const why = text.replace(/^Cannot authenticate: /, "")
      .replace(/^Cannot authenticate with ([^:]+): it /, "$1 ");
    return `Cannot log in to ${server}: ${why}; the password would go in clear ` +
      "(--insecure-auth allows it)";
  }
  return `${target.url}: ${text}`;
}

/** Curl-like: a failure after connecting, with the URL it concerns. */
function describeFailure(error: unknown, target: NewsTarget): string {
  if (timedOut(error)) return `${target.url}: Operation timed out`;
  return `${target.url}: ${describe(error)}`;
}

/**
 * Parses the `serve` arguments, opens the spool and starts the server;
 * resolves once it listens.
 *
 * @param args The command line after `news serve`.
 * @param io Where to print.
 * @param signal Stops the server when aborted.
 * @returns The server, the spool and the URL.
 * @throws {UsageError} For bad arguments.
 */
export async function startNewsServe(
  args: string[],
  io: CommandIo,
  signal?: AbortSignal,
): Promise<RunningNewsServe> {
  const parsed = parseArgs(args, {
    booleans: ["read-only", "implicit-tls", "quiet"],
    values: [
      "dir",
      "group",
      "port",
      "host",
      "tls-cert",
      "tls-key",
      "user",
      "password-env",
      "path-host",
      "max-article-size",
    ],
    aliases: { p: "port" },
  });
  if (parsed.positional.length > 0) {
    throw new UsageError(`Unexpected argument ${JSON.stringify(parsed.positional[0])}`);
  }
  const dir = flagString(parsed, "dir");
  if (dir === undefined) throw new UsageError("serve needs --dir");
  const groups = flagStrings(parsed, "group").map((g) => {
    const eq = g.indexOf("=");
    const name = eq < 0 ? g : g.slice(0, eq);
    // deno-lint-ignore no-control-regex
    if (name === "" || /[\x00-\x20\x7f!*,?[\\\]]/.test(name)) {
      throw new UsageError(`Invalid group name: ${name}`);
    }
    return eq < 0 ? { name } : { name, description: g.slice(eq + 1) };
  });
  if (groups.length === 0) throw new UsageError("serve needs at least one --group");
  const port = parsePort(flagString(parsed, "port") ?? "119");
  const hostname = flagString(parsed, "host") ?? "127.0.0.1";
  const certFile = flagString(parsed, "tls-cert");
  const keyFile = flagString(parsed, "tls-key");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  const implicitTls = flagBoolean(parsed, "implicit-tls");
  if (implicitTls && certFile === undefined) {
    throw new UsageError("--implicit-tls needs --tls-cert");
  }
  let cert: string | undefined;
  let key: string | undefined;
  if (certFile !== undefined) {
    try {
      cert = await Deno.readTextFile(certFile);
      key = await Deno.readTextFile(keyFile!);
    } catch {
      throw new UsageError("Cannot read the TLS certificate or key file");
    }
  }
  const user = flagString(parsed, "user");
  const passwordEnv = flagString(parsed, "password-env");
  if ((user === undefined) !== (passwordEnv === undefined)) {
    throw new UsageError("--user and --password-env go together");
  }
  let users: Record<string, string> | undefined;
  if (user !== undefined) {
    const password = Deno.env.get(passwordEnv!);
    if (password === undefined) {
      throw new UsageError(`The environment variable ${passwordEnv} is not set`);
    }
    users = { [user]: password };
  }
  const sizeText = flagString(parsed, "max-article-size");
  if (sizeText !== undefined && !/^[1-9]\d{0,15}$/.test(sizeText)) {
    throw new UsageError(`Invalid --max-article-size: ${sizeText}`);
  }
  const pathHost = flagString(parsed, "path-host");
  let spool: NewsSpool;
  try {
    spool = await NewsSpool.open(dir, { groups, pathHost });
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
  const quiet = flagBoolean(parsed, "quiet");
  let server: NntpServer;
  try {
    server = new NntpServer({
      spool,
      hostname,
      port,
      cert,
      key,
      implicitTls,
      users,
      allowPosting: !flagBoolean(parsed, "read-only"),
      maxArticleSize: sizeText === undefined ? undefined : Number(sizeText),
      signal,
      // Standard output is for data: the log goes to standard error.
      log: quiet ? undefined : (line) => io.err(line + "\n"),
      onError: (error) => io.err(`inetkit news: ${describe(error)}\n`),
    });
  } catch (error) {
    await spool.close();
    throw listenFailure(error, hostname, port);
  }
  const scheme = implicitTls ? "nntps" : "nntp";
  const shownHost = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  const url = `${scheme}://${shownHost}:${server.addr.port}/`;
  io.out(`Serving news from ${dir} at ${url} (groups: ${groups.map((g) => g.name).join(", ")})\n`);
  return { server, spool, url };
}

if (import.meta.main) await runMain(newsCommand);
