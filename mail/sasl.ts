/**
 * SASL client mechanisms shared by SMTP AUTH (RFC 4954), IMAP AUTHENTICATE
 * (RFC 9051) and POP3 AUTH (RFC 5034): PLAIN, LOGIN, CRAM-MD5, XOAUTH2 and
 * OAUTHBEARER, as challenge/response state machines that know nothing about
 * the protocol carrying them.
 *
 * @module
 */

import { bytesToHex, hmacMd5 } from "../net/md5.ts";
import { ProtocolError } from "../net/protocol_error.ts";

/** The mechanisms inetkit implements, best first. */
export const SASL_MECHANISMS: readonly SaslMechanismName[] = Object.freeze(
  [
    "OAUTHBEARER",
    "XOAUTH2",
    "CRAM-MD5",
    "PLAIN",
    "LOGIN",
  ] as const,
);

/** A SASL mechanism name inetkit implements. */
export type SaslMechanismName = "PLAIN" | "LOGIN" | "CRAM-MD5" | "XOAUTH2" | "OAUTHBEARER";

/** Who logs in, and with what secret. */
export interface SaslCredentials {
  /** The authentication identity: a user name or an email address. */
  username: string;
  /** The password, for PLAIN, LOGIN and CRAM-MD5. */
  password?: string;
  /** An OAuth 2.0 bearer token, for XOAUTH2 and OAUTHBEARER. */
  accessToken?: string;
  /**
   * The identity to act as, when it differs from `username` (PLAIN and
   * OAUTHBEARER only).
   *
   * @default {""}
   */
  authorizationId?: string;
}

/** Options for {@linkcode createSaslMechanism}. */
export interface SaslMechanismOptions {
  /** The server's host name, sent by OAUTHBEARER (RFC 7628 §3.1). */
  host?: string;
  /** The server's port, sent by OAUTHBEARER. */
  port?: number;
}

/**
 * One authentication exchange on the client side. The protocol sends
 * {@linkcode SaslMechanism.initialResponse} with its AUTH command when it
 * can, then passes each decoded server challenge to
 * {@linkcode SaslMechanism.respond} and sends back what it returns, until
 * the server says yes or no. The secrets live in private fields and never
 * appear in `console.log`, errors or `JSON.stringify`.
 */
export interface SaslMechanism {
  /** The mechanism name, as sent in the AUTH command. */
  readonly name: SaslMechanismName;
  /**
   * Whether the exchange carries the secret readable by anyone on the path
   * (PLAIN, LOGIN, bearer tokens): use it only over TLS or loopback.
   */
  readonly sendsSecret: boolean;
  /**
   * The message a server reported in an error challenge (XOAUTH2 and
   * OAUTHBEARER send JSON before refusing), or `undefined`.
   */
  readonly serverError: string | undefined;
  /**
   * The client-first message, to send with the AUTH command (SMTP, IMAP
   * SASL-IR); `null` when the mechanism waits for the server's first
   * challenge. Calling it counts as sending it.
   *
   * @returns The response bytes (before base64), or `null`.
   */
  initialResponse(): Uint8Array | null;
  /**
   * Answers one server challenge.
   *
   * @param challenge The decoded challenge (empty when the server sent none).
   * @returns The response bytes, before base64.
   * @throws {ProtocolError} `"SASL_UNEXPECTED_CHALLENGE"` when the server
   *   sends more challenges than the mechanism has answers for.
   */
  respond(challenge: Uint8Array): Uint8Array;
}

/** Options for {@linkcode chooseSaslMechanism}. */
export interface ChooseSaslMechanismOptions {
  /**
   * Whether the connection is protected (TLS) or local, so that mechanisms
   * which expose the secret may be used.
   *
   * @default {false}
   */
  secure?: boolean;
  /**
   * The mechanisms to consider, best first.
   *
   * @default {SASL_MECHANISMS}
   */
  preference?: readonly string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

function unexpected(name: string): ProtocolError {
  return new ProtocolError(
    "SASL_UNEXPECTED_CHALLENGE",
    `Cannot authenticate with ${name}: the server sent an unexpected challenge`,
  );
}

function assertNoControl(value: string, what: string, forbidden: RegExp): void {
  if (forbidden.test(value)) {
    throw new TypeError(`Cannot authenticate: the ${what} contains a forbidden control character`);
  }
}

function need(value: string | undefined, what: string, name: string): string {
  if (value === undefined) {
    throw new TypeError(`Cannot authenticate with ${name}: the credentials have no ${what}`);
  }
  return value;
}

const NUL_REGEXP = /\0/;
// deno-lint-ignore no-control-regex
const CTL_REGEXP = /[\0-\x1f\x7f]/;

/** PLAIN (RFC 4616): authzid NUL authcid NUL password, in one message. */
class PlainMechanism implements SaslMechanism {
  readonly name = "PLAIN" as const;
  readonly sendsSecret = true;
  readonly serverError: string | undefined = undefined;
  #message: Uint8Array;
  #sent = false;

  constructor(credentials: SaslCredentials) {
    const password = need(credentials.password, "password", this.name);
    const authzid = credentials.authorizationId ?? "";
    assertNoControl(credentials.username, "user name", NUL_REGEXP);
    assertNoControl(password, "password", NUL_REGEXP);
    assertNoControl(authzid, "authorization identity", NUL_REGEXP);
    this.#message = encoder.encode(`${authzid}\0${credentials.username}\0${password}`);
  }

  initialResponse(): Uint8Array {
    this.#sent = true;
    return this.#message;
  }

  respond(challenge: Uint8Array): Uint8Array {
    // A server may ask for the message with an empty challenge instead.
    if (this.#sent || challenge.length > 0) throw unexpected(this.name);
    return this.initialResponse();
  }
}

/** LOGIN (draft-murchison-sasl-login): the user name, then the password. */
class LoginMechanism implements SaslMechanism {
  readonly name = "LOGIN" as const;
  readonly sendsSecret = true;
  readonly serverError: string | undefined = undefined;
  #username: Uint8Array;
  #password: Uint8Array;
  #step = 0;

  constructor(credentials: SaslCredentials) {
    const password = need(credentials.password, "password", this.name);
    assertNoControl(credentials.username, "user name", NUL_REGEXP);
    assertNoControl(password, "password", NUL_REGEXP);
    this.#username = encoder.encode(credentials.username);
    this.#password = encoder.encode(password);
  }

  initialResponse(): null {
    return null;
  }

  respond(_challenge: Uint8Array): Uint8Array {
    // Servers send "Username:" then "Password:", but the text varies; the
    // order is what counts.
    this.#step++;
    if (this.#step === 1) return this.#username;
    if (this.#step === 2) return this.#password;
    throw unexpected(this.name);
  }
}

/** CRAM-MD5 (RFC 2195): the user name and HMAC-MD5(password, challenge). */
class CramMd5Mechanism implements SaslMechanism {
  readonly name = "CRAM-MD5" as const;
  readonly sendsSecret = false;
  readonly serverError: string | undefined = undefined;
  #username: string;
  #password: string;
  #done = false;

  constructor(credentials: SaslCredentials) {
    this.#password = need(credentials.password, "password", this.name);
    assertNoControl(credentials.username, "user name", CTL_REGEXP);
    this.#username = credentials.username;
  }

  initialResponse(): null {
    return null;
  }

  respond(challenge: Uint8Array): Uint8Array {
    if (this.#done || challenge.length === 0) throw unexpected(this.name);
    this.#done = true;
    return encoder.encode(`${this.#username} ${bytesToHex(hmacMd5(this.#password, challenge))}`);
  }
}

/**
 * The bearer-token mechanisms: XOAUTH2 (Google's) and OAUTHBEARER
 * (RFC 7628). After a refused token the server sends a JSON error as a
 * challenge; the client answers with a dummy response and the server then
 * sends its final refusal.
 */
class BearerMechanism implements SaslMechanism {
  readonly name: "XOAUTH2" | "OAUTHBEARER";
  readonly sendsSecret = true;
  #serverError: string | undefined;
  #message: Uint8Array;
  #sent = false;
  #failed = false;

  constructor(
    name: "XOAUTH2" | "OAUTHBEARER",
    credentials: SaslCredentials,
    options: SaslMechanismOptions,
  ) {
    this.name = name;
    const token = need(credentials.accessToken, "access token", name);
    assertNoControl(credentials.username, "user name", CTL_REGEXP);
    assertNoControl(token, "access token", CTL_REGEXP);
    if (name === "XOAUTH2") {
      this.#message = encoder.encode(
        `user=${credentials.username}\x01auth=Bearer ${token}\x01\x01`,
      );
      return;
    }
    // RFC 7628 §3.1: a GS2 header naming the user, then key=value pairs.
    const authzid = credentials.authorizationId || credentials.username;
    assertNoControl(authzid, "authorization identity", CTL_REGEXP);
    const saslName = authzid.replaceAll("=", "=3D").replaceAll(",", "=2C");
    let message = `n,a=${saslName},\x01`;
    if (options.host !== undefined) {
      assertNoControl(options.host, "host", CTL_REGEXP);
      message += `host=${options.host}\x01`;
    }
    if (options.port !== undefined) message += `port=${options.port}\x01`;
    message += `auth=Bearer ${token}\x01\x01`;
    this.#message = encoder.encode(message);
  }

  get serverError(): string | undefined {
    return this.#serverError;
  }

  initialResponse(): Uint8Array {
    this.#sent = true;
    return this.#message;
  }

  respond(challenge: Uint8Array): Uint8Array {
    if (!this.#sent && challenge.length === 0) return this.initialResponse();
    if (!this.#sent || this.#failed) throw unexpected(this.name);
    // The challenge is the server's JSON error status (RFC 7628 §3.2.2).
    this.#failed = true;
    this.#serverError = decoder.decode(challenge).slice(0, 1024);
    return this.name === "OAUTHBEARER" ? new Uint8Array([1]) : EMPTY;
  }
}

/**
 * Creates the client side of one SASL exchange. Bad credentials (a missing
 * password or token, a NUL in PLAIN's fields, control characters in a user
 * name) throw here, before anything is sent.
 *
 * @param name The mechanism, case-insensitive.
 * @param credentials The user name and the password or token.
 * @param options The server's host and port, for OAUTHBEARER.
 * @returns A fresh mechanism for one exchange.
 * @throws {TypeError} For an unknown mechanism or unusable credentials.
 *
 * @example Answering a CRAM-MD5 challenge (RFC 2195 §2)
 * ```ts
 * import { createSaslMechanism } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const sasl = createSaslMechanism("CRAM-MD5", { username: "tim", password: "tanstaaftanstaaf" });
 * assertEquals(sasl.initialResponse(), null);
 * const challenge = new TextEncoder().encode("<1896.697170952@postoffice.reston.mci.net>");
 * assertEquals(
 *   new TextDecoder().decode(sasl.respond(challenge)),
 *   "tim b913a602c7eda7a495b4e6e7334d3890",
 * );
 * ```
 *
 * @example PLAIN sends everything in its initial response
 * ```ts
 * import { createSaslMechanism } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const sasl = createSaslMechanism("plain", { username: "mulder", password: "trustno1" });
 * assertEquals(sasl.initialResponse()?.toBase64(), "AG11bGRlcgB0cnVzdG5vMQ==");
 * ```
 */
export function createSaslMechanism(
  name: string,
  credentials: SaslCredentials,
  options?: SaslMechanismOptions,
): SaslMechanism {
  options ??= {};
  if (typeof credentials?.username !== "string") {
    throw new TypeError("Cannot authenticate: the credentials have no user name");
  }
  const upper = name.toUpperCase();
  switch (upper) {
    case "PLAIN":
      return new PlainMechanism(credentials);
    case "LOGIN":
      return new LoginMechanism(credentials);
    case "CRAM-MD5":
      return new CramMd5Mechanism(credentials);
    case "XOAUTH2":
    case "OAUTHBEARER":
      return new BearerMechanism(upper, credentials, options);
    default:
      throw new TypeError(
        `Cannot authenticate: unsupported SASL mechanism ${JSON.stringify(name)}`,
      );
  }
}

/**
 * Picks the best mechanism that the server advertises, inetkit implements
 * and the credentials can serve (a password for PLAIN, LOGIN and CRAM-MD5; a
 * token for XOAUTH2 and OAUTHBEARER). On an unprotected connection only
 * mechanisms that keep the secret off the wire (CRAM-MD5) qualify.
 *
 * @param advertised The mechanism names the server lists (any case).
 * @param credentials What the client has.
 * @param options Whether the connection is secure, and the order to prefer.
 * @returns The chosen name, or `null` when none qualifies.
 *
 * @example Choosing for a server behind TLS
 * ```ts
 * import { chooseSaslMechanism } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const credentials = { username: "mulder", password: "trustno1" };
 * assertEquals(chooseSaslMechanism(["login", "PLAIN"], credentials, { secure: true }), "PLAIN");
 * assertEquals(chooseSaslMechanism(["LOGIN", "PLAIN"], credentials), null);
 * ```
 */
export function chooseSaslMechanism(
  advertised: Iterable<string>,
  credentials: SaslCredentials,
  options?: ChooseSaslMechanismOptions,
): SaslMechanismName | null {
  options ??= {};
  const offered = new Set<string>();
  for (const name of advertised) offered.add(name.toUpperCase());
  for (const wanted of options.preference ?? SASL_MECHANISMS) {
    const name = wanted.toUpperCase();
    if (!offered.has(name)) continue;
    switch (name) {
      case "OAUTHBEARER":
      case "XOAUTH2":
        if (credentials.accessToken !== undefined && options.secure) return name;
        break;
      case "CRAM-MD5":
        if (credentials.password !== undefined) return name;
        break;
      case "PLAIN":
      case "LOGIN":
        if (credentials.password !== undefined && options.secure) return name;
        break;
    }
  }
  return null;
}
