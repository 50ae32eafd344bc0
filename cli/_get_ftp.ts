/**
 * The ftp: and ftps: side of `inetkit get`, as curl does it: download to
 * standard output or `-o FILE` (with the progress bar), `-C -` to resume a
 * download or an upload, `-T FILE` to upload, a directory URL (or `-l`)
 * prints the listing, `--ssl-reqd` (or `--starttls`) requires TLS, AUTH TLS
 * is used whenever offered (verified), `--no-tls` stays in clear, a password
 * goes in clear only to loopback or with `--insecure-auth`, `ftps:` is
 * implicit TLS, `-P` uses active mode, and curl's exit codes for FTP failures.
 *
 * @module
 */
import { writeAll } from "../net/_io.ts";
import { FtpClient } from "../net/ftp_client.ts";
import { FtpReplyError } from "../net/ftp_reply_error.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { buildOpener } from "../url/build_opener.ts";
import { FtpUrlHandler } from "../url/ftp_handler.ts";
import { parseFtpUrl } from "../url/_ftp_url.ts";
import { ProxyHandler } from "../url/proxy_handler.ts";
import { URLError } from "../url/url_error.ts";
import {
  CommandError,
  type CommandIo,
  connectFailure,
  flagBoolean,
  flagString,
  missingExtension,
  type ParsedArgs,
  readCaCerts,
  UsageError,
} from "./_command.ts";
import { GET_FTP_EXIT } from "./_get_exit.ts";
import {
  bodyToStdout,
  fileWriteError,
  OutputError,
  WRITE_EXIT,
  writeStdout,
} from "./_get_output.ts";
import { type ProgressBar, progressBarFor } from "./_progress.ts";

/** What `get` lends its FTP part. */
export interface FtpGetTools {
  /** `get`'s exit code for failures that are not FTP's own. */
  exitCodeFor(error: unknown, proxied: boolean): number;
}

/** curl's "could not connect". */
const CONNECT_EXIT = 7;

/** The flags `get` accepts that mean nothing for FTP. */
const HTTP_ONLY = ["data", "request", "header", "cookie", "cookie-jar", "digest"];

class LocalError extends Error {
  readonly exit: number;
  constructor(message: string, exit: number, cause?: unknown) {
    super(message, { cause });
    this.name = "LocalError";
    this.exit = exit;
  }
}

/**
 * Runs `get` for an ftp: or ftps: URL.
 *
 * @param url The URL (credentials still in it).
 * @param parsed The parsed command line.
 * @param io Where to print.
 * @param tools The generic exit codes of `get`.
 * @returns The exit code.
 */
export async function runFtpGet(
  url: URL,
  parsed: ParsedArgs,
  io: CommandIo,
  tools: FtpGetTools,
): Promise<number> {
  for (const flag of HTTP_ONLY) {
    if (parsed.flags.has(flag)) throw new UsageError(`--${flag} is not supported for ftp URLs`);
  }
  const outputFlag = flagString(parsed, "output");
  // -o - is standard output, binary or not (curl).
  const output = outputFlag === "-" ? undefined : outputFlag;
  const forceStdout = outputFlag === "-";
  const resume = flagString(parsed, "continue-at") !== undefined;
  const uploadFile = flagString(parsed, "upload-file");
  if (resume && uploadFile === undefined && output === undefined) {
    throw new UsageError("-C - needs -o FILE (or -T FILE)");
  }
  if (uploadFile !== undefined && outputFlag !== undefined) {
    throw new UsageError("-T and -o exclude each other");
  }
  const timeoutText = flagString(parsed, "timeout");
  const timeout = timeoutText === undefined ? undefined : Number(timeoutText);
  const requireTls = flagBoolean(parsed, "ssl-reqd") || flagBoolean(parsed, "starttls");
  const noTls = flagBoolean(parsed, "no-tls");
  if (noTls && requireTls) throw new UsageError("--no-tls and --ssl-reqd exclude each other");
  if (noTls && url.protocol === "ftps:") {
    throw new UsageError("--no-tls is for ftp:// URLs (ftps:// is TLS from the first byte)");
  }
  const insecureAuth = flagBoolean(parsed, "insecure-auth");
  const bar = output !== undefined || uploadFile !== undefined
    ? progressBarFor(io, flagBoolean(parsed, "silent"))
    : undefined;
  const caCerts = await readCaCerts(flagString(parsed, "cacert"));
  const ftpPort = flagString(parsed, "ftp-port");

  let target;
  try {
    target = parseFtpUrl(url);
  } catch (error) {
    io.err(`inetkit get: ${(error as Error).message}\n`);
    return 3;
  }
  let user = target.user;
  let password = target.password;
  const userFlag = flagString(parsed, "user");
  if (userFlag !== undefined) {
    const colon = userFlag.indexOf(":");
    if (colon < 0) throw new UsageError("-u needs USER:PASS");
    user = userFlag.slice(0, colon);
    password = userFlag.slice(colon + 1);
  }

  const proxy = proxyFor(url, parsed);
  if (proxy !== null) {
    if (uploadFile !== undefined || resume) {
      throw new UsageError("-T and -C - are not supported through a proxy");
    }
    return await viaProxy(url, proxy, { output, forceStdout, timeout, caCerts, io, bar, tools });
  }

  let ftp: FtpClient | undefined;
  const now = io.now ?? (() => performance.now());
  const started = now();
  try {
    ftp = await FtpClient.connect({
      hostname: target.hostname,
      port: target.port,
      tls: target.implicitTls ? { caCerts } : noTls ? false : undefined,
      caCerts,
      requireTls,
      allowInsecureAuth: insecureAuth,
      passive: ftpPort === undefined,
      activeAddress: ftpPort === undefined || ftpPort === "-" ? undefined : ftpPort,
      user: user ?? "anonymous",
      password,
      connectTimeout: timeout,
      timeout,
      dataTimeout: timeout,
    });
    for (const dir of target.dirs) {
      if (dir !== "") await ftp.cwd(dir);
    }
    if (uploadFile !== undefined) {
      const name = target.file !== "" ? target.file : baseName(uploadFile);
      await upload(ftp, uploadFile, name, { resume, bar });
    } else if (target.file === "" || target.type === "d" || flagBoolean(parsed, "list-only")) {
      const path = target.file === "" ? undefined : target.file;
      const names = target.type === "d" || flagBoolean(parsed, "list-only");
      const lines = names ? await ftp.nlst(path) : await ftp.dir(path);
      const text = lines.length === 0 ? "" : lines.join("\n") + "\n";
      if (output === undefined) await writeStdout(io, text);
      else await writeOut(ReadableStream.from([new TextEncoder().encode(text)]), output, false, io);
    } else {
      await download(ftp, target.file, target.type === "a", {
        output,
        forceStdout,
        resume,
        bar,
        io,
      });
    }
    await ftp.quit().catch(() => {});
    return 0;
  } catch (error) {
    bar?.stop();
    if (error instanceof OutputError) {
      io.err(error.text);
      return WRITE_EXIT;
    }
    const elapsed = now() - started;
    io.err(
      `inetkit get: ${
        connectFailure(error, target.hostname, target.port, elapsed) ?? describe(error, url)
      }\n`,
    );
    return exitCode(error, tools);
  } finally {
    ftp?.close();
  }
}

async function download(
  ftp: FtpClient,
  file: string,
  ascii: boolean,
  options: {
    output: string | undefined;
    forceStdout: boolean;
    resume: boolean;
    bar: ProgressBar | undefined;
    io: CommandIo;
  },
): Promise<void> {
  let offset = 0;
  if (options.resume && options.output !== undefined) {
    try {
      offset = (await Deno.stat(options.output)).size;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  let size: number | null = null;
  if (!ascii) {
    try {
      size = await ftp.size(file);
    } catch (error) {
      // No SIZE (or not for this file): RETR will tell.
      if (!(error instanceof FtpReplyError) || (error.code === 550 && offset > 0)) throw error;
    }
  }
  const bar = options.bar;
  bar?.resumeFrom(offset);
  if (offset > 0 && size !== null) {
    if (offset === size) {
      bar?.finish(size, size);
      return; // curl: "File already completely downloaded"
    }
    if (offset > size) {
      throw new LocalError(
        `Cannot resume ${file}: the local file (${offset} bytes) is longer than the remote one (${size} bytes)`,
        GET_FTP_EXIT.resumeFailed,
      );
    }
  }
  const body = await ftp.download(file, {
    type: ascii ? "A" : "I",
    offset,
    size: size === null ? undefined : size - offset,
    onProgress: bar === undefined
      ? undefined
      : (p) => bar.onProgress({ loaded: p.loaded + offset, total: size, done: p.done }),
  });
  if (options.output === undefined) {
    await bodyToStdout(body, options.io, { force: options.forceStdout });
  } else await writeOut(body, options.output, offset > 0, options.io);
}

async function upload(
  ftp: FtpClient,
  localPath: string,
  remoteName: string,
  options: { resume: boolean; bar: ProgressBar | undefined },
): Promise<void> {
  let file: Deno.FsFile;
  let localSize: number;
  try {
    file = await Deno.open(localPath, { read: true });
    localSize = (await file.stat()).size;
  } catch (error) {
    throw new LocalError(
      `Cannot read ${localPath}: ${(error as Error).message}`,
      GET_FTP_EXIT.readError,
      error,
    );
  }
  try {
    let offset = 0;
    if (options.resume) {
      try {
        offset = await ftp.size(remoteName);
      } catch (error) {
        // curl: no remote size means start from the beginning.
        if (!(error instanceof FtpReplyError)) throw error;
      }
      if (offset >= localSize) {
        options.bar?.finish(localSize, localSize);
        return;
      }
      await file.seek(offset, Deno.SeekMode.Start);
    }
    const bar = options.bar;
    bar?.resumeFrom(offset);
    await ftp.upload(remoteName, file.readable, {
      append: offset > 0,
      size: localSize - offset,
      onProgress: bar === undefined
        ? undefined
        : (p) => bar.onProgress({ loaded: p.loaded + offset, total: localSize, done: p.done }),
    });
  } finally {
    try {
      file.close();
    } catch {
      // closed by the stream
    }
  }
}

/** Writes a body to a file (appending to resume). */
async function writeOut(
  body: ReadableStream<Uint8Array>,
  output: string,
  append: boolean,
  _io: CommandIo,
): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(output, { write: true, create: true, append, truncate: !append });
  } catch (error) {
    await body.cancel().catch(() => {});
    throw fileWriteError(output, error);
  }
  try {
    // Read into one buffer, again and again: a large download stays small.
    const reader = body.getReader({ mode: "byob" });
    let buffer = new ArrayBuffer(256 * 1024);
    for (;;) {
      const { value, done } = await reader.read(new Uint8Array(buffer));
      if (done) break;
      try {
        await writeAll(file, value);
      } catch (error) {
        await reader.cancel().catch(() => {});
        throw fileWriteError(output, error);
      }
      buffer = value.buffer as ArrayBuffer;
    }
  } finally {
    file.close();
  }
}

/** The HTTP proxy for this URL: -x, else ftp_proxy/all_proxy (with no_proxy and --noproxy). */
function proxyFor(url: URL, parsed: ParsedArgs): URL | null {
  if (url.protocol !== "ftp:") return null;
  const explicit = flagString(parsed, "proxy");
  const noProxy = flagString(parsed, "noproxy");
  const env = ProxyHandler.fromEnv();
  const ftpEnv = readEnv("ftp_proxy") ?? readEnv("FTP_PROXY");
  const chosen = explicit ?? ftpEnv ?? env.all;
  if (chosen === undefined) return null;
  let handler: ProxyHandler;
  try {
    handler = new ProxyHandler({ all: chosen, noProxy: noProxy ?? env.noProxy });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return handler.proxyFor(url);
}

async function viaProxy(
  url: URL,
  proxy: URL,
  options: {
    output: string | undefined;
    forceStdout: boolean;
    timeout: number | undefined;
    caCerts: string[] | undefined;
    io: CommandIo;
    bar: ProgressBar | undefined;
    tools: FtpGetTools;
  },
): Promise<number> {
  await using opener = buildOpener(
    new ProxyHandler({}),
    new FtpUrlHandler({ proxy: proxy.href, caCerts: options.caCerts }),
  );
  const now = options.io.now ?? (() => performance.now());
  const started = now();
  try {
    const response = await opener.open(url, {
      timeout: options.timeout,
      onProgress: options.bar?.onProgress,
    });
    if (response.body !== null) {
      if (options.output === undefined) {
        await bodyToStdout(response.body, options.io, {
          contentType: response.headers.get("content-type"),
          force: options.forceStdout,
        });
      } else await writeOut(response.body, options.output, false, options.io);
    }
    return 0;
  } catch (error) {
    options.bar?.stop();
    if (error instanceof OutputError) {
      options.io.err(error.text);
      return WRITE_EXIT;
    }
    const port = proxy.port === "" ? (proxy.protocol === "https:" ? 443 : 80) : Number(proxy.port);
    const hostname = proxy.hostname.replace(/^\[(.*)\]$/, "$1");
    options.io.err(
      `inetkit get: ${
        connectFailure(error, hostname, port, now() - started, "proxy ") ?? describe(error, url)
      }\n`,
    );
    return exitCode(error, options.tools, true);
  }
}

function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  let e: unknown = error;
  for (let i = 0; i < 8 && e !== undefined && e !== null; i++) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** curl's exit code for an FTP failure, else `get`'s. */
function exitCode(error: unknown, tools: FtpGetTools, proxied = false): number {
  for (const e of causes(error)) {
    if (e instanceof LocalError) return e.exit;
    if (e instanceof CommandError) return e.exitCode;
    if (e instanceof FtpReplyError) {
      const verb = (e.command ?? "").split(" ")[0]!.toUpperCase();
      switch (verb) {
        case "USER":
        case "PASS":
        case "ACCT":
          return GET_FTP_EXIT.loginDenied;
        case "CWD":
          return GET_FTP_EXIT.accessDenied;
        case "RETR":
          if (e.code === 550) return GET_FTP_EXIT.fileNotFound;
          if (e.code === 426 || e.code === 451) return GET_FTP_EXIT.partialFile;
          return GET_FTP_EXIT.retrFailed;
        case "SIZE":
          return e.code === 550 ? GET_FTP_EXIT.fileNotFound : GET_FTP_EXIT.retrFailed;
        case "LIST":
        case "NLST":
        case "MLSD":
          return e.code === 550 ? GET_FTP_EXIT.fileNotFound : GET_FTP_EXIT.retrFailed;
        case "STOR":
        case "APPE":
          return GET_FTP_EXIT.uploadFailed;
        case "REST":
          return GET_FTP_EXIT.resumeFailed;
        case "EPSV":
        case "PASV":
          return GET_FTP_EXIT.weirdPasv;
        case "EPRT":
        case "PORT":
          return GET_FTP_EXIT.portFailed;
        case "AUTH":
        case "PBSZ":
        case "PROT":
          return GET_FTP_EXIT.sslRequired;
      }
      return 1;
    }
    if (missingExtension(e) === "AUTH TLS" || missingExtension(e) === "STARTTLS") {
      return GET_FTP_EXIT.sslRequired;
    }
    if (e instanceof ProtocolError) {
      if (e.code === "INSECURE_AUTH") return GET_FTP_EXIT.loginDenied;
      if (e.code === "BAD_PASV_REPLY" || e.code === "BAD_EPSV_REPLY") {
        return GET_FTP_EXIT.weirdPasv;
      }
      if (e.code === "DATA_CONNECT_FAILED") return CONNECT_EXIT;
    }
  }
  if (error instanceof URLError && error.cause === undefined) return 1;
  return tools.exitCodeFor(error, proxied);
}

/** The message, naming the URL (without its password) when the message does not. */
function describe(error: unknown, url: URL): string {
  let message = error instanceof Error ? error.message : String(error);
  // The library's advice names its option; on the command line it is a flag.
  message = message.replace("set allowInsecureAuth", "give --insecure-auth")
    .replace(/ \(os error \d+\)/g, "");
  const shown = new URL(url.href);
  shown.password = "";
  const certificate = causes(error).some((e) =>
    e instanceof Deno.errors.InvalidData && /certificate/i.test((e as Error).message)
  );
  return `${shown.href}: ${message}${certificate ? " (--cacert FILE trusts a private CA)" : ""}`;
}

function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    const value = Deno.env.get(name);
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}
