/**
 * inetkit's Pop3Server against real POP3 clients on this machine: Python's
 * poplib (/usr/bin/python3: USER/PASS, APOP, STLS with the test CA, CAPA,
 * UIDL, TOP, DELE committed at QUIT, UTF8), curl (pop3://, with --ssl-reqd
 * for STLS), openssl s_client -starttls pop3; and inetkit's Pop3Client.
 */
import { MemoryMailStore } from "../../mail/memory_mail_store.ts";
import { Pop3Client } from "../../mail/pop3_client.ts";
import { Pop3Server, type Pop3ServerOptions } from "../../mail/pop3_server.ts";
import { assert, assertEquals, assertStringIncludes } from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";

const USERS = { users: { mulder: "trustno1" } };
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MESSAGES = [
  "From: Fredrik Lundh <fredrik@spam.egg>\r\nSubject: ANN: the eff-bot guide\r\n\r\nbody one\r\n.dot line\r\n",
  "From: effbot@spam.egg\r\nSubject: second\r\n\r\nline 1\r\nline 2\r\nline 3\r\n",
];

interface Lab {
  server: Pop3Server;
  store: MemoryMailStore;
  dir: string;
  port: number;
}

async function withServer(
  options: Partial<Pop3ServerOptions>,
  fn: (lab: Lab) => Promise<void>,
): Promise<void> {
  const { ca } = await testCert();
  const dir = await Deno.makeTempDir({ prefix: "inetkit_pop3_interop_" });
  await Deno.writeTextFile(`${dir}/ca.pem`, ca);
  const store = new MemoryMailStore();
  for (const message of MESSAGES) await store.deliver("mulder", "INBOX", encoder.encode(message));
  const server = new Pop3Server({ store, users: USERS, authFailureDelay: 0, ...options });
  try {
    await fn({ server, store, dir, port: server.addr.port });
  } finally {
    await server.shutdown();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })
    .output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("poplib: the classic poplib example (USER, PASS, LIST, RETR) and STAT, UIDL, TOP, DELE, QUIT", async () => {
  await withServer({}, async ({ port, store }) => {
    const script = `
import poplib, sys, json
server = poplib.POP3("127.0.0.1", int(sys.argv[1]))
out = {"welcome": server.getwelcome().decode()}
out["user"] = server.user("mulder").decode()
out["pass"] = server.pass_("trustno1").decode()
resp, items, octets = server.list()
out["list"] = [resp.decode(), [i.decode() for i in items]]
out["stat"] = list(server.stat())
resp, lines, octets = server.retr(1)
out["retr"] = [resp.decode(), [l.decode() for l in lines], octets]
resp, lines, octets = server.top(2, 1)
out["top"] = [l.decode() for l in lines]
out["uidl"] = [u.decode() for u in server.uidl()[1]]
out["dele"] = server.dele(1).decode()
out["quit"] = server.quit().decode()
print(json.dumps(out))
`;
    const infos = await store.listMessages("mulder", "INBOX");
    const { code, stdout, stderr } = await run("/usr/bin/python3", ["-c", script, String(port)]);
    assertEquals(code, 0, stderr);
    const out = JSON.parse(stdout);
    const sizes = MESSAGES.map((m) => encoder.encode(m).length);
    assert(/^\+OK localhost POP3 ready <[^>]+>$/.test(out.welcome), out.welcome);
    assertEquals(out.user, "+OK");
    assertEquals(
      out.pass,
      `+OK mulder's maildrop has 2 messages (${sizes[0]! + sizes[1]!} octets)`,
    );
    assertEquals(out.list, [
      `+OK 2 messages (${sizes[0]! + sizes[1]!} octets)`,
      [`1 ${sizes[0]}`, `2 ${sizes[1]}`],
    ]);
    assertEquals(out.stat, [2, sizes[0]! + sizes[1]!]);
    // poplib un-stuffs the dot line itself.
    assertEquals(out.retr[0], `+OK ${sizes[0]} octets`);
    assertEquals(out.retr[1], [
      "From: Fredrik Lundh <fredrik@spam.egg>",
      "Subject: ANN: the eff-bot guide",
      "",
      "body one",
      ".dot line",
    ]);
    assertEquals(out.top, ["From: effbot@spam.egg", "Subject: second", "", "line 1"]);
    assertEquals(out.uidl, infos.map((m, i) => `${i + 1} ${m.uniqueId}`));
    assertEquals(out.dele, "+OK Message 1 deleted");
    assertEquals(out.quit, "+OK localhost POP3 server signing off (1 messages deleted)");
    assertEquals((await store.listMessages("mulder", "INBOX")).map((m) => m.uid), [2]);
  });
});

Deno.test("poplib: APOP, CAPA, UTF8 and a wrong password", async () => {
  await withServer({}, async ({ port }) => {
    const script = `
import poplib, sys, json
out = {}
s = poplib.POP3("127.0.0.1", int(sys.argv[1]))
out["capa"] = s.capa()
out["utf8"] = s.utf8().decode()
try:
    s.user("mulder"); s.pass_("wrong")
except poplib.error_proto as e:
    out["wrong"] = e.args[0].decode()
out["apop"] = s.apop("mulder", "trustno1").decode()
s.quit()
print(json.dumps(out))
`;
    const { code, stdout, stderr } = await run("/usr/bin/python3", ["-c", script, String(port)]);
    assertEquals(code, 0, stderr);
    const out = JSON.parse(stdout);
    assertEquals(out.capa, {
      TOP: [],
      UIDL: [],
      "RESP-CODES": [],
      "AUTH-RESP-CODE": [],
      PIPELINING: [],
      USER: [],
      SASL: ["PLAIN", "LOGIN", "CRAM-MD5"],
      UTF8: ["USER"],
      IMPLEMENTATION: ["inetkit"],
    });
    assertEquals(out.utf8, "+OK UTF8 enabled");
    assertEquals(out.wrong, "-ERR [AUTH] Authentication failed");
    assertEquals(
      out.apop,
      "+OK mulder's maildrop has 2 messages (" + MESSAGES.reduce(
        (n, m) => n + encoder.encode(m).length,
        0,
      ) + " octets)",
    );
  });
});

Deno.test("poplib: STLS verifying the test CA, then USER/PASS; in clear USER is refused", async () => {
  const { cert, key } = await testCert();
  await withServer({ cert, key }, async ({ port, dir }) => {
    const script = `
import poplib, ssl, sys, json
port, ca = int(sys.argv[1]), sys.argv[2]
out = {}
s = poplib.POP3("127.0.0.1", port)
try:
    s.user("mulder")
except poplib.error_proto as e:
    out["clear"] = e.args[0].decode()
out["stls"] = s.stls(context=ssl.create_default_context(cafile=ca)).decode()
out["version"] = s.sock.version()
out["capa"] = sorted(s.capa().keys())
s.user("mulder")
out["pass"] = s.pass_("trustno1").decode()
out["retr"] = [l.decode() for l in s.retr(2)[1]]
s.quit()
print(json.dumps(out))
`;
    const { code, stdout, stderr } = await run("/usr/bin/python3", [
      "-c",
      script,
      String(port),
      `${dir}/ca.pem`,
    ]);
    assertEquals(code, 0, stderr);
    const out = JSON.parse(stdout);
    assertEquals(out.clear, "-ERR [AUTH] Plaintext authentication needs TLS: use STLS first");
    assertEquals(out.stls, "+OK Begin TLS negotiation");
    assert(/^TLSv1\.[23]$/.test(out.version));
    assert(out.capa.includes("USER") && !out.capa.includes("STLS"), out.capa.join(" "));
    assertStringIncludes(out.pass, "+OK mulder's maildrop has 2 messages");
    assertEquals(out.retr.slice(-3), ["line 1", "line 2", "line 3"]);
  });
});

Deno.test("curl pop3:// lists and retrieves messages", async () => {
  await withServer({}, async ({ port, store }) => {
    const base = `pop3://mulder:trustno1@127.0.0.1:${port}`;
    const list = await run("curl", ["-sS", "--noproxy", "*", `${base}/`]);
    assertEquals(list.code, 0, list.stderr);
    const sizes = MESSAGES.map((m) => encoder.encode(m).length);
    assertEquals(list.stdout, `1 ${sizes[0]}\r\n2 ${sizes[1]}\r\n`);
    const retr = await run("curl", ["-sS", "--noproxy", "*", `${base}/1`]);
    assertEquals(retr.code, 0, retr.stderr);
    assertEquals(retr.stdout, MESSAGES[0]);
    // curl's DELE: the message goes at its QUIT.
    const dele = await run("curl", ["-sS", "--noproxy", "*", "-X", "DELE", "-I", `${base}/2`]);
    assertEquals(dele.code, 0, dele.stderr);
    assertEquals((await store.listMessages("mulder", "INBOX")).length, 1);
  });
});

Deno.test("curl pop3:// with --ssl-reqd upgrades with STLS and verifies the CA", async () => {
  const { cert, key } = await testCert();
  await withServer({ cert, key }, async ({ port, dir }) => {
    const retr = await run("curl", [
      "-sS",
      "--noproxy",
      "*",
      "--ssl-reqd",
      "--cacert",
      `${dir}/ca.pem`,
      `pop3://mulder:trustno1@127.0.0.1:${port}/2`,
    ]);
    assertEquals(retr.code, 0, retr.stderr);
    assertEquals(retr.stdout, MESSAGES[1]);
    const refused = await run("curl", [
      "-sS",
      "--noproxy",
      "*",
      "--ssl-reqd",
      `pop3://mulder:trustno1@127.0.0.1:${port}/2`,
    ]);
    assert(refused.code !== 0, "curl accepted an unverified certificate");
  });
});

Deno.test("openssl s_client -starttls pop3 verifies the test CA and sees USER after STLS", async () => {
  const { cert, key } = await testCert();
  await withServer({ cert, key }, async ({ port, dir }) => {
    const child = new Deno.Command("openssl", {
      args: [
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-starttls",
        "pop3",
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
    await writer.write(encoder.encode("CAPA\r\nUSER mulder\r\nPASS trustno1\r\nSTAT\r\nQUIT\r\n"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await writer.close();
    const out = await child.output();
    const stdout = decoder.decode(out.stdout);
    assertStringIncludes(decoder.decode(out.stderr), "Verification: OK");
    assertStringIncludes(
      stdout,
      "PIPELINING\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5\r\nUTF8 USER\r\n",
    );
    assertStringIncludes(stdout, "+OK mulder's maildrop has 2 messages");
    assertStringIncludes(stdout, "+OK localhost POP3 server signing off (0 messages deleted)\r\n");
  });
});

Deno.test("Pop3Client logs in to Pop3Server with USER, APOP and SASL and reads the maildrop", async () => {
  await withServer({}, async ({ port }) => {
    for (const mechanism of ["USER", "APOP", "PLAIN", "LOGIN", "CRAM-MD5"]) {
      await using pop3 = await Pop3Client.connect({
        port,
        credentials: { username: "mulder", password: "trustno1" },
        mechanism,
      });
      const stat = await pop3.stat();
      assertEquals(stat.count, 2, mechanism);
      const text = await new Response(await pop3.retr(1)).text();
      assertEquals(text, MESSAGES[0], mechanism);
      await pop3.quit();
    }
  });
});
