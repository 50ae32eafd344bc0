/**
 * FTP data connection addresses: the `227` (PASV, RFC 959 §4.1.2) and `229`
 * (EPSV, RFC 2428 §3) replies a client reads, the `PORT` and `EPRT`
 * arguments it sends, and the same arguments as a server reads them.
 *
 * @module
 */
import { ProtocolError } from "./protocol_error.ts";

/** A host and port of a data connection. */
export interface FtpHostPort {
  /** An IPv4 address in dotted form or an IPv6 address (no brackets). */
  hostname: string;
  /** The TCP port, 1 to 65535. */
  port: number;
}

// Exactly six numbers: not part of a longer comma-separated run.
const PASV_REGEXP =
  /(?<!\d|,\s*)(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)(?!\d|\s*,)/;
const PORT_ARGUMENT_REGEXP = /^(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})$/;
const IPV4_REGEXP = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
const PORT_REGEXP = /^[1-9]\d{0,4}$/;
const HEX_GROUP_REGEXP = /^[0-9A-Fa-f]{1,4}$/;

/** Shows peer text in a message: quoted, escaped, at most 80 characters. */
function shown(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

/**
 * Reads the address of a `227` reply: six comma-separated numbers anywhere
 * in the text, with or without parentheses, as servers vary
 * (`227 Entering Passive Mode (127,0,0,1,117,91).`, `227 =127,0,0,1,117,91`).
 * Every number must be 0-255 and the port 1-65535. A client should connect
 * to the control connection's peer, not to this address, unless told to
 * (RELIABILITY.md: a hostile server can point it anywhere).
 *
 * @param text The reply text, with or without its code.
 * @returns The host and port.
 * @throws {ProtocolError} `"BAD_PASV_REPLY"` when no six numbers are found
 *   or one is out of range.
 *
 * @example Reading vsftpd's reply
 * ```ts
 * import { parseFtpPasvReply } from "./_ftp_address.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseFtpPasvReply("Entering Passive Mode (127,0,0,1,117,91)."), {
 *   hostname: "127.0.0.1",
 *   port: 30043,
 * });
 * ```
 */
export function parseFtpPasvReply(text: string): FtpHostPort {
  const match = PASV_REGEXP.exec(text);
  if (match === null) {
    throw new ProtocolError(
      "BAD_PASV_REPLY",
      `Cannot parse PASV reply: no address in ${shown(text)}`,
    );
  }
  const numbers = match.slice(1, 7).map((digits) => {
    const n = digits.length > 3 ? 256 : Number(digits);
    if (n > 255) {
      throw new ProtocolError(
        "BAD_PASV_REPLY",
        `Cannot parse PASV reply: ${digits} is not a number from 0 to 255`,
      );
    }
    return n;
  });
  const port = numbers[4]! * 256 + numbers[5]!;
  if (port === 0) {
    throw new ProtocolError("BAD_PASV_REPLY", "Cannot parse PASV reply: port 0 is out of range");
  }
  return { hostname: numbers.slice(0, 4).join("."), port };
}

/**
 * Reads the port of a `229` reply (RFC 2428 §3):
 * `229 Entering Extended Passive Mode (|||6446|)`. The delimiter may be any
 * character from `!` to `~` except a digit (a digit delimiter would make
 * the port ambiguous), used all four times; the address fields must be
 * empty, and the port 1-65535.
 *
 * @param text The reply text, with or without its code.
 * @returns The port.
 * @throws {ProtocolError} `"BAD_EPSV_REPLY"` when no `(ddd port d)` group is
 *   found or the port is out of range.
 *
 * @example Reading vsftpd's reply
 * ```ts
 * import { parseFtpEpsvReply } from "./_ftp_address.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseFtpEpsvReply("Entering Extended Passive Mode (|||30081|)"), 30081);
 * assertEquals(parseFtpEpsvReply("229 Extended (!!!6446!)"), 6446);
 * ```
 */
export function parseFtpEpsvReply(text: string): number {
  for (let open = text.indexOf("("); open >= 0; open = text.indexOf("(", open + 1)) {
    const d = text[open + 1];
    if (d === undefined || text[open + 2] !== d || text[open + 3] !== d) continue;
    const code = d.charCodeAt(0);
    if (code < 0x21 || code > 0x7e || (code >= 0x30 && code <= 0x39)) continue;
    const close = text.indexOf(d + ")", open + 4);
    if (close < 0) continue;
    const digits = text.slice(open + 4, close);
    if (!/^\d+$/.test(digits)) {
      throw new ProtocolError(
        "BAD_EPSV_REPLY",
        `Cannot parse EPSV reply: port ${shown(digits)} is not a number`,
      );
    }
    const port = digits.length > 5 ? 65536 : Number(digits);
    if (port < 1 || port > 65535) {
      throw new ProtocolError(
        "BAD_EPSV_REPLY",
        `Cannot parse EPSV reply: port ${digits} is out of range`,
      );
    }
    return port;
  }
  throw new ProtocolError("BAD_EPSV_REPLY", `Cannot parse EPSV reply: no port in ${shown(text)}`);
}

/** The four bytes of a strict dotted IPv4 address (no leading zeros), or `null`. */
function parseIpv4(text: string): number[] | null {
  const match = IPV4_REGEXP.exec(text);
  if (match === null) return null;
  const bytes = match.slice(1, 5).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

/** The eight 16-bit groups of an IPv6 address (RFC 4291 §2.2 text forms), or `null`. */
function parseIpv6(text: string): number[] | null {
  if (text.length < 2 || text.length > 45) return null;
  let tail: number[] = [];
  let body = text;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    body = text.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::"; "a:b::c:1.2.3.4" leaves "a:b::c:".
    if (body.endsWith(":") && !body.endsWith("::")) body = body.slice(0, -1);
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    for (const group of part.split(":")) {
      if (!HEX_GROUP_REGEXP.test(group)) return null;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  if (head === null) return null;
  if (halves.length === 1) {
    const all = [...head, ...tail];
    return all.length === 8 ? all : null;
  }
  const rest = groups(halves[1]!);
  if (rest === null) return null;
  const known = head.length + rest.length + tail.length;
  if (known > 7) return null;
  return [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail];
}

/** The IPv4 bytes of an IPv4 address or of an IPv4-mapped IPv6 address, or `null`. */
function ipv4Of(hostname: string): number[] | null {
  const v4 = parseIpv4(hostname);
  if (v4 !== null) return v4;
  const v6 = parseIpv6(hostname);
  if (v6 === null || v6.slice(0, 5).some((g) => g !== 0) || v6[5] !== 0xffff) return null;
  return [v6[6]! >> 8, v6[6]! & 255, v6[7]! >> 8, v6[7]! & 255];
}

function checkPort(port: number, action: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot format ${action}: port ${port} is out of range`);
  }
}

function unbracket(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

/**
 * Writes the text of a server's `227` reply (RFC 959 §4.1.2), in the form
 * clients parse most widely: `Entering Passive Mode (h1,h2,h3,h4,p1,p2)`.
 *
 * @param address The address the server listens on for the data connection.
 * @returns The reply text after `227 `.
 * @throws {RangeError} If the host is not an IPv4 address or the port is not 1-65535.
 *
 * @example Writing a 227 reply
 * ```ts
 * import { formatFtpPasvReply, parseFtpPasvReply } from "./_ftp_address.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const text = formatFtpPasvReply({ hostname: "127.0.0.1", port: 30043 });
 * assertEquals(text, "Entering Passive Mode (127,0,0,1,117,91)");
 * assertEquals(parseFtpPasvReply(text).port, 30043);
 * ```
 */
export function formatFtpPasvReply(address: FtpHostPort): string {
  return `Entering Passive Mode (${formatFtpPortArgument(address)})`;
}

/**
 * Writes the text of a server's `229` reply (RFC 2428 §3):
 * `Entering Extended Passive Mode (|||port|)`.
 *
 * @param port The port the server listens on for the data connection.
 * @returns The reply text after `229 `.
 * @throws {RangeError} If the port is not 1-65535.
 *
 * @example Writing a 229 reply
 * ```ts
 * import { formatFtpEpsvReply } from "./_ftp_address.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatFtpEpsvReply(6446), "Entering Extended Passive Mode (|||6446|)");
 * ```
 */
export function formatFtpEpsvReply(port: number): string {
  checkPort(port, "EPSV reply");
  return `Entering Extended Passive Mode (|||${port}|)`;
}

/**
 * Formats the argument of `PORT` (RFC 959 §4.1.2): `h1,h2,h3,h4,p1,p2`.
 * An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, as dual-stack sockets
 * report) is written as its IPv4 address.
 *
 * @param address The local address the client listens on.
 * @returns The argument, without the `PORT ` verb.
 * @throws {RangeError} If the host is not an IPv4 address or the port is not 1-65535.
 *
 * @example Formatting a PORT argument
 * ```ts
 * import { formatFtpPortArgument } from "./_ftp_address.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatFtpPortArgument({ hostname: "127.0.0.1", port: 30043 }), "127,0,0,1,117,91");
 * ```
 */
export function formatFtpPortArgument(address: FtpHostPort): string {
  checkPort(address.port, "PORT argument");
  const v4 = ipv4Of(unbracket(address.hostname));
  if (v4 === null) {
    throw new RangeError(
      `Cannot format PORT argument: ${JSON.stringify(address.hostname)} is not an IPv4 address`,
    );
  }
  return [...v4, address.port >> 8, address.port & 255].join(",");
}

/**
 * Formats the argument of `EPRT` (RFC 2428 §2): `|1|132.235.1.2|6275|` for
 * IPv4 and `|2|::1|6275|` for IPv6. An IPv4-mapped IPv6 address is written
 * as family 1. Brackets around an IPv6 address are removed; a zone
 * (`fe80::1%eth0`) cannot be sent and is refused.
 *
 * @param address The local address the client listens on.
 * @returns The argument, without the `EPRT ` verb.
 * @throws {RangeError} If the host is not an IP address or the port is not 1-65535.
 *
 * @example Formatting EPRT arguments
 * ```ts
 * import { formatFtpEprtArgument } from "./_ftp_address.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   formatFtpEprtArgument({ hostname: "132.235.1.2", port: 6275 }),
 *   "|1|132.235.1.2|6275|",
 * );
 * assertEquals(formatFtpEprtArgument({ hostname: "::1", port: 6275 }), "|2|::1|6275|");
 * ```
 */
export function formatFtpEprtArgument(address: FtpHostPort): string {
  checkPort(address.port, "EPRT argument");
  const hostname = unbracket(address.hostname);
  const v4 = ipv4Of(hostname);
  if (v4 !== null) return `|1|${v4.join(".")}|${address.port}|`;
  if (parseIpv6(hostname) !== null) return `|2|${hostname.toLowerCase()}|${address.port}|`;
  throw new RangeError(
    `Cannot format EPRT argument: ${JSON.stringify(address.hostname)} is not an IP address`,
  );
}

/**
 * Reads a client's `PORT` argument on the server: exactly
 * `h1,h2,h3,h4,p1,p2`, each a decimal number 0-255, the port 1-65535.
 * Map the error to `501`. The server should still refuse a host other than
 * the control connection's peer and ports below 1024 (the FTP bounce
 * attack, RFC 2577 §3).
 *
 * @param argument The text after `PORT `.
 * @returns The host and port.
 * @throws {ProtocolError} `"BAD_PORT_ARGUMENT"` for anything else.
 *
 * @example Reading a PORT argument
 * ```ts
 * import { parseFtpPortArgument } from "./_ftp_address.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseFtpPortArgument("127,0,0,1,117,91"), { hostname: "127.0.0.1", port: 30043 });
 * ```
 */
export function parseFtpPortArgument(argument: string): FtpHostPort {
  const match = PORT_ARGUMENT_REGEXP.exec(argument.trim());
  const bad = (why: string) =>
    new ProtocolError("BAD_PORT_ARGUMENT", `Cannot parse PORT argument ${shown(argument)}: ${why}`);
  if (match === null) throw bad("expected h1,h2,h3,h4,p1,p2");
  const numbers = match.slice(1, 7).map(Number);
  if (numbers.some((n) => n > 255)) throw bad("a number exceeds 255");
  const port = numbers[4]! * 256 + numbers[5]!;
  if (port === 0) throw bad("port 0 is out of range");
  return { hostname: numbers.slice(0, 4).join("."), port };
}

/**
 * Reads a client's `EPRT` argument on the server (RFC 2428 §2):
 * `<d><family><d><address><d><port><d>` with one delimiter from `!` to `~`
 * (not a digit, which would be ambiguous) used four times, family `1` with a dotted IPv4 address or `2` with an
 * IPv6 address, and a port 1-65535. Map `"BAD_EPRT_ARGUMENT"` to `501` and
 * `"UNSUPPORTED_EPRT_FAMILY"` to `522` (RFC 2428 §2: "Network protocol not
 * supported, use (1,2)"). As for `PORT`, the server should check the host
 * against the control connection's peer.
 *
 * @param argument The text after `EPRT `.
 * @returns The host (IPv6 lower-cased) and port.
 * @throws {ProtocolError} `"BAD_EPRT_ARGUMENT"` for a malformed argument, an
 *   address of the wrong family or a port out of range;
 *   `"UNSUPPORTED_EPRT_FAMILY"` for a well-formed family other than 1 or 2.
 *
 * @example Reading EPRT arguments
 * ```ts
 * import { parseFtpEprtArgument } from "./_ftp_address.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseFtpEprtArgument("|1|132.235.1.2|6275|"), { hostname: "132.235.1.2", port: 6275 });
 * assertEquals(parseFtpEprtArgument("|2|::1|6275|"), { hostname: "::1", port: 6275 });
 * ```
 */
export function parseFtpEprtArgument(argument: string): FtpHostPort {
  const text = argument.trim();
  const bad = (why: string) =>
    new ProtocolError("BAD_EPRT_ARGUMENT", `Cannot parse EPRT argument ${shown(argument)}: ${why}`);
  const d = text[0];
  const code = d?.charCodeAt(0) ?? 0;
  const digit = code >= 0x30 && code <= 0x39;
  if (
    d === undefined || code < 0x21 || code > 0x7e || digit || !text.endsWith(d) || text.length < 2
  ) {
    throw bad("expected |family|address|port|");
  }
  const fields = text.slice(1, -1).split(d);
  if (fields.length !== 3) throw bad("expected |family|address|port|");
  const [family, hostname, portText] = fields as [string, string, string];
  if (!/^\d{1,3}$/.test(family)) throw bad("the family is not a number");
  if (family !== "1" && family !== "2") {
    throw new ProtocolError(
      "UNSUPPORTED_EPRT_FAMILY",
      `Cannot parse EPRT argument: network protocol ${family} is not supported, use (1,2)`,
    );
  }
  if (family === "1" ? parseIpv4(hostname) === null : parseIpv6(hostname) === null) {
    throw bad(`${JSON.stringify(hostname)} is not an address of family ${family}`);
  }
  if (!PORT_REGEXP.test(portText) || Number(portText) > 65535) {
    throw bad(`port ${JSON.stringify(portText)} is out of range`);
  }
  return {
    hostname: family === "2" ? hostname.toLowerCase() : hostname,
    port: Number(portText),
  };
}
