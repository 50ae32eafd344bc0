/**
 * basehttpserver-example-1.py from the classic network protocols chapter:
 * an HTTP server that shows a random quote at `/` and a 404 anywhere else
 * (the original sent its page after the 404 too). Runs until Ctrl-C.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/basehttpserver_quote.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 8000 (0 picks a free port).
 *
 * @module
 */
import { serve } from "../../http/serve.ts";

const [host = "127.0.0.1", port = "8000"] = Deno.args;

const MESSAGES = [
  "That's as maybe, it's still a frog.",
  "Albatross! Albatross!",
  "A pink form from Reading.",
  "Hello people, and welcome to 'It's a Tree'",
  "I simply stare at the brick and it goes to sleep.",
];

const escape = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

const httpd = serve({ hostname: host, port: Number(port) }, (request) => {
  if (new URL(request.url).pathname !== "/") {
    return new Response("File not found", { status: 404 });
  }
  // generate a random message
  const tagline = MESSAGES[Math.floor(Math.random() * MESSAGES.length)]!;
  return new Response(
    `<html>\n<body>\nToday's quote: \n<i>${escape(tagline)}</i>\n</body>\n</html>\n`,
    { headers: { "Content-type": "text/html" } },
  );
});
console.log("serving at port", httpd.addr.port);
await httpd.finished;
