/**
 * FtpServer over TLS: explicit FTPS (AUTH TLS, PBSZ, PROT; RFC 4217) with
 * TLS data connections, implicit FTPS, requireTls, the STARTTLS injection
 * guard, and uploads that end with close_notify (Python's unwrap()).
 */
import { FtpDirectoryFileSystem, type FtpFileSystem } from "../../net/ftp_server.ts";
import { parseFtpPasvReply } from "../../net/_ftp_address.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_helpers/assert.ts";
import { testCert, VERIFIED_NAME } from "../_helpers/tls.ts";
import { RawFtp, serveTree } from "./_ftp_server_client.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Upgrades the control connection, verifying the test CA under a name no flag exempts. */
async function upgrade(ftp: RawFtp, ca: string): Promise<void> {
  ftp.reader.release();
  ftp.conn = await Deno.startTls(ftp.conn as Deno.TcpConn, {
    hostname: VERIFIED_NAME,
    caCerts: [ca],
  });
  const { BufferedReader } = await import("../../net/buffered_reader.ts");
  ftp.reader = new BufferedReader(ftp.conn);
}

/** PASV, the command, 150, then TLS on the data connection (the client starts it after 150). */
async function tlsData(ftp: RawFtp, command: string, ca: string): Promise<Deno.TlsConn> {
  const { port } = parseFtpPasvReply(await ftp.cmd("PASV"));
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const opening = await ftp.cmd(command);
  assertMatch(opening, /^150 /);
  return await Deno.startTls(tcp, { hostname: VERIFIED_NAME, caCerts: [ca] });
}

Deno.test("FtpServer explicit FTPS: AUTH TLS, PBSZ, PROT P and TLS data connections both ways", async () => {
  const { cert, key, ca } = await testCert();
  await using tree = await serveTree({ cert, key, write: true });
  const ftp = await tree.open();
  assertEquals(await ftp.cmd("AUTH TLS"), "234 AUTH TLS successful: start the TLS handshake");
  await upgrade(ftp, ca);
  assertEquals(await ftp.cmd("PBSZ 0"), "200 PBSZ=0");
  assertEquals(await ftp.cmd("PROT P"), "200 Protection level set to P");
  assertEquals(await ftp.login(), "230 Login successful");
  assertEquals(await ftp.cmd("AUTH TLS"), "503 Already using TLS");
  const status = await ftp.cmd("STAT");
  assertMatch(status, /\n Control connection is TLS\n Data connections are TLS\n/);
  await ftp.cmd("TYPE I");
  const down = await tlsData(ftp, "RETR pub/hello.txt", ca);
  assertEquals(await new Response(down.readable).text(), "hello, world\n");
  assertEquals(await ftp.reply(), "226 Transfer complete");
  const listing = await tlsData(ftp, "NLST pub", ca);
  assertEquals(
    await new Response(listing.readable).text(),
    "pub/bytes.bin\r\npub/café ☕.txt\r\npub/hello.txt\r\n",
  );
  assertEquals(await ftp.reply(), "226 Transfer complete");
  const up = await tlsData(ftp, "STOR upload/secret.bin", ca);
  const body = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
  let rest: Uint8Array = body;
  while (rest.length > 0) rest = rest.subarray(await up.write(rest));
  await up.closeWrite();
  assertEquals(await ftp.reply(), "226 Transfer complete");
  up.close();
  assertEquals(await Deno.readFile(`${tree.root}/upload/secret.bin`), body);
  // Back to clear data connections.
  assertEquals(await ftp.cmd("PROT C"), "200 Protection level set to C");
  assertEquals(decoder.decode((await ftp.download("RETR pub/hello.txt")).data), "hello, world\n");
});

Deno.test("FtpServer explicit FTPS: the certificate fails without the test CA", async () => {
  const { cert, key } = await testCert();
  await using tree = await serveTree({ cert, key });
  const ftp = await tree.open();
  assertEquals(await ftp.cmd("AUTH TLS"), "234 AUTH TLS successful: start the TLS handshake");
  ftp.reader.release();
  await assertRejects(() =>
    Deno.startTls(ftp.conn as Deno.TcpConn, { hostname: VERIFIED_NAME }).then((tls) => {
      ftp.conn = tls;
      return tls.handshake();
    })
  );
});

Deno.test("FtpServer refuses AUTH, PBSZ and PROT out of order or unsupported", async () => {
  const { cert, key } = await testCert();
  await using plain = await serveTree();
  const noCert = await plain.open();
  assertEquals(
    await noCert.cmd("AUTH TLS"),
    "502 AUTH is not available: no certificate is configured",
  );
  assertEquals(await noCert.cmd("PBSZ 0"), "503 PBSZ needs TLS: send AUTH TLS first");
  assertEquals(await noCert.cmd("PROT P"), "503 PROT needs TLS: send AUTH TLS first");

  await using tree = await serveTree({ cert, key });
  const ftp = await tree.open();
  assertEquals(
    await ftp.cmd("AUTH KERBEROS_V4"),
    "504 Security mechanism not understood: use AUTH TLS",
  );
  assertEquals(await ftp.cmd("AUTH"), "501 Syntax error: AUTH needs an argument");
  await ftp.login();
  assertEquals(await ftp.cmd("AUTH TLS"), "503 AUTH TLS must come before login");

  const { ca } = await testCert();
  const tls = await tree.open();
  await tls.cmd("AUTH TLS");
  await upgrade(tls, ca);
  assertEquals(await tls.cmd("PROT P"), "503 Send PBSZ first");
  assertEquals(await tls.cmd("PBSZ x"), "501 Syntax error in PBSZ argument");
  assertEquals(await tls.cmd("PBSZ 0"), "200 PBSZ=0");
  assertEquals(await tls.cmd("PROT S"), "536 PROT S is not supported: use P or C");
  assertEquals(await tls.cmd("PROT E"), "536 PROT E is not supported: use P or C");
  assertEquals(await tls.cmd("PROT X"), "504 Protection level not understood");
});

Deno.test("FtpServer closes the connection when commands are pipelined after AUTH TLS (injection)", async () => {
  const { cert, key } = await testCert();
  await using tree = await serveTree({ cert, key });
  const ftp = await tree.open();
  await ftp.write("AUTH TLS\r\nUSER mulder\r\nPASS trustno1\r\n");
  assertEquals(await ftp.reply(), "234 AUTH TLS successful: start the TLS handshake");
  assertEquals(await ftp.reply(), "<EOF>");
  assertEquals(tree.log, []);
});

Deno.test("FtpServer answers 425 when the TLS handshake on the data connection fails", async () => {
  const { cert, key, ca } = await testCert();
  await using tree = await serveTree({ cert, key, connectTimeout: 2000 });
  const ftp = await tree.open();
  await ftp.cmd("AUTH TLS");
  await upgrade(ftp, ca);
  await ftp.cmd("PBSZ 0");
  await ftp.cmd("PROT P");
  await ftp.login();
  const data = await ftp.passive();
  assertMatch(await ftp.cmd("RETR readme.txt"), /^150 /);
  await data.write(encoder.encode("this is not a TLS client hello\r\n\r\n"));
  assertEquals(await ftp.reply(), "425 Cannot open data connection: TLS negotiation failed");
  data.close();
  assertEquals(await ftp.cmd("NOOP"), "200 NOOP ok");
});

Deno.test("FtpServer implicit FTPS speaks TLS from the first byte", async () => {
  const { cert, key, ca } = await testCert();
  await using tree = await serveTree({ cert, key, implicitTls: true });
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: tree.port,
    caCerts: [ca],
  });
  const ftp = new RawFtp(conn);
  try {
    assertEquals(await ftp.reply(), "220 inetkit FTP server ready");
    assertEquals(await ftp.login(), "230 Login successful");
    assertEquals(await ftp.cmd("AUTH TLS"), "503 Already using TLS");
    assertEquals(await ftp.cmd("PBSZ 0"), "200 PBSZ=0");
    assertEquals(await ftp.cmd("PROT P"), "200 Protection level set to P");
    const listing = await tlsData(ftp, "LIST pub", ca);
    const text = await new Response(listing.readable).text();
    assertMatch(text, /^-rw-r--r-- .* bytes\.bin\r\n/);
    assertEquals(await ftp.reply(), "226 Transfer complete");
    assertEquals(await ftp.cmd("QUIT"), "221 Goodbye");
  } finally {
    ftp.close();
  }
  // A plain client gets no FTP greeting.
  const plain = await Deno.connect({ hostname: "127.0.0.1", port: tree.port });
  await plain.write(encoder.encode("USER mulder\r\n"));
  const buf = new Uint8Array(64);
  const n = await plain.read(buf).catch(() => null);
  assert(n === null || !decoder.decode(buf.subarray(0, n)).startsWith("220"));
  plain.close();
});

Deno.test("FtpServer requireTls refuses login in clear and clear data connections", async () => {
  const { cert, key, ca } = await testCert();
  await using tree = await serveTree({ cert, key, requireTls: true });
  const ftp = await tree.open();
  assertEquals(await ftp.cmd("USER mulder"), "530 Log in only over TLS: send AUTH TLS first");
  assertEquals(await ftp.cmd("PASS trustno1"), "503 Send USER first");
  await ftp.cmd("AUTH TLS");
  await upgrade(ftp, ca);
  assertEquals(await ftp.login(), "230 Login successful");
  await ftp.cmd("PBSZ 0");
  assertEquals(await ftp.cmd("PROT C"), "534 Clear data connections are not allowed");
  await ftp.cmd("PASV");
  assertEquals(
    await ftp.cmd("RETR readme.txt"),
    "521 Data connections must be protected: send PROT P",
  );
  assertEquals(await ftp.cmd("PROT P"), "200 Protection level set to P");
  const data = await tlsData(ftp, "RETR readme.txt", ca);
  assertEquals(await new Response(data.readable).text(), "Welcome to the inetkit test server.\r\n");
  assertEquals(await ftp.reply(), "226 Transfer complete");
});

/** A directory backend whose writes are slow, so that TLS reads back up. */
function slowWrites(root: string): FtpFileSystem {
  const fs = new FtpDirectoryFileSystem(root);
  return {
    stat: (p) => fs.stat(p),
    list: (p) => fs.list(p),
    openRead: (p, o) => fs.openRead(p, o),
    mkdir: (p) => fs.mkdir(p),
    rmdir: (p) => fs.rmdir(p),
    remove: (p) => fs.remove(p),
    rename: (a, b) => fs.rename(a, b),
    async openWrite(path, options) {
      const writer = await fs.openWrite(path, options);
      return {
        write: async (p) => {
          await new Promise((resolve) => setTimeout(resolve, 3));
          await writer.write(p);
        },
        commit: () => writer.commit(),
        abort: () => writer.abort(),
      };
    },
  };
}

Deno.test("FtpServer ends a TLS upload at the client's close_notify, even while its writes lag (ftplib unwrap)", async () => {
  const python = "/usr/bin/python3";
  try {
    await Deno.stat(python);
  } catch {
    console.warn(`skipped: ${python} is missing`);
    return;
  }
  const { cert, key, ca } = await testCert();
  const root = await Deno.makeTempDir({ prefix: "inetkit_ftp_tls_slow_" });
  const { FtpServer } = await import("../../net/ftp_server.ts");
  await using server = new FtpServer({
    fileSystem: slowWrites(root),
    users: [{ user: "mulder", password: "trustno1" }],
    write: true,
    cert,
    key,
    dataTimeout: 10_000,
  });
  try {
    const caFile = `${root}/ca.pem`;
    await Deno.writeTextFile(caFile, ca);
    const script = `
import ftplib, io, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ftp = ftplib.FTP_TLS(context=ctx, timeout=20)
ftp.connect("127.0.0.1", int(sys.argv[1]))
ftp.host = "${VERIFIED_NAME}"
ftp.login("mulder", "trustno1")
ftp.prot_p()
print(ftp.storbinary("STOR big.bin", io.BytesIO(bytes(range(256)) * 12288)))
print(ftp.size("big.bin"))
ftp.quit()
`;
    const out = await new Deno.Command(python, {
      args: ["-c", script, String(server.addr.port), caFile],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const stdout = decoder.decode(out.stdout);
    assertEquals(out.code, 0, decoder.decode(out.stderr));
    assertEquals(stdout, "226 Transfer complete\n3145728\n");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FtpServer negotiates TLS 1.2 on data connections unless dataTlsMaxVersion says TLSv1.3", async () => {
  const python = "/usr/bin/python3";
  try {
    await Deno.stat(python);
  } catch {
    console.warn(`skipped: ${python} is missing`);
    return;
  }
  const { cert, key, ca } = await testCert();
  for (const version of [undefined, "TLSv1.3"] as const) {
    await using tree = await serveTree({ cert, key, dataTlsMaxVersion: version });
    const caFile = `${tree.root}/ca.pem`;
    await Deno.writeTextFile(caFile, ca);
    const out = await new Deno.Command(python, {
      args: [
        "-c",
        `
import ftplib, ssl, sys
ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=sys.argv[2]), timeout=10)
ftp.connect("127.0.0.1", int(sys.argv[1]))
ftp.host = "${VERIFIED_NAME}"
ftp.login("mulder", "trustno1")
ftp.prot_p()
conn = ftp.transfercmd("RETR pub/hello.txt")
print(ftp.sock.version(), conn.version(), conn.recv(100))
conn.unwrap()
conn.close()
print(ftp.voidresp())
`,
        String(tree.port),
        caFile,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, decoder.decode(out.stderr));
    assertEquals(
      decoder.decode(out.stdout),
      `TLSv1.3 ${version ?? "TLSv1.2"} b'hello, world\\r\\n'\n226 Transfer complete\n`,
    );
  }
});
