import { RobotsFetcher } from "../url/robots_fetcher.ts";
import { type Command, flagBoolean, flagString, parseArgs, UsageError } from "./_command.ts";

/** `robots URL USER-AGENT PATH`: asks a site's robots.txt. */
export const robotsCommand: Command = {
  name: "robots",
  summary: "tell whether a site's robots.txt allows a path",
  help: `Usage: inetkit robots URL USER-AGENT PATH [--verbose] [--timeout MS]

Fetches robots.txt from the site of URL (RFC 9309: a 4xx answer allows
everything, a 5xx answer or an unreachable site disallows everything) and
prints "allowed" or "disallowed" for USER-AGENT fetching PATH (a path such
as /private/x, or a full URL). robots.txt exists for http and https only:
other URLs are a usage error. Exit code 0 either way, 1 on failure, 2 usage.

  --verbose      also print the crawl delay, request rate and sitemaps
  --timeout MS   milliseconds for the fetch, default 30000
`,
  async run(args, io) {
    const parsed = parseArgs(args, {
      booleans: ["verbose", "help"],
      values: ["timeout"],
      aliases: { v: "verbose" },
    });
    const [site, agent, path, ...rest] = parsed.positional;
    if (site === undefined || agent === undefined || path === undefined || rest.length > 0) {
      throw new UsageError("Expected URL USER-AGENT PATH");
    }
    if (!URL.canParse(site)) throw new UsageError(`Invalid URL: ${site}`);
    const scheme = new URL(site).protocol;
    if (scheme !== "http:" && scheme !== "https:") {
      throw new UsageError(
        `Cannot check ${site}: robots.txt (RFC 9309) is for http and https URLs, not ${
          scheme.slice(0, -1)
        }`,
      );
    }
    if (!path.startsWith("/") && !URL.canParse(path)) {
      throw new UsageError(`Invalid PATH: ${path} (a path starting with / or a URL)`);
    }
    if (!path.startsWith("/") && new URL(path).origin !== new URL(site).origin) {
      throw new UsageError(
        `Invalid PATH: ${path} is not on ${new URL(site).origin} (robots.txt covers one site)`,
      );
    }
    const timeoutText = flagString(parsed, "timeout");
    if (timeoutText !== undefined && !/^[1-9]\d*$/.test(timeoutText)) {
      throw new UsageError(`Invalid --timeout: ${timeoutText}`);
    }
    await using fetcher = new RobotsFetcher({
      userAgent: agent,
      timeout: timeoutText === undefined ? undefined : Number(timeoutText),
    });
    const robots = await fetcher.get(site);
    io.out(robots.isAllowed(agent, path) ? "allowed\n" : "disallowed\n");
    if (flagBoolean(parsed, "verbose")) {
      const delay = robots.crawlDelay(agent);
      const rate = robots.requestRate(agent);
      if (delay !== undefined) io.out(`crawl-delay: ${delay}\n`);
      if (rate !== undefined) io.out(`request-rate: ${rate.requests}/${rate.seconds}\n`);
      for (const sitemap of robots.sitemaps) io.out(`sitemap: ${sitemap}\n`);
    }
    return 0;
  },
};
