/**
 * Telnet command and option numbers (RFC 854, RFC 855 and the option RFCs).
 *
 * @module
 */

/**
 * The Telnet command bytes that follow IAC (RFC 854 "TELNET COMMAND
 * STRUCTURE", plus EOR from RFC 885 and ABORT, SUSP, EOF from RFC 1184).
 *
 * @example Building an "Are You There" command by hand
 * ```ts
 * import { TELNET_COMMAND } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals([TELNET_COMMAND.IAC, TELNET_COMMAND.AYT], [255, 246]);
 * ```
 */
export const TELNET_COMMAND = {
  /** End of file (RFC 1184, LINEMODE). */
  EOF: 236,
  /** Suspend process (RFC 1184, LINEMODE). */
  SUSP: 237,
  /** Abort process (RFC 1184, LINEMODE). */
  ABORT: 238,
  /** End of record (RFC 885). */
  EOR: 239,
  /** End of subnegotiation parameters. */
  SE: 240,
  /** No operation. */
  NOP: 241,
  /** Data Mark, the data stream part of a Synch. */
  DM: 242,
  /** Break. */
  BRK: 243,
  /** Interrupt Process. */
  IP: 244,
  /** Abort Output. */
  AO: 245,
  /** Are You There. */
  AYT: 246,
  /** Erase Character. */
  EC: 247,
  /** Erase Line. */
  EL: 248,
  /** Go Ahead. */
  GA: 249,
  /** Start of subnegotiation. */
  SB: 250,
  /** The sender will (or does) perform the option. */
  WILL: 251,
  /** The sender refuses to perform (or stops performing) the option. */
  WONT: 252,
  /** The sender asks the receiver to perform the option. */
  DO: 253,
  /** The sender asks the receiver to stop performing the option. */
  DONT: 254,
  /** Interpret As Command, the escape byte; doubled to send a data byte 255. */
  IAC: 255,
} as const;

/**
 * Telnet option numbers (the IANA registry). {@linkcode TelnetCodec} handles
 * the subnegotiations of TERMINAL_TYPE (RFC 1091), NAWS (RFC 1073) and
 * NEW_ENVIRON (RFC 1572) itself, and BINARY (RFC 856) switches its line-end
 * translation off; any other option can be accepted and its subnegotiations
 * observed and sent by the caller.
 *
 * @example Listing the options a client usually accepts from a server
 * ```ts
 * import { TELNET_OPTION } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals([TELNET_OPTION.ECHO, TELNET_OPTION.SUPPRESS_GO_AHEAD], [1, 3]);
 * ```
 */
export const TELNET_OPTION = {
  /** Binary transmission (RFC 856). */
  BINARY: 0,
  /** Echo (RFC 857). */
  ECHO: 1,
  /** Reconnection (NIC 15391). */
  RECONNECTION: 2,
  /** Suppress Go Ahead (RFC 858). */
  SUPPRESS_GO_AHEAD: 3,
  /** Approximate message size negotiation. */
  APPROX_MESSAGE_SIZE: 4,
  /** Status (RFC 859). */
  STATUS: 5,
  /** Timing mark (RFC 860). */
  TIMING_MARK: 6,
  /** Remote controlled transmission and echo (RFC 726). */
  RCTE: 7,
  /** Extended ASCII (RFC 698). */
  EXTEND_ASCII: 17,
  /** Logout (RFC 727). */
  LOGOUT: 18,
  /** Terminal type (RFC 1091). */
  TERMINAL_TYPE: 24,
  /** End of record (RFC 885). */
  END_OF_RECORD: 25,
  /** Window size, "Negotiate About Window Size" (RFC 1073). */
  NAWS: 31,
  /** Terminal speed (RFC 1079). */
  TERMINAL_SPEED: 32,
  /** Remote flow control (RFC 1372). */
  TOGGLE_FLOW_CONTROL: 33,
  /** Linemode (RFC 1184). */
  LINEMODE: 34,
  /** X display location (RFC 1096). */
  X_DISPLAY_LOCATION: 35,
  /** Environment, the old variant (RFC 1408). */
  OLD_ENVIRON: 36,
  /** Authentication (RFC 2941). */
  AUTHENTICATION: 37,
  /** Encryption (RFC 2946). */
  ENCRYPT: 38,
  /** Environment (RFC 1572). */
  NEW_ENVIRON: 39,
  /** Charset (RFC 2066). */
  CHARSET: 42,
  /** Com port control (RFC 2217). */
  COM_PORT_OPTION: 44,
  /** Extended options list (RFC 861). */
  EXOPL: 255,
} as const;

/**
 * The well-known Telnet port (RFC 854).
 *
 * @example
 * ```ts
 * import { TELNET_PORT } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(TELNET_PORT, 23);
 * ```
 */
export const TELNET_PORT = 23;
