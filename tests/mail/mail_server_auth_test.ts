import { decodeSaslLine, decodeSaslPlain, MailAuthenticator } from "../../mail/mail_server_auth.ts";
import { bytesToHex, hmacMd5, md5Digest } from "../../net/md5.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

const info = {
  remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 },
  protocol: "imap",
  tls: false,
};

Deno.test("MailAuthenticator delays failures and reports exhaustion after maxFailures", async () => {
  const auth = new MailAuthenticator({ users: { a: "b" } }, { failureDelay: 50, maxFailures: 2 });
  const started = Date.now();
  assertEquals(await auth.check("a", "x", info), { ok: false, exhausted: false });
  assert(Date.now() - started >= 45);
  assertEquals(await auth.check("nobody", "b", info), { ok: false, exhausted: true });
  assertEquals(auth.failures, 2);
});

Deno.test("MailAuthenticator falls back to the callback and treats its errors as a refusal", async () => {
  const auth = new MailAuthenticator({
    authenticate: (user, password) => {
      if (user === "boom") throw new Error("backend down");
      return user === "u" && password === "p";
    },
  }, { failureDelay: 0 });
  assertEquals((await auth.check("u", "p", info)).ok, true);
  assertEquals((await auth.check("boom", "p", info)).ok, false);
  // "__proto__" is a plain key, never the prototype.
  assertEquals((await auth.check("__proto__", "", info)).ok, false);
});

Deno.test("MailAuthenticator checks CRAM-MD5 and APOP against the table", async () => {
  const auth = new MailAuthenticator({ users: { tim: "tanstaaftanstaaf" } }, { failureDelay: 0 });
  // RFC 2195's example.
  const challenge = "<1896.697170952@postoffice.reston.mci.net>";
  const digest = bytesToHex(hmacMd5("tanstaaftanstaaf", challenge));
  assertEquals(digest, "b913a602c7eda7a495b4e6e7334d3890");
  assertEquals((await auth.checkCramMd5(challenge, `tim ${digest}`)).user, "tim");
  assertEquals((await auth.checkCramMd5(challenge, "tim 00")).ok, false);
  // RFC 1939 §7's example.
  const timestamp = "<1896.697170952@dbc.mtview.ca.us>";
  const apop = bytesToHex(md5Digest(timestamp + "tanstaaf"));
  assertEquals(apop, "c4c9334bac560ecc979e58001b3e22fb");
  const pop = new MailAuthenticator({ users: { mrose: "tanstaaf" } }, { failureDelay: 0 });
  assertEquals((await pop.checkApop("mrose", timestamp, apop)).ok, true);
});

Deno.test("decodeSaslPlain and decodeSaslLine refuse malformed input", () => {
  assertEquals(decodeSaslPlain("not base64!"), null);
  assertEquals(decodeSaslPlain(btoa("only\0two")), null);
  assertEquals(decodeSaslPlain(btoa("\0\0pw")), null);
  assertEquals(decodeSaslPlain(btoa("admin\0u\0p"))?.authorizationId, "admin");
  assertEquals(decodeSaslLine("@@"), null);
});
