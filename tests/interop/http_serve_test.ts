/**
 * Interop: real HTTP clients against inetkit's `serve`: curl (HTTP/1.1
 * keep-alive, chunked upload, 100-continue, HEAD, --http1.0), Python's
 * http.client (keep-alive, chunked encode), ApacheBench and wrk (keep-alive
 * load without errors).
 */
import { serve } from "../../http/serve.ts";
import type { HttpServer } from "../../http/http_server.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { binaryTest } from "./url_peers.ts";

const decoder = new TextDecoder();

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The interop server: echoes what it saw and counts client connections. */
function startServer(): { server: HttpServer; ports: Set<number> } {
  const ports = new Set<number>();
  const server = serve({ port: 0 }, async (request, info) => {
    ports.add(info.remoteAddr.port);
    const url = new URL(request.url);
    if (url.pathname === "/echo") {
      const body = await request.bytes();
      return new Response(
        `${request.method} ${info.version} ${body.length} ${await sha256(body)} te=${
          request.headers.get("transfer-encoding") ?? "-"
        }\n`,
      );
    }
    if (url.pathname === "/stream") {
      const encoder = new TextEncoder();
      return new Response(
        ReadableStream.from(["one ", "two ", "three\n"].map((s) => encoder.encode(s))),
      );
    }
    return new Response(`hello ${url.pathname}\n`);
  });
  return { server, ports };
}

async function run(
  command: string,
  args: string[],
  stdin?: Uint8Array,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

binaryTest("curl keeps one connection for two URLs against serve", "curl", async () => {
  const { server, ports } = startServer();
  await using _ = server;
  const base = `http://127.0.0.1:${server.addr.port}`;
  const out = await run("curl", ["-sv", "--noproxy", "*", `${base}/a`, `${base}/b`]);
  assertEquals(out.code, 0, out.stderr);
  assertEquals(out.stdout, "hello /a\nhello /b\n");
  assertMatch(out.stderr, /Re-using existing connection/);
  assertEquals(ports.size, 1);
});

binaryTest("curl uploads a chunked body to serve", "curl", async () => {
  const { server } = startServer();
  await using _ = server;
  const data = new Uint8Array(200000).map((_, i) => (i * 7) & 255);
  const out = await run("curl", [
    "-s",
    "--noproxy",
    "*",
    "-H",
    "Transfer-Encoding: chunked",
    "--data-binary",
    "@-",
    `http://127.0.0.1:${server.addr.port}/echo`,
  ], data);
  assertEquals(out.code, 0, out.stderr);
  assertEquals(out.stdout, `POST HTTP/1.1 200000 ${await sha256(data)} te=chunked\n`);
});

binaryTest("curl gets 100 Continue from serve before sending the body", "curl", async () => {
  const { server } = startServer();
  await using _ = server;
  const out = await run("curl", [
    "-sv",
    "--noproxy",
    "*",
    "-H",
    "Expect: 100-continue",
    "--data-binary",
    "hello",
    `http://127.0.0.1:${server.addr.port}/echo`,
  ]);
  assertEquals(out.code, 0, out.stderr);
  assertStringIncludes(out.stderr, "HTTP/1.1 100 Continue");
  assertStringIncludes(out.stdout, "POST HTTP/1.1 5 ");
});

binaryTest("curl --http1.0 and HEAD against serve", "curl", async () => {
  const { server } = startServer();
  await using _ = server;
  const base = `http://127.0.0.1:${server.addr.port}`;
  const old = await run("curl", ["-si", "--noproxy", "*", "--http1.0", `${base}/stream`]);
  assertEquals(old.code, 0, old.stderr);
  assertMatch(old.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assertMatch(old.stdout, /connection: close\r\n/i);
  assert(!/transfer-encoding/i.test(old.stdout), "chunked sent to an HTTP/1.0 client");
  assert(old.stdout.endsWith("\r\n\r\none two three\n"));
  const head = await run("curl", ["-sI", "--noproxy", "*", `${base}/x`]);
  assertMatch(head.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assertMatch(head.stdout, /content-length: 9\r\n/);
  const chunked = await run("curl", ["-s", "--noproxy", "*", `${base}/stream`]);
  assertEquals(chunked.stdout, "one two three\n");
});

const PYTHON = `
import http.client, json, sys
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
out = []
conn.request("GET", "/first")
r = conn.getresponse()
out.append([r.status, r.reason, r.read().decode(), r.getheader("content-length")])
sock = conn.sock
conn.request("POST", "/echo", body=iter([b"abc", b"defg"]), encode_chunked=True)
r = conn.getresponse()
out.append([r.status, r.read().decode().split(" ")[2], conn.sock is sock])
conn.request("HEAD", "/stream")
r = conn.getresponse()
out.append([r.status, r.read().decode(), r.getheader("transfer-encoding")])
conn.request("GET", "/stream")
r = conn.getresponse()
out.append([r.status, r.read().decode(), r.chunked])
conn.close()
print(json.dumps(out))
`;

binaryTest("Python http.client talks keep-alive and chunked to serve", "python3", async () => {
  const { server, ports } = startServer();
  await using _ = server;
  const out = await run("python3", ["-c", PYTHON, String(server.addr.port)]);
  assertEquals(out.code, 0, out.stderr);
  assertEquals(JSON.parse(out.stdout), [
    [200, "OK", "hello /first\n", "13"],
    [200, "7", true],
    [200, "", null],
    [200, "one two three\n", true],
  ]);
  assertEquals(ports.size, 1);
});

binaryTest("ab keeps every request alive against serve without failures", "ab", async () => {
  const { server } = startServer();
  await using _ = server;
  const out = await run("ab", [
    "-q",
    "-n",
    "2000",
    "-c",
    "8",
    "-k",
    `http://127.0.0.1:${server.addr.port}/`,
  ]);
  assertEquals(out.code, 0, out.stderr);
  assertMatch(out.stdout, /Complete requests:\s+2000/);
  assertMatch(out.stdout, /Failed requests:\s+0/);
  assertMatch(out.stdout, /Keep-Alive requests:\s+2000/);
  assertMatch(out.stdout, /HTML transferred:\s+16000 bytes/);
});

binaryTest("ab without keep-alive and HTTP/1.0 against serve", "ab", async () => {
  const { server } = startServer();
  await using _ = server;
  const out = await run("ab", [
    "-q",
    "-n",
    "300",
    "-c",
    "4",
    `http://127.0.0.1:${server.addr.port}/`,
  ]);
  assertEquals(out.code, 0, out.stderr);
  assertMatch(out.stdout, /Failed requests:\s+0/);
});

binaryTest("wrk loads serve without socket errors or bad statuses", "wrk", async () => {
  const { server } = startServer();
  await using _ = server;
  const out = await run("wrk", ["-t1", "-c8", "-d1s", `http://127.0.0.1:${server.addr.port}/`]);
  assertEquals(out.code, 0, out.stderr);
  assertMatch(out.stdout, /Requests\/sec:\s+\d/);
  assert(!/Socket errors|Non-2xx/.test(out.stdout), out.stdout);
});
