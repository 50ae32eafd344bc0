/**
 * ImapServer against real IMAP clients on this machine: Python's imaplib
 * (`/usr/bin/python3`), `curl imap://` and `openssl s_client -starttls
 * imap`, with TLS verified against the test CA; and a differential check
 * of ENVELOPE and BODYSTRUCTURE against the peers' Dovecot (127.0.0.1:1143),
 * which gets the same messages in a scratch folder that is deleted again.
 * Tests whose client is missing are skipped with a message.
 *
 * @module
 */
import { MaildirStore } from "../../mail/maildir_store.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { peerTest } from "../_helpers/peers.ts";
import { testCert, VERIFIED_NAME } from "../_helpers/tls.ts";
import { startImapServer } from "../mail/_imap_server_helpers.ts";

const PYTHON = "/usr/bin/python3";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function has(command: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(command, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

const python = await Deno.stat(PYTHON).then(() => true, () => false);
const curl = await has("curl");
const openssl = await new Deno.Command("openssl", { args: ["version"], stdout: "null" }).output()
  .then((o) => o.success, () => false);

function skip(what: string): void {
  console.warn(`skipped: ${what} is not installed`);
}

/** Runs a Python script; returns its stdout, failing with its stderr. */
async function runPython(script: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, decoder.decode(out.stderr));
  return decoder.decode(out.stdout);
}

const IMAPLIB_SESSION = `
import imaplib, json, sys
port = int(sys.argv[1])
out = {}
m = imaplib.IMAP4("127.0.0.1", port)
out["caps"] = sorted(m.capabilities)
out["login"] = m.login("mulder", "trustno1")[0]
typ, data = m.list()
out["list"] = [d.decode() for d in data]
typ, data = m.select("INBOX")
out["exists"] = data[0].decode()
typ, data = m.search(None, "FROM", '"ann"')
out["search_from"] = data[0].decode()
typ, data = m.search(None, "UNSEEN", "SUBJECT", "second")
out["search_unseen"] = data[0].decode()
typ, data = m.fetch("1", "(RFC822)")
out["rfc822"] = data[0][1].decode()
typ, data = m.fetch("1:2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
out["fields"] = [d[1].decode() for d in data if isinstance(d, tuple)]
typ, data = m.fetch("2", "(BODYSTRUCTURE)")
out["bodystructure"] = data[0].decode()
typ, data = m.store("2", "+FLAGS", r"(\\Flagged)")
out["store"] = data[0].decode()
typ, data = m.copy("1:2", "Archive")
out["copy"] = [typ, data[0].decode()]
typ, data = m.append("Archive", r"(\\Seen)", imaplib.Time2Internaldate(1700000000),
                     b"Subject: appended by imaplib\\r\\n\\r\\nhello\\r\\n")
out["append"] = [typ, data[0].decode()]
typ, data = m.store("1", "+FLAGS", r"(\\Deleted)")
typ, data = m.expunge()
out["expunge"] = [d.decode() for d in data if d]
typ, data = m.status("Archive", "(MESSAGES UNSEEN)")
out["status"] = data[0].decode()
typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
out["uid_fetch"] = [d.decode() for d in data]
m.close()
out["logout"] = m.logout()[0]
print(json.dumps(out))
`;

Deno.test({
  name:
    "ImapServer serves Python imaplib: login, list, select, search, fetch, store, copy, append, expunge",
  ignore: !python,
  async fn() {
    await using t = startImapServer();
    await t.store.deliver(
      "mulder",
      "INBOX",
      encoder.encode("From: Ann <ann@example.test>\r\nSubject: first\r\n\r\nHello\r\n"),
      { flags: ["\\Seen"] },
    );
    await t.store.deliver(
      "mulder",
      "INBOX",
      encoder.encode(
        "From: Bob <bob@example.test>\r\nSubject: second\r\n" +
          'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\ntext\r\n--b--\r\n',
      ),
    );
    await t.store.createFolder("mulder", "Archive");
    const archive = await t.store.status("mulder", "Archive");
    const out = JSON.parse(await runPython(IMAPLIB_SESSION, [String(t.port)]));
    assert(out.caps.includes("IDLE") && out.caps.includes("UIDPLUS"), out.caps.join(" "));
    assertEquals(out.login, "OK");
    assertEquals(out.list, [
      '(\\HasNoChildren) "." INBOX',
      '(\\HasNoChildren \\Archive) "." Archive',
    ]);
    assertEquals(out.exists, "2");
    assertEquals(out.search_from, "1");
    assertEquals(out.search_unseen, "2");
    assertEquals(out.rfc822, "From: Ann <ann@example.test>\r\nSubject: first\r\n\r\nHello\r\n");
    assertEquals(out.fields, [
      "From: Ann <ann@example.test>\r\nSubject: first\r\n\r\n",
      "From: Bob <bob@example.test>\r\nSubject: second\r\n\r\n",
    ]);
    assertEquals(
      out.bodystructure,
      '2 (BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 0 NIL NIL NIL NIL) ' +
        '"mixed" ("boundary" "b") NIL NIL NIL))',
    );
    assertEquals(out.store, "2 (FLAGS (\\Flagged \\Recent))");
    assertEquals(out.copy, ["OK", `[COPYUID ${archive.uidValidity} 1:2 1:2] COPY completed`]);
    assertEquals(out.append, ["OK", `[APPENDUID ${archive.uidValidity} 3] APPEND completed`]);
    assertEquals(out.expunge, ["1"]);
    assertEquals(out.status, "Archive (MESSAGES 3 UNSEEN 1)");
    assertEquals(out.uid_fetch, ["1 (UID 2 FLAGS (\\Flagged \\Recent))"]);
    assertEquals(out.logout, "BYE");
    const appended = (await t.store.listMessages("mulder", "Archive"))[2]!;
    assertEquals(appended.internalDate.getTime(), 1700000000 * 1000);
    assertEquals(appended.flags, ["\\Seen"]);
  },
});

const IMAPLIB_IDLE = `
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("mulder", "trustno1")
m.select("INBOX")
tag = m._new_tag()
m.send(tag + b" IDLE\\r\\n")
print("continuation:", m.readline().decode().strip(), flush=True)
print("update:", m.readline().decode().strip(), flush=True)
print("update:", m.readline().decode().strip(), flush=True)
m.send(b"DONE\\r\\n")
print("done:", m.readline().decode().strip(), flush=True)
typ, data = m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("fetched:", data[0][1].decode().strip(), flush=True)
m.logout()
`;

Deno.test({
  name: "ImapServer IDLE wakes Python imaplib when a message is delivered to the store",
  ignore: !python,
  async fn() {
    await using t = startImapServer();
    await t.store.deliver("mulder", "INBOX", encoder.encode("Subject: old\r\n\r\nx\r\n"));
    const child = new Deno.Command(PYTHON, {
      args: ["-c", IMAPLIB_IDLE, String(t.port)],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const line = async () => {
      while (!text.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`imaplib ended early: ${text}`);
        text += value;
      }
      const at = text.indexOf("\n");
      const out = text.slice(0, at);
      text = text.slice(at + 1);
      return out;
    };
    try {
      assertEquals(await line(), "continuation: + idling");
      await t.store.deliver(
        "mulder",
        "INBOX",
        encoder.encode("Subject: delivered by SMTP\r\n\r\ny\r\n"),
      );
      assertEquals(await line(), "update: * 2 EXISTS");
      assertEquals(await line(), "update: * 2 RECENT");
      assertMatch(await line(), /^done: [A-Z]+\d+ OK IDLE completed$/);
      assertEquals(await line(), "fetched: Subject: delivered by SMTP");
    } catch (error) {
      child.kill();
      throw error;
    } finally {
      lines.releaseLock();
      await child.stdout.cancel().catch(() => {});
    }
    const status = await child.status;
    const stderr = await new Response(child.stderr).text();
    assertEquals(status.code, 0, stderr);
  },
});

const IMAPLIB_STARTTLS = `
import imaplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
before = "LOGINDISABLED" in m.capabilities and "STARTTLS" in m.capabilities
try:
    m.login("mulder", "trustno1")
    clear = "accepted"
except imaplib.IMAP4.error as e:
    clear = "refused"
m.starttls(ssl_context=ctx)
after = "AUTH=PLAIN" in m.capabilities and "LOGINDISABLED" not in m.capabilities
typ, _ = m.login("mulder", "trustno1")
print(before, clear, after, typ, m.sock.version())
m.logout()
`;

Deno.test({
  name: "ImapServer STARTTLS is verified by Python imaplib against the test CA",
  ignore: !python,
  async fn() {
    const { cert, key, ca } = await testCert();
    await using t = startImapServer({ cert, key });
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/ca.pem`, ca);
      const out = await runPython(IMAPLIB_STARTTLS, [String(t.port), `${dir}/ca.pem`]);
      assertEquals(out.trim(), "True refused True OK TLSv1.3");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ImapServer serves curl imap://: LIST, FETCH by UID, and STARTTLS with --ssl-reqd --cacert",
  ignore: !curl,
  async fn() {
    const { cert, key, ca } = await testCert();
    await using plain = startImapServer();
    const text = "From: a@b.c\r\nSubject: for curl\r\n\r\nbody for curl\r\n";
    await plain.store.deliver("mulder", "INBOX", encoder.encode(text));
    await plain.store.createFolder("mulder", "Archive");
    const run = async (args: string[]) => {
      const out = await new Deno.Command("curl", {
        args: ["-s", "-S", "--max-time", "10", "--user", "mulder:trustno1", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 0, decoder.decode(out.stderr));
      return decoder.decode(out.stdout);
    };
    const base = `imap://127.0.0.1:${plain.port}`;
    assertEquals(
      await run([`${base}/`]),
      '* LIST (\\HasNoChildren) "." INBOX\r\n* LIST (\\HasNoChildren \\Archive) "." Archive\r\n',
    );
    assertEquals(await run([`${base}/INBOX;UID=1`]), text);
    assertEquals(await run([`${base}/INBOX;UID=1;SECTION=TEXT`]), "body for curl\r\n");
    await using secure = startImapServer({ cert, key });
    await secure.store.deliver("mulder", "INBOX", encoder.encode(text));
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/ca.pem`, ca);
      const host = `${VERIFIED_NAME}:${secure.port}`;
      assertEquals(
        await run([
          "--ssl-reqd",
          "--cacert",
          `${dir}/ca.pem`,
          "--resolve",
          `${host}:127.0.0.1`,
          `imap://${host}/INBOX;UID=1`,
        ]),
        text,
      );
      // A CA that did not sign the certificate fails, with no fallback to clear text.
      const other = await new Deno.Command("curl", {
        args: [
          "-s",
          "--max-time",
          "10",
          "--ssl-reqd",
          "--cacert",
          "/etc/ssl/certs/ca-certificates.crt",
          "--resolve",
          `${host}:127.0.0.1`,
          "--user",
          "mulder:trustno1",
          `imap://${host}/INBOX;UID=1`,
        ],
        stdout: "piped",
        stderr: "null",
      }).output();
      assert(other.code !== 0, "curl accepted a certificate its CA file does not cover");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ImapServer STARTTLS works with openssl s_client -starttls imap verifying the CA",
  ignore: !openssl,
  async fn() {
    const { cert, key, ca } = await testCert();
    await using t = startImapServer({ cert, key });
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/ca.pem`, ca);
      const child = new Deno.Command("openssl", {
        args: [
          "s_client",
          "-connect",
          `127.0.0.1:${t.port}`,
          "-starttls",
          "imap",
          "-servername",
          VERIFIED_NAME,
          "-verify_hostname",
          VERIFIED_NAME,
          "-CAfile",
          `${dir}/ca.pem`,
          "-verify_return_error",
          "-quiet",
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await new Promise((resolve) => setTimeout(resolve, 700));
      await writer.write(encoder.encode("a1 LOGIN mulder trustno1\r\na2 LOGOUT\r\n"));
      const out = await child.output();
      const stdout = decoder.decode(out.stdout);
      assertStringIncludes(stdout, "a1 OK [CAPABILITY");
      assertStringIncludes(stdout, "* BYE Logging out\r\na2 OK LOGOUT completed\r\n");
      await writer.close().catch(() => {});
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const DIFFERENTIAL = `
import imaplib, json, sys
port, box = int(sys.argv[1]), sys.argv[2]
messages = json.loads(sys.stdin.read())
m = imaplib.IMAP4("127.0.0.1", port)
m.login("mulder", "trustno1")
if box != "INBOX":
    m.create(box)
for text in messages:
    m.append(box, None, None, text.encode())
m.select(box)
typ, data = m.fetch("1:*", "(BODYSTRUCTURE ENVELOPE RFC822.SIZE)")
out = []
for d in data:
    if isinstance(d, tuple):
        out.append(d[0].decode() + "{literal}" + d[1].decode())
    elif d != b")":
        out.append(d.decode())
m.close()
if box != "INBOX":
    m.delete(box)
m.logout()
print(json.dumps(out))
`;

const DIFFERENTIAL_MESSAGES = [
  "From: Ann <ann@example.test>\r\nTo: a@b.c, Group: x@y.z;\r\nSubject: plain\r\n" +
  "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <1@example.test>\r\n\r\nHello\r\n",
  'Subject: alt\r\nContent-Type: multipart/alternative; boundary="=_x"\r\n\r\n--=_x\r\n' +
  "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
  "caf=C3=A9\r\n--=_x\r\nContent-Type: text/html\r\nContent-ID: <c1>\r\n" +
  "Content-Description: the html\r\n\r\n<p>caf&eacute;</p>\r\n--=_x--\r\n",
  "Subject: mixed\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n\r\nfirst\r\n--m\r\n" +
  "Content-Type: application/pdf; name=x.pdf\r\nContent-Disposition: attachment; filename=x.pdf\r\n" +
  "Content-Transfer-Encoding: base64\r\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\r\nJVBERi0=\r\n" +
  "--m\r\nContent-Type: message/rfc822\r\n\r\nFrom: Inner <i@n.er>\r\nSubject: inner\r\n" +
  "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\nin\r\n" +
  "--i--\r\n--m--\r\n",
  'From: "Q. Public" <@a.example,@b.example:john@example.test>, (comment) bare@x.y (Bare)\r\n' +
  "Reply-To: undisclosed:;\r\nSubject: addresses\r\n\r\nx",
];

peerTest(
  "ImapServer ENVELOPE and BODYSTRUCTURE answer as Dovecot does for the same messages",
  1143,
  async () => {
    if (!python) return skip(PYTHON);
    const root = await Deno.makeTempDir({ prefix: "inetkit-imap-diff-" });
    try {
      await using ours = startImapServer({ store: new MaildirStore(root) });
      const run = async (port: number, box: string) => {
        const child = new Deno.Command(PYTHON, {
          args: ["-c", DIFFERENTIAL, String(port), box],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const writer = child.stdin.getWriter();
        await writer.write(encoder.encode(JSON.stringify(DIFFERENTIAL_MESSAGES)));
        await writer.close();
        const out = await child.output();
        assertEquals(out.code, 0, decoder.decode(out.stderr));
        // Dovecot puts RFC822.SIZE first; compare the items, not their order.
        return (JSON.parse(decoder.decode(out.stdout)) as string[]).map((line) => {
          const size = /RFC822\.SIZE (\d+)/.exec(line)?.[1];
          return `size ${size}: ${line.replace(/RFC822\.SIZE \d+ ?/, "").replace(/ \)$/, ")")}`;
        });
      };
      const dovecot = await run(1143, `InetkitDiff${crypto.randomUUID().slice(0, 8)}`);
      const inetkit = await run(ours.port, "INBOX");
      assertEquals(inetkit, dovecot);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);
