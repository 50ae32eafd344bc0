import { captureIo, runCommand, UsageError } from "../../cli/_command.ts";
import { GET_EXIT, getCommand } from "../../cli/get.ts";
import { serve } from "../../http/serve.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";

/** Runs `get` with no proxies from the environment. */
async function get(args: string[], stdin = "") {
  const io = captureIo(stdin);
  const code = await getCommand.run(["--noproxy", "*", ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

function server(handler: (request: Request) => Response | Promise<Response>) {
  const s = serve({ port: 0 }, handler);
  return { url: `http://127.0.0.1:${s.addr.port}`, [Symbol.asyncDispose]: () => s.shutdown() };
}

async function tempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli get prints the body, and the head with -i", async () => {
  await using s = server(() => new Response("hello\n", { headers: { "x-a": "1" } }));
  assertEquals(await get([`${s.url}/`]), { code: 0, out: "hello\n", err: "" });
  const { out } = await get(["-i", `${s.url}/`]);
  assertEquals(out.startsWith("HTTP/1.1 200 OK\r\n"), true);
  assertStringIncludes(out, "x-a: 1\r\n");
  assertEquals(out.endsWith("\r\n\r\nhello\n"), true);
});

Deno.test("cli get -o writes the file; data: and file: URLs work too", async () => {
  await tempDir(async (dir) => {
    await using s = server(() => new Response(new Uint8Array([0, 255, 1])));
    const r = await get([`${s.url}/bin`, "-o", `${dir}/out`]);
    assertEquals([r.code, r.out], [0, ""]);
    assertEquals(await Deno.readFile(`${dir}/out`), new Uint8Array([0, 255, 1]));
    assertEquals((await get(["data:,inline"])).out, "inline");
    await Deno.writeTextFile(`${dir}/local.txt`, "local");
    assertEquals((await get([`file://${dir}/local.txt`])).out, "local");
  });
});

Deno.test("cli get follows redirects only with -L", async () => {
  await using s = server((request) =>
    new URL(request.url).pathname === "/old"
      ? new Response("moved", { status: 302, headers: { location: "/new" } })
      : new Response("new place")
  );
  assertEquals(await get([`${s.url}/old`]), { code: 0, out: "moved", err: "" });
  assertEquals((await get(["-L", `${s.url}/old`])).out, "new place");
});

Deno.test("cli get exits 22 for HTTP errors, printing the body", async () => {
  await using s = server(() => new Response("not here", { status: 404 }));
  const r = await get([`${s.url}/x`]);
  assertEquals([r.code, r.out], [GET_EXIT.http, "not here"]);
  assertStringIncludes(r.err, "HTTP 404");
});

Deno.test("cli get -u sends Basic at once; --digest answers the challenge", async () => {
  const seen: (string | null)[] = [];
  await using s = server((request) => {
    const auth = request.headers.get("authorization");
    seen.push(auth);
    if (auth?.startsWith("Basic ") || auth?.startsWith("Digest ")) return new Response("in");
    return new Response("", {
      status: 401,
      headers: { "www-authenticate": 'Digest realm="r", nonce="n", qop="auth"' },
    });
  });
  assertEquals((await get(["-u", "mulder:trustno1", `${s.url}/`])).out, "in");
  assertEquals(seen, ["Basic bXVsZGVyOnRydXN0bm8x"]);
  seen.length = 0;
  assertEquals((await get(["-u", "mulder:trustno1", "--digest", `${s.url}/`])).out, "in");
  assertEquals(seen[0], null);
  assertStringIncludes(seen[1]!, 'Digest username="mulder", realm="r"');
});

Deno.test("cli get sends -H headers, -d data as a form POST, and -X methods", async () => {
  let seen: Record<string, string | null> = {};
  await using s = server(async (request) => {
    seen = {
      method: request.method,
      type: request.headers.get("content-type"),
      custom: request.headers.get("x-custom"),
      body: await request.text(),
    };
    return new Response("ok");
  });
  await get(["-H", "X-Custom: yes", "-d", "a=1", "-d", "b=2", `${s.url}/`]);
  assertEquals(seen, {
    method: "POST",
    type: "application/x-www-form-urlencoded",
    custom: "yes",
    body: "a=1&b=2",
  });
  await get(["-X", "DELETE", `${s.url}/`]);
  assertEquals(seen.method, "DELETE");
  await get(["-d", "@-", `${s.url}/`], "from stdin");
  assertEquals(seen.body, "from stdin");
});

Deno.test("cli get -b and -c read and write Netscape cookie files", async () => {
  await tempDir(async (dir) => {
    let cookie: string | null = null;
    await using s = server((request) => {
      cookie = request.headers.get("cookie");
      return new Response("ok", { headers: { "set-cookie": "fresh=2; Path=/; Max-Age=3600" } });
    });
    const jar = `${dir}/jar.txt`;
    assertEquals((await get(["-c", jar, `${s.url}/`])).code, 0);
    assertStringIncludes(await Deno.readTextFile(jar), "\tfresh\t2");
    await get(["-b", jar, `${s.url}/`]);
    assertEquals(cookie, "fresh=2");
    await get(["-b", "inline=1", `${s.url}/`]);
    assertEquals(cookie, "inline=1");
  });
});

Deno.test("cli get -C - resumes a partial download", async () => {
  const content = "abcdefghijklmnopqrstuvwxyz";
  let range: string | null = null;
  await using s = server((request) => {
    range = request.headers.get("range");
    const m = /^bytes=(\d+)-$/.exec(range ?? "");
    if (m === null) return new Response(content);
    return new Response(content.slice(Number(m[1])), {
      status: 206,
      headers: { "content-range": `bytes ${m[1]}-${content.length - 1}/${content.length}` },
    });
  });
  await tempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/part`, "abcdef");
    assertEquals((await get(["-C", "-", "-o", `${dir}/part`, `${s.url}/`])).code, 0);
    assertEquals(await Deno.readTextFile(`${dir}/part`), content);
    assertEquals(range, "bytes=6-");
  });
});

Deno.test("cli get exit codes by failure class", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  assertEquals((await get([`http://127.0.0.1:${port}/`])).code, GET_EXIT.connect);
  assertEquals((await get(["http://[::1/"])).code, GET_EXIT.badUrl);
  assertEquals((await get(["gopher+x://h/"])).code, GET_EXIT.failed);
  assertEquals((await get(["http://host.invalid/"])).code, GET_EXIT.resolve);
  await using slow = server(() =>
    new Promise((r) => setTimeout(() => r(new Response("late")), 300))
  );
  assertEquals((await get(["--timeout", "50", `${slow.url}/`])).code, GET_EXIT.timeout);
  await using loop = server((request) => Response.redirect(new URL("/again", request.url), 302));
  const r = await get(["-L", `${loop.url}/`]);
  assertEquals(r.code, GET_EXIT.redirects);
  await using garbage = {
    listener: Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    async [Symbol.asyncDispose]() {
      this.listener.close();
      await this.task;
    },
    task: Promise.resolve(),
  };
  garbage.task = (async () => {
    const conn = await garbage.listener.accept();
    await conn.read(new Uint8Array(1024));
    await conn.write(new TextEncoder().encode("NOT HTTP AT ALL\r\n\r\n"));
    conn.close();
  })();
  const bad = await get([`http://127.0.0.1:${(garbage.listener.addr as Deno.NetAddr).port}/`]);
  assertEquals(bad.code, GET_EXIT.badReply);
  await tempDir(async (dir) => {
    await using s = server(() => new Response("x"));
    assertEquals((await get(["-o", `${dir}/missing/dir/file`, `${s.url}/`])).code, GET_EXIT.write);
  });
});

Deno.test("cli get rejects bad usage", async () => {
  for (
    const args of [
      [],
      ["a", "b"],
      ["-C", "5", "-o", "f", "http://h/"],
      ["-C", "-", "http://h/"],
      [
        "-H",
        "nocolon",
        "http://h/",
      ],
      ["-u", "nopass", "http://h/"],
      ["--timeout", "soon", "http://h/"],
      ["--bogus", "http://h/"],
    ]
  ) {
    await assertRejects(
      () => getCommand.run(args, captureIo()),
      UsageError,
      undefined,
      args.join(" "),
    );
  }
});

Deno.test("cli get -x sends the request through the proxy", async () => {
  const s = serve({ port: 0 }, (_request, info) => new Response(`proxied ${info.target}`));
  try {
    const io = captureIo();
    const code = await getCommand.run(
      ["-x", `127.0.0.1:${s.addr.port}`, "http://origin.test/x?y"],
      io,
    );
    assertEquals([code, io.stdout], [0, "proxied http://origin.test/x?y"]);
  } finally {
    await s.shutdown();
  }
});

// ---- errors and output as curl has them (the "newcomer's first hour" issue) ----------------

/** A port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Runs `get` through runCommand (as `inetkit get` does) with a prepared io. */
async function getWith(io: ReturnType<typeof captureIo>, args: string[]) {
  const code = await runCommand(getCommand, ["--noproxy", "*", ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

Deno.test("cli get file:///missing exits 37 (couldn't read file), not 6", async () => {
  await tempDir(async (dir) => {
    const r = await get([`file://${dir}/nope.txt`]);
    assertEquals(r.code, GET_EXIT.fileRead);
    assertEquals(
      r.err,
      `inetkit get: Couldn't read file ${dir}/nope.txt: No such file or directory\n`,
    );
    assertEquals((await get([`file://${dir}`])).code, GET_EXIT.fileRead);
  });
});

Deno.test("cli get ends quietly with 23 when standard output is closed (get URL | head -c 10)", async () => {
  await using s = server(() =>
    new Response(ReadableStream.from((function* () {
      for (let i = 0; i < 1000; i++) yield new TextEncoder().encode("x".repeat(1024));
    })()))
  );
  const io = captureIo();
  let writes = 0;
  io.write = () => {
    if (++writes > 2) {
      return Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)"));
    }
    return Promise.resolve();
  };
  const r = await getWith(io, [`${s.url}/`]);
  assertEquals([r.code, r.err], [GET_EXIT.write, ""]);
  assertEquals(writes, 3);
  // The head of -i goes through the same door.
  const head = captureIo();
  head.out = () => {
    throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
  };
  assertEquals((await getWith(head, ["-i", `${s.url}/`])).code, GET_EXIT.write);
  assertEquals(head.stderr, "");
});

Deno.test("cli get --cacert with a missing or empty file exits 77", async () => {
  await tempDir(async (dir) => {
    const missing = await getWith(captureIo(), ["--cacert", `${dir}/missing.pem`, "https://h/"]);
    assertEquals(missing.code, GET_EXIT.cacert);
    assertEquals(
      missing.err,
      `inetkit get: Cannot read the CA certificate file ${dir}/missing.pem: No such file or directory\n`,
    );
    await Deno.writeTextFile(`${dir}/empty.pem`, "not a certificate\n");
    const empty = await getWith(captureIo(), ["--cacert", `${dir}/empty.pem`, "https://h/"]);
    assertEquals(empty.code, 77);
    assertStringIncludes(empty.err, "holds no PEM certificate");
    const ftp = await getWith(captureIo(), ["--cacert", `${dir}/missing.pem`, "ftp://h/x"]);
    assertEquals(ftp.code, 77);
  });
});

Deno.test("cli get names the host, port and time taken when it cannot connect", async () => {
  const port = closedPort();
  const r = await get([`http://127.0.0.1:${port}/x`]);
  assertEquals(r.code, GET_EXIT.connect);
  assertMatch(
    r.err,
    new RegExp(
      `^inetkit get: Failed to connect to 127\\.0\\.0\\.1 port ${port} after \\d+ ms: Connection refused\\n$`,
    ),
  );
  const io = captureIo();
  const proxiedCode = await getCommand.run([
    "-x",
    `http://127.0.0.1:${port}`,
    "http://origin.test/",
  ], io);
  assertEquals(proxiedCode, GET_EXIT.connect);
  assertStringIncludes(io.stderr, `Failed to connect to proxy 127.0.0.1 port ${port} after `);
  // --noproxy bypasses -x: a name that does not resolve is then the host's (6), not the proxy's (5).
  const bypassed = await get(["-x", `http://127.0.0.1:${port}`, "http://origin.invalid/"]);
  assertEquals([bypassed.code, bypassed.err], [
    GET_EXIT.resolve,
    "inetkit get: Could not resolve host: origin.invalid\n",
  ]);
  assertEquals(
    (await get(["http://host.invalid/"])).err,
    "inetkit get: Could not resolve host: host.invalid\n",
  );
  // A redirect target is named, not the first URL.
  await using s = server(() => Response.redirect(`http://127.0.0.1:${port}/there`, 302));
  const followed = await get(["-L", `${s.url}/`]);
  assertStringIncludes(followed.err, `Failed to connect to 127.0.0.1 port ${port} after `);
  await using missing = server(() =>
    new Response("gone", { status: 404, statusText: "Not Found" })
  );
  assertStringIncludes(
    (await get([`${missing.url}/x`])).err,
    `${missing.url}/x: HTTP 404 Not Found`,
  );
  await using slow = server(() => new Promise((r) => setTimeout(() => r(new Response("")), 300)));
  assertMatch(
    (await get(["--timeout", "50", `${slow.url}/`])).err,
    /^inetkit get: http:\/\/127\.0\.0\.1:\d+\/: operation timed out after \d+ ms\n$/,
  );
});

Deno.test("cli get refuses binary output to a terminal as curl does, unless -o -", async () => {
  const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]);
  await using s = server((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/nul") return new Response(bytes);
    if (path === "/png") {
      return new Response("PNG-ish", { headers: { "content-type": "image/png" } });
    }
    if (path === "/json") {
      return new Response('{"a":1}', { headers: { "content-type": "application/json" } });
    }
    return new Response("plain text\n", {
      headers: { "content-type": "application/octet-stream" },
    });
  });
  const terminal = () => Object.assign(captureIo(), { isTerminal: true });
  for (const path of ["/nul", "/png"]) {
    const refused = await getWith(terminal(), [`${s.url}${path}`]);
    assertEquals([refused.code, refused.out], [GET_EXIT.write, ""], path);
    assertEquals(
      refused.err,
      'Warning: Binary output can mess up your terminal. Use "--output -" to tell inetkit to ' +
        'output it to your terminal anyway, or consider "--output <FILE>" to save to a file.\n',
    );
  }
  const forced = await getWith(terminal(), ["-o", "-", `${s.url}/nul`]);
  assertEquals([forced.code, forced.err], [0, ""]);
  assertEquals(new TextEncoder().encode(forced.out).length > 0, true);
  assertEquals((await getWith(terminal(), ["--output", "-", `${s.url}/png`])).out, "PNG-ish");
  assertEquals((await getWith(terminal(), [`${s.url}/json`])).out, '{"a":1}');
  // No type to go by and no NUL: text.
  assertEquals((await getWith(terminal(), [`${s.url}/text`])).out, "plain text\n");
  // Not a terminal: the bytes as they are.
  assertEquals((await getWith(captureIo(), [`${s.url}/nul`])).code, 0);
  // -o - is standard output, not a file named "-".
  await tempDir(async (dir) => {
    const cwd = Deno.cwd();
    Deno.chdir(dir);
    try {
      assertEquals((await getWith(captureIo(), ["-o", "-", `${s.url}/text`])).out, "plain text\n");
      assertEquals([...Deno.readDirSync(dir)].length, 0);
    } finally {
      Deno.chdir(cwd);
    }
  });
});

Deno.test("cli get -o FILE draws the progress bar on standard error, sized to the terminal", async () => {
  const chunk = new Uint8Array(16384);
  await using s = server(() =>
    new Response(
      ReadableStream.from((function* () {
        for (let i = 0; i < 64; i++) yield chunk;
      })()),
      { headers: { "content-length": String(64 * 16384) } },
    )
  );
  await tempDir(async (dir) => {
    let time = 0;
    const io = Object.assign(captureIo(), {
      errIsTerminal: true,
      columns: () => 40,
      now: () => (time += 60),
    });
    const r = await getWith(io, ["-o", `${dir}/out.bin`, `${s.url}/`]);
    assertEquals([r.code, r.out], [0, ""]);
    assertEquals((await Deno.stat(`${dir}/out.bin`)).size, 64 * 16384);
    const draws = r.err.split(/[\r\n]/).map((l) => l.replace("\x1b[K", "")).filter(Boolean);
    assert(draws.length >= 2, r.err);
    for (const line of draws) assert(line.length <= 39, JSON.stringify(line));
    assert(r.err.endsWith("\x1b[K\n"));
    assertMatch(draws[draws.length - 1]!, /^100% .*1\.0M.*\/s in \d+\.\ds$/);
    // -s: no bar; and none when standard error is not a terminal.
    const silent = Object.assign(captureIo(), { errIsTerminal: true, columns: () => 40 });
    assertEquals((await getWith(silent, ["-s", "-o", `${dir}/b`, `${s.url}/`])).err, "");
    assertEquals((await getWith(captureIo(), ["-o", `${dir}/c`, `${s.url}/`])).err, "");
  });
});

Deno.test("cli get --help and --version go through runCommand, and usage errors are one line", async () => {
  const help = captureIo();
  assertEquals(await runCommand(getCommand, ["--help"], help), 0);
  assert(help.stdout.startsWith("Usage: inetkit get "));
  const version = captureIo();
  assertEquals(await runCommand(getCommand, ["--version"], version), 0);
  assertMatch(version.stdout, /^inetkit \d+\.\d+\.\d+ \(deno /);
  const usage = captureIo();
  assertEquals(await runCommand(getCommand, ["--bogus", "http://h/"], usage), 2);
  assertEquals(
    usage.stderr,
    "inetkit get: Unknown option --bogus\nTry 'inetkit get --help' for more information.\n",
  );
});

Deno.test("cli get exits 35 for a certificate that does not verify, and says how to trust a private CA", async () => {
  const { testCert } = await import("../_helpers/tls.ts");
  const cert = await testCert();
  const s = serve({ port: 0, cert: cert.cert, key: cert.key }, () => new Response("secret"));
  try {
    const url = `https://127.0.0.1:${s.addr.port}/`;
    const r = await get([url]);
    assertEquals([r.code, r.out], [GET_EXIT.tls, ""]);
    assertEquals(
      r.err,
      `inetkit get: Cannot open ${url}: invalid peer certificate: UnknownIssuer ` +
        "(--cacert FILE trusts a private CA)\n",
    );
    await tempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/ca.pem`, cert.ca);
      assertEquals((await get(["--cacert", `${dir}/ca.pem`, url])).out, "secret");
    });
  } finally {
    await s.shutdown();
  }
});
