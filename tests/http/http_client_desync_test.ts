/**
 * Regression tests for the response-desync hole: bytes a server sends on an
 * idle pooled connection must never become the answer to a later request.
 */
import { HttpClient } from "../../http/http_client.ts";
import { HttpConnection } from "../../http/http_connection.ts";
import { serve } from "../../http/serve.ts";
import { serveProxy } from "../../http/proxy.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

const encoder = new TextEncoder();

/**
 * A hostile upstream: `/late` is answered with "ok" and, 100 ms later, an
 * unsolicited second response "smuggled" on the same connection; every other
 * path is answered with its own name. Each connection is counted.
 */
function lateUpstream(delay = 100): {
  port: number;
  connections: () => number;
  close: () => Promise<void>;
} {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let count = 0;
  const tasks: Promise<void>[] = [];
  const conns = new Set<Deno.Conn>();
  const loop = (async () => {
    for await (const conn of listener) {
      count++;
      conns.add(conn);
      tasks.push(
        handle(conn).catch(() => {}).finally(() => {
          conns.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        }),
      );
    }
  })();
  async function handle(conn: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(65536);
    let text = "";
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return;
      text += new TextDecoder().decode(buf.subarray(0, n));
      let end;
      while ((end = text.indexOf("\r\n\r\n")) >= 0) {
        const head = text.slice(0, end);
        text = text.slice(end + 4);
        const path = head.split(" ")[1]!;
        if (path === "/late") {
          await conn.write(encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
          await new Promise((r) => setTimeout(r, delay));
          await conn.write(
            encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"),
          );
        } else {
          const body = `answer ${path}`;
          await conn.write(
            encoder.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
          );
        }
      }
    }
  }
  return {
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => count,
    close: async () => {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
      await loop.catch(() => {});
      await Promise.all(tasks);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("HttpClient never reads bytes that arrived on an idle pooled connection as a response", async () => {
  const upstream = lateUpstream();
  try {
    await using client = new HttpClient({ idleTimeout: 10000 });
    const base = `http://127.0.0.1:${upstream.port}`;
    assertEquals(await (await client.request(`${base}/late`)).text(), "ok");
    await sleep(400);
    assertEquals(await (await client.request(`${base}/second`)).text(), "answer /second");
    assertEquals(upstream.connections(), 2);
  } finally {
    await upstream.close();
  }
});

Deno.test("HttpClient discards a pooled connection on which the server sent EOF", async () => {
  await using server = serve({ port: 0, keepAliveTimeout: 50 }, () => new Response("ok"));
  await using client = new HttpClient({ idleTimeout: 10000 });
  const url = `http://127.0.0.1:${server.addr.port}/`;
  await (await client.request(url)).text();
  assertEquals(client.connections, 1);
  await sleep(300);
  // The server's close was noticed while idle: nothing to retry.
  assertEquals(client.connections, 0);
  assertEquals(await (await client.request(url)).text(), "ok");
});

Deno.test("HttpConnection refuses to send on a connection that received unsolicited bytes", async () => {
  const upstream = lateUpstream(50);
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: upstream.port });
    await using http = new HttpConnection(conn, { host: "127.0.0.1" });
    assertEquals(await (await http.request("/late")).text(), "ok");
    await sleep(300);
    assert(!http.reusable, "the connection must not be reusable");
  } finally {
    await upstream.close();
  }
});

Deno.test("serveProxy with a shared client never hands one client's injected bytes to another", async () => {
  const upstream = lateUpstream();
  try {
    await using client = new HttpClient({ idleTimeout: 10000 });
    await using proxy = serve(
      { port: 0 },
      (request, info) => serveProxy(request, info, { client }),
    );
    const viaProxy = async (path: string) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.addr.port });
      await using http = new HttpConnection(conn, { host: `127.0.0.1:${upstream.port}` });
      const response = await http.request(`http://127.0.0.1:${upstream.port}${path}`, {
        headers: { connection: "close" },
      });
      return await response.text();
    };
    assertEquals(await viaProxy("/late"), "ok");
    await sleep(400);
    for (let i = 0; i < 5; i++) {
      assertEquals(await viaProxy(`/second${i}`), `answer /second${i}`);
    }
  } finally {
    await upstream.close();
  }
});

Deno.test("urlopen twice in one process never returns bytes injected on the idle connection", async () => {
  const { urlopen } = await import("../../url/urlopen.ts");
  const upstream = lateUpstream();
  try {
    const base = `http://127.0.0.1:${upstream.port}`;
    assertEquals(await (await urlopen(`${base}/late`)).text(), "ok");
    await sleep(400);
    assertEquals(await (await urlopen(`${base}/second`)).text(), "answer /second");
  } finally {
    await upstream.close();
  }
});
