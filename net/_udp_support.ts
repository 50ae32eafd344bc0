// Private: opening a UDP socket with an error that says how to enable it.

/** What to pass to have `Deno.listenDatagram`, said in the error when it is missing. */
export const UNSTABLE_NET_HINT = 'run with --unstable-net, or add "unstable": ["net"] to deno.json';

/**
 * `Deno.listenDatagram` for UDP, or a `Deno.errors.NotSupported` naming the
 * flag when Deno was started without `--unstable-net` (the function is then
 * missing, and calling it would fail with "is not a function").
 */
export function listenUdp(options: Deno.ListenOptions, action: string): Deno.DatagramConn {
  assertUdpSupported(action);
  return Deno.listenDatagram({ ...options, transport: "udp" });
}

/** Throws the `Deno.errors.NotSupported` of {@linkcode listenUdp} when UDP is unavailable. */
export function assertUdpSupported(action: string): void {
  if (typeof Deno.listenDatagram !== "function") {
    throw new Deno.errors.NotSupported(
      `Cannot ${action}: UDP needs Deno.listenDatagram, an unstable API; ${UNSTABLE_NET_HINT}`,
    );
  }
}
