import { captureIo } from "../../cli/_command.ts";
import { tourCommand } from "../../cli/tour.ts";
import { assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";

Deno.test("cli tour runs every stop against its own servers and exits 0", async () => {
  const io = captureIo();
  assertEquals(await tourCommand.run([], io), 0, io.stderr);
  assertEquals(io.stderr, "");
  assertMatch(io.stdout, /getTime over tcp: server time is .+ GMT/);
  assertMatch(io.stdout, /getTime over udp: server time is .+ GMT/);
  assertMatch(io.stdout, /GET \/ -> 200 OK, 19 bytes: hello from inetkit/);
  assertStringIncludes(io.stdout, "POST /echo -> 200: you sent 4 bytes: ping");
  assertMatch(io.stdout, /Range bytes=0-8 -> 206 bytes 0-8\/\d+: "# inetkit"/);
  assertMatch(io.stdout, /\/welcome: welcome, you sent: session=tour42/);
  assertStringIncludes(io.stdout, "tourbot may not fetch /private/x");
  assertStringIncludes(io.stdout, "tourbot may fetch /private/ok");
  assertStringIncludes(io.stdout, 'subject "Café at 8? ☕"');
  assertStringIncludes(io.stdout, 'RETR it back: "stored by FtpClient\\n"');
  assertMatch(io.stdout, /IDLE saw it arrive: \* 1 EXISTS/);
  assertStringIncludes(io.stdout, "RETR 1:");
  assertStringIncludes(io.stdout, "Subject: The truth");
  assertStringIncludes(io.stdout, "OVER 2: Re: First post");
  assertStringIncludes(io.stdout, "Tour complete.");
});
