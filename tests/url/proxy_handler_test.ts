import { ProxyHandler } from "../../url/proxy_handler.ts";
import { UrlRequest } from "../../url/url_request.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("ProxyHandler.fromEnv() reads lower case first, then upper case", () => {
  assertEquals(
    ProxyHandler.fromEnv({
      env: {
        http_proxy: "http://lower:1",
        HTTP_PROXY: "http://upper:1",
        HTTPS_PROXY: "up:2",
        NO_PROXY: "a,b",
      },
    }),
    { http: "http://lower:1", https: "up:2", noProxy: "a,b" },
  );
  assertEquals(ProxyHandler.fromEnv({ env: { all_proxy: "p:3", http_proxy: "" } }), { all: "p:3" });
  assertEquals(ProxyHandler.fromEnv({ env: {} }), {});
});

Deno.test("ProxyHandler.fromEnv() ignores HTTP_PROXY in a CGI process (httpoxy)", () => {
  const env = { HTTP_PROXY: "http://attacker.test:80", REQUEST_METHOD: "GET" };
  assertEquals(ProxyHandler.fromEnv({ env }), {});
  assertEquals(ProxyHandler.fromEnv({ env: { ...env, http_proxy: "http://ok:1" } }), {
    http: "http://ok:1",
  });
});

Deno.test("ProxyHandler.fromEnv() without --allow-env reads nothing and does not prompt", () => {
  // The test runs with -A, so this only checks that it reads the real environment.
  const settings = ProxyHandler.fromEnv();
  assertEquals(typeof settings, "object");
});

Deno.test("ProxyHandler picks the proxy by scheme, with all as fallback for network schemes only", () => {
  const handler = new ProxyHandler({ http: "h:1", all: "http://a:2" });
  assertEquals(handler.proxyFor("http://x/")?.href, "http://h:1/");
  assertEquals(handler.proxyFor("https://x/")?.href, "http://a:2/");
  assertEquals(handler.proxyFor("ftp://x/")?.href, "http://a:2/");
  assertEquals(handler.proxyFor("file:///etc/hosts"), null);
  assertEquals(handler.proxyFor("data:,x"), null);
  assertEquals(new ProxyHandler({}).proxyFor("http://x/"), null);
});

Deno.test("ProxyHandler no_proxy: domains, subdomains, ports, IPs, CIDR and *", () => {
  const handler = new ProxyHandler({
    all: "http://p:1",
    noProxy: "example.test, .dot.test, *.star.test, port.test:8080, 10.0.0.0/8, 192.168.1.5, [::1]",
  });
  const direct = (url: string) => handler.proxyFor(url) === null;
  assertEquals(direct("http://example.test/"), true);
  assertEquals(direct("http://www.example.test/"), true);
  assertEquals(direct("http://badexample.test/"), false);
  assertEquals(direct("http://a.dot.test/"), true);
  assertEquals(direct("http://dot.test/"), true);
  assertEquals(direct("http://b.star.test/"), true);
  assertEquals(direct("http://port.test:8080/"), true);
  assertEquals(direct("http://port.test/"), false);
  assertEquals(direct("http://10.20.30.40/"), true);
  assertEquals(direct("http://11.0.0.1/"), false);
  assertEquals(direct("http://192.168.1.5/"), true);
  assertEquals(direct("http://192.168.1.50/"), false);
  assertEquals(direct("http://[::1]:9/"), true);
  assertEquals(direct("http://EXAMPLE.TEST/"), true);
  assertEquals(new ProxyHandler({ all: "p:1", noProxy: "*" }).proxyFor("http://x/"), null);
  assertEquals(
    new ProxyHandler({ all: "p:1", noProxy: ["x.test"] }).proxyFor("http://x.test/"),
    null,
  );
});

Deno.test("ProxyHandler.preprocess() sets the proxy unless one is set", () => {
  const handler = new ProxyHandler({ http: "http://p:1" });
  const request = new UrlRequest("http://x/");
  request.setProxy("http://mine:2");
  handler.preprocess(request);
  assertEquals(request.proxy?.host, "mine:2");
  assertEquals(handler.order, 100);
});

Deno.test("ProxyHandler rejects proxies it cannot use", () => {
  assertThrows(() => new ProxyHandler({ http: "socks5://p:1080" }), TypeError);
  assertThrows(() => new ProxyHandler({ https: "http://[bad" }), TypeError);
});
