/**
 * The Gopher item type, defined apart so the gophermap parser can use it
 * without importing `gopher_menu.ts` (which imports it).
 *
 * @module
 */

/** One line of a Gopher menu (RFC 1436 §3.8). */
export interface GopherItem {
  /** The item type, one character; see `GOPHER_ITEM_TYPE`. */
  type: string;
  /** The text to show the user. */
  display: string;
  /** The string to send to `host` to fetch the item. */
  selector: string;
  /** The server holding the item (a placeholder for `i` and `3` lines). */
  host: string;
  /** Its port, 1 to 65535 (0 allowed for `i` and `3` lines). */
  port: number;
  /**
   * Whether the server offers the item over Gopher+ (a fifth field of `+`,
   * or `?` for an ASK form). A plain client can ignore it.
   */
  plus?: boolean;
  /** The line as received, without its line end; set by the parsers. */
  raw?: string;
}
