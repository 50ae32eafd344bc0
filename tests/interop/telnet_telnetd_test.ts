/**
 * Interop: `TelnetClient` against inetutils telnetd 2.4 (under xinetd on
 * 127.0.0.1:2323, real /bin/login and bash): negotiation, login as
 * mulder/trustno1, a command, a refused login, an expect() timeout on a
 * live session, and the CLI's scripted mode.
 */
import { captureIo, runCommand } from "../../cli/_command.ts";
import { telnetCommand } from "../../cli/telnet.ts";
import { TELNET_OPTION } from "../../net/telnet_codec.ts";
import { TelnetClient, TelnetLoginError } from "../../net/telnet_client.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../_helpers/assert.ts";
import { peerTest } from "../_helpers/peers.ts";

const TELNETD_PORT = 2323;

peerTest("TelnetClient logs in to telnetd and runs a command", TELNETD_PORT, async () => {
  await using telnet = await TelnetClient.connect({ port: TELNETD_PORT, timeout: 10000 });
  const banner = await telnet.login("mulder", "trustno1");
  assert(/\$ $/.test(banner), JSON.stringify(banner.slice(-40)));
  // telnetd asked to echo and to suppress go-ahead; we agreed.
  assert(telnet.codec.isEnabled(TELNET_OPTION.ECHO, "remote"));
  assert(telnet.codec.isEnabled(TELNET_OPTION.SUPPRESS_GO_AHEAD, "remote"));
  assertEquals(await telnet.runCommand("echo TELNET-OK-$((6*7))"), "TELNET-OK-42\n");
  assertEquals(await telnet.runCommand("ls -d Maildir"), "Maildir\n");
  await telnet.write("exit\n");
  assertStringIncludes(await telnet.readAll({ timeout: 10000 }), "logout");
});

peerTest(
  "TelnetClient with a terminal type and window size gets bash's escapes stripped",
  TELNETD_PORT,
  async () => {
    await using telnet = await TelnetClient.connect({
      port: TELNETD_PORT,
      timeout: 10000,
      terminalType: "XTERM",
      windowSize: { columns: 132, rows: 50 },
    });
    await telnet.login("mulder", "trustno1");
    assert(telnet.codec.isEnabled(TELNET_OPTION.NAWS, "local"));
    assertEquals(await telnet.runCommand("echo $TERM $COLUMNS"), "xterm 132\n");
    await telnet.write("exit\n");
  },
);

peerTest(
  "TelnetClient.expect() times out on a live session and keeps reading",
  TELNETD_PORT,
  async () => {
    await using telnet = await TelnetClient.connect({ port: TELNETD_PORT });
    await telnet.login("mulder", "trustno1", { timeout: 10000 });
    await telnet.write("sleep 1; echo LATE-$((1+1))\n");
    const early = await telnet.expect([/LATE-2/], { timeout: 200 });
    assertEquals([early.index, early.eof], [-1, false]);
    const late = await telnet.readUntil(/LATE-2\r\n/, { timeout: 5000 });
    assertStringIncludes(early.text + late, "LATE-2\r\n");
    await telnet.write("exit\n");
  },
);

peerTest("TelnetClient.login() reports telnetd's refusal", TELNETD_PORT, async () => {
  await using telnet = await TelnetClient.connect({ port: TELNETD_PORT });
  const error = await assertRejects(
    () => telnet.login("mulder", "not-the-password", { timeout: 15000 }),
    TelnetLoginError,
  );
  assertEquals(error.reason, "refused");
  assertStringIncludes(error.message, "Login incorrect");
});

peerTest("cli telnet --login --command against telnetd", TELNETD_PORT, async () => {
  const variable = "INETKIT_INTEROP_TELNET_PASSWORD";
  Deno.env.set(variable, "trustno1");
  try {
    const io = captureIo();
    const code = await runCommand(telnetCommand, [
      "127.0.0.1",
      String(TELNETD_PORT),
      "--login",
      "mulder",
      "--password-env",
      variable,
      "--command",
      "echo TELNET-OK-$((6*7))",
    ], io);
    assertEquals([code, io.stdout, io.stderr], [0, "TELNET-OK-42\n", ""]);
  } finally {
    Deno.env.delete(variable);
  }
});
