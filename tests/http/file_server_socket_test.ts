/**
 * The static file server behind inetkit's own `serve`, driven with raw bytes
 * over a socket, so that no client library normalises the request target
 * before it reaches the server.
 */
import { serve } from "../../http/serve.ts";
import { serveDir } from "../../http/file_server.ts";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";

const SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT";

async function withServer(
  fn: (port: number, root: string) => Promise<void>,
): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "inetkit_files_socket_" });
  const root = `${base}/www`;
  await Deno.mkdir(`${root}/dir`, { recursive: true });
  await Deno.mkdir(`${root}/evil.com`);
  await Deno.writeTextFile(`${root}/hello.txt`, "hello\n");
  await Deno.writeTextFile(`${root}/dir/inner.txt`, "inner\n");
  await Deno.writeTextFile(`${root}/.env`, SECRET);
  await Deno.writeTextFile(`${base}/secret.txt`, SECRET);
  await Deno.symlink(`${base}/secret.txt`, `${root}/link.txt`);
  await Deno.symlink(base, `${root}/up`);
  const server = serve({ port: 0 }, (request) => serveDir(request, { fsRoot: root }));
  try {
    await fn(server.addr.port, root);
  } finally {
    await server.shutdown();
    await Deno.remove(base, { recursive: true });
  }
}

/** Sends raw request bytes and returns everything until the server closes. */
async function raw(port: number, bytes: string | Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder("latin1").decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  } finally {
    conn.close();
  }
}

function get(target: string): string {
  return `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? "0");
}

Deno.test("serveDir() behind serve(): traversal vectors sent raw never escape the root", async () => {
  await withServer(async (port) => {
    const vectors = [
      "/../secret.txt",
      "/../../../../../../etc/passwd",
      "/%2e%2e/secret.txt",
      "/%2E%2E/%2E%2E/etc/passwd",
      "/.%2e/secret.txt",
      "/%2e./secret.txt",
      "/..%2fsecret.txt",
      "/..%2Fsecret.txt",
      "/dir/..%2f..%2fsecret.txt",
      "/%2e%2e%2fsecret.txt",
      "/..%5csecret.txt",
      "/%5c..%5csecret.txt",
      "/..\\secret.txt",
      "/dir\\..\\..\\secret.txt",
      "/%252e%252e/secret.txt",
      "/%25252e%25252e/secret.txt",
      "/%c0%ae%c0%ae/secret.txt",
      "/..%c0%afsecret.txt",
      "/..%00/secret.txt",
      "/secret.txt%00.txt",
      "/./././../secret.txt",
      "/dir/./../../secret.txt",
      "/dir/..;/..;/secret.txt",
      "//../secret.txt",
      "/link.txt",
      "/up/secret.txt",
      "/.env",
      "/%2eenv",
      "/dir/../.env",
      "http://localhost/../secret.txt",
      "http://localhost/%2e%2e/secret.txt",
    ];
    for (const target of vectors) {
      const response = await raw(port, get(target));
      const status = statusOf(response);
      assert(!response.includes(SECRET), `${target} leaked the secret`);
      assert(!response.includes("root:x:0:0"), `${target} leaked /etc/passwd`);
      assert([400, 404].includes(status), `${target} answered ${status}`);
    }
  });
});

Deno.test("serveDir() behind serve(): a NUL byte in the raw target is refused", async () => {
  await withServer(async (port) => {
    const response = await raw(
      port,
      "GET /hello.txt\0.png HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assertEquals(statusOf(response), 400);
  });
});

Deno.test("serveDir() behind serve(): the directory-slash redirect never yields //host", async () => {
  await withServer(async (port) => {
    for (
      const target of ["//evil.com", "///evil.com", "//evil.com/", "/\\evil.com", "//evil.com?x=1"]
    ) {
      const response = await raw(port, get(target));
      const location = /\r\nlocation: ([^\r]*)\r\n/i.exec(response)?.[1];
      if (statusOf(response) === 301) {
        assert(location !== undefined, target);
        assert(
          !location.startsWith("//") && !location.startsWith("/\\"),
          `${target} -> ${location}`,
        );
        assertMatch(location, /^\/evil\.com\/(\?x=1)?$/);
      } else {
        // A listing of the directory itself (target ending in "/") is fine too.
        assert([200, 400, 404].includes(statusOf(response)), target);
      }
    }
  });
});

Deno.test("serveDir() behind serve(): files, HEAD, ranges and 304 on the wire", async () => {
  await withServer(async (port) => {
    const ok = await raw(port, get("/hello.txt"));
    assertEquals(statusOf(ok), 200);
    assert(ok.endsWith("\r\n\r\nhello\n"));
    assertMatch(ok, /\r\ncontent-length: 6\r\n/i);
    const etag = /\r\netag: ([^\r]*)\r\n/i.exec(ok)![1];
    const head = await raw(
      port,
      `HEAD /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    assertEquals(statusOf(head), 200);
    assert(head.endsWith("\r\n\r\n"), "HEAD sent a body");
    assertMatch(head, /\r\ncontent-length: 6\r\n/i);
    const range = await raw(
      port,
      `GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=1-3\r\nConnection: close\r\n\r\n`,
    );
    assertEquals(statusOf(range), 206);
    assert(range.endsWith("\r\n\r\nell"));
    const cached = await raw(
      port,
      `GET /hello.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\nConnection: close\r\n\r\n`,
    );
    assertEquals(statusOf(cached), 304);
    assert(cached.endsWith("\r\n\r\n"), "304 sent a body");
    const listing = await raw(port, get("/dir/"));
    assertEquals(statusOf(listing), 200);
    assert(listing.includes('href="inner.txt"'));
  });
});

Deno.test("serveDir() behind serve(): keep-alive survives a 404 and a 206", async () => {
  await withServer(async (port) => {
    const response = await raw(
      port,
      "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n" +
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0\r\n\r\n" +
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    const statuses = [...response.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    assertEquals(statuses, [404, 206, 200]);
  });
});

Deno.test("serveDir() behind serve(): listing links to names with \\ # ? % ; quotes <> work on the wire", async () => {
  await withServer(async (port, root) => {
    const names = [
      "back\\slash.txt",
      "#h.txt",
      "q?.txt",
      "50%.txt",
      "a;b.txt",
      '"q".txt',
      "'s'.txt",
      "<x>.txt",
      "-dash.txt",
    ];
    await Deno.mkdir(`${root}/names`);
    for (const [i, name] of names.entries()) {
      await Deno.writeTextFile(`${root}/names/${name}`, `body-${i}`);
    }
    const listing = await raw(port, get("/names/"));
    assertEquals(statusOf(listing), 200);
    const hrefs = [...listing.matchAll(/<a href="([^"?.][^"]*)">/g)].map((m) => m[1]!);
    assertEquals(hrefs.length, names.length, hrefs.join(" "));
    const bodies = new Set<string>();
    for (const href of hrefs) {
      const response = await raw(port, get(`/names/${href}`));
      assertEquals(statusOf(response), 200, href);
      bodies.add(/body-\d+$/.exec(response)?.[0] ?? "");
    }
    assertEquals(bodies.size, names.length);
    // The backslash forms of traversal stay refused on the wire.
    for (const target of ["/names/..%5C..%5Csecret.txt", "/names%5C..%5Csecret.txt"]) {
      const response = await raw(port, get(target));
      assertEquals(statusOf(response), 400, target);
      assert(!response.includes(SECRET), target);
    }
  });
});
