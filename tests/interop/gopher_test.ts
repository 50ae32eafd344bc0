/**
 * Interop for Gopher: our client against gophernicus 3.1.1 (under xinetd
 * on 127.0.0.1:7070, serving $PEERS_DIR/gopher), and our server read by
 * curl's gopher:// support (menu, text, binary).
 */
import { gopherFetch, gopherMenu } from "../../net/gopher_client.ts";
import { GopherServer } from "../../net/gopher_server.ts";
import { parseGopherMenu } from "../../net/gopher_menu.ts";
import { buildOpener } from "../../url/build_opener.ts";
import "../../url/gopher_handler.ts";
import { ProxyHandler } from "../../url/proxy_handler.ts";
import { assert, assertEquals, assertStringIncludes } from "../_helpers/assert.ts";
import { PEERS_DIR, PEERS_REQUIRED, peerTest } from "../_helpers/peers.ts";

const GOPHERNICUS_PORT = 7070;

peerTest("gopherMenu() reads gophernicus' root menu", GOPHERNICUS_PORT, async () => {
  const menu = await gopherMenu({ port: GOPHERNICUS_PORT, selector: "/" });
  assertEquals(menu.terminated, true);
  assertEquals(menu.skipped, 0);
  assertEquals(
    menu.items.filter((i) => i.type !== "i").map((i) => [i.type, i.display, i.selector, i.port]),
    [
      ["0", "About this server", "/about.txt", 7070],
      ["1", "Documents", "/docs", 7070],
      ["0", "Hello file", "/docs/hello.txt", 7070],
    ],
  );
  assertEquals(menu.items[0]?.display, "Welcome to the peers gopher test bed.");
});

peerTest("gopherMenu() reads gophernicus' generated /docs listing", GOPHERNICUS_PORT, async () => {
  const menu = await gopherMenu(`gopher://127.0.0.1:${GOPHERNICUS_PORT}/1/docs`);
  const links = menu.items.filter((i) => i.type === "0").map((i) => i.selector);
  assertEquals(links, ["/docs/hello.txt", "/docs/second.txt"]);
  assertEquals(menu.skipped, 0);
});

peerTest(
  "gopherFetch() reads gophernicus' text files byte for byte",
  GOPHERNICUS_PORT,
  async () => {
    for (const path of ["/about.txt", "/docs/hello.txt", "/docs/second.txt"]) {
      const body = await gopherFetch({ port: GOPHERNICUS_PORT, selector: path, type: "0" });
      const text = await new Response(body).text();
      const file = await Deno.readTextFile(`${PEERS_DIR}/gopher${path}`);
      // gophernicus sends text files with CR LF line ends and no dot line.
      assertEquals(text, file.replaceAll("\n", "\r\n"), path);
    }
  },
);

peerTest(
  "urlopen renders gophernicus' menu and its not-found answer",
  GOPHERNICUS_PORT,
  async () => {
    await using opener = buildOpener(new ProxyHandler({}));
    const base = `gopher://127.0.0.1:${GOPHERNICUS_PORT}`;
    const menu = await (await opener.open(`${base}/1/`)).text();
    assertStringIncludes(menu, `[menu] Documents <${base}/1/docs>\n`);
    assertStringIncludes(menu, `[text] About this server <${base}/0/about.txt>\n`);
    const missing = await (await opener.open(`${base}/1/no-such-thing`)).text();
    assertStringIncludes(missing, "Error: File or directory not found!");
  },
);

async function hasCurl(): Promise<boolean> {
  try {
    const out = await new Deno.Command("curl", { args: ["--version"], stdout: "piped" }).output();
    return out.success && /\bgopher\b/.test(new TextDecoder().decode(out.stdout));
  } catch {
    return false;
  }
}

async function curl(url: string): Promise<Uint8Array> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "-S", "--noproxy", "*", "--max-time", "10", url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return out.stdout;
}

Deno.test("GopherServer is read by curl gopher:// (menu, text, binary)", async () => {
  if (!(await hasCurl())) {
    if (PEERS_REQUIRED) throw new Error("curl with gopher support is missing but INETKIT_PEERS=1");
    console.warn("skipped: curl with gopher:// support is not installed");
    return;
  }
  const root = await Deno.makeTempDir();
  try {
    const binary = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
    await Deno.writeTextFile(`${root}/notes.txt`, "first line\n.dotted\nlast\n");
    await Deno.writeFile(`${root}/blob.bin`, binary);
    await Deno.mkdir(`${root}/sub`);
    await using server = new GopherServer({ root });
    const base = `gopher://127.0.0.1:${server.addr.port}`;
    const menu = parseGopherMenu(await curl(`${base}/1/`));
    assertEquals(menu.items.map((i) => [i.type, i.selector]), [
      ["9", "/blob.bin"],
      ["0", "/notes.txt"],
      ["1", "/sub"],
    ]);
    assertEquals(menu.terminated, true);
    // curl prints text items raw: our RFC 1436 stuffing and the dot line show.
    assertEquals(
      new TextDecoder().decode(await curl(`${base}/0/notes.txt`)),
      "first line\r\n..dotted\r\nlast\r\n.\r\n",
    );
    assertEquals(await curl(`${base}/9/blob.bin`), binary);
    assertEquals(parseGopherMenu(await curl(`${base}/1/sub`)).items, []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
