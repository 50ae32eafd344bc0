/**
 * SmtpServer's promise: a `250` means the message is on disk. A child
 * process runs the server on a MaildirStore; the test kills it with SIGKILL
 * the moment the client has read the `250`, opens the Maildir again and
 * finds the message.
 */
import { MaildirStore } from "../../mail/maildir_store.ts";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { WireClient } from "./_smtp_server_wire.ts";

async function withChild(
  fn: (port: number, root: string, kill: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "inetkit_smtp_kill_" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_smtp_server_child.ts", import.meta.url).pathname, root],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let killed = false;
  const kill = async () => {
    if (killed) return;
    killed = true;
    child.kill("SIGKILL");
    const status = await child.status;
    assertEquals(status.signal, "SIGKILL");
  };
  try {
    let output = "";
    while (!output.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error("the child exited before printing its port");
      output += value;
    }
    await fn(Number(output.trim()), root, kill);
  } finally {
    await kill().catch(() => {});
    await reader.cancel().catch(() => {});
    reader.releaseLock();
    await Deno.remove(root, { recursive: true });
  }
}

const LINE = "The truth is out there, and it is fsynced before the 250.\r\n";

for (const mode of ["DATA", "BDAT"]) {
  Deno.test(`SmtpServer with MaildirStore keeps a ${mode} message whose 250 was seen before kill -9`, async () => {
    await withChild(async (port, root, kill) => {
      const content = `Subject: survives kill -9 (${mode})\r\n\r\n${LINE.repeat(5000)}`;
      const client = await WireClient.connect(port);
      try {
        await client.reply();
        await client.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<mulder@b.c>\r\n");
        await client.replies(3);
        if (mode === "DATA") {
          await client.command("DATA");
          await client.send(content + ".\r\n");
        } else {
          const bytes = new TextEncoder().encode(content);
          await client.send(`BDAT ${bytes.length} LAST\r\n`);
          await client.send(bytes);
        }
        const reply = (await client.reply())!;
        await kill();
        assertMatch(reply, /^250 2\.0\.0 Ok: queued as /);
      } finally {
        client.close();
      }
      await using store = new MaildirStore(root);
      const [info] = await store.listMessages("mulder", "INBOX");
      assertEquals(info?.uid, 1);
      const text = await new Response(await store.readMessage("mulder", "INBOX", 1)).text();
      assert(text.startsWith("Received: from c ([127.0.0.1])"));
      assert(text.endsWith(content));
      assertEquals(info?.size, new TextEncoder().encode(text).length);
      let leftovers = 0;
      for await (const _ of Deno.readDir(`${root}/mulder/tmp`)) leftovers++;
      assertEquals(leftovers, 0);
    });
  });
}

Deno.test("SmtpServer with MaildirStore loses nothing it did not acknowledge: a message cut off by kill -9 is not stored", async () => {
  await withChild(async (port, root, kill) => {
    const client = await WireClient.connect(port);
    try {
      await client.reply();
      await client.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<mulder@b.c>\r\nDATA\r\n");
      await client.replies(4);
      await client.send(`Subject: cut\r\n\r\n${LINE.repeat(2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await kill();
    } finally {
      client.close();
    }
    await using store = new MaildirStore(root);
    assertEquals(await store.listMessages("mulder", "INBOX"), []);
  });
});
