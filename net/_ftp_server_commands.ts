/**
 * The FTP server's command table (RFC 959, RFC 2389 FEAT/OPTS, RFC 2428
 * EPRT/EPSV, RFC 3659 SIZE/MDTM/REST/MLST/MLSD, RFC 4217 AUTH/PBSZ/PROT,
 * RFC 2640 UTF-8): one handler per verb, with the flags the session checks
 * before running it (login needed, argument needed, changes files).
 *
 * @module
 */
import { ProtocolError } from "./protocol_error.ts";
import {
  formatFtpEpsvReply,
  formatFtpPasvReply,
  type FtpHostPort,
  parseFtpEprtArgument,
  parseFtpPortArgument,
} from "./_ftp_address.ts";
import { formatFtpListLine, formatMlsxLine, type FtpFileInfoInit } from "./_ftp_format.ts";
import { resolveFtpPath } from "./_ftp_path.ts";
import { formatFtpFeatReply, formatFtpPathReply } from "./_ftp_reply_text.ts";
import { formatFtpTime } from "./_ftp_time.ts";
import { FTP_SERVER_FACTS, type FtpSessionContext } from "./_ftp_server_context.ts";
import { plainHost, sameHost } from "./_ftp_server_data.ts";
import { escapeFtpLog } from "./_ftp_server_log.ts";
import {
  FtpUploadTooLargeError,
  receiveFile,
  sendFile,
  sendLines,
} from "./_ftp_server_transfer.ts";
import type { FtpFileStat } from "./_ftp_server_types.ts";

/** One verb of the command table. */
export interface FtpServerCommand {
  /** Runs the command; the session has checked the flags below. */
  run(session: FtpSessionContext, arg: string, verb: string): Promise<void>;
  /** Allowed before login. */
  beforeLogin?: boolean;
  /** Refused with `501` without an argument. */
  needsArgument?: boolean;
  /** Changes files: refused with `550` for users without write permission. */
  changes?: boolean;
}

const ANONYMOUS_NAMES = new Set(["anonymous", "ftp"]);
const encoder = new TextEncoder();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Compares two strings in time that depends only on their lengths. */
function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** The virtual path of an argument, or `null` when it is refused. */
function resolve(s: FtpSessionContext, arg: string): string | null {
  return resolveFtpPath(s.cwd, arg);
}

/** The base name of a virtual path (`/` for the root). */
function baseName(path: string): string {
  return path === "/" ? "/" : path.slice(path.lastIndexOf("/") + 1);
}

/** `LIST -la path` → `path`: leading option words removed (ls style). */
function stripListOptions(arg: string): string {
  let rest = arg.trimStart();
  while (rest.startsWith("-")) {
    const space = rest.indexOf(" ");
    rest = space < 0 ? "" : rest.slice(space + 1).trimStart();
  }
  return rest;
}

/** Shows text from the client in a reply: control characters escaped. */
function shown(text: string): string {
  return escapeFtpLog(text);
}

// --- login ------------------------------------------------------------------

async function user(s: FtpSessionContext, arg: string): Promise<void> {
  if (s.user !== null) {
    await s.reply(530, "Already logged in: cannot change to another user");
    return;
  }
  const name = arg.trim();
  s.pendingUser = null;
  if (s.settings.requireTls && !s.tls) {
    await s.reply(530, "Log in only over TLS: send AUTH TLS first");
    return;
  }
  if (ANONYMOUS_NAMES.has(name.toLowerCase())) {
    if (!s.settings.anonymous) {
      await s.reply(530, "Anonymous login is not allowed");
      return;
    }
    s.pendingUser = name;
    await s.reply(331, "Anonymous login ok: send your e-mail address as the password");
    return;
  }
  s.pendingUser = name;
  await s.reply(331, "Password required");
}

async function pass(s: FtpSessionContext, arg: string): Promise<void> {
  if (s.user !== null) {
    await s.reply(503, "Already logged in");
    return;
  }
  const name = s.pendingUser;
  s.pendingUser = null;
  if (name === null) {
    await s.reply(503, "Send USER first");
    return;
  }
  const settings = s.settings;
  let ok = false;
  let write = settings.write;
  if (ANONYMOUS_NAMES.has(name.toLowerCase()) && settings.anonymous) {
    ok = true;
  } else {
    const known = settings.users.get(name);
    if (known !== undefined) {
      ok = constantTimeEqual(known.password, arg);
      write = known.write ?? settings.write;
    } else if (settings.verify !== null) {
      try {
        ok = (await settings.verify(name, arg, { remoteAddr: s.remoteAddr, tls: s.tls })) === true;
      } catch {
        ok = false;
      }
    }
  }
  if (!ok) {
    s.failures++;
    if (settings.failureDelay > 0) await sleep(settings.failureDelay);
    s.log(`USER ${name}`, 530);
    if (s.failures >= settings.maxLoginFailures) {
      await s.reply(530, "Login incorrect: too many failures, closing the connection");
      s.end();
      return;
    }
    await s.reply(530, "Login incorrect");
    return;
  }
  s.user = name;
  s.writable = write;
  s.cwd = "/";
  s.log(`USER ${name}`, 230);
  await s.reply(230, "Login successful");
}

// --- session and information --------------------------------------------------

async function quit(s: FtpSessionContext): Promise<void> {
  await s.reply(221, "Goodbye");
  s.end();
}

async function feat(s: FtpSessionContext): Promise<void> {
  const features: [string, string][] = [];
  if (s.settings.tls !== null) features.push(["AUTH", "TLS"], ["PBSZ", ""], ["PROT", ""]);
  const facts = FTP_SERVER_FACTS.map((f) => `${f}${s.facts.has(f) ? "*" : ""};`).join("");
  features.push(
    ["EPRT", ""],
    ["EPSV", ""],
    ["MDTM", ""],
    ["MLST", facts],
    ["PASV", ""],
    ["REST", "STREAM"],
    ["SIZE", ""],
    ["TVFS", ""],
    ["UTF8", ""],
  );
  await s.writeRaw(formatFtpFeatReply(features));
}

async function opts(s: FtpSessionContext, arg: string): Promise<void> {
  const text = arg.trim();
  const space = text.search(/\s/);
  const name = (space < 0 ? text : text.slice(0, space)).toUpperCase();
  const value = space < 0 ? "" : text.slice(space + 1).trim();
  if (name === "UTF8" || name === "UTF-8") {
    if (value.toUpperCase() === "OFF") await s.reply(504, "UTF-8 cannot be turned off");
    else await s.reply(200, "Always in UTF-8 mode");
    return;
  }
  if (name === "MLST") {
    const wanted = new Set(value.toLowerCase().split(";").map((f) => f.trim()));
    s.facts = new Set(FTP_SERVER_FACTS.filter((f) => wanted.has(f)));
    const list = [...s.facts].map((f) => `${f};`).join("");
    await s.reply(200, list === "" ? "MLST OPTS" : `MLST OPTS ${list}`);
    return;
  }
  await s.reply(501, "Option not understood");
}

async function help(s: FtpSessionContext): Promise<void> {
  const verbs = [...FTP_SERVER_COMMANDS.keys()].sort();
  const rows: string[] = [];
  for (let i = 0; i < verbs.length; i += 8) {
    rows.push(` ${verbs.slice(i, i + 8).map((v) => v.padEnd(5)).join(" ").trimEnd()}`);
  }
  await s.writeRaw(
    `214-The following commands are recognized:\r\n${rows.join("\r\n")}\r\n214 Help OK\r\n`,
  );
}

async function stat(s: FtpSessionContext, arg: string): Promise<void> {
  if (arg.trim() === "") {
    const lines = [
      "211-inetkit FTP server status:",
      ` Connected from ${s.remoteAddr.hostname}`,
      ` Logged in as ${shown(s.user ?? "")}`,
      ` TYPE: ${s.type === "A" ? "ASCII" : "BINARY"}, MODE: Stream, STRU: File`,
      ` Control connection is ${s.tls ? "TLS" : "plain text"}`,
      ` Data connections are ${s.prot === "P" ? "TLS" : "plain text"}`,
      ` ${s.transferStatus() ?? "No transfer in progress"}`,
      "211 End of status",
    ];
    await s.writeRaw(lines.map((l) => `${l}\r\n`).join(""));
    return;
  }
  const raw = stripListOptions(arg);
  const path = resolve(s, raw);
  if (path === null) {
    await s.reply(550, "Path refused");
    return;
  }
  const entry = await s.settings.fileSystem.stat(path);
  if (entry === null) {
    await s.reply(550, "No such file or directory");
    return;
  }
  let text = "213-Status follows:\r\n";
  for await (const line of listLines(s, path, entry, raw, "LIST")) text += `${line}\r\n`;
  await s.writeRaw(`${text}213 End of status\r\n`);
}

async function pwd(s: FtpSessionContext): Promise<void> {
  await s.reply(257, formatFtpPathReply(s.cwd, "is the current directory"));
}

async function cwd(s: FtpSessionContext, arg: string): Promise<void> {
  const path = resolve(s, arg);
  if (path === null) {
    await s.reply(550, "Cannot change directory: path refused");
    return;
  }
  const entry = await s.settings.fileSystem.stat(path);
  if (entry === null || entry.type !== "directory") {
    await s.reply(550, entry === null ? "No such directory" : "Not a directory");
    return;
  }
  s.cwd = path;
  await s.reply(250, `Directory changed to ${path}`);
}

async function type(s: FtpSessionContext, arg: string): Promise<void> {
  const words = arg.trim().toUpperCase().split(/\s+/);
  const [kind, form] = words;
  if (words.length <= 2 && (kind === "I" && form === undefined || kind === "L" && form === "8")) {
    s.type = "I";
    await s.reply(200, "Type set to I (binary)");
  } else if (words.length <= 2 && kind === "A" && (form === undefined || form === "N")) {
    s.type = "A";
    await s.reply(200, "Type set to A (ASCII)");
  } else if (words.length <= 2 && ["A", "E", "L"].includes(kind ?? "")) {
    await s.reply(504, "Type not supported: use A or I");
  } else {
    await s.reply(501, "Syntax error in TYPE argument");
  }
}

function onlyOne(name: string, supported: string, known: string) {
  return async (s: FtpSessionContext, arg: string): Promise<void> => {
    const value = arg.trim().toUpperCase();
    if (value === supported) await s.reply(200, `${name} set to ${supported}`);
    else if (value.length === 1 && known.includes(value)) {
      await s.reply(504, `${name} ${value} is not supported: use ${supported}`);
    } else await s.reply(501, `Syntax error in ${name} argument`);
  };
}

// --- data connections ---------------------------------------------------------

async function pasv(s: FtpSessionContext): Promise<void> {
  if (s.epsvAll) {
    await s.reply(503, "Only EPSV is allowed after EPSV ALL");
    return;
  }
  const local = plainHost(s.localAddr.hostname);
  if (local.includes(":")) {
    await s.reply(425, "Cannot use PASV over IPv6: use EPSV");
    return;
  }
  const port = listen(s);
  if (port === null) {
    await s.reply(425, "Cannot open a passive data connection");
    return;
  }
  await s.reply(227, formatFtpPasvReply({ hostname: local, port }));
}

function listen(s: FtpSessionContext): number | null {
  try {
    return s.data.listen();
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) s.settings.onError(error);
    return null;
  }
}

async function epsv(s: FtpSessionContext, arg: string): Promise<void> {
  const value = arg.trim().toUpperCase();
  if (value === "ALL") {
    s.epsvAll = true;
    await s.reply(200, "EPSV ALL ok");
    return;
  }
  const family = plainHost(s.localAddr.hostname).includes(":") ? "2" : "1";
  if (value !== "" && value !== family) {
    await s.reply(522, `Network protocol not supported, use (${family})`);
    return;
  }
  const port = listen(s);
  if (port === null) {
    await s.reply(425, "Cannot open a passive data connection");
    return;
  }
  await s.reply(229, formatFtpEpsvReply(port));
}

/** Why an active data address is refused (RFC 2577 §3), or `null`. */
function bounceRefusal(s: FtpSessionContext, target: FtpHostPort): string | null {
  if (!sameHost(target.hostname, s.remoteAddr.hostname)) {
    return "Refused: data connections go only to the address of the control connection";
  }
  if (target.port < 1024) return "Refused: data connections to ports below 1024 are not allowed";
  return null;
}

async function active(s: FtpSessionContext, arg: string, verb: string): Promise<void> {
  if (s.epsvAll) {
    await s.reply(503, "Only EPSV is allowed after EPSV ALL");
    return;
  }
  let target: FtpHostPort;
  try {
    target = verb === "PORT" ? parseFtpPortArgument(arg) : parseFtpEprtArgument(arg);
  } catch (error) {
    if (error instanceof ProtocolError && error.code === "UNSUPPORTED_EPRT_FAMILY") {
      await s.reply(522, "Network protocol not supported, use (1,2)");
    } else {
      await s.reply(501, `Syntax error in ${verb} argument`);
    }
    return;
  }
  const refusal = bounceRefusal(s, target);
  if (refusal !== null) {
    s.data.discard();
    await s.reply(504, refusal);
    return;
  }
  s.data.connectTo(target);
  await s.reply(200, `${verb} command successful`);
}

/** The reply that stops a transfer command before it starts, or `null`. */
function dataRefusal(s: FtpSessionContext): [number, string] | null {
  if (s.data.pending === null) return [425, "Use PORT, EPRT, PASV or EPSV first"];
  if (s.settings.requireTls && s.prot !== "P") {
    return [521, "Data connections must be protected: send PROT P"];
  }
  return null;
}

/** Answers a refusal and drops the data connection set up for it. */
async function refuse(s: FtpSessionContext, code: number, text: string): Promise<void> {
  s.data.discard();
  await s.reply(code, text);
}

// --- files ---------------------------------------------------------------------

async function retr(s: FtpSessionContext, arg: string): Promise<void> {
  const offset = s.restart;
  s.restart = 0;
  const refusal = dataRefusal(s);
  if (refusal !== null) return await refuse(s, ...refusal);
  const path = resolve(s, arg);
  if (path === null) return await refuse(s, 550, "Path refused");
  const fs = s.settings.fileSystem;
  const entry = await fs.stat(path);
  if (entry === null) return await refuse(s, 550, "No such file");
  if (entry.type !== "file") return await refuse(s, 550, "Not a regular file");
  if (offset > entry.size) {
    return await refuse(
      s,
      554,
      `Restart position ${offset} is beyond the end of the file (${entry.size} bytes)`,
    );
  }
  const file = await fs.openRead(path, offset);
  let open = true;
  const close = () => {
    if (open) file.close();
    open = false;
    return Promise.resolve();
  };
  const ascii = s.type === "A";
  s.startTransfer({
    command: offset > 0 ? `RETR ${path} from ${offset}` : `RETR ${path}`,
    opening: `Opening ${ascii ? "ASCII" : "BINARY"} mode data connection for ${path} (${
      entry.size - offset
    } bytes)`,
    pump: (channel, control) => sendFile(file, channel, control, s.settings.bufferSize, ascii),
    complete: close,
    failed: close,
  });
}

async function store(s: FtpSessionContext, arg: string, verb: string): Promise<void> {
  const offset = verb === "STOR" ? s.restart : 0;
  s.restart = 0;
  const refusal = dataRefusal(s);
  if (refusal !== null) return await refuse(s, ...refusal);
  const path = resolve(s, arg);
  if (path === null || path === "/") return await refuse(s, 553, "File name not allowed");
  const fs = s.settings.fileSystem;
  const entry = await fs.stat(path);
  if (entry?.type === "directory") return await refuse(s, 550, "Is a directory");
  if (offset > (entry?.size ?? 0)) {
    return await refuse(
      s,
      554,
      `Restart position ${offset} is beyond the end of the file (${entry?.size ?? 0} bytes)`,
    );
  }
  const mode = verb === "APPE" ? "append" : offset > 0 ? "offset" : "replace";
  const file = await fs.openWrite(path, { mode, offset });
  const max = s.settings.maxUploadSize;
  const ascii = s.type === "A";
  s.startTransfer({
    command: offset > 0 ? `${verb} ${path} from ${offset}` : `${verb} ${path}`,
    opening: `Ok to send data for ${path}`,
    pump: (channel, control) =>
      receiveFile(channel, file, control, s.settings.bufferSize, ascii, max),
    complete: () => file.commit(),
    failed: () => file.abort(),
    errorReply: (error) =>
      error instanceof FtpUploadTooLargeError
        ? [552, `Upload exceeds ${error.limit} bytes: transfer aborted`]
        : null,
  });
}

/** The `perm` fact of an entry for this session (RFC 3659 §7.5.5). */
function permFact(s: FtpSessionContext, entry: FtpFileStat): string {
  if (entry.type === "directory") return s.writable ? "cdeflmp" : "el";
  return s.writable ? "adfrw" : "r";
}

/** An MLSx line for an entry, with the facts the session selected. */
function mlsxLine(s: FtpSessionContext, entry: FtpFileStat, name: string): string {
  const facts = s.facts;
  const info: FtpFileInfoInit = {
    name,
    type: facts.has("type") ? entry.type : "unknown",
  };
  if (facts.has("size") && entry.type === "file") {
    info.type = entry.type;
    info.size = entry.size;
  }
  if (facts.has("modify")) info.modified = entry.modified;
  if (facts.has("perm")) info.permissions = { perm: permFact(s, entry) };
  if (facts.has("unique") && entry.unique !== undefined) info.facts = { unique: entry.unique };
  return formatMlsxLine(info);
}

/** The lines of a listing of `path` (a directory's entries, or the one file). */
async function* listLines(
  s: FtpSessionContext,
  path: string,
  entry: FtpFileStat,
  raw: string,
  verb: string,
  entries?: AsyncIterator<FtpFileStat>,
  first?: IteratorResult<FtpFileStat>,
): AsyncGenerator<string> {
  const shownArg = raw.trim();
  const line = (e: FtpFileStat, name: string): string => {
    if (verb === "MLSD") return mlsxLine(s, e, name);
    if (verb === "NLST") return name;
    return formatFtpListLine({
      name,
      type: e.type,
      size: e.size,
      modified: e.modified,
      permissions: { mode: e.mode ?? (e.type === "directory" ? 0o755 : 0o644) },
    });
  };
  if (entry.type !== "directory") {
    yield line(entry, verb === "MLSD" ? baseName(path) : shownArg === "" ? entry.name : shownArg);
    return;
  }
  const prefix = verb === "NLST" && shownArg !== "" ? `${shownArg.replace(/\/+$/, "")}/` : "";
  const iterator = entries ?? s.settings.fileSystem.list(path)[Symbol.asyncIterator]();
  let next = first ?? await iterator.next();
  while (!next.done) {
    yield line(next.value, prefix + next.value.name);
    next = await iterator.next();
  }
}

async function list(s: FtpSessionContext, arg: string, verb: string): Promise<void> {
  const refusal = dataRefusal(s);
  if (refusal !== null) return await refuse(s, ...refusal);
  const raw = verb === "MLSD" ? arg : stripListOptions(arg);
  const path = resolve(s, raw);
  if (path === null) return await refuse(s, 550, "Path refused");
  const fs = s.settings.fileSystem;
  const entry = await fs.stat(path);
  if (entry === null) return await refuse(s, 550, "No such file or directory");
  if (verb === "MLSD" && entry.type !== "directory") {
    return await refuse(s, 501, "Not a directory: use MLST for a file");
  }
  // The first entry is read before 150, so that an unreadable directory is
  // answered 550 (or 451) rather than with an empty listing.
  let entries: AsyncIterator<FtpFileStat> | undefined;
  let first: IteratorResult<FtpFileStat> | undefined;
  if (entry.type === "directory") {
    entries = fs.list(path)[Symbol.asyncIterator]();
    first = await entries.next();
  }
  s.startTransfer({
    command: `${verb} ${path}`,
    opening: "Here comes the directory listing",
    pump: (channel, control) =>
      sendLines(listLines(s, path, entry, raw, verb, entries, first), channel, control),
    failed: async () => void (await entries?.return?.()),
  });
}

async function mlst(s: FtpSessionContext, arg: string): Promise<void> {
  const path = resolve(s, arg);
  if (path === null) {
    await s.reply(550, "Path refused");
    return;
  }
  const entry = await s.settings.fileSystem.stat(path);
  if (entry === null) {
    await s.reply(550, "No such file or directory");
    return;
  }
  await s.writeRaw(`250-Listing ${path}\r\n ${mlsxLine(s, entry, path)}\r\n250 End\r\n`);
}

async function size(s: FtpSessionContext, arg: string): Promise<void> {
  const path = resolve(s, arg);
  const entry = path === null ? null : await s.settings.fileSystem.stat(path);
  if (entry === null) await s.reply(550, "No such file");
  else if (entry.type !== "file") await s.reply(550, "Not a regular file");
  else await s.reply(213, String(entry.size));
}

async function mdtm(s: FtpSessionContext, arg: string): Promise<void> {
  const path = resolve(s, arg);
  const entry = path === null ? null : await s.settings.fileSystem.stat(path);
  if (entry === null) await s.reply(550, "No such file");
  else await s.reply(213, formatFtpTime(entry.modified));
}

async function rest(s: FtpSessionContext, arg: string): Promise<void> {
  const text = arg.trim();
  if (!/^\d{1,15}$/.test(text)) {
    await s.reply(501, "Syntax error: REST needs a byte offset");
    return;
  }
  s.restart = Number(text);
  await s.reply(350, `Restarting at ${s.restart}: send RETR or STOR`);
}

function change(
  what: string,
  act: (s: FtpSessionContext, path: string) => Promise<void>,
  done: (path: string) => [number, string],
) {
  return async (s: FtpSessionContext, arg: string): Promise<void> => {
    const path = resolve(s, arg);
    if (path === null || path === "/") {
      await s.reply(what === "MKD" ? 553 : 550, "Path refused");
      return;
    }
    try {
      await act(s, path);
    } catch (error) {
      s.log(`${what} ${path}`, 550);
      throw error;
    }
    const [code, text] = done(path);
    s.log(`${what} ${path}`, code);
    await s.reply(code, text);
  };
}

async function rnfr(s: FtpSessionContext, arg: string): Promise<void> {
  const path = resolve(s, arg);
  const entry = path === null || path === "/" ? null : await s.settings.fileSystem.stat(path);
  if (path === null || entry === null) {
    await s.reply(550, path === null ? "Path refused" : "No such file or directory");
    return;
  }
  s.renameFrom = path;
  await s.reply(350, "Ready for RNTO");
}

async function rnto(s: FtpSessionContext, arg: string): Promise<void> {
  const from = s.renameFrom;
  s.renameFrom = null;
  if (from === null) {
    await s.reply(503, "Send RNFR first");
    return;
  }
  const to = resolve(s, arg);
  if (to === null || to === "/") {
    await s.reply(553, "File name not allowed");
    return;
  }
  try {
    await s.settings.fileSystem.rename(from, to);
  } catch (error) {
    s.log(`RNTO ${from} -> ${to}`, 550);
    throw error;
  }
  s.log(`RNTO ${from} -> ${to}`, 250);
  await s.reply(250, "Rename successful");
}

// --- TLS -----------------------------------------------------------------------

async function auth(s: FtpSessionContext, arg: string): Promise<void> {
  const mechanism = arg.trim().toUpperCase();
  if (s.settings.tls === null) {
    await s.reply(502, "AUTH is not available: no certificate is configured");
  } else if (s.tls) {
    await s.reply(503, "Already using TLS");
  } else if (!["TLS", "TLS-C", "SSL", "TLS-P"].includes(mechanism)) {
    await s.reply(504, "Security mechanism not understood: use AUTH TLS");
  } else if (s.user !== null) {
    await s.reply(503, "AUTH TLS must come before login");
  } else {
    await s.startTls();
    s.pbsz = false;
    s.prot = "C";
    s.pendingUser = null;
  }
}

async function pbsz(s: FtpSessionContext, arg: string): Promise<void> {
  if (!s.tls) {
    await s.reply(503, "PBSZ needs TLS: send AUTH TLS first");
  } else if (!/^\d{1,10}$/.test(arg.trim())) {
    await s.reply(501, "Syntax error in PBSZ argument");
  } else {
    s.pbsz = true;
    await s.reply(200, "PBSZ=0");
  }
}

async function prot(s: FtpSessionContext, arg: string): Promise<void> {
  const level = arg.trim().toUpperCase();
  if (!s.tls) {
    await s.reply(503, "PROT needs TLS: send AUTH TLS first");
  } else if (!s.pbsz) {
    await s.reply(503, "Send PBSZ first");
  } else if (level === "P") {
    s.prot = "P";
    await s.reply(200, "Protection level set to P");
  } else if (level === "C") {
    if (s.settings.requireTls) {
      await s.reply(534, "Clear data connections are not allowed");
      return;
    }
    s.prot = "C";
    await s.reply(200, "Protection level set to C");
  } else if (level === "S" || level === "E") {
    await s.reply(536, `PROT ${level} is not supported: use P or C`);
  } else {
    await s.reply(504, "Protection level not understood");
  }
}

// --- the table -------------------------------------------------------------------

const fsOf = (s: FtpSessionContext) => s.settings.fileSystem;

const table: [string, FtpServerCommand][] = [
  ["USER", { run: user, beforeLogin: true, needsArgument: true }],
  ["PASS", { run: pass, beforeLogin: true }],
  ["QUIT", { run: quit, beforeLogin: true }],
  ["SYST", { run: (s) => s.reply(215, "UNIX Type: L8"), beforeLogin: true }],
  ["FEAT", { run: feat, beforeLogin: true }],
  ["OPTS", { run: opts, beforeLogin: true, needsArgument: true }],
  ["HELP", { run: help, beforeLogin: true }],
  ["NOOP", { run: (s) => s.reply(200, "NOOP ok"), beforeLogin: true }],
  ["AUTH", { run: auth, beforeLogin: true, needsArgument: true }],
  ["PBSZ", { run: pbsz, beforeLogin: true, needsArgument: true }],
  ["PROT", { run: prot, beforeLogin: true, needsArgument: true }],
  ["STAT", { run: stat }],
  ["PWD", { run: pwd }],
  ["XPWD", { run: pwd }],
  ["CWD", { run: cwd, needsArgument: true }],
  ["XCWD", { run: cwd, needsArgument: true }],
  ["CDUP", { run: (s) => cwd(s, "..") }],
  ["XCUP", { run: (s) => cwd(s, "..") }],
  ["TYPE", { run: type, needsArgument: true }],
  ["MODE", { run: onlyOne("MODE", "S", "SBC"), needsArgument: true }],
  ["STRU", { run: onlyOne("STRU", "F", "FRP"), needsArgument: true }],
  ["ALLO", { run: (s) => s.reply(202, "ALLO is not needed") }],
  ["PASV", { run: pasv }],
  ["EPSV", { run: epsv }],
  ["PORT", { run: active, needsArgument: true }],
  ["EPRT", { run: active, needsArgument: true }],
  ["LIST", { run: list }],
  ["NLST", { run: list }],
  ["MLSD", { run: list }],
  ["MLST", { run: mlst }],
  ["RETR", { run: retr, needsArgument: true }],
  ["STOR", { run: store, needsArgument: true, changes: true }],
  ["APPE", { run: store, needsArgument: true, changes: true }],
  ["REST", { run: rest, needsArgument: true }],
  ["SIZE", { run: size, needsArgument: true }],
  ["MDTM", { run: mdtm, needsArgument: true }],
  [
    "DELE",
    {
      run: change("DELE", (s, p) => fsOf(s).remove(p), () => [250, "File deleted"]),
      needsArgument: true,
      changes: true,
    },
  ],
  [
    "MKD",
    {
      run: change(
        "MKD",
        (s, p) => fsOf(s).mkdir(p),
        (p) => [257, formatFtpPathReply(p, "created")],
      ),
      needsArgument: true,
      changes: true,
    },
  ],
  [
    "RMD",
    {
      run: change("RMD", (s, p) => fsOf(s).rmdir(p), () => [250, "Directory removed"]),
      needsArgument: true,
      changes: true,
    },
  ],
  ["RNFR", { run: rnfr, needsArgument: true, changes: true }],
  ["RNTO", { run: rnto, needsArgument: true, changes: true }],
  [
    "ABOR",
    {
      run: async (s) => {
        s.data.discard();
        await s.reply(225, "No transfer to abort");
      },
    },
  ],
];
for (const alias of [["XMKD", "MKD"], ["XRMD", "RMD"]] as const) {
  table.push([alias[0], table.find(([verb]) => verb === alias[1])![1]]);
}

/** The command table: verb (upper case) → handler. */
export const FTP_SERVER_COMMANDS: ReadonlyMap<string, FtpServerCommand> = new Map(table);
