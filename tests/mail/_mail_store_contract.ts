/**
 * The behaviour every {@linkcode MailStore} must show, run against
 * `MemoryMailStore` and `MaildirStore`. A harness opens store objects over
 * one storage; for a durable store, `reopen` closes the object and opens a
 * new one over the same files (a restart), for the memory store it keeps
 * the object.
 *
 * @module
 */
import type { MailboxView, MailStore, MailStoreEvent } from "../../mail/mail_store.ts";
import { MAIL_VIEW_READ_SMALL, type MailViewReadSmall } from "../../mail/_mail_store_engine.ts";
import { MailStoreError } from "../../mail/mail_store_error.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "../_helpers/assert.ts";

/** Opens store objects over one storage. */
export interface MailStoreHarness {
  /** Opens a store object; options reach the store's constructor. */
  open(options?: { maxMessageSize?: number }): MailStore;
  /** Whether a new object sees what an earlier one stored. */
  durable: boolean;
  /** Removes the storage. */
  cleanup(): Promise<void>;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A small message with a subject. */
export function message(subject: string, body = "hello"): Uint8Array {
  return bytes(`Subject: ${subject}\r\nFrom: a@example.test\r\n\r\n${body}\r\n`);
}

/** Reads a stream to text. */
export async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

/** Asserts that a promise rejects with a MailStoreError of `code`. */
export async function assertStoreError(
  fn: () => Promise<unknown>,
  code: MailStoreError["code"],
): Promise<MailStoreError> {
  const error = await assertRejects(fn, MailStoreError);
  assertEquals(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
  return error;
}

/** A stream that yields `chunks`, then waits for `release()` before it ends or fails. */
export function gatedStream(
  chunks: Uint8Array[],
  end: "close" | Error = "close",
): { stream: ReadableStream<Uint8Array>; release: () => void; cancelled: Promise<unknown> } {
  const gate = Promise.withResolvers<void>();
  const cancelled = Promise.withResolvers<unknown>();
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < chunks.length) {
        controller.enqueue(chunks[i++]!);
        return;
      }
      await gate.promise;
      if (end === "close") controller.close();
      else controller.error(end);
    },
    cancel(reason) {
      cancelled.resolve(reason);
    },
  });
  return { stream, release: () => gate.resolve(), cancelled: cancelled.promise };
}

/** Registers the contract tests for one store kind. */
export function mailStoreContract(
  kind: string,
  makeHarness: () => Promise<MailStoreHarness>,
): void {
  const test = (name: string, fn: (h: MailStoreHarness) => Promise<void>) =>
    Deno.test(`${kind}${name}`, async () => {
      const h = await makeHarness();
      try {
        await fn(h);
      } finally {
        await h.cleanup();
      }
    });

  /** A restart for a durable store, the same object for the memory store. */
  async function reopen(h: MailStoreHarness, store: MailStore): Promise<MailStore> {
    if (!h.durable) return store;
    await store.close();
    return h.open();
  }

  // ---- UIDs and delivery ----

  test(".deliver() assigns ascending UIDs that expunge and reopen never reuse", async (h) => {
    let store = h.open();
    try {
      const first = await store.deliver("mulder", "INBOX", message("one"));
      const second = await store.deliver("mulder", "INBOX", message("two"));
      const third = await store.deliver("mulder", "INBOX", message("three"));
      assertEquals([first.uid, second.uid, third.uid], [1, 2, 3]);
      assertEquals(first.uidValidity, third.uidValidity);
      assertEquals(await store.expunge("mulder", "INBOX", [3, 2, 99]), [2, 3]);
      store = await reopen(h, store);
      const fourth = await store.deliver("mulder", "INBOX", message("four"));
      assertEquals(fourth.uid, 4);
      assertEquals((await store.listMessages("mulder", "INBOX")).map((m) => m.uid), [1, 4]);
      assertEquals((await store.status("mulder", "INBOX")).uidNext, 5);
    } finally {
      await store.close();
    }
  });

  test(".status() keeps uidValidity across reopen and changes it for a recreated folder", async (h) => {
    let store = h.open();
    try {
      await store.createFolder("mulder", "Work");
      const inbox = (await store.status("mulder", "INBOX")).uidValidity;
      const work = (await store.status("mulder", "Work")).uidValidity;
      assert(inbox >= 1 && inbox <= 0xffffffff);
      store = await reopen(h, store);
      assertEquals((await store.status("mulder", "INBOX")).uidValidity, inbox);
      assertEquals((await store.status("mulder", "Work")).uidValidity, work);
      await store.deleteFolder("mulder", "Work");
      await store.createFolder("mulder", "Work");
      assert((await store.status("mulder", "Work")).uidValidity !== work);
    } finally {
      await store.close();
    }
  });

  test(".deliver() stores flags, keywords and the internal date to the second", async (h) => {
    let store = h.open();
    try {
      const date = new Date("2024-02-29T12:34:56.789Z");
      const { uid } = await store.deliver("mulder", "INBOX", message("x"), {
        flags: ["\\seen", "$Forwarded", "\\Draft", "$forwarded"],
        internalDate: date,
      });
      store = await reopen(h, store);
      const [info] = await store.listMessages("mulder", "INBOX");
      assertEquals(info?.uid, uid);
      assertEquals(info?.flags, ["\\Seen", "\\Draft", "$Forwarded"]);
      assertEquals(info?.internalDate.toISOString(), "2024-02-29T12:34:56.000Z");
    } finally {
      await store.close();
    }
  });

  test(".deliver() counts the size with CRLF line ends and normalizes bare LF", async (h) => {
    await using store = h.open();
    const { size } = await store.deliver("mulder", "INBOX", bytes("Subject: a\n\nline\r\nlast\n"));
    assertEquals(size, 26);
    const [info] = await store.listMessages("mulder", "INBOX");
    assertEquals(info?.size, 26);
    assertEquals(
      await text(await store.readMessage("mulder", "INBOX", 1)),
      "Subject: a\r\n\r\nline\r\nlast\r\n",
    );
  });

  test(".deliver() reads a stream of many chunks and the message streams back equal", async (h) => {
    await using store = h.open();
    const line =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklm\r\n";
    const big = bytes("Subject: big\r\n\r\n" + line.repeat(4000));
    const stream = ReadableStream.from((function* () {
      for (let i = 0; i < big.length; i += 1000) yield big.subarray(i, i + 1000);
    })());
    const { uid, size } = await store.deliver("mulder", "INBOX", stream);
    assertEquals(size, big.length);
    let chunks = 0;
    let total = 0;
    for await (const chunk of await store.readMessage("mulder", "INBOX", uid)) {
      chunks++;
      total += chunk.length;
    }
    assertEquals(total, big.length);
    assert(chunks > 1, "a large message streams in several chunks");
    const back = new Uint8Array(
      await new Response(await store.readMessage("mulder", "INBOX", uid)).arrayBuffer(),
    );
    assertEquals(back, big);
  });

  test(".readMessage() returns octet ranges for partial fetches", async (h) => {
    await using store = h.open();
    await store.deliver("mulder", "INBOX", bytes("Subject: r\r\n\r\n0123456789\r\n"));
    const read = async (start?: number, length?: number) =>
      await text(await store.readMessage("mulder", "INBOX", 1, { start, length }));
    assertEquals(await read(14, 4), "0123");
    assertEquals(await read(20), "6789\r\n");
    assertEquals(await read(0, 7), "Subject");
    assertEquals(await read(26, 10), "");
    assertEquals(await read(1000, 10), "");
    assertEquals(await read(3, 0), "");
    await assertRejects(() => store.readMessage("mulder", "INBOX", 1, { start: -1 }), RangeError);
  });

  test(".readMessage() throws EXPUNGED for an expunged UID", async (h) => {
    await using store = h.open();
    await store.deliver("mulder", "INBOX", message("x"));
    await store.expunge("mulder", "INBOX", [1]);
    await assertStoreError(() => store.readMessage("mulder", "INBOX", 1), "EXPUNGED");
    await assertRejects(() => store.readMessage("mulder", "INBOX", 0), RangeError);
  });

  test(".openView() reads small messages at once with MAIL_VIEW_READ_SMALL, as read() does", async (h) => {
    await using store = h.open();
    const content = "Subject: r\r\n\r\n0123456789\r\n";
    await store.deliver("mulder", "INBOX", bytes(content));
    await store.deliver("mulder", "INBOX", message("gone"));
    await using view = await store.openView("mulder", "INBOX");
    const readSmall = (view as MailboxView & MailViewReadSmall)[MAIL_VIEW_READ_SMALL]!;
    const decode = (b: Uint8Array | undefined) =>
      b === undefined ? undefined : new TextDecoder().decode(b);
    for (
      const [start, length] of [[0, Infinity], [14, 4], [20, 100], [26, 10], [1000, 1], [3, 0]]
    ) {
      const streamed = await text(await view.read(1, { start, length }));
      assertEquals(
        decode(readSmall.call(view, 1, start!, length!)),
        streamed,
        `${start} ${length}`,
      );
    }
    assertThrows(() => readSmall.call(view, 1, -1, 1), RangeError);
    await store.expunge("mulder", "INBOX", [2]);
    const error = assertThrows(() => readSmall.call(view, 2, 0, Infinity), MailStoreError);
    assertEquals(error.code, "EXPUNGED");
  });

  // ---- limits ----

  test(".deliver() refuses a message over maxSize with TOO_LARGE and stores nothing", async (h) => {
    await using store = h.open({ maxMessageSize: 100 });
    const exact = bytes("x".repeat(98) + "\r\n");
    assertEquals((await store.deliver("mulder", "INBOX", exact)).size, 100);
    await assertStoreError(
      () => store.deliver("mulder", "INBOX", bytes("y".repeat(99) + "\r\n")),
      "TOO_LARGE",
    );
    // Bare LFs count as CRLF: 50 lines of "x\n" are 150 octets as served.
    await assertStoreError(
      () => store.deliver("mulder", "INBOX", bytes("x\n".repeat(50))),
      "TOO_LARGE",
    );
    await assertStoreError(
      () => store.deliver("mulder", "INBOX", bytes("z".repeat(20)), { maxSize: 10 }),
      "TOO_LARGE",
    );
    const { stream, cancelled } = gatedStream([bytes("a".repeat(80)), bytes("b".repeat(80))]);
    await assertStoreError(() => store.deliver("mulder", "INBOX", stream), "TOO_LARGE");
    await cancelled;
    assertEquals((await store.status("mulder", "INBOX")).messages, 1);
    assertEquals((await store.deliver("mulder", "INBOX", bytes("ok\r\n"))).uid, 2);
  });

  test(".deliver() refuses a bad maxSize with RangeError", async (h) => {
    await using store = h.open();
    await assertRejects(
      () => store.deliver("mulder", "INBOX", message("x"), { maxSize: -1 }),
      RangeError,
    );
    await assertRejects(
      () => store.deliver("mulder", "INBOX", message("x"), { maxSize: 1.5 }),
      RangeError,
    );
  });

  test(".deliver() leaves nothing when the body stream fails half-way", async (h) => {
    await using store = h.open();
    const { stream, release } = gatedStream([message("half")], new Error("connection reset"));
    const delivery = store.deliver("mulder", "INBOX", stream);
    release();
    const error = await assertRejects(() => delivery, Error);
    assertEquals(error.message, "connection reset");
    assertEquals((await store.status("mulder", "INBOX")).messages, 0);
    assertEquals((await store.deliver("mulder", "INBOX", message("next"))).uid, 1);
  });

  test(".deliver() stops on an aborted signal and stores nothing", async (h) => {
    await using store = h.open();
    const controller = new AbortController();
    const { stream, cancelled } = gatedStream([message("x")]);
    const delivery = store.deliver("mulder", "INBOX", stream, { signal: controller.signal });
    controller.abort(new Error("client went away"));
    const error = await assertRejects(() => delivery, Error);
    assertEquals(error.message, "client went away");
    await cancelled;
    const aborted = AbortSignal.abort(new Error("already"));
    await assertRejects(
      () => store.deliver("mulder", "INBOX", message("y"), { signal: aborted }),
      Error,
      "already",
    );
    assertEquals((await store.status("mulder", "INBOX")).messages, 0);
  });

  test(".deliver() throws NONEXISTENT for a missing folder unless createFolder is set", async (h) => {
    await using store = h.open();
    await assertStoreError(() => store.deliver("mulder", "Lists", message("x")), "NONEXISTENT");
    const { uid } = await store.deliver("mulder", "Lists.deno", message("x"), {
      createFolder: true,
    });
    assertEquals(uid, 1);
    const names = (await store.listFolders("mulder")).map((f) => [f.name, f.selectable]);
    assertEquals(names, [["INBOX", true], ["Lists", true], ["Lists.deno", true]]);
  });

  test(".deliver() refuses bad flags with BAD_FLAG", async (h) => {
    await using store = h.open();
    for (const flag of ["\\Recent", "\\Foo", "a b", "(x", "", "caf\u00e9", "x]", "a".repeat(129)]) {
      await assertStoreError(
        () => store.deliver("mulder", "INBOX", message("x"), { flags: [flag] }),
        "BAD_FLAG",
      );
    }
    assertEquals((await store.status("mulder", "INBOX")).messages, 0);
  });

  // ---- concurrency ----

  test(".deliver() gives concurrent deliveries distinct UIDs and keeps them all", async (h) => {
    let store = h.open();
    try {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => store.deliver("mulder", "INBOX", message(`m${i}`))),
      );
      const uids = results.map((r) => r.uid).sort((a, b) => a - b);
      assertEquals(uids, Array.from({ length: 12 }, (_, i) => i + 1));
      store = await reopen(h, store);
      const subjects = new Set<string>();
      for (const info of await store.listMessages("mulder", "INBOX")) {
        subjects.add(
          (await text(await store.readMessage("mulder", "INBOX", info.uid))).split("\r\n")[0]!,
        );
      }
      assertEquals(subjects.size, 12);
    } finally {
      await store.close();
    }
  });

  test(".deliver() racing an expunge stays consistent", async (h) => {
    let store = h.open();
    try {
      await store.deliver("mulder", "INBOX", message("old"));
      const { stream, release } = gatedStream([bytes("Subject: new\r\n\r\n")]);
      const delivery = store.deliver("mulder", "INBOX", stream);
      const expunged = store.expunge("mulder", "INBOX", [1, 2]);
      assertEquals(await expunged, [1]);
      release();
      assertEquals((await delivery).uid, 2);
      store = await reopen(h, store);
      assertEquals((await store.listMessages("mulder", "INBOX")).map((m) => m.uid), [2]);
      assertEquals(
        await text(await store.readMessage("mulder", "INBOX", 2)),
        "Subject: new\r\n\r\n",
      );
    } finally {
      await store.close();
    }
  });

  // ---- flags ----

  test(".setFlags() adds, removes and replaces flags and keeps them across reopen", async (h) => {
    let store = h.open();
    try {
      await store.deliver("mulder", "INBOX", message("a"));
      await store.deliver("mulder", "INBOX", message("b"));
      let changed = await store.setFlags("mulder", "INBOX", [1, 2, 7], ["\\Seen", "Work"]);
      assertEquals(changed.map((m) => [m.uid, m.flags]), [[1, ["\\Seen", "Work"]], [2, [
        "\\Seen",
        "Work",
      ]]]);
      changed = await store.setFlags("mulder", "INBOX", [1], ["work", "\\Flagged"], {
        mode: "remove",
      });
      assertEquals(changed.map((m) => m.flags), [["\\Seen"]]);
      changed = await store.setFlags(
        "mulder",
        "INBOX",
        [2],
        ["\\Answered", "\\Deleted", "$Label1"],
        {
          mode: "replace",
        },
      );
      assertEquals(changed.map((m) => m.flags), [["\\Answered", "\\Deleted", "$Label1"]]);
      assertEquals(
        await store.setFlags("mulder", "INBOX", [1], ["\\seen"]),
        [],
        "no change, no report",
      );
      store = await reopen(h, store);
      const infos = await store.listMessages("mulder", "INBOX");
      assertEquals(infos.map((m) => m.flags), [["\\Seen"], ["\\Answered", "\\Deleted", "$Label1"]]);
      assertEquals((await store.status("mulder", "INBOX")).unseen, 1);
    } finally {
      await store.close();
    }
  });

  test(".setFlags() refuses \\Recent with BAD_FLAG and the 65th keyword with LIMIT", async (h) => {
    await using store = h.open();
    await store.deliver("mulder", "INBOX", message("a"));
    await assertStoreError(() => store.setFlags("mulder", "INBOX", [1], ["\\Recent"]), "BAD_FLAG");
    const many = Array.from({ length: 64 }, (_, i) => `k${i}`);
    assertEquals((await store.setFlags("mulder", "INBOX", [1], many))[0]?.flags.length, 64);
    await assertStoreError(() => store.setFlags("mulder", "INBOX", [1], ["one-more"]), "LIMIT");
    await assertRejects(
      () => store.setFlags("mulder", "INBOX", [1], ["x"], { mode: "toggle" as "add" }),
      TypeError,
    );
  });

  // ---- folders ----

  test(".createFolder() creates parents and .listFolders() reports the hierarchy", async (h) => {
    await using store = h.open();
    assertEquals(store.delimiter, ".");
    await store.createFolder("mulder", "Archive.2024.Q1");
    await store.createFolder("mulder", "Sent");
    await store.createFolder("mulder", "inbox.Sub");
    await assertStoreError(() => store.createFolder("mulder", "Sent"), "ALREADY_EXISTS");
    await assertStoreError(() => store.createFolder("mulder", "inbox"), "ALREADY_EXISTS");
    const list = await store.listFolders("mulder");
    assertEquals(list.map((f) => [f.name, f.selectable, f.hasChildren]), [
      ["INBOX", true, true],
      ["Archive", true, true],
      ["Archive.2024", true, true],
      ["Archive.2024.Q1", true, false],
      ["INBOX.Sub", true, false],
      ["Sent", true, false],
    ]);
    assertEquals((await store.listFolders("scully")).map((f) => f.name), ["INBOX"]);
  });

  test(".deleteFolder() keeps children, refuses INBOX and missing folders", async (h) => {
    await using store = h.open();
    await store.createFolder("mulder", "A.B");
    await store.deliver("mulder", "A", message("x"));
    await store.deleteFolder("mulder", "A");
    assertEquals(
      (await store.listFolders("mulder")).map((f) => [f.name, f.selectable, f.hasChildren]),
      [
        ["INBOX", true, false],
        ["A", false, true],
        ["A.B", true, false],
      ],
    );
    await assertStoreError(() => store.status("mulder", "A"), "NONEXISTENT");
    await assertStoreError(() => store.deleteFolder("mulder", "A"), "NONEXISTENT");
    await assertStoreError(() => store.deleteFolder("mulder", "INBOX"), "CANNOT");
    await store.createFolder("mulder", "A");
    assertEquals((await store.status("mulder", "A")).messages, 0);
  });

  test(".renameFolder() moves children and keeps UIDs, UID validity and subscriptions", async (h) => {
    let store = h.open();
    try {
      await store.createFolder("mulder", "Old.Child");
      await store.deliver("mulder", "Old", message("x"));
      await store.deliver("mulder", "Old.Child", message("y"));
      await store.expunge("mulder", "Old", [1]);
      await store.deliver("mulder", "Old", message("z"));
      await store.subscribe("mulder", "Old.Child");
      const validity = (await store.status("mulder", "Old")).uidValidity;
      await store.renameFolder("mulder", "Old", "New.Place");
      store = await reopen(h, store);
      assertEquals((await store.listFolders("mulder")).map((f) => [f.name, f.selectable]), [
        ["INBOX", true],
        ["New", true],
        ["New.Place", true],
        ["New.Place.Child", true],
      ]);
      const status = await store.status("mulder", "New.Place");
      assertEquals([status.uidValidity, status.uidNext, status.messages], [validity, 3, 1]);
      assertEquals((await store.listMessages("mulder", "New.Place")).map((m) => m.uid), [2]);
      assertEquals((await store.listMessages("mulder", "New.Place.Child")).length, 1);
      assertEquals(await store.listSubscriptions("mulder"), ["New.Place.Child"]);
      await assertStoreError(() => store.status("mulder", "Old"), "NONEXISTENT");
    } finally {
      await store.close();
    }
  });

  test(".renameFolder() refuses existing targets, moves into itself and missing sources", async (h) => {
    await using store = h.open();
    await store.createFolder("mulder", "A");
    await store.createFolder("mulder", "B");
    await assertStoreError(() => store.renameFolder("mulder", "A", "B"), "ALREADY_EXISTS");
    await assertStoreError(() => store.renameFolder("mulder", "A", "INBOX"), "ALREADY_EXISTS");
    await assertStoreError(() => store.renameFolder("mulder", "A", "A.Inner"), "CANNOT");
    await assertStoreError(() => store.renameFolder("mulder", "Nope", "C"), "NONEXISTENT");
  });

  test(".renameFolder() of INBOX moves its messages and leaves INBOX empty", async (h) => {
    await using store = h.open();
    await store.deliver("mulder", "INBOX", message("a"), { flags: ["\\Seen"] });
    await store.deliver("mulder", "INBOX", message("b"));
    await store.renameFolder("mulder", "INBOX", "Old Mail");
    assertEquals((await store.status("mulder", "INBOX")).messages, 0);
    const moved = await store.listMessages("mulder", "Old Mail");
    assertEquals(moved.map((m) => m.flags), [["\\Seen"], []]);
    assertEquals((await store.deliver("mulder", "INBOX", message("c"))).uid, 3);
  });

  test(" folder and user names are validated with BAD_NAME", async (h) => {
    await using store = h.open();
    const badFolders = [
      "",
      "a..b",
      ".a",
      "a.",
      "..",
      "a/b",
      "../../etc",
      "a\u0000b",
      "a\nb",
      "a\rb",
      "a\u007fb",
      "a\u0085b",
      "a*",
      "50%",
      "x".repeat(201),
      "bad\ud800",
    ];
    for (const name of badFolders) {
      await assertStoreError(() => store.createFolder("mulder", name), "BAD_NAME");
      await assertStoreError(() => store.deliver("mulder", name, message("x")), "BAD_NAME");
      await assertStoreError(() => store.subscribe("mulder", name), "BAD_NAME");
    }
    for (const user of ["", "..", "../x", "a/b", ".hidden", "a\nb", "a\u0000", "x".repeat(256)]) {
      await assertStoreError(() => store.deliver(user, "INBOX", message("x")), "BAD_NAME");
      await assertStoreError(() => store.listFolders(user), "BAD_NAME");
    }
    await store.createFolder("mulder", "Entwürfe & Ideen");
    await store.createFolder("mulder", "x".repeat(200));
    assertEquals((await store.deliver("mulder", "inbox", message("x"))).uid, 1);
    assertEquals((await store.listMessages("mulder", "InBoX")).length, 1);
    assert((await store.listFolders("mulder")).some((f) => f.name === "Entwürfe & Ideen"));
  });

  test(".subscribe() and .unsubscribe() keep a sorted list across reopen", async (h) => {
    let store = h.open();
    try {
      await store.createFolder("mulder", "Sent");
      await store.subscribe("mulder", "Sent");
      await store.subscribe("mulder", "inbox");
      await store.subscribe("mulder", "Not.Yet");
      await store.subscribe("mulder", "Sent");
      assertEquals(await store.listSubscriptions("mulder"), ["INBOX", "Not.Yet", "Sent"]);
      await store.unsubscribe("mulder", "Not.Yet");
      await store.unsubscribe("mulder", "Never");
      await store.deleteFolder("mulder", "Sent");
      store = await reopen(h, store);
      assertEquals(await store.listSubscriptions("mulder"), ["INBOX", "Sent"]);
      assertEquals((await store.listFolders("mulder")).map((f) => [f.name, f.subscribed]), [[
        "INBOX",
        true,
      ]]);
    } finally {
      await store.close();
    }
  });

  // ---- copy and move ----

  test(".copy() keeps flags and dates and returns the COPYUID UIDs", async (h) => {
    let store = h.open();
    try {
      await store.createFolder("mulder", "Archive");
      await store.deliver("mulder", "Archive", message("existing"));
      const date = new Date("2020-01-02T03:04:05Z");
      await store.deliver("mulder", "INBOX", message("a"), {
        flags: ["\\Flagged", "Work"],
        internalDate: date,
      });
      await store.deliver("mulder", "INBOX", message("b"));
      await store.deliver("mulder", "INBOX", message("c"));
      await store.expunge("mulder", "INBOX", [2]);
      const result = await store.copy("mulder", "INBOX", [3, 1, 2, 50], "Archive");
      const validity = (await store.status("mulder", "Archive")).uidValidity;
      assertEquals(result, { uidValidity: validity, sourceUids: [1, 3], destinationUids: [2, 3] });
      store = await reopen(h, store);
      const copies = await store.listMessages("mulder", "Archive");
      assertEquals(copies.map((m) => [m.uid, m.flags]), [[1, []], [2, ["\\Flagged", "Work"]], [
        3,
        [],
      ]]);
      assertEquals(copies[1]?.internalDate.getTime(), date.getTime());
      assertEquals(
        await text(await store.readMessage("mulder", "Archive", 3)),
        new TextDecoder().decode(message("c")),
      );
      assertEquals((await store.listMessages("mulder", "INBOX")).length, 2);
      assertEquals((await store.copy("mulder", "INBOX", [1], "INBOX")).destinationUids, [4]);
      await assertStoreError(() => store.copy("mulder", "INBOX", [1], "Nope"), "NONEXISTENT");
    } finally {
      await store.close();
    }
  });

  test(".move() moves messages, expunges them in the source and returns the new UIDs", async (h) => {
    let store = h.open();
    try {
      await store.createFolder("mulder", "Trash");
      await store.deliver("mulder", "INBOX", message("a"), { flags: ["\\Seen"] });
      await store.deliver("mulder", "INBOX", message("b"));
      const watch = store.watch("mulder", "INBOX");
      const result = await store.move("mulder", "INBOX", [1, 2], "Trash");
      assertEquals(result.sourceUids, [1, 2]);
      assertEquals(result.destinationUids, [1, 2]);
      assertEquals((await watch.next()).value, {
        type: "expunge",
        user: "mulder",
        folder: "INBOX",
        uids: [1, 2],
      });
      watch.close();
      store = await reopen(h, store);
      assertEquals((await store.listMessages("mulder", "INBOX")).length, 0);
      const moved = await store.listMessages("mulder", "Trash");
      assertEquals(moved.map((m) => m.flags), [["\\Seen"], []]);
      assertEquals(
        await text(await store.readMessage("mulder", "Trash", 2)),
        new TextDecoder().decode(message("b")),
      );
      const same = await store.move("mulder", "Trash", [1], "Trash");
      assertEquals(same.destinationUids, [3]);
      assertEquals((await store.listMessages("mulder", "Trash")).map((m) => m.uid), [2, 3]);
    } finally {
      await store.close();
    }
  });

  // ---- POP3 ----

  test(".lockMailbox() gives POP3 numbers, sizes and stable unique ids, and refuses a second lock", async (h) => {
    let store = h.open();
    try {
      const a = await store.deliver("mulder", "INBOX", message("a"));
      await store.deliver("mulder", "INBOX", message("bb"));
      let ids: string[];
      {
        await using lock = await store.lockMailbox("mulder", "INBOX");
        assertEquals(lock.messages.map((m) => m.size), [message("a").length, message("bb").length]);
        ids = lock.messages.map((m) => m.uniqueId);
        const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");
        assertEquals(ids[0], hex(1) + hex(a.uidValidity));
        assert(ids.every((id) => /^[\x21-\x7e]{1,70}$/.test(id)));
        const error = await assertStoreError(() => store.lockMailbox("mulder", "INBOX"), "IN_USE");
        assertEquals(error.message, 'Cannot lock folder "INBOX" of "mulder": it is in use');
        await store.deliver("mulder", "INBOX", message("during"));
        assertEquals(lock.messages.length, 2, "the snapshot is fixed at locking time");
        // POP3 QUIT: DELE 1 committed.
        assertEquals(await store.expunge("mulder", "INBOX", [lock.messages[0]!.uid]), [1]);
      }
      store = await reopen(h, store);
      await using lock = await store.lockMailbox("mulder", "INBOX");
      assertEquals(lock.messages.map((m) => m.uniqueId), [ids[1], lock.messages[1]!.uniqueId]);
      assertEquals(lock.messages.map((m) => m.uid), [2, 3]);
      lock.release();
      lock.release();
      assertEquals(lock.released, true);
    } finally {
      await store.close();
    }
  });

  test(".lockMailbox() lock is released when the session fails", async (h) => {
    await using store = h.open();
    const session = async () => {
      await using _lock = await store.lockMailbox("mulder", "INBOX");
      throw new Error("connection dropped");
    };
    await assertRejects(session, Error, "connection dropped");
    await using lock = await store.lockMailbox("mulder", "INBOX");
    await using other = await store.lockMailbox("scully", "INBOX");
    assertEquals([lock.user, other.user], ["mulder", "scully"]);
  });

  // ---- IMAP views ----

  test(".openView() maps sequence numbers and sync() reports other sessions' expunges in order", async (h) => {
    await using store = h.open();
    for (let i = 1; i <= 12; i++) await store.deliver("mulder", "INBOX", message(`m${i}`));
    await store.expunge("mulder", "INBOX", [1]);
    await using view = await store.openView("mulder", "INBOX");
    assertEquals(view.exists, 11);
    assertEquals(view.uidAt(1), 2);
    assertEquals(view.seqOf(12), 11);
    assertEquals(view.seqOf(1), undefined);
    assertEquals(view.uidAt(0), undefined);
    assertEquals(view.uidAt(12), undefined);
    assertEquals(view.message(2)?.uid, 3);
    assertEquals(view.messageByUid(5)?.uid, 5);
    // RFC 3501 §6.4.3 example: messages 3, 4, 7 and 11 go.
    await store.expunge("mulder", "INBOX", [4, 5, 8, 12]);
    assertEquals(view.exists, 11, "the snapshot waits for sync");
    assertEquals(view.pending, true);
    const update = view.sync();
    assertEquals(update.expunged, [3, 3, 5, 8]);
    assertEquals(update.exists, undefined);
    assertEquals(view.exists, 7);
    assertEquals(view.uids, [2, 3, 6, 7, 9, 10, 11]);
    assertEquals(view.pending, false);
    assertEquals(view.sync(), {
      expunged: [],
      exists: undefined,
      recent: undefined,
      flags: [],
      deleted: false,
    });
  });

  test(".openView() sees deliveries and other sessions' flags on sync, not its own", async (h) => {
    await using store = h.open();
    await store.deliver("mulder", "INBOX", message("a"));
    await store.deliver("mulder", "INBOX", message("b"));
    await using one = await store.openView("mulder", "INBOX");
    await using two = await store.openView("mulder", "INBOX");
    const changed = await one.setFlags([2], ["\\Seen", "Todo"]);
    assertEquals(changed.map((m) => [m.uid, m.flags]), [[2, ["\\Seen", "Todo"]]]);
    assertEquals(one.message(2)?.flags, ["\\Seen", "Todo"]);
    assertEquals(one.pending, false);
    assertEquals(one.keywords(), ["Todo"]);
    assertEquals(two.message(2)?.flags, [], "flags change on sync");
    await store.deliver("mulder", "INBOX", message("c"));
    const update = two.sync();
    assertEquals(update.flags.map((f) => [f.seq, f.message.flags]), [[2, ["\\Seen", "Todo"]]]);
    assertEquals(update.exists, 3);
    assertEquals(two.uidNext, 4);
    const own = one.sync();
    assertEquals([own.exists, own.flags.length], [3, 0]);
  });

  test(".openView() expunge() removes only \\Deleted messages of the snapshot", async (h) => {
    await using store = h.open();
    for (let i = 0; i < 4; i++) await store.deliver("mulder", "INBOX", message(`m${i}`));
    await using view = await store.openView("mulder", "INBOX");
    await using other = await store.openView("mulder", "INBOX");
    await view.setFlags([2, 3], ["\\Deleted"]);
    await store.deliver("mulder", "INBOX", message("late"), { flags: ["\\Deleted"] });
    assertEquals(await view.expunge([3, 4]), [3]);
    assertEquals(await view.expunge(), [2]);
    assertEquals(view.uids, [1, 4]);
    assertEquals(view.sync().exists, 3);
    assertEquals((await store.listMessages("mulder", "INBOX")).map((m) => m.uid), [1, 4, 5]);
    const seen = other.sync();
    assertEquals(seen.expunged, [2, 2]);
    assertEquals(seen.exists, 3);
    assertEquals(other.uids, [1, 4, 5]);
  });

  test(".openView() move() returns COPYUID data and the EXPUNGE sequence numbers", async (h) => {
    await using store = h.open();
    await store.createFolder("mulder", "Done");
    for (let i = 0; i < 3; i++) await store.deliver("mulder", "INBOX", message(`m${i}`));
    await using view = await store.openView("mulder", "INBOX");
    const result = await view.move([2, 3], "Done");
    assertEquals(result.sourceUids, [2, 3]);
    assertEquals(result.destinationUids, [1, 2]);
    assertEquals(result.expunged, [2, 2]);
    assertEquals(view.uids, [1]);
    assertEquals(view.sync().expunged, []);
    await using done = await store.openView("mulder", "Done", { readOnly: true });
    assertEquals(done.exists, 2);
  });

  test(".openView() read-only views refuse changes with READ_ONLY and claim no recent", async (h) => {
    await using store = h.open();
    await store.deliver("mulder", "INBOX", message("a"));
    await using examine = await store.openView("mulder", "INBOX", { readOnly: true });
    assertEquals(examine.readOnly, true);
    assertEquals(examine.recent, 0);
    await assertStoreError(() => examine.setFlags([1], ["\\Seen"]), "READ_ONLY");
    await assertStoreError(() => examine.expunge(), "READ_ONLY");
    await assertStoreError(() => examine.move([1], "INBOX"), "READ_ONLY");
    assertEquals((await store.status("mulder", "INBOX")).recent, 1);
    await using select = await store.openView("mulder", "INBOX");
    assertEquals(select.recent, 1);
    assertEquals(select.isRecent(1), true);
    assertEquals((await store.status("mulder", "INBOX")).recent, 0);
    await using later = await store.openView("mulder", "INBOX");
    assertEquals(later.recent, 0, "a message is recent in one session only");
    await store.deliver("mulder", "INBOX", message("b"));
    const update = select.sync();
    assertEquals([update.exists, update.recent], [2, 2]);
    assertEquals(later.sync().recent, 0);
    assertEquals(await text(await examine.read(1)), new TextDecoder().decode(message("a")));
  });

  test(".openView() a message delivered and expunged between syncs is never reported", async (h) => {
    await using store = h.open();
    await using view = await store.openView("mulder", "INBOX");
    const { uid } = await store.deliver("mulder", "INBOX", message("brief"));
    await store.setFlags("mulder", "INBOX", [uid], ["\\Seen"]);
    await store.expunge("mulder", "INBOX", [uid]);
    const update = view.sync();
    assertEquals([update.expunged, update.exists, update.flags], [[], undefined, []]);
    assertEquals(view.uidNext, 2);
  });

  test(".openView() closes and reports deleted when the folder is deleted", async (h) => {
    await using store = h.open();
    await store.createFolder("mulder", "Gone");
    await using view = await store.openView("mulder", "Gone");
    const changed = view.changed();
    await store.deleteFolder("mulder", "Gone");
    await changed;
    assertEquals(view.sync().deleted, true);
    assertEquals(view.closed, true);
    await assertStoreError(() => view.setFlags([1], ["\\Seen"]), "CLOSED");
  });

  // ---- IDLE ----

  test(".openView() changed() resolves on a delivery for IDLE and rejects on abort", async (h) => {
    await using store = h.open();
    await using view = await store.openView("mulder", "INBOX");
    const controller = new AbortController();
    const idle = view.changed(controller.signal);
    controller.abort(new Error("DONE"));
    await assertRejects(() => idle, Error, "DONE");
    const wake = view.changed();
    await store.deliver("mulder", "INBOX", message("new"));
    await wake;
    assertEquals(view.sync().exists, 1);
    const flagWake = view.changed();
    await store.setFlags("mulder", "INBOX", [1], ["\\Flagged"]);
    await flagWake;
    assertEquals(view.sync().flags.map((f) => f.message.flags), [["\\Flagged"]]);
    const closing = view.changed();
    view.close();
    await closing;
  });

  test(".watch() reports exists, flags and expunge events until closed", async (h) => {
    await using store = h.open();
    const watch = store.watch("mulder", "INBOX");
    await store.deliver("mulder", "INBOX", message("a"));
    await store.setFlags("mulder", "INBOX", [1], ["\\Seen"]);
    await store.expunge("mulder", "INBOX", [1]);
    const events: MailStoreEvent[] = [];
    for (let i = 0; i < 3; i++) events.push((await watch.next()).value as MailStoreEvent);
    assertEquals(events[0], { type: "exists", user: "mulder", folder: "INBOX", uids: [1] });
    assertEquals(events[1]?.type, "flags");
    assertEquals(events[1]?.type === "flags" ? events[1].messages.map((m) => m.flags) : [], [[
      "\\Seen",
    ]]);
    assertEquals(events[2], { type: "expunge", user: "mulder", folder: "INBOX", uids: [1] });
    const pending = watch.next();
    watch.close();
    assertEquals((await pending).done, true);
    await store.deliver("mulder", "INBOX", message("b"));
    assertEquals((await watch.next()).done, true);
  });

  test(".watch() ends on abort and with for await break", async (h) => {
    await using store = h.open();
    const controller = new AbortController();
    const watch = store.watch("mulder", "INBOX", { signal: controller.signal });
    const next = watch.next();
    controller.abort();
    assertEquals((await next).done, true);
    const other = store.watch("mulder", "INBOX");
    await store.deliver("mulder", "INBOX", message("a"));
    for await (const event of other) {
      assertEquals(event.type, "exists");
      break;
    }
    assertEquals((await other.next()).done, true);
  });

  test(".watch() keeps at most maxQueuedEvents and then reports overflow", async (h) => {
    await using store = h.open();
    using watch = store.watch("mulder", "INBOX", { maxQueuedEvents: 2 });
    for (let i = 0; i < 5; i++) await store.deliver("mulder", "INBOX", message(`m${i}`));
    assertEquals((await watch.next()).value, { type: "overflow", user: "mulder", folder: "INBOX" });
    await store.deliver("mulder", "INBOX", message("after"));
    assertEquals((await watch.next()).value, {
      type: "exists",
      user: "mulder",
      folder: "INBOX",
      uids: [6],
    });
    assertRejectsSync(() => store.watch("mulder", "INBOX", { maxQueuedEvents: 0 }), RangeError);
  });

  // ---- lifecycle ----

  test(".close() makes later calls throw CLOSED", async (h) => {
    const store = h.open();
    await store.deliver("mulder", "INBOX", message("a"));
    const view = await store.openView("mulder", "INBOX");
    await store.close();
    await store.close();
    assertEquals(view.closed, true);
    await assertStoreError(() => store.deliver("mulder", "INBOX", message("b")), "CLOSED");
    await assertStoreError(() => store.listFolders("mulder"), "CLOSED");
    await assertStoreError(() => view.setFlags([1], ["\\Seen"]), "CLOSED");
  });
}

function assertRejectsSync(fn: () => unknown, errorClass: new (...args: never[]) => Error): void {
  try {
    fn();
  } catch (error) {
    assertInstanceOf(error, errorClass);
    return;
  }
  throw new Error("expected a throw");
}
