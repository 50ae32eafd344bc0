import { formatFtpTime, ftpZone, inferListingYear, parseFtpTime } from "../../net/_ftp_time.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("parseFtpTime() reads RFC 3659 time values in UTC", () => {
  const cases: [string, string][] = [
    ["20231114221320", "2023-11-14T22:13:20.000Z"],
    ["19940916055648", "1994-09-16T05:56:48.000Z"],
    ["20231114221320.1", "2023-11-14T22:13:20.100Z"],
    ["20231114221320.25", "2023-11-14T22:13:20.250Z"],
    ["20231114221320.123456", "2023-11-14T22:13:20.123Z"],
    ["20240229000000", "2024-02-29T00:00:00.000Z"],
    ["00010101000000", "0001-01-01T00:00:00.000Z"],
    ["00990101000000", "0099-01-01T00:00:00.000Z"],
    // A leap second reads as the next minute.
    ["20161231235960", "2017-01-01T00:00:00.000Z"],
  ];
  for (const [text, iso] of cases) assertEquals(parseFtpTime(text)?.toISOString(), iso, text);
});

Deno.test("parseFtpTime() rejects malformed and out-of-range values", () => {
  const bad = [
    "",
    "2023111422132",
    "202311142213201",
    "20231114221320.",
    "2023-11-14T22:13:20",
    " 20231114221320",
    "20231114221320Z",
    "20230014221320",
    "20231314221320",
    "20231100221320",
    "20231131221320",
    "20230229000000",
    "21000229000000",
    "20231114241320",
    "20231114226020",
    "20231114221361",
    "2023111422132x",
  ];
  for (const text of bad) assertEquals(parseFtpTime(text), null, text);
});

Deno.test("formatFtpTime() writes UTC time values that parseFtpTime() reads back", () => {
  const date = new Date("2023-11-14T22:13:20.250Z");
  assertEquals(formatFtpTime(date), "20231114221320");
  assertEquals(formatFtpTime(date, { milliseconds: true }), "20231114221320.250");
  assertEquals(
    formatFtpTime(new Date("2023-11-14T22:13:20Z"), { milliseconds: true }),
    "20231114221320",
  );
  assertEquals(
    formatFtpTime(new Date("2023-11-14T22:13:20.007Z"), { milliseconds: true }),
    "20231114221320.007",
  );
  assertEquals(formatFtpTime(new Date("0005-01-02T03:04:05Z")), "00050102030405");
  for (
    const iso of [
      "1970-01-01T00:00:00.000Z",
      "2038-01-19T03:14:08.999Z",
      "9999-12-31T23:59:59.999Z",
    ]
  ) {
    const d = new Date(iso);
    assertEquals(parseFtpTime(formatFtpTime(d, { milliseconds: true }))?.toISOString(), iso);
  }
  assertThrows(() => formatFtpTime(new Date(NaN)), RangeError, "invalid");
  assertThrows(() => formatFtpTime(new Date("+010000-01-01T00:00:00Z")), RangeError, "year 10000");
  assertThrows(() => formatFtpTime(new Date("-000001-01-01T00:00:00Z")), RangeError, "year -1");
});

Deno.test("ftpZone() maps wall-clock times in fixed and IANA zones", () => {
  const at = (zone: string, ...wall: [number, number, number, number, number, number]) =>
    ftpZone(zone).toDate(...wall)?.toISOString();
  assertEquals(at("UTC", 2023, 11, 14, 22, 13, 0), "2023-11-14T22:13:00.000Z");
  assertEquals(at("Z", 2023, 11, 14, 22, 13, 0), "2023-11-14T22:13:00.000Z");
  assertEquals(at("+05:30", 2023, 11, 14, 22, 13, 0), "2023-11-14T16:43:00.000Z");
  assertEquals(at("-0800", 2023, 11, 14, 22, 13, 0), "2023-11-15T06:13:00.000Z");
  assertEquals(at("Europe/Berlin", 2023, 1, 1, 0, 0, 0), "2022-12-31T23:00:00.000Z");
  assertEquals(at("Europe/Berlin", 2023, 7, 1, 0, 0, 0), "2023-06-30T22:00:00.000Z");
  assertEquals(at("America/Los_Angeles", 2023, 3, 12, 12, 0, 0), "2023-03-12T19:00:00.000Z");
  // Around the change to summer time: 01:59 is CET, 03:00 CEST; 02:30 does not exist.
  assertEquals(at("Europe/Berlin", 2023, 3, 26, 1, 59, 0), "2023-03-26T00:59:00.000Z");
  assertEquals(at("Europe/Berlin", 2023, 3, 26, 3, 0, 0), "2023-03-26T01:00:00.000Z");
  const gap = ftpZone("Europe/Berlin").toDate(2023, 3, 26, 2, 30, 0)!.getTime();
  const within = Math.abs(gap - Date.parse("2023-03-26T01:30:00Z")) <= 3_600_000;
  assertEquals(within, true);
  assertEquals(at("UTC", 2023, 2, 29, 0, 0, 0), undefined);
  assertEquals(at("UTC", 2023, 13, 1, 0, 0, 0), undefined);
  assertThrows(() => ftpZone("Nowhere/Special"), RangeError, "unknown time zone");
  assertThrows(() => ftpZone("+24:00"), RangeError, "offset out of range");
});

Deno.test("inferListingYear() picks the latest year not more than 183 days ahead", () => {
  const utc = ftpZone("UTC");
  const year = (now: string, month: number, day: number) =>
    inferListingYear(utc, new Date(now), month, day, 12, 0)?.getUTCFullYear();
  assertEquals(year("2026-12-03T00:00:00Z", 12, 1), 2026);
  assertEquals(year("2026-12-03T00:00:00Z", 6, 3), 2027);
  assertEquals(year("2026-12-03T00:00:00Z", 6, 5), 2026);
  assertEquals(year("2027-01-01T00:00:00Z", 12, 31), 2026);
  assertEquals(year("2026-12-03T00:00:00Z", 2, 29), 2024);
  assertEquals(year("2027-01-01T00:00:00Z", 2, 30), undefined);
});
