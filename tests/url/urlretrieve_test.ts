import { serve } from "../../http/serve.ts";
import { buildOpener } from "../../url/build_opener.ts";
import { HTTPError } from "../../url/http_error.ts";
import { HttpUrlHandler } from "../../url/http_handler.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { URLError } from "../../url/url_error.ts";
import type { UrlProgress } from "../../url/url_request.ts";
import { urlretrieve } from "../../url/urlretrieve.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";

const CONTENT = new TextEncoder().encode("0123456789abcdefghijklmnopqrstuvwxyz".repeat(10));
const ETAG = '"v1"';

interface Seen {
  range: string | null;
  ifRange: string | null;
}

/** A server for one resource that honours Range and If-Range like nginx. */
function rangeServer(
  options: { etag?: string; breakFirst?: boolean; ignoreRange?: boolean; wrongOffset?: boolean } =
    {},
) {
  const seen: Seen[] = [];
  let broken = false;
  const etag = options.etag ?? ETAG;
  const server = serve({ port: 0 }, (request) => {
    const range = request.headers.get("range");
    const ifRange = request.headers.get("if-range");
    seen.push({ range, ifRange });
    const headers = { etag, "accept-ranges": "bytes" };
    if (options.breakFirst && !broken) {
      broken = true;
      let sent = false;
      return new Response(
        new ReadableStream({
          pull(c) {
            if (sent) {
              c.error(new Error("cut"));
              return;
            }
            sent = true;
            c.enqueue(CONTENT.subarray(0, 100));
          },
        }),
        { headers: { ...headers, "content-length": String(CONTENT.length) } },
      );
    }
    const m = /^bytes=(\d+)-$/.exec(range ?? "");
    if (m === null || options.ignoreRange || (ifRange !== null && ifRange !== etag)) {
      return new Response(CONTENT, { headers });
    }
    const start = Number(m[1]);
    if (start >= CONTENT.length) {
      return new Response(null, {
        status: 416,
        headers: { "content-range": `bytes */${CONTENT.length}` },
      });
    }
    const shown = options.wrongOffset ? start + 1 : start;
    return new Response(CONTENT.subarray(start), {
      status: 206,
      headers: {
        ...headers,
        "content-range": `bytes ${shown}-${CONTENT.length - 1}/${CONTENT.length}`,
      },
    });
  });
  return { server, seen, url: `http://127.0.0.1:${server.addr.port}/file` };
}

async function withFile(fn: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(`${dir}/out.bin`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const opener = () => buildOpener(new HttpUrlHandler(), new ProxyHandler({}));

Deno.test("urlretrieve() streams a download to a file with progress", async () => {
  const { server, url } = rangeServer();
  await using _s = server;
  await using o = opener();
  await withFile(async (path) => {
    const progress: UrlProgress[] = [];
    const result = await urlretrieve(url, path, { opener: o, onProgress: (p) => progress.push(p) });
    assertEquals(await Deno.readFile(path), CONTENT);
    assertEquals([result.size, result.status, result.resumed, result.validator], [
      CONTENT.length,
      200,
      false,
      ETAG,
    ]);
    assertEquals(progress.at(-1), { loaded: CONTENT.length, total: CONTENT.length, done: true });
  });
});

Deno.test("urlretrieve() resumes a partial file with Range and If-Range", async () => {
  const { server, url, seen } = rangeServer();
  await using _s = server;
  await using o = opener();
  await withFile(async (path) => {
    await Deno.writeFile(path, CONTENT.subarray(0, 123));
    const result = await urlretrieve(url, path, { opener: o, resume: true, ifRange: ETAG });
    assertEquals(await Deno.readFile(path), CONTENT);
    assertEquals([result.status, result.resumed], [206, true]);
    assertEquals(seen, [{ range: "bytes=123-", ifRange: ETAG }]);
  });
});

Deno.test("urlretrieve() rewrites the file when If-Range no longer matches or the server ignores Range", async () => {
  for (const options of [{ etag: '"v2"' }, { ignoreRange: true }]) {
    const { server, url } = rangeServer(options);
    await using _s = server;
    await using o = opener();
    await withFile(async (path) => {
      await Deno.writeFile(path, new TextEncoder().encode("STALE-BYTES"));
      const result = await urlretrieve(url, path, { opener: o, resume: true, ifRange: ETAG });
      assertEquals(await Deno.readFile(path), CONTENT);
      assertEquals([result.status, result.resumed], [200, false]);
    });
  }
});

Deno.test("urlretrieve() treats 416 for a complete file as done", async () => {
  const { server, url } = rangeServer();
  await using _s = server;
  await using o = opener();
  await withFile(async (path) => {
    await Deno.writeFile(path, CONTENT);
    const result = await urlretrieve(url, path, { opener: o, resume: true });
    assertEquals([result.status, result.size], [416, CONTENT.length]);
    await Deno.writeFile(path, new Uint8Array(CONTENT.length + 5));
    await assertRejects(() => urlretrieve(url, path, { opener: o, resume: true }), HTTPError);
  });
});

Deno.test("urlretrieve() resumes a transfer that broke off, with the ETag as If-Range", async () => {
  const { server, url, seen } = rangeServer({ breakFirst: true });
  await using _s = server;
  await using o = opener();
  await withFile(async (path) => {
    const result = await urlretrieve(url, path, { opener: o });
    assertEquals(await Deno.readFile(path), CONTENT);
    assertEquals(result.resumed, true);
    assertEquals(seen, [{ range: null, ifRange: null }, { range: "bytes=100-", ifRange: ETAG }]);
  });
  const again = rangeServer({ breakFirst: true });
  await using _s2 = again.server;
  await withFile(async (path) => {
    await assertRejects(() => urlretrieve(again.url, path, { opener: o, retries: 0 }), URLError);
  });
});

Deno.test("urlretrieve() refuses a 206 at the wrong offset", async () => {
  const { server, url } = rangeServer({ wrongOffset: true });
  await using _s = server;
  await using o = opener();
  await withFile(async (path) => {
    await Deno.writeFile(path, CONTENT.subarray(0, 10));
    const error = await assertRejects(
      () => urlretrieve(url, path, { opener: o, resume: true }),
      URLError,
    );
    assertEquals(error.reason.startsWith("server resumed at the wrong offset"), true);
  });
});
