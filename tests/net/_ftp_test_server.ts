/**
 * A small FTP server on loopback for the client's integration tests (the
 * examples, the CLI, the URL handler, mirroring): an in-memory tree, one
 * user, passive and active data connections, REST, explicit and implicit
 * TLS (data connections too after PROT P), MLSD that can be switched off,
 * and raw LIST overrides for hostile listings. It is a test double, not
 * inetkit's FTP server.
 *
 * @module
 */
import { BufferedReader } from "../../net/buffered_reader.ts";
import type { DuplexConn } from "../../net/duplex_conn.ts";
import { startTlsServer } from "../../net/start_tls_server.ts";
import { resolveFtpPath } from "../../net/_ftp_path.ts";
import { formatFtpListLine, formatMlsxLine } from "../../net/_ftp_format.ts";
import {
  formatFtpPasvReply,
  parseFtpEprtArgument,
  parseFtpPortArgument,
} from "../../net/_ftp_address.ts";

/** Options for {@linkcode startTestFtpServer}. */
export interface TestFtpServerOptions {
  /** The user name. @default "mulder" */
  user?: string;
  /** The password. @default "trustno1" */
  password?: string;
  /** Accept `anonymous` with any password. @default true */
  anonymous?: boolean;
  /** Files by absolute path. */
  files?: Record<string, string | Uint8Array>;
  /** Extra (empty) directories by absolute path. */
  dirs?: string[];
  /** Offer MLST/MLSD. @default true */
  mlsd?: boolean;
  /** Offer AUTH TLS with this certificate (and protect data after PROT P). */
  tls?: { cert: string; key: string };
  /** Speak TLS from the first byte (needs `tls`). */
  implicitTls?: boolean;
  /** Raw LIST output by absolute directory path, instead of the tree's. */
  listings?: Record<string, string>;
  /** Answer EPSV with 500, so that clients fall back to PASV. */
  noEpsv?: boolean;
  /**
   * Refuse protected data connections as vsftpd with `require_ssl_reuse=YES`
   * does when the client did not resume the control connection's TLS
   * session: close the data connection, reply 522.
   */
  requireSessionReuse?: boolean;
}

/** A running test server. */
export interface TestFtpServer extends AsyncDisposable {
  /** The control port on 127.0.0.1. */
  port: number;
  /** The files, by absolute path; uploads land here. */
  files: Map<string, Uint8Array>;
  /** The directories, by absolute path. */
  dirs: Set<string>;
  /** Every command line received, in order, with `PASS` arguments kept. */
  commands: string[];
  /** Stops the server and ends its sessions. */
  close(): Promise<void>;
}

const MTIME = new Date("2023-11-14T22:13:20Z");
const encoder = new TextEncoder();

/** Starts the server on 127.0.0.1, a free port. */
export function startTestFtpServer(options: TestFtpServerOptions = {}): TestFtpServer {
  const user = options.user ?? "mulder";
  const password = options.password ?? "trustno1";
  const anonymous = options.anonymous ?? true;
  const mlsd = options.mlsd ?? true;
  const files = new Map<string, Uint8Array>();
  const dirs = new Set<string>(["/"]);
  const addParents = (path: string) => {
    const parts = path.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) dirs.add("/" + parts.slice(0, i).join("/"));
  };
  for (const [path, content] of Object.entries(options.files ?? {})) {
    files.set(path, typeof content === "string" ? encoder.encode(content) : content);
    addParents(path);
  }
  for (const dir of options.dirs ?? []) {
    dirs.add(dir);
    addParents(dir);
  }
  const commands: string[] = [];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sessions = new Set<Promise<void>>();
  const open = new Set<{ close(): void }>();
  let stopped = false;

  const features = [
    "UTF8",
    "EPRT",
    "EPSV",
    "MDTM",
    "PASV",
    "REST STREAM",
    "SIZE",
    ...(mlsd ? ["MLST type*;size*;modify*;"] : []),
    ...(options.tls ? ["AUTH TLS", "PBSZ", "PROT"] : []),
  ];

  const childrenOf = (
    dir: string,
  ): { name: string; type: "file" | "directory"; size: number }[] => {
    const prefix = dir === "/" ? "/" : dir + "/";
    const out: { name: string; type: "file" | "directory"; size: number }[] = [];
    for (const d of dirs) {
      if (d !== dir && d.startsWith(prefix) && !d.slice(prefix.length).includes("/")) {
        out.push({ name: d.slice(prefix.length), type: "directory", size: 4096 });
      }
    }
    for (const [f, bytes] of files) {
      if (f.startsWith(prefix) && !f.slice(prefix.length).includes("/")) {
        out.push({ name: f.slice(prefix.length), type: "file", size: bytes.length });
      }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  };

  async function session(raw: Deno.Conn): Promise<void> {
    let conn: DuplexConn = raw;
    if (options.implicitTls && options.tls) conn = await startTlsServer(raw, options.tls);
    let reader = new BufferedReader(conn === raw ? raw : conn.readable);
    let writer = conn === raw ? null : conn.writable.getWriter();
    open.add(conn);
    const send = async (text: string) => {
      const bytes = encoder.encode(text);
      if (writer !== null) await writer.write(bytes);
      else for (let at = 0; at < bytes.length;) at += await raw.write(bytes.subarray(at));
    };
    const reply = (code: number, text: string) => send(`${code} ${text}\r\n`);
    let loggedIn = false;
    let pendingUser: string | null = null;
    let cwd = "/";
    let rest = 0;
    let protect = options.implicitTls === true;
    let renameFrom: string | null = null;
    let data: Promise<DuplexConn> | null = null;
    const upgradeData = async (c: Deno.Conn): Promise<DuplexConn> =>
      protect && options.tls ? await startTlsServer(c, options.tls) : c;
    const takeData = async (): Promise<DuplexConn | null> => {
      const pending = data;
      data = null;
      if (pending === null) {
        await reply(425, "Use PORT or PASV first.");
        return null;
      }
      const c = await pending;
      open.add(c);
      return c;
    };
    const writeData = async (c: DuplexConn, bytes: Uint8Array) => {
      const w = c.writable.getWriter();
      try {
        for (let at = 0; at < bytes.length; at += 65536) {
          await w.write(bytes.slice(at, at + 65536));
        }
        await w.close();
        return true;
      } catch {
        return false;
      } finally {
        open.delete(c);
        try {
          c.close();
        } catch { /* closed */ }
      }
    };
    await reply(220, "inetkit test FTP server");
    try {
      for (;;) {
        const line = await reader.readLine();
        if (line === null) return;
        commands.push(line);
        const space = line.indexOf(" ");
        const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
        const arg = space < 0 ? "" : line.slice(space + 1);
        const resolve = (p: string) => resolveFtpPath(cwd, p);
        if (
          !loggedIn &&
          !["USER", "PASS", "FEAT", "AUTH", "QUIT", "SYST", "NOOP", "PBSZ", "PROT", "OPTS"]
            .includes(verb)
        ) {
          await reply(530, "Please login with USER and PASS.");
          continue;
        }
        switch (verb) {
          case "USER":
            pendingUser = arg;
            await reply(331, "Please specify the password.");
            break;
          case "PASS":
            if (
              (pendingUser === user && arg === password) ||
              (anonymous && (pendingUser === "anonymous" || pendingUser === "ftp"))
            ) {
              loggedIn = true;
              await reply(230, "Login successful.");
            } else {
              await reply(530, "Login incorrect.");
            }
            break;
          case "FEAT":
            await send(`211-Features:\r\n${features.map((f) => ` ${f}\r\n`).join("")}211 End\r\n`);
            break;
          case "AUTH":
            if (!options.tls || conn !== raw) {
              await reply(500, "AUTH not understood.");
              break;
            }
            await reply(234, "Proceed with negotiation.");
            reader.release();
            conn = await startTlsServer(raw, options.tls);
            open.add(conn);
            reader = new BufferedReader(conn.readable);
            writer = conn.writable.getWriter();
            break;
          case "PBSZ":
            await reply(200, "PBSZ=0");
            break;
          case "PROT":
            protect = arg.toUpperCase() === "P";
            await reply(200, `PROT now ${protect ? "Private" : "Clear"}.`);
            break;
          case "OPTS":
            await reply(200, "Always in UTF8 mode.");
            break;
          case "SYST":
            await reply(215, "UNIX Type: L8");
            break;
          case "NOOP":
            await reply(200, "NOOP ok.");
            break;
          case "PWD":
            await reply(257, `"${cwd.replaceAll('"', '""')}" is the current directory`);
            break;
          case "CWD":
          case "CDUP": {
            const target = resolve(verb === "CDUP" ? ".." : arg);
            if (target === null || !dirs.has(target)) {
              await reply(550, "Failed to change directory.");
            } else {
              cwd = target;
              await reply(250, "Directory successfully changed.");
            }
            break;
          }
          case "TYPE":
            await reply(
              200,
              arg.toUpperCase() === "A" ? "Switching to ASCII mode." : "Switching to Binary mode.",
            );
            break;
          case "EPSV":
          case "PASV": {
            if (verb === "EPSV" && options.noEpsv) {
              await reply(500, "Unknown command.");
              break;
            }
            const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
            open.add(l);
            data = l.accept().then(upgradeData).finally(() => {
              open.delete(l);
              l.close();
            });
            data.catch(() => {});
            await reply(
              verb === "EPSV" ? 229 : 227,
              verb === "EPSV"
                ? `Entering Extended Passive Mode (|||${l.addr.port}|)`
                : formatFtpPasvReply({ hostname: "127.0.0.1", port: l.addr.port }),
            );
            break;
          }
          case "EPRT":
          case "PORT": {
            let target;
            try {
              target = verb === "EPRT" ? parseFtpEprtArgument(arg) : parseFtpPortArgument(arg);
            } catch {
              await reply(501, "Illegal command.");
              break;
            }
            data = Deno.connect({ hostname: target.hostname, port: target.port }).then(upgradeData);
            data.catch(() => {});
            await reply(200, `${verb} command successful. Consider using EPSV.`);
            break;
          }
          case "REST":
            rest = Number(arg);
            await reply(350, `Restart position accepted (${rest}).`);
            break;
          case "RETR": {
            const path = resolve(arg);
            const bytes = path === null ? undefined : files.get(path);
            if (bytes === undefined) {
              data?.then((c) => c.close(), () => {});
              data = null;
              await reply(550, "Failed to open file.");
              break;
            }
            const c = await takeData();
            if (c === null) break;
            await reply(
              150,
              `Opening BINARY mode data connection for ${arg} (${bytes.length} bytes).`,
            );
            if (options.requireSessionReuse && protect) {
              open.delete(c);
              c.close();
              await reply(522, "SSL connection failed: session reuse required");
              break;
            }
            const ok = await writeData(c, bytes.subarray(Math.min(rest, bytes.length)));
            rest = 0;
            await reply(
              ok ? 226 : 426,
              ok ? "Transfer complete." : "Failure writing network stream.",
            );
            break;
          }
          case "LIST":
          case "NLST":
          case "MLSD": {
            if (verb === "MLSD" && !mlsd) {
              await reply(500, "Unknown command.");
              break;
            }
            const target = resolve(arg.replace(/^-\S+\s*/, ""));
            if (target === null || !dirs.has(target)) {
              data?.then((c) => c.close(), () => {});
              data = null;
              await reply(550, "Failed to open directory.");
              break;
            }
            const c = await takeData();
            if (c === null) break;
            const entries = childrenOf(target);
            let text: string;
            if (verb === "LIST" && options.listings?.[target] !== undefined) {
              text = options.listings[target]!;
            } else if (verb === "NLST") {
              text = entries.map((e) => `${e.name}\r\n`).join("");
            } else if (verb === "MLSD") {
              text = entries.map((e) => formatMlsxLine({ ...e, modified: MTIME }) + "\r\n").join(
                "",
              );
            } else {
              text = entries.map((e) =>
                formatFtpListLine({ ...e, modified: MTIME, owner: "1001", group: "1001" }) + "\r\n"
              ).join("");
            }
            await reply(150, "Here comes the directory listing.");
            const ok = await writeData(c, encoder.encode(text));
            await reply(
              ok ? 226 : 426,
              ok ? "Directory send OK." : "Failure writing network stream.",
            );
            break;
          }
          case "STOR":
          case "APPE": {
            const path = resolve(arg);
            const parent = path === null ? null : path.slice(0, path.lastIndexOf("/")) || "/";
            if (path === null || parent === null || !dirs.has(parent)) {
              data?.then((c) => c.close(), () => {});
              data = null;
              await reply(553, "Could not create file.");
              break;
            }
            const c = await takeData();
            if (c === null) break;
            await reply(150, "Ok to send data.");
            const received = await new Response(c.readable).bytes().catch(() => null);
            open.delete(c);
            try {
              c.close();
            } catch { /* closed */ }
            if (received === null) {
              await reply(426, "Failure reading network stream.");
              break;
            }
            const old = files.get(path) ?? new Uint8Array(0);
            const keep = verb === "APPE" ? old : old.subarray(0, Math.min(rest, old.length));
            rest = 0;
            const next = new Uint8Array(keep.length + received.length);
            next.set(keep);
            next.set(received, keep.length);
            files.set(path, next);
            await reply(226, "Transfer complete.");
            break;
          }
          case "SIZE":
          case "MDTM": {
            const path = resolve(arg);
            const bytes = path === null ? undefined : files.get(path);
            if (bytes === undefined) await reply(550, "Could not get file size.");
            else await reply(213, verb === "SIZE" ? String(bytes.length) : "20231114221320");
            break;
          }
          case "DELE": {
            const path = resolve(arg);
            if (path !== null && files.delete(path)) {
              await reply(250, "Delete operation successful.");
            } else await reply(550, "Delete operation failed.");
            break;
          }
          case "RNFR": {
            const path = resolve(arg);
            if (path !== null && (files.has(path) || dirs.has(path))) {
              renameFrom = path;
              await reply(350, "Ready for RNTO.");
            } else {
              await reply(550, "RNFR command failed.");
            }
            break;
          }
          case "RNTO": {
            const path = resolve(arg);
            if (renameFrom === null || path === null || !files.has(renameFrom)) {
              await reply(550, "Rename failed.");
            } else {
              files.set(path, files.get(renameFrom)!);
              files.delete(renameFrom);
              await reply(250, "Rename successful.");
            }
            renameFrom = null;
            break;
          }
          case "MKD": {
            const path = resolve(arg);
            const parent = path === null ? null : path.slice(0, path.lastIndexOf("/")) || "/";
            if (path === null || dirs.has(path) || files.has(path) || !dirs.has(parent!)) {
              await reply(550, "Create directory operation failed.");
            } else {
              dirs.add(path);
              await reply(257, `"${path}" created`);
            }
            break;
          }
          case "RMD": {
            const path = resolve(arg);
            if (path === null || !dirs.has(path) || childrenOf(path).length > 0 || path === "/") {
              await reply(550, "Remove directory operation failed.");
            } else {
              dirs.delete(path);
              await reply(250, "Remove directory operation successful.");
            }
            break;
          }
          case "SITE":
            await reply(
              arg.toUpperCase().startsWith("CHMOD") ? 200 : 500,
              arg.toUpperCase().startsWith("CHMOD")
                ? "SITE CHMOD command ok."
                : "Unknown SITE command.",
            );
            break;
          case "ABOR":
            await reply(225, "No transfer to ABOR.");
            break;
          case "QUIT":
            await reply(221, "Goodbye.");
            return;
          default:
            await reply(500, "Unknown command.");
        }
      }
    } catch {
      // the client went away
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }

  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      if (stopped) {
        conn.close();
        continue;
      }
      const s = session(conn).catch(() => {});
      sessions.add(s);
      s.finally(() => sessions.delete(s));
    }
  })();

  const close = async () => {
    if (stopped) return;
    stopped = true;
    listener.close();
    for (const c of open) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await accepting;
    await Promise.all(sessions);
  };
  return {
    port: listener.addr.port,
    files,
    dirs,
    commands,
    close,
    [Symbol.asyncDispose]: close,
  };
}
