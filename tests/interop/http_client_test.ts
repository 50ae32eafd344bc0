/**
 * Interop: inetkit's HttpClient and HttpConnection against real servers:
 * nginx (peer on 127.0.0.1:8080: keep-alive, HEAD, conditional requests,
 * byte ranges, a chunked autoindex, 1 MiB) and lighttpd with CGI (peer on
 * 127.0.0.1:8081: chunked responses, `Status:` and `Location:` scripts,
 * POST bodies with Content-Length and chunked).
 */
import { HttpClient } from "../../http/http_client.ts";
import { HttpConnection } from "../../http/http_connection.ts";
import { assert, assertEquals, assertStringIncludes } from "../_helpers/assert.ts";
import { PEERS_DIR, peerTest } from "../_helpers/peers.ts";

const NGINX = "http://127.0.0.1:8080";
const LIGHTTPD = "http://127.0.0.1:8081";

peerTest("HttpClient keeps one connection to nginx for several requests", 8080, async () => {
  await using client = new HttpClient();
  for (let i = 0; i < 5; i++) {
    const response = await client.request(`${NGINX}/hello.txt`);
    assertEquals([response.status, await response.text()], [200, "hello, world\n"]);
  }
  assertEquals(client.connections, 1);
});

peerTest("HttpConnection sends GET and HEAD to nginx on one connection", 8080, async () => {
  await using http = await HttpConnection.connect({ port: 8080 });
  const head = await http.request("/hello.txt", { method: "HEAD" });
  assertEquals([head.status, head.body, head.headers.get("content-length")], [200, null, "13"]);
  assert(http.reusable);
  const get = await http.request("/hello.txt");
  assertEquals(get.headers.get("etag"), '"6553f100-d"');
  assertEquals(await get.text(), "hello, world\n");
  assert(http.reusable);
});

peerTest("HttpClient gets 304 from nginx for a matching If-None-Match", 8080, async () => {
  await using client = new HttpClient();
  const response = await client.request(`${NGINX}/hello.txt`, {
    headers: { "If-None-Match": '"6553f100-d"' },
  });
  assertEquals([response.status, response.body], [304, null]);
  const modified = await client.request(`${NGINX}/hello.txt`, {
    headers: { "If-Modified-Since": "Tue, 14 Nov 2023 22:13:20 GMT" },
  });
  assertEquals(modified.status, 304);
  assertEquals(client.connections, 1);
});

peerTest("HttpClient gets byte ranges from nginx", 8080, async () => {
  await using client = new HttpClient();
  const one = await client.request(`${NGINX}/hello.txt`, { headers: { Range: "bytes=0-4" } });
  assertEquals([one.status, one.headers.get("content-range"), await one.text()], [
    206,
    "bytes 0-4/13",
    "hello",
  ]);
  const many = await client.request(`${NGINX}/hello.txt`, {
    headers: { Range: "bytes=0-0,7-11" },
  });
  assertEquals(many.status, 206);
  assertStringIncludes(many.headers.get("content-type")!, "multipart/byteranges");
  const text = await many.text();
  assertStringIncludes(text, "Content-Range: bytes 7-11/13");
  assertStringIncludes(text, "world");
  const bad = await client.request(`${NGINX}/hello.txt`, { headers: { Range: "bytes=100-" } });
  assertEquals(bad.status, 416);
  await bad.body?.cancel();
});

peerTest("HttpClient reads a chunked autoindex and 1 MiB from nginx", 8080, async () => {
  await using client = new HttpClient();
  const listing = await client.request(`${NGINX}/dir/`);
  assertEquals(listing.status, 200);
  assertStringIncludes(await listing.text(), "with%20space.txt");
  const big = await client.request(`${NGINX}/bin/1mb-A.bin`);
  const bytes = await big.bytes();
  const expected = await Deno.readFile(`${PEERS_DIR}/www/bin/1mb-A.bin`);
  assertEquals(bytes.length, expected.length);
  assertEquals(bytes, expected);
  assertEquals(client.connections, 1);
});

peerTest("HttpClient gets 404 and a POST answer from nginx", 8080, async () => {
  await using client = new HttpClient();
  const missing = await client.request(`${NGINX}/no-such-file`);
  assertEquals(missing.status, 404);
  await missing.text();
  const post = await client.request(`${NGINX}/hello.txt`, { method: "POST", body: "x" });
  assertEquals(post.status, 405);
  await post.text();
});

peerTest("HttpClient reads lighttpd's chunked CGI output", 8081, async () => {
  await using client = new HttpClient();
  const response = await client.request(`${LIGHTTPD}/cgi-bin/hello.sh`);
  assertEquals(response.status, 200);
  assertEquals(await response.text(), "hello from cgi\n");
  const env = await client.request(`${LIGHTTPD}/cgi-bin/env.sh/x/y?a=1`, {
    headers: { "X-Test": "inetkit" },
  });
  const text = await env.text();
  assertStringIncludes(text, "PATH_INFO=/x/y");
  assertStringIncludes(text, "QUERY_STRING=a=1");
  assertStringIncludes(text, "HTTP_X_TEST=inetkit");
});

peerTest("HttpClient gets a CGI Status: with an empty reason from lighttpd", 8081, async () => {
  await using client = new HttpClient();
  const response = await client.request(`${LIGHTTPD}/cgi-bin/status.sh`);
  assertEquals([response.status, response.statusText], [418, ""]);
  assertEquals(response.headers.get("x-custom"), "yes");
  assertEquals(await response.text(), "teapot\n");
});

peerTest("HttpClient does not follow lighttpd's CGI redirect", 8081, async () => {
  await using client = new HttpClient();
  const response = await client.request(`${LIGHTTPD}/cgi-bin/redirect.sh`);
  assertEquals([response.status, response.headers.get("location")], [302, "/static.txt"]);
  await response.body?.cancel();
});

peerTest("HttpClient posts fixed and chunked bodies to a lighttpd CGI", 8081, async () => {
  await using client = new HttpClient();
  const fixed = await client.request(`${LIGHTTPD}/cgi-bin/echo.py?q=1`, {
    method: "POST",
    body: "posted body",
  });
  assertEquals(
    await fixed.text(),
    "method=POST\nquery=q=1\npath_info=\nlength=11\nposted body",
  );
  const encoder = new TextEncoder();
  const chunked = await client.request(`${LIGHTTPD}/cgi-bin/echo.py`, {
    method: "POST",
    body: ReadableStream.from([encoder.encode("chunk one, "), encoder.encode("chunk two")]),
  });
  assertEquals(
    await chunked.text(),
    "method=POST\nquery=\npath_info=\nlength=20\nchunk one, chunk two",
  );
  const continued = await client.request(`${LIGHTTPD}/cgi-bin/echo.py`, {
    method: "POST",
    body: "expected",
    expectContinue: true,
  });
  assertStringIncludes(await continued.text(), "length=8\nexpected");
});
