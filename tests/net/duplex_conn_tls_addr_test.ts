/** remoteNetAddr/localNetAddr on a connection upgraded with Deno.startTls (no `transport`). */
import { localNetAddr, remoteNetAddr } from "../../net/duplex_conn.ts";
import { assertEquals } from "../_helpers/assert.ts";

Deno.test("remoteNetAddr() and localNetAddr() read a TLS connection's addresses without transport", () => {
  const tlsLike = {
    readable: new ReadableStream<Uint8Array>(),
    writable: new WritableStream<Uint8Array>(),
    close() {},
    remoteAddr: { hostname: "127.0.0.1", port: 2121 } as unknown as Deno.Addr,
    localAddr: { hostname: "127.0.0.1", port: 40000 } as unknown as Deno.Addr,
  };
  assertEquals(remoteNetAddr(tlsLike), { transport: "tcp", hostname: "127.0.0.1", port: 2121 });
  assertEquals(localNetAddr(tlsLike), { transport: "tcp", hostname: "127.0.0.1", port: 40000 });
  const unix = { ...tlsLike, remoteAddr: { transport: "unix", path: "/x" } as Deno.Addr };
  assertEquals(remoteNetAddr(unix), null);
});
