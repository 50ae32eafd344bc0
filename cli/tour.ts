/**
 * The tour (`deno task start`): starts inetkit's own servers on free
 * loopback ports, runs inetkit's clients against them and prints what each
 * exchange produced. `--serve` keeps the servers running until Ctrl-C.
 *
 * @module
 */
import { CookieJar } from "../http/cookie_jar.ts";
import { serveDir } from "../http/file_server.ts";
import { HttpClient } from "../http/http_client.ts";
import { serve } from "../http/serve.ts";
import { buildMessage } from "../mail/message_builder.ts";
import { parseMessage } from "../mail/message.ts";
import { getTime, TimeServer } from "../net/time_protocol.ts";
import { buildOpener } from "../url/build_opener.ts";
import { HttpCookieProcessor } from "../url/http_cookie_processor.ts";
import { RobotsFetcher } from "../url/robots_fetcher.ts";
import { type Command, type CommandIo, denoIo, flagBoolean, parseArgs } from "./_command.ts";
import { TELNET_GOPHER_TOUR_STOPS } from "./_tour_telnet_gopher.ts";
import { PROTOCOL_TOUR_STOPS } from "./_tour_protocols.ts";

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
  {
    title: "HTTP/1.1 server and client (http/serve.ts, http/http_client.ts)",
    async run(io) {
      const server = serve({ port: 0 }, async (request) => {
        if (request.method === "POST") {
          const text = await request.text();
          return new Response(`you sent ${text.length} bytes: ${text}`);
        }
        return new Response("hello from inetkit\n", { headers: { "content-type": "text/plain" } });
      });
      const base = `http://127.0.0.1:${server.addr.port}`;
      io.out(`  serve() listening on ${base}\n`);
      await using client = new HttpClient();
      const get = await client.request(`${base}/`);
      const body = await get.text();
      io.out(`  GET / -> ${get.status} ${get.statusText}, ${body.length} bytes: ${body.trim()}\n`);
      for (const [name, value] of get.headers) io.out(`    ${name}: ${value}\n`);
      const post = await client.request(`${base}/echo`, { method: "POST", body: "ping" });
      io.out(`  POST /echo -> ${post.status}: ${await post.text()}\n`);
      return [server];
    },
  },
  {
    title: "Static files (http/file_server.ts serveDir)",
    async run(io) {
      const root = new URL("..", import.meta.url).pathname;
      const server = serve({ port: 0 }, (request) => serveDir(request, { fsRoot: root }));
      const base = `http://127.0.0.1:${server.addr.port}`;
      io.out(`  serveDir(${root}) on ${base}\n`);
      await using client = new HttpClient();
      const page = await client.request(`${base}/README.md`);
      const bytes = (await page.bytes()).length;
      io.out(
        `  GET /README.md -> ${page.status}, ${bytes} bytes, ${page.headers.get("content-type")},` +
          ` ETag ${page.headers.get("etag")}\n`,
      );
      const range = await client.request(`${base}/README.md`, { headers: { range: "bytes=0-8" } });
      io.out(
        `  Range bytes=0-8 -> ${range.status} ${range.headers.get("content-range")}: ` +
          `${JSON.stringify(await range.text())}\n`,
      );
      const listing = await client.request(`${base}/net/`);
      const html = await listing.text();
      const entries = html.match(/<a href=/g)?.length ?? 0;
      io.out(`  GET /net/ -> ${listing.status}, a listing with ${entries} links\n`);
      return [server];
    },
  },
  {
    title: "URL opener and robots.txt (url/)",
    async run(io) {
      const server = serve({ port: 0 }, (request) => {
        const url = new URL(request.url);
        if (url.pathname === "/robots.txt") {
          return new Response("User-agent: *\nDisallow: /private/\nAllow: /private/ok\n");
        }
        if (url.pathname === "/login") {
          return new Response(null, {
            status: 302,
            headers: { location: "/welcome", "set-cookie": "session=tour42; Path=/; HttpOnly" },
          });
        }
        const cookie = request.headers.get("cookie") ?? "no cookie";
        return new Response(`welcome, you sent: ${cookie}`);
      });
      const base = `http://127.0.0.1:${server.addr.port}`;
      const jar = new CookieJar();
      const opener = buildOpener(new HttpCookieProcessor(jar));
      const response = await opener.open(`${base}/login`);
      io.out(
        `  urlopen ${base}/login -> ${response.status} at ${response.url}: ${await response
          .text()}\n`,
      );
      io.out(`  cookie jar now holds ${jar.size} cookie(s)\n`);
      await opener.close();
      const robots = new RobotsFetcher();
      for (const path of ["/index.html", "/private/x", "/private/ok"]) {
        const allowed = await robots.isAllowed("tourbot", `${base}${path}`);
        io.out(`  robots.txt: tourbot ${allowed ? "may" : "may not"} fetch ${path}\n`);
      }
      await robots.close();
      return [server];
    },
  },
  {
    title: "Mail messages (mail/message_builder.ts, mail/message.ts)",
    async run(io) {
      const stream = buildMessage({
        from: "Fox Mulder <mulder@example.test>",
        to: "Dana Scully <scully@example.test>",
        subject: "Café at 8? ☕",
        text: "The truth is out there.\n",
        html: "<p>The truth is <b>out there</b>.</p>",
        attachments: [{ filename: "notes.txt", content: "case file X-1013\n" }],
      });
      const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
      io.out(`  buildMessage(): ${bytes.length} bytes of RFC 5322 + MIME\n`);
      const message = await parseMessage(bytes);
      io.out(`  parseMessage(): subject ${JSON.stringify(message.subject)}\n`);
      io.out(`    from ${message.from.map((a) => `${a.name} <${a.address}>`).join(", ")}\n`);
      io.out(`    text body ${JSON.stringify(message.textBody)}\n`);
      io.out(`    attachments ${message.attachments.map((a) => a.filename).join(", ")}\n`);
      return [];
    },
  },
  ...PROTOCOL_TOUR_STOPS,
  ...TELNET_GOPHER_TOUR_STOPS,
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
