/**
 * inetkit's NntpServer read and written by Python's nntplib (Python 3.11 at
 * /usr/bin/python3 still ships it, deprecated): welcome, capabilities,
 * group, over (with LIST OVERVIEW.FMT), xover, article/head/body by number
 * and message-id, stat/next/last, list, descriptions, newnews, date, post,
 * ihave, login with AUTHINFO USER/PASS, and STARTTLS with a test CA.
 */
import { NewsSpool } from "../../mail/news_spool.ts";
import { NntpServer, type NntpServerOptions } from "../../mail/nntp_server.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { testCert } from "../_helpers/tls.ts";

const PYTHON = "/usr/bin/python3";
const DATE = "Tue, 14 Nov 2023 10:00:00 +0000";

async function hasNntplib(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(PYTHON, {
      args: ["-W", "ignore", "-c", "import nntplib"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

async function python(script: string, env: Record<string, string>): Promise<unknown> {
  const result = await new Deno.Command(PYTHON, {
    args: ["-W", "ignore::DeprecationWarning", "-c", script],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(result.stderr);
  if (!result.success) throw new Error(`python failed: ${err}`);
  return JSON.parse(new TextDecoder().decode(result.stdout));
}

async function withServer(
  options: Partial<NntpServerOptions>,
  fn: (port: number, spool: NewsSpool) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_nntp_py_" });
  const spool = await NewsSpool.open(dir, {
    groups: [
      { name: "comp.lang.python", description: "The Python computer language." },
      "local.test",
    ],
    pathHost: "news.inetkit.test",
  });
  try {
    await spool.store(
      `From: Guido <guido@example.test>\r\nNewsgroups: comp.lang.python\r\nSubject: Welcome\r\n` +
        `Message-ID: <py-1@example.test>\r\nDate: ${DATE}\r\n\r\nBeautiful is better than ugly.\r\n.dot line\r\n`,
    );
    await spool.store(
      `From: Tim <tim@example.test>\r\nNewsgroups: comp.lang.python\r\nSubject: Re: Welcome\r\n` +
        `Message-ID: <py-2@example.test>\r\nReferences: <py-1@example.test>\r\nDate: ${DATE}\r\n\r\nIndeed.\r\n`,
    );
    await using server = new NntpServer({ spool, port: 0, ...options });
    await fn(server.addr.port, spool);
  } finally {
    await spool.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const READ_SCRIPT = `
import json, os, datetime, nntplib
s = nntplib.NNTP("127.0.0.1", int(os.environ["PORT"]))
out = {"welcome": s.getwelcome(), "caps": sorted(s.getcapabilities().keys())}
resp, count, first, last, name = s.group("comp.lang.python")
out["group"] = [resp, count, first, last, name]
resp, items = s.over((first, last))
out["over"] = [[n, f] for n, f in items]
resp, items = s.xover(1, 2)
out["xover"] = [n for n, f in items]
resp, info = s.article(1)
out["article"] = [info.number, info.message_id, [l.decode() for l in info.lines]]
resp, info = s.head("<py-2@example.test>")
out["head"] = [info.number, info.message_id, [l.decode() for l in info.lines]]
resp, info = s.body(2)
out["body"] = [l.decode() for l in info.lines]
out["stat"] = list(s.stat(1)[1:])
out["next"] = list(s.next()[1:])
out["last"] = list(s.last()[1:])
resp, groups = s.list()
out["list"] = [list(g) for g in groups]
out["descriptions"] = s.descriptions("comp.*")
out["description"] = s.description("comp.lang.python")
resp, ids = s.newnews("comp.lang.python", datetime.datetime(2000, 1, 1))
out["newnews"] = ids
out["date"] = s.date()[1].isoformat()
resp, lines = s.xhdr("subject", "1-2")
out["xhdr"] = lines
for code, call in [("411", lambda: s.group("nope.nope")), ("423", lambda: s.stat(99)), ("430", lambda: s.article("<nope@x>"))]:
    try:
        call()
        out[code] = "no error"
    except nntplib.NNTPTemporaryError as e:
        out[code] = str(e)[:3]
out["quit"] = s.quit()
print(json.dumps(out))
`;

Deno.test("Python nntplib reads groups, overviews and articles from NntpServer", async (t) => {
  if (!(await hasNntplib())) {
    console.warn(`skipped: ${PYTHON} has no nntplib`);
    return;
  }
  await withServer({}, async (port) => {
    const out = await python(READ_SCRIPT, { PORT: String(port) }) as Record<string, unknown>;
    await t.step("welcome and capabilities", () => {
      assertEquals(out.welcome, "200 news.inetkit.test inetkit NNTP server ready (posting ok)");
      assert((out.caps as string[]).includes("OVER") && (out.caps as string[]).includes("READER"));
    });
    await t.step("group, over and xover", () => {
      assertEquals(out.group, ["211 2 1 2 comp.lang.python", 2, 1, 2, "comp.lang.python"]);
      const over = out.over as [number, Record<string, string>][];
      assertEquals(over.map(([n, f]) => [n, f.subject, f["message-id"], f.references]), [
        [1, "Welcome", "<py-1@example.test>", ""],
        [2, "Re: Welcome", "<py-2@example.test>", "<py-1@example.test>"],
      ]);
      assertEquals(over[0]![1].xref, "news.inetkit.test comp.lang.python:1");
      assertEquals(over[0]![1][":lines"], "2");
      assertEquals(out.xover, [1, 2]);
    });
    await t.step("article, head and body", () => {
      const [number, id, lines] = out.article as [number, string, string[]];
      assertEquals([number, id], [1, "<py-1@example.test>"]);
      assertEquals(lines.slice(-3), ["", "Beautiful is better than ugly.", ".dot line"]);
      const [headNumber, headId, head] = out.head as [number, string, string[]];
      assertEquals([headNumber, headId], [0, "<py-2@example.test>"]);
      assert(head.includes("References: <py-1@example.test>"));
      assertEquals(out.body, ["Indeed."]);
    });
    await t.step("stat, next, last", () => {
      assertEquals(out.stat, [1, "<py-1@example.test>"]);
      assertEquals(out.next, [2, "<py-2@example.test>"]);
      assertEquals(out.last, [1, "<py-1@example.test>"]);
    });
    await t.step("list, descriptions, newnews, date, xhdr", () => {
      assertEquals(out.list, [["comp.lang.python", "2", "1", "y"], ["local.test", "0", "1", "y"]]);
      assertEquals((out.descriptions as unknown[])[1], {
        "comp.lang.python": "The Python computer language.",
      });
      assertEquals(out.description, "The Python computer language.");
      assertEquals(out.newnews, ["<py-1@example.test>", "<py-2@example.test>"]);
      assert(Math.abs(new Date(out.date + "Z").getTime() - Date.now()) < 60000);
      assertEquals(out.xhdr, [["1", "Welcome"], ["2", "Re: Welcome"]]);
    });
    await t.step("errors and quit", () => {
      assertEquals([out["411"], out["423"], out["430"]], ["411", "423", "430"]);
      assertEquals(out.quit, "205 Closing connection");
    });
  });
});

const POST_SCRIPT = `
import json, os, nntplib
s = nntplib.NNTP("127.0.0.1", int(os.environ["PORT"]), user="mulder", password="trustno1", usenetrc=False)
out = {}
out["post"] = s.post(b"From: py@example.test\\r\\nNewsgroups: local.test\\r\\nSubject: from nntplib\\r\\n\\r\\n.dot first\\r\\nsecond\\r\\n")
out["ihave"] = s.ihave("<ihave-1@example.test>", b"From: py@example.test\\r\\nNewsgroups: local.test\\r\\nSubject: ihave\\r\\nMessage-ID: <ihave-1@example.test>\\r\\nDate: ${DATE}\\r\\n\\r\\nx\\r\\n")
try:
    s.post(b"Newsgroups: local.test\\r\\nSubject: no from\\r\\n\\r\\nx\\r\\n")
except nntplib.NNTPTemporaryError as e:
    out["refused"] = str(e)
resp, count, first, last, name = s.group("local.test")
out["count"] = count
resp, info = s.body(first)
out["body"] = [l.decode() for l in info.lines]
s.quit()
print(json.dumps(out))
`;

Deno.test("Python nntplib logs in and posts to NntpServer; the spool has the articles", async () => {
  if (!(await hasNntplib())) {
    console.warn(`skipped: ${PYTHON} has no nntplib`);
    return;
  }
  await withServer({ users: { mulder: "trustno1" } }, async (port, spool) => {
    const out = await python(POST_SCRIPT, { PORT: String(port) }) as Record<string, unknown>;
    const id = /^240 Article received (<[^>]+>)$/.exec(out.post as string)![1]!;
    assertEquals(out.ihave, "235 Article transferred OK");
    assertEquals(out.refused, "441 The From header is missing");
    assertEquals(out.count, 2);
    assertEquals(out.body, [".dot first", "second"]);
    assertEquals(spool.byMessageId(id)?.groups, [["local.test", 1]]);
    assertEquals(spool.byMessageId("<ihave-1@example.test>")?.groups, [["local.test", 2]]);
  });
});

const TLS_SCRIPT = `
import json, os, ssl, nntplib
context = ssl.create_default_context(cafile=os.environ["CAFILE"])
s = nntplib.NNTP("127.0.0.1", int(os.environ["PORT"]))
s.starttls(context)
out = {"tls": s.tls_on, "caps": sorted(s.getcapabilities().keys())}
s.login("mulder", "trustno1", usenetrc=False)
out["group"] = s.group("comp.lang.python")[0]
s.quit()
s2 = nntplib.NNTP_SSL("127.0.0.1", int(os.environ["TLS_PORT"]), ssl_context=context)
out["implicit"] = s2.group("comp.lang.python")[0]
s2.quit()
print(json.dumps(out))
`;

Deno.test("Python nntplib upgrades to TLS with STARTTLS and speaks nntps to NntpServer", async () => {
  if (!(await hasNntplib())) {
    console.warn(`skipped: ${PYTHON} has no nntplib`);
    return;
  }
  const { cert, key, ca } = await testCert();
  const caFile = await Deno.makeTempFile({ suffix: ".pem" });
  try {
    await Deno.writeTextFile(caFile, ca);
    await withServer({ cert, key, users: { mulder: "trustno1" } }, async (port, spool) => {
      await using implicit = new NntpServer({ spool, port: 0, cert, key, implicitTls: true });
      const out = await python(TLS_SCRIPT, {
        PORT: String(port),
        TLS_PORT: String(implicit.addr.port),
        CAFILE: caFile,
      }) as Record<string, unknown>;
      assertEquals(out.tls, true);
      assert(!(out.caps as string[]).includes("STARTTLS"));
      assert((out.caps as string[]).includes("AUTHINFO"));
      assertEquals(out.group, "211 2 1 2 comp.lang.python");
      assertEquals(out.implicit, "211 2 1 2 comp.lang.python");
    });
  } finally {
    await Deno.remove(caFile);
  }
});
