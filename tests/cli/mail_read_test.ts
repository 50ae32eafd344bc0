/**
 * `mail list|read|watch` through runMailRead against loopback fake servers
 * (and Dovecot when the peers are up): output lines, raw messages, IDLE
 * and polling, the URL forms, and the curl-like exit codes.
 */
import { captureIo, UsageError } from "../../cli/_command.ts";
import { MAIL_EXIT, parseMailUrl, runMailRead } from "../../cli/_mail_read.ts";
import {
  fakeImapSession,
  fakeMessage,
  fakePop3Session,
  fakeServer,
  type FakeSession,
} from "../mail/_imap_client_servers.ts";
import { peerTest } from "../_helpers/peers.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../_helpers/assert.ts";

Deno.env.set("INETKIT_TEST_MAILPASS", "trustno1");
Deno.env.set("INETKIT_TEST_BADPASS", "wrong");

function inbox() {
  return [
    fakeMessage(11, "Test message one", "skinner@example.test", "The truth is out there."),
    fakeMessage(12, "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= \x1b[31mred", "scully@example.test", "Hi."),
  ];
}

async function mail(
  action: "list" | "read" | "watch",
  url: string,
  extra: string[] = [],
  signal?: AbortSignal,
) {
  const io = captureIo();
  const code = await runMailRead(
    action,
    [url, "--password-env", "INETKIT_TEST_MAILPASS", ...extra],
    io,
    signal,
  );
  return { code, out: io.stdout, err: io.stderr };
}

Deno.test("parseMailUrl() takes curl-style IMAP and POP3 URLs apart", () => {
  const imap = parseMailUrl("imap://mulder;AUTH=PLAIN@127.0.0.1:1143/INBOX/;UIDVALIDITY=42/;UID=7");
  assertEquals(
    [imap.scheme, imap.hostname, imap.port, imap.user, imap.mechanism, imap.mailbox],
    ["imap", "127.0.0.1", 1143, "mulder", "PLAIN", "INBOX"],
  );
  assertEquals([imap.uid, imap.uidValidity], [7, 42]);
  assertEquals(imap.server, "imap://mulder@127.0.0.1:1143");
  const s = parseMailUrl("imaps://fox%40example.test:secret@[::1]/Sent%20Items?UNSEEN");
  assertEquals([s.hostname, s.port, s.user, s.password, s.mailbox, s.search], [
    "::1",
    993,
    "fox@example.test",
    "secret",
    "Sent Items",
    "UNSEEN",
  ]);
  assert(!s.shown.includes("secret"));
  assertEquals(parseMailUrl("pop3://mulder@host/3").message, 3);
  assertEquals(parseMailUrl("pop3s://mulder@host/").port, 995);
  for (
    const bad of ["http://x/", "pop3://u@h/x", "imap://u@h/INBOX;UID=0", "imap://u@h/A%0D%0AB"]
  ) {
    let threw = false;
    try {
      parseMailUrl(bad);
    } catch (error) {
      threw = error instanceof UsageError;
    }
    assert(threw, bad);
  }
});

Deno.test("cli mail list prints one line per IMAP message with decoded, printable subjects", async () => {
  await using server = await fakeServer(fakeImapSession(inbox()));
  const r = await mail("list", `imap://mulder@127.0.0.1:${server.port}/INBOX`);
  assertEquals([r.code, r.err], [0, ""]);
  assertEquals(r.out.split("\n"), [
    "11  2023-11-14 22:13  skinner@example.test  Test message one",
    "12  2023-11-14 22:13  scully@example.test  Grüße ?[31mred",
    "",
  ]);
});

Deno.test("cli mail read prints the raw message of ;UID=N", async () => {
  const messages = inbox();
  await using server = await fakeServer(fakeImapSession(messages));
  const r = await mail("read", `imap://mulder@127.0.0.1:${server.port}/INBOX;UID=11`);
  assertEquals([r.code, r.err], [0, ""]);
  assertEquals(r.out, messages[0]!.raw);
});

Deno.test("cli mail read exits 78 for a missing message or mailbox, naming the target", async () => {
  await using server = await fakeServer(fakeImapSession(inbox()));
  const missing = await mail("read", `imap://mulder@127.0.0.1:${server.port}/INBOX;UID=99`);
  assertEquals(missing.code, MAIL_EXIT.notFound);
  assertStringIncludes(
    missing.err,
    `Cannot read imap://mulder@127.0.0.1:${server.port}/INBOX;UID=99`,
  );
  const box = await mail("list", `imap://mulder@127.0.0.1:${server.port}/Junk`);
  assertEquals(box.code, MAIL_EXIT.notFound);
  assertStringIncludes(
    box.err,
    `Cannot open imap://mulder@127.0.0.1:${server.port}/Junk: server replied NO [NONEXISTENT]`,
  );
  const validity = await mail(
    "read",
    `imap://mulder@127.0.0.1:${server.port}/INBOX;UIDVALIDITY=7;UID=11`,
  );
  assertEquals(validity.code, MAIL_EXIT.notFound);
  assertStringIncludes(validity.err, "UIDVALIDITY is now 42, not 7");
});

Deno.test("cli mail exits 67 when the login is denied, naming the server", async () => {
  await using server = await fakeServer(fakeImapSession(inbox()));
  const io = captureIo();
  const code = await runMailRead("list", [
    `imap://mulder@127.0.0.1:${server.port}/`,
    "--password-env",
    "INETKIT_TEST_BADPASS",
  ], io);
  assertEquals(code, MAIL_EXIT.login);
  assertEquals(
    io.stderr,
    `inetkit mail: Cannot log in to imap://mulder@127.0.0.1:${server.port}: ` +
      "server replied NO [AUTHENTICATIONFAILED] Authentication failed.\n",
  );
});

Deno.test("cli mail exits 7 when it cannot connect, 35 when TLS fails, 64 without STARTTLS", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const refused = await mail("list", `imap://mulder@127.0.0.1:${port}/`);
  assertEquals(refused.code, MAIL_EXIT.connect);
  assertStringIncludes(refused.err, `Cannot connect to imap://mulder@127.0.0.1:${port}`);

  await using plain = await fakeServer(fakeImapSession(inbox()));
  const tls = await mail("list", `imaps://mulder@127.0.0.1:${plain.port}/`, ["--timeout", "5000"]);
  assertEquals(tls.code, MAIL_EXIT.tls);
  assertStringIncludes(tls.err, "Cannot start TLS with imaps://");
  const required = await mail("list", `imap://mulder@127.0.0.1:${plain.port}/`, ["--starttls"]);
  assertEquals(required.code, MAIL_EXIT.useSsl);
  assertStringIncludes(required.err, "does not offer STARTTLS");
});

Deno.test("cli mail exits 60 for an untrusted certificate", async () => {
  await using server = await fakeServer(async (s: FakeSession) => {
    await s.startTls().catch(() => {});
  });
  const r = await mail("list", `imaps://mulder@127.0.0.1:${server.port}/`);
  assertEquals(r.code, MAIL_EXIT.certificate);
  assertStringIncludes(r.err, "certificate");
});

Deno.test("cli mail list and read work over POP3", async () => {
  const messages = inbox();
  await using server = await fakeServer(fakePop3Session(messages));
  const list = await mail("list", `pop3://mulder@127.0.0.1:${server.port}/`);
  assertEquals([list.code, list.err], [0, ""]);
  assertEquals(list.out.split("\n"), [
    "1  2023-11-14 22:13  skinner@example.test  Test message one",
    "2  2023-11-14 22:13  scully@example.test  Grüße ?[31mred",
    "",
  ]);
  const read = await mail("read", `pop3://mulder@127.0.0.1:${server.port}/2`);
  assertEquals([read.code, read.out], [0, messages[1]!.raw]);
  const missing = await mail("read", `pop3://mulder@127.0.0.1:${server.port}/9`);
  assertEquals(missing.code, MAIL_EXIT.notFound);
  assertStringIncludes(missing.err, "server replied -ERR There's no message 9.");
});

Deno.test("cli mail watch prints each message that arrives during IDLE", async () => {
  const arriving = [
    fakeMessage(13, "Arrived one", "kersh@example.test", "1"),
    fakeMessage(14, "Arrived two", "kersh@example.test", "2"),
  ];
  await using server = await fakeServer(fakeImapSession(inbox(), { deliverDuringIdle: arriving }));
  const r = await mail("watch", `imap://mulder@127.0.0.1:${server.port}/INBOX`, ["--count", "2"]);
  assertEquals([r.code, r.err], [0, ""]);
  assertEquals(r.out.split("\n"), [
    "13  2023-11-14 22:13  kersh@example.test  Arrived one",
    "14  2023-11-14 22:13  kersh@example.test  Arrived two",
    "",
  ]);
  await server.finished();
  const sent = server.sessions[0]!.received;
  assert(sent.includes("DONE"), sent.join("|"));
  assertEquals(sent.at(-1)?.endsWith("LOGOUT"), true);
});

Deno.test("cli mail watch falls back to NOOP polling without IDLE, and stops on its signal", async () => {
  const arriving = [fakeMessage(13, "Polled", "kersh@example.test", "1")];
  await using server = await fakeServer(
    fakeImapSession(inbox(), { idle: false, deliverDuringIdle: arriving }),
  );
  const controller = new AbortController();
  const io = captureIo();
  const done = runMailRead(
    "watch",
    [
      `imap://mulder@127.0.0.1:${server.port}/INBOX`,
      "--password-env",
      "INETKIT_TEST_MAILPASS",
      "--interval",
      "1",
    ],
    { ...io, out: (t) => (io.out(t), controller.abort()) },
    controller.signal,
  );
  assertEquals(await done, 0);
  assertEquals(io.stdout, "13  2023-11-14 22:13  kersh@example.test  Polled\n");
});

Deno.test("cli mail refuses bad command lines with a UsageError", async () => {
  const io = captureIo();
  await assertRejects(
    () =>
      runMailRead("read", ["imap://mulder@h/INBOX", "--password-env", "INETKIT_TEST_MAILPASS"], io),
    UsageError,
    "UID",
  );
  await assertRejects(
    () => runMailRead("list", ["imap://h/INBOX", "--password-env", "INETKIT_TEST_MAILPASS"], io),
    UsageError,
    "no user",
  );
  await assertRejects(() => runMailRead("list", ["imap://mulder@h/"], io), UsageError, "password");
  await assertRejects(
    () => runMailRead("list", ["imap://mulder@h/", "--password-env", "INETKIT_NO_SUCH_VAR"], io),
    UsageError,
    "not set",
  );
  await assertRejects(() => runMailRead("list", [], io), UsageError);
  await assertRejects(
    () =>
      runMailRead("list", [
        "imaps://mulder@h/",
        "--starttls",
        "--password-env",
        "INETKIT_TEST_MAILPASS",
      ], io),
    UsageError,
  );
});

// ---- against Dovecot, when the peers are up --------------------------------

const CA = "/tmp/peers/tls/ca.pem";

peerTest("cli mail list and read against Dovecot over STARTTLS and IMAPS", 1143, async () => {
  const list = await mail("list", "imap://mulder@127.0.0.1:1143/INBOX", [
    "--starttls",
    "--cacert",
    CA,
  ]);
  assertEquals(list.code, 0, list.err);
  // Other tests may deliver into INBOX meanwhile (wider UIDs pad the column).
  const lines = list.out.split("\n").map((l) => l.trimStart());
  assertEquals(
    lines[0],
    "1  2023-11-14 22:13  Walter Skinner <skinner@example.test>  Test message one",
  );
  assertEquals(
    lines[1],
    "2  2023-11-15 08:00  Dana Scully <scully@example.test>  Test message two",
  );
  const read = await mail("read", "imaps://mulder@127.0.0.1:1993/INBOX;UID=1", ["--cacert", CA]);
  assertEquals(read.code, 0, read.err);
  assertEquals(new TextEncoder().encode(read.out).length, 343);
  assertStringIncludes(read.out, "Subject: Test message one\r\n");
  const unseen = await mail("list", "imap://mulder@127.0.0.1:1143/INBOX?UNSEEN%20UID%201:2", [
    "--cacert",
    CA,
  ]);
  assertEquals(
    unseen.out.split("\n")[0]?.trimStart(),
    "2  2023-11-15 08:00  Dana Scully <scully@example.test>  Test message two",
  );
  const bad = await mail("list", "imap://mulder@127.0.0.1:1143/", []);
  assertEquals(bad.code, MAIL_EXIT.certificate, "Dovecot's certificate needs --cacert");
});

peerTest("cli mail list against Dovecot over POP3 with STLS", 1110, async () => {
  const list = await mail("list", "pop3://mulder@127.0.0.1:1110/", ["--starttls", "--cacert", CA]);
  assertEquals(list.code, 0, list.err);
  // Other tests may deliver into INBOX meanwhile (wider UIDs pad the column).
  const lines = list.out.split("\n").map((l) => l.trimStart());
  assertEquals(
    lines[0],
    "1  2023-11-14 22:13  Walter Skinner <skinner@example.test>  Test message one",
  );
  assertEquals(
    lines[1],
    "2  2023-11-15 08:00  Dana Scully <scully@example.test>  Test message two",
  );
});

// ---- the TLS rule (the "newcomer's first hour" issue) --------------------------------------

/** An IMAP server that offers STARTTLS, refuses it, and refuses every login: enough to see what was sent. */
function imapOfferingStarttls() {
  return async (s: FakeSession) => {
    const caps = "IMAP4rev1 STARTTLS AUTH=PLAIN";
    await s.send(`* OK [CAPABILITY ${caps}] fake IMAP ready\r\n`);
    for (;;) {
      const line = await s.readLine();
      if (line === null) return;
      const [tag, verb = ""] = line.split(" ");
      const upper = verb.toUpperCase();
      if (upper === "STARTTLS") await s.send(`${tag} NO not now\r\n`);
      else if (upper === "CAPABILITY") await s.send(`* CAPABILITY ${caps}\r\n${tag} OK\r\n`);
      else if (upper === "LOGOUT") {
        await s.send(`* BYE bye\r\n${tag} OK\r\n`);
        return;
      } else await s.send(`${tag} NO [AUTHENTICATIONFAILED] no\r\n`);
    }
  };
}

/** The same for POP3: STLS offered and refused, every login refused. */
function pop3OfferingStls() {
  return async (s: FakeSession) => {
    await s.send("+OK fake POP3 ready\r\n");
    for (;;) {
      const line = await s.readLine();
      if (line === null) return;
      const verb = line.split(" ")[0]!.toUpperCase();
      if (verb === "CAPA") await s.send("+OK\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n");
      else if (verb === "STLS") await s.send("-ERR not now\r\n");
      else if (verb === "QUIT") {
        await s.send("+OK bye\r\n");
        return;
      } else await s.send("-ERR [AUTH] no\r\n");
    }
  };
}

Deno.test("cli mail list uses STARTTLS/STLS when offered, and --no-tls never sends it", async () => {
  for (
    const [scheme, handler, verb] of [
      ["imap", imapOfferingStarttls, "STARTTLS"],
      ["pop3", pop3OfferingStls, "STLS"],
    ] as const
  ) {
    {
      await using server = await fakeServer(handler());
      const r = await mail("list", `${scheme}://mulder@127.0.0.1:${server.port}/`);
      assertEquals(r.code, MAIL_EXIT.login, r.err);
      await server.finished();
      assert(server.sessions[0]!.received.some((l) => l.toUpperCase().includes(verb)), scheme);
    }
    {
      await using server = await fakeServer(handler());
      const r = await mail("list", `${scheme}://mulder@127.0.0.1:${server.port}/`, ["--no-tls"]);
      assertEquals(r.code, MAIL_EXIT.login, r.err);
      await server.finished();
      const sent = server.sessions[0]!.received;
      assertEquals(sent.some((l) => l.toUpperCase().includes(verb)), false, sent.join("|"));
      assert(sent.length > 0);
    }
  }
  const io = captureIo();
  for (
    const args of [
      ["imaps://mulder@h/", "--no-tls"],
      ["imap://mulder@h/", "--no-tls", "--starttls"],
    ]
  ) {
    await assertRejects(
      () => runMailRead("list", [...args, "--password-env", "INETKIT_TEST_MAILPASS"], io),
      UsageError,
      undefined,
      args.join(" "),
    );
  }
});

Deno.test("cli mail list --cacert with a missing file exits 77", async () => {
  const { runCommand } = await import("../../cli/_command.ts");
  const { mailCommand } = await import("../../cli/mail.ts");
  const io = captureIo();
  const code = await runCommand(mailCommand, [
    "list",
    "imap://mulder@127.0.0.1:1/",
    "--password-env",
    "INETKIT_TEST_MAILPASS",
    "--cacert",
    "/nonexistent/ca.pem",
  ], io);
  assertEquals(code, 77);
  assertStringIncludes(io.stderr, "Cannot read the CA certificate file /nonexistent/ca.pem");
});

Deno.test("cli mail list names the time taken when it cannot connect", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const refused = await mail("list", `imap://mulder@127.0.0.1:${port}/`);
  assertEquals(refused.code, MAIL_EXIT.connect);
  assertStringIncludes(
    refused.err,
    `Cannot connect to imap://mulder@127.0.0.1:${port}: Failed to connect to 127.0.0.1 port ${port} after `,
  );
});

Deno.test("cli mail read and list end quietly with 23 when standard output is closed (| head)", async () => {
  const messages = inbox();
  await using server = await fakeServer(fakeImapSession(messages));
  const url = `imap://mulder@127.0.0.1:${server.port}/INBOX`;
  const closed = () => Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)"));
  const read = captureIo();
  read.write = closed;
  const code = await runMailRead(
    "read",
    [`${url};UID=11`, "--password-env", "INETKIT_TEST_MAILPASS"],
    read,
  );
  assertEquals([code, read.stderr], [MAIL_EXIT.write, ""]);
  const list = captureIo();
  list.out = () => {
    throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
  };
  assertEquals(
    await runMailRead("list", [url, "--password-env", "INETKIT_TEST_MAILPASS"], list),
    MAIL_EXIT.write,
  );
  assertEquals(list.stderr, "");
  // Another failure to write is said, under the mail command's name.
  const full = captureIo();
  full.write = () => Promise.reject(new Error("No space left on device"));
  assertEquals(
    await runMailRead(
      "read",
      [`${url};UID=11`, "--password-env", "INETKIT_TEST_MAILPASS"],
      full,
    ),
    MAIL_EXIT.write,
  );
  assertEquals(
    full.stderr,
    "inetkit mail: Cannot write to standard output: No space left on device\n",
  );
});
