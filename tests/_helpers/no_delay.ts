/**
 * Records `setNoDelay` calls on Deno's TCP connections: the method is
 * wrapped on the prototype of a probe connection's class (Deno exposes no
 * `getsockopt`), and restored when the spy is disposed.
 */
export interface NoDelaySpy extends Disposable {
  /** The arguments of the calls made on `conn`, in order. */
  callsOn(conn: unknown): (boolean | undefined)[];
}

/** Starts recording; dispose the result (`using`) to stop. */
export async function spyNoDelay(): Promise<NoDelaySpy> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dialled = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  (await listener.accept()).close();
  const proto = Object.getPrototypeOf(dialled) as { setNoDelay(on?: boolean): void };
  dialled.close();
  listener.close();
  const original = proto.setNoDelay;
  const calls: [unknown, boolean | undefined][] = [];
  proto.setNoDelay = function (this: unknown, on?: boolean) {
    calls.push([this, on]);
    return original.call(this, on);
  };
  return {
    callsOn: (conn) => calls.filter(([c]) => c === conn).map(([, on]) => on),
    [Symbol.dispose]() {
      proto.setNoDelay = original;
    },
  };
}
