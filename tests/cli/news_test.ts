import { captureIo, runCommand, UsageError } from "../../cli/_command.ts";
import { newsCommand, startNewsServe } from "../../cli/news.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { PEERS_DIR, peerTest } from "../_helpers/peers.ts";
import { testCert } from "../_helpers/tls.ts";

const DATE = "Tue, 14 Nov 2023 10:00:00 +0000";

/** Runs `fn` with `news serve` on a new spool holding two articles in local.test. */
async function withNewsServer(
  extra: string[],
  fn: (url: string, dir: string, io: ReturnType<typeof captureIo>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_cli_news_" });
  const controller = new AbortController();
  const io = captureIo();
  const { server, spool, url } = await startNewsServe(
    [
      "--dir",
      dir,
      "--port",
      "0",
      "--group",
      "local.test=Local tests",
      "--group",
      "comp.lang.python",
      ...extra,
    ],
    io,
    controller.signal,
  );
  try {
    await spool.store(
      "From: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.test>\r\nNewsgroups: local.test\r\n" +
        `Subject: First post\r\nMessage-ID: <first@example.test>\r\nDate: ${DATE}\r\n\r\n` +
        ".leading dot\r\nhello\r\n",
    );
    await spool.store(
      "From: Tim <tim@example.test>\r\nNewsgroups: local.test\r\nSubject: Re: First post\r\n" +
        "Message-ID: <second@example.test>\r\nDate: Tue, 14 Nov 2023 11:30:00 +0000\r\n\r\nreply\r\n",
    );
    await fn(url, dir, io);
  } finally {
    controller.abort();
    await server.finished;
    await spool.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function news(
  args: string[],
  stdin = "",
): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo(stdin);
  const code = await runCommand(newsCommand, args, io);
  return { code, out: io.stdout, err: io.stderr };
}

Deno.test("news --help prints the usage and exits 0", async () => {
  const result = await news(["--help"]);
  assertEquals(result.code, 0);
  assertStringIncludes(result.out, "Usage: inetkit news list nntp://HOST[:PORT]/GROUP");
  assertStringIncludes(result.out, "--password-env VAR");
  assertStringIncludes(result.out, "inetkit news serve --dir DIR");
  for (const flag of ["--starttls", "--no-tls", "--insecure-auth", "--cacert FILE"]) {
    assertStringIncludes(result.out, `\n  ${flag} `);
  }
  assertStringIncludes(result.out, "STARTTLS is used whenever the server offers it");
  assertStringIncludes(result.out, "77 the --cacert file cannot be read");
});

Deno.test("news rejects bad command lines with a UsageError", async () => {
  for (
    const args of [
      [],
      ["fetch"],
      ["list"],
      ["list", "http://127.0.0.1/x"],
      ["list", "nntp://127.0.0.1/<id@x>"],
      ["list", "nntp://127.0.0.1/"],
      ["list", "nntp://127.0.0.1/a/b"],
      ["list", "nntp://127.0.0.1/bad*group"],
      ["list", "nntp://user:pw@127.0.0.1/g"],
      ["list", "nntp://127.0.0.1:99999/g"],
      ["read", "nntp://127.0.0.1/g"],
      ["read", "nntp://127.0.0.1/g/x"],
      ["post", "nntp://127.0.0.1/g", "--subject", "s"],
      ["post", "nntp://127.0.0.1/g", "--from", "a@x"],
      ["list", "nntp://127.0.0.1/g", "--from", "a@x"],
      ["list", "nntp://127.0.0.1/g", "--user", "u"],
      ["list", "nntp://127.0.0.1/g", "--user", "u", "--password-env", "INETKIT_NO_SUCH_VAR"],
      ["list", "nntp://127.0.0.1/g", "--timeout", "soon"],
      ["list", "nntps://127.0.0.1/g", "--starttls"],
      ["list", "nntps://127.0.0.1/g", "--no-tls"],
      ["list", "nntp://127.0.0.1/g", "--starttls", "--no-tls"],
      ["list", "nntp://127.0.0.1/g", "--no-tls=yes"],
      ["list", "nntp://127.0.0.1/g", "extra"],
      ["list", "nntp://127.0.0.1/g", "--bogus"],
      ["serve", "--group", "g"],
      ["serve", "--dir", "/tmp/x"],
      ["serve", "--dir", "/tmp/x", "--group", "bad group"],
      ["serve", "--dir", "/tmp/x", "--group", "g", "--port", "x"],
      ["serve", "--dir", "/tmp/x", "--group", "g", "--tls-cert", "c.pem"],
      ["serve", "--dir", "/tmp/x", "--group", "g", "--implicit-tls"],
      ["serve", "--dir", "/tmp/x", "--group", "g", "--max-article-size", "0"],
    ]
  ) {
    await assertRejects(
      () => newsCommand.run(args, captureIo()),
      UsageError,
      undefined,
      args.join(" "),
    );
  }
  const result = await news(["list"]);
  assertEquals(result.code, 2);
  assertStringIncludes(result.err, "inetkit news: Expected an nntp:// URL");
});

Deno.test("news list prints number, date, author and subject per article", async () => {
  await withNewsServer([], async (url) => {
    const result = await news(["list", `${url}local.test`]);
    assertEquals([result.code, result.err], [0, ""]);
    assertEquals(
      result.out,
      "1\t2023-11-14 10:00\tZoë <zoe@example.test>\tFirst post\n" +
        "2\t2023-11-14 11:30\tTim <tim@example.test>\tRe: First post\n",
    );
    assertEquals((await news(["list", `${url}comp.lang.python`])).out, "");
  });
});

Deno.test("news read prints an article by number or by message-id, dot-unstuffed", async () => {
  await withNewsServer([], async (url) => {
    const byNumber = await news(["read", `${url}local.test/1`]);
    assertEquals(byNumber.code, 0);
    assert(byNumber.out.startsWith("Path: localhost!not-for-mail\r\n"));
    assert(byNumber.out.endsWith("\r\n\r\n.leading dot\r\nhello\r\n"));
    for (const path of ["<first@example.test>", "%3Cfirst@example.test%3E", "first@example.test"]) {
      const byId = await news(["read", url + path]);
      assertEquals(byId.out, byNumber.out, path);
    }
  });
});

Deno.test("news post posts standard input and list shows it", async () => {
  await withNewsServer([], async (url) => {
    const posted = await news(
      [
        "post",
        `${url}local.test`,
        "--from",
        "Fox Mulder <mulder@example.test>",
        "--subject",
        "The truth",
      ],
      ".is out there\n",
    );
    assertEquals(posted.code, 0, posted.err);
    assertMatch(posted.out, /^posted <[^>]+@example\.test>: 240 Article received <[^>]+>\n$/);
    const listed = await news(["list", `${url}local.test`]);
    assertStringIncludes(listed.out, "\nFox Mulder <mulder@example.test>\tThe truth\n".slice(1));
    const read = await news(["read", `${url}local.test/3`]);
    assertStringIncludes(read.out, "Newsgroups: local.test\r\n");
    assert(read.out.endsWith("\r\n\r\n.is out there\r\n"));
  });
});

Deno.test("news reports failures curl-style, naming the target, with exit 1", async () => {
  await withNewsServer([], async (url) => {
    const group = await news(["list", `${url}nope.nope`]);
    assertEquals(group.code, 1);
    assertEquals(
      group.err,
      `inetkit news: ${url}nope.nope: Cannot send GROUP: server replied 411 No such newsgroup nope.nope\n`,
    );
    const missing = await news(["read", `${url}local.test/99`]);
    assertStringIncludes(
      missing.err,
      `${url}local.test/99: Cannot send ARTICLE: server replied 423`,
    );
    const refused = await news(
      ["post", `${url}nope.nope`, "--from", "a@example.test", "--subject", "s"],
      "x",
    );
    assertStringIncludes(refused.err, "server replied 441 No such newsgroup nope.nope");
  });
});

Deno.test("news names the host, port and time taken when the connection is refused", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const down = await news(["list", `nntp://127.0.0.1:${port}/g`]);
  assertEquals(down.code, 1);
  assertMatch(
    down.err,
    new RegExp(
      `^inetkit news: Failed to connect to 127\\.0\\.0\\.1 port ${port} after \\d+ ms: ` +
        "Connection refused\n$",
    ),
  );
});

Deno.test("news --starttls fails naming the flag when the server does not offer STARTTLS", async () => {
  await withNewsServer([], async (url) => {
    const port = new URL(url).port;
    const tls = await news(["list", `${url}local.test`, "--starttls", "-v"]);
    assertEquals(tls.code, 1);
    assertStringIncludes(
      tls.err,
      `inetkit news: Cannot start TLS with 127.0.0.1 port ${port}: ` +
        "the server does not offer STARTTLS (--starttls requires it)\n",
    );
    // Nothing more was sent after the capabilities.
    assert(!tls.err.includes("C: GROUP"), tls.err);
    assert(!tls.err.includes("C: STARTTLS"), tls.err);
  });
});

Deno.test("news serve prints where it serves on stdout and one line per command on stderr", async () => {
  await withNewsServer([], async (url, dir, io) => {
    assertMatch(url, /^nntp:\/\/127\.0\.0\.1:\d+\/$/);
    const serving = `Serving news from ${dir} at ${url} (groups: local.test, comp.lang.python)\n`;
    assertEquals(io.stdout, serving);
    await news(["list", `${url}local.test`]);
    // Standard output is for data: the log is on standard error only.
    assertEquals(io.stdout, serving);
    const lines = io.stderr.trim().split("\n");
    assert(lines.includes("127.0.0.1 GROUP local.test"), lines.join("\n"));
    assert(lines.includes("127.0.0.1 QUIT"), lines.join("\n"));
  });
  await withNewsServer(["--quiet", "--read-only"], async (url, dir, io) => {
    const posted = await news(
      ["post", `${url}local.test`, "--from", "a@x.test", "--subject", "s"],
      "x",
    );
    assertStringIncludes(posted.err, "server replied 440");
    assertEquals(
      io.stdout,
      `Serving news from ${dir} at ${url} (groups: local.test, comp.lang.python)\n`,
    );
    assertEquals(io.stderr, "");
  });
});

Deno.test("news serve names the host, the port and --port 0 when the port is in use", async () => {
  await withNewsServer([], async (url, dir) => {
    const port = new URL(url).port;
    const second = await news(["serve", "--dir", dir, "--group", "local.test", "--port", port]);
    assertEquals(second.code, 1);
    assertEquals(
      second.err,
      `inetkit news: Cannot listen on 127.0.0.1 port ${port}: the address is already in use ` +
        "(another server runs there; --port 0 picks a free port)\n",
    );
    assertEquals(second.out, "");
  });
});

Deno.test("news logs in with --user and --password-env", async () => {
  Deno.env.set("INETKIT_NEWS_TEST_PW", "trustno1");
  try {
    await withNewsServer(
      ["--user", "mulder", "--password-env", "INETKIT_NEWS_TEST_PW"],
      async (url) => {
        const denied = await news(["list", `${url}local.test`]);
        assertStringIncludes(denied.err, "server replied 480");
        const ok = await news([
          "list",
          `${url}local.test`,
          "--user",
          "mulder",
          "--password-env",
          "INETKIT_NEWS_TEST_PW",
          "-v",
        ]);
        assertEquals(ok.code, 0, ok.err);
        assertStringIncludes(ok.err, "C: AUTHINFO PASS ****\n");
        assert(!ok.err.includes("trustno1"));
      },
    );
  } finally {
    Deno.env.delete("INETKIT_NEWS_TEST_PW");
  }
});

Deno.test("news speaks nntps:// and --starttls with --cacert", async () => {
  const { cert, key, ca } = await testCert();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cert.pem`, cert);
    await Deno.writeTextFile(`${dir}/key.pem`, key);
    await Deno.writeTextFile(`${dir}/ca.pem`, ca);
    const tlsFlags = ["--tls-cert", `${dir}/cert.pem`, "--tls-key", `${dir}/key.pem`];
    await withNewsServer([...tlsFlags, "--implicit-tls"], async (url) => {
      assert(url.startsWith("nntps://127.0.0.1:"));
      const result = await news(["list", `${url}local.test`, "--cacert", `${dir}/ca.pem`]);
      assertEquals(result.code, 0, result.err);
      assertStringIncludes(result.out, "First post");
      const untrusted = await news(["list", `${url}local.test`]);
      assertEquals(untrusted.code, 1);
      assertStringIncludes(untrusted.err, "(--cacert FILE trusts a private CA)\n");
    });
    await withNewsServer(tlsFlags, async (url) => {
      const result = await news([
        "read",
        `${url}local.test/2`,
        "--starttls",
        "--cacert",
        `${dir}/ca.pem`,
        "-v",
      ]);
      assertEquals(result.code, 0, result.err);
      assertStringIncludes(result.err, "C: STARTTLS\n");
      assert(result.out.endsWith("\r\n\r\nreply\r\n"));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs `fn` with the test certificate, its key and its CA written to files. */
async function withCertFiles(
  fn: (files: { cert: string; key: string; ca: string; dir: string }) => Promise<void>,
): Promise<void> {
  const { cert, key, ca } = await testCert();
  const dir = await Deno.makeTempDir({ prefix: "inetkit_cli_news_tls_" });
  try {
    await Deno.writeTextFile(`${dir}/cert.pem`, cert);
    await Deno.writeTextFile(`${dir}/key.pem`, key);
    await Deno.writeTextFile(`${dir}/ca.pem`, ca);
    await fn({ cert: `${dir}/cert.pem`, key: `${dir}/key.pem`, ca: `${dir}/ca.pem`, dir });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("news upgrades with STARTTLS by default when the server offers it", async () => {
  await withCertFiles(async (files) => {
    await withNewsServer(
      ["--tls-cert", files.cert, "--tls-key", files.key],
      async (url, _d, log) => {
        const result = await news(["list", `${url}local.test`, "--cacert", files.ca, "-v"]);
        assertEquals(result.code, 0, result.err);
        assertStringIncludes(result.out, "First post");
        // STARTTLS before anything else, and GROUP only after it.
        const sent = result.err.split("\n").filter((l) => l.startsWith("C: "));
        assertEquals(sent.slice(0, 4), [
          "C: CAPABILITIES",
          "C: STARTTLS",
          "C: CAPABILITIES",
          "C: GROUP local.test",
        ]);
        assertStringIncludes(log.stderr, "127.0.0.1 STARTTLS\n");
      },
    );
  });
});

Deno.test("news fails, suggesting --cacert, when the STARTTLS certificate does not verify", async () => {
  await withCertFiles(async (files) => {
    await withNewsServer(
      ["--tls-cert", files.cert, "--tls-key", files.key],
      async (url, _d, log) => {
        const port = new URL(url).port;
        const result = await news(["list", `${url}local.test`, "-v"]);
        assertEquals(result.code, 1);
        assertMatch(
          result.err,
          new RegExp(
            `\ninetkit news: Cannot start TLS with 127\\.0\\.0\\.1 port ${port}: .*certificate.*` +
              "\\(--cacert FILE trusts a private CA\\)\n$",
          ),
        );
        // Never a fallback to clear text: nothing after the failed handshake.
        assert(!result.err.includes("C: GROUP"), result.err);
        assertEquals(result.out, "");
        assert(!log.stderr.includes("GROUP"), log.stderr);
      },
    );
  });
});

Deno.test("news --no-tls stays in clear when the server offers STARTTLS", async () => {
  await withCertFiles(async (files) => {
    await withNewsServer(
      ["--tls-cert", files.cert, "--tls-key", files.key],
      async (url, _d, log) => {
        const result = await news(["list", `${url}local.test`, "--no-tls", "-v"]);
        assertEquals(result.code, 0, result.err);
        assertStringIncludes(result.out, "First post");
        assert(!result.err.includes("STARTTLS"), result.err);
        assert(!log.stderr.includes("STARTTLS"), log.stderr);
        assertStringIncludes(log.stderr, "127.0.0.1 GROUP local.test\n");
      },
    );
  });
});

Deno.test("news --cacert with a missing or certificate-less file exits 77 before connecting", async () => {
  await withCertFiles(async (files) => {
    // Port 9 is never dialled: the file is checked first.
    const missing = await news(["list", "nntp://127.0.0.1:9/g", "--cacert", `${files.dir}/nope`]);
    assertEquals(missing.code, 77);
    assertEquals(
      missing.err,
      `inetkit news: Cannot read the CA certificate file ${files.dir}/nope: ` +
        "No such file or directory\n",
    );
    const key = await news(["list", "nntps://127.0.0.1:9/g", "--cacert", files.key]);
    assertEquals(key.code, 77);
    assertEquals(
      key.err,
      `inetkit news: Cannot use the CA certificate file ${files.key}: it holds no PEM certificate\n`,
    );
  });
});

/**
 * A one-connection NNTP server that offers STARTTLS and refuses it with
 * 580; resolves to everything the client sent.
 */
function refusingStartTlsServer(): { port: number; transcript: Promise<string> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const transcript = (async () => {
    const conn = await listener.accept();
    listener.close();
    let buffer = "";
    let seen = "";
    const chunk = new Uint8Array(4096);
    const reply = (text: string) => conn.write(encoder.encode(text));
    try {
      await reply("200 fake news server ready\r\n");
      for (;;) {
        while (!buffer.includes("\r\n")) {
          const n = await conn.read(chunk);
          if (n === null) return seen;
          const text = decoder.decode(chunk.subarray(0, n));
          buffer += text;
          seen += text;
        }
        const line = buffer.slice(0, buffer.indexOf("\r\n"));
        buffer = buffer.slice(line.length + 2);
        const verb = line.split(" ")[0]!.toUpperCase();
        if (verb === "CAPABILITIES") {
          await reply("101 Capability list:\r\nVERSION 2\r\nREADER\r\nSTARTTLS\r\n.\r\n");
        } else if (verb === "STARTTLS") await reply("580 Can not initiate TLS negotiation\r\n");
        else if (verb === "GROUP") await reply("211 0 1 0 local.test\r\n");
        else if (verb === "QUIT") {
          await reply("205 bye\r\n");
          return seen;
        } else await reply("500 What?\r\n");
      }
    } finally {
      conn.close();
    }
  })();
  return { port: listener.addr.port, transcript };
}

Deno.test("news goes on in clear when the server refuses the STARTTLS it offers", async () => {
  const { port, transcript } = refusingStartTlsServer();
  const result = await news(["list", `nntp://127.0.0.1:${port}/local.test`]);
  assertEquals([result.code, result.err, result.out], [0, "", ""]);
  assertEquals(
    await transcript,
    "CAPABILITIES\r\nSTARTTLS\r\nGROUP local.test\r\nQUIT\r\n",
  );
});

Deno.test("news --starttls fails, sending nothing more, when the server refuses STARTTLS", async () => {
  const { port, transcript } = refusingStartTlsServer();
  const result = await news(["list", `nntp://127.0.0.1:${port}/local.test`, "--starttls"]);
  assertEquals(result.code, 1);
  assertEquals(
    result.err,
    `inetkit news: Cannot start TLS with 127.0.0.1 port ${port}: ` +
      "server replied 580 Can not initiate TLS negotiation (--starttls requires it)\n",
  );
  assertEquals(await transcript, "CAPABILITIES\r\nSTARTTLS\r\n");
});

Deno.test("news sends no password in clear to a host it cannot tell is loopback, unless --insecure-auth", async () => {
  Deno.env.set("INETKIT_NEWS_TEST_PW", "trustno1");
  try {
    const login = ["--user", "mulder", "--password-env", "INETKIT_NEWS_TEST_PW"];
    await withNewsServer(login, async (url, _dir, log) => {
      // "127.1" reaches 127.0.0.1 but is not a loopback name the client knows.
      const remote = url.replace("127.0.0.1", "127.1");
      const refused = await news(["list", `${remote}local.test`, ...login, "-v"]);
      assertEquals(refused.code, 1);
      assertStringIncludes(
        refused.err,
        `inetkit news: Cannot log in to 127.1 port ${new URL(url).port}: ` +
          "no usable method among AUTHINFO USER on a connection without TLS; " +
          "the password would go in clear (--insecure-auth allows it)\n",
      );
      assert(!refused.err.includes("C: AUTHINFO"), refused.err);
      assert(!log.stderr.includes("AUTHINFO"), log.stderr);
      const allowed = await news(["list", `${remote}local.test`, ...login, "--insecure-auth"]);
      assertEquals(allowed.code, 0, allowed.err);
      assertStringIncludes(allowed.out, "First post");
      assertStringIncludes(log.stderr, "127.0.0.1 AUTHINFO PASS ****\n");
    });
  } finally {
    Deno.env.delete("INETKIT_NEWS_TEST_PW");
  }
});

// ---- against the peers' INN 2.7 (nnrpd on 127.0.0.1:1119, STARTTLS) ----

const INN = "nntp://127.0.0.1:1119";

peerTest("news list upgrades to TLS at INN's STARTTLS by default (--cacert)", 1119, async () => {
  const result = await news([
    "list",
    `${INN}/comp.lang.python`,
    "--cacert",
    `${PEERS_DIR}/tls/ca.pem`,
    "-v",
  ]);
  assertEquals(result.code, 0, result.err);
  const sent = result.err.split("\n").filter((l) => l.startsWith("C: "));
  assertEquals(sent.slice(0, 3), ["C: CAPABILITIES", "C: STARTTLS", "C: CAPABILITIES"]);
  assertMatch(result.out, /^1\t.*\tWelcome to comp\.lang\.python\n/);
});

peerTest("news refuses INN's certificate without --cacert, never falling back", 1119, async () => {
  const result = await news(["read", `${INN}/<peers-py-1@example.test>`, "-v"]);
  assertEquals(result.code, 1);
  assertStringIncludes(result.err, "C: STARTTLS\n");
  assert(!result.err.includes("C: ARTICLE"), result.err);
  assertStringIncludes(
    result.err,
    "inetkit news: Cannot start TLS with 127.0.0.1 port 1119: ",
  );
  assertStringIncludes(result.err, "(--cacert FILE trusts a private CA)\n");
  assertEquals(result.out, "");
});

peerTest("news --no-tls reads INN in clear though it offers STARTTLS", 1119, async () => {
  const result = await news(["read", `${INN}/<peers-py-1@example.test>`, "--no-tls", "-v"]);
  assertEquals(result.code, 0, result.err);
  assert(!result.err.includes("C: STARTTLS"), result.err);
  assertStringIncludes(result.out, "Subject: Welcome to comp.lang.python\r\n");
});

Deno.test("news --timeout gives up on a server that never greets, naming the URL and the time", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  try {
    const url = `nntp://127.0.0.1:${listener.addr.port}/local.test`;
    const result = await news(["list", url, "--timeout", "100"]);
    assertEquals(result.code, 1);
    assertMatch(
      result.err,
      new RegExp(
        `^inetkit news: ${url.replaceAll(".", "\\.")}: Operation timed out after \\d+ ms\n$`,
      ),
    );
  } finally {
    (await accepted).close();
    listener.close();
  }
});
