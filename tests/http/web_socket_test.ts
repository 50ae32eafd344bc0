/**
 * WebSockets on inetkit's server: the handshake, Deno's own `WebSocket`
 * client against `upgradeWebSocket`, and a raw client that sends exact
 * frames and reads the server's with the client-role receiver.
 */
import { serve } from "../../http/serve.ts";
import type { HttpServer, ServeHandler } from "../../http/http_server.ts";
import { ServerWebSocket } from "../../http/server_web_socket.ts";
import { upgradeWebSocket, type UpgradeWebSocketOptions } from "../../http/upgrade_web_socket.ts";
import { FOREIGN_UPGRADE_MESSAGE, refuseNativeUpgrade } from "../../http/_web_socket.ts";
import {
  encodeClosePayload,
  encodeWsFrame,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  type WsEvent,
  WsReceiver,
} from "../../http/_ws_frame.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertLessOrEqual,
  assertStringIncludes,
  assertThrows,
} from "../_helpers/assert.ts";
import { RawClient } from "../_helpers/raw_http.ts";
import { ServerRequest } from "../../http/_server_request.ts";

const encoder = new TextEncoder();
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const HANDSHAKE = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-version": "13",
  "sec-websocket-key": KEY,
};

function handshake(
  headers: Record<string, string | undefined> = {},
  method = "GET",
): Request {
  const all: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...HANDSHAKE, ...headers })) {
    if (value !== undefined) all[name] = value;
  }
  return new Request("http://h.test/chat?room=1", { method, headers: all });
}

// ---- the handshake ----

Deno.test("upgradeWebSocket() refuses requests that are not a valid opening handshake", () => {
  const cases: [string, Request, string][] = [
    ["POST", handshake({}, "POST"), "the method is POST, not GET"],
    ["no Upgrade", handshake({ upgrade: undefined }), "no Upgrade header"],
    ["Upgrade: h2c", handshake({ upgrade: "h2c" }), 'Upgrade header "h2c" does not list'],
    ["no Connection", handshake({ connection: undefined }), "no Connection header"],
    [
      "Connection without upgrade",
      handshake({ connection: "keep-alive" }),
      'Connection header "keep-alive" does not list upgrade',
    ],
    [
      "no version",
      handshake({ "sec-websocket-version": undefined }),
      "no Sec-WebSocket-Version",
    ],
    [
      "version 8",
      handshake({ "sec-websocket-version": "8" }),
      'Sec-WebSocket-Version "8" is not 13',
    ],
    [
      "two versions",
      handshake({ "sec-websocket-version": "13, 8" }),
      'Sec-WebSocket-Version "13, 8"',
    ],
    ["no key", handshake({ "sec-websocket-key": undefined }), "no Sec-WebSocket-Key"],
    [
      "a key of 15 bytes",
      handshake({ "sec-websocket-key": btoa("x".repeat(15)) }),
      "is not 16 bytes in base64",
    ],
    [
      "a key of 17 bytes",
      handshake({ "sec-websocket-key": btoa("x".repeat(17)) }),
      "is not 16 bytes in base64",
    ],
    [
      "a key that is not base64",
      handshake({ "sec-websocket-key": "!!!!!!!!!!!!!!!!!!!!!!==" }),
      "is not 16 bytes in base64",
    ],
    ["an empty key", handshake({ "sec-websocket-key": "" }), "is not 16 bytes in base64"],
    ["a Content-Length body", handshake({ "content-length": "5" }), "the request has a body"],
    [
      "a chunked body",
      handshake({ "transfer-encoding": "chunked" }),
      "the request has a body",
    ],
  ];
  for (const [name, request, message] of cases) {
    const error = assertThrows(() => upgradeWebSocket(request), TypeError, message, name);
    assertStringIncludes(error.message, "Cannot upgrade to WebSocket: ", name);
  }
});

Deno.test("upgradeWebSocket() accepts token lists, any case and padded values", () => {
  const { response, socket } = upgradeWebSocket(handshake({
    upgrade: "foo, WebSocket",
    connection: "keep-alive, UPGRADE",
    "sec-websocket-version": " 13 ",
    "sec-websocket-key": ` ${KEY} `,
  }));
  assertEquals([response.status, response.statusText, response.ok], [
    101,
    "Switching Protocols",
    false,
  ]);
  assertEquals([...response.headers], [
    ["connection", "Upgrade"],
    ["sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="],
    ["upgrade", "websocket"],
  ]);
  assert(socket instanceof ServerWebSocket);
  assertEquals(socket.readyState, ServerWebSocket.CONNECTING);
  assertEquals([socket.url, socket.protocol, socket.extensions, socket.binaryType], [
    "ws://h.test/chat?room=1",
    "",
    "",
    "blob",
  ]);
  assertEquals(
    upgradeWebSocket(new Request("https://h.test/", { headers: HANDSHAKE })).socket.url,
    "wss://h.test/",
  );
});

Deno.test("upgradeWebSocket() computes the same Sec-WebSocket-Accept as Deno for random keys", () => {
  for (let k = 0; k < 200; k++) {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const request = handshake({ "sec-websocket-key": key });
    const ours = upgradeWebSocket(request).response.headers.get("sec-websocket-accept");
    const deno = Deno.upgradeWebSocket(request).response.headers.get("sec-websocket-accept");
    assertEquals(ours, deno, key);
  }
});

Deno.test("upgradeWebSocket() negotiates the subprotocol", () => {
  const offered = handshake({ "sec-websocket-protocol": "chat, superchat" });
  const pick = (protocol: UpgradeWebSocketOptions["protocol"], request = offered) => {
    const { socket, response } = upgradeWebSocket(request, { protocol });
    return [socket.protocol, response.headers.get("sec-websocket-protocol")];
  };
  assertEquals(pick("superchat"), ["superchat", "superchat"]);
  assertEquals(pick(["v2", "chat", "superchat"]), ["chat", "chat"]);
  assertEquals(pick(["v2"]), ["", null]);
  assertEquals(pick(undefined), ["", null]);
  assertThrows(() => pick("v2"), TypeError, 'subprotocol "v2" was not offered');
  assertThrows(() => pick("chat", handshake()), TypeError, "the client offered none");
  assertThrows(() => pick("bad value"), TypeError, "is not a token");
  assertThrows(() => pick(["chat\r\nx: y"]), TypeError, "is not a token");
});

Deno.test("upgradeWebSocket() checks its options", () => {
  assertThrows(() => upgradeWebSocket(handshake(), { idleTimeout: -1 }), RangeError, "idleTimeout");
  assertThrows(
    () => upgradeWebSocket(handshake(), { closeTimeout: NaN }),
    RangeError,
    "closeTimeout",
  );
  assertThrows(
    () => upgradeWebSocket(handshake(), { maxMessageSize: 0 }),
    RangeError,
    "maxMessageSize",
  );
});

Deno.test("ServerWebSocket cannot be constructed directly", () => {
  const Ctor = ServerWebSocket as unknown as new () => unknown;
  assertThrows(() => new Ctor(), TypeError, "Illegal constructor");
});

// ---- helpers ----

/** A server whose handler upgrades every request and hands over the sockets. */
function wsServer(
  setup: (socket: ServerWebSocket, request: Request) => void,
  options: UpgradeWebSocketOptions = {},
): { server: HttpServer; sockets: ServerWebSocket[]; closed: Promise<CloseEvent>[] } {
  const sockets: ServerWebSocket[] = [];
  const closed: Promise<CloseEvent>[] = [];
  const server = serve({ port: 0 }, (request) => {
    const { socket, response } = upgradeWebSocket(request, options);
    sockets.push(socket);
    closed.push(new Promise((resolve) => socket.addEventListener("close", resolve)));
    setup(socket, request);
    return response;
  });
  return { server, sockets, closed };
}

function openClient(port: number, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, protocols);
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = (event) => reject(new Error(`client error: ${(event as ErrorEvent).message}`));
  });
}

function clientClosed(ws: WebSocket): Promise<CloseEvent> {
  return new Promise((resolve) => ws.addEventListener("close", resolve));
}

function nextMessage(ws: WebSocket): Promise<MessageEvent> {
  return new Promise((resolve) => ws.addEventListener("message", resolve, { once: true }));
}

/** A client that writes exact frames and reads the server's. */
class RawWs {
  readonly http: RawClient;
  #receiver = new WsReceiver({ maxMessageSize: 1 << 26, role: "client" });
  #events: WsEvent[] = [];
  #buf = new Uint8Array(65536);

  private constructor(http: RawClient) {
    this.http = http;
  }

  /** Connects and sends the handshake; `rest` is sent in the same write. */
  static async open(
    port: number,
    options: { head?: string; rest?: Uint8Array; expect?: number } = {},
  ): Promise<RawWs> {
    const http = await RawClient.connect(port);
    const head = options.head ??
      `GET /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`;
    const bytes = encoder.encode(head);
    await http.send(options.rest ? new Uint8Array([...bytes, ...options.rest]) : bytes);
    const response = await http.response();
    assertEquals(response.status, options.expect ?? 101);
    return new RawWs(http);
  }

  /** Sends a masked frame (or, with `mask: null`, an unmasked one). */
  async frame(
    opcode: number,
    payload: Uint8Array | string,
    fin = true,
    mask: Uint8Array | null = crypto.getRandomValues(new Uint8Array(4)),
  ): Promise<void> {
    const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
    await this.http.send(encodeWsFrame(opcode, bytes, fin, mask));
  }

  /** The next event from the server, or null at the end of the connection. */
  async next(): Promise<WsEvent | null> {
    while (this.#events.length === 0) {
      let n: number | null;
      try {
        n = await this.http.reader.read(this.#buf);
      } catch {
        n = null;
      }
      if (n === null) {
        // The server closed first, as it should (RFC 6455 §7.1.1): now the client does.
        this.close();
        return null;
      }
      this.#receiver.push(this.#buf.subarray(0, n), (event) => this.#events.push(event));
    }
    return this.#events.shift()!;
  }

  /** Reads to the server's close frame; returns its code and whether the server then closed. */
  async closeCode(): Promise<{ code: number; reason: string; eof: boolean; skipped: WsEvent[] }> {
    const skipped: WsEvent[] = [];
    for (;;) {
      const event = await this.next();
      if (event === null) throw new Error("the connection ended without a close frame");
      if (event.type === "close") {
        const eof = (await this.next()) === null;
        return { code: event.code, reason: event.reason, eof, skipped };
      }
      skipped.push(event);
    }
  }

  close(): void {
    this.http.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function rawEchoServer(
  options: UpgradeWebSocketOptions = {},
): {
  server: HttpServer;
  sockets: ServerWebSocket[];
  closed: Promise<CloseEvent>[];
  errors: unknown[];
} {
  const errors: unknown[] = [];
  const { server, sockets, closed } = wsServer((socket) => {
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => socket.send(event.data);
    socket.onerror = (event) => errors.push((event as ErrorEvent).error);
  }, options);
  return { server, sockets, closed, errors };
}

// ---- against Deno's WebSocket client ----

Deno.test("ServerWebSocket echoes text and binary to Deno's WebSocket client", async () => {
  const { server, closed } = wsServer((socket) => {
    socket.onmessage = async (event) => {
      if (typeof event.data === "string") socket.send(event.data.toUpperCase());
      else {
        assertInstanceOf(event.data, Blob);
        socket.send(new Uint8Array(await event.data.arrayBuffer()).reverse());
      }
    };
  });
  await using _ = server;
  const ws = await openClient(server.addr.port);
  ws.binaryType = "arraybuffer";
  ws.send("héllo ✓");
  assertEquals((await nextMessage(ws)).data, "HÉLLO ✓");
  ws.send(new Uint8Array([1, 2, 3, 4]));
  assertEquals([...new Uint8Array((await nextMessage(ws)).data)], [4, 3, 2, 1]);
  assertEquals(ws.extensions, "");
  ws.close();
  await clientClosed(ws);
  await closed[0];
});

Deno.test("ServerWebSocket carries large messages both ways", async () => {
  const { server, closed } = wsServer((socket) => {
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      socket.send(bytes.map((b) => b ^ 0xff));
      socket.send("x".repeat(3_000_000));
    };
  });
  await using _ = server;
  const ws = await openClient(server.addr.port);
  ws.binaryType = "arraybuffer";
  const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 13) & 255);
  const reply = nextMessage(ws);
  ws.send(big);
  const back = new Uint8Array((await reply).data);
  assertEquals(back.length, big.length);
  assert(back.every((b, i) => b === (big[i]! ^ 0xff)));
  assertEquals(((await nextMessage(ws)).data as string).length, 3_000_000);
  ws.close(1000);
  await clientClosed(ws);
  await closed[0];
});

Deno.test("ServerWebSocket echoes 100 messages in order", async () => {
  const { server, closed } = wsServer((socket) => {
    socket.onmessage = (event) => socket.send(`re: ${event.data}`);
  });
  await using _ = server;
  const ws = await openClient(server.addr.port);
  const got: string[] = [];
  const all = new Promise<void>((resolve) => {
    ws.onmessage = (event) => {
      got.push(event.data);
      if (got.length === 100) resolve();
    };
  });
  for (let i = 0; i < 100; i++) ws.send(`m${i}`);
  await all;
  assertEquals(got, Array.from({ length: 100 }, (_, i) => `re: m${i}`));
  ws.close();
  await clientClosed(ws);
  await closed[0];
});

Deno.test("ServerWebSocket reports the client's close code and reason", async () => {
  const { server, closed } = wsServer(() => {});
  await using _ = server;
  const ws = await openClient(server.addr.port);
  ws.close(4001, "client bye");
  const [server1, client1] = await Promise.all([closed[0]!, clientClosed(ws)]);
  assertEquals([server1.code, server1.reason, server1.wasClean], [4001, "client bye", true]);
  assertEquals([client1.code, client1.wasClean], [4001, true]);
});

Deno.test("ServerWebSocket.close() sends its code and reason after the queued messages", async () => {
  const states: number[] = [];
  const { server, closed } = wsServer((socket) => {
    states.push(socket.readyState);
    socket.onopen = () => {
      states.push(socket.readyState);
      socket.send("one");
      socket.send("two");
      socket.close(4002, "server bye");
      states.push(socket.readyState);
      socket.send("dropped");
      assertEquals(socket.bufferedAmount, 13);
    };
    socket.onclose = () => states.push(socket.readyState);
  });
  await using _ = server;
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
  const got: string[] = [];
  ws.onmessage = (event) => got.push(event.data);
  const event = await clientClosed(ws);
  await closed[0];
  assertEquals(got, ["one", "two"]);
  assertEquals([event.code, event.reason, event.wasClean], [4002, "server bye", true]);
  assertEquals(states, [0, 1, 2, 3]);
});

Deno.test("ServerWebSocket.close() validates code and reason as the web API does", async () => {
  const outcomes: string[] = [];
  const { server, closed } = wsServer((socket) => {
    socket.onopen = () => {
      const attempt = (code?: number, reason?: string) => {
        try {
          socket.close(code, reason);
          outcomes.push("ok");
        } catch (error) {
          assertInstanceOf(error, DOMException);
          outcomes.push(error.name);
        }
      };
      for (const code of [0, 999, 1001, 1005, 2999, 5000, 65535]) attempt(code);
      attempt(4000, "é".repeat(62));
      attempt(4000, "é".repeat(61) + "a");
      attempt(3000);
    };
  });
  await using _ = server;
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
  const event = await clientClosed(ws);
  await closed[0];
  assertEquals(outcomes, [
    ...Array(7).fill("InvalidAccessError"),
    "SyntaxError",
    "ok",
    "ok",
  ]);
  assertEquals([event.code, event.reason], [4000, "é".repeat(61) + "a"]);
});

Deno.test("ServerWebSocket.close() without a code sends no status (the client sees 1005)", async () => {
  const { server, closed } = wsServer((socket) => (socket.onopen = () => socket.close()));
  await using _ = server;
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
  assertEquals((await clientClosed(ws)).code, 1005);
  assertEquals((await closed[0]!).code, 1005);
});

Deno.test("ServerWebSocket negotiates a subprotocol with Deno's client", async () => {
  const { server, sockets, closed } = wsServer(() => {}, { protocol: ["v3", "v2", "v1"] });
  await using _ = server;
  const ws = await openClient(server.addr.port, ["v1", "v2"]);
  assertEquals([ws.protocol, sockets[0]!.protocol], ["v2", "v2"]);
  ws.close();
  await clientClosed(ws);
  await closed[0];
});

Deno.test("ServerWebSocket.send() throws while CONNECTING and counts bufferedAmount", async () => {
  let thrown = "";
  const amounts: number[] = [];
  const { server, closed } = wsServer((socket) => {
    try {
      socket.send("early");
    } catch (error) {
      thrown = (error as DOMException).name;
    }
    socket.onopen = () => {
      socket.send("abc");
      socket.send(new Uint8Array(10));
      socket.send(new Blob(["12345"]));
      socket.send("é");
      amounts.push(socket.bufferedAmount);
    };
    socket.onmessage = () => {
      amounts.push(socket.bufferedAmount);
      socket.close();
    };
  });
  await using _ = server;
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
  let count = 0;
  ws.onmessage = () => {
    if (++count === 4) ws.send("done");
  };
  await clientClosed(ws);
  await closed[0];
  assertEquals(thrown, "InvalidStateError");
  assertEquals(amounts, [3 + 10 + 5 + 2, 0]);
});

Deno.test("ServerWebSocket copies the bytes at send() time", async () => {
  const { server, closed } = wsServer((socket) => {
    socket.onopen = () => {
      const bytes = new Uint8Array([1, 2, 3]);
      socket.send(bytes);
      socket.send(bytes.buffer);
      bytes.fill(9);
      socket.close(1000);
    };
  });
  await using _ = server;
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
  ws.binaryType = "arraybuffer";
  const got: number[][] = [];
  ws.onmessage = (event) => got.push([...new Uint8Array(event.data)]);
  await clientClosed(ws);
  await closed[0];
  assertEquals(got, [[1, 2, 3], [1, 2, 3]]);
});

Deno.test("ServerWebSocket handler attributes and listeners both fire, once each", async () => {
  const calls: string[] = [];
  const { server, closed } = wsServer((socket) => {
    socket.addEventListener("message", () => calls.push("listener"));
    socket.onmessage = () => calls.push("first");
    socket.onmessage = (event) => {
      calls.push(`second ${event.data}`);
      socket.close();
    };
    assertEquals(typeof socket.onmessage, "function");
  });
  await using _ = server;
  const ws = await openClient(server.addr.port);
  ws.send("x");
  await clientClosed(ws);
  await closed[0];
  assertEquals(calls, ["listener", "second x"]);
});

// ---- with a raw client ----

Deno.test("ServerWebSocket reads frames the client sent with the handshake", async () => {
  const { server, closed } = rawEchoServer();
  await using _ = server;
  const early = new Uint8Array([
    ...encodeWsFrame(OP_TEXT, encoder.encode("early"), true, new Uint8Array([1, 2, 3, 4])),
    ...encodeWsFrame(OP_TEXT, encoder.encode("bird"), true, new Uint8Array([5, 6, 7, 8])),
  ]);
  using raw = await RawWs.open(server.addr.port, { rest: early });
  assertEquals(await raw.next(), { type: "text", data: "early" });
  assertEquals(await raw.next(), { type: "text", data: "bird" });
  await raw.frame(OP_CLOSE, encodeClosePayload(1000, ""));
  const end = await raw.closeCode();
  assertEquals([end.code, end.eof], [1000, true]);
  assertEquals((await closed[0]!).wasClean, true);
});

Deno.test("ServerWebSocket answers a ping with a pong of the same payload and ignores pongs", async () => {
  const { server, closed } = rawEchoServer();
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  await raw.frame(OP_PONG, "unsolicited");
  await raw.frame(OP_PING, "ping payload");
  assertEquals(await raw.next(), { type: "pong", data: encoder.encode("ping payload") });
  await raw.frame(OP_PING, "");
  assertEquals(await raw.next(), { type: "pong", data: new Uint8Array(0) });
  await raw.frame(OP_CLOSE, encodeClosePayload(1000));
  assertEquals((await raw.closeCode()).code, 1000);
  await closed[0];
});

Deno.test("ServerWebSocket joins a message of many fragments with pings in between", async () => {
  const { server, closed } = rawEchoServer();
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  const payload = new Uint8Array(200_000).map((_, i) => (i * 7) & 255);
  for (let i = 0; i < 1000; i++) {
    const piece = payload.subarray(i * 200, i * 200 + 200);
    await raw.frame(i === 0 ? OP_BINARY : OP_CONTINUATION, piece, i === 999);
    if (i === 500) await raw.frame(OP_PING, "mid");
  }
  assertEquals(await raw.next(), { type: "pong", data: encoder.encode("mid") });
  const echo = await raw.next();
  assertEquals(echo?.type, "binary");
  assertEquals((echo as { data: Uint8Array }).data, payload);
  await raw.frame(OP_CLOSE, encodeClosePayload(1000));
  assertEquals((await raw.closeCode()).code, 1000);
  await closed[0];
});

Deno.test("ServerWebSocket fails the connection with 1002 on an unmasked frame", async () => {
  const { server, closed, errors } = rawEchoServer();
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  await raw.frame(OP_TEXT, "naked", true, null);
  const end = await raw.closeCode();
  assertEquals([end.code, end.reason, end.eof], [1002, "WS_UNMASKED_FRAME", true]);
  const event = await closed[0]!;
  assertEquals([event.code, event.wasClean], [1006, false]);
  assertInstanceOf(errors[0], ProtocolError);
  assertEquals((errors[0] as ProtocolError).code, "WS_UNMASKED_FRAME");
});

Deno.test("ServerWebSocket stops reading a failed client after 1 MiB of junk", async () => {
  const { server, closed } = rawEchoServer();
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  const started = Date.now();
  // A protocol error, then junk without end and without reading or closing: the
  // server drops 1 MiB at most, then closes (instead of lingering for 2 seconds).
  const junk = new Uint8Array(65536).fill(0x41);
  const writing = (async () => {
    await raw.frame(OP_TEXT, "naked", true, null);
    try {
      for (let i = 0; i < 64; i++) await raw.http.send(junk);
    } catch {
      // the server closed the connection
    }
  })();
  const event = await closed[0]!;
  assertLessOrEqual(Date.now() - started, 1500);
  assertEquals(event.wasClean, false);
  await writing;
});

Deno.test("ServerWebSocket closes with 1009 on a message over maxMessageSize", async () => {
  const { server, closed, errors } = rawEchoServer({ maxMessageSize: 1000 });
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  await raw.frame(OP_BINARY, new Uint8Array(1000));
  assertEquals((await raw.next())?.type, "binary");
  await raw.frame(OP_TEXT, "x".repeat(600), false);
  await raw.frame(OP_CONTINUATION, "y".repeat(401));
  assertEquals((await raw.closeCode()).code, 1009);
  await closed[0];
  assertEquals((errors[0] as ProtocolError).code, "WS_MESSAGE_TOO_LARGE");
});

Deno.test("ServerWebSocket closes with 1007 on invalid UTF-8 and drops the message", async () => {
  const { server, closed } = rawEchoServer();
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  await raw.frame(OP_TEXT, new Uint8Array([0x68, 0x69, 0xc3]), false);
  await raw.frame(OP_CONTINUATION, new Uint8Array([0x28]));
  const end = await raw.closeCode();
  assertEquals([end.code, end.skipped], [1007, []]);
  await closed[0];
});

Deno.test("ServerWebSocket reports 1006 and no error when the client drops the connection", async () => {
  const { server, closed, errors } = rawEchoServer();
  await using _ = server;
  const raw = await RawWs.open(server.addr.port);
  await raw.frame(OP_TEXT, "bye");
  assertEquals(await raw.next(), { type: "text", data: "bye" });
  raw.close();
  const event = await closed[0]!;
  assertEquals([event.code, event.reason, event.wasClean], [1006, "", false]);
  assertEquals(errors, []);
});

Deno.test("ServerWebSocket sends the messages queued before the client's close, then the echo", async () => {
  const { server, closed } = wsServer((socket) => {
    socket.onmessage = (event) => {
      for (let i = 0; i < 3; i++) socket.send(`${event.data} ${i}`);
    };
  });
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  // The message and the close in one write: the replies are queued when the close arrives.
  await raw.http.send(
    new Uint8Array([
      ...encodeWsFrame(OP_TEXT, encoder.encode("m"), true, new Uint8Array([9, 8, 7, 6])),
      ...encodeWsFrame(OP_CLOSE, encodeClosePayload(4000), true, new Uint8Array([1, 1, 1, 1])),
    ]),
  );
  const end = await raw.closeCode();
  assertEquals(end.skipped, [
    { type: "text", data: "m 0" },
    { type: "text", data: "m 1" },
    { type: "text", data: "m 2" },
  ]);
  assertEquals([end.code, end.eof], [4000, true]);
  const event = await closed[0]!;
  assertEquals([event.code, event.wasClean], [4000, true]);
});

Deno.test("ServerWebSocket.close() before the socket opens closes right after the upgrade", async () => {
  const events: string[] = [];
  const { server, closed } = wsServer((socket) => {
    socket.onopen = () => events.push("open");
    socket.close(4003, "not today");
    assertEquals(socket.readyState, ServerWebSocket.CLOSING);
  });
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  assertEquals(await raw.next(), { type: "close", code: 4003, reason: "not today" });
  await raw.frame(OP_CLOSE, encodeClosePayload(4003));
  assertEquals(await raw.next(), null);
  const event = await closed[0]!;
  assertEquals([event.code, event.wasClean, events], [4003, true, []]);
});

Deno.test("ServerWebSocket.binaryType takes only blob and arraybuffer", () => {
  const { socket } = upgradeWebSocket(handshake());
  socket.binaryType = "arraybuffer";
  socket.binaryType = "nonsense" as BinaryType;
  assertEquals(socket.binaryType, "arraybuffer");
  socket.binaryType = "blob";
  assertEquals(socket.binaryType, "blob");
  assertEquals(
    [socket.CONNECTING, socket.OPEN, socket.CLOSING, socket.CLOSED],
    [0, 1, 2, 3],
  );
});

Deno.test("ServerWebSocket drops messages that arrive after close()", async () => {
  const got: string[] = [];
  const { server, closed } = wsServer((socket) => {
    socket.onmessage = (event) => {
      got.push(event.data as string);
      socket.close(1000);
    };
  });
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  await raw.frame(OP_TEXT, "first");
  assertEquals((await raw.next())?.type, "close");
  await raw.frame(OP_TEXT, "second");
  await raw.frame(OP_CLOSE, encodeClosePayload(1000));
  assertEquals(await raw.next(), null);
  const event = await closed[0]!;
  assertEquals(got, ["first"]);
  assertEquals(event.wasClean, true);
});

Deno.test("ServerWebSocket closes the connection when the client never answers its close", async () => {
  const { server, closed } = wsServer((socket) => {
    socket.onopen = () => socket.close(1000);
  }, { closeTimeout: 0.2 });
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  const started = Date.now();
  assertEquals((await raw.next())?.type, "close");
  assertEquals(await raw.next(), null);
  const event = await closed[0]!;
  assertGreaterOrEqual(Date.now() - started, 150);
  assertEquals([event.code, event.wasClean], [1006, false]);
});

Deno.test("ServerWebSocket pings an idle client and closes with 1001 when it stays silent", async () => {
  const { server, closed, errors } = rawEchoServer({ idleTimeout: 0.15 });
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  assertEquals(await raw.next(), { type: "ping", data: new Uint8Array(0) });
  const end = await raw.closeCode();
  assertEquals([end.code, end.reason], [1001, "Idle timeout"]);
  await closed[0];
  assertEquals((errors[0] as DOMException).name, "TimeoutError");
});

Deno.test("ServerWebSocket keeps a client that answers its pings", async () => {
  const { server, closed } = rawEchoServer({ idleTimeout: 0.1 });
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  for (let i = 0; i < 4; i++) {
    const ping = await raw.next();
    assertEquals(ping?.type, "ping");
    await raw.frame(OP_PONG, "");
  }
  await raw.frame(OP_TEXT, "still here");
  assertEquals(await raw.next(), { type: "text", data: "still here" });
  await raw.frame(OP_CLOSE, encodeClosePayload(1000));
  assertEquals((await raw.closeCode()).code, 1000);
  assertEquals((await closed[0]!).wasClean, true);
});

Deno.test("ServerWebSocket keeps memory bounded while the client does not read", async () => {
  const MiB = new Uint8Array(1 << 20);
  let socket!: ServerWebSocket;
  const { server, closed } = wsServer((s) => {
    socket = s;
    s.onopen = () => {
      for (let i = 0; i < 32; i++) s.send(MiB);
    };
  });
  await using _ = server;
  using raw = await RawWs.open(server.addr.port);
  // The client reads nothing while it sends 2000 pings.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assertGreaterOrEqual(socket.bufferedAmount, 1 << 20);
  assertLessOrEqual(socket.bufferedAmount, 32 << 20);
  for (let i = 0; i < 2000; i++) await raw.frame(OP_PING, `p${i}`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  let messages = 0;
  const pongs: string[] = [];
  while (messages < 32 || pongs.at(-1) !== "p1999") {
    const event = await raw.next();
    if (event?.type === "binary") messages++;
    else if (event?.type === "pong") pongs.push(new TextDecoder().decode(event.data));
    else throw new Error(`unexpected ${event?.type}`);
  }
  // Only the latest ping waits for its pong: far fewer pongs than pings.
  assertLessOrEqual(pongs.length, 33);
  assertEquals(socket.bufferedAmount, 0);
  await raw.frame(OP_CLOSE, encodeClosePayload(1000));
  assertEquals((await raw.closeCode()).code, 1000);
  await closed[0];
});

Deno.test("ServerWebSocket closes with 1001 when the server shuts down", async () => {
  const { server, closed } = rawEchoServer();
  using raw = await RawWs.open(server.addr.port);
  await raw.frame(OP_TEXT, "hi");
  assertEquals(await raw.next(), { type: "text", data: "hi" });
  const shutdown = server.shutdown();
  assertEquals((await raw.next())?.type, "close");
  await raw.frame(OP_CLOSE, encodeClosePayload(1001));
  assertEquals(await raw.next(), null);
  await shutdown;
  const event = await closed[0]!;
  assertEquals([event.code, event.wasClean], [1001, true]);
});

Deno.test("upgradeWebSocket() sends the headers a handler adds to the response", async () => {
  const server = serve({ port: 0 }, (request) => {
    const { socket, response } = upgradeWebSocket(request);
    response.headers.set("set-cookie", "session=1");
    socket.onopen = () => socket.close(1000);
    return response;
  });
  await using _ = server;
  const http = await RawClient.connect(server.addr.port);
  using _http = http;
  await http.send(
    `GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n` +
      `Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n`,
  );
  const response = await http.response();
  assertEquals([response.status, response.statusText], [101, "Switching Protocols"]);
  assertEquals(response.get("set-cookie"), "session=1");
  assertEquals(response.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  assertEquals(response.get("sec-websocket-extensions"), null);
  const echo = await http.reader.readExactly(4);
  assertEquals([...echo], [0x88, 2, 0x03, 0xe8]);
  await http.send(encodeWsFrame(OP_CLOSE, encodeClosePayload(1000), true, new Uint8Array(4)));
  assert(await http.closedWithin(2000));
});

Deno.test("HttpServer answers 400 to a WebSocket upgrade over HTTP/1.0", async () => {
  const { server, closed } = rawEchoServer();
  await using _ = server;
  using _raw = await RawWs.open(server.addr.port, {
    head: `GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`,
    expect: 400,
  });
  const event = await closed[0]!;
  assertEquals([event.code, event.wasClean], [1006, false]);
});

Deno.test("HttpServer answers 500 and says why when a handler returns Deno.upgradeWebSocket's response", async () => {
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args.join(" "));
  try {
    const handler: ServeHandler = (request) => {
      try {
        return Deno.upgradeWebSocket(request).response;
      } catch (error) {
        return new Response(`threw: ${(error as Error).message}`, { status: 500 });
      }
    };
    await using server = serve({ port: 0 }, handler);
    using http = await RawClient.connect(server.addr.port);
    await http.send(
      `GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`,
    );
    const response = await http.response();
    assertEquals(response.status, 500);
    if (response.body.startsWith("threw: ")) {
      // The request bridge refuses Deno's upgrade outright.
      assertStringIncludes(response.body, "use upgradeWebSocket");
    } else {
      assertEquals(logged, [FOREIGN_UPGRADE_MESSAGE]);
    }
  } finally {
    console.error = original;
  }
});

Deno.test("refuseNativeUpgrade() makes Deno.upgradeWebSocket() throw a pointer to upgradeWebSocket", () => {
  const request = handshake();
  refuseNativeUpgrade(request);
  assertThrows(
    () => Deno.upgradeWebSocket(request),
    TypeError,
    'use upgradeWebSocket from "@inetkit/inetkit/http"',
  );
  // The request still works as a Request, and inetkit's upgrade still works.
  assertEquals(new Request(request).headers.get("upgrade"), "websocket");
  assertEquals(request.clone().url, "http://h.test/chat?room=1");
  assertEquals(upgradeWebSocket(request).response.status, 101);
});

Deno.test("refuseNativeUpgrade() on the real Request behind a server request makes Deno.upgradeWebSocket() throw", async () => {
  // What the server's request bridge would do when it builds the real Request.
  await using server = serve({ port: 0 }, (request) => {
    // (Without the bridge the handler gets that real Request itself.)
    refuseNativeUpgrade(
      request instanceof ServerRequest ? ServerRequest.materialize(request) : request,
    );
    try {
      Deno.upgradeWebSocket(request);
      return new Response("no error", { status: 500 });
    } catch (error) {
      return new Response((error as Error).message, { status: 500 });
    }
  });
  using http = await RawClient.connect(server.addr.port);
  await http.send(
    `GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`,
  );
  const response = await http.response();
  assertStringIncludes(response.body, "the request comes from inetkit's server");
});
