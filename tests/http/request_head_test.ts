import { BufferedReader } from "../../net/buffered_reader.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  formatRequestHead,
  readRequestHead,
  type ReadRequestHeadOptions,
  type RequestHead,
} from "../../http/request_head.ts";
import { assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";
import { bytewise, splits, streamOf } from "../_helpers/scripted_peer.ts";
import { byteReaderOf, prng } from "../_helpers/sources.ts";

const encoder = new TextEncoder();

function readerOf(chunks: Uint8Array[], stable = false, bufferSize?: number): BufferedReader {
  return new BufferedReader(byteReaderOf(chunks), { stableViews: stable, bufferSize });
}

/** Every split of `input`, as a stream and as a byte reader, stable or not. */
function* sources(input: string): Generator<[BufferedReader, string]> {
  const bytes = encoder.encode(input);
  for (const chunks of [...splits(bytes, bytes.length > 40), bytewise(bytes)]) {
    const label = JSON.stringify(chunks.map((c) => new TextDecoder().decode(c)));
    yield [new BufferedReader(streamOf(chunks)), `stream ${label}`];
    yield [readerOf(chunks, true), `stable ${label}`];
    yield [readerOf(chunks, false, 16), `small buffer ${label}`];
  }
}

async function parsesEverywhere(
  input: string,
  expected: RequestHead,
  rest = "",
  options?: ReadRequestHeadOptions,
): Promise<void> {
  for (const [reader, label] of sources(input + rest)) {
    const head = await readRequestHead(reader, options);
    assertEquals(head, expected, label);
    const left = reader.peekBuffered().length > 0 || !reader.eof
      ? new TextDecoder().decode(await readAll(reader))
      : "";
    assertEquals(left, rest, label);
  }
}

async function readAll(reader: BufferedReader): Promise<Uint8Array> {
  const out: number[] = [];
  const buf = new Uint8Array(64);
  for (;;) {
    const n = await reader.read(buf);
    if (n === null) break;
    out.push(...buf.subarray(0, n));
  }
  return new Uint8Array(out);
}

async function failsEverywhere(
  input: string,
  code: string,
  options?: ReadRequestHeadOptions,
): Promise<void> {
  for (const [reader, label] of sources(input)) {
    const error = await assertRejects(() => readRequestHead(reader, options), ProtocolError);
    assertEquals(error.code, code, label);
  }
}

Deno.test("readRequestHead() parses a request at every split and leaves the body", async () => {
  await parsesEverywhere(
    "POST /submit?x=1 HTTP/1.1\r\nHost: example.test\r\nContent-Length: 4\r\nX-Empty:\r\n\r\n",
    {
      method: "POST",
      target: "/submit?x=1",
      version: "HTTP/1.1",
      fields: [
        { name: "Host", value: "example.test" },
        { name: "Content-Length", value: "4" },
        { name: "X-Empty", value: "" },
      ],
    },
    "body",
  );
});

Deno.test("readRequestHead() skips empty lines before the request line", async () => {
  await parsesEverywhere("\r\n\r\nGET / HTTP/1.0\r\n\r\n", {
    method: "GET",
    target: "/",
    version: "HTTP/1.0",
    fields: [],
  });
});

Deno.test("readRequestHead() trims optional white space around values", async () => {
  await parsesEverywhere("GET * HTTP/1.1\r\nHost:  a \t\r\nX: \tb c\t \r\n\r\n", {
    method: "GET",
    target: "*",
    version: "HTTP/1.1",
    fields: [{ name: "Host", value: "a" }, { name: "X", value: "b c" }],
  });
});

Deno.test("readRequestHead() keeps obs-text bytes as latin1 characters", async () => {
  const bytes = new Uint8Array([
    ...encoder.encode("GET / HTTP/1.1\r\nHost: a\r\nX: caf"),
    0xe9,
    0x80,
    ...encoder.encode("\r\n\r\n"),
  ]);
  const head = await readRequestHead(readerOf([bytes]));
  assertEquals(head?.fields[1]?.value, "caf\u00e9\u0080");
});

Deno.test("readRequestHead() reads HTTP/1.2 as HTTP/1.1", async () => {
  const head = await readRequestHead(
    readerOf([encoder.encode("GET / HTTP/1.2\r\nHost: a\r\n\r\n")]),
  );
  assertEquals(head?.version, "HTTP/1.1");
});

Deno.test("readRequestHead() returns null at a clean end of stream", async () => {
  assertEquals(await readRequestHead(readerOf([])), null);
  assertEquals(await readRequestHead(readerOf([encoder.encode("\r\n")])), null);
});

Deno.test("readRequestHead() reports a head cut short as UNEXPECTED_EOF", async () => {
  await failsEverywhere("GET / HTTP/1.1\r\nHost: a\r\n", "UNEXPECTED_EOF");
});

// Malformed request lines and fields: each vector a named case.
const BAD_VECTORS: [string, string, string][] = [
  ["two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"],
  ["tab as separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"],
  ["lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"],
  ["version without minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"],
  ["space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"],
  ["no target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"],
  ["NUL in the target", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"],
  ["fragment in the target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"],
  ["method with a slash", "G/T / HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"],
  ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", "VERSION_NOT_SUPPORTED"],
  ["HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", "VERSION_NOT_SUPPORTED"],
  ["bare LF after the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", "BARE_LF"],
  ["bare LF after a field", "GET / HTTP/1.1\r\nHost: a\n\r\n", "BARE_LF"],
  ["bare CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", "BAD_HEADER"],
  ["bare CR as a line end", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\r\n\r\n", "BAD_HEADER"],
  ["NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", "BAD_HEADER"],
  ["control byte in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", "BAD_HEADER"],
  ["DEL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", "BAD_HEADER"],
  [
    "space before the colon",
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n",
    "BAD_HEADER",
  ],
  ["tab before the colon", "GET / HTTP/1.1\r\nHost: a\r\nX\t: 5\r\n\r\n", "BAD_HEADER"],
  ["empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", "BAD_HEADER"],
  ["no colon", "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", "BAD_HEADER"],
  ["non-token name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n", "BAD_HEADER"],
  ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", "OBS_FOLD"],
  ["folded first line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", "OBS_FOLD"],
  ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX: a\r\n\r\n", "BAD_HOST"],
  ["two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "BAD_HOST"],
  ["Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "BAD_HOST"],
  ["Host with user info", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", "BAD_HOST"],
  ["Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "BAD_HOST"],
];

for (const [name, input, code] of BAD_VECTORS) {
  Deno.test(`readRequestHead() refuses ${name} with ${code}`, async () => {
    await failsEverywhere(input, code);
  });
}

Deno.test("readRequestHead() allows a missing Host on HTTP/1.0", async () => {
  const head = await readRequestHead(readerOf([encoder.encode("GET / HTTP/1.0\r\n\r\n")]));
  assertEquals(head?.fields, []);
});

Deno.test("readRequestHead() refuses a long request line with URI_TOO_LONG", async () => {
  const long = `GET /${"a".repeat(100)} HTTP/1.1\r\nHost: a\r\n\r\n`;
  await failsEverywhere(long, "URI_TOO_LONG", { maxRequestLineSize: 64 });
  // A line that never ends is refused as soon as it passes the limit.
  const endless = readerOf([encoder.encode("GET /" + "a".repeat(100))]);
  const error = await assertRejects(
    () => readRequestHead(endless, { maxRequestLineSize: 64 }),
    ProtocolError,
  );
  assertEquals(error.code, "URI_TOO_LONG");
});

Deno.test("readRequestHead() refuses a large header section with HEADER_TOO_LARGE", async () => {
  const big = `GET / HTTP/1.1\r\nHost: a\r\nX: ${"b".repeat(200)}\r\n\r\n`;
  await failsEverywhere(big, "HEADER_TOO_LARGE", { maxHeaderSize: 128 });
  const endless = readerOf([encoder.encode(`GET / HTTP/1.1\r\nX: ${"b".repeat(500)}`)]);
  const error = await assertRejects(
    () => readRequestHead(endless, { maxHeaderSize: 128 }),
    ProtocolError,
  );
  assertEquals(error.code, "HEADER_TOO_LARGE");
});

Deno.test("readRequestHead() refuses too many fields with TOO_MANY_FIELDS", async () => {
  const many = "GET / HTTP/1.1\r\nHost: a\r\n" + "X: y\r\n".repeat(5) + "\r\n";
  await failsEverywhere(many, "TOO_MANY_FIELDS", { maxHeaderCount: 5 });
});

Deno.test("readRequestHead() reads a head trickled byte by byte in linear time", async () => {
  // 12 KiB of fields one byte per read: a quadratic re-parse would take seconds.
  const input = "GET / HTTP/1.1\r\nHost: a\r\n" + "X-Field: value-value-value\r\n".repeat(400) +
    "\r\n";
  const reader = new BufferedReader(byteReaderOf(bytewise(encoder.encode(input))), {
    stableViews: true,
  });
  const started = performance.now();
  const head = await readRequestHead(reader, { maxHeaderSize: 16384, maxHeaderCount: 500 });
  assertEquals(head?.fields.length, 401);
  assertEquals(performance.now() - started < 2000, true);
});

Deno.test("readRequestHead() gives the same result for random bytes at any split (seeded)", async () => {
  const random = prng(20261121);
  const alphabet = "GET /aH:\r\n \t\0x1.TP";
  for (let round = 0; round < 300; round++) {
    const length = 1 + Math.floor(random() * 40);
    let text = round % 3 === 0 ? "GET / HTTP/1.1\r\n" : "";
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
    const bytes = encoder.encode(text);
    const outcome = async (chunks: Uint8Array[]) => {
      try {
        return JSON.stringify(await readRequestHead(readerOf(chunks)));
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        return `error ${error.code}`;
      }
    };
    const whole = await outcome([bytes]);
    for (const chunks of splits(bytes, true)) {
      assertEquals(await outcome(chunks), whole, JSON.stringify(text));
    }
  }
});

Deno.test("formatRequestHead() serializes a head with fields in order", () => {
  assertEquals(
    formatRequestHead({
      method: "POST",
      target: "/x",
      version: "HTTP/1.0",
      fields: [{ name: "Host", value: "a" }, { name: "X", value: "1" }],
    }),
    "POST /x HTTP/1.0\r\nHost: a\r\nX: 1\r\n\r\n",
  );
  assertEquals(
    formatRequestHead({ method: "GET", target: "/", fields: { "X-A": " b " } }),
    "GET / HTTP/1.1\r\nX-A: b\r\n\r\n",
  );
});

Deno.test("formatRequestHead() throws on CR, LF, NUL or spaces before writing", () => {
  assertThrows(() => formatRequestHead({ method: "GET X", target: "/" }), TypeError);
  assertThrows(() => formatRequestHead({ method: "GET", target: "/a b" }), TypeError);
  assertThrows(() => formatRequestHead({ method: "GET", target: "/a\r\nX: y" }), TypeError);
  assertThrows(() => formatRequestHead({ method: "GET", target: "/\u00e9" }), TypeError);
  assertThrows(
    () => formatRequestHead({ method: "GET", target: "/", fields: [["X", "a\r\nY: b"]] }),
    TypeError,
  );
  assertThrows(
    () => formatRequestHead({ method: "GET", target: "/", fields: [["X", "a\0b"]] }),
    TypeError,
  );
  assertThrows(
    () => formatRequestHead({ method: "GET", target: "/", fields: [["X Y", "a"]] }),
    TypeError,
  );
});
