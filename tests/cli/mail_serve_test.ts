/**
 * `mail serve`: argument checks, a delivery and logins logged to stderr,
 * the Maildir on disk, STARTTLS with --tls-cert, and a run as a child
 * process stopped with SIGINT.
 */
import { mailServeCommand, startMailServe } from "../../cli/_mail_serve.ts";
import { captureIo, runCommand, UsageError } from "../../cli/_command.ts";
import { SmtpClient } from "../../mail/smtp_client.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";
import { WireClient } from "../mail/_smtp_server_wire.ts";

const PORTS = ["--smtp-port", "0", "--pop3-port", "0", "--imap-port", "0"];

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_mail_serve_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("mail serve --help prints the usage and exits 0", async () => {
  const io = captureIo();
  assertEquals(await runCommand(mailServeCommand, ["--help"], io), 0);
  assertStringIncludes(io.stdout, "Usage: inetkit mail serve --dir DIR --user USER:PASS");
  assertStringIncludes(io.stdout, "--tls-cert FILE");
});

Deno.test("mail serve rejects bad arguments with a UsageError", async () => {
  await withDir(async (dir) => {
    for (
      const args of [
        [],
        ["--dir", dir],
        ["--user", "mulder:trustno1"],
        ["--dir", dir, "--user", "mulder"],
        ["--dir", dir, "--user", ":x"],
        ["--dir", dir, "--user", "a/b:x"],
        ["--dir", dir, "--user", ".hidden:x"],
        ["--dir", dir, "--user", "a:x", "--user", "a:y"],
        ["--dir", dir, "--user", "a:x", "--smtp-port", "70000"],
        ["--dir", dir, "--user", "a:x", "--pop3-port", "x"],
        ["--dir", dir, "--user", "a:x", "--tls-cert", "c.pem"],
        ["--dir", dir, "--user", "a:x", "--tls-cert", `${dir}/c`, "--tls-key", `${dir}/k`],
        ["--dir", dir, "--user", "a:x", "extra"],
        ["--dir", dir, "--user", "a:x", "--bogus"],
      ]
    ) {
      await assertRejects(
        () => startMailServe(args, captureIo()),
        UsageError,
        undefined,
        args.join(" "),
      );
    }
  });
});

Deno.test("mail serve catches every recipient into the user's Maildir and logs deliveries and logins", async () => {
  await withDir(async (dir) => {
    const io = captureIo();
    const controller = new AbortController();
    const root = `${dir}/mail`;
    const { lab, user } = await startMailServe(
      ["--dir", root, "--user", "mulder:trustno1", "--user", "scully:queequeg", ...PORTS],
      io,
      controller.signal,
    );
    try {
      assertEquals(user, "mulder");
      const lines = io.stdout.split("\n");
      assertEquals(lines[0], `Mail lab: every recipient goes to mulder's INBOX in ${root}/mulder`);
      assertMatch(lines[1]!, /^SMTP on 127\.0\.0\.1:\d+$/);
      assertMatch(lines[2]!, /^POP3 on 127\.0\.0\.1:\d+$/);
      assertMatch(lines[3]!, /^IMAP on 127\.0\.0\.1:\d+$/);
      {
        await using smtp = await SmtpClient.connect({ port: lab.smtp.addr.port });
        const result = await smtp.send(
          { from: "app@example.test", to: ["someone@example.test", "else@elsewhere.test"] },
          "Subject: caught\r\n\r\nhello\r\n",
        );
        assertEquals(result.accepted.length, 2);
      }
      let files = 0;
      for await (const entry of Deno.readDir(`${root}/mulder/new`)) {
        files++;
        const text = await Deno.readTextFile(`${root}/mulder/new/${entry.name}`);
        assert(text.endsWith("Subject: caught\r\n\r\nhello\r\n"));
      }
      assertEquals(files, 1);
      const pop3 = await WireClient.connect(lab.pop3.addr.port);
      await pop3.line();
      await pop3.send("USER mulder\r\nPASS wrong\r\nUSER scully\r\nPASS queequeg\r\nQUIT\r\n");
      await pop3.rest();
      pop3.close();
      const imap = await WireClient.connect(lab.imap.addr.port);
      await imap.line();
      await imap.send("a LOGIN mulder trustno1\r\nb LOGOUT\r\n");
      await imap.rest();
      imap.close();
      const events = io.stderr.trim().split("\n");
      assertEquals(events.length, 4, io.stderr);
      assertMatch(
        events[0]!,
        /^smtp 127\.0\.0\.1:\d+ message [0-9A-F]{12} from <app@example\.test> to <someone@example\.test>, <else@elsewhere\.test> \(\d+ octets\): stored for mulder INBOX uid 1$/,
      );
      assertMatch(events[1]!, /^pop3 127\.0\.0\.1:\d+ login failed for mulder \(USER\)$/);
      assertMatch(events[2]!, /^pop3 127\.0\.0\.1:\d+ login scully \(USER\), 0 messages$/);
      assertMatch(events[3]!, /^imap 127\.0\.0\.1:\d+ login mulder$/);
    } finally {
      controller.abort();
      await lab.close();
    }
  });
});

Deno.test("mail serve --tls-cert offers STARTTLS and AUTH only after it", async () => {
  const { cert, key, ca } = await testCert();
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/cert.pem`, cert);
    await Deno.writeTextFile(`${dir}/key.pem`, key);
    const io = captureIo();
    const controller = new AbortController();
    const { lab } = await startMailServe(
      [
        "--dir",
        `${dir}/mail`,
        "--user",
        "mulder:trustno1",
        ...PORTS,
        "--tls-cert",
        `${dir}/cert.pem`,
        "--tls-key",
        `${dir}/key.pem`,
      ],
      io,
      controller.signal,
    );
    try {
      assertStringIncludes(io.stdout, "(STARTTLS)");
      await using smtp = await SmtpClient.connect({
        port: lab.smtp.addr.port,
        serverName: "inetkit.test",
        caCerts: [ca],
        requireTls: true,
        credentials: { username: "mulder", password: "trustno1" },
      });
      assert(smtp.tls);
      assert(smtp.authenticated);
      await smtp.send(
        { from: "a@example.test", to: ["b@example.test"] },
        "Subject: tls\r\n\r\nx\r\n",
      );
      assertMatch(io.stderr, /smtp 127\.0\.0\.1:\d+ login mulder \([A-Z0-9-]+\)\n/);
    } finally {
      controller.abort();
      await lab.close();
    }
  });
});

Deno.test("mail serve runs as a process until SIGINT and exits 0", async () => {
  await withDir(async (dir) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../cli/_mail_serve.ts", import.meta.url).pathname,
        "--dir",
        dir,
        "--user",
        "mulder:trustno1",
        ...PORTS,
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("IMAP on ")) {
      const { done, value } = await reader.read();
      if (done) break;
      out += value;
    }
    const port = Number(/SMTP on 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    {
      await using smtp = await SmtpClient.connect({ port });
      await smtp.send(
        { from: "a@example.test", to: ["b@example.test"] },
        "Subject: child\r\n\r\nx\r\n",
      );
    }
    child.kill("SIGINT");
    const status = await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    const stderr = await new Response(child.stderr).text();
    assertEquals(status.code, 0, stderr);
    assertMatch(stderr, /^smtp 127\.0\.0\.1:\d+ message [0-9A-F]{12} from <a@example\.test>/);
  });
});
