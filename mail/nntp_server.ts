import { TcpServer, type TcpShutdownOptions } from "../net/tcp_server.ts";
import { NntpSession, type NntpSessionConfig } from "./_nntp_session.ts";
import type { NewsSpool } from "./news_spool.ts";

/** Options for {@linkcode NntpServer}. */
export interface NntpServerOptions {
  /** The articles and groups to serve; the caller opens and closes it. */
  spool: NewsSpool;
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port; 0 picks a free one (see `addr`).
   *
   * @default {119}
   */
  port?: number;
  /**
   * The name in the greeting.
   *
   * @default {the spool's path host}
   */
  serverName?: string;
  /** A PEM certificate chain: with `key`, `STARTTLS` is offered (RFC 4642). */
  cert?: string;
  /** The PEM private key for `cert`. */
  key?: string;
  /**
   * Speak TLS from the first byte (nntps, port 563 style) instead of
   * offering `STARTTLS`.
   *
   * @default {false}
   */
  implicitTls?: boolean;
  /**
   * The accounts for `AUTHINFO USER/PASS` (RFC 4643): user names to
   * passwords, or a function that checks a pair.
   */
  users?: Record<string, string> | ((user: string, password: string) => boolean | Promise<boolean>);
  /**
   * Whether reading and posting need a login (480 before it).
   *
   * @default {true when users are configured}
   */
  requireAuth?: boolean;
  /**
   * Offer `AUTHINFO USER` on connections that are neither TLS nor from a
   * loopback address (the password then crosses the network readable).
   *
   * @default {false}
   */
  allowInsecureAuth?: boolean;
  /**
   * Whether `POST` is allowed (greeting 200) or not (201, and 440 to POST).
   *
   * @default {true}
   */
  allowPosting?: boolean;
  /**
   * Whether peers may offer articles with `IHAVE`.
   *
   * @default {allowPosting}
   */
  allowIhave?: boolean;
  /**
   * The longest command line in bytes; longer ones get 501 (RFC 3977
   * §3.1 allows 512).
   *
   * @default {4096}
   */
  maxLineLength?: number;
  /**
   * The largest article in bytes; a larger one is read to its end,
   * discarded and refused with 441 (437 for IHAVE).
   *
   * @default {16777216}
   */
  maxArticleSize?: number;
  /**
   * The longest article line in bytes (RFC 5536 recommends 998); a longer
   * one makes the article refused.
   *
   * @default {65536}
   */
  maxArticleLineLength?: number;
  /**
   * The largest article header in bytes.
   *
   * @default {65536}
   */
  maxHeaderSize?: number;
  /**
   * Failed `AUTHINFO PASS` attempts before the connection is closed.
   *
   * @default {3}
   */
  maxAuthFailures?: number;
  /**
   * The most connections at once; beyond it a client gets `400` and is
   * disconnected.
   *
   * @default {1024}
   */
  maxConnections?: number;
  /**
   * The most connections from one address; beyond it a client gets `502`.
   *
   * @default {maxConnections}
   */
  maxConnectionsPerAddress?: number;
  /**
   * Milliseconds a connection may be idle before it gets `400` and is
   * closed (RFC 3977 §3.1 asks for at least three minutes).
   *
   * @default {180000}
   */
  idleTimeout?: number;
  /**
   * Milliseconds a connection may last in all; 0 for no limit.
   *
   * @default {0}
   */
  connectionTimeout?: number;
  /** Aborting it shuts the server down. */
  signal?: AbortSignal;
  /**
   * Receives internal errors (never shown to clients).
   *
   * @default {logs to console.error}
   */
  onError?: (error: unknown) => void;
  /** Receives one line per command: the client's address and the command (passwords as `****`). */
  log?: (line: string) => void;
}

const encoder = new TextEncoder();

/**
 * An NNTP reader server (RFC 3977) over a {@linkcode NewsSpool}:
 * `CAPABILITIES`, `MODE READER`, `LIST` (`ACTIVE`, `ACTIVE.TIMES`,
 * `NEWSGROUPS`, `OVERVIEW.FMT`, `HEADERS`, with wildmats), `GROUP`,
 * `LISTGROUP`, `NEXT`, `LAST`, `ARTICLE`, `HEAD`, `BODY`, `STAT`, `OVER`
 * (`XOVER`), `HDR` (`XHDR`), `NEWGROUPS`, `NEWNEWS`, `POST`, `IHAVE`,
 * `DATE`, `HELP` and `QUIT`; `STARTTLS` (RFC 4642) when given a
 * certificate, and `AUTHINFO USER/PASS` (RFC 4643) when given users.
 *
 * Articles are read with only CR LF `.` CR LF ending them, within size and
 * line limits; the spool checks them and stores them durably before the
 * 240. Connections are capped (`400` at the total cap, `502` at the
 * per-address cap) and idle ones get `400` and are closed.
 *
 * @example Serving a spool and reading from it
 * ```ts
 * import { NewsSpool, NntpClient, NntpServer } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * const spool = await NewsSpool.open(dir, { groups: ["local.test"] });
 * const server = new NntpServer({ spool, port: 0 });
 * const nntp = await NntpClient.connect({ port: server.addr.port });
 * await nntp.post("From: a@example.test\r\nNewsgroups: local.test\r\nSubject: hi\r\n\r\nhello\r\n");
 * const group = await nntp.group("local.test");
 * const article = await nntp.body(group.low);
 * assertEquals(await article.text(), "hello\r\n");
 * await nntp.quit();
 * await server.shutdown();
 * await spool.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class NntpServer implements AsyncDisposable {
  #server: TcpServer;

  /**
   * Starts listening at once.
   *
   * @param options The spool, where to listen, TLS, users, limits.
   * @throws {TypeError} Without a spool, or with only one of `cert` and `key`.
   * @throws {RangeError} If a limit is not a positive integer.
   * @throws {Deno.errors.AddrInUse} And the other listen errors.
   */
  constructor(options: NntpServerOptions) {
    const spool = options.spool;
    if (spool === undefined || spool === null) {
      throw new TypeError("Cannot start NNTP server: no spool given");
    }
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new TypeError("Cannot start NNTP server: both cert and key are needed");
    }
    const implicit = options.implicitTls ?? false;
    if (implicit && options.cert === undefined) {
      throw new TypeError("Cannot start NNTP server: implicitTls needs cert and key");
    }
    const users = options.users;
    let checkPassword: NntpSessionConfig["checkPassword"] = null;
    if (typeof users === "function") {
      checkPassword = async (user, password) => (await users(user, password)) === true;
    } else if (users !== undefined) {
      const table = new Map(Object.entries(users));
      checkPassword = (user, password) => {
        const expected = table.get(user);
        return Promise.resolve(expected !== undefined && sameText(expected, password));
      };
    }
    const allowPosting = options.allowPosting ?? true;
    const onError = options.onError ?? ((error) => console.error("NntpServer:", error));
    const config: NntpSessionConfig = {
      spool,
      serverName: options.serverName ?? spool.pathHost,
      cert: options.cert,
      key: options.key,
      startTls: options.cert !== undefined && !implicit,
      checkPassword,
      requireAuth: options.requireAuth ?? checkPassword !== null,
      allowInsecureAuth: options.allowInsecureAuth ?? false,
      allowPosting,
      allowIhave: options.allowIhave ?? allowPosting,
      maxLineLength: positive(options.maxLineLength ?? 4096, "maxLineLength"),
      maxArticleSize: positive(options.maxArticleSize ?? 16 * 1024 * 1024, "maxArticleSize"),
      maxArticleLineLength: positive(options.maxArticleLineLength ?? 65536, "maxArticleLineLength"),
      maxHeaderSize: positive(options.maxHeaderSize ?? 65536, "maxHeaderSize"),
      maxAuthFailures: positive(options.maxAuthFailures ?? 3, "maxAuthFailures"),
      log: options.log,
      onError,
    };
    if (config.requireAuth && checkPassword === null) {
      throw new TypeError("Cannot start NNTP server: requireAuth needs users");
    }
    this.#server = new TcpServer({
      hostname: options.hostname,
      port: options.port ?? 119,
      cert: implicit ? options.cert : undefined,
      key: implicit ? options.key : undefined,
      maxConnections: options.maxConnections,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress,
      idleTimeout: options.idleTimeout ?? 180000,
      connectionTimeout: options.connectionTimeout,
      signal: options.signal,
      onError,
      onOverload: async (conn, info) => {
        const line = info.reason === "address"
          ? "502 Too many connections from your address\r\n"
          : "400 Too many connections, try again later\r\n";
        await conn.write(encoder.encode(line));
      },
    }, (conn, info) => new NntpSession(config, conn, info).run());
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#server.addr;
  }

  /** The number of connections being served. */
  get connections(): number {
    return this.#server.connections;
  }

  /** Settles when the server has shut down and every session has ended. */
  get finished(): Promise<void> {
    return this.#server.finished;
  }

  /**
   * Stops accepting; idle sessions get `400` and are closed, busy ones
   * finish their command first (within `timeout`).
   *
   * @param options The grace period.
   */
  shutdown(options?: TcpShutdownOptions): Promise<void> {
    return this.#server.shutdown(options);
  }

  /** Shuts down with the default grace period. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

/** Compares two strings in time that depends only on their lengths. */
function sameText(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Cannot start NNTP server: ${name} ${value} is not a positive integer`);
  }
  return value;
}
