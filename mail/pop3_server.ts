import { formatPop3Status } from "../net/reply_writer.ts";
import { TcpServer, type TcpShutdownOptions } from "../net/tcp_server.ts";
import { Pop3Session } from "./_pop3_server_session.ts";
import type { Pop3ServerOptions } from "./_pop3_server_types.ts";

export type { Pop3ServerLogEvent, Pop3ServerOptions } from "./_pop3_server_types.ts";

const encoder = new TextEncoder();

/**
 * A POP3 server (RFC 1939) on {@linkcode TcpServer} that serves a folder of
 * a {@linkcode MailStore} as each user's maildrop: USER/PASS, APOP (the
 * greeting carries a timestamp when the users table has passwords), AUTH
 * PLAIN, LOGIN and CRAM-MD5 (RFC 5034), CAPA with response codes and
 * PIPELINING (RFC 2449), STLS (RFC 2595) and UTF8 (RFC 6856).
 *
 * The maildrop is locked for the session (a second login gets
 * `-ERR [IN-USE]`); messages are numbered from the snapshot taken at login;
 * `RETR` and `TOP` stream from the store, dot-stuffed. `DELE` only marks:
 * messages are removed at `QUIT` (the UPDATE state), so a session that
 * breaks off or times out deletes nothing. Wrong passwords are answered
 * after a delay and counted (`-ERR [AUTH]`); passwords in clear are
 * accepted only without TLS configured, or after `STLS`.
 *
 * @example Retrieving and deleting a message
 * ```ts
 * import { MemoryMailStore } from "@inetkit/inetkit/mail";
 * import { Pop3Server } from "./pop3_server.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using store = new MemoryMailStore();
 * await store.deliver("mulder", "INBOX", new TextEncoder().encode("Subject: hi\r\n\r\n.dot\r\n"));
 * await using server = new Pop3Server({ store, users: { users: { mulder: "trustno1" } } });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await conn.write(new TextEncoder().encode(
 *   "USER mulder\r\nPASS trustno1\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n",
 * ));
 * const transcript = await new Response(conn.readable).text();
 * assertEquals(transcript.split("\r\n").slice(1), [
 *   "+OK",
 *   "+OK mulder's maildrop has 1 messages (21 octets)",
 *   "+OK 21 octets",
 *   "Subject: hi",
 *   "",
 *   "..dot",
 *   ".",
 *   "+OK Message 1 deleted",
 *   "+OK localhost POP3 server signing off (1 messages deleted)",
 *   "",
 * ]);
 * assertEquals((await store.status("mulder", "INBOX")).messages, 0);
 * ```
 */
export class Pop3Server implements AsyncDisposable {
  #tcp: TcpServer;

  /**
   * Starts listening at once.
   *
   * @param options The store and users, where to listen, TLS, limits.
   * @throws {TypeError} Without a store or users, with `cert` without `key`
   *   (or the reverse), or with `implicitTls` but no certificate.
   * @throws {RangeError} If a limit is not a positive integer.
   * @throws {Deno.errors.AddrInUse} And the other listen errors.
   */
  constructor(options: Pop3ServerOptions) {
    if (options?.store === undefined || options.users === undefined) {
      throw new TypeError("Cannot start POP3 server: store and users are required");
    }
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new TypeError("Cannot start POP3 server: cert and key go together");
    }
    const implicitTls = options.implicitTls ?? false;
    if (implicitTls && options.cert === undefined) {
      throw new TypeError("Cannot start POP3 server: implicitTls needs cert and key");
    }
    const name = options.serverName ?? "localhost";
    if (!/^[\x21-\x7e]+$/.test(name) || /[<>@]/.test(name)) {
      throw new TypeError(
        `Cannot start POP3 server: serverName ${JSON.stringify(name)} is not one host name`,
      );
    }
    const onError = options.onError ?? ((error) => console.error("Pop3Server:", error));
    const config = {
      name,
      store: options.store,
      folder: options.folder ?? "INBOX",
      users: options.users,
      starttls: options.cert !== undefined && !implicitTls
        ? { cert: options.cert, key: options.key! }
        : null,
      allowInsecureAuth: options.allowInsecureAuth ?? options.cert === undefined,
      authFailureDelay: nonNegative(options.authFailureDelay ?? 1000, "authFailureDelay"),
      maxAuthFailures: positive(options.maxAuthFailures ?? 3, "maxAuthFailures", 1),
      maxCommandLength: positive(options.maxCommandLength ?? 1024, "maxCommandLength", 64),
      maxErrors: positive(options.maxErrors ?? 20, "maxErrors", 1),
      onLog: options.onLog ?? null,
      onError,
    };
    const busy = encoder.encode(formatPop3Status(false, "Too many connections", "SYS/TEMP"));
    this.#tcp = new TcpServer({
      hostname: options.hostname,
      port: options.port,
      cert: implicitTls ? options.cert : undefined,
      key: implicitTls ? options.key : undefined,
      maxConnections: positive(options.maxConnections ?? 256, "maxConnections", 1),
      maxConnectionsPerAddress: options.maxConnectionsPerAddress,
      idleTimeout: nonNegative(options.idleTimeout ?? 600000, "idleTimeout"),
      connectionTimeout: options.connectionTimeout,
      signal: options.signal,
      onError,
      onOverload: async (conn) => {
        await conn.write(busy);
      },
    }, (conn, info) => new Pop3Session(conn, info, config).run());
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#tcp.addr;
  }

  /** The number of connections being served. */
  get connections(): number {
    return this.#tcp.connections;
  }

  /** Settles when the server has shut down and every connection has ended. */
  get finished(): Promise<void> {
    return this.#tcp.finished;
  }

  /**
   * Stops accepting; idle connections get `-ERR [SYS/TEMP]` and are closed
   * without entering UPDATE (nothing is deleted).
   *
   * @param options The grace period.
   * @returns When every connection has ended.
   */
  shutdown(options?: TcpShutdownOptions): Promise<void> {
    return this.#tcp.shutdown(options);
  }

  /** Shuts down with the default grace period. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

function positive(value: number, name: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`Cannot start POP3 server: ${name} ${value} is not an integer >= ${min}`);
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Cannot start POP3 server: ${name} ${value} is not a non-negative number`);
  }
  return value;
}
