import { GopherServer, type GopherServerOptions } from "../../net/gopher_server.ts";
import { gopherFetch, gopherMenu } from "../../net/gopher_client.ts";
import { parseGopherMenu } from "../../net/gopher_menu.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { prng } from "../_helpers/sources.ts";

const encoder = new TextEncoder();

/** A served tree with a secret outside it and symlinks pointing in and out. */
async function withTree(
  fn: (root: string, outside: string) => Promise<void>,
): Promise<void> {
  const base = await Deno.makeTempDir();
  const root = `${base}/root`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${root}/docs/deep`, { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${outside}/secret.txt`, "SECRET\n");
  await Deno.writeTextFile(`${root}/hello.txt`, "hello\n.leading dot\n.\nend");
  await Deno.writeFile(`${root}/image.gif`, new Uint8Array([71, 73, 70, 0, 255, 46, 13, 10]));
  await Deno.writeTextFile(`${root}/.hidden`, "hidden\n");
  await Deno.writeTextFile(`${root}/docs/a.txt`, "a\n");
  await Deno.writeTextFile(`${root}/docs/deep/b.txt`, "b\n");
  await Deno.symlink(`${outside}/secret.txt`, `${root}/escape.txt`);
  await Deno.symlink(outside, `${root}/escape-dir`);
  await Deno.symlink(`${root}/docs/a.txt`, `${root}/inside.txt`);
  try {
    await fn(root, outside);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

function start(root: string, options: Partial<GopherServerOptions> = {}) {
  return new GopherServer({ root, onError: () => {}, ...options });
}

/** Sends raw bytes and reads the whole answer. */
async function raw(port: number, request: string | Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(typeof request === "string" ? encoder.encode(request) : request);
  const text = await new Response(conn.readable).text();
  return text;
}

Deno.test("GopherServer lists a directory: dirs as 1, files typed by name, dotfiles and escapes hidden", async () => {
  await withTree(async (root) => {
    await using server = start(root);
    const port = server.addr.port;
    const menu = parseGopherMenu(await raw(port, "\r\n"));
    assertEquals(menu.terminated, true);
    assertEquals(menu.items.map((i) => [i.type, i.display, i.selector, i.host, i.port]), [
      ["1", "docs/", "/docs", "127.0.0.1", port],
      ["0", "hello.txt", "/hello.txt", "127.0.0.1", port],
      ["g", "image.gif", "/image.gif", "127.0.0.1", port],
      ["0", "inside.txt", "/inside.txt", "127.0.0.1", port],
    ]);
    // The same for "/" and with a bare LF.
    assertEquals(parseGopherMenu(await raw(port, "/\n")).items.length, 4);
  });
});

Deno.test("GopherServer never serves outside its root (raw selectors)", async () => {
  await withTree(async (root) => {
    await using server = start(root);
    const port = server.addr.port;
    const refused = [
      "..",
      "/..",
      "/../outside/secret.txt",
      "/docs/../../outside/secret.txt",
      "docs/../hello.txt",
      "/./hello.txt",
      "/.hidden",
      "..\\outside\\secret.txt",
      "/docs\\..\\hello.txt",
      "C:/Windows/win.ini",
      "/c:/x",
    ];
    for (const selector of refused) {
      const answer = await raw(port, `${selector}\r\n`);
      assertEquals(answer, "3Selector refused\t\terror.host\t1\r\n.\r\n", selector);
    }
    const missing = [
      "/escape.txt",
      "/escape-dir/secret.txt",
      "/escape-dir",
      "/etc/passwd",
      "/%2e%2e/x",
    ];
    for (const selector of missing) {
      const answer = await raw(port, `${selector}\r\n`);
      assertEquals(answer, "3Not found\t\terror.host\t1\r\n.\r\n", selector);
    }
    // NUL (and other control bytes) never reach the file system.
    assertEquals(
      await raw(port, encoder.encode("/hello.txt\0.png\r\n")),
      "3Bad selector\t\terror.host\t1\r\n.\r\n",
    );
    assertEquals(
      await raw(port, encoder.encode("/hello\x1b.txt\r\n")),
      "3Selector refused\t\terror.host\t1\r\n.\r\n",
    );
    // A symlink that stays inside is followed.
    assertEquals(await raw(port, "/inside.txt\r\n"), "a\r\n.\r\n");
  });
});

Deno.test("GopherServer sends text dot-stuffed with CR LF and a final dot line (RFC 1436)", async () => {
  await withTree(async (root) => {
    await using server = start(root);
    assertEquals(
      await raw(server.addr.port, "/hello.txt\r\n"),
      "hello\r\n..leading dot\r\n..\r\nend\r\n.\r\n",
    );
    // Our client undoes it.
    const body = await gopherFetch({ port: server.addr.port, selector: "/hello.txt", type: "0" });
    assertEquals(await new Response(body).text(), "hello\r\n.leading dot\r\n.\r\nend\r\n");
  });
  await withTree(async (root) => {
    await using server = start(root, { dotStuffText: false });
    assertEquals(await raw(server.addr.port, "/hello.txt\r\n"), "hello\n.leading dot\n.\nend");
  });
});

Deno.test("GopherServer sends binary items byte for byte", async () => {
  await withTree(async (root) => {
    await using server = start(root);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(encoder.encode("/image.gif\r\n"));
    const got = new Uint8Array(await new Response(conn.readable).arrayBuffer());
    assertEquals(got, new Uint8Array([71, 73, 70, 0, 255, 46, 13, 10]));
  });
});

Deno.test("GopherServer honours a gophermap: items, relative links, hidden names, listing", async () => {
  await withTree(async (root) => {
    await Deno.writeTextFile(
      `${root}/docs/gophermap`,
      "!The docs\n" +
        "Some words about them.\n" +
        "0The A file\ta.txt\n" +
        "0Sneaky\t../../outside/secret.txt\n" +
        "0Hidden file\t.hidden\n" +
        "1Elsewhere\t/\tgopher.example.org\t70\n" +
        "hLink\tURL:https://example.org/\n" +
        "-a.txt\n" +
        "*\n",
    );
    await using server = start(root);
    const port = server.addr.port;
    const menu = await gopherMenu({ port, selector: "/docs" });
    assertEquals(menu.items.map((i) => [i.type, i.display, i.selector, i.host]), [
      ["i", "The docs", "TITLE", "null.host"],
      ["i", "Some words about them.", "", "null.host"],
      ["0", "The A file", "/docs/a.txt", "127.0.0.1"],
      ["1", "Elsewhere", "/", "gopher.example.org"],
      ["h", "Link", "URL:https://example.org/", "127.0.0.1"],
      ["1", "deep/", "/docs/deep", "127.0.0.1"],
    ]);
    // The gophermap itself is not listed in the parent either.
    const top = await gopherMenu({ port, selector: "/" });
    assert(!top.items.some((i) => i.selector.includes("gophermap")));
  });
});

Deno.test("GopherServer answers URL: selectors with an escaped HTML page, never javascript:", async () => {
  await withTree(async (root) => {
    await using server = start(root);
    const page = await raw(server.addr.port, "URL:https://example.org/?a=1&b='2'\r\n");
    assertStringIncludes(page, `href="https://example.org/?a=1&#38;b=&#39;2&#39;"`);
    for (const bad of ['https://x/"><script>', "javascript:alert(1)", "file:///etc/passwd"]) {
      assertEquals(
        await raw(server.addr.port, `URL:${bad}\r\n`),
        "3Bad URL selector\t\terror.host\t1\r\n.\r\n",
      );
    }
  });
});

Deno.test("GopherServer bounds the selector line", async () => {
  await withTree(async (root) => {
    await using server = start(root, { maxSelectorLength: 64 });
    const port = server.addr.port;
    assertEquals(
      await raw(port, `/${"a".repeat(100)}\r\n`),
      "3Bad selector\t\terror.host\t1\r\n.\r\n",
    );
    assertEquals(
      await raw(port, `/${"a".repeat(1000)}\r\n`),
      "3Selector too long\t\terror.host\t1\r\n.\r\n",
    );
    // A search string after a TAB is ignored.
    assertEquals(await raw(port, "/docs/a.txt\tsearch words\r\n"), "a\r\n.\r\n");
  });
});

Deno.test("GopherServer closes a connection that sends no selector in time", async () => {
  await withTree(async (root) => {
    await using server = start(root, { requestTimeout: 150 });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(encoder.encode("/hel"));
    const started = Date.now();
    assertEquals(await new Response(conn.readable).text(), "");
    const took = Date.now() - started;
    assert(took >= 100 && took < 3000, `closed after ${took} ms`);
  });
});

Deno.test("GopherServer answers over the connection cap with a busy error", async () => {
  await withTree(async (root) => {
    await using server = start(root, { maxConnections: 1 });
    const first = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const busy = await raw(server.addr.port, "/\r\n");
    assertEquals(busy, "3Server busy, try again later\t\terror.host\t1\r\n.\r\n");
    first.close();
  });
});

Deno.test("GopherServer caps generated listings with an info line", async () => {
  await withTree(async (root) => {
    for (let i = 0; i < 12; i++) await Deno.writeTextFile(`${root}/docs/deep/f${i}.txt`, "x");
    await using server = start(root, { maxMenuItems: 5 });
    const menu = await gopherMenu({ port: server.addr.port, selector: "/docs/deep" });
    assertEquals(menu.items.length, 6);
    assertEquals(menu.items.at(-1)?.display, "(8 more entries not listed)");
  });
});

Deno.test("GopherServer writes publicHostname and publicPort into menus", async () => {
  await withTree(async (root) => {
    await using server = start(root, { publicHostname: "gopher.example.org", publicPort: 70 });
    const menu = await gopherMenu({ port: server.addr.port, selector: "docs" });
    assertEquals(menu.items.map((i) => `${i.host}:${i.port} ${i.selector}`), [
      "gopher.example.org:70 /docs/a.txt",
      "gopher.example.org:70 /docs/deep",
    ]);
  });
});

Deno.test("GopherServer refuses a root that is not a directory", async () => {
  const file = await Deno.makeTempFile();
  try {
    let thrown: unknown;
    try {
      new GopherServer({ root: file });
    } catch (error) {
      thrown = error;
    }
    assert(thrown instanceof TypeError);
    assertStringIncludes(String(thrown), "not a directory");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("GopherServer never leaks a file outside the root for seeded random selectors", async () => {
  await withTree(async (root) => {
    await using server = start(root);
    const random = prng(70);
    const parts = ["..", ".", "", "docs", "deep", "escape.txt", "escape-dir", "secret.txt"];
    const more = ["outside", "root", "%2e%2e", ".hidden", "inside.txt", "a.txt", "..\\..", "~"];
    const all = [...parts, ...more];
    for (let round = 0; round < 150; round++) {
      const count = 1 + Math.floor(random() * 6);
      const segments = Array.from({ length: count }, () => all[Math.floor(random() * all.length)]);
      const selector = (random() < 0.5 ? "/" : "") + segments.join(random() < 0.8 ? "/" : "\\");
      const answer = await raw(server.addr.port, `${selector}\r\n`);
      assert(!answer.includes("SECRET"), `leaked through ${JSON.stringify(selector)}`);
      assert(answer.endsWith(".\r\n"), `${JSON.stringify(selector)} -> ${JSON.stringify(answer)}`);
    }
  });
});

Deno.test("GopherServer ends an answer the client stopped reading after idleTimeout", async () => {
  await withTree(async (root) => {
    await Deno.writeFile(`${root}/big.bin`, new Uint8Array(16 * 1024 * 1024));
    const errors: unknown[] = [];
    await using server = start(root, { idleTimeout: 200, onError: (e) => void errors.push(e) });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(encoder.encode("/big.bin\r\n"));
    // Read nothing for a while: the kernel buffers fill and the server stalls.
    await new Promise((resolve) => setTimeout(resolve, 800));
    let total = 0;
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      total += n;
    }
    conn.close();
    assert(total < 16 * 1024 * 1024, `got all ${total} bytes`);
    assertEquals(errors, []);
  });
});

/** The shape of an access-log line, with the selector field and what follows. */
const LOG_LINE_REGEXP = /^127\.0\.0\.1 \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] (.*)$/;

/** The part of each line after the date: `"selector" outcome bytes`. */
function logTails(lines: string[]): string[] {
  return lines.map((line) => {
    const match = LOG_LINE_REGEXP.exec(line);
    assert(match !== null, `not an access-log line: ${JSON.stringify(line)}`);
    return match[1]!;
  });
}

Deno.test("GopherServer accessLog writes one line per request: selector, outcome and bytes sent", async () => {
  await withTree(async (root) => {
    const lines: string[] = [];
    const answers: Uint8Array[] = [];
    {
      await using server = start(root, { accessLog: (line) => void lines.push(line) });
      const port = server.addr.port;
      for (
        const request of [
          "\r\n",
          "/hello.txt\r\n",
          "/image.gif\r\n",
          "/missing.txt\r\n",
          "/../outside/secret.txt\r\n",
          "/.hidden\r\n",
          "URL:javascript:alert(1)\r\n",
          "URL:https://example.org/\r\n",
        ]
      ) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(encoder.encode(request));
        answers.push(await new Response(conn.readable).bytes());
      }
    }
    const bytes = answers.map((a) => a.length);
    assertEquals(logTails(lines), [
      `"" ok ${bytes[0]}`,
      `"/hello.txt" ok ${bytes[1]}`,
      `"/image.gif" ok 8`,
      `"/missing.txt" not-found ${bytes[3]}`,
      `"/../outside/secret.txt" refused ${bytes[4]}`,
      `"/.hidden" refused ${bytes[5]}`,
      `"URL:javascript:alert(1)" bad-selector ${bytes[6]}`,
      `"URL:https://example.org/" ok ${bytes[7]}`,
    ]);
    assertEquals(bytes[2], 8);
  });
});

Deno.test("GopherServer accessLog escapes control bytes and quotes and never logs the search string", async () => {
  await withTree(async (root) => {
    const lines: string[] = [];
    {
      await using server = start(root, { accessLog: (line) => void lines.push(line) });
      const port = server.addr.port;
      await raw(port, "/hello.txt\tmy secret search\r\n");
      // A forged log line: an ESC sequence, a quote, a backslash.
      await raw(port, '/a\x1b[31m" ok 0\\\r\n');
    }
    const tails = logTails(lines);
    assertEquals(tails[0]!.split(" ").slice(0, 2), ['"/hello.txt"', "ok"]);
    assert(!lines.join("\n").includes("secret"));
    // Whatever the outcome, the selector cannot end the field or the line.
    assertMatch(tails[1]!, /^"\/a\\x1b\[31m\\x22 ok 0\\x5c" [a-z-]+ \d+$/);
    for (const line of lines) {
      assert(![...line].some((c) => c.charCodeAt(0) < 0x20), JSON.stringify(line));
    }
  });
});

Deno.test("GopherServer accessLog reports too-long, timeout, busy and aborted requests", async () => {
  await withTree(async (root) => {
    await Deno.writeFile(`${root}/big.bin`, new Uint8Array(16 * 1024 * 1024));
    const lines: string[] = [];
    {
      await using server = start(root, {
        accessLog: (line) => void lines.push(line),
        maxSelectorLength: 64,
        requestTimeout: 150,
        maxConnections: 1,
      });
      const port = server.addr.port;
      const tooLong = await raw(port, "/" + "x".repeat(500) + "\r\n");
      assertStringIncludes(tooLong, "Selector too long");
      // Sends nothing: closed after requestTimeout.
      const silent = await Deno.connect({ hostname: "127.0.0.1", port });
      // Over the cap of one connection meanwhile.
      assertStringIncludes(await raw(port, "/hello.txt\r\n"), "Server busy");
      assertEquals(await new Response(silent.readable).text(), "");
      // Goes away in the middle of a large answer.
      const reader = await Deno.connect({ hostname: "127.0.0.1", port });
      await reader.write(encoder.encode("/big.bin\r\n"));
      assert((await reader.read(new Uint8Array(1024))) !== null);
      reader.close();
    }
    const tails = logTails(lines);
    assertEquals(tails.slice(0, 3), [
      `- too-long ${errorLength("Selector too long")}`,
      "- busy " +
      errorLength("Server busy, try again later"),
      "- timeout 0",
    ]);
    assertEquals(tails.length, 4);
    assertMatch(tails[3]!, /^"\/big\.bin" aborted \d+$/);
    const sent = Number(tails[3]!.split(" ")[2]);
    assert(sent > 0 && sent < 16 * 1024 * 1024, `${sent} bytes`);
  });
});

/** The size of an error answer with this text. */
function errorLength(text: string): number {
  return encoder.encode(`3${text}\t\terror.host\t1\r\n.\r\n`).length;
}

Deno.test("GopherServer logs nothing for a connection that sends nothing, and reports a failing accessLog", async () => {
  await withTree(async (root) => {
    const errors: unknown[] = [];
    let calls = 0;
    {
      await using server = start(root, {
        accessLog: () => {
          calls++;
          throw new Error("log disk full");
        },
        onError: (error) => void errors.push(error),
      });
      const port = server.addr.port;
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      // The answer still arrives whole.
      assertStringIncludes(await raw(port, "/hello.txt\r\n"), "hello\r\n");
    }
    assertEquals(calls, 1);
    assertEquals(errors.map((e) => (e as Error).message), ["log disk full"]);
  });
});
