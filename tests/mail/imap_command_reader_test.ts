import { BufferedReader, type ByteReader } from "../../net/buffered_reader.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  type ImapCommand,
  type ImapCommandError,
  type ImapCommandLiteralInfo,
  ImapCommandReader,
  type ImapCommandReaderOptions,
} from "../../mail/imap_command_reader.ts";
import type { ImapToken } from "../../mail/imap_response_reader.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "../_helpers/assert.ts";
import { byteReaderOf, prng } from "../_helpers/sources.ts";
import { bytesOf, chunkings } from "./_imap_helpers.ts";

const encoder = new TextEncoder();

type Result = ImapCommand | ImapCommandError;

function commandReader(
  input: string | Uint8Array | Uint8Array[],
  options: Partial<ImapCommandReaderOptions> = {},
  bufferSize?: number,
): ImapCommandReader {
  const chunks = Array.isArray(input) ? input : [bytesOf(input)];
  return new ImapCommandReader(new BufferedReader(byteReaderOf(chunks), { bufferSize }), {
    onContinuation: () => {},
    ...options,
  });
}

async function readAll(reader: ImapCommandReader): Promise<Result[]> {
  const out: Result[] = [];
  for (;;) {
    const result = await reader.read();
    if (result === null) return out;
    out.push(result);
  }
}

/** All results of `input`, asserted the same at every chunking; counts continuations too. */
async function sameAtEverySplit(
  input: string | Uint8Array,
  options: Partial<ImapCommandReaderOptions> = {},
): Promise<{ results: Result[]; continuations: number }> {
  let continuations = 0;
  const counting = { ...options, onContinuation: () => void continuations++ };
  const bytes = bytesOf(input);
  const results = await readAll(commandReader(bytes, counting));
  const expected = continuations;
  for (const { source, bufferSize, label } of chunkings(bytes)) {
    continuations = 0;
    const reader = new ImapCommandReader(new BufferedReader(source(), { bufferSize }), counting);
    assertEquals(await readAll(reader), results, label);
    assertEquals(continuations, expected, label);
  }
  return { results, continuations: expected };
}

const atom = (value: string): ImapToken => ({ type: "atom", value });
const str = (value: string): ImapToken => ({ type: "string", value });
const lit = (value: string | Uint8Array, binary = false): ImapToken => ({
  type: "literal",
  value: typeof value === "string" ? encoder.encode(value) : value,
  binary,
});
const command = (tag: string, name: string, ...args: ImapToken[]): Result => ({
  type: "command",
  tag,
  name,
  args,
});

Deno.test("ImapCommandReader.read() reads simple commands at every split", async () => {
  const wire = 'a1 CAPABILITY\r\na2 login mulder trustno1\r\na3 SELECT "Sent Items"\r\n' +
    'A4 LIST "" *\r\nA5 STORE 1:3,5 +FLAGS.SILENT (\\Seen \\Deleted)\r\nA6 select NIL\n';
  const { results, continuations } = await sameAtEverySplit(wire);
  assertEquals(continuations, 0);
  assertEquals(results, [
    command("a1", "CAPABILITY"),
    command("a2", "LOGIN", atom("mulder"), atom("trustno1")),
    command("a3", "SELECT", str("Sent Items")),
    command("A4", "LIST", str(""), atom("*")),
    command(
      "A5",
      "STORE",
      atom("1:3,5"),
      atom("+FLAGS.SILENT"),
      { type: "list", items: [atom("\\Seen"), atom("\\Deleted")] },
    ),
    command("A6", "SELECT", atom("NIL")),
  ]);
});

Deno.test("ImapCommandReader.read() merges UID with its subcommand and parses FETCH sections", async () => {
  const wire =
    "a1 uid fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100> BINARY[1])\r\n";
  const { results } = await sameAtEverySplit(wire);
  assertEquals(results, [
    command("a1", "UID FETCH", atom("1:*"), {
      type: "list",
      items: [
        atom("FLAGS"),
        {
          type: "section",
          name: "BODY.PEEK",
          section: "HEADER.FIELDS (FROM SUBJECT)",
          fields: ["From", "Subject"],
          origin: 0,
          length: 100,
        },
        { type: "section", name: "BINARY", section: "1", fields: null, origin: null, length: null },
      ],
    }),
  ]);
});

Deno.test("ImapCommandReader.read() asks for continuation before reading a synchronizing literal", async () => {
  // The literal's bytes only become readable once the continuation was sent,
  // as with a real client waiting for "+".
  let continued = false;
  const first = encoder.encode("a1 LOGIN {6}\r\n");
  const rest = encoder.encode("mulder {8}\r\ntrustno1\r\n");
  let step = 0;
  const source: ByteReader = {
    read(p) {
      if (step === 0) {
        step = 1;
        p.set(first);
        return Promise.resolve(first.length);
      }
      if (!continued) return Promise.reject(new Error("read the literal before the continuation"));
      if (step === 1) {
        step = 2;
        p.set(rest);
        return Promise.resolve(rest.length);
      }
      return Promise.resolve(null);
    },
  };
  const infos: ImapCommandLiteralInfo[] = [];
  const reader = new ImapCommandReader(new BufferedReader(source), {
    onContinuation: (info) => {
      infos.push(info);
      continued = true;
    },
  });
  assertEquals(await reader.read(), command("a1", "LOGIN", lit("mulder"), lit("trustno1")));
  assertEquals(infos, [
    { tag: "a1", command: "LOGIN", size: 6, binary: false, synchronizing: true, index: 0 },
    { tag: "a1", command: "LOGIN", size: 8, binary: false, synchronizing: true, index: 1 },
  ]);
  assertEquals(await reader.read(), null);
});

Deno.test("ImapCommandReader.read() reads {n+} directly under LITERAL+ and LITERAL-", async () => {
  const wire = "a1 LOGIN {6+}\r\nmulder {8+}\r\ntrustno1\r\na2 NOOP\r\n";
  for (const nonSynchronizing of ["LITERAL+", "LITERAL-"] as const) {
    const { results, continuations } = await sameAtEverySplit(wire, { nonSynchronizing });
    assertEquals(continuations, 0);
    assertEquals(results, [
      command("a1", "LOGIN", lit("mulder"), lit("trustno1")),
      command("a2", "NOOP"),
    ]);
  }
});

Deno.test("ImapCommandReader.read() refuses {n+} over 4096 bytes under LITERAL- and discards it", async () => {
  const big = "x".repeat(4097);
  const wire = `a1 APPEND INBOX {4097+}\r\n${big}\r\na2 APPEND INBOX {4096+}\r\n${
    big.slice(1)
  }\r\na3 NOOP\r\n`;
  const { results } = await sameAtEverySplit(wire, { nonSynchronizing: "LITERAL-" });
  assertEquals(results.length, 3);
  assertEquals(results[0], {
    type: "error",
    tag: "a1",
    status: "BAD",
    code: "TOOBIG",
    text: "Non-synchronizing literals are limited to 4096 bytes (LITERAL-)",
  });
  assertEquals(results[1], command("a2", "APPEND", atom("INBOX"), lit(big.slice(1))));
  assertEquals(results[2], command("a3", "NOOP"));
});

Deno.test("ImapCommandReader.read() refuses {n+} without LITERAL+ and stays in sync", async () => {
  const wire = "a1 LOGIN {3+}\r\nabc {2+}\r\nxy\r\na2 NOOP\r\n";
  const { results } = await sameAtEverySplit(wire, { nonSynchronizing: null });
  assertEquals(results, [
    {
      type: "error",
      tag: "a1",
      status: "BAD",
      code: null,
      text: "Non-synchronizing literals are not supported",
    },
    command("a2", "NOOP"),
  ]);
});

Deno.test("ImapCommandReader.read() answers an oversized synchronizing literal NO [TOOBIG] without reading it", async () => {
  // The client waits for "+" that never comes and sends the next command.
  const wire =
    "a1 APPEND INBOX {4294967295}\r\na2 APPEND INBOX {99999999999999999999}\r\na3 NOOP\r\n";
  const { results, continuations } = await sameAtEverySplit(wire, { maxLiteralSize: 1000 });
  assertEquals(continuations, 0);
  assertEquals(results, [
    { type: "error", tag: "a1", status: "NO", code: "TOOBIG", text: "Literal too large" },
    { type: "error", tag: "a2", status: "NO", code: "TOOBIG", text: "Literal too large" },
    command("a3", "NOOP"),
  ]);
  // Within the cap, but beyond what one command may hold in memory.
  const { results: total } = await sameAtEverySplit("a1 X {60}\r\n", {
    maxLiteralSize: 100,
    maxCommandSize: 50,
  });
  assertEquals(total[0]?.type === "error" && total[0].code, "TOOBIG");
});

Deno.test("ImapCommandReader.read() discards an oversized {n+} up to maxDiscardSize, then throws", async () => {
  const payload = "y".repeat(3000);
  const wire = `a1 APPEND INBOX {3000+}\r\n${payload}\r\na2 NOOP\r\n`;
  const { results } = await sameAtEverySplit(wire, {
    nonSynchronizing: "LITERAL+",
    maxLiteralSize: 1000,
  });
  assertEquals(results, [
    { type: "error", tag: "a1", status: "NO", code: "TOOBIG", text: "Literal too large" },
    command("a2", "NOOP"),
  ]);
  const reader = commandReader(`a1 APPEND INBOX {3000+}\r\n${payload}\r\n`, {
    nonSynchronizing: "LITERAL+",
    maxLiteralSize: 1000,
    maxDiscardSize: 2000,
  });
  const error = await assertRejects(() => reader.read(), ProtocolError);
  assertEquals(error.code, "LITERAL_TOO_LARGE");
  const again = await assertRejects(() => reader.read(), TypeError, "earlier read failed");
  assertInstanceOf(again.cause, ProtocolError);
});

Deno.test("ImapCommandReader.read() streams literals to onLiteral's stream and honours reject", async () => {
  const message = "From: a@example.test\r\n\r\nbody\r\n".repeat(100);
  const wire = `a1 APPEND INBOX (\\Seen) {${message.length}}\r\n${message}\r\n` +
    "a2 APPEND INBOX {5}\r\na3 NOOP\r\n";
  const received: Uint8Array[] = [];
  let continuations = 0;
  const reader = new ImapCommandReader(
    new BufferedReader(byteReaderOf([encoder.encode(wire)]), { bufferSize: 64 }),
    {
      onContinuation: () => void continuations++,
      onLiteral: (info) =>
        info.tag === "a1" ? new WritableStream({ write: (c) => void received.push(c) }) : "reject",
    },
  );
  const append = await reader.read();
  assert(append?.type === "command");
  assertEquals(append.args[2], {
    type: "streamed",
    size: message.length,
    binary: false,
    skipped: false,
    error: undefined,
  });
  assertEquals(new TextDecoder().decode(new Uint8Array(received.flatMap((c) => [...c]))), message);
  assertEquals(await reader.read(), {
    type: "error",
    tag: "a2",
    status: "NO",
    code: "TOOBIG",
    text: "Literal refused",
  });
  assertEquals(continuations, 1);
  assertEquals((await reader.read())?.type, "command");
});

Deno.test("ImapCommandReader.read() reads literal8 with NUL (BINARY APPEND)", async () => {
  const data = new Uint8Array([0, 1, 0, 0x0d, 0x0a]);
  const wire = new Uint8Array([
    ...encoder.encode("a1 APPEND INBOX ~{5}\r\n"),
    ...data,
    ...encoder.encode(" UTF8 (~{5+}\r\n"),
    ...data,
    ...encoder.encode(")\r\n"),
  ]);
  const { results, continuations } = await sameAtEverySplit(wire, { nonSynchronizing: "LITERAL+" });
  assertEquals(continuations, 1);
  assertEquals(results, [
    command("a1", "APPEND", atom("INBOX"), lit(data, true), atom("UTF8"), {
      type: "list",
      items: [lit(data, true)],
    }),
  ]);
});

Deno.test("ImapCommandReader.read() turns bad syntax into BAD and reads the next command", async () => {
  const wire =
    'a1 LOGIN "unterminated\r\n+tag NOOP\r\n\r\na3\r\na4 9BAD\r\na5 FETCH 1 (BODY[TEXT x)\r\n' +
    'a6 X {5-}\r\na7 X "bad \\q escape"\r\na8 X )\r\na9 X "x\0y"\r\nb1 X {3}\r\nb2 NOOP\r\n';
  const { results, continuations } = await sameAtEverySplit(wire);
  assertEquals(continuations, 1);
  assertEquals(
    results.map((r) => r.type === "error" ? `${r.tag} ${r.status}` : `${r.tag} ${r.name}`),
    [
      "a1 BAD",
      "null BAD",
      "null BAD",
      "a3 BAD",
      "a4 BAD",
      "a5 BAD",
      "a6 BAD",
      "a7 BAD",
      "a8 BAD",
      "a9 BAD",
      "b1 X",
    ],
  );
  // "b1 X {3}" takes "b2 " as its literal; the rest, "NOOP", is its second argument.
  assertEquals(results[10], command("b1", "X", lit("b2 "), atom("NOOP")));
  const messages = results.map((r) => r.type === "error" ? r.text : "");
  assert(messages[0]!.includes("not terminated"), messages[0]);
});

Deno.test("ImapCommandReader.read() skips the literals of a command that failed earlier", async () => {
  // The quoted string fails; the non-synchronizing literal after it is still consumed.
  const wire = 'a1 X "a\\q" {3+}\r\nabc more {2+}\r\nxy end\r\na2 NOOP\r\n';
  const { results } = await sameAtEverySplit(wire, { nonSynchronizing: "LITERAL+" });
  assertEquals(results.length, 2);
  assertEquals(results[0]?.type === "error" && results[0].tag, "a1");
  assertEquals(results[1], command("a2", "NOOP"));
  // A synchronizing literal after the error is never continued.
  const sync = await sameAtEverySplit('a1 X "a\\q" {3}\r\na2 NOOP\r\n');
  assertEquals(sync.continuations, 0);
  assertEquals(sync.results.map((r) => r.type), ["error", "command"]);
});

Deno.test("ImapCommandReader options cap arguments, depth, lines and command size", async () => {
  const many = `a1 SEARCH ${"1 ".repeat(50)}\r\na2 NOOP\r\n`;
  const { results } = await sameAtEverySplit(many, { maxArguments: 20 });
  assertEquals(results, [
    { type: "error", tag: "a1", status: "BAD", code: null, text: "Too many arguments" },
    command("a2", "NOOP"),
  ]);
  const deep = await readAll(
    commandReader(`a1 X ${"(".repeat(40)}${")".repeat(40)}\r\na2 NOOP\r\n`),
  );
  assertEquals(deep.map((r) => r.type === "error" ? r.text : r.name), [
    "Lists nest too deeply",
    "NOOP",
  ]);
  const large = await readAll(
    commandReader(`a1 X {10}\r\n0123456789 {10+}\r\n0123456789\r\na2 NOOP\r\n`, {
      maxCommandSize: 30,
      nonSynchronizing: "LITERAL+",
    }),
  );
  assertEquals(large.map((r) => r.type === "error" ? r.code : r.name), ["TOOBIG", "NOOP"]);
  const long = commandReader(`a1 LOGIN ${"x".repeat(100)}\r\n`, { maxLineLength: 64 });
  const error = await assertRejects(() => long.read(), ProtocolError);
  assertEquals(error.code, "LINE_TOO_LONG");
  const lf = commandReader("a1 NOOP\n", { lineEnding: "crlf" });
  assertEquals((await assertRejects(() => lf.read(), ProtocolError)).code, "BARE_LF");
});

Deno.test("ImapCommandReader.read() throws UNEXPECTED_EOF mid-command and returns null at a boundary", async () => {
  for (
    const wire of ["a1 NOOP", "a1 LOGIN {5}\r\nab", "a1 LOGIN {5+}\r\nabcde", "a1 X {3}\r\nabc"]
  ) {
    for (const { source, bufferSize, label } of chunkings(encoder.encode(wire))) {
      const reader = new ImapCommandReader(new BufferedReader(source(), { bufferSize }), {
        onContinuation: () => {},
        nonSynchronizing: "LITERAL+",
      });
      const error = await assertRejects(() => readAll(reader), ProtocolError, undefined, label);
      assertEquals(error.code, "UNEXPECTED_EOF", `${wire} ${label}`);
    }
  }
  assertEquals(await commandReader("").read(), null);
  assertEquals(await readAll(commandReader("a1 NOOP\r\n")), [command("a1", "NOOP")]);
});

Deno.test("ImapCommandReader refuses bad options, concurrent reads and aborted reads", async () => {
  const reader = new BufferedReader({ read: () => Promise.resolve(null) });
  assertThrows(
    () => new ImapCommandReader(reader, {} as ImapCommandReaderOptions),
    TypeError,
    "onContinuation",
  );
  assertThrows(
    () => new ImapCommandReader(reader, { onContinuation: () => {}, maxArguments: 0 }),
    RangeError,
  );
  const stuck = new ImapCommandReader(new BufferedReader({ read: () => new Promise(() => {}) }), {
    onContinuation: () => {},
  });
  const controller = new AbortController();
  const pending = stuck.read({ signal: controller.signal });
  await assertRejects(() => stuck.read(), TypeError, "did you forget await");
  controller.abort(new Error("shutdown"));
  await assertRejects(() => pending, Error, "shutdown");
  await assertRejects(() => stuck.read(), TypeError, "earlier read failed");
});

Deno.test("ImapCommandReader.read() on seeded random input never throws anything but ProtocolError", async () => {
  const pieces = [
    "a1 ",
    "NOOP",
    "LOGIN ",
    "(",
    ")",
    "{3}\r\n",
    "{2+}\r\n",
    "~{1}\r\n",
    "{99999999999}\r\n",
    "{x}",
    '"',
    "\\",
    "\r\n",
    "\n",
    "\r",
    "\0",
    " ",
    "x",
    "BODY[",
    "]",
    "<1.2>",
    "*",
    "+",
    "NIL",
    "ü",
  ];
  const random = prng(0xc0ffee);
  for (let trial = 0; trial < 3000; trial++) {
    let text = "";
    const n = 1 + Math.floor(random() * 30);
    for (let i = 0; i < n; i++) text += pieces[Math.floor(random() * pieces.length)];
    const bytes = encoder.encode(text);
    const chunks: Uint8Array[] = [];
    const size = 1 + Math.floor(random() * 8);
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    const reader = commandReader(chunks, {
      nonSynchronizing: (["LITERAL+", "LITERAL-", null] as const)[trial % 3],
      maxLiteralSize: 64,
      maxDiscardSize: 64,
    }, 16);
    try {
      await readAll(reader);
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        throw new Error(`trial ${trial} ${JSON.stringify(text)}: ${error}`, { cause: error });
      }
    }
  }
});
