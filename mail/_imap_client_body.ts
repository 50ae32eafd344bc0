/**
 * Streamed FETCH bodies for `ImapClient`: a writable the response reader
 * pipes a literal into and a readable the caller reads, joined with
 * backpressure (a chunk is read from the socket only when the caller has
 * taken the one before), plus debug rendering of responses and the
 * checks of FETCH item names.
 *
 * @module
 */
import type { ImapResponse, ImapToken } from "./imap_response_reader.ts";
import type { ImapResponseCode } from "./imap_types.ts";

/**
 * A literal's way from the response reader to the caller. `onCancel` is
 * called with the bytes still to come when the caller cancels.
 */
export class BodyPipe {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  #delivered = 0;

  constructor(size: number, onCancel: (remaining: number) => void) {
    const pair = new TransformStream<Uint8Array, Uint8Array>(
      undefined,
      { highWaterMark: 1 },
      { highWaterMark: 0 },
    );
    this.writable = pair.writable;
    const inner = pair.readable.getReader();
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const { value, done } = await inner.read();
        if (done) {
          controller.close();
          return;
        }
        this.#delivered += value.length;
        controller.enqueue(value);
      },
      cancel: async (reason) => {
        onCancel(size - this.#delivered);
        await inner.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }
}

const FETCH_ITEM_REGEXP =
  /[A-Za-z][A-Za-z0-9.]*(?:\[[^\]\r\n\0]*\](?:<\d{1,10}(?:\.\d{1,10})?>)?)?/y;
const MACROS = new Set(["ALL", "FAST", "FULL"]);

/**
 * Checks and joins FETCH item names: `["UID", "BODY.PEEK[HEADER]"]` or
 * `"UID FLAGS"` become `(UID BODY.PEEK[HEADER])`; a macro (`ALL`, `FAST`,
 * `FULL`) goes alone.
 *
 * @throws {TypeError} For an item that is not an item name, or none.
 */
export function formatFetchItems(items: string | readonly string[]): string {
  const list: string[] = [];
  const sources = typeof items === "string" ? [items] : items;
  for (const source of sources) {
    if (typeof source !== "string") throw new TypeError("Cannot fetch: an item is not a string");
    let text = source.trim();
    if (text.startsWith("(") && text.endsWith(")")) text = text.slice(1, -1).trim();
    let at = 0;
    while (at < text.length) {
      FETCH_ITEM_REGEXP.lastIndex = at;
      const match = FETCH_ITEM_REGEXP.exec(text);
      if (match === null) {
        throw new TypeError(`Cannot fetch: ${JSON.stringify(source)} is not a list of item names`);
      }
      list.push(match[0]);
      at = FETCH_ITEM_REGEXP.lastIndex;
      if (at < text.length) {
        if (text[at] !== " ") {
          throw new TypeError(
            `Cannot fetch: ${JSON.stringify(source)} is not a list of item names`,
          );
        }
        while (text[at] === " ") at++;
      }
    }
  }
  if (list.length === 0) throw new TypeError("Cannot fetch: no items");
  if (list.length === 1 && MACROS.has(list[0]!.toUpperCase())) return list[0]!.toUpperCase();
  if (list.some((item) => MACROS.has(item.toUpperCase()))) {
    throw new TypeError("Cannot fetch: ALL, FAST and FULL cannot be combined with other items");
  }
  return `(${list.join(" ")})`;
}

/** A response code as text, for debug lines. */
export function renderCode(code: ImapResponseCode | null): string {
  if (code === null) return "";
  const value = code.value;
  if (value === null) return `[${code.name}] `;
  if (typeof value === "object" && !Array.isArray(value)) return `[${code.name} ...] `;
  return `[${code.name} ${Array.isArray(value) ? `(${value.join(" ")})` : String(value)}] `;
}

/** One response, summarised for the debug log (at most 300 characters). */
export function renderResponse(response: ImapResponse, secret = false): string {
  let text: string;
  if (response.type === "continuation") text = secret ? "+ ****" : `+ ${response.text}`;
  else if (response.type === "status") {
    text = `${response.tag ?? "*"} ${response.status} ${renderCode(response.code)}${response.text}`;
  } else {
    const number = response.number === null ? "" : `${response.number} `;
    text = `* ${number}${response.name}${
      response.args.length > 0 ? " " + response.args.map(renderToken).join(" ") : ""
    }`;
  }
  // deno-lint-ignore no-control-regex
  text = text.replace(/[\x00-\x1f\x7f]/g, "?");
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

function renderToken(token: ImapToken): string {
  switch (token.type) {
    case "atom":
      return token.value;
    case "number":
      return token.text;
    case "string":
      return JSON.stringify(token.value);
    case "literal":
      return `{${token.value.length}}`;
    case "streamed":
      return `{${token.size}} <${token.skipped ? "skipped" : "streamed"}>`;
    case "nil":
      return "NIL";
    case "list":
      return `(${token.items.map(renderToken).join(" ")})`;
    case "section":
      return `${token.name}[${token.section}]${token.origin === null ? "" : `<${token.origin}>`}`;
  }
}
