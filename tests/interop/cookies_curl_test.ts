/**
 * Interop: Netscape cookie files written by curl (`-c`) are read by
 * inetkit's `CookieJar`, and files written by the jar are read by curl
 * (`-b`). A small inetkit `serve` sets the cookies and echoes back the
 * `Cookie` header each client sends.
 */
import { serve } from "../../http/serve.ts";
import { setCookie } from "../../http/cookie.ts";
import { CookieJar } from "../../http/cookie_jar.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

async function hasCurl(): Promise<boolean> {
  try {
    return (await new Deno.Command("curl", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

const CURL = await hasCurl();

async function curl(args: string[]): Promise<string> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "--noproxy", "*", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/** Sets a varied batch of cookies on /x/set and echoes the Cookie header everywhere. */
async function withCookieServer(fn: (port: number) => Promise<void>): Promise<void> {
  const server = serve({ port: 0 }, (request) => {
    const url = new URL(request.url);
    const headers = new Headers({ "content-type": "text/plain" });
    if (url.pathname === "/x/set") {
      const future = new Date(Date.now() + 86_400_000);
      setCookie(headers, { name: "session", value: "abc123" });
      setCookie(headers, { name: "wide", value: "1", path: "/" });
      setCookie(headers, { name: "persist", value: "p", path: "/", expires: future });
      setCookie(headers, { name: "aged", value: "a", path: "/", maxAge: 3600 });
      setCookie(headers, { name: "hidden", value: "h", path: "/", httpOnly: true });
      setCookie(headers, { name: "safe", value: "s", path: "/", secure: true });
      setCookie(headers, { name: "quoted", value: '"q.v"', path: "/" });
      setCookie(headers, { name: "deep", value: "d", path: "/x/y" });
      setCookie(headers, { name: "gone", value: "g", path: "/", maxAge: 0 });
    }
    return new Response(request.headers.get("cookie") ?? "", { headers });
  });
  try {
    await fn(server.addr.port);
  } finally {
    await server.shutdown();
  }
}

function pairs(header: string): string[] {
  return header.split("; ").filter((p) => p !== "").sort();
}

Deno.test({
  name: "CookieJar reads the cookie file curl -c writes and sends what curl sends",
  ignore: !CURL,
  async fn() {
    await withCookieServer(async (port) => {
      const dir = await Deno.makeTempDir();
      try {
        const file = `${dir}/curl.txt`;
        for (const host of ["127.0.0.1", "localhost"]) {
          const base = `http://${host}:${port}`;
          await curl(["-c", file, `${base}/x/set`]);
          const jar = new CookieJar();
          const loaded = jar.loadNetscape(await Deno.readTextFile(file));
          assertEquals(loaded, 8, host);
          for (const path of ["/", "/x/", "/x/y/z"]) {
            const sentByCurl = await curl(["-b", file, `${base}${path}`]);
            assertEquals(
              pairs(jar.getCookieHeader(`${base}${path}`)),
              pairs(sentByCurl),
              `${host}${path}`,
            );
          }
          const hidden = [...jar].find((c) => c.name === "hidden")!;
          assertEquals(hidden.httpOnly, true);
          assertEquals([...jar].find((c) => c.name === "safe")!.secure, true);
          assertEquals([...jar].find((c) => c.name === "session")!.expires, undefined);
          assert([...jar].find((c) => c.name === "persist")!.expires! > Date.now());
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

Deno.test({
  name: "curl -b reads the cookie file CookieJar writes and sends what the jar sends",
  ignore: !CURL,
  async fn() {
    await withCookieServer(async (port) => {
      const dir = await Deno.makeTempDir();
      try {
        for (const host of ["127.0.0.1", "localhost"]) {
          const base = `http://${host}:${port}`;
          // The jar learns the cookies from the server's real Set-Cookie fields.
          const setter = await new Deno.Command("curl", {
            args: ["-s", "--noproxy", "*", "-D", "-", "-o", "/dev/null", `${base}/x/set`],
            stdout: "piped",
          }).output();
          const headers = new Headers();
          for (const line of new TextDecoder().decode(setter.stdout).split("\r\n")) {
            const m = /^set-cookie:\s*(.*)$/i.exec(line);
            if (m) headers.append("set-cookie", m[1]!);
          }
          const jar = new CookieJar();
          assertEquals(jar.setCookies(`${base}/x/set`, headers), 8); // "gone" (Max-Age=0) is not stored
          jar.setCookie("domainwide=1; Domain=example.test; Path=/", "http://www.example.test/");
          const file = `${dir}/ours.txt`;
          await Deno.writeTextFile(file, jar.toNetscape());
          for (const path of ["/", "/x/", "/x/y/z"]) {
            const sentByCurl = await curl(["-b", file, `${base}${path}`]);
            assertEquals(
              pairs(sentByCurl),
              pairs(jar.getCookieHeader(`${base}${path}`)),
              `${host}${path}`,
            );
          }
          // curl keeps our file's cookies when it writes the jar back.
          await curl(["-b", file, "-c", `${dir}/back.txt`, `${base}/`]);
          const back = CookieJar.fromNetscape(await Deno.readTextFile(`${dir}/back.txt`));
          assertEquals(
            pairs(back.getCookieHeader(`${base}/x/y/z`)),
            pairs(jar.getCookieHeader(`${base}/x/y/z`)),
          );
          assertEquals(back.getCookieHeader("http://www.example.test/"), "domainwide=1");
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});
