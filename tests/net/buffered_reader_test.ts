import {
  BufferedReader,
  type BufferedReaderOptions,
  type ByteReader,
  type LineEnding,
} from "../../net/buffered_reader.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  assert,
  assertEquals,
  assertLessOrEqual,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "../_helpers/assert.ts";
import { bytewise, splits, streamOf } from "../_helpers/scripted_peer.ts";
import { byteReaderOf, prng, randomChunks } from "../_helpers/sources.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const enc = (s: string): Uint8Array => encoder.encode(s);
const dec = (b: Uint8Array | null): string | null => (b === null ? null : decoder.decode(b));

/** A `ByteReader` that never ends and always returns `byte`, counting bytes. */
function endless(byte: number): ByteReader & { total: number } {
  const source = {
    total: 0,
    read(p: Uint8Array): Promise<number> {
      const n = Math.min(p.length, 7);
      p.fill(byte, 0, n);
      source.total += n;
      return Promise.resolve(n);
    },
  };
  return source;
}

type Kind = "stream" | "reader";
const KINDS: Kind[] = ["stream", "reader"];

function readerOf(
  kind: Kind,
  chunks: readonly Uint8Array[],
  options?: BufferedReaderOptions,
): BufferedReader {
  return new BufferedReader(
    kind === "stream" ? streamOf([...chunks]) : byteReaderOf(chunks),
    options,
  );
}

/**
 * Runs `check` on a fresh reader for every split of `input` (two and three
 * pieces, plus one byte per chunk), over both source kinds, with the default
 * buffer, a tiny one that must grow and compact, and a tiny one with
 * `stableViews` (which moves to new buffers instead of compacting).
 */
async function everySplit(
  input: string | Uint8Array,
  check: (reader: BufferedReader, label: string) => Promise<void>,
  pairsOnly = false,
): Promise<void> {
  const bytes = typeof input === "string" ? enc(input) : input;
  const all = [...splits(bytes, pairsOnly), bytewise(bytes)];
  for (const chunks of all) {
    for (const kind of KINDS) {
      for (
        const options of [{}, { bufferSize: 3 }, { bufferSize: 3, stableViews: true }]
      ) {
        const label = `${kind} ${JSON.stringify(options)} chunks=${
          JSON.stringify(chunks.map((c) => decoder.decode(c)))
        }`;
        await check(readerOf(kind, chunks, options), label);
      }
    }
  }
}

async function rejectsCode(
  promise: Promise<unknown>,
  code: string,
  label = "",
): Promise<ProtocolError> {
  const error = await assertRejects(() => promise, ProtocolError, undefined, label);
  assertEquals(error.code, code, label);
  return error;
}

// --- construction -----------------------------------------------------------

Deno.test("BufferedReader() rejects a bufferSize that is not a positive integer", () => {
  for (const bufferSize of [0, -1, 1.5, NaN]) {
    assertThrows(
      () => new BufferedReader(byteReaderOf([]), { bufferSize }),
      RangeError,
      "bufferSize",
    );
  }
});

// --- readLine ---------------------------------------------------------------

Deno.test("BufferedReader.readLine() reads CRLF and LF lines at every split", async () => {
  await everySplit("HELO a\r\n\r\nbare\nlast\r\n", async (reader, label) => {
    assertEquals(await reader.readLine(), "HELO a", label);
    assertEquals(await reader.readLine(), "", label);
    assertEquals(await reader.readLine(), "bare", label);
    assertEquals(await reader.readLine(), "last", label);
    assertEquals(await reader.readLine(), null, label);
    assertEquals(await reader.readLine(), null, label);
    assert(reader.eof, label);
  });
});

Deno.test("BufferedReader.readLine() in crlf mode keeps a CR inside the line", async () => {
  await everySplit("a\rb\r\n\r\r\n", async (reader, label) => {
    assertEquals(await reader.readLine({ lineEnding: "crlf" }), "a\rb", label);
    assertEquals(await reader.readLine({ lineEnding: "crlf" }), "\r", label);
    assertEquals(await reader.readLine({ lineEnding: "crlf" }), null, label);
  });
});

Deno.test("BufferedReader.readLine() in crlf mode throws BARE_LF for a lone LF", async () => {
  await everySplit("ok\r\nbad\nnext\r\n", async (reader, label) => {
    assertEquals(await reader.readLine({ lineEnding: "crlf" }), "ok", label);
    await rejectsCode(reader.readLine({ lineEnding: "crlf" }), "BARE_LF", label);
  });
  await everySplit("\n", async (reader, label) => {
    await rejectsCode(reader.readLine({ lineEnding: "crlf" }), "BARE_LF", label);
  });
});

Deno.test("BufferedReader.readLine() accepts exactly maxLength bytes and rejects one more", async () => {
  const max = 8;
  for (const lineEnding of ["crlf", "any"] as LineEnding[]) {
    await everySplit("12345678\r\nnext\r\n", async (reader, label) => {
      assertEquals(await reader.readLine({ maxLength: max, lineEnding }), "12345678", label);
      assertEquals(await reader.readLine({ maxLength: max, lineEnding }), "next", label);
    });
    await everySplit("123456789\r\n", async (reader, label) => {
      await rejectsCode(reader.readLine({ maxLength: max, lineEnding }), "LINE_TOO_LONG", label);
    });
  }
  await everySplit("12345678\n", async (reader, label) => {
    assertEquals(await reader.readLine({ maxLength: max }), "12345678", label);
  });
  await everySplit("123456789\n", async (reader, label) => {
    await rejectsCode(reader.readLine({ maxLength: max }), "LINE_TOO_LONG", label);
  });
  // maxLength + 1 bytes whose last is a CR that is not followed by LF.
  await everySplit("12345678\rX\r\n", async (reader, label) => {
    await rejectsCode(reader.readLine({ maxLength: max }), "LINE_TOO_LONG", label);
  });
  await everySplit("\r\n", async (reader, label) => {
    assertEquals(await reader.readLine({ maxLength: 0 }), "", label);
  });
});

Deno.test("BufferedReader.readLine() with a bare LF and a too-long line reports LINE_TOO_LONG at every split", async () => {
  // Whether the LF is already buffered must not change the error.
  await everySplit("1234567890\n", async (reader, label) => {
    await rejectsCode(
      reader.readLine({ maxLength: 4, lineEnding: "crlf" }),
      "LINE_TOO_LONG",
      label,
    );
  });
});

Deno.test("BufferedReader.readLine() stops reading an endless line after maxLength", async () => {
  for (const bufferSize of [undefined, 5]) {
    const source = endless(0x61);
    const reader = new BufferedReader(source, { bufferSize });
    await rejectsCode(reader.readLine({ maxLength: 100 }), "LINE_TOO_LONG");
    assertLessOrEqual(source.total, 102 + 7);
  }
});

Deno.test("BufferedReader.readLine() throws UNEXPECTED_EOF when the stream ends mid-line", async () => {
  for (const input of ["abc", "abc\r", "ok\r\npartial"]) {
    await everySplit(input, async (reader, label) => {
      if (input.startsWith("ok")) assertEquals(await reader.readLine(), "ok", label);
      await rejectsCode(reader.readLine(), "UNEXPECTED_EOF", label);
    });
  }
  // An over-long unterminated tail is too long, whatever the split.
  await everySplit("abcdefgh", async (reader, label) => {
    await rejectsCode(reader.readLine({ maxLength: 5 }), "LINE_TOO_LONG", label);
  });
  await everySplit("abcdef", async (reader, label) => {
    await rejectsCode(reader.readLine({ maxLength: 5 }), "UNEXPECTED_EOF", label);
  });
});

Deno.test("BufferedReader.readLine() decodes UTF-8, replaces invalid bytes and keeps a BOM", async () => {
  const input = new Uint8Array([
    ...enc("caf\u00e9\r\n"),
    0xff,
    0x41,
    13,
    10,
    0xef,
    0xbb,
    0xbf,
    0x42,
    10,
  ]);
  await everySplit(input, async (reader, label) => {
    assertEquals(await reader.readLine(), "caf\u00e9", label);
    assertEquals(await reader.readLine(), "\ufffdA", label);
    assertEquals(await reader.readLine(), "\ufeffB", label);
  });
});

Deno.test("BufferedReader.readLineBytes() returns copies that survive later reads", async () => {
  await everySplit("abc\r\ndef\r\nghi\r\n", async (reader, label) => {
    const a = await reader.readLineBytes();
    const b = await reader.readLineBytes();
    const c = await reader.readLineBytes();
    assertEquals([dec(a), dec(b), dec(c)], ["abc", "def", "ghi"], label);
  });
});

// --- readUntil ---------------------------------------------------------------

Deno.test("BufferedReader.readUntil() finds a multi-byte delimiter split across chunks", async () => {
  await everySplit("\r\n.\rX\r\n.\r\nrest", async (reader, label) => {
    assertEquals(dec(await reader.readUntil("\r\n.\r\n")), "\r\n.\rX", label);
    assertEquals(dec(await reader.readExactly(4)), "rest", label);
    assertEquals(await reader.readUntil("\r\n.\r\n"), null, label);
  });
});

Deno.test("BufferedReader.readUntil() handles partial and self-overlapping delimiter matches", async () => {
  await everySplit("abaababX", async (reader, label) => {
    assertEquals(dec(await reader.readUntil(enc("abab"))), "aba", label);
    assertEquals(dec(await reader.readUntil("X")), "", label);
  });
  await everySplit("aaab|aab", async (reader, label) => {
    assertEquals(dec(await reader.readUntil("aab")), "a", label);
    assertEquals(dec(await reader.readUntil("|")), "", label);
    assertEquals(dec(await reader.readUntil("aab")), "", label);
    assertEquals(await reader.readUntil("aab"), null, label);
  });
});

Deno.test("BufferedReader.readUntil() accepts exactly maxLength bytes and throws LINE_TOO_LONG for one more", async () => {
  await everySplit("12345END12345", async (reader, label) => {
    assertEquals(dec(await reader.readUntil("END", { maxLength: 5 })), "12345", label);
    assertEquals(dec(await reader.peek(5)), "12345", label);
  });
  await everySplit("123456END", async (reader, label) => {
    await rejectsCode(reader.readUntil("END", { maxLength: 5 }), "LINE_TOO_LONG", label);
  });
  const source = endless(0x2e);
  const reader = new BufferedReader(source, { bufferSize: 4 });
  await rejectsCode(reader.readUntil("\r\n", { maxLength: 50 }), "LINE_TOO_LONG");
  assertLessOrEqual(source.total, 52 + 7);
});

Deno.test("BufferedReader.readUntil() throws UNEXPECTED_EOF without the delimiter", async () => {
  await everySplit("abc\r\n.", async (reader, label) => {
    await rejectsCode(reader.readUntil("\r\n.\r\n"), "UNEXPECTED_EOF", label);
  });
  await assertRejects(() => readerOf("stream", []).readUntil(""), TypeError, "empty");
  await assertRejects(() => readerOf("reader", []).readUntil(new Uint8Array()), TypeError);
});

// --- readExactly, read, peek, readAvailable ------------------------------------

Deno.test("BufferedReader.readExactly() reads exact lengths at every split", async () => {
  await everySplit("line\r\nabcdefghij", async (reader, label) => {
    assertEquals(await reader.readLine(), "line", label);
    assertEquals(dec(await reader.readExactly(0)), "", label);
    assertEquals(dec(await reader.readExactly(3)), "abc", label);
    assertEquals(dec(await reader.readExactly(7)), "defghij", label);
    assertEquals(await reader.readLine(), null, label);
  });
  await everySplit("abc", async (reader, label) => {
    const error = await rejectsCode(reader.readExactly(4), "UNEXPECTED_EOF", label);
    assert(error.message.includes("after 3"), label);
  });
});

Deno.test("BufferedReader.readExactly() rejects a length that is not a non-negative integer", async () => {
  const reader = readerOf("reader", [enc("abc")]);
  for (const n of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    await assertRejects(() => reader.readExactly(n), RangeError);
  }
});

Deno.test("BufferedReader.readExactly() with a large length reads straight into the result", async () => {
  const body = new Uint8Array(100).map((_, i) => i);
  const source = byteReaderOf([enc("ab"), body]);
  const reader = new BufferedReader(source, { bufferSize: 16 });
  assertEquals(dec(await reader.readExactly(2)), "ab");
  const before = source.reads.length;
  assertEquals(await reader.readExactly(100), body);
  // One read of the whole body into the caller's array, no copy through the buffer.
  assertEquals(source.reads.length, before + 1);
  assertEquals(source.reads[before]!.length, 100);
});

Deno.test("BufferedReader.read() serves the buffer first and bypasses it for a large destination", async () => {
  const source = byteReaderOf([enc("head\r\nxy"), enc("0123456789abcdef")]);
  const reader = new BufferedReader(source, { bufferSize: 8 });
  assertEquals(await reader.readLine(), "head");
  const p = new Uint8Array(32);
  // The two buffered bytes come first, alone.
  assertEquals(await reader.read(p), 2);
  assertEquals(dec(p.subarray(0, 2)), "xy");
  const readsBefore = source.reads.length;
  assertEquals(await reader.read(p), 16);
  assertEquals(dec(p.subarray(0, 16)), "0123456789abcdef");
  assertEquals(source.reads.length, readsBefore + 1);
  assertStrictEquals(source.reads[readsBefore]!.buffer, p.buffer);
  assertEquals(await reader.read(p), null);
  assertEquals(await reader.read(new Uint8Array(0)), 0);
});

Deno.test("BufferedReader.read() with a small destination goes through the buffer", async () => {
  for (const kind of KINDS) {
    const reader = readerOf(kind, [enc("abcdefgh")], { bufferSize: 8 });
    const p = new Uint8Array(3);
    const got: string[] = [];
    for (let n = await reader.read(p); n !== null; n = await reader.read(p)) {
      got.push(decoder.decode(p.subarray(0, n)));
    }
    assertEquals(got, ["abc", "def", "gh"], kind);
  }
});

Deno.test("BufferedReader.peek() grows the buffer beyond its size without consuming", async () => {
  await everySplit("0123456789\r\nend", async (reader, label) => {
    assertEquals(dec((await reader.peek(12)).slice()), "0123456789\r\n", label);
    assertEquals(dec((await reader.peek(0)).slice()), "", label);
    assertEquals(await reader.readLine(), "0123456789", label);
    // Fewer bytes when the stream ends first.
    assertEquals(dec((await reader.peek(10)).slice()), "end", label);
    assertEquals(dec(await reader.readAvailable()), "end", label);
  });
  await assertRejects(() => readerOf("stream", []).peek(-1), RangeError);
});

Deno.test("BufferedReader.readAvailable() returns buffered bytes or one read", async () => {
  const source = byteReaderOf([enc("ab"), enc("cd")]);
  const reader = new BufferedReader(source);
  assertEquals(dec(await reader.readAvailable()), "ab");
  assertEquals(dec(await reader.readAvailable()), "cd");
  assertEquals(await reader.readAvailable(), null);
  // A stream chunk larger than the buffer comes out a buffer at a time.
  const small = readerOf("stream", [enc("abcdefghij")], { bufferSize: 4 });
  assertEquals(dec(await small.readAvailable()), "abcd");
  assertEquals(small.buffered, 6);
  assertEquals(dec(await small.readAvailable()), "efgh");
  assertEquals(dec(await small.readAvailable()), "ij");
  assertEquals(await small.readAvailable(), null);
  // Buffered bytes are returned without reading more.
  const partial = readerOf("reader", [enc("x\r\nrest"), enc("more")]);
  assertEquals(await partial.readLine(), "x");
  assertEquals(dec(await partial.readAvailable()), "rest");
  assertEquals(dec(await partial.readAvailable()), "more");
});

// --- release and cancel --------------------------------------------------------

Deno.test("BufferedReader.release() hands back buffered bytes and the pending stream chunk", async () => {
  const stream = streamOf(["ab\r\ncdefghij", "klm"]);
  const reader = new BufferedReader(stream, { bufferSize: 8 });
  assertEquals(await reader.readLine(), "ab");
  // "cdef" is in the buffer, "ghij" still pending from the first chunk.
  assertEquals(reader.buffered, 8);
  assertEquals(dec(reader.release()), "cdefghij");
  assert(!stream.locked);
  const next = stream.getReader();
  assertEquals(dec((await next.read()).value ?? null), "klm");
  assert((await next.read()).done);
  await assertRejects(() => reader.readLine(), TypeError, "released");
  await assertRejects(() => reader.read(new Uint8Array(4)), TypeError, "released");
  await assertRejects(() => reader.readAvailable(), TypeError, "released");
  await assertRejects(() => reader.peek(1), TypeError, "released");
});

Deno.test("BufferedReader.release() at every split returns exactly the unconsumed bytes", async () => {
  await everySplit("220 hi\r\n\x16\x03\x01tls", async (reader, label) => {
    assertEquals(await reader.readLine(), "220 hi", label);
    const rest = reader.release();
    // What was released plus what the source still has is the whole tail.
    assert("\x16\x03\x01tls".startsWith(decoder.decode(rest)), label);
  });
  for (const kind of KINDS) {
    const chunks = [enc("220 hi\r\nab"), enc("cd")];
    const source = kind === "stream" ? streamOf(chunks) : byteReaderOf(chunks);
    const reader = new BufferedReader(source);
    assertEquals(await reader.readLine(), "220 hi");
    assertEquals(dec(reader.release()), "ab", kind);
    if (source instanceof ReadableStream) {
      assert(!source.locked);
      assertEquals(dec((await source.getReader().read()).value ?? null), "cd");
    } else {
      const p = new Uint8Array(8);
      assertEquals(await source.read(p), 2);
      assertEquals(dec(p.subarray(0, 2)), "cd");
    }
  }
  assertEquals(readerOf("stream", []).release().length, 0);
});

Deno.test("BufferedReader.cancel() cancels the stream and ends the reader", async () => {
  let reason: unknown = null;
  const stream = new ReadableStream<Uint8Array>({
    pull: (c) => c.enqueue(enc("x\r\n")),
    cancel: (r) => void (reason = r),
  });
  const reader = new BufferedReader(stream);
  assertEquals(await reader.readLine(), "x");
  await reader.cancel("done");
  assertEquals(reason, "done");
  await assertRejects(() => reader.readLine(), TypeError);
});

// --- seeded random input --------------------------------------------------------

type Outcome = string | null | { error: string };

/** The naive reference: split at LF, strip one CR, check the rules in order. */
function referenceLines(bytes: Uint8Array, maxLength: number, strict: boolean): Outcome[] {
  const out: Outcome[] = [];
  let start = 0;
  for (;;) {
    const lf = bytes.indexOf(10, start);
    if (lf < 0) {
      const rest = bytes.length - start;
      if (rest === 0) out.push(null);
      else out.push({ error: rest > maxLength + 1 ? "LINE_TOO_LONG" : "UNEXPECTED_EOF" });
      return out;
    }
    const hasCr = lf > start && bytes[lf - 1] === 13;
    const end = hasCr ? lf - 1 : lf;
    if (end - start > maxLength) {
      out.push({ error: "LINE_TOO_LONG" });
      return out;
    }
    if (strict && !hasCr) {
      out.push({ error: "BARE_LF" });
      return out;
    }
    out.push(Array.from(bytes.subarray(start, end)).join(","));
    start = lf + 1;
  }
}

Deno.test("BufferedReader.readLineBytes() matches a naive split on seeded random input", async () => {
  const random = prng(0x1e7c1);
  const alphabet = [0x61, 0x62, 13, 10, 0, 0xff];
  for (let round = 0; round < 400; round++) {
    const length = Math.floor(random() * 40);
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      bytes[i] = alphabet[Math.floor(random() * alphabet.length)]!;
    }
    const maxLength = Math.floor(random() * 10);
    const strict = random() < 0.5;
    const chunks = randomChunks(bytes, random);
    const kind = KINDS[round % 2]!;
    const reader = readerOf(kind, chunks, {
      bufferSize: 1 + Math.floor(random() * 8),
      stableViews: round % 3 === 0,
    });
    const want = referenceLines(bytes, maxLength, strict);
    const got: Outcome[] = [];
    for (;;) {
      try {
        const line = await reader.readLineBytes({
          maxLength,
          lineEnding: strict ? "crlf" : "any",
        });
        got.push(line === null ? null : Array.from(line).join(","));
        if (line === null) break;
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        got.push({ error: error.code });
        break;
      }
    }
    assertEquals(
      got,
      want,
      `round ${round} ${kind} max=${maxLength} strict=${strict} input=${Array.from(bytes)}`,
    );
  }
});
