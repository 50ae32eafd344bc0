import { DataHandler } from "../../url/data_handler.ts";
import { URLError } from "../../url/url_error.ts";
import { UrlOpener } from "../../url/url_opener.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";

const opener = new UrlOpener([new DataHandler()]);

async function open(url: string): Promise<[string | null, string]> {
  const response = await opener.open(url);
  return [response.headers.get("content-type"), await response.text()];
}

Deno.test("DataHandler decodes percent-encoded and base64 data (RFC 2397)", async () => {
  assertEquals(await open("data:,A%20brief%20note"), [
    "text/plain;charset=US-ASCII",
    "A brief note",
  ]);
  assertEquals(await open("data:text/html;charset=utf-8,%3Cb%3E%C3%A9"), [
    "text/html;charset=utf-8",
    "<b>é",
  ]);
  assertEquals(await open("data:;base64,SGVsbG8sIFdvcmxkIQ=="), [
    "text/plain;charset=US-ASCII",
    "Hello, World!",
  ]);
  assertEquals(await open("data:application/octet-stream;BASE64,AAEC"), [
    "application/octet-stream",
    "\0\x01\x02",
  ]);
  assertEquals(await open("data:;charset=utf-8,x"), ["text/plain;charset=utf-8", "x"]);
  assertEquals(await open("data:text/plain;base64,SGk#frag"), ["text/plain", "Hi"]);
});

Deno.test("DataHandler sets Content-Length and the URL without fragment", async () => {
  const response = await opener.open("data:,abc#x");
  assertEquals(response.headers.get("content-length"), "3");
  assertEquals(response.url, "data:,abc");
  await response.body?.cancel();
});

Deno.test("DataHandler rejects a missing comma and invalid base64", async () => {
  await assertRejects(() => opener.open("data:text/plain"), URLError);
  await assertRejects(() => opener.open("data:;base64,S"), URLError);
  await assertRejects(() => opener.open("data:;base64,S$=="), URLError);
});
