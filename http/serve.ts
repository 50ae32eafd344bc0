import { HttpServer, type ServeHandler, type ServeOptions } from "./http_server.ts";

/** {@linkcode ServeOptions} with the handler inside, the third form of `serve`. */
export interface ServeInit extends ServeOptions {
  /** Answers each request. */
  handler: ServeHandler;
}

/**
 * Starts an HTTP/1.1 server, with the call shapes and the result of
 * `Deno.serve`: `serve(handler)`, `serve(options, handler)` or
 * `serve({ ...options, handler })`. The result has `addr`, `finished`,
 * `shutdown()` and works with `await using`. Unlike `Deno.serve` it listens
 * on 127.0.0.1 unless told otherwise, and prints nothing (pass `onListen`).
 *
 * @param handler Answers each request.
 * @returns The running server.
 * @throws {TypeError} If no handler is given.
 * @throws {RangeError} If a limit or timeout is not a valid number.
 * @throws {Deno.errors.AddrInUse} And the other listen errors.
 *
 * @example Hello world
 * ```ts
 * import { serve } from "@inetkit/inetkit/http";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serve({ port: 0 }, () => new Response("Hello, World!"));
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assertEquals(await response.text(), "Hello, World!");
 * ```
 */
export function serve(handler: ServeHandler): HttpServer;
/**
 * Starts an HTTP/1.1 server with options (see the first overload).
 *
 * @param options Where to listen, TLS, limits and timeouts.
 * @param handler Answers each request.
 * @returns The running server.
 */
export function serve(options: ServeOptions, handler: ServeHandler): HttpServer;
/**
 * Starts an HTTP/1.1 server with the handler among the options (see the
 * first overload).
 *
 * @param init The options and the handler.
 * @returns The running server.
 */
export function serve(init: ServeInit): HttpServer;
export function serve(
  options: ServeOptions | ServeInit | ServeHandler,
  handler?: ServeHandler,
): HttpServer {
  let opts: ServeOptions;
  let fn: ServeHandler | undefined;
  if (typeof options === "function") {
    opts = {};
    fn = options;
  } else {
    opts = options;
    fn = handler ?? (options as Partial<ServeInit>).handler;
  }
  if (typeof fn !== "function") throw new TypeError("Cannot serve: no handler function given");
  const server = new HttpServer(opts, fn);
  opts.onListen?.(server.addr);
  return server;
}
