import { captureIo, UsageError } from "../../cli/_command.ts";
import { GET_EXIT, getCommand } from "../../cli/get.ts";
import { serve } from "../../http/serve.ts";
import { assertEquals, assertRejects, assertStringIncludes } from "../_helpers/assert.ts";

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
