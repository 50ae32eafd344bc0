/**
 * SmtpClient never reads a reply that arrived before its command was sent
 * as that command's answer (the SMTP half of the response-desync rule).
 */
import { SmtpClient } from "../../mail/smtp_client.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { ScriptedPeer } from "../_helpers/scripted_peer.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";

const GREETING = "220 mx.example.test ESMTP ready\r\n";
const EHLO = "250-mx.example.test greets localhost\r\n250 8BITMIME\r\n";

Deno.test("SmtpClient refuses a reply that arrives while no command is in flight", async () => {
  const peer = new ScriptedPeer([
    { send: GREETING },
    { expect: "EHLO localhost\r\n" },
    { send: EHLO },
    { sleep: 50 },
    { send: "250 2.0.0 injected\r\n" },
  ]);
  const smtp = new SmtpClient(peer, { timeout: 2000 });
  await smtp.ehlo();
  await new Promise((r) => setTimeout(r, 150));
  const error = await assertRejects(() => smtp.noop(), ProtocolError);
  assertEquals(error.code, "UNSOLICITED");
  assertEquals(smtp.closed, true);
  await peer.done;
});

Deno.test("SmtpClient refuses more replies than commands: an extra reply after EHLO's", async () => {
  const peer = new ScriptedPeer([
    { send: GREETING },
    { expect: "EHLO localhost\r\n" },
    { send: EHLO + "250 2.1.0 sender ok\r\n" },
  ]);
  const smtp = new SmtpClient(peer, { timeout: 2000 });
  await smtp.ehlo();
  // Without PIPELINING the extra reply must not become MAIL FROM's answer.
  const error = await assertRejects(() => smtp.mail("a@example.test"), ProtocolError);
  assertEquals(error.code, "UNSOLICITED");
  await peer.done;
});

Deno.test("SmtpClient reports a server that hung up between commands", async () => {
  const peer = new ScriptedPeer([
    { send: GREETING },
    { expect: "EHLO localhost\r\n" },
    { send: EHLO },
    { close: true },
  ]);
  const smtp = new SmtpClient(peer, { timeout: 2000 });
  await smtp.ehlo();
  await new Promise((r) => setTimeout(r, 50));
  const error = await assertRejects(() => smtp.noop(), ProtocolError);
  assertEquals(error.code, "UNEXPECTED_EOF");
  await peer.done;
});
