import type { GopherItem } from "./_gopher_types.ts";

/** Options for {@linkcode parseGophermap}. */
export interface GophermapOptions {
  /** The host name of the serving server, used for items that name no host. */
  host: string;
  /** The port of the serving server, used for items that name no port. */
  port: number;
  /**
   * The selector of the directory holding the gophermap; relative selectors
   * are resolved against it. A missing trailing `/` is added.
   *
   * @default {"/"}
   */
  directory?: string;
  /**
   * The most bytes the gophermap may have.
   *
   * @default {1048576}
   */
  maxSize?: number;
}

/** A parsed gophermap. */
export interface Gophermap {
  /** The menu items, in order. */
  items: GopherItem[];
  /** Whether the map ended with `*`: the directory listing goes after the items. */
  listing: boolean;
  /** The names that `-name` lines hide from that listing. */
  hidden: string[];
  /**
   * The 1-based numbers of the lines that were dropped: the unsupported
   * `:ext=type`, `~`, `%` and `=mapfile` lines, item lines with an empty type
   * or a port that is not 1 to 65535, and lines holding a NUL.
   */
  ignored: number[];
}

const PORT_REGEXP = /^[0-9]{1,5}$/;

/**
 * Parses a `gophermap` file the way gophernicus does, for a server that
 * serves a directory with one. The supported subset, checked line for line
 * against gophernicus 3.1.1:
 *
 * - The first character decides, whether or not the line holds a TAB: `#` is
 *   a comment; `!title` is the menu title (an `i` line whose selector is
 *   `TITLE`); `-name` hides `name` from the listing; `*` ends the map and
 *   asks for the directory listing after it; `.` ends the map. `:ext=type`,
 *   `~` (user directories), `%` (virtual hosts) and `=mapfile` (includes and
 *   scripts) are not supported: those lines are dropped and reported in
 *   `ignored`. There are no inline `*.gophermap` files either.
 * - Any other line with a TAB is an item, `Xdisplay TAB selector TAB host TAB
 *   port`. A missing or empty selector is the display string; a missing or
 *   empty host is the serving host, and then a selector that does not start
 *   with `/` or `URL:` is relative to `directory` (joined as is, `..` is not
 *   resolved: the server's selector handling must refuse it); a missing or
 *   empty port is the serving port; fields after the port are dropped.
 * - Any other line, an empty one too, is info text (an `i` line with the
 *   placeholders of `gopherInfoItem`).
 * - Lines end with LF or CR LF.
 *
 * Where this differs from gophernicus: a port that is not 1 to 65535 drops
 * the line (gophernicus sends its `atoi` value, `abc` as 0), except on `i`
 * and `3` lines, whose port is a placeholder (0 to 65535, anything else 0); a title or
 * hidden name ends at a TAB (gophernicus copies the TAB into the menu); an
 * empty host field takes the serving host even when a port follows
 * (gophernicus sends it empty); a line starting with TAB is dropped.
 *
 * @param text The gophermap's content, text or bytes (decoded as UTF-8).
 * @param options The serving host and port, the directory, and a size cap.
 * @returns The items, whether to append the listing, the hidden names and the
 *   dropped lines.
 * @throws {RangeError} If the map is over `maxSize` bytes or the port is not
 *   from 1 to 65535.
 * @throws {TypeError} If the host is empty.
 *
 * @example A gophermap with relative links and a listing
 * ```ts
 * import { formatGopherMenu, parseGophermap } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const map = parseGophermap(
 *   "!Docs\nSome notes:\n0First\tfirst.txt\n1Elsewhere\t/\tgopher.example\t70\n-secret.txt\n*\n",
 *   { host: "localhost", port: 7070, directory: "/docs" },
 * );
 * assertEquals(
 *   formatGopherMenu(map.items),
 *   "iDocs\tTITLE\tnull.host\t1\r\n" +
 *     "iSome notes:\t\tnull.host\t1\r\n" +
 *     "0First\t/docs/first.txt\tlocalhost\t7070\r\n" +
 *     "1Elsewhere\t/\tgopher.example\t70\r\n" +
 *     ".\r\n",
 * );
 * assertEquals(map.listing, true);
 * assertEquals(map.hidden, ["secret.txt"]);
 * ```
 */
export function parseGophermap(text: string | Uint8Array, options: GophermapOptions): Gophermap {
  const host = options.host;
  if (typeof host !== "string" || host.length === 0) {
    throw new TypeError("Cannot parse gophermap: host is empty");
  }
  const port = options.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot parse gophermap: port ${port} is not from 1 to 65535`);
  }
  const maxSize = options.maxSize ?? 1024 * 1024;
  const size = typeof text === "string" ? new TextEncoder().encode(text).length : text.length;
  if (size > maxSize) {
    throw new RangeError(`Cannot parse gophermap: it is ${size} bytes, more than ${maxSize}`);
  }
  const source = typeof text === "string" ? text : new TextDecoder().decode(text);
  let directory = options.directory ?? "/";
  if (!directory.endsWith("/")) directory += "/";

  const result: Gophermap = { items: [], listing: false, hidden: [], ignored: [] };
  const lines = source.split("\n");
  // A final LF does not start another (empty) line.
  if (lines.at(-1) === "") lines.pop();
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const number = n + 1;
    if (line.includes("\0")) {
      result.ignored.push(number);
      continue;
    }
    const first = line[0];
    const rest = line.slice(1);
    const upToTab = rest.split("\t")[0]!;
    switch (first) {
      case "#":
        continue;
      case "!":
        result.items.push({
          type: "i",
          display: upToTab,
          selector: "TITLE",
          host: "null.host",
          port: 1,
        });
        continue;
      case "-":
        if (upToTab.length > 0) result.hidden.push(upToTab);
        continue;
      case ":":
      case "~":
      case "%":
      case "=":
        result.ignored.push(number);
        continue;
      case "*":
        result.listing = true;
        return result;
      case ".":
        return result;
    }
    if (!line.includes("\t")) {
      // The placeholders of gopherInfoItem (not imported: gopher_menu.ts re-exports this file).
      result.items.push({ type: "i", display: line, selector: "", host: "null.host", port: 1 });
      continue;
    }
    const fields = line.split("\t");
    const head = fields[0]!;
    const code = head.codePointAt(0);
    if (code === undefined) {
      result.ignored.push(number);
      continue;
    }
    const type = String.fromCodePoint(code);
    const display = head.slice(type.length);
    let selector = fields[1] ?? "";
    if (selector === "") selector = display;
    const hostField = (fields[2] ?? "").trim();
    const portField = (fields[3] ?? "").trim();
    let itemPort = port;
    if (portField !== "") {
      itemPort = PORT_REGEXP.test(portField) ? Number(portField) : -1;
      // Info and error lines carry placeholders: any port, a bad one as 0.
      if (type === "i" || type === "3") itemPort = itemPort > 65535 ? 0 : Math.max(itemPort, 0);
      else if (itemPort < 1 || itemPort > 65535) {
        result.ignored.push(number);
        continue;
      }
    }
    if (hostField === "" && !selector.startsWith("/") && !selector.startsWith("URL:")) {
      selector = directory + selector;
    }
    result.items.push({
      type,
      display,
      selector,
      host: hostField === "" ? host : hostField,
      port: itemPort,
    });
  }
  return result;
}
