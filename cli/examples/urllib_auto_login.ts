/**
 * urllib-example-3.py from the classic network protocols chapter: an
 * opener that logs in automatically when the server asks (a 401 with a
 * Basic or Digest challenge), whatever the realm. The original overrode
 * FancyURLopener's `prompt_user_passwd`; here the password manager holds
 * the answer for every realm of the host (`null` realm).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib_auto_login.ts [URL] [USER] [PASSWORD]
 * ```
 *
 * Defaults: http://127.0.0.1:8000/private/, mulder / trustno1.
 *
 * @module
 */
import { buildOpener } from "../../url/build_opener.ts";
import { HttpBasicAuthHandler } from "../../url/http_basic_auth_handler.ts";
import { HttpDigestAuthHandler } from "../../url/http_digest_auth_handler.ts";
import { PasswordManager } from "../../url/password_manager.ts";

const [url = "http://127.0.0.1:8000/private/", user = "mulder", passwd = "trustno1"] = Deno.args;

const passwords = new PasswordManager();
passwords.add(null, new URL(url).host, user, passwd); // any realm on this host
await using urlopener = buildOpener(
  new HttpBasicAuthHandler(passwords),
  new HttpDigestAuthHandler(passwords),
);

const fp = await urlopener.open(url);
console.log(await fp.text());
