/**
 * The CGI denial of service: scripts whose children outlive the timeout.
 * Each script runs in its own process group; the whole group is ended on
 * timeout, client disconnect, server shutdown and when the script exits,
 * and `maxProcesses` counts groups until they are gone. Processes are found
 * through `/proc/<pid>/environ` by a tag each test puts in the scripts'
 * environment, so nothing else on the machine is looked at or touched.
 */
import { type CgiConnectionInfo, type CgiOptions, serveCgi } from "../../http/cgi.ts";
import { liveGroupMembers, signalProcessGroup } from "../../http/_cgi_group.ts";
import { serve } from "../../http/serve.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";

const SCRIPTS: Record<string, string> = {
  // The reported case: a child started without exec.
  "grandchild.sh": `sleep 100000`,
  "grandchild-late.sh": `printf 'Content-Type: text/plain\\r\\n\\r\\nstart\\n'; sleep 100000`,
  "ignore-term.sh": `trap '' TERM; sleep 100000`,
  "catch-term.sh": `trap 'echo got-term >&2; exit 0' TERM; sleep 100000 & wait`,
  // Leaves a child behind that ignores SIGTERM and holds no pipe.
  "leave-behind.sh": `(trap '' TERM; exec sleep 100000) </dev/null >/dev/null 2>&1 &
printf 'Content-Type: text/plain\\r\\n\\r\\nok'`,
  // A child that leaves the group (setsid) and keeps stdout open.
  "escape.sh": `setsid sleep 100000 &
sleep 100000`,
  "read-input.sh": `cat >/dev/null; sleep 100000`,
  "short-child.sh": `sleep 2`,
  "hello.sh": `printf 'Content-Type: text/plain\\r\\n\\r\\nhello'`,
};

const base = await Deno.makeTempDir({ prefix: "inetkit_cgi_group_" });
const cgiDir = `${base}/cgi-bin`;
await Deno.mkdir(cgiDir);
for (const [name, body] of Object.entries(SCRIPTS)) {
  await Deno.writeTextFile(`${cgiDir}/${name}`, `#!/bin/sh\n${body}\n`);
}
globalThis.addEventListener("unload", () => Deno.removeSync(base, { recursive: true }));

const INFO: CgiConnectionInfo = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
  localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 8000 },
  version: "HTTP/1.1",
};

let tagCount = 0;

/** A tag for one test's scripts, and the options that put it in their environment. */
function tagged(extra: Partial<CgiOptions> = {}): { tag: string; options: CgiOptions } {
  const tag = `${Deno.pid}-${++tagCount}-${Math.random().toString(36).slice(2)}`;
  return {
    tag,
    options: {
      directories: { "/cgi-bin": cgiDir },
      interpreters: { ".sh": ["/bin/sh"] },
      env: { INETKIT_CGI_TAG: tag },
      ...extra,
    },
  };
}

/** The live (not zombie) processes whose environment carries the tag. */
async function taggedProcesses(tag: string): Promise<{ pid: number; command: string }[]> {
  const needle = new TextEncoder().encode(`INETKIT_CGI_TAG=${tag}\0`);
  const found: { pid: number; command: string }[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const environ = await Deno.readFile(`/proc/${entry.name}/environ`);
      if (!contains(environ, needle)) continue;
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state === "Z" || state === "X") continue;
      const command = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).replaceAll(
        "\0",
        " ",
      ).trim();
      found.push({ pid: Number(entry.name), command });
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return found;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

/** Kills what a failed test left behind, so one failure does not leave sleeps around. */
async function sweep(tag: string): Promise<void> {
  for (const { pid } of await taggedProcesses(tag)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Waits for the tagged processes to match `predicate`, polling up to `ms`. */
async function waitForTagged(
  tag: string,
  predicate: (found: { pid: number; command: string }[]) => boolean,
  ms = 3000,
): Promise<{ pid: number; command: string }[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await taggedProcesses(tag);
    if (predicate(found) || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Settles with `promise`, or rejects after `ms` instead of hanging the suite. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function get(path: string, options: CgiOptions, info: CgiConnectionInfo = INFO): Promise<Response> {
  return serveCgi(new Request(`http://127.0.0.1:8000${path}`), info, options);
}

Deno.test("serveCgi() answers 504 within the timeout and ends a script's child (sleep without exec)", async () => {
  for (const withStderr of [false, true]) {
    const { tag, options } = tagged({
      timeout: 300,
      onStderr: withStderr ? () => {} : undefined,
    });
    try {
      const started = Date.now();
      const response = await within(3000, get("/cgi-bin/grandchild.sh", options), "serveCgi");
      assertEquals(response.status, 504, `stderr piped: ${withStderr}`);
      await response.body?.cancel();
      const elapsed = Date.now() - started;
      assert(elapsed >= 300 && elapsed < 1500, `answered after ${elapsed} ms`);
      assertEquals(await taggedProcesses(tag), [], "no process of the script is left");
    } finally {
      await sweep(tag);
    }
  }
});

Deno.test("serveCgi() ends the whole process group when the timeout passes after the head", async () => {
  const { tag, options } = tagged({ timeout: 300, onStderr: () => {} });
  try {
    const response = await get("/cgi-bin/grandchild-late.sh", options);
    assertEquals(response.status, 200);
    await within(3000, assertRejects(() => response.text(), Error, "timed out"), "body");
    assertEquals(await taggedProcesses(tag), []);
  } finally {
    await sweep(tag);
  }
});

Deno.test("serveCgi() sends SIGTERM to the group first and SIGKILL after gracePeriod", async () => {
  const caught = tagged({ timeout: 200, gracePeriod: 5000, onStderr: (t) => logged.push(t) });
  const logged: string[] = [];
  try {
    const started = Date.now();
    const response = await within(3000, get("/cgi-bin/catch-term.sh", caught.options), "TERM");
    assertEquals(response.status, 504);
    await response.body?.cancel();
    assert(Date.now() - started < 2000, "a script that exits on SIGTERM is not waited for");
    assertEquals(logged.join(""), "got-term\n");
    assertEquals(await taggedProcesses(caught.tag), []);
  } finally {
    await sweep(caught.tag);
  }
  const ignoring = tagged({ timeout: 200, gracePeriod: 600 });
  try {
    const started = Date.now();
    const response = await within(4000, get("/cgi-bin/ignore-term.sh", ignoring.options), "KILL");
    assertEquals(response.status, 504);
    await response.body?.cancel();
    const elapsed = Date.now() - started;
    assert(elapsed >= 750 && elapsed < 2500, `SIGKILL after the grace period: ${elapsed} ms`);
    assertEquals(await taggedProcesses(ignoring.tag), []);
  } finally {
    await sweep(ignoring.tag);
  }
});

Deno.test("serveCgi() leaves no orphans: 20 requests against maxProcesses 8, then more are served", async () => {
  const { tag, options } = tagged({ timeout: 300, maxProcesses: 8, onStderr: () => {} });
  try {
    const responses = await within(
      5000,
      Promise.all(Array.from({ length: 20 }, () => get("/cgi-bin/grandchild.sh", options))),
      "20 requests",
    );
    const statuses = responses.map((r) => r.status).sort();
    await Promise.all(responses.map((r) => r.body?.cancel()));
    assertEquals(statuses.filter((s) => s === 504).length, 8);
    assertEquals(statuses.filter((s) => s === 503).length, 12);
    assertEquals(await taggedProcesses(tag), []);
    // One after the other, each slot is free again once its group is gone.
    options.timeout = 100;
    for (let i = 0; i < 20; i++) {
      const response = await within(3000, get("/cgi-bin/grandchild.sh", options), `request ${i}`);
      assertEquals(response.status, 504, `request ${i}`);
      await response.body?.cancel();
    }
    assertEquals(await taggedProcesses(tag), []);
    const hello = await get("/cgi-bin/hello.sh", options);
    assertEquals(hello.status, 200);
    assertEquals(await hello.text(), "hello");
  } finally {
    await sweep(tag);
  }
});

Deno.test("serveCgi() counts a process group until it is gone, not until the script exits", async () => {
  const { tag, options } = tagged({ maxProcesses: 1, gracePeriod: 800 });
  try {
    const first = await get("/cgi-bin/leave-behind.sh", options);
    assertEquals(first.status, 200);
    const body = first.text();
    // The script itself has exited; its child, which ignores SIGTERM, lives on.
    const left = await waitForTagged(
      tag,
      (f) => f.length === 1 && f[0]!.command.startsWith("sleep"),
    );
    assertEquals(left.map((p) => p.command), ["sleep 100000"]);
    const second = await get("/cgi-bin/hello.sh", options);
    assertEquals(second.status, 503);
    await second.body?.cancel();
    assertEquals(await within(4000, body, "body"), "ok");
    assertEquals(await taggedProcesses(tag), []);
    const third = await get("/cgi-bin/hello.sh", options);
    assertEquals(await third.text(), "hello");
  } finally {
    await sweep(tag);
  }
});

Deno.test("serveCgi() ends the process group when the client goes away before the script answered", async () => {
  const { tag, options } = tagged({ timeout: 30000, onStderr: () => {} });
  const controller = new AbortController();
  try {
    const pending = get("/cgi-bin/grandchild.sh", options, { ...INFO, signal: controller.signal });
    await waitForTagged(tag, (f) => f.some((p) => p.command === "sleep 100000"));
    const started = Date.now();
    controller.abort();
    const response = await within(3000, pending, "serveCgi");
    assert(Date.now() - started < 1500);
    assertEquals(response.status, 503);
    await response.body?.cancel();
    assertEquals(await taggedProcesses(tag), []);
  } finally {
    await sweep(tag);
  }
});

Deno.test("serveCgi() does not start a script for a client that is already gone", async () => {
  const { tag, options } = tagged();
  const response = await get("/cgi-bin/hello.sh", options, {
    ...INFO,
    signal: AbortSignal.abort(),
  });
  assertEquals(response.status, 503);
  await response.body?.cancel();
  assertEquals(await taggedProcesses(tag), []);
});

Deno.test("serveCgi() ends the process group when the request body fails mid-way", async () => {
  const { tag, options } = tagged({ timeout: 30000 });
  try {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(new Uint8Array(10));
          return;
        }
        await waitForTagged(tag, (f) => f.some((p) => p.command === "cat"));
        controller.error(new Error("the client went away"));
      },
    });
    const request = new Request("http://127.0.0.1:8000/cgi-bin/read-input.sh", {
      method: "POST",
      body,
      headers: { "content-length": "100" },
    });
    const response = await within(3000, serveCgi(request, INFO, options), "serveCgi");
    assertEquals(response.status, 400);
    await response.body?.cancel();
    assertEquals(await taggedProcesses(tag), []);
  } finally {
    await sweep(tag);
  }
});

Deno.test("serveCgi() answers at the timeout even when a process that left the group holds stdout", async () => {
  const { tag, options } = tagged({ timeout: 300, gracePeriod: 200, onStderr: () => {} });
  try {
    const started = Date.now();
    const response = await within(3000, get("/cgi-bin/escape.sh", options), "serveCgi");
    assertEquals(response.status, 504);
    await response.body?.cancel();
    assert(Date.now() - started < 2500);
    // What called setsid itself is out of reach of the group signal.
    const left = await taggedProcesses(tag);
    assertEquals(left.map((p) => p.command), ["sleep 100000"]);
  } finally {
    await sweep(tag);
  }
});

Deno.test("serveCgi() still answers 504 without the permission to signal process groups", {
  permissions: { run: ["/bin/sh"], read: true, env: true },
}, async () => {
  const { options } = tagged({ timeout: 200, onStderr: () => {} });
  const started = Date.now();
  const response = await within(3000, get("/cgi-bin/short-child.sh", options), "serveCgi");
  assertEquals(response.status, 504);
  await response.body?.cancel();
  assert(Date.now() - started < 2500);
});

Deno.test("HttpServer with serveCgi answers 504 over a socket and ends the group", async () => {
  const { tag, options } = tagged({ timeout: 300, onStderr: () => {} });
  await using server = serve({ port: 0 }, (request, info) => serveCgi(request, info, options));
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const request = "GET /cgi-bin/grandchild.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    await conn.write(new TextEncoder().encode(request));
    const text = await within(3000, readAll(conn), "response");
    assert(text.startsWith("HTTP/1.1 504 "), text);
    assertEquals(await taggedProcesses(tag), []);
  } finally {
    await sweep(tag);
  }
});

Deno.test("HttpServer with serveCgi closes the connection when the timeout passes after the head", async () => {
  const { tag, options } = tagged({ timeout: 300, onStderr: () => {} });
  await using server = serve({ port: 0 }, (request, info) => serveCgi(request, info, options));
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const request = "GET /cgi-bin/grandchild-late.sh HTTP/1.1\r\nHost: x\r\n\r\n";
    await conn.write(new TextEncoder().encode(request));
    // A keep-alive request: the connection ends only because the body failed.
    const text = await within(3000, readAll(conn), "response");
    assert(text.startsWith("HTTP/1.1 200 "), text);
    assert(text.includes("start\n"), text);
    assert(!text.endsWith("0\r\n\r\n"), "the chunked body is not ended as if complete");
    assertEquals(await taggedProcesses(tag), []);
  } finally {
    await sweep(tag);
  }
});

Deno.test("HttpServer shutdown ends the process groups of running CGI scripts", async () => {
  const { tag, options } = tagged({ timeout: 30000, onStderr: () => {} });
  const server = serve({ port: 0 }, (request, info) => serveCgi(request, info, options));
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      await conn.write(
        new TextEncoder().encode("GET /cgi-bin/grandchild.sh HTTP/1.1\r\nHost: x\r\n\r\n"),
      );
      conns.push(conn);
    }
    const running = await waitForTagged(
      tag,
      (f) => f.filter((p) => p.command === "sleep 100000").length === 3,
    );
    assertEquals(running.filter((p) => p.command === "sleep 100000").length, 3);
    await within(5000, server.shutdown(), "shutdown");
    assertEquals(await taggedProcesses(tag), []);
    for (const conn of conns) await within(3000, readAll(conn), "connection end");
  } finally {
    await server.shutdown();
    await sweep(tag);
  }
});

async function readAll(conn: Deno.Conn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
  } catch {
    // reset: the end as well
  } finally {
    conn.close();
  }
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}

Deno.test("signalProcessGroup() refuses group ids below 2 (kill(2) would reach every process)", () => {
  // Signal 0 only checks, so even a broken guard would do no harm here.
  for (const pgid of [1, 0, -1, -5, 1.5, NaN]) {
    assertThrows(() => signalProcessGroup(pgid, 0), RangeError, "process group");
  }
});

Deno.test("signalProcessGroup() and liveGroupMembers() see a group until it is gone", async () => {
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", "sleep 100000 & wait"],
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    assertEquals(signalProcessGroup(child.pid, 0), "sent");
    const deadline = Date.now() + 3000;
    while ((await liveGroupMembers(child.pid)) !== 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(await liveGroupMembers(child.pid), 2);
    assertEquals(signalProcessGroup(child.pid, "SIGKILL"), "sent");
    await child.status;
    // The sleep may linger as a zombie until init reaps it: not a live member.
    while ((await liveGroupMembers(child.pid)) !== 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(await liveGroupMembers(child.pid), 0);
  } finally {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // gone
    }
    await child.status;
  }
});

Deno.test("serveCgi() on inetkit's server: a client that hangs up before the head ends the script's group", async () => {
  const { serve } = await import("../../http/serve.ts");
  const { tag, options } = tagged({ timeout: 60000, gracePeriod: 200 });
  try {
    await using server = serve({ port: 0 }, (request, info) => serveCgi(request, info, options));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(
      new TextEncoder().encode("GET /cgi-bin/grandchild.sh HTTP/1.1\r\nHost: x\r\n\r\n"),
    );
    const started = await waitForTagged(tag, (found) => found.length >= 2);
    assert(started.length >= 2, "the script and its child run");
    conn.close();
    const left = await waitForTagged(tag, (found) => found.length === 0, 3000);
    assertEquals(left, []);
  } finally {
    await sweep(tag);
  }
});
