/**
 * The tour's Telnet and Gopher stops: the demo Telnet server with
 * `TelnetClient` logging in and running commands, and `GopherServer` over
 * the repository with `gopherMenu`, `gopherFetch` and `urlopen`. Each stop
 * has the shape of `cli/tour.ts`'s `Stop`.
 *
 * @module
 */
import { gopherFetch, gopherMenu } from "../net/gopher_client.ts";
import { GopherServer } from "../net/gopher_server.ts";
import { TelnetClient } from "../net/telnet_client.ts";
import { TELNET_OPTION } from "../net/telnet_codec.ts";
import { buildOpener } from "../url/build_opener.ts";
import { ProxyHandler } from "../url/proxy_handler.ts";
import "../url/gopher_handler.ts";
import type { CommandIo } from "./_command.ts";
import { TelnetDemoServer } from "./_telnet_demo.ts";

/** One tour stop: starts its servers, runs its clients, returns what to stop. */
export interface TourStop {
  /** The heading. */
  title: string;
  /** Runs the stop. */
  run(io: CommandIo): Promise<AsyncDisposable[]>;
}

/** The Telnet and Gopher stops, in order. */
export const TELNET_GOPHER_TOUR_STOPS: TourStop[] = [
  {
    title: "Telnet client and a demo server (net/telnet_client.ts, cli/_telnet_demo.ts)",
    async run(io) {
      const server = new TelnetDemoServer();
      const port = server.addr.port;
      io.out(`  TelnetDemoServer listening on 127.0.0.1:${port} (mulder / trustno1)\n`);
      await using telnet = await TelnetClient.connect({ port, timeout: 5000 });
      const partial = await telnet.readUntil("never sent", { timeout: 100 });
      io.out(
        `  readUntil timed out, returned ${JSON.stringify(partial.trim())} and kept reading\n`,
      );
      await telnet.write("mulder\n");
      await telnet.readUntil("Password: ");
      await telnet.write("trustno1\n");
      const shell = await telnet.expect([/\$ $/, /incorrect/], { timeout: 5000 });
      io.out(
        `  logged in: expect() matched pattern ${shell.index} (${
          JSON.stringify(shell.match?.[0])
        })\n`,
      );
      const echo = telnet.codec.isEnabled(TELNET_OPTION.ECHO, "remote");
      io.out(`  the server echoes (RFC 857 ECHO negotiated): ${echo}\n`);
      const output = await telnet.runCommand("echo TELNET-OK-$((6*7))");
      io.out(`  runCommand("echo TELNET-OK-$((6*7))") -> ${JSON.stringify(output)}\n`);
      io.out(`  runCommand("ls") -> ${JSON.stringify(await telnet.runCommand("ls"))}\n`);
      await telnet.write("exit\n");
      io.out(`  after exit: ${JSON.stringify(await telnet.readAll())}\n`);
      return [server];
    },
  },
  {
    title: "Gopher server and client (net/gopher_server.ts, net/gopher_client.ts, url/)",
    async run(io) {
      const root = new URL("..", import.meta.url).pathname;
      const server = new GopherServer({ root });
      const base = `gopher://127.0.0.1:${server.addr.port}`;
      io.out(`  GopherServer(${root}) on ${base}/\n`);
      const menu = await gopherMenu(`${base}/1/`);
      io.out(`  gopherMenu("/") -> ${menu.items.length} items, first ones:\n`);
      for (const item of menu.items.slice(0, 4)) {
        io.out(`    [${item.type}] ${item.display} ${item.selector}\n`);
      }
      const readme = await new Response(await gopherFetch(`${base}/0/README.md`)).text();
      io.out(`  gopherFetch("/README.md") -> ${readme.length} characters of text\n`);
      await using opener = buildOpener(new ProxyHandler({}));
      const response = await opener.open(`${base}/1/cli`);
      const lines = (await response.text()).split("\n").filter(Boolean);
      io.out(`  urlopen("${base}/1/cli") -> ${response.headers.get("content-type")}:\n`);
      for (const line of lines.slice(0, 3)) io.out(`    ${line}\n`);
      const refused = await new Response(
        await gopherFetch({
          port: server.addr.port,
          selector: "/../etc/passwd",
          type: "9",
        }),
      ).text();
      io.out(`  "/../etc/passwd" -> ${JSON.stringify(refused.split("\t")[0])}\n`);
      return [server];
    },
  },
];
