/**
 * Interop: the CGI scripts of the lighttpd peer ($PEERS_DIR/cgi-www/cgi-bin,
 * served by lighttpd + mod_cgi on 127.0.0.1:8081) run under inetkit's
 * `serveCgi` behind inetkit's `serve`, driven by curl, give the same
 * responses as under lighttpd.
 */
import { serve } from "../../http/serve.ts";
import { serveDir } from "../../http/file_server.ts";
import { type CgiOptions, serveCgi } from "../../http/cgi.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { PEERS_DIR, peerTest } from "../_helpers/peers.ts";

const LIGHTTPD = "http://127.0.0.1:8081";
const ROOT = `${PEERS_DIR}/cgi-www`;

interface CurlResult {
  status: number;
  headers: Map<string, string>;
  body: string;
}

async function curl(url: string, args: string[] = []): Promise<CurlResult> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "--noproxy", "*", "-i", ...args, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, `curl ${url} failed: ${new TextDecoder().decode(out.stderr)}`);
  const text = new TextDecoder().decode(out.stdout);
  const split = text.indexOf("\r\n\r\n");
  const head = text.slice(0, split).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0]!)?.[1]),
    headers,
    body: text.slice(split + 4),
  };
}

async function withOurs(
  fn: (base: string) => Promise<void>,
  extra: Partial<CgiOptions> = {},
): Promise<void> {
  const cgi: CgiOptions = {
    directories: { "/cgi-bin": `${ROOT}/cgi-bin` },
    // The same assignments as the peer's lighttpd.conf cgi.assign.
    interpreters: { ".sh": ["/bin/sh"], ".py": ["/usr/bin/python3"] },
    ...extra,
  };
  const handler = (request: Request, info: Parameters<typeof serveCgi>[1]): Promise<Response> =>
    new URL(request.url).pathname.startsWith("/cgi-bin/")
      ? serveCgi(request, info, cgi)
      : serveDir(request, { fsRoot: ROOT, exclude: [`${ROOT}/cgi-bin`] });
  if (extra.localRedirect !== undefined) cgi.localRedirect = handler;
  const server = serve({ port: 0 }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

const CASES: { name: string; path: string; args: string[]; headers: string[] }[] = [
  { name: "hello.sh", path: "/cgi-bin/hello.sh", args: [], headers: ["content-type"] },
  {
    name: "status.sh (Status: 418)",
    path: "/cgi-bin/status.sh",
    args: [],
    headers: ["content-type", "x-custom"],
  },
  {
    name: "echo.py POST with PATH_INFO and query",
    path: "/cgi-bin/echo.py/p/i?q=1",
    args: ["--data-binary", "posted body"],
    headers: ["content-type", "x-cgi"],
  },
  {
    name: "echo.py GET",
    path: "/cgi-bin/echo.py?a=b&c=%20d",
    args: [],
    headers: ["content-type", "x-cgi"],
  },
  { name: "redirect.sh (Location)", path: "/cgi-bin/redirect.sh", args: [], headers: ["location"] },
  { name: "a missing script", path: "/cgi-bin/nope.sh", args: [], headers: [] },
  { name: "the CGI directory itself", path: "/cgi-bin/", args: [], headers: [] },
];

for (const c of CASES) {
  peerTest(`serveCgi() runs lighttpd's ${c.name} like lighttpd`, 8081, async () => {
    await withOurs(async (ours) => {
      const a = await curl(LIGHTTPD + c.path, c.args);
      const b = await curl(ours + c.path, c.args);
      assertEquals(b.status, a.status, "status");
      for (const name of c.headers) assertEquals(b.headers.get(name), a.headers.get(name), name);
      if (a.status < 300) assertEquals(b.body, a.body);
    });
  });
}

peerTest("serveCgi() gives lighttpd's env.sh the same meta-variables", 8081, async () => {
  await withOurs(async (ours) => {
    const args = [
      "--data-binary",
      "post",
      "-H",
      "Content-Type: text/x-test",
      "-H",
      "X-Dash: 2",
      "-H",
      "Cookie: a=b",
      "-H",
      "Authorization: Basic Zm9vOmJhcg==",
      "-A",
      "inetkit-interop",
    ];
    const path = "/cgi-bin/env.sh/x/y%20z?a=1&b=%20";
    const a = await curl(LIGHTTPD + path, args);
    const b = await curl(ours + path, args);
    assertEquals([a.status, b.status], [200, 200]);
    // Differences by design: the server's name and port, and lighttpd's
    // extra HTTP_CONTENT_LENGTH (RFC 3875 §4.1.18 has CONTENT_LENGTH for it).
    const skip = /^(SERVER_SOFTWARE|SERVER_PORT|HTTP_HOST|HTTP_CONTENT_LENGTH)=/;
    const lines = (r: CurlResult) => r.body.split("\n").filter((l) => l !== "" && !skip.test(l));
    assertEquals(lines(b), lines(a));
    assert(lines(a).length >= 15, "lighttpd's env.sh printed too little");
  });
});

peerTest("serveCgi() and lighttpd both keep Proxy: out of HTTP_PROXY (httpoxy)", 8081, async () => {
  await withOurs(async (ours) => {
    for (const base of [LIGHTTPD, ours]) {
      const r = await curl(base + "/cgi-bin/env.sh", ["-H", "Proxy: http://evil.test:1"]);
      assertEquals(r.status, 200);
      assert(!r.body.includes("HTTP_PROXY"), base);
    }
  });
});

peerTest("serveCgi() never sends a script's source as text, like lighttpd", 8081, async () => {
  await withOurs(async (ours) => {
    for (const base of [LIGHTTPD, ours]) {
      const r = await curl(base + "/cgi-bin/hello.sh");
      assert(!r.body.includes("printf"), base);
    }
    // Through the static side of our server the CGI directory does not exist.
    const r = await curl(ours + "/cgi-bin%2fhello.sh");
    assert(!r.body.includes("printf"));
  });
});

peerTest(
  "serveCgi() serves redirect.sh's local redirect internally when asked (RFC 3875 §6.2.2)",
  8081,
  async () => {
    await withOurs(async (ours) => {
      // lighttpd sends a 302 the client follows; we answer with the target at once.
      const redirect = await curl(LIGHTTPD + "/cgi-bin/redirect.sh");
      assertEquals(redirect.status, 302);
      const lighttpd = await curl(LIGHTTPD + redirect.headers.get("location"));
      const inetkit = await curl(ours + "/cgi-bin/redirect.sh");
      assertEquals(inetkit.status, 200);
      assertEquals(inetkit.body, lighttpd.body);
      assertEquals(inetkit.body, await Deno.readTextFile(`${ROOT}/static.txt`));
    }, { localRedirect: () => new Response(null) });
  },
);
