import {
  formatFtpEprtArgument,
  formatFtpEpsvReply,
  formatFtpPasvReply,
  formatFtpPortArgument,
  type FtpHostPort,
  parseFtpEprtArgument,
  parseFtpEpsvReply,
  parseFtpPasvReply,
  parseFtpPortArgument,
} from "../../net/_ftp_address.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assertEquals, assertStringIncludes, assertThrows } from "../_helpers/assert.ts";

const control = Deno.readTextFileSync(
  new URL("./fixtures/ftp/vsftpd_control.txt", import.meta.url),
);

/** The reply line that follows `C: command` in the captured transcript. */
function replyTo(command: string): string {
  const lines = control.split("\r\n");
  return lines[lines.indexOf(`C: ${command}`) + 1]!;
}

function protocolError(fn: () => unknown, code: string, label: string): ProtocolError {
  const error = assertThrows(fn, ProtocolError, undefined, label);
  assertEquals(error.code, code, label);
  return error;
}

Deno.test("parseFtpPasvReply() reads vsftpd's captured 227 reply", () => {
  const reply = replyTo("PASV");
  assertEquals(reply, "227 Entering Passive Mode (127,0,0,1,117,75).");
  assertEquals(parseFtpPasvReply(reply), { hostname: "127.0.0.1", port: 30027 });
  assertEquals(parseFtpPasvReply(reply.slice(4)), { hostname: "127.0.0.1", port: 30027 });
});

Deno.test("parseFtpPasvReply() reads the forms real servers send", () => {
  const cases: [string, FtpHostPort][] = [
    ["227 Entering Passive Mode (192,168,1,2,4,1)", { hostname: "192.168.1.2", port: 1025 }],
    ["227 Entering Passive Mode 192,168,1,2,4,1", { hostname: "192.168.1.2", port: 1025 }],
    ["227 =192,168,1,2,4,1", { hostname: "192.168.1.2", port: 1025 }],
    ["227 Entering passive mode (192, 168, 1, 2, 4, 1).", { hostname: "192.168.1.2", port: 1025 }],
    ["227 Passive v1.2 ok (10,0,0,1,255,255)", { hostname: "10.0.0.1", port: 65535 }],
    ["227 (0,0,0,0,0,1)", { hostname: "0.0.0.0", port: 1 }],
    ["227 (010,000,000,001,000,021)", { hostname: "10.0.0.1", port: 21 }],
  ];
  for (const [text, expected] of cases) assertEquals(parseFtpPasvReply(text), expected, text);
});

Deno.test("parseFtpPasvReply() rejects malformed 227 replies", () => {
  const cases: [string, string, string][] = [
    ["no numbers", "227 Entering Passive Mode", "no address"],
    ["empty", "", "no address"],
    ["five numbers", "227 (127,0,0,1,117)", "no address"],
    ["seven numbers", "227 (127,0,0,1,117,91,1)", "no address"],
    ["seven numbers with spaces", "227 (1, 127,0,0,1,117,91)", "no address"],
    ["negative port byte", "227 (127,0,0,1,-1,91)", "no address"],
    ["hex", "227 (0x7f,0,0,1,117,91)", "no address"],
    ["semicolons", "227 (127;0;0;1;117;91)", "no address"],
    ["host byte 256", "227 (256,0,0,1,117,91)", "256 is not a number from 0 to 255"],
    ["port byte 256", "227 (127,0,0,1,256,91)", "256 is not a number from 0 to 255"],
    ["four digits", "227 (127,0,0,1,1000,91)", "1000 is not a number from 0 to 255"],
    ["overflowing digits", "227 (127,0,0,1,99999999999999999999,1)", "is not a number"],
    ["port 0", "227 (127,0,0,1,0,0)", "port 0 is out of range"],
  ];
  for (const [label, text, message] of cases) {
    const error = protocolError(() => parseFtpPasvReply(text), "BAD_PASV_REPLY", label);
    assertStringIncludes(error.message, message, label);
    assertStringIncludes(error.message, "Cannot parse PASV reply", label);
  }
  // Peer text in messages is quoted and cut short.
  const long = "227 " + "x\u0007".repeat(200);
  const error = protocolError(() => parseFtpPasvReply(long), "BAD_PASV_REPLY", "long");
  assertStringIncludes(error.message, "\\u0007");
  // 80 characters of text at most, each escaped control character 6 long.
  assertEquals(error.message.length < 400, true);
});

Deno.test("parseFtpEpsvReply() reads vsftpd's captured 229 reply and other delimiters", () => {
  const reply = replyTo("EPSV");
  assertEquals(reply, "229 Entering Extended Passive Mode (|||30081|)");
  assertEquals(parseFtpEpsvReply(reply), 30081);
  const cases: [string, number][] = [
    ["229 Entering Extended Passive Mode (|||6446|)", 6446],
    ["229 (!!!6446!)", 6446],
    ["229 (~~~1~)", 1],
    ["229 (###65535#)", 65535],
    ["229 ok (see RFC 2428) (|||6446|).", 6446],
    ["(|||06446|)", 6446],
  ];
  for (const [text, port] of cases) assertEquals(parseFtpEpsvReply(text), port, text);
});

Deno.test("parseFtpEpsvReply() rejects malformed 229 replies", () => {
  const cases: [string, string, string][] = [
    ["no group", "229 Entering Extended Passive Mode", "no port"],
    ["empty", "", "no port"],
    ["no parentheses", "229 |||6446|", "no port"],
    ["no closing parenthesis", "229 (|||6446|", "no port"],
    ["mixed delimiters", "229 (|!|6446|)", "no port"],
    ["two delimiters", "229 (||6446|)", "no port"],
    ["address fields filled", "229 (|1|127.0.0.1|6446|)", "no port"],
    ["digit delimiter", "229 (11164461)", "no port"],
    ["space delimiter", "229 (   6446 )", "no port"],
    ["control delimiter", "229 (\u0001\u0001\u00016446\u0001)", "no port"],
    ["DEL delimiter", "229 (\u007f\u007f\u007f6446\u007f)", "no port"],
    ["empty port", "229 (||||)", "is not a number"],
    ["letters", "229 (|||abc|)", "is not a number"],
    ["sign", "229 (|||+6446|)", "is not a number"],
    ["negative", "229 (|||-1|)", "is not a number"],
    ["fraction", "229 (|||64.5|)", "is not a number"],
    ["port 0", "229 (|||0|)", "port 0 is out of range"],
    ["port 65536", "229 (|||65536|)", "port 65536 is out of range"],
    ["port 70000", "229 (|||70000|)", "port 70000 is out of range"],
    ["overflowing digits", "229 (|||99999999999999999999|)", "is out of range"],
  ];
  for (const [label, text, message] of cases) {
    const error = protocolError(() => parseFtpEpsvReply(text), "BAD_EPSV_REPLY", label);
    assertStringIncludes(error.message, message, label);
    assertStringIncludes(error.message, "Cannot parse EPSV reply", label);
  }
});

Deno.test("formatFtpPortArgument() writes h1,h2,h3,h4,p1,p2", () => {
  const cases: [FtpHostPort, string][] = [
    [{ hostname: "127.0.0.1", port: 30043 }, "127,0,0,1,117,91"],
    [{ hostname: "10.1.2.3", port: 1 }, "10,1,2,3,0,1"],
    [{ hostname: "255.255.255.255", port: 65535 }, "255,255,255,255,255,255"],
    [{ hostname: "::ffff:127.0.0.1", port: 21 }, "127,0,0,1,0,21"],
    [{ hostname: "[::ffff:7f00:1]", port: 21 }, "127,0,0,1,0,21"],
  ];
  for (const [address, expected] of cases) {
    assertEquals(formatFtpPortArgument(address), expected);
    assertEquals(parseFtpPortArgument(expected).port, address.port);
  }
});

Deno.test("formatFtpPortArgument() refuses what PORT cannot carry", () => {
  const cases: [FtpHostPort, string][] = [
    [{ hostname: "::1", port: 21 }, "is not an IPv4 address"],
    [{ hostname: "localhost", port: 21 }, "is not an IPv4 address"],
    [{ hostname: "127.0.0.256", port: 21 }, "is not an IPv4 address"],
    [{ hostname: "127.0.0.01", port: 21 }, "is not an IPv4 address"],
    [{ hostname: "127.0.0.1", port: 0 }, "port 0 is out of range"],
    [{ hostname: "127.0.0.1", port: 65536 }, "port 65536 is out of range"],
    [{ hostname: "127.0.0.1", port: 21.5 }, "port 21.5 is out of range"],
  ];
  for (const [address, message] of cases) {
    assertThrows(() => formatFtpPortArgument(address), RangeError, message);
  }
});

Deno.test("formatFtpEprtArgument() writes family 1 and 2 arguments", () => {
  const cases: [FtpHostPort, string][] = [
    [{ hostname: "132.235.1.2", port: 6275 }, "|1|132.235.1.2|6275|"],
    [{ hostname: "::1", port: 6275 }, "|2|::1|6275|"],
    [{ hostname: "[::1]", port: 6275 }, "|2|::1|6275|"],
    [{ hostname: "1080::8:800:200C:417A", port: 5282 }, "|2|1080::8:800:200c:417a|5282|"],
    [{ hostname: "::ffff:10.0.0.1", port: 21 }, "|1|10.0.0.1|21|"],
  ];
  for (const [address, expected] of cases) {
    assertEquals(formatFtpEprtArgument(address), expected);
    const back = parseFtpEprtArgument(expected);
    assertEquals(back.port, address.port);
  }
  assertThrows(
    () => formatFtpEprtArgument({ hostname: "fe80::1%eth0", port: 21 }),
    RangeError,
    "is not an IP address",
  );
  assertThrows(
    () => formatFtpEprtArgument({ hostname: "example.test", port: 21 }),
    RangeError,
    "is not an IP address",
  );
  assertThrows(
    () => formatFtpEprtArgument({ hostname: "::1", port: 0 }),
    RangeError,
    "port 0 is out of range",
  );
});

Deno.test("parseFtpPortArgument() reads a client's PORT argument strictly", () => {
  assertEquals(parseFtpPortArgument("127,0,0,1,117,91"), { hostname: "127.0.0.1", port: 30043 });
  assertEquals(parseFtpPortArgument(" 10,0,0,1,0,21 "), { hostname: "10.0.0.1", port: 21 });
  assertEquals(parseFtpPortArgument("010,0,0,1,0,21"), { hostname: "10.0.0.1", port: 21 });
  const bad: [string, string][] = [
    ["", "expected h1,h2,h3,h4,p1,p2"],
    ["127,0,0,1,117", "expected"],
    ["127,0,0,1,117,91,1", "expected"],
    ["127,0,0,1,117,", "expected"],
    ["127, 0,0,1,117,91", "expected"],
    ["127.0.0.1,117,91", "expected"],
    ["127,0,0,1,-1,91", "expected"],
    ["127,0,0,1,1000,1", "expected"],
    ["0x7f,0,0,1,117,91", "expected"],
    ["127,0,0,1,117,91\r\nDELE x", "expected"],
    ["256,0,0,1,117,91", "a number exceeds 255"],
    ["127,0,0,1,117,256", "a number exceeds 255"],
    ["127,0,0,1,0,0", "port 0 is out of range"],
  ];
  for (const [argument, message] of bad) {
    const error = protocolError(
      () => parseFtpPortArgument(argument),
      "BAD_PORT_ARGUMENT",
      argument,
    );
    assertStringIncludes(error.message, message, argument);
  }
});

Deno.test("parseFtpEprtArgument() reads a client's EPRT argument strictly", () => {
  const good: [string, FtpHostPort][] = [
    ["|1|132.235.1.2|6275|", { hostname: "132.235.1.2", port: 6275 }],
    ["|2|1080::8:800:200C:417A|5282|", { hostname: "1080::8:800:200c:417a", port: 5282 }],
    ["!1!10.0.0.1!21!", { hostname: "10.0.0.1", port: 21 }],
    [" |2|::1|65535| ", { hostname: "::1", port: 65535 }],
    ["|2|::|1|", { hostname: "::", port: 1 }],
    ["|2|1:2:3:4:5:6:7:8|1|", { hostname: "1:2:3:4:5:6:7:8", port: 1 }],
    ["|2|1:2:3:4:5:6:7::|1|", { hostname: "1:2:3:4:5:6:7::", port: 1 }],
    ["|2|::ffff:1.2.3.4|1|", { hostname: "::ffff:1.2.3.4", port: 1 }],
    ["|2|1:2:3:4:5:6:1.2.3.4|1|", { hostname: "1:2:3:4:5:6:1.2.3.4", port: 1 }],
    ["|2|1::2:1.2.3.4|1|", { hostname: "1::2:1.2.3.4", port: 1 }],
  ];
  for (const [argument, expected] of good) {
    assertEquals(parseFtpEprtArgument(argument), expected, argument);
  }
  const bad: [string, string][] = [
    ["", "expected |family|address|port|"],
    ["|", "expected"],
    ["|1|127.0.0.1|21", "expected"],
    ["|1|127.0.0.1|21|x|", "expected"],
    ["|1!127.0.0.1!21!", "expected"],
    [" 1 127.0.0.1 21 ", "expected"],
    ["1111127.0.0.11211", "expected"],
    ["|x|127.0.0.1|21|", "the family is not a number"],
    ["||127.0.0.1|21|", "the family is not a number"],
    ["|1|::1|21|", "is not an address of family 1"],
    ["|2|127.0.0.1|21|", "is not an address of family 2"],
    ["|1|127.0.0.256|21|", "is not an address of family 1"],
    ["|1|127.0.0.01|21|", "is not an address of family 1"],
    ["|1|localhost|21|", "is not an address of family 1"],
    ["|2|fe80::1%eth0|21|", "is not an address of family 2"],
    ["|2|1::2::3|21|", "is not an address of family 2"],
    ["|2|12345::|21|", "is not an address of family 2"],
    ["|2|1:2:3:4:5:6:7:8:9|21|", "is not an address of family 2"],
    ["|2|::1:2:3:4:5:6:7:8|21|", "is not an address of family 2"],
    ["|2|1:2:3:4:5:6:7|21|", "is not an address of family 2"],
    ["|2|:1|21|", "is not an address of family 2"],
    ["|2|1:|21|", "is not an address of family 2"],
    ["|2|g::|21|", "is not an address of family 2"],
    ["|2|::1.2.3.256|21|", "is not an address of family 2"],
    ["|1|127.0.0.1|0|", "out of range"],
    ["|1|127.0.0.1|65536|", "out of range"],
    ["|1|127.0.0.1|021|", "out of range"],
    ["|1|127.0.0.1|+21|", "out of range"],
    ["|1|127.0.0.1||", "out of range"],
  ];
  for (const [argument, message] of bad) {
    const error = protocolError(
      () => parseFtpEprtArgument(argument),
      "BAD_EPRT_ARGUMENT",
      argument,
    );
    assertStringIncludes(error.message, message, argument);
  }
});

Deno.test("parseFtpEprtArgument() reports an unknown family for a 522 reply", () => {
  for (const family of ["3", "0", "10", "999"]) {
    const error = protocolError(
      () => parseFtpEprtArgument(`|${family}|127.0.0.1|21|`),
      "UNSUPPORTED_EPRT_FAMILY",
      family,
    );
    assertStringIncludes(error.message, `network protocol ${family} is not supported, use (1,2)`);
  }
});

Deno.test("formatFtpPasvReply() and formatFtpEpsvReply() write replies the parsers read back", () => {
  for (const port of [1, 21, 30043, 65535]) {
    const pasv = formatFtpPasvReply({ hostname: "10.0.0.7", port });
    assertEquals(parseFtpPasvReply(`227 ${pasv}`), { hostname: "10.0.0.7", port });
    assertEquals(parseFtpEpsvReply(`229 ${formatFtpEpsvReply(port)}`), port);
  }
  assertEquals(
    `229 ${formatFtpEpsvReply(30081)}`,
    "229 Entering Extended Passive Mode (|||30081|)",
  );
  assertThrows(() => formatFtpPasvReply({ hostname: "::1", port: 21 }), RangeError, "IPv4");
  assertThrows(() => formatFtpEpsvReply(0), RangeError, "port 0 is out of range");
  assertThrows(() => formatFtpEpsvReply(65536), RangeError, "port 65536 is out of range");
});
