/**
 * Interop tests against the real peers of `../shared/peers` (postfix,
 * dovecot, vsftpd, inn2, xinetd services, nginx, lighttpd on 127.0.0.1).
 *
 * When `INETKIT_PEERS=1` is set (CI sets it after starting the peers), an
 * unreachable peer fails the test. Otherwise a test whose peer port does not
 * answer is skipped, with a message saying so.
 *
 * @module
 */

/** Whether the environment promises that the peers are up. */
export const PEERS_REQUIRED: boolean = Deno.env.get("INETKIT_PEERS") === "1";

const reachable = new Map<number, boolean>();

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export async function portOpen(port: number): Promise<boolean> {
  const known = reachable.get(port);
  if (known !== undefined) return known;
  let open = false;
  try {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port,
      signal: AbortSignal.timeout(2000),
    });
    conn.close();
    open = true;
  } catch {
    open = false;
  }
  reachable.set(port, open);
  return open;
}

/**
 * Registers an interop test that needs the peer listening on `port`.
 * Skipped (with a printed reason) when the peer is down and
 * `INETKIT_PEERS` is not `1`; failed when it is.
 */
export function peerTest(
  name: string,
  port: number,
  fn: (t: Deno.TestContext) => Promise<void>,
  options: { sanitizeResources?: boolean; sanitizeOps?: boolean } = {},
): void {
  Deno.test({
    name,
    ...options,
    async fn(t) {
      if (!(await portOpen(port))) {
        if (PEERS_REQUIRED) {
          throw new Error(`Peer on 127.0.0.1:${port} is unreachable but INETKIT_PEERS=1`);
        }
        console.warn(`skipped: no peer on 127.0.0.1:${port} (run ../shared/peers/peers.sh start)`);
        return;
      }
      await fn(t);
    },
  });
}

/** Where the peers keep their data (`$PEERS_DIR`, default `/tmp/peers`). */
export const PEERS_DIR: string = Deno.env.get("PEERS_DIR") ?? "/tmp/peers";
