import { MaildirStore } from "../../mail/maildir_store.ts";
import type { MailboxView, MailStoreEvent } from "../../mail/mail_store.ts";
import { MAIL_VIEW_READ_SMALL, type MailViewReadSmall } from "../../mail/_mail_store_engine.ts";
import {
  assertStoreError,
  bytes,
  gatedStream,
  mailStoreContract,
  message,
  text,
} from "./_mail_store_contract.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "../_helpers/assert.ts";

mailStoreContract("MaildirStore", async () => {
  const root = await Deno.makeTempDir({ prefix: "inetkit-maildir-" });
  const stores: MaildirStore[] = [];
  return {
    durable: true,
    open(options?: { maxMessageSize?: number }) {
      const store = new MaildirStore(root, options);
      stores.push(store);
      return store;
    },
    async cleanup() {
      for (const store of stores) await store.close();
      await Deno.remove(root, { recursive: true });
    },
  };
});

/** Runs `fn` with a fresh temporary root and removes it afterwards. */
async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "inetkit-maildir-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) out.push(entry.name);
  return out.sort();
}

/** Polls `check` every 5 ms for up to 5 s. */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("condition not reached in 5 s");
}

const NAME_REGEXP = /^\d+\.M\d+P\d+Q\d+R[0-9a-f]{16}\.[^/:,]+,U=\d+,S=\d+,W=\d+$/;

// ---- durability ----

Deno.test("MaildirStore.deliver() survives kill -9 right after it resolved", async () => {
  await withRoot(async (root) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./_maildir_deliver_child.ts", import.meta.url).pathname,
        root,
        "300000",
      ],
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let output = "";
    try {
      while (!output.includes("\n")) {
        const { done, value } = await reader.read();
        if (done) break;
        output += value;
      }
      child.kill("SIGKILL");
    } finally {
      await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
    const status = await child.status;
    assertEquals(status.signal, "SIGKILL");
    assertEquals(output, "delivered 1\n");
    await using store = new MaildirStore(root);
    const [info] = await store.listMessages("mulder", "INBOX");
    assertEquals(info?.uid, 1);
    const body = await text(await store.readMessage("mulder", "INBOX", 1));
    assert(body.startsWith("Subject: survives kill -9\r\n\r\n"));
    assertEquals(body.length, info?.size);
    assert(body.length >= 300000);
    assertEquals((await names(`${root}/mulder/tmp`)).length, 0);
    assertEquals((await store.deliver("mulder", "INBOX", message("after"))).uid, 2);
  });
});

/**
 * Runs `fn` while recording the file system calls that order durability:
 * fsyncs (with the path of the file or directory), renames and removals,
 * as paths below the Maildir with message names shortened to `*`.
 */
async function recordingFsCalls(root: string, fn: () => Promise<void>): Promise<string[]> {
  const log: string[] = [];
  const paths = new WeakMap<Deno.FsFile, string>();
  const original = {
    open: Deno.open,
    openSync: Deno.openSync,
    rename: Deno.rename,
    renameSync: Deno.renameSync,
    remove: Deno.remove,
    sync: Deno.FsFile.prototype.sync,
    syncData: Deno.FsFile.prototype.syncData,
  };
  const short = (p: string | URL) => {
    const path = String(p).slice(root.length + "/mulder".length);
    return path === "" ? "." : path.slice(1).replace(/\/[^/]+$/, "/*");
  };
  Deno.open = async (path, options) => {
    const file = await original.open(path, options);
    paths.set(file, String(path));
    return file;
  };
  Deno.openSync = (path, options) => {
    const file = original.openSync(path, options);
    paths.set(file, String(path));
    return file;
  };
  Deno.rename = async (from, to) => {
    log.push(`rename ${short(from)} ${short(to)}`);
    await original.rename(from, to);
  };
  Deno.renameSync = (from, to) => {
    log.push(`rename ${short(from)} ${short(to)}`);
    original.renameSync(from, to);
  };
  Deno.remove = async (path, options) => {
    log.push(`remove ${short(path)}`);
    await original.remove(path, options);
  };
  Deno.FsFile.prototype.sync = async function (this: Deno.FsFile) {
    log.push(`sync ${short(paths.get(this) ?? "?")}`);
    await original.sync.call(this);
  };
  Deno.FsFile.prototype.syncData = async function (this: Deno.FsFile) {
    log.push(`sync ${short(paths.get(this) ?? "?")}`);
    await original.syncData.call(this);
  };
  try {
    await fn();
  } finally {
    Object.assign(Deno, {
      open: original.open,
      openSync: original.openSync,
      rename: original.rename,
      renameSync: original.renameSync,
      remove: original.remove,
    });
    Deno.FsFile.prototype.sync = original.sync;
    Deno.FsFile.prototype.syncData = original.syncData;
  }
  return log;
}

Deno.test("MaildirStore.deliver() fsyncs the file before the rename and the directory after it, and nothing else", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore(root);
    await store.status("mulder", "INBOX");
    const before = await Deno.readTextFile(`${root}/mulder/inetkit-uidlist`);
    const log = await recordingFsCalls(root, async () => {
      await store.deliver("mulder", "INBOX", message("durable"));
    });
    assertEquals(log, ["sync tmp/*", "rename tmp/* new/*", "sync new"]);
    // The index line is appended; the UID it records is in the file name too.
    const [name] = await names(`${root}/mulder/new`);
    const after = await Deno.readTextFile(`${root}/mulder/inetkit-uidlist`);
    assertEquals(after.slice(0, before.length), before);
    assertMatch(after.slice(before.length), /^1\t\d+\t\d+\t[^\t]+,U=1,S=\d+,W=\d+\t\n$/);
    assert(name!.includes(",U=1,"), name);
  });
});

Deno.test("MaildirStore.expunge() makes earlier deliveries' index lines durable before it removes a file", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore(root);
    await store.deliver("mulder", "INBOX", message("a"));
    await store.deliver("mulder", "INBOX", message("b"));
    const log = await recordingFsCalls(root, async () => {
      await store.expunge("mulder", "INBOX", [2]);
    });
    assertEquals(log, [
      "sync inetkit-uidlist",
      "remove new/*",
      "sync new",
      "sync cur",
      "sync inetkit-uidlist",
    ]);
    assert((await Deno.readTextFile(`${root}/mulder/inetkit-uidlist`)).endsWith("\n-2\n"));
    // Nothing was delivered since: the next expunge needs no extra fsync.
    const again = await recordingFsCalls(root, async () => {
      await store.expunge("mulder", "INBOX", [1]);
    });
    assertEquals(again[0], "remove new/*");
  });
});

Deno.test("MaildirStore.deliver() leaves nothing in new/, cur/ or tmp/ when the stream fails half-way", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore(root);
    await store.deliver("mulder", "INBOX", message("kept"), { flags: ["\\Seen"] });
    const before = {
      new: await names(`${root}/mulder/new`),
      cur: await names(`${root}/mulder/cur`),
    };
    const half = bytes("Subject: half\r\n\r\n" + "x".repeat(200000));
    const { stream, release } = gatedStream(
      [half.subarray(0, 100000), half.subarray(100000)],
      new Error("reset"),
    );
    const delivery = store.deliver("mulder", "INBOX", stream, { flags: ["\\Flagged"] });
    await waitFor(async () => (await names(`${root}/mulder/tmp`)).length === 1);
    release();
    await assertRejects(() => delivery, Error, "reset");
    assertEquals(await names(`${root}/mulder/new`), before.new);
    assertEquals(await names(`${root}/mulder/cur`), before.cur);
    assertEquals(await names(`${root}/mulder/tmp`), []);
    await assertStoreError(
      () => store.deliver("mulder", "INBOX", bytes("y".repeat(1000)), { maxSize: 10 }),
      "TOO_LARGE",
    );
    assertEquals(await names(`${root}/mulder/tmp`), []);
    assertEquals(await names(`${root}/mulder/new`), before.new);
  });
});

Deno.test("MaildirStore keeps the next UID after the highest message is expunged and the store reopened", async () => {
  await withRoot(async (root) => {
    {
      await using store = new MaildirStore(root);
      await store.deliver("mulder", "INBOX", message("a"));
      await store.deliver("mulder", "INBOX", message("b"));
      await store.expunge("mulder", "INBOX", [2]);
    }
    await using store = new MaildirStore(root);
    assertEquals((await store.deliver("mulder", "INBOX", message("c"))).uid, 3);
  });
});

// ---- outside tools ----

Deno.test("MaildirStore.rescan() gives a message another tool wrote into new/ the next UID", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore(root);
    await store.deliver("mulder", "INBOX", message("ours"));
    await using view = await store.openView("mulder", "INBOX");
    const events: MailStoreEvent[] = [];
    const watch = store.watch("mulder", "INBOX");
    // Like Postfix: LF line ends, tmp/ then a rename into new/.
    const outside = "Subject: from postfix\n\nline one\nline two\n";
    await Deno.writeTextFile(`${root}/mulder/tmp/1700000000.P1Q1.mx`, outside);
    await Deno.rename(
      `${root}/mulder/tmp/1700000000.P1Q1.mx`,
      `${root}/mulder/new/1700000000.P1Q1.mx`,
    );
    await Deno.utime(`${root}/mulder/new/1700000000.P1Q1.mx`, 1700000000, 1700000000);
    assertEquals((await store.listMessages("mulder", "INBOX")).length, 1, "noticed only on rescan");
    await store.rescan("mulder", "INBOX");
    events.push((await watch.next()).value as MailStoreEvent);
    assertEquals(events, [{ type: "exists", user: "mulder", folder: "INBOX", uids: [2] }]);
    const info = (await store.listMessages("mulder", "INBOX"))[1]!;
    assertEquals(info.uid, 2);
    assertEquals(info.size, outside.length + 4);
    assertEquals(info.internalDate.getTime(), 1700000000 * 1000);
    assertEquals(
      await text(await store.readMessage("mulder", "INBOX", 2)),
      outside.replaceAll("\n", "\r\n"),
    );
    assertEquals(
      await text(await store.readMessage("mulder", "INBOX", 2, { start: 23, length: 10 })),
      "\r\nline one",
    );
    assertEquals(view.sync().exists, 2);

    // Like mutt marking it read, then deleting the first message.
    await Deno.rename(
      `${root}/mulder/new/1700000000.P1Q1.mx`,
      `${root}/mulder/cur/1700000000.P1Q1.mx:2,S`,
    );
    const ours = (await names(`${root}/mulder/cur`)).find((n) => !n.startsWith("1700000000.P1Q1"));
    await Deno.remove(`${root}/mulder/cur/${ours}`);
    await store.rescan("mulder", "INBOX");
    const kinds = [(await watch.next()).value, (await watch.next()).value] as MailStoreEvent[];
    assertEquals(kinds.map((e) => e.type), ["expunge", "flags"]);
    const update = view.sync();
    assertEquals(update.expunged, [1]);
    assertEquals(update.flags.map((f) => [f.seq, f.message.flags]), [[1, ["\\Seen"]]]);
    watch.close();
    await store.close();
    await using again = new MaildirStore(root);
    assertEquals((await again.listMessages("mulder", "INBOX")).map((m) => [m.uid, m.flags]), [[2, [
      "\\Seen",
    ]]]);
  });
});

Deno.test("MaildirStore.openView() picks up outside deliveries and moves new/ to cur/", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore(root);
    await store.status("mulder", "INBOX");
    await Deno.writeTextFile(`${root}/mulder/new/1700000001.outside`, "Subject: x\r\n\r\n");
    await using view = await store.openView("mulder", "INBOX");
    assertEquals([view.exists, view.recent, view.uidAt(1)], [1, 1, 1]);
    assertEquals(await names(`${root}/mulder/new`), []);
    assertEquals(await names(`${root}/mulder/cur`), ["1700000001.outside:2,"]);
  });
});

// ---- layout and other tools ----

Deno.test("MaildirStore writes a standard Maildir++ layout", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore(root);
    await store.deliver("mulder", "INBOX", message("plain"));
    await store.deliver("mulder", "INBOX", message("flagged"), {
      flags: ["\\Seen", "\\Flagged", "\\Answered"],
    });
    await store.createFolder("mulder", "Archive.2024");
    await store.createFolder("mulder", "Entwürfe");
    await store.deliver("mulder", "Archive", message("old"), {
      flags: ["\\Deleted", "\\Draft", "Work"],
    });
    const maildir = `${root}/mulder`;
    assertEquals(await names(maildir), [
      ".Archive",
      ".Archive.2024",
      ".Entw&APw-rfe",
      "cur",
      "inetkit-headers",
      "inetkit-uidlist",
      "new",
      "tmp",
    ]);
    assertEquals(await names(`${maildir}/.Archive`), [
      "cur",
      "inetkit-headers",
      "inetkit-uidlist",
      "maildirfolder",
      "new",
      "tmp",
    ]);
    const [plain] = await names(`${maildir}/new`);
    assertMatch(plain!, NAME_REGEXP);
    const [flagged] = await names(`${maildir}/cur`);
    assertMatch(flagged!.split(":")[0]!, NAME_REGEXP);
    assert(flagged!.endsWith(":2,FRS"), flagged);
    const [archived] = await names(`${maildir}/.Archive/cur`);
    assert(archived!.endsWith(":2,DT"), archived);
    const size = message("plain").length;
    assert(plain!.endsWith(`,S=${size},W=${size}`));
    assertEquals((await Deno.stat(`${maildir}/new/${plain}`)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${maildir}/cur`)).mode! & 0o777, 0o700);
    // Written when the folder was made, then the delivery's line appended.
    const uidlist = await Deno.readTextFile(`${maildir}/.Archive/inetkit-uidlist`);
    assertMatch(uidlist, /^inetkit-uidlist 2 V\d+ N1 R1\n1\t\d+\t\d+\t[^\t]+,U=1,[^\t]+\tWork\n$/);
    await store.subscribe("mulder", "Archive");
    assertEquals(await Deno.readTextFile(`${maildir}/inetkit-subscriptions`), "Archive\n");
    assertEquals(store.folderPath("mulder", "Entwürfe"), `${maildir}/.Entw&APw-rfe`);
  });
});

const PYTHON = "/usr/bin/python3";
const hasPython = (() => {
  try {
    return Deno.statSync(PYTHON).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "MaildirStore Maildirs are read and written by Python's mailbox.Maildir",
  ignore: !hasPython,
  async fn() {
    await withRoot(async (root) => {
      await using store = new MaildirStore(root);
      await store.deliver("mulder", "INBOX", message("first", "one"));
      await store.deliver("mulder", "INBOX", message("second", "two"), {
        flags: ["\\Seen", "\\Answered"],
      });
      await store.deliver("mulder", "Archive", message("archived", "three"), {
        createFolder: true,
        flags: ["\\Flagged"],
      });
      const script = `
import json, mailbox, sys
md = mailbox.Maildir(sys.argv[1], create=False)
out = {"folders": sorted(md.list_folders()), "inbox": [], "archive": []}
for msg in sorted(md, key=lambda m: m["Subject"]):
    out["inbox"].append([msg["Subject"], msg.get_flags(), msg.get_subdir(), msg.get_payload()])
for msg in md.get_folder("Archive"):
    out["archive"].append([msg["Subject"], msg.get_flags(), msg.get_subdir()])
md.add(b"Subject: from python\\n\\nwritten by mailbox.Maildir\\n")
print(json.dumps(out))
`;
      const result = await new Deno.Command(PYTHON, { args: ["-c", script, `${root}/mulder`] })
        .output();
      assertEquals(new TextDecoder().decode(result.stderr), "");
      const seen = JSON.parse(new TextDecoder().decode(result.stdout));
      assertEquals(seen, {
        folders: ["Archive"],
        // Python's parser turns CRLF into LF in payloads.
        inbox: [["first", "", "new", "one\n"], ["second", "RS", "cur", "two\n"]],
        archive: [["archived", "F", "cur"]],
      });
      await store.rescan("mulder", "INBOX");
      const infos = await store.listMessages("mulder", "INBOX");
      assertEquals(infos.map((m) => m.uid), [1, 2, 3]);
      assertEquals(
        await text(await store.readMessage("mulder", "INBOX", 3)),
        "Subject: from python\r\n\r\nwritten by mailbox.Maildir\r\n",
      );
    });
  },
});

Deno.test("MaildirStore lineEnding lf writes Unix line ends and serves CRLF", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore(root, { lineEnding: "lf" });
    const crlf = "Subject: lf\r\n\r\nbody\r\nend\r\n";
    const { size } = await store.deliver("mulder", "INBOX", bytes(crlf));
    assertEquals(size, crlf.length);
    const [name] = await names(`${root}/mulder/new`);
    assertEquals(
      await Deno.readTextFile(`${root}/mulder/new/${name}`),
      crlf.replaceAll("\r\n", "\n"),
    );
    assert(name!.endsWith(`,S=${crlf.length - 4},W=${crlf.length}`));
    assertEquals(await text(await store.readMessage("mulder", "INBOX", 1)), crlf);
    for (let start = 0; start <= crlf.length; start++) {
      const part = await text(await store.readMessage("mulder", "INBOX", 1, { start, length: 5 }));
      assertEquals(part, crlf.slice(start, start + 5));
    }
    assertThrows(() => new MaildirStore(root, { lineEnding: "cr" as "lf" }), TypeError);
    assertThrows(() => new MaildirStore(""), TypeError);
  });
});

// ---- index ----

Deno.test("MaildirStore starts over with a new UID validity when the uidlist is damaged", async () => {
  await withRoot(async (root) => {
    let validity: number;
    {
      await using store = new MaildirStore(root);
      validity = (await store.deliver("mulder", "INBOX", message("a"))).uidValidity;
      await store.deliver("mulder", "INBOX", message("b"));
    }
    const path = `${root}/mulder/inetkit-uidlist`;
    const lines = (await Deno.readTextFile(path)).split("\n");
    lines[1] = lines[1]!.replace("\t", " ");
    await Deno.writeTextFile(path, lines.join("\n"));
    await using store = new MaildirStore(root);
    const status = await store.status("mulder", "INBOX");
    assertNotEquals(status.uidValidity, validity);
    assertEquals([status.messages, status.uidNext], [2, 3]);
    assertMatch(
      await Deno.readTextFile(path),
      /^inetkit-uidlist 2 V\d+ N3 R1\n1\t[^\n]+\n2\t[^\n]+\n$/,
    );
  });
});

Deno.test("MaildirStore keeps its UIDs when a crash tore the uidlist's last line", async () => {
  await withRoot(async (root) => {
    let validity: number;
    {
      await using store = new MaildirStore(root);
      validity = (await store.deliver("mulder", "INBOX", message("a"))).uidValidity;
      await store.deliver("mulder", "INBOX", message("b"));
    }
    const path = `${root}/mulder/inetkit-uidlist`;
    const whole = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, whole.slice(0, whole.length - 7));
    await using store = new MaildirStore(root);
    const status = await store.status("mulder", "INBOX");
    assertEquals([status.uidValidity, status.messages, status.uidNext], [validity, 2, 3]);
    const texts = [];
    for (const uid of [1, 2]) {
      texts.push(await text(await store.readMessage("mulder", "INBOX", uid)));
    }
    assertEquals(texts, [
      new TextDecoder().decode(message("a")),
      new TextDecoder().decode(message("b")),
    ]);
    // Rewritten whole, so that the next append does not continue the torn line.
    assertMatch(
      await Deno.readTextFile(path),
      /^inetkit-uidlist 2 V\d+ N3 R1\n1\t[^\n]+\n2\t[^\n]+\n$/,
    );
  });
});

Deno.test("MaildirStore takes lost deliveries' UIDs from their file names, never a UID given before", async () => {
  await withRoot(async (root) => {
    const path = `${root}/mulder/inetkit-uidlist`;
    let validity: number;
    let durable: string;
    {
      await using store = new MaildirStore(root);
      validity = (await store.deliver("mulder", "INBOX", message("one"))).uidValidity;
      await store.deliver("mulder", "INBOX", message("two"));
      await store.expunge("mulder", "INBOX", [2]);
      // What an fsync made durable: everything up to the expunge.
      durable = await Deno.readTextFile(path);
      for (const name of ["three", "four", "five"]) {
        await store.deliver("mulder", "INBOX", message(name));
      }
      await store.setFlags("mulder", "INBOX", [4], ["\\Seen"]);
    }
    // A crash of the machine lost the appended lines of the last three deliveries.
    await Deno.writeTextFile(path, durable);
    // And a copy of message 1's file (another tool's doing) names a UID that is taken.
    const [first] = (await names(`${root}/mulder/new`)).filter((n) => n.includes(",U=1,"));
    await Deno.copyFile(`${root}/mulder/new/${first}`, `${root}/mulder/new/copy,U=1,S=0`);
    await using store = new MaildirStore(root);
    const status = await store.status("mulder", "INBOX");
    assertEquals([status.uidValidity, status.uidNext], [validity, 7]);
    const infos = await store.listMessages("mulder", "INBOX");
    assertEquals(infos.map((m) => [m.uid, m.flags]), [[1, []], [3, []], [4, ["\\Seen"]], [5, []], [
      6,
      [],
    ]]);
    const subjects = [];
    for (const info of infos) {
      const body = await text(await store.readMessage("mulder", "INBOX", info.uid));
      subjects.push(body.split("\r\n")[0]);
    }
    assertEquals(subjects, [
      "Subject: one",
      "Subject: three",
      "Subject: four",
      "Subject: five",
      "Subject: one",
    ]);
  });
});

Deno.test("MaildirStore rewrites the uidlist once appends outgrow its messages", async () => {
  await withRoot(async (root) => {
    const path = `${root}/mulder/inetkit-uidlist`;
    await using store = new MaildirStore(root);
    const uids: number[] = [];
    for (let i = 0; i < 40; i++) {
      uids.push((await store.deliver("mulder", "INBOX", message(`m${i}`))).uid);
    }
    await store.expunge("mulder", "INBOX", uids.slice(0, 39));
    assertEquals((await Deno.readTextFile(path)).split("\n").length, 1 + 40 + 39 + 1);
    await store.deliver("mulder", "INBOX", message("last"));
    assertMatch(
      await Deno.readTextFile(path),
      /^inetkit-uidlist 2 V\d+ N42 R1\n40\t[^\n]+\n41\t[^\n]+\n$/,
    );
    await store.close();
    await using again = new MaildirStore(root);
    assertEquals((await again.listMessages("mulder", "INBOX")).map((m) => m.uid), [40, 41]);
    assertEquals((await again.deliver("mulder", "INBOX", message("next"))).uid, 42);
  });
});

Deno.test("MaildirStore imports a dovecot-uidlist so Dovecot's UIDs stay", async () => {
  await withRoot(async (root) => {
    const maildir = `${root}/mulder`;
    for (const sub of ["cur", "new", "tmp"]) {
      await Deno.mkdir(`${maildir}/${sub}`, { recursive: true });
    }
    await Deno.writeTextFile(`${maildir}/cur/1700000001.M1P1.peers:2,S`, "Subject: one\n\nx\n");
    await Deno.writeTextFile(
      `${maildir}/cur/1700000002.M2P2.peers:2,`,
      "Subject: two\r\n\r\ny\r\n",
    );
    await Deno.writeTextFile(`${maildir}/new/1700000009.new`, "Subject: three\n\n");
    await Deno.writeTextFile(
      `${maildir}/dovecot-uidlist`,
      "3 V1796297559 N19 G6dcf19005753116b541b000083ecc375\n" +
        "1 :1700000001.M1P1.peers\n2 W19 :1700000002.M2P2.peers\n18 W1613 :1796297827.gone\n",
    );
    await using store = new MaildirStore(root);
    const status = await store.status("mulder", "INBOX");
    assertEquals([status.uidValidity, status.uidNext, status.messages], [1796297559, 20, 3]);
    const infos = await store.listMessages("mulder", "INBOX");
    assertEquals(infos.map((m) => [m.uid, m.flags, m.size]), [[1, ["\\Seen"], 19], [2, [], 19], [
      19,
      [],
      18,
    ]]);
    assertEquals(infos[0]!.uniqueId, "000000016B115357");
  });
});

const PEER_MAILDIR = "/home/mulder/Maildir";
const hasPeerMaildir = (() => {
  try {
    return Deno.statSync(`${PEER_MAILDIR}/cur`).isDirectory;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "MaildirStore reads a copy of the Dovecot peer's Maildir with Dovecot's UIDs and sizes",
  ignore: !hasPeerMaildir,
  async fn() {
    await withRoot(async (root) => {
      const copy = await new Deno.Command("cp", { args: ["-a", PEER_MAILDIR, `${root}/mulder`] })
        .output();
      assertEquals(copy.code, 0);
      await using store = new MaildirStore(root);
      const infos = await store.listMessages("mulder", "INBOX");
      // The peers' README: UID 1 "Test message one" (\Seen, 343 octets), UID 2 unseen, 331
      // octets. Other tests may read UID 2 through Dovecot, so its flags are taken from its name.
      const seen = async (stem: string) => {
        for (const sub of ["cur", "new"]) {
          for await (const e of Deno.readDir(`${root}/mulder/${sub}`)) {
            if (e.name.startsWith(stem)) return /:2,[A-Z]*S/.test(e.name) ? ["\\Seen"] : [];
          }
        }
        throw new Error(`no ${stem} in the copy`);
      };
      assertEquals(infos.slice(0, 2).map((m) => [m.uid, m.flags, m.size]), [
        [1, await seen("1700000001."), 343],
        [2, await seen("1700000002."), 331],
      ]);
      assertEquals(infos[0]!.flags, ["\\Seen"]);
      const first = await text(await store.readMessage("mulder", "INBOX", 1));
      assertEquals(first.length, 343);
      assertStringIn(first, "Test message one");
      const folders = (await store.listFolders("mulder")).map((f) => f.name);
      assert(folders.includes("Archive"), folders.join(" "));
      assertEquals((await store.status("mulder", "Archive")).messages, 1);
    });
  },
});

function assertStringIn(haystack: string, needle: string): void {
  assert(haystack.includes(needle), `expected ${JSON.stringify(needle)} in the message`);
}

Deno.test("MaildirStore.deliver() rewrites a uidlist that went missing and keeps the UIDs", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore(root);
    const { uidValidity } = await store.deliver("mulder", "INBOX", message("a"));
    await Deno.remove(`${root}/mulder/inetkit-uidlist`);
    assertEquals((await store.deliver("mulder", "INBOX", message("b"))).uid, 2);
    const uidlist = await Deno.readTextFile(`${root}/mulder/inetkit-uidlist`);
    assertMatch(
      uidlist,
      new RegExp(`^inetkit-uidlist 2 V${uidValidity} N3 R1\n1\t[^\n]+\n2\t[^\n]+\n$`),
    );
  });
});

// ---- reading ----

Deno.test("MaildirStore reads small CRLF files at once and streams large, LF and partial ones", async () => {
  await withRoot(async (root) => {
    const small = message("small", "x\r\n");
    const large = bytes("Subject: large\r\n\r\n" + "y".repeat(300 * 1024) + "\r\n");
    {
      await using delivering = new MaildirStore(root);
      await delivering.deliver("mulder", "INBOX", small);
      await delivering.deliver("mulder", "INBOX", large);
    }
    // A store that did not deliver them: the small message is read from its file.
    await using store = new MaildirStore(root);
    await using lf = new MaildirStore(root, { lineEnding: "lf" });
    await lf.deliver("mulder", "Unix", message("lf"), { createFolder: true });
    const calls: string[] = [];
    const original = { readFile: Deno.readFile, readFileSync: Deno.readFileSync };
    Deno.readFile = (path, options) => {
      calls.push(`readFile ${String(path).split("/").at(-2)}`);
      return original.readFile(path, options);
    };
    Deno.readFileSync = (path) => {
      calls.push(`readFileSync ${String(path).split("/").at(-2)}`);
      return original.readFileSync(path);
    };
    try {
      await using view = await store.openView("mulder", "INBOX", { readOnly: true });
      const readSmall = (view as MailboxView & MailViewReadSmall)[MAIL_VIEW_READ_SMALL]!;
      assertEquals(readSmall.call(view, 1, 0, Infinity), small);
      assertEquals(calls, ["readFileSync new"]);
      // A large file: neither read whole nor at once, even for a few octets of it.
      assertEquals(readSmall.call(view, 2, 0, 10), undefined);
      assertEquals(await text(await view.read(2, { start: 0, length: 10 })), "Subject: l");
      assertEquals(calls, ["readFileSync new"]);
      await using unix = await lf.openView("mulder", "Unix", { readOnly: true });
      const readLf = (unix as MailboxView & MailViewReadSmall)[MAIL_VIEW_READ_SMALL]!;
      assertEquals(readLf.call(unix, 1, 0, Infinity), undefined);
      assertEquals(await text(await unix.read(1)), new TextDecoder().decode(message("lf")));
    } finally {
      Deno.readFile = original.readFile;
      Deno.readFileSync = original.readFileSync;
    }
  });
});

// ---- hostile and stale entries ----

Deno.test("MaildirStore.listFolders() ignores directories that are no valid folders", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore(root);
    await store.createFolder("mulder", "Real");
    const maildir = `${root}/mulder`;
    for (
      const dir of [".a..b", ".&AOk", ".INBOX", ".no-cur", ".inbox", ".&AGEAYgBj-", ".x\u0001y"]
    ) {
      await Deno.mkdir(`${maildir}/${dir}`);
      if (dir !== ".no-cur") await Deno.mkdir(`${maildir}/${dir}/cur`);
    }
    await Deno.symlink("/etc", `${maildir}/.link`);
    assertEquals((await store.listFolders("mulder")).map((f) => f.name), ["INBOX", "Real"]);
  });
});

Deno.test("MaildirStore removes stale files from tmp/ and keeps fresh ones", async () => {
  await withRoot(async (root) => {
    const maildir = `${root}/mulder`;
    for (const sub of ["cur", "new", "tmp"]) {
      await Deno.mkdir(`${maildir}/${sub}`, { recursive: true });
    }
    await Deno.writeTextFile(`${maildir}/tmp/stale`, "half a message");
    await Deno.writeTextFile(`${maildir}/tmp/fresh`, "being delivered by another tool");
    const twoDaysAgo = Date.now() / 1000 - 2 * 24 * 3600;
    await Deno.utime(`${maildir}/tmp/stale`, twoDaysAgo, twoDaysAgo);
    await using store = new MaildirStore(root);
    await store.status("mulder", "INBOX");
    assertEquals(await names(`${maildir}/tmp`), ["fresh"]);
  });
});

Deno.test("MaildirStore.deleteFolder() removes the directory and leaves no trash behind", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore(root);
    await store.deliver("mulder", "Old", message("x"), { createFolder: true });
    await store.deleteFolder("mulder", "Old");
    assertEquals(await names(`${root}/mulder`), ["cur", "new", "tmp"]);
    assertEquals(await names(`${root}/mulder/tmp`), []);
  });
});

Deno.test("MaildirStore maildirOf places each user's Maildir", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore("/nonexistent", {
      maildirOf: (user) => `${root}/home/${user}/Maildir`,
    });
    await store.deliver("scully", "INBOX", message("x"));
    assertEquals((await names(`${root}/home/scully/Maildir/new`)).length, 1);
    await assertStoreError(() => store.deliver("../x", "INBOX", message("x")), "BAD_NAME");
  });
});

Deno.test("MaildirStore.copy() hard-links the file and keeps the copy independent", async () => {
  await withRoot(async (root) => {
    await using store = new MaildirStore(root);
    await store.createFolder("mulder", "Copies");
    await store.deliver("mulder", "INBOX", message("x"));
    await store.copy("mulder", "INBOX", [1], "Copies");
    await store.setFlags("mulder", "Copies", [1], ["\\Seen"]);
    await store.expunge("mulder", "INBOX", [1]);
    const [copy] = await names(`${root}/mulder/.Copies/cur`);
    assert(copy!.endsWith(":2,S"));
    assertEquals((await Deno.stat(`${root}/mulder/.Copies/cur/${copy}`)).nlink, 1);
    assertEquals(
      await text(await store.readMessage("mulder", "Copies", 1)),
      new TextDecoder().decode(message("x")),
    );
  });
});

Deno.test("MaildirStore keeps small messages it delivered or read in memory, up to cacheSize", async () => {
  await withRoot(async (root) => {
    const small = message("small", "x\r\n");
    await using store = new MaildirStore(root);
    await store.deliver("mulder", "INBOX", small);
    await store.deliver("mulder", "INBOX", message("second", "y\r\n"));
    await using cold = new MaildirStore(root, { cacheSize: 0 });
    const calls: string[] = [];
    const original = Deno.readFileSync;
    Deno.readFileSync = (path) => {
      calls.push(String(path).split("/").at(-2)!);
      return original(path);
    };
    try {
      await using view = await store.openView("mulder", "INBOX", { readOnly: true });
      const readSmall = (view as MailboxView & MailViewReadSmall)[MAIL_VIEW_READ_SMALL]!;
      // Delivered by this store: no file is read, now or after a flag change renamed it.
      assertEquals(readSmall.call(view, 1, 0, Infinity), small);
      await store.setFlags("mulder", "INBOX", [1], ["\\Seen"]);
      assertEquals(readSmall.call(view, 1, 2, 5), small.subarray(2, 7));
      assertEquals(calls, []);
      // With cacheSize 0, every read is a file read.
      await using coldView = await cold.openView("mulder", "INBOX", { readOnly: true });
      const readCold = (coldView as MailboxView & MailViewReadSmall)[MAIL_VIEW_READ_SMALL]!;
      assertEquals(readCold.call(coldView, 1, 0, Infinity), small);
      assertEquals(readCold.call(coldView, 1, 0, Infinity), small);
      assertEquals(calls, ["cur", "cur"]);
    } finally {
      Deno.readFileSync = original;
    }
    // An expunged message leaves the cache; the other is still served.
    await store.expunge("mulder", "INBOX", [1]);
    assertEquals((await store.listMessages("mulder", "INBOX")).map((m) => m.uid), [2]);
    assertEquals(
      await text(await store.readMessage("mulder", "INBOX", 2)),
      new TextDecoder().decode(message("second", "y\r\n")),
    );
    assertThrows(() => new MaildirStore(root, { cacheSize: -1 }), RangeError, "cacheSize");
  });
});
