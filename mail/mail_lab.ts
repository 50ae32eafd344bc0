import { ImapServer } from "./imap_server.ts";
import type { MailServerUsers } from "./mail_server_auth.ts";
import type { MailStore } from "./mail_store.ts";
import { MaildirStore } from "./maildir_store.ts";
import { MemoryMailStore } from "./memory_mail_store.ts";
import { Pop3Server } from "./pop3_server.ts";
import { SmtpServer } from "./smtp_server.ts";

/** One event of a {@linkcode MailLab}: which server, what happened, and a printable line. */
export interface MailLabLogEvent {
  /** The server that reports it. */
  readonly protocol: "smtp" | "pop3" | "imap";
  /**
   * What happened: `"message"` (a delivery), `"login"`, `"login-failed"`,
   * `"connect"`, `"disconnect"` and the servers' other event names.
   */
  readonly type: string;
  /** One line such as `smtp 127.0.0.1:5555 message ... stored for mulder INBOX uid 3`. */
  readonly text: string;
}

/** Options for {@linkcode MailLab} and {@linkcode serveMail}. */
export interface MailLabOptions {
  /** Who may log in; also who mail is for (see `catchAll`). */
  users: MailServerUsers;
  /**
   * Where the mail is kept. Without it, `dir` names a Maildir root (one
   * Maildir per user below it), and without that the mail is kept in memory.
   */
  store?: MailStore;
  /** A Maildir root for a {@linkcode MaildirStore} the lab opens and closes. */
  dir?: string;
  /**
   * The user whose INBOX catches every recipient; `null` to deliver by the
   * recipient's local part instead (unknown users are refused).
   *
   * @default {the only user of `users.users`, if there is exactly one}
   */
  catchAll?: string | null;
  /**
   * The address the servers listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The SMTP port; 0 picks a free one.
   *
   * @default {0}
   */
  smtpPort?: number;
  /**
   * The POP3 port; 0 picks a free one.
   *
   * @default {0}
   */
  pop3Port?: number;
  /**
   * The IMAP port; 0 picks a free one.
   *
   * @default {0}
   */
  imapPort?: number;
  /**
   * The servers' name in greetings and `Received:`.
   *
   * @default {"localhost"}
   */
  serverName?: string;
  /**
   * A PEM certificate chain: with `key`, the servers offer STARTTLS/STLS
   * and take passwords only after it.
   */
  cert?: string;
  /** The PEM private key for `cert`. */
  key?: string;
  /**
   * Milliseconds before a failed login is answered.
   *
   * @default {1000}
   */
  authFailureDelay?: number;
  /** Receives the servers' events. */
  onLog?: (event: MailLabLogEvent) => void;
  /**
   * Receives errors the clients are not told about.
   *
   * @default {logs to console.error}
   */
  onError?: (error: unknown) => void;
  /** Aborting it shuts the lab down. */
  signal?: AbortSignal;
}

/**
 * A local mail lab: an {@linkcode SmtpServer}, a {@linkcode Pop3Server}
 * and an {@linkcode ImapServer} on one {@linkcode MailStore}, so that mail
 * sent by SMTP can be read at once by POP3 and IMAP (IDLE sessions see it
 * arrive). By default every recipient lands in the one user's INBOX: point
 * an application's SMTP settings at it and read what it sends. `mail serve`
 * runs one.
 *
 * @example Send with SMTP, read with POP3
 * ```ts
 * import { SmtpClient } from "@inetkit/inetkit/mail";
 * import { MailLab } from "@inetkit/inetkit/mail";
 * import { assertEquals, assertMatch } from "@std/assert";
 *
 * await using lab = new MailLab({ users: { users: { mulder: "trustno1" } } });
 * await using smtp = await SmtpClient.connect({ port: lab.smtp.addr.port });
 * await smtp.send({ from: "scully@example.test", to: ["anyone@example.test"] }, "Subject: hi\r\n\r\nx\r\n");
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: lab.pop3.addr.port });
 * await conn.write(new TextEncoder().encode("USER mulder\r\nPASS trustno1\r\nQUIT\r\n"));
 * const lines = (await new Response(conn.readable).text()).split("\r\n");
 * assertMatch(lines[2]!, /^\+OK mulder's maildrop has 1 messages/);
 * assertEquals((await lab.store.listMessages("mulder", "INBOX")).length, 1);
 * ```
 */
export class MailLab implements AsyncDisposable {
  /** The store the three servers share. */
  readonly store: MailStore;
  /** The SMTP server. */
  readonly smtp: SmtpServer;
  /** The POP3 server. */
  readonly pop3: Pop3Server;
  /** The IMAP server. */
  readonly imap: ImapServer;
  #ownStore: boolean;
  #closing: Promise<void> | null = null;
  #signal: AbortSignal | undefined;
  #onAbort = () => void this.close();

  /**
   * Starts the three servers.
   *
   * @param options The users, the store or Maildir root, ports, TLS, the log.
   * @throws {TypeError} With both `store` and `dir`, or without a catch-all
   *   user when the users table does not have exactly one.
   * @throws {Deno.errors.AddrInUse} And the other listen errors (the servers
   *   already started are shut down).
   */
  constructor(options: MailLabOptions) {
    if (options.store !== undefined && options.dir !== undefined) {
      throw new TypeError("Cannot start mail lab: give store or dir, not both");
    }
    const names = Object.keys(options.users?.users ?? {});
    const catchAll = options.catchAll === undefined
      ? (names.length === 1 ? names[0]! : undefined)
      : options.catchAll ?? undefined;
    if (options.catchAll === undefined && catchAll === undefined) {
      throw new TypeError(
        "Cannot start mail lab: name the catchAll user (or null) when users.users has not exactly one",
      );
    }
    this.#ownStore = options.store === undefined;
    this.store = options.store ??
      (options.dir !== undefined ? new MaildirStore(options.dir) : new MemoryMailStore());
    const onLog = options.onLog;
    const onError = options.onError ?? ((error) => console.error("MailLab:", error));
    const common = {
      hostname: options.hostname,
      serverName: options.serverName,
      cert: options.cert,
      key: options.key,
      onError,
    };
    const started: { shutdown(): Promise<void> }[] = [];
    try {
      this.smtp = new SmtpServer({
        ...common,
        port: options.smtpPort ?? 0,
        store: this.store,
        ...(catchAll !== undefined ? { catchAll } : {}),
        users: options.users,
        authFailureDelay: options.authFailureDelay,
        onLog: onLog &&
          ((event) => onLog({ protocol: "smtp", type: event.type, text: event.text })),
      });
      started.push(this.smtp);
      this.pop3 = new Pop3Server({
        ...common,
        port: options.pop3Port ?? 0,
        store: this.store,
        users: options.users,
        authFailureDelay: options.authFailureDelay,
        onLog: onLog &&
          ((event) => onLog({ protocol: "pop3", type: event.type, text: event.text })),
      });
      started.push(this.pop3);
      this.imap = new ImapServer({
        ...common,
        port: options.imapPort ?? 0,
        store: this.store,
        users: options.users,
        authFailureDelay: options.authFailureDelay,
        onLog: onLog &&
          ((line) => onLog({ protocol: "imap", type: imapEventType(line), text: line })),
      });
    } catch (error) {
      for (const server of started) void server.shutdown();
      if (this.#ownStore) void this.store.close();
      throw error;
    }
    this.#signal = options.signal;
    if (options.signal?.aborted) queueMicrotask(this.#onAbort);
    else options.signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Settles when all three servers have shut down. */
  get finished(): Promise<void> {
    return Promise.all([this.smtp.finished, this.pop3.finished, this.imap.finished]).then(() => {});
  }

  /**
   * Shuts the servers down and closes the store the lab opened.
   *
   * @returns When everything is closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#signal?.removeEventListener("abort", this.#onAbort);
      await Promise.all([this.smtp.shutdown(), this.pop3.shutdown(), this.imap.shutdown()]);
      if (this.#ownStore) await this.store.close();
    })();
    return this.#closing;
  }

  /** Closes the lab. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts a {@linkcode MailLab}: SMTP, POP3 and IMAP on one store.
 *
 * @param options The users, the store or Maildir root, ports, TLS, the log.
 * @returns The running lab.
 * @throws {TypeError} See {@linkcode MailLab}.
 *
 * @example A lab on free ports
 * ```ts
 * import { serveMail } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * await using lab = serveMail({ users: { users: { mulder: "trustno1" } } });
 * assertEquals(lab.smtp.addr.hostname, "127.0.0.1");
 * assertEquals(new Set([lab.smtp.addr.port, lab.pop3.addr.port, lab.imap.addr.port]).size, 3);
 * ```
 */
export function serveMail(options: MailLabOptions): MailLab {
  return new MailLab(options);
}

/** The event name in one of ImapServer's log lines (`imap host:port login mulder`). */
function imapEventType(line: string): string {
  const words = line.split(" ");
  if (words[2] === "login") return words[3] === "failed" ? "login-failed" : "login";
  return words[2] ?? "event";
}
