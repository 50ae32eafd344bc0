import { FileHandler } from "../../url/file_handler.ts";
import { URLError } from "../../url/url_error.ts";
import { UrlOpener } from "../../url/url_opener.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";

Deno.test("FileHandler streams a local file with type, length and date", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a file é.json`;
    await Deno.writeTextFile(path, '{"a":1}');
    await using opener = new UrlOpener([new FileHandler()]);
    const url = new URL(`file://${path}`);
    const response = await opener.open(url);
    assertEquals(response.headers.get("content-type"), "application/json; charset=utf-8");
    assertEquals(response.headers.get("content-length"), "7");
    assertEquals(typeof response.headers.get("last-modified"), "string");
    assertEquals(await response.json(), { a: 1 });
    const local = await opener.open(`file://localhost${url.pathname}`);
    assertEquals(await local.text(), '{"a":1}');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileHandler refuses remote hosts, directories, missing files and NUL", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using opener = new UrlOpener([new FileHandler()]);
    const remote = await assertRejects(
      () => opener.open("file://example.test/etc/hosts"),
      URLError,
    );
    assertEquals(remote.reason, "file not on local host: example.test");
    await assertRejects(() => opener.open(`file://${dir}`), URLError);
    await assertRejects(() => opener.open(`file://${dir}/missing`), URLError);
    await assertRejects(() => opener.open(`file://${dir}/a%00b`), URLError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
