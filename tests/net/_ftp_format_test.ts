import { formatFtpListLine, formatMlsxLine, type FtpFileInfoInit } from "../../net/_ftp_format.ts";
import { formatFtpEpsvReply, formatFtpPasvReply } from "../../net/_ftp_address.ts";
import { formatFtpFeatReply, formatFtpPathReply } from "../../net/_ftp_reply_text.ts";
import { BufferedReader } from "../../net/buffered_reader.ts";
import { parseFtpListLine, parseMlsxLine } from "../../net/ftp_list.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { prng } from "../_helpers/sources.ts";

const NOW = new Date("2026-12-03T12:00:00Z");
const OLD = new Date("2023-11-14T22:13:20Z");
const RECENT = new Date("2026-12-01T09:30:45Z");

Deno.test("formatFtpListLine() writes the ls -l layout", () => {
  const cases: [FtpFileInfoInit, string][] = [
    [
      { name: "hello.txt", type: "file", size: 13, modified: OLD, owner: "1001", group: "1001" },
      "-rw-r--r--    1 1001     1001           13 Nov 14  2023 hello.txt",
    ],
    [
      { name: "pub", type: "directory", size: 4096, modified: RECENT },
      "drwxr-xr-x    1 ftp      ftp          4096 Dec  1 09:30 pub",
    ],
    [
      { name: "latest", type: "symlink", size: 9, modified: OLD, target: "pub/x y" },
      "lrwxrwxrwx    1 ftp      ftp             9 Nov 14  2023 latest -> pub/x y",
    ],
    [
      { name: "dangling", type: "symlink", modified: OLD },
      "lrwxrwxrwx    1 ftp      ftp             0 Nov 14  2023 dangling",
    ],
    [
      { name: "sbin", type: "file", modified: OLD, permissions: { mode: 0o4755 } },
      "-rwsr-xr-x    1 ftp      ftp             0 Nov 14  2023 sbin",
    ],
    [
      { name: "odd", type: "directory", modified: OLD, permissions: { mode: 0o7644 } },
      "drwSr-Sr-T    1 ftp      ftp             0 Nov 14  2023 odd",
    ],
    [
      { name: "tmp", type: "directory", modified: OLD, permissions: { mode: 0o3777 } },
      "drwxrwsrwt    1 ftp      ftp             0 Nov 14  2023 tmp",
    ],
    [
      { name: "dev", type: "unknown", modified: OLD, permissions: { mode: 0 } },
      "----------    1 ftp      ftp             0 Nov 14  2023 dev",
    ],
    [
      { name: "  spaces  ", type: "file", modified: RECENT },
      "-rw-r--r--    1 ftp      ftp             0 Dec  1 09:30   spaces  ",
    ],
    [
      { name: "big", type: "file", size: 123456789012, modified: RECENT },
      "-rw-r--r--    1 ftp      ftp      123456789012 Dec  1 09:30 big",
    ],
    [
      { name: "no date", type: "file" },
      "-rw-r--r--    1 ftp      ftp             0 Jan  1  1970 no date",
    ],
    [
      { name: "long owner", type: "file", modified: OLD, owner: "averylongname", group: "g" },
      "-rw-r--r--    1 averylongname g               0 Nov 14  2023 long owner",
    ],
    [
      // More than a day in the future: the year form, as ls does.
      { name: "future", type: "file", modified: new Date("2026-12-05T00:00:00Z") },
      "-rw-r--r--    1 ftp      ftp             0 Dec  5  2026 future",
    ],
    [
      { name: "180 days", type: "file", modified: new Date("2026-06-06T12:00:00Z") },
      "-rw-r--r--    1 ftp      ftp             0 Jun  6 12:00 180 days",
    ],
    [
      { name: "181 days", type: "file", modified: new Date("2026-06-05T12:00:00Z") },
      "-rw-r--r--    1 ftp      ftp             0 Jun  5  2026 181 days",
    ],
  ];
  for (const [info, line] of cases) assertEquals(formatFtpListLine(info, { now: NOW }), line);
});

Deno.test("formatFtpListLine() refuses names with CR or LF and bad columns", () => {
  const base = { type: "file" as const, modified: OLD };
  const typeErrors: [FtpFileInfoInit, string][] = [
    [{ ...base, name: "x\r\n226 ok" }, "contains CR, LF or NUL"],
    [{ ...base, name: "x\n" }, "contains CR, LF or NUL"],
    [{ ...base, name: "x\r" }, "contains CR, LF or NUL"],
    [{ ...base, name: "x\0" }, "contains CR, LF or NUL"],
    [{ ...base, name: "" }, "the name is empty"],
    [{ ...base, name: "l", type: "symlink", target: "a\nb" }, "contains CR, LF or NUL"],
    [{ ...base, name: "x", owner: "Domain Users" }, "owner"],
    [{ ...base, name: "x", group: "" }, "group"],
    [{ ...base, name: "x", owner: "a\tb" }, "owner"],
  ];
  for (const [info, message] of typeErrors) {
    assertThrows(() => formatFtpListLine(info, { now: NOW }), TypeError, message);
  }
  const rangeErrors: [FtpFileInfoInit, string][] = [
    [{ ...base, name: "x", size: -1 }, "size -1"],
    [{ ...base, name: "x", size: 1.5 }, "size 1.5"],
    [{ ...base, name: "x", permissions: { mode: 0o10000 } }, "mode"],
    [{ ...base, name: "x", modified: new Date(NaN) }, "invalid"],
    [{ ...base, name: "x", modified: new Date("+010000-01-01T00:00:00Z") }, "year 10000"],
  ];
  for (const [info, message] of rangeErrors) {
    assertThrows(() => formatFtpListLine(info, { now: NOW }), RangeError, message);
  }
});

Deno.test("formatFtpListLine() lines read back with parseFtpListLine()", () => {
  const random = prng(2026);
  const alphabet = "abcXYZ019 ._-;:=()[]'\"\u00e9\u2603\t";
  const types = ["file", "directory", "symlink", "unknown"] as const;
  for (let i = 0; i < 2000; i++) {
    let name = "";
    const length = 1 + Math.floor(random() * 20);
    for (let j = 0; j < length; j++) name += alphabet[Math.floor(random() * alphabet.length)];
    const type = types[Math.floor(random() * types.length)]!;
    if (type === "symlink" && name.includes(" -> ")) continue;
    // Whole minutes within two years either side of now.
    const modified = new Date(
      Math.floor((NOW.getTime() + (random() - 0.5) * 4 * 365 * 86_400_000) / 60_000) * 60_000,
    );
    const info: FtpFileInfoInit = {
      name,
      type,
      size: Math.floor(random() * 2 ** 40),
      modified,
      permissions: { mode: Math.floor(random() * 0o10000) },
      owner: `u${i}`,
      group: `g${i}`,
    };
    if (type === "symlink") info.target = `t ${i}`;
    const line = formatFtpListLine(info, { now: NOW });
    const back = parseFtpListLine(line, { now: NOW });
    assert(back !== null, line);
    assertEquals(back.name, name, line);
    // ls has no letter every parser knows for "unknown": it is written as a file.
    assertEquals(back.type, type === "unknown" ? "file" : type, line);
    assertEquals(back.size, info.size, line);
    assertEquals(back.permissions?.mode, info.permissions!.mode, line);
    assertEquals([back.owner, back.group], [info.owner, info.group], line);
    assertEquals(back.target, info.target, line);
    const recent = modified.getTime() >= NOW.getTime() - 180 * 86_400_000 &&
      modified.getTime() <= NOW.getTime() + 86_400_000;
    const expected = recent ? modified : new Date(modified.toISOString().slice(0, 10));
    assertEquals(back.modified?.toISOString(), expected.toISOString(), line);
  }
});

Deno.test("formatMlsxLine() writes RFC 3659 entries", () => {
  const cases: [FtpFileInfoInit, string][] = [
    [
      {
        name: "hello world.txt",
        type: "file",
        size: 13,
        modified: new Date("2023-11-14T22:13:20.999Z"),
        permissions: { perm: "adfrw", mode: 0o644 },
        owner: "1001",
        group: "1001",
      },
      "type=file;size=13;modify=20231114221320;perm=adfrw;UNIX.mode=0644;UNIX.owner=1001;" +
      "UNIX.group=1001; hello world.txt",
    ],
    [
      { name: "pub", type: "directory", size: 4096, modified: OLD },
      "type=dir;modify=20231114221320; pub",
    ],
    [
      { name: ".", type: "directory", facts: { type: "cdir" } },
      "type=cdir; .",
    ],
    [
      { name: "..", type: "directory", facts: { Type: "PDIR" } },
      "type=pdir; ..",
    ],
    [
      { name: "latest", type: "symlink", target: "pub/hello.txt", permissions: { mode: 0o777 } },
      "type=OS.unix=symlink;UNIX.mode=0777; latest",
    ],
    [
      { name: "weird", type: "unknown" },
      " weird",
    ],
    [
      { name: "a; b; c", type: "file", size: 0 },
      "type=file;size=0; a; b; c",
    ],
    [
      { name: " lead", type: "file", facts: { unique: "803g2a0004", size: "999", "x.note": "" } },
      "type=file;unique=803g2a0004;x.note=;  lead",
    ],
    [
      { name: "/full/path for MLST", type: "file", size: 1 },
      "type=file;size=1; /full/path for MLST",
    ],
  ];
  for (const [info, line] of cases) assertEquals(formatMlsxLine(info), line);
});

Deno.test("formatMlsxLine() refuses names with CR or LF and facts that break the entry", () => {
  const typeErrors: [FtpFileInfoInit, string][] = [
    [{ name: "x\r\n226 Transfer complete", type: "file" }, "contains CR, LF or NUL"],
    [{ name: "x\n", type: "file" }, "contains CR, LF or NUL"],
    [{ name: "x\0", type: "file" }, "contains CR, LF or NUL"],
    [{ name: "", type: "file" }, "the name is empty"],
    [{ name: "x", type: "file", owner: "Domain Users" }, "has ; or spaces"],
    [{ name: "x", type: "file", permissions: { perm: "r;w" } }, "has ; or spaces"],
    [{ name: "x", type: "file", facts: { note: "a\r\nb" } }, "has ; or spaces"],
    [{ name: "x", type: "file", facts: { "bad name": "v" } }, "invalid fact name"],
    [{ name: "x", type: "file", facts: { "a=b": "v" } }, "invalid fact name"],
    [{ name: "x", type: "file", facts: { "": "v" } }, "invalid fact name"],
  ];
  for (const [info, message] of typeErrors) {
    assertThrows(() => formatMlsxLine(info), TypeError, message);
  }
  assertThrows(() => formatMlsxLine({ name: "x", type: "file", size: -1 }), RangeError, "size");
  assertThrows(
    () => formatMlsxLine({ name: "x", type: "file", permissions: { mode: -1 } }),
    RangeError,
    "mode",
  );
  assertThrows(
    () => formatMlsxLine({ name: "x", type: "file", modified: new Date(NaN) }),
    RangeError,
    "invalid",
  );
});

Deno.test("formatMlsxLine() entries read back with parseMlsxLine(), also as MLST lines", () => {
  const random = prng(3659);
  const alphabet = "abcXYZ019 ._-;:=()[]'\"\u00e9\u2603\t";
  const types = ["file", "directory", "symlink"] as const;
  for (let i = 0; i < 2000; i++) {
    let name = "";
    const length = 1 + Math.floor(random() * 20);
    for (let j = 0; j < length; j++) name += alphabet[Math.floor(random() * alphabet.length)];
    const type = types[Math.floor(random() * types.length)]!;
    const info: FtpFileInfoInit = {
      name,
      type,
      modified: new Date(Math.floor(random() * 4e12 / 1000) * 1000),
      permissions: { perm: "adfrw".slice(0, Math.floor(random() * 6)), mode: i % 0o10000 },
      owner: String(i),
      group: String(i + 1),
    };
    if (type === "file") info.size = Math.floor(random() * 2 ** 50);
    const line = formatMlsxLine(info);
    for (const form of [line, ` ${line}`]) {
      const back = parseMlsxLine(form);
      assert(back !== null, form);
      assertEquals(back.name, name, form);
      assertEquals(back.type, type, form);
      assertEquals(back.size, info.size, form);
      assertEquals(back.modified?.toISOString(), info.modified!.toISOString(), form);
      assertEquals(back.permissions, info.permissions, form);
      assertEquals([back.owner, back.group], [info.owner, info.group], form);
    }
  }
});

// --- lftp reads our lines back ---------------------------------------------------------

const encoder = new TextEncoder();
const lftpInstalled = (() => {
  try {
    return Deno.statSync("/usr/bin/lftp").isFile;
  } catch {
    return false;
  }
})();

/**
 * A minimal FTP server on 127.0.0.1 for one client: enough for lftp to log
 * in and list (FEAT, PWD, PASV/EPSV, LIST, MLSD), built from this slice's
 * reply formatters. Everything else gets 502.
 */
async function withListingServer(
  bodies: { list: string; mlsd: string },
  run: (port: number) => Promise<void>,
): Promise<string[]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const commands: string[] = [];
  const sessions: Promise<void>[] = [];
  const open = new Set<Deno.Conn | Deno.Listener>();
  const session = async (conn: Deno.Conn) => {
    const reader = new BufferedReader(conn);
    const send = (text: string) => conn.write(encoder.encode(text));
    let data: Deno.Listener | null = null;
    try {
      await send("220 inetkit test server\r\n");
      for (;;) {
        const line = await reader.readLine();
        if (line === null) return;
        commands.push(line);
        const verb = line.split(" ")[0]!.toUpperCase();
        if (verb === "USER") await send("331 Password please\r\n");
        else if (verb === "PASS") await send("230 Logged in\r\n");
        else if (verb === "SYST") await send("215 UNIX Type: L8\r\n");
        else if (verb === "FEAT") {
          await send(formatFtpFeatReply([["EPSV", ""], ["MLST", "type*;size*;modify*;"]]));
        } else if (verb === "PWD") {
          await send(`257 ${formatFtpPathReply("/", "is the current directory")}\r\n`);
        } else if (verb === "TYPE" || verb === "OPTS") await send("200 OK\r\n");
        else if (verb === "PASV" || verb === "EPSV") {
          data = Deno.listen({ hostname: "127.0.0.1", port: 0 });
          open.add(data);
          const address = data.addr as Deno.NetAddr;
          await send(
            verb === "PASV"
              ? `227 ${formatFtpPasvReply(address)}\r\n`
              : `229 ${formatFtpEpsvReply(address.port)}\r\n`,
          );
        } else if ((verb === "LIST" || verb === "MLSD") && data !== null) {
          await send("150 Here comes the listing\r\n");
          const dataConn = await data.accept();
          data.close();
          open.delete(data);
          data = null;
          await dataConn.write(encoder.encode(verb === "LIST" ? bodies.list : bodies.mlsd));
          dataConn.close();
          await send("226 Directory send OK\r\n");
        } else if (verb === "QUIT") {
          await send("221 Goodbye\r\n");
          return;
        } else await send("502 Not implemented\r\n");
      }
    } catch {
      // The client went away.
    } finally {
      if (data !== null) {
        data.close();
        open.delete(data);
      }
      conn.close();
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) sessions.push(session(conn));
    } catch {
      // closed
    }
  })();
  try {
    await run((listener.addr as Deno.NetAddr).port);
  } finally {
    listener.close();
    await accepting;
    await Promise.all(sessions);
    for (const resource of open) resource.close();
  }
  return commands;
}

async function lftpLongList(port: number, useMlsd: boolean): Promise<string[]> {
  const script = [
    "set cmd:interactive no",
    "set net:max-retries 1",
    "set net:timeout 10",
    "set ftp:ssl-allow no",
    `set ftp:use-mlsd ${useMlsd ? "yes" : "no"}`,
    `open -u tester,secret -p ${port} 127.0.0.1`,
    "cls -l --time-style=%Y-%m-%dT%H:%M:%S",
  ].join("; ");
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 30_000);
  try {
    const output = await new Deno.Command("/usr/bin/lftp", {
      args: ["-c", script],
      env: { TZ: "UTC", HOME: "/tmp" },
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
    const text = new TextDecoder().decode(output.stdout);
    assert(output.success, `lftp failed: ${new TextDecoder().decode(output.stderr)}`);
    return text.split("\n").filter((line) => line !== "");
  } finally {
    clearTimeout(timer);
  }
}

/** Entries a server would list, relative to the real clock (lftp infers years from it). */
function sampleEntries(): FtpFileInfoInit[] {
  const recent = new Date(Math.floor((Date.now() - 2 * 86_400_000) / 60_000) * 60_000);
  return [
    { name: "hello.txt", type: "file", size: 13, modified: OLD, owner: "mulder", group: "ftp" },
    { name: "with space.txt", type: "file", size: 5, modified: recent },
    { name: " lead", type: "file", size: 7, modified: recent },
    { name: "caf\u00e9; cr\u00e8me", type: "file", size: 1, modified: OLD },
    { name: "pub", type: "directory", modified: OLD, permissions: { mode: 0o755 } },
    { name: "latest", type: "symlink", target: "pub/hello.txt", size: 13, modified: OLD },
  ];
}

Deno.test({
  name: "formatFtpListLine() output is read back by lftp (LIST)",
  ignore: !lftpInstalled,
  async fn() {
    const entries = sampleEntries();
    const list = entries.map((e) => formatFtpListLine(e)).join("\r\n") + "\r\n";
    let lines: string[] = [];
    const commands = await withListingServer({ list, mlsd: "" }, async (port) => {
      lines = await lftpLongList(port, false);
    });
    assert(commands.includes("LIST"), commands.join(", "));
    // lftp prints mode, links, owner, group, size, its date (seconds :30 or noon for
    // dates it knows only to the minute or day), the name, / or @ for dirs and links.
    const recent = entries[1]!.modified!.toISOString().slice(0, 16);
    const byName = new Map(lines.map((line) => {
      const match = /^(\S{10})\s+\d+\s+(\S+)\s+(\S+)\s+(\d+) (\S+) (.*)$/.exec(line);
      assert(match !== null, line);
      return [match[6]!, match.slice(1, 6)];
    }));
    assertEquals(byName.get("hello.txt"), [
      "-rw-r--r--",
      "mulder",
      "ftp",
      "13",
      "2023-11-14T12:00:00",
    ]);
    assertEquals(byName.get("with space.txt"), ["-rw-r--r--", "ftp", "ftp", "5", `${recent}:30`]);
    assertEquals(byName.get(" lead"), ["-rw-r--r--", "ftp", "ftp", "7", `${recent}:30`]);
    assertEquals(byName.get("caf\u00e9; cr\u00e8me")?.[3], "1");
    assertEquals(byName.get("pub/")?.[0], "drwxr-xr-x");
    assertEquals(byName.get("latest@ -> pub/hello.txt")?.[0], "lrwxrwxrwx");
    assertEquals(byName.size, entries.length);
  },
});

Deno.test({
  name: "formatMlsxLine() output is read back by lftp (MLSD)",
  ignore: !lftpInstalled,
  async fn() {
    const entries = sampleEntries().map((e) => ({
      ...e,
      permissions: { mode: e.type === "directory" ? 0o755 : e.type === "symlink" ? 0o777 : 0o640 },
    }));
    const mlsd = entries.map((e) => formatMlsxLine(e)).join("\r\n") + "\r\n";
    let lines: string[] = [];
    const commands = await withListingServer({ list: "", mlsd }, async (port) => {
      lines = await lftpLongList(port, true);
    });
    // lftp took the MLSD listing and did not fall back to LIST.
    assert(commands.includes("MLSD"), commands.join(", "));
    assert(!commands.includes("LIST"), commands.join(", "));
    const byName = new Map(lines.map((line) => {
      const match = /^(\S{10})\s.*?(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}) (.*)$/.exec(line);
      assert(match !== null, line);
      return [match[3]!, [match[1]!, match[2]!]];
    }));
    const exact = (date: Date | undefined) => date!.toISOString().slice(0, 19);
    assertEquals(byName.get("hello.txt"), ["-rw-r-----", "2023-11-14T22:13:20"]);
    assertEquals(byName.get("with space.txt"), ["-rw-r-----", exact(entries[1]!.modified)]);
    assertEquals(byName.get(" lead"), ["-rw-r-----", exact(entries[2]!.modified)]);
    assertEquals(byName.get("caf\u00e9; cr\u00e8me"), ["-rw-r-----", "2023-11-14T22:13:20"]);
    assertEquals(byName.get("pub/"), ["drwxr-xr-x", "2023-11-14T22:13:20"]);
    assertEquals(byName.get("latest@"), ["lrwxrwxrwx", "2023-11-14T22:13:20"]);
    assertEquals(byName.size, entries.length);
  },
});
