/**
 * The two Deno-internals fast paths (response body hints, the lazy Request
 * bridge) must be active on the pinned Deno: if an upgrade turns them off
 * silently, every request gets slower, so this fails CI instead. They can
 * be turned off for a run with INETKIT_NO_FAST_PATHS=1, and the server then
 * works on the public paths alone.
 */
import { fastPathsDisabled, hintsActive } from "../../http/_response_hints.ts";
import { requestBridged } from "../../http/_server_request.ts";
import { serve } from "../../http/serve.ts";
import { assert, assertEquals, assertStringIncludes } from "../_helpers/assert.ts";

Deno.test("the response hints and the Request bridge are active on this Deno", () => {
  if (fastPathsDisabled()) {
    assert(!hintsActive() && !requestBridged(), "INETKIT_NO_FAST_PATHS=1 must turn both off");
    return;
  }
  assert(hintsActive(), `the response hints are off on Deno ${Deno.version.deno}`);
  assert(requestBridged(), `the Request bridge is off on Deno ${Deno.version.deno}`);
});

Deno.test("a handler's Request answers every Request getter and console.log", async () => {
  let seen = "";
  await using server = serve({ port: 0 }, async (request) => {
    seen = [
      request.method,
      request.mode,
      request.cache,
      request.credentials,
      request.redirect,
      request.referrer,
      request.keepalive,
      request.destination,
      request.integrity,
    ].join(" ");
    const shown = Deno.inspect(request);
    const copy = request.clone();
    return new Response(`${shown}\n${await copy.text()}`);
  });
  const response = await fetch(`http://127.0.0.1:${server.addr.port}/x`, {
    method: "POST",
    body: "payload",
  });
  const text = await response.text();
  assertEquals(seen, "POST cors default same-origin follow about:client false  ");
  assertStringIncludes(text, "Request {");
  assertStringIncludes(text, `url: "http://127.0.0.1:${server.addr.port}/x"`);
  assertStringIncludes(text, "payload");
});

Deno.test("with INETKIT_NO_FAST_PATHS=1 the server still answers through the public paths", async () => {
  const url = new URL("../../http/serve.ts", import.meta.url).href;
  const script = `
import { serve } from "${url}";
const server = serve({ port: 0, onListen: () => {} }, async (request) =>
  new Response(request.mode + " " + (await request.text()) + " " + Deno.inspect(request).slice(0, 9)));
const r = await fetch("http://127.0.0.1:" + server.addr.port + "/", { method: "PUT", body: "b" });
console.log(await r.text());
await server.shutdown();
`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    env: { INETKIT_NO_FAST_PATHS: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "cors b Request {");
});

Deno.test({
  name: "the server's suites pass on the public paths alone (INETKIT_NO_FAST_PATHS=1)",
  // Skipped inside such a run; the child runs these files, not this one.
  ignore: fastPathsDisabled(),
  async fn() {
    const files = [
      "http_server_test.ts",
      "http_server_compression_test.ts",
      "http_server_disconnect_test.ts",
      "proxy_test.ts",
      "web_socket_test.ts",
    ].map((name) => new URL(name, import.meta.url).pathname);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-check", ...files],
      env: { INETKIT_NO_FAST_PATHS: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const failed = text.split("\n").filter((line) => line.includes("FAILED")).slice(0, 20);
    assertEquals(out.code, 0, failed.join("\n") || text.slice(-4000));
    assertStringIncludes(text, " 0 failed");
  },
});
