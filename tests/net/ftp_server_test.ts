/**
 * FtpServer transcripts: a raw TCP client sends commands and the exact
 * replies are checked (RFC 959, 2389, 2428, 3659, 2640).
 */
import { FtpServer } from "../../net/ftp_server.ts";
import { ftpCommandText } from "../../net/_ftp_server_session.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../_helpers/assert.ts";
import { RawFtp, readAllText, serveTree } from "./_ftp_server_client.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

Deno.test("FtpServer greets with 220 and answers SYST, FEAT, HELP and NOOP before login", async () => {
  await using tree = await serveTree();
  const { ftp, greeting } = await RawFtp.open(tree.port);
  try {
    assertEquals(greeting, "220 inetkit FTP server ready");
    assertEquals(await ftp.cmd("SYST"), "215 UNIX Type: L8");
    assertEquals(
      await ftp.cmd("FEAT"),
      [
        "211-Features:",
        " EPRT",
        " EPSV",
        " MDTM",
        " MLST type*;size*;modify*;perm*;unique*;",
        " PASV",
        " REST STREAM",
        " SIZE",
        " TVFS",
        " UTF8",
        "211 End",
      ].join("\n"),
    );
    assertEquals(await ftp.cmd("NOOP"), "200 NOOP ok");
    const help = await ftp.cmd("HELP");
    assert(help.startsWith("214-The following commands are recognized:\n"), help);
    assert(help.endsWith("\n214 Help OK"), help);
    for (const verb of ["USER", "RETR", "MLSD", "EPSV", "AUTH", "ABOR"]) {
      assertMatch(help, new RegExp(`\\b${verb}\\b`));
    }
    assertEquals(await ftp.cmd("OPTS UTF8 ON"), "200 Always in UTF-8 mode");
    assertEquals(await ftp.cmd("QUIT"), "221 Goodbye");
    assertEquals(await ftp.reply(), "<EOF>");
  } finally {
    ftp.close();
  }
});

Deno.test("FtpServer offers AUTH TLS, PBSZ and PROT in FEAT only with a certificate", async () => {
  const { testCert } = await import("../_helpers/tls.ts");
  const { cert, key } = await testCert();
  await using tree = await serveTree({ cert, key });
  const ftp = await tree.open();
  const feat = await ftp.cmd("FEAT");
  assert(feat.startsWith("211-Features:\n AUTH TLS\n PBSZ\n PROT\n EPRT\n"), feat);
});

Deno.test("FtpServer refuses commands other than login ones before login with 530", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  for (const command of ["PWD", "CWD pub", "LIST", "RETR readme.txt", "PASV", "STAT", "SIZE x"]) {
    assertEquals(await ftp.cmd(command), "530 Please log in with USER and PASS", command);
  }
  assertEquals(await ftp.cmd("PASS trustno1"), "503 Send USER first");
  assertEquals(await ftp.cmd("USER mulder"), "331 Password required");
  assertEquals(await ftp.cmd("PASS trustno1"), "230 Login successful");
  assertEquals(await ftp.cmd("PWD"), '257 "/" is the current directory');
  assertEquals(await ftp.cmd("USER other"), "530 Already logged in: cannot change to another user");
  assertEquals(await ftp.cmd("PASS x"), "503 Already logged in");
});

Deno.test("FtpServer asks for a password for unknown users too and refuses them alike", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  assertEquals(await ftp.cmd("USER nobody"), "331 Password required");
  assertEquals(await ftp.cmd("PASS x"), "530 Login incorrect");
  assertEquals(await ftp.cmd("USER mulder"), "331 Password required");
  assertEquals(await ftp.cmd("PASS wrong"), "530 Login incorrect");
});

Deno.test("FtpServer verify callback logs in users not in the table, with the client's address", async () => {
  const seen: string[] = [];
  await using tree = await serveTree({
    users: [],
    verify: (user, password, info) => {
      seen.push(`${user}:${password}:${info.remoteAddr.hostname}:${info.tls}`);
      if (user === "boom") throw new Error("backend down");
      return user === "scully" && password === "fbi";
    },
  });
  const ftp = await tree.open();
  assertEquals(await ftp.login("boom", "x"), "530 Login incorrect");
  assertEquals(await ftp.login("scully", "wrong"), "530 Login incorrect");
  assertEquals(await ftp.login("scully", "fbi"), "230 Login successful");
  assertEquals(seen, [
    "boom:x:127.0.0.1:false",
    "scully:wrong:127.0.0.1:false",
    "scully:fbi:127.0.0.1:false",
  ]);
});

Deno.test("FtpServer PWD, CWD, CDUP and their X aliases move within the virtual tree", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  assertEquals(await ftp.cmd("CWD pub"), "250 Directory changed to /pub");
  assertEquals(await ftp.cmd("XPWD"), '257 "/pub" is the current directory');
  assertEquals(await ftp.cmd("CWD missing"), "550 No such directory");
  assertEquals(await ftp.cmd("CWD hello.txt"), "550 Not a directory");
  assertEquals(await ftp.cmd("CDUP"), "250 Directory changed to /");
  assertEquals(await ftp.cmd("CDUP"), "550 Cannot change directory: path refused");
  assertEquals(await ftp.cmd("XCWD /upload/"), "250 Directory changed to /upload");
  assertEquals(await ftp.cmd("CWD ../pub/./"), "250 Directory changed to /pub");
  assertEquals(await ftp.cmd("XCUP"), "250 Directory changed to /");
  assertEquals(await ftp.cmd("CWD"), "501 Syntax error: CWD needs an argument");
});

Deno.test("FtpServer PWD quotes a directory name with double quotes by doubling them", async () => {
  await using tree = await serveTree();
  await Deno.mkdir(`${tree.root}/a "q" dir`);
  const ftp = await tree.open();
  await ftp.login();
  assertEquals(await ftp.cmd('CWD a "q" dir'), '250 Directory changed to /a "q" dir');
  assertEquals(await ftp.cmd("PWD"), '257 "/a ""q"" dir" is the current directory');
});

Deno.test("FtpServer TYPE, MODE and STRU accept what is supported and refuse the rest", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  const cases: [string, string][] = [
    ["TYPE I", "200 Type set to I (binary)"],
    ["TYPE L 8", "200 Type set to I (binary)"],
    ["TYPE A", "200 Type set to A (ASCII)"],
    ["TYPE A N", "200 Type set to A (ASCII)"],
    ["TYPE a", "200 Type set to A (ASCII)"],
    ["TYPE E", "504 Type not supported: use A or I"],
    ["TYPE A T", "504 Type not supported: use A or I"],
    ["TYPE L 7", "504 Type not supported: use A or I"],
    ["TYPE X", "501 Syntax error in TYPE argument"],
    ["TYPE I I I", "501 Syntax error in TYPE argument"],
    ["TYPE", "501 Syntax error: TYPE needs an argument"],
    ["MODE S", "200 MODE set to S"],
    ["MODE B", "504 MODE B is not supported: use S"],
    ["MODE Z", "501 Syntax error in MODE argument"],
    ["STRU F", "200 STRU set to F"],
    ["STRU R", "504 STRU R is not supported: use F"],
    ["STRU XX", "501 Syntax error in STRU argument"],
    ["ALLO 1000", "202 ALLO is not needed"],
  ];
  for (const [command, reply] of cases) assertEquals(await ftp.cmd(command), reply, command);
});

Deno.test("FtpServer answers unknown commands 500 and malformed lines with a syntax error", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  assertEquals(await ftp.cmd("SITE CHMOD 777 x"), "500 Unknown command SITE");
  assertEquals(await ftp.cmd("XYZZY"), "500 Syntax error");
  assertEquals(await ftp.cmd(""), "500 Syntax error");
  assertEquals(await ftp.cmd("R3TR x"), "500 Syntax error");
  assertEquals(await ftp.cmd("noop"), "200 NOOP ok");
});

Deno.test("FtpServer PASV and RETR send a file between 150 and 226", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  assertEquals(await ftp.cmd("TYPE I"), "200 Type set to I (binary)");
  const pasv = await ftp.cmd("PASV");
  assertMatch(pasv, /^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)$/);
  const { replies, data } = await ftp.download("RETR pub/hello.txt");
  assertEquals(replies, [
    "150 Opening BINARY mode data connection for /pub/hello.txt (13 bytes)",
    "226 Transfer complete",
  ]);
  assertEquals(decoder.decode(data), "hello, world\n");
  const bytes = await ftp.download("RETR /pub/bytes.bin");
  assertEquals(bytes.data, new Uint8Array(1024).map((_, i) => i & 255));
});

Deno.test("FtpServer EPSV answers 229 and serves one data connection per passive command", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  const data = await ftp.passive(true);
  assertEquals(
    await ftp.cmd("RETR readme.txt"),
    "150 Opening ASCII mode data connection for /readme.txt (36 bytes)",
  );
  assertEquals(await readAllText(data), "Welcome to the inetkit test server.\r\n");
  assertEquals(await ftp.reply(), "226 Transfer complete");
  assertEquals(await ftp.cmd("RETR readme.txt"), "425 Use PORT, EPRT, PASV or EPSV first");
  assertEquals(await ftp.cmd("EPSV 2"), "522 Network protocol not supported, use (1)");
  assertMatch(await ftp.cmd("EPSV 1"), /^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)$/);
  assertEquals(await ftp.cmd("EPSV ALL"), "200 EPSV ALL ok");
  assertEquals(await ftp.cmd("PASV"), "503 Only EPSV is allowed after EPSV ALL");
  assertEquals(await ftp.cmd("PORT 127,0,0,1,200,10"), "503 Only EPSV is allowed after EPSV ALL");
});

Deno.test("FtpServer LIST writes ls -l lines with CR LF, options stripped", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  const root = await ftp.download("LIST");
  assertEquals(root.replies, ["150 Here comes the directory listing", "226 Transfer complete"]);
  assertEquals(
    decoder.decode(root.data),
    [
      "drwxr-xr-x    1 ftp      ftp             0 Nov 14  2023 pub",
      "-rw-r--r--    1 ftp      ftp            36 Nov 14  2023 readme.txt",
      "drwxr-xr-x    1 ftp      ftp             0 Nov 14  2023 upload",
      "",
    ].join("\r\n"),
  );
  const pub = await ftp.download("LIST -la pub");
  assertEquals(
    decoder.decode(pub.data),
    [
      "-rw-r--r--    1 ftp      ftp          1024 Nov 14  2023 bytes.bin",
      "-rw-r--r--    1 ftp      ftp             8 Nov 14  2023 café ☕.txt",
      "-rw-r--r--    1 ftp      ftp            13 Nov 14  2023 hello.txt",
      "",
    ].join("\r\n"),
  );
  const file = await ftp.download("LIST pub/hello.txt");
  assertEquals(
    decoder.decode(file.data),
    "-rw-r--r--    1 ftp      ftp            13 Nov 14  2023 pub/hello.txt\r\n",
  );
  const empty = await ftp.download("LIST upload");
  assertEquals(empty.replies, ["150 Here comes the directory listing", "226 Transfer complete"]);
  assertEquals(empty.data.length, 0);
  assertEquals((await ftp.download("LIST nowhere")).replies, ["550 No such file or directory"]);
});

Deno.test("FtpServer NLST lists names, prefixed with the argument as vsftpd does", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  assertEquals(
    decoder.decode((await ftp.download("NLST")).data),
    "pub\r\nreadme.txt\r\nupload\r\n",
  );
  assertEquals(
    decoder.decode((await ftp.download("NLST pub/")).data),
    "pub/bytes.bin\r\npub/café ☕.txt\r\npub/hello.txt\r\n",
  );
  assertEquals(decoder.decode((await ftp.download("NLST readme.txt")).data), "readme.txt\r\n");
});

Deno.test("FtpServer MLSD and MLST send the facts type, size, modify, perm and unique", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  const { replies, data } = await ftp.download("MLSD");
  assertEquals(replies, ["150 Here comes the directory listing", "226 Transfer complete"]);
  const lines = decoder.decode(data).split("\r\n");
  assertEquals(lines.length, 4);
  assertMatch(
    lines[0]!,
    /^type=dir;modify=20231114221320;perm=el;unique=[0-9a-f]+g[0-9a-f]+; pub$/,
  );
  assertMatch(
    lines[1]!,
    /^type=file;size=36;modify=20231114221320;perm=r;unique=[0-9a-f]+g[0-9a-f]+; readme\.txt$/,
  );
  assertMatch(lines[2]!, /^type=dir;.*; upload$/);
  assertEquals(lines[3], "");
  const mlst = await ftp.cmd("MLST pub/hello.txt");
  assertMatch(
    mlst,
    /^250-Listing \/pub\/hello\.txt\n type=file;size=13;modify=20231114221320;perm=r;unique=\w+; \/pub\/hello\.txt\n250 End$/,
  );
  assertMatch(
    await ftp.cmd("MLST"),
    /^250-Listing \/\n type=dir;modify=\d{14};perm=el;unique=\w+; \/\n250 End$/,
  );
  assertEquals(await ftp.cmd("MLST nowhere"), "550 No such file or directory");
  assertEquals((await ftp.download("MLSD readme.txt")).replies, [
    "501 Not a directory: use MLST for a file",
  ]);
});

Deno.test("FtpServer OPTS MLST selects the facts that MLSD, MLST and FEAT show", async () => {
  await using tree = await serveTree({ write: true });
  const ftp = await tree.open();
  await ftp.login();
  assertEquals(await ftp.cmd("OPTS MLST size;Modify;bogus;"), "200 MLST OPTS size;modify;");
  assertEquals(
    await ftp.cmd("MLST readme.txt"),
    "250-Listing /readme.txt\n type=file;size=36;modify=20231114221320; /readme.txt\n250 End",
  );
  assertMatch(await ftp.cmd("FEAT"), /\n MLST type;size\*;modify\*;perm;unique;\n/);
  assertEquals(await ftp.cmd("OPTS MLST type;perm;"), "200 MLST OPTS type;perm;");
  assertEquals(
    decoder.decode((await ftp.download("MLSD pub")).data),
    "type=file;perm=adfrw; bytes.bin\r\ntype=file;perm=adfrw; café ☕.txt\r\n" +
      "type=file;perm=adfrw; hello.txt\r\n",
  );
  assertEquals(await ftp.cmd("OPTS MLST"), "200 MLST OPTS");
  assertEquals(await ftp.cmd("OPTS BOGUS 1"), "501 Option not understood");
});

Deno.test("FtpServer SIZE and MDTM answer 213 for files and 550 otherwise", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  assertEquals(await ftp.cmd("SIZE pub/bytes.bin"), "213 1024");
  assertEquals(await ftp.cmd("SIZE pub"), "550 Not a regular file");
  assertEquals(await ftp.cmd("SIZE nowhere"), "550 No such file");
  assertEquals(await ftp.cmd("MDTM readme.txt"), "213 20231114221320");
  assertEquals(await ftp.cmd("MDTM nowhere"), "550 No such file");
  assertEquals(await ftp.cmd("SIZE"), "501 Syntax error: SIZE needs an argument");
});

Deno.test("FtpServer REST then RETR sends the file from the offset", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  const data = await ftp.passive();
  assertEquals(await ftp.cmd("REST 7"), "350 Restarting at 7: send RETR or STOR");
  assertEquals(
    await ftp.cmd("RETR pub/hello.txt"),
    "150 Opening BINARY mode data connection for /pub/hello.txt (6 bytes)",
  );
  assertEquals(await readAllText(data), "world\n");
  assertEquals(await ftp.reply(), "226 Transfer complete");
  // The offset is used once.
  assertEquals(decoder.decode((await ftp.download("RETR pub/hello.txt")).data), "hello, world\n");
  // At the end: nothing to send; beyond it: 554.
  await ftp.cmd("REST 13");
  const atEnd = await ftp.download("RETR pub/hello.txt");
  assertEquals(atEnd.data.length, 0);
  assertEquals(atEnd.replies[1], "226 Transfer complete");
  await ftp.cmd("REST 14");
  assertEquals(
    (await ftp.download("RETR pub/hello.txt")).replies,
    ["554 Restart position 14 is beyond the end of the file (13 bytes)"],
  );
  assertEquals(await ftp.cmd("REST -1"), "501 Syntax error: REST needs a byte offset");
  assertEquals(await ftp.cmd("REST 1e3"), "501 Syntax error: REST needs a byte offset");
  // Another command in between drops the offset.
  await ftp.cmd("REST 7");
  await ftp.cmd("PWD");
  assertEquals(decoder.decode((await ftp.download("RETR pub/hello.txt")).data), "hello, world\n");
});

Deno.test("FtpServer STOR writes a new file and replaces an existing one", async () => {
  await using tree = await serveTree({ write: true });
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  assertEquals(await ftp.upload("STOR upload/new.bin", "first"), [
    "150 Ok to send data for /upload/new.bin",
    "226 Transfer complete",
  ]);
  assertEquals(await Deno.readTextFile(`${tree.root}/upload/new.bin`), "first");
  await ftp.upload("STOR upload/new.bin", "second version");
  assertEquals(await Deno.readTextFile(`${tree.root}/upload/new.bin`), "second version");
  assertEquals(await ftp.cmd("SIZE upload/new.bin"), "213 14");
  assertEquals(await ftp.upload("STOR upload", "x"), ["550 Is a directory"]);
  assertEquals(await ftp.upload("STOR missing/dir/x", "x"), ["550 No such file or directory"]);
  assertEquals(await ftp.upload("STOR /", "x"), ["553 File name not allowed"]);
  const names = [];
  for await (const entry of Deno.readDir(`${tree.root}/upload`)) names.push(entry.name);
  assertEquals(names, ["new.bin"]);
});

Deno.test("FtpServer REST then STOR resumes an upload into the file itself", async () => {
  await using tree = await serveTree({ write: true });
  await Deno.writeTextFile(`${tree.root}/upload/part.txt`, "hello, XXXXXX");
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  const data = await ftp.passive();
  assertEquals(await ftp.cmd("REST 7"), "350 Restarting at 7: send RETR or STOR");
  assertEquals(await ftp.cmd("STOR upload/part.txt"), "150 Ok to send data for /upload/part.txt");
  await data.write(encoder.encode("world!"));
  data.close();
  assertEquals(await ftp.reply(), "226 Transfer complete");
  assertEquals(await Deno.readTextFile(`${tree.root}/upload/part.txt`), "hello, world!");
  await ftp.cmd("REST 100");
  assertEquals(
    await ftp.upload("STOR upload/part.txt", "x"),
    ["554 Restart position 100 is beyond the end of the file (13 bytes)"],
  );
  assertEquals(
    tree.log.at(-1)?.replace(/\[.*?\]/, "[date]"),
    '127.0.0.1 mulder [date] "STOR /upload/part.txt from 7" 226 6',
  );
});

Deno.test("FtpServer APPE appends to a file and creates a missing one", async () => {
  await using tree = await serveTree({ write: true });
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  assertEquals(await ftp.upload("APPE upload/log.txt", "one\n"), [
    "150 Ok to send data for /upload/log.txt",
    "226 Transfer complete",
  ]);
  await ftp.upload("APPE upload/log.txt", "two\n");
  assertEquals(await Deno.readTextFile(`${tree.root}/upload/log.txt`), "one\ntwo\n");
});

Deno.test("FtpServer DELE, MKD, RMD, RNFR and RNTO change the tree", async () => {
  await using tree = await serveTree({ write: true });
  const ftp = await tree.open();
  await ftp.login();
  assertEquals(await ftp.cmd("MKD upload/new"), '257 "/upload/new" created');
  assertEquals(await ftp.cmd("XMKD upload/new"), "550 File exists");
  assertEquals(await ftp.cmd("MKD nowhere/new"), "550 No such file or directory");
  assertEquals(await ftp.cmd("RNFR readme.txt"), "350 Ready for RNTO");
  assertEquals(await ftp.cmd("RNTO upload/new/readme.txt"), "250 Rename successful");
  assert((await Deno.stat(`${tree.root}/upload/new/readme.txt`)).isFile);
  assertEquals(await ftp.cmd("RNTO x"), "503 Send RNFR first");
  assertEquals(await ftp.cmd("RNFR nowhere"), "550 No such file or directory");
  await ftp.cmd("RNFR upload/new/readme.txt");
  await ftp.cmd("NOOP");
  assertEquals(await ftp.cmd("RNTO readme.txt"), "503 Send RNFR first");
  assertEquals(await ftp.cmd("RMD upload/new"), "550 Directory not empty");
  assertEquals(await ftp.cmd("DELE upload/new"), "550 Is a directory");
  assertEquals(await ftp.cmd("DELE upload/new/readme.txt"), "250 File deleted");
  assertEquals(await ftp.cmd("DELE upload/new/readme.txt"), "550 No such file or directory");
  assertEquals(await ftp.cmd("RMD upload/new/"), "250 Directory removed");
  assertEquals(await ftp.cmd("XRMD pub/hello.txt"), "550 Not a directory");
  assertEquals(await ftp.cmd("RMD /"), "550 Path refused");
  assertEquals(await ftp.cmd("RNFR /"), "550 No such file or directory");
  const names = [];
  for await (const entry of Deno.readDir(`${tree.root}/upload`)) names.push(entry.name);
  assertEquals(names, []);
});

Deno.test("FtpServer serves, lists and stores UTF-8 names (RFC 2640)", async () => {
  await using tree = await serveTree({ write: true });
  const ftp = await tree.open();
  await ftp.login();
  assertEquals(await ftp.cmd("OPTS UTF8 ON"), "200 Always in UTF-8 mode");
  assertEquals(await ftp.cmd("SIZE pub/café ☕.txt"), "213 8");
  assertEquals(decoder.decode((await ftp.download("RETR pub/café ☕.txt")).data), "unicode\r\n");
  assertEquals(await ftp.upload("STOR upload/日本語 ñ.txt", "x"), [
    "150 Ok to send data for /upload/日本語 ñ.txt",
    "226 Transfer complete",
  ]);
  assertEquals(await Deno.readTextFile(`${tree.root}/upload/日本語 ñ.txt`), "x");
  const listing = (await ftp.download("NLST upload")).data;
  assertEquals(listing, encoder.encode("upload/日本語 ñ.txt\r\n"));
  // Invalid UTF-8 names no file.
  await ftp.write(new Uint8Array([...encoder.encode("SIZE pub/caf"), 0xe9, 13, 10]));
  assertEquals(await ftp.reply(), "550 No such file");
});

Deno.test("FtpServer TYPE A sends LF as CR LF and stores CR LF as LF; TYPE I sends bytes as they are", async () => {
  await using tree = await serveTree({ write: true });
  await Deno.writeTextFile(`${tree.root}/upload/text.txt`, "a\nb\r\nc\rd\n");
  const ftp = await tree.open();
  await ftp.login();
  assertEquals(await ftp.cmd("TYPE A"), "200 Type set to A (ASCII)");
  const ascii = await ftp.download("RETR upload/text.txt");
  assertEquals(decoder.decode(ascii.data), "a\r\nb\r\nc\rd\r\n");
  await ftp.upload("STOR upload/up.txt", "x\r\ny\r\rz\r\n\r");
  assertEquals(await Deno.readTextFile(`${tree.root}/upload/up.txt`), "x\ny\r\rz\n\r");
  assertEquals(await ftp.cmd("TYPE I"), "200 Type set to I (binary)");
  assertEquals(
    decoder.decode((await ftp.download("RETR upload/text.txt")).data),
    "a\nb\r\nc\rd\n",
  );
  await ftp.upload("STOR upload/up.txt", "x\r\ny");
  assertEquals(await Deno.readTextFile(`${tree.root}/upload/up.txt`), "x\r\ny");
});

Deno.test("FtpServer STAT reports the session, and lists a path over the control connection", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  assertEquals(
    await ftp.cmd("STAT"),
    [
      "211-inetkit FTP server status:",
      " Connected from 127.0.0.1",
      " Logged in as mulder",
      " TYPE: BINARY, MODE: Stream, STRU: File",
      " Control connection is plain text",
      " Data connections are plain text",
      " No transfer in progress",
      "211 End of status",
    ].join("\n"),
  );
  assertEquals(
    await ftp.cmd("STAT -l pub"),
    [
      "213-Status follows:",
      "-rw-r--r--    1 ftp      ftp          1024 Nov 14  2023 bytes.bin",
      "-rw-r--r--    1 ftp      ftp             8 Nov 14  2023 café ☕.txt",
      "-rw-r--r--    1 ftp      ftp            13 Nov 14  2023 hello.txt",
      "213 End of status",
    ].join("\n"),
  );
  assertEquals(await ftp.cmd("STAT nowhere"), "550 No such file or directory");
});

Deno.test("FtpServer active mode: PORT and EPRT to the client's own address", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  await ftp.cmd("TYPE I");
  for (const verb of ["PORT", "EPRT"]) {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const argument = verb === "PORT"
      ? `127,0,0,1,${port >> 8},${port & 255}`
      : `|1|127.0.0.1|${port}|`;
    assertEquals(await ftp.cmd(`${verb} ${argument}`), `200 ${verb} command successful`);
    const accepted = listener.accept();
    assertEquals(
      await ftp.cmd("RETR pub/hello.txt"),
      "150 Opening BINARY mode data connection for /pub/hello.txt (13 bytes)",
    );
    const data = await accepted;
    assertEquals(await readAllText(data), "hello, world\n");
    assertEquals(await ftp.reply(), "226 Transfer complete");
  }
  // Nobody listening: 425.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  await ftp.cmd(`PORT 127,0,0,1,${port >> 8},${port & 255}`);
  assertEquals(await ftp.cmd("RETR pub/hello.txt"), "425 Cannot open data connection");
});

Deno.test("FtpServer answers pipelined commands in order", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.write("USER mulder\r\nPASS trustno1\r\nTYPE I\r\nSIZE readme.txt\r\nPWD\r\n");
  assertEquals(await ftp.reply(), "331 Password required");
  assertEquals(await ftp.reply(), "230 Login successful");
  assertEquals(await ftp.reply(), "200 Type set to I (binary)");
  assertEquals(await ftp.reply(), "213 36");
  assertEquals(await ftp.reply(), '257 "/" is the current directory');
});

Deno.test("FtpServer reads command lines ending in LF alone", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.write("USER mulder\nPASS trustno1\n");
  assertEquals(await ftp.reply(), "331 Password required");
  assertEquals(await ftp.reply(), "230 Login successful");
});

Deno.test("ftpCommandText() removes Telnet IAC sequences and the leading synch bytes", () => {
  const bytes = (...parts: (string | number[])[]) =>
    new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...encoder.encode(p)] : p));
  // IAC IP IAC DM ABOR, as Python's ftplib sends it (without OOB).
  assertEquals(ftpCommandText(bytes([255, 244, 255, 242], "ABOR")), "ABOR");
  // The urgent IAC taken out of band leaves IAC IP then DM.
  assertEquals(ftpCommandText(bytes([255, 244, 242], "ABOR")), "ABOR");
  // Option negotiation is dropped; IAC IAC is a 0xFF byte (U+FFFD in UTF-8).
  assertEquals(ftpCommandText(bytes([255, 253, 1], "NOOP")), "NOOP");
  assertEquals(ftpCommandText(bytes("RETR a", [255, 255], "b")), "RETR a\ufffdb");
  assertEquals(ftpCommandText(bytes("RETR café")), "RETR café");
  assertEquals(ftpCommandText(bytes("  NOOP")), "NOOP");
});

Deno.test("FtpServer ignores the Telnet synch that ftplib sends before ABOR", async () => {
  await using tree = await serveTree();
  const ftp = await tree.open();
  await ftp.login();
  await ftp.write(new Uint8Array([255, 244, 255, 242, ...encoder.encode("ABOR\r\n")]));
  assertEquals(await ftp.reply(), "225 No transfer to abort");
});

Deno.test("FtpServer writes one access-log line per login, transfer and change, never a password", async () => {
  await using tree = await serveTree({ write: true });
  const ftp = await tree.open();
  assertEquals(await ftp.login("mulder", "wrong-secret"), "530 Login incorrect");
  await ftp.login();
  await ftp.cmd("TYPE I");
  await ftp.download("RETR pub/hello.txt");
  await ftp.upload("STOR upload/x.txt", "12345");
  await ftp.cmd("MKD upload/d");
  await ftp.cmd("RNFR upload/x.txt");
  await ftp.cmd("RNTO upload/d/y.txt");
  await ftp.cmd("DELE upload/d/y.txt");
  await ftp.cmd("RMD upload/d");
  await ftp.download("LIST pub");
  await ftp.cmd("DELE nowhere");
  await ftp.cmd("PWD");
  await ftp.cmd("SIZE readme.txt");
  const lines = tree.log.map((l) =>
    l.replace(/\[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\]/, "[D]")
  );
  assertEquals(lines, [
    '127.0.0.1 - [D] "USER mulder" 530 -',
    '127.0.0.1 mulder [D] "USER mulder" 230 -',
    '127.0.0.1 mulder [D] "RETR /pub/hello.txt" 226 13',
    '127.0.0.1 mulder [D] "STOR /upload/x.txt" 226 5',
    '127.0.0.1 mulder [D] "MKD /upload/d" 257 -',
    '127.0.0.1 mulder [D] "RNTO /upload/x.txt -> /upload/d/y.txt" 250 -',
    '127.0.0.1 mulder [D] "DELE /upload/d/y.txt" 250 -',
    '127.0.0.1 mulder [D] "RMD /upload/d" 250 -',
    '127.0.0.1 mulder [D] "LIST /pub" 226 205',
    '127.0.0.1 mulder [D] "DELE /nowhere" 550 -',
  ]);
  for (const line of tree.log) {
    assert(!line.includes("trustno1") && !line.includes("wrong-secret"), line);
  }
});

Deno.test("FtpServer escapes control characters and quotes in access-log lines", async () => {
  await using tree = await serveTree({ write: true });
  const ftp = await tree.open();
  await ftp.login();
  await ftp.upload('STOR upload/a"b\x1b[31m.txt', "x");
  assertEquals(
    tree.log.at(-1)?.replace(/\[\d\d.*?\]/, "[D]"),
    '127.0.0.1 mulder [D] "STOR /upload/a\\x22b\\x1b[31m.txt" 226 1',
  );
});

Deno.test("FtpServer tells an idle session 421 when it shuts down", async () => {
  const tree = await serveTree();
  try {
    const ftp = await tree.open();
    await ftp.login();
    const stopped = tree.server.shutdown({ timeout: 2000 });
    assertEquals(await ftp.reply(), "421 Service not available: the server is shutting down");
    assertEquals(await ftp.reply(), "<EOF>");
    await stopped;
    ftp.close();
  } finally {
    await tree[Symbol.asyncDispose]();
  }
});

Deno.test("FtpServer checks its options", async () => {
  const root = await Deno.makeTempDir();
  try {
    assertThrows(() => new FtpServer({}), TypeError, "exactly one of root and fileSystem");
    assertThrows(() => new FtpServer({ root, cert: "x" }), TypeError, "cert and key go together");
    assertThrows(() => new FtpServer({ root, implicitTls: true }), TypeError, "implicitTls");
    assertThrows(() => new FtpServer({ root, requireTls: true }), TypeError, "requireTls");
    assertThrows(() => new FtpServer({ root, passivePorts: [80, 90] }), RangeError, "80-90");
    assertThrows(() => new FtpServer({ root, passivePorts: [50000, 40000] }), RangeError);
    assertThrows(() => new FtpServer({ root, maxLineLength: 0 }), RangeError, "maxLineLength");
    assertThrows(() => new FtpServer({ root, idleTimeout: -1 }), RangeError, "idleTimeout");
    assertThrows(() => new FtpServer({ root, greeting: "a\r\n230 b" }), TypeError, "greeting");
    assertThrows(
      // @ts-expect-error: not a version
      () => new FtpServer({ root, dataTlsMaxVersion: "TLSv1.1" }),
      RangeError,
      "dataTlsMaxVersion",
    );
    assertThrows(
      () => new FtpServer({ root, users: [{ user: "", password: "x" }] }),
      TypeError,
      "every user",
    );
  } finally {
    await Deno.remove(root);
  }
});

Deno.test("FtpServer listens on the passive port range it is given", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const base = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const from = Math.max(1024, Math.min(base, 65000));
  await using tree = await serveTree({ passivePorts: [from, from + 2] });
  const ftp = await tree.open();
  await ftp.login();
  for (let i = 0; i < 4; i++) {
    const reply = await ftp.cmd("EPSV");
    const port = Number(/\|\|\|(\d+)\|/.exec(reply)?.[1]);
    assert(port >= from && port <= from + 2, `${port} not in ${from}-${from + 2}`);
  }
});
