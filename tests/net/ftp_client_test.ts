/**
 * FtpClient transcripts for the verbs of the control connection: the exact
 * bytes the client writes, the replies it accepts, and what a refusal or a
 * broken reply does to the session.
 */
import { FtpClient } from "../../net/ftp_client.ts";
import { FtpReplyError } from "../../net/ftp_reply_error.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { ScriptedPeer, splits } from "../_helpers/scripted_peer.ts";
import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_helpers/assert.ts";
import { LOGIN, scripted } from "./_ftp_script.ts";

const encoder = new TextEncoder();

// ---- greeting and login -----------------------------------------------------

Deno.test("FtpClient.login() logs in anonymously with the conventional password", async () => {
  const { peer, ftp } = scripted(LOGIN);
  assertEquals(ftp.greeting, null);
  const reply = await ftp.login();
  assertEquals(reply, { code: 230, lines: ["Login successful."] });
  assertEquals(ftp.greeting, ["test server ready"]);
  assert(ftp.loggedIn);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.login() sends USER, PASS and ACCT when the server asks for an account", async () => {
  const { peer, ftp } = scripted([
    { send: "220 ready\r\n" },
    { expect: "USER mulder\r\n" },
    { send: "331 Password required.\r\n" },
    { expect: "PASS trustno1\r\n" },
    { send: "332 Need account for login.\r\n" },
    { expect: "ACCT fbi\r\n" },
    { send: "230 Logged in.\r\n" },
  ]);
  assertEquals((await ftp.login("mulder", "trustno1", { account: "fbi" })).code, 230);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.login() accepts 230 right after USER and 202 after PASS", async () => {
  const { peer, ftp } = scripted([
    { send: "220 ready\r\n" },
    { expect: "USER ftp\r\n" },
    { send: "230 No password needed.\r\n" },
  ]);
  assertEquals((await ftp.login("ftp")).code, 230);
  await peer.done;
  ftp.close();
  const second = scripted([
    { send: "220 ready\r\n" },
    { expect: "USER mulder\r\n" },
    { send: "331 Password?\r\n" },
    { expect: "PASS x\r\n" },
    { send: "202 Already logged in.\r\n" },
  ]);
  assertEquals((await second.ftp.login("mulder", "x")).code, 202);
  second.ftp.close();
});

Deno.test("FtpClient.login() throws FtpReplyError 530 with the password redacted; the session stays", async () => {
  const { peer, ftp } = scripted([
    { send: "220 ready\r\n" },
    { expect: "USER mulder\r\n" },
    { send: "331 Please specify the password.\r\n" },
    { expect: "PASS wrong\r\n" },
    { send: "530 Login incorrect.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 NOOP ok.\r\n" },
  ]);
  const error = await assertRejects(() => ftp.login("mulder", "wrong"), FtpReplyError);
  assertEquals(error.code, 530);
  assertEquals(error.command, "PASS ****");
  assertFalse(error.message.includes("wrong"));
  assertFalse(ftp.loggedIn);
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.login() without an account for a 332 throws and names ACCT", async () => {
  const { ftp } = scripted([
    { send: "220 ready\r\n" },
    { expect: "USER mulder\r\n" },
    { send: "331 Password?\r\n" },
    { expect: "PASS x\r\n" },
    { send: "332 Need account.\r\n" },
  ]);
  const error = await assertRejects(() => ftp.login("mulder", "x"), FtpReplyError);
  assertEquals(error.code, 332);
  assertStringIncludes(error.message, "ACCT");
  ftp.close();
});

Deno.test("FtpClient.login() never sends PASS in clear to a host that is not loopback", async () => {
  const { peer, ftp } = scripted(
    [
      { send: "220 ready\r\n" },
      { expect: "USER mulder\r\n" },
      { send: "331 Please specify the password.\r\n" },
      { expect: "NOOP\r\n" },
      { send: "200 ok\r\n" },
    ],
    { serverName: "ftp.example.test" },
    "192.0.2.7",
  );
  const error = await assertRejects(() => ftp.login("mulder", "trustno1"), ProtocolError);
  assertEquals(error.code, "INSECURE_AUTH");
  assertStringIncludes(error.message, "ftp.example.test");
  assertFalse(peer.written.includes("trustno1"));
  // Refused on this side: the session goes on.
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.login() sends PASS in clear to a remote host with allowInsecureAuth, and anonymous always", async () => {
  const allowed = scripted(
    [
      { send: "220 ready\r\n" },
      { expect: "USER mulder\r\n" },
      { send: "331 Password?\r\n" },
      { expect: "PASS trustno1\r\n" },
      { send: "230 ok\r\n" },
    ],
    { serverName: "ftp.example.test", allowInsecureAuth: true },
    "192.0.2.7",
  );
  assertEquals((await allowed.ftp.login("mulder", "trustno1")).code, 230);
  allowed.ftp.close();
  const anonymous = scripted(LOGIN, { serverName: "ftp.example.test" }, "192.0.2.7");
  assertEquals((await anonymous.ftp.login()).code, 230);
  await anonymous.peer.done;
  anonymous.ftp.close();
});

Deno.test("FtpClient debug log shows PASS and ACCT as ****", async () => {
  const log: string[] = [];
  const { peer, ftp } = scripted([
    { send: "220 ready\r\n" },
    { expect: "USER mulder\r\n" },
    { send: "331 Password?\r\n" },
    { expect: "PASS trustno1\r\n" },
    { send: "332 Account?\r\n" },
    { expect: "ACCT secret-account\r\n" },
    { send: "230 ok\r\n" },
  ], { debug: (line) => log.push(line) });
  await ftp.login("mulder", "trustno1", { account: "secret-account" });
  await peer.done;
  assertEquals(log, [
    "S: 220 ready",
    "C: USER mulder",
    "S: 331 Password?",
    "C: PASS ****",
    "S: 332 Account?",
    "C: ACCT ****",
    "S: 230 ok",
  ]);
  ftp.close();
});

Deno.test("FtpClient reads a 120 before the 220 greeting; a 421 greeting throws", async () => {
  const { peer, ftp } = scripted([
    { send: "120 Service ready in 1 minute.\r\n220 ready\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  assertEquals((await ftp.noop()).code, 200);
  assertEquals(ftp.greeting, ["ready"]);
  await peer.done;
  ftp.close();
  const busy = scripted([{ send: "421 Too many connections.\r\n" }]);
  const error = await assertRejects(() => busy.ftp.noop(), FtpReplyError);
  assertEquals(error.code, 421);
  assertStringIncludes(error.message, "Cannot start FTP session");
  assert(busy.ftp.closed);
});

Deno.test("FtpClient reads a multi-line greeting whose middle lines lack the code (RFC 959 §4.2)", async () => {
  const { ftp } = scripted([
    { send: "220-Welcome\r\n to the\r\n220-test\r\n220 server\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.noop();
  assertEquals(ftp.greeting, ["Welcome", " to the", "test", "server"]);
  ftp.close();
});

// ---- FEAT, OPTS, SYST, directories ------------------------------------------

const FEAT_REPLY =
  "211-Features:\r\n AUTH TLS\r\n UTF8\r\n EPSV\r\n MLST type*;size*;modify*;\r\n" +
  " REST STREAM\r\n SIZE\r\n211 End\r\n";

Deno.test("FtpClient.feat() records the features; OPTS UTF8 ON follows the login when UTF8 is offered", async () => {
  const { peer, ftp } = scripted([
    { send: "220 ready\r\n" },
    { expect: "FEAT\r\n" },
    { send: FEAT_REPLY },
    { expect: "USER anonymous\r\n" },
    { send: "331 Password?\r\n" },
    { expect: "PASS anonymous@\r\n" },
    { send: "230 ok\r\n" },
    { expect: "OPTS UTF8 ON\r\n" },
    { send: "200 Always in UTF8 mode.\r\n" },
  ]);
  const features = await ftp.feat();
  assertEquals([...features.keys()], ["AUTH", "UTF8", "EPSV", "MLST", "REST", "SIZE"]);
  assertEquals(features.get("MLST"), "type*;size*;modify*;");
  await ftp.login();
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.feat() parses the same reply split at every byte", async () => {
  for (const pieces of splits(encoder.encode("220 hi\r\n" + FEAT_REPLY), true)) {
    const peer = new ScriptedPeer([
      ...pieces.map((p) => ({ send: p })),
      { expect: "FEAT\r\n" },
    ]);
    const ftp = new FtpClient(peer);
    assertEquals((await ftp.feat()).get("AUTH"), "TLS");
    ftp.close();
  }
});

Deno.test("FtpClient.feat() gives no features for a server without FEAT (500)", async () => {
  const { ftp } = scripted([
    { send: "220 ready\r\n" },
    { expect: "FEAT\r\n" },
    { send: "500 Unknown command.\r\n" },
  ]);
  assertEquals((await ftp.feat()).size, 0);
  assertFalse(ftp.closed);
  ftp.close();
});

Deno.test("FtpClient.syst(), pwd(), cwd(), cdup() send their verbs and read their replies", async () => {
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "SYST\r\n" },
    { send: "215 UNIX Type: L8\r\n" },
    { expect: "PWD\r\n" },
    { send: '257 "/a ""q"" dir" is the current directory\r\n' },
    { expect: "CWD pub/new dir\r\n" },
    { send: "250 Directory successfully changed.\r\n" },
    { expect: "CDUP\r\n" },
    { send: "250 Directory successfully changed.\r\n" },
  ]);
  await ftp.login();
  assertEquals(await ftp.syst(), "UNIX Type: L8");
  assertEquals(await ftp.pwd(), '/a "q" dir');
  assertEquals((await ftp.cwd("pub/new dir")).code, 250);
  assertEquals((await ftp.cdup()).code, 250);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.cwd() to a missing directory throws 550 and keeps the session", async () => {
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "CWD nowhere\r\n" },
    { send: "550 Failed to change directory.\r\n" },
    { expect: "PWD\r\n" },
    { send: '257 "/" is the current directory\r\n' },
  ]);
  await ftp.login();
  const error = await assertRejects(() => ftp.cwd("nowhere"), FtpReplyError);
  assertEquals([error.code, error.command, error.permanent], [550, "CWD nowhere", true]);
  assertEquals(await ftp.pwd(), "/");
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.pwd() rejects a 257 reply without a quoted path", async () => {
  const { ftp } = scripted([
    ...LOGIN,
    { expect: "PWD\r\n" },
    { send: "257 / is current\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const error = await assertRejects(() => ftp.pwd(), ProtocolError);
  assertEquals(error.code, "BAD_PATH_REPLY");
  // The reply was read in full: the session goes on.
  assertEquals((await ftp.noop()).code, 200);
  ftp.close();
});

// ---- file verbs ------------------------------------------------------------------

Deno.test("FtpClient.size() sends TYPE I first (once) and parses the 213 reply", async () => {
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 Switching to Binary mode.\r\n" },
    { expect: "SIZE pub/1mb-A.bin\r\n" },
    { send: "213 1048576\r\n" },
    { expect: "SIZE pub/hello.txt\r\n" },
    { send: "213 13\r\n" },
  ]);
  await ftp.login();
  assertEquals(await ftp.size("pub/1mb-A.bin"), 1048576);
  assertEquals(await ftp.size("pub/hello.txt"), 13);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.size() rejects a SIZE reply that is not a number; mdtm() parses the time", async () => {
  const { ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "SIZE x\r\n" },
    { send: "213 12 bytes\r\n" },
    { expect: "MDTM pub/hello.txt\r\n" },
    { send: "213 20231114221320\r\n" },
    { expect: "MDTM y\r\n" },
    { send: "213 2023-11-14\r\n" },
  ]);
  await ftp.login();
  assertEquals((await assertRejects(() => ftp.size("x"), ProtocolError)).code, "BAD_SIZE_REPLY");
  assertEquals((await ftp.mdtm("pub/hello.txt")).toISOString(), "2023-11-14T22:13:20.000Z");
  assertEquals((await assertRejects(() => ftp.mdtm("y"), ProtocolError)).code, "BAD_MDTM_REPLY");
  ftp.close();
});

Deno.test("FtpClient.delete(), rename(), mkd(), rmd(), site(), noop() send their verbs", async () => {
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "DELE upload/old.txt\r\n" },
    { send: "250 Delete operation successful.\r\n" },
    { expect: "RNFR upload/a.txt\r\n" },
    { send: "350 Ready for RNTO.\r\n" },
    { expect: "RNTO upload/b.txt\r\n" },
    { send: "250 Rename successful.\r\n" },
    { expect: "MKD upload/new\r\n" },
    { send: '257 "/upload/new" created\r\n' },
    { expect: "MKD upload/other\r\n" },
    { send: "257 Directory created.\r\n" },
    { expect: "RMD upload/new\r\n" },
    { send: "250 Remove directory operation successful.\r\n" },
    { expect: "SITE CHMOD 644 upload/b.txt\r\n" },
    { send: "200 SITE CHMOD command ok.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 NOOP ok.\r\n" },
  ]);
  await ftp.login();
  assertEquals((await ftp.delete("upload/old.txt")).code, 250);
  assertEquals((await ftp.rename("upload/a.txt", "upload/b.txt")).code, 250);
  assertEquals(await ftp.mkd("upload/new"), "/upload/new");
  assertEquals(await ftp.mkd("upload/other"), "upload/other");
  assertEquals((await ftp.rmd("upload/new")).code, 250);
  assertEquals((await ftp.site("CHMOD 644 upload/b.txt")).code, 200);
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.rename() stops after a refused RNFR", async () => {
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "RNFR missing\r\n" },
    { send: "550 RNFR command failed.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const error = await assertRejects(() => ftp.rename("missing", "x"), FtpReplyError);
  assertEquals(error.command, "RNFR missing");
  await ftp.noop();
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.mlst() parses the entry line of the 250 reply", async () => {
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "MLST pub/hello.txt\r\n" },
    {
      send:
        "250-Listing pub/hello.txt\r\n type=file;size=13;modify=20231114221320; pub/hello.txt\r\n" +
        "250 End\r\n",
    },
  ]);
  await ftp.login();
  const entry = await ftp.mlst("pub/hello.txt");
  assertEquals([entry.name, entry.type, entry.size], ["pub/hello.txt", "file", 13]);
  assertEquals(entry.modified?.toISOString(), "2023-11-14T22:13:20.000Z");
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.sendCommand() returns 2xx/3xx replies and throws for 4xx/5xx", async () => {
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "STAT\r\n" },
    { send: "211-FTP server status:\r\n     Connected to 127.0.0.1\r\n211 End of status\r\n" },
    { expect: "HELP SITE\r\n" },
    { send: "502 HELP not implemented.\r\n" },
  ]);
  await ftp.login();
  const stat = await ftp.sendCommand("STAT");
  assertEquals(stat, {
    code: 211,
    lines: ["FTP server status:", "     Connected to 127.0.0.1", "End of status"],
  });
  assertEquals((await assertRejects(() => ftp.sendCommand("HELP SITE"), FtpReplyError)).code, 502);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.quit() says QUIT and closes; a server that just hangs up is fine", async () => {
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "QUIT\r\n" },
    { send: "221 Goodbye.\r\n" },
  ]);
  await ftp.login();
  assertEquals(await ftp.quit(), { code: 221, lines: ["Goodbye."] });
  assert(ftp.closed);
  await peer.done;
  const hangup = scripted([...LOGIN, { expect: "QUIT\r\n" }, { close: true }]);
  await hangup.ftp.login();
  assertEquals(await hangup.ftp.quit(), null);
  assert(hangup.ftp.closed);
});

Deno.test("FtpClient [Symbol.asyncDispose]() says QUIT", async () => {
  const { peer, ftp } = scripted([...LOGIN, { expect: "QUIT\r\n" }, { send: "221 Bye\r\n" }]);
  {
    await using client = ftp;
    await client.login();
  }
  assert(ftp.closed);
  await peer.done;
});

Deno.test("FtpClient [Symbol.asyncDispose]() closes after QUIT without waiting for the 221", async () => {
  // vsftpd answers QUIT only after closing an uploaded file (about 0.4 s
  // after 1 GiB); the reply tells the client nothing it still needs.
  const seen: string[] = [];
  const { peer, ftp } = scripted(
    [...LOGIN, { expect: "QUIT\r\n" }, { sleep: 200 }, { send: "221 Goodbye.\r\n" }],
    { debug: (line) => seen.push(line) },
  );
  {
    await using client = ftp;
    await client.login();
  }
  assert(ftp.closed);
  assertEquals(seen.slice(-2), ["S: 230 Login successful.", "C: QUIT"]);
  await peer.done;
});

// ---- safety and limits --------------------------------------------------------

Deno.test("FtpClient refuses CR, LF and NUL in any argument before writing a byte", async () => {
  const { peer, ftp } = scripted([...LOGIN]);
  await ftp.login();
  const before = peer.written;
  for (
    const call of [
      () => ftp.cwd("a\r\nDELE x"),
      () => ftp.delete("a\nb"),
      () => ftp.size("a\0b"),
      () => ftp.rename("a", "b\r\nRMD /"),
      () => ftp.mkd("x\r"),
      () => ftp.site("CHMOD 777 x\r\nDELE y"),
      () => ftp.sendCommand("NOOP\r\nDELE y"),
      () => ftp.download("x\r\nDELE y"),
      () => ftp.upload("x\nDELE y", "data"),
      () => ftp.list("x\r\n"),
      () => ftp.login("mulder\r\nDELE x", "p"),
      () => ftp.login("mulder", "p\r\nDELE x"),
    ]
  ) {
    await assertRejects(call, TypeError);
  }
  assertEquals(peer.written, before);
  await assertRejects(() => ftp.cwd(""), TypeError);
  ftp.close();
});

Deno.test("FtpClient reads a 64 KiB reply and refuses a larger one", async () => {
  const line = "x".repeat(1000);
  let big = "";
  while (big.length < 60000) big += `230-${line}\r\n`;
  const { ftp } = scripted([
    { send: "220 ready\r\n" },
    { expect: "USER anonymous\r\n" },
    { send: `${big}230 ok\r\n` },
  ]);
  await ftp.login();
  assert(ftp.loggedIn);
  ftp.close();
  let huge = "";
  while (huge.length < 70000) huge += `230-${line}\r\n`;
  const second = scripted([
    { send: "220 ready\r\n" },
    { expect: "USER anonymous\r\n" },
    { send: `${huge}230 ok\r\n` },
  ]);
  const error = await assertRejects(() => second.ftp.login(), ProtocolError);
  assertEquals(error.code, "REPLY_TOO_LARGE");
  assert(second.ftp.closed);
});

Deno.test("FtpClient closes the connection on an over-long control reply line", async () => {
  const { ftp } = scripted([
    ...LOGIN,
    { expect: "NOOP\r\n" },
    { send: `200 ${"x".repeat(2000)}\r\n` },
  ], { maxReplySize: 1024 });
  await ftp.login();
  assertEquals((await assertRejects(() => ftp.noop(), ProtocolError)).code, "LINE_TOO_LONG");
  assert(ftp.closed);
});

Deno.test("FtpClient closes the connection on a malformed reply", async () => {
  const { ftp } = scripted([
    ...LOGIN,
    { expect: "NOOP\r\n" },
    { send: "2OO ok\r\n" },
  ]);
  await ftp.login();
  assertEquals((await assertRejects(() => ftp.noop(), ProtocolError)).code, "BAD_REPLY");
  assert(ftp.closed);
});

Deno.test("FtpClient throws on a 421 and closes the connection", async () => {
  const { ftp } = scripted([
    ...LOGIN,
    { expect: "NOOP\r\n" },
    { send: "421 Timeout.\r\n" },
  ]);
  await ftp.login();
  const error = await assertRejects(() => ftp.noop(), FtpReplyError);
  assertEquals(error.code, 421);
  assert(ftp.closed);
});

Deno.test("FtpClient refuses a reply that arrived before its command (unsolicited)", async () => {
  const { ftp } = scripted([
    ...LOGIN,
    { send: "200 nobody asked\r\n" },
  ]);
  await ftp.login();
  await new Promise((r) => setTimeout(r, 20));
  const error = await assertRejects(() => ftp.noop(), ProtocolError);
  assertEquals(error.code, "UNSOLICITED");
  assert(ftp.closed);
});

Deno.test("FtpClient throws the did-you-forget-await error for a second command in flight", async () => {
  const { ftp } = scripted([
    ...LOGIN,
    { expect: "NOOP\r\n" },
    { sleep: 30 },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const first = ftp.noop();
  const error = await assertRejects(() => ftp.pwd(), TypeError);
  assertStringIncludes(error.message, "did you forget await");
  assertEquals((await first).code, 200);
  ftp.close();
});

Deno.test("FtpClient command timeout closes the connection with a TimeoutError", async () => {
  const { ftp } = scripted([...LOGIN, { expect: "NOOP\r\n" }, { sleep: 500 }], { timeout: 50 });
  await ftp.login();
  const error = await assertRejects(() => ftp.noop());
  assertInstanceOf(error, DOMException);
  assertEquals(error.name, "TimeoutError");
  assert(ftp.closed);
});

Deno.test("FtpClient signal aborts a command and closes the connection", async () => {
  const { ftp } = scripted([...LOGIN, { expect: "NOOP\r\n" }, { sleep: 500 }]);
  await ftp.login();
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("stop")), 20);
  const error = await assertRejects(() => ftp.noop({ signal: controller.signal }), Error, "stop");
  assertEquals(error.message, "stop");
  assert(ftp.closed);
});

Deno.test("new FtpClient() checks its options", () => {
  const conn = { readable: new ReadableStream(), writable: new WritableStream(), close() {} };
  assertThrows(() => new FtpClient(conn, { timeout: 0 }), RangeError);
  assertThrows(() => new FtpClient(conn, { dataTimeout: -1 }), RangeError);
  assertThrows(() => new FtpClient(conn, { encoding: "no-such-encoding" }), TypeError);
});
