/**
 * The glue between `upgradeWebSocket`, the `ServerWebSocket` it
 * returns and the server: the registry of 101 responses the server may turn
 * into WebSocket connections, and {@linkcode acceptWebSocketResponse}, the
 * one call the server makes when a handler returns a 101 response.
 *
 * @module
 */
import type { ServeHandlerInfo, UpgradedConnection } from "./_server_types.ts";

/** What `upgradeWebSocket` tells the socket it creates. */
export interface WebSocketInit {
  /** The request URL with a `ws:` or `wss:` scheme. */
  url: string;
  /** The negotiated subprotocol, or "". */
  protocol: string;
  /** The most bytes in one received message. */
  maxMessageSize: number;
  /** Seconds without input before a ping, and again before giving up; 0 for never. */
  idleTimeout: number;
  /** Seconds to wait for the close handshake to finish. */
  closeTimeout: number;
}

/** The socket operations only this module's callers may use (set by the class). */
export interface WebSocketInternals {
  /** Makes a socket in the CONNECTING state. */
  create(init: WebSocketInit): WebSocket;
  /** Runs the socket on the upgraded connection; settles when it is closed. */
  run(socket: WebSocket, conn: UpgradedConnection, signal: AbortSignal): Promise<void>;
  /** Ends a socket whose connection never came (CLOSED, error and close events). */
  abandon(socket: WebSocket, error: unknown): void;
}

let internals: WebSocketInternals | null = null;

/** Called once by `ServerWebSocket`'s static initializer. */
export function registerWebSocketInternals(value: WebSocketInternals): void {
  internals = value;
}

/** The socket operations (the class module must have been loaded). */
export function webSocketInternals(): WebSocketInternals {
  if (internals === null) throw new Error("ServerWebSocket is not loaded");
  return internals;
}

const pending = new WeakMap<Response, WebSocket>();

/** Marks `response` as the upgrade of `socket`. */
export function registerWebSocketResponse(response: Response, socket: WebSocket): void {
  pending.set(response, socket);
}

/** The message for a 101 response `upgradeWebSocket` did not make. */
export const FOREIGN_UPGRADE_MESSAGE =
  "HttpServer: the handler returned a 101 response that upgradeWebSocket() did not create; " +
  "Deno.upgradeWebSocket() cannot take over inetkit's connections: use upgradeWebSocket " +
  'from "@inetkit/inetkit/http" instead (answered 500)';

/**
 * The server's hook for a handler's 101 response. For a response from
 * `upgradeWebSocket` (used once): writes the 101 head through
 * `info.upgrade()`, hands the connection (with the bytes already buffered
 * after the request head) to the socket, and settles when the socket is
 * closed, returning the response. For any other 101 response (such as one
 * from `Deno.upgradeWebSocket`): logs why and returns a 500 response to send
 * instead. An HTTP/1.0 request cannot be upgraded (RFC 6455 §4.1): 400.
 */
export async function acceptWebSocketResponse(
  response: Response,
  info: ServeHandlerInfo,
): Promise<Response> {
  const socket = pending.get(response);
  if (socket === undefined) {
    console.error(FOREIGN_UPGRADE_MESSAGE);
    return new Response("Internal Server Error", { status: 500 });
  }
  pending.delete(response);
  const ops = webSocketInternals();
  if (info.version === "HTTP/1.0") {
    ops.abandon(
      socket,
      new TypeError("Cannot upgrade to WebSocket: the request is HTTP/1.0, not HTTP/1.1"),
    );
    return new Response("Bad Request", { status: 400 });
  }
  // Created before the upgrade, so that a shutdown aborts it.
  const signal = info.signal;
  let conn: UpgradedConnection;
  try {
    conn = await info.upgrade({ status: 101, headers: response.headers });
  } catch (error) {
    ops.abandon(socket, error);
    throw error;
  }
  await ops.run(socket, conn, signal);
  return response;
}

/**
 * Makes `Deno.upgradeWebSocket(request)` throw a `TypeError` that points to
 * inetkit's `upgradeWebSocket`, instead of returning a socket that never
 * opens. `request` is the real `Request` behind a server request. Deno asks
 * the request's internal record whether the server can upgrade it; this
 * answers no. Does nothing if that record is not found.
 */
export function refuseNativeUpgrade(request: Request): void {
  const slots = request as unknown as Record<symbol, unknown>;
  const slot = Object.getOwnPropertySymbols(request).find((s) => s.description === "request");
  const inner = slot === undefined ? undefined : slots[slot];
  if (inner === null || typeof inner !== "object") return;
  const refuse = () => {
    throw new TypeError(
      "Cannot upgrade with Deno.upgradeWebSocket(): the request comes from inetkit's server; " +
        'use upgradeWebSocket from "@inetkit/inetkit/http"',
    );
  };
  for (const name of ["_throwIfUpgraded", "_wantsUpgrade"]) {
    Object.defineProperty(inner, name, { value: refuse, configurable: true });
  }
}
