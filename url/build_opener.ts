import { DataHandler } from "./data_handler.ts";
import { FileHandler } from "./file_handler.ts";
import { HttpErrorProcessor } from "./http_error_processor.ts";
import { HttpUrlHandler } from "./http_handler.ts";
import { HttpRedirectHandler } from "./http_redirect_handler.ts";
import { ProxyHandler } from "./proxy_handler.ts";
import { type UrlHandler, UrlOpener } from "./url_opener.ts";

/** A handler class in the default chain: its constructor and a factory. */
interface DefaultEntry {
  // deno-lint-ignore no-explicit-any
  type: abstract new (...args: any[]) => UrlHandler;
  create: () => UrlHandler;
}

const defaults: DefaultEntry[] = [
  { type: ProxyHandler, create: () => new ProxyHandler() },
  { type: HttpUrlHandler, create: () => new HttpUrlHandler() },
  { type: HttpRedirectHandler, create: () => new HttpRedirectHandler() },
  { type: FileHandler, create: () => new FileHandler() },
  { type: DataHandler, create: () => new DataHandler() },
  { type: HttpErrorProcessor, create: () => new HttpErrorProcessor() },
];

/**
 * Adds a handler class to the chain every {@linkcode buildOpener} call
 * starts from. A module that adds a scheme (`ftp:`, `gopher:`) calls this
 * once when it loads, so that supporting the scheme is that one new module.
 * A handler of the same class (or a subclass) passed to `buildOpener`
 * replaces the default one.
 *
 * @param type The handler class.
 * @param create Makes the default instance.
 *
 * @example Registering a scheme
 * ```ts
 * import { buildOpener, registerDefaultHandler, type UrlHandler, UrlResponse } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * class TimeHandler implements UrlHandler {
 *   readonly protocols = ["x-now:"];
 *   open(request: { url: string }) {
 *     return new UrlResponse("12:00", { url: request.url });
 *   }
 * }
 * registerDefaultHandler(TimeHandler, () => new TimeHandler());
 * await using opener = buildOpener();
 * assertEquals(await (await opener.open("x-now:")).text(), "12:00");
 * ```
 */
export function registerDefaultHandler<T extends UrlHandler>(
  // deno-lint-ignore no-explicit-any
  type: abstract new (...args: any[]) => T,
  create: () => T,
): void {
  const at = defaults.findIndex((d) => d.type === type);
  if (at >= 0) defaults[at] = { type, create };
  else defaults.push({ type, create });
}

/**
 * Builds an opener from the default handler chain plus the given handlers,
 * urllib2's `build_opener`. The defaults are, in order: a
 * {@linkcode ProxyHandler} reading the environment, the
 * {@linkcode HttpUrlHandler} (`http:`, `https:`), the
 * {@linkcode HttpRedirectHandler}, the {@linkcode FileHandler}, the
 * {@linkcode DataHandler}, handlers registered with
 * {@linkcode registerDefaultHandler} (`ftp:`, `gopher:`), and the
 * {@linkcode HttpErrorProcessor}. A given handler that is an instance of a
 * default's class replaces that default (pass `new ProxyHandler({})` to
 * ignore the environment); the others are added. Cookies, auth and retries
 * are opt-in: pass {@linkcode HttpCookieProcessor},
 * {@linkcode HttpBasicAuthHandler}, {@linkcode HttpDigestAuthHandler},
 * {@linkcode RetryHandler}.
 *
 * @param handlers Handlers to add or to replace defaults with.
 * @returns The opener; close it (or `await using` it) to free its pools.
 *
 * @example An opener with cookies and no proxies
 * ```ts
 * import { buildOpener, HttpCookieProcessor, ProxyHandler } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * await using opener = buildOpener(new HttpCookieProcessor(), new ProxyHandler({}));
 * assertEquals(opener.handlers.filter((h) => h instanceof ProxyHandler).length, 1);
 * ```
 */
export function buildOpener(...handlers: UrlHandler[]): UrlOpener {
  const chain: UrlHandler[] = [];
  for (const entry of defaults) {
    if (handlers.some((h) => h instanceof entry.type)) continue;
    chain.push(entry.create());
  }
  return new UrlOpener([...chain, ...handlers]);
}
