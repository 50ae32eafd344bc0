import {
  type CgiConnectionInfo,
  type CgiOptions,
  readCgiRequest,
  serveCgi,
  writeCgiResponse,
} from "../../http/cgi.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_helpers/assert.ts";

const SCRIPTS: Record<string, string> = {
  "hello.sh": `printf 'Content-Type: text/plain\\r\\n\\r\\nhello from cgi\\n'`,
  "env.sh": `printf 'Content-Type: text/plain\\n\\n'; env | sort`,
  "echo.sh": `printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'; cat`,
  "status.sh":
    `printf 'Status: 418 I am a teapot\\r\\nContent-Type: text/plain\\r\\nX-Custom: yes\\r\\n\\r\\nteapot\\n'`,
  "redirect.sh": `printf 'Location: /static.txt\\r\\n\\r\\n'`,
  "loop.sh": `printf 'Location: /cgi-bin/loop.sh\\r\\n\\r\\n'`,
  "abs-redirect.sh": `printf 'Location: http://example.test/elsewhere\\r\\n\\r\\n'`,
  "status-redirect.sh": `printf 'Status: 301 Moved\\r\\nLocation: /new\\r\\n\\r\\n'`,
  "garbage.sh": `printf 'this is not a header block'`,
  "no-blank.sh": `printf 'Content-Type: text/plain\\r\\n'`,
  "bad-status.sh": `printf 'Status: abc\\r\\n\\r\\n'`,
  "bad-status-1xx.sh": `printf 'Status: 101 Switching\\r\\n\\r\\n'`,
  "bad-name.sh": `printf 'Bad Name: x\\r\\n\\r\\n'`,
  "bad-length.sh": `printf 'Content-Length: 1x\\r\\n\\r\\n'`,
  "space-colon.sh": `printf 'Content-Type : text/plain\\r\\n\\r\\nx'`,
  "silent.sh": `exit 1`,
  "fail-late.sh": `printf 'Content-Type: text/plain\\r\\n\\r\\npartial'; exit 3`,
  "huge-head.sh": `printf 'X-Big: '; head -c 70000 /dev/zero | tr '\\\\0' a; printf '\\r\\n\\r\\n'`,
  "sleep.sh": `sleep 5`,
  "slow-body.sh": `printf 'Content-Type: text/plain\\r\\n\\r\\nstart\\n'; sleep 5; printf 'never'`,
  "big.sh":
    `printf 'Content-Type: application/octet-stream\\r\\nContent-Length: 1048576\\r\\n\\r\\n'; head -c 1048576 /dev/zero`,
  "hop.sh":
    `printf 'Content-Type: text/plain\\r\\nConnection: keep-alive\\r\\nTransfer-Encoding: chunked\\r\\nSet-Cookie: a=1\\r\\nSet-Cookie: b=2\\r\\n\\r\\nok'`,
  "no-content.sh": `printf 'Status: 204 No Content\\r\\n\\r\\n'`,
};

const base = await Deno.makeTempDir({ prefix: "inetkit_cgi_" });
const cgiDir = `${base}/cgi-bin`;
await Deno.mkdir(`${cgiDir}/sub`, { recursive: true });
await Deno.mkdir(`${base}/outside`);
for (const [name, body] of Object.entries(SCRIPTS)) {
  await Deno.writeTextFile(`${cgiDir}/${name}`, `#!/bin/sh\n${body}\n`);
}
await Deno.writeTextFile(
  `${cgiDir}/sub/nested.sh`,
  `printf 'Content-Type: text/plain\\n\\nnested %s' "$PATH_INFO"\n`,
);
await Deno.writeTextFile(`${cgiDir}/.hidden.sh`, `printf 'Content-Type: text/plain\\n\\nhidden'\n`);
await Deno.writeTextFile(`${cgiDir}/notes.txt`, "plain text, not executable");
await Deno.writeTextFile(
  `${cgiDir}/direct.cgi`,
  `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\ndirect'\n`,
);
await Deno.chmod(`${cgiDir}/direct.cgi`, 0o755);
await Deno.writeTextFile(
  `${base}/outside/evil.sh`,
  `printf 'Content-Type: text/plain\\n\\nescaped'\n`,
);
await Deno.symlink(`${base}/outside/evil.sh`, `${cgiDir}/link.sh`);
globalThis.addEventListener("unload", () => Deno.removeSync(base, { recursive: true }));

const INFO: CgiConnectionInfo = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
  localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 8000 },
  version: "HTTP/1.1",
};

function options(extra: Partial<CgiOptions> = {}): CgiOptions {
  return {
    directories: { "/cgi-bin": cgiDir },
    interpreters: { ".sh": ["/bin/sh"] },
    ...extra,
  };
}

async function run(
  path: string,
  init: RequestInit = {},
  extra: Partial<CgiOptions> = {},
  info: CgiConnectionInfo = INFO,
): Promise<Response> {
  return await serveCgi(new Request(`http://127.0.0.1:8000${path}`, init), info, options(extra));
}

function envOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

Deno.test("serveCgi() runs a script and returns its output", async () => {
  const res = await run("/cgi-bin/hello.sh");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/plain");
  assertEquals(await res.text(), "hello from cgi\n");
});

Deno.test("serveCgi() sets the RFC 3875 meta-variables", async () => {
  const res = await run(
    "/cgi-bin/env.sh/x/y%20z?a=1&b=%20",
    {
      method: "POST",
      body: "post",
      headers: {
        "content-type": "text/x-test",
        "x-dash": "2",
        cookie: "a=b",
        authorization: "Basic Zm9vOmJhcg==",
      },
    },
    { documentRoot: "/srv/www" },
    { ...INFO, target: "/cgi-bin/env.sh/x/y%20z?a=1&b=%20" },
  );
  const env = envOf(await res.text());
  assertEquals(env.GATEWAY_INTERFACE, "CGI/1.1");
  assertEquals(env.SERVER_SOFTWARE, "inetkit");
  assertEquals(env.SERVER_PROTOCOL, "HTTP/1.1");
  assertEquals(env.SERVER_NAME, "127.0.0.1");
  assertEquals(env.SERVER_PORT, "8000");
  assertEquals(env.REQUEST_METHOD, "POST");
  assertEquals(env.REQUEST_URI, "/cgi-bin/env.sh/x/y%20z?a=1&b=%20");
  assertEquals(env.SCRIPT_NAME, "/cgi-bin/env.sh");
  assertEquals(env.SCRIPT_FILENAME, `${await Deno.realPath(cgiDir)}/env.sh`);
  assertEquals(env.PATH_INFO, "/x/y z");
  assertEquals(env.PATH_TRANSLATED, "/srv/www/x/y z");
  assertEquals(env.DOCUMENT_ROOT, "/srv/www");
  assertEquals(env.QUERY_STRING, "a=1&b=%20");
  assertEquals(env.REMOTE_ADDR, "127.0.0.1");
  assertEquals(env.REMOTE_PORT, "40000");
  assertEquals(env.CONTENT_LENGTH, "4");
  assertEquals(env.CONTENT_TYPE, "text/x-test");
  assertEquals(env.HTTP_X_DASH, "2");
  assertEquals(env.HTTP_COOKIE, "a=b");
  assertEquals(env.HTTP_AUTHORIZATION, "Basic Zm9vOmJhcg==");
  assertEquals(env.HTTP_CONTENT_LENGTH, undefined);
  assertEquals(env.HTTPS, undefined);
});

Deno.test("serveCgi() never passes Proxy: as HTTP_PROXY (httpoxy)", async () => {
  const res = await run("/cgi-bin/env.sh", { headers: { proxy: "http://evil.test:1" } });
  const env = envOf(await res.text());
  assertEquals(env.HTTP_PROXY, undefined);
  assert(!Object.values(env).includes("http://evil.test:1"));
});

Deno.test("serveCgi() drops header names with underscores", async () => {
  const res = await run("/cgi-bin/env.sh", {
    headers: { "x_real_ip": "6.6.6.6", "x-real-ip": "1.2.3.4", "x!odd": "1" },
  });
  const text = await res.text();
  const env = envOf(text);
  assertEquals(env.HTTP_X_REAL_IP, "1.2.3.4");
  assert(!text.includes("6.6.6.6") && !text.includes("HTTP_X!ODD"));
});

Deno.test("serveCgi() does not leak the server's environment", async () => {
  Deno.env.set("INETKIT_SERVER_SECRET", "hunter2");
  try {
    const res = await run("/cgi-bin/env.sh", {}, { env: { EXTRA: "given" } });
    const env = envOf(await res.text());
    assertEquals(env.INETKIT_SERVER_SECRET, undefined);
    assertEquals(env.EXTRA, "given");
    assert(env.PATH !== undefined);
  } finally {
    Deno.env.delete("INETKIT_SERVER_SECRET");
  }
});

Deno.test("serveCgi() streams the request body to stdin", async () => {
  const body = new Uint8Array(300_000).map((_, i) => i % 251);
  const res = await run("/cgi-bin/echo.sh", { method: "POST", body });
  assertEquals(new Uint8Array(await res.arrayBuffer()), body);
});

Deno.test("serveCgi() collects a chunked body to set CONTENT_LENGTH", async () => {
  const stream = ReadableStream.from([
    new TextEncoder().encode("ab"),
    new TextEncoder().encode("cde"),
  ]);
  const res = await run("/cgi-bin/env.sh", { method: "POST", body: stream });
  assertEquals(envOf(await res.text()).CONTENT_LENGTH, "5");
});

Deno.test("serveCgi() refuses bodies over maxBodySize with 413", async () => {
  const res = await run("/cgi-bin/echo.sh", { method: "POST", body: "x".repeat(100) }, {
    maxBodySize: 10,
  });
  assertEquals(res.status, 413);
  await res.body?.cancel();
  const chunked = await run("/cgi-bin/echo.sh", {
    method: "POST",
    body: ReadableStream.from([new Uint8Array(20)]),
  }, { maxBodySize: 10 });
  assertEquals(chunked.status, 413);
  await chunked.body?.cancel();
});

Deno.test("serveCgi() parses Status: and passes other headers, dropping hop-by-hop ones", async () => {
  const res = await run("/cgi-bin/status.sh");
  assertEquals(res.status, 418);
  assertEquals(res.statusText, "I am a teapot");
  assertEquals(res.headers.get("x-custom"), "yes");
  assertEquals(await res.text(), "teapot\n");
  const hop = await run("/cgi-bin/hop.sh");
  assertEquals(hop.headers.get("connection"), null);
  assertEquals(hop.headers.get("transfer-encoding"), null);
  assertEquals(hop.headers.getSetCookie(), ["a=1", "b=2"]);
  assertEquals(await hop.text(), "ok");
  const empty = await run("/cgi-bin/no-content.sh");
  assertEquals(empty.status, 204);
  assertEquals(empty.body, null);
});

Deno.test("serveCgi() passes the script's Content-Length for length framing", async () => {
  const res = await run("/cgi-bin/big.sh");
  assertEquals(res.headers.get("content-length"), "1048576");
  assertEquals((await res.arrayBuffer()).byteLength, 1048576);
});

Deno.test("serveCgi() turns a Location without Status into a redirect", async () => {
  const local = await run("/cgi-bin/redirect.sh");
  assertEquals(local.status, 302);
  assertEquals(local.headers.get("location"), "/static.txt");
  await local.body?.cancel();
  const absolute = await run("/cgi-bin/abs-redirect.sh");
  assertEquals(absolute.status, 302);
  assertEquals(absolute.headers.get("location"), "http://example.test/elsewhere");
  await absolute.body?.cancel();
  const withStatus = await run("/cgi-bin/status-redirect.sh");
  assertEquals(withStatus.status, 301);
  await withStatus.body?.cancel();
});

Deno.test("serveCgi() serves local redirects internally with localRedirect, capped", async () => {
  const seen: string[] = [];
  const opts: Partial<CgiOptions> = {};
  opts.localRedirect = async (request, info) => {
    assertEquals(info, INFO);
    seen.push(`${request.method} ${new URL(request.url).pathname}`);
    if (new URL(request.url).pathname.startsWith("/cgi-bin/")) {
      return await serveCgi(request, INFO, options(opts));
    }
    return new Response("static file");
  };
  const res = await run("/cgi-bin/redirect.sh", { method: "POST", body: "x" }, opts);
  assertEquals(res.status, 200);
  assertEquals(await res.text(), "static file");
  assertEquals(seen, ["GET /static.txt"]);
  const loop = await run("/cgi-bin/loop.sh", {}, opts);
  assertEquals(loop.status, 502);
  await loop.body?.cancel();
  assertEquals(seen.length, 11);
});

Deno.test("serveCgi() answers 502 for malformed output", async () => {
  for (
    const script of [
      "garbage.sh",
      "no-blank.sh",
      "bad-status.sh",
      "bad-status-1xx.sh",
      "bad-name.sh",
      "bad-length.sh",
      "space-colon.sh",
      "silent.sh",
      "huge-head.sh",
    ]
  ) {
    const res = await run(`/cgi-bin/${script}`);
    assertEquals(res.status, 502, script);
    await res.body?.cancel();
  }
});

Deno.test("serveCgi() passes output of a script that fails after answering", async () => {
  const res = await run("/cgi-bin/fail-late.sh");
  assertEquals(res.status, 200);
  assertEquals(await res.text(), "partial");
});

Deno.test("serveCgi() kills a script that runs past the timeout: 504 before it answered", async () => {
  const started = Date.now();
  const res = await run("/cgi-bin/sleep.sh", {}, { timeout: 200 });
  assertEquals(res.status, 504);
  await res.body?.cancel();
  assert(Date.now() - started < 3000);
});

Deno.test("serveCgi() kills a script that runs past the timeout: the body errors after it answered", async () => {
  const res = await run("/cgi-bin/slow-body.sh", {}, { timeout: 300 });
  assertEquals(res.status, 200);
  await assertRejects(() => res.text(), Error);
});

Deno.test("serveCgi() kills the script when the client goes away", async () => {
  const controller = new AbortController();
  const res = await run("/cgi-bin/slow-body.sh", {}, {}, { ...INFO, signal: controller.signal });
  const reader = res.body!.getReader();
  const first = await reader.read();
  assertEquals(new TextDecoder().decode(first.value), "start\n");
  const started = Date.now();
  controller.abort();
  await reader.cancel();
  assert(Date.now() - started < 3000);
});

Deno.test("serveCgi() runs scripts only from the CGI directory and never sends their source", async () => {
  const cases: [string, number][] = [
    ["/cgi-bin/", 403],
    ["/cgi-bin/sub", 403],
    ["/cgi-bin/missing.sh", 404],
    ["/cgi-bin/.hidden.sh", 404],
    ["/cgi-bin/link.sh", 404],
    ["/cgi-bin/..%2foutside%2fevil.sh", 400],
    ["/cgi-bin/%2e%2e/outside/evil.sh", 404],
    ["/cgi-bin/hello.sh%00.txt", 400],
    ["/cgi-bin/notes.txt", 403],
    ["/other/hello.sh", 404],
  ];
  for (const [path, status] of cases) {
    const res = await run(path);
    const text = await res.text();
    assertEquals(res.status, status, path);
    assert(
      !text.includes("escaped") && !text.includes("printf") && !text.includes("plain text"),
      path,
    );
  }
});

Deno.test("serveCgi() runs an executable script directly and finds scripts in subdirectories", async () => {
  const direct = await run("/cgi-bin/direct.cgi");
  assertEquals(await direct.text(), "direct");
  const nested = await run("/cgi-bin/sub/nested.sh/more/");
  assertEquals(await nested.text(), "nested /more/");
});

Deno.test("serveCgi() answers 503 beyond maxProcesses", async () => {
  const opts = options({ maxProcesses: 1 });
  const first = await serveCgi(new Request("http://localhost/cgi-bin/slow-body.sh"), INFO, opts);
  const second = await serveCgi(new Request("http://localhost/cgi-bin/hello.sh"), INFO, opts);
  assertEquals(second.status, 503);
  await second.body?.cancel();
  await first.body!.cancel();
  const third = await serveCgi(new Request("http://localhost/cgi-bin/hello.sh"), INFO, opts);
  assertEquals(third.status, 200);
  await third.body?.cancel();
});

Deno.test("serveCgi() sends what the script writes to stderr to onStderr", async () => {
  await Deno.writeTextFile(
    `${cgiDir}/stderr.sh`,
    `echo 'oops' >&2; printf 'Content-Type: text/plain\\n\\nok'\n`,
  );
  const logged: string[] = [];
  const res = await run("/cgi-bin/stderr.sh", {}, { onStderr: (t) => logged.push(t) });
  assertEquals(await res.text(), "ok");
  assertEquals(logged.join(""), "oops\n");
});

Deno.test("serveCgi() throws without CGI directories", async () => {
  await assertRejects(
    () => serveCgi(new Request("http://localhost/"), INFO, { directories: {} }),
    TypeError,
  );
});

Deno.test("serveCgi() runs the Deno port of the directory-listing example", async () => {
  const dir = new URL("./_fixtures/cgi-bin", import.meta.url).pathname;
  const res = await serveCgi(
    new Request("http://localhost/cgi-bin/listing.ts?sort=size"),
    INFO,
    {
      directories: { "/cgi-bin": dir },
      interpreters: {
        ".ts": [Deno.execPath(), "run", "--no-config", "--allow-read", "--allow-env"],
      },
    },
  );
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await res.text();
  assertStringIncludes(html, "<h1>Files in /cgi-bin/listing.ts</h1>");
  assertStringIncludes(html, "<li>listing.ts (");
  assertStringIncludes(html, "Method: GET");
});

Deno.test("readCgiRequest() builds the Request from the CGI environment", async () => {
  const request = readCgiRequest({
    env: {
      REQUEST_METHOD: "PUT",
      HTTPS: "on",
      HTTP_HOST: "example.test:8443",
      REQUEST_URI: "/cgi-bin/app/items/1?x=%20",
      HTTP_X_TRACE: "abc",
      HTTP_PROXY: "http://evil.test",
      CONTENT_TYPE: "application/json",
      CONTENT_LENGTH: "7",
    },
    stdin: ReadableStream.from([new TextEncoder().encode('{"a":1}trailing')]),
  });
  assertEquals(request.method, "PUT");
  assertEquals(request.url, "https://example.test:8443/cgi-bin/app/items/1?x=%20");
  assertEquals(request.headers.get("x-trace"), "abc");
  assertEquals(request.headers.get("proxy"), null);
  assertEquals(request.headers.get("content-type"), "application/json");
  assertEquals(await request.json(), { a: 1 });
});

Deno.test("readCgiRequest() builds the URL from SCRIPT_NAME and PATH_INFO without REQUEST_URI", () => {
  const request = readCgiRequest({
    env: {
      REQUEST_METHOD: "GET",
      SERVER_NAME: "::1",
      SERVER_PORT: "8080",
      SCRIPT_NAME: "/cgi-bin/x.ts",
      PATH_INFO: "/a b/c",
      QUERY_STRING: "q=1",
    },
    stdin: ReadableStream.from([]),
  });
  assertEquals(request.url, "http://[::1]:8080/cgi-bin/x.ts/a%20b/c?q=1");
  assertEquals(request.body, null);
});

Deno.test("readCgiRequest() errors the body when stdin ends before CONTENT_LENGTH", async () => {
  const request = readCgiRequest({
    env: { REQUEST_METHOD: "POST", SERVER_NAME: "x", CONTENT_LENGTH: "10" },
    stdin: ReadableStream.from([new TextEncoder().encode("short")]),
  });
  await assertRejects(() => request.text(), Error, "5 bytes early");
});

Deno.test("readCgiRequest() throws outside a CGI environment", () => {
  assertThrows(() => readCgiRequest({ env: {} }), TypeError, "REQUEST_METHOD");
});

Deno.test("writeCgiResponse() writes Status, headers, each Set-Cookie and the body", async () => {
  const chunks: Uint8Array[] = [];
  const stdout = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
  const headers = new Headers({ "content-type": "text/plain" });
  headers.append("set-cookie", "a=1");
  headers.append("set-cookie", "b=2");
  await writeCgiResponse(
    new Response(
      ReadableStream.from([new TextEncoder().encode("x"), new TextEncoder().encode("y")]),
      {
        status: 201,
        headers,
      },
    ),
    { stdout },
  );
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  assertEquals(
    text,
    "Status: 201 Created\r\ncontent-type: text/plain\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\nxy",
  );
});
