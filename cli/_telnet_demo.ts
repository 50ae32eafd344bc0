/**
 * A tiny loopback "login and echo shell" Telnet server for the tour, the
 * examples and their tests: it negotiates like a real telnetd (WILL ECHO,
 * WILL SUPPRESS-GO-AHEAD, DO TERMINAL-TYPE), asks `login:` and
 * `Password:`, and then runs a pretend shell that knows `echo` (with
 * `$((a*b))` arithmetic), `ls`, `pwd`, `whoami` and `exit`. No process is
 * ever started: it is safe to expose to the tour's `--allow-net` only.
 *
 * @module
 */
import { writeAll } from "../net/_io.ts";
import { TcpServer } from "../net/tcp_server.ts";
import { TELNET_OPTION, TelnetCodec } from "../net/telnet_codec.ts";

/** Options for {@linkcode TelnetDemoServer}. */
export interface TelnetDemoOptions {
  /** @default {"127.0.0.1"} */
  hostname?: string;
  /** @default {0} */
  port?: number;
  /** The accounts. @default {{ mulder: "trustno1" }} */
  users?: Readonly<Record<string, string>>;
  /** The name in the prompts. @default {"demo"} */
  hostName?: string;
  /** What `ls` shows. @default {["README", "librarybook", "notes.txt"]} */
  files?: readonly string[];
  /** Milliseconds before an idle session is closed. @default {60000} */
  idleTimeout?: number;
  /** Milliseconds to wait before saying "Login incorrect". @default {100} */
  failureDelay?: number;
}

const MAX_LINE = 1024;
const MAX_ATTEMPTS = 3;
const decoder = new TextDecoder();

/** `$((a op b))` with integers. */
function arithmetic(text: string): string {
  return text.replace(
    /\$\(\(\s*(-?\d+)\s*([-+*/%])\s*(-?\d+)\s*\)\)/g,
    (_, a: string, op: string, b: string) => {
      const x = BigInt(a);
      const y = BigInt(b);
      if ((op === "/" || op === "%") && y === 0n) return "division by 0";
      const r = op === "+"
        ? x + y
        : op === "-"
        ? x - y
        : op === "*"
        ? x * y
        : op === "/"
        ? x / y
        : x % y;
      return String(r);
    },
  );
}

/** The demo server; see the module doc. */
export class TelnetDemoServer implements AsyncDisposable {
  #tcp: TcpServer;
  #users: Readonly<Record<string, string>>;
  #hostName: string;
  #files: readonly string[];
  #failureDelay: number;

  /** Starts listening at once. */
  constructor(options: TelnetDemoOptions = {}) {
    this.#users = options.users ?? { mulder: "trustno1" };
    this.#hostName = options.hostName ?? "demo";
    this.#files = options.files ?? ["README", "librarybook", "notes.txt"];
    this.#failureDelay = options.failureDelay ?? 100;
    this.#tcp = new TcpServer({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      maxConnections: 32,
      idleTimeout: options.idleTimeout ?? 60000,
      onError: () => {},
    }, (conn, info) => this.#session(conn, info.deadline));
  }

  /** The address listened on. */
  get addr(): Deno.NetAddr {
    return this.#tcp.addr;
  }

  async #session(conn: Deno.Conn, deadline: { touch(): void }): Promise<void> {
    const telnet = new TelnetCodec({
      send: (bytes) => writeAll(conn, bytes),
      local: [TELNET_OPTION.ECHO, TELNET_OPTION.SUPPRESS_GO_AHEAD],
      remote: [TELNET_OPTION.TERMINAL_TYPE, TELNET_OPTION.NAWS],
    });
    telnet.request(TELNET_OPTION.ECHO, "local", true);
    telnet.request(TELNET_OPTION.SUPPRESS_GO_AHEAD, "local", true);
    telnet.request(TELNET_OPTION.TERMINAL_TYPE, "remote", true);
    const say = (text: string) => telnet.write(text);
    await say(`\r\ninetkit demo telnet server\r\n\r\n${this.#hostName} login: `);

    let pending = new Uint8Array(0);
    let skipLf = false;
    const buf = new Uint8Array(4096);
    /** The next input line, or null when the client hung up. */
    const nextLine = async (): Promise<string | null> => {
      for (;;) {
        for (let i = 0; i < pending.length; i++) {
          const b = pending[i]!;
          if (skipLf && i === 0 && b === 10) {
            pending = pending.subarray(1);
            skipLf = false;
            i = -1;
            continue;
          }
          skipLf = false;
          if (b === 13 || b === 10) {
            const line = decoder.decode(pending.subarray(0, i));
            skipLf = b === 13;
            pending = pending.subarray(i + 1);
            // deno-lint-ignore no-control-regex
            return line.replace(/[\x00-\x1f\x7f]/g, "");
          }
        }
        if (pending.length > MAX_LINE) return null;
        const n = await conn.read(buf);
        if (n === null) return null;
        deadline.touch();
        const data = telnet.decode(buf.subarray(0, n));
        const joined = new Uint8Array(pending.length + data.length);
        joined.set(pending);
        joined.set(data, pending.length);
        pending = joined;
      }
    };

    let user: string | null = null;
    for (let attempt = 1; user === null; attempt++) {
      const name = await nextLine();
      if (name === null) return;
      await say(`${name}\r\nPassword: `);
      const password = await nextLine();
      if (password === null) return;
      await say("\r\n");
      if (Object.hasOwn(this.#users, name) && this.#users[name] === password) {
        user = name;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, this.#failureDelay));
      await say("Login incorrect\r\n");
      if (attempt >= MAX_ATTEMPTS) return;
      await say(`${this.#hostName} login: `);
    }
    const prompt = `${user}@${this.#hostName}:~$ `;
    await say(`Welcome to the inetkit demo shell, ${user}.\r\n${prompt}`);
    for (;;) {
      const line = await nextLine();
      if (line === null) return;
      await say(`${line}\r\n`);
      const [command = "", ...args] = line.trim().split(/\s+/);
      switch (command) {
        case "":
          break;
        case "echo":
          await say(`${arithmetic(args.join(" ").replace(/['"]/g, ""))}\r\n`);
          break;
        case "ls":
          await say(this.#files.map((f) => `${f}\r\n`).join(""));
          break;
        case "pwd":
          await say(`/home/${user}\r\n`);
          break;
        case "whoami":
          await say(`${user}\r\n`);
          break;
        case "exit":
        case "logout":
          await say("logout\r\n");
          await telnet.flush();
          return;
        default:
          await say(`-sh: ${command}: command not found\r\n`);
      }
      await say(prompt);
    }
  }

  /** Stops the server and closes open sessions. */
  shutdown(): Promise<void> {
    return this.#tcp.shutdown({ timeout: 200 });
  }

  /** Shuts the server down. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
