import { BufferedReader } from "../../net/buffered_reader.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  formatResponseHead,
  readResponseHead,
  type ReadResponseHeadOptions,
  type ResponseHead,
} from "../../http/response_head.ts";
import { assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";
import { bytewise, splits, streamOf } from "../_helpers/scripted_peer.ts";
import { byteReaderOf } from "../_helpers/sources.ts";

const encoder = new TextEncoder();

function* sources(input: string): Generator<[BufferedReader, string]> {
  const bytes = encoder.encode(input);
  for (const chunks of [...splits(bytes, bytes.length > 40), bytewise(bytes)]) {
    const label = JSON.stringify(chunks.map((c) => new TextDecoder().decode(c)));
    yield [new BufferedReader(streamOf(chunks)), `stream ${label}`];
    yield [new BufferedReader(byteReaderOf(chunks), { bufferSize: 8 }), `small ${label}`];
  }
}

async function parsesEverywhere(input: string, expected: ResponseHead, rest = ""): Promise<void> {
  for (const [reader, label] of sources(input + rest)) {
    assertEquals(await readResponseHead(reader), expected, label);
    const left = new Uint8Array(rest.length + 1);
    let got = 0;
    for (;;) {
      const n = await reader.read(left.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    assertEquals(new TextDecoder().decode(left.subarray(0, got)), rest, label);
  }
}

async function failsEverywhere(
  input: string,
  code: string,
  options?: ReadResponseHeadOptions,
): Promise<void> {
  for (const [reader, label] of sources(input)) {
    const error = await assertRejects(() => readResponseHead(reader, options), ProtocolError);
    assertEquals(error.code, code, label);
  }
}

Deno.test("readResponseHead() parses a response at every split and leaves the body", async () => {
  await parsesEverywhere(
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n",
    {
      version: "HTTP/1.1",
      status: 200,
      statusText: "OK",
      fields: [
        { name: "Content-Type", value: "text/plain" },
        { name: "Content-Length", value: "2" },
      ],
    },
    "hi",
  );
});

Deno.test("readResponseHead() accepts an empty or missing reason phrase", async () => {
  await parsesEverywhere("HTTP/1.1 418 \r\n\r\n", {
    version: "HTTP/1.1",
    status: 418,
    statusText: "",
    fields: [],
  });
  await parsesEverywhere("HTTP/1.0 204\r\n\r\n", {
    version: "HTTP/1.0",
    status: 204,
    statusText: "",
    fields: [],
  });
});

Deno.test("readResponseHead() accepts bare LF line ends from old servers", async () => {
  await parsesEverywhere("HTTP/1.1 200 OK\nX: 1\n\n", {
    version: "HTTP/1.1",
    status: 200,
    statusText: "OK",
    fields: [{ name: "X", value: "1" }],
  });
});

Deno.test("readResponseHead() replaces obs-fold with a space", async () => {
  await parsesEverywhere("HTTP/1.1 200 OK\r\nX: a\r\n  b\r\n\tc\r\nY: d\r\n\r\n", {
    version: "HTTP/1.1",
    status: 200,
    statusText: "OK",
    fields: [{ name: "X", value: "a b c" }, { name: "Y", value: "d" }],
  });
});

Deno.test("readResponseHead() reads interim responses one by one", async () => {
  const reader = new BufferedReader(
    streamOf(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"]),
  );
  assertEquals((await readResponseHead(reader)).status, 100);
  const hints = await readResponseHead(reader);
  assertEquals([hints.status, hints.fields], [103, [{ name: "Link", value: "</a>" }]]);
});

const BAD_VECTORS: [string, string, string][] = [
  ["a lower-case version", "http/1.1 200 OK\r\n\r\n", "BAD_STATUS_LINE"],
  ["a two-digit status", "HTTP/1.1 20 OK\r\n\r\n", "BAD_STATUS_LINE"],
  ["letters in the status", "HTTP/1.1 2x0 OK\r\n\r\n", "BAD_STATUS_LINE"],
  ["an HTTP/0.9 body", "<html>hello</html>\r\n\r\n", "BAD_STATUS_LINE"],
  ["HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", "VERSION_NOT_SUPPORTED"],
  ["a control byte in the reason", "HTTP/1.1 200 O\x01K\r\n\r\n", "BAD_STATUS_LINE"],
  ["a bare CR in a value", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "BAD_HEADER"],
  ["NUL in a value", "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", "BAD_HEADER"],
  ["space before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n", "BAD_HEADER"],
  ["a folded first line", "HTTP/1.1 200 OK\r\n X: a\r\n\r\n", "BAD_HEADER"],
  ["a head cut short", "HTTP/1.1 200 OK\r\nX: a\r\n", "UNEXPECTED_EOF"],
  ["nothing at all", "", "UNEXPECTED_EOF"],
];

for (const [name, input, code] of BAD_VECTORS) {
  Deno.test(`readResponseHead() refuses ${name} with ${code}`, async () => {
    await failsEverywhere(input, code);
  });
}

Deno.test("readResponseHead() enforces line, size and count limits", async () => {
  await failsEverywhere("HTTP/1.1 200 " + "x".repeat(100) + "\r\n\r\n", "LINE_TOO_LONG", {
    maxLineLength: 50,
  });
  await failsEverywhere("HTTP/1.1 200 OK\r\nX: " + "y".repeat(100) + "\r\n\r\n", "LINE_TOO_LONG", {
    maxLineLength: 50,
  });
  await failsEverywhere(
    "HTTP/1.1 200 OK\r\n" + "X: y\r\n".repeat(30) + "\r\n",
    "HEADER_TOO_LARGE",
    {
      maxHeaderSize: 100,
    },
  );
  await failsEverywhere("HTTP/1.1 200 OK\r\n" + "X: y\r\n".repeat(11) + "\r\n", "TOO_MANY_FIELDS", {
    maxHeaderCount: 10,
  });
});

Deno.test("formatResponseHead() serializes with the standard phrase by default", () => {
  assertEquals(
    formatResponseHead({ status: 404, fields: [["Content-Length", "0"]] }),
    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
  );
  assertEquals(formatResponseHead({ status: 599 }), "HTTP/1.1 599 \r\n\r\n");
  assertEquals(
    formatResponseHead({ status: 200, statusText: "Fine", version: "HTTP/1.0" }),
    "HTTP/1.0 200 Fine\r\n\r\n",
  );
});

Deno.test("formatResponseHead() refuses bad statuses, reasons and fields", () => {
  assertThrows(() => formatResponseHead({ status: 99 }), RangeError);
  assertThrows(() => formatResponseHead({ status: 200.5 }), RangeError);
  assertThrows(() => formatResponseHead({ status: 200, statusText: "a\r\nX: y" }), TypeError);
  assertThrows(() => formatResponseHead({ status: 200, fields: [["X", "a\nb"]] }), TypeError);
});
