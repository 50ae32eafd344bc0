/**
 * FtpServer security rules, each sent over a raw socket: hostile paths,
 * symlinks out of the root, FTP bounce, read-only mode, anonymous login,
 * wrong passwords, the line cap, timeouts and connection caps.
 */
import { FtpDataConnections } from "../../net/_ftp_server_data.ts";
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertLess,
  assertMatch,
  assertRejects,
} from "../_helpers/assert.ts";
import { RawFtp, serveTree } from "./_ftp_server_client.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A tree with symlinks: two that lead out of the root, one that stays in. */
async function treeWithLinks(options: Parameters<typeof serveTree>[0] = {}) {
  const tree = await serveTree(options);
  const outside = await Deno.makeTempDir({ prefix: "inetkit_ftp_outside_" });
  await Deno.writeTextFile(`${outside}/secret.txt`, "TOP SECRET\n");
  await Deno.symlink(outside, `${tree.root}/link-out`);
  await Deno.symlink(`${outside}/secret.txt`, `${tree.root}/link-secret`);
  await Deno.symlink(`${outside}/missing.txt`, `${tree.root}/link-dangling`);
  await Deno.symlink("pub/hello.txt", `${tree.root}/link-in`);
  await Deno.symlink("/etc", `${tree.root}/pub/etc`);
  return {
    tree,
    outside,
    async [Symbol.asyncDispose]() {
      await tree[Symbol.asyncDispose]();
      await Deno.remove(outside, { recursive: true });
    },
  };
}

const HOSTILE_PATHS = [
  "../../etc/passwd",
  "/../etc/passwd",
  "a/../../etc/passwd",
  "..",
  "pub/../../etc/passwd",
  "%2e%2e/%2e%2e/etc/passwd",
  "..%2f..%2fetc%2fpasswd",
  "..\\..\\etc\\passwd",
  "pub\\..\\..\\etc\\passwd",
  "\\etc\\passwd",
  "/etc/passwd",
  "//etc/passwd",
  "link-out/secret.txt",
  "link-secret",
  "link-dangling",
  "pub/etc/passwd",
  "pub/etc",
];

Deno.test("FtpServer refuses hostile paths sent over a raw socket and never serves what is outside", async () => {
  await using links = await treeWithLinks();
  const ftp = await links.tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  for (const path of HOSTILE_PATHS) {
    const retr = await ftp.download(`RETR ${path}`);
    assertEquals(retr.replies.length, 1, `RETR ${path}: ${retr.replies}`);
    assertMatch(retr.replies[0]!, /^550 (Path refused|No such file)$/, `RETR ${path}`);
    assertMatch(await ftp.cmd(`SIZE ${path}`), /^550 /, `SIZE ${path}`);
    assertMatch(await ftp.cmd(`MDTM ${path}`), /^550 /, `MDTM ${path}`);
    assertMatch(await ftp.cmd(`MLST ${path}`), /^550 /, `MLST ${path}`);
    const cwd = await ftp.cmd(`CWD ${path}`);
    assertMatch(cwd, /^550 /, `CWD ${path}`);
    const list = await ftp.download(`LIST ${path}`);
    assertMatch(list.replies[0]!, /^550 /, `LIST ${path}`);
    const stat = await ftp.cmd(`STAT ${path}`);
    assertMatch(stat, /^550 /, `STAT ${path}`);
    assertEquals(await ftp.cmd("PWD"), '257 "/" is the current directory');
  }
});

Deno.test("FtpServer refuses NUL, CR and bare LF smuggled into a path", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  await ftp.write(
    new Uint8Array([...encoder.encode("SIZE pub/hello.txt"), 0, ...encoder.encode(".bak\r\n")]),
  );
  assertEquals(await ftp.reply(), "550 No such file");
  // A CR inside the line is kept in the argument and refused with it.
  await ftp.write("SIZE pub/hello.txt\rx\r\n");
  assertEquals(await ftp.reply(), "550 No such file");
  // A bare LF ends the line: the rest is another (unknown) command.
  await ftp.write("SIZE pub/hello.txt\nDELE readme.txt\r\n");
  assertEquals(await ftp.reply(), "213 13");
  assertEquals(await ftp.reply(), "550 Permission denied: the server is read-only");
});

Deno.test("FtpServer serves a symlink that stays inside the root, lists none that lead out", async () => {
  await using links = await treeWithLinks();
  const ftp = await links.tree.open();
  await ftp.login();
  assertEquals(decoder.decode((await ftp.download("RETR link-in")).data), "hello, world\r\n");
  assertEquals(await ftp.cmd("SIZE link-in"), "213 13");
  const names = decoder.decode((await ftp.download("NLST")).data).split("\r\n");
  assertEquals(names, ["link-in", "pub", "readme.txt", "upload", ""]);
  const pub = decoder.decode((await ftp.download("LIST pub")).data);
  assert(!pub.includes("etc"), pub);
});

Deno.test("FtpServer never writes through a symlink that leads out of the root", async () => {
  await using links = await treeWithLinks({ write: true });
  const ftp = await links.tree.open();
  await ftp.login();
  const attempts: [string, RegExp][] = [
    ["STOR link-out/new.txt", /^550 /],
    ["STOR link-secret", /^550 /],
    ["STOR link-dangling", /^550 /],
    ["APPE link-secret", /^550 /],
    ["APPE link-dangling", /^550 /],
    ["STOR ../new.txt", /^553 File name not allowed$/],
    ["STOR ..\\new.txt", /^553 File name not allowed$/],
  ];
  for (const [command, expected] of attempts) {
    const replies = await ftp.upload(command, "PWNED\n");
    assertEquals(replies.length, 1, `${command}: ${replies}`);
    assertMatch(replies[0]!, expected, command);
  }
  assertMatch(await ftp.cmd("MKD link-out/dir"), /^550 /);
  assertMatch(await ftp.cmd("DELE link-out/secret.txt"), /^550 /);
  assertMatch(await ftp.cmd("RMD link-out"), /^550 /);
  assertMatch(await ftp.cmd("RNFR link-out/secret.txt"), /^550 /);
  await ftp.cmd("RNFR readme.txt");
  assertMatch(await ftp.cmd("RNTO link-out/readme.txt"), /^550 /);
  assertEquals(await Deno.readTextFile(`${links.outside}/secret.txt`), "TOP SECRET\n");
  const outside = [];
  for await (const entry of Deno.readDir(links.outside)) outside.push(entry.name);
  assertEquals(outside, ["secret.txt"]);
  // Deleting the link itself is allowed and leaves its target alone.
  assertEquals(await ftp.cmd("DELE link-secret"), "250 File deleted");
  assertEquals(await Deno.readTextFile(`${links.outside}/secret.txt`), "TOP SECRET\n");
});

Deno.test("FtpServer refuses PORT and EPRT to another address or a port below 1024 (FTP bounce)", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  const own = "Refused: data connections go only to the address of the control connection";
  const low = "Refused: data connections to ports below 1024 are not allowed";
  const cases: [string, string][] = [
    ["PORT 127,0,0,2,31,144", `504 ${own}`],
    ["PORT 10,0,0,1,31,144", `504 ${own}`],
    ["PORT 192,168,1,1,0,25", `504 ${own}`],
    ["PORT 127,0,0,1,0,21", `504 ${low}`],
    ["PORT 127,0,0,1,3,255", `504 ${low}`],
    ["EPRT |1|10.0.0.1|8080|", `504 ${own}`],
    ["EPRT |2|::1|8080|", `504 ${own}`],
    ["EPRT |1|127.0.0.1|25|", `504 ${low}`],
    ["PORT 127,0,0,1,300,1", "501 Syntax error in PORT argument"],
    ["PORT 127,0,0,1,4", "501 Syntax error in PORT argument"],
    ["PORT 127.0.0.1:8080", "501 Syntax error in PORT argument"],
    ["EPRT |1|::1|8080|", "501 Syntax error in EPRT argument"],
    ["EPRT |3|x|8080|", "522 Network protocol not supported, use (1,2)"],
    ["EPRT 1|127.0.0.1|8080", "501 Syntax error in EPRT argument"],
  ];
  for (const [command, reply] of cases) assertEquals(await ftp.cmd(command), reply, command);
  // Nothing was set up: a transfer needs PASV/PORT first.
  assertEquals(await ftp.cmd("RETR readme.txt"), "425 Use PORT, EPRT, PASV or EPSV first");
  // A refused PORT drops an earlier good one.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  await ftp.cmd(`PORT 127,0,0,1,${port >> 8},${port & 255}`);
  await ftp.cmd("PORT 127,0,0,2,31,144");
  assertEquals(await ftp.cmd("RETR readme.txt"), "425 Use PORT, EPRT, PASV or EPSV first");
});

Deno.test("FtpDataConnections drops passive connections from other addresses than the control peer's", async () => {
  // The control peer is 127.0.0.2: our connection from 127.0.0.1 is a stranger.
  const data = new FtpDataConnections({
    peer: "127.0.0.2",
    local: "127.0.0.1",
    connectTimeout: 300,
  });
  const port = data.listen();
  const stranger = await Deno.connect({ hostname: "127.0.0.1", port });
  const buf = new Uint8Array(16);
  assertEquals(await stranger.read(buf), null); // closed at once
  stranger.close();
  const opening = data.open(new AbortController().signal);
  await assertRejects(() => opening, DOMException, "No data connection within 300 ms");
  assertEquals(data.pending, null);
});

Deno.test("FtpDataConnections keeps the control peer's passive connection, one per listen", async () => {
  const data = new FtpDataConnections({
    peer: "::ffff:127.0.0.1",
    local: "127.0.0.1",
    connectTimeout: 1000,
  });
  const port = data.listen();
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  const conn = await data.open(new AbortController().signal);
  // The listener is closed after the first connection.
  await assertRejects(() => Deno.connect({ hostname: "127.0.0.1", port }));
  await assertRejects(() => data.open(new AbortController().signal), TypeError);
  conn.close();
  client.close();
});

Deno.test("FtpServer answers 425 when the passive data connection does not come in time", async () => {
  await using tree = await serveTree({ connectTimeout: 200 });
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("PASV");
  const started = Date.now();
  assertEquals(await ftp.cmd("RETR readme.txt"), "425 Cannot open data connection");
  assertGreaterOrEqual(Date.now() - started, 150);
  assertEquals(await ftp.cmd("NOOP"), "200 NOOP ok");
});

Deno.test("FtpServer in read-only mode refuses STOR, APPE, DELE, MKD, RMD, RNFR and RNTO", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  const refused = "550 Permission denied: the server is read-only";
  for (
    const command of [
      "STOR upload/x",
      "APPE upload/x",
      "DELE readme.txt",
      "MKD upload/d",
      "RMD upload",
      "RNFR readme.txt",
      "RNTO x",
    ]
  ) {
    assertEquals(await ftp.cmd(command), refused, command);
  }
  assert((await Deno.stat(`${tree.root}/readme.txt`)).isFile);
  const names = [];
  for await (const entry of Deno.readDir(`${tree.root}/upload`)) names.push(entry.name);
  assertEquals(names, []);
  const mlsd = decoder.decode((await ftp.download("MLSD")).data);
  assertMatch(mlsd, /perm=r;.* readme\.txt/);
});

Deno.test("FtpServer gives a user's own write flag precedence over the server's", async () => {
  await using tree = await serveTree({
    users: [
      { user: "mulder", password: "trustno1", write: true },
      { user: "guest", password: "guest" },
    ],
  });
  const writer = await tree.open();
  await writer.login();
  assertEquals(await writer.cmd("MKD upload/d"), '257 "/upload/d" created');
  const guest = await tree.open();
  await guest.login("guest", "guest");
  assertEquals(await guest.cmd("MKD upload/e"), "550 Permission denied: the server is read-only");
});

Deno.test("FtpServer refuses anonymous logins unless asked", async () => {
  await using off = await serveTree();
  const ftp = await off.open();
  assertEquals(await ftp.cmd("USER anonymous"), "530 Anonymous login is not allowed");
  assertEquals(await ftp.cmd("PASS guest@example.test"), "503 Send USER first");
  assertEquals(await ftp.cmd("USER ftp"), "530 Anonymous login is not allowed");
  assertEquals(await ftp.cmd("USER Anonymous"), "530 Anonymous login is not allowed");
  assertEquals(await ftp.cmd("PWD"), "530 Please log in with USER and PASS");

  await using on = await serveTree({ anonymous: true });
  const anon = await on.open();
  assertEquals(
    await anon.cmd("USER anonymous"),
    "331 Anonymous login ok: send your e-mail address as the password",
  );
  assertEquals(await anon.cmd("PASS guest@example.test"), "230 Login successful");
  assertEquals(await anon.cmd("SIZE readme.txt"), "213 36");
  assertEquals(await anon.cmd("DELE readme.txt"), "550 Permission denied: the server is read-only");
  assert(!on.log.join("\n").includes("guest@example.test"));
});

Deno.test("FtpServer delays each wrong password and closes after the third", async () => {
  await using tree = await serveTree({ failureDelay: 250 });
  const ftp = await tree.open();
  for (let attempt = 1; attempt <= 2; attempt++) {
    await ftp.cmd("USER mulder");
    const started = Date.now();
    assertEquals(await ftp.cmd("PASS wrong"), "530 Login incorrect");
    assertGreaterOrEqual(Date.now() - started, 200);
  }
  await ftp.cmd("USER mulder");
  assertEquals(
    await ftp.cmd("PASS trustno2"),
    "530 Login incorrect: too many failures, closing the connection",
  );
  assertEquals(await ftp.reply(), "<EOF>");
  // A right password is not delayed.
  const again = await tree.open();
  await again.cmd("USER mulder");
  const started = Date.now();
  assertEquals(await again.cmd("PASS trustno1"), "230 Login successful");
  assertLess(Date.now() - started, 200);
});

Deno.test("FtpServer answers 500 and closes on a command line over 4 KiB", async () => {
  await using tree = await serveTree();
  const ok = await tree.open();
  // 4096 bytes are allowed.
  assertEquals(await ok.cmd(`NOOP ${"x".repeat(4091)}`), "200 NOOP ok");
  const ftp = await tree.open();
  await ftp.write(`NOOP ${"x".repeat(5000)}\r\nNOOP\r\n`);
  assertEquals(await ftp.reply(), "500 Command line too long: the limit is 4096 bytes");
  assertEquals(await ftp.reply(), "<EOF>");
  // Without a line end at all: the cap is hit all the same.
  const endless = await tree.open();
  for (let i = 0; i < 5; i++) await endless.write("A".repeat(1000));
  assertEquals(await endless.reply(), "500 Command line too long: the limit is 4096 bytes");
  assertEquals(await endless.reply(), "<EOF>");
});

Deno.test("FtpServer says 421 Timeout and closes an idle control connection", async () => {
  await using tree = await serveTree({ idleTimeout: 300 });
  const ftp = await tree.open();
  await ftp.login();
  const started = Date.now();
  assertEquals(
    await ftp.reply(),
    "421 Timeout: no command for 0.3 s, closing control connection",
  );
  assertGreaterOrEqual(Date.now() - started, 250);
  assertEquals(await ftp.reply(), "<EOF>");
  // Commands keep it alive.
  const busy = await tree.open();
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 120));
    assertEquals(await busy.cmd("NOOP"), "200 NOOP ok");
  }
});

Deno.test("FtpServer says 421 and closes when a data connection stalls, leaving no upload behind", async () => {
  await using tree = await serveTree({ write: true, dataTimeout: 300, idleTimeout: 5000 });
  const ftp = await tree.open();
  await ftp.login();
  const data = await ftp.passive();
  assertEquals(
    await ftp.cmd("STOR upload/stalled.bin"),
    "150 Ok to send data for /upload/stalled.bin",
  );
  await data.write(new Uint8Array(1000));
  assertEquals(
    await ftp.reply(),
    "421 Timeout: no data moved for 0.3 s, closing control connection",
  );
  assertEquals(await ftp.reply(), "<EOF>");
  data.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const names = [];
  for await (const entry of Deno.readDir(`${tree.root}/upload`)) names.push(entry.name);
  assertEquals(names, []);
});

Deno.test("FtpServer keeps a slow but moving transfer alive past the data timeout", async () => {
  await using tree = await serveTree({ write: true, dataTimeout: 300, idleTimeout: 300 });
  const ftp = await tree.open();
  await ftp.login();
  const data = await ftp.passive();
  await ftp.cmd("STOR upload/slow.bin");
  for (let i = 0; i < 8; i++) {
    await data.write(new Uint8Array(100).fill(65));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  data.close();
  assertEquals(await ftp.reply(), "226 Transfer complete");
  assertEquals((await Deno.stat(`${tree.root}/upload/slow.bin`)).size, 800);
});

Deno.test("FtpServer answers 421 over its connection caps, in all and per address", async () => {
  await using total = await serveTree({ maxConnections: 1 });
  const first = await total.open();
  const { ftp: second, greeting } = await RawFtp.open(total.port);
  assertEquals(greeting, "421 Too many connections: try again later");
  assertEquals(await second.reply(), "<EOF>");
  second.close();
  assertEquals(await first.cmd("NOOP"), "200 NOOP ok");

  await using perAddress = await serveTree({ maxConnectionsPerAddress: 2 });
  await perAddress.open();
  await perAddress.open();
  const { ftp: third, greeting: busy } = await RawFtp.open(perAddress.port);
  assertEquals(busy, "421 Too many connections from your address: try again later");
  third.close();
});

Deno.test("FtpServer caps uploads at maxUploadSize with 552 and leaves nothing behind", async () => {
  await using tree = await serveTree({ write: true, maxUploadSize: 1000 });
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  assertEquals(await ftp.upload("STOR upload/ok.bin", new Uint8Array(1000)), [
    "150 Ok to send data for /upload/ok.bin",
    "226 Transfer complete",
  ]);
  const data = await ftp.passive();
  assertEquals(await ftp.cmd("STOR upload/big.bin"), "150 Ok to send data for /upload/big.bin");
  await data.write(new Uint8Array(5000)).catch(() => {});
  assertEquals(await ftp.reply(), "552 Upload exceeds 1000 bytes: transfer aborted");
  data.close();
  const names = [];
  for await (const entry of Deno.readDir(`${tree.root}/upload`)) names.push(entry.name);
  assertEquals(names, ["ok.bin"]);
});
