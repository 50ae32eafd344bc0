/**
 * Interop: urlopen's Basic auth, keep-alive and resume against a private
 * nginx with `auth_basic` (own config, own port; the shared peer is not
 * touched).
 */
import { buildOpener } from "../../url/build_opener.ts";
import { HTTPError } from "../../url/http_error.ts";
import { HttpBasicAuthHandler } from "../../url/http_basic_auth_handler.ts";
import { HttpUrlHandler } from "../../url/http_handler.ts";
import { PasswordManager } from "../../url/password_manager.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { urlretrieve } from "../../url/urlretrieve.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";
import { binaryTest, startNginx } from "./url_peers.ts";

async function apr1(password: string): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args: ["passwd", "-apr1", password],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

const BIG = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);

async function nginx() {
  return await startNginx(
    `    location /private/ { auth_basic "Lab"; auth_basic_user_file $DIR/htpasswd; }
    location /other/ { auth_basic "Lab"; auth_basic_user_file $DIR/htpasswd; }`,
    {
      "index.html": "public\n",
      "private/index.html": "secret page\n",
      "private/data.bin": BIG,
      "other/index.html": "other secret\n",
    },
    { "htpasswd": `mulder:${await apr1("trustno1")}\n` },
  );
}

function manager(base: string, password = "trustno1", preemptive = false): PasswordManager {
  const pm = new PasswordManager();
  pm.add("Lab", `${base}/private/`, "mulder", password, { preemptive });
  return pm;
}

binaryTest(
  "url interop nginx: auth_basic challenge answered, credentials scoped by path",
  "nginx",
  async () => {
    await using server = await nginx();
    const base = `http://127.0.0.1:${server.port}`;
    await using opener = buildOpener(
      new HttpUrlHandler(),
      new ProxyHandler({}),
      new HttpBasicAuthHandler(manager(base)),
    );
    const response = await opener.open(`${base}/private/`);
    assertEquals(await response.text(), "secret page\n");
    // Same realm, but outside /private/: nothing is sent.
    const error = await assertRejects(() => opener.open(`${base}/other/`), HTTPError);
    assertEquals(error.code, 401);
    assertEquals(error.headers.get("www-authenticate"), 'Basic realm="Lab"');
    await server.stop();
    const log = await server.accessLog();
    assertEquals(log.map((l) => l.split(" ").slice(1, 3).join(" ")), [
      "401 GET",
      "200 GET",
      "401 GET",
    ]);
    assertEquals(log[2]!.endsWith('"-"'), true);
  },
);

binaryTest(
  "url interop nginx: a wrong password ends in HTTPError after one retry",
  "nginx",
  async () => {
    await using server = await nginx();
    const base = `http://127.0.0.1:${server.port}`;
    await using opener = buildOpener(
      new HttpUrlHandler(),
      new ProxyHandler({}),
      new HttpBasicAuthHandler(manager(base, "wrong")),
    );
    const error = await assertRejects(() => opener.open(`${base}/private/`), HTTPError);
    assertEquals(error.code, 401);
    await server.stop();
    assertEquals((await server.accessLog()).length, 2);
  },
);

binaryTest(
  "url interop nginx: pre-emptive Basic over one kept-alive connection",
  "nginx",
  async () => {
    await using server = await nginx();
    const base = `http://127.0.0.1:${server.port}`;
    await using opener = buildOpener(
      new HttpUrlHandler(),
      new ProxyHandler({}),
      new HttpBasicAuthHandler(manager(base, "trustno1", true)),
    );
    for (let i = 0; i < 20; i++) {
      assertEquals(
        await (await opener.open(`${base}/private/`)).text(),
        "secret page\n",
      );
    }
    await server.stop();
    const log = await server.accessLog();
    assertEquals(log.length, 20);
    assertEquals(log.every((l) => l.split(" ")[1] === "200"), true);
    assertEquals(new Set(log.map((l) => l.split(" ")[0])).size, 1);
  },
);

binaryTest(
  "url interop nginx: urlretrieve resumes with Range + If-Range (ETag)",
  "nginx",
  async () => {
    await using server = await nginx();
    const base = `http://127.0.0.1:${server.port}`;
    await using opener = buildOpener(
      new HttpUrlHandler(),
      new ProxyHandler({}),
      new HttpBasicAuthHandler(manager(base, "trustno1", true)),
    );
    const dir = await Deno.makeTempDir();
    try {
      const first = await urlretrieve(`${base}/private/data.bin`, `${dir}/a`, { opener });
      assertEquals(first.size, BIG.length);
      await Deno.writeFile(`${dir}/b`, BIG.subarray(0, 100_000));
      const resumed = await urlretrieve(`${base}/private/data.bin`, `${dir}/b`, {
        opener,
        resume: true,
        ifRange: first.validator!,
      });
      assertEquals([resumed.status, resumed.resumed], [206, true]);
      assertEquals(await Deno.readFile(`${dir}/b`), BIG);
      // A stale validator gets the whole file again.
      await Deno.writeFile(`${dir}/c`, new Uint8Array(10));
      const stale = await urlretrieve(`${base}/private/data.bin`, `${dir}/c`, {
        opener,
        resume: true,
        ifRange: '"stale-etag"',
      });
      assertEquals(stale.status, 200);
      assertEquals(await Deno.readFile(`${dir}/c`), BIG);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
