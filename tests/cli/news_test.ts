import { captureIo, runCommand, UsageError } from "../../cli/_command.ts";
import { newsCommand, startNewsServe } from "../../cli/news.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
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
    const tls = await news(["list", `${url}local.test`, "--starttls"]);
    assertEquals(tls.code, 1);
    assertStringIncludes(tls.err, "does not offer STARTTLS");
  });
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const down = await news(["list", `nntp://127.0.0.1:${port}/g`]);
  assertEquals(
    down.err,
    `inetkit news: Failed to connect to 127.0.0.1 port ${port}: Connection refused\n`,
  );
});

Deno.test("news serve prints where it serves and one line per command", async () => {
  await withNewsServer([], async (url, dir, io) => {
    assertMatch(url, /^nntp:\/\/127\.0\.0\.1:\d+\/$/);
    assertEquals(
      io.stdout,
      `Serving news from ${dir} at ${url} (groups: local.test, comp.lang.python)\n`,
    );
    await news(["list", `${url}local.test`]);
    const lines = io.stdout.trim().split("\n").slice(1);
    assert(lines.includes("127.0.0.1 GROUP local.test"), lines.join("\n"));
  });
  await withNewsServer(["--quiet", "--read-only"], async (url, _dir, io) => {
    const posted = await news(
      ["post", `${url}local.test`, "--from", "a@x.test", "--subject", "s"],
      "x",
    );
    assertStringIncludes(posted.err, "server replied 440");
    assertEquals(io.stdout.split("\n").length, 2);
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
