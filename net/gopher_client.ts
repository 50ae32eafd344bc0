import { BufferedReader, type ByteReader } from "./buffered_reader.ts";
import { connectTcp, type TlsOptions } from "./connect_tcp.ts";
import { closeQuietly, writeAll } from "./_io.ts";
import { ProtocolError } from "./protocol_error.ts";
import {
  assertGopherSelector,
  type GopherMenu,
  type GopherMenuOptions,
  readGopherMenu,
  readGopherText,
} from "./gopher_menu.ts";
import { GOPHER_PORT, parseGopherUrl } from "./gopher_url.ts";

/** What to fetch, when not given as a `gopher:` URL. */
export interface GopherRequest {
  /**
   * The server.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * Its port.
   *
   * @default {70}
   */
  port?: number;
  /**
   * The selector; `""` is the server's root menu.
   *
   * @default {""}
   */
  selector?: string;
  /** A search string for a type `7` item, sent after a TAB. */
  search?: string;
  /**
   * The item type, which says how {@linkcode gopherFetch} reads the body:
   * `"0"` is dot-terminated text, anything else is passed through raw.
   *
   * @default {"1"}
   */
  type?: string;
}

/** A `gopher:` URL (RFC 4266) or a {@linkcode GopherRequest}. */
export type GopherTarget = string | URL | GopherRequest;

/** Options for {@linkcode gopherFetch}. */
export interface GopherFetchOptions {
  /**
   * Milliseconds for the connect, and the longest pause while sending the
   * selector or reading the answer. Then the connection is closed and the
   * call (or the body stream) fails with a `TimeoutError`.
   *
   * @default {30000}
   */
  timeout?: number;
  /** Aborts the connect, the request and the body stream (the connection is closed). */
  signal?: AbortSignal;
  /** Speak TLS from the first byte (some modern servers offer it). */
  tls?: boolean | TlsOptions;
  /**
   * The most body bytes to deliver; more errors the stream with a
   * {@linkcode ProtocolError} `"BODY_TOO_LARGE"`.
   *
   * @default {Infinity}
   */
  maxSize?: number;
  /**
   * For type `0`: whether the text is dot-terminated and dot-stuffed as
   * RFC 1436 says (`false` passes every byte until the server closes).
   *
   * @default {true}
   */
  dotTerminated?: boolean;
  /**
   * The most bytes the selector (and the search string) may have.
   *
   * @default {1024}
   */
  maxSelectorLength?: number;
}

/** Options for {@linkcode gopherMenu}: the fetch options and the menu limits. */
export interface GopherMenuFetchOptions extends GopherFetchOptions, GopherMenuOptions {}

const encoder = new TextEncoder();

interface ResolvedRequest {
  hostname: string;
  port: number;
  selector: string;
  search: string | undefined;
  type: string;
}

function resolve(target: GopherTarget, action: string): ResolvedRequest {
  if (typeof target === "string" || target instanceof URL) {
    const url = parseGopherUrl(target);
    return {
      hostname: url.host,
      port: url.port,
      selector: url.selector,
      search: url.search,
      type: url.type,
    };
  }
  if (target === null || typeof target !== "object") {
    throw new TypeError(`Cannot ${action}: the target is not a URL or a request`);
  }
  const port = target.port ?? GOPHER_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot ${action}: port ${port} is not from 1 to 65535`);
  }
  return {
    hostname: target.hostname ?? "127.0.0.1",
    port,
    selector: target.selector ?? "",
    search: target.search,
    type: target.type ?? "1",
  };
}

/**
 * One request's connection: every read and write is bounded by the idle
 * timeout, and the signal or the timeout close the connection and become
 * the error of whatever is waiting.
 */
class GopherExchange implements ByteReader {
  readonly reader: BufferedReader;
  #conn: Deno.Conn;
  #timeout: number;
  #signal: AbortSignal | undefined;
  #failure: { reason: unknown } | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onAbort = () => this.#fail(this.#signal!.reason);
  #closed = false;

  constructor(conn: Deno.Conn, timeout: number, signal: AbortSignal | undefined) {
    this.#conn = conn;
    this.#timeout = timeout;
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.reader = new BufferedReader(this, { bufferSize: 16384 });
  }

  #fail(reason: unknown): void {
    this.#failure ??= { reason };
    this.close();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () =>
        this.#fail(
          new DOMException(
            `Gopher request timed out after ${this.#timeout} ms without progress`,
            "TimeoutError",
          ),
        ),
      this.#timeout,
    );
  }

  /** The reason the exchange was ended, if it was. */
  #failed(): { reason: unknown } | null {
    return this.#failure;
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    const before = this.#failed();
    if (before !== null) throw before.reason;
    this.#arm();
    try {
      const result = await work();
      const failure = this.#failed();
      if (failure !== null) throw failure.reason;
      return result;
    } catch (error) {
      throw this.#failed()?.reason ?? error;
    } finally {
      clearTimeout(this.#timer);
    }
  }

  read(p: Uint8Array): Promise<number | null> {
    return this.#guard(() => this.#conn.read(p));
  }

  send(bytes: Uint8Array): Promise<void> {
    return this.#guard(() => writeAll(this.#conn, bytes));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener("abort", this.#onAbort);
    closeQuietly(this.#conn);
  }
}

async function request(
  target: GopherTarget,
  options: GopherFetchOptions,
  action: string,
): Promise<{ exchange: GopherExchange; type: string }> {
  const resolved = resolve(target, action);
  const maxLength = options.maxSelectorLength ?? 1024;
  assertGopherSelector(resolved.selector, { maxLength });
  if (resolved.search !== undefined) assertGopherSelector(resolved.search, { maxLength });
  const timeout = options.timeout ?? 30000;
  if (!(Number.isFinite(timeout) && timeout > 0)) {
    throw new RangeError(`Cannot ${action}: timeout ${timeout} is not a positive number`);
  }
  const maxSize = options.maxSize ?? Infinity;
  if (!(maxSize === Infinity || (Number.isSafeInteger(maxSize) && maxSize >= 0))) {
    throw new RangeError(`Cannot ${action}: maxSize ${maxSize} is not a size`);
  }
  options.signal?.throwIfAborted();
  const conn = await connectTcp({
    hostname: resolved.hostname,
    port: resolved.port,
    tls: options.tls,
    timeout,
    signal: options.signal,
  });
  const exchange = new GopherExchange(conn, timeout, options.signal);
  try {
    const line = resolved.search === undefined
      ? resolved.selector
      : `${resolved.selector}\t${resolved.search}`;
    await exchange.send(encoder.encode(`${line}\r\n`));
  } catch (error) {
    exchange.close();
    throw error;
  }
  return { exchange, type: resolved.type };
}

/** The raw bytes of the answer until the server closes, counted against `maxSize`. */
function rawBody(reader: BufferedReader, maxSize: number): ReadableStream<Uint8Array> {
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await reader.readAvailable();
      if (chunk === null) {
        controller.close();
        return;
      }
      size += chunk.length;
      if (size > maxSize) {
        throw new ProtocolError(
          "BODY_TOO_LARGE",
          `Cannot read gopher item: it exceeds ${maxSize} bytes`,
        );
      }
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
}

/**
 * Fetches one item (RFC 1436): connects, sends the selector (and the search
 * string after a TAB), and returns the answer as a stream. A type `0` item
 * is read as text: it ends at the `.` line and a leading `..` loses a dot
 * (see {@linkcode readGopherText}; servers that close without the `.` line
 * are fine too). Any other type (menus too: use {@linkcode gopherMenu} to
 * parse them) is passed through raw until the server closes. The connection
 * closes when the stream ends, fails or is cancelled.
 *
 * Requests are plain RFC 1436; Gopher+ attributes are never asked for.
 *
 * @param target A `gopher:` URL (its type decides how the body is read), or
 *   a request.
 * @param options The idle timeout, a signal, TLS and limits.
 * @returns The body.
 * @throws {TypeError} If the URL is invalid or the selector or search holds
 *   a CR, LF, TAB or NUL.
 * @throws {RangeError} If the selector is too long or a number is out of range.
 * @throws {DOMException} A `TimeoutError`, or the signal's reason; the
 *   stream errors with them too.
 * @throws {Deno.errors.ConnectionRefused} And the other network errors.
 *
 * @example Reading a text file from a local server
 * ```ts
 * import { gopherFetch } from "@inetkit/inetkit/net";
 * import { GopherServer } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/about.txt`, "About\n.hidden dot\n");
 * {
 *   await using server = new GopherServer({ root });
 *   const body = await gopherFetch(`gopher://127.0.0.1:${server.addr.port}/0/about.txt`);
 *   // The server stuffed the dot and ended with ".", the client undid both.
 *   assertEquals(await new Response(body).text(), "About\r\n.hidden dot\r\n");
 * }
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function gopherFetch(
  target: GopherTarget,
  options?: GopherFetchOptions,
): Promise<ReadableStream<Uint8Array>> {
  options ??= {};
  const { exchange, type } = await request(target, options, "fetch gopher item");
  const maxSize = options.maxSize ?? Infinity;
  const inner = type === "0" && options.dotTerminated !== false
    ? readGopherText(exchange.reader, { maxSize })
    : rawBody(exchange.reader, maxSize);
  const source = inner.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await source.read();
        if (done) {
          exchange.close();
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        exchange.close();
        throw error;
      }
    },
    async cancel(reason) {
      exchange.close();
      await source.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

/**
 * Fetches a menu and parses it, gopherlib's `send_selector` plus
 * `get_directory`: lines that are not valid items are skipped and counted,
 * `i` info lines are kept, and the menu is capped in size (see
 * {@linkcode readGopherMenu}). The connection is closed afterwards.
 *
 * @param target A `gopher:` URL of a type `1` (or `7`) item, or a request.
 * @param options The idle timeout, a signal, TLS, and the menu limits.
 * @returns The items, the number of skipped lines, and whether the `.`
 *   line came.
 * @throws {ProtocolError} `"MENU_TOO_LARGE"` when the menu exceeds `maxMenuSize`.
 * @throws {TypeError} If the URL is invalid or names an item that is not a
 *   menu, or the selector holds a CR, LF, TAB or NUL.
 * @throws {RangeError} If the selector is too long or a number is out of range.
 * @throws {DOMException} A `TimeoutError`, or the signal's reason.
 * @throws {Deno.errors.ConnectionRefused} And the other network errors.
 *
 * @example Listing a server's root menu
 * ```ts
 * import { gopherMenu } from "@inetkit/inetkit/net";
 * import { GopherServer } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/gophermap`, "Welcome\n0About\t/about.txt\n");
 * {
 *   await using server = new GopherServer({ root });
 *   const menu = await gopherMenu({ hostname: "127.0.0.1", port: server.addr.port, selector: "/" });
 *   assertEquals(menu.items.map((item) => [item.type, item.display, item.selector]), [
 *     ["i", "Welcome", ""],
 *     ["0", "About", "/about.txt"],
 *   ]);
 * }
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function gopherMenu(
  target: GopherTarget,
  options?: GopherMenuFetchOptions,
): Promise<GopherMenu> {
  options ??= {};
  if (typeof target === "string" || target instanceof URL) {
    const type = parseGopherUrl(target).type;
    if (type !== "1" && type !== "7") {
      throw new TypeError(
        `Cannot read gopher menu: ${String(target)} is a type ${type} item, not a menu`,
      );
    }
  }
  const { exchange } = await request(target, options, "read gopher menu");
  try {
    return await readGopherMenu(exchange.reader, {
      maxMenuSize: options.maxMenuSize,
      maxLineLength: options.maxLineLength,
    });
  } finally {
    exchange.close();
  }
}
