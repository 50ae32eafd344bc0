import {
  formatFtpFeatReply,
  formatFtpPathReply,
  parseFtpFeatReply,
  parseFtpMdtmReply,
  parseFtpPathReply,
  parseFtpSizeReply,
} from "../../net/_ftp_reply_text.ts";
import { BufferedReader } from "../../net/buffered_reader.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { readReply } from "../../net/reply.ts";
import { assertEquals, assertStringIncludes, assertThrows } from "../_helpers/assert.ts";
import { bytewise, splits, streamOf } from "../_helpers/scripted_peer.ts";

const encoder = new TextEncoder();
const control = Deno.readTextFileSync(
  new URL("./fixtures/ftp/vsftpd_control.txt", import.meta.url),
);

/** The raw reply (all its lines) that follows `C: command` in the captured transcript. */
function replyTo(command: string, occurrence = 0): string {
  let at = -1;
  for (let i = 0; i <= occurrence; i++) at = control.indexOf(`C: ${command}\r\n`, at + 1);
  const start = at + `C: ${command}\r\n`.length;
  const end = control.indexOf("\r\nC: ", start);
  return control.slice(start, end) + "\r\n";
}

async function readFtpReply(
  text: string | Uint8Array[],
): Promise<{ code: number; lines: string[] }> {
  const chunks = typeof text === "string" ? [encoder.encode(text)] : text;
  return await readReply(new BufferedReader(streamOf(chunks)), { lenientContinuation: true });
}

function protocolError(fn: () => unknown, code: string, label: string): ProtocolError {
  const error = assertThrows(fn, ProtocolError, undefined, label);
  assertEquals(error.code, code, label);
  return error;
}

const VSFTPD_FEATURES: [string, string][] = [
  ["AUTH", "TLS"],
  ["UTF8", ""],
  ["EPRT", ""],
  ["EPSV", ""],
  ["MDTM", ""],
  ["PASV", ""],
  ["PBSZ", ""],
  ["PROT", ""],
  ["REST", "STREAM"],
  ["SIZE", ""],
  ["TVFS", ""],
];

Deno.test("parseFtpFeatReply() reads vsftpd's captured FEAT reply", async () => {
  const reply = await readFtpReply(replyTo("FEAT"));
  assertEquals(reply.code, 211);
  assertEquals([...parseFtpFeatReply(reply.lines)], VSFTPD_FEATURES);
});

Deno.test("parseFtpFeatReply() reads the FEAT reply at every split", async () => {
  const bytes = encoder.encode(replyTo("FEAT"));
  for (const chunks of [...splits(bytes, true), bytewise(bytes)]) {
    const reply = await readFtpReply(chunks);
    assertEquals([...parseFtpFeatReply(reply.lines)], VSFTPD_FEATURES);
  }
});

Deno.test("parseFtpFeatReply() reads other servers' forms", async () => {
  const text = "211-Extensions supported:\r\n" +
    " MLST type*;size*;modify*;perm*;unique*;UNIX.mode;\r\n" +
    " mdtm\r\n" +
    "  LANG EN*;FR\r\n" +
    " AUTH TLS\r\n" +
    " AUTH SSL\r\n" +
    " AUTH TLS\r\n" +
    "\r\n" +
    "211-UTF8\r\n" +
    "211 End.\r\n";
  const reply = await readFtpReply(text);
  assertEquals([...parseFtpFeatReply(reply.lines)], [
    ["MLST", "type*;size*;modify*;perm*;unique*;UNIX.mode;"],
    ["MDTM", ""],
    ["LANG", "EN*;FR"],
    ["AUTH", "TLS;SSL"],
    ["UTF8", ""],
  ]);
  // A one-line reply lists no features.
  assertEquals(parseFtpFeatReply(["No features"]).size, 0);
  assertEquals(parseFtpFeatReply([]).size, 0);
});

Deno.test("formatFtpFeatReply() writes a reply that reads back", async () => {
  const text = formatFtpFeatReply(VSFTPD_FEATURES);
  // Byte for byte what vsftpd sends.
  assertEquals(text, replyTo("FEAT"));
  const features = new Map([["mlst", "type*;size*;modify*;"], ["UTF8", ""]]);
  const written = formatFtpFeatReply(features);
  assertEquals(written, "211-Features:\r\n MLST type*;size*;modify*;\r\n UTF8\r\n211 End\r\n");
  const reply = await readFtpReply(written);
  assertEquals([...parseFtpFeatReply(reply.lines)], [["MLST", "type*;size*;modify*;"], [
    "UTF8",
    "",
  ]]);
  assertEquals(formatFtpFeatReply([]), "211 No features\r\n");
});

Deno.test("formatFtpFeatReply() refuses names and parameters that break the reply", () => {
  const bad: [string, string][] = [
    ["", ""],
    ["RE ST", ""],
    ["UTF8\r\n211 End", ""],
    ["NUL\0", ""],
  ];
  for (const [name, parameters] of bad) {
    assertThrows(() => formatFtpFeatReply([[name, parameters]]), TypeError, "invalid feature name");
  }
  for (const parameters of ["a\r\n211 End", "a\nb", "a\0"]) {
    assertThrows(() => formatFtpFeatReply([["X", parameters]]), TypeError, "CR, LF or NUL");
  }
});

Deno.test("parseFtpPathReply() reads vsftpd's captured 257 replies with doubled quotes", async () => {
  const root = await readFtpReply(replyTo("PWD"));
  assertEquals([root.code, parseFtpPathReply(root.lines[0]!)], [257, "/"]);
  const made = await readFtpReply(replyTo('MKD upload/a "q" dir'));
  assertEquals(made.lines, ['"/upload/a ""q"" dir" created']);
  assertEquals(parseFtpPathReply(made.lines[0]!), '/upload/a "q" dir');
  const cwd = await readFtpReply(replyTo("PWD", 1));
  assertEquals(parseFtpPathReply(cwd.lines[0]!), '/upload/a "q" dir');
});

Deno.test("parseFtpPathReply() reads quoted paths", () => {
  const cases: [string, string][] = [
    ['"/usr/dm" created.', "/usr/dm"],
    ['"/" is your current location', "/"],
    ['  "/lead"', "/lead"],
    ['""', ""],
    ['""""', '"'],
    ['"a""""b"', 'a""b'],
    ['"/x" "y"', "/x"],
    ['"/caf\u00e9 dir" is current', "/caf\u00e9 dir"],
  ];
  for (const [text, path] of cases) assertEquals(parseFtpPathReply(text), path, text);
});

Deno.test("parseFtpPathReply() rejects replies without a quoted path", () => {
  const cases: [string, string][] = [
    ["/usr/dm created", "no quoted path"],
    ["", "no quoted path"],
    ["MKD command successful", "no quoted path"],
    ["'/x' is current", "no quoted path"],
    ['x "/y"', "no quoted path"],
    ['"/never closed', "no closing quote"],
    ['"/ends in doubled""', "no closing quote"],
  ];
  for (const [text, message] of cases) {
    const error = protocolError(() => parseFtpPathReply(text), "BAD_PATH_REPLY", text);
    assertStringIncludes(error.message, message, text);
  }
});

Deno.test("formatFtpPathReply() quotes paths that parseFtpPathReply() reads back", () => {
  for (const path of ["/", '/a "q" dir', '"', '""', "/caf\u00e9", "/x y/z", ""]) {
    const text = formatFtpPathReply(path, "is the current directory");
    assertEquals(parseFtpPathReply(text), path, path);
  }
  assertEquals(formatFtpPathReply("/pub"), '"/pub"');
  assertEquals(
    formatFtpPathReply('/upload/a "q" dir', "created"),
    '"/upload/a ""q"" dir" created',
  );
  for (const [path, comment] of [["/a\r\n257 x", ""], ["/a\0", ""], ["/a", "x\ny"]]) {
    assertThrows(() => formatFtpPathReply(path!, comment), TypeError, "CR, LF or NUL");
  }
});

Deno.test("parseFtpMdtmReply() reads vsftpd's captured MDTM reply", async () => {
  const reply = await readFtpReply(replyTo("MDTM pub/hello.txt"));
  assertEquals(reply.code, 213);
  assertEquals(parseFtpMdtmReply(reply.lines[0]!).toISOString(), "2023-11-14T22:13:20.000Z");
  assertEquals(parseFtpMdtmReply(" 20231114221320.5 ").toISOString(), "2023-11-14T22:13:20.500Z");
  const bad = [
    "",
    "2023111422132",
    "202311142213201",
    "20231114221320.",
    "Could not get time",
    "20231314221320",
  ];
  for (const text of bad) {
    const error = protocolError(() => parseFtpMdtmReply(text), "BAD_MDTM_REPLY", text);
    assertStringIncludes(error.message, "is not a time value", text);
  }
});

Deno.test("parseFtpSizeReply() reads vsftpd's captured SIZE replies", async () => {
  assertEquals(
    parseFtpSizeReply((await readFtpReply(replyTo("SIZE pub/hello.txt"))).lines[0]!),
    13,
  );
  assertEquals(
    parseFtpSizeReply((await readFtpReply(replyTo("SIZE pub/1mb-A.bin"))).lines[0]!),
    1048576,
  );
  assertEquals(parseFtpSizeReply("0"), 0);
  assertEquals(parseFtpSizeReply(" 9007199254740991 "), 9007199254740991);
  const bad = ["", "-1", "+1", "1.5", "1e3", "0x10", "12 bytes", "9007199254740992", "1 2"];
  for (const text of bad) {
    const error = protocolError(() => parseFtpSizeReply(text), "BAD_SIZE_REPLY", text);
    assertStringIncludes(error.message, "is not a size", text);
  }
});
