/**
 * inetkit's SmtpServer against real SMTP clients installed on this machine:
 * Python's smtplib (/usr/bin/python3), curl (smtp://), swaks (pipelining,
 * STARTTLS verified against the test CA, AUTH PLAIN/LOGIN/CRAM-MD5, LMTP)
 * and openssl s_client -starttls smtp; and inetkit's own SmtpClient with
 * PIPELINING, CHUNKING, DSN, SMTPUTF8 and LMTP. None of these clients but
 * SmtpClient speaks BDAT (swaks 20201014 has no CHUNKING option).
 */
import { MemoryMailStore } from "../../mail/memory_mail_store.ts";
import { SmtpClient } from "../../mail/smtp_client.ts";
import {
  SmtpServer,
  type SmtpServerEnvelope,
  type SmtpServerLogEvent,
  type SmtpServerOptions,
} from "../../mail/smtp_server.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";

const USERS = { users: { mulder: "trustno1", scully: "queequeg" } };
const decoder = new TextDecoder();

interface Lab {
  server: SmtpServer;
  store: MemoryMailStore;
  logs: SmtpServerLogEvent[];
  dir: string;
  port: number;
}

/** A server (store by local part) and a temp dir holding ca.pem. */
async function withServer(
  options: Partial<SmtpServerOptions>,
  fn: (lab: Lab) => Promise<void>,
): Promise<void> {
  const { ca } = await testCert();
  const dir = await Deno.makeTempDir({ prefix: "inetkit_smtp_interop_" });
  await Deno.writeTextFile(`${dir}/ca.pem`, ca);
  const store = new MemoryMailStore();
  const logs: SmtpServerLogEvent[] = [];
  const server = new SmtpServer({
    store,
    users: USERS,
    authFailureDelay: 0,
    onLog: (event) => logs.push(event),
    ...options,
  } as SmtpServerOptions);
  try {
    await fn({ server, store, logs, dir, port: server.addr.port });
  } finally {
    await server.shutdown();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function tlsOptions(): Promise<{ cert: string; key: string }> {
  const { cert, key } = await testCert();
  return { cert, key };
}

async function run(
  cmd: string,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function python(script: string, ...args: string[]) {
  return run("/usr/bin/python3", ["-c", script, ...args]);
}

async function texts(store: MemoryMailStore, user: string): Promise<string[]> {
  const out: string[] = [];
  for (const info of await store.listMessages(user, "INBOX")) {
    out.push(await new Response(await store.readMessage(user, "INBOX", info.uid)).text());
  }
  return out;
}

/** The message without the Received field. */
function body(text: string): string {
  return text.slice(text.indexOf(";\r\n\t") + 4).replace(/^[^\r]*\r\n/, "");
}

// ---- Python smtplib ----

Deno.test("smtplib.sendmail() through SmtpServer: recipients refused by name are reported, the rest delivered", async () => {
  await withServer({}, async ({ port, store }) => {
    const script = `
import smtplib, sys, json
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="py.example")
code, msg = s.ehlo()
features = sorted(s.esmtp_features)
msg = "From: effbot@spam.egg\\nTo: mulder@spam.egg\\nSubject: hi\\n\\n.dotted\\nlast"
refused = s.sendmail("effbot@spam.egg", ["mulder@spam.egg", "nobody@spam.egg", "scully@spam.egg"], msg)
print(json.dumps({"code": code, "features": features, "refused": {k: [v[0], v[1].decode()] for k, v in refused.items()}}))
print(s.quit()[0])
`;
    const { code, stdout, stderr } = await python(script, String(port));
    assertEquals(code, 0, stderr);
    const [json, quit] = stdout.trim().split("\n");
    const result = JSON.parse(json!);
    assertEquals(result.code, 250);
    assertEquals(result.features, [
      "8bitmime",
      "auth",
      "chunking",
      "dsn",
      "enhancedstatuscodes",
      "pipelining",
      "size",
      "smtputf8",
    ]);
    assertEquals(result.refused, {
      "nobody@spam.egg": [550, "5.1.1 <nobody@spam.egg>: Recipient address rejected: User unknown"],
    });
    assertEquals(quit, "221");
    const expected =
      "From: effbot@spam.egg\r\nTo: mulder@spam.egg\r\nSubject: hi\r\n\r\n.dotted\r\nlast\r\n";
    assertEquals((await texts(store, "mulder")).map(body), [expected]);
    assertEquals((await texts(store, "scully")).map(body), [expected]);
    assertMatch(
      (await texts(store, "mulder"))[0]!,
      /^Received: from py\.example \(\[127\.0\.0\.1\]\)/,
    );
  });
});

Deno.test("smtplib STARTTLS verifying the test CA, then login() with CRAM-MD5, PLAIN and LOGIN", async () => {
  await withServer(await tlsOptions(), async ({ port, dir, store, logs }) => {
    const script = `
import smtplib, ssl, sys, json
port, ca = int(sys.argv[1]), sys.argv[2]
out = {}
for mech in ["CRAM-MD5", "PLAIN", "LOGIN"]:
    s = smtplib.SMTP("127.0.0.1", port)
    s.ehlo()
    before = "auth" in s.esmtp_features
    s.starttls(context=ssl.create_default_context(cafile=ca))
    s.ehlo()
    s.user, s.password = "mulder", "trustno1"
    code, _ = s.auth(mech, getattr(s, "auth_" + mech.lower().replace("-", "_")))
    s.sendmail("a@spam.egg", ["scully@spam.egg"], "Subject: " + mech + "\\r\\n\\r\\nx\\r\\n")
    out[mech] = [before, s.esmtp_features.get("auth").strip(), code, s.sock.version()]
    s.quit()
try:
    s = smtplib.SMTP("127.0.0.1", port)
    s.login("mulder", "trustno1")
except smtplib.SMTPNotSupportedError:
    out["clear"] = "refused"
print(json.dumps(out))
`;
    const { code, stdout, stderr } = await python(script, String(port), `${dir}/ca.pem`);
    assertEquals(code, 0, stderr);
    const out = JSON.parse(stdout);
    for (const mech of ["CRAM-MD5", "PLAIN", "LOGIN"]) {
      assertEquals(out[mech].slice(0, 3), [false, "PLAIN LOGIN CRAM-MD5", 235], mech);
      assertMatch(out[mech][3], /^TLSv1\.[23]$/);
    }
    assertEquals(out.clear, "refused");
    assertEquals((await texts(store, "scully")).length, 3);
    assertEquals(
      logs.filter((e) => e.type === "login").map((e) => e.text.split(" ").slice(-1)[0]),
      [
        "(CRAM-MD5)",
        "(PLAIN)",
        "(LOGIN)",
      ],
    );
  });
});

Deno.test("smtplib with SMTPUTF8 and BODY=8BITMIME delivers non-ASCII addresses and content", async () => {
  const seen: [SmtpServerEnvelope, string][] = [];
  await withServer({
    store: undefined,
    onMessage: async (envelope, message) => {
      seen.push([envelope, await new Response(message).text()]);
    },
  }, async ({ port }) => {
    const script = `
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.ehlo()
msg = "From: dana@exämple.test\\r\\nSubject: grüße\\r\\n\\r\\nÄpfel\\r\\n".encode()
print(s.sendmail("dana@exämple.test", ["fox@exämple.test"], msg, mail_options=["SMTPUTF8", "BODY=8BITMIME"]))
s.quit()
`;
    const { code, stderr } = await python(script, String(port));
    assertEquals(code, 0, stderr);
  });
  const [envelope, text] = seen[0]!;
  assertEquals(envelope.from, "dana@exämple.test");
  assertEquals(envelope.to, ["fox@exämple.test"]);
  assertEquals(envelope.smtputf8, true);
  assertEquals(envelope.body, "8BITMIME");
  assertStringIncludes(text, "with UTF8SMTP id ");
  assert(text.endsWith("From: dana@exämple.test\r\nSubject: grüße\r\n\r\nÄpfel\r\n"));
});

Deno.test("smtplib.LMTP delivers through SmtpServer in LMTP mode", async () => {
  await withServer({ lmtp: true }, async ({ port, store }) => {
    const script = `
import smtplib, sys
s = smtplib.LMTP("127.0.0.1", int(sys.argv[1]))
print(s.ehlo_or_helo_if_needed(), s.does_esmtp, "chunking" in s.esmtp_features)
print(s.sendmail("a@spam.egg", ["mulder@spam.egg"], "Subject: lmtp\\r\\n\\r\\nx\\r\\n"))
print(s.quit()[0])
`;
    const { code, stdout, stderr } = await python(script, String(port));
    assertEquals(code, 0, stderr);
    assertEquals(stdout, "None True True\n{}\n221\n");
    assertStringIncludes((await texts(store, "mulder"))[0]!, "with LMTP id ");
  });
});

// ---- curl ----

Deno.test("curl smtp:// uploads a message (--mail-from, --mail-rcpt, -T); a bare LF dot line stays content", async () => {
  await withServer({}, async ({ port, dir, store, logs }) => {
    const smuggle =
      "Subject: curl\r\n\r\nhello\n.\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<scully@spam.egg>\r\n" +
      "DATA\r\nSubject: smuggled\r\n\r\nevil\r\n";
    await Deno.writeTextFile(`${dir}/message.txt`, smuggle);
    const { code, stderr } = await run("curl", [
      "-sS",
      "--noproxy",
      "*",
      `smtp://127.0.0.1:${port}`,
      "--mail-from",
      "curl@spam.egg",
      "--mail-rcpt",
      "mulder@spam.egg",
      "-T",
      `${dir}/message.txt`,
    ]);
    assertEquals(code, 0, stderr);
    const stored = await texts(store, "mulder");
    assertEquals(stored.length, 1);
    assertStringIncludes(stored[0]!, "Subject: smuggled");
    assertEquals(await texts(store, "scully"), []);
    assertEquals(logs.filter((e) => e.type === "message").length, 1);
  });
});

Deno.test("curl smtp:// with --ssl-reqd verifies the CA and logs in after STARTTLS", async () => {
  await withServer(await tlsOptions(), async ({ port, dir, store, logs }) => {
    await Deno.writeTextFile(`${dir}/message.txt`, "Subject: curl tls\r\n\r\nsecret\r\n");
    const { code, stderr } = await run("curl", [
      "-sS",
      "--noproxy",
      "*",
      `smtp://127.0.0.1:${port}`,
      "--ssl-reqd",
      "--cacert",
      `${dir}/ca.pem`,
      "--user",
      "mulder:trustno1",
      "--mail-from",
      "curl@spam.egg",
      "--mail-rcpt",
      "scully@spam.egg",
      "-T",
      `${dir}/message.txt`,
    ]);
    assertEquals(code, 0, stderr);
    assertEquals((await texts(store, "scully")).map(body), ["Subject: curl tls\r\n\r\nsecret\r\n"]);
    assert(logs.some((e) => e.type === "tls"));
    assert(logs.some((e) => e.type === "login" && e.user === "mulder"));
  });
});

// ---- swaks ----

Deno.test("swaks --pipeline sends MAIL, RCPT and DATA in one group", async () => {
  await withServer({}, async ({ port, store }) => {
    const { code, stdout, stderr } = await run("swaks", [
      "--server",
      `127.0.0.1:${port}`,
      "--from",
      "swaks@spam.egg",
      "--to",
      "mulder@spam.egg,scully@spam.egg",
      "--pipeline",
      "--body",
      "piped",
    ]);
    assertEquals(code, 0, stderr + stdout);
    // The three commands went out before the first of their replies came back.
    assertMatch(
      stdout,
      / -> MAIL FROM:<swaks@spam\.egg>\n -> RCPT TO:<mulder@spam\.egg>\n -> RCPT TO:<scully@spam\.egg>\n -> DATA\n<- {2}250 2\.1\.0 Ok\n/,
    );
    assertMatch(stdout, /<- {2}250 2\.0\.0 Ok: queued as [0-9A-F]{12}\n/);
    assertEquals((await texts(store, "mulder")).length, 1);
    assertEquals((await texts(store, "scully")).length, 1);
  });
});

for (const mechanism of ["PLAIN", "LOGIN", "CRAM-MD5"]) {
  Deno.test(`swaks --tls --tls-verify --auth ${mechanism} logs in after a verified STARTTLS`, async () => {
    await withServer(await tlsOptions(), async ({ port, dir, store }) => {
      const { code, stdout, stderr } = await run("swaks", [
        "--server",
        `127.0.0.1:${port}`,
        "--from",
        "swaks@spam.egg",
        "--to",
        "scully@spam.egg",
        "--tls",
        "--tls-verify",
        "--tls-ca-path",
        `${dir}/ca.pem`,
        "--auth",
        mechanism,
        "--auth-user",
        "mulder",
        "--auth-password",
        "trustno1",
      ]);
      assertEquals(code, 0, stderr + stdout);
      assertStringIncludes(stdout, "<-  220 2.0.0 Ready to start TLS");
      // After TLS swaks marks the lines with ~ instead of -.
      assertStringIncludes(stdout, "<~  250 AUTH PLAIN LOGIN CRAM-MD5");
      assertStringIncludes(stdout, "<~  235 2.7.0 Authentication successful");
      assertStringIncludes((await texts(store, "scully"))[0]!, "with ESMTPSA id ");
    });
  });
}

Deno.test("swaks --auth with a wrong password gets 535 5.7.8", async () => {
  await withServer({}, async ({ port }) => {
    const { code, stdout } = await run("swaks", [
      "--server",
      `127.0.0.1:${port}`,
      "--to",
      "mulder@spam.egg",
      "--auth",
      "PLAIN",
      "--auth-user",
      "mulder",
      "--auth-password",
      "wrong",
    ]);
    assert(code !== 0);
    assertStringIncludes(stdout, "<** 535 5.7.8 Error: authentication failed");
  });
});

Deno.test("swaks --protocol LMTP gets a reply per recipient", async () => {
  await withServer({ lmtp: true }, async ({ port }) => {
    const { code, stdout, stderr } = await run("swaks", [
      "--server",
      `127.0.0.1:${port}`,
      "--protocol",
      "LMTP",
      "--to",
      "mulder@spam.egg,scully@spam.egg",
    ]);
    assertEquals(code, 0, stderr + stdout);
    assertMatch(stdout, / -> LHLO /);
    assertMatch(stdout, /<- {2}250 2\.0\.0 <mulder@spam\.egg> Ok: queued as [0-9A-F]{12}\n/);
    assertMatch(stdout, /<- {2}250 2\.0\.0 <scully@spam\.egg> Ok: queued as [0-9A-F]{12}\n/);
  });
});

// ---- openssl s_client ----

Deno.test("openssl s_client -starttls smtp verifies the test CA and sees AUTH after TLS", async () => {
  await withServer(await tlsOptions(), async ({ port, dir }) => {
    const child = new Deno.Command("openssl", {
      args: [
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-starttls",
        "smtp",
        "-CAfile",
        `${dir}/ca.pem`,
        "-verify_return_error",
        "-verify_ip",
        "127.0.0.1",
        "-brief",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await new Promise((resolve) => setTimeout(resolve, 700));
    await writer.write(new TextEncoder().encode("EHLO openssl\r\nQUIT\r\n"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await writer.close();
    const out = await child.output();
    const stdout = decoder.decode(out.stdout);
    const stderr = decoder.decode(out.stderr);
    assertStringIncludes(stderr, "Verification: OK");
    assertStringIncludes(stdout, "250-DSN\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n");
    assertStringIncludes(stdout, "221 2.0.0 Bye\r\n");
  });
});

// ---- inetkit's SmtpClient ----

Deno.test("SmtpClient against SmtpServer: PIPELINING and CHUNKING (BDAT), DSN and SMTPUTF8", async () => {
  const seen: [SmtpServerEnvelope, string][] = [];
  await withServer({
    store: undefined,
    received: false,
    onMessage: async (envelope, message) => {
      seen.push([envelope, await new Response(message).text()]);
    },
  }, async ({ port }) => {
    const sent: string[] = [];
    await using smtp = await SmtpClient.connect({ port, debug: (line) => sent.push(line) });
    const big = "Subject: chunked\r\n\r\n" + "x".repeat(2000) + "\r\n.not a terminator\r\n";
    await smtp.send(
      { from: "dana@exämple.test", to: ["fox@example.test", "skinner@example.test"] },
      big,
      {
        chunking: true,
        notify: ["SUCCESS", "FAILURE"],
        envelopeId: "id+1",
        dsnReturn: "HDRS",
      },
    );
    assert(sent.some((line) => /BDAT \d+ LAST/.test(line)), sent.join("\n"));
    await smtp.send(
      { from: "a@example.test", to: ["b@example.test"] },
      "Subject: data\r\n\r\n.\r\n",
      {
        chunking: false,
      },
    );
    assert(sent.some((line) => /^C: DATA|DATA$/.test(line)), sent.join("\n"));
    const [first, second] = seen;
    assertEquals(first![1], big);
    assertEquals(first![0].smtputf8, true);
    assertEquals(first![0].envelopeId, "id+1");
    assertEquals(first![0].dsnReturn, "HDRS");
    assertEquals(first![0].recipients.map((r) => r.notify), [["SUCCESS", "FAILURE"], [
      "SUCCESS",
      "FAILURE",
    ]]);
    assertEquals(second![1], "Subject: data\r\n\r\n.\r\n");
  });
});

Deno.test("SmtpClient in LMTP mode gets per-recipient results from SmtpServer", async () => {
  await withServer({
    lmtp: true,
    users: undefined,
    recipientUser: (address) => address.startsWith("broken") ? "bad/name" : "mulder",
    onError: () => {},
  }, async ({ port }) => {
    await using smtp = await SmtpClient.connect({ port, lmtp: true });
    const result = await smtp.send(
      { from: "a@example.test", to: ["one@example.test", "broken@example.test"] },
      "Subject: lmtp\r\n\r\nx\r\n",
    );
    assertEquals(result.accepted, ["one@example.test"]);
    assertEquals(result.refused.get("broken@example.test")?.code, 451);
  });
});
