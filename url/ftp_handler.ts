import { HttpConnection } from "../http/http_connection.ts";
import { FtpClient } from "../net/ftp_client.ts";
import { contentTypeFor } from "../net/_mime_types.ts";
import { registerDefaultHandler } from "./build_opener.ts";
import { parseFtpUrl } from "./_ftp_url.ts";
import type { PasswordManager } from "./password_manager.ts";
import { ProxyHandler } from "./proxy_handler.ts";
import { URLError } from "./url_error.ts";
import type { UrlHandler, UrlOpener } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import { UrlResponse } from "./url_response.ts";

/** Options for {@linkcode FtpUrlHandler}. */
export interface FtpUrlHandlerOptions {
  /** Extra trusted CA certificates (PEM) for FTPS: `AUTH TLS`, `ftps:` and data connections. */
  caCerts?: string[];
  /**
   * Where credentials for URLs without a user come from (realm `null`);
   * without an entry the login is anonymous.
   */
  passwordManager?: PasswordManager;
  /**
   * Upgrade `ftp:` sessions with `AUTH TLS` when the server offers it (a
   * failed handshake is an error, never a fallback); `false` stays in clear.
   *
   * @default {true}
   */
  tls?: boolean;
  /**
   * Fail unless the session is TLS (curl's `--ssl-reqd`).
   *
   * @default {false}
   */
  requireTls?: boolean;
  /**
   * Passive mode; `false` for active (`EPRT`/`PORT`).
   *
   * @default {true}
   */
  passive?: boolean;
  /** The local address to announce in active mode. */
  activeAddress?: string;
  /**
   * Send a password in clear to a host that is not loopback.
   *
   * @default {false}
   */
  allowInsecureAuth?: boolean;
  /**
   * An HTTP proxy for `ftp:` URLs (`GET ftp://...` sent to it), or `null`
   * for none. A proxy set on the request by {@linkcode ProxyHandler}
   * (`all_proxy`) is used too.
   *
   * @default {the ftp_proxy environment variable, with no_proxy}
   */
  proxy?: string | null;
  /**
   * Milliseconds for connecting, each command and each pause in the data,
   * when the request sets no `timeout`.
   *
   * @default {30000}
   */
  timeout?: number;
}

/**
 * Opens `ftp:` and `ftps:` URLs (RFC 1738 §3.2), urllib's `FTPHandler`:
 * `ftp://[user[:password]@]host[:port]/dir/file[;type=a|i|d]`. The path's
 * directories are entered one `CWD` each and the file is downloaded
 * (binary unless `;type=a`); a path ending in `/` returns the `LIST`
 * listing as text, and `;type=d` the `NLST` names. Credentials come from
 * the URL, else from the password manager, else the login is anonymous.
 * `ftps:` is implicit TLS (port 990); `ftp:` uses `AUTH TLS` when offered.
 * With an HTTP proxy (`ftp_proxy`, or `all_proxy` through
 * {@linkcode ProxyHandler}) the URL is fetched with `GET` through it.
 *
 * Each URL gets its own session, closed when the body ends or is
 * cancelled. It registers itself as a default handler when this module
 * loads.
 *
 * @example Downloading from the peers' vsftpd
 * ```ts ignore
 * import { buildOpener, FtpUrlHandler } from "@inetkit/inetkit/url";
 *
 * const caCerts = [await Deno.readTextFile("/tmp/peers/tls/ca.pem")];
 * await using opener = buildOpener(new FtpUrlHandler({ caCerts }));
 * const response = await opener.open("ftp://mulder:trustno1@localhost:2121/pub/hello.txt");
 * console.log(await response.text());
 * ```
 *
 * @example Reading a URL's parts
 * ```ts
 * import { FtpUrlHandler } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const handler = new FtpUrlHandler({ proxy: null });
 * assertEquals(handler.protocols, ["ftp:", "ftps:"]);
 * ```
 */
export class FtpUrlHandler implements UrlHandler {
  /** FTP and FTPS. */
  readonly protocols: readonly string[] = ["ftp:", "ftps:"];
  #options: FtpUrlHandlerOptions;
  #proxy: ProxyHandler | null;

  /**
   * Creates the handler.
   *
   * @param options TLS trust and policy, credentials, data connection mode,
   *   the proxy and the timeout.
   * @throws {TypeError} If the proxy is not an http or https URL.
   */
  constructor(options?: FtpUrlHandlerOptions) {
    options ??= {};
    this.#options = options;
    const env = options.proxy === undefined ? readProxyEnv() : null;
    const proxy = options.proxy === undefined ? env?.proxy : options.proxy;
    this.#proxy = proxy === undefined || proxy === null || proxy === ""
      ? null
      : new ProxyHandler({ all: proxy, noProxy: env?.noProxy });
  }

  /**
   * Routes `ftp:` requests through the FTP proxy unless one is set or the
   * host is excepted.
   *
   * @param request The request.
   */
  preprocess(request: UrlRequest): void {
    if (this.#proxy === null || request.protocol !== "ftp:") return;
    const proxy = this.#proxy.proxyFor(request.url);
    if (proxy !== null) request.setProxy(proxy);
  }

  /**
   * Downloads the file or lists the directory.
   *
   * @param request An `ftp:` or `ftps:` request.
   * @param opener The opener (its default headers go to a proxy).
   * @returns The response, its body streaming; 200 with `Content-Type`
   *   guessed from the name and `Content-Length` from `SIZE`.
   * @throws {URLError} When the URL is malformed, the request has a body, or
   *   the server refuses (the {@linkcode FtpReplyError} is the `cause`).
   * @throws {DOMException} The signal's reason or a `TimeoutError`.
   */
  async open(request: UrlRequest, opener: UrlOpener): Promise<UrlResponse> {
    if (request.data !== null) {
      throw new URLError("ftp URLs take no request body (upload with FtpClient.upload)");
    }
    if (request.proxy !== null && request.protocol === "ftp:") {
      return await this.#viaProxy(request, request.proxy, opener);
    }
    const target = parseFtpUrl(request.parsedUrl);
    let user = target.user;
    let password = target.password;
    if (user === undefined) {
      const found = this.#options.passwordManager?.find(null, request.url) ?? null;
      if (found !== null) {
        user = found.user;
        password = found.password;
      }
    }
    const timeout = request.timeout ?? this.#options.timeout ?? 30000;
    const signal = request.signal;
    const caCerts = this.#options.caCerts;
    let client: FtpClient;
    try {
      client = await FtpClient.connect({
        hostname: target.hostname,
        port: target.port,
        tls: target.implicitTls ? { caCerts } : this.#options.tls === false ? false : undefined,
        caCerts,
        requireTls: this.#options.requireTls,
        passive: this.#options.passive,
        activeAddress: this.#options.activeAddress,
        allowInsecureAuth: this.#options.allowInsecureAuth,
        user: user ?? "anonymous",
        password,
        connectTimeout: timeout,
        timeout,
        dataTimeout: timeout,
        signal,
      });
    } catch (error) {
      throw ftpFailure(error, signal);
    }
    try {
      for (const dir of target.dirs) {
        if (dir !== "") await client.cwd(dir, { signal });
      }
      if (target.file === "" || target.type === "d") {
        const path = target.file === "" ? undefined : target.file;
        const lines = target.type === "d" ? await client.nlst(path, { signal }) : await client.dir(
          path,
          { signal },
        );
        await client.quit({ signal }).catch(() => {});
        client.close();
        const text = lines.length === 0 ? "" : lines.join("\n") + "\n";
        const body = new TextEncoder().encode(text);
        return new UrlResponse(body, {
          status: 200,
          statusText: "OK",
          headers: {
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Length": String(body.length),
          },
          url: request.url,
        });
      }
      const ascii = target.type === "a";
      let size: number | null = null;
      if (!ascii) {
        size = await client.size(target.file, { signal }).catch((error) => {
          if (client.closed) throw error;
          return null; // no SIZE: no Content-Length
        });
      }
      const body = await client.download(target.file, { type: ascii ? "A" : "I", signal });
      const headers = new Headers({
        "Content-Type": ascii ? "text/plain" : contentTypeFor(target.file),
      });
      if (size !== null) headers.set("Content-Length", String(size));
      return new UrlResponse(closing(body, client), {
        status: 200,
        statusText: "OK",
        headers,
        url: request.url,
      });
    } catch (error) {
      client.close();
      throw ftpFailure(error, signal);
    }
  }

  /** `GET ftp://...` through an HTTP proxy. */
  async #viaProxy(request: UrlRequest, proxy: URL, opener: UrlOpener): Promise<UrlResponse> {
    const timeout = request.timeout ?? this.#options.timeout ?? 30000;
    const signal = request.signal;
    const https = proxy.protocol === "https:";
    const hostname = proxy.hostname.startsWith("[") ? proxy.hostname.slice(1, -1) : proxy.hostname;
    let conn: HttpConnection;
    try {
      conn = await HttpConnection.connect({
        hostname,
        port: proxy.port !== "" ? Number(proxy.port) : https ? 443 : 80,
        tls: https ? { caCerts: this.#options.caCerts } : false,
        timeout,
        signal,
      });
    } catch (error) {
      throw ftpFailure(error, signal);
    }
    const headers = new Headers({ Host: request.host });
    for (const [name, value] of opener.headers) if (!headers.has(name)) headers.set(name, value);
    for (const [name, value] of request.allHeaders()) headers.set(name, value);
    if (proxy.username !== "" || proxy.password !== "") {
      const text = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers.set("Proxy-Authorization", `Basic ${new TextEncoder().encode(text).toBase64()}`);
    }
    let response: Response;
    try {
      response = await conn.request(request.url, { method: "GET", headers, signal });
    } catch (error) {
      conn.close();
      throw ftpFailure(error, signal);
    }
    const result = new UrlResponse(closingHttp(response.body, conn), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
      url: request.url,
    });
    if (response.status >= 200 && response.status < 300) return result;
    return await opener.error(request, result);
  }
}

/** A body that ends the FTP session when it ends or is cancelled. */
function closing(body: ReadableStream<Uint8Array>, client: FtpClient): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (error) {
        client.close();
        throw error;
      }
      if (!next.done) {
        controller.enqueue(next.value);
        return;
      }
      controller.close();
      await client.quit({ timeout: 1000 }).catch(() => {});
      client.close();
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
      client.close();
    },
  }, { highWaterMark: 0 });
}

/** A proxied body that closes its connection when it ends or is cancelled. */
function closingHttp(
  body: ReadableStream<Uint8Array> | null,
  conn: HttpConnection,
): ReadableStream<Uint8Array> | null {
  if (body === null) {
    conn.close();
    return null;
  }
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) {
          controller.close();
          conn.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        conn.close();
        throw error;
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
      conn.close();
    },
  }, { highWaterMark: 0 });
}

/** A URLError naming the FTP failure; aborts and timeouts pass as they are. */
function ftpFailure(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && error === signal.reason) return error;
  if (error instanceof DOMException && error.name === "TimeoutError") return error;
  if (error instanceof URLError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new URLError(`ftp error: ${message}`, { cause: error });
}

function readProxyEnv(): { proxy?: string; noProxy?: string } {
  const read = (name: string): string | undefined => {
    try {
      if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
        return undefined;
      }
      const value = Deno.env.get(name);
      return value === "" ? undefined : value;
    } catch {
      return undefined;
    }
  };
  return {
    proxy: read("ftp_proxy") ?? read("FTP_PROXY"),
    noProxy: read("no_proxy") ?? read("NO_PROXY"),
  };
}

registerDefaultHandler(FtpUrlHandler, () => new FtpUrlHandler());
