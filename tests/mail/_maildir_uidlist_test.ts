import {
  formatUidlist,
  formatUidlistEntry,
  parseDovecotUidlist,
  parseUidlist,
} from "../../mail/_maildir_uidlist.ts";
import { assertEquals } from "../_helpers/assert.ts";

const HEADER = { uidValidity: 1700000000, uidNext: 8, firstRecent: 7 };
const RECORDS = [
  { uid: 3, base: "a,S=10,W=12", size: 12, internalDate: 1_600_000_000_000, keywords: [] },
  {
    uid: 7,
    base: "b with space",
    size: 5,
    internalDate: 1_600_000_001_000,
    keywords: ["$Forwarded", "Work"],
  },
];

Deno.test("formatUidlist() and parseUidlist() round-trip", () => {
  const text = formatUidlist(HEADER, RECORDS);
  assertEquals(
    text,
    "inetkit-uidlist 2 V1700000000 N8 R7\n3\t12\t1600000000\ta,S=10,W=12\t\n" +
      "7\t5\t1600000001\tb with space\t$Forwarded Work\n",
  );
  const parsed = parseUidlist(text)!;
  assertEquals([parsed.uidValidity, parsed.uidNext, parsed.firstRecent], [1700000000, 8, 7]);
  assertEquals([...parsed.entries.keys()], ["a,S=10,W=12", "b with space"]);
  assertEquals(parsed.entries.get("b with space")?.keywords, ["$Forwarded", "Work"]);
  assertEquals([parsed.lines, parsed.torn], [2, false]);
});

Deno.test("parseUidlist() reads version 1 files", () => {
  const v1 = formatUidlist(HEADER, RECORDS).replace("inetkit-uidlist 2", "inetkit-uidlist 1");
  const parsed = parseUidlist(v1)!;
  assertEquals([parsed.uidNext, [...parsed.entries.values()].map((e) => e.uid)], [8, [3, 7]]);
  // Version 1 was always replaced whole: a missing LF is damage, as is a UID at uidNext.
  assertEquals(parseUidlist(v1.slice(0, -1)), undefined);
  assertEquals(parseUidlist(v1.replace("N8", "N7")), undefined);
});

Deno.test("parseUidlist() applies appended entries, removals, R and N lines in order", () => {
  const text = formatUidlist(HEADER, RECORDS) +
    formatUidlistEntry({ uid: 9, base: "c", size: 1, internalDate: 0, keywords: [] }) +
    formatUidlistEntry({
      uid: 3,
      base: "a,S=10,W=12",
      size: 12,
      internalDate: 0,
      keywords: ["K"],
    }) +
    "-7\nR10\n-12\n" +
    formatUidlistEntry({ uid: 13, base: "d", size: 2, internalDate: 0, keywords: [] }) +
    "N20\n";
  const parsed = parseUidlist(text)!;
  assertEquals([...parsed.entries].map(([base, e]) => [base, e.uid, e.keywords]), [
    ["a,S=10,W=12", 3, ["K"]],
    ["c", 9, []],
    ["d", 13, []],
  ]);
  assertEquals([parsed.uidNext, parsed.firstRecent, parsed.lines], [20, 10, 9]);
  // A removed UID above every message still counts: the next UID never goes back.
  assertEquals(parseUidlist(formatUidlist(HEADER, RECORDS) + "-30\n")?.uidNext, 31);
  // An appended message raises the next UID past the header's.
  assertEquals(parseUidlist(text.slice(0, text.indexOf("-7")))?.uidNext, 10);
});

Deno.test("parseUidlist() ignores a last line an interrupted append left without LF", () => {
  const good = formatUidlist(HEADER, RECORDS);
  for (const tail of ["9\t1\t16", "-", "R1", "\0\0\0\0"]) {
    const parsed = parseUidlist(good + tail)!;
    assertEquals([parsed.torn, parsed.entries.size, parsed.uidNext], [true, 2, 8], tail);
  }
  // A cut inside the last complete-looking entry line drops just that line.
  const cut = parseUidlist(good.slice(0, -10))!;
  assertEquals([cut.torn, [...cut.entries.keys()]], [true, ["a,S=10,W=12"]]);
});

Deno.test("parseUidlist() refuses foreign and inconsistent files", () => {
  const good = formatUidlist(HEADER, RECORDS);
  for (
    const bad of [
      "",
      "inetkit-uidlist 2 V1700000000 N8 R7",
      good.replace("inetkit-uidlist 2", "inetkit-uidlist 3"),
      good.replace("V1700000000", "V0"),
      good.replace("R7", "R9"),
      good.replace("7\t5", "3\t5"),
      good.replace("\t12\t", "\tx\t"),
      good + "\0\0\0\0\n",
      good + "2\t1\t1\tz\t\n",
      good + "9\t1\t1\ta,S=10,W=12\t\n",
      good + "7\t5\t1\tanother base\t\n",
      good + "-x\n",
      good + "R99\n",
      "3 V1 N2\n",
    ]
  ) {
    assertEquals(parseUidlist(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("parseDovecotUidlist() reads versions 3 and 1", () => {
  const v3 = parseDovecotUidlist("3 V1796297559 N19 Gabc\n1 :x.peers\n18 W1613 :y.vm:2,S\n")!;
  assertEquals([v3.uidValidity, v3.uidNext], [1796297559, 19]);
  assertEquals([...v3.entries], [["x.peers", { uid: 1, size: undefined }], ["y.vm", {
    uid: 18,
    size: 1613,
  }]]);
  const v1 = parseDovecotUidlist("1 42 5\n4 z.host\n")!;
  assertEquals([v1.uidValidity, v1.uidNext, v1.entries.get("z.host")?.uid], [42, 5, 4]);
  assertEquals(parseDovecotUidlist("3 V1 N2\n5 :too-high\n"), undefined);
  assertEquals(parseDovecotUidlist("2 whatever\n"), undefined);
});
