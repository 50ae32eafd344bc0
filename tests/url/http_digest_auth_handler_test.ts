import { bytesToHex, md5Digest } from "../../net/md5.ts";
import { HTTPError } from "../../url/http_error.ts";
import { HttpErrorProcessor } from "../../url/http_error_processor.ts";
import { HttpBasicAuthHandler } from "../../url/http_basic_auth_handler.ts";
import {
  HttpDigestAuthHandler,
  ProxyDigestAuthHandler,
} from "../../url/http_digest_auth_handler.ts";
import { PasswordManager } from "../../url/password_manager.ts";
import { UrlOpener } from "../../url/url_opener.ts";
import { FakeOrigin, type Reply, type Seen } from "./_fake.ts";
import { assertEquals, assertRejects, assertStringIncludes } from "../_helpers/assert.ts";

const RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

function challengeOnce(challenge: string, status: 401 | 407 = 401) {
  const header = status === 401 ? "www-authenticate" : "proxy-authenticate";
  const auth = status === 401 ? "authorization" : "proxy-authorization";
  return new FakeOrigin((_r, seen: Seen): Reply =>
    seen.headers[auth] ? { body: seen.headers[auth] } : { status, headers: { [header]: challenge } }
  );
}

function rfcManager(): PasswordManager {
  const pm = new PasswordManager();
  pm.add("http-auth@example.org", "http://www.example.org/", "Mufasa", "Circle of Life");
  return pm;
}

Deno.test("HttpDigestAuthHandler computes the RFC 7616 §3.9.1 SHA-256 answer, preferring SHA-256", async () => {
  const origin = challengeOnce(
    `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="${RFC_NONCE}", opaque="${RFC_OPAQUE}", ` +
      `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="${RFC_NONCE}", opaque="${RFC_OPAQUE}"`,
  );
  await using opener = new UrlOpener([
    new HttpDigestAuthHandler(rfcManager(), { cnonce: () => RFC_CNONCE }),
    new HttpErrorProcessor(),
    origin,
  ]);
  const header = await (await opener.open("http://www.example.org/dir/index.html")).text();
  assertEquals(
    header,
    'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", ' +
      `algorithm=SHA-256, nonce="${RFC_NONCE}", nc=00000001, cnonce="${RFC_CNONCE}", qop=auth, ` +
      'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ' +
      `opaque="${RFC_OPAQUE}"`,
  );
});

Deno.test("HttpDigestAuthHandler computes the RFC 7616 §3.9.1 MD5 answer", async () => {
  const origin = challengeOnce(
    `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="${RFC_NONCE}", opaque="${RFC_OPAQUE}"`,
  );
  await using opener = new UrlOpener([
    new HttpDigestAuthHandler(rfcManager(), { cnonce: () => RFC_CNONCE }),
    new HttpErrorProcessor(),
    origin,
  ]);
  const header = await (await opener.open("http://www.example.org/dir/index.html")).text();
  assertStringIncludes(header, 'response="8ca523f5e9506fed4657c9700eebdbec"');
  assertStringIncludes(header, "algorithm=MD5");
});

Deno.test("HttpDigestAuthHandler computes the RFC 2617 §3.5 answer and the qop-less RFC 2069 form", async () => {
  const pm = new PasswordManager();
  pm.add("testrealm@host.com", "http://www.nowhere.org/", "Mufasa", "Circle Of Life");
  const origin = challengeOnce(
    'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
  );
  await using opener = new UrlOpener([
    new HttpDigestAuthHandler(pm, { cnonce: () => "0a4f113b" }),
    new HttpErrorProcessor(),
    origin,
  ]);
  const header = await (await opener.open("http://www.nowhere.org/dir/index.html")).text();
  assertStringIncludes(header, 'response="6629fae49393a05397450978507c4ef1"');

  const legacy = challengeOnce('Digest realm="testrealm@host.com", nonce="n"');
  await using opener2 = new UrlOpener([
    new HttpDigestAuthHandler(pm),
    new HttpErrorProcessor(),
    legacy,
  ]);
  const text = await (await opener2.open("http://www.nowhere.org/x")).text();
  const ha1 = bytesToHex(md5Digest("Mufasa:testrealm@host.com:Circle Of Life"));
  const ha2 = bytesToHex(md5Digest("GET:/x"));
  assertStringIncludes(text, `response="${bytesToHex(md5Digest(`${ha1}:n:${ha2}`))}"`);
  assertEquals(text.includes("qop="), false);
  assertEquals(text.includes("nc="), false);
});

Deno.test("HttpDigestAuthHandler supports -sess algorithms and userhash", async () => {
  const pm = new PasswordManager();
  pm.add("r", "http://h/", "u", "p");
  const origin = challengeOnce(
    'Digest realm="r", nonce="N", qop=auth, algorithm=SHA-256-sess, userhash=true',
  );
  await using opener = new UrlOpener([
    new HttpDigestAuthHandler(pm, { cnonce: () => "C" }),
    new HttpErrorProcessor(),
    origin,
  ]);
  const text = await (await opener.open("http://h/p?q=1")).text();
  const sha = async (s: string) =>
    bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s))));
  const ha1 = await sha(`${await sha("u:r:p")}:N:C`);
  const ha2 = await sha("GET:/p?q=1");
  const response = await sha(`${ha1}:N:00000001:C:auth:${ha2}`);
  assertStringIncludes(text, `username="${await sha("u:r")}"`);
  assertStringIncludes(text, `response="${response}"`);
  assertStringIncludes(text, "userhash=true");
  assertStringIncludes(text, 'uri="/p?q=1"');
});

Deno.test("HttpDigestAuthHandler sends non-ASCII user names as username*", async () => {
  const pm = new PasswordManager();
  pm.add("r", "http://h/", "Jäsøn Doe", "p");
  const origin = challengeOnce('Digest realm="r", nonce="N", qop=auth');
  await using opener = new UrlOpener([
    new HttpDigestAuthHandler(pm),
    new HttpErrorProcessor(),
    origin,
  ]);
  const text = await (await opener.open("http://h/")).text();
  assertStringIncludes(text, "username*=UTF-8''J%C3%A4s%C3%B8n%20Doe");
});

Deno.test("HttpDigestAuthHandler retries on stale=true but not after a plain refusal", async () => {
  const pm = new PasswordManager();
  pm.add("r", "http://h/", "u", "p");
  let n = 0;
  const stale = new FakeOrigin(() => {
    n++;
    if (n === 1) {
      return {
        status: 401,
        headers: { "www-authenticate": 'Digest realm="r", nonce="a", qop=auth' },
      };
    }
    if (n === 2) {
      return {
        status: 401,
        headers: { "www-authenticate": 'Digest realm="r", nonce="b", qop=auth, stale=true' },
      };
    }
    return { body: "ok" };
  });
  await using opener = new UrlOpener([
    new HttpDigestAuthHandler(pm),
    new HttpErrorProcessor(),
    stale,
  ]);
  assertEquals(await (await opener.open("http://h/")).text(), "ok");
  assertEquals(stale.seen.length, 3);
  assertStringIncludes(stale.seen[2]!.headers.authorization!, 'nonce="b"');

  const refuse = new FakeOrigin(() => ({
    status: 401,
    headers: { "www-authenticate": 'Digest realm="r", nonce="a", qop=auth' },
  }));
  await using opener2 = new UrlOpener([
    new HttpDigestAuthHandler(pm),
    new HttpErrorProcessor(),
    refuse,
  ]);
  await assertRejects(() => opener2.open("http://h/"), HTTPError);
  assertEquals(refuse.seen.length, 2);
});

Deno.test("HttpDigestAuthHandler counts nc per nonce", async () => {
  const pm = new PasswordManager();
  pm.add("r", "http://h/", "u", "p");
  const origin = challengeOnce('Digest realm="r", nonce="same", qop=auth');
  const handler = new HttpDigestAuthHandler(pm);
  await using opener = new UrlOpener([handler, new HttpErrorProcessor(), origin]);
  const first = await (await opener.open("http://h/a")).text();
  const second = await (await opener.open("http://h/b")).text();
  assertStringIncludes(first, "nc=00000001");
  assertStringIncludes(second, "nc=00000002");
});

Deno.test("HttpDigestAuthHandler ignores auth-int-only and unknown algorithms, leaving Basic to answer", async () => {
  const pm = new PasswordManager();
  pm.add("r", "http://h/", "u", "p");
  const origin = challengeOnce(
    'Digest realm="r", nonce="n", qop="auth-int", Digest realm="r", nonce="n", algorithm=SHA-512-256, Basic realm="r"',
  );
  await using opener = new UrlOpener([
    new HttpDigestAuthHandler(pm),
    new HttpBasicAuthHandler(pm),
    new HttpErrorProcessor(),
    origin,
  ]);
  assertEquals(await (await opener.open("http://h/")).text(), "Basic dTpw");
});

Deno.test("HttpDigestAuthHandler is tried before Basic when both are offered", async () => {
  const pm = new PasswordManager();
  pm.add("r", "http://h/", "u", "p");
  const origin = challengeOnce('Basic realm="r", Digest realm="r", nonce="n", qop=auth');
  await using opener = new UrlOpener([
    new HttpBasicAuthHandler(pm),
    new HttpDigestAuthHandler(pm),
    new HttpErrorProcessor(),
    origin,
  ]);
  assertStringIncludes(await (await opener.open("http://h/")).text(), "Digest ");
});

Deno.test("ProxyDigestAuthHandler answers 407 with the absolute URI of a proxied request", async () => {
  const pm = new PasswordManager();
  pm.add("px", "http://proxy.test:3128/", "u", "p");
  const origin = challengeOnce('Digest realm="px", nonce="n", qop=auth', 407);
  await using opener = new UrlOpener([
    new ProxyDigestAuthHandler(pm),
    new HttpErrorProcessor(),
    { order: 100, preprocess: (r) => r.setProxy("http://proxy.test:3128") },
    origin,
  ]);
  const text = await (await opener.open("http://h.test/x?y")).text();
  assertStringIncludes(text, 'uri="http://h.test/x?y"');
});
