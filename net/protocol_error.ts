/**
 * Every reason a {@linkcode ProtocolError} can give, one name per meaning.
 *
 * - Framing and size: `UNEXPECTED_EOF` (the stream ended mid-item),
 *   `LINE_TOO_LONG` (no line end, or no delimiter, within the limit),
 *   `BARE_LF`, `BARE_LINE_END`, `HEADER_TOO_LARGE`, `TOO_MANY_FIELDS`,
 *   `BODY_TOO_LARGE`, `REPLY_TOO_LARGE`, `COMMAND_TOO_LARGE`,
 *   `LITERAL_TOO_LARGE`, `LISTING_TOO_LARGE`, `MENU_TOO_LARGE`,
 *   `TOO_DEEP` (nesting past the limit), `TOO_MANY_PARTS`,
 *   `TOO_MANY_TOKENS`, `TOO_MANY_INTERIM`, `SHORT_REPLY`, `TRAILING_DATA`.
 * - Malformed input: `BAD_REPLY` (a reply or response that does not parse),
 *   `BAD_COMMAND`, `BAD_HEADER`, `OBS_FOLD`, `DUPLICATE_FIELD`,
 *   `MISSING_HEADER`, `BAD_ADDRESS`, `BAD_DATE`, `BAD_MESSAGE_ID`,
 *   `BAD_MAILBOX_NAME`, `BAD_CHALLENGE`, `SASL_UNEXPECTED_CHALLENGE`,
 *   `BAD_NEGOTIATION`, `BAD_SUBNEGOTIATION`, `SUBNEGOTIATION_TOO_LONG`.
 * - HTTP: `BAD_REQUEST_LINE`, `BAD_STATUS_LINE`, `URI_TOO_LONG`,
 *   `VERSION_NOT_SUPPORTED`,
 *   `BAD_HOST`, `BAD_CHUNK`, `BAD_CONTENT_LENGTH`, `BAD_TRANSFER_ENCODING`,
 *   `AMBIGUOUS_FRAMING`, `NOT_IMPLEMENTED`, and the WebSocket frame errors
 *   starting `WS_`.
 * - FTP: `BAD_PASV_REPLY`, `BAD_EPSV_REPLY`, `BAD_PORT_ARGUMENT`,
 *   `BAD_EPRT_ARGUMENT`, `UNSUPPORTED_EPRT_FAMILY`, `BAD_SIZE_REPLY`,
 *   `BAD_MDTM_REPLY`, `BAD_PATH_REPLY`, `BAD_MLST_REPLY`,
 *   `DATA_CONNECT_FAILED`, `UNSAFE_LISTING_NAME`, `INSECURE_AUTH`.
 * - NNTP spool and client: `BAD_OVERVIEW`, `BAD_OVERVIEW_FORMAT`,
 *   `DUPLICATE_ARTICLE`, `UNKNOWN_GROUP`, `POSTING_NOT_ALLOWED`.
 * - Attacks on the conversation: `UNSOLICITED` (bytes before a command was
 *   sent), `STARTTLS_INJECTION` and `TUNNEL_INJECTION` (bytes buffered
 *   before a TLS handshake).
 */
export type ProtocolErrorCode =
  | "UNEXPECTED_EOF"
  | "LINE_TOO_LONG"
  | "BARE_LF"
  | "BARE_LINE_END"
  | "HEADER_TOO_LARGE"
  | "TOO_MANY_FIELDS"
  | "BODY_TOO_LARGE"
  | "REPLY_TOO_LARGE"
  | "COMMAND_TOO_LARGE"
  | "LITERAL_TOO_LARGE"
  | "LISTING_TOO_LARGE"
  | "MENU_TOO_LARGE"
  | "TOO_DEEP"
  | "TOO_MANY_PARTS"
  | "TOO_MANY_TOKENS"
  | "TOO_MANY_INTERIM"
  | "SHORT_REPLY"
  | "TRAILING_DATA"
  | "BAD_REPLY"
  | "BAD_COMMAND"
  | "BAD_HEADER"
  | "OBS_FOLD"
  | "DUPLICATE_FIELD"
  | "MISSING_HEADER"
  | "BAD_ADDRESS"
  | "BAD_DATE"
  | "BAD_MESSAGE_ID"
  | "BAD_MAILBOX_NAME"
  | "BAD_CHALLENGE"
  | "SASL_UNEXPECTED_CHALLENGE"
  | "BAD_NEGOTIATION"
  | "BAD_SUBNEGOTIATION"
  | "SUBNEGOTIATION_TOO_LONG"
  | "BAD_REQUEST_LINE"
  | "BAD_STATUS_LINE"
  | "URI_TOO_LONG"
  | "VERSION_NOT_SUPPORTED"
  | "BAD_HOST"
  | "BAD_CHUNK"
  | "BAD_CONTENT_LENGTH"
  | "BAD_TRANSFER_ENCODING"
  | "AMBIGUOUS_FRAMING"
  | "NOT_IMPLEMENTED"
  | "WS_BAD_CLOSE_CODE"
  | "WS_BAD_CLOSE_PAYLOAD"
  | "WS_BAD_LENGTH"
  | "WS_BAD_OPCODE"
  | "WS_CONTROL_FRAME_TOO_LONG"
  | "WS_EXPECTED_CONTINUATION"
  | "WS_FRAGMENTED_CONTROL_FRAME"
  | "WS_INVALID_UTF8"
  | "WS_MASKED_FRAME"
  | "WS_MESSAGE_TOO_LARGE"
  | "WS_RESERVED_BITS"
  | "WS_UNEXPECTED_CONTINUATION"
  | "WS_UNMASKED_FRAME"
  | "BAD_PASV_REPLY"
  | "BAD_EPSV_REPLY"
  | "BAD_PORT_ARGUMENT"
  | "BAD_EPRT_ARGUMENT"
  | "UNSUPPORTED_EPRT_FAMILY"
  | "BAD_SIZE_REPLY"
  | "BAD_MDTM_REPLY"
  | "BAD_PATH_REPLY"
  | "BAD_MLST_REPLY"
  | "DATA_CONNECT_FAILED"
  | "UNSAFE_LISTING_NAME"
  | "INSECURE_AUTH"
  | "BAD_OVERVIEW"
  | "BAD_OVERVIEW_FORMAT"
  | "DUPLICATE_ARTICLE"
  | "UNKNOWN_GROUP"
  | "POSTING_NOT_ALLOWED"
  | "UNSOLICITED"
  | "STARTTLS_INJECTION"
  | "TUNNEL_INJECTION";

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
  /**
   * A stable, machine-readable reason such as `"LINE_TOO_LONG"`, `"BAD_REPLY"`
   * or `"UNEXPECTED_EOF"`: one of {@linkcode ProtocolErrorCode}.
   */
  readonly code: ProtocolErrorCode;

  /**
   * Creates a protocol error.
   *
   * @param code The reason, one of {@linkcode ProtocolErrorCode}.
   * @param message A sentence naming the action and the value.
   * @param options Standard error options, such as `cause`.
   */
  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}
