import { formatUidlist, parseDovecotUidlist, parseUidlist } from "../../mail/_maildir_uidlist.ts";
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
    "inetkit-uidlist 1 V1700000000 N8 R7\n3\t12\t1600000000\ta,S=10,W=12\t\n" +
      "7\t5\t1600000001\tb with space\t$Forwarded Work\n",
  );
  const parsed = parseUidlist(text)!;
  assertEquals([parsed.uidValidity, parsed.uidNext, parsed.firstRecent], [1700000000, 8, 7]);
  assertEquals([...parsed.entries.keys()], ["a,S=10,W=12", "b with space"]);
  assertEquals(parsed.entries.get("b with space")?.keywords, ["$Forwarded", "Work"]);
});

Deno.test("parseUidlist() refuses torn, foreign and inconsistent files", () => {
  const good = formatUidlist(HEADER, RECORDS);
  for (
    const bad of [
      "",
      good.slice(0, -1),
      good.slice(0, -10),
      good.replace("inetkit-uidlist 1", "inetkit-uidlist 2"),
      good.replace("N8", "N7"),
      good.replace("V1700000000", "V0"),
      good.replace("R7", "R9"),
      good.replace("7\t5", "3\t5"),
      good.replace("\t12\t", "\tx\t"),
      good + "\0\0\0\0\n",
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
