/**
 * `proxy`: a forwarding HTTP proxy with CONNECT tunnels, the classic
 * one-line proxy grown up. Point `curl -x` or a browser at it.
 *
 * @module
 */
import {
  type Command,
  type CommandIo,
  flagBoolean,
  flagString,
  flagStrings,
  listenFailure,
  parseArgs,
  parsePort,
  readCaCerts,
  runMain,
  untilInterrupted,
  UsageError,
} from "./_command.ts";
import { serve } from "../http/serve.ts";
import type { HttpServer } from "../http/http_server.ts";
import type { HttpClient } from "../http/http_client.ts";
import { proxyClient, serveProxy, type ServeProxyOptions } from "../http/proxy.ts";
import { IpCidr } from "../net/ip_cidr.ts";

const HELP = `Usage: inetkit proxy [options]

Runs a forwarding HTTP proxy: absolute-form requests are forwarded,
CONNECT opens tunnels (for https:// through the proxy). Where it listens
goes to standard output, the access log to standard error.

Options:
  --port N            Port to listen on (default 1234; 0 picks a free one)
  --host H            Address to bind (default 127.0.0.1)
  --connect-port N    Allow CONNECT to port N (default: 443 only); repeatable
  --connect-any       Allow CONNECT to any port
  --cacert FILE       Trust this extra CA (PEM) for https:// targets
                      (also spelt --ca-cert; repeatable; exit 77 when unreadable)
  --allow CIDR        Only reach these address ranges; repeatable
  --deny CIDR         Never reach these address ranges; repeatable (default:
                      169.254.0.0/16 fe80::/10 0.0.0.0/8; --deny none clears it)
  --timeout SECONDS   Give up on an upstream that sends nothing for this long
                      (head and body; default 30 for the head, 300 for bodies)
  --quiet             Do not print access-log lines (standard error)
  -h, --help          Show this help
`;

/** A running `proxy` command, for tests and embedding. */
export interface RunningProxy {
  /** The server. */
  server: HttpServer;
  /** The proxy URL, for `curl -x`. */
  url: string;
  /** The client that forwards requests; closed when the server finishes. */
  client: HttpClient;
}

/**
 * Parses the arguments and starts the proxy; resolves once it listens.
 *
 * @param args The command line after `proxy`.
 * @param io Where to print.
 * @param signal Stops the proxy when aborted.
 * @returns The server, its URL and the forwarding client.
 * @throws {UsageError} For bad arguments.
 */
export async function startProxy(
  args: string[],
  io: CommandIo,
  signal?: AbortSignal,
): Promise<RunningProxy> {
  const parsed = parseArgs(args, {
    booleans: ["connect-any", "quiet", "help"],
    values: ["port", "host", "connect-port", "ca-cert", "allow", "deny", "timeout"],
    aliases: { h: "help", p: "port", cacert: "ca-cert" },
  });
  if (parsed.positional.length > 0) {
    throw new UsageError(`Unexpected argument ${parsed.positional[0]}`);
  }
  const port = parsePort(flagString(parsed, "port") ?? "1234");
  const hostname = flagString(parsed, "host") ?? "127.0.0.1";
  const connectPorts = flagBoolean(parsed, "connect-any")
    ? "any" as const
    : flagStrings(parsed, "connect-port").map((p) => parsePort(p, "CONNECT port"));
  const caCerts: string[] = [];
  for (const file of flagStrings(parsed, "ca-cert")) caCerts.push(...(await readCaCerts(file))!);
  const ranges = (flag: string) =>
    flagStrings(parsed, flag).flatMap((v) => v.split(",")).filter((v) => v !== "");
  const allow = ranges("allow");
  const deny = ranges("deny");
  for (const range of [...allow, ...deny]) {
    if (range === "none") continue;
    try {
      IpCidr.parse(range);
    } catch {
      throw new UsageError(`Invalid address range ${range} (use CIDR, e.g. 10.0.0.0/8)`);
    }
  }
  const timeoutText = flagString(parsed, "timeout");
  let timeout: number | undefined;
  if (timeoutText !== undefined) {
    timeout = Number(timeoutText);
    if (!(timeout > 0) || timeout > 86400) {
      throw new UsageError(`Invalid --timeout ${timeoutText} (seconds, more than 0)`);
    }
    timeout = Math.round(timeout * 1000);
  }
  const rules: ServeProxyOptions = {
    caCerts,
    allowDestinations: allow.length > 0 ? allow : undefined,
    denyDestinations: deny.length === 0 ? undefined : deny.filter((d) => d !== "none"),
    timeout,
    readTimeout: timeout,
  };
  const client = proxyClient(rules);
  const options: ServeProxyOptions = {
    ...rules,
    client,
    connectPorts: connectPorts === "any" || connectPorts.length > 0 ? connectPorts : [443],
  };
  let server: HttpServer;
  try {
    server = serve({
      hostname,
      port,
      signal,
      // Standard error, as http.server logs: standard output stays for data.
      accessLog: flagBoolean(parsed, "quiet") ? undefined : (line) => io.err(line + "\n"),
    }, (request, info) => serveProxy(request, info, options));
  } catch (error) {
    client.close();
    throw listenFailure(error, hostname, port);
  }
  server.finished.finally(() => client.close());
  const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${server.addr.port}`;
  io.out(`Proxying at ${url} (curl -x ${url} ...)\n`);
  return { server, url, client };
}

/** The `proxy` subcommand. */
export const proxyCommand: Command = {
  name: "proxy",
  summary: "Run a forwarding HTTP proxy with CONNECT tunnels",
  help: HELP,
  async run(args: string[], io: CommandIo): Promise<number> {
    const controller = new AbortController();
    const { server } = await startProxy(args, io, controller.signal);
    await untilInterrupted(server.finished, () => controller.abort());
    return 0;
  },
};

if (import.meta.main) await runMain(proxyCommand);
