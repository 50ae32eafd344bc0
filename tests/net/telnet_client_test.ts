import { ProtocolError } from "../../net/protocol_error.ts";
import {
  TELNET_COMMAND,
  TELNET_OPTION,
  TelnetCodec,
  type TelnetEvent,
} from "../../net/telnet_codec.ts";
import { TelnetClient, TelnetLoginError } from "../../net/telnet_client.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { ScriptedPeer, splits } from "../_helpers/scripted_peer.ts";
import { prng, randomChunks } from "../_helpers/sources.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const IAC = 255;
const { WILL, WONT, DO, DONT, SB, SE } = TELNET_COMMAND;
const { ECHO, SUPPRESS_GO_AHEAD: SGA, TERMINAL_TYPE: TTYPE, NAWS, NEW_ENVIRON, LINEMODE, STATUS } =
  TELNET_OPTION;

function bytes(...parts: (number | string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === "number") out.push(part);
    else if (typeof part === "string") out.push(...encoder.encode(part));
    else out.push(...part);
  }
  return new Uint8Array(out);
}

/** A duplex the test feeds by hand, recording what the client writes. */
function manualPeer() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const written: number[] = [];
  let closed = false;
  let onWrite: ((chunk: Uint8Array) => void) | null = null;
  const conn = {
    readable: new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) }),
    writable: new WritableStream<Uint8Array>({
      write(chunk) {
        written.push(...chunk);
        onWrite?.(chunk);
      },
    }),
    close() {
      if (closed) return;
      closed = true;
      try {
        controller.close();
      } catch {
        // already ended
      }
    },
  };
  return {
    conn,
    push: (data: string | Uint8Array) =>
      controller.enqueue(typeof data === "string" ? encoder.encode(data) : data),
    end: () => controller.close(),
    written: () => new Uint8Array(written),
    text: () => decoder.decode(new Uint8Array(written)),
    onWrite: (fn: (chunk: Uint8Array) => void) => void (onWrite = fn),
    get closed() {
      return closed;
    },
  };
}

function hex(text: string): Uint8Array {
  return new Uint8Array(text.match(/../g)!.map((h) => parseInt(h, 16)));
}

Deno.test("TelnetClient answers telnetd's opening negotiation byte for byte (fixture)", async () => {
  const fixture = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/telnetd_login.json", import.meta.url)),
  ) as { serverReads: string[]; clientWrites: string[] };
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn, {
    terminalType: ["XTERM-256COLOR", "XTERM"],
    windowSize: { columns: 80, rows: 24 },
    environment: { LANG: "C" },
  });
  for (const read of fixture.serverReads) peer.push(hex(read));
  assertEquals(await telnet.readUntil("login: ", { timeout: 2000 }), "vm login: ");
  await telnet.flush();
  const expected = fixture.clientWrites.map(hex);
  assertEquals(peer.written(), bytes(...expected.map((b) => [...b])));
});

Deno.test("TelnetClient accepts ECHO and SGA, reports TTYPE, NAWS and NEW-ENVIRON when configured", async () => {
  const peer = new ScriptedPeer([
    { send: bytes(IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, TTYPE, IAC, DO, NAWS) },
    { send: bytes(IAC, DO, NEW_ENVIRON, "login: ") },
    {
      expect: bytes(
        [IAC, DO, ECHO, IAC, DO, SGA, IAC, WILL, TTYPE, IAC, WILL, NAWS],
        [IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE, IAC, WILL, NEW_ENVIRON],
      ),
    },
    { send: bytes(IAC, SB, TTYPE, 1, IAC, SE) },
    { expect: bytes(IAC, SB, TTYPE, 0, "VT100", IAC, SE) },
    { send: bytes(IAC, SB, NEW_ENVIRON, 1, 0, "USER", IAC, SE, "Password: ") },
    { expect: bytes(IAC, SB, NEW_ENVIRON, 0, 0, "USER", 1, "mulder", IAC, SE) },
  ]);
  await using telnet = new TelnetClient(peer, {
    terminalType: "VT100",
    windowSize: { columns: 80, rows: 24 },
    environment: { USER: "mulder" },
  });
  assertEquals(await telnet.readUntil("login: ", { timeout: 2000 }), "login: ");
  assertEquals(await telnet.readUntil("Password: ", { timeout: 2000 }), "Password: ");
  await peer.done;
  assert(telnet.codec.isEnabled(ECHO, "remote"));
  assert(telnet.codec.isEnabled(NAWS, "local"));
});

Deno.test("TelnetClient refuses options it was not configured for, as telnetlib does", async () => {
  const peer = new ScriptedPeer([
    { send: bytes(IAC, DO, TTYPE, IAC, DO, NAWS, IAC, DO, NEW_ENVIRON, IAC, DO, LINEMODE) },
    { send: bytes(IAC, WILL, STATUS, IAC, DO, ECHO, "$ ") },
    {
      expect: bytes(
        [IAC, WONT, TTYPE, IAC, WONT, NAWS, IAC, WONT, NEW_ENVIRON, IAC, WONT, LINEMODE],
        [IAC, DONT, STATUS, IAC, WONT, ECHO],
      ),
    },
  ]);
  await using telnet = new TelnetClient(peer);
  assertEquals(await telnet.readUntil("$ ", { timeout: 2000 }), "$ ");
  await peer.done;
});

Deno.test("TelnetClient answers a repeated WILL once (RFC 1143: no negotiation loops)", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  peer.push(bytes(IAC, WILL, ECHO, IAC, WILL, ECHO, IAC, WONT, ECHO, IAC, WONT, ECHO, "x"));
  assertEquals(await telnet.readUntil("x", { timeout: 1000 }), "x");
  await telnet.flush();
  // DO ECHO for the first WILL, DONT ECHO for the first WONT, nothing for the repeats.
  assertEquals(peer.written(), bytes(IAC, DO, ECHO, IAC, DONT, ECHO));
});

Deno.test("TelnetClient reads the same text and answers the same way at every split", async () => {
  const wire = bytes(
    [IAC, WILL, ECHO, IAC, DO, TTYPE],
    "Welcome \xff",
    [IAC, IAC],
    "\r\0end\r\n",
    [IAC, TELNET_COMMAND.GA],
    "login: ",
  );
  // "\xff" in a JS string is U+00FF (two UTF-8 bytes); IAC IAC is one 0xff data byte.
  const expectedText = "Welcome \u00ff\ufffd\rend\r\nlogin: ";
  for (const chunks of splits(wire, true)) {
    const written: number[] = [];
    const conn = {
      readable: ReadableStream.from(chunks.map((c) => c.slice())),
      writable: new WritableStream<Uint8Array>({ write: (c) => void written.push(...c) }),
      close() {},
    };
    await using telnet = new TelnetClient(conn);
    assertEquals(await telnet.readUntil("login: "), expectedText);
    await telnet.flush();
    assertEquals(written, [IAC, DO, ECHO, IAC, WONT, TTYPE]);
  }
});

Deno.test("TelnetClient doubles IAC on the way out and undoes it on the way in", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn, { binary: true });
  await telnet.write(bytes(0x41, IAC, 0x42));
  assertEquals(peer.written(), bytes(0x41, IAC, IAC, 0x42));
  peer.push(bytes(1, IAC, IAC, 2, IAC, IAC));
  peer.end();
  const reader = telnet.readable.getReader();
  const got: number[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    got.push(...value);
  }
  assertEquals(got, [1, IAC, 2, IAC]);
});

Deno.test("TelnetClient drops an over-long subnegotiation and keeps reading (bounded)", async () => {
  const events: TelnetEvent[] = [];
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn, {
    terminalType: "XTERM",
    maxSubnegotiationSize: 16,
    onEvent: (e) => void events.push(e),
  });
  peer.push(bytes(IAC, DO, TTYPE, IAC, SB, TTYPE, 1, "x".repeat(10000), IAC, SE, "after"));
  assertEquals(await telnet.readUntil("after", { timeout: 1000 }), "after");
  await telnet.flush();
  const errors = events.filter((e) => e.type === "error");
  assertEquals(errors.length, 1);
  assertEquals(errors[0]!.type === "error" && errors[0]!.error.code, "SUBNEGOTIATION_TOO_LONG");
  // Only WILL TTYPE went out: the oversized SEND was not answered.
  assertEquals(peer.written(), bytes(IAC, WILL, TTYPE));
});

Deno.test("TelnetClient.readUntil() returns the partial text on timeout without closing or losing bytes", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  peer.push("Pass");
  const started = Date.now();
  assertEquals(await telnet.readUntil("word: ", { timeout: 80 }), "Pass");
  assert(Date.now() - started >= 70);
  assert(!telnet.closed && !peer.closed);
  // The abandoned read is still in flight; what it brings is kept.
  peer.push("word: ");
  peer.push("$ ");
  assertEquals(await telnet.readUntil("word: ", { timeout: 1000 }), "word: ");
  assertEquals(await telnet.readUntil("$ ", { timeout: 1000 }), "$ ");
});

Deno.test("TelnetClient.expect() on timeout gives index -1 and the text; later bytes stay readable", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  peer.push("Last log");
  const first = await telnet.expect([/\$ $/, "incorrect"], { timeout: 50 });
  assertEquals(first, { index: -1, match: null, text: "Last log", eof: false });
  await new Promise((resolve) => setTimeout(resolve, 20));
  peer.push("in: today\r\nmulder@vm:~$ ");
  const second = await telnet.expect([/incorrect/, /\$ $/], { timeout: 1000 });
  assertEquals([second.index, second.match?.[0], second.text], [
    1,
    "$ ",
    "in: today\r\nmulder@vm:~$ ",
  ]);
});

Deno.test("TelnetClient.expect() tries the patterns in list order", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  peer.push("ab");
  const result = await telnet.expect([/b/, /a/]);
  assertEquals([result.index, result.text], [0, "ab"]);
});

Deno.test("TelnetClient.readUntil() with a signal rejects and consumes nothing", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  peer.push("abc");
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("user gave up")), 30);
  await assertRejects(() => telnet.readUntil("x", { signal: controller.signal }), Error, "gave up");
  peer.push("x");
  assertEquals(await telnet.readUntil("x", { timeout: 1000 }), "abcx");
});

Deno.test("TelnetClient keeps a UTF-8 character cut by a timeout for the next read", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  peer.push(bytes("caf", 0xc3));
  assertEquals(await telnet.readUntil("é!", { timeout: 50 }), "caf");
  peer.push(bytes(0xa9, "!"));
  assertEquals(await telnet.readUntil("é!", { timeout: 1000 }), "é!");
  peer.push(bytes(0xfe, "?")); // not UTF-8 (and not IAC)
  assertEquals(await telnet.readUntil(/\?$/, { timeout: 1000 }), "\ufffd?");
});

Deno.test("TelnetClient.readUntil() caps what it accumulates and leaves the bytes readable", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn, { maxBufferSize: 64 });
  peer.push("y".repeat(100));
  const error = await assertRejects(() => telnet.readUntil("login: "), ProtocolError);
  assertEquals(error.code, "LINE_TOO_LONG");
  assertEquals(await telnet.readSome(), "y".repeat(64));
});

Deno.test("TelnetClient at the end of the stream: partial text, then UNEXPECTED_EOF", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  peer.push("bye");
  peer.end();
  assertEquals(await telnet.expect(["login: "]), {
    index: -1,
    match: null,
    text: "bye",
    eof: true,
  });
  assert(telnet.eof);
  const error = await assertRejects(() => telnet.readUntil("login: "), ProtocolError);
  assertEquals(error.code, "UNEXPECTED_EOF");
  assertEquals(await telnet.readAll(), "");
  assertEquals(await telnet.readSome(), "");
});

Deno.test("TelnetClient.readAll() times out with a TimeoutError and keeps the bytes", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn, { maxBufferSize: 1000 });
  peer.push("partial");
  const error = await assertRejects(() => telnet.readAll({ timeout: 50 }), DOMException);
  assertEquals(error.name, "TimeoutError");
  peer.push("x".repeat(2000));
  assertEquals((await assertRejects(() => telnet.readAll(), ProtocolError)).code, "LINE_TOO_LONG");
  assert((await telnet.readVeryEager()).startsWith("partialxxx"));
});

Deno.test("TelnetClient.readVeryEager() returns what arrived without waiting", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  assertEquals(await telnet.readVeryEager(), "");
  peer.push("one ");
  peer.push("two");
  assertEquals(await telnet.readVeryEager(), "one two");
  peer.end();
  const error = await assertRejects(() => telnet.readVeryEager(), ProtocolError);
  assertEquals(error.code, "UNEXPECTED_EOF");
});

Deno.test("TelnetClient.login() sends user and password after their prompts", async () => {
  const peer = new ScriptedPeer([
    { send: bytes(IAC, WILL, ECHO, "\r\nvm login: ") },
    { expect: bytes(IAC, DO, ECHO, "mulder\r\n") },
    { send: "mulder\r\nPassword: " },
    { expect: "trustno1\r\n" },
    { send: "\r\nLast login: today from localhost\r\nmulder@vm:~$ " },
    { expect: "echo TELNET-OK-$((6*7))\r\n" },
    { send: "echo TELNET-OK-$((6*7))\r\nTELNET-OK-42\r\nmulder@vm:~$ " },
  ]);
  await using telnet = new TelnetClient(peer, { serverName: "127.0.0.1", timeout: 2000 });
  const banner = await telnet.login("mulder", "trustno1");
  assertStringIncludes(banner, "Last login: today");
  assertEquals(await telnet.runCommand("echo TELNET-OK-$((6*7))"), "TELNET-OK-42\n");
  await peer.done;
});

Deno.test("TelnetClient.login() throws TelnetLoginError on a refused password", async () => {
  const peer = new ScriptedPeer([
    { send: "login: " },
    { expect: "mulder\r\n" },
    { send: "Password: " },
    { expect: "wrong\r\n" },
    { send: "\r\nLogin incorrect\r\nvm login: " },
  ]);
  await using telnet = new TelnetClient(peer, { serverName: "localhost" });
  const error = await assertRejects(() => telnet.login("mulder", "wrong"), TelnetLoginError);
  assertEquals(error.reason, "refused");
  assertStringIncludes(error.message, '"Login incorrect"');
  assert(!error.message.includes("wrong"));
});

Deno.test("TelnetClient.login() fails with timeout and closed reasons", async () => {
  const silent = manualPeer();
  await using quiet = new TelnetClient(silent.conn, { serverName: "localhost" });
  silent.push("Welcome\r\n");
  const timeout = await assertRejects(
    () => quiet.login("mulder", "x", { timeout: 50 }),
    TelnetLoginError,
  );
  assertEquals([timeout.reason, timeout.text], ["timeout", "Welcome\r\n"]);

  const gone = manualPeer();
  await using closed = new TelnetClient(gone.conn, { serverName: "localhost" });
  gone.push("login: ");
  gone.onWrite(() => gone.end());
  const error = await assertRejects(() => closed.login("mulder", "x"), TelnetLoginError);
  assertEquals(error.reason, "closed");
});

Deno.test("TelnetClient.login() never sends a password in clear to a remote host", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn, { serverName: "bbs.example.org" });
  peer.push("login: ");
  await assertRejects(() => telnet.login("mulder", "trustno1"), TypeError, "in clear");
  assertEquals(peer.written().length, 0);
  // Opting in lets it through.
  peer.onWrite((chunk) => {
    const text = decoder.decode(chunk);
    if (text === "mulder\r\n") peer.push("Password: ");
    if (text === "trustno1\r\n") peer.push("\r\n$ ");
  });
  assertEquals(await telnet.login("mulder", "trustno1", { allowInsecureAuth: true }), "\r\n$ ");
});

Deno.test("TelnetClient refuses CR, LF and NUL in credentials and commands before writing", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn, { serverName: "localhost" });
  peer.push("login: ");
  for (const [user, password] of [["mulder\r\nroot", "x"], ["mulder", "pw\nid"], ["a\0", "b"]]) {
    await assertRejects(() => telnet.login(user!, password!), TypeError);
  }
  await assertRejects(() => telnet.login("", "x"), TypeError, "empty");
  await assertRejects(() => telnet.runCommand("ls\nrm -rf ~"), TypeError, "an LF");
  assertEquals(peer.written().length, 0);
});

Deno.test("TelnetClient.runCommand() returns what came before the end after exit", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  peer.onWrite(() => {
    peer.push("exit\r\nlogout\r\n");
    peer.end();
  });
  assertEquals(await telnet.runCommand("exit", { timeout: 1000 }), "logout\n");
});

Deno.test("TelnetClient.runCommand() throws a TimeoutError without a prompt", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  const error = await assertRejects(
    () => telnet.runCommand("sleep 100", { timeout: 50 }),
    DOMException,
  );
  assertEquals(error.name, "TimeoutError");
  assert(!telnet.closed);
});

Deno.test("TelnetClient.write() with a timeout closes the connection when the peer stalls", async () => {
  let closed = false;
  const conn = {
    readable: new ReadableStream<Uint8Array>(),
    writable: new WritableStream<Uint8Array>({ write: () => new Promise<void>(() => {}) }),
    close: () => void (closed = true),
  };
  const telnet = new TelnetClient(conn);
  const error = await assertRejects(() => telnet.write("ls\n", { timeout: 50 }), DOMException);
  assertEquals(error.name, "TimeoutError");
  assert(closed && telnet.closed);
  await assertRejects(() => telnet.write("x"), TypeError, "closed");
  await assertRejects(() => telnet.readUntil("x"), TypeError, "closed");
});

Deno.test("TelnetClient.writable sends chunks encoded; readable carries decoded data", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  const writer = telnet.writable.getWriter();
  await writer.write(encoder.encode("ls\n"));
  writer.releaseLock();
  assertEquals(peer.text(), "ls\r\n");
  peer.push(bytes("a", IAC, TELNET_COMMAND.NOP, "b"));
  const reader = telnet.readable.getReader();
  assertEquals(decoder.decode((await reader.read()).value), "ab");
  reader.releaseLock();
});

Deno.test("TelnetClient rejects bad options and patterns", () => {
  const conn = { readable: new ReadableStream(), writable: new WritableStream(), close() {} };
  for (const options of [{ maxBufferSize: 0 }, { timeout: -1 }]) {
    let thrown: unknown;
    try {
      new TelnetClient(conn, options);
    } catch (error) {
      thrown = error;
    }
    assertInstanceOf(thrown, RangeError);
  }
});

Deno.test("TelnetClient.expect() rejects empty pattern lists and empty strings", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  await assertRejects(() => telnet.expect([]), TypeError, "no patterns");
  await assertRejects(() => telnet.readUntil(""), TypeError, "empty");
});

Deno.test("TelnetClient reads seeded random Telnet streams like the codec decodes them whole", async () => {
  const random = prng(1143);
  const pieces = [
    [IAC, IAC],
    [IAC, WILL, ECHO],
    [IAC, DO, TTYPE],
    [IAC, WONT, SGA],
    [IAC, DONT, NAWS],
    [IAC, TELNET_COMMAND.GA],
    [IAC, TELNET_COMMAND.NOP],
    [IAC, SB, TTYPE, 1, IAC, SE],
    [IAC, SB, 99, 1, 2, IAC, IAC, 3, IAC, SE],
    [13, 0],
    [13, 10],
    [10],
    [0xc3, 0xa9],
    [0xfe],
  ];
  for (let round = 0; round < 200; round++) {
    const wire: number[] = [];
    const length = 1 + Math.floor(random() * 40);
    for (let i = 0; i < length; i++) {
      if (random() < 0.4) wire.push(...pieces[Math.floor(random() * pieces.length)]!);
      else wire.push(0x20 + Math.floor(random() * 0x5f));
    }
    const all = new Uint8Array(wire);
    const reference = new TelnetCodec({ send: () => {}, remote: [ECHO, SGA] }).decode(all);
    const conn = {
      readable: ReadableStream.from(randomChunks(all, random, 7).map((c) => c.slice())),
      writable: new WritableStream<Uint8Array>(),
      close() {},
    };
    await using telnet = new TelnetClient(conn, { maxBufferSize: 4096 });
    const got: number[] = [];
    const reader = telnet.readable.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      got.push(...value);
    }
    assertEquals(new Uint8Array(got), reference, `round ${round}`);
  }
});

Deno.test("TelnetClient allows one read at a time: did you forget await?", async () => {
  const peer = manualPeer();
  await using telnet = new TelnetClient(peer.conn);
  const first = telnet.readUntil("x", { timeout: 1000 });
  await assertRejects(() => telnet.readUntil("y"), TypeError, "did you forget await?");
  peer.push("x");
  assertEquals(await first, "x");
});
