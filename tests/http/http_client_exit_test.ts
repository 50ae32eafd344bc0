/**
 * A script that used the client exits at once: the read kept pending on an
 * idle pooled connection (to notice unsolicited bytes) does not hold the
 * process until the pool's idle sweep.
 */
import { serve } from "../../http/serve.ts";
import { assertEquals, assertLess } from "../_helpers/assert.ts";

Deno.test("a script that calls urlopen on a keep-alive server exits without waiting for the pool", async () => {
  await using server = serve({ port: 0 }, () => new Response("hi"));
  const urlopen = new URL("../../url/urlopen.ts", import.meta.url).href;
  const script = `
import { urlopen } from "${urlopen}";
const r = await urlopen("http://127.0.0.1:${server.addr.port}/");
console.log(await r.text());
`;
  const started = Date.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "hi");
  assertLess(Date.now() - started, 2500);
});
