/**
 * ImapClient.connect() over loopback TCP against scripted servers: STARTTLS
 * with the capabilities re-read, requireTls, certificate checks, UTF8=ACCEPT.
 *
 * @module
 */
import { ImapClient } from "../../mail/imap_client.ts";
import { ImapError } from "../../mail/imap_error.ts";
import { MissingExtensionError } from "../../net/missing_extension_error.ts";
import { assert, assertEquals, assertInstanceOf, assertRejects } from "../_helpers/assert.ts";
import { fakeServer, type FakeSession, testCa } from "./_imap_client_servers.ts";

interface Behaviour {
  /** Capabilities before TLS (in the greeting). */
  clear: string;
  /** Capabilities after TLS. */
  secure?: string;
  /** The answer to STARTTLS: "OK" upgrades. */
  starttls?: "OK" | "NO";
}

/** A small IMAP server: greeting, CAPABILITY, STARTTLS, AUTHENTICATE/LOGIN, ENABLE, LOGOUT. */
function imapSession(b: Behaviour) {
  return async (s: FakeSession) => {
    await s.send(`* OK [CAPABILITY ${b.clear}] fake ready\r\n`);
    for (;;) {
      const line = await s.readLine();
      if (line === null) return;
      const [tag, verb = ""] = line.split(" ");
      const command = verb.toUpperCase();
      if (command === "CAPABILITY") {
        await s.send(`* CAPABILITY ${s.tls ? b.secure ?? b.clear : b.clear}\r\n${tag} OK\r\n`);
      } else if (command === "STARTTLS") {
        if (b.starttls === "NO") {
          await s.send(`${tag} NO [UNAVAILABLE] TLS is broken today\r\n`);
          continue;
        }
        await s.send(`${tag} OK Begin TLS negotiation now\r\n`);
        try {
          await s.startTls();
        } catch {
          return;
        }
      } else if (command === "AUTHENTICATE" || command === "LOGIN") {
        await s.send(`${tag} OK [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT IDLE] Logged in\r\n`);
      } else if (command === "ENABLE") {
        await s.send(`* ENABLED UTF8=ACCEPT\r\n${tag} OK\r\n`);
      } else if (command === "LOGOUT") {
        await s.send(`* BYE bye\r\n${tag} OK\r\n`);
        return;
      } else await s.send(`${tag} BAD unknown\r\n`);
    }
  };
}

const CREDENTIALS = { username: "mulder", password: "trustno1" };

Deno.test("ImapClient.connect() upgrades with STARTTLS, re-reads the capabilities, then logs in", async () => {
  await using server = await fakeServer(imapSession({
    clear: "IMAP4rev1 STARTTLS SASL-IR AUTH=X-FORGED LOGINDISABLED",
    secure: "IMAP4rev1 SASL-IR AUTH=PLAIN",
  }));
  const imap = await ImapClient.connect({
    port: server.port,
    serverName: "localhost",
    caCerts: await testCa(),
    credentials: CREDENTIALS,
  });
  assert(imap.tls);
  assert(imap.authenticated);
  await imap.logout();
  await server.finished();
  assertEquals(server.sessions[0]!.received, [
    "A1 STARTTLS",
    "A2 CAPABILITY",
    "A3 AUTHENTICATE PLAIN AG11bGRlcgB0cnVzdG5vMQ==",
    "A4 LOGOUT",
  ]);
});

Deno.test("ImapClient.connect() with requireTls sends nothing when STARTTLS is not offered", async () => {
  await using server = await fakeServer(imapSession({ clear: "IMAP4rev1 AUTH=PLAIN" }));
  const error = await assertRejects(
    () => ImapClient.connect({ port: server.port, requireTls: true, credentials: CREDENTIALS }),
    MissingExtensionError,
  );
  assertEquals(error.extension, "STARTTLS");
  await server.finished();
  assertEquals(server.sessions[0]!.received, []);
});

Deno.test("ImapClient.connect() with requireTls sends nothing after a refused STARTTLS", async () => {
  await using server = await fakeServer(
    imapSession({ clear: "IMAP4rev1 STARTTLS AUTH=PLAIN", starttls: "NO" }),
  );
  const error = await assertRejects(
    () => ImapClient.connect({ port: server.port, requireTls: true, credentials: CREDENTIALS }),
  );
  assertInstanceOf(error, ImapError);
  await server.finished();
  assertEquals(server.sessions[0]!.received, ["A1 STARTTLS"]);
});

Deno.test("ImapClient.connect() goes on in clear after a refused opportunistic STARTTLS (loopback)", async () => {
  await using server = await fakeServer(
    imapSession({ clear: "IMAP4rev1 STARTTLS AUTH=PLAIN", starttls: "NO" }),
  );
  const imap = await ImapClient.connect({ port: server.port, credentials: CREDENTIALS });
  assert(!imap.tls && imap.authenticated);
  await imap.logout();
  await server.finished();
  assertEquals(server.sessions[0]!.received.map((l) => l.split(" ").slice(0, 2).join(" ")), [
    "A1 STARTTLS",
    "A2 AUTHENTICATE",
    "A3 LOGOUT",
  ]);
});

Deno.test("ImapClient.connect() fails on an untrusted STARTTLS certificate, never falling back", async () => {
  await using server = await fakeServer(imapSession({ clear: "IMAP4rev1 STARTTLS AUTH=PLAIN" }));
  await assertRejects(() =>
    ImapClient.connect({ port: server.port, serverName: "localhost", credentials: CREDENTIALS })
  );
  await server.finished();
  assertEquals(server.sessions[0]!.received, ["A1 STARTTLS"]);
});

Deno.test("ImapClient.connect() with tls: false stays in clear though STARTTLS is offered", async () => {
  for (const off of [{ tls: false }, { starttls: false }]) {
    await using server = await fakeServer(imapSession({ clear: "IMAP4rev1 STARTTLS AUTH=PLAIN" }));
    const imap = await ImapClient.connect({ port: server.port, ...off, credentials: CREDENTIALS });
    assert(!imap.tls);
    await imap.logout();
    await server.finished();
    const verbs = server.sessions[0]!.received.map((l) => l.split(" ")[1]);
    assert(!verbs.includes("STARTTLS"), verbs.join(" "));
  }
});

Deno.test("ImapClient.connect() with utf8 enables UTF8=ACCEPT after login when offered", async () => {
  await using server = await fakeServer(imapSession({ clear: "IMAP4rev1 AUTH=PLAIN" }));
  const imap = await ImapClient.connect({
    port: server.port,
    tls: false,
    utf8: true,
    credentials: CREDENTIALS,
  });
  assert(imap.utf8);
  await imap.logout();
  await server.finished();
  assertEquals(server.sessions[0]!.received.slice(1), ["A2 ENABLE UTF8=ACCEPT", "A3 LOGOUT"]);
});

Deno.test("ImapClient.connect() over implicit TLS verifies the certificate", async () => {
  // The fake server speaks TLS after the client's first bytes; a direct TLS
  // dial to it shows the certificate check (an untrusted CA fails).
  await using server = await fakeServer(async (s) => {
    await s.startTls().catch(() => {});
  });
  await assertRejects(() =>
    ImapClient.connect({ port: server.port, tls: true, serverName: "localhost" })
  );
  await server.finished();
});
