/**
 * Interop: urlopen through inetkit's own forwarding proxy (http/proxy.ts) to
 * the nginx peer (absolute-form GET) and to a TLS server (CONNECT tunnel).
 */
import { serveProxy } from "../../http/proxy.ts";
import { serve } from "../../http/serve.ts";
import { buildOpener } from "../../url/build_opener.ts";
import { HttpUrlHandler } from "../../url/http_handler.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { URLError } from "../../url/url_error.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";
import { peerTest } from "../_helpers/peers.ts";
import { testCert } from "../_helpers/tls.ts";

peerTest("url interop proxy: GET to nginx through inetkit's proxy", 8080, async () => {
  const targets: string[] = [];
  await using proxy = serve({ port: 0 }, (request, info) => {
    targets.push(info.target);
    return serveProxy(request, info);
  });
  await using o = buildOpener(
    new HttpUrlHandler(),
    new ProxyHandler({ http: `http://127.0.0.1:${proxy.addr.port}` }),
  );
  const response = await o.open("http://127.0.0.1:8080/hello.txt");
  assertEquals(await response.text(), "hello, world\n");
  assertEquals(response.headers.get("etag"), '"6553f100-d"');
  assertEquals(response.headers.get("via")?.includes("inetkit"), true);
  assertEquals(targets, ["http://127.0.0.1:8080/hello.txt"]);
});

Deno.test("url interop proxy: https through inetkit's proxy with CONNECT", async () => {
  const { cert, key, ca } = await testCert();
  await using origin = serve(
    { port: 0, cert, key },
    (request) => new Response(`tls ${new URL(request.url).pathname}`),
  );
  await using proxy = serve(
    { port: 0 },
    (request, info) => serveProxy(request, info, { connectPorts: "any" }),
  );
  await using o = buildOpener(
    new HttpUrlHandler({ caCerts: [ca] }),
    new ProxyHandler({ https: `http://127.0.0.1:${proxy.addr.port}` }),
  );
  assertEquals(await (await o.open(`https://localhost:${origin.addr.port}/a`)).text(), "tls /a");
  assertEquals(await (await o.open(`https://localhost:${origin.addr.port}/b`)).text(), "tls /b");
  // The proxy refuses ports it does not allow: no fallback to a direct connection.
  await using strict = serve({ port: 0 }, (request, info) => serveProxy(request, info));
  await using o2 = buildOpener(
    new HttpUrlHandler({ caCerts: [ca] }),
    new ProxyHandler({ https: `http://127.0.0.1:${strict.addr.port}` }),
  );
  await assertRejects(() => o2.open(`https://localhost:${origin.addr.port}/c`), URLError);
});
