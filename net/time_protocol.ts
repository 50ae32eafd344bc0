import { BufferedReader } from "./buffered_reader.ts";
import { writeAll } from "./_io.ts";
import { connectTcp } from "./connect_tcp.ts";
import { ProtocolError } from "./protocol_error.ts";
import { TcpServer, type TcpShutdownOptions } from "./tcp_server.ts";
import { UdpServer } from "./udp_server.ts";
import { assertUdpSupported, listenUdp } from "./_udp_support.ts";

/** Seconds from 1900-01-01 (RFC 868's epoch) to 1970-01-01 (the Unix epoch). */
export const TIME_1970 = 2208988800;

/** The well-known port of the time protocol, TCP and UDP (RFC 868). */
export const TIME_PORT = 37;

const ERA = 2 ** 32;
const HALF_ERA = 2 ** 31;

/**
 * Turns an RFC 868 time value into a date.
 *
 * The value is 32 bits of seconds since 1900 and wraps on
 * 2036-02-07T06:28:16Z. The era pivot: a value with its top bit set is read
 * as 1968-01-20T03:14:08Z through 2036-02-07T06:28:15Z, and a value with its
 * top bit clear as 2036-02-07T06:28:16Z through 2104-02-26T09:42:23Z (the
 * rule NTP uses, RFC 4330 §3). Set `pivot` to 0 to read every value in the
 * first era (1900-2036).
 *
 * @param value The 32-bit value, 0 to 2^32 - 1.
 * @param options The pivot: values below it are read in the second era.
 * @returns The date.
 * @throws {RangeError} If `value` is not an integer from 0 to 2^32 - 1.
 *
 * @example Reading values on both sides of the 2036 wrap
 * ```ts
 * import { timeToDate } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(timeToDate(2208988800).toISOString(), "1970-01-01T00:00:00.000Z");
 * assertEquals(timeToDate(0xffffffff).toISOString(), "2036-02-07T06:28:15.000Z");
 * assertEquals(timeToDate(0).toISOString(), "2036-02-07T06:28:16.000Z");
 * assertEquals(timeToDate(0, { pivot: 0 }).toISOString(), "1900-01-01T00:00:00.000Z");
 * ```
 */
export function timeToDate(value: number, options?: { pivot?: number }): Date {
  if (!Number.isInteger(value) || value < 0 || value >= ERA) {
    throw new RangeError(`Cannot convert time value ${value}: not a 32-bit unsigned integer`);
  }
  const pivot = options?.pivot ?? HALF_ERA;
  const seconds = value < pivot ? value + ERA : value;
  return new Date((seconds - TIME_1970) * 1000);
}

/**
 * Turns a date into the RFC 868 32-bit value (seconds since 1900, modulo
 * 2^32, so dates after the 2036 wrap start again from 0).
 *
 * @param date The date; sub-second parts are dropped.
 * @returns The value, 0 to 2^32 - 1.
 * @throws {RangeError} If the date is invalid or before 1900.
 *
 * @example
 * ```ts
 * import { dateToTime } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(dateToTime(new Date("1970-01-01T00:00:00Z")), 2208988800);
 * assertEquals(dateToTime(new Date("2036-02-07T06:28:16Z")), 0);
 * ```
 */
export function dateToTime(date: Date): number {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000) + TIME_1970;
  if (!Number.isFinite(ms) || seconds < 0) {
    throw new RangeError(`Cannot convert date ${date}: invalid or before 1900`);
  }
  return seconds % ERA;
}

/** Encodes a date as the 4 big-endian bytes a time server sends. */
function encodeTime(date: Date): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, dateToTime(date));
  return bytes;
}

/** Options for {@linkcode getTime}. */
export interface GetTimeOptions {
  /**
   * The time server.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * Its port.
   *
   * @default {37}
   */
  port?: number;
  /**
   * `"tcp"`: connect and read 4 bytes. `"udp"`: send an empty datagram and
   * wait for a 4-byte answer, with retries.
   *
   * @default {"tcp"}
   */
  transport?: "tcp" | "udp";
  /**
   * Milliseconds for the whole exchange over TCP, or for each UDP attempt.
   *
   * @default {5000}
   */
  timeout?: number;
  /**
   * UDP only: how many times to send again after an attempt times out.
   *
   * @default {2}
   */
  retries?: number;
  /** The era pivot for {@linkcode timeToDate}. */
  pivot?: number;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/**
 * Asks an RFC 868 time server for the time, over TCP or UDP.
 *
 * Over TCP the client reads exactly 4 bytes and closes without waiting for
 * the server to close. Over UDP it ignores datagrams from any other address
 * or port than the server's, and retries on silence.
 *
 * @param options The server and the transport.
 * @returns The server's time, to the second.
 * @throws {ProtocolError} `"SHORT_REPLY"` when fewer than 4 bytes come,
 *   `"BAD_REPLY"` for a UDP answer longer than 4 bytes.
 * @throws {DOMException} A `TimeoutError` when the server stays silent.
 * @throws {Deno.errors.NotSupported} For UDP when Deno runs without
 *   `--unstable-net` (or `"unstable": ["net"]` in `deno.json`).
 *
 * @example Asking a local time server
 * ```ts ignore
 * import { getTime } from "@inetkit/inetkit/net";
 *
 * const date = await getTime({ hostname: "127.0.0.1", port: 3737, transport: "udp" });
 * console.log("server time is", date.toUTCString());
 * ```
 */
export async function getTime(options?: GetTimeOptions): Promise<Date> {
  options ??= {};
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? TIME_PORT;
  const timeout = options.timeout ?? 5000;
  const value = options.transport === "udp"
    ? await getTimeUdp(hostname, port, timeout, options.retries ?? 2, options.signal)
    : await getTimeTcp(hostname, port, timeout, options.signal);
  return timeToDate(value, { pivot: options.pivot });
}

async function getTimeTcp(
  hostname: string,
  port: number,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  const deadline = AbortSignal.timeout(timeout);
  const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
  const conn = await connectTcp({ hostname, port, signal: combined, timeout });
  const onAbort = () => conn.close();
  combined.addEventListener("abort", onAbort, { once: true });
  try {
    const reader = new BufferedReader(conn, { bufferSize: 16 });
    const bytes = await reader.peek(4);
    if (bytes.length < 4) {
      throw new ProtocolError(
        "SHORT_REPLY",
        `Cannot read time: server sent ${bytes.length} bytes instead of 4`,
      );
    }
    return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  } catch (error) {
    if (combined.aborted) throw combined.reason;
    throw error;
  } finally {
    combined.removeEventListener("abort", onAbort);
    try {
      conn.close();
    } catch {
      // closed by an abort
    }
  }
}

async function getTimeUdp(
  hostname: string,
  port: number,
  timeout: number,
  retries: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  signal?.throwIfAborted();
  const address = await resolveAddress(hostname);
  const ipv6 = address.includes(":");
  // Bind where the answer will arrive: loopback for a loopback server.
  const loopback = address === "::1" || address.startsWith("127.");
  const socket = listenUdp({
    hostname: loopback ? (ipv6 ? "::1" : "127.0.0.1") : ipv6 ? "::" : "0.0.0.0",
    port: 0,
  }, "get time over UDP");
  const target: Deno.NetAddr = { transport: "udp", hostname: address, port };
  let abortReason: unknown;
  const onAbort = () => {
    abortReason = signal!.reason;
    socket.close();
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  const waiter = new DatagramWaiter(socket);
  try {
    for (let attempt = 0; attempt <= retries; attempt++) {
      await socket.send(new Uint8Array(0), target);
      const answer = await waiter.receiveFrom(target, timeout);
      if (answer === null) continue;
      if (answer.length < 4) {
        throw new ProtocolError(
          "SHORT_REPLY",
          `Cannot read time: server sent ${answer.length} bytes instead of 4`,
        );
      }
      if (answer.length > 4) {
        throw new ProtocolError(
          "BAD_REPLY",
          `Cannot read time: server sent ${answer.length} bytes instead of 4`,
        );
      }
      return new DataView(answer.buffer, answer.byteOffset, 4).getUint32(0);
    }
    throw new DOMException(
      `Cannot read time: no answer from ${hostname}:${port} after ${retries + 1} attempts`,
      "TimeoutError",
    );
  } catch (error) {
    if (abortReason !== undefined) throw abortReason;
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    try {
      socket.close();
    } catch {
      // closed by an abort
    }
  }
}

/**
 * Receives datagrams from one socket, keeping at most one `receive` pending
 * (a datagram socket allows one at a time), so a wait that timed out can be
 * picked up by the next attempt.
 */
class DatagramWaiter {
  #socket: Deno.DatagramConn;
  #pending: Promise<[Uint8Array, Deno.Addr]> | null = null;

  constructor(socket: Deno.DatagramConn) {
    this.#socket = socket;
  }

  /** Waits up to `timeout` ms for a datagram from `from`; others are dropped. */
  async receiveFrom(from: Deno.NetAddr, timeout: number): Promise<Uint8Array | null> {
    const end = Date.now() + timeout;
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) return null;
      if (this.#pending === null) {
        this.#pending = this.#socket.receive(new Uint8Array(512));
        // Settles with an error once the socket closes; nobody may be waiting.
        this.#pending.catch(() => {});
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<null>((resolve) => (timer = setTimeout(resolve, left, null)));
      const result = await Promise.race([this.#pending, timedOut]).finally(() =>
        clearTimeout(timer)
      );
      if (result === null) return null;
      this.#pending = null;
      const [data, addr] = result;
      const netAddr = addr as Deno.NetAddr;
      if (netAddr.port === from.port && sameHost(netAddr.hostname, from.hostname)) return data;
    }
  }
}

function sameHost(a: string, b: string): boolean {
  const strip = (h: string) => h.replace(/^::ffff:/i, "").toLowerCase();
  return strip(a) === strip(b);
}

async function resolveAddress(hostname: string): Promise<string> {
  const bare = hostname.replace(/^\[|\]$/g, "");
  if (/^[\d.]+$/.test(bare) || bare.includes(":")) return bare;
  if (bare.toLowerCase() === "localhost") return "127.0.0.1";
  const found = await Deno.resolveDns(bare, "A").catch(() => [] as string[]);
  if (found[0] !== undefined) return found[0];
  const found6 = await Deno.resolveDns(bare, "AAAA").catch(() => [] as string[]);
  if (found6[0] !== undefined) return found6[0];
  throw new Deno.errors.NotFound(`Cannot resolve ${hostname}`);
}

/** Options for {@linkcode TimeServer}. */
export interface TimeServerOptions {
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port for both transports; 0 picks a free port (the same for TCP and
   * UDP).
   *
   * @default {0}
   */
  port?: number;
  /**
   * Which transports to serve.
   *
   * @default {"both"}
   */
  transport?: "tcp" | "udp" | "both";
  /**
   * The clock to report.
   *
   * @default {() => new Date()}
   */
  now?: () => Date;
  /** Aborting it shuts the server down. */
  signal?: AbortSignal;
  /** Receives errors; the server keeps running. */
  onError?: (error: unknown) => void;
  /**
   * Called for every answer sent (the classic examples print "connection
   * from ..."). An exception it throws goes to `onError`.
   */
  onRequest?: (info: TimeRequestInfo) => void;
}

/** Who asked a {@linkcode TimeServer} for the time, for {@linkcode TimeServerOptions.onRequest}. */
export interface TimeRequestInfo {
  /** The transport the request came over. */
  transport: "tcp" | "udp";
  /** The client's address. */
  remoteAddr: Deno.NetAddr;
  /** The time sent. */
  date: Date;
}

/**
 * An RFC 868 time server over TCP and UDP. Over TCP it sends the 4 bytes and
 * closes without reading; over UDP it answers every datagram, empty ones
 * included, with one 4-byte datagram. Like {@linkcode TcpServer} it runs
 * until `shutdown()` (or its `signal`), and `finished` settles once it has
 * stopped: `await server.finished` keeps a program serving.
 *
 * UDP needs `--unstable-net` (or `"unstable": ["net"]` in `deno.json`);
 * without it the constructor throws a `Deno.errors.NotSupported` saying so
 * (ask for `transport: "tcp"` to serve TCP only).
 *
 * @example Serving and querying the time over both transports
 * ```ts
 * import { getTime, TimeServer } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const fixed = new Date("2030-01-02T03:04:05Z");
 * await using server = new TimeServer({ now: () => fixed });
 * const port = server.addr.port;
 * assertEquals(await getTime({ port, transport: "tcp" }), fixed);
 * assertEquals(await getTime({ port, transport: "udp" }), fixed);
 * ```
 *
 * @example Serving until stopped
 * ```ts
 * import { TimeServer } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const controller = new AbortController();
 * const server = new TimeServer({ transport: "tcp", signal: controller.signal });
 * setTimeout(() => controller.abort(), 10);
 * await server.finished; // a server program waits here until Ctrl-C
 * assertEquals(server.addr.transport, "tcp");
 * ```
 */
export class TimeServer implements AsyncDisposable {
  #tcp: TcpServer | null = null;
  #udp: UdpServer | null = null;
  #now: () => Date;
  #addr: Deno.NetAddr;
  #finished: Promise<void>;

  /**
   * Starts listening at once.
   *
   * @param options Where to listen, which transports, which clock.
   * @throws {Deno.errors.AddrInUse} When the port is taken.
   * @throws {Deno.errors.NotSupported} For UDP without `--unstable-net`.
   */
  constructor(options?: TimeServerOptions) {
    options ??= {};
    this.#now = options.now ?? (() => new Date());
    const transport = options.transport ?? "both";
    const hostname = options.hostname ?? "127.0.0.1";
    const onError = options.onError ?? ((error: unknown) => console.error("TimeServer:", error));
    const common = { hostname, signal: options.signal, onError };
    const port = options.port ?? 0;
    const onRequest = options.onRequest;
    const answer = (transport: "tcp" | "udp", remoteAddr: Deno.NetAddr): Uint8Array => {
      const date = this.#now();
      const bytes = encodeTime(date);
      if (onRequest !== undefined) {
        try {
          onRequest({
            transport,
            remoteAddr,
            date: new Date(Math.floor(date.getTime() / 1000) * 1000),
          });
        } catch (error) {
          onError(error);
        }
      }
      return bytes;
    };
    if (transport === "udp" || transport === "both") {
      // Fail on a missing --unstable-net before anything listens.
      assertUdpSupported("start time server");
    }
    if (transport === "tcp" || transport === "both") {
      this.#tcp = new TcpServer({ ...common, port }, async (conn, info) => {
        await writeAll(conn, answer("tcp", info.remoteAddr));
      });
    }
    if (transport === "udp" || transport === "both") {
      const udpPort = this.#tcp?.addr.port ?? port;
      try {
        this.#udp = new UdpServer(
          { ...common, port: udpPort },
          (d) => d.reply(answer("udp", d.remoteAddr)),
        );
      } catch (error) {
        void this.#tcp?.shutdown({ timeout: 0 });
        throw error;
      }
    }
    this.#addr = (this.#tcp ?? this.#udp)!.addr;
    this.#finished = Promise.all([this.#tcp?.finished, this.#udp?.finished]).then(() => {});
  }

  /** The address served (TCP and UDP share the port). */
  get addr(): Deno.NetAddr {
    return this.#addr;
  }

  /**
   * Settles when the server has shut down (through `shutdown()`, `await
   * using` or its `signal`) and every exchange has ended.
   */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /**
   * Stops both listeners and waits for open exchanges, as
   * {@linkcode TcpServer.shutdown} does (TCP connections still open after
   * the grace period are closed).
   *
   * @param options The grace period; its `timeout` defaults to 1000 ms here.
   * @returns When the server has stopped.
   */
  async shutdown(options?: TcpShutdownOptions): Promise<void> {
    const timeout = options?.timeout ?? 1000;
    await Promise.all([this.#tcp?.shutdown({ timeout }), this.#udp?.shutdown({ timeout })]);
    await this.#finished;
  }

  /** Shuts the server down. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
