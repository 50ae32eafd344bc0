/**
 * SmtpServer transcripts: every verb with its exact replies, the
 * transaction, BDAT, LMTP, AUTH, STARTTLS, the delivery into a store and to
 * a hook, and the option checks. The limits and attack classes are in
 * smtp_server_limits_test.ts.
 */
import { MemoryMailStore } from "../../mail/memory_mail_store.ts";
import type { MailStore } from "../../mail/mail_store.ts";
import { SmtpClient } from "../../mail/smtp_client.ts";
import { SmtpReplyError } from "../../mail/smtp_reply_error.ts";
import {
  SmtpServer,
  type SmtpServerEnvelope,
  type SmtpServerLogEvent,
  type SmtpServerOptions,
} from "../../mail/smtp_server.ts";
import { bytesToHex, hmacMd5 } from "../../net/md5.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";
import { WireClient } from "./_smtp_server_wire.ts";

const USERS = { users: { mulder: "trustno1", scully: "queequeg" } };
const EHLO_CAPS = "250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n" +
  "250-CHUNKING\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n";

interface Harness {
  server: SmtpServer;
  store: MemoryMailStore;
  logs: SmtpServerLogEvent[];
  errors: unknown[];
  client: WireClient;
}

/** A server on a memory store, a raw client that read the greeting. */
async function withSmtp(
  options: Partial<SmtpServerOptions>,
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  const store = new MemoryMailStore();
  const logs: SmtpServerLogEvent[] = [];
  const errors: unknown[] = [];
  const server = new SmtpServer({
    ...(options.onMessage ? {} : { store }),
    ...(options.onMessage || options.recipientUser || options.users ? {} : { catchAll: "mulder" }),
    authFailureDelay: 0,
    onLog: (event) => logs.push(event),
    onError: (error) => errors.push(error),
    ...options,
  } as SmtpServerOptions);
  const client = await WireClient.connect(server.addr.port);
  try {
    assertEquals(
      await client.reply(),
      `220 ${options.serverName ?? "localhost"} ${options.lmtp ? "LMTP" : "ESMTP"} inetkit\r\n`,
    );
    await fn({ server, store, logs, errors, client });
  } finally {
    client.close();
    await server.shutdown();
    await store.close();
  }
}

async function texts(store: MailStore, user = "mulder", folder = "INBOX"): Promise<string[]> {
  const out: string[] = [];
  for (const info of await store.listMessages(user, folder)) {
    out.push(await new Response(await store.readMessage(user, folder, info.uid)).text());
  }
  return out;
}

/** The message without the Received field the server prepended. */
function body(text: string): string {
  assertMatch(text, /^Received: /);
  return text.slice(text.indexOf(";\r\n\t") + 4).replace(/^[^\r]*\r\n/, "");
}

const QUEUED_REGEXP = /^250 2\.0\.0 Ok: queued as [0-9A-F]{12}\r\n$/;

// ---- greeting, EHLO, HELO ----

Deno.test("SmtpServer greets with 220 and answers EHLO with its extensions, AUTH in clear without TLS", async () => {
  await withSmtp({ users: USERS }, async ({ client }) => {
    assertEquals(
      await client.command("EHLO client.example"),
      `250-localhost\r\n${EHLO_CAPS}250 AUTH PLAIN LOGIN CRAM-MD5\r\n`,
    );
  });
});

Deno.test("SmtpServer EHLO omits AUTH without users and CRAM-MD5 without a password table", async () => {
  await withSmtp({}, async ({ client }) => {
    assertEquals(
      await client.command("EHLO client.example"),
      `250-localhost\r\n${EHLO_CAPS.replace(/-DSN\r\n$/, " DSN\r\n")}`,
    );
  });
  await withSmtp(
    { users: { authenticate: () => true }, catchAll: "mulder" },
    async ({ client }) => {
      assertEquals(
        await client.command("EHLO client.example"),
        `250-localhost\r\n${EHLO_CAPS}250 AUTH PLAIN LOGIN\r\n`,
      );
    },
  );
});

Deno.test("SmtpServer HELO answers with the name only; EHLO and HELO need an argument", async () => {
  await withSmtp({ serverName: "mx.example.test" }, async ({ client }) => {
    assertEquals(await client.command("HELO client.example"), "250 mx.example.test\r\n");
    assertEquals(await client.command("EHLO"), "501 5.5.4 Syntax: EHLO hostname\r\n");
    assertEquals(await client.command("HELO "), "501 5.5.4 Syntax: HELO hostname\r\n");
    assertEquals(
      await client.command("ehlo x"),
      `250-mx.example.test\r\n${EHLO_CAPS.replace(/-DSN\r\n$/, " DSN\r\n")}`,
    );
  });
});

// ---- the transaction ----

Deno.test("SmtpServer takes MAIL, RCPT and DATA and stores the message with a Received field", async () => {
  await withSmtp({}, async ({ client, store, logs }) => {
    await client.command("EHLO client.example");
    assertEquals(await client.command("MAIL FROM:<scully@example.test>"), "250 2.1.0 Ok\r\n");
    assertEquals(await client.command("RCPT TO:<mulder@example.test>"), "250 2.1.5 Ok\r\n");
    assertEquals(
      await client.command("DATA"),
      "354 End data with <CR><LF>.<CR><LF>\r\n",
    );
    await client.send("Subject: hi\r\n\r\n..leading dot\r\nlast line\r\n.\r\n");
    const queued = (await client.reply())!;
    assertMatch(queued, QUEUED_REGEXP);
    const id = queued.slice(-14, -2);
    assertEquals(await client.command("QUIT"), "221 2.0.0 Bye\r\n");
    const [text] = await texts(store);
    assertMatch(
      text!,
      new RegExp(
        `^Received: from client\\.example \\(\\[127\\.0\\.0\\.1\\]\\)\r\n\tby localhost \\(inetkit\\) ` +
          `with ESMTP id ${id}\r\n\tfor <mulder@example\\.test>;\r\n\t` +
          `\\w{3}, \\d\\d \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000\r\n`,
      ),
    );
    assertEquals(body(text!), "Subject: hi\r\n\r\n.leading dot\r\nlast line\r\n");
    const message = logs.find((e) => e.type === "message")!;
    assertEquals(message.message, {
      id,
      from: "scully@example.test",
      to: ["mulder@example.test"],
      size: message.message!.size,
    });
    assertStringIncludes(message.text, "stored for mulder INBOX uid 1");
  });
});

Deno.test("SmtpServer accepts the null sender, postmaster and a source route", async () => {
  const seen: SmtpServerEnvelope[] = [];
  await withSmtp({
    onMessage: async (envelope, message) => {
      seen.push(envelope);
      await message.cancel();
    },
  }, async ({ client }) => {
    await client.command("EHLO c");
    assertEquals(await client.command("MAIL FROM:<>"), "250 2.1.0 Ok\r\n");
    assertEquals(await client.command("RCPT TO:<Postmaster>"), "250 2.1.5 Ok\r\n");
    assertEquals(
      await client.command("RCPT TO:<@relay.example:fox@example.test>"),
      "250 2.1.5 Ok\r\n",
    );
    assertEquals(await client.command("RCPT TO: <spaced@example.test>"), "250 2.1.5 Ok\r\n");
    assertEquals(await client.command("RCPT TO:bare@example.test"), "250 2.1.5 Ok\r\n");
    assertEquals(await client.command('RCPT TO:<"odd > local"@example.test>'), "250 2.1.5 Ok\r\n");
    await client.command("DATA");
    await client.send("x\r\n.\r\n");
    assertMatch((await client.reply())!, QUEUED_REGEXP);
  });
  assertEquals(seen[0]!.from, "");
  assertEquals(seen[0]!.to, [
    "Postmaster",
    "fox@example.test",
    "spaced@example.test",
    "bare@example.test",
    '"odd > local"@example.test',
  ]);
  assertEquals(seen[0]!.session.helo, "c");
});

Deno.test("SmtpServer parses SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY and ORCPT into the envelope", async () => {
  const seen: SmtpServerEnvelope[] = [];
  await withSmtp({
    onMessage: async (envelope, message) => {
      seen.push(envelope);
      await new Response(message).arrayBuffer();
    },
  }, async ({ client }) => {
    await client.command("EHLO c");
    assertEquals(
      await client.command(
        "MAIL FROM:<dana@exämple.test> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2BA",
      ),
      "250 2.1.0 Ok\r\n",
    );
    assertEquals(
      await client.command(
        "RCPT TO:<fox@example.test> NOTIFY=SUCCESS,failure ORCPT=rfc822;fox+40x",
      ),
      "250 2.1.5 Ok\r\n",
    );
    assertEquals(
      await client.command("RCPT TO:<josé@example.test> NOTIFY=NEVER"),
      "250 2.1.5 Ok\r\n",
    );
    await client.command("DATA");
    await client.send("Subject: ü\r\n\r\nx\r\n.\r\n");
    assertMatch((await client.reply())!, QUEUED_REGEXP);
  });
  const envelope = seen[0]!;
  assertEquals(envelope.from, "dana@exämple.test");
  assertEquals(envelope.size, 1000);
  assertEquals(envelope.body, "8BITMIME");
  assertEquals(envelope.smtputf8, true);
  assertEquals(envelope.dsnReturn, "HDRS");
  assertEquals(envelope.envelopeId, "QQ+A");
  assertEquals(envelope.recipients.map((r) => [r.address, r.notify, r.originalRecipient]), [
    ["fox@example.test", ["SUCCESS", "FAILURE"], "rfc822;fox@x"],
    ["josé@example.test", ["NEVER"], undefined],
  ]);
});

Deno.test("SmtpServer refuses bad MAIL and RCPT arguments with the RFC codes", async () => {
  await withSmtp({ maxMessageSize: 5000, maxErrors: 100 }, async ({ client }) => {
    await client.command("EHLO c");
    const mail: [string, string][] = [
      ["MAIL", "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"],
      ["MAIL TO:<a@b.c>", "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"],
      ["MAIL FROM:<a@b.c", "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"],
      ["MAIL FROM:<a@b.c>x", "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"],
      ["MAIL FROM:<no-at-sign>", "501 5.1.7 Bad sender address syntax\r\n"],
      ["MAIL FROM:<a b@c.d>", "501 5.1.7 Bad sender address syntax\r\n"],
      ["MAIL FROM:<a@-bad-.test>", "501 5.1.7 Bad sender address syntax\r\n"],
      [`MAIL FROM:<${"a".repeat(251)}@b.c>`, "501 5.1.7 Sender address too long\r\n"],
      ["MAIL FROM:<josé@example.test>", "553 5.6.7 Non-ASCII sender address needs SMTPUTF8\r\n"],
      [
        "MAIL FROM:<a@b.c> SIZE=5001",
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n",
      ],
      ["MAIL FROM:<a@b.c> SIZE=12x", "501 5.5.4 Syntax: SIZE=octets\r\n"],
      ["MAIL FROM:<a@b.c> BODY=BINARYMIME", "555 5.5.4 Unsupported BODY type BINARYMIME\r\n"],
      ["MAIL FROM:<a@b.c> RET=ALL", "501 5.5.4 Syntax: RET=FULL|HDRS\r\n"],
      ["MAIL FROM:<a@b.c> ENVID=a+zz", "501 5.5.4 Syntax: ENVID=xtext\r\n"],
      ["MAIL FROM:<a@b.c> SMTPUTF8=yes", "501 5.5.4 Syntax: SMTPUTF8 takes no value\r\n"],
      ["MAIL FROM:<a@b.c> XFOO=1", "555 5.5.4 Unsupported parameter XFOO\r\n"],
      ["MAIL FROM:<a@b.c> SIZE=1 SIZE=2", "501 5.5.4 Duplicate parameter SIZE\r\n"],
      ["MAIL FROM:<a@b.c> =x", "501 5.5.4 Syntax error in parameter =x\r\n"],
    ];
    for (const [command, expected] of mail) {
      assertEquals(await client.command(command), expected, command);
    }
    assertEquals(await client.command("MAIL FROM:<a@b.c> AUTH=<>"), "250 2.1.0 Ok\r\n");
    const rcpt: [string, string][] = [
      ["RCPT", "501 5.5.4 Syntax: RCPT TO:<address>\r\n"],
      ["RCPT TO:<>", "501 5.5.4 Syntax: RCPT TO:<address>\r\n"],
      ["RCPT TO:<nobody>", "501 5.1.3 Bad recipient address syntax\r\n"],
      ["RCPT TO:<josé@example.test>", "553 5.6.7 Non-ASCII recipient address needs SMTPUTF8\r\n"],
      [
        "RCPT TO:<a@b.c> NOTIFY=NEVER,SUCCESS",
        "501 5.5.4 Syntax: NOTIFY=NEVER|SUCCESS,FAILURE,DELAY\r\n",
      ],
      [
        "RCPT TO:<a@b.c> NOTIFY=SOMETIMES",
        "501 5.5.4 Syntax: NOTIFY=NEVER|SUCCESS,FAILURE,DELAY\r\n",
      ],
      ["RCPT TO:<a@b.c> ORCPT=nosemicolon", "501 5.5.4 Syntax: ORCPT=addr-type;xtext\r\n"],
      ["RCPT TO:<a@b.c> FOO", "555 5.5.4 Unsupported parameter FOO\r\n"],
    ];
    for (const [command, expected] of rcpt) {
      assertEquals(await client.command(command), expected, command);
    }
  });
});

Deno.test("SmtpServer enforces the command sequence", async () => {
  await withSmtp({}, async ({ client }) => {
    assertEquals(
      await client.command("MAIL FROM:<a@b.c>"),
      "503 5.5.1 Error: send HELO/EHLO first\r\n",
    );
    await client.command("EHLO c");
    assertEquals(await client.command("RCPT TO:<a@b.c>"), "503 5.5.1 Error: need MAIL command\r\n");
    assertEquals(await client.command("DATA"), "503 5.5.1 Error: need MAIL command\r\n");
    assertEquals(await client.command("MAIL FROM:<a@b.c>"), "250 2.1.0 Ok\r\n");
    assertEquals(
      await client.command("MAIL FROM:<a@b.c>"),
      "503 5.5.1 Error: nested MAIL command\r\n",
    );
    assertEquals(await client.command("DATA"), "503 5.5.1 Error: need RCPT command\r\n");
    assertEquals(await client.command("DATA x"), "501 5.5.4 Syntax: DATA\r\n");
    assertEquals(await client.command("RSET"), "250 2.0.0 Ok\r\n");
    assertEquals(await client.command("RCPT TO:<a@b.c>"), "503 5.5.1 Error: need MAIL command\r\n");
  });
});

Deno.test("SmtpServer refuses unknown recipients with 550 5.1.1 and DATA without any with 554", async () => {
  await withSmtp({ users: USERS }, async ({ client, store, logs }) => {
    await client.command("EHLO c");
    await client.command("MAIL FROM:<a@b.c>");
    assertEquals(
      await client.command("RCPT TO:<skinner@example.test>"),
      "550 5.1.1 <skinner@example.test>: Recipient address rejected: User unknown\r\n",
    );
    assertEquals(await client.command("DATA"), "554 5.5.1 Error: no valid recipients\r\n");
    assertEquals(await client.command("RCPT TO:<Scully@example.test>"), "250 2.1.5 Ok\r\n");
    assertEquals(await client.command("RCPT TO:<MULDER@example.test>"), "250 2.1.5 Ok\r\n");
    assertEquals(await client.command("RCPT TO:<mulder@elsewhere.test>"), "250 2.1.5 Ok\r\n");
    await client.command("DATA");
    await client.send("Subject: both\r\n\r\nx\r\n.\r\n");
    assertMatch((await client.reply())!, QUEUED_REGEXP);
    // One copy per user, even for two addresses of the same user.
    assertEquals((await texts(store, "mulder")).map(body), ["Subject: both\r\n\r\nx\r\n"]);
    assertEquals((await texts(store, "scully")).map(body), ["Subject: both\r\n\r\nx\r\n"]);
    assert(logs.some((e) => e.type === "refused" && e.text.includes("skinner@example.test")));
  });
});

Deno.test("SmtpServer answers RSET, NOOP, VRFY, EXPN, HELP, QUIT and unknown verbs", async () => {
  await withSmtp({}, async ({ client }) => {
    assertEquals(await client.command("NOOP"), "250 2.0.0 Ok\r\n");
    assertEquals(await client.command("noop anything"), "250 2.0.0 Ok\r\n");
    assertEquals(await client.command("RSET"), "250 2.0.0 Ok\r\n");
    assertEquals(await client.command("RSET x"), "501 5.5.4 Syntax: RSET\r\n");
    assertEquals(
      await client.command("VRFY mulder"),
      "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n",
    );
    assertEquals(await client.command("VRFY"), "501 5.5.4 Syntax: VRFY address\r\n");
    assertEquals(await client.command("EXPN staff"), "502 5.5.1 Error: EXPN not available\r\n");
    assertEquals(
      await client.command("HELP"),
      "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP\r\n",
    );
    assertEquals(await client.command("XYZZY"), "500 5.5.2 Error: command not recognized\r\n");
    assertEquals(await client.command("LHLO c"), "500 5.5.2 Error: command not recognized\r\n");
    assertEquals(await client.command("STARTTLS"), "502 5.5.1 Error: command not implemented\r\n");
    assertEquals(
      await client.command("AUTH PLAIN"),
      "502 5.5.1 Error: authentication not enabled\r\n",
    );
    assertEquals(await client.command("QUIT"), "221 2.0.0 Bye\r\n");
    assertEquals(await client.rest(), "");
  });
});

Deno.test("SmtpServer refuses control characters and invalid UTF-8 in commands", async () => {
  await withSmtp({}, async ({ client }) => {
    assertEquals(
      await client.command("NOOP\0x"),
      "500 5.5.2 Error: control characters in command\r\n",
    );
    assertEquals(
      await client.command("NO\rOP"),
      "500 5.5.2 Error: control characters in command\r\n",
    );
    await client.send(new Uint8Array([0x4e, 0x4f, 0xff, 13, 10]));
    assertEquals(await client.reply(), "500 5.5.2 Error: invalid UTF-8 in command\r\n");
    // A bare LF ends a command line, as Postfix allows.
    assertEquals(await client.command("NOOP\nNOOP"), "250 2.0.0 Ok\r\n");
    assertEquals(await client.reply(), "250 2.0.0 Ok\r\n");
  });
});

// ---- BDAT ----

Deno.test("SmtpServer takes BDAT chunks (RFC 3030) and BDAT 0 LAST", async () => {
  await withSmtp({ received: false }, async ({ client, store }) => {
    await client.command("EHLO c");
    await client.send(
      "MAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nBDAT 14\r\nSubject: x\r\n\r\nBDAT 7\r\n.line\r\nBDAT 0 LAST\r\n",
    );
    const replies = await client.replies(5);
    const lines = replies.split("\r\n");
    assertEquals(lines.slice(0, 4), [
      "250 2.1.0 Ok",
      "250 2.1.5 Ok",
      "250 2.0.0 Ok: 14 octets received",
      "250 2.0.0 Ok: 7 octets received",
    ]);
    assertMatch(lines[4]! + "\r\n", QUEUED_REGEXP);
    await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nBDAT 9 last\r\nno\nCRLF\r\n");
    assertEquals((await client.replies(3)).split("\r\n").length, 4);
    assertEquals(await texts(store), ["Subject: x\r\n\r\n.line\r\n", "no\r\nCRLF\r\n"]);
  });
});

Deno.test("SmtpServer BDAT without a transaction discards the chunk, so its bytes are never commands", async () => {
  await withSmtp({}, async ({ client, store }) => {
    await client.command("EHLO c");
    const chunk = "MAIL FROM:<evil@x.y>\r\nRCPT TO:<m@b.c>\r\nDATA\r\n";
    await client.send(`BDAT ${chunk.length} LAST\r\n${chunk}NOOP\r\n`);
    assertEquals(await client.replies(2), "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n");
    await client.send(`MAIL FROM:<a@b.c>\r\nBDAT 4\r\nabcd`);
    assertEquals(await client.replies(2), "250 2.1.0 Ok\r\n503 5.5.1 Error: need RCPT command\r\n");
    assertEquals(await texts(store), []);
  });
});

Deno.test("SmtpServer BDAT with an unreadable size answers 501 and closes", async () => {
  await withSmtp({}, async ({ client }) => {
    await client.command("EHLO c");
    await client.command("MAIL FROM:<a@b.c>");
    await client.command("RCPT TO:<m@b.c>");
    assertEquals(await client.command("BDAT -5"), "501 5.5.4 Syntax: BDAT size [LAST]\r\n");
    assertEquals(await client.rest(), "");
  });
});

Deno.test("SmtpServer refuses DATA after BDAT in one transaction", async () => {
  await withSmtp({}, async ({ client }) => {
    await client.command("EHLO c");
    await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nBDAT 2\r\nabDATA\r\n");
    assertEquals(
      await client.replies(4),
      "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: 2 octets received\r\n" +
        "503 5.5.1 Error: DATA after BDAT\r\n",
    );
    assertEquals(await client.command("RSET"), "250 2.0.0 Ok\r\n");
  });
});

// ---- LMTP ----

Deno.test("SmtpServer in LMTP mode takes LHLO and answers once per recipient", async () => {
  const store = new MemoryMailStore();
  const errors: unknown[] = [];
  await using server = new SmtpServer({
    lmtp: true,
    store,
    // "bad/name" is refused by the store: that recipient's delivery fails.
    recipientUser: (address) => address.startsWith("broken") ? "bad/name" : "mulder",
    onError: (error) => errors.push(error),
  });
  await using client = await WireClient.connect(server.addr.port);
  assertEquals(await client.reply(), "220 localhost LMTP inetkit\r\n");
  assertEquals(await client.command("EHLO c"), "500 5.5.1 Error: EHLO is not LMTP, use LHLO\r\n");
  assertEquals(await client.command("HELO c"), "500 5.5.1 Error: HELO is not LMTP, use LHLO\r\n");
  assertEquals(
    await client.command("LHLO c"),
    `250-localhost\r\n${EHLO_CAPS.replace(/-DSN\r\n$/, " DSN\r\n")}`,
  );
  await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<one@b.c>\r\nRCPT TO:<broken@b.c>\r\n");
  await client.send("RCPT TO:<two@b.c>\r\nDATA\r\n");
  assertEquals(
    await client.replies(5),
    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n" +
      "354 End data with <CR><LF>.<CR><LF>\r\n",
  );
  await client.send("Subject: lmtp\r\n\r\nx\r\n.\r\n");
  const replies = (await client.replies(3)).split("\r\n");
  assertMatch(replies[0]!, /^250 2\.0\.0 <one@b\.c> Ok: queued as [0-9A-F]{12}$/);
  assertEquals(replies[1], "451 4.3.0 Error: local error in processing");
  assertMatch(replies[2]!, /^250 2\.0\.0 <two@b\.c> Ok: queued as [0-9A-F]{12}$/);
  assertEquals(errors.length, 1);
  const [text] = await texts(store);
  assertStringIncludes(text!, "with LMTP id ");
  await store.close();
});

// ---- delivery hooks ----

Deno.test("SmtpServer answers 250 only after the store's deliver resolved", async () => {
  const inner = new MemoryMailStore();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let delivered = false;
  const store = new Proxy(inner, {
    get(target, key) {
      if (key === "deliver") {
        return async (...args: Parameters<MailStore["deliver"]>) => {
          const result = await target.deliver(...args);
          await gate;
          delivered = true;
          return result;
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  await using server = new SmtpServer({ store, catchAll: "mulder" });
  await using client = await WireClient.connect(server.addr.port);
  await client.reply();
  await client.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nDATA\r\n");
  await client.replies(4);
  await client.send("Subject: wait\r\n\r\nx\r\n.\r\n");
  const reply = client.reply();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assertEquals(delivered, false);
  release();
  assertMatch((await reply)!, QUEUED_REGEXP);
  assertEquals(delivered, true);
  await inner.close();
});

Deno.test("SmtpServer onMessage: an SmtpReplyError is the reply, other errors are 451 and onError", async () => {
  let mode = "reject";
  await withSmtp({
    onMessage: async (_envelope, message) => {
      const text = await new Response(message).text();
      if (mode === "reject") throw new SmtpReplyError(554, ["5.7.1 Looks like spam"]);
      if (mode === "crash") throw new Error(`secret internals ${text.length}`);
    },
  }, async ({ client, errors }) => {
    await client.command("EHLO c");
    const send = async () => {
      await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nDATA\r\n");
      await client.replies(3);
      await client.send("Subject: x\r\n\r\nx\r\n.\r\n");
      return await client.reply();
    };
    assertEquals(await send(), "554 5.7.1 Looks like spam\r\n");
    mode = "crash";
    assertEquals(await send(), "451 4.3.0 Error: local error in processing\r\n");
    assertEquals(errors.length, 1);
    assertStringIncludes(String(errors[0]), "secret internals");
    mode = "ok";
    assertMatch((await send())!, QUEUED_REGEXP);
  });
});

Deno.test("SmtpServer onMessage that does not read the stream still leaves the session in step", async () => {
  let calls = 0;
  await withSmtp({
    onMessage: () => {
      calls++;
    },
  }, async ({ client }) => {
    await client.command("EHLO c");
    const long = "x".repeat(900) + "\r\n";
    for (let i = 0; i < 2; i++) {
      await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nDATA\r\n");
      await client.replies(3);
      await client.send(`Subject: big\r\n\r\n${long.repeat(200)}.\r\n`);
      assertMatch((await client.reply())!, QUEUED_REGEXP);
    }
    assertEquals(await client.command("NOOP"), "250 2.0.0 Ok\r\n");
  });
  assertEquals(calls, 2);
});

Deno.test("SmtpServer onRecipient refuses a recipient with its SmtpReplyError", async () => {
  await withSmtp({
    onRecipient: (address) => {
      if (address.endsWith("@blocked.test")) {
        throw new SmtpReplyError(550, ["5.7.1 Relaying denied"]);
      }
    },
  }, async ({ client }) => {
    await client.command("EHLO c");
    await client.command("MAIL FROM:<a@b.c>");
    assertEquals(await client.command("RCPT TO:<x@blocked.test>"), "550 5.7.1 Relaying denied\r\n");
    assertEquals(await client.command("RCPT TO:<x@open.test>"), "250 2.1.5 Ok\r\n");
  });
});

// ---- AUTH ----

Deno.test("SmtpServer AUTH PLAIN with an initial response and after a 334", async () => {
  await withSmtp({ users: USERS }, async ({ client, logs }) => {
    assertEquals(await client.command("AUTH PLAIN"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
    await client.command("EHLO c");
    assertEquals(
      await client.command(`AUTH PLAIN ${btoa("\0mulder\0trustno1")}`),
      "235 2.7.0 Authentication successful\r\n",
    );
    assertEquals(await client.command("AUTH PLAIN"), "503 5.5.1 Error: already authenticated\r\n");
    assert(logs.some((e) => e.type === "login" && e.user === "mulder"));
  });
  await withSmtp({ users: USERS }, async ({ client }) => {
    await client.command("EHLO c");
    assertEquals(await client.command("AUTH PLAIN"), "334 \r\n");
    assertEquals(
      await client.command(btoa("scully\0scully\0queequeg")),
      "235 2.7.0 Authentication successful\r\n",
    );
  });
});

Deno.test("SmtpServer AUTH LOGIN asks for the user name and the password", async () => {
  await withSmtp({ users: USERS }, async ({ client }) => {
    await client.command("EHLO c");
    assertEquals(await client.command("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
    assertEquals(await client.command(btoa("mulder")), "334 UGFzc3dvcmQ6\r\n");
    assertEquals(await client.command(btoa("trustno1")), "235 2.7.0 Authentication successful\r\n");
  });
  await withSmtp({ users: USERS }, async ({ client }) => {
    await client.command("EHLO c");
    assertEquals(await client.command(`AUTH LOGIN ${btoa("mulder")}`), "334 UGFzc3dvcmQ6\r\n");
    assertEquals(await client.command(btoa("trustno1")), "235 2.7.0 Authentication successful\r\n");
  });
});

Deno.test("SmtpServer AUTH CRAM-MD5 checks the HMAC of its challenge", async () => {
  await withSmtp({ users: USERS }, async ({ client }) => {
    await client.command("EHLO c");
    const challenge = (await client.command("AUTH CRAM-MD5"))!;
    assertMatch(challenge, /^334 [A-Za-z0-9+/=]+\r\n$/);
    const text = atob(challenge.slice(4, -2));
    assertMatch(text, /^<[0-9a-f]+\.\d+@localhost>$/);
    const digest = bytesToHex(hmacMd5("trustno1", text));
    assertEquals(
      await client.command(btoa(`mulder ${digest}`)),
      "235 2.7.0 Authentication successful\r\n",
    );
  });
});

Deno.test("SmtpServer AUTH refusals: wrong password, cancel, bad base64, unknown mechanism, in a transaction", async () => {
  await withSmtp({ users: USERS, maxAuthFailures: 5 }, async ({ client, logs }) => {
    await client.command("EHLO c");
    assertEquals(
      await client.command(`AUTH PLAIN ${btoa("\0mulder\0wrong")}`),
      "535 5.7.8 Error: authentication failed\r\n",
    );
    assert(logs.some((e) => e.type === "login-failed" && e.user === "mulder"));
    assertEquals(await client.command("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
    assertEquals(await client.command("*"), "501 5.7.0 Authentication aborted\r\n");
    assertEquals(
      await client.command("AUTH PLAIN !!!"),
      "501 5.5.2 Error: cannot decode response\r\n",
    );
    assertEquals(
      await client.command(`AUTH PLAIN ${btoa("scully\0mulder\0trustno1")}`),
      "535 5.7.8 Error: authorization identity not allowed\r\n",
    );
    assertEquals(
      await client.command("AUTH GSSAPI"),
      "504 5.5.4 Unrecognized authentication type\r\n",
    );
    assertEquals(
      await client.command("AUTH"),
      "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n",
    );
    assertEquals(
      await client.command("AUTH CRAM-MD5 abc"),
      "501 5.5.4 Syntax: CRAM-MD5 takes no initial response\r\n",
    );
    await client.command("MAIL FROM:<a@b.c>");
    assertEquals(
      await client.command("AUTH PLAIN"),
      "503 5.5.1 Error: MAIL transaction in progress\r\n",
    );
  });
});

Deno.test("SmtpServer delays failed AUTH and closes with 421 after maxAuthFailures", async () => {
  await withSmtp(
    { users: USERS, authFailureDelay: 150, maxAuthFailures: 2 },
    async ({ client }) => {
      await client.command("EHLO c");
      const started = Date.now();
      assertEquals(
        await client.command(`AUTH PLAIN ${btoa("\0mulder\0nope")}`),
        "535 5.7.8 Error: authentication failed\r\n",
      );
      assert(Date.now() - started >= 140, `answered after ${Date.now() - started} ms`);
      assertEquals(
        await client.command(`AUTH PLAIN ${btoa("\0mulder\0nope")}`),
        "421 4.7.0 localhost Error: too many authentication failures\r\n",
      );
      assertEquals(await client.rest(), "");
    },
  );
});

Deno.test("SmtpServer authRequired refuses MAIL before AUTH, then records the user", async () => {
  const seen: SmtpServerEnvelope[] = [];
  await withSmtp({
    users: USERS,
    authRequired: true,
    onMessage: async (envelope, message) => {
      seen.push(envelope);
      await message.cancel();
    },
  }, async ({ client, store: _ }) => {
    await client.command("EHLO c");
    assertEquals(
      await client.command("MAIL FROM:<a@b.c>"),
      "530 5.7.0 Authentication required\r\n",
    );
    await client.command(`AUTH PLAIN ${btoa("\0mulder\0trustno1")}`);
    await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n");
    await client.replies(3);
    await client.send("x\r\n.\r\n");
    assertMatch((await client.reply())!, QUEUED_REGEXP);
  });
  assertEquals(seen[0]!.session.user, "mulder");
});

Deno.test("SmtpClient.auth() logs in to SmtpServer with PLAIN, LOGIN and CRAM-MD5", async () => {
  await using store = new MemoryMailStore();
  await using server = new SmtpServer({ store, users: USERS, authFailureDelay: 0 });
  for (const mechanism of ["PLAIN", "LOGIN", "CRAM-MD5"]) {
    await using smtp = await SmtpClient.connect({ port: server.addr.port });
    const reply = await smtp.auth({ username: "mulder", password: "trustno1" }, { mechanism });
    assertEquals(reply.code, 235, mechanism);
    const result = await smtp.send(
      { from: "a@example.test", to: ["scully@example.test"] },
      "Subject: authed\r\n\r\nx\r\n",
    );
    assertEquals(result.accepted, ["scully@example.test"]);
  }
  const [first] = await texts(store, "scully");
  assertStringIncludes(first!, "with ESMTPA id ");
});

// ---- STARTTLS ----

Deno.test("SmtpServer with TLS offers STARTTLS and AUTH only after it", async () => {
  const { cert, key, ca } = await testCert();
  await withSmtp({ users: USERS, cert, key }, async ({ client, logs, store }) => {
    assertEquals(await client.command("EHLO c"), `250-localhost\r\n${EHLO_CAPS}250 STARTTLS\r\n`);
    assertEquals(
      await client.command(`AUTH PLAIN ${btoa("\0mulder\0trustno1")}`),
      "530 5.7.0 Must issue a STARTTLS command first\r\n",
    );
    assertEquals(await client.command("STARTTLS x"), "501 5.5.4 Syntax: STARTTLS\r\n");
    assertEquals(await client.command("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n");
    await client.startTls(ca);
    // RFC 3207 §4.2: the client starts over with EHLO.
    assertEquals(
      await client.command("MAIL FROM:<a@b.c>"),
      "503 5.5.1 Error: send HELO/EHLO first\r\n",
    );
    assertEquals(
      await client.command("EHLO c"),
      `250-localhost\r\n${EHLO_CAPS}250 AUTH PLAIN LOGIN CRAM-MD5\r\n`,
    );
    assertEquals(await client.command("STARTTLS"), "554 5.5.1 Error: TLS already active\r\n");
    assertEquals(
      await client.command(`AUTH PLAIN ${btoa("\0mulder\0trustno1")}`),
      "235 2.7.0 Authentication successful\r\n",
    );
    await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<scully@b.c>\r\nDATA\r\n");
    await client.replies(3);
    await client.send("Subject: tls\r\n\r\nx\r\n.\r\n");
    assertMatch((await client.reply())!, QUEUED_REGEXP);
    assertEquals(await client.command("QUIT"), "221 2.0.0 Bye\r\n");
    assert(logs.some((e) => e.type === "tls" && /STARTTLS TLSv1\.[23]/.test(e.text)));
    const [text] = await texts(store, "scully");
    assertStringIncludes(text!, "with ESMTPSA id ");
  });
});

Deno.test("SmtpServer requireTls refuses MAIL before STARTTLS", async () => {
  const { cert, key } = await testCert();
  await withSmtp({ cert, key, requireTls: true }, async ({ client }) => {
    await client.command("EHLO c");
    assertEquals(
      await client.command("MAIL FROM:<a@b.c>"),
      "530 5.7.0 Must issue a STARTTLS command first\r\n",
    );
  });
});

Deno.test("SmtpServer with implicit TLS speaks TLS from the first byte and offers AUTH", async () => {
  const { cert, key, ca } = await testCert();
  await using store = new MemoryMailStore();
  await using server = new SmtpServer({
    store,
    users: USERS,
    cert,
    key,
    implicitTls: true,
    authFailureDelay: 0,
  });
  await using smtp = await SmtpClient.connect({
    port: server.addr.port,
    tls: { hostname: "inetkit.test", caCerts: [ca] },
  });
  await smtp.ehlo();
  assert(smtp.tls);
  assertEquals(smtp.capabilities.get("AUTH"), "PLAIN LOGIN CRAM-MD5");
  assertEquals(smtp.capabilities.has("STARTTLS"), false);
  await smtp.auth({ username: "scully", password: "queequeg" });
  await smtp.send({ from: "a@b.c", to: ["mulder@b.c"] }, "Subject: smtps\r\n\r\nx\r\n");
  assertStringIncludes((await texts(store))[0]!, "with ESMTPSA id ");
});

// ---- Received field variants ----

Deno.test("SmtpServer names the protocol in Received: SMTP after HELO, UTF8SMTP with SMTPUTF8", async () => {
  await withSmtp({}, async ({ client, store }) => {
    await client.command("HELO old.client");
    await client.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nDATA\r\n");
    await client.replies(3);
    await client.send("x\r\n.\r\n");
    await client.reply();
    await client.command("EHLO new.client");
    await client.send(
      "MAIL FROM:<ü@b.c> SMTPUTF8\r\nRCPT TO:<m@b.c>\r\nRCPT TO:<n@b.c>\r\nDATA\r\n",
    );
    await client.replies(4);
    await client.send("x\r\n.\r\n");
    await client.reply();
    const [first, second] = await texts(store);
    assertMatch(
      first!,
      /^Received: from old\.client \(\[127\.0\.0\.1\]\)\r\n\tby localhost \(inetkit\) with SMTP id /,
    );
    assertMatch(second!, /with UTF8SMTP id [0-9A-F]{12};\r\n/);
    // Two recipients: no "for" clause.
    assert(!second!.includes("\tfor <"));
  });
});

// ---- options ----

Deno.test("SmtpServer checks its options", () => {
  const store = new MemoryMailStore();
  assertThrows(() => new SmtpServer({}), TypeError, "exactly one of store and onMessage");
  assertThrows(
    () => new SmtpServer({ store, onMessage: () => {} }),
    TypeError,
    "exactly one of store and onMessage",
  );
  assertThrows(() => new SmtpServer({ store }), TypeError, "a store needs catchAll");
  assertThrows(
    () => new SmtpServer({ onMessage: () => {}, catchAll: "x" }),
    TypeError,
    "need a store",
  );
  assertThrows(
    () => new SmtpServer({ store, catchAll: "x", recipientUser: () => "y" }),
    TypeError,
    "not both",
  );
  assertThrows(() => new SmtpServer({ store, catchAll: "x", cert: "c" }), TypeError, "go together");
  assertThrows(
    () => new SmtpServer({ store, catchAll: "x", implicitTls: true }),
    TypeError,
    "implicitTls needs",
  );
  assertThrows(
    () => new SmtpServer({ store, catchAll: "x", requireTls: true }),
    TypeError,
    "requireTls needs",
  );
  assertThrows(
    () => new SmtpServer({ store, catchAll: "x", serverName: "two words" }),
    TypeError,
    "serverName",
  );
  for (
    const bad of [
      { maxMessageSize: 0 },
      { maxRecipients: 1.5 },
      { maxCommandLength: 10 },
      { maxTextLineLength: -1 },
      { maxErrors: 0 },
      { idleTimeout: -1 },
      { authFailureDelay: NaN },
    ]
  ) {
    assertThrows(() => new SmtpServer({ store, catchAll: "x", ...bad }), RangeError);
  }
});

Deno.test("SmtpServer.shutdown() says 421 to a client waiting for its next command", async () => {
  await using store = new MemoryMailStore();
  const server = new SmtpServer({ store, catchAll: "mulder", serverName: "mx.test" });
  await using client = await WireClient.connect(server.addr.port);
  assertEquals(await client.reply(), "220 mx.test ESMTP inetkit\r\n");
  await client.command("EHLO c");
  const stopping = server.shutdown({ timeout: 2000 });
  assertEquals(await client.rest(), "421 4.3.2 mx.test Service shutting down\r\n");
  await stopping;
});

Deno.test("SmtpServer keeps serving after a client vanishes in the middle of DATA", async () => {
  await withSmtp({}, async ({ server, store, errors }) => {
    const quitter = await WireClient.connect(server.addr.port);
    await quitter.reply();
    await quitter.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nDATA\r\n");
    await quitter.replies(4);
    await quitter.send("Subject: cut\r\n\r\nhalf a mess");
    quitter.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await using smtp = await SmtpClient.connect({ port: server.addr.port });
    await smtp.send({ from: "a@b.c", to: ["m@b.c"] }, "Subject: whole\r\n\r\nx\r\n");
    assertEquals((await texts(store)).map(body), ["Subject: whole\r\n\r\nx\r\n"]);
    assertEquals(errors, []);
  });
});

Deno.test("SmtpServer rejects a reply text with line breaks from a hook as 451", async () => {
  await withSmtp({
    onMessage: () => {
      throw new SmtpReplyError(550, ["5.7.1 bad\r\n250 injected"]);
    },
  }, async ({ client }) => {
    await client.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<m@b.c>\r\nDATA\r\n");
    await client.replies(4);
    await client.send("x\r\n.\r\n");
    assertEquals(await client.reply(), "451 4.3.0 Error: local error in processing\r\n");
    assertEquals(await client.command("NOOP"), "250 2.0.0 Ok\r\n");
  });
});

Deno.test("SmtpServer sends the store's TOO_LARGE as 552", async () => {
  const inner = new MemoryMailStore({ maxMessageSize: 10 });
  const store = new Proxy(inner, {
    get(target, key) {
      if (key === "deliver") {
        return (...args: Parameters<MailStore["deliver"]>) =>
          target.deliver(args[0], args[1], args[2], { ...args[3], maxSize: 10 });
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  await using server = new SmtpServer({ store, catchAll: "mulder" });
  await using smtp = await SmtpClient.connect({ port: server.addr.port });
  const error = await assertRejects(
    () =>
      smtp.send({ from: "a@b.c", to: ["m@b.c"] }, "Subject: too long for the store\r\n\r\nx\r\n"),
    SmtpReplyError,
  );
  assertEquals(error.code, 552);
  assertEquals(error.enhancedCode, "5.3.4");
  await inner.close();
});
