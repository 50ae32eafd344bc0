/**
 * Interop: curl against inetkit's `serveDir` and against nginx (peer on
 * 127.0.0.1:8080) on the same files ($PEERS_DIR/www): the same status, the
 * headers that matter and the same bytes, for plain, HEAD, range and
 * conditional requests. Also a headless Chromium screenshot of the listing,
 * kept as tests/interop/artifacts/listing.png (skipped without Chromium).
 */
import { serve } from "../../http/serve.ts";
import { serveDir } from "../../http/file_server.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { PEERS_DIR, peerTest } from "../_helpers/peers.ts";

const NGINX = "http://127.0.0.1:8080";

interface CurlResult {
  status: number;
  headers: Map<string, string>;
  body: Uint8Array;
}

async function curl(url: string, args: string[] = []): Promise<CurlResult> {
  const bodyFile = await Deno.makeTempFile();
  try {
    const out = await new Deno.Command("curl", {
      args: ["-s", "--noproxy", "*", "-D", "-", "-o", bodyFile, ...args, url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(
      out.success,
      `curl ${args.join(" ")} ${url} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
    const head = new TextDecoder().decode(out.stdout).split("\r\n");
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0]!)?.[1]);
    const headers = new Map<string, string>();
    for (const line of head.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    // With -I curl writes the head to the output file too: a HEAD has no body.
    const body = args.includes("-I") ? new Uint8Array(0) : await Deno.readFile(bodyFile);
    return { status, headers, body };
  } finally {
    await Deno.remove(bodyFile);
  }
}

function mediaType(value: string | undefined): string | undefined {
  return value?.split(";")[0]?.trim().toLowerCase();
}

/** Parses a multipart/byteranges body into its Content-Range values and bytes. */
function parts(result: CurlResult): { range: string; body: string }[] {
  const boundary = /boundary=(\S+)/.exec(result.headers.get("content-type") ?? "")?.[1];
  assert(boundary !== undefined, "no boundary");
  const text = new TextDecoder("latin1").decode(result.body);
  const out: { range: string; body: string }[] = [];
  for (const section of text.split(`--${boundary}`).slice(1)) {
    if (section.startsWith("--")) break;
    const [head, ...rest] = section.split("\r\n\r\n");
    const range = /Content-Range: ([^\r]*)/i.exec(head!)?.[1] ?? "";
    out.push({ range, body: rest.join("\r\n\r\n").replace(/\r\n$/, "") });
  }
  return out;
}

async function withOurs(fn: (base: string) => Promise<void>): Promise<void> {
  const server = serve({ port: 0 }, (request) => serveDir(request, { fsRoot: `${PEERS_DIR}/www` }));
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

const CASES: { name: string; path: string; args: string[]; compare: string[] }[] = [
  {
    name: "GET",
    path: "/hello.txt",
    args: [],
    compare: ["etag", "last-modified", "content-length", "accept-ranges"],
  },
  {
    name: "HEAD",
    path: "/hello.txt",
    args: ["-I"],
    compare: ["etag", "last-modified", "content-length"],
  },
  { name: "GET 1 MiB", path: "/bin/1mb-A.bin", args: [], compare: ["etag", "content-length"] },
  { name: "GET json", path: "/data.json", args: [], compare: ["etag", "content-length"] },
  {
    name: "range 0-4",
    path: "/hello.txt",
    args: ["-r", "0-4"],
    compare: ["content-range", "content-length", "etag"],
  },
  {
    name: "suffix range",
    path: "/hello.txt",
    args: ["-r", "-3"],
    compare: ["content-range", "content-length"],
  },
  {
    name: "open range",
    path: "/bin/bytes-256.bin",
    args: ["-r", "250-"],
    compare: ["content-range", "content-length"],
  },
  {
    name: "clamped range",
    path: "/hello.txt",
    args: ["-r", "12-100"],
    compare: ["content-range", "content-length"],
  },
  {
    name: "unsatisfiable range",
    path: "/hello.txt",
    args: ["-r", "100-"],
    compare: ["content-range"],
  },
  { name: "invalid range", path: "/hello.txt", args: ["-r", "5-1"], compare: ["content-range"] },
  { name: "suffix -0", path: "/hello.txt", args: ["-r", "-0"], compare: ["content-range"] },
  {
    name: "other unit",
    path: "/hello.txt",
    args: ["-H", "Range: items=0-1"],
    compare: ["content-length"],
  },
  {
    name: "overlapping ranges",
    path: "/hello.txt",
    args: ["-r", "0-0,0-12,1-2"],
    compare: ["content-length"],
  },
  {
    name: "If-None-Match hit",
    path: "/hello.txt",
    args: ["-H", 'If-None-Match: "6553f100-d"'],
    compare: ["etag", "last-modified"],
  },
  {
    name: "If-None-Match miss",
    path: "/hello.txt",
    args: ["-H", 'If-None-Match: "x"'],
    compare: ["etag", "content-length"],
  },
  {
    name: "If-Modified-Since equal",
    path: "/hello.txt",
    args: ["-H", "If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT"],
    compare: ["etag"],
  },
  {
    name: "If-Modified-Since older",
    path: "/hello.txt",
    args: ["-H", "If-Modified-Since: Mon, 13 Nov 2023 00:00:00 GMT"],
    compare: ["etag", "content-length"],
  },
  { name: "If-Match miss", path: "/hello.txt", args: ["-H", 'If-Match: "nope"'], compare: [] },
  {
    name: "If-Match hit",
    path: "/hello.txt",
    args: ["-H", 'If-Match: "6553f100-d"'],
    compare: ["etag"],
  },
  {
    name: "If-Unmodified-Since older",
    path: "/hello.txt",
    args: ["-H", "If-Unmodified-Since: Mon, 13 Nov 2023 00:00:00 GMT"],
    compare: [],
  },
  {
    name: "If-Range etag hit",
    path: "/hello.txt",
    args: ["-r", "0-0", "-H", 'If-Range: "6553f100-d"'],
    compare: ["content-range"],
  },
  {
    name: "If-Range etag miss",
    path: "/hello.txt",
    args: ["-r", "0-0", "-H", 'If-Range: "stale"'],
    compare: ["content-length"],
  },
  {
    name: "If-Range date hit",
    path: "/hello.txt",
    args: ["-r", "0-0", "-H", "If-Range: Tue, 14 Nov 2023 22:13:20 GMT"],
    compare: ["content-range"],
  },
  { name: "missing file", path: "/missing.txt", args: [], compare: [] },
  { name: "UTF-8 name", path: "/dir/caf%C3%A9.txt", args: [], compare: ["etag", "content-length"] },
  {
    name: "name with space",
    path: "/dir/with%20space.txt",
    args: [],
    compare: ["etag", "content-length"],
  },
];

for (const c of CASES) {
  peerTest(
    `serveDir() matches nginx: ${c.name} (curl ${c.args.join(" ")} ${c.path})`,
    8080,
    async () => {
      await withOurs(async (ours) => {
        const a = await curl(NGINX + c.path, c.args);
        const b = await curl(ours + c.path, c.args);
        assertEquals(b.status, a.status, "status");
        for (const name of c.compare) assertEquals(b.headers.get(name), a.headers.get(name), name);
        if (a.status < 300) {
          assertEquals(
            mediaType(b.headers.get("content-type")),
            mediaType(a.headers.get("content-type")),
          );
          assertEquals(b.body, a.body, "body bytes");
        }
      });
    },
  );
}

peerTest("serveDir() matches nginx: multiple ranges give the same parts", 8080, async () => {
  await withOurs(async (ours) => {
    const a = await curl(NGINX + "/bin/bytes-256.bin", ["-r", "0-1,10-12,-2"]);
    const b = await curl(ours + "/bin/bytes-256.bin", ["-r", "0-1,10-12,-2"]);
    assertEquals([a.status, b.status], [206, 206]);
    assertEquals(mediaType(b.headers.get("content-type")), "multipart/byteranges");
    assertEquals(parts(b), parts(a));
    assertEquals(b.headers.get("content-length"), String(b.body.length));
  });
});

peerTest("serveDir() matches nginx: the directory redirect and listing links", 8080, async () => {
  await withOurs(async (ours) => {
    const a = await curl(NGINX + "/dir");
    const b = await curl(ours + "/dir");
    assertEquals([a.status, b.status], [301, 301]);
    assertEquals(
      new URL(b.headers.get("location")!, ours).pathname,
      new URL(a.headers.get("location")!).pathname,
    );
    const hrefs = (r: CurlResult) =>
      [...new TextDecoder().decode(r.body).matchAll(/<a href="([^"?]+)"/g)].map((m) => m[1]!)
        .sort();
    const la = await curl(NGINX + "/dir/");
    const lb = await curl(ours + "/dir/");
    assertEquals([la.status, lb.status], [200, 200]);
    // Ours adds breadcrumb links ("./", "../" for the path); the entries are the same.
    const ourEntries = new Set(hrefs(lb).filter((h) => h !== "./"));
    assertEquals([...ourEntries].sort(), hrefs(la));
  });
});

peerTest(
  "serveDir() listing renders in headless Chromium (screenshot kept as an artifact)",
  8080,
  async (t) => {
    let chromium: string | null = null;
    for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
      try {
        const out = await new Deno.Command(name, {
          args: ["--version"],
          stdout: "null",
          stderr: "null",
        }).output();
        if (out.success) {
          chromium = name;
          break;
        }
      } catch {
        // not installed
      }
    }
    if (chromium === null) {
      console.warn("skipped: Chromium is not installed (apt-get install -y chromium)");
      return;
    }
    await withOurs(async (ours) => {
      const profile = await Deno.makeTempDir({ prefix: "inetkit_chromium_" });
      // The committed artifact is rewritten only on request, so test runs
      // leave the work tree clean.
      const update = Deno.env.get("INETKIT_UPDATE_ARTIFACTS") === "1";
      const artifacts = update
        ? new URL("./artifacts/", import.meta.url).pathname
        : `${profile}/shot/`;
      await Deno.mkdir(artifacts, { recursive: true });
      const png = `${artifacts}listing.png`;
      try {
        const out = await new Deno.Command(chromium!, {
          args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            "--no-proxy-server",
            "--hide-scrollbars",
            `--user-data-dir=${profile}`,
            "--window-size=1000,640",
            `--screenshot=${png}`,
            `${ours}/dir/`,
          ],
          stdout: "null",
          stderr: "null",
        }).output();
        assert(out.success, "chromium failed");
        const bytes = await Deno.readFile(png);
        // A PNG, 1000 x 640, of a non-trivial size (a blank page compresses to almost nothing).
        assertEquals([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]);
        const view = new DataView(bytes.buffer, bytes.byteOffset);
        assertEquals([view.getUint32(16), view.getUint32(20)], [1000, 640]);
        assert(bytes.length > 10_000, `screenshot is only ${bytes.length} bytes`);
        if (update) await t.step("artifact kept at tests/interop/artifacts/listing.png", () => {});
      } finally {
        await Deno.remove(profile, { recursive: true });
      }
    });
  },
);
