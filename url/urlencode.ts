import { quote } from "./quote.ts";

/** A value {@linkcode urlencode} accepts for one key; arrays repeat the key. */
export type UrlencodeValue = string | number | boolean | bigint;

/** What {@linkcode urlencode} encodes. */
export type UrlencodeInput =
  | URLSearchParams
  | Iterable<readonly [string, UrlencodeValue]>
  | Record<string, UrlencodeValue | readonly UrlencodeValue[] | null | undefined>;

/** Options for {@linkcode urlencode}. */
export interface UrlencodeOptions {
  /**
   * `"plus"` encodes as HTML forms do (`application/x-www-form-urlencoded`,
   * spaces as `+`, the output of `URLSearchParams`); `"percent"` encodes
   * spaces as `%20` and everything but letters, digits and `_.-~` as
   * `%XX`, for query strings read by strict RFC 3986 parsers.
   *
   * @default {"plus"}
   */
  quoteVia?: "plus" | "percent";
}

/**
 * Encodes a query string, Python's `urllib.parse.urlencode` with
 * `doseq=True`, on top of `URLSearchParams`: arrays repeat their key,
 * `null` and `undefined` values are left out, numbers and booleans are
 * written with `String()`.
 *
 * @param query The pairs, as a record, an iterable of pairs or a
 *   `URLSearchParams`.
 * @param options How to encode.
 * @returns The query string, without a leading `?`.
 * @throws {TypeError} If `query` is none of the accepted shapes.
 *
 * @example Encoding a record with repeated keys
 * ```ts
 * import { urlencode } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(urlencode({ q: "a b", tag: ["x", "y"], n: 1 }), "q=a+b&tag=x&tag=y&n=1");
 * assertEquals(urlencode([["q", "a b"]], { quoteVia: "percent" }), "q=a%20b");
 * ```
 */
export function urlencode(query: UrlencodeInput, options?: UrlencodeOptions): string {
  options ??= {};
  const params = new URLSearchParams();
  if (query instanceof URLSearchParams) {
    for (const [k, v] of query) params.append(k, v);
  } else if (typeof query === "object" && query !== null && Symbol.iterator in query) {
    for (const pair of query as Iterable<readonly [string, UrlencodeValue]>) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new TypeError("Cannot encode query: each item must be a [key, value] pair");
      }
      params.append(String(pair[0]), String(pair[1]));
    }
  } else if (typeof query === "object" && query !== null) {
    for (const [k, v] of Object.entries(query)) {
      if (v === null || v === undefined) continue;
      if (Array.isArray(v)) { for (const item of v) params.append(k, String(item)); }
      else params.append(k, String(v));
    }
  } else {
    throw new TypeError(`Cannot encode query: ${typeof query} is not a record or pairs`);
  }
  if (options.quoteVia === "percent") {
    const parts: string[] = [];
    for (const [k, v] of params) parts.push(quote(k, { safe: "" }) + "=" + quote(v, { safe: "" }));
    return parts.join("&");
  }
  return params.toString();
}
