/**
 * Server-side STARTTLS through node:tls, driven by inetkit's own client,
 * Python's ssl and openssl s_client -starttls smtp.
 */
import { readReply } from "../../net/reply.ts";
import { formatReply } from "../../net/reply_writer.ts";
import { startTlsServer } from "../../net/start_tls_server.ts";
import { TcpServer } from "../../net/tcp_server.ts";
import { TextConn } from "../../net/text_conn.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";

const encoder = new TextEncoder();

/** A tiny SMTP-shaped server: 220, EHLO, STARTTLS, EHLO over TLS, QUIT. */
async function smtpLikeServer(events: string[]) {
  const { cert, key } = await testCert();
  return new TcpServer({ port: 0, idleTimeout: 5000 }, async (conn, info) => {
    const text = new TextConn(conn, { progress: info.deadline });
    const reply = (code: number, lines: string | string[]) =>
      text.writer.write(encoder.encode(formatReply(code, lines)));
    await reply(220, "test ESMTP");
    for (;;) {
      const line = await text.reader.readLine({ maxLength: 512 });
      if (line === null) return;
      const verb = line.split(" ")[0]!.toUpperCase();
      if (verb === "EHLO") {
        await reply(250, text.tls ? ["hello", "AUTH PLAIN"] : ["hello", "STARTTLS"]);
      } else if (verb === "STARTTLS" && !text.tls) {
        if (text.reader.buffered > 0) {
          events.push("injection refused");
          await reply(554, "5.5.1 Pipelined data after STARTTLS");
          return;
        }
        await reply(220, "Ready to start TLS");
        const tls = await startTlsServer(text.detach(), { cert, key });
        events.push(`upgraded ${tls.tlsVersion}`);
        text.adoptTls(tls);
      } else if (verb === "QUIT") {
        await reply(221, "bye");
        return;
      } else {
        await reply(500, "unknown");
      }
    }
  });
}

Deno.test("startTlsServer() upgrades a connection that TextConn.startTls() verifies with caCerts", async () => {
  const events: string[] = [];
  await using server = await smtpLikeServer(events);
  const { ca } = await testCert();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await using text = new TextConn(conn);
  await text.run(async () => {
    await readReply(text.reader, { expect: 220 });
    await text.writer.writeLine("STARTTLS");
    await readReply(text.reader, { expect: 220 });
    await text.startTls({ hostname: "localhost", caCerts: [ca] });
  }, { timeout: 5000 });
  assert(text.tls);
  const reply = await text.run(async () => {
    await text.writer.writeLine("EHLO client");
    return await readReply(text.reader, { expect: 250 });
  }, { timeout: 5000 });
  assertEquals(reply.lines, ["hello", "AUTH PLAIN"]);
  await text.run(async () => {
    await text.writer.writeLine("QUIT");
    await readReply(text.reader, { expect: 221 });
  });
  assertEquals(events, ["upgraded TLSv1.3"]);
});

Deno.test("startTlsServer() talks to Python's ssl client", async () => {
  const events: string[] = [];
  await using server = await smtpLikeServer(events);
  const { ca } = await testCert();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, ca);
    const script = `
import smtplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="py")
s._host = "localhost"
s.starttls(context=ctx)
code, msg = s.ehlo()
print(code, msg.decode().replace("\\n", "|"), s.sock.version())
s.quit()
`;
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", script, String(server.addr.port), `${dir}/ca.pem`],
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertStringIncludes(stdout, "250 hello|AUTH PLAIN TLSv1.3");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startTlsServer() talks to openssl s_client -starttls smtp", async () => {
  const events: string[] = [];
  await using server = await smtpLikeServer(events);
  const { ca } = await testCert();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, ca);
    const child = new Deno.Command("openssl", {
      args: [
        "s_client",
        "-connect",
        `127.0.0.1:${server.addr.port}`,
        "-starttls",
        "smtp",
        "-servername",
        "localhost",
        "-verify_return_error",
        "-CAfile",
        `${dir}/ca.pem`,
        "-quiet",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await new Promise((r) => setTimeout(r, 500));
    await writer.write(encoder.encode("EHLO openssl\r\nQUIT\r\n"));
    await writer.close();
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    assertStringIncludes(stdout, "250-hello\r\n250 AUTH PLAIN");
    assertStringIncludes(stdout, "221 bye");
    assertEquals(events, ["upgraded TLSv1.3"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server STARTTLS refuses bytes pipelined after the STARTTLS command", async () => {
  const events: string[] = [];
  await using server = await smtpLikeServer(events);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await using text = new TextConn(conn);
  const reply = await text.run(async () => {
    await readReply(text.reader, { expect: 220 });
    await text.writer.write(encoder.encode("STARTTLS\r\nEHLO injected\r\n"));
    return await readReply(text.reader);
  }, { timeout: 5000 });
  assertEquals(reply.code, 554);
  assertEquals(events, ["injection refused"]);
});

Deno.test("TextConn.detach() refuses to hand over a connection with buffered bytes", async () => {
  const text = new TextConn({
    readable: ReadableStream.from([encoder.encode("STARTTLS\r\nEHLO x\r\n")]),
    writable: new WritableStream(),
    close() {},
  });
  assertEquals(await text.reader.readLine(), "STARTTLS");
  const error = assertThrows(() => text.detach(), ProtocolError);
  assertEquals(error.code, "STARTTLS_INJECTION");
  assert(text.closed);
});
