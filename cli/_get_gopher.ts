/**
 * The gopher part of `get`: loading this module registers the `gopher:`
 * handler (`url/gopher_handler.ts`) in every opener `get` builds, so
 * `get gopher://host:port/1/` prints a readable menu, `/0/...` a text item
 * and other types their raw bytes (`-o FILE` to save them). `get`'s
 * `--timeout` bounds the connect and each pause, as for HTTP.
 *
 * @module
 */
import "../url/gopher_handler.ts";
