import { captureIo, UsageError } from "../../cli/_command.ts";
import { robotsCommand } from "../../cli/robots.ts";
import { serve } from "../../http/serve.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";

async function robots(args: string[]) {
  const io = captureIo();
  const code = await robotsCommand.run(args, io);
  return { code, out: io.stdout };
}

Deno.test("cli robots prints allowed or disallowed from the site's robots.txt", async () => {
  let agent: string | null = null;
  await using server = serve({ port: 0 }, (request) => {
    agent = request.headers.get("user-agent");
    return new URL(request.url).pathname === "/robots.txt"
      ? new Response("User-agent: *\nDisallow: /private\nCrawl-delay: 3\nSitemap: http://h/s.xml\n")
      : new Response("", { status: 404 });
  });
  const site = `http://127.0.0.1:${server.addr.port}/any/page`;
  assertEquals(await robots([site, "MyBot", "/private/x"]), { code: 0, out: "disallowed\n" });
  assertEquals(await robots([site, "MyBot", "/public"]), { code: 0, out: "allowed\n" });
  assertEquals(agent, "MyBot");
  assertEquals(
    (await robots([site, "MyBot", `http://127.0.0.1:${server.addr.port}/private`, "-v"])).out,
    "disallowed\ncrawl-delay: 3\nsitemap: http://h/s.xml\n",
  );
});

Deno.test("cli robots follows RFC 9309 for 404 and unreachable sites", async () => {
  await using server = serve({ port: 0 }, () => new Response("", { status: 404 }));
  assertEquals(
    (await robots([`http://127.0.0.1:${server.addr.port}/`, "bot", "/x"])).out,
    "allowed\n",
  );
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  assertEquals((await robots([`http://127.0.0.1:${port}/`, "bot", "/x"])).out, "disallowed\n");
});

Deno.test("cli robots rejects bad usage", async () => {
  for (
    const args of [[], ["http://h/", "bot"], ["nota url", "bot", "/x"], ["http://h/", "bot", "x"], [
      "http://h/",
      "bot",
      "/x",
      "--timeout",
      "0",
    ]]
  ) {
    await assertRejects(
      () => robotsCommand.run(args, captureIo()),
      UsageError,
      undefined,
      args.join(" "),
    );
  }
});

Deno.test("cli robots refuses URLs that are not http or https, with a clear message and exit 2", async () => {
  const { runCommand } = await import("../../cli/_command.ts");
  for (const site of ["ftp://127.0.0.1/", "gopher://127.0.0.1/", "file:///etc/"]) {
    const io = captureIo();
    assertEquals(await runCommand(robotsCommand, [site, "bot", "/x"], io), 2, site);
    assertEquals(io.stdout, "");
    assertEquals(
      io.stderr.split("\n")[0],
      `inetkit robots: Cannot check ${site}: robots.txt (RFC 9309) is for http and https URLs, ` +
        `not ${site.split(":")[0]}`,
    );
  }
  await assertRejects(
    () => robotsCommand.run(["http://a.test/", "bot", "http://b.test/x"], captureIo()),
    UsageError,
    "is not on http://a.test",
  );
});
