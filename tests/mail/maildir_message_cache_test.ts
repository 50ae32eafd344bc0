/** The Maildir store's in-memory cache of small messages: LRU order and its size bound. */
import { MessageCache } from "../../mail/_maildir_message_cache.ts";
import { assertEquals } from "../_helpers/assert.ts";

const of = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

Deno.test("MessageCache drops the least recently used messages past its size", () => {
  const cache = new MessageCache(800);
  cache.set("a", of(100, 1));
  cache.set("b", of(100, 2));
  cache.set("c", of(100, 3));
  assertEquals(cache.size, 300);
  // "a" is used, so "b" is now the oldest.
  assertEquals(cache.get("a")?.[0], 1);
  for (const key of ["d", "e", "f", "g", "h"]) cache.set(key, of(100));
  assertEquals(cache.size, 800);
  cache.set("i", of(100));
  assertEquals(cache.get("b"), undefined);
  assertEquals(cache.get("a")?.[0], 1);
  assertEquals(cache.get("c")?.[0], 3);
  assertEquals(cache.size, 800);
});

Deno.test("MessageCache replaces an entry, forgets deleted ones and refuses large messages", () => {
  const cache = new MessageCache(800);
  cache.set("a", of(100, 1));
  cache.set("a", of(50, 2));
  assertEquals(cache.size, 50);
  assertEquals(cache.get("a")?.length, 50);
  cache.delete("a");
  cache.delete("missing");
  assertEquals(cache.size, 0);
  assertEquals(cache.get("a"), undefined);
  // One message may take at most an eighth of the cache.
  cache.set("big", of(101));
  assertEquals(cache.get("big"), undefined);
  assertEquals(cache.size, 0);
  const none = new MessageCache(0);
  none.set("a", of(1));
  assertEquals(none.get("a"), undefined);
});
