/**
 * Runs the code blocks of README.md's examples, so that a README example
 * that no longer runs fails CI.
 *
 * The mechanism: every ```ts block of README.md must follow an HTML comment
 * `<!-- readme-test: SETUP [port=N] -->` (invisible on GitHub) naming one
 * of the setups below. The setup starts the loopback servers the block
 * needs, runs the block with `deno run` as a child process and checks what
 * it printed (and what the servers saw). The block runs as written except
 * for the declared port, which becomes the port of the server the setup
 * started (or 0, for a block that is itself a server; it then prints the
 * port it got). Children run with `--no-config` and an import map that
 * points `@inetkit/inetkit/...` at this checkout, and with `--unstable-net`
 * as this repository's deno.json sets it; they are type-checked together
 * first. The blocks are fenced as `ts ignore` so that `deno test --doc`
 * (which would run them without servers) leaves them to this file; a
 * block without a setup, or naming an unknown one, fails here.
 */
import { serve } from "../http/serve.ts";
import { writeReply } from "../net/reply_writer.ts";
import { startTlsServer } from "../net/start_tls_server.ts";
import { TcpServer } from "../net/tcp_server.ts";
import { TextConn } from "../net/text_conn.ts";
import { getTime, TimeServer } from "../net/time_protocol.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_helpers/assert.ts";
import { type TestCert, testCert } from "./_helpers/tls.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const ROOT = new URL("../", import.meta.url);

/** One ```ts block of the README and the setup its marker names. */
interface Block {
  /** The 1-based line of the opening fence. */
  line: number;
  /** The fence's info string (`ts ignore`). */
  info: string;
  code: string;
  /** The setup name, or `null` when the block has no marker. */
  setup: string | null;
  /** The declared port literal, if any. */
  port: string | null;
}

/** Finds every fenced code block in `ts`/`typescript` and its marker. */
function readmeBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]!);
    if (fence === null) continue;
    const [, marks, info] = fence;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith(marks!)) end++;
    const lang = info!.trim().split(/\s+/)[0]!.toLowerCase();
    if (lang === "ts" || lang === "typescript") {
      let before = i - 1;
      while (before >= 0 && lines[before]!.trim() === "") before--;
      const marker = before >= 0
        ? /^<!--\s*readme-test:\s*([\w-]+)((?:\s+\w+=\S+)*)\s*-->$/.exec(lines[before]!.trim())
        : null;
      const port = marker ? /\bport=(\d+)/.exec(marker[2]!)?.[1] ?? null : null;
      blocks.push({
        line: i + 1,
        info: info!.trim(),
        code: lines.slice(i + 1, end).join("\n") + "\n",
        setup: marker ? marker[1]! : null,
        port,
      });
    }
    i = end;
  }
  return blocks;
}

const README = await Deno.readTextFile(new URL("README.md", ROOT));
const BLOCKS = readmeBlocks(README);

// ---------------------------------------------------------------------------
// Running blocks.

interface Result {
  code: number;
  out: string;
  err: string;
}

let importMap: Promise<string> | null = null;

/** The import map: `@inetkit/inetkit/...` to this checkout, plus deno.json's imports. */
function importMapText(): Promise<string> {
  importMap ??= (async () => {
    const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
    const imports: Record<string, string> = { ...config.imports };
    for (const [key, target] of Object.entries(config.exports as Record<string, string>)) {
      const name = key === "." ? config.name : `${config.name}${key.slice(1)}`;
      imports[name] = new URL(target, ROOT).href;
    }
    return JSON.stringify({ imports }, null, 2);
  })();
  return importMap;
}

/** Writes `import_map.json` into `dir` and returns its path. */
async function writeImportMap(dir: string): Promise<string> {
  const path = `${dir}/import_map.json`;
  await Deno.writeTextFile(path, await importMapText());
  return path;
}

/** The block's code with its declared port replaced. */
function withPort(block: Block, port: number | null): string {
  if (block.port === null || port === null) return block.code;
  return block.code.replaceAll(block.port, String(port));
}

async function childArgs(file: string, cwd: string): Promise<string[]> {
  return [
    "run",
    "--no-config",
    "--no-lock",
    `--import-map=${await writeImportMap(cwd)}`,
    "--unstable-net",
    "--allow-net=127.0.0.1",
    `--allow-read=${cwd}`,
    file,
  ];
}

/** Runs a block to its end in `cwd` (a fresh temp dir unless given). */
async function runBlock(code: string, cwd?: string): Promise<Result> {
  const dir = cwd ?? await Deno.makeTempDir({ prefix: "inetkit-readme-run-" });
  try {
    await Deno.writeTextFile(`${dir}/block.ts`, code);
    const output = await new Deno.Command(Deno.execPath(), {
      args: await childArgs(`${dir}/block.ts`, dir),
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: output.code,
      out: decoder.decode(output.stdout),
      err: decoder.decode(output.stderr),
    };
  } finally {
    if (cwd === undefined) await Deno.remove(dir, { recursive: true });
  }
}

function clean(result: Result): string {
  assertEquals([result.code, result.err], [0, ""], result.out);
  return result.out;
}

/** A block that is a server, running as a child until stopped. */
class BlockServer implements AsyncDisposable {
  readonly lines: string[] = [];
  port = 0;
  #child: Deno.ChildProcess;
  #err = "";
  #reading: Promise<unknown>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#reading = Promise.all([
      (async () => {
        let rest = "";
        for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
          rest += text;
          const parts = rest.split("\n");
          rest = parts.pop()!;
          this.lines.push(...parts);
        }
      })(),
      (async () => {
        for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
          this.#err += text;
        }
      })(),
    ]);
  }

  /** Starts the block in `cwd`; ready when it printed a line matching `ready` (port in group 1). */
  static async start(code: string, cwd: string, ready: RegExp): Promise<BlockServer> {
    await Deno.writeTextFile(`${cwd}/block.ts`, code);
    const child = new Deno.Command(Deno.execPath(), {
      args: await childArgs(`${cwd}/block.ts`, cwd),
      cwd,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const server = new BlockServer(child);
    const deadline = Date.now() + 15000;
    while (true) {
      const line = server.lines.map((l) => ready.exec(l)).find((m) => m !== null);
      if (line) {
        server.port = Number(line[1]);
        return server;
      }
      if (Date.now() > deadline) {
        const err = await server.stop();
        throw new Error(`The block did not get ready: ${JSON.stringify(server.lines)} ${err}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Stops it (SIGTERM) and returns its stderr. */
  async stop(): Promise<string> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#reading;
    return this.#err;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop().then(() => {});
  }
}

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "inetkit-readme-run-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------
// A small SMTP server for the mail blocks (kept here so the README test does
// not depend on the mail server's own evolution): EHLO with PIPELINING and,
// given a certificate, STARTTLS; MAIL, RCPT, DATA, RSET, NOOP, QUIT.

interface SmtpFixture extends AsyncDisposable {
  port: number;
  messages: { from: string; to: string[]; data: string; tls: boolean }[];
  errors: unknown[];
}

function smtpServer(cert?: TestCert): SmtpFixture {
  const messages: SmtpFixture["messages"] = [];
  const errors: unknown[] = [];
  const options = { port: 0, idleTimeout: 10000, onError: (e: unknown) => void errors.push(e) };
  const server = new TcpServer(options, async (conn) => {
    const text = new TextConn(conn);
    let tls = false;
    let from = "";
    let to: string[] = [];
    const reply = (code: number, lines: string | string[]) => writeReply(text.writer, code, lines);
    await reply(220, "mail.example.test ESMTP readme fixture");
    for (;;) {
      const line = await text.reader.readLine({ maxLength: 1000 });
      if (line === null) return;
      const verb = line.split(" ")[0]!.toUpperCase();
      if (verb === "EHLO") {
        await reply(250, [
          "mail.example.test",
          "PIPELINING",
          "8BITMIME",
          ...(cert !== undefined && !tls ? ["STARTTLS"] : []),
        ]);
      } else if (verb === "STARTTLS" && cert !== undefined && !tls) {
        await reply(220, "Ready to start TLS");
        text.adoptTls(await startTlsServer(text.detach(), cert));
        tls = true;
      } else if (verb === "MAIL") {
        from = /<(.*)>/.exec(line)?.[1] ?? "";
        to = [];
        await reply(250, "OK");
      } else if (verb === "RCPT") {
        to.push(/<(.*)>/.exec(line)?.[1] ?? "");
        await reply(250, "OK");
      } else if (verb === "DATA") {
        await reply(354, "End data with <CR><LF>.<CR><LF>");
        const data: string[] = [];
        for (;;) {
          const row = await text.reader.readLine({ maxLength: 1000 });
          if (row === null) return;
          if (row === ".") break;
          data.push(row.startsWith(".") ? row.slice(1) : row);
        }
        messages.push({ from, to, data: data.join("\n"), tls });
        await reply(250, "OK queued");
      } else if (verb === "QUIT") {
        await reply(221, "Bye");
        return;
      } else if (verb === "RSET" || verb === "NOOP" || verb === "HELO") {
        await reply(250, "OK");
      } else {
        await reply(502, "Command not implemented");
      }
    }
  });
  return {
    port: server.addr.port,
    messages,
    errors,
    [Symbol.asyncDispose]: () => server.shutdown({ timeout: 500 }),
  };
}

// ---------------------------------------------------------------------------
// The setups, by marker name.

type Setup = (block: Block) => Promise<void>;

const SETUPS: Record<string, Setup> = {
  async "time-server"(block) {
    await inTempDir(async (dir) => {
      await using server = await BlockServer.start(withPort(block, 0), dir, /^serving on (\d+)$/);
      for (const transport of ["tcp", "udp"] as const) {
        const date = await getTime({ port: server.port, transport, timeout: 5000 });
        assert(Math.abs(date.getTime() - Date.now()) < 3000, `${transport}: ${date}`);
      }
      // Still serving after answering: the block waits on `finished`.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await getTime({ port: server.port, timeout: 5000 });
      assertEquals(await server.stop(), "");
    });
  },

  async "time-client"(block) {
    const fixed = new Date("2030-01-02T03:04:05Z");
    await using server = new TimeServer({ now: () => fixed });
    const out = clean(await runBlock(withPort(block, server.addr.port)));
    assertEquals(out, `server time is ${fixed.toUTCString()}\n`);
  },

  async "smtp-greeting"(block) {
    await using server = smtpServer();
    const out = clean(await runBlock(withPort(block, server.port)));
    assertEquals(out, '[ "mail.example.test", "PIPELINING", "8BITMIME" ]\n');
  },

  async "echo-server"(block) {
    await inTempDir(async (dir) => {
      await using server = await BlockServer.start(
        withPort(block, 0),
        dir,
        /^echo server on (\d+)$/,
      );
      for (const word of ["ping", "pong"]) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
        await conn.write(encoder.encode(word));
        await conn.closeWrite();
        assertEquals(await new Response(conn.readable).text(), word);
      }
      assertEquals(await server.stop(), "");
    });
  },

  async "file-server"(block) {
    await inTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/hello.txt`, "hello from the README\n");
      await using server = await BlockServer.start(withPort(block, 0), dir, /^serving on (\d+)$/);
      const base = `http://127.0.0.1:${server.port}`;
      const file = await fetch(`${base}/hello.txt`);
      assertEquals([file.status, await file.text()], [200, "hello from the README\n"]);
      const listing = await fetch(`${base}/`);
      assertStringIncludes(await listing.text(), "hello.txt");
      assertEquals(await server.stop(), "");
    });
  },

  async "auth-origin"(block) {
    // /private/report.txt asks for Basic credentials, then redirects to the
    // final page with a cookie that the final page wants back.
    const seen: string[] = [];
    const basic = `Basic ${btoa("mulder:trustno1")}`;
    await using server = serve({ port: 0 }, (request) => {
      const url = new URL(request.url);
      const auth = request.headers.get("authorization");
      seen.push(
        `${url.pathname} ${auth === basic ? "auth" : "-"} ${request.headers.get("cookie")}`,
      );
      const close = { connection: "close" };
      if (auth !== basic) {
        return new Response("no", {
          status: 401,
          headers: { ...close, "www-authenticate": 'Basic realm="Reports"' },
        });
      }
      if (url.pathname === "/private/report.txt") {
        return new Response(null, {
          status: 302,
          headers: { ...close, location: "/private/final.txt", "set-cookie": "seen=1; Path=/" },
        });
      }
      if (request.headers.get("cookie") !== "seen=1") {
        return new Response("no cookie", { status: 403 });
      }
      return new Response("the truth is out there", { headers: close });
    });
    const out = clean(await runBlock(withPort(block, server.addr.port)));
    assertEquals(out, "200 the truth is out there\n");
    assertEquals(seen, [
      "/private/report.txt - null",
      "/private/report.txt auth null",
      "/private/final.txt - seen=1",
      "/private/final.txt auth seen=1",
    ]);
  },

  async "error-origin"(block) {
    await using server = serve(
      { port: 0 },
      () => new Response("not here", { status: 404, headers: { connection: "close" } }),
    );
    const out = clean(await runBlock(withPort(block, server.addr.port)));
    assertEquals(out, "The server couldn't fulfill the request: 404\n");
    // Nothing listening: a URLError with the reason.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closed = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const refused = clean(await runBlock(withPort(block, closed)));
    assertMatch(refused, /^We failed to reach a server: Connection refused/);
  },

  async "smtp-starttls"(block) {
    const cert = await testCert();
    await using server = smtpServer(cert);
    await inTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/ca.pem`, cert.ca);
      const out = clean(await runBlock(withPort(block, server.port), dir));
      assertEquals(out, '[ "scully@example.test" ] Map(0) {}\n');
      assertEquals(server.messages.length, 1);
      const [message] = server.messages;
      assertEquals([message!.from, message!.to, message!.tls], [
        "mulder@example.test",
        ["scully@example.test"],
        true,
      ]);
      assertStringIncludes(message!.data, "Subject: The truth");
      assertStringIncludes(message!.data, "is out there.");
      // Without the CA the STARTTLS certificate check fails, and nothing is
      // sent in clear instead.
      const untrusted = withPort(block, server.port).replace(
        /\n\s*caCerts: \[await Deno\.readTextFile\("ca\.pem"\)\],/,
        "",
      );
      assert(untrusted !== withPort(block, server.port), "the block should show caCerts");
      assertEquals(server.errors, []);
      const failed = await runBlock(untrusted, dir);
      assertEquals(failed.code, 1, failed.out);
      assertMatch(failed.err, /UnknownIssuer|certificate/i);
      assertEquals(server.messages.length, 1);
      // The client hung up in the handshake: the server saw its alert.
      assertEquals(server.errors.length, 1);
      assertEquals((server.errors[0] as { code?: string }).code, "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA");
    });
  },
};

// ---------------------------------------------------------------------------

Deno.test("README: every ts block names a setup that runs it, and declares the port it uses", () => {
  assert(BLOCKS.length >= 8, `only ${BLOCKS.length} ts blocks found`);
  for (const block of BLOCKS) {
    const where = `README.md:${block.line} (${block.info})`;
    assert(block.setup !== null, `${where} has no <!-- readme-test: SETUP --> marker`);
    assert(block.setup in SETUPS, `${where} names an unknown setup ${block.setup}`);
    if (block.port !== null) {
      assertStringIncludes(block.code, block.port, `${where} does not use its port ${block.port}`);
    }
    // Deno's own doc tester would run an unmarked block without servers.
    assertEquals(block.info, "ts ignore", `${where} should be fenced as ts ignore`);
  }
});

Deno.test("readmeBlocks() finds ts blocks, their markers and ports, and skips other languages", () => {
  const blocks = readmeBlocks([
    "text",
    "<!-- readme-test: alpha port=1234 -->",
    "",
    "```ts ignore",
    "const a = 1234;",
    "```",
    "```sh",
    "deno run x.ts",
    "```",
    "```typescript",
    "const b = 2;",
    "```",
  ].join("\n"));
  assertEquals(blocks, [
    { line: 4, info: "ts ignore", code: "const a = 1234;\n", setup: "alpha", port: "1234" },
    { line: 10, info: "typescript", code: "const b = 2;\n", setup: null, port: null },
  ]);
});

Deno.test("README: the example blocks type-check", async () => {
  await inTempDir(async (dir) => {
    const files: string[] = [];
    for (const [i, block] of BLOCKS.entries()) {
      const file = `${dir}/block_${i}_line_${block.line}.ts`;
      await Deno.writeTextFile(file, block.code);
      files.push(file);
    }
    const map = await writeImportMap(dir);
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "check",
        "--no-config",
        "--no-lock",
        `--import-map=${map}`,
        "--unstable-net",
        ...files,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(code, 0, decoder.decode(stderr));
  });
});

for (const block of BLOCKS) {
  Deno.test(`README example at line ${block.line} (${block.setup ?? "no setup"}) runs as written`, async () => {
    const setup = block.setup === null ? undefined : SETUPS[block.setup];
    assert(setup !== undefined, `README.md:${block.line} has no known setup`);
    await setup(block);
  });
}
