import { BufferedReader, type ByteReader } from "../../net/buffered_reader.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { codeMatches, readReply, type ReadReplyOptions } from "../../net/reply.ts";
import { ReplyError } from "../../net/reply_error.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
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
  pairsOnly = false,
): Promise<void> {
  const bytes = typeof input === "string" ? encoder.encode(input) : input;
  // Three-piece splits grow with the square of the length: pairs only above 20 bytes.
  for (const chunks of [...splits(bytes, pairsOnly || bytes.length > 20), bytewise(bytes)]) {
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

/** Asserts that reading `input` fails with `code` at every split. */
async function failsEverywhere(
  input: string | Uint8Array,
  code: string,
  options?: ReadReplyOptions,
): Promise<void> {
  await everySplit(input, async (reader, label) => {
    const error = await assertRejects(
      () => readReply(reader, options),
      ProtocolError,
      undefined,
      label,
    );
    assertEquals(error.code, code, label);
  });
}

// --- well-formed replies ---------------------------------------------------------

Deno.test("readReply() reads single and multi-line replies at every split", async () => {
  const wire = "220 mail.example.test ESMTP\r\n250-mail.example.test\r\n250-PIPELINING\r\n" +
    "250 SIZE 1000\r\n354\r\n";
  await everySplit(wire, async (reader, label) => {
    assertEquals(await readReply(reader), { code: 220, lines: ["mail.example.test ESMTP"] }, label);
    assertEquals(
      await readReply(reader, { expect: 250 }),
      { code: 250, lines: ["mail.example.test", "PIPELINING", "SIZE 1000"] },
      label,
    );
    assertEquals(await readReply(reader), { code: 354, lines: [""] }, label);
    assertEquals(await reader.readLine(), null, label);
  }, true);
});

Deno.test("readReply() accepts a bare code, an empty text and a closing line without text", async () => {
  await everySplit("250-a\r\n250\r\n221 \r\n", async (reader, label) => {
    assertEquals(await readReply(reader), { code: 250, lines: ["a", ""] }, label);
    assertEquals(await readReply(reader), { code: 221, lines: [""] }, label);
  });
});

Deno.test("readReply() accepts LF line ends by default and rejects them in crlf mode", async () => {
  await everySplit("250-a\n250 b\n", async (reader, label) => {
    assertEquals(await readReply(reader), { code: 250, lines: ["a", "b"] }, label);
  });
  await failsEverywhere("250-a\r\n250 b\n", "BARE_LF", { lineEnding: "crlf" });
});

// --- malformed replies --------------------------------------------------------------

Deno.test("readReply() throws BAD_REPLY for non-digit, short and out-of-range codes", async () => {
  for (
    const line of [
      "2x0 ok",
      "25 ok",
      "25",
      "",
      "abc",
      "600 too high",
      "099 too low",
      "250x",
      "250_ok",
      " 250 ok",
      "\u0662\u0665\u0660 arabic digits",
      "2500 four digits",
      "\ufeff250 after a BOM",
    ]
  ) {
    const error = await assertRejects(
      () => readReply(new BufferedReader(streamOf([line + "\r\n"]))),
      ProtocolError,
    );
    assertEquals(error.code, "BAD_REPLY", JSON.stringify(line));
  }
  await failsEverywhere("2x0 ok\r\n", "BAD_REPLY");
});

Deno.test("readReply() throws BAD_REPLY for a continuation line with another code", async () => {
  await failsEverywhere("250-first\r\n251 last\r\n", "BAD_REPLY");
  await failsEverywhere("250-first\r\n550-other\r\n250 last\r\n", "BAD_REPLY");
  // A line without a code in the middle is malformed outside FTP's lenient mode.
  await failsEverywhere("250-first\r\nsecond\r\n250 last\r\n", "BAD_REPLY");
});

Deno.test("readReply() throws BAD_REPLY for NUL in any line", async () => {
  await failsEverywhere("250 a\0b\r\n", "BAD_REPLY");
  await failsEverywhere("250-a\r\n250 b\0\r\n", "BAD_REPLY");
  await failsEverywhere("123-a\r\nmid\0dle\r\n123 b\r\n", "BAD_REPLY", {
    lenientContinuation: true,
  });
});

Deno.test("readReply() throws UNEXPECTED_EOF before, inside and between reply lines", async () => {
  await failsEverywhere("", "UNEXPECTED_EOF");
  await failsEverywhere("250 no line end", "UNEXPECTED_EOF");
  await failsEverywhere("250-a\r\n", "UNEXPECTED_EOF");
  await failsEverywhere("250-a\r\n250 b", "UNEXPECTED_EOF");
  await failsEverywhere("123-a\r\nfree text\r\n", "UNEXPECTED_EOF", { lenientContinuation: true });
});

// --- limits -------------------------------------------------------------------------

Deno.test("readReply() accepts a line of exactly maxLineLength bytes and rejects one more", async () => {
  await everySplit("250-abcd\r\n250 ok\r\n", async (reader, label) => {
    assertEquals((await readReply(reader, { maxLineLength: 8 })).lines, ["abcd", "ok"], label);
  });
  await failsEverywhere("250-abcde\r\n250 ok\r\n", "LINE_TOO_LONG", { maxLineLength: 8 });
});

Deno.test("readReply() accepts exactly maxLines lines and throws REPLY_TOO_LARGE for one more", async () => {
  await everySplit("250-a\r\n250-b\r\n250 c\r\n", async (reader, label) => {
    assertEquals((await readReply(reader, { maxLines: 3 })).lines, ["a", "b", "c"], label);
  });
  await failsEverywhere("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", "REPLY_TOO_LARGE", { maxLines: 3 });
  // The limit holds for free-text lines of FTP's lenient mode too.
  await failsEverywhere("123-a\r\nb\r\nc\r\n123 d\r\n", "REPLY_TOO_LARGE", {
    maxLines: 3,
    lenientContinuation: true,
  });
});

Deno.test("readReply() accepts exactly maxReplySize bytes and throws REPLY_TOO_LARGE for one more", async () => {
  const wire = "250-ab\r\n250 cd\r\n"; // 16 bytes
  await everySplit(wire, async (reader, label) => {
    assertEquals((await readReply(reader, { maxReplySize: 16 })).lines, ["ab", "cd"], label);
  });
  await failsEverywhere(wire, "REPLY_TOO_LARGE", { maxReplySize: 15 });
});

Deno.test("readReply() counts maxReplySize in bytes, not UTF-16 units", async () => {
  const wire = "250 \u00e9\u00e9\u00e9\u00e9\r\n"; // 4 + 8 + 2 = 14 bytes, 10 UTF-16 units
  await everySplit(wire, async (reader, label) => {
    assertEquals((await readReply(reader, { maxReplySize: 14 })).lines, [
      "\u00e9\u00e9\u00e9\u00e9",
    ], label);
  });
  await failsEverywhere(wire, "REPLY_TOO_LARGE", { maxReplySize: 13 });
});

Deno.test("readReply() stops an endless multi-line reply at maxReplySize", async () => {
  let sent = 0;
  const source: ByteReader = {
    read(p: Uint8Array): Promise<number> {
      const line = encoder.encode("250-more\r\n");
      const n = Math.min(p.length, line.length);
      p.set(line.subarray(0, n));
      sent += n;
      return Promise.resolve(n);
    },
  };
  const error = await assertRejects(
    () => readReply(new BufferedReader(source, { bufferSize: 64 }), { maxReplySize: 1000 }),
    ProtocolError,
  );
  assertEquals(error.code, "REPLY_TOO_LARGE");
  assert(sent <= 1000 + 64, `read ${sent} bytes`);
});

// --- FTP lenient continuation ---------------------------------------------------------

Deno.test("readReply() with lenientContinuation reads the RFC 959 §4.2 example", async () => {
  const wire = "123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n" +
    "123 The last line\r\n226 next\r\n";
  await everySplit(wire, async (reader, label) => {
    assertEquals(await readReply(reader, { lenientContinuation: true }), {
      code: 123,
      lines: ["First line", "Second line", "  234 A line beginning with numbers", "The last line"],
    }, label);
    assertEquals((await readReply(reader)).code, 226, label);
  }, true);
});

Deno.test("readReply() with lenientContinuation keeps an unpadded line with another code as text", async () => {
  const wire = "211-Features:\r\n MDTM\r\n234 looks like a code\r\n211-also\r\n211 End\r\n";
  await everySplit(wire, async (reader, label) => {
    assertEquals(await readReply(reader, { lenientContinuation: true }), {
      code: 211,
      lines: ["Features:", " MDTM", "234 looks like a code", "also", "End"],
    }, label);
  }, true);
  await failsEverywhere(wire, "BAD_REPLY", { lenientContinuation: false });
});

// --- expect -----------------------------------------------------------------------------

Deno.test("readReply() matches expect as a prefix of the code", async () => {
  const cases: [number, number, boolean][] = [
    [250, 2, true],
    [250, 25, true],
    [250, 250, true],
    [259, 25, true],
    [251, 250, false],
    [260, 25, false],
    [354, 2, false],
    [354, 3, true],
    [450, 25, false],
    [550, 5, true],
  ];
  for (const [code, expect, ok] of cases) {
    const wire = `${code}-first\r\n${code} last\r\n220 after\r\n`;
    const reader = new BufferedReader(streamOf([wire]));
    if (ok) {
      assertEquals(await readReply(reader, { expect }), { code, lines: ["first", "last"] });
    } else {
      const error = await assertRejects(() => readReply(reader, { expect }), ReplyError);
      assertEquals(error.code, code);
      assertEquals(error.lines, ["first", "last"]);
      assertEquals(error.message, `Cannot complete command: server replied ${code} first last`);
    }
    // The whole reply is consumed either way.
    assertEquals(await reader.readLine(), "220 after", `${code} vs ${expect}`);
    assertEquals(codeMatches(code, expect), ok, `codeMatches(${code}, ${expect})`);
  }
});

Deno.test("readReply() builds the error for an unexpected code with the error factory", async () => {
  class RefusedError extends Error {
    constructor(readonly code: number, readonly lines: string[]) {
      super(`refused ${code}`);
    }
  }
  const calls: [number, string[]][] = [];
  const reader = new BufferedReader(streamOf(["550-No\r\n550 such user\r\n250 ok\r\n"]));
  const error = await assertRejects(
    () =>
      readReply(reader, {
        expect: 2,
        error: (code, lines) => {
          calls.push([code, lines]);
          return new RefusedError(code, lines);
        },
      }),
    RefusedError,
  );
  assertEquals([error.code, error.lines], [550, ["No", "such user"]]);
  assertEquals(calls, [[550, ["No", "such user"]]]);
  // The factory is not called for a matching code.
  assertEquals(
    await readReply(reader, { expect: 2, error: () => new Error("must not be called") }),
    { code: 250, lines: ["ok"] },
  );
});

Deno.test("codeMatches() treats one, two and three digits as prefixes", () => {
  assert(codeMatches(200, 2) && codeMatches(299, 2) && !codeMatches(300, 2));
  assert(codeMatches(250, 25) && codeMatches(259, 25) && !codeMatches(249, 25));
  assert(codeMatches(250, 250) && !codeMatches(251, 250));
});
