/**
 * Interop: urlopen's Digest auth against a private lighttpd with mod_auth
 * (own config, own port), and redirects from the shared lighttpd peer's
 * /cgi-bin/redirect.sh on 8081.
 */
import { buildOpener } from "../../url/build_opener.ts";
import { HTTPError } from "../../url/http_error.ts";
import { HttpDigestAuthHandler } from "../../url/http_digest_auth_handler.ts";
import { HttpUrlHandler } from "../../url/http_handler.ts";
import { HttpRedirectHandler } from "../../url/http_redirect_handler.ts";
import { PasswordManager } from "../../url/password_manager.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { assertEquals, assertRejects, assertStringIncludes } from "../_helpers/assert.ts";
import { peerTest } from "../_helpers/peers.ts";
import { binaryTest, startLighttpd } from "./url_peers.ts";

async function lighttpd() {
  return await startLighttpd(
    `auth.backend = "plain"
auth.backend.plain.userfile = "$DIR/users"
auth.require = (
  "/both/" => ( "method" => "digest", "realm" => "Lab", "require" => "valid-user", "algorithm" => "SHA-256|MD5" ),
  "/md5/" => ( "method" => "digest", "realm" => "Lab", "require" => "valid-user", "algorithm" => "MD5" ),
  "/sha256/" => ( "method" => "digest", "realm" => "Lab", "require" => "valid-user", "algorithm" => "SHA-256" )
)`,
    {
      "both/index.html": "both\n",
      "md5/index.html": "md5\n",
      "sha256/index.html": "sha256\n",
    },
    { users: "mulder:trustno1\n" },
  );
}

function opener(base: string, password = "trustno1") {
  const pm = new PasswordManager();
  pm.add("Lab", `${base}/`, "mulder", password);
  return buildOpener(new HttpUrlHandler(), new ProxyHandler({}), new HttpDigestAuthHandler(pm));
}

binaryTest(
  "url interop lighttpd: Digest with SHA-256 (preferred) and MD5",
  "lighttpd",
  async () => {
    await using server = await lighttpd();
    const base = `http://127.0.0.1:${server.port}`;
    await using o = opener(base);
    assertEquals(await (await o.open(`${base}/both/`)).text(), "both\n");
    assertEquals(await (await o.open(`${base}/md5/`)).text(), "md5\n");
    assertEquals(await (await o.open(`${base}/sha256/?q=1`)).text(), "sha256\n");
    await server.stop();
    const log = (await server.accessLog()).map((l) => l.replaceAll("\\", ""));
    assertEquals(log.map((l) => l.split(" ")[0]), ["401", "200", "401", "200", "401", "200"]);
    assertStringIncludes(log[1]!, "algorithm=SHA-256");
    assertStringIncludes(log[3]!, "algorithm=MD5");
    assertStringIncludes(log[5]!, 'uri="/sha256/?q=1"');
  },
);

binaryTest(
  "url interop lighttpd: a wrong password ends in HTTPError after one answer",
  "lighttpd",
  async () => {
    await using server = await lighttpd();
    const base = `http://127.0.0.1:${server.port}`;
    await using o = opener(base, "wrong");
    const error = await assertRejects(() => o.open(`${base}/both/`), HTTPError);
    assertEquals(error.code, 401);
    await server.stop();
    assertEquals((await server.accessLog()).length, 2);
  },
);

binaryTest(
  "url interop lighttpd: a POST is answered with a Digest over the POST method",
  "lighttpd",
  async () => {
    await using server = await lighttpd();
    const base = `http://127.0.0.1:${server.port}`;
    await using o = opener(base);
    // The Digest response covers the method: lighttpd accepts it only if the
    // retry is a POST again (it then serves the static file).
    assertEquals(await (await o.open(`${base}/md5/`, { data: "a=1" })).text(), "md5\n");
    await server.stop();
    const log = await server.accessLog();
    assertEquals(log.map((l) => l.split(" ").slice(0, 2).join(" ")), ["401 POST", "200 POST"]);
  },
);

peerTest("url interop lighttpd peer: redirect.sh is followed to /static.txt", 8081, async () => {
  await using o = buildOpener(new HttpUrlHandler(), new ProxyHandler({}));
  const response = await o.open("http://127.0.0.1:8081/cgi-bin/redirect.sh");
  assertEquals(response.url, "http://127.0.0.1:8081/static.txt");
  assertEquals(response.redirected, true);
  assertEquals((await response.text()).length > 0, true);
  // A POST is turned into a GET by the 302.
  const post = await o.open("http://127.0.0.1:8081/cgi-bin/redirect.sh", { data: "x=1" });
  assertEquals(post.url, "http://127.0.0.1:8081/static.txt");
  await post.body?.cancel();
  // Without following, the 302 is an HTTPError naming the Location.
  class Stop extends HttpRedirectHandler {
    override error() {
      return Promise.resolve(null);
    }
  }
  await using raw = buildOpener(new HttpUrlHandler(), new ProxyHandler({}), new Stop());
  const error = await assertRejects(
    () => raw.open("http://127.0.0.1:8081/cgi-bin/redirect.sh"),
    HTTPError,
  );
  assertEquals([error.code, error.headers.get("location")], [302, "/static.txt"]);
});
