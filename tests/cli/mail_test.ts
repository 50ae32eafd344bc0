import { captureIo, runCommand, UsageError } from "../../cli/_command.ts";
import { mailCommand, sendExit } from "../../cli/mail.ts";
import { SmtpReplyError } from "../../mail/smtp_reply_error.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * A small loopback SMTP server for one session: it accepts every command
 * (refusing recipients whose local part is "nobody"), records what the client
 * sent, and ends at QUIT.
 */
function fakeSmtpServer(extensions: string[] = ["PIPELINING", "AUTH PLAIN"]) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const session = (async () => {
    const conn = await listener.accept();
    listener.close();
    let buffer = "";
    let transcript = "";
    const buf = new Uint8Array(65536);
    const readUntil = async (end: string): Promise<string | null> => {
      while (!buffer.includes(end)) {
        const n = await conn.read(buf);
        if (n === null) return null;
        const text = decoder.decode(buf.subarray(0, n));
        buffer += text;
        transcript += text;
      }
      const at = buffer.indexOf(end) + end.length;
      const out = buffer.slice(0, at);
      buffer = buffer.slice(at);
      return out;
    };
    const reply = (text: string) => conn.write(encoder.encode(text));
    try {
      await reply("220 fake ESMTP\r\n");
      for (;;) {
        const line = await readUntil("\r\n");
        if (line === null) break;
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") {
          const lines = ["fake", ...extensions];
          await reply(
            lines.map((l, i) => `250${i === lines.length - 1 ? " " : "-"}${l}\r\n`).join(""),
          );
        } else if (verb === "AUTH") await reply("235 2.7.0 ok\r\n");
        else if (verb === "RCPT" && line.includes("<nobody@")) {
          await reply("550 5.1.1 no such user\r\n");
        } else if (verb === "DATA") {
          await reply("354 go\r\n");
          await readUntil("\r\n.\r\n");
          await reply("250 2.0.0 queued as FAKE1\r\n");
        } else if (verb === "QUIT") {
          await reply("221 bye\r\n");
          break;
        } else await reply("250 ok\r\n");
      }
    } finally {
      conn.close();
    }
    return transcript;
  })();
  return { server: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`, session };
}

Deno.test("cli mail send delivers stdin as the body and prints each recipient", async () => {
  const { server, session } = fakeSmtpServer();
  const io = captureIo("The truth is out there.\n.\nline after a dot\n");
  const code = await mailCommand.run([
    "send",
    "--server",
    server,
    "--from",
    "Dana Scully <scully@example.test>",
    "--to",
    "mulder@example.test",
    "--bcc",
    "skinner@example.test",
    "--subject",
    "Case file",
  ], io);
  const transcript = await session;
  assertEquals(code, 0, io.stderr);
  assertEquals(
    io.stdout,
    "accepted mulder@example.test\naccepted skinner@example.test\n" +
      "server: 250 2.0.0 queued as FAKE1\n",
  );
  assertStringIncludes(
    transcript,
    "MAIL FROM:<scully@example.test>\r\nRCPT TO:<mulder@example.test>\r\n" +
      "RCPT TO:<skinner@example.test>\r\nDATA\r\n",
  );
  assertStringIncludes(transcript, "Subject: Case file\r\n");
  assertStringIncludes(
    transcript,
    "\r\nThe truth is out there.\r\n..\r\nline after a dot\r\n.\r\n",
  );
  assertEquals(transcript.includes("Bcc"), false);
  assert(transcript.endsWith("QUIT\r\n"));
});

Deno.test("cli mail send logs in with the password from the environment and attaches files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/notes.txt`, "attached text\n");
    Deno.env.set("INETKIT_TEST_SMTP_PASSWORD", "trustno1");
    const { server, session } = fakeSmtpServer();
    const io = captureIo("body\n");
    const code = await mailCommand.run([
      "send",
      "--server",
      server,
      "--user",
      "mulder",
      "--password-env",
      "INETKIT_TEST_SMTP_PASSWORD",
      "--from",
      "mulder@example.test",
      "--to",
      "scully@example.test",
      "--attach",
      `${dir}/notes.txt`,
      "-v",
    ], io);
    const transcript = await session;
    assertEquals(code, 0, io.stderr);
    assertStringIncludes(transcript, `AUTH PLAIN ${btoa("\0mulder\0trustno1")}\r\n`);
    assertStringIncludes(transcript, "filename=notes.txt");
    assertStringIncludes(transcript, btoa("attached text\n"));
    assertStringIncludes(io.stderr, "C: AUTH PLAIN <redacted>\n");
    assertEquals(io.stderr.includes("trustno1"), false);
    assertEquals(io.stderr.includes(btoa("\0mulder\0trustno1")), false);
  } finally {
    Deno.env.delete("INETKIT_TEST_SMTP_PASSWORD");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli mail send exits 1 and reports a refused recipient", async () => {
  const { server, session } = fakeSmtpServer();
  const io = captureIo("hi\n");
  const code = await mailCommand.run([
    "send",
    "--server",
    server,
    "--from",
    "a@example.test",
    "--to",
    "nobody@example.test",
    "--to",
    "b@example.test",
  ], io);
  await session;
  assertEquals(code, 1);
  assertStringIncludes(io.stdout, "accepted b@example.test\n");
  assertStringIncludes(io.stdout, "refused  nobody@example.test: 550 5.1.1 no such user\n");
});

Deno.test("cli mail send with --starttls fails without sending in clear when STARTTLS is missing", async () => {
  const { server, session } = fakeSmtpServer(["AUTH PLAIN"]);
  Deno.env.set("INETKIT_TEST_SMTP_PASSWORD", "trustno1");
  try {
    const io = captureIo("secret body\n");
    const code = await mailCommand.run([
      "send",
      "--server",
      server,
      "--starttls",
      "--user",
      "mulder",
      "--password-env",
      "INETKIT_TEST_SMTP_PASSWORD",
      "--from",
      "a@example.test",
      "--to",
      "b@example.test",
    ], io);
    const transcript = await session;
    assertEquals(code, 64);
    assertStringIncludes(io.stderr, "STARTTLS");
    assertEquals(transcript, "EHLO localhost\r\n");
  } finally {
    Deno.env.delete("INETKIT_TEST_SMTP_PASSWORD");
  }
});

Deno.test("cli mail send exits 7 when the server is unreachable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const io = captureIo("hi\n");
  const code = await mailCommand.run(
    ["send", "--server", `127.0.0.1:${port}`, "--from", "a@example.test", "--to", "b@example.test"],
    io,
  );
  assertEquals(code, 7);
  assertStringIncludes(io.stderr, "inetkit mail:");
});

Deno.test("cli mail rejects bad command lines with UsageError", async () => {
  const base = ["--server", "127.0.0.1:1", "--from", "a@example.test", "--to", "b@example.test"];
  const cases: string[][] = [
    [],
    ["receive"],
    ["send", "--from", "a@example.test", "--to", "b@example.test"],
    ["send", "--server", "h", "--to", "b@example.test"],
    ["send", "--server", "h", "--from", "a@example.test"],
    ["send", ...base, "--tls", "--starttls"],
    ["send", ...base, "--user", "u"],
    ["send", ...base, "--user", "u", "--password-env", "INETKIT_TEST_UNSET_VARIABLE"],
    ["send", "--server", "h:notaport", "--from", "a@example.test", "--to", "b@example.test"],
    ["send", ...base, "--timeout", "0"],
    ["send", ...base, "--bogus"],
    ["send", ...base, "extra"],
  ];
  for (const args of cases) {
    await assertRejects(
      () => mailCommand.run(args, captureIo()),
      UsageError,
      undefined,
      args.join(" "),
    );
  }
});

Deno.test("cli mail send refuses a header injection in the subject", async () => {
  const io = captureIo("hi\n");
  const code = await mailCommand.run([
    "send",
    "--server",
    "127.0.0.1:1",
    "--from",
    "a@example.test",
    "--to",
    "b@example.test",
    "--subject",
    "hi\r\nBcc: victim@example.test",
  ], io);
  assertEquals(code, 1);
  assertStringIncludes(io.stderr, "inetkit mail:");
});

// ---- the TLS and credentials rule (the "newcomer's first hour" issue) ----------------------

const PASSWORD_VAR = "INETKIT_TEST_SMTP_PASSWORD";

/** An SMTP server with STARTTLS (the test certificate) and AUTH; records each message's session. */
async function tlsSmtpServer() {
  const { SmtpServer } = await import("../../mail/smtp_server.ts");
  const { testCert } = await import("../_helpers/tls.ts");
  const cert = await testCert();
  const sessions: { tls: boolean; user: string | null }[] = [];
  const server = new SmtpServer({
    cert: cert.cert,
    key: cert.key,
    received: false,
    users: { authenticate: (user, password) => user === "mulder" && password === "trustno1" },
    authFailureDelay: 0,
    onMessage: async (envelope, message) => {
      sessions.push({ tls: envelope.session.tls, user: envelope.session.user });
      await message.cancel();
    },
    onError: () => {},
  });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/ca.pem`, cert.ca);
  return {
    server: `127.0.0.1:${server.addr.port}`,
    sessions,
    caFile: `${dir}/ca.pem`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function send(extra: string[], stdin = "hi\n") {
  const io = captureIo(stdin);
  Deno.env.set(PASSWORD_VAR, "trustno1");
  try {
    const code = await runCommand(mailCommand, [
      "send",
      "--from",
      "a@example.test",
      "--to",
      "b@example.test",
      ...extra,
    ], io);
    return { code, out: io.stdout, err: io.stderr };
  } finally {
    Deno.env.delete(PASSWORD_VAR);
  }
}

Deno.test("cli mail send upgrades with STARTTLS when offered, without --starttls, as sendMail does", async () => {
  await using lab = await tlsSmtpServer();
  const r = await send([
    "--server",
    lab.server,
    "--cacert",
    lab.caFile,
    "--user",
    "mulder",
    "--password-env",
    PASSWORD_VAR,
  ]);
  assertEquals(r.code, 0, r.err);
  assertEquals(lab.sessions, [{ tls: true, user: "mulder" }]);
});

Deno.test("cli mail send fails on an unverifiable certificate instead of going on in clear", async () => {
  await using lab = await tlsSmtpServer();
  const r = await send([
    "--server",
    lab.server,
    "--user",
    "mulder",
    "--password-env",
    PASSWORD_VAR,
  ]);
  assertEquals(r.code, 60);
  assertStringIncludes(
    r.err,
    `inetkit mail: Cannot start TLS with ${lab.server.replace(":", " port ")}: `,
  );
  assertStringIncludes(r.err, "--cacert FILE");
  assertEquals(lab.sessions, []);
});

Deno.test("cli mail send --no-tls stays in clear although STARTTLS is offered", async () => {
  await using lab = await tlsSmtpServer();
  const r = await send(["--server", lab.server, "--no-tls"]);
  assertEquals(r.code, 0, r.err);
  assertEquals(lab.sessions, [{ tls: false, user: null }]);
  for (const other of ["--tls", "--starttls"]) {
    await assertRejects(
      () =>
        mailCommand.run(
          [
            "send",
            "--server",
            lab.server,
            "--from",
            "a@x.test",
            "--to",
            "b@x.test",
            "--no-tls",
            other,
          ],
          captureIo(),
        ),
      UsageError,
      "exclude each other",
    );
  }
});

Deno.test("cli mail send --user sends no password in clear to a host it cannot tell is loopback, unless --insecure-auth", async () => {
  for (const insecure of [false, true]) {
    const { server, session } = fakeSmtpServer(["AUTH PLAIN LOGIN"]);
    // "127.1" reaches 127.0.0.1 but is not a loopback name the client knows.
    const r = await send([
      "--server",
      server.replace("127.0.0.1", "127.1"),
      "--user",
      "mulder",
      "--password-env",
      PASSWORD_VAR,
      ...(insecure ? ["--insecure-auth"] : []),
    ]);
    const transcript = await session;
    if (insecure) {
      assertEquals(r.code, 0, r.err);
      assertStringIncludes(transcript, `AUTH PLAIN ${btoa("\0mulder\0trustno1")}\r\n`);
    } else {
      assertEquals(r.code, 67);
      assertStringIncludes(r.err, "--insecure-auth allows it");
      assertEquals(transcript.includes("AUTH"), false);
      assertEquals(transcript.includes("MAIL FROM"), false);
    }
  }
});

Deno.test("cli mail send --cacert with a missing file exits 77", async () => {
  const r = await send(["--server", "127.0.0.1:1", "--cacert", "/nonexistent/ca.pem"]);
  assertEquals(r.code, 77);
  assertEquals(
    r.err,
    "inetkit mail: Cannot read the CA certificate file /nonexistent/ca.pem: No such file or directory\n",
  );
});

Deno.test("cli mail send names the server, port and time taken when it cannot connect", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const r = await send(["--server", `127.0.0.1:${port}`]);
  assertEquals(r.code, 7);
  assertMatch(
    r.err,
    new RegExp(
      `^inetkit mail: Failed to connect to 127\\.0\\.0\\.1 port ${port} after \\d+ ms: Connection refused\\n$`,
    ),
  );
});

Deno.test("mail send's exit codes follow curl's for each kind of failure", () => {
  const reply = (command: string) => new SmtpReplyError(535, ["5.7.8 no"], { command });
  assertEquals(sendExit(reply("AUTH PLAIN")), 67);
  assertEquals(sendExit(new SmtpReplyError(554, ["5.7.1 rejected"], { command: "DATA" })), 55);
  assertEquals(sendExit(reply("RCPT TO:<a@b.test>")), 55);
  assertEquals(sendExit(new ProtocolError("BAD_REPLY", "Cannot read reply")), 8);
  assertEquals(sendExit(new DOMException("timed out", "TimeoutError")), 28);
  assertEquals(sendExit(new Deno.errors.ConnectionRefused("Connection refused")), 7);
  assertEquals(sendExit(new Error("something else")), 1);
});
