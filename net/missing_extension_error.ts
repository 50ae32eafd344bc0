/** Options for {@linkcode MissingExtensionError}. */
export interface MissingExtensionErrorOptions extends ErrorOptions {
  /**
   * What the server offers instead, when that helps choose another way: the
   * SASL mechanisms it advertised, the AUTHINFO forms it knows.
   */
  offered?: readonly string[];
}

/**
 * The error thrown when a command needs something the server does not
 * offer: STARTTLS (or POP3's STLS, FTP's AUTH TLS), SMTP CHUNKING, a SASL
 * mechanism the client may use, APOP, IMAP MOVE or UIDPLUS. Nothing was
 * sent that the server could misread, so the session stays usable: choose
 * another way, or connect somewhere else.
 *
 * It is not a {@linkcode ProtocolError}: the server broke no rule, it
 * lacks an extension.
 *
 * @example Reading what the server offers instead
 * ```ts
 * import { MissingExtensionError } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new MissingExtensionError("SASL", "Cannot authenticate: no usable mechanism", {
 *   offered: ["GSSAPI"],
 * });
 * assertEquals(error.extension, "SASL");
 * assertEquals(error.offered, ["GSSAPI"]);
 * assertEquals(error.name, "MissingExtensionError");
 * ```
 */
export class MissingExtensionError extends Error {
  /**
   * The extension or command the server lacks, as the protocol names it:
   * `"STARTTLS"`, `"STLS"`, `"AUTH TLS"`, `"CHUNKING"`, `"SASL"`,
   * `"APOP"`, `"LOGIN"` (IMAP `LOGINDISABLED`), `"MOVE"`, `"UIDPLUS"` or
   * `"AUTHINFO"`.
   */
  readonly extension: string;
  /** What the server offers instead (its SASL mechanisms, say); often empty. */
  readonly offered: readonly string[];

  /**
   * Creates the error.
   *
   * @param extension The extension the server lacks.
   * @param message A sentence in the "Cannot …" style naming the action.
   * @param options What the server offers instead, and a `cause`.
   */
  constructor(extension: string, message: string, options?: MissingExtensionErrorOptions) {
    options ??= {};
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MissingExtensionError";
    this.extension = extension;
    this.offered = options.offered ?? [];
  }
}
