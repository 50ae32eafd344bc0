import {
  type FtpFileInfo,
  type FtpListing,
  isSafeFtpListingName,
  parseFtpList,
  parseFtpListLine,
  parseMlsd,
  parseMlsxLine,
} from "../../net/ftp_list.ts";
import { FtpListingBuilder, readFtpListing } from "../../net/_ftp_listing.ts";
import { BufferedReader } from "../../net/buffered_reader.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { readReply } from "../../net/reply.ts";
import { assert, assertEquals, assertLessOrEqual, assertThrows } from "../_helpers/assert.ts";
import { bytewise, splits, streamOf } from "../_helpers/scripted_peer.ts";
import { prng, randomChunks } from "../_helpers/sources.ts";

const encoder = new TextEncoder();
const fixtures = new URL("./fixtures/ftp/", import.meta.url);

function fixture(name: string): string {
  return Deno.readTextFileSync(new URL(name, fixtures));
}

function fixtureBytes(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, fixtures));
}

/** The fields worth comparing, with the date as ISO text. */
interface Summary {
  name: string;
  type: string;
  size?: number;
  modified?: string;
  mode?: string;
  perm?: string;
  owner?: string;
  group?: string;
  target?: string;
}

function summary(entry: FtpFileInfo | null): Summary | null {
  if (entry === null) return null;
  const out: Summary = { name: entry.name, type: entry.type };
  if (entry.size !== undefined) out.size = entry.size;
  if (entry.modified !== undefined) out.modified = entry.modified.toISOString();
  if (entry.permissions?.mode !== undefined) out.mode = entry.permissions.mode.toString(8);
  if (entry.permissions?.perm !== undefined) out.perm = entry.permissions.perm;
  if (entry.owner !== undefined) out.owner = entry.owner;
  if (entry.group !== undefined) out.group = entry.group;
  if (entry.target !== undefined) out.target = entry.target;
  return out;
}

const NOW = new Date("2026-12-03T12:00:00Z");

// --- vsftpd (captured from the peer, see fixtures/ftp/README.md) ------------------

Deno.test("parseFtpList() reads vsftpd LIST -la of the root, dropping . and ..", () => {
  const text = fixture("vsftpd_list_la_root.txt");
  const listing = parseFtpList(text, { now: NOW });
  const dir = (name: string): Summary => ({
    name,
    type: "directory",
    size: 4096,
    modified: "2023-11-14T00:00:00.000Z",
    mode: "755",
    owner: "1001",
    group: "1001",
  });
  assertEquals(listing.entries.map(summary), [
    dir("pub"),
    {
      name: "readme.txt",
      type: "file",
      size: 35,
      modified: "2023-11-14T00:00:00.000Z",
      mode: "644",
      owner: "1001",
      group: "1001",
    },
    // The capture script made and removed a scratch directory in upload/.
    { ...dir("upload"), modified: "2026-12-03T11:46:00.000Z" },
  ]);
  assertEquals(listing.skipped, 0);
  assertEquals(
    listing.entries[1]!.raw,
    "-rw-r--r--    1 1001     1001           35 Nov 14  2023 readme.txt",
  );
  const all = parseFtpList(text, { now: NOW, includeCurrentAndParent: true });
  assertEquals(all.entries.map((e) => e.name), [".", "..", "pub", "readme.txt", "upload"]);
});

Deno.test("parseFtpList() reads vsftpd LIST of the root and of pub/", () => {
  assertEquals(
    parseFtpList(fixture("vsftpd_list_root.txt")).entries.map((e) => [e.name, e.type]),
    [["pub", "directory"], ["readme.txt", "file"], ["upload", "directory"]],
  );
  const pub = parseFtpList(fixture("vsftpd_list_la_pub.txt"), { now: NOW });
  assertEquals(pub.entries.map((e) => [e.name, e.size]), [
    ["1mb-A.bin", 1048576],
    ["bytes-1024.bin", 1024],
    ["hello.txt", 13],
  ]);
  assert(pub.entries.every((e) => e.modified?.toISOString() === "2023-11-14T00:00:00.000Z"));
});

Deno.test("parseFtpList() reads vsftpd's recent dates, a leading space, spaces and UTF-8", () => {
  // Captured at 2026-12-03T11:46:09Z; vsftpd lists in UTC (use_localtime=NO).
  const now = new Date("2026-12-03T11:46:09Z");
  const listing = parseFtpList(fixtureBytes("vsftpd_list_la_recent.txt"), { now });
  const at = "2026-12-03T11:46:00.000Z";
  const common = { modified: at, owner: "1001", group: "1001" };
  assertEquals(listing.entries.map(summary), [
    { name: " lead.txt", type: "file", size: 3, mode: "644", ...common },
    { name: "café.txt", type: "file", size: 1, mode: "644", ...common },
    { name: "sub dir", type: "directory", size: 4096, mode: "755", ...common },
    { name: "with space.txt", type: "file", size: 5, mode: "644", ...common },
  ]);
  // A month later the same "Dec 03" is still last year's December 3rd... of 2026.
  const later = parseFtpList(fixture("vsftpd_list_la_recent.txt"), {
    now: new Date("2027-01-10T00:00:00Z"),
  });
  assertEquals(later.entries[0]!.modified?.toISOString(), at);
});

// --- other servers (hand-written fixtures, see fixtures/ftp/README.md) -------------

Deno.test("parseFtpList() reads ProFTPD-style output with a symlink and a group name", () => {
  const listing = parseFtpList(fixture("proftpd_list.txt"), { now: NOW });
  const ids = { owner: "mulder", group: "mulder" };
  assertEquals(listing.entries.map(summary), [
    {
      name: "latest",
      type: "symlink",
      size: 13,
      modified: "2026-12-01T09:30:00.000Z",
      mode: "777",
      ...ids,
      target: "pub/1mb-A.bin",
    },
    {
      name: "pub",
      type: "directory",
      size: 4096,
      modified: "2026-12-01T09:30:00.000Z",
      mode: "755",
      ...ids,
    },
    {
      name: "readme.txt",
      type: "file",
      size: 35,
      modified: "2023-11-14T00:00:00.000Z",
      mode: "644",
      ...ids,
    },
    {
      name: "upload",
      type: "directory",
      size: 4096,
      modified: "2024-01-05T00:00:00.000Z",
      mode: "775",
      owner: "mulder",
      group: "ftpusers",
    },
    {
      // Jun 30 is 156 days before now: this year.
      name: "big file.bin",
      type: "file",
      size: 1048576,
      modified: "2026-06-30T23:59:00.000Z",
      mode: "644",
      ...ids,
    },
  ]);
  assertEquals(listing.skipped, 0);
});

Deno.test("parseFtpList() reads Pure-FTPd-style output with a leap day and UTF-8", () => {
  const listing = parseFtpList(fixture("pure-ftpd_list.txt"), { now: NOW });
  assertEquals(listing.entries.map((e) => [e.name, e.size, e.modified?.toISOString()]), [
    ["pub", 4096, "2026-12-01T09:30:00.000Z"],
    ["readme.txt", 35, "2023-11-14T00:00:00.000Z"],
    ["leap.bin", 123456789, "2024-02-29T00:00:00.000Z"],
    ["café crème.txt", 0, "2026-09-09T01:46:00.000Z"],
  ]);
});

Deno.test("parseFtpList() reads BusyBox-style output with total, a device and a socket", () => {
  const listing = parseFtpList(fixture("busybox_list.txt"), { now: NOW });
  assertEquals(listing.entries.map(summary), [
    {
      name: "pub",
      type: "directory",
      size: 4096,
      modified: "2026-12-01T09:30:00.000Z",
      mode: "755",
      owner: "0",
      group: "0",
    },
    {
      name: "readme.txt",
      type: "file",
      size: 35,
      modified: "2023-11-14T00:00:00.000Z",
      mode: "644",
      owner: "0",
      group: "0",
    },
    {
      name: "sh",
      type: "symlink",
      size: 12,
      modified: "2023-11-14T00:00:00.000Z",
      mode: "777",
      owner: "0",
      group: "0",
      target: "/bin/busybox",
    },
    {
      name: "null",
      type: "unknown",
      modified: "2023-11-14T00:00:00.000Z",
      mode: "666",
      owner: "0",
      group: "0",
    },
    {
      name: "ctl.sock",
      type: "unknown",
      size: 0,
      modified: "2026-12-02T17:05:00.000Z",
      mode: "755",
      owner: "0",
      group: "0",
    },
  ]);
  // "total 12" is a known non-entry, not a skipped line.
  assertEquals(listing.skipped, 0);
});

Deno.test("parseFtpList() reads IIS DOS-style output with both year forms and AM/PM", () => {
  const listing = parseFtpList(fixture("iis_dos_list.txt"), { now: NOW });
  assertEquals(listing.entries.map(summary), [
    { name: "pub", type: "directory", modified: "2023-11-14T22:13:00.000Z" },
    { name: "readme.txt", type: "file", size: 35, modified: "2023-11-14T22:13:00.000Z" },
    { name: "hello world.txt", type: "file", size: 13, modified: "2026-12-01T09:30:00.000Z" },
    { name: "old.bin", type: "file", size: 1024, modified: "1999-01-02T00:00:00.000Z" },
    { name: "New folder", type: "directory", modified: "2026-06-15T12:05:00.000Z" },
    { name: "file.txt", type: "file", size: 1234, modified: "2023-11-14T22:13:00.000Z" },
    { name: "four digit dir", type: "directory", modified: "2023-11-14T22:13:00.000Z" },
  ]);
  assertEquals(listing.skipped, 0);
});

// --- single Unix lines ----------------------------------------------------------------

Deno.test("parseFtpListLine() reads the Unix variants", () => {
  const cases: [string, string, Summary | null][] = [
    [
      "device file with major, minor",
      "crw-r--r--    1 root     root       1,   3 Nov 14  2023 null",
      {
        name: "null",
        type: "unknown",
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "root",
        group: "root",
      },
    ],
    [
      "block device with major,minor in one token",
      "brw-rw----    1 root     disk       8,0 Dec  1 09:30 sda",
      {
        name: "sda",
        type: "unknown",
        modified: "2026-12-01T09:30:00.000Z",
        mode: "660",
        owner: "root",
        group: "disk",
      },
    ],
    [
      "POSIX ACL mark",
      "-rw-r--r--+   1 mulder   staff          13 Nov 14  2023 acl.txt",
      {
        name: "acl.txt",
        type: "file",
        size: 13,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "mulder",
        group: "staff",
      },
    ],
    [
      "SELinux mark",
      "-rw-r--r--.   1 mulder   mulder         13 Nov 14  2023 selinux.txt",
      {
        name: "selinux.txt",
        type: "file",
        size: 13,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "mulder",
        group: "mulder",
      },
    ],
    [
      "macOS extended attribute mark",
      "-rw-r--r--@   1 mulder   staff          13 Nov 14  2023 xattr.txt",
      {
        name: "xattr.txt",
        type: "file",
        size: 13,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "mulder",
        group: "staff",
      },
    ],
    [
      "missing group column",
      "-rw-r--r--   1 mulder        13 Nov 14  2023 nogroup.txt",
      {
        name: "nogroup.txt",
        type: "file",
        size: 13,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "mulder",
      },
    ],
    [
      "missing links column",
      "-rw-r--r-- mulder mulder 13 Nov 14  2023 nolinks.txt",
      {
        name: "nolinks.txt",
        type: "file",
        size: 13,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "mulder",
        group: "mulder",
      },
    ],
    [
      "group with a space",
      "drwxr-xr-x   1 owner    Domain Users        0 Nov 14  2023 shared",
      {
        name: "shared",
        type: "directory",
        size: 0,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "755",
        owner: "owner",
        group: "Domain Users",
      },
    ],
    [
      "owner named like a month",
      "-rw-r--r--   1 jan      dec            13 Nov 14  2023 months.txt",
      {
        name: "months.txt",
        type: "file",
        size: 13,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "jan",
        group: "dec",
      },
    ],
    [
      "a date-like name is kept whole",
      "-rw-r--r--   1 u g 1 Nov 14  2023 Dec 25 2020 backup",
      {
        name: "Dec 25 2020 backup",
        type: "file",
        size: 1,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "u",
        group: "g",
      },
    ],
    [
      "leading and trailing spaces in the name",
      "-rw-r--r--   1 u g 1 Dec  1 09:30   spaced  ",
      {
        name: "  spaced  ",
        type: "file",
        size: 1,
        modified: "2026-12-01T09:30:00.000Z",
        mode: "644",
        owner: "u",
        group: "g",
      },
    ],
    [
      "setuid, setgid and sticky bits",
      "-rwsr-sr-t   1 root root 1 Nov 14  2023 special",
      {
        name: "special",
        type: "file",
        size: 1,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "7755",
        owner: "root",
        group: "root",
      },
    ],
    [
      "capital S and T without execute",
      "drwSr-Sr-T   1 root root 1 Nov 14  2023 odd",
      {
        name: "odd",
        type: "directory",
        size: 1,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "7644",
        owner: "root",
        group: "root",
      },
    ],
    [
      "sticky world-writable directory",
      "drwxrwxrwt  10 root root 4096 Dec  3 11:00 tmp",
      {
        name: "tmp",
        type: "directory",
        size: 4096,
        modified: "2026-12-03T11:00:00.000Z",
        mode: "1777",
        owner: "root",
        group: "root",
      },
    ],
    [
      "named pipe",
      "prw-r--r--   1 root root 0 Dec  3 11:00 fifo",
      {
        name: "fifo",
        type: "unknown",
        size: 0,
        modified: "2026-12-03T11:00:00.000Z",
        mode: "644",
        owner: "root",
        group: "root",
      },
    ],
    [
      "an arrow in a file name is part of the name",
      "-rw-r--r--   1 u g 1 Nov 14  2023 a -> b",
      {
        name: "a -> b",
        type: "file",
        size: 1,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "u",
        group: "g",
      },
    ],
    [
      "symlink target with an arrow splits at the first one",
      "lrwxrwxrwx   1 u g 1 Nov 14  2023 link -> x -> y",
      {
        name: "link",
        type: "symlink",
        size: 1,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "777",
        owner: "u",
        group: "g",
        target: "x -> y",
      },
    ],
    [
      "long-iso dates",
      "-rw-r--r-- 1 mulder mulder 13 2023-11-14 22:13 iso.txt",
      {
        name: "iso.txt",
        type: "file",
        size: 13,
        modified: "2023-11-14T22:13:00.000Z",
        mode: "644",
        owner: "mulder",
        group: "mulder",
      },
    ],
    [
      "full-iso dates with an offset",
      "-rw-r--r-- 1 mulder mulder 13 2023-11-14 23:13:20.250000000 +0100 full.txt",
      {
        name: "full.txt",
        type: "file",
        size: 13,
        modified: "2023-11-14T22:13:20.250Z",
        mode: "644",
        owner: "mulder",
        group: "mulder",
      },
    ],
    [
      "full-iso date with an impossible offset loses only the date",
      "-rw-r--r-- 1 mulder mulder 13 2023-11-14 23:13:20 +9999 offset.txt",
      {
        name: "offset.txt",
        type: "file",
        size: 13,
        mode: "644",
        owner: "mulder",
        group: "mulder",
      },
    ],
    [
      "seconds in the time",
      "-rw-r--r-- 1 u g 13 Dec  1 09:30:15 secs.txt",
      {
        name: "secs.txt",
        type: "file",
        size: 13,
        modified: "2026-12-01T09:30:15.000Z",
        mode: "644",
        owner: "u",
        group: "g",
      },
    ],
    [
      "a size beyond 2^53 is left out",
      "-rw-r--r-- 1 u g 99999999999999999999 Nov 14  2023 huge",
      {
        name: "huge",
        type: "file",
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "u",
        group: "g",
      },
    ],
    [
      "an impossible date leaves the date out",
      "-rw-r--r-- 1 u g 1 Feb 30  2023 feb30",
      { name: "feb30", type: "file", size: 1, mode: "644", owner: "u", group: "g" },
    ],
    [
      "a CR at the end is dropped",
      "-rw-r--r-- 1 u g 1 Nov 14  2023 cr\r",
      {
        name: "cr",
        type: "file",
        size: 1,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "u",
        group: "g",
      },
    ],
    [
      "hostile names are returned as sent",
      "-rw-r--r-- 1 u g 1 Nov 14  2023 ../../etc/passwd",
      {
        name: "../../etc/passwd",
        type: "file",
        size: 1,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "u",
        group: "g",
      },
    ],
    ["total line", "total 12", null],
    ["blank line", "   ", null],
    ["empty line", "", null],
    ["no name after the date", "-rw-r--r-- 1 u g 1 Nov 14  2023", null],
    ["no name after the date but a space", "-rw-r--r-- 1 u g 1 Nov 14  2023 ", null],
    [
      "a name that is one space",
      "-rw-r--r-- 1 u g 1 Nov 14  2023  ",
      {
        name: " ",
        type: "file",
        size: 1,
        modified: "2023-11-14T00:00:00.000Z",
        mode: "644",
        owner: "u",
        group: "g",
      },
    ],
    ["bad mode letters", "-rwxqwxrwx 1 u g 1 Nov 14  2023 x", null],
    ["no size before the date", "-rw-r--r-- 1 u g Nov 14  2023 x", null],
    ["no date", "-rw-r--r-- 1 u g 1 yesterday x", null],
    ["a month but no day", "-rw-r--r-- 1 u g 1 Nov xx 2023 x", null],
    ["day 32", "-rw-r--r-- 1 u g 1 Nov 32 2023 x", null],
    ["prose", "226 Directory send OK.", null],
    ["garbage", "hello world, this is not a listing", null],
  ];
  for (const [label, line, expected] of cases) {
    assertEquals(summary(parseFtpListLine(line, { now: NOW })), expected, label);
  }
});

Deno.test("parseFtpListLine() keeps the raw line without its CR", () => {
  const entry = parseFtpListLine("-rw-r--r-- 1 u g 1 Nov 14  2023 x\r");
  assertEquals(entry?.raw, "-rw-r--r-- 1 u g 1 Nov 14  2023 x");
  assertEquals(entry?.facts, undefined);
});

Deno.test("parseFtpListLine() reads DOS lines", () => {
  const cases: [string, string, Summary | null][] = [
    [
      "12-hour PM",
      "11-14-23  10:13PM       <DIR>          pub",
      { name: "pub", type: "directory", modified: "2023-11-14T22:13:00.000Z" },
    ],
    [
      "12 AM is midnight",
      "11-14-23  12:01AM                 5 a",
      { name: "a", type: "file", size: 5, modified: "2023-11-14T00:01:00.000Z" },
    ],
    [
      "12 PM is noon",
      "11-14-23  12:01PM                 5 a",
      { name: "a", type: "file", size: 5, modified: "2023-11-14T12:01:00.000Z" },
    ],
    [
      "space before PM, lower case",
      "11-14-23  10:13 pm     <dir>          pub",
      { name: "pub", type: "directory", modified: "2023-11-14T22:13:00.000Z" },
    ],
    [
      "24-hour four-digit year",
      "11-14-2023  22:13  1234 file.txt",
      { name: "file.txt", type: "file", size: 1234, modified: "2023-11-14T22:13:00.000Z" },
    ],
    [
      "size with thousands separators",
      "11-14-2023  22:13  1,234,567 big.txt",
      { name: "big.txt", type: "file", size: 1234567, modified: "2023-11-14T22:13:00.000Z" },
    ],
    [
      "name with spaces kept, leading padding dropped",
      "11-14-23  10:13PM                   35   read me.txt",
      { name: "read me.txt", type: "file", size: 35, modified: "2023-11-14T22:13:00.000Z" },
    ],
    ["13 PM", "11-14-23  13:13PM      <DIR>  x", null],
    ["month 13", "13-14-23  10:13PM      <DIR>  x", null],
    ["February 30", "02-30-23  10:13PM      <DIR>  x", null],
    ["minute 60", "11-14-23  10:60      <DIR>  x", null],
    ["no name", "11-14-23  10:13PM      <DIR>", null],
    ["three-digit year", "11-14-223  10:13PM      <DIR>  x", null],
  ];
  for (const [label, line, expected] of cases) {
    assertEquals(summary(parseFtpListLine(line, { now: NOW })), expected, label);
  }
});

Deno.test("parseFtpListLine() pivots two-digit DOS years around now", () => {
  const year = (yy: string, now: string) =>
    parseFtpListLine(`01-02-${yy}  10:00AM  1 x`, { now: new Date(now) })?.modified
      ?.getUTCFullYear();
  assertEquals(year("99", "2026-12-03T00:00:00Z"), 1999);
  assertEquals(year("00", "2026-12-03T00:00:00Z"), 2000);
  assertEquals(year("45", "2026-12-03T00:00:00Z"), 2045);
  assertEquals(year("46", "2026-12-03T00:00:00Z"), 1946);
  assertEquals(year("47", "2026-12-03T00:00:00Z"), 1947);
  // Eighty years before, nineteen after: the window slides with now.
  assertEquals(year("46", "2027-01-01T00:00:00Z"), 2046);
  assertEquals(year("70", "1990-06-01T00:00:00Z"), 1970);
  assertEquals(year("09", "1990-06-01T00:00:00Z"), 2009);
  assertEquals(year("10", "1990-06-01T00:00:00Z"), 1910);
});

// --- year inference and time zones -------------------------------------------

Deno.test("parseFtpListLine() infers the year of Mon DD HH:MM around New Year", () => {
  const cases: [string, string, string][] = [
    // [now, listing date, expected]
    ["2027-01-01T00:30:00Z", "Dec 31 23:59", "2026-12-31T23:59:00.000Z"],
    ["2027-01-01T00:30:00Z", "Jan  1 00:10", "2027-01-01T00:10:00.000Z"],
    // The server's clock runs ahead of ours: a time just after midnight is next year.
    ["2026-12-31T23:50:00Z", "Jan  1 00:05", "2027-01-01T00:05:00.000Z"],
    ["2026-12-31T23:50:00Z", "Dec 31 23:45", "2026-12-31T23:45:00.000Z"],
    ["2027-01-15T00:00:00Z", "Dec 20 10:00", "2026-12-20T10:00:00.000Z"],
    ["2027-01-15T00:00:00Z", "Jan 10 09:00", "2027-01-10T09:00:00.000Z"],
    ["2027-01-15T00:00:00Z", "Jul 20 09:00", "2026-07-20T09:00:00.000Z"],
    // Up to about six months in the future counts as this year...
    ["2027-01-15T00:00:00Z", "Jul 10 09:00", "2027-07-10T09:00:00.000Z"],
    // ...and the last ~six months of the past too.
    ["2026-07-01T00:00:00Z", "Jan  5 08:00", "2026-01-05T08:00:00.000Z"],
    ["2026-07-01T00:00:00Z", "Dec 25 08:00", "2026-12-25T08:00:00.000Z"],
    ["2026-06-01T00:00:00Z", "Dec 25 08:00", "2025-12-25T08:00:00.000Z"],
    // February 29 goes to the latest leap year that fits.
    ["2026-12-03T00:00:00Z", "Feb 29 12:00", "2024-02-29T12:00:00.000Z"],
    ["2028-03-01T00:00:00Z", "Feb 29 12:00", "2028-02-29T12:00:00.000Z"],
  ];
  for (const [now, date, expected] of cases) {
    const entry = parseFtpListLine(`-rw-r--r-- 1 u g 1 ${date} x`, { now: new Date(now) });
    assertEquals(entry?.modified?.toISOString(), expected, `${date} at ${now}`);
  }
});

Deno.test("parseFtpListLine() reads dates in the given time zone", () => {
  const line = "-rw-r--r-- 1 u g 1 Nov 14 22:13 x";
  const now = new Date("2023-12-01T00:00:00Z");
  const at = (timeZone?: string) =>
    parseFtpListLine(line, { now, timeZone })?.modified?.toISOString();
  assertEquals(at(), "2023-11-14T22:13:00.000Z");
  assertEquals(at("UTC"), "2023-11-14T22:13:00.000Z");
  assertEquals(at("+02:00"), "2023-11-14T20:13:00.000Z");
  assertEquals(at("-0530"), "2023-11-15T03:43:00.000Z");
  assertEquals(at("Europe/Berlin"), "2023-11-14T21:13:00.000Z");
  // Summer time in Berlin: two hours ahead.
  const summer = parseFtpListLine("-rw-r--r-- 1 u g 1 Jul 14 22:13 x", {
    now,
    timeZone: "Europe/Berlin",
  });
  assertEquals(summer?.modified?.toISOString(), "2023-07-14T20:13:00.000Z");
  // Year-only dates are midnight in the zone.
  const old = parseFtpListLine("-rw-r--r-- 1 u g 1 Nov 14  2020 x", {
    timeZone: "America/New_York",
  });
  assertEquals(old?.modified?.toISOString(), "2020-11-14T05:00:00.000Z");
  const dos = parseFtpListLine("11-14-23  10:13PM  1 x", { timeZone: "Asia/Tokyo" });
  assertEquals(dos?.modified?.toISOString(), "2023-11-14T13:13:00.000Z");
});

Deno.test("parseFtpListLine() refuses an unknown time zone and an invalid now", () => {
  const line = "-rw-r--r-- 1 u g 1 Nov 14 22:13 x";
  assertThrows(() => parseFtpListLine(line, { timeZone: "Mars/Olympus" }), RangeError, "Mars");
  assertThrows(() => parseFtpListLine(line, { timeZone: "+25:00" }), RangeError, "offset");
  assertThrows(() => parseFtpListLine(line, { now: new Date(NaN) }), RangeError, "now");
});

// --- whole listings: line ends, skipping, caps -----------------------------------

const MIXED = "total 3\r\n" +
  "drwxr-xr-x 2 u g 4096 Nov 14  2023 dir\r\n" +
  "this line is not an entry\r\n" +
  "\r\n" +
  "11-14-23  10:13PM  35 dos.txt\r\n" +
  "-rw-r--r-- 1 u g 13 Nov 14  2023 last.txt";

Deno.test("parseFtpList() reads CRLF and LF listings alike and a last line without end", () => {
  const crlf = parseFtpList(MIXED);
  assertEquals(crlf.entries.map((e) => e.name), ["dir", "dos.txt", "last.txt"]);
  assertEquals(crlf.skipped, 1);
  const lf = parseFtpList(MIXED.replaceAll("\r\n", "\n"));
  assertEquals(lf.entries.map((e) => e.name), crlf.entries.map((e) => e.name));
  assertEquals(lf.skipped, 1);
  assertEquals(parseFtpList(""), { entries: [], skipped: 0 });
  assertEquals(parseFtpList(encoder.encode(MIXED)).entries.length, 3);
});

Deno.test("parseFtpList() decodes bytes with the given encoding", () => {
  const latin1 = new Uint8Array([
    ...encoder.encode("-rw-r--r-- 1 u g 1 Nov 14  2023 caf"),
    0xe9,
    13,
    10,
  ]);
  assertEquals(parseFtpList(latin1, { encoding: "latin1" }).entries[0]!.name, "café");
  assertEquals(parseFtpList(latin1).entries[0]!.name, "caf\ufffd");
  assertThrows(() => parseFtpList("", { encoding: "nope" }), RangeError, "encoding");
});

Deno.test("parseFtpList() refuses a listing over maxListingSize", () => {
  const line = "-rw-r--r-- 1 u g 13 Nov 14  2023 x\r\n";
  const text = line.repeat(10);
  assertEquals(parseFtpList(text, { maxListingSize: text.length }).entries.length, 10);
  for (const input of [text, encoder.encode(text)]) {
    const error = assertThrows(
      () => parseFtpList(input, { maxListingSize: text.length - 1 }),
      ProtocolError,
      `listing exceeds ${text.length - 1} bytes`,
    );
    assertEquals(error.code, "LISTING_TOO_LARGE");
  }
  // Multi-byte text is measured in UTF-8 bytes, not UTF-16 units.
  const utf8 = "-rw-r--r-- 1 u g 1 Nov 14  2023 ééééé";
  assertThrows(
    () => parseFtpList(utf8, { maxListingSize: utf8.length + 4 }),
    ProtocolError,
    "listing exceeds",
  );
  assertThrows(() => parseFtpList("", { maxListingSize: 0 }), RangeError, "maxListingSize");
});

Deno.test("parseFtpList() defaults to a 40 MiB listing cap", () => {
  const max = 40 * 1024 * 1024;
  const error = assertThrows(
    () => parseFtpList(new Uint8Array(max + 1).fill(10)),
    ProtocolError,
    `listing exceeds ${max} bytes`,
  );
  assertEquals(error.code, "LISTING_TOO_LARGE");
  // A huge string fails before it is encoded.
  assertThrows(() => parseFtpList("\n".repeat(max + 1)), ProtocolError, "listing exceeds");
  // Exactly 40 MiB is accepted: 640 lines of 64 KiB.
  const line = encoder.encode("x".repeat(65535) + "\n");
  const exact = new Uint8Array(max);
  for (let i = 0; i < max; i += line.length) exact.set(line, i);
  assertEquals(parseFtpList(exact).skipped, 640);
});

Deno.test("parseFtpList() refuses a line over the 64 KiB default line cap", () => {
  const prefix = "-rw-r--r-- 1 u g 1 Nov 14  2023 ";
  const longest = prefix + "x".repeat(65536 - prefix.length);
  assertEquals(parseFtpList(`${longest}\r\n`).entries[0]!.name.length, 65536 - prefix.length);
  assertEquals(parseFtpList(longest).entries.length, 1);
  for (const text of [`${longest}x\r\n`, `${longest}x`, `${longest}xxx`]) {
    const error = assertThrows(
      () => parseFtpList(text),
      ProtocolError,
      "line exceeds 65536 bytes",
    );
    assertEquals(error.code, "LINE_TOO_LONG");
  }
  assertThrows(
    () => parseFtpList("x".repeat(11) + "\n", { maxLineLength: 10 }),
    ProtocolError,
    "line exceeds 10 bytes",
  );
  assertThrows(() => parseMlsd("x".repeat(11), { maxLineLength: 10 }), ProtocolError, "line");
});

// --- every split and streams -----------------------------------------------------------

function viaBuilder(format: "list" | "mlsd", chunks: Uint8Array[]): FtpListing {
  const builder = new FtpListingBuilder(format, { now: NOW });
  for (const chunk of chunks) builder.push(chunk);
  return builder.finish();
}

Deno.test("FtpListingBuilder gives the same listing for every split of the input", () => {
  const inputs: ["list" | "mlsd", string][] = [
    ["list", MIXED],
    ["list", "-rw-r--r-- 1 u g 1 Nov 14  2023 caf\u00e9 \u2603\r\n\r\n"],
    ["mlsd", "type=file;size=1; a b\r\ntype=cdir; .\r\nbad\r\n type=dir; d"],
  ];
  for (const [format, text] of inputs) {
    const bytes = encoder.encode(text);
    const expected = format === "list" ? parseFtpList(bytes, { now: NOW }) : parseMlsd(bytes);
    const all = [...splits(bytes, bytes.length > 60), bytewise(bytes)];
    for (const chunks of all) {
      assertEquals(
        viaBuilder(format, chunks),
        expected,
        JSON.stringify(chunks.map((c) => c.length)),
      );
    }
  }
});

Deno.test("readFtpListing() reads the vsftpd fixtures at every two-piece split", async () => {
  for (const name of ["vsftpd_list_la_root.txt", "vsftpd_list_la_recent.txt"]) {
    const bytes = fixtureBytes(name);
    const expected = parseFtpList(bytes, { now: NOW });
    for (const chunks of [...splits(bytes, true), bytewise(bytes)]) {
      assertEquals(await readFtpListing(streamOf(chunks), { now: NOW }), expected, name);
    }
  }
});

Deno.test("readFtpListing() reads random chunkings of every fixture like parseFtpList()", async () => {
  const random = prng(7);
  const lists = [
    "vsftpd_list_la_pub.txt",
    "proftpd_list.txt",
    "pure-ftpd_list.txt",
    "busybox_list.txt",
    "iis_dos_list.txt",
  ];
  for (const name of lists) {
    const bytes = fixtureBytes(name);
    const expected = parseFtpList(bytes, { now: NOW });
    for (let i = 0; i < 20; i++) {
      const chunks = randomChunks(bytes, random, 40);
      assertEquals(await readFtpListing(streamOf(chunks), { now: NOW }), expected, name);
    }
  }
  for (const name of ["mlsd_rfc3659.txt", "mlsd_proftpd.txt", "mlsd_pure-ftpd.txt"]) {
    const bytes = fixtureBytes(name);
    const expected = parseMlsd(bytes);
    for (let i = 0; i < 20; i++) {
      const chunks = randomChunks(bytes, random, 40);
      assertEquals(await readFtpListing(streamOf(chunks), { format: "mlsd" }), expected, name);
    }
  }
});

/** A stream of chunks that records whether it was cancelled. */
function trackedStream(chunks: Uint8Array[], endless = false) {
  const state = { cancelled: false, reason: undefined as unknown };
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else if (endless) controller.enqueue(chunks[chunks.length - 1]!);
      else controller.close();
    },
    cancel(reason) {
      state.cancelled = true;
      state.reason = reason;
    },
  });
  return { stream, state };
}

Deno.test("readFtpListing() stops reading an endless listing at the cap and cancels the stream", async () => {
  const line = encoder.encode("-rw-r--r-- 1 u g 13 Nov 14  2023 x\r\n");
  const { stream, state } = trackedStream([line], true);
  let error: unknown;
  try {
    await readFtpListing(stream, { maxListingSize: 1000 });
  } catch (e) {
    error = e;
  }
  assert(error instanceof ProtocolError);
  assertEquals(error.code, "LISTING_TOO_LARGE");
  assert(state.cancelled);
  // The lock is released: the stream can be handed on.
  assert(!stream.locked);
});

Deno.test("readFtpListing() stops at a line that never ends", async () => {
  const { stream, state } = trackedStream([encoder.encode("x".repeat(1000))], true);
  let error: unknown;
  try {
    await readFtpListing(stream, { maxLineLength: 4096 });
  } catch (e) {
    error = e;
  }
  assert(error instanceof ProtocolError);
  assertEquals(error.code, "LINE_TOO_LONG");
  assert(state.cancelled);
});

Deno.test("readFtpListing() rejects with the signal's reason and cancels the stream", async () => {
  // A stream that never delivers: only the signal can end the read.
  const state = { cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    cancel() {
      state.cancelled = true;
    },
  });
  const controller = new AbortController();
  const reading = readFtpListing(stream, { signal: controller.signal });
  const reason = new Error("stop");
  controller.abort(reason);
  let caught: unknown;
  try {
    await reading;
  } catch (e) {
    caught = e;
  }
  assertEquals(caught, reason);
  assert(state.cancelled);
  assert(!stream.locked);
  // An already aborted signal fails before reading.
  const aborted = AbortSignal.abort(new Error("early"));
  let early: unknown;
  try {
    await readFtpListing(streamOf(["x"]), { signal: aborted });
  } catch (e) {
    early = e;
  }
  assertEquals((early as Error).message, "early");
});

Deno.test("readFtpListing() passes a stream error on", async () => {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode("-rw-r--r-- 1 u g 13 Nov 14  2023 x\r\n"));
      controller.error(new Error("connection reset"));
    },
  });
  let caught: unknown;
  try {
    await readFtpListing(stream);
  } catch (e) {
    caught = e;
  }
  assertEquals((caught as Error).message, "connection reset");
});

// --- MLSx -----------------------------------------------------------------------------

Deno.test("parseMlsd() reads the RFC 3659 §7.7.3 example, dropping cdir and pdir", () => {
  const text = fixture("mlsd_rfc3659.txt");
  const listing = parseMlsd(text);
  assertEquals(listing.skipped, 0);
  assertEquals(listing.entries.length, 10);
  assertEquals(summary(listing.entries[0]!), {
    name: "capmux.tar.z",
    type: "file",
    size: 25730,
    modified: "1994-07-28T09:58:54.000Z",
    perm: "",
  });
  assertEquals(summary(listing.entries[9]!), {
    name: "cap60.pl198.tar.gz",
    type: "file",
    size: 1024990,
    modified: "1998-01-30T01:03:22.000Z",
    perm: "r",
  });
  // Fact names are lower-cased; values are kept.
  assertEquals({ ...listing.entries[1]!.facts }, {
    type: "file",
    size: "1830",
    modify: "19940916055648",
    perm: "r",
  });
  const all = parseMlsd(text, { includeCurrentAndParent: true });
  assertEquals(all.entries.slice(0, 3).map((e) => [e.name, e.type, e.facts?.type]), [
    ["tmp", "directory", "cdir"],
    ["/tmp", "directory", "cdir"],
    ["..", "directory", "pdir"],
  ]);
});

Deno.test("parseMlsd() reads ProFTPD-style facts", () => {
  const listing = parseMlsd(fixture("mlsd_proftpd.txt"));
  assertEquals(listing.entries.map(summary), [
    {
      name: "hello.txt",
      type: "file",
      size: 13,
      modified: "2023-11-14T22:13:20.000Z",
      mode: "644",
      perm: "adfr",
      owner: "mulder",
      group: "mulder",
    },
    {
      name: "upload",
      type: "directory",
      modified: "2023-11-14T22:13:20.000Z",
      mode: "2775",
      perm: "flcdmpe",
      owner: "mulder",
      group: "mulder",
    },
    {
      name: "latest",
      type: "symlink",
      size: 13,
      modified: "2026-12-01T09:30:00.000Z",
      mode: "777",
      perm: "adfr",
      owner: "mulder",
      group: "mulder",
    },
    {
      name: "name; with; semicolons",
      type: "file",
      size: 5,
      modified: "2023-11-14T22:13:20.123Z",
      mode: "600",
      perm: "adfr",
    },
  ]);
  assertEquals(listing.entries[0]!.facts?.["unix.owner"], "1001");
  assertEquals(listing.entries[0]!.facts?.unique, "FD00U2A0002");
});

Deno.test("parseMlsd() reads Pure-FTPd-style facts: sizd, slink targets, leading spaces", () => {
  const listing = parseMlsd(fixture("mlsd_pure-ftpd.txt"));
  assertEquals(listing.entries.map(summary), [
    {
      name: "pub",
      type: "directory",
      size: 4096,
      modified: "2023-11-14T22:13:20.000Z",
      mode: "755",
      owner: "1001",
      group: "1001",
    },
    {
      name: "readme.txt",
      type: "file",
      size: 35,
      modified: "2023-11-14T22:13:20.000Z",
      mode: "644",
      owner: "1001",
      group: "1001",
    },
    {
      name: "hello",
      type: "symlink",
      modified: "2026-12-01T09:30:00.000Z",
      mode: "777",
      owner: "1001",
      group: "1001",
      target: "/pub/hello.txt",
    },
    {
      name: " two leading spaces",
      type: "file",
      size: 2,
      modified: "2026-12-01T09:30:00.000Z",
      mode: "644",
      owner: "1001",
      group: "1001",
    },
  ]);
});

Deno.test("parseMlsxLine() reads the MLST reply form and facts in any case", () => {
  // RFC 3659 §7.2: each entry line of the 250 reply starts with a space.
  assertEquals(summary(parseMlsxLine(" Type=dir;Modify=19981107085215;Perm=el; /tmp")), {
    name: "/tmp",
    type: "directory",
    modified: "1998-11-07T08:52:15.000Z",
    perm: "el",
  });
  assertEquals(summary(parseMlsxLine("TYPE=FILE;SIZE=5;MODIFY=20231114221320; x")), {
    name: "x",
    type: "file",
    size: 5,
    modified: "2023-11-14T22:13:20.000Z",
  });
  // No facts: one space before the name (MLSD), two in the MLST form.
  assertEquals(summary(parseMlsxLine(" plain name")), { name: "plain name", type: "unknown" });
  assertEquals(summary(parseMlsxLine("  /path")), { name: "/path", type: "unknown" });
});

Deno.test("parseMlsxLine() reads the entry of an MLST reply read at every split", async () => {
  // RFC 3659 §7.7.2 style: the entry line of the 250 reply starts with a space.
  const wire = "250-Listing /tmp\r\n Type=dir;Modify=19981107085215;Perm=el; /tmp\r\n250 End\r\n";
  const bytes = encoder.encode(wire);
  for (const chunks of [...splits(bytes, true), bytewise(bytes)]) {
    const reader = new BufferedReader(streamOf(chunks));
    const reply = await readReply(reader, { expect: 250, lenientContinuation: true });
    assertEquals(reply.lines.length, 3);
    assertEquals(summary(parseMlsxLine(reply.lines[1]!)), {
      name: "/tmp",
      type: "directory",
      modified: "1998-11-07T08:52:15.000Z",
      perm: "el",
    });
  }
});

Deno.test("parseMlsxLine() handles odd facts", () => {
  const cases: [string, string, Summary | null][] = [
    [
      "first of repeated facts wins",
      "size=1;Size=2;type=file; x",
      { name: "x", type: "file", size: 1 },
    ],
    [
      "a value with spaces (owner names)",
      "type=file;UNIX.ownername=Domain Users;size=3; x y",
      { name: "x y", type: "file", size: 3, owner: "Domain Users" },
    ],
    ["unknown OS type", "type=OS.vms=dir; x", { name: "x", type: "unknown" }],
    ["slink without target", "type=OS.unix=slink; x", { name: "x", type: "symlink" }],
    ["symlink word form", "type=os.UNIX=symlink; x", { name: "x", type: "symlink" }],
    ["bad size", "type=file;size=12a; x", { name: "x", type: "file" }],
    ["size beyond 2^53", "type=file;size=99999999999999999999; x", { name: "x", type: "file" }],
    ["bad modify", "type=file;modify=2023; x", { name: "x", type: "file" }],
    ["impossible modify", "type=file;modify=20231314221320; x", { name: "x", type: "file" }],
    ["bad unix.mode", "type=file;unix.mode=999; x", { name: "x", type: "file" }],
    ["sizd ignored for files", "type=file;sizd=4096; x", { name: "x", type: "file" }],
    ["uid and gid", "type=file;unix.uid=0;unix.gid=5; x", {
      name: "x",
      type: "file",
      owner: "0",
      group: "5",
    }],
    ["empty fact segments", "type=file;;size=1; x", { name: "x", type: "file", size: 1 }],
    ["name keeps a trailing space", "type=file; x ", { name: "x ", type: "file" }],
    ["no separator", "type=file;size=1;x", null],
    ["fact without =", "type=file;size; x", null],
    ["empty fact name", "=file; x", null],
    ["empty name", "type=file; ", null],
    ["blank", "   ", null],
    ["empty", "", null],
  ];
  for (const [label, line, expected] of cases) {
    assertEquals(summary(parseMlsxLine(line)), expected, label);
  }
});

Deno.test("parseMlsxLine() keeps __proto__ as a plain fact", () => {
  const entry = parseMlsxLine("__proto__=x;constructor=y;type=file; f");
  assertEquals(entry?.facts?.["__proto__"], "x");
  assertEquals(entry?.facts?.["constructor"] as unknown, "y");
  assertEquals(Object.getPrototypeOf(entry?.facts), null);
  assertEquals(({} as Record<string, unknown>).x, undefined);
});

Deno.test("parseMlsd() skips malformed lines, counts them, and drops . and ..", () => {
  const listing = parseMlsd("type=dir; .\r\ntype=dir; ..\r\nnonsense\r\n\r\ntype=file; ok\r\n");
  assertEquals(listing.entries.map((e) => e.name), ["ok"]);
  assertEquals(listing.skipped, 1);
});

// --- hostile names ----------------------------------------------------------------

Deno.test("isSafeFtpListingName() refuses names that would leave the target directory", () => {
  const unsafe: [string, string][] = [
    ["empty", ""],
    ["dot", "."],
    ["dot dot", ".."],
    ["three dots (Windows trims to ..)", "..."],
    ["dots and a trailing space", ".. "],
    ["only spaces", "   "],
    ["parent traversal", "../x"],
    ["deep traversal", "../../../etc/passwd"],
    ["absolute path", "/etc/x"],
    ["nested path", "a/b"],
    ["trailing slash", "dir/"],
    ["backslash traversal", "..\\x"],
    ["backslash absolute", "\\windows\\system32"],
    ["UNC path", "\\\\server\\share"],
    ["drive letter", "C:"],
    ["drive-relative", "c:x"],
    ["drive-relative, one letter", "a:b"],
    ["drive absolute", "C:\\x"],
    ["NUL", "x\0.txt"],
    ["CR", "x\r"],
    ["LF", "x\ny"],
  ];
  for (const [label, name] of unsafe) assert(!isSafeFtpListingName(name), label);
  const safe = [
    "hello.txt",
    ".hidden",
    "..x",
    "x..",
    " leading space",
    "with space.txt",
    "café.txt",
    "ab:c",
    "1:2",
    "name; with; semicolons",
    "a -> b",
    "tab\there",
  ];
  for (const name of safe) assert(isSafeFtpListingName(name), name);
});

Deno.test("isSafeFtpListingName() flags the hostile entries of a parsed listing", () => {
  const text = [
    "-rw-r--r-- 1 u g 1 Nov 14  2023 ../x",
    "-rw-r--r-- 1 u g 1 Nov 14  2023 /etc/x",
    "-rw-r--r-- 1 u g 1 Nov 14  2023 ok.txt",
    "11-14-23  10:13PM  1 ..\\win.ini",
    "11-14-23  10:13PM  1 C:boot.ini",
  ].join("\r\n");
  const listing = parseFtpList(text);
  assertEquals(listing.entries.map((e) => [e.name, isSafeFtpListingName(e.name)]), [
    ["../x", false],
    ["/etc/x", false],
    ["ok.txt", true],
    ["..\\win.ini", false],
    ["C:boot.ini", false],
  ]);
  const mlsd = parseMlsd("type=file; ../../x\r\ntype=file; /abs\r\ntype=file; fine\r\n");
  assertEquals(mlsd.entries.filter((e) => isSafeFtpListingName(e.name)).map((e) => e.name), [
    "fine",
  ]);
});

// --- robustness -------------------------------------------------------------------

Deno.test("parseFtpListLine() and parseMlsxLine() never throw on random lines", () => {
  const random = prng(42);
  const alphabet = "-rwxdlsStT+.@ 0123456789,:;=<>DIR/\\JanFebNovDecAMPM\t\r\u00e9total";
  for (let i = 0; i < 5000; i++) {
    let line = "";
    const length = Math.floor(random() * 80);
    for (let j = 0; j < length; j++) line += alphabet[Math.floor(random() * alphabet.length)];
    if (random() < 0.3) line = `-rw-r--r-- 1 u g ${line}`;
    if (random() < 0.2) line = `11-14-23  10:13PM ${line}`;
    const entry = parseFtpListLine(line, { now: NOW });
    if (entry !== null) {
      assert(entry.name !== "", line);
      assert(entry.modified === undefined || !Number.isNaN(entry.modified.getTime()), line);
    }
    const mlsx = parseMlsxLine(line);
    if (mlsx !== null) assert(mlsx.name !== "", line);
  }
});

Deno.test("parseFtpList() stays linear on pathological 64 KiB lines", () => {
  const n = 65000;
  const lines = [
    "-rw-r--r-- " + "1 ".repeat(n / 2),
    "-rw-r--r-- 1 u g 1 " + "Nov 14 ".repeat(n / 7),
    "11-14-23  10:13" + " ".repeat(n) + "x",
    "11-14-23  10:13PM" + " 1".repeat(n / 2),
    "1".repeat(n),
    "a=".repeat(n / 2),
    " " + "a=b;".repeat(n / 4),
  ];
  for (const line of lines) {
    const start = performance.now();
    parseFtpList(line);
    parseMlsd(line);
    assertLessOrEqual(performance.now() - start, 1000, line.slice(0, 30));
  }
});
