/**
 * FtpClient with TLS against the loopback test server: explicit FTPS
 * (AUTH TLS, PBSZ 0, PROT P) used when offered and verified, required with
 * requireTls, never a fallback to clear text; implicit FTPS; TLS on every
 * data connection, passive and active; the session-reuse refusal named.
 */
import { FtpClient } from "../../net/ftp_client.ts";
import { FtpReplyError } from "../../net/ftp_reply_error.ts";
import { MissingExtensionError } from "../../net/missing_extension_error.ts";
import { testCert, VERIFIED_NAME } from "../_helpers/tls.ts";
import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { startTestFtpServer } from "./_ftp_test_server.ts";

const FILES = { "/pub/hello.txt": "hello, world\n", "/readme.txt": "read me\n" };

Deno.test("FtpClient.connect() upgrades with AUTH TLS when offered and protects data (PBSZ 0, PROT P)", async () => {
  const cert = await testCert();
  await using server = startTestFtpServer({ files: FILES, dirs: ["/upload"], tls: cert });
  await using ftp = await FtpClient.connect({
    port: server.port,
    serverName: VERIFIED_NAME,
    caCerts: [cert.ca],
    user: "mulder",
    password: "trustno1",
  });
  assert(ftp.tls);
  assert(ftp.dataProtected);
  assertEquals(await new Response(await ftp.download("pub/hello.txt")).text(), "hello, world\n");
  await ftp.upload("upload/up.txt", "over TLS\n");
  assertEquals(new TextDecoder().decode(server.files.get("/upload/up.txt")), "over TLS\n");
  assertEquals((await ftp.list("pub")).map((e) => e.name), ["hello.txt"]);
  assertEquals(server.commands.slice(0, 7), [
    "FEAT",
    "AUTH TLS",
    "FEAT",
    "USER mulder",
    "PASS trustno1",
    "PBSZ 0",
    "PROT P",
  ]);
});

Deno.test("FtpClient.connect() with TLS sends a real password to a non-loopback name (the connection is TLS)", async () => {
  const cert = await testCert();
  await using server = startTestFtpServer({ files: FILES, tls: cert });
  // serverName is not a loopback name: the password goes only because of TLS.
  await using ftp = await FtpClient.connect({
    port: server.port,
    serverName: VERIFIED_NAME,
    caCerts: [cert.ca],
    user: "mulder",
    password: "trustno1",
  });
  assert(ftp.loggedIn);
});

Deno.test("FtpClient.connect() fails when the certificate does not verify, and never logs in in clear", async () => {
  const cert = await testCert();
  await using server = startTestFtpServer({ files: FILES, tls: cert });
  await assertRejects(() =>
    FtpClient.connect({
      port: server.port,
      serverName: VERIFIED_NAME,
      user: "mulder",
      password: "trustno1",
    })
  );
  await new Promise((r) => setTimeout(r, 50));
  assertFalse(server.commands.some((c) => c.startsWith("USER") || c.startsWith("PASS")));
});

Deno.test("FtpClient.connect() with requireTls refuses a server without AUTH TLS before USER", async () => {
  await using server = startTestFtpServer({ files: FILES });
  const error = await assertRejects(
    () => FtpClient.connect({ port: server.port, requireTls: true, user: "mulder", password: "x" }),
    MissingExtensionError,
  );
  assertEquals(error.extension, "AUTH TLS");
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(server.commands.filter((c) => c.startsWith("USER")), []);
});

Deno.test("FtpClient.connect() with tls: false stays in clear even when TLS is offered", async () => {
  const cert = await testCert();
  await using server = startTestFtpServer({ files: FILES, tls: cert });
  await using ftp = await FtpClient.connect({
    port: server.port,
    tls: false,
    user: "mulder",
    password: "trustno1",
  });
  assertFalse(ftp.tls);
  assertEquals(await new Response(await ftp.download("readme.txt")).text(), "read me\n");
  assertFalse(server.commands.includes("AUTH TLS"));
});

Deno.test("FtpClient.connect() speaks implicit TLS (FTPS, port 990 style) with protected data", async () => {
  const cert = await testCert();
  await using server = startTestFtpServer({ files: FILES, tls: cert, implicitTls: true });
  await using ftp = await FtpClient.connect({
    port: server.port,
    tls: { hostname: VERIFIED_NAME, caCerts: [cert.ca] },
    user: "mulder",
    password: "trustno1",
  });
  assert(ftp.tls && ftp.dataProtected);
  assertEquals(await new Response(await ftp.download("pub/hello.txt")).text(), "hello, world\n");
  assertFalse(server.commands.includes("AUTH TLS"));
});

Deno.test("FtpClient in active mode over TLS accepts the server's connection and does the TLS handshake", async () => {
  const cert = await testCert();
  await using server = startTestFtpServer({ files: FILES, tls: cert });
  await using ftp = await FtpClient.connect({
    port: server.port,
    serverName: VERIFIED_NAME,
    caCerts: [cert.ca],
    passive: false,
    user: "mulder",
    password: "trustno1",
  });
  assertEquals(await new Response(await ftp.download("pub/hello.txt")).text(), "hello, world\n");
  assert(server.commands.some((c) => c.startsWith("EPRT |1|127.0.0.1|")));
});

Deno.test("FtpClient names the cause when a server requires TLS session reuse on data connections", async () => {
  const cert = await testCert();
  await using server = startTestFtpServer({ files: FILES, tls: cert, requireSessionReuse: true });
  await using ftp = await FtpClient.connect({
    port: server.port,
    serverName: VERIFIED_NAME,
    caCerts: [cert.ca],
    user: "mulder",
    password: "trustno1",
  });
  const body = await ftp.download("pub/hello.txt");
  const error = await assertRejects(() => new Response(body).text(), FtpReplyError);
  assertEquals(error.code, 522);
  assertStringIncludes(error.message, "session reuse");
  assertStringIncludes(error.message, "require_ssl_reuse=NO");
  // The refusal was read in full: the session goes on.
  assertEquals((await ftp.noop()).code, 200);
});
