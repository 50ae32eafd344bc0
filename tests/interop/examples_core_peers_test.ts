/**
 * The classic examples of `cli/examples/` run exactly as their headers say,
 * with their default arguments, against the test bed's real servers: xinetd's
 * RFC 868 time service (ports 37 and 3737), nginx (8080) and lighttpd's CGI
 * echo script (8081). `tests/cli/examples_core_test.ts` runs the same
 * examples against inetkit's own servers.
 *
 * The URL opener's examples exit only once the opener's idle keep-alive
 * connection to nginx times out (about 4 s), so each group runs its
 * examples at the same time.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { PEERS_DIR, peerTest } from "../_helpers/peers.ts";

const decoder = new TextDecoder();
const NET = "--allow-net=127.0.0.1";

async function example(
  name: string,
  args: string[] = [],
  permissions: string[] = [NET],
  cwd?: string,
): Promise<string> {
  const path = new URL(`../../cli/examples/${name}`, import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, path, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = decoder.decode(stdout);
  assertEquals([name, code, decoder.decode(stderr)], [name, 0, ""], out);
  return out;
}

function assertClock(out: string): void {
  assertMatch(out, /^server time is \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\n/);
  const offset = Number(/local clock is (-?\d+) seconds off\n$/.exec(out)?.[1]);
  assert(Math.abs(offset) <= 2, out);
}

peerTest(
  "time examples with their defaults agree with xinetd (ports 37 and 3737)",
  3737,
  async () => {
    const [tcp, module, udp, asyncore] = await Promise.all([
      example("time_client_tcp.ts"), // port 37 by default, as socket-example-1
      example("time_client.ts", ["127.0.0.1", "3737"]),
      example("time_client_udp.ts", ["127.0.0.1", "3737"], ["--unstable-net", NET]),
      example("asyncore_time_client.ts"), // port 37 by default
    ]);
    assertClock(tcp);
    assertClock(module);
    assertClock(udp);
    const delta = Number(/^time difference is (-?\d+)\n$/.exec(asyncore)?.[1]);
    assert(Math.abs(delta) <= 2, asyncore);
  },
);

peerTest("HTTP examples with their defaults read nginx's test pages", 8080, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const index = await Deno.readTextFile(`${PEERS_DIR}/www/index.html`).catch(() => null);
    const [read, request, info, redirect, client, notFound, opener, copy, robots, get, proxy] =
      await Promise.all([
        example("urlopen_read.ts"),
        example("urllib2_request.ts"),
        example("urllib2_info_geturl.ts"),
        example("asyncore_http_redirect.ts"),
        example("asyncore_http_client.ts"),
        example("urllib2_httperror_read.ts"),
        example("urllib2_opener_handlers.ts"),
        example("urllib_copy.ts", [], [NET, `--allow-write=${dir}`], dir),
        example("robotparser_check.ts"),
        example("httplib_get.ts"),
        example("urllib2_proxy.ts"),
      ]);
    if (index !== null) {
      assertEquals(read, index + "\n");
      assertEquals(get, index + "\n");
      assertEquals(await Deno.readTextFile(`${dir}/out.html`), index);
    }
    assertStringIncludes(request, "same page again: true");
    assertStringIncludes(info, "geturl: http://127.0.0.1:8080/dir/\n");
    assertStringIncludes(info, "server: nginx/");
    assertStringIncludes(redirect, "redirecting to http://127.0.0.1:8080/dir/ ...\n");
    assertStringIncludes(client, 'status => [ 200, "OK" ]\n');
    assertMatch(client, /\n\d+ bytes in body\n$/);
    assertMatch(notFound, /^404\n<html>/);
    assertEquals(opener.split("\n").slice(0, 2), [
      "without a redirect handler: 301 to http://127.0.0.1:8080/dir/",
      "with the default handlers: 200 from http://127.0.0.1:8080/dir/",
    ]);
    assertMatch(copy, /\ncopied \d+ bytes from http:\/\/127\.0\.0\.1:8080\/\n$/);
    assertEquals(robots, "may fetch the home page\nmay fetch the tim peters archive\n");
    assertEquals(proxy, "direct: 200\nhello, world\n\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

peerTest("form examples with their defaults reach lighttpd's CGI echo script", 8081, async () => {
  const [post, query, headers, httplib] = await Promise.all([
    example("urllib2_post_form.ts"),
    example("urllib2_get_query.ts"),
    example("urllib2_request_data_headers.ts"),
    example("httplib_post.ts"),
  ]);
  for (const out of [post, headers]) {
    assertStringIncludes(out, "method=POST\n");
    assertStringIncludes(out, "name=Michael+Foord&location=Northampton&language=Python");
  }
  assertStringIncludes(query, "method=GET\nquery=name=Somebody+Here&location=Northampton");
  assertStringIncludes(httplib, "method=POST\n");
  assertStringIncludes(httplib, "length=15\na piece of data");
});
