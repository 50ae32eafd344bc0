import { urlsplit, urlunsplit } from "../../url/urlsplit.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("urlsplit() splits every part without normalizing", () => {
  const parts = urlsplit("HTTPS://Us%20er:p@ss@Example.TEST:8443/a%2Fb/c;x=1;y?q=1&r#frag?");
  assertEquals(parts, {
    scheme: "https",
    netloc: "Us%20er:p@ss@Example.TEST:8443",
    path: "/a%2Fb/c",
    params: "x=1;y",
    query: "q=1&r",
    fragment: "frag?",
    username: "Us%20er",
    password: "p@ss",
    hostname: "example.test",
    port: 8443,
  });
});

Deno.test("urlsplit() splits ;params only from the last path segment", () => {
  assertEquals(urlsplit("/a;b/c").params, "");
  assertEquals(urlsplit("/a;b/c").path, "/a;b/c");
  assertEquals(urlsplit("/a/c;type=i").params, "type=i");
});

Deno.test("urlsplit() handles relative references, IPv6 and empty authorities", () => {
  assertEquals(urlsplit("a/b?c").path, "a/b");
  assertEquals(urlsplit("a/b?c").scheme, "");
  assertEquals(urlsplit("//host/x").netloc, "host");
  assertEquals(urlsplit("//host/x").hostname, "host");
  const v6 = urlsplit("http://[::1]:8080/");
  assertEquals([v6.hostname, v6.port], ["::1", 8080]);
  assertEquals(urlsplit("file:///etc/hosts").netloc, "");
  assertEquals(urlsplit("file:///etc/hosts").hostname, null);
  assertEquals(urlsplit("mailto:a@b.test").path, "a@b.test");
  assertEquals(urlsplit("http://h:/").port, null);
  // A scheme must start with a letter: "1a:" is a path.
  assertEquals(urlsplit("1a:b").scheme, "");
});

Deno.test("urlsplit() strips edge controls and removes tabs and newlines (bpo-43882)", () => {
  const parts = urlsplit(" \x00java\nscript:alert(1)\t");
  assertEquals(parts.scheme, "javascript");
  assertEquals(urlsplit("http://h\r\n/x\t/y").path, "/x/y");
  assertEquals(urlsplit("http://h\r\n/x").netloc, "h");
});

Deno.test("urlsplit() rejects invalid ports and unclosed brackets", () => {
  assertThrows(() => urlsplit("http://h:99999/"), TypeError);
  assertThrows(() => urlsplit("http://h:8a/"), TypeError);
  assertThrows(() => urlsplit("http://[::1/"), TypeError);
  assertThrows(() => urlsplit("http://[::1]x/"), TypeError);
});

Deno.test("urlunsplit() rebuilds what urlsplit() split", () => {
  for (
    const url of [
      "http://u:p@h:1/p;q?x#f",
      "https://h/",
      "/rel/path;p?q",
      "mailto:a@b.test",
      "file:///etc/hosts",
      "//h/x",
      "a/b",
    ]
  ) {
    assertEquals(urlunsplit(urlsplit(url)), url, url);
  }
  assertEquals(urlunsplit({ scheme: "http", netloc: "h", path: "x" }), "http://h/x");
});
