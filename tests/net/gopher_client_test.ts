import { BufferedReader } from "../../net/buffered_reader.ts";
import { writeAll } from "../../net/_io.ts";
import { gopherFetch, gopherMenu } from "../../net/gopher_client.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { TcpServer } from "../../net/tcp_server.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";

const encoder = new TextEncoder();

interface Canned {
  /** The answer; a function gets the request line. */
  reply: (line: string, conn: Deno.Conn) => Promise<void> | void;
}

/** A loopback server that records request lines and answers as told. */
function cannedServer(canned: Canned) {
  const lines: string[] = [];
  let connections = 0;
  const server = new TcpServer({ port: 0, onError: () => {} }, async (conn) => {
    connections++;
    const reader = new BufferedReader(conn);
    const line = await reader.readLine({ lineEnding: "crlf" });
    if (line === null) return;
    lines.push(line);
    await canned.reply(line, conn);
  });
  return {
    port: server.addr.port,
    lines,
    get connections() {
      return connections;
    },
    [Symbol.asyncDispose]: () => server.shutdown({ timeout: 500 }),
  };
}

function answer(text: string | Uint8Array) {
  return async (_line: string, conn: Deno.Conn) => {
    await writeAll(conn, typeof text === "string" ? encoder.encode(text) : text);
  };
}

Deno.test("gopherMenu() sends the selector and parses items, info lines included", async () => {
  await using server = cannedServer({
    reply: answer(
      "iWelcome\tfake\t(NULL)\t0\r\n" +
        "0About\t/about.txt\t127.0.0.1\t7070\r\n" +
        "1Docs\t/docs\t127.0.0.1\t7070\t+\r\n" +
        ".\r\n",
    ),
  });
  const menu = await gopherMenu({ port: server.port, selector: "/" });
  assertEquals(server.lines, ["/"]);
  assertEquals(
    menu.items.map((i) => [i.type, i.display, i.selector, i.host, i.port, i.plus]),
    [
      ["i", "Welcome", "fake", "(NULL)", 0, false],
      ["0", "About", "/about.txt", "127.0.0.1", 7070, false],
      ["1", "Docs", "/docs", "127.0.0.1", 7070, true],
    ],
  );
  assertEquals([menu.skipped, menu.terminated], [0, true]);
});

Deno.test("gopherMenu() skips hostile menu lines and counts them", async () => {
  await using server = cannedServer({
    reply: answer(
      "0Good\t/good\th\t70\r\n" +
        "0No port\t/x\th\r\n" +
        "0Bad port\t/x\th\t99999\r\n" +
        "0Port text\t/x\th\tseventy\r\n" +
        "0Empty host\t/x\t\t70\r\n" +
        "0Nul\0byte\t/x\th\t70\r\n" +
        "\r\n" +
        `0${"x".repeat(20000)}\t/long\th\t70\r\n` +
        "Error: not a menu line\r\n" +
        "1Also good\t/also\th\t70\n" +
        ".\r\n" +
        "0After the dot\t/after\th\t70\r\n",
    ),
  });
  const menu = await gopherMenu({ port: server.port }, { maxLineLength: 4096 });
  assertEquals(menu.items.map((i) => i.selector), ["/good", "/also"]);
  assertEquals(menu.skipped, 8);
  assertEquals(menu.terminated, true);
});

Deno.test("gopherMenu() caps the menu size (MENU_TOO_LARGE)", async () => {
  await using server = cannedServer({
    reply: async (_line, conn) => {
      const line = encoder.encode("0Item\t/item\th\t70\r\n");
      for (let i = 0; i < 2000; i++) await writeAll(conn, line);
    },
  });
  const error = await assertRejects(
    () => gopherMenu({ port: server.port }, { maxMenuSize: 1000 }),
    ProtocolError,
  );
  assertEquals(error.code, "MENU_TOO_LARGE");
});

Deno.test("gopherMenu() sends a search string after a TAB, from a URL", async () => {
  await using server = cannedServer({ reply: answer(".\r\n") });
  await gopherMenu(`gopher://127.0.0.1:${server.port}/7/find%09tea%20cups`);
  assertEquals(server.lines, ["/find\ttea cups"]);
  await assertRejects(
    () => gopherMenu(`gopher://127.0.0.1:${server.port}/0/about.txt`),
    TypeError,
    "not a menu",
  );
});

Deno.test("gopherFetch() and gopherMenu() refuse CR, LF, TAB and NUL in selectors before connecting", async () => {
  await using server = cannedServer({ reply: answer(".\r\n") });
  for (const selector of ["/a\r\n/etc/passwd", "/a\nb", "/a\tb", "/a\0b"]) {
    await assertRejects(() => gopherMenu({ port: server.port, selector }), TypeError);
    await assertRejects(() => gopherFetch({ port: server.port, selector, type: "0" }), TypeError);
  }
  await assertRejects(
    () => gopherMenu({ port: server.port, selector: "/", search: "a\r\nb" }),
    TypeError,
  );
  await assertRejects(
    () => gopherMenu({ port: server.port, selector: "x".repeat(2000) }),
    RangeError,
  );
  await assertRejects(() => gopherMenu("gopher://127.0.0.1/1/a%0D%0Ab"), TypeError);
  assertEquals(server.connections, 0);
});

Deno.test("gopherFetch() dot-unstuffs text items and passes binary items raw", async () => {
  const binary = new Uint8Array([0, 255, 46, 13, 10, 46, 13, 10, 1]);
  await using server = cannedServer({
    reply: (line, conn) =>
      writeAll(
        conn,
        line === "/text" ? encoder.encode("one\r\n..two\r\n.\r\nignored\r\n") : binary,
      ),
  });
  const text = await gopherFetch({ port: server.port, selector: "/text", type: "0" });
  assertEquals(await new Response(text).text(), "one\r\n.two\r\n");
  const raw = await gopherFetch(`gopher://127.0.0.1:${server.port}/9/bin`);
  assertEquals(new Uint8Array(await new Response(raw).arrayBuffer()), binary);
  const undotted = await gopherFetch({ port: server.port, selector: "/text", type: "0" }, {
    dotTerminated: false,
  });
  assertEquals(await new Response(undotted).text(), "one\r\n..two\r\n.\r\nignored\r\n");
});

Deno.test("gopherFetch() caps the body (BODY_TOO_LARGE)", async () => {
  await using server = cannedServer({ reply: answer(new Uint8Array(5000)) });
  const body = await gopherFetch({ port: server.port, type: "9" }, { maxSize: 1000 });
  const error = await assertRejects(() => new Response(body).arrayBuffer(), ProtocolError);
  assertEquals(error.code, "BODY_TOO_LARGE");
});

Deno.test("gopherFetch() fails with a TimeoutError when the server stalls", async () => {
  let release!: () => void;
  const stalled = new Promise<void>((resolve) => (release = resolve));
  await using server = cannedServer({
    reply: async (_line, conn) => {
      await writeAll(conn, encoder.encode("partial"));
      await stalled;
    },
  });
  const started = Date.now();
  const body = await gopherFetch({ port: server.port, type: "9" }, { timeout: 100 });
  const error = await assertRejects(() => new Response(body).text(), DOMException);
  assertEquals(error.name, "TimeoutError");
  assert(Date.now() - started < 2000);
  const menuError = await assertRejects(
    () => gopherMenu({ port: server.port }, { timeout: 100 }),
    DOMException,
  );
  assertEquals(menuError.name, "TimeoutError");
  release();
});

Deno.test("gopherFetch() stops and closes when its signal aborts", async () => {
  let release!: () => void;
  const stalled = new Promise<void>((resolve) => (release = resolve));
  await using server = cannedServer({
    reply: async (_line, conn) => {
      await writeAll(conn, encoder.encode("first"));
      await stalled;
    },
  });
  const controller = new AbortController();
  const body = await gopherFetch({ port: server.port, type: "9" }, { signal: controller.signal });
  const reader = body.getReader();
  assertEquals(new TextDecoder().decode((await reader.read()).value), "first");
  setTimeout(() => controller.abort(new Error("stop now")), 20);
  await assertRejects(() => reader.read(), Error, "stop now");
  release();
});

Deno.test("gopherFetch() closes the connection when the body is cancelled", async () => {
  let closed!: () => void;
  const sawClose = new Promise<void>((resolve) => (closed = resolve));
  await using server = cannedServer({
    reply: async (_line, conn) => {
      try {
        for (;;) await writeAll(conn, new Uint8Array(65536));
      } catch {
        closed();
      }
    },
  });
  const body = await gopherFetch({ port: server.port, type: "9" });
  const reader = body.getReader();
  await reader.read();
  await reader.cancel();
  await sawClose;
});
