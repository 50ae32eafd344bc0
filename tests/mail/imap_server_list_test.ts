/**
 * LIST pattern matching of the IMAP server: wildcards, INBOX's case, and
 * patterns built to make a backtracking matcher slow.
 */
import { listMatcher, specialUse } from "../../mail/_imap_server_list.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { loggedIn, startImapServer } from "./_imap_server_helpers.ts";

const NAMES = ["INBOX", "INBOX.Lists", "Archive", "Archive.2024", "Archive.2024.Q1", "a.b.c"];

function matching(reference: string, pattern: string): string[] {
  const match = listMatcher(reference, pattern, ".");
  return NAMES.filter((name) => match(name));
}

Deno.test("listMatcher treats * as anything and % as anything but the delimiter", () => {
  assertEquals(matching("", "*"), NAMES);
  assertEquals(matching("", "%"), ["INBOX", "Archive"]);
  assertEquals(matching("", "Archive.%"), ["Archive.2024"]);
  assertEquals(matching("Archive.", "*"), ["Archive.2024", "Archive.2024.Q1"]);
  assertEquals(matching("", "%.%.%"), ["Archive.2024.Q1", "a.b.c"]);
  assertEquals(matching("", "*Q1"), ["Archive.2024.Q1"]);
  assertEquals(matching("", "inbox"), ["INBOX"]);
  assertEquals(matching("", "Inbox.%"), ["INBOX.Lists"]);
  assertEquals(matching("", "archive"), []);
  assertEquals(matching("", "a.b.c"), ["a.b.c"]);
  assertEquals(matching("", "a?b"), []);
});

Deno.test("listMatcher stays fast on patterns that make backtracking matchers explode", () => {
  const match = listMatcher("", "*a".repeat(30) + "b", ".");
  const started = performance.now();
  for (let i = 0; i < 100; i++) assertEquals(match("a".repeat(200)), false);
  assert(performance.now() - started < 1000, "matching took too long");
  assertThrows(() => listMatcher("", "x".repeat(2000), "."), RangeError);
});

Deno.test("specialUse names the well-known top-level folders", () => {
  assertEquals(specialUse("Sent", "."), "\\Sent");
  assertEquals(specialUse("deleted items", "."), "\\Trash");
  assertEquals(specialUse("Archive.Sent", "."), null);
  assertEquals(specialUse("__proto__", "."), null);
});

Deno.test("ImapServer LIST refuses a pattern over the length limit with BAD", async () => {
  await using t = startImapServer();
  await using client = await loggedIn(t.port);
  assertEquals(
    await client.command("a1", `LIST "" ${"x".repeat(2000)}`),
    "a1 BAD Mailbox pattern too long\r\n",
  );
});
