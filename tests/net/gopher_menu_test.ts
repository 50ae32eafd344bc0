import { BufferedReader } from "../../net/buffered_reader.ts";
import {
  assertGopherSelector,
  formatGopherMenu,
  formatGopherMenuItem,
  GOPHER_ITEM_TYPE,
  GOPHER_ITEM_TYPE_NAMES,
  gopherInfoItem,
  type GopherItem,
  type GopherMenu,
  type GopherMenuOptions,
  type GopherTextOptions,
  gopherTypeForFile,
  parseGophermap,
  parseGopherMenu,
  parseGopherMenuLine,
  readGopherMenu,
  readGopherText,
} from "../../net/gopher_menu.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  assert,
  assertEquals,
  assertLessOrEqual,
  assertRejects,
  assertThrows,
} from "../_helpers/assert.ts";
import { bytewise, splits, streamOf } from "../_helpers/scripted_peer.ts";
import { byteReaderOf, prng, randomChunks } from "../_helpers/sources.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const enc = (s: string): Uint8Array => encoder.encode(s);
const fixture = async (name: string): Promise<Uint8Array> =>
  await Deno.readFile(new URL(`./fixtures/${name}`, import.meta.url));

const ROOT = await fixture("gophernicus_root.bin");
const DOCS = await fixture("gophernicus_docs.bin");
const NOT_FOUND = await fixture("gophernicus_not_found.bin");
const ABOUT = await fixture("gophernicus_about_txt.bin");
const ROOT_MAP = await fixture("gophernicus_gophermap.txt");
const DIFF_MAP = await fixture("gophernicus_differential.gophermap");
const DIFF_OUT = await fixture("gophernicus_differential.bin");

const item = (
  type: string,
  display: string,
  selector: string,
  host: string,
  port: number,
  raw: string,
  plus = false,
): GopherItem => ({ type, display, selector, host, port, plus, raw });

const ROOT_ITEMS: GopherItem[] = [
  item(
    "i",
    "Welcome to the peers gopher test bed.",
    "fake",
    "(NULL)",
    0,
    "iWelcome to the peers gopher test bed.\tfake\t(NULL)\t0",
  ),
  item("i", "", "fake", "(NULL)", 0, "i\tfake\t(NULL)\t0"),
  item(
    "0",
    "About this server",
    "/about.txt",
    "127.0.0.1",
    7070,
    "0About this server\t/about.txt\t127.0.0.1\t7070",
  ),
  item("1", "Documents", "/docs", "127.0.0.1", 7070, "1Documents\t/docs\t127.0.0.1\t7070"),
  item(
    "0",
    "Hello file",
    "/docs/hello.txt",
    "127.0.0.1",
    7070,
    "0Hello file\t/docs/hello.txt\t127.0.0.1\t7070",
  ),
];

async function readAll(chunks: Uint8Array[], options?: GopherMenuOptions): Promise<GopherMenu> {
  return await readGopherMenu(new BufferedReader(streamOf(chunks), { bufferSize: 64 }), options);
}

function allSplits(bytes: Uint8Array, full = false): Uint8Array[][] {
  return [...splits(bytes, !full), bytewise(bytes)];
}

// --- real menus ----------------------------------------------------------------------------

Deno.test("parseGopherMenu() reads the root menu gophernicus sends", () => {
  const expected = { items: ROOT_ITEMS, skipped: 0, terminated: true };
  assertEquals(parseGopherMenu(ROOT), expected);
  assertEquals(parseGopherMenu(decoder.decode(ROOT)), expected);
});

Deno.test("readGopherMenu() reads the gophernicus root menu at every split", async () => {
  const expected = { items: ROOT_ITEMS, skipped: 0, terminated: true };
  let cases = 0;
  for (const chunks of allSplits(ROOT, true)) {
    assertEquals(await readAll(chunks), expected);
    cases++;
  }
  assert(cases > 19000);
});

Deno.test("readGopherMenu() reads the gophernicus /docs listing at every split", async () => {
  const menu = parseGopherMenu(DOCS);
  assertEquals(menu.skipped, 0);
  assertEquals(menu.terminated, true);
  assertEquals(menu.items.map((i) => [i.type, i.selector, i.host, i.port]), [
    ["i", "TITLE", "null.host", 1],
    ["i", "", "null.host", 1],
    ["1", "/", "127.0.0.1", 7070],
    ["0", "/docs/hello.txt", "127.0.0.1", 7070],
    ["0", "/docs/second.txt", "127.0.0.1", 7070],
  ]);
  assertEquals(menu.items[0]!.display, "[/docs/]");
  assertEquals(
    menu.items[3]!.display,
    "hello.txt                             2023-Nov-14 22:13     0.0 KB",
  );
  for (const chunks of allSplits(DOCS)) assertEquals(await readAll(chunks), menu);
  const random = prng(1436);
  for (let i = 0; i < 200; i++) assertEquals(await readAll(randomChunks(DOCS, random, 12)), menu);
});

Deno.test("parseGopherMenu() skips gophernicus's plain-text error and reports no terminator", async () => {
  assertEquals(decoder.decode(NOT_FOUND), "Error: File or directory not found! (null)\r\n");
  const expected = { items: [], skipped: 1, terminated: false };
  assertEquals(parseGopherMenu(NOT_FOUND), expected);
  for (const chunks of allSplits(NOT_FOUND, true)) assertEquals(await readAll(chunks), expected);
});

Deno.test("formatGopherMenu() reproduces the gophernicus menus byte for byte", () => {
  assertEquals(enc(formatGopherMenu(parseGopherMenu(ROOT).items)), ROOT);
  assertEquals(enc(formatGopherMenu(parseGopherMenu(DOCS).items)), DOCS);
});

Deno.test("readGopherMenu() stops after the dot line and leaves the rest in the reader", async () => {
  const wire = concat(ROOT, enc("after\r\n"));
  for (const chunks of allSplits(wire)) {
    const reader = new BufferedReader(streamOf(chunks), { bufferSize: 16 });
    assertEquals((await readGopherMenu(reader)).items.length, 5);
    assertEquals(await reader.readLine(), "after");
  }
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// --- hostile menus --------------------------------------------------------------------------

Deno.test("parseGopherMenuLine() skips lines with too few fields or a bad port", () => {
  const bad = [
    "",
    ".",
    "no tabs at all",
    "1Two\tfields",
    "1Three\tfields\thost",
    "\t/sel\thost\t70",
    "1Port\t/s\th\tseventy",
    "1Port\t/s\th\t+70",
    "1Port\t/s\th\t0x46",
    "1Port\t/s\th\t7e1",
    "1Port\t/s\th\t70.0",
    "1Port\t/s\th\t-1",
    "1Port\t/s\th\t65536",
    "1Port\t/s\th\t999999",
    "1Port\t/s\th\t",
    "1Port\t/s\th\t0",
    "1NoHost\t/s\t\t70",
    "1NoHost\t/s\t   \t70",
    "1Nul\t/s\0x\th\t70",
    "1Nul\0\t/s\th\t70",
    "1Cr\t/s\rx\th\t70",
    "1Lf\t/s\nx\th\t70",
    "iShort\tinfo",
  ];
  for (const line of bad) assertEquals(parseGopherMenuLine(line), null, JSON.stringify(line));
});

Deno.test("parseGopherMenuLine() accepts fake hosts and ports on info and error lines", () => {
  assertEquals(parseGopherMenuLine("iText\t\terror.host\tx")?.port, 0);
  assertEquals(parseGopherMenuLine("iText\t\t\t")?.host, "");
  assertEquals(parseGopherMenuLine("3Not found\t\terror.host\t1"), {
    type: "3",
    display: "Not found",
    selector: "",
    host: "error.host",
    port: 1,
    plus: false,
    raw: "3Not found\t\terror.host\t1",
  });
  // Spaces around the port and host are tolerated; a trailing CR is dropped.
  assertEquals(parseGopherMenuLine("0A\t/a\t host \t 70 \r")?.port, 70);
  assertEquals(parseGopherMenuLine("0A\t/a\t host \t 70 \r")?.host, "host");
  assertEquals(parseGopherMenuLine("0A\t/a\th\t070")?.port, 70);
  // The selector keeps its spaces, and an unknown type is kept for the client to judge.
  assertEquals(parseGopherMenuLine("x Odd\t sel \th\t70")?.selector, " sel ");
  assertEquals(parseGopherMenuLine("x Odd\t sel \th\t70")?.type, "x");
  // A non-BMP type character is one character.
  assertEquals(parseGopherMenuLine("\u{1F600}smile\t/s\th\t70")?.type, "\u{1F600}");
});

Deno.test("parseGopherMenuLine() marks Gopher+ items and ignores extra fields", () => {
  assertEquals(parseGopherMenuLine("1Plus\t/p\th\t70\t+")?.plus, true);
  assertEquals(parseGopherMenuLine("1Ask\t/p\th\t70\t?")?.plus, true);
  assertEquals(parseGopherMenuLine("1Other\t/p\th\t70\tjunk\tmore")?.plus, false);
  assertEquals(parseGopherMenuLine("1Empty\t/p\th\t70\t")?.plus, false);
});

Deno.test("parseGopherMenu() handles LF, CR LF, a dot inside data and a missing terminator", () => {
  const text = "0.\t/dot\th\t70\n" + // a display that is only a dot
    "0..x\t/..\th\t70\r\n" + // dots in data are not unstuffed in menus
    " .\r\n" + // not the terminator
    ".x\r\n" + // not the terminator either
    "1Last\t/last\th\t70\r\n" +
    ".\r\n" +
    "1After\t/after\th\t70\r\n";
  const menu = parseGopherMenu(text);
  assertEquals(menu.items.map((i) => i.display), [".", "..x", "Last"]);
  assertEquals(menu.items[1]!.selector, "/..");
  assertEquals(menu.skipped, 2);
  assertEquals(menu.terminated, true);
  // ".\r" with a bare LF after it, and an LF-only terminator.
  assertEquals(parseGopherMenu("1A\t/\th\t70\n.\n").terminated, true);
  // The data just stops: the last line still counts.
  const open = parseGopherMenu("1A\t/a\th\t70\r\n1B\t/b\th\t70");
  assertEquals(open.items.map((i) => i.selector), ["/a", "/b"]);
  assertEquals(open.terminated, false);
  assertEquals(parseGopherMenu(""), { items: [], skipped: 0, terminated: false });
});

Deno.test("parseGopherMenu() decodes invalid UTF-8 as U+FFFD", () => {
  const bytes = concat(
    enc("0caf"),
    new Uint8Array([0xe9]),
    enc("\t/caf"),
    new Uint8Array([0xe9]),
    enc("\th\t70\r\n.\r\n"),
  );
  const menu = parseGopherMenu(bytes);
  assertEquals(menu.items[0]!.display, "caf\ufffd");
  assertEquals(menu.items[0]!.selector, "/caf\ufffd");
});

Deno.test("parseGopherMenu() and readGopherMenu() skip lines over maxLineLength", async () => {
  const wire = enc(`1Long\t/${"x".repeat(100)}\th\t70\r\n1Ok\t/ok\th\t70\r\n.\r\n`);
  const expected = {
    items: [item("1", "Ok", "/ok", "h", 70, "1Ok\t/ok\th\t70")],
    skipped: 1,
    terminated: true,
  };
  assertEquals(parseGopherMenu(wire, { maxLineLength: 50 }), expected);
  for (const chunks of allSplits(wire)) {
    assertEquals(await readAll(chunks, { maxLineLength: 50 }), expected);
  }
  // Exactly maxLineLength bytes (without CR LF) is fine.
  const line = `1A\t/${"y".repeat(41)}\th\t70`;
  assertEquals(line.length, 50);
  assertEquals(parseGopherMenu(`${line}\r\n`, { maxLineLength: 50 }).items.length, 1);
  assertEquals((await readAll([enc(`${line}\r\n`)], { maxLineLength: 50 })).items.length, 1);
  assertEquals(parseGopherMenu(`${line}x\r\n`, { maxLineLength: 50 }).skipped, 1);
  assertEquals((await readAll([enc(`${line}x\r\n`)], { maxLineLength: 50 })).skipped, 1);
});

Deno.test("readGopherMenu() skips a huge line without buffering it", async () => {
  const huge = new Uint8Array(8 << 20).fill(0x41);
  const chunks = [
    enc("1Huge\t/"),
    ...randomChunks(huge, prng(7), 65536),
    enc("\th\t70\r\n1Ok\t/\th\t70\r\n.\r\n"),
  ];
  const source = byteReaderOf(chunks);
  const menu = await readGopherMenu(new BufferedReader(source, { bufferSize: 4096 }), {
    maxMenuSize: 16 << 20,
  });
  assertEquals(menu.items.map((i) => i.display), ["Ok"]);
  assertEquals(menu.skipped, 1);
  // The buffer never grew past the line cap (plus CR LF), so reads stayed small.
  assertLessOrEqual(Math.max(...source.reads.map((p) => p.length)), 8192 + 2);
});

Deno.test("parseGopherMenu() and readGopherMenu() cap the menu at maxMenuSize", async () => {
  const wire = enc("1A\t/a\th\t70\r\n1B\t/b\th\t70\r\n.\r\n");
  assertEquals(wire.length, 27);
  assertEquals(parseGopherMenu(wire, { maxMenuSize: 27 }).items.length, 2);
  assertEquals((await readAll([wire], { maxMenuSize: 27 })).items.length, 2);
  // Bytes after the terminator do not count.
  assertEquals(
    parseGopherMenu(concat(wire, enc("x".repeat(100))), { maxMenuSize: 27 }).terminated,
    true,
  );
  const error = assertThrows(() => parseGopherMenu(wire, { maxMenuSize: 26 }), ProtocolError);
  assertEquals(error.code, "MENU_TOO_LARGE");
  assertEquals(error.message, "Cannot read gopher menu: it exceeds 26 bytes");
  for (const chunks of allSplits(wire)) {
    const e = await assertRejects(() => readAll(chunks, { maxMenuSize: 26 }), ProtocolError);
    assertEquals(e.code, "MENU_TOO_LARGE");
  }
  // An unterminated menu over the cap fails too.
  assertThrows(
    () => parseGopherMenu("iinfo\t\th\t1\r\n".repeat(10), { maxMenuSize: 100 }),
    ProtocolError,
    "exceeds 100",
  );
});

Deno.test("readGopherMenu() fails on an endless line instead of hanging", async () => {
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(1024).fill(0x41));
    },
  });
  const reader = new BufferedReader(endless);
  const e = await assertRejects(
    () => readGopherMenu(reader, { maxMenuSize: 100_000 }),
    ProtocolError,
    "exceeds 100000",
  );
  assertEquals(e.code, "MENU_TOO_LARGE");
  assertLessOrEqual(pulled, 100);
  await reader.cancel();
});

Deno.test("readGopherMenu() agrees with parseGopherMenu() on random menus in random chunks", async () => {
  const random = prng(4266);
  const pieces = [
    "0",
    "1",
    "i",
    "3",
    "x",
    "\t",
    "\t",
    "\t",
    "70",
    "0",
    "h",
    " ",
    ".",
    "..",
    "\r",
    "\n",
    "\r\n",
    "\0",
    "+",
    "é",
  ];
  for (let round = 0; round < 300; round++) {
    let text = "";
    for (let i = 0; i < 60; i++) text += pieces[Math.floor(random() * pieces.length)];
    const wire = enc(text);
    const options = { maxLineLength: 12, maxMenuSize: 1 + Math.floor(random() * 200) };
    let expected: GopherMenu | string;
    try {
      expected = parseGopherMenu(wire, options);
    } catch (error) {
      expected = (error as ProtocolError).code;
    }
    for (const chunks of [randomChunks(wire, random, 5), bytewise(wire)]) {
      let got: GopherMenu | string;
      try {
        got = await readAll(chunks, options);
      } catch (error) {
        got = (error as ProtocolError).code;
      }
      assertEquals(got, expected, `round ${round}: ${JSON.stringify(text)}`);
    }
  }
});

Deno.test("parseGopherMenu() rejects bad limits", () => {
  assertThrows(() => parseGopherMenu("", { maxMenuSize: 0 }), RangeError, "maxMenuSize 0");
  assertThrows(() => parseGopherMenu("", { maxLineLength: -1 }), RangeError, "maxLineLength -1");
  assertThrows(() => parseGopherMenu("", { maxLineLength: 1.5 }), RangeError);
});

// --- formatting -----------------------------------------------------------------------------

Deno.test("formatGopherMenuItem() refuses TAB, CR, LF and NUL in every field", () => {
  const base: GopherItem = { type: "0", display: "d", selector: "/s", host: "h", port: 70 };
  for (const field of ["display", "selector", "host", "type"] as const) {
    for (const bad of ["\t", "\r", "\n", "\0"]) {
      const value = field === "type" ? bad : `a${bad}b`;
      assertThrows(
        () => formatGopherMenuItem({ ...base, [field]: value }),
        TypeError,
        `${field} `,
      );
    }
  }
  assertThrows(() => formatGopherMenuItem({ ...base, type: "01" }), TypeError, "not one character");
  assertThrows(() => formatGopherMenuItem({ ...base, type: "" }), TypeError, "not one character");
  for (const port of [-1, 65536, 1.5, NaN]) {
    assertThrows(() => formatGopherMenuItem({ ...base, port }), RangeError, `port ${port}`);
  }
  assertThrows(
    () => formatGopherMenuItem({ ...base, selector: 5 as unknown as string }),
    TypeError,
    "selector is not a string",
  );
  assertEquals(formatGopherMenuItem({ ...base, plus: true }), "0d\t/s\th\t70\t+\r\n");
  assertEquals(formatGopherMenuItem({ ...base, type: "\u{1F600}" }), "\u{1F600}d\t/s\th\t70\r\n");
  assertEquals(formatGopherMenuItem(gopherInfoItem("")), "i\t\tnull.host\t1\r\n");
});

Deno.test("formatGopherMenu() output parses back to the same items", () => {
  const random = prng(70);
  const alphabet = "ab /.é~?#%+";
  const pick = (n: number): string =>
    Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
  const items: GopherItem[] = [];
  for (let i = 0; i < 200; i++) {
    items.push({
      type: "019hIgs"[Math.floor(random() * 7)]!,
      display: pick(8),
      selector: pick(10),
      host: `host${i}.example`,
      port: 1 + Math.floor(random() * 65535),
      plus: random() < 0.2,
    });
  }
  const menu = parseGopherMenu(formatGopherMenu(items));
  assertEquals(menu.terminated, true);
  assertEquals(menu.skipped, 0);
  assertEquals(
    menu.items.map(({ raw: _raw, ...rest }) => rest),
    items.map((i) => ({ ...i, plus: i.plus ?? false })),
  );
});

Deno.test("GOPHER_ITEM_TYPE and GOPHER_ITEM_TYPE_NAMES agree on the well-known types", () => {
  for (const type of Object.values(GOPHER_ITEM_TYPE)) {
    assert(Object.hasOwn(GOPHER_ITEM_TYPE_NAMES, type), type);
  }
  assertEquals(Object.keys(GOPHER_ITEM_TYPE_NAMES).length, Object.keys(GOPHER_ITEM_TYPE).length);
  assertEquals(
    ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "T", "g", "I"].every((t) =>
      Object.values(GOPHER_ITEM_TYPE).includes(t as never)
    ),
    true,
  );
});

Deno.test("gopherTypeForFile() guesses item types from file names", () => {
  const table: Array<[string, string]> = [
    ["hello.txt", "0"],
    ["NOTES.TXT", "0"],
    ["README", "0"],
    ["docs/LICENSE", "0"],
    ["Makefile", "0"],
    ["gophermap", "0"],
    ["main.c", "0"],
    ["script.py", "0"],
    ["data.json", "0"],
    ["feed.xml", "0"],
    ["run.sh", "0"],
    ["index.html", "h"],
    ["page.HTM", "h"],
    ["anim.gif", "g"],
    ["logo.png", "p"],
    ["photo.jpg", "I"],
    ["photo.jpeg", "I"],
    ["drawing.svg", "I"],
    ["song.mp3", "s"],
    ["clip.wav", "s"],
    ["movie.mp4", ";"],
    ["paper.pdf", "d"],
    ["paper.ps", "d"],
    ["letter.docx", "d"],
    ["events.ics", "c"],
    ["archive.zip", "5"],
    ["archive.tar", "5"],
    ["archive.tar.gz", "5"],
    ["old.lzh", "5"],
    ["mac.hqx", "4"],
    ["file.uue", "6"],
    ["inbox.mbox", "M"],
    ["message.eml", "M"],
    ["program.exe", "9"],
    ["blob.bin", "9"],
    ["unknown.qqq", "9"],
    ["noextension", "9"],
    [".hidden", "9"],
    ["trailing.", "9"],
  ];
  for (const [name, type] of table) assertEquals(gopherTypeForFile(name), type, name);
});

// --- selectors -----------------------------------------------------------------------------

Deno.test("assertGopherSelector() refuses CR, LF, TAB and NUL", () => {
  for (const [bad, what] of [["\r", "a CR"], ["\n", "an LF"], ["\t", "a TAB"], ["\0", "a NUL"]]) {
    assertThrows(() => assertGopherSelector(`/a${bad}b`), TypeError, `contains ${what}`);
  }
  assertThrows(() => assertGopherSelector(7 as unknown as string), TypeError, "not a string");
  assertGopherSelector("");
  assertGopherSelector("/with spaces and é/?x=1#y");
});

Deno.test("assertGopherSelector() caps the selector length in UTF-8 bytes", () => {
  assertGopherSelector("x".repeat(1024));
  assertThrows(
    () => assertGopherSelector("x".repeat(1025)),
    RangeError,
    "1025 bytes, more than 1024",
  );
  // 513 two-byte characters are 1026 bytes.
  assertThrows(() => assertGopherSelector("é".repeat(513)), RangeError, "1026 bytes");
  assertGopherSelector("x".repeat(255), { maxLength: 255 });
  assertThrows(() => assertGopherSelector("x".repeat(256), { maxLength: 255 }), RangeError);
});

// --- gophermap ------------------------------------------------------------------------------

Deno.test("parseGophermap() turns the test bed's gophermap into the menu gophernicus serves", () => {
  const map = parseGophermap(ROOT_MAP, { host: "127.0.0.1", port: 7070 });
  assertEquals(enc(formatGopherMenu(map.items)), ROOT);
  assertEquals(map.listing, false);
  assertEquals(map.ignored, []);
  assertEquals(parseGophermap(decoder.decode(ROOT_MAP), { host: "127.0.0.1", port: 7070 }), map);
});

Deno.test("parseGophermap() matches gophernicus on every supported kind of line", () => {
  // The fixture was run through gophernicus 3.1.1 as the /docs gophermap.
  const map = parseGophermap(DIFF_MAP, { host: "127.0.0.1", port: 7070, directory: "/docs" });
  assertEquals(formatGopherMenu(map.items), decoder.decode(DIFF_OUT));
  assertEquals(map.hidden, ["hidden.txt"]);
  assertEquals(map.listing, false);
  // ":png=g" and "~" are the unsupported lines.
  const lines = decoder.decode(DIFF_MAP).split("\n");
  assertEquals(map.ignored.map((n) => lines[n - 1]), [":png=g", "~"]);
  // The directory with or without its trailing slash.
  assertEquals(
    parseGophermap(DIFF_MAP, { host: "127.0.0.1", port: 7070, directory: "/docs/" }),
    map,
  );
});

Deno.test("parseGophermap() decides by the first character even when the line has TABs", () => {
  const map = parseGophermap(
    "#comment\twith tab\n!Title\twith tab\n-hide\tme\n:x\tt\n~u\tt\n%v\tt\n=/bin/sh\tt\nend\n.\tstop\nnot reached\n",
    { host: "h", port: 70 },
  );
  assertEquals(
    formatGopherMenu(map.items),
    "iTitle\tTITLE\tnull.host\t1\r\niend\t\tnull.host\t1\r\n.\r\n",
  );
  assertEquals(map.hidden, ["hide"]);
  assertEquals(map.ignored, [4, 5, 6, 7]);
  assertEquals(map.listing, false);
  const star = parseGophermap("iA\n*x\niB\n", { host: "h", port: 70 });
  assertEquals(star.listing, true);
  assertEquals(star.items.map((i) => i.display), ["iA"]);
});

Deno.test("parseGophermap() drops the lines where it differs from gophernicus", () => {
  const map = parseGophermap(
    [
      "0BadPort\t/x\th\tabc", // gophernicus: port 0
      "0BigPort\t/x\th\t99999", // gophernicus: 99999
      "0NegPort\t/x\th\t-5", // gophernicus: -5
      "0ZeroPort\t/x\th\t0",
      "\tNoType", // gophernicus: a line with an empty type
      "0Nul\t/a\0b",
      "0EmptyHost\trel\t\t71", // gophernicus: empty host
      "",
      "0Ok\tok.txt",
      "iInfo\tx\tfake\tnot a port",
    ].join("\r\n"),
    { host: "serve.example", port: 7070, directory: "/d" },
  );
  assertEquals(map.ignored, [1, 2, 3, 4, 5, 6]);
  assertEquals(
    formatGopherMenu(map.items),
    [
      "0EmptyHost\t/d/rel\tserve.example\t71\r\n",
      "i\t\tnull.host\t1\r\n",
      "0Ok\t/d/ok.txt\tserve.example\t7070\r\n",
      // A placeholder port on an info line becomes 0; a given host keeps the selector as is.
      "iInfo\tx\tfake\t0\r\n",
      ".\r\n",
    ].join(""),
  );
});

Deno.test("parseGophermap() validates its options and caps the size", () => {
  assertThrows(() => parseGophermap("", { host: "", port: 70 }), TypeError, "host is empty");
  assertThrows(() => parseGophermap("", { host: "h", port: 0 }), RangeError, "port 0");
  assertThrows(
    () => parseGophermap("x".repeat(101), { host: "h", port: 70, maxSize: 100 }),
    RangeError,
    "101 bytes, more than 100",
  );
  assertEquals(
    parseGophermap("x".repeat(100), { host: "h", port: 70, maxSize: 100 }).items.length,
    1,
  );
});

// --- text items ---------------------------------------------------------------------------

async function text(chunks: Uint8Array[], options?: GopherTextOptions): Promise<string> {
  const reader = new BufferedReader(streamOf(chunks), { bufferSize: 16 });
  return await new Response(readGopherText(reader, options)).text();
}

Deno.test("readGopherText() reads gophernicus's about.txt, which has no dot line", async () => {
  for (const chunks of allSplits(ABOUT, true)) {
    assertEquals(await text(chunks), "This is a small gopher test server.\r\n");
  }
  const e = await assertRejects(() => text([ABOUT], { requireTerminator: true }), ProtocolError);
  assertEquals(e.code, "UNEXPECTED_EOF");
});

Deno.test("readGopherText() unstuffs dots and stops at the dot line at every split", async () => {
  const wire = enc("..one\r\n.two\r\n...\r\nend.\r\n.\r\nleft over\r\n");
  const expected = ".one\r\n.two\r\n..\r\nend.\r\n";
  for (const chunks of allSplits(wire, true)) {
    const reader = new BufferedReader(streamOf(chunks), { bufferSize: 16 });
    assertEquals(await new Response(readGopherText(reader)).text(), expected);
    assertEquals(await reader.readLine(), "left over");
  }
});

Deno.test("readGopherText() accepts LF line ends and a dot line at the end of the stream", async () => {
  assertEquals(await text([enc("a\n..b\n.\nrest")]), "a\n.b\n");
  assertEquals(await text([enc("a\r\n.")]), "a\r\n");
  assertEquals(await text([enc("a\r\n.\r")]), "a\r\n");
  assertEquals(await text([enc("a\r\n.\r"), enc("x")]), "a\r\n.\rx");
  assertEquals(await text([enc("a\r\n.x\r\n.")]), "a\r\n.x\r\n");
  assertEquals(await text([enc(".")]), "");
  assertEquals(await text([]), "");
  assertEquals(await text([enc("last line without LF")]), "last line without LF");
  await assertRejects(
    () => text([], { requireTerminator: true }),
    ProtocolError,
    "before the terminating dot",
  );
});

Deno.test("readGopherText() passes long lines and binary bytes through", async () => {
  const long = new Uint8Array(1 << 20).fill(0x2e); // a megabyte of dots on one line
  const bytes = concat(enc("x"), long, enc("\r\n\0\xff\r\n.\r\n"));
  const reader = new BufferedReader(byteReaderOf(randomChunks(bytes, prng(3), 70000)));
  const out = new Uint8Array(await new Response(readGopherText(reader)).arrayBuffer());
  assertEquals(out, bytes.subarray(0, bytes.length - 3));
});

Deno.test("readGopherText() with dotTerminated false passes the dot line through", async () => {
  assertEquals(await text([enc("..a\r\n.\r\nb")], { dotTerminated: false }), "..a\r\n.\r\nb");
});

Deno.test("readGopherText() caps the text at maxSize", async () => {
  assertEquals(await text([enc("12345\r\n.\r\n")], { maxSize: 7 }), "12345\r\n");
  const e = await assertRejects(
    () => text([enc("123456\r\n.\r\n")], { maxSize: 7 }),
    ProtocolError,
  );
  assertEquals(e.code, "BODY_TOO_LARGE");
  assertEquals(e.message, "Cannot read gopher text: it exceeds 7 bytes");
});
