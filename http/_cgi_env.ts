/**
 * The RFC 3875 §4.1 meta-variables of a CGI request.
 *
 * @module
 */
import type { CgiConnectionInfo, CgiOptions } from "./_cgi_types.ts";
import type { CgiScript } from "./_cgi_script.ts";

const CGI_HEADER_NAME_REGEXP = /^[A-Za-z0-9-]+$/;

function hostPort(addr: Deno.NetAddr | Deno.Addr | undefined): { host: string; port: string } {
  if (addr !== undefined && "hostname" in addr) {
    return { host: addr.hostname, port: String(addr.port) };
  }
  return { host: "", port: "" };
}

/**
 * Builds a script's whole environment: `PATH` (from `options.env`, else the
 * server's, else a default), `options.env`, and the meta-variables. Nothing
 * else of the server's environment is passed.
 */
export function metaVariables(
  request: Request,
  url: URL,
  info: CgiConnectionInfo,
  script: CgiScript,
  contentLength: number | null,
  options: CgiOptions,
): Record<string, string> {
  const env: Record<string, string> = {};
  let inherited: string | undefined;
  try {
    inherited = Deno.env.get("PATH");
  } catch {
    // no permission to read the environment
  }
  env.PATH = options.env?.PATH ?? inherited ?? "/usr/local/bin:/usr/bin:/bin";
  Object.assign(env, options.env ?? {});
  const remote = hostPort(info.remoteAddr);
  const local = hostPort(info.localAddr);
  env.GATEWAY_INTERFACE = "CGI/1.1";
  env.SERVER_SOFTWARE = options.serverSoftware ?? "inetkit";
  env.SERVER_PROTOCOL = info.version ?? "HTTP/1.1";
  env.SERVER_NAME = url.hostname.replace(/^\[|\]$/g, "") || local.host;
  env.SERVER_PORT = url.port ||
    (local.port !== "" ? local.port : url.protocol === "https:" ? "443" : "80");
  env.REQUEST_METHOD = request.method;
  env.REQUEST_URI = info.target !== undefined && info.target.startsWith("/")
    ? info.target
    : url.pathname + url.search;
  env.SCRIPT_NAME = script.scriptName;
  env.SCRIPT_FILENAME = script.path;
  env.PATH_INFO = script.pathInfo;
  if (script.pathInfo !== "" && options.documentRoot !== undefined) {
    env.PATH_TRANSLATED = options.documentRoot.replace(/\/+$/, "") + script.pathInfo;
  }
  if (options.documentRoot !== undefined) env.DOCUMENT_ROOT = options.documentRoot;
  env.QUERY_STRING = url.search.slice(1);
  env.REMOTE_ADDR = remote.host;
  env.REMOTE_HOST = remote.host;
  if (remote.port !== "") env.REMOTE_PORT = remote.port;
  if (url.protocol === "https:") env.HTTPS = "on";
  env.REDIRECT_STATUS = "200"; // php-cgi's force-cgi-redirect check
  if (contentLength !== null) env.CONTENT_LENGTH = String(contentLength);
  const type = request.headers.get("content-type");
  if (type !== null) env.CONTENT_TYPE = type;
  for (const [name, value] of request.headers) {
    // httpoxy: "Proxy:" must never become HTTP_PROXY. Names with "_" could
    // impersonate a dashed header (X_Real_IP vs X-Real-IP), and other token
    // characters make names shells cannot use: both dropped.
    if (name === "proxy" || !CGI_HEADER_NAME_REGEXP.test(name)) continue;
    if (name === "content-length" || name === "content-type") continue;
    const key = "HTTP_" + name.toUpperCase().replaceAll("-", "_");
    env[key] = key in env ? `${env[key]}, ${value}` : value;
  }
  return env;
}
