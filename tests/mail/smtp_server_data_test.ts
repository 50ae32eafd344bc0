/**
 * The SMTP server's private pieces: the discard loops (fed every split of
 * their input), the message sink's backpressure and early endings, and the
 * argument parsers (with a seeded random-input run).
 */
import { BufferedReader } from "../../net/buffered_reader.ts";
import {
  decodeXtext,
  parseBdat,
  parseHelo,
  parseMailFrom,
  parseRcptTo,
  printable,
} from "../../mail/_smtp_server_args.ts";
import {
  discardDotBlock,
  discardLine,
  discardOctets,
  SmtpMessageSink,
} from "../../mail/_smtp_server_data.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { byteReaderOf, prng, randomChunks } from "../_helpers/sources.ts";

const encoder = new TextEncoder();

/** The input cut in two at every point, one byte at a time, and randomly. */
function splits(text: string): Uint8Array[][] {
  const bytes = encoder.encode(text);
  const out: Uint8Array[][] = [[bytes], Array.from(bytes, (b) => new Uint8Array([b]))];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  const random = prng(7);
  for (let i = 0; i < 20; i++) out.push(randomChunks(bytes, random, 5));
  return out;
}

function readerOf(chunks: Uint8Array[]): BufferedReader {
  return new BufferedReader(byteReaderOf(chunks), { bufferSize: 16 });
}

Deno.test("discardDotBlock() stops right after CR LF . CR LF at every split", async () => {
  const block = "x\n.\ny\r.\rz\r\n.\nw\r\n..\r\n \r\n.\r\nNOOP\r\n";
  for (const chunks of splits(block)) {
    const reader = readerOf(chunks);
    assertEquals(await discardDotBlock(reader, 1 << 20), true);
    assertEquals(await reader.readLine(), "NOOP");
  }
});

Deno.test("discardDotBlock() takes a dot line first in the block and CR CR LF before it", async () => {
  for (const chunks of splits(".\r\nNEXT\r\n")) {
    const reader = readerOf(chunks);
    assertEquals(await discardDotBlock(reader, 100), true);
    assertEquals(await reader.readLine(), "NEXT");
  }
  for (const chunks of splits("a\r\r\n.\r\nNEXT\r\n")) {
    const reader = readerOf(chunks);
    assertEquals(await discardDotBlock(reader, 100), true);
    assertEquals(await reader.readLine(), "NEXT");
  }
});

Deno.test("discardDotBlock() is never ended by bare LF or CR dot lines", async () => {
  for (const fake of ["\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r", "\r.\r\n", "\r\n..\r\n"]) {
    const reader = readerOf([encoder.encode(`a${fake}b`)]);
    assertEquals(await discardDotBlock(reader, 1 << 20), false, JSON.stringify(fake));
    assert(reader.eof);
  }
});

Deno.test("discardDotBlock() gives up past its limit", async () => {
  const reader = readerOf([encoder.encode("y".repeat(1000) + "\r\n.\r\n")]);
  assertEquals(await discardDotBlock(reader, 100), false);
  assert(!reader.eof);
});

Deno.test("discardLine() and discardOctets() stop at the right byte at every split", async () => {
  for (const chunks of splits("long line\rwith CR\nNEXT\r\n")) {
    const reader = readerOf(chunks);
    assertEquals(await discardLine(reader, 1000), true);
    assertEquals(await reader.readLine(), "NEXT");
  }
  for (const chunks of splits("0123456789NEXT\r\n")) {
    const reader = readerOf(chunks);
    assertEquals(await discardOctets(reader, 10), true);
    assertEquals(await reader.readLine(), "NEXT");
  }
  assertEquals(await discardLine(readerOf([encoder.encode("x".repeat(50))]), 10), false);
  assertEquals(await discardOctets(readerOf([encoder.encode("short")]), 10), false);
});

Deno.test("SmtpMessageSink hands pieces to the consumer with backpressure and returns its outcome", async () => {
  const seen: string[] = [];
  const sink = new SmtpMessageSink(async (stream) => {
    for await (const piece of stream) seen.push(new TextDecoder().decode(piece));
    return seen.length;
  });
  for (const piece of ["a", "b", "c"]) assertEquals(await sink.write(encoder.encode(piece)), true);
  assertEquals(sink.size, 3);
  assertEquals(await sink.end(), 3);
  assertEquals(seen, ["a", "b", "c"]);
});

Deno.test("SmtpMessageSink reports a consumer that stopped early, and its error", async () => {
  const early = new SmtpMessageSink(() => Promise.resolve("done"));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(await early.write(encoder.encode("ignored")), false);
  assertEquals(early.open, false);
  assertEquals(await early.end(), "done");

  const failing = new SmtpMessageSink(async (stream) => {
    const reader = stream.getReader();
    await reader.read();
    throw new Error("disk full");
  });
  let open = true;
  for (let i = 0; i < 5 && open; i++) open = await failing.write(encoder.encode("x"));
  assertEquals(open, false);
  await assertRejects(() => failing.end(), Error, "disk full");
});

Deno.test("SmtpMessageSink.abort() errors the consumer's stream", async () => {
  let failure: unknown = null;
  const sink = new SmtpMessageSink(async (stream) => {
    try {
      for await (const _ of stream) { /* read */ }
    } catch (error) {
      failure = error;
    }
  });
  await sink.write(encoder.encode("part"));
  await sink.abort(new Error("client left"));
  assertEquals((failure as Error).message, "client left");
});

Deno.test("parseMailFrom() and parseRcptTo() take the forms real clients send", () => {
  assertEquals(parseMailFrom("FROM:<a@b.c>", 100), { from: "a@b.c", smtputf8: false });
  assertEquals(parseMailFrom("from: <a@b.c>  SIZE=10", 100), {
    from: "a@b.c",
    smtputf8: false,
    size: 10,
  });
  assertEquals(parseMailFrom("FROM:<>", 100), { from: "", smtputf8: false });
  assertEquals(parseMailFrom("FROM:<a@[127.0.0.1]>", 100), {
    from: "a@[127.0.0.1]",
    smtputf8: false,
  });
  assertEquals(parseMailFrom('FROM:<"a b\\"c"@d.e>', 100), {
    from: '"a b\\"c"@d.e',
    smtputf8: false,
  });
  assertEquals(parseRcptTo("TO:<postmaster>", false), { to: "postmaster" });
  assertEquals(parseRcptTo("TO:<@x.y,@z.w:u@v.t>", false), { to: "u@v.t" });
  assertEquals(parseRcptTo("TO:<ü@ä.test>", true), { to: "ü@ä.test" });
  for (
    const bad of ["FROM:<a@b.c> <x>", "FROM:<<a@b.c>>", "FROM:<a@b.c", "FROM:<a@>", "FROM:<@b.c>"]
  ) {
    assert(!("from" in parseMailFrom(bad, 100)), bad);
  }
});

Deno.test("decodeXtext(), parseBdat(), parseHelo() and printable()", () => {
  assertEquals(decodeXtext("a+2Bb+3Dc"), "a+b=c");
  assertEquals(decodeXtext("caf+C3+A9"), "café");
  for (const bad of ["a+2b", "a+2", "a=b", "a b", "+FF"]) assertEquals(decodeXtext(bad), null, bad);
  assertEquals(parseBdat("100"), { size: 100, last: false });
  assertEquals(parseBdat("0 last"), { size: 0, last: true });
  for (const bad of ["", "-1", "1.5", "1 FIRST", "0x10", "1234567890123456"]) {
    assertEquals(parseBdat(bad), null, bad);
  }
  assertEquals(parseHelo(" mx.example.test "), "mx.example.test");
  assertEquals(parseHelo("[127.0.0.1]"), "[127.0.0.1]");
  assertEquals(parseHelo("two words"), null);
  assertEquals(parseHelo(""), null);
  assertEquals(printable("a\r\nb\0"), "a\\x0d\\x0ab\\x00");
  assertEquals(printable("x".repeat(10), 4), "xxxx...");
});

Deno.test("parseMailFrom() and parseRcptTo() never throw on random input", () => {
  const random = prng(2024);
  const alphabet = 'FROMTO:<>@."\\ =+,;[]aZ09\u00e9\u0000';
  for (let i = 0; i < 5000; i++) {
    let text = i % 2 === 0 ? "FROM:" : "TO:";
    const length = Math.floor(random() * 40);
    for (let k = 0; k < length; k++) text += alphabet[Math.floor(random() * alphabet.length)];
    const mail = parseMailFrom(text, 1000);
    const rcpt = parseRcptTo(text, random() < 0.5);
    for (const result of [mail, rcpt]) {
      if ("code" in result) assert(result.code >= 500 && result.code < 600);
      else {
        const address = "from" in result ? result.from : result.to;
        // deno-lint-ignore no-control-regex
        assert(!/[\x00-\x1f<>]/.test(address.replace(/"[^"]*"/g, "")), JSON.stringify(text));
      }
    }
  }
});
