import { bytesToHex, hmacMd5, md5Digest } from "../net/md5.ts";

/** What a mail or news server knows of the connection that tries to log in. */
export interface MailLoginInfo {
  /** The client's address. */
  remoteAddr: Deno.NetAddr;
  /** Which server asks: `"smtp"`, `"pop3"`, `"imap"`, `"nntp"`, `"ftp"`. */
  protocol: string;
  /** Whether the connection is TLS at this point. */
  tls: boolean;
}

/**
 * Who may log in to inetkit's servers: a table of users and passwords
 * (needed for CRAM-MD5 and APOP, which prove knowledge of the password
 * without sending it), or a callback that checks a user and password
 * (PLAIN, LOGIN, USER/PASS), or both (the table first).
 */
export interface MailServerUsers {
  /** User name → password. */
  users?: Record<string, string>;
  /** Checks a user name and password not found in `users`. */
  authenticate?: (
    user: string,
    password: string,
    info: MailLoginInfo,
  ) => boolean | Promise<boolean>;
}

/** Options for {@linkcode MailAuthenticator}. */
export interface MailAuthenticatorOptions {
  /**
   * Milliseconds to wait before answering a failed attempt (slows guessing).
   *
   * @default {1000}
   */
  failureDelay?: number;
  /**
   * Failed attempts a connection may make; after that it should be closed
   * ({@linkcode MailAuthenticator.check} reports it).
   *
   * @default {3}
   */
  maxFailures?: number;
}

/** The outcome of a login attempt. */
export interface MailLoginResult {
  /** Whether the credentials were right. */
  ok: boolean;
  /** Whether the connection used up its failures and should be closed. */
  exhausted: boolean;
}

const encoder = new TextEncoder();

/**
 * Checks logins for one server connection: compares passwords in constant
 * time, delays every failure and counts them, and verifies the
 * challenge-response mechanisms (CRAM-MD5, RFC 2195; APOP, RFC 1939 §7)
 * against the user table. Server-side SASL message decoding for PLAIN
 * (RFC 4616) and LOGIN is here too, so SMTP, POP3, IMAP and NNTP share it.
 *
 * @example A wrong password, then the right one
 * ```ts
 * import { MailAuthenticator } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const auth = new MailAuthenticator({ users: { mulder: "trustno1" } }, { failureDelay: 0 });
 * const info = {
 *   remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5000 } as const,
 *   protocol: "imap",
 *   tls: false,
 * };
 * assertEquals(await auth.check("mulder", "wrong", info), { ok: false, exhausted: false });
 * assertEquals(await auth.check("mulder", "trustno1", info), { ok: true, exhausted: false });
 * ```
 */
export class MailAuthenticator {
  #users: MailServerUsers;
  #delay: number;
  #max: number;
  #failures = 0;

  /**
   * Creates a checker for one connection.
   *
   * @param users The user table and/or callback.
   * @param options The failure delay and count.
   */
  constructor(users: MailServerUsers, options?: MailAuthenticatorOptions) {
    options ??= {};
    this.#users = users;
    this.#delay = options.failureDelay ?? 1000;
    this.#max = options.maxFailures ?? 3;
  }

  /** Failed attempts so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Whether any way to log in is configured. */
  get configured(): boolean {
    return this.#users.users !== undefined || this.#users.authenticate !== undefined;
  }

  /**
   * Checks a user name and password (PLAIN, LOGIN, USER/PASS, AUTHINFO).
   *
   * @param user The user name.
   * @param password The password.
   * @param info Who asks.
   * @returns Whether it is right, and whether the connection should now close.
   */
  async check(user: string, password: string, info: MailLoginInfo): Promise<MailLoginResult> {
    let ok = false;
    const known = this.#users.users !== undefined && Object.hasOwn(this.#users.users, user)
      ? this.#users.users[user]
      : undefined;
    if (known !== undefined) ok = constantTimeEqual(known, password);
    else if (this.#users.authenticate !== undefined) {
      try {
        ok = (await this.#users.authenticate(user, password, info)) === true;
      } catch {
        ok = false;
      }
    }
    return await this.#outcome(ok);
  }

  /**
   * Checks a CRAM-MD5 response (`user hexdigest` for the given challenge).
   * Needs the user's password in the table.
   *
   * @param challenge The challenge the server sent (decoded).
   * @param response The client's decoded response.
   * @returns The user name when right, and the outcome.
   */
  async checkCramMd5(
    challenge: string,
    response: string,
  ): Promise<MailLoginResult & { user: string | null }> {
    const space = response.lastIndexOf(" ");
    const user = space > 0 ? response.slice(0, space) : "";
    const digest = space > 0 ? response.slice(space + 1).toLowerCase() : "";
    const password = this.#users.users !== undefined && Object.hasOwn(this.#users.users, user)
      ? this.#users.users[user]
      : undefined;
    const ok = password !== undefined &&
      constantTimeEqual(bytesToHex(hmacMd5(password, challenge)), digest);
    const result = await this.#outcome(ok);
    return { ...result, user: ok ? user : null };
  }

  /**
   * Checks a POP3 APOP digest: MD5 of the greeting's timestamp and the
   * password, in hex.
   *
   * @param user The user name.
   * @param timestamp The `<...>` timestamp from the greeting.
   * @param digest The client's hex digest.
   * @returns The outcome.
   */
  async checkApop(user: string, timestamp: string, digest: string): Promise<MailLoginResult> {
    const password = this.#users.users !== undefined && Object.hasOwn(this.#users.users, user)
      ? this.#users.users[user]
      : undefined;
    const ok = password !== undefined &&
      constantTimeEqual(bytesToHex(md5Digest(timestamp + password)), digest.toLowerCase());
    return await this.#outcome(ok);
  }

  async #outcome(ok: boolean): Promise<MailLoginResult> {
    if (ok) return { ok: true, exhausted: false };
    this.#failures++;
    if (this.#delay > 0) await new Promise((resolve) => setTimeout(resolve, this.#delay));
    return { ok: false, exhausted: this.#failures >= this.#max };
  }
}

/**
 * Decodes a SASL PLAIN message (RFC 4616): `authzid NUL authcid NUL passwd`,
 * base64-encoded on the wire.
 *
 * @param base64 The client's message as sent (base64).
 * @returns The identities and the password, or `null` when malformed.
 *
 * @example
 * ```ts
 * import { decodeSaslPlain } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(decodeSaslPlain(btoa("\0mulder\0trustno1")), {
 *   authorizationId: "",
 *   user: "mulder",
 *   password: "trustno1",
 * });
 * ```
 */
export function decodeSaslPlain(
  base64: string,
): { authorizationId: string; user: string; password: string } | null {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(base64.trim());
  } catch {
    return null;
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  const parts = text.split("\0");
  if (parts.length !== 3 || parts[1] === "") return null;
  return { authorizationId: parts[0]!, user: parts[1]!, password: parts[2]! };
}

/**
 * Decodes one base64 line of a SASL exchange (LOGIN's user name and
 * password, a CRAM-MD5 response); `*` (the client cancelling) and bad
 * base64 give `null`.
 *
 * @param base64 The line as sent.
 * @returns The decoded text, or `null`.
 *
 * @example
 * ```ts
 * import { decodeSaslLine } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(decodeSaslLine("bXVsZGVy"), "mulder");
 * assertEquals(decodeSaslLine("*"), null);
 * ```
 */
export function decodeSaslLine(base64: string): string | null {
  const line = base64.trim();
  if (line === "*") return null;
  try {
    return new TextDecoder().decode(Uint8Array.fromBase64(line));
  } catch {
    return null;
  }
}

/**
 * A fresh challenge for CRAM-MD5 or an APOP greeting timestamp:
 * `<random.time@host>`.
 *
 * @param host The server's name.
 * @returns The challenge.
 *
 * @example
 * ```ts
 * import { mailChallenge } from "@inetkit/inetkit/mail";
 * import { assertMatch } from "@std/assert";
 *
 * assertMatch(mailChallenge("mail.example.test"), /^<[0-9a-f]+\.\d+@mail\.example\.test>$/);
 * ```
 */
export function mailChallenge(host: string): string {
  const random = crypto.getRandomValues(new Uint8Array(8));
  return `<${bytesToHex(random)}.${Date.now()}@${host}>`;
}

/** Compares two strings in time that depends only on their lengths. */
function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i % (x.length || 1)] ?? 0) ^ (y[i % (y.length || 1)] ?? 0);
  }
  return diff === 0;
}
