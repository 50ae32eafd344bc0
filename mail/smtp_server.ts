import { TcpServer, type TcpShutdownOptions } from "../net/tcp_server.ts";
import { formatReply } from "../net/reply_writer.ts";
import { MailStoreError } from "./mail_store_error.ts";
import { SmtpReplyError } from "./smtp_reply_error.ts";
import { type SmtpRecipientOutcome, SmtpSession } from "./_smtp_server_session.ts";
import type {
  SmtpServerEnvelope,
  SmtpServerOptions,
  SmtpServerSessionInfo,
} from "./_smtp_server_types.ts";

export type {
  SmtpMessageHandler,
  SmtpServerEnvelope,
  SmtpServerLogEvent,
  SmtpServerOptions,
  SmtpServerRecipient,
  SmtpServerSessionInfo,
} from "./_smtp_server_types.ts";

const encoder = new TextEncoder();

/**
 * An SMTP server (RFC 5321), or an LMTP one (RFC 2033), on
 * {@linkcode TcpServer}: the modern `smtpd`/`aiosmtpd`. It offers
 * `PIPELINING SIZE 8BITMIME SMTPUTF8 CHUNKING ENHANCEDSTATUSCODES DSN`,
 * `STARTTLS` when given a certificate (RFC 3207) and `AUTH PLAIN LOGIN
 * CRAM-MD5` (RFC 4954) when given users: in clear only when no TLS is
 * configured, else only after `STARTTLS`.
 *
 * Messages go into a {@linkcode MailStore} (per recipient, through a
 * recipient-to-user mapping or a catch-all user) or to an `onMessage`
 * hook, as a stream with backpressure. The `250` is sent only once the
 * store's `deliver` (or the hook) resolved, which a `MaildirStore` does
 * after fsync: an accepted message is never lost. In SMTP (not LMTP) one
 * reply covers all recipients, so when the copy for one store user fails
 * the message is refused with `451` although other users' copies were
 * stored (a retry may duplicate them; nothing is lost). LMTP answers per
 * recipient instead. DSN parameters are parsed and passed on; the server
 * itself never sends delivery status notifications.
 *
 * Safe by construction: `DATA` ends only at CR LF `.` CR LF (a bare LF or
 * CR never ends it: no SMTP smuggling), `BDAT` chunks are read as counted
 * octets and never pre-allocated, commands pipelined after `STARTTLS` are
 * refused (CVE-2011-0411), command lines (512), text lines (1000), message
 * size, recipients, errors and idle time are limited with the RFC's reply
 * codes, and replies to pipelined commands are written together.
 *
 * @example A catch-all server delivering into a store
 * ```ts
 * import { MemoryMailStore, SmtpClient } from "@inetkit/inetkit/mail";
 * import { SmtpServer } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * await using store = new MemoryMailStore();
 * await using server = new SmtpServer({ store, catchAll: "mulder" });
 * await using smtp = await SmtpClient.connect({ port: server.addr.port });
 * const result = await smtp.send(
 *   { from: "scully@example.test", to: ["fox@example.test"] },
 *   "Subject: hi\r\n\r\nThe truth is out there.\r\n",
 * );
 * assertEquals(result.accepted, ["fox@example.test"]);
 * const [message] = await store.listMessages("mulder", "INBOX");
 * const text = await new Response(await store.readMessage("mulder", "INBOX", message!.uid)).text();
 * assertEquals(text.startsWith("Received: from localhost ([127.0.0.1])"), true);
 * assertEquals(text.endsWith("Subject: hi\r\n\r\nThe truth is out there.\r\n"), true);
 * ```
 *
 * @example A hook that sees every message
 * ```ts
 * import { SmtpClient } from "@inetkit/inetkit/mail";
 * import { SmtpServer } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const seen: string[] = [];
 * await using server = new SmtpServer({
 *   received: false,
 *   onMessage: async (envelope, message) => {
 *     seen.push(`${envelope.from} -> ${envelope.to.join(",")}: ${await new Response(message).text()}`);
 *   },
 * });
 * await using smtp = await SmtpClient.connect({ port: server.addr.port });
 * await smtp.send({ from: "a@example.test", to: ["b@example.test"] }, "Subject: x\r\n\r\ny\r\n");
 * assertEquals(seen, ["a@example.test -> b@example.test: Subject: x\r\n\r\ny\r\n"]);
 * ```
 */
export class SmtpServer implements AsyncDisposable {
  #tcp: TcpServer;

  /**
   * Starts listening at once.
   *
   * @param options Where to listen, where messages go, TLS, AUTH, limits.
   * @throws {TypeError} Without exactly one of `store` and `onMessage`, with
   *   `store` but no way to find a recipient's user, with `cert` without
   *   `key` (or the reverse), or with `implicitTls` but no certificate.
   * @throws {RangeError} If a limit is not a positive integer.
   * @throws {Deno.errors.AddrInUse} And the other listen errors.
   */
  constructor(options: SmtpServerOptions) {
    const store = options.store;
    const onMessage = options.onMessage;
    if ((store === undefined) === (onMessage === undefined)) {
      throw new TypeError("Cannot start SMTP server: give exactly one of store and onMessage");
    }
    if (store === undefined && (options.catchAll !== undefined || options.recipientUser)) {
      throw new TypeError("Cannot start SMTP server: catchAll and recipientUser need a store");
    }
    if (options.catchAll !== undefined && options.recipientUser !== undefined) {
      throw new TypeError("Cannot start SMTP server: give catchAll or recipientUser, not both");
    }
    const table = options.users?.users;
    if (
      store !== undefined && options.catchAll === undefined &&
      options.recipientUser === undefined && table === undefined
    ) {
      throw new TypeError(
        "Cannot start SMTP server: a store needs catchAll, recipientUser or users.users",
      );
    }
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new TypeError("Cannot start SMTP server: cert and key go together");
    }
    const implicitTls = options.implicitTls ?? false;
    if (implicitTls && options.cert === undefined) {
      throw new TypeError("Cannot start SMTP server: implicitTls needs cert and key");
    }
    const name = options.serverName ?? "localhost";
    if (!/^[\x21-\x7e]+$/.test(name)) {
      throw new TypeError(
        `Cannot start SMTP server: serverName ${JSON.stringify(name)} is not one printable word`,
      );
    }
    const maxMessageSize = positive(options.maxMessageSize ?? 10485760, "maxMessageSize", 1);
    const folder = options.folder ?? "INBOX";
    const catchAll = options.catchAll;
    const recipientUser = options.recipientUser;
    const onRecipient = options.onRecipient;
    const onError = options.onError ?? ((error) => console.error("SmtpServer:", error));
    const lowerUsers = new Map(Object.keys(table ?? {}).map((u) => [u.toLowerCase(), u]));

    const resolveRecipient = async (
      address: string,
      session: SmtpServerSessionInfo,
    ): Promise<string | null | false> => {
      if (onRecipient !== undefined) await onRecipient(address, session);
      if (store === undefined) return null;
      if (catchAll !== undefined) return catchAll;
      if (recipientUser !== undefined) return (await recipientUser(address, session)) ?? false;
      const at = address.lastIndexOf("@");
      const local = (at < 0 ? address : address.slice(0, at)).replace(/^"(.*)"$/, "$1");
      return lowerUsers.get(local.toLowerCase()) ?? false;
    };

    const deliver = async (
      envelope: SmtpServerEnvelope,
      message: ReadableStream<Uint8Array>,
    ): Promise<SmtpRecipientOutcome[]> => {
      if (store === undefined) {
        try {
          await onMessage!(envelope, message);
          return envelope.recipients.map(() => ({ ok: true }));
        } catch (error) {
          const outcome: SmtpRecipientOutcome = error instanceof SmtpReplyError
            ? { ok: false, reply: error }
            : { ok: false, error };
          return envelope.recipients.map(() => outcome);
        }
      }
      const users = [...new Set(envelope.recipients.map((r) => r.user!))];
      const streams = teeInto(message, users.length);
      const results = await Promise.allSettled(
        users.map((user, i) =>
          store.deliver(user, folder, streams[i]!, { maxSize: Infinity }).catch((error) => {
            // A delivery that failed before reading its copy must not hold the tee.
            streams[i]!.cancel(error).catch(() => {});
            throw error;
          })
        ),
      );
      const byUser = new Map<string, SmtpRecipientOutcome>();
      users.forEach((user, i) => {
        const result = results[i]!;
        if (result.status === "fulfilled") {
          byUser.set(user, { ok: true, detail: `${user} ${folder} uid ${result.value.uid}` });
        } else if (result.reason instanceof MailStoreError && result.reason.code === "TOO_LARGE") {
          byUser.set(user, {
            ok: false,
            reply: new SmtpReplyError(552, [
              "5.3.4 Message size exceeds fixed maximum message size",
            ]),
          });
        } else {
          byUser.set(user, { ok: false, error: result.reason });
        }
      });
      return envelope.recipients.map((r) => byUser.get(r.user!)!);
    };

    const config = {
      name,
      lmtp: options.lmtp ?? false,
      starttls: options.cert !== undefined && !implicitTls
        ? { cert: options.cert, key: options.key! }
        : null,
      requireTls: options.requireTls ?? false,
      users: options.users ?? null,
      authRequired: options.authRequired ?? false,
      allowInsecureAuth: options.allowInsecureAuth ?? options.cert === undefined,
      authFailureDelay: nonNegative(options.authFailureDelay ?? 1000, "authFailureDelay"),
      maxAuthFailures: positive(options.maxAuthFailures ?? 3, "maxAuthFailures", 1),
      maxMessageSize,
      maxRecipients: positive(options.maxRecipients ?? 100, "maxRecipients", 1),
      maxCommandLength: positive(options.maxCommandLength ?? 512, "maxCommandLength", 64),
      maxTextLineLength: positive(options.maxTextLineLength ?? 1000, "maxTextLineLength", 64),
      maxErrors: positive(options.maxErrors ?? 20, "maxErrors", 1),
      received: options.received ?? true,
      resolveRecipient,
      deliver,
      onLog: options.onLog ?? null,
      onError,
    };
    if (config.requireTls && config.starttls === null && !implicitTls) {
      throw new TypeError("Cannot start SMTP server: requireTls needs cert and key");
    }
    const busy = encoder.encode(
      formatReply(421, `${name} Error: too many connections`, { enhanced: "4.7.0" }),
    );
    this.#tcp = new TcpServer({
      hostname: options.hostname,
      port: options.port,
      cert: implicitTls ? options.cert : undefined,
      key: implicitTls ? options.key : undefined,
      maxConnections: positive(options.maxConnections ?? 256, "maxConnections", 1),
      maxConnectionsPerAddress: options.maxConnectionsPerAddress,
      idleTimeout: nonNegative(options.idleTimeout ?? 300000, "idleTimeout"),
      connectionTimeout: options.connectionTimeout,
      signal: options.signal,
      onError,
      onOverload: async (conn) => {
        await conn.write(busy);
      },
    }, (conn, info) => new SmtpSession(conn, info, config).run());
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
   * Stops accepting; connections waiting for a command get `421 4.3.2` and
   * are closed, those in the middle of a message finish it (within
   * `timeout` milliseconds).
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

/** Splits a stream into `n` streams with the same content. */
function teeInto(stream: ReadableStream<Uint8Array>, n: number): ReadableStream<Uint8Array>[] {
  const out: ReadableStream<Uint8Array>[] = [];
  let rest = stream;
  for (let i = 1; i < n; i++) {
    const [a, b] = rest.tee();
    out.push(a);
    rest = b;
  }
  out.push(rest);
  return out;
}

function positive(value: number, name: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`Cannot start SMTP server: ${name} ${value} is not an integer >= ${min}`);
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Cannot start SMTP server: ${name} ${value} is not a non-negative number`);
  }
  return value;
}
