/**
 * The urllib2 HOWTO's "Basic Authentication": a password manager with the
 * user and password for a top-level URL and any realm (`null`, as the
 * HOWTO's `HTTPPasswordMgrWithDefaultRealm` takes `None`), a Basic auth
 * handler using it, an opener built with it, then installed for `urlopen`.
 * URLs deeper than the top-level one match; others never get the password.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/urllib2_basic_auth.ts [TOP_LEVEL_URL] [URL] [USER] [PASSWORD]
 * ```
 *
 * Defaults: http://127.0.0.1:8000/foo/, http://127.0.0.1:8000/foo/bar.html,
 * mulder / trustno1.
 *
 * @module
 */
import { buildOpener } from "../../url/build_opener.ts";
import { HttpBasicAuthHandler } from "../../url/http_basic_auth_handler.ts";
import { PasswordManager } from "../../url/password_manager.ts";
import { installOpener, urlopen } from "../../url/urlopen.ts";

const [
  topLevelUrl = "http://127.0.0.1:8000/foo/",
  aUrl = "http://127.0.0.1:8000/foo/bar.html",
  username = "mulder",
  password = "trustno1",
] = Deno.args;

// create a password manager
const passwordMgr = new PasswordManager();
// Add the username and password.
// If we knew the realm, we could use it instead of null.
passwordMgr.add(null, topLevelUrl, username, password);

const handler = new HttpBasicAuthHandler(passwordMgr);

// create "opener" (UrlOpener instance)
await using opener = buildOpener(handler);

// use the opener to fetch a URL
console.log(await (await opener.open(aUrl)).text());

// Install the opener.
// Now all calls to urlopen use our opener.
installOpener(opener);
console.log(await (await urlopen(aUrl)).text());
