/**
 * `lease.stream(source, { intact })`: a refusal read in full by `onEnd`
 * (FTP's 426 after the data) keeps the connection; other errors close it.
 */
import { BoundedReader } from "../../net/bounded_reader.ts";
import { ReplyError } from "../../net/reply_error.ts";
import { readReply } from "../../net/reply.ts";
import { TextConn } from "../../net/text_conn.ts";
import { assertEquals, assertFalse, assertRejects } from "../_helpers/assert.ts";

const encoder = new TextEncoder();

function peer(text: string) {
  return {
    readable: new ReadableStream<Uint8Array>({
      start: (c) => c.enqueue(encoder.encode(text)),
    }),
    writable: new WritableStream<Uint8Array>(),
    close() {},
  };
}

Deno.test("TextConnLease.stream() keeps the connection when intact() accepts the onEnd error", async () => {
  const conn = new TextConn(peer("abc426 Failure writing network stream\r\n"));
  const lease = await conn.acquire();
  const body = lease.stream(new BoundedReader(lease.reader, 3), {
    onEnd: async () => void (await readReply(lease.reader, { expect: 2 })),
    intact: (error) => error instanceof ReplyError,
  });
  const error = await assertRejects(() => new Response(body).text(), ReplyError);
  assertEquals((error as ReplyError).code, 426);
  assertFalse(conn.closed);
  assertFalse(conn.busy);
  (await conn.acquire()).release();
  conn.close();
});

Deno.test("TextConnLease.stream() closes the connection when intact() refuses the onEnd error", async () => {
  const conn = new TextConn(peer("abc426 Failure\r\n"));
  const lease = await conn.acquire();
  const body = lease.stream(new BoundedReader(lease.reader, 3), {
    onEnd: async () => void (await readReply(lease.reader, { expect: 2 })),
    intact: () => false,
  });
  await assertRejects(() => new Response(body).text(), ReplyError);
  assertEquals(conn.closed, true);
});
