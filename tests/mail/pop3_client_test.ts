import { Pop3Client, type Pop3ClientOptions } from "../../mail/pop3_client.ts";
import { Pop3Error } from "../../mail/pop3_error.ts";
import { MissingExtensionError } from "../../net/missing_extension_error.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { ScriptedPeer, type ScriptStep } from "../_helpers/scripted_peer.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_helpers/assert.ts";
import { fakeServer, testCa } from "./_imap_client_servers.ts";

const GREETING = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n";
const encoder = new TextEncoder();

function open(steps: ScriptStep[], options: Pop3ClientOptions = {}) {
  const peer = new ScriptedPeer(steps);
  const pop = new Pop3Client(peer, { timeout: 2000, serverName: "localhost", ...options });
  return { peer, pop };
}

const text = async (stream: ReadableStream<Uint8Array>) => await new Response(stream).text();

// ---- greeting, CAPA --------------------------------------------------------

Deno.test("Pop3Client reads the greeting and its APOP timestamp before the first command", async () => {
  const { peer, pop } = open([
    { send: GREETING },
    { expect: "NOOP\r\n" },
    { send: "+OK\r\n" },
  ]);
  assertEquals(pop.greeting, null);
  await pop.noop();
  assertEquals(pop.greeting, "POP3 server ready <1896.697170952@dbc.mtview.ca.us>");
  assertEquals(pop.apopTimestamp, "<1896.697170952@dbc.mtview.ca.us>");
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client throws a -ERR greeting as Pop3Error and closes", async () => {
  const { peer, pop } = open([{ send: "-ERR [SYS/TEMP] too busy\r\n" }]);
  const error = await assertRejects(() => pop.stat(), Pop3Error, "-ERR [SYS/TEMP] too busy");
  assertEquals(error.responseCode, "SYS/TEMP");
  assertEquals(error.temporary, true);
  assertEquals(peer.written, "");
  assert(pop.closed);
  await peer.done;
});

Deno.test("Pop3Client.capa() parses the capability list", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "CAPA\r\n" },
    {
      send:
        "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n",
    },
  ]);
  const caps = await pop.capa();
  assertEquals(caps.get("SASL"), ["PLAIN", "LOGIN"]);
  assertEquals([...caps.keys()], [
    "CAPA",
    "TOP",
    "UIDL",
    "RESP-CODES",
    "PIPELINING",
    "STLS",
    "USER",
    "SASL",
  ]);
  assertEquals(pop.apopTimestamp, null);
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.capa() treats -ERR as an empty list (RFC 1939 servers)", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "CAPA\r\n" },
    { send: "-ERR unknown command\r\n" },
    { expect: "NOOP\r\n" },
    { send: "+OK\r\n" },
  ]);
  assertEquals((await pop.capa()).size, 0);
  await pop.noop();
  await peer.done;
  pop.close();
});

// ---- logging in ------------------------------------------------------------

Deno.test("Pop3Client.user() and pass() send the credentials; the debug log hides the password", async () => {
  const log: string[] = [];
  const { peer, pop } = open([
    { send: GREETING },
    { expect: "USER mulder\r\n" },
    { send: "+OK\r\n" },
    { expect: "PASS trust no 1\r\n" },
    { send: "+OK Logged in.\r\n" },
  ], { debug: (line) => log.push(line) });
  await pop.user("mulder");
  assertEquals(await pop.pass("trust no 1"), "Logged in.");
  assert(pop.authenticated);
  assertEquals(log.filter((l) => l.startsWith("C:")), ["C: USER mulder", "C: PASS ****"]);
  assert(!log.join("\n").includes("trust"));
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client refuses USER/PASS in clear to a host that is not loopback", async () => {
  const { peer, pop } = open([{ send: GREETING }], { serverName: "pop.example.test" });
  await assertRejects(() => pop.user("mulder"), TypeError, "without TLS");
  await assertRejects(
    () => pop.login({ username: "mulder", password: "trustno1" }, { mechanism: "USER" }),
    TypeError,
  );
  assertEquals(peer.written, "");
  assert(!pop.closed);
  pop.close();
});

Deno.test("Pop3Client allows USER/PASS in clear with allowInsecureAuth", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "USER mulder\r\n" },
    { send: "+OK\r\n" },
    { expect: "PASS trustno1\r\n" },
    { send: "+OK\r\n" },
  ], { serverName: "pop.example.test", allowInsecureAuth: true });
  await pop.login({ username: "mulder", password: "trustno1" }, { mechanism: "USER" });
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.apop() sends the RFC 1939 digest of timestamp and password", async () => {
  const log: string[] = [];
  const { peer, pop } = open([
    { send: GREETING },
    { expect: "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n" },
    { send: "+OK maildrop has 1 message (369 octets)\r\n" },
  ], { serverName: "pop.example.test", debug: (l) => log.push(l) });
  await pop.apop("mrose", "tanstaaf");
  assert(pop.authenticated);
  assert(log.includes("C: APOP mrose ****"));
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.apop() fails with MissingExtensionError when the greeting has no timestamp", async () => {
  const { peer, pop } = open([{ send: "+OK ready\r\n" }]);
  const error = await assertRejects(() => pop.apop("mulder", "x"), MissingExtensionError);
  assertEquals(error.extension, "APOP");
  assertEquals(peer.written, "");
  assert(!pop.closed);
  pop.close();
});

Deno.test("Pop3Client.auth() sends PLAIN with the initial response (RFC 5034)", async () => {
  const log: string[] = [];
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "CAPA\r\n" },
    { send: "+OK\r\nSASL PLAIN LOGIN\r\n.\r\n" },
    { expect: "AUTH PLAIN AG11bGRlcgB0cnVzdG5vMQ==\r\n" },
    { send: "+OK Logged in.\r\n" },
  ], { debug: (l) => log.push(l) });
  await pop.capa();
  await pop.auth({ username: "mulder", password: "trustno1" });
  assert(pop.authenticated);
  assert(log.includes("C: AUTH PLAIN ****"));
  assert(!log.join("\n").includes("AG11"));
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.auth() answers LOGIN challenges and hides them in the log", async () => {
  const log: string[] = [];
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "AUTH LOGIN\r\n" },
    { send: "+ VXNlcm5hbWU6\r\n" },
    { expect: "bXVsZGVy\r\n" },
    { send: "+ UGFzc3dvcmQ6\r\n" },
    { expect: "dHJ1c3RubzE=\r\n" },
    { send: "+OK\r\n" },
  ], { debug: (l) => log.push(l) });
  await pop.auth({ username: "mulder", password: "trustno1" }, { mechanism: "LOGIN" });
  assertEquals(log.filter((l) => l === "C: ****").length, 2);
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.auth() sends a long initial response after the server's +", async () => {
  const username = "u".repeat(200);
  const response = encoder.encode(`\0${username}\0trustno1`).toBase64();
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "AUTH PLAIN\r\n" },
    { send: "+ \r\n" },
    { expect: `${response}\r\n` },
    { send: "+OK\r\n" },
  ]);
  await pop.auth({ username, password: "trustno1" }, { mechanism: "PLAIN" });
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.auth() cancels with * on a bad challenge and keeps the session", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "AUTH CRAM-MD5\r\n" },
    { send: "+ not base64!\r\n" },
    { expect: "*\r\n" },
    { send: "-ERR Authentication canceled\r\n" },
    { expect: "NOOP\r\n" },
    { send: "+OK\r\n" },
  ], { serverName: "pop.example.test" });
  const error = await assertRejects(
    () => pop.auth({ username: "mulder", password: "x" }, { mechanism: "CRAM-MD5" }),
    ProtocolError,
  );
  assertEquals(error.code, "BAD_CHALLENGE");
  await pop.noop();
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.login() refused with [AUTH] is a Pop3Error with the code", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "CAPA\r\n" },
    { send: "+OK\r\nUSER\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n.\r\n" },
    { expect: "USER mulder\r\n" },
    { send: "+OK\r\n" },
    { expect: "PASS wrong\r\n" },
    { send: "-ERR [AUTH] Authentication failed.\r\n" },
  ]);
  const error = await assertRejects(
    () => pop.login({ username: "mulder", password: "wrong" }),
    Pop3Error,
  );
  assertEquals(error.responseCode, "AUTH");
  assert(error.authFailure);
  assertEquals(error.command, "PASS");
  assert(!pop.closed);
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.login() prefers SASL, and falls back to APOP without TLS", async () => {
  const sasl = open([
    { send: GREETING },
    { expect: "CAPA\r\n" },
    { send: "+OK\r\nUSER\r\nSASL CRAM-MD5 PLAIN\r\n.\r\n" },
    { expect: "AUTH CRAM-MD5\r\n" },
    { send: "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n" },
    { expect: "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n" },
    { send: "+OK\r\n" },
  ], { serverName: "pop.example.test" });
  await sasl.pop.login({ username: "tim", password: "tanstaaftanstaaf" });
  await sasl.peer.done;
  sasl.pop.close();

  const apop = open([
    { send: GREETING },
    { expect: "CAPA\r\n" },
    { send: "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n" },
    { expect: "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n" },
    { send: "+OK\r\n" },
  ], { serverName: "pop.example.test" });
  await apop.pop.login({ username: "mrose", password: "tanstaaf" });
  await apop.peer.done;
  apop.pop.close();

  const none = open([
    { send: "+OK ready\r\n" },
    { expect: "CAPA\r\n" },
    { send: "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n" },
  ], { serverName: "pop.example.test" });
  await assertRejects(() => none.pop.login({ username: "a", password: "b" }), TypeError);
  await none.peer.done;
  assertEquals(none.peer.written, "CAPA\r\n");
  none.pop.close();
});

Deno.test("Pop3Client refuses CR, LF and NUL in every argument before writing", async () => {
  const { peer, pop } = open([{ send: "+OK ready\r\n" }]);
  for (const bad of ["a\r\nDELE 1", "a\nb", "a\0b"]) {
    await assertRejects(() => pop.user(bad), TypeError);
    await assertRejects(() => pop.pass(bad), TypeError);
    await assertRejects(() => pop.apop(bad, "x"), TypeError);
    await assertRejects(() => pop.apop("x", bad), TypeError);
    await assertRejects(
      () => pop.auth({ username: "x", password: "y" }, { mechanism: bad }),
      TypeError,
    );
    await assertRejects(() => pop.auth({ username: bad, password: "y" }, { mechanism: "PLAIN" }));
  }
  await assertRejects(() => pop.user("two words"), TypeError);
  assertThrows(() => pop.retr(0), RangeError);
  assertThrows(() => pop.dele(1.5), RangeError);
  assertThrows(() => pop.top(1, -1), RangeError);
  assertEquals(peer.written, "");
  pop.close();
});

Deno.test("Pop3Client.utf8() sends UTF8 (RFC 6856)", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "UTF8\r\n" },
    { send: "+OK UTF8 enabled\r\n" },
  ]);
  await pop.utf8();
  assert(pop.utf8Enabled);
  await peer.done;
  pop.close();
});

// ---- transaction state -----------------------------------------------------

Deno.test("Pop3Client.stat(), list() and uidl() parse their answers", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "STAT\r\n" },
    { send: "+OK 2 674\r\n" },
    { expect: "LIST\r\n" },
    { send: "+OK 2 messages:\r\n1 343\r\n2 331\r\n.\r\n" },
    { expect: "LIST 2\r\n" },
    { send: "+OK 2 331\r\n" },
    { expect: "UIDL\r\n" },
    { send: "+OK\r\n1 000000016b115357\r\n2 whqtswO00WBw418f9t5JxYwZ\r\n.\r\n" },
    { expect: "UIDL 1\r\n" },
    { send: "+OK 1 000000016b115357\r\n" },
  ]);
  assertEquals(await pop.stat(), { count: 2, size: 674 });
  assertEquals(await pop.list(), [{ number: 1, size: 343 }, { number: 2, size: 331 }]);
  assertEquals(await pop.list(2), { number: 2, size: 331 });
  assertEquals(await pop.uidl(), [
    { number: 1, uid: "000000016b115357" },
    { number: 2, uid: "whqtswO00WBw418f9t5JxYwZ" },
  ]);
  assertEquals(await pop.uidl(1), { number: 1, uid: "000000016b115357" });
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.list() of a missing message is a Pop3Error; the session goes on", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "LIST 9\r\n" },
    { send: "-ERR There's no message 9.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "+OK\r\n" },
  ]);
  const error = await assertRejects(() => pop.list(9), Pop3Error, "no message 9");
  assertEquals(error.responseCode, null);
  await pop.noop();
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.stat() throws BAD_REPLY for a malformed answer and closes", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "STAT\r\n" },
    { send: "+OK two 674\r\n" },
  ]);
  const error = await assertRejects(() => pop.stat(), ProtocolError);
  assertEquals(error.code, "BAD_REPLY");
  assert(pop.closed);
  await peer.done;
});

Deno.test("Pop3Client refuses a reply that is neither +OK nor -ERR", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "NOOP\r\n" },
    { send: "250 OK\r\n" },
  ]);
  const error = await assertRejects(() => pop.noop(), ProtocolError);
  assertEquals(error.code, "BAD_REPLY");
  await peer.done;
});

Deno.test("Pop3Client.retr() streams the message dot-unstuffed with CR LF", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "RETR 1\r\n" },
    { send: "+OK 44 octets\r\nSubject: x\r\n\r\n..leading dot\r\n" },
    { send: "..\r\nbare\nLF\r\n.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "+OK\r\n" },
  ]);
  const body = await pop.retr(1);
  assertEquals(await text(body), "Subject: x\r\n\r\n.leading dot\r\n.\r\nbare\r\nLF\r\n");
  await pop.noop();
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.retr() holds the connection until the message is read", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "RETR 1\r\n" },
    { send: "+OK\r\nline one\r\n.\r\n" },
    { expect: "TOP 1 0\r\n" },
    { send: "+OK\r\nSubject: hi\r\n\r\n.\r\n" },
  ]);
  const body = await pop.retr(1);
  await assertRejects(() => pop.noop(), TypeError, "did you forget await");
  assertEquals(await text(body), "line one\r\n");
  assertEquals(await text(await pop.top(1, 0)), "Subject: hi\r\n\r\n");
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.retr() cancelled mid-way drains a short rest and keeps the connection", async () => {
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}\r\n`).join("");
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "RETR 1\r\n" },
    { send: `+OK\r\n${lines}.\r\n` },
    { expect: "NOOP\r\n" },
    { send: "+OK still here\r\n" },
  ]);
  const reader = (await pop.retr(1)).getReader();
  const first = await reader.read();
  assert(!first.done && first.value.length > 0);
  await reader.cancel();
  assertEquals(await pop.noop(), "still here");
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.retr() cancelled with more than drainLimit left closes the connection", async () => {
  const lines = Array.from({ length: 20000 }, (_, i) => `line ${i}\r\n`).join("");
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "RETR 1\r\n" },
    { send: `+OK\r\n${lines}.\r\n` },
  ], { drainLimit: 1000 });
  const reader = (await pop.retr(1)).getReader();
  await reader.read();
  await reader.cancel();
  assert(pop.closed);
  await assertRejects(() => pop.noop(), TypeError, "closed");
  await peer.done;
});

Deno.test("Pop3Client.retr() reads from the socket only as the consumer pulls (backpressure)", async () => {
  let pulled = 0;
  let line = 0;
  const chunk = encoder.encode("x".repeat(1000) + "\r\n");
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(encoder.encode("+OK ready\r\n+OK message follows\r\n"));
    },
    pull(c) {
      if (line++ > 100000) {
        c.enqueue(encoder.encode(".\r\n"));
        return;
      }
      pulled += chunk.length;
      c.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  const pop = new Pop3Client({ readable, writable: new WritableStream(), close() {} });
  const reader = (await pop.retr(1)).getReader();
  let got = 0;
  for (let i = 0; i < 5; i++) got += (await reader.read()).value!.length;
  assert(got > 0);
  // 100 MB are on offer; a few pieces were asked for.
  assert(pulled < 1024 * 1024, `read ${pulled} bytes ahead`);
  pop.close();
  await reader.cancel().catch(() => {});
});

Deno.test("Pop3Client.retr() errors the stream with BODY_TOO_LARGE past maxSize", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "RETR 1\r\n" },
    { send: `+OK\r\n${"a".repeat(100)}\r\n${"b".repeat(100)}\r\n.\r\n` },
  ]);
  const body = await pop.retr(1, { maxSize: 150 });
  const error = await assertRejects(() => text(body), ProtocolError);
  assertEquals(error.code, "BODY_TOO_LARGE");
  assert(pop.closed);
  await peer.done;
});

Deno.test("Pop3Client.retr() of a missing message is a Pop3Error and keeps the session", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "RETR 7\r\n" },
    { send: "-ERR no such message\r\n" },
    { expect: "NOOP\r\n" },
    { send: "+OK\r\n" },
  ]);
  await assertRejects(() => pop.retr(7), Pop3Error);
  await pop.noop();
  await peer.done;
  pop.close();
});

Deno.test("Pop3Client.dele(), rset(), noop() and quit() send their commands", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "DELE 1\r\n" },
    { send: "+OK Marked to be deleted.\r\n" },
    { expect: "RSET\r\n" },
    { send: "+OK\r\n" },
    { expect: "NOOP\r\n" },
    { send: "+OK\r\n" },
    { expect: "QUIT\r\n" },
    { send: "+OK Logging out.\r\n" },
  ]);
  assertEquals(await pop.dele(1), "Marked to be deleted.");
  await pop.rset();
  await pop.noop();
  assertEquals(await pop.quit(), "Logging out.");
  assert(pop.closed);
  await peer.done;
});

Deno.test("Pop3Client.quit() reports a failed commit as Pop3Error [SYS/TEMP]", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "DELE 1\r\n" },
    { send: "+OK\r\n" },
    { expect: "QUIT\r\n" },
    { send: "-ERR [SYS/TEMP] Could not delete messages\r\n" },
  ]);
  await pop.dele(1);
  const error = await assertRejects(() => pop.quit(), Pop3Error);
  assertEquals(error.responseCode, "SYS/TEMP");
  assert(pop.closed);
  await peer.done;
});

Deno.test("Pop3Client.quit() accepts a server that hangs up without +OK", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "QUIT\r\n" },
    { close: true },
  ]);
  assertEquals(await pop.quit(), null);
  await peer.done;
});

Deno.test("Pop3Error parses the RFC 2449 and RFC 3206 response codes", () => {
  const cases: [string, string | null, boolean][] = [
    ["[IN-USE] Do you have another POP session running?", "IN-USE", true],
    ["[LOGIN-DELAY] Wait 5 minutes", "LOGIN-DELAY", true],
    ["[SYS/TEMP] Try later", "SYS/TEMP", true],
    ["[SYS/PERM] Mailbox is corrupt", "SYS/PERM", false],
    ["[AUTH] Bad password", "AUTH", false],
    ["[not a code here", null, false],
    ["plain text", null, false],
  ];
  for (const [reply, code, temporary] of cases) {
    const error = new Pop3Error(reply, { command: "PASS" });
    assertEquals(error.responseCode, code);
    assertEquals(error.temporary, temporary);
  }
  assertEquals(new Pop3Error("[IN-USE] locked").text, "locked");
});

Deno.test("Pop3Client.login() throws [IN-USE] as a temporary Pop3Error", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "USER mulder\r\n" },
    { send: "+OK\r\n" },
    { expect: "PASS trustno1\r\n" },
    { send: "-ERR [IN-USE] Mailbox is locked\r\n" },
  ]);
  const error = await assertRejects(
    () => pop.login({ username: "mulder", password: "trustno1" }, { mechanism: "USER" }),
    Pop3Error,
  );
  assert(error.temporary);
  await peer.done;
  pop.close();
});

// ---- limits and hostile servers ------------------------------------------

Deno.test("Pop3Client fails with UNSOLICITED when the server talks between commands", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "NOOP\r\n" },
    { send: "+OK\r\n+OK injected\r\n" },
  ]);
  await pop.noop();
  const error = await assertRejects(() => pop.stat(), ProtocolError);
  assertEquals(error.code, "UNSOLICITED");
  assertEquals(peer.written, "NOOP\r\n");
  assert(pop.closed);
  await peer.done;
});

Deno.test("Pop3Client caps the reply line length (LINE_TOO_LONG)", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "NOOP\r\n" },
    { send: `+OK ${"x".repeat(2000)}\r\n` },
  ], { maxLineLength: 1024 });
  const error = await assertRejects(() => pop.noop(), ProtocolError);
  assertEquals(error.code, "LINE_TOO_LONG");
  assert(pop.closed);
  await peer.done;
});

Deno.test("Pop3Client caps a listing (LISTING_TOO_LARGE)", async () => {
  const lines = Array.from({ length: 200 }, (_, i) => `${i + 1} 100\r\n`).join("");
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "LIST\r\n" },
    { send: `+OK\r\n${lines}.\r\n` },
  ], { maxListingSize: 500 });
  const error = await assertRejects(() => pop.list(), ProtocolError);
  assertEquals(error.code, "LISTING_TOO_LARGE");
  await peer.done;
});

Deno.test("Pop3Client reports EOF inside a listing as UNEXPECTED_EOF", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "UIDL\r\n" },
    { send: "+OK\r\n1 abc\r\n" },
    { close: true },
  ]);
  const error = await assertRejects(() => pop.uidl(), ProtocolError);
  assertEquals(error.code, "UNEXPECTED_EOF");
  await peer.done;
});

Deno.test("Pop3Client.stls() refuses bytes sent before the handshake (STARTTLS_INJECTION)", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "STLS\r\n" },
    { send: "+OK Begin TLS\r\n+OK injected\r\n" },
  ]);
  const error = await assertRejects(() => pop.stls(), ProtocolError);
  assertEquals(error.code, "STARTTLS_INJECTION");
  assert(pop.closed);
  await peer.done;
});

Deno.test("Pop3Client.stls() re-reads CAPA over TLS and forgets the clear-text list", async () => {
  await using server = await fakeServer(async (s) => {
    await s.send("+OK ready\r\n");
    for (;;) {
      const line = await s.readLine();
      if (line === null) return;
      if (line === "CAPA") {
        await s.send(
          s.tls ? "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n" : "+OK\r\nSTLS\r\nSASL X-FORGED\r\n.\r\n",
        );
      } else if (line === "STLS") {
        await s.send("+OK Begin TLS\r\n");
        await s.startTls();
      } else if (line.startsWith("AUTH PLAIN ")) await s.send("+OK Logged in.\r\n");
      else if (line === "QUIT") {
        await s.send("+OK bye\r\n");
        return;
      } else await s.send("-ERR unknown\r\n");
    }
  });
  const pop = await Pop3Client.connect({
    port: server.port,
    caCerts: await testCa(),
    serverName: "localhost",
    credentials: { username: "mulder", password: "trustno1" },
  });
  assert(pop.tls);
  assert(pop.authenticated);
  assertEquals(pop.capabilities.get("SASL"), ["PLAIN"]);
  await pop.quit();
  await server.finished();
  assertEquals(server.sessions[0]!.received.map((l) => l.split(" ").slice(0, 2).join(" ")), [
    "CAPA",
    "STLS",
    "CAPA",
    "AUTH PLAIN",
    "QUIT",
  ]);
});

Deno.test("Pop3Client.connect() with requireTls sends nothing after a missing or refused STLS", async () => {
  for (const offer of [false, true]) {
    await using server = await fakeServer(async (s) => {
      await s.send("+OK ready\r\n");
      for (;;) {
        const line = await s.readLine();
        if (line === null) return;
        if (line === "CAPA") await s.send(`+OK\r\nUSER\r\n${offer ? "STLS\r\n" : ""}.\r\n`);
        else if (line === "STLS") await s.send("-ERR [SYS/TEMP] TLS is broken today\r\n");
        else await s.send("+OK\r\n");
      }
    });
    const error = await assertRejects(() =>
      Pop3Client.connect({
        port: server.port,
        requireTls: true,
        credentials: { username: "mulder", password: "trustno1" },
      })
    );
    if (offer) assertInstanceOf(error, Pop3Error);
    else assertEquals(error instanceof MissingExtensionError && error.extension, "STLS");
    await server.finished();
    assertEquals(server.sessions[0]!.received, offer ? ["CAPA", "STLS"] : ["CAPA"]);
  }
});

Deno.test("Pop3Client.connect() with tls: false stays in clear though STLS is offered", async () => {
  for (const off of [{ tls: false }, { starttls: false }]) {
    await using server = await fakeServer(async (s) => {
      await s.send("+OK ready\r\n");
      for (;;) {
        const line = await s.readLine();
        if (line === null) return;
        if (line === "CAPA") await s.send("+OK\r\nUSER\r\nSTLS\r\n.\r\n");
        else if (line === "QUIT") return await s.send("+OK bye\r\n");
        else await s.send("+OK\r\n");
      }
    });
    const pop = await Pop3Client.connect({
      port: server.port,
      ...off,
      credentials: { username: "mulder", password: "trustno1" },
    });
    assert(!pop.tls);
    await pop.quit();
    await server.finished();
    assertEquals(server.sessions[0]!.received, ["CAPA", "USER mulder", "PASS trustno1", "QUIT"]);
  }
});

Deno.test("Pop3Client.connect() fails when the STLS certificate is not trusted, never falling back", async () => {
  await using server = await fakeServer(async (s) => {
    await s.send("+OK ready\r\n");
    for (;;) {
      const line = await s.readLine();
      if (line === null) return;
      if (line === "CAPA") await s.send("+OK\r\nUSER\r\nSTLS\r\n.\r\n");
      else if (line === "STLS") {
        await s.send("+OK Begin TLS\r\n");
        await s.startTls().catch(() => {});
        return;
      } else await s.send("+OK\r\n");
    }
  });
  await assertRejects(() =>
    Pop3Client.connect({
      port: server.port,
      serverName: "localhost",
      credentials: { username: "mulder", password: "trustno1" },
    })
  );
  await server.finished();
  assertEquals(server.sessions[0]!.received, ["CAPA", "STLS"]);
});

Deno.test("Pop3Client aborts a command on its signal and closes the connection", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "NOOP\r\n" },
    { sleep: 200 },
  ]);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("stop")), 20);
  await assertRejects(() => pop.noop({ signal: controller.signal }), Error, "stop");
  assert(pop.closed);
  await peer.done;
});

Deno.test("Pop3Client times out a stalled command", async () => {
  const { peer, pop } = open([
    { send: "+OK ready\r\n" },
    { expect: "STAT\r\n" },
    { sleep: 300 },
  ]);
  const error = await assertRejects(() => pop.stat({ timeout: 50 }), DOMException);
  assertEquals(error.name, "TimeoutError");
  assertStringIncludes(error.message, "50 ms");
  await peer.done;
});

Deno.test("Pop3Client [Symbol.asyncDispose] says QUIT", async () => {
  const peer = new ScriptedPeer([
    { send: "+OK ready\r\n" },
    { expect: "NOOP\r\n" },
    { send: "+OK\r\n" },
    { expect: "QUIT\r\n" },
    { send: "+OK bye\r\n" },
  ]);
  {
    await using pop = new Pop3Client(peer);
    await pop.noop();
  }
  await peer.done;
});

Deno.test("Pop3Client.connect() with tls speaks TLS from the first byte and verifies the server", async () => {
  await using server = await fakeServer(async (s) => {
    await s.startTls();
    await s.send("+OK ready\r\n");
    for (;;) {
      const line = await s.readLine();
      if (line === null) return;
      if (line === "CAPA") await s.send("+OK\r\nUSER\r\n.\r\n");
      else if (line === "QUIT") {
        await s.send("+OK bye\r\n");
        return;
      } else await s.send("+OK\r\n");
    }
  });
  const pop = await Pop3Client.connect({
    port: server.port,
    tls: { hostname: "localhost" },
    caCerts: await testCa(),
    credentials: { username: "mulder", password: "trustno1" },
  });
  assert(pop.tls && pop.authenticated);
  await pop.quit();
  await server.finished();
  assertEquals(server.sessions[0]!.received, ["CAPA", "USER mulder", "PASS trustno1", "QUIT"]);
});
