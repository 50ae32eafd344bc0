import { DefaultRealmPasswordManager, PasswordManager } from "../../url/password_manager.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("PasswordManager scopes credentials to path-segment prefixes", () => {
  const pm = new PasswordManager();
  pm.add("r", "http://h.test/app", "u", "p");
  assertEquals(pm.find("r", "http://h.test/app")?.user, "u");
  assertEquals(pm.find("r", "http://h.test/app/")?.user, "u");
  assertEquals(pm.find("r", "http://h.test/app/deep/x?q")?.user, "u");
  assertEquals(pm.find("r", "http://h.test/application"), null);
  assertEquals(pm.find("r", "http://h.test/ap"), null);
  assertEquals(pm.find("r", "http://h.test/"), null);
});

Deno.test("PasswordManager never matches another host, port or default port", () => {
  const pm = new PasswordManager();
  pm.add("r", "http://h.test/", "u", "p");
  assertEquals(pm.find("r", "http://h.test:80/x")?.user, "u");
  assertEquals(pm.find("r", "http://h.test:8080/x"), null);
  assertEquals(pm.find("r", "https://h.test/x"), null);
  assertEquals(pm.find("r", "http://evil.h.test/x"), null);
  assertEquals(pm.find("r", "http://h.test.evil/x"), null);
  assertEquals(pm.find("r", "http://H.TEST/x")?.user, "u");
});

Deno.test("PasswordManager: bare authorities cover the whole host", () => {
  const pm = new PasswordManager();
  pm.add("r", "h.test", "any", "1");
  pm.add("r", "h.test:8080", "alt", "2");
  assertEquals(pm.find("r", "http://h.test/x")?.user, "any");
  assertEquals(pm.find("r", "https://h.test/x")?.user, "any");
  assertEquals(pm.find("r", "http://h.test:8080/x")?.user, "alt");
  assertEquals(pm.find("r", "http://h.test:9090/x"), null);
  assertThrows(() => pm.add("r", "h.test/path", "u", "p"), TypeError);
  assertThrows(() => pm.add("r", "http://[bad", "u", "p"), TypeError);
});

Deno.test("PasswordManager.add(null) answers any realm, and an exact realm still wins", () => {
  const pm = new PasswordManager();
  pm.add(null, "http://h/app/", "default", "1");
  pm.add("Staff", "http://h/app/", "staff", "2");
  assertEquals(pm.find("any", "http://h/app/x")?.username, "default");
  assertEquals(pm.find(null, "http://h/app/x")?.username, "default");
  assertEquals(pm.find("Staff", "http://h/app/x")?.username, "staff");
  // Realms are case-sensitive (RFC 7235 §2.2): "staff" is another realm.
  assertEquals(pm.find("staff", "http://h/app/x")?.username, "default");
  // Still scoped to the URL it was given for.
  assertEquals(pm.find("any", "http://h/application"), null);
  assertEquals(pm.find("any", "http://other/app/x"), null);
  // An exact realm with a shorter path beats the default realm with a longer one.
  pm.add("Short", "http://h/", "short", "3");
  assertEquals(pm.find("Short", "http://h/app/x")?.username, "short");
});

Deno.test("PasswordManager credentials carry the user name as username and user", () => {
  const pm = new PasswordManager();
  pm.add("r", "http://h/", "mulder", "trustno1");
  assertEquals(pm.find("r", "http://h/"), {
    username: "mulder",
    user: "mulder",
    password: "trustno1",
  });
  assertEquals(pm.findPreemptive("http://h/"), null);
  pm.setPreemptive("http://h/", true);
  assertEquals(pm.findPreemptive("http://h/x")?.username, "mulder");
});

Deno.test("DefaultRealmPasswordManager is PasswordManager under urllib2's name", () => {
  const dpm = new DefaultRealmPasswordManager();
  assert(dpm instanceof PasswordManager);
  dpm.add(null, "http://h/", "default", "1");
  dpm.add("Staff", "http://h/", "staff", "2");
  assertEquals(dpm.find("any", "http://h/")?.user, "default");
  assertEquals(dpm.find("Staff", "http://h/")?.user, "staff");
  assertEquals(dpm.find("staff", "http://h/")?.user, "default");
});

Deno.test("PasswordManager: the longest path wins and later entries replace equal ones", () => {
  const pm = new PasswordManager();
  pm.add("r", ["http://h/", "http://other/"], "root", "1");
  pm.add("r", "http://h/a/b", "deep", "2");
  assertEquals(pm.find("r", "http://h/a/b/c")?.user, "deep");
  assertEquals(pm.find("r", "http://h/a/c")?.user, "root");
  assertEquals(pm.find("r", "http://other/a/b")?.user, "root");
  pm.add("r", "http://h/a/b", "deep2", "3");
  assertEquals(pm.find("r", "http://h/a/b")?.password, "3");
});

Deno.test("PasswordManager pre-emptive entries and setPreemptive()", () => {
  const pm = new PasswordManager();
  pm.add("r", "http://h/api", "u", "p", { preemptive: true });
  pm.add("r", "http://h/web", "w", "q");
  assertEquals(pm.findPreemptive("http://h/api/v1")?.user, "u");
  assertEquals(pm.findPreemptive("http://h/web/x"), null);
  assertEquals(pm.setPreemptive("http://h/web/x", true), 1);
  assertEquals(pm.findPreemptive("http://h/web/x")?.user, "w");
  assertEquals(pm.setPreemptive("http://h/api", false), 1);
  assertEquals(pm.findPreemptive("http://h/api"), null);
  pm.clear();
  assertEquals(pm.find("r", "http://h/web"), null);
});

Deno.test("PasswordManager refuses control characters in user names and returns copies", () => {
  const pm = new PasswordManager();
  assertThrows(() => pm.add("r", "http://h/", "a\r\nb", "p"), TypeError);
  pm.add("r", "http://h/", "u", "p");
  const found = pm.find("r", "http://h/")!;
  found.user = "changed";
  assertEquals(pm.find("r", "http://h/")?.user, "u");
});
