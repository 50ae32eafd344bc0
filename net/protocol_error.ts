/**
 * The error thrown when a peer sends bytes that do not follow the protocol:
 * an over-long line, a malformed reply, an early end of stream.
 *
 * @example Telling an over-long line apart from other failures
 * ```ts
 * import { ProtocolError } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new ProtocolError("LINE_TOO_LONG", "Cannot read line: line exceeds 512 bytes");
 * assertEquals(error.code, "LINE_TOO_LONG");
 * assertEquals(error.name, "ProtocolError");
 * ```
 */
export class ProtocolError extends Error {
  /** A stable, machine-readable reason such as `"LINE_TOO_LONG"`, `"BAD_REPLY"` or `"UNEXPECTED_EOF"`. */
  readonly code: string;

  /**
   * Creates a protocol error.
   *
   * @param code A stable reason code in CONSTANT_CASE.
   * @param message A sentence naming the action and the value.
   * @param options Standard error options, such as `cause`.
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}
