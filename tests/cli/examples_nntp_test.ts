/**
 * The classic chapter's three nntplib examples, run with `deno run` against
 * an NntpServer on loopback holding a small comp.lang.python.
 */
import { NewsSpool } from "../../mail/news_spool.ts";
import { NntpServer } from "../../mail/nntp_server.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_helpers/assert.ts";

const decoder = new TextDecoder();

async function example(
  name: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      new URL(`../../cli/examples/${name}`, import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: result.code,
    out: decoder.decode(result.stdout),
    err: decoder.decode(result.stderr),
  };
}

const ARTICLES: [string, string, string][] = [
  ["Fredrik Lundh <fredrik@pythonware.com>", "Three decades of Python!", "one\r\ntwo\r\n"],
  ["Tim Peters <tim@example.test>", "Re: Three decades of Python!", "three\r\n"],
  ["Fredrik Lundh <fredrik@pythonware.com>", "Programming Tkinter (In Python)", "tk\r\n".repeat(5)],
  ["Guido <guido@example.test>", "More Python books coming...", "books\r\n"],
];

async function withNews(fn: (port: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "inetkit_examples_nntp_" });
  const spool = await NewsSpool.open(dir, { groups: ["comp.lang.python"] });
  try {
    for (const [from, subject, body] of ARTICLES) {
      await spool.store(
        `From: ${from}\r\nNewsgroups: comp.lang.python\r\nSubject: ${subject}\r\n` +
          `MIME-Version: 1.0\r\nContent-Type: text/plain; charset="iso-8859-1"\r\n\r\n${body}`,
      );
    }
    await using server = new NntpServer({ spool, port: 0 });
    await fn(String(server.addr.port));
  } finally {
    await spool.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("example nntp_list_articles.ts (nntplib-example-1) prints the range, one author's posts and counts", async () => {
  await withNews(async (port) => {
    const result = await example("nntp_list_articles.ts", [
      "127.0.0.1",
      port,
      "comp.lang.python",
      "fredrik@pythonware.com",
    ]);
    assertEquals([result.code, result.err], [0, ""]);
    assertEquals(
      result.out,
      "count => 4\nrange => 1 4\n1 Three decades of Python!\n3 Programming Tkinter (In Python)\n" +
        "authors => 3\nsubjects => 3\n",
    );
  });
});

Deno.test("example nntp_download_articles.ts (nntplib-example-2) downloads the articles matching a keyword", async () => {
  await withNews(async (port) => {
    const result = await example("nntp_download_articles.ts", [
      "127.0.0.1",
      port,
      "comp.lang.python",
      "tkinter",
    ]);
    assertEquals([result.code, result.err], [0, ""]);
    assertMatch(
      result.out,
      /^Fredrik Lundh <fredrik@pythonware\.com>\nProgramming Tkinter \(In Python\)\n1\d lines in article\n$/,
    );
    // Path, the 5 fields sent, Message-ID, Date, Xref; the empty line; 5 body lines.
    assertStringIncludes(result.out, "\n15 lines in article\n");
  });
});

Deno.test("example nntp_random_article.ts (nntplib-example-3) prints a random article's fields and body", async () => {
  await withNews(async (port) => {
    const result = await example("nntp_random_article.ts", ["127.0.0.1", port, "comp.lang.python"]);
    assertEquals([result.code, result.err], [0, ""]);
    const lines = result.out.split("\n");
    assertEquals(lines[0], "path = localhost!not-for-mail");
    assertMatch(result.out, /\nnewsgroups = comp\.lang\.python\n/);
    assertMatch(result.out, /\ncontent-type = text\/plain; charset="iso-8859-1"\n/);
    assertMatch(result.out, /\nmessage-id = <[^>]+@localhost>\n/);
    assertMatch(result.out, /\nxref = localhost comp\.lang\.python:[1-4]\n/);
    assert(ARTICLES.some(([from]) => result.out.includes(`from = ${from}\n`)));
  });
});
