import { serveDir, type ServeDirOptions, serveFile } from "../../http/file_server.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";

const MTIME = new Date("2023-11-14T22:13:20Z");
const HELLO = "hello, world\n"; // 13 bytes, like the nginx peer's hello.txt
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN"; // 50 bytes

/** Builds a fixture tree in a temp dir; returns its path and the outside dir. */
async function makeTree(): Promise<{ base: string; root: string; outside: string }> {
  const base = await Deno.makeTempDir({ prefix: "inetkit_files_" });
  const root = `${base}/root`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${root}/dir/sub`, { recursive: true });
  await Deno.mkdir(`${root}/site`, { recursive: true });
  await Deno.mkdir(`${root}/evil.com`, { recursive: true });
  await Deno.mkdir(`${root}/.git`, { recursive: true });
  await Deno.mkdir(outside);
  const files: Record<string, string> = {
    "hello.txt": HELLO,
    "alphabet.txt": ALPHABET,
    "data.json": '{"ok":true}',
    "site/index.html": "<h1>site</h1>",
    "dir/with space.txt": "space",
    "dir/café.txt": "café",
    "dir/<script>alert(1)<\\script>.txt": "xss",
    "dir/a&b\"'.txt": "quotes",
    "dir/100%#?.txt": "specials",
    "dir/file2.txt": "22",
    "dir/file10.txt": "1010101010",
    "dir/sub/deep.txt": "deep",
    "dir/.hidden": "hidden",
    ".env": "SECRET=1",
    ".git/config": "[core]",
    "comp.js": "console.log('plain');",
    "comp.js.gz": "GZ-BYTES",
    "comp.js.br": "BR-BYTES",
    "only.css": "body{}",
    "only.css.gz": "GZ-CSS",
    "index-less/x.txt": "x",
  };
  await Deno.mkdir(`${root}/index-less`);
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${root}/${name}`, text);
    await Deno.utime(`${root}/${name}`, MTIME, MTIME);
  }
  await Deno.writeTextFile(`${outside}/secret.txt`, "outside secret");
  await Deno.writeTextFile(`${outside}/leak.gz`, "LEAK");
  await Deno.symlink(`${outside}/secret.txt`, `${root}/escape.txt`);
  await Deno.symlink(outside, `${root}/escape-dir`);
  await Deno.symlink(`${root}/hello.txt`, `${root}/inside-link.txt`);
  await Deno.writeTextFile(`${root}/linked.txt`, "linked");
  await Deno.symlink(`${outside}/leak.gz`, `${root}/linked.txt.gz`);
  return { base, root, outside };
}

const tree = await makeTree();
globalThis.addEventListener("unload", () => Deno.removeSync(tree.base, { recursive: true }));

function get(path: string, headers: HeadersInit = {}, method = "GET"): Request {
  return new Request(`http://localhost${path}`, { method, headers });
}

async function serve(
  path: string,
  headers: HeadersInit = {},
  options: ServeDirOptions = {},
  method = "GET",
): Promise<Response> {
  return await serveDir(get(path, headers, method), { fsRoot: tree.root, ...options });
}

async function drain(response: Response): Promise<string> {
  return await response.text();
}

Deno.test("serveDir() serves a file with type, length and validators", async () => {
  const res = await serve("/hello.txt");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/plain; charset=utf-8");
  assertEquals(res.headers.get("content-length"), "13");
  assertEquals(res.headers.get("etag"), '"6553f100-d"'); // the same value nginx computes
  assertEquals(res.headers.get("last-modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
  assertEquals(res.headers.get("accept-ranges"), "bytes");
  assertEquals(await res.text(), HELLO);
});

Deno.test("serveDir() answers HEAD with GET's headers and no body", async () => {
  const res = await serve("/hello.txt", {}, {}, "HEAD");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-length"), "13");
  assertEquals(res.body, null);
});

Deno.test("serveDir() refuses other methods with 405 and Allow", async () => {
  for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
    const res = await serve("/hello.txt", {}, {}, method);
    assertEquals(res.status, 405);
    assertEquals(res.headers.get("allow"), "GET, HEAD");
    await drain(res);
  }
});

Deno.test("serveDir() serves index.html for a directory URL", async () => {
  const res = await serve("/site/");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
  assertEquals(await res.text(), "<h1>site</h1>");
  const off = await serve("/site/", {}, { showIndex: false });
  assertStringIncludes(await off.text(), "Index of /site/");
});

Deno.test("serveDir() redirects a directory without its slash, never to //host", async () => {
  const res = await serve("/dir?x=1");
  assertEquals(res.status, 301);
  assertEquals(res.headers.get("location"), "/dir/?x=1");
  // A path starting with // would make a protocol-relative open redirect.
  for (const path of ["//evil.com", "///evil.com", "//evil.com/../evil.com", "/./evil.com"]) {
    const r = await serveDir(new Request(`http://localhost${path}`), { fsRoot: tree.root });
    assertEquals(r.status, 301, path);
    const location = r.headers.get("location")!;
    assert(!location.startsWith("//"), `${path} -> ${location}`);
    assertEquals(location, "/evil.com/");
  }
});

Deno.test("serveDir() lists a directory sorted, directories first, names escaped and hrefs encoded", async () => {
  const res = await serve("/dir/");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
  assertMatch(res.headers.get("content-security-policy")!, /default-src 'none'/);
  const html = await res.text();
  assertStringIncludes(html, "<title>Index of /dir/</title>");
  assert(!html.includes("<script>"), "a name was not escaped");
  assertStringIncludes(html, "&lt;script&gt;alert(1)&lt;\\script&gt;.txt");
  assertStringIncludes(html, 'href="%3Cscript%3Ealert%281%29%3C%5Cscript%3E.txt"');
  assertStringIncludes(html, 'href="a%26b%22%27.txt"');
  assertStringIncludes(html, "a&amp;b&quot;&#39;.txt");
  assertStringIncludes(html, 'href="100%25%23%3F.txt"');
  assertStringIncludes(html, 'href="with%20space.txt"');
  assertStringIncludes(html, 'href="caf%C3%A9.txt"');
  assertStringIncludes(html, 'href="../"');
  assert(!html.includes(".hidden"));
  const names = [
    ...html.matchAll(/<td class="name"><svg[^>]*><use[^>]*\/><\/svg><a href="([^"]*)"/g),
  ]
    .map((m) => m[1]);
  // Directories first, then names in human (locale, numeric) order.
  assertEquals(names, [
    "../",
    "sub/",
    "%3Cscript%3Ealert%281%29%3C%5Cscript%3E.txt",
    "100%25%23%3F.txt",
    "a%26b%22%27.txt",
    "caf%C3%A9.txt",
    "file2.txt",
    "file10.txt",
    "with%20space.txt",
  ]);
  // Every listed href leads to the file.
  const file = await serve("/dir/100%25%23%3F.txt");
  assertEquals(await file.text(), "specials");
});

Deno.test("serveDir() listing sorts by size or date on request", async () => {
  const html = await (await serve("/dir/?sort=size&order=desc")).text();
  const names = [...html.matchAll(/<a href="([^"]*)">/g)].map((m) => m[1]).filter((n) =>
    n!.endsWith(".txt")
  );
  assertEquals(names[0], "file10.txt");
  assertEquals(names[names.length - 1], "file2.txt");
});

Deno.test("serveDir() listing is JSON for Accept: application/json", async () => {
  const res = await serve("/dir/sub/", { accept: "application/json" });
  assertEquals(res.headers.get("content-type"), "application/json; charset=utf-8");
  assertEquals(await res.json(), [{
    name: "deep.txt",
    type: "file",
    size: 4,
    modified: MTIME.toISOString(),
  }]);
});

Deno.test("serveDir() listing can be turned off", async () => {
  const res = await serve("/dir/", {}, { showDirListing: false });
  assertEquals(res.status, 404);
  await drain(res);
});

Deno.test("serveDir() traversal vectors never leave the root", async () => {
  const vectors: [string, number][] = [
    ["/../outside/secret.txt", 404], // the URL parser resolves "..": /outside/secret.txt
    ["/%2e%2e/outside/secret.txt", 404],
    ["/..%2foutside%2fsecret.txt", 400],
    ["/..%2Foutside/secret.txt", 400],
    ["/dir/..%2f..%2f..%2fetc%2fpasswd", 400],
    ["/..%5coutside%5csecret.txt", 400],
    ["/%5c..%5c..%5cetc%5cpasswd", 400],
    ["/hello.txt%00.png", 400],
    ["/%00", 400],
    ["/%252e%252e/outside/secret.txt", 404], // double encoding is a literal name
    ["/%zz", 400],
    ["/%", 400],
    ["/%c0%ae%c0%ae/outside/secret.txt", 400], // overlong UTF-8 is not a dot
    ["/escape.txt", 404],
    ["/escape-dir/secret.txt", 404],
    ["/escape-dir/", 404],
  ];
  for (const [path, status] of vectors) {
    const res = await serve(path);
    const body = await res.text();
    assertEquals(res.status, status, path);
    assert(!body.includes("outside secret"), path);
  }
});

Deno.test("serveDir() hides dotfiles unless showDotfiles is set", async () => {
  for (const path of ["/.env", "/.git/config", "/.git/", "/dir/.hidden", "/%2eenv"]) {
    const res = await serve(path);
    assertEquals(res.status, 404, path);
    await drain(res);
  }
  const shown = await serve("/.env", {}, { showDotfiles: true });
  assertEquals(await shown.text(), "SECRET=1");
  const listing = await (await serve("/dir/", {}, { showDotfiles: true })).text();
  assertStringIncludes(listing, ".hidden");
});

Deno.test("serveDir() follows symlinks inside the root, and outside only when allowed", async () => {
  assertEquals(await (await serve("/inside-link.txt")).text(), HELLO);
  const listing = await (await serve("/")).text();
  assert(!listing.includes("escape.txt"), "links out of the root are not listed");
  assertStringIncludes(listing, "inside-link.txt");
  const allowed = await serve("/escape.txt", {}, { followSymlinksOutsideRoot: true });
  assertEquals(await allowed.text(), "outside secret");
});

Deno.test("serveDir() never serves a precompressed sibling that links out of the root", async () => {
  const res = await serve("/linked.txt", { "accept-encoding": "gzip" });
  assertEquals(res.headers.get("content-encoding"), null);
  assertEquals(await res.text(), "linked");
});

Deno.test("serveDir() error pages do not echo the request", async () => {
  const res = await serve("/<img src=x onerror=alert(1)>");
  assertEquals(res.status, 404);
  const body = await res.text();
  assert(!body.includes("<img"));
  assertEquals(res.headers.get("x-content-type-options"), "nosniff");
});

Deno.test("serveDir() If-None-Match: 304 on a weak or strong match, 200 otherwise", async () => {
  for (const inm of ['"6553f100-d"', 'W/"6553f100-d"', '"x", "6553f100-d"', "*"]) {
    const res = await serve("/hello.txt", { "if-none-match": inm });
    assertEquals(res.status, 304, inm);
    assertEquals(res.headers.get("etag"), '"6553f100-d"');
    assertEquals(res.body, null);
  }
  const miss = await serve("/hello.txt", { "if-none-match": '"other"' });
  assertEquals(miss.status, 200);
  await drain(miss);
});

Deno.test("serveDir() If-Modified-Since: 304 when not modified, ignored when invalid or with If-None-Match", async () => {
  const cases: [HeadersInit, number][] = [
    [{ "if-modified-since": "Tue, 14 Nov 2023 22:13:20 GMT" }, 304],
    [{ "if-modified-since": "Wed, 15 Nov 2023 00:00:00 GMT" }, 304],
    [{ "if-modified-since": "Tuesday, 14-Nov-23 22:13:20 GMT" }, 304],
    [{ "if-modified-since": "Tue Nov 14 22:13:20 2023" }, 304],
    [{ "if-modified-since": "Tue, 14 Nov 2023 22:13:19 GMT" }, 200],
    [{ "if-modified-since": "garbage" }, 200],
    [{ "if-modified-since": "2030-01-01" }, 200],
    [{ "if-none-match": '"nope"', "if-modified-since": "Wed, 15 Nov 2023 00:00:00 GMT" }, 200],
  ];
  for (const [headers, status] of cases) {
    const res = await serve("/hello.txt", headers);
    assertEquals(res.status, status, JSON.stringify(headers));
    await drain(res);
  }
});

Deno.test("serveDir() If-Match and If-Unmodified-Since: 412 when they fail", async () => {
  const cases: [HeadersInit, number][] = [
    [{ "if-match": '"6553f100-d"' }, 200],
    [{ "if-match": "*" }, 200],
    [{ "if-match": '"other"' }, 412],
    [{ "if-match": 'W/"6553f100-d"' }, 412], // strong comparison
    [{ "if-unmodified-since": "Tue, 14 Nov 2023 22:13:20 GMT" }, 200],
    [{ "if-unmodified-since": "Tue, 14 Nov 2023 22:13:19 GMT" }, 412],
    [{ "if-match": '"6553f100-d"', "if-unmodified-since": "Mon, 01 Jan 2001 00:00:00 GMT" }, 200],
    [{ "if-match": '"other"', "if-none-match": '"6553f100-d"' }, 412],
  ];
  for (const [headers, status] of cases) {
    const res = await serve("/hello.txt", headers);
    assertEquals(res.status, status, JSON.stringify(headers));
    await drain(res);
  }
});

Deno.test("serveDir() single ranges: 206 with Content-Range, clamped", async () => {
  const cases: [string, string, string][] = [
    ["bytes=0-4", "bytes 0-4/50", "abcde"],
    ["bytes=45-", "bytes 45-49/50", "JKLMN"],
    ["bytes=-3", "bytes 47-49/50", "LMN"],
    ["bytes=48-1000", "bytes 48-49/50", "MN"],
    ["bytes=-1000", "bytes 0-49/50", ALPHABET],
    ["BYTES = 1-1", "bytes 1-1/50", "b"],
    ["bytes=60-70, 2-3", "bytes 2-3/50", "cd"],
  ];
  for (const [range, contentRange, body] of cases) {
    const res = await serve("/alphabet.txt", { range });
    assertEquals(res.status, 206, range);
    assertEquals(res.headers.get("content-range"), contentRange, range);
    assertEquals(res.headers.get("content-length"), String(body.length), range);
    assertEquals(await res.text(), body, range);
  }
});

Deno.test("serveDir() unsatisfiable ranges: 416 with Content-Range: bytes */size", async () => {
  for (const range of ["bytes=50-", "bytes=100-200", "bytes=-0", "bytes=50-60, 70-"]) {
    const res = await serve("/alphabet.txt", { range });
    assertEquals(res.status, 416, range);
    assertEquals(res.headers.get("content-range"), "bytes */50");
    await drain(res);
  }
});

Deno.test("serveDir() answers invalid bytes ranges with 416, as nginx does", async () => {
  for (
    const range of ["bytes=a-b", "bytes=5-1", "bytes=1", "bytes=--1", "bytes=+1-2", "bytes=0x1-2"]
  ) {
    const res = await serve("/alphabet.txt", { range });
    assertEquals(res.status, 416, range);
    assertEquals(res.headers.get("content-range"), "bytes */50");
    await drain(res);
  }
});

Deno.test("serveDir() ignores other units and abusive Range headers and sends the whole file", async () => {
  const many = "bytes=" + Array.from({ length: 40 }, (_, i) => `${i}-${i}`).join(",");
  const overlapping = "bytes=0-49,0-49,0-49";
  for (const range of ["items=0-1", "bytes=", "bytes= , ", many, overlapping]) {
    const res = await serve("/alphabet.txt", { range });
    assertEquals(res.status, 200, range);
    assertEquals(await res.text(), ALPHABET);
  }
});

Deno.test("serveDir() multiple ranges: multipart/byteranges with exact bytes", async () => {
  const res = await serve("/alphabet.txt", { range: "bytes=0-2, 10-12,-2" });
  assertEquals(res.status, 206);
  const type = res.headers.get("content-type")!;
  const m = /^multipart\/byteranges; boundary=([0-9a-f]+)$/.exec(type);
  assert(m !== null, type);
  const b = m[1];
  const expected =
    `--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-2/50\r\n\r\nabc` +
    `\r\n--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 10-12/50\r\n\r\nklm` +
    `\r\n--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 48-49/50\r\n\r\nMN` +
    `\r\n--${b}--\r\n`;
  const body = await res.text();
  assertEquals(body, expected);
  assertEquals(
    res.headers.get("content-length"),
    String(new TextEncoder().encode(expected).length),
  );
});

Deno.test("serveDir() If-Range: ranges only while the validator matches", async () => {
  const cases: [string, number][] = [
    ['"6553f100-32"', 206],
    ['"stale"', 200],
    ['W/"6553f100-32"', 200],
    ["Tue, 14 Nov 2023 22:13:20 GMT", 206],
    ["Tue, 14 Nov 2023 22:13:21 GMT", 200],
  ];
  for (const [ifRange, status] of cases) {
    const res = await serve("/alphabet.txt", { range: "bytes=0-0", "if-range": ifRange });
    assertEquals(res.status, status, ifRange);
    await drain(res);
  }
});

Deno.test("serveDir() HEAD with a Range reports the 206 head", async () => {
  const res = await serve("/alphabet.txt", { range: "bytes=1-2" }, {}, "HEAD");
  assertEquals(res.status, 206);
  assertEquals(res.headers.get("content-length"), "2");
  assertEquals(res.body, null);
});

Deno.test("serveDir() picks precompressed siblings by Accept-Encoding, with Vary", async () => {
  const cases: [string | null, string | null, string][] = [
    ["br, gzip", "br", "BR-BYTES"],
    ["gzip, deflate, br;q=0", "gzip", "GZ-BYTES"],
    ["gzip;q=0.5", "gzip", "GZ-BYTES"],
    ["*", "br", "BR-BYTES"],
    ["*, br;q=0", "gzip", "GZ-BYTES"],
    ["identity", null, "console.log('plain');"],
    [null, null, "console.log('plain');"],
  ];
  for (const [accept, encoding, body] of cases) {
    const res = await serve("/comp.js", accept === null ? {} : { "accept-encoding": accept });
    assertEquals(res.headers.get("content-encoding"), encoding, String(accept));
    assertEquals(res.headers.get("content-type"), "text/javascript; charset=utf-8");
    // Like nginx's gzip_static: Vary when a sibling was considered for this client.
    assertEquals(res.headers.get("vary"), encoding === null ? null : "Accept-Encoding");
    assertEquals(await res.text(), body);
  }
  const onlyGz = await serve("/only.css", { "accept-encoding": "br" });
  assertEquals(onlyGz.headers.get("content-encoding"), null);
  assertEquals(onlyGz.headers.get("vary"), null);
  await drain(onlyGz);
  const gz = await serve("/only.css", { "accept-encoding": "br, gzip" });
  assertEquals(gz.headers.get("content-encoding"), "gzip");
  assertEquals(await gz.text(), "GZ-CSS");
  const plain = await serve("/hello.txt", { "accept-encoding": "br, gzip" });
  assertEquals(plain.headers.get("vary"), null);
  await drain(plain);
  const off = await serve("/comp.js", { "accept-encoding": "br" }, { precompressed: false });
  assertEquals(off.headers.get("content-encoding"), null);
  await drain(off);
});

Deno.test("serveDir() precompressed representations have their own ETag", async () => {
  const br = await serve("/comp.js", { "accept-encoding": "br" });
  const plain = await serve("/comp.js");
  assert(br.headers.get("etag") !== plain.headers.get("etag"));
  await drain(br);
  await drain(plain);
});

Deno.test("serveDir() adds CORS headers and answers preflight when enabled", async () => {
  const res = await serve("/hello.txt", { origin: "http://other.test" }, { cors: true });
  assertEquals(res.headers.get("access-control-allow-origin"), "*");
  assertStringIncludes(res.headers.get("access-control-expose-headers")!, "Content-Range");
  await drain(res);
  const pre = await serve(
    "/hello.txt",
    {
      origin: "http://other.test",
      "access-control-request-method": "GET",
      "access-control-request-headers": "range",
    },
    { cors: true },
    "OPTIONS",
  );
  assertEquals(pre.status, 204);
  assertEquals(pre.headers.get("access-control-allow-methods"), "GET, HEAD, OPTIONS");
  assertEquals(pre.headers.get("access-control-allow-headers"), "range");
  const missing = await serve("/nope", {}, { cors: true });
  assertEquals(missing.headers.get("access-control-allow-origin"), "*");
  await drain(missing);
  const none = await serve("/hello.txt");
  assertEquals(none.headers.get("access-control-allow-origin"), null);
  await drain(none);
});

Deno.test("serveDir() SPA fallback serves the root index.html for missing paths", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/index.html`, "<app>");
    const res = await serveDir(get("/some/client/route"), { fsRoot: root, spa: true });
    assertEquals(res.status, 200);
    assertEquals(await res.text(), "<app>");
    const dot = await serveDir(get("/.env"), { fsRoot: root, spa: true });
    assertEquals(dot.status, 404);
    await drain(dot);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("serveDir() serves a custom 404 page with status 404", async () => {
  const page = `${tree.root}/site/index.html`;
  const res = await serve("/missing", {}, { notFoundPage: page });
  assertEquals(res.status, 404);
  assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
  assertEquals(await res.text(), "<h1>site</h1>");
});

Deno.test("serveDir() strips urlRoot and refuses paths outside it", async () => {
  const ok = await serve("/static/hello.txt", {}, { urlRoot: "/static" });
  assertEquals(await ok.text(), HELLO);
  const outside = await serve("/staticx/hello.txt", {}, { urlRoot: "/static" });
  assertEquals(outside.status, 404);
  await drain(outside);
  const listing = await (await serve("/static/dir/", {}, { urlRoot: "static/" })).text();
  assertStringIncludes(listing, "Index of /dir/");
});

Deno.test("serveDir() adds the configured headers to successful responses", async () => {
  const res = await serve("/hello.txt", {}, { headers: { "cache-control": "max-age=60" } });
  assertEquals(res.headers.get("cache-control"), "max-age=60");
  await drain(res);
});

Deno.test("serveFile() serves one file and refuses directories and missing files", async () => {
  const res = await serveFile(get("/x"), `${tree.root}/data.json`);
  assertEquals(res.headers.get("content-type"), "application/json; charset=utf-8");
  assertEquals(await res.json(), { ok: true });
  const dir = await serveFile(get("/x"), `${tree.root}/dir`);
  assertEquals(dir.status, 404);
  await drain(dir);
  const missing = await serveFile(get("/x"), `${tree.root}/missing`);
  assertEquals(missing.status, 404);
  await drain(missing);
  const typed = await serveFile(get("/x"), `${tree.root}/hello.txt`, {
    contentType: "text/x-hello",
  });
  assertEquals(typed.headers.get("content-type"), "text/x-hello");
  await drain(typed);
});

Deno.test("serveFile() streams a large file in bounded chunks with flat memory", async () => {
  // Run in a child with --expose-gc so that garbage chunks do not blur the measure.
  const path = await Deno.makeTempFile();
  try {
    const size = 128 * 1024 * 1024;
    await Deno.truncate(path, size); // sparse: no disk cost
    const module = new URL("../../http/file_server.ts", import.meta.url).href;
    const code = `
      import { serveFile } from ${JSON.stringify(module)};
      const res = await serveFile(new Request("http://localhost/big.bin"), ${JSON.stringify(path)});
      globalThis.gc(); const before = Deno.memoryUsage().rss;
      let total = 0, biggest = 0, peak = 0;
      for await (const chunk of res.body) {
        total += chunk.length; biggest = Math.max(biggest, chunk.length);
        if (total % (16 * 1024 * 1024) === 0) { globalThis.gc(); peak = Math.max(peak, Deno.memoryUsage().rss - before); }
      }
      console.log(JSON.stringify({ total, biggest, peak, length: res.headers.get("content-length") }));
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--v8-flags=--expose-gc", code],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert(out.success, "child failed");
    const result = JSON.parse(new TextDecoder().decode(out.stdout));
    assertEquals(result.total, size);
    assertEquals(result.length, String(size));
    assertEquals(result.biggest, 262144);
    // A buffered body would need 128 MiB; streaming stays at a few chunks plus allocator slack.
    assert(result.peak < 48 * 1024 * 1024, `memory grew by ${result.peak} bytes`);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("serveFile() errors the body when the file shrinks while being sent", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, new Uint8Array(1024 * 1024));
    const res = await serveFile(get("/x"), path, { chunkSize: 65536 });
    const reader = res.body!.getReader();
    await reader.read();
    await Deno.truncate(path, 100_000);
    await assertRejects(
      async () => {
        for (;;) {
          const { done } = await reader.read();
          if (done) break;
        }
      },
      Error,
      "ended early",
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("serveFile() closes the file when the client cancels the body", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, new Uint8Array(512 * 1024));
    const res = await serveFile(get("/x"), path, { chunkSize: 65536 });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    // The resource sanitizer fails this test if the file stayed open.
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("serveDir() never serves nor lists excluded paths, such as a CGI directory", async () => {
  const options = { exclude: [`${tree.root}/dir/sub`, `${tree.root}/data.json`] };
  const script = await serve("/dir/sub/deep.txt", {}, options);
  assertEquals(script.status, 404);
  await drain(script);
  const file = await serve("/data.json", {}, options);
  assertEquals(file.status, 404);
  await drain(file);
  const listing = await (await serve("/dir/", {}, options)).text();
  assert(!listing.includes('href="sub/"'), "an excluded directory was listed");
  const root = await (await serve("/", {}, options)).text();
  assert(!root.includes("data.json"));
});

Deno.test("serveDir() bodies read the same through a BYOB reader, without a copy", async () => {
  const path = await Deno.makeTempFile();
  try {
    const data = new Uint8Array(700_000).map((_, i) => (i * 7) % 256);
    await Deno.writeFile(path, data);
    const cases: [HeadersInit, (body: Uint8Array) => boolean][] = [
      [{}, (b) => b.length === data.length && b.every((x, i) => x === data[i])],
      [{ range: "bytes=100-300099" }, (b) => b.length === 300_000 && b[0] === data[100]],
      [
        { range: "bytes=0-0,-1" },
        (b) => new TextDecoder().decode(b).includes("Content-Range: bytes 699999-699999/700000"),
      ],
    ];
    for (const [headers, ok] of cases) {
      const res = await serveFile(new Request("http://localhost/x", { headers }), path, {
        chunkSize: 65536,
      });
      const reader = res.body!.getReader({ mode: "byob" });
      let buf = new Uint8Array(100_000);
      const parts: Uint8Array[] = [];
      for (;;) {
        const { value, done } = await reader.read(buf);
        if (done) break;
        parts.push(value.slice());
        buf = new Uint8Array(value.buffer); // the same memory, handed back
      }
      const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        body.set(p, at);
        at += p.length;
      }
      assertEquals(String(body.length), res.headers.get("content-length"));
      assert(ok(body), JSON.stringify(headers));
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("serveDir() ignores If-Modified-Since dates later than its clock (RFC 9110 §13.1.3)", async () => {
  // A date in the future is no validator the server handed out: answering
  // 304 to it would hide every later change to the file from that client.
  const future = new Date(Date.now() + 86_400_000).toUTCString();
  const res = await serve("/hello.txt", { "if-modified-since": future });
  assertEquals(res.status, 200);
  assertEquals(await res.text(), HELLO);
  const now = await serve("/hello.txt", { "if-modified-since": new Date().toUTCString() });
  assertEquals(now.status, 304);
  // A file changed a moment ago, asked about with a date an hour ahead.
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "fresh");
    const ahead = new Date(Date.now() + 3_600_000).toUTCString();
    const fresh = await serveFile(get("/x", { "if-modified-since": ahead }), path);
    assertEquals(fresh.status, 200);
    assertEquals(await fresh.text(), "fresh");
  } finally {
    await Deno.remove(path);
  }
});

/** Names that need escaping in a URL path, each with its own content. */
const SPECIAL_NAMES = [
  "back\\slash.txt",
  "two\\\\back\\slashes.txt",
  "\\leading-backslash.txt",
  "#hash.txt",
  "q?mark.txt",
  "100%.txt",
  "%2e%2e.txt",
  "%5c.txt",
  "semi;colon.txt",
  'double"quote.txt',
  "single'quote.txt",
  "<angle>.txt",
  "-leading-dash.txt",
  "a b+c&d=e.txt",
  "tab\there.txt",
  "new\nline.txt",
  "émoji-🦕.txt",
];

Deno.test("serveDir() serves every listed name from its listing link (backslash, #, ?, %, ;, quotes, <>, -)", async () => {
  const root = await Deno.makeTempDir({ prefix: "inetkit_files_names_" });
  try {
    for (const [i, name] of SPECIAL_NAMES.entries()) {
      await Deno.writeTextFile(`${root}/${name}`, `content ${i}`);
    }
    await Deno.mkdir(`${root}/sub\\dir`);
    await Deno.writeTextFile(`${root}/sub\\dir/in#side.txt`, "inside");
    const listing = await serveDir(new Request("http://localhost/"), { fsRoot: root });
    const html = await listing.text();
    const hrefs = [
      ...html.matchAll(/<td class="name"><svg[^>]*><use[^>]*\/><\/svg><a href="([^"]*)"/g),
    ]
      .map((m) => m[1]!.replaceAll("&amp;", "&"));
    assertEquals(hrefs.length, SPECIAL_NAMES.length + 1);
    const seen = new Set<string>();
    for (const href of hrefs) {
      assert(!/[\\#?"'<> ]/.test(href), `href not fully encoded: ${href}`);
      const url = new URL(href, "http://localhost/");
      const res = await serveDir(new Request(url), { fsRoot: root });
      assertEquals(res.status, 200, href);
      const text = await res.text();
      if (href.endsWith("/")) {
        const inner = /<a href="(in[^"]*)"/.exec(text)?.[1];
        assertEquals(inner, "in%23side.txt");
        const file = await serveDir(new Request(new URL(inner!, url)), { fsRoot: root });
        assertEquals(await file.text(), "inside");
        continue;
      }
      const index = Number(/^content (\d+)$/.exec(text)?.[1]);
      assertEquals(encodeURIComponentStrict(SPECIAL_NAMES[index]!), href, text);
      seen.add(SPECIAL_NAMES[index]!);
    }
    assertEquals(seen.size, SPECIAL_NAMES.length);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

function encodeURIComponentStrict(name: string): string {
  return encodeURIComponent(name).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

Deno.test("serveDir() still refuses %5C around dot segments, and lists no such name", async () => {
  const root = await Deno.makeTempDir({ prefix: "inetkit_files_bs_" });
  try {
    // On Linux these are ordinary names; were "\" a separator they would climb.
    for (const name of ["..\\x.txt", "a\\..\\b.txt", ".\\c.txt", "d\\.", "e\\..", "ok\\name.txt"]) {
      await Deno.writeTextFile(`${root}/${name}`, "x");
    }
    const vectors = [
      "/..%5Cx.txt",
      "/..%5cx.txt",
      "/a%5C..%5Cb.txt",
      "/.%5Cc.txt",
      "/d%5C.",
      "/e%5C..",
      "/%5C..%5C..%5Cetc%5Cpasswd",
      "/ok%5Cname.txt%5C..",
    ];
    for (const path of vectors) {
      const res = await serveDir(new Request(`http://localhost${path}`), { fsRoot: root });
      assertEquals(res.status, 400, path);
      await res.body?.cancel();
    }
    const ok = await serveDir(new Request("http://localhost/ok%5Cname.txt"), { fsRoot: root });
    assertEquals(ok.status, 200);
    await ok.body?.cancel();
    const json = await serveDir(
      new Request("http://localhost/", { headers: { accept: "application/json" } }),
      { fsRoot: root },
    );
    assertEquals((await json.json()).map((e: { name: string }) => e.name), ["ok\\name.txt"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
