/**
 * The one loopback rule for passwords sent readable, the same in every
 * client: the connection's real peer decides, a loopback-looking server
 * name over a connection to another host does not count, and IPv4-mapped
 * 127.0.0.0/8 is loopback.
 */
import { isLoopbackName, isLoopbackPeer } from "../../net/_loopback.ts";
import { FtpClient } from "../../net/ftp_client.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { TelnetClient } from "../../net/telnet_client.ts";
import { ImapClient } from "../../mail/imap_client.ts";
import { NntpClient } from "../../mail/nntp_client.ts";
import { Pop3Client } from "../../mail/pop3_client.ts";
import { MissingExtensionError } from "../../net/missing_extension_error.ts";
import { assert, assertEquals, assertFalse, assertRejects } from "../_helpers/assert.ts";
import { ScriptedPeer, type ScriptStep } from "../_helpers/scripted_peer.ts";

const REMOTE = "192.0.2.7";
const CREDENTIALS = { username: "mulder", password: "trustno1" };

/** A scripted peer that says it is at `hostname`. */
function at(hostname: string, steps: ScriptStep[]) {
  const peer = new ScriptedPeer(steps);
  const conn = {
    readable: peer.readable,
    writable: peer.writable,
    close: () => peer.close(),
    remoteAddr: { transport: "tcp" as const, hostname, port: 4000 },
  };
  return { peer, conn };
}

Deno.test("isLoopbackName() knows localhost, 127/8, ::1 and ::ffff:127/8, nothing else", () => {
  for (const name of ["localhost", "LOCALHOST", "127.0.0.1", "127.255.0.9", "::1", "[::1]"]) {
    assert(isLoopbackName(name), name);
  }
  assert(isLoopbackName("::ffff:127.0.0.1"));
  for (
    const name of [
      undefined,
      "",
      "192.0.2.7",
      "localhost.example.org",
      "128.0.0.1",
      "::2",
      "::ffff:10.0.0.1",
      "127.0.0.1.nip.io",
    ]
  ) {
    assertFalse(isLoopbackName(name), String(name));
  }
});

Deno.test("isLoopbackPeer() judges by the peer address; the name must agree with it", () => {
  const conn = (hostname?: string) => ({
    readable: new ReadableStream<Uint8Array>(),
    writable: new WritableStream<Uint8Array>(),
    close() {},
    ...(hostname === undefined
      ? {}
      : { remoteAddr: { transport: "tcp" as const, hostname, port: 1 } }),
  });
  assert(isLoopbackPeer(conn("127.0.0.1"), undefined));
  assert(isLoopbackPeer(conn("127.0.0.1"), "localhost"));
  assert(isLoopbackPeer(conn("::ffff:127.0.0.1"), "::ffff:127.0.0.1"));
  assert(isLoopbackPeer(conn("::1"), "::1"));
  // A loopback name over a connection to another host.
  assertFalse(isLoopbackPeer(conn(REMOTE), "localhost"));
  // A loopback peer reached under a name that is not loopback (a tunnel, a proxy).
  assertFalse(isLoopbackPeer(conn("127.0.0.1"), "mail.example.org"));
  // An in-memory transport: only the name is known.
  assert(isLoopbackPeer(conn(), "localhost"));
  assertFalse(isLoopbackPeer(conn(), "mail.example.org"));
  assertFalse(isLoopbackPeer(conn(), undefined));
});

Deno.test("Pop3Client sends no USER/PASS in clear to a remote peer named localhost", async () => {
  const { peer, conn } = at(REMOTE, [{ send: "+OK ready\r\n" }]);
  const pop = new Pop3Client(conn, { serverName: "localhost", timeout: 2000 });
  await assertRejects(() => pop.user("mulder"), TypeError, "without TLS");
  assertEquals(peer.written, "");
  pop.close();
});

Deno.test("Pop3Client sends USER in clear to an IPv4-mapped loopback peer", async () => {
  const { peer, conn } = at("::ffff:127.0.0.1", [
    { send: "+OK ready\r\n" },
    { expect: "USER mulder\r\n" },
    { send: "+OK\r\n" },
  ]);
  const pop = new Pop3Client(conn, { timeout: 2000 });
  await pop.user("mulder");
  await peer.done;
  pop.close();
});

Deno.test("ImapClient sends no LOGIN in clear to a remote peer named localhost", async () => {
  const { peer, conn } = at(REMOTE, [{ send: "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n" }]);
  const imap = new ImapClient(conn, { serverName: "localhost", timeout: 2000 });
  await assertRejects(() => imap.login(CREDENTIALS), TypeError, "without TLS");
  assertEquals(peer.written, "");
  imap.close();
});

Deno.test("NntpClient sends no AUTHINFO in clear to a remote peer named localhost", async () => {
  const { peer, conn } = at(REMOTE, [
    { send: "200 news ready\r\n" },
    { expect: "CAPABILITIES\r\n" },
    { send: "101 caps\r\nVERSION 2\r\nAUTHINFO USER\r\n.\r\n" },
  ]);
  const nntp = new NntpClient(conn, { serverName: "localhost", timeout: 2000 });
  await assertRejects(() => nntp.auth(CREDENTIALS), MissingExtensionError, "without TLS");
  await peer.done;
  assertEquals(peer.written, "CAPABILITIES\r\n");
  nntp.close();
});

Deno.test("TelnetClient.login() sends no password in clear to a remote peer named localhost", async () => {
  const { peer, conn } = at(REMOTE, [{ send: "login: " }]);
  await using telnet = new TelnetClient(conn, { serverName: "localhost" });
  await assertRejects(() => telnet.login("mulder", "trustno1"), TypeError, "in clear");
  assertEquals(peer.written, "");
});

Deno.test("FtpClient.login() sends no PASS in clear to a remote peer named localhost", async () => {
  const { peer, conn } = at(REMOTE, [
    { send: "220 ready\r\n" },
    { expect: "USER mulder\r\n" },
    { send: "331 Please specify the password.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  const ftp = new FtpClient(conn, { serverName: "localhost", timeout: 2000 });
  const error = await assertRejects(() => ftp.login("mulder", "trustno1"), ProtocolError);
  assertEquals(error.code, "INSECURE_AUTH");
  assertFalse(peer.written.includes("trustno1"));
  ftp.close();
});

Deno.test("every client's connect() refuses requireTls together with tls: false before dialling", async () => {
  const options = { port: 9, tls: false as const, requireTls: true };
  await assertRejects(() => Pop3Client.connect(options), TypeError, "exclude each other");
  await assertRejects(() => ImapClient.connect(options), TypeError, "exclude each other");
  await assertRejects(() => NntpClient.connect(options), TypeError, "exclude each other");
  await assertRejects(() => FtpClient.connect(options), TypeError, "exclude each other");
});
