import { sha1 } from "./_sha1.ts";
import { ServerWebSocket } from "./server_web_socket.ts";
import { registerWebSocketResponse, webSocketInternals } from "./_web_socket.ts";

/** Options for {@linkcode upgradeWebSocket}. */
export interface UpgradeWebSocketOptions {
  /**
   * The subprotocol to select (RFC 6455 §1.9, `Sec-WebSocket-Protocol`).
   * A string must be one the client offered, as with
   * `Deno.upgradeWebSocket`; a list is the server's preference order and
   * selects the first one offered, or none when the client offered none of
   * them.
   *
   * @default {no subprotocol}
   */
  protocol?: string | readonly string[];
  /**
   * Seconds without any frame from the client before the server pings it;
   * when the next as many seconds bring nothing either, the socket closes
   * with 1001 (and fires `error`). The unit is seconds, as in
   * `Deno.upgradeWebSocket`; 0 turns it off.
   *
   * @default {30}
   */
  idleTimeout?: number;
  /**
   * The most bytes in one message from the client, all its frames together;
   * a frame that would go over closes the socket with 1009.
   *
   * @default {16777216}
   */
  maxMessageSize?: number;
  /**
   * Seconds to wait, once a close frame is queued, for it to be written and
   * answered before the connection is closed anyway.
   *
   * @default {5}
   */
  closeTimeout?: number;
}

/** What {@linkcode upgradeWebSocket} returns, as `Deno.upgradeWebSocket` does. */
export interface WebSocketUpgrade {
  /** The socket, `CONNECTING` until the server has written `response`. */
  socket: ServerWebSocket;
  /** The 101 response the handler must return. */
  response: Response;
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const KEY_REGEXP = /^[A-Za-z0-9+/]{22}==$/;
const TOKEN_REGEXP = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const encoder = new TextEncoder();

/**
 * The 101 response: `Response` refuses status 101, so the status is the
 * getter's. Only the server reads it, through the registry.
 */
class WebSocketResponse extends Response {
  override get status(): number {
    return 101;
  }
  override get statusText(): string {
    return "Switching Protocols";
  }
  override get ok(): boolean {
    return false;
  }
}

function fail(message: string): never {
  throw new TypeError(`Cannot upgrade to WebSocket: ${message}`);
}

function tokens(value: string | null): string[] {
  if (value === null) return [];
  return value.split(",").map((t) => t.trim().toLowerCase()).filter((t) => t !== "");
}

function shown(value: string): string {
  return JSON.stringify(value.length > 64 ? value.slice(0, 64) + "..." : value);
}

function seconds(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `Cannot upgrade to WebSocket: ${name} ${value} is not a non-negative number`,
    );
  }
  return value;
}

/**
 * The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455
 * §4.2.2): base64 of the SHA-1 of the key and the protocol's GUID.
 */
function acceptValue(key: string): string {
  const digest = sha1(encoder.encode(key + GUID));
  return btoa(String.fromCharCode(...digest));
}

/**
 * Upgrades a request to inetkit's {@linkcode HttpServer} (`serve`) to a
 * WebSocket (RFC 6455 §4.2), with the shape of `Deno.upgradeWebSocket`:
 * returns the socket and the 101 response the handler must return; the
 * socket opens once the server has written it. Checks the opening
 * handshake (§4.2.1): a GET with `Upgrade: websocket`, `Connection:
 * upgrade`, `Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key` of 16
 * bytes in base64; computes `Sec-WebSocket-Accept`; selects a subprotocol
 * when asked. No extension is negotiated (`permessage-deflate` offers are
 * declined by leaving them out). Headers added to the response before it is
 * returned are sent with it.
 *
 * `Deno.upgradeWebSocket` does not work with inetkit's server (its socket
 * would never open): the server answers a 101 response it did not get from
 * this function with 500 and logs why.
 *
 * @param request The request, from inetkit's server.
 * @param options The subprotocol, limits and timeouts.
 * @returns The socket and the response.
 * @throws {TypeError} If the request is not a valid opening handshake (the
 * method is not GET, `Upgrade` does not list `websocket`, `Connection` does
 * not list `upgrade`, the version is not 13 (RFC 6455 §4.4 suggests
 * answering 426 with `Sec-WebSocket-Version: 13`), the key is not 16 bytes
 * in base64, the request has a body), or a required `protocol` was not offered or
 * is not a token.
 * @throws {RangeError} If a timeout or `maxMessageSize` is not a valid number.
 *
 * @example A chat subprotocol
 * ```ts
 * import { serve, upgradeWebSocket } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serve({ port: 0 }, (request) => {
 *   if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
 *     return new Response("WebSocket only", { status: 426 });
 *   }
 *   const { socket, response } = upgradeWebSocket(request, { protocol: ["chat.v2", "chat"] });
 *   socket.onopen = () => socket.send(`speaking ${socket.protocol}`);
 *   return response;
 * });
 * const client = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`, ["chat"]);
 * const greeting = await new Promise<string>((resolve) => {
 *   client.onmessage = (event) => resolve(event.data);
 * });
 * assertEquals([greeting, client.protocol], ["speaking chat", "chat"]);
 * client.close();
 * await new Promise((resolve) => (client.onclose = resolve));
 * ```
 *
 * @example What the handshake checks
 * ```ts
 * import { upgradeWebSocket } from "@inetkit/inetkit/http";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const headers = {
 *   upgrade: "websocket",
 *   connection: "keep-alive, Upgrade",
 *   "sec-websocket-version": "13",
 *   "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
 * };
 * const { response } = upgradeWebSocket(new Request("http://h.test/chat", { headers }));
 * assertEquals(response.status, 101);
 * assertEquals(response.headers.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
 * const old = { ...headers, "sec-websocket-version": "8" };
 * assertThrows(() => upgradeWebSocket(new Request("http://h.test/", { headers: old })), TypeError);
 * ```
 */
export function upgradeWebSocket(
  request: Request,
  options?: UpgradeWebSocketOptions,
): WebSocketUpgrade {
  options ??= {};
  const idleTimeout = seconds(options.idleTimeout ?? 30, "idleTimeout");
  const closeTimeout = seconds(options.closeTimeout ?? 5, "closeTimeout");
  const maxMessageSize = options.maxMessageSize ?? 16 * 1024 * 1024;
  if (!Number.isSafeInteger(maxMessageSize) || maxMessageSize < 1) {
    throw new RangeError(
      `Cannot upgrade to WebSocket: maxMessageSize ${maxMessageSize} is not a positive integer`,
    );
  }
  if (request.method !== "GET") fail(`the method is ${request.method}, not GET`);
  const headers = request.headers;
  // Body bytes would be read as frames.
  const length = headers.get("content-length");
  if (headers.has("transfer-encoding") || (length !== null && length.trim() !== "0")) {
    fail("the request has a body");
  }
  const upgrade = headers.get("upgrade");
  if (!tokens(upgrade).includes("websocket")) {
    fail(
      upgrade === null
        ? "the request has no Upgrade header"
        : `the Upgrade header ${shown(upgrade)} does not list websocket`,
    );
  }
  const connection = headers.get("connection");
  if (!tokens(connection).includes("upgrade")) {
    fail(
      connection === null
        ? "the request has no Connection header"
        : `the Connection header ${shown(connection)} does not list upgrade`,
    );
  }
  const version = headers.get("sec-websocket-version");
  if (version === null) fail("the request has no Sec-WebSocket-Version header");
  if (version.trim() !== "13") fail(`Sec-WebSocket-Version ${shown(version)} is not 13`);
  const rawKey = headers.get("sec-websocket-key");
  if (rawKey === null) fail("the request has no Sec-WebSocket-Key header");
  const key = rawKey.trim();
  if (!KEY_REGEXP.test(key)) fail(`Sec-WebSocket-Key ${shown(rawKey)} is not 16 bytes in base64`);

  const offered = (headers.get("sec-websocket-protocol") ?? "").split(",")
    .map((p) => p.trim()).filter((p) => p !== "");
  let protocol = "";
  if (options.protocol !== undefined) {
    const wanted = typeof options.protocol === "string" ? [options.protocol] : options.protocol;
    for (const name of wanted) {
      if (typeof name !== "string" || !TOKEN_REGEXP.test(name)) {
        fail(`the subprotocol ${shown(String(name))} is not a token`);
      }
    }
    protocol = wanted.find((name) => offered.includes(name)) ?? "";
    if (protocol === "" && typeof options.protocol === "string") {
      fail(
        `the subprotocol ${shown(options.protocol)} was not offered (the client offered ${
          offered.length === 0 ? "none" : shown(offered.join(", "))
        })`,
      );
    }
  }

  const responseHeaders = new Headers({
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-accept": acceptValue(key),
  });
  if (protocol !== "") responseHeaders.set("sec-websocket-protocol", protocol);
  const response = new WebSocketResponse(null, { headers: responseHeaders });
  const url = request.url.replace(/^http/i, "ws");
  const socket = webSocketInternals().create({
    url,
    protocol,
    maxMessageSize,
    idleTimeout,
    closeTimeout,
  }) as ServerWebSocket;
  registerWebSocketResponse(response, socket);
  return { socket, response };
}

// The class registers its internals when its module is evaluated.
void ServerWebSocket;
