import {
  chooseSaslMechanism,
  createSaslMechanism,
  SASL_MECHANISMS,
  type SaslCredentials,
} from "../../mail/sasl.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assertEquals, assertInstanceOf, assertThrows } from "../_helpers/assert.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (bytes: Uint8Array | null) => (bytes === null ? null : decoder.decode(bytes));
const password: SaslCredentials = { username: "mulder", password: "trustno1" };
const token: SaslCredentials = { username: "mulder@example.test", accessToken: "ya29.tok" };

Deno.test("createSaslMechanism() PLAIN sends authzid NUL authcid NUL password (RFC 4616)", () => {
  const sasl = createSaslMechanism("PLAIN", password);
  assertEquals(sasl.name, "PLAIN");
  assertEquals(sasl.sendsSecret, true);
  assertEquals(text(sasl.initialResponse()), "\0mulder\0trustno1");
  assertThrows(() => sasl.respond(new Uint8Array(0)), ProtocolError, "unexpected challenge");
});

Deno.test("createSaslMechanism() PLAIN includes the authorization identity", () => {
  const sasl = createSaslMechanism("plain", { ...password, authorizationId: "scully" });
  assertEquals(text(sasl.initialResponse()), "scully\0mulder\0trustno1");
});

Deno.test("createSaslMechanism() PLAIN answers an empty first challenge once", () => {
  const sasl = createSaslMechanism("PLAIN", password);
  assertEquals(text(sasl.respond(new Uint8Array(0))), "\0mulder\0trustno1");
  assertThrows(() => sasl.respond(new Uint8Array(0)), ProtocolError);
});

Deno.test("createSaslMechanism() PLAIN refuses a non-empty first challenge", () => {
  const sasl = createSaslMechanism("PLAIN", password);
  const error = assertThrows(() => sasl.respond(encoder.encode("x")), ProtocolError);
  assertEquals(error.code, "SASL_UNEXPECTED_CHALLENGE");
});

Deno.test("createSaslMechanism() PLAIN rejects NUL in any field before sending", () => {
  assertThrows(
    () => createSaslMechanism("PLAIN", { username: "a\0b", password: "x" }),
    TypeError,
    "user name",
  );
  assertThrows(
    () => createSaslMechanism("PLAIN", { username: "a", password: "x\0y" }),
    TypeError,
    "password",
  );
  assertThrows(
    () => createSaslMechanism("PLAIN", { username: "a", password: "x", authorizationId: "\0" }),
    TypeError,
    "authorization identity",
  );
});

Deno.test("createSaslMechanism() LOGIN answers the user name, then the password", () => {
  const sasl = createSaslMechanism("LOGIN", password);
  assertEquals(sasl.initialResponse(), null);
  assertEquals(text(sasl.respond(encoder.encode("Username:"))), "mulder");
  assertEquals(text(sasl.respond(encoder.encode("Password:"))), "trustno1");
  assertThrows(() => sasl.respond(encoder.encode("More:")), ProtocolError);
});

Deno.test("createSaslMechanism() CRAM-MD5 answers the RFC 2195 example", () => {
  const sasl = createSaslMechanism("cram-md5", { username: "tim", password: "tanstaaftanstaaf" });
  assertEquals(sasl.name, "CRAM-MD5");
  assertEquals(sasl.sendsSecret, false);
  assertEquals(sasl.initialResponse(), null);
  const challenge = encoder.encode("<1896.697170952@postoffice.reston.mci.net>");
  assertEquals(text(sasl.respond(challenge)), "tim b913a602c7eda7a495b4e6e7334d3890");
  assertThrows(() => sasl.respond(challenge), ProtocolError);
});

Deno.test("createSaslMechanism() CRAM-MD5 refuses an empty challenge", () => {
  const sasl = createSaslMechanism("CRAM-MD5", password);
  assertThrows(() => sasl.respond(new Uint8Array(0)), ProtocolError);
});

Deno.test("createSaslMechanism() XOAUTH2 sends user and bearer token", () => {
  const sasl = createSaslMechanism("XOAUTH2", token);
  assertEquals(
    text(sasl.initialResponse()),
    "user=mulder@example.test\x01auth=Bearer ya29.tok\x01\x01",
  );
  assertEquals(sasl.serverError, undefined);
  const error = '{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}';
  assertEquals(sasl.respond(encoder.encode(error)).length, 0);
  assertEquals(sasl.serverError, error);
  assertThrows(() => sasl.respond(encoder.encode(error)), ProtocolError);
});

Deno.test("createSaslMechanism() OAUTHBEARER sends the GS2 header, host, port and token (RFC 7628)", () => {
  const sasl = createSaslMechanism("OAUTHBEARER", { username: "a,b=c", accessToken: "t" }, {
    host: "mail.example.test",
    port: 587,
  });
  assertEquals(
    text(sasl.initialResponse()),
    "n,a=a=2Cb=3Dc,\x01host=mail.example.test\x01port=587\x01auth=Bearer t\x01\x01",
  );
  // After an error challenge the client sends a lone ^A (RFC 7628 §3.2.3).
  assertEquals(sasl.respond(encoder.encode('{"status":"invalid_token"}')), new Uint8Array([1]));
  assertEquals(sasl.serverError, '{"status":"invalid_token"}');
});

Deno.test("createSaslMechanism() OAUTHBEARER answers an empty first challenge with its message", () => {
  const sasl = createSaslMechanism("OAUTHBEARER", token);
  assertEquals(
    text(sasl.respond(new Uint8Array(0))),
    "n,a=mulder@example.test,\x01auth=Bearer ya29.tok\x01\x01",
  );
});

Deno.test("createSaslMechanism() bearer mechanisms reject control characters", () => {
  assertThrows(
    () => createSaslMechanism("XOAUTH2", { username: "a\x01auth=x", accessToken: "t" }),
    TypeError,
  );
  assertThrows(
    () => createSaslMechanism("OAUTHBEARER", { username: "a", accessToken: "t\x01" }),
    TypeError,
  );
  assertThrows(
    () =>
      createSaslMechanism("OAUTHBEARER", { username: "a", accessToken: "t" }, { host: "h\r\n" }),
    TypeError,
  );
});

Deno.test("createSaslMechanism() rejects missing secrets and unknown mechanisms", () => {
  assertThrows(() => createSaslMechanism("PLAIN", { username: "a" }), TypeError, "password");
  assertThrows(() => createSaslMechanism("XOAUTH2", password), TypeError, "access token");
  assertThrows(() => createSaslMechanism("GSSAPI", password), TypeError, "unsupported");
  assertThrows(
    () => createSaslMechanism("PLAIN", {} as SaslCredentials),
    TypeError,
    "user name",
  );
});

Deno.test("createSaslMechanism() never shows secrets when inspected or stringified", () => {
  const secret = "s3cr3t-value";
  for (const name of SASL_MECHANISMS) {
    const sasl = createSaslMechanism(name, {
      username: "mulder",
      password: secret,
      accessToken: secret,
    });
    const shown = Deno.inspect(sasl, { showHidden: true, depth: 10 }) + JSON.stringify(sasl) +
      String(sasl);
    assertEquals(shown.includes(secret), false, `${name}: ${shown}`);
    assertEquals(shown.includes(btoa(secret).slice(0, 8)), false, name);
  }
});

Deno.test("createSaslMechanism() unexpected-challenge errors hold no secret", () => {
  const sasl = createSaslMechanism("LOGIN", { username: "mulder", password: "hunter2" });
  sasl.respond(new Uint8Array(0));
  sasl.respond(new Uint8Array(0));
  const error = assertThrows(() => sasl.respond(new Uint8Array(0)));
  assertInstanceOf(error, ProtocolError);
  assertEquals(error.message.includes("hunter2"), false);
});

Deno.test("chooseSaslMechanism() prefers CRAM-MD5, then PLAIN, then LOGIN over TLS", () => {
  const secure = { secure: true };
  assertEquals(chooseSaslMechanism(["LOGIN", "PLAIN", "CRAM-MD5"], password, secure), "CRAM-MD5");
  assertEquals(chooseSaslMechanism(["LOGIN", "PLAIN"], password, secure), "PLAIN");
  assertEquals(chooseSaslMechanism(["login"], password, secure), "LOGIN");
  assertEquals(chooseSaslMechanism(["GSSAPI", "NTLM"], password, secure), null);
  assertEquals(chooseSaslMechanism([], password, secure), null);
});

Deno.test("chooseSaslMechanism() allows only CRAM-MD5 on an unprotected connection", () => {
  assertEquals(chooseSaslMechanism(["PLAIN", "LOGIN"], password), null);
  assertEquals(chooseSaslMechanism(["PLAIN", "CRAM-MD5"], password), "CRAM-MD5");
  assertEquals(chooseSaslMechanism(["XOAUTH2", "OAUTHBEARER"], token), null);
});

Deno.test("chooseSaslMechanism() matches mechanisms to the credentials", () => {
  const secure = { secure: true };
  assertEquals(chooseSaslMechanism(["PLAIN", "XOAUTH2"], token, secure), "XOAUTH2");
  assertEquals(
    chooseSaslMechanism(["XOAUTH2", "OAUTHBEARER", "PLAIN"], token, secure),
    "OAUTHBEARER",
  );
  assertEquals(chooseSaslMechanism(["XOAUTH2", "OAUTHBEARER"], password, secure), null);
});

Deno.test("chooseSaslMechanism() follows a given preference", () => {
  const options = { secure: true, preference: ["LOGIN", "PLAIN"] };
  assertEquals(chooseSaslMechanism(["PLAIN", "LOGIN", "CRAM-MD5"], password, options), "LOGIN");
  assertEquals(chooseSaslMechanism(["CRAM-MD5"], password, options), null);
});
