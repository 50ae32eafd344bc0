/**
 * The overview wire forms (RFC 3977 §8.3, §8.4) against INN 2.7's real
 * `LIST OVERVIEW.FMT` and `OVER` output (fixtures/nntp/*.bin), the
 * argument checks and date forms, and wildmat matching.
 */
import {
  checkMessageId,
  formatNntpDateTime,
  formatRange,
  isGroupName,
  isMessageId,
  parseNntpDateTime,
  parseNntpTimestamp,
} from "../../mail/_nntp_args.ts";
import {
  DEFAULT_OVERVIEW_FORMAT,
  overviewValue,
  parseOverviewFormat,
  parseOverviewLine,
} from "../../mail/_nntp_overview.ts";
import { compileWildmat } from "../../mail/_nntp_wildmat.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assert, assertEquals, assertFalse, assertThrows } from "../_helpers/assert.ts";
import { innFixture } from "./_nntp_helpers.ts";

function blockLines(fixture: string): string[] {
  const lines = fixture.split("\r\n");
  assertEquals(lines.pop(), "");
  assertEquals(lines.pop(), ".");
  return lines.slice(1);
}

Deno.test("parseOverviewFormat() reads INN's LIST OVERVIEW.FMT with legacy Bytes:/Lines:", () => {
  const format = parseOverviewFormat(blockLines(innFixture("list_overview_fmt.bin")));
  assertEquals(format.map((f) => f.name), [
    "Subject",
    "From",
    "Date",
    "Message-ID",
    "References",
    ":bytes",
    ":lines",
    "Xref",
  ]);
  assertEquals(format[7], { name: "Xref", metadata: false, full: true });
  assertEquals(format[5], { name: ":bytes", metadata: true, full: false });
});

Deno.test("parseOverviewFormat() reads the RFC 3977 form and extra metadata items", () => {
  const format = parseOverviewFormat([
    "Subject:",
    "From:",
    "Date:",
    "Message-ID:",
    "References:",
    ":bytes",
    ":lines",
    "Xref:full",
    "Distribution:full",
    ":x-arrived",
  ]);
  assertEquals(format.slice(8), [
    { name: "Distribution", metadata: false, full: true },
    { name: ":x-arrived", metadata: true, full: false },
  ]);
});

Deno.test("parseOverviewFormat() refuses a format that redefines the first seven fields", () => {
  for (
    const lines of [
      ["Subject:", "From:"],
      ["From:", "Subject:", "Date:", "Message-ID:", "References:", ":bytes", ":lines"],
      ["Subject:", "From:", "Date:", "Message-ID:", "References:", "Xref:full", ":lines"],
    ]
  ) {
    const error = assertThrows(() => parseOverviewFormat(lines), ProtocolError);
    assertEquals(error.code, "BAD_OVERVIEW_FORMAT");
  }
});

Deno.test("parseOverviewLine() parses INN's OVER output with its format", () => {
  const format = parseOverviewFormat(blockLines(innFixture("list_overview_fmt.bin")));
  const items = blockLines(innFixture("over.bin")).map((l) => parseOverviewLine(l, format));
  assertEquals(items.map((i) => [i.number, i.subject, i.bytes, i.lines]), [
    [1, "Welcome to comp.lang.python", 436, 2],
    [2, "Re: Welcome to comp.lang.python", 442, 1],
    [3, "Zen of Python", 427, 3],
  ]);
  assertEquals(items[0]!.references, "");
  assertEquals(items[1]!.references, "<peers-py-1@example.test>");
  assertEquals(items[2]!.extra.get("xref"), "news.example.test comp.lang.python:3");
});

Deno.test("parseOverviewLine() keeps a :full field without its name, and missing fields empty", () => {
  const format = parseOverviewFormat([
    ...DEFAULT_OVERVIEW_FORMAT.map((f) => (f.metadata ? f.name : `${f.name}:`)),
    "Xref:full",
    "Keywords:full",
  ]);
  const item = parseOverviewLine("9\ts\tf\td\t<m@x>\t\t10\t\txref: host g:9\tnot-named", format);
  assertEquals(item.lines, null);
  assertEquals(item.extra.get("xref"), "host g:9");
  assertEquals(item.extra.get("keywords"), "not-named");
  const short = parseOverviewLine("7\tonly subject", format);
  assertEquals([short.subject, short.from, short.bytes, short.extra.size], [
    "only subject",
    "",
    null,
    0,
  ]);
});

Deno.test("parseOverviewLine() refuses a line without an article number", () => {
  for (const line of ["", "x\ts", "-1\ts", "1e3\ts", " \ts"]) {
    const error = assertThrows(
      () => parseOverviewLine(line, DEFAULT_OVERVIEW_FORMAT),
      ProtocolError,
    );
    assertEquals(error.code, "BAD_OVERVIEW");
  }
});

Deno.test("overviewValue() unfolds and replaces TAB, CR, LF and NUL", () => {
  assertEquals(overviewValue("a\r\n\tb\tc\rd\ne\0f"), "a b c d e f");
});

// ---- arguments and dates --------------------------------------------------------

Deno.test("isMessageId() follows RFC 3977 §3.6", () => {
  for (const good of ["<a@b>", "<x>", "<peers-py-1@example.test>", `<${"a".repeat(248)}>`]) {
    assert(isMessageId(good), good);
  }
  for (const bad of ["a@b", "<>", "<a b>", "<a>b>", "<a\r\n>", `<${"a".repeat(249)}>`, "<é@x>"]) {
    assertFalse(isMessageId(bad), bad);
  }
  assertThrows(() => checkMessageId("x"), TypeError);
});

Deno.test("isGroupName() refuses white space, controls and wildmat characters", () => {
  assert(isGroupName("comp.lang.python"));
  assert(isGroupName("de.comp.sprachen.übersetzung"));
  for (const bad of ["", "a b", "a\tb", "a*", "a,b", "a?", "a[b]", "a\\b", "!a", "a\r\n"]) {
    assertFalse(isGroupName(bad), JSON.stringify(bad));
  }
});

Deno.test("formatRange() writes n, n- and n-m", () => {
  assertEquals(formatRange(5), "5");
  assertEquals(formatRange({ from: 5 }), "5-");
  assertEquals(formatRange({ from: 5, to: 9 }), "5-9");
  assertThrows(() => formatRange({ from: -1 }), RangeError);
  assertThrows(() => formatRange({ from: 1, to: 2 ** 31 }), RangeError);
});

Deno.test("formatNntpDateTime() and parseNntpDateTime() round-trip in UTC", () => {
  const date = new Date("2023-11-14T10:20:30Z");
  assertEquals(formatNntpDateTime(date), "20231114 102030 GMT");
  assertEquals(parseNntpDateTime("20231114", "102030")?.toISOString(), date.toISOString());
  assertEquals(parseNntpTimestamp("20231114102030")?.toISOString(), date.toISOString());
});

Deno.test("parseNntpDateTime() reads two-digit years within 50 years of now (RFC 3977 §7.3.2)", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  assertEquals(parseNntpDateTime("231114", "000000", now)?.getUTCFullYear(), 2023);
  assertEquals(parseNntpDateTime("991231", "235959", now)?.getUTCFullYear(), 1999);
  assertEquals(parseNntpDateTime("761231", "000000", now)?.getUTCFullYear(), 2076);
  assertEquals(parseNntpDateTime("771231", "000000", now)?.getUTCFullYear(), 1977);
});

Deno.test("parseNntpDateTime() refuses impossible dates", () => {
  for (
    const [d, t] of [
      ["20231314", "000000"],
      ["20230230", "000000"],
      ["2023111", "000000"],
      [
        "20231114",
        "250000",
      ],
      ["20231114", "1000"],
      ["2023-11-", "000000"],
    ]
  ) {
    assertEquals(parseNntpDateTime(d!, t!), null, `${d} ${t}`);
  }
});

// ---- wildmats ----------------------------------------------------------------------

Deno.test("compileWildmat() matches *, ? and classes; the last matching pattern decides", () => {
  const match = compileWildmat("comp.*,!comp.os.*,comp.os.linux")!;
  assert(match("comp.lang.python"));
  assertFalse(match("comp.os.ms-windows"));
  assert(match("comp.os.linux"));
  assertFalse(match("alt.test"));
  assert(compileWildmat("a?c")!("abc"));
  assertFalse(compileWildmat("a?c")!("ac"));
  assert(compileWildmat("[a-c]x")!("bx"));
  assertFalse(compileWildmat("[^a-c]x")!("bx"));
  assert(compileWildmat("[]]")!("]"));
  assert(compileWildmat("a\\*")!("a*"));
  assertFalse(compileWildmat("a\\*")!("ab"));
  assert(compileWildmat("*")!("anything.at.all"));
  assert(compileWildmat("*.über")!("de.über"));
});

Deno.test("compileWildmat() refuses malformed wildmats", () => {
  for (const bad of ["", "a,", "!", "[abc", "a\\", "x".repeat(2000)]) {
    assertEquals(compileWildmat(bad), null, bad);
  }
});

Deno.test("compileWildmat() stays linear on patterns built to backtrack", () => {
  const match = compileWildmat("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b")!;
  const started = performance.now();
  assertFalse(match("a".repeat(400)));
  assert(performance.now() - started < 500);
});
