import { serve } from "../../http/serve.ts";
import { buildOpener } from "../../url/build_opener.ts";
import { HttpUrlHandler } from "../../url/http_handler.ts";
import { HttpRedirectHandler } from "../../url/http_redirect_handler.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { RobotsFetcher } from "../../url/robots_fetcher.ts";
import { assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";

type Route = (request: Request) => Response | Promise<Response>;

function site(route: Route) {
  let hits = 0;
  const server = serve({ port: 0 }, (request) => {
    hits++;
    return route(request);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    hits: () => hits,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function fetcher(options: ConstructorParameters<typeof RobotsFetcher>[0] = {}) {
  return new RobotsFetcher({
    opener: buildOpener(
      new HttpUrlHandler(),
      new ProxyHandler({}),
      new HttpRedirectHandler({ maxRedirections: 5 }),
    ),
    ...options,
  });
}

Deno.test("RobotsFetcher parses a 2xx file and caches it for its max-age", async () => {
  let now = 1_000_000;
  await using s = site(() =>
    new Response("User-agent: *\nDisallow: /private\n", {
      headers: { "cache-control": "public, max-age=60" },
    })
  );
  const f = fetcher({ now: () => now });
  try {
    assertEquals(await f.isAllowed("bot", `${s.url}/private/x`), false);
    assertEquals(await f.isAllowed("bot", `${s.url}/public`), true);
    assertEquals(s.hits(), 1);
    now += 59_000;
    await f.get(s.url);
    assertEquals(s.hits(), 1);
    now += 2_000;
    await f.get(s.url);
    assertEquals(s.hits(), 2);
  } finally {
    await f.close();
  }
});

Deno.test("RobotsFetcher caps freshness at maxAge and shares one fetch among concurrent lookups", async () => {
  let now = 0;
  await using s = site(async () => {
    await new Promise((r) => setTimeout(r, 20));
    return new Response("User-agent: *\nDisallow: /\n", {
      headers: { "cache-control": "max-age=999999" },
    });
  });
  const f = fetcher({ now: () => now, maxAge: 1000 });
  try {
    const results = await Promise.all([1, 2, 3].map(() => f.isAllowed("bot", `${s.url}/x`)));
    assertEquals(results, [false, false, false]);
    assertEquals(s.hits(), 1);
    now = 1001;
    await f.get(s.url);
    assertEquals(s.hits(), 2);
  } finally {
    await f.close();
  }
});

Deno.test("RobotsFetcher: 4xx allows all, 429 and 5xx disallow all", async () => {
  const cases: [number, boolean][] = [
    [404, true],
    [401, true],
    [403, true],
    [410, true],
    [429, false],
    [500, false],
    [503, false],
  ];
  for (const [status, allowed] of cases) {
    await using s = site(() => new Response("User-agent: *\nDisallow: /\n", { status }));
    const f = fetcher();
    try {
      assertEquals(await f.isAllowed("bot", `${s.url}/x`), allowed, String(status));
    } finally {
      await f.close();
    }
  }
});

Deno.test("RobotsFetcher: unreachable and timed-out servers disallow all, remembered for errorMaxAge", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  let now = 0;
  const f = fetcher({ now: () => now, errorMaxAge: 100, timeout: 100 });
  try {
    assertEquals(await f.isAllowed("bot", `http://127.0.0.1:${port}/x`), false);
    await using slow = site(() => new Promise((r) => setTimeout(() => r(new Response("")), 300)));
    assertEquals(await f.isAllowed("bot", `${slow.url}/x`), false);
    assertEquals(slow.hits(), 1);
    now = 50;
    await f.get(slow.url);
    assertEquals(slow.hits(), 1);
  } finally {
    await f.close();
  }
});

Deno.test("RobotsFetcher follows up to 5 redirects; more counts as unavailable (allow all)", async () => {
  await using s = site((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/robots.txt") return Response.redirect(new URL("/r1", request.url), 301);
    const n = Number(path.slice(2));
    if (n < 4) return Response.redirect(new URL(`/r${n + 1}`, request.url), 302);
    return new Response("User-agent: *\nDisallow: /\n");
  });
  const f = fetcher();
  try {
    assertEquals(await f.isAllowed("bot", `${s.url}/x`), false);
  } finally {
    await f.close();
  }
  await using loop = site((request) =>
    Response.redirect(new URL(`/l${Math.random()}`, request.url), 302)
  );
  const g = fetcher();
  try {
    assertEquals(await g.isAllowed("bot", `${loop.url}/x`), true);
    assertEquals(loop.hits(), 6);
  } finally {
    await g.close();
  }
});

Deno.test("RobotsFetcher reads at most maxBytes of an endless file", async () => {
  let pulled = 0;
  await using s = site(() =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("User-agent: *\nDisallow: /a\n"));
        },
        pull(c) {
          pulled++;
          if (pulled > 1000) c.close();
          else {c.enqueue(
              new TextEncoder().encode(`Disallow: /b${pulled}\n`.padEnd(1000, "#") + "\n"),
            );}
        },
      }),
    )
  );
  const f = fetcher({ maxBytes: 1500 });
  try {
    const robots = await f.get(s.url);
    assertEquals(robots.isAllowed("bot", "/a"), false);
    assertEquals(robots.isAllowed("bot", "/b1"), false);
    assertEquals(robots.isAllowed("bot", "/b2"), false);
    assertEquals(robots.isAllowed("bot", "/b3"), true);
    assertEquals(pulled > 0, true);
  } finally {
    await f.close();
  }
});

Deno.test("RobotsFetcher sends its User-Agent and refuses URLs without an origin", async () => {
  let agent: string | null = null;
  await using s = site((request) => {
    agent = request.headers.get("user-agent");
    return new Response("");
  });
  const f = fetcher({ userAgent: "MyBot/1.0" });
  try {
    await f.get(`${s.url}/deep/page`);
    assertEquals(agent, "MyBot/1.0");
    assertThrows(() => f.get("data:,x"), TypeError);
    f.clear();
    await assertRejects(() => f.get(s.url, { signal: AbortSignal.abort(new Error("stop")) }));
  } finally {
    await f.close();
  }
});
