/**
 * The tour (`deno task start`): starts inetkit's own servers on free
 * loopback ports, runs inetkit's clients against them and prints what each
 * exchange produced. `--serve` keeps the servers running until Ctrl-C.
 *
 * @module
 */
import { getTime, TimeServer } from "../net/time_protocol.ts";
import { type Command, type CommandIo, denoIo, flagBoolean, parseArgs } from "./_command.ts";

/** One stop of the tour: starts its servers, runs its clients, returns what to stop. */
interface Stop {
  title: string;
  run(io: CommandIo): Promise<AsyncDisposable[]>;
}

const STOPS: Stop[] = [
  {
    title: "RFC 868 time (net/time_protocol.ts)",
    async run(io) {
      const server = new TimeServer({ hostname: "127.0.0.1", port: 0 });
      const port = server.addr.port;
      io.out(`  TimeServer listening on tcp+udp 127.0.0.1:${port}\n`);
      for (const transport of ["tcp", "udp"] as const) {
        const date = await getTime({ port, transport, timeout: 2000 });
        const offset = Math.floor(Date.now() / 1000) - date.getTime() / 1000;
        io.out(
          `  getTime over ${transport}: server time is ${date.toUTCString()}` +
            ` (local clock is ${offset} seconds off)\n`,
        );
      }
      return [server];
    },
  },
];

/** The tour as a subcommand of `cli/main.ts`. */
export const tourCommand: Command = {
  name: "tour",
  summary: "start inetkit's servers and run its clients against them",
  help: `Usage: inetkit tour [--serve]

Starts inetkit's own servers on free loopback ports, runs inetkit's clients
against them and prints what each exchange produced.

  --serve   keep the servers running until Ctrl-C
`,
  async run(args, io) {
    const parsed = parseArgs(args, { booleans: ["serve", "help"] });
    const servers: AsyncDisposable[] = [];
    let failed = 0;
    try {
      for (const stop of STOPS) {
        io.out(`${stop.title}\n`);
        try {
          servers.push(...await stop.run(io));
        } catch (error) {
          failed++;
          io.err(`  failed: ${error instanceof Error ? error.message : error}\n`);
        }
      }
      if (flagBoolean(parsed, "serve")) {
        io.out("Servers are running; press Ctrl-C to stop.\n");
        await new Promise<void>((resolve) => {
          const onSignal = () => {
            Deno.removeSignalListener("SIGINT", onSignal);
            resolve();
          };
          Deno.addSignalListener("SIGINT", onSignal);
        });
      }
    } finally {
      for (const server of servers.reverse()) await server[Symbol.asyncDispose]();
    }
    io.out(failed === 0 ? "Tour complete.\n" : `Tour finished with ${failed} failed stops.\n`);
    return failed === 0 ? 0 : 1;
  },
};

if (import.meta.main) {
  Deno.exit(await tourCommand.run(Deno.args, denoIo()));
}
