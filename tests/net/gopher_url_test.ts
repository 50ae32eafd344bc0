import { parseGopherMenu } from "../../net/gopher_menu.ts";
import {
  formatGopherUrl,
  GOPHER_PORT,
  type GopherUrl,
  type GopherUrlParts,
  parseGopherUrl,
} from "../../net/gopher_url.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import { prng } from "../_helpers/sources.ts";

Deno.test("parseGopherUrl() reads RFC 4266 URLs", () => {
  const table: Array<[string, GopherUrl]> = [
    ["gopher://127.0.0.1:7070/1/docs", {
      host: "127.0.0.1",
      port: 7070,
      type: "1",
      selector: "/docs",
    }],
    ["gopher://127.0.0.1:7070/", { host: "127.0.0.1", port: 7070, type: "1", selector: "" }],
    ["gopher://127.0.0.1:7070", { host: "127.0.0.1", port: 7070, type: "1", selector: "" }],
    ["gopher://example.org", { host: "example.org", port: 70, type: "1", selector: "" }],
    ["GOPHER://Example.ORG:/", { host: "example.org", port: 70, type: "1", selector: "" }],
    ["gopher://h/0/about.txt", { host: "h", port: 70, type: "0", selector: "/about.txt" }],
    ["gopher://h/0", { host: "h", port: 70, type: "0", selector: "" }],
    ["gopher://h/1", { host: "h", port: 70, type: "1", selector: "" }],
    // RFC 1738's example: a selector without a leading slash.
    ["gopher://h/0about", { host: "h", port: 70, type: "0", selector: "about" }],
    ["gopher://h/0/a%20b%2Fc", { host: "h", port: 70, type: "0", selector: "/a b/c" }],
    ["gopher://h/0/caf%C3%A9", { host: "h", port: 70, type: "0", selector: "/café" }],
    ["gopher://h/0/café", { host: "h", port: 70, type: "0", selector: "/café" }],
    ["gopher://h/7/search%09tea", {
      host: "h",
      port: 70,
      type: "7",
      selector: "/search",
      search: "tea",
    }],
    ["gopher://h/7/search%09", { host: "h", port: 70, type: "7", selector: "/search", search: "" }],
    ["gopher://h/7/s%09a%20b%09%2B", {
      host: "h",
      port: 70,
      type: "7",
      selector: "/s",
      search: "a b",
    }],
    ["gopher://h/7%09x", { host: "h", port: 70, type: "7", selector: "", search: "x" }],
    ["gopher://h/1/a?b=c", { host: "h", port: 70, type: "1", selector: "/a?b=c" }],
    ["gopher://h/1/a#frag", { host: "h", port: 70, type: "1", selector: "/a" }],
    ["gopher://h/1/a%23frag", { host: "h", port: 70, type: "1", selector: "/a#frag" }],
    ["gopher://h/%31/x", { host: "h", port: 70, type: "1", selector: "/x" }],
    ["gopher://h/hURL:http://x.example/", {
      host: "h",
      port: 70,
      type: "h",
      selector: "URL:http://x.example/",
    }],
    ["gopher://[::1]:7070/1/", { host: "::1", port: 7070, type: "1", selector: "/" }],
    ["gopher://[2001:DB8::1]/0/x", { host: "2001:db8::1", port: 70, type: "0", selector: "/x" }],
    ["gopher://h:65535/1", { host: "h", port: 65535, type: "1", selector: "" }],
  ];
  for (const [url, expected] of table) assertEquals(parseGopherUrl(url), expected, url);
  assertEquals(parseGopherUrl(new URL("gopher://h/0/x")), {
    host: "h",
    port: 70,
    type: "0",
    selector: "/x",
  });
  assertEquals(GOPHER_PORT, 70);
});

Deno.test("parseGopherUrl() refuses malformed and dangerous URLs", () => {
  const table: Array<[string, typeof TypeError | typeof RangeError, string]> = [
    ["http://h/1/", TypeError, "scheme is not gopher"],
    ["gopher:h/1", TypeError, "scheme is not gopher"],
    ["gopher:///1/x", TypeError, "host is empty"],
    ["gopher://:70/1/x", TypeError, "host is empty"],
    ["gopher://user@h/1/", TypeError, "no user name"],
    ["gopher://evil.example@good.example/1/", TypeError, "no user name"],
    ["gopher://h:port/1/", TypeError, 'port "port" is not a number'],
    ["gopher://h:+70/1/", TypeError, "not a number"],
    ["gopher://h:0/1/", RangeError, "port 0 is out of range"],
    ["gopher://h:65536/1/", RangeError, "out of range"],
    ["gopher://h:99999999999999999999/", RangeError, "out of range"],
    ["gopher://h/0/a b", TypeError, "space or a control character"],
    ["gopher://h/0/a\tb", TypeError, "space or a control character"],
    ["gopher://h/0/a\r\nb", TypeError, "space or a control character"],
    ["gopher://h/0/a%0D%0Ab", TypeError, "selector contains a CR"],
    ["gopher://h/0/a%0Ab", TypeError, "selector contains an LF"],
    ["gopher://h/0/a%00b", TypeError, "selector contains a NUL"],
    ["gopher://h/7/s%09a%0Db", TypeError, "search string contains a CR"],
    ["gopher://h/0/a%zz", TypeError, 'bad percent-escape "%zz"'],
    ["gopher://h/0/a%4", TypeError, 'bad percent-escape "%4"'],
    ["gopher://h/0/%FF", TypeError, "not valid UTF-8"],
    ["gopher://h/%09x", TypeError, "needs an item type"],
    ["gopher://h/%C3%A9x", TypeError, "not printable ASCII"],
    ["gopher://h%2Fx/1/", TypeError, "not a valid host name"],
    ["gopher://h<x>/1/", TypeError, "not a valid host name"],
    ["gopher://[::1/1/", TypeError, "no ']'"],
    ["gopher://[::1]x/1/", TypeError, "after the IPv6 address"],
    ["gopher://[zz::1]/1/", TypeError, "not a valid IPv6 address"],
  ];
  for (const [url, errorClass, message] of table) {
    assertThrows(() => parseGopherUrl(url), errorClass, message, JSON.stringify(url));
  }
});

Deno.test("formatGopherUrl() formats items as URLs", () => {
  const table: Array<[GopherUrlParts, string]> = [
    [
      { host: "127.0.0.1", port: 7070, type: "1", selector: "/docs" },
      "gopher://127.0.0.1:7070/1/docs",
    ],
    [{ host: "h", port: 70, type: "1", selector: "" }, "gopher://h/1"],
    [{ host: "h" }, "gopher://h/1"],
    [
      { host: "H.Example", type: "0", selector: "/a b/c?d#e%f" },
      "gopher://h.example/0/a%20b/c%3Fd%23e%25f",
    ],
    [{ host: "h", type: "0", selector: "/café" }, "gopher://h/0/caf%C3%A9"],
    [
      { host: "h", type: "7", selector: "/search", search: "tea & cups" },
      "gopher://h/7/search%09tea%20&%20cups",
    ],
    [{ host: "h", type: "7", selector: "/search", search: "" }, "gopher://h/7/search%09"],
    [{ host: "h", type: "<", selector: "/s" }, "gopher://h/%3C/s"],
    [{ host: "::1", port: 7070, type: "1", selector: "/" }, "gopher://[::1]:7070/1/"],
    [{ host: "[::1]", type: "1", selector: "/" }, "gopher://[::1]/1/"],
    [
      { host: "x", type: "h", selector: "URL:https://example.org/a?b#c" },
      "https://example.org/a?b#c",
    ],
    [{ host: "x", type: "h", selector: "/local.html" }, "gopher://x/h/local.html"],
    [
      { host: "bbs.example", port: 23, type: "8", selector: "guest" },
      "telnet://guest@bbs.example/",
    ],
    [{ host: "bbs.example", port: 2323, type: "8", selector: "" }, "telnet://bbs.example:2323/"],
    [
      { host: "bbs.example", port: 23, type: "8", selector: "a@b:c/d" },
      "telnet://a%40b%3Ac%2Fd@bbs.example/",
    ],
    [{ host: "ibm.example", port: 23, type: "T", selector: "" }, "tn3270://ibm.example/"],
  ];
  for (const [item, url] of table) assertEquals(formatGopherUrl(item), url, url);
});

Deno.test("formatGopherUrl() refuses items that link nowhere or would inject", () => {
  const table: Array<[GopherUrlParts, typeof TypeError | typeof RangeError, string]> = [
    [{ host: "h", type: "i", selector: "" }, TypeError, "type i items link nowhere"],
    [{ host: "h", type: "3", selector: "" }, TypeError, "type 3 items link nowhere"],
    [{ host: "h", type: "10" }, TypeError, "not one character"],
    [{ host: "h", type: "" }, TypeError, "not one character"],
    [{ host: "h", port: 0 }, RangeError, "port 0"],
    [{ host: "h", port: 70.5 }, RangeError, "port 70.5"],
    [{ host: "h b" }, TypeError, "not a valid host name"],
    [{ host: "h/x" }, TypeError, "not a valid host name"],
    [{ host: "evil@h" }, TypeError, "not a valid host name"],
    [{ host: "" }, TypeError, "not a valid host name"],
    [{ host: "[::g]" }, TypeError, "IPv6"],
    [{ host: "h", selector: "/a\r\nb" }, TypeError, "selector contains"],
    [{ host: "h", selector: "/a\0b" }, TypeError, "selector contains"],
    [{ host: "h", selector: "/a\tb" }, TypeError, "selector contains"],
    [{ host: "h", type: "7", search: "a\nb" }, TypeError, "search string contains"],
    [{ host: "h", type: "7", search: "a\tb" }, TypeError, "search string contains"],
    [{ host: "h", type: "h", selector: "URL:" }, TypeError, "empty"],
    [
      { host: "h", type: "h", selector: "URL:http://x/ y" },
      TypeError,
      "spaces or control characters",
    ],
    [{ host: "h", type: "h", selector: "URL:http://x/\r\nX" }, TypeError, "control characters"],
  ];
  for (const [item, errorClass, message] of table) {
    assertThrows(() => formatGopherUrl(item), errorClass, message, JSON.stringify(item));
  }
});

Deno.test("formatGopherUrl() and parseGopherUrl() round-trip random selectors", () => {
  const random = prng(4266);
  const alphabet = "az09 /.-_~!$&'()*+,;=:@?#%\u00e9\u4e2d\u{1F600}[]{}<>\"\\^`|";
  const pick = (n: number): string => {
    const chars = [...alphabet];
    return Array.from({ length: n }, () => chars[Math.floor(random() * chars.length)]).join("");
  };
  for (let i = 0; i < 2000; i++) {
    const parts: GopherUrl = {
      host: random() < 0.2 ? "::1" : "host.example",
      port: random() < 0.5 ? 70 : 1 + Math.floor(random() * 65535),
      type: "0179gIhs+<;"[Math.floor(random() * 11)]!,
      selector: pick(Math.floor(random() * 12)),
    };
    if (parts.type === "h" && parts.selector.startsWith("URL:")) continue;
    if (random() < 0.3) parts.search = pick(Math.floor(random() * 6));
    const url = formatGopherUrl(parts);
    // The URL itself never holds a space or a control character.
    // deno-lint-ignore no-control-regex
    assertEquals(/[\x00-\x20\x7f]/.test(url), false, url);
    assertEquals(parseGopherUrl(url), parts, url);
  }
});

Deno.test("formatGopherUrl() lists the gophernicus root menu as URLs", async () => {
  const menu = parseGopherMenu(
    await Deno.readFile(new URL("./fixtures/gophernicus_root.bin", import.meta.url)),
  );
  const urls = menu.items.filter((i) => i.type !== "i").map(formatGopherUrl);
  assertEquals(urls, [
    "gopher://127.0.0.1:7070/0/about.txt",
    "gopher://127.0.0.1:7070/1/docs",
    "gopher://127.0.0.1:7070/0/docs/hello.txt",
  ]);
  assertEquals(parseGopherUrl(urls[1]!), {
    host: "127.0.0.1",
    port: 7070,
    type: "1",
    selector: "/docs",
  });
});
