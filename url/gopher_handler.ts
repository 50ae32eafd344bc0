import { gopherFetch, type GopherFetchOptions } from "../net/gopher_client.ts";
import { GOPHER_ITEM_TYPE_NAMES, type GopherMenu, parseGopherMenu } from "../net/gopher_menu.ts";
import { formatGopherUrl, type GopherUrl, parseGopherUrl } from "../net/gopher_url.ts";
import { mediaTypeFor } from "../net/_mime_types.ts";
import { registerDefaultHandler } from "./build_opener.ts";
import type { UrlHandler } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import { URLError } from "./url_error.ts";
import { UrlResponse } from "./url_response.ts";

/** Options for {@linkcode GopherHandler}. */
export interface GopherHandlerOptions {
  /**
   * Milliseconds for the connect and each pause in the answer, when the
   * request sets no `timeout`.
   *
   * @default {30000}
   */
  timeout?: number;
  /**
   * The most bytes of a menu (it is read whole to be rendered).
   *
   * @default {4194304}
   */
  maxMenuSize?: number;
}

const MEDIA_BY_TYPE: Readonly<Record<string, string>> = {
  "0": "text/plain; charset=utf-8",
  "4": "application/mac-binhex40",
  "6": "text/x-uuencode",
  "c": "text/calendar",
  "g": "image/gif",
  "h": "text/html; charset=utf-8",
  "M": "message/rfc822",
  "p": "image/png",
};
const MENU_TYPE = "text/plain; charset=utf-8";
const UNFETCHABLE: Readonly<Record<string, string>> = {
  "2": "a CSO phone-book server",
  "3": "an error line",
  "8": "a Telnet session",
  "T": "a tn3270 session",
  "i": "an info line",
};
// deno-lint-ignore no-control-regex
const CONTROL_REGEXP = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The display text with control characters (terminal escapes) made harmless. */
function printable(text: string): string {
  return text.replace(CONTROL_REGEXP, "?").replaceAll("\t", " ");
}

/**
 * Renders a menu for a person: info lines as they are, errors marked, and
 * every link as `[kind] display <url>`.
 */
function renderMenu(menu: GopherMenu): string {
  let out = "";
  for (const item of menu.items) {
    const display = printable(item.display);
    if (item.type === "i") {
      out += `${display}\n`;
      continue;
    }
    if (item.type === "3") {
      out += `Error: ${display}\n`;
      continue;
    }
    const kind = GOPHER_ITEM_TYPE_NAMES[item.type] ?? `type ${printable(item.type)}`;
    let link: string;
    try {
      link = formatGopherUrl(item);
    } catch {
      link = "no valid link";
    }
    out += `[${kind}] ${display} <${link}>\n`;
  }
  if (menu.skipped === 1) out += "(1 line that was not a menu item left out)\n";
  else if (menu.skipped > 1) out += `(${menu.skipped} lines that were not menu items left out)\n`;
  return out;
}

function mediaType(url: GopherUrl): string {
  const known = MEDIA_BY_TYPE[url.type];
  if (known !== undefined) return known;
  const guessed = mediaTypeFor(url.selector.slice(url.selector.lastIndexOf("/") + 1));
  if (url.type === "I" || url.type === ":") {
    return guessed?.startsWith("image/") ? guessed : "application/octet-stream";
  }
  if (url.type === "s" || url.type === "<") {
    return guessed?.startsWith("audio/") ? guessed : "application/octet-stream";
  }
  if (url.type === ";") return guessed?.startsWith("video/") ? guessed : "application/octet-stream";
  return guessed !== undefined && !guessed.startsWith("text/")
    ? guessed
    : "application/octet-stream";
}

/**
 * Opens `gopher:` URLs (RFC 4266), urllib's old `GopherHandler`: a menu
 * (type `1`, or `7` with a search string) comes back as `text/plain` lines
 * a person can read, `[kind] display <url>` with each item's URL; a text
 * item (type `0`) as `text/plain`, dot-unstuffed; HTML as `text/html`;
 * everything else raw, typed by its item type or its name
 * (`application/octet-stream` when unknown). Telnet, tn3270 and CSO items
 * cannot be fetched and fail with a {@linkcode URLError}, as do info and
 * error lines.
 *
 * The request's `timeout` bounds the connect and every pause of the answer,
 * and its signal aborts both. Gopher has no proxies here: a request a proxy
 * handler routed (through `all_proxy`) fails rather than going direct.
 *
 * Loading this module registers the handler with
 * {@linkcode registerDefaultHandler}, so every {@linkcode buildOpener} (and
 * `urlopen`) opens `gopher:` URLs.
 *
 * @example Opening a menu served by GopherServer
 * ```ts
 * import { buildOpener, ProxyHandler } from "@inetkit/inetkit/url";
 * import "./gopher_handler.ts";
 * import { GopherServer } from "../net/gopher_server.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/hello.txt`, "hello\n");
 * {
 *   await using server = new GopherServer({ root });
 *   await using opener = buildOpener(new ProxyHandler({}));
 *   const base = `gopher://127.0.0.1:${server.addr.port}`;
 *   const menu = await opener.open(`${base}/1/`);
 *   assertEquals(await menu.text(), `[text] hello.txt <${base}/0/hello.txt>\n`);
 *   const text = await opener.open(`${base}/0/hello.txt`);
 *   assertEquals(text.headers.get("content-type"), "text/plain; charset=utf-8");
 *   assertEquals(await text.text(), "hello\r\n");
 * }
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class GopherHandler implements UrlHandler {
  /** Only `gopher:`. */
  readonly protocols: readonly string[] = ["gopher:"];
  #timeout: number;
  #maxMenuSize: number;

  /**
   * Creates the handler.
   *
   * @param options The default timeout and the menu size cap.
   * @throws {RangeError} If a number is out of range.
   */
  constructor(options?: GopherHandlerOptions) {
    options ??= {};
    const timeout = options.timeout ?? 30000;
    if (!(Number.isFinite(timeout) && timeout > 0)) {
      throw new RangeError(`Cannot create gopher handler: timeout ${timeout} is not positive`);
    }
    const maxMenuSize = options.maxMenuSize ?? 4 * 1024 * 1024;
    if (!Number.isSafeInteger(maxMenuSize) || maxMenuSize < 1) {
      throw new RangeError(
        `Cannot create gopher handler: maxMenuSize ${maxMenuSize} is not positive`,
      );
    }
    this.#timeout = timeout;
    this.#maxMenuSize = maxMenuSize;
  }

  /**
   * Fetches the item.
   *
   * @param request A `gopher:` request.
   * @returns The response: a rendered menu, or the item's body streaming.
   * @throws {URLError} For an item type that cannot be fetched, a request
   *   routed through a proxy, or a failed connection or answer.
   * @throws {TypeError} For a malformed `gopher:` URL.
   */
  async open(request: UrlRequest): Promise<UrlResponse> {
    if (request.proxy !== null) {
      throw new URLError(
        `gopher through a proxy is not supported (${request.proxy.host}); add the host to no_proxy`,
      );
    }
    const url = parseGopherUrl(request.url);
    const what = UNFETCHABLE[url.type];
    if (what !== undefined) {
      throw new URLError(`gopher item type ${url.type} is ${what}, which cannot be fetched`);
    }
    const options: GopherFetchOptions = {
      timeout: request.timeout ?? this.#timeout,
      signal: request.signal,
    };
    const target = {
      hostname: url.host,
      port: url.port,
      selector: url.selector,
      search: url.search,
      type: url.type,
    };
    if (url.type === "1" || url.type === "7") {
      const body = await gopherFetch({ ...target, type: "1" }, {
        ...options,
        maxSize: this.#maxMenuSize,
      });
      const bytes = await new Response(body).bytes();
      const menu = parseGopherMenu(bytes, { maxMenuSize: this.#maxMenuSize });
      // Not a menu at all (gophernicus answers a missing selector with one
      // bare "Error: ..." line): show what the server said.
      const text = menu.items.length === 0 && !menu.terminated
        ? printable(decoder.decode(bytes).replaceAll("\r\n", "\n")).trimEnd() + "\n"
        : renderMenu(menu);
      const rendered = encoder.encode(text);
      return new UrlResponse(rendered, {
        status: 200,
        statusText: "OK",
        headers: { "Content-Type": MENU_TYPE, "Content-Length": String(rendered.length) },
        url: request.url,
      });
    }
    const body = await gopherFetch(target, options);
    return new UrlResponse(body, {
      status: 200,
      statusText: "OK",
      headers: { "Content-Type": mediaType(url) },
      url: request.url,
    });
  }
}

registerDefaultHandler(GopherHandler, () => new GopherHandler());
