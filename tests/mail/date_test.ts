import { formatMailDate, parseMailDate } from "../../mail/date.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

const iso = (value: string): string => parseMailDate(value).toISOString();

Deno.test("parseMailDate() reads RFC 5322 dates with numeric zones", () => {
  assertEquals(iso("Fri, 21 Nov 1997 09:55:06 -0600"), "1997-11-21T15:55:06.000Z");
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 +0200"), "2003-07-01T08:52:37.000Z");
  assertEquals(iso("Thu, 13 Feb 1969 23:32:54 -0330"), "1969-02-14T03:02:54.000Z");
  assertEquals(iso("1 Jul 2003 10:52:37 +0000"), "2003-07-01T10:52:37.000Z");
  assertEquals(iso("Tue, 01 Jul 2003 10:52 +0000"), "2003-07-01T10:52:00.000Z");
  assertEquals(iso("  Tue ,  1  Jul  2003  10:52:37  +0200  "), "2003-07-01T08:52:37.000Z");
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 +0200 (CEST)"), "2003-07-01T08:52:37.000Z");
  assertEquals(iso("Tue,\r\n 1 Jul 2003 10:52:37 +0200"), "2003-07-01T08:52:37.000Z");
  assertEquals(iso("Sat, 31 Dec 2016 23:59:60 +0000"), "2016-12-31T23:59:59.000Z");
});

Deno.test("parseMailDate() reads obsolete zones and years (RFC 5322 §4.3)", () => {
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 GMT"), "2003-07-01T10:52:37.000Z");
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 UT"), "2003-07-01T10:52:37.000Z");
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 EST"), "2003-07-01T15:52:37.000Z");
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 edt"), "2003-07-01T14:52:37.000Z");
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 CST"), "2003-07-01T16:52:37.000Z");
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 MDT"), "2003-07-01T16:52:37.000Z");
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 PST"), "2003-07-01T18:52:37.000Z");
  // Military zones, unknown names and a missing zone mean -0000.
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 Z"), "2003-07-01T10:52:37.000Z");
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 A"), "2003-07-01T10:52:37.000Z");
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37 CEST"), "2003-07-01T10:52:37.000Z");
  assertEquals(iso("Tue, 1 Jul 2003 10:52:37"), "2003-07-01T10:52:37.000Z");
  assertEquals(iso("1 Jul 03 10:52:37 +0000"), "2003-07-01T10:52:37.000Z");
  assertEquals(iso("1 Jul 49 10:52:37 +0000"), "2049-07-01T10:52:37.000Z");
  assertEquals(iso("1 Jul 50 10:52:37 +0000"), "1950-07-01T10:52:37.000Z");
  assertEquals(iso("1 Jul 97 10:52:37 +0000"), "1997-07-01T10:52:37.000Z");
  assertEquals(iso("1 Jul 103 10:52:37 +0000"), "2003-07-01T10:52:37.000Z");
  assertEquals(iso("Tuesday, 1 July 2003 10:52:37 +0000"), "2003-07-01T10:52:37.000Z");
  assertEquals(iso("Tue, Jul 1 2003 10:52:37 +0000"), "2003-07-01T10:52:37.000Z");
});

Deno.test("parseMailDate() refuses what is not a date with ProtocolError BAD_DATE", () => {
  for (
    const value of [
      "",
      "yesterday",
      "Tue, 32 Jul 2003 10:52:37 +0000",
      "Tue, 29 Feb 2003 10:52:37 +0000",
      "Tue, 1 Foo 2003 10:52:37 +0000",
      "Tue, 1 Jul 2003 24:00:00 +0000",
      "Tue, 1 Jul 2003 10:60:00 +0000",
      "Tue, 1 Jul 2003 10:52:37 +0260",
      "Tue, 1 Jul 2003 10:52:37 +02",
      "Tue, 1 Jul 2003 10.52.37 +0000",
      "Tue, 1 Jul 2003 10:52:37 +0000 extra",
      "Tue, 1 Jul 1899 10:52:37 +0000",
      "Tue, 1 Jul 2003 10:52:37 +0000 (open",
      "x".repeat(2000),
    ]
  ) {
    const error = assertThrows(() => parseMailDate(value), ProtocolError);
    assertEquals(error.code, "BAD_DATE", value);
  }
  assertEquals(iso("Sun, 29 Feb 2004 00:00:00 +0000"), "2004-02-29T00:00:00.000Z");
});

Deno.test("formatMailDate() writes RFC 5322 dates in UTC or a given zone, and reads back", () => {
  const date = new Date("2003-07-01T08:52:37Z");
  assertEquals(formatMailDate(date), "Tue, 01 Jul 2003 08:52:37 +0000");
  assertEquals(formatMailDate(date, { offset: 120 }), "Tue, 01 Jul 2003 10:52:37 +0200");
  assertEquals(formatMailDate(date, { offset: -570 }), "Mon, 30 Jun 2003 23:22:37 -0930");
  const local = formatMailDate(date, { offset: "local" });
  assertEquals(parseMailDate(local).getTime(), date.getTime());
  for (let t = 0; t < 4e12; t += 123456789013) {
    for (const offset of [0, 60, -300, 345, -720, 840]) {
      const d = new Date(t - (t % 1000));
      assertEquals(parseMailDate(formatMailDate(d, { offset })).getTime(), d.getTime());
    }
  }
  assertThrows(() => formatMailDate(new Date(NaN)), RangeError);
  assertThrows(() => formatMailDate(date, { offset: 1440 }), RangeError);
  assertThrows(() => formatMailDate(date, { offset: 1.5 }), RangeError);
  assertThrows(() => formatMailDate(new Date("1800-01-01T00:00:00Z")), RangeError);
});
