import { BufferedReader } from "../../net/buffered_reader.ts";
import { writeAll } from "../../net/_io.ts";
import { TcpServer } from "../../net/tcp_server.ts";
import { buildOpener } from "../../url/build_opener.ts";
import { GopherHandler } from "../../url/gopher_handler.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { URLError } from "../../url/url_error.ts";
import { assertEquals, assertRejects, assertStringIncludes } from "../_helpers/assert.ts";

const encoder = new TextEncoder();

/** A loopback gopher server answering each selector from a table. */
function tableServer(table: Record<string, string | Uint8Array | "stall">) {
  const seen: string[] = [];
  let release!: () => void;
  const stalled = new Promise<void>((resolve) => (release = resolve));
  const server = new TcpServer({ port: 0, onError: () => {} }, async (conn) => {
    const line = await new BufferedReader(conn).readLine();
    if (line === null) return;
    seen.push(line);
    const answer = table[line] ?? "3Not here\t\terror.host\t1\r\n.\r\n";
    if (answer === "stall") {
      await writeAll(conn, encoder.encode("par"));
      await stalled;
      return;
    }
    await writeAll(conn, typeof answer === "string" ? encoder.encode(answer) : answer);
  });
  return {
    base: `gopher://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    seen,
    [Symbol.asyncDispose]: async () => {
      release();
      await server.shutdown({ timeout: 500 });
    },
  };
}

Deno.test("GopherHandler renders a menu as readable lines with item URLs", async () => {
  await using server = tableServer({
    "/": "iWelcome to \x1b[31mthe\x1b[0m test bed.\tfake\t(NULL)\t0\r\n" +
      "0About this server\t/about.txt\t127.0.0.1\t7070\r\n" +
      "1Docs\t/docs\t127.0.0.1\t70\r\n" +
      "hHome page\tURL:https://example.org/\t127.0.0.1\t7070\r\n" +
      "8BBS\tguest\tbbs.example.org\t23\r\n" +
      "3Something failed\terror\terror.host\t1\r\n" +
      "not a menu line\r\n" +
      ".\r\n",
  });
  await using opener = buildOpener(new ProxyHandler({}));
  const response = await opener.open(`${server.base}/1/`);
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), "text/plain; charset=utf-8");
  assertEquals(
    await response.text(),
    "Welcome to ?[31mthe?[0m test bed.\n" +
      "[text] About this server <gopher://127.0.0.1:7070/0/about.txt>\n" +
      "[menu] Docs <gopher://127.0.0.1/1/docs>\n" +
      "[HTML] Home page <https://example.org/>\n" +
      "[telnet session] BBS <telnet://guest@bbs.example.org/>\n" +
      "Error: Something failed\n" +
      "(1 line that was not a menu item left out)\n",
  );
  assertEquals(server.seen, ["/"]);
});

Deno.test("GopherHandler returns text items as text/plain and binary items by type", async () => {
  const gif = new Uint8Array([71, 73, 70, 56, 0, 255]);
  await using server = tableServer({
    "/a.txt": "line\r\n..dot\r\n.\r\n",
    "/cat.gif": gif,
    "/photo.jpg": gif,
    "/song.mp3": gif,
    "/tool": gif,
    "/page.html": "<p>hi</p>",
  });
  await using opener = buildOpener(new ProxyHandler({}));
  const text = await opener.open(`${server.base}/0/a.txt`);
  assertEquals(text.headers.get("content-type"), "text/plain; charset=utf-8");
  assertEquals(await text.text(), "line\r\n.dot\r\n");
  const cases: [string, string][] = [
    ["g/cat.gif", "image/gif"],
    ["I/photo.jpg", "image/jpeg"],
    ["s/song.mp3", "audio/mpeg"],
    ["9/tool", "application/octet-stream"],
    ["I/tool", "application/octet-stream"],
  ];
  for (const [path, type] of cases) {
    const response = await opener.open(`${server.base}/${path}`);
    assertEquals(response.headers.get("content-type"), type, path);
    assertEquals(new Uint8Array(await response.arrayBuffer()), gif, path);
  }
  const html = await opener.open(`${server.base}/h/page.html`);
  assertEquals(html.headers.get("content-type"), "text/html; charset=utf-8");
  assertEquals(await html.text(), "<p>hi</p>");
});

Deno.test("GopherHandler shows a non-menu answer (gophernicus' error line) as text", async () => {
  await using server = tableServer({ "/nope": "Error: File or directory not found!\r\n" });
  await using opener = buildOpener(new ProxyHandler({}));
  const response = await opener.open(`${server.base}/1/nope`);
  assertEquals(await response.text(), "Error: File or directory not found!\n");
});

Deno.test("GopherHandler refuses items that cannot be fetched and proxied requests", async () => {
  await using server = tableServer({});
  await using opener = buildOpener(new ProxyHandler({}));
  for (const path of ["8guest", "Tguest", "2/cso", "i/info", "3/error"]) {
    const error = await assertRejects(() => opener.open(`${server.base}/${path}`), URLError);
    assertStringIncludes(error.message, "cannot be fetched");
  }
  await using proxied = buildOpener(new ProxyHandler({ all: "http://proxy.test:3128" }));
  const error = await assertRejects(() => proxied.open(`${server.base}/1/`), URLError);
  assertStringIncludes(error.message, "proxy");
  assertEquals(server.seen, []);
});

Deno.test("GopherHandler honours the request timeout and refuses CR LF in selectors", async () => {
  await using server = tableServer({ "/slow": "stall" });
  await using opener = buildOpener(new ProxyHandler({}), new GopherHandler({ timeout: 5000 }));
  const response = await opener.open(`${server.base}/0/slow`, { timeout: 100 });
  const error = await assertRejects(() => response.text(), DOMException);
  assertEquals(error.name, "TimeoutError");
  await assertRejects(() => opener.open(`${server.base}/0/a%0D%0Ab`), TypeError);
});

Deno.test("gopher: is in the default chain once the handler module is loaded", async () => {
  await using server = tableServer({ "": "0Hi\t/hi\t127.0.0.1\t70\r\n.\r\n" });
  await using opener = buildOpener(new ProxyHandler({}));
  assertEquals(opener.handlers.filter((h) => h instanceof GopherHandler).length, 1);
  assertEquals(
    await (await opener.open(server.base)).text(),
    "[text] Hi <gopher://127.0.0.1/0/hi>\n",
  );
});
