/**
 * Interop: curl `-x` through inetkit's forwarding proxy, to nginx (peer on
 * 8080), to lighttpd's CGI echo (8081), and over a CONNECT tunnel to an
 * HTTPS inetkit `serve` using the peers' certificate.
 */
import { serve } from "../../http/serve.ts";
import { HttpClient } from "../../http/http_client.ts";
import { serveDir } from "../../http/file_server.ts";
import { serveProxy, type ServeProxyOptions } from "../../http/proxy.ts";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { PEERS_DIR, peerTest } from "../_helpers/peers.ts";

interface CurlOut {
  code: number;
  head: string;
  body: Uint8Array;
}

async function curl(args: string[]): Promise<CurlOut> {
  const file = await Deno.makeTempFile();
  try {
    const out = await new Deno.Command("curl", {
      args: ["-s", "-D", "-", "-o", file, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      head: new TextDecoder().decode(out.stdout),
      body: await Deno.readFile(file),
    };
  } finally {
    await Deno.remove(file);
  }
}

async function withProxy(
  fn: (proxy: string) => Promise<void>,
  options: ServeProxyOptions = {},
): Promise<void> {
  const client = new HttpClient();
  const server = serve(
    { port: 0 },
    (request, info) => serveProxy(request, info, { client, ...options }),
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
    client.close();
  }
}

peerTest("curl -x through serveProxy() gets nginx's files unchanged", 8080, async () => {
  await withProxy(async (proxy) => {
    for (const path of ["/hello.txt", "/bin/1mb-A.bin", "/dir/caf%C3%A9.txt"]) {
      const direct = await curl(["--noproxy", "*", `http://127.0.0.1:8080${path}`]);
      const proxied = await curl(["-x", proxy, `http://127.0.0.1:8080${path}`]);
      assertEquals(proxied.code, 0);
      assertMatch(proxied.head, /^HTTP\/1\.1 200 /);
      assertMatch(proxied.head, /\r\nvia: 1\.1 inetkit\r\n/i);
      assertEquals(/etag: (\S+)/i.exec(proxied.head)?.[1], /etag: (\S+)/i.exec(direct.head)?.[1]);
      assertEquals(proxied.body, direct.body, path);
    }
    const range = await curl(["-x", proxy, "-r", "0-4", "http://127.0.0.1:8080/hello.txt"]);
    assertMatch(range.head, /^HTTP\/1\.1 206 /);
    assertEquals(new TextDecoder().decode(range.body), "hello");
    const cached = await curl([
      "-x",
      proxy,
      "-H",
      'If-None-Match: "6553f100-d"',
      "http://127.0.0.1:8080/hello.txt",
    ]);
    assertMatch(cached.head, /^HTTP\/1\.1 304 /);
  });
});

peerTest("curl -x through serveProxy() posts to lighttpd's CGI echo", 8081, async () => {
  await withProxy(async (proxy) => {
    const out = await curl([
      "-x",
      proxy,
      "--data-binary",
      "through the proxy",
      "http://127.0.0.1:8081/cgi-bin/echo.py/p?q=1",
    ]);
    assertEquals(out.code, 0);
    assertEquals(
      new TextDecoder().decode(out.body),
      "method=POST\nquery=q=1\npath_info=/p\nlength=17\nthrough the proxy",
    );
  });
});

peerTest(
  "curl -x https:// tunnels through serveProxy() CONNECT to a TLS serve()",
  8080,
  async () => {
    let cert: string;
    let key: string;
    try {
      cert = await Deno.readTextFile(`${PEERS_DIR}/tls/cert.pem`);
      key = await Deno.readTextFile(`${PEERS_DIR}/tls/key.pem`);
    } catch {
      console.warn(`skipped: no certificate in ${PEERS_DIR}/tls`);
      return;
    }
    const tls = serve(
      { port: 0, cert, key },
      (request) => serveDir(request, { fsRoot: `${PEERS_DIR}/www` }),
    );
    try {
      const port = tls.addr.port;
      // The default allows CONNECT to 443 only.
      await withProxy(async (proxy) => {
        const refused = await curl([
          "-x",
          proxy,
          "--cacert",
          `${PEERS_DIR}/tls/cert.pem`,
          `https://localhost:${port}/hello.txt`,
        ]);
        assert(refused.code !== 0, "CONNECT to a non-443 port was allowed by default");
        assertMatch(refused.head, /^HTTP\/1\.1 403 /);
      });
      await withProxy(async (proxy) => {
        const out = await curl([
          "-x",
          proxy,
          "--cacert",
          `${PEERS_DIR}/tls/cert.pem`,
          `https://localhost:${port}/hello.txt`,
        ]);
        assertEquals(out.code, 0);
        assertMatch(out.head, /^HTTP\/1\.1 200 Connection established\r\n/);
        assertMatch(out.head, /\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
        assertEquals(new TextDecoder().decode(out.body), "hello, world\n");
        // Several requests over one tunnel (keep-alive inside TLS).
        const two = await curl([
          "-x",
          proxy,
          "--cacert",
          `${PEERS_DIR}/tls/cert.pem`,
          `https://localhost:${port}/hello.txt`,
          "-o",
          "/dev/null",
          `https://localhost:${port}/bin/bytes-256.bin`,
        ]);
        assertEquals(two.code, 0);
        assertEquals(new TextDecoder().decode(two.body), "hello, world\n");
        assertEquals([...two.head.matchAll(/\r\nHTTP\/1\.1 200 OK\r\n/g)].length, 2);
        // curl reuses the tunnel: one CONNECT for both requests.
        assertEquals([...two.head.matchAll(/Connection established/g)].length, 1);
      }, { connectPorts: [port] });
    } finally {
      await tls.shutdown();
    }
  },
);

peerTest("curl -p -x tunnels plain HTTP through serveProxy() CONNECT", 8080, async () => {
  await withProxy(async (proxy) => {
    const out = await curl(["-p", "-x", proxy, "http://127.0.0.1:8080/hello.txt"]);
    assertEquals(out.code, 0);
    assertEquals(new TextDecoder().decode(out.body), "hello, world\n");
  }, { connectPorts: [8080] });
});
