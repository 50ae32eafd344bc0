/**
 * `inetkit mail list|read|watch URL`: reading mail over IMAP and POP3 with
 * URLs in curl's style (RFC 5092 for IMAP). `cli/mail.ts` dispatches these
 * actions to {@linkcode runMailRead}.
 *
 * ```sh
 * MAILPASS=trustno1 deno run -A cli/main.ts mail list imap://mulder@127.0.0.1:1143/INBOX --password-env MAILPASS
 * MAILPASS=trustno1 deno run -A cli/main.ts mail read 'imap://mulder@127.0.0.1:1143/INBOX;UID=1' --password-env MAILPASS
 * MAILPASS=trustno1 deno run -A cli/main.ts mail watch imap://mulder@127.0.0.1:1143/INBOX --password-env MAILPASS
 * ```
 *
 * @module
 */
import type { AddressListEntry } from "../mail/address.ts";
import { ImapClient, type ImapConnectOptions } from "../mail/imap_client.ts";
import { ImapByeError, ImapError } from "../mail/imap_error.ts";
import type { ImapFetchData } from "../mail/imap_types.ts";
import { readMessage } from "../mail/message.ts";
import { Pop3Client, type Pop3ConnectOptions } from "../mail/pop3_client.ts";
import { Pop3Error } from "../mail/pop3_error.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { OutputError, writeStdout } from "./_get_output.ts";
import {
  type CommandIo,
  connectFailure as connectMessage,
  flagBoolean,
  flagString,
  missingExtension,
  osMessage,
  parseArgs,
  parsePort,
  readCaCerts,
  UsageError,
} from "./_command.ts";

export { MAIL_READ_HELP } from "./_mail_read_help.ts";

/** The exit codes, after curl's. */
export const MAIL_EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  connect: 7,
  badReply: 8,
  timeout: 28,
  tls: 35,
  useSsl: 64,
  certificate: 60,
  login: 67,
  notFound: 78,
  write: 23,
} as const;

/** A mail URL taken apart. */
export interface MailTarget {
  /** `imap`, `imaps`, `pop3` or `pop3s`. */
  scheme: "imap" | "imaps" | "pop3" | "pop3s";
  /** The host to dial (IPv6 without brackets). */
  hostname: string;
  /** The port. */
  port: number;
  /** The user name, decoded. */
  user: string | undefined;
  /** A password given in the URL, decoded. */
  password: string | undefined;
  /** A SASL mechanism from `;AUTH=` (RFC 5092), or undefined. */
  mechanism: string | undefined;
  /** The IMAP mailbox (default INBOX). */
  mailbox: string;
  /** `;UID=`. */
  uid: number | undefined;
  /** `;UIDVALIDITY=`. */
  uidValidity: number | undefined;
  /** `;MAILINDEX=` (curl): a sequence number. */
  index: number | undefined;
  /** `;SECTION=`. */
  section: string | undefined;
  /** IMAP SEARCH criteria from the query. */
  search: string | undefined;
  /** The POP3 message number. */
  message: number | undefined;
  /** The server, for messages: `imap://mulder@127.0.0.1:1143` (never a password). */
  server: string;
  /** The whole URL without its password, for messages. */
  shown: string;
}

const DEFAULT_PORTS = { imap: 143, imaps: 993, pop3: 110, pop3s: 995 } as const;

/**
 * Parses `imap://USER@HOST:PORT/MAILBOX;UID=N` and `pop3://USER@HOST:PORT/N`.
 *
 * @throws {UsageError} For anything else.
 */
export function parseMailUrl(text: string): MailTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`Invalid URL: ${text}`);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (!(scheme in DEFAULT_PORTS)) {
    throw new UsageError(`Unsupported URL scheme ${scheme}: (use imap, imaps, pop3 or pop3s)`);
  }
  const s = scheme as MailTarget["scheme"];
  let hostname = url.hostname;
  if (hostname === "") throw new UsageError(`The URL has no host: ${text}`);
  if (hostname.startsWith("[")) hostname = hostname.slice(1, -1);
  const port = url.port === "" ? DEFAULT_PORTS[s] : parsePort(url.port, "URL port");
  let user: string | undefined;
  let mechanism: string | undefined;
  if (url.username !== "") {
    // RFC 5092 iuserinfo: user [";AUTH=" mechanism]; the URL parser escapes ";" and "=".
    const userinfo = url.username.replace(/%3B/gi, ";").replace(/%3D/gi, "=");
    const [name, ...params] = userinfo.split(";");
    user = decode(name!, "user name");
    for (const param of params) {
      const [key, value] = param.split("=");
      if (key?.toUpperCase() === "AUTH" && value !== undefined && value !== "*") {
        mechanism = decode(value, "AUTH");
      }
    }
  }
  const password = url.password === "" ? undefined : decode(url.password, "password");
  const base = `${s}://${user === undefined ? "" : `${encodeURIComponent(user)}@`}${url.host}`;
  const target: MailTarget = {
    scheme: s,
    hostname,
    port,
    user,
    password,
    mechanism,
    mailbox: "INBOX",
    uid: undefined,
    uidValidity: undefined,
    index: undefined,
    section: undefined,
    search: undefined,
    message: undefined,
    server: base,
    shown: `${base}${url.pathname}${url.search}`,
  };
  const path = url.pathname.replace(/^\//, "");
  if (s === "pop3" || s === "pop3s") {
    if (path !== "") {
      if (!/^[1-9]\d{0,9}$/.test(path)) {
        throw new UsageError(`Invalid POP3 message number in ${text}: ${path}`);
      }
      target.message = Number(path);
    }
    if (url.search !== "") throw new UsageError(`POP3 URLs take no query: ${text}`);
    return target;
  }
  const [mailbox, ...params] = path.split(";");
  const name = decode(mailbox!.replace(/\/$/, ""), "mailbox");
  if (name !== "") target.mailbox = name;
  for (const param of params) {
    const eq = param.indexOf("=");
    const key = (eq < 0 ? param : param.slice(0, eq)).replace(/^\//, "").toUpperCase();
    const value = decode(eq < 0 ? "" : param.slice(eq + 1).replace(/\/$/, ""), key);
    if (key === "UID" || key === "UIDVALIDITY" || key === "MAILINDEX") {
      if (!/^[1-9]\d{0,9}$/.test(value) || Number(value) > 4294967295) {
        throw new UsageError(`Invalid ${key} in ${text}: ${value}`);
      }
      if (key === "UID") target.uid = Number(value);
      else if (key === "UIDVALIDITY") target.uidValidity = Number(value);
      else target.index = Number(value);
    } else if (key === "SECTION") target.section = value;
    else if (key !== "PARTIAL") throw new UsageError(`Unknown URL parameter ;${key}= in ${text}`);
  }
  if (url.search.length > 1) target.search = decode(url.search.slice(1), "search");
  return target;
}

function decode(text: string, what: string): string {
  let value: string;
  try {
    value = decodeURIComponent(text);
  } catch {
    throw new UsageError(`Invalid percent-encoding in the URL's ${what}`);
  }
  if (/[\r\n\0]/.test(value)) throw new UsageError(`The URL's ${what} holds CR, LF or NUL`);
  return value;
}

interface Settings {
  target: MailTarget;
  password: string;
  caCerts: string[] | undefined;
  requireTls: boolean;
  noTls: boolean;
  now: () => number;
  insecureAuth: boolean;
  timeout: number;
  interval: number;
  count: number | undefined;
  debug: ((line: string) => void) | undefined;
}

/** A failure with the exit code it maps to and a message naming the target. */
class MailCliError extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

/**
 * Runs `mail list`, `mail read` or `mail watch`.
 *
 * @param action The action word.
 * @param args The arguments after it.
 * @param io Where to print.
 * @param signal Ends `watch` (and any action) as Ctrl-C would; SIGINT
 *   does when none is given.
 * @returns The exit code (see {@linkcode MAIL_EXIT}).
 * @throws {UsageError} For a bad command line.
 */
export async function runMailRead(
  action: "list" | "read" | "watch",
  args: string[],
  io: CommandIo,
  signal?: AbortSignal,
): Promise<number> {
  const settings = await parseSettings(args, action, io);
  const interrupt = new AbortController();
  const stop = () => interrupt.abort();
  const listen = signal === undefined && action === "watch";
  if (signal !== undefined) {
    if (signal.aborted) stop();
    signal.addEventListener("abort", stop, { once: true });
  } else if (listen) Deno.addSignalListener("SIGINT", stop);
  try {
    const imap = settings.target.scheme.startsWith("imap");
    if (action === "list") await (imap ? imapList : popList)(settings, io);
    else if (action === "read") await (imap ? imapRead : popRead)(settings, io);
    else await (imap ? imapWatch : popWatch)(settings, io, interrupt.signal);
    return MAIL_EXIT.ok;
  } catch (error) {
    if (error instanceof OutputError) {
      // Quiet when the reader closed the pipe (`mail read URL | head`), as curl is.
      if (error.text !== "") io.err(`inetkit mail: ${error.message}\n`);
      return MAIL_EXIT.write;
    }
    if (error instanceof MailCliError) {
      io.err(`inetkit mail: ${error.message}\n`);
      return error.exitCode;
    }
    io.err(`inetkit mail: ${settings.target.shown}: ${reason(error)}\n`);
    if (timedOut(error)) return MAIL_EXIT.timeout;
    return causes(error).some((e) => e instanceof ProtocolError)
      ? MAIL_EXIT.badReply
      : MAIL_EXIT.failed;
  } finally {
    signal?.removeEventListener("abort", stop);
    if (listen) Deno.removeSignalListener("SIGINT", stop);
  }
}

async function parseSettings(args: string[], action: string, io: CommandIo): Promise<Settings> {
  const parsed = parseArgs(args, {
    booleans: ["starttls", "no-tls", "insecure-auth", "verbose"],
    values: ["password-env", "cacert", "timeout", "interval", "count"],
    aliases: { v: "verbose" },
  });
  if (parsed.positional.length !== 1) {
    throw new UsageError(
      parsed.positional.length === 0
        ? `mail ${action} needs a URL`
        : `Unexpected argument ${JSON.stringify(parsed.positional[1])}`,
    );
  }
  const target = parseMailUrl(parsed.positional[0]!);
  if (target.user === undefined) {
    throw new UsageError(`The URL names no user: ${target.shown} (imap://USER@HOST/...)`);
  }
  const env = flagString(parsed, "password-env");
  let password = target.password;
  if (env !== undefined) {
    password = Deno.env.get(env);
    if (password === undefined) throw new UsageError(`The environment variable ${env} is not set`);
  }
  if (password === undefined) throw new UsageError("A password is needed: --password-env VAR");
  if (action === "read") {
    const pop = target.scheme.startsWith("pop3");
    if (
      pop ? target.message === undefined : target.uid === undefined && target.index === undefined
    ) {
      throw new UsageError(
        pop
          ? "mail read needs a message number: pop3://USER@HOST/N"
          : "mail read needs a message: imap://USER@HOST/MAILBOX;UID=N",
      );
    }
  }
  const number = (name: string, fallback: number | undefined) => {
    const text = flagString(parsed, name);
    if (text === undefined) return fallback;
    if (!/^[1-9]\d{0,9}$/.test(text)) throw new UsageError(`Invalid --${name}: ${text}`);
    return Number(text);
  };
  const starttls = flagBoolean(parsed, "starttls");
  const noTls = flagBoolean(parsed, "no-tls");
  for (const [flag, given] of [["--starttls", starttls], ["--no-tls", noTls]] as const) {
    if (given && target.scheme.endsWith("s")) {
      throw new UsageError(`${flag} is for imap:// and pop3:// (imaps:// and pop3s:// are TLS)`);
    }
  }
  if (starttls && noTls) throw new UsageError("--starttls and --no-tls exclude each other");
  const caCerts = await readCaCerts(flagString(parsed, "cacert"));
  return {
    target,
    password,
    caCerts,
    requireTls: starttls,
    noTls,
    now: io.now ?? (() => performance.now()),
    insecureAuth: flagBoolean(parsed, "insecure-auth"),
    timeout: number("timeout", 60000)!,
    interval: number("interval", 30)!,
    count: number("count", undefined),
    debug: flagBoolean(parsed, "verbose") ? (line) => io.err(`${line}\n`) : undefined,
  };
}

// ---- IMAP ------------------------------------------------------------------

async function imapOpen(s: Settings): Promise<ImapClient> {
  const t = s.target;
  const options: ImapConnectOptions = {
    hostname: t.hostname,
    port: t.port,
    // STARTTLS when offered (verified); only --no-tls stays in clear.
    tls: t.scheme === "imaps" ? { caCerts: s.caCerts } : s.noTls ? false : undefined,
    starttls: !s.noTls,
    caCerts: s.caCerts,
    requireTls: s.requireTls,
    allowInsecureAuth: s.insecureAuth,
    timeout: s.timeout,
    connectTimeout: s.timeout,
    debug: s.debug,
  };
  let client: ImapClient;
  const started = s.now();
  try {
    client = await ImapClient.connect(options);
  } catch (error) {
    throw connectFailure(error, t, s.now() - started);
  }
  try {
    await client.login({ username: t.user!, password: s.password }, { mechanism: t.mechanism });
  } catch (error) {
    client.close();
    throw loginFailure(error, t);
  }
  return client;
}

async function imapMailbox(client: ImapClient, s: Settings): Promise<void> {
  const t = s.target;
  try {
    const mailbox = await client.examine(t.mailbox);
    if (t.uidValidity !== undefined && mailbox.uidValidity !== t.uidValidity) {
      throw new MailCliError(
        MAIL_EXIT.notFound,
        `Cannot open ${t.shown}: UIDVALIDITY is now ${mailbox.uidValidity}, not ${t.uidValidity}`,
      );
    }
  } catch (error) {
    if (error instanceof MailCliError) throw error;
    if (error instanceof ImapError && error.status === "NO") {
      throw new MailCliError(
        MAIL_EXIT.notFound,
        `Cannot open ${t.server}/${t.mailbox}: ${reason(error)}`,
      );
    }
    throw error;
  }
}

const LIST_ITEMS = ["UID", "INTERNALDATE", "ENVELOPE"];

async function imapList(s: Settings, io: CommandIo): Promise<void> {
  await using client = await imapOpen(s);
  await imapMailbox(client, s);
  const t = s.target;
  let set: string | number[] | null = client.mailbox!.exists === 0 ? null : "1:*";
  let uid = false;
  if (t.search !== undefined) {
    set = await client.search(t.search, { uid: true });
    uid = true;
  } else if (t.uid !== undefined) {
    set = [t.uid];
    uid = true;
  } else if (t.index !== undefined) set = [t.index];
  if (set === null || set.length === 0) return;
  const messages = await client.fetch(set, LIST_ITEMS, { uid });
  const width = Math.max(1, ...messages.map((m) => String(m.uid ?? m.seq).length));
  for (const m of messages) await writeStdout(io, imapLine(m, width));
}

function imapLine(m: ImapFetchData, width: number): string {
  const envelope = m.envelope;
  return listLine(
    String(m.uid ?? m.seq).padStart(width),
    envelope?.date ?? m.internalDate ?? null,
    envelope?.from[0],
    envelope?.subject ?? null,
  );
}

async function imapRead(s: Settings, io: CommandIo): Promise<void> {
  await using client = await imapOpen(s);
  await imapMailbox(client, s);
  const t = s.target;
  const uid = t.uid !== undefined;
  const body = await client.fetchBody(uid ? t.uid! : t.index!, {
    uid,
    section: t.section?.toUpperCase() ?? "",
  });
  if (body === null) {
    throw new MailCliError(MAIL_EXIT.notFound, `Cannot read ${t.shown}: there is no such message`);
  }
  for await (const chunk of body.stream) await writeStdout(io, chunk);
}

async function imapWatch(s: Settings, io: CommandIo, signal: AbortSignal): Promise<void> {
  await using client = await imapOpen(s);
  await imapMailbox(client, s);
  let next = client.mailbox!.uidNext ?? 1;
  if (client.mailbox!.uidNext === null && client.mailbox!.exists > 0) {
    const [last] = await client.fetch("*", ["UID"]);
    next = (last?.uid ?? 0) + 1;
  }
  let printed = 0;
  const idle = client.idle({ signal, pollInterval: s.interval * 1000 });
  for await (const event of idle) {
    if (event.kind !== "exists") continue;
    const messages = (await client.fetch(`${next}:*`, LIST_ITEMS, { uid: true }))
      .filter((m) => m.uid! >= next)
      .sort((a, b) => a.uid! - b.uid!);
    for (const m of messages) {
      await writeStdout(io, imapLine(m, 1));
      next = m.uid! + 1;
      if (s.count !== undefined && ++printed >= s.count) break;
    }
    if (s.count !== undefined && printed >= s.count) break;
  }
}

// ---- POP3 ------------------------------------------------------------------

async function popOpen(s: Settings): Promise<Pop3Client> {
  const t = s.target;
  const options: Pop3ConnectOptions = {
    hostname: t.hostname,
    port: t.port,
    // STLS when offered (verified); only --no-tls stays in clear.
    tls: t.scheme === "pop3s" ? { caCerts: s.caCerts } : s.noTls ? false : undefined,
    starttls: !s.noTls,
    caCerts: s.caCerts,
    requireTls: s.requireTls,
    allowInsecureAuth: s.insecureAuth,
    timeout: s.timeout,
    connectTimeout: s.timeout,
    debug: s.debug,
  };
  let client: Pop3Client;
  const started = s.now();
  try {
    client = await Pop3Client.connect(options);
  } catch (error) {
    throw connectFailure(error, t, s.now() - started);
  }
  try {
    await client.login({ username: t.user!, password: s.password }, { mechanism: t.mechanism });
  } catch (error) {
    client.close();
    throw loginFailure(error, t);
  }
  return client;
}

async function popLine(client: Pop3Client, n: number, width: number): Promise<string> {
  const message = await readMessage(await client.top(n, 0));
  await message.cancel();
  const h = message.headers;
  let from: AddressListEntry | string | undefined;
  let subject: string | null;
  let date: Date | null;
  try {
    from = h.from[0];
  } catch {
    from = h.get("From") ?? undefined;
  }
  try {
    subject = h.subject;
    date = h.date;
  } catch {
    subject = h.get("Subject");
    date = null;
  }
  return listLine(String(n).padStart(width), date, from, subject);
}

async function popList(s: Settings, io: CommandIo): Promise<void> {
  await using client = await popOpen(s);
  const t = s.target;
  const numbers = t.message !== undefined
    ? [(await popNotFound(client.list(t.message), t)).number]
    : (await client.list()).map((m) => m.number);
  const width = Math.max(1, ...numbers.map((n) => String(n).length));
  for (const n of numbers) await writeStdout(io, await popLine(client, n, width));
}

async function popRead(s: Settings, io: CommandIo): Promise<void> {
  await using client = await popOpen(s);
  const body = await popNotFound(client.retr(s.target.message!), s.target);
  for await (const chunk of body) await writeStdout(io, chunk);
}

async function popNotFound<T>(work: Promise<T>, t: MailTarget): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof Pop3Error) {
      throw new MailCliError(MAIL_EXIT.notFound, `Cannot read ${t.shown}: ${reason(error)}`);
    }
    throw error;
  }
}

async function popWatch(s: Settings, io: CommandIo, signal: AbortSignal): Promise<void> {
  // A POP3 session sees the maildrop as it was at login: poll with new sessions.
  let known: Set<string> | null = null;
  let printed = 0;
  while (!signal.aborted) {
    const client = await popOpen(s);
    try {
      const uids = await client.uidl();
      if (known !== null) {
        for (const { number, uid } of uids) {
          if (known.has(uid)) continue;
          await writeStdout(io, await popLine(client, number, 1));
          if (s.count !== undefined && ++printed >= s.count) return;
        }
      }
      known = new Set(uids.map((u) => u.uid));
      await client.quit();
    } finally {
      client.close();
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, s.interval * 1000);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}

// ---- output and errors -----------------------------------------------------

function listLine(
  id: string,
  date: Date | null,
  from: AddressListEntry | string | undefined,
  subject: string | null,
): string {
  const when = date === null || Number.isNaN(date.getTime())
    ? "-".padEnd(16)
    : date.toISOString().slice(0, 16).replace("T", " ");
  let who = "-";
  if (typeof from === "string") who = from;
  else if (from !== undefined) {
    if ("group" in from) who = from.group;
    else who = from.name ? `${from.name} <${from.address}>` : from.address;
  }
  return `${id}  ${when}  ${printable(who)}  ${printable(subject ?? "(no subject)")}\n`;
}

/** Control characters from the server never reach the terminal. */
function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
}

function connectFailure(error: unknown, t: MailTarget, elapsed: number): MailCliError {
  const r = reason(error);
  const missing = missingExtension(error);
  if (missing === "STARTTLS" || missing === "STLS") {
    return new MailCliError(MAIL_EXIT.useSsl, `Cannot start TLS with ${t.server}: ${r}`);
  }
  for (const e of causes(error)) {
    if (e instanceof ProtocolError && e.code === "STARTTLS_INJECTION") {
      return new MailCliError(MAIL_EXIT.tls, `Cannot start TLS with ${t.server}: ${r}`);
    }
    if (
      e instanceof ImapError && e.command === "STARTTLS" ||
      e instanceof Pop3Error && e.command === "STLS"
    ) {
      // Refused while --starttls requires it.
      return new MailCliError(MAIL_EXIT.useSsl, `Cannot start TLS with ${t.server}: ${r}`);
    }
    if (e instanceof ImapByeError) {
      return new MailCliError(MAIL_EXIT.connect, `Cannot connect to ${t.server}: ${r}`);
    }
    if (e instanceof Deno.errors.InvalidData || /certificate|handshake|tls/i.test(message(e))) {
      const cert = /certificate|UnknownIssuer|NotValidForName|Expired/i.test(message(e));
      return new MailCliError(
        cert ? MAIL_EXIT.certificate : MAIL_EXIT.tls,
        `Cannot start TLS with ${t.server}: ${r}`,
      );
    }
    if (timedOut(e)) {
      return new MailCliError(
        MAIL_EXIT.timeout,
        `Cannot connect to ${t.server}: timed out after ${Math.round(elapsed)} ms`,
      );
    }
    if (e instanceof ProtocolError) {
      return new MailCliError(MAIL_EXIT.badReply, `Cannot connect to ${t.server}: ${r}`);
    }
  }
  const refused = connectMessage(error, t.hostname, t.port, elapsed);
  return new MailCliError(
    MAIL_EXIT.connect,
    `Cannot connect to ${t.server}: ${refused ?? r}`,
  );
}

function loginFailure(error: unknown, t: MailTarget): MailCliError {
  // The library names its option; on the command line it is a flag.
  const r = reason(error).replace(/\ballowInsecureAuth\b/g, "--insecure-auth");
  if (timedOut(error)) {
    return new MailCliError(MAIL_EXIT.timeout, `Cannot log in to ${t.server}: timed out`);
  }
  if (error instanceof ProtocolError && missingExtension(error) === null) {
    return new MailCliError(MAIL_EXIT.badReply, `Cannot log in to ${t.server}: ${r}`);
  }
  return new MailCliError(MAIL_EXIT.login, `Cannot log in to ${t.server}: ${r}`);
}

/** The server's own words for a refusal; the message for anything else. */
function reason(error: unknown): string {
  if (error instanceof ImapError) {
    const code = error.responseCode === null ? "" : `[${error.responseCode.name}] `;
    return `server replied ${error.status} ${code}${error.text}`.trimEnd();
  }
  if (error instanceof Pop3Error) {
    const code = error.responseCode === null ? "" : `[${error.responseCode}] `;
    return `server replied -ERR ${code}${error.text}`.trimEnd();
  }
  if (timedOut(error)) return "timed out";
  return message(error);
}

function message(error: unknown): string {
  return osMessage(error);
}

function timedOut(error: unknown): boolean {
  return causes(error).some((e) =>
    e instanceof DOMException && e.name === "TimeoutError" || e instanceof Deno.errors.TimedOut
  );
}

function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e !== undefined && out.length < 8; e = (e as { cause?: unknown }).cause) {
    out.push(e);
  }
  return out;
}
