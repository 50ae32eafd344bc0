/**
 * FtpClient transfers: a scripted control connection (exact bytes) with
 * real loopback data connections. EPSV/PASV/EPRT/PORT, the PASV address
 * rule, malformed 227/229, downloads and uploads with REST, progress,
 * cancel with ABOR, refusals before and after the data, timeouts.
 */
import { FtpReplyError } from "../../net/ftp_reply_error.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "../_helpers/assert.ts";
import { dataPeer, epsv, LOGIN, pasv, scripted } from "./_ftp_script.ts";
import { FtpClient, type FtpTransferProgress } from "../../net/ftp_client.ts";
import { writeData } from "../../net/_ftp_client_data.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytes(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

// ---- passive mode and downloads ---------------------------------------------

Deno.test("FtpClient.download() sends TYPE I, EPSV, RETR and reads the 226 after the data", async () => {
  const data = dataPeer();
  const content = bytes(300000);
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 Switching to Binary mode.\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "RETR pub/file.bin\r\n" },
    { send: "150 Opening BINARY mode data connection for pub/file.bin (300000 bytes).\r\n" },
    { sleep: 50 },
    { send: "226 Transfer complete.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const serving = data.send(content);
  const body = await ftp.download("pub/file.bin");
  assert(ftp.busy, "the body holds the connection");
  assertEquals(await new Response(body).bytes(), content);
  await serving;
  assertFalse(ftp.busy);
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.download() takes the 226 arriving before the data connection's end", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "RETR late.txt\r\n" },
    // The final reply first; the data comes 100 ms later.
    { send: "150 Here it comes.\r\n226 Transfer complete.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const serving = data.send("late data", 100);
  assertEquals(await new Response(await ftp.download("late.txt")).text(), "late data");
  await serving;
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.download() falls back to PASV when EPSV is refused, and remembers", async () => {
  const first = dataPeer();
  const second = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: "500 Unknown command.\r\n" },
    { expect: "PASV\r\n" },
    { send: pasv("127.0.0.1", first.port) },
    { expect: "RETR a\r\n" },
    { send: "150 ok\r\n" },
    { sleep: 30 },
    { send: "226 done\r\n" },
    { expect: "PASV\r\n" },
    { send: pasv("127.0.0.1", second.port) },
    { expect: "RETR b\r\n" },
    { send: "150 ok\r\n" },
    { sleep: 30 },
    { send: "226 done\r\n" },
  ]);
  await ftp.login();
  const a = first.send("A");
  assertEquals(await new Response(await ftp.download("a")).text(), "A");
  await a;
  const b = second.send("B");
  assertEquals(await new Response(await ftp.download("b")).text(), "B");
  await b;
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient ignores the address in a 227 reply and dials the control peer (RELIABILITY: PASV address)", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: "502 EPSV not implemented.\r\n" },
    { expect: "PASV\r\n" },
    // A hostile server points elsewhere; the client goes to 127.0.0.1 anyway.
    { send: pasv("10.99.99.99", data.port) },
    { expect: "RETR x\r\n" },
    { send: "150 ok\r\n" },
    { sleep: 30 },
    { send: "226 done\r\n" },
  ]);
  await ftp.login();
  const serving = data.send("from the control peer");
  assertEquals(await new Response(await ftp.download("x")).text(), "from the control peer");
  await serving;
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient with trustPasvAddress dials the address of the 227 reply", async () => {
  const data = dataPeer();
  // The control peer is a documentation address nobody listens on.
  const { peer, ftp } = scripted(
    [
      ...LOGIN,
      { expect: "TYPE I\r\n" },
      { send: "200 ok\r\n" },
      { expect: "PASV\r\n" },
      { send: pasv("127.0.0.1", data.port) },
      { expect: "RETR x\r\n" },
      { send: "150 ok\r\n" },
      { sleep: 30 },
      { send: "226 done\r\n" },
    ],
    { trustPasvAddress: true, epsv: false },
    "192.0.2.1",
  );
  await ftp.login();
  const serving = data.send("trusted");
  assertEquals(await new Response(await ftp.download("x")).text(), "trusted");
  await serving;
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient rejects malformed 227 and 229 replies and keeps the session", async () => {
  for (
    const [reply, code] of [
      ["229 Entering Extended Passive Mode (|||70000|)\r\n", "BAD_EPSV_REPLY"],
      ["229 Entering Extended Passive Mode (|||port|)\r\n", "BAD_EPSV_REPLY"],
      ["229 Entering Extended Passive Mode\r\n", "BAD_EPSV_REPLY"],
    ] as const
  ) {
    const { peer, ftp } = scripted([
      ...LOGIN,
      { expect: "TYPE I\r\n" },
      { send: "200 ok\r\n" },
      { expect: "EPSV\r\n" },
      { send: reply },
      { expect: "NOOP\r\n" },
      { send: "200 ok\r\n" },
    ]);
    await ftp.login();
    const error = await assertRejects(() => ftp.download("x"), ProtocolError);
    assertEquals(error.code, code);
    assertEquals((await ftp.noop()).code, 200);
    await peer.done;
    ftp.close();
  }
  for (
    const reply of [
      "227 Entering Passive Mode (127,0,0,1,300,1).\r\n",
      "227 Entering Passive Mode (127,0,0,1).\r\n",
      "227 Entering Passive Mode (127,0,0,1,0,0).\r\n",
    ]
  ) {
    const { peer, ftp } = scripted([
      ...LOGIN,
      { expect: "TYPE I\r\n" },
      { send: "200 ok\r\n" },
      { expect: "PASV\r\n" },
      { send: reply },
      { expect: "NOOP\r\n" },
      { send: "200 ok\r\n" },
    ], { epsv: false });
    await ftp.login();
    const error = await assertRejects(() => ftp.download("x"), ProtocolError);
    assertEquals(error.code, "BAD_PASV_REPLY");
    assertEquals((await ftp.noop()).code, 200);
    await peer.done;
    ftp.close();
  }
});

Deno.test("FtpClient.download() of a missing file throws 550 and keeps the session", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "RETR missing\r\n" },
    { send: "550 Failed to open file.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const accepted = data.accept().then((c) => c.close(), () => {});
  const error = await assertRejects(() => ftp.download("missing"), FtpReplyError);
  assertEquals([error.code, error.command], [550, "RETR missing"]);
  assertFalse(ftp.busy);
  assertEquals((await ftp.noop()).code, 200);
  data.close();
  await accepted;
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.download() with offset sends REST and resumes (RFC 3659 §5)", async () => {
  const data = dataPeer();
  const progress: FtpTransferProgress[] = [];
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "REST 7\r\n" },
    { send: "350 Restart position accepted (7).\r\n" },
    { expect: "RETR pub/hello.txt\r\n" },
    { send: "150 Opening BINARY mode data connection for pub/hello.txt (13 bytes).\r\n" },
    { sleep: 30 },
    { send: "226 Transfer complete.\r\n" },
  ]);
  await ftp.login();
  const serving = data.send("world\n");
  const body = await ftp.download("pub/hello.txt", {
    offset: 7,
    onProgress: (p) => progress.push(p),
  });
  assertEquals(await new Response(body).text(), "world\n");
  await serving;
  // The 150's size minus the offset is the total.
  assertEquals(progress.at(-1), { loaded: 6, total: 6, done: true });
  assert(progress.slice(0, -1).every((p) => !p.done && p.total === 6));
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.download() throws when REST is refused and keeps the session", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "REST 7\r\n" },
    { send: "502 REST not implemented.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const accepted = data.accept().then((c) => c.close(), () => {});
  const error = await assertRejects(() => ftp.download("x", { offset: 7 }), FtpReplyError);
  assertEquals(error.command, "REST 7");
  assertEquals((await ftp.noop()).code, 200);
  data.close();
  await accepted;
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.download() body read with a BYOB reader fills the caller's buffer", async () => {
  const data = dataPeer();
  const content = bytes(200000, 3);
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "RETR big\r\n" },
    { send: "150 ok\r\n" },
    { sleep: 50 },
    { send: "226 done\r\n" },
  ]);
  await ftp.login();
  const serving = data.send(content);
  const reader = (await ftp.download("big")).getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(4096);
  const received = new Uint8Array(content.length);
  let at = 0;
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(buffer));
    if (done) break;
    received.set(value, at);
    at += value.length;
    buffer = value.buffer as ArrayBuffer;
  }
  assertEquals(at, content.length);
  assertEquals(received, content);
  await serving;
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.download() cancelled mid-transfer sends ABOR, reads 426/226, and the session goes on", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "RETR endless\r\n" },
    { send: "150 ok\r\n" },
    { expect: "ABOR\r\nPWD\r\n" },
    { send: "426 Connection closed; transfer aborted.\r\n226 Abort successful.\r\n" },
    { send: '257 "/" is the current directory\r\n' },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  // The server's side writes until the client closes the data connection.
  const serving = (async () => {
    const conn = await data.accept();
    const chunk = new Uint8Array(65536);
    try {
      for (;;) await conn.write(chunk);
    } catch {
      // closed by the client
    } finally {
      conn.close();
    }
  })();
  const body = await ftp.download("endless");
  const reader = body.getReader();
  assert(!(await reader.read()).done);
  await reader.cancel();
  await serving;
  assertFalse(ftp.busy);
  assertFalse(ftp.closed);
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.download() cancelled after the server finished drops its 226 and ABOR's 225", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "RETR small\r\n" },
    { send: "150 ok\r\n226 Transfer complete.\r\n" },
    { expect: "ABOR\r\nPWD\r\n" },
    { send: '225 No transfer to ABOR.\r\n257 "/" is the current directory\r\n' },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const serving = data.send("0123456789");
  const body = await ftp.download("small");
  await serving;
  await body.cancel();
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.download() that the server fails after the data (426) errors the body and keeps the session", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "RETR x\r\n" },
    { send: "150 ok\r\n" },
    { sleep: 30 },
    { send: "426 Failure writing network stream.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const serving = data.send("partial");
  const body = await ftp.download("x");
  const error = await assertRejects(() => new Response(body).text(), FtpReplyError);
  assertEquals(error.code, 426);
  await serving;
  assertFalse(ftp.closed);
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.download() of a stalled data connection times out (dataTimeout) and closes", async () => {
  const data = dataPeer();
  const { ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "RETR stall\r\n" },
    { send: "150 ok\r\n" },
  ], { dataTimeout: 100 });
  await ftp.login();
  const held = data.accept();
  const body = await ftp.download("stall");
  const error = await assertRejects(() => new Response(body).text());
  assertInstanceOf(error, DOMException);
  assertEquals(error.name, "TimeoutError");
  assert(ftp.closed);
  (await held).close();
});

Deno.test("FtpClient.download() keeps a slow but moving transfer alive past dataTimeout", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "RETR slow\r\n" },
    { send: "150 ok\r\n" },
    { sleep: 400 },
    { send: "226 done\r\n" },
  ], { dataTimeout: 150 });
  await ftp.login();
  const serving = (async () => {
    const conn = await data.accept();
    for (let i = 0; i < 6; i++) {
      await conn.write(encoder.encode(String(i)));
      await new Promise((r) => setTimeout(r, 60));
    }
    conn.close();
  })();
  assertEquals(await new Response(await ftp.download("slow")).text(), "012345");
  await serving;
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.downloadLines() uses TYPE A and streams the lines without line ends", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE A\r\n" },
    { send: "200 Switching to ASCII mode.\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "RETR README\r\n" },
    { send: "150 ok\r\n" },
    { sleep: 30 },
    { send: "226 done\r\n" },
  ]);
  await ftp.login();
  const serving = data.send("WELCOME to python.org\r\n\r\nNi!\r\nlast line");
  const lines: string[] = [];
  for await (const line of await ftp.downloadLines("README")) lines.push(line);
  assertEquals(lines, ["WELCOME to python.org", "", "Ni!", "last line"]);
  await serving;
  await peer.done;
  ftp.close();
});

// ---- active mode ------------------------------------------------------------------

Deno.test("FtpClient active mode: EPRT, then PORT when EPRT is refused; the data comes from the server", async () => {
  for (const eprt of [true, false]) {
    await using server = new ActiveServer(eprt);
    const body = await server.ftp.download("pub/hello.txt");
    assertEquals(await new Response(body).text(), "hello, world\n");
    await server.done;
    assertStringIncludes(
      server.commands.join("\n"),
      eprt ? "EPRT |1|127.0.0.1|" : "PORT 127,0,0,1,",
    );
  }
});

Deno.test("FtpClient active mode refuses a data connection from a host other than the control peer", async () => {
  // The control peer is 127.0.0.2; the connection comes from 127.0.0.1.
  await using server = new ActiveServer(true, "127.0.0.2");
  const error = await assertRejects(() => server.ftp.download("pub/hello.txt"), FtpReplyError);
  assertEquals(error.code, 425);
  assert(server.refusedEarly, "the foreign connection was closed without data");
  await server.done;
  assertFalse(server.ftp.closed);
});

// ---- uploads ------------------------------------------------------------------------

Deno.test("FtpClient.upload() STOR: the 226 is read after the data connection is closed", async () => {
  const data = dataPeer();
  const content = bytes(500000, 11);
  const progress: FtpTransferProgress[] = [];
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "STOR upload/x.bin\r\n" },
    { send: "150 Ok to send data.\r\n" },
    { sleep: 150 },
    { send: "226 Transfer complete.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const receiving = data.receive();
  const stream = ReadableStream.from([content.subarray(0, 100000), content.subarray(100000)]);
  const result = await ftp.upload("upload/x.bin", stream, {
    size: content.length,
    onProgress: (p) => progress.push(p),
  });
  assertEquals(await receiving, content);
  assertEquals(result.size, content.length);
  assertEquals(result.reply.code, 226);
  assertEquals(progress.at(-1), { loaded: content.length, total: content.length, done: true });
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

/** A byte stream of `content` in pieces of at most `piece` bytes, failing at `failAt` if given. */
function byteStream(
  content: Uint8Array,
  piece: number,
  failAt?: number,
): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (failAt !== undefined && at >= failAt) {
        controller.error(new Error("disk read failed"));
        return;
      }
      if (at >= content.length) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const request = controller.byobRequest;
      // Never past `failAt`: the bytes before it are all the source gives.
      const n = Math.min(piece, content.length - at, (failAt ?? Infinity) - at);
      if (request?.view) {
        const view = new Uint8Array(
          request.view.buffer,
          request.view.byteOffset,
          request.view.byteLength,
        );
        const m = Math.min(n, view.length);
        view.set(content.subarray(at, at + m));
        at += m;
        request.respond(m);
      } else {
        controller.enqueue(content.slice(at, at + n));
        at += n;
      }
    },
  }) as ReadableStream<Uint8Array>;
}

Deno.test("writeData() counts each write the socket takes, so a large piece on a slow link is progress", async () => {
  // A data connection that takes at most 3 bytes per write, as a full
  // socket buffer does: every partial write must count for the idle timeout.
  const taken: number[] = [];
  const conn = {
    write: (p: Uint8Array) => {
      const n = Math.min(3, p.length);
      taken.push(...p.subarray(0, n));
      return Promise.resolve(n);
    },
  } as unknown as Deno.Conn;
  const moved: number[] = [];
  await writeData(conn, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), (n) => moved.push(n));
  assertEquals(moved, [3, 3, 2]);
  assertEquals(taken, [1, 2, 3, 4, 5, 6, 7, 8]);
});

Deno.test("FtpClient.upload() reads a byte stream (a file's) with BYOB reads, in order", async () => {
  const data = dataPeer();
  const content = bytes(700000, 5);
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "STOR f\r\n" },
    { send: "150 Ok to send data.\r\n" },
    { sleep: 150 },
    { send: "226 Transfer complete.\r\n" },
  ]);
  await ftp.login();
  const receiving = data.receive();
  const result = await ftp.upload("f", byteStream(content, 100000));
  assertEquals(await receiving, content);
  assertEquals(result.size, content.length);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.upload() reads a byte stream into buffers that start at 64 KiB and double up to 4 MiB", async () => {
  for (const size of [10, 12 * 1024 * 1024]) {
    const data = dataPeer();
    const content = bytes(size, 3);
    const { peer, ftp } = scripted([
      ...LOGIN,
      { expect: "TYPE I\r\n" },
      { send: "200 ok\r\n" },
      { expect: "EPSV\r\n" },
      { send: epsv(data.port) },
      { expect: "STOR f\r\n" },
      { send: "150 Ok to send data.\r\n" },
      { sleep: 100 },
      { send: "226 Transfer complete.\r\n" },
    ]);
    await ftp.login();
    const receiving = data.receive();
    // The view of every read the client asks for, filled as far as the content goes.
    const views: number[] = [];
    let at = 0;
    const source = new ReadableStream({
      type: "bytes",
      pull(controller) {
        const request = controller.byobRequest!;
        const view = request.view!;
        views.push(view.byteLength);
        if (at >= content.length) {
          controller.close();
          request.respond(0);
          return;
        }
        const n = Math.min(view.byteLength, content.length - at);
        new Uint8Array(view.buffer, view.byteOffset, n).set(content.subarray(at, at + n));
        at += n;
        request.respond(n);
      },
    }) as ReadableStream<Uint8Array>;
    assertEquals((await ftp.upload("f", source)).size, size);
    assertEquals(await receiving, content);
    const K = 1024;
    // 12 MiB: 64 KiB + ... + 2 MiB (4032 KiB), 4 MiB twice, 4 MiB for the
    // last 64 KiB, then the read that finds the end.
    assertEquals(
      views,
      (size === 10 ? [64, 64] : [64, 128, 256, 512, 1024, 2048, 4096, 4096, 4096, 4096])
        .map((n) => n * K),
    );
    await peer.done;
    ftp.close();
  }
});

Deno.test("FtpClient.upload() whose byte stream fails sends ABOR and keeps the session", async () => {
  const data = dataPeer();
  const content = bytes(300000, 9);
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "STOR f\r\n" },
    { send: "150 Ok to send data.\r\n" },
    { expect: "ABOR\r\nPWD\r\n" },
    { send: '226 Transfer complete.\r\n225 No transfer to ABOR.\r\n257 "/" is current\r\n' },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const receiving = data.receive();
  await assertRejects(
    () => ftp.upload("f", byteStream(content, 100000, 200000)),
    Error,
    "disk read",
  );
  assertEquals((await receiving).length <= 200000, true);
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.upload() with append sends APPE; with offset sends REST then STOR", async () => {
  for (const mode of ["append", "offset"] as const) {
    const data = dataPeer();
    const { peer, ftp } = scripted([
      ...LOGIN,
      { expect: "TYPE I\r\n" },
      { send: "200 ok\r\n" },
      { expect: "EPSV\r\n" },
      { send: epsv(data.port) },
      ...(mode === "offset"
        ? [{ expect: "REST 6\r\n" }, { send: "350 Restart position accepted (6).\r\n" }]
        : []),
      { expect: mode === "append" ? "APPE log.txt\r\n" : "STOR log.txt\r\n" },
      { send: "150 Ok to send data.\r\n" },
      { sleep: 100 },
      { send: "226 Transfer complete.\r\n" },
    ]);
    await ftp.login();
    const receiving = data.receive();
    const result = await ftp.upload(
      "log.txt",
      "world\n",
      mode === "append" ? { append: true } : { offset: 6 },
    );
    assertEquals(decoder.decode(await receiving), "world\n");
    assertEquals(result.size, 6);
    await peer.done;
    ftp.close();
  }
});

Deno.test("FtpClient.upload() in TYPE A turns bare LF into CR LF across chunks", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE A\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "STOR file.txt\r\n" },
    { send: "150 Ok to send data.\r\n" },
    { sleep: 100 },
    { send: "226 Transfer complete.\r\n" },
  ]);
  await ftp.login();
  const receiving = data.receive();
  const stream = ReadableStream.from(
    ["one\n", "two\r", "\nthree\n\n"].map((s) => encoder.encode(s)),
  );
  await ftp.upload("file.txt", stream, { type: "A" });
  assertEquals(decoder.decode(await receiving), "one\r\ntwo\r\nthree\r\n\r\n");
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.upload() refused with 553 keeps the session and cancels the unread source", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "STOR /etc/passwd\r\n" },
    { send: "553 Could not create file.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const accepted = data.accept().then((c) => c.close(), () => {});
  let cancelled = false;
  const source = new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) });
  const error = await assertRejects(() => ftp.upload("/etc/passwd", source), FtpReplyError);
  assertEquals(error.code, 553);
  assert(cancelled);
  assertEquals((await ftp.noop()).code, 200);
  data.close();
  await accepted;
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.upload() whose source fails sends ABOR, keeps the session and throws the source's error", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "STOR x\r\n" },
    { send: "150 Ok to send data.\r\n" },
    { expect: "ABOR\r\nPWD\r\n" },
    { send: '226 Transfer complete.\r\n225 No transfer to ABOR.\r\n257 "/" is current\r\n' },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const receiving = data.receive();
  let sent = false;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(encoder.encode("partial"));
      } else {
        controller.error(new Error("disk read failed"));
      }
    },
  });
  await assertRejects(() => ftp.upload("x", source), Error, "disk read failed");
  assertEquals(decoder.decode(await receiving), "partial");
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.upload() over quota: a 552 after the data keeps the session", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "STOR big\r\n" },
    { send: "150 Ok to send data.\r\n" },
    { sleep: 100 },
    { send: "552 Exceeded storage allocation.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const receiving = data.receive();
  const error = await assertRejects(() => ftp.upload("big", "data"), FtpReplyError);
  assertEquals(error.code, 552);
  await receiving;
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

// ---- listings -------------------------------------------------------------------------

const VSFTPD_LIST = "drwxr-xr-x    2 1001     1001         4096 Nov 14  2023 pub\r\n" +
  "-rw-r--r--    1 1001     1001           35 Nov 14  2023 readme.txt\r\n" +
  "drwxr-xr-x    2 1001     1001         4096 Dec 03 11:46 upload\r\n";

Deno.test("FtpClient.list() parses LIST when the server has no MLST (vsftpd)", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE A\r\n" },
    { send: "200 Switching to ASCII mode.\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "LIST\r\n" },
    { send: "150 Here comes the directory listing.\r\n" },
    { sleep: 30 },
    { send: "226 Directory send OK.\r\n" },
  ]);
  await ftp.login();
  const serving = data.send(VSFTPD_LIST);
  const entries = await ftp.list(undefined, { now: new Date("2026-12-03T12:00:00Z") });
  assertEquals(entries.map((e) => [e.name, e.type, e.size]), [
    ["pub", "directory", 4096],
    ["readme.txt", "file", 35],
    ["upload", "directory", 4096],
  ]);
  assertEquals(entries[2]!.modified?.toISOString(), "2026-12-03T11:46:00.000Z");
  await serving;
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.list() uses MLSD when FEAT lists MLST", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    { send: "220 ready\r\n" },
    { expect: "FEAT\r\n" },
    { send: "211-Features:\r\n MLST type*;size*;modify*;\r\n EPSV\r\n211 End\r\n" },
    { expect: "USER anonymous\r\n" },
    { send: "230 ok\r\n" },
    { expect: "TYPE A\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "MLSD pub\r\n" },
    { send: "150 ok\r\n" },
    { sleep: 30 },
    { send: "226 ok\r\n" },
  ]);
  await ftp.feat();
  await ftp.login();
  const serving = data.send(
    "type=cdir;modify=20231114221320; pub\r\ntype=file;size=13;modify=20231114221320;perm=r; hello world.txt\r\n",
  );
  const entries = await ftp.list("pub");
  assertEquals(entries.map((e) => [e.name, e.type, e.size]), [["hello world.txt", "file", 13]]);
  assertEquals(entries[0]!.modified?.toISOString(), "2023-11-14T22:13:20.000Z");
  await serving;
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.nlst() and dir() return the lines of NLST and LIST", async () => {
  const first = dataPeer();
  const second = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE A\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(first.port) },
    { expect: "NLST pub\r\n" },
    { send: "150 ok\r\n" },
    { sleep: 30 },
    { send: "226 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(second.port) },
    { expect: "LIST\r\n" },
    { send: "150 ok\r\n" },
    { sleep: 30 },
    { send: "226 ok\r\n" },
  ]);
  await ftp.login();
  const a = first.send("pub/1mb-A.bin\r\npub/hello.txt\r\n");
  assertEquals(await ftp.nlst("pub"), ["pub/1mb-A.bin", "pub/hello.txt"]);
  await a;
  const b = second.send(VSFTPD_LIST);
  assertEquals(await ftp.dir(), VSFTPD_LIST.split("\r\n").slice(0, 3));
  await b;
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.list() caps the listing (maxListingSize), aborts it and keeps the session", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE A\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "LIST\r\n" },
    { send: "150 ok\r\n" },
    { expect: "ABOR\r\nPWD\r\n" },
    { send: '426 aborted\r\n226 ok\r\n257 "/" is current\r\n' },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ], { maxListingSize: 4096 });
  await ftp.login();
  const serving = (async () => {
    const conn = await data.accept();
    const line = encoder.encode(VSFTPD_LIST);
    try {
      for (;;) await conn.write(line);
    } catch {
      // closed by the client
    } finally {
      conn.close();
    }
  })();
  const error = await assertRejects(() => ftp.list(), ProtocolError);
  assertEquals(error.code, "LISTING_TOO_LARGE");
  await serving;
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.list() refuses an over-long listing line (maxListingLine)", async () => {
  const data = dataPeer();
  const { ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE A\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "LIST\r\n" },
    { send: "150 ok\r\n" },
    { expect: "ABOR\r\nPWD\r\n" },
    { send: '226 ok\r\n225 ok\r\n257 "/" is current\r\n' },
  ], { maxListingLine: 100 });
  await ftp.login();
  const serving = data.send("x".repeat(1000));
  const error = await assertRejects(() => ftp.list(), ProtocolError);
  assertEquals(error.code, "LINE_TOO_LONG");
  await serving;
  assertFalse(ftp.closed);
  ftp.close();
});

// ---- data connection failures -------------------------------------------------------

Deno.test("FtpClient reports a passive port that refuses the connection and keeps the session", async () => {
  const data = dataPeer();
  const port = data.port;
  data.close(); // nobody listens there any more
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(port) },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const error = await assertRejects(() => ftp.download("x"), ProtocolError);
  assertEquals(error.code, "DATA_CONNECT_FAILED");
  assertStringIncludes(error.message, `127.0.0.1:${port}`);
  assertEquals((await ftp.noop()).code, 200);
  await peer.done;
  ftp.close();
});

Deno.test("FtpClient.download() refused with 425 after the data connection keeps the session", async () => {
  const data = dataPeer();
  const { peer, ftp } = scripted([
    ...LOGIN,
    { expect: "TYPE I\r\n" },
    { send: "200 ok\r\n" },
    { expect: "EPSV\r\n" },
    { send: epsv(data.port) },
    { expect: "RETR x\r\n" },
    { send: "425 Failed to establish connection.\r\n" },
    { expect: "NOOP\r\n" },
    { send: "200 ok\r\n" },
  ]);
  await ftp.login();
  const accepted = data.accept().then((c) => c.close(), () => {});
  assertEquals((await assertRejects(() => ftp.download("x"), FtpReplyError)).code, 425);
  assertEquals((await ftp.noop()).code, 200);
  data.close();
  await accepted;
  await peer.done;
  ftp.close();
});

// ---- active-mode helper -------------------------------------------------------------------

/**
 * A control side played by hand for active mode: the port to dial is only
 * known from the client's EPRT/PORT line. With a control peer other than
 * 127.0.0.1, the data connection (from 127.0.0.1) must be refused by the
 * client; the server then answers 425.
 */
class ActiveServer implements AsyncDisposable {
  readonly commands: string[] = [];
  readonly ftp: FtpClient;
  readonly done: Promise<void>;
  refusedEarly = false;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #lines: string[] = [];
  #wake: (() => void) | null = null;
  #buffer = "";

  constructor(eprt: boolean, peerHost = "127.0.0.1") {
    const readable = new ReadableStream<Uint8Array>({ start: (c) => void (this.#controller = c) });
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        this.#buffer += decoder.decode(chunk);
        let at;
        while ((at = this.#buffer.indexOf("\r\n")) >= 0) {
          this.#lines.push(this.#buffer.slice(0, at));
          this.#buffer = this.#buffer.slice(at + 2);
        }
        this.#wake?.();
      },
    });
    const conn = {
      readable,
      writable,
      close: () => {
        try {
          this.#controller.close();
        } catch { /* closed */ }
      },
      remoteAddr: { transport: "tcp" as const, hostname: peerHost, port: 21 },
      localAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 40000 },
    };
    this.ftp = new FtpClient(conn, { passive: false, timeout: 3000, dataTimeout: 3000 });
    this.done = this.#play(eprt, peerHost !== "127.0.0.1");
    this.done.catch(() => {});
  }

  #send(text: string) {
    this.#controller.enqueue(encoder.encode(text));
  }

  async #next(): Promise<string> {
    while (this.#lines.length === 0) {
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = null;
    }
    const line = this.#lines.shift()!;
    this.commands.push(line);
    return line;
  }

  async #play(eprt: boolean, foreign: boolean): Promise<void> {
    this.#send("220 ready\r\n");
    assertEquals(await this.#next(), "TYPE I");
    this.#send("200 ok\r\n");
    let line = await this.#next();
    let port: number;
    if (eprt) {
      const m = /^EPRT \|1\|127\.0\.0\.1\|(\d+)\|$/.exec(line);
      assert(m !== null, line);
      port = Number(m[1]);
    } else {
      assertEquals(line.startsWith("EPRT "), true);
      this.#send("500 EPRT not understood.\r\n");
      line = await this.#next();
      const m = /^PORT 127,0,0,1,(\d+),(\d+)$/.exec(line);
      assert(m !== null, line);
      port = Number(m[1]) * 256 + Number(m[2]);
    }
    this.#send("200 PORT command successful.\r\n");
    assertEquals(await this.#next(), "RETR pub/hello.txt");
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    if (foreign) {
      // The client closes it at once, without reading.
      this.refusedEarly = (await conn.read(new Uint8Array(1)).catch(() => null)) === null;
      conn.close();
      this.#send("425 Failed to establish connection.\r\n");
      return;
    }
    this.#send("150 Opening BINARY mode data connection.\r\n");
    await conn.write(encoder.encode("hello, world\n"));
    conn.close();
    await new Promise((r) => setTimeout(r, 30));
    this.#send("226 Transfer complete.\r\n");
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.ftp.close();
    return Promise.resolve();
  }
}
