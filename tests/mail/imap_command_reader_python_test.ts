/**
 * ImapCommandReader against a real IMAP client: Python's imaplib logs in,
 * APPENDs a message as a synchronizing literal (waiting for our `+`), SELECTs
 * a mailbox with a modified UTF-7 name and logs out, while a minimal
 * loopback server built on the reader answers with canned responses.
 * Skipped when `/usr/bin/python3` is missing.
 *
 * @module
 */
import { BufferedReader } from "../../net/buffered_reader.ts";
import { type ImapCommand, ImapCommandReader } from "../../mail/imap_command_reader.ts";
import { decodeImapUtf7 } from "../../mail/imap_utf7.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

const PYTHON = "/usr/bin/python3";
const available = await Deno.stat(PYTHON).then(() => true, () => false);

const CLIENT = `
import imaplib, sys
imap = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
imap.login("mulder", "trust no1")
message = b"From: a@example.test\\r\\nSubject: hi\\r\\n\\r\\nbody with {5} in it\\r\\n"
typ, data = imap.append("INBOX", "(\\\\Seen)", None, message)
assert typ == "OK", (typ, data)
typ, data = imap.select('"&U,BTFw-"')
assert typ == "OK", (typ, data)
imap.logout()
print("done")
`;

Deno.test({
  name: "ImapCommandReader reads the commands of Python's imaplib, literals included",
  ignore: !available,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const child = new Deno.Command(PYTHON, {
      args: ["-c", CLIENT, String(listener.addr.port)],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const commands: ImapCommand[] = [];
    let continuations = 0;
    const conn = await listener.accept();
    const encoder = new TextEncoder();
    const send = async (text: string) => {
      const bytes = encoder.encode(text);
      let at = 0;
      while (at < bytes.length) at += await conn.write(bytes.subarray(at));
    };
    try {
      await send("* OK [CAPABILITY IMAP4rev1] test server ready\r\n");
      const reader = new ImapCommandReader(new BufferedReader(conn), {
        onContinuation: async () => {
          continuations++;
          await send("+ Ready for literal data\r\n");
        },
        nonSynchronizing: null,
      });
      for (;;) {
        const command = await reader.read({ signal: AbortSignal.timeout(10000) });
        if (command === null) break;
        assert(command.type === "command", JSON.stringify(command));
        commands.push(command);
        if (command.name === "CAPABILITY") await send("* CAPABILITY IMAP4rev1\r\n");
        if (command.name === "LOGOUT") await send("* BYE bye\r\n");
        await send(`${command.tag} OK ${command.name} completed\r\n`);
        if (command.name === "LOGOUT") break;
      }
    } finally {
      conn.close();
      listener.close();
    }
    const { code, stdout, stderr } = await child.output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    assertEquals(new TextDecoder().decode(stdout).trim(), "done");
    const byName = new Map(commands.map((c) => [c.name, c]));
    assertEquals(byName.get("LOGIN")?.args, [
      { type: "atom", value: "mulder" },
      { type: "string", value: "trust no1" },
    ]);
    const append = byName.get("APPEND");
    assert(append !== undefined);
    assertEquals(append.args.slice(0, 2), [
      { type: "atom", value: "INBOX" },
      { type: "list", items: [{ type: "atom", value: "\\Seen" }] },
    ]);
    const literal = append.args[append.args.length - 1];
    assert(literal?.type === "literal");
    assertEquals(
      new TextDecoder().decode(literal.value),
      "From: a@example.test\r\nSubject: hi\r\n\r\nbody with {5} in it\r\n",
    );
    assertEquals(continuations, 1);
    const select = byName.get("SELECT");
    assert(select?.args[0]?.type === "string");
    assertEquals(decodeImapUtf7(select.args[0].value), "台北");
  },
});
