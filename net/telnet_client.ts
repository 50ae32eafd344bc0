import { BufferedReader, type ByteReader } from "./buffered_reader.ts";
import { isLoopbackPeer } from "./_loopback.ts";
import { connectTcp, type TlsOptions } from "./connect_tcp.ts";
import { type DuplexConn, remoteNetAddr } from "./duplex_conn.ts";
import { closeQuietly } from "./_io.ts";
import { ProtocolError } from "./protocol_error.ts";
import {
  TELNET_OPTION,
  TELNET_PORT,
  TelnetCodec,
  type TelnetEvent,
  type TelnetWindowSize,
} from "./telnet_codec.ts";
import { compilePatterns, type TelnetPattern, TextScan } from "./_telnet_client_match.ts";
import {
  commandOutput,
  DEFAULT_LOGIN_FAILURE,
  DEFAULT_LOGIN_PROMPT,
  DEFAULT_PASSWORD_PROMPT,
  DEFAULT_SHELL_PROMPT,
  stripTerminalEscapes,
  TelnetLoginError,
} from "./_telnet_client_login.ts";

export type { TelnetPattern } from "./_telnet_client_match.ts";
export {
  TelnetLoginError,
  type TelnetLoginErrorOptions,
  type TelnetLoginFailure,
} from "./_telnet_client_login.ts";

/** Options for {@linkcode TelnetClient}. */
export interface TelnetClientOptions {
  /**
   * The terminal type(s) to report when the server asks (TERMINAL-TYPE,
   * RFC 1091), such as `"XTERM"` or `"DUMB"`. Without one the option is
   * refused, as Python's telnetlib refuses every option.
   */
  terminalType?: string | readonly string[];
  /** The window size to report when the server asks (NAWS, RFC 1073). */
  windowSize?: TelnetWindowSize;
  /**
   * Environment variables to send when the server asks (NEW-ENVIRON,
   * RFC 1572); only these are ever sent. Without them the option is refused.
   */
  environment?: Readonly<Record<string, string>>;
  /**
   * Accept BINARY (RFC 856) in both directions when the server offers it:
   * bytes then pass unchanged (no CR NUL, no CR LF translation).
   *
   * @default {false}
   */
  binary?: boolean;
  /**
   * The most bytes one subnegotiation may carry; longer ones are dropped.
   *
   * @default {4096}
   */
  maxSubnegotiationSize?: number;
  /**
   * The most decoded bytes {@linkcode TelnetClient.readUntil},
   * {@linkcode TelnetClient.expect} and {@linkcode TelnetClient.readAll}
   * hold while they look for a match or the end. More throws a
   * {@linkcode ProtocolError} `"LINE_TOO_LONG"` and leaves the bytes buffered.
   *
   * @default {1048576}
   */
  maxBufferSize?: number;
  /**
   * The default `timeout` of reads and writes, in milliseconds; a call's own
   * `timeout` overrides it.
   *
   * @default {undefined (wait as long as it takes)}
   */
  timeout?: number;
  /**
   * The server's host name, for the rule that passwords travel in clear only
   * to loopback hosts.
   *
   * @default {the connection's remote address, when it has one}
   */
  serverName?: string;
  /**
   * Let {@linkcode TelnetClient.login} send a password in clear to a host
   * that is not a loopback address.
   *
   * @default {false}
   */
  allowInsecureAuth?: boolean;
  /** Receives commands, option changes, subnegotiations and recovered errors. */
  onEvent?: (event: TelnetEvent) => void;
}

/** Options for {@linkcode TelnetClient.connect}. */
export interface TelnetConnectOptions extends TelnetClientOptions {
  /**
   * The host to dial.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The TCP port.
   *
   * @default {23}
   */
  port?: number;
  /** Speak TLS from the first byte (telnets, port 992). */
  tls?: boolean | TlsOptions;
  /**
   * Milliseconds the TCP connect (and TLS handshake) may take.
   *
   * @default {30000}
   */
  connectTimeout?: number;
  /** Cancels the connect. */
  signal?: AbortSignal;
}

/** Options for the reads and writes of {@linkcode TelnetClient}. */
export interface TelnetReadOptions {
  /**
   * Milliseconds to wait. A read that times out returns what arrived so far
   * (see each method); a write that times out closes the connection.
   *
   * @default {the client's timeout}
   */
  timeout?: number;
  /**
   * Abandons the wait: the call rejects with the signal's reason, nothing
   * is consumed, and the connection stays open (bytes still arriving are
   * kept for the next call).
   */
  signal?: AbortSignal;
}

/** What {@linkcode TelnetClient.expect} found, Python's `(index, match, text)`. */
export interface TelnetExpectResult {
  /** The index of the pattern that matched, or -1 on timeout or at the end of the stream. */
  index: number;
  /** The match (for a string pattern, a match holding the string), or `null`. */
  match: RegExpExecArray | null;
  /** Everything read, up to and including the match. */
  text: string;
  /** Whether the server closed the connection (always `false` when a pattern matched). */
  eof: boolean;
}

/** Options for {@linkcode TelnetClient.login}. */
export interface TelnetLoginOptions extends TelnetReadOptions {
  /**
   * The login prompt.
   *
   * @default {/(?<!last )login: ?$/i}
   */
  loginPrompt?: TelnetPattern;
  /**
   * The password prompt.
   *
   * @default {/password: ?$/i}
   */
  passwordPrompt?: TelnetPattern;
  /**
   * The shell prompt that says the login worked.
   *
   * @default {/[^\r\n]*[$#%>] ?(?:\x1b\[[0-9;?]*[A-Za-z])*$/}
   */
  shellPrompt?: TelnetPattern;
  /**
   * What the server says when it refuses the login.
   *
   * @default {/login incorrect|authentication fail|access denied|.../i}
   */
  failure?: TelnetPattern;
  /** Allow sending the password in clear to a host that is not loopback (this call only). */
  allowInsecureAuth?: boolean;
}

/** Options for {@linkcode TelnetClient.runCommand}. */
export interface TelnetCommandOptions extends TelnetReadOptions {
  /**
   * The shell prompt that ends the output.
   *
   * @default {/[^\r\n]*[$#%>] ?(?:\x1b\[[0-9;?]*[A-Za-z])*$/}
   */
  prompt?: TelnetPattern;
}

const DEFAULT_MAX_BUFFER = 1024 * 1024;
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const noop = (): void => {};

/**
 * Reads from the raw connection and hands out the decoded data: every
 * Telnet sequence is removed (and answered) by the codec on the way.
 * Decoding only shrinks, so a raw read of at most `p.length` bytes fits.
 */
class DecodedSource implements ByteReader {
  #raw: ReadableStreamDefaultReader<Uint8Array>;
  #left: Uint8Array | null = null;
  #codec: TelnetCodec;

  constructor(raw: ReadableStreamDefaultReader<Uint8Array>, codec: TelnetCodec) {
    this.#raw = raw;
    this.#codec = codec;
  }

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      let chunk = this.#left;
      this.#left = null;
      if (chunk === null) {
        const { value, done } = await this.#raw.read();
        if (done) return null;
        chunk = value;
      }
      if (chunk.length > p.length) {
        this.#left = chunk.subarray(p.length);
        chunk = chunk.subarray(0, p.length);
      }
      const data = this.#codec.decode(chunk);
      if (data.length > 0) {
        p.set(data);
        return data.length;
      }
    }
  }
}

function checkTimeout(timeout: number | undefined, action: string): void {
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout >= 0)) {
    throw new RangeError(`Cannot ${action}: timeout ${timeout} is not a non-negative number`);
  }
}

function checkLine(value: unknown, what: string, action: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot ${action}: the ${what} is not a string`);
  }
  const bad = /[\r\n\0]/.exec(value);
  if (bad !== null) {
    const name = { "\r": "a CR", "\n": "an LF", "\0": "a NUL" }[bad[0]];
    throw new TypeError(`Cannot ${action}: the ${what} contains ${name}`);
  }
  return value;
}

/**
 * A Telnet client (RFC 854, RFC 855), Python's `telnetlib.Telnet` on web
 * streams: option negotiation by the RFC 1143 Q method through
 * {@linkcode TelnetCodec} (ECHO and SUPPRESS-GO-AHEAD accepted,
 * TERMINAL-TYPE, NAWS and NEW-ENVIRON when configured, everything else
 * refused), IAC doubled on the way out and undone on the way in, and
 * subnegotiations capped.
 *
 * Reading is telnetlib's: {@linkcode TelnetClient.readUntil} and
 * {@linkcode TelnetClient.expect} wait for a string or a RegExp and, on
 * timeout, return what arrived so far without closing and without losing a
 * byte (a read still in flight lands in the buffer for the next call);
 * {@linkcode TelnetClient.readAll}, {@linkcode TelnetClient.readSome} and
 * {@linkcode TelnetClient.readVeryEager} complete the set. For interactive
 * use, {@linkcode TelnetClient.readable} and {@linkcode TelnetClient.writable}
 * carry the decoded and to-be-encoded bytes.
 *
 * Negotiation is answered while something reads: a server that asks
 * questions before its first prompt gets its answers during the first
 * `readUntil`. Text is UTF-8; the NVT's CR LF line ends are kept as they
 * come and LF is sent as CR LF.
 *
 * @example The classic telnetlib session against a scripted server
 * ```ts
 * import { TelnetClient } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire: number[] = [];
 * const server = {
 *   // IAC WILL ECHO, then the prompt
 *   readable: ReadableStream.from([new Uint8Array([255, 251, 1]), new TextEncoder().encode("login: ")]),
 *   writable: new WritableStream<Uint8Array>({ write: (c) => void wire.push(...c) }),
 *   close() {},
 * };
 * await using telnet = new TelnetClient(server);
 * assertEquals(await telnet.readUntil("login: "), "login: ");
 * await telnet.write("mulder\n");
 * assertEquals(wire, [255, 253, 1, ...new TextEncoder().encode("mulder\r\n")]); // IAC DO ECHO
 * ```
 */
export class TelnetClient implements AsyncDisposable {
  #conn: DuplexConn;
  #codec: TelnetCodec;
  #reader: BufferedReader;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #scan = new TextScan();
  #maxBuffer: number;
  #timeout: number | undefined;
  #serverName: string | undefined;
  #allowInsecureAuth: boolean;
  #secure: boolean;
  #closed = false;
  #reading = false;
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;

  /**
   * Wraps an open connection. Nothing is sent until the server negotiates
   * or data is written.
   *
   * @param conn The connection (a `Deno.Conn`, or any duplex).
   * @param options Terminal type, window size, environment, limits, timeouts.
   * @throws {RangeError} If a limit or the timeout is out of range.
   * @throws {TypeError} If a terminal type or an environment name is invalid.
   */
  constructor(conn: DuplexConn, options?: TelnetClientOptions) {
    options ??= {};
    const maxBuffer = options.maxBufferSize ?? DEFAULT_MAX_BUFFER;
    if (!Number.isSafeInteger(maxBuffer) || maxBuffer < 1) {
      throw new RangeError(
        `Cannot create Telnet client: maxBufferSize ${maxBuffer} is not a positive integer`,
      );
    }
    checkTimeout(options.timeout, "create Telnet client");
    this.#maxBuffer = maxBuffer;
    this.#timeout = options.timeout;
    this.#conn = conn;
    this.#writer = conn.writable.getWriter();
    const binary = options.binary === true ? [TELNET_OPTION.BINARY] : [];
    const writer = this.#writer;
    this.#codec = new TelnetCodec({
      send: (bytes) => writer.write(bytes),
      local: [TELNET_OPTION.SUPPRESS_GO_AHEAD, ...binary],
      remote: [TELNET_OPTION.ECHO, TELNET_OPTION.SUPPRESS_GO_AHEAD, ...binary],
      terminalType: options.terminalType,
      windowSize: options.windowSize,
      environment: options.environment,
      maxSubnegotiationSize: options.maxSubnegotiationSize,
      onEvent: options.onEvent,
    });
    this.#reader = new BufferedReader(
      new DecodedSource(conn.readable.getReader(), this.#codec),
      { bufferSize: Math.min(4096, maxBuffer) },
    );
    this.#serverName = options.serverName ?? remoteNetAddr(conn)?.hostname;
    this.#allowInsecureAuth = options.allowInsecureAuth ?? false;
    this.#secure = typeof (conn as Partial<Deno.TlsConn>).handshake === "function";
  }

  /**
   * Dials a Telnet server (RFC 854, port 23) and wraps the connection.
   *
   * @param options Where to connect, TLS, the connect timeout, and the
   *   client's options.
   * @returns The client.
   * @throws {DOMException} The signal's reason, or a `TimeoutError`.
   * @throws {Deno.errors.ConnectionRefused} And the other network errors.
   *
   * @example Dialling a server, logging in and running a command
   * ```ts ignore
   * import { TelnetClient } from "@inetkit/inetkit/net";
   *
   * await using telnet = await TelnetClient.connect({ hostname: "127.0.0.1", port: 2323 });
   * await telnet.login("mulder", "trustno1");
   * console.log(await telnet.runCommand("uname -a"));
   * ```
   */
  static async connect(options?: TelnetConnectOptions): Promise<TelnetClient> {
    options ??= {};
    const hostname = options.hostname ?? "127.0.0.1";
    const conn = await connectTcp({
      hostname,
      port: options.port ?? TELNET_PORT,
      tls: options.tls,
      timeout: options.connectTimeout ?? 30000,
      signal: options.signal,
    });
    try {
      return new TelnetClient(conn, { ...options, serverName: options.serverName ?? hostname });
    } catch (error) {
      closeQuietly(conn);
      throw error;
    }
  }

  /** The protocol engine: option states, `request()`, `sendCommand()`, `setWindowSize()`. */
  get codec(): TelnetCodec {
    return this.#codec;
  }

  /** Whether the server has closed the connection and every byte has been read. */
  get eof(): boolean {
    return this.#reader.eof && this.#reader.buffered === 0;
  }

  /** Whether {@linkcode TelnetClient.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reads until `pattern` has arrived, telnetlib's `read_until`: returns
   * everything up to and including the match. On timeout it returns what
   * arrived so far (possibly `""`) and the connection stays usable; bytes of
   * a read that was still in flight are kept for the next call. At the end
   * of the stream it returns what is left.
   *
   * @param pattern The text, or a RegExp matched against everything
   *   received since the last read (`$` is its end).
   * @param options The timeout and an abandoning signal.
   * @returns The text read.
   * @throws {ProtocolError} `"UNEXPECTED_EOF"` when the server closed and
   *   nothing is left; `"LINE_TOO_LONG"` when `maxBufferSize` bytes came without
   *   a match (they stay buffered).
   * @throws {DOMException} The signal's reason when it aborts (nothing is consumed).
   *
   * @example A timeout returns the partial prompt, and nothing is lost
   * ```ts
   * import { TelnetClient } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * let source: ReadableStreamDefaultController<Uint8Array> | undefined;
   * const readable = new ReadableStream<Uint8Array>({ start: (c) => void (source = c) });
   * const push = (text: string) => source!.enqueue(new TextEncoder().encode(text));
   * await using telnet = new TelnetClient({ readable, writable: new WritableStream(), close() {} });
   * push("Pass");
   * assertEquals(await telnet.readUntil("word: ", { timeout: 50 }), "Pass");
   * push("word: ");
   * assertEquals(await telnet.readUntil("word: ", { timeout: 1000 }), "word: ");
   * ```
   */
  async readUntil(pattern: TelnetPattern, options?: TelnetReadOptions): Promise<string> {
    options ??= {};
    return (await this.#expect(compilePatterns([pattern], "read until pattern"), options, "read"))
      .text;
  }

  /**
   * Reads until one of the patterns matches, telnetlib's `expect`: the
   * patterns are tried in list order against everything received since the
   * last read, and the first that matches wins. On timeout the result has
   * `index: -1` and the text that arrived; at the end of the stream, `eof`
   * is set too.
   *
   * @param patterns Strings or RegExps (`g` and `y` flags are ignored).
   * @param options The timeout and an abandoning signal.
   * @returns The pattern's index, its match and the text read.
   * @throws {ProtocolError} `"UNEXPECTED_EOF"` when the server closed and
   *   nothing is left; `"LINE_TOO_LONG"` when `maxBufferSize` bytes came without
   *   a match.
   * @throws {TypeError} If the list is empty or holds something else.
   * @throws {DOMException} The signal's reason when it aborts.
   *
   * @example Telling a shell prompt from a refused login
   * ```ts
   * import { TelnetClient } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const readable = ReadableStream.from([new TextEncoder().encode("\r\nLogin incorrect\r\n")]);
   * await using telnet = new TelnetClient({ readable, writable: new WritableStream(), close() {} });
   * const result = await telnet.expect([/\$ $/, /incorrect/i], { timeout: 1000 });
   * assertEquals([result.index, result.match?.[0], result.text], [1, "incorrect", "\r\nLogin incorrect"]);
   * ```
   */
  async expect(
    patterns: readonly TelnetPattern[],
    options?: TelnetReadOptions,
  ): Promise<TelnetExpectResult> {
    options ??= {};
    return await this.#expect(compilePatterns(patterns, "expect"), options, "expect");
  }

  async #expect(
    patterns: TelnetPattern[],
    options: TelnetReadOptions,
    action: string,
  ): Promise<TelnetExpectResult> {
    const wait = this.#wait(options, action, true);
    try {
      for (;;) {
        const view = this.#reader.peekBuffered();
        this.#scan.update(view, false);
        const found = this.#scan.search(patterns);
        if (found !== null) {
          return {
            index: found.index,
            match: found.match,
            text: this.#take(found.end),
            eof: false,
          };
        }
        if (view.length >= this.#maxBuffer) {
          throw new ProtocolError(
            "LINE_TOO_LONG",
            `Cannot ${action}: ${this.#maxBuffer} bytes arrived without a match`,
          );
        }
        let more: boolean;
        try {
          more = await this.#reader.fill(this.#maxBuffer, { signal: wait.signal });
        } catch (error) {
          if (!wait.timedOut()) throw error;
          this.#scan.update(this.#reader.peekBuffered(), false);
          return { index: -1, match: null, text: this.#take(this.#scan.decoded), eof: false };
        }
        if (more) continue;
        const rest = this.#reader.peekBuffered();
        if (rest.length === 0) {
          throw new ProtocolError(
            "UNEXPECTED_EOF",
            `Cannot ${action}: the server closed the connection`,
          );
        }
        this.#scan.update(rest, true);
        const last = this.#scan.search(patterns);
        if (last !== null) {
          return { index: last.index, match: last.match, text: this.#take(last.end), eof: false };
        }
        return { index: -1, match: null, text: this.#take(rest.length), eof: true };
      }
    } finally {
      wait.done();
    }
  }

  /**
   * Reads until the server closes the connection, telnetlib's `read_all`.
   *
   * @param options The timeout and an abandoning signal. Unlike
   *   `readUntil`, a timeout rejects (with a `TimeoutError`) and leaves the
   *   bytes buffered.
   * @returns Everything left, possibly `""`.
   * @throws {ProtocolError} `"LINE_TOO_LONG"` when more than `maxBufferSize`
   *   bytes come before the end.
   * @throws {DOMException} The signal's reason, or a `TimeoutError`.
   *
   * @example Reading a session to its end
   * ```ts
   * import { TelnetClient } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const readable = ReadableStream.from([new TextEncoder().encode("README\r\nlogout\r\n")]);
   * await using telnet = new TelnetClient({ readable, writable: new WritableStream(), close() {} });
   * assertEquals(await telnet.readAll(), "README\r\nlogout\r\n");
   * ```
   */
  async readAll(options?: TelnetReadOptions): Promise<string> {
    options ??= {};
    const wait = this.#wait(options, "read all", true);
    try {
      for (;;) {
        if (this.#reader.buffered >= this.#maxBuffer) {
          throw new ProtocolError(
            "LINE_TOO_LONG",
            `Cannot read all: more than ${this.#maxBuffer} bytes before the end`,
          );
        }
        if (!(await this.#reader.fill(this.#maxBuffer, { signal: wait.signal }))) break;
      }
      return this.#take(this.#reader.buffered);
    } finally {
      wait.done();
    }
  }

  /**
   * Reads at least one byte unless the stream ends, telnetlib's
   * `read_some`: returns what is buffered, or waits for the next data.
   *
   * @param options The timeout (then `""` is returned) and an abandoning signal.
   * @returns The text; `""` at the end of the stream or on timeout (see
   *   {@linkcode TelnetClient.eof}).
   * @throws {DOMException} The signal's reason when it aborts.
   *
   * @example Reading what is there, then the end
   * ```ts
   * import { TelnetClient } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const readable = ReadableStream.from([new TextEncoder().encode("hello")]);
   * await using telnet = new TelnetClient({ readable, writable: new WritableStream(), close() {} });
   * assertEquals(await telnet.readSome(), "hello");
   * assertEquals([await telnet.readSome(), telnet.eof], ["", true]);
   * ```
   */
  async readSome(options?: TelnetReadOptions): Promise<string> {
    options ??= {};
    const wait = this.#wait(options, "read", true);
    try {
      for (;;) {
        const view = this.#reader.peekBuffered();
        if (view.length > 0) {
          this.#scan.update(view, this.#reader.eof);
          if (this.#scan.decoded > 0) return this.#take(this.#scan.decoded);
        }
        let more: boolean;
        try {
          more = await this.#reader.fill(this.#maxBuffer, { signal: wait.signal });
        } catch (error) {
          if (wait.timedOut()) return "";
          throw error;
        }
        if (!more) return this.#take(this.#reader.buffered);
      }
    } finally {
      wait.done();
    }
  }

  /**
   * Returns what has arrived without waiting for more than one turn of the
   * event loop, telnetlib's `read_very_eager` (and `read_eager`).
   *
   * @returns The text, possibly `""`.
   * @throws {ProtocolError} `"UNEXPECTED_EOF"` when the server closed and
   *   nothing is left.
   *
   * @example Taking what has arrived
   * ```ts
   * import { TelnetClient } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const readable = new ReadableStream<Uint8Array>({
   *   start: (c) => c.enqueue(new TextEncoder().encode("motd")),
   * });
   * await using telnet = new TelnetClient({ readable, writable: new WritableStream(), close() {} });
   * assertEquals(await telnet.readVeryEager(), "motd");
   * assertEquals(await telnet.readVeryEager(), "");
   * ```
   */
  async readVeryEager(): Promise<string> {
    const wait = this.#wait({ timeout: 0 }, "read", true);
    try {
      return await this.#readVeryEager();
    } finally {
      wait.done();
    }
  }

  async #readVeryEager(): Promise<string> {
    while (this.#reader.buffered < this.#maxBuffer && !this.#reader.eof) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 0);
      try {
        if (!(await this.#reader.fill(this.#maxBuffer, { signal: controller.signal }))) break;
      } catch (error) {
        if (controller.signal.aborted) break;
        throw error;
      } finally {
        clearTimeout(timer);
      }
    }
    const view = this.#reader.peekBuffered();
    if (view.length === 0 && this.#reader.eof) {
      throw new ProtocolError("UNEXPECTED_EOF", "Cannot read: the server closed the connection");
    }
    this.#scan.update(view, this.#reader.eof);
    return this.#take(this.#scan.decoded);
  }

  /**
   * Sends text (as UTF-8) or bytes, telnetlib's `write`: IAC bytes are
   * doubled and, unless BINARY is on, LF goes as CR LF and a bare CR as
   * CR NUL (the NVT rules).
   *
   * @param data What to send.
   * @param options A timeout and a signal; either one ending the write
   *   closes the connection (a half-written command cannot be taken back).
   * @returns A promise that settles once the bytes were handed to the connection.
   * @throws {TypeError} If the client is closed.
   * @throws {DOMException} The signal's reason, or a `TimeoutError`.
   *
   * @example IAC doubled, LF sent as CR LF
   * ```ts
   * import { TelnetClient } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const wire: number[] = [];
   * const writable = new WritableStream<Uint8Array>({ write: (c) => void wire.push(...c) });
   * await using telnet = new TelnetClient({ readable: new ReadableStream(), writable, close() {} });
   * await telnet.write(new Uint8Array([0x61, 0xff]));
   * await telnet.write("ls\n");
   * assertEquals(wire, [0x61, 0xff, 0xff, 0x6c, 0x73, 13, 10]);
   * ```
   */
  async write(data: string | Uint8Array, options?: TelnetReadOptions): Promise<void> {
    options ??= {};
    if (this.#closed) throw new TypeError("Cannot write: the Telnet client is closed");
    const timeout = options.timeout ?? this.#timeout;
    checkTimeout(timeout, "write");
    options.signal?.throwIfAborted();
    const written = this.#codec.write(data);
    if (timeout === undefined && options.signal === undefined) return await written;
    const wait = this.#wait(options, "write");
    let onAbort = noop;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        this.close();
        reject(wait.signal!.reason);
      };
      wait.signal!.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([written, aborted]);
    } finally {
      wait.signal!.removeEventListener("abort", onAbort);
      wait.done();
      written.catch(() => {});
    }
  }

  /**
   * Logs in the way the classic telnetlib scripts do: waits for the login
   * prompt, sends the user name, waits for the password prompt, sends the
   * password, and waits for a shell prompt. The password goes in clear, so
   * it is sent only over TLS, to a loopback host, or with
   * `allowInsecureAuth`.
   *
   * @param user The user name.
   * @param password The password.
   * @param options The prompts, the failure text, the timeout of each step
   *   (default 10000 ms) and a signal.
   * @returns What the server sent after the password, the shell prompt included.
   * @throws {TelnetLoginError} When the server refuses (`"refused"`), a
   *   prompt does not come in time (`"timeout"`), or the server hangs up
   *   (`"closed"`).
   * @throws {TypeError} If the user name is empty, a credential holds a CR,
   *   LF or NUL, or the password would travel in clear to a remote host.
   *
   * @example Logging in to a scripted server
   * ```ts
   * import { TelnetClient } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * let source: ReadableStreamDefaultController<Uint8Array> | undefined;
   * const readable = new ReadableStream<Uint8Array>({ start: (c) => void (source = c) });
   * const push = (text: string) => source!.enqueue(new TextEncoder().encode(text));
   * const writable = new WritableStream<Uint8Array>({
   *   write(chunk) {
   *     const line = new TextDecoder().decode(chunk);
   *     if (line === "mulder\r\n") push("Password: ");
   *     if (line === "trustno1\r\n") push("\r\nWelcome\r\n$ ");
   *   },
   * });
   * await using telnet = new TelnetClient({ readable, writable, close() {} }, { serverName: "localhost" });
   * push("box login: ");
   * assertEquals(await telnet.login("mulder", "trustno1"), "\r\nWelcome\r\n$ ");
   * ```
   */
  async login(user: string, password: string, options?: TelnetLoginOptions): Promise<string> {
    options ??= {};
    checkLine(user, "user name", "log in");
    checkLine(password, "password", "log in");
    if (user === "") throw new TypeError("Cannot log in: the user name is empty");
    const insecure = !(this.#secure || this.#allowInsecureAuth || options.allowInsecureAuth ||
      isLoopbackPeer(this.#conn, this.#serverName));
    if (insecure) {
      throw new TypeError(
        `Cannot log in to ${
          this.#serverName ?? "the server"
        }: the password would travel in clear (use TLS, or allowInsecureAuth)`,
      );
    }
    const loginPrompt = options.loginPrompt ?? DEFAULT_LOGIN_PROMPT;
    const passwordPrompt = options.passwordPrompt ?? DEFAULT_PASSWORD_PROMPT;
    const shellPrompt = options.shellPrompt ?? DEFAULT_SHELL_PROMPT;
    const failure = options.failure ?? DEFAULT_LOGIN_FAILURE;
    const timeout = options.timeout ?? this.#timeout ?? 10000;
    const step = async (patterns: TelnetPattern[], what: string): Promise<TelnetExpectResult> => {
      let result: TelnetExpectResult;
      try {
        result = await this.expect(patterns, { timeout, signal: options.signal });
      } catch (error) {
        if (error instanceof ProtocolError && error.code === "UNEXPECTED_EOF") {
          throw new TelnetLoginError(
            `Cannot log in as ${user}: the server closed the connection before the ${what}`,
            { reason: "closed", text: "", cause: error },
          );
        }
        throw error;
      }
      if (result.index < 0) {
        throw new TelnetLoginError(
          result.eof
            ? `Cannot log in as ${user}: the server closed the connection before the ${what}`
            : `Cannot log in as ${user}: no ${what} within ${timeout} ms`,
          { reason: result.eof ? "closed" : "timeout", text: result.text },
        );
      }
      return result;
    };
    const refused = (result: TelnetExpectResult): TelnetLoginError => {
      const said = result.text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
      const line =
        said.find((l) => typeof failure === "string" ? l.includes(failure) : failure.test(l)) ??
          said.at(-1);
      return new TelnetLoginError(
        `Cannot log in as ${user}: the server answered ${JSON.stringify(line ?? "")}`,
        { reason: "refused", text: result.text },
      );
    };
    await step([loginPrompt], "login prompt");
    await this.write(`${user}\n`, { signal: options.signal });
    const asked = await step([failure, passwordPrompt, shellPrompt], "password prompt");
    if (asked.index === 0) throw refused(asked);
    if (asked.index === 2) return asked.text;
    await this.write(`${password}\n`, { signal: options.signal });
    const answer = await step([failure, loginPrompt, shellPrompt], "shell prompt");
    if (answer.index !== 2) throw refused(answer);
    return answer.text;
  }

  /**
   * Runs one shell command after {@linkcode TelnetClient.login}: sends the
   * line, reads until the next shell prompt, and returns the output with
   * the echoed command and the prompt taken off, terminal escape sequences
   * removed, and CR LF turned into LF.
   *
   * @param command The command line; no CR, LF or NUL.
   * @param options The prompt, the timeout (default 30000 ms) and a signal.
   * @returns The output. When the server closes instead (after `exit`),
   *   what came before the end.
   * @throws {TypeError} If the command holds a CR, LF or NUL.
   * @throws {DOMException} A `TimeoutError` when no prompt comes in time,
   *   or the signal's reason.
   *
   * @example Running a command on a scripted shell
   * ```ts
   * import { TelnetClient } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * let source: ReadableStreamDefaultController<Uint8Array> | undefined;
   * const readable = new ReadableStream<Uint8Array>({ start: (c) => void (source = c) });
   * const push = (text: string) => source!.enqueue(new TextEncoder().encode(text));
   * const writable = new WritableStream<Uint8Array>({
   *   write: () => push("echo hi\r\nhi\r\n$ "),
   * });
   * await using telnet = new TelnetClient({ readable, writable, close() {} });
   * assertEquals(await telnet.runCommand("echo hi"), "hi\n");
   * ```
   */
  async runCommand(command: string, options?: TelnetCommandOptions): Promise<string> {
    options ??= {};
    checkLine(command, "command", "run command");
    const timeout = options.timeout ?? this.#timeout ?? 30000;
    await this.write(`${command}\n`, { signal: options.signal });
    let result: TelnetExpectResult;
    try {
      result = await this.expect([options.prompt ?? DEFAULT_SHELL_PROMPT], {
        timeout,
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof ProtocolError && error.code === "UNEXPECTED_EOF") return "";
      throw error;
    }
    if (result.index < 0 && !result.eof) {
      throw new DOMException(
        `Command ${JSON.stringify(command)} timed out after ${timeout} ms without a shell prompt`,
        "TimeoutError",
      );
    }
    const promptLength = result.match === null ? 0 : result.match[0].length;
    return stripTerminalEscapes(commandOutput(result.text, command, promptLength))
      .replaceAll("\r\n", "\n")
      .replace(/\r(?!\n)/g, "");
  }

  /**
   * The decoded data from the server as a byte stream, for interactive use
   * (a terminal). Reading it consumes what the other read methods would
   * see: use one or the other. It ends when the server closes.
   */
  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await this.#reader.readAvailable();
        this.#scan.reset();
        if (chunk === null) controller.close();
        else controller.enqueue(chunk);
      },
    }, { highWaterMark: 0 });
    return this.#readable;
  }

  /**
   * A byte stream to the server, for interactive use: each chunk is sent
   * as {@linkcode TelnetClient.write} sends it. Closing it does not close
   * the connection.
   */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
    });
    return this.#writable;
  }

  /** Consumes `n` buffered bytes and returns them as text. */
  #take(n: number): string {
    const view = this.#reader.peekBuffered();
    const text = decoder.decode(view.subarray(0, n));
    this.#reader.consume(n);
    this.#scan.reset();
    return text;
  }

  /** The signal a read waits with: the caller's, plus the timeout's. */
  #wait(
    options: TelnetReadOptions,
    action: string,
    read = false,
  ): { signal: AbortSignal | undefined; timedOut: () => boolean; done: () => void } {
    if (this.#closed) throw new TypeError(`Cannot ${action}: the Telnet client is closed`);
    const timeout = options.timeout ?? this.#timeout;
    checkTimeout(timeout, action);
    const caller = options.signal;
    caller?.throwIfAborted();
    if (read) {
      if (this.#reading) {
        throw new TypeError(
          `Cannot ${action}: another read is in progress: did you forget await?`,
        );
      }
      this.#reading = true;
    }
    const finish = read ? () => void (this.#reading = false) : noop;
    if (timeout === undefined) return { signal: caller, timedOut: () => false, done: finish };
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new DOMException(`Telnet ${action} timed out after ${timeout} ms`, "TimeoutError"),
        ),
      timeout,
    );
    return {
      signal: caller === undefined
        ? controller.signal
        : AbortSignal.any([caller, controller.signal]),
      timedOut: () => controller.signal.aborted && !caller?.aborted,
      done: () => {
        clearTimeout(timer);
        finish();
      },
    };
  }

  /**
   * Waits until the bytes queued so far (written data, negotiation answers)
   * have been handed to the connection.
   *
   * @returns A promise that settles when nothing is queued.
   * @throws The error of a failed write.
   *
   * @example Waiting for the negotiation answers to go out
   * ```ts
   * import { TelnetClient } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const wire: number[] = [];
   * const writable = new WritableStream<Uint8Array>({ write: (c) => void wire.push(...c) });
   * const readable = ReadableStream.from([new Uint8Array([255, 253, 24, 255, 251, 3, 0x24])]);
   * await using telnet = new TelnetClient({ readable, writable, close() {} });
   * await telnet.readUntil("$");
   * await telnet.flush();
   * assertEquals(wire, [255, 252, 24, 255, 253, 3]); // WONT TERMINAL-TYPE, DO SUPPRESS-GO-AHEAD
   * ```
   */
  flush(): Promise<void> {
    return this.#codec.flush();
  }

  /** Closes the connection. Safe to repeat. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }

  /** Waits briefly for queued bytes (negotiation answers) to go out, then closes. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.#codec.flush(),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000))),
      ]);
    } catch {
      // the connection failed; close anyway
    } finally {
      clearTimeout(timer);
      this.close();
    }
  }
}
