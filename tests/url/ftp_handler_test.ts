/**
 * FtpUrlHandler against the loopback test FTP server: downloads, listings,
 * RFC 1738 paths and ;type=, credentials from the URL and the password
 * manager, ftps:, errors, and GET ftp://... through an HTTP proxy.
 */
import { FtpReplyError } from "../../net/ftp_reply_error.ts";
import { buildOpener } from "../../url/build_opener.ts";
import { FtpUrlHandler, type FtpUrlHandlerOptions } from "../../url/ftp_handler.ts";
import { HTTPError } from "../../url/http_error.ts";
import { PasswordManager } from "../../url/password_manager.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { URLError } from "../../url/url_error.ts";
import { testCert } from "../_helpers/tls.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { startTestFtpServer } from "../net/_ftp_test_server.ts";

const FILES = {
  "/pub/hello.txt": "hello, world\n",
  "/pub/sub/data.bin": new Uint8Array([1, 2, 3, 4]),
  "/private/secret.txt": "the truth\n",
  "/notes.txt": "line one\nline two\n",
};

function opener(options: FtpUrlHandlerOptions = {}) {
  return buildOpener(new ProxyHandler({}), new FtpUrlHandler({ proxy: null, ...options }));
}

Deno.test("FtpUrlHandler downloads a file with its type and length, entering each directory", async () => {
  await using server = startTestFtpServer({ files: FILES });
  await using o = opener();
  const response = await o.open(`ftp://127.0.0.1:${server.port}/pub/sub/data.bin`);
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-length"), "4");
  assertEquals(response.headers.get("content-type"), "application/octet-stream");
  assertEquals(await response.bytes(), new Uint8Array([1, 2, 3, 4]));
  assertEquals(response.url, `ftp://127.0.0.1:${server.port}/pub/sub/data.bin`);
  // The session ends with QUIT once the body has ended.
  for (let i = 0; i < 50 && !server.commands.includes("QUIT"); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  // RFC 1738: one CWD per segment, then RETR of the last; QUIT at the end.
  const commands = server.commands.filter((c) => !/^(FEAT|USER|PASS|OPTS|EPSV|TYPE)/.test(c));
  assertEquals(commands, ["CWD pub", "CWD sub", "SIZE data.bin", "RETR data.bin", "QUIT"]);
  assertEquals(server.commands.slice(0, 3), ["FEAT", "USER anonymous", "PASS anonymous@"]);
});

Deno.test("FtpUrlHandler lists a directory URL ending in / as LIST text, and ;type=d as NLST names", async () => {
  await using server = startTestFtpServer({ files: FILES });
  await using o = opener();
  const listing = await (await o.open(`ftp://127.0.0.1:${server.port}/pub/`)).text();
  assertStringIncludes(listing, "hello.txt\n");
  assertStringIncludes(listing, " sub\n");
  assert(listing.startsWith("drwxr-xr-x") || listing.startsWith("-rw-r--r--"));
  const names = await (await o.open(`ftp://127.0.0.1:${server.port}/pub;type=d`)).text();
  assertEquals(names, "hello.txt\nsub\n");
});

Deno.test("FtpUrlHandler ;type=a downloads in TYPE A; %2F gives an absolute CWD (RFC 1738)", async () => {
  await using server = startTestFtpServer({ files: FILES });
  await using o = opener();
  const text = await (await o.open(`ftp://127.0.0.1:${server.port}/notes.txt;type=a`)).text();
  assertEquals(text, "line one\nline two\n");
  assert(server.commands.includes("TYPE A"));
  const absolute = await o.open(`ftp://127.0.0.1:${server.port}/%2Fpub/hello.txt`);
  assertEquals(await absolute.text(), "hello, world\n");
  assert(server.commands.includes("CWD /pub"));
});

Deno.test("FtpUrlHandler logs in with the URL's credentials, else the password manager's", async () => {
  await using server = startTestFtpServer({ files: FILES, anonymous: false });
  await using o = opener();
  const base = `ftp://127.0.0.1:${server.port}`;
  const url = `ftp://mulder:trustno1@127.0.0.1:${server.port}/private/secret.txt`;
  assertEquals(await (await o.open(url)).text(), "the truth\n");
  const manager = new PasswordManager();
  manager.add(null, `${base}/private/`, "mulder", "trustno1");
  await using managed = opener({ passwordManager: manager });
  assertEquals(await (await managed.open(`${base}/private/secret.txt`)).text(), "the truth\n");
  // Outside the registered path the login is anonymous, which this server refuses.
  const error = await assertRejects(() => managed.open(`${base}/pub/hello.txt`), URLError);
  assertInstanceOf(error.cause, FtpReplyError);
  assertEquals((error.cause as FtpReplyError).code, 530);
});

Deno.test("FtpUrlHandler reports a missing file as URLError with the 550 as cause", async () => {
  await using server = startTestFtpServer({ files: FILES });
  await using o = opener();
  const error = await assertRejects(
    () => o.open(`ftp://127.0.0.1:${server.port}/pub/missing.txt`),
    URLError,
  );
  assertStringIncludes(error.message, "ftp error");
  assertEquals((error.cause as FtpReplyError).code, 550);
  const cwd = await assertRejects(
    () => o.open(`ftp://127.0.0.1:${server.port}/nowhere/x`),
    URLError,
  );
  assertEquals((cwd.cause as FtpReplyError).command, "CWD nowhere");
});

Deno.test("FtpUrlHandler refuses a request body and CR LF smuggled into the path", async () => {
  await using o = opener();
  await assertRejects(() => o.open("ftp://127.0.0.1:1/x", { data: "upload?" }), URLError, "body");
  await assertRejects(() => o.open("ftp://127.0.0.1:1/x%0D%0ADELE%20y"), URLError, "CR, LF or NUL");
});

Deno.test("FtpUrlHandler cancelling a body ends the session", async () => {
  const big = new Uint8Array(4 << 20);
  await using server = startTestFtpServer({ files: { "/big.bin": big } });
  await using o = opener();
  const response = await o.open(`ftp://127.0.0.1:${server.port}/big.bin`);
  const reader = response.body!.getReader();
  await reader.read();
  await reader.cancel();
});

Deno.test("FtpUrlHandler opens ftps: URLs with implicit TLS and verifies the certificate", async () => {
  const cert = await testCert();
  await using server = startTestFtpServer({ files: FILES, tls: cert, implicitTls: true });
  await using o = opener({ caCerts: [cert.ca] });
  // The test certificate names 127.0.0.1 too, so the URL's host verifies.
  const url = `ftps://mulder:trustno1@127.0.0.1:${server.port}/pub/hello.txt`;
  assertEquals(await (await o.open(url)).text(), "hello, world\n");
  // Without the CA the handshake fails: no fallback.
  await using untrusted = opener();
  await assertRejects(() => untrusted.open(url));
});

Deno.test("FtpUrlHandler with requireTls fails against a server without AUTH TLS", async () => {
  await using server = startTestFtpServer({ files: FILES });
  await using o = opener({ requireTls: true });
  const error = await assertRejects(
    () => o.open(`ftp://127.0.0.1:${server.port}/pub/hello.txt`),
    URLError,
  );
  assertStringIncludes(error.message, "AUTH TLS");
  assertEquals(server.commands.filter((c) => c.startsWith("USER")), []);
});

/** An HTTP proxy on a raw socket: records each request head, answers with `status` and `body`. */
function rawProxy(status: number, body: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const heads: string[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      let head = "";
      const buffer = new Uint8Array(4096);
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buffer);
        if (n === null) break;
        head += new TextDecoder().decode(buffer.subarray(0, n));
      }
      heads.push(head);
      await conn.write(new TextEncoder().encode(
        `HTTP/1.1 ${status} X\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ));
      conn.close();
    }
  })();
  return {
    port: listener.addr.port,
    heads,
    async close() {
      listener.close();
      await serving.catch(() => {});
    },
  };
}

Deno.test("FtpUrlHandler sends GET ftp://... to an HTTP proxy (ftp_proxy), with proxy credentials", async () => {
  const proxy = rawProxy(200, "via proxy\n");
  try {
    await using o = opener({ proxy: `http://u:p@127.0.0.1:${proxy.port}` });
    const response = await o.open("ftp://ftp.example.test/pub/hello.txt");
    assertEquals(await response.text(), "via proxy\n");
    assertEquals(response.url, "ftp://ftp.example.test/pub/hello.txt");
    const head = proxy.heads[0]!;
    assert(head.startsWith("GET ftp://ftp.example.test/pub/hello.txt HTTP/1.1\r\n"), head);
    assertStringIncludes(head.toLowerCase(), "host: ftp.example.test\r\n");
    assertStringIncludes(head.toLowerCase(), "proxy-authorization: basic dtpw\r\n");
    // all_proxy through ProxyHandler works the same way.
    await using viaAll = buildOpener(
      new ProxyHandler({ all: `http://127.0.0.1:${proxy.port}` }),
      new FtpUrlHandler({ proxy: null }),
    );
    assertEquals(await (await viaAll.open("ftp://ftp.example.test/x")).text(), "via proxy\n");
    assert(proxy.heads[1]!.startsWith("GET ftp://ftp.example.test/x HTTP/1.1\r\n"));
  } finally {
    await proxy.close();
  }
});

Deno.test("FtpUrlHandler turns a proxy's error answer into HTTPError", async () => {
  const proxy = rawProxy(502, "no ftp here");
  try {
    await using o = opener({ proxy: `http://127.0.0.1:${proxy.port}` });
    const error = await assertRejects(() => o.open("ftp://ftp.example.test/x"), HTTPError);
    assertEquals(error.code, 502);
  } finally {
    await proxy.close();
  }
});

Deno.test("FtpUrlHandler is a default handler of buildOpener once its module is loaded", async () => {
  await using o = buildOpener(new ProxyHandler({}));
  assert(o.handlers.some((h) => h instanceof FtpUrlHandler));
});
