/**
 * The classic smtplib example, run with `deno run` as a child process
 * against inetkit's SmtpServer on loopback, and against `mail serve`.
 */
import { startMailServe } from "../../cli/_mail_serve.ts";
import { captureIo } from "../../cli/_command.ts";
import { SmtpServer, type SmtpServerEnvelope } from "../../mail/smtp_server.ts";
import { assertEquals } from "../_helpers/assert.ts";

const EXAMPLES = new URL("../../cli/examples/", import.meta.url).pathname;

async function runExample(
  name: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", `${EXAMPLES}${name}`, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("smtplib_send_mail.ts prints the message and sends it, as smtplib-example-1.py does", async () => {
  const received: [SmtpServerEnvelope, string][] = [];
  await using server = new SmtpServer({
    received: false,
    onMessage: async (envelope, message) => {
      received.push([envelope, await new Response(message).text()]);
    },
  });
  const { code, stdout, stderr } = await runExample("smtplib_send_mail.ts", [
    "127.0.0.1",
    String(server.addr.port),
  ]);
  assertEquals(code, 0, stderr);
  const body = "From: effbot@spam.egg\r\nTo: fredrik@spam.egg\r\n" +
    "Subject: for your information!\r\nnext week: how to fling an otter";
  assertEquals(stdout, body + "\n");
  assertEquals(received.length, 1);
  const [envelope, text] = received[0]!;
  assertEquals(envelope.from, "effbot@spam.egg");
  assertEquals(envelope.to, ["fredrik@spam.egg"]);
  // Sent as smtplib sends it: the last line gets its CR LF.
  assertEquals(text, body + "\r\n");
});

Deno.test("smtplib_send_mail.ts delivers into the user's Maildir of `mail serve`", async () => {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_example_smtplib_" });
  const controller = new AbortController();
  const io = captureIo();
  const { lab } = await startMailServe(
    [
      "--dir",
      dir,
      "--user",
      "mulder:trustno1",
      "--smtp-port",
      "0",
      "--pop3-port",
      "0",
      "--imap-port",
      "0",
    ],
    io,
    controller.signal,
  );
  try {
    const { code, stderr } = await runExample("smtplib_send_mail.ts", [
      "127.0.0.1",
      String(lab.smtp.addr.port),
    ]);
    assertEquals(code, 0, stderr);
    const [info] = await lab.store.listMessages("mulder", "INBOX");
    const text = await new Response(await lab.store.readMessage("mulder", "INBOX", info!.uid))
      .text();
    assertEquals(
      text.endsWith("Subject: for your information!\r\nnext week: how to fling an otter\r\n"),
      true,
    );
    assertEquals(io.stderr.includes("from <effbot@spam.egg> to <fredrik@spam.egg>"), true);
  } finally {
    controller.abort();
    await lab.close();
    await Deno.remove(dir, { recursive: true });
  }
});
