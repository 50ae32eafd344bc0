import {
  encodeClosePayload,
  encodeWsFrame,
  encodeWsHeader,
  isWireCloseCode,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  parseClosePayload,
  wsCloseCodeFor,
  type WsEvent,
  wsHeaderLength,
  WsReceiver,
  xorWsMask,
} from "../../http/_ws_frame.ts";
import { concatBytes } from "../../net/_bytes.ts";
import { ProtocolError, type ProtocolErrorCode } from "../../net/protocol_error.ts";
import { assertEquals, assertInstanceOf, assertThrows } from "../_helpers/assert.ts";
import { prng, randomChunks } from "../_helpers/sources.ts";

const encoder = new TextEncoder();
const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const MAX = 1 << 20;

/** A masked client frame. */
function frame(opcode: number, payload: Uint8Array | string, fin = true, mask = MASK): Uint8Array {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  return encodeWsFrame(opcode, bytes, fin, mask);
}

/** A frame header with raw first bytes, then a mask and the masked payload. */
function rawFrame(b0: number, payload: Uint8Array, lengthBytes?: number[]): Uint8Array {
  const length = lengthBytes ?? [payload.length];
  const head = [b0, 0x80 | length[0]!, ...length.slice(1), ...MASK];
  const masked = payload.map((b, i) => b ^ MASK[i & 3]!);
  return new Uint8Array([...head, ...masked]);
}

/** Plain values for comparing events. */
function plain(event: WsEvent): unknown {
  return "data" in event && event.data instanceof Uint8Array
    ? { type: event.type, data: [...event.data] }
    : event;
}

/** Runs the receiver over the chunks; returns the events and the error, if any. */
function receive(
  chunks: Uint8Array[],
  options: { maxMessageSize?: number; role?: "server" | "client" } = {},
): { events: unknown[]; error: ProtocolError | null } {
  const receiver = new WsReceiver({
    maxMessageSize: options.maxMessageSize ?? MAX,
    role: options.role ?? "server",
  });
  const events: unknown[] = [];
  try {
    for (const chunk of chunks) receiver.push(chunk, (event) => events.push(plain(event)));
  } catch (error) {
    assertInstanceOf(error, ProtocolError);
    return { events, error };
  }
  return { events, error: null };
}

/** Asserts the same outcome for the whole input and for every split into two and three pieces. */
function assertEverySplit(
  input: Uint8Array,
  expected: { events: unknown[]; error: string | null },
  options: { maxMessageSize?: number } = {},
): void {
  const check = (chunks: Uint8Array[], label: string) => {
    const { events, error } = receive(chunks, options);
    assertEquals(
      { events, error: error?.code ?? null },
      expected,
      label,
    );
  };
  check([input], "whole");
  for (let i = 0; i <= input.length; i++) {
    check([input.subarray(0, i), input.subarray(i)], `split at ${i}`);
  }
  const step = Math.max(1, Math.floor(input.length / 40));
  for (let i = 0; i <= input.length; i += step) {
    for (let j = i; j <= input.length; j += step) {
      check([input.subarray(0, i), input.subarray(i, j), input.subarray(j)], `split ${i}/${j}`);
    }
  }
  check([...input].map((b) => new Uint8Array([b])), "byte by byte");
}

Deno.test("WsReceiver.push() gives the same messages for every split of a conversation", () => {
  const input = concatBytes([
    frame(OP_TEXT, "Hello, "),
    frame(OP_PING, "are you there"),
    frame(OP_CONTINUATION, "Wörld", false),
    frame(OP_CONTINUATION, " ✓"),
    frame(OP_BINARY, new Uint8Array(300).map((_, i) => i & 255)),
    frame(OP_PONG, ""),
    frame(OP_TEXT, ""),
    frame(OP_BINARY, new Uint8Array(0)),
    frame(OP_CLOSE, encodeClosePayload(1000, "bye")),
  ].map((f, i) => {
    // The first text frame is a fragment.
    if (i === 0) f[0] = f[0]! & 0x7f;
    return f;
  }));
  assertEverySplit(input, {
    events: [
      { type: "ping", data: [...encoder.encode("are you there")] },
      { type: "text", data: "Hello, Wörld ✓" },
      { type: "binary", data: [...new Uint8Array(300).map((_, i) => i & 255)] },
      { type: "pong", data: [] },
      { type: "text", data: "" },
      { type: "binary", data: [] },
      { type: "close", code: 1000, reason: "bye" },
    ],
    error: null,
  });
});

Deno.test("WsReceiver.push() joins a text message split inside a code point, at every split", () => {
  // "€" is E2 82 AC and "😀" F0 9F 98 80: cut across frames inside both.
  const bytes = encoder.encode("a€b😀c");
  const input = concatBytes([
    frame(OP_TEXT, bytes.subarray(0, 2), false),
    frame(OP_CONTINUATION, bytes.subarray(2, 6), false),
    frame(OP_CONTINUATION, bytes.subarray(6, 7), false),
    frame(OP_CONTINUATION, bytes.subarray(7)),
  ]);
  assertEverySplit(input, { events: [{ type: "text", data: "a€b😀c" }], error: null });
});

Deno.test("WsReceiver.push() reads the 16-bit and 64-bit length forms", () => {
  for (const n of [125, 126, 127, 65535, 65536, 70000]) {
    const payload = new Uint8Array(n).map((_, i) => (i * 7) & 255);
    const { events, error } = receive([frame(OP_BINARY, payload)]);
    assertEquals(error, null);
    assertEquals((events[0] as { data: number[] }).data.length, n, `${n}`);
    assertEquals(wsHeaderLength(n, true), n < 126 ? 6 : n < 65536 ? 8 : 14);
  }
  // A length in a longer form than needed is accepted.
  const long = rawFrame(0x82, new Uint8Array([1, 2, 3]), [127, 0, 0, 0, 0, 0, 0, 0, 3]);
  assertEquals(receive([long]).events, [{ type: "binary", data: [1, 2, 3] }]);
});

Deno.test("WsReceiver.push() answers each broken rule with its ProtocolError code", () => {
  const cases: [string, Uint8Array, string][] = [
    ["an unmasked frame", encodeWsFrame(OP_TEXT, encoder.encode("hi")), "WS_UNMASKED_FRAME"],
    ["RSV1", rawFrame(0xc1, encoder.encode("hi")), "WS_RESERVED_BITS"],
    ["RSV2", rawFrame(0xa1, encoder.encode("hi")), "WS_RESERVED_BITS"],
    ["RSV3", rawFrame(0x91, encoder.encode("hi")), "WS_RESERVED_BITS"],
    ["opcode 3", rawFrame(0x83, new Uint8Array(0)), "WS_BAD_OPCODE"],
    ["opcode 7", rawFrame(0x87, new Uint8Array(0)), "WS_BAD_OPCODE"],
    ["opcode 0xB", rawFrame(0x8b, new Uint8Array(0)), "WS_BAD_OPCODE"],
    ["opcode 0xF", rawFrame(0x8f, new Uint8Array(0)), "WS_BAD_OPCODE"],
    [
      "a ping of 126 bytes",
      rawFrame(0x89, new Uint8Array(126), [126, 0, 126]),
      "WS_CONTROL_FRAME_TOO_LONG",
    ],
    ["a fragmented ping", rawFrame(0x09, new Uint8Array(1)), "WS_FRAGMENTED_CONTROL_FRAME"],
    ["a fragmented close", rawFrame(0x08, new Uint8Array(0)), "WS_FRAGMENTED_CONTROL_FRAME"],
    ["a continuation first", frame(OP_CONTINUATION, "x"), "WS_UNEXPECTED_CONTINUATION"],
    [
      "a text frame inside a fragmented message",
      concatBytes([frame(OP_TEXT, "a", false), frame(OP_TEXT, "b")]),
      "WS_EXPECTED_CONTINUATION",
    ],
    [
      "a binary frame inside a fragmented message",
      concatBytes([frame(OP_BINARY, "a", false), frame(OP_BINARY, "b")]),
      "WS_EXPECTED_CONTINUATION",
    ],
    [
      "a 64-bit length with the top bit set",
      rawFrame(0x82, new Uint8Array(0), [127, 0x80, 0, 0, 0, 0, 0, 0, 1]),
      "WS_BAD_LENGTH",
    ],
    ["a close with a 1-byte payload", frame(OP_CLOSE, new Uint8Array([3])), "WS_BAD_CLOSE_PAYLOAD"],
    ["invalid UTF-8 in a text message", frame(OP_TEXT, new Uint8Array([0xff])), "WS_INVALID_UTF8"],
    [
      "a surrogate in a text message",
      frame(OP_TEXT, new Uint8Array([0xed, 0xa0, 0x80])),
      "WS_INVALID_UTF8",
    ],
    ["an overlong encoding", frame(OP_TEXT, new Uint8Array([0xc0, 0xaf])), "WS_INVALID_UTF8"],
    [
      "a code point above U+10FFFF",
      frame(OP_TEXT, new Uint8Array([0xf4, 0x90, 0x80, 0x80])),
      "WS_INVALID_UTF8",
    ],
    [
      "a text message ending inside a code point",
      frame(OP_TEXT, new Uint8Array([0x61, 0xe2, 0x82])),
      "WS_INVALID_UTF8",
    ],
    [
      "invalid UTF-8 in a close reason",
      frame(OP_CLOSE, new Uint8Array([0x03, 0xe8, 0xff])),
      "WS_INVALID_UTF8",
    ],
  ];
  for (const [name, input, code] of cases) {
    const { error } = receive([input]);
    assertEquals(error?.code, code, name);
    assertEverySplit(input, { events: [], error: code });
  }
});

Deno.test("WsReceiver.push() fails a fragmented text message at invalid UTF-8 split across frames", () => {
  // E2 82 then 28: the third byte is not a continuation byte.
  const input = concatBytes([
    frame(OP_TEXT, new Uint8Array([0x61, 0xe2]), false),
    frame(OP_CONTINUATION, new Uint8Array([0x82]), false),
    frame(OP_CONTINUATION, new Uint8Array([0x28])),
  ]);
  assertEverySplit(input, { events: [], error: "WS_INVALID_UTF8" });
  // A message whose last fragment ends inside a code point.
  const truncated = concatBytes([
    frame(OP_TEXT, new Uint8Array([0x61, 0xf0, 0x9f]), false),
    frame(OP_CONTINUATION, new Uint8Array([0x98])),
  ]);
  assertEverySplit(truncated, { events: [], error: "WS_INVALID_UTF8" });
});

Deno.test("WsReceiver.push() accepts exactly the close codes allowed on the wire", () => {
  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000];
  const validHigh = [3999, 4000, 4999];
  const invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
  for (const code of [...valid, ...validHigh]) {
    assertEquals(isWireCloseCode(code), true, `${code}`);
    const { events, error } = receive([frame(OP_CLOSE, encodeClosePayload(code, "r"))]);
    assertEquals([events, error], [[{ type: "close", code, reason: "r" }], null]);
  }
  for (const code of invalid) {
    assertEquals(isWireCloseCode(code), false, `${code}`);
    const payload = new Uint8Array([code >>> 8, code & 255]);
    assertEquals(receive([frame(OP_CLOSE, payload)]).error?.code, "WS_BAD_CLOSE_CODE", `${code}`);
  }
  // An empty close payload means "no status code".
  assertEquals(receive([frame(OP_CLOSE, new Uint8Array(0))]).events, [
    { type: "close", code: 1005, reason: "" },
  ]);
  assertEquals(parseClosePayload(new Uint8Array(0)), { code: 1005, reason: "" });
});

Deno.test("WsReceiver.push() refuses a message over maxMessageSize from the header alone", () => {
  // A header announcing 2^40 bytes: refused before any payload arrives.
  const header = new Uint8Array([0x82, 0xff, 0, 0, 0x01, 0, 0, 0, 0, 0, ...MASK]);
  assertEverySplit(header, { events: [], error: "WS_MESSAGE_TOO_LARGE" });
  // One frame just over, and exactly at, the limit.
  assertEquals(
    receive([frame(OP_BINARY, new Uint8Array(101))], { maxMessageSize: 100 }).error?.code,
    "WS_MESSAGE_TOO_LARGE",
  );
  assertEquals(
    receive([frame(OP_BINARY, new Uint8Array(100))], { maxMessageSize: 100 }).error,
    null,
  );
  // The fragments of one message count together; control frames in between do not.
  const fragments = concatBytes([
    frame(OP_TEXT, "x".repeat(60), false),
    frame(OP_PING, "p".repeat(100)),
    frame(OP_CONTINUATION, "y".repeat(41)),
  ]);
  assertEverySplit(fragments, {
    events: [{ type: "ping", data: [...encoder.encode("p".repeat(100))] }],
    error: "WS_MESSAGE_TOO_LARGE",
  }, { maxMessageSize: 100 });
  // A new message starts the count again.
  const two = concatBytes([
    frame(OP_BINARY, new Uint8Array(80)),
    frame(OP_BINARY, new Uint8Array(80)),
  ]);
  assertEquals(receive([two], { maxMessageSize: 100 }).events.length, 2);
});

Deno.test("WsReceiver.push() allocates payload only as it arrives, never the announced length", () => {
  // 2^39 bytes announced and allowed: allocating them up front would throw.
  const receiver = new WsReceiver({ maxMessageSize: 2 ** 40, role: "server" });
  const header = new Uint8Array([0x82, 0xff, 0, 0, 0, 0x80, 0, 0, 0, 0, ...MASK]);
  const events: WsEvent[] = [];
  receiver.push(header, (event) => events.push(event));
  receiver.push(new Uint8Array(10), (event) => events.push(event));
  assertEquals(events, []);
  // Many receivers each announcing 16 MiB hold nothing until bytes come.
  const receivers = Array.from({ length: 1000 }, () => {
    const r = new WsReceiver({ maxMessageSize: 1 << 24, role: "server" });
    r.push(new Uint8Array([0x82, 0xff, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, ...MASK]), () => {});
    return r;
  });
  assertEquals(receivers.length, 1000);
});

Deno.test("WsReceiver.push() ignores what follows a close frame and repeats its error", () => {
  const input = concatBytes([
    frame(OP_CLOSE, encodeClosePayload(1001, "")),
    new Uint8Array([0xff, 0xff, 0xff]),
  ]);
  assertEverySplit(input, { events: [{ type: "close", code: 1001, reason: "" }], error: null });
  const receiver = new WsReceiver({ maxMessageSize: MAX, role: "server" });
  const bad = encodeWsFrame(OP_TEXT, encoder.encode("x"));
  const first = assertThrows(() => receiver.push(bad, () => {}), ProtocolError);
  const again = assertThrows(() => receiver.push(frame(OP_TEXT, "ok"), () => {}), ProtocolError);
  assertEquals(again, first);
});

Deno.test("WsReceiver.push() in the client role wants unmasked frames", () => {
  const server = encodeWsFrame(OP_TEXT, encoder.encode("hi"));
  assertEquals(receive([server], { role: "client" }).events, [{ type: "text", data: "hi" }]);
  assertEquals(receive([frame(OP_TEXT, "hi")], { role: "client" }).error?.code, "WS_MASKED_FRAME");
});

Deno.test("WsReceiver.push() reads seeded random conversations in random pieces", () => {
  const random = prng(1455);
  for (let round = 0; round < 40; round++) {
    const frames: Uint8Array[] = [];
    const expected: unknown[] = [];
    for (let m = 0; m < 6; m++) {
      const text = random() < 0.5;
      const length = Math.floor(random() * (random() < 0.2 ? 70000 : 300));
      const mask = new Uint8Array(4).map(() => Math.floor(random() * 256));
      let payload: Uint8Array;
      if (text) {
        const chars = Array.from({ length: Math.ceil(length / 3) }, () => {
          const r = random();
          return r < 0.6 ? "a" : r < 0.8 ? "é" : r < 0.95 ? "€" : "😀";
        }).join("");
        payload = encoder.encode(chars);
        expected.push({ type: "text", data: chars });
      } else {
        payload = new Uint8Array(length).map(() => Math.floor(random() * 256));
        expected.push({ type: "binary", data: [...payload] });
      }
      // Cut the message into 1 to 4 fragments at random byte positions.
      const cuts = [
        0,
        ...Array.from(
          { length: Math.floor(random() * 4) },
          () => Math.floor(random() * (payload.length + 1)),
        ).sort((a, b) => a - b),
        payload.length,
      ];
      for (let c = 0; c + 1 < cuts.length; c++) {
        const opcode = c === 0 ? (text ? OP_TEXT : OP_BINARY) : OP_CONTINUATION;
        frames.push(
          encodeWsFrame(
            opcode,
            payload.subarray(cuts[c]!, cuts[c + 1]!),
            c + 2 === cuts.length,
            mask,
          ),
        );
        if (random() < 0.3) {
          frames.push(encodeWsFrame(OP_PING, encoder.encode(`p${c}`), true, mask));
          expected.splice(expected.length - 1, 0, {
            type: "ping",
            data: [...encoder.encode(`p${c}`)],
          });
        }
      }
    }
    const input = concatBytes(frames);
    const { events, error } = receive(randomChunks(input, random, 1 + Math.floor(random() * 5000)));
    assertEquals(error, null);
    // Pings inside a message come out before it, in order.
    assertEquals(events.length, expected.length, `round ${round}`);
    const messages = (list: unknown[]) =>
      list.filter((e) => (e as { type: string }).type !== "ping");
    const pings = (list: unknown[]) => list.filter((e) => (e as { type: string }).type === "ping");
    assertEquals(messages(events), messages(expected), `round ${round}`);
    assertEquals(pings(events), pings(expected), `round ${round}`);
  }
});

Deno.test("encodeWsHeader() writes the shortest length form and no mask for a server", () => {
  const out = new Uint8Array(14);
  assertEquals([...out.subarray(0, encodeWsHeader(out, 0, OP_TEXT, 5))], [0x81, 5]);
  assertEquals([...out.subarray(0, encodeWsHeader(out, 0, OP_BINARY, 126, false))], [
    0x02,
    126,
    0,
    126,
  ]);
  assertEquals([...out.subarray(0, encodeWsHeader(out, 0, OP_BINARY, 65536))], [
    0x82,
    127,
    0,
    0,
    0,
    0,
    0,
    1,
    0,
    0,
  ]);
  assertEquals([...out.subarray(0, encodeWsHeader(out, 0, OP_BINARY, 2 ** 33 + 5))], [
    0x82,
    127,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    5,
  ]);
  assertEquals([...encodeClosePayload(1000, "ok")], [0x03, 0xe8, 0x6f, 0x6b]);
  assertEquals(encodeClosePayload(1005).length, 0);
});

Deno.test("wsCloseCodeFor() maps UTF-8 errors to 1007, size to 1009, the rest to 1002", () => {
  const code = (name: ProtocolErrorCode) => wsCloseCodeFor(new ProtocolError(name, "x"));
  assertEquals(code("WS_INVALID_UTF8"), 1007);
  assertEquals(code("WS_MESSAGE_TOO_LARGE"), 1009);
  for (
    const name of [
      "WS_UNMASKED_FRAME",
      "WS_RESERVED_BITS",
      "WS_BAD_OPCODE",
      "WS_CONTROL_FRAME_TOO_LONG",
      "WS_FRAGMENTED_CONTROL_FRAME",
      "WS_BAD_LENGTH",
      "WS_BAD_CLOSE_PAYLOAD",
      "WS_BAD_CLOSE_CODE",
    ] as const
  ) {
    assertEquals(code(name), 1002, name);
  }
});

Deno.test("xorWsMask() matches the byte-wise definition at every length, offset and key position", () => {
  const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
  const random = prng(7);
  for (let length = 0; length <= 100; length++) {
    for (let offset = 0; offset < 4; offset++) {
      for (let keyAt = 0; keyAt < 4; keyAt++) {
        const backing = new Uint8Array(length + offset);
        for (let i = 0; i < backing.length; i++) backing[i] = Math.floor(random() * 256);
        const bytes = backing.subarray(offset);
        const expected = bytes.map((b, i) => b ^ key[(keyAt + i) & 3]!);
        const next = xorWsMask(bytes, key, keyAt);
        assertEquals(bytes, expected, `length ${length}, offset ${offset}, keyAt ${keyAt}`);
        assertEquals(next, (keyAt + length) & 3);
      }
    }
  }
});
