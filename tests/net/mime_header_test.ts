import { BufferedReader, type ByteReader } from "../../net/buffered_reader.ts";
import {
  type HeaderField,
  readHeaderBlock,
  type ReadHeaderBlockOptions,
} from "../../net/mime_header.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assert, assertEquals, assertInstanceOf, assertRejects } from "../_helpers/assert.ts";
import { bytewise, splits, streamOf } from "../_helpers/scripted_peer.ts";
import { byteReaderOf } from "../_helpers/sources.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Runs `check` for every split of `input` over both source kinds, with the
 * default buffer and a tiny one.
 */
async function everySplit(
  input: string | Uint8Array,
  check: (reader: BufferedReader, label: string) => Promise<void>,
): Promise<void> {
  const bytes = typeof input === "string" ? encoder.encode(input) : input;
  // Three-piece splits grow with the square of the length: pairs only above 24 bytes.
  for (const chunks of [...splits(bytes, bytes.length > 24), bytewise(bytes)]) {
    for (const kind of ["stream", "reader"] as const) {
      for (const bufferSize of [undefined, 3]) {
        const source = kind === "stream" ? streamOf(chunks) : byteReaderOf(chunks);
        const label = `${kind} buffer=${bufferSize ?? "default"} chunks=${
          JSON.stringify(chunks.map((c) => decoder.decode(c)))
        }`;
        await check(new BufferedReader(source, { bufferSize }), label);
      }
    }
  }
}

/** Asserts that `input` parses to `fields` at every split, the reader left at `rest`. */
async function parsesEverywhere(
  input: string | Uint8Array,
  fields: HeaderField[],
  options?: ReadHeaderBlockOptions,
  rest: string | null = null,
): Promise<void> {
  await everySplit(input, async (reader, label) => {
    assertEquals(await readHeaderBlock(reader, options), fields, label);
    assertEquals(await reader.readLine(), rest, label);
  });
}

/** Asserts that reading `input` fails with `code` at every split. */
async function failsEverywhere(
  input: string | Uint8Array,
  code: string,
  options?: ReadHeaderBlockOptions,
): Promise<ProtocolError> {
  let last: ProtocolError | undefined;
  await everySplit(input, async (reader, label) => {
    last = await assertRejects(
      () => readHeaderBlock(reader, options),
      ProtocolError,
      undefined,
      label,
    );
    assertEquals(last.code, code, label);
  });
  return last!;
}

// --- well-formed blocks -------------------------------------------------------------------

Deno.test("readHeaderBlock() reads fields in order and leaves the reader at the body", async () => {
  await parsesEverywhere(
    "From: a@x\r\nTo:b@y \r\nX-Empty:\r\nX-C: a:b\r\n\r\nbody\r\n",
    [
      { name: "From", value: "a@x" },
      { name: "To", value: "b@y" },
      { name: "X-Empty", value: "" },
      { name: "X-C", value: "a:b" },
    ],
    {},
    "body",
  );
  await parsesEverywhere("\r\n", []);
  await parsesEverywhere(
    "A: 1\nB: 2\n\nrest\n",
    [
      { name: "A", value: "1" },
      { name: "B", value: "2" },
    ],
    {},
    "rest",
  );
});

Deno.test("readHeaderBlock() unfolds folded lines and keeps their white space", async () => {
  await parsesEverywhere(
    "Subject: a\r\n\tb\r\n  c \r\nTo: d\r\n \r\n\r\n",
    [{ name: "Subject", value: "a\tb  c" }, { name: "To", value: "d" }],
  );
  await parsesEverywhere("A: x\r\n y\r\n\r\nz\r\n", [{ name: "A", value: "x y" }], {}, "z");
});

Deno.test("readHeaderBlock() trims only spaces and tabs around a value", async () => {
  await parsesEverywhere("A: \t x \t\r\n\r\n", [{ name: "A", value: "x" }]);
  // Other white space is content: trimming it would hide bytes from a later check.
  await parsesEverywhere("A: \u00a05\u00a0\r\nB: \v7\f\r\n\r\n", [
    { name: "A", value: "\u00a05\u00a0" },
    { name: "B", value: "\v7\f" },
  ]);
  await parsesEverywhere(
    new Uint8Array([...encoder.encode("A:"), 0xa0, 0x35, 0xa0, 13, 10, 13, 10]),
    [{ name: "A", value: "\u00a05\u00a0" }],
    { decode: "latin1" },
  );
});

// --- folding -------------------------------------------------------------------------------

Deno.test("readHeaderBlock() with folding reject throws OBS_FOLD", async () => {
  await failsEverywhere("A: x\r\n y\r\n\r\n", "OBS_FOLD", { folding: "reject" });
  await failsEverywhere("A: x\r\n\ty\r\n\r\n", "OBS_FOLD", { folding: "reject" });
  await parsesEverywhere("A: x\r\nB: y\r\n\r\n", [
    { name: "A", value: "x" },
    { name: "B", value: "y" },
  ], { folding: "reject" });
});

Deno.test("readHeaderBlock() throws BAD_HEADER for a first line that starts with white space", async () => {
  await failsEverywhere(" A: x\r\n\r\n", "BAD_HEADER");
  await failsEverywhere("\tA: x\r\n\r\n", "BAD_HEADER");
});

// --- field syntax ----------------------------------------------------------------------------

Deno.test("readHeaderBlock() throws BAD_HEADER for white space before the colon", async () => {
  for (const nameSyntax of ["token", "ftext"] as const) {
    await failsEverywhere("Host : x\r\n\r\n", "BAD_HEADER", { nameSyntax });
    await failsEverywhere("Host\t: x\r\n\r\n", "BAD_HEADER", { nameSyntax });
    await failsEverywhere("Ho st: x\r\n\r\n", "BAD_HEADER", { nameSyntax });
  }
});

Deno.test("readHeaderBlock() throws BAD_HEADER for an empty name or a missing colon", async () => {
  await failsEverywhere(": x\r\n\r\n", "BAD_HEADER");
  await failsEverywhere("no colon\r\n\r\n", "BAD_HEADER");
  await failsEverywhere("A: x\r\nnocolon\r\n\r\n", "BAD_HEADER");
});

Deno.test("readHeaderBlock() checks names against token or ftext", async () => {
  const ftextOnly = ["X(c): v", "X@y: v", "X[1]: v", 'X"q": v', "X{}: v", "X/y: v", "X=y: v"];
  for (const line of ftextOnly) {
    const name = line.slice(0, line.indexOf(":"));
    await parsesEverywhere(`${line}\r\n\r\n`, [{ name, value: "v" }], { nameSyntax: "ftext" });
    await failsEverywhere(`${line}\r\n\r\n`, "BAD_HEADER", { nameSyntax: "token" });
  }
  const token = "!#$%&'*+-.^_`|~09AZaz";
  await parsesEverywhere(`${token}: v\r\n\r\n`, [{ name: token, value: "v" }], {
    nameSyntax: "token",
  });
  for (const nameSyntax of ["token", "ftext"] as const) {
    await failsEverywhere("N\u00e4me: v\r\n\r\n", "BAD_HEADER", { nameSyntax });
    await failsEverywhere("N\x7fme: v\r\n\r\n", "BAD_HEADER", { nameSyntax });
    await failsEverywhere("N\x01me: v\r\n\r\n", "BAD_HEADER", { nameSyntax });
  }
});

Deno.test("readHeaderBlock() throws BAD_HEADER for a name that starts with a BOM", async () => {
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode("From: a@x\r\n\r\n")]);
  await failsEverywhere(bytes, "BAD_HEADER");
});

Deno.test("readHeaderBlock() throws BAD_HEADER for NUL or a bare CR", async () => {
  await failsEverywhere("A: x\0y\r\n\r\n", "BAD_HEADER");
  await failsEverywhere("A: x\ry\r\n\r\n", "BAD_HEADER");
  await failsEverywhere("A: x\r\r\n\r\n", "BAD_HEADER");
  await failsEverywhere("A: x\r\n y\0\r\n\r\n", "BAD_HEADER");
  await failsEverywhere("A: x\ry\r\n\r\n", "BAD_HEADER", { lineEnding: "crlf" });
  await failsEverywhere("A\0: x\r\n\r\n", "BAD_HEADER");
});

Deno.test("readHeaderBlock() in crlf mode throws BARE_LF for a lone LF", async () => {
  await failsEverywhere("A: x\nB: y\r\n\r\n", "BARE_LF", { lineEnding: "crlf" });
  await failsEverywhere("A: x\r\n\n", "BARE_LF", { lineEnding: "crlf" });
});

// --- limits --------------------------------------------------------------------------------

Deno.test("readHeaderBlock() accepts exactly maxBytes and throws HEADER_TOO_LARGE for one more", async () => {
  const block = "A: b\r\nC: d\r\n\r\n"; // 14 bytes
  await parsesEverywhere(block, [{ name: "A", value: "b" }, { name: "C", value: "d" }], {
    maxBytes: 14,
  });
  await failsEverywhere(block, "HEADER_TOO_LARGE", { maxBytes: 13 });
  // One field line longer than the whole budget.
  const error = await failsEverywhere("Subject: 0123456789\r\n\r\n", "HEADER_TOO_LARGE", {
    maxBytes: 20,
  });
  assertInstanceOf(error.cause, ProtocolError);
  assertEquals(error.cause.code, "LINE_TOO_LONG");
});

Deno.test("readHeaderBlock() stops an endless header at maxBytes", async () => {
  let sent = 0;
  const source: ByteReader = {
    read(p: Uint8Array): Promise<number> {
      const line = encoder.encode("X: y\r\n");
      const n = Math.min(p.length, line.length);
      p.set(line.subarray(0, n));
      sent += n;
      return Promise.resolve(n);
    },
  };
  const reader = new BufferedReader(source, { bufferSize: 64 });
  const error = await assertRejects(
    () => readHeaderBlock(reader, { maxBytes: 600, maxFields: 10000 }),
    ProtocolError,
  );
  assertEquals(error.code, "HEADER_TOO_LARGE");
  assert(sent <= 600 + 64, `read ${sent} bytes`);
  // And an endless single line.
  const longLine: ByteReader = {
    read(p: Uint8Array): Promise<number> {
      p.fill(0x61);
      return Promise.resolve(p.length);
    },
  };
  const error2 = await assertRejects(
    () => readHeaderBlock(new BufferedReader(longLine, { bufferSize: 16 }), { maxBytes: 300 }),
    ProtocolError,
  );
  assertEquals(error2.code, "HEADER_TOO_LARGE");
});

Deno.test("readHeaderBlock() accepts exactly maxFields fields and throws TOO_MANY_FIELDS for one more", async () => {
  const block = "A: 1\r\nB: 2\r\n 2b\r\nC: 3\r\n\r\n";
  const fields = [
    { name: "A", value: "1" },
    { name: "B", value: "2 2b" },
    { name: "C", value: "3" },
  ];
  await parsesEverywhere(block, fields, { maxFields: 3 });
  await failsEverywhere(block, "TOO_MANY_FIELDS", { maxFields: 2 });
});

// --- end of stream ----------------------------------------------------------------------------

Deno.test("readHeaderBlock() throws UNEXPECTED_EOF before the empty line", async () => {
  await failsEverywhere("", "UNEXPECTED_EOF");
  await failsEverywhere("A: b\r\n", "UNEXPECTED_EOF");
  await failsEverywhere("A: b\r\nC: d", "UNEXPECTED_EOF");
});

Deno.test("readHeaderBlock() with allowEof ends the block at the end of the stream", async () => {
  await parsesEverywhere("A: b\r\n c\r\n", [{ name: "A", value: "b c" }], { allowEof: true });
  await parsesEverywhere("", [], { allowEof: true });
  // A line cut off by the end of the stream is still an error.
  await failsEverywhere("A: b\r\nC: d", "UNEXPECTED_EOF", { allowEof: true });
});

// --- decoding -----------------------------------------------------------------------------------

Deno.test("readHeaderBlock() decodes values as UTF-8 by default", async () => {
  await parsesEverywhere("Subject: caf\u00e9 \u2603\r\n\r\n", [
    { name: "Subject", value: "caf\u00e9 \u2603" },
  ]);
  await parsesEverywhere(new Uint8Array([...encoder.encode("A: x"), 0xff, 13, 10, 13, 10]), [
    { name: "A", value: "x\ufffd" },
  ]);
});

Deno.test("readHeaderBlock() with latin1 maps each byte to the same code point", async () => {
  const value = new Uint8Array(0x100 - 0x20).map((_, i) => 0x20 + i).filter((b) => b !== 0x7f);
  const bytes = new Uint8Array([...encoder.encode("X:x"), ...value, 13, 10, 13, 10]);
  const [field] = await readHeaderBlock(new BufferedReader(streamOf([bytes])), {
    decode: "latin1",
  });
  assertEquals(field!.name, "X");
  const codes = Array.from(field!.value, (c) => c.charCodeAt(0));
  assertEquals(codes, [0x78, ...value]);
  // Such values are ByteStrings, as Headers wants.
  assertEquals(new Headers([[field!.name, field!.value]]).get("x")?.length, field!.value.length);
  await parsesEverywhere(new Uint8Array([...encoder.encode("A: "), 0x80, 0xe9, 13, 10, 13, 10]), [
    { name: "A", value: "\u0080\u00e9" },
  ], { decode: "latin1" });
});
