import { BufferedReader } from "./buffered_reader.ts";
import { DotStuffingEncoderStream } from "./dot_stuffing.ts";
import { writeAll } from "./_io.ts";
import { ProtocolError } from "./protocol_error.ts";
import { TcpServer } from "./tcp_server.ts";
import type { TcpConnectionInfo, TcpOverloadInfo } from "./tcp_server.ts";
import type { GopherItem } from "./_gopher_types.ts";
import {
  assertGopherSelector,
  formatGopherMenuItem,
  gopherInfoItem,
  gopherTypeForFile,
  parseGophermap,
} from "./gopher_menu.ts";
import {
  listDirectory,
  readGophermapFile,
  resolveSelector,
  selectorSegments,
} from "./_gopher_server_fs.ts";

/** Options for {@linkcode GopherServer}. */
export interface GopherServerOptions {
  /** The directory to serve. */
  root: string;
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port; 0 picks a free one (see `addr`).
   *
   * @default {0}
   */
  port?: number;
  /**
   * The host name written into generated menus, where clients go next.
   *
   * @default {the address the client connected to}
   */
  publicHostname?: string;
  /**
   * The port written into generated menus (behind a port forward).
   *
   * @default {the port listened on}
   */
  publicPort?: number;
  /**
   * Send text items (type `0`) as RFC 1436 says: CR LF line ends, lines
   * starting with a dot doubled, and the `.` line at the end. `false` sends
   * the file's bytes as they are and closes (what gophernicus does).
   *
   * @default {true}
   */
  dotStuffText?: boolean;
  /**
   * Milliseconds a client has to send its selector line.
   *
   * @default {10000}
   */
  requestTimeout?: number;
  /**
   * Milliseconds the answer may stall (a client that stops reading).
   *
   * @default {30000}
   */
  idleTimeout?: number;
  /**
   * The most connections at once; more get a busy answer.
   *
   * @default {256}
   */
  maxConnections?: number;
  /**
   * The most connections from one address at once.
   *
   * @default {32}
   */
  maxConnectionsPerAddress?: number;
  /**
   * The longest selector in bytes; a longer request line gets an error.
   *
   * @default {1024}
   */
  maxSelectorLength?: number;
  /**
   * The most entries a generated listing shows; an info line says how many
   * more there were.
   *
   * @default {10000}
   */
  maxMenuItems?: number;
  /**
   * The largest `gophermap` read; a larger one is ignored (with an error to
   * `onError`) and the directory is listed instead.
   *
   * @default {1048576}
   */
  maxGophermapSize?: number;
  /** Aborting it shuts the server down. */
  signal?: AbortSignal;
  /**
   * Receives one line per request once it is answered (or given up): the
   * client's address, the time, the selector in quotes (control
   * characters, quotes and backslashes escaped as `\xNN`, so a client
   * cannot forge lines; a search string after a TAB is never logged), the
   * outcome and the bytes sent:
   * `127.0.0.1 [14/Nov/2023:22:13:20 +0000] "/hello.txt" ok 6`.
   *
   * The outcome is one of {@linkcode GopherServerOutcome}. A connection
   * that closes without sending anything is not logged. A sink that throws
   * is reported to `onError`.
   *
   * @default {no access log}
   */
  accessLog?: (line: string) => void;
  /**
   * Receives errors the server recovered from (a failed listing, a bad
   * gophermap); clients only ever see a generic error item.
   *
   * @default {logs to console.error}
   */
  onError?: (error: unknown) => void;
}

/**
 * How a request ended, as the access log says it: `ok` (the item was
 * sent), `not-found`, `refused` (a selector that leads outside the root or
 * to a dotfile), `bad-selector` (not a valid selector or `URL:` target),
 * `too-long` (a request line over `maxSelectorLength`), `error` (the
 * server failed; see `onError`), `aborted` (the client went away or the
 * server shut down mid-answer), `timeout` (no selector within
 * `requestTimeout`, or an answer stalled past `idleTimeout`), `busy` (over
 * a connection cap).
 */
export type GopherServerOutcome =
  | "ok"
  | "not-found"
  | "refused"
  | "bad-selector"
  | "too-long"
  | "error"
  | "aborted"
  | "timeout"
  | "busy";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
// deno-lint-ignore no-control-regex
const LOG_ESCAPE_REGEXP = /[\x00-\x1f\x7f-\x9f"\\]/g;

/** A request line that could not be read: the client went away or stalled. */
class ClientGone extends Error {
  constructor(options: ErrorOptions) {
    super("Cannot read the request line", options);
    this.name = "ClientGone";
  }
}

/** One access-log line; see `GopherServerOptions.accessLog`. */
function gopherAccessLine(
  host: string,
  selector: string | null,
  outcome: GopherServerOutcome,
  bytes: number,
  now: Date,
): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const date = `${pad(now.getUTCDate())}/${MONTHS[now.getUTCMonth()]}/${now.getUTCFullYear()}:${
    pad(now.getUTCHours())
  }:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())} +0000`;
  const shown = selector === null ? "-" : `"${
    selector.replace(
      LOG_ESCAPE_REGEXP,
      (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
    )
  }"`;
  return `${host} [${date}] ${shown} ${outcome} ${bytes}`;
}

/** An error answer: a one-item menu of type `3`. */
function errorMenu(message: string): Uint8Array {
  return encoder.encode(`3${message}\t\terror.host\t1\r\n.\r\n`);
}

function htmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A Gopher server (RFC 1436) over a directory, on {@linkcode TcpServer}:
 * a directory's selector answers with a menu (its `gophermap`, parsed as
 * gophernicus does by {@linkcode parseGophermap}, or a listing typed by
 * {@linkcode gopherTypeForFile}), a file's selector with the file (text
 * items dot-stuffed and terminated unless `dotStuffText` is off), and
 * `URL:` selectors with a small HTML page linking to the target.
 *
 * It never serves outside its root: selectors with `.` or `..` segments,
 * dotfiles, backslashes, control characters, NUL or drive letters are
 * refused, and symlinks are followed only when their target is inside the
 * root (otherwise the answer is the same "not found" as for a missing
 * file). The selector line is capped (`maxSelectorLength`) and must arrive
 * within `requestTimeout`; a stalled answer ends after `idleTimeout`;
 * connections are capped in total and per address. Search strings (after a
 * TAB) and Gopher+ requests are ignored: the plain item is sent. With
 * `accessLog`, each request gives one line: the client, the time, the
 * selector, the {@linkcode GopherServerOutcome} and the bytes sent.
 *
 * @example Serving a directory and reading its menu
 * ```ts
 * import { GopherServer } from "@inetkit/inetkit/net";
 * import { gopherMenu } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/hello.txt`, "hello\n");
 * await Deno.mkdir(`${root}/docs`);
 * {
 *   await using server = new GopherServer({ root });
 *   const menu = await gopherMenu({ port: server.addr.port });
 *   assertEquals(menu.items.map((i) => [i.type, i.display, i.selector]), [
 *     ["1", "docs/", "/docs"],
 *     ["0", "hello.txt", "/hello.txt"],
 *   ]);
 * }
 * await Deno.remove(root, { recursive: true });
 * ```
 *
 * @example Logging one line per request
 * ```ts
 * import { gopherFetch, GopherServer } from "@inetkit/inetkit/net";
 * import { assertEquals, assertMatch } from "@std/assert";
 *
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/hello.txt`, "hello\n");
 * const lines: string[] = [];
 * {
 *   await using server = new GopherServer({ root, accessLog: (line) => lines.push(line) });
 *   const base = `gopher://127.0.0.1:${server.addr.port}`;
 *   const body = await gopherFetch(`${base}/0/hello.txt`);
 *   assertEquals(await new Response(body).text(), "hello\r\n");
 *   await new Response(await gopherFetch(`${base}/1/missing`)).text();
 * }
 * // Written once each answer is complete: after shutdown both are there.
 * assertEquals(lines.length, 2);
 * // "hello\r\n" and the ".\r\n" that ends a text item: 10 bytes.
 * assertMatch(lines[0]!, /^127\.0\.0\.1 \[\d\d\/\w{3}\/\d{4}:[\d:]{8} \+0000\] "\/hello\.txt" ok 10$/);
 * assertMatch(lines[1]!, /^127\.0\.0\.1 \[.+\] "\/missing" not-found \d+$/);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class GopherServer implements AsyncDisposable {
  #tcp: TcpServer;
  #realRoot: string;
  #publicHostname: string | undefined;
  #publicPort: number | undefined;
  #dotStuff: boolean;
  #requestTimeout: number;
  #maxSelector: number;
  #maxItems: number;
  #maxGophermap: number;
  #onError: (error: unknown) => void;
  #accessLog: ((line: string) => void) | null;

  /**
   * Starts listening at once.
   *
   * @param options The root, where to listen, what to write into menus,
   *   timeouts and caps.
   * @throws {TypeError} If `root` is empty or not a directory.
   * @throws {Deno.errors.NotFound} If `root` does not exist.
   * @throws {RangeError} If a limit is out of range.
   * @throws {Deno.errors.AddrInUse} And the other listen errors.
   */
  constructor(options: GopherServerOptions) {
    if (typeof options?.root !== "string" || options.root === "") {
      throw new TypeError("Cannot start gopher server: root is empty");
    }
    const positive = (value: number, name: string): number => {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`Cannot start gopher server: ${name} ${value} is not positive`);
      }
      return value;
    };
    this.#publicHostname = options.publicHostname;
    this.#publicPort = options.publicPort;
    this.#dotStuff = options.dotStuffText ?? true;
    this.#requestTimeout = positive(options.requestTimeout ?? 10000, "requestTimeout");
    this.#maxSelector = positive(options.maxSelectorLength ?? 1024, "maxSelectorLength");
    this.#maxItems = positive(options.maxMenuItems ?? 10000, "maxMenuItems");
    this.#maxGophermap = positive(options.maxGophermapSize ?? 1024 * 1024, "maxGophermapSize");
    this.#onError = options.onError ?? ((error) => console.error("GopherServer:", error));
    this.#accessLog = options.accessLog ?? null;
    this.#realRoot = Deno.realPathSync(options.root);
    if (!Deno.statSync(this.#realRoot).isDirectory) {
      throw new TypeError(`Cannot start gopher server: root ${options.root} is not a directory`);
    }
    this.#tcp = new TcpServer({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      maxConnections: options.maxConnections ?? 256,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 32,
      idleTimeout: options.idleTimeout ?? 30000,
      signal: options.signal,
      onError: this.#onError,
      onOverload: async (conn, info) => {
        const busy = errorMenu("Server busy, try again later");
        let sent = 0;
        try {
          await writeAll(conn, busy);
          sent = busy.length;
        } finally {
          this.#log(info, null, "busy", sent);
        }
      },
    }, (conn, info) => this.#serve(conn, info));
  }

  /** The address listened on. */
  get addr(): Deno.NetAddr {
    return this.#tcp.addr;
  }

  /** Settles when the server has shut down. */
  get finished(): Promise<void> {
    return this.#tcp.finished;
  }

  #log(
    info: TcpConnectionInfo | TcpOverloadInfo,
    selector: string | null,
    outcome: GopherServerOutcome,
    bytes: number,
  ): void {
    const sink = this.#accessLog;
    if (sink === null) return;
    try {
      sink(gopherAccessLine(info.remoteAddr.hostname, selector, outcome, bytes, new Date()));
    } catch (error) {
      this.#onError(error);
    }
  }

  async #serve(conn: Deno.Conn, info: TcpConnectionInfo): Promise<void> {
    const deadline = info.deadline;
    let expired = false;
    const expire = deadline.onExpire;
    deadline.onExpire = (reason) => {
      expired = true;
      expire(reason);
    };
    let bytes = 0;
    const send = async (data: Uint8Array): Promise<void> => {
      await writeAll(conn, data);
      bytes += data.length;
      deadline.touch();
    };
    let selector: string | null = null;
    let outcome: GopherServerOutcome | null = null;
    try {
      outcome = await this.#request(conn, info, send, (s) => selector = s);
    } catch (error) {
      if (
        !(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset ||
          error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted ||
          error instanceof ClientGone)
      ) {
        this.#onError(error);
        outcome = "error";
        await send(errorMenu("Cannot serve this selector")).catch(() => {});
      } else {
        // The client went away, or its deadline closed the connection.
        outcome = expired ? "timeout" : "aborted";
      }
    } finally {
      if (outcome !== null) this.#log(info, selector, outcome, bytes);
    }
  }

  /** Reads the request and answers it; `null` for a connection that sent nothing. */
  async #request(
    conn: Deno.Conn,
    info: TcpConnectionInfo,
    send: (bytes: Uint8Array) => Promise<void>,
    got: (selector: string) => void,
  ): Promise<GopherServerOutcome | null> {
    const deadline = info.deadline;
    deadline.after(this.#requestTimeout);
    const reader = new BufferedReader(conn, { bufferSize: 2048 });
    let line: Uint8Array | null;
    try {
      // The selector, a TAB and a search string or Gopher+ field may follow.
      line = await reader.readLineBytes({ maxLength: this.#maxSelector * 2 + 16 });
    } catch (error) {
      if (error instanceof ProtocolError && error.code === "LINE_TOO_LONG") {
        await send(errorMenu("Selector too long"));
        return "too-long";
      }
      // Any other failure to read the request line is the client's doing.
      throw new ClientGone({ cause: error });
    }
    if (line === null) return null;
    deadline.touch();
    const selector = decoder.decode(line).split("\t")[0]!;
    got(selector);
    try {
      assertGopherSelector(selector, { maxLength: this.#maxSelector });
    } catch {
      await send(errorMenu("Bad selector"));
      return "bad-selector";
    }
    return await this.#answer(selector, info, send);
  }

  async #answer(
    selector: string,
    info: TcpConnectionInfo,
    send: (bytes: Uint8Array) => Promise<void>,
  ): Promise<GopherServerOutcome> {
    if (selector.startsWith("URL:")) {
      const target = selector.slice(4);
      if (
        !/^[a-z][a-z0-9+.-]*:[^\s"<>]*$/i.test(target) || /^(javascript|data|file):/i.test(target)
      ) {
        await send(errorMenu("Bad URL selector"));
        return "bad-selector";
      }
      const href = htmlEscape(target);
      await send(encoder.encode(
        `<!DOCTYPE html>\n<html><head><meta http-equiv="refresh" content="0;url=${href}">` +
          `<title>${href}</title></head>\n<body><p>This item points outside Gopher: ` +
          `<a href="${href}">${href}</a></p></body></html>\n`,
      ));
      return "ok";
    }
    const realRoot = this.#realRoot;
    const target = await resolveSelector(realRoot, selector);
    if (target.kind === "refused" || target.kind === "missing") {
      await send(errorMenu(target.kind === "refused" ? "Selector refused" : "Not found"));
      return target.kind === "refused" ? "refused" : "not-found";
    }
    const host = this.#publicHostname ?? info.localAddr.hostname;
    const port = this.#publicPort ?? this.addr.port;
    if (target.kind === "directory") {
      await send(
        encoder.encode(await this.#menu(realRoot, target.path, target.selector, host, port)),
      );
      return "ok";
    }
    const type = gopherTypeForFile(target.name);
    const file = await Deno.open(target.path, { read: true });
    let body: ReadableStream<Uint8Array> = file.readable;
    if (type === "0" && this.#dotStuff) body = body.pipeThrough(new DotStuffingEncoderStream());
    const reader = body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        await send(value);
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
    return "ok";
  }

  async #menu(
    realRoot: string,
    directory: string,
    selector: string,
    host: string,
    port: number,
  ): Promise<string> {
    const items: GopherItem[] = [];
    let listing = true;
    let hidden = new Set<string>();
    let map: Uint8Array | null = null;
    try {
      map = await readGophermapFile(realRoot, directory, this.#maxGophermap);
    } catch (error) {
      this.#onError(error);
    }
    if (map !== null) {
      const parsed = parseGophermap(map, { host, port, directory: selector });
      // Local selectors this server would refuse (`..`, dotfiles): leave them out.
      for (const item of parsed.items) {
        const local = item.host === host && item.port === port;
        if (
          local && !item.selector.startsWith("URL:") && selectorSegments(item.selector) === null
        ) {
          continue;
        }
        items.push(item);
      }
      listing = parsed.listing;
      hidden = new Set(parsed.hidden);
    }
    if (listing) {
      const list = await listDirectory(
        realRoot,
        directory,
        selector,
        host,
        port,
        hidden,
        this.#maxItems,
      );
      items.push(...list.items);
      if (list.omitted > 0) items.push(gopherInfoItem(`(${list.omitted} more entries not listed)`));
    }
    let out = "";
    for (const item of items) {
      try {
        out += formatGopherMenuItem(item);
      } catch {
        // A field a menu cannot carry (from a gophermap): leave the item out.
      }
    }
    return out + ".\r\n";
  }

  /**
   * Stops accepting, lets answers in progress finish (up to `timeout` ms),
   * then closes what is left.
   *
   * @param options The grace period.
   * @returns A promise that settles when every connection has ended.
   */
  shutdown(options?: { timeout?: number }): Promise<void> {
    options ??= {};
    return this.#tcp.shutdown({ timeout: options.timeout ?? 2000 });
  }

  /** Shuts down with the default grace period. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
