import { serve } from "../../http/serve.ts";
import { HttpClient } from "../../http/http_client.ts";
import { serveProxy, type ServeProxyOptions } from "../../http/proxy.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs a proxy on a free port with its own client. */
async function withProxy(
  fn: (port: number) => Promise<void>,
  options: ServeProxyOptions = {},
): Promise<void> {
  const client = new HttpClient();
  const server = serve(
    { port: 0 },
    (request, info) => serveProxy(request, info, { client, ...options }),
  );
  try {
    await fn(server.addr.port);
  } finally {
    await server.shutdown();
    client.close();
  }
}

/** An upstream that answers every request with a JSON echo of what it got. */
async function withEcho(fn: (port: number, seen: Request[]) => Promise<void>): Promise<void> {
  const seen: Request[] = [];
  const server = serve({ port: 0 }, async (request) => {
    seen.push(request.clone());
    const body = request.body === null ? "" : await request.text();
    return Response.json({
      method: request.method,
      url: request.url,
      headers: Object.fromEntries(request.headers),
      body,
    });
  });
  try {
    await fn(server.addr.port, seen);
  } finally {
    await server.shutdown();
  }
}

/** A raw TCP upstream that answers each connection with `reply` (or nothing). */
async function withRawUpstream(
  reply: string | null,
  fn: (port: number, received: () => string) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let received = "";
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      (async () => {
        const buf = new Uint8Array(65536);
        try {
          const n = await conn.read(buf);
          if (n !== null) received += decoder.decode(buf.subarray(0, n));
          if (reply !== null) {
            await conn.write(encoder.encode(reply));
            conn.close();
          } else {
            await conn.read(buf); // hold until the proxy gives up
          }
        } catch {
          // closed
        }
      })();
    }
  })();
  try {
    await fn(listener.addr.port, () => received);
  } finally {
    listener.close();
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
    await accepting.catch(() => {});
  }
}

/** Sends raw bytes to the proxy; reads until it closes. */
async function raw(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(text));
    let out = "";
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      out += decoder.decode(buf.subarray(0, n));
    }
    return out;
  } finally {
    conn.close();
  }
}

function status(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

function bodyOf(response: string): string {
  return response.slice(response.indexOf("\r\n\r\n") + 4);
}

Deno.test("serveProxy() forwards an absolute-form request without hop-by-hop fields and adds Via", async () => {
  await withEcho(async (up) => {
    await withProxy(async (proxy) => {
      const response = await raw(
        proxy,
        `GET http://127.0.0.1:${up}/path?q=1 HTTP/1.1\r\nHost: 127.0.0.1:${up}\r\n` +
          "Connection: close, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n" +
          "Proxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n" +
          "Upgrade: h2c\r\nX-End: kept\r\n\r\n",
      );
      assertEquals(status(response), 200);
      assertMatch(response, /\r\nvia: 1\.1 inetkit\r\n/i);
      const echo = JSON.parse(bodyOf(response));
      assertEquals(echo.method, "GET");
      assertEquals(echo.url, `http://127.0.0.1:${up}/path?q=1`);
      assertEquals(echo.headers["x-end"], "kept");
      assertEquals(echo.headers["via"], "1.1 inetkit");
      assertEquals(echo.headers["host"], `127.0.0.1:${up}`);
      for (
        const name of [
          "x-hop",
          "keep-alive",
          "proxy-authorization",
          "proxy-connection",
          "te",
          "upgrade",
        ]
      ) {
        assertEquals(echo.headers[name], undefined, name);
      }
    });
  });
});

Deno.test("serveProxy() streams a request body upstream", async () => {
  await withEcho(async (up) => {
    await withProxy(async (proxy) => {
      const body = "x".repeat(100_000);
      const response = await raw(
        proxy,
        `POST http://127.0.0.1:${up}/upload HTTP/1.1\r\nHost: 127.0.0.1:${up}\r\n` +
          `Content-Length: ${body.length}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${body}`,
      );
      const echo = JSON.parse(bodyOf(response));
      assertEquals(echo.method, "POST");
      assertEquals(echo.body.length, body.length);
      assertEquals(echo.headers["content-type"], "text/plain");
    });
  });
});

Deno.test("serveProxy() strips hop-by-hop fields from the upstream response", async () => {
  await withRawUpstream(
    "HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n" +
      "Proxy-Authenticate: Basic\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok",
    async (up) => {
      await withProxy(async (proxy) => {
        const response = await raw(
          proxy,
          `GET http://127.0.0.1:${up}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        assertEquals(status(response), 200);
        assertEquals(bodyOf(response), "ok");
        assertMatch(response, /\r\nx-kept: yes\r\n/i);
        assertMatch(response, /\r\nvia: 1\.1 inetkit\r\n/i);
        for (const name of ["x-secret", "keep-alive", "proxy-authenticate"]) {
          assert(!new RegExp(`\\r\\n${name}:`, "i").test(response), name);
        }
      });
    },
  );
});

Deno.test("serveProxy() refuses ambiguous upstream framing with 502", async () => {
  const replies = [
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
    "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
    "garbage\r\n\r\n",
  ];
  for (const reply of replies) {
    await withRawUpstream(reply, async (up) => {
      await withProxy(async (proxy) => {
        const response = await raw(
          proxy,
          `GET http://127.0.0.1:${up}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        assertEquals(status(response), 502, reply);
      });
    });
  }
});

Deno.test("serveProxy() re-serialises a folded upstream header on one line (RFC 9112 §5.2)", async () => {
  await withRawUpstream(
    "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
    async (up) => {
      await withProxy(async (proxy) => {
        const response = await raw(
          proxy,
          `GET http://127.0.0.1:${up}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        const head = response.slice(0, response.indexOf("\r\n\r\n"));
        if (status(response) === 200) {
          assertMatch(head, /\r\nx-folded: a +b(\r\n|$)/i);
          assert(!/\r\n[ \t]/.test(head), "a folded line reached the client");
        } else {
          assertEquals(status(response), 502);
        }
      });
    },
  );
});

Deno.test("serveProxy() never forwards an ambiguous request (the server refuses it first)", async () => {
  await withRawUpstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", async (up, received) => {
    await withProxy(async (proxy) => {
      const response = await raw(
        proxy,
        `POST http://127.0.0.1:${up}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n` +
          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
      );
      assertEquals(status(response), 400);
      assertEquals(received(), "");
    });
  });
});

Deno.test("serveProxy() answers origin-form requests, credentials and loops itself", async () => {
  await withProxy(async (proxy) => {
    const origin = await raw(proxy, "GET /path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertEquals(status(origin), 400);
    const creds = await raw(
      proxy,
      "GET http://user:pass@127.0.0.1:9/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assertEquals(status(creds), 400);
    const loop = await raw(
      proxy,
      `GET http://127.0.0.1:${proxy}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    assertEquals(status(loop), 508);
    const loopConnect = await raw(proxy, `CONNECT 127.0.0.1:${proxy} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assertEquals(status(loopConnect), 508);
  }, { connectPorts: "any" });
});

Deno.test("serveProxy() answers 502 when the upstream refuses and 504 when it is silent", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  await withProxy(async (proxy) => {
    const refused = await raw(
      proxy,
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    assertEquals(status(refused), 502);
    assert(!refused.toLowerCase().includes("refused"), "internal error details leaked");
  });
  await withRawUpstream(null, async (up) => {
    await withProxy(async (proxy) => {
      const silent = await raw(
        proxy,
        `GET http://127.0.0.1:${up}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assertEquals(status(silent), 504);
    }, { timeout: 200 });
  });
});

Deno.test("serveProxy() honours allowTarget and Max-Forwards", async () => {
  await withEcho(async (up) => {
    await withProxy(async (proxy) => {
      const denied = await raw(
        proxy,
        `GET http://127.0.0.1:${up}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assertEquals(status(denied), 403);
    }, { allowTarget: () => false });
    await withProxy(async (proxy) => {
      const own = await raw(
        proxy,
        `OPTIONS http://127.0.0.1:${up}/ HTTP/1.1\r\nHost: x\r\nMax-Forwards: 0\r\nConnection: close\r\n\r\n`,
      );
      assertEquals(status(own), 200);
      assertMatch(own, /\r\nallow: /i);
      const forwarded = await raw(
        proxy,
        `OPTIONS http://127.0.0.1:${up}/ HTTP/1.1\r\nHost: x\r\nMax-Forwards: 3\r\nConnection: close\r\n\r\n`,
      );
      assertEquals(JSON.parse(bodyOf(forwarded)).headers["max-forwards"], "2");
    });
  });
});

/** A TCP echo server for CONNECT tests. */
async function withTcpEcho(fn: (port: number) => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tasks: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      tasks.push((async () => {
        const buf = new Uint8Array(65536);
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) break;
            await conn.write(buf.subarray(0, n));
          }
          await conn.write(encoder.encode("[eof seen]"));
        } catch {
          // reset
        } finally {
          conn.close();
        }
      })());
    }
  })();
  try {
    await fn(listener.addr.port);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    await Promise.all(tasks);
  }
}

Deno.test("serveProxy() CONNECT opens a tunnel that carries bytes both ways and half-closes", async () => {
  await withTcpEcho(async (echo) => {
    await withProxy(async (proxy) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy });
      await conn.write(
        encoder.encode(`CONNECT 127.0.0.1:${echo} HTTP/1.1\r\nHost: 127.0.0.1:${echo}\r\n\r\n`),
      );
      const buf = new Uint8Array(4096);
      let head = "";
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        assert(n !== null);
        head += decoder.decode(buf.subarray(0, n));
      }
      assertMatch(head, /^HTTP\/1\.1 200 Connection established\r\n/);
      assertEquals(head.slice(head.indexOf("\r\n\r\n") + 4), "");
      await conn.write(encoder.encode("ping through the tunnel"));
      await conn.closeWrite();
      let rest = "";
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        rest += decoder.decode(buf.subarray(0, n));
      }
      conn.close();
      assertEquals(rest, "ping through the tunnel[eof seen]");
    }, { connectPorts: "any" });
  });
});

Deno.test("serveProxy() CONNECT refuses other ports, bad targets and unreachable hosts", async () => {
  await withProxy(async (proxy) => {
    const port25 = await raw(proxy, "CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals(status(port25), 403);
    assertStringIncludes(port25, "port 25");
  });
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  await withProxy(async (proxy) => {
    for (
      const target of ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "bad host:443", "127.0.0.1:x"]
    ) {
      const response = await raw(
        proxy,
        `CONNECT ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assertEquals(status(response), 400, target);
    }
    const refused = await raw(proxy, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assertEquals(status(refused), 502);
  }, { connectPorts: "any" });
});

Deno.test("serveProxy() CONNECT tunnels close after tunnelIdleTimeout", async () => {
  await withTcpEcho(async (echo) => {
    await withProxy(async (proxy) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy });
      await conn.write(encoder.encode(`CONNECT 127.0.0.1:${echo} HTTP/1.1\r\nHost: x\r\n\r\n`));
      const buf = new Uint8Array(4096);
      const started = Date.now();
      let text = "";
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += decoder.decode(buf.subarray(0, n));
      }
      conn.close();
      assertMatch(text, /^HTTP\/1\.1 200/);
      assert(Date.now() - started < 3000, "the idle tunnel stayed open");
    }, { connectPorts: "any", tunnelIdleTimeout: 150 });
  });
});
