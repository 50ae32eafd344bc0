/**
 * serveProxy's destination rules, tested through a resolver stub that
 * records what would be dialled: only loopback is ever dialled here.
 */
import { HttpConnection } from "../../http/http_connection.ts";
import { proxyClient, serveProxy, type ServeProxyOptions } from "../../http/proxy.ts";
import { serve } from "../../http/serve.ts";
import { IpCidr } from "../../net/ip_cidr.ts";
import { assert, assertEquals, assertFalse } from "../_helpers/assert.ts";

/** A proxy whose resolver maps names by a table and records the lookups. */
function proxyWith(table: Record<string, string[]>, extra: ServeProxyOptions = {}) {
  const looked: string[] = [];
  const options: ServeProxyOptions = {
    ...extra,
    connectPorts: "any",
    resolve: (hostname) => {
      looked.push(hostname);
      return Promise.resolve(table[hostname] ?? []);
    },
  };
  const client = proxyClient(options);
  const server = serve(
    { port: 0 },
    (request, info) => serveProxy(request, info, { ...options, client }),
  );
  return {
    looked,
    server,
    async [Symbol.asyncDispose]() {
      client.close();
      await server.shutdown();
    },
  };
}

async function viaProxy(port: number, target: string, method = "GET"): Promise<Response> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const http = new HttpConnection(conn, { host: new URL(target).host });
  const response = await http.request(target, { method, headers: { connection: "close" } });
  const body = await response.text();
  http.close();
  return new Response(body, { status: response.status });
}

Deno.test("serveProxy refuses metadata and link-local destinations by default (403, nothing dialled)", async () => {
  await using p = proxyWith({
    "metadata.test": ["169.254.169.254"],
    "mapped.test": ["::ffff:169.254.169.254"],
    "v6.test": ["fe80::1"],
    "zero.test": ["0.0.0.0"],
  });
  for (const host of ["metadata.test", "mapped.test", "v6.test", "zero.test"]) {
    const response = await viaProxy(p.server.addr.port, `http://${host}/latest/meta-data/`);
    assertEquals(response.status, 403, host);
  }
  assertEquals(p.looked.sort(), ["mapped.test", "metadata.test", "v6.test", "zero.test"]);
  // An address literal needs no lookup and is refused the same way.
  assertEquals((await viaProxy(p.server.addr.port, "http://169.254.169.254/")).status, 403);
});

Deno.test("serveProxy dials the permitted address a name resolves to", async () => {
  await using origin = serve(
    { port: 0 },
    (request) => new Response(`origin saw ${new URL(request.url).host}`),
  );
  await using p = proxyWith({ "app.test": ["169.254.1.1", "127.0.0.1"] });
  const response = await viaProxy(p.server.addr.port, `http://app.test:${origin.addr.port}/`);
  assertEquals(response.status, 200);
  assertEquals(await response.text(), `origin saw app.test:${origin.addr.port}`);
});

Deno.test("serveProxy allowDestinations admits only its ranges", async () => {
  await using p = proxyWith({ "inside.test": ["10.1.2.3"] }, {
    allowDestinations: ["127.0.0.0/8"],
  });
  assertEquals((await viaProxy(p.server.addr.port, "http://inside.test/")).status, 403);
});

Deno.test("serveProxy CONNECT obeys the same rules", async () => {
  await using p = proxyWith({ "metadata.test": ["169.254.169.254"] });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: p.server.addr.port });
  await conn.write(
    new TextEncoder().encode(
      "CONNECT metadata.test:443 HTTP/1.1\r\nHost: metadata.test:443\r\n\r\n",
    ),
  );
  const text = await new Response(conn.readable).text();
  assert(text.startsWith("HTTP/1.1 403"), text);
});

Deno.test("serveProxy refuses a request that carries its own Via (a loop)", async () => {
  await using p = proxyWith({ "loop.test": ["127.0.0.1"] });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: p.server.addr.port });
  await conn.write(
    new TextEncoder().encode(
      "GET http://loop.test/ HTTP/1.1\r\nHost: loop.test\r\nVia: 1.1 inetkit\r\nConnection: close\r\n\r\n",
    ),
  );
  const text = await new Response(conn.readable).text();
  assert(text.startsWith("HTTP/1.1 508"), text);
});

Deno.test("serveProxy ends a response whose upstream body stalls after readTimeout", async () => {
  await using origin = serve({ port: 0 }, () =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("part"));
        },
        // never more
      }),
    ));
  await using p = proxyWith({ "slow.test": ["127.0.0.1"] }, { readTimeout: 200 });
  const started = Date.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: p.server.addr.port });
  const http = new HttpConnection(conn, { host: "slow.test" });
  const response = await http.request(`http://slow.test:${origin.addr.port}/`);
  let failed = false;
  try {
    await response.text();
  } catch {
    failed = true;
  }
  http.close();
  assert(failed, "the truncated body must not look complete");
  assert(Date.now() - started < 3000);
  await origin.shutdown({ timeout: 100 });
});

Deno.test("IpCidr matches IPv4, IPv6, mapped addresses and refuses names and bad ranges", () => {
  assert(IpCidr.parse("fe80::/10").contains("fe80::1:2"));
  assertFalse(IpCidr.parse("fe80::/10").contains("fec0::1"));
  assert(IpCidr.parse("::1").contains("[::1]"));
  assertFalse(IpCidr.parse("10.0.0.0/8").contains("example.test"));
  assert(IpCidr.parse("10.0.0.0/8").contains("::ffff:10.9.8.7"));
  for (const bad of ["10.0.0.0/33", "300.1.1.1", "1::2::3", "x"]) {
    let threw = false;
    try {
      IpCidr.parse(bad);
    } catch {
      threw = true;
    }
    assert(threw, bad);
  }
});
