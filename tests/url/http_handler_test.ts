import { serve } from "../../http/serve.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { buildOpener } from "../../url/build_opener.ts";
import { HTTPError } from "../../url/http_error.ts";
import { HttpBasicAuthHandler, ProxyBasicAuthHandler } from "../../url/http_basic_auth_handler.ts";
import { HttpCookieProcessor } from "../../url/http_cookie_processor.ts";
import { HttpUrlHandler } from "../../url/http_handler.ts";
import { PasswordManager } from "../../url/password_manager.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { URLError } from "../../url/url_error.ts";
import { UrlRequest } from "../../url/url_request.ts";
import { testCert } from "../_helpers/tls.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An opener that ignores the environment's proxies. */
function opener(...extra: ConstructorParameters<typeof HttpUrlHandler>) {
  return buildOpener(new HttpUrlHandler(...extra), new ProxyHandler({}));
}

/** A raw TCP server that runs `script` for each connection. */
function rawServer(script: (conn: Deno.Conn) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  const loop = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      tasks.push(
        script(conn).catch(() => {}).finally(() => {
          conns.delete(conn);
          try {
            conn.close();
          } catch {
            // closed by the script
          }
        }),
      );
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => tasks.length,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await loop.catch(() => {});
      await Promise.all(tasks);
    },
  };
}

/** Reads one request head (up to CRLFCRLF) from a raw connection. */
async function readHead(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buf = new Uint8Array(4096);
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n));
  }
  return text;
}

async function write(conn: Deno.Conn, text: string | Uint8Array): Promise<void> {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

Deno.test("HttpUrlHandler: GET returns a streaming UrlResponse over a kept-alive connection", async () => {
  const ports = new Set<number>();
  await using server = serve({ port: 0 }, (request, info) => {
    ports.add(info.remoteAddr.port);
    return new Response(`hello ${new URL(request.url).pathname}`, { headers: { "X-Test": "1" } });
  });
  await using o = opener();
  for (let i = 0; i < 3; i++) {
    const response = await o.open(`http://127.0.0.1:${server.addr.port}/p${i}?q#frag`);
    assertEquals([response.status, response.code, response.ok], [200, 200, true]);
    assertEquals(response.url, `http://127.0.0.1:${server.addr.port}/p${i}?q`);
    assertEquals(response.redirected, false);
    assertEquals(response.headers.get("x-test"), "1");
    assertEquals(await response.text(), `hello /p${i}`);
  }
  assertEquals(ports.size, 1);
});

Deno.test("HttpUrlHandler: POST sends the body with urllib's default content type and the opener's User-Agent", async () => {
  let seen: Record<string, string | null> = {};
  await using server = serve({ port: 0 }, async (request) => {
    seen = {
      method: request.method,
      type: request.headers.get("content-type"),
      length: request.headers.get("content-length"),
      agent: request.headers.get("user-agent"),
      body: await request.text(),
    };
    return new Response("ok");
  });
  await using o = opener();
  const url = `http://127.0.0.1:${server.addr.port}/form`;
  await (await o.open(url, { data: "a=1&b=2" })).text();
  assertEquals(seen, {
    method: "POST",
    type: "application/x-www-form-urlencoded",
    length: "7",
    agent: "inetkit/0.1",
    body: "a=1&b=2",
  });
  await (await o.open(url, {
    data: '{"x":1}',
    method: "PUT",
    headers: { "Content-Type": "application/json", "User-Agent": "mine" },
  })).text();
  assertEquals([seen.method, seen.type, seen.agent, seen.body], [
    "PUT",
    "application/json",
    "mine",
    '{"x":1}',
  ]);
});

Deno.test("HttpUrlHandler: HTTP errors become HTTPError with the body readable", async () => {
  await using server = serve({ port: 0 }, () => new Response("no such thing", { status: 404 }));
  await using o = opener();
  const error = await assertRejects(
    () => o.open(`http://127.0.0.1:${server.addr.port}/x`),
    HTTPError,
  );
  assertEquals([error.code, error.reason], [404, "Not Found"]);
  assertEquals(await error.text(), "no such thing");
});

Deno.test("HttpUrlHandler: a refused connection is a URLError with the cause", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using o = opener();
  const error = await assertRejects(() => o.open(`http://127.0.0.1:${port}/`), URLError);
  assertInstanceOf(error.cause, Deno.errors.ConnectionRefused);
});

Deno.test("HttpUrlHandler: EOF mid-body makes the body fail, not a short success", async () => {
  await using server = rawServer(async (conn) => {
    await readHead(conn);
    await write(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
  });
  await using o = opener();
  const response = await o.open(`http://127.0.0.1:${server.port}/`);
  const error = await assertRejects(() => response.text());
  assert(
    error instanceof ProtocolError || (error as Error).cause instanceof ProtocolError,
    String(error),
  );
});

Deno.test("HttpUrlHandler: timeout bounds the wait for the head and each pause in the body", async () => {
  await using server = rawServer(async (conn) => {
    const head = await readHead(conn);
    if (head.startsWith("GET /slow-head")) {
      await new Promise((r) => setTimeout(r, 400));
      return;
    }
    await write(conn, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst");
    await new Promise((r) => setTimeout(r, 400));
  });
  await using o = opener();
  const url = `http://127.0.0.1:${server.port}`;
  const headError = await o.open(`${url}/slow-head`, { timeout: 100 }).catch((e) => e);
  // urllib2's `except URLError` catches timeouts; the cause says it was one.
  assertInstanceOf(headError, URLError);
  assert(headError.timedOut);
  assertEquals((headError.cause as Error).name, "TimeoutError");
  assertEquals(
    headError.message,
    `Cannot open URL: timed out: no answer from ${url}/slow-head within 100 ms`,
  );
  const response = await o.open(`${url}/slow-body`, { timeout: 100 });
  const bodyError = await response.text().catch((e) => e);
  assertInstanceOf(bodyError, URLError);
  assert(bodyError.timedOut);
  assertEquals((bodyError.cause as Error).name, "TimeoutError");
});

Deno.test("HttpUrlHandler: a connect timeout (request's or handler's) is a URLError too", async () => {
  // A server that never answers the TLS ClientHello holds the connect
  // (TCP connect + TLS handshake) past the deadline.
  await using server = rawServer(async (conn) => {
    await conn.read(new Uint8Array(1024));
    await new Promise((r) => setTimeout(r, 400));
  });
  const url = `https://127.0.0.1:${server.port}/`;
  {
    await using o = opener({ connectTimeout: 100 });
    const error = await o.open(url).catch((e) => e);
    assertInstanceOf(error, URLError);
    assert(error.timedOut, String(error));
  }
  await using o = opener();
  const error = await o.open(url, { timeout: 100 }).catch((e) => e);
  assertInstanceOf(error, URLError);
  assert(error.timedOut, String(error));
  assertEquals(error.reason, `timed out: no answer from ${url} within 100 ms`);
});

Deno.test("HttpUrlHandler: the caller's own AbortSignal.timeout() rejects with its reason, unwrapped", async () => {
  await using server = rawServer(async (conn) => {
    await readHead(conn);
    await new Promise((r) => setTimeout(r, 300));
  });
  await using o = opener();
  const signal = AbortSignal.timeout(50);
  const error = await o.open(`http://127.0.0.1:${server.port}/`, { signal }).catch((e) => e);
  assertEquals(error, signal.reason);
});

Deno.test("HttpUrlHandler takes caCerts at the top level or in tls, like connectTcp and the mail clients", async () => {
  const { cert, key, ca } = await testCert();
  await using server = serve({ port: 0, cert, key }, () => new Response("secure"));
  const url = `https://127.0.0.1:${server.addr.port}/`;
  for (const options of [{ caCerts: [ca] }, { tls: { caCerts: [ca] } }]) {
    await using o = opener(options);
    assertEquals(await (await o.open(url)).text(), "secure", JSON.stringify(Object.keys(options)));
  }
  // tls.caCerts wins over the top level, as in the mail clients.
  {
    await using o = opener({ caCerts: [], tls: { caCerts: [ca] } });
    assertEquals(await (await o.open(url)).text(), "secure");
  }
  // Without the CA the certificate is not trusted.
  await using plain = opener();
  await assertRejects(() => plain.open(url), URLError);
});

Deno.test("HttpUrlHandler: an abort signal rejects with its reason", async () => {
  await using server = rawServer(async (conn) => {
    await readHead(conn);
    await new Promise((r) => setTimeout(r, 300));
  });
  await using o = opener();
  const controller = new AbortController();
  const pending = o.open(`http://127.0.0.1:${server.port}/`, { signal: controller.signal });
  setTimeout(() => controller.abort(new DOMException("user stop", "AbortError")), 20);
  const error = await pending.catch((e) => e);
  assertEquals([error.name, error.message], ["AbortError", "user stop"]);
});

Deno.test("HttpUrlHandler never sends Proxy-Authorization to an origin server", async () => {
  let seen: string | null = "unset";
  await using server = serve({ port: 0 }, (request) => {
    seen = request.headers.get("proxy-authorization");
    return new Response("ok");
  });
  await using o = opener();
  const request = new UrlRequest(`http://127.0.0.1:${server.addr.port}/`, {
    headers: { "Proxy-Authorization": "Basic c2VjcmV0" },
  });
  await (await o.open(request)).text();
  assertEquals(seen, null);
});

Deno.test("HttpUrlHandler sends http: requests to a proxy in absolute form with the proxy's credentials", async () => {
  const seen: { target: string; host: string | null; auth: string | null }[] = [];
  await using proxy = serve({ port: 0 }, (request, info) => {
    seen.push({
      target: info.target,
      host: request.headers.get("host"),
      auth: request.headers.get("proxy-authorization"),
    });
    return new Response("via proxy");
  });
  await using o = buildOpener(
    new HttpUrlHandler(),
    new ProxyHandler({ http: `http://us%40er:p%3Ass@127.0.0.1:${proxy.addr.port}` }),
  );
  const response = await o.open("http://origin.test:8080/a?b");
  assertEquals(await response.text(), "via proxy");
  await (await o.open("http://origin.test:8080/c")).text();
  assertEquals(seen, [
    {
      target: "http://origin.test:8080/a?b",
      host: "origin.test:8080",
      auth: `Basic ${btoa("us@er:p:ss")}`,
    },
    {
      target: "http://origin.test:8080/c",
      host: "origin.test:8080",
      auth: `Basic ${btoa("us@er:p:ss")}`,
    },
  ]);
});

Deno.test("HttpUrlHandler tunnels https: through CONNECT, Proxy-Authorization to the proxy only", async () => {
  const { cert, key, ca } = await testCert();
  const originSeen: (string | null)[] = [];
  await using origin = serve({ port: 0, cert, key }, (request) => {
    originSeen.push(request.headers.get("proxy-authorization"));
    return new Response(`secure ${new URL(request.url).pathname}`);
  });
  const connects: string[] = [];
  await using proxy = rawServer(async (client) => {
    const head = await readHead(client);
    connects.push(head);
    const target = head.split(" ")[1]!;
    if (!/proxy-authorization: basic dTpw/i.test(head)) {
      await write(
        client,
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="px"\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    const [host, port] = target.split(":");
    assertEquals(host, "localhost");
    const upstream = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    await write(client, "HTTP/1.1 200 Connection established\r\n\r\n");
    await Promise.all([
      client.readable.pipeTo(upstream.writable).catch(() => {}),
      upstream.readable.pipeTo(client.writable).catch(() => {}),
    ]);
  });
  const pm = new PasswordManager();
  pm.add("px", `http://127.0.0.1:${proxy.port}/`, "u", "p");
  await using o = buildOpener(
    new HttpUrlHandler({ caCerts: [ca] }),
    new ProxyHandler({ https: `http://127.0.0.1:${proxy.port}` }),
    new ProxyBasicAuthHandler(pm),
  );
  const response = await o.open(`https://localhost:${origin.addr.port}/tls`);
  assertEquals(await response.text(), "secure /tls");
  assertEquals(connects.length, 2);
  assert(connects[0]!.startsWith(`CONNECT localhost:${origin.addr.port} HTTP/1.1\r\n`));
  assertStringIncludes(connects[0]!.toLowerCase(), `\r\nhost: localhost:${origin.addr.port}\r\n`);
  assertEquals(/proxy-authorization/i.test(connects[0]!), false);
  assertStringIncludes(connects[1]!.toLowerCase(), "proxy-authorization: basic dtpw");
  // The tunnel is reused for the next request; the origin never saw the proxy credentials.
  await (await o.open(`https://localhost:${origin.addr.port}/again`)).text();
  assertEquals(connects.length, 2);
  assertEquals(originSeen, [null, null]);
});

Deno.test("HttpUrlHandler: a refused CONNECT fails without a clear-text fallback and hides the proxy's body", async () => {
  const origin = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const originPort = (origin.addr as Deno.NetAddr).port;
  let originConnections = 0;
  const originLoop = (async () => {
    for await (const conn of origin) {
      originConnections++;
      conn.close();
    }
  })();
  try {
    await using proxy = rawServer(async (client) => {
      await readHead(client);
      await write(
        client,
        "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 21\r\n\r\n<script>evil</script>",
      );
    });
    await using o = buildOpener(
      new HttpUrlHandler(),
      new ProxyHandler({ https: `http://127.0.0.1:${proxy.port}` }),
    );
    const error = await assertRejects(() => o.open(`https://127.0.0.1:${originPort}/`), URLError);
    assertStringIncludes(error.message, "proxy refused CONNECT");
    assertEquals(error instanceof HTTPError, false);
    assertEquals(originConnections, 0);
  } finally {
    origin.close();
    await originLoop.catch(() => {});
  }
});

Deno.test("HttpUrlHandler: hostile CONNECT replies (bytes before TLS, huge head, endless 1xx, garbage) fail", async () => {
  const scripts: [string, (c: Deno.Conn) => Promise<void>][] = [
    [
      "injection",
      (c) => write(c, "HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nowned"),
    ],
    ["huge", (c) => write(c, "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(70000) + "\r\n\r\n")],
    ["interim", async (c) => {
      for (let i = 0; i < 20; i++) await write(c, "HTTP/1.1 100 Continue\r\n\r\n");
    }],
    ["garbage", (c) => write(c, "SSH-2.0-OpenSSH\r\n\r\n")],
    ["eof", () => Promise.resolve()],
  ];
  for (const [name, script] of scripts) {
    await using proxy = rawServer(async (client) => {
      await readHead(client);
      await script(client);
    });
    await using o = buildOpener(
      new HttpUrlHandler(),
      new ProxyHandler({ https: `http://127.0.0.1:${proxy.port}` }),
    );
    const error = await o.open("https://origin.test/").catch((e) => e);
    assertInstanceOf(error, URLError, name);
    assertEquals(error instanceof HTTPError, false, name);
    if (name === "injection") {
      assertEquals((error.cause as { code?: string }).code, "TUNNEL_INJECTION");
    }
  }
});

Deno.test("HttpUrlHandler with redirects, cookies and auth across two origins", async () => {
  await using other = serve({ port: 0 }, (request) =>
    new Response(JSON.stringify({
      cookie: request.headers.get("cookie"),
      authorization: request.headers.get("authorization"),
    })));
  const hits: string[] = [];
  await using server = serve({ port: 0 }, (request) => {
    const path = new URL(request.url).pathname;
    hits.push(
      `${request.method} ${path} ${request.headers.get("cookie") ?? "-"} ${
        request.headers.get("authorization") ?? "-"
      }`,
    );
    if (path === "/start") {
      return new Response(null, {
        status: 303,
        headers: { location: "/login", "set-cookie": "sid=1; Path=/" },
      });
    }
    if (path === "/login") {
      if (request.headers.get("authorization") !== "Basic dTpw") {
        return new Response("who?", {
          status: 401,
          headers: { "www-authenticate": 'Basic realm="r"' },
        });
      }
      return new Response(null, {
        status: 302,
        headers: { location: `http://127.0.0.1:${other.addr.port}/away` },
      });
    }
    return new Response("?", { status: 404 });
  });
  const pm = new PasswordManager();
  pm.add("r", `http://127.0.0.1:${server.addr.port}/`, "u", "p");
  await using o = buildOpener(
    new HttpUrlHandler(),
    new ProxyHandler({}),
    new HttpCookieProcessor(),
    new HttpBasicAuthHandler(pm),
  );
  const response = await o.open(`http://127.0.0.1:${server.addr.port}/start`, { data: "x=1" });
  assertEquals(response.url, `http://127.0.0.1:${other.addr.port}/away`);
  assertEquals(response.redirected, true);
  // Another origin never gets the credentials; the cookie goes wherever the
  // jar's host matching says (cookies ignore ports, RFC 6265 §8.5).
  assertEquals(await response.json(), { cookie: "sid=1", authorization: null });
  assertEquals(hits, ["POST /start - -", "GET /login sid=1 -", "GET /login sid=1 Basic dTpw"]);
});
