import { BufferedReader, type ByteReader } from "../../net/buffered_reader.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  type ImapBodyLiteralInfo,
  type ImapResponse,
  ImapResponseReader,
  type ImapResponseReaderOptions,
  type ImapToken,
} from "../../mail/imap_response_reader.ts";
import { toImapEvent } from "../../mail/imap_types.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLessOrEqual,
  assertRejects,
  assertThrows,
} from "../_helpers/assert.ts";
import { prng } from "../_helpers/sources.ts";
import { bytesOf, chunkings, fixture, FIXTURES, readAll, responseReader } from "./_imap_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads all of `input` in one chunk, then at every chunking, and asserts the same result. */
async function sameAtEverySplit(
  input: string | Uint8Array,
  options?: ImapResponseReaderOptions,
): Promise<ImapResponse[]> {
  const bytes = bytesOf(input);
  const whole = await readAll(responseReader(bytes, options));
  for (const { source, bufferSize, label } of chunkings(bytes)) {
    const reader = new ImapResponseReader(new BufferedReader(source(), { bufferSize }), options);
    assertEquals(await readAll(reader), whole, label);
  }
  return whole;
}

/** Asserts that reading all of `input` fails with `code`, at every chunking. */
async function failsAtEverySplit(
  input: string | Uint8Array,
  code: string,
  options?: ImapResponseReaderOptions,
): Promise<void> {
  for (const { source, bufferSize, label } of chunkings(bytesOf(input))) {
    const reader = new ImapResponseReader(new BufferedReader(source(), { bufferSize }), options);
    const error = await assertRejects(() => readAll(reader), ProtocolError, undefined, label);
    assertEquals(error.code, code, `${label}: ${error.message}`);
  }
}

async function failsWith(
  input: string | Uint8Array,
  code: string,
  options?: ImapResponseReaderOptions,
): Promise<ProtocolError> {
  const error = await assertRejects(() => readAll(responseReader(input, options)), ProtocolError);
  assertEquals(error.code, code, error.message);
  return error;
}

function fetchItems(response: ImapResponse | undefined): ImapToken[] {
  assert(response?.type === "data" && response.name === "FETCH", `not a FETCH: ${response?.type}`);
  const list = response.args[0];
  assert(list?.type === "list");
  return list.items;
}

const str = (value: string): ImapToken => ({ type: "string", value });
const atom = (value: string): ImapToken => ({ type: "atom", value });
const num = (value: number): ImapToken => ({ type: "number", value, text: String(value) });
const lit = (value: string, binary = false): ImapToken => ({
  type: "literal",
  value: encoder.encode(value),
  binary,
});
const NIL: ImapToken = { type: "nil" };

// --- Dovecot fixtures ---------------------------------------------------------------------

Deno.test("ImapResponseReader.read() parses every Dovecot fixture the same at every split", async () => {
  for (const name of FIXTURES) {
    const responses = await sameAtEverySplit(fixture(name));
    assert(responses.length > 0, name);
    const last = responses[responses.length - 1]!;
    assert(last.type === "status", name);
    if (name !== "greeting") assert(last.tag !== null, name);
  }
});

Deno.test("ImapResponseReader.read() reads Dovecot's greeting and CAPABILITY", async () => {
  const [greeting] = await readAll(responseReader(fixture("greeting")));
  assertEquals(greeting, {
    type: "status",
    tag: null,
    status: "OK",
    code: {
      name: "CAPABILITY",
      value: [
        "IMAP4REV1",
        "SASL-IR",
        "LOGIN-REFERRALS",
        "ID",
        "ENABLE",
        "IDLE",
        "LITERAL+",
        "STARTTLS",
        "AUTH=PLAIN",
        "AUTH=LOGIN",
      ],
    },
    text: "Dovecot (Debian) ready.",
  });
  const [capability, ok] = await readAll(responseReader(fixture("capability_auth")));
  assert(capability?.type === "data" && capability.name === "CAPABILITY");
  assert(capability.args.some((t) => t.type === "atom" && t.value === "CONDSTORE"));
  assertEquals(ok?.type === "status" && [ok.tag, ok.status], ["a3", "OK"]);
});

Deno.test("ImapResponseReader.read() reads Dovecot's FETCH with literal bodies", async () => {
  const responses = await readAll(responseReader(fixture("fetch_all")));
  assertEquals(responses.length, 3);
  const first = fetchItems(responses[0]);
  assertEquals(first.slice(0, 8), [
    atom("UID"),
    num(1),
    atom("FLAGS"),
    { type: "list", items: [atom("\\Seen")] },
    atom("INTERNALDATE"),
    str("03-Dec-2026 11:32:21 +0000"),
    atom("RFC822.SIZE"),
    num(343),
  ]);
  const body = first[first.length - 1]!;
  assert(body.type === "literal");
  assertEquals(body.value.length, 343);
  const text = decoder.decode(body.value);
  assert(text.startsWith("Return-Path: <skinner@example.test>\r\n"));
  assert(text.endsWith("This is test message one.\r\n"));
  assertEquals(first[first.length - 2], {
    type: "section",
    name: "BODY",
    section: "",
    fields: null,
    origin: null,
    length: null,
  });
  const second = fetchItems(responses[1]);
  const secondBody = second[second.length - 1]!;
  assertEquals(secondBody.type === "literal" && secondBody.value.length, 331);
  assertEquals(responses[2], {
    type: "status",
    tag: "a6",
    status: "OK",
    code: null,
    text: "Fetch completed (0.001 + 0.000 secs).",
  });
});

Deno.test("ImapResponseReader.read() reads sections, partials and BODY after a literal", async () => {
  const [response] = await readAll(responseReader(fixture("fetch_sections")));
  const items = fetchItems(response);
  assertEquals(items[0], {
    type: "section",
    name: "BODY",
    section: "HEADER.FIELDS (DATE FROM)",
    fields: ["DATE", "FROM"],
    origin: null,
    length: null,
  });
  assertEquals(
    items[1],
    lit(
      "From: Walter Skinner <skinner@example.test>\r\nDate: Tue, 14 Nov 2023 22:13:21 +0000\r\n\r\n",
    ),
  );
  assertEquals(items[2], {
    type: "section",
    name: "BODY",
    section: "TEXT",
    fields: null,
    origin: 0,
    length: null,
  });
  assertEquals(items[3], lit("The truth "));
  assertEquals(items[4], atom("BODY"));
  assertEquals(items[5]?.type, "list");
});

Deno.test("ImapResponseReader.read() reads SELECT, status codes, NO, BAD and BYE from Dovecot", async () => {
  const select = await readAll(responseReader(fixture("select")));
  assertEquals(select.map((r) => r.type === "status" ? r.code : r.type === "data" && r.name), [
    "FLAGS",
    {
      name: "PERMANENTFLAGS",
      value: ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\*"],
    },
    "EXISTS",
    "RECENT",
    { name: "UNSEEN", value: 2 },
    { name: "UIDVALIDITY", value: 1796297559 },
    { name: "UIDNEXT", value: 19 },
    { name: "READ-WRITE", value: null },
  ]);
  assertEquals(select[2], { type: "data", number: 2, name: "EXISTS", args: [] });
  const [closed, no] = await readAll(responseReader(fixture("select_missing")));
  assertEquals(closed?.type === "status" && closed.code, { name: "CLOSED", value: null });
  assertEquals(no?.type === "status" && [no.tag, no.status, no.text], [
    "b5",
    "NO",
    "Mailbox doesn't exist: Nonexistent (0.003 + 0.000 + 0.002 secs).",
  ]);
  const [bad] = await readAll(responseReader(fixture("bad_command")));
  assertEquals(bad?.type === "status" && bad.status, "BAD");
  const [bye, logout] = await readAll(responseReader(fixture("logout")));
  assertEquals(bye, { type: "status", tag: null, status: "BYE", code: null, text: "Logging out" });
  assertEquals(logout?.type === "status" && logout.tag, "b7");
});

// --- hand-written responses ---------------------------------------------------------------

Deno.test("ImapResponseReader.read() reads a literal inside an envelope subject", async () => {
  const wire =
    "* 12 FETCH (ENVELOPE (NIL {12}\r\nline1\r\nline2 NIL NIL NIL NIL NIL NIL NIL NIL))\r\n" +
    "a1 OK done\r\n";
  const [response] = await sameAtEverySplit(wire);
  const envelope = fetchItems(response)[1];
  assert(envelope?.type === "list");
  assertEquals(envelope.items[1], lit("line1\r\nline2"));
  const event = toImapEvent(response!);
  assertEquals(event?.kind === "fetch" && event.data.envelope?.subject, "line1\r\nline2");
});

Deno.test("ImapResponseReader.read() treats {n} inside a quoted string and in text as text", async () => {
  const wire =
    '* 1 FETCH (ENVELOPE (NIL "not {5} a literal" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n' +
    '* OK text ending in {5}\r\n* LIST () "/" "x {3}"\r\na1 NO [ALERT] see {7}\r\n';
  const responses = await sameAtEverySplit(wire);
  assertEquals(responses.length, 4);
  const envelope = fetchItems(responses[0])[1];
  assert(envelope?.type === "list");
  assertEquals(envelope.items[1], str("not {5} a literal"));
  assertEquals(responses[1]?.type === "status" && responses[1].text, "text ending in {5}");
  assertEquals(responses[2]?.type === "data" && responses[2].args[2], str("x {3}"));
  assertEquals(responses[3], {
    type: "status",
    tag: "a1",
    status: "NO",
    code: { name: "ALERT", value: null },
    text: "see {7}",
  });
});

Deno.test("ImapResponseReader.read() reads quoted-string escapes and refuses others", async () => {
  const [response] = await sameAtEverySplit('* LIST (\\Noselect) "\\\\" "a \\"b\\" \\\\c"\r\n');
  assertEquals(response?.type === "data" && response.args, [
    { type: "list", items: [atom("\\Noselect")] },
    str("\\"),
    str('a "b" \\c'),
  ]);
  await failsWith('* LIST () "/" "a\\tb"\r\n', "BAD_REPLY");
  await failsWith('* LIST () "/" "unterminated\r\n', "BAD_REPLY");
  await failsWith('* LIST () "/" "ends in \\\r\n', "BAD_REPLY");
});

Deno.test("ImapResponseReader.read() reads split literals and several literals in one response", async () => {
  const wire = "* 3 FETCH (BODY[1] {3}\r\nabc BODY[2] {0}\r\n BODY[3]<5> {4}\r\n()\r\n UID 9)\r\n" +
    "a1 OK\r\n";
  const [response, ok] = await sameAtEverySplit(wire);
  assertEquals(fetchItems(response).filter((t) => t.type === "literal"), [
    lit("abc"),
    lit(""),
    lit("()\r\n"),
  ]);
  assertEquals(fetchItems(response).slice(-2), [atom("UID"), num(9)]);
  assertEquals(ok, { type: "status", tag: "a1", status: "OK", code: null, text: "" });
});

Deno.test("ImapResponseReader.read() reads literal8 with NUL bytes", async () => {
  const body = new Uint8Array([0x61, 0, 0xff, 0x0d, 0x0a, 0]);
  const wire = new Uint8Array([
    ...encoder.encode("* 1 FETCH (BINARY[1] ~{6}\r\n"),
    ...body,
    ...encoder.encode(" BINARY.SIZE[1] 6)\r\n"),
  ]);
  const [response] = await sameAtEverySplit(wire);
  const items = fetchItems(response);
  assertEquals(items[1], { type: "literal", value: body, binary: true });
  assertEquals(items[2]?.type === "section" && items[2].name, "BINARY.SIZE");
});

Deno.test("ImapResponseReader.read() reads continuation requests", async () => {
  const wire = "+ Ready for literal data\r\n+ \r\n+\r\n+ dGVzdA==\r\n+ [ALERT] hi\r\n+ [x\r\n";
  assertEquals(await sameAtEverySplit(wire), [
    { type: "continuation", code: null, text: "Ready for literal data" },
    { type: "continuation", code: null, text: "" },
    { type: "continuation", code: null, text: "" },
    { type: "continuation", code: null, text: "dGVzdA==" },
    { type: "continuation", code: { name: "ALERT", value: null }, text: "hi" },
    { type: "continuation", code: null, text: "[x" },
  ]);
});

Deno.test("ImapResponseReader.read() reads an unsolicited BYE and then the end of the stream", async () => {
  const reader = responseReader("* BYE Autologout; idle for too long\r\n");
  assertEquals(await reader.read(), {
    type: "status",
    tag: null,
    status: "BYE",
    code: null,
    text: "Autologout; idle for too long",
  });
  assertEquals(await reader.read(), null);
  assertEquals(await reader.read(), null);
});

Deno.test("ImapResponseReader.read() parses the response codes it knows", async () => {
  const wire = "* OK [ALERT] System shutdown in 10 minutes\r\n" +
    "a1 OK [APPENDUID 38505 3955] APPEND completed\r\n" +
    "a2 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n" +
    'a3 NO [BADCHARSET (UTF-8 "KOI8-R")] charset\r\n' +
    "a4 NO [BADCHARSET] charset\r\n" +
    "a5 NO [TRYCREATE] No such mailbox\r\n" +
    "* OK [HIGHESTMODSEQ 9223372036854775807] Highest\r\n" +
    "a6 OK [READ-ONLY] EXAMINE completed\r\n" +
    "a7 OK [MODIFIED 7,9] Conditional STORE failed\r\n" +
    "a8 NO [REFERRAL imap://user;AUTH=*@host/] Try there\r\n" +
    "* PREAUTH [CAPABILITY IMAP4rev2] Logged in as mulder\r\n" +
    "a9 OK [UIDVALIDITY 1]\r\n";
  const codes = (await sameAtEverySplit(wire)).map((r) => r.type === "status" ? r.code : null);
  assertEquals(codes, [
    { name: "ALERT", value: null },
    { name: "APPENDUID", value: { uidValidity: 38505, uids: [[3955, 3955]] } },
    {
      name: "COPYUID",
      value: {
        uidValidity: 38505,
        sourceUids: [[304, 304], [319, 320]],
        destinationUids: [[3956, 3958]],
      },
    },
    { name: "BADCHARSET", value: ["UTF-8", "KOI8-R"] },
    { name: "BADCHARSET", value: [] },
    { name: "TRYCREATE", value: null },
    { name: "HIGHESTMODSEQ", value: 9223372036854775807n },
    { name: "READ-ONLY", value: null },
    { name: "MODIFIED", value: [[7, 7], [9, 9]] },
    { name: "REFERRAL", value: "imap://user;AUTH=*@host/" },
    { name: "CAPABILITY", value: ["IMAP4REV2"] },
    { name: "UIDVALIDITY", value: 1 },
  ]);
});

Deno.test("ImapResponseReader.read() refuses malformed response codes", async () => {
  for (
    const wire of [
      "* OK [UIDVALIDITY abc] x\r\n",
      "* OK [UIDVALIDITY 0] x\r\n",
      "* OK [UIDNEXT] x\r\n",
      "* OK [ALERT x\r\n",
      "a1 OK [COPYUID 1 1:3 4:5] x\r\n",
      "a1 OK [APPENDUID 1 *] x\r\n",
      "* OK [PERMANENTFLAGS \\Seen] x\r\n",
      "* OK [] x\r\n",
      "* OK [CAPABILITY {3}] x\r\n",
    ]
  ) {
    await failsWith(wire, "BAD_REPLY");
  }
});

Deno.test("ImapResponseReader.read() reads ESEARCH responses (RFC 4731)", async () => {
  const wire = '* ESEARCH (TAG "A285") UID MIN 7 MAX 3800\r\n* ESEARCH (TAG "A284") MIN 4\r\n' +
    '* ESEARCH UID COUNT 17 ALL 4:18,21,28\r\n* ESEARCH (TAG "a") ALL 1:4294967295\r\n';
  const events = (await sameAtEverySplit(wire)).map((r) => toImapEvent(r));
  assertEquals(events, [
    { kind: "esearch", result: { tag: "A285", uid: true, min: 7, max: 3800, other: new Map() } },
    { kind: "esearch", result: { tag: "A284", uid: false, min: 4, other: new Map() } },
    {
      kind: "esearch",
      result: {
        tag: null,
        uid: true,
        count: 17,
        all: [[4, 18], [21, 21], [28, 28]],
        other: new Map(),
      },
    },
    { kind: "esearch", result: { tag: "a", uid: false, all: [[1, 4294967295]], other: new Map() } },
  ]);
});

Deno.test("ImapResponseReader.read() keeps numbers exact up to 2^63-1", async () => {
  const wire = "* 1 FETCH (MODSEQ (12345678901234567) UID 4294967295)\r\n" +
    "* 2 FETCH (MODSEQ (9007199254740991))\r\n* 3 FETCH (MODSEQ (99999999999999999999))\r\n";
  const [a, b, c] = await sameAtEverySplit(wire);
  assertEquals(fetchItems(a)[1], {
    type: "list",
    items: [{ type: "number", value: 12345678901234567n, text: "12345678901234567" }],
  });
  const eventA = toImapEvent(a!);
  assertEquals(eventA?.kind === "fetch" && [eventA.data.modseq, eventA.data.uid], [
    12345678901234567n,
    4294967295,
  ]);
  const eventB = toImapEvent(b!);
  assertEquals(eventB?.kind === "fetch" && eventB.data.modseq, 9007199254740991n);
  // More than 2^63-1 is not a number but an atom; as a MODSEQ it is refused.
  assertEquals(fetchItems(c)[1], { type: "list", items: [atom("99999999999999999999")] });
  const error = assertThrows(() => toImapEvent(c!), ProtocolError);
  assertEquals(error.code, "BAD_REPLY");
});

Deno.test("ImapResponseReader.read() reads atoms with brackets as Gmail sends them", async () => {
  const [list] = await sameAtEverySplit('* LIST (\\HasNoChildren) "/" [Gmail]/Sent\r\n');
  assertEquals(list?.type === "data" && list.args[2], atom("[Gmail]/Sent"));
  const [fetch] = await sameAtEverySplit(
    '* 1 FETCH (X-GM-LABELS (\\Inbox "[Gmail]/x y" Work))\r\n',
  );
  assertEquals(fetchItems(fetch)[1], {
    type: "list",
    items: [atom("\\Inbox"), str("[Gmail]/x y"), atom("Work")],
  });
});

Deno.test("ImapResponseReader.read() canonicalizes section keys", async () => {
  const wire =
    '* 1 FETCH (BODY[header.fields ("From" Date)]<0> "x" BODY[1.2.MIME] NIL BODY[] "")\r\n';
  const items = fetchItems((await sameAtEverySplit(wire))[0]);
  assertEquals(items[0], {
    type: "section",
    name: "BODY",
    section: "HEADER.FIELDS (FROM DATE)",
    fields: ["From", "Date"],
    origin: 0,
    length: null,
  });
  assertEquals(items[2]?.type === "section" && items[2].section, "1.2.MIME");
  assertEquals(items[3], NIL);
  for (
    const bad of [
      "* 1 FETCH (BODY[HEADER.FIELDS] x)\r\n",
      "* 1 FETCH (BODY[TEXT x)\r\n",
      "* 1 FETCH (BODY[TEXT]<x> x)\r\n",
      "* 1 FETCH (BODY[HEADER.FIELDS ()] x)\r\n",
      "* 1 FETCH (BODY[TEXT (FROM)] x)\r\n",
      "* 1 FETCH (BODY[0] x)\r\n",
      "* 1 FETCH (BODY[MIME] x)\r\n",
      "* 1 FETCH (BODY[1.FOO] x)\r\n",
    ]
  ) {
    await failsWith(bad, "BAD_REPLY");
  }
});

// --- body streaming -----------------------------------------------------------------------

/** A source that produces `size` bytes of a body literal lazily, counting what was pulled. */
function lazyBodySource(
  head: string,
  size: number,
  tail: string,
): { source: ReadableStream<Uint8Array>; pulled: () => number } {
  const block = new Uint8Array(65536).fill(0x41);
  let sent = 0;
  let stage = 0;
  let pulled = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (stage === 0) {
        controller.enqueue(encoder.encode(head));
        stage = 1;
      } else if (stage === 1) {
        const n = Math.min(block.length, size - sent);
        sent += n;
        pulled += n;
        controller.enqueue(n === block.length ? block : block.subarray(0, n));
        if (sent === size) stage = 2;
      } else if (stage === 2) {
        controller.enqueue(encoder.encode(tail));
        stage = 3;
      } else controller.close();
    },
  }, { highWaterMark: 0 });
  return { source, pulled: () => pulled };
}

Deno.test("ImapResponseReader.read() streams a 200 MiB body with backpressure while the rest waits", async () => {
  const size = 200 * 1024 * 1024;
  const { source, pulled } = lazyBodySource(
    `* 1 FETCH (UID 5 BODY[] {${size}}\r\n`,
    size,
    " FLAGS (\\Seen))\r\n",
  );
  const reader = new ImapResponseReader(new BufferedReader(source), { maxLiteralSize: 1024 });
  let written = 0;
  let writes = 0;
  let maxAhead = 0;
  let infos: ImapBodyLiteralInfo[] = [];
  const sink = new WritableStream<Uint8Array>({
    async write(chunk) {
      // A slow consumer: the reader must wait for it instead of buffering.
      if (++writes % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      else await Promise.resolve();
      written += chunk.length;
      maxAhead = Math.max(maxAhead, pulled() - written);
    },
  }, { highWaterMark: 2 });
  const response = await reader.read({
    onBodyLiteral: (info) => {
      infos = [...infos, info];
      return sink;
    },
  });
  assertEquals(written, size);
  assertEquals(infos, [{
    seq: 1,
    uid: 5,
    item: "BODY",
    section: "",
    origin: null,
    size,
    binary: false,
  }]);
  assertLessOrEqual(maxAhead, 4 * 65536);
  const items = fetchItems(response!);
  assertEquals(items.slice(3), [
    { type: "streamed", size, binary: false, skipped: false, error: undefined },
    atom("FLAGS"),
    { type: "list", items: [atom("\\Seen")] },
  ]);
  const event = toImapEvent(response!);
  assertEquals(event?.kind === "fetch" && event.data.body.get("")?.delivery, "streamed");
  assertEquals(await reader.read(), null);
});

Deno.test("ImapResponseReader.read() skips body literals and continues in sync", async () => {
  const wire =
    "* 1 FETCH (RFC822 {10}\r\n0123456789 UID 3)\r\n* 2 FETCH (RFC822.TEXT {3}\r\nabc)\r\n" +
    '* 3 FETCH (BODY[TEXT] "quoted" BODY[1] NIL)\r\na1 OK\r\n';
  const infos: string[] = [];
  for (const { source, bufferSize, label } of chunkings(encoder.encode(wire))) {
    infos.length = 0;
    const reader = new ImapResponseReader(new BufferedReader(source(), { bufferSize }), {
      onBodyLiteral: (info) => {
        infos.push(`${info.seq} ${info.item} ${info.section} ${info.size}`);
        return "skip";
      },
    });
    const [first, second, third, ok] = await readAll(reader);
    assertEquals(fetchItems(first)[1], {
      type: "streamed",
      size: 10,
      binary: false,
      skipped: true,
      error: undefined,
    }, label);
    assertEquals(fetchItems(first).slice(2), [atom("UID"), num(3)], label);
    assertEquals(fetchItems(second)[1]?.type, "streamed", label);
    assertEquals(fetchItems(third)[1], str("quoted"), label);
    assertEquals(ok?.type, "status", label);
    assertEquals(infos, ["1 RFC822  10", "2 RFC822.TEXT TEXT 3"], label);
  }
});

Deno.test("ImapResponseReader.read() drains the rest when the body stream fails and records the error", async () => {
  const body = "x".repeat(200000);
  const wire = `* 1 FETCH (BODY[] {${body.length}}\r\n${body} UID 8)\r\na1 OK done\r\n`;
  const reader = responseReader(wire, undefined, 1024);
  let chunks = 0;
  const failure = new Error("disk full");
  const response = await reader.read({
    onBodyLiteral: () =>
      new WritableStream({
        write() {
          if (++chunks === 2) throw failure;
        },
      }),
  });
  const items = fetchItems(response!);
  assertEquals(items[1], {
    type: "streamed",
    size: body.length,
    binary: false,
    skipped: false,
    error: failure,
  });
  assertEquals(items.slice(2), [atom("UID"), num(8)]);
  assertEquals((await reader.read())?.type, "status");
});

Deno.test("ImapResponseReader.read() aborts the body stream when the connection ends mid-literal", async () => {
  const reader = responseReader("* 1 FETCH (BODY[] {100}\r\nonly this");
  let aborted: unknown = null;
  const error = await assertRejects(
    () =>
      reader.read({
        onBodyLiteral: () => new WritableStream({ abort: (r) => void (aborted = r) }),
      }),
    ProtocolError,
  );
  assertEquals(error.code, "UNEXPECTED_EOF");
  assertEquals(aborted, error);
});

Deno.test("ImapResponseReader.read() refuses a handler that returns something else", async () => {
  const reader = responseReader("* 1 FETCH (BODY[] {1}\r\nx)\r\n");
  await assertRejects(
    () => reader.read({ onBodyLiteral: () => "later" as unknown as "skip" }),
    TypeError,
    "onBodyLiteral",
  );
});

// --- limits and hostile input --------------------------------------------------------------

Deno.test("ImapResponseReader.read() refuses a 4 GiB literal before reading it", async () => {
  await failsAtEverySplit("* 1 FETCH (BODY[] {4294967295}\r\n", "LITERAL_TOO_LARGE");
  await failsAtEverySplit("* 1 FETCH (ENVELOPE (NIL {4294967295}\r\n", "LITERAL_TOO_LARGE");
  await failsWith("* 1 FETCH (BODY[] {99999999999999999999}\r\n", "LITERAL_TOO_LARGE");
  await failsWith("* 1 FETCH (BODY[] {99999999999999999999}\r\n", "LITERAL_TOO_LARGE", {
    onBodyLiteral: () => "skip",
  });
});

Deno.test("ImapResponseReader.read() allocates nothing from an announced size when the literal never comes", async () => {
  const before = Deno.memoryUsage().external;
  const error = await failsWith("* 1 FETCH (BODY[] {4294967295}\r\nshort", "UNEXPECTED_EOF", {
    maxLiteralSize: 2 ** 33,
  });
  assert(error.message.includes("4294967295"), error.message);
  assertLessOrEqual(Deno.memoryUsage().external - before, 64 * 1024 * 1024);
  // Streaming such a literal is allowed, and fails the same way at the end of the stream.
  await failsWith("* 1 FETCH (BODY[] {4294967295}\r\nshort", "UNEXPECTED_EOF", {
    onBodyLiteral: () => "skip",
  });
});

Deno.test("ImapResponseReader options cap literals, lines, responses, depth and tokens", async () => {
  // A non-body literal above maxInlineLiteral.
  await failsWith("* 1 FETCH (ENVELOPE (NIL {11}\r\nhello world", "LITERAL_TOO_LARGE", {
    maxInlineLiteral: 10,
  });
  await failsWith('* LIST () "/" {5}\r\nabcde\r\n', "LITERAL_TOO_LARGE", { maxInlineLiteral: 4 });
  // Body sections in memory: each and together under maxLiteralSize.
  await failsWith("* 1 FETCH (BODY[] {11}\r\nhello world)\r\n", "LITERAL_TOO_LARGE", {
    maxLiteralSize: 10,
  });
  await failsWith(
    "* 1 FETCH (BODY[1] {6}\r\nhello  BODY[2] {6}\r\nworld!)\r\n",
    "LITERAL_TOO_LARGE",
    {
      maxLiteralSize: 10,
    },
  );
  assertEquals(
    (await readAll(responseReader("* 1 FETCH (BODY[1] {5}\r\nhello)\r\n", { maxLiteralSize: 5 })))
      .length,
    1,
  );
  await failsWith(`* OK ${"x".repeat(100)}\r\n`, "LINE_TOO_LONG", { maxLineLength: 64 });
  await failsAtEverySplit(`* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12\r\n`, "LINE_TOO_LONG", {
    maxLineLength: 20,
  });
  await failsWith(
    `* 1 FETCH (ENVELOPE (${"NIL {3}\r\nabc ".repeat(20)}NIL))\r\n`,
    "REPLY_TOO_LARGE",
    { maxResponseSize: 100 },
  );
  await failsWith(`* 1 FETCH (X ${"(".repeat(200)}${")".repeat(200)})\r\n`, "TOO_DEEP");
  await failsWith(`* 1 FETCH (X ${"(".repeat(30000)}\r\n`, "TOO_DEEP");
  await failsWith(`* SEARCH ${"1 ".repeat(1000)}\r\n`, "TOO_MANY_TOKENS", { maxTokens: 500 });
});

Deno.test("ImapResponseReader.read() refuses NUL and bare CR outside literals", async () => {
  await failsAtEverySplit("* OK hello\0world\r\n", "BAD_REPLY");
  await failsWith('* LIST () "/" "a\0b"\r\n', "BAD_REPLY");
  await failsWith("* 1 FETCH (BODY[] {1}\r\nx UID\0 1)\r\n", "BAD_REPLY");
  await failsWith("* OK a\rb\r\n", "BAD_REPLY");
  // NUL inside a literal is bytes like any other.
  const [r] = await readAll(responseReader("* 1 FETCH (BODY[] {3}\r\na\0b)\r\n"));
  assertEquals(fetchItems(r)[1], {
    type: "literal",
    value: new Uint8Array([0x61, 0, 0x62]),
    binary: false,
  });
});

Deno.test("ImapResponseReader.read() fails with UNEXPECTED_EOF when the stream ends mid-response", async () => {
  for (
    const wire of [
      "* 1 FETCH (UID 1",
      "* 1 FETCH (BODY[] {10}\r\n12345",
      "* 1 FETCH (BODY[] {5}\r\n12345",
      '* LIST () "/" {3}\r\nabc',
      "a1 OK almost",
    ]
  ) {
    await failsAtEverySplit(wire, "UNEXPECTED_EOF");
  }
});

Deno.test("ImapResponseReader.read() refuses malformed responses", async () => {
  for (
    const wire of [
      "* 1 FETCH (BODY[] {5+}\r\nhello)\r\n",
      "* 1 FETCH (BODY[] {5-}\r\nhello)\r\n",
      "* 1 FETCH (BODY[] {}\r\n",
      "* 1 FETCH (BODY[] {5} x\r\n",
      "* 1 FETCH UID 1\r\n",
      "* 1 FETCH (UID 1) extra\r\n",
      "* 1 FETCH (UID)\r\n",
      "* 1 FETCH (UID 1\r\n",
      "* SEARCH 1 )\r\n",
      "*\r\n",
      "* \r\n",
      "*OK\r\n",
      "a1 FOO bar\r\n",
      "a1 BYE bar\r\n",
      "a1\r\n",
      "* 12345678901234567890123 EXISTS\r\n",
    ]
  ) {
    await failsWith(wire, "BAD_REPLY");
  }
});

Deno.test("ImapResponseReader with lineEnding crlf refuses a bare LF", async () => {
  await failsWith("* OK fine\n", "BARE_LF", { lineEnding: "crlf" });
  assertEquals((await readAll(responseReader("* OK fine\n"))).length, 1);
});

Deno.test("ImapResponseReader.read() refuses reads after a failure and concurrent reads", async () => {
  const reader = responseReader("* OK [UIDNEXT x] bad\r\n* OK fine\r\n");
  await assertRejects(() => reader.read(), ProtocolError);
  const error = await assertRejects(() => reader.read(), TypeError, "earlier read failed");
  assertInstanceOf(error.cause, ProtocolError);

  const never: ByteReader = { read: () => new Promise(() => {}) };
  const stuck = new ImapResponseReader(new BufferedReader(never));
  const controller = new AbortController();
  const first = stuck.read({ signal: controller.signal });
  await assertRejects(() => stuck.read(), TypeError, "did you forget await");
  controller.abort(new Error("stop"));
  await assertRejects(() => first, Error, "stop");
  await assertRejects(() => stuck.read(), TypeError, "earlier read failed");
});

Deno.test("ImapResponseReader constructor refuses bad limits", () => {
  const reader = new BufferedReader({ read: () => Promise.resolve(null) });
  for (const options of [{ maxLineLength: 0 }, { maxLiteralSize: -1 }, { maxTokens: 1.5 }]) {
    let thrown: unknown = null;
    try {
      new ImapResponseReader(reader, options);
    } catch (error) {
      thrown = error;
    }
    assertInstanceOf(thrown, RangeError);
  }
});

// --- random input ---------------------------------------------------------------------------

const ALPHABET = [
  "* ",
  "+ ",
  "a1 ",
  "OK ",
  "NO ",
  "FETCH ",
  "LIST ",
  "(",
  ")",
  "((",
  "))",
  "{",
  "}",
  "{3}\r\n",
  "~{2}\r\n",
  "{0}\r\n",
  "{99999999999}\r\n",
  "{5+}\r\n",
  '"',
  '\\"',
  "\\",
  "[",
  "]",
  "<",
  ">",
  ".",
  "0",
  "1",
  "42 ",
  "BODY[",
  "BODY[]",
  "BINARY[1]",
  "UID ",
  "NIL",
  " ",
  " ",
  "\r\n",
  "\r\n",
  "\n",
  "\r",
  "\0",
  "x",
  "ü",
  "[ALERT]",
  "[UIDNEXT 4]",
  "[COPYUID 1 1 2]",
  "ENVELOPE ",
  "BODYSTRUCTURE ",
  "MODSEQ (",
  "EXISTS",
];

function randomWire(random: () => number, pieces: number): Uint8Array {
  let text = "";
  for (let i = 0; i < pieces; i++) text += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return encoder.encode(text);
}

async function survives(bytes: Uint8Array, chunkSize: number, label: string): Promise<void> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  const reader = responseReader(chunks, { maxLiteralSize: 1 << 20 }, 16);
  try {
    for (;;) {
      const response = await reader.read({
        onBodyLiteral: (info) => (info.size % 2 === 0 ? "skip" : "inline"),
      });
      if (response === null) return;
      try {
        toImapEvent(response);
      } catch (error) {
        if (!(error instanceof ProtocolError)) {
          throw new Error(`${label}: ${error}`, { cause: error });
        }
      }
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      throw new Error(`${label}: ${error}`, { cause: error });
    }
  }
}

Deno.test("ImapResponseReader.read() on seeded random input only ever throws ProtocolError", async () => {
  const random = prng(0x1a2b3c);
  for (let trial = 0; trial < 3000; trial++) {
    const bytes = randomWire(random, 1 + Math.floor(random() * 40));
    await survives(bytes, 1 + Math.floor(random() * 9), `trial ${trial}`);
  }
});

Deno.test("ImapResponseReader.read() on mutated Dovecot fixtures only ever throws ProtocolError", async () => {
  const random = prng(7);
  const originals = FIXTURES.map(fixture);
  for (let trial = 0; trial < 2000; trial++) {
    const original = originals[trial % originals.length]!;
    const bytes = Uint8Array.from(original);
    const edits = 1 + Math.floor(random() * 4);
    for (let e = 0; e < edits; e++) {
      bytes[Math.floor(random() * bytes.length)] = '(){}[]"\\ 0\r\n*+~<>'
        .charCodeAt(Math.floor(random() * 19)) || 0;
    }
    const cut = random() < 0.3 ? Math.floor(random() * bytes.length) : bytes.length;
    await survives(bytes.subarray(0, cut), 1 + Math.floor(random() * 64), `mutation ${trial}`);
  }
});
