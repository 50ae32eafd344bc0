/**
 * smtplib-example-1.py from the classic network protocols chapter ("Using
 * the smtplib module"): build a short message, print it, and send it
 * through an SMTP server.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/smtplib_send_mail.ts [HOST] [PORT]
 * ```
 *
 * Defaults: 127.0.0.1, port 2025, where `inetkit mail serve` listens (it
 * catches the message for any recipient; the test bed's Postfix on 2525
 * would try to relay it to spam.egg).
 *
 * @module
 */
import { SmtpClient } from "../../mail/smtp_client.ts";

const HOST = Deno.args[0] ?? "127.0.0.1";
const PORT = Number(Deno.args[1] ?? 2025);

const FROM = "effbot@spam.egg";
const TO = "fredrik@spam.egg";
const SUBJECT = "for your information!";
const BODY = "next week: how to fling an otter";

const body = [`From: ${FROM}`, `To: ${TO}`, `Subject: ${SUBJECT}`, BODY].join("\r\n");
console.log(body);

const server = await SmtpClient.connect({ hostname: HOST, port: PORT });
await server.send({ from: FROM, to: [TO] }, body);
await server.quit();
