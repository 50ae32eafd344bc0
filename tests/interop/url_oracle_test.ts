/**
 * Interop with Python's urllib.request as an oracle: the same scripted
 * scenario (a POST answered by a 303 with a cookie, a 401 Basic challenge,
 * a 302 with another cookie) is run by Python and by inetkit against a raw
 * `Deno.listen` server that records every request as it arrives on the
 * wire. Both must send the same sequence of requests with the same
 * method, target, Host, Cookie, Authorization, body headers and body.
 */
import { BufferedReader } from "../../net/buffered_reader.ts";
import { readRequestHead } from "../../http/request_head.ts";
import { buildOpener } from "../../url/build_opener.ts";
import { HttpBasicAuthHandler } from "../../url/http_basic_auth_handler.ts";
import { HttpCookieProcessor } from "../../url/http_cookie_processor.ts";
import { HttpUrlHandler } from "../../url/http_handler.ts";
import { DefaultRealmPasswordManager } from "../../url/password_manager.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { assertEquals } from "../_helpers/assert.ts";
import { binaryTest } from "./url_peers.ts";

const PYTHON = "/usr/bin/python3";
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const RECORDED = ["host", "cookie", "authorization", "content-type", "content-length"];

interface Wire {
  line: string;
  headers: Record<string, string>;
  body: string;
}

/** The scripted server: answers by path and headers, records each request. */
function oracleServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const wire: Wire[] = [];
  const tasks: Promise<void>[] = [];
  const conns = new Set<Deno.Conn>();
  const reply = (status: string, headers: [string, string][], body: string) => {
    const bytes = encoder.encode(body);
    let head = `HTTP/1.1 ${status}\r\n`;
    for (const [k, v] of [...headers, ["Content-Length", String(bytes.length)]]) {
      head += `${k}: ${v}\r\n`;
    }
    const out = new Uint8Array([...encoder.encode(head + "\r\n"), ...bytes]);
    return out;
  };
  const handle = async (conn: Deno.Conn) => {
    const reader = new BufferedReader(conn);
    for (;;) {
      const head = await readRequestHead(reader);
      if (head === null) return;
      const headers: Record<string, string> = {};
      for (const f of head.fields) {
        const name = f.name.toLowerCase();
        if (RECORDED.includes(name)) headers[name] = f.value;
      }
      const length = Number(headers["content-length"] ?? "0");
      const body = length > 0 ? decoder.decode(await reader.readExactly(length)) : "";
      wire.push({ line: `${head.method} ${head.target}`, headers, body });
      let out: Uint8Array;
      if (head.target === "/start") {
        out = reply("303 See Other", [["Location", "/login"], [
          "Set-Cookie",
          "session=abc; Path=/",
        ]], "");
      } else if (head.target === "/login" && headers.authorization === undefined) {
        out = reply("401 Unauthorized", [["WWW-Authenticate", 'Basic realm="oracle"']], "denied");
      } else if (head.target === "/login") {
        out = reply("302 Found", [["Location", "/home"], ["Set-Cookie", "seen=1; Path=/"]], "");
      } else {
        out = reply("200 OK", [["Content-Type", "text/plain"]], `welcome ${headers.cookie ?? ""}`);
      }
      let at = 0;
      while (at < out.length) at += await conn.write(out.subarray(at));
    }
  };
  const loop = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      tasks.push(
        handle(conn).catch(() => {}).finally(() => {
          conns.delete(conn);
          try {
            conn.close();
          } catch {
            // closed by the peer
          }
        }),
      );
    }
  })();
  return {
    base: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    wire,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await loop.catch(() => {});
      await Promise.all(tasks);
    },
  };
}

const SCRIPT = `
import sys, urllib.request, http.cookiejar
base = sys.argv[1]
pm = urllib.request.HTTPPasswordMgrWithDefaultRealm()
pm.add_password(None, base + "/", "mulder", "trustno1")
opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}),
    urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
    urllib.request.HTTPBasicAuthHandler(pm),
)
r = opener.open(base + "/start", data=b"a=1")
print(r.status, r.geturl(), r.read().decode())
`;

binaryTest(
  "url oracle: redirect + cookie + 401 challenge give Python's requests on the wire",
  PYTHON,
  async () => {
    let python: Wire[];
    let pythonOut: string;
    {
      await using server = oracleServer();
      const out = await new Deno.Command(PYTHON, {
        args: ["-c", SCRIPT, server.base],
        stdout: "piped",
        stderr: "piped",
        env: { no_proxy: "*" },
      }).output();
      assertEquals(out.success, true, decoder.decode(out.stderr));
      pythonOut = decoder.decode(out.stdout).trim().replace(server.base, "BASE");
      python = server.wire.map((w) => ({
        ...w,
        headers: { ...w.headers, host: w.headers.host!.replace(server.base.slice(7), "HOST") },
      }));
    }
    let ours: Wire[];
    let oursOut: string;
    {
      await using server = oracleServer();
      const pm = new DefaultRealmPasswordManager();
      pm.add(null, server.base + "/", "mulder", "trustno1");
      await using opener = buildOpener(
        new HttpUrlHandler(),
        new ProxyHandler({}),
        new HttpCookieProcessor(),
        new HttpBasicAuthHandler(pm),
      );
      const response = await opener.open(server.base + "/start", { data: "a=1" });
      oursOut = `${response.status} ${response.url} ${await response.text()}`.replace(
        server.base,
        "BASE",
      );
      ours = server.wire.map((w) => ({
        ...w,
        headers: { ...w.headers, host: w.headers.host!.replace(server.base.slice(7), "HOST") },
      }));
    }
    assertEquals(ours, python);
    assertEquals(oursOut, pythonOut);
    // And the sequence is the one the scenario intends.
    assertEquals(ours.map((w) => w.line), ["POST /start", "GET /login", "GET /login", "GET /home"]);
    assertEquals(ours[3]!.headers.cookie, "session=abc; seen=1");
    assertEquals(ours[3]!.headers.authorization, undefined);
    assertEquals(ours[2]!.headers.authorization, "Basic bXVsZGVyOnRydXN0bm8x");
  },
);
