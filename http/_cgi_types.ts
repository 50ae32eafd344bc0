/**
 * The public option and info types of `serveCgi`, defined apart so the CGI
 * steps can use them without importing `cgi.ts` (which imports them).
 * `cgi.ts` re-exports them.
 *
 * @module
 */

/** What {@linkcode serveCgi} needs to know about the connection; an `HttpServer` or `Deno.serve` handler `info` fits. */
export interface CgiConnectionInfo {
  /** The client's address (`REMOTE_ADDR`, `REMOTE_PORT`). */
  remoteAddr: Deno.NetAddr | Deno.Addr;
  /** The server's address (`SERVER_PORT` when the `Host` header has none). */
  localAddr?: Deno.NetAddr | Deno.Addr;
  /** The request's protocol version (`SERVER_PROTOCOL`). */
  version?: string;
  /** The raw request-target (`REQUEST_URI`). */
  target?: string;
  /**
   * Aborted when the client goes away or the server shuts down: the
   * script's whole process group is ended (503 if it had not answered).
   * An `HttpServer` handler's `info.signal` fits.
   */
  signal?: AbortSignal;
}

/** Options for {@linkcode serveCgi}. */
export interface CgiOptions {
  /**
   * The CGI directories: URL path prefix → file system directory, such as
   * `{ "/cgi-bin": "./cgi-bin" }`. Only regular files inside these
   * directories are ever run, and never sent as text.
   */
  directories: Record<string, string>;
  /**
   * Interpreters by file extension, such as `{ ".py": ["/usr/bin/python3"],
   * ".sh": ["/bin/sh"] }`; the script path is appended. Other files must be
   * executable and are run directly (their `#!` line picks the interpreter).
   *
   * @default {{}}
   */
  interpreters?: Record<string, string[]>;
  /**
   * Extra environment variables for every script. The server's own
   * environment is never passed, except `PATH` when this has none.
   *
   * @default {{}}
   */
  env?: Record<string, string>;
  /**
   * How long a script may run, in milliseconds, before its whole process
   * group is ended: 504 when it has not answered yet, an errored body (the
   * server closes the connection) otherwise. The body must be sent within
   * this time too.
   *
   * @default {30000}
   */
  timeout?: number;
  /**
   * Milliseconds between SIGTERM and SIGKILL when a script's process group
   * is ended.
   *
   * @default {2000}
   */
  gracePeriod?: number;
  /**
   * The largest request body passed to a script; larger ones get 413.
   *
   * @default {16777216}
   */
  maxBodySize?: number;
  /**
   * The largest CGI header block a script may print; more is 502.
   *
   * @default {65536}
   */
  maxHeaderSize?: number;
  /**
   * The most scripts running at once (over all requests using this options
   * object); more requests get 503. A script counts until every process of
   * its group is gone, not only until it exits.
   *
   * @default {64}
   */
  maxProcesses?: number;
  /** `SERVER_SOFTWARE`. @default {"inetkit"} */
  serverSoftware?: string;
  /** `DOCUMENT_ROOT`, and the base of `PATH_TRANSLATED`. */
  documentRoot?: string;
  /**
   * Serves a local redirect (RFC 3875 §6.2.2: a script's `Location: /path`
   * without `Status`) as if the client had asked for `/path` with GET; it
   * gets the new request and the original connection info. Without it,
   * local redirects are sent to the client as 302, as lighttpd does.
   */
  localRedirect?: (
    request: Request,
    info: CgiConnectionInfo,
  ) => Response | Promise<Response>;
  /** Receives what scripts write to standard error; @default discarded. */
  onStderr?: (text: string) => void;
}
