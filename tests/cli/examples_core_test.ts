/**
 * The classic chapter's and the urllib2 HOWTO's non-protocol examples
 * (`cli/examples/`), each run with `deno run` as a child process, as its
 * header says, against loopback servers this test starts: inetkit's own
 * time and HTTP servers for the clients, and raw clients for the servers
 * (which run until Ctrl-C: the test stops them with SIGTERM once it has
 * checked their answers).
 *
 * The HTTP test server answers with `Connection: close`, as Python's
 * urllib asked for: an idle keep-alive connection in the opener's pool
 * keeps a script's process alive until the pool's idle timeout (4 s).
 */
import { serveProxy } from "../../http/proxy.ts";
import { serve } from "../../http/serve.ts";
import { getTime, TimeServer } from "../../net/time_protocol.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const NET = "--allow-net=127.0.0.1";

function examplePath(name: string): string {
  return new URL(`../../cli/examples/${name}`, import.meta.url).pathname;
}

interface Result {
  code: number;
  out: string;
  err: string;
}

/** Runs an example to its end, as `deno run [permissions] FILE [args]`. */
async function example(
  name: string,
  args: string[] = [],
  permissions: string[] = [NET],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Result> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, examplePath(name), ...args],
    env: options.env,
    cwd: options.cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: result.code,
    out: decoder.decode(result.stdout),
    err: decoder.decode(result.stderr),
  };
}

/** Asserts a clean run and returns its output lines. */
function lines(result: Result): string[] {
  assertEquals([result.code, result.err], [0, ""], result.out);
  return result.out.replace(/\n$/, "").split("\n");
}

/**
 * A server example running as a child: started with port 0, it is ready
 * once it has printed "listening on port N" or "serving at port N".
 */
class ExampleServer implements AsyncDisposable {
  readonly lines: string[] = [];
  port = 0;
  #child: Deno.ChildProcess;
  #err = "";
  #waiters: (() => void)[] = [];
  #reading: Promise<void>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#reading = Promise.all([this.#readOut(), this.#readErr()]).then(() => {});
  }

  static async start(name: string, args: string[], permissions: string[] = [NET]) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...permissions, examplePath(name), ...args],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const server = new ExampleServer(child);
    try {
      const ready = await server.waitFor(/(?:listening on|serving at) port (\d+)/);
      server.port = Number(/(\d+)/.exec(ready)![1]);
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
    return server;
  }

  async #readOut(): Promise<void> {
    let rest = "";
    for await (const text of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += text;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      this.lines.push(...parts);
      for (const wake of this.#waiters.splice(0)) wake();
    }
    if (rest !== "") this.lines.push(rest);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #readErr(): Promise<void> {
    for await (const text of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      this.#err += text;
    }
  }

  /** Waits until a line (at index `from` or later) matches; returns it. */
  async waitFor(pattern: RegExp, from = 0, timeout = 10000): Promise<string> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = this.lines.slice(from).find((line) => pattern.test(line));
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no line matching ${pattern}: ${JSON.stringify(this.lines)} ${this.#err}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.min(left, 200));
      });
      clearTimeout(timer);
    }
  }

  /** Stops the server (Ctrl-C's SIGTERM cousin) and returns what it wrote to stderr. */
  async stop(): Promise<string> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#reading;
    return this.#err;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Sends raw bytes to a server and reads until it closes. */
async function rawExchange(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(request));
  return await new Response(conn.readable).text();
}

/** A port where nothing listens (bound, then released). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

// ---------------------------------------------------------------------------
// The HTTP origin for the client examples.

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

const PAGE = "<html><body>Hello from the test origin</body></html>\n";
const DIR_PAGE = "<html><body>a directory</body></html>\n";
const BASIC = `Basic ${btoa("mulder:trustno1")}`;

function origin() {
  const seen: Seen[] = [];
  const close = { connection: "close" };
  const server = serve({ port: 0 }, async (request, info) => {
    const url = new URL(request.url);
    const body = await request.text();
    seen.push({
      method: request.method,
      path: url.pathname + url.search,
      headers: Object.fromEntries(request.headers),
      body,
    });
    const html = { ...close, "content-type": "text/html" };
    const path = url.pathname;
    if (path === "/" || path === "/index.html") return new Response(PAGE, { headers: html });
    if (path === "/dir") {
      return new Response(null, { status: 301, headers: { ...close, location: "/dir/" } });
    }
    if (path === "/dir/") return new Response(DIR_PAGE, { headers: html });
    if (path === "/robots.txt") {
      return new Response("User-agent: *\nDisallow: /tim_one/\n", { headers: close });
    }
    if (path === "/echo") {
      const type = request.headers.get("content-type");
      const agent = request.headers.get("user-agent");
      return new Response(`${request.method} ${url.search} ${type} ${agent}\n${body}`, {
        headers: close,
      });
    }
    if (path === "/slow") {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        info.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()));
      });
      return new Response("late", { headers: close });
    }
    if (path.startsWith("/private/") || path.startsWith("/foo/")) {
      if (request.headers.get("authorization") !== BASIC) {
        return new Response("who are you?", {
          status: 401,
          headers: { ...close, "www-authenticate": 'Basic realm="Secret Files"' },
        });
      }
      return new Response(`welcome mulder to ${path}`, { headers: close });
    }
    return new Response("<html><body>Error 404: File Not Found</body></html>", {
      status: 404,
      headers: html,
    });
  });
  return {
    seen,
    base: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    [Symbol.asyncDispose]: () => server.shutdown({ timeout: 100 }),
  };
}

// ---------------------------------------------------------------------------
// Time protocol: clients against a TimeServer an hour behind.

function hourBehind(): { now: () => Date; date: Date } {
  const date = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
  return { now: () => date, date };
}

function assertOffset(line: string, prefix: string, suffix = ""): void {
  const match = new RegExp(`^${prefix} (\\d+)${suffix}$`).exec(line);
  assert(match !== null, line);
  const offset = Number(match[1]);
  assert(offset >= 3600 && offset <= 3602, line);
}

Deno.test("example time_client_tcp.ts (socket-example-1) reads 4 bytes and prints the offset", async () => {
  const { now, date } = hourBehind();
  await using server = new TimeServer({ transport: "tcp", now });
  const out = lines(await example("time_client_tcp.ts", ["127.0.0.1", String(server.addr.port)]));
  assertEquals(out[0], `server time is ${date.toUTCString()}`);
  assertOffset(out[1]!, "local clock is", " seconds off");
  assertEquals(out.length, 2);
});

Deno.test("example time_client.ts (timeclient.py) asks the server given as arguments", async () => {
  const { now, date } = hourBehind();
  await using server = new TimeServer({ transport: "tcp", now });
  const out = lines(await example("time_client.ts", ["127.0.0.1", String(server.addr.port)]));
  assertEquals(out[0], `server time is ${date.toUTCString()}`);
  assertOffset(out[1]!, "local clock is", " seconds off");
});

Deno.test("example time_client_udp.ts (socket-example-4) asks over UDP", async () => {
  const { now, date } = hourBehind();
  await using server = new TimeServer({ transport: "udp", now });
  const out = lines(
    await example("time_client_udp.ts", ["127.0.0.1", String(server.addr.port)], [
      "--unstable-net",
      NET,
    ]),
  );
  assertEquals(out[0], `server time is ${date.toUTCString()}`);
  assertOffset(out[1]!, "local clock is", " seconds off");
});

Deno.test("example time_client_udp.ts without --unstable-net says which flag it needs", async () => {
  const result = await example("time_client_udp.ts", ["127.0.0.1", "9"], ["--no-config", NET]);
  assertEquals(result.code, 1);
  assertStringIncludes(
    result.err,
    'NotSupported: Cannot get time over UDP: UDP needs Deno.listenDatagram, an unstable API; run with --unstable-net, or add "unstable": ["net"] to deno.json',
  );
});

Deno.test("example asyncore_time_client.ts (asyncore-example-1) prints the time difference", async () => {
  const { now } = hourBehind();
  await using server = new TimeServer({ transport: "tcp", now });
  const out = lines(
    await example("asyncore_time_client.ts", ["127.0.0.1", String(server.addr.port)]),
  );
  assertEquals(out.length, 1);
  assertOffset(out[0]!, "time difference is");
});

// ---------------------------------------------------------------------------
// Time protocol: the servers, asked with getTime().

async function checkTimeServer(
  name: string,
  transports: ("tcp" | "udp")[],
  permissions: string[],
  connectionLine: RegExp,
): Promise<ExampleServer> {
  const server = await ExampleServer.start(name, ["127.0.0.1", "0"], permissions);
  try {
    for (const transport of transports) {
      const date = await getTime({ port: server.port, transport, timeout: 5000 });
      assert(Math.abs(date.getTime() - Date.now()) < 3000, `${name} ${transport}: ${date}`);
    }
    await server.waitFor(connectionLine);
    return server;
  } catch (error) {
    await server.stop();
    throw error;
  }
}

Deno.test("example time_server_tcp.ts (socket-example-2) answers and logs each connection", async () => {
  await using server = await checkTimeServer("time_server_tcp.ts", ["tcp"], [NET], /connection/);
  assertEquals(server.lines[0], `listening on port ${server.port}`);
  assertMatch(server.lines[1]!, /^connection from \[ "127\.0\.0\.1", \d+ \]$/);
  assertEquals(await server.stop(), "");
});

Deno.test("example time_server_udp.ts (socket-example-5) answers datagrams", async () => {
  await using server = await checkTimeServer("time_server_udp.ts", ["udp"], [
    "--unstable-net",
    NET,
  ], /connection/);
  assertMatch(server.lines[1]!, /^connection from \[ "127\.0\.0\.1", \d+ \]$/);
  assertEquals(await server.stop(), "");
});

Deno.test("example select_time_server.ts (select-example-1) serves and keeps saying it waits", async () => {
  await using server = await checkTimeServer("select_time_server.ts", ["tcp"], [NET], /connection/);
  const at = server.lines.findIndex((line) => line.startsWith("connection from"));
  assertMatch(server.lines[at]!, /^connection from \[ "127\.0\.0\.1", \d+ \]$/);
  // It goes back to waiting after the connection, and says so every second.
  await server.waitFor(/^still waiting$/, at + 1);
  const after = server.lines.length;
  await server.waitFor(/^still waiting$/, after, 3000);
  assertEquals(await server.stop(), "");
});

Deno.test("example socketserver_time_server.ts (socketserver-example-1) runs a TcpServer handler", async () => {
  await using server = await checkTimeServer("socketserver_time_server.ts", ["tcp"], [NET], /conn/);
  assertMatch(server.lines[1]!, /^connection from \[ "127\.0\.0\.1", \d+ \]$/);
  assertEquals(await server.stop(), "");
});

Deno.test("example asyncore_time_server.ts (asyncore-example-2) serves TCP and UDP on one port", async () => {
  await using server = await checkTimeServer("asyncore_time_server.ts", ["tcp", "udp"], [
    "--unstable-net",
    NET,
  ], /udp channel/);
  assertMatch(server.lines[1]!, /^tcp channel for \[ "127\.0\.0\.1", \d+ \]$/);
  assertMatch(server.lines[2]!, /^udp channel for \[ "127\.0\.0\.1", \d+ \]$/);
  assertEquals(await server.stop(), "");
});

// ---------------------------------------------------------------------------
// asyncore / asynchat HTTP.

Deno.test("example asyncore_http_client.ts (SimpleAsyncHTTP, asyncore-example-3) counts the body", async () => {
  await using web = origin();
  const out = lines(await example("asyncore_http_client.ts", [`${web.base}/`]));
  assertEquals(out[0], 'status => [ 200, "OK" ]');
  assert(out.includes("content-type = text/html"), out.join("\n"));
  assertEquals(out.at(-1), `${PAGE.length} bytes in body`);
  assertEquals(web.seen.map((s) => s.path), ["/"]);
  const failed = lines(
    await example("asyncore_http_client.ts", [`http://127.0.0.1:${closedPort()}/`]),
  );
  assertEquals(failed, ["connection failed"]);
});

Deno.test("example asyncore_http_redirect.ts (asyncore-example-4) follows a 301 itself", async () => {
  await using web = origin();
  const out = lines(await example("asyncore_http_redirect.ts", [`${web.base}/dir`]));
  assertEquals(out[0], `redirecting to ${web.base}/dir/ ...`);
  assertEquals(out[1], 'status => [ 200, "OK" ]');
  assertEquals(out.at(-1), `${DIR_PAGE.length} bytes in body`);
  assertEquals(web.seen.map((s) => s.path), ["/dir", "/dir/"]);
});

Deno.test("example asynchat_http_server.ts (asynchat-example-1) echoes the request head, escaped", async () => {
  await using server = await ExampleServer.start("asynchat_http_server.ts", ["127.0.0.1", "0"]);
  assertEquals(server.lines[0], `serving at port ${server.port} ...`);
  const answer = await rawExchange(
    server.port,
    "GET /x HTTP/1.0\r\nHost: localhost\r\nUser-Agent: <script>\r\n\r\n",
  );
  assertEquals(
    answer,
    "HTTP/1.0 200 OK\r\nContent-type: text/html\r\n\r\n<html><body><pre>\r\n" +
      "GET /x HTTP/1.0\r\nHost: localhost\r\nUser-Agent: &lt;script&gt;\r\n</pre></body></html>\r\n",
  );
  // A malformed request line: the channel just shuts down.
  assertEquals(await rawExchange(server.port, "HELLO\r\n"), "");
  assertEquals(await server.stop(), "");
});

Deno.test("example asynchat_file_server.ts (asynchat-example-2) streams files and refuses traversal", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/samples`);
    const big = "x".repeat(100_000) + "\n";
    await Deno.writeTextFile(`${root}/samples/sample.htm`, big);
    await using server = await ExampleServer.start(
      "asynchat_file_server.ts",
      ["127.0.0.1", "0", root],
      [NET, `--allow-read=${root}`],
    );
    const ok = await rawExchange(server.port, "GET /samples/sample.htm HTTP/1.0\r\n\r\n");
    assertEquals(ok, `HTTP/1.0 200 OK\r\nContent-type: text/html\r\n\r\n${big}`);
    await server.waitFor(/sample\.htm =>/);
    assertEquals(server.lines[1], `/samples/sample.htm => ${root}/samples/sample.htm`);
    const notFound = "HTTP/1.0 404 Not found\r\nContent-type: text/html\r\n\r\n" +
      "<html><body>File not found.</body></html>\r\n";
    for (
      const target of ["/missing.htm", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/samples"]
    ) {
      assertEquals(
        await rawExchange(server.port, `GET ${target} HTTP/1.0\r\n\r\n`),
        notFound,
        target,
      );
    }
    assertEquals(await rawExchange(server.port, "NONSENSE\r\n\r\n"), "");
    assertEquals(await server.stop(), "");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// urllib, urlparse, Cookie, robotparser, httplib.

Deno.test("example urllib_copy.ts (urllib-example-1) copies the body to a file and prints the headers", async () => {
  await using web = origin();
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/out.html`;
    const out = lines(
      await example("urllib_copy.ts", [`${web.base}/dir`, file], [NET, `--allow-write=${dir}`]),
    );
    assertEquals(await Deno.readTextFile(file), DIR_PAGE);
    assert(out.includes("content-type = text/html"), out.join("\n"));
    assertEquals(out.at(-1), `copied ${DIR_PAGE.length} bytes from ${web.base}/dir/`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("example urllib_auto_login.ts (urllib-example-3) logs in when the server asks", async () => {
  await using web = origin();
  const out = lines(await example("urllib_auto_login.ts", [`${web.base}/private/`]));
  assertEquals(out, ["welcome mulder to /private/"]);
  assertEquals(web.seen.map((s) => s.headers.authorization ?? null), [null, BASIC]);
  const wrong = await example("urllib_auto_login.ts", [`${web.base}/private/`, "mulder", "bad"]);
  assertEquals(wrong.code, 1);
  assertStringIncludes(wrong.err, "HTTP 401");
});

Deno.test("examples urlparse_parts.ts, urlparse_http_parts.ts, urlunparse_path.ts (urlparse-example-1..3)", async () => {
  assertEquals(lines(await example("urlparse_parts.ts", [], [])), [
    '[ "http", "host", "/path", "params", "query", "fragment" ]',
  ]);
  assertEquals(lines(await example("urlparse_http_parts.ts", [], [])), [
    "host => host",
    "path => /path;params?query",
  ]);
  assertEquals(lines(await example("urlunparse_path.ts", [], [])), [
    "host => host",
    "path => /path;params?query",
  ]);
  assertEquals(
    lines(await example("urlparse_http_parts.ts", ["http://h.test:8080/a/b;x=1"], [])),
    ["host => h.test:8080", "path => /a/b;x=1"],
  );
  assertEquals(lines(await example("urlparse_http_parts.ts", ["ftp://h/x"], [])), [""]);
});

Deno.test("example urljoin_relative.ts (urlparse-example-4) resolves relative references", async () => {
  assertEquals(lines(await example("urljoin_relative.ts", [], [])), [
    "/index => http://spam.egg/index",
    "goldfish => http://spam.egg/my/little/goldfish",
    "../black/cat => http://spam.egg/my/black/cat",
  ]);
});

Deno.test("example cookie_parse.ts (cookie-example-1) round-trips cookies, quoting like SimpleCookie", async () => {
  const out = lines(await example("cookie_parse.ts", [], []));
  assertEquals(out[0], "Set-Cookie: user=Mimi");
  assertMatch(out[1]!, /^Set-Cookie: timestamp=\d+$/);
  const stamp = out[1]!.split("=")[1]!;
  assertEquals(out.slice(2), ["", 'user "Mimi"', `timestamp "${stamp}"`]);
  const quoted = lines(await example("cookie_parse.ts", ["hello world; yes"], []));
  assertEquals(quoted[0], 'Set-Cookie: user="hello world\\073 yes"');
  assertEquals(quoted[3], 'user "hello world; yes"');
});

Deno.test("example robotparser_check.ts (robotparser-example-1) obeys robots.txt", async () => {
  await using web = origin();
  assertEquals(lines(await example("robotparser_check.ts", [web.base])), [
    "may fetch the home page",
  ]);
  assertEquals(web.seen.map((s) => s.path), ["/robots.txt"]);
  // An unreachable robots.txt disallows everything (RFC 9309 §2.3.1.4).
  assertEquals(lines(await example("robotparser_check.ts", [`http://127.0.0.1:${closedPort()}`])), [
    "",
  ]);
});

Deno.test("example httplib_get.ts (httplib-example-1) sends its headers and fails on non-200", async () => {
  await using web = origin();
  const out = await example("httplib_get.ts", ["127.0.0.1", String(web.port), "/index.html"]);
  assertEquals([out.code, out.err, out.out], [0, "", PAGE + "\n"]);
  assertEquals(web.seen[0]!.headers["user-agent"], "httplib_get.ts");
  assertEquals(web.seen[0]!.headers["accept"], "*/*");
  assertEquals(web.seen[0]!.headers["host"], `127.0.0.1:${web.port}`);
  const missing = await example("httplib_get.ts", ["127.0.0.1", String(web.port), "/nothing"]);
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.err, "Cannot fetch /nothing: 404 Not Found");
});

Deno.test("example httplib_post.ts (httplib-example-2) posts data with its type", async () => {
  await using web = origin();
  const out = lines(
    await example("httplib_post.ts", ["127.0.0.1", String(web.port), "/echo", "a piece of data"]),
  );
  assertEquals(out, ["POST  text/plain httplib_post.ts", "a piece of data"]);
  assertEquals(web.seen[0]!.headers["content-length"], "15");
});

// ---------------------------------------------------------------------------
// BaseHTTPServer, SimpleHTTPServer, CGIHTTPServer, cgi.

Deno.test("example basehttpserver_quote.ts (basehttpserver-example-1) quotes at / and 404s elsewhere", async () => {
  await using server = await ExampleServer.start("basehttpserver_quote.ts", ["127.0.0.1", "0"]);
  assertEquals(server.lines[0], `serving at port ${server.port}`);
  const base = `http://127.0.0.1:${server.port}`;
  const page = await fetch(`${base}/`);
  assertEquals(page.headers.get("content-type"), "text/html");
  assertMatch(
    await page.text(),
    /^<html>\n<body>\nToday's quote: \n<i>(That's as maybe, it's still a frog\.|Albatross! Albatross!|A pink form from Reading\.|Hello people, and welcome to 'It's a Tree'|I simply stare at the brick and it goes to sleep\.)<\/i>\n<\/body>\n<\/html>\n$/,
  );
  const missing = await fetch(`${base}/other`);
  assertEquals([missing.status, await missing.text()], [404, "File not found"]);
  assertEquals(await server.stop(), "");
});

Deno.test("example simplehttpserver.ts (simplehttpserver-example-1) serves and logs files, no dotfiles", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/samples`);
    await Deno.writeTextFile(`${root}/samples/sample.htm`, "<p>sample</p>\n");
    await Deno.writeTextFile(`${root}/.secret`, "no");
    await using server = await ExampleServer.start(
      "simplehttpserver.ts",
      ["127.0.0.1", "0", root],
      [NET, `--allow-read=${root}`],
    );
    const base = `http://127.0.0.1:${server.port}`;
    const page = await fetch(`${base}/samples/sample.htm`);
    assertEquals([page.status, await page.text()], [200, "<p>sample</p>\n"]);
    const hidden = await fetch(`${base}/.secret`);
    await hidden.body?.cancel();
    assertEquals(hidden.status, 404);
    await server.waitFor(/\.secret/);
    assert(
      server.lines.some((l) => /"GET \/samples\/sample\.htm HTTP\/1\.1" 200/.test(l)),
      server.lines.join("\n"),
    );
    assertEquals(await server.stop(), "");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("example simplehttpserver_proxy.ts (simplehttpserver-example-2) proxies absolute-form requests", async () => {
  await using web = origin();
  await using proxy = await ExampleServer.start("simplehttpserver_proxy.ts", ["127.0.0.1", "0"]);
  assertEquals(proxy.lines[0], `serving at port ${proxy.port}`);
  const answer = await rawExchange(
    proxy.port,
    `GET ${web.base}/index.html HTTP/1.1\r\nHost: 127.0.0.1:${web.port}\r\nConnection: close\r\n\r\n`,
  );
  assertMatch(answer, /^HTTP\/1\.1 200 OK\r\n/);
  assert(answer.endsWith(PAGE), answer);
  assertEquals(web.seen[0]!.path, "/index.html");
  assertMatch(web.seen[0]!.headers["via"] ?? "", /^1\.1 inetkit$/);
  assertEquals(await proxy.stop(), "");
});

Deno.test("examples cgihttpserver.ts and cgi_file_listing.ts (cgihttpserver-example-1, cgi-example-1)", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/cgi`);
    await Deno.mkdir(`${root}/samples/web`, { recursive: true });
    for (const name of ["sample.txt", "<b>.txt"]) {
      await Deno.writeTextFile(`${root}/samples/${name}`, "");
    }
    await Deno.writeTextFile(`${root}/static.txt`, "just a file\n");
    await Deno.writeTextFile(
      `${root}/cgi/hello.sh`,
      'printf "Content-Type: text/plain\\r\\n\\r\\nhello %s\\n" "$QUERY_STRING"\n',
    );
    // cgi_file_listing.ts, run by a wrapper in the CGI directory (scripts get
    // no environment from the server but PATH, so the wrapper gives Deno HOME).
    await Deno.writeTextFile(
      `${root}/cgi/listing.cgi`,
      `#!/bin/sh\nexport HOME=${JSON.stringify(Deno.env.get("HOME") ?? root)}\n` +
        `exec ${JSON.stringify(Deno.execPath())} run --allow-env --allow-read=${root} ` +
        `${JSON.stringify(examplePath("cgi_file_listing.ts"))} ${
          JSON.stringify(`${root}/samples`)
        }\n`,
    );
    await Deno.chmod(`${root}/cgi/listing.cgi`, 0o755);
    await using server = await ExampleServer.start(
      "cgihttpserver.ts",
      ["127.0.0.1", "0", root],
      [NET, "--allow-read", "--allow-run"],
    );
    assertEquals(server.lines[0], `serving at port ${server.port}`);
    const base = `http://127.0.0.1:${server.port}`;
    const hello = await fetch(`${base}/cgi/hello.sh?there`);
    assertEquals([hello.status, await hello.text()], [200, "hello there\n"]);
    const file = await fetch(`${base}/static.txt`);
    assertEquals(await file.text(), "just a file\n");
    // The CGI directory is never served as files, even by a path that
    // misses the /cgi/ prefix test (%63 is "c").
    for (const target of ["/%63gi/hello.sh", "/cgi"]) {
      const answer = await rawExchange(
        server.port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assertMatch(answer, /^HTTP\/1\.1 404 /, target);
      assert(!answer.includes("printf"), answer);
    }
    const listing = await fetch(`${base}/cgi/listing.cgi?.`);
    assertEquals(listing.headers.get("content-type"), "text/html");
    assertEquals(
      await listing.text(),
      "<html>\n<head>\n<title>file listing</title>\n</head>\n<body>\n&lt;b&gt;.txt\nsample.txt\n" +
        "<a href='/cgi/listing.cgi?web'>web</a>\n</body>\n</html>\n",
    );
    const sub = await fetch(`${base}/cgi/listing.cgi?web`);
    assertStringIncludes(await sub.text(), "<body>\n</body>");
    const escape = await fetch(`${base}/cgi/listing.cgi?..`);
    assertStringIncludes(await escape.text(), "<body>\n</body>");
    assertEquals(await server.stop(), "");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// The urllib2 HOWTO.

Deno.test("example urlopen_read.ts (HOWTO: urlopen and read) prints the page", async () => {
  await using web = origin();
  assertEquals((await example("urlopen_read.ts", [`${web.base}/`])).out, PAGE + "\n");
  assertEquals(web.seen[0]!.headers["user-agent"], "inetkit/0.1");
});

Deno.test("example urllib2_request.ts (HOWTO: Request objects) opens a UrlRequest and a web Request", async () => {
  await using web = origin();
  const out = lines(await example("urllib2_request.ts", [`${web.base}/`]));
  assertEquals(out.join("\n"), PAGE + "\nsame page again: true");
  assertEquals(web.seen.map((s) => [s.method, s.headers.accept ?? null]), [
    ["GET", null],
    ["GET", "text/html"],
  ]);
});

Deno.test("example urllib2_post_form.ts (HOWTO: Data) posts the urlencoded form", async () => {
  await using web = origin();
  assertEquals(lines(await example("urllib2_post_form.ts", [`${web.base}/echo`])), [
    "POST  application/x-www-form-urlencoded inetkit/0.1",
    "name=Michael+Foord&location=Northampton&language=Python",
  ]);
});

Deno.test("example urllib2_get_query.ts (HOWTO: data in a GET) encodes the query string", async () => {
  await using web = origin();
  assertEquals(lines(await example("urllib2_get_query.ts", [`${web.base}/echo`])), [
    "name=Somebody+Here&location=Northampton&language=Python",
    "GET ?name=Somebody+Here&location=Northampton&language=Python null inetkit/0.1",
    "",
  ]);
});

Deno.test("example urllib2_request_data_headers.ts (HOWTO: Headers) sends its User-Agent", async () => {
  await using web = origin();
  assertEquals(lines(await example("urllib2_request_data_headers.ts", [`${web.base}/echo`])), [
    "POST  application/x-www-form-urlencoded Mozilla/4.0 (compatible; MSIE 5.5; Windows NT)",
    "name=Michael+Foord&location=Northampton&language=Python",
  ]);
});

Deno.test("example urllib2_urlerror_reason.ts (HOWTO: URLError) prints the reason", async () => {
  const out = lines(
    await example("urllib2_urlerror_reason.ts", [`http://127.0.0.1:${closedPort()}/`]),
  );
  assertEquals(out.length, 1);
  assertStringIncludes(out[0]!, "Connection refused");
});

Deno.test("example urllib2_httperror_read.ts (HOWTO: HTTPError) prints the code and the error page", async () => {
  await using web = origin();
  assertEquals(lines(await example("urllib2_httperror_read.ts", [`${web.base}/fish.html`])), [
    "404",
    "<html><body>Error 404: File Not Found</body></html>",
  ]);
});

for (const style of ["urllib2_errors_style1.ts", "urllib2_errors_style2.ts"]) {
  Deno.test(`example ${style} (HOWTO: Wrapping it Up) tells refusals from failures`, async () => {
    await using web = origin();
    assertEquals(lines(await example(style, [`${web.base}/`])), [`Got 200 from ${web.base}/`]);
    assertEquals(lines(await example(style, [`${web.base}/fish.html`])), [
      "The server couldn't fulfill the request.",
      "Error code:  404",
    ]);
    const out = lines(await example(style, [`http://127.0.0.1:${closedPort()}/`]));
    assertEquals(out[0], "We failed to reach a server.");
    assertMatch(out[1]!, /^Reason: {2}Connection refused/);
  });
}

Deno.test("example urllib2_info_geturl.ts (HOWTO: info and geturl) shows the URL after the redirect", async () => {
  await using web = origin();
  const out = lines(await example("urllib2_info_geturl.ts", [`${web.base}/dir`]));
  assertEquals(out[0], `geturl: ${web.base}/dir/`);
  assert(out.includes("content-type: text/html"), out.join("\n"));
  assert(out.includes(`content-length: ${DIR_PAGE.length}`), out.join("\n"));
});

Deno.test("example urllib2_opener_handlers.ts (HOWTO: Openers and Handlers) with and without redirects", async () => {
  await using web = origin();
  assertEquals(lines(await example("urllib2_opener_handlers.ts", [`${web.base}/dir`])), [
    "without a redirect handler: 301 to /dir/",
    `with the default handlers: 200 from ${web.base}/dir/`,
  ]);
});

Deno.test("example urllib2_basic_auth.ts (HOWTO: Basic Authentication) answers any realm below the top URL", async () => {
  await using web = origin();
  const out = lines(
    await example("urllib2_basic_auth.ts", [`${web.base}/foo/`, `${web.base}/foo/bar.html`]),
  );
  assertEquals(out, ["welcome mulder to /foo/bar.html", "welcome mulder to /foo/bar.html"]);
  // The credentials go only where the server asked (challenge, then retry) each time.
  assertEquals(web.seen.map((s) => s.headers.authorization ?? null), [null, BASIC, null, BASIC]);
  // A URL outside the top-level one never gets the password.
  const before = web.seen.length;
  const outside = await example("urllib2_basic_auth.ts", [
    `${web.base}/foo/`,
    `${web.base}/private/x`,
  ]);
  assertEquals(outside.code, 1);
  assertStringIncludes(outside.err, "HTTP 401");
  assertEquals(web.seen.slice(before).map((s) => s.headers.authorization ?? null), [null]);
});

Deno.test("example urllib2_proxy.ts (HOWTO: Proxies) goes direct with ProxyHandler({}), or through a proxy", async () => {
  await using web = origin();
  let proxied = 0;
  await using proxy = serve({ port: 0 }, async (request, info) => {
    proxied++;
    const response = await serveProxy(request, info);
    const headers = new Headers(response.headers);
    headers.set("connection", "close");
    return new Response(response.body, { status: response.status, headers });
  });
  const direct = lines(
    await example("urllib2_proxy.ts", [`${web.base}/`], [NET, "--allow-env"], {
      env: { http_proxy: `http://127.0.0.1:${proxy.addr.port}` },
    }),
  );
  assertEquals(direct[0], "direct: 200");
  assertEquals(proxied, 0);
  const through = lines(
    await example("urllib2_proxy.ts", [
      `${web.base}/`,
      `http://127.0.0.1:${proxy.addr.port}`,
    ]),
  );
  assertEquals(through[0], `through http://127.0.0.1:${proxy.addr.port}: 200`);
  assertEquals(through.slice(1).join("\n"), PAGE);
  assertEquals(proxied, 1);
  assertEquals(web.seen[1]!.headers.via, "1.1 inetkit");
});

Deno.test("example urllib2_timeout.ts (HOWTO: Sockets and Layers) catches a timeout as URLError", async () => {
  await using web = origin();
  assertEquals(lines(await example("urllib2_timeout.ts", [`${web.base}/`, "10"])), [
    `200 ${PAGE.length} bytes`,
  ]);
  const started = Date.now();
  assertEquals(lines(await example("urllib2_timeout.ts", [`${web.base}/slow`, "0.2"])), [
    "timed out after 0.2 s",
  ]);
  assert(Date.now() - started < 4000);
});

Deno.test("example http_status_responses.ts (HOWTO: the responses table) names status codes", async () => {
  assertEquals(lines(await example("http_status_responses.ts", ["200", "404", "418", "999"], [])), [
    "200: OK",
    "404: Not Found",
    "418: I'm a Teapot",
    "999: (unknown)",
  ]);
  const all = lines(await example("http_status_responses.ts", [], []));
  assert(all.length > 50);
  assert(all.includes("505: HTTP Version Not Supported"));
});
