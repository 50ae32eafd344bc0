import { assertLineSafe, type ByteWriter, LineWriter } from "../../net/line_writer.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_helpers/assert.ts";

const decoder = new TextDecoder();

/** A writable stream that records every chunk (copied). */
function recordingStream(): { stream: WritableStream<Uint8Array>; chunks: string[] } {
  const chunks: string[] = [];
  const stream = new WritableStream<Uint8Array>({
    write: (chunk) => void chunks.push(decoder.decode(chunk)),
  });
  return { stream, chunks };
}

/** A `ByteWriter` that accepts at most `max` bytes per call. */
function partialWriter(max: number): ByteWriter & { calls: string[]; closed: boolean } {
  const calls: string[] = [];
  return {
    calls,
    closed: false,
    write(p: Uint8Array): Promise<number> {
      const n = Math.min(max, p.length);
      calls.push(decoder.decode(p.subarray(0, n)));
      return Promise.resolve(n);
    },
  };
}

const INJECTIONS = [
  "RCPT TO:<a@example.test>\r\nDATA",
  "USER x\nPASS y",
  "RETR a\rDELE 1",
  "PASS a\0b",
  "\r\n",
  "\0",
];

Deno.test("LineWriter.writeLine() writes the line and CRLF to a stream in one chunk", async () => {
  const { stream, chunks } = recordingStream();
  const writer = new LineWriter(stream);
  await writer.writeLine("EHLO client.example.test");
  await writer.writeLine("");
  await writer.writeLine("caf\u00e9\ttab");
  assertEquals(chunks, ["EHLO client.example.test\r\n", "\r\n", "caf\u00e9\ttab\r\n"]);
});

Deno.test("LineWriter.writeLines() writes every line in a single write", async () => {
  const { stream, chunks } = recordingStream();
  const writer = new LineWriter(stream);
  await writer.writeLines(["MAIL FROM:<a@example.test>", "RCPT TO:<b@example.test>", "DATA"]);
  assertEquals(chunks, ["MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"]);
  const sink = partialWriter(1 << 20);
  await new LineWriter(sink).writeLines(["A", "B"]);
  assertEquals(sink.calls, ["A\r\nB\r\n"]);
});

Deno.test("LineWriter.writeLine() refuses CR, LF and NUL and writes nothing", async () => {
  for (const bad of INJECTIONS) {
    const { stream, chunks } = recordingStream();
    const sink = partialWriter(3);
    for (const writer of [new LineWriter(stream), new LineWriter(sink)]) {
      await assertRejects(() => writer.writeLine(bad), TypeError, "CR, LF or NUL");
      await writer.writeLine("NOOP");
    }
    assertEquals(chunks, ["NOOP\r\n"], JSON.stringify(bad));
    assertEquals(sink.calls.join(""), "NOOP\r\n", JSON.stringify(bad));
  }
});

Deno.test("LineWriter.writeLines() writes nothing when only the last line is unsafe", async () => {
  for (const bad of INJECTIONS) {
    const { stream, chunks } = recordingStream();
    const sink = partialWriter(2);
    for (const writer of [new LineWriter(stream), new LineWriter(sink)]) {
      await assertRejects(
        () => writer.writeLines(["MAIL FROM:<a@example.test>", "RCPT TO:<b@example.test>", bad]),
        TypeError,
      );
    }
    assertEquals(chunks, [], JSON.stringify(bad));
    assertEquals(sink.calls, [], JSON.stringify(bad));
  }
});

Deno.test("LineWriter.write() keeps calling a ByteWriter until partial writes finish", async () => {
  for (const max of [1, 3, 5]) {
    const sink = partialWriter(max);
    const writer = new LineWriter(sink);
    await writer.writeLine("QUIT now");
    await writer.writeCrlf();
    await writer.write(new TextEncoder().encode("raw"));
    assertEquals(sink.calls.join(""), "QUIT now\r\n\r\nraw", `max=${max}`);
    assertEquals(sink.calls.length, Math.ceil(10 / max) + Math.ceil(2 / max) + Math.ceil(3 / max));
    assert(sink.calls.every((c) => c.length <= max));
  }
});

Deno.test("LineWriter.writeCrlf() and write() send raw bytes to a stream", async () => {
  const { stream, chunks } = recordingStream();
  const writer = new LineWriter(stream);
  await writer.write(new Uint8Array([0x2e, 0x0d, 0x0a]));
  await writer.writeCrlf();
  await writer.writeCrlf();
  assertEquals(chunks, [".\r\n", "\r\n", "\r\n"]);
});

Deno.test("LineWriter.writeLine() rejects when the stream fails", async () => {
  const stream = new WritableStream<Uint8Array>({
    write: () => Promise.reject(new Error("connection reset")),
  });
  const writer = new LineWriter(stream);
  await assertRejects(() => writer.writeLine("NOOP"), Error, "connection reset");
});

Deno.test("LineWriter.release() unlocks the stream and ends the writer", async () => {
  const { stream, chunks } = recordingStream();
  const writer = new LineWriter(stream);
  await writer.writeLine("A");
  writer.release();
  assert(!stream.locked);
  await assertRejects(() => writer.writeLine("B"), TypeError, "released");
  const next = stream.getWriter();
  await next.write(new TextEncoder().encode("C"));
  await next.close();
  assertEquals(chunks, ["A\r\n", "C"]);

  const sink = partialWriter(10);
  const sinkWriter = new LineWriter(sink);
  sinkWriter.release();
  await assertRejects(() => sinkWriter.writeLine("B"), TypeError, "released");
  assertEquals(sink.calls, []);
});

Deno.test("LineWriter.close() closes a stream but leaves a ByteWriter open", async () => {
  let closed = false;
  const stream = new WritableStream<Uint8Array>({ close: () => void (closed = true) });
  const streamWriter = new LineWriter(stream);
  await streamWriter.writeLine("QUIT");
  await streamWriter.close();
  assert(closed);
  assert(!stream.locked);
  await assertRejects(() => streamWriter.writeLine("X"), TypeError);

  const sink = {
    ...partialWriter(10),
    closeCalls: 0,
    close(): void {
      this.closeCalls++;
    },
  };
  const writer = new LineWriter(sink);
  await writer.close();
  assertEquals(sink.closeCalls, 0);
  await assertRejects(() => writer.writeLine("X"), TypeError);
});

Deno.test("assertLineSafe() names the value and accepts ordinary text", () => {
  for (const bad of INJECTIONS) {
    const error = assertThrows(() => assertLineSafe(bad, "address"), TypeError);
    assertStringIncludes(error.message, "Cannot send address");
  }
  assertStringIncludes(assertThrows(() => assertLineSafe("a\nb"), TypeError).message, "line");
  for (
    const ok of ["", "RCPT TO:<a@example.test>", "tab\there", "\u00e9\u2028\u0085", "\x7f\x1b"]
  ) {
    assertLineSafe(ok);
  }
});
